//! Where bytes come from: a slice, a memory-mapped file, or a stream (a
//! file read in blocks, stdin, a gzip decoder) behind one rolling window.
//!
//! Framers address bytes by absolute offset. A stream keeps only the bytes
//! from the framer's `keep_from` offset on; older bytes are dropped when the
//! window refills, so memory is bounded by the largest record, not the input.

use crate::error::{Error, ErrorKind};
use flate2::read::MultiGzDecoder;
use memmap2::Mmap;
use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

/// The gzip magic bytes.
pub(crate) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Compression of an input, detected from its first bytes.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Plain bytes.
    None,
    /// gzip, possibly several concatenated members.
    Gzip,
}

impl Compression {
    /// `"gzip"` or `"none"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
        }
    }
}

/// A file mapped into memory, for borrowing iteration with
/// [`ReaderBuilder::from_slice`](crate::ReaderBuilder::from_slice) or a
/// parallel [`Run::slice`](crate::Run::slice).
///
/// Mapping is `unsafe`: if another process truncates the file while it is
/// mapped, the next access to a lost page kills the process with
/// `SIGBUS`; if it rewrites the file in place, bytes change under safe
/// code. See [`MmapChoice`](crate::MmapChoice); read files that may change
/// with [`ReaderBuilder::from_path`](crate::ReaderBuilder::from_path) and
/// the default choice instead.
pub struct MappedFile {
    map: Mmap,
}

impl MappedFile {
    /// Maps the file at `path`.
    ///
    /// # Safety
    /// The file must not be truncated or modified while it is mapped (see
    /// the type's documentation).
    pub unsafe fn open(path: impl AsRef<Path>) -> crate::Result<MappedFile> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| Error::from(e).with_path(path))?;
        // SAFETY: the caller upholds this function's contract.
        unsafe { MappedFile::from_file(&file) }.map_err(|e| Error::from(e).with_path(path))
    }

    /// Maps an open file.
    ///
    /// # Safety
    /// As [`MappedFile::open`].
    pub(crate) unsafe fn from_file(file: &File) -> io::Result<MappedFile> {
        // SAFETY: the caller upholds `map_file`'s contract.
        let map = unsafe { map_file(file)? };
        Ok(MappedFile { map })
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    pub(crate) fn into_map(self) -> Mmap {
        self.map
    }
}

/// Maps a file read-only, telling the kernel it will be read front to back
/// (larger read-ahead, fewer page faults).
///
/// # Safety
/// As [`Mmap::map`]: the file must not be truncated or modified while
/// mapped.
unsafe fn map_file(file: &File) -> io::Result<Mmap> {
    // SAFETY: the caller upholds `Mmap::map`'s contract.
    let map = unsafe { Mmap::map(file)? };
    #[cfg(unix)]
    {
        // Advice only: failure changes nothing but speed.
        let _ = map.advise(memmap2::Advice::Sequential);
        let _ = map.advise(memmap2::Advice::WillNeed);
    }
    Ok(map)
}

enum Src<'a> {
    Slice(&'a [u8]),
    Mapped(Mmap),
    /// An owned, complete buffer (an expanded v1 unit taken from a stream).
    Owned(Vec<u8>),
    Stream {
        reader: Box<dyn Read + 'a>,
        buf: Vec<u8>,
        gzip: bool,
    },
}

/// Line numbers by absolute byte offset, counted incrementally.
///
/// The cursor remembers the (byte, line) of its last answer and counts
/// newlines (memchr) only between that point and the next query, so a run
/// of increasing queries costs the length of the input in total, however
/// many there are. A query behind the cursor is still exact: it counts
/// back from the cursor, or forward from the origin (the first byte held,
/// whose line is known), whichever is shorter, so its cost is at most the
/// distance from the origin (for a slice or a map: from the start of the
/// input; for a stream: the bytes held). Answers are the same whatever the
/// order of queries.
///
/// The caller passes the bytes it holds (`held`, starting at absolute
/// offset `held_from`, which must not be after the origin: the bytes from
/// the origin on must be there). A query past the end of `held` is
/// answered for the end; one before the origin, for the origin.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LineCursor {
    /// The first byte that may be asked about, and its line.
    origin: (u64, u64),
    /// The last answer: (byte, line).
    cursor: (u64, u64),
    /// Bytes searched for newlines so far (tests check the total).
    #[cfg(test)]
    scanned: u64,
}

