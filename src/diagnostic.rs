//! Diagnostics about input files: a level, a rule id, a `file:line:col` position and a message,
//! rendered with the source line and a caret under the column.
//!
//! Produced by loading, parsing and (later) `check`; printed by the CLI. This module knows
//! nothing about where the text came from beyond the path it is given.

use std::fmt::{self, Write as _};
use std::path::PathBuf;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Warning,
    Error,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Warning => "warning",
            Level::Error => "error",
        })
    }
}

/// One finding about one place in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub level: Level,
    /// A short stable id, such as `unterminated-fence`.
    pub rule: &'static str,
    pub file: PathBuf,
    /// 1-based; 0 when the finding is about the whole file.
    pub line: u32,
    /// 1-based, in characters; 0 when unknown.
    pub col: u32,
    pub message: String,
    /// What to do about it, when that is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// The source line, for the caret display.
    #[serde(skip)]
    pub source_line: Option<String>,
}

impl Diagnostic {
    pub fn new(level: Level, rule: &'static str, file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Diagnostic {
            level,
            rule,
            file: file.into(),
            line: 0,
            col: 0,
            message: message.into(),
            help: None,
            source_line: None,
        }
    }

    pub fn warning(rule: &'static str, file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::new(Level::Warning, rule, file, message)
    }

    pub fn error(rule: &'static str, file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::new(Level::Error, rule, file, message)
    }

    /// Places the diagnostic at `line:col` and keeps that line of `source` for display.
    pub fn at(mut self, source: &str, line: u32, col: u32) -> Self {
        self.line = line;
        self.col = col;
        self.source_line = line.checked_sub(1).and_then(|index| source.lines().nth(index as usize)).map(str::to_owned);
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// `file:line:col`, leaving out what is unknown.
    pub fn location(&self) -> String {
        let file = self.file.display();
        match (self.line, self.col) {
            (0, _) => format!("{file}"),
            (line, 0) => format!("{file}:{line}"),
            (line, col) => format!("{file}:{line}:{col}"),
        }
    }

    /// The multi-line human form: header, source line with a caret, help.
    pub fn render(&self, style: &Styles) -> String {
        let mut out = String::new();
        let level_style = match self.level {
            Level::Error => style.error,
            Level::Warning => style.warning,
        };
        let _ = writeln!(
            out,
            "{level_style}{}{level_style:#}: {}{}{:#} [{}]",
            self.level, style.strong, self.message, style.strong, self.rule
        );
        let gutter = if self.source_line.is_some() { self.line.to_string() } else { String::new() };
        let pad = " ".repeat(gutter.len());
        let _ = writeln!(out, "{pad}{}-->{:#} {}", style.dim, style.dim, self.location());
        if let Some(source_line) = &self.source_line {
            let shown = source_line.replace('\t', "    ");
            let _ = writeln!(out, "{pad} {}|{:#}", style.dim, style.dim);
            let _ = writeln!(out, "{}{gutter} |{:#} {shown}", style.dim, style.dim);
            if self.col > 0 {
                let before: String = source_line
                    .chars()
                    .take(self.col as usize - 1)
                    .map(|c| if c == '\t' { "    " } else { " " })
                    .collect();
                let _ = writeln!(out, "{pad} {}|{:#} {before}{level_style}^{level_style:#}", style.dim, style.dim);
            }
        }
        if let Some(help) = &self.help {
            let _ = writeln!(out, "{pad} {}= help:{:#} {help}", style.dim, style.dim);
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    /// The one-line form: `file:line:col: level: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.location(), self.level, self.message)
    }
}

/// Terminal styles for rendering; `Styles::plain()` for none.
#[derive(Debug, Clone, Copy, Default)]
pub struct Styles {
    pub error: anstyle::Style,
    pub warning: anstyle::Style,
    pub strong: anstyle::Style,
    pub dim: anstyle::Style,
}

impl Styles {
    pub fn plain() -> Self {
        Styles::default()
    }

    pub fn colored() -> Self {
        use anstyle::{AnsiColor, Style};
        Styles {
            error: Style::new().bold().fg_color(Some(AnsiColor::Red.into())),
            warning: Style::new().bold().fg_color(Some(AnsiColor::Yellow.into())),
            strong: Style::new().bold(),
            dim: Style::new().fg_color(Some(AnsiColor::Blue.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_caret_under_the_column() {
        let source = "line one\n```bash\necho hi\n";
        let diagnostic = Diagnostic::warning("unterminated-fence", "db.md", "code fence is never closed")
            .at(source, 2, 1)
            .with_help("add a closing ```");
        let text = diagnostic.render(&Styles::plain());
        assert_eq!(
            text,
            "warning: code fence is never closed [unterminated-fence]\n --> db.md:2:1\n  |\n2 | ```bash\n  | ^\n  = help: add a closing ```\n"
        );
        assert_eq!(diagnostic.to_string(), "db.md:2:1: warning: code fence is never closed");
    }

    #[test]
    fn location_leaves_out_unknown_parts() {
        let whole_file = Diagnostic::error("not-utf8", "a.md", "x");
        assert_eq!(whole_file.location(), "a.md");
    }
}
