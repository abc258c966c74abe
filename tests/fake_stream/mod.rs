//! A stand-in for Stream's export API on 127.0.0.1, written from Stream's
//! documentation and independent of the client: it checks every request's
//! credentials itself (its own HS256 verification), runs tasks through
//! the documented statuses, signs download URLs that expire, and can be
//! told to misbehave (429 with `Retry-After`, an expired first URL, a
//! download that breaks off, a failed task, a failing POST). It records
//! every request for the tests to inspect.
//!
//! Shared by the library's and the CLI's tests (`#[path]`), so each test
//! crate uses only part of it.
#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

pub const KEY: &str = "test-key-abc";
pub const SECRET: &str = "test-secret-0123456789";

/// How the fake behaves.
#[derive(Clone)]
pub struct Config {
    pub key: String,
    pub secret: String,
    /// The statuses a task reports, one per status request, before its
    /// final one.
    pub statuses: Vec<&'static str>,
    /// The task ends `failed` with this description instead of completing.
    pub fail_with: Option<String>,
    /// The file served for the task with this index (0, 1, ...) and body.
    pub file: fn(usize, &Value) -> Vec<u8>,
    /// The first download URL of every task answers 403, as an expired
    /// signed URL does.
    pub expire_first_url: bool,
    /// The first download of every task sends only this many bytes of
    /// the body (with the full Content-Length), then closes.
    pub truncate_first_download: Option<usize>,
    /// The first status request of every task answers 429 with this
    /// `Retry-After` (seconds) and a plain-text body.
    pub rate_limit_first_poll: Option<u64>,
    /// Every export request (POST) answers this status and body.
    pub post_reply: Option<(u16, String)>,
    /// Range requests are ignored (the whole file comes with 200).
    pub ignore_ranges: bool,
    /// Every export request (POST) gets the connection closed without an
    /// answer.
    pub hang_up_posts: bool,
    /// The first status request of every task gets the connection closed
    /// without an answer.
    pub hang_up_first_poll: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            key: KEY.into(),
            secret: SECRET.into(),
            statuses: vec!["waiting", "pending", "running"],
            fail_with: None,
            file: default_file,
            expire_first_url: false,
            truncate_first_download: None,
            rate_limit_first_poll: None,
            post_reply: None,
            ignore_ranges: false,
            hang_up_posts: false,
            hang_up_first_poll: false,
        }
    }
}

/// A v2 export of the channels the request names: one channel line and
/// two messages each, reactions on the first.
pub fn default_file(_index: usize, request: &Value) -> Vec<u8> {
    let mut out = String::new();
    let empty = Vec::new();
    let channels = request["channels"].as_array().unwrap_or(&empty);
    for c in channels {
        let cid = format!(
            "{}:{}",
            c["type"].as_str().unwrap_or("?"),
            c["id"].as_str().unwrap_or("?")
        );
        out.push_str(&format!(
            "{}\n",
            json!({"type":"channel","item":{"cid":cid,"type":c["type"],"id":c["id"],"created_at":"2024-01-01T00:00:00Z"}})
        ));
        for m in 0..2 {
            out.push_str(&format!(
                "{}\n",
                json!({"type":"message","item":{"id":format!("{cid}-m{m}"),"cid":cid,"text":"hello \"there\"\n<b>","user":{"id":"ann"},"created_at":format!("2024-01-0{}T10:00:00Z", m + 1)}})
            ));
        }
        out.push_str(&format!(
            "{}\n",
            json!({"type":"reaction","item":{"message_id":format!("{cid}-m0"),"type":"like","user_id":"bob","created_at":"2024-01-03T00:00:00Z"}})
        ));
    }
    for u in request["user_ids"].as_array().unwrap_or(&empty) {
        out.push_str(&format!(
            "{}\n",
            json!({"type":"user","item":{"id":u,"name":"U","created_at":"2023-01-01T00:00:00Z"}})
        ));
        out.push_str(&format!(
            "{}\n",
            json!({"type":"message","item":{"id":format!("{}-m", u.as_str().unwrap_or("?")),"cid":"messaging:x","user":{"id":u},"created_at":"2024-02-01T00:00:00Z"}})
        ));
    }
    out.into_bytes()
}

/// A request as received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    /// Header names lowercased.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

struct Task {
    id: String,
    index: usize,
    request: Value,
    polls: usize,
    /// Signature counter: each status request signs a new URL.
    signed: u64,
    first_signature: Option<u64>,
    downloads: usize,
    hung_up: bool,
}

#[derive(Default)]
struct State {
    requests: Vec<Recorded>,
    tasks: Vec<Task>,
    /// Problems with requests the client should never have sent.
    violations: Vec<String>,
}

pub struct FakeStream {
    pub url: String,
    config: Config,
    state: Arc<Mutex<State>>,
}

