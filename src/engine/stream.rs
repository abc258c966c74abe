//! Streams: a reading thread cuts any `Read` (inflating gzip on the way)
//! into line-aligned batches; the pool decodes one batch while the
//! ordered pass delivers the previous one.
//!
//! A batch ends after its last `\n`, and the partial line after it begins
//! the next batch. At most two batches wait between the reading thread and
//! the decoders, so memory is bounded by the settings, not by the input; a
//! line that grows past `max_line` before its newline arrives is reported
//! and dropped as it streams by, never held whole. The channel context, the
//! line count and the report carry over from batch to batch, so a stream
//! gives exactly what the same bytes in memory give.

use super::chunks::{ChunkOut, Chunks, Work};
use super::ordered::{BatchMeta, End, Ordered};
use super::{CHUNKS_PER_THREAD, Job, Out, Outcome, Parallel, Setup};
use crate::error::{Error, ErrorKind, Result};
use crate::io::source::{self, Compression, Window};
use crate::read::reader::{Framing, detect, lines_format};
use std::io::{self, Read};
use std::sync::mpsc::{Receiver, Sender, SyncSender};

/// How many line-aligned batches may wait between the reading thread and
/// the decoders.
const STREAM_QUEUE: usize = 2;

/// The most bytes one stream batch aims at, whatever the thread count:
/// up to five batches are alive at once, and the heap must stay well
/// under the 64 MiB the filter promises.
const STREAM_BATCH_MAX: usize = 8 << 20;

/// A stream batch's target size: `chunk_size × threads × 4`, capped.
fn stream_batch(parallel: &Parallel) -> usize {
    parallel
        .chunk_size
        .saturating_mul(parallel.threads)
        .saturating_mul(CHUNKS_PER_THREAD)
        .min(STREAM_BATCH_MAX)
}

/// The chunk size within a stream batch: smaller chunks when the batch is
/// capped, so every thread still gets several.
fn stream_chunk(parallel: &Parallel) -> usize {
    parallel
        .chunk_size
        .min(stream_batch(parallel) / (parallel.threads * CHUNKS_PER_THREAD))
        .max(1)
}

/// At most this many over-long lines are held for the next batch; more are
/// sent on in a batch of their own, so even a stream of nothing but
/// over-long lines keeps memory bounded.
const MAX_LONG_LINES_HELD: usize = 1024;

/// Runs a job over a stream; see [`Run::reader`](super::Run::reader).
pub(crate) fn run_reader<J, R, F>(setup: &Setup<'_, J>, reader: R, sink: &mut F) -> Result<Outcome>
where
    J: Job,
    R: Read + Send,
    F: for<'b> FnMut(Out<'b, J::Partial>) -> Result<()>,
{
    let builder = setup.builder;
    let settings = &setup.engine.settings;
    let (src, compression) =
        source::open_send_stream(reader, builder.block).map_err(|e| setup.name(e))?;
    let cut = CutSettings {
        gzip: compression == Compression::Gzip,
        block: builder.block,
        max_line: builder.max_line,
        target: stream_batch(settings),
    };
    std::thread::scope(|scope| {
        // Both channels live inside this closure: leaving it early drops
        // the receiving ends, which makes the reading thread's next send
        // fail, so it stops before the scope waits for it.
        let (feed, batches) = std::sync::mpsc::sync_channel(STREAM_QUEUE);
        let (spare_send, spare) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("stream-chat-export-read".into())
            .spawn_scoped(scope, move || read_stream(src, cut, feed, spare))
            .map_err(|e| Error::new(ErrorKind::Usage(format!("cannot start threads: {e}"))))?;
        match batches.recv() {
            Ok(Feed::Framing(Framing::Lines)) => {
                let stream = Stream {
                    setup,
                    work: Work::new(setup),
                    chunk_size: stream_chunk(settings),
                    batches: &batches,
                    spare: &spare_send,
                };
                stream.run(sink, compression)
            }
            Ok(Feed::Framing(_)) => {
                let feed = FeedRead {
                    batches: &batches,
                    current: Vec::new(),
                    at: 0,
                    done: false,
                };
                super::sequential::run_feed(setup, feed, cut.gzip, sink)
            }
            Ok(Feed::Failed(e)) => Err(setup.name(e)),
            Ok(Feed::Batch(_) | Feed::Raw(_)) | Err(_) => Err(setup.name(stopped())),
        }
    })
}
/// The error for a reading thread that went away without saying why (it
/// panicked; the scope then re-raises the panic).
fn stopped() -> Error {
    Error::new(ErrorKind::Io(io::Error::other(
        "the reading thread stopped unexpectedly",
    )))
}

