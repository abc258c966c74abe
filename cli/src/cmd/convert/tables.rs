//! `convert --to ndjson|csv|parquet`: one table per kind in a new folder.

use crate::args::{FilterOptions, ReadOptions, ThreadOptions, parse_size};
use crate::input;
use crate::progress::Progress;
use std::path::{Path, PathBuf};
#[cfg(feature = "parquet")]
use stream_chat_export::ParquetWriter;
use stream_chat_export::{
    CsvWriter, Engine, Error, ErrorKind, NdjsonWriter, Report, Result, TablesConverter,
    TablesSummary, ensure_not_an_input,
};

/// The options of the table targets.
#[derive(clap::Args, Clone, Debug)]
pub struct TableOptions {
    /// ndjson: gzip every table (`messages.jsonl.gz`, ...).
    #[arg(long)]
    gzip: bool,
    /// csv: the columns of a table, `[TABLE=]FIELD,FIELD,...` (repeatable;
    /// without `TABLE=`, for every table without columns of its own).
    /// Fields are top-level keys or dotted paths (`user.name`); `cid`,
    /// `user_id`, `reaction_count` and `attachment_count` are derived
    /// when the record lacks them.
    #[arg(long = "columns", value_name = "[TABLE=]FIELDS")]
    columns: Vec<String>,
    /// csv: neutralize spreadsheet formulas (OWASP): text cells starting
    /// with = + - @ tab or CR get a leading ' and every cell is quoted.
    #[arg(long)]
    formula_guard: bool,
    /// parquet: rows buffered (estimated) before the largest buffered days
    /// are written out, each as a file, down to half of it.
    #[arg(long, default_value = "256MiB", value_name = "SIZE", value_parser = parse_size)]
    buffer_size: usize,
    /// parquet: the size of a row group (estimated, before encoding).
    #[arg(long, default_value = "64MiB", value_name = "SIZE", value_parser = parse_size)]
    row_group_size: usize,
}

/// Which table format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Ndjson,
    Csv,
    Parquet,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Ndjson => "ndjson",
            Format::Csv => "csv",
            Format::Parquet => "parquet",
        }
    }
}

/// Everything a table conversion takes from the command line.
pub struct Request<'a> {
    pub format: Format,
    pub out: &'a Path,
    pub files: &'a [PathBuf],
    pub predicates: &'a FilterOptions,
    pub threads: &'a ThreadOptions,
    pub options: &'a ReadOptions,
    pub tables: &'a TableOptions,
    pub strict: bool,
    pub quiet: bool,
    pub no_progress: bool,
}

/// Runs a table conversion.
pub fn convert(r: &Request<'_>) -> Result<()> {
    let usage = |m: String| Error::new(ErrorKind::Usage(m));
    if r.out == Path::new("-") {
        return Err(usage("convert writes a folder: give --out DIR".into()));
    }
    let t = r.tables;
    let misplaced = [
        (t.gzip, "--gzip", Format::Ndjson),
        (!t.columns.is_empty(), "--columns", Format::Csv),
        (t.formula_guard, "--formula-guard", Format::Csv),
    ];
    for (given, flag, format) in misplaced {
        if given && r.format != format {
            return Err(usage(format!(
                "{flag} is for --to {}, not --to {}",
                format.name(),
                r.format.name()
            )));
        }
    }
    ensure_not_an_input(r.out, r.files)?;
    let engine = Engine::new(&r.threads.parallel())?;
    let mut builder = r.options.builder();
    builder.strict(r.strict);
    let converter = TablesConverter::new(r.predicates.filter()?);
    let (summary, reports) = match r.format {
        Format::Ndjson => {
            let mut w = NdjsonWriter::create(r.out, t.gzip)?;
            // The lines are formatted on the workers (`NdjsonWriter::convert`).
            let reports = with_progress(r, |open, progress| {
                w.convert(&converter, &engine, &builder, r.files, open, progress)
            })?;
            (w.finish()?, reports)
        }
        Format::Csv => {
            let mut w = CsvWriter::create(r.out)?;
            w.formula_guard(t.formula_guard);
            for spec in &t.columns {
                let (table, fields) = spec.split_once('=').unwrap_or(("*", spec));
                let fields: Vec<&str> = fields.split(',').map(str::trim).collect();
                w.columns(table.trim(), &fields)?;
            }
            // The records are formatted on the workers (`CsvWriter::convert`).
            let reports = with_progress(r, |open, progress| {
                w.convert(&converter, &engine, &builder, r.files, open, progress)
            })?;
            (w.finish()?, reports)
        }
        Format::Parquet => parquet(r, &engine, &builder, &converter)?,
    };
    if !r.quiet {
        print_summary(r, &summary, &reports);
    }
    Ok(())
}

