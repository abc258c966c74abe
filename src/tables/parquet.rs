//! Parquet tables (feature `parquet`): one Hive-partitioned dataset per
//! kind, for Spark, Trino, DuckDB and DataFusion.

mod encode;
mod row;

use super::names::TableNames;
use super::staging::{Staging, create_dir};
use super::{TableCount, TableWriter, TablesConverter, TablesSummary};
use crate::engine::{Engine, Job, Keep, Out, RuleOut};
use crate::error::{Error, ErrorKind, Result};
use crate::filter::job::FilterJob;
use crate::io::input::Input;
use crate::model::entity::{Entity, Kind};
use crate::model::timestamp::Timestamp;
use crate::read::reader::ReaderBuilder;
use crate::report::Report;
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use encode::{Syncer, write_file};
use row::{Row, build_row, row_bytes};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The partition of rows without a (parsable) `created_at`: the name Hive,
/// Spark and Trino give a null partition value.
pub const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// Writes one Parquet dataset per kind into a new folder ([`Staging`]):
/// `messages/date=2024-03-01/part-00000.parquet`, ... — Hive partitions by
/// the UTC day of `created_at` (`date=__HIVE_DEFAULT_PARTITION__` for rows
/// without one), so Spark, Trino, DuckDB and DataFusion read the folder
/// as one table with a `date` column and prune by it.
///
/// Each kind has typed columns for its common fields, then `extra_json`:
/// the entity's JSON object without the fields the typed columns hold
/// exactly (everything else: custom fields, nested objects, a value whose
/// type differs from its column's). Ids and text are plain UTF-8 strings
/// (no UUID logical type: Spark refuses it); times are microsecond UTC
/// timestamps (`isAdjustedToUTC`; nanoseconds are not read everywhere —
/// a time with digits beyond the microsecond is typed truncated and keeps
/// its exact text in `extra_json` as well).
/// `cid` and `user_id` are the resolved channel and user.
///
/// | table | typed columns |
/// |---|---|
/// | `messages` | cid, id, user_id, type, text, parent_id, created_at, updated_at, deleted_at, reply_count |
/// | `reactions` | cid, message_id, user_id, type, score, created_at, updated_at |
/// | `members` | cid, user_id, channel_role, role, banned, created_at, updated_at |
/// | `channels` | cid, id, type, created_by_id, member_count, created_at, updated_at, last_message_at |
/// | `users` | id, name, role, banned, created_at, updated_at, last_active |
/// | any other | cid, id, user_id, type, created_at |
///
/// Rows are buffered per table and day, and written sorted by `cid` then
/// `created_at` (input order among equals), in row groups of about
/// [`ParquetWriter::row_group_bytes`]. When the buffers together pass
/// [`ParquetWriter::buffer_bytes`], the largest buffered days are written
/// out, each as a file, until at most half the buffer is left (files in
/// parallel, [`ParquetWriter::threads`]): memory stays bounded whatever
/// the input's size, and an input bigger than the buffer gives a day
/// several files, each sorted. Small days (and small tables: channels,
/// users) stay buffered and mostly end as one file each.
///
/// Compression is Snappy, which every engine reads.
#[derive(Debug)]
pub struct ParquetWriter {
    staging: Staging,
    names: TableNames,
    tables: Vec<Table>,
    buffered: usize,
    buffer_bytes: usize,
    row_group_bytes: usize,
    kept_text: u64,
    threads: usize,
    /// The encoding and sync threads, started at the first flush.
    workers: Option<Workers>,
    /// The index of the input being written ([`ParquetWriter::convert`]).
    input: u32,
}

/// The threads that encode files, and those that sync them as they are
/// written.
#[derive(Debug)]
struct Workers {
    pool: rayon::ThreadPool,
    syncer: Syncer,
}

/// A file written: its table, rows and bytes.
type Written = (usize, u64, u64);

#[derive(Debug)]
struct Table {
    name: String,
    layout: &'static [Col],
    schema: SchemaRef,
    /// Rows waiting, per UTC day (`None`: no created_at).
    days: BTreeMap<Option<i64>, Partition>,
    count: TableCount,
}

#[derive(Debug, Default)]
struct Partition {
    rows: Vec<Row>,
    bytes: usize,
    /// Files written for this day so far.
    files: u32,
}

/// A typed column: its name, where its value comes from, its type.
#[derive(Debug)]
struct Col {
    name: &'static str,
    from: From,
    ty: Ty,
}

