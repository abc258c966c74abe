//! Parallel, order-preserving filtering of line files, in memory or
//! streamed.
//!
//! The input is cut into chunks at `\n` (a raw newline cannot occur inside
//! a JSON string, so every cut is a record boundary). Chunks are decoded and
//! pre-filtered on a rayon pool; an ordered pass then resolves inherited
//! channels with the same [`Context`] the sequential reader uses, applies
//! the final filter and hands entities to the caller in input order. The
//! ordered pass of one batch of chunks overlaps the parallel decoding of
//! the next.
//!
//! Bytes in memory ([`filter_slice`]) are cut where they lie. A stream
//! ([`filter_reader`]: gzip, stdin, any `Read`) is read on a thread of its
//! own — which also inflates gzip, so inflating overlaps decoding — into
//! line-aligned batches: a batch ends after its last `\n`, and the partial
//! line after it begins the next batch. At most two batches wait between
//! the reading thread and the decoders, so memory is bounded by the
//! settings, not by the input; a line that grows past `max_line` before its
//! newline arrives is reported and dropped as it streams by, never held
//! whole. The [`Context`], the line count and the report carry over from
//! batch to batch, so a stream gives exactly what the same bytes in memory
//! give.
//!
//! Exactness: the parallel phase drops an entity early only when its
//! answer cannot depend on context — with a channel predicate, channel and
//! message records (the context) and entities without their own channel are
//! all kept for the ordered pass. The byte prefilter is only used when no
//! channel predicate is given, so skipped records never carry context that
//! matters.
//!
//! v1 documents cannot be split (a document walk is sequential), so they
//! are read by the sequential reader on either path — from a stream with
//! the inflating still on its own thread; gzip bytes handed to
//! [`filter_slice`] are read sequentially too. The result is the same.

use crate::context::Context;
use crate::decode::{self, Decoded, Hint, Repairs};
use crate::entity::{Entity, Kind};
use crate::error::{Error, ErrorKind, Position, Result};
use crate::filter::{Filter, Prefilter};
use crate::reader::{Format, Framing, ReaderBuilder, Report, account, detect, lines_format};
use crate::source::{self, Compression, GZIP_MAGIC, LineCursor, Window};
use std::io::{self, Read};
use std::path::Path;
use std::sync::mpsc::{Receiver, Sender, SyncSender};

/// Settings for parallel runs.
#[derive(Debug, Clone)]
pub struct Parallel {
    threads: usize,
    chunk_size: usize,
    prefilter: bool,
}

impl Default for Parallel {
    fn default() -> Self {
        Parallel::new()
    }
}

impl Parallel {
    /// All available cores, 4 MiB chunks, prefilter on.
    pub fn new() -> Parallel {
        Parallel {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            chunk_size: 4 << 20,
            prefilter: true,
        }
    }

    /// The number of worker threads.
    pub fn thread_count(&self) -> usize {
        self.threads
    }

    /// Number of worker threads (1 runs the same code on one thread).
    pub fn threads(&mut self, n: usize) -> &mut Self {
        self.threads = n.max(1);
        self
    }

    /// Target chunk size in bytes; chunks end at the first newline after
    /// it. Tiny values are allowed (tests use a few bytes to put chunk
    /// boundaries everywhere).
    pub fn chunk_size(&mut self, bytes: usize) -> &mut Self {
        self.chunk_size = bytes.max(1);
        self
    }

    /// Use the byte prefilter for user filters (default on). The result is
    /// the same either way; off also validates every record.
    pub fn prefilter(&mut self, yes: bool) -> &mut Self {
        self.prefilter = yes;
        self
    }
}

#[allow(clippy::large_enum_variant)] // entities are the common case; boxing each costs an allocation
enum Item<'a> {
    Entity(Entity<'a>),
    Error { kind: ErrorKind, at: u64 },
    UnitStart,
}

#[derive(Default)]
struct ChunkOut<'a> {
    items: Vec<Item<'a>>,
    /// Entities decoded and dropped by the early filter.
    dropped: Report,
    /// Newlines in the chunk, so a stream can count lines batch by batch
    /// without a pass of its own.
    newlines: u64,
}

