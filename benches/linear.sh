#!/usr/bin/env bash
# Costs that must grow with the input, not faster: each case at 1x and 4x its size, and the ratio
# (about 4 when linear, about 16 when quadratic). Usage: benches/linear.sh [STEPS] (default 5000)
#   check --no-shellcheck, many runbooks: STEPS/10 and 4*STEPS/10 generated pages (~10 steps each)
#   check --no-shellcheck, one runbook:   STEPS and 4*STEPS steps in one page (gen_corpus --blocks)
#   build (search off), one code line:    a `bash` block holding `echo aaa…` and a `json` block
#                                         holding a log line, of LINE and 4*LINE bytes (default 75000)
# PROFILE=debug builds a debug binary (ratios only); OPSBOOK=path times that binary instead of
# building one (e.g. a copy of an older build, for before/after). ROUNDS=3: median of the rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
steps="${1:-5000}"
line="${LINE:-75000}"
rounds="${ROUNDS:-3}"
profile="${PROFILE:-release}"
work="${WORK:-/tmp/opsbook-linear-bench}"
flag=(); [ "$profile" = release ] && flag=(--release)
cargo build "${flag[@]}" --quiet --example gen_corpus
gen="$PWD/target/$profile/examples/gen_corpus"
if [ -z "${OPSBOOK:-}" ]; then
  cargo build "${flag[@]}" --quiet --bin opsbook
  OPSBOOK="$PWD/target/$profile/opsbook"
fi
mkdir -p "$work"
seconds() { local start end; start=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; end=$(date +%s.%N); echo "$end - $start" | bc; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
timed() { local runs=(); for _ in $(seq "$rounds"); do runs+=("$(seconds "$@")"); done; printf '%s\n' "${runs[@]}" | median; }
no_search() { printf '\n[output.html.search]\nenable = false\n' >>"$1/book.toml"; }
# One log-like line of about $1 bytes: quotes, <, >, &, key=value pairs.
log_line() {
  awk -v n="$1" 'BEGIN { s = ""; i = 0; while (length(s) < n) { s = s sprintf("ts=2024-01-01T00:00:%02dZ level=error msg=\"req <%d> & retry\" path=/api/v1/items?id=%d code=500 ", i % 60, i, i); i++ } print substr(s, 1, n) }'
}
# `echo` and one word of about $1 bytes (one token: the worst case for syntect's bash syntax).
word_line() { printf 'echo '; head -c "$1" /dev/zero | tr '\0' a; echo; }
long_line_book() { # DIR LANG LINE-FUNCTION BYTES
  rm -rf "$1"; mkdir -p "$1/src"
  printf '[book]\ntitle = "long line"\nsrc = "src"\n' >"$1/book.toml"; no_search "$1"
  { printf '# One long line\n\n```%s\n' "$2"; "$3" "$4"; printf '```\n'; } >"$1/src/long.md"
}
report() { # LABEL T1 T4
  printf '%-46s 1x %7.2f s   4x %7.2f s   ratio %5.1f\n' "$1" "$2" "$3" "$(echo "$3 / $2" | bc -l)"
}
echo "opsbook: $OPSBOOK; $rounds round(s), median"

pages=$((steps / 10))
for scale in 1 4; do "$gen" --pages $((pages * scale)) --out "$work/pages-$scale" >/dev/null; done
report "check, $pages -> $((pages * 4)) runbooks" \
  "$(timed "$OPSBOOK" check "$work/pages-1" --no-shellcheck)" "$(timed "$OPSBOOK" check "$work/pages-4" --no-shellcheck)"

for scale in 1 4; do "$gen" --pages 1 --blocks $((steps * scale)) --out "$work/steps-$scale" >/dev/null; done
report "check, one runbook of $steps -> $((steps * 4)) blocks" \
  "$(timed "$OPSBOOK" check "$work/steps-1" --no-shellcheck)" "$(timed "$OPSBOOK" check "$work/steps-4" --no-shellcheck)"

# The highlight cache is removed before each round, so that every round highlights.
build() { rm -rf "$1/.opsbook"; "$OPSBOOK" build "$1" --dest-dir "$work/site"; }
for kind in bash:word_line json:log_line; do
  lang="${kind%%:*}"
  for scale in 1 4; do long_line_book "$work/line-$lang-$scale" "$lang" "${kind#*:}" $((line * scale)); done
  report "build, one $lang line of $line -> $((line * 4)) bytes" \
    "$(timed build "$work/line-$lang-1")" "$(timed build "$work/line-$lang-4")"
done
