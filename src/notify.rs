//! Notifications: session events sent to webhooks (`[[opsbook.notify]]`), Slack's incoming
//! webhook JSON or a generic JSON body. An event a notification is chosen for is queued on disk
//! (`.opsbook/notify.db`, SQLite, committed before the event's write returns) and delivered by a
//! thread of its own, so a run never waits for a webhook; a failed delivery is tried again with
//! backoff (250 ms doubling to 5 min, for a day), also by the next opsbook process to open the
//! book's store. The last failure is logged and shown in the console's bar.
//!
//! [`Notifying`] wraps the session store every front end opens, so every event (a CLI run, the
//! console, Alertmanager's webhook) is seen once, where it is recorded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

use crate::record::{Chunk, RunLogs};
use crate::session::{
    Actor, Change, Event, EventKind, Health, NoteKind, Presence, RunStarted, Session, SessionStore, StoreError,
};

/// One `[[opsbook.notify]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Target {
    /// Where to POST (`https://hooks.slack.com/services/…`).
    pub url: String,
    /// `slack` (incoming-webhook JSON: `{"text": …}`) or `json` (the event, typed).
    #[serde(default)]
    pub format: Format,
    /// Which events: `opened`, `severity`, `status`, `run` (a mutating or destructive run started
    /// or ended), `note` (impact and resolution notes), `alert`, `closed`. Default: all.
    #[serde(default)]
    pub events: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    #[default]
    Slack,
    Json,
}

/// The event names a `[[opsbook.notify]]` entry may choose.
pub const EVENTS: &[&str] = &["opened", "severity", "status", "run", "note", "alert", "closed"];

/// What a notification says, before it is shaped for its target.
#[derive(Debug, Clone, Serialize)]
pub struct Notice {
    /// One of [`EVENTS`].
    pub event: &'static str,
    pub session_id: String,
    pub session_title: String,
    pub severity: String,
    /// One line, for people.
    pub text: String,
    /// Who did it, and where.
    pub actor: String,
    pub host: String,
    pub at: String,
}

/// The notice an event makes, if it is one notifications are for. `started` is the run an end
/// belongs to (its risk decides).
fn notice_of(session: &Session, event: &Event, started: Option<&RunStarted>) -> Option<Notice> {
    use crate::line::one_line;
    let risky = |risk: &str| matches!(risk, "mutating" | "destructive");
    let (name, text) = match &event.kind {
        EventKind::Created { title, severity } => {
            ("opened", format!("Incident opened: {} ({severity})", one_line(title)))
        }
        EventKind::SeverityChanged { from, to } => ("severity", format!("Severity {from} → {to}")),
        EventKind::StatusChanged { from, to } => ("status", format!("Status {} → {}", from.as_str(), to.as_str())),
        EventKind::RunStarted(run) if risky(&run.risk) => (
            "run",
            format!(
                "{} step `{}` of {} started on {}: `{}`",
                run.risk,
                one_line(&run.step),
                one_line(&run.runbook),
                one_line(&run.context.host),
                one_line(&run.command_text)
            ),
        ),
        EventKind::RunFinished(ended) | EventKind::RunCancelled(ended) => {
            let run = started.filter(|run| risky(&run.risk))?;
            let how = match (&event.kind, ended.exit_code, ended.signal) {
                (EventKind::RunCancelled(_), _, _) => "was cancelled".to_owned(),
                (_, Some(code), _) => format!("exited {code}"),
                (_, None, Some(signal)) => format!("ended by signal {signal}"),
                _ => "ended".to_owned(),
            };
            ("run", format!("{} step `{}` of {} {how}", run.risk, one_line(&run.step), one_line(&run.runbook)))
        }
        EventKind::NoteAdded { note: note @ (NoteKind::Impact | NoteKind::Resolution), text } => {
            ("note", format!("{}: {}", note.as_str(), one_line(text)))
        }
        EventKind::Alert(notice) => ("alert", format!("Alert {} {}", notice.alerts.join(", "), notice.status)),
        EventKind::Closed => ("closed", format!("Incident closed: {}", one_line(&session.title))),
        _ => return None,
    };
    Some(Notice {
        event: name,
        session_id: session.id.clone(),
        session_title: one_line(&session.title),
        severity: session.severity.clone(),
        text,
        actor: event.actor.user.clone(),
        host: event.actor.host.clone(),
        at: crate::clock::utc(event.at).rfc3339,
    })
}

