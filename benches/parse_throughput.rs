//! Parser throughput against pulldown-cmark alone, on one core, in one run.
//!
//! `cargo run --release --example parse_throughput -- /tmp/opsbook-bench/src [ROUNDS]`
//! reads every `.md` file into memory, then alternates rounds of (a) pulldown-cmark walking
//! each file with source offsets and (b) `opsbook::parse::parse_runbook`, and prints MB/s of
//! each (best and median round) and their ratio.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Instant;

use opsbook::parse::{ParseOptions, parse_runbook};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "/tmp/opsbook-bench/src".to_owned());
    let rounds: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(7);
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("read the corpus folder (run gen_corpus first)")
        .filter_map(|e| {
            let path = e.ok()?.path();
            (path.extension()? == "md").then(|| (path.display().to_string(), std::fs::read_to_string(&path).unwrap()))
        })
        .collect();
    files.sort();
    let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
    let mb = bytes as f64 / 1e6;
    let options = ParseOptions::default();
    let (mut pulldown, mut ours) = (Vec::new(), Vec::new());
    let mut steps = 0usize;
    for _ in 0..rounds {
        let start = Instant::now();
        let mut events = 0usize;
        for (_, text) in &files {
            events += pulldown_cmark::Parser::new_ext(text, pulldown_cmark::Options::all()).into_offset_iter().count();
        }
        pulldown.push(start.elapsed().as_secs_f64());
        std::hint::black_box(events);

        let start = Instant::now();
        steps = 0;
        for (path, text) in &files {
            let parsed = parse_runbook(Path::new(path), path, text, &options);
            steps += parsed.runbook.steps.len();
        }
        ours.push(start.elapsed().as_secs_f64());
    }
    let summary = |times: &mut Vec<f64>| {
        times.sort_by(f64::total_cmp);
        (mb / times[0], mb / times[times.len() / 2])
    };
    let (p_best, p_median) = summary(&mut pulldown);
    let (o_best, o_median) = summary(&mut ours);
    println!("{} files, {:.1} MB, {steps} steps, {rounds} rounds", files.len(), mb);
    println!("pulldown-cmark alone : {p_best:6.1} MB/s best, {p_median:6.1} MB/s median");
    println!("opsbook parse        : {o_best:6.1} MB/s best, {o_median:6.1} MB/s median");
    println!("ratio (opsbook/pulldown, median): {:.2}", o_median / p_median);
}