impl LineCursor {
    /// A cursor whose origin is absolute offset `byte`, on line `line`.
    pub fn new(byte: u64, line: u64) -> LineCursor {
        LineCursor {
            origin: (byte, line),
            cursor: (byte, line),
            #[cfg(test)]
            scanned: 0,
        }
    }

    /// The origin: the first byte that may be asked about, and its line.
    pub fn origin(&self) -> (u64, u64) {
        self.origin
    }

    /// The 1-based line of absolute offset `at`.
    pub fn line_of(&mut self, held: &[u8], held_from: u64, at: u64) -> u64 {
        debug_assert!(
            held_from <= self.origin.0,
            "bytes from the origin on are held"
        );
        let end = held_from + held.len() as u64;
        let at = at.clamp(self.origin.0.min(end), end);
        let (byte, line) = self.cursor;
        let rel = |x: u64| (x - held_from) as usize;
        let line = if at >= byte {
            line + self.count(&held[rel(byte)..rel(at)])
        } else if byte - at <= at.saturating_sub(self.origin.0) {
            line - self.count(&held[rel(at)..rel(byte)])
        } else {
            self.origin.1 + self.count(&held[rel(self.origin.0)..rel(at)])
        };
        self.cursor = (at, line);
        line
    }

    /// Moves the origin forward to `to`, before the bytes before it are
    /// dropped. The cursor stays where it is when it is past `to`. Costs
    /// at most the bytes between the old origin and `to` (each dropped
    /// byte is counted once).
    pub fn advance_origin(&mut self, held: &[u8], held_from: u64, to: u64) {
        if to <= self.origin.0 {
            return;
        }
        let cursor = self.cursor;
        let line = self.line_of(held, held_from, to);
        self.origin = (self.cursor.0, line);
        if cursor.0 > to {
            self.cursor = cursor;
        }
    }

    fn count(&mut self, bytes: &[u8]) -> u64 {
        #[cfg(test)]
        {
            self.scanned += bytes.len() as u64;
        }
        memchr::memchr_iter(b'\n', bytes).count() as u64
    }

    /// Bytes searched for newlines so far.
    #[cfg(test)]
    pub fn scanned(&self) -> u64 {
        self.scanned
    }
}

/// A rolling window over the input.
pub(crate) struct Window<'a> {
    src: Src<'a>,
    /// Absolute offset of the window's first byte.
    base: u64,
    eof: bool,
    block: usize,
    /// Line numbers: the origin follows `base` as a stream drops bytes.
    /// In a `Cell` so that building an error (which reads the window)
    /// needs no `&mut`.
    lines: Cell<LineCursor>,
    /// A read error put back to be reported by the next `fill`.
    deferred: Option<Error>,
}

