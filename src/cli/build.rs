//! `opsbook build [BOOK] [--dest-dir DIR] [--strict]`: the static site.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use super::EXIT_FAILED;
use super::output::{BOLD, Output};
use crate::diagnostic::Styles;
use crate::{load, site};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The book folder (default: the book around the current folder).
    pub book: Option<PathBuf>,
    /// Where to write the site (default: `[build] build-dir`, `book/`).
    #[arg(long, short = 'd')]
    pub dest_dir: Option<PathBuf>,
    /// Treat warnings (broken links, unclosed fences) as failures: exit 1.
    #[arg(long)]
    pub strict: bool,
}

pub fn run(args: Args, out: &mut Output) -> anyhow::Result<ExitCode> {
    let book = load::open(args.book.as_deref())?;
    let load_failed = out.diagnostics(&book)?;
    let dest = args.dest_dir.unwrap_or_else(|| book.config.build_dir(&book.root));
    // A progress bar on a terminal only (indicatif draws nothing when stderr is not one).
    let bar = indicatif::ProgressBar::new(book.runbooks.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} pages")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let result = site::Site::new(&book, &dest)?.build_with_progress(&|| bar.inc(1));
    bar.finish_and_clear();
    let report = result?;
    let styles = Styles::colored();
    for diagnostic in &report.diagnostics {
        write!(out.stderr, "{}", diagnostic.render(&styles))?;
    }
    let warnings = book.diagnostics.len() + report.diagnostics.len();
    writeln!(
        out.stderr,
        "{BOLD}built{BOLD:#} {} page{} into `{}` ({} warning{}, {} block{} highlighted anew)",
        report.pages,
        if report.pages == 1 { "" } else { "s" },
        dest.display(),
        warnings,
        if warnings == 1 { "" } else { "s" },
        report.highlighted,
        if report.highlighted == 1 { "" } else { "s" },
    )?;
    let failed = load_failed || (args.strict && warnings > 0);
    Ok(if failed { ExitCode::from(EXIT_FAILED) } else { ExitCode::SUCCESS })
}
