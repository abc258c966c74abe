//! `stream-chat-export`: a thin command-line layer over the library.

use clap::{Parser, Subcommand};
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use stream_chat_export::{Category, Error, Inspection, ReaderBuilder, summarize};

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
    /// Replace invalid UTF-8 with U+FFFD instead of rejecting the record.
    #[arg(long)]
    lossy_utf8: bool,
}

impl ReadOptions {
    fn builder(&self) -> ReaderBuilder {
        let mut b = ReaderBuilder::new();
        b.max_line(self.max_line)
            .max_entity(self.max_entity)
            .lossy_utf8(self.lossy_utf8);
        b
    }
}

#[derive(Subcommand)]
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect {
            json,
            options,
            files,
        } => inspect(&options, &files, json),
        Command::Validate { options, files } => validate(&options, &files),
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
    for file in files {
        let inspection = builder.from_path(file).and_then(summarize);
        match inspection {
            Ok(i) if json => writeln!(out, "{}", inspection_json(file, &i))?,
            Ok(i) => write_inspection(&mut out, file, &i)?,
            Err(e) => {
                eprintln!("stream-chat-export: {e}");
                code = code.max(exit_code(e.category()).max(2));
            }
        }
    }
    Ok(ExitCode::from(code))
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
