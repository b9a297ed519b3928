//! `opsbook extract RUNBOOK [--step ID] --out DIR [--check]`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use super::output::Output;
use super::show::{find_runbook, open_book_for};
use super::{EXIT_FAILED, InputError};
use crate::{extract, lookup};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The runbook: a file path, or its path in the book.
    pub runbook: String,
    /// Only this step.
    #[arg(long)]
    pub step: Option<String>,
    /// The folder the scripts go to (created if needed).
    #[arg(long)]
    pub out: PathBuf,
    /// Write nothing: exit 1, naming the files, when the scripts in --out differ from the runbook.
    #[arg(long)]
    pub check: bool,
    /// The book to look in when RUNBOOK is not a file path.
    #[arg(long)]
    pub book: Option<PathBuf>,
}

pub fn run(args: Args, out: &mut Output) -> anyhow::Result<ExitCode> {
    let book = open_book_for(&args.runbook, args.book.as_deref())?;
    out.diagnostics(&book)?;
    let runbook = find_runbook(&book, &args.runbook)?;
    let only = args.step.as_deref().map(|id| lookup::step(runbook, id)).transpose().map_err(InputError::from)?;
    let scripts = extract::scripts(&book, runbook, only).map_err(InputError)?;
    if args.check {
        let path = extract::header_path(&book, runbook);
        let drift = extract::drift(&scripts, &args.out, &path, args.step.is_none());
        for (what, files) in [("differs from", &drift.changed), ("is missing for", &drift.missing)] {
            for file in files {
                writeln!(out.stderr, "{}: {what} the runbook {path}", args.out.join(file).display())?;
            }
        }
        for file in &drift.stale {
            writeln!(out.stderr, "{}: no step of {path} gives it any more", args.out.join(file).display())?;
        }
        if drift.is_empty() {
            writeln!(out.stderr, "{} script(s) in {} match {path}", scripts.len(), args.out.display())?;
            return Ok(ExitCode::SUCCESS);
        }
        writeln!(
            out.stderr,
            "run `opsbook extract {} --out {}` to bring them up to date",
            args.runbook,
            args.out.display()
        )?;
        return Ok(ExitCode::from(EXIT_FAILED));
    }
    std::fs::create_dir_all(&args.out).map_err(|e| InputError(format!("cannot create {}: {e}", args.out.display())))?;
    for script in &scripts {
        let path = args.out.join(&script.file_name);
        std::fs::write(&path, &script.content).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        writeln!(out.stdout, "{}", path.display())?;
    }
    Ok(ExitCode::SUCCESS)
}
