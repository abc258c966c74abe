//! The fixtures against testdata/fixtures/expected.json on every input
//! path, and targeted tests of the reader's settings and error reporting.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use stream_chat_export::{
    Compression, Entity, ErrorKind, Format, Kind, ReaderBuilder, Timestamp, summarize,
};

fn u(v: &serde_json::Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Earliest and latest `created_at` texts of a run's entities (first one
/// wins on a tie, as the summary keeps it).
fn time_range(entities: &[Entity<'_>]) -> (Option<String>, Option<String>) {
    let mut min: Option<(Timestamp, &str)> = None;
    let mut max: Option<(Timestamp, &str)> = None;
    for e in entities {
        if let (Some(t), Some(text)) = (e.created_at(), e.created_at_text()) {
            if min.is_none_or(|(m, _)| t < m) {
                min = Some((t, text));
            }
            if max.is_none_or(|(m, _)| t > m) {
                max = Some((t, text));
            }
        }
    }
    (
        min.map(|(_, s)| s.to_string()),
        max.map(|(_, s)| s.to_string()),
    )
}

fn check_expected(name: &str, exp: &serde_json::Value, run: &Run, problems: &mut Vec<String>) {
    let mut check = |what: &str, ok: bool, detail: String| {
        if !ok {
            problems.push(format!("{name} [{}]: {what}: {detail}", run.path));
        }
    };
    let format = exp["format"].as_str().unwrap();
    check(
        "format",
        run.format.as_str() == format,
        format!("got {:?}, expected {format}", run.format),
    );
    let compression = if run.recompressed {
        "gzip"
    } else {
        exp["compression"].as_str().unwrap()
    };
    check(
        "compression",
        run.compression.as_str() == compression,
        format!("got {:?}, expected {compression}", run.compression),
    );
    let counts: BTreeMap<String, u64> = exp["counts"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), u(v)))
        .collect();
    check(
        "counts",
        run.counts() == counts,
        format!("got {:?}, expected {counts:?}", run.counts()),
    );
    check(
        "errors",
        run.errors == u(&exp["errors"]),
        format!("got {}, expected {}", run.errors, exp["errors"]),
    );
    let error_lines: Vec<u64> = exp["error_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(u)
        .collect();
    check(
        "error_lines",
        run.error_lines() == error_lines,
        format!("got {:?}, expected {error_lines:?}", run.first_errors),
    );
    // Only gzip stream errors may come on top of the listed lines.
    let extra = run.errors - run.error_lines().len() as u64;
    let gzip = run.first_errors.iter().filter(|e| e.is_gzip()).count() as u64;
    check(
        "errors besides error_lines",
        extra == gzip && run.first_errors.len() as u64 == run.errors,
        format!("{extra} extra, {gzip} gzip: {:?}", run.first_errors),
    );
    check(
        "blank_lines",
        run.blank_lines == u(&exp["blank_lines"]),
        format!("got {}, expected {}", run.blank_lines, exp["blank_lines"]),
    );
    let (min, max) = time_range(&run.entities);
    let want_min = exp
        .get("min_created_at")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let want_max = exp
        .get("max_created_at")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    check(
        "min_created_at",
        min == want_min,
        format!("got {min:?}, expected {want_min:?}"),
    );
    check(
        "max_created_at",
        max == want_max,
        format!("got {max:?}, expected {want_max:?}"),
    );
    let mut users: BTreeMap<String, u64> = BTreeMap::new();
    for e in &run.entities {
        if let Some(user) = e.user_id() {
            *users.entry(user.to_string()).or_insert(0) += 1;
        }
    }
    let want_users: BTreeMap<String, u64> = exp["users"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), u(v)))
        .collect();
    check(
        "users",
        users == want_users,
        format!("got {users:?}, expected {want_users:?}"),
    );
}

#[test]
fn every_input_is_in_expected_json() {
    let exp = expected();
    let inputs: Vec<String> = all_inputs().into_iter().map(|(n, _)| n).collect();
    let listed: Vec<String> = exp.keys().cloned().collect();
    let mut a = inputs.clone();
    let mut b = listed.clone();
    a.sort();
    b.sort();
    assert_eq!(a, b, "fixture files vs expected.json entries");
}

