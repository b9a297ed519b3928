//! The shared session store: PostgreSQL, for a team on one incident. Every process that opens
//! it (each responder's `opsbook serve` or `opsbook run`) writes its events and its runs' output
//! here and hears the others' through LISTEN/NOTIFY.
//!
//! The `SessionStore` trait is synchronous; this store runs tokio-postgres on a runtime of its
//! own (two threads) and callers wait on a channel, so it can be called from any thread,
//! including the server's. All writes go through one writer task, in order:
//!
//! - online, a write is committed to the database before it is acknowledged;
//! - when the database cannot be reached, writes go to the local queue (`outbox`), committed to
//!   local disk before they are acknowledged, and everything after them follows them there
//!   until the queue has been written out, in order, once the database is back. Event ids make
//!   a write that is repeated (it reached the database but its answer did not) harmless.
//!
//! While offline or catching up, reads are answered from what this process last read and
//! wrote (`Cache`): the console keeps working and says it is offline.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};
use tokio_postgres::{AsyncMessage, NoTls, Row};

use super::outbox::Outbox;
use super::schema::{EVENT_COLUMNS, MIGRATIONS, SESSION_COLUMNS};
use super::{Actor, Change, Event, EventKind, Health, Presence, RunStarted, Session, SessionStore, Status, StoreError};
use crate::record::{Chunk, RunLogs, Stream};

/// How often a process tells the store it is alive (see `session::RECORDER_STALE_MS`).
pub const HEARTBEAT: Duration = Duration::from_secs(3);
/// How often the writer tries the database again while writes are queued.
const RETRY: Duration = Duration::from_millis(500);
/// The LISTEN/NOTIFY channel.
const CHANNEL: &str = "opsbook";
/// How long one read or write may take before the database counts as unreachable (a network
/// that drops packets, rather than refusing, would otherwise hang the console). A write that
/// did land is harmless to repeat.
const DEADLINE: Duration = Duration::from_secs(5);
/// Output chunks read at once.
const OUTPUT_PAGE: i64 = 1000;
/// The store's clock, in milliseconds since the Unix epoch: presence and heartbeats are timed
/// by the database, so machines with skewed clocks agree.
const DB_NOW_MS: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT";

/// A session store in a PostgreSQL database.
pub struct PgStore {
    shared: Arc<Shared>,
    pool: Pool,
    writes: mpsc::UnboundedSender<Job>,
    /// Taken on drop, to shut down without waiting.
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
    /// For the LISTEN connection, opened by the first `changes()` (one-shot commands that
    /// never follow changes do not open it).
    config: tokio_postgres::Config,
    listening: std::sync::OnceLock<()>,
    /// This machine's copies of the logs of the runs it records (the output is in the database).
    logs: RunLogs,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("location", &self.shared.location).finish_non_exhaustive()
    }
}

/// What the store's tasks and its callers share.
#[derive(Debug)]
struct Shared {
    /// The URL, password masked: for messages, and the key of this database's queued writes.
    location: String,
    /// Whether the database answered the last time it was asked.
    reachable: AtomicBool,
    /// Writes waiting in the local queue.
    queued: AtomicUsize,
    cache: Mutex<Cache>,
    changes: broadcast::Sender<Change>,
}

impl Shared {
    fn set_reachable(&self, reachable: bool) {
        if self.reachable.swap(reachable, Ordering::SeqCst) != reachable {
            if reachable {
                tracing::info!("session store {}: reachable again", self.location);
            } else {
                tracing::warn!("session store {}: unreachable; writes are queued on this machine", self.location);
            }
            let _ = self.changes.send(Change::Health);
        }
    }

    fn err(&self, message: impl Into<String>) -> StoreError {
        StoreError::Backend { location: self.location.clone(), message: message.into() }
    }

