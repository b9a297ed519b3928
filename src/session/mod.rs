//! Incident sessions: an id, a title, severity, status, and an append-only list of events.
//! The `SessionStore` trait is what the CLI, the runner and the server write to; SQLite is the
//! default store (`sqlite`), PostgreSQL the shared one (`postgres`), both on one schema
//! (`schema`). `open` picks one from a URL.

mod outbox;
pub mod postgres;
mod schema;
pub mod sqlite;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::record::{Chunk, Context, End, Outcome, RunLogs};

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// Where an incident stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

impl Status {
    pub const ALL: [Status; 4] = [Status::Investigating, Status::Identified, Status::Monitoring, Status::Resolved];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Investigating => "Investigating",
            Status::Identified => "Identified",
            Status::Monitoring => "Monitoring",
            Status::Resolved => "Resolved",
        }
    }

    /// Parses a status, any case.
    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a note is about; all but `Note` fill a section of the postmortem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoteKind {
    Note,
    Summary,
    Impact,
    RootCause,
    Resolution,
    Action,
    Lesson,
}

impl NoteKind {
    /// Every kind, in the order the console offers them.
    pub const ALL: [NoteKind; 7] = [
        NoteKind::Note,
        NoteKind::Summary,
        NoteKind::Impact,
        NoteKind::RootCause,
        NoteKind::Resolution,
        NoteKind::Action,
        NoteKind::Lesson,
    ];

    /// Parses a kind as [`NoteKind::as_str`] writes it (`root-cause`): the one check of the
    /// command line's `--kind` and the API's `kind`.
    pub fn parse(text: &str) -> Option<NoteKind> {
        NoteKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NoteKind::Note => "note",
            NoteKind::Summary => "summary",
            NoteKind::Impact => "impact",
            NoteKind::RootCause => "root-cause",
            NoteKind::Resolution => "resolution",
            NoteKind::Action => "action",
            NoteKind::Lesson => "lesson",
        }
    }
}

/// An incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    pub title: String,
    pub severity: String,
    pub status: Status,
    /// Milliseconds since the Unix epoch.
    pub started_at: i64,
    /// Set when the session is closed.
    pub ended_at: Option<i64>,
}

impl Session {
    /// A session opened now: a new id, investigating. The title is one line (line breaks, tabs
    /// and other control characters become spaces, see [`crate::line::one_line`]): every store,
    /// and so the CLI and the console, create sessions through here.
    pub fn open(title: &str, severity: &str, at: i64) -> Session {
        Session {
            id: new_session_id(at),
            title: crate::line::one_line(title),
            severity: severity.to_owned(),
            status: Status::Investigating,
            started_at: at,
            ended_at: None,
        }
    }

    /// What an event does to its session: the one rule every store keeps (SQLite, PostgreSQL
    /// and the PostgreSQL store's cache). A status or severity change sets it; the first close
    /// ends the session, a later one changes nothing; every other event leaves it as it is.
    /// Returns whether the session changed. (That a run ends once is [`EventKind::ended_run`].)
    pub fn apply(&mut self, event: &Event) -> bool {
        match &event.kind {
            EventKind::StatusChanged { to, .. } if self.status != *to => self.status = *to,
            EventKind::SeverityChanged { to, .. } if self.severity != *to => self.severity.clone_from(to),
            EventKind::TitleChanged { to, .. } if self.title != *to => self.title.clone_from(to),
            EventKind::Closed if self.ended_at.is_none() => self.ended_at = Some(event.at),
            _ => return false,
        }
        true
    }
}

/// Who did something, from where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user: String,
    pub host: String,
    /// `cli`, `console` (the served pages) or `opsbook` (opsbook itself, e.g. marking a run
    /// interrupted).
    pub source: String,
}

impl Actor {
    /// This responder (see [`responder`]) on this machine, through `source`.
    pub fn local(source: &str) -> Actor {
        Actor { user: responder(), host: crate::record::host(), source: source.to_owned() }
    }
}

