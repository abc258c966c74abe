//! `export channels|users|wait` against a fake Stream API on 127.0.0.1
//! (`tests/fake_stream` of the library, written from Stream's docs): the
//! requests it sends, the files and the manifest it leaves, its exit codes
//! and messages.

#[path = "../../tests/fake_stream/mod.rs"]
mod fake_stream;

use fake_stream::{Config, FakeStream, KEY, SECRET};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

/// Runs the tool with the fake's URL and credentials (and no proxy).
fn export(fake: &FakeStream, secret: &str, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_stream-chat-export"))
        .arg("export")
        .args(args)
        .env("STREAM_KEY", KEY)
        .env("STREAM_SECRET", secret)
        .env("STREAM_CHAT_URL", &fake.url)
        .output()
        .unwrap();
    // Whatever happened, no credential was printed.
    for stream in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(stream);
        assert!(!text.contains(SECRET) && !text.contains(KEY), "{text}");
        assert!(
            !text.contains("X-Amz-Signature"),
            "a signed URL was shown: {text}"
        );
    }
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn manifest(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    assert!(!text.contains(SECRET) && !text.contains(KEY));
    serde_json::from_str(&text).unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every task of the manifest is completed, its file byte-identical to
/// what the fake served, with the right size and hash.
fn assert_downloaded(fake: &FakeStream, dir: &Path, m: &Value) {
    for t in m["tasks"].as_array().unwrap() {
        let id = t["task_id"].as_str().unwrap();
        assert_eq!(t["status"], "completed", "{t}");
        let served = fake.file_of(id).unwrap();
        let file = dir.join(t["file"].as_str().unwrap());
        assert_eq!(std::fs::read(&file).unwrap(), served, "{}", file.display());
        assert_eq!(t["bytes"], served.len() as u64);
        assert_eq!(t["sha256"], sha256_hex(&served));
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "staging files left: {leftovers:?}");
}

#[test]
fn thirty_channels_become_two_requests_and_two_verified_files() {
    let fake = FakeStream::start(Config::default());
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("cids.txt");
    let mut f = std::fs::File::create(&list).unwrap();
    for i in 2..30 {
        writeln!(f, "messaging:room-{i}").unwrap();
    }
    writeln!(f, "\nmessaging:room-0").unwrap(); // a repeat, and a blank line
    let out_dir = dir.path().join("out");
    let out = export(
        &fake,
        SECRET,
        &[
            "channels",
            "--channel",
            "messaging:room-0",
            "--channel",
            "messaging:room-1",
            "--channels-file",
            list.to_str().unwrap(),
            "--version",
            "v2",
            "--since",
            "2024-01-01",
            "--include-soft-deleted-channels",
            "--poll-interval",
            "5ms",
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let posts = fake.posts();
    assert_eq!(posts.len(), 2);
    let bodies: Vec<Value> = posts.iter().map(|p| p.json()).collect();
    let names = |b: &Value| -> Vec<String> {
        b["channels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                format!(
                    "{}:{}",
                    c["type"].as_str().unwrap(),
                    c["id"].as_str().unwrap()
                )
            })
            .collect()
    };
    let all: Vec<String> = (0..30).map(|i| format!("messaging:room-{i}")).collect();
    assert_eq!(names(&bodies[0]), all[..25]);
    assert_eq!(names(&bodies[1]), all[25..]);
    for b in &bodies {
        assert_eq!(b["version"], "v2");
        assert_eq!(b["include_soft_deleted_channels"], true);
        assert_eq!(b["channels"][0]["messages_since"], "2024-01-01T00:00:00Z");
        assert!(b.get("include_truncated_messages").is_none());
    }
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());

    let m = manifest(&out_dir);
    let tasks = m["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2);
    assert_downloaded(&fake, &out_dir, &m);
    for (t, n) in tasks.iter().zip([25u64, 5]) {
        let id = t["task_id"].as_str().unwrap();
        assert_eq!(t["kind"], "channels");
        assert_eq!(t["channels"].as_array().unwrap().len() as u64, n);
        assert_eq!(t["file"], format!("{id}.jsonl"));
        assert_eq!(t["format"], "v2");
        assert_eq!(t["errors"], 0);
        assert_eq!(
            t["counts"],
            json!({"channel": n, "message": 2 * n, "reaction": n})
        );
    }
    let err = stderr(&out);
    assert!(err.contains("requested an export of 25 channels"), "{err}");
    assert!(err.contains(": completed"), "{err}");
}

fn gzip_v1(_: usize, request: &Value) -> Vec<u8> {
    let cid = format!(
        "{}:{}",
        request["channels"][0]["type"].as_str().unwrap(),
        request["channels"][0]["id"].as_str().unwrap()
    );
    let doc = json!([{
        "channel": {"cid": cid, "type": "messaging", "id": "x", "created_at": "2024-01-01T00:00:00Z"},
        "members": [{"user_id": "ann", "user": {"id": "ann"}}],
        "messages": [
            {"id": "m1", "text": "hi </script>", "user": {"id": "ann"}, "created_at": "2024-01-02T00:00:00Z"},
            {"id": "m2", "text": "yo", "user": {"id": "bob"}, "created_at": "2024-01-03T00:00:00Z"}
        ]
    }]);
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(doc.to_string().as_bytes()).unwrap();
    enc.finish().unwrap()
}

#[test]
fn a_gzip_v1_export_survives_an_expired_url_a_break_and_a_429() {
    let fake = FakeStream::start(Config {
        file: gzip_v1,
        expire_first_url: true,
        truncate_first_download: Some(30),
        rate_limit_first_poll: Some(1),
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let out = export(
        &fake,
        SECRET,
        &[
            "channels",
            "--channel",
            "messaging:x",
            "--poll-interval",
            "5ms",
            "--out",
            dir.path().to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let m = manifest(dir.path());
    assert_downloaded(&fake, dir.path(), &m);
    let t = &m["tasks"][0];
    assert_eq!(
        t["file"],
        format!("{}.json.gz", t["task_id"].as_str().unwrap())
    );
    assert_eq!(
        (&t["format"], &t["compression"]),
        (&json!("v1"), &json!("gzip"))
    );
    assert_eq!(
        t["counts"],
        json!({"channel": 1, "member": 1, "message": 2})
    );
    let err = stderr(&out);
    assert!(
        err.contains("resumed 1x") && err.contains("URL renewed 1x"),
        "{err}"
    );
    assert_eq!(fake.posts().len(), 1);
}

#[test]
fn a_users_export_comes_down_whole() {
    let fake = FakeStream::start(Config::default());
    let dir = tempfile::tempdir().unwrap();
    let out = export(
        &fake,
        SECRET,
        &[
            "users",
            "--user",
            "ann",
            "--user",
            "bob",
            "--poll-interval",
            "5ms",
            "--out",
            dir.path().to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fake.posts()[0].path, "/export/users");
    assert_eq!(fake.posts()[0].json(), json!({"user_ids": ["ann", "bob"]}));
    let m = manifest(dir.path());
    assert_downloaded(&fake, dir.path(), &m);
    assert_eq!(m["tasks"][0]["kind"], "users");
    assert_eq!(m["tasks"][0]["users"], json!(["ann", "bob"]));
    assert_eq!(m["tasks"][0]["counts"], json!({"message": 2, "user": 2}));
}

#[test]
fn a_failed_task_exits_1_with_the_servers_description() {
    let fake = FakeStream::start(Config {
        fail_with: Some("channel messaging:gone was deleted".into()),
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let out = export(
        &fake,
        SECRET,
        &[
            "channels",
            "--channel",
            "messaging:gone",
            "--poll-interval",
            "5ms",
            "--out",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("channel messaging:gone was deleted"),
        "{}",
        stderr(&out)
    );
    let m = manifest(dir.path());
    assert_eq!(m["tasks"][0]["status"], "failed");
    assert_eq!(m["tasks"][0]["error"], "channel messaging:gone was deleted");
    assert!(m["tasks"][0].get("file").is_none());
}

#[test]
fn a_wrong_secret_fails_at_once_with_an_authentication_error() {
    let fake = FakeStream::start(Config::default());
    let dir = tempfile::tempdir().unwrap();
    let out = export(
        &fake,
        "wrong-secret-value",
        &[
            "channels",
            "--channel",
            "messaging:a",
            "--out",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("authentication failed"), "{err}");
    assert!(!err.contains("wrong-secret-value"), "{err}");
    assert_eq!(fake.requests().len(), 1, "no retry loop");
    assert!(
        !dir.path().join("manifest.json").exists(),
        "no task was created"
    );
}

#[test]
fn missing_credentials_are_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_stream-chat-export"))
        .args(["export", "users", "--user", "a", "--out"])
        .arg(dir.path())
        .env_remove("STREAM_KEY")
        .env_remove("STREAM_SECRET")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("STREAM_KEY is not set"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn export_wait_resumes_without_requesting_again() {
    // Long enough a run that the first command's 1 s deadline passes.
    let fake = FakeStream::start(Config {
        statuses: vec!["running"; 12],
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = export(
        &fake,
        SECRET,
        &[
            "channels",
            "--channel",
            "messaging:slow",
            "--timeout",
            "1s",
            "--poll-interval",
            "10ms",
            "--out",
            d,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("export wait"), "{}", stderr(&out));
    let m = manifest(dir.path());
    let id = m["tasks"][0]["task_id"].as_str().unwrap().to_string();
    assert_eq!(m["tasks"][0]["status"], "running");

    let out = export(
        &fake,
        SECRET,
        &["wait", &id, "--poll-interval", "10ms", "--out", d],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fake.posts().len(), 1, "no new export");
    assert_downloaded(&fake, dir.path(), &manifest(dir.path()));

    // Done in the manifest: not fetched again, with or without the id.
    let before = fake.requests().len();
    for args in [
        vec!["wait", id.as_str(), "--out", d],
        vec!["wait", "--out", d],
    ] {
        let out = export(&fake, SECRET, &args);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("already downloaded"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(fake.requests().len(), before);
}

#[test]
fn export_wait_on_a_task_the_manifest_has_not_seen() {
    let fake = FakeStream::start(Config::default());
    // The task is created elsewhere (another machine, an SDK script).
    let client = stream_chat_export::client::Client::new(
        KEY,
        &stream_chat_export::client::Secret::new(SECRET),
        &fake.url,
    )
    .unwrap();
    let id = client.export_users(&["zoe"]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = export(
        &fake,
        SECRET,
        &[
            "wait",
            &id.0,
            "--poll-interval",
            "5ms",
            "--out",
            dir.path().to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let m = manifest(dir.path());
    assert_downloaded(&fake, dir.path(), &m);
    assert_eq!(m["tasks"][0]["kind"], "users", "from the file's URL");
    assert_eq!(fake.posts().len(), 1);
}

#[test]
fn bad_arguments_are_refused_before_any_request() {
    let fake = FakeStream::start(Config::default());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    for args in [
        vec!["channels", "--out", d],
        vec!["channels", "--channel", "nocolon", "--out", d],
        vec![
            "channels",
            "--channel",
            "a:b",
            "--version",
            "v3",
            "--out",
            d,
        ],
        vec![
            "channels",
            "--channel",
            "a:b",
            "--batch-size",
            "0",
            "--out",
            d,
        ],
        vec![
            "channels",
            "--channel",
            "a:b",
            "--since",
            "2024-02-01",
            "--until",
            "2024-01-01",
            "--out",
            d,
        ],
        vec!["users", "--out", d],
        vec!["wait", "--out", d],
    ] {
        let out = export(&fake, SECRET, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    assert!(fake.requests().is_empty());
}
