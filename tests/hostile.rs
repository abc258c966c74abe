//! Hostile and damaged input: every case ends in entities and counted
//! errors (with positions), never a panic, a stack overflow or a hang.
//! Each case runs on the slice path and on the stream path (64-byte read
//! blocks) unless it says otherwise.
//!
//! Tests of library bugs not fixed yet are `#[ignore = "BUG: ..."]`
//! (none at the moment).

mod common;

use common::filter_slice;
use std::io::{Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use stream_chat_export::{
    Category, Entity, Error, ErrorKind, Filter, Format, Kind, Parallel, ReaderBuilder, Report,
};

/// What one read produced.
struct Run {
    entities: Vec<Entity<'static>>,
    report: Report,
    format: Format,
    /// The input could not even be opened (a gzip stream broken before
    /// its format was detected): `from_reader` failed, or `from_slice`
    /// handed out that one error.
    open_failed: bool,
}

impl Run {
    fn ids(&self) -> Vec<&str> {
        self.entities
            .iter()
            .map(|e| e.id().unwrap_or("-"))
            .collect()
    }

    fn error_lines(&self) -> Vec<u64> {
        self.report
            .first_errors
            .iter()
            .map(|e| e.position().expect("data errors have a position").line)
            .collect()
    }

    fn has_error(&self, f: impl Fn(&ErrorKind) -> bool) -> bool {
        self.report.first_errors.iter().any(|e| f(e.kind()))
    }
}

fn identity(r: &Report, what: &str) {
    assert_eq!(
        r.records,
        r.entities + r.errors,
        "{what}: records == entities + errors ({r:?})"
    );
}

fn slice(b: &ReaderBuilder, data: &[u8]) -> Run {
    let read = common::read_lenient(b, data);
    assert_eq!(read.report.entities, read.entities.len() as u64);
    Run {
        entities: read.entities,
        report: read.report,
        format: read.format,
        open_failed: !read.opened,
    }
}

fn stream(b: &ReaderBuilder, data: &[u8]) -> Run {
    let mut b = b.clone();
    b.buffer_size(64);
    let mut reader = match b.from_reader(data) {
        Ok(r) => r,
        // A gzip stream broken before the format could be detected.
        Err(e) => {
            assert!(matches!(e.kind(), ErrorKind::Gzip(_)), "{e}");
            return Run {
                entities: Vec::new(),
                report: Report::default(),
                format: Format::Empty,
                open_failed: true,
            };
        }
    };
    let mut entities = Vec::new();
    while let Some(item) = reader.next_entity() {
        entities.push(item.expect("lenient: data errors are counted").into_owned());
    }
    let format = reader.format();
    let report = reader.into_owned_iter().report_take();
    identity(&report, "stream");
    Run {
        entities,
        report,
        format,
        open_failed: false,
    }
}

/// Both paths; they must agree on entities (offset and bytes) and errors.
fn both(b: &ReaderBuilder, data: &[u8]) -> Run {
    let s = slice(b, data);
    let t = stream(b, data);
    let key = |r: &Run| {
        r.entities
            .iter()
            .map(|e| (e.offset(), e.record().to_vec()))
            .collect::<Vec<_>>()
    };
    assert!(
        key(&s) == key(&t),
        "slice and stream yield different entities"
    );
    assert_eq!(
        (s.report.records, s.report.errors),
        (t.report.records, t.report.errors)
    );
    assert_eq!(s.error_lines(), t.error_lines());
    assert_eq!(s.open_failed, t.open_failed);
    s
}

fn lenient() -> ReaderBuilder {
    ReaderBuilder::new()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn user_lines(n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        writeln!(
            out,
            r#"{{"type":"user","item":{{"id":"u{i}","name":"user number {i}","created_at":"2024-01-01T00:00:{:02}Z"}}}}"#,
            i % 60
        )
        .unwrap();
    }
    out
}

/// Runs `f` on a thread with a small stack: deep nesting must not recurse.
fn small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(f)
        .unwrap()
        .join()
        .expect("no panic, no stack overflow")
}

