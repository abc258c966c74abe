#!/usr/bin/env bash
# Peer comparison: stream-chat-export's CLI against jq, jaq, DuckDB and the
# newline-count floor (`wc -l`) on one generated v2 export.
#
#   bench/compare.sh                 # 1 GiB file, all tools, 5 runs each
#   SIZE=50MiB bench/compare.sh      # quick check
#
# Environment:
#   SIZE=1GiB       size of the generated file (examples/generate.rs syntax)
#   SEED=1          generator seed
#   RUNS=5          hyperfine --runs (plus --warmup 1)
#   THREADS=2       DuckDB `SET threads`
#   TOOLS="ours jq jaq duckdb wc"   subset of tools to run
#   QUERIES="1 2 3 4 5"             subset of queries to run
#   INSTALL_JAQ=1   try `cargo install --locked jaq` when jaq is missing
#   DATA=bench-data where the file, the DuckDB venv and the results go
#
# Queries (all on the same file):
#   1  count records per kind
#   2  messages of one user (item.user.id == "user-17")
#   3  message count per channel
#   4  messages created in [2024-03-01, 2024-04-01)
#   5  full statistics in one scan: messages per channel, per user and per
#      day (ours: `stats --json`, which computes everything it reports;
#      DuckDB: GROUP BY GROUPING SETS ((cid), (user), (day)))
#
# Output: a Markdown table on stdout and in $DATA/results.md, hyperfine JSON
# in $DATA/hyperfine/, each command's output in $DATA/out/.
#
# Our CLI's `filter` and `stats` subcommands may not exist yet: a query whose
# subcommand or flags are missing from `--help` is skipped with a note.
set -euo pipefail

cd "$(dirname "$0")/.."
SIZE=${SIZE:-1GiB}
SEED=${SEED:-1}
RUNS=${RUNS:-5}
THREADS=${THREADS:-2}
TOOLS=${TOOLS:-"ours jq jaq duckdb wc"}
QUERIES=${QUERIES:-"1 2 3 4 5"}
DATA=${DATA:-bench-data}
USER_ID=user-17
SINCE=2024-03-01T00:00:00Z
UNTIL=2024-04-01T00:00:00Z

mkdir -p "$DATA/hyperfine" "$DATA/out"
# shellcheck source=bench/pin.sh
. bench/pin.sh
FILE="$DATA/export-v2-$SIZE-seed$SEED.jsonl"
GEN_STATS="$FILE.stats.json"
CLI=target/release/stream-chat-export
NOTES=()
note() { NOTES+=("$*"); echo "note: $*" >&2; }
log() { echo "== $*" >&2; }
has() { command -v "$1" >/dev/null 2>&1; }

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
[ -x /usr/bin/time ] || { log "installing time"; apt_install time; }
has python3 || { log "installing python3"; apt_install python3 python3-venv; }

# ------------------------------------------------------------- build ----
log "cargo build --release"
OURS=1
if ! cargo build --release; then
    note "cargo build --release failed: our CLI rows are skipped"
    OURS=0
fi
[ -x "$CLI" ] || { [ "$OURS" = 0 ] || note "$CLI not built: our CLI rows are skipped"; OURS=0; }

GEN_CMD="cargo run --release --example generate -- --size $SIZE --format v2 --seed $SEED --out $FILE --stats-json $GEN_STATS"
if [ -s "$FILE" ] && [ -s "$GEN_STATS" ]; then
    log "reusing $FILE"
else
    log "generating $FILE"
    cargo build --release --example generate ||
        { echo "error: the generator does not build (library mid-edit?); retry later" >&2; exit 1; }
    $GEN_CMD
fi
BYTES=$(stat -c %s "$FILE")

# DuckDB in a venv, driven by a tiny Python helper.
VENV="$DATA/venv"
DUCKQ="$DATA/duckq.py"
case " $TOOLS " in *" duckdb "*)
    if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import duckdb' 2>/dev/null; then
        log "installing duckdb into $VENV"
        python3 -m venv "$VENV" || { apt_install python3-venv && python3 -m venv "$VENV"; }
        "$VENV/bin/pip" install -q duckdb
    fi
    cat >"$DUCKQ" <<'EOF'
import sys, duckdb
con = duckdb.connect()
con.execute(f"SET threads={int(sys.argv[1])}")
for row in con.execute(sys.argv[2]).fetchall():
    print(*row, sep="\t")
