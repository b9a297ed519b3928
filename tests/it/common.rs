//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use opsbook::model::{Runbook, Step};
use opsbook::parse::{ParseOptions, parse_runbook};

/// The 13 step ids of the seed runbook, in order.
pub const SEED_STEP_IDS: [&str; 13] = [
    "1-acknowledge-incident",
    "2-assess-impact",
    "api-not-responding",
    "high-error-rate-5xx",
    "high-latency",
    "database-issues",
    "memory-issues-oomkilled",
    "queue-backup",
    "application-rollback",
    "database-rollback",
    "feature-flag-disable",
    "status-page-update",
    "1-verify-recovery",
];

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/` beside the repository, where the seed and the corpus live.
pub fn shared() -> PathBuf {
    std::env::var_os("OPSBOOK_SHARED").map_or_else(|| repo().join("../shared"), PathBuf::from)
}

/// How many tests this run skipped for a missing part.
static SKIPPED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A test that cannot run here because `missing` is absent: under `CI=true` a failure (CI
/// always has every part); elsewhere a line in the test run's output, past `cargo test`'s
/// capture (it writes to stderr itself), with the test's name, what to install and how many
/// tests were skipped so far. Returns `None` for the caller to return.
pub fn skip<T>(missing: &str) -> Option<T> {
    use std::io::Write;
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test} needs {missing}, and CI=true: CI must run every test (.ci/run installs what they need)");
    }
    let count = SKIPPED.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: needs {missing} [{count} skipped so far]");
    None
}

/// A path under `../shared/`, or a skip (see [`skip`]) when it is absent.
pub fn shared_path(rel: &str) -> Option<PathBuf> {
    let path = shared().join(rel);
    if path.exists() {
        return Some(path);
    }
    skip(&format!("`{}` (it sits beside the repository as ../shared/)", path.display()))
}

pub fn parse_file(path: &Path) -> (Runbook, Vec<opsbook::diagnostic::Diagnostic>) {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let parsed = parse_runbook(path, &name, &text, &ParseOptions::default());
    (parsed.runbook, parsed.diagnostics)
}

pub fn parse_text(text: &str) -> Runbook {
    parse_runbook(Path::new("test.md"), "test.md", text, &ParseOptions::default()).runbook
}

pub fn step<'r>(runbook: &'r Runbook, id: &str) -> &'r Step {
    runbook.steps.iter().find(|s| s.id == id).unwrap_or_else(|| {
        panic!("no step `{id}`; steps: {:?}", runbook.steps.iter().map(|s| &s.id).collect::<Vec<_>>())
    })
}

pub fn step_at(runbook: &Runbook, line: u32) -> Option<&Step> {
    runbook.steps.iter().find(|s| s.line == line)
}

/// A book in a temporary folder: `book.toml` (`src = "runbooks"`) and `runbooks/NAME` holding
/// `markdown`.
pub fn fixture_book(name: &str, markdown: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("book.toml"), "[book]\ntitle = \"Test\"\nsrc = \"runbooks\"\n").unwrap();
    std::fs::create_dir(dir.path().join("runbooks")).unwrap();
    std::fs::write(dir.path().join("runbooks").join(name), markdown).unwrap();
    dir
}

pub fn opsbook(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_opsbook"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .output()
        .unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh PostgreSQL database for one test, dropped afterwards.
#[derive(Debug)]
pub struct TestDb {
    /// The database's URL.
    pub url: String,
    admin: String,
    name: String,
}

/// Runs SQL on the database at `url`.
pub fn pg_execute(url: &str, sql: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let (client, connection) =
            tokio_postgres::connect(url, tokio_postgres::NoTls).await.map_err(|e| e.to_string())?;
        let driver = tokio::spawn(connection);
        let result = client.batch_execute(sql).await.map_err(|e| e.to_string());
        drop(client);
        let _ = driver.await;
        result
    })
}

/// A database of its own for a test on the PostgreSQL server named by `OPSBOOK_TEST_POSTGRES`
/// (a URL whose user may create databases, e.g. `postgres://opsbook:opsbook@127.0.0.1/postgres`).
/// A skip (see [`skip`]) where that is not set or the server cannot be used.
pub fn postgres() -> Option<TestDb> {
    let Some(admin) = std::env::var("OPSBOOK_TEST_POSTGRES").ok().filter(|v| !v.is_empty()) else {
        return skip("PostgreSQL (set OPSBOOK_TEST_POSTGRES to a URL whose user may create databases)");
    };
    let name = format!("opsbook_t_{}", uuid::Uuid::new_v4().simple());
    if let Err(err) = pg_execute(&admin, &format!("CREATE DATABASE {name}")) {
        return skip(&format!("PostgreSQL: OPSBOOK_TEST_POSTGRES cannot create a database ({err})"));
    }
    let (base, query) = admin.split_once('?').map_or((admin.as_str(), ""), |(b, q)| (b, q));
    let root = &base[..base.rfind('/').unwrap()];
    let url = if query.is_empty() { format!("{root}/{name}") } else { format!("{root}/{name}?{query}") };
    Some(TestDb { url, admin, name })
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = pg_execute(&self.admin, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

/// A TCP relay to a database that can be cut and restored: the database going away and
/// coming back, as its clients see it.
#[derive(Debug)]
pub struct Relay {
    pub port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    frozen: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Relay {
    /// Relays 127.0.0.1:<port> to the host and port of `url`.
    pub fn to(url: &str) -> Relay {
        use std::sync::atomic::Ordering;
        let config: tokio_postgres::Config = url.parse().unwrap();
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let target = format!("127.0.0.1:{port}");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let relay = Relay {
            port: listener.local_addr().unwrap().port(),
            up: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true)),
            frozen: Default::default(),
            open: Default::default(),
        };
        let (up, open, frozen) = (relay.up.clone(), relay.open.clone(), relay.frozen.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !up.load(Ordering::SeqCst) {
                    let _ = client.shutdown(std::net::Shutdown::Both);
                    continue;
                }
                let Ok(server) = std::net::TcpStream::connect(&target) else { continue };
                {
                    let mut open = open.lock().unwrap();
                    open.push(client.try_clone().unwrap());
                    open.push(server.try_clone().unwrap());
                }
                for (mut from, mut to) in [(client.try_clone().unwrap(), server.try_clone().unwrap()), (server, client)]
                {
                    let frozen = frozen.clone();
                    std::thread::spawn(move || {
                        use std::io::{Read, Write};
                        let mut buffer = [0u8; 16 * 1024];
                        while let Ok(n) = from.read(&mut buffer) {
                            // Frozen: bytes are held, as on a network that drops packets.
                            while frozen.load(Ordering::SeqCst) {
                                std::thread::sleep(std::time::Duration::from_millis(20));
                            }
                            if n == 0 || to.write_all(&buffer[..n]).is_err() {
                                break;
                            }
                        }
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        relay
    }

    /// `url` with its host and port replaced by this relay's.
    pub fn url(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").unwrap();
        let (userinfo, rest) = rest.rsplit_once('@').map_or(("", rest), |(u, r)| (u, r));
        let path = &rest[rest.find('/').unwrap_or(rest.len())..];
        let at = if userinfo.is_empty() { String::new() } else { format!("{userinfo}@") };
        format!("{scheme}://{at}127.0.0.1:{}{path}", self.port)
    }

    /// Cuts every connection and refuses new ones.
    pub fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for stream in self.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }

    pub fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
        self.frozen.store(false, std::sync::atomic::Ordering::SeqCst);
    }

    /// Holds every byte in both directions, connections left open: a database gone silent.
    pub fn freeze(&self) {
        self.frozen.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}
