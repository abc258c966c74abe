//! Damaged values the v1 walker must survive wherever they sit:
//! - before the unit key (a channel object's keys before `channel`, a
//!   wrapper's metadata before its array, a user export's keys between
//!   `user` and `messages`, an array element's first keys): validated
//!   like every other skipped value, one error at the damaged byte, and
//!   the entities after it still come out;
//! - in a v1 channel object (or user export) written on one line, alone or
//!   among the lines of a line file: the line is walked, not lost whole.
//!
//! Every case runs through the slice reader, a stream with small blocks
//! and the parallel engine (slice and stream), which must agree; the
//! entities are compared with what `serde_json::Value` finds in the same
//! document with the damaged value made valid (or the damaged entity
//! removed).

mod common;

use common::{filter_reader, filter_slice};
use serde_json::Value;
use stream_chat_export::{Entity, Filter, Parallel, ReaderBuilder, Report};

/// Damaged values, and the offset inside each of the first bad byte (or,
/// for a value cut short, of its end): the issue's cases.
const DAMAGED: &[(&[u8], u64)] = &[
    (br#""\uZZZZ""#, 3),
    (b"[1,,2]", 3),
    (b"tru", 3),
    (b"01", 1),
    (b"\"\xff\"", 1),
];

type Key = (String, String);

fn key(e: &Entity<'_>) -> Key {
    let id = e.id().or(e.message_id()).or(e.user_id()).unwrap_or("?");
    (format!("{:?}", e.kind()), id.to_string())
}

/// The entities `serde_json` finds in a (valid) document: the shapes of
/// FORMAT.md's v1 section, and v2 envelopes.
fn expected(v: &Value) -> Vec<Key> {
    let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
    let list = |o: &Value, k: &str, kind: &str, id: &str| -> Vec<Key> {
        o.get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|e| (kind.to_string(), str_of(e, id)))
                    .collect()
            })
            .unwrap_or_default()
    };
    match v {
        Value::Array(a) => a.iter().flat_map(expected).collect(),
        Value::Object(o) if o.get("channel").is_some_and(Value::is_object) => {
            let mut out = vec![("Channel".to_string(), str_of(&o["channel"], "id"))];
            out.extend(list(v, "messages", "Message", "id"));
            out.extend(list(v, "members", "Member", "user_id"));
            out
        }
        Value::Object(o) if o.get("user").is_some_and(Value::is_object) => {
            let mut out = vec![("User".to_string(), str_of(&o["user"], "id"))];
            out.extend(list(v, "messages", "Message", "id"));
            out.extend(list(v, "reactions", "Reaction", "message_id"));
            out
        }
        Value::Object(o) if o.contains_key("item") => {
            let kind = str_of(v, "type");
            let mut kind = kind.chars();
            let kind = kind
                .next()
                .map_or(String::new(), |c| c.to_uppercase().chain(kind).collect());
            vec![(kind, str_of(&o["item"], "id"))]
        }
        // A wrapper: its arrays of channel objects.
        Value::Object(o) => o
            .values()
            .filter(|v| v.is_array())
            .flat_map(expected)
            .collect(),
        _ => Vec::new(),
    }
}

fn sorted(mut keys: Vec<Key>) -> Vec<Key> {
    keys.sort();
    keys
}

/// What one run gave: entities in order, error positions (byte, line).
#[derive(Debug, PartialEq)]
struct Got {
    entities: Vec<Key>,
    errors: Vec<(u64, u64)>,
}

fn errors_of(report: &Report) -> Vec<(u64, u64)> {
    assert_eq!(
        report.records,
        report.entities + report.errors,
        "records == entities + errors ({report:?})"
    );
    assert_eq!(report.errors as usize, report.first_errors.len());
    report
        .first_errors
        .iter()
        .map(|e| {
            let p = e.position().expect("a position");
            (p.byte, p.line)
        })
        .collect()
}

fn builder() -> ReaderBuilder {
    let mut b = ReaderBuilder::new();
    b.max_errors_kept(1000);
    b
}

/// Every way of reading `data`; they must agree. Returns the slice
/// reader's answer.
fn read_all(label: &str, data: &[u8]) -> Got {
    let b = builder();
    let read = common::read_lenient(&b, data);
    let slice = Got {
        entities: read.entities.iter().map(key).collect(),
        errors: errors_of(&read.report),
    };
    for block in [7, 64] {
        let mut small = b.clone();
        small.buffer_size(block);
        let mut reader = small.from_reader(data).unwrap();
        let mut entities = Vec::new();
        while let Some(e) = reader.next_entity() {
            entities.push(key(&e.unwrap()));
        }
        let got = Got {
            entities,
            errors: errors_of(reader.report()),
        };
        assert_eq!(got, slice, "{label}: stream, blocks of {block}");
    }
    for (threads, chunk) in [(2, 16), (1, 1 << 20)] {
        let mut p = Parallel::new();
        p.threads(threads).chunk_size(chunk);
        let mut entities = Vec::new();
        let report = filter_slice(&b, &p, data, None, &Filter::new(), |e| {
            entities.push(key(&e));
            Ok(())
        })
        .unwrap();
        let got = Got {
            entities,
            errors: errors_of(&report),
        };
        assert_eq!(got, slice, "{label}: engine slice, {threads} threads");
        let mut entities = Vec::new();
        let report = filter_reader(&b, &p, data, None, &Filter::new(), |e| {
            entities.push(key(&e));
            Ok(())
        })
        .unwrap();
        let got = Got {
            entities,
            errors: errors_of(&report),
        };
        assert_eq!(got, slice, "{label}: engine stream, {threads} threads");
    }
    slice
}

