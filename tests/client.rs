//! The export client against a fake Stream API on 127.0.0.1 (see
//! `fake_stream/`): requests, auth, polling, retries, downloads.
#![cfg(feature = "client")]

mod fake_stream;

use fake_stream::{Config, FakeStream, KEY, SECRET};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};
use stream_chat_export::client::{
    ChannelSpec, Client, Error, ExportChannels, ExportVersion, RetryPolicy, Secret, TaskId,
    WaitOptions,
};

fn client(fake: &FakeStream) -> Client {
    let mut retry = RetryPolicy::default();
    retry.base_delay = Duration::from_millis(5);
    Client::new(KEY, &Secret::new(SECRET), &fake.url)
        .unwrap()
        .with_retry(retry)
}

fn quick() -> WaitOptions {
    let mut w = WaitOptions::default();
    w.first_interval = Duration::from_millis(5);
    w.max_interval = Duration::from_millis(20);
    w.timeout = Some(Duration::from_secs(30));
    w
}

fn channels(n: usize) -> Vec<ChannelSpec> {
    (0..n)
        .map(|i| ChannelSpec::from_cid(&format!("messaging:c{i}")).unwrap())
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Runs one export through to a downloaded file; returns the task, the
/// file's bytes and what the client said about them.
fn export_and_download(
    fake: &FakeStream,
    dir: &std::path::Path,
) -> (TaskId, Vec<u8>, stream_chat_export::client::Downloaded) {
    let c = client(fake);
    let mut request = ExportChannels::new(channels(3));
    request.version = Some(ExportVersion::V2);
    let task = c.export_channels(&request).unwrap();
    let done = c.wait(&task, &quick(), &mut |_| {}).unwrap();
    let dest = dir.join("out.jsonl");
    let got = c.download(&done, &dest, &mut |_, _| {}).unwrap();
    let bytes = std::fs::read(&dest).unwrap();
    assert!(
        !dir.join("out.jsonl.part").exists(),
        "the part file is gone"
    );
    (task, bytes, got)
}

#[test]
fn an_export_is_requested_polled_and_downloaded_whole() {
    let fake = FakeStream::start(Config::default());
    let dir = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    let c = client(&fake);
    let mut request = ExportChannels::new(channels(2));
    request.version = Some(ExportVersion::V2);
    request.include_truncated_messages = true;
    request.channels[0].messages_since =
        stream_chat_export::Timestamp::parse("2024-01-01T00:00:00Z");
    let task = c.export_channels(&request).unwrap();
    let done = c
        .wait(&task, &quick(), &mut |t| {
            seen.push(t.status.as_str().to_string())
        })
        .unwrap();
    assert_eq!(seen, ["waiting", "pending", "running", "completed"]);
    let dest = dir.path().join("f.jsonl");
    let mut progress = Vec::new();
    let got = c
        .download(&done, &dest, &mut |n, total| progress.push((n, total)))
        .unwrap();
    let served = fake.file_of(&task.0).unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), served);
    assert_eq!(got.bytes, served.len() as u64);
    assert_eq!(got.sha256, sha256_hex(&served));
    assert_eq!((got.resumed, got.refreshed), (0, 0));
    assert_eq!(
        progress.last(),
        Some(&(served.len() as u64, Some(served.len() as u64)))
    );

    let posts = fake.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].path, "/export_channels");
    assert_eq!(
        posts[0].json(),
        serde_json::json!({
            "channels": [
                {"type": "messaging", "id": "c0", "messages_since": "2024-01-01T00:00:00Z"},
                {"type": "messaging", "id": "c1"}
            ],
            "version": "v2",
            "include_truncated_messages": true
        })
    );
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    // The token is the raw JWT, with no `iat` (checked by the fake).
    assert!(!posts[0].headers["authorization"].starts_with("Bearer"));
}

