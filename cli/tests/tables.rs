//! `convert --to ndjson|csv|parquet` run as a process: rows per table
//! equal testdata/fixtures/expected.json's counts (written by Python,
//! independently of the crate) on every fixture and sample, stdin, gzip,
//! usage errors and exit codes.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::Path;

fn table_of(kind: &str) -> String {
    match kind {
        "channel_member" => "members".into(),
        k => format!("{k}s"),
    }
}

/// `table: N rows` lines of the summary.
fn summary_rows(stderr: &str) -> BTreeMap<String, u64> {
    stderr
        .lines()
        .filter_map(|l| {
            let (table, rest) = l.trim().split_once(": ")?;
            let n = rest
                .strip_suffix(" rows")
                .or_else(|| rest.split(" rows").next())?;
            Some((table.to_string(), n.trim().parse().ok()?))
        })
        .collect()
}

fn ndjson_rows(dir: &Path) -> BTreeMap<String, u64> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let name = p
                .file_name()
                .unwrap()
                .to_string_lossy()
                .replace(".jsonl", "");
            let text = std::fs::read_to_string(&p).unwrap();
            for line in text.lines() {
                serde_json::from_str::<serde_json::Value>(line).expect("a JSON line");
            }
            (name, text.lines().count() as u64)
        })
        .collect()
}

#[test]
fn every_format_has_the_expected_rows_on_every_fixture() {
    let expected = expected();
    let mut checked = 0;
    for (name, path) in all_inputs() {
        let Some(exp) = expected.get(&name) else {
            continue;
        };
        let want: BTreeMap<String, u64> = exp["counts"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (table_of(k), v.as_u64().unwrap()))
            .filter(|(_, n)| *n > 0)
            .collect();
        for to in ["ndjson", "csv", "parquet"] {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("tables");
            let o = run(
                &["convert", "--to", to, "--out", s(&out), "-j", "2", s(&path)],
                None,
            );
            assert_eq!(code(&o), 0, "{name} {to}: {}", stderr(&o));
            assert_eq!(
                summary_rows(&stderr(&o)),
                want,
                "{name} {to}: {}",
                stderr(&o)
            );
            if to == "ndjson" {
                assert_eq!(ndjson_rows(&out), want, "{name}: files");
            }
        }
        checked += 1;
    }
    assert!(checked >= 30, "{checked}");
}

#[test]
fn stdin_gzip_filters_and_errors() {
    let item = fixtures_dir().join("v2_item.jsonl");
    let bytes = std::fs::read(&item).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let from_file = dir.path().join("a");
    let from_stdin = dir.path().join("b");
    assert_eq!(
        code(&run(
            &[
                "convert",
                "--to",
                "ndjson",
                "--out",
                s(&from_file),
                s(&item)
            ],
            None
        )),
        0
    );
    let o = run(
        &["convert", "--to", "ndjson", "--out", s(&from_stdin), "-"],
        Some(&gzip(&bytes)),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    for table in ["messages", "members", "channels"] {
        let a = std::fs::read(from_file.join(format!("{table}.jsonl"))).unwrap();
        let b = std::fs::read(from_stdin.join(format!("{table}.jsonl"))).unwrap();
        assert_eq!(a, b, "{table}");
    }
    // --gzip
    let gz = dir.path().join("gz");
    assert_eq!(
        code(&run(
            &[
                "convert",
                "--to",
                "ndjson",
                "--gzip",
                "--out",
                s(&gz),
                s(&item)
            ],
            None
        )),
        0
    );
    assert_eq!(
        decompressed(&std::fs::read(gz.join("messages.jsonl.gz")).unwrap()),
        std::fs::read(from_file.join("messages.jsonl")).unwrap()
    );
    // Filters: one user's messages only.
    let one = dir.path().join("one");
    let o = run(
        &[
            "convert",
            "--to",
            "csv",
            "--kind",
            "message",
            "--user",
            "user-17",
            "--columns",
            "id,user_id",
            "--out",
            s(&one),
            s(&item),
        ],
        None,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let csv = std::fs::read_to_string(one.join("messages.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("id,user_id"));
    assert!(lines.clone().count() > 0);
    assert!(lines.all(|l| l.ends_with(",user-17")), "{csv}");
    assert!(stderr(&o).contains("dropped:"), "{}", stderr(&o));
    // Usage errors (exit 2), nothing written.
    for args in [
        vec!["convert", "--to", "csv", "--gzip"],
        vec!["convert", "--to", "ndjson", "--formula-guard"],
        vec!["convert", "--to", "parquet", "--columns", "id"],
        vec!["convert", "--to", "csv", "--columns", "messages=a..b"],
    ] {
        let bad = dir.path().join("bad");
        let mut args = args.clone();
        args.extend(["--out", s(&bad), s(&item)]);
        let o = run(&args, None);
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
        assert!(!bad.exists(), "{args:?}");
    }
    // An existing, non-empty folder is never written into.
    let o = run(
        &["convert", "--to", "csv", "--out", s(&from_file), s(&item)],
        None,
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("not empty"), "{}", stderr(&o));
    // --strict on a bad record: exit 1, no folder.
    let strict = dir.path().join("strict");
    let malformed = fixtures_dir().join("v2_malformed.jsonl");
    let o = run(
        &[
            "convert",
            "--to",
            "parquet",
            "--strict",
            "--out",
            s(&strict),
            s(&malformed),
        ],
        None,
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(!strict.exists());
    // Lenient: the bad records are reported.
    let o = run(
        &[
            "convert",
            "--to",
            "parquet",
            "--out",
            s(&strict),
            s(&malformed),
        ],
        None,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("bad records"), "{}", stderr(&o));
}
