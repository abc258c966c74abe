//! A streaming JSON validator for the values the v1 walker skips (a
//! channel's `config` next to `channel`, a wrapper's metadata, ...).
//!
//! Those values are not entities, so nothing decodes them; they must still
//! be JSON. The walker frames a skipped value structurally (brackets and
//! strings) and feeds the same bytes here, block by block as they pass
//! through its window, so a huge skipped value is checked without being
//! held whole: memory is the nesting stack only (bounded by the depth
//! limit). Checked: the grammar (RFC 8259), UTF-8 inside strings, escapes,
//! and nesting depth. Escaped lone surrogates (`"\ud83d"`) are accepted:
//! the value is thrown away, so there is nothing to repair.

use crate::error::ErrorKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A value (at the start, after `:`, after `,` in an array).
    Value,
    /// After `[`: a value or `]`.
    ValueOrEnd,
    /// After `{`: a key or `}`.
    KeyOrEnd,
    /// After `,` in an object.
    Key,
    Colon,
    /// After a value inside a container.
    CommaOrEnd,
    /// Inside a string: `hex` escape digits still due, `utf8` continuation
    /// bytes still due and the range of the next one.
    Str {
        key: bool,
        backslash: bool,
        hex: u8,
        utf8: u8,
        lo: u8,
        hi: u8,
    },
    /// Inside a number, at the given grammar step.
    Num(Num),
    /// Inside `true`, `false` or `null`: the word and how much is matched.
    Word(&'static [u8], u8),
    /// The value is complete.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Num {
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    E,
    ESign,
    Exp,
}

impl Num {
    /// Can the number end here?
    fn complete(self) -> bool {
        matches!(self, Num::Zero | Num::Int | Num::Frac | Num::Exp)
    }
}

/// Validates one JSON value fed in pieces ([`Validator::feed`]), then
/// [`Validator::finish`]ed where the structural scan found its end.
pub(crate) struct Validator {
    stack: Vec<u8>,
    expect: Expect,
    max_depth: usize,
    lossy_utf8: bool,
    /// The first problem: absolute offset and kind. Later bytes are not
    /// looked at.
    error: Option<(u64, ErrorKind)>,
    /// The problem's line, found while its bytes are still held.
    line: Option<u64>,
}

fn json(message: &str) -> ErrorKind {
    ErrorKind::Json {
        message: message.to_string(),
    }
}

impl Validator {
    pub fn new(max_depth: usize, lossy_utf8: bool) -> Validator {
        Validator {
            stack: Vec::new(),
            expect: Expect::Value,
            max_depth,
            lossy_utf8,
            error: None,
            line: None,
        }
    }

    /// Checks `bytes`, which start at absolute offset `offset`.
    pub fn feed(&mut self, bytes: &[u8], offset: u64) {
        if self.error.is_some() {
            return;
        }
        for (i, &b) in bytes.iter().enumerate() {
            if let Err(kind) = self.byte(b) {
                self.error = Some((offset + i as u64, kind));
                return;
            }
        }
    }

    /// Finds the line of a problem found by the last [`Validator::feed`],
    /// while its bytes are still in the window (the walker drops a skipped
    /// value's bytes as it goes).
    pub fn locate(&mut self, line_of: impl FnOnce(u64) -> u64) {
        if let (Some((at, _)), None) = (&self.error, self.line) {
            self.line = Some(line_of(*at));
        }
    }

    /// The line found by [`Validator::locate`].
    pub fn line(&self) -> Option<u64> {
        self.line
    }

    /// The value ended at absolute offset `end`: the first problem, if any.
    pub fn finish(&mut self, end: u64) -> Option<(u64, ErrorKind)> {
        if self.error.is_none() {
            let complete = match self.expect {
                Expect::Done => true,
                Expect::Num(n) => n.complete() && self.stack.is_empty(),
                _ => false,
            };
            if !complete {
                self.error = Some((end, json("incomplete value")));
            }
        }
        self.error.take()
    }

    fn open(&mut self, b: u8) -> Result<(), ErrorKind> {
        if self.stack.len() >= self.max_depth {
            return Err(ErrorKind::TooDeep {
                max: self.max_depth,
            });
        }
        self.stack.push(b);
        self.expect = if b == b'{' {
            Expect::KeyOrEnd
        } else {
            Expect::ValueOrEnd
        };
        Ok(())
    }

