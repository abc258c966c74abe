#!/usr/bin/env bash
# Issue 14: our CLI, DuckDB and jq against the newline-count floor
# (`wc -l`) on five shapes of export made by examples/generate.rs:
#
#   default   v2 lines, today's shape (--profile default)
#   stream    v2 lines, Stream's key order, Go-escaped html on every message,
#             full user objects in mentioned_users/pinned_by (--profile stream)
#   reactions v2 lines, mostly short reaction and read lines (--profile reactions)
#   v1        one v1 document (--profile stream --format v1)
#   gzip      v2 lines, default profile, gzipped (--gzip)
#
#   bench/shapes.sh                          # 512MiB files, 3 runs each
#   SIZE=64MiB RUNS=1 bench/shapes.sh        # quick check
#   SHAPES="stream v1" bench/shapes.sh       # a subset
#
# Environment:
#   SIZE=512MiB     uncompressed size of each generated file
#   SEED=1          generator seed
#   RUNS=3          hyperfine --runs (plus --warmup 1)
#   THREADS=2       DuckDB `SET threads`
#   SHAPES="default stream reactions v1 gzip"
#   DATA=/work/bench-data   where the files, the DuckDB venv and outputs go
#                           (files are generated only when missing)
#
# Per shape, ONE hyperfine run times every command (same machine state):
# wc -l, our inspect --json, stats --json, filter by user, filter by month,
# DuckDB count per type, jq count per type. Each command runs once first to
# check it works and that its answer equals the generator's --stats-json
# oracle; a command that fails is reported as `failed` and left out of the
# timing (DuckDB on a v1 document may fail: objects too large for it).
# Output: one Markdown table per shape on stdout (also in
# $DATA/shapes-results.md); hyperfine JSON in $DATA/hyperfine/shapes-*.json,
# each command's output in $DATA/out/shapes-*.txt.
set -euo pipefail

cd "$(dirname "$0")/.."
SIZE=${SIZE:-512MiB}
SEED=${SEED:-1}
RUNS=${RUNS:-3}
THREADS=${THREADS:-2}
SHAPES=${SHAPES:-"default stream reactions v1 gzip"}
DATA=${DATA:-/work/bench-data}
USER_ID=user-17
SINCE=2024-03-01T00:00:00Z
UNTIL=2024-04-01T00:00:00Z
TARGET=${CARGO_TARGET_DIR:-target}
CLI=$TARGET/release/stream-chat-export
GEN=$TARGET/release/examples/generate

log() { echo "== $*" >&2; }
has() { command -v "$1" >/dev/null 2>&1; }
mkdir -p "$DATA/hyperfine" "$DATA/out"
# shellcheck source=bench/pin.sh
. bench/pin.sh

# ------------------------------------------------------------ install ----
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
APT_UPDATED=0
apt_install() {
    if [ "$APT_UPDATED" = 0 ]; then
        $SUDO apt-get update -qq >/dev/null 2>&1 || true
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}
has jq || { log "installing jq"; apt_install jq; }
has hyperfine || { log "installing hyperfine"; apt_install hyperfine; }
has vmtouch || { log "installing vmtouch"; apt_install vmtouch || true; }
has python3 || { log "installing python3"; apt_install python3 python3-venv; }

VENV="$DATA/venv"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import duckdb' 2>/dev/null; then
    log "installing duckdb into $VENV"
    python3 -m venv "$VENV" || { apt_install python3-venv && python3 -m venv "$VENV"; }
    "$VENV/bin/pip" install -q duckdb
fi
DUCKQ="$DATA/duckq-shapes.py" # not compare.sh's duckq.py: this one has a "columns" mode
cat >"$DUCKQ" <<'EOF'
import sys, duckdb
con = duckdb.connect()
con.execute(f"SET threads={int(sys.argv[1])}")
cur = con.execute(sys.argv[2])
rows = cur.fetchall()
if len(sys.argv) > 3 and sys.argv[3] == "columns":  # one row: name<TAB>value per column
    for (name, *_), value in zip(cur.description, rows[0]):
        print(name, value, sep="\t")
else:
    for row in rows:
        print(*row, sep="\t")
EOF
DUCKDB_VERSION=$("$VENV/bin/python" -c 'import duckdb; print(duckdb.__version__)')

# ------------------------------------------------------------- build ----
log "cargo build --release (CLI and generator)"
cargo build --release -q
cargo build --release -q --example generate