/// The position of `v`'s byte `k`, `v` found right after `"x":` in `doc`.
fn position(doc: &[u8], v: &[u8], k: u64) -> (u64, u64) {
    let marker = b"\"x\":";
    let at = doc
        .windows(marker.len() + v.len())
        .position(|w| w.starts_with(marker) && &w[marker.len()..] == v)
        .unwrap()
        + marker.len();
    let byte = at as u64 + k;
    let line = doc[..byte as usize].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    (byte, line)
}

fn check(label: &str, doc: &[u8], v: &[u8], k: u64) {
    let label = format!("{label} {}", String::from_utf8_lossy(v));
    // The value is invalid by serde_json's judgement too.
    assert!(serde_json::from_slice::<Value>(doc).is_err(), "{label}");
    let valid = String::from_utf8_lossy(doc).replace(&*String::from_utf8_lossy(v), "1");
    let valid: Value = serde_json::from_str(&valid).expect(&label);
    let got = read_all(&label, doc);
    assert_eq!(sorted(got.entities), sorted(expected(&valid)), "{label}");
    assert_eq!(got.errors, vec![position(doc, v, k)], "{label}");
}

/// Documents with the damaged value `V` before the unit key, spread over
/// lines as exports are.
fn prefix_documents(v: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let c = |head: &[u8], tail: &[u8]| [head, v, tail].concat();
    let channel = br#"{"channel":{"id":"a","type":"t"},
"messages":[{"id":"m1","text":"hi"}],
"members":[{"user_id":"u1"}]}"#;
    vec![
        (
            "channel object",
            c(
                b"{\"x\":",
                b",\n\"channel\":{\"id\":\"a\",\"type\":\"t\"},\n\"messages\":[{\"id\":\"m1\",\"text\":\"hi\"}]}",
            ),
        ),
        (
            "channels wrapper",
            c(b"{\"x\":", &[b",\n\"channels\":[\n", &channel[..], b"]}"].concat()),
        ),
        (
            "wrapper under another key",
            c(b"{\"x\":", &[b",\n\"data\":[\n", &channel[..], b"]}"].concat()),
        ),
        (
            "user export",
            c(
                b"{\"user\":{\"id\":\"u\"},\n\"x\":",
                b",\n\"messages\":[{\"id\":\"m1\",\"text\":\"hi\"}],\n\"reactions\":[{\"message_id\":\"m1\",\"type\":\"like\",\"user_id\":\"u\"}]}",
            ),
        ),
        (
            "array element",
            c(
                &[b"[\n", &channel[..], b",\n{\"x\":"].concat(),
                b",\n\"channel\":{\"id\":\"b\",\"type\":\"t\"},\n\"messages\":[{\"id\":\"m2\",\"text\":\"hi\"}]}]",
            ),
        ),
    ]
}

#[test]
fn damaged_values_before_the_unit_key_are_errors_and_the_walk_goes_on() {
    for &(v, k) in DAMAGED {
        for (label, doc) in prefix_documents(v) {
            check(label, &doc, v, k);
            // The same document on one line (its own file).
            let one = String::from_utf8_lossy(&doc).replace('\n', "");
            let one: Vec<u8> = if v.contains(&0xff) {
                doc.iter().copied().filter(|&b| b != b'\n').collect()
            } else {
                one.into_bytes()
            };
            check(&format!("one-line {label}"), &one, v, k);
        }
    }
}

/// One-line v1 documents with the damaged value after the unit key.
fn one_line_documents(v: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let c = |head: &[u8], tail: &[u8]| [head, v, tail].concat();
    vec![
        (
            "channel object",
            c(
                br#"{"channel":{"id":"a","type":"t"},"messages":[{"id":"m1","text":"x"}],"x":"#,
                b"}",
            ),
        ),
        (
            "channel object, members after",
            c(
                br#"{"channel":{"id":"a","type":"t"},"messages":[{"id":"m1","text":"x"}],"x":"#,
                br#","members":[{"user_id":"u1"}]}"#,
            ),
        ),
        (
            "user export",
            c(
                br#"{"user":{"id":"u"},"messages":[{"id":"m1","text":"hi"}],"x":"#,
                br#","reactions":[{"message_id":"m1","type":"like","user_id":"u"}]}"#,
            ),
        ),
        (
            "wrapper",
            c(
                br#"{"channels":[{"channel":{"id":"a","type":"t"},"messages":[{"id":"m1","text":"x"}]}],"x":"#,
                b"}",
            ),
        ),
    ]
}

