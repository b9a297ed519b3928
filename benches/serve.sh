#!/usr/bin/env bash
# Console server benchmark: click-to-first-byte, live-reload latency and RSS on a generated book,
# next to a full `opsbook build` of the same book. Usage: benches/serve.sh [PAGES] (default 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
pages="${1:-1000}"
work="${WORK:-/tmp/opsbook-serve-bench}"
cargo build --release --quiet --bin opsbook --example gen_corpus --example serve_bench
book="$work/book-$pages"
rm -rf "$book"
./target/release/examples/gen_corpus --pages "$pages" --out "$book" >/dev/null
start=$(date +%s.%N)
./target/release/opsbook build "$book" --dest-dir "$work/site-$pages" >/dev/null 2>&1
end=$(date +%s.%N)
echo "full build (opsbook build, $pages pages): $(echo "$end - $start" | bc) s"
./target/release/examples/serve_bench --opsbook target/release/opsbook --book "$book" "${@:2}"
