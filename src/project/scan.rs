//! A validating, allocation-free scanner over one JSON text.
//!
//! It accepts exactly what `serde_json::from_str::<serde_json::Value>`
//! accepts (the oracle of the tests) but for one thing: the JSON grammar,
//! escapes (lone surrogates included, which `Value` rejects) and at most
//! [`MAX_DEPTH`] levels of nesting — as the decoder, so whatever it yields
//! projects. Numbers are checked for their grammar, not their range
//! (`1e400` passes, as in the decoder; `Value` rejects it). Values it does not need are
//! skipped without building anything; nesting is tracked in a bit stack, so
//! a deep value costs no recursion.

use crate::error::{Error, ErrorKind, Position};
use std::ops::Range;

/// The deepest nesting accepted: serde_json's own recursion limit, as the
/// decoder's (so whatever decodes also projects).
pub(crate) const MAX_DEPTH: usize = 127;

/// The JSON type of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool,
    /// A number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

/// Where the scanner is in the text. Every method leaves `pos` just past
/// what it consumed, or fails with the position of the offending byte.
pub(crate) struct Scanner<'a> {
    pub b: &'a [u8],
    pub pos: usize,
    /// The deepest nesting accepted, at most [`MAX_DEPTH`].
    pub max_depth: usize,
    /// Whitespace was skipped somewhere (outside strings): the text is
    /// not minified. Set only where whitespace is, so compact text pays
    /// nothing for it.
    pub spaced: bool,
}

/// What to do after an element of a container was looked at.
enum Next {
    /// The element is a container opening at `pos`.
    Open,
    /// The element was consumed.
    After,
}