    fn offline_unknown(&self, session_id: &str) -> StoreError {
        self.err(format!(
            "the database cannot be reached and session `{session_id}` was not seen by this process before"
        ))
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        // The cache holds no invariant a panicking writer could break halfway.
        self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Why a database call failed: the database could not be reached (queue and retry), or it
/// refused (report).
#[derive(Debug)]
enum Fail {
    Offline(String),
    Refused(StoreError),
}

impl From<tokio_postgres::Error> for Fail {
    fn from(err: tokio_postgres::Error) -> Fail {
        match err.as_db_error() {
            // Connection exceptions (08) and operator intervention (57: shutdown, restart).
            Some(db) if !matches!(&db.code().code()[..2], "08" | "57") => Fail::refused(db.message()),
            _ => Fail::Offline(err.to_string()),
        }
    }
}

impl From<deadpool_postgres::PoolError> for Fail {
    fn from(err: deadpool_postgres::PoolError) -> Fail {
        match err {
            deadpool_postgres::PoolError::Backend(err) => err.into(),
            other => Fail::Offline(other.to_string()),
        }
    }
}

impl Fail {
    /// The database (or what came back from it) refused: `message` says why.
    fn refused(message: impl Into<String>) -> Fail {
        Fail::Refused(StoreError::Backend { location: String::new(), message: message.into() })
    }

    fn into_store_error(self, shared: &Shared) -> StoreError {
        match self {
            Fail::Offline(message) => shared.err(format!("cannot reach the database: {message}")),
            Fail::Refused(StoreError::Backend { message, .. }) => shared.err(message),
            Fail::Refused(other) => other,
        }
    }
}

/// One write, as queued on local disk while the database is away.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "write", rename_all = "kebab-case")]
enum Write {
    Create {
        session: Session,
        event: Event,
    },
    Append {
        event: Event,
    },
    Vars {
        session_id: String,
        vars: BTreeMap<String, String>,
    },
    Output {
        session_id: String,
        run_id: String,
        chunks: Vec<Chunk>,
    },
    /// Not queued: who is here now means nothing later.
    Presence {
        session_id: String,
        actor: Actor,
    },
    /// Not queued either.
    Heartbeat {
        host: String,
        pid: u32,
    },
}

type Reply = std::sync::mpsc::SyncSender<Result<Option<Event>, StoreError>>;

struct Job {
    write: Write,
    reply: Option<Reply>,
}

/// What this process last read and wrote, to answer reads while the database is away.
#[derive(Debug, Default)]
struct Cache {
    sessions: HashMap<String, Cached>,
}

#[derive(Debug)]
struct Cached {
    session: Session,
    events: Vec<Event>,
    vars: BTreeMap<String, String>,
}

impl Cache {
    fn put_session(&mut self, session: &Session) {
        self.sessions
            .entry(session.id.clone())
            .and_modify(|cached| cached.session = session.clone())
            .or_insert_with(|| Cached { session: session.clone(), events: Vec::new(), vars: BTreeMap::new() });
    }

    fn put_events(&mut self, session_id: &str, after: u64, events: &[Event]) {
        if let Some(cached) = self.sessions.get_mut(session_id) {
            if after == 0 {
                cached.events = events.to_vec();
            } else {
                for event in events {
                    if !cached.events.iter().any(|e| e.id == event.id) {
                        cached.events.push(event.clone());
                    }
                }
            }
        }
    }

    /// Applies an event to its session, as the database does; `seq` 0 gets the next number.
    fn apply(&mut self, event: &Event) -> Option<Event> {
        let cached = self.sessions.get_mut(&event.session_id)?;
        if let Some(known) = cached.events.iter().find(|e| e.id == event.id) {
            return Some(known.clone());
        }
        if let Some(run_id) = event.kind.ended_run()
            && let Some(end) = super::first_end(&cached.events, run_id)
        {
            return Some(end.clone());
        }
        cached.session.apply(event);
        let mut event = event.clone();
        if event.seq == 0 {
            event.seq = cached.events.iter().map(|e| e.seq).max().unwrap_or(0) + 1;
        }
        cached.events.push(event.clone());
        Some(event)
    }

    /// Keeps a write: `written` is its event as the database numbered it; without one (queued),
    /// the write's own event gets the next number here. Returns the event as kept.
    fn record(&mut self, write: &Write, written: Option<&Event>) -> Option<Event> {
        match write {
            Write::Create { session, event } => {
                self.put_session(session);
                self.apply(written.unwrap_or(event))
            }
            Write::Append { event } => self.apply(written.unwrap_or(event)),
            Write::Vars { session_id, vars } => {
                if let Some(cached) = self.sessions.get_mut(session_id) {
                    cached.vars.extend(vars.clone());
                }
                None
            }
            Write::Output { .. } | Write::Presence { .. } | Write::Heartbeat { .. } => None,
        }
    }

    fn all_events(&self) -> impl Iterator<Item = &Event> {
        self.sessions.values().flat_map(|cached| cached.events.iter())
    }
}

/// The URL with its password masked (`postgres://ops:***@db/incidents`), for messages.
pub fn mask_url(url: &str) -> String {
    let mut masked = match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find(['/', '?']).unwrap_or(rest.len());
            let (authority, tail) = rest.split_at(end);
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => match userinfo.split_once(':') {
                    Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
                    None => url.to_owned(),
                },
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    };
    // `?password=…` and `password=…` in key-value form.
    let mut from = 0;
    while let Some(found) = masked[from..].find("password=") {
        let start = from + found + "password=".len();
        let end = masked[start..].find(['&', ' ']).map_or(masked.len(), |e| start + e);
        masked.replace_range(start..end, "***");
        from = start + 3;
    }
    masked
}

impl PgStore {
    /// Connects to the database at `url` (a clear error if it cannot), applies the schema's
    /// migrations, and starts the writer (queueing to `outbox_path` while the database is
    /// away; without one, writes fail while it is away) and the listener. Writes queued by an
    /// earlier process are written first.
    pub fn open(url: &str, outbox_path: Option<&Path>, logs: RunLogs) -> Result<PgStore, StoreError> {
        let location = mask_url(url);
        let fail = |message: String| StoreError::Backend { location: location.clone(), message };
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| {
            fail(format!("not a valid PostgreSQL URL ({e}); use postgres://USER:PASSWORD@HOST:PORT/DATABASE"))
        })?;
        if config.get_ssl_mode() == tokio_postgres::config::SslMode::Require {
            return Err(fail(
                "sslmode=require: opsbook does not speak TLS to PostgreSQL yet; reach the database over a \
                 trusted network or a tunnel (ssh -L 5432:DBHOST:5432 …) and drop sslmode from the URL"
                    .to_owned(),
            ));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        config.application_name("opsbook");
        // Notice a database that went silent (not only one that refused) within seconds.
        config.keepalives_idle(Duration::from_secs(10));
        config.keepalives_interval(Duration::from_secs(5));
        config.keepalives_retries(3);
        config.tcp_user_timeout(Duration::from_secs(15));
        // A URL without a password (as kept in book.toml) takes it from the environment.
        if config.get_password().is_none()
            && let Some(password) = crate::config::Environment::read().pg_password
        {
            config.password(password);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("opsbook-store")
            .enable_all()
            .build()
            .map_err(|e| fail(format!("cannot start the store's threads: {e}")))?;
        let handle = runtime.handle().clone();
        let manager =
            Manager::from_config(config.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = {
            let _entered = runtime.enter();
            Pool::builder(manager)
                .max_size(4)
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .wait_timeout(Some(Duration::from_secs(10)))
                .create_timeout(Some(Duration::from_secs(5)))
                .recycle_timeout(Some(Duration::from_secs(5)))
                .build()
                .map_err(|e| fail(e.to_string()))?
        };
        let (changes, _) = broadcast::channel(1024);
        let shared = Arc::new(Shared {
            location: location.clone(),
            reachable: AtomicBool::new(true),
            queued: AtomicUsize::new(0),
            cache: Mutex::new(Cache::default()),
            changes,
        });
        let migrated = {
            let pool = pool.clone();
            wait(&handle, async move { migrate(&pool).await })
                .unwrap_or_else(|| Err(Fail::Offline("the store's threads have stopped".to_owned())))
        };
        if let Err(err) = migrated {
            return Err(match err {
                Fail::Offline(message) => fail(format!(
                    "cannot reach the database: {message}. Check the URL (--store, OPSBOOK_STORE or `store` in \
                     book.toml's [opsbook]) and that PostgreSQL is running and accepts this user"
                )),
                Fail::Refused(err) => {
                    fail(format!("cannot apply the schema: {}", Fail::Refused(err).into_store_error(&shared)))
                }
            });
        }
        let outbox = outbox_path.map(Outbox::open).transpose()?;
        // Forget processes and consoles not seen for a day (each command leaves a heartbeat).
        let pool_for_tidy = pool.clone();
        handle.spawn(async move {
            if let Ok(client) = pool_for_tidy.get().await {
                let day = 86_400_000_i64;
                let _ =
                    client.execute(&format!("DELETE FROM recorders WHERE seen_at < {DB_NOW_MS} - $1"), &[&day]).await;
                let _ =
                    client.execute(&format!("DELETE FROM presence WHERE seen_at < {DB_NOW_MS} - $1"), &[&day]).await;
            }
        });
        let (writes, jobs) = mpsc::unbounded_channel();
        handle.spawn(writer(shared.clone(), pool.clone(), outbox, jobs));
        let heartbeat = writes.clone();
        handle.spawn(async move {
            let write = Write::Heartbeat { host: crate::record::host(), pid: std::process::id() };
            loop {
                if heartbeat.send(Job { write: write.clone(), reply: None }).is_err() {
                    break;
                }
                tokio::time::sleep(HEARTBEAT).await;
            }
        });
        Ok(PgStore {
            shared,
            pool,
            writes,
            runtime: Some(runtime),
            handle,
            config,
            listening: std::sync::OnceLock::new(),
            logs,
        })
    }

    /// Runs `future` on the store's runtime and waits for it, from any thread.
    fn block<T: Send + 'static>(&self, future: impl Future<Output = T> + Send + 'static) -> Result<T, StoreError> {
        wait(&self.handle, future).ok_or_else(|| self.shared.err("the store's threads have stopped"))
    }

    /// Sends a write to the writer and waits for it to be committed (to the database, or to
    /// the local queue while the database is away).
    fn write(&self, write: Write) -> Result<Option<Event>, StoreError> {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        self.writes
            .send(Job { write, reply: Some(reply) })
            .map_err(|_| self.shared.err("the store's writer has stopped"))?;
        answer.recv().map_err(|_| self.shared.err("the store's writer has stopped"))?
    }

    /// A read: from the database when it is reachable and nothing is queued, else from what
    /// this process last saw.
    fn read<T, Fut>(
        &self,
        online: impl FnOnce(Pool) -> Fut,
        offline: impl FnOnce(&Cache) -> Result<T, StoreError>,
    ) -> Result<T, StoreError>
    where
        T: Send + 'static,
        Fut: Future<Output = Result<T, Fail>> + Send + 'static,
    {
        if self.shared.queued.load(Ordering::SeqCst) == 0 {
            match self.block(within_deadline(online(self.pool.clone())))? {
                Ok(value) => {
                    self.shared.set_reachable(true);
                    return Ok(value);
                }
                Err(Fail::Refused(err)) => return Err(Fail::Refused(err).into_store_error(&self.shared)),
                Err(Fail::Offline(_)) => self.shared.set_reachable(false),
            }
        }
        offline(&self.shared.cache())
    }

    /// Copies a whole session (from another store) into this one, keeping its event ids and
    /// order, its remembered values and its runs' output. Returns false when the session is
    /// already here with the same events; a session here with other events is an error.
    pub fn import(
        &self,
        session: &Session,
        events: &[Event],
        vars: &BTreeMap<String, String>,
        outputs: Vec<(String, Vec<Chunk>)>,
    ) -> Result<bool, StoreError> {
        let (session, events, vars) = (session.clone(), events.to_vec(), vars.clone());
        let pool = self.pool.clone();
        let result = self.block(async move {
            let mut client = pool.get().await?;
            let tx = client.transaction().await?;
            tx.execute(&tx.prepare_cached("SELECT pg_advisory_xact_lock(hashtext($1))").await?, &[&session.id]).await?;
            let there: i64 = tx
                .query_one(
                    &tx.prepare_cached("SELECT COUNT(*) FROM events WHERE session_id = $1").await?,
                    &[&session.id],
                )
                .await?
                .get(0);
            if there > 0 {
                let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
                let same: i64 = tx
                    .query_one(
                        "SELECT COUNT(*) FROM events WHERE session_id = $1 AND id = ANY($2)",
                        &[&session.id, &ids],
                    )
                    .await?
                    .get(0);
                if same == there && same as usize == events.len() {
                    return Ok(false);
                }
                return Err(Fail::refused(format!(
                    "session `{}` is already in the target with other events; it was not merged",
                    session.id
                )));
            }
            tx.execute(
                &tx.prepare_cached(&format!(
                    "INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
                ))
                .await?,
                &[
                    &session.id,
                    &session.title,
                    &session.severity,
                    &session.status.as_str(),
                    &session.started_at,
                    &session.ended_at,
                ],
            )
            .await?;
            for event in &events {
                insert_event_row(&tx, event).await?;
            }
            upsert_vars(&tx, &session.id, &vars).await?;
            for (run_id, chunks) in &outputs {
                insert_chunks(&tx, &session.id, run_id, chunks).await?;
            }
            tx.commit().await?;
            Ok(true)
        })?;
        result.map_err(|e| e.into_store_error(&self.shared))
    }
}

/// Runs `future` on `handle`'s runtime and waits for its result on this thread (which may
/// belong to another runtime: it only blocks on a channel). `None` if the runtime is gone.
fn wait<T: Send + 'static>(
    handle: &tokio::runtime::Handle,
    future: impl Future<Output = T> + Send + 'static,
) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    handle.spawn(async move {
        let _ = tx.send(future.await);
    });
    rx.recv().ok()
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Every acknowledged write is already committed; nothing is left to wait for.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Applies the migrations not yet applied, one process at a time.
async fn migrate(pool: &Pool) -> Result<(), Fail> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute(&tx.prepare_cached("SELECT pg_advisory_xact_lock(7204101)").await?, &[]).await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS opsbook_schema (version INTEGER NOT NULL)").await?;
    let version: i32 = match tx.query_opt(&tx.prepare_cached("SELECT version FROM opsbook_schema").await?, &[]).await? {
        Some(row) => row.get(0),
        None => {
            tx.execute(&tx.prepare_cached("INSERT INTO opsbook_schema (version) VALUES (0)").await?, &[]).await?;
            0
        }
    };
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        tx.batch_execute(sql).await?;
        tx.execute(&tx.prepare_cached("UPDATE opsbook_schema SET version = $1").await?, &[&(index as i32 + 1)]).await?;
    }
    tx.commit().await?;
    Ok(())
}

