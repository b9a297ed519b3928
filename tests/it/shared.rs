//! The shared session store: one contract suite over SQLite and PostgreSQL, two servers on one
//! database, the database going away mid-incident, a server killed mid-run, and `session
//! migrate`. The PostgreSQL tests skip with a notice where `OPSBOOK_TEST_POSTGRES` is not set,
//! and fail under `CI=true`.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use opsbook::runner::Runner;
use opsbook::session::{self, Actor, Change, EventKind, NoteKind, SessionStore, SqliteStore, Status, StoreError};
use serde_json::{Value, json};

use crate::common::{Relay, fixture_book, opsbook, postgres, text};
use crate::serve::Server;

/// The serve tests' runbook: `count` prints five lines, `slow` waits 30 s.
const BOOK: &str = crate::serve::BOOK;

fn actor(user: &str) -> Actor {
    Actor { user: user.to_owned(), host: "laptop-1".to_owned(), source: "cli".to_owned() }
}

/// Waits up to `limit` for `check` to hold.
fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One run of `step` through the runner on `store`, to its recorded end.
fn run_step(store: Arc<dyn SessionStore>, dir: &Path, session_id: &str, step: &str) -> String {
    let book = opsbook::load::load_book(dir).unwrap();
    let runner = Runner::new(store, dir);
    let request = crate::sessions::request(&book, session_id, step, dir);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let started = runner.start(request).await.unwrap();
        started.recorded.await.unwrap().unwrap();
        started.run_id
    })
}

/// The contract every store keeps, on a store opened (and opened again) by `open`.
fn contract(open: &dyn Fn() -> Arc<dyn SessionStore>, dir: &Path) {
    let store = open();
    let mut changes = store.changes();
    let session = store.create("Checkout down", "SEV1", &actor("ana"), 1_000).unwrap();
    assert_eq!(session.status, Status::Investigating);
    // A write is announced (by a shared store, once the database has told every listener).
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let announced = runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match changes.recv().await {
                    Ok(Change::Session(id)) => break Some(id),
                    Ok(_) => {}
                    Err(_) => break None,
                }
            }
        })
        .await
    });
    assert_eq!(announced.ok().flatten(), Some(session.id.clone()));
    let id = session.id.clone();
    store.append(&id, &actor("ben"), 2_000, EventKind::NoteAdded { note: NoteKind::Note, text: "n".into() }).unwrap();
    let from = Status::Investigating;
    store.append(&id, &actor("ana"), 3_000, EventKind::StatusChanged { from, to: Status::Identified }).unwrap();
    store
        .append(&id, &actor("ana"), 4_000, EventKind::SeverityChanged { from: "SEV1".into(), to: "SEV2".into() })
        .unwrap();
    store.set_vars(&id, &[("region".to_owned(), "eu".to_owned())].into()).unwrap();
    store.set_vars(&id, &[("region".to_owned(), "us".to_owned())].into()).unwrap();
    assert!(matches!(store.session("20990101-nothere"), Err(StoreError::NoSuchSession(_))));
    let err = store.append("20990101-nothere", &actor("ana"), 1, EventKind::Closed).unwrap_err();
    assert_eq!(err.to_string(), "no session `20990101-nothere` (see `opsbook session list`)");

    // A real run: its events, its output as the store has it, and one end only.
    let run_id = run_step(store.clone(), dir, &id, "count");
    let output: String = store.output(&run_id, 0).unwrap().into_iter().map(|c| c.text).collect();
    assert_eq!(output, "line 1\nline 2\nline 3\nline 4\nline 5\n");
    let later: Vec<u64> = store.output(&run_id, 2).unwrap().iter().map(|c| c.seq).collect();
    assert!(later.iter().all(|seq| *seq > 2) && !later.is_empty(), "{later:?}");
    let kinds: Vec<&str> = store.run_events(&run_id).unwrap().iter().map(|e| e.kind.name()).collect();
    assert_eq!(kinds, ["run-started", "run-finished"]);
    let late = store
        .append(&id, &actor("ana"), 9_000, EventKind::RunInterrupted { run_id: run_id.clone(), reason: "late".into() })
        .unwrap();
    assert_eq!(late.kind.name(), "run-finished", "a run ends once: the end already recorded is returned");
    assert!(store.open_runs().unwrap().is_empty());

    store.touch_presence(&id, &actor("ana")).unwrap();
    eventually(Duration::from_secs(5), "presence recorded", || {
        store.presence(&id, 60_000).unwrap().iter().any(|p| p.user == "ana" && p.host == "laptop-1")
    });
    store.append(&id, &actor("ana"), 10_000, EventKind::Closed).unwrap();
    drop(store);

    // Everything is there for the next process.
    let store = open();
    let session = store.session(&id).unwrap();
    assert_eq!(
        (session.status, session.severity.as_str(), session.ended_at),
        (Status::Identified, "SEV2", Some(10_000))
    );
    let events = store.events(&id, 0).unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.name()).collect();
    assert_eq!(
        kinds,
        ["created", "note-added", "status-changed", "severity-changed", "run-started", "run-finished", "closed"]
    );
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(events[1].actor.user, "ben");
    assert_eq!(store.events(&id, 5).unwrap().len(), 2);
    assert_eq!(store.vars(&id).unwrap()["region"], "us");
    assert!(store.sessions().unwrap().iter().any(|s| s.id == id));
}