impl<'a> Scanner<'a> {
    pub fn new(text: &'a str) -> Scanner<'a> {
        Scanner {
            b: text.as_bytes(),
            pos: 0,
            max_depth: MAX_DEPTH,
            spaced: false,
        }
    }

    #[inline]
    pub fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    #[inline]
    pub fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
            self.spaced = true;
        }
    }

    /// An error at the current position (line computed now, off the hot
    /// path).
    #[cold]
    pub fn error(&self, kind: ErrorKind) -> Error {
        let at = self.pos.min(self.b.len());
        let line = 1 + memchr::memchr_iter(b'\n', &self.b[..at]).count() as u64;
        Error::at(
            kind,
            Position {
                byte: at as u64,
                line,
            },
        )
    }

    #[cold]
    pub fn syntax(&self, message: &str) -> Error {
        if self.pos >= self.b.len() {
            return self.error(ErrorKind::Truncated {
                what: "a JSON value",
            });
        }
        self.error(ErrorKind::Json {
            message: message.to_string(),
        })
    }

    /// Consumes `byte` (after optional whitespace) or fails.
    #[inline]
    pub fn expect(&mut self, byte: u8, message: &str) -> Result<(), Error> {
        self.ws();
        if self.peek() != Some(byte) {
            return Err(self.syntax(message));
        }
        self.pos += 1;
        Ok(())
    }

    /// A string starting at `pos` (its opening quote). Returns whether it
    /// holds escapes; its bytes are `start..self.pos`.
    #[inline]
    pub fn string(&mut self) -> Result<bool, Error> {
        debug_assert_eq!(self.peek(), Some(b'"'));
        self.pos += 1;
        let mut escaped = false;
        loop {
            self.pos = string_stop(self.b, self.pos);
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(escaped);
                }
                Some(b'\\') => {
                    escaped = true;
                    self.escape()?;
                }
                // A raw control character is not allowed in a string.
                Some(_) => return Err(self.syntax("control character while parsing a string")),
                None => return Err(self.syntax("unterminated string")),
            }
        }
    }

    /// One escape at `pos` (its backslash).
    fn escape(&mut self) -> Result<(), Error> {
        let at = self.pos;
        match self.b.get(at + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                self.pos = at + 2;
                Ok(())
            }
            Some(b'u') => {
                self.pos = at + 2;
                match self.hex4()? {
                    0xD800..=0xDBFF => {
                        if self.b.get(self.pos..self.pos + 2) != Some(b"\\u") {
                            self.pos = at;
                            return Err(self.syntax("lone leading surrogate in hex escape"));
                        }
                        self.pos += 2;
                        if !(0xDC00..=0xDFFF).contains(&self.hex4()?) {
                            self.pos = at;
                            return Err(self.syntax("lone leading surrogate in hex escape"));
                        }
                        Ok(())
                    }
                    0xDC00..=0xDFFF => {
                        self.pos = at;
                        Err(self.syntax("lone trailing surrogate in hex escape"))
                    }
                    _ => Ok(()),
                }
            }
            None => {
                self.pos = self.b.len();
                Err(self.syntax("unterminated string"))
            }
            Some(_) => {
                self.pos = at + 1;
                Err(self.syntax("invalid escape"))
            }
        }
    }

    fn hex4(&mut self) -> Result<u16, Error> {
        match hex4(self.b, self.pos) {
            Some(n) => {
                self.pos += 4;
                Ok(n)
            }
            None => {
                if self.b.len() < self.pos + 4 {
                    self.pos = self.b.len();
                }
                Err(self.syntax("invalid escape"))
            }
        }
    }

    /// A number starting at `pos`.
    fn number(&mut self) -> Result<(), Error> {
        let b = self.b;
        let digits = |pos: &mut usize| {
            let from = *pos;
            while b.get(*pos).is_some_and(u8::is_ascii_digit) {
                *pos += 1;
            }
            *pos > from
        };
        let mut pos = self.pos;
        if b.get(pos) == Some(&b'-') {
            pos += 1;
        }
        match b.get(pos) {
            Some(b'0') => pos += 1,
            Some(b'1'..=b'9') => {
                digits(&mut pos);
            }
            _ => {
                self.pos = pos;
                return Err(self.syntax("invalid number"));
            }
        }
        if b.get(pos) == Some(&b'.') {
            pos += 1;
            if !digits(&mut pos) {
                self.pos = pos;
                return Err(self.syntax("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = b.get(pos) {
            pos += 1;
            if let Some(b'+' | b'-') = b.get(pos) {
                pos += 1;
            }
            if !digits(&mut pos) {
                self.pos = pos;
                return Err(self.syntax("invalid number"));
            }
        }
        // The grammar is checked, not the range: JSON allows any number,
        // and the decoder yields entities holding `1e400` (which
        // `serde_json::Value` rejects), so their other fields must project.
        self.pos = pos;
        Ok(())
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), Error> {
        if self.b.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.syntax("expected a value"))
        }
    }

    /// One value at `pos` (whitespace already skipped), which sits at
    /// nesting depth `depth` (1 for a value of the top-level object).
    /// Returns its kind and, for a string, whether it holds escapes.
    #[inline]
    pub fn value(&mut self, depth: usize) -> Result<(ValueKind, bool), Error> {
        match self.peek() {
            Some(b'"') => Ok((ValueKind::String, self.string()?)),
            Some(b'{') => self.container(depth).map(|()| (ValueKind::Object, false)),
            Some(b'[') => self.container(depth).map(|()| (ValueKind::Array, false)),
            _ => self.scalar().map(|kind| (kind, false)),
        }
    }

    fn scalar(&mut self) -> Result<ValueKind, Error> {
        match self.peek() {
            Some(b'"') => self.string().map(|_| ValueKind::String),
            Some(b't') => self.literal(b"true").map(|()| ValueKind::Bool),
            Some(b'f') => self.literal(b"false").map(|()| ValueKind::Bool),
            Some(b'n') => self.literal(b"null").map(|()| ValueKind::Null),
            Some(b'-' | b'0'..=b'9') => self.number().map(|()| ValueKind::Number),
            _ => Err(self.syntax("expected a value")),
        }
    }

    /// An object key and its colon; whitespace around them is consumed.
    /// Returns the key's contents (between the quotes, escapes undecoded)
    /// and whether it holds escapes.
    #[inline]
    pub fn key(&mut self) -> Result<(&'a [u8], bool), Error> {
        self.ws();
        if self.peek() != Some(b'"') {
            return Err(self.syntax("expected a key"));
        }
        let start = self.pos + 1;
        let escaped = self.string()?;
        let key = &self.b[start..self.pos - 1];
        self.expect(b':', "expected ':'")?;
        self.ws();
        Ok((key, escaped))
    }

    /// Skips the container opening at `pos`, which sits at depth `outer`
    /// (the depth of whatever holds it). Iterative: a bit per level
    /// (1 for an object) says which closing bracket is due.
    fn container(&mut self, outer: usize) -> Result<(), Error> {
        let mut stack: u128 = 0;
        let mut level = 0usize;
        let mut next = Next::Open;
        loop {
            match next {
                Next::Open => {
                    let object = self.peek() == Some(b'{');
                    level += 1;
                    if outer + level > self.max_depth {
                        return Err(self.error(ErrorKind::TooDeep {
                            max: self.max_depth,
                        }));
                    }
                    stack = stack << 1 | object as u128;
                    self.pos += 1;
                    self.ws();
                    let close = if object { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.pos += 1;
                        level -= 1;
                        stack >>= 1;
                        if level == 0 {
                            return Ok(());
                        }
                        next = Next::After;
                        continue;
                    }
                    if object {
                        self.key()?;
                    }
                    next = self.element()?;
                }
                Next::After => {
                    self.ws();
                    let object = stack & 1 == 1;
                    match (self.peek(), object) {
                        (Some(b','), _) => {
                            self.pos += 1;
                            self.ws();
                            if object {
                                self.key()?;
                            }
                            next = self.element()?;
                        }
                        (Some(b'}'), true) | (Some(b']'), false) => {
                            self.pos += 1;
                            level -= 1;
                            stack >>= 1;
                            if level == 0 {
                                return Ok(());
                            }
                        }
                        _ => {
                            return Err(self.syntax(if object {
                                "expected ',' or '}'"
                            } else {
                                "expected ',' or ']'"
                            }));
                        }
                    }
                }
            }
        }
    }

    /// An element of a container: a nested container is left to the
    /// caller's loop, anything else is consumed.
    #[inline]
    fn element(&mut self) -> Result<Next, Error> {
        match self.peek() {
            Some(b'{' | b'[') => Ok(Next::Open),
            _ => self.scalar().map(|_| Next::After),
        }
    }

    /// After the top-level value: only whitespace may follow.
    pub fn end(&mut self) -> Result<(), Error> {
        self.ws();
        if self.pos != self.b.len() {
            return Err(self.syntax("trailing characters"));
        }
        Ok(())
    }
}