fn session_from_row(row: &Row) -> Session {
    let status: String = row.get(3);
    Session {
        id: row.get(0),
        title: row.get(1),
        severity: row.get(2),
        status: Status::parse(&status).unwrap_or(Status::Investigating),
        started_at: row.get(4),
        ended_at: row.get(5),
    }
}

fn event_from_row(row: &Row) -> Result<Event, Fail> {
    let data: String = row.get(7);
    let kind: EventKind =
        serde_json::from_str(&data).map_err(|e| Fail::refused(format!("an event cannot be read: {e}")))?;
    Ok(Event {
        id: row.get(0),
        session_id: row.get(1),
        seq: row.get::<_, i64>(2) as u64,
        at: row.get(3),
        actor: Actor { user: row.get(4), host: row.get(5), source: row.get(6) },
        kind,
    })
}

fn events_from_rows(rows: &[Row]) -> Result<Vec<Event>, Fail> {
    rows.iter().map(event_from_row).collect()
}

async fn notify(tx: &deadpool_postgres::Transaction<'_>, payload: serde_json::Value) -> Result<(), Fail> {
    tx.execute(&tx.prepare_cached("SELECT pg_notify($1, $2)").await?, &[&CHANNEL, &payload.to_string()]).await?;
    Ok(())
}

