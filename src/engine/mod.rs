//! The parallel engine: one executor for every job — filtering, inspecting,
//! statistics, conversions — over bytes in memory, mapped files and
//! streams.
//!
//! A [`Job`] says what to do with one entity; the engine does everything
//! else, the same way for every job:
//!
//! - **chunking**: line files are cut into chunks at `\n` (a raw newline
//!   cannot occur inside a JSON string, so every cut is a record boundary);
//!   a stream (gzip, stdin, any `Read`) is read on a thread of its own —
//!   which also inflates gzip — into line-aligned batches, at most two
//!   ahead of the decoders, so memory is bounded by the settings;
//! - **decoding on the workers**: each chunk's lines are decoded on the
//!   [`Engine`]'s rayon pool (one pool for every input of a run), and the
//!   job folds each entity into the chunk's [`Job::Partial`] or asks for it
//!   to be delivered;
//! - **rule-outs**: a job may name raw-bytes tests ([`RuleOut`]) that rule
//!   lines out before they are decoded (the user-id prefilter, the
//!   kind/time quick scan);
//! - **the ordered pass**: one thread takes the chunks in input order,
//!   resolves inherited channels when the job needs them
//!   ([`Job::needs_context`]) with the same resolution the sequential
//!   reader uses, applies the error policy, numbers error lines, and hands
//!   partials, entities and (in yield mode) errors to the caller's sink, in
//!   input order. The ordered pass of one batch overlaps the decoding of
//!   the next;
//! - **v1 documents** in memory run in parallel too (`document`): the
//!   pool indexes where every bracket closes, chunk by chunk, the
//!   document's walker frames records from that index on one thread, and
//!   the pool decodes them. A v1 stream (and gzip bytes handed over as a
//!   slice) runs the same job on the sequential reader. The result is the
//!   same either way.
//!
//! Exactness: an entity is given to the job on a worker only when its
//! answer cannot depend on context — when the job needs context, entities
//! that inherit their channel go to the ordered pass and meet the job
//! there, after resolution. A job that needs context gets no byte
//! prefilter (a skipped line might be a channel record), and the quick
//! scan never rules out channel or message records for it.

mod chunks;
mod document;
mod ordered;
mod sequential;
mod slice;
mod stream;

use crate::error::{Error, ErrorKind, Result};
use crate::io::input::Input;
use crate::io::source::Compression;
use crate::model::entity::Entity;
use crate::read::reader::{Format, ReaderBuilder};
use crate::report::Report;
use std::io::Read;
use std::path::Path;

/// Work to run over every entity of an input, in parallel.
///
/// The engine calls [`Job::entity`] once per entity, on a worker thread
/// with the chunk's partial result, or — for entities whose channel is
/// inherited, when the job [needs context](Job::needs_context) — on the
/// ordered thread after resolution, with a partial of its own. Partials
/// reach the sink in input order ([`Out::Partial`]); a job whose partials
/// combine associatively (counters, sums, minima) gets exactly the
/// sequential answer by merging them as they come.
///
/// ```
/// use stream_chat_export::{Engine, Entity, Job, Keep, Kind, Out, Parallel, ReaderBuilder};
///
/// /// Counts messages per user; delivers nothing.
/// struct MessagesPerUser;
/// impl Job for MessagesPerUser {
///     type Partial = std::collections::BTreeMap<String, u64>;
///     fn entity(&self, e: &Entity<'_>, part: &mut Self::Partial) -> Keep {
///         if e.kind() == Kind::Message {
///             *part.entry(e.user_id().unwrap_or("").to_string()).or_default() += 1;
///         }
///         Keep::Done
///     }
/// }
///
/// let data = b"{\"type\":\"message\",\"item\":{\"id\":\"m1\",\"cid\":\"a:b\",\"text\":\"hi\",\"user\":{\"id\":\"ann\"}}}\n\
///              {\"type\":\"message\",\"item\":{\"id\":\"m2\",\"cid\":\"a:b\",\"text\":\"yo\",\"user\":{\"id\":\"ann\"}}}\n";
/// let engine = Engine::new(Parallel::new().threads(2).chunk_size(16))?;
/// let mut total = std::collections::BTreeMap::<String, u64>::new();
/// let outcome = engine.run(&MessagesPerUser).slice(data, |out| {
///     if let Out::Partial(part) = out {
///         for (user, n) in part {
///             *total.entry(user).or_default() += n;
///         }
///     }
///     Ok(())
/// })?;
/// assert_eq!(total["ann"], 2);
/// assert_eq!(outcome.report.entities, 2);
/// # Ok::<(), stream_chat_export::Error>(())
/// ```
pub trait Job: Sync {
    /// A chunk's partial result, built on a worker and handed to the sink
    /// in input order.
    type Partial: Send + Default;

