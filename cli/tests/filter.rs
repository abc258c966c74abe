//! `filter` as a process: several files in order, lossless conversion to
//! NDJSON for every input, and the stream paths agreeing with the mapped
//! one.

mod common;

use common::*;
use stream_chat_export::ReaderBuilder;

/// `filter` over several files writes each file's
/// lines in command-line order, exactly as separate runs would; `-o x.gz`
/// compresses the same bytes.
#[test]
fn cli_several_files_keep_their_order() {
    let bin = BIN;
    let dir = fixtures_dir();
    let names = [
        "v2_item.jsonl",
        "v1_array.json.gz",
        "v2_escapes.jsonl",
        "v1_single.json",
        "user_export.jsonl",
        "v2_data.jsonl",
    ];
    let run = |files: &[&str], extra: &[&str]| {
        let out = std::process::Command::new(bin)
            .arg("filter")
            .args(["--user", "user-17"])
            .args(extra)
            .args(files.iter().map(|f| dir.join(f)))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let separately: Vec<u8> = names.iter().flat_map(|f| run(&[f], &[])).collect();
    assert!(!separately.is_empty());
    assert_eq!(run(&names, &[]), separately);
    assert_eq!(run(&names, &["--threads", "1"]), separately);
    let tmp = tempfile::tempdir().unwrap();
    let gz = tmp.path().join("out.jsonl.gz");
    run(&names, &["-o", gz.to_str().unwrap()]);
    assert_eq!(decompressed(&std::fs::read(&gz).unwrap()), separately);
    // Every output line is one JSON object in the v2 envelope.
    for line in separately.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let v: serde_json::Value = serde_json::from_slice(line).unwrap();
        assert!(v["type"].is_string() && v["item"].is_object(), "{v}");
    }
}

/// `filter` without predicates converts any input to NDJSON v2 lines:
/// every line parses alone with serde_json as `{"type","item"}`, there is
/// one line per entity (the counts of expected.json, independent of the
/// crate), each `item` equals the entity's raw JSON, and reading the output
/// back gives the same kinds, channels and users as reading the input.
#[test]
fn cli_converts_every_input_to_v2_ndjson_losslessly() {
    let exp = expected();
    for (name, path) in all_inputs() {
        let out = run(&["filter", s(&path)], None);
        assert_eq!(code(&out), 0, "{name}: {}", stderr(&out));
        let entities: u64 = exp[&name]["counts"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert!(
            out.stdout.is_empty() || out.stdout.ends_with(b"\n"),
            "{name}"
        );
        let lines: Vec<serde_json::Value> = out
            .stdout
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .enumerate()
            .map(|(i, l)| {
                serde_json::from_slice(l)
                    .unwrap_or_else(|e| panic!("{name} line {}: not one JSON value: {e}", i + 1))
            })
            .collect();
        assert_eq!(lines.len() as u64, entities, "{name}: one line per entity");
        let original = decompressed(&std::fs::read(&path).unwrap());
        let want: Vec<_> = ReaderBuilder::new()
            .from_slice(&original)
            .filter_map(Result::ok)
            .map(|e| {
                let raw: serde_json::Value = serde_json::from_slice(e.raw()).unwrap();
                (
                    raw,
                    e.cid().map(str::to_string),
                    e.user_id().map(str::to_string),
                )
            })
            .collect();
        assert_eq!(want.len(), lines.len(), "{name}");
        for (i, (line, (raw, ..))) in lines.iter().zip(&want).enumerate() {
            let object = line.as_object().unwrap();
            assert!(object["type"].is_string(), "{name} #{i}: {line}");
            assert_eq!(object["item"], *raw, "{name} #{i}: item");
        }
        // Inherited channels resolve the same: the records keep their
        // order, so every member still follows its channel.
        let got: Vec<_> = ReaderBuilder::new()
            .from_slice(&out.stdout)
            .map(|e| {
                let e = e.unwrap();
                (e.cid().map(str::to_string), e.user_id().map(str::to_string))
            })
            .collect();
        let want: Vec<_> = want.into_iter().map(|(_, c, u)| (c, u)).collect();
        assert_eq!(got, want, "{name}: channels and users");
    }
}

/// The command line: `filter` on a gzip file and on stdin gives what it
/// gives on the plain file, on 1 and 2 threads; `--strict` stops at the
/// same error. The notes on stderr are the same too (the file's name
/// aside): records ruled out by the prefilter are only counted on the
/// parallel paths, so they also tell that streams took one — except for a
/// v1 document, which runs in parallel as a mapped file and on the
/// sequential reader as a stream, so only its output must agree.
#[test]
fn cli_streams() {
    let bin = BIN;
    let tmp = tempfile::tempdir().unwrap();
    for name in [
        "v2_item.jsonl",
        "v2_malformed.jsonl",
        "user_export.jsonl",
        "v1_array.json",
    ] {
        let plain_path = input_path(name);
        let plain = std::fs::read(&plain_path).unwrap();
        let gz_path = tmp.path().join(format!("{name}.gz"));
        std::fs::write(&gz_path, gzip(&plain)).unwrap();
        for extra in [&[][..], &["--user", "user-17"], &["--strict"]] {
            let run = |file: &std::path::Path, stdin: Option<&[u8]>, threads: &str| {
                use std::io::Write;
                let mut cmd = std::process::Command::new(bin);
                cmd.arg("filter")
                    .args(["--threads", threads])
                    .args(extra)
                    .arg(file)
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped());
                let mut child = cmd.spawn().unwrap();
                let mut input = child.stdin.take().unwrap();
                let bytes = stdin.unwrap_or_default().to_vec();
                // Fed from a thread of its own: the child's output must be
                // read meanwhile, or both sides could wait on a full pipe.
                let feeder = std::thread::spawn(move || {
                    // The child may stop reading early (--strict).
                    let _ = input.write_all(&bytes);
                });
                let out = child.wait_with_output().unwrap();
                feeder.join().unwrap();
                let name = file.display().to_string();
                let notes =
                    String::from_utf8_lossy(&out.stderr).replace(&format!("{name}:"), "IN:");
                let lines = String::from_utf8_lossy(&out.stdout).into_owned();
                (out.status.code(), notes, lines)
            };
            let want = run(&plain_path, None, "2");
            if extra.len() == 2 && !name.starts_with("v1") {
                assert!(want.1.contains("ruled out by the prefilter"), "{}", want.1);
            }
            for threads in ["1", "2"] {
                let what = format!("{name} {extra:?} threads {threads}");
                let document = name.starts_with("v1");
                let same = |got: (Option<i32>, String, String), how: &str| {
                    if document {
                        let ruled_out = without_ruled_out(&want.1);
                        assert_eq!(
                            (got.0, &got.1, &got.2),
                            (want.0, &ruled_out, &want.2),
                            "{what}: {how}"
                        );
                    } else {
                        assert_eq!(got, want, "{what}: {how}");
                    }
                };
                same(run(&gz_path, None, threads), "gzip file");
                let dash = std::path::Path::new("-");
                same(run(dash, Some(&plain), threads), "stdin");
                let gz = gzip(&plain);
                same(run(dash, Some(&gz), threads), "gzip stdin");
            }
        }
    }
}

