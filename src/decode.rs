//! The pure per-record decoder shared by every format: bytes of one record
//! (a line, an array element, a v1 nested entity) in, an [`Entity`] out.
//! No I/O, no state: the reader resolves inherited channels afterwards.
//!
//! One pass of serde_json over the record collects the key fields into
//! borrowed strings and skips everything else; an envelope's payload is
//! captured as a raw slice and decoded by a second pass over that slice.

use crate::entity::{ChannelSource, Entity, Envelope, Fields, Kind};
use crate::error::ErrorKind;
use crate::timestamp::Timestamp;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// What the decoder was told about a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hint {
    /// A line or a top-level array element: an envelope or a bare object.
    Record,
    /// An entity nested in a v1 document, whose kind its position gives.
    Nested(Kind),
}

/// The decoder's answer.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // the entity is the common case; boxing it would cost an allocation per record
pub(crate) enum Decoded<'a> {
    /// One entity.
    Entity(Entity<'a>),
    /// A v1 channel object (or synchronous user export) on its own: the
    /// caller expands it with the v1 walker.
    Unit,
    /// Only whitespace.
    Blank,
}

/// A decoding failure, `at` bytes into the record.
#[derive(Debug)]
pub(crate) struct DecodeError {
    pub kind: ErrorKind,
    pub at: usize,
}

/// Lenient repairs the caller allows.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Repairs {
    /// Replace invalid UTF-8 with U+FFFD instead of failing.
    pub lossy_utf8: bool,
    /// Replace escaped lone surrogates (`\ud83d` alone) with U+FFFD
    /// instead of failing.
    pub lone_surrogates: bool,
    /// Deepest nesting accepted inside an entity (0 means the default);
    /// never above [`MAX_RECORD_DEPTH`].
    pub max_depth: usize,
}

impl Repairs {
    fn depth_limit(&self) -> usize {
        match self.max_depth {
            0 => MAX_RECORD_DEPTH,
            n => n.min(MAX_RECORD_DEPTH),
        }
    }
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// The record without surrounding JSON whitespace, and where it starts.
pub(crate) fn trim(bytes: &[u8]) -> (usize, &[u8]) {
    let start = bytes.iter().position(|&b| !is_ws(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| !is_ws(b))
        .map_or(start, |e| e + 1);
    (start, &bytes[start..end])
}

/// Decodes one record. `offset` is the record's position in the input, so
/// entities can report it; errors are relative to `bytes`.
pub(crate) fn decode_record<'a>(
    bytes: &'a [u8],
    offset: u64,
    hint: Hint,
    repairs: Repairs,
) -> Result<Decoded<'a>, DecodeError> {
    let (lead, record) = trim(bytes);
    if record.is_empty() {
        return Ok(Decoded::Blank);
    }
    let offset = offset + lead as u64;
    let text = match std::str::from_utf8(record) {
        Ok(text) => text,
        Err(e) if !repairs.lossy_utf8 => {
            // A v1 channel object on one line with one damaged entity: walk
            // it, so only that entity is lost (its bytes are checked again
            // when it is decoded on its own).
            if hint == Hint::Record
                && serde_json::from_str::<RawFields<'_>>(&String::from_utf8_lossy(record))
                    .is_ok_and(|top| top.is_unit())
            {
                return Ok(Decoded::Unit);
            }
            return Err(DecodeError {
                kind: ErrorKind::InvalidUtf8,
                at: lead + e.valid_up_to(),
            });
        }
        Err(_) => {
            let fixed = String::from_utf8_lossy(record).into_owned();
            return decode_repaired(fixed.into_bytes(), offset, hint, repairs)
                .map_err(|e| DecodeError { at: 0, ..e });
        }
    };
    // serde_json checks escapes only in the strings it decodes; a lone
    // surrogate in a skipped field would slip through and break
    // `to_value()` later. `\ud` / `\uD` starts every surrogate escape.
    if has_surrogate_escape(record) && replace_lone_surrogates(record).is_some() {
        if !repairs.lone_surrogates {
            let at = memchr::memmem::find(record, b"\\ud")
                .into_iter()
                .chain(memchr::memmem::find(record, b"\\uD"))
                .min()
                .unwrap_or(0);
            return Err(DecodeError {
                kind: ErrorKind::Json {
                    message: "lone surrogate in a \\u escape".to_string(),
                },
                at: lead + at,
            });
        }
        if let Some(fixed) = replace_lone_surrogates(record) {
            return decode_repaired(fixed, offset, hint, repairs);
        }
    }
    let decoded = decode_text(text, offset, hint).map_err(|e| shift(e, lead))?;
    // A v1 channel object is walked entity by entity (each checked then);
    // an entity must nest no deeper than serde_json can build.
    if let (Decoded::Entity(_), Some(at)) = (&decoded, too_deep(record, repairs.depth_limit())) {
        return Err(DecodeError {
            kind: ErrorKind::TooDeep {
                max: repairs.depth_limit(),
            },
            at: lead + at,
        });
    }
    Ok(decoded)
}