/// Reads `input` (plain or gzip, any format) and calls `sink` with each
/// entity that passes `filter`, in input order. Line files in memory run in
/// parallel; everything else runs on the sequential reader (gzip bytes
/// too: hand them to [`filter_reader`] to decode them in parallel).
///
/// With the prefilter ([`Parallel::prefilter`]), lines ruled out without
/// decoding are counted in [`Report::skipped_by_prefilter`] and not
/// validated — except for their length: a line longer than `max_line` is
/// always an error, as on the sequential reader.
///
/// The set of entities is exactly the sequential reader's. One difference
/// in what they carry: on the parallel path, inherited channels (members,
/// read states, reactions without a `cid`) are resolved only when `filter`
/// has a channel predicate; otherwise records that cannot match are never
/// decoded, and an inherited [`Entity::cid`] is left `None` rather than
/// guessed. Read with [`ReaderBuilder`] when every entity's channel is
/// needed.
pub fn filter_slice<'a, F>(
    builder: &ReaderBuilder,
    parallel: &Parallel,
    input: &'a [u8],
    path: Option<&Path>,
    filter: &Filter,
    sink: F,
) -> Result<Report>
where
    F: FnMut(Entity<'a>) -> Result<()>,
{
    run_slice(builder, parallel, input, path, filter, sink).map(|(report, _)| report)
}

/// What every run on the pool needs: the pool and the per-chunk job's
/// parts.
struct Setup {
    pool: rayon::ThreadPool,
    prefilter: Option<Prefilter>,
    use_quick: bool,
    repairs: Repairs,
}

impl Setup {
    fn new(builder: &ReaderBuilder, parallel: &Parallel, filter: &Filter) -> Result<Setup> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(parallel.threads)
            .build()
            .map_err(|e| Error::new(ErrorKind::Usage(format!("cannot start threads: {e}"))))?;
        Ok(Setup {
            pool,
            prefilter: if parallel.prefilter {
                filter.prefilter()
            } else {
                None
            },
            // The quick scan rules records out by kind and time without
            // decoding.
            use_quick: parallel.prefilter && filter.quick_applies(),
            repairs: Repairs {
                lossy_utf8: builder.lossy_utf8,
                lone_surrogates: builder.lone_surrogates,
                max_depth: builder.max_depth,
            },
        })
    }

    fn job<'r>(&'r self, builder: &'r ReaderBuilder, filter: &'r Filter) -> Job<'r> {
        Job {
            builder,
            repairs: self.repairs,
            prefilter: self.prefilter.as_ref(),
            use_quick: self.use_quick,
            filter,
        }
    }
}

/// [`filter_slice`], also telling the input's format.
pub(crate) fn run_slice<'a, F>(
    builder: &ReaderBuilder,
    parallel: &Parallel,
    input: &'a [u8],
    path: Option<&Path>,
    filter: &Filter,
    mut sink: F,
) -> Result<(Report, Format)>
where
    F: FnMut(Entity<'a>) -> Result<()>,
{
    let name = |e: Error| match path {
        Some(p) => e.with_path(p),
        None => e,
    };
    let (start, framing) = if input.starts_with(&GZIP_MAGIC) {
        (0, Framing::Document)
    } else {
        detect(&mut Window::slice(input)).map_err(name)?
    };
    if framing != Framing::Lines {
        return sequential(builder, input, path, filter, sink);
    }
    let setup = Setup::new(builder, parallel, filter)?;
    let pool = &setup.pool;
    let chunks = Chunks {
        input,
        pos: start as usize,
        size: parallel.chunk_size,
    };
    let batch = parallel.threads * 4;
    let mut ordered = Ordered::new(builder, path, filter);
    let job = setup.job(builder, filter);
    let decode_batch = |ranges: &[(usize, usize)]| -> Vec<ChunkOut<'a>> {
        use rayon::prelude::*;
        ranges
            .par_iter()
            .map(|&(s, e)| decode_chunk(input, 0, s, e, &job))
            .collect()
    };
    let mut chunks = chunks;
    let mut current: Vec<(usize, usize)> = chunks.by_ref().take(batch).collect();
    let mut decoded = pool.install(|| decode_batch(&current));
    while !current.is_empty() {
        let next: Vec<(usize, usize)> = chunks.by_ref().take(batch).collect();
        let mut next_decoded = Vec::new();
        // Decode the next batch on the pool while this thread delivers
        // the current one in order (the sink need not be `Send`).
        pool.in_place_scope(|scope| {
            scope.spawn(|_| next_decoded = decode_batch(&next));
            ordered.deliver(input, std::mem::take(&mut decoded), &mut sink)
        })?;
        current = next;
        decoded = next_decoded;
    }
    let format = lines_format(&ordered.report);
    Ok((ordered.report, format))
}

