//! Parallel, order-preserving filtering of in-memory line files.
//!
//! The input is cut into chunks at `\n` (a raw newline cannot occur inside
//! a JSON string, so every cut is a record boundary). Chunks are decoded and
//! pre-filtered on a rayon pool; an ordered pass then resolves inherited
//! channels with the same [`Context`] the sequential reader uses, applies
//! the final filter and hands entities to the caller in input order. The
//! ordered pass of one batch overlaps the parallel decoding of the next.
//!
//! Exactness: the parallel phase drops an entity early only when its
//! answer cannot depend on context — with a channel predicate, channel and
//! message records (the context) and entities without their own channel are
//! all kept for the ordered pass. The byte prefilter is only used when no
//! channel predicate is given, so skipped records never carry context that
//! matters.
//!
//! v1 documents and gzip data are read by the sequential reader (a document
//! walk and an inflate stream cannot be split); the result is the same.

use crate::context::Context;
use crate::decode::{self, Decoded, Hint, Repairs};
use crate::entity::{Entity, Kind};
use crate::error::{Error, ErrorKind, Position, Result};
use crate::filter::{Filter, Prefilter};
use crate::reader::{Format, Framing, ReaderBuilder, Report, account, detect, lines_format};
use crate::source::{GZIP_MAGIC, Window};
use std::path::Path;

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
}

/// Reads `input` (plain or gzip, any format) and calls `sink` with each
/// entity that passes `filter`, in input order. Line files in memory run in
/// parallel; everything else runs on the sequential reader.
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
        detect(&mut Window::slice(input), builder.max_line).map_err(name)?
    };
    if framing != Framing::Lines {
        return sequential(builder, input, path, filter, sink);
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(parallel.threads)
        .build()
        .map_err(|e| Error::new(ErrorKind::Usage(format!("cannot start threads: {e}"))))?;
    let prefilter = if parallel.prefilter {
        filter.prefilter()
    } else {
        None
    };
    // The quick scan rules records out by kind and time without decoding.
    let use_quick = parallel.prefilter && filter.quick_applies();
    let repairs = Repairs {
        lossy_utf8: builder.lossy_utf8,
        lone_surrogates: builder.lone_surrogates,
        max_depth: builder.max_depth,
    };
    let chunks = Chunks {
        input,
        pos: start as usize,
        size: parallel.chunk_size,
    };
    let batch = parallel.threads * 4;
    let mut ordered = Ordered {
        input,
        context: Context::new(builder.message_memory),
        report: Report::default(),
        strict: builder.strict,
        max_errors_kept: builder.max_errors_kept,
        path,
        line_cursor: (0, 1),
        filter,
    };
    let job = Job {
        builder,
        repairs,
        prefilter: prefilter.as_ref(),
        use_quick,
        filter,
    };
    let decode_batch = |ranges: &[(usize, usize)]| -> Vec<ChunkOut<'a>> {
        use rayon::prelude::*;
        ranges
            .par_iter()
            .map(|&(s, e)| decode_chunk(input, s, e, &job))
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
            ordered.deliver(std::mem::take(&mut decoded), &mut sink)
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
        let target = (start + self.size).min(self.input.len());
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
fn decode_line<'a>(
    out: &mut ChunkOut<'a>,
    input: &'a [u8],
    line_start: usize,
    line_end: usize,
    builder: &ReaderBuilder,
    repairs: Repairs,
    filter: &Filter,
) {
    let line = &input[line_start..line_end];
    match decode::decode_record(line, line_start as u64, Hint::Record, repairs) {
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
                        e.offset += line_start as u64;
                        out.items.push(Item::Entity(e));
                    }
                    Err(err) => {
                        let at = err.position().map_or(0, |p| p.byte);
                        out.items.push(Item::Error {
                            kind: err.into_kind(),
                            at: line_start as u64 + at,
                        });
                    }
                }
            }
        }
        Err(de) => out.items.push(Item::Error {
            kind: de.kind,
            at: (line_start + de.at) as u64,
        }),
    }
}

fn decode_chunk<'a>(input: &'a [u8], start: usize, end: usize, job: &Job<'_>) -> ChunkOut<'a> {
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
                at: line_start as u64,
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
        decode_line(out, input, line_start, line_end, builder, repairs, filter);
    };
    match prefilter {
        Some(p) => {
            // Only lines that can hold an id are looked at; the others are
            // counted (one newline count over the chunk) and skipped.
            let text = &input[start..end];
            let mut candidates = 0u64;
            p.candidate_lines(text, |s, e| {
                candidates += 1;
                line(&mut out, start + s, start + e);
            });
            let lines = memchr::memchr_iter(b'\n', text).count() as u64
                + u64::from(!text.ends_with(b"\n") && !text.is_empty());
            out.dropped.skipped_by_prefilter += lines - candidates;
        }
        None => {
            let mut pos = start;
            while pos < end {
                let line_end = memchr::memchr(b'\n', &input[pos..end]).map_or(end, |i| pos + i);
                line(&mut out, pos, line_end);
                pos = line_end + 1;
            }
        }
    }
    out
}

/// The ordered pass: context, final filter, errors with line numbers.
struct Ordered<'f, 'a> {
    input: &'a [u8],
    context: Context,
    report: Report,
    strict: bool,
    max_errors_kept: usize,
    path: Option<&'f Path>,
    /// A known (byte, line) pair, so line numbers are counted
    /// incrementally and only when an error needs one.
    line_cursor: (u64, u64),
    filter: &'f Filter,
}

impl<'a> Ordered<'_, 'a> {
    fn deliver<F>(&mut self, chunks: Vec<ChunkOut<'a>>, sink: &mut F) -> Result<()>
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
                        let line = self.line_of(at);
                        let mut error = Error::at(kind, Position { byte: at, line });
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
                    }
                }
            }
        }
        Ok(())
    }

    fn line_of(&mut self, at: u64) -> u64 {
        let (byte, line) = self.line_cursor;
        let line = if at >= byte {
            line + memchr::memchr_iter(b'\n', &self.input[byte as usize..at as usize]).count()
                as u64
        } else {
            1 + memchr::memchr_iter(b'\n', &self.input[..at as usize]).count() as u64
        };
        self.line_cursor = (at, line);
        line
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
