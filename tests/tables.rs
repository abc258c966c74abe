//! Per-kind tables (NDJSON, CSV) against the serde_json oracle on every
//! fixture and sample: per-table row counts, every value read back, the
//! same bytes on 1 and 2 threads and over mapped files and streams, and
//! hostile values that never change the structure.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use stream_chat_export::{
    CsvWriter, Engine, Filter, Input, Kind, MmapChoice, NdjsonWriter, Parallel, ReaderBuilder,
    Report, TableWriter, TablesConverter, TablesSummary, default_columns,
};

/// The table FORMAT.md's kind goes to (`TableNames` for names that need
/// no sanitizing, which holds for every fixture).
fn table_of(type_name: &str) -> String {
    match Kind::from_type_name(type_name) {
        Kind::Other if type_name == "other" => "others".into(),
        Kind::Other => format!("{type_name}s"),
        k => format!("{}s", k.as_str()),
    }
}

/// The oracle's entities per table, in input order.
fn oracle_tables(path: &Path) -> BTreeMap<String, Vec<Expected>> {
    let mut out: BTreeMap<String, Vec<Expected>> = BTreeMap::new();
    for e in oracle_of(path, false).entities {
        out.entry(table_of(&e.type_name)).or_default().push(e);
    }
    out
}

fn inputs() -> Vec<(String, PathBuf)> {
    all_inputs()
}

fn engine(threads: usize, chunk: usize) -> Engine {
    Engine::new(Parallel::new().threads(threads).chunk_size(chunk)).unwrap()
}

/// Runs `path` into `writer`; `stream` reads it as a stream instead of a
/// mapped file. A read error that ends the input (a truncated gzip file)
/// is the run's result, as in `filter`.
fn run<W: TableWriter>(
    engine: &Engine,
    path: &Path,
    stream: bool,
    writer: &mut W,
) -> stream_chat_export::Result<Vec<Report>> {
    let choice = if stream {
        MmapChoice::never()
    } else {
        // SAFETY: test fixtures are not modified while the tests run.
        unsafe { MmapChoice::auto() }
    };
    TablesConverter::new(Filter::new()).run(
        engine,
        &ReaderBuilder::new(),
        &[path.to_path_buf()],
        &mut |p| Input::open(p, choice),
        writer,
        &mut |_, _| {},
    )
}

fn ndjson(engine: &Engine, path: &Path, stream: bool, out: &Path) -> Option<TablesSummary> {
    let mut w = NdjsonWriter::create(out, false).unwrap();
    run(engine, path, stream, &mut w).ok()?;
    Some(w.finish().unwrap())
}

/// [`ndjson`] with the lines formatted on the workers
/// (`NdjsonWriter::convert`).
fn ndjson_on_workers(
    engine: &Engine,
    path: &Path,
    stream: bool,
    out: &Path,
) -> Option<TablesSummary> {
    let choice = if stream {
        MmapChoice::never()
    } else {
        // SAFETY: test fixtures are not modified while the tests run.
        unsafe { MmapChoice::auto() }
    };
    let mut w = NdjsonWriter::create(out, false).unwrap();
    w.convert(
        &TablesConverter::new(Filter::new()),
        engine,
        &ReaderBuilder::new(),
        &[path.to_path_buf()],
        &mut |p| Input::open(p, choice),
        &mut |_, _| {},
    )
    .ok()?;
    Some(w.finish().unwrap())
}

/// Every file of a folder, by relative path.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().to_string_lossy().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The oracle's value as NDJSON must give it back: with the resolved
/// `cid` first when the record has no `cid` key.
fn with_cid(e: &Expected) -> Value {
    let mut v = e.value.clone();
    if let (Value::Object(map), Some(cid)) = (&mut v, &e.cid)
        && !map.contains_key("cid")
    {
        map.insert("cid".into(), Value::String(cid.clone()));
    }
    v
}

#[test]
fn ndjson_equals_the_oracle_on_every_fixture() {
    let engine = engine(2, 64);
    let mut checked = 0;
    for ((name, path), workers) in inputs()
        .into_iter()
        .flat_map(|i| [(i.clone(), false), (i, true)])
    {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("nd");
        let convert = if workers { ndjson_on_workers } else { ndjson };
        let Some(summary) = convert(&engine, &path, false, &out) else {
            continue;
        };
        let want = oracle_tables(&path);
        let got: BTreeMap<String, u64> = summary
            .tables
            .iter()
            .map(|(t, c)| (t.clone(), c.rows))
            .collect();
        let want_counts: BTreeMap<String, u64> = want
            .iter()
            .map(|(t, e)| (t.clone(), e.len() as u64))
            .collect();
        assert_eq!(got, want_counts, "{name}: rows per table");
        for (table, expected) in &want {
            let text = std::fs::read(out.join(format!("{table}.jsonl"))).unwrap();
            assert!(text.ends_with(b"\n"), "{name}: {table} ends with a newline");
            let lines: Vec<&[u8]> = text
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .collect();
            assert_eq!(lines.len(), expected.len(), "{name}: {table} lines");
            for (i, (line, e)) in lines.iter().zip(expected).enumerate() {
                let value: Value = serde_json::from_slice(line).unwrap_or_else(|err| {
                    panic!("{name}: {table} line {} is not JSON: {err}", i + 1)
                });
                assert_eq!(value, with_cid(e), "{name}: {table} line {}", i + 1);
            }
        }
        checked += 1;
    }
    assert!(checked >= 60, "only {checked} conversions");
}

