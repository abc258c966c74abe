//! `stream-chat-export`: a thin command-line layer over the library.

use clap::{Parser, Subcommand};
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use stream_chat_export::{
    Category, Entity, Error, ErrorKind, Filter, Inspection, MappedFile, Parallel, ReaderBuilder,
    Report, filter_reader, filter_slice, summarize, summarize_slice, write_v2_line,
};

/// Read, check and convert Stream Chat data exports (v1, v2, user exports,
/// import files; plain or gzip). `-` reads standard input.
#[derive(Parser)]
#[command(name = "stream-chat-export", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct ReadOptions {
    /// Longest line accepted in line files, in bytes.
    #[arg(long, default_value_t = 64 << 20, value_name = "BYTES")]
    max_line: usize,
    /// Largest single entity accepted in a v1 document, in bytes.
    #[arg(long, default_value_t = 64 << 20, value_name = "BYTES")]
    max_entity: usize,
    /// Deepest nesting of objects and arrays accepted (at most 127).
    #[arg(long, default_value_t = 64, value_name = "LEVELS")]
    max_depth: usize,
    /// Replace invalid UTF-8 with U+FFFD instead of rejecting the record.
    #[arg(long)]
    lossy_utf8: bool,
}

impl ReadOptions {
    fn builder(&self) -> ReaderBuilder {
        let mut b = ReaderBuilder::new();
        b.max_line(self.max_line)
            .max_entity(self.max_entity)
            .max_depth(self.max_depth)
            .lossy_utf8(self.lossy_utf8);
        b
    }
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once; boxing buys nothing
enum Command {
    /// Detect the format and count records per kind (lenient: bad records
    /// are skipped and counted).
    Inspect {
        /// One JSON object per file on stdout.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        options: ReadOptions,
        /// Export files (`-` for stdin).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Write the entities that match every given predicate as v2 lines
    /// `{"type":"<kind>","item":{...}}` (so it also converts v1 to v2).
    /// Repeated options of one kind are alternatives (any user, any
    /// channel, any kind).
    Filter {
        /// Entities belonging to this user id (author, reacting user,
        /// member, the user record, channel creator).
        #[arg(long = "user", value_name = "ID")]
        users: Vec<String>,
        /// Read user ids from FILE, one per line (surrounding whitespace
        /// and blank lines ignored): for requests naming many users.
        #[arg(long = "users-file", value_name = "FILE")]
        users_files: Vec<PathBuf>,
        /// Entities of this channel cid (`type:id`); members and reactions
        /// resolve their channel as in the reader.
        #[arg(long = "channel", value_name = "CID")]
        channels: Vec<String>,
        /// Read channel cids from FILE, one per line, as --users-file.
        #[arg(long = "channels-file", value_name = "FILE")]
        channels_files: Vec<PathBuf>,
        /// Only created_at >= T (RFC3339); entities without created_at fail
        /// any time predicate.
        #[arg(long, value_name = "T")]
        since: Option<String>,
        /// Only created_at < T (RFC3339).
        #[arg(long, value_name = "T")]
        until: Option<String>,
        /// Only these kinds (message, member, reaction, channel, user, read,
        /// device, or another type name).
        #[arg(long = "kind", value_name = "K")]
        kinds: Vec<String>,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Write here instead of stdout; a name ending in .gz is compressed.
        #[arg(short = 'o', long = "output", value_name = "OUT")]
        output: Option<PathBuf>,
        /// Stop at the first bad record (exit 1) instead of skipping it.
        #[arg(long)]
        strict: bool,
        /// Decode every record even when a byte search could skip it (same
        /// output; also validates every record).
        #[arg(long)]
        no_prefilter: bool,
        #[command(flatten)]
        options: ReadOptions,
        /// Export files (`-` for stdin).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Check files strictly: print every problem as FILE:LINE:BYTE: message.
    /// Exit 0 when clean, 1 when problems were found, 2 on I/O errors.
    Validate {
        #[command(flatten)]
        options: ReadOptions,
        /// Export files (`-` for stdin).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// The ids listed in `files`, one per line.
fn ids_from(files: &[PathBuf]) -> Result<Vec<String>, Error> {
    let mut ids = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).map_err(|e| {
            Error::new(ErrorKind::Usage(format!(
                "cannot read ids from {}: {e}",
                file.display()
            )))
        })?;
        ids.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from),
        );
    }
    Ok(ids)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect {
            json,
            options,
            files,
        } => inspect(&options, &files, json),
        Command::Validate { options, files } => validate(&options, &files),
        Command::Filter {
            users,
            users_files,
            channels,
            channels_files,
            since,
            until,
            kinds,
            threads,
            output,
            strict,
            no_prefilter,
            options,
            files,
        } => {
            let filter = (|| {
                let mut f = Filter::new();
                for u in users.into_iter().chain(ids_from(&users_files)?) {
                    f.user(u);
                }
                for c in channels.into_iter().chain(ids_from(&channels_files)?) {
                    f.channel(c);
                }
                kinds.iter().for_each(|k| {
                    f.kind(k);
                });
                if let Some(t) = &since {
                    f.since(t)?;
                }
                if let Some(t) = &until {
                    f.until(t)?;
                }
                Ok::<_, Error>(f)
            })();
            match filter {
                Ok(filter) => {
                    let mut parallel = Parallel::new();
                    if let Some(n) = threads {
                        parallel.threads(n);
                    }
                    parallel.prefilter(!no_prefilter);
                    let mut builder = options.builder();
                    builder.strict(strict);
                    run_filter(&builder, &parallel, &filter, output.as_deref(), &files)
                }
                Err(e) => {
                    eprintln!("stream-chat-export: {e}");
                    Ok(ExitCode::from(2))
                }
            }
        }
    };
    match result {
        Ok(code) => code,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stream-chat-export: {e}");
            ExitCode::from(2)
        }
    }
}