/// The deepest nesting an entity may have: serde_json's own recursion
/// limit, so every entity can also be turned into a `serde_json::Value`.
pub(crate) const MAX_RECORD_DEPTH: usize = 127;

fn has_surrogate_escape(record: &[u8]) -> bool {
    let mut at = 0;
    while let Some(i) = memchr::memchr(b'\\', &record[at..]) {
        let i = at + i;
        if record.get(i + 1) == Some(&b'u') && matches!(record.get(i + 2), Some(b'd' | b'D')) {
            return true;
        }
        // Skip the escaped character (so `\\ud` is not an escape).
        at = i + 2;
        if at >= record.len() {
            return false;
        }
    }
    false
}

/// Where a record nests deeper than `limit`, if it does.
/// Counting opening brackets first (SIMD) makes the common case free.
fn too_deep(record: &[u8], limit: usize) -> Option<usize> {
    let opens = memchr::memchr2_iter(b'{', b'[', record).count();
    if opens <= limit {
        return None;
    }
    let (mut depth, mut strings) = (0usize, crate::structural::StringState::default());
    for (i, &b) in record.iter().enumerate() {
        if !strings.outside(b) {
            continue;
        }
        match b {
            b'{' | b'[' => {
                depth += 1;
                if depth > limit {
                    return Some(i);
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

fn shift(mut e: DecodeError, by: usize) -> DecodeError {
    e.at += by;
    e
}

/// Decodes a repaired copy; everything it yields is owned.
fn decode_repaired(
    fixed: Vec<u8>,
    offset: u64,
    hint: Hint,
    repairs: Repairs,
) -> Result<Decoded<'static>, DecodeError> {
    let text = match String::from_utf8(fixed) {
        Ok(t) => t,
        Err(_) => {
            return Err(DecodeError {
                kind: ErrorKind::InvalidUtf8,
                at: 0,
            });
        }
    };
    let fixed = if repairs.lone_surrogates {
        replace_lone_surrogates(text.as_bytes())
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or(text)
    } else {
        text
    };
    let decoded = decode_text(&fixed, offset, hint)?;
    if let (Decoded::Entity(_), Some(at)) =
        (&decoded, too_deep(fixed.as_bytes(), repairs.depth_limit()))
    {
        return Err(DecodeError {
            kind: ErrorKind::TooDeep {
                max: repairs.depth_limit(),
            },
            at,
        });
    }
    Ok(match decoded {
        Decoded::Entity(mut e) => {
            e.lossy = true;
            Decoded::Entity(e.into_owned())
        }
        Decoded::Unit => Decoded::Unit,
        Decoded::Blank => Decoded::Blank,
    })
}

fn json_error(e: serde_json::Error, text: &str) -> DecodeError {
    // serde_json reports line and column within the slice it parsed; turn
    // them into a byte offset within the record.
    let at = if e.line() == 0 {
        0
    } else {
        let line_start = text
            .match_indices('\n')
            .nth(e.line().saturating_sub(2))
            .map_or(0, |(i, _)| i + 1);
        let line_start = if e.line() == 1 { 0 } else { line_start };
        (line_start + e.column().saturating_sub(1)).min(text.len())
    };
    let mut message = e.to_string();
    if let Some(cut) = message.rfind(" at line ") {
        message.truncate(cut);
    }
    let kind = if e.is_eof() {
        ErrorKind::Truncated { what: "a record" }
    } else {
        ErrorKind::Json { message }
    };
    DecodeError { kind, at }
}

fn decode_text<'a>(text: &'a str, offset: u64, hint: Hint) -> Result<Decoded<'a>, DecodeError> {
    if !text.starts_with('{') {
        // Not an object: report a JSON error when it is not even JSON.
        serde_json::from_str::<IgnoredAny>(text).map_err(|e| json_error(e, text))?;
        return Err(DecodeError {
            kind: ErrorKind::NotAnObject,
            at: 0,
        });
    }
    let record = text.as_bytes();
    match hint {
        Hint::Nested(kind) => {
            let top: RawFields<'a> = serde_json::from_str(text).map_err(|e| json_error(e, text))?;
            let type_name = Cow::Borrowed(kind.as_str());
            Ok(Decoded::Entity(build(
                kind,
                type_name,
                Envelope::Nested,
                record,
                record,
                offset,
                top,
            )))
        }
        Hint::Record => {
            // One pass: an envelope's payload is decoded in place (no
            // second parse of its bytes); its exact bytes are then found
            // by a walk over the record's structural masks.
            let TopFields(mut top, item, data, top_keys) =
                serde_json::from_str(text).map_err(|e| json_error(e, text))?;
            let payload = match (item, data) {
                (Some(item), _) => Some((Envelope::Item, item)),
                (None, Some(data)) => Some((Envelope::Data, data)),
                (None, None) => None,
            };
            if let (Some(type_name), Some((envelope, Payload::Object(inner))), false) =
                (&top.type_, payload, top.has(ENTITY_KEYS))
                && top.has(TYPE_IS_STRING)
            {
                let kind = Kind::from_type_name(type_name);
                let name = if kind == Kind::Other {
                    type_name.clone()
                } else {
                    Cow::Borrowed(kind.as_str())
                };
                let raw = match compact_payload(record, top_keys, envelope)
                    .or_else(|| crate::scan::payload_bytes(record))
                {
                    Some(raw) => raw,
                    // Unusual spelling (an escaped key): find the payload
                    // with serde_json instead.
                    None => payload_by_serde(text)?,
                };
                return Ok(Decoded::Entity(build(
                    kind, name, envelope, raw, record, offset, *inner,
                )));
            }
            if top.is_unit() {
                return Ok(Decoded::Unit);
            }
            top.item = None;
            let kind = top.classify();
            Ok(Decoded::Entity(build(
                kind,
                Cow::Borrowed(kind.as_str()),
                Envelope::Bare,
                record,
                record,
                offset,
                top,
            )))
        }
    }
}

/// The bytes of an envelope's payload (`item`, else `data`), found by
/// serde_json: the slow path behind [`crate::scan::payload_bytes`].
fn payload_by_serde(text: &str) -> Result<&[u8], DecodeError> {
    let top: RawFields<'_> = serde_json::from_str(text).map_err(|e| json_error(e, text))?;
    top.item
        .or(top.data)
        .map(|raw| raw.get().as_bytes())
        .ok_or(DecodeError {
            kind: ErrorKind::Structure {
                message: "envelope payload not found".into(),
            },
            at: 0,
        })
}

/// The top level of a line: its fields, and an envelope's `item` and
/// `data` decoded in the same pass.
struct TopFields<'a>(
    RawFields<'a>,
    Option<Payload<'a>>,
    Option<Payload<'a>>,
    usize,
);

/// The payload of the common compact envelope `{"type":"T","item":{...}}`
/// (exactly these two keys, in this order, no spaces), found from its
/// fixed prefix; anything else goes to the structural walk.
fn compact_payload(record: &[u8], keys: usize, envelope: Envelope) -> Option<&[u8]> {
    let rest = record.strip_prefix(b"{\"type\":\"")?;
    if keys != 2 {
        return None;
    }
    let close = memchr::memchr2(b'"', b'\\', rest)?;
    if rest[close] != b'"' {
        return None;
    }
    let key: &[u8] = match envelope {
        Envelope::Item => b"\",\"item\":",
        _ => b"\",\"data\":",
    };
    let payload = rest[close..].strip_prefix(key)?;
    // The payload is the last value: it ends before the closing brace.
    let end = payload.iter().rposition(|&b| b == b'}')?;
    let payload = &payload[..end];
    let payload = &payload[..payload
        .iter()
        .rposition(|&b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))?
        + 1];
    (payload.first() == Some(&b'{') && payload.last() == Some(&b'}')).then_some(payload)
}

