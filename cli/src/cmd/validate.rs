//! `validate`: every problem of every file, linter-style, on stdout.

use crate::args::{ReadOptions, ThreadOptions};
use crate::input;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use stream_chat_export::{
    Category, Engine, Entity, Error, ErrorMode, ImportOptions, Job, Keep, Out, ReaderBuilder,
    validate_import_input,
};

/// Check files strictly: print every problem as FILE:LINE:BYTE: message.
/// Exit 0 when clean, 1 when problems were found, 2 on I/O errors.
/// With --import, check Stream import files against the import rules.
#[derive(clap::Args)]
#[command(after_long_help = HELP)]
pub struct Args {
    /// Check Stream import files: JSON Lines `{"type","data"}` against the
    /// official JSON Schemas, the required order, references within the
    /// file, duplicates, the iff-rules, one thread level and distinct
    /// channels' members; a legacy array of `{"type","item"}` by
    /// stream-cli's validator rules. Which rules were applied is said on
    /// stderr.
    #[arg(long)]
    import: bool,
    /// The app's roles (comma-separated): a user's role must be one of
    /// them. Not checked when not given.
    #[arg(long, value_delimiter = ',', value_name = "R,...", requires = "import")]
    roles: Option<Vec<String>>,
    /// The app's channel types (comma-separated): a channel's type must be
    /// one of them. Not checked when not given.
    #[arg(long, value_delimiter = ',', value_name = "T,...", requires = "import")]
    channel_types: Option<Vec<String>>,
    /// Accept `!` in channel ids (`^[\w!-]*$`, stream-cli's lighter
    /// channel-id validation), as exported distinct channels have.
    #[arg(long, requires = "import")]
    lighter_channel_ids: bool,
    #[command(flatten)]
    options: ReadOptions,
    /// Line files are checked on all threads (v1 documents on one).
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
  stream-chat-export validate --import --roles user,admin --channel-types messaging import.jsonl

Exit codes:
  0  every file is clean
  1  problems were found (each printed on stdout)
  2  usage error or unreadable input";

pub fn run(args: &Args) -> u8 {
    if args.import {
        return run_import(args);
    }
    let mut builder = args.options.builder();
    builder.errors(ErrorMode::Yield);
    let engine = match Engine::new(&args.threads.parallel()) {
        Ok(engine) => engine,
        Err(e) => {
            crate::print_error(&e);
            return 2;
        }
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut code = 0u8;
    for file in &args.files {
        let mut found = 0u8;
        let mut report = |e: Error| {
            found = 1;
            writeln!(out, "{}", crate::describe(&e.with_path(file)))
        };
        match validate_file(&engine, &builder, file, args.options.no_mmap, &mut report) {
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

/// Decodes every record and delivers nothing: what is left to see are the
/// errors, which the yield policy hands out in input order.
struct CheckOnly;

impl Job for CheckOnly {
    type Partial = ();
    fn entity(&self, _: &Entity<'_>, _: &mut ()) -> Keep {
        Keep::Done
    }
}

/// Reads `file` to its end, handing every bad record to `report`.
fn validate_file(
    engine: &Engine,
    builder: &ReaderBuilder,
    file: &Path,
    no_mmap: bool,
    report: &mut dyn FnMut(Error) -> io::Result<()>,
) -> std::result::Result<(), Stop> {
    let input = input::open(file, no_mmap).map_err(Stop::Input)?;
    // A failed write to stdout is kept here, so that it can end the run as
    // an output error rather than be reported as the input's.
    let mut output_error = None;
    let result = engine
        .run(&CheckOnly)
        .builder(builder)
        .path(file)
        .input(input, |out| {
            if let Out::Error(e) = out
                && e.category() == Category::Data
                && let Err(w) = report(e)
            {
                output_error = Some(w);
                return Err(Error::from(io::Error::other("stdout failed")));
            }
            Ok(())
        });
    if let Some(e) = output_error {
        return Err(Stop::Output(e));
    }
    result
        .map(|_| ())
        .map_err(|e| Stop::Input(e.with_path(file)))
}

/// `validate --import`: every problem of every import file.
fn run_import(args: &Args) -> u8 {
    let mut options = ImportOptions::new();
    if let Some(roles) = &args.roles {
        options.roles(roles.iter().cloned());
    }
    if let Some(types) = &args.channel_types {
        options.channel_types(types.iter().cloned());
    }
    options.lighter_channel_ids(args.lighter_channel_ids);
    let engine = match Engine::new(&args.threads.parallel()) {
        Ok(engine) => engine,
        Err(e) => {
            crate::print_error(&e);
            return 2;
        }
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut code = 0u8;
    for file in &args.files {
        let input = match input::open(file, args.options.no_mmap) {
            Ok(input) => input,
            Err(e) => {
                crate::print_error(&e);
                code = 2;
                continue;
            }
        };
        let mut output_error = None;
        let result = validate_import_input(&engine, input, file, &options, |p| {
            let line = format!("{}:{}:{}: {p}", file.display(), p.line, p.offset);
            writeln!(out, "{line}").map_err(|e| {
                output_error = Some(e);
                Error::from(io::Error::other("stdout failed"))
            })
        });
        if let Some(e) = output_error {
            return output_failed(e, code);
        }
        match result {
            Ok(summary) => {
                let rules = summary
                    .rules
                    .map_or("empty file: no items", |r| r.describe());
                let indexed: Vec<String> = summary
                    .indexed
                    .iter()
                    .filter(|(_, n)| *n > 0)
                    .map(|(t, n)| format!("{n} {t}"))
                    .collect();
                eprintln!(
                    "{}: {rules}; {} items, {} problems (indexed: {})",
                    file.display(),
                    summary.items,
                    summary.problems,
                    if indexed.is_empty() {
                        "none".to_string()
                    } else {
                        indexed.join(", ")
                    }
                );
                if summary.problems > 0 {
                    code = code.max(1);
                }
            }
            Err(e) => {
                crate::print_error(&e.with_path(file));
                code = 2;
            }
        }
    }
    match out.flush() {
        Ok(()) => code,
        Err(e) => output_failed(e, code),
    }
}
