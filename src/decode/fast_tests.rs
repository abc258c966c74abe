//! The fast path against its oracle, the serde path: every line of every
//! file in `testdata/`, the JSONTestSuite files, and mutations of them
//! that hit what the fast path hands back (escaped keys, numbers in id
//! fields, lone surrogates, depth, control characters, broken grammar).

use super::super::{Decoded, Hint, Path, Repairs, decode_fast, decode_record_by};
use crate::model::entity::Kind;
use crate::model::keys::tests::Rng;
use std::path::Path as FsPath;

/// Decodes `record` both ways under every hint and repair setting and
/// checks they agree; returns how many of the tries the fast path read.
fn check(record: &[u8]) -> usize {
    let mut fast_hits = 0;
    let hints = [
        Hint::Record,
        Hint::Nested(Kind::Message),
        Hint::Nested(Kind::Channel),
    ];
    let repairs = [
        Repairs::default(),
        Repairs {
            lossy_utf8: true,
            lone_surrogates: true,
            max_depth: 0,
            extras: &["text", "reaction_counts"],
        },
        Repairs {
            max_depth: 3,
            ..Repairs::default()
        },
    ];
    for hint in hints {
        for r in repairs {
            let fast = decode_record_by(record, 11, hint, r, Path::Fast);
            let serde = decode_record_by(record, 11, hint, r, Path::Serde);
            if let Ok(Decoded::Entity(e)) = &fast
                && e.compact.0
            {
                assert!(!spaced(e.raw()), "claimed compact");
            }
            match (&fast, &serde) {
                (Ok(f), _) => super::agree(f, &serde),
                (Err(a), Err(b)) => {
                    assert_eq!(
                        (format!("{:?}", a.kind), a.at),
                        (format!("{:?}", b.kind), b.at),
                        "{}",
                        String::from_utf8_lossy(record)
                    );
                }
                (Err(a), Ok(b)) => panic!("fast path failed with {a:?}, serde read {b:?}"),
            }
            if let Ok(text) = std::str::from_utf8(crate::json::trim_ws_at(record).1)
                && decode_fast(text, 11, hint, r).is_some()
            {
                fast_hits += 1;
            }
        }
    }
    fast_hits
}