/// Who is responding from this machine: `OPSBOOK_RESPONDER`, else `responder` in the user's
/// config (`$XDG_CONFIG_HOME/opsbook/config.toml`, `[opsbook] responder = "..."`), else the OS
/// user.
pub fn responder() -> String {
    let env = crate::config::Environment::read();
    if let Some(name) = env.responder {
        return name;
    }
    static FROM_CONFIG: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    FROM_CONFIG
        .get_or_init(|| user_config_responder(env.user_config.as_deref()?))
        .clone()
        .unwrap_or_else(crate::record::user)
}

/// `[opsbook] responder` of a user config file; a file that cannot be read or parsed, or a
/// responder with a control character (a line break would forge lines in every timeline), is
/// logged as a warning and ignored (the OS user is used).
fn user_config_responder(path: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    match text.parse::<toml::Table>() {
        Ok(table) => table
            .get("opsbook")
            .and_then(|t| t.get("responder"))
            .and_then(|v| v.as_str())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .filter(|v| {
                let refused = crate::line::has_control(v);
                if refused {
                    tracing::warn!(
                        "{}: `responder` holds a control character (a line break?); using the OS user",
                        path.display()
                    );
                }
                !refused
            }),
        Err(err) => {
            tracing::warn!("{}: {err}; using the OS user as responder", path.display());
            None
        }
    }
}

/// Someone with a console open on a session, as last seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    pub user: String,
    pub host: String,
    /// Milliseconds since the Unix epoch (the store's clock).
    pub seen_at: i64,
}

/// Something changed in the store: read again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A session's events or who is in it.
    Session(String),
    /// A run's output (stored output only: shared stores).
    Output(String),
    /// The store went offline or came back: everything may have changed.
    Health,
}

/// Whether the store can be reached and how much waits to be written to it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Health {
    /// `sqlite` or `postgres`.
    pub kind: &'static str,
    /// Where, password masked.
    pub location: String,
    pub online: bool,
    /// Writes kept on local disk until the store is back.
    pub queued: usize,
    /// Notifications waiting to be delivered (`[[opsbook.notify]]`).
    #[serde(skip_serializing_if = "is_zero")]
    pub notifications_queued: usize,
    /// The last delivery that failed, while it is not yet delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notifications_failing: Option<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Unique, so that writing an event twice is harmless.
    pub id: String,
    pub session_id: String,
    /// 1-based order within the session.
    pub seq: u64,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    pub actor: Actor,
    pub kind: EventKind,
}

impl Event {
    /// A new event with a new id; the store gives it its number (`seq` 0 until then).
    pub fn unnumbered(session_id: &str, actor: &Actor, at: i64, kind: EventKind) -> Event {
        Event {
            id: uuid::Uuid::new_v4().to_string(),
            session_id: session_id.to_owned(),
            seq: 0,
            at,
            actor: actor.clone(),
            kind,
        }
    }
}

/// What happened. Stored as JSON (`type` + fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum EventKind {
    Created {
        title: String,
        severity: String,
    },
    StatusChanged {
        from: Status,
        to: Status,
    },
    SeverityChanged {
        from: String,
        to: String,
    },
    TitleChanged {
        from: String,
        to: String,
    },
    NoteAdded {
        note: NoteKind,
        text: String,
    },
    RunStarted(Box<RunStarted>),
    RunFinished(RunEnded),
    RunCancelled(RunEnded),
    RunInterrupted {
        run_id: String,
        reason: String,
    },
    /// A responder decided a step does not apply this time (or was done another way).
    StepSkipped(StepSkipped),
    /// Alertmanager said a group of alerts is firing, or resolved.
    Alert(Box<AlertNotice>),
    Closed,
}

