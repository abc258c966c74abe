//! An offline validator for Stream import files: the current JSON Lines
//! format (`{"type","data"}` per line) and the legacy array of
//! `{"type","item"}`, each judged by its own rules.
//!
//! - **Current rules** (JSON Lines): the official JSON Schemas of the items
//!   (`schemas/`, every keyword they use: required fields, types, id
//!   patterns and lengths, enums, date-times, `additionalProperties`, the
//!   `if`/`then` rules), the envelope (exactly `type` and `data`), the
//!   required order (users, devices, future_channel_ban, channels,
//!   members, messages, reactions), and the semantic rules below.
//! - **Legacy rules** (one JSON array): stream-cli's validator as it was
//!   when Stream removed it (February 2026), with its messages: items in
//!   any order (stream-cli's own files group them per channel, devices
//!   last), devices may carry `disabled`/`disabled_reason`, each item is
//!   reported for its first field problem only.
//!
//! Both check, in three passes as stream-cli did: fields (an item with a
//! field problem is not indexed; indexing reports duplicates), then
//! references of every item against the whole file (users, channels,
//! distinct channels by their member set, thread parents and one thread
//! level, mentioned and quoted messages, reactions' messages; under the
//! legacy rules also stream-cli's team rule), then
//! that every distinct channel (`member_ids`) has a member entry for each
//! of its users. Messages carry stream-cli's prefixes
//! (`validation error: `, `reference error: `).
//!
//! Memory: the index keeps a 64-bit hash per id (keyed per run, so ids
//! cannot be chosen to collide), plus the member lists of distinct
//! channels and users' teams; never an item's text.

mod fields;
mod flat;
mod index;
mod legacy;
pub(crate) mod pattern;
mod schema;
mod tree;

use crate::engine::Engine;
use crate::error::Result;
use crate::io::input::Input;
use index::Index;
use std::fmt;
use std::io::Read;
use std::path::Path;
use tree::Json;

/// Which rules a file was judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImportRules {
    /// JSON Lines `{"type","data"}`: the current schemas and documented
    /// order.
    Current,
    /// The legacy array of `{"type","item"}`: stream-cli's rules.
    Legacy,
}

impl ImportRules {
    /// How the command line names the rules.
    pub fn describe(&self) -> &'static str {
        match self {
            ImportRules::Current => {
                "JSON Lines import file: current rules (official JSON Schemas, required order, references)"
            }
            ImportRules::Legacy => {
                "legacy import array: stream-cli's validator rules (items in any order, its device fields)"
            }
        }
    }
}

/// What the app is known to have; checks that need it run only when given.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    roles: Option<Vec<String>>,
    channel_types: Option<Vec<String>>,
    lighter_channel_ids: bool,
}

impl ImportOptions {
    /// No app knowledge: roles and channel types are not checked.
    pub fn new() -> ImportOptions {
        ImportOptions::default()
    }

    /// The app's roles: a user's `role` must be one of them.
    pub fn roles(&mut self, roles: impl IntoIterator<Item = impl Into<String>>) -> &mut Self {
        self.roles = Some(roles.into_iter().map(Into::into).collect());
        self
    }

    /// The app's channel types: a channel's `type` must be one of them.
    pub fn channel_types(
        &mut self,
        types: impl IntoIterator<Item = impl Into<String>>,
    ) -> &mut Self {
        self.channel_types = Some(types.into_iter().map(Into::into).collect());
        self
    }

    /// Accept `!` in channel ids (`^[\w!-]*$`, stream-cli's
    /// `LighterValidationChannelID`), as exported distinct channels have.
    pub fn lighter_channel_ids(&mut self, yes: bool) -> &mut Self {
        self.lighter_channel_ids = yes;
        self
    }
}

/// The pass that found a problem; it gives the message's prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    /// The file or an item is not readable as an import item.
    Parse,
    /// A field rule (schema, pattern, length, iff-rule).
    Field,
    /// An item out of the required order (current rules).
    Order,
    /// An id seen before.
    Duplicate,
    /// A reference that no item of the file resolves.
    Reference,
    /// A distinct channel without a member entry for one of its users.
    Membership,
}

/// One problem of an import file, at an item.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// The item's first byte in the file.
    pub offset: u64,
    /// The item's line (1-based).
    pub line: u64,
    /// The pass that found it.
    pub stage: Stage,
    /// The message, without the stage's prefix.
    pub message: String,
}