fn sequential<'a, F>(
    builder: &ReaderBuilder,
    input: &'a [u8],
    path: Option<&Path>,
    filter: &Filter,
    mut sink: F,
) -> Result<(Report, Format)>
where
    F: FnMut(Entity<'a>) -> Result<()>,
{
    let mut reader = builder.from_slice(input);
    if let (Some(p), Some(r)) = (path, reader.reader_mut()) {
        r.set_path(p);
    }
    for entity in reader.by_ref() {
        let entity = entity?;
        if filter.matches(&entity) {
            sink(entity)?;
        }
    }
    let format = reader.reader().map_or(Format::Empty, |r| r.format());
    Ok((reader.take_report(), format))
}

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
        .saturating_mul(4)
        .min(STREAM_BATCH_MAX)
}

/// The chunk size within a stream batch: smaller chunks when the batch is
/// capped, so every thread still gets several.
fn stream_chunk(parallel: &Parallel) -> usize {
    parallel
        .chunk_size
        .min(stream_batch(parallel) / (parallel.threads * 4))
        .max(1)
}

/// At most this many over-long lines are held for the next batch; more are
/// sent on in a batch of their own, so even a stream of nothing but
/// over-long lines keeps memory bounded.
const MAX_LONG_LINES_HELD: usize = 1024;

/// Reads a stream — a gzip file, stdin, a socket, any [`Read`] — and calls
/// `sink` with each entity that passes `filter`, in input order, decoding
/// line files on `parallel`'s threads as [`filter_slice`] does for bytes in
/// memory. gzip is detected by content (several members are fine).
///
/// A thread of its own reads (and inflates) the stream, so inflating
/// overlaps decoding. It detects the framing from the first bytes as
/// [`ReaderBuilder::from_reader`] does:
///
/// - **Line files** (v2, user exports, import files) are cut into
///   line-aligned batches of about `chunk_size × threads × 4` bytes (at
///   most 8 MiB, in smaller chunks when capped), each
///   split into chunks and decoded in parallel. The channel context, the
///   line count and the report carry over from batch to batch, so the
///   entities, their offsets (absolute in the decompressed stream), the
///   errors with their lines and bytes, and the [`Report`] are exactly what
///   [`filter_slice`] gives on the same bytes. Memory is bounded by the
///   settings: a batch is at most about `max(min(chunk_size × threads × 4, 8 MiB),
///   max_line)` plus two read blocks ([`ReaderBuilder::buffer_size`]; the
///   first batch also holds what format detection read, the first line up
///   to 1 MiB), and at most five are alive at once (two queued, one being
///   read, one being decoded, one being delivered). A line longer than
///   `max_line` is a [`ErrorKind::LineTooLong`] error at its first byte,
///   and is dropped as it streams by rather than held.
/// - **v1 documents** (and inputs with no records) are read by the
///   sequential reader, with the reading thread still inflating ahead of
///   it: a document walk cannot be split. Entities and report are the
///   sequential reader's.
///
/// As on the sequential reader, a read error mid-stream ends the input: the
/// partial line before it is a record of its own, then an I/O error is
/// returned (in lenient mode too), while a damaged or truncated gzip stream
/// is a data error — counted in lenient mode, returned in strict mode.
///
/// Entities borrow the current batch (hence the higher-ranked `sink`);
/// call [`Entity::into_owned`] to keep one. On the parallel path, an
/// inherited channel is resolved only when `filter` has a channel
/// predicate (see [`filter_slice`]). When `sink` or a strict-mode error
/// stops the run early, the reading thread stops at its next read: a
/// stream that blocks (a terminal, a silent pipe) delays the return until
/// that read ends.
///
/// ```
/// use std::io::Write;
/// use stream_chat_export::{Filter, Parallel, ReaderBuilder, filter_reader};
///
/// let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
/// gz.write_all(b"{\"type\":\"channel\",\"item\":{\"cid\":\"messaging:a\",\"type\":\"messaging\",\"id\":\"a\"}}\n\
///                {\"type\":\"member\",\"item\":{\"user_id\":\"ann\",\"user\":{\"id\":\"ann\"}}}\n\
///                {\"type\":\"member\",\"item\":{\"user_id\":\"bob\",\"user\":{\"id\":\"bob\"}}}\n")?;
/// let gz = gz.finish()?;
/// let mut filter = Filter::new();
/// filter.channel("messaging:a").user("bob");
/// let mut found = Vec::new();
/// let report = filter_reader(&ReaderBuilder::new(), &Parallel::new(), &gz[..], None, &filter, |e| {
///     found.push((e.user_id().map(str::to_string), e.cid().map(str::to_string)));
///     Ok(())
/// })?;
/// assert_eq!(found, [(Some("bob".to_string()), Some("messaging:a".to_string()))]);
/// assert_eq!(report.entities, 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn filter_reader<R, F>(
    builder: &ReaderBuilder,
    parallel: &Parallel,
    reader: R,
    path: Option<&Path>,
    filter: &Filter,
    mut sink: F,
) -> Result<Report>
where
    R: Read + Send,
    F: for<'b> FnMut(Entity<'b>) -> Result<()>,
{
    run_reader(builder, parallel, reader, path, filter, &mut sink).map(|(report, _)| report)
}

