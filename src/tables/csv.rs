//! CSV tables: one `.csv` file per kind, columns through the projection
//! layer, written by the `csv` crate.

use super::lines::{LineFormat, Lines, LinesJob, convert_lines, tables_of};
use super::names::{TableNames, base_name};
use super::staging::{Staging, write_error};
use super::{TableCount, TableWriter, TablesConverter, TablesSummary};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::io::input::Input;
use crate::model::entity::{Entity, Kind};
use crate::project::{Projection, ValueKind, Values};
use crate::read::reader::ReaderBuilder;
use crate::report::Report;
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The columns a table gets unless [`CsvWriter::columns`] chooses others.
///
/// | table | columns |
/// |---|---|
/// | `messages` | cid, id, user_id, created_at, updated_at, type, parent_id, text, reply_count, reaction_count, attachment_count, deleted_at |
/// | `reactions` | cid, message_id, user_id, type, score, created_at, updated_at |
/// | `members` | cid, user_id, channel_role, role, status, created_at, updated_at, banned, shadow_banned, invited, archived_at, deleted_at |
/// | `channels` | cid, type, id, created_by.id, created_at, updated_at, last_message_at, deleted_at, truncated_at, frozen, disabled, member_count, team, name |
/// | `users` | id, name, role, created_at, updated_at, last_active, banned, online, deleted_at |
/// | `reads` | cid, user_id, last_read, unread_messages, last_read_message_id |
/// | `devices` | id, user_id, push_provider, created_at |
/// | any other | cid, id, user_id, type, created_at |
pub fn default_columns(table: &str) -> &'static [&'static str] {
    match table {
        "messages" => &[
            "cid",
            "id",
            "user_id",
            "created_at",
            "updated_at",
            "type",
            "parent_id",
            "text",
            "reply_count",
            "reaction_count",
            "attachment_count",
            "deleted_at",
        ],
        "reactions" => &[
            "cid",
            "message_id",
            "user_id",
            "type",
            "score",
            "created_at",
            "updated_at",
        ],
        "members" => &[
            "cid",
            "user_id",
            "channel_role",
            "role",
            "status",
            "created_at",
            "updated_at",
            "banned",
            "shadow_banned",
            "invited",
            "archived_at",
            "deleted_at",
        ],
        "channels" => &[
            "cid",
            "type",
            "id",
            "created_by.id",
            "created_at",
            "updated_at",
            "last_message_at",
            "deleted_at",
            "truncated_at",
            "frozen",
            "disabled",
            "member_count",
            "team",
            "name",
        ],
        "users" => &[
            "id",
            "name",
            "role",
            "created_at",
            "updated_at",
            "last_active",
            "banned",
            "online",
            "deleted_at",
        ],
        "reads" => &[
            "cid",
            "user_id",
            "last_read",
            "unread_messages",
            "last_read_message_id",
        ],
        "devices" => &["id", "user_id", "push_provider", "created_at"],
        _ => &["cid", "id", "user_id", "type", "created_at"],
    }
}

/// Writes one CSV file per kind into a new folder ([`Staging`]):
/// `messages.csv`, `reactions.csv`, `members.csv`, `channels.csv`,
/// `users.csv`, and one per other kind (names from [`TableNames`]), each
/// with a header row, rows in input order.
///
/// A column is a field of the entity — a top-level key or a dotted path
/// (`user.name`, `config.max_message_length`) read by a [`Projection`] —
/// written as: nothing for a missing field or `null`; a string's text
/// (escapes decoded); a number or boolean as written; an object or array
/// as its JSON text. Four names are derived when the record has no field
/// of that name: `cid` and `user_id` are the resolved channel and user
/// ([`Entity::cid`], [`Entity::user_id`]: a member's channel, a message's
/// `user.id`), `reaction_count` sums `reaction_counts`, and
/// `attachment_count` counts `attachments`.
///
/// Cells are quoted by the `csv` crate (RFC 4180: a cell holding `,`, `"`,
/// a line break is quoted and its quotes doubled), so no value can add a
/// column or a row. With [`CsvWriter::formula_guard`], cells that a
/// spreadsheet would run as a formula are neutralized as OWASP advises.
///
/// ```
/// use stream_chat_export::{CsvWriter, ReaderBuilder, TableWriter};
/// let dir = tempfile::tempdir()?;
/// let out = dir.path().join("csv");
/// let mut writer = CsvWriter::create(&out)?;
/// writer.columns("messages", &["id", "user.name", "text"])?;
/// let data = br#"{"type":"message","item":{"id":"m1","user":{"id":"a","name":"Ann"},"text":"hi, \"you\"\nthere"}}"#;
/// for e in ReaderBuilder::new().from_slice(data) {
///     writer.write(&e?)?;
/// }
/// writer.finish()?;
/// let text = std::fs::read_to_string(out.join("messages.csv"))?;
/// assert_eq!(text, "id,user.name,text\nm1,Ann,\"hi, \"\"you\"\"\nthere\"\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct CsvWriter {
    staging: Staging,
    names: TableNames,
    columns: Columns,
    guard: bool,
    tables: Vec<Table>,
    guarded: u64,
    repaired: u64,
}