impl fmt::Display for Problem {
    /// The message with stream-cli's prefix for its stage.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = match self.stage {
            Stage::Parse => "parse error: ",
            Stage::Field | Stage::Membership => "validation error: ",
            Stage::Order => "order error: ",
            Stage::Duplicate => "",
            Stage::Reference => "reference error: ",
        };
        write!(f, "{prefix}{}", self.message)
    }
}

/// What a validation found besides its problems.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ImportSummary {
    /// The rules applied (`None` for an empty file).
    pub rules: Option<ImportRules>,
    /// Items read.
    pub items: u64,
    /// Items indexed (valid fields, not duplicates) per type, in the
    /// import order: stream-cli's `Stats`.
    pub indexed: Vec<(&'static str, u64)>,
    /// Problems found.
    pub problems: u64,
}

/// Validates an import file held in memory (a mapped file, typically),
/// handing each problem to `sink` in the order of the passes and, within
/// a pass, of the file. The format is told by the first byte that is not
/// whitespace: `[` is the legacy array, anything else JSON Lines. Field
/// checks and reference checks of JSON Lines run on the engine's pool.
///
/// ```
/// use stream_chat_export::{Engine, ImportOptions, ImportRules, Parallel, validate_import};
///
/// let file = br#"{"type":"user","data":{"id":"ann"}}
/// {"type":"channel","data":{"type":"messaging","id":"general","created_by":"ann"}}
/// {"type":"message","data":{"id":"m1","channel_type":"messaging","channel_id":"general","user":"bob"}}
/// "#;
/// let engine = Engine::new(&Parallel::new())?;
/// let mut problems = Vec::new();
/// let summary = validate_import(&engine, file, &ImportOptions::new(), |p| {
///     problems.push(format!("{}:{}: {p}", p.line, p.offset));
///     Ok(())
/// })?;
/// assert_eq!(summary.rules, Some(ImportRules::Current));
/// assert_eq!(problems, [r#"3:117: reference error: user "bob" doesn't exist (message_id m1)"#]);
/// # Ok::<(), stream_chat_export::Error>(())
/// ```
pub fn validate_import<F>(
    engine: &Engine,
    bytes: &[u8],
    options: &ImportOptions,
    mut sink: F,
) -> Result<ImportSummary>
where
    F: FnMut(Problem) -> Result<()>,
{
    let schemas = schema::Schemas::load(options.lighter_channel_ids)
        .map_err(|e| crate::Error::new(crate::ErrorKind::Usage(e)))?;
    let mut summary = ImportSummary::default();
    // A byte-order mark is tolerated (offsets still count it).
    let start = if bytes.starts_with(b"\xef\xbb\xbf") {
        3
    } else {
        0
    };
    let first = bytes[start..]
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map(|i| start + i);
    let Some(first) = first else {
        return Ok(summary);
    };
    let rules = if bytes[first] == b'[' {
        ImportRules::Legacy
    } else {
        ImportRules::Current
    };
    summary.rules = Some(rules);
    let ctx = fields::Context {
        rules,
        schemas: &schemas,
        lighter: options.lighter_channel_ids,
    };
    let chunks = match rules {
        ImportRules::Current => fields::line_chunks(bytes, start),
        ImportRules::Legacy => match fields::array_items(bytes, first) {
            Ok(chunk) => vec![chunk],
            Err(problem) => {
                summary.problems += 1;
                sink(problem)?;
                return Ok(summary);
            }
        },
    };
    let mut index = Index::new(options, rules);
    let mut problems = 0u64;
    let mut count = |p: Problem, sink: &mut F| {
        problems += 1;
        sink(p)
    };
    // Pass 1: fields (in parallel, a batch of chunks at a time), then
    // indexing in file order, which finds duplicates and order problems.
    for batch in chunks.chunks(batch_len(engine)) {
        let checked: Vec<Vec<fields::Checked>> = engine.pool().install(|| {
            use rayon::prelude::*;
            batch
                .par_iter()
                .map(|c| fields::check_chunk(&ctx, c))
                .collect()
        });
        for mut item in checked.into_iter().flatten() {
            summary.items += 1;
            if let Some(message) = item.parse.take() {
                count(item.problem(Stage::Parse, message), &mut sink)?;
            }
            for message in std::mem::take(&mut item.problems) {
                count(item.problem(Stage::Field, message), &mut sink)?;
            }
            for (stage, message) in index.add(rules, &item) {
                count(item.problem(stage, message), &mut sink)?;
            }
        }
    }
    // Pass 2: every item's references against the whole file.
    for batch in chunks.chunks(batch_len(engine)) {
        let found: Vec<Vec<Problem>> = engine.pool().install(|| {
            use rayon::prelude::*;
            batch
                .par_iter()
                .map(|c| index.check_chunk(&ctx, c))
                .collect()
        });
        for p in found.into_iter().flatten() {
            count(p, &mut sink)?;
        }
    }
    // Pass 3: distinct channels and their member entries.
    for p in index.membership() {
        count(p, &mut sink)?;
    }
    summary.problems = problems;
    summary.indexed = index.counts();
    Ok(summary)
}

