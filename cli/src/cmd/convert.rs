//! `convert`: exports to another format: `stream-import` (Stream's
//! import files) here, the per-kind tables (`ndjson`, `csv`, `parquet`) in
//! `convert/tables.rs`.

mod tables;

use crate::args::{FilterOptions, ReadOptions, ThreadOptions, parse_size};
use crate::input;
use crate::progress::Progress;
use std::path::{Path, PathBuf};
use stream_chat_export::{
    ConvertProgress, ConvertSummary, Engine, Error, ErrorKind, ImportConverter, MemberItem, Result,
    ensure_not_an_input,
};

/// Convert exports (any input format; plain or gzip) to another format.
/// `--to stream-import` writes a Stream import file (JSON Lines
/// `{"type","data"}` in the required order: users, devices,
/// future_channel_ban, channels, members, messages, reactions) that
/// `validate --import` accepts; the filter options select what goes in,
/// as in `filter`, and the channels and users it references come along.
#[derive(clap::Args)]
#[command(after_long_help = HELP)]
pub struct Args {
    /// The output format.
    #[arg(long, value_enum, value_name = "FORMAT")]
    to: Target,
    /// Where to write. The file appears only when complete; a split
    /// output (see --max-size) is a new folder of numbered parts
    /// (part-0001.jsonl, ...), each valid on its own. An input is never
    /// accepted as the output.
    #[arg(long, value_name = "PATH")]
    out: PathBuf,
    /// Split output over SIZE into parts of at most SIZE (Stream's upload
    /// limit is 300 MB), each filled as far as whole channels allow. A
    /// channel is never split across parts (one larger than SIZE is a
    /// part of its own).
    #[arg(long, default_value = "300MB", value_name = "SIZE", value_parser = parse_size)]
    max_size: usize,
    /// stream-import: the type of member items. Stream's import
    /// documentation writes `member`; the official JSON Schema of an item
    /// spells it `channel_member`.
    #[arg(long, value_enum, default_value = "member", value_name = "TYPE")]
    member_type: MemberType,
    #[command(flatten)]
    predicates: FilterOptions,
    #[command(flatten)]
    threads: ThreadOptions,
    /// Stop at the first bad record (exit 1) instead of skipping it.
    #[arg(long)]
    strict: bool,
    /// No summary on stderr (errors are still printed).
    #[arg(short, long)]
    quiet: bool,
    /// No progress line on stderr (it is drawn only on a terminal).
    #[arg(long)]
    no_progress: bool,
    #[command(flatten)]
    options: ReadOptions,
    #[command(flatten)]
    tables: tables::TableOptions,
    /// Export files. stream-import reads them twice (tables first, then
    /// the rest) and refuses stdin (`-`); ndjson, csv and parquet read
    /// them once, stdin too.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// The type name of member items in an import file.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum MemberType {
    /// `"type":"member"` (Stream's documentation and sample file).
    Member,
    /// `"type":"channel_member"` (the item JSON Schema).
    ChannelMember,
}

/// Output formats.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum Target {
    /// Stream's import format (JSON Lines `{"type","data"}`).
    StreamImport,
    /// One NDJSON file per kind in folder --out (`messages.jsonl`, ...).
    Ndjson,
    /// One CSV file per kind in folder --out (`messages.csv`, ...).
    Csv,
    /// One Hive-partitioned Parquet dataset per kind in folder --out
    /// (`messages/date=YYYY-MM-DD/part-00000.parquet`, ...).
    Parquet,
}

const HELP: &str = "\
Examples:
  # A production app's export, ready for the staging app's importer:
  stream-chat-export convert --to stream-import --out import.jsonl export.json.gz
  # One team's channels only, checked before upload:
  stream-chat-export convert --to stream-import --channels-file cids.txt --out part.jsonl export.jsonl
  stream-chat-export validate --import part.jsonl

Exit codes:
  0  success
  1  a bad record under --strict (the output is not written)
  2  usage error, unreadable input, or the output could not be written";

pub fn run(args: &Args) -> u8 {
    // One function per target; a new `--to` value adds an arm here.
    let result = match args.to {
        Target::StreamImport => to_stream_import(args),
        Target::Ndjson => to_tables(args, tables::Format::Ndjson),
        Target::Csv => to_tables(args, tables::Format::Csv),
        Target::Parquet => to_tables(args, tables::Format::Parquet),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            crate::print_error(&e);
            crate::exit_code(e.category())
        }
    }
}