EOF
    DUCKDB_VERSION=$("$VENV/bin/python" -c 'import duckdb; print(duckdb.__version__)')
;; esac

JAQ=""
case " $TOOLS " in *" jaq "*)
    if has jaq; then
        JAQ=jaq
    elif [ -x "$HOME/.cargo/bin/jaq" ]; then
        JAQ="$HOME/.cargo/bin/jaq"
    elif [ "${INSTALL_JAQ:-0}" = 1 ] && cargo install --locked jaq; then
        JAQ="$HOME/.cargo/bin/jaq"
    else
        note "jaq not available (not in Debian bookworm; INSTALL_JAQ=1 builds it with cargo install): jaq rows skipped"
    fi
;; esac

# ---------------------------------------------------------- commands ----
# Our CLI: does the subcommand exist, and does its help mention every flag?
ours_supports() { # subcommand flag...
    [ "$OURS" = 1 ] || return 1
    local help
    help=$("$CLI" "$1" --help 2>&1) || return 1
    shift
    local f
    for f in "$@"; do grep -q -- "$f" <<<"$help" || return 1; done
}

# command_for TOOL QUERY -> prints the shell command, or nothing (skip).
command_for() {
    local tool=$1 q=$2 f=$FILE
    case "$tool:$q" in
    ours:1) ours_supports inspect --json && echo "$CLI inspect --json $f" ;;
    ours:2) ours_supports filter --user --kind && echo "$CLI filter --kind message --user $USER_ID $f" ;;
    ours:3) ours_supports stats --json --kind && echo "$CLI stats --json --kind message $f" ;;
    ours:5) ours_supports stats --json && echo "$CLI stats --json $f" ;;
    ours:4) ours_supports filter --kind --since --until &&
        echo "$CLI filter --kind message --since $SINCE --until $UNTIL $f" ;;
    jq:1 | jaq:1)
        echo "${tool/jaq/$JAQ} -n -r 'reduce inputs as \$l ({}; .[\$l.type] += 1) | to_entries[] | \"\\(.key)\\t\\(.value)\"' $f" ;;
    jq:2 | jaq:2)
        echo "${tool/jaq/$JAQ} -c 'select(.type==\"message\" and .item.user.id==\"$USER_ID\")' $f" ;;
    jq:3 | jaq:3)
        echo "${tool/jaq/$JAQ} -n -r 'reduce (inputs | select(.type==\"message\") | .item.cid) as \$c ({}; .[\$c] += 1) | to_entries[] | \"\\(.key)\\t\\(.value)\"' $f" ;;
    jq:5 | jaq:5)
        echo "${tool/jaq/$JAQ} -n -c 'reduce (inputs | select(.type==\"message\") | .item) as \$m ({}; .c[\$m.cid // \"\"] += 1 | .u[\$m.user.id // \"\"] += 1 | .d[(\$m.created_at // \"\")[0:10]] += 1)' $f" ;;
    jq:4 | jaq:4)
        # A prefix compare is exact for whole-month bounds, whatever the number of fractional digits.
        echo "${tool/jaq/$JAQ} -c 'select(.type==\"message\" and (.item.created_at // \"\")[0:7] == \"2024-03\")' $f" ;;
    duckdb:*)
        local sql
        case $q in
        1) sql="SELECT type, count(*) FROM read_ndjson_auto('$f') GROUP BY 1 ORDER BY 1" ;;
        2) sql="SELECT count(*) FROM read_ndjson_auto('$f') WHERE type='message' AND item.user.id='$USER_ID'" ;;
        3) sql="SELECT item.cid, count(*) FROM read_ndjson_auto('$f') WHERE type='message' GROUP BY 1" ;;
        4) sql="SELECT count(*) FROM read_ndjson_auto('$f') WHERE type='message' AND substr(CAST(item.created_at AS VARCHAR), 1, 7) = '2024-03'" ;;
        5) sql="SELECT cid, uid, day, count(*) FROM (SELECT item.cid AS cid, item.user.id AS uid, substr(CAST(item.created_at AS VARCHAR), 1, 10) AS day FROM read_ndjson_auto('$f') WHERE type='message') GROUP BY GROUPING SETS ((cid), (uid), (day))" ;;
        esac
        echo "$VENV/bin/python $DUCKQ $THREADS \"$sql\"" ;;
    wc:1) echo "wc -l < $f" ;; # the floor: one pass over the bytes, no parsing
    esac
}