// ---------------------------------------------------------------------------
// Truncated input

#[test]
fn truncated_gzip_stream_is_an_error_after_the_entities_before_the_cut() {
    let plain = user_lines(400);
    let gz = gzip(&plain);
    let cut = &gz[..gz.len() * 6 / 10];
    // What an inflater gets out of the cut stream: the complete lines in it
    // must all be yielded.
    let mut prefix = Vec::new();
    let _ = flate2::read::GzDecoder::new(cut).read_to_end(&mut prefix);
    let complete = prefix.iter().filter(|&&b| b == b'\n').count();
    assert!(complete > 10 && complete < 400, "{complete}");
    for run in [slice(&lenient(), cut), stream(&lenient(), cut)] {
        let n = run.entities.len();
        assert!(
            n + 1 >= complete && n < 400,
            "{n} entities, {complete} lines"
        );
        let want: Vec<String> = (0..n).map(|i| format!("u{i}")).collect();
        assert_eq!(run.ids(), want);
        assert!(run.report.errors >= 1);
        assert!(run.has_error(|k| matches!(k, ErrorKind::Gzip(_))));
    }
    // Strict: the entities, then the error; no panic.
    let mut strict = ReaderBuilder::new();
    strict.strict(true);
    let items: Vec<_> = strict.from_slice(cut).collect();
    assert!(items.last().unwrap().is_err());
    assert!(items.iter().filter(|i| i.is_ok()).count() + 1 >= complete);
}

#[test]
fn truncated_gzip_fixture() {
    let gz = include_bytes!("../testdata/fixtures/v2_truncated_gzip.jsonl.gz");
    let run = both(&lenient(), gz);
    // expected.json: 15 entities, 2 errors (the unfinished line and the
    // broken stream).
    assert_eq!((run.entities.len(), run.report.errors), (15, 2));
    assert!(run.has_error(|k| matches!(k, ErrorKind::Gzip(_))));
}

/// A gzipped compact v1 document (no newline) cut short: the stream
/// breaks while the format is still being detected (the first MiB is
/// searched for a newline). It once failed to open at all (0 entities);
/// the entities before the cut must be yielded, then a counted error.
#[test]
fn truncated_gzip_compact_v1() {
    let doc = include_bytes!("../testdata/fixtures/v1_compact.json");
    let gz = gzip(doc);
    let cut = &gz[..gz.len() * 6 / 10];
    for run in [slice(&lenient(), cut), stream(&lenient(), cut)] {
        assert!(!run.open_failed, "the input failed to open");
        assert!(!run.entities.is_empty());
        assert_eq!(run.entities[0].kind(), Kind::Channel);
        assert!(run.has_error(|k| matches!(k, ErrorKind::Gzip(_))));
    }
}

#[test]
fn gzip_cut_at_every_length_never_panics() {
    let gz = gzip(&user_lines(20));
    for cut in 0..gz.len() {
        let data = &gz[..cut];
        slice(&lenient(), data);
        if let Ok(mut r) = ReaderBuilder::new().buffer_size(64).from_reader(data) {
            while r.next_entity().is_some() {}
            identity(r.report(), "stream");
        }
    }
}

#[test]
fn truncated_v1_document_pretty() {
    let doc = include_bytes!("../testdata/fixtures/v1_single.json");
    let cut = &doc[..doc.len() / 2];
    let run = both(&lenient(), cut);
    assert_eq!(run.format, Format::V1);
    assert!(!run.entities.is_empty());
    assert_eq!(run.entities[0].kind(), Kind::Channel);
    assert_eq!(run.report.errors, 1);
    assert!(run.has_error(|k| matches!(k, ErrorKind::Truncated { .. })));
    // The error is at the end of the input: its last line.
    let last_line = 1 + cut.iter().filter(|&&b| b == b'\n').count() as u64;
    assert_eq!(run.error_lines(), [last_line]);
}

