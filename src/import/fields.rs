//! Pass 1 of the validator: framing the items (lines, or the elements of
//! the legacy array) and checking each one's fields on its own.

use super::flat::Lookup;
use super::schema::{Schemas, quote};
use super::tree::{Json, Obj};
use super::{ImportRules, Problem, Stage, envelope, legacy};
use serde_json::value::RawValue;

/// Lines per chunk are cut at the first newline after this many bytes.
const CHUNK: usize = 4 << 20;

/// What the checks share.
pub(crate) struct Context<'s> {
    pub(crate) rules: ImportRules,
    pub(crate) schemas: &'s Schemas,
    /// Accept `!` in channel ids.
    pub(crate) lighter: bool,
}

/// A run of items, checked on one worker.
pub(crate) enum Chunk<'a> {
    /// Lines of a JSON Lines file: `bytes` starts at byte `base` of the
    /// file, on line `line`.
    Lines {
        base: u64,
        line: u64,
        bytes: &'a [u8],
    },
    /// The elements of a legacy array: offset, line, bytes.
    Items(Vec<(u64, u64, &'a [u8])>),
}

impl Chunk<'_> {
    /// Calls `f(offset, line, bytes)` for every item, in order; blank
    /// lines are no items.
    pub(crate) fn for_each(&self, mut f: impl FnMut(u64, u64, &[u8])) {
        match self {
            Chunk::Lines { base, line, bytes } => {
                let mut at = 0;
                let mut number = *line;
                while at < bytes.len() {
                    let end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i);
                    let text = &bytes[at..end];
                    let text = text.strip_suffix(b"\r").unwrap_or(text);
                    if text.iter().any(|b| !b.is_ascii_whitespace()) {
                        f(base + at as u64, number, text);
                    }
                    number += 1;
                    at = end + 1;
                }
            }
            Chunk::Items(items) => {
                for (offset, line, bytes) in items {
                    f(*offset, *line, bytes);
                }
            }
        }
    }
}

/// Cuts a JSON Lines file (from byte `start`, after a byte-order mark)
/// into chunks of whole lines, each knowing its first line number.
pub(crate) fn line_chunks(bytes: &[u8], start: usize) -> Vec<Chunk<'_>> {
    let mut chunks = Vec::new();
    let mut at = start;
    let mut line = 1;
    while at < bytes.len() {
        let cut = (at + CHUNK).min(bytes.len());
        let end = memchr::memchr(b'\n', &bytes[cut..]).map_or(bytes.len(), |i| cut + i + 1);
        let piece = &bytes[at..end];
        chunks.push(Chunk::Lines {
            base: at as u64,
            line,
            bytes: piece,
        });
        line += memchr::memchr_iter(b'\n', piece).count() as u64;
        at = end;
    }
    chunks
}

/// The elements of a legacy array, with their offsets and lines; the
/// array starts at byte `first`.
pub(crate) fn array_items(bytes: &[u8], first: usize) -> Result<Chunk<'_>, Problem> {
    let text = &bytes[first..];
    let line_of_first = 1 + memchr::memchr_iter(b'\n', &bytes[..first]).count() as u64;
    let parsed: Result<Vec<&RawValue>, _> = serde_json::from_slice(text);
    let elements = match parsed {
        Ok(elements) => elements,
        Err(e) => {
            return Err(Problem {
                offset: first as u64,
                line: line_of_first,
                stage: Stage::Parse,
                message: format!("invalid format: the legacy import array does not parse: {e}"),
            });
        }
    };
    let base = bytes.as_ptr() as usize;
    let mut items = Vec::with_capacity(elements.len());
    let (mut line, mut counted) = (1u64, 0usize);
    for raw in elements {
        // The raw value borrows the input: its position is its offset.
        let offset = raw.get().as_ptr() as usize - base;
        line += memchr::memchr_iter(b'\n', &bytes[counted..offset]).count() as u64;
        counted = offset;
        items.push((offset as u64, line, raw.get().as_bytes()));
    }
    Ok(Chunk::Items(items))
}