case " $TOOLS " in *" jaq "*) [ -n "$JAQ" ] || TOOLS=${TOOLS/jaq/} ;; esac

QNAME=([1]="count per kind" [2]="messages of $USER_ID" [3]="messages per channel" [4]="messages in 2024-03" [5]="full stats (channel, user, day)")

# ---------------------------------------------------------------- run ----
log "warming the page cache"
cat "$FILE" >/dev/null
pin "$FILE"
log "$PIN_STATE"

SEP=$'\x1f'
ROWS=()     # tool, query, median, rss, answer; separated by $SEP
CMDS=()
declare -A OURS_MEDIAN=()

# peak_anon_kb CMD OUT -> the peak anonymous memory (heap, stacks: RssAnon,
# not mapped file pages) of CMD's process, sampled every 10 ms.
peak_anon_kb() {
    bash -c "exec $1" >"$2" 2>/dev/null &
    local pid=$! peak=0 kb
    while kill -0 "$pid" 2>/dev/null; do
        kb=$(awk '/^RssAnon:/{print $2}' "/proc/$pid/status" 2>/dev/null || true)
        [ -n "$kb" ] && [ "$kb" -gt "$peak" ] && peak=$kb
        sleep 0.01
    done
    wait "$pid" 2>/dev/null || true
    echo "$peak"
}

answer_of() { # summarise a command's output: counts from a JSON report, a few short lines, or a line count
    local out=$1 n counts
    n=$(wc -l <"$out")
    counts=$(jq -r 'if type == "object" and (.counts | type) == "object"
        then .counts | to_entries | map("\(.key) \(.value)") | join("; ") else empty end' "$out" 2>/dev/null | head -n1 || true)
    if [ -n "$counts" ]; then
        echo "$counts"
    elif [ "$n" -le 8 ] && [ "$(wc -c <"$out")" -le 200 ]; then
        tr '\t\n' ' ;' <"$out" | sed 's/;$//; s/ *; */; /g'
    else
        [ "$n" = 1 ] && echo "1 line" || echo "$n lines"
    fi
}

for q in $QUERIES; do
    for tool in $TOOLS; do
        cmd=$(command_for "$tool" "$q" || true)
        if [ -z "$cmd" ]; then
            case "$tool" in
            ours) note "ours, query $q (${QNAME[$q]}): subcommand or flags not in the CLI yet, skipped" ;;
            esac
            continue
        fi
        name="$tool-q$q"
        log "$name: $cmd"
        CMDS+=("| $tool | $q | \`${cmd//|/\\|}\` |")
        hf="$DATA/hyperfine/$name.json"
        if ! hyperfine --warmup 1 --runs "$RUNS" --export-json "$hf" --command-name "$name" "$cmd" >&2; then
            note "$name failed under hyperfine"
            ROWS+=("$tool$SEP$q${SEP}failed$SEP$SEP")
            continue
        fi
        median=$(jq -r '.results[0].median' "$hf")
        out="$DATA/out/$name.txt"
        rss_kb=$(/usr/bin/time -f %M -o "$DATA/out/$name.rss" bash -c "$cmd" >"$out" 2>/dev/null && tail -n1 "$DATA/out/$name.rss" || echo "")
        anon_kb=$(peak_anon_kb "$cmd" "$DATA/out/$name.anon.txt")
        ans=$(answer_of "$out")
        [ "$tool" = ours ] && OURS_MEDIAN[$q]=$median
        ROWS+=("$tool$SEP$q$SEP$median$SEP$rss_kb$SEP$ans$SEP$anon_kb")
        if [ "$tool" = wc ]; then
            # the floor is the same for every query: measure it once
            TOOLS=${TOOLS/wc/}
        fi
    done
done

