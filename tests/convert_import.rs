//! `ImportConverter` on every fixture: the output passes the import
//! validator (current rules), and reading it back gives the same messages
//! (ids, users, channels, timestamps, text).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use stream_chat_export::{
    ConvertSummary, Engine, Filter, ImportConverter, ImportOptions, Input, Kind, MmapChoice,
    Parallel, ReaderBuilder, validate_import,
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
    converter
        .run(
            &engine,
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
                // file, and by its `!members-` id in an export: compared
                // apart (`distinct_channels_keep_their_members`).
                let distinct = e.get("channel_member_ids").is_some()
                    || e.cid().is_some_and(|c| c.contains(":!members"));
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
