//! The command-line tool, run as a process: `inspect --json` against
//! expected.json, stdin via `-`, `validate` output and exit codes, and no
//! panic (exit code 101) anywhere.

mod common;

use common::*;
use serde_json::Value;
use std::fs;
use std::process::Output;

/// One JSON object per line of stdout.
fn json_lines(out: &Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn check_inspection(name: &str, got: &Value, exp: &Value) {
    for key in ["format", "compression", "counts", "errors", "blank_lines"] {
        assert_eq!(got[key], exp[key], "{name}: {key}");
    }
    assert_eq!(
        got["earliest_created_at"],
        exp.get("min_created_at").cloned().unwrap_or(Value::Null),
        "{name}: earliest_created_at"
    );
    assert_eq!(
        got["latest_created_at"],
        exp.get("max_created_at").cloned().unwrap_or(Value::Null),
        "{name}: latest_created_at"
    );
    let records = got["records"].as_u64().unwrap();
    let entities = got["entities"].as_u64().unwrap();
    let errors = got["errors"].as_u64().unwrap();
    assert_eq!(records, entities + errors, "{name}: records");
    let counted: u64 = got["counts"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(counted, entities, "{name}: counts add up to entities");
    let lines: Vec<Value> = got["first_errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| !e["message"].as_str().unwrap().starts_with("gzip"))
        .map(|e| e["line"].clone())
        .collect();
    assert_eq!(
        Value::Array(lines),
        exp["error_lines"],
        "{name}: first_errors lines"
    );
}

#[test]
fn inspect_json_on_every_fixture() {
    let exp = expected();
    let inputs = all_inputs();
    let mut args = vec!["inspect", "--json"];
    args.extend(inputs.iter().map(|(_, p)| s(p)));
    let out = run(&args, None);
    assert_eq!(
        code(&out),
        0,
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let objects = json_lines(&out);
    assert_eq!(objects.len(), inputs.len(), "one object per file");
    for ((name, path), got) in inputs.iter().zip(&objects) {
        assert_eq!(got["file"], s(path), "{name}: file");
        check_inspection(name, got, &exp[name]);
        let plain = decompressed(&fs::read(path).unwrap());
        if !name.contains("truncated_gzip") {
            assert_eq!(got["bytes"], plain.len(), "{name}: bytes");
        }
    }
}

#[test]
fn inspect_text_output() {
    let path = input_path("v2_malformed.jsonl");
    let out = run(&["inspect", s(&path)], None);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    assert!(text.starts_with(&format!("{}\n", path.display())), "{text}");
    assert!(text.contains("format:       v2"), "{text}");
    assert!(text.contains("compression:  none"), "{text}");
    assert!(text.contains(&format!("{}:4:", path.display())), "{text}");
    assert!(text.contains(&format!("{}:9:", path.display())), "{text}");
}

#[test]
fn inspect_reads_stdin() {
    let exp = expected();
    for name in [
        "v2_item.jsonl",
        "v1_array.json.gz",
        "v1_single.json",
        "v2_bom.jsonl",
    ] {
        let bytes = fs::read(input_path(name)).unwrap();
        let out = run(&["inspect", "--json", "-"], Some(&bytes));
        assert_eq!(code(&out), 0, "{name}");
        let objects = json_lines(&out);
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0]["file"], "-");
        check_inspection(name, &objects[0], &exp[name]);
    }
}

#[test]
fn validate_clean_files_exit_0() {
    for name in [
        "v2_item.jsonl",
        "v1_single.json",
        "v2_item.jsonl.gz",
        "import.jsonl",
    ] {
        let out = run(&["validate", s(&input_path(name))], None);
        assert_eq!(code(&out), 0, "{name}: {}", stdout(&out));
        assert!(out.stdout.is_empty(), "{name}: {}", stdout(&out));
    }
    let bytes = fs::read(input_path("v2_crlf.jsonl")).unwrap();
    let out = run(&["validate", "-"], Some(&bytes));
    assert_eq!(code(&out), 0);
}

/// `PATH:LINE:BYTE: message` lines, parsed.
fn problems(out: &Output, path: &str) -> Vec<(u64, u64, String)> {
    stdout(out)
        .lines()
        .map(|l| {
            let rest = l
                .strip_prefix(&format!("{path}:"))
                .unwrap_or_else(|| panic!("no path prefix: {l}"));
            let mut parts = rest.splitn(3, ':');
            let line = parts.next().unwrap().parse().unwrap();
            let byte = parts.next().unwrap().parse().unwrap();
            let msg = parts.next().unwrap();
            assert!(msg.starts_with(' ') && msg.len() > 1, "{l}");
            (line, byte, msg.trim().to_string())
        })
        .collect()
}

#[test]
fn validate_malformed_exit_1_with_positions() {
    let path = input_path("v2_malformed.jsonl");
    let bytes = fs::read(&path).unwrap();
    let spans = line_spans(&bytes);
    let out = run(&["validate", s(&path)], None);
    assert_eq!(code(&out), 1);
    let found = problems(&out, s(&path));
    assert_eq!(
        found.iter().map(|p| p.0).collect::<Vec<_>>(),
        [4, 9],
        "{found:?}"
    );
    for (line, byte, msg) in &found {
        let (start, end) = spans[*line as usize - 1];
        assert!(
            (start..=end).contains(byte),
            "line {line}: byte {byte} outside [{start}, {end}] ({msg})"
        );
    }
    // Several files: the worst code wins, every problem is listed.
    let clean = input_path("v2_item.jsonl");
    let out = run(&["validate", s(&clean), s(&path)], None);
    assert_eq!(code(&out), 1);
    assert_eq!(problems(&out, s(&path)).len(), 2);
}

/// validate on every fixture: exit 1 exactly when expected.json lists
/// errors, one output line per error.
#[test]
fn validate_every_fixture() {
    let exp = expected();
    for (name, path) in all_inputs() {
        let want = exp[&name]["errors"].as_u64().unwrap();
        let out = run(&["validate", s(&path)], None);
        assert_eq!(code(&out), if want == 0 { 0 } else { 1 }, "{name}");
        assert_eq!(
            stdout(&out).lines().count() as u64,
            want,
            "{name}: {}",
            stdout(&out)
        );
        let lines: Vec<u64> = problems(&out, s(&path))
            .iter()
            .filter(|p| !p.2.starts_with("gzip"))
            .map(|p| p.0)
            .collect();
        let want_lines: Vec<u64> = exp[&name]["error_lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(lines, want_lines, "{name}");
    }
}

#[test]
fn missing_file_and_directory_exit_2() {
    let missing = "/nonexistent/stream-chat-export/missing.jsonl";
    let dir = root().join("testdata");
    for args in [
        vec!["validate", missing],
        vec!["validate", s(&dir)],
        vec!["inspect", missing],
        vec!["inspect", "--json", s(&dir)],
    ] {
        let out = run(&args, None);
        assert_eq!(code(&out), 2, "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(args[args.len() - 1]),
            "{args:?}: stderr names the file: {err}"
        );
    }
    // A missing file among good ones: the others are still processed.
    let good = input_path("v2_item.jsonl");
    let out = run(&["inspect", "--json", s(&good), missing], None);
    assert_eq!(code(&out), 2);
    assert_eq!(json_lines(&out).len(), 1);
    let out = run(&["validate", missing, s(&good)], None);
    assert_eq!(code(&out), 2);
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec![],
        vec!["inspect"],
        vec!["validate"],
        vec!["frobnicate", "x"],
        vec!["inspect", "--max-line", "lots", "x"],
    ] {
        let out = run(&args, None);
        assert_eq!(code(&out), 2, "{args:?}");
    }
}

/// No input makes the tool panic: the JSONTestSuite files and every
/// fixture through both commands, also via stdin.
#[test]
fn no_panic_on_any_input() {
    let mut files: Vec<String> = json_test_suite().iter().map(|p| s(p).to_string()).collect();
    files.extend(all_inputs().iter().map(|(_, p)| s(p).to_string()));
    for chunk in files.chunks(64) {
        let chunk: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let mut args = vec!["validate"];
        args.extend(&chunk);
        let out = run(&args, None);
        assert!(matches!(code(&out), 0 | 1), "validate: {}", code(&out));
        let mut args = vec!["inspect", "--json"];
        args.extend(&chunk);
        let out = run(&args, None);
        assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(json_lines(&out).len(), chunk.len());
    }
    for (name, path) in all_inputs() {
        let bytes = fs::read(&path).unwrap();
        let out = run(&["validate", "-"], Some(&bytes));
        assert!(matches!(code(&out), 0 | 1), "{name}");
    }
}

/// The read options reach the library: `--lossy-utf8` and `--max-line`.
#[test]
fn read_options() {
    let path = input_path("v2_invalid_utf8.jsonl");
    let out = run(&["inspect", "--json", "--lossy-utf8", s(&path)], None);
    assert_eq!(code(&out), 0);
    let got = &json_lines(&out)[0];
    assert_eq!(got["errors"], 0);
    assert_eq!(got["lossy"], 1);
    let out = run(&["validate", "--lossy-utf8", s(&path)], None);
    assert_eq!(code(&out), 0, "{}", stdout(&out));

    let path = input_path("v2_item.jsonl");
    let bytes = fs::read(&path).unwrap();
    let long: Vec<u64> = line_spans(&bytes)
        .iter()
        .enumerate()
        .filter(|(_, (s, e))| e - s > 400)
        .map(|(i, _)| i as u64 + 1)
        .collect();
    let out = run(&["validate", "--max-line", "400", s(&path)], None);
    assert_eq!(code(&out), 1);
    let found: Vec<u64> = problems(&out, s(&path)).iter().map(|p| p.0).collect();
    assert_eq!(found, long);
}

/// A gzip-compressed document (first record pretty-printed) holding many
/// ordinary bare read states whose first key is `user`: a realistic file
/// of 1.6 MB where stream refills fall inside records.
#[test]
fn inspect_gzip_document_of_user_first_records() {
    let mut text = b"{\n  \"type\": \"user\",\n  \"item\": {\"id\": \"u0\"}\n}\n".to_vec();
    for i in 0..5000 {
        text.extend_from_slice(
            format!(
                "{{\"user\":{{\"id\":\"user-{i}\",\"name\":\"Name {i}\",\"role\":\"user\",\"created_at\":\"2020-11-19T08:17:49.745857Z\",\"updated_at\":\"2020-11-19T09:17:49.745857Z\",\"banned\":false,\"online\":false,\"teams\":[\"blue\",\"green\"],\"image\":\"https://example.com/avatars/{i}.png\"}},\"last_read\":\"2021-02-17T08:26:09.745857Z\",\"unread_messages\":{i}}}\n"
            )
            .as_bytes(),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reads.json.gz");
    fs::write(&path, gzip(&text)).unwrap();
    let out = run(&["inspect", "--json", s(&path)], None);
    assert_eq!(code(&out), 0);
    let got = &json_lines(&out)[0];
    assert_eq!(got["counts"]["read"], 5000);
    assert_eq!(got["counts"]["user"], 1);
    assert_eq!(got["errors"], 0);
}

/// `--users-file` / `--channels-file` name the same ids as repeated
/// options (blank lines and surrounding whitespace ignored); a missing
/// list is a usage error.
#[test]
fn id_lists_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixtures_dir().join("v2_item.jsonl");
    let users = dir.path().join("users.txt");
    fs::write(&users, "user-17\r\n\n  user-1  \nnobody\n").unwrap();
    let channels = dir.path().join("channels.txt");
    fs::write(&channels, "messaging:general\n").unwrap();
    let listed = run(&["filter", "--users-file", s(&users), s(&input)], None);
    let repeated = run(
        &[
            "filter",
            "--user",
            "user-17",
            "--user",
            "user-1",
            "--user",
            "nobody",
            s(&input),
        ],
        None,
    );
    assert_eq!(
        code(&listed),
        0,
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    assert!(!stdout(&listed).is_empty());
    assert_eq!(stdout(&listed), stdout(&repeated));
    let listed = run(
        &["filter", "--channels-file", s(&channels), s(&input)],
        None,
    );
    let repeated = run(
        &["filter", "--channel", "messaging:general", s(&input)],
        None,
    );
    assert!(!stdout(&listed).is_empty());
    assert_eq!(stdout(&listed), stdout(&repeated));
    let missing = dir.path().join("absent.txt");
    let out = run(&["filter", "--users-file", s(&missing), s(&input)], None);
    assert_eq!(code(&out), 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("absent.txt"));
}
