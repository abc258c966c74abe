//! The one reader API: a builder, format detection, and the entity loop
//! shared by every source.
//!
//! Which to use:
//! - [`ReaderBuilder::from_slice`] gives a [`SliceReader`], a plain
//!   `Iterator` whose entities borrow from your bytes (zero-copy). Use it for
//!   data in memory and for mapped files ([`MappedFile`](crate::MappedFile)).
//! - [`ReaderBuilder::from_path`] and [`ReaderBuilder::from_reader`] give a
//!   [`Reader`], which works for every source including gzip and stdin.
//!   Its entities borrow from a reused buffer, so it is a *lending*
//!   iterator: call [`Reader::next_entity`] in a `while let` loop, or
//!   [`Reader::for_each`]. Call `into_owned()` on an entity to keep it.

use crate::decode::{self, Decoded, Repairs};
use crate::error::{Error, Position, Result};
pub(crate) use crate::frame::detect::{Framing, detect};
use crate::frame::lines::{Frame, FrameError, Lines, RawRecord};
use crate::frame::v1::{Shape, Walker};
use crate::io::input::{Input, MmapChoice};
use crate::io::source::{self, Compression, GZIP_MAGIC, Window};
use crate::model::entity::Entity;
use crate::read::context::Context;
use crate::report::{Disposition, ErrorMode, ErrorPolicy, Report};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The detected file format.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Channel export v1: one JSON document (or a sequence of channel
    /// objects), and the synchronous user export object.
    V1,
    /// Channel export v2 or a user export: one entity per line.
    V2,
    /// Stream's import format: `{"type","data"}` lines with import-style
    /// references (no `cid`, user ids as strings).
    Import,
    /// The legacy import format: one JSON array of `{"type","item"}`.
    ImportLegacy,
    /// No records at all.
    Empty,
}

impl Format {
    /// `"v1"`, `"v2"`, `"import"`, `"import-legacy"` or `"empty"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Format::V1 => "v1",
            Format::V2 => "v2",
            Format::Import => "import",
            Format::ImportLegacy => "import-legacy",
            Format::Empty => "empty",
        }
    }
}

/// Settings for reading; reusable for many inputs.
///
/// ```
/// use stream_chat_export::{Kind, ReaderBuilder};
/// let data = b"{\"type\":\"channel\",\"item\":{\"cid\":\"messaging:a\",\"type\":\"messaging\",\"id\":\"a\"}}\n\
///              {\"type\":\"member\",\"item\":{\"user_id\":\"u1\",\"user\":{\"id\":\"u1\"}}}\n";
/// let mut members = 0;
/// for entity in ReaderBuilder::new().strict(true).from_slice(data) {
///     let entity = entity?;
///     if entity.kind() == Kind::Member {
///         assert_eq!(entity.cid(), Some("messaging:a")); // inherited
///         members += 1;
///     }
/// }
/// assert_eq!(members, 1);
/// # Ok::<(), stream_chat_export::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ReaderBuilder {
    pub(crate) strict: bool,
    pub(crate) max_line: usize,
    pub(crate) max_entity: usize,
    pub(crate) max_depth: usize,
    pub(crate) block: usize,
    pub(crate) mmap: MmapChoice,
    pub(crate) lossy_utf8: bool,
    pub(crate) lone_surrogates: bool,
    pub(crate) message_memory: usize,
    pub(crate) max_errors_kept: usize,
    pub(crate) yield_errors: bool,
}

impl Default for ReaderBuilder {
    fn default() -> Self {
        ReaderBuilder::new()
    }
}

impl ReaderBuilder {
    /// Default settings: lenient, 64 MiB lines and entities, no mmap.
    pub fn new() -> ReaderBuilder {
        ReaderBuilder {
            strict: false,
            max_line: 64 << 20,
            max_entity: 64 << 20,
            max_depth: 64,
            block: 256 << 10,
            mmap: MmapChoice::never(),
            lossy_utf8: false,
            lone_surrogates: true,
            message_memory: 50_000,
            max_errors_kept: 20,
            yield_errors: false,
        }
    }

    /// Strict: the first bad record is returned as an error and reading
    /// stops. Lenient (default): bad records are skipped, counted in the
    /// [`Report`], and the first few kept with their positions.
    pub fn strict(&mut self, yes: bool) -> &mut Self {
        self.strict = yes;
        self
    }

