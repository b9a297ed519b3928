//! `opsbook test [BOOK|FILE] [--filter PATTERN] [--update] [--junit FILE]`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use super::EXIT_FAILED;
use super::output::{DIM, Output, risk_style};
use crate::load;
use crate::model::{Risk, Runbook};
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
    /// Keep, per step, when it last passed and failed and at which commit, in this file (JSON,
    /// updated in place): what `[opsbook] freshness` shows on the site and `check --stale` reads.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
}

/// The commit the book's folder is at, when it is in a git repository.
fn git_commit(root: &std::path::Path) -> Option<String> {
    let output = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(root)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let commit = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    (output.status.success() && !commit.is_empty()).then_some(commit)
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
        // One rewrite per runbook, with every failed expectation of that runbook.
        let mut runbooks: Vec<&Runbook> = Vec::new();
        for (case, outcome) in cases.iter().zip(&outcomes) {
            if !outcome.passed && !outcome.actual.is_empty() && !runbooks.iter().any(|r| r.path == case.runbook.path) {
                runbooks.push(case.runbook);
            }
        }
        for runbook in runbooks {
            let edits: Vec<_> = cases
                .iter()
                .zip(&outcomes)
                .filter(|(case, outcome)| {
                    !outcome.passed && !outcome.actual.is_empty() && case.runbook.path == runbook.path
                })
                .collect();
            // The edits are placed by the lines of the text the tests were taken from: a file
            // changed since then is left alone rather than overwritten with that text.
            let file = book.src.join(&runbook.path);
            if !std::fs::read(&file).is_ok_and(|bytes| bytes == runbook.source.as_bytes()) {
                writeln!(
                    out.stderr,
                    "{bad}error{bad:#}: `{}` changed while the tests ran, so its expected output was not updated; run `opsbook test --update` again",
                    file.display()
                )?;
                continue;
            }
            std::fs::write(&file, tester::update(&runbook.source, &edits))
                .with_context(|| format!("failed to write `{}`", file.display()))?;
            for (_, outcome) in &edits {
                writeln!(out.stdout, "test {} ... updated", outcome.name)?;
                updated += 1;
            }
        }
    }
    if let Some(path) = &args.record {
        let mut record = crate::freshness::Record::read(path).map_err(super::InputError)?;
        let commit = git_commit(&book.root);
        let now = crate::clock::now_ms();
        for (case, outcome) in cases.iter().zip(&outcomes) {
            let mark = crate::freshness::Mark { at: now, commit: commit.clone() };
            record.note(&case.runbook.path, &case.step.id, outcome.passed, mark);
        }
        record.write(path).map_err(super::InputError)?;
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
