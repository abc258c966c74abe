//! The crate against an independent oracle (tests/common): for every
//! fixture and documented sample, on every input path, the same entities
//! (kind, id, user, resolved channel, created_at, JSON value), the same
//! bad lines and the same blank lines.

mod common;

use common::*;
use stream_chat_export::ReaderBuilder;

fn check(name: &str, path: &std::path::Path, builder: &ReaderBuilder, lossy_utf8: bool) {
    let runs = runs(path, builder);
    assert_agree(name, &runs);
    let want = oracle_of(path, lossy_utf8);
    for run in &runs {
        let label = format!("{name} [{}]", run.path);
        assert!(
            run.yielded.is_empty(),
            "{label}: lenient mode handed out errors: {:?}",
            run.yielded
        );
        compare(&label, &run.entities, &want.entities);
        assert_eq!(run.error_lines(), want.error_lines, "{label}: error lines");
        let gzip_errors = run.first_errors.iter().filter(|e| e.is_gzip()).count() as u64;
        assert_eq!(
            run.errors - gzip_errors,
            want.error_lines.len() as u64,
            "{label}: errors (besides gzip stream errors)"
        );
        if !want.document {
            assert_eq!(run.blank_lines, want.blank_lines, "{label}: blank lines");
        }
    }
}

macro_rules! oracle_tests {
    ($($test:ident => $name:expr,)*) => {
        $(
            #[test]
            fn $test() {
                check($name, &input_path($name), &ReaderBuilder::new(), false);
            }
        )*
    };
}

oracle_tests! {
    v1_single => "v1_single.json",
    v1_compact => "v1_compact.json",
    v1_array => "v1_array.json",
    v1_wrapper => "v1_wrapper.json",
    v1_sequence => "v1_sequence.json",
    v1_sequence_lines => "v1_sequence_lines.jsonl",
    v1_reactions_inside => "v1_reactions_inside.json",
    v1_truncated => "v1_truncated.json",
    user_export_sync => "user_export_sync.json",
    user_export => "user_export.jsonl",
    v2_item => "v2_item.jsonl",
    v2_data => "v2_data.jsonl",
    v2_bare => "v2_bare.jsonl",
    v2_channel_member => "v2_channel_member.jsonl",
    v2_crlf => "v2_crlf.jsonl",
    v2_bom => "v2_bom.jsonl",
    v2_blank_lines => "v2_blank_lines.jsonl",
    v2_no_final_newline => "v2_no_final_newline.jsonl",
    v2_malformed => "v2_malformed.jsonl",
    v2_truncated => "v2_truncated.jsonl",
    v2_invalid_utf8 => "v2_invalid_utf8.jsonl",
    v2_escapes => "v2_escapes.jsonl",
    v2_unicode => "v2_unicode.jsonl",
    v2_nulls => "v2_nulls.jsonl",
    v2_timestamps => "v2_timestamps.jsonl",
    v2_escaped_keys => "v2_escaped_keys.jsonl",
    v2_lone_surrogate => "v2_lone_surrogate.jsonl",
    v2_timestamps_ns => "v2_timestamps_ns.jsonl",
    v2_item_gz => "v2_item.jsonl.gz",
    v2_multimember_gz => "v2_multimember.jsonl.gz",
    v1_array_gz => "v1_array.json.gz",
    v2_truncated_gzip => "v2_truncated_gzip.jsonl.gz",
    sample_import_jsonl => "samples/import-jsonl-docs-example.jsonl",
}

// A channel record without a cid (an import channel written with
// `member_ids` and no `id`) ends the previous channel's reach: the members
// and messages after it that name no channel of their own inherit none
// (FORMAT.md: the most recent channel line's cid, which here is none). The
// three import tests below check that against the oracle.

#[test]
fn import() {
    let name = "import.jsonl";
    check(name, &input_path(name), &ReaderBuilder::new(), false);
}

#[test]
fn import_legacy() {
    let name = "import_legacy.json";
    check(name, &input_path(name), &ReaderBuilder::new(), false);
}

