//! Console server benchmark (not a test): click-to-first-byte over loopback, live-reload
//! latency on a generated book, and the server's memory idle and under load.
//!
//! `benches/serve.sh` runs it; by hand:
//! `serve_bench --opsbook target/release/opsbook --book /tmp/book-1000 [--runs 200] [--load 50]`
//! (the book from `gen_corpus`; a `bench-echo.md` runbook is added to its `src/`).
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

#[path = "support/serve.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The server process, killed on drop.
struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Requests to the server, with its token.
#[derive(Clone)]
struct Client {
    base: String,
    token: String,
}

impl Client {
    fn post(&self, path: &str, body: Value) -> Value {
        support::post(&self.base, &self.token, path, &body)
    }

    /// Opens an SSE stream; returns its lines.
    fn stream(&self, path: &str) -> impl Iterator<Item = String> + use<> {
        let response = ureq::get(&format!("{}{path}", self.base))
            .header("Authorization", &format!("Bearer {}", self.token))
            .call()
            .unwrap();
        BufReader::new(response.into_body().into_reader()).lines().map_while(Result::ok)
    }
}

impl Server {
    fn rss_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let opsbook = PathBuf::from(arg("--opsbook").unwrap_or_else(|| "target/release/opsbook".to_owned()));
    let book = PathBuf::from(arg("--book").expect("--book DIR"));
    let runs: usize = arg("--runs").and_then(|r| r.parse().ok()).unwrap_or(200);
    let load: usize = arg("--load").and_then(|r| r.parse().ok()).unwrap_or(50);
    let src = book.join("src");
    std::fs::write(
        src.join("bench-echo.md"),
        "# Bench\n\n## Echo\n\n```bash {name=echo}\necho x\n```\n\n## Big\n\n```bash {name=big}\nhead -c 750000 /dev/zero | base64 -w 100\n```\n",
    )
    .unwrap();
    let summary = src.join("SUMMARY.md");
    let summary_before = std::fs::read_to_string(&summary).ok();
    if let Some(text) = &summary_before {
        std::fs::write(&summary, format!("{text}\n- [Bench](bench-echo.md)\n")).unwrap();
    }

    let began = Instant::now();
    let mut command = Command::new(&opsbook);
    command.args(["serve", "--port", "0"]).arg(&book);
    let (child, base, token) = support::start(command);
    let ready = began.elapsed().as_secs_f64();
    let client = Client { base, token };
    let server = Server { child };
    std::thread::sleep(Duration::from_secs(1));
    let idle = server.rss_kib("VmRSS:");
    let pages = std::fs::read_dir(&src).unwrap().count();
    println!("book: {} ({pages} files in src/)", book.display());
    println!("server ready (full build of the served site, search included): {ready:.2} s");
    println!("server RSS idle: {:.0} MiB", idle as f64 / 1024.0);

    // Click to first byte: POST the run, open its SSE stream, wait for the first output event.
    let session = client.post("/api/sessions", json!({"title": "bench"}))["id"].as_str().unwrap().to_owned();
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let began = Instant::now();
        let started =
            client.post(&format!("/api/sessions/{session}/runs"), json!({"runbook": "bench-echo.md", "step": "echo"}));
        let run_id = started["run_id"].as_str().unwrap().to_owned();
        let mut lines = client.stream(&format!("/api/runs/{run_id}/events"));
        assert!(lines.any(|l| l == "event: output"));
        times.push(began.elapsed().as_secs_f64() * 1000.0);
        assert!(lines.any(|l| l == "event: exit"));
    }
    times.sort_by(f64::total_cmp);
    println!(
        "click to first byte ({runs} runs): p50 {:.2} ms, p99 {:.2} ms",
        percentile(&times, 0.5),
        percentile(&times, 0.99)
    );

    // Live reload: edit one page, time until the reload event arrives.
    let (sender, events) = mpsc::channel::<Instant>();
    let reload_lines = client.stream("/api/reload");
    std::thread::spawn(move || {
        for line in reload_lines {
            if line == "event: reload" && sender.send(Instant::now()).is_err() {
                break;
            }
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    let page = pick_page(&src);
    let mut reloads = Vec::new();
    for round in 0..10 {
        let mut text = std::fs::read_to_string(&page).unwrap();
        text.push_str(&format!("\nEdited in round {round}.\n"));
        let began = Instant::now();
        std::fs::write(&page, text).unwrap();
        let at = events.recv_timeout(Duration::from_secs(30)).expect("a reload event");
        reloads.push(at.duration_since(began).as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_millis(300));
        while events.try_recv().is_ok() {}
    }
    reloads.sort_by(f64::total_cmp);
    println!(
        "live reload, one page of {pages} edited (10 rounds): median {:.0} ms, max {:.0} ms (includes the 30 ms debounce)",
        percentile(&reloads, 0.5),
        reloads.last().unwrap()
    );

    // Load: concurrent runs of about 1 MB each, each with its own SSE client. The server's RSS
    // is sampled meanwhile (its lifetime peak includes the startup build).
    let before_load = server.rss_kib("VmRSS:");
    let pid = server.child.id();
    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        std::thread::spawn(move || {
            let mut most = 0u64;
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                let now = status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                    .unwrap_or(0);
                most = most.max(now);
                std::thread::sleep(Duration::from_millis(10));
            }
            most
        })
    };
    let began = Instant::now();
    let handles: Vec<_> = (0..load)
        .map(|_| {
            let (client, session) = (client.clone(), session.clone());
            std::thread::spawn(move || {
                let started = client
                    .post(&format!("/api/sessions/{session}/runs"), json!({"runbook": "bench-echo.md", "step": "big"}));
                let run_id = started["run_id"].as_str().unwrap().to_owned();
                let bytes: usize = client
                    .stream(&format!("/api/runs/{run_id}/events"))
                    .take_while(|l| l != "event: exit")
                    .map(|l| l.len())
                    .sum();
                bytes
            })
        })
        .collect();
    let total: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let elapsed = began.elapsed().as_secs_f64();
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let under_load = sampler.join().unwrap();
    println!(
        "load: {load} concurrent runs, {:.0} MB of SSE in {elapsed:.1} s; server RSS before {:.0} MiB, highest during {:.0} MiB; lifetime peak (startup build included) {:.0} MiB",
        total as f64 / 1e6,
        before_load as f64 / 1024.0,
        under_load as f64 / 1024.0,
        server.rss_kib("VmHWM:") as f64 / 1024.0
    );
    let _ = std::fs::remove_file(src.join("bench-echo.md"));
    if let Some(text) = summary_before {
        std::fs::write(&summary, text).unwrap();
    }
}

fn pick_page(src: &Path) -> PathBuf {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("page-")))
        .collect();
    pages.sort();
    pages[pages.len() / 2].clone()
}