#[test]
fn the_store_contract_on_sqlite() {
    let dir = fixture_book("serve.md", BOOK);
    let root = dir.path().to_path_buf();
    contract(&|| Arc::new(SqliteStore::for_book(&root).unwrap()) as Arc<dyn SessionStore>, dir.path());
}

#[test]
fn the_store_contract_on_postgres() {
    let Some(db) = postgres() else { return };
    let dir = fixture_book("serve.md", BOOK);
    let root = dir.path().to_path_buf();
    contract(&|| session::open(Some(&db.url), &root).unwrap(), dir.path());
    // Two processes starting at once agree on the schema.
    let url = db.url.clone();
    let (a, b) = (root.clone(), root.clone());
    let first = std::thread::spawn({
        let url = url.clone();
        move || session::open(Some(&url), &a).map(drop)
    });
    let second = std::thread::spawn(move || session::open(Some(&url), &b).map(drop));
    first.join().unwrap().unwrap();
    second.join().unwrap().unwrap();
}

#[test]
fn an_unreachable_database_is_a_clear_error_with_the_password_masked() {
    let dir = fixture_book("serve.md", BOOK);
    let url = "postgres://ops:hunter2@127.0.0.1:9/incidents";
    let err = session::open(Some(url), dir.path()).unwrap_err().to_string();
    assert!(err.contains("postgres://ops:***@127.0.0.1:9/incidents"), "{err}");
    assert!(err.contains("cannot reach the database"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    let output = opsbook(&["session", "list", "--store", url], dir.path());
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("ops:***@127.0.0.1:9") && !stderr.contains("hunter2"), "{stderr}");
    let err = session::open(Some("postgres://ops:hunter2@db/x?sslmode=require"), dir.path()).unwrap_err().to_string();
    assert!(err.contains("does not speak TLS") && !err.contains("hunter2"), "{err}");
    let err = session::open(Some("postgres://ops@db/x?port=notanumber"), dir.path()).unwrap_err().to_string();
    assert!(err.contains("not a valid PostgreSQL URL"), "{err}");
    let err = session::open(Some("mysql://x"), dir.path()).unwrap_err().to_string();
    assert!(err.contains("not a store URL"), "{err}");
}

fn env<'a>(db: &'a str, responder: &'a str) -> [(&'a str, &'a str); 2] {
    [("OPSBOOK_STORE", db), ("OPSBOOK_RESPONDER", responder)]
}