/// The body a target gets.
fn body(target: &Target, notice: &Notice) -> String {
    match target.format {
        Format::Slack => serde_json::json!({
            "text": format!("[{}] {} — {} ({}@{})", notice.severity, notice.session_title, notice.text, notice.actor, notice.host),
        })
        .to_string(),
        Format::Json => serde_json::json!({ "version": 1, "notification": notice }).to_string(),
    }
}

fn backend(error: &dyn std::fmt::Display) -> StoreError {
    StoreError::Backend { location: "notification queue (.opsbook/notify.db)".to_owned(), message: error.to_string() }
}

/// The queue on disk and the thread that empties it.
#[derive(Debug)]
pub struct Outbox {
    path: PathBuf,
    wake: Arc<(Mutex<Wake>, Condvar)>,
    last_failure: Arc<Mutex<Option<String>>>,
}

#[derive(Debug, Default)]
struct Wake {
    pending: bool,
    /// Deliveries in flight or due now: `flush` waits for them.
    busy: bool,
}

/// The outboxes this process opened, for [`flush_all`].
static OPEN: Mutex<Vec<std::sync::Weak<Outbox>>> = Mutex::new(Vec::new());

/// Gives every outbox of this process up to `limit` to try what is due (before it exits).
pub fn flush_all(limit: Duration) {
    let open: Vec<Arc<Outbox>> =
        OPEN.lock().map(|o| o.iter().filter_map(std::sync::Weak::upgrade).collect()).unwrap_or_default();
    for outbox in open {
        outbox.flush(limit);
    }
}

const MAX_AGE_MS: i64 = 24 * 3600 * 1000;
const TIMEOUT: Duration = Duration::from_secs(5);

impl Outbox {
    /// The book's queue, and its delivery thread.
    pub fn open(opsbook_dir: &Path) -> Result<Arc<Outbox>, StoreError> {
        let path = opsbook_dir.join("notify.db");
        crate::private::prepare_database(&path).map_err(|e| backend(&e))?;
        let outbox = Arc::new(Outbox {
            path,
            wake: Arc::new((Mutex::new(Wake { pending: true, busy: false }), Condvar::new())),
            last_failure: Arc::new(Mutex::new(None)),
        });
        outbox.connection()?;
        if let Ok(mut open) = OPEN.lock() {
            open.retain(|o| o.strong_count() > 0);
            open.push(Arc::downgrade(&outbox));
        }
        let worker = outbox.clone();
        std::thread::Builder::new()
            .name("opsbook-notify".to_owned())
            .spawn(move || worker.deliver_forever())
            .map_err(|e| backend(&e))?;
        Ok(outbox)
    }