async fn insert_event_row(tx: &deadpool_postgres::Transaction<'_>, event: &Event) -> Result<(), Fail> {
    let data = serde_json::to_string(&event.kind).map_err(|e| Fail::refused(e.to_string()))?;
    tx.execute(
        &tx.prepare_cached(
            "INSERT INTO events (id, session_id, seq, at, kind, actor, host, source, run_id, data)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .await?,
        &[
            &event.id,
            &event.session_id,
            &(event.seq as i64),
            &event.at,
            &event.kind.name(),
            &event.actor.user,
            &event.actor.host,
            &event.actor.source,
            &event.kind.run_id(),
            &data,
        ],
    )
    .await?;
    Ok(())
}

/// Appends an event: the session's row is locked so that processes number their events one
/// after the other. An event already there (same id) or a second end of one run is not written
/// again; the one there is returned.
async fn append_event(tx: &deadpool_postgres::Transaction<'_>, event: &Event) -> Result<Event, Fail> {
    let lock = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1 FOR UPDATE");
    let Some(locked) = tx.query_opt(&tx.prepare_cached(&lock).await?, &[&event.session_id]).await? else {
        return Err(Fail::Refused(StoreError::NoSuchSession(event.session_id.clone())));
    };
    let mut session = session_from_row(&locked);
    let select = format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = $1");
    if let Some(row) = tx.query_opt(&tx.prepare_cached(&select).await?, &[&event.id]).await? {
        return event_from_row(&row);
    }
    if let Some(run_id) = event.kind.ended_run() {
        let select = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE run_id = $1 AND kind != 'run-started' ORDER BY seq LIMIT 1"
        );
        if let Some(row) = tx.query_opt(&tx.prepare_cached(&select).await?, &[&run_id]).await? {
            return event_from_row(&row);
        }
    }
    if session.apply(event) {
        tx.execute(
            &tx.prepare_cached(
                "UPDATE sessions SET severity = $2, status = $3, ended_at = $4, title = $5 WHERE id = $1",
            )
            .await?,
            &[&session.id, &session.severity, &session.status.as_str(), &session.ended_at, &session.title],
        )
        .await?;
    }
    let seq: i64 = tx
        .query_one("SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE session_id = $1", &[&event.session_id])
        .await?
        .get(0);
    let event = Event { seq: seq as u64, ..event.clone() };
    insert_event_row(tx, &event).await?;
    notify(tx, serde_json::json!({ "session": event.session_id, "seq": seq })).await?;
    Ok(event)
}

