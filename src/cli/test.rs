//! `opsbook test [BOOK|FILE] [--filter PATTERN] [--update] [--junit FILE]`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use super::EXIT_FAILED;
use super::output::{DIM, Output, risk_style};
use crate::load;
use crate::model::Risk;
use crate::tester;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A book folder or one runbook. Default: the book around the current folder.
    pub path: Option<PathBuf>,
    /// Only the tests whose `runbook:step` contains this text.
    #[arg(long)]
    pub filter: Option<String>,
    /// Rewrite the expected output in the runbooks with what the steps print now (nothing else
    /// in the files changes).
    #[arg(long)]
    pub update: bool,
    /// Also write the results as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

pub fn run(args: Args, out: &mut Output) -> anyhow::Result<ExitCode> {
    let book = load::open(args.path.as_deref())?;
    out.diagnostics(&book)?;
    let cases = tester::cases(&book, args.filter.as_deref());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (ok, bad) = (risk_style(Risk::ReadOnly), risk_style(Risk::Destructive));
    let mut outcomes = Vec::with_capacity(cases.len());
    for case in &cases {
        let outcome = runtime.block_on(tester::run(case, &book.config.opsbook.shell, book.config.opsbook.timeout));
        if outcome.passed {
            writeln!(
                out.stdout,
                "test {} ... {ok}ok{ok:#} {DIM}({:.2} s){DIM:#}",
                outcome.name,
                outcome.duration.as_secs_f64()
            )?;
        } else if !args.update {
            writeln!(out.stdout, "test {} ... {bad}FAILED{bad:#}", outcome.name)?;
            for line in outcome.failure.as_deref().unwrap_or("").lines() {
                writeln!(out.stdout, "    {line}")?;
            }
        }
        outcomes.push(outcome);
    }
    let mut updated = 0;
    if args.update {
        // One rewrite per file, with every failed expectation of that file.
        let mut files: Vec<PathBuf> = Vec::new();
        for (case, outcome) in cases.iter().zip(&outcomes) {
            let file = book.src.join(&case.runbook.path);
            if !outcome.passed && !outcome.actual.is_empty() && !files.contains(&file) {
                files.push(file);
            }
        }
        for file in files {
            let edits: Vec<_> = cases
                .iter()
                .zip(&outcomes)
                .filter(|(case, outcome)| {
                    !outcome.passed && !outcome.actual.is_empty() && book.src.join(&case.runbook.path) == file
                })
                .collect();
            let text = std::fs::read_to_string(&file)?;
            std::fs::write(&file, tester::update(&text, &edits))?;
            for (_, outcome) in &edits {
                writeln!(out.stdout, "test {} ... updated", outcome.name)?;
                updated += 1;
            }
        }
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, tester::junit(&outcomes))
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    let passed = outcomes.iter().filter(|o| o.passed).count();
    let failed = outcomes.len() - passed - updated;
    writeln!(
        out.stderr,
        "{} test(s): {passed} passed, {failed} failed{}",
        outcomes.len(),
        if updated > 0 { format!(", {updated} updated") } else { String::new() }
    )?;
    Ok(if failed > 0 { ExitCode::from(EXIT_FAILED) } else { ExitCode::SUCCESS })
}
