//! Stream's export API (feature `client`): request channel and user
//! exports, wait for the tasks, download the files.
//!
//! An export is an asynchronous task: a request returns a task id, the
//! task is polled until it completes, and its result holds a signed URL
//! of the file, valid for 24 hours and renewed by every status request.
//! [`Client`] does each step, and gets the details right that hand-written
//! loops tend to get wrong:
//!
//! - a request that creates an export is sent once and never retried
//!   (a retry after a lost answer would start a second export); reads are
//!   retried on 429 and transport errors, after `Retry-After`,
//!   `X-RateLimit-Reset` or a jittered backoff ([`RetryPolicy`]);
//! - polling backs off from 1 s to 15 s under a deadline ([`WaitOptions`]);
//! - a download streams to `DEST.part`, resumes with an HTTP range after a
//!   break, fetches a fresh URL when the old one has expired (403, 404),
//!   hashes the bytes as they arrive, and is renamed to `DEST` only when
//!   whole. The download URL gets no credentials.
//!
//! Credentials never appear in errors or `Debug` output; URLs are shown
//! without their query.
//!
//! ```no_run
//! use stream_chat_export::client::{ChannelSpec, Client, ExportChannels, WaitOptions};
//!
//! let client = Client::from_env()?; // STREAM_KEY, STREAM_SECRET, STREAM_CHAT_URL
//! let request = ExportChannels::new(vec![ChannelSpec::from_cid("messaging:general").unwrap()]);
//! let task = client.export_channels(&request)?;
//! let done = client.wait(&task, &WaitOptions::default(), &mut |t| eprintln!("{}", t.status.as_str()))?;
//! let file = client.download(&done, "export.json".as_ref(), &mut |_, _| {})?;
//! println!("{} bytes, sha256 {}", file.bytes, file.sha256);
//! # Ok::<(), stream_chat_export::client::Error>(())
//! ```

mod auth;
mod download;
mod error;
mod http;
mod retry;
mod types;
mod wait;

pub use auth::{Secret, server_token};
pub use error::{ApiError, Error, Result};
pub use retry::RetryPolicy;
pub use types::{
    ChannelSpec, Completed, Downloaded, ExportChannels, ExportVersion, MAX_CHANNELS_PER_REQUEST,
    MAX_USERS_PER_REQUEST, Task, TaskError, TaskId, TaskStatus,
};
pub use wait::WaitOptions;

use serde_json::Value;
use std::fmt;
use std::time::Duration;

/// Stream's API, unless `STREAM_CHAT_URL` says otherwise.
pub const DEFAULT_BASE_URL: &str = "https://chat.stream-io-api.com";

/// The `X-Stream-Client` header: which client made a request.
const CLIENT_NAME: &str = concat!("stream-chat-export-", env!("CARGO_PKG_VERSION"));

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// A client of Stream's export API, authenticated as the app's server.
pub struct Client {
    agent: ureq::Agent,
    key: String,
    token: String,
    base_url: String,
    retry: RetryPolicy,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the app with this API key and secret, at `base_url`
    /// (`https://`; plain `http://` only to a loopback address, since the
    /// token never expires and must not cross a network in the clear).
    pub fn new(key: &str, secret: &Secret, base_url: &str) -> Result<Client> {
        if key.trim().is_empty() {
            return Err(Error::Config("the API key is empty".into()));
        }
        let base_url = check_base_url(base_url)?;
        let mut config = ureq::Agent::config_builder();
        if is_loopback(
            base_url
                .split("://")
                .nth(1)
                .unwrap_or("")
                .split('/')
                .next()
                .unwrap_or(""),
        ) {
            // A proxy from the environment (HTTP_PROXY, ...) cannot reach
            // this machine's loopback interface: an API served here (a
            // local gateway, a test double) is reached directly.
            config = config.proxy(None);
        }
        let agent = config
            // Every status is a response to read, not an error: the body
            // of an error response says what went wrong.
            .http_status_as_error(false)
            .user_agent(CLIENT_NAME)
            .timeout_connect(Some(Duration::from_secs(30)))
            // A stalled connection is a transport error (and a download
            // resumes), not a hang.
            .timeout_per_read(Some(Duration::from_secs(120)))
            .build()
            .into();
        Ok(Client {
            agent,
            key: key.to_string(),
            token: server_token(secret),
            base_url,
            retry: RetryPolicy::default(),
        })
    }

