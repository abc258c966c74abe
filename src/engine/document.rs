//! A v1 document in memory (or a mapped file), in parallel.
//!
//! A document is one JSON value, so it cannot be cut at newlines; what
//! can be shared out is the work on its bytes. Per batch of about
//! `chunk_size × threads × 4` bytes:
//!
//! 1. the pool indexes the bytes ahead of the walker in chunks
//!    (`frame::v1::skeleton`: where every bracket closes, string state
//!    settled at the chunk boundaries);
//! 2. the walker frames the batch's records on one thread, as the
//!    sequential reader's walker does, but asks the skeleton where each
//!    record ends instead of scanning its bytes;
//! 3. the pool decodes the records, split into runs of about a chunk's
//!    bytes, into the same chunk outputs a line file's chunks give;
//! 4. the ordered pass delivers them, resolving channels, while the next
//!    batch goes through 1–3.
//!
//! Entities, errors, offsets, lines and the report are those of the
//! sequential reader on the same bytes (`tests/engine.rs`,
//! `tests/v1_parallel.rs`): the walker is the same, the skeleton is only
//! ever right or silent, and every record is decoded by the same decoder.

use super::chunks::{ChunkOut, Work};
use super::ordered::Ordered;
use super::{CHUNKS_PER_THREAD, Job, Out, Outcome, Setup};
use crate::error::Result;
use crate::frame::lines::{Frame, FrameError};
use crate::frame::v1::skeleton::{self, Skeleton};
use crate::frame::v1::{Shape, Walker};
use crate::io::source::{Compression, LineCursor, Window};
use crate::read::reader::Format;

/// One batch's frames, in runs for the workers.
type Runs = Vec<Vec<std::result::Result<Frame, FrameError>>>;

/// Runs a job over a v1 document in memory whose walk starts at `start`.
pub(crate) fn run_document<'a, J, F>(
    setup: &Setup<'_, J>,
    input: &'a [u8],
    start: u64,
    mut sink: F,
) -> Result<Outcome>
where
    J: Job,
    F: FnMut(Out<'a, J::Partial>) -> Result<()>,
{
    let builder = setup.builder;
    let settings = &setup.engine.settings;
    let pool = &setup.engine.pool;
    let work = Work::new(setup);
    let chunk = settings.chunk_size.max(1);
    let batch = chunk.saturating_mul(settings.threads * CHUNKS_PER_THREAD);
    let mut framer = Framer {
        walker: Walker::new(start, builder.max_entity, builder.max_depth)
            .lossy_utf8(builder.lossy_utf8)
            .with_skeleton(Skeleton::new(start)),
        lines: LineCursor::new(0, 1),
        input,
        chunk,
        batch,
        done: false,
    };
    let mut ordered = Ordered::new(builder, setup.path, setup.job);
    let decode = |runs: Runs| -> Vec<ChunkOut<'a, J::Partial>> {
        use rayon::prelude::*;
        runs.into_par_iter()
            .map(|run| work.decode_frames(input, run))
            .collect()
    };
    let mut decoded = pool.install(|| decode(framer.next_batch()));
    while !decoded.is_empty() {
        let mut next_decoded = Vec::new();
        // Index, frame and decode the next batch on the pool while this
        // thread delivers the current one in order.
        pool.in_place_scope(|scope| {
            scope.spawn(|_| next_decoded = decode(framer.next_batch()));
            ordered.deliver(input, std::mem::take(&mut decoded), &mut sink)
        })?;
        decoded = next_decoded;
    }
    let shape = framer.walker.shape();
    let report = ordered.into_report();
    let e = report.envelopes;
    let format = if report.records == 0 && report.blank_lines == 0 {
        Format::Empty
    } else if e.nested == 0 && e.item > 0 && shape == Shape::Array {
        Format::ImportLegacy
    } else {
        Format::V1
    };
    Ok(Outcome {
        format,
        report,
        compression: Compression::None,
        bytes: input.len() as u64,
    })
}

/// The walker over the whole document, with its skeleton kept indexed a
/// batch ahead.
struct Framer<'a> {
    walker: Walker,
    /// The line numbering of the walker's window, which is rebuilt for
    /// each batch (a window is not `Send`).
    lines: LineCursor,
    input: &'a [u8],
    chunk: usize,
    batch: usize,
    done: bool,
}

impl Framer<'_> {
    /// Frames the next batch (empty at the end), in runs of about a chunk's
    /// bytes each.
    fn next_batch(&mut self) -> Runs {
        let mut runs: Runs = Vec::new();
        if self.done {
            return runs;
        }
        let from = self.walker.position();
        let mut window = Window::slice_with_lines(self.input, self.lines);
        let mut run = Vec::new();
        let mut run_start = from;
        loop {
            self.index_ahead();
            let Some(frame) = self.walker.next(&mut window) else {
                self.done = true;
                break;
            };
            let end = match &frame {
                Ok(Frame::Record(r)) => r.end,
                _ => self.walker.position(),
            };
            run.push(frame);
            if end - run_start >= self.chunk as u64 {
                runs.push(std::mem::take(&mut run));
                run_start = end;
            }
            if end - from >= self.batch as u64 {
                break;
            }
        }
        if !run.is_empty() {
            runs.push(run);
        }
        self.lines = window.line_cursor();
        runs
    }

    /// Keeps the skeleton indexed at least a batch past the walker,
    /// indexing a batch's chunks at a time on the pool.
    fn index_ahead(&mut self) {
        let len = self.input.len() as u64;
        let want = self.walker.position().saturating_add(self.batch as u64);
        let Some(skeleton) = self.walker.skeleton_mut() else {
            return;
        };
        if !skeleton.wants_more() || skeleton.indexed() >= want.min(len) {
            return;
        }
        let from = skeleton.indexed() as usize;
        let to = (from as u64 + 2 * self.batch as u64).min(len) as usize;
        let input = self.input;
        let cuts = skeleton::cuts(input, from, to, self.chunk);
        let indexed: Vec<_> = {
            use rayon::prelude::*;
            cuts.par_iter()
                .map(|&(s, e)| skeleton::index_chunk(input, s, e))
                .collect()
        };
        for chunk in indexed {
            skeleton.push(chunk);
        }
    }
}
