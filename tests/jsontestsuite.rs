//! JSONTestSuite (testdata/JSONTestSuite, MIT licence there) through the
//! reader: each case's bytes as they are (a line file, or a document when
//! they start with `[` or span lines), and as the one message of a v1
//! channel object, `{"channel":{"id":"c"},"messages":[<content>]}`.
//!
//! - every case: no panic; `records == entities + errors`; the slice and
//!   the stream (64-byte blocks) paths agree;
//! - `n_` (must reject): at least one error with a position, on both feeds
//!   (except the few the reader accepts by design, listed with reasons in
//!   `ACCEPTED_AS_IS`, and empty content, which makes a valid document);
//! - `y_` objects: one entity (kind `Other` when no rule classifies it), no
//!   error; in the v1 document, the message equals serde_json's value;
//! - `y_` non-objects: an error (`NotAnObject`), never an entity. As they
//!   are, a top-level array is a document (the legacy import array shape):
//!   each element is a record, so an array of scalars gives one
//!   `NotAnObject` per element and `[]` gives nothing.
//! - `i_` (either): no panic, the identity holds.
//!
//! Failures are collected and reported together, with the file names.

use serde_json::Value;
use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use stream_chat_export::{Error, ErrorKind, Kind, ReaderBuilder};

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/JSONTestSuite/test_parsing"
);

/// `n_` cases the reader accepts by design (FORMAT.md / README), each with
/// its reason. Only the as-is feed is exempt.
const ACCEPTED_AS_IS: &[(&str, &str)] = &[
    // Nothing at all, or only whitespace: an empty file (format `empty`).
    (
        "n_structure_no_data.json",
        "an empty input is an empty export",
    ),
    (
        "n_single_space.json",
        "a blank line is skipped, not an error",
    ),
    (
        "n_structure_UTF8_BOM_no_data.json",
        "a UTF-8 byte-order mark is skipped; then the input is empty",
    ),
    // A sequence of top-level values is a v1 document shape (FORMAT.md,
    // v1 point 4): two empty arrays are two empty documents.
    (
        "n_structure_double_array.json",
        "`[][]`: a sequence of two empty top-level arrays",
    ),
];

/// The v1 feed: content as the one element of `messages`.
fn wrapped(content: &[u8]) -> Vec<u8> {
    let mut doc = br#"{"channel":{"id":"c"},"messages":["#.to_vec();
    doc.extend_from_slice(content);
    doc.extend_from_slice(b"]}");
    doc
}

#[derive(Debug)]
struct Outcome {
    /// Kind and `to_value()` (None when it does not parse) of each entity.
    entities: Vec<(Kind, Option<Value>)>,
    errors: u64,
    first_errors: Vec<Error>,
}

impl Outcome {
    fn with_position(&self) -> bool {
        self.first_errors.iter().any(|e| e.position().is_some())
    }

    fn all_not_an_object(&self) -> bool {
        self.first_errors
            .iter()
            .all(|e| matches!(e.kind(), ErrorKind::NotAnObject))
    }
}

/// Reads `bytes` from a slice and from a stream; checks the identity and
/// that both paths agree; returns the slice path's outcome.
fn read(bytes: &[u8]) -> Result<Outcome, String> {
    let mut reader = ReaderBuilder::new().from_slice(bytes);
    let mut entities = Vec::new();
    for item in reader.by_ref() {
        match item {
            Ok(e) => entities.push((e.kind(), e.to_value().ok())),
            Err(e) => return Err(format!("lenient reader handed out an error: {e}")),
        }
    }
    let report = reader.take_report();
    if report.records != report.entities + report.errors {
        return Err(format!("identity broken (slice): {report:?}"));
    }
    let mut stream = ReaderBuilder::new()
        .buffer_size(64)
        .from_reader(bytes)
        .map_err(|e| format!("from_reader: {e}"))?;
    let mut streamed = 0;
    while let Some(item) = stream.next_entity() {
        item.map_err(|e| format!("stream handed out an error: {e}"))?;
        streamed += 1;
    }
    let r = stream.report();
    if r.records != r.entities + r.errors {
        return Err(format!("identity broken (stream): {r:?}"));
    }
    if (streamed, r.errors) != (entities.len(), report.errors) {
        return Err(format!(
            "slice and stream disagree: {} entities {} errors vs {} entities {} errors",
            entities.len(),
            report.errors,
            streamed,
            r.errors
        ));
    }
    Ok(Outcome {
        entities,
        errors: report.errors,
        first_errors: report.first_errors,
    })
}