async fn upsert_vars(
    tx: &deadpool_postgres::Transaction<'_>,
    session_id: &str,
    vars: &BTreeMap<String, String>,
) -> Result<(), Fail> {
    for (name, value) in vars {
        tx.execute(
            &tx.prepare_cached(
                "INSERT INTO session_vars (session_id, name, value) VALUES ($1, $2, $3)
             ON CONFLICT (session_id, name) DO UPDATE SET value = excluded.value",
            )
            .await?,
            &[&session_id, name, value],
        )
        .await?;
    }
    Ok(())
}

fn stream_name(stream: Stream) -> &'static str {
    match stream {
        Stream::Stdout => "stdout",
        Stream::Stderr => "stderr",
        Stream::Opsbook => "opsbook",
    }
}

fn stream_from_name(name: &str) -> Stream {
    match name {
        "stderr" => Stream::Stderr,
        "opsbook" => Stream::Opsbook,
        _ => Stream::Stdout,
    }
}

async fn insert_chunks(
    tx: &deadpool_postgres::Transaction<'_>,
    session_id: &str,
    run_id: &str,
    chunks: &[Chunk],
) -> Result<(), Fail> {
    let seqs: Vec<i64> = chunks.iter().map(|c| c.seq as i64).collect();
    let ats: Vec<i64> = chunks.iter().map(|c| c.at).collect();
    let streams: Vec<&str> = chunks.iter().map(|c| stream_name(c.stream)).collect();
    // PostgreSQL text cannot hold NUL.
    let texts: Vec<String> = chunks.iter().map(|c| c.text.replace('\0', "\u{fffd}")).collect();
    tx.execute(
        &tx.prepare_cached(
            "INSERT INTO chunks (run_id, seq, session_id, at, stream, text)
         SELECT $1, s, $2, a, st, t FROM UNNEST($3::BIGINT[], $4::BIGINT[], $5::TEXT[], $6::TEXT[]) AS u(s, a, st, t)
         ON CONFLICT (run_id, seq) DO NOTHING",
        )
        .await?,
        &[&run_id, &session_id, &seqs, &ats, &streams, &texts],
    )
    .await?;
    Ok(())
}

/// `future`, or `Offline` when it takes longer than [`DEADLINE`].
async fn within_deadline<T>(future: impl Future<Output = Result<T, Fail>>) -> Result<T, Fail> {
    tokio::time::timeout(DEADLINE, future)
        .await
        .unwrap_or_else(|_| Err(Fail::Offline(format!("no answer within {} s", DEADLINE.as_secs()))))
}

/// Writes one write to the database, in one transaction.
async fn write_to_database(pool: &Pool, write: &Write) -> Result<Option<Event>, Fail> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let written = match write {
        Write::Create { session, event } => {
            tx.execute(&tx.prepare_cached(&format!(
                    "INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, NULL) ON CONFLICT (id) DO NOTHING"
                )).await?, &[&session.id, &session.title, &session.severity, &session.status.as_str(), &session.started_at],
            )
            .await?;
            Some(append_event(&tx, event).await?)
        }
        Write::Append { event } => Some(append_event(&tx, event).await?),
        Write::Vars { session_id, vars } => {
            upsert_vars(&tx, session_id, vars).await?;
            None
        }
        Write::Output { session_id, run_id, chunks } => {
            insert_chunks(&tx, session_id, run_id, chunks).await?;
            let last = chunks.last().map_or(0, |c| c.seq);
            notify(&tx, serde_json::json!({ "session": session_id, "run": run_id, "chunk": last })).await?;
            None
        }
        Write::Presence { session_id, actor } => {
            // The time seen before (none for someone new) and now, by the database's clock.
            let sql = format!(
                "INSERT INTO presence (session_id, actor, host, seen_at)
                 SELECT $1, $2, $3, {DB_NOW_MS} WHERE EXISTS (SELECT 1 FROM sessions WHERE id = $1)
                 ON CONFLICT (session_id, actor, host) DO UPDATE SET seen_at = excluded.seen_at
                 RETURNING (SELECT seen_at FROM presence WHERE session_id = $1 AND actor = $2 AND host = $3),
                           {DB_NOW_MS}"
            );
            let seen = tx.query_opt(&tx.prepare_cached(&sql).await?, &[session_id, &actor.user, &actor.host]).await?;
            let arrived = seen.is_some_and(|row| {
                let (before, now): (Option<i64>, i64) = (row.get(0), row.get(1));
                before.is_none_or(|before| now - before > super::PRESENCE_GONE_MS)
            });
            // Tell the others when someone arrives, or comes back after a while.
            if arrived {
                notify(&tx, serde_json::json!({ "session": session_id, "presence": true })).await?;
            }
            None
        }
        Write::Heartbeat { host, pid } => {
            tx.execute(
                &tx.prepare_cached(&format!(
                    "INSERT INTO recorders (host, pid, seen_at) VALUES ($1, $2, {DB_NOW_MS})
                     ON CONFLICT (host, pid) DO UPDATE SET seen_at = excluded.seen_at"
                ))
                .await?,
                &[host, &i64::from(*pid)],
            )
            .await?;
            None
        }
    };
    tx.commit().await?;
    Ok(written)
}