/// [`filter_reader`], also telling the input's format.
pub(crate) fn run_reader<R, F>(
    builder: &ReaderBuilder,
    parallel: &Parallel,
    reader: R,
    path: Option<&Path>,
    filter: &Filter,
    sink: &mut F,
) -> Result<(Report, Format)>
where
    R: Read + Send,
    F: for<'b> FnMut(Entity<'b>) -> Result<()>,
{
    let name = |e: Error| match path {
        Some(p) => e.with_path(p),
        None => e,
    };
    let (src, compression) = source::open_send_stream(reader, builder.block).map_err(name)?;
    let setup = Setup::new(builder, parallel, filter)?;
    let cut = CutSettings {
        gzip: compression == Compression::Gzip,
        block: builder.block,
        max_line: builder.max_line,
        target: stream_batch(parallel),
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
                    decoder: Decoder {
                        setup: &setup,
                        builder,
                        chunk_size: stream_chunk(parallel),
                        filter,
                    },
                    batches: &batches,
                    spare: &spare_send,
                };
                stream.run(path, sink)
            }
            Ok(Feed::Framing(_)) => {
                stream_sequential(builder, &batches, cut.gzip, path, filter, sink)
            }
            Ok(Feed::Failed(e)) => Err(name(e)),
            Ok(Feed::Batch(_) | Feed::Raw(_)) | Err(_) => Err(name(stopped())),
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

