//! Format detection: line framing or the document walker, chosen from the
//! first bytes of an input, the same for every source (slice, map, stream,
//! gzip) and whatever the block size.

use crate::decode::{self, Decoded, Hint, Repairs};
use crate::error::Result;
use crate::frame::v1::UNIT_KEYS;
use crate::io::source::Window;
use crate::json::shape::{self, read_key, skip_value, skip_ws};

/// How an input is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    Lines,
    Document,
    Empty,
}

/// How far detection reads ahead. Bounded, so a huge one-line document is
/// not buffered whole just to be recognised.
const DETECT_WINDOW: usize = 1 << 20;

/// Chooses line framing or the document walker from the first bytes, and
/// skips a UTF-8 byte-order mark. See FORMAT.md:
/// - a top-level array is a document (v1 array, legacy import);
/// - a first line that is a complete value is a line file, unless it is a
///   v1 channel object (or wrapper, or user export), which the walker
///   reads without holding it whole;
/// - a first value that goes on past its first line (pretty-printed, or a
///   compact document cut short) is a document;
/// - a first line longer than the look-ahead is judged by the keys at the
///   top of its object ([`long_first_object`]): a v1 shape is a document,
///   anything else (an envelope or entity with a huge value) a line file.
///   Had such a line file been framed as a document, one damaged line
///   later would swallow the rest of the file.
///
/// The walker also frames plain records, so a document misjudged only
/// costs resilience; a line file misjudged as a document cannot read past
/// its first damaged line.
pub(crate) fn detect(window: &mut Window<'_>) -> Result<(u64, Framing)> {
    while window.end() < 3 {
        match window.fill(0) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => {
                window.defer(error);
                break;
            }
        }
    }
    let start = if window.bytes().starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let mut first = start;
    loop {
        match window.byte(first) {
            Some(b' ' | b'\t' | b'\r' | b'\n') => first += 1,
            Some(_) => break,
            None => match window.fill(0) {
                Ok(true) => {}
                Ok(false) => return Ok((start, Framing::Empty)),
                Err(error) => {
                    window.defer(error);
                    return Ok((start, Framing::Lines));
                }
            },
        }
    }
    match window.byte(first) {
        Some(b'[') => return Ok((start, Framing::Document)),
        Some(b'{') => {}
        _ => return Ok((start, Framing::Lines)),
    }
    // The same bound for every source, so a slice and a stream of the
    // same bytes are framed alike whatever the block size.
    let limit = first + DETECT_WINDOW as u64;
    let mut searched = first;
    // A read error cut the first line: frame from what arrived (the error
    // is held back in the window, so `at_eof` no longer says so).
    let mut broken = false;
    let newline = loop {
        let from = (searched - window.base()) as usize;
        let upto = ((limit.min(window.end())) - window.base()) as usize;
        if let Some(i) = memchr::memchr(b'\n', &window.bytes()[from..upto.max(from)]) {
            break Some(searched + i as u64);
        }
        searched = window.end().min(limit);
        if searched >= limit {
            break None;
        }
        match window.fill(0) {
            Ok(true) => {}
            Ok(false) => break None,
            Err(error) => {
                // A broken stream: detect from what arrived; the error is
                // reported where it belongs, after those records.
                window.defer(error);
                broken = true;
                break None;
            }
        }
    };
    let end = match newline {
        Some(n) => n,
        None if (window.at_eof() || broken) && window.end() <= limit => window.end(),
        None => {
            let prefix = window.range(first, limit.min(window.end()));
            let framing = if long_first_object(prefix, true) {
                Framing::Document
            } else {
                Framing::Lines
            };
            return Ok((start, framing));
        }
    };
    let line = window.range(first, end);
    match serde_json::from_slice::<serde::de::IgnoredAny>(line) {
        Ok(_) => {
            let unit = matches!(
                decode::decode_record(line, first, Hint::Record, Repairs::default()),
                Ok(Decoded::Unit)
            );
            Ok((
                start,
                if unit {
                    Framing::Document
                } else {
                    Framing::Lines
                },
            ))
        }
        // An incomplete first value: pretty-printed over several lines, or
        // a compact document cut short. The walker frames both (and a
        // truncated single line too: it reports the same one error).
        Err(e) if e.is_eof() => Ok((start, Framing::Document)),
        // A damaged first line whose value goes on past it (its brackets
        // do not close on the line): a pretty-printed document damaged
        // early (`{"exported_at": tru,` then `"channels": [...]`), or a
        // damaged line of a line file. Judged as a long first line is, by
        // the keys at the top of the value (read on across lines, within
        // the look-ahead): only a v1 shape makes it a document.
        Err(_) if !shape::skip_value(line, &mut 0) => {
            while window.end() < limit {
                match window.fill(0) {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(error) => {
                        window.defer(error);
                        break;
                    }
                }
            }
            let prefix = window.range(first, limit.min(window.end()));
            // Only a v1 key makes a damaged line a document: a damaged
            // record's garbage can look like "an object, then more on the
            // line" to the structural skip.
            Ok((
                start,
                if long_first_object(prefix, false) {
                    Framing::Document
                } else {
                    Framing::Lines
                },
            ))
        }
        Err(_) => Ok((start, Framing::Lines)),
    }
}