#[derive(Debug)]
struct Table {
    path: PathBuf,
    out: BufWriter<File>,
    /// The record being written (reused).
    record: Vec<u8>,
    layout: Layout,
    values: Option<Values<'static>>,
    rows: u64,
}

/// The columns chosen per table (by base name), and for every other
/// table.
#[derive(Debug, Clone, Default)]
struct Columns {
    chosen: HashMap<String, Vec<String>>,
    all: Option<Vec<String>>,
}

impl Columns {
    /// The columns of a table, chosen by its base name (a table whose
    /// name got a collision suffix has the columns of its base).
    fn of(&self, base: &str) -> Vec<String> {
        match self.chosen.get(base).or(self.all.as_ref()) {
            Some(f) => f.clone(),
            None => default_columns(base)
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }
}

/// How a table's columns are read: the projection and what each column
/// takes from it.
#[derive(Debug)]
struct Layout {
    projection: Projection,
    columns: Vec<Column>,
}

#[derive(Debug, Clone, Copy)]
enum Column {
    /// The field in this slot.
    Field(usize),
    /// The field, else the resolved cid.
    Cid(usize),
    /// The field, else the resolved user id.
    UserId(usize),
    /// The field, else the sum of `reaction_counts` (in the second slot).
    ReactionCount(usize, usize),
    /// The field, else the length of `attachments` (in the second slot).
    AttachmentCount(usize, usize),
}

impl Layout {
    fn new(fields: &[String]) -> Result<Layout> {
        let mut paths: Vec<String> = fields.to_vec();
        fn extra(name: &str, paths: &mut Vec<String>) -> usize {
            paths.push(name.to_string());
            paths.len() - 1
        }
        let mut columns = Vec::with_capacity(fields.len());
        for (slot, field) in fields.iter().enumerate() {
            columns.push(match field.as_str() {
                "cid" => Column::Cid(slot),
                "user_id" => Column::UserId(slot),
                "reaction_count" => {
                    Column::ReactionCount(slot, extra("reaction_counts", &mut paths))
                }
                "attachment_count" => {
                    Column::AttachmentCount(slot, extra("attachments", &mut paths))
                }
                _ => Column::Field(slot),
            });
        }
        Ok(Layout {
            projection: Projection::new(&paths)?,
            columns,
        })
    }
}

/// What one cell holds before it is written.
enum Cell<'a> {
    Text(Cow<'a, str>),
    /// A number or boolean, or a count: never a formula.
    Literal(Cow<'a, str>),
}

impl CsvWriter {
    /// A writer whose tables appear in `dir` when [finished](Self::finish).
    pub fn create(dir: impl AsRef<Path>) -> Result<CsvWriter> {
        Ok(CsvWriter {
            staging: Staging::new(dir.as_ref())?,
            names: TableNames::new(),
            columns: Columns::default(),
            guard: false,
            tables: Vec::new(),
            guarded: 0,
            repaired: 0,
        })
    }

    /// The columns of `table` (`messages`, or the kind's name `message`),
    /// instead of its [default](default_columns); `*` sets them for every
    /// table without columns of its own. A table whose name took a
    /// collision suffix ([`TableNames`]: `calls-2`) has the columns of the
    /// name without it. Fails on an empty list or field name, and once the
    /// table's file is started.
    pub fn columns<S: AsRef<str>>(&mut self, table: &str, fields: &[S]) -> Result<&mut Self> {
        let fields: Vec<String> = fields.iter().map(|f| f.as_ref().to_string()).collect();
        if fields.is_empty() {
            return Err(Error::new(ErrorKind::Usage(format!(
                "no columns given for {table}"
            ))));
        }
        // Checks the names now rather than at the first row.
        Layout::new(&fields)?;
        if table == "*" {
            self.columns.all = Some(fields);
        } else {
            let kind = Kind::from_type_name(table);
            let name = if kind == Kind::Other {
                table.to_string()
            } else {
                format!("{}s", kind.as_str())
            };
            self.columns.chosen.insert(name, fields);
        }
        Ok(self)
    }

    /// Neutralize spreadsheet formulas (OWASP, "CSV Injection"): a text
    /// cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage
    /// return (or their full-width forms `＝＋－＠`) gets a leading `'`,
    /// so Excel, LibreOffice and Google Sheets show it as text instead of
    /// running it, and every cell is quoted. Numbers are never prefixed
    /// (`-5` stays a number). Off by default: the prefix changes the data
    /// for every other reader.
    pub fn formula_guard(&mut self, yes: bool) -> &mut Self {
        self.guard = yes;
        self
    }

    fn open(&mut self, table: usize) -> Result<()> {
        while self.tables.len() <= table {
            let name = self.names.name(self.tables.len()).to_string();
            let fields = self.columns.of(self.names.base(self.tables.len()));
            let layout = Layout::new(&fields)?;
            let file_name = format!("{name}.csv");
            let temp = self.staging.path().join(&file_name);
            let path = self.staging.destination().join(&file_name);
            let file = File::create_new(&temp).map_err(write_error(&path))?;
            let mut out = BufWriter::with_capacity(1 << 16, file);
            let mut header = Vec::new();
            with_csv(self.guard, &mut header, |w| w.write_record(&fields))
                .map_err(write_error(&path))?
                .map_err(|e| csv_error(&path, e))?;
            out.write_all(&header).map_err(write_error(&path))?;
            self.tables.push(Table {
                path,
                out,
                record: Vec::new(),
                layout,
                values: None,
                rows: 0,
            });
        }
        Ok(())
    }

    /// Flushes and `fsync`s every file and renames the folder into place.
    pub fn finish(mut self) -> Result<TablesSummary> {
        let mut summary = TablesSummary::default();
        for (i, t) in std::mem::take(&mut self.tables).into_iter().enumerate() {
            let error = write_error(&t.path);
            let file = t.out.into_inner().map_err(|e| error(e.into_error()))?;
            file.sync_all().map_err(&error)?;
            let bytes = file.metadata().map_err(&error)?.len();
            summary.tables.insert(
                self.names.name(i).to_string(),
                TableCount {
                    rows: t.rows,
                    files: 1,
                    bytes,
                },
            );
        }
        if self.guarded > 0 {
            summary
                .adjusted
                .insert("CSV cells prefixed with ' (formula guard)", self.guarded);
        }
        if self.repaired > 0 {
            summary.adjusted.insert(
                "records with lone surrogate escapes (written as U+FFFD)",
                self.repaired,
            );
        }
        summary.dir = self.staging.commit()?;
        Ok(summary)
    }
}

impl TableWriter for CsvWriter {
    fn write(&mut self, entity: &Entity<'_>) -> Result<()> {
        let table = self.names.table(entity)?;
        self.open(table)?;
        let repaired = super::repaired_raw(entity);
        if repaired.is_some() {
            self.repaired += 1;
        }
        let raw: &str = match &repaired {
            Some(r) => r,
            None => entity.raw_str(),
        };
        let t = &mut self.tables[table];
        let mut values = t.values.take().unwrap_or_default().recycle();
        t.record.clear();
        let written = with_csv(self.guard, &mut t.record, |w| {
            write_record(&t.layout, entity, raw, self.guard, &mut values, w)
        })
        .map_err(write_error(&t.path))?;
        t.values = Some(values.recycle());
        self.guarded += match written {
            Ok(guarded) => guarded,
            Err(RecordError::Entity(e)) => return Err(e),
            Err(RecordError::Csv(e)) => return Err(csv_error(&t.path, e)),
        };
        t.out.write_all(&t.record).map_err(write_error(&t.path))?;
        t.rows += 1;
        Ok(())
    }
}

impl CsvWriter {
    /// Runs `inputs` through `converter` into this writer with the records
    /// formatted on the engine's workers (the sink only writes them, in
    /// input order); the tables are the same as [`TablesConverter::run`]
    /// gives. The writer is not finished.
    pub fn convert(
        &mut self,
        converter: &TablesConverter,
        engine: &Engine,
        builder: &ReaderBuilder,
        inputs: &[PathBuf],
        open: &mut dyn FnMut(&Path) -> Result<Input>,
        progress: &mut dyn FnMut(usize, u64),
    ) -> Result<Vec<Report>> {
        let format = CsvRecords::new(self)?;
        let job = LinesJob {
            filter: converter.job(),
            format: &format,
        };
        let reports = convert_lines(
            &job,
            engine,
            builder,
            inputs,
            open,
            progress,
            &mut |lines| self.write_lines(lines),
        );
        self.guarded += format.guarded.load(Ordering::Relaxed);
        self.repaired += format.repaired.load(Ordering::Relaxed);
        reports
    }

    /// Writes formatted records to their tables; returns the last offset.
    fn write_lines(&mut self, lines: Lines) -> Result<Option<u64>> {
        let (groups, last) = tables_of(lines, &mut self.names)?;
        for (table, group) in groups {
            self.open(table)?;
            let t = &mut self.tables[table];
            t.out
                .write_all(&group.bytes)
                .map_err(write_error(&t.path))?;
            t.rows += group.ends.len() as u64;
        }
        Ok(last)
    }
}

/// The workers' CSV records: each table's layout is chosen by its base
/// name ([`base_name`]), as the sink chooses it, so both write the same
/// bytes.
struct CsvRecords {
    columns: Columns,
    guard: bool,
    /// Layouts by base name, built on first use.
    layouts: Mutex<HashMap<String, Arc<Layout>>>,
    /// The layouts of the known kinds, by kind, built up front (no lock
    /// for the common case).
    known: Vec<(Kind, Arc<Layout>)>,
    guarded: AtomicU64,
    repaired: AtomicU64,
}

thread_local! {
    /// The projection's buffer, reused per worker thread.
    static VALUES: RefCell<Option<Values<'static>>> = const { RefCell::new(None) };
}

impl CsvRecords {
    fn new(w: &CsvWriter) -> Result<CsvRecords> {
        let mut r = CsvRecords {
            columns: w.columns.clone(),
            guard: w.guard,
            layouts: Mutex::new(HashMap::new()),
            known: Vec::new(),
            guarded: AtomicU64::new(0),
            repaired: AtomicU64::new(0),
        };
        for kind in [
            Kind::Message,
            Kind::Reaction,
            Kind::Member,
            Kind::Channel,
            Kind::User,
            Kind::Read,
            Kind::Device,
        ] {
            let layout = Layout::new(&r.columns.of(&base_name(kind, kind.as_str())))?;
            r.known.push((kind, Arc::new(layout)));
        }
        Ok(r)
    }

    fn layout(&self, entity: &Entity<'_>) -> Result<Arc<Layout>> {
        if let Some((_, l)) = self.known.iter().find(|(k, _)| *k == entity.kind()) {
            return Ok(Arc::clone(l));
        }
        let base = base_name(entity.kind(), entity.type_name());
        let mut layouts = self
            .layouts
            .lock()
            .map_err(|_| Error::new(ErrorKind::Usage("a CSV worker panicked".into())))?;
        if let Some(l) = layouts.get(&base) {
            return Ok(Arc::clone(l));
        }
        let layout = Arc::new(Layout::new(&self.columns.of(&base))?);
        layouts.insert(base, Arc::clone(&layout));
        Ok(layout)
    }
}

impl LineFormat for CsvRecords {
    fn format(&self, entity: &Entity<'_>, out: &mut Vec<u8>) -> Result<()> {
        let layout = self.layout(entity)?;
        let repaired = super::repaired_raw(entity);
        if repaired.is_some() {
            self.repaired.fetch_add(1, Ordering::Relaxed);
        }
        let raw: &str = repaired.as_deref().unwrap_or(entity.raw_str());
        VALUES.with_borrow_mut(|slot| {
            let mut values = slot.take().unwrap_or_default().recycle();
            let written = with_csv(self.guard, out, |w| {
                write_record(&layout, entity, raw, self.guard, &mut values, w)
            });
            *slot = Some(values.recycle());
            match written.map_err(|e| Error::new(ErrorKind::Write(e)))? {
                Ok(n) => {
                    if n > 0 {
                        self.guarded.fetch_add(n, Ordering::Relaxed);
                    }
                    Ok(())
                }
                Err(RecordError::Entity(e)) => Err(e),
                Err(RecordError::Csv(e)) => Err(Error::new(ErrorKind::Write(
                    std::io::Error::other(e.to_string()),
                ))),
            }
        })
    }
}

/// Runs `f` with a CSV writer that appends to `out`, then flushes it
/// there (a record at a time: a small buffer).
fn with_csv<R>(
    guard: bool,
    out: &mut Vec<u8>,
    f: impl FnOnce(&mut csv::Writer<&mut Vec<u8>>) -> R,
) -> std::io::Result<R> {
    let mut w = csv_builder(guard).buffer_capacity(1024).from_writer(out);
    let r = f(&mut w);
    w.flush()?;
    Ok(r)
}

/// The CSV writer settings of every table.
fn csv_builder(guard: bool) -> csv::WriterBuilder {
    let mut b = csv::WriterBuilder::new();
    b.quote_style(if guard {
        csv::QuoteStyle::Always
    } else {
        csv::QuoteStyle::Necessary
    });
    b
}

/// Why a record was not written.
enum RecordError {
    /// The entity is not an object the projection reads.
    Entity(Error),
    /// Writing failed.
    Csv(csv::Error),
}

/// Writes `entity` (whose JSON is `raw`) as one record of a table with
/// `layout`; returns how many cells the formula guard prefixed.
fn write_record<'a, W: std::io::Write>(
    layout: &Layout,
    entity: &'a Entity<'_>,
    raw: &'a str,
    guard: bool,
    values: &mut Values<'a>,
    out: &mut csv::Writer<W>,
) -> std::result::Result<u64, RecordError> {
    layout.projection.extract_into(raw, values).map_err(|e| {
        RecordError::Entity(Error::new(ErrorKind::Usage(format!(
            "entity at byte {}: {e}",
            entity.offset()
        ))))
    })?;
    let mut guarded = 0;
    for column in &layout.columns {
        let written: Cow<'_, str> = match cell(entity, values, *column) {
            Some(Cell::Text(text)) if guard && is_formula(&text) => {
                guarded += 1;
                Cow::Owned(format!("'{text}"))
            }
            Some(Cell::Text(text)) | Some(Cell::Literal(text)) => text,
            None => Cow::Borrowed(""),
        };
        out.write_field(written.as_bytes())
            .map_err(RecordError::Csv)?;
    }
    out.write_record(None::<&[u8]>).map_err(RecordError::Csv)?;
    Ok(guarded)
}

