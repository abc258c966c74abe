//! A walk over a record's structural index (`Blocks`): the top-level keys
//! of an object and the exact bytes of their values, found by jumping from
//! token to token instead of parsing. The quick scan and the decoder both
//! use it (the decoder to find an envelope's payload bytes), so it sits
//! below both.

use crate::json::index::Blocks;
use crate::model::keys::{Key, KeySet, key_of};

pub(crate) struct Object<'a> {
    /// The keys of the table it has.
    pub keys: KeySet,
    /// The value of `type`.
    pub type_value: Option<&'a [u8]>,
    /// `item` / `data` values: their bytes and the index of their first
    /// token.
    pub item: Option<(&'a [u8], usize)>,
    /// See `item`.
    pub data: Option<(&'a [u8], usize)>,
    /// The value of `created_at`, unless `null`.
    pub created_at: Option<&'a [u8]>,
}

impl<'a> Object<'a> {
    /// The envelope payload: `item` wins over `data`, as in the decoder.
    pub(crate) fn payload(&self) -> Option<(&'a [u8], usize)> {
        self.item.or(self.data)
    }
}

/// Whether `b` is all JSON whitespace.
pub(crate) fn is_ws(b: &[u8]) -> bool {
    b.iter().all(|&c| super::is_ws_byte(c))
}

/// `b` without surrounding JSON whitespace.
pub(crate) fn trim_ws(b: &[u8]) -> &[u8] {
    super::trim_ws_at(b).1
}

/// A walk over a record's structural masks.
pub(crate) struct Walk<'a, 'b> {
    /// The record.
    pub bytes: &'a [u8],
    /// Its structural index.
    pub blocks: &'b Blocks,
}

impl<'a> Walk<'a, '_> {
    /// The next token at or after `at`, which must be outside any string
    /// (just after a token or a value). Compact JSON has the token right
    /// there, so look at that byte before searching the masks.
    #[inline(always)]
    pub(crate) fn token_at(&self, at: usize) -> Option<usize> {
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
    pub(crate) fn key_end(&self, at: usize) -> Option<usize> {
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

    /// The object whose `{` is at `open`: its keys of interest, and where
    /// it ends.
    #[inline(always)]
    pub(crate) fn object(&self, open: usize) -> Option<Object<'a>> {
        let b = self.bytes;
        let mut o = Object {
            keys: KeySet::EMPTY,
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
            if let Some(k) = key_of(key) {
                o.keys.insert(k);
                match k {
                    Key::Type => o.type_value = Some(value),
                    Key::Item => o.item = Some((value, start)),
                    Key::Data => o.data = Some((value, start)),
                    Key::CreatedAt => o.created_at = (value != b"null").then_some(value),
                    _ => {}
                }
            }
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
