//! Shared helpers for the integration tests:
//!
//! - [`runs`]: read one input through every input path the crate offers
//!   (slice, mapped slice, `from_path` with and without mmap, a stream with
//!   a tiny buffer, in-memory gzip as a stream and as a slice, two gzip
//!   members) and collect what each path saw; [`assert_agree`] checks that
//!   every path saw exactly the same thing.
//! - [`oracle`]: a slow, independent model of FORMAT.md built only on
//!   `serde_json` (an order-preserving tree parsed through serde), which
//!   computes the expected entities of an input; [`compare`] checks the
//!   crate's entities against it.
#![allow(dead_code)]

pub mod seen;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use stream_chat_export::{
    Compression, Engine, Entity, Error, ErrorKind, Filter, FilterJob, Format, Kind, MappedFile,
    MmapChoice, Out, Parallel, Reader, ReaderBuilder, Report,
};

// ---------------------------------------------------------------------------
// Files

/// The crate's root directory.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `testdata/fixtures`.
pub fn fixtures_dir() -> PathBuf {
    root().join("testdata/fixtures")
}

/// The path of an entry of expected.json (`name` or `samples/name`).
pub fn input_path(name: &str) -> PathBuf {
    if name.starts_with("samples/") {
        root().join("testdata").join(name)
    } else {
        fixtures_dir().join(name)
    }
}

/// `testdata/fixtures/expected.json`, parsed.
pub fn expected() -> serde_json::Map<String, Value> {
    let text = fs::read(fixtures_dir().join("expected.json")).expect("read expected.json");
    match serde_json::from_slice(&text).expect("parse expected.json") {
        Value::Object(map) => map,
        other => panic!("expected.json is not an object: {other}"),
    }
}

/// Every fixture and documented sample, as `(name in expected.json, path)`,
/// sorted by name.
pub fn all_inputs() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for (dir, prefix) in [
        (fixtures_dir(), ""),
        (root().join("testdata/samples"), "samples/"),
    ] {
        for entry in fs::read_dir(&dir).expect("read testdata dir") {
            let path = entry.expect("dir entry").path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if name == "expected.json" || name.ends_with(".md") || !path.is_file() {
                continue;
            }
            out.push((format!("{prefix}{name}"), path));
        }
    }
    out.sort();
    out
}

/// The JSONTestSuite `test_parsing` files, sorted.
pub fn json_test_suite() -> Vec<PathBuf> {
    let dir = root().join("testdata/JSONTestSuite/test_parsing");
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .expect("read JSONTestSuite")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// gzip-compresses `bytes` (one member).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip finish")
}

/// The decompressed bytes of an input: as much of the stream as decodes
/// (a truncated gzip file yields its decodable prefix). Plain inputs are
/// returned unchanged.
pub fn decompressed(bytes: &[u8]) -> Vec<u8> {
    if !is_gzip(bytes) {
        return bytes.to_vec();
    }
    let mut dec = flate2::read::MultiGzDecoder::new(bytes);
    let mut out = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        match dec.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

/// Byte ranges `[start, end)` of the lines of `bytes` (without the `\n`),
/// 1-based line `i` at index `i - 1`.
pub fn line_spans(bytes: &[u8]) -> Vec<(u64, u64)> {
    let mut spans = Vec::new();
    let mut start = 0usize;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            spans.push((start as u64, i as u64));
            start = i + 1;
        }
    }
    if start < bytes.len() {
        spans.push((start as u64, bytes.len() as u64));
    }
    spans
}

// ---------------------------------------------------------------------------
// Running every input path

/// An error as a run saw it (errors are not `Clone`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrInfo {
    pub line: Option<u64>,
    pub byte: Option<u64>,
    pub kind: &'static str,
    pub display: String,
}

impl ErrInfo {
    pub fn of(e: &Error) -> ErrInfo {
        ErrInfo {
            line: e.position().map(|p| p.line),
            byte: e.position().map(|p| p.byte),
            kind: kind_name(e.kind()),
            display: e.to_string(),
        }
    }

    pub fn is_gzip(&self) -> bool {
        self.kind == "Gzip"
    }
}

/// The variant name of an error kind.
pub fn kind_name(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Io(_) => "Io",
        ErrorKind::Json { .. } => "Json",
        ErrorKind::InvalidUtf8 => "InvalidUtf8",
        ErrorKind::LineTooLong { .. } => "LineTooLong",
        ErrorKind::EntityTooLarge { .. } => "EntityTooLarge",
        ErrorKind::Truncated { .. } => "Truncated",
        ErrorKind::Gzip(_) => "Gzip",
        ErrorKind::Structure { .. } => "Structure",
        ErrorKind::NotAnObject => "NotAnObject",
        ErrorKind::TooDeep { .. } => "TooDeep",
        ErrorKind::Write(_) => "Write",
        ErrorKind::Usage(_) => "Usage",
        // A kind this list does not know yet: its Debug text, so that two
        // different unknown kinds never compare equal.
        other => Box::leak(format!("{other:?}").into_boxed_str()),
    }
}

