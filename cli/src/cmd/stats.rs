//! `stats`: what is in an export — counts per kind, message types,
//! channels, users, days, threads and reactions — as terminal tables,
//! one JSON object (`--json`), or a self-contained HTML report
//! (`--html`).

use crate::args::{FilterOptions, ReadOptions, ThreadOptions};
use crate::input;
use crate::report::{html, text, zone};
use std::io::{self, Write};
use std::path::PathBuf;
use stream_chat_export::{
    Engine, Error, ErrorKind, Output, Result, Stats, StatsJob, ensure_not_an_input,
};

/// Statistics of the entities that match every given predicate (all of
/// them by default), over every file together: counts per kind, messages
/// by type, per channel, per user, per day, week, month, hour and weekday,
/// threads, reactions and the top lists. Bad records are skipped and
/// counted, never counted as entities (--strict stops at the first).
#[derive(clap::Args)]
#[command(after_long_help = HELP)]
pub struct Args {
    #[command(flatten)]
    filter: FilterOptions,
    /// Length of the top lists (channels, users, reaction types, most
    /// reacted messages).
    #[arg(long, default_value_t = 10, value_name = "N")]
    top: usize,
    /// Count days, weeks, hours and weekdays in this IANA time zone
    /// (Europe/Berlin, America/New_York, ...; daylight saving included).
    #[arg(long, default_value = "UTC", value_name = "ZONE")]
    tz: String,
    /// One JSON object on stdout instead of tables (docs/stats.schema.json).
    #[arg(long)]
    json: bool,
    /// Also write a self-contained HTML report (charts, sortable channel
    /// table) here; it appears only when complete and loads nothing from
    /// the network.
    #[arg(long, value_name = "REPORT.html")]
    html: Option<PathBuf>,
    /// Stop at the first bad record (exit 1) instead of skipping it.
    #[arg(long)]
    strict: bool,
    /// Decode every record even when the kind/time quick scan could skip
    /// it (same numbers; also validates every record).
    #[arg(long)]
    no_prefilter: bool,
    #[command(flatten)]
    threads: ThreadOptions,
    #[command(flatten)]
    options: ReadOptions,
    /// Export files (`-` for stdin); the statistics cover all of them.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

const HELP: &str = "\
Examples:
  stream-chat-export stats export.json.gz
  stream-chat-export stats --json export-*.jsonl > stats.json
  stream-chat-export stats --html report.html --tz Europe/Berlin export.jsonl
  # One user's activity in March:
  stream-chat-export stats --user user-17 --since 2024-03-01 --until 2024-04-01 export.jsonl

Exit codes:
  0  success (bad records are skipped, counted and reported on stderr)
  1  a bad record under --strict
  2  usage error, unreadable input, or the report could not be written";

pub fn run(args: &Args) -> u8 {
    match stats(args) {
        Ok(()) => 0,
        Err(e) if crate::is_broken_pipe(&e) => 0,
        Err(e) => {
            crate::print_error(&e);
            crate::exit_code(e.category())
        }
    }
}

fn stats(args: &Args) -> Result<()> {
    let mut job = StatsJob::new().filter(args.filter.filter()?).top(args.top);
    if let Some(offset) = zone::offset(&args.tz)? {
        job = job.zone(&args.tz, offset);
    }
    if let Some(path) = &args.html {
        ensure_not_an_input(path, &args.files)?;
    }
    let mut parallel = args.threads.parallel();
    parallel.prefilter(!args.no_prefilter);
    let engine = Engine::new(&parallel)?;
    let mut builder = args.options.builder();
    builder.strict(args.strict);
    let mut all = Stats::default();
    for file in &args.files {
        let input = input::open(file, args.options.no_mmap)?;
        let (stats, outcome) =
            stream_chat_export::stats::collect(&engine, &builder, &job, input, Some(file))?;
        all.merge(stats);
        let r = &outcome.report;
        if r.errors > 0 {
            eprintln!(
                "stream-chat-export: {}: {} bad records skipped (not counted)",
                file.display(),
                r.errors
            );
            for e in &r.first_errors {
                eprintln!("  {}", crate::describe(e));
            }
        }
    }
    let report = all.report(&job);
    if let Some(path) = &args.html {
        let mut out = Output::create(path)?;
        let name = out.path().to_path_buf();
        let write_error = |e: io::Error| Error::new(ErrorKind::Write(e)).with_path(&name);
        out.write_all(html::render(&report).as_bytes())
            .map_err(write_error)?;
        out.finish()?;
    }
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let written = if args.json {
        serde_json::to_writer(&mut out, &report)
            .map_err(io::Error::other)
            .and_then(|()| writeln!(out))
    } else {
        text::write(&mut out, &report)
    };
    written
        .and_then(|()| out.flush())
        .map_err(|e| Error::new(ErrorKind::Write(e)).with_path("<stdout>"))
}