    /// Takes one entity: folds it into `partial` and says whether the sink
    /// should also receive it ([`Keep::Deliver`]).
    fn entity(&self, entity: &Entity<'_>, partial: &mut Self::Partial) -> Keep;

    /// Must inherited channels be resolved before [`Job::entity`] sees an
    /// entity (members, read states, reactions and messages without a
    /// `cid` of their own)? Default: no — such entities then have no
    /// [`Entity::cid`], and the job runs entirely on the workers.
    fn needs_context(&self) -> bool {
        false
    }

    /// Raw-bytes tests that rule lines out before they are decoded. Lines
    /// ruled out never reach [`Job::entity`] (they are counted in
    /// [`Report::skipped_by_prefilter`] and not validated), so a job may
    /// only name tests that its own answer agrees with. Default: none.
    fn rule_out(&self) -> RuleOut<'_> {
        RuleOut::default()
    }

    /// Internal: top-level fields of each entity that [`Job::entity`]
    /// reads, whose places the decoder records in the same pass (for the
    /// crate's own jobs; the accessor is not public). Default: none.
    #[doc(hidden)]
    fn prefetch_fields(&self) -> &'static [&'static str] {
        &[]
    }

    /// Internal: has `partial` grown enough to go to the sink now? The
    /// sequential executor (v1 streams), which would otherwise keep one
    /// partial for a whole input, asks after each entity and hands a full
    /// one over at once, so a job's memory stays bounded there too (a
    /// chunk's partial is bounded by the chunk). Default: never.
    #[doc(hidden)]
    fn partial_full(&self, _partial: &Self::Partial) -> bool {
        false
    }
}

/// What the sink should do with an entity the job has taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The job is done with it (folded into the partial, or not wanted).
    Done,
    /// Hand it to the sink too, in input order ([`Out::Entity`]).
    Deliver,
}

/// What a run hands its sink, in input order.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // entities are the common case
pub enum Out<'a, P> {
    /// A chunk's partial result.
    Partial(P),
    /// An entity the job asked to deliver.
    Entity(Entity<'a>),
    /// A bad record, when the reader's error policy is to yield errors
    /// ([`ReaderBuilder::yield_errors`]); the run goes on after it.
    Error(Error),
}

/// Raw-bytes tests that rule lines out before decoding; see
/// [`Job::rule_out`]. Built by the crate's jobs (a [`FilterJob`](crate::FilterJob)
/// gives its own with [`FilterJob::rule_out`](crate::FilterJob)).
#[derive(Default, Clone, Copy)]
pub struct RuleOut<'j> {
    /// Finds the lines that can hold what the job wants; the others are
    /// skipped undecoded.
    pub(crate) candidates: Option<&'j dyn CandidateSearch>,
    /// Tests a line's kind and raw `created_at`, read from the structural
    /// index without decoding.
    pub(crate) quick: Option<&'j dyn QuickTest>,
}

impl std::fmt::Debug for RuleOut<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleOut")
            .field("candidates", &self.candidates.is_some())
            .field("quick", &self.quick.is_some())
            .finish()
    }
}

/// A search for candidate lines (the user-id prefilter).
pub(crate) trait CandidateSearch: Sync {
    /// Calls `f(start, end)` for each line of `text` that may hold a match,
    /// in order, and returns the number of `\n` in `text`.
    fn candidate_lines(&self, text: &[u8], f: &mut dyn FnMut(usize, usize)) -> u64;