/// Everything about a batch but its bytes: kept apart so the ordered pass
/// can take it while the decoded entities still borrow the bytes.
#[derive(Default)]
struct BatchMeta {
    len: usize,
    /// Absolute offset of `data[0]` in the (decompressed) stream.
    base: u64,
    /// First byte to decode: past a byte-order mark in the first batch.
    start: usize,
    /// Lines longer than `max_line` dropped before `base`: the offset of
    /// each one's first byte, and the newlines dropped before it since the
    /// previous batch.
    long_lines: Vec<(u64, u64)>,
    /// Newlines in the bytes dropped between the previous batch and `base`.
    newlines_dropped: u64,
    /// Set on the last batch: `Some(None)` at the end of the input,
    /// `Some(Some(kind))` when a read error (`Io` or `Gzip`) ended it just
    /// after this batch's bytes.
    end: Option<Option<ErrorKind>>,
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
        Some(error) => Some(Some(error.into_kind())),
        None if eof => Some(None),
        None => None,
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
    fn run(&mut self, src: &mut dyn Read, mut ended: Option<Option<ErrorKind>>) {
        // The bytes detection read are taken in like any read.
        if !self.take_in(self.first) {
            return;
        }
        loop {
            if let Some(end) = ended {
                self.send(self.filled, Some(end));
                return;
            }
            let full = self.filled - self.first >= self.cut.target && self.tail > self.first;
            if (full || self.long_lines.len() >= MAX_LONG_LINES_HELD) && !self.send(self.tail, None)
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
                Ok(0) => ended = Some(None),
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
                    ended = Some(Some(if self.cut.gzip {
                        ErrorKind::Gzip(e)
                    } else {
                        ErrorKind::Io(e)
                    }))
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
        if self.tail > self.first && !self.send(self.tail, None) {
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
    fn send(&mut self, cut: usize, end: Option<Option<ErrorKind>>) -> bool {
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
struct Stream<'s> {
    decoder: Decoder<'s>,
    batches: &'s Receiver<Feed>,
    /// Where delivered batches' buffers go back for reuse.
    spare: &'s Sender<Vec<u8>>,
}

impl Stream<'_> {
    fn run<F>(&self, path: Option<&Path>, sink: &mut F) -> Result<(Report, Format)>
    where
        F: for<'b> FnMut(Entity<'b>) -> Result<()>,
    {
        let mut ordered = Ordered::new(self.decoder.builder, path, self.decoder.filter);
        // Two slots, used in turn: one batch is delivered from a slot
        // while the next is decoded in the other. Unrolling the loop by
        // two keeps each slot a variable of its own, so the entities
        // decoded from one slot's bytes can borrow them while the other
        // slot is refilled, and its metadata taken.
        let mut a = Batch::default();
        let mut b = Batch::default();
        self.refill(&mut a)?;
        let decoder = self.decoder;
        let mut decoded_a = decoder
            .setup
            .pool
            .install(|| decoder.decode(Piece::new(&a.data, &a.meta)));
        loop {
            let last = a.meta.end.is_some();
            if !last {
                self.refill(&mut b)?;
            }
            let current = (&a.data[..], std::mem::take(&mut a.meta));
            let next = (!last).then(|| Piece::new(&b.data, &b.meta));
            let decoded_b = self.overlap(next, current, decoded_a, &mut ordered, sink)?;
            if last {
                break;
            }
            let last = b.meta.end.is_some();
            if !last {
                self.refill(&mut a)?;
            }
            let current = (&b.data[..], std::mem::take(&mut b.meta));
            let next = (!last).then(|| Piece::new(&a.data, &a.meta));
            decoded_a = self.overlap(next, current, decoded_b, &mut ordered, sink)?;
            if last {
                break;
            }
        }
        let format = lines_format(&ordered.report);
        Ok((ordered.report, format))
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
        decoded: Vec<ChunkOut<'c>>,
        ordered: &mut Ordered<'_>,
        sink: &mut F,
    ) -> Result<Vec<ChunkOut<'n>>>
    where
        F: FnMut(Entity<'c>) -> Result<()>,
    {
        let mut next_decoded = Vec::new();
        let decoder = self.decoder;
        decoder.setup.pool.in_place_scope(|scope| {
            if let Some(next) = next {
                let out = &mut next_decoded;
                scope.spawn(move |_| *out = decoder.decode(next));
            }
            let (data, meta) = current;
            ordered.deliver_batch(data, meta, decoded, sink)
        })?;
        Ok(next_decoded)
    }
}

/// What the pool's workers share to decode a batch (the channels stay
/// with the delivering thread).
#[derive(Clone, Copy)]
struct Decoder<'s> {
    setup: &'s Setup,
    builder: &'s ReaderBuilder,
    chunk_size: usize,
    filter: &'s Filter,
}

impl Decoder<'_> {
    fn decode<'b>(&self, piece: Piece<'b>) -> Vec<ChunkOut<'b>> {
        use rayon::prelude::*;
        let ranges: Vec<(usize, usize)> = Chunks {
            input: piece.bytes,
            pos: piece.start,
            size: self.chunk_size,
        }
        .collect();
        let job = self.setup.job(self.builder, self.filter);
        ranges
            .par_iter()
            .map(|&(s, e)| decode_chunk(piece.bytes, piece.base, s, e, &job))
            .collect()
    }
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

/// Reads a stream that is not a line file with the sequential reader, the
/// reading thread feeding it raw blocks (inflated ahead when gzip).
fn stream_sequential<F>(
    builder: &ReaderBuilder,
    batches: &Receiver<Feed>,
    gzip: bool,
    path: Option<&Path>,
    filter: &Filter,
    sink: &mut F,
) -> Result<(Report, Format)>
where
    F: for<'b> FnMut(Entity<'b>) -> Result<()>,
{
    let feed = FeedRead {
        batches,
        current: Vec::new(),
        at: 0,
        done: false,
    };
    let window = Window::stream(Box::new(feed), gzip, builder.block);
    let compression = if gzip {
        Compression::Gzip
    } else {
        Compression::None
    };
    let mut reader = builder
        .open_window(window, compression)
        .map_err(|e| match path {
            Some(p) => e.with_path(p),
            None => e,
        })?;
    if let Some(p) = path {
        reader.set_path(p);
    }
    while let Some(entity) = reader.next_entity() {
        let entity = entity?;
        if filter.matches(&entity) {
            sink(entity)?;
        }
    }
    let format = reader.format();
    Ok((std::mem::take(reader.report_mut()), format))
}