/// What the reading thread sends.
#[allow(clippy::large_enum_variant)] // a few messages per batch of megabytes
enum Feed {
    /// The framing detected from the first bytes; always the first message.
    Framing(Framing),
    /// Line framing: the next batch (the last one says so).
    Batch(Batch),
    /// Any other framing: the next block of raw bytes, for the sequential
    /// reader; an empty block is the end of the input.
    Raw(io::Result<Vec<u8>>),
    /// Detection failed.
    Failed(Error),
}

/// A line-aligned piece of a stream, and what the reading thread dropped
/// before it.
#[derive(Default)]
struct Batch {
    /// The batch is `data[..meta.len]`; the rest is room kept for reuse.
    data: Vec<u8>,
    meta: BatchMeta,
}

/// The reading thread's settings.
#[derive(Clone, Copy)]
struct CutSettings {
    gzip: bool,
    /// Read size.
    block: usize,
    max_line: usize,
    /// Batch size to aim for.
    target: usize,
}

/// The reading thread: detects the framing from the first bytes, then
/// sends line-aligned batches (line files) or raw blocks (anything else).
/// It returns as soon as the receiving side has gone away.
fn read_stream(
    mut src: Box<dyn Read + Send + '_>,
    cut: CutSettings,
    feed: SyncSender<Feed>,
    spare: Receiver<Vec<u8>>,
) {
    // Detection runs on the same window code as every other input, so a
    // stream is framed exactly as `from_reader` frames it; what it read is
    // taken back out and becomes the first batch.
    let (detected, eof, head, deferred) = {
        let mut window = Window::stream(Box::new(&mut src), cut.gzip, cut.block);
        let detected = detect(&mut window);
        let eof = window.at_eof();
        let (head, deferred) = window.into_parts();
        (detected, eof, head, deferred)
    };
    let (start, framing) = match detected {
        Ok(found) => found,
        Err(e) => {
            let _ = feed.send(Feed::Failed(e));
            return;
        }
    };
    if feed.send(Feed::Framing(framing)).is_err() {
        return;
    }
    if framing != Framing::Lines {
        pump_raw(&mut src, cut, &feed, head, deferred, eof);
        return;
    }
    // A read error met during detection ends the input after the bytes
    // that arrived, as it does on the sequential reader.
    let ended = match deferred {
        Some(error) => End::Failed(error.into_kind()),
        None if eof => End::Eof,
        None => End::No,
    };
    let start = (start as usize).min(head.len());
    let mut cutter = Cutter {
        feed: &feed,
        spare: &spare,
        cut,
        filled: head.len(),
        buf: head,
        base: 0,
        first: start,
        tail: start,
        skipping: false,
        long_lines: Vec::new(),
        newlines_dropped: 0,
    };
    cutter.run(&mut src, ended);
}

