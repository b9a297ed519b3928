//! The default session store: one SQLite file (`<book>/.opsbook/opsbook.db`), WAL, every write
//! committed with `synchronous = FULL` before it returns, versioned migrations.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use tokio::sync::broadcast;

use super::schema::{EVENT_COLUMNS, MIGRATIONS, SESSION_COLUMNS};
use super::{Actor, Change, Event, EventKind, Health, Presence, RunStarted, Session, SessionStore, Status, StoreError};
use crate::record::{Chunk, RunLogs};

/// A session store in one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    /// The runs' logs, in the database's folder.
    logs: RunLogs,
    /// The one connection that writes.
    conn: Mutex<Connection>,
    /// Idle connections that only read: in WAL mode readers never wait for a writer, so a
    /// write that waits on another process's lock holds up no page, stream or export.
    readers: Mutex<Vec<Connection>>,
    changes: broadcast::Sender<Change>,
}

/// How long a write waits for another process's lock before it says the store is busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle read connections kept open.
const IDLE_READERS: usize = 4;

impl SqliteStore {
    /// Opens (creating it and its folder if needed) and migrates the store at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let fail = |message: String| StoreError::Backend { location: path.display().to_string(), message };
        // Private before SQLite opens it: a new file 0600 (SQLite gives its `-wal` and `-shm`
        // the same mode), in a 0700 folder; in `.opsbook/`, looser existing files are tightened.
        crate::private::prepare_database(path).map_err(|e| fail(format!("cannot create it privately: {e}")))?;
        let mut conn = Connection::open(path).map_err(|e| fail(e.to_string()))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| fail(e.to_string()))?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| fail(e.to_string()))?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(|e| fail(e.to_string()))?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(|e| fail(e.to_string()))?;
        migrate(&mut conn).map_err(|e| fail(format!("cannot migrate the schema: {e}")))?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            logs: RunLogs::new(path.parent().unwrap_or(Path::new("."))),
            conn: Mutex::new(conn),
            readers: Mutex::new(Vec::new()),
            changes: broadcast::channel(256).0,
        })
    }

    /// The store of a book: `<book root>/.opsbook/opsbook.db`.
    pub fn for_book(root: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open(&root.join(".opsbook").join("opsbook.db"))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, err: impl std::fmt::Display) -> StoreError {
        StoreError::Backend { location: self.path.display().to_string(), message: err.to_string() }
    }

    fn db_err(&self, err: rusqlite::Error) -> StoreError {
        match err.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                tracing::warn!(
                    "session store {}: locked by another process; the write was refused",
                    self.path.display()
                );
                StoreError::Busy { location: self.path.display().to_string() }
            }
            _ => self.err(err),
        }
    }

    /// Runs a write on the writing connection. Waiting for it (behind other writes of this
    /// process) and for the file's lock (held by another process) share one deadline, so no
    /// write waits longer than [`BUSY_TIMEOUT`] before it says the store is busy.
    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
        let mut conn = loop {
            match self.conn.try_lock() {
                Ok(conn) => break conn,
                Err(std::sync::TryLockError::Poisoned(_)) => return Err(self.err("a writer panicked")),
                Err(std::sync::TryLockError::WouldBlock) if std::time::Instant::now() >= deadline => {
                    return Err(StoreError::Busy { location: self.path.display().to_string() });
                }
                Err(std::sync::TryLockError::WouldBlock) => std::thread::sleep(Duration::from_millis(2)),
            }
        };
        let left = deadline.saturating_duration_since(std::time::Instant::now()).max(Duration::from_millis(1));
        conn.busy_timeout(left).map_err(|e| self.db_err(e))?;
        f(&mut conn).map_err(|e| self.db_err(e))
    }

    /// Runs a read on a reading connection of its own.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let idle = self.readers.lock().ok().and_then(|mut readers| readers.pop());
        let conn = match idle {
            Some(conn) => conn,
            None => {
                let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let conn = Connection::open_with_flags(&self.path, flags).map_err(|e| self.db_err(e))?;
                conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| self.db_err(e))?;
                conn
            }
        };
        let result = f(&conn).map_err(|e| self.db_err(e));
        if let Ok(mut readers) = self.readers.lock()
            && readers.len() < IDLE_READERS
        {
            readers.push(conn);
        }
        result
    }
}

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
    }
    tx.commit()
}

