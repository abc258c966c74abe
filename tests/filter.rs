//! Filters: the sequential reader, the parallel executor with chunk
//! boundaries everywhere (chunks of 1, 7, 64 bytes and more, 1 and 2
//! threads), and the prefilter on and off all return the same entities in
//! the same order — and the same set as a `serde_json::Value` oracle.

mod common;

use common::filter_slice;
use common::{all_inputs, decompressed, filter_cases, oracle_of};
use stream_chat_export::{Filter, Parallel, ReaderBuilder, V2Writer};

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

/// The v2 writer's output is NDJSON for every fixture (gzip ones
/// included): each line parses alone as `{"type","item"}`, there is one
/// line per entity, and each `item` is the entity's JSON. Parsed line by
/// line with serde_json, not with the crate's tolerant reader, which would
/// accept a pretty-printed document.
#[test]
fn v2_writer_output_is_ndjson_for_every_fixture() {
    for (name, path) in all_inputs() {
        let bytes = decompressed(&std::fs::read(&path).unwrap());
        let mut want = Vec::new();
        let mut writer = V2Writer::new(Vec::new());
        for entity in ReaderBuilder::new()
            .from_slice(&bytes)
            .filter_map(Result::ok)
        {
            writer.write(&entity).unwrap();
            let raw: serde_json::Value = serde_json::from_slice(entity.raw()).unwrap();
            want.push((entity.type_name().to_string(), raw));
        }
        assert_eq!(writer.written(), want.len() as u64, "{name}");
        let out = writer.into_inner().unwrap();
        assert!(out.is_empty() || out.ends_with(b"\n"), "{name}");
        let lines: Vec<&[u8]> = out
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(lines.len(), want.len(), "{name}: one line per entity");
        for (i, (line, (kind, raw))) in lines.iter().zip(&want).enumerate() {
            let v: serde_json::Value =
                serde_json::from_slice(line).unwrap_or_else(|e| panic!("{name} line {i}: {e}"));
            let object = v.as_object().unwrap();
            assert!(
                object.contains_key("type") && object.contains_key("item"),
                "{name} {i}"
            );
            assert_eq!(v["item"], *raw, "{name} line {i}: item");
            // A v2 line copied as is keeps its own spelling of the kind:
            // `channel_member` for a member.
            let ty = v["type"].as_str().unwrap();
            let same = ty == kind || (kind == "member" && ty == "channel_member");
            assert!(same, "{name} line {i}: type {ty}, entity {kind}");
        }
    }
}
