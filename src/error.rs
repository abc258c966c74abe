//! The one error type: what went wrong, in which file, at which line and byte.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// A result whose error is this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Where a problem sits in the input.
///
/// `byte` is the offset in the (decompressed) input of the byte where the
/// problem was found (inside the record: where the JSON parser stopped;
/// the record's first byte for whole-record problems such as an over-long
/// line); `line` is the 1-based line of that byte. Line numbers are computed when the error is
/// built, never in the decoding loop.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Position {
    /// Byte offset from the start of the decompressed input.
    pub byte: u64,
    /// 1-based line number.
    pub line: u64,
}

/// Broad classes of errors, stable across versions, for exit codes.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// The input could not be read (missing file, permission, disk error).
    Io,
    /// The input was read but a record in it is malformed.
    Data,
    /// The caller asked for something impossible (bad option value).
    Usage,
}

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Reading the input failed.
    Io(io::Error),
    /// Writing the output failed (the error's path names the output).
    Write(io::Error),
    /// A record is not valid JSON. The message comes from the JSON parser;
    /// the error's position points at the offending byte.
    Json {
        /// The parser's description of the problem.
        message: String,
    },
    /// A record holds bytes that are not UTF-8.
    InvalidUtf8,
    /// A line exceeds the configured maximum length.
    LineTooLong {
        /// The configured limit in bytes.
        max: usize,
    },
    /// A v1 entity exceeds the configured maximum size.
    EntityTooLarge {
        /// The configured limit in bytes.
        max: usize,
    },
    /// The input ends in the middle of a record.
    Truncated {
        /// What was being read when the input ended.
        what: &'static str,
    },
    /// The gzip stream is damaged or ends early.
    Gzip(io::Error),
    /// The document's structure is not one of the known export shapes.
    Structure {
        /// What was expected and what was found.
        message: String,
    },
    /// A record is valid JSON but not a JSON object (every entity is one).
    NotAnObject,
    /// A record nests objects and arrays deeper than the limit.
    TooDeep {
        /// The deepest nesting accepted.
        max: usize,
    },
    /// An option or argument is invalid.
    Usage(String),
}

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    path: Option<PathBuf>,
    position: Option<Position>,
}

/// An error from reading an export: a kind, and where it happened.
///
/// Boxed so that `Result<Entity, Error>` stays small on the hot path.
pub struct Error(Box<Inner>);

impl Error {
    /// Builds an error of `kind` with no position.
    pub fn new(kind: ErrorKind) -> Error {
        Error(Box::new(Inner {
            kind,
            path: None,
            position: None,
        }))
    }

    pub(crate) fn at(kind: ErrorKind, position: Position) -> Error {
        Error(Box::new(Inner {
            kind,
            path: None,
            position: Some(position),
        }))
    }

    /// Attaches the input's path (kept if one is already set).
    pub fn with_path(mut self, path: impl AsRef<Path>) -> Error {
        if self.0.path.is_none() {
            self.0.path = Some(path.as_ref().to_path_buf());
        }
        self
    }

    pub(crate) fn into_kind(self) -> ErrorKind {
        self.0.kind
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// The file the error belongs to, when known (`-` for stdin).
    pub fn path(&self) -> Option<&Path> {
        self.0.path.as_deref()
    }

    /// Line and byte offset of the offending record, when known.
    pub fn position(&self) -> Option<Position> {
        self.0.position
    }

    /// The stable category, for mapping to exit codes.
    pub fn category(&self) -> Category {
        match self.0.kind {
            ErrorKind::Io(_) | ErrorKind::Write(_) => Category::Io,
            ErrorKind::Usage(_) => Category::Usage,
            _ => Category::Data,
        }
    }

    /// The message without the location prefix.
    pub fn message(&self) -> String {
        match &self.0.kind {
            ErrorKind::Io(e) => format!("read error: {e}"),
            ErrorKind::Write(e) => format!("write error: {e}"),
            ErrorKind::Json { message } => format!("invalid JSON: {message}"),
            ErrorKind::InvalidUtf8 => "invalid UTF-8 in record".to_string(),
            ErrorKind::LineTooLong { max } => {
                format!("line longer than the maximum of {max} bytes")
            }
            ErrorKind::EntityTooLarge { max } => {
                format!("entity larger than the maximum of {max} bytes")
            }
            ErrorKind::Truncated { what } => {
                format!("input ends in the middle of {what}: truncated?")
            }
            ErrorKind::Gzip(e) => format!("gzip stream damaged or truncated: {e}"),
            ErrorKind::Structure { message } => format!("unexpected structure: {message}"),
            ErrorKind::NotAnObject => "record is not a JSON object".to_string(),
            ErrorKind::TooDeep { max } => {
                format!("record nests objects and arrays deeper than {max} levels")
            }
            ErrorKind::Usage(m) => m.clone(),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for Error {
    /// `FILE:LINE:BYTE: message`, leaving out what is unknown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = &self.0.path {
            write!(f, "{}:", path.display())?;
        }
        if let Some(pos) = self.0.position {
            write!(f, "{}:{}:", pos.line, pos.byte)?;
        }
        if self.0.path.is_some() || self.0.position.is_some() {
            f.write_str(" ")?;
        }
        f.write_str(&self.message())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0.kind {
            ErrorKind::Io(e) | ErrorKind::Write(e) | ErrorKind::Gzip(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::new(ErrorKind::Io(e))
    }
}
