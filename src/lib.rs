//! Read, filter, analyze and convert Stream Chat data exports.
//!
//! Every export variant — channel export v1 (one JSON document), v2 and
//! user exports (one entity per line), Stream's import files and the
//! legacy import array, plain or gzip — is read through one API: a
//! [`ReaderBuilder`] detects the format by content and yields [`Entity`]
//! values, each a channel, member, message, reaction, user, read state,
//! device or other record with typed, borrowed access to its key fields and
//! its exact JSON bytes. [`SliceReader`] is a zero-copy `Iterator` for
//! bytes in memory or mapped files; [`Reader`] works for every source,
//! streams included. Bad records become [`Error`]s that name the file, line
//! and byte offset; the lenient default skips and counts them in a
//! [`Report`]. A [`Projection`] compiles a set of fields (`user.id`,
//! `created_at`, custom keys) once and reads them from each entity's JSON
//! in one borrowing pass: the basis for columns and group-by keys.
//! [`StatsJob`] is the analyzer: per-kind, per-channel, per-user and
//! per-day statistics (and more) as mergeable partials on the parallel
//! [`Engine`], finished into a serializable [`StatsReport`].
//!
//! ```
//! use stream_chat_export::{Kind, ReaderBuilder};
//!
//! let export = br#"{"type":"channel","item":{"cid":"messaging:general","type":"messaging","id":"general"}}
//! {"type":"message","item":{"id":"m1","cid":"messaging:general","text":"hi \u003c3","user":{"id":"ann"},"created_at":"2024-03-01T10:00:00.123456Z"}}
//! {"type":"reaction","item":{"message_id":"m1","type":"like","user_id":"bob"}}
//! "#;
//! let mut reader = ReaderBuilder::new().from_slice(export);
//! let message = reader.find(|e| e.as_ref().unwrap().kind() == Kind::Message).unwrap()?;
//! assert_eq!(message.user_id(), Some("ann"));
//! assert_eq!(message.text(), Some("hi <3"));
//! assert_eq!(message.created_at().unwrap().to_string(), "2024-03-01T10:00:00.123456Z");
//! let reaction = reader.next().unwrap()?;
//! assert_eq!(reaction.cid(), Some("messaging:general")); // from its message
//! # Ok::<(), stream_chat_export::Error>(())
//! ```
//!
//! # SIMD and `STREAM_CHAT_EXPORT_SIMD`
//!
//! The structural index behind the parallel filters' quick scan uses the
//! widest kernel the CPU has (AVX-512BW, AVX2, or SSE2 on x86_64; a scalar
//! kernel elsewhere), detected at run time; the user-id search uses AVX2
//! when the CPU has it, and memmem otherwise. The environment variable
//! `STREAM_CHAT_EXPORT_SIMD`, read once at first use, caps that choice for
//! the process: `avx2` excludes AVX-512, and `baseline` forces SSE2 (the
//! scalar kernel off x86_64) and the memmem search. Any other value, or
//! none, leaves the detected choice. Results are identical at every level;
//! the variable exists to test and compare the kernels. It does not affect
//! the SIMD that memchr and aho-corasick choose for themselves.
#![deny(missing_docs)]
#![forbid(unsafe_op_in_unsafe_fn)]

#[cfg(feature = "client")]
pub mod client;
mod convert;
mod decode;
mod engine;
mod error;
mod filter;
mod frame;
mod hash;
mod import;
mod io;
mod json;
mod model;
mod output;
pub mod project;
mod read;
mod report;
pub mod stats;
mod summary;
mod tables;

pub use convert::{ConvertProgress, ConvertSummary, ImportConverter, MemberItem};
pub use engine::{Engine, Job, Keep, Out, Outcome, Parallel, RuleOut, Run};
pub use error::{Category, Error, ErrorKind, Position, Result};
pub use filter::Filter;
pub use filter::job::FilterJob;
pub use import::{
    ImportOptions, ImportRules, ImportSummary, Problem, Stage, validate_import,
    validate_import_input,
};
pub use io::input::{Input, MmapChoice};
pub use io::source::{Compression, MappedFile};
pub use model::entity::{ChannelSource, Entity, Envelope, Kind};
pub use model::timestamp::Timestamp;
pub use output::{Output, V2Writer, ensure_not_an_input, write_v2_line};
pub use project::{Projection, Values};
pub use read::reader::{Format, OwnedEntities, Reader, ReaderBuilder, SliceReader};
pub use report::{ErrorMode, Report};
pub use stats::{Stats, StatsJob, StatsReport};
pub use summary::{Inspection, Summary, SummaryJob, inspect, summarize};
#[cfg(feature = "parquet")]
pub use tables::ParquetWriter;
pub use tables::{
    CsvWriter, NdjsonWriter, Staging, TableCount, TableNames, TableWriter, TablesConverter,
    TablesSummary, default_columns, write_ndjson_line,
};

/// The README's examples run as doc tests, so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