/// Per-kind tables (`cli/src/cmd/convert/tables.rs`).
fn to_tables(args: &Args, format: tables::Format) -> Result<()> {
    tables::convert(&tables::Request {
        format,
        out: &args.out,
        files: &args.files,
        predicates: &args.predicates,
        threads: &args.threads,
        options: &args.options,
        tables: &args.tables,
        strict: args.strict,
        quiet: args.quiet,
        no_progress: args.no_progress,
    })
}

fn to_stream_import(args: &Args) -> Result<()> {
    let usage = |m: String| Error::new(ErrorKind::Usage(m));
    if args.files.iter().any(|f| f == Path::new("-")) {
        return Err(usage(
            "convert reads its inputs twice; stdin (`-`) cannot be: save it to a file first".into(),
        ));
    }
    if args.out == Path::new("-") {
        return Err(usage(
            "convert writes a file or folder: give --out PATH".into(),
        ));
    }
    ensure_not_an_input(&args.out, &args.files)?;
    let engine = Engine::new(&args.threads.parallel())?;
    let mut builder = args.options.builder();
    builder.strict(args.strict);
    let mut converter = ImportConverter::new(args.predicates.filter()?);
    converter.max_size(args.max_size as u64);
    converter.member_item(match args.member_type {
        MemberType::Member => MemberItem::Member,
        MemberType::ChannelMember => MemberItem::ChannelMember,
    });
    let sizes: Vec<u64> = args.files.iter().map(|f| input::size_of(f)).collect();
    let total: u64 = sizes.iter().sum();
    // Two passes over every input.
    let mut progress = Progress::new(!args.no_progress, total * 2);
    let no_mmap = args.options.no_mmap;
    let summary = converter.run(
        &engine,
        &builder,
        &args.files,
        &mut |path| input::open(path, no_mmap),
        &args.out,
        &mut |p: ConvertProgress| {
            let before: u64 = sizes[..p.input].iter().sum();
            let pass = if p.pass == 2 { total } else { 0 };
            progress.at_rarely(pass + before + p.at.min(sizes[p.input]));
        },
    )?;
    progress.clear();
    if !args.quiet {
        print_summary(args, &summary);
    }
    Ok(())
}

fn print_summary(args: &Args, s: &ConvertSummary) {
    let order = [
        "user",
        "device",
        "future_channel_ban",
        "channel",
        "member",
        "message",
        "reaction",
    ];
    let written: Vec<String> = order
        .iter()
        .filter_map(|k| s.written.get(k).map(|n| format!("{n} {k}")))
        .collect();
    let parts = match s.parts.as_slice() {
        [(path, bytes)] => format!("{} ({bytes} bytes)", path.display()),
        many => format!(
            "{} ({} parts: {})",
            args.out.display(),
            many.len(),
            many.iter()
                .map(|(p, n)| format!(
                    "{} {n} bytes",
                    p.file_name().unwrap_or_default().to_string_lossy()
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    eprintln!("converted to a Stream import file: {parts}");
    eprintln!("  converted: {}", written.join(", "));
    for (what, n) in &s.adjusted {
        eprintln!("  adjusted: {n} {what}");
    }
    for (what, n) in &s.dropped {
        eprintln!("  dropped: {n} {what}");
    }
    if s.reactions_from_messages {
        let note = if s.reactions_listed < s.reactions_counted {
            format!(
                "PARTIAL: the messages list {} of the {} reactions they count (latest_reactions is a preview)",
                s.reactions_listed, s.reactions_counted
            )
        } else {
            format!(
                "the messages list all {} reactions they count",
                s.reactions_listed
            )
        };
        eprintln!(
            "  reactions: no reaction records in the input; taken from the messages' latest_reactions: {note}"
        );
    }
    if let Some(max) = s.parts.iter().map(|(_, n)| *n).max()
        && max > args.max_size as u64
    {
        eprintln!(
            "  warning: a part is over --max-size ({max} bytes): one channel alone is bigger than the limit"
        );
    }
    for (file, report) in args.files.iter().zip(&s.reports) {
        if report.errors > 0 {
            eprintln!(
                "  {}: {} bad records skipped",
                file.display(),
                report.errors
            );
            for e in &report.first_errors {
                eprintln!("    {}", crate::describe(e));
            }
        }
    }
}
