#!/usr/bin/env bash
# Issue 12: `convert --to stream-import` and `validate --import` against
# `inspect` on the same file, in one run (same machine state). Prints a
# Markdown table: median wall time of RUNS runs, and the peak anonymous
# memory (RssAnon: heap and stacks, no mapped file pages) of one more run.
#   DATA=/work/bench-data RUNS=3 bench/import.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-/work/bench-data}
RUNS=${RUNS:-3}
FILE=${FILE:-$DATA/export-v2-1GiB-seed1.jsonl}
OUT=${OUT:-$DATA/out}
BIN=target/release/stream-chat-export
mkdir -p "$OUT"
cargo build --release -q -p stream-chat-export-cli
IMPORT="$OUT/import.jsonl"
cmds=(
    "inspect|$BIN inspect $FILE"
    "convert --to stream-import|$BIN convert --to stream-import -q --no-progress --max-size 100GB --out $IMPORT $FILE"
    "validate --import (of the converted file)|$BIN validate --import $IMPORT"
)
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
peak_anon_kb() {
    bash -c "$1" >/dev/null 2>&1 &
    local pid=$! peak=0 kb
    while kill -0 "$pid" 2>/dev/null; do
        kb=$(awk '/^RssAnon:/{print $2}' "/proc/$pid/status" 2>/dev/null || true)
        [ -n "$kb" ] && [ "$kb" -gt "$peak" ] && peak=$kb
        sleep 0.01
    done
    wait "$pid" || true
    echo "$peak"
}
# Warm the page cache (and write the import file the validator reads).
for c in "${cmds[@]}"; do bash -c "${c#*|}" >/dev/null 2>&1; done
echo "file: $FILE ($(stat -c %s "$FILE") bytes); import file: $(stat -c %s "$IMPORT") bytes"
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD)"
echo
echo "| command | median s | MB/s of its input | x inspect | peak anon MB |"
echo "|---|---|---|---|---|"
base=""
for c in "${cmds[@]}"; do
    name=${c%%|*}; cmd=${c#*|}
    times=()
    for _ in $(seq "$RUNS"); do
        s=$(date +%s.%N); bash -c "$cmd" >/dev/null 2>&1; e=$(date +%s.%N)
        times+=("$(echo "$e - $s" | bc)")
    done
    med=$(printf '%s\n' "${times[@]}" | median)
    [ -z "$base" ] && base=$med
    input=$FILE; [[ $name == validate* ]] && input=$IMPORT
    mbs=$(echo "$(stat -c %s "$input") / $med / 1000000" | bc)
    anon=$(peak_anon_kb "$cmd")
    printf '| `%s` | %.2f | %s | %.1fx | %d |\n' "$name" "$med" "$mbs" "$(echo "$med / $base" | bc -l)" $((anon / 1024))
done