/// The one writer: writes in the order they were made, to the database or (while it is away,
/// and until what was queued has been written) to the local queue.
async fn writer(shared: Arc<Shared>, pool: Pool, outbox: Option<Outbox>, mut jobs: mpsc::UnboundedReceiver<Job>) {
    let key = shared.location.clone();
    shared.queued.store(outbox.as_ref().and_then(|o| o.len(&key).ok()).unwrap_or(0), Ordering::SeqCst);
    let mut next_try = tokio::time::Instant::now();
    loop {
        if shared.queued.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() >= next_try {
            if let Some(outbox) = &outbox {
                drain(&shared, &pool, outbox, &key).await;
            }
            next_try = tokio::time::Instant::now() + RETRY;
            continue;
        }
        let job = if shared.queued.load(Ordering::SeqCst) > 0 {
            tokio::select! {
                job = jobs.recv() => job,
                () = tokio::time::sleep_until(next_try) => continue,
            }
        } else {
            jobs.recv().await
        };
        let Some(Job { write, reply }) = job else { break };
        let answer = if shared.queued.load(Ordering::SeqCst) > 0 {
            queue(&shared, outbox.as_ref(), &key, write)
        } else {
            match within_deadline(write_to_database(&pool, &write)).await {
                Ok(written) => {
                    shared.set_reachable(true);
                    shared.cache().record(&write, written.as_ref());
                    Ok(written)
                }
                Err(Fail::Offline(_)) => {
                    shared.set_reachable(false);
                    next_try = tokio::time::Instant::now() + RETRY;
                    queue(&shared, outbox.as_ref(), &key, write)
                }
                Err(refused) => {
                    let error = refused.into_store_error(&shared);
                    match &write {
                        Write::Output { run_id, .. } => {
                            lost(&format!("output of run {run_id} was not stored: {error}"))
                        }
                        // The caller hears of it too.
                        _ => tracing::warn!("session store: a write was refused: {error}"),
                    }
                    Err(error)
                }
            }
        };
        if let Some(reply) = reply {
            let _ = reply.send(answer);
        }
    }
}

/// Incident data that did not make it (a write dropped, a local queue that failed): never
/// silent.
fn lost(message: &str) {
    tracing::error!("session store: {message}");
}

/// Queues a write on local disk (the database is away, or earlier writes are still queued)
/// and keeps it in the cache; the event returned has the number it will most likely get.
fn queue(shared: &Shared, outbox: Option<&Outbox>, key: &str, write: Write) -> Result<Option<Event>, StoreError> {
    match &write {
        Write::Presence { .. } | Write::Heartbeat { .. } => return Ok(None),
        Write::Append { event } if !shared.cache().sessions.contains_key(&event.session_id) => {
            return Err(shared.offline_unknown(&event.session_id));
        }
        _ => {}
    }
    let Some(outbox) = outbox else {
        return Err(shared.err("cannot reach the database (and this command keeps no local queue)"));
    };
    let item = serde_json::to_string(&write).map_err(|e| shared.err(e.to_string()))?;
    outbox.push(key, &item)?;
    shared.queued.fetch_add(1, Ordering::SeqCst);
    let provisional = shared.cache().record(&write, None);
    if let Write::Create { event, .. } | Write::Append { event } = &write {
        let _ = shared.changes.send(Change::Session(event.session_id.clone()));
    }
    Ok(provisional)
}