/// Sends the bytes detection read, then the rest of the stream, as raw
/// blocks, for the sequential reader on the other side.
fn pump_raw(
    src: &mut dyn Read,
    cut: CutSettings,
    feed: &SyncSender<Feed>,
    head: Vec<u8>,
    deferred: Option<Error>,
    eof: bool,
) {
    if !head.is_empty() && feed.send(Feed::Raw(Ok(head))).is_err() {
        return;
    }
    if let Some(error) = deferred {
        // Handed back as the `io::Error` it was: the reader on the other
        // side classifies it (gzip or not) and places it exactly as the
        // sequential reader does.
        let error = match error.into_kind() {
            ErrorKind::Io(e) | ErrorKind::Gzip(e) => e,
            other => io::Error::other(Error::new(other).to_string()),
        };
        let _ = feed.send(Feed::Raw(Err(error)));
        return;
    }
    if eof {
        let _ = feed.send(Feed::Raw(Ok(Vec::new())));
        return;
    }
    let size = cut.block.max(64 << 10);
    loop {
        let mut block = vec![0u8; size];
        let read = match src.read(&mut block) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => other,
        };
        let last = !matches!(read, Ok(n) if n > 0);
        let message = read.map(|n| {
            block.truncate(n.min(size));
            block
        });
        if feed.send(Feed::Raw(message)).is_err() || last {
            return;
        }
    }
}

/// Cuts a stream into line-aligned batches.
///
/// `buf[..filled]` holds the stream from absolute offset `base`: complete
/// lines up to `tail`, then the partial line being read. A batch is sent
/// once `target` bytes are held and at least one line is complete; the
/// partial line moves to the next buffer.
struct Cutter<'c> {
    feed: &'c SyncSender<Feed>,
    /// Buffers the decoding side is done with, for reuse.
    spare: &'c Receiver<Vec<u8>>,
    cut: CutSettings,
    buf: Vec<u8>,
    filled: usize,
    base: u64,
    /// First byte of `buf` to decode (past a byte-order mark).
    first: usize,
    /// Start of the partial last line in `buf`.
    tail: usize,
    /// Dropping the rest of an over-long line, up to its newline.
    skipping: bool,
    long_lines: Vec<(u64, u64)>,
    newlines_dropped: u64,
}

impl Cutter<'_> {
    /// Reads to the end, sending batches. `ended` is set when detection
    /// already met the end (or a read error).
    fn run(&mut self, src: &mut dyn Read, mut ended: End) {
        // The bytes detection read are taken in like any read.
        if !self.take_in(self.first) {
            return;
        }
        loop {
            if !matches!(ended, End::No) {
                self.send(self.filled, ended);
                return;
            }
            let full = self.filled - self.first >= self.cut.target && self.tail > self.first;
            if (full || self.long_lines.len() >= MAX_LONG_LINES_HELD)
                && !self.send(self.tail, End::No)
            {
                return;
            }
            // Room for one read; zeroed only when the buffer grows, so
            // tiny reads cost nothing extra.
            let want = self.cut.block;
            if self.buf.len() - self.filled < want / 2 + 1 {
                self.buf.resize(self.filled + want, 0);
            }
            let room = (self.buf.len() - self.filled).min(want);
            match src.read(&mut self.buf[self.filled..self.filled + room]) {
                Ok(0) => ended = End::Eof,
                Ok(n) => {
                    let from = self.filled;
                    // A reader claiming more than it was given room for
                    // breaks `Read`'s contract; it cannot make us read
                    // past the buffer.
                    self.filled += n.min(room);
                    if !self.take_in(from) {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    ended = End::Failed(if self.cut.gzip {
                        ErrorKind::Gzip(e)
                    } else {
                        ErrorKind::Io(e)
                    })
                }
            }
        }
    }

    /// Takes in the bytes `buf[from..filled]` just read: finds where the
    /// partial line starts, and drops an over-long line as it arrives.
    /// False when the decoding side has gone away.
    fn take_in(&mut self, mut from: usize) -> bool {
        if self.skipping {
            match memchr::memchr(b'\n', &self.buf[from..self.filled]) {
                None => {
                    self.drop_front(self.filled);
                    return true;
                }
                Some(i) => {
                    self.drop_front(from + i + 1);
                    self.newlines_dropped += 1;
                    self.skipping = false;
                    from = 0;
                }
            }
        }
        if let Some(i) = memchr::memrchr(b'\n', &self.buf[from..self.filled]) {
            self.tail = from + i + 1;
        }
        // The same test as the sequential line framer's: a line is too
        // long as soon as more than `max_line` of it is held.
        if self.filled - self.tail <= self.cut.max_line {
            return true;
        }
        // Complete lines before it go first, so items stay in order.
        if self.tail > self.first && !self.send(self.tail, End::No) {
            return false;
        }
        self.long_lines
            .push((self.base + self.tail as u64, self.newlines_dropped));
        self.drop_front(self.filled);
        self.skipping = true;
        true
    }

    /// Drops the first `n` bytes held.
    fn drop_front(&mut self, n: usize) {
        self.buf.copy_within(n..self.filled, 0);
        self.base += n as u64;
        self.filled -= n;
        self.tail = self.tail.saturating_sub(n);
        self.first = 0;
    }

    /// Sends `buf[..cut]` as a batch and keeps the rest in a fresh buffer.
    /// False when the decoding side has gone away.
    fn send(&mut self, cut: usize, end: End) -> bool {
        let carry = self.filled - cut;
        let mut next = self.spare.try_recv().unwrap_or_default();
        if next.len() < carry + self.cut.block {
            next.resize(carry + self.cut.block, 0);
        }
        next[..carry].copy_from_slice(&self.buf[cut..self.filled]);
        let data = std::mem::replace(&mut self.buf, next);
        let batch = Batch {
            data,
            meta: BatchMeta {
                len: cut,
                base: self.base,
                start: self.first.min(cut),
                long_lines: std::mem::take(&mut self.long_lines),
                newlines_dropped: std::mem::take(&mut self.newlines_dropped),
                end,
            },
        };
        self.base += cut as u64;
        self.filled = carry;
        self.tail = self.tail.saturating_sub(cut);
        self.first = 0;
        self.feed.send(Feed::Batch(batch)).is_ok()
    }
}

