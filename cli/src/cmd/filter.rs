//! `filter`: the entities matching every predicate, as v2 lines, to stdout
//! or a file that appears only when complete.

use crate::args::{FilterOptions, ReadOptions, ThreadOptions};
use crate::input;
use crate::progress::Progress;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use stream_chat_export::{
    Engine, FilterJob, Input, Out, Output, ReaderBuilder, Report, Result, V2Writer,
    ensure_not_an_input,
};

/// Write the entities that match every given predicate as v2 lines
/// `{"type":"<kind>","item":{...}}`, one per line (so it also converts any
/// input to v2). Repeated options of one kind are alternatives (any user,
/// any channel, any kind).
#[derive(clap::Args)]
#[command(after_long_help = HELP)]
pub struct Args {
    #[command(flatten)]
    predicates: FilterOptions,
    #[command(flatten)]
    threads: ThreadOptions,
    /// Write here instead of stdout (`-`: stdout); a name ending in .gz is
    /// compressed. The file appears only when complete; on any error it is
    /// left as it was. An input is never accepted as the output.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    output: Option<PathBuf>,
    /// Stop at the first bad record (exit 1) instead of skipping it.
    #[arg(long)]
    strict: bool,
    /// Decode every record even when a byte search could skip it (same
    /// output; also validates every record).
    #[arg(long)]
    no_prefilter: bool,
    /// No summary on stderr (errors are still printed).
    #[arg(short, long)]
    quiet: bool,
    /// No progress line on stderr (it is drawn only on a terminal).
    #[arg(long)]
    no_progress: bool,
    #[command(flatten)]
    options: ReadOptions,
    /// Export files (`-` for stdin), processed one after another.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

const HELP: &str = "\
Examples:
  # One user's data, for a GDPR request, into a compressed file:
  stream-chat-export filter --user user-17 -o user-17.jsonl.gz export.json.gz
  # Many users at once (one id per line):
  stream-chat-export filter --users-file ids.txt -o extract.jsonl export-*.jsonl
  # Convert a v1 export to v2 lines:
  stream-chat-export filter export-v1.json > export-v2.jsonl
  # March's messages of one channel:
  stream-chat-export filter --channel messaging:general --kind message \\
      --since 2024-03-01T00:00:00Z --until 2024-04-01T00:00:00Z export.jsonl

Exit codes:
  0  success (also when nothing matched)
  1  a bad record under --strict (with -o, the output is not written)
  2  usage error, unreadable input, or the output could not be written";

pub fn run(args: Args) -> u8 {
    match filter_files(&args) {
        Ok(()) => 0,
        Err(e) if crate::is_broken_pipe(&e) => 0,
        Err(e) => {
            crate::print_error(&e);
            crate::exit_code(e.category())
        }
    }
}

/// One file's outcome, reported once the output is complete.
struct Done<'a> {
    file: &'a Path,
    report: Report,
    written: u64,
}

fn filter_files(args: &Args) -> Result<()> {
    let job = FilterJob::new(args.predicates.filter()?);
    let mut parallel = args.threads.parallel();
    parallel.prefilter(!args.no_prefilter);
    // One pool for every file of the run.
    let engine = Engine::new(&parallel)?;
    let mut builder = args.options.builder();
    builder.strict(args.strict);
    let output_path = args.output.as_deref().unwrap_or(Path::new("-"));
    // Before anything is opened for writing: creating the output must
    // never be able to destroy an input.
    ensure_not_an_input(output_path, &args.files)?;
    let output = Output::create(output_path)?;
    let name = output.path().to_path_buf();
    let mut sink = V2Writer::new(output).with_path(name);
    let total = args.files.iter().map(|f| input::size_of(f)).sum();
    let mut progress = Progress::new(!args.no_progress, total);
    let mut done = Vec::with_capacity(args.files.len());
    // One file after another, each on all threads (the executor is
    // parallel inside a file), straight into the one output: no spools.
    for file in &args.files {
        let before = sink.written();
        let (report, size) = filter_file(
            &engine,
            &builder,
            &job,
            file,
            args.options.no_mmap,
            &mut sink,
            &mut progress,
        )?;
        progress.file_done(size);
        done.push(Done {
            file,
            report,
            written: sink.written() - before,
        });
    }
    sink.into_inner()?.finish()?;
    progress.clear();
    if !args.quiet {
        done.iter().for_each(print_summary);
    }
    Ok(())
}

/// Filters one file into `sink`; returns its report and its size as
/// counted by the progress line.
fn filter_file(
    engine: &Engine,
    builder: &ReaderBuilder,
    job: &FilterJob,
    file: &Path,
    no_mmap: bool,
    sink: &mut V2Writer<Output>,
    progress: &mut Progress,
) -> Result<(Report, u64)> {
    let run = engine.run(job).builder(builder).path(file);
    match input::open(file, no_mmap)? {
        Input::Mapped(map) => {
            let bytes = map.bytes();
            let outcome = run.slice(bytes, |out| match out {
                Out::Entity(e) => {
                    progress.at(e.offset());
                    sink.write(&e)
                }
                _ => Ok(()),
            })?;
            Ok((outcome.report, bytes.len() as u64))
        }
        Input::Stream(reader) => {
            // Progress follows the bytes read from the file (compressed,
            // for gzip), not the entities' offsets in the inflated data.
            let size = input::size_of(file);
            let consumed = AtomicU64::new(0);
            let counted = Counting {
                inner: reader,
                count: &consumed,
            };
            let outcome = run.reader(counted, |out| match out {
                Out::Entity(e) => {
                    progress.at(consumed.load(Ordering::Relaxed));
                    sink.write(&e)
                }
                _ => Ok(()),
            })?;
            Ok((outcome.report, size.max(consumed.load(Ordering::Relaxed))))
        }
        other => {
            let outcome = run.input(other, |out| match out {
                Out::Entity(e) => sink.write(&e),
                _ => Ok(()),
            })?;
            Ok((outcome.report, 0))
        }
    }
}

fn print_summary(done: &Done<'_>) {
    let report = &done.report;
    let mut note = format!("{}: {} entities written", done.file.display(), done.written);
    if report.errors > 0 {
        note.push_str(&format!(", {} bad records skipped", report.errors));
    }
    if report.skipped_by_prefilter > 0 {
        note.push_str(&format!(
            " ({} records ruled out by the prefilter without decoding)",
            report.skipped_by_prefilter
        ));
    }
    eprintln!("{note}");
    for e in &report.first_errors {
        eprintln!("  {}", crate::describe(e));
    }
}

/// Counts the bytes read through it, for progress.
struct Counting<'c, R> {
    inner: R,
    count: &'c AtomicU64,
}

impl<R: std::io::Read> std::io::Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}