#[test]
fn sample_import_legacy() {
    let name = "samples/import-legacy-array-stream-cli-valid-data.json";
    check(name, &input_path(name), &ReaderBuilder::new(), false);
}

#[test]
fn invalid_utf8_lossy() {
    let mut b = ReaderBuilder::new();
    b.lossy_utf8(true);
    check(
        "v2_invalid_utf8.jsonl (lossy)",
        &input_path("v2_invalid_utf8.jsonl"),
        &b,
        true,
    );
}

/// No fixture or sample is left out of the tests above.
#[test]
fn every_input_has_an_oracle_test() {
    let listed = include_str!("oracle.rs");
    for (name, _) in all_inputs() {
        assert!(
            listed.contains(&format!("\"{name}\"")),
            "{name} has no oracle test"
        );
    }
}

/// The oracle itself against expected.json (computed by Python from the
/// same bytes): kinds, bad lines, blank lines, users and time range. Keeps
/// the oracle honest.
#[test]
fn oracle_agrees_with_expected_json() {
    use std::collections::BTreeMap;
    let instant = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .ok()
            .map(|d| (d.timestamp(), d.timestamp_subsec_nanos()))
    };
    for (name, exp) in expected() {
        let out = oracle_of(&input_path(&name), false);
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        let mut users: BTreeMap<String, u64> = BTreeMap::new();
        let mut min: Option<((i64, u32), String)> = None;
        let mut max: Option<((i64, u32), String)> = None;
        for e in &out.entities {
            *counts.entry(e.type_name.clone()).or_insert(0) += 1;
            if let Some(u) = &e.user_id {
                *users.entry(u.clone()).or_insert(0) += 1;
            }
            if let Some((t, text)) = e
                .created_at
                .as_ref()
                .and_then(|c| instant(c).map(|t| (t, c)))
            {
                if min.as_ref().is_none_or(|(m, _)| t < *m) {
                    min = Some((t, text.clone()));
                }
                if max.as_ref().is_none_or(|(m, _)| t > *m) {
                    max = Some((t, text.clone()));
                }
            }
        }
        let as_map = |v: &serde_json::Value| -> BTreeMap<String, u64> {
            v.as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
                .collect()
        };
        assert_eq!(counts, as_map(&exp["counts"]), "{name}: counts");
        assert_eq!(users, as_map(&exp["users"]), "{name}: users");
        let lines: Vec<u64> = exp["error_lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(out.error_lines, lines, "{name}: error lines");
        if !out.document {
            assert_eq!(
                out.blank_lines,
                exp["blank_lines"].as_u64().unwrap(),
                "{name}: blank lines"
            );
        }
        assert_eq!(
            min.map(|m| m.1).as_deref(),
            exp.get("min_created_at").and_then(|v| v.as_str()),
            "{name}: min created_at"
        );
        assert_eq!(
            max.map(|m| m.1).as_deref(),
            exp.get("max_created_at").and_then(|v| v.as_str()),
            "{name}: max created_at"
        );
    }
}

