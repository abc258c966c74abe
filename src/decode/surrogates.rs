//! Escaped lone surrogates (`\ud83d` without its low half).
//!
//! serde_json checks escapes only in the strings it decodes; a lone
//! surrogate in a skipped field would slip through and break `to_value()`
//! later, so the decoder looks for them itself. Python's default
//! `ensure_ascii=True` writes every emoji as an escaped pair, so the check
//! runs on many records: it allocates nothing, and a copy is made only to
//! repair a record that has a lone surrogate.

/// Where the first escaped surrogate that is not half of a valid pair
/// starts (its backslash), if there is one.
pub(crate) fn first_lone_surrogate(bytes: &[u8]) -> Option<usize> {
    LoneSurrogates { bytes, at: 0 }.next()
}

/// A copy of `bytes` with every escaped lone surrogate replaced by
/// `\ufffd`; `None` (and no copy) when there is none.
pub(crate) fn replace_lone_surrogates(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut lone = LoneSurrogates { bytes, at: 0 }.peekable();
    lone.peek()?;
    // Each escape is six bytes and so is its replacement.
    let mut out = Vec::with_capacity(bytes.len());
    let mut copied = 0;
    for at in lone {
        out.extend_from_slice(&bytes[copied..at]);
        out.extend_from_slice(b"\\ufffd");
        copied = at + ESCAPE;
    }
    out.extend_from_slice(&bytes[copied..]);
    Some(out)
}

/// The length of one `\uXXXX` escape.
const ESCAPE: usize = 6;

/// The offsets of the escaped lone surrogates of a record, in order.
///
/// A backslash can only stand inside a string in JSON, so the search jumps
/// from backslash to backslash (memchr) without tracking strings; the
/// character after each backslash is skipped, so `\\ud83d` is no escape.
struct LoneSurrogates<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Iterator for LoneSurrogates<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let b = self.bytes;
        while let Some(i) = memchr::memchr(b'\\', b.get(self.at..)?) {
            let i = self.at + i;
            if b.get(i + 1) != Some(&b'u') {
                self.at = i + 2;
                continue;
            }
            match hex4(b, i + 2) {
                Some(0xD800..=0xDBFF) => {
                    let low = if b.get(i + ESCAPE..i + ESCAPE + 2) == Some(b"\\u") {
                        hex4(b, i + ESCAPE + 2)
                    } else {
                        None
                    };
                    if matches!(low, Some(0xDC00..=0xDFFF)) {
                        self.at = i + 2 * ESCAPE;
                        continue;
                    }
                    self.at = i + ESCAPE;
                    return Some(i);
                }
                Some(0xDC00..=0xDFFF) => {
                    self.at = i + ESCAPE;
                    return Some(i);
                }
                _ => self.at = i + 2,
            }
        }
        None
    }
}

/// The four hex digits at `at` as a code unit (digits only: no sign, as
/// `from_str_radix` would accept).
fn hex4(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 4)?.iter().try_fold(0u16, |n, &c| {
        let d = (c as char).to_digit(16)?;
        Some(n << 4 | d as u16)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_pairs_are_left_alone() {
        assert_eq!(first_lone_surrogate(br#""\ud83d\ude00""#), None);
        assert_eq!(
            first_lone_surrogate(br#""\uD83D\uDE00 \u00e9 \\ud83d""#),
            None
        );
        assert_eq!(replace_lone_surrogates(br#""\ud83d\ude00""#), None);
        assert_eq!(
            replace_lone_surrogates(br#""\ude00\ud83d""#).unwrap(),
            br#""\ufffd\ufffd""#.to_vec()
        );
    }

    /// The offset is the lone surrogate's own, not that of an earlier
    /// valid pair (the offset used to be the first `\ud` of the record).
    #[test]
    fn offset_is_the_lone_one() {
        let record = br#"{"a":"\ud83d\ude00","b":"x\ud83d y"}"#;
        let at = first_lone_surrogate(record).unwrap();
        assert_eq!(&record[at..at + 6], br"\ud83d");
        assert_eq!(at, 26);
        // A high half followed by another high half: the first is lone,
        // the second starts a valid pair.
        let record = br#""\ud83d\ud83d\ude00""#;
        assert_eq!(first_lone_surrogate(record), Some(1));
        assert_eq!(
            replace_lone_surrogates(record).unwrap(),
            br#""\ufffd\ud83d\ude00""#.to_vec()
        );
    }

    #[test]
    fn truncated_and_odd_escapes_do_not_panic() {
        for record in [
            &br#""\ud83d"#[..],
            br#""\ud8"#,
            br"\",
            br"\u",
            br#""\ud83d\u"#,
            br#""\ud83d\ude0"#,
            br#""\u+d83""#,
        ] {
            let first = first_lone_surrogate(record);
            assert_eq!(replace_lone_surrogates(record).is_some(), first.is_some());
        }
        assert_eq!(first_lone_surrogate(br#""\ud83d"#), Some(1));
        assert_eq!(first_lone_surrogate(br#""\u+d83""#), None);
    }
}