/// Walks the members of the object `text`, validating it: for each, in
/// order, the range of its key's contents (between the quotes), whether
/// the key holds escapes, and the range of its value. Shared by the
/// one-key lookup (`top_level`) and the object splitter (`object`).
pub(crate) fn each_member(
    text: &str,
    mut member: impl FnMut(Range<usize>, bool, Range<usize>),
) -> Result<(), Error> {
    let mut s = Scanner::new(text);
    s.ws();
    if s.peek() != Some(b'{') {
        return Err(Error::new(ErrorKind::NotAnObject));
    }
    s.pos += 1;
    s.ws();
    if s.peek() == Some(b'}') {
        s.pos += 1;
    } else {
        loop {
            s.ws();
            let at = s.pos + 1;
            let (key, escaped) = s.key()?;
            let key = at..at + key.len();
            let from = s.pos;
            s.value(1)?;
            member(key, escaped, from..s.pos);
            s.ws();
            match s.peek() {
                Some(b',') => s.pos += 1,
                Some(b'}') => {
                    s.pos += 1;
                    break;
                }
                _ => return Err(s.syntax("expected ',' or '}'")),
            }
        }
    }
    s.end()
}

/// The first position at or after `from` that ends a run of plain string
/// bytes: a quote, a backslash or a control character (below 0x20), or
/// `b.len()`. Sixteen bytes at a time with SSE2 (part of every x86-64),
/// eight at a time elsewhere; strings are most of an export's bytes.
#[inline]
pub(crate) fn string_stop(b: &[u8], mut from: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is part of the x86-64 baseline; every load reads 16
        // bytes inside `b` (`from + 16 <= b.len()` is checked first).
        unsafe {
            let quote = _mm_set1_epi8(b'"' as i8);
            let slash = _mm_set1_epi8(b'\\' as i8);
            let ctrl = _mm_set1_epi8(0x1f);
            while from + 16 <= b.len() {
                let v = _mm_loadu_si128(b.as_ptr().add(from).cast());
                // `max(v, 0x1f) == 0x1f` exactly when v <= 0x1f (unsigned).
                let low = _mm_cmpeq_epi8(_mm_max_epu8(v, ctrl), ctrl);
                let hit = _mm_or_si128(
                    _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, slash)),
                    low,
                );
                let mask = _mm_movemask_epi8(hit) as u32;
                if mask != 0 {
                    return from + mask.trailing_zeros() as usize;
                }
                from += 16;
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    while from + 8 <= b.len() {
        // SWAR: a byte is flagged when it equals `"` or `\\`, or is below
        // 0x20 (the high bit of `x - 0x20..` for bytes without their own
        // high bit).
        let x = u64::from_le_bytes(b[from..from + 8].try_into().unwrap_or([0; 8]));
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
        let hit = zero(x ^ (ONES * b'"' as u64))
            | zero(x ^ (ONES * b'\\' as u64))
            | (x.wrapping_sub(ONES * 0x20) & !x & HIGH);
        if hit != 0 {
            return from + (hit.trailing_zeros() / 8) as usize;
        }
        from += 8;
    }
    while let Some(&c) = b.get(from) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            return from;
        }
        from += 1;
    }
    from
}

