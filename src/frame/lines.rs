//! Line framing for v2, user-export and import files: cut the input at
//! `\n` (found with memchr), bounded by a maximum line length.

use crate::decode::Hint;
use crate::error::{Error, ErrorKind, Position};
use crate::io::source::Window;

/// A record's bytes by absolute offset, and what the framer knows of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawRecord {
    pub start: u64,
    pub end: u64,
    pub hint: Hint,
}

/// What a framer produces.
#[derive(Debug)]
pub(crate) enum Frame {
    Record(RawRecord),
    /// A v1 channel object begins: inherited context resets.
    UnitStart,
}

/// A framing failure; a fatal one ends the input.
#[derive(Debug)]
pub(crate) struct FrameError {
    pub error: Error,
    pub fatal: bool,
}

impl FrameError {
    pub fn fatal(error: Error) -> FrameError {
        FrameError { error, fatal: true }
    }
}

/// Builds an error at absolute offset `at`, computing its line now.
pub(crate) fn error_at(win: &Window<'_>, kind: ErrorKind, at: u64) -> Error {
    Error::at(
        kind,
        Position {
            byte: at,
            line: win.line_of(at),
        },
    )
}

/// The line framer's state.
pub(crate) struct Lines {
    /// Start of the next line.
    pos: u64,
    /// Everything before this has been searched for `\n` already.
    searched: u64,
    max_line: usize,
    /// Dropping the rest of an over-long line.
    skipping: bool,
    /// A read error held back until the partial line before it is out.
    failed: Option<Error>,
}

impl Lines {
    pub fn new(start: u64, max_line: usize) -> Lines {
        Lines {
            pos: start,
            searched: start,
            max_line,
            skipping: false,
            failed: None,
        }
    }

    /// The next line (without its `\n`; a `\r` is left for the decoder,
    /// which treats it as whitespace).
    pub fn next(&mut self, win: &mut Window<'_>) -> Option<Result<Frame, FrameError>> {
        if let Some(error) = self.failed.take() {
            return Some(Err(FrameError::fatal(error)));
        }
        loop {
            let bytes = win.bytes();
            let from = (self.searched - win.base()) as usize;
            if let Some(i) = memchr::memchr(b'\n', &bytes[from..]) {
                let newline = self.searched + i as u64;
                let start = self.pos;
                self.pos = newline + 1;
                self.searched = newline + 1;
                if std::mem::take(&mut self.skipping) {
                    continue;
                }
                if (newline - start) as usize > self.max_line {
                    let kind = ErrorKind::LineTooLong { max: self.max_line };
                    return Some(Err(FrameError {
                        error: error_at(win, kind, start),
                        fatal: false,
                    }));
                }
                return Some(Ok(Frame::Record(RawRecord {
                    start,
                    end: newline,
                    hint: Hint::Record,
                })));
            }
            self.searched = win.end();
            if win.at_eof() {
                if self.pos >= win.end() || self.skipping {
                    self.pos = win.end();
                    return None;
                }
                let start = self.pos;
                self.pos = win.end();
                if (win.end() - start) as usize > self.max_line {
                    let kind = ErrorKind::LineTooLong { max: self.max_line };
                    return Some(Err(FrameError {
                        error: error_at(win, kind, start),
                        fatal: false,
                    }));
                }
                return Some(Ok(Frame::Record(RawRecord {
                    start,
                    end: win.end(),
                    hint: Hint::Record,
                })));
            }
            if self.skipping {
                self.pos = win.end();
            } else if (win.end() - self.pos) as usize > self.max_line {
                let error = error_at(win, ErrorKind::LineTooLong { max: self.max_line }, self.pos);
                self.skipping = true;
                self.pos = win.end();
                return Some(Err(FrameError {
                    error,
                    fatal: false,
                }));
            }
            if let Err(error) = win.fill(self.pos) {
                // The stream broke (a truncated gzip file): the partial
                // line before the break is a record of its own (most
                // likely truncated), then the stream error follows.
                if self.pos < win.end() && !self.skipping {
                    let start = self.pos;
                    self.pos = win.end();
                    self.failed = Some(error);
                    return Some(Ok(Frame::Record(RawRecord {
                        start,
                        end: win.end(),
                        hint: Hint::Record,
                    })));
                }
                return Some(Err(FrameError::fatal(error)));
            }
        }
    }
}