    /// Calls `f(at)` for each place in `text` where a match may start, in
    /// order, for records that are not lines (the elements of a v1
    /// document); false, having called nothing, when the search only knows
    /// lines.
    fn hits(&self, text: &[u8], f: &mut dyn FnMut(usize)) -> bool {
        let _ = (text, f);
        false
    }
}

/// A test of a record's kind and raw `created_at` (the quick scan).
pub(crate) trait QuickTest: Sync {
    /// Can a record with this type name and raw `created_at` be wanted?
    fn quick_pass(&self, type_name: &[u8], created_at: Option<&[u8]>) -> bool;
}

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
    /// All available cores, 4 MiB chunks, rule-outs on.
    pub fn new() -> Parallel {
        Parallel {
            threads: available_threads(),
            chunk_size: 4 << 20,
            prefilter: true,
        }
    }

    /// The number of worker threads.
    pub fn thread_count(&self) -> usize {
        self.threads
    }

    /// Number of worker threads; 0 means all available cores (1 runs the
    /// same code on one thread).
    pub fn threads(&mut self, n: usize) -> &mut Self {
        self.threads = if n == 0 { available_threads() } else { n };
        self
    }

    /// Target chunk size in bytes; chunks end at the first newline after
    /// it. Tiny values are allowed (tests use a few bytes to put chunk
    /// boundaries everywhere).
    pub fn chunk_size(&mut self, bytes: usize) -> &mut Self {
        self.chunk_size = bytes.max(1);
        self
    }

    /// Does the engine use the jobs' rule-outs?
    pub fn uses_rule_outs(&self) -> bool {
        self.prefilter
    }

    /// Use the jobs' raw-bytes rule-outs ([`Job::rule_out`]; default on).
    /// The result is the same either way; off also validates every record.
    pub fn prefilter(&mut self, yes: bool) -> &mut Self {
        self.prefilter = yes;
        self
    }
}

fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Batches of chunks decoded at once: enough per thread that an uneven
/// chunk does not leave the others idle, few enough to bound memory.
pub(crate) const CHUNKS_PER_THREAD: usize = 4;

/// Runs jobs on a pool of worker threads that lives as long as the engine,
/// so every input of a run reuses it.
///
/// [`Engine::run`] starts a run of one job; the run's builder methods give
/// the reader settings and a name for errors, then one of
/// [`Run::slice`], [`Run::reader`] or [`Run::input`] runs it.
pub struct Engine {
    pool: rayon::ThreadPool,
    settings: Parallel,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("settings", &self.settings)
            .finish()
    }
}

impl Engine {
    /// Starts the worker threads.
    pub fn new(settings: &Parallel) -> Result<Engine> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(settings.threads)
            .thread_name(|i| format!("stream-chat-export-{i}"))
            .build()
            .map_err(|e| Error::new(ErrorKind::Usage(format!("cannot start threads: {e}"))))?;
        Ok(Engine {
            pool,
            settings: settings.clone(),
        })
    }

    /// The engine's settings.
    pub fn settings(&self) -> &Parallel {
        &self.settings
    }

    /// The worker pool, for work of the crate's own that is not a [`Job`]
    /// (the import validator's passes), so a run uses one pool.
    pub(crate) fn pool(&self) -> &rayon::ThreadPool {
        &self.pool
    }

    /// A run of `job`, with default reader settings until
    /// [`Run::builder`] gives others.
    pub fn run<'r, J: Job>(&'r self, job: &'r J) -> Run<'r, J> {
        Run {
            engine: self,
            job,
            builder: None,
            path: None,
        }
    }
}

/// One run of a job on an [`Engine`]; see [`Engine::run`].
pub struct Run<'r, J> {
    engine: &'r Engine,
    job: &'r J,
    builder: Option<&'r ReaderBuilder>,
    path: Option<&'r Path>,
}

