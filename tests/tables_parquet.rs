//! Parquet tables (feature `parquet`) read back with the `parquet` crate's
//! own reader against the serde_json oracle on every fixture and sample:
//! rows per table and per day, every file sorted by cid then created_at,
//! and every value of the oracle's entity either in its typed column or in
//! `extra_json`, nothing else there.
#![cfg(feature = "parquet")]

mod common;

use arrow_array::{
    Array, BooleanArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow_schema::{DataType, TimeUnit};
use common::*;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use stream_chat_export::{
    Engine, Filter, Input, Kind, MmapChoice, Parallel, ParquetWriter, ReaderBuilder,
    TablesConverter, TablesSummary,
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

fn day_of(created_at: Option<&str>) -> String {
    match created_at.and_then(micros_of) {
        Some(us) => {
            let day = us.div_euclid(86_400_000_000);
            let date = chrono::DateTime::from_timestamp(day * 86_400, 0).unwrap();
            date.format("%Y-%m-%d").to_string()
        }
        None => "__HIVE_DEFAULT_PARTITION__".into(),
    }
}

/// Converts `path`; `workers`: rows built on the engine's workers
/// (`ParquetWriter::convert`), else on the sink (`TablesConverter::run`).
fn convert(path: &Path, out: &Path, small: bool, workers: bool) -> Option<TablesSummary> {
    convert_with(path, out, small.then_some(3000), workers)
}

/// As [`convert`], with a buffer of `buffer` bytes (row groups of 700).
fn convert_with(
    path: &Path,
    out: &Path,
    buffer: Option<usize>,
    workers: bool,
) -> Option<TablesSummary> {
    let engine = Engine::new(Parallel::new().threads(2).chunk_size(64)).unwrap();
    let mut w = ParquetWriter::create(out).unwrap();
    if let Some(bytes) = buffer {
        w.buffer_bytes(bytes).row_group_bytes(700);
    }
    let converter = TablesConverter::new(Filter::new());
    let inputs = [path.to_path_buf()];
    let mut open = |p: &Path| Input::open(p, MmapChoice::never());
    if workers {
        w.convert(
            &converter,
            &engine,
            &ReaderBuilder::new(),
            &inputs,
            &mut open,
            &mut |_, _| {},
        )
        .ok()?;
    } else {
        converter
            .run(
                &engine,
                &ReaderBuilder::new(),
                &inputs,
                &mut open,
                &mut w,
                &mut |_, _| {},
            )
            .ok()?;
    }
    Some(w.finish().unwrap())
}

/// One row read back: typed columns (times as microseconds) and the
/// parsed `extra_json`.
#[derive(Debug)]
struct Row {
    typed: BTreeMap<String, Value>,
    extra: Map<String, Value>,
}

fn rows_of(batch: &RecordBatch) -> Vec<Row> {
    let mut rows: Vec<Row> = (0..batch.num_rows())
        .map(|_| Row {
            typed: BTreeMap::new(),
            extra: Map::new(),
        })
        .collect();
    for (field, col) in batch.schema().fields().iter().zip(batch.columns()) {
        for (i, row) in rows.iter_mut().enumerate() {
            if col.is_null(i) {
                continue;
            }
            let value = match field.data_type() {
                DataType::Utf8 => {
                    let s = col.as_any().downcast_ref::<StringArray>().unwrap().value(i);
                    if field.name() == "extra_json" {
                        match serde_json::from_str(s).unwrap() {
                            Value::Object(m) => row.extra = m,
                            other => panic!("extra_json is not an object: {other}"),
                        }
                        continue;
                    }
                    Value::String(s.to_string())
                }
                DataType::Int64 => {
                    Value::from(col.as_any().downcast_ref::<Int64Array>().unwrap().value(i))
                }
                DataType::Boolean => Value::from(
                    col.as_any()
                        .downcast_ref::<BooleanArray>()
                        .unwrap()
                        .value(i),
                ),
                DataType::Timestamp(TimeUnit::Microsecond, Some(tz)) if tz.as_ref() == "UTC" => {
                    Value::from(
                        col.as_any()
                            .downcast_ref::<TimestampMicrosecondArray>()
                            .unwrap()
                            .value(i),
                    )
                }
                other => panic!("unexpected column type {other}"),
            };
            row.typed.insert(field.name().clone(), value);
        }
    }
    rows
}

/// Every file of the dataset: (table, date, rows in file order).
fn read_dataset(dir: &Path) -> Vec<(String, String, PathBuf, Vec<Row>)> {
    let mut out = Vec::new();
    for table in std::fs::read_dir(dir).unwrap() {
        let table = table.unwrap().path();
        let name = table.file_name().unwrap().to_string_lossy().to_string();
        for part in std::fs::read_dir(&table).unwrap() {
            let part = part.unwrap().path();
            let pname = part.file_name().unwrap().to_string_lossy().to_string();
            let date = pname
                .strip_prefix("date=")
                .expect("Hive partition")
                .to_string();
            for file in std::fs::read_dir(&part).unwrap() {
                let file = file.unwrap().path();
                let reader =
                    ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&file).unwrap())
                        .unwrap()
                        .build()
                        .unwrap();
                let mut rows = Vec::new();
                for batch in reader {
                    rows.extend(rows_of(&batch.unwrap()));
                }
                out.push((name.clone(), date.clone(), file, rows));
            }
        }
    }
    out.sort_by(|a, b| (&a.0, &a.1, &a.2).cmp(&(&b.0, &b.1, &b.2)));
    out
}

