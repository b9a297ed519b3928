//! Executor benchmark (not a test): spawn-to-first-output-byte latency of a trivial step against
//! a bare `bash -c` measured in the same run, and the throughput of a step printing 100 MB.
//!
//! `cargo run --release --example exec_bench -- [RUNS] [MEGABYTES]` (defaults 200 and 100).
//! See BENCHMARKS.md.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use opsbook::exec::{self, ProcessEvent, ProcessSpec, Redactor};

fn spec(dir: &Path, script: &str, log_limit: u64) -> ProcessSpec {
    ProcessSpec {
        shell: "bash".to_owned(),
        script: script.to_owned(),
        env: BTreeMap::new(),
        cwd: dir.to_path_buf(),
        timeout: Duration::from_secs(600),
        grace: Duration::from_secs(2),
        log_path: dir.join("bench.log"),
        log_limit,
        redactor: Redactor::with_process_env([]),
        capture_env: true,
        pty: None,
        gated: false,
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

/// Peak resident set of this process so far, in KiB (Linux `VmHWM`).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let megabytes: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();

    // The recorded path too: a session store, the `run-started` event, the run's context.
    let parsed = opsbook::parse::parse_runbook(
        Path::new("bench.md"),
        "bench.md",
        "# Bench\n\n```bash {name=echo}\necho x\n```\n",
        &opsbook::parse::ParseOptions::default(),
    );
    let runbook = parsed.runbook;
    let config = opsbook::config::OpsbookConfig::default();
    let store = std::sync::Arc::new(opsbook::session::SqliteStore::for_book(dir.path()).unwrap());
    let runner = opsbook::runner::Runner::new(store.clone(), dir.path());
    let actor = opsbook::session::Actor::local("bench");
    let session =
        opsbook::session::SessionStore::create(&*store, "bench", "SEV4", &actor, opsbook::clock::now_ms()).unwrap();

    // Alternate the three so that machine noise falls on all alike.
    let (mut bare, mut opsbook, mut recorded) = (Vec::with_capacity(runs), Vec::with_capacity(runs), Vec::new());
    for _ in 0..runs {
        let began = Instant::now();
        let mut child = Command::new("bash").args(["-c", "echo x"]).stdout(Stdio::piped()).spawn().unwrap();
        let mut byte = [0u8; 1];
        child.stdout.take().unwrap().read_exact(&mut byte).unwrap();
        bare.push(began.elapsed().as_secs_f64() * 1000.0);
        child.wait().unwrap();

        let elapsed = runtime.block_on(async {
            let began = Instant::now();
            let run = exec::start(spec(dir.path(), "echo x", exec::DEFAULT_LOG_LIMIT)).unwrap();
            let mut subscription = run.subscribe(0);
            let first = subscription.next().await;
            let elapsed = began.elapsed();
            assert!(matches!(first, Some(ProcessEvent::Output(_))));
            run.wait().await;
            elapsed
        });
        opsbook.push(elapsed.as_secs_f64() * 1000.0);

        let elapsed = runtime.block_on(async {
            let request = opsbook::runner::RunRequest {
                session_id: &session.id,
                runbook: &runbook,
                step: &runbook.steps[0],
                selection: opsbook::exec::script::Selection::All,
                config: &config,
                inputs: Default::default(),
                confirmed: false,
                confirmed_plan: None,
                cwd: dir.path().to_path_buf(),
                actor: actor.clone(),
                pty: None,
            };
            let began = Instant::now();
            let started = runner.start(request).await.unwrap();
            let mut subscription = started.run.subscribe(0);
            let first = subscription.next().await;
            let elapsed = began.elapsed();
            assert!(matches!(first, Some(ProcessEvent::Output(_))));
            started.recorded.await.unwrap().unwrap();
            elapsed
        });
        recorded.push(elapsed.as_secs_f64() * 1000.0);
    }
    recorded.sort_by(f64::total_cmp);
    bare.sort_by(f64::total_cmp);
    opsbook.sort_by(f64::total_cmp);
    println!("spawn to first output byte, {runs} runs each (ms)");
    println!("  {:<28} {:>8} {:>8}", "", "p50", "p99");
    println!("  {:<28} {:>8.2} {:>8.2}", "bash -c 'echo x' (bare)", percentile(&bare, 0.5), percentile(&bare, 0.99));
    println!("  {:<28} {:>8.2} {:>8.2}", "opsbook exec::start", percentile(&opsbook, 0.5), percentile(&opsbook, 0.99));
    println!(
        "  {:<28} {:>8.2} {:>8.2}",
        "opsbook Runner (recorded)",
        percentile(&recorded, 0.5),
        percentile(&recorded, 0.99)
    );
    println!(
        "  {:<28} {:>8.2} {:>8.2}",
        "difference (exec - bare)",
        percentile(&opsbook, 0.5) - percentile(&bare, 0.5),
        percentile(&opsbook, 0.99) - percentile(&bare, 0.99)
    );

    let bytes = megabytes * 1_000_000;
    let script =
        format!("yes 'opsbook throughput line: the quick brown fox jumps over the lazy dog' | head -c {bytes}");
    let began = Instant::now();
    let status =
        Command::new("bash").args(["-c", &format!("{script} > '{}'", dir.path().join("bare.out").display())]).status();
    assert!(status.unwrap().success());
    let bare_secs = began.elapsed().as_secs_f64();

    let rss_before = peak_rss_kib();
    let began = Instant::now();
    let outcome = runtime.block_on(async {
        let run = exec::start(spec(dir.path(), &script, bytes + 1024)).unwrap();
        run.wait().await
    });
    let secs = began.elapsed().as_secs_f64();
    let rss_after = peak_rss_kib();
    assert_eq!(outcome.output_bytes, bytes);
    let log = std::fs::metadata(dir.path().join("bench.log")).unwrap().len();
    println!("\na step printing {megabytes} MB");
    println!("  bare pipe to a file       {:>8.0} MB/s ({bare_secs:.2} s)", megabytes as f64 / bare_secs);
    println!(
        "  opsbook to its log        {:>8.0} MB/s ({secs:.2} s; log {:.1} MB as JSON lines)",
        megabytes as f64 / secs,
        log as f64 / 1e6
    );
    println!("  peak RSS growth           {:>8.1} MB", (rss_after.saturating_sub(rss_before)) as f64 / 1024.0);
}
