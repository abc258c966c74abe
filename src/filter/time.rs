//! The time-window prefilter: the lines that can hold a record created in
//! `[since, until)`, found from raw bytes without a structural index.
//!
//! A record passes a time predicate only by its own top-level
//! `created_at`. That key, unless spelled with escapes, appears in the
//! line as the bytes `"created_at"` followed by `:` and its value, so a
//! line is a candidate when some occurrence of those bytes has a value
//! that may lie in the window — or when the line holds an escape that
//! could spell a character of the key. Nested objects (a message's user,
//! its reactions) have `created_at` keys too: they can only add
//! candidates, never lose one, because a line is skipped only when *every*
//! occurrence is outside the window. So is a string that happens to end
//! in `\"created_at`. Candidates are then tested exactly (the quick scan,
//! then the decoder), so the prefilter changes only how much is decoded.
//!
//! The search is one pass over the bytes (the user prefilter's needle
//! search: the key, the newlines and the `\u00` escapes together) instead
//! of the quote and bracket index of every byte; most values are decided
//! by their date alone.

use super::needle::{EXPORT_BYTE_RANK, Needle};
use crate::model::timestamp::Timestamp;

/// The key as it appears unescaped, quotes included.
const KEY: &[u8] = br#""created_at""#;

/// Finds the lines that may hold a record created in the window.
#[derive(Debug, Clone)]
pub(crate) struct TimePrefilter {
    /// The key, with the `\u00XX` escapes of its characters: the search
    /// of the user prefilter, which counts newlines and collects those
    /// escapes in the same pass over the bytes.
    key: Needle,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    /// The UTC dates (`YYYY-MM-DD`) of the bounds, for deciding most
    /// values by their date alone.
    since_date: Option<[u8; 10]>,
    until_date: Option<[u8; 10]>,
}

/// The UTC date of `t` as `YYYY-MM-DD`, when its year has four digits.
fn utc_date(t: Timestamp) -> Option<[u8; 10]> {
    let text = t.to_string();
    let b = text.as_bytes();
    (b.len() >= 10 && b[4] == b'-' && b[7] == b'-' && b[..4].iter().all(u8::is_ascii_digit))
        .then(|| b[..10].try_into().expect("ten bytes"))
}

impl TimePrefilter {
    /// A prefilter for `since <= created_at < until` (either bound may be
    /// open).
    pub(crate) fn new(since: Option<Timestamp>, until: Option<Timestamp>) -> TimePrefilter {
        TimePrefilter {
            key: {
                let mut chars = [false; 128];
                for &c in b"created_at" {
                    chars[usize::from(c)] = true;
                }
                Needle::new(KEY, |b| EXPORT_BYTE_RANK[usize::from(b)]).with_escape_chars(&chars)
            },
            since,
            until,
            since_date: since.and_then(utc_date),
            until_date: until.and_then(utc_date),
        }
    }

    /// Decides a plain string value by its date when it is a UTC time
    /// (`YYYY-MM-DDT...Z`) on a day wholly before `since` or after
    /// `until`: `Some(false)`. Dates of four-digit years order as their
    /// bytes do; a string that only looks like one but does not parse
    /// has no time and fails the predicate anyway.
    fn by_date(&self, value: &[u8]) -> Option<bool> {
        if value.len() < 20 || value[10] != b'T' || value.last() != Some(&b'Z') {
            return None;
        }
        let date = &value[..10];
        if self.since_date.is_some_and(|d| date < &d[..])
            || self.until_date.is_some_and(|d| date > &d[..])
        {
            return Some(false);
        }
        None
    }