/// Reads a session's live stream until its first event, which counts this console's
/// responder as present.
fn open_console(server: &Server, id: &str) {
    use std::io::BufRead;
    let response = ureq::get(&format!("{}/api/sessions/{id}/live", server.base))
        .header("Authorization", &format!("Bearer {}", server.token))
        .call()
        .unwrap();
    let reader = std::io::BufReader::new(response.into_body().into_reader());
    for line in reader.lines() {
        if line.unwrap().starts_with("data: ") {
            break;
        }
    }
}

#[test]
fn two_servers_on_one_database_share_the_timeline_and_the_output() {
    let Some(db) = postgres() else { return };
    // Two responders, two copies of the book (nothing shared but the database).
    let (book_a, book_b) = (fixture_book("serve.md", BOOK), fixture_book("serve.md", BOOK));
    let a = Server::start_with(book_a.path(), &env(&db.url, "alice"));
    let b = Server::start_with(book_b.path(), &env(&db.url, "bob"));
    let (status, created) = a.post("/api/sessions", json!({"title": "Checkout down", "severity": "SEV2"}));
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    open_console(&b, &id);

    // A run started on A streams to an SSE client on B, every chunk, then its end.
    let (status, started) =
        a.post(&format!("/api/sessions/{id}/runs"), json!({"runbook": "serve.md", "step": "count"}));
    assert_eq!(status, 202, "{started}");
    let run_id = started["run_id"].as_str().unwrap().to_owned();
    let seen = b.events(&run_id, None, None);
    let output: String =
        seen.iter().filter(|(_, name, _)| name == "output").map(|(_, _, d)| d["text"].as_str().unwrap()).collect();
    assert_eq!(output, "line 1\nline 2\nline 3\nline 4\nline 5\n");
    let (_, last, exit) = seen.last().unwrap();
    assert_eq!((last.as_str(), exit["end"].as_str(), exit["code"].as_i64()), ("exit", Some("exited"), Some(0)));
    // Resuming on B after chunk 2 gives the rest only.
    let resumed = b.events(&run_id, Some(2), None);
    assert!(resumed.iter().filter_map(|(id, _, _)| *id).all(|seq| seq > 2));

    // B adds a note; both see one timeline, naming who did what from where.
    let (status, _) = b.post(&format!("/api/sessions/{id}/notes"), json!({"text": "Rolling back", "kind": "note"}));
    assert_eq!(status, 201);
    let view = a.get_json(&format!("/api/sessions/{id}"));
    let timeline: Vec<(String, String)> = view["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["type"].as_str().unwrap().to_owned(), e["actor"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        timeline,
        [
            ("created".to_owned(), "alice".to_owned()),
            ("run-started".to_owned(), "alice".to_owned()),
            ("note-added".to_owned(), "bob".to_owned()),
        ]
    );
    let responders: Vec<&str> =
        view["responders"].as_array().unwrap().iter().map(|r| r["user"].as_str().unwrap()).collect();
    assert!(responders.contains(&"bob"), "{responders:?}");
    assert_eq!(view["store"]["kind"], "postgres");
    assert_eq!(view["store"]["online"], true);

    // Both exports are the same, output included.
    for format in ["md", "json", "html"] {
        let from_a = a.get_text(&format!("/api/sessions/{id}/export?format={format}"));
        let from_b = b.get_text(&format!("/api/sessions/{id}/export?format={format}"));
        assert_eq!(from_a, from_b, "{format} exports differ");
        if format == "md" {
            assert!(from_a.contains("(alice@") && from_a.contains("(bob@"), "{from_a}");
            assert!(from_a.contains("line 5"), "{from_a}");
        }
    }
}

