//! Text that people and commands gave (titles, names, notes, probe answers) made safe for
//! line-oriented output: one line where a field is one line, and the lines of a multi-line text
//! without control characters. What a line may not start with in a given format (Markdown, the
//! terminal) is the writer's rule, not this module's.

/// `text` as one line: every run of whitespace or control characters (line breaks, tabs,
/// escapes) becomes one space, and the ends are trimmed.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            gap = true;
        } else {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.push(c);
        }
    }
    out
}

/// Whether `text` holds a control character (a line break, a tab, an escape): a name with one
/// is refused rather than cleaned, so that nobody is recorded as someone they typed.
pub fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// The non-blank lines of `text`, each one line (see [`one_line`]). Every line ending counts:
/// `\n`, `\r\n` and a lone `\r` (CommonMark's three), and the Unicode line separators.
pub fn lines(text: &str) -> Vec<String> {
    text.split(['\n', '\r', '\u{2028}', '\u{2029}', '\u{0b}', '\u{0c}', '\u{85}'])
        .map(one_line)
        .filter(|line| !line.is_empty())
        .collect()
}

/// Terminal control sequences: colours and cursor moves (CSI), titles, links and clipboard
/// (OSC), and two-byte escapes. Exports drop them; the redactor looks for secrets past them.
pub static ESCAPE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]").expect("static regex")
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_collapses_breaks_tabs_and_escapes() {
        assert_eq!(
            one_line("  db down\n- Status: Resolved\r\n\t## x \x1b[31m "),
            "db down - Status: Resolved ## x [31m"
        );
        assert_eq!(one_line("plain"), "plain");
        assert_eq!(one_line("\n\t"), "");
    }

    #[test]
    fn lines_split_on_every_line_ending_and_drop_blank_ones() {
        assert_eq!(lines("a\r- b\r\n\n  c\u{2028}d\x1b"), ["a", "- b", "c", "d"]);
        assert!(has_control("a\nb") && has_control("a\x1bb") && !has_control("ana@laptop"));
    }
}
