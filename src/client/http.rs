//! One API call: the auth headers, the retry loop for reads, and the
//! translation of a response into a value or an [`Error`].

use super::error::{ApiError, Error, Result};
use super::retry::server_delay;
use super::{Client, Method};
use serde_json::Value;
use std::time::Instant;

/// The largest API response read (a task status is a few hundred bytes).
const MAX_API_BODY: u64 = 16 << 20;

/// A response as far as the client needs it.
pub(crate) struct Reply {
    pub status: u16,
    pub retry_after: Option<String>,
    pub rate_limit_reset: Option<String>,
    pub body: Vec<u8>,
}

impl Reply {
    fn server_delay(&self) -> Option<std::time::Duration> {
        server_delay(
            self.retry_after.as_deref(),
            self.rate_limit_reset.as_deref(),
        )
    }
}

fn header(resp: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

impl Client {
    /// The server credentials and the client's own headers on a request.
    /// The token goes raw in `Authorization` (no `Bearer`), as Stream's
    /// server SDKs send it.
    fn authed<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        request
            .query("api_key", &self.key)
            .header("Authorization", &self.token)
            .header("Stream-Auth-Type", "jwt")
            .header("Content-Type", "application/json")
            .header("X-Stream-Client", super::CLIENT_NAME)
    }

    /// Sends one API request with the server credentials, once.
    fn send_once(&self, method: Method, path: &str, body: Option<&[u8]>) -> Result<Reply> {
        let url = format!("{}{path}", self.base_url);
        let transport = |e: ureq::Error| Error::Transport {
            what: format!("{} {}", method.as_str(), super::shown_url(&url)),
            message: super::scrub(&e.to_string(), &self.key),
        };
        let result = match method {
            Method::Get => self
                .authed(self.agent.get(&url))
                .call()
                .map_err(transport)?,
            Method::Post => self
                .authed(self.agent.post(&url))
                .send(body.unwrap_or(b"{}"))
                .map_err(transport)?,
        };
        let mut resp = result;
        let status = resp.status().as_u16();
        let retry_after = header(&resp, "retry-after");
        let rate_limit_reset = header(&resp, "x-ratelimit-reset");
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_API_BODY)
            .read_to_vec()
            .map_err(|e| Error::Transport {
                what: format!(
                    "{} {} (reading the response)",
                    method.as_str(),
                    super::shown_url(&url)
                ),
                message: super::scrub(&e.to_string(), &self.key),
            })?;
        Ok(Reply {
            status,
            retry_after,
            rate_limit_reset,
            body,
        })
    }

    /// An API call and its JSON answer. Reads (`GET`) are retried on 429
    /// and transport errors, as long as the wait ends before `deadline`;
    /// writes are sent exactly once.
    pub(crate) fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&[u8]>,
        deadline: Option<Instant>,
    ) -> Result<Value> {
        let mut attempt = 0u32;
        loop {
            let failure = match self.send_once(method, path, body) {
                Ok(reply) if (200..300).contains(&reply.status) => {
                    return serde_json::from_slice(&reply.body).map_err(|e| {
                        Error::Protocol(format!(
                            "{} {path}: the response is not JSON ({e})",
                            method.as_str()
                        ))
                    });
                }
                Ok(reply) => {
                    let api = ApiError::from_body(reply.status, &reply.body);
                    match reply.status {
                        401 => return Err(Error::Auth(api)),
                        429 if !api.unrecoverable => Error::RateLimited {
                            api,
                            retry_after: reply.server_delay(),
                        },
                        429 => {
                            return Err(Error::RateLimited {
                                api,
                                retry_after: None,
                            });
                        }
                        _ => return Err(Error::Api(api)),
                    }
                }
                Err(e @ Error::Transport { .. }) => e,
                Err(e) => return Err(e),
            };
            // A write is never repeated: had the first one reached Stream,
            // a second would start a second export.
            if method != Method::Get || attempt + 1 >= self.retry.max_attempts {
                return Err(failure);
            }
            let hint = match &failure {
                Error::RateLimited { retry_after, .. } => *retry_after,
                _ => None,
            };
            let delay = self.retry.delay(attempt, hint);
            if deadline.is_some_and(|d| Instant::now() + delay > d) {
                return Err(failure);
            }
            std::thread::sleep(delay);
            attempt += 1;
        }
    }
}
