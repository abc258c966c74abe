#!/usr/bin/env python3
"""Summarize `cargo bench` (criterion) results as a Markdown table:
benchmark, median time, throughput. Reads target/criterion/*/*/new/."""
import json, pathlib, sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
rows = []
for est in sorted(root.glob("*/*/new/estimates.json")):
    bench = json.loads((est.parent / "benchmark.json").read_text())
    median_ns = json.loads(est.read_text())["median"]["point_estimate"]
    tp = (bench.get("throughput") or {}).get("Bytes")
    gbs = f"{tp / median_ns:.2f}" if tp else ""
    rows.append((bench["group_id"], bench["function_id"] or "", median_ns / 1e6, gbs, tp))
print("| group | benchmark | median ms | GB/s | bytes |")
print("|---|---|---:|---:|---:|")
for group, fn, ms, gbs, tp in rows:
    print(f"| {group} | {fn} | {ms:.1f} | {gbs} | {tp or ''} |")
