//! `stream-chat-export`: a thin command-line layer over the library.
//! This file parses the command line, dispatches to `cmd/`, and turns
//! errors into messages and exit codes.

mod args;
mod cmd;
mod input;
mod progress;
mod report;

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use stream_chat_export::{Category, Error, ErrorKind};

/// Inspect, validate and filter Stream Chat data exports (v1 documents,
/// v2 and user exports, import files; plain or gzip), and get them from
/// Stream's export API (`export`). `filter` also converts any of them to
/// v2 lines. `-` reads standard input.
#[derive(Parser)]
#[command(name = "stream-chat-export", version, about, after_long_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The exit codes, shared by every command's help.
const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  bad records found (validate), or a bad record under --strict
  2  usage error, unreadable input, or the output could not be written";

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once; boxing buys nothing
enum Command {
    Inspect(cmd::inspect::Args),
    Validate(cmd::validate::Args),
    Filter(cmd::filter::Args),
    Convert(cmd::convert::Args),
    Export(cmd::export::Args),
    Stats(cmd::stats::Args),
}

fn main() -> ExitCode {
    let code = match Cli::parse().command {
        Command::Inspect(args) => cmd::inspect::run(&args),
        Command::Validate(args) => cmd::validate::run(&args),
        Command::Filter(args) => cmd::filter::run(args),
        Command::Convert(args) => cmd::convert::run(&args),
        Command::Export(args) => cmd::export::run(&args),
        Command::Stats(args) => cmd::stats::run(&args),
    };
    ExitCode::from(code)
}

/// The exit code for an error of `category`.
fn exit_code(category: Category) -> u8 {
    match category {
        Category::Data => 1,
        // I/O, usage, and any category a later library version adds: an
        // error that is not about the records themselves.
        _ => 2,
    }
}

/// An error as the command line shows it: the library's text plus which
/// option changes the limit that was hit.
fn describe(e: &Error) -> String {
    let hint = match e.kind() {
        ErrorKind::LineTooLong { .. } => " (raise the limit with --max-line)",
        ErrorKind::EntityTooLarge { .. } => " (raise the limit with --max-entity)",
        ErrorKind::TooDeep { .. } => " (raise the limit with --max-depth)",
        _ => "",
    };
    format!("{e}{hint}")
}

/// Prints an error on stderr.
fn print_error(e: &Error) {
    eprintln!("stream-chat-export: {}", describe(e));
}

/// True for a closed pipe on the output (`| head`): the reader has what it
/// wanted, so the run ends quietly with success, as in ripgrep.
fn is_broken_pipe(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::Write(io) | ErrorKind::Io(io)
        if io.kind() == std::io::ErrorKind::BrokenPipe)
}