    /// The places in `text` that may make a record a candidate, sorted:
    /// each occurrence of the key whose value may lie in the window, and
    /// each escape that could spell a character of the key. A record
    /// (a line, or a v1 document's message or member) holding none of
    /// them cannot be in the window. Also the number of `\n` in `text`.
    pub(crate) fn hits_counting(&self, text: &[u8]) -> (Vec<usize>, u64) {
        let mut hits: Vec<usize> = Vec::new();
        let mut escapes: Vec<usize> = Vec::new();
        let newlines = self.key.find_counting(text, Some(&mut escapes), |at| {
            if self.may_pass(&text[at + KEY.len()..]) {
                hits.push(at);
            }
        });
        // Escapes that spell a character of the key (the needle reports
        // only those, and any cut off by the end of the text).
        if !escapes.is_empty() {
            hits.extend(escapes);
            hits.sort_unstable();
        }
        (hits, newlines)
    }

    /// Calls `f(start, end)` for each line of `text` that may hold a
    /// record in the window (`end` before its `\n`), in order, once each;
    /// returns the number of `\n` in `text`.
    pub(crate) fn candidate_lines_counting(
        &self,
        text: &[u8],
        mut f: impl FnMut(usize, usize),
    ) -> u64 {
        let (hits, newlines) = self.hits_counting(text);
        let mut covered = 0;
        for hit in hits {
            if hit < covered {
                continue;
            }
            let start = memchr::memrchr(b'\n', &text[..hit]).map_or(0, |p| p + 1);
            let end = memchr::memchr(b'\n', &text[hit..]).map_or(text.len(), |p| hit + p);
            f(start, end);
            covered = end + 1;
        }
        newlines
    }

    /// After an occurrence of `"created_at"`: can this be the record's own
    /// key with a time in the window? False only when it is certainly not:
    /// no `:` follows (a string value, not a key), the value is `null`
    /// (no time), or it is a plain string that parses as a time outside
    /// the window. Anything unusual (escapes, other types, an unparseable
    /// string, the text ending) is a candidate, for the exact test.
    fn may_pass(&self, rest: &[u8]) -> bool {
        let mut i = skip_ws(rest, 0);
        match rest.get(i) {
            Some(b':') => i += 1,
            Some(_) => return false,
            None => return true,
        }
        i = skip_ws(rest, i);
        match rest.get(i) {
            Some(b'"') => {
                let value = &rest[i + 1..];
                let Some(close) = memchr::memchr2(b'"', b'\\', value) else {
                    return true;
                };
                if value[close] == b'"' {
                    return self.value_may_pass(&value[..close]);
                }
                // Escapes in a time (`2024\u002d03-01`): spelled out into a
                // small buffer, when they are all ASCII.
                let mut buf = [0u8; 48];
                match unescape_ascii(value, &mut buf) {
                    Some(len) => self.value_may_pass(&buf[..len]),
                    None => true,
                }
            }
            Some(b'n') => !rest[i..].starts_with(b"null"),
            _ => true,
        }
    }
}

impl TimePrefilter {
    /// Can a `created_at` string with these (unescaped) bytes be in the
    /// window?
    fn value_may_pass(&self, value: &[u8]) -> bool {
        if let Some(answer) = self.by_date(value) {
            return answer;
        }
        match Timestamp::parse_bytes(value) {
            Some(t) => self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u),
            // Not a time the fast parser takes: the exact test decides.
            None => true,
        }
    }
}

/// The contents of the JSON string starting at `s` (after its opening
/// quote) with its escapes spelled out, into `buf`; its length. `None`
/// when it does not fit, is cut off, or escapes anything beyond ASCII
/// (no time is spelled that way; the exact test decides those).
fn unescape_ascii(s: &[u8], buf: &mut [u8]) -> Option<usize> {
    let (mut i, mut n) = (0, 0);
    loop {
        let b = *s.get(i)?;
        let out = match b {
            b'"' => return Some(n),
            b'\\' => {
                let (c, used) = match *s.get(i + 1)? {
                    b'u' => {
                        let hex = s.get(i + 2..i + 6)?;
                        let v = hex
                            .iter()
                            .try_fold(0u32, |v, &h| Some(v << 4 | (h as char).to_digit(16)?))?;
                        (u8::try_from(v).ok().filter(u8::is_ascii)?, 6)
                    }
                    c @ (b'"' | b'\\' | b'/') => (c, 2),
                    _ => return None,
                };
                i += used;
                c
            }
            _ => {
                i += 1;
                b
            }
        };
        *buf.get_mut(n)? = out;
        n += 1;
    }
}

fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while s.get(i).is_some_and(|&b| crate::json::is_ws_byte(b)) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn march() -> TimePrefilter {
        TimePrefilter::new(
            Timestamp::parse("2024-03-01T00:00:00Z"),
            Timestamp::parse("2024-04-01T00:00:00Z"),
        )
    }

    fn candidates(p: &TimePrefilter, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        p.candidate_lines_counting(text.as_bytes(), |s, e| out.push(text[s..e].to_string()));
        out
    }

    #[test]
    fn lines_are_decided_by_every_created_at_they_hold() {
        let p = march();
        let text = concat!(
            r#"{"id":"in","created_at":"2024-03-05T10:00:00Z"}"#,
            "\n",
            r#"{"id":"out","user":{"created_at":"2024-03-02T00:00:00Z"},"created_at":"2024-05-01T00:00:00Z"}"#,
            "\n",
            r#"{"id":"before","created_at":"2024-02-29T23:59:59.999999Z"}"#,
            "\n",
            r#"{"id":"edge","created_at" : "2024-03-01T01:00:00+01:00"}"#,
            "\n",
            r#"{"id":"until","created_at":"2024-04-01T00:00:00Z"}"#,
            "\n",
            r#"{"id":"none"}"#,
            "\n",
            r#"{"id":"null","created_at":null}"#,
            "\n",
            r#"{"id":"odd","created_at":"2024-03-0\u0035T00:00:00Z"}"#,
            "\n",
            r#"{"id":"escout","created_at":"2024\u002d05-05T00:00:00Z"}"#,
            "\n",
            r#"{"id":"escbig","created_at":"2024-05-05T00:00:00\u00e9Z"}"#,
            "\n",
            r#"{"id":"num","created_at":1709251200}"#,
            "\n",
            r#"{"id":"esc","cr\u0065ated_at":"2024-03-05T00:00:00Z"}"#,
            "\n",
            r#"{"id":"html","html":"\u003cp\u003e","created_at":"2025-01-01T00:00:00Z"}"#,
            "\n",
            r#"{"id":"value","field":"created_at","created_at":"2023-01-01T00:00:00Z"}"#,
        );
        let got = candidates(&p, text);
        let ids: Vec<&str> = got.iter().map(|l| l.split('"').nth(3).unwrap()).collect();
        // "out" is a candidate by its nested user (the exact test rejects
        // it); "edge" is 2024-03-01T00:00Z in UTC; "odd" spells March 5th
        // with an escape, "escout" May 5th; "escbig" escapes a non-ASCII
        // character, left to the exact test.
        assert_eq!(ids, ["in", "out", "edge", "odd", "escbig", "num", "esc"]);
        assert_eq!(p.candidate_lines_counting(text.as_bytes(), |_, _| {}), 13);
    }

    #[test]
    fn open_bounds_and_cut_text() {
        let p = TimePrefilter::new(Timestamp::parse("2024-01-01T00:00:00Z"), None);
        assert_eq!(
            candidates(&p, r#"{"created_at":"2030-01-01T00:00:00Z"}"#).len(),
            1
        );
        assert!(candidates(&p, r#"{"created_at":"2020-01-01T00:00:00Z"}"#).is_empty());
        // A value cut by the end of the text is kept for the exact test.
        assert_eq!(candidates(&p, r#"{"created_at":"2020-01-01T0"#).len(), 1);
        assert_eq!(candidates(&p, r#"{"created_at""#).len(), 1);
        assert_eq!(candidates(&p, r#"{"x":"\u00"#).len(), 1);
    }
}