/// A compact (one-line) v1 document cut short: the entities complete
/// before the cut must be yielded, as for a pretty-printed one (it was
/// once read as one bad line: 0 entities).
#[test]
fn truncated_v1_document_compact() {
    let doc = include_bytes!("../testdata/fixtures/v1_compact.json");
    assert!(!doc.contains(&b'\n'));
    let run = both(&lenient(), &doc[..doc.len() / 2]);
    assert_eq!(run.format, Format::V1);
    assert!(!run.entities.is_empty(), "no entity before the cut");
    assert_eq!(run.entities[0].kind(), Kind::Channel);
    assert_eq!(run.report.errors, 1);
}

// ---------------------------------------------------------------------------
// Deep nesting

const DEPTH: usize = 100_000;

#[test]
fn deep_array_line_is_an_error() {
    small_stack(|| {
        let mut data = br#"{"id":"u1","name":"a"}"#.to_vec();
        data.push(b'\n');
        data.extend(std::iter::repeat_n(b'[', DEPTH));
        data.extend_from_slice(b"\n{\"id\":\"u3\",\"name\":\"c\"}\n");
        let run = both(&lenient(), &data);
        assert_eq!(run.ids(), ["u1", "u3"]);
        assert_eq!(run.error_lines(), [2]);
        // Balanced, as a whole line: not an object.
        let mut data = "[".repeat(DEPTH);
        data.push_str(&"]".repeat(DEPTH));
        let data =
            format!("{{\"id\":\"u1\",\"name\":\"a\"}}\n{data}\n{{\"id\":\"u3\",\"name\":\"c\"}}\n");
        let run = both(&lenient(), data.as_bytes());
        assert_eq!(run.ids(), ["u1", "u3"]);
        assert_eq!(run.error_lines(), [2]);
    });
}

#[test]
fn deep_array_alone_is_an_error() {
    small_stack(|| {
        let data = "[".repeat(DEPTH);
        let run = both(&lenient(), data.as_bytes());
        assert!(run.entities.is_empty());
        assert_eq!(run.report.errors, 1);
        assert!(run.error_lines()[0] >= 1);
    });
}

#[test]
fn deep_array_as_a_v1_message() {
    small_stack(|| {
        let open = "[".repeat(DEPTH);
        let close = "]".repeat(DEPTH);
        // Unbalanced: the document ends inside the element.
        let doc = format!(
            "{{\n\"channel\": {{\"id\": \"c\", \"type\": \"messaging\"}},\n\"messages\": [\n{{\"id\": \"m1\", \"text\": \"t\"}},\n{open}\n]}}\n"
        );
        let run = both(&lenient(), doc.as_bytes());
        assert_eq!(run.ids(), ["c", "m1"]);
        assert_eq!(run.report.errors, 1);
        // Balanced: one bad element (not an object); the next is read.
        let doc = format!(
            "{{\n\"channel\": {{\"id\": \"c\", \"type\": \"messaging\"}},\n\"messages\": [\n{{\"id\": \"m1\", \"text\": \"t\"}},\n{open}{close},\n{{\"id\": \"m2\", \"text\": \"u\"}}\n]}}\n"
        );
        let run = both(&lenient(), doc.as_bytes());
        assert_eq!(run.ids(), ["c", "m1", "m2"]);
        assert_eq!(run.error_lines(), [5]);
        assert!(run.has_error(|k| matches!(k, ErrorKind::NotAnObject)));
        // The same in a one-line document.
        let doc = format!(
            r#"{{"channel":{{"id":"c","type":"messaging"}},"messages":[{{"id":"m1","text":"t"}},{open}{close},{{"id":"m2","text":"u"}}]}}"#
        );
        let run = both(&lenient(), doc.as_bytes());
        assert_eq!(run.ids(), ["c", "m1", "m2"]);
        assert_eq!(run.report.errors, 1);
    });
}

