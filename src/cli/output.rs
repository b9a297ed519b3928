//! Terminal output for the commands: colour on a terminal only (anstream strips it otherwise and
//! honours `NO_COLOR`), diagnostics on stderr in their caret form.

use std::io::Write;

use anstyle::{AnsiColor, Style};

use crate::diagnostic::{Level, Styles};
use crate::model::{Book, Risk};

/// Where a command writes: stdout for results, stderr for diagnostics.
#[derive(Debug)]
pub struct Output {
    pub stdout: anstream::AutoStream<std::io::Stdout>,
    pub stderr: anstream::AutoStream<std::io::Stderr>,
}

impl Default for Output {
    fn default() -> Self {
        Self::new()
    }
}

impl Output {
    pub fn new() -> Self {
        Output {
            stdout: anstream::AutoStream::auto(std::io::stdout()),
            stderr: anstream::AutoStream::auto(std::io::stderr()),
        }
    }

    /// Prints the book's diagnostics to stderr; returns whether any is an error.
    pub fn diagnostics(&mut self, book: &Book) -> std::io::Result<bool> {
        let styles = Styles::colored();
        for diagnostic in &book.diagnostics {
            write!(self.stderr, "{}", diagnostic.render(&styles))?;
        }
        Ok(book.diagnostics.iter().any(|d| d.level == Level::Error))
    }
}

pub fn risk_style(risk: Risk) -> Style {
    let color = match risk {
        Risk::ReadOnly => AnsiColor::Green,
        Risk::Unknown => AnsiColor::BrightBlack,
        Risk::Mutating => AnsiColor::Yellow,
        Risk::Destructive => AnsiColor::Red,
    };
    Style::new().fg_color(Some(color.into()))
}

pub const BOLD: Style = Style::new().bold();
pub const DIM: Style = Style::new().dimmed();
