#!/usr/bin/env bash
# convert --to ndjson|csv|parquet against DuckDB's equivalent COPY on the
# same v2 file, 2 threads each, wall time and peak RSS (/usr/bin/time),
# best of RUNS. Needs bench/compare.sh's DuckDB venv ($DATA/venv) and a
# release build (cargo build --release).
#
#   DATA=bench-data FILE=bench-data/export-v2-1GiB-seed1.jsonl RUNS=3 bench/tables.sh
#
# DuckDB reads the envelope with a fixed schema (type VARCHAR, item JSON),
# its fastest path: no schema inference over the items.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-bench-data}
FILE=${FILE:-$DATA/export-v2-1GiB-seed1.jsonl}
RUNS=${RUNS:-3}
BIN=${BIN:-target/release/stream-chat-export}
PY=$DATA/venv/bin/python
OUT=$DATA/tables-out
rm -rf "$OUT"/run-*
mkdir -p "$OUT"
src="read_ndjson('$FILE', columns = {type: 'VARCHAR', item: 'JSON'})"
cat >"$OUT/duck.py" <<'PY'
import sys, duckdb
con = duckdb.connect()
con.execute("SET threads=2")
con.execute("SET preserve_insertion_order=false")
con.execute(sys.argv[1])
PY
# Each run writes a new folder (@OUT@ in a command), and the folders
# are deleted at the end, not before the next run: on ext4 without a
# journal, creating files just after thousands were deleted scans the
# inode table for recently freed inodes (`recently_deleted`), which took
# a quarter of a Parquet conversion's CPU when the previous run's dataset
# had been removed a second before — a cost of the benchmark loop, not of
# writing a dataset. Both tools get the same fresh start.
run=0
best() { # name, command...
    local name=$1 best=""
    shift
    for _ in $(seq "$RUNS"); do
        run=$((run + 1))
        local t args=()
        for a in "$@"; do args+=("${a//@OUT@/$OUT/run-$run}"); done
        /usr/bin/time -o "$OUT/time" -f '%e %M' "${args[@]}" >/dev/null 2>"$OUT/stderr" \
            || { cat "$OUT/stderr" >&2; exit 1; }
        t=$(tail -1 "$OUT/time")
        if [ -z "$best" ] || awk -v a="${t% *}" -v b="${best% *}" 'BEGIN{exit !(a<b)}'; then best=$t; fi
    done
    local secs=${best% *} kib=${best#* }
    local bytes
    bytes=$(stat -c %s "$FILE")
    printf '| %s | %s s | %s MB/s | %s MiB |\n' "$name" "$secs" \
        "$(awk -v b="$bytes" -v s="$secs" 'BEGIN{printf "%.0f", b/s/1e6}')" \
        "$(awk -v k="$kib" 'BEGIN{printf "%.0f", k/1024}')"
}
echo "| conversion | time | speed | peak RSS |"
echo "|---|---|---|---|"
best "ours: convert --to ndjson" "$BIN" convert --to ndjson -j 2 -q --out @OUT@ "$FILE"
best "DuckDB: COPY ... (FORMAT json, PARTITION_BY (type))" "$PY" "$OUT/duck.py" \
    "COPY (SELECT type, item FROM $src) TO '@OUT@' (FORMAT json, PARTITION_BY (type))"
best "ours: convert --to csv" "$BIN" convert --to csv -j 2 -q --out @OUT@ "$FILE"
best "DuckDB: COPY ... (FORMAT csv, PARTITION_BY (type)), 6 columns" "$PY" "$OUT/duck.py" \
    "COPY (SELECT type, item->>'cid' AS cid, item->>'id' AS id,
           coalesce(item->>'user_id', item->'user'->>'id') AS user_id,
           item->>'created_at' AS created_at, item->>'text' AS text
           FROM $src) TO '@OUT@' (FORMAT csv, PARTITION_BY (type))"
best "ours: convert --to parquet" "$BIN" convert --to parquet -j 2 -q --out @OUT@ "$FILE"
best "DuckDB: COPY ... (FORMAT parquet, PARTITION_BY (type, date))" "$PY" "$OUT/duck.py" \
    "COPY (SELECT type, item->>'cid' AS cid, item->>'id' AS id,
           coalesce(item->>'user_id', item->'user'->>'id') AS user_id,
           item->>'text' AS text,
           CAST(item->>'created_at' AS TIMESTAMPTZ) AS created_at,
           CAST(CAST(item->>'created_at' AS TIMESTAMPTZ) AS DATE) AS date,
           CAST(item AS VARCHAR) AS extra_json
           FROM $src) TO '@OUT@' (FORMAT parquet, PARTITION_BY (type, date))"
rm -rf "$OUT"/run-* "$OUT/time" "$OUT/stderr" "$OUT/duck.py"