    /// Longest line accepted in line files (default 64 MiB).
    pub fn max_line(&mut self, bytes: usize) -> &mut Self {
        self.max_line = bytes.max(1);
        self
    }

    /// Largest single entity accepted in a v1 document (default 64 MiB).
    pub fn max_entity(&mut self, bytes: usize) -> &mut Self {
        self.max_entity = bytes.max(1);
        self
    }

    /// Deepest nesting accepted (default 64): of containers the v1 walker
    /// follows, and of objects and arrays inside one entity (at most 127,
    /// serde_json's own limit, so every entity can become a `Value`). A
    /// deeper entity is a [`ErrorKind::TooDeep`](crate::ErrorKind::TooDeep) error.
    pub fn max_depth(&mut self, depth: usize) -> &mut Self {
        self.max_depth = depth;
        self
    }

    /// Read block size for streams (default 256 KiB).
    pub fn buffer_size(&mut self, bytes: usize) -> &mut Self {
        self.block = bytes.max(64);
        self
    }

    /// Whether [`ReaderBuilder::from_path`] may memory-map plain files
    /// (default [`MmapChoice::never`]: read in blocks). Mapping is an
    /// `unsafe` promise that the file does not change while read; see
    /// [`MmapChoice`].
    pub fn mmap(&mut self, choice: MmapChoice) -> &mut Self {
        self.mmap = choice;
        self
    }

    /// Replace invalid UTF-8 with U+FFFD instead of rejecting the record
    /// (default off: invalid UTF-8 is an error).
    pub fn lossy_utf8(&mut self, yes: bool) -> &mut Self {
        self.lossy_utf8 = yes;
        self
    }

    /// Replace escaped lone surrogates (`"\ud83d"` alone) with U+FFFD
    /// instead of rejecting the record (default on).
    pub fn lossy_surrogates(&mut self, yes: bool) -> &mut Self {
        self.lone_surrogates = yes;
        self
    }

    /// How many recent message ids to remember for resolving the channel
    /// of a reaction that has none (default 50,000).
    pub fn message_memory(&mut self, messages: usize) -> &mut Self {
        self.message_memory = messages;
        self
    }

    /// How many errors the [`Report`] keeps in full (default 20).
    pub fn max_errors_kept(&mut self, n: usize) -> &mut Self {
        self.max_errors_kept = n;
        self
    }

    /// In lenient mode, also hand out each data error (then go on) instead
    /// of only counting it (default off). Strict mode stops at the first.
    pub fn yield_errors(&mut self, yes: bool) -> &mut Self {
        self.yield_errors = yes;
        self
    }

    /// The error policy: strict, yield, or lenient (the default).
    pub fn errors(&mut self, mode: ErrorMode) -> &mut Self {
        self.strict = mode == ErrorMode::Strict;
        self.yield_errors = mode == ErrorMode::Yield;
        self
    }

    /// The error policy these settings give, shared by every executor.
    pub(crate) fn error_policy(&self) -> ErrorPolicy {
        let mode = if self.strict {
            ErrorMode::Strict
        } else if self.yield_errors {
            ErrorMode::Yield
        } else {
            ErrorMode::Lenient
        };
        ErrorPolicy {
            mode,
            max_kept: self.max_errors_kept,
        }
    }

    /// The decoder's repairs these settings ask for.
    pub(crate) fn repairs(&self) -> Repairs {
        Repairs {
            lossy_utf8: self.lossy_utf8,
            lone_surrogates: self.lone_surrogates,
            max_depth: self.max_depth,
            extras: &[],
        }
    }