/// Writes queued writes to the database, oldest first, until the queue is empty or the
/// database goes away again.
async fn drain(shared: &Shared, pool: &Pool, outbox: &Outbox, key: &str) {
    loop {
        let (n, item) = match outbox.first(key) {
            Ok(Some(first)) => first,
            Ok(None) => {
                shared.queued.store(0, Ordering::SeqCst);
                shared.set_reachable(true);
                // Everyone reads again: numbers given while offline may have changed.
                let _ = shared.changes.send(Change::Health);
                return;
            }
            Err(err) => {
                lost(&err.to_string());
                return;
            }
        };
        let write: Option<Write> = serde_json::from_str(&item).ok();
        let result = match &write {
            Some(write) => within_deadline(write_to_database(pool, write)).await.map(drop),
            None => Err(Fail::refused("a queued write cannot be read")),
        };
        match result {
            Ok(()) => {}
            Err(Fail::Offline(_)) => {
                shared.set_reachable(false);
                return;
            }
            // The database refuses it (its session is gone): keep going, say so.
            Err(refused) => {
                lost(&format!("a queued write was refused and dropped: {}", refused.into_store_error(shared)))
            }
        }
        if let Err(err) = outbox.remove(n) {
            lost(&err.to_string());
            return;
        }
        shared.queued.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Listens for the other processes' notifications and passes them on as changes; reconnects
/// when the connection is lost.
async fn listen(config: tokio_postgres::Config, shared: Arc<Shared>, ready: std::sync::mpsc::SyncSender<()>) {
    loop {
        if let Ok((client, mut connection)) = config.connect(NoTls).await {
            let (tx, mut rx) = mpsc::unbounded_channel::<String>();
            let driver = tokio::spawn(async move {
                let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                while let Some(Ok(message)) = messages.next().await {
                    if let AsyncMessage::Notification(notification) = message
                        && tx.send(notification.payload().to_owned()).is_err()
                    {
                        break;
                    }
                }
            });
            if client.batch_execute(&format!("LISTEN {CHANNEL}")).await.is_ok() {
                shared.set_reachable(true);
                let _ = ready.try_send(());
                // Whatever happened while nobody listened: read again.
                let _ = shared.changes.send(Change::Health);
                while let Some(payload) = rx.recv().await {
                    if let Some(change) = change_of(&payload) {
                        let _ = shared.changes.send(change);
                    }
                }
                shared.set_reachable(false);
            }
            driver.abort();
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// A notification's payload as a change.
fn change_of(payload: &str) -> Option<Change> {
    let value: serde_json::Value = serde_json::from_str(payload).ok()?;
    if let Some(run) = value.get("run").and_then(|r| r.as_str()) {
        return Some(Change::Output(run.to_owned()));
    }
    value.get("session").and_then(|s| s.as_str()).map(|s| Change::Session(s.to_owned()))
}

impl SessionStore for PgStore {
    fn create(&self, title: &str, severity: &str, actor: &Actor, at: i64) -> Result<Session, StoreError> {
        let session = Session::open(title, severity, at);
        let kind = EventKind::Created { title: session.title.clone(), severity: severity.to_owned() };
        let event = Event::unnumbered(&session.id, actor, at, kind);
        self.write(Write::Create { session: session.clone(), event })?;
        Ok(session)
    }

    fn sessions(&self) -> Result<Vec<Session>, StoreError> {
        let sessions = self.read(
            |pool| async move {
                let client = pool.get().await?;
                let select = format!("SELECT {SESSION_COLUMNS} FROM sessions ORDER BY started_at DESC, id");
                Ok(client
                    .query(&client.prepare_cached(&select).await?, &[])
                    .await?
                    .iter()
                    .map(session_from_row)
                    .collect::<Vec<_>>())
            },
            |cache| {
                let mut sessions: Vec<Session> = cache.sessions.values().map(|c| c.session.clone()).collect();
                sessions.sort_by(|a, b| b.started_at.cmp(&a.started_at).then_with(|| a.id.cmp(&b.id)));
                Ok(sessions)
            },
        )?;
        let mut cache = self.shared.cache();
        for session in &sessions {
            cache.put_session(session);
        }
        Ok(sessions)
    }

    fn session(&self, id: &str) -> Result<Session, StoreError> {
        let lookup = id.to_owned();
        let found = self.read(
            |pool| async move {
                let client = pool.get().await?;
                let select = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1");
                Ok(client
                    .query_opt(&client.prepare_cached(&select).await?, &[&lookup])
                    .await?
                    .map(|row| session_from_row(&row)))
            },
            |cache| match cache.sessions.get(id) {
                Some(cached) => Ok(Some(cached.session.clone())),
                None => Err(self.shared.offline_unknown(id)),
            },
        )?;
        let session = found.ok_or_else(|| StoreError::NoSuchSession(id.to_owned()))?;
        self.shared.cache().put_session(&session);
        Ok(session)
    }

    fn append(&self, session_id: &str, actor: &Actor, at: i64, kind: EventKind) -> Result<Event, StoreError> {
        self.write(Write::Append { event: Event::unnumbered(session_id, actor, at, kind) })?
            .ok_or_else(|| self.shared.offline_unknown(session_id))
    }

    fn events(&self, session_id: &str, after: u64) -> Result<Vec<Event>, StoreError> {
        let lookup = session_id.to_owned();
        let events = self.read(
            |pool| async move {
                let client = pool.get().await?;
                let select =
                    format!("SELECT {EVENT_COLUMNS} FROM events WHERE session_id = $1 AND seq > $2 ORDER BY seq");
                events_from_rows(
                    &client.query(&client.prepare_cached(&select).await?, &[&lookup, &(after as i64)]).await?,
                )
            },
            |cache| match cache.sessions.get(session_id) {
                Some(cached) => Ok(cached.events.iter().filter(|e| e.seq > after).cloned().collect()),
                None => Err(self.shared.offline_unknown(session_id)),
            },
        )?;
        self.shared.cache().put_events(session_id, after, &events);
        Ok(events)
    }

    fn vars(&self, session_id: &str) -> Result<BTreeMap<String, String>, StoreError> {
        let lookup = session_id.to_owned();
        let vars = self.read(
            |pool| async move {
                let client = pool.get().await?;
                let rows = client
                    .query(
                        &client.prepare_cached("SELECT name, value FROM session_vars WHERE session_id = $1").await?,
                        &[&lookup],
                    )
                    .await?;
                Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect::<BTreeMap<String, String>>())
            },
            |cache| Ok(cache.sessions.get(session_id).map(|c| c.vars.clone()).unwrap_or_default()),
        )?;
        if let Some(cached) = self.shared.cache().sessions.get_mut(session_id) {
            cached.vars.clone_from(&vars);
        }
        Ok(vars)
    }

    fn set_vars(&self, session_id: &str, vars: &BTreeMap<String, String>) -> Result<(), StoreError> {
        self.write(Write::Vars { session_id: session_id.to_owned(), vars: vars.clone() }).map(drop)
    }

    fn run_events(&self, run_id: &str) -> Result<Vec<Event>, StoreError> {
        let lookup = run_id.to_owned();
        self.read(
            |pool| async move {
                let client = pool.get().await?;
                let select = format!("SELECT {EVENT_COLUMNS} FROM events WHERE run_id = $1 ORDER BY seq");
                events_from_rows(&client.query(&client.prepare_cached(&select).await?, &[&lookup]).await?)
            },
            |cache| Ok(cache.all_events().filter(|e| e.kind.run_id() == Some(run_id)).cloned().collect()),
        )
    }

    fn open_runs(&self) -> Result<Vec<(String, RunStarted)>, StoreError> {
        let events = self.read(
            |pool| async move {
                let client = pool.get().await?;
                let select = "SELECT started.id, session_id, seq, at, actor, host, source, data FROM events AS started
                     WHERE kind = 'run-started' AND NOT EXISTS (
                         SELECT 1 FROM events AS ended WHERE ended.run_id = started.run_id AND ended.kind != 'run-started'
                     )
                     ORDER BY at";
                events_from_rows(&client.query(&client.prepare_cached(select).await?, &[]).await?)
            },
            |cache| {
                Ok(cache
                    .all_events()
                    .filter(|e| {
                        matches!(e.kind, EventKind::RunStarted(_))
                            && !cache.all_events().any(|end| end.kind.ends_run() && end.kind.run_id() == e.kind.run_id())
                    })
                    .cloned()
                    .collect())
            },
        )?;
        Ok(super::started_runs(events))
    }

    fn logs(&self) -> &RunLogs {
        &self.logs
    }

    fn output(&self, run_id: &str, after: u64) -> Result<Vec<Chunk>, StoreError> {
        let lookup = run_id.to_owned();
        self.read(
            |pool| async move {
                let client = pool.get().await?;
                let rows = client
                    .query(
                        "SELECT seq, at, stream, text FROM chunks WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                        &[&lookup, &(after as i64), &OUTPUT_PAGE],
                    )
                    .await?;
                Ok(rows
                    .iter()
                    .map(|row| Chunk {
                        seq: row.get::<_, i64>(0) as u64,
                        at: row.get(1),
                        stream: stream_from_name(row.get(2)),
                        text: row.get(3),
                    })
                    .collect())
            },
            // Another machine's output waits for the database.
            |_| Ok(Vec::new()),
        )
    }

    fn shares_output(&self) -> bool {
        true
    }

    fn record_output(&self, session_id: &str, run_id: &str, chunks: Vec<Chunk>) {
        let write = Write::Output { session_id: session_id.to_owned(), run_id: run_id.to_owned(), chunks };
        let _ = self.writes.send(Job { write, reply: None });
    }

    fn touch_presence(&self, session_id: &str, actor: &Actor) -> Result<(), StoreError> {
        let write = Write::Presence { session_id: session_id.to_owned(), actor: actor.clone() };
        self.writes.send(Job { write, reply: None }).map_err(|_| self.shared.err("the store's writer has stopped"))
    }

    fn presence(&self, session_id: &str, within_ms: i64) -> Result<Vec<Presence>, StoreError> {
        let lookup = session_id.to_owned();
        self.read(
            |pool| async move {
                let client = pool.get().await?;
                let select = format!(
                    "SELECT actor, host, seen_at FROM presence WHERE session_id = $1 AND seen_at >= {DB_NOW_MS} - $2
                     ORDER BY actor, host"
                );
                let rows = client.query(&client.prepare_cached(&select).await?, &[&lookup, &within_ms]).await?;
                Ok(rows
                    .iter()
                    .map(|row| Presence { user: row.get(0), host: row.get(1), seen_at: row.get(2) })
                    .collect())
            },
            |_| Ok(Vec::new()),
        )
    }

    fn recorder_seen(&self, host: &str, pid: u32) -> Result<Option<(Option<i64>, i64)>, StoreError> {
        let (host, pid) = (host.to_owned(), i64::from(pid));
        self.read(
            |pool| async move {
                let client = pool.get().await?;
                let select =
                    format!("SELECT (SELECT seen_at FROM recorders WHERE host = $1 AND pid = $2), {DB_NOW_MS}");
                let row = client.query_one(&client.prepare_cached(&select).await?, &[&host, &pid]).await?;
                Ok(Some((row.get(0), row.get(1))))
            },
            // Offline nobody can tell who is gone.
            |_| Ok(None),
        )
    }

    fn changes(&self) -> broadcast::Receiver<Change> {
        let receiver = self.shared.changes.subscribe();
        // Listening before the first subscriber gets its receiver: no write after goes unheard.
        self.listening.get_or_init(|| {
            let (ready, listening) = std::sync::mpsc::sync_channel(1);
            self.handle.spawn(listen(self.config.clone(), self.shared.clone(), ready));
            let _ = listening.recv_timeout(Duration::from_secs(5));
        });
        receiver
    }

    fn health(&self) -> Health {
        let queued = self.shared.queued.load(Ordering::SeqCst);
        Health {
            kind: "postgres",
            location: self.shared.location.clone(),
            online: queued == 0 && self.shared.reachable.load(Ordering::SeqCst),
            queued,
            ..Health::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked() {
        assert_eq!(
            mask_url("postgres://ops:s3cret@db.internal:5432/incidents"),
            "postgres://ops:***@db.internal:5432/incidents"
        );
        assert_eq!(mask_url("postgresql://ops@db/x"), "postgresql://ops@db/x");
        assert_eq!(
            mask_url("postgres://db/x?user=ops&password=s3cret&sslmode=disable"),
            "postgres://db/x?user=ops&password=***&sslmode=disable"
        );
        assert_eq!(mask_url("host=db password=s3cret user=ops"), "host=db password=*** user=ops");
        assert_eq!(mask_url("postgres://ops:p@ss@db/x"), "postgres://ops:***@db/x");
    }

    #[test]
    fn notifications_become_changes() {
        assert_eq!(change_of(r#"{"session":"s1","seq":4}"#), Some(Change::Session("s1".to_owned())));
        assert_eq!(change_of(r#"{"session":"s1","run":"r1","chunk":9}"#), Some(Change::Output("r1".to_owned())));
        assert_eq!(change_of("nonsense"), None);
    }
}
