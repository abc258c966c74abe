//! Datasets for the check by real engines (`.ci/engines`): every fixture
//! and sample, plus generated v1 and v2 exports spanning many days, each
//! converted to Parquet beside the oracle's expectations — rows per table
//! and per day, and every message's id, cid, user, text and time — for
//! DuckDB and PySpark to compare with what they read.
//!
//! Ignored by default; `.ci/engines` runs it with `TABLES_ENGINES_DIR`.
#![cfg(feature = "parquet")]

mod common;
#[allow(dead_code)]
#[path = "../examples/generate.rs"]
mod generate;

use common::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use stream_chat_export::{
    Engine, Filter, Input, Kind, MmapChoice, Parallel, ParquetWriter, ReaderBuilder,
    TablesConverter,
};

fn table_of(type_name: &str) -> String {
    match Kind::from_type_name(type_name) {
        Kind::Other if type_name == "other" => "others".into(),
        Kind::Other => format!("{type_name}s"),
        k => format!("{}s", k.as_str()),
    }
}

fn micros_of(text: &str) -> Option<i64> {
    let t = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    Some(t.timestamp() * 1_000_000 + i64::from(t.timestamp_subsec_nanos() / 1000))
}

/// The partition name of a time, as Hive writes it (`None` for the null
/// partition: the engines read it as NULL).
fn day_of(created_at: Option<&str>) -> Option<String> {
    let us = created_at.and_then(micros_of)?;
    let day = us.div_euclid(86_400_000_000);
    let date = chrono::DateTime::from_timestamp(day * 86_400, 0)?;
    Some(date.format("%Y-%m-%d").to_string())
}

fn export(input: &Path, dir: &Path) {
    let out = dir.join("pq");
    let engine = Engine::new(Parallel::new().threads(2)).unwrap();
    let mut w = ParquetWriter::create(&out).unwrap();
    // Small buffers: several files per day and several row groups, as a
    // large export gets them.
    w.buffer_bytes(256 << 10).row_group_bytes(64 << 10);
    let done = TablesConverter::new(Filter::new()).run(
        &engine,
        &ReaderBuilder::new(),
        &[input.to_path_buf()],
        &mut |p| Input::open(p, MmapChoice::never()),
        &mut w,
        &mut |_, _| {},
    );
    if done.is_err() {
        // A truncated gzip input ends the run with an error: no dataset.
        let _ = std::fs::remove_dir_all(dir);
        return;
    }
    w.finish().unwrap();
    let mut counts: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut messages = Vec::new();
    for e in oracle_of(input, false).entities {
        let day = day_of(e.created_at.as_deref()).unwrap_or_else(|| "NULL".into());
        *counts
            .entry(table_of(&e.type_name))
            .or_default()
            .entry(day)
            .or_default() += 1;
        if e.type_name == "message" {
            messages.push(json!({
                "id": e.id,
                "cid": e.cid,
                "user_id": e.user_id,
                "text": e.value.get("text").and_then(Value::as_str),
                "created_at_us": e.created_at.as_deref().and_then(micros_of),
            }));
        }
    }
    let expected = json!({"input": input, "counts": counts, "messages": messages});
    std::fs::write(
        dir.join("expected.json"),
        serde_json::to_vec(&expected).unwrap(),
    )
    .unwrap();
}

#[test]
#[ignore = "run by .ci/engines, which reads the datasets with DuckDB and PySpark"]
fn datasets_for_the_engines() {
    let Some(root) = std::env::var_os("TABLES_ENGINES_DIR") else {
        panic!("set TABLES_ENGINES_DIR");
    };
    let root = Path::new(&root);
    std::fs::create_dir_all(root).unwrap();
    for (name, path) in all_inputs() {
        let dir = root.join(name.replace('/', "_"));
        std::fs::create_dir_all(&dir).unwrap();
        export(&path, &dir);
    }
    for (v1, name) in [(false, "generated-v2.jsonl"), (true, "generated-v1.json")] {
        let input = root.join(name);
        generate::generate_file(
            input.to_str().unwrap(),
            6 << 20,
            v1,
            "item",
            "array",
            false,
            3,
            None,
        )
        .unwrap();
        let dir = root.join(format!("{name}.d"));
        std::fs::create_dir_all(&dir).unwrap();
        export(&input, &dir);
    }
}