# ------------------------------------------------------------- files ----
file_of() { # shape -> path (the default v2 file is named as in bench/compare.sh)
    case $1 in
    default) echo "$DATA/export-v2-$SIZE-seed$SEED.jsonl" ;;
    stream) echo "$DATA/export-v2-stream-$SIZE-seed$SEED.jsonl" ;;
    reactions) echo "$DATA/export-v2-reactions-$SIZE-seed$SEED.jsonl" ;;
    v1) echo "$DATA/export-v1-stream-$SIZE-seed$SEED.json" ;;
    gzip) echo "$DATA/export-v2-$SIZE-seed$SEED.jsonl.gz" ;;
    *) echo "unknown shape $1" >&2; return 1 ;;
    esac
}
gen_args() {
    case $1 in
    default) echo "--profile default --format v2" ;;
    stream) echo "--profile stream --format v2" ;;
    reactions) echo "--profile reactions --format v2" ;;
    v1) echo "--profile stream --format v1" ;;
    gzip) echo "--profile default --format v2 --gzip" ;;
    esac
}

# -------------------------------------------------------- commands ----
# commands SHAPE FILE -> lines "label<TAB>check<TAB>command"; the check says
# how to compare the command's output with the oracle (see check_answer).
commands() {
    local shape=$1 f=$2 sql
    if [ "$shape" = gzip ]; then
        printf '%s\t%s\t%s\n' "zcat FILE | wc -l" lines "zcat $f | wc -l"
    else
        printf '%s\t%s\t%s\n' "wc -l FILE" lines "wc -l < $f"
    fi
    printf '%s\t%s\t%s\n' "ours: inspect --json" counts_json "$CLI inspect --json $f"
    printf '%s\t%s\t%s\n' "ours: stats --json" counts_json "$CLI stats --json $f"
    printf '%s\t%s\t%s\n' "ours: filter --kind message --user $USER_ID" user_lines \
        "$CLI filter --kind message --user $USER_ID $f"
    printf '%s\t%s\t%s\n' "ours: filter --kind message --since $SINCE --until $UNTIL" window_lines \
        "$CLI filter --kind message --since $SINCE --until $UNTIL $f"
    if [ "$shape" = v1 ]; then
        sql="SELECT count(*) AS channel, sum(len(messages)) AS message, sum(len(members)) AS member FROM read_json_auto('$f', maximum_object_size=2147483647)"
        printf '%s\t%s\t%s\n' "duckdb: count per kind, read_json_auto (threads=$THREADS)" counts_tsv \
            "$VENV/bin/python $DUCKQ $THREADS \"$sql\" columns"
        printf '%s\t%s\t%s\n' "jq: {channel: length, message/member: sum of lengths}" counts_json \
            "jq -c '{channel: length, message: (map(.messages | length) | add), member: (map(.members | length) | add)}' $f"
    else
        sql="SELECT type, count(*) FROM read_ndjson_auto('$f') GROUP BY 1 ORDER BY 1"
        printf '%s\t%s\t%s\n' "duckdb: count per type, read_ndjson_auto (threads=$THREADS)" counts_tsv \
            "$VENV/bin/python $DUCKQ $THREADS \"$sql\""
        local jq_="jq -n -c 'reduce inputs as \$l ({}; .[\$l.type] += 1)'"
        if [ "$shape" = gzip ]; then
            printf '%s\t%s\t%s\n' "zcat FILE | jq: reduce inputs count per type" counts_json "zcat $f | $jq_"
        else
            printf '%s\t%s\t%s\n' "jq: reduce inputs count per type" counts_json "$jq_ $f"
        fi
    fi
}

# check_answer CHECK OUTPUT STATS -> "= oracle" or what differs
check_answer() {
    python3 - "$@" <<'PY'
import json, sys
check, out, stats = sys.argv[1:]
S = json.load(open(stats))
text = open(out, encoding="utf-8", errors="replace").read()
nz = lambda d: {k: int(v) for k, v in d.items() if v}
want = nz(S["counts"])
try:
    if check == "lines":
        got, want = int(text.split()[0]), S["lines"]
    elif check == "counts_json":
        # split("\n"), not splitlines(): JSON may hold U+2028 and its kin raw.
        o = json.loads(text.split("\n")[0])
        got = nz(o.get("counts", o))
    elif check == "counts_tsv":
        got = nz({k: v for k, v in (l.split("\t") for l in text.splitlines() if l)})
    elif check == "user_lines":
        got, want = text.count("\n"), S["track_user_counts"]["message"]
    elif check == "window_lines":
        got, want = text.count("\n"), S["window"]["counts"]["message"]
    print("= oracle" if got == want else f"differs: {got} (oracle {want})")
except Exception as e:  # an answer we cannot read
    print(f"unreadable answer ({type(e).__name__})")
PY
}

