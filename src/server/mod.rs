//! `opsbook serve`: the site plus the incident console, on loopback.
//!
//! The pages are the static site (built into `<book>/.opsbook/site/`), served with the console
//! script added; the JSON API runs steps through the same `Runner` as `opsbook run`; run output
//! streams over SSE (resumable); a watcher rebuilds what a change touches and tells open pages
//! to reload. Every request needs the token printed at start (exchanged for a cookie), the Host
//! must be a loopback name, and state-changing requests need a matching Origin or the token
//! header.

mod alerts;
mod api;
mod auth;
mod error;
mod files;
mod headers;
mod log;
mod terminal;
mod wire;

pub use headers::{EXPORT_POLICY, PAGE_POLICY};
mod reload;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tokio::sync::{broadcast, watch};

use crate::exec::{self};
use crate::model::Book;
use crate::record::Outcome;
use crate::runner::Runner;
use crate::session::{SessionStore, StoreError};

/// Largest request body the API reads.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The shared state of a server.
#[derive(Debug)]
pub struct App {
    token: String,
    allow_remote: bool,
    site_dir: PathBuf,
    book: RwLock<Arc<Book>>,
    runner: Runner,
    /// Runs started by this server, by id, for streaming and cancel.
    runs: Mutex<HashMap<String, LiveRun>>,
    /// Paths of pages that changed (`*` for all), for the pages' live reload.
    reload: broadcast::Sender<String>,
    shutdown: watch::Receiver<bool>,
    /// Where steps run: the folder `opsbook serve` was started in.
    cwd: PathBuf,
}

#[derive(Debug)]
struct LiveRun {
    run: exec::Process,
    recorded: Option<tokio::task::JoinHandle<Result<Outcome, StoreError>>>,
    /// True once the run's end is in the store (or the runner gave up on it).
    ended: tokio::sync::watch::Receiver<bool>,
    /// A run in a pty: whether a page holds its terminal.
    attached: Arc<terminal::Attached>,
}

/// How to build an [`App`].
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// The token every request needs; random when `None`.
    pub token: Option<String>,
    pub allow_remote: bool,
    /// Where the served site is written. Default `<book>/.opsbook/site`.
    pub site_dir: Option<PathBuf>,
    /// Where steps run.
    pub cwd: PathBuf,
}

/// A handle to stop a server's background work and its SSE streams.
#[derive(Debug)]
pub struct Shutdown(watch::Sender<bool>);

impl Shutdown {
    pub fn trigger(&self) {
        let _ = self.0.send(true);
    }
}

impl App {
    /// Builds the served site and the state. The site is built in full, search included.
    pub fn new(book: Book, store: Arc<dyn SessionStore>, options: AppOptions) -> anyhow::Result<(Arc<App>, Shutdown)> {
        let site_dir = options.site_dir.unwrap_or_else(|| book.root.join(".opsbook").join("site"));
        crate::site::Site::new(&book, &site_dir)?.build()?;
        // Resolved once: every file request checks that its real path stays inside.
        let site_dir = crate::load::absolute(&site_dir);
        // A shared store starts listening for other processes' changes now, not on the first
        // console's request.
        drop(store.changes());
        let runner = Runner::new(store, &book.root);
        let (reload, _) = broadcast::channel(64);
        let (shutdown_tx, shutdown) = watch::channel(false);
        let app = App {
            token: options.token.unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()),
            allow_remote: options.allow_remote,
            site_dir,
            book: RwLock::new(Arc::new(book)),
            runner,
            runs: Mutex::new(HashMap::new()),
            reload,
            shutdown,
            cwd: options.cwd,
        };
        Ok((Arc::new(app), Shutdown(shutdown_tx)))
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn site_dir(&self) -> &Path {
        &self.site_dir
    }