#[test]
fn the_database_lost_mid_incident_loses_nothing_and_writes_nothing_twice() {
    let Some(db) = postgres() else { return };
    let relay = Relay::to(&db.url);
    let via_relay = relay.url(&db.url);
    let book = fixture_book("serve.md", BOOK);
    let server = Server::start_with(book.path(), &env(&via_relay, "alice"));
    let (status, created) = server.post("/api/sessions", json!({"title": "Flaky network", "severity": "SEV3"}));
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();

    relay.cut();
    for step in ["count", "count"] {
        let (status, started) =
            server.post(&format!("/api/sessions/{id}/runs"), json!({"runbook": "serve.md", "step": step}));
        assert_eq!(status, 202, "{started}");
        let run_id = started["run_id"].as_str().unwrap();
        // The run goes on and streams here.
        let seen = server.events(run_id, None, None);
        assert_eq!(seen.last().unwrap().1, "exit");
        // Its end is recorded (in the local queue) just after the stream says so.
        eventually(Duration::from_secs(10), "the run's end is recorded", || {
            let view = server.get_json(&format!("/api/sessions/{id}"));
            view["runs"].as_array().unwrap().iter().any(|r| r["run_id"] == run_id && r["running"] == false)
        });
    }
    let (status, _) = server.post(&format!("/api/sessions/{id}/notes"), json!({"text": "written offline"}));
    assert_eq!(status, 201);
    // The console says it is offline, and shows the runs from what it kept.
    let view = server.get_json(&format!("/api/sessions/{id}"));
    assert_eq!(view["store"]["online"], false, "{}", view["store"]);
    assert!(view["store"]["queued"].as_u64().unwrap() >= 5, "{}", view["store"]);
    assert_eq!(view["runs"].as_array().unwrap().len(), 2);

    relay.restore();
    eventually(Duration::from_secs(20), "the queue is written out", || {
        let view = server.get_json(&format!("/api/sessions/{id}"));
        view["store"]["online"] == true && view["store"]["queued"] == 0
    });
    // Straight from the database: every event once, in order.
    let direct = session::open(Some(&db.url), book.path()).unwrap();
    let events = direct.events(&id, 0).unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.name()).collect();
    assert_eq!(kinds, ["created", "run-started", "run-finished", "run-started", "run-finished", "note-added"]);
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6]);
    let ids: std::collections::HashSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), events.len());
    let first_run = events[1].kind.run_id().unwrap();
    let output: String = direct.output(first_run, 0).unwrap().into_iter().map(|c| c.text).collect();
    assert_eq!(output, "line 1\nline 2\nline 3\nline 4\nline 5\n");
}

#[test]
fn a_server_killed_mid_run_is_marked_interrupted_by_the_other() {
    let Some(db) = postgres() else { return };
    let (book_a, book_b) = (fixture_book("serve.md", BOOK), fixture_book("serve.md", BOOK));
    let mut a = Server::start_with(book_a.path(), &env(&db.url, "alice"));
    let b = Server::start_with(book_b.path(), &env(&db.url, "bob"));
    let (_, created) = a.post("/api/sessions", json!({"title": "Crash", "severity": "SEV2"}));
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, started) = a.post(&format!("/api/sessions/{id}/runs"), json!({"runbook": "serve.md", "step": "slow"}));
    assert_eq!(status, 202, "{started}");
    let run_id = started["run_id"].as_str().unwrap().to_owned();
    // B streams the run until A dies; then its end is recorded by B.
    let first = b.events(&run_id, None, Some(1));
    assert_eq!(first[0].2["text"], "started\n");
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let run_state = || -> Value {
        let view = b.get_json(&format!("/api/sessions/{id}"));
        view["runs"].as_array().unwrap().iter().find(|r| r["run_id"] == run_id.as_str()).cloned().unwrap()
    };
    eventually(Duration::from_secs(30), "the run is marked interrupted", || run_state()["running"] == false);
    let events = b.get_json(&format!("/api/sessions/{id}/export?format=json"));
    let kinds: Vec<&str> = events["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"run-interrupted"), "{kinds:?}");
    let tail = b.events(&run_id, None, None);
    assert_eq!(tail.last().unwrap().2["end"], "interrupted");
}