const BEFORE: &[u8] = br#"{"type":"user","item":{"id":"u0","name":"A"}}"#;
const AFTER: &[u8] = br#"{"type":"message","item":{"id":"m9","text":"z","cid":"t:b"}}"#;

#[test]
fn a_damaged_one_line_document_keeps_its_entities() {
    for &(v, k) in DAMAGED {
        for (label, doc) in one_line_documents(v) {
            // An array under another key of a wrapper or user export is
            // read as records (FORMAT.md, wrapper shape; see
            // tests/v1_skipped.rs), not skipped.
            if v.starts_with(b"[") && (label == "user export" || label == "wrapper") {
                continue;
            }
            check(label, &doc, v, k);
            // One such line among the lines of a line file (first, in the
            // middle, last without its newline).
            for (where_, file) in [
                ("first", [&doc[..], b"\n", AFTER, b"\n"].concat()),
                (
                    "middle",
                    [BEFORE, b"\n", &doc, b"\n", AFTER, b"\n"].concat(),
                ),
                ("last", [BEFORE, b"\n", AFTER, b"\n", &doc].concat()),
                ("twice", [BEFORE, b"\n", &doc, b"\n", &doc, b"\n"].concat()),
            ] {
                let label = format!("{label}, {where_} line {}", String::from_utf8_lossy(v));
                let valid =
                    String::from_utf8_lossy(&file).replace(&*String::from_utf8_lossy(v), "1");
                let want: Vec<Key> = valid
                    .lines()
                    .flat_map(|l| expected(&serde_json::from_str(l).unwrap()))
                    .collect();
                let got = read_all(&label, &file);
                assert_eq!(sorted(got.entities), sorted(want), "{label}");
                let n = if where_ == "twice" { 2 } else { 1 };
                assert_eq!(got.errors.len(), n, "{label}: {:?}", got.errors);
                let first = position(&file, v, k);
                assert_eq!(got.errors[0], first, "{label}");
            }
        }
    }
}

/// A damaged entity inside a one-line channel object costs that entity
/// only, as in a document spread over lines.
#[test]
fn a_damaged_entity_in_a_one_line_document() {
    for &(v, _) in DAMAGED {
        let doc = [
            &br#"{"channel":{"id":"a","type":"t"},"messages":[{"id":"m1","text":"x"},{"id":"m2","text":"#[..],
            v,
            br#"},{"id":"m3","text":"y"}],"members":[{"user_id":"u1"}]}"#,
        ]
        .concat();
        let label = format!("damaged entity {}", String::from_utf8_lossy(v));
        let want = [
            ("Channel", "a"),
            ("Message", "m1"),
            ("Message", "m3"),
            ("Member", "u1"),
        ]
        .map(|(k, i)| (k.to_string(), i.to_string()))
        .to_vec();
        let spread = String::from_utf8_lossy(&doc).replace(",{", ",\n{");
        let spread: Vec<u8> = if v.contains(&0xff) {
            doc.iter()
                .flat_map(|&b| if b == b'{' { vec![b'\n', b] } else { vec![b] })
                .collect()
        } else {
            spread.into_bytes()
        };
        let m2 = doc.windows(4).position(|w| w == br#""m2""#).unwrap() as u64;
        for (how, data) in [("one line", &doc), ("spread", &spread)] {
            let got = read_all(&format!("{label}, {how}"), data);
            assert_eq!(got.entities, want, "{label}, {how}");
            assert_eq!(got.errors.len(), 1, "{label}, {how}");
            if how == "one line" {
                // Inside the damaged message.
                let at = got.errors[0].0;
                assert!(at > m2 && at < m2 + 20 + v.len() as u64, "{label}: {at}");
                assert_eq!(got.errors[0].1, 1);
            }
        }
    }
}

/// What is not a v1 unit by its leading keys stays one error: damaged v2
/// and import lines, bare entities.
#[test]
fn damaged_v2_lines_stay_one_error() {
    for &(v, _) in DAMAGED {
        for line in [
            [&br#"{"type":"message","item":{"id":"m1","text":"#[..], v, b"}}"].concat(),
            [&br#"{"type":"channel","data":{"id":"c","channel":{"id":"a"},"messages":[],"x":"#[..], v, b"}}"].concat(),
            [&br#"{"channel":{"id":"a"},"id":"m1","text":"#[..], v, b"}"].concat(),
            [&br#"{"user":{"id":"u"},"user_id":"u","x":"#[..], v, b"}"].concat(),
            [&br#"{"cid":"t:c","config":{},"members":[{"user_id":"u1"}],"x":"#[..], v, b"}"].concat(),
        ] {
            let file = [BEFORE, b"\n", &line, b"\n", AFTER, b"\n"].concat();
            let label = String::from_utf8_lossy(&line).into_owned();
            let got = read_all(&label, &file);
            assert_eq!(
                got.entities,
                vec![
                    ("User".to_string(), "u0".to_string()),
                    ("Message".to_string(), "m9".to_string())
                ],
                "{label}"
            );
            assert_eq!(got.errors.len(), 1, "{label}");
            assert_eq!(got.errors[0].1, 2, "{label}");
        }
    }
}