/// A deep value inside an object is skipped unparsed by the decoder; such
/// a record was once yielded although serde_json (recursion limit 128)
/// cannot build its `Value`. An entity must be an error or parseable.
#[test]
fn deep_array_inside_an_object() {
    small_stack(|| {
        let data = format!(
            "{{\"id\":\"u1\",\"name\":\"a\",\"deep\":{}{}}}\n",
            "[".repeat(DEPTH),
            "]".repeat(DEPTH)
        );
        let run = both(&lenient(), data.as_bytes());
        for e in &run.entities {
            assert!(e.to_value().is_ok(), "an entity that does not parse: {e:?}");
        }
        assert_eq!(run.entities.len() + run.report.errors as usize, 1);
        assert!(run.has_error(|k| matches!(k, ErrorKind::TooDeep { .. })));
    });
}

/// Nesting inside an entity is bounded by `max_depth` (default 64, at
/// most 127 so that every entity can become a `serde_json::Value`).
#[test]
fn nesting_inside_an_entity_follows_max_depth() {
    let line = |depth: usize| {
        // The object itself is one level.
        let inner = depth - 1;
        format!(
            "{{\"id\":\"u1\",\"name\":\"a\",\"deep\":{}{}}}\n",
            "[".repeat(inner),
            "]".repeat(inner)
        )
    };
    let run = both(&lenient(), line(64).as_bytes());
    assert_eq!((run.ids(), run.report.errors), (vec!["u1"], 0));
    let run = both(&lenient(), line(65).as_bytes());
    assert_eq!((run.entities.len(), run.report.errors), (0, 1));
    assert!(run.has_error(|k| matches!(k, ErrorKind::TooDeep { .. })));
    let mut deep = ReaderBuilder::new();
    deep.max_depth(1000);
    let run = both(&deep, line(127).as_bytes());
    assert_eq!((run.ids(), run.report.errors), (vec!["u1"], 0));
    run.entities[0].to_value().expect("127 levels parse");
    let run = both(&deep, line(128).as_bytes());
    assert_eq!((run.entities.len(), run.report.errors), (0, 1));
}

// ---------------------------------------------------------------------------
// Line limits and odd bytes