/// The raw blocks of the reading thread as a `Read`.
struct FeedRead<'r> {
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

/// Line-aligned chunk boundaries.
struct Chunks<'a> {
    input: &'a [u8],
    pos: usize,
    size: usize,
}

impl Iterator for Chunks<'_> {
    type Item = (usize, usize);
    fn next(&mut self) -> Option<(usize, usize)> {
        if self.pos >= self.input.len() {
            return None;
        }
        let start = self.pos;
        let target = start.saturating_add(self.size).min(self.input.len());
        let end = match memchr::memchr(b'\n', &self.input[target.saturating_sub(1)..]) {
            Some(i) => target.saturating_sub(1) + i + 1,
            None => self.input.len(),
        };
        let end = end.max(start + 1).min(self.input.len());
        self.pos = end;
        Some((start, end))
    }
}

/// Would the entity be kept for the ordered pass? Conservative: only
/// entities whose answer cannot change with context are dropped.
fn keep_early(filter: &Filter, e: &Entity<'_>) -> bool {
    if !filter.has_channels() {
        return filter.matches(e);
    }
    if matches!(e.kind(), Kind::Channel | Kind::Message) {
        return true;
    }
    if e.cid().is_none() {
        return filter.matches_except_channel(e);
    }
    filter.matches(e)
}

/// What every chunk's decoding needs, shared by the workers.
#[derive(Clone, Copy)]
struct Job<'r> {
    builder: &'r ReaderBuilder,
    repairs: Repairs,
    prefilter: Option<&'r Prefilter>,
    use_quick: bool,
    filter: &'r Filter,
}

/// Decodes one line of a chunk and keeps what the ordered pass needs.
/// `base` is the absolute offset of `input[0]`.
#[allow(clippy::too_many_arguments)]
fn decode_line<'a>(
    out: &mut ChunkOut<'a>,
    input: &'a [u8],
    base: u64,
    line_start: usize,
    line_end: usize,
    builder: &ReaderBuilder,
    repairs: Repairs,
    filter: &Filter,
) {
    let line = &input[line_start..line_end];
    let at = base + line_start as u64;
    match decode::decode_record(line, at, Hint::Record, repairs) {
        Ok(Decoded::Entity(e)) => {
            if keep_early(filter, &e) {
                out.items.push(Item::Entity(e));
            } else {
                out.dropped.records += 1;
                out.dropped.entities += 1;
                account(&mut out.dropped, &e);
            }
        }
        Ok(Decoded::Blank) => out.dropped.blank_lines += 1,
        Ok(Decoded::Unit) => {
            // A v1 channel object on one line: walk it with the
            // sequential reader over the line's own bytes.
            out.items.push(Item::UnitStart);
            let mut inner = builder.clone();
            inner.strict(false).yield_errors(true);
            for entity in inner.from_slice(line) {
                match entity {
                    Ok(mut e) => {
                        e.offset += at;
                        out.items.push(Item::Entity(e));
                    }
                    Err(err) => {
                        let inner_at = err.position().map_or(0, |p| p.byte);
                        out.items.push(Item::Error {
                            kind: err.into_kind(),
                            at: at + inner_at,
                        });
                    }
                }
            }
        }
        Err(de) => out.items.push(Item::Error {
            kind: de.kind,
            at: at + de.at as u64,
        }),
    }
}

/// Starts of the lines of `text` longer than `max` bytes (a final line
/// without its newline included).
fn long_line_starts(text: &[u8], max: usize) -> Vec<usize> {
    let mut starts = Vec::new();
    // No line can be longer than the text.
    if text.len() <= max {
        return starts;
    }
    let mut start = 0;
    for newline in memchr::memchr_iter(b'\n', text) {
        if newline - start > max {
            starts.push(start);
        }
        start = newline + 1;
    }
    if text.len() - start > max {
        starts.push(start);
    }
    starts
}

/// The prefilter's window within a chunk (see `decode_chunk`).
const PREFILTER_WINDOW: usize = 256 << 10;

