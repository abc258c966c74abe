//! A quick look at a record without decoding it: its kind and its raw
//! `created_at`, found by walking the top-level keys and skipping values
//! with memchr. Used by the parallel filter to rule out records that fail
//! a time or kind predicate; records that pass are decoded in full (and so
//! validated) by the real decoder.
//!
//! It gives up (returns `None`, meaning "decode this one") on anything
//! unusual: escaped keys, an escaped `created_at` or type, a v1 channel
//! object, malformed structure. For well-formed JSON its answers equal the
//! decoder's (tested against it), so the filter's output never changes.

use crate::entity::Kind;
use crate::structural::{Blocks, Kernel};

/// What the quick scan found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Quick<'a> {
    /// The kind's name as [`Entity::type_name`](crate::Entity::type_name)
    /// reports it.
    pub type_name: &'a [u8],
    /// The raw text of a string `created_at` (no escapes), if any.
    pub created_at: Option<&'a [u8]>,
}

const ID: u32 = 1;
const CID: u32 = 1 << 1;
const MESSAGE_ID: u32 = 1 << 2;
const USER_ID: u32 = 1 << 3;
const TYPE: u32 = 1 << 4;
const TEXT: u32 = 1 << 5;
const HTML: u32 = 1 << 6;
const CONFIG: u32 = 1 << 7;
const MEMBER_COUNT: u32 = 1 << 8;
const CHANNEL_ROLE: u32 = 1 << 9;
const USER: u32 = 1 << 10;
const LAST_READ: u32 = 1 << 11;
const ROLE: u32 = 1 << 12;
const NAME: u32 = 1 << 13;
/// `channel`, `messages` or `members`: maybe a v1 channel object.
const UNIT: u32 = 1 << 14;

