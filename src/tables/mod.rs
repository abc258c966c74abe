//! Per-kind tables: exports (every input format) to one NDJSON, CSV or
//! Parquet table per entity kind, for spreadsheets, warehouses and
//! distributed engines.
//!
//! A v2 export mixes every kind line by line, and a v1 export is one huge
//! document that a distributed engine can only read whole on one
//! executor: split per kind, each table is read in parallel by anything.
//!
//! [`TablesConverter`] runs a [`FilterJob`] on the [`Engine`] over every
//! input — inherited channels resolved, so every row has its `cid` — and
//! hands the matching entities, in input order, to a [`TableWriter`]:
//!
//! - [`NdjsonWriter`]: `messages.jsonl`, `members.jsonl`, ... each entity's
//!   JSON on one line, values untouched, plus its resolved `cid` when the
//!   record has none; optionally gzip;
//! - [`CsvWriter`]: `messages.csv`, ... fixed columns per kind or chosen
//!   fields ([`CsvWriter::columns`]), quoted by the `csv` crate so that no
//!   value can change the structure, with an optional spreadsheet
//!   formula-injection guard;
//! - `ParquetWriter` (feature `parquet`): one Hive-partitioned dataset per
//!   kind (`messages/date=2024-03-01/part-00000.parquet`), typed columns
//!   plus `extra_json`.
//!
//! Every writer writes into a fresh temporary folder beside the
//! destination and renames that folder over the destination only when
//! every table is complete ([`Staging`]): a reader never sees half a
//! dataset, and a failed run leaves nothing behind. The destination must
//! not exist, or be an empty folder.
//!
//! ```
//! use stream_chat_export::{Engine, Filter, Input, MmapChoice, NdjsonWriter, Parallel, ReaderBuilder, TablesConverter};
//!
//! let dir = tempfile::tempdir()?;
//! let out = dir.path().join("tables");
//! let engine = Engine::new(&Parallel::new())?;
//! let mut writer = NdjsonWriter::create(&out, false)?;
//! let reports = TablesConverter::new(Filter::new()).run(
//!     &engine,
//!     &ReaderBuilder::new(),
//!     &["testdata/fixtures/v1_single.json".into()],
//!     &mut |path| Input::open(path, MmapChoice::never()),
//!     &mut writer,
//!     &mut |_, _| {},
//! )?;
//! let summary = writer.finish()?;
//! assert_eq!(reports[0].errors, 0);
//! assert!(summary.rows("messages") > 0);
//! let members = std::fs::read_to_string(out.join("members.jsonl"))?;
//! // v1 members have no cid of their own: the channel's is added.
//! assert!(members.lines().all(|l| l.starts_with(r#"{"cid":"#)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod csv;
mod lines;
mod names;
mod ndjson;
#[cfg(feature = "parquet")]
mod parquet;
mod staging;

pub use self::csv::{CsvWriter, default_columns};
pub use self::names::TableNames;
pub use self::ndjson::{NdjsonWriter, write_ndjson_line};
#[cfg(feature = "parquet")]
pub use self::parquet::ParquetWriter;
pub use self::staging::Staging;

use crate::engine::{Engine, Out};
use crate::error::Result;
use crate::filter::Filter;
use crate::filter::job::FilterJob;
use crate::io::input::Input;
use crate::model::entity::Entity;
use crate::read::reader::ReaderBuilder;
use crate::report::Report;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A sink of entities that sorts them into one table per kind.
pub trait TableWriter {
    /// Writes one entity into its kind's table.
    fn write(&mut self, entity: &Entity<'_>) -> Result<()>;
}

/// What a table conversion wrote.
#[derive(Debug, Default, Clone)]
#[non_exhaustive]
pub struct TablesSummary {
    /// The destination folder.
    pub dir: PathBuf,
    /// Per table (`messages`, `members`, ...): rows written, files written
    /// and their bytes.
    pub tables: BTreeMap<String, TableCount>,
    /// Values adjusted to be written, per reason (CSV cells prefixed by
    /// the formula guard, timestamps that could not be typed, ...).
    pub adjusted: BTreeMap<&'static str, u64>,
}

/// One table's counts in a [`TablesSummary`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableCount {
    /// Rows (entities) written.
    pub rows: u64,
    /// Files written (one for NDJSON and CSV; one per partition and flush
    /// for Parquet).
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
}

