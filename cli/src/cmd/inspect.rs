//! `inspect`: format, compression, counts per kind, errors and time range
//! of each file.

use crate::args::{ReadOptions, ThreadOptions};
use crate::input;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use stream_chat_export::{Engine, Error, Inspection};

/// Detect the format and count records per kind (lenient: bad records
/// are skipped and counted).
#[derive(clap::Args)]
#[command(after_long_help = HELP)]
pub struct Args {
    /// One JSON object per file on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    options: ReadOptions,
    #[command(flatten)]
    threads: ThreadOptions,
    /// Export files (`-` for stdin).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

const HELP: &str = "\
Examples:
  stream-chat-export inspect export.json.gz
  stream-chat-export inspect --json *.jsonl > inventory.jsonl
  curl -s \"$EXPORT_URL\" | stream-chat-export inspect -

Exit codes:
  0  every file could be read (bad records are counted, not fatal)
  2  usage error or unreadable input (the other files are still inspected)";

pub fn run(args: &Args) -> u8 {
    let builder = args.options.builder();
    // One pool for every file; each file on all of it (line files, mapped
    // or streamed, decode in parallel; v1 documents on one thread).
    let engine = match Engine::new(&args.threads.parallel()) {
        Ok(engine) => engine,
        Err(e) => {
            crate::print_error(&e);
            return 2;
        }
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut code = 0;
    for file in &args.files {
        let result = input::open(file, args.options.no_mmap)
            .and_then(|input| stream_chat_export::inspect(&engine, &builder, input, Some(file)));
        let written = match result {
            Ok(i) if args.json => writeln!(out, "{}", inspection_json(file, &i)),
            Ok(i) => write_inspection(&mut out, file, &i),
            Err(e) => {
                crate::print_error(&e);
                code = 2;
                Ok(())
            }
        };
        if let Err(e) = written.and_then(|()| out.flush()) {
            if e.kind() != io::ErrorKind::BrokenPipe {
                eprintln!("stream-chat-export: <stdout>: write error: {e}");
                return 2;
            }
            return code;
        }
    }
    code
}

fn error_json(e: &Error) -> serde_json::Value {
    let position = e.position();
    serde_json::json!({
        "line": position.map(|p| p.line),
        "byte": position.map(|p| p.byte),
        "message": e.message(),
    })
}

fn inspection_json(file: &Path, i: &Inspection) -> serde_json::Value {
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

fn write_inspection(out: &mut impl Write, file: &Path, i: &Inspection) -> io::Result<()> {
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
            writeln!(out, "    {}", crate::describe(e))?;
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