fn exit_code(category: Category) -> u8 {
    match category {
        Category::Data => 1,
        Category::Io | Category::Usage => 2,
    }
}

fn inspect(options: &ReadOptions, files: &[PathBuf], json: bool) -> io::Result<ExitCode> {
    let builder = options.builder();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut code = 0;
    // Files are inspected concurrently (each on its share of the cores)
    // and reported in command-line order.
    let threads = Parallel::new().thread_count();
    let workers = threads.min(files.len()).max(1);
    let mut per_file = Parallel::new();
    per_file.threads((threads / workers).max(1));
    let results: Vec<std::sync::Mutex<Option<stream_chat_export::Result<Inspection>>>> =
        files.iter().map(|_| std::sync::Mutex::new(None)).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(file) = files.get(i) else { return };
                    let inspection = inspect_file(&builder, &per_file, file);
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some(inspection);
                    }
                }
            });
        }
    });
    for (file, result) in files.iter().zip(results) {
        let inspection = result.into_inner().ok().flatten();
        match inspection {
            Some(Ok(i)) if json => writeln!(out, "{}", inspection_json(file, &i))?,
            Some(Ok(i)) => write_inspection(&mut out, file, &i)?,
            Some(Err(e)) => {
                eprintln!("stream-chat-export: {e}");
                code = code.max(exit_code(e.category()).max(2));
            }
            None => code = 2,
        }
    }
    Ok(ExitCode::from(code))
}

/// Plain files are mapped and their lines decoded on all cores; gzip,
/// stdin and v1 documents are read as streams.
fn inspect_file(
    builder: &ReaderBuilder,
    parallel: &Parallel,
    file: &std::path::Path,
) -> stream_chat_export::Result<Inspection> {
    if let Some(map) = map_plain(file)?
        && !map.bytes().starts_with(&GZIP_MAGIC)
    {
        return summarize_slice(builder, parallel, map.bytes(), Some(file));
    }
    builder.from_path(file).and_then(summarize)
}

/// The first bytes of a gzip file.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Maps `file` when it is a non-empty regular file.
fn map_plain(file: &std::path::Path) -> stream_chat_export::Result<Option<MappedFile>> {
    if file == std::path::Path::new("-") {
        return Ok(None);
    }
    let meta = std::fs::metadata(file).map_err(|e| Error::from(e).with_path(file))?;
    Ok(if meta.is_file() && meta.len() > 0 {
        MappedFile::open(file).ok()
    } else {
        None
    })
}