#[test]
fn a_run_recorded_on_another_machine_that_went_silent_is_interrupted() {
    let Some(db) = postgres() else { return };
    let dir = fixture_book("serve.md", BOOK);
    let store = session::open(Some(&db.url), dir.path()).unwrap();
    let session = store.create("Elsewhere", "SEV3", &actor("ana"), 1_000).unwrap();
    let started = |run_id: &str, host: &str, pid: u32| {
        let context = opsbook::record::Context { host: host.to_owned(), ..Default::default() };
        let started = opsbook::session::RunStarted {
            run_id: run_id.to_owned(),
            runbook: "serve.md".into(),
            runbook_title: "Shared".into(),
            step: "slow".into(),
            step_title: "Wait".into(),
            command: None,
            command_text: "sleep 30".into(),
            inputs: Default::default(),
            risk: "read-only".into(),
            context,
            log: "runs/x.log".into(),
            recorder_pid: pid,
            pid: 1,
            ..Default::default()
        };
        store.append(&session.id, &actor("ana"), 2_000, EventKind::RunStarted(Box::new(started))).unwrap();
    };
    // Another machine that stopped being heard from, and one that is heard from.
    started("silent", "far-away-laptop", 4242);
    started("alive", "far-away-laptop", 4343);
    crate::common::pg_execute(
        &db.url,
        "INSERT INTO recorders (host, pid, seen_at) VALUES
         ('far-away-laptop', 4242, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT - 60000),
         ('far-away-laptop', 4343, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT)",
    )
    .unwrap();
    assert_eq!(session::mark_interrupted(store.as_ref()).unwrap(), 1);
    let open: Vec<String> = store.open_runs().unwrap().into_iter().map(|(_, s)| s.run_id).collect();
    assert_eq!(open, ["alive".to_owned()]);
    let ended = store.run_events("silent").unwrap();
    let EventKind::RunInterrupted { reason, .. } = &ended[1].kind else { panic!("{ended:?}") };
    assert!(reason.contains("far-away-laptop") && reason.contains("not been heard from"), "{reason}");
}

#[test]
fn session_migrate_moves_sqlite_sessions_to_postgres_once() {
    let Some(db) = postgres() else { return };
    let dir = fixture_book("serve.md", BOOK);
    let local: Arc<dyn SessionStore> = Arc::new(SqliteStore::for_book(dir.path()).unwrap());
    let session = local.create("Old incident", "SEV2", &actor("ana"), 1_000).unwrap();
    let run_id = run_step(local.clone(), dir.path(), &session.id, "count");
    local
        .append(&session.id, &actor("ben"), 5_000, EventKind::NoteAdded { note: NoteKind::Lesson, text: "x".into() })
        .unwrap();
    local.set_vars(&session.id, &[("region".to_owned(), "eu".to_owned())].into()).unwrap();
    drop(local);

    let from = format!("sqlite:{}", dir.path().join(".opsbook/opsbook.db").display());
    let migrate = || opsbook(&["session", "migrate", "--from", &from, "--to", &db.url], dir.path());
    let output = migrate();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("1 sessions copied"), "{}", text(&output.stderr));
    // Again: nothing is copied twice.
    let output = migrate();
    assert!(text(&output.stderr).contains("0 sessions copied, 1 already there"), "{}", text(&output.stderr));

    let local = SqliteStore::for_book(dir.path()).unwrap();
    let shared = session::open(Some(&db.url), dir.path()).unwrap();
    assert_eq!(shared.session(&session.id).unwrap(), local.session(&session.id).unwrap());
    assert_eq!(shared.events(&session.id, 0).unwrap(), local.events(&session.id, 0).unwrap());
    assert_eq!(shared.vars(&session.id).unwrap(), local.vars(&session.id).unwrap());
    assert_eq!(shared.output(&run_id, 0).unwrap(), local.output(&run_id, 0).unwrap());
    assert!(!shared.output(&run_id, 0).unwrap().is_empty());

    let output = opsbook(&["session", "migrate", "--to", "sqlite:/tmp/x.db"], dir.path());
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
}