    /// After a complete value.
    fn after_value(&mut self) {
        self.expect = if self.stack.is_empty() {
            Expect::Done
        } else {
            Expect::CommaOrEnd
        };
    }

    fn string(key: bool) -> Expect {
        Expect::Str {
            key,
            backslash: false,
            hex: 0,
            utf8: 0,
            lo: 0x80,
            hi: 0xbf,
        }
    }

    fn byte(&mut self, b: u8) -> Result<(), ErrorKind> {
        let ws = matches!(b, b' ' | b'\t' | b'\r' | b'\n');
        match self.expect {
            Expect::Str {
                key,
                backslash,
                hex,
                utf8,
                lo,
                hi,
            } => {
                let mut next = (backslash, hex, utf8, lo, hi);
                if utf8 > 0 {
                    if !(lo..=hi).contains(&b) && !self.lossy_utf8 {
                        return Err(ErrorKind::InvalidUtf8);
                    }
                    next = (false, 0, utf8 - 1, 0x80, 0xbf);
                } else if hex > 0 {
                    if !b.is_ascii_hexdigit() {
                        return Err(json("invalid \\u escape"));
                    }
                    next.1 = hex - 1;
                } else if backslash {
                    match b {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => next.0 = false,
                        b'u' => next = (false, 4, 0, lo, hi),
                        _ => return Err(json("invalid escape")),
                    }
                } else {
                    match b {
                        b'"' => {
                            if key {
                                self.expect = Expect::Colon;
                            } else {
                                self.after_value();
                            }
                            return Ok(());
                        }
                        b'\\' => next.0 = true,
                        0..0x20 => return Err(json("control character in string")),
                        0x20..0x80 => {}
                        0xc2..=0xdf => next = (false, 0, 1, 0x80, 0xbf),
                        0xe0 => next = (false, 0, 2, 0xa0, 0xbf),
                        0xed => next = (false, 0, 2, 0x80, 0x9f),
                        0xe1..=0xef => next = (false, 0, 2, 0x80, 0xbf),
                        0xf0 => next = (false, 0, 3, 0x90, 0xbf),
                        0xf1..=0xf3 => next = (false, 0, 3, 0x80, 0xbf),
                        0xf4 => next = (false, 0, 3, 0x80, 0x8f),
                        _ if self.lossy_utf8 => {}
                        _ => return Err(ErrorKind::InvalidUtf8),
                    }
                }
                let (backslash, hex, utf8, lo, hi) = next;
                self.expect = Expect::Str {
                    key,
                    backslash,
                    hex,
                    utf8,
                    lo,
                    hi,
                };
                Ok(())
            }
            Expect::Num(n) => {
                let step = match (n, b) {
                    (Num::Minus, b'0') => Some(Num::Zero),
                    (Num::Minus, b'1'..=b'9') => Some(Num::Int),
                    (Num::Int, b'0'..=b'9') => Some(Num::Int),
                    (Num::Zero | Num::Int, b'.') => Some(Num::Dot),
                    (Num::Dot | Num::Frac, b'0'..=b'9') => Some(Num::Frac),
                    (Num::Zero | Num::Int | Num::Frac, b'e' | b'E') => Some(Num::E),
                    (Num::E, b'+' | b'-') => Some(Num::ESign),
                    (Num::E | Num::ESign | Num::Exp, b'0'..=b'9') => Some(Num::Exp),
                    _ => None,
                };
                match step {
                    Some(n) => {
                        self.expect = Expect::Num(n);
                        Ok(())
                    }
                    None if n.complete() && !b.is_ascii_digit() => {
                        // The number ended: this byte belongs to what follows.
                        self.after_value();
                        self.byte(b)
                    }
                    None => Err(json("invalid number")),
                }
            }
            Expect::Word(word, i) => {
                if word.get(i as usize) != Some(&b) {
                    return Err(json("invalid literal"));
                }
                if i as usize + 1 == word.len() {
                    self.after_value();
                } else {
                    self.expect = Expect::Word(word, i + 1);
                }
                Ok(())
            }
            _ if ws => Ok(()),
            Expect::Value | Expect::ValueOrEnd => match b {
                b']' if self.expect == Expect::ValueOrEnd => self.close(b),
                b'{' | b'[' => self.open(b),
                b'"' => {
                    self.expect = Validator::string(false);
                    Ok(())
                }
                b'-' => {
                    self.expect = Expect::Num(Num::Minus);
                    Ok(())
                }
                b'0' => {
                    self.expect = Expect::Num(Num::Zero);
                    Ok(())
                }
                b'1'..=b'9' => {
                    self.expect = Expect::Num(Num::Int);
                    Ok(())
                }
                b't' => self.word(b"true"),
                b'f' => self.word(b"false"),
                b'n' => self.word(b"null"),
                _ => Err(json("expected a value")),
            },
            Expect::KeyOrEnd | Expect::Key => match b {
                b'}' if self.expect == Expect::KeyOrEnd => self.close(b),
                b'"' => {
                    self.expect = Validator::string(true);
                    Ok(())
                }
                _ => Err(json("expected an object key")),
            },
            Expect::Colon if b == b':' => {
                self.expect = Expect::Value;
                Ok(())
            }
            Expect::Colon => Err(json("expected ':'")),
            Expect::CommaOrEnd => match (b, self.stack.last()) {
                (b',', Some(b'{')) => {
                    self.expect = Expect::Key;
                    Ok(())
                }
                (b',', _) => {
                    self.expect = Expect::Value;
                    Ok(())
                }
                (b'}' | b']', _) => self.close(b),
                _ => Err(json("expected ',' or the end of the container")),
            },
            Expect::Done => Err(json("trailing characters after the value")),
        }
    }

