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

use crate::json::index::{Blocks, Kernel};
use crate::json::walk::{Object, Walk, is_ws, trim_ws};
use crate::model::entity::Kind;
use crate::model::keys::{KeySet, classify};

/// What the quick scan found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Quick<'a> {
    /// The kind's name as [`Entity::type_name`](crate::Entity::type_name)
    /// reports it.
    pub type_name: &'a [u8],
    /// The raw text of a string `created_at` (no escapes), if any.
    pub created_at: Option<&'a [u8]>,
}

/// The quick scan's own search, beside the shared walk.
impl<'a> Walk<'a, '_> {
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
    pub(crate) fn top_level_created_at(&self, open: usize, len: usize) -> Option<Option<&'a [u8]>> {
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
    crate::json::index::dispatch!(
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
        && !top.keys.any(KeySet::ENTITY);
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
                keys: KeySet::EMPTY,
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
        if top.keys.any(KeySet::MAYBE_UNIT) {
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