#[derive(Debug, Clone, Copy)]
enum From {
    /// A top-level key.
    Key(&'static str),
    /// A key of the object at a top-level key (`created_by.id`).
    Nested(&'static str, &'static str),
    /// The resolved channel (the `cid` key absorbed when equal).
    Cid,
    /// The resolved user (a `user_id` key absorbed when equal).
    UserId,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Ty {
    Str,
    Int,
    Bool,
    Time,
}

macro_rules! col {
    ($name:literal, $ty:ident) => {
        Col {
            name: $name,
            from: From::Key($name),
            ty: Ty::$ty,
        }
    };
    ($name:literal, $from:expr, $ty:ident) => {
        Col {
            name: $name,
            from: $from,
            ty: Ty::$ty,
        }
    };
}

const CID: Col = col!("cid", From::Cid, Str);
const USER_ID: Col = col!("user_id", From::UserId, Str);

const MESSAGES: &[Col] = &[
    CID,
    col!("id", Str),
    USER_ID,
    col!("type", Str),
    col!("text", Str),
    col!("parent_id", Str),
    col!("created_at", Time),
    col!("updated_at", Time),
    col!("deleted_at", Time),
    col!("reply_count", Int),
];
const REACTIONS: &[Col] = &[
    CID,
    col!("message_id", Str),
    USER_ID,
    col!("type", Str),
    col!("score", Int),
    col!("created_at", Time),
    col!("updated_at", Time),
];
const MEMBERS: &[Col] = &[
    CID,
    USER_ID,
    col!("channel_role", Str),
    col!("role", Str),
    col!("banned", Bool),
    col!("created_at", Time),
    col!("updated_at", Time),
];
const CHANNELS: &[Col] = &[
    CID,
    col!("id", Str),
    col!("type", Str),
    col!("created_by_id", From::Nested("created_by", "id"), Str),
    col!("member_count", Int),
    col!("created_at", Time),
    col!("updated_at", Time),
    col!("last_message_at", Time),
];
const USERS: &[Col] = &[
    col!("id", Str),
    col!("name", Str),
    col!("role", Str),
    col!("banned", Bool),
    col!("created_at", Time),
    col!("updated_at", Time),
    col!("last_active", Time),
];
const OTHERS: &[Col] = &[
    CID,
    col!("id", Str),
    USER_ID,
    col!("type", Str),
    col!("created_at", Time),
];

fn layout_of(kind: Kind) -> &'static [Col] {
    match kind {
        Kind::Message => MESSAGES,
        Kind::Reaction => REACTIONS,
        Kind::Member => MEMBERS,
        Kind::Channel => CHANNELS,
        Kind::User => USERS,
        _ => OTHERS,
    }
}

fn schema_of(layout: &[Col]) -> SchemaRef {
    let mut fields: Vec<Field> = layout
        .iter()
        .map(|c| {
            let ty = match c.ty {
                Ty::Str => DataType::Utf8,
                Ty::Int => DataType::Int64,
                Ty::Bool => DataType::Boolean,
                Ty::Time => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            };
            Field::new(c.name, ty, true)
        })
        .collect();
    fields.push(Field::new("extra_json", DataType::Utf8, false));
    Arc::new(Schema::new(fields))
}

impl ParquetWriter {
    /// A writer whose datasets appear in `dir` when
    /// [finished](Self::finish); 256 MiB of row buffers, row groups of
    /// about 64 MiB.
    pub fn create(dir: impl AsRef<Path>) -> Result<ParquetWriter> {
        Ok(ParquetWriter {
            staging: Staging::new(dir.as_ref())?,
            names: TableNames::new(),
            tables: Vec::new(),
            buffered: 0,
            buffer_bytes: 256 << 20,
            row_group_bytes: 64 << 20,
            kept_text: 0,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            workers: None,
            input: 0,
        })
    }

    /// Threads that encode and write files (default: every core).
    pub fn threads(&mut self, n: usize) -> &mut Self {
        self.threads = n.max(1);
        self
    }

    /// The rows buffered before the largest buffered days are written out
    /// down to half of it (estimated bytes of their values; at least 1).
    pub fn buffer_bytes(&mut self, bytes: usize) -> &mut Self {
        self.buffer_bytes = bytes.max(1);
        self
    }

    /// The size of a row group (estimated bytes of its values, before
    /// encoding; at least 1).
    pub fn row_group_bytes(&mut self, bytes: usize) -> &mut Self {
        self.row_group_bytes = bytes.max(1);
        self
    }