/// How a run ended.
#[derive(Debug)]
#[non_exhaustive]
pub struct Outcome {
    /// Records, entities, errors and the first errors.
    pub report: Report,
    /// The detected format.
    pub format: Format,
    /// The detected compression.
    pub compression: Compression,
    /// Bytes of (decompressed) input read.
    pub bytes: u64,
}

impl<'r, J: Job> Run<'r, J> {
    /// Reader settings: limits, repairs, the error policy (strict,
    /// lenient, or yield).
    pub fn builder(mut self, builder: &'r ReaderBuilder) -> Self {
        self.builder = Some(builder);
        self
    }

    /// The name errors carry (a file name, `-`, a URL).
    pub fn path(mut self, path: &'r Path) -> Self {
        self.path = Some(path);
        self
    }

    /// The run's shared parts, with `default` standing in for reader
    /// settings not given.
    fn setup<'s>(&'s self, default: &'s ReaderBuilder) -> Setup<'s, J> {
        Setup {
            engine: self.engine,
            job: self.job,
            builder: self.builder.unwrap_or(default),
            path: self.path,
        }
    }

    /// Runs over bytes in memory (or a mapped file); the sink's entities
    /// borrow them. Line files and v1 documents run in parallel; gzip
    /// bytes on the sequential reader (hand gzip to [`Run::reader`] to
    /// decode it in parallel).
    pub fn slice<'a, F>(self, input: &'a [u8], sink: F) -> Result<Outcome>
    where
        F: FnMut(Out<'a, J::Partial>) -> Result<()>,
    {
        let default = ReaderBuilder::new();
        slice::run_slice(&self.setup(&default), input, sink)
    }

    /// Runs over a stream — a gzip file, stdin, a socket, any [`Read`] —
    /// read (and inflated) on a thread of its own into line-aligned
    /// batches that are decoded in parallel; entities, offsets, errors and
    /// report are what [`Run::slice`] gives on the same bytes. Entities
    /// borrow the current batch (hence the higher-ranked sink); call
    /// [`Entity::into_owned`] to keep one.
    ///
    /// Memory is bounded by the settings: a batch is about
    /// `min(chunk_size × threads × 4, 8 MiB)` (at least one line of up to
    /// `max_line`) plus two read blocks, and at most five are alive at
    /// once. A line longer than `max_line` is a
    /// [`ErrorKind::LineTooLong`] error at its first byte, dropped as it
    /// streams by. A read error mid-stream ends the input: the partial line
    /// before it is a record of its own, then the I/O error is returned
    /// (in lenient mode too); a damaged gzip stream is a data error. When
    /// the sink or a strict-mode error stops the run early, the reading
    /// thread stops at its next read.
    pub fn reader<R, F>(self, reader: R, mut sink: F) -> Result<Outcome>
    where
        R: Read + Send,
        F: for<'b> FnMut(Out<'b, J::Partial>) -> Result<()>,
    {
        let default = ReaderBuilder::new();
        stream::run_reader(&self.setup(&default), reader, &mut sink)
    }

    /// Runs over an [`Input`] opened by the one input policy
    /// ([`Input::open`]): a mapped file as a slice, anything else as a
    /// stream.
    pub fn input<F>(self, input: Input, mut sink: F) -> Result<Outcome>
    where
        F: for<'b> FnMut(Out<'b, J::Partial>) -> Result<()>,
    {
        match input {
            Input::Mapped(map) => self.slice(map.bytes(), &mut sink),
            Input::Stream(stream) => self.reader(stream, sink),
        }
    }
}

/// Everything a run's executors share.
pub(crate) struct Setup<'s, J> {
    pub(crate) engine: &'s Engine,
    pub(crate) job: &'s J,
    pub(crate) builder: &'s ReaderBuilder,
    pub(crate) path: Option<&'s Path>,
}

impl<J> Setup<'_, J> {
    /// Names `e` after the run's input.
    pub(crate) fn name(&self, e: Error) -> Error {
        match self.path {
            Some(p) => e.with_path(p),
            None => e,
        }
    }
}
