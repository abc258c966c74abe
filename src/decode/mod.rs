//! The pure per-record decoder shared by every format: bytes of one record
//! (a line, an array element, a v1 nested entity) in, an [`Entity`] out.
//! No I/O, no state: the reader resolves inherited channels afterwards.
//!
//! One pass of serde_json over the record collects the key fields into
//! borrowed strings and skips everything else (`fields`); an envelope's
//! payload is decoded in the same pass, and its exact bytes are then found
//! from the compact envelope's fixed prefix or by a walk over the record's
//! structural index ([`crate::json::walk`]), never by parsing it again.

mod fast;
mod fields;
pub(crate) mod quick;
pub(crate) mod surrogates;
mod unit;

use crate::error::ErrorKind;
use crate::json::{is_ws_byte, trim_ws_at};
use crate::model::entity::{ChannelSource, Compact, Entity, Envelope, Fields, Kind};
use crate::model::keys::{Key, KeySet};
use crate::model::timestamp::Timestamp;
use fields::{Payload, RawFields, TopFields};
use serde::de::IgnoredAny;
use std::borrow::Cow;
use surrogates::{first_lone_surrogate, replace_lone_surrogates};

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
    /// Top-level fields whose place the fast path records for the job
    /// (at most [`MAX_EXTRAS`](crate::model::entity::MAX_EXTRAS)).
    pub extras: &'static [&'static str],
}

impl Repairs {
    fn depth_limit(&self) -> usize {
        match self.max_depth {
            0 => MAX_RECORD_DEPTH,
            n => n.min(MAX_RECORD_DEPTH),
        }
    }
}

/// Decodes one record. `offset` is the record's position in the input, so
/// entities can report it; errors are relative to `bytes`.
///
/// A record (a line) that fails to decode but is by its leading structure
/// a v1 channel object or user export is answered [`Decoded::Unit`], so
/// the caller walks it and only the damaged part is lost (see `unit`).
pub(crate) fn decode_record<'a>(
    bytes: &'a [u8],
    offset: u64,
    hint: Hint,
    repairs: Repairs,
) -> Result<Decoded<'a>, DecodeError> {
    decode_record_by(bytes, offset, hint, repairs, Path::Fast)
}

/// Which decoder reads the common case: the fast path, or serde alone
/// (the fast path's oracle in the tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    Fast,
    #[cfg_attr(not(any(test, fuzzing)), allow(dead_code))]
    Serde,
}

fn decode_record_by<'a>(
    bytes: &'a [u8],
    offset: u64,
    hint: Hint,
    repairs: Repairs,
    path: Path,
) -> Result<Decoded<'a>, DecodeError> {
    match decode_one(bytes, offset, hint, repairs, path) {
        Err(_) if hint == Hint::Record && unit::looks_like_unit(bytes) => Ok(Decoded::Unit),
        decoded => decoded,
    }
}

fn decode_one<'a>(
    bytes: &'a [u8],
    offset: u64,
    hint: Hint,
    repairs: Repairs,
    path: Path,
) -> Result<Decoded<'a>, DecodeError> {
    let (lead, record) = trim_ws_at(bytes);
    if record.is_empty() {
        return Ok(Decoded::Blank);
    }
    let offset = offset + lead as u64;
    let text = match simdutf8::basic::from_utf8(record).or_else(|_| std::str::from_utf8(record)) {
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
    // The common case, validated and read in one pass; anything unusual
    // (including every error) is left to the serde path below.
    if path == Path::Fast
        && let Some(decoded) = decode_fast(text, offset, hint, repairs)
    {
        // Under `cargo fuzz`, every record the fast path reads is read by
        // serde too, and the two must agree.
        #[cfg(fuzzing)]
        fast::agree(
            &decoded,
            &decode_one(bytes, offset, hint, repairs, Path::Serde),
        );
        return Ok(decoded);
    }
    // serde_json checks escapes only in the strings it decodes; a lone
    // surrogate in a skipped field would slip through and break
    // `to_value()` later.
    if let Some(at) = first_lone_surrogate(record) {
        if !repairs.lone_surrogates {
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

/// Where a record nests deeper than `limit`, if it does.
/// Counting opening brackets first (SIMD) makes the common case free.
fn too_deep(record: &[u8], limit: usize) -> Option<usize> {
    let opens = memchr::memchr2_iter(b'{', b'[', record).count();
    if opens <= limit {
        return None;
    }
    let (mut depth, mut strings) = (0usize, crate::json::index::StringState::default());
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

/// Where `inner`, a sub-slice of `outer`, sits in it. Every payload the
/// decoder finds is one; should that ever break, the whole record stands in
/// (a debug build stops there).
fn within(outer: &[u8], inner: &[u8]) -> std::ops::Range<usize> {
    let start = (inner.as_ptr() as usize).wrapping_sub(outer.as_ptr() as usize);
    match start.checked_add(inner.len()) {
        Some(end) if end <= outer.len() => start..end,
        _ => {
            debug_assert!(false, "the payload is not inside the record");
            0..outer.len()
        }
    }
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
            Ok(nested_entity(kind, record, offset, top))
        }
        Hint::Record => {
            // One pass: an envelope's payload is decoded in place (no
            // second parse of its bytes); its exact bytes are then found
            // by a walk over the record's structural masks.
            let top: TopFields<'a> = serde_json::from_str(text).map_err(|e| json_error(e, text))?;
            from_top(text, offset, top)
        }
    }
}

/// The fast path ([`fast`]): `None` when the record is left to serde.
fn decode_fast<'a>(
    text: &'a str,
    offset: u64,
    hint: Hint,
    repairs: Repairs,
) -> Option<Decoded<'a>> {
    let record = text.as_bytes();
    let (max_depth, extras) = (repairs.depth_limit(), repairs.extras);
    match hint {
        Hint::Nested(kind) => Some(nested_entity(
            kind,
            record,
            offset,
            fast::nested(text, max_depth, extras)?,
        )),
        Hint::Record => from_top(text, offset, fast::top(text, max_depth, extras)?).ok(),
    }
}