/// An envelope payload decoded in place: an object's fields, or any other
/// value (then it is no envelope).
enum Payload<'a> {
    Object(Box<RawFields<'a>>),
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for TopFields<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TopVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for TopVisitor<'a> {
            type Value = TopFields<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let mut item = None;
                let mut data = None;
                let mut keys = 0;
                let fields = visit_fields(map, &mut |key, map: &mut A| {
                    keys += 1;
                    match key {
                        Key::Item => item = Some(map.next_value::<Payload<'a>>()?),
                        Key::Data => data = Some(map.next_value::<Payload<'a>>()?),
                        _ => return Ok(false),
                    }
                    Ok(true)
                })?;
                Ok(TopFields(fields, item, data, keys))
            }
        }
        d.deserialize_map(TopVisitor(std::marker::PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Payload<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct PayloadVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for PayloadVisitor<'a> {
            type Value = Payload<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let fields = FieldsVisitor(std::marker::PhantomData).visit_map(map)?;
                Ok(Payload::Object(Box::new(fields)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Payload::Other)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Payload::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Payload::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Payload::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Payload::Other)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Payload::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Payload::Other)
            }
        }
        d.deserialize_any(PayloadVisitor(std::marker::PhantomData))
    }
}

fn build<'a>(
    kind: Kind,
    type_name: Cow<'a, str>,
    envelope: Envelope,
    raw: &'a [u8],
    record: &'a [u8],
    offset: u64,
    f: RawFields<'a>,
) -> Entity<'a> {
    let mut cid = f.cid.or(f.channel_cid);
    if cid.is_none() {
        if let (Some(t), Some(i)) = (&f.channel_type, &f.channel_id) {
            cid = Some(Cow::Owned(format!("{t}:{i}")));
        } else if kind == Kind::Channel
            && let (Some(t), Some(i)) = (&f.type_, &f.id)
        {
            cid = Some(Cow::Owned(format!("{t}:{i}")));
        }
    }
    let channel_source = if cid.is_some() {
        ChannelSource::Own
    } else {
        ChannelSource::None
    };
    // FORMAT.md: `user_id`, else `user.id`, else a message's `user` given
    // as a string (import files), else a channel's `created_by`; a user
    // record belongs to itself.
    let user_is_object = f.keys & USER_OBJECT != 0;
    let (user, created_by) = (f.user, f.created_by);
    let user_id = match (f.user_id, user) {
        (Some(id), _) => Some(id),
        (None, Some(id)) if user_is_object || kind == Kind::Message => Some(id),
        _ => match kind {
            Kind::Channel => created_by,
            Kind::User => f.id.clone(),
            _ => None,
        },
    };
    let created_at = f.created_at.as_deref().and_then(Timestamp::parse);
    Entity {
        kind,
        type_name,
        envelope,
        raw: Cow::Borrowed(raw),
        record: Cow::Borrowed(record),
        offset,
        lossy: false,
        channel_source,
        fields: Fields {
            id: f.id,
            cid,
            user_id,
            created_at_text: f.created_at,
            created_at,
            type_field: f.type_,
            text: f.text,
            parent_id: f.parent_id,
            message_id: f.message_id,
            has_cid_key: f.keys & HAS_CID != 0,
        },
    }
}

