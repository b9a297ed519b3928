//! The command line: clap derive, one file per subcommand, each with an `Args` struct and a
//! `run(args) -> Result<ExitCode>`. Only wiring: the work happens in the library modules.
//!
//! Exit codes (DESIGN): 0 ok, 1 a check, test or run failed, 2 usage or input error.

mod build;
mod check;
mod export;
mod extract;
mod list;
mod output;
mod run;
mod serve;
mod session;
mod show;
mod test;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

pub use output::Output;

/// Exit code for usage and input errors.
pub const EXIT_INPUT: u8 = 2;
/// Exit code when a check, test or run failed.
pub const EXIT_FAILED: u8 = 1;

/// Literate runbooks: a searchable site, an incident console and a postmortem timeline from a
/// folder of Markdown runbooks.
#[derive(Debug, Parser)]
#[command(name = "opsbook", version, max_term_width = 100)]
pub struct Cli {
    /// When to colour the output: auto (a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the static site: one page per runbook, an index, a print page, runbooks.json.
    Build(build::Args),
    /// Lint a book: bash syntax, shellcheck, links, attributes, risky steps without `confirm`, …
    Check(check::Args),
    /// List runbooks and their steps (id, risk, inputs).
    List(list::Args),
    /// Show one step: where it is, its commands with risk and reason, inputs and flags.
    Show(show::Args),
    /// Run steps of a runbook, recorded in an incident session.
    Run(run::Args),
    /// Serve the site with the incident console: Run buttons, live output, the timeline.
    Serve(serve::Args),
    /// Incident sessions: start, list, show, notes, status, severity, close.
    Session(session::Args),
    /// Run the steps marked `test` and compare their output with the runbook's transcripts.
    Test(test::Args),
    /// Export a session as a postmortem timeline: Markdown, JSON or HTML.
    Export(export::Args),
    /// Write each step as an executable script that links back to its runbook line.
    Extract(extract::Args),
}

/// An error that is the user's input, not opsbook's failure: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// A name that found nothing, said with what there is to choose from.
impl From<crate::lookup::LookupError> for InputError {
    fn from(err: crate::lookup::LookupError) -> InputError {
        match err.choices() {
            Some(choices) => InputError(format!("{err}; {choices}")),
            None => InputError(err.to_string()),
        }
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let choice = match cli.color {
        ColorWhen::Auto => anstream::ColorChoice::Auto,
        ColorWhen::Always => anstream::ColorChoice::Always,
        ColorWhen::Never => anstream::ColorChoice::Never,
    };
    choice.write_global();
    let mut out = Output::new();
    match cli.command {
        Command::Build(args) => build::run(args, &mut out),
        Command::Check(args) => check::run(args, &mut out),
        Command::List(args) => list::run(args, &mut out),
        Command::Show(args) => show::run(args, &mut out),
        Command::Run(args) => run::run(args, &mut out),
        Command::Serve(args) => serve::run(args, &mut out),
        Command::Session(args) => session::run(args, &mut out),
        Command::Test(args) => test::run(args, &mut out),
        Command::Export(args) => export::run(args, &mut out),
        Command::Extract(args) => extract::run(args, &mut out),
    }
}

/// The exit code for an error that ended a command.
pub fn exit_code_for(err: &anyhow::Error) -> u8 {
    let is_input = err.chain().any(|cause| {
        cause.is::<InputError>()
            || cause.is::<crate::load::LoadError>()
            || cause.is::<crate::config::ConfigError>()
            || cause.is::<crate::site::SiteError>()
            || matches!(
                cause.downcast_ref::<crate::session::StoreError>(),
                Some(crate::session::StoreError::NoSuchSession(_))
            )
    });
    if is_input { EXIT_INPUT } else { EXIT_FAILED }
}

/// True when the error is a closed pipe (`opsbook list | head`): not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