    fn connection(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open(&self.path).map_err(|e| backend(&e))?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(|e| backend(&e))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
             CREATE TABLE IF NOT EXISTS notifications (
                id INTEGER PRIMARY KEY, url TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL, last_error TEXT)",
        )
        .map_err(|e| backend(&e))?;
        Ok(conn)
    }

    /// Queues a body for `url`, committed before it returns, and wakes the deliverer.
    fn queue(&self, url: &str, body: &str) -> Result<(), StoreError> {
        let now = crate::clock::now_ms();
        self.connection()?
            .execute(
                "INSERT INTO notifications (url, body, created_at, next_at) VALUES (?1, ?2, ?3, ?3)",
                params![url, body, now],
            )
            .map_err(|e| backend(&e))?;
        let (lock, signal) = &*self.wake;
        if let Ok(mut wake) = lock.lock() {
            wake.pending = true;
            wake.busy = true;
        }
        signal.notify_all();
        Ok(())
    }

    /// Notifications still waiting, and the last failure (for the console's bar).
    pub fn status(&self) -> (usize, Option<String>) {
        let queued = self
            .connection()
            .ok()
            .and_then(|c| c.query_row("SELECT count(*) FROM notifications", [], |r| r.get::<_, i64>(0)).ok())
            .unwrap_or(0);
        (queued as usize, self.last_failure.lock().ok().and_then(|f| f.clone()))
    }

    /// Waits up to `limit` for deliveries due now to be tried (a CLI command before it exits).
    pub fn flush(&self, limit: Duration) {
        let (lock, signal) = &*self.wake;
        let Ok(guard) = lock.lock() else { return };
        let _ = signal.wait_timeout_while(guard, limit, |wake| wake.busy || wake.pending);
    }

    fn deliver_forever(&self) {
        loop {
            let next = self.deliver_due();
            let (lock, signal) = &*self.wake;
            let Ok(mut wake) = lock.lock() else { return };
            wake.busy = false;
            signal.notify_all();
            if !wake.pending {
                let wait = next.unwrap_or(Duration::from_secs(60));
                wake = match signal.wait_timeout_while(wake, wait, |w| !w.pending) {
                    Ok((wake, _)) => wake,
                    Err(_) => return,
                };
            }
            wake.pending = false;
            wake.busy = true;
        }
    }

    /// Tries every notification that is due, one target at a time each but the targets side by
    /// side (a webhook that hangs holds up only its own); returns how long until the next one is.
    /// An attempt is written down before it is made, so a process that exits mid-attempt leaves
    /// its backoff behind, never a resend at once.
    fn deliver_due(&self) -> Option<Duration> {
        let conn = self.connection().ok()?;
        let now = crate::clock::now_ms();
        let due: Vec<(i64, String, String, i64, i64)> = conn
            .prepare("SELECT id, url, body, attempts, created_at FROM notifications WHERE next_at <= ?1 ORDER BY id")
            .and_then(|mut statement| {
                statement
                    .query_map([now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
                    .and_then(Iterator::collect)
            })
            .unwrap_or_default();
        let mut by_target: BTreeMap<String, Vec<(i64, String, i64)>> = BTreeMap::new();
        for (id, url, body, attempts, created_at) in due {
            let attempts = attempts + 1;
            let backoff = 250i64.saturating_mul(1 << attempts.clamp(0, 20)).min(300_000);
            let _ = conn.execute(
                "UPDATE notifications SET attempts = ?2, next_at = ?3 WHERE id = ?1",
                params![id, attempts, crate::clock::now_ms() + backoff],
            );
            by_target.entry(url).or_default().push((id, body, created_at));
        }
        std::thread::scope(|scope| {
            for (url, items) in &by_target {
                scope.spawn(move || self.deliver_to(url, items));
            }
        });
        let next: Option<i64> =
            conn.query_row("SELECT min(next_at) FROM notifications", [], |r| r.get(0)).ok().flatten();
        next.map(|at| Duration::from_millis((at - crate::clock::now_ms()).max(0) as u64))
    }
}

/// A webhook's address for messages: its scheme and host only (Slack's path is its secret).
fn shown_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            let host = host.rsplit('@').next().unwrap_or(host);
            format!("{scheme}://{host}/…")
        }
        None => "(a webhook)".to_owned(),
    }
}

impl Outbox {
    /// Posts `items` to `url` in order; stops at the first failure (the rest wait their turn).
    fn deliver_to(&self, url: &str, items: &[(i64, String, i64)]) {
        let Ok(conn) = self.connection() else { return };
        for (id, body, created_at) in items {
            match post(url, body) {
                Ok(()) => {
                    let _ = conn.execute("DELETE FROM notifications WHERE id = ?1", [id]);
                    if let Ok(mut last) = self.last_failure.lock() {
                        if last.as_deref().is_some_and(|l| l.contains(&shown_url(url))) {
                            *last = None;
                        }
                    }
                }
                Err(error) => {
                    let shown = format!("notification to {} failed ({error}); trying again", shown_url(url));
                    tracing::warn!("{shown}");
                    if let Ok(mut last) = self.last_failure.lock() {
                        *last = Some(shown);
                    }
                    if crate::clock::now_ms() - created_at > MAX_AGE_MS {
                        tracing::error!("notification to {} dropped after a day of failures", shown_url(url));
                        let _ = conn.execute("DELETE FROM notifications WHERE id = ?1", [id]);
                        continue;
                    }
                    let _ = conn.execute("UPDATE notifications SET last_error = ?2 WHERE id = ?1", params![id, error]);
                    break;
                }
            }
        }
    }
}

/// One POST with a short timeout: Ok for a 2xx answer.
fn post(url: &str, body: &str) -> Result<(), String> {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(TIMEOUT)).http_status_as_error(false).build().into();
    match agent.post(url).header("Content-Type", "application/json").send(body) {
        Ok(response) if response.status().is_success() => Ok(()),
        Ok(response) => Err(format!("HTTP {}", response.status().as_u16())),
        Err(err) => Err(err.to_string()),
    }
}

/// The session store with notifications: every event it records that a target is for is
/// queued before the write returns.
#[derive(Debug)]
pub struct Notifying {
    inner: Arc<dyn SessionStore>,
    targets: Vec<Target>,
    outbox: Arc<Outbox>,
}

