//! Deterministic generator of runbook books for benchmarks.
//!
//! `cargo run --release --example gen_corpus -- --pages 1000 --out /tmp/opsbook-bench`
//! writes `book.toml` and `src/page-NNNN.md`: pages of about 6 KB with 8-12 shell blocks each
//! (commands, comments, placeholders, prompts, continuations), prose, tables and links, the same
//! bytes for the same `--seed`. `--blocks N` gives every page N blocks instead (`--pages 1
//! --blocks 20000`: one runbook with 20 000 steps).
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::path::PathBuf;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const SERVICES: &[&str] = &["checkout", "payments", "search", "auth", "billing", "catalog", "ledger", "gateway"];
const COMMANDS: &[&str] = &[
    "kubectl get pods -n {svc} -o wide",
    "kubectl describe pod <pod-name> -n {svc}",
    "kubectl logs deployment/{svc}-api -n {svc} --tail=200 | grep -i error | tail -50",
    "kubectl rollout restart deployment/{svc}-api -n {svc}",
    "kubectl rollout history deployment/{svc}-api -n {svc}",
    "kubectl scale deployment/{svc}-worker -n {svc} --replicas=<replicas>",
    "curl -fsS https://{svc}.example.com/healthz",
    "redis-cli -h redis.{svc} LLEN {svc}:queue:default",
    "psql -h db.{svc} -U postgres -c \"SELECT count(*) FROM pg_stat_activity;\"",
    "aws rds describe-db-instances --db-instance-identifier {svc}-primary",
    "systemctl status {svc}.service",
    "journalctl -u {svc}.service --since \"-15 min\" | tail -n 100",
    "export NAMESPACE={svc}",
    "curl -X POST https://status.example.com/api/incidents -H \"Authorization: Bearer $STATUS_PAGE_TOKEN\" -d '{\"status\":\"investigating\"}'",
];
const WORDS: &[&str] = &[
    "the",
    "service",
    "latency",
    "error",
    "rate",
    "pods",
    "restart",
    "check",
    "when",
    "alert",
    "fires",
    "database",
    "connections",
    "queue",
    "depth",
    "rollback",
    "deploy",
    "traffic",
    "customers",
    "impact",
    "mitigate",
    "verify",
];

fn sentence(rng: &mut Rng) -> String {
    let n = 5 + rng.below(8);
    let mut s: Vec<&str> = (0..n).map(|_| rng.pick(WORDS)).collect();
    let first = s[0].to_owned();
    let mut out = String::new();
    out.push_str(&first[..1].to_uppercase());
    out.push_str(&first[1..]);
    s.remove(0);
    for w in s {
        out.push(' ');
        out.push_str(w);
    }
    out.push('.');
    out
}

fn page(rng: &mut Rng, index: usize, pages: usize, blocks: Option<usize>) -> String {
    let svc = rng.pick(SERVICES);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "---\ntitle: {svc} runbook {index}\nseverity: SEV{}\ntags: [{svc}, generated]\n---\n",
        1 + rng.below(4)
    );
    let _ = writeln!(out, "# {svc} runbook {index}\n\n{}\n", sentence(rng));
    let blocks = blocks.unwrap_or_else(|| 8 + rng.below(5));
    for b in 0..blocks {
        let _ = writeln!(out, "## Step {b}: {}\n", sentence(rng).trim_end_matches('.'));
        let _ = writeln!(out, "{}\n", sentence(rng));
        if rng.below(4) == 0 {
            let _ = writeln!(out, "| Signal | Threshold |\n|---|---|\n| errors | 5% |\n| p99 | 800ms |\n");
        }
        let prompted = rng.below(5) == 0;
        let _ = writeln!(out, "```{}", if prompted { "console" } else { "bash" });
        for c in 0..2 + rng.below(4) {
            let command = rng.pick(COMMANDS).replace("{svc}", svc);
            if prompted {
                let _ = writeln!(out, "$ {command}\nok {c}");
            } else {
                let _ = writeln!(out, "# {c}. {}", sentence(rng).trim_end_matches('.'));
                if rng.below(6) == 0 {
                    let _ = writeln!(out, "{command} \\\n  --request-timeout=30s");
                } else {
                    let _ = writeln!(out, "{command}");
                }
            }
        }
        let _ = writeln!(out, "```\n");
    }
    let _ = writeln!(out, "See also [the next page](page-{:04}.md).", (index + 1) % pages);
    out
}

fn main() {
    let mut pages = 1000usize;
    let mut out = PathBuf::from("/tmp/opsbook-bench");
    let mut seed = 42u64;
    let mut blocks = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--pages" => pages = args.next().and_then(|v| v.parse().ok()).expect("--pages N"),
            "--out" => out = PathBuf::from(args.next().expect("--out DIR")),
            "--seed" => seed = args.next().and_then(|v| v.parse().ok()).expect("--seed N"),
            "--blocks" => blocks = Some(args.next().and_then(|v| v.parse().ok()).expect("--blocks N")),
            other => panic!("unknown argument `{other}`; use --pages N --out DIR [--seed N] [--blocks N]"),
        }
    }
    let src = out.join("src");
    std::fs::create_dir_all(&src).expect("create the output folder");
    std::fs::write(out.join("book.toml"), "[book]\ntitle = \"Generated runbooks\"\nsrc = \"src\"\n\n[output.html]\n")
        .unwrap();
    let mut rng = Rng(seed.max(1));
    let mut bytes = 0usize;
    // mdBook needs a SUMMARY.md; opsbook follows it too, so both build the same pages.
    let mut summary = String::from("# Summary\n\n");
    for index in 0..pages {
        let text = page(&mut rng, index, pages, blocks);
        bytes += text.len();
        std::fs::write(src.join(format!("page-{index:04}.md")), text).unwrap();
        let _ = writeln!(summary, "- [Page {index}](page-{index:04}.md)");
    }
    std::fs::write(src.join("SUMMARY.md"), summary).unwrap();
    println!(
        "wrote {pages} pages, {bytes} bytes ({:.1} KB/page) to {}",
        bytes as f64 / pages as f64 / 1024.0,
        src.display()
    );
}
