//! Session store benchmark (not a test): event append latency and events per second, SQLite
//! and PostgreSQL side by side; and cross-server delivery, a run's output chunk on server A to
//! the SSE event on server B (both `opsbook serve` on one PostgreSQL database), next to the same
//! chunk's delivery to A's own SSE client.
//!
//! `benches/store.sh` runs it; by hand:
//! `store_bench --opsbook target/release/opsbook --postgres postgres://USER:PASSWORD@127.0.0.1/DB
//! [--events 2000] [--lines 200]` (a database opsbook may create its tables in).
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

#[path = "support/serve.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opsbook::session::{Actor, EventKind, NoteKind, SessionStore};
use serde_json::{Value, json};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Appends `count` notes one after the other: per-append latencies (ms) and events/s.
fn appends(store: &dyn SessionStore, count: usize) -> (Vec<f64>, f64) {
    let actor = Actor { user: "bench".into(), host: "bench".into(), source: "cli".into() };
    let session = store.create("bench", "SEV4", &actor, opsbook::clock::now_ms()).unwrap();
    let mut latencies = Vec::with_capacity(count);
    let start = Instant::now();
    for i in 0..count {
        let t = Instant::now();
        store
            .append(
                &session.id,
                &actor,
                opsbook::clock::now_ms(),
                EventKind::NoteAdded { note: NoteKind::Note, text: format!("note {i}") },
            )
            .unwrap();
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let per_second = count as f64 / start.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    (latencies, per_second)
}

/// Four threads appending to one session at once: events/s.
fn concurrent(store: Arc<dyn SessionStore>, count: usize) -> f64 {
    let actor = Actor { user: "bench".into(), host: "bench".into(), source: "cli".into() };
    let session = store.create("bench-concurrent", "SEV4", &actor, opsbook::clock::now_ms()).unwrap();
    let start = Instant::now();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (store, actor, id) = (store.clone(), actor.clone(), session.id.clone());
            std::thread::spawn(move || {
                for i in 0..count / 4 {
                    let kind = EventKind::NoteAdded { note: NoteKind::Note, text: format!("note {i}") };
                    store.append(&id, &actor, opsbook::clock::now_ms(), kind).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    count as f64 / start.elapsed().as_secs_f64()
}

struct Server {
    child: Child,
    base: String,
    token: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(opsbook: &str, book: &Path, store: &str, responder: &str) -> Server {
        let mut command = Command::new(opsbook);
        command
            .args(["serve", "--port", "0"])
            .current_dir(book)
            .env("OPSBOOK_STORE", store)
            .env("OPSBOOK_RESPONDER", responder);
        let (child, base, token) = support::start(command);
        Server { child, base, token }
    }

    fn post(&self, path: &str, body: Value) -> Value {
        support::post(&self.base, &self.token, path, &body)
    }
}

/// Reads a run's output events from a server until its exit; for each line printed, how long
/// after the shell printed it (its own `date +%s%N`) it arrived here, in ms.
fn delivery(base: &str, token: &str, run_id: &str) -> Vec<f64> {
    let response = ureq::get(&format!("{base}/api/runs/{run_id}/events"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    let mut latencies = Vec::new();
    let mut pending = String::new();
    for line in BufReader::new(response.into_body().into_reader()).lines().map_while(Result::ok) {
        if line.starts_with("event: exit") {
            break;
        }
        let Some(data) = line.strip_prefix("data: ") else { continue };
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let data: Value = serde_json::from_str(data).unwrap();
        pending.push_str(data["text"].as_str().unwrap_or(""));
        while let Some(end) = pending.find('\n') {
            let stamp: u128 = pending[..end].trim().parse().unwrap_or(now);
            latencies.push((now.saturating_sub(stamp)) as f64 / 1e6);
            pending.drain(..=end);
        }
    }
    latencies.sort_by(f64::total_cmp);
    latencies
}

fn book(lines: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("book.toml"), "[book]\ntitle = \"Bench\"\nsrc = \"runbooks\"\n").unwrap();
    std::fs::create_dir(dir.path().join("runbooks")).unwrap();
    let runbook = format!(
        "# Bench\n\n## Tick\n\n```bash {{name=tick}}\nfor i in $(seq {lines}); do date +%s%N; sleep 0.02; done\n```\n"
    );
    std::fs::write(dir.path().join("runbooks/bench.md"), runbook).unwrap();
    dir
}

fn main() {
    let opsbook = arg("--opsbook").unwrap_or_else(|| "target/release/opsbook".into());
    // The servers run in their books' folders.
    let opsbook = std::fs::canonicalize(&opsbook).unwrap().display().to_string();
    let postgres = arg("--postgres").expect("--postgres URL (a database opsbook may create tables in)");
    let count: usize = arg("--events").map_or(2000, |v| v.parse().unwrap());
    let lines: usize = arg("--lines").map_or(200, |v| v.parse().unwrap());

    let scratch = tempfile::tempdir().unwrap();
    let sqlite: Arc<dyn SessionStore> =
        Arc::new(opsbook::session::SqliteStore::open(&scratch.path().join("opsbook.db")).unwrap());
    let pg = opsbook::session::open(Some(&postgres), scratch.path()).unwrap();
    println!("event append, {count} one after the other (ms):");
    println!("  store       p50     p99    events/s   events/s (4 threads)");
    let mut p50s = Vec::new();
    for (name, store) in [("sqlite", sqlite), ("postgres", pg)] {
        let (latencies, rate) = appends(store.as_ref(), count);
        let together = concurrent(store.clone(), count);
        p50s.push(percentile(&latencies, 0.5));
        println!(
            "  {name:<9} {:>6.3}  {:>6.3}  {rate:>9.0}  {together:>9.0}",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99)
        );
    }
    println!("  postgres/sqlite p50 ratio: {:.2}x", p50s[1] / p50s[0]);

    // Cross-server delivery: two servers, two copies of the book, one database.
    let (book_a, book_b) = (book(lines), book(lines));
    let a = Server::start(&opsbook, book_a.path(), &postgres, "alice");
    let b = Server::start(&opsbook, book_b.path(), &postgres, "bob");
    let session = a.post("/api/sessions", json!({"title": "delivery", "severity": "SEV4"}));
    let id = session["id"].as_str().unwrap();
    let started = a.post(&format!("/api/sessions/{id}/runs"), json!({"runbook": "bench.md", "step": "tick"}));
    let run_id = started["run_id"].as_str().unwrap().to_owned();
    let on_b = {
        let (base, token, run_id) = (b.base.clone(), b.token.clone(), run_id.clone());
        std::thread::spawn(move || delivery(&base, &token, &run_id))
    };
    let on_a = delivery(&a.base, &a.token, &run_id);
    let on_b = on_b.join().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    println!("output line printed on A -> SSE event ({lines} lines, 20 ms apart) (ms):");
    println!("  client          p50     p99");
    println!("  A (local run) {:>6.2}  {:>6.2}", percentile(&on_a, 0.5), percentile(&on_a, 0.99));
    println!("  B (via store) {:>6.2}  {:>6.2}", percentile(&on_b, 0.5), percentile(&on_b, 0.99));
    println!("  lines seen: A {}, B {}", on_a.len(), on_b.len());
}