fn error_json(e: &Error) -> serde_json::Value {
    let position = e.position();
    serde_json::json!({
        "line": position.map(|p| p.line),
        "byte": position.map(|p| p.byte),
        "message": e.message(),
    })
}

fn inspection_json(file: &std::path::Path, i: &Inspection) -> serde_json::Value {
    let r = &i.report;
    serde_json::json!({
        "file": file.display().to_string(),
        "format": i.format.as_str(),
        "compression": i.compression.as_str(),
        "counts": i.summary.counts,
        "errors": r.errors,
        "records": r.records,
        "entities": r.entities,
        "blank_lines": r.blank_lines,
        "lossy": r.lossy,
        "channel_fallbacks": r.channel_fallbacks,
        "bytes": i.bytes,
        "earliest_created_at": i.summary.earliest.as_ref().map(|(_, t)| t),
        "latest_created_at": i.summary.latest.as_ref().map(|(_, t)| t),
        "first_errors": r.first_errors.iter().map(error_json).collect::<Vec<_>>(),
    })
}

fn write_inspection(
    out: &mut impl Write,
    file: &std::path::Path,
    i: &Inspection,
) -> io::Result<()> {
    let r = &i.report;
    writeln!(out, "{}", file.display())?;
    writeln!(out, "  format:       {}", i.format.as_str())?;
    writeln!(out, "  compression:  {}", i.compression.as_str())?;
    writeln!(out, "  bytes read:   {}", i.bytes)?;
    writeln!(
        out,
        "  records:      {} ({} entities, {} errors; {} blank lines skipped)",
        r.records, r.entities, r.errors, r.blank_lines
    )?;
    writeln!(out, "  counts:")?;
    for (kind, n) in &i.summary.counts {
        writeln!(out, "    {kind:<20} {n}")?;
    }
    if let (Some((_, first)), Some((_, last))) = (&i.summary.earliest, &i.summary.latest) {
        writeln!(out, "  created_at:   {first} .. {last}")?;
    }
    if r.lossy > 0 {
        writeln!(out, "  repaired:     {} records decoded lossily", r.lossy)?;
    }
    if r.channel_fallbacks > 0 {
        writeln!(
            out,
            "  note:         {} reactions took the latest channel (their message was not seen first)",
            r.channel_fallbacks
        )?;
    }
    if !r.first_errors.is_empty() {
        writeln!(out, "  first errors:")?;
        for e in &r.first_errors {
            writeln!(out, "    {e}")?;
        }
        if r.errors > r.first_errors.len() as u64 {
            writeln!(
                out,
                "    ... and {} more",
                r.errors - r.first_errors.len() as u64
            )?;
        }
    }
    Ok(())
}

fn validate(options: &ReadOptions, files: &[PathBuf]) -> io::Result<ExitCode> {
    let mut builder = options.builder();
    builder.yield_errors(true);
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut code = 0u8;
    for file in files {
        let mut reader = match builder.from_path(file) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("stream-chat-export: {e}");
                code = 2;
                continue;
            }
        };
        while let Some(next) = reader.next_entity() {
            if let Err(e) = next {
                writeln!(out, "{e}")?;
                code = code.max(exit_code(e.category()));
            }
        }
    }
    Ok(ExitCode::from(code))
}

/// Buffers output lines and hands them to the writer in large blocks.
struct LineSink<'w> {
    out: &'w mut dyn Write,
    buf: Vec<u8>,
    written: u64,
    progress: Progress,
    /// For a stream, the bytes of the file read so far (compressed, for
    /// gzip): progress follows them rather than the entities' offsets in
    /// the decompressed data.
    consumed: Option<&'w AtomicU64>,
}

impl LineSink<'_> {
    fn push(&mut self, e: &Entity<'_>) -> stream_chat_export::Result<()> {
        write_v2_line(e, &mut self.buf);
        self.written += 1;
        let at = match self.consumed {
            Some(n) => n.load(AtomicOrdering::Relaxed),
            None => e.offset(),
        };
        self.progress.at(at);
        if self.buf.len() >= 1 << 16 {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> stream_chat_export::Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }
}

/// A percentage on stderr, only when stderr is a terminal and the input is
/// large enough for it to matter.
struct Progress {
    total: u64,
    shown: u64,
    enabled: bool,
}

