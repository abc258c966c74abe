//! The decoder's fast path: one hand-written validating pass over a record
//! that collects the same fields as the serde visitors of `fields`.
//!
//! It answers only what it can answer exactly. Whenever a record is not
//! plain — invalid JSON, nesting past the limit, an escaped lone
//! surrogate, an escaped key, a key field holding a number that is not a
//! small unsigned integer — it answers `None` and the serde path decides,
//! with its own errors and repairs. So the two paths agree by construction
//! on everything the fast one accepts, which the tests check record by
//! record (and `cargo fuzz` under `cfg(fuzzing)`).
//!
//! Why it is faster: the serde path pays for a visitor per key and value,
//! a second scan for escaped surrogates, a third for nesting depth, and a
//! structural walk to find an envelope's payload bytes. Here the scanner
//! ([`crate::project::scan`]) validates grammar, escapes and depth in the
//! same pass that reads the keys, strings are skipped sixteen bytes at a
//! time, and the payload's span is known when its value ends.

use super::fields::{Payload, RawFields, TopFields};
use crate::model::entity::MAX_EXTRAS;
use crate::model::keys::{Key, key_of};
use crate::project::scan::{Scanner, unescape};
use std::borrow::Cow;
use std::ops::Range;

/// The top level of a record (a line or an array element), with the spans
/// of the last `item` and `data` values; `None` leaves the record to the
/// serde path.
pub(super) fn top<'a>(
    text: &'a str,
    max_depth: usize,
    extras: &'static [&'static str],
) -> Option<TopFields<'a>> {
    let mut s = scanner(text, max_depth)?;
    let mut fields = RawFields::default();
    let mut hook = Hook::default();
    let want = Want::new(text, extras);
    object(&mut s, text, 1, &mut fields, Some(&mut hook), &want)?;
    s.end().ok()?;
    if !s.spaced {
        fields.shapes.compact = true;
        for payload in [&mut hook.item, &mut hook.data] {
            if let Some((Payload::Object(inner), _)) = payload {
                inner.shapes.compact = true;
            }
        }
    }
    let (item, item_span) = hook.item.map_or((None, None), |(p, r)| (Some(p), Some(r)));
    let (data, data_span) = hook.data.map_or((None, None), |(p, r)| (Some(p), Some(r)));
    Some(TopFields {
        fields,
        item,
        data,
        key_count: hook.key_count,
        item_span,
        data_span,
    })
}

/// An entity nested in a v1 document: its fields only.
pub(super) fn nested<'a>(
    text: &'a str,
    max_depth: usize,
    extras: &'static [&'static str],
) -> Option<RawFields<'a>> {
    let mut s = scanner(text, max_depth)?;
    let mut fields = RawFields::default();
    object(&mut s, text, 1, &mut fields, None, &Want::new(text, extras))?;
    s.end().ok()?;
    fields.shapes.compact = !s.spaced;
    Some(fields)
}

fn scanner(text: &str, max_depth: usize) -> Option<Scanner<'_>> {
    let mut s = Scanner::new(text);
    s.max_depth = max_depth;
    // The caller trimmed the record: it starts at its first byte.
    (s.peek() == Some(b'{')).then_some(s)
}

/// Where the top level's `item` and `data` payloads go (the last of
/// each, as in the serde path), with their spans.
#[derive(Default)]
struct Hook<'a> {
    item: Option<(Payload<'a>, Range<usize>)>,
    data: Option<(Payload<'a>, Range<usize>)>,
    key_count: usize,
}

/// The extra fields a job asked for, and a mask of their key lengths so
/// that most keys cost one bit test.
struct Want {
    keys: &'static [&'static str],
    lengths: u64,
}

