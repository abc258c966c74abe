//! `ImportConverter` on every fixture: the output passes the import
//! validator (current rules), and reading it back gives the same messages
//! (ids, users, channels, timestamps, text).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use stream_chat_export::{
    ConvertSummary, Engine, Filter, ImportConverter, ImportOptions, Input, Kind, MemberItem,
    MmapChoice, Parallel, ReaderBuilder, validate_import,
};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/fixtures");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap() != "expected.json")
        .collect();
    out.sort();
    for sample in [
        "import-jsonl-docs-example.jsonl",
        "import-legacy-array-stream-cli-valid-data.json",
    ] {
        out.push(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("testdata/samples")
                .join(sample),
        );
    }
    out
}

fn convert(inputs: &[PathBuf], out: &Path, max: Option<u64>) -> ConvertSummary {
    let engine = Engine::new(Parallel::new().threads(3).chunk_size(64)).unwrap();
    let mut converter = ImportConverter::new(Filter::new());
    if let Some(max) = max {
        converter.max_size(max);
    }
    run(&converter, &engine, inputs, out)
}

/// Runs `converter` over `inputs` into `out`.
fn run(
    converter: &ImportConverter,
    engine: &Engine,
    inputs: &[PathBuf],
    out: &Path,
) -> ConvertSummary {
    converter
        .run(
            engine,
            &ReaderBuilder::new(),
            inputs,
            &mut |p| Input::open(p, MmapChoice::never()),
            out,
            &mut |_| {},
        )
        .unwrap()
}

fn problems(file: &Path) -> Vec<String> {
    let engine = Engine::new(&Parallel::new()).unwrap();
    let bytes = std::fs::read(file).unwrap();
    let mut out = Vec::new();
    validate_import(&engine, &bytes, &ImportOptions::new(), |p| {
        out.push(format!("{}:{}: {p}", p.line, p.offset));
        Ok(())
    })
    .unwrap();
    out
}

/// Message id → (user, channel, created_at, text), as our reader sees it.
type Messages = BTreeMap<
    String,
    (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    ),
>;

fn messages(file: &Path) -> Messages {
    let mut reader = ReaderBuilder::new().from_path(file).unwrap();
    let mut out = Messages::new();
    reader
        .for_each(|e| {
            if e.kind() == Kind::Message
                && let (Some(id), Some(_)) = (e.id(), e.user_id())
            {
                // A distinct channel is named by its members in an import
                // file, and by its `!members-` id in an export (or, when
                // another distinct channel has the same members, by that id
                // rewritten to the import pattern, `_members-…-<hash>`):
                // its messages are compared without the channel.
                let distinct = e.get("channel_member_ids").is_some()
                    || e.cid()
                        .is_some_and(|c| c.contains(":!members") || c.contains(":_members-"));
                let cid = e.cid().filter(|_| !distinct).map(str::to_string);
                out.insert(
                    id.to_string(),
                    (
                        e.user_id().map(str::to_string),
                        cid,
                        e.created_at_text().map(str::to_string),
                        e.text().map(str::to_string),
                    ),
                );
            }
            Ok(())
        })
        .unwrap();
    out
}