/// Four hex digits at `at` as a code unit.
pub(super) fn hex4(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 4)?.iter().try_fold(0u16, |n, &c| {
        let d = (c as char).to_digit(16)?;
        Some(n << 4 | d as u16)
    })
}

/// The text of a JSON string's contents (between the quotes) with its
/// escapes decoded. The contents were validated by [`Scanner::string`];
/// anything unexpected becomes U+FFFD rather than a panic.
pub(crate) fn unescape(inner: &str) -> String {
    let b = inner.as_bytes();
    let mut out = String::with_capacity(inner.len());
    let mut at = 0;
    while let Some(i) = memchr::memchr(b'\\', &b[at..]) {
        let i = at + i;
        out.push_str(&inner[at..i]);
        let (c, len) = match b.get(i + 1) {
            Some(b'"') => ('"', 2),
            Some(b'\\') => ('\\', 2),
            Some(b'/') => ('/', 2),
            Some(b'b') => ('\u{8}', 2),
            Some(b'f') => ('\u{c}', 2),
            Some(b'n') => ('\n', 2),
            Some(b'r') => ('\r', 2),
            Some(b't') => ('\t', 2),
            Some(b'u') => match hex4(b, i + 2) {
                Some(hi @ 0xD800..=0xDBFF) => match (b.get(i + 6..i + 8), hex4(b, i + 8)) {
                    (Some(b"\\u"), Some(lo @ 0xDC00..=0xDFFF)) => {
                        let c =
                            0x10000 + ((u32::from(hi) - 0xD800) << 10) + (u32::from(lo) - 0xDC00);
                        (char::from_u32(c).unwrap_or('\u{fffd}'), 12)
                    }
                    _ => ('\u{fffd}', 6),
                },
                Some(n) => (char::from_u32(u32::from(n)).unwrap_or('\u{fffd}'), 6),
                None => ('\u{fffd}', 2),
            },
            _ => ('\u{fffd}', 1),
        };
        out.push(c);
        // Never split a character of `inner` (only ASCII is skipped here).
        at = (i + len).min(b.len());
        while !inner.is_char_boundary(at) {
            at += 1;
        }
    }
    out.push_str(&inner[at..]);
    out
}