    /// Reads a file, opened by the one input policy ([`Input::open`]):
    /// mapped only when [`ReaderBuilder::mmap`] allows it, gzip detected
    /// by content. `-` reads stdin.
    pub fn from_path(&self, path: impl AsRef<Path>) -> Result<Reader<'static>> {
        let path = path.as_ref();
        let (window, compression) = match Input::open(path, self.mmap)? {
            Input::Mapped(map) => (Window::mapped(map.into_map()), Compression::None),
            Input::Stream(stream) => {
                source::open_owned_stream(stream, self.block).map_err(|e| e.with_path(path))?
            }
        };
        let mut reader = Reader::new(self, window, compression).map_err(|e| e.with_path(path))?;
        reader.state.path = Some(path.to_path_buf());
        Ok(reader)
    }

    /// Reads any byte stream (stdin, a socket, a decoder); gzip detected by
    /// content.
    pub fn from_reader<'a, R: Read + 'a>(&self, reader: R) -> Result<Reader<'a>> {
        let (window, compression) = source::open_stream(reader, self.block)?;
        Reader::new(self, window, compression)
    }

    /// Reads from a window already opened (and perhaps read into, by
    /// format detection, which is repeated here without reading again).
    pub(crate) fn open_window<'a>(
        &self,
        window: Window<'a>,
        compression: Compression,
    ) -> Result<Reader<'a>> {
        Reader::new(self, window, compression)
    }

    /// Reads bytes in memory. Entities borrow from `bytes`. Gzip data is
    /// decompressed as a stream; its entities are then owned copies.
    pub fn from_slice<'a>(&self, bytes: &'a [u8]) -> SliceReader<'a> {
        if bytes.starts_with(&GZIP_MAGIC) {
            let reader = self.from_reader(bytes).map(Box::new);
            return SliceReader(SliceInner::Stream(reader.map_err(Some)));
        }
        let reader = Reader::new(self, Window::slice(bytes), Compression::None);
        match reader {
            Ok(r) => SliceReader(SliceInner::Borrowed(Box::new(r))),
            Err(e) => SliceReader(SliceInner::Stream(Err(Some(e)))),
        }
    }
}

enum Framer {
    Lines(Lines),
    Document(Walker),
}

/// A v1 channel object found on a line (or inside a record): walked from
/// its own buffer.
struct Expansion<'a> {
    window: Window<'a>,
    walker: Walker,
    /// Absolute offset of the expanded record.
    offset: u64,
}

/// Reads entities from any source: files (mapped or read in blocks), gzip,
/// stdin, any `Read`. Entities borrow the reader's buffer until the next
/// call ([`Reader::next_entity`]); for bytes already in memory,
/// [`SliceReader`] is an `Iterator` whose entities borrow the input.
///
/// ```
/// use stream_chat_export::ReaderBuilder;
/// let gz = {
///     use std::io::Write;
///     let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
///     enc.write_all(b"{\"type\":\"user\",\"item\":{\"id\":\"u1\",\"name\":\"Ann\"}}\n").unwrap();
///     enc.finish().unwrap()
/// };
/// let mut reader = ReaderBuilder::new().from_reader(&gz[..])?;
/// let mut ids = Vec::new();
/// while let Some(entity) = reader.next_entity() {
///     ids.push(entity?.id().unwrap().to_string());
/// }
/// assert_eq!(ids, ["u1"]);
/// assert_eq!(reader.report().entities, 1);
/// # Ok::<(), stream_chat_export::Error>(())
/// ```
pub struct Reader<'a> {
    window: Window<'a>,
    framer: Framer,
    expansion: Option<Expansion<'a>>,
    state: State,
    compression: Compression,
    empty: bool,
}

/// Everything the entity loop mutates besides the input buffers, kept
/// apart so an entity can borrow the buffers while the state changes.
struct State {
    context: Context,
    report: Report,
    repairs: Repairs,
    policy: ErrorPolicy,
    max_entity: usize,
    max_depth: usize,
    path: Option<PathBuf>,
    done: bool,
    /// A v1 channel object found as a record, to be walked next.
    pending_unit: Option<(Vec<u8>, u64)>,
}

/// What one framing step produced.
enum Step {
    Record { rec: RawRecord, inner: bool },
    Error(Error),
    Done,
}