/// The decoding side of a line stream.
struct Stream<'s, J: Job> {
    setup: &'s Setup<'s, J>,
    work: Work<'s, J>,
    chunk_size: usize,
    batches: &'s Receiver<Feed>,
    /// Where delivered batches' buffers go back for reuse.
    spare: &'s Sender<Vec<u8>>,
}

impl<J: Job> Stream<'_, J> {
    fn run<F>(&self, sink: &mut F, compression: Compression) -> Result<Outcome>
    where
        F: for<'b> FnMut(Out<'b, J::Partial>) -> Result<()>,
    {
        let mut ordered = Ordered::new(self.setup.builder, self.setup.path, self.setup.job);
        let pool = &self.setup.engine.pool;
        // Two slots, used in turn: one batch is delivered from a slot
        // while the next is decoded in the other. Unrolling the loop by
        // two keeps each slot a variable of its own, so the entities
        // decoded from one slot's bytes can borrow them while the other
        // slot is refilled, and its metadata taken.
        let mut a = Batch::default();
        let mut b = Batch::default();
        let mut bytes;
        self.refill(&mut a)?;
        let (work, chunk_size) = (&self.work, self.chunk_size);
        let first = Piece::new(&a.data, &a.meta);
        let mut decoded_a = pool.install(|| decode_piece(work, chunk_size, first));
        loop {
            let last = !matches!(a.meta.end, End::No);
            if !last {
                self.refill(&mut b)?;
            }
            bytes = a.meta.base + a.meta.len as u64;
            let current = (&a.data[..], std::mem::take(&mut a.meta));
            let next = (!last).then(|| Piece::new(&b.data, &b.meta));
            let decoded_b = self.overlap(next, current, decoded_a, &mut ordered, sink)?;
            if last {
                break;
            }
            let last = !matches!(b.meta.end, End::No);
            if !last {
                self.refill(&mut a)?;
            }
            bytes = b.meta.base + b.meta.len as u64;
            let current = (&b.data[..], std::mem::take(&mut b.meta));
            let next = (!last).then(|| Piece::new(&a.data, &a.meta));
            decoded_a = self.overlap(next, current, decoded_b, &mut ordered, sink)?;
            if last {
                break;
            }
        }
        let report = ordered.into_report();
        Ok(Outcome {
            format: lines_format(&report),
            report,
            compression,
            bytes,
        })
    }

    /// Receives the next batch into `slot`, handing the old buffer back
    /// to the reading thread.
    fn refill(&self, slot: &mut Batch) -> Result<()> {
        match self.batches.recv() {
            Ok(Feed::Batch(batch)) => {
                let old = std::mem::replace(slot, batch);
                if old.data.capacity() > 0 {
                    // The reading thread may be gone (it sent the last
                    // batch); the buffer is then simply freed.
                    let _ = self.spare.send(old.data);
                }
                Ok(())
            }
            _ => Err(stopped()),
        }
    }

    /// Decodes `next` on the pool while this thread delivers `current` in
    /// order (the sink need not be `Send`).
    fn overlap<'n, 'c, F>(
        &self,
        next: Option<Piece<'n>>,
        current: (&'c [u8], BatchMeta),
        decoded: Vec<ChunkOut<'c, J::Partial>>,
        ordered: &mut Ordered<'_, J>,
        sink: &mut F,
    ) -> Result<Vec<ChunkOut<'n, J::Partial>>>
    where
        F: FnMut(Out<'c, J::Partial>) -> Result<()>,
    {
        let mut next_decoded = Vec::new();
        // Only the workers' shared part crosses to the pool (the channels
        // stay with this thread).
        let (work, chunk_size) = (&self.work, self.chunk_size);
        self.setup.engine.pool.in_place_scope(|scope| {
            if let Some(next) = next {
                let out = &mut next_decoded;
                scope.spawn(move |_| *out = decode_piece(work, chunk_size, next));
            }
            let (data, meta) = current;
            ordered.deliver_batch(data, meta, decoded, sink)
        })?;
        Ok(next_decoded)
    }
}

/// Decodes a batch's chunks on the pool.
fn decode_piece<'b, J: Job>(
    work: &Work<'_, J>,
    chunk_size: usize,
    piece: Piece<'b>,
) -> Vec<ChunkOut<'b, J::Partial>> {
    use rayon::prelude::*;
    let ranges: Vec<(usize, usize)> = Chunks {
        input: piece.bytes,
        pos: piece.start,
        size: chunk_size,
    }
    .collect();
    ranges
        .par_iter()
        .map(|&(s, e)| work.decode_chunk(piece.bytes, piece.base, s, e))
        .collect()
}

