#!/usr/bin/env bash
# Session store benchmark: event appends on SQLite and PostgreSQL side by side, and a run's
# output from server A to an SSE client on server B through PostgreSQL.
# Usage: benches/store.sh POSTGRES_URL [--events N] [--lines N]
# POSTGRES_URL: a database opsbook may create its tables in (it is not emptied).
set -euo pipefail
cd "$(dirname "$0")/.."
url="${1:?usage: benches/store.sh postgres://USER:PASSWORD@127.0.0.1/DATABASE [--events N] [--lines N]}"
cargo build --release --quiet --bin opsbook --example store_bench
./target/release/examples/store_bench --opsbook target/release/opsbook --postgres "$url" "${@:2}"
