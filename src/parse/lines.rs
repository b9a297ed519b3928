//! Fast line splitting: one SIMD pass for the newlines, then slices. Same results as
//! `str::lines` (no empty last line after a final `\n`; `\r\n` endings lose their `\r`).

/// Byte offset of the start of every line (0 first), as `str::lines` counts them plus one
/// for a final empty line after a trailing `\n`.
pub(crate) fn starts(text: &str) -> Vec<usize> {
    let mut starts = Vec::with_capacity(text.len() / 40 + 1);
    starts.push(0);
    starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
    starts
}

/// The lines of `text`, as `str::lines` gives them.
pub(crate) fn split(text: &str) -> Vec<&str> {
    let mut lines = Vec::with_capacity(text.len() / 40 + 1);
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', text.as_bytes()) {
        let line = &text[start..end];
        lines.push(line.strip_suffix('\r').unwrap_or(line));
        start = end + 1;
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_as_str_lines() {
        for text in ["", "\n", "a", "a\n", "a\nb", "a\r\nb\r\n", "a\n\nb\n\n", "x\r", "\r\n", "日本\n語"] {
            assert_eq!(split(text), text.lines().collect::<Vec<_>>(), "{text:?}");
        }
        assert_eq!(starts("a\nbc\n"), [0, 2, 5]);
    }
}