    /// Writes every buffered partition, closes the files and renames the
    /// folder into place.
    pub fn finish(mut self) -> Result<TablesSummary> {
        self.flush_all()?;
        let mut summary = TablesSummary::default();
        for t in &self.tables {
            summary.tables.insert(t.name.clone(), t.count);
        }
        if self.kept_text > 0 {
            summary.adjusted.insert(
                "times with digits beyond the microsecond (typed truncated, their text also kept in extra_json)",
                self.kept_text,
            );
        }
        if let Some(workers) = self.workers.take() {
            workers.syncer.finish()?;
        }
        summary.dir = self.staging.commit()?;
        Ok(summary)
    }

    /// Writes every buffered day of every table.
    fn flush_all(&mut self) -> Result<()> {
        self.flush_down_to(0)
    }

    /// Writes the largest buffered days of every table, each as a new
    /// file, until at most `keep` bytes stay buffered; the files are
    /// written in parallel (a dataset has hundreds of days: one at a time,
    /// the per-file work — schema, footer, fsync — would dominate).
    ///
    /// Why the largest first, down to a fraction of the buffer: writing
    /// every day at each full buffer gives every day a file per buffer's
    /// worth of input, small days and small tables included (a 1 GiB
    /// export gave 6,600 files, creating them a tenth of the run); writing
    /// only the largest day would free a sliver and write again at the
    /// next row. Down to half, each flush frees at least half the buffer.
    fn flush_down_to(&mut self, keep: usize) -> Result<()> {
        let mut sizes: Vec<(usize, usize, Option<i64>)> = Vec::new();
        for (table, t) in self.tables.iter().enumerate() {
            for (day, part) in &t.days {
                if !part.rows.is_empty() {
                    sizes.push((part.bytes, table, *day));
                }
            }
        }
        // Largest first; ties in table and day order, so the files a run
        // writes do not depend on anything but the input.
        sizes.sort_unstable_by(|a, b| b.0.cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
        let mut jobs = Vec::new();
        for (bytes, table, day) in sizes {
            if keep > 0 && self.buffered <= keep {
                break;
            }
            let Some(part) = self.tables[table].days.get_mut(&day) else {
                continue;
            };
            let rows = std::mem::take(&mut part.rows);
            part.bytes = 0;
            jobs.push((table, day, part.files, rows));
            part.files += 1;
            self.buffered = self.buffered.saturating_sub(bytes);
        }
        if keep == 0 {
            self.buffered = 0;
        }
        if self.workers.is_none() {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(self.threads)
                .thread_name(|i| format!("stream-chat-export-parquet-{i}"))
                .build()
                .map_err(|e| Error::new(ErrorKind::Usage(format!("cannot start threads: {e}"))))?;
            let syncer = Syncer::start()?;
            self.workers = Some(Workers { pool, syncer });
        }
        let this = &*self;
        let written: Vec<Result<Written>> = match &this.workers {
            Some(w) => w.pool.install(|| {
                use rayon::prelude::*;
                jobs.into_par_iter()
                    .map(|(table, day, n, rows)| this.write_day(&w.syncer, table, day, n, rows))
                    .collect()
            }),
            None => Vec::new(),
        };
        for w in written {
            let (table, rows, bytes) = w?;
            let count = &mut self.tables[table].count;
            count.rows += rows;
            count.files += 1;
            count.bytes += bytes;
        }
        Ok(())
    }

    /// Writes `rows` of `table`'s `day` as its file number `n`; returns
    /// the table, the rows and the bytes written.
    fn write_day(
        &self,
        syncer: &Syncer,
        table: usize,
        day: Option<i64>,
        n: u32,
        mut rows: Vec<Row>,
    ) -> Result<Written> {
        let t = &self.tables[table];
        // Rows with equal keys stay in input order (`order` is unique).
        rows.sort_unstable_by(|a, b| {
            (a.cid(), a.created_at, a.order).cmp(&(b.cid(), b.created_at, b.order))
        });
        let partition = match day {
            Some(d) => format!("date={}", day_name(d)),
            None => format!("date={NULL_PARTITION}"),
        };
        let rel = Path::new(&t.name)
            .join(&partition)
            .join(format!("part-{n:05}.parquet"));
        let temp = self.staging.path().join(&rel);
        let shown = self.staging.destination().join(&rel);
        if let Some(dir) = temp.parent() {
            create_dir(dir)?;
        }
        let (bytes, file) = write_file(
            &temp,
            &shown,
            &t.schema,
            t.layout,
            &rows,
            self.row_group_bytes,
        )?;
        syncer.sync(file, shown)?;
        Ok((table, rows.len() as u64, bytes))
    }
}

impl TableWriter for ParquetWriter {
    fn write(&mut self, entity: &Entity<'_>) -> Result<()> {
        let row = build_row(entity, self.input)?;
        self.add(entity.kind(), entity.type_name(), entity.offset(), row)
    }
}

impl ParquetWriter {
    /// Buffers a row into its table and day.
    fn add(&mut self, kind: Kind, type_name: &str, offset: u64, row: Row) -> Result<()> {
        let table = self.names.table_of(kind, type_name, offset)?;
        while self.tables.len() <= table {
            let layout = layout_of(kind);
            self.tables.push(Table {
                name: self.names.name(self.tables.len()).to_string(),
                layout,
                schema: schema_of(layout),
                days: BTreeMap::new(),
                count: TableCount::default(),
            });
        }
        if row.kept_text {
            self.kept_text += 1;
        }
        let day = row.created_at.map(|us| us.div_euclid(86_400_000_000));
        let bytes = row_bytes(&row);
        let part = self.tables[table].days.entry(day).or_default();
        part.rows.push(row);
        part.bytes += bytes;
        self.buffered += bytes;
        if self.buffered > self.buffer_bytes {
            self.flush_down_to(self.buffer_bytes / 2)?;
        }
        Ok(())
    }

