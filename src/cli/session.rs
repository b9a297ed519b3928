//! `opsbook session …`: incidents from the command line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use super::InputError;
use super::output::{BOLD, DIM, Output};
use crate::config::Config;
use crate::exec::now_ms;
use crate::export;
use crate::load;
use crate::session::{self, Actor, EventKind, NoteKind, SessionStore, SqliteStore, Status};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The book whose sessions these are (its `.opsbook/opsbook.db`). Default: the book around
    /// the current folder.
    #[arg(long, global = true)]
    pub book: Option<PathBuf>,
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
        #[arg(long, value_enum, default_value_t = NoteKind::Note)]
        kind: NoteKind,
    },
    /// Set the status: investigating, identified, monitoring, resolved.
    Status { id: String, status: String },
    /// Set the severity.
    Severity { id: String, severity: String },
    /// Close the session (no more runs are recorded in it).
    Close { id: String },
    /// Print the status update for the incident channel, filled from the session.
    StatusUpdate { id: String },
}

/// The book's session store, with runs left in flight by a dead process marked interrupted.
pub(super) fn open_store(root: &Path) -> anyhow::Result<Arc<SqliteStore>> {
    let store = SqliteStore::for_book(root)?;
    session::mark_interrupted(&store)?;
    Ok(Arc::new(store))
}

/// The book's name for a severity level, whatever its case; an unknown level is an input error.
pub(super) fn severity_name(config: &Config, given: &str) -> Result<String, InputError> {
    config.severity_name(given).map(str::to_owned).ok_or_else(|| {
        InputError(format!("unknown severity `{given}`; the book's levels are {}", config.severity_names().join(", ")))
    })
}

pub fn run(args: Args, out: &mut Output) -> anyhow::Result<ExitCode> {
    let (root, config) = load::locate(args.book.as_deref())?;
    let store = open_store(&root)?;
    let actor = Actor::local("cli");
    let opsbook_dir = root.join(".opsbook");
    match args.command {
        SessionCommand::New { title, severity } => {
            if title.trim().is_empty() {
                return Err(InputError("a session needs a title".to_owned()).into());
            }
            let severity = match severity {
                Some(given) => severity_name(&config, &given)?,
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
                    let start = export::utc(session.started_at);
                    let state =
                        if session.ended_at.is_some() { "closed".to_owned() } else { session.status.to_string() };
                    writeln!(
                        out.stdout,
                        "{BOLD}{}{BOLD:#}  {} {} UTC  {:<5} {:<13} {}",
                        session.id, start.date, start.time, session.severity, state, session.title
                    )?;
                }
            }
        }
        SessionCommand::Show { id, json } => {
            let session = store.session(&id)?;
            let events = store.events(&id, 0)?;
            if json {
                let mut text = serde_json::to_string_pretty(&export::json(&session, &events, &opsbook_dir))?;
                text.push('\n');
                out.stdout.write_all(text.as_bytes())?;
                return Ok(ExitCode::SUCCESS);
            }
            let start = export::utc(session.started_at);
            writeln!(out.stdout, "{BOLD}{}{BOLD:#}  {}", session.id, session.title)?;
            writeln!(out.stdout, "  {DIM}severity{DIM:#}  {}", session.severity)?;
            writeln!(out.stdout, "  {DIM}status{DIM:#}    {}", session.status)?;
            writeln!(out.stdout, "  {DIM}started{DIM:#}   {} {} UTC", start.date, start.time)?;
            if let Some(ended) = session.ended_at {
                let end = export::utc(ended);
                writeln!(out.stdout, "  {DIM}closed{DIM:#}    {} {} UTC", end.date, end.time)?;
            }
            writeln!(out.stdout)?;
            let runs = export::runs(&events);
            for event in events.iter().filter(|e| export::on_timeline(e)) {
                let when = export::utc(event.at);
                writeln!(
                    out.stdout,
                    "{DIM}{} {}{DIM:#}  {}  {DIM}({}){DIM:#}",
                    when.date,
                    when.time,
                    export::describe(event, &runs),
                    event.actor.user
                )?;
            }
        }
        SessionCommand::Note { id, text, kind } => {
            if text.trim().is_empty() {
                return Err(InputError("the note is empty".to_owned()).into());
            }
            store.append(&id, &actor, now_ms(), EventKind::NoteAdded { note: kind, text: text.trim().to_owned() })?;
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
            let to = severity_name(&config, &severity)?;
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
    }
    Ok(ExitCode::SUCCESS)
}