fn session_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Session> {
    let status: String = row.get(3)?;
    Ok(Session {
        id: row.get(0)?,
        title: row.get(1)?,
        severity: row.get(2)?,
        status: Status::parse(&status).unwrap_or(Status::Investigating),
        started_at: row.get(4)?,
        ended_at: row.get(5)?,
    })
}

fn event_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Event> {
    let data: String = row.get(7)?;
    let kind: EventKind = serde_json::from_str(&data)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(7, rusqlite::types::Type::Text, Box::new(e)))?;
    Ok(Event {
        id: row.get(0)?,
        session_id: row.get(1)?,
        seq: row.get::<_, i64>(2)? as u64,
        at: row.get(3)?,
        actor: Actor { user: row.get(4)?, host: row.get(5)?, source: row.get(6)? },
        kind,
    })
}

/// The end already recorded for a run (finished, cancelled or interrupted), if any: a run ends
/// once, whoever notices first.
fn recorded_end(tx: &rusqlite::Transaction<'_>, run_id: &str) -> rusqlite::Result<Option<Event>> {
    tx.query_row(
        &format!("SELECT {EVENT_COLUMNS} FROM events WHERE run_id = ?1 AND kind != 'run-started' ORDER BY seq LIMIT 1"),
        [run_id],
        event_row,
    )
    .optional()
}

/// Writes what an event did to its session.
fn update_session(tx: &rusqlite::Transaction<'_>, session: &Session) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE sessions SET severity = ?2, status = ?3, ended_at = ?4, title = ?5 WHERE id = ?1",
        params![session.id, session.severity, session.status.as_str(), session.ended_at, session.title],
    )
    .map(drop)
}

/// Numbers an event (the session's next) and writes it.
fn insert_event(tx: &rusqlite::Transaction<'_>, event: Event) -> rusqlite::Result<Event> {
    let seq: i64 =
        tx.query_row("SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE session_id = ?1", [&event.session_id], |r| {
            r.get(0)
        })?;
    let event = Event { seq: seq as u64, ..event };
    let data = serde_json::to_string(&event.kind).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    tx.execute(
        "INSERT INTO events (id, session_id, seq, at, kind, actor, host, source, run_id, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            event.id,
            event.session_id,
            seq,
            event.at,
            event.kind.name(),
            event.actor.user,
            event.actor.host,
            event.actor.source,
            event.kind.run_id(),
            data
        ],
    )?;
    Ok(event)
}