#[cfg(feature = "parquet")]
fn parquet(
    r: &Request<'_>,
    engine: &Engine,
    builder: &stream_chat_export::ReaderBuilder,
    converter: &TablesConverter,
) -> Result<(TablesSummary, Vec<Report>)> {
    let mut w = ParquetWriter::create(r.out)?;
    w.buffer_bytes(r.tables.buffer_size)
        .row_group_bytes(r.tables.row_group_size)
        .threads(engine.settings().thread_count());
    // The rows are built on the workers (`ParquetWriter::convert`).
    let reports = with_progress(r, |open, progress| {
        w.convert(converter, engine, builder, r.files, open, progress)
    })?;
    Ok((w.finish()?, reports))
}

#[cfg(not(feature = "parquet"))]
fn parquet(
    _: &Request<'_>,
    _: &Engine,
    _: &stream_chat_export::ReaderBuilder,
    _: &TablesConverter,
) -> Result<(TablesSummary, Vec<Report>)> {
    Err(Error::new(ErrorKind::Usage(
        "this build has no Parquet support (build with the `parquet` feature)".into(),
    )))
}

/// Runs a conversion over the request's files with a progress line:
/// `convert(open, progress)` opens each input and reports the offset
/// reached in input `i`.
fn with_progress(
    r: &Request<'_>,
    convert: impl FnOnce(
        &mut dyn FnMut(&std::path::Path) -> Result<stream_chat_export::Input>,
        &mut dyn FnMut(usize, u64),
    ) -> Result<Vec<Report>>,
) -> Result<Vec<Report>> {
    let sizes: Vec<u64> = r.files.iter().map(|f| input::size_of(f)).collect();
    let mut progress = Progress::new(!r.no_progress, sizes.iter().sum());
    let no_mmap = r.options.no_mmap;
    let reports = convert(&mut |path| input::open(path, no_mmap), &mut |i, at| {
        // Offsets are of the decompressed bytes; the total is of the
        // files as stored, so a gzip input's share is capped.
        let before: u64 = sizes[..i].iter().sum();
        progress.at_rarely(before + at.min(sizes[i]));
    })?;
    progress.clear();
    Ok(reports)
}

fn print_summary(r: &Request<'_>, s: &TablesSummary, reports: &[Report]) {
    eprintln!(
        "converted to {} tables: {}",
        r.format.name(),
        s.dir.display()
    );
    for (table, c) in &s.tables {
        let files = if c.files == 1 {
            String::new()
        } else {
            format!(" in {} files", c.files)
        };
        eprintln!("  {table}: {} rows{files} ({} bytes)", c.rows, c.bytes);
    }
    for (what, n) in &s.adjusted {
        eprintln!("  adjusted: {n} {what}");
    }
    let entities: u64 = reports.iter().map(|r| r.entities).sum();
    let not_matching = entities.saturating_sub(s.total_rows());
    if not_matching > 0 {
        eprintln!("  dropped: {not_matching} entities not matching the filter options");
    }
    for (file, report) in r.files.iter().zip(reports) {
        if report.errors > 0 {
            eprintln!(
                "  dropped: {} bad records in {}",
                report.errors,
                file.display()
            );
            for e in &report.first_errors {
                eprintln!("    {}", crate::describe(e));
            }
        }
    }
}