/// One item after pass 1.
pub(crate) struct Checked {
    pub(crate) offset: u64,
    pub(crate) line: u64,
    /// The item's type, when it has a known one.
    pub(crate) type_name: Option<&'static str>,
    /// Field problems.
    pub(crate) problems: Vec<String>,
    /// Parse problems (the item is not JSON).
    pub(crate) parse: Option<String>,
    /// What the index keeps of it; only for an item without problems.
    pub(crate) key: Option<Key>,
}

impl Checked {
    /// A problem at this item.
    pub(crate) fn problem(&self, stage: Stage, message: String) -> Problem {
        Problem {
            offset: self.offset,
            line: self.line,
            stage,
            message,
        }
    }
}

/// A channel as items refer to it: by type and id, or (distinct
/// channels) by type and member list.
#[derive(Debug, Clone)]
pub(crate) struct ChannelRef {
    pub(crate) ty: String,
    pub(crate) id: Option<String>,
    pub(crate) members: Vec<String>,
}

impl ChannelRef {
    /// From an item's fields: `type_key` plus `id_key` or `members_key`.
    pub(crate) fn read<L: Lookup + ?Sized>(data: &L, keys: [&str; 3]) -> ChannelRef {
        let id = text(data, keys[1]).filter(|s| !s.is_empty());
        ChannelRef {
            ty: text(data, keys[0]).unwrap_or("").to_string(),
            id: id.map(str::to_string),
            members: if id.is_some() {
                Vec::new()
            } else {
                strings(data, keys[2])
            },
        }
    }

    /// `type:id`, or `type:[a b]` for a distinct channel (as stream-cli
    /// prints them).
    pub(crate) fn display(&self) -> String {
        match &self.id {
            Some(id) => format!("{}:{id}", self.ty),
            None => format!("{}:[{}]", self.ty, self.members.join(" ")),
        }
    }

    /// The channel's identity: type and id, or type and member set.
    pub(crate) fn identity(&self) -> Vec<u8> {
        let mut out = self.ty.as_bytes().to_vec();
        match &self.id {
            Some(id) => {
                out.extend_from_slice(b"\0#");
                out.extend_from_slice(id.as_bytes());
            }
            None => {
                let mut members: Vec<&str> = self.members.iter().map(String::as_str).collect();
                members.sort_unstable();
                members.dedup();
                out.extend_from_slice(b"\0[");
                for m in members {
                    out.extend_from_slice(m.as_bytes());
                    out.push(0);
                }
            }
        }
        out
    }
}

/// What the index keeps of a valid item.
pub(crate) enum Key {
    User {
        id: String,
        teams: Vec<String>,
    },
    Channel {
        channel: ChannelRef,
        team: Option<String>,
    },
    Member {
        channel: ChannelRef,
        user: String,
    },
    Message {
        id: String,
        reply: bool,
    },
    Reaction {
        message: String,
        kind: String,
        user: String,
    },
    Device {
        id: String,
    },
    Ban,
}

/// A string field (`None`: absent, null or not a string).
pub(crate) fn text<'v, L: Lookup + ?Sized>(data: &'v L, key: &str) -> Option<&'v str> {
    data.text(key)
}

/// The strings of an array field (other elements skipped).
pub(crate) fn strings<L: Lookup + ?Sized>(data: &L, key: &str) -> Vec<String> {
    data.strings(key)
}

/// Parses one item; a lone escaped surrogate is repaired (`\ufffd`), as
/// Go's decoder (Stream's importer) does.
pub(crate) fn parse(bytes: &[u8]) -> Result<Json<'_>, String> {
    match from_bytes::<Json<'_>>(bytes) {
        Ok(v) => Ok(v),
        Err(e) => match crate::decode::surrogates::replace_lone_surrogates(bytes) {
            Some(repaired) => serde_json::from_slice::<Json<'_>>(&repaired)
                .map(Json::into_owned)
                .map_err(|e| e.to_string()),
            None => Err(e.to_string()),
        },
    }
}