/// What one input path produced.
pub struct Run {
    /// Which input path.
    pub path: &'static str,
    /// True for the paths that gzip a plain input in memory.
    pub recompressed: bool,
    pub entities: Vec<Entity<'static>>,
    /// Errors handed out by the iterator (`yield_errors`/strict, or I/O).
    pub yielded: Vec<ErrInfo>,
    pub records: u64,
    pub entity_count: u64,
    pub errors: u64,
    pub blank_lines: u64,
    pub lossy: u64,
    pub format: Format,
    pub compression: Compression,
    pub first_errors: Vec<ErrInfo>,
}

impl fmt::Debug for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Run")
            .field("path", &self.path)
            .field("entities", &self.entities.len())
            .field("records", &self.records)
            .field("errors", &self.errors)
            .field("blank_lines", &self.blank_lines)
            .field("format", &self.format)
            .field("first_errors", &self.first_errors)
            .finish()
    }
}

impl Run {
    /// Line numbers of the kept errors, gzip stream errors left out.
    pub fn error_lines(&self) -> Vec<u64> {
        self.first_errors
            .iter()
            .filter(|e| !e.is_gzip())
            .map(|e| e.line.unwrap_or(0))
            .collect()
    }

    /// Entities per `type_name()`.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        let mut counts = BTreeMap::new();
        for e in &self.entities {
            *counts.entry(e.type_name().to_string()).or_insert(0) += 1;
        }
        counts
    }
}

fn finish(
    path: &'static str,
    recompressed: bool,
    entities: Vec<Entity<'static>>,
    yielded: Vec<ErrInfo>,
    report: &Report,
    format: Format,
    compression: Compression,
) -> Run {
    Run {
        path,
        recompressed,
        entities,
        yielded,
        records: report.records,
        entity_count: report.entities,
        errors: report.errors,
        blank_lines: report.blank_lines,
        lossy: report.lossy,
        format,
        compression,
        first_errors: report.first_errors.iter().map(ErrInfo::of).collect(),
    }
}

/// Drains a lending [`Reader`].
pub fn drain_reader(path: &'static str, recompressed: bool, mut reader: Reader<'_>) -> Run {
    let mut entities = Vec::new();
    let mut yielded = Vec::new();
    while let Some(next) = reader.next_entity() {
        match next {
            Ok(e) => entities.push(e.into_owned()),
            Err(e) => yielded.push(ErrInfo::of(&e)),
        }
    }
    finish(
        path,
        recompressed,
        entities,
        yielded,
        reader.report(),
        reader.format(),
        reader.compression(),
    )
}

/// Drains a borrowing slice reader.
pub fn drain_slice(
    path: &'static str,
    recompressed: bool,
    builder: &ReaderBuilder,
    bytes: &[u8],
) -> Run {
    let mut it = builder.from_slice(bytes);
    let mut entities = Vec::new();
    let mut yielded = Vec::new();
    for next in it.by_ref() {
        match next {
            Ok(e) => entities.push(e.into_owned()),
            Err(e) => yielded.push(ErrInfo::of(&e)),
        }
    }
    let reader = it
        .reader()
        .unwrap_or_else(|| panic!("{path}: the slice reader failed to open: {yielded:?}"));
    finish(
        path,
        recompressed,
        entities,
        yielded,
        reader.report(),
        reader.format(),
        reader.compression(),
    )
}

/// Reads `path` through every input path with the settings of `builder`
/// (each path adds its own buffer or mmap setting). Checks the accounting
/// of every run (`records == entities + errors`, entities counted once).
pub fn runs(path: &Path, builder: &ReaderBuilder) -> Vec<Run> {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    // (a) the bytes in memory, borrowing iterator.
    out.push(drain_slice("slice", false, builder, &bytes));
    // (b) a mapped file through the borrowing iterator.
    // SAFETY: test fixtures are not modified while the tests run.
    let map = unsafe { MappedFile::open(path) }.expect("map");
    out.push(drain_slice("mapped slice", false, builder, map.bytes()));
    // (c) from_path (mmap for plain files).
    // SAFETY: as above.
    let reader = builder
        .clone()
        .mmap(unsafe { MmapChoice::auto() })
        .from_path(path)
        .expect("from_path");
    out.push(drain_reader("from_path mmap", false, reader));
    // (d) from_path, block reads.
    let reader = builder
        .clone()
        .mmap(MmapChoice::never())
        .from_path(path)
        .expect("from_path");
    out.push(drain_reader("from_path blocks", false, reader));
    // (e) a stream with a tiny buffer: many refills and window rolls.
    let file = fs::File::open(path).expect("open");
    let reader = builder
        .clone()
        .buffer_size(64)
        .from_reader(file)
        .expect("from_reader");
    out.push(drain_reader("stream 64", false, reader));
    if !is_gzip(&bytes) {
        let gz = gzip(&bytes);
        // (f) gzip in memory as a stream with a small buffer.
        let reader = builder
            .clone()
            .buffer_size(100)
            .from_reader(&gz[..])
            .expect("gzip");
        out.push(drain_reader("gzip stream 100", true, reader));
        // (g) gzip bytes through the slice reader.
        out.push(drain_slice("gzip slice", true, builder, &gz));
        // (h) two gzip members, split in the middle of the input.
        let mut two = gzip(&bytes[..bytes.len() / 2]);
        two.extend_from_slice(&gzip(&bytes[bytes.len() / 2..]));
        let reader = builder
            .clone()
            .buffer_size(64)
            .from_reader(&two[..])
            .expect("gzip");
        out.push(drain_reader("gzip 2 members 64", true, reader));
    }
    for run in &out {
        assert_eq!(
            run.records,
            run.entity_count + run.errors,
            "{}: {}: records != entities + errors",
            path.display(),
            run.path
        );
        assert_eq!(
            run.entity_count,
            run.entities.len() as u64,
            "{}: {}: report.entities != entities handed out",
            path.display(),
            run.path
        );
    }
    out
}