    /// A client from the environment: `STREAM_KEY`, `STREAM_SECRET`, and
    /// `STREAM_CHAT_URL` (default [`DEFAULT_BASE_URL`]).
    pub fn from_env() -> Result<Client> {
        let var = |name: &str| match std::env::var(name) {
            Ok(v) if !v.trim().is_empty() => Ok(v),
            Ok(_) | Err(std::env::VarError::NotPresent) => Err(Error::Config(format!(
                "{name} is not set (the app's API key and secret come from STREAM_KEY and STREAM_SECRET)"
            ))),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(Error::Config(format!("{name} is not valid UTF-8")))
            }
        };
        let key = var("STREAM_KEY")?;
        let secret = Secret::new(var("STREAM_SECRET")?);
        let base = std::env::var("STREAM_CHAT_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
        Client::new(key.trim(), &secret, base.trim())
    }

    /// Replaces the retry policy for reads.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Client {
        self.retry = retry;
        self
    }

    /// The API's base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Requests an export of up to [`MAX_CHANNELS_PER_REQUEST`] channels
    /// (split longer lists into several requests). Sent once, never
    /// retried.
    pub fn export_channels(&self, request: &ExportChannels) -> Result<TaskId> {
        if request.channels.is_empty() {
            return Err(Error::Config("an export needs at least one channel".into()));
        }
        let body = serde_json::to_vec(&request.body()).expect("a JSON value serializes");
        let answer = self.call(Method::Post, "/export_channels", Some(&body), None)?;
        task_id(&answer, "POST /export_channels")
    }

    /// Requests an export of up to [`MAX_USERS_PER_REQUEST`] users' data.
    /// Sent once, never retried.
    pub fn export_users<S: AsRef<str>>(&self, user_ids: &[S]) -> Result<TaskId> {
        if user_ids.is_empty() || user_ids.len() > MAX_USERS_PER_REQUEST {
            return Err(Error::Config(format!(
                "a user export takes 1 to {MAX_USERS_PER_REQUEST} users, not {}",
                user_ids.len()
            )));
        }
        let ids: Vec<&str> = user_ids.iter().map(AsRef::as_ref).collect();
        let body = serde_json::to_vec(&serde_json::json!({ "user_ids": ids }))
            .expect("a JSON value serializes");
        let answer = self.call(Method::Post, "/export/users", Some(&body), None)?;
        task_id(&answer, "POST /export/users")
    }

    /// The task's current state (retried as a read).
    pub fn task(&self, id: &TaskId) -> Result<Task> {
        self.task_before(id, None)
    }

    fn task_before(&self, id: &TaskId, deadline: Option<std::time::Instant>) -> Result<Task> {
        let path = format!("/tasks/{}", path_segment(&id.0));
        let answer = self.call(Method::Get, &path, None, deadline)?;
        Task::from_json(id, &answer).map_err(|m| Error::Protocol(format!("GET {path}: {m}")))
    }
}

