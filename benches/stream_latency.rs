//! Output latency through the executor and its redaction (not a test): how long after a step
//! writes does a subscriber get it. Two steps: a line every 10 ms, and a progress bar (a partial
//! line redrawn with `\r` every 100 ms). Each write carries the time it was made (`date +%s%N`).
//!
//! `cargo run --example stream_latency -- [WRITES]` (default 100).
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opsbook::exec::{self, ProcessEvent, ProcessSpec, Redactor};

fn spec(dir: &Path, script: &str) -> ProcessSpec {
    ProcessSpec {
        shell: "bash".to_owned(),
        script: script.to_owned(),
        env: BTreeMap::new(),
        cwd: dir.to_path_buf(),
        timeout: Duration::from_secs(600),
        grace: Duration::from_secs(2),
        log_path: dir.join("latency.log"),
        log_limit: exec::DEFAULT_LOG_LIMIT,
        redactor: Redactor::with_process_env([]),
        capture_env: false,
        pty: None,
        gated: false,
    }
}

fn now_ns() -> i128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128)
}

/// Milliseconds from each stamped write to its arrival, sorted.
fn latencies(dir: &Path, script: &str) -> Vec<f64> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut found = runtime.block_on(async {
        let run = exec::start(spec(dir, script)).unwrap();
        let mut subscription = run.subscribe(0);
        let mut found = Vec::new();
        while let Some(ProcessEvent::Output(chunk)) = subscription.next().await {
            let arrived = now_ns();
            for stamp in
                chunk.text.split(['\n', '\r']).filter_map(|piece| piece.split(' ').next()?.parse::<i128>().ok())
            {
                found.push((arrived - stamp) as f64 / 1e6);
            }
        }
        found
    });
    found.sort_by(f64::total_cmp);
    found
}

fn report(what: &str, sorted: &[f64]) {
    let at = |p: f64| sorted[((sorted.len() as f64 - 1.0) * p).round() as usize];
    println!("  {what:<44} {:>5} {:>8.1} {:>8.1} {:>8.1}", sorted.len(), at(0.5), at(0.95), at(1.0));
}

fn main() {
    let writes: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100);
    let dir = tempfile::tempdir().unwrap();
    let lines = format!("for i in $(seq {writes}); do echo \"$(date +%s%N) line $i\"; sleep 0.01; done");
    let bar = format!(
        "for i in $(seq {writes}); do printf '\\r%s progress %3d%% [%-20s]' \"$(date +%s%N)\" $i \
         \"$(printf '%*s' $((i % 20)) '' | tr ' ' '=')\"; sleep 0.1; done; echo"
    );
    println!("write to subscriber (ms)                         count      p50      p95      max");
    report("a line every 10 ms", &latencies(dir.path(), &lines));
    report("a progress bar redrawn every 100 ms (no \\n)", &latencies(dir.path(), &bar));
}