# ------------------------------------------------------------- report ----
MODEL=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)
NPROC=$(nproc)
MEM=$(free -g | awk '/^Mem:/{print $2 " GiB"}')
LINES=$(jq -r '.lines' "$GEN_STATS")
EXPECT=$(jq -r '"per kind: " + (.counts | to_entries | map("\(.key) \(.value)") | join(", "))
  + "; messages of '"$USER_ID"': \(.track_user_counts.message)"
  + "; channels with messages: \(.messages_per_channel | length)"
  + "; messages in 2024-03: \(.window.counts.message)"' "$GEN_STATS")

{
    echo "# Peer comparison"
    echo
    echo "- Date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "- Machine: $MODEL, nproc $NPROC, $MEM RAM"
    echo "- File: \`$FILE\`, $BYTES bytes, $LINES lines (v2, item envelope), made by \`$GEN_CMD\`"
    echo "- Expected answers (generator ground truth): $EXPECT"
    OURS_VERSION="(not built)"
    [ "$OURS" = 1 ] && OURS_VERSION=$("$CLI" --version 2>/dev/null | head -n1 || echo "(no --version)")
    echo "- Tools: our CLI $OURS_VERSION; $(jq --version)$([ -n "$JAQ" ] && echo "; $($JAQ --version)")$([ -n "${DUCKDB_VERSION:-}" ] && echo "; duckdb $DUCKDB_VERSION (Python, threads=$THREADS)"); $(hyperfine --version)"
    echo "- Method: page cache warmed, input $PIN_STATE; \`hyperfine --warmup 1 --runs $RUNS\`, median wall time; GB/s = file bytes / median / 1e9;"
    echo "  \"x ours\" = tool median / our CLI's median on the same query (> 1: slower than ours);"
    echo "  peak RSS = \`/usr/bin/time -f %M\` of one extra run (the largest process of a pipeline; for mmap-based tools,"
    echo "  our CLI included, RSS counts the file pages mapped and touched, so it can approach the file size without"
    echo "  being heap); peak anon = the largest RssAnon (heap, stacks; no file pages) sampled every 10 ms."
    echo "  DuckDB times include starting Python and importing duckdb (~0.2–0.4 s)."
    echo "  Outputs differ in kind (jq prints matching lines, DuckDB a count), see the answer column."
    echo
    echo "| tool | query | median s | GB/s | x ours | peak RSS MB | peak anon MB | answer |"
    echo "|---|---|---:|---:|---:|---:|---:|---|"
    for row in "${ROWS[@]}"; do
        IFS=$SEP read -r tool q median rss ans anon <<<"$row"
        qn="$q. ${QNAME[$q]}"
        [ "$tool" = wc ] && qn="floor: newline count"
        if [ "$median" = failed ]; then
            echo "| $tool | $qn | failed | | | | | |"
            continue
        fi
        gbs=$(awk -v b="$BYTES" -v t="$median" 'BEGIN{printf "%.3f", b/t/1e9}')
        ratio="n/a"
        if [ -n "${OURS_MEDIAN[$q]:-}" ]; then
            ratio=$(awk -v t="$median" -v o="${OURS_MEDIAN[$q]}" 'BEGIN{printf "%.2f", t/o}')
        fi
        rss_mb=$([ -n "$rss" ] && awk -v k="$rss" 'BEGIN{printf "%.0f", k/1024}' || echo "?")
        anon_mb=$([ -n "$anon" ] && awk -v k="$anon" 'BEGIN{printf "%.0f", k/1024}' || echo "?")
        printf '| %s | %s | %.3f | %s | %s | %s | %s | %s |\n' "$tool" "$qn" "$median" "$gbs" "$ratio" "$rss_mb" "$anon_mb" "$ans"
    done
    if [ "${#NOTES[@]}" -gt 0 ]; then
        echo
        echo "Notes:"
        for n in "${NOTES[@]}"; do echo "- $n"; done
    fi
    echo
    echo "## Commands"
    echo
    echo "| tool | query | command |"
    echo "|---|---|---|"
    for c in "${CMDS[@]}"; do echo "${c//$'\n'/ }"; done
} >"$DATA/results.md"

# Put the table into BENCHMARKS.md between its markers (the rest of that
# file, written by hand, is kept).
BENCH_MD=${BENCH_MD:-BENCHMARKS.md}
python3 - "$DATA/results.md" "$BENCH_MD" <<'PY'
import sys, pathlib
results, target = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
begin, end = "<!-- compare.sh begin -->", "<!-- compare.sh end -->"
block = f"{begin}\n{results.read_text().rstrip()}\n{end}"
text = target.read_text() if target.exists() else f"# Benchmarks\n\n{begin}\n{end}\n"
if begin in text and end in text:
    head, rest = text.split(begin, 1)
    text = head + block + rest.split(end, 1)[1]
else:
    text = text.rstrip() + "\n\n" + block + "\n"
target.write_text(text)
PY
log "table written to $DATA/results.md and $BENCH_MD"
cat "$DATA/results.md"