fn sort_key(r: &Row) -> (Option<String>, Option<i64>) {
    (
        r.typed
            .get("cid")
            .and_then(|v| v.as_str())
            .map(String::from),
        r.typed.get("created_at").and_then(Value::as_i64),
    )
}

/// Checks that `row` of `table` holds exactly the oracle's entity `e`.
fn assert_row_is(label: &str, table: &str, row: &Row, e: &Expected) {
    let Value::Object(want) = &e.value else {
        panic!("{label}: not an object")
    };
    let text = |k: &str| row.typed.get(k).and_then(|v| v.as_str());
    if table != "users" {
        assert_eq!(text("cid"), e.cid.as_deref(), "{label}: cid");
    }
    if table != "users" && table != "channels" {
        assert_eq!(text("user_id"), e.user_id.as_deref(), "{label}: user_id");
    }
    for (key, value) in want {
        if value.is_null() {
            continue;
        }
        if let Some(extra) = row.extra.get(key) {
            assert_eq!(extra, value, "{label}: {key} in extra_json");
            continue;
        }
        let typed = row
            .typed
            .get(key)
            .unwrap_or_else(|| panic!("{label}: {key} is neither typed nor in extra_json"));
        match value {
            Value::String(s) if typed.is_i64() => {
                assert_eq!(micros_of(s), typed.as_i64(), "{label}: time {key}")
            }
            _ => assert_eq!(typed, value, "{label}: {key}"),
        }
    }
    for key in row.extra.keys() {
        assert!(
            want.contains_key(key),
            "{label}: {key} in extra_json is not in the entity"
        );
    }
}