    /// Runs `inputs` through `converter` into this writer with the rows
    /// built on the engine's workers (the sink only buffers them); the
    /// dataset is the same as [`TablesConverter::run`] gives. The writer
    /// is not finished.
    pub fn convert(
        &mut self,
        converter: &TablesConverter,
        engine: &Engine,
        builder: &ReaderBuilder,
        inputs: &[PathBuf],
        open: &mut dyn FnMut(&Path) -> Result<Input>,
        progress: &mut dyn FnMut(usize, u64),
    ) -> Result<Vec<Report>> {
        let mut reports = Vec::with_capacity(inputs.len());
        for (i, path) in inputs.iter().enumerate() {
            let input = u32::try_from(i).unwrap_or(u32::MAX);
            self.input = input;
            let job = RowsJob {
                filter: converter.job(),
                input,
            };
            let source = open(path)?;
            let outcome = engine
                .run(&job)
                .builder(builder)
                .path(path)
                .input(source, |out| match out {
                    Out::Partial(built) => {
                        let mut last = 0;
                        for (kind, type_name, row) in built.rows {
                            last = row.order.1;
                            let type_name = built.types.get(type_name).map_or("", |t| t);
                            self.add(kind, type_name, row.order.1, row)?;
                        }
                        progress(i, last);
                        Ok(())
                    }
                    Out::Entity(e) => self.write(&e),
                    Out::Error(_) => Ok(()),
                })?;
            progress(i, outcome.bytes);
            reports.push(outcome.report);
        }
        Ok(reports)
    }
}

/// Rows built on a worker, with their kind and type name (an index into
/// `types`: a chunk holds a handful).
#[derive(Default)]
struct Built {
    rows: Vec<(Kind, usize, Row)>,
    types: Vec<Box<str>>,
    bytes: usize,
}

impl Built {
    fn type_index(&mut self, name: &str) -> usize {
        match self.types.iter().position(|t| &**t == name) {
            Some(i) => i,
            None => {
                self.types.push(name.into());
                self.types.len() - 1
            }
        }
    }
}

/// A partial goes to the sink past this many bytes of rows on the
/// sequential executor ([`Job::partial_full`]), which would otherwise keep
/// one partial for a whole input (a v1 stream).
const PARTIAL_MAX: usize = 16 << 20;

/// The converter's filter, building each match's row on the worker.
struct RowsJob<'f> {
    filter: &'f FilterJob,
    input: u32,
}

impl Job for RowsJob<'_> {
    type Partial = Built;

    fn entity(&self, entity: &Entity<'_>, built: &mut Built) -> Keep {
        if self.filter.entity(entity, &mut ()) == Keep::Done {
            return Keep::Done;
        }
        match build_row(entity, self.input) {
            Ok(row) => {
                built.bytes += row_bytes(&row);
                let type_name = built.type_index(entity.type_name());
                built.rows.push((entity.kind(), type_name, row));
                Keep::Done
            }
            // The sink builds it again and reports the error.
            Err(_) => Keep::Deliver,
        }
    }

    fn needs_context(&self) -> bool {
        self.filter.needs_context()
    }

    fn rule_out(&self) -> RuleOut<'_> {
        self.filter.rule_out()
    }

    fn partial_full(&self, built: &Built) -> bool {
        built.bytes > PARTIAL_MAX
    }

    fn prefetch_fields(&self) -> &'static [&'static str] {
        row::PREFETCH
    }
}

/// `YYYY-MM-DD` of a day counted from 1970-01-01.
fn day_name(day: i64) -> String {
    let t = Timestamp::from_unix(day.saturating_mul(86_400), 0);
    t.to_chrono().format("%Y-%m-%d").to_string()
}
