//! `convert --to stream-import` and `validate --import` as processes:
//! stream-cli's validator cases print their documented errors as
//! `FILE:LINE:BYTE: message`, every fixture converts to a file the
//! validator accepts, a split output is a folder of valid parts.

mod common;

use common::*;
use std::path::Path;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

/// stream-cli's cases: the messages of the library test (tests/
/// import_stream_cli.rs), here with their positions, each pointing at
/// the item's opening brace on its line.
#[test]
fn stream_cli_cases_print_file_line_byte() {
    let dir = root().join("testdata/stream-cli-validator");
    for (name, count) in [
        ("valid-data.json", 0),
        ("invalid-users.json", 6),
        ("invalid-channels.json", 12),
        ("invalid-channel-mutes.json", 1),
        ("invalid-user-mutes.json", 1),
        ("invalid-members.json", 9),
        ("invalid-messages.json", 11),
        ("invalid-devices.json", 7),
    ] {
        let file = dir.join(name);
        let out = run(
            &[
                "validate",
                "--import",
                "--roles",
                "user",
                "--channel-types",
                "messaging",
                file.to_str().unwrap(),
            ],
            None,
        );
        let stdout = text(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(if count == 0 { 0 } else { 1 }),
            "{name}: {stdout}"
        );
        assert_eq!(stdout.lines().count(), count, "{name}: {stdout}");
        let bytes = std::fs::read(&file).unwrap();
        let spans = line_spans(&bytes);
        let prefix = format!("{}:", file.display());
        for line in stdout.lines() {
            let rest = line.strip_prefix(&prefix).unwrap();
            let mut fields = rest.splitn(3, ':');
            let number: usize = fields.next().unwrap().parse().unwrap();
            let byte: usize = fields.next().unwrap().parse().unwrap();
            assert!(fields.next().unwrap().starts_with(' '));
            assert_eq!(bytes[byte], b'{', "{line}");
            let (start, end) = spans[number - 1];
            assert!(start as usize <= byte && byte < end as usize, "{line}");
        }
        let stderr = text(&out.stderr);
        assert!(stderr.contains("stream-cli's validator rules"), "{stderr}");
    }
    // The option for exported distinct-channel ids.
    let file = dir.join("valid-channels-with-light.json");
    let args = [
        "validate",
        "--import",
        "--lighter-channel-ids",
        file.to_str().unwrap(),
    ];
    assert_eq!(run(&args, None).status.code(), Some(0));
    let out = run(&["validate", "--import", file.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains(r#"channel.id "!members-channelB" invalid"#));
}

#[test]
fn every_fixture_converts_to_a_file_validate_accepts() {
    let dir = tempfile::tempdir().unwrap();
    for (name, input) in all_inputs() {
        let out = dir
            .path()
            .join(format!("{}.import.jsonl", name.replace('/', "_")));
        let run_out = run(
            &[
                "convert",
                "--to",
                "stream-import",
                "--out",
                out.to_str().unwrap(),
                input.to_str().unwrap(),
            ],
            None,
        );
        let stderr = text(&run_out.stderr);
        assert_eq!(run_out.status.code(), Some(0), "{name}: {stderr}");
        assert!(stderr.contains("converted: "), "{name}: {stderr}");
        let check = run(&["validate", "--import", out.to_str().unwrap()], None);
        assert_eq!(
            check.status.code(),
            Some(0),
            "{name}: {}",
            text(&check.stdout)
        );
        assert!(text(&check.stderr).contains("current rules"));
        // The validator also reads it gzipped, through a pipe.
        let gz = gzip(&std::fs::read(&out).unwrap());
        let piped = run(&["validate", "--import", "-"], Some(&gz));
        assert_eq!(
            piped.status.code(),
            Some(0),
            "{name}: {}",
            text(&piped.stdout)
        );
    }
}

#[test]
fn split_output_and_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("parts");
    let input = fixtures_dir().join("v2_item.jsonl");
    let args = [
        "convert",
        "--to",
        "stream-import",
        "--max-size",
        "1500",
        "--out",
        out.to_str().unwrap(),
        input.to_str().unwrap(),
    ];
    let first = run(&args, None);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let mut parts: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    parts.sort();
    assert!(parts.len() >= 2, "{parts:?}");
    assert_eq!(parts[0].file_name().unwrap(), "part-0001.jsonl");
    for part in &parts {
        let check = run(&["validate", "--import", part.to_str().unwrap()], None);
        assert_eq!(
            check.status.code(),
            Some(0),
            "{part:?}: {}",
            text(&check.stdout)
        );
    }
    // A split output never lands in an existing folder.
    let again = run(&args, None);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("exists"));
    // Stdin cannot be read twice; an input is never the output.
    let stdin = run(
        &["convert", "--to", "stream-import", "--out", "x.jsonl", "-"],
        Some(b""),
    );
    assert_eq!(stdin.status.code(), Some(2));
    let same = run(
        &[
            "convert",
            "--to",
            "stream-import",
            "--out",
            input.to_str().unwrap(),
            input.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(same.status.code(), Some(2));
    assert!(Path::new(&input).exists());
    // Unknown target: a usage error from clap.
    let bad = run(
        &[
            "convert",
            "--to",
            "xlsx",
            "--out",
            "x",
            input.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn convert_takes_filter_options() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("general.jsonl");
    let input = fixtures_dir().join("v2_item.jsonl");
    let r = run(
        &[
            "convert",
            "--to",
            "stream-import",
            "--channel",
            "messaging:general",
            "--kind",
            "message",
            "--out",
            out.to_str().unwrap(),
            input.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    let written = std::fs::read_to_string(&out).unwrap();
    let messages: Vec<serde_json::Value> = written
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "message")
        .collect();
    assert!(!messages.is_empty());
    assert!(
        messages
            .iter()
            .all(|m| m["data"]["channel_id"] == "general")
    );
    let check = run(&["validate", "--import", out.to_str().unwrap()], None);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stdout));
}