impl FakeStream {
    pub fn start(config: Config) -> FakeStream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let (st, cfg, base) = (state.clone(), config.clone(), url.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (st, cfg, base) = (st.clone(), cfg.clone(), base.clone());
                thread::spawn(move || serve(conn, &st, &cfg, &base));
            }
        });
        FakeStream { url, config, state }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn posts(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST")
            .collect()
    }

    pub fn violations(&self) -> Vec<String> {
        self.state.lock().unwrap().violations.clone()
    }

    /// The bytes served for the task with this id.
    pub fn file_of(&self, task_id: &str) -> Option<Vec<u8>> {
        let st = self.state.lock().unwrap();
        let t = st.tasks.iter().find(|t| t.id == task_id)?;
        Some((self.config.file)(t.index, &t.request))
    }

    pub fn task_ids(&self) -> Vec<String> {
        let st = self.state.lock().unwrap();
        st.tasks.iter().map(|t| t.id.clone()).collect()
    }
}

/// Reads one request (headers and a Content-Length body).
fn read_request(conn: &TcpStream) -> Option<Recorded> {
    let mut reader = BufReader::new(conn.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let query = query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    Some(Recorded {
        method,
        path: path.to_string(),
        query,
        headers,
        body,
    })
}

fn respond(conn: &mut TcpStream, status: u16, headers: &[(&str, String)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n");
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(body);
    let _ = conn.flush();
    let _ = conn.shutdown(std::net::Shutdown::Both);
}

fn json_reply(conn: &mut TcpStream, status: u16, v: Value) {
    respond(
        conn,
        status,
        &[("Content-Type", "application/json".into())],
        v.to_string().as_bytes(),
    );
}

fn api_error(conn: &mut TcpStream, status: u16, code: i64, message: &str) {
    json_reply(
        conn,
        status,
        json!({"code": code, "message": message, "StatusCode": status, "duration": "0.01ms", "more_info": "https://getstream.io/chat/docs/api_errors_response"}),
    );
}

/// Verifies a server token independently: three base64url parts, header
/// HS256, payload exactly `{"server":true}`, signature over the secret.
fn token_problem(token: &str, secret: &str) -> Option<String> {
    check_token(token, secret).err()
}

fn check_token(token: &str, secret: &str) -> Result<(), String> {
    if token.starts_with("Bearer") {
        return Err("the token has a Bearer prefix".into());
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err("not a JWT".into());
    }
    let decode = |p: &str| {
        URL_SAFE_NO_PAD
            .decode(p)
            .map_err(|e| format!("bad base64: {e}"))
    };
    let json = |p: &str| -> Result<Value, String> {
        serde_json::from_slice(&decode(p)?).map_err(|e| format!("bad JSON: {e}"))
    };
    let header = json(parts[0])?;
    if header["alg"] != "HS256" {
        return Err(format!("alg is {}", header["alg"]));
    }
    let payload = json(parts[1])?;
    if payload != json!({"server": true}) {
        return Err(format!("payload is {payload}"));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
    mac.verify_slice(&decode(parts[2])?)
        .map_err(|_| "signature is invalid".to_string())
}

fn serve(mut conn: TcpStream, state: &Mutex<State>, cfg: &Config, base: &str) {
    let Some(req) = read_request(&conn) else {
        return;
    };
    state.lock().unwrap().requests.push(req.clone());
    if let Some(rest) = req.path.strip_prefix("/exports/") {
        // Stored as Stream stores them: users' exports apart.
        let id = rest.rsplit('/').next().unwrap_or("");
        return serve_file(&mut conn, state, cfg, id, &req);
    }
    // Every API request carries the server credentials.
    if req.query.get("api_key").map(String::as_str) != Some(cfg.key.as_str()) {
        return api_error(&mut conn, 401, 2, "api_key not found");
    }
    let token = req
        .headers
        .get("authorization")
        .cloned()
        .unwrap_or_default();
    if let Some(problem) = token_problem(&token, &cfg.secret) {
        return api_error(&mut conn, 401, 5, &format!("JWTAuth error: {problem}"));
    }
    let mut st = state.lock().unwrap();
    for (h, want) in [
        ("stream-auth-type", "jwt"),
        ("content-type", "application/json"),
    ] {
        if req.headers.get(h).map(String::as_str) != Some(want) {
            st.violations.push(format!(
                "{} {}: header {h} is {:?}",
                req.method,
                req.path,
                req.headers.get(h)
            ));
        }
    }
    if !req
        .headers
        .get("x-stream-client")
        .is_some_and(|v| v.starts_with("stream-chat-export-"))
    {
        st.violations
            .push(format!("{}: no X-Stream-Client", req.path));
    }
    match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/export_channels") | ("POST", "/export/users") => {
            if cfg.hang_up_posts {
                return;
            }
            if let Some((status, body)) = &cfg.post_reply {
                drop(st);
                return respond(&mut conn, *status, &[], body.as_bytes());
            }
            let body = req.json();
            let (list, max) = if req.path == "/export_channels" {
                (&body["channels"], 25)
            } else {
                (&body["user_ids"], 25)
            };
            let n = list.as_array().map_or(0, Vec::len);
            if n == 0 || n > max {
                drop(st);
                return api_error(
                    &mut conn,
                    400,
                    4,
                    &format!("between 1 and {max} entries, not {n}"),
                );
            }
            let index = st.tasks.len();
            let id = format!(
                "4b1c{index:04}-task-{}",
                if req.path == "/export_channels" {
                    "ch"
                } else {
                    "us"
                }
            );
            st.tasks.push(Task {
                id: id.clone(),
                index,
                request: body,
                polls: 0,
                signed: 0,
                first_signature: None,
                downloads: 0,
                hung_up: false,
            });
            drop(st);
            json_reply(&mut conn, 201, json!({"task_id": id, "duration": "2.1ms"}));
        }
        ("GET", path) if path.starts_with("/tasks/") => {
            let id = &path["/tasks/".len()..];
            let Some(task) = st.tasks.iter_mut().find(|t| t.id == id) else {
                drop(st);
                return api_error(&mut conn, 404, 16, "task not found");
            };
            task.polls += 1;
            if cfg.hang_up_first_poll && !task.hung_up {
                task.hung_up = true;
                task.polls -= 1;
                return;
            }
            if let (1, Some(secs)) = (task.polls, cfg.rate_limit_first_poll) {
                drop(st);
                return respond(
                    &mut conn,
                    429,
                    &[
                        ("Retry-After", secs.to_string()),
                        ("Content-Type", "text/plain".into()),
                    ],
                    b"Too Many Requests",
                );
            }
            let step = task.polls - 1 - usize::from(cfg.rate_limit_first_poll.is_some());
            let mut v = json!({"task_id": task.id, "created_at": "2024-05-01T00:00:00Z", "updated_at": "2024-05-01T00:00:01Z", "duration": "1ms"});
            if step < cfg.statuses.len() {
                v["status"] = cfg.statuses[step].into();
                v["result"] = if step % 2 == 0 {
                    Value::Null
                } else {
                    json!({})
                };
            } else if let Some(desc) = &cfg.fail_with {
                v["status"] = "failed".into();
                v["result"] = json!({});
                v["error"] = json!({"type": "export_failed", "description": desc});
            } else {
                task.signed += 1;
                task.first_signature.get_or_insert(task.signed);
                v["status"] = "completed".into();
                let kind = if task.request.get("user_ids").is_some() {
                    "users"
                } else {
                    "channels"
                };
                v["result"] = json!({"url": format!("{base}/exports/{kind}/{}?X-Amz-Signature=sig{}&X-Amz-Expires=86400", task.id, task.signed)});
            }
            drop(st);
            json_reply(&mut conn, 200, v);
        }
        _ => {
            drop(st);
            api_error(&mut conn, 404, 16, "no such endpoint")
        }
    }
}

fn serve_file(conn: &mut TcpStream, state: &Mutex<State>, cfg: &Config, id: &str, req: &Recorded) {
    let mut st = state.lock().unwrap();
    if req.headers.contains_key("authorization") || req.query.contains_key("api_key") {
        st.violations
            .push("credentials sent to the download URL".into());
    }
    let Some(task) = st.tasks.iter_mut().find(|t| t.id == id) else {
        drop(st);
        return respond(conn, 404, &[], b"<Error><Code>NoSuchKey</Code></Error>");
    };
    let sig: u64 = req
        .query
        .get("X-Amz-Signature")
        .and_then(|s| s.strip_prefix("sig"))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if sig == 0 || sig > task.signed {
        drop(st);
        return respond(
            conn,
            403,
            &[],
            b"<Error><Code>SignatureDoesNotMatch</Code></Error>",
        );
    }
    if cfg.expire_first_url && Some(sig) == task.first_signature {
        drop(st);
        return respond(
            conn,
            403,
            &[("Content-Type", "application/xml".into())],
            b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
        );
    }
    task.downloads += 1;
    let first = task.downloads == 1;
    let file = (cfg.file)(task.index, &task.request);
    drop(st);
    let from = req
        .headers
        .get("range")
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|r| r.parse::<usize>().ok())
        .filter(|_| !cfg.ignore_ranges);
    let ctype = ("Content-Type", "application/octet-stream".to_string());
    match from {
        Some(from) if from >= file.len() => respond(
            conn,
            416,
            &[("Content-Range", format!("bytes */{}", file.len()))],
            b"",
        ),
        Some(from) => respond(
            conn,
            206,
            &[
                ctype,
                (
                    "Content-Range",
                    format!("bytes {from}-{}/{}", file.len() - 1, file.len()),
                ),
            ],
            &file[from..],
        ),
        None => match cfg.truncate_first_download {
            Some(cut) if first && cut < file.len() => respond(
                conn,
                200,
                &[ctype, ("Content-Length", file.len().to_string())],
                &file[..cut],
            ),
            _ => respond(conn, 200, &[ctype], &file),
        },
    }
}