impl State {
    /// Turns one decoded record into the loop's answer: `Some(Ok(Some(e)))`
    /// an entity, `Some(Ok(None))` nothing to yield, `Some(Err)` an error
    /// to hand out.
    fn finish<'s>(
        &mut self,
        decoded: std::result::Result<Decoded<'s>, decode::DecodeError>,
        bytes: &[u8],
        offset: u64,
        position: impl FnOnce(usize) -> Position,
    ) -> Option<Result<Option<Entity<'s>>>> {
        match decoded {
            Ok(Decoded::Entity(mut e)) => {
                self.report.count_entity(&e);
                self.context.resolve(&mut e, &mut self.report);
                Some(Ok(Some(e)))
            }
            Ok(Decoded::Blank) => {
                self.report.blank_lines += 1;
                Some(Ok(None))
            }
            Ok(Decoded::Unit) => {
                self.pending_unit = Some((bytes.to_vec(), offset));
                Some(Ok(None))
            }
            Err(de) => {
                let position = position(de.at);
                Some(
                    self.fail(Error::at(de.kind, position))
                        .map_or(Ok(None), Err),
                )
            }
        }
    }

    /// Counts an error under the error policy; hands it out when the
    /// policy says so (strict mode and I/O errors also stop the reader).
    pub(crate) fn fail(&mut self, mut e: Error) -> Option<Error> {
        if let Some(p) = &self.path {
            e = e.with_path(p);
        }
        match self.report.count_error(e, &self.policy) {
            Disposition::Counted => None,
            Disposition::Yield(e) => Some(e),
            Disposition::Stop(e) => {
                self.done = true;
                Some(e)
            }
        }
    }
}

impl<'a> Reader<'a> {
    fn new(
        b: &ReaderBuilder,
        mut window: Window<'a>,
        compression: Compression,
    ) -> Result<Reader<'a>> {
        let (start, framing) = detect(&mut window)?;
        let framer = match framing {
            Framing::Document => Framer::Document(
                Walker::new(start, b.max_entity, b.max_depth).lossy_utf8(b.lossy_utf8),
            ),
            Framing::Lines | Framing::Empty => Framer::Lines(Lines::new(start, b.max_line)),
        };
        Ok(Reader {
            window,
            framer,
            expansion: None,
            state: State {
                context: Context::new(b.message_memory),
                report: Report::default(),
                repairs: b.repairs(),
                policy: b.error_policy(),
                max_entity: b.max_entity,
                max_depth: b.max_depth,
                path: None,
                done: false,
                pending_unit: None,
            },
            compression,
            empty: framing == Framing::Empty,
        })
    }

    /// Sets the name used in error messages (`-` for stdin, a URL, ...).
    pub fn set_path(&mut self, path: impl AsRef<Path>) {
        self.state.path = Some(path.as_ref().to_path_buf());
    }

    /// The input's compression.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The format, as far as the records read so far tell (final once the
    /// input is exhausted).
    pub fn format(&self) -> Format {
        let r = &self.state.report;
        if self.empty || (r.records == 0 && r.blank_lines == 0) {
            return Format::Empty;
        }
        let e = r.envelopes;
        match &self.framer {
            Framer::Document(w) if e.nested == 0 && e.item > 0 && w.shape() == Shape::Array => {
                Format::ImportLegacy
            }
            Framer::Document(_) => Format::V1,
            Framer::Lines(_) => lines_format(r),
        }
    }

    /// Counts and first errors so far.
    pub fn report(&self) -> &Report {
        &self.state.report
    }

    pub(crate) fn report_mut(&mut self) -> &mut Report {
        &mut self.state.report
    }

    /// Bytes of (decompressed) input consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.window.end()
    }

    /// The next entity, or the next error (I/O errors always; data errors
    /// only in strict mode). Entities borrow the reader's buffer.
    pub fn next_entity(&mut self) -> Option<Result<Entity<'_>>> {
        loop {
            // SAFETY: no value derived from `this` survives a `continue`:
            // the only arm that loops, `Ok(None)`, holds no borrow, and
            // `step` leaves only owned state for the next iteration (a unit
            // to expand is copied into `pending_unit`; errors are
            // `'static`). So each iteration's reborrow of `self` is unique
            // while it lives. The cast only works around the current borrow
            // checker (NLL "problem case #3", which keeps the borrow that one
            // arm returns alive across iterations). Anything that makes
            // `Step`, `State::finish` or the `Ok(None)` arm carry a borrow of
            // the buffers breaks this argument.
            let this: &mut Reader<'a> = unsafe { &mut *(self as *mut Reader<'a>) };
            match this.step() {
                Some(Ok(Some(entity))) => return Some(Ok(entity)),
                Some(Ok(None)) => continue,
                Some(Err(e)) => return Some(Err(e)),
                None => return None,
            }
        }
    }

    /// One record: `Some(Ok(None))` when it yielded nothing (blank, skipped
    /// error, expanded unit).
    fn step(&mut self) -> Option<Result<Option<Entity<'_>>>> {
        match self.advance() {
            Step::Done => None,
            Step::Error(e) => Some(self.state.fail(e).map_or(Ok(None), Err)),
            Step::Record { rec, inner } => {
                let outer = &self.window;
                let (window, offset, inner) = match (&self.expansion, inner) {
                    (Some(x), true) => (&x.window, x.offset, Some(&x.window)),
                    _ => (outer, 0, None),
                };
                let bytes = window.range(rec.start, rec.end);
                let decoded =
                    decode::decode_record(bytes, offset + rec.start, rec.hint, self.state.repairs);
                self.state.finish(decoded, bytes, offset + rec.start, |at| {
                    position_of(outer, inner, offset, rec.start + at as u64)
                })
            }
        }
    }

    /// Frames the next record from the expansion or the input.
    fn advance(&mut self) -> Step {
        loop {
            if self.state.done {
                return Step::Done;
            }
            if let Some((bytes, offset)) = self.state.pending_unit.take() {
                self.state.context.reset();
                self.expansion = Some(Expansion {
                    window: Window::owned(bytes),
                    walker: Walker::new(0, self.state.max_entity, self.state.max_depth)
                        .lossy_utf8(self.state.repairs.lossy_utf8),
                    offset,
                });
            }
            if let Some(x) = &mut self.expansion {
                match x.walker.next(&mut x.window) {
                    Some(Ok(Frame::Record(rec))) => return Step::Record { rec, inner: true },
                    Some(Ok(Frame::UnitStart)) => {
                        self.state.context.reset();
                        continue;
                    }
                    Some(Err(FrameError { error, fatal })) => {
                        let offset = x.offset;
                        if fatal {
                            self.expansion = None;
                        }
                        return Step::Error(shift_error(error, offset, &self.window));
                    }
                    None => {
                        self.expansion = None;
                        continue;
                    }
                }
            }
            let framed = match &mut self.framer {
                Framer::Lines(lines) => lines.next(&mut self.window),
                Framer::Document(walker) => walker.next(&mut self.window),
            };
            return match framed {
                None => {
                    self.state.done = true;
                    Step::Done
                }
                Some(Ok(Frame::Record(rec))) => Step::Record { rec, inner: false },
                Some(Ok(Frame::UnitStart)) => {
                    self.state.context.reset();
                    continue;
                }
                Some(Err(FrameError { error, fatal })) => {
                    if fatal {
                        // The caller reports this error; then stop: nothing
                        // after a broken stream or structure can be framed
                        // safely.
                        self.state.pending_unit = None;
                        self.state.done = true;
                    }
                    Step::Error(error)
                }
            };
        }
    }

    /// Calls `f` on every entity; stops at the first error `f` or the
    /// reader returns.
    pub fn for_each<F>(&mut self, mut f: F) -> Result<()>
    where
        F: FnMut(Entity<'_>) -> Result<()>,
    {
        while let Some(entity) = self.next_entity() {
            f(entity?)?;
        }
        Ok(())
    }

    /// An iterator of owned entities (one copy each), for callers who want
    /// a plain `Iterator` over a stream.
    pub fn into_owned_iter(self) -> OwnedEntities<'a> {
        OwnedEntities(self)
    }
}

