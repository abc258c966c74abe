//! Whether a record that failed to decode is a v1 channel object (or a
//! synchronous user export, or a `channels` wrapper) written on one line.
//!
//! Such a record is handed to the v1 walker ([`super::Decoded::Unit`]), as
//! an undamaged one is, so one damaged value costs only the entity (or
//! skipped value) it sits in: the entities before it, and after it where
//! the walker can resync, still come out, and the damage is one error at
//! its byte — as when the same document is spread over several lines.
//!
//! The decision is taken from the record's leading structure only (its
//! first few keys, read structurally: strings and brackets), never from a
//! parse of the damaged record. After at most a few metadata keys (an
//! export date, ... — these may be the damaged ones), one of:
//! - `"channel": {...}`, then `"messages"|"members": [` — a channel
//!   object;
//! - `"user": {...}`, then `"messages": [` — a user export;
//! - `"<any key>": [{"channel"` — a wrapper of channel objects.
//!
//! An envelope key (`type`, `item`, `data` not holding channel objects)
//! ends the search: a damaged v2 or import line
//! (`{"type":"message","item":{...broken}}`) stays one error, never
//! reinterpreted; so does a bare entity, whose keys are none of these.
//! Keys are compared as written.

use crate::json::shape::{read_key, skip_value, skip_ws};

/// How many leading metadata keys (an export date, a channel's `config`
/// written first, ...) may come before the shape's first key.
const METADATA_KEYS: usize = 4;

/// See the module documentation.
pub(crate) fn looks_like_unit(record: &[u8]) -> bool {
    let mut at = 0;
    if skip_ws(record, &mut at) != Some(b'{') {
        return false;
    }
    at += 1;
    // The array keys that complete the shape begun by a `channel` or
    // `user` object met so far.
    let mut want: &[&[u8]] = &[];
    for _ in 0..=METADATA_KEYS {
        let Some((key, value)) = key_and_value(record, &mut at) else {
            return false;
        };
        match (key, value) {
            (_, b'[') if want.contains(&key) => return true,
            // A wrapper (under any name): its array's first element is a
            // channel object.
            (_, b'[') => {
                let mut inner = at + 1;
                if skip_ws(record, &mut inner) == Some(b'{') {
                    inner += 1;
                    if read_key(record, &mut inner) == Some(b"channel") {
                        return true;
                    }
                }
            }
            (b"channel", b'{') => want = &[b"messages", b"members"],
            (b"user", b'{') if want.is_empty() => want = &[b"messages"],
            // An envelope: a v2 or import line.
            (b"type" | b"item" | b"data", _) => return false,
            _ => {}
        }
        if !skip_value(record, &mut at) || skip_ws(record, &mut at) != Some(b',') {
            return false;
        }
        at += 1;
    }
    false
}

/// A key, its colon and the first byte of its value (left at `*at`).
fn key_and_value<'b>(record: &'b [u8], at: &mut usize) -> Option<(&'b [u8], u8)> {
    let key = read_key(record, at)?;
    if skip_ws(record, at) != Some(b':') {
        return None;
    }
    *at += 1;
    Some((key, skip_ws(record, at)?))
}

#[cfg(test)]
mod tests {
    use super::looks_like_unit;

    #[test]
    fn only_the_leading_v1_shapes() {
        for (record, want) in [
            (
                r#"{"channel":{"id":"a"},"messages":[{"id":"m1"}],"x":tru}"#,
                true,
            ),
            (
                r#" { "channel" : {"id":"a","x":01} , "members" : [] }"#,
                true,
            ),
            (r#"{"user":{"id":"u"},"messages":[],"x":tru}"#, true),
            (r#"{"channels":[ {"channel":{"id":"a"}}],"x":tru}"#, true),
            (r#"{"type":"message","item":{"id":"m1","x":tru}}"#, false),
            (r#"{"channel":{"id":"a"},"id":"m1","x":tru}"#, false),
            (r#"{"user":{"id":"u"},"user_id":"u","x":tru}"#, false),
            (r#"{"channels":["a","b"],"x":tru}"#, false),
            (r#"{"channel":{"id":"a","x":[1},"messages":[]}"#, false),
            // As an undamaged record with these keys is (`is_unit`).
            (r#"{"id":"m1","channel":{"id":"a"},"messages":[]"#, true),
            (r#"["channel"]"#, false),
            (r#"{"exported_at":tru,"channels":[{"channel":{}}]}"#, true),
            (r#"{"x":[1,,2],"data":[{"channel":{}}]}"#, true),
            (r#"{"config":{"a":01},"channel":{},"messages":[]}"#, true),
            (r#"{"user":{"id":"u"},"x":01,"messages":[]}"#, true),
            (r#"{"channel":{},"x":01,"members":[]}"#, true),
            (
                r#"{"a":1,"b":2,"c":3,"d":4,"e":5,"channel":{},"messages":[]}"#,
                false,
            ),
            (r#"{"data":{"id":"c"},"channel":{},"messages":[]}"#, false),
        ] {
            assert_eq!(looks_like_unit(record.as_bytes()), want, "{record}");
        }
    }
}