/// [`validate_import`] on an [`Input`]: a mapped file is checked in
/// place; a stream (gzip, stdin, a pipe) is first copied — inflated, for
/// gzip — to a temporary file that is mapped, so memory stays bounded by
/// the index whatever the file's size. A gzip stream that does not
/// inflate is an error naming `path`.
pub fn validate_import_input<F>(
    engine: &Engine,
    input: Input,
    path: &Path,
    options: &ImportOptions,
    sink: F,
) -> Result<ImportSummary>
where
    F: FnMut(Problem) -> Result<()>,
{
    let stream = match input {
        Input::Mapped(map) => return validate_import(engine, map.bytes(), options, sink),
        Input::Stream(stream) => stream,
    };
    let named = |e: std::io::Error| crate::Error::from(e).with_path(path);
    let mut head = std::io::BufReader::with_capacity(1 << 20, stream);
    let gzip = std::io::BufRead::fill_buf(&mut head)
        .map_err(named)?
        .starts_with(&[0x1f, 0x8b]);
    let mut reader: Box<dyn Read> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(head))
    } else {
        Box::new(head)
    };
    let mut spool = tempfile::tempfile().map_err(named)?;
    std::io::copy(&mut reader, &mut spool).map_err(named)?;
    if spool.metadata().map_err(named)?.len() == 0 {
        return validate_import(engine, b"", options, sink);
    }
    // SAFETY: the spool is an unnamed temporary file of this process's
    // own; nothing else can truncate it while it is mapped.
    let map = unsafe { memmap2::Mmap::map(&spool) }.map_err(named)?;
    validate_import(engine, &map, options, sink)
}

/// Chunks handled per batch: a few per thread, so memory holds one
/// batch's results, never the whole file's.
fn batch_len(engine: &Engine) -> usize {
    engine.settings().thread_count().max(1) * crate::engine::CHUNKS_PER_THREAD
}

/// An item's envelope type and payload, or why it has none.
pub(crate) fn envelope<'v, 'a>(
    rules: ImportRules,
    value: &'v Json<'a>,
    problems: &mut Vec<String>,
) -> Option<(&'v str, &'v Json<'a>)> {
    let Some(object) = value.as_object() else {
        problems.push("an import item must be a JSON object".to_string());
        return None;
    };
    let payload_key = match rules {
        ImportRules::Current => "data",
        ImportRules::Legacy => "item",
    };
    let type_name = match object.get("type") {
        Some(Json::Str(t)) => t.as_ref(),
        Some(_) => {
            problems.push("item.type must be a string".to_string());
            return None;
        }
        None => {
            problems.push("item.type required".to_string());
            return None;
        }
    };
    if schema::Schemas::for_type(type_name).is_none() {
        problems.push(format!("invalid item type {}", schema::quote(type_name)));
        return None;
    }
    if rules == ImportRules::Current {
        for key in object.keys().filter(|k| *k != "type" && *k != "data") {
            let hint = if key == "item" {
                " (\"item\" is the legacy array's envelope; JSON Lines items are {\"type\",\"data\"})"
            } else {
                " (an item is exactly {\"type\",\"data\"})"
            };
            problems.push(format!("item.{} is not allowed{hint}", schema::quote(key)));
        }
    }
    match object.get(payload_key) {
        Some(payload @ Json::Object(_)) => Some((type_name, payload)),
        Some(_) => {
            problems.push(format!("item.{payload_key} must be an object"));
            None
        }
        None => {
            problems.push(format!("item.{payload_key} required"));
            None
        }
    }
}