struct Object<'a> {
    keys: u32,
    type_value: Option<&'a [u8]>,
    /// `item` / `data` values: their bytes and the index of their first
    /// token.
    item: Option<(&'a [u8], usize)>,
    data: Option<(&'a [u8], usize)>,
    created_at: Option<&'a [u8]>,
}

impl<'a> Object<'a> {
    /// The envelope payload: `item` wins over `data`, as in the decoder.
    fn payload(&self) -> Option<(&'a [u8], usize)> {
        self.item.or(self.data)
    }
}

fn is_ws(b: &[u8]) -> bool {
    b.iter().all(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
}

fn trim_ws(b: &[u8]) -> &[u8] {
    let is = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    let first = b.iter().position(|c| !is(c)).unwrap_or(b.len());
    let last = b.iter().rposition(|c| !is(c)).map_or(first, |l| l + 1);
    &b[first..last]
}

/// A walk over a record's structural masks.
struct Walk<'a, 'b> {
    bytes: &'a [u8],
    blocks: &'b Blocks,
}

impl<'a> Walk<'a, '_> {
    /// The next token at or after `at`, which must be outside any string
    /// (just after a token or a value). Compact JSON has the token right
    /// there, so look at that byte before searching the masks.
    #[inline(always)]
    fn token_at(&self, at: usize) -> Option<usize> {
        match self.bytes.get(at) {
            Some(b'"' | b',' | b':' | b'{' | b'}' | b'[' | b']') => Some(at),
            _ => self.blocks.next_token(at),
        }
    }

    /// The closing quote of a key that starts at `at` (after its opening
    /// quote). Keys are short: a scalar look. An escaped key means "give
    /// up" (the caller then decodes the record), so a key found here never
    /// holds a backslash.
    #[inline(always)]
    fn key_end(&self, at: usize) -> Option<usize> {
        let rest = self.bytes.get(at..)?;
        for (i, &c) in rest.iter().take(48).enumerate() {
            match c {
                b'"' => return Some(at + i),
                b'\\' => return None,
                _ => {}
            }
        }
        let end = self.blocks.next_quote(at)?;
        (!self.bytes[at..end].contains(&b'\\')).then_some(end)
    }

    /// The `created_at` of the object spanning `[open, open + len)`: the
    /// last occurrence of the key that is a key of this object (an
    /// opening quote at depth 1, followed by a colon) — the decoder's
    /// answer, duplicates included. Searched backwards over the quote
    /// bits, because the last one is the answer and Stream writes
    /// `created_at` near the end of a message: most of the object is never
    /// looked at. `Some(None)` when there is none (or it is `null`); `None`
    /// when something is unusual (a non-string value): walk the object
    /// instead.
    #[inline(always)]
    fn top_level_created_at(&self, open: usize, len: usize) -> Option<Option<&'a [u8]>> {
        const KEY: &[u8] = b"\"created_at\"";
        let b = self.bytes;
        let close = open + len.checked_sub(1)?;
        if b.get(close) != Some(&b'}') {
            return None;
        }
        // Depth and quote parity of `[at, close)` relative to the object's
        // inside, carried from quote to quote as `at` moves back.
        let (mut depth, mut quotes, mut counted_to) = (0i64, 0u32, close);
        let mut before = close;
        while let Some(at) = self.blocks.prev_quote(before) {
            if at <= open {
                break;
            }
            before = at;
            if b.get(at..at + KEY.len()) != Some(KEY) {
                continue;
            }
            let (d, q) = self.blocks.depth_and_quotes(at, counted_to);
            depth += d;
            quotes += q;
            counted_to = at;
            // At the object's own level, no bracket after `at` is left
            // open or unclosed; an opening quote has an even number of
            // quotes (whole strings) from it to the end.
            if depth != 0 || quotes % 2 != 0 {
                continue;
            }
            let colon = self.token_at(at + KEY.len())?;
            if b[colon] != b':' {
                continue; // a value that happens to read "created_at"
            }
            if !is_ws(&b[at + KEY.len()..colon]) {
                return None;
            }
            let start = self.token_at(colon + 1)?;
            return Some(match b[start] {
                b'"' => {
                    if !is_ws(&b[colon + 1..start]) {
                        return None;
                    }
                    let end = self.blocks.next_quote(start + 1)?;
                    Some(&b[start..=end])
                }
                b',' | b'}' if trim_ws(&b[colon + 1..start]) == b"null" => None,
                _ => return None,
            });
        }
        Some(None)
    }

    /// The object whose `{` is at `open`: its keys of interest, and where
    /// it ends.
    #[inline(always)]
    fn object(&self, open: usize) -> Option<Object<'a>> {
        let b = self.bytes;
        let mut o = Object {
            keys: 0,
            type_value: None,
            item: None,
            data: None,
            created_at: None,
        };
        if b.get(open) != Some(&b'{') {
            return None;
        }
        let mut p = self.token_at(open + 1)?;
        if b[p] == b'}' {
            return Some(o);
        }
        loop {
            if b[p] != b'"' {
                return None;
            }
            let key_end = self.key_end(p + 1)?;
            let key = &b[p + 1..key_end];
            let colon = self.token_at(key_end + 1)?;
            if b[colon] != b':' || !is_ws(&b[key_end + 1..colon]) {
                return None;
            }
            let start = self.token_at(colon + 1)?;
            let (value, after) = match b[start] {
                b'"' => {
                    let end = self.blocks.next_quote(start + 1)?;
                    (&b[start..=end], end + 1)
                }
                b'{' | b'[' => {
                    let end = self.blocks.matching_close(start)?;
                    (&b[start..=end], end + 1)
                }
                b',' | b'}' => {
                    let raw = trim_ws(&b[colon + 1..start]);
                    if raw.is_empty() {
                        return None;
                    }
                    (raw, start)
                }
                _ => return None,
            };
            if !matches!(b[start], b',' | b'}') && !is_ws(&b[colon + 1..start]) {
                return None;
            }
            o.keys |= match (key.len(), key.first()) {
                // Dispatch on length and first byte before comparing, so
                // the many keys of no interest cost one or two compares.
                (2, Some(b'i')) if key == b"id" => ID,
                (3, Some(b'c')) if key == b"cid" => CID,
                (10, Some(b'm')) if key == b"message_id" => MESSAGE_ID,
                (7, Some(b'u')) if key == b"user_id" => USER_ID,
                (4, Some(b't')) if key == b"type" => {
                    o.type_value = Some(value);
                    TYPE
                }
                (4, Some(b'i')) if key == b"item" => {
                    o.item = Some((value, start));
                    0
                }
                (4, Some(b'd')) if key == b"data" => {
                    o.data = Some((value, start));
                    0
                }
                (10, Some(b'c')) if key == b"created_at" => {
                    o.created_at = (value != b"null").then_some(value);
                    0
                }
                (4, Some(b't')) if key == b"text" => TEXT,
                (4, Some(b'h')) if key == b"html" => HTML,
                (6, Some(b'c')) if key == b"config" => CONFIG,
                (12, Some(b'm')) if key == b"member_count" => MEMBER_COUNT,
                (12, Some(b'c')) if key == b"channel_role" => CHANNEL_ROLE,
                (4, Some(b'u')) if key == b"user" => USER,
                (9, Some(b'l')) if key == b"last_read" => LAST_READ,
                (4, Some(b'r')) if key == b"role" => ROLE,
                (4, Some(b'n')) if key == b"name" => NAME,
                (7, Some(b'c')) if key == b"channel" => UNIT,
                (8, Some(b'm' | b'c')) if key == b"messages" || key == b"channels" => UNIT,
                (7, Some(b'm')) if key == b"members" => UNIT,
                _ => 0,
            };
            let next = self.token_at(after)?;
            if !is_ws(&b[after..next]) {
                return None;
            }
            match b[next] {
                b',' => p = self.token_at(next + 1)?,
                b'}' => return Some(o),
                _ => return None,
            }
        }
    }
}