/// Replaces every escaped surrogate that is not part of a valid pair with
/// `\ufffd`. Returns `None` when there is nothing to replace.
pub(crate) fn replace_lone_surrogates(bytes: &[u8]) -> Option<Vec<u8>> {
    fn hex4(b: &[u8]) -> Option<u16> {
        let s = std::str::from_utf8(b.get(..4)?).ok()?;
        u16::from_str_radix(s, 16).ok()
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut changed = false;
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        let b = bytes[i];
        if !in_string {
            in_string = b == b'"';
            out.push(b);
            i += 1;
            continue;
        }
        match b {
            b'"' => {
                in_string = false;
                out.push(b);
                i += 1;
            }
            b'\\' if bytes.get(i + 1) == Some(&b'u') => {
                let unit = hex4(&bytes[i + 2..]);
                match unit {
                    Some(0xD800..=0xDBFF) => {
                        let lo = if bytes.get(i + 6) == Some(&b'\\')
                            && bytes.get(i + 7) == Some(&b'u')
                        {
                            hex4(&bytes[i + 8..])
                        } else {
                            None
                        };
                        if matches!(lo, Some(0xDC00..=0xDFFF)) {
                            out.extend_from_slice(&bytes[i..i + 12]);
                            i += 12;
                        } else {
                            out.extend_from_slice(b"\\ufffd");
                            changed = true;
                            i += 6;
                        }
                    }
                    Some(0xDC00..=0xDFFF) => {
                        out.extend_from_slice(b"\\ufffd");
                        changed = true;
                        i += 6;
                    }
                    _ => {
                        out.extend_from_slice(&bytes[i..(i + 2).min(bytes.len())]);
                        i += 2;
                    }
                }
            }
            b'\\' => {
                out.extend_from_slice(&bytes[i..(i + 2).min(bytes.len())]);
                i += 2;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    changed.then_some(out)
}

// ---------------------------------------------------------------------------
// The one-pass field collector.

const HAS_ID: u32 = 1;
const HAS_CID: u32 = 1 << 1;
const HAS_MESSAGE_ID: u32 = 1 << 2;
const HAS_USER_ID: u32 = 1 << 3;
const HAS_TYPE: u32 = 1 << 4;
const HAS_TEXT: u32 = 1 << 5;
const HAS_HTML: u32 = 1 << 6;
const HAS_CONFIG: u32 = 1 << 7;
const HAS_MEMBER_COUNT: u32 = 1 << 8;
const HAS_CHANNEL_ROLE: u32 = 1 << 9;
const HAS_USER: u32 = 1 << 10;
const HAS_LAST_READ: u32 = 1 << 11;
const HAS_ROLE: u32 = 1 << 12;
const HAS_NAME: u32 = 1 << 13;
const CHANNEL_OBJECT: u32 = 1 << 14;
const MESSAGES_ARRAY: u32 = 1 << 15;
const MEMBERS_ARRAY: u32 = 1 << 16;
const USER_OBJECT: u32 = 1 << 17;
const TYPE_IS_STRING: u32 = 1 << 18;
const CHANNELS_ARRAY: u32 = 1 << 19;

/// Keys that make an object an entity rather than an envelope, even when it
/// also has `type` and `data`/`item` (a message with a custom `data` field).
const ENTITY_KEYS: u32 = HAS_ID | HAS_CID | HAS_MESSAGE_ID | HAS_USER_ID;

#[derive(Default)]
struct RawFields<'a> {
    keys: u32,
    type_: Option<Cow<'a, str>>,
    item: Option<&'a RawValue>,
    data: Option<&'a RawValue>,
    id: Option<Cow<'a, str>>,
    cid: Option<Cow<'a, str>>,
    channel_cid: Option<Cow<'a, str>>,
    channel_type: Option<Cow<'a, str>>,
    channel_id: Option<Cow<'a, str>>,
    message_id: Option<Cow<'a, str>>,
    user_id: Option<Cow<'a, str>>,
    user: Option<Cow<'a, str>>,
    created_by: Option<Cow<'a, str>>,
    text: Option<Cow<'a, str>>,
    parent_id: Option<Cow<'a, str>>,
    created_at: Option<Cow<'a, str>>,
}

impl<'a> RawFields<'a> {
    fn has(&self, keys: u32) -> bool {
        self.keys & keys != 0
    }

    fn has_all(&self, keys: u32) -> bool {
        self.keys & keys == keys
    }

    /// A v1 channel object (`channel` plus `messages` and/or `members`), a
    /// synchronous user export (`user` object plus `messages`), or a
    /// `{"channels": [...]}` wrapper.
    fn is_unit(&self) -> bool {
        (self.has(CHANNEL_OBJECT) && self.has(MESSAGES_ARRAY | MEMBERS_ARRAY))
            || self.has_all(USER_OBJECT | MESSAGES_ARRAY)
            || self.has(CHANNELS_ARRAY)
    }

    /// FORMAT.md's rules for bare objects, first match wins.
    fn classify(&self) -> Kind {
        if self.has(HAS_CID) && self.has(HAS_CONFIG | HAS_MEMBER_COUNT) {
            Kind::Channel
        } else if self.has_all(HAS_MESSAGE_ID | HAS_TYPE) {
            Kind::Reaction
        } else if self.has(HAS_ID) && self.has(HAS_TEXT | HAS_HTML) {
            Kind::Message
        } else if self.has(HAS_CHANNEL_ROLE) || self.has_all(HAS_USER_ID | HAS_USER) {
            Kind::Member
        } else if self.has(HAS_LAST_READ) {
            Kind::Read
        } else if self.has(HAS_ID) && self.has(HAS_ROLE | HAS_NAME) {
            Kind::User
        } else {
            Kind::Other
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawFields<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(FieldsVisitor(std::marker::PhantomData))
    }
}

struct FieldsVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for FieldsVisitor<'a> {
    type Value = RawFields<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        visit_fields(map, &mut |_, _: &mut A| Ok(false))
    }
}

/// The one-pass field collector. `hook` may take a key's value first
/// (returning true); the top level uses it to decode envelope payloads.
fn visit_fields<'de: 'a, 'a, A, H>(mut map: A, hook: &mut H) -> Result<RawFields<'a>, A::Error>
where
    A: MapAccess<'de>,
    H: FnMut(Key, &mut A) -> Result<bool, A::Error>,
{
    {
        let mut f = RawFields::default();
        while let Some(key) = map.next_key::<Key>()? {
            if hook(key, &mut map)? {
                continue;
            }
            match key {
                Key::Type => {
                    f.keys |= HAS_TYPE;
                    let text = map.next_value::<Text<'a>>()?;
                    // Later duplicates win, for the flag as for the value.
                    f.keys &= !TYPE_IS_STRING;
                    if text.1 {
                        f.keys |= TYPE_IS_STRING;
                    }
                    f.type_ = text.0;
                }
                Key::Item => f.item = Some(map.next_value()?),
                Key::Data => f.data = Some(map.next_value()?),
                Key::Id => {
                    f.keys |= HAS_ID;
                    f.id = map.next_value::<Text<'a>>()?.0;
                }
                Key::Cid => {
                    f.keys |= HAS_CID;
                    f.cid = map.next_value::<Text<'a>>()?.0;
                }
                Key::ChannelCid => f.channel_cid = map.next_value::<Text<'a>>()?.0,
                Key::ChannelType => f.channel_type = map.next_value::<Text<'a>>()?.0,
                Key::ChannelId => f.channel_id = map.next_value::<Text<'a>>()?.0,
                Key::MessageId => {
                    f.keys |= HAS_MESSAGE_ID;
                    f.message_id = map.next_value::<Text<'a>>()?.0;
                }
                Key::UserId => {
                    f.keys |= HAS_USER_ID;
                    f.user_id = map.next_value::<Text<'a>>()?.0;
                }
                Key::User => {
                    f.keys |= HAS_USER;
                    let user = map.next_value::<UserRef<'a>>()?;
                    f.keys &= !USER_OBJECT;
                    if user.is_object {
                        f.keys |= USER_OBJECT;
                    }
                    f.user = user.id;
                }
                Key::CreatedBy => f.created_by = map.next_value::<UserRef<'a>>()?.id,
                Key::Text => {
                    f.keys |= HAS_TEXT;
                    f.text = map.next_value::<Text<'a>>()?.0;
                }
                Key::ParentId => f.parent_id = map.next_value::<Text<'a>>()?.0,
                Key::CreatedAt => f.created_at = map.next_value::<Text<'a>>()?.0,
                Key::Flag(flag) => {
                    f.keys |= flag;
                    map.next_value::<IgnoredAny>()?;
                }
                Key::Channel | Key::Messages | Key::Members | Key::Channels => {
                    let raw: &'a RawValue = map.next_value()?;
                    let first = raw.get().as_bytes().first().copied();
                    f.keys |= match (key, first) {
                        (Key::Channel, Some(b'{')) => CHANNEL_OBJECT,
                        (Key::Messages, Some(b'[')) => MESSAGES_ARRAY,
                        (Key::Members, Some(b'[')) => MEMBERS_ARRAY,
                        (Key::Channels, Some(b'[')) => CHANNELS_ARRAY,
                        _ => 0,
                    };
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(f)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    Type,
    Item,
    Data,
    Id,
    Cid,
    ChannelCid,
    ChannelType,
    ChannelId,
    MessageId,
    UserId,
    User,
    CreatedBy,
    Text,
    ParentId,
    CreatedAt,
    Channel,
    Messages,
    Members,
    Channels,
    /// A key whose presence matters for classification only.
    Flag(u32),
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E: de::Error>(self, k: &str) -> Result<Key, E> {
                Ok(key_of(k.as_bytes()))
            }
        }
        d.deserialize_identifier(KeyVisitor)
    }
}

/// The key's meaning. Dispatches on length and first byte before any
/// comparison: most keys of an entity are of no interest and cost one or
/// two compares.
fn key_of(k: &[u8]) -> Key {
    match (k.len(), k.first().copied().unwrap_or(0)) {
        (2, b'i') if k == b"id" => Key::Id,
        (3, b'c') if k == b"cid" => Key::Cid,
        (4, b't') if k == b"type" => Key::Type,
        (4, b't') if k == b"text" => Key::Text,
        (4, b'i') if k == b"item" => Key::Item,
        (4, b'd') if k == b"data" => Key::Data,
        (4, b'u') if k == b"user" => Key::User,
        (4, b'h') if k == b"html" => Key::Flag(HAS_HTML),
        (4, b'r') if k == b"role" => Key::Flag(HAS_ROLE),
        (4, b'n') if k == b"name" => Key::Flag(HAS_NAME),
        (6, b'c') if k == b"config" => Key::Flag(HAS_CONFIG),
        (7, b'u') if k == b"user_id" => Key::UserId,
        (7, b'c') if k == b"channel" => Key::Channel,
        (7, b'm') if k == b"members" => Key::Members,
        (8, b'm') if k == b"messages" => Key::Messages,
        (8, b'c') if k == b"channels" => Key::Channels,
        (9, b'p') if k == b"parent_id" => Key::ParentId,
        (9, b'l') if k == b"last_read" => Key::Flag(HAS_LAST_READ),
        (10, b'c') if k == b"channel_id" => Key::ChannelId,
        (10, b'c') if k == b"created_at" => Key::CreatedAt,
        (10, b'c') if k == b"created_by" => Key::CreatedBy,
        (10, b'm') if k == b"message_id" => Key::MessageId,
        (11, b'c') if k == b"channel_cid" => Key::ChannelCid,
        (12, b'c') if k == b"channel_type" => Key::ChannelType,
        (12, b'c') if k == b"channel_role" => Key::Flag(HAS_CHANNEL_ROLE),
        (12, b'm') if k == b"member_count" => Key::Flag(HAS_MEMBER_COUNT),
        _ => Key::Other,
    }
}

/// A key of a user object: only `id` matters there.
struct IdKey(bool);

impl<'de> Deserialize<'de> for IdKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = IdKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E: de::Error>(self, k: &str) -> Result<IdKey, E> {
                Ok(IdKey(k == "id"))
            }
        }
        d.deserialize_identifier(V)
    }
}

