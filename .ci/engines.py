"""Reads the Parquet datasets that tests/tables_engines.rs wrote with
DuckDB and with PySpark (local mode), and compares what they read with the
oracle's expectations beside each dataset: rows per table and per day
(the Hive `date` partition, NULL for `__HIVE_DEFAULT_PARTITION__`), and
every message's id, cid, user_id, text and created_at (microseconds UTC).

Usage: python3 engines.py DIR [duckdb] [spark]
Exits 1 on the first difference, naming the dataset, table and engine.
"""

import json
import os
import sys


def datasets(root):
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        exp = os.path.join(d, "expected.json")
        if os.path.isfile(exp):
            with open(exp) as f:
                yield name, os.path.join(d, "pq"), json.load(f)


def norm_day(d):
    return "NULL" if d is None else str(d)


def expected_messages(exp):
    return sorted(
        (m["id"], m["cid"], m["user_id"], m["text"], m["created_at_us"])
        for m in exp["messages"]
    )


def fail(msg):
    print("engines: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check_duckdb(root):
    import duckdb

    con = duckdb.connect()
    n = 0
    for name, pq, exp in datasets(root):
        for table, days in exp["counts"].items():
            glob = os.path.join(pq, table, "*", "*.parquet")
            rows = con.execute(
                "select date, count(*) from read_parquet(?, hive_partitioning=true) group by date",
                [glob],
            ).fetchall()
            got = {norm_day(d): c for d, c in rows}
            if got != days:
                fail(f"duckdb {name} {table}: rows per day {got} != {days}")
            n += 1
        if "messages" in exp["counts"]:
            glob = os.path.join(pq, "messages", "*", "*.parquet")
            got = sorted(
                tuple(r)
                for r in con.execute(
                    "select id, cid, user_id, text, epoch_us(created_at) "
                    "from read_parquet(?, hive_partitioning=true)",
                    [glob],
                ).fetchall()
            )
            if got != expected_messages(exp):
                fail(f"duckdb {name}: messages differ from the oracle's")
    print(f"engines: duckdb read {n} tables, rows per day equal the oracle's")


def check_spark(root):
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("stream-chat-export tables")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    n = 0
    for name, pq, exp in datasets(root):
        for table, days in exp["counts"].items():
            df = spark.read.parquet(os.path.join(pq, table))
            got = {norm_day(r[0]): r[1] for r in df.groupBy("date").count().collect()}
            if got != days:
                fail(f"spark {name} {table}: rows per day {got} != {days}")
            n += 1
        if "messages" in exp["counts"]:
            df = spark.read.parquet(os.path.join(pq, "messages"))
            rows = df.select(
                "id", "cid", "user_id", "text", F.unix_micros("created_at")
            ).collect()
            got = sorted(tuple(r) for r in rows)
            if got != expected_messages(exp):
                fail(f"spark {name}: messages differ from the oracle's")
    spark.stop()
    print(f"engines: spark read {n} tables, rows per day equal the oracle's")


if __name__ == "__main__":
    root = sys.argv[1]
    which = sys.argv[2:] or ["duckdb", "spark"]
    if not any(datasets(root)):
        fail(f"no datasets in {root}")
    if "duckdb" in which:
        check_duckdb(root)
    if "spark" in which:
        check_spark(root)