#[test]
fn ndjson_is_the_same_on_every_path_and_thread_count() {
    for (name, path) in inputs() {
        let mut outputs = Vec::new();
        for (threads, chunk, stream, workers) in [
            (1, 1 << 20, false, false),
            (2, 7, false, false),
            (2, 64, true, false),
            (1, 1, true, false),
            (1, 1 << 20, false, true),
            (2, 7, false, true),
            (2, 64, true, true),
            (1, 1, true, true),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("nd");
            let convert = if workers { ndjson_on_workers } else { ndjson };
            let done = convert(&engine(threads, chunk), &path, stream, &out).is_some();
            outputs.push((done, if done { files(&out) } else { BTreeMap::new() }));
        }
        for o in &outputs[1..] {
            // A truncated gzip input fails on every path alike.
            assert_eq!(o.0, outputs[0].0, "{name}: same result");
            assert!(o.1 == outputs[0].1, "{name}: same files");
        }
    }
}

#[test]
fn ndjson_gzip_reads_back_as_the_plain_tables() {
    let path = fixtures_dir().join("v2_item.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain");
    let gz = dir.path().join("gz");
    ndjson(&engine(2, 64), &path, false, &plain).unwrap();
    let mut w = NdjsonWriter::create(&gz, true).unwrap();
    run(&engine(2, 64), &path, false, &mut w).unwrap();
    w.finish().unwrap();
    let plain = files(&plain);
    let gz = files(&gz);
    assert_eq!(plain.len(), gz.len());
    for (name, bytes) in &plain {
        let packed = &gz[&format!("{name}.gz")];
        assert!(is_gzip(packed));
        assert_eq!(&decompressed(packed), bytes, "{name}");
    }
}

/// The cell the oracle expects for `field` of an entity.
fn oracle_cell(e: &Expected, field: &str) -> Option<Value> {
    let mut v = &e.value;
    for key in field.split('.') {
        v = v.as_object()?.get(key)?;
    }
    Some(v.clone()).filter(|v| !v.is_null())
}

fn oracle_cell_derived(e: &Expected, field: &str) -> Option<Value> {
    let own = oracle_cell(e, field);
    if own.is_some() {
        return own;
    }
    match field {
        "cid" => e.cid.clone().map(Value::String),
        "user_id" => e.user_id.clone().map(Value::String),
        "reaction_count" => {
            let counts = oracle_cell(e, "reaction_counts")?;
            let sum: i64 = counts.as_object()?.values().filter_map(Value::as_i64).sum();
            Some(Value::from(sum))
        }
        "attachment_count" => Some(Value::from(
            oracle_cell(e, "attachments")?.as_array()?.len(),
        )),
        _ => None,
    }
}

/// Does a CSV cell hold the oracle's value?
fn cell_matches(cell: &str, want: Option<&Value>) -> bool {
    match want {
        None => cell.is_empty(),
        Some(Value::String(s)) => cell == s,
        Some(Value::Number(n)) => cell.parse::<f64>().ok() == n.as_f64(),
        Some(Value::Bool(b)) => cell == b.to_string(),
        Some(other) => serde_json::from_str::<Value>(cell).ok().as_ref() == Some(other),
    }
}