# ---------------------------------------------------------------- run ----
MODEL=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n1)
COMMIT=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src cli examples 2>/dev/null || echo "+dirty")
REPORT="$DATA/shapes-results.md"
{
    echo "# Shapes benchmark (bench/shapes.sh)"
    echo
    echo "- Date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "- Machine: $MODEL, nproc $(nproc), load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- Commit: $COMMIT"
    echo "- Tools: $("$CLI" --version 2>/dev/null | head -n1); duckdb $DUCKDB_VERSION (Python, threads=$THREADS); $(jq --version); $(hyperfine --version)"
    echo "- Method: SIZE=$SIZE SEED=$SEED; page cache warmed; one \`hyperfine --warmup 1 --runs $RUNS\` per shape over"
    echo "  all its commands; median wall time; \"x wc -l\" = median / median of the shape's wc -l row;"
    echo "  \"answer\" compares the command's output (one extra run) with the generator's --stats-json."
    echo "  DuckDB times include starting Python and importing duckdb."
} >"$REPORT"
cat "$REPORT"

SEP=$'\t'
for shape in $SHAPES; do
    f=$(file_of "$shape")
    st="$f.stats.json"
    if [ -s "$f" ] && [ -s "$st" ]; then
        log "$shape: reusing $f"
    else
        log "$shape: generating $f"
        # shellcheck disable=SC2046
        "$GEN" --size "$SIZE" --seed "$SEED" $(gen_args "$shape") --out "$f" --stats-json "$st"
    fi
    log "$shape: warming the page cache"
    cat "$f" >/dev/null
    pin "$f"
    pinned=$PIN_STATE
    log "$shape: $pinned"

    labels=() answers=() hf_args=()
    i=0
    while IFS=$SEP read -r label check cmd; do
        i=$((i + 1))
        out="$DATA/out/shapes-$shape-$i.txt"
        log "$shape: $label"
        if bash -c "$cmd" </dev/null >"$out" 2>"$out.err"; then
            answers+=("$(check_answer "$check" "$out" "$st")")
            hf_args+=(--command-name "$label" "$cmd")
        else
            answers+=("failed (exit $?): $(tail -n1 "$out.err" | cut -c1-100 | tr '|' '/')")
        fi
        labels+=("$label")
    done < <(commands "$shape" "$f")

    hf="$DATA/hyperfine/shapes-$shape.json"
    rm -f "$hf"
    if [ "${#hf_args[@]}" -gt 0 ]; then
        hyperfine --warmup 1 --runs "$RUNS" --export-json "$hf" "${hf_args[@]}" >&2 ||
            log "$shape: hyperfine failed"
    fi

    {
        echo
        bytes=$(stat -c %s "$f")
        desc=$(jq -r '"\(.format), profile \(.profile // "default"), \(.bytes) bytes uncompressed, \(.lines) lines; counts: "
            + (.counts | to_entries | map(select(.value > 0) | "\(.key) \(.value)") | join(", "))' "$st")
        echo "## $shape: \`$(basename "$f")\` ($bytes bytes on disk, $pinned; $desc)"
        echo
        echo "| command | median s | x wc -l | answer |"
        echo "|---|---:|---:|---|"
        wc_median=""
        [ -s "$hf" ] && wc_median=$(jq -r '.results[] | select(.command | test("wc -l")) | .median' "$hf" | head -n1)
        for k in "${!labels[@]}"; do
            label=${labels[$k]}
            cell=${label//|/\\|} # a pipe would end the Markdown cell
            median=""
            [ -s "$hf" ] && median=$(jq -r --arg c "$label" '.results[] | select(.command == $c) | .median' "$hf")
            if [ -z "$median" ]; then
                echo "| \`$cell\` | failed | | ${answers[$k]} |"
                continue
            fi
            ratio=$([ -n "$wc_median" ] && awk -v t="$median" -v w="$wc_median" 'BEGIN{printf "%.1f", t/w}' || echo "n/a")
            printf '| `%s` | %.3f | %s | %s |\n' "$cell" "$median" "$ratio" "${answers[$k]}"
        done
    } | tee -a "$REPORT"
    unpin
done
log "written to $REPORT"