/// Every run agrees with the first one on everything but compression.
/// Gzip stream errors may sit at a different decompressed byte (where the
/// decoder gave up depends on the read sizes); when a run hit one, error
/// bytes are not compared.
pub fn assert_agree(label: &str, runs: &[Run]) {
    let first = &runs[0];
    let gzip_broken = runs
        .iter()
        .any(|r| r.first_errors.iter().any(ErrInfo::is_gzip));
    for run in &runs[1..] {
        let what = format!("{label}: path `{}` vs `{}`", run.path, first.path);
        for (i, (a, b)) in first.entities.iter().zip(&run.entities).enumerate() {
            assert!(
                a == b,
                "{what}: entity {i} differs:\n  {a:?} {}\n  {b:?} {}",
                String::from_utf8_lossy(a.record()),
                String::from_utf8_lossy(b.record())
            );
        }
        assert_eq!(
            first.entities.len(),
            run.entities.len(),
            "{what}: entity count"
        );
        assert_eq!(first.records, run.records, "{what}: records");
        assert_eq!(first.entity_count, run.entity_count, "{what}: entities");
        assert_eq!(first.errors, run.errors, "{what}: errors");
        assert_eq!(first.blank_lines, run.blank_lines, "{what}: blank lines");
        assert_eq!(first.lossy, run.lossy, "{what}: lossy");
        assert_eq!(first.format, run.format, "{what}: format");
        let lines = |r: &Run| -> Vec<(Option<u64>, &'static str)> {
            r.first_errors.iter().map(|e| (e.line, e.kind)).collect()
        };
        assert_eq!(lines(first), lines(run), "{what}: error lines and kinds");
        let yielded = |r: &Run| -> Vec<(Option<u64>, &'static str)> {
            r.yielded.iter().map(|e| (e.line, e.kind)).collect()
        };
        assert_eq!(yielded(first), yielded(run), "{what}: handed-out errors");
        if !gzip_broken {
            let bytes = |r: &Run| -> Vec<Option<u64>> {
                r.first_errors
                    .iter()
                    .chain(&r.yielded)
                    .map(|e| e.byte)
                    .collect()
            };
            assert_eq!(bytes(first), bytes(run), "{what}: error byte offsets");
        }
    }
}

// ---------------------------------------------------------------------------
// An order-preserving JSON tree, parsed by serde_json, that survives a
// truncated document: every container that was still open when the parser
// failed is kept, marked incomplete, with the children it had completed.

/// A JSON value whose objects keep their keys in order (duplicates too).
#[derive(Debug, Clone)]
pub enum J {
    Null,
    Bool(bool),
    Num(serde_json::Number),
    Str(String),
    /// Elements; false when the input ended inside the array.
    Arr(Vec<J>, bool),
    /// Entries in order; false when the input ended inside the object.
    Obj(Vec<(String, J)>, bool),
}

enum Open {
    Arr(Vec<J>),
    Obj(Vec<(String, J)>, Option<String>),
}

thread_local! {
    /// The containers being parsed, outermost first.
    static OPEN: RefCell<Vec<Open>> = const { RefCell::new(Vec::new()) };
}