/// Decodes the lines of `input[start..end]`; `base` is the absolute offset
/// of `input[0]`, so entity offsets and error bytes are absolute.
fn decode_chunk<'a>(
    input: &'a [u8],
    base: u64,
    start: usize,
    end: usize,
    job: &Job<'_>,
) -> ChunkOut<'a> {
    let Job {
        builder,
        repairs,
        prefilter,
        use_quick,
        filter,
    } = *job;
    let mut out = ChunkOut::default();
    let mut blocks = crate::structural::Blocks::default();
    let mut line = |out: &mut ChunkOut<'a>, line_start: usize, line_end: usize| {
        let line = &input[line_start..line_end];
        if line.len() > builder.max_line {
            out.items.push(Item::Error {
                kind: ErrorKind::LineTooLong {
                    max: builder.max_line,
                },
                at: base + line_start as u64,
            });
            return;
        }
        if use_quick
            && let Some(q) = crate::scan::quick_in(&input[line_start..], line.len(), &mut blocks)
            && !filter.quick_pass(q.type_name, q.created_at)
        {
            out.dropped.skipped_by_prefilter += 1;
            return;
        }
        decode_line(
            out, input, base, line_start, line_end, builder, repairs, filter,
        );
    };
    match prefilter {
        Some(p) => {
            // The chunk is searched in windows of about 256 KiB cut after
            // a newline, so the id search, the newline count and the
            // long-line check read the same bytes while they are in cache
            // rather than three times from memory (which two threads
            // share).
            let chunk_end = end;
            let mut window = start;
            while window < chunk_end {
                let target = window + PREFILTER_WINDOW;
                let window_end = if target >= chunk_end {
                    chunk_end
                } else {
                    memchr::memchr(b'\n', &input[target..chunk_end])
                        .map_or(chunk_end, |i| target + i + 1)
                };
                let (start, end) = (window, window_end);
                // Only lines that can hold an id are looked at; the others are
                // counted (by the search's own pass) and skipped.
                let text = &input[start..end];
                // Over-long lines are errors whether or not they could hold an
                // id, as on the sequential reader — and so that a stream, which
                // drops a long line while it arrives, reports the same whatever
                // its reads look like.
                let long = long_line_starts(text, builder.max_line);
                let mut long = long.into_iter().peekable();
                let too_long = |out: &mut ChunkOut<'a>, s: usize| {
                    out.items.push(Item::Error {
                        kind: ErrorKind::LineTooLong {
                            max: builder.max_line,
                        },
                        at: base + (start + s) as u64,
                    });
                };
                let mut candidates = 0u64;
                let mut long_skipped = 0u64;
                let newlines = p.candidate_lines_counting(text, |s, e| {
                    while let Some(l) = long.next_if(|&l| l < s) {
                        too_long(&mut out, l);
                        long_skipped += 1;
                    }
                    // A candidate that is itself too long is reported by `line`.
                    long.next_if_eq(&s);
                    candidates += 1;
                    line(&mut out, start + s, start + e);
                });
                for l in long {
                    too_long(&mut out, l);
                    long_skipped += 1;
                }
                let lines = newlines + u64::from(!text.ends_with(b"\n") && !text.is_empty());
                out.dropped.skipped_by_prefilter += lines - candidates - long_skipped;
                out.newlines += newlines;
                window = window_end;
            }
        }
        None => {
            let mut pos = start;
            while pos < end {
                let line_end = memchr::memchr(b'\n', &input[pos..end]).map_or(end, |i| pos + i);
                line(&mut out, pos, line_end);
                out.newlines += u64::from(line_end < end);
                pos = line_end + 1;
            }
        }
    }
    out
}

/// The ordered pass: context, final filter, errors with line numbers.
struct Ordered<'f> {
    context: Context,
    report: Report,
    strict: bool,
    max_errors_kept: usize,
    max_line: usize,
    path: Option<&'f Path>,
    filter: &'f Filter,
    /// Line numbers of the input being delivered (the whole input, or a
    /// stream's current batch, which starts at the cursor's origin),
    /// counted incrementally and only when an error needs one.
    lines: LineCursor,
    /// A stream's line just after the last batch delivered.
    next_line: u64,
}