impl Progress {
    fn new(total: u64) -> Progress {
        use std::io::IsTerminal;
        Progress {
            total,
            shown: 0,
            enabled: total >= 64 << 20 && io::stderr().is_terminal(),
        }
    }

    fn at(&mut self, offset: u64) {
        if self.enabled {
            let pct = offset.saturating_mul(100) / self.total.max(1);
            if pct > self.shown {
                self.shown = pct;
                eprint!("\r{pct:3}% ");
            }
        }
    }

    fn finish(&mut self) {
        if self.enabled && self.shown > 0 {
            eprint!("\r     \r");
        }
    }
}

fn run_filter(
    builder: &ReaderBuilder,
    parallel: &Parallel,
    filter: &Filter,
    output: Option<&std::path::Path>,
    files: &[PathBuf],
) -> io::Result<ExitCode> {
    let stdout = io::stdout();
    let mut out: Box<dyn Write> = match output {
        None => Box::new(io::BufWriter::with_capacity(1 << 20, stdout.lock())),
        Some(path) => {
            let file = io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
            if path.extension().is_some_and(|e| e == "gz") {
                Box::new(flate2::write::GzEncoder::new(
                    file,
                    flate2::Compression::fast(),
                ))
            } else {
                Box::new(file)
            }
        }
    };
    let mut code = 0u8;
    let mut report =
        |file: &std::path::Path, result: stream_chat_export::Result<(Report, u64)>| match result {
            Ok((report, matched)) => {
                let skipped = report.errors;
                let mut note = format!("{}: {matched} entities written", file.display());
                if skipped > 0 {
                    note.push_str(&format!(", {skipped} bad records skipped"));
                }
                if report.skipped_by_prefilter > 0 {
                    note.push_str(&format!(
                        " ({} lines ruled out by the prefilter without decoding)",
                        report.skipped_by_prefilter
                    ));
                }
                eprintln!("{note}");
                for e in &report.first_errors {
                    eprintln!("  {e}");
                }
                Ok(())
            }
            Err(e) => {
                if let stream_chat_export::ErrorKind::Io(io) = e.kind()
                    && io.kind() == io::ErrorKind::BrokenPipe
                {
                    return Err(());
                }
                eprintln!("stream-chat-export: {e}");
                code = code.max(exit_code(e.category()));
                Ok(())
            }
        };
    if files.len() == 1 {
        let result = filter_file(builder, parallel, filter, &files[0], &mut out);
        if report(&files[0], result).is_err() {
            return Ok(ExitCode::SUCCESS);
        }
    } else if filter_files(builder, parallel, filter, files, &mut out, &mut report)?.is_err() {
        return Ok(ExitCode::SUCCESS);
    }
    out.flush()?;
    drop(out);
    Ok(ExitCode::from(code))
}

/// Reports one file's outcome; `Err(())` means stop (a closed pipe).
type FileReport<'r> =
    dyn FnMut(&std::path::Path, stream_chat_export::Result<(Report, u64)>) -> Result<(), ()> + 'r;

/// Several files at once: workers filter whole files into spool files in
/// the temporary directory; this thread copies each spool to the output in
/// the order of the command line as soon as it is complete. Memory stays
/// bounded; disk holds at most the output.
fn filter_files(
    builder: &ReaderBuilder,
    parallel: &Parallel,
    filter: &Filter,
    files: &[PathBuf],
    out: &mut dyn Write,
    report: &mut FileReport<'_>,
) -> io::Result<Result<(), ()>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let threads = parallel.thread_count();
    let workers = threads.min(files.len()).max(1);
    let mut per_file = parallel.clone();
    per_file.threads((threads / workers).max(1));
    let next = AtomicUsize::new(0);
    let spool_dir = std::env::temp_dir();
    let spool = |i: usize| {
        spool_dir.join(format!(
            "stream-chat-export-{}-{i}.spool",
            std::process::id()
        ))
    };
    let (done_send, done) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let done_send = done_send.clone();
            let (next, per_file, spool) = (&next, &per_file, &spool);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = files.get(i) else { return };
                    let result = std::fs::File::create(spool(i))
                        .map_err(|e| Error::from(e).with_path(spool(i)))
                        .and_then(|f| {
                            let mut w = io::BufWriter::with_capacity(1 << 20, f);
                            let r = filter_file(builder, per_file, filter, file, &mut w)?;
                            w.flush()?;
                            Ok(r)
                        });
                    if done_send.send((i, result)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_send);
        let mut finished = std::collections::BTreeMap::new();
        let mut expect = 0;
        let mut outcome = Ok(Ok(()));
        for (i, result) in done.iter() {
            finished.insert(i, result);
            while let Some(result) = finished.remove(&expect) {
                let path = spool(expect);
                if outcome.as_ref().is_ok_and(|o: &Result<(), ()>| o.is_ok()) {
                    if result.is_ok()
                        && let Err(e) =
                            std::fs::File::open(&path).and_then(|mut f| io::copy(&mut f, out))
                    {
                        outcome = Err(e);
                    }
                    if outcome.is_ok() {
                        outcome = Ok(report(&files[expect], result));
                    }
                }
                let _ = std::fs::remove_file(&path);
                expect += 1;
            }
        }
        // Spools of files never reached (after an error) are removed too.
        for (i, _) in finished {
            let _ = std::fs::remove_file(spool(i));
        }
        outcome
    })
}