/// A batch's bytes, as the decoders see them.
#[derive(Clone, Copy)]
struct Piece<'b> {
    bytes: &'b [u8],
    base: u64,
    start: usize,
}

impl Piece<'_> {
    /// Borrows only the bytes, so the metadata can be taken meanwhile.
    fn new<'b>(data: &'b [u8], meta: &BatchMeta) -> Piece<'b> {
        Piece {
            bytes: &data[..meta.len.min(data.len())],
            base: meta.base,
            start: meta.start,
        }
    }
}

/// The raw blocks of the reading thread as a `Read`.
pub(crate) struct FeedRead<'r> {
    batches: &'r Receiver<Feed>,
    current: Vec<u8>,
    at: usize,
    done: bool,
}

impl Read for FeedRead<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at == self.current.len() {
            if self.done {
                return Ok(0);
            }
            match self.batches.recv() {
                Ok(Feed::Raw(Ok(block))) if block.is_empty() => self.done = true,
                Ok(Feed::Raw(Ok(block))) => {
                    self.current = block;
                    self.at = 0;
                }
                Ok(Feed::Raw(Err(e))) => {
                    self.done = true;
                    return Err(e);
                }
                // Not an end of input: the reading thread went away.
                _ => {
                    self.done = true;
                    return Err(io::Error::other("the reading thread stopped unexpectedly"));
                }
            }
        }
        let n = out.len().min(self.current.len() - self.at);
        out[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Engine, Filter, FilterJob, Parallel};

    use std::path::Path;

    fn fixtures() -> Vec<(String, Vec<u8>)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/fixtures");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).expect("fixtures") {
            let path = entry.expect("entry").path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if name == "expected.json" || name.ends_with(".gz") {
                continue;
            }
            out.push((name, std::fs::read(&path).expect("read")));
        }
        out.sort();
        out
    }

    /// The parts of a report only the crate sees (envelopes, import
    /// evidence) and the format agree between a stream and the same bytes
    /// in memory.
    #[test]
    fn stream_report_and_format_equal_the_slice() {
        for (name, bytes) in fixtures() {
            for (chunk, prefilter) in [(1, false), (7, true), (1 << 20, true)] {
                let mut p = Parallel::new();
                p.threads(2).chunk_size(chunk).prefilter(prefilter);
                let engine = Engine::new(&p).expect("engine");
                let job = FilterJob::new(Filter::new());
                let want = engine.run(&job).slice(&bytes, |_| Ok(())).expect("slice");
                let got = engine
                    .run(&job)
                    .reader(&bytes[..], |_| Ok(()))
                    .expect("stream");
                let what = format!("{name}: chunk {chunk}, prefilter {prefilter}");
                assert_eq!(got.format, want.format, "{what}");
                let (got, want) = (got.report, want.report);
                assert_eq!(
                    format!("{:?}", got.envelopes),
                    format!("{:?}", want.envelopes),
                    "{what}"
                );
                assert_eq!(got.data_with_cid, want.data_with_cid, "{what}");
                assert_eq!(got.records, want.records, "{what}");
                assert_eq!(
                    got.skipped_by_prefilter, want.skipped_by_prefilter,
                    "{what}"
                );
            }
        }
    }

    /// A line far longer than `max_line` is dropped while it streams by:
    /// no buffer the reading thread sends grows with it.
    #[test]
    fn an_over_long_line_is_never_held() {
        let mut data = Vec::new();
        for i in 0..50 {
            data.extend_from_slice(format!("{{\"id\":\"u{i}\"}}\n").as_bytes());
        }
        let long_at = data.len() as u64;
        data.extend_from_slice(b"{\"id\":\"long\",\"x\":\"");
        data.extend(std::iter::repeat_n(b'x', 5 << 20));
        data.extend_from_slice(b"\"}\n");
        let long_len = data.len() - long_at as usize;
        for i in 0..50 {
            data.extend_from_slice(format!("{{\"id\":\"v{i}\"}}\n").as_bytes());
        }
        let cut = CutSettings {
            gzip: false,
            block: 4096,
            max_line: 1000,
            target: 256,
        };
        let bound = cut.target.max(cut.max_line) + 2 * cut.block;
        let (feed, batches) = std::sync::mpsc::sync_channel(STREAM_QUEUE);
        let (spare_send, spare) = std::sync::mpsc::channel();
        let mut long_lines = Vec::new();
        let mut bytes = 0;
        std::thread::scope(|scope| {
            let src: Box<dyn Read + Send> = Box::new(&data[..]);
            scope.spawn(move || read_stream(src, cut, feed, spare));
            assert!(matches!(batches.recv(), Ok(Feed::Framing(Framing::Lines))));
            loop {
                let Ok(Feed::Batch(batch)) = batches.recv() else {
                    panic!("a batch");
                };
                assert!(
                    batch.data.capacity() <= 2 * bound,
                    "a buffer of {} bytes",
                    batch.data.capacity()
                );
                bytes += batch.meta.len;
                long_lines.extend_from_slice(&batch.meta.long_lines);
                let last = !matches!(batch.meta.end, End::No);
                let _ = spare_send.send(batch.data);
                if last {
                    break;
                }
            }
        });
        assert_eq!(long_lines, [(long_at, 0)]);
        assert_eq!(bytes, data.len() - long_len, "every short line is sent");
    }
}