/// Is the first object, of which `prefix` (starting at its `{`, holding
/// no newline) is all detection looks at, a document rather than a line?
///
/// It is when, among the keys at its top level that `prefix` shows, one is
/// a key the walker enters (`channel`, `channels`, `messages`, `members`:
/// a v1 channel object, wrapper or user export) or holds an array whose
/// first element is such an object (a wrapper under another name) — the
/// walker's own tests (`Walker::probe_object`), so what it would walk is
/// walked. It is also when the object ends inside `prefix` with more on
/// the same line: several values on one line, which only the walker
/// frames. Otherwise (an envelope or entity whose keys are not those, with
/// a value too long to see past) it is a line. v1 exports put `channel`
/// first, and a user export's `user` or a wrapper's metadata before its
/// arrays is small; a v1 object whose first such key comes after a
/// megabyte is framed as a line, which reads it too while it fits in
/// `max_line` (it is expanded as a v1 record), just with its memory.
///
/// Keys are compared as written (an escaped spelling is not recognised),
/// as the walker's wrapper test does. `more_on_the_line` says whether an
/// object that ends with more after it on the line counts as a document
/// (for an intact long line; not for a damaged one).
fn long_first_object(prefix: &[u8], more_on_the_line: bool) -> bool {
    let mut at = 1;
    loop {
        let Some(key) = read_key(prefix, &mut at) else {
            return false;
        };
        if skip_ws(prefix, &mut at) != Some(b':') {
            return false;
        }
        at += 1;
        let Some(value) = skip_ws(prefix, &mut at) else {
            return false;
        };
        if UNIT_KEYS.iter().any(|k| k.as_bytes() == key) {
            return true;
        }
        if value == b'[' {
            let mut inner = at + 1;
            if skip_ws(prefix, &mut inner) == Some(b'{') {
                inner += 1;
                if let Some(first) = read_key(prefix, &mut inner)
                    && UNIT_KEYS.iter().any(|k| k.as_bytes() == first)
                {
                    return true;
                }
            }
        }
        if !skip_value(prefix, &mut at) {
            return false;
        }
        match skip_ws(prefix, &mut at) {
            Some(b',') => at += 1,
            // The object ends and more follows on the same line.
            Some(b'}') => return more_on_the_line,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn long(head: &str) -> Vec<u8> {
        let mut v = head.as_bytes().to_vec();
        v.resize(DETECT_WINDOW + 100, b'x');
        v
    }

    fn framing(bytes: &[u8]) -> Framing {
        detect(&mut Window::slice(bytes)).unwrap().1
    }

    #[test]
    fn a_long_first_line_is_judged_by_its_top_keys() {
        for (head, want) in [
            (
                r#"{"type":"message","item":{"id":"m","text":""#,
                Framing::Lines,
            ),
            (r#"{"id":"m","text":""#, Framing::Lines),
            (
                r#"{"type":"m","x":[1,{"a":"}"}],"item":{"t":""#,
                Framing::Lines,
            ),
            (r#"{"channel":{"id":"a","name":""#, Framing::Document),
            (r#"{ "channels" : [{"channel":{"id":""#, Framing::Document),
            (
                r#"{"exported_at":"2024","channels":[{"channel":{"n":""#,
                Framing::Document,
            ),
            (
                r#"{"user":{"id":"u"},"messages":[{"id":"m","text":""#,
                Framing::Document,
            ),
            (r#"{"data":[ {"channel":{"id":"a","n":""#, Framing::Document),
            (r#"{"data":[{"type":"user","item":{"n":""#, Framing::Lines),
            (r#"{"a":"b\"c","channel":{"id":""#, Framing::Document),
            (r#"{"a":1} {"b":""#, Framing::Document),
        ] {
            assert_eq!(framing(&long(head)), want, "{head}");
        }
    }
}