/// Keys that FORMAT.md's bare rules look at: an object with none of them
/// is of kind `Other`.
const CLASSIFYING: &[&str] = &[
    "cid",
    "config",
    "member_count",
    "message_id",
    "type",
    "id",
    "text",
    "html",
    "channel_role",
    "user_id",
    "user",
    "last_read",
    "role",
    "name",
    "item",
    "data",
    "channel",
    "messages",
    "members",
];

fn check(name: &str, content: &[u8]) -> Result<(), String> {
    let as_is = read(content).map_err(|e| format!("as is: {e}"))?;
    let doc = read(&wrapped(content)).map_err(|e| format!("in a v1 document: {e}"))?;
    let ctx = |what: &str, o: &Outcome| format!("{what}: {o:?}");
    match &name[..2] {
        "n_" => {
            let exempt = ACCEPTED_AS_IS.iter().any(|(n, _)| *n == name);
            let rejected = |o: &Outcome| o.errors >= 1 && o.with_position();
            if !exempt && !rejected(&as_is) {
                return Err(ctx("as is, no error with a position", &as_is));
            }
            // Empty or blank content makes `"messages":[]`, a valid document.
            let valid = serde_json::from_slice::<Value>(&wrapped(content)).is_ok();
            if !valid && !rejected(&doc) {
                return Err(ctx("in a v1 document, no error with a position", &doc));
            }
        }
        "y_" => {
            let value: Value = serde_json::from_slice(content)
                .map_err(|e| format!("serde_json rejects a y_ case: {e}"))?;
            match &value {
                Value::Object(o) => {
                    if as_is.errors != 0 || as_is.entities.len() != 1 {
                        return Err(ctx("as is, want one entity", &as_is));
                    }
                    if !o.keys().any(|k| CLASSIFYING.contains(&k.as_str()))
                        && as_is.entities[0].0 != Kind::Other
                    {
                        return Err(ctx("as is, want kind Other", &as_is));
                    }
                    if as_is.entities[0].1.as_ref() != Some(&value) {
                        return Err(ctx("as is, the entity differs from serde's", &as_is));
                    }
                    let want = [
                        (Kind::Channel, Some(serde_json::json!({"id": "c"}))),
                        (Kind::Message, Some(value.clone())),
                    ];
                    if doc.errors != 0 || doc.entities != want {
                        return Err(ctx("in a v1 document, want channel + message", &doc));
                    }
                }
                other => {
                    let (objects, others) = match other {
                        Value::Array(a) => {
                            let objects = a.iter().filter(|v| v.is_object()).count();
                            (objects, a.len() - objects)
                        }
                        _ => (0, 1),
                    };
                    if as_is.entities.len() != objects
                        || as_is.errors != others as u64
                        || !as_is.all_not_an_object()
                    {
                        return Err(ctx(
                            &format!("as is, want {objects} entities and {others} NotAnObject"),
                            &as_is,
                        ));
                    }
                    if doc.entities.len() != 1 || doc.errors != 1 || !doc.all_not_an_object() {
                        return Err(ctx(
                            "in a v1 document, want the channel and one NotAnObject",
                            &doc,
                        ));
                    }
                }
            }
        }
        _ => {} // i_: no panic and the identity (checked by `read`)
    }
    Ok(())
}

#[test]
fn json_test_suite() {
    let mut names: Vec<_> = fs::read_dir(Path::new(DIR))
        .expect("testdata/JSONTestSuite/test_parsing")
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    assert!(names.len() > 300, "only {} cases", names.len());
    let mut failures = Vec::new();
    for name in &names {
        let content = fs::read(Path::new(DIR).join(name)).unwrap();
        match catch_unwind(AssertUnwindSafe(|| check(name, &content))) {
            Ok(Ok(())) => {}
            Ok(Err(why)) => failures.push(format!("{name}: {why}")),
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{name}: PANIC {msg}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}