/// Deserializes an item: from a `str` when simdutf8 finds it valid UTF-8,
/// so serde_json skips its own check of every string (a tenth of the
/// validator's time); invalid UTF-8 is read as bytes, so its error is
/// serde_json's, as before.
pub(crate) fn from_bytes<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> serde_json::Result<T> {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    }
}

/// Pass 1 over one chunk.
pub(crate) fn check_chunk(ctx: &Context<'_>, chunk: &Chunk<'_>) -> Vec<Checked> {
    let mut out = Vec::new();
    chunk.for_each(|offset, line, bytes| out.push(check_item(ctx, offset, line, bytes)));
    out
}

fn check_item(ctx: &Context<'_>, offset: u64, line: u64, bytes: &[u8]) -> Checked {
    let mut checked = Checked {
        offset,
        line,
        type_name: None,
        problems: Vec::new(),
        parse: None,
        key: None,
    };
    let value = match parse(bytes) {
        Ok(v) => v,
        Err(e) => {
            checked.parse = Some(format!("invalid JSON: {e}"));
            return checked;
        }
    };
    let mut problems = Vec::new();
    let Some((type_name, payload)) = envelope(ctx.rules, &value, &mut problems) else {
        checked.problems = problems;
        return checked;
    };
    let type_name = canonical(type_name);
    checked.type_name = Some(type_name);
    let data = payload
        .as_object()
        .expect("envelope checked it is an object");
    match ctx.rules {
        ImportRules::Current => {
            let schema = Schemas::for_type(type_name).expect("known type");
            ctx.schemas.check(schema, payload, type_name, &mut problems);
            current_extras(type_name, data, &mut problems);
        }
        ImportRules::Legacy => problems.extend(legacy::check(type_name, data, ctx.lighter)),
    }
    if problems.is_empty() {
        checked.key = Some(key(type_name, data));
    }
    checked.problems = problems;
    checked
}

/// The type names of items, canonical (`channel_member` is `member`).
pub(crate) fn canonical(type_name: &str) -> &'static str {
    match type_name {
        "user" => "user",
        "device" => "device",
        "future_channel_ban" => "future_channel_ban",
        "channel" => "channel",
        "message" => "message",
        "reaction" => "reaction",
        _ => "member",
    }
}

/// Rules of the current format that the schemas leave out: the reaction
/// type's pattern and length (documented, and enforced by stream-cli), and
/// `deleted_at` on a message whose type is missing (it defaults to
/// `regular`, which the schema's `properties` check cannot see).
fn current_extras(type_name: &str, data: &Obj<'_>, out: &mut Vec<String>) {
    match type_name {
        "reaction" => {
            if let Some(t) = text(data, "type") {
                out.extend(legacy::reaction_type(t));
            }
        }
        "message" => {
            let ty = text(data, "type").unwrap_or("");
            if ty.is_empty()
                && let Some(at) = text(data, "deleted_at")
            {
                out.push(format!(
                    "message.deleted_at {} while message.type is \"regular\"",
                    quote(&super::pattern::go_rfc3339(at))
                ));
            }
        }
        _ => {}
    }
}

/// What the index keeps of a valid item.
fn key(type_name: &str, data: &Obj<'_>) -> Key {
    let s = |k: &str| text(data, k).unwrap_or("").to_string();
    match type_name {
        "user" => Key::User {
            id: s("id"),
            teams: strings(data, "teams"),
        },
        "channel" => Key::Channel {
            channel: ChannelRef::read(data, ["type", "id", "member_ids"]),
            team: text(data, "team")
                .filter(|t| !t.is_empty())
                .map(str::to_string),
        },
        "member" => Key::Member {
            channel: ChannelRef::read(data, ["channel_type", "channel_id", "channel_member_ids"]),
            user: s("user_id"),
        },
        "message" => Key::Message {
            id: s("id"),
            reply: text(data, "parent_id").is_some_and(|p| !p.is_empty()),
        },
        "reaction" => Key::Reaction {
            message: s("message_id"),
            kind: s("type"),
            user: s("user_id"),
        },
        "device" => Key::Device { id: s("id") },
        _ => Key::Ban,
    }
}