impl EventKind {
    /// The kind as stored (`run-started`).
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Created { .. } => "created",
            EventKind::StatusChanged { .. } => "status-changed",
            EventKind::SeverityChanged { .. } => "severity-changed",
            EventKind::TitleChanged { .. } => "title-changed",
            EventKind::NoteAdded { .. } => "note-added",
            EventKind::RunStarted(_) => "run-started",
            EventKind::RunFinished(_) => "run-finished",
            EventKind::RunCancelled(_) => "run-cancelled",
            EventKind::RunInterrupted { .. } => "run-interrupted",
            EventKind::StepSkipped(_) => "step-skipped",
            EventKind::Alert(_) => "alert",
            EventKind::Closed => "closed",
        }
    }

    /// Whether this event ends a run (finished, cancelled or interrupted).
    pub fn ends_run(&self) -> bool {
        matches!(self, EventKind::RunFinished(_) | EventKind::RunCancelled(_) | EventKind::RunInterrupted { .. })
    }

    /// The run this event ends, if it ends one. A run ends once: a store records the first end
    /// of a run and answers any later one with it, unrecorded ([`first_end`] over events).
    pub fn ended_run(&self) -> Option<&str> {
        if self.ends_run() { self.run_id() } else { None }
    }

    /// The run this event belongs to, if any.
    pub fn run_id(&self) -> Option<&str> {
        match self {
            EventKind::RunStarted(started) => Some(&started.run_id),
            EventKind::RunFinished(ended) | EventKind::RunCancelled(ended) => Some(&ended.run_id),
            EventKind::RunInterrupted { run_id, .. } => Some(run_id),
            _ => None,
        }
    }
}

/// What Alertmanager sent about a group of alerts (`POST /api/alerts`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertNotice {
    /// `firing` or `resolved`.
    pub status: String,
    /// Alertmanager's key of the group: the same group joins the same open session.
    pub group_key: String,
    /// The alerts' names, each once.
    pub alerts: Vec<String>,
    /// How many alerts the group holds.
    pub count: usize,
    /// The labels all of them share.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The `summary` (else `description`) annotation they share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// A step skipped, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepSkipped {
    /// The runbook's path in the book.
    pub runbook: String,
    pub runbook_title: String,
    pub step: String,
    pub step_title: String,
    pub reason: String,
}

/// A run began. Commands and inputs are stored redacted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStarted {
    pub run_id: String,
    /// The runbook's path in the book.
    pub runbook: String,
    pub runbook_title: String,
    pub step: String,
    pub step_title: String,
    /// 0-based index of the one command run, when not the whole step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<usize>,
    /// The commands as run, values in place, secrets masked.
    pub command_text: String,
    /// Input values by name, secrets masked.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, String>,
    pub risk: String,
    pub context: Context,
    /// The log of the run's output, relative to its store's `RunLogs` folder.
    pub log: String,
    /// A run in a terminal (an interactive step): its asciicast v2 recording, relative like
    /// `log`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cast: Option<String>,
    /// The process that records the run (opsbook itself) and the shell's process id.
    pub recorder_pid: u32,
    pub pid: u32,
}

/// A run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunEnded {
    pub run_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    pub duration_ms: u64,
    pub output_bytes: u64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
    /// Names of the variables the run exported (values are kept for the session, not here).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exported: Vec<String>,
    /// What the run wrote to `$OPSBOOK_OUTPUT`, as shown: secret-named values and secret
    /// shapes masked (the values themselves are kept for the session, secrets in memory only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, String>,
}

impl RunEnded {
    /// The end event of a run with this outcome; `outputs` as they may be shown.
    pub fn from_outcome(run_id: &str, outcome: &Outcome, outputs: BTreeMap<String, String>) -> EventKind {
        let ended = RunEnded {
            run_id: run_id.to_owned(),
            exit_code: outcome.exit_code,
            signal: outcome.signal,
            duration_ms: outcome.duration_ms,
            output_bytes: outcome.output_bytes,
            truncated: outcome.truncated,
            timed_out: outcome.end == End::TimedOut,
            exported: outcome.exported.keys().cloned().collect(),
            outputs,
        };
        if outcome.end == End::Cancelled { EventKind::RunCancelled(ended) } else { EventKind::RunFinished(ended) }
    }
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no session `{0}` (see `opsbook session list`)")]
    NoSuchSession(String),
    #[error("session store {location}: {message}")]
    Backend { location: String, message: String },
    /// Another process holds the store's write lock and did not let go in time.
    #[error(
        "session store {location} is busy: another process holds its write lock; nothing was recorded, try again in a moment"
    )]
    Busy { location: String },
}