impl Notifying {
    /// `store` with `targets` notified, queued in `opsbook_dir`; `store` as it is when there are
    /// no targets.
    pub fn wrap(
        store: Arc<dyn SessionStore>,
        targets: &[Target],
        opsbook_dir: &Path,
    ) -> Result<Arc<dyn SessionStore>, StoreError> {
        if targets.is_empty() {
            return Ok(store);
        }
        // A queue that cannot be opened (a damaged file) stops no run: notifications are off,
        // and said so.
        match Outbox::open(opsbook_dir) {
            Ok(outbox) => Ok(Arc::new(Notifying { inner: store, targets: targets.to_vec(), outbox })),
            Err(err) => {
                tracing::error!(
                    "notifications are off: {err}; remove {} to start a new queue",
                    opsbook_dir.join("notify.db").display()
                );
                Ok(store)
            }
        }
    }

    fn notify(&self, session_id: &str, event: &Event) {
        let started = match &event.kind {
            EventKind::RunFinished(ended) | EventKind::RunCancelled(ended) => {
                self.inner.run_events(&ended.run_id).ok().and_then(|events| {
                    events.into_iter().find_map(|e| match e.kind {
                        EventKind::RunStarted(run) => Some(*run),
                        _ => None,
                    })
                })
            }
            _ => None,
        };
        let Ok(session) = self.inner.session(session_id) else { return };
        let Some(notice) = notice_of(&session, event, started.as_ref()) else { return };
        for target in &self.targets {
            if !target.events.is_empty() && !target.events.iter().any(|e| e == notice.event) {
                continue;
            }
            if let Err(err) = self.outbox.queue(&target.url, &body(target, &notice)) {
                tracing::error!("a notification could not be queued: {err}");
            }
        }
    }
}

impl SessionStore for Notifying {
    fn create(&self, title: &str, severity: &str, actor: &Actor, at: i64) -> Result<Session, StoreError> {
        let session = self.inner.create(title, severity, actor, at)?;
        if let Ok(events) = self.inner.events(&session.id, 0) {
            if let Some(created) = events.first() {
                self.notify(&session.id, created);
            }
        }
        Ok(session)
    }
    fn sessions(&self) -> Result<Vec<Session>, StoreError> {
        self.inner.sessions()
    }
    fn session(&self, id: &str) -> Result<Session, StoreError> {
        self.inner.session(id)
    }
    fn append(&self, session_id: &str, actor: &Actor, at: i64, kind: EventKind) -> Result<Event, StoreError> {
        let event = self.inner.append(session_id, actor, at, kind)?;
        self.notify(session_id, &event);
        Ok(event)
    }
    fn events(&self, session_id: &str, after: u64) -> Result<Vec<Event>, StoreError> {
        self.inner.events(session_id, after)
    }
    fn vars(&self, session_id: &str) -> Result<BTreeMap<String, String>, StoreError> {
        self.inner.vars(session_id)
    }
    fn set_vars(&self, session_id: &str, vars: &BTreeMap<String, String>) -> Result<(), StoreError> {
        self.inner.set_vars(session_id, vars)
    }
    fn run_events(&self, run_id: &str) -> Result<Vec<Event>, StoreError> {
        self.inner.run_events(run_id)
    }
    fn open_runs(&self) -> Result<Vec<(String, RunStarted)>, StoreError> {
        self.inner.open_runs()
    }
    fn output(&self, run_id: &str, after: u64) -> Result<Vec<Chunk>, StoreError> {
        self.inner.output(run_id, after)
    }
    fn logs(&self) -> &RunLogs {
        self.inner.logs()
    }
    fn shares_output(&self) -> bool {
        self.inner.shares_output()
    }
    fn record_output(&self, session_id: &str, run_id: &str, chunks: Vec<Chunk>) {
        self.inner.record_output(session_id, run_id, chunks);
    }
    fn touch_presence(&self, session_id: &str, actor: &Actor) -> Result<(), StoreError> {
        self.inner.touch_presence(session_id, actor)
    }
    fn presence(&self, session_id: &str, within_ms: i64) -> Result<Vec<Presence>, StoreError> {
        self.inner.presence(session_id, within_ms)
    }
    fn recorder_seen(&self, host: &str, pid: u32) -> Result<Option<(Option<i64>, i64)>, StoreError> {
        self.inner.recorder_seen(host, pid)
    }
    fn changes(&self) -> tokio::sync::broadcast::Receiver<Change> {
        self.inner.changes()
    }
    fn health(&self) -> Health {
        let mut health = self.inner.health();
        let (queued, failure) = self.outbox.status();
        health.notifications_queued = queued;
        health.notifications_failing = failure;
        health
    }
}
