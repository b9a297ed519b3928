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
mod terminal;
mod test;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

pub(crate) use output::Output;

/// Exit code for usage and input errors.
pub const EXIT_INPUT: u8 = 2;
/// Exit code when a check, test or run failed.
pub(crate) const EXIT_FAILED: u8 = 1;

/// Literate runbooks: a searchable site, an incident console and a postmortem timeline from a
/// folder of Markdown runbooks.
#[derive(Debug, Parser)]
#[command(name = "opsbook", version, max_term_width = 100)]
pub struct Cli {
    /// When to colour the output: auto (a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
    /// Log more on stderr: -v what happens (requests, runs, the store), -vv and -vvv details.
    /// `RUST_LOG` (`RUST_LOG=opsbook=debug`) takes precedence.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
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
pub(crate) struct InputError(pub String);

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
    init_logging(cli.verbose, choice, matches!(cli.command, Command::Serve(_)));
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

/// Logs go to stderr: warnings and errors by default (a write the store refused or dropped,
/// a user config that cannot be read), more with `-v`; `RUST_LOG` overrides. A server's lines
/// carry the time.
fn init_logging(verbose: u8, color: anstream::ColorChoice, timed: bool) {
    use std::io::IsTerminal;
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("warn,opsbook={level}")));
    let ansi = match color {
        anstream::ColorChoice::Always | anstream::ColorChoice::AlwaysAnsi => true,
        anstream::ColorChoice::Never => false,
        anstream::ColorChoice::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    // Already set (a test that runs commands in-process): the first one stays.
    let _ = if timed {
        builder.with_target(verbose > 1).try_init()
    } else {
        builder.without_time().with_target(verbose > 1).try_init()
    };
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