impl TablesSummary {
    /// Rows written to `table` (0 when there is no such table).
    pub fn rows(&self, table: &str) -> u64 {
        self.tables.get(table).map_or(0, |t| t.rows)
    }

    /// Rows written in all.
    pub fn total_rows(&self) -> u64 {
        self.tables.values().map(|t| t.rows).sum()
    }
}

/// Runs the entities of every input that match a [`Filter`] into a
/// [`TableWriter`]: [`NdjsonWriter`], [`CsvWriter`] or `ParquetWriter`
/// (feature `parquet`; its own `convert` method builds the rows on the
/// workers).
///
/// Each input runs as a [`FilterJob`] on the [`Engine`], every input
/// format alike, with inherited channels resolved so that every row has
/// its `cid`; the writer gets the matches in input order.
///
/// ```
/// use stream_chat_export::{Engine, Filter, Input, MmapChoice, NdjsonWriter, Parallel, ReaderBuilder, TablesConverter};
///
/// let dir = tempfile::tempdir()?;
/// let out = dir.path().join("tables");
/// let engine = Engine::new(&Parallel::new())?;
/// let mut writer = NdjsonWriter::create(&out, false)?;
/// let reports = TablesConverter::new(Filter::new()).run(
///     &engine,
///     &ReaderBuilder::new(),
///     &["testdata/fixtures/v1_single.json".into()],
///     &mut |path| Input::open(path, MmapChoice::never()),
///     &mut writer,
///     &mut |_, _| {},
/// )?;
/// let summary = writer.finish()?;
/// assert_eq!(reports[0].errors, 0);
/// assert_eq!(summary.rows("messages"), 5);
/// let members = std::fs::read_to_string(out.join("members.jsonl"))?;
/// assert!(members.lines().all(|l| l.starts_with(r#"{"cid":"messaging:general","#)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct TablesConverter {
    job: FilterJob,
}

impl TablesConverter {
    /// A conversion of the entities `filter` matches (an empty filter
    /// matches everything).
    pub fn new(filter: Filter) -> TablesConverter {
        // Every row names its channel: members, reads and reactions
        // without a cid take the one the reader resolves.
        TablesConverter {
            job: FilterJob::new(filter).resolve_channels(true),
        }
    }

    /// The filter, as the engine job that resolves channels.
    pub(crate) fn job(&self) -> &FilterJob {
        &self.job
    }

    /// Runs over `inputs` one after another, each on every thread of
    /// `engine`, opening each with `open`; `progress(input, at)` is called
    /// now and then with the input's index and the decompressed offset
    /// reached. Returns each input's report. The writer is not finished:
    /// call its `finish` to complete the tables.
    pub fn run<W: TableWriter>(
        &self,
        engine: &Engine,
        builder: &ReaderBuilder,
        inputs: &[PathBuf],
        open: &mut dyn FnMut(&Path) -> Result<Input>,
        writer: &mut W,
        progress: &mut dyn FnMut(usize, u64),
    ) -> Result<Vec<Report>> {
        let mut reports = Vec::with_capacity(inputs.len());
        for (i, path) in inputs.iter().enumerate() {
            let input = open(path)?;
            let mut count = 0u32;
            let outcome = engine.run(&self.job).builder(builder).path(path).input(
                input,
                |out| match out {
                    Out::Entity(e) => {
                        count = count.wrapping_add(1);
                        if count.is_multiple_of(1024) {
                            progress(i, e.offset());
                        }
                        writer.write(&e)
                    }
                    _ => Ok(()),
                },
            )?;
            progress(i, outcome.bytes);
            reports.push(outcome.report);
        }
        Ok(reports)
    }
}

/// The entity's JSON with lone surrogate escapes replaced by `\ufffd`, when
/// it has any (a lossy record): `serde_json`, Spark, DuckDB and the
/// projection all refuse them, and FORMAT.md prefers a lossy value to a
/// lost record.
pub(crate) fn repaired_raw(entity: &Entity<'_>) -> Option<String> {
    if !entity.is_lossy() {
        return None;
    }
    let fixed = crate::decode::surrogates::replace_lone_surrogates(entity.raw())?;
    String::from_utf8(fixed).ok()
}