/// An error found inside an expanded record, moved to input coordinates.
fn shift_error(error: Error, offset: u64, outer: &Window<'_>) -> Error {
    let Some(p) = error.position() else {
        return error;
    };
    let base_line = outer.line_of(offset.max(outer.base()));
    Error::at(
        error.into_kind(),
        Position {
            byte: offset + p.byte,
            line: base_line + p.line - 1,
        },
    )
}

/// The position of offset `at` of the outer window, or of an expansion
/// window (given with its absolute `offset` in the input).
fn position_of(outer: &Window<'_>, inner: Option<&Window<'_>>, offset: u64, at: u64) -> Position {
    match inner {
        None => Position {
            byte: at,
            line: outer.line_of(at),
        },
        Some(inner) => Position {
            byte: offset + at,
            line: outer.line_of(offset.max(outer.base())) + inner.line_of(at) - 1,
        },
    }
}

/// The format of a line file, from what its records looked like: `import`
/// when `data` envelopes dominate and none carries a `cid` (import files
/// reference channels by type and id), `v1` when every record was a v1
/// channel object, `v2` otherwise.
pub(crate) fn lines_format(r: &Report) -> Format {
    let e = r.envelopes;
    if r.records == 0 && r.blank_lines == 0 {
        Format::Empty
    } else if e.nested > 0 && e.item + e.data + e.bare == 0 {
        Format::V1
    } else if e.data > e.item + e.bare && r.data_with_cid == 0 {
        Format::Import
    } else {
        Format::V2
    }
}

