#!/usr/bin/env bash
# Parser benchmark: generates a deterministic book, then measures
#  1. parser throughput against pulldown-cmark alone, in one process, alternating rounds;
#  2. `opsbook list --json` over the whole book, end to end (hyperfine, if installed).
# Usage: benches/parse.sh [PAGES] [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
pages="${1:-1000}"
out="${2:-/tmp/opsbook-bench}"
cargo build --release --quiet --bin opsbook --example gen_corpus --example parse_throughput
rm -rf "$out"
./target/release/examples/gen_corpus --pages "$pages" --out "$out"
./target/release/examples/parse_throughput "$out/src" 9
if command -v hyperfine >/dev/null; then
  hyperfine --warmup 2 --runs 10 "./target/release/opsbook list --json $out > /dev/null"
else
  echo "hyperfine not installed (apt-get install hyperfine): skipping the end-to-end timing"
fi