/// The task id of an export request's answer.
fn task_id(answer: &Value, what: &str) -> Result<TaskId> {
    answer
        .get("task_id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .map(TaskId::from)
        .ok_or_else(|| Error::Protocol(format!("{what}: the answer has no task_id")))
}

/// The base URL without its trailing slash, if it is one this client may
/// send credentials to.
fn check_base_url(url: &str) -> Result<String> {
    let bad = |why: &str| Error::Config(format!("the API URL `{}` {why}", shown_url(url)));
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("is not an http(s) URL"))?;
    let host_port = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host_port.is_empty() {
        return Err(bad("has no host"));
    }
    if url.contains(['?', '#']) {
        return Err(bad("must not have a query or fragment"));
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => {}
        "http" if is_loopback(host_port) => {}
        "http" => {
            return Err(bad(
                "is plain http to a host that is not this machine: the token would cross the network in the clear (use https)",
            ));
        }
        _ => return Err(bad("is not an http(s) URL")),
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// True for `localhost`, `127.x.x.x` and `[::1]`, with or without a port.
fn is_loopback(host_port: &str) -> bool {
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host_port.rsplit_once(':').map_or(host_port, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A URL as errors and logs show it: no query (the API key, a download's
/// signature) and no user info.
pub(crate) fn shown_url(url: &str) -> String {
    let no_query = url.split(['?', '#']).next().unwrap_or("");
    match no_query.split_once("://") {
        Some((scheme, rest)) => {
            let rest = match rest.find('/') {
                Some(slash) => {
                    let (authority, path) = rest.split_at(slash);
                    let host = authority.rsplit('@').next().unwrap_or(authority);
                    format!("{host}{path}")
                }
                None => rest.rsplit('@').next().unwrap_or(rest).to_string(),
            };
            format!("{scheme}://{rest}")
        }
        None => no_query.to_string(),
    }
}

/// An error text from below (the HTTP client, the OS) made safe to show:
/// every URL in it loses its query, and the API key, should it appear,
/// is masked.
pub(crate) fn scrub(text: &str, key: &str) -> String {
    let shown: Vec<String> = text
        .split(' ')
        .map(|word| {
            if word.contains("://") {
                shown_url(word)
            } else {
                word.to_string()
            }
        })
        .collect();
    let joined = shown.join(" ");
    if key.is_empty() {
        joined
    } else {
        joined.replace(key, "<api key>")
    }
}

/// A task id as one URL path segment: letters, digits, `-`, `_` and `~`
/// kept, the rest percent-encoded (dots too: `..` must not climb), so an
/// id cannot change the path.
fn path_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            check_base_url("https://chat.stream-io-api.com/").unwrap(),
            "https://chat.stream-io-api.com"
        );
        assert!(check_base_url("http://127.0.0.1:8080").is_ok());
        assert!(check_base_url("http://localhost:1/prefix/").is_ok());
        assert!(check_base_url("http://[::1]:9").is_ok());
        assert!(check_base_url("http://example.com").is_err());
        assert!(check_base_url("ftp://example.com").is_err());
        assert!(check_base_url("chat.stream-io-api.com").is_err());
        assert!(check_base_url("https://x.com/?api_key=k").is_err());
    }

    #[test]
    fn shown_urls_drop_queries_and_user_info() {
        assert_eq!(
            shown_url("https://u:p@s3.example/a/b.json?X-Amz-Signature=s"),
            "https://s3.example/a/b.json"
        );
        assert_eq!(shown_url("http://h:1/x?api_key=k"), "http://h:1/x");
    }

    #[test]
    fn scrubbed_texts_hold_no_query_or_key() {
        assert_eq!(
            scrub("bad uri http://h/x?api_key=K1&s=2: oops K1", "K1"),
            "bad uri http://h/x oops <api key>"
        );
    }

    #[test]
    fn task_ids_cannot_change_the_path() {
        assert_eq!(path_segment("a1-b_2"), "a1-b_2");
        assert_eq!(path_segment("../x?y"), "%2E%2E%2Fx%3Fy");
    }

    #[test]
    fn debug_shows_no_credentials() {
        let c = Client::new("the-key", &Secret::new("the-secret"), "http://127.0.0.1:1").unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("the-key") && !shown.contains("the-secret"));
        assert!(!shown.contains(&c.token));
    }
}
