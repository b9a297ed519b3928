//! `opsbook show RUNBOOK STEP[.N]`: one step in full.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::InputError;
use super::output::{BOLD, DIM, Output, risk_style};
use crate::exec::script::Selection;
use crate::load;
use crate::lookup::{self, LookupError};
use crate::model::{Book, Runbook};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The runbook: a file path, or its path in the book (`db/failover.md`, `db/failover`).
    pub runbook: String,
    /// The step id (as `opsbook list` shows it), optionally `.N` for its N-th command (from 1).
    pub step: String,
    /// The book to look in when RUNBOOK is not a file path. Default: the book around the
    /// current folder.
    #[arg(long)]
    pub book: Option<PathBuf>,
    /// Print the step as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, out: &mut Output) -> anyhow::Result<ExitCode> {
    let book = open_book_for(&args.runbook, args.book.as_deref())?;
    out.diagnostics(&book)?;
    let runbook = find_runbook(&book, &args.runbook)?;
    let (step, selection) = lookup::step_or_command(runbook, &args.step).map_err(InputError::from)?;
    if args.json {
        let mut text = serde_json::to_string_pretty(step)?;
        text.push('\n');
        out.stdout.write_all(text.as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    let w = &mut out.stdout;
    writeln!(w, "{BOLD}{}{BOLD:#}  {}", step.id, step.title)?;
    let file = book.src.join(&runbook.path);
    let file = file.strip_prefix(".").unwrap_or(&file);
    writeln!(w, "  {DIM}at{DIM:#}       {}:{}:{}", file.display(), step.line, step.col)?;
    if !step.section.is_empty() {
        writeln!(w, "  {DIM}section{DIM:#}  {}", step.section.join(" › "))?;
    }
    let style = risk_style(step.risk);
    writeln!(w, "  {DIM}risk{DIM:#}     {style}{}{style:#} ({})", step.risk, step.risk_reason)?;
    if step.risk.needs_confirmation() || step.settings.confirm {
        writeln!(w, "  {DIM}confirm{DIM:#}  needed before it runs")?;
    }
    if let Some(why) = &step.long_running {
        writeln!(w, "  {DIM}long{DIM:#}     {why}")?;
    }
    if let Some(why) = &step.interactive {
        writeln!(w, "  {DIM}tty{DIM:#}      {why}")?;
    }
    if let Some(timeout) = step.settings.timeout_secs {
        writeln!(w, "  {DIM}timeout{DIM:#}  {timeout}s")?;
    }
    for placeholder in &step.placeholders {
        let lines: Vec<String> = placeholder.occurrences.iter().map(|o| format!("{}:{}", o.line, o.col)).collect();
        write!(w, "  {DIM}input{DIM:#}    {}  {DIM}({:?} at {}", placeholder.name, placeholder.kind, lines.join(", "))?;
        if let Some(default) = &placeholder.default {
            write!(w, ", default `{default}`")?;
        }
        if let Some(step) = &placeholder.set_by {
            write!(w, ", set by step `{step}`")?;
        }
        writeln!(w, "){DIM:#}")?;
    }
    writeln!(w)?;
    for (index, cmd) in step.commands.iter().enumerate() {
        if selection != Selection::All && selection != Selection::Command(index) {
            continue;
        }
        let style = risk_style(cmd.risk);
        let title = cmd.title.as_deref().unwrap_or("");
        writeln!(
            w,
            "  {BOLD}{}.{}{BOLD:#} {title}  {style}[{}]{style:#} {DIM}{} · line {}{DIM:#}",
            step.id,
            index + 1,
            cmd.risk,
            cmd.risk_reason,
            cmd.line
        )?;
        for line in cmd.text.lines() {
            writeln!(w, "      {line}")?;
        }
        for flag in [&cmd.long_running, &cmd.interactive].into_iter().flatten() {
            writeln!(w, "      {DIM}! {flag}{DIM:#}")?;
        }
    }
    for line in &step.not_shell {
        writeln!(w, "  {DIM}not shell, line {}: {}{DIM:#}", line.line, line.text)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The book a RUNBOOK argument names: the file's own book when it is a file path (and no
/// `--book` is given), else `--book` or the book around the working directory.
pub(super) fn open_book_for(runbook: &str, book: Option<&Path>) -> Result<Book, load::LoadError> {
    let as_file = Path::new(runbook);
    if book.is_none() && as_file.is_file() { load::open(Some(as_file)) } else { load::open(book) }
}

/// The runbook a RUNBOOK argument names: a file on disk is the book's runbook at that same file
/// (compared canonically) or an error, never another runbook; a name that is not a file is the
/// book's runbook of that name ([`lookup::runbook`]).
pub(super) fn find_runbook<'b>(book: &'b Book, wanted: &str) -> Result<&'b Runbook, InputError> {
    let as_file = Path::new(wanted);
    if as_file.is_file() {
        let file = std::fs::canonicalize(as_file).ok();
        let same = |runbook: &&std::sync::Arc<Runbook>| {
            file.is_some() && std::fs::canonicalize(book.src.join(&runbook.path)).ok() == file
        };
        return match book.runbooks.iter().find(same) {
            Some(runbook) => Ok(runbook),
            None => Err(InputError(format!(
                "`{wanted}` is not a runbook of the book at `{}`; `opsbook list` shows its runbooks",
                book.root.display()
            ))),
        };
    }
    lookup::runbook(book, wanted).map_err(|err| match err {
        LookupError::NoRunbook { .. } => {
            InputError(format!("{err} at `{}`; `opsbook list` shows the runbooks", book.root.display()))
        }
        other => other.into(),
    })
}