    fn word(&mut self, word: &'static [u8]) -> Result<(), ErrorKind> {
        self.expect = Expect::Word(word, 1);
        Ok(())
    }

    fn close(&mut self, b: u8) -> Result<(), ErrorKind> {
        let open = if b == b'}' { b'{' } else { b'[' };
        if self.stack.pop() != Some(open) {
            return Err(json("mismatched bracket"));
        }
        self.after_value();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(bytes: &[u8]) -> Option<u64> {
        // Fed in pieces of every size, so state crosses every boundary.
        let mut answers = (1..=bytes.len().max(1)).map(|piece| {
            let mut v = Validator::new(64, false);
            for (i, chunk) in bytes.chunks(piece).enumerate() {
                v.feed(chunk, (i * piece) as u64);
            }
            v.finish(bytes.len() as u64).map(|(at, _)| at)
        });
        let first = answers.next().unwrap();
        assert!(
            answers.all(|a| a == first),
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
        first
    }

    /// Agrees with serde_json (after a UTF-8 check) on valid and invalid
    /// values.
    #[test]
    fn agrees_with_serde_json() {
        let cases: &[&[u8]] = &[
            b"1",
            b"-0.5e+3",
            b"01",
            b"1.",
            b"-",
            b"1e",
            b"tru",
            b"true",
            b"nul",
            b"null",
            b"\"a\"",
            b"\"\\uZZZZ\"",
            b"\"\\u00e9\\n\"",
            b"\"\\x\"",
            b"\"\xff\"",
            b"\"\xc3\xa9\"",
            b"\"\xed\xa0\x80\"",
            b"\"\xe0\x80\x80\"",
            b"\"a\tb\"",
            b"[1,,2]",
            b"[1,2]",
            b"[1,2,]",
            b"[]",
            b"{}",
            b"{\"a\":1,}",
            b"{\"a\" 1}",
            b"{\"a\":[true,{\"b\":null}]}",
            b"[1}",
            b"{\"a\":1]",
            b"{1:2}",
            b"[1 2]",
            b"\"\xf4\x90\x80\x80\"",
        ];
        for &case in cases {
            let want = std::str::from_utf8(case).is_ok()
                && serde_json::from_slice::<serde_json::Value>(case).is_ok();
            assert_eq!(
                check(case).is_none(),
                want,
                "{:?}",
                String::from_utf8_lossy(case)
            );
        }
        // By design (module docs): a skipped lone surrogate is accepted,
        // though serde_json rejects it.
        assert_eq!(check(br#"["\ud83d"]"#), None);
        assert!(serde_json::from_slice::<serde_json::Value>(br#"["\ud83d"]"#).is_err());
    }

    #[test]
    fn depth_is_bounded() {
        let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
        let mut v = Validator::new(64, false);
        v.feed(deep.as_bytes(), 0);
        assert!(matches!(
            v.finish(130),
            Some((64, ErrorKind::TooDeep { max: 64 }))
        ));
    }
}
