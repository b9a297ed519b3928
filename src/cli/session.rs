//! `opsbook session …`: incidents from the command line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use super::InputError;
use super::output::{BOLD, DIM, Output};
use crate::clock::now_ms;
use crate::config::Config;
use crate::export;
use crate::line::one_line;
use crate::record::RunLogs;
use crate::session::{self, Actor, EventKind, NoteKind, SessionStore, Status};
use crate::{load, lookup};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The book whose sessions these are (its `.opsbook/opsbook.db`). Default: the book around
    /// the current folder.
    #[arg(long, global = true)]
    pub book: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(subcommand)]
    pub command: SessionCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum SessionCommand {
    /// Start an incident session; prints only its id.
    New {
        title: String,
        /// One of the book's severity levels (SEV1-SEV4 by default). Default: the least severe.
        #[arg(long)]
        severity: Option<String>,
    },
    /// List sessions, newest first.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show a session: its state and its timeline.
    Show {
        id: String,
        /// The session and its events as JSON (the export's schema).
        #[arg(long)]
        json: bool,
    },
    /// Add a note; its kind decides the postmortem section it fills.
    Note {
        id: String,
        text: String,
        #[arg(long, default_value = "note", value_parser = note_kinds())]
        kind: NoteKind,
    },
    /// Skip a step: it does not apply this time, or was done another way. The reason goes on the
    /// timeline; `opsbook run --resume` and the console go on past it.
    Skip {
        id: String,
        /// The runbook: a file path, or its path in the book.
        runbook: String,
        /// The step's id.
        step: String,
        /// Why it is skipped.
        #[arg(long)]
        reason: String,
    },
    /// Set the status: investigating, identified, monitoring, resolved.
    Status { id: String, status: String },
    /// Set the severity.
    Severity { id: String, severity: String },
    /// Rename the session.
    Title { id: String, title: String },
    /// Close the session (no more runs are recorded in it).
    Close { id: String },
    /// Print the status update for the incident channel, filled from the session.
    StatusUpdate { id: String },
    /// Copy every session of one store into another (`--from sqlite:.opsbook/opsbook.db --to
    /// postgres://…`), keeping event ids, order, remembered values and the runs' output. Sessions
    /// already there are skipped, so it can be run again.
    Migrate {
        /// The store to copy from. Default: the book's SQLite file.
        #[arg(long, value_name = "URL")]
        from: Option<String>,
        /// The PostgreSQL store to copy to.
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

/// `--kind`: the kinds `NoteKind::parse` takes, listed in the help and the error.
fn note_kinds() -> impl clap::builder::TypedValueParser<Value = NoteKind> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(NoteKind::ALL.map(NoteKind::as_str))
        .try_map(|given| NoteKind::parse(&given).ok_or("not a note kind"))
}

/// `--store`: which session store, for the commands that keep sessions.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct StoreArgs {
    /// The session store: `postgres://USER:PASSWORD@HOST/DATABASE` (shared by a team) or
    /// `sqlite:PATH`. Default: `OPSBOOK_STORE`, else `store` in book.toml's `[opsbook]`, else
    /// the book's `.opsbook/opsbook.db`.
    #[arg(long, global = true, value_name = "URL")]
    pub store: Option<String>,
}

/// The session store chosen by `--store`, `OPSBOOK_STORE` or book.toml, with runs left in
/// flight by a dead process marked interrupted.
pub(super) fn open_store(root: &Path, config: &Config, args: &StoreArgs) -> anyhow::Result<Arc<dyn SessionStore>> {
    let url = crate::config::Environment::read().store_url(args.store.as_deref(), &config.opsbook, root);
    let store = session::open(url.as_deref(), root)?;
    session::mark_interrupted(store.as_ref())?;
    let store = crate::notify::Notifying::wrap(store, &config.opsbook.notify, &root.join(".opsbook"))?;
    Ok(store)
}