    /// The book as it is now.
    pub fn book(&self) -> Arc<Book> {
        self.book.read().map(|b| b.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    fn set_book(&self, book: Book) {
        match self.book.write() {
            Ok(mut current) => *current = Arc::new(book),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(book),
        }
    }

    /// Subscribes to page-reload notices (page paths, `*` for all).
    pub fn reloads(&self) -> broadcast::Receiver<String> {
        self.reload.subscribe()
    }

    /// Cancels every run this server started and waits until their ends are recorded.
    pub async fn cancel_all(&self) {
        let pending: Vec<LiveRun> = match self.runs.lock() {
            Ok(mut runs) => runs.drain().map(|(_, live)| live).collect(),
            Err(_) => Vec::new(),
        };
        for live in &pending {
            if live.run.outcome().is_none() {
                live.run.cancel();
            }
        }
        for live in pending {
            if let Some(recorded) = live.recorded {
                let _ = recorded.await;
            }
        }
    }
}

/// The router: the API, the console's assets and the site, behind the security layer.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .merge(api::routes())
        .fallback(files::serve)
        .layer(axum::middleware::from_fn_with_state(app.clone(), auth::guard))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(headers::harden))
        .layer(axum::middleware::from_fn_with_state(app.clone(), log::requests))
        .with_state(app)
}

/// Serves until ctrl-c or SIGTERM: then running steps are cancelled and recorded as such.
pub async fn serve(app: Arc<App>, shutdown: Shutdown, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let watcher = reload::watch(app.clone())?;
    tokio::spawn(sweep_interrupted(app.clone()));
    let mut stop = app.shutdown.clone();
    let signals = async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let terminated = async {
            match term.as_mut() {
                Some(term) => {
                    term.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = terminated => {}
            _ = stop.wait_for(|stopped| *stopped) => {}
        }
        shutdown.trigger();
    };
    accept_until(listener, router(app.clone()), signals, app.shutdown.clone()).await;
    drop(watcher);
    app.cancel_all().await;
    Ok(())
}

/// How long a client may take to send a request's headers before its connection is closed
/// (a client that trickles headers must not hold a connection for minutes).
const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// The header read timeout once three quarters of the connection slots are taken.
const CROWDED_HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);
/// Connections served at once; further ones wait in the listen queue until one closes.
const MAX_CONNECTIONS: usize = 256;
/// How long open connections (streams) get to finish after shutdown starts.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Accepts connections until `signals` resolves: HTTP/1 with a header read timeout, a bounded
/// number of connections, upgrades allowed; then lets open connections finish, for a while.
async fn accept_until(
    listener: tokio::net::TcpListener,
    router: Router,
    signals: impl std::future::Future<Output = ()>,
    stopped: watch::Receiver<bool>,
) {
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(signals);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut signals => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of file descriptors and the like: wait a moment instead of spinning.
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut signals => break,
        };
        let _ = stream.set_nodelay(true);
        // When most slots are taken (many slow clients), new connections get little time to
        // send their headers, so slots held by clients that never finish turn over quickly.
        let crowded = permits.available_permits() < MAX_CONNECTIONS / 4;
        let header_timeout = if crowded { CROWDED_HEADER_READ_TIMEOUT } else { HEADER_READ_TIMEOUT };
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = async { stopped.wait_for(|stopped| *stopped).await.is_ok() } => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, permits.acquire_many(MAX_CONNECTIONS as u32)).await;
}

/// How often the server looks for runs whose recorder has died (another `opsbook`, here or on
/// another machine sharing the store) to mark them interrupted.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(3);

async fn sweep_interrupted(app: Arc<App>) {
    let mut stop = app.shutdown.clone();
    loop {
        tokio::select! {
            () = tokio::time::sleep(SWEEP_EVERY) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        let store = app.runner.store().clone();
        // A store that cannot be reached now is asked again next time.
        let _ = tokio::task::spawn_blocking(move || crate::session::mark_interrupted(store.as_ref())).await;
    }
}

/// True for a host name that can only mean this machine.
pub(crate) fn is_loopback_name(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host
            .rsplit_once(':')
            .map_or(host, |(name, port)| if port.bytes().all(|b| b.is_ascii_digit()) { name } else { host }),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
        || name.to_ascii_lowercase().ends_with(".localhost")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names() {
        for host in ["localhost", "localhost:3000", "127.0.0.1:3000", "[::1]:3000", "127.1.2.3", "app.localhost:80"] {
            assert!(is_loopback_name(host), "{host}");
        }
        for host in ["evil.com", "evil.com:3000", "10.0.0.1:3000", "localhost.evil.com", ""] {
            assert!(!is_loopback_name(host), "{host}");
        }
    }
}
