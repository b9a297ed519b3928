//! `opsbook check [BOOK|FILE]`: lint a book, for people or CI.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use super::output::Output;
use super::{EXIT_FAILED, InputError};
use crate::check::{self, RULES};
use crate::diagnostic::{Diagnostic, Level, Styles};
use crate::load;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A book folder or one runbook. Default: the book around the current folder.
    pub path: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Exit 1 on warnings too.
    #[arg(long)]
    pub strict: bool,
    /// Skip shellcheck even when it is installed.
    #[arg(long)]
    pub no_shellcheck: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `file:line:col`, the source line and a caret.
    Human,
    /// `{"version": 1, "diagnostics": [...], "summary": {...}}`.
    Json,
    /// GitHub Actions annotations (`::error file=…,line=…,col=…::message`).
    Github,
}

pub fn run(args: Args, out: &mut Output) -> anyhow::Result<ExitCode> {
    let book = load::open(args.path.as_deref())?;
    let unknown: Vec<&String> =
        book.config.opsbook.check.disable.iter().filter(|rule| !RULES.iter().any(|(id, _)| id == rule)).collect();
    if !unknown.is_empty() {
        return Err(InputError(format!(
            "book.toml: `[opsbook.check] disable` names unknown rule(s) {}; the rules are {}",
            unknown.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", "),
            RULES.iter().map(|(id, _)| *id).collect::<Vec<_>>().join(", ")
        ))
        .into());
    }
    let mut options = check::Options::detect();
    if args.no_shellcheck {
        options.shellcheck = None;
    }
    let found = check::check_book(&book, &options);
    let errors = found.iter().filter(|d| d.level == Level::Error).count();
    let warnings = found.len() - errors;
    match args.format {
        Format::Human => {
            let styles = Styles::colored();
            for diagnostic in &found {
                write!(out.stdout, "{}", diagnostic.render(&styles))?;
            }
            let shellcheck =
                if options.shellcheck.is_some() { "" } else { " (shellcheck not installed: its rule did not run)" };
            writeln!(
                out.stderr,
                "{} runbook(s) checked: {errors} error(s), {warnings} warning(s){shellcheck}",
                book.runbooks.len()
            )?;
        }
        Format::Json => {
            let value = serde_json::json!({
                "version": 1,
                "diagnostics": found.iter().map(json_of).collect::<Vec<_>>(),
                "summary": {
                    "runbooks": book.runbooks.len(),
                    "errors": errors,
                    "warnings": warnings,
                    "shellcheck": options.shellcheck.is_some(),
                },
            });
            writeln!(out.stdout, "{}", serde_json::to_string_pretty(&value)?)?;
        }
        Format::Github => {
            for diagnostic in &found {
                writeln!(out.stdout, "{}", github_annotation(diagnostic))?;
            }
        }
    }
    let failed = errors > 0 || (args.strict && warnings > 0);
    Ok(if failed { ExitCode::from(EXIT_FAILED) } else { ExitCode::SUCCESS })
}

fn json_of(diagnostic: &Diagnostic) -> serde_json::Value {
    serde_json::json!({
        "rule": diagnostic.rule,
        "level": diagnostic.level.to_string(),
        "file": diagnostic.file.display().to_string(),
        "line": diagnostic.line,
        "col": diagnostic.col,
        "message": diagnostic.message,
        "help": diagnostic.help,
    })
}

/// One GitHub Actions workflow command; `%`, CR and LF escaped as the runner expects.
pub fn github_annotation(diagnostic: &Diagnostic) -> String {
    let escape_data = |text: &str| text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
    let escape_property = |text: &str| escape_data(text).replace(':', "%3A").replace(',', "%2C");
    let command = if diagnostic.level == Level::Error { "error" } else { "warning" };
    let mut message = diagnostic.message.clone();
    if let Some(help) = &diagnostic.help {
        message.push_str(&format!("\n{help}"));
    }
    format!(
        "::{command} file={},line={},col={},title={}::{}",
        escape_property(&diagnostic.file.display().to_string()),
        diagnostic.line.max(1),
        diagnostic.col.max(1),
        escape_property(diagnostic.rule),
        escape_data(&message)
    )
}
