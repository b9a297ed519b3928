#!/usr/bin/env bash
# Browser-terminal benchmark: keystroke to echo through `opsbook serve` and its WebSocket, next to
# the same shell in a pty of the benchmark's own. Usage: benches/terminal.sh [--keys N]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin opsbook --example terminal_bench
./target/release/examples/terminal_bench --opsbook target/release/opsbook "$@"
