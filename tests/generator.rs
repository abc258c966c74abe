//! The benchmark generator's output is read correctly by the crate: every
//! format, envelope and shape, plain and gzip, counts equal to the
//! generator's own tally, no errors, and the user and time filters agree
//! with it too.

#[allow(dead_code)]
#[path = "../examples/generate.rs"]
mod generate;

use std::collections::BTreeMap;
use stream_chat_export::{
    Engine, Filter, FilterJob, Format, Out, Parallel, ReaderBuilder, summarize,
};

fn check(v1: bool, envelope: &str, shape: &str, gzip: bool) {
    check_profile("default", v1, envelope, shape, gzip);
}

/// Generates a file with `profile` and checks the crate against the
/// generator's counts; returns the file's (decompressed) bytes.
fn check_profile(profile: &str, v1: bool, envelope: &str, shape: &str, gzip: bool) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(if gzip { "export.gz" } else { "export" });
    let stats_path = dir.path().join("stats.json");
    let (out_s, stats_s) = (out.to_str().unwrap(), stats_path.to_str().unwrap());
    generate::generate_file_profile(
        out_s,
        600 << 10,
        v1,
        envelope,
        shape,
        gzip,
        7,
        Some(stats_s),
        profile,
    )
    .unwrap();
    let stats: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&stats_path).unwrap()).unwrap();
    let want: BTreeMap<String, u64> = stats["counts"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .filter(|(_, n)| *n > 0)
        .collect();
    let what = format!("profile={profile} v1={v1} envelope={envelope} shape={shape} gzip={gzip}");
    let inspection = summarize(ReaderBuilder::new().from_path(&out).unwrap()).unwrap();
    assert_eq!(inspection.summary.counts, want, "{what}");
    assert_eq!(
        inspection.report.errors, 0,
        "{what}: {:?}",
        inspection.report.first_errors
    );
    let expected_format = match (v1, envelope) {
        (true, _) => Format::V1,
        (false, "data") => Format::V2, // export-shaped: entities carry cids
        _ => Format::V2,
    };
    assert_eq!(inspection.format, expected_format, "{what}");

    // The tracked user's records and the March 2024 window, as the
    // generator counted them.
    let bytes = {
        let raw = std::fs::read(&out).unwrap();
        if gzip {
            use std::io::Read;
            let mut plain = Vec::new();
            flate2::read::MultiGzDecoder::new(&raw[..])
                .read_to_end(&mut plain)
                .unwrap();
            plain
        } else {
            raw
        }
    };
    let count = |filter: &Filter| {
        let mut n: BTreeMap<String, u64> = BTreeMap::new();
        let engine = Engine::new(Parallel::new().threads(2).chunk_size(4096)).unwrap();
        let job = FilterJob::new(filter.clone());
        engine
            .run(&job)
            .builder(&ReaderBuilder::new())
            .slice(&bytes, |out| {
                if let Out::Entity(e) = out {
                    *n.entry(e.type_name().to_string()).or_default() += 1;
                }
                Ok(())
            })
            .unwrap();
        n
    };
    let tally = |key: &str| -> BTreeMap<String, u64> {
        stats[key]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
            .filter(|(_, n)| *n > 0)
            .collect()
    };
    let mut user = Filter::new();
    user.user("user-17");
    assert_eq!(count(&user), tally("track_user_counts"), "{what}: user-17");
    let mut window = Filter::new();
    window
        .since("2024-03-01T00:00:00Z")
        .unwrap()
        .until("2024-04-01T00:00:00Z")
        .unwrap();
    assert_eq!(count(&window), tally_window(&stats), "{what}: window");
    bytes
}

fn tally_window(stats: &serde_json::Value) -> BTreeMap<String, u64> {
    stats["window"]["counts"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .filter(|(_, n)| *n > 0)
        .collect()
}

#[test]
fn v2_every_envelope() {
    for envelope in ["item", "data", "bare"] {
        check(false, envelope, "array", false);
    }
}

#[test]
fn v1_every_shape() {
    for shape in ["object", "array", "wrapper", "sequence"] {
        check(true, "item", shape, false);
    }
}

#[test]
fn gzip_both_formats() {
    check(false, "item", "array", true);
    check(true, "item", "array", true);
}

/// Stream's shape: its key order, a Go-escaped `html` on every message,
/// full user objects in `mentioned_users` and `pinned_by`; as v2 lines
/// (every envelope), as a v1 document, and gzipped.
#[test]
fn stream_profile() {
    for envelope in ["item", "bare"] {
        let bytes = check_profile("stream", false, envelope, "array", false);
        let text = std::str::from_utf8(&bytes).unwrap();
        let mut messages = 0;
        for line in text.lines() {
            if !line.contains(r#""reply_count""#) {
                continue;
            }
            messages += 1;
            // `html` right after `text`, Go-escaped, never raw `<`.
            assert!(
                line.contains(r#"","html":"\u003cp\u003e"#),
                "{envelope}: {line}"
            );
            assert!(!line.contains('<'), "{envelope}: {line}");
            let o = line.find(r#""own_reactions""#).unwrap();
            let rc = line.find(r#""reaction_counts""#).unwrap();
            let sh = line.find(r#""shadowed""#).unwrap();
            let mu = line.find(r#""mentioned_users""#).unwrap();
            let si = line.find(r#""silent""#).unwrap();
            assert!(
                o < rc && sh < mu && mu < si,
                "{envelope}: key order: {line}"
            );
        }
        assert!(messages > 100, "{envelope}: {messages} messages");
        assert!(
            text.contains(r#""pinned":true"#) && text.contains(r#""pinned_by":{"id":"user-"#),
            "{envelope}: no pinned message with a full user"
        );
        assert!(text.contains(r#""mentioned_users":[{"id":"user-"#));
    }
    check_profile("stream", true, "item", "array", false);
    check_profile("stream", true, "item", "object", true);
    check_profile("stream", false, "item", "array", true);
}

/// Many short reaction and read lines.
#[test]
fn reactions_profile() {
    for envelope in ["item", "bare"] {
        let bytes = check_profile("reactions", false, envelope, "array", false);
        let text = std::str::from_utf8(&bytes).unwrap();
        let lines = text.lines().count();
        let reactions = text
            .lines()
            .filter(|l| l.contains(r#""message_id""#) && !l.contains(r#""reply_count""#))
            .count();
        assert!(
            reactions * 100 > lines * 55,
            "{envelope}: {reactions} reaction lines of {lines}"
        );
        assert!(
            bytes.len() / lines < 700,
            "{envelope}: {} bytes per line",
            bytes.len() / lines
        );
    }
    check_profile("reactions", false, "data", "array", true);
    check_profile("reactions", true, "item", "wrapper", false);
}