#[test]
fn expected_json_on_every_path() {
    let mut problems = Vec::new();
    for (name, exp) in expected() {
        let runs = runs(&input_path(&name), &ReaderBuilder::new());
        assert_agree(&name, &runs);
        for run in &runs {
            assert!(
                run.yielded.is_empty(),
                "{name}: lenient mode handed out {:?}",
                run.yielded
            );
            check_expected(&name, &exp, run, &mut problems);
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// What `inspect` builds on: `summarize` over `from_path`.
#[test]
fn summarize_matches_expected_json() {
    for (name, exp) in expected() {
        let path = input_path(&name);
        let i = summarize(ReaderBuilder::new().from_path(&path).unwrap()).unwrap();
        assert_eq!(i.format.as_str(), exp["format"], "{name}: format");
        assert_eq!(
            i.compression.as_str(),
            exp["compression"],
            "{name}: compression"
        );
        let counts: serde_json::Value = serde_json::to_value(&i.summary.counts).unwrap();
        assert_eq!(counts, exp["counts"], "{name}: counts");
        assert_eq!(i.report.errors, u(&exp["errors"]), "{name}: errors");
        assert_eq!(
            i.report.blank_lines,
            u(&exp["blank_lines"]),
            "{name}: blank lines"
        );
        assert_eq!(
            i.summary.earliest.as_ref().map(|(_, t)| t.as_str()),
            exp.get("min_created_at").and_then(|v| v.as_str()),
            "{name}: earliest"
        );
        assert_eq!(
            i.summary.latest.as_ref().map(|(_, t)| t.as_str()),
            exp.get("max_created_at").and_then(|v| v.as_str()),
            "{name}: latest"
        );
        let plain = decompressed(&fs::read(&path).unwrap());
        if !name.contains("truncated_gzip") {
            assert_eq!(i.bytes, plain.len() as u64, "{name}: bytes read");
        }
    }
}

/// `records == entities + errors` on every fixture, every path, in the
/// lenient, yield-errors and strict modes (`runs` asserts it).
#[test]
fn accounting_on_every_fixture() {
    for (name, path) in all_inputs() {
        for mode in ["lenient", "yield", "strict"] {
            let mut b = ReaderBuilder::new();
            match mode {
                "yield" => b.yield_errors(true),
                "strict" => b.strict(true),
                _ => &mut b,
            };
            let runs = runs(&path, &b);
            assert_agree(&format!("{name} ({mode})"), &runs);
        }
    }
}

/// Fixtures whose damage ends the input (a truncated document, a broken
/// gzip stream): the reader stops with a fatal error.
const FATAL_ERROR_FIXTURES: [&str; 2] = ["v1_truncated.json", "v2_truncated_gzip.jsonl.gz"];

/// With `yield_errors(true)` every error is handed out once, and (apart
/// from fatal errors, see `fatal_errors_are_counted_once`) counted once,
/// exactly as the lenient mode counts it.
#[test]
fn yield_errors_hands_out_and_counts_each_error_once() {
    yield_errors_check(false);
}

/// The same for the fixtures that end in a fatal error.
#[test]
fn fatal_errors_are_counted_once() {
    yield_errors_check(true);
    strict_check(true);
}

fn yield_errors_check(fatal: bool) {
    let exp = expected();
    let mut problems = Vec::new();
    for (name, path) in all_inputs() {
        if FATAL_ERROR_FIXTURES.contains(&name.as_str()) != fatal {
            continue;
        }
        let want = u(&exp[&name]["errors"]);
        let lines: Vec<u64> = exp[&name]["error_lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(u)
            .collect();
        let mut b = ReaderBuilder::new();
        b.yield_errors(true);
        for run in runs(&path, &b) {
            let what = format!("{name} [{}]", run.path);
            let got: Vec<u64> = run
                .yielded
                .iter()
                .filter(|e| !e.is_gzip())
                .map(|e| e.line.unwrap_or(0))
                .collect();
            assert_eq!(got, lines, "{what}: lines of the errors handed out");
            assert_eq!(run.yielded.len() as u64, want, "{what}: errors handed out");
            assert!(
                run.first_errors.is_empty(),
                "{what}: handed-out errors are not kept"
            );
            if run.errors != want {
                problems.push(format!(
                    "{what}: {want} errors, report.errors = {}",
                    run.errors
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Strict mode: the first bad record of each damaged fixture is returned
/// as an error at the expected line, reading stops there, and (apart from
/// fatal errors) the report counts that one error.
#[test]
fn strict_mode_stops_at_the_first_bad_record() {
    strict_check(false);
}

fn strict_check(fatal: bool) {
    let exp = expected();
    let mut problems = Vec::new();
    for (name, path) in all_inputs() {
        if FATAL_ERROR_FIXTURES.contains(&name.as_str()) != fatal {
            continue;
        }
        let want = u(&exp[&name]["errors"]);
        let lines: Vec<u64> = exp[&name]["error_lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(u)
            .collect();
        let mut b = ReaderBuilder::new();
        b.strict(true);
        let lenient = runs(&path, &ReaderBuilder::new());
        for (run, lenient) in runs(&path, &b).iter().zip(&lenient) {
            let what = format!("{name} [{}]", run.path);
            if want == 0 {
                assert!(run.yielded.is_empty(), "{what}: {:?}", run.yielded);
                assert_eq!(run.entities, lenient.entities, "{what}");
                continue;
            }
            assert_eq!(
                run.yielded.len(),
                1,
                "{what}: strict mode handed out {:?}",
                run.yielded
            );
            assert_eq!(
                run.yielded[0].line,
                lines.first().copied(),
                "{what}: first error line"
            );
            // The entities before the error are the lenient read's.
            let before = &lenient.entities[..run.entities.len()];
            assert_eq!(run.entities, before, "{what}: entities before the error");
            if run.errors != 1 {
                problems.push(format!("{what}: one error, report.errors = {}", run.errors));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// v2_malformed.jsonl strictly: three entities, then line 4's error with a
/// byte offset inside line 4; `Display` is `FILE:LINE:BYTE: message`.
#[test]
fn strict_error_position_and_display() {
    let path = input_path("v2_malformed.jsonl");
    let bytes = fs::read(&path).unwrap();
    let spans = line_spans(&bytes);
    let (start, end) = spans[3];
    let mut b = ReaderBuilder::new();
    b.strict(true);

    let mut reader = b.from_path(&path).unwrap();
    let mut seen = 0;
    let err = loop {
        match reader.next_entity().expect("an error before the end") {
            Ok(_) => seen += 1,
            Err(e) => break e,
        }
    };
    assert_eq!(seen, 3, "entities before line 4");
    assert!(
        reader.next_entity().is_none(),
        "strict mode stops after the error"
    );
    let pos = err.position().expect("a position");
    assert_eq!(pos.line, 4);
    assert!(
        (start..=end).contains(&pos.byte),
        "byte {} outside line 4 [{start}, {end}]",
        pos.byte
    );
    assert_eq!(err.path(), Some(path.as_path()));
    assert!(matches!(
        err.kind(),
        ErrorKind::Truncated { .. } | ErrorKind::Json { .. }
    ));
    assert_eq!(
        err.to_string(),
        format!("{}:4:{}: {}", path.display(), pos.byte, err.message())
    );

    // The same position through the slice reader (no path in Display).
    let mut it = b.from_slice(&bytes);
    let e = it.by_ref().find_map(Result::err).expect("an error");
    assert_eq!(e.position(), Some(pos));
    assert_eq!(e.to_string(), format!("4:{}: {}", pos.byte, e.message()));
    assert!(it.next().is_none());

    // Lenient: the second error is on line 9, inside line 9.
    let reader = ReaderBuilder::new().from_path(&path).unwrap();
    let run = drain_reader("from_path", false, reader);
    assert_eq!(run.error_lines(), [4, 9]);
    let (s9, e9) = spans[8];
    let b9 = run.first_errors[1].byte.unwrap();
    assert!(
        (s9..=e9).contains(&b9),
        "byte {b9} outside line 9 [{s9}, {e9}]"
    );
    assert!(
        run.first_errors[1]
            .display
            .starts_with(&format!("{}:9:{b9}: ", path.display()))
    );
}

/// The blank-out oracle for line limits: lines longer than `max` become
/// blank for the oracle, errors for the crate.
fn long_lines(bytes: &[u8], max: u64) -> (Vec<u64>, Vec<u8>) {
    let mut long = Vec::new();
    let mut blanked = bytes.to_vec();
    for (i, (s, e)) in line_spans(bytes).into_iter().enumerate() {
        if e - s > max {
            long.push(i as u64 + 1);
            for b in &mut blanked[s as usize..e as usize] {
                *b = b' ';
            }
        }
    }
    (long, blanked)
}

fn check_max_line(name: &str, max: usize) {
    check_max_line_at(name, &input_path(name), max);
}

fn check_max_line_at(name: &str, path: &Path, max: usize) {
    let path = path.to_path_buf();
    let bytes = fs::read(&path).unwrap();
    let (long, blanked) = long_lines(&bytes, max as u64);
    assert!(!long.is_empty(), "{name}: no line longer than {max}");
    let want = oracle(&blanked, false);
    let mut b = ReaderBuilder::new();
    b.max_line(max).max_errors_kept(1000);
    let runs = runs(&path, &b);
    assert_agree(&format!("{name} max_line {max}"), &runs);
    for run in &runs {
        let label = format!("{name} max_line {max} [{}]", run.path);
        assert_eq!(run.error_lines(), long, "{label}: error lines");
        assert!(
            run.first_errors.iter().all(|e| e.kind == "LineTooLong"),
            "{label}: {:?}",
            run.first_errors
        );
        compare(&label, &run.entities, &want.entities);
    }
}

/// Lines longer than `max_line` are errors; reading resynchronizes at the
/// next line (the first line is short enough for detection).
#[test]
fn max_line_too_long_then_resynchronize() {
    check_max_line("v2_item.jsonl", 400);
    check_max_line("user_export.jsonl", 500);
    check_max_line("v2_data.jsonl", 500);
}

/// The first line itself is longer than `max_line`.
#[test]
fn max_line_shorter_than_the_first_line() {
    check_max_line("v2_bare.jsonl", 100);
}

/// The last line has no newline and is longer than `max_line`.
#[test]
fn max_line_applies_to_a_last_line_without_newline() {
    // v2_item.jsonl with its longest line moved to the end, no final newline.
    let bytes = fs::read(input_path("v2_item.jsonl")).unwrap();
    let mut lines: Vec<&[u8]> = bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let longest = (0..lines.len()).max_by_key(|&i| lines[i].len()).unwrap();
    let last = lines.remove(longest);
    let mut text = lines.join(&b'\n');
    text.push(b'\n');
    text.extend_from_slice(last);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("last_line_long.jsonl");
    fs::write(&path, &text).unwrap();
    let max = last.len() - 1;
    assert!(lines.iter().all(|l| l.len() <= max));
    check_max_line_at("last line long", &path, max);
}

/// Entities of the default read of `name`, owned.
fn default_entities(name: &str) -> Vec<Entity<'static>> {
    let bytes = fs::read(input_path(name)).unwrap();
    ReaderBuilder::new()
        .from_slice(&bytes)
        .map(|e| e.unwrap().into_owned())
        .collect()
}

/// The same record (members lose their inherited cid when their channel
/// is too large, so the cid is not compared).
fn same_record(a: &Entity<'_>, b: &Entity<'_>) -> bool {
    a.offset() == b.offset() && a.raw() == b.raw() && a.kind() == b.kind()
}

/// Reads `name` with `max_entity` set to the median entity size on every
/// path; returns the limit, the unlimited entities and the runs.
fn max_entity_runs(name: &str) -> (usize, Vec<Entity<'static>>, Vec<Run>) {
    let all = default_entities(name);
    let mut sizes: Vec<usize> = all.iter().map(|e| e.raw().len()).collect();
    sizes.sort();
    let max = sizes[sizes.len() / 2];
    let mut b = ReaderBuilder::new();
    b.max_entity(max);
    (max, all, runs(&input_path(name), &b))
}

/// `max_entity` on a v1 document: over-large entities are EntityTooLarge
/// errors and the walker goes on with the next entity; what comes through
/// is the unlimited read's entities, in order.
#[test]
fn max_entity_errors_and_the_walker_continues() {
    for name in ["v1_single.json", "v1_array.json", "v1_sequence.json"] {
        let (max, all, runs) = max_entity_runs(name);
        for run in &runs {
            let label = format!("{name} max_entity {max} [{}]", run.path);
            assert!(
                run.first_errors.iter().all(|e| e.kind == "EntityTooLarge"),
                "{label}: {:?}",
                run.first_errors
            );
            assert_eq!(
                run.records,
                all.len() as u64,
                "{label}: every entity is a record"
            );
            assert_eq!(
                run.entities.len() as u64 + run.errors,
                all.len() as u64,
                "{label}"
            );
            let mut rest = all.iter();
            for e in &run.entities {
                assert!(
                    rest.any(|a| same_record(a, e)),
                    "{label}: {e:?} not in the unlimited read, or out of order"
                );
            }
            if let Some(first) = run.first_errors.first() {
                let at = first.byte.unwrap();
                assert!(
                    run.entities.iter().any(|e| e.offset() > at),
                    "{label}: nothing after the first error"
                );
            }
        }
    }
}

/// Exactly the entities larger than `max_entity` are errors, on every path.
#[test]
fn max_entity_exact_on_every_path() {
    for name in ["v1_single.json", "v1_array.json", "v1_sequence.json"] {
        let (max, all, runs) = max_entity_runs(name);
        let keep: Vec<&Entity<'_>> = all.iter().filter(|e| e.raw().len() <= max).collect();
        for run in &runs {
            let label = format!("{name} max_entity {max} [{}]", run.path);
            assert_eq!(run.errors as usize, all.len() - keep.len(), "{label}");
            assert_eq!(run.entities.len(), keep.len(), "{label}");
            for (a, b) in run.entities.iter().zip(&keep) {
                assert!(same_record(a, b), "{label}: {a:?} vs {b:?}");
            }
        }
        assert_agree(name, &runs);
    }
}

/// `lossy_utf8(true)`: line 5's 0xff becomes U+FFFD and the record an
/// entity (marked lossy); everything else is unchanged.
#[test]
fn lossy_utf8_turns_invalid_bytes_into_entities() {
    let name = "v2_invalid_utf8.jsonl";
    let path = input_path(name);
    let strict = default_entities(name);
    let mut b = ReaderBuilder::new();
    b.lossy_utf8(true);
    let runs = runs(&path, &b);
    assert_agree(name, &runs);
    let bytes = fs::read(&path).unwrap();
    let (s5, e5) = line_spans(&bytes)[4];
    for run in &runs {
        assert_eq!(run.errors, 0, "[{}] {:?}", run.path, run.first_errors);
        assert_eq!(run.entities.len(), strict.len() + 1);
        assert_eq!(run.lossy, 1);
        let lossy: Vec<&Entity<'_>> = run.entities.iter().filter(|e| e.is_lossy()).collect();
        assert_eq!(lossy.len(), 1);
        assert!(
            (s5..e5).contains(&lossy[0].offset()),
            "the lossy entity is line 5's"
        );
        assert!(lossy[0].raw_str().contains('\u{fffd}'));
        let text = lossy[0].text().unwrap_or_default();
        assert!(text.contains('\u{fffd}'), "text {text:?}");
        let others: Vec<&Entity<'_>> = run.entities.iter().filter(|e| !e.is_lossy()).collect();
        assert_eq!(others, strict.iter().collect::<Vec<_>>());
    }
}

/// Escaped lone surrogates become U+FFFD by default (counted as lossy);
/// with `lossy_surrogates(false)` they are errors.
#[test]
fn lone_surrogates_repaired_or_rejected() {
    let path = input_path("v2_lone_surrogate.jsonl");
    let runs_default = runs(&path, &ReaderBuilder::new());
    assert_agree("lone surrogates", &runs_default);
    for run in &runs_default {
        assert_eq!(run.errors, 0);
        assert_eq!(run.lossy, 2);
        let texts: Vec<&str> = run.entities.iter().map(|e| e.text().unwrap()).collect();
        assert_eq!(
            texts,
            [
                "lone high surrogate \u{fffd} here",
                "lone low \u{fffd} and reversed \u{fffd}\u{fffd}",
                "fine \u{1f600}",
            ]
        );
        assert!(run.entities[0].is_lossy() && run.entities[1].is_lossy());
        assert!(!run.entities[2].is_lossy());
    }
    let mut b = ReaderBuilder::new();
    b.lossy_surrogates(false);
    let runs_strict = runs(&path, &b);
    assert_agree("lone surrogates rejected", &runs_strict);
    for run in &runs_strict {
        assert_eq!(run.error_lines(), [1, 2], "[{}]", run.path);
        assert_eq!(run.entities.len(), 1);
    }
}

/// Escaped ids, cids and text decode once.
#[test]
fn escaped_fields_decode() {
    let line = br#"{"type":"message","item":{"id":"m\u002d1","cid":"messaging:\u0021members-x","user":{"id":"user-\u0031\u0037"},"text":"\u003cb\u003e \"q\" \\ \/","parent_id":"p\u0031","created_at":"2021-03-01T09:00:00\u002E5Z"}}
{"type":"reaction","item":{"message_id":"m\u002d1","user_id":"\u0075ser-2","type":"l\u0069ke"}}
{"type":"user","item":{"id":"user-\u0031\u0037","name":"Ada"}}
"#;
    let entities: Vec<Entity<'_>> = ReaderBuilder::new()
        .strict(true)
        .from_slice(line)
        .collect::<Result<_, _>>()
        .unwrap();
    let m = &entities[0];
    assert_eq!(m.id(), Some("m-1"));
    assert_eq!(m.cid(), Some("messaging:!members-x"));
    assert_eq!(m.channel_type(), Some("messaging"));
    assert_eq!(m.channel_id(), Some("!members-x"));
    assert_eq!(m.user_id(), Some("user-17"));
    assert_eq!(m.text(), Some("<b> \"q\" \\ /"));
    assert_eq!(m.parent_id(), Some("p1"));
    assert_eq!(m.created_at_text(), Some("2021-03-01T09:00:00.5Z"));
    assert_eq!(m.created_at(), Timestamp::parse("2021-03-01T09:00:00.5Z"));
    let r = &entities[1];
    assert_eq!(r.kind(), Kind::Reaction);
    assert_eq!(r.message_id(), Some("m-1"));
    assert_eq!(r.user_id(), Some("user-2"));
    assert_eq!(r.reaction_type(), Some("like"));
    assert_eq!(r.cid(), Some("messaging:!members-x"), "from its message");
    assert_eq!(entities[2].user_id(), Some("user-17"));

    // The fixture: every record that spells user-17 with escapes resolves
    // to user-17, and user-170 stays user-170.
    for e in default_entities("v2_escapes.jsonl") {
        let raw = e.raw_str();
        if raw.contains(r#""user-\u0031\u0037""#) && e.kind() == Kind::Message {
            assert_eq!(e.user_id(), Some("user-17"), "{raw}");
        }
        if let Some(user) = e.user_id() {
            assert!(!user.contains('\\'), "undecoded escape in {user:?}");
        }
    }
}

/// Owned entities outlive the input buffer, the reader and the file.
#[test]
fn owned_entities_outlive_the_input() {
    let path = input_path("v2_item.jsonl");
    let owned: Vec<Entity<'static>> = {
        let bytes = fs::read(&path).unwrap();
        let out = ReaderBuilder::new()
            .from_slice(&bytes)
            .map(|e| e.unwrap().into_owned())
            .collect();
        drop(bytes);
        out
    };
    let streamed: Vec<Entity<'static>> = {
        let file = fs::File::open(&path).unwrap();
        let mut b = ReaderBuilder::new();
        b.buffer_size(64);
        let reader = b.from_reader(file).unwrap();
        reader.into_owned_iter().map(Result::unwrap).collect()
    };
    assert_eq!(owned, streamed);
    let want = oracle_of(&path, false);
    compare("owned", &owned, &want.entities);
    let messages = owned.iter().filter(|e| e.kind() == Kind::Message).count();
    assert!(messages > 0 && owned.iter().all(|e| !e.raw().is_empty()));
}

/// Empty and whitespace-only inputs.
#[test]
fn empty_inputs() {
    for (bytes, blank) in [
        (&b""[..], 0),
        (b"\n\n", 2),
        (b"\xEF\xBB\xBF", 0),
        (b"  \r\n\t\n", 2),
    ] {
        let mut it = ReaderBuilder::new().from_slice(bytes);
        assert!(it.next().is_none(), "{bytes:?}");
        let reader = it.reader().unwrap();
        assert_eq!(reader.report().errors, 0, "{bytes:?}");
        assert_eq!(reader.report().records, 0, "{bytes:?}");
        assert_eq!(reader.report().blank_lines, blank, "{bytes:?}");
        assert_eq!(reader.format(), Format::Empty, "{bytes:?}");
    }
    let gz = gzip(b"");
    let reader = ReaderBuilder::new().from_reader(&gz[..]).unwrap();
    assert_eq!(reader.compression(), Compression::Gzip);
    let run = drain_reader("gzip", true, reader);
    assert!(run.entities.is_empty());
    assert_eq!(run.errors, 0);
}

/// The JSONTestSuite files: never a panic, every path agrees, and the
/// accounting holds. `y_` files that are objects are bare entities.
#[test]
fn json_test_suite_paths_agree() {
    for path in json_test_suite() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let runs = runs(&path, &ReaderBuilder::new());
        assert_agree(&name, &runs);
        if name.starts_with("y_") {
            let bytes = fs::read(&path).unwrap();
            let trimmed = String::from_utf8_lossy(&bytes).trim().to_string();
            if trimmed.starts_with('{') && !trimmed.contains('\n') {
                assert_eq!(runs[0].errors, 0, "{name}: {:?}", runs[0].first_errors);
                assert_eq!(runs[0].entities.len(), 1, "{name}");
            }
        }
    }
}

/// A path that is `Path`-like but not UTF-8 safe is not needed; a missing
/// file is an I/O error with the path attached.
#[test]
fn missing_file_is_an_io_error() {
    let path = Path::new("/nonexistent/stream-chat-export/missing.jsonl");
    let err = match ReaderBuilder::new().from_path(path) {
        Ok(_) => panic!("opened a missing file"),
        Err(e) => e,
    };
    assert_eq!(err.category(), stream_chat_export::Category::Io);
    assert_eq!(err.path(), Some(path));
    assert!(
        err.to_string()
            .starts_with(&format!("{}: ", path.display()))
    );
    let dir = match ReaderBuilder::new().from_path(root().join("testdata")) {
        Ok(_) => panic!("opened a directory"),
        Err(e) => e,
    };
    assert_eq!(dir.category(), stream_chat_export::Category::Io);
}

/// A document (its first record is pretty-printed) followed by a bare
/// record whose first key is `user` holding an object, longer than the
/// read buffer: the walker probes it as a possible sync user export.
#[test]
fn top_level_user_first_record_on_streams() {
    let mut text = b"{\n  \"type\": \"user\",\n  \"item\": {\"id\": \"u0\"}\n}\n".to_vec();
    text.extend_from_slice(b"{\"user\":{\"id\":\"u1\",\"name\":\"");
    text.extend_from_slice(&[b'x'; 300]);
    text.extend_from_slice(b"\"},\"last_read\":\"2021-01-01T00:00:00Z\"}\n");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("user_first.json");
    fs::write(&path, &text).unwrap();
    let runs = runs(&path, &ReaderBuilder::new());
    assert_agree("user first", &runs);
    let want = oracle(&text, false);
    assert_eq!(want.entities.len(), 2);
    for run in &runs {
        compare(
            &format!("user first [{}]", run.path),
            &run.entities,
            &want.entities,
        );
    }
}

/// Every fixture through streams of many buffer sizes (window rolls at
/// every kind of boundary) and gzip split into two members at several
/// points: always the slice reader's result.
#[test]
fn buffer_size_and_member_split_sweep() {
    for (name, path) in all_inputs() {
        let bytes = fs::read(&path).unwrap();
        let base = drain_slice("slice", false, &ReaderBuilder::new(), &bytes);
        let gzip_broken = base.first_errors.iter().any(ErrInfo::is_gzip);
        let same = |run: &Run| {
            assert_eq!(
                run.entities, base.entities,
                "{name} [{}]: entities",
                run.path
            );
            assert_eq!(run.errors, base.errors, "{name} [{}]: errors", run.path);
            assert_eq!(run.blank_lines, base.blank_lines, "{name} [{}]", run.path);
            assert_eq!(run.format, base.format, "{name} [{}]: format", run.path);
            if !gzip_broken {
                assert_eq!(run.first_errors, base.first_errors, "{name} [{}]", run.path);
            }
        };
        for size in [64, 65, 77, 100, 128, 199, 256, 333, 1000, 4096] {
            let mut b = ReaderBuilder::new();
            b.buffer_size(size);
            let reader = b.from_reader(&bytes[..]).unwrap();
            let mut run = drain_reader("stream", false, reader);
            // Stream errors carry no path; the slice's neither.
            run.path = "stream sweep";
            same(&run);
        }
        if is_gzip(&bytes) {
            continue;
        }
        for cut in [1, 2, bytes.len() / 3, bytes.len() / 2 + 7, bytes.len() - 1] {
            let cut = cut.min(bytes.len());
            let mut two = gzip(&bytes[..cut]);
            two.extend_from_slice(&gzip(&bytes[cut..]));
            let mut b = ReaderBuilder::new();
            b.buffer_size(97);
            let mut run = drain_reader("gzip split", true, b.from_reader(&two[..]).unwrap());
            run.path = "gzip split";
            same(&run);
        }
    }
}
