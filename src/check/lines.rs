//! A runbook's lines, split once, to place its diagnostics. `Diagnostic::at` finds the source
//! line by walking the text from its start, which for a runbook with thousands of findings is the
//! whole file read again for each one; here each finding costs a lookup.

use crate::diagnostic::Diagnostic;

/// The lines of a text as `str::lines` gives them (the source lines a diagnostic keeps).
#[derive(Debug)]
pub(super) struct SourceLines<'t>(Vec<&'t str>);

impl<'t> SourceLines<'t> {
    pub fn new(text: &'t str) -> Self {
        SourceLines(text.lines().collect())
    }

    /// The diagnostic at `line:col`, with that line kept for display: what
    /// `diagnostic.at(text, line, col)` gives.
    pub fn place(&self, mut diagnostic: Diagnostic, line: u32, col: u32) -> Diagnostic {
        diagnostic.line = line;
        diagnostic.col = col;
        let index = (line as usize).checked_sub(1);
        diagnostic.source_line = index.and_then(|index| self.0.get(index)).map(|text| (*text).to_owned());
        diagnostic
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_as_diagnostic_at_does() {
        for text in ["", "\n", "a", "a\n", "a\nb", "a\r\nb\r\n", "a\n\nb\n\n", "x\r", "\r\n", "日本\n語"] {
            let lines = SourceLines::new(text);
            for line in 0..5 {
                let diagnostic = Diagnostic::warning("rule", "f.md", "message");
                assert_eq!(lines.place(diagnostic.clone(), line, 2), diagnostic.at(text, line, 2), "{text:?} {line}");
            }
        }
    }
}