impl SessionStore for SqliteStore {
    fn create(&self, title: &str, severity: &str, actor: &Actor, at: i64) -> Result<Session, StoreError> {
        let session = Session::open(title, severity, at);
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                &format!("INSERT INTO sessions ({SESSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, NULL)"),
                params![session.id, session.title, session.severity, session.status.as_str(), at],
            )?;
            let kind = EventKind::Created { title: session.title.clone(), severity: severity.to_owned() };
            insert_event(&tx, Event::unnumbered(&session.id, actor, at, kind))?;
            tx.commit()
        })?;
        let _ = self.changes.send(Change::Session(session.id.clone()));
        Ok(session)
    }

    fn sessions(&self) -> Result<Vec<Session>, StoreError> {
        self.read(|conn| {
            let mut statement =
                conn.prepare(&format!("SELECT {SESSION_COLUMNS} FROM sessions ORDER BY started_at DESC, id"))?;
            statement.query_map([], session_row)?.collect()
        })
    }

    fn session(&self, id: &str) -> Result<Session, StoreError> {
        let found = self.read(|conn| {
            conn.query_row(&format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1"), [id], session_row)
                .optional()
        })?;
        found.ok_or_else(|| StoreError::NoSuchSession(id.to_owned()))
    }

    fn append(&self, session_id: &str, actor: &Actor, at: i64, kind: EventKind) -> Result<Event, StoreError> {
        let event = self.with(|conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let found = tx
                .query_row(&format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1"), [session_id], session_row)
                .optional()?;
            let Some(mut session) = found else { return Ok(None) };
            if let Some(run_id) = kind.ended_run()
                && let Some(end) = recorded_end(&tx, run_id)?
            {
                return Ok(Some(end));
            }
            let event = Event::unnumbered(session_id, actor, at, kind);
            if session.apply(&event) {
                update_session(&tx, &session)?;
            }
            let event = insert_event(&tx, event)?;
            tx.commit()?;
            Ok(Some(event))
        })?;
        let event = event.ok_or_else(|| StoreError::NoSuchSession(session_id.to_owned()))?;
        let _ = self.changes.send(Change::Session(session_id.to_owned()));
        Ok(event)
    }

    fn events(&self, session_id: &str, after: u64) -> Result<Vec<Event>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare(&format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE session_id = ?1 AND seq > ?2 ORDER BY seq"
            ))?;
            statement.query_map(params![session_id, after as i64], event_row)?.collect()
        })
    }

    fn vars(&self, session_id: &str) -> Result<BTreeMap<String, String>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare("SELECT name, value FROM session_vars WHERE session_id = ?1")?;
            statement.query_map([session_id], |row| Ok((row.get(0)?, row.get(1)?)))?.collect()
        })
    }

    fn set_vars(&self, session_id: &str, vars: &BTreeMap<String, String>) -> Result<(), StoreError> {
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            for (name, value) in vars {
                tx.execute(
                    "INSERT INTO session_vars (session_id, name, value) VALUES (?1, ?2, ?3)
                     ON CONFLICT (session_id, name) DO UPDATE SET value = excluded.value",
                    params![session_id, name, value],
                )?;
            }
            tx.commit()
        })
    }

    fn run_events(&self, run_id: &str) -> Result<Vec<Event>, StoreError> {
        self.read(|conn| {
            let mut statement =
                conn.prepare(&format!("SELECT {EVENT_COLUMNS} FROM events WHERE run_id = ?1 ORDER BY seq"))?;
            statement.query_map([run_id], event_row)?.collect()
        })
    }

    fn open_runs(&self) -> Result<Vec<(String, RunStarted)>, StoreError> {
        let events = self.read(|conn| {
            let mut statement = conn.prepare(
                "SELECT started.id, session_id, seq, at, actor, host, source, data FROM events AS started
                 WHERE kind = 'run-started' AND NOT EXISTS (
                     SELECT 1 FROM events AS ended WHERE ended.run_id = started.run_id AND ended.kind != 'run-started'
                 )
                 ORDER BY at",
            )?;
            statement.query_map([], event_row)?.collect::<rusqlite::Result<Vec<Event>>>()
        })?;
        Ok(super::started_runs(events))
    }

    fn output(&self, run_id: &str, after: u64) -> Result<Vec<Chunk>, StoreError> {
        // Output stays in each run's log file, in the folder of the database.
        let started = self.run_events(run_id)?.into_iter().find_map(|event| match event.kind {
            EventKind::RunStarted(started) => Some(started),
            _ => None,
        });
        Ok(started.map(|started| self.logs.read(&started.log, after.saturating_add(1))).unwrap_or_default())
    }

    fn logs(&self) -> &RunLogs {
        &self.logs
    }

    fn touch_presence(&self, session_id: &str, actor: &Actor) -> Result<(), StoreError> {
        // Nothing is recorded for a session that does not exist.
        self.with(|conn| {
            conn.execute(
                "INSERT INTO presence (session_id, actor, host, seen_at)
                 SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM sessions WHERE id = ?1)
                 ON CONFLICT (session_id, actor, host) DO UPDATE SET seen_at = excluded.seen_at",
                params![session_id, actor.user, actor.host, crate::clock::now_ms()],
            )
        })
        .map(drop)
    }

    fn presence(&self, session_id: &str, within_ms: i64) -> Result<Vec<Presence>, StoreError> {
        let since = crate::clock::now_ms() - within_ms;
        self.read(|conn| {
            let mut statement = conn.prepare(
                "SELECT actor, host, seen_at FROM presence WHERE session_id = ?1 AND seen_at >= ?2
                 ORDER BY actor, host",
            )?;
            statement
                .query_map(params![session_id, since], |row| {
                    Ok(Presence { user: row.get(0)?, host: row.get(1)?, seen_at: row.get(2)? })
                })?
                .collect()
        })
    }

    fn changes(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    fn health(&self) -> Health {
        Health { kind: "sqlite", location: self.path.display().to_string(), online: true, ..Health::default() }
    }
}