/// A plain string value's contents; `None` for escapes or non-strings.
fn plain_string(v: &[u8]) -> Option<&[u8]> {
    let inner = v.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    (!inner.contains(&b'\\')).then_some(inner)
}

/// Kind and raw `created_at` of the record `text[..len]`, or `None` to
/// decode it fully. `text` may go on past the record (the rest of the
/// chunk): the index then reads ahead instead of copying the record's last
/// partial block. `blocks` is scratch space for the structural index.
pub(crate) fn quick_in<'a>(
    text: &'a [u8],
    len: usize,
    blocks: &'a mut Blocks,
) -> Option<Quick<'a>> {
    crate::structural::dispatch!(
        fn run<'a>(text: &'a [u8], len: usize, blocks: &'a mut Blocks) -> Option<Quick<'a>> => quick_with
    );
    run(text, len, blocks)
}

#[inline(always)]
fn quick_with<'a, K: Kernel>(
    k: K,
    text: &'a [u8],
    len: usize,
    blocks: &'a mut Blocks,
) -> Option<Quick<'a>> {
    let record = text.get(..len)?;
    if !blocks.build_in(k, text, len) {
        return None;
    }
    quick_built(record, blocks)
}

/// The quick scan of a record whose index `blocks` holds.
#[inline(always)]
fn quick_built<'a>(record: &'a [u8], blocks: &Blocks) -> Option<Quick<'a>> {
    let walk = Walk {
        bytes: record,
        blocks,
    };
    let open = blocks.next_token(0)?;
    if !is_ws(&record[..open]) {
        return None;
    }
    let top = walk.object(open)?;
    let envelope = top.type_value.is_some_and(|t| t.first() == Some(&b'"'))
        && top.payload().is_some()
        && top.keys & (ID | CID | MESSAGE_ID | USER_ID) == 0;
    let (type_name, entity) = if envelope {
        let (payload, token) = top.payload()?;
        if payload.first() != Some(&b'{') {
            return None;
        }
        let name = plain_string(top.type_value?)?;
        // Usually the payload's `created_at` is found directly; the full
        // walk of its keys is the fallback.
        let inner = match walk.top_level_created_at(token, payload.len()) {
            Some(created_at) => Object {
                keys: 0,
                type_value: None,
                item: None,
                data: None,
                created_at,
            },
            None => walk.object(token)?,
        };
        let kind = Kind::from_type_bytes(name);
        let name = if kind == Kind::Other {
            std::str::from_utf8(name).ok()?;
            name
        } else {
            kind.as_str().as_bytes()
        };
        (name, inner)
    } else {
        if top.keys & UNIT != 0 {
            return None;
        }
        (classify(top.keys).as_str().as_bytes(), top)
    };
    let created_at = match entity.created_at {
        None => None,
        Some(v) if v.first() == Some(&b'"') => Some(plain_string(v)?),
        // A number: the decoder keeps integers as text; let it decide.
        Some(v) if v.first().is_some_and(|c| c.is_ascii_digit() || *c == b'-') => return None,
        Some(_) => None,
    };
    Some(Quick {
        type_name,
        created_at,
    })
}