impl<'a> Window<'a> {
    pub fn slice(bytes: &'a [u8]) -> Window<'a> {
        Window::whole(Src::Slice(bytes))
    }

    /// A window over all of `bytes` whose line numbers go on from
    /// `lines` (a cursor over the same bytes, from [`Window::line_cursor`]):
    /// a walk can move between threads as a cursor, a window cannot.
    pub fn slice_with_lines(bytes: &'a [u8], lines: LineCursor) -> Window<'a> {
        let window = Window::slice(bytes);
        window.lines.set(lines);
        window
    }

    /// Where the window's line numbering has got to.
    pub fn line_cursor(&self) -> LineCursor {
        self.lines.get()
    }

    pub fn owned(bytes: Vec<u8>) -> Window<'a> {
        Window::whole(Src::Owned(bytes))
    }

    fn whole(src: Src<'a>) -> Window<'a> {
        Window {
            src,
            base: 0,
            eof: true,
            block: 0,
            lines: Cell::new(LineCursor::new(0, 1)),
            deferred: None,
        }
    }

    pub fn mapped(map: Mmap) -> Window<'static> {
        Window::whole(Src::Mapped(map))
    }

    pub fn stream(reader: Box<dyn Read + 'a>, gzip: bool, block: usize) -> Window<'a> {
        Window {
            src: Src::Stream {
                reader,
                buf: Vec::new(),
                gzip,
            },
            base: 0,
            eof: false,
            block: block.max(64),
            lines: Cell::new(LineCursor::new(0, 1)),
            deferred: None,
        }
    }

    /// The bytes currently held, starting at [`Window::base`].
    #[inline]
    pub fn bytes(&self) -> &[u8] {
        match &self.src {
            Src::Slice(s) => s,
            Src::Mapped(m) => m,
            Src::Owned(v) => v,
            Src::Stream { buf, .. } => buf,
        }
    }

    /// The whole input, when it is in memory (slice or map).
    pub fn borrowed(&self) -> Option<&'a [u8]> {
        match self.src {
            Src::Slice(s) => Some(s),
            _ => None,
        }
    }

    #[inline]
    pub fn base(&self) -> u64 {
        self.base
    }

    /// Absolute offset just past the last byte held.
    #[inline]
    pub fn end(&self) -> u64 {
        self.base + self.bytes().len() as u64
    }

    /// True when no more input will come: the end was reached and no read
    /// error is held back (a deferred error still has to be handed out by
    /// the next [`Window::fill`], so a framer must call it once more).
    #[inline]
    pub fn at_eof(&self) -> bool {
        self.eof && self.deferred.is_none()
    }

    /// Puts a read error back: the next [`Window::fill`] returns it (format
    /// detection reads ahead, but the error belongs to the record it cuts).
    pub fn defer(&mut self, error: Error) {
        self.deferred = Some(error);
    }

    /// Takes a stream window apart after format detection (which never
    /// drops bytes): every byte read so far, from offset 0, and the read
    /// error held back, if any.
    pub fn into_parts(self) -> (Vec<u8>, Option<Error>) {
        let bytes = match self.src {
            Src::Stream { buf, .. } | Src::Owned(buf) => buf,
            Src::Slice(s) => s.to_vec(),
            Src::Mapped(m) => m.to_vec(),
        };
        (bytes, self.deferred)
    }

    /// The byte at absolute offset `at`, if held.
    #[inline]
    pub fn byte(&self, at: u64) -> Option<u8> {
        at.checked_sub(self.base)
            .and_then(|i| self.bytes().get(i as usize).copied())
    }

    /// Asks the CPU to bring the cache line holding absolute offset `at`
    /// closer, if it is held; a hint with no effect on results.
    #[inline]
    pub fn prefetch(&self, at: u64) {
        let Some(i) = at.checked_sub(self.base) else {
            return;
        };
        let Some(byte) = self.bytes().get(i as usize) else {
            return;
        };
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            // SAFETY: SSE is part of x86_64; a prefetch reads nothing the
            // program sees, and the address is inside the held bytes.
            #[allow(unused_unsafe)]
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(byte).cast::<i8>())
            };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = byte;
    }

    /// Bytes `[start, end)` by absolute offset. Both must be held.
    #[inline]
    pub fn range(&self, start: u64, end: u64) -> &[u8] {
        &self.bytes()[(start - self.base) as usize..(end - self.base) as usize]
    }

    /// 1-based line number of absolute offset `at` (which must be held or
    /// just past the end).
    ///
    /// Incremental (see [`LineCursor`]): increasing queries cost the bytes
    /// between them, so numbering every error of an input is linear in it.
    pub fn line_of(&self, at: u64) -> u64 {
        let mut lines = self.lines.get();
        let line = lines.line_of(self.bytes(), self.base, at);
        self.lines.set(lines);
        line
    }

    /// Reads more input, first dropping bytes before `keep_from`. Returns
    /// false at the end of input.
    pub fn fill(&mut self, keep_from: u64) -> crate::Result<bool> {
        if let Some(error) = self.deferred.take() {
            return Err(error);
        }
        if self.eof {
            return Ok(false);
        }
        let Src::Stream { reader, buf, gzip } = &mut self.src else {
            return Ok(false);
        };
        let drop = (keep_from.saturating_sub(self.base) as usize).min(buf.len());
        if drop > 0 {
            self.lines
                .get_mut()
                .advance_origin(buf, self.base, self.base + drop as u64);
            buf.drain(..drop);
            self.base += drop as u64;
        }
        let len = buf.len();
        // Grow geometrically so a long record costs amortized O(n).
        let want = self.block.max(len / 2);
        buf.resize(len + want, 0);
        let result = loop {
            match reader.read(&mut buf[len..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        match result {
            Ok(0) => {
                buf.truncate(len);
                self.eof = true;
                Ok(false)
            }
            Ok(n) => {
                buf.truncate(len + n);
                Ok(true)
            }
            Err(e) => {
                buf.truncate(len);
                self.eof = true;
                let gz = *gzip;
                let at = self.base + len as u64;
                let line = self.line_of(at);
                let kind = if gz {
                    ErrorKind::Gzip(e)
                } else {
                    ErrorKind::Io(e)
                };
                Err(Error::at(kind, crate::Position { byte: at, line }))
            }
        }
    }
}

/// Opens `reader`, sniffing gzip from its first bytes.
pub(crate) fn open_stream<'a, R: Read + 'a>(
    reader: R,
    block: usize,
) -> crate::Result<(Window<'a>, Compression)> {
    let (buffered, gzip) = sniff(reader, block)?;
    Ok(if gzip {
        let decoder = MultiGzDecoder::new(buffered);
        (
            Window::stream(Box::new(decoder), true, block),
            Compression::Gzip,
        )
    } else {
        (
            Window::stream(Box::new(buffered), false, block),
            Compression::None,
        )
    })
}

/// Like [`open_stream`], but for an owned stream: gzip is inflated on a
/// thread of its own, a few blocks ahead, so inflating and decoding
/// overlap on two cores. Memory stays bounded (four blocks in flight).
pub(crate) fn open_owned_stream<R: Read + Send + 'static>(
    reader: R,
    block: usize,
) -> crate::Result<(Window<'static>, Compression)> {
    let (buffered, gzip) = sniff(reader, block)?;
    Ok(if gzip {
        let decoder = Prefetch::spawn(MultiGzDecoder::new(buffered), block.max(64 << 10));
        (
            Window::stream(Box::new(decoder), true, block),
            Compression::Gzip,
        )
    } else {
        (
            Window::stream(Box::new(buffered), false, block),
            Compression::None,
        )
    })
}

/// Like [`open_stream`], but the result stays `Send`, for reading on a
/// thread of its own: the raw stream, or its gzip decoder.
pub(crate) fn open_send_stream<'a, R: Read + Send + 'a>(
    reader: R,
    block: usize,
) -> crate::Result<(Box<dyn Read + Send + 'a>, Compression)> {
    let (buffered, gzip) = sniff(reader, block)?;
    Ok(if gzip {
        (Box::new(MultiGzDecoder::new(buffered)), Compression::Gzip)
    } else {
        (Box::new(buffered), Compression::None)
    })
}

/// Buffers `reader` and tells whether it starts with the gzip magic.
///
/// The first two bytes are read one `read` at a time, as many calls as it
/// takes: a stream may hand out a single byte first (a pipe, a socket),
/// and one look at a buffer could then miss the magic.
fn sniff<R: Read>(mut reader: R, block: usize) -> crate::Result<(BufReader<Sniffed<R>>, bool)> {
    let mut head = [0u8; 2];
    let mut len = 0;
    let mut error = None;
    while len < head.len() {
        match reader.read(&mut head[len..]) {
            Ok(0) => break,
            Ok(n) => len += n.min(head.len() - len),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // Nothing read: the stream cannot be opened.
            Err(e) if len == 0 => return Err(e.into()),
            // Something read: the error belongs after those bytes, where
            // the reader reports it with its position.
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    let gzip = len == 2 && head == GZIP_MAGIC;
    let sniffed = Sniffed {
        head,
        len,
        at: 0,
        error,
        inner: reader,
    };
    let buffered = BufReader::with_capacity(block.clamp(8 * 1024, 1 << 20), sniffed);
    Ok((buffered, gzip))
}

/// A stream with its first bytes (and a read error met right after them)
/// put back.
pub(crate) struct Sniffed<R> {
    head: [u8; 2],
    len: usize,
    at: usize,
    error: Option<io::Error>,
    inner: R,
}

impl<R: Read> Read for Sniffed<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.at < self.len {
            let n = out.len().min(self.len - self.at);
            out[..n].copy_from_slice(&self.head[self.at..self.at + n]);
            self.at += n;
            return Ok(n);
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.inner.read(out)
    }
}

/// A reader that runs another reader on a thread, a bounded number of
/// blocks ahead. Dropping it stops the thread (its next send fails).
struct Prefetch {
    blocks: std::sync::mpsc::Receiver<io::Result<Vec<u8>>>,
    current: Vec<u8>,
    at: usize,
    done: bool,
}

impl Prefetch {
    fn spawn<R: Read + Send + 'static>(mut reader: R, block: usize) -> Prefetch {
        let (send, blocks) = std::sync::mpsc::sync_channel(4);
        std::thread::spawn(move || {
            loop {
                let mut buf = vec![0u8; block];
                let n = loop {
                    match reader.read(&mut buf) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        other => break other,
                    }
                };
                let last = !matches!(n, Ok(k) if k > 0);
                let message = n.map(|k| {
                    buf.truncate(k);
                    buf
                });
                if send.send(message).is_err() || last {
                    return;
                }
            }
        });
        Prefetch {
            blocks,
            current: Vec::new(),
            at: 0,
            done: false,
        }
    }
}