/// One column's cell.
fn cell<'a>(entity: &'a Entity<'_>, values: &Values<'a>, column: Column) -> Option<Cell<'a>> {
    let present = |slot: usize| values.get(slot).filter(|v| !v.is_null());
    match column {
        Column::Field(slot) => present(slot).map(value_cell),
        Column::Cid(slot) => present(slot)
            .map(value_cell)
            .or_else(|| entity.cid().map(|c| Cell::Text(Cow::Borrowed(c)))),
        Column::UserId(slot) => present(slot)
            .map(value_cell)
            .or_else(|| entity.user_id().map(|u| Cell::Text(Cow::Borrowed(u)))),
        Column::ReactionCount(slot, counts) => present(slot).map(value_cell).or_else(|| {
            let raw = present(counts)?.raw();
            let counts: BTreeMap<Cow<'_, str>, serde_json::Number> =
                serde_json::from_str(raw).ok()?;
            let total: i64 = counts.values().filter_map(serde_json::Number::as_i64).sum();
            Some(Cell::Literal(Cow::Owned(total.to_string())))
        }),
        Column::AttachmentCount(slot, list) => present(slot).map(value_cell).or_else(|| {
            let raw = present(list)?.raw();
            let items: Vec<&serde_json::value::RawValue> = serde_json::from_str(raw).ok()?;
            Some(Cell::Literal(Cow::Owned(items.len().to_string())))
        }),
    }
}