#[test]
fn every_fixture_converts_to_a_valid_import_with_the_same_messages() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for input in fixtures() {
        let name = input.file_name().unwrap().to_string_lossy().to_string();
        let out = dir.path().join(format!("{name}.import.jsonl"));
        let summary = convert(std::slice::from_ref(&input), &out, None);
        let found = problems(&out);
        if !found.is_empty() {
            failures.push(format!("{name}: {found:?}"));
        }
        let mut want = messages(&input);
        let got = messages(&out);
        // A user id the import pattern refuses is rewritten: its valid
        // characters stay, the others become `_`, and a hash is appended.
        for (id, v) in want.iter_mut() {
            let Some(user) = v.0.clone() else { continue };
            let valid = |c: char| c.is_ascii_alphanumeric() || "@_-".contains(c);
            if !user.chars().all(valid) {
                let base: String = user
                    .chars()
                    .map(|c| if valid(c) { c } else { '_' })
                    .collect();
                let written = got.get(id).and_then(|g| g.0.clone()).unwrap_or_default();
                assert!(
                    written.starts_with(&format!("{base}-")),
                    "{user} → {written}"
                );
                assert!(written.chars().all(valid), "{written}");
                v.0 = Some(written);
            }
        }
        if want != got {
            failures.push(format!(
                "{name}: messages differ\n want {want:?}\n  got {got:?}\n {summary:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A v2 export of `channels` channels with `per` messages each, a reply
/// and reactions, and a distinct channel.
fn export(channels: usize, per: usize) -> String {
    let mut out = String::new();
    for c in 0..channels {
        out += &format!(
            r#"{{"type":"channel","item":{{"cid":"messaging:c{c}","type":"messaging","id":"c{c}","created_by":{{"id":"u{c}","name":"U{c}"}},"member_count":2,"config":{{"x":1}}}}}}"#
        );
        out.push('\n');
        for u in [c, c + 1] {
            out += &format!(
                r#"{{"type":"member","item":{{"user_id":"u{u}","user":{{"id":"u{u}","updated_at":"2024-01-0{}T00:00:00Z"}},"channel_role":"channel_member"}}}}"#,
                1 + u % 9
            );
            out.push('\n');
        }
        for m in 0..per {
            let parent = if m % 5 == 4 {
                format!(r#","parent_id":"c{c}-m{}""#, m - 1)
            } else {
                String::new()
            };
            out += &format!(
                r#"{{"type":"message","item":{{"id":"c{c}-m{m}","cid":"messaging:c{c}","text":"message {m} of c{c}","user":{{"id":"u{c}"}},"created_at":"2024-02-01T00:00:{:02}Z","reply_count":0,"pinned_at":null{parent}}}}}"#,
                m % 60
            );
            out.push('\n');
            out += &format!(
                r#"{{"type":"reaction","item":{{"message_id":"c{c}-m{m}","type":"like","user_id":"u{}","created_at":"2024-02-01T00:01:00Z"}}}}"#,
                c + 1
            );
            out.push('\n');
        }
    }
    out += r#"{"type":"channel","item":{"cid":"messaging:!members-abc","type":"messaging","id":"!members-abc","created_by":{"id":"u0"}}}"#;
    out += "\n";
    out += r#"{"type":"member","item":{"user_id":"u0","cid":"messaging:!members-abc"}}"#;
    out += "\n";
    out += r#"{"type":"member","item":{"user_id":"u1","cid":"messaging:!members-abc"}}"#;
    out += "\n";
    out += r#"{"type":"message","item":{"id":"dm-1","cid":"messaging:!members-abc","text":"psst","user":{"id":"u1"},"created_at":"2024-02-02T00:00:00Z"}}"#;
    out += "\n";
    // A second distinct channel with the same members (one left and came
    // back): a member set names one channel in an import file.
    out += r#"{"type":"channel","item":{"cid":"messaging:!members-def","type":"messaging","id":"!members-def","created_by":{"id":"u1"}}}"#;
    out += "\n";
    for u in ["u0", "u1"] {
        out += &format!(
            r#"{{"type":"member","item":{{"user_id":"{u}","cid":"messaging:!members-def"}}}}"#
        );
        out += "\n";
    }
    out += r#"{"type":"message","item":{"id":"dm-2","cid":"messaging:!members-def","text":"again","user":{"id":"u0"},"created_at":"2024-02-03T00:00:00Z"}}"#;
    out += "\n";
    out
}

#[test]
fn split_output_parts_are_each_valid_and_hold_every_message_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("export.jsonl");
    std::fs::write(&input, export(6, 20)).unwrap();
    let out = dir.path().join("import");
    let summary = convert(std::slice::from_ref(&input), &out, Some(6_000));
    assert!(summary.parts.len() > 2, "{:?}", summary.parts);
    assert!(out.is_dir());
    let mut all = Messages::new();
    for (part, _) in &summary.parts {
        assert!(part.starts_with(&out), "{part:?}");
        assert_eq!(problems(part), Vec::<String>::new(), "{part:?}");
        for (id, m) in messages(part) {
            assert!(all.insert(id.clone(), m).is_none(), "{id} in two parts");
        }
    }
    assert_eq!(all, messages(&input));
    // No temporary file or folder is left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    // One part when it fits.
    let one = dir.path().join("one.jsonl");
    let summary = convert(std::slice::from_ref(&input), &one, Some(1 << 30));
    assert_eq!(summary.parts.len(), 1);
    assert!(one.is_file());
    assert_eq!(problems(&one), Vec::<String>::new());
}

/// Parts are packed by what is written, not by the export's size: an
/// export's message carries read-only fields and whole user objects that
/// the import leaves out, so an estimate from the input alone would cut
/// parts at a fraction of the limit.
#[test]
fn split_output_parts_are_filled_up_to_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("export.jsonl");
    // Small channels whose messages shrink a lot: each holds a big user
    // object and read-only aggregates.
    let padding = "x".repeat(600);
    let mut text = String::new();
    for c in 0..60 {
        text += &format!(
            r#"{{"type":"channel","item":{{"cid":"messaging:c{c}","type":"messaging","id":"c{c}","created_by":{{"id":"u{c}"}}}}}}"#
        );
        text.push('\n');
        for m in 0..4 {
            text += &format!(
                r#"{{"type":"message","item":{{"id":"c{c}-m{m}","cid":"messaging:c{c}","text":"hi","user":{{"id":"u{c}","bio":"{padding}"}},"latest_reactions":[],"reaction_counts":{{}},"own_reactions":[],"created_at":"2024-02-01T00:00:00Z"}}}}"#
            );
            text.push('\n');
        }
    }
    std::fs::write(&input, &text).unwrap();
    let max = 8_000;
    let out = dir.path().join("import");
    let summary = convert(std::slice::from_ref(&input), &out, Some(max));
    let sizes: Vec<u64> = summary.parts.iter().map(|(_, n)| *n).collect();
    let total: u64 = sizes.iter().sum();
    for (path, size) in &summary.parts {
        assert_eq!(std::fs::metadata(path).unwrap().len(), *size, "{path:?}");
        assert!(*size <= max, "{sizes:?}");
        assert_eq!(problems(path), Vec::<String>::new(), "{path:?}");
    }
    // Every part but the last is at least three quarters full (a part
    // ends one bin short of the limit at most, and a bin is under a
    // quarter of it), so there are no more parts than that allows.
    for size in &sizes[..sizes.len() - 1] {
        assert!(*size > max * 3 / 4 - 1_000, "{sizes:?}");
    }
    assert!(
        sizes.len() as u64 <= total / (max * 3 / 4 - 1_000) + 1,
        "{sizes:?}"
    );
    let mut all = Messages::new();
    for (part, _) in &summary.parts {
        all.extend(messages(part));
    }
    assert_eq!(all, messages(&input));

    // Channels interleaved line by line (each bin's items spilled in runs
    // among the others'): every message still lands once, in a valid part.
    let lines: Vec<&str> = text.lines().collect();
    let (channels, items): (Vec<&str>, Vec<&str>) = lines
        .iter()
        .partition(|l| l.contains(r#""type":"channel""#));
    let mut mixed = channels.join("\n") + "\n";
    for m in 0..4 {
        for c in 0..60 {
            mixed += items[c * 4 + m];
            mixed.push('\n');
        }
    }
    let input = dir.path().join("mixed.jsonl");
    std::fs::write(&input, mixed).unwrap();
    let out = dir.path().join("mixed-import");
    let summary = convert(std::slice::from_ref(&input), &out, Some(max));
    assert!(summary.parts.len() > 2, "{:?}", summary.parts);
    let mut all = Messages::new();
    for (part, size) in &summary.parts {
        assert!(*size <= max);
        assert_eq!(problems(part), Vec::<String>::new(), "{part:?}");
        for (id, m) in messages(part) {
            assert!(all.insert(id.clone(), m).is_none(), "{id} in two parts");
        }
    }
    assert_eq!(all, messages(&input));
}

#[test]
fn hostile_text_survives_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = "quote \" backslash \\ newline \n tab \t <script>alert('x')</script> nul \u{0} rtl \u{202e}\u{200f}\u{61c} end }\"]}";
    let text = serde_json::to_string(hostile).unwrap();
    let line = format!(
        concat!(
            r#"{{"type":"channel","item":{{"cid":"messaging:h","type":"messaging","id":"h","created_by":{{"id":"ann","name":{t}}},"name":{t}}}}}"#,
            "\n",
            r#"{{"type":"member","item":{{"user_id":"ann","cid":"messaging:h"}}}}"#,
            "\n",
            r#"{{"type":"message","item":{{"id":"m1","cid":"messaging:h","text":{t},"html":"\u003cp\u003e","user":{{"id":"ann"}},"created_at":"2024-01-01T00:00:00Z","custom \"key\"\n":{t}}}}}"#,
            "\n",
        ),
        t = text
    );
    let input = dir.path().join("hostile.jsonl");
    std::fs::write(&input, line).unwrap();
    let out = dir.path().join("out.jsonl");
    convert(std::slice::from_ref(&input), &out, None);
    assert_eq!(problems(&out), Vec::<String>::new());
    let written = std::fs::read_to_string(&out).unwrap();
    // One item per line: no raw newline inside a value.
    assert_eq!(written.lines().count(), 4, "{written}");
    let mut seen = 0;
    for l in written.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let data = &v["data"];
        match v["type"].as_str().unwrap() {
            "message" => {
                assert_eq!(data["text"], hostile);
                assert_eq!(data["html"], "<p>");
                assert_eq!(data["custom \"key\"\n"], hostile);
                seen += 1;
            }
            "channel" => {
                assert_eq!(data["name"], hostile);
                seen += 1;
            }
            "user" => {
                assert_eq!(data["name"], hostile);
                seen += 1;
            }
            _ => {}
        }
    }
    assert_eq!(seen, 3);
    assert_eq!(messages(&out)["m1"].3.as_deref(), Some(hostile));
}

#[test]
fn a_filtered_conversion_brings_what_it_references() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("export.jsonl");
    std::fs::write(&input, export(3, 6)).unwrap();
    let out = dir.path().join("u1.jsonl");
    let engine = Engine::new(&Parallel::new()).unwrap();
    let mut filter = Filter::new();
    filter.user("u1").kind("message");
    let summary = run(
        &ImportConverter::new(filter),
        &engine,
        std::slice::from_ref(&input),
        &out,
    );
    assert_eq!(problems(&out), Vec::<String>::new());
    let got = messages(&out);
    let want: Messages = messages(&input)
        .into_iter()
        .filter(|(_, m)| m.0.as_deref() == Some("u1"))
        .collect();
    assert_eq!(got, want);
    // The distinct channel came with both its members; the others' only
    // channels, no members (`!members-def`, created by u1, has the same
    // members as `!members-abc`: it is written by its id, as a channel
    // whose members are not brought along).
    assert_eq!(summary.written["member"], 2, "{summary:?}");
    assert_eq!(
        summary.adjusted["members of distinct channels brought along"],
        2
    );
    assert_eq!(summary.written.get("reaction").copied().unwrap_or(0), 0);
}

#[test]
fn user_settings_are_cut_to_what_the_schema_allows() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("users.jsonl");
    std::fs::write(
        &input,
        concat!(
            r#"{"type":"user","item":{"id":"ann","online":true,"push_preferences":{"chat_level":"all","call_level":"all","disabled_until":null},"privacy_settings":{"typing_indicators":{"enabled":true,"since":1},"read_receipts":{"enabled":false}},"custom":{"a":[1,2.50,1.0e5,12345678901234567890123]}}}"#,
            "\n",
            r#"{"type":"user","item":{"id":"bob","push_preferences":{"call_level":"none"}}}"#,
            "\n"
        ),
    )
    .unwrap();
    let out = dir.path().join("out.jsonl");
    convert(std::slice::from_ref(&input), &out, None);
    assert_eq!(problems(&out), Vec::<String>::new());
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // Numbers keep their digits (values are copied, never re-encoded).
    assert_eq!(
        lines[0],
        r#"{"type":"user","data":{"id":"ann","custom":{"a":[1,2.50,1.0e5,12345678901234567890123]},"push_preferences":{"chat_level":"all"},"privacy_settings":{"read_receipts":{"enabled":false},"typing_indicators":{"enabled":true}}}}"#
    );
    assert_eq!(lines[1], r#"{"type":"user","data":{"id":"bob"}}"#);
}

#[test]
fn member_items_take_either_spelling_and_both_validate() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("export.jsonl");
    std::fs::write(&input, export(3, 4)).unwrap();
    let engine = Engine::new(Parallel::new().threads(2).chunk_size(64)).unwrap();
    let mut by_item = Vec::new();
    for item in [MemberItem::Member, MemberItem::ChannelMember] {
        let out = dir.path().join(format!("{}.jsonl", item.type_name()));
        let mut converter = ImportConverter::new(Filter::new());
        converter.member_item(item);
        let summary = run(&converter, &engine, std::slice::from_ref(&input), &out);
        assert!(summary.written["member"] > 0);
        assert_eq!(problems(&out), Vec::<String>::new(), "{item:?}");
        let text = std::fs::read_to_string(&out).unwrap();
        let types: Vec<String> = text
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["type"].as_str().unwrap().to_string()
            })
            .collect();
        let members = types.iter().filter(|t| *t == item.type_name()).count() as u64;
        assert_eq!(members, summary.written["member"], "{item:?}");
        by_item.push(text);
    }
    // Nothing else differs.
    assert_eq!(
        by_item[0],
        by_item[1].replace(r#"{"type":"channel_member","#, r#"{"type":"member","#)
    );
}
