//! A store that stalls: another process holds the SQLite write lock (a real second connection
//! with `BEGIN EXCLUSIVE`) while the console serves pages, starts runs and records their ends.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::serve::{Server, outputs};

const BOOK: &str = r#"# Stall

## Short

```bash {name=short}
sleep 2
echo done
```

## Greet

```bash {name=greet}
echo hello
```

## Mark

```bash {name=mark}
echo ran >> marked
```
"#;

/// Holds the store's write lock from another connection until dropped.
struct Lock(rusqlite::Connection);

impl Lock {
    fn take(path: &std::path::Path) -> Lock {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
        Lock(conn)
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = self.0.execute_batch("ROLLBACK");
    }
}

#[test]
fn a_locked_store_slows_no_page_loses_no_end_and_says_busy() {
    let dir = crate::common::fixture_book("stall.md", BOOK);
    let server = Server::start(dir.path());
    let session = server.post("/api/sessions", json!({"title": "stall"})).1["id"].as_str().unwrap().to_owned();
    let runs = format!("/api/sessions/{session}/runs");
    let (status, started) = server.post(&runs, json!({"runbook": "stall.md", "step": "short"}));
    assert_eq!(status, 202, "{started}");
    let run_id = started["run_id"].as_str().unwrap().to_owned();

    // The lock is taken while the step runs and held past its end and past the store's busy
    // timeout, so the first try to record the end gives up.
    let lock = Lock::take(&dir.path().join(".opsbook/opsbook.db"));
    let locked_at = Instant::now();
    let refused = std::thread::scope(|scope| {
        // Three Run clicks wait on the lock, as many as the server has workers and more.
        let clicks: Vec<_> = (0..3)
            .map(|_| scope.spawn(|| server.post(&runs, json!({"runbook": "stall.md", "step": "greet"}))))
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        let mut slowest = Duration::ZERO;
        for _ in 0..20 {
            let asked = Instant::now();
            let (status, _, page) = server.get_raw("/stall.html");
            assert_eq!(status, 200);
            assert!(page.contains("data-step=\"short\""));
            let (status, _, _) = server.get_raw(&format!("/api/sessions/{session}"));
            assert_eq!(status, 200, "reads go on while a writer waits");
            slowest = slowest.max(asked.elapsed());
            std::thread::sleep(Duration::from_millis(100));
        }
        // A generous bound: a page that waited on the lock would take the full 10 s.
        assert!(slowest < Duration::from_secs(3), "a page waited {slowest:?} on the locked store");
        // The stream said how the run ended while the store could not take it.
        let events = server.events(&run_id, None, None);
        assert_eq!(outputs(&events), "done\n");
        assert_eq!(events.last().unwrap().2["code"], 0);
        clicks.into_iter().map(|click| click.join().unwrap()).collect::<Vec<_>>()
    });
    for (status, body) in refused {
        assert_eq!(status, 503, "{body}");
        assert!(body["error"].as_str().unwrap().contains("is busy: another process holds its write lock"), "{body}");
    }
    let held = Duration::from_secs(15).saturating_sub(locked_at.elapsed());
    std::thread::sleep(held);
    drop(lock);

    // Once the lock goes the end is written, and the export has the run with its exit.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let state = server.get_json(&format!("/api/sessions/{session}"));
        let ended =
            state["runs"].as_array().unwrap().iter().any(|r| r["run_id"] == run_id.as_str() && r["running"] == false);
        if ended {
            break;
        }
        assert!(Instant::now() < deadline, "the end was never recorded: {state}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let export = server.get_text(&format!("/api/sessions/{session}/export?format=md"));
    assert!(!export.contains("(running)"), "{export}");
    assert!(export.contains("exit 0"), "{export}");
}

/// A POST of `body` to `path` whose caller hangs up after `wait`, without reading the answer.
fn post_and_leave(server: &Server, path: &str, body: &serde_json::Value, wait: Duration) {
    use std::io::Write;
    let body = body.to_string();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        server.port(),
        server.token,
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    std::thread::sleep(wait);
}

#[test]
fn nothing_runs_unrecorded_and_a_caller_that_leaves_loses_no_run() {
    let dir = crate::common::fixture_book("stall.md", BOOK);
    let server = Server::start(dir.path());
    let session = server.post("/api/sessions", json!({"title": "stall"})).1["id"].as_str().unwrap().to_owned();
    let runs = format!("/api/sessions/{session}/runs");
    let db = dir.path().join(".opsbook/opsbook.db");
    // No inputs: nothing is remembered first, so the start is the run's first write.
    let mark = json!({"runbook": "stall.md", "step": "mark", "confirm": true});

    // The store cannot take the run's start within its deadline: the step never ran.
    let lock = Lock::take(&db);
    let (status, refused) = server.post(&runs, mark.clone());
    assert_eq!(status, 503, "{refused}");
    drop(lock);
    std::thread::sleep(Duration::from_secs(1));
    assert!(!dir.path().join("marked").exists(), "a step ran that no session records");

    // The caller hangs up while the store is locked: once the lock goes, the run is recorded
    // and runs, once.
    let lock = Lock::take(&db);
    post_and_leave(&server, &runs, &mark, Duration::from_millis(500));
    std::thread::sleep(Duration::from_secs(2));
    assert!(!dir.path().join("marked").exists(), "it ran before its start was recorded");
    drop(lock);
    let deadline = Instant::now() + Duration::from_secs(20);
    let shown = loop {
        let shown = server.get_json(&format!("/api/sessions/{session}"));
        let ended = shown["runs"].as_array().unwrap().iter().any(|r| r["step"] == "mark" && r["result"] == "exit 0");
        if ended || Instant::now() > deadline {
            break shown;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let marks: Vec<_> = shown["runs"].as_array().unwrap().iter().filter(|r| r["step"] == "mark").collect();
    assert_eq!(marks.len(), 1, "{shown}");
    assert_eq!(marks[0]["result"], "exit 0", "{shown}");
    assert_eq!(std::fs::read_to_string(dir.path().join("marked")).unwrap(), "ran\n");
}