#[test]
fn a_rate_limited_poll_waits_as_told_and_goes_on() {
    let fake = FakeStream::start(Config {
        rate_limit_first_poll: Some(1),
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (task, bytes, _) = export_and_download(&fake, dir.path());
    assert_eq!(bytes, fake.file_of(&task.0).unwrap());
    // Retry-After: 1 was honoured (the fake's own backoff is 5 ms).
    assert!(started.elapsed() >= Duration::from_millis(950));
    let polls = fake
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/tasks/"))
        .count();
    assert_eq!(polls, 1 + 3 + 1, "one 429, three running, one completed");
}

#[test]
fn an_expired_url_is_replaced_by_a_fresh_one() {
    let fake = FakeStream::start(Config {
        expire_first_url: true,
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let (task, bytes, got) = export_and_download(&fake, dir.path());
    assert_eq!(bytes, fake.file_of(&task.0).unwrap());
    assert_eq!(got.refreshed, 1);
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

#[test]
fn a_broken_download_resumes_with_a_range() {
    let fake = FakeStream::start(Config {
        truncate_first_download: Some(100),
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let (task, bytes, got) = export_and_download(&fake, dir.path());
    let served = fake.file_of(&task.0).unwrap();
    assert_eq!(bytes, served);
    assert_eq!(got.sha256, sha256_hex(&served));
    assert_eq!(got.resumed, 1);
    let ranges: Vec<String> = fake
        .requests()
        .iter()
        .filter_map(|r| r.headers.get("range").cloned())
        .collect();
    assert_eq!(ranges, ["bytes=100-"]);
}

#[test]
fn a_server_that_ignores_ranges_gets_the_file_again_from_the_start() {
    let fake = FakeStream::start(Config {
        truncate_first_download: Some(57),
        ignore_ranges: true,
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let (task, bytes, got) = export_and_download(&fake, dir.path());
    assert_eq!(bytes, fake.file_of(&task.0).unwrap());
    assert_eq!(got.sha256, sha256_hex(&bytes));
}

#[test]
fn a_part_file_left_by_an_earlier_run_is_resumed() {
    let fake = FakeStream::start(Config::default());
    let dir = tempfile::tempdir().unwrap();
    let c = client(&fake);
    let task = c
        .export_channels(&ExportChannels::new(channels(1)))
        .unwrap();
    let done = c.wait(&task, &quick(), &mut |_| {}).unwrap();
    let served = fake.file_of(&task.0).unwrap();
    let dest = dir.path().join("x.jsonl");
    std::fs::write(dir.path().join("x.jsonl.part"), &served[..40]).unwrap();
    let got = c.download(&done, &dest, &mut |_, _| {}).unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), served);
    assert_eq!(
        got.sha256,
        sha256_hex(&served),
        "the hash covers the old part too"
    );
    assert_eq!(got.resumed, 1);
    // A part that is already whole is finished by a 416 for the rest.
    std::fs::write(dir.path().join("y.jsonl.part"), &served).unwrap();
    let got = c
        .download(&done, &dir.path().join("y.jsonl"), &mut |_, _| {})
        .unwrap();
    assert_eq!(got.bytes, served.len() as u64);
    assert_eq!(std::fs::read(dir.path().join("y.jsonl")).unwrap(), served);
}

#[test]
fn a_failed_task_reports_its_description() {
    let fake = FakeStream::start(Config {
        fail_with: Some("channel messaging:c0 does not exist".into()),
        ..Config::default()
    });
    let c = client(&fake);
    let task = c
        .export_channels(&ExportChannels::new(channels(1)))
        .unwrap();
    match c.wait(&task, &quick(), &mut |_| {}) {
        Err(Error::TaskFailed { description, .. }) => {
            assert_eq!(description, "channel messaging:c0 does not exist")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_wrong_secret_is_an_authentication_error_at_once() {
    let fake = FakeStream::start(Config::default());
    let c = Client::new(KEY, &Secret::new("not-the-secret"), &fake.url).unwrap();
    let e = c
        .export_channels(&ExportChannels::new(channels(1)))
        .unwrap_err();
    assert!(matches!(e, Error::Auth(_)), "{e:?}");
    assert!(e.is_fatal());
    let text = e.to_string();
    assert!(text.contains("authentication failed"), "{text}");
    assert!(
        !text.contains("not-the-secret") && !text.contains(KEY),
        "{text}"
    );
    // A read with a bad key is not retried either.
    let e = c.task(&TaskId::from("t")).unwrap_err();
    assert!(matches!(e, Error::Auth(_)), "{e:?}");
    assert_eq!(fake.requests().len(), 2);
}

#[test]
fn a_request_that_creates_an_export_is_never_retried() {
    for (status, body) in [
        (
            500,
            r#"{"code":-1,"message":"internal error","StatusCode":500}"#,
        ),
        (429, "Too Many Requests"),
        (503, "<html>bad gateway</html>"),
    ] {
        let fake = FakeStream::start(Config {
            post_reply: Some((status, body.into())),
            ..Config::default()
        });
        let c = client(&fake);
        let e = c
            .export_channels(&ExportChannels::new(channels(1)))
            .unwrap_err();
        assert_eq!(fake.posts().len(), 1, "HTTP {status}: sent once");
        match (&e, status) {
            (Error::RateLimited { api, .. }, 429) => {
                assert_eq!(api.raw_body.as_deref(), Some("Too Many Requests"))
            }
            (Error::Api(api), 500) => {
                assert_eq!(
                    (api.code, api.message.as_str()),
                    (Some(-1), "internal error")
                )
            }
            (Error::Api(api), 503) => assert_eq!(api.message, "<html>bad gateway</html>"),
            _ => panic!("HTTP {status}: {e:?}"),
        }
        let e = c.export_users(&["u1"]).unwrap_err();
        assert!(!e.to_string().contains(SECRET));
        assert_eq!(fake.posts().len(), 2);
    }
}

#[test]
fn a_lost_answer_is_retried_for_reads_and_never_for_writes() {
    let fake = FakeStream::start(Config {
        hang_up_posts: true,
        ..Config::default()
    });
    // The POST may have reached Stream: it is not sent again.
    let e = client(&fake)
        .export_channels(&ExportChannels::new(channels(1)))
        .unwrap_err();
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
    assert_eq!(fake.posts().len(), 1);

    // A status request that loses its answer is simply asked again.
    let fake = FakeStream::start(Config {
        hang_up_first_poll: true,
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let (task, bytes, _) = export_and_download(&fake, dir.path());
    assert_eq!(bytes, fake.file_of(&task.0).unwrap());
    let polls = fake
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/tasks/"))
        .count();
    assert_eq!(polls, 1 + 3 + 1, "one lost, three running, one completed");
}

#[test]
fn user_exports_take_one_to_25_users() {
    let fake = FakeStream::start(Config::default());
    let dir = tempfile::tempdir().unwrap();
    let c = client(&fake);
    let too_many: Vec<String> = (0..26).map(|i| format!("u{i}")).collect();
    assert!(matches!(c.export_users(&too_many), Err(Error::Config(_))));
    assert!(matches!(c.export_users::<&str>(&[]), Err(Error::Config(_))));
    assert!(fake.requests().is_empty(), "refused before sending");
    let task = c.export_users(&["ann", "bob"]).unwrap();
    let posts = fake.posts();
    assert_eq!(posts[0].path, "/export/users");
    assert_eq!(
        posts[0].json(),
        serde_json::json!({"user_ids": ["ann", "bob"]})
    );
    let done = c.wait(&task, &quick(), &mut |_| {}).unwrap();
    let dest = dir.path().join("users.jsonl");
    c.download(&done, &dest, &mut |_, _| {}).unwrap();
    assert_eq!(
        std::fs::read(&dest).unwrap(),
        fake.file_of(&task.0).unwrap()
    );
}

#[test]
fn waiting_past_the_deadline_is_a_timeout() {
    let fake = FakeStream::start(Config {
        statuses: vec!["running"; 10_000],
        ..Config::default()
    });
    let c = client(&fake);
    let task = c
        .export_channels(&ExportChannels::new(channels(1)))
        .unwrap();
    let mut w = quick();
    w.timeout = Some(Duration::from_millis(200));
    match c.wait(&task, &w, &mut |_| {}) {
        Err(Error::Timeout { status, .. }) => assert_eq!(status, "running"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_unknown_task_is_an_api_error_with_streams_code() {
    let fake = FakeStream::start(Config::default());
    match client(&fake).task(&TaskId::from("nope/../x")) {
        Err(Error::Api(api)) => {
            assert_eq!((api.status, api.code), (404, Some(16)));
        }
        other => panic!("{other:?}"),
    }
    // The id was one path segment, whatever it held.
    assert_eq!(fake.requests()[0].path, "/tasks/nope%2F%2E%2E%2Fx");
}

#[test]
fn plain_http_is_refused_off_this_machine() {
    let e = Client::new(KEY, &Secret::new(SECRET), "http://chat.example.com").unwrap_err();
    assert!(matches!(e, Error::Config(_)));
    assert!(Client::new(KEY, &Secret::new(SECRET), "https://chat.example.com").is_ok());
}