impl Read for Prefetch {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at == self.current.len() {
            if self.done {
                return Ok(0);
            }
            match self.blocks.recv() {
                Ok(Ok(block)) if block.is_empty() => self.done = true,
                Ok(Ok(block)) => {
                    self.current = block;
                    self.at = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => self.done = true,
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

    /// The line of every offset, by the definition (one plus the newlines
    /// before it), computed once.
    fn lines(bytes: &[u8]) -> Vec<u64> {
        let mut out = vec![1];
        for &b in bytes {
            out.push(out.last().unwrap() + u64::from(b == b'\n'));
        }
        out
    }

    /// Many increasing queries scan each byte once: the total is the
    /// input's length, not queries times length.
    #[test]
    fn increasing_queries_scan_the_input_once() {
        let input: Vec<u8> = (0..200_000)
            .flat_map(|i| format!("bad {i}\n").into_bytes())
            .collect();
        let want = lines(&input);
        let mut cursor = LineCursor::new(0, 1);
        let mut queries = 0;
        for at in (0..input.len()).step_by(7) {
            assert_eq!(cursor.line_of(&input, 0, at as u64), want[at], "at {at}");
            queries += 1;
        }
        assert!(queries > 100_000);
        assert!(
            cursor.scanned() <= input.len() as u64,
            "{}",
            cursor.scanned()
        );
    }

    /// Queries behind the cursor, in any order, are exact; a short step
    /// back costs the step, not a recount from the start.
    #[test]
    fn queries_behind_the_cursor_are_exact() {
        let input: Vec<u8> = (0..5_000)
            .flat_map(|i| format!("{}\n", "x".repeat(i % 13)).into_bytes())
            .collect();
        let want = lines(&input);
        let mut cursor = LineCursor::new(0, 1);
        let mut at = 7u64;
        for _ in 0..2_000 {
            at = (at * 7919 + 13) % (input.len() as u64 + 1);
            assert_eq!(cursor.line_of(&input, 0, at), want[at as usize], "at {at}");
        }
        let mut cursor = LineCursor::new(0, 1);
        let far = input.len() as u64 - 10;
        cursor.line_of(&input, 0, far);
        let before = cursor.scanned();
        assert_eq!(cursor.line_of(&input, 0, far - 5), want[far as usize - 5]);
        assert_eq!(cursor.scanned() - before, 5);
        // Past the end: the end's line.
        assert_eq!(cursor.line_of(&input, 0, u64::MAX), want[input.len()]);
    }

    /// A stream's window drops bytes as it refills: line numbers stay
    /// exact, and each byte is counted once (twice at most when a tail is
    /// kept and asked about again) over the whole read.
    #[test]
    fn stream_window_lines_survive_drops() {
        let input: Vec<u8> = (0..20_000)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let want = lines(&input);
        for tail in [0, 3] {
            let mut win = Window::stream(Box::new(&input[..]), false, 64);
            let mut checked = 0;
            loop {
                let (base, end) = (win.base(), win.end());
                // Behind the last query (the tail kept) only when there is one.
                let from = if tail == 0 { (base + end) / 2 } else { base };
                for at in [from, (base + end) / 2, end] {
                    assert_eq!(win.line_of(at), want[at as usize], "at {at}");
                    checked += 1;
                }
                if !win.fill(end.saturating_sub(tail)).unwrap() {
                    break;
                }
            }
            assert!(checked > 1_000);
            let scanned = win.line_cursor().scanned();
            let bound = if tail == 0 { 1 } else { 2 } * input.len() as u64;
            assert!(
                scanned <= bound,
                "tail {tail}: {scanned} of {}",
                input.len()
            );
        }
    }
}
