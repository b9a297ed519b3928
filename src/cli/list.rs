//! `opsbook list [PATH] [--json]`: the runbooks and their steps.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::EXIT_INPUT;
use super::output::{BOLD, DIM, Output, risk_style};
use crate::{listing, load};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A book folder, a runbook file, or nothing for the book around the current folder.
    pub path: Option<PathBuf>,
    /// Print JSON (DESIGN "Interfaces") instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, out: &mut Output) -> anyhow::Result<ExitCode> {
    let book = load::open(args.path.as_deref())?;
    let had_errors = out.diagnostics(&book).context("failed to write diagnostics")?;
    if args.json {
        out.stdout.write_all(listing::book_json(&book).as_bytes())?;
    } else {
        writeln!(out.stdout, "{DIM}order: {}; runbooks in {}{DIM:#}", book.layout.describe(), book.src.display())?;
        for runbook in &book.runbooks {
            let steps = runbook.steps.len();
            write!(
                out.stdout,
                "{BOLD}{}{BOLD:#}  {}  {DIM}({steps} step{}",
                runbook.path,
                runbook.title,
                if steps == 1 { "" } else { "s" }
            )?;
            if !runbook.templates.is_empty() {
                let n = runbook.templates.len();
                write!(out.stdout, ", {n} template{}", if n == 1 { "" } else { "s" })?;
            }
            writeln!(out.stdout, "){DIM:#}")?;
            let width = runbook.steps.iter().map(|s| s.id.chars().count()).max().unwrap_or(0);
            for step in &runbook.steps {
                let style = risk_style(step.risk);
                let mut notes: Vec<String> = step
                    .placeholders
                    .iter()
                    .map(|p| match &p.set_by {
                        Some(by) => format!("<{}> (from {by})", p.name),
                        None => format!("<{}>", p.name),
                    })
                    .collect();
                if let Some(alternative) = &step.alternative {
                    notes.push(format!("[tab {}: {}]", alternative.group, alternative.label));
                }
                if step.long_running.is_some() {
                    notes.push("long-running".to_owned());
                }
                if step.interactive.is_some() {
                    notes.push("interactive".to_owned());
                }
                writeln!(
                    out.stdout,
                    "  {:<width$}  {style}{:<11}{style:#}  {DIM}L{:<5}{DIM:#} {}",
                    step.id,
                    step.risk.as_str(),
                    step.line,
                    notes.join(" "),
                )?;
            }
        }
    }
    out.stdout.flush()?;
    Ok(if had_errors { ExitCode::from(EXIT_INPUT) } else { ExitCode::SUCCESS })
}