fn long_line_file(final_newline: bool, long_at: usize) -> Vec<u8> {
    let mut lines: Vec<String> = (1..=3)
        .map(|i| format!(r#"{{"id":"u{i}","name":"n"}}"#))
        .collect();
    lines[long_at - 1] = format!(r#"{{"id":"long","name":"{}"}}"#, "y".repeat(500));
    let mut data = lines.join("\n");
    if final_newline {
        data.push('\n');
    }
    data.into_bytes()
}

#[test]
fn line_longer_than_max_line() {
    let mut b = ReaderBuilder::new();
    b.max_line(100);
    for (long_at, final_newline) in [(2, true), (1, true), (3, true), (3, false)] {
        let data = long_line_file(final_newline, long_at);
        let case = format!("long line {long_at}, final newline {final_newline}");
        let run = both(&b, &data);
        let want: Vec<String> = (1..=3)
            .filter(|&i| i != long_at)
            .map(|i| format!("u{i}"))
            .collect();
        assert_eq!(run.ids(), want, "{case}");
        assert_eq!(run.error_lines(), [long_at as u64], "{case}");
        assert!(
            run.has_error(|k| matches!(k, ErrorKind::LineTooLong { max: 100 })),
            "{case}"
        );
        let start = data
            .split(|&b| b == b'\n')
            .take(long_at - 1)
            .map(|l| l.len() as u64 + 1)
            .sum::<u64>();
        let error: &Error = &run.report.first_errors[0];
        assert_eq!(error.position().unwrap().byte, start, "{case}");
        // The parallel filter agrees.
        let mut seen = Vec::new();
        let mut p = Parallel::new();
        p.threads(2).chunk_size(16);
        let report = filter_slice(&b, &p, &data, None, &Filter::new(), |e| {
            seen.push(e.id().unwrap_or("-").to_string());
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, want, "{case} (parallel)");
        assert_eq!(report.errors, 1, "{case} (parallel)");
    }
}

#[test]
fn nul_bytes() {
    let data = b"{\"id\":\"u1\",\"name\":\"a\0b\"}\n\0\0\0\n{\"id\":\"u2\",\"name\":\"x\"}\0\n\0{\"id\":\"u3\",\"name\":\"z\"}\n{\"id\":\"u4\",\"name\":\"ok\"}\n";
    let run = both(&lenient(), data);
    assert_eq!(run.ids(), ["u4"]);
    assert_eq!(run.error_lines(), [1, 2, 3, 4]);
    assert!(run.has_error(|k| matches!(k, ErrorKind::Json { .. })));
}

#[test]
fn invalid_utf8() {
    let data = b"{\"id\":\"u1\",\"name\":\"a\xffb\"}\n{\"id\":\"u2\",\"name\":\"\xc3\"}\n{\"id\":\"u3\",\"name\":\"z\"}\n";
    let run = both(&lenient(), data);
    assert_eq!(run.ids(), ["u3"]);
    assert_eq!(run.error_lines(), [1, 2]);
    assert!(run.has_error(|k| matches!(k, ErrorKind::InvalidUtf8)));
    assert_eq!(run.report.first_errors[0].position().unwrap().byte, 20);

    let mut lossy = ReaderBuilder::new();
    lossy.lossy_utf8(true);
    let run = both(&lossy, data);
    assert_eq!(run.ids(), ["u1", "u2", "u3"]);
    assert_eq!(run.report.errors, 0);
    assert_eq!(run.report.lossy, 2);
    let e = &run.entities[0];
    assert!(e.is_lossy());
    assert_eq!(e.get("name").unwrap().get(), "\"a\u{fffd}b\"");
    assert_eq!(e.to_value().unwrap()["name"], "a\u{fffd}b");
    assert!(!run.entities[2].is_lossy());
}

#[test]
fn escaped_lone_surrogates() {
    let data = br#"{"id":"m1","text":"a\ud83d b"}
{"id":"m2","text":"\ude00 low first"}
{"id":"m3","text":"pair \ud83d\ude00 ok"}
"#;
    let run = both(&lenient(), data);
    assert_eq!(run.ids(), ["m1", "m2", "m3"]);
    assert_eq!(run.report.errors, 0);
    assert!(run.entities[0].is_lossy() && run.entities[1].is_lossy());
    assert!(!run.entities[2].is_lossy());
    assert_eq!(run.entities[0].text(), Some("a\u{fffd} b"));
    assert_eq!(run.entities[1].text(), Some("\u{fffd} low first"));
    assert_eq!(run.entities[2].text(), Some("pair \u{1f600} ok"));
    assert_eq!(run.report.lossy, 2);
    for e in &run.entities {
        e.to_value().expect("repaired entities parse");
    }
    // Off: the two lone ones are errors.
    let mut strict = ReaderBuilder::new();
    strict.lossy_surrogates(false);
    let run = both(&strict, data);
    assert_eq!(run.ids(), ["m3"]);
    assert_eq!(run.error_lines(), [1, 2]);
}

#[test]
fn duplicate_keys_last_wins() {
    let run = both(&lenient(), br#"{"id":"a","id":"b","name":"x"}"#);
    let e = &run.entities[0];
    assert_eq!(e.kind(), Kind::User);
    assert_eq!(e.id(), Some("b"));
    assert_eq!(e.get("id").unwrap().get(), r#""b""#);
    assert_eq!(e.to_value().unwrap()["id"], "b");
    // In envelopes: the payload and the type.
    let data = br#"{"type":"user","data":{"id":"a"},"data":{"id":"b"}}
{"type":"user","type":"message","item":{"id":"m","text":"t"}}
"#;
    let run = both(&lenient(), data);
    assert_eq!(run.ids(), ["b", "m"]);
    assert_eq!(run.entities[1].kind(), Kind::Message);
}

/// Observed behaviour, kept: numbers beyond f64 or u64 do not make a
/// record an error. The decoder skips fields it does not need without
/// converting them, so the entity is yielded and `get()` returns the
/// number as written; `to_value()` fails for `1e400` (serde_json: "number
/// out of range") and gives the nearest f64 (`1e23`) for the huge integer.
#[test]
fn numbers_out_of_range() {
    let data = br#"{"id":"c1","type":"messaging","cid":"messaging:c1","member_count": 1e400}
{"id":"m1","text":"x","reply_count": 99999999999999999999999}
{"id":"m2","text":"y","reply_count": -1e-400}
"#;
    let run = both(&lenient(), data);
    assert_eq!(run.ids(), ["c1", "m1", "m2"]);
    assert_eq!(run.report.errors, 0);
    let [c1, m1, m2] = &run.entities[..] else {
        unreachable!()
    };
    assert_eq!(c1.kind(), Kind::Channel); // member_count still classifies
    assert_eq!(c1.get("member_count").unwrap().get(), "1e400");
    let err = c1.to_value().unwrap_err().to_string();
    assert!(err.contains("number out of range"), "{err}");
    assert_eq!(
        m1.get("reply_count").unwrap().get(),
        "99999999999999999999999"
    );
    assert_eq!(m1.to_value().unwrap()["reply_count"].as_f64(), Some(1e23));
    // Underflow is not an error anywhere: it is 0.
    assert_eq!(m2.to_value().unwrap()["reply_count"].as_f64(), Some(-0.0));
}

#[test]
fn huge_line_without_newline() {
    let name = "x".repeat(20 << 20);
    let data = format!(r#"{{"id":"u1","name":"{name}"}}"#);
    let run = both(&lenient(), data.as_bytes());
    assert_eq!(run.ids(), ["u1"]);
    assert_eq!(run.entities[0].raw().len(), data.len());
    // A first record with no newline in the first MiB whose keys are not
    // those of a v1 document is a line (issue 9: framed as a document, a
    // damaged line later swallowed the rest of the file), so `max_line`
    // bounds it, as any other line.
    let mut b = ReaderBuilder::new();
    b.max_line(1 << 20);
    let run = both(&b, data.as_bytes());
    assert!(run.ids().is_empty());
    assert_eq!(run.error_lines(), [1]);
    assert!(run.has_error(|k| matches!(k, ErrorKind::LineTooLong { .. })));
    // After a first line, it is a line: `max_line` bounds it.
    let data = format!("{{\"id\":\"u0\",\"name\":\"a\"}}\n{data}");
    let mut b = ReaderBuilder::new();
    b.max_line(1 << 20);
    let run = both(&b, data.as_bytes());
    assert_eq!(run.ids(), ["u0"]);
    assert_eq!(run.error_lines(), [2]);
    assert!(run.has_error(|k| matches!(k, ErrorKind::LineTooLong { .. })));
}

/// A record over `max_entity` in a document is one error at the record,
/// and the walker goes on with the next record (it once gave a second,
/// fatal error at the record's closing brace and lost the rest).
#[test]
fn oversized_record_in_a_document() {
    let big = "x".repeat(2 << 20);
    let mut b = ReaderBuilder::new();
    b.max_entity(1 << 20);
    // In a channel object's messages, and as an element of an array.
    let data = format!(
        r#"{{"channel":{{"id":"a"}},"messages":[{{"id":"u1","text":"{big}"}},{{"id":"m2","text":"b"}}]}}"#
    );
    let run = both(&b, data.as_bytes());
    assert_eq!(run.ids(), ["a", "m2"], "{:?}", run.report.first_errors);
    assert_eq!(run.report.errors, 1, "{:?}", run.report.first_errors);
    assert!(run.has_error(|k| matches!(k, ErrorKind::EntityTooLarge { .. })));
    let at = data.find(r#"{"id":"u1""#).unwrap() as u64;
    assert_eq!(run.report.first_errors[0].position().unwrap().byte, at);
    // A lone record is a line (see `huge_line_without_newline`):
    // `max_entity` does not bound it.
    let data = format!(r#"{{"id":"u1","name":"{big}"}}"#);
    assert_eq!(both(&b, data.as_bytes()).ids(), ["u1"]);
    let data = format!(
        r#"[{{"id":"u0","name":"a"}},{{"id":"u1","name":"{big}"}},{{"id":"u2","name":"b"}}]"#
    );
    let run = both(&b, data.as_bytes());
    assert_eq!(run.ids(), ["u0", "u2"], "{:?}", run.report.first_errors);
    assert_eq!(run.report.errors, 1);
}

#[test]
fn empty_input() {
    let run = both(&lenient(), b"");
    assert!(run.entities.is_empty());
    assert_eq!((run.report.records, run.report.errors), (0, 0));
    assert_eq!(run.format, Format::Empty);
    let file = tempfile::NamedTempFile::new().unwrap();
    let mut reader = ReaderBuilder::new().from_path(file.path()).unwrap();
    assert!(reader.next_entity().is_none());
    assert_eq!(reader.report().records, 0);
    assert_eq!(reader.report().errors, 0);
    assert_eq!(reader.format(), Format::Empty);
}

#[test]
fn directory_and_missing_path_are_io_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-export.jsonl");
    for path in [dir.path(), missing.as_path()] {
        let result = catch_unwind(|| ReaderBuilder::new().from_path(path).map(|_| ()));
        let err = result
            .expect("no panic")
            .expect_err("cannot read a directory or a missing file");
        assert_eq!(err.category(), Category::Io, "{path:?}: {err}");
        assert_eq!(err.path(), Some(path));
    }
}

// ---------------------------------------------------------------------------
// Damaged fixtures

/// xorshift64*: a tiny deterministic PRNG.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One damaged copy of `data`, and what was done to it.
fn damage(data: &[u8], rng: &mut Rng) -> (Vec<u8>, String) {
    let mut out = data.to_vec();
    let mut done = Vec::new();
    for _ in 0..1 + rng.below(3) {
        match rng.below(3) {
            0 => {
                let lines: Vec<&[u8]> = out.split_inclusive(|&b| b == b'\n').collect();
                let n = 1 + rng.below(3);
                let first = rng.below(lines.len());
                let kept: Vec<u8> = lines
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i < first || *i >= first + n)
                    .flat_map(|(_, l)| l.iter().copied())
                    .collect();
                done.push(format!("delete lines {first}..{}", first + n));
                out = kept;
            }
            1 => {
                let at = rng.below(out.len() + 1);
                out.truncate(at);
                done.push(format!("truncate at {at}"));
            }
            _ => {
                for _ in 0..1 + rng.below(8) {
                    if out.is_empty() {
                        break;
                    }
                    let at = rng.below(out.len());
                    let bit = 1u8 << rng.below(8);
                    out[at] ^= bit;
                    done.push(format!("flip {bit:#04x} at {at}"));
                }
            }
        }
    }
    (out, done.join(", "))
}

#[test]
fn damaged_fixtures_keep_the_accounting_identity() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/fixtures");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "expected.json")
        .collect();
    names.sort();
    assert!(names.len() >= 30);
    let mut failures = Vec::new();
    let mut variants = 0;
    for (k, name) in names.iter().enumerate() {
        let data = std::fs::read(dir.join(name)).unwrap();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((k as u64 + 1) * 0x1000_0001));
        for round in 0..40 {
            let (damaged, how) = damage(&data, &mut rng);
            variants += 1;
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let s = slice(&lenient(), &damaged);
                let t = stream(&lenient(), &damaged);
                // Both paths see the same records.
                assert_eq!(
                    (s.entities.len(), s.report.errors, s.open_failed),
                    (t.entities.len(), t.report.errors, t.open_failed),
                    "slice vs stream"
                );
                let mut lossy = ReaderBuilder::new();
                lossy.lossy_utf8(true).max_depth(4).max_line(256);
                slice(&lossy, &damaged);
                stream(&lossy, &damaged);
            }));
            if let Err(panic) = outcome {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{name} round {round} ({how}): {msg}"));
            }
        }
    }
    assert!(variants >= 1200);
    assert!(
        failures.is_empty(),
        "{} of {variants} damaged inputs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
