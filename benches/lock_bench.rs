//! The console while its store is locked (not a test): page GET latency with nothing in the way,
//! then while another process holds the SQLite write lock (`BEGIN EXCLUSIVE`) for `--hold`
//! seconds and three Run clicks wait on it; how those clicks were answered; and whether each
//! run's end made it into the store after the lock went.
//!
//! `lock_bench --opsbook target/release/opsbook [--hold 25]`; run it against two binaries (an
//! older build and this one) to compare.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

#[path = "support/serve.rs"]
mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BOOK: &str = "# Lock\n\n## Short\n\n```bash {name=short}\nsleep 1\necho done\n```\n\n## Greet\n\n```bash {name=greet}\necho hello\n```\n";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn summary(label: &str, mut times: Vec<f64>) {
    times.sort_by(f64::total_cmp);
    println!(
        "{label}: {} GETs, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.last().copied().unwrap_or(0.0)
    );
}

/// A GET with the token; its time in milliseconds.
fn timed_get(base: &str, token: &str, path: &str) -> f64 {
    let started = Instant::now();
    let mut response = ureq::get(&format!("{base}{path}"))
        .header("Authorization", &format!("Bearer {token}"))
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap();
    let _ = response.body_mut().read_to_string();
    started.elapsed().as_secs_f64() * 1000.0
}

fn post(base: &str, token: &str, path: &str, body: &Value) -> (u16, Value, f64) {
    let started = Instant::now();
    let mut response = ureq::post(&format!("{base}{path}"))
        .header("Authorization", &format!("Bearer {token}"))
        .config()
        .http_status_as_error(false)
        .build()
        .send_json(body)
        .unwrap();
    let status = response.status().as_u16();
    let value = response.body_mut().read_json().unwrap_or(Value::Null);
    (status, value, started.elapsed().as_secs_f64())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let opsbook = PathBuf::from(flag("--opsbook").unwrap_or_else(|| "target/release/opsbook".to_owned()));
    let opsbook = opsbook.canonicalize().unwrap_or(opsbook);
    let hold: u64 = flag("--hold").and_then(|h| h.parse().ok()).unwrap_or(25);
    let dir = std::env::temp_dir().join(format!("opsbook-lock-bench-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("runbooks")).unwrap();
    std::fs::write(dir.join("book.toml"), "[book]\ntitle = \"lock\"\nsrc = \"runbooks\"\n").unwrap();
    std::fs::write(dir.join("runbooks/lock.md"), BOOK).unwrap();
    let mut command = Command::new(&opsbook);
    command.args(["serve", "--port", "0"]).current_dir(&dir);
    let (mut child, base, token) = support::start(command);

    let session =
        support::post(&base, &token, "/api/sessions", &json!({"title": "lock"}))["id"].as_str().unwrap().to_owned();
    let page = "/lock.html";
    summary("unlocked", (0..200).map(|_| timed_get(&base, &token, page)).collect());

    let runs = format!("/api/sessions/{session}/runs");
    let first = post(&base, &token, &runs, &json!({"runbook": "lock.md", "step": "short"}));
    let first_run = first.1["run_id"].as_str().unwrap_or("").to_owned();
    let lock = rusqlite::Connection::open(dir.join(".opsbook/opsbook.db")).unwrap();
    lock.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let locked_at = Instant::now();
    let clicks: Vec<_> = (0..3)
        .map(|_| {
            let (base, token, runs) = (base.clone(), token.clone(), runs.clone());
            std::thread::spawn(move || post(&base, &token, &runs, &json!({"runbook": "lock.md", "step": "greet"})))
        })
        .collect();
    let mut during = Vec::new();
    while locked_at.elapsed() < Duration::from_secs(hold) {
        during.push(timed_get(&base, &token, page));
        std::thread::sleep(Duration::from_millis(50));
    }
    lock.execute_batch("ROLLBACK").unwrap();
    summary(&format!("during a {hold} s lock, 3 Run clicks waiting"), during);
    for (index, click) in clicks.into_iter().enumerate() {
        let (status, body, took) = click.join().unwrap();
        let said = body["error"].as_str().map(|e| format!(": {e}")).unwrap_or_default();
        println!("click {}: HTTP {status} after {took:.1} s{said}", index + 1);
    }
    // Whether the run that ended during the lock has its end in the store afterwards.
    let deadline = Instant::now() + Duration::from_secs(20);
    let recorded = loop {
        let mut response = ureq::get(&format!("{base}/api/sessions/{session}"))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap();
        let state: Value = response.body_mut().read_json().unwrap();
        let ended = state["runs"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r["run_id"] == first_run.as_str() && r["running"] == false);
        if ended || Instant::now() > deadline {
            break ended;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    println!("run that ended during the lock recorded afterwards: {}", if recorded { "yes" } else { "NO (lost)" });
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