impl Want {
    fn new(text: &str, keys: &'static [&'static str]) -> Want {
        // Spans are kept as u32; a longer record goes without.
        let keys = if text.len() < u32::MAX as usize {
            &keys[..keys.len().min(MAX_EXTRAS)]
        } else {
            &[]
        };
        let lengths = keys
            .iter()
            .filter(|k| k.len() < 64)
            .fold(0u64, |m, k| m | 1 << k.len());
        Want { keys, lengths }
    }

    #[inline]
    fn index(&self, name: &[u8]) -> Option<usize> {
        if name.len() >= 64 || self.lengths & (1 << name.len()) == 0 {
            return None;
        }
        self.keys.iter().position(|k| k.as_bytes() == name)
    }
}

/// The object opening at `s.pos`, at nesting depth `depth` (1 for the
/// record itself), read into `f`. With a hook (the top level), `item` and
/// `data` values are decoded as payloads instead.
fn object<'a>(
    s: &mut Scanner<'a>,
    text: &'a str,
    depth: usize,
    f: &mut RawFields<'a>,
    mut hook: Option<&mut Hook<'a>>,
    want: &Want,
) -> Option<()> {
    if depth > s.max_depth {
        return None;
    }
    f.extras.collected = !want.keys.is_empty();
    s.pos += 1;
    s.ws();
    if s.peek() == Some(b'}') {
        s.pos += 1;
        return Some(());
    }
    loop {
        let (name, escaped) = s.key().ok()?;
        if escaped {
            return None;
        }
        let key = key_of(name);
        if let Some(key) = key {
            f.keys.insert(key);
        }
        if let Some(hook) = hook.as_deref_mut() {
            hook.key_count += 1;
            if let Some(slot @ (Key::Item | Key::Data)) = key {
                let start = s.pos;
                let payload = if s.peek() == Some(b'{') {
                    let mut inner = RawFields::default();
                    object(s, text, depth + 1, &mut inner, None, want)?;
                    Payload::Object(Box::new(inner))
                } else {
                    s.value(depth).ok()?;
                    Payload::Other
                };
                let got = Some((payload, start..s.pos));
                match slot {
                    Key::Item => hook.item = got,
                    _ => hook.data = got,
                }
                if !more(s)? {
                    return Some(());
                }
                continue;
            }
        }
        let extra = want.index(name);
        let start = s.pos;
        match key {
            None => {
                s.value(depth).ok()?;
            }
            Some(key) => field(s, text, depth, key, f)?,
        }
        if let Some(i) = extra {
            // The last occurrence wins, as in a projection.
            f.extras.repeated |= f.extras.spans[i].1 != 0;
            f.extras.spans[i] = (start as u32, s.pos as u32);
        }
        if !more(s)? {
            return Some(());
        }
    }
}

/// After a member: consumes `,` (another member follows: `true`) or `}`
/// (the object ended: `false`); anything else leaves the record to serde.
#[inline]
fn more(s: &mut Scanner<'_>) -> Option<bool> {
    s.ws();
    let more = match s.peek()? {
        b',' => true,
        b'}' => false,
        _ => return None,
    };
    s.pos += 1;
    Some(more)
}

/// The value of a key of the table, as `fields::visit_fields` reads it.
fn field<'a>(
    s: &mut Scanner<'a>,
    text: &'a str,
    depth: usize,
    key: Key,
    f: &mut RawFields<'a>,
) -> Option<()> {
    match key {
        Key::Type => {
            let (value, was_string) = text_value(s, text, depth)?;
            f.shapes.type_is_string = was_string;
            f.type_ = value;
        }
        Key::Id => f.id = text_value(s, text, depth)?.0,
        Key::Cid => f.cid = text_value(s, text, depth)?.0,
        Key::ChannelCid => f.channel_cid = text_value(s, text, depth)?.0,
        Key::ChannelType => f.channel_type = text_value(s, text, depth)?.0,
        Key::ChannelId => f.channel_id = text_value(s, text, depth)?.0,
        Key::MessageId => f.message_id = text_value(s, text, depth)?.0,
        Key::UserId => f.user_id = text_value(s, text, depth)?.0,
        Key::Text => f.text = text_value(s, text, depth)?.0,
        Key::ParentId => f.parent_id = text_value(s, text, depth)?.0,
        Key::CreatedAt => f.created_at = text_value(s, text, depth)?.0,
        Key::User => {
            let (id, is_object) = user_ref(s, text, depth)?;
            f.shapes.user_object = is_object;
            f.user = id;
        }
        Key::CreatedBy => f.created_by = user_ref(s, text, depth)?.0,
        Key::Channel | Key::Messages | Key::Members | Key::Channels => {
            let first = s.peek();
            s.value(depth).ok()?;
            f.shapes.note(key, first);
        }
        // The nested form of `item`/`data` (not the top level's payload):
        // the serde path keeps their raw bytes only for a fallback search
        // that the fast path never needs.
        Key::Item
        | Key::Data
        | Key::Html
        | Key::Config
        | Key::MemberCount
        | Key::ChannelRole
        | Key::LastRead
        | Key::Role
        | Key::Name => {
            s.value(depth).ok()?;
        }
    }
    Some(())
}