impl J {
    /// The last value of `key` (duplicate keys: the last one wins).
    pub fn get(&self, key: &str) -> Option<&J> {
        match self {
            J::Obj(entries, _) => entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn str(&self) -> Option<&str> {
        match self {
            J::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn str_of(&self, key: &str) -> Option<String> {
        self.get(key).and_then(J::str).map(str::to_string)
    }

    pub fn is_obj(&self) -> bool {
        matches!(self, J::Obj(..))
    }

    pub fn is_arr(&self) -> bool {
        matches!(self, J::Arr(..))
    }

    pub fn complete(&self) -> bool {
        !matches!(self, J::Arr(_, false) | J::Obj(_, false))
    }

    pub fn to_value(&self) -> Value {
        match self {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Num(n) => Value::Number(n.clone()),
            J::Str(s) => Value::String(s.clone()),
            J::Arr(items, _) => Value::Array(items.iter().map(J::to_value).collect()),
            J::Obj(entries, _) => {
                let mut map = serde_json::Map::new();
                for (k, v) in entries {
                    map.insert(k.clone(), v.to_value());
                }
                Value::Object(map)
            }
        }
    }
}

fn with_top<R>(f: impl FnOnce(&mut Open) -> R) -> R {
    OPEN.with(|o| f(o.borrow_mut().last_mut().expect("an open container")))
}

impl<'de> Deserialize<'de> for J {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<J, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = J;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E>(self) -> Result<J, E> {
                Ok(J::Null)
            }
            fn visit_none<E>(self) -> Result<J, E> {
                Ok(J::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<J, E> {
                Ok(J::Bool(b))
            }
            fn visit_u64<E>(self, n: u64) -> Result<J, E> {
                Ok(J::Num(n.into()))
            }
            fn visit_i64<E>(self, n: i64) -> Result<J, E> {
                Ok(J::Num(n.into()))
            }
            fn visit_f64<E>(self, n: f64) -> Result<J, E> {
                Ok(serde_json::Number::from_f64(n).map_or(J::Null, J::Num))
            }
            fn visit_str<E>(self, s: &str) -> Result<J, E> {
                Ok(J::Str(s.to_string()))
            }
            fn visit_string<E>(self, s: String) -> Result<J, E> {
                Ok(J::Str(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<J, A::Error> {
                OPEN.with(|o| o.borrow_mut().push(Open::Arr(Vec::new())));
                while let Some(item) = seq.next_element::<J>()? {
                    with_top(|top| {
                        if let Open::Arr(items) = top {
                            items.push(item);
                        }
                    });
                }
                match OPEN.with(|o| o.borrow_mut().pop()) {
                    Some(Open::Arr(items)) => Ok(J::Arr(items, true)),
                    _ => unreachable!("unbalanced partial stack"),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<J, A::Error> {
                OPEN.with(|o| o.borrow_mut().push(Open::Obj(Vec::new(), None)));
                while let Some(key) = map.next_key::<String>()? {
                    with_top(|top| {
                        if let Open::Obj(_, pending) = top {
                            *pending = Some(key);
                        }
                    });
                    let value = map.next_value::<J>()?;
                    with_top(|top| {
                        if let Open::Obj(entries, pending) = top {
                            let key = pending.take().expect("pending key");
                            entries.push((key, value));
                        }
                    });
                }
                match OPEN.with(|o| o.borrow_mut().pop()) {
                    Some(Open::Obj(entries, _)) => Ok(J::Obj(entries, true)),
                    _ => unreachable!("unbalanced partial stack"),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// After a failed parse: the containers that were open, closed and marked
/// incomplete, as one partial top-level value.
fn take_partial() -> Option<J> {
    let mut open = OPEN.with(|o| std::mem::take(&mut *o.borrow_mut()));
    let mut child: Option<J> = None;
    while let Some(container) = open.pop() {
        child = Some(match container {
            Open::Arr(mut items) => {
                items.extend(child.take());
                J::Arr(items, false)
            }
            Open::Obj(mut entries, pending) => {
                if let (Some(value), Some(key)) = (child.take(), pending) {
                    entries.push((key, value));
                }
                J::Obj(entries, false)
            }
        });
    }
    child
}

/// Parses one complete JSON value.
pub fn parse_j(bytes: &[u8]) -> serde_json::Result<J> {
    OPEN.with(|o| o.borrow_mut().clear());
    let result = serde_json::from_slice::<J>(bytes);
    OPEN.with(|o| o.borrow_mut().clear());
    result
}

// ---------------------------------------------------------------------------
// Independent repairs

/// Replaces every escaped UTF-16 surrogate that is not part of a valid
/// high+low pair with `\ufffd` (FORMAT.md: a lossy fallback is better than
/// rejecting the file). Returns the input unchanged when there is none.
pub fn repair_surrogates(bytes: &[u8]) -> Vec<u8> {
    fn unit(bytes: &[u8], at: usize) -> Option<u16> {
        if bytes.get(at) != Some(&b'\\') || bytes.get(at + 1) != Some(&b'u') {
            return None;
        }
        let hex = std::str::from_utf8(bytes.get(at + 2..at + 6)?).ok()?;
        u16::from_str_radix(hex, 16).ok()
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        match unit(bytes, i) {
            Some(hi @ 0xD800..=0xDBFF) if matches!(unit(bytes, i + 6), Some(0xDC00..=0xDFFF)) => {
                let _ = hi;
                out.extend_from_slice(&bytes[i..i + 12]);
                i += 12;
            }
            Some(0xD800..=0xDFFF) => {
                out.extend_from_slice(b"\\ufffd");
                i += 6;
            }
            _ => {
                // Any other escape: copy the backslash and the escaped byte.
                let end = (i + 2).min(bytes.len());
                out.extend_from_slice(&bytes[i..end]);
                i = end;
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The oracle

/// One entity as FORMAT.md says it must come out.
#[derive(Debug, Clone)]
pub struct Expected {
    pub type_name: String,
    pub id: Option<String>,
    pub user_id: Option<String>,
    pub cid: Option<String>,
    pub created_at: Option<String>,
    pub value: Value,
}

/// What the oracle expects of a whole input.
#[derive(Debug, Default)]
pub struct OracleOutput {
    pub entities: Vec<Expected>,
    /// Line numbers of bad records (for a broken document: where the
    /// parser stopped).
    pub error_lines: Vec<u64>,
    pub blank_lines: u64,
    /// True when the input was read as one document (v1, legacy import).
    pub document: bool,
}

#[derive(Default)]
struct Model {
    out: OracleOutput,
    /// The cid of the most recent channel entity (None when it had none).
    channel: Option<String>,
    /// Message id -> its resolved cid.
    messages: HashMap<String, String>,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| !is_ws(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| !is_ws(b))
        .map_or(start, |e| e + 1);
    &bytes[start..end]
}

/// A v1 channel object (`channel` object plus `messages` and/or `members`
/// arrays) or a synchronous user export (`user` object plus `messages`).
fn is_channel_unit(j: &J) -> bool {
    j.get("channel").is_some_and(J::is_obj)
        && (j.get("messages").is_some_and(J::is_arr) || j.get("members").is_some_and(J::is_arr))
}

fn is_user_unit(j: &J) -> bool {
    j.get("user").is_some_and(J::is_obj) && j.get("messages").is_some_and(J::is_arr)
}

fn is_unit(j: &J) -> bool {
    is_channel_unit(j) || is_user_unit(j)
}

/// `{"channels": [...]}`: read as a v1 wrapper wherever it appears.
fn is_channels_wrapper(j: &J) -> bool {
    j.get("channels").is_some_and(J::is_arr)
}

/// An object whose array-valued keys hold channel objects.
fn is_wrapper(j: &J) -> bool {
    match j {
        J::Obj(entries, _) => entries.iter().any(|(_, v)| match v {
            J::Arr(items, _) => items.iter().any(is_channel_unit),
            _ => false,
        }),
        _ => false,
    }
}

/// The user id of an entity (FORMAT.md, testdata/README.md): `user_id`;
/// else `user.id`; else a message's `user` string; else a channel's
/// `created_by` (`.id` or string); else a user record's own `id`.
fn resolve_user(kind: &str, obj: &J) -> Option<String> {
    if let Some(u) = obj.str_of("user_id") {
        return Some(u);
    }
    match obj.get("user") {
        Some(u @ J::Obj(..)) => {
            if let Some(id) = u.str_of("id") {
                return Some(id);
            }
        }
        Some(J::Str(s)) if kind == "message" => return Some(s.clone()),
        _ => {}
    }
    match kind {
        "channel" => match obj.get("created_by") {
            Some(c @ J::Obj(..)) => c.str_of("id"),
            Some(J::Str(s)) => Some(s.clone()),
            _ => None,
        },
        "user" => obj.str_of("id"),
        _ => None,
    }
}

/// An entity's own channel: `cid`, `channel_cid`, `channel_type:channel_id`,
/// or for a channel `type:id`.
fn own_cid(kind: &str, obj: &J) -> Option<String> {
    if let Some(c) = obj.str_of("cid").or_else(|| obj.str_of("channel_cid")) {
        return Some(c);
    }
    if let (Some(t), Some(i)) = (obj.str_of("channel_type"), obj.str_of("channel_id")) {
        return Some(format!("{t}:{i}"));
    }
    if kind == "channel"
        && let (Some(t), Some(i)) = (obj.str_of("type"), obj.str_of("id"))
    {
        return Some(format!("{t}:{i}"));
    }
    None
}

/// FORMAT.md's bare classification rules 1-7.
fn classify(j: &J) -> &'static str {
    let has = |k: &str| j.has(k);
    if has("cid") && (has("config") || has("member_count")) {
        "channel"
    } else if has("message_id") && has("type") {
        "reaction"
    } else if has("id") && (has("text") || has("html")) {
        "message"
    } else if has("channel_role") || (has("user_id") && has("user")) {
        "member"
    } else if has("last_read") {
        "read"
    } else if has("id") && (has("role") || has("name")) {
        "user"
    } else {
        "other"
    }
}

impl Model {
    fn error(&mut self, line: u64) {
        self.out.error_lines.push(line);
    }

    /// Emits one entity of `kind`, resolving its channel and user.
    fn emit(&mut self, kind: &str, obj: &J) {
        let id = obj.str_of("id");
        let cid = match own_cid(kind, obj) {
            Some(c) => {
                if kind == "channel" {
                    self.channel = Some(c.clone());
                }
                Some(c)
            }
            None => match kind {
                "member" | "read" | "message" => self.channel.clone(),
                "reaction" => obj
                    .str_of("message_id")
                    .and_then(|m| self.messages.get(&m).cloned())
                    .or_else(|| self.channel.clone()),
                "channel" => {
                    // The most recent channel has no cid of its own.
                    self.channel = None;
                    None
                }
                _ => None,
            },
        };
        if kind == "message"
            && let (Some(id), Some(cid)) = (&id, &cid)
        {
            self.messages.insert(id.clone(), cid.clone());
        }
        self.out.entities.push(Expected {
            type_name: kind.to_string(),
            id,
            user_id: resolve_user(kind, obj),
            cid,
            created_at: obj.str_of("created_at"),
            value: obj.to_value(),
        });
    }

    /// One line, or one element of a top-level array: an envelope, a v1
    /// unit, or a bare object.
    fn record(&mut self, j: &J, line: u64) {
        if !j.is_obj() {
            self.error(line);
            return;
        }
        let payload = j.get("item").or_else(|| j.get("data"));
        let entity_key = ["id", "cid", "message_id", "user_id"]
            .iter()
            .any(|k| j.has(k));
        if let (Some(J::Str(t)), Some(payload @ J::Obj(..)), false) =
            (j.get("type"), payload, entity_key)
        {
            let name = if t == "channel_member" { "member" } else { t };
            self.emit(name, payload);
            return;
        }
        if is_unit(j) {
            self.unit(j);
            return;
        }
        if is_channels_wrapper(j) {
            // A `{"channels": [...]}` document on one line.
            self.top(j, 0);
            return;
        }
        self.emit(classify(j), j);
    }

    /// A v1 channel object or a synchronous user export: its entities in
    /// order. The inherited channel is reset at each unit; members, reads
    /// and messages without a cid take the most recent channel entity's
    /// (the unit's own channel once it has been read: in Stream's exports
    /// `channel` is the first key).
    fn unit(&mut self, j: &J) {
        self.channel = None;
        let J::Obj(entries, _) = j else { return };
        let channel_unit = is_channel_unit(j);
        for (key, value) in entries {
            let kind = match key.as_str() {
                "channel" if channel_unit && value.is_obj() => {
                    if value.complete() {
                        self.emit("channel", value);
                    }
                    continue;
                }
                "user" if !channel_unit && value.is_obj() => {
                    if value.complete() {
                        self.emit("user", value);
                    }
                    continue;
                }
                "messages" => "message",
                "members" => "member",
                "reactions" => "reaction",
                _ => continue,
            };
            if let J::Arr(items, _) = value {
                for item in items {
                    // An element the input ended inside is not an entity.
                    if item.is_obj() && item.complete() {
                        self.emit(kind, item);
                    }
                }
            }
        }
    }

    /// One top-level value of a document (or an array element).
    fn top(&mut self, j: &J, line: u64) {
        match j {
            J::Arr(items, _) => {
                for item in items {
                    self.element(item, line);
                }
            }
            J::Obj(..) if is_unit(j) => self.unit(j),
            J::Obj(entries, _) if is_wrapper(j) || is_channels_wrapper(j) => {
                for (_, value) in entries {
                    if let J::Arr(items, _) = value {
                        for item in items {
                            self.element(item, line);
                        }
                    }
                }
            }
            _ if j.complete() => self.record(j, line),
            _ => {}
        }
    }

    fn element(&mut self, j: &J, line: u64) {
        if j.is_obj() && is_unit(j) {
            self.unit(j);
        } else if j.complete() {
            self.record(j, line);
        }
    }

    fn lines(&mut self, text: &[u8]) {
        let mut lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
        if text.ends_with(b"\n") {
            lines.pop();
        }
        for (i, line) in lines.iter().enumerate() {
            let line_no = i as u64 + 1;
            let record = trim(line);
            if record.is_empty() {
                self.out.blank_lines += 1;
                continue;
            }
            match parse_j(record) {
                Ok(j) => self.record(&j, line_no),
                Err(_) => self.error(line_no),
            }
        }
    }

    fn document(&mut self, text: &[u8]) {
        self.out.document = true;
        OPEN.with(|o| o.borrow_mut().clear());
        let mut stream = serde_json::Deserializer::from_slice(text).into_iter::<J>();
        loop {
            match stream.next() {
                None => break,
                Some(Ok(j)) => self.top(&j, 0),
                Some(Err(e)) => {
                    if let Some(partial) = take_partial() {
                        self.top(&partial, 0);
                    }
                    self.error(e.line() as u64);
                    break;
                }
            }
        }
        OPEN.with(|o| o.borrow_mut().clear());
    }
}

/// The expected entities, errors and blank lines of `bytes` (decompressed
/// input), computed from FORMAT.md with serde_json only.
///
/// Line file or document: a document starts with `[`, or its first
/// non-blank line is not a complete JSON value (a pretty-printed object)
/// or is a v1 channel object (FORMAT.md: a sequence of channel objects
/// looks like a line file when each sits on one line).
pub fn oracle(bytes: &[u8], lossy_utf8: bool) -> OracleOutput {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut text = repair_surrogates(bytes);
    if lossy_utf8 {
        text = String::from_utf8_lossy(&text).into_owned().into_bytes();
    }
    let mut model = Model::default();
    let first = text.iter().position(|&b| !is_ws(b));
    let document = match first {
        None => false,
        Some(i) if text[i] == b'[' => true,
        Some(i) => {
            let end = text[i..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(text.len(), |n| i + n);
            // A first line that is not a complete value (pretty-printed),
            // or that is a v1 channel object: a document, possibly a
            // sequence of values several to a line.
            parse_j(trim(&text[i..end])).map_or(true, |j| is_unit(&j) || is_channels_wrapper(&j))
        }
    };
    if document {
        model.document(&text);
    } else {
        model.lines(&text);
    }
    model.out
}

/// The oracle of a file (decompressed first).
pub fn oracle_of(path: &Path, lossy_utf8: bool) -> OracleOutput {
    oracle(&decompressed(&fs::read(path).expect("read")), lossy_utf8)
}

/// Compares the crate's entities with the oracle's, entity by entity.
pub fn compare(label: &str, got: &[Entity<'_>], want: &[Expected]) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let at = format!(
            "{label}: entity {i} ({:?} at byte {}: {})",
            w.type_name,
            g.offset(),
            String::from_utf8_lossy(&g.record()[..g.record().len().min(160)])
        );
        assert_eq!(g.type_name(), w.type_name, "{at}: type_name");
        let kind = Kind::from_type_name(&w.type_name);
        assert_eq!(g.kind(), kind, "{at}: kind");
        assert_eq!(g.id(), w.id.as_deref(), "{at}: id");
        assert_eq!(g.user_id(), w.user_id.as_deref(), "{at}: user_id");
        assert_eq!(g.cid(), w.cid.as_deref(), "{at}: cid");
        assert_eq!(
            g.created_at_text(),
            w.created_at.as_deref(),
            "{at}: created_at text"
        );
        let raw = repair_surrogates(g.raw());
        let value: Value =
            serde_json::from_slice(&raw).unwrap_or_else(|e| panic!("{at}: raw() is not JSON: {e}"));
        assert_eq!(
            value, w.value,
            "{at}: raw() differs from the oracle's value"
        );
        if let Ok(v) = g.to_value() {
            assert_eq!(v, value, "{at}: to_value()");
        }
        if raw != g.raw() {
            assert!(
                g.is_lossy(),
                "{at}: repaired surrogates but not marked lossy"
            );
        }
        if let Some(text) = g.created_at_text() {
            let parsed = chrono::DateTime::parse_from_rfc3339(text).ok();
            let ours = g.created_at().map(|t| (t.unix_seconds(), t.subsec_nanos()));
            let chrono = parsed.map(|d| (d.timestamp(), d.timestamp_subsec_nanos()));
            assert_eq!(ours, chrono, "{at}: created_at() of {text:?} vs chrono");
        } else {
            assert_eq!(g.created_at(), None, "{at}: created_at() without text");
        }
    }
    assert_eq!(
        got.len(),
        want.len(),
        "{label}: the crate yielded {} entities, the oracle expects {}",
        got.len(),
        want.len()
    );
}

// ---------------------------------------------------------------------------
// Filter cases

/// One filter the executors are run through, and the oracle's answer for
/// it: the same predicate written on the oracle's [`Expected`] entities.
pub struct FilterCase {
    pub label: &'static str,
    pub filter: stream_chat_export::Filter,
    pub oracle: Box<dyn Fn(&Expected) -> bool>,
}

/// A compliance-sized request: ids present in the fixtures, prefixes of
/// them, a numeric id and many absent ones (one automaton, not one pass
/// per id).
pub fn many_users() -> Vec<String> {
    let mut ids: Vec<String> = ["user-17", "user-1", "user_001", "42", "ünïcode"]
        .map(String::from)
        .to_vec();
    ids.extend((0..80).map(|i| format!("absent-{i}")));
    ids
}

/// The filters every input is run through (user, channel, time, kind and
/// their combinations), each with its oracle.
pub fn filter_cases() -> Vec<FilterCase> {
    use stream_chat_export::{Filter, Timestamp};
    let t = |s: &str| Timestamp::parse(s).unwrap();
    let time = |e: &Expected| e.created_at.as_deref().and_then(Timestamp::parse);
    let user_in =
        |ids: Vec<String>| move |e: &Expected| e.user_id.as_ref().is_some_and(|u| ids.contains(u));
    let strings = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut out = Vec::new();
    let mut case = |label, filter: &mut Filter, oracle: Box<dyn Fn(&Expected) -> bool>| {
        out.push(FilterCase {
            label,
            filter: filter.clone(),
            oracle,
        })
    };
    case("none", &mut Filter::new(), Box::new(|_| true));
    case(
        "user-17",
        Filter::new().user("user-17"),
        Box::new(user_in(strings(&["user-17"]))),
    );
    case(
        "user-1 prefix of others",
        Filter::new().user("user-1").user("user_001").user("user1"),
        Box::new(user_in(strings(&["user-1", "user_001", "user1"]))),
    );
    let mut f = Filter::new();
    for id in many_users() {
        f.user(id);
    }
    case("many users", &mut f, Box::new(user_in(many_users())));
    case(
        "channel general",
        Filter::new().channel("messaging:general"),
        Box::new(|e| e.cid.as_deref() == Some("messaging:general")),
    );
    let user_17 = user_in(strings(&["user-17"]));
    case(
        "channel + user",
        Filter::new()
            .channel("messaging:!members-esc")
            .user("user-17"),
        Box::new(move |e| e.cid.as_deref() == Some("messaging:!members-esc") && user_17(e)),
    );
    let (from, to) = (t("2021-02-18T00:00:00Z"), t("2021-02-19T00:00:00Z"));
    case(
        "one day",
        Filter::new()
            .since("2021-02-18T00:00:00Z")
            .unwrap()
            .until("2021-02-19T00:00:00Z")
            .unwrap(),
        Box::new(move |e| time(e).is_some_and(|t| t >= from && t < to)),
    );
    let since = t("2021-01-01T00:00:00Z");
    case(
        "messages since",
        Filter::new()
            .kind("message")
            .since("2021-01-01T00:00:00Z")
            .unwrap(),
        Box::new(move |e| e.type_name == "message" && time(e).is_some_and(|t| t >= since)),
    );
    case(
        "kinds",
        Filter::new()
            .kind("channel_member")
            .kind("call")
            .kind("reaction"),
        Box::new(|e| matches!(e.type_name.as_str(), "member" | "call" | "reaction")),
    );
    let user_17 = user_in(strings(&["user-17"]));
    case(
        "user + since",
        Filter::new()
            .user("user-17")
            .since("2021-02-18T00:00:00Z")
            .unwrap(),
        Box::new(move |e| user_17(e) && time(e).is_some_and(|t| t >= from)),
    );
    let user_17 = user_in(strings(&["user-17"]));
    case(
        "user + channel + since",
        Filter::new()
            .user("user-17")
            .channel("messaging:general")
            .since("2021-02-18T00:00:00Z")
            .unwrap(),
        Box::new(move |e| {
            user_17(e)
                && e.cid.as_deref() == Some("messaging:general")
                && time(e).is_some_and(|t| t >= from)
        }),
    );
    out
}

// ---------------------------------------------------------------------------
// Lenient reads

/// What a lenient read of a slice gave.
pub struct LenientRead {
    pub entities: Vec<Entity<'static>>,
    pub report: Report,
    pub format: Format,
    /// False when the input could not be opened at all.
    pub opened: bool,
}

/// Reads `data` leniently from a slice, keeping owned entities. Only a
/// gzip stream that cannot be opened at all hands out an error (once);
/// data errors are counted in the report. Checks the accounting identity.
pub fn read_lenient(b: &ReaderBuilder, data: &[u8]) -> LenientRead {
    let mut reader = b.from_slice(data);
    let opened = reader.reader().is_some();
    let mut entities = Vec::new();
    for item in reader.by_ref() {
        match item {
            Ok(e) => entities.push(e.into_owned()),
            Err(e) => assert!(!opened, "lenient reader handed out {e}"),
        }
    }
    let format = reader.reader().map_or(Format::Empty, |r| r.format());
    let report = reader.take_report();
    assert_eq!(
        report.records,
        report.entities + report.errors,
        "records == entities + errors ({report:?})"
    );
    LenientRead {
        entities,
        report,
        format,
        opened,
    }
}

/// The engine run of a [`FilterJob`] over bytes in memory, as one call (a
/// fresh engine per call, which is what these tests want: each case its
/// own thread count).
pub fn filter_slice<'a, F>(
    builder: &ReaderBuilder,
    parallel: &Parallel,
    input: &'a [u8],
    path: Option<&Path>,
    filter: &Filter,
    mut sink: F,
) -> stream_chat_export::Result<Report>
where
    F: FnMut(Entity<'a>) -> stream_chat_export::Result<()>,
{
    let engine = Engine::new(parallel)?;
    let job = FilterJob::new(filter.clone());
    let mut run = engine.run(&job).builder(builder);
    if let Some(p) = path {
        run = run.path(p);
    }
    let outcome = run.slice(input, |out| match out {
        Out::Entity(e) => sink(e),
        _ => Ok(()),
    })?;
    Ok(outcome.report)
}

/// [`filter_slice`] for a stream.
pub fn filter_reader<R, F>(
    builder: &ReaderBuilder,
    parallel: &Parallel,
    input: R,
    path: Option<&Path>,
    filter: &Filter,
    mut sink: F,
) -> stream_chat_export::Result<Report>
where
    R: std::io::Read + Send,
    F: for<'b> FnMut(Entity<'b>) -> stream_chat_export::Result<()>,
{
    let engine = Engine::new(parallel)?;
    let job = FilterJob::new(filter.clone());
    let mut run = engine.run(&job).builder(builder);
    if let Some(p) = path {
        run = run.path(p);
    }
    let outcome = run.reader(input, |out| match out {
        Out::Entity(e) => sink(e),
        _ => Ok(()),
    })?;
    Ok(outcome.report)
}
