#!/usr/bin/env bash
# Site build benchmark: opsbook build against mdbook build on the same generated books, runs
# alternating, in one go. Reports wall time and peak RSS (/usr/bin/time -v), output bytes, a
# rebuild with nothing changed, and the bytes a browser fetches for one search query.
# Usage: benches/site.sh [PAGES...]   (default: 1000 5000)
# Needs: mdbook on PATH (`cargo install mdbook --locked`), GNU time (/usr/bin/time); for the
# search bytes, node and Debian's chromium (the script installs playwright-core into a temp dir).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-1000 5000}")
# shellcheck disable=SC2206
sizes=(${sizes[@]})
rounds="${ROUNDS:-3}"
work="${WORK:-/tmp/opsbook-site-bench}"
command -v mdbook >/dev/null || { echo "mdbook is not on PATH: cargo install mdbook --locked"; exit 2; }
[ -x /usr/bin/time ] || { echo "GNU time is missing: apt-get install time"; exit 2; }
cargo build --release --quiet --bin opsbook --example gen_corpus
opsbook="$PWD/target/release/opsbook"
echo "opsbook $("$opsbook" --version | cut -d' ' -f2), $(mdbook --version)"

measure() { # label, command...: prints "seconds max_rss_kb"
  local log; log=$(mktemp)
  /usr/bin/time -v "${@}" >/dev/null 2>"$log" || { cat "$log"; exit 1; }
  local wall rss
  wall=$(grep 'Elapsed (wall clock)' "$log" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(grep 'Maximum resident set size' "$log" | awk '{print $NF}')
  rm -f "$log"
  echo "$wall $rss"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

for pages in "${sizes[@]}"; do
  book="$work/book-$pages"
  rm -rf "$book"
  ./target/release/examples/gen_corpus --pages "$pages" --out "$book" >/dev/null
  ob_wall=(); ob_rss=(); md_wall=(); md_rss=(); re_wall=()
  for round in $(seq "$rounds"); do
    rm -rf "$book/out-opsbook" "$book/.opsbook" "$book/out-mdbook"
    read -r w r < <(measure "$opsbook" build "$book" --dest-dir "$book/out-opsbook"); ob_wall+=("$w"); ob_rss+=("$r")
    read -r w r < <(measure mdbook build "$book" -d "$book/out-mdbook"); md_wall+=("$w"); md_rss+=("$r")
    read -r w r < <(measure "$opsbook" build "$book" --dest-dir "$book/out-opsbook"); re_wall+=("$w")
  done
  ow=$(printf '%s\n' "${ob_wall[@]}" | median); orss=$(printf '%s\n' "${ob_rss[@]}" | median)
  mw=$(printf '%s\n' "${md_wall[@]}" | median); mrss=$(printf '%s\n' "${md_rss[@]}" | median)
  rw=$(printf '%s\n' "${re_wall[@]}" | median)
  obytes=$(du -sb "$book/out-opsbook" | cut -f1); mbytes=$(du -sb "$book/out-mdbook" | cut -f1)
  echo
  echo "== $pages pages ($(du -sb "$book/src" | cut -f1) bytes of Markdown), median of $rounds alternating rounds"
  awk -v ow="$ow" -v mw="$mw" -v orss="$orss" -v mrss="$mrss" -v rw="$rw" -v ob="$obytes" -v mb="$mbytes" 'BEGIN {
    printf "%-28s %12s %12s %8s\n", "", "opsbook", "mdbook", "ratio"
    printf "%-28s %11.2fs %11.2fs %8.3f\n", "wall, cold build", ow, mw, ow/mw
    printf "%-28s %10.0fMB %10.0fMB %8.3f\n", "peak RSS", orss/1024, mrss/1024, orss/mrss
    printf "%-28s %10.1fMB %10.1fMB %8.3f\n", "output", ob/1e6, mb/1e6, ob/mb
    printf "%-28s %11.2fs %12s %8.3f\n", "rebuild, nothing changed", rw, "-", rw/ow
  }'
  if command -v node >/dev/null && [ -x /usr/bin/chromium ]; then
    node_modules="$work/node"
    [ -d "$node_modules/node_modules/playwright-core" ] || npm install --silent --prefix "$node_modules" playwright-core@1 >/dev/null
    PLAYWRIGHT_CORE="$node_modules/node_modules/playwright-core/index.mjs" node benches/search-bytes.mjs "$book/out-opsbook" "$book/out-mdbook" "kubectl rollout restart"
  else
    echo "search bytes: skipped (needs node and /usr/bin/chromium)"
  fi
done