/// Converts `path` to CSV tables in `out` on the sink
/// (`TablesConverter::run`), and again with the records formatted on the
/// workers (`CsvWriter::convert`: tiny chunks over the mapped file, and a
/// stream on one thread), checking that all three write the same files
/// and counts.
fn csv_tables(
    path: &Path,
    out: &Path,
    configure: impl Fn(&mut CsvWriter),
) -> Option<TablesSummary> {
    let mut w = CsvWriter::create(out).unwrap();
    configure(&mut w);
    let done = run(&engine(2, 64), path, false, &mut w).is_ok();
    let summary = done.then(|| w.finish().unwrap());
    for (threads, chunk, stream) in [(2, 7, false), (1, 1, true)] {
        let dir = tempfile::tempdir().unwrap();
        let other = dir.path().join("csv");
        let mut w = CsvWriter::create(&other).unwrap();
        configure(&mut w);
        let choice = if stream {
            MmapChoice::never()
        } else {
            // SAFETY: test fixtures are not modified while the tests run.
            unsafe { MmapChoice::auto() }
        };
        let ran = w.convert(
            &TablesConverter::new(Filter::new()),
            &engine(threads, chunk),
            &ReaderBuilder::new(),
            &[path.to_path_buf()],
            &mut |p| Input::open(p, choice),
            &mut |_, _| {},
        );
        assert_eq!(
            ran.is_ok(),
            done,
            "{}: same result on the workers",
            path.display()
        );
        if let Some(summary) = &summary {
            let theirs = w.finish().unwrap();
            assert_eq!(theirs.tables, summary.tables, "{}: counts", path.display());
            assert_eq!(
                theirs.adjusted,
                summary.adjusted,
                "{}: adjusted",
                path.display()
            );
            assert!(
                files(&other) == files(out),
                "{}: same files",
                path.display()
            );
        }
    }
    summary
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::ReaderBuilder::new().from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

#[test]
fn csv_equals_the_projection_of_the_oracle_on_every_fixture() {
    let mut checked = 0;
    for (name, path) in inputs() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("csv");
        let Some(summary) = csv_tables(&path, &out, |_| {}) else {
            continue;
        };
        let want = oracle_tables(&path);
        assert_eq!(summary.tables.len(), want.len(), "{name}: tables");
        for (table, expected) in &want {
            let (header, rows) = read_csv(&out.join(format!("{table}.csv")));
            assert_eq!(header, default_columns(table), "{name}: {table} header");
            assert_eq!(rows.len(), expected.len(), "{name}: {table} rows");
            assert_eq!(summary.rows(table), expected.len() as u64);
            for (i, (row, e)) in rows.iter().zip(expected).enumerate() {
                assert_eq!(row.len(), header.len(), "{name}: {table} row {i} width");
                for (cell, field) in row.iter().zip(&header) {
                    let want = oracle_cell_derived(e, field);
                    assert!(
                        cell_matches(cell, want.as_ref()),
                        "{name}: {table} row {i} {field}: {cell:?} vs {want:?}"
                    );
                }
            }
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} inputs converted");
}

#[test]
fn csv_columns_are_chosen_per_table_and_for_all() {
    let path = fixtures_dir().join("v2_item.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("csv");
    csv_tables(&path, &out, |w| {
        w.columns("message", &["id", "user.name", "attachments", "cid"])
            .unwrap();
        w.columns("*", &["user_id", "created_at"]).unwrap();
    })
    .unwrap();
    let want = oracle_tables(&path);
    for (table, expected) in &want {
        let fields: &[&str] = if table == "messages" {
            &["id", "user.name", "attachments", "cid"]
        } else {
            &["user_id", "created_at"]
        };
        let (header, rows) = read_csv(&out.join(format!("{table}.csv")));
        assert_eq!(header, fields, "{table}");
        for (row, e) in rows.iter().zip(expected) {
            for (cell, field) in row.iter().zip(fields) {
                let want = oracle_cell_derived(e, field);
                assert!(
                    cell_matches(cell, want.as_ref()),
                    "{table} {field}: {cell:?} vs {want:?}"
                );
            }
        }
    }
    let mut w = CsvWriter::create(dir.path().join("bad")).unwrap();
    assert!(w.columns("messages", &["user."]).is_err());
    assert!(w.columns::<&str>("messages", &[]).is_err());
}

/// Values that break naive CSV and JSON writers, spreadsheets and HTML.
pub fn hostile_texts() -> Vec<String> {
    [
        "plain",
        "comma, inside",
        "quote \" inside",
        "\"starts with a quote",
        "new\nline",
        "carriage\r\nreturn",
        "=cmd|' /C calc'!A0",
        "=HYPERLINK(\"http://x\",\"y\")",
        "+1+2",
        "-2+3",
        "@SUM(A1:A2)",
        "\ttab first",
        "\rcr first",
        "nul \u{0} inside",
        "<script>alert(1)</script>",
        "rtl \u{202e}txt.exe",
        "\u{feff}bom first",
        "",
        "emoji 🎉 and ＝fullwidth",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// A v2 export whose messages (text, ids, users) and an unknown kind's
/// type name are hostile.
pub fn hostile_export() -> Vec<u8> {
    let mut out = Vec::new();
    let channel = serde_json::json!({"type": "channel", "item": {"cid": "messaging:x,y\"z", "type": "messaging", "id": "x,y\"z"}});
    out.extend(serde_json::to_vec(&channel).unwrap());
    out.push(b'\n');
    for (i, text) in hostile_texts().iter().enumerate() {
        let line = serde_json::json!({"type": "message", "item": {
            "id": format!("m{i}{text}"),
            "text": text,
            "user": {"id": text, "name": text},
            "created_at": "2024-03-01T10:00:00Z",
            "custom": {"nested": text},
        }});
        out.extend(serde_json::to_vec(&line).unwrap());
        out.push(b'\n');
        let member =
            serde_json::json!({"type": "member", "item": {"user_id": text, "channel_role": text}});
        out.extend(serde_json::to_vec(&member).unwrap());
        out.push(b'\n');
    }
    for kind in ["../../escape", "a/b", "A/B", "con", ".hidden", "x\u{0}y"] {
        let line = serde_json::json!({"type": kind, "item": {"id": kind}});
        out.extend(serde_json::to_vec(&line).unwrap());
        out.push(b'\n');
    }
    out
}

#[test]
fn hostile_values_never_change_the_structure() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("hostile.jsonl");
    std::fs::write(&input, hostile_export()).unwrap();
    let texts = hostile_texts();
    for guard in [false, true] {
        let out = dir.path().join(format!("csv-{guard}"));
        let summary = csv_tables(&input, &out, |w| {
            w.formula_guard(guard);
        })
        .unwrap();
        let (header, rows) = read_csv(&out.join("messages.csv"));
        assert_eq!(rows.len(), texts.len());
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        for (row, text) in rows.iter().zip(&texts) {
            assert_eq!(row.len(), header.len());
            let want = if guard
                && matches!(
                    text.chars().next(),
                    Some('=' | '+' | '-' | '@' | '\t' | '\r' | '＝' | '＋' | '－' | '＠')
                ) {
                format!("'{text}")
            } else {
                text.clone()
            };
            assert_eq!(row[col("text")], want, "guard {guard}");
            assert_eq!(row[col("user_id")], want, "guard {guard}");
            assert_eq!(row[col("cid")], "messaging:x,y\"z");
        }
        let (_, members) = read_csv(&out.join("members.csv"));
        assert_eq!(members.len(), texts.len());
        assert_eq!(summary.adjusted.is_empty(), !guard);
        // Every table a file of its own, inside the folder.
        let names: Vec<String> = files(&out).into_keys().collect();
        assert_eq!(names.len(), 3 + 6, "{names:?}");
        assert!(
            names.contains(&"a_bs.csv".to_string()) && names.contains(&"A_Bs-2.csv".to_string())
        );
        assert!(
            names
                .iter()
                .all(|n| !n.contains('/') && !n.starts_with('.')),
            "{names:?}"
        );
    }
    let out = dir.path().join("nd");
    ndjson(&engine(2, 64), &input, false, &out).unwrap();
    let text = std::fs::read_to_string(out.join("messages.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), texts.len());
    for (line, want) in lines.iter().zip(&texts) {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["text"], Value::String(want.clone()));
        assert_eq!(v["custom"]["nested"], Value::String(want.clone()));
    }
}

#[test]
fn the_folder_appears_only_when_complete_and_never_over_data() {
    let path = fixtures_dir().join("v2_item.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nd");
    let mut w = NdjsonWriter::create(&out, false).unwrap();
    run(&engine(2, 64), &path, false, &mut w).unwrap();
    assert!(!out.exists(), "nothing under the final name before finish");
    drop(w);
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no temporary left"
    );
    // An empty folder is taken; a folder with anything in it is refused.
    std::fs::create_dir(&out).unwrap();
    ndjson(&engine(2, 64), &path, false, &out).unwrap();
    assert!(out.join("messages.jsonl").exists());
    let e = NdjsonWriter::create(&out, false).unwrap_err();
    assert!(e.to_string().contains("not empty"), "{e}");
    let file = dir.path().join("file");
    std::fs::write(&file, "keep").unwrap();
    assert!(CsvWriter::create(&file).is_err());
    assert_eq!(std::fs::read(&file).unwrap(), b"keep");
}

#[test]
fn filters_select_the_rows() {
    let path = fixtures_dir().join("v2_item.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nd");
    let mut filter = Filter::new();
    filter.user("user-17");
    let mut w = NdjsonWriter::create(&out, false).unwrap();
    TablesConverter::new(filter)
        .run(
            &engine(2, 64),
            &ReaderBuilder::new(),
            std::slice::from_ref(&path),
            &mut |p| Input::open(p, MmapChoice::never()),
            &mut w,
            &mut |_, _| {},
        )
        .unwrap();
    let summary = w.finish().unwrap();
    let want: Vec<Expected> = oracle_of(&path, false)
        .entities
        .into_iter()
        .filter(|e| e.user_id.as_deref() == Some("user-17"))
        .collect();
    assert!(!want.is_empty());
    assert_eq!(summary.total_rows(), want.len() as u64);
}
