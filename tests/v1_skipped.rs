//! Values a v1 document holds besides its entities (a channel object's
//! unknown keys, a wrapper's or a user export's other keys) are skipped,
//! not decoded, but must still be JSON (issue 9): each damaged one is one
//! error naming its line and byte; the walk goes on after it, so every
//! entity of the document still comes out.

mod common;

use stream_chat_export::{ErrorKind, ReaderBuilder};

/// Damaged values, and the offset inside each of the first bad byte (or,
/// for a value cut short, of its end).
const DAMAGED: &[(&[u8], u64)] = &[
    (br#""\uZZZZ""#, 3),
    (b"[1,,2]", 3),
    (b"tru", 3),
    (b"01", 1),
    (b"\"\xff\"", 1),
    // A UTF-8 sequence cut short: the byte where it breaks.
    (b"{\"a\":[{\"b\":\"\xc3\"}]}", 13),
];

/// Documents with one skipped value `V`, spread over lines (as exports
/// are), and the entity ids they hold.
fn documents(v: &[u8]) -> Vec<(&'static str, Vec<u8>, Vec<&'static str>)> {
    let channel = |v: &[u8]| {
        let mut d = b"{\"channel\":{\"id\":\"a\",\"type\":\"t\"},\n\"x\":".to_vec();
        d.extend_from_slice(v);
        d.extend_from_slice(b",\n\"messages\":[{\"id\":\"m1\",\"text\":\"hi\"}]}");
        d
    };
    let ok = channel(b"1");
    let join = |parts: &[&[u8]]| parts.concat();
    let mut docs = vec![
        ("document", channel(v), vec!["a", "m1"]),
        (
            "array",
            join(&[b"[\n", &ok, b",\n", &channel(v), b",\n", &ok, b"]"]),
            vec!["a", "m1", "a", "m1", "a", "m1"],
        ),
        (
            "wrapper",
            join(&[b"{\"channels\":[\n", &channel(v), b",\n", &ok, b"]}"]),
            vec!["a", "m1", "a", "m1"],
        ),
        (
            "wrapper key",
            join(&[b"{\"channels\":[\n", &ok, b"],\n\"x\":", v, b",\n\"y\":2}"]),
            vec!["a", "m1"],
        ),
        (
            "user export",
            join(&[
                b"{\"user\":{\"id\":\"u\"},\n\"messages\":[{\"id\":\"m1\",\"text\":\"hi\"}],\n\"x\":",
                v,
                b",\n\"reactions\":[{\"message_id\":\"m1\",\"type\":\"like\",\"user_id\":\"u\"}]}",
            ]),
            vec!["u", "m1", "like"],
        ),
    ];
    // An array under another key of a wrapper or user export (no
    // `channel` key in that object) is not skipped: the walker reads its
    // elements as records (FORMAT.md, wrapper shape), which are decoded
    // and checked as such.
    if v.starts_with(b"[") {
        docs.retain(|d| d.0 != "wrapper key" && d.0 != "user export");
    }
    docs
}

fn id(e: &stream_chat_export::Entity<'_>) -> String {
    e.id()
        .or_else(|| {
            e.get("type")
                .and_then(|t| t.get().strip_prefix('"')?.strip_suffix('"'))
        })
        .unwrap_or("?")
        .to_string()
}

/// The expected error position: the damaged byte, and its line counted
/// from the bytes.
fn expected(doc: &[u8], v: &[u8], k: u64) -> (u64, u64) {
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

#[test]
fn damaged_skipped_values_are_errors_and_the_walk_goes_on() {
    for &(v, k) in DAMAGED {
        // The value is invalid by serde_json's judgement too.
        assert!(
            std::str::from_utf8(v).is_err()
                || serde_json::from_slice::<serde_json::Value>(v).is_err()
        );
        for (label, doc, ids) in documents(v) {
            let want = expected(&doc, v, k);
            let label = format!("{label} {}", String::from_utf8_lossy(v));
            let b = ReaderBuilder::new();
            let read = common::read_lenient(&b, &doc);
            let got: Vec<String> = read.entities.iter().map(id).collect();
            assert_eq!(got, ids, "{label}: slice entities");
            assert_eq!(
                read.report.errors, 1,
                "{label}: {:?}",
                read.report.first_errors
            );
            let e = &read.report.first_errors[0];
            let p = e.position().unwrap();
            assert_eq!((p.byte, p.line), want, "{label}: slice: {e}");
            for block in [64, 1000] {
                let mut small = b.clone();
                small.buffer_size(block);
                let mut reader = small.from_reader(&doc[..]).unwrap();
                let mut got = Vec::new();
                while let Some(e) = reader.next_entity() {
                    got.push(id(&e.unwrap()));
                }
                assert_eq!(got, ids, "{label}: stream {block}");
                let e = &reader.report().first_errors[0];
                let p = e.position().unwrap();
                assert_eq!(reader.report().errors, 1, "{label}: stream {block}");
                assert_eq!((p.byte, p.line), want, "{label}: stream {block}: {e}");
            }
        }
    }
}

/// The same documents with a valid value give no error (the check has no
/// false alarms), and a huge skipped value is checked in passing: a
/// stream with small blocks holds only a little of it at a time and still
/// finds damage at its very end.
#[test]
fn valid_and_huge_skipped_values() {
    for v in [
        &b"1"[..],
        b"[1,{\"a\":\"\\u00e9\xc3\xa9\"},null,true,-0.5e3]",
        b"\"\\ud83d\"",
    ] {
        for (label, doc, ids) in documents(v) {
            let read = common::read_lenient(&ReaderBuilder::new(), &doc);
            let got: Vec<String> = read.entities.iter().map(id).collect();
            assert_eq!(
                (got, read.report.errors),
                (ids.iter().map(|s| s.to_string()).collect(), 0),
                "{label}"
            );
        }
    }
    let mut huge = b"{\"config\":[".to_vec();
    for i in 0..200_000 {
        huge.extend_from_slice(format!("{{\"k{i}\":\"v\"}},").as_bytes());
    }
    huge.extend_from_slice(b"tru]}");
    let (label, doc, ids) = documents(&huge).remove(0);
    // `tru]`: the literal breaks at the `]`.
    let want = expected(&doc, &huge, huge.len() as u64 - 2);
    let mut b = ReaderBuilder::new();
    b.buffer_size(4096).max_entity(1 << 16);
    let mut reader = b.from_reader(&doc[..]).unwrap();
    let mut got = Vec::new();
    while let Some(e) = reader.next_entity() {
        got.push(id(&e.unwrap()));
    }
    assert_eq!(got, ids, "{label}");
    let e = &reader.report().first_errors[0];
    assert!(matches!(e.kind(), ErrorKind::Json { .. }), "{e}");
    let p = e.position().unwrap();
    assert_eq!((p.byte, p.line), want, "{e}");
}
