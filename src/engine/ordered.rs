//! The ordered pass: one thread takes the decoded chunks in input order,
//! resolves inherited channels, applies the error policy with line
//! numbers, and hands everything to the sink.

use super::chunks::{ChunkError, ChunkOut, Item};
use super::{Job, Keep, Out};
use crate::error::{Error, ErrorKind, Position, Result};
use crate::io::source::LineCursor;
use crate::read::context::Context;
use crate::read::reader::ReaderBuilder;
use crate::report::{Disposition, ErrorPolicy, Report};
use std::path::Path;

pub(crate) struct Ordered<'f, J: Job> {
    job: &'f J,
    context: Context,
    report: Report,
    policy: ErrorPolicy,
    max_line: usize,
    path: Option<&'f Path>,
    /// Line numbers of the input being delivered (the whole input, or a
    /// stream's current batch, which starts at the cursor's origin),
    /// counted incrementally and only when an error needs one — the same
    /// cursor the sequential reader's window uses.
    lines: LineCursor,
    /// A stream's line just after the last batch delivered.
    next_line: u64,
}

impl<'f, J: Job> Ordered<'f, J> {
    pub(crate) fn new(builder: &ReaderBuilder, path: Option<&'f Path>, job: &'f J) -> Self {
        Ordered {
            job,
            context: Context::new(builder.message_memory),
            report: Report::default(),
            policy: builder.error_policy(),
            max_line: builder.max_line,
            path,
            lines: LineCursor::new(0, 1),
            next_line: 1,
        }
    }

    pub(crate) fn into_report(self) -> Report {
        self.report
    }

    /// Delivers the items of `input`'s chunks. `input` starts at absolute
    /// offset `self.lines.origin().0`.
    pub(crate) fn deliver<'a, F>(
        &mut self,
        input: &'a [u8],
        chunks: Vec<ChunkOut<'a, J::Partial>>,
        sink: &mut F,
    ) -> Result<()>
    where
        F: FnMut(Out<'a, J::Partial>) -> Result<()>,
    {
        for chunk in chunks {
            self.report.merge(chunk.report);
            // Entities resolved here meet the job with a partial of their
            // own, delivered after the chunk's.
            let mut late: Option<J::Partial> = None;
            let mut errors = chunk.errors.into_iter().peekable();
            let mut entities = chunk.entities.into_iter();
            let mut next_entity = || {
                entities
                    .next()
                    .expect("an entity for each item that has one")
            };
            for (i, item) in chunk.items.into_iter().enumerate() {
                while let Some(error) = errors.next_if(|e| e.after <= i) {
                    self.chunk_error(input, error, sink)?;
                }
                match item {
                    Item::Deliver => sink(Out::Entity(next_entity()))?,
                    Item::Undecided => {
                        let mut e = next_entity();
                        self.context.resolve(&mut e, &mut self.report);
                        let partial = late.get_or_insert_with(Default::default);
                        if self.job.entity(&e, partial) == Keep::Deliver {
                            sink(Out::Entity(e))?;
                        }
                    }
                    Item::Channel(cid) => self.context.enter_channel(cid.as_deref()),
                    Item::Message { id, cid, same_cid } => {
                        self.context.remember_recent(id, &cid, same_cid)
                    }
                    Item::UnitStart => self.context.reset(),
                }
            }
            for error in errors {
                self.chunk_error(input, error, sink)?;
            }
            sink(Out::Partial(chunk.partial))?;
            if let Some(partial) = late {
                sink(Out::Partial(partial))?;
            }
        }
        Ok(())
    }

    /// Numbers a worker's error and applies the error policy to it.
    fn chunk_error<'a, F>(&mut self, input: &[u8], error: ChunkError, sink: &mut F) -> Result<()>
    where
        F: FnMut(Out<'a, J::Partial>) -> Result<()>,
    {
        let line = self.line_of(input, error.at);
        let position = Position {
            byte: error.at,
            line,
        };
        self.fail(Error::at(error.kind, position), sink)
    }

    /// Delivers one batch of a stream: the over-long lines dropped before
    /// it, its chunks, and the read error that ended the stream after it.
    pub(crate) fn deliver_batch<'a, F>(
        &mut self,
        data: &'a [u8],
        meta: BatchMeta,
        chunks: Vec<ChunkOut<'a, J::Partial>>,
        sink: &mut F,
    ) -> Result<()>
    where
        F: FnMut(Out<'a, J::Partial>) -> Result<()>,
    {
        for &(byte, newlines) in &meta.long_lines {
            let kind = ErrorKind::LineTooLong { max: self.max_line };
            let line = self.next_line + newlines;
            self.fail(Error::at(kind, Position { byte, line }), sink)?;
        }
        let line = self.next_line + meta.newlines_dropped;
        self.lines = LineCursor::new(meta.base, line);
        let newlines: u64 = chunks.iter().map(|c| c.newlines).sum();
        let input = &data[..meta.len.min(data.len())];
        self.deliver(input, chunks, sink)?;
        self.next_line = line + newlines;
        if let End::Failed(kind) = meta.end {
            let position = Position {
                byte: meta.base + input.len() as u64,
                line: self.next_line,
            };
            // As on the sequential reader: a failed read ends the run even
            // in lenient mode (the policy stops at I/O errors); a damaged
            // gzip stream is a bad record.
            self.fail(Error::at(kind, position), sink)?;
        }
        Ok(())
    }

    /// Applies the error policy to a bad record.
    fn fail<'a, F>(&mut self, mut error: Error, sink: &mut F) -> Result<()>
    where
        F: FnMut(Out<'a, J::Partial>) -> Result<()>,
    {
        if let Some(p) = self.path {
            error = error.with_path(p);
        }
        match self.report.count_error(error, &self.policy) {
            Disposition::Counted => Ok(()),
            Disposition::Yield(error) => sink(Out::Error(error)),
            Disposition::Stop(error) => Err(error),
        }
    }

    /// The line of absolute offset `at` of `input` (which starts at the
    /// cursor's origin).
    fn line_of(&mut self, input: &[u8], at: u64) -> u64 {
        let base = self.lines.origin().0;
        self.lines.line_of(input, base, at)
    }
}

/// Everything about a batch but its bytes: kept apart so the ordered pass
/// can take it while the decoded entities still borrow the bytes.
#[derive(Default)]
pub(crate) struct BatchMeta {
    pub(crate) len: usize,
    /// Absolute offset of `data[0]` in the (decompressed) stream.
    pub(crate) base: u64,
    /// First byte to decode: past a byte-order mark in the first batch.
    pub(crate) start: usize,
    /// Lines longer than `max_line` dropped before `base`: the offset of
    /// each one's first byte, and the newlines dropped before it since the
    /// previous batch.
    pub(crate) long_lines: Vec<(u64, u64)>,
    /// Newlines in the bytes dropped between the previous batch and `base`.
    pub(crate) newlines_dropped: u64,
    /// Whether the input ends after this batch, and how.
    pub(crate) end: End,
}

/// Whether a stream ends after a batch.
#[derive(Default)]
pub(crate) enum End {
    /// More batches follow.
    #[default]
    No,
    /// The input ends here.
    Eof,
    /// A read error (`Io` or `Gzip`) ended the input just after this
    /// batch's bytes.
    Failed(ErrorKind),
}