/// Where sessions and their events are kept. Every method commits before it returns (a shared
/// store that is offline commits to its local queue).
pub trait SessionStore: Send + Sync + fmt::Debug {
    /// Creates a session and its `created` event.
    fn create(&self, title: &str, severity: &str, actor: &Actor, at: i64) -> Result<Session, StoreError>;
    /// All sessions, newest first.
    fn sessions(&self) -> Result<Vec<Session>, StoreError>;
    fn session(&self, id: &str) -> Result<Session, StoreError>;
    /// Appends an event (and updates the session's status, severity or end with it).
    fn append(&self, session_id: &str, actor: &Actor, at: i64, kind: EventKind) -> Result<Event, StoreError>;
    /// The session's events with `seq > after`, in order.
    fn events(&self, session_id: &str, after: u64) -> Result<Vec<Event>, StoreError>;
    /// Values remembered for the session: inputs given and variables exported.
    fn vars(&self, session_id: &str) -> Result<BTreeMap<String, String>, StoreError>;
    fn set_vars(&self, session_id: &str, vars: &BTreeMap<String, String>) -> Result<(), StoreError>;
    /// The events of one run (its start, and its end if recorded), in order.
    fn run_events(&self, run_id: &str) -> Result<Vec<Event>, StoreError>;
    /// Runs that started and never ended, with the session they belong to.
    fn open_runs(&self) -> Result<Vec<(String, RunStarted)>, StoreError>;
    /// A run's output chunks with `seq > after`, as the store has them.
    fn output(&self, run_id: &str, after: u64) -> Result<Vec<Chunk>, StoreError>;

    /// Where this store's runs keep their logs: the runner writes there, `output` reads there.
    fn logs(&self) -> &RunLogs;
    /// Whether runs' output is kept in the store (for other machines), not only in the local log.
    fn shares_output(&self) -> bool {
        false
    }
    /// Keeps output chunks of a run, in order; returns before they are written. Only called
    /// when `shares_output`.
    fn record_output(&self, _session_id: &str, _run_id: &str, _chunks: Vec<Chunk>) {}
    /// Records that `actor` has a console open on a session now.
    fn touch_presence(&self, session_id: &str, actor: &Actor) -> Result<(), StoreError>;
    /// Who had a console open on a session within the last `within_ms`.
    fn presence(&self, session_id: &str, within_ms: i64) -> Result<Vec<Presence>, StoreError>;
    /// When the recording process `pid` on `host` was last known alive, by the store's clock,
    /// and the store's clock now; `None` when the store cannot tell (local stores).
    fn recorder_seen(&self, _host: &str, _pid: u32) -> Result<Option<(Option<i64>, i64)>, StoreError> {
        Ok(None)
    }
    /// Changes to read again: local writes, and other processes' writes in shared stores.
    fn changes(&self) -> tokio::sync::broadcast::Receiver<Change>;
    fn health(&self) -> Health;
}

/// Whether a store URL names a PostgreSQL database.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Every output chunk a store has of a run, read page by page (nothing when it cannot be read:
/// a missing log, an unreachable store).
pub fn all_output(store: &dyn SessionStore, run_id: &str) -> Vec<Chunk> {
    let mut chunks: Vec<Chunk> = Vec::new();
    while let Ok(page) = store.output(run_id, chunks.last().map_or(0, |c| c.seq))
        && !page.is_empty()
    {
        chunks.extend(page);
    }
    chunks
}

/// The store a URL names: `postgres://…` / `postgresql://…`, or `sqlite:PATH`; none: the
/// book's SQLite file. `book_root` holds the local queue of a shared store.
pub fn open(url: Option<&str>, book_root: &std::path::Path) -> Result<std::sync::Arc<dyn SessionStore>, StoreError> {
    let opsbook_dir = book_root.join(".opsbook");
    match url.map(str::trim).filter(|u| !u.is_empty()) {
        None => Ok(std::sync::Arc::new(SqliteStore::for_book(book_root)?)),
        Some(url) if is_postgres_url(url) => {
            let logs = RunLogs::new(&opsbook_dir);
            Ok(std::sync::Arc::new(PgStore::open(url, Some(&opsbook_dir.join("outbox.db")), logs)?))
        }
        Some(url) if let Some(path) = crate::config::sqlite_path(url) => {
            if path.trim().is_empty() {
                return Err(StoreError::Backend {
                    location: url.to_owned(),
                    message:
                        "a sqlite: store needs a path: sqlite:PATH (relative to book.toml, or to the working folder \
                              when given with --store or OPSBOOK_STORE)"
                            .to_owned(),
                });
            }
            Ok(std::sync::Arc::new(SqliteStore::open(&crate::load::absolute(std::path::Path::new(path)))?))
        }
        Some(url) => Err(StoreError::Backend {
            location: postgres::mask_url(url),
            message: "not a store URL: use postgres://USER:PASSWORD@HOST/DATABASE or sqlite:PATH".to_owned(),
        }),
    }
}