/// A string field, borrowed when it has no escapes. Integers are kept as
/// their decimal text (an id written as a number); other values are
/// skipped and read as absent. The flag tells whether it was a string.
struct Text<'a>(Option<Cow<'a, str>>, bool);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor(std::marker::PhantomData))
    }
}

struct TextVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
    type Value = Text<'a>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Borrowed(v)), true))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_owned())), true))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v)), true))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_string())), false))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_string())), false))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Text(None, false))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Text(None, false))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Text(None, false))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Text(None, false))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Text(None, false))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Text(None, false))
    }
}

/// A user reference: an object with an `id`, or an id string.
struct UserRef<'a> {
    id: Option<Cow<'a, str>>,
    is_object: bool,
}

impl<'de: 'a, 'a> Deserialize<'de> for UserRef<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct UserVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for UserVisitor<'a> {
            type Value = UserRef<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a user object or id")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut id = None;
                while let Some(IdKey(is_id)) = map.next_key::<IdKey>()? {
                    if is_id {
                        id = map.next_value::<Text<'a>>()?.0;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(UserRef {
                    id,
                    is_object: true,
                })
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(UserRef {
                    id: Some(Cow::Borrowed(v)),
                    is_object: false,
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(UserRef {
                    id: Some(Cow::Owned(v.to_owned())),
                    is_object: false,
                })
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(UserRef {
                    id: Some(Cow::Owned(v)),
                    is_object: false,
                })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                self.visit_string(v.to_string())
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                self.visit_string(v.to_string())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                self.visit_unit()
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                self.visit_unit()
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(UserRef {
                    id: None,
                    is_object: false,
                })
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                self.visit_unit()
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                self.visit_unit()
            }
        }
        d.deserialize_any(UserVisitor(std::marker::PhantomData))
    }
}