/// A small v1 channel object, compact.
fn channel_unit(id: &str, messages: &[&str], members: &[&str]) -> String {
    let msgs: Vec<String> = messages
        .iter()
        .map(|m| format!(r#"{{"id":"{m}","text":"t {m}","user":{{"id":"u1"}},"created_at":"2021-01-01T00:00:00Z"}}"#))
        .collect();
    let mems: Vec<String> = members
        .iter()
        .map(|u| {
            format!(r#"{{"user_id":"{u}","user":{{"id":"{u}"}},"channel_role":"channel_member"}}"#)
        })
        .collect();
    format!(
        r#"{{"channel":{{"id":"{id}","type":"messaging","cid":"messaging:{id}","created_by":{{"id":"u0"}}}},"messages":[{}],"members":[{}]}}"#,
        msgs.join(","),
        mems.join(",")
    )
}

/// Synthetic inputs: each read on every path and checked against the
/// oracle.
fn check_synthetic(name: &str, text: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    check(name, &path, &ReaderBuilder::new(), false);
}

#[test]
fn synthetic_shapes() {
    let a = channel_unit("a", &["a1", "a2"], &["u1", "u2"]);
    let b = channel_unit("b", &["b1"], &["u3"]);
    let item = |t: &str, body: &str| format!(r#"{{"type":"{t}","item":{body}}}"#);
    let cases: Vec<(&str, String)> = vec![
        // v2 lines with a v1 channel object line in the middle.
        (
            "mixed.jsonl",
            [
                item("channel", r#"{"id":"x","type":"messaging","cid":"messaging:x"}"#),
                item("member", r#"{"user_id":"u1"}"#),
                a.clone(),
                item("member", r#"{"user_id":"u2"}"#),
                item("reaction", r#"{"message_id":"a1","type":"like","user_id":"u2"}"#),
                item("reaction", r#"{"message_id":"zz","type":"like","user_id":"u2"}"#),
                item("read", r#"{"user":{"id":"u9"},"last_read":"2021-01-01T00:00:00Z"}"#),
            ]
            .join("\n"),
        ),
        // A BOM before a pretty v1 document.
        ("bom_v1.json", "\u{feff}{\n \"channel\": {\"id\":\"c\",\"type\":\"t\"},\n \"members\": [{\"user_id\":\"u\"}]\n}\n".to_string()),
        // A sequence: v1 objects then bare records, CRLF.
        ("sequence.json", format!("{a}\r\n\r\n{b} {b}\r\n{{\"id\":\"u5\",\"name\":\"N\"}}\r\n")),
        // Arrays of channel objects and envelopes mixed.
        ("array.json", format!("[{a},\n {},\n {b}]", item("user", r#"{"id":"u7","role":"user"}"#))),
        // A wrapper whose array key is first.
        ("wrapper.json", format!("{{\"channels\": [{a}, {b}]}}")),
        // Envelope look-alikes that are entities.
        (
            "lookalikes.jsonl",
            [
                r#"{"id":"m1","type":"regular","text":"x","data":{"k":1}}"#,
                r#"{"type":"user","item":{"id":"u1"},"user_id":"u1"}"#,
                r#"{"type":"message","data":{"id":"m2","text":"d"},"item":{"id":"m3","text":"i"}}"#,
                r#"{"type":"channel_member","data":{"user_id":"u1","channel_type":"t","channel_id":"c"}}"#,
                r#"{"type":"whatever","item":{"id":"w"}}"#,
                r#"{"id":"dup","id":"dup2","text":"last key wins","user":"su"}"#,
            ]
            .join("\n"),
        ),
        // Nulls and non-string key fields.
        (
            "odd_values.jsonl",
            [
                r#"{"type":"message","item":{"id":"n1","text":"x","cid":null,"channel_cid":"t:c","user_id":null,"user":{"id":null}}}"#,
                r#"{"type":"channel","item":{"type":"t","id":"c2","created_by":"creator"}}"#,
                r#"{"type":"member","item":{"user_id":"u1","user":"ignored"}}"#,
                r#"{"type":"message","item":{"id":"n2","text":"x","created_at":"2021-02-17T10:17:49.5+02:00"}}"#,
                r#"{"type":"message","item":{"id":"n3","text":"x","created_at":"not a time"}}"#,
                r#"{"type":"message","item":{"id":"n4","text":"x","created_at":"2021-02-30T00:00:00Z"}}"#,
            ]
            .join("\n"),
        ),
    ];
    for (name, text) in cases {
        check_synthetic(name, text.as_bytes());
    }
}

/// A wrapper object whose first key is not the array of channels (e.g.
/// export metadata first): FORMAT.md shape 3, "an object whose
/// array-valued key (e.g. `channels`) holds such objects".
#[test]
fn wrapper_with_metadata_first() {
    let a = channel_unit("a", &["a1", "a2"], &["u1", "u2"]);
    let b = channel_unit("b", &["b1"], &["u3"]);
    let text = format!(
        "{{\n \"exported_at\": \"2021-01-01T00:00:00Z\",\n \"channels\": [{a},\n {b}]\n}}\n"
    );
    check_synthetic("wrapper_metadata.json", text.as_bytes());
}
