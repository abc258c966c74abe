#!/bin/sh
# Seeds fuzz/corpus/<target>/ from the fixtures (corpus dirs are git-ignored).
# Usage: sh fuzz/seed.sh   (from anywhere)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
fixtures="$here/../testdata/fixtures"
for target in line_vs_serde reader_any reader_gzip parallel_vs_sequential stream_vs_slice; do
    mkdir -p "$here/corpus/$target"
done
for f in "$fixtures"/*; do
    name=$(basename "$f")
    [ "$name" = expected.json ] && continue
    cp "$f" "$here/corpus/reader_any/$name"
    cp "$f" "$here/corpus/reader_gzip/$name"
    case "$name" in
        *.gz) ;;
        *)
            cp "$f" "$here/corpus/parallel_vs_sequential/$name"
            # stream_vs_slice reads 5 control bytes first.
            { printf '\000\000\000\000\000'; cat "$f"; } > "$here/corpus/stream_vs_slice/$name"
            ;;
    esac
done
# line_vs_serde takes one line: split the line fixtures into single lines.
n=0
for f in "$fixtures"/*.jsonl; do
    while IFS= read -r line || [ -n "$line" ]; do
        n=$((n + 1))
        printf '%s' "$line" > "$here/corpus/line_vs_serde/line-$n"
    done < "$f"
done
echo "seeded: $(ls "$here/corpus/reader_any" | wc -l) files, $n lines"