/// An entity nested in a v1 document, whose kind its position gave.
fn nested_entity<'a>(kind: Kind, record: &'a [u8], offset: u64, f: RawFields<'a>) -> Decoded<'a> {
    let name = Cow::Borrowed(kind.as_str());
    Decoded::Entity(build(
        kind,
        name,
        Envelope::Nested,
        record,
        record,
        offset,
        f,
    ))
}

/// A record's entity (or unit) from its top level, however it was read:
/// an envelope's payload, a v1 unit, or a bare object classified by its
/// keys.
fn from_top<'a>(
    text: &'a str,
    offset: u64,
    top: TopFields<'a>,
) -> Result<Decoded<'a>, DecodeError> {
    let record = text.as_bytes();
    let TopFields {
        fields: mut top,
        item,
        data,
        key_count,
        item_span,
        data_span,
    } = top;
    let payload = match (item, data) {
        (Some(item), _) => Some((Envelope::Item, item, item_span)),
        (None, Some(data)) => Some((Envelope::Data, data, data_span)),
        (None, None) => None,
    };
    if let (Some(type_name), Some((envelope, Payload::Object(inner), span)), false) =
        (&top.type_, payload, top.keys.any(KeySet::ENTITY))
        && top.shapes.type_is_string
    {
        let kind = Kind::from_type_name(type_name);
        let name = if kind == Kind::Other {
            type_name.clone()
        } else {
            Cow::Borrowed(kind.as_str())
        };
        let raw = match span
            .and_then(|span| record.get(span))
            .or_else(|| compact_payload(record, key_count, envelope))
            .or_else(|| crate::json::walk::payload_bytes(record))
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

/// The bytes of an envelope's payload (`item`, else `data`), found by
/// serde_json: the slow path behind [`crate::json::walk::payload_bytes`].
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
    let payload = &payload[..payload.iter().rposition(|&b| !is_ws_byte(b))? + 1];
    (payload.first() == Some(&b'{') && payload.last() == Some(&b'}')).then_some(payload)
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
    let user_is_object = f.shapes.user_object;
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
        raw: within(record, raw),
        record: Cow::Borrowed(record),
        offset,
        lossy: false,
        compact: Compact(f.shapes.compact),
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
            has_cid_key: f.keys.contains(Key::Cid),
            extras: f.extras,
        },
    }
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

    /// The error names the lone surrogate, not an earlier valid pair (the
    /// offset used to be the record's first `\ud`).
    #[test]
    fn lone_surrogate_error_points_at_the_lone_one() {
        let line = br#"  {"id":"m1","a":"\ud83d\ude00","text":"x\ud83d y"}"#;
        let err = decode_record(line, 0, Hint::Record, Repairs::default()).unwrap_err();
        assert_eq!(&line[err.at..err.at + 6], br"\ud83d");
        assert_eq!(err.at, 2 + 39);
        // A record with only valid pairs decodes, borrowing nothing extra.
        let line = br#"{"id":"m1","text":"\ud83d\ude00"}"#;
        match decode_record(line, 0, Hint::Record, Repairs::default()).unwrap() {
            Decoded::Entity(e) => {
                assert_eq!(e.text(), Some("\u{1f600}"));
                assert!(!e.is_lossy());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn into_owned_keeps_raw_inside_record() {
        let line = br#"{"type":"message","item":{"id":"m1","text":"hi"}}"#;
        let e = entity(std::str::from_utf8(line).unwrap());
        let (raw, record) = (e.raw().to_vec(), e.record().to_vec());
        let owned = e.into_owned();
        assert_eq!(owned.raw(), &raw[..]);
        assert_eq!(owned.record(), &record[..]);
        assert_eq!(owned.raw(), br#"{"id":"m1","text":"hi"}"#);
    }

    #[test]
    fn error_offsets_point_into_the_record() {
        let err = decode_record(b"  {\"id\": x}", 0, Hint::Record, Repairs::default()).unwrap_err();
        assert_eq!(err.at, 9);
    }
}