#[test]
fn the_responder_comes_from_the_environment_else_the_user_config_else_the_os_user() {
    let dir = fixture_book("serve.md", BOOK);
    let config_home = tempfile::tempdir().unwrap();
    std::fs::create_dir(config_home.path().join("opsbook")).unwrap();
    std::fs::write(config_home.path().join("opsbook/config.toml"), "[opsbook]\nresponder = \"dana\"\n").unwrap();
    let cli = |args: &[&str], responder: Option<&str>| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_opsbook"));
        command.args(args).current_dir(dir.path()).env("NO_COLOR", "1").env("XDG_CONFIG_HOME", config_home.path());
        match responder {
            Some(name) => command.env("OPSBOOK_RESPONDER", name),
            None => command.env_remove("OPSBOOK_RESPONDER"),
        };
        let output = command.output().unwrap();
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stdout)
    };
    let id = cli(&["session", "new", "Who is here"], Some("ana")).trim().to_owned();
    cli(&["session", "note", &id, "from the config"], None);
    let host = opsbook::record::host();
    let shown = cli(&["session", "show", &id], None);
    assert!(shown.contains(&format!("(ana@{host})")), "{shown}");
    assert!(shown.contains(&format!("(dana@{host})")), "{shown}");
    let exported = cli(&["export", &id], None);
    assert!(exported.contains(&format!("Note: from the config (dana@{host})")), "{exported}");

    // A user config that cannot be read is a warning, and the OS user is used.
    std::fs::write(config_home.path().join("opsbook/config.toml"), "[opsbook\nresponder = ").unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_opsbook"));
    let output = command
        .args(["session", "note", &id, "broken config"])
        .current_dir(dir.path())
        .env("XDG_CONFIG_HOME", config_home.path())
        .env_remove("OPSBOOK_RESPONDER")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(text(&output.stderr).contains("config.toml"), "{}", text(&output.stderr));
    let shown = cli(&["session", "show", &id], None);
    assert!(shown.contains(&format!("broken config  ({}@{host})", opsbook::record::user())), "{shown}");
}

#[test]
fn a_database_gone_silent_is_offline_within_seconds_not_a_hang() {
    let Some(db) = postgres() else { return };
    let relay = Relay::to(&db.url);
    let book = fixture_book("serve.md", BOOK);
    let store = session::open(Some(&relay.url(&db.url)), book.path()).unwrap();
    let session = store.create("Silent network", "SEV3", &actor("ana"), 1_000).unwrap();
    relay.freeze();
    // The write is acknowledged from the local queue once the database has not answered.
    let began = Instant::now();
    let note = EventKind::NoteAdded { note: NoteKind::Note, text: "while silent".into() };
    store.append(&session.id, &actor("ana"), 2_000, note).unwrap();
    assert!(began.elapsed() < Duration::from_secs(15), "took {:?}", began.elapsed());
    assert!(!store.health().online);
    // Reads answer from what this process saw, quickly.
    let began = Instant::now();
    assert_eq!(store.events(&session.id, 0).unwrap().len(), 2);
    assert!(began.elapsed() < Duration::from_secs(1));
    relay.restore();
    eventually(Duration::from_secs(30), "the queue is written out", || {
        let health = store.health();
        health.online && health.queued == 0
    });
    let direct = session::open(Some(&db.url), book.path()).unwrap();
    let kinds: Vec<String> = direct.events(&session.id, 0).unwrap().iter().map(|e| e.kind.name().to_owned()).collect();
    assert_eq!(kinds, ["created", "note-added"], "written once");
}