/// Whether `json` has whitespace outside its strings.
fn spaced(json: &[u8]) -> bool {
    let mut strings = crate::json::index::StringState::default();
    json.iter()
        .any(|&b| strings.outside(b) && matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

#[test]
fn compact_means_no_whitespace_outside_strings() {
    let compact = |line: &str| match decode_record_by(
        line.as_bytes(),
        0,
        Hint::Record,
        Repairs::default(),
        Path::Fast,
    ) {
        Ok(Decoded::Entity(e)) => e.compact.0,
        other => panic!("{other:?}"),
    };
    assert!(compact(
        r#"{"type":"message","item":{"id":"m 1","text":"a b"}}"#
    ));
    assert!(!compact(
        r#"{"type":"message","item":{"id":"m1", "text":"ab"}}"#
    ));
    assert!(!compact(
        r#"{"type":"message","item":{"id":"m1","x":[1,2 ]}}"#
    ));
    // Whitespace in the envelope only: not claimed either (always safe).
    assert!(!compact(r#"{"type": "message","item":{"id":"m1"}}"#));
    // The serde path never claims it.
    let serde = decode_record_by(
        br#"{"type":"message","item":{"id":"m1"}}"#,
        0,
        Hint::Record,
        Repairs::default(),
        Path::Serde,
    );
    assert!(matches!(serde, Ok(Decoded::Entity(e)) if !e.compact.0));
}

fn files(dir: &FsPath, out: &mut Vec<Vec<u8>>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let path = e.path();
        if path.is_dir() {
            files(&path, out);
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        if path.extension().is_some_and(|x| x == "gz") {
            let mut plain = Vec::new();
            if std::io::Read::read_to_end(
                &mut flate2::read::MultiGzDecoder::new(&bytes[..]),
                &mut plain,
            )
            .is_ok()
            {
                out.push(plain);
            }
        } else {
            out.push(bytes);
        }
    }
}

fn corpus() -> Vec<Vec<u8>> {
    let mut docs = Vec::new();
    files(
        &FsPath::new(env!("CARGO_MANIFEST_DIR")).join("testdata"),
        &mut docs,
    );
    assert!(docs.len() > 100, "testdata holds {} files", docs.len());
    let mut records = Vec::new();
    for doc in &docs {
        // The whole file as one record (a v1 document, a JSONTestSuite
        // case) and each of its lines.
        records.push(doc.clone());
        records.extend(
            doc.split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .map(<[u8]>::to_vec),
        );
    }
    records.sort();
    records.dedup();
    records
}

#[test]
fn agrees_with_serde_on_every_testdata_record() {
    let records = corpus();
    let hits: usize = records.iter().map(|r| check(r)).sum();
    // The fast path must actually be taken, or this proves nothing.
    assert!(
        hits > records.len() / 2,
        "fast path read {hits} of {} records x 9",
        records.len()
    );
}

/// Splices that reach the fast path's hand-back cases.
const SPLICES: &[&[u8]] = &[
    b"\"i\\u0064\":\"x\",",
    b"\"id\":12,",
    b"\"id\":-3,",
    b"\"id\":1.5,",
    b"\"id\":1e400,",
    b"\"id\":123456789012345678901234,",
    b"\"user\":{\"id\":7},",
    b"\"user\":{\"\\u0069d\":\"u\"},",
    b"\"user\":\"u9\",",
    b"\"user\":[1,{\"id\":\"u\"}],",
    b"\"created_by\":{\"id\":\"c\"},",
    b"\"text\":\"a\\ud83d b\",",
    b"\"text\":\"\\ud83d\\ude00\\n\\\"\",",
    b"\"html\":\"\\udc00\",",
    b"\"cid\":null,",
    b"\"type\":5,",
    b"\"item\":{\"id\":\"zz\"},",
    b"\"data\":[1],",
    b"\"channel\":{},\"messages\":[],",
    b"\"members\":[{\"user\":{\"id\":\"m\"}}],",
    b"\"deep\":[[[[[[[[1]]]]]]]],",
    b"\"ctl\":\"a\x01b\",",
    b"\"bad\":tru,",
    b"\"n\":01,",
    b"\"n\":-,",
    b"\"k\" \t:\r\n\"v\" ,",
];

#[test]
fn agrees_with_serde_on_mutations() {
    let records = corpus();
    let seeds: Vec<&Vec<u8>> = records
        .iter()
        .filter(|r| r.len() < 4096 && r.first() == Some(&b'{'))
        .collect();
    assert!(seeds.len() > 50);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut hits = 0;
    for i in 0..6000 {
        let seed = seeds[i % seeds.len()];
        let mut m = seed.clone();
        for _ in 0..1 + rng.below(3) {
            let at = 1 + rng.below(m.len().max(2) - 1);
            match rng.below(4) {
                // A splice right after an opening brace keeps the record
                // valid; elsewhere it mostly breaks it.
                0 | 1 => {
                    let splice = SPLICES[rng.below(SPLICES.len())];
                    let at = match memchr::memchr(b'{', &m[at.min(m.len())..]) {
                        Some(j) if rng.below(4) != 0 => at + j + 1,
                        _ => at.min(m.len()),
                    };
                    m.splice(at..at, splice.iter().copied());
                }
                2 => {
                    if !m.is_empty() {
                        m.remove(at.min(m.len() - 1));
                    }
                }
                _ => {
                    let b = b"\"\\{}[]:,0e.-tn \x00\xc3"[rng.below(17)];
                    m.insert(at.min(m.len()), b);
                }
            }
        }
        hits += check(&m);
    }
    assert!(hits > 6000, "fast path read only {hits} mutated records");
}

/// The places the fast path records for a job are the values a projection
/// of the same fields finds, including key-table keys and duplicates.
#[test]
fn recorded_fields_equal_the_projection() {
    const WANT: &[&str] = &[
        "text",
        "user",
        "reaction_counts",
        "attachments",
        "pinned",
        "reply_count",
        "missing",
        "x",
        "type",
        "id",
        "deleted_at",
        "mentioned_users",
    ];
    let projection = crate::project::Projection::new(WANT).unwrap();
    let repairs = Repairs {
        extras: WANT,
        ..Repairs::default()
    };
    let mut records = corpus();
    records
        .push(br#"{"type":"message","item":{"id":"a","x":1,"x":[2, 3] ,"text":"t\n"}}"#.to_vec());
    records.push(br#"{"id":"b","user":{"id":"u"},"x":{"y":[]}}"#.to_vec());
    let mut checked = 0;
    for record in &records {
        for hint in [Hint::Record, Hint::Nested(Kind::Message)] {
            let Ok(Decoded::Entity(e)) = decode_record_by(record, 0, hint, repairs, Path::Fast)
            else {
                continue;
            };
            if e.extra(0).is_none() {
                continue; // read by serde: nothing recorded
            }
            let values = projection.extract(e.raw_str()).unwrap();
            for (i, name) in WANT.iter().enumerate() {
                assert_eq!(
                    e.extra(i).unwrap(),
                    values.get(i).map(|v| v.raw()),
                    "{name} in {}",
                    e.raw_str()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 300, "only {checked} entities had recorded fields");
}