pub fn run(args: Args, out: &mut Output) -> anyhow::Result<ExitCode> {
    let (root, config) = load::locate(args.book.as_deref())?;
    if let SessionCommand::Migrate { from, to } = &args.command {
        return migrate(&root, from.as_deref(), to, out);
    }
    let store = open_store(&root, &config, &args.store)?;
    let actor = Actor::local("cli");
    match args.command {
        SessionCommand::New { title, severity } => {
            if title.trim().is_empty() {
                return Err(InputError("a session needs a title".to_owned()).into());
            }
            let severity = match severity {
                Some(given) => lookup::severity(&config, &given).map_err(InputError::from)?,
                None => config.default_severity(),
            };
            let session = store.create(title.trim(), &severity, &actor, now_ms())?;
            writeln!(out.stdout, "{}", session.id)?;
        }
        SessionCommand::List { json } => {
            let sessions = store.sessions()?;
            if json {
                let mut text = serde_json::to_string_pretty(&sessions)?;
                text.push('\n');
                out.stdout.write_all(text.as_bytes())?;
            } else if sessions.is_empty() {
                writeln!(out.stderr, "no sessions yet; start one with `opsbook session new TITLE`")?;
            } else {
                for session in sessions {
                    let start = crate::clock::utc(session.started_at);
                    let state =
                        if session.ended_at.is_some() { "closed".to_owned() } else { session.status.to_string() };
                    writeln!(
                        out.stdout,
                        "{BOLD}{}{BOLD:#}  {} {} UTC  {:<5} {:<13} {}",
                        session.id,
                        start.date,
                        start.time,
                        one_line(&session.severity),
                        state,
                        one_line(&session.title)
                    )?;
                }
            }
        }
        SessionCommand::Show { id, json } => {
            let session = store.session(&id)?;
            let events = store.events(&id, 0)?;
            if json {
                let mut text = serde_json::to_string_pretty(&export::json(&session, &events, store.as_ref()))?;
                text.push('\n');
                out.stdout.write_all(text.as_bytes())?;
                return Ok(ExitCode::SUCCESS);
            }
            let start = crate::clock::utc(session.started_at);
            writeln!(out.stdout, "{BOLD}{}{BOLD:#}  {}", session.id, one_line(&session.title))?;
            writeln!(out.stdout, "  {DIM}severity{DIM:#}  {}", one_line(&session.severity))?;
            writeln!(out.stdout, "  {DIM}status{DIM:#}    {}", session.status)?;
            writeln!(out.stdout, "  {DIM}started{DIM:#}   {} {} UTC", start.date, start.time)?;
            if let Some(ended) = session.ended_at {
                let end = crate::clock::utc(ended);
                writeln!(out.stdout, "  {DIM}closed{DIM:#}    {} {} UTC", end.date, end.time)?;
            }
            let runs = export::runs(&events);
            // Where the incident stands in each runbook it has touched (runbooks of this book).
            if let Ok(book) = load::load_book(&root) {
                for (runbook, progress) in crate::progress::of_book(&book, &events, &runs) {
                    let summary = crate::progress::summary(&progress);
                    writeln!(out.stdout, "  {DIM}progress{DIM:#}  {}  {summary}", runbook.path)?;
                    for step in &progress {
                        let detail = match (&step.result, &step.at, &step.by) {
                            (Some(result), Some(at), Some(by)) => format!("  {DIM}({result}, {at} UTC, {by}){DIM:#}"),
                            _ => String::new(),
                        };
                        writeln!(out.stdout, "{:12}{} {}{detail}", "", step.state.mark(), step.step)?;
                    }
                }
            }
            writeln!(out.stdout)?;
            for event in events.iter().filter(|e| export::on_timeline(e)) {
                let when = crate::clock::utc(event.at);
                // A note's further lines go under its text, indented past the date, so none of
                // them reads as an event of its own.
                let description = export::describe(event, &runs);
                let mut lines = description.lines();
                writeln!(
                    out.stdout,
                    "{DIM}{} {}{DIM:#}  {}  {DIM}({}){DIM:#}",
                    when.date,
                    when.time,
                    lines.next().unwrap_or_default(),
                    format_args!("{}@{}", one_line(&event.actor.user), one_line(&event.actor.host))
                )?;
                for line in lines {
                    writeln!(out.stdout, "{:18}{line}", "")?;
                }
            }
        }
        SessionCommand::Note { id, text, kind } => {
            if text.trim().is_empty() {
                return Err(InputError("the note is empty".to_owned()).into());
            }
            store.append(&id, &actor, now_ms(), EventKind::NoteAdded { note: kind, text: text.trim().to_owned() })?;
        }
        SessionCommand::Skip { id, runbook, step, reason } => {
            let book = super::show::open_book_for(&runbook, args.book.as_deref())?;
            let runbook = super::show::find_runbook(&book, &runbook)?;
            let step = lookup::step(runbook, &step).map_err(InputError::from)?;
            crate::runner::skip(store.as_ref(), &id, (runbook, step), &reason, &actor, now_ms())
                .map_err(super::run::refused)?;
            writeln!(out.stderr, "skipped step `{}` of {} in session {id}", step.id, runbook.path)?;
        }
        SessionCommand::Title { id, title } => {
            if title.trim().is_empty() {
                return Err(InputError("a session needs a title".to_owned()).into());
            }
            session::set_title(store.as_ref(), &id, &actor, now_ms(), &title)?;
        }
        SessionCommand::Status { id, status } => {
            let to = Status::parse(&status).ok_or_else(|| {
                InputError(format!(
                    "unknown status `{status}`; use one of {}",
                    Status::ALL.iter().map(|s| s.as_str().to_ascii_lowercase()).collect::<Vec<_>>().join(", ")
                ))
            })?;
            session::set_status(store.as_ref(), &id, &actor, now_ms(), to)?;
        }
        SessionCommand::Severity { id, severity } => {
            let to = lookup::severity(&config, &severity).map_err(InputError::from)?;
            session::set_severity(store.as_ref(), &id, &actor, now_ms(), &to)?;
        }
        SessionCommand::Close { id } => {
            if !session::close(store.as_ref(), &id, &actor, now_ms())? {
                return Err(InputError(format!("session `{id}` is already closed")).into());
            }
        }
        SessionCommand::StatusUpdate { id } => {
            let session = store.session(&id)?;
            let events = store.events(&id, 0)?;
            write!(out.stdout, "{}", export::status_update(&session, &events))?;
        }
        // Handled before a store is opened.
        SessionCommand::Migrate { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// `session migrate`: every session of `from` (default: the book's SQLite file) into the
/// PostgreSQL store `to`.
fn migrate(root: &Path, from: Option<&str>, to: &str, out: &mut Output) -> anyhow::Result<ExitCode> {
    if !session::is_postgres_url(to) {
        return Err(InputError(format!(
            "--to must be a PostgreSQL URL (postgres://USER:PASSWORD@HOST/DATABASE), not `{}`",
            session::postgres::mask_url(to)
        ))
        .into());
    }
    let source = session::open(from, root)?;
    let target = session::PgStore::open(to, None, RunLogs::new(root.join(".opsbook")))?;
    let (mut copied, mut skipped) = (0, 0);
    for found in source.sessions()? {
        let events = source.events(&found.id, 0)?;
        let vars = source.vars(&found.id)?;
        let outputs = export::runs(&events)
            .iter()
            .map(|run| (run.started.run_id.clone(), session::all_output(source.as_ref(), &run.started.run_id)))
            .collect();
        if target.import(&found, &events, &vars, outputs)? {
            copied += 1;
            writeln!(out.stderr, "copied {} ({} events): {}", found.id, events.len(), one_line(&found.title))?;
        } else {
            skipped += 1;
            writeln!(out.stderr, "already there: {}", found.id)?;
        }
    }
    writeln!(out.stderr, "{copied} sessions copied, {skipped} already there ({})", target.health().location)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::cli::{Cli, Command};

    fn kind_of(args: &[&str]) -> Result<NoteKind, clap::Error> {
        let cli = Cli::try_parse_from(["opsbook", "session", "note", "20261127-abcdef", "text"].iter().chain(args))?;
        match cli.command {
            Command::Session(Args { command: SessionCommand::Note { kind, .. }, .. }) => Ok(kind),
            other => unreachable!("parsed as {other:?}"),
        }
    }

    #[test]
    fn note_kinds_are_the_ones_note_kind_parses() {
        assert_eq!(kind_of(&[]).unwrap(), NoteKind::Note);
        for kind in NoteKind::ALL {
            assert_eq!(kind_of(&["--kind", kind.as_str()]).unwrap(), kind);
        }
        let refused = kind_of(&["--kind", "gossip"]).unwrap_err().to_string();
        assert!(refused.contains("invalid value 'gossip'"), "{refused}");
        assert!(refused.contains("root-cause"), "the error lists the kinds: {refused}");
    }
}