/// Plain files are mapped and filtered in parallel; gzip files, stdin and
/// anything that cannot be mapped are streamed, also in parallel
/// (`filter_reader`: line-aligned batches, inflating on a thread of its
/// own). v1 documents are read sequentially either way.
fn filter_file(
    builder: &ReaderBuilder,
    parallel: &Parallel,
    filter: &Filter,
    file: &std::path::Path,
    out: &mut dyn Write,
) -> stream_chat_export::Result<(Report, u64)> {
    let input = match map_plain(file)? {
        // A mapped gzip file would be inflated on this thread, as one
        // stream; read as a file it is inflated on a thread of its own and
        // decoded in parallel batches.
        Some(map) if !map.bytes().starts_with(&GZIP_MAGIC) => Input::Mapped(map),
        _ => Input::Stream(open_stream(file)?),
    };
    let consumed = AtomicU64::new(0);
    let total = match &input {
        Input::Mapped(map) => map.bytes().len() as u64,
        Input::Stream((_, total)) => *total,
    };
    let mut sink = LineSink {
        out,
        buf: Vec::with_capacity(1 << 17),
        written: 0,
        progress: Progress::new(total),
        consumed: matches!(input, Input::Stream(_)).then_some(&consumed),
    };
    let report = match input {
        Input::Mapped(map) => {
            filter_slice(builder, parallel, map.bytes(), Some(file), filter, |e| {
                sink.push(&e)
            })?
        }
        Input::Stream((stream, _)) => {
            let counted = Counting {
                inner: stream,
                count: &consumed,
            };
            filter_reader(builder, parallel, counted, Some(file), filter, |e| {
                sink.push(&e)
            })?
        }
    };
    sink.flush()?;
    sink.progress.finish();
    Ok((report, sink.written))
}

/// An input file: mapped, or a stream with its size (0 when unknown).
enum Input {
    Mapped(MappedFile),
    Stream((Box<dyn io::Read + Send>, u64)),
}

/// Opens a file that is not mapped (gzip, empty, a pipe, a device) or
/// stdin (`-`), with its size when it is a regular file (for progress).
fn open_stream(
    file: &std::path::Path,
) -> stream_chat_export::Result<(Box<dyn io::Read + Send>, u64)> {
    if file == std::path::Path::new("-") {
        return Ok((Box::new(io::stdin()), 0));
    }
    let with_path = |e: io::Error| Error::from(e).with_path(file);
    let handle = std::fs::File::open(file).map_err(with_path)?;
    let meta = handle.metadata().map_err(with_path)?;
    if meta.is_dir() {
        // As the library's `from_path` reports it.
        let e = io::Error::other("is a directory");
        return Err(Error::new(ErrorKind::Io(e)).with_path(file));
    }
    let total = if meta.is_file() { meta.len() } else { 0 };
    Ok((Box::new(handle), total))
}

/// Counts the bytes read through it, for progress.
struct Counting<'c, R> {
    inner: R,
    count: &'c AtomicU64,
}

impl<R: io::Read> io::Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, AtomicOrdering::Relaxed);
        Ok(n)
    }
}
