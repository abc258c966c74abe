//! `validate`: every problem of every file, linter-style, on stdout.

use crate::args::{ReadOptions, ThreadOptions};
use crate::input::{self, Input};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use stream_chat_export::{Category, Entity, Error, ReaderBuilder, Result};

/// Check files strictly: print every problem as FILE:LINE:BYTE: message.
/// Exit 0 when clean, 1 when problems were found, 2 on I/O errors.
#[derive(clap::Args)]
#[command(after_long_help = HELP)]
pub struct Args {
    #[command(flatten)]
    options: ReadOptions,
    /// Each file is read on one thread today; accepted so that scripts
    /// can give every command the same -j.
    #[command(flatten)]
    threads: ThreadOptions,
    /// Export files (`-` for stdin).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

const HELP: &str = "\
Examples:
  stream-chat-export validate export.json.gz          # in CI: exit 1 on any bad record
  stream-chat-export validate --max-line 1GiB big.jsonl
  zcat export.jsonl.gz | stream-chat-export validate -

Exit codes:
  0  every file is clean
  1  problems were found (each printed on stdout)
  2  usage error or unreadable input";

pub fn run(args: &Args) -> u8 {
    let mut builder = args.options.builder();
    builder.yield_errors(true);
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut code = 0u8;
    for file in &args.files {
        let mut found = 0u8;
        let mut report = |e: Error| {
            found = 1;
            writeln!(out, "{}", crate::describe(&e.with_path(file)))
        };
        match validate_file(&builder, file, args.options.mmap(), &mut report) {
            Ok(()) => code = code.max(found),
            Err(Stop::Input(e)) => {
                crate::print_error(&e);
                code = 2;
            }
            Err(Stop::Output(e)) => return output_failed(e, code),
        }
    }
    match out.flush() {
        Ok(()) => code,
        Err(e) => output_failed(e, code),
    }
}

/// Why a file's check ended early.
enum Stop {
    /// The input could not be opened or read.
    Input(Error),
    /// Stdout could not be written.
    Output(io::Error),
}

/// Exit code after a failed write to stdout: a closed pipe ends the run
/// quietly with the code so far; anything else is an error.
fn output_failed(e: io::Error, code: u8) -> u8 {
    if e.kind() == io::ErrorKind::BrokenPipe {
        return code;
    }
    eprintln!("stream-chat-export: <stdout>: write error: {e}");
    2
}

/// Reads `file` to its end, handing every bad record to `report`.
fn validate_file(
    builder: &ReaderBuilder,
    file: &Path,
    mmap: bool,
    report: &mut dyn FnMut(Error) -> io::Result<()>,
) -> std::result::Result<(), Stop> {
    let mut on = |item: Result<Entity<'_>>| match item {
        Ok(_) => Ok(()),
        Err(e) if e.category() == Category::Data => report(e).map_err(Stop::Output),
        Err(e) => Err(Stop::Input(e.with_path(file))),
    };
    match input::open(file, mmap).map_err(Stop::Input)? {
        Input::Mapped(map) => builder.from_slice(map.bytes()).try_for_each(&mut on),
        Input::Stream { reader, .. } => {
            let mut reader = builder
                .from_reader(reader)
                .map_err(|e| Stop::Input(e.with_path(file)))?;
            reader.set_path(file);
            while let Some(item) = reader.next_entity() {
                on(item)?;
            }
            Ok(())
        }
    }
}