#[test]
fn parquet_equals_the_oracle_on_every_fixture() {
    let mut checked = 0;
    for (name, path) in all_inputs() {
        let want = oracle_of(&path, false);
        for (small, workers) in [(false, false), (false, true), (true, true), (true, false)] {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("pq");
            let Some(summary) = convert(&path, &out, small, workers) else {
                continue;
            };
            let label = format!("{name} (small buffers: {small}, rows on the workers: {workers})");
            // Rows per table and per day.
            let mut want_days: BTreeMap<(String, String), Vec<&Expected>> = BTreeMap::new();
            for e in &want.entities {
                want_days
                    .entry((table_of(&e.type_name), day_of(e.created_at.as_deref())))
                    .or_default()
                    .push(e);
            }
            let files = read_dataset(&out);
            let mut got_days: BTreeMap<(String, String), u64> = BTreeMap::new();
            for (table, date, file, rows) in &files {
                *got_days.entry((table.clone(), date.clone())).or_default() += rows.len() as u64;
                let keys: Vec<_> = rows.iter().map(sort_key).collect();
                assert!(
                    keys.windows(2).all(|w| w[0] <= w[1]),
                    "{label}: {} sorted",
                    file.display()
                );
            }
            let want_counts: BTreeMap<(String, String), u64> = want_days
                .iter()
                .map(|(k, v)| (k.clone(), v.len() as u64))
                .collect();
            assert_eq!(got_days, want_counts, "{label}: rows per table and day");
            let total: u64 = want_counts.values().sum();
            assert_eq!(summary.total_rows(), total, "{label}: summary");
            if !small {
                // One file per day: its rows are the oracle's, sorted stably.
                for (table, date, _, rows) in &files {
                    let mut expected = want_days[&(table.clone(), date.clone())].clone();
                    expected.sort_by_key(|e| {
                        (e.cid.clone(), e.created_at.as_deref().and_then(micros_of))
                    });
                    for (i, (row, e)) in rows.iter().zip(&expected).enumerate() {
                        assert_row_is(&format!("{label}: {table}/{date} row {i}"), table, row, e);
                    }
                }
            } else {
                assert!(files.len() >= want_counts.len());
            }
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} inputs converted");
}

#[test]
fn small_buffers_split_days_into_files_and_row_groups() {
    let path = fixtures_dir().join("v2_item.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pq");
    let summary = convert(&path, &out, true, true).unwrap();
    let messages = &summary.tables["messages"];
    assert!(messages.files > 1, "{messages:?}");
    let mut groups = 0;
    for (table, _, file, _) in read_dataset(&out) {
        let meta =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&file).unwrap()).unwrap();
        if table == "messages" {
            groups += meta.metadata().num_row_groups();
        }
    }
    assert!(groups as u64 > messages.files, "row groups {groups}");
}

#[test]
fn a_full_buffer_writes_the_largest_days_and_keeps_small_ones() {
    // One channel, then a day of messages far past the buffer with a
    // user now and then: each full buffer writes the messages' day, never
    // the small tables, which end as one file each; every row is written
    // once.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.jsonl");
    let mut text = String::new();
    text.push_str(r#"{"type":"channel","item":{"cid":"messaging:a","id":"a","type":"messaging","created_at":"2024-01-05T00:00:00Z"}}"#);
    text.push('\n');
    for i in 0..400 {
        if i % 50 == 0 {
            text.push_str(&format!(
                r#"{{"type":"user","item":{{"id":"u{i}","created_at":"2024-01-06T00:00:00Z"}}}}"#
            ));
            text.push('\n');
        }
        text.push_str(&format!(
            r#"{{"type":"message","item":{{"id":"m{i}","cid":"messaging:a","user":{{"id":"u1"}},"text":"hello {i}","created_at":"2024-03-01T10:{:02}:{:02}Z"}}}}"#,
            i / 60,
            i % 60
        ));
        text.push('\n');
    }
    std::fs::write(&path, &text).unwrap();
    for workers in [false, true] {
        let out = dir.path().join(format!("pq-{workers}"));
        let summary = convert_with(&path, &out, Some(40_000), workers).unwrap();
        let messages = &summary.tables["messages"];
        assert_eq!(messages.rows, 400);
        assert!(messages.files > 2, "{messages:?}");
        for (small, rows) in [("channels", 1), ("users", 8)] {
            let t = &summary.tables[small];
            assert_eq!((t.rows, t.files), (rows, 1), "{small}: {t:?}");
        }
        let read: usize = read_dataset(&out)
            .into_iter()
            .filter(|(table, ..)| table == "messages")
            .map(|(_, _, _, rows)| rows.len())
            .sum();
        assert_eq!(read, 400);
    }
}