/// `--no-prefilter` is wired through: the same entities come out, and no
/// line is ruled out undecoded (so every bad line is seen and counted),
/// where the prefilter rules lines out and says so.
#[test]
fn no_prefilter_gives_the_same_output_and_decodes_every_line() {
    for name in ["v2_item.jsonl", "v2_malformed.jsonl", "user_export.jsonl"] {
        let file = input_path(name);
        let run = |extra: &[&str]| {
            let out = std::process::Command::new(BIN)
                .arg("filter")
                .args(["--user", "user-17"])
                .args(extra)
                .arg(&file)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(0), "{name} {extra:?}");
            (
                String::from_utf8(out.stdout).unwrap(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        };
        let (fast, fast_notes) = run(&[]);
        let (slow, slow_notes) = run(&["--no-prefilter"]);
        assert_eq!(fast, slow, "{name}: the same entities");
        assert!(
            fast_notes.contains("ruled out by the prefilter"),
            "{name}: {fast_notes}"
        );
        assert!(!slow_notes.contains("ruled out"), "{name}: {slow_notes}");
        if name == "v2_malformed.jsonl" {
            // Decoding every line finds every bad one.
            let bad = |notes: &str| {
                notes
                    .find(" bad records skipped")
                    .and_then(|at| notes[..at].split_whitespace().last()?.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            assert!(bad(&slow_notes) > 0, "{slow_notes}");
            assert!(
                bad(&slow_notes) >= bad(&fast_notes),
                "{fast_notes} / {slow_notes}"
            );
        }
    }
}

/// `--since`/`--until` take a bare date as its midnight UTC: the same
/// output as the full time, and something is selected.
#[test]
fn time_options_take_dates() {
    let file = input_path("v2_item.jsonl");
    let run = |since: &str, until: &str| {
        let out = std::process::Command::new(BIN)
            .args(["filter", "-q", "--since", since, "--until", until])
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{since} {until}");
        String::from_utf8(out.stdout).unwrap()
    };
    let dates = run("2021-02-19", "2021-02-20");
    let times = run("2021-02-19T00:00:00Z", "2021-02-20T00:00:00Z");
    assert_eq!(dates, times);
    assert!(!dates.is_empty());
    let bad = std::process::Command::new(BIN)
        .args(["filter", "--since", "2021-02-30"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// `notes` without the count of records ruled out by the prefilter.
fn without_ruled_out(notes: &str) -> String {
    match (
        notes.find(" ("),
        notes.find(" records ruled out by the prefilter"),
    ) {
        (Some(open), Some(_)) => {
            let close = notes[open..]
                .find(')')
                .map_or(notes.len(), |c| open + c + 1);
            format!("{}{}", &notes[..open], &notes[close..])
        }
        _ => notes.to_string(),
    }
}