/// An `Iterator` of owned entities over any [`Reader`].
pub struct OwnedEntities<'a>(Reader<'a>);

impl OwnedEntities<'_> {
    /// The reader's report so far.
    pub fn report(&self) -> &Report {
        self.0.report()
    }

    /// Takes the report out, leaving an empty one.
    pub fn report_take(&mut self) -> Report {
        std::mem::take(self.0.report_mut())
    }
}

impl Iterator for OwnedEntities<'_> {
    type Item = Result<Entity<'static>>;
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next_entity().map(|r| r.map(Entity::into_owned))
    }
}

enum SliceInner<'a> {
    Borrowed(Box<Reader<'a>>),
    /// gzip bytes: decompressed as a stream; entities are copied out.
    /// `Err` holds an error to hand out once.
    Stream(std::result::Result<Box<Reader<'a>>, Option<Error>>),
}

/// A borrowing `Iterator` of entities over bytes in memory.
pub struct SliceReader<'a>(SliceInner<'a>);

impl<'a> SliceReader<'a> {
    /// Counts and first errors so far.
    pub fn report(&self) -> Option<&Report> {
        match &self.0 {
            SliceInner::Borrowed(r) | SliceInner::Stream(Ok(r)) => Some(r.report()),
            SliceInner::Stream(Err(_)) => None,
        }
    }

    pub(crate) fn reader_mut(&mut self) -> Option<&mut Reader<'a>> {
        match &mut self.0 {
            SliceInner::Borrowed(r) | SliceInner::Stream(Ok(r)) => Some(r),
            SliceInner::Stream(Err(_)) => None,
        }
    }

    /// Takes the report out (leaving an empty one), e.g. once iteration
    /// is over.
    pub fn take_report(&mut self) -> Report {
        self.reader_mut()
            .map(|r| std::mem::take(r.report_mut()))
            .unwrap_or_default()
    }

    /// The underlying reader (format, compression, report).
    pub fn reader(&self) -> Option<&Reader<'a>> {
        match &self.0 {
            SliceInner::Borrowed(r) | SliceInner::Stream(Ok(r)) => Some(r),
            SliceInner::Stream(Err(_)) => None,
        }
    }
}

impl<'a> Iterator for SliceReader<'a> {
    type Item = Result<Entity<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let reader = match &mut self.0 {
            SliceInner::Stream(Ok(r)) => {
                return r.next_entity().map(|r| r.map(Entity::into_owned));
            }
            SliceInner::Stream(Err(e)) => return e.take().map(Err),
            SliceInner::Borrowed(r) => r,
        };
        loop {
            let rec_inner = match reader.advance() {
                Step::Done => return None,
                Step::Error(e) => match reader.state.fail(e) {
                    Some(e) => return Some(Err(e)),
                    None => continue,
                },
                Step::Record { rec, inner } => (rec, inner),
            };
            let (rec, inner) = rec_inner;
            // The input, and any expansion of a record of it, are slices of
            // the caller's bytes: entities borrow `'a`, not the reader.
            let input: &'a [u8] = reader.window.borrowed().unwrap_or_default();
            let outer = &reader.window;
            let (offset, inner) = match (&reader.expansion, inner) {
                (Some(x), true) => (x.offset, Some(&x.window)),
                _ => (0, None),
            };
            let bytes = &input[(offset + rec.start) as usize..(offset + rec.end) as usize];
            let decoded =
                decode::decode_record(bytes, offset + rec.start, rec.hint, reader.state.repairs);
            let answer = reader
                .state
                .finish(decoded, bytes, offset + rec.start, |at| {
                    position_of(outer, inner, offset, rec.start + at as u64)
                });
            match answer {
                Some(Ok(None)) => continue,
                Some(Ok(Some(e))) => return Some(Ok(e)),
                Some(Err(e)) => return Some(Err(e)),
                None => return None,
            }
        }
    }
}
