//! The walker's value scan: finds the end of one JSON value by brackets
//! and strings, refilling the window, keeping or dropping its bytes, and
//! validating the values that are skipped rather than decoded.

use super::Walker;
use crate::error::Error;
use crate::frame::lines::FrameError;
use crate::io::source::Window;
use crate::json::skip::Validator;

pub(super) enum Scan {
    Complete(u64),
    TooLarge(Error),
}

/// What a scan does with the value's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Frame a record: keep its bytes (the decoder checks them).
    Keep,
    /// Keep the bytes, and validate them too: a value of an object being
    /// probed, which is either part of a record (then the decoder's
    /// answer stands) or a skipped value of a channel object (then the
    /// validator's does, found in `checked`).
    Check,
    /// Skip for good: validate and drop the bytes as they pass.
    Discard,
}

impl Walker {
    /// Skips one JSON value starting at `self.pos` (at depth `depth` inside
    /// a value opened at `start`), leaving `self.pos` after it. Iterative:
    /// nesting costs no stack. A whole value skipped for good (`Mode::Discard`,
    /// depth 0) is also validated on the way (see `crate::json::skip`): the bytes
    /// of each block are checked before the window may drop them. So is a
    /// value scanned in `Mode::Check`, whose problem goes to `checked`.
    pub(super) fn scan(
        &mut self,
        win: &mut Window<'_>,
        start: u64,
        depth: u32,
        mode: Mode,
    ) -> Result<Scan, FrameError> {
        let discard = mode == Mode::Discard;
        self.checked = None;
        let mut depth = depth;
        let mut in_string = false;
        let mut escaped = false;
        let mut too_large: Option<Error> = None;
        let first = if depth == 0 { self.require(win)? } else { b'{' };
        let mut at = self.pos;
        if depth == 0 && matches!(first, b'}' | b']' | b',' | b':') {
            return Err(self.unexpected(win, first, "a value"));
        }
        if mode == Mode::Keep
            && depth == 0
            && matches!(first, b'{' | b'[')
            && let Some(end) = (self.skeleton.as_mut())
                .and_then(|s| s.end_of(at, |upcoming| win.prefetch(upcoming)))
        {
            // The skeleton found the same end this scan would (see
            // `skeleton`): a record's bytes are the decoder's to read.
            return self.finish_scan(win, (start, end), mode, None, None);
        }
        let scalar = depth == 0 && !matches!(first, b'{' | b'[' | b'"');
        let mut check = (mode != Mode::Keep && depth == 0)
            .then(|| Validator::new(self.max_depth, self.lossy_utf8));
        loop {
            let base = win.base();
            let bytes = win.bytes();
            let mut i = (at - base) as usize;
            while i < bytes.len() {
                let b = bytes[i];
                if in_string {
                    if escaped {
                        escaped = false;
                        i += 1;
                    } else if let Some(j) = memchr::memchr2(b'"', b'\\', &bytes[i..]) {
                        i += j;
                        if bytes[i] == b'\\' {
                            escaped = true;
                        } else {
                            in_string = false;
                            if depth == 0 {
                                return self.finish_scan(
                                    win,
                                    (start, base + i as u64 + 1),
                                    mode,
                                    too_large,
                                    check.take().map(|v| (v, at)),
                                );
                            }
                        }
                        i += 1;
                    } else {
                        i = bytes.len();
                    }
                    continue;
                }
                if scalar {
                    if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n') {
                        return self.finish_scan(
                            win,
                            (start, base + i as u64),
                            mode,
                            too_large,
                            check.take().map(|v| (v, at)),
                        );
                    }
                    i += 1;
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        if depth == 0 {
                            self.pos = base + i as u64;
                            return Err(self.unexpected(win, b, "a value"));
                        }
                        depth -= 1;
                        if depth == 0 {
                            return self.finish_scan(
                                win,
                                (start, base + i as u64 + 1),
                                mode,
                                too_large,
                                check.take().map(|v| (v, at)),
                            );
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            if let Some(v) = &mut check {
                v.feed(&bytes[(at - base) as usize..], at);
                v.locate(|at| win.line_of(at));
            }
            at = base + bytes.len() as u64;
            if too_large.is_none() && !discard && (at - start) as usize > self.max_entity {
                too_large = Some(self.too_large_at(win, start));
            }
            // An abandoned (too large) or skipped value keeps nothing; a
            // record keeps its start, and a probed object its own start.
            let keep = if discard || too_large.is_some() {
                at
            } else {
                self.floor.map_or(start, |f| f.min(start))
            };
            self.mark = Some(keep);
            match win.fill(self.pinned.map_or(keep, |p| p.min(keep))) {
                Ok(true) => {}
                Ok(false) if scalar => {
                    let check = check.take().map(|v| (v, at));
                    return self.finish_scan(win, (start, at), mode, too_large, check);
                }
                Ok(false) => {
                    self.pos = at;
                    let mut error = self.truncated(win);
                    if let Some(e) = too_large {
                        error.error = e;
                    }
                    return Err(error);
                }
                Err(error) => return Err(FrameError::fatal(error)),
            }
        }
    }

    /// Ends a scan of `[start, end)`; `check` is the validator of a
    /// discarded value with the offset from which it has not been fed.
    fn finish_scan(
        &mut self,
        win: &Window<'_>,
        (start, end): (u64, u64),
        mode: Mode,
        mut too_large: Option<Error>,
        check: Option<(Validator, u64)>,
    ) -> Result<Scan, FrameError> {
        // The same limit whether or not the entity needed a refill, so
        // every input path agrees.
        if too_large.is_none() && mode != Mode::Discard && (end - start) as usize > self.max_entity
        {
            too_large = Some(self.too_large_at(win, start));
        }
        self.pos = end;
        if let Some((mut v, fed)) = check {
            v.feed(win.range(fed, end), fed);
            v.locate(|at| win.line_of(at));
            let line = v.line();
            if let Some((at, kind)) = v.finish(end) {
                let line = line.unwrap_or_else(|| win.line_of(at));
                let problem = FrameError {
                    error: Error::at(kind, crate::Position { byte: at, line }),
                    fatal: false,
                };
                if mode == Mode::Discard {
                    return Err(problem);
                }
                self.checked = Some(problem);
            }
        }
        Ok(match too_large {
            Some(e) => Scan::TooLarge(e),
            None => Scan::Complete(end),
        })
    }
}