/// The recorded end of a run among `events`: the first, the one that stands.
pub fn first_end<'e>(events: impl IntoIterator<Item = &'e Event>, run_id: &str) -> Option<&'e Event> {
    events.into_iter().find(|e| e.kind.ended_run() == Some(run_id))
}

/// The runs these `run-started` events began, with their sessions (other events are skipped).
fn started_runs(events: Vec<Event>) -> Vec<(String, RunStarted)> {
    events
        .into_iter()
        .filter_map(|event| match event.kind {
            EventKind::RunStarted(started) => Some((event.session_id, *started)),
            _ => None,
        })
        .collect()
}

/// Sets a session's status; records an event only when it changes. Returns whether it did.
pub fn set_status(store: &dyn SessionStore, id: &str, actor: &Actor, at: i64, to: Status) -> Result<bool, StoreError> {
    let from = store.session(id)?.status;
    if from == to {
        return Ok(false);
    }
    store.append(id, actor, at, EventKind::StatusChanged { from, to })?;
    Ok(true)
}

/// Sets a session's severity (a name the book knows); records an event only when it changes.
pub fn set_severity(store: &dyn SessionStore, id: &str, actor: &Actor, at: i64, to: &str) -> Result<bool, StoreError> {
    let from = store.session(id)?.severity;
    if from == to {
        return Ok(false);
    }
    store.append(id, actor, at, EventKind::SeverityChanged { from, to: to.to_owned() })?;
    Ok(true)
}

/// Renames a session (the title made one line; the callers refuse an empty one); records an
/// event only when it changes.
pub fn set_title(store: &dyn SessionStore, id: &str, actor: &Actor, at: i64, to: &str) -> Result<bool, StoreError> {
    let from = store.session(id)?.title;
    let to = crate::line::one_line(to.trim());
    if from == to {
        return Ok(false);
    }
    store.append(id, actor, at, EventKind::TitleChanged { from, to })?;
    Ok(true)
}

/// Closes a session; false when it was already closed.
pub fn close(store: &dyn SessionStore, id: &str, actor: &Actor, at: i64) -> Result<bool, StoreError> {
    if store.session(id)?.ended_at.is_some() {
        return Ok(false);
    }
    store.append(id, actor, at, EventKind::Closed)?;
    Ok(true)
}

/// A new session id: the day and six random letters and digits (`20261127-k3x9qa`).
pub fn new_session_id(at: i64) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let day = crate::clock::utc(at).date.replace('-', "");
    let random = uuid::Uuid::new_v4();
    let letters: String =
        random.as_bytes()[..6].iter().map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char).collect();
    format!("{day}-{letters}")
}

/// Someone whose console has not said it is open for this long has left the session (consoles
/// say so every 10 s).
pub const PRESENCE_GONE_MS: i64 = 30_000;

/// How long a recorder on another machine may go unseen by a shared store before its runs in
/// flight are marked interrupted. Recorders are seen every [`postgres::HEARTBEAT`].
pub const RECORDER_STALE_MS: i64 = 15_000;

/// Marks runs that were in flight when their recorder died as interrupted: runs recorded on
/// this host by a process that no longer exists, and (shared stores) runs recorded elsewhere by
/// a process the store has not seen for [`RECORDER_STALE_MS`]. Returns how many.
pub fn mark_interrupted(store: &dyn SessionStore) -> Result<usize, StoreError> {
    let host = crate::record::host();
    let mut marked = 0;
    for (session_id, started) in store.open_runs()? {
        let reason = if started.context.host == host {
            if process_alive(started.recorder_pid) {
                continue;
            }
            format!("opsbook (process {}) stopped while the run was in flight", started.recorder_pid)
        } else {
            match store.recorder_seen(&started.context.host, started.recorder_pid)? {
                Some((seen, now)) if seen.is_none_or(|seen| now - seen > RECORDER_STALE_MS) => format!(
                    "opsbook (process {} on {}) has not been heard from for over {} s",
                    started.recorder_pid,
                    started.context.host,
                    RECORDER_STALE_MS / 1000
                ),
                _ => continue,
            }
        };
        let actor = Actor { user: started.context.user.clone(), host: host.clone(), source: "opsbook".to_owned() };
        store.append(
            &session_id,
            &actor,
            crate::clock::now_ms(),
            EventKind::RunInterrupted { run_id: started.run_id.clone(), reason },
        )?;
        marked += 1;
    }
    Ok(marked)
}

fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let Ok(pid) = i32::try_from(pid) else { return false };
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(nix::errno::Errno::EPERM) => true,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(at: i64, kind: EventKind) -> Event {
        Event::unnumbered("s", &Actor::local("test"), at, kind)
    }

    fn ended(run_id: &str, exit_code: i32) -> RunEnded {
        RunEnded {
            run_id: run_id.to_owned(),
            exit_code: Some(exit_code),
            signal: None,
            duration_ms: 1,
            output_bytes: 0,
            truncated: false,
            timed_out: false,
            exported: Vec::new(),
            outputs: BTreeMap::new(),
        }
    }

    #[test]
    fn what_each_event_does_to_its_session() {
        let mut session = Session::open("db down", "SEV3", 1);
        let status = |from, to| EventKind::StatusChanged { from, to };
        assert!(session.apply(&event(2, status(Status::Investigating, Status::Identified))));
        assert_eq!(session.status, Status::Identified);
        // Setting what is already set is no change.
        assert!(!session.apply(&event(3, status(Status::Investigating, Status::Identified))));
        let severity = EventKind::SeverityChanged { from: "SEV3".to_owned(), to: "SEV1".to_owned() };
        assert!(session.apply(&event(4, severity)));
        assert_eq!(session.severity, "SEV1");
        let note = EventKind::NoteAdded { note: NoteKind::Impact, text: "checkout fails".to_owned() };
        assert!(!session.apply(&event(5, note)));
        assert!(!session.apply(&event(6, EventKind::RunFinished(ended("r1", 0)))));
        // The first close stands.
        assert!(session.apply(&event(7, EventKind::Closed)));
        assert!(!session.apply(&event(9, EventKind::Closed)));
        assert_eq!(session.ended_at, Some(7));
        let expected =
            Session { status: Status::Identified, severity: "SEV1".to_owned(), ended_at: Some(7), ..session.clone() };
        assert_eq!(session, expected);
        assert_eq!((session.title.as_str(), session.started_at), ("db down", 1));
    }

    #[test]
    fn a_session_title_is_one_line() {
        let session = Session::open("db down\n- Status: Resolved\n\n## Root Cause\tintern did it\r", "SEV3", 1);
        assert_eq!(session.title, "db down - Status: Resolved ## Root Cause intern did it");
    }

    #[test]
    fn a_responder_with_a_line_break_in_the_user_config_is_ignored() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[opsbook]\nresponder = \"mallory)\\n- 02:00 - Status: Resolved (alice\"\n")
            .expect("writable");
        assert_eq!(user_config_responder(&path), None);
        std::fs::write(&path, "[opsbook]\nresponder = \" ana \"\n").expect("writable");
        assert_eq!(user_config_responder(&path).as_deref(), Some("ana"));
    }

    #[test]
    fn a_run_ends_once() {
        let interrupted = EventKind::RunInterrupted { run_id: "r1".to_owned(), reason: "gone".to_owned() };
        let events = [
            event(1, EventKind::Closed),
            event(2, EventKind::RunCancelled(ended("r2", 130))),
            event(3, EventKind::RunFinished(ended("r1", 0))),
            event(4, interrupted.clone()),
        ];
        assert_eq!(first_end(&events, "r1").map(|e| e.at), Some(3));
        assert_eq!(first_end(&events, "r2").map(|e| e.at), Some(2));
        assert_eq!(first_end(&events, "r3"), None);
        assert_eq!(interrupted.ended_run(), Some("r1"));
        assert_eq!(EventKind::Closed.ended_run(), None);
    }
}
