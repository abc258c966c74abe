//! Filters: the sequential reader, the parallel executor with chunk
//! boundaries everywhere (chunks of 1, 7, 64 bytes and more, 1 and 2
//! threads), and the prefilter on and off all return the same entities in
//! the same order — and the same set as a `serde_json::Value` oracle.

mod common;

use common::{all_inputs, decompressed, filter_cases, oracle_of};
use common::filter_slice;
use stream_chat_export::{Filter, Parallel, ReaderBuilder};

type Got = Vec<(u64, Vec<u8>)>;

fn sequential(bytes: &[u8], filter: &Filter) -> Got {
    ReaderBuilder::new()
        .from_slice(bytes)
        .filter_map(Result::ok)
        .filter(|e| filter.matches(e))
        .map(|e| (e.offset(), e.record().to_vec()))
        .collect()
}

fn parallel(bytes: &[u8], filter: &Filter, threads: usize, chunk: usize, prefilter: bool) -> Got {
    let mut p = Parallel::new();
    p.threads(threads).chunk_size(chunk).prefilter(prefilter);
    let mut got = Vec::new();
    filter_slice(&ReaderBuilder::new(), &p, bytes, None, filter, |e| {
        got.push((e.offset(), e.record().to_vec()));
        Ok(())
    })
    .unwrap();
    got
}

#[test]
fn every_executor_agrees_on_every_fixture() {
    for (name, path) in all_inputs() {
        let raw = std::fs::read(&path).unwrap();
        let bytes = decompressed(&raw);
        for common::FilterCase { label, filter, .. } in filter_cases() {
            let want = sequential(&bytes, &filter);
            for threads in [1, 2] {
                for chunk in [1, 7, 64, 1000, 1 << 20] {
                    for prefilter in [true, false] {
                        let got = parallel(&bytes, &filter, threads, chunk, prefilter);
                        assert_eq!(
                            got, want,
                            "{name} / {label}: threads {threads}, chunk {chunk}, prefilter {prefilter}"
                        );
                    }
                }
            }
            // The gzip path (sequential inside) gives the same records.
            if raw.starts_with(&[0x1f, 0x8b]) {
                assert_eq!(
                    parallel(&raw, &filter, 2, 64, true),
                    want,
                    "{name} / {label}: gzip"
                );
            }
        }
    }
}

#[test]
fn filters_match_the_oracle() {
    for (name, path) in all_inputs() {
        let oracle = oracle_of(&path, false);
        let bytes = decompressed(&std::fs::read(&path).unwrap());
        for case in filter_cases() {
            let (label, filter) = (case.label, &case.filter);
            let want: Vec<serde_json::Value> = oracle
                .entities
                .iter()
                .filter(|e| (case.oracle)(e))
                .map(|e| e.value.clone())
                .collect();
            let mut got = Vec::new();
            let mut p = Parallel::new();
            p.threads(2).chunk_size(64);
            filter_slice(&ReaderBuilder::new(), &p, &bytes, None, filter, |e| {
                got.push(e.to_value().unwrap());
                Ok(())
            })
            .unwrap();
            assert_eq!(got.len(), want.len(), "{name} / {label}");
            assert_eq!(got, want, "{name} / {label}");
        }
    }
}

#[test]
fn escaped_ids_and_prefixes_are_exact() {
    let data = br#"{"type":"message","item":{"id":"m1","text":"a","user":{"id":"user-\u0031\u0037"}}}
{"type":"message","item":{"id":"m2","text":"b","user":{"id":"user-170"},"mentioned_users":[{"id":"user-17"}]}}
{"type":"message","item":{"id":"m3","text":"c","user":{"id":"\u0075ser-17"},"html":"\u003cp\u003e"}}
{"type":"reaction","item":{"message_id":"m2","type":"like","user_id":"user-1\u0037"}}
{"type":"message","item":{"id":"m4","text":"user-17 said hi","user":{"id":"user-1"}}}
"#;
    let mut f = Filter::new();
    f.user("user-17");
    for prefilter in [true, false] {
        let got: Vec<u64> = parallel(data, &f, 2, 1, prefilter)
            .into_iter()
            .map(|(o, _)| o)
            .collect();
        let ids: Vec<String> = got
            .iter()
            .map(|&o| {
                let line = &data[o as usize..];
                let end = line.iter().position(|&b| b == b'\n').unwrap();
                let v: serde_json::Value = serde_json::from_slice(&line[..end]).unwrap();
                v["item"]["id"]
                    .as_str()
                    .or(v["item"]["message_id"].as_str())
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(ids, ["m1", "m3", "m2"], "prefilter {prefilter}");
    }
}

/// `filter` over several files (processed concurrently) writes each file's
/// lines in command-line order, exactly as separate runs would; `-o x.gz`
/// compresses the same bytes.
#[test]
fn cli_several_files_keep_their_order() {
    let bin = env!("CARGO_BIN_EXE_stream-chat-export");
    let dir = common::fixtures_dir();
    let names = [
        "v2_item.jsonl",
        "v1_array.json.gz",
        "v2_escapes.jsonl",
        "v1_single.json",
        "user_export.jsonl",
        "v2_data.jsonl",
    ];
    let run = |files: &[&str], extra: &[&str]| {
        let out = std::process::Command::new(bin)
            .arg("filter")
            .args(["--user", "user-17"])
            .args(extra)
            .args(files.iter().map(|f| dir.join(f)))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let separately: Vec<u8> = names.iter().flat_map(|f| run(&[f], &[])).collect();
    assert!(!separately.is_empty());
    assert_eq!(run(&names, &[]), separately);
    assert_eq!(run(&names, &["--threads", "1"]), separately);
    let tmp = tempfile::tempdir().unwrap();
    let gz = tmp.path().join("out.jsonl.gz");
    run(&names, &["-o", gz.to_str().unwrap()]);
    assert_eq!(decompressed(&std::fs::read(&gz).unwrap()), separately);
    // Every output line is one JSON object in the v2 envelope.
    for line in separately.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let v: serde_json::Value = serde_json::from_slice(line).unwrap();
        assert!(v["type"].is_string() && v["item"].is_object(), "{v}");
    }
}

/// `filter` without predicates converts any input to v2 lines: reading the
/// output gives the same entities (kind, JSON value, resolved channel and
/// user) as reading the input.
#[test]
fn cli_converts_every_input_to_v2_losslessly() {
    let bin = env!("CARGO_BIN_EXE_stream-chat-export");
    for (name, path) in all_inputs() {
        let out = std::process::Command::new(bin)
            .arg("filter")
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let summary =
            |bytes: &[u8]| -> Vec<(String, serde_json::Value, Option<String>, Option<String>)> {
                ReaderBuilder::new()
                    .from_slice(bytes)
                    .filter_map(Result::ok)
                    .map(|e| {
                        (
                            e.type_name().to_string(),
                            e.to_value().unwrap(),
                            e.cid().map(str::to_string),
                            e.user_id().map(str::to_string),
                        )
                    })
                    .collect()
            };
        let original = decompressed(&std::fs::read(&path).unwrap());
        let want = summary(&original);
        let got = summary(&out.stdout);
        assert_eq!(got.len(), want.len(), "{name}");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g.0, w.0, "{name} #{i}: kind");
            assert_eq!(g.1, w.1, "{name} #{i}: value");
            assert_eq!(g.3, w.3, "{name} #{i}: user");
            // Inherited channels resolve the same: the records keep their
            // order, so every member still follows its channel.
            assert_eq!(g.2, w.2, "{name} #{i}: cid");
        }
    }
}