thread_local! {
    /// Scratch masks for [`payload_bytes`], reused by each thread.
    static BLOCKS: std::cell::RefCell<Blocks> = std::cell::RefCell::new(Blocks::default());
}

/// The exact bytes of an envelope's payload (`item`, else `data`, the last
/// of duplicates, as the decoder reads them) in a record that serde_json
/// has already accepted. `None` when the walk gives up (an escaped key).
pub(crate) fn payload_bytes(record: &[u8]) -> Option<&[u8]> {
    let (start, len) = BLOCKS.with(|blocks| {
        let mut blocks = blocks.try_borrow_mut().ok()?;
        if !blocks.build(record) {
            return None;
        }
        let walk = Walk {
            bytes: record,
            blocks: &blocks,
        };
        let open = blocks.next_token(0)?;
        let top = walk.object(open)?;
        top.payload().map(|(bytes, _)| {
            (
                bytes.as_ptr() as usize - record.as_ptr() as usize,
                bytes.len(),
            )
        })
    })?;
    record.get(start..start + len)
}

/// FORMAT.md's bare-object rules (the same as the decoder's).
fn classify(keys: u32) -> Kind {
    let has = |k| keys & k != 0;
    let all = |k| keys & k == k;
    if has(CID) && has(CONFIG | MEMBER_COUNT) {
        Kind::Channel
    } else if all(MESSAGE_ID | TYPE) {
        Kind::Reaction
    } else if has(ID) && has(TEXT | HTML) {
        Kind::Message
    } else if has(CHANNEL_ROLE) || all(USER_ID | USER) {
        Kind::Member
    } else if has(LAST_READ) {
        Kind::Read
    } else if has(ID) && has(ROLE | NAME) {
        Kind::User
    } else {
        Kind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick(record: &[u8]) -> Option<Quick<'_>> {
        let blocks = Box::leak(Box::new(Blocks::default()));
        super::quick_in(record, record.len(), blocks)
    }

    #[test]
    fn finds_top_level_created_at_not_nested() {
        let line = br#"{"type":"message","item":{"user":{"id":"u","created_at":"2020-01-01T00:00:00Z"},"text":"a \"b\" c","created_at":"2024-03-05T00:00:00Z","id":"m"}}"#;
        let q = quick(line).unwrap();
        assert_eq!(q.type_name, b"message");
        assert_eq!(q.created_at, Some(&b"2024-03-05T00:00:00Z"[..]));
    }

    /// The direct search for the payload's `created_at` agrees with the
    /// decoder on the shapes that could fool it.
    #[test]
    fn payload_created_at_agrees_with_the_decoder() {
        use crate::decode::{Decoded, Hint, Repairs, decode_record};
        for line in [
            r#"{"type":"message","item":{"user":{"created_at":"2020-01-01T00:00:00Z"},"created_at":"2024-03-05T00:00:00Z"}}"#,
            r#"{"type":"message","item":{"created_at":"2024-01-01T00:00:00Z","x":1,"created_at":"2024-03-05T00:00:00Z"}}"#,
            r#"{"type":"message","item":{"sort":"created_at","text":"say \"created_at\": no"}}"#,
            r#"{"type":"message","item":{"created_at":null}}"#,
            r#"{"type":"message","item":{"a":[{"created_at":"2019-01-01T00:00:00Z"}],"b":"x"}}"#,
            r#"{"type":"message","item":{"created_at" : "2024-03-05T00:00:00Z" }}"#,
            r#"{"type":"message","meta":{"created_at":"2000-01-01T00:00:00Z"},"item":{"id":"m"}}"#,
            // Nested occurrences after the top-level one (the backward
            // search meets them first).
            r#"{"type":"message","item":{"created_at":"2024-03-05T00:00:00Z","pinned_by":{"created_at":"2019-01-01T00:00:00Z"}}}"#,
            r#"{"type":"message","item":{"created_at":"2024-03-05T00:00:00Z","r":[{"a":[{"created_at":"2019-01-01T00:00:00Z"}]}],"t":"}"}}"#,
            r#"{"type":"message","item":{"created_at":"2024-03-05T00:00:00Z","t":"x \"created_at\": \"2019-01-01T00:00:00Z\""}}"#,
            r#"{"type":"message","item":{"created_at":"2024-03-05T00:00:00Z","t":"a\\","u":"created_at"}}"#,
            r#"{"type":"message","item":{"t":"{[","created_at":"2024-03-05T00:00:00Z","v":"]}\\"}}"#,
            r#"{"type":"message","item":{"q":{"created_at":"2019-01-01T00:00:00Z"}}}"#,
            r#"{"type":"message","item":{"created_at":"2024-03-05T00:00:00Z","created_at":null}}"#,
        ] {
            let want = match decode_record(line.as_bytes(), 0, Hint::Record, Repairs::default()) {
                Ok(Decoded::Entity(e)) => e.created_at_text().map(str::to_string),
                other => panic!("{line}: {other:?}"),
            };
            let got = quick(line.as_bytes())
                .map(|q| q.created_at.map(|t| String::from_utf8(t.to_vec()).unwrap()));
            assert_eq!(got, Some(want), "{line}");
        }
    }

    /// Every line of the bundled line files, as written and reshaped (the
    /// record wrapped as a nested value, a `created_at` appended after
    /// it, whitespace around every token): when the quick scan answers,
    /// its answer is the decoder's.
    #[test]
    fn agrees_with_the_decoder_on_every_bundled_line() {
        use crate::decode::{Decoded, Hint, Repairs, decode_record};
        let dirs = ["testdata/fixtures", "testdata/samples"];
        let mut answered = 0;
        for dir in dirs {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
            for file in std::fs::read_dir(dir).unwrap() {
                let path = file.unwrap().path();
                if path.extension().is_none_or(|e| e != "jsonl") {
                    continue;
                }
                let bytes = std::fs::read(&path).unwrap();
                for line in bytes.split(|&b| b == b'\n') {
                    let text = String::from_utf8_lossy(line);
                    let text = text.trim_end_matches('\r');
                    let spaced: String = text
                        .chars()
                        .flat_map(|c| match c {
                            '{' | '}' | '[' | ']' | ':' | ',' => vec![' ', c, ' '],
                            c => vec![c],
                        })
                        .collect();
                    let variants = [
                        text.to_string(),
                        format!(r#"{{"type":"message","item":{{"x":{text},"id":"m"}}}}"#),
                        format!(
                            r#"{{"type":"message","item":{{"created_at":"2024-03-05T00:00:00Z","x":{text}}}}}"#
                        ),
                        format!(
                            r#"{{"type":"message","item":{{"x":{text},"created_at":"2024-03-05T00:00:00Z"}}}}"#
                        ),
                        // Whitespace inside strings changes their values,
                        // not the answer's agreement.
                        spaced,
                    ];
                    for v in variants {
                        let want = match decode_record(
                            v.as_bytes(),
                            0,
                            Hint::Record,
                            Repairs::default(),
                        ) {
                            Ok(Decoded::Entity(e)) => (
                                e.type_name().to_string(),
                                e.created_at_text().map(str::to_string),
                            ),
                            _ => continue,
                        };
                        if let Some(q) = quick(v.as_bytes()) {
                            answered += 1;
                            let got = (
                                String::from_utf8(q.type_name.to_vec()).unwrap(),
                                q.created_at.map(|t| String::from_utf8(t.to_vec()).unwrap()),
                            );
                            assert_eq!(got, want, "{}: {v}", path.display());
                        }
                    }
                }
            }
        }
        assert!(
            answered > 100,
            "the quick scan answered only {answered} times"
        );
    }

    #[test]
    fn gives_up_on_escapes_and_units() {
        assert!(
            quick(br#"{"id":"m","text":"x","created_at":"2024\u002d03-05T00:00:00Z"}"#).is_none()
        );
        assert!(quick(br#"{"channel":{},"messages":[]}"#).is_none());
        assert!(quick(br#"{"i\u0064":"m"}"#).is_none());
        assert!(quick(br#"{"id":"m""#).is_none());
    }

    #[test]
    fn bare_classification() {
        assert_eq!(
            quick(br#"{"cid":"a:b","config":{}}"#).unwrap().type_name,
            b"channel"
        );
        assert_eq!(
            quick(br#"{"message_id":"m","type":"like"}"#)
                .unwrap()
                .type_name,
            b"reaction"
        );
        assert_eq!(quick(br#"{"weird":1}"#).unwrap().type_name, b"other");
        assert_eq!(
            quick(br#"{"type":"channel_member","item":{}}"#)
                .unwrap()
                .type_name,
            b"member"
        );
    }
}