/// A string field as `fields::Text` reads it: a string (borrowed unless
/// escaped), an unsigned integer as its digits, anything else absent.
/// Signed, fractional and huge numbers go to the serde path, whose number
/// parsing decides their text or their error.
fn text_value<'a>(
    s: &mut Scanner<'a>,
    text: &'a str,
    depth: usize,
) -> Option<(Option<Cow<'a, str>>, bool)> {
    let start = s.pos;
    match s.peek() {
        Some(b'"') => {
            let escaped = s.string().ok()?;
            let inner = text.get(start + 1..s.pos - 1)?;
            let value = if escaped {
                Cow::Owned(unescape(inner))
            } else {
                Cow::Borrowed(inner)
            };
            Some((Some(value), true))
        }
        Some(b'-' | b'0'..=b'9') => {
            s.value(depth).ok()?;
            let digits = text.get(start..s.pos)?;
            let plain = digits.len() <= 19 && digits.bytes().all(|c| c.is_ascii_digit());
            plain.then_some((Some(Cow::Borrowed(digits)), false))
        }
        _ => {
            s.value(depth).ok()?;
            Some((None, false))
        }
    }
}

/// A user reference as `fields::UserRef` reads it: an object's `id`, or an
/// id given directly; and whether it was an object.
fn user_ref<'a>(
    s: &mut Scanner<'a>,
    text: &'a str,
    depth: usize,
) -> Option<(Option<Cow<'a, str>>, bool)> {
    if s.peek() != Some(b'{') {
        let (id, _) = text_value(s, text, depth)?;
        return Some((id, false));
    }
    let inner = depth + 1;
    if inner > s.max_depth {
        return None;
    }
    s.pos += 1;
    s.ws();
    let mut id = None;
    if s.peek() == Some(b'}') {
        s.pos += 1;
        return Some((None, true));
    }
    loop {
        let (name, escaped) = s.key().ok()?;
        if escaped {
            return None;
        }
        if name == b"id" {
            id = text_value(s, text, inner)?.0;
        } else {
            s.value(inner).ok()?;
        }
        if !more(s)? {
            return Some((id, true));
        }
    }
}

/// The fast path's answer must be serde's (the tests, and `cargo fuzz`).
#[cfg(any(test, fuzzing))]
pub(super) fn agree(
    fast: &super::Decoded<'_>,
    serde: &Result<super::Decoded<'_>, super::DecodeError>,
) {
    use super::Decoded;
    match (fast, serde) {
        (Decoded::Entity(a), Ok(Decoded::Entity(b))) => {
            assert!(a == b, "the fast path read {a:?}, serde {b:?}");
        }
        (Decoded::Unit, Ok(Decoded::Unit)) | (Decoded::Blank, Ok(Decoded::Blank)) => {}
        _ => panic!("the fast path read {fast:?}, serde {serde:?}"),
    }
}

#[cfg(test)]
#[path = "fast_tests.rs"]
mod tests;
