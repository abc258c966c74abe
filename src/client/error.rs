//! What can go wrong between this process and Stream: configuration,
//! transport, the API's own errors, a failed or overdue task, a download
//! that cannot be completed, and the local file it goes to.
//!
//! No variant holds the API key, the secret, the token or a query string:
//! URLs are shown as scheme, host and path only (a download URL's query is
//! its signature).

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// The result of a client call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error the API returned: its HTTP status and, when the body was
/// Stream's JSON error object, its fields; otherwise the raw body (a 429
/// from Stream's edge may be plain text).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status of the response.
    pub status: u16,
    /// Stream's error code (`code`), when the body had one.
    pub code: Option<i64>,
    /// Stream's message (`message`), or the body itself when it was not
    /// Stream's JSON error (at most 1000 characters of it).
    pub message: String,
    /// Stream's `more_info` link, when given.
    pub more_info: Option<String>,
    /// True when Stream marked the error `unrecoverable`: retrying cannot
    /// help.
    pub unrecoverable: bool,
    /// The body as received when it was not Stream's JSON error object.
    pub raw_body: Option<String>,
}

impl ApiError {
    /// Reads an error response's body.
    pub(crate) fn from_body(status: u16, body: &[u8]) -> ApiError {
        #[derive(serde::Deserialize)]
        struct Body {
            code: Option<i64>,
            message: Option<String>,
            more_info: Option<String>,
            #[serde(default)]
            unrecoverable: bool,
        }
        if let Ok(b) = serde_json::from_slice::<Body>(body)
            && let Some(message) = b.message
        {
            return ApiError {
                status,
                code: b.code,
                message,
                more_info: b.more_info.filter(|s| !s.is_empty()),
                unrecoverable: b.unrecoverable,
                raw_body: None,
            };
        }
        let raw = String::from_utf8_lossy(body).into_owned();
        let trimmed = raw.trim();
        let message = if trimmed.is_empty() {
            format!("HTTP {status} with an empty body")
        } else {
            trimmed.chars().take(1000).collect()
        };
        ApiError {
            status,
            code: None,
            message,
            more_info: None,
            unrecoverable: false,
            raw_body: Some(raw),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(code) = self.code {
            write!(f, ", code {code}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(info) = &self.more_info {
            write!(f, " (see {info})")?;
        }
        Ok(())
    }
}

/// An error of the export client.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The client is not configured: a missing environment variable, an
    /// unusable base URL, an invalid request.
    Config(String),
    /// Stream refused the credentials (HTTP 401, or 403 on an API call):
    /// a wrong key or secret. Never retried.
    Auth(ApiError),
    /// Stream answered 429 and the call was not retried (a request that
    /// creates an export is never retried) or ran out of attempts.
    RateLimited {
        /// The error as returned.
        api: ApiError,
        /// How long Stream asked to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// Any other error response of the API.
    Api(ApiError),
    /// The request or its response did not get through: connection,
    /// TLS, timeout, or a malformed HTTP response.
    Transport {
        /// What was being done (`POST https://host/export_channels`).
        what: String,
        /// The underlying error, as text.
        message: String,
    },
    /// A response that is not what the API documents (unparseable JSON,
    /// a completed task without a URL).
    Protocol(String),
    /// The export task failed on Stream's side.
    TaskFailed {
        /// The task.
        task_id: String,
        /// The task's `error.type`, when given.
        kind: Option<String>,
        /// The task's `error.description` (or what there was instead).
        description: String,
    },
    /// The task had not completed when the deadline passed.
    Timeout {
        /// The task.
        task_id: String,
        /// Its last status seen.
        status: String,
        /// How long it was waited for.
        waited: Duration,
    },
    /// The file could not be downloaded whole.
    Download {
        /// The task whose file it is.
        task_id: String,
        /// Why, with the bytes received so far.
        message: String,
    },
    /// A local file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

impl Error {
    /// True for errors of the credentials or configuration, which no retry
    /// and no other task can get past.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Error::Auth(_) | Error::Config(_))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(m) => write!(f, "{m}"),
            Error::Auth(api) => write!(
                f,
                "authentication failed ({api}); check STREAM_KEY and STREAM_SECRET"
            ),
            Error::RateLimited { api, retry_after } => {
                write!(f, "rate limited by Stream ({api})")?;
                if let Some(d) = retry_after {
                    write!(f, "; retry after {} s", d.as_secs().max(1))?;
                }
                Ok(())
            }
            Error::Api(api) => write!(f, "Stream API error: {api}"),
            Error::Transport { what, message } => write!(f, "{what}: {message}"),
            Error::Protocol(m) => write!(f, "unexpected response from Stream: {m}"),
            Error::TaskFailed {
                task_id,
                kind,
                description,
            } => {
                write!(f, "task {task_id} failed")?;
                if let Some(kind) = kind {
                    write!(f, " ({kind})")?;
                }
                write!(f, ": {description}")
            }
            Error::Timeout {
                task_id,
                status,
                waited,
            } => write!(
                f,
                "task {task_id} still {status} after {} s (raise --timeout, or resume later with `export wait {task_id}`)",
                waited.as_secs()
            ),
            Error::Download { task_id, message } => {
                write!(f, "download of task {task_id}: {message}")
            }
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