impl<'f> Ordered<'f> {
    fn new(builder: &ReaderBuilder, path: Option<&'f Path>, filter: &'f Filter) -> Ordered<'f> {
        Ordered {
            context: Context::new(builder.message_memory),
            report: Report::default(),
            strict: builder.strict,
            max_errors_kept: builder.max_errors_kept,
            max_line: builder.max_line,
            path,
            filter,
            lines: LineCursor::new(0, 1),
            next_line: 1,
        }
    }

    /// Delivers the items of `input`'s chunks. `input` starts at absolute
    /// offset `self.lines.origin().0`.
    fn deliver<'a, F>(
        &mut self,
        input: &'a [u8],
        chunks: Vec<ChunkOut<'a>>,
        sink: &mut F,
    ) -> Result<()>
    where
        F: FnMut(Entity<'a>) -> Result<()>,
    {
        for chunk in chunks {
            merge(&mut self.report, &chunk.dropped);
            for item in chunk.items {
                match item {
                    Item::UnitStart => self.context.reset(),
                    Item::Entity(mut e) => {
                        self.report.records += 1;
                        self.report.entities += 1;
                        account(&mut self.report, &e);
                        // Without a channel predicate, records that cannot
                        // match were skipped undecoded, so the context is
                        // incomplete: leave inherited channels unresolved
                        // rather than resolve them wrongly.
                        if self.filter.has_channels() {
                            self.context.resolve(&mut e, &mut self.report);
                        }
                        if self.filter.matches(&e) {
                            sink(e)?;
                        }
                    }
                    Item::Error { kind, at } => {
                        let line = self.line_of(input, at);
                        self.fail(Error::at(kind, Position { byte: at, line }))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Delivers one batch of a stream: the over-long lines dropped before
    /// it, its chunks, and the read error that ended the stream after it.
    fn deliver_batch<'a, F>(
        &mut self,
        data: &'a [u8],
        meta: BatchMeta,
        chunks: Vec<ChunkOut<'a>>,
        sink: &mut F,
    ) -> Result<()>
    where
        F: FnMut(Entity<'a>) -> Result<()>,
    {
        for &(byte, newlines) in &meta.long_lines {
            let kind = ErrorKind::LineTooLong { max: self.max_line };
            let line = self.next_line + newlines;
            self.fail(Error::at(kind, Position { byte, line }))?;
        }
        let line = self.next_line + meta.newlines_dropped;
        self.lines = LineCursor::new(meta.base, line);
        let newlines: u64 = chunks.iter().map(|c| c.newlines).sum();
        let input = &data[..meta.len.min(data.len())];
        self.deliver(input, chunks, sink)?;
        self.next_line = line + newlines;
        if let Some(Some(kind)) = meta.end {
            let position = Position {
                byte: meta.base + input.len() as u64,
                line: self.next_line,
            };
            let mut error = Error::at(kind, position);
            if let Some(p) = self.path {
                error = error.with_path(p);
            }
            // As on the sequential reader: a failed read is returned even
            // in lenient mode; a damaged gzip stream is a bad record.
            if matches!(error.kind(), ErrorKind::Io(_)) {
                return Err(error);
            }
            self.fail(error)?;
        }
        Ok(())
    }

    /// Counts a bad record; strict mode stops at it.
    fn fail(&mut self, mut error: Error) -> Result<()> {
        if let Some(p) = self.path {
            error = error.with_path(p);
        }
        self.report.records += 1;
        self.report.errors += 1;
        if self.strict {
            return Err(error);
        }
        if self.report.first_errors.len() < self.max_errors_kept {
            self.report.first_errors.push(error);
        }
        Ok(())
    }

    /// The line of absolute offset `at` of `input` (which starts at the
    /// cursor's origin).
    fn line_of(&mut self, input: &[u8], at: u64) -> u64 {
        let base = self.lines.origin().0;
        self.lines.line_of(input, base, at)
    }
}

fn merge(into: &mut Report, from: &Report) {
    into.records += from.records;
    into.entities += from.entities;
    into.blank_lines += from.blank_lines;
    into.lossy += from.lossy;
    into.skipped_by_prefilter += from.skipped_by_prefilter;
    for (a, b) in into.envelopes.iter_mut().zip(from.envelopes) {
        *a += b;
    }
    into.data_with_cid += from.data_with_cid;
}

#[cfg(test)]
mod tests {
    use super::*;

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
                let b = ReaderBuilder::new();
                let f = Filter::new();
                let (want, want_format) =
                    run_slice(&b, &p, &bytes, None, &f, |_| Ok(())).expect("slice");
                let (got, got_format) =
                    run_reader(&b, &p, &bytes[..], None, &f, &mut |_| Ok(())).expect("stream");
                let what = format!("{name}: chunk {chunk}, prefilter {prefilter}");
                assert_eq!(got_format, want_format, "{what}");
                assert_eq!(got.envelopes, want.envelopes, "{what}");
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
                let last = batch.meta.end.is_some();
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