fn value_cell<'a>(value: crate::project::Value<'a>) -> Cell<'a> {
    match value.kind() {
        ValueKind::String => Cell::Text(value.as_str().unwrap_or_default()),
        ValueKind::Number | ValueKind::Bool | ValueKind::Null => {
            Cell::Literal(Cow::Borrowed(value.raw()))
        }
        // Objects and arrays as JSON text on one line: their strings may
        // start with anything, so they count as text for the guard.
        ValueKind::Object | ValueKind::Array => {
            let mut out = Vec::with_capacity(value.raw().len());
            crate::output::minify(value.raw().as_bytes(), &mut out);
            Cell::Text(Cow::Owned(String::from_utf8(out).unwrap_or_default()))
        }
    }
}

/// Would a spreadsheet read this cell as a formula (OWASP's list)?
fn is_formula(text: &str) -> bool {
    matches!(
        text.chars().next(),
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '＝' | '＋' | '－' | '＠')
    )
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    let io = match e.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => std::io::Error::other(format!("{other:?}")),
    };
    Error::new(ErrorKind::Write(io)).with_path(path)
}

#[cfg(test)]
mod tests {
    use super::is_formula;

    #[test]
    fn formulas() {
        for f in ["=1+2", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "＝1"] {
            assert!(is_formula(f), "{f:?}");
        }
        for t in ["", "a=1", " =1", "'=1", "1-2"] {
            assert!(!is_formula(t), "{t:?}");
        }
    }
}
