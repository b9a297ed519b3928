#!/usr/bin/env bash
# `opsbook check` against `opsbook build` on the same generated book, with and without
# shellcheck, alternating, in one go. Usage: benches/check.sh [PAGES] (default 1000)
# Needs shellcheck on PATH for the third column (Debian: apt-get install shellcheck).
set -euo pipefail
cd "$(dirname "$0")/.."
pages="${1:-1000}"
rounds="${ROUNDS:-3}"
work="${WORK:-/tmp/opsbook-check-bench}"
cargo build --release --quiet --bin opsbook --example gen_corpus
opsbook="$PWD/target/release/opsbook"
book="$work/book-$pages"
rm -rf "$book"
./target/release/examples/gen_corpus --pages "$pages" --out "$book" >/dev/null
steps=$("$opsbook" list --json "$book" | grep -c '"id":' || true)
echo "book: $pages pages, $steps steps; shellcheck: $(command -v shellcheck || echo 'not installed')"
seconds() { local start end; start=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; end=$(date +%s.%N); echo "$end - $start" | bc; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
build=(); plain=(); full=()
for _ in $(seq "$rounds"); do
  rm -rf "$book/.opsbook" "$work/site"
  build+=("$(seconds "$opsbook" build "$book" --dest-dir "$work/site")")
  plain+=("$(seconds "$opsbook" check "$book" --no-shellcheck)")
  full+=("$(seconds "$opsbook" check "$book")")
done
b=$(printf '%s\n' "${build[@]}" | median); p=$(printf '%s\n' "${plain[@]}" | median); f=$(printf '%s\n' "${full[@]}" | median)
printf 'median of %s rounds (s): build %.2f | check without shellcheck %.2f (%.2fx build) | check with shellcheck %.2f (%.2fx build)\n' \
  "$rounds" "$b" "$p" "$(echo "$p / $b" | bc -l)" "$f" "$(echo "$f / $b" | bc -l)"
printf 'per step: bash -n path %.3f ms, with shellcheck %.3f ms\n' "$(echo "$p * 1000 / $steps" | bc -l)" "$(echo "$f * 1000 / $steps" | bc -l)"