/// The entries of a JSON object, in order, values unparsed.
pub(crate) fn object_entries(text: &str) -> serde_json::Result<Vec<(Cow<'_, str>, &RawValue)>> {
    struct Entries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);
    impl<'de: 'a, 'a> Deserialize<'de> for Entries<'a> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<'a>(std::marker::PhantomData<&'a ()>);
            impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
                type Value = Entries<'a>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                    let mut out = Vec::new();
                    while let Some(Text(key, _)) = map.next_key::<Text<'a>>()? {
                        let value: &'a RawValue = map.next_value()?;
                        out.push((key.unwrap_or_default(), value));
                    }
                    Ok(Entries(out))
                }
            }
            d.deserialize_map(V(std::marker::PhantomData))
        }
    }
    serde_json::from_str::<Entries<'_>>(text).map(|e| e.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(line: &str) -> Entity<'_> {
        match decode_record(line.as_bytes(), 0, Hint::Record, Repairs::default()).unwrap() {
            Decoded::Entity(e) => e,
            other => panic!("not an entity: {other:?}"),
        }
    }

    #[test]
    fn envelope_and_bare_agree() {
        let item = entity(
            r#"{"type":"message","item":{"id":"m1","text":"hi","user":{"id":"u1"},"cid":"messaging:c"}}"#,
        );
        let bare = entity(r#"{"id":"m1","text":"hi","user":{"id":"u1"},"cid":"messaging:c"}"#);
        assert_eq!(item.kind(), Kind::Message);
        assert_eq!(bare.kind(), Kind::Message);
        assert_eq!(item.user_id(), Some("u1"));
        assert_eq!(item.cid(), bare.cid());
        assert_eq!(item.raw(), bare.raw());
        assert_eq!(item.envelope(), Envelope::Item);
    }

    #[test]
    fn escaped_ids_are_decoded_once() {
        let e = entity(
            r#"{"type":"message","item":{"id":"m\u0031","html":"\u003cp\u003e","user":{"id":"user-\u0031\u0037"}}}"#,
        );
        assert_eq!(e.id(), Some("m1"));
        assert_eq!(e.user_id(), Some("user-17"));
    }

    #[test]
    fn payload_bytes_are_exact_however_spelled() {
        for line in [
            r#"{"type":"message","item":{"id":"m1","text":"hi"}}"#,
            r#"{"type":"message","it\u0065m":{"id":"m1","text":"hi"}}"#,
            r#"{ "item" : {"id":"m1","text":"hi"} , "type" : "message" }"#,
            r#"{"type":"message","data":{"id":"x"},"item":{"id":"m1","text":"hi"}}"#,
            r#"{"type":"message","item":{"id":"zz"},"item":{"id":"m1","text":"hi"}}"#,
        ] {
            let e = entity(line);
            assert_eq!(e.kind(), Kind::Message, "{line}");
            assert_eq!(e.raw(), br#"{"id":"m1","text":"hi"}"#, "{line}");
            assert_eq!(e.id(), Some("m1"), "{line}");
        }
    }

    #[test]
    fn custom_data_field_is_not_an_envelope() {
        let e = entity(r#"{"id":"m1","type":"regular","text":"x","data":{"a":1}}"#);
        assert_eq!(e.kind(), Kind::Message);
        assert_eq!(e.message_type(), Some("regular"));
    }

    #[test]
    fn lone_surrogates_are_replaced_when_allowed() {
        let line = br#"{"id":"m1","text":"a\ud83d b"}"#;
        assert!(decode_record(line, 0, Hint::Record, Repairs::default()).is_err());
        let repairs = Repairs {
            lone_surrogates: true,
            ..Repairs::default()
        };
        match decode_record(line, 0, Hint::Record, repairs).unwrap() {
            Decoded::Entity(e) => {
                assert_eq!(e.text(), Some("a\u{fffd} b"));
                assert!(e.is_lossy());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn valid_pairs_are_left_alone() {
        assert_eq!(replace_lone_surrogates(br#""\ud83d\ude00""#), None);
        assert_eq!(
            replace_lone_surrogates(br#""\ude00\ud83d""#).unwrap(),
            br#""\ufffd\ufffd""#.to_vec()
        );
    }

    #[test]
    fn error_offsets_point_into_the_record() {
        let err = decode_record(b"  {\"id\": x}", 0, Hint::Record, Repairs::default()).unwrap_err();
        assert_eq!(err.at, 9);
    }
}
