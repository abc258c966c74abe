//! NDJSON tables: one `.jsonl` file per kind.

use super::lines::{LineFormat, Lines, LinesJob, convert_lines, tables_of};
use super::names::TableNames;
use super::staging::{Staging, write_error};
use super::{TableCount, TableWriter, TablesConverter, TablesSummary};
use crate::engine::Engine;
use crate::error::Result;
use crate::io::input::Input;
use crate::model::entity::Entity;
use crate::output::minify;
use crate::read::reader::ReaderBuilder;
use crate::report::Report;
use flate2::write::GzEncoder;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Writes `entity` as one NDJSON line: its JSON exactly as in the input
/// (whitespace outside strings removed, so a pretty-printed v1 entity is
/// one line too; keys, values, escapes and order untouched), with
/// `"cid":"<resolved>"` added as its first key when the record has no
/// `cid` key of its own and a channel was resolved (v1 members and
/// messages, v2 members, reactions that took their message's channel).
/// A lossy record's escaped lone surrogates become `\ufffd`, so every
/// line is JSON that strict readers accept.
///
/// ```
/// use stream_chat_export::{ReaderBuilder, write_ndjson_line};
/// let data = br#"{"type":"channel","item":{"cid":"a:b","type":"a","id":"b"}}
/// {"type":"member","item":{"user_id":"ann"}}
/// "#;
/// let mut reader = ReaderBuilder::new().from_slice(data);
/// let mut out = Vec::new();
/// for e in reader {
///     write_ndjson_line(&e?, &mut out);
/// }
/// assert_eq!(out, b"{\"cid\":\"a:b\",\"type\":\"a\",\"id\":\"b\"}\n{\"cid\":\"a:b\",\"user_id\":\"ann\"}\n");
/// # Ok::<(), stream_chat_export::Error>(())
/// ```
pub fn write_ndjson_line(entity: &Entity<'_>, out: &mut Vec<u8>) {
    let repaired = super::repaired_raw(entity);
    let raw = repaired.as_ref().map_or(entity.raw(), |r| r.as_bytes());
    // Most records are minified already, which the decoder saw: copied.
    let minify = |json: &[u8], out: &mut Vec<u8>| {
        if repaired.is_none() && entity.compact.0 {
            out.extend_from_slice(json);
        } else {
            minify(json, out);
        }
    };
    match entity.cid() {
        Some(cid) if !entity.fields.has_cid_key => {
            out.extend_from_slice(b"{\"cid\":");
            // The cid comes from the file: written as a JSON string, it can
            // never change the line's structure.
            serde_json::to_writer(&mut *out, cid).unwrap_or_default();
            let start = out.len();
            // The raw object without its `{`: `,` then its members, or
            // just `}` for an empty object.
            let inner = raw.strip_prefix(b"{").unwrap_or(raw);
            out.push(b',');
            minify(inner, out);
            if out.get(start + 1) == Some(&b'}') {
                out.remove(start);
            }
        }
        _ => minify(raw, out),
    }
    out.push(b'\n');
}

/// Writes one NDJSON file per kind into a new folder ([`Staging`]):
/// `channels.jsonl`, `members.jsonl`, `messages.jsonl`,
/// `reactions.jsonl`, `users.jsonl`, and one per other kind (names from
/// [`TableNames`]); `.jsonl.gz` when compressed. Lines are in input
/// order within each file ([`write_ndjson_line`]).
#[derive(Debug)]
pub struct NdjsonWriter {
    staging: Staging,
    gzip: bool,
    names: TableNames,
    files: Vec<Table>,
}

#[derive(Debug)]
struct Table {
    path: PathBuf,
    out: Sink,
    buf: Vec<u8>,
    rows: u64,
}

#[derive(Debug)]
enum Sink {
    Plain(BufWriter<File>),
    Gzip(GzEncoder<BufWriter<File>>),
}

/// A table's lines are handed to its file in blocks of this size.
const BLOCK: usize = 1 << 16;

impl NdjsonWriter {
    /// A writer whose tables appear in `dir` when [finished](Self::finish);
    /// gzip-compressed when `gzip`.
    pub fn create(dir: impl AsRef<Path>, gzip: bool) -> Result<NdjsonWriter> {
        Ok(NdjsonWriter {
            staging: Staging::new(dir.as_ref())?,
            gzip,
            names: TableNames::new(),
            files: Vec::new(),
        })
    }

    fn open(&mut self, table: usize) -> Result<()> {
        while self.files.len() <= table {
            let i = self.files.len();
            let ext = if self.gzip { "jsonl.gz" } else { "jsonl" };
            let name = format!("{}.{ext}", self.names.name(i));
            let path = self.staging.path().join(&name);
            let file = File::create_new(&path).map_err(write_error(&path))?;
            let file = BufWriter::with_capacity(BLOCK, file);
            let out = if self.gzip {
                Sink::Gzip(GzEncoder::new(file, flate2::Compression::default()))
            } else {
                Sink::Plain(file)
            };
            self.files.push(Table {
                path: self.staging.destination().join(name),
                out,
                buf: Vec::with_capacity(2 * BLOCK),
                rows: 0,
            });
        }
        Ok(())
    }

    /// Completes every file (gzip trailers, flush, `fsync`) and renames
    /// the folder into place.
    pub fn finish(mut self) -> Result<TablesSummary> {
        let mut summary = TablesSummary::default();
        for (i, mut t) in std::mem::take(&mut self.files).into_iter().enumerate() {
            t.flush_buffer()?;
            let error = write_error(&t.path);
            let file = match t.out {
                Sink::Plain(w) => w,
                Sink::Gzip(g) => g.finish().map_err(&error)?,
            };
            let file = file.into_inner().map_err(|e| error(e.into_error()))?;
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
        summary.dir = self.staging.commit()?;
        Ok(summary)
    }
}

impl Table {
    fn flush_buffer(&mut self) -> Result<()> {
        let buf = std::mem::take(&mut self.buf);
        let result = self.write_block(&buf);
        self.buf = buf;
        self.buf.clear();
        result
    }

    /// Writes `bytes` to the file (after whatever was buffered: call
    /// [`Table::flush_buffer`] first). A worker's block is written as it
    /// is, never kept as the table's buffer.
    fn write_block(&mut self, bytes: &[u8]) -> Result<()> {
        match &mut self.out {
            Sink::Plain(w) => w.write_all(bytes),
            Sink::Gzip(g) => g.write_all(bytes),
        }
        .map_err(write_error(&self.path))
    }
}

/// [`write_ndjson_line`] as the workers' line format.
struct NdjsonLine;

impl LineFormat for NdjsonLine {
    fn format(&self, entity: &Entity<'_>, out: &mut Vec<u8>) -> Result<()> {
        write_ndjson_line(entity, out);
        Ok(())
    }
}

impl NdjsonWriter {
    /// Runs `inputs` through `converter` into this writer with the lines
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
        let job = LinesJob {
            filter: converter.job(),
            format: &NdjsonLine,
        };
        convert_lines(
            &job,
            engine,
            builder,
            inputs,
            open,
            progress,
            &mut |lines| self.write_lines(lines),
        )
    }

    /// Writes formatted lines to their tables; returns the last offset.
    fn write_lines(&mut self, lines: Lines) -> Result<Option<u64>> {
        let (groups, last) = tables_of(lines, &mut self.names)?;
        for (table, group) in groups {
            self.open(table)?;
            let t = &mut self.files[table];
            t.flush_buffer()?;
            t.write_block(&group.bytes)?;
            t.rows += group.ends.len() as u64;
        }
        Ok(last)
    }
}

impl TableWriter for NdjsonWriter {
    fn write(&mut self, entity: &Entity<'_>) -> Result<()> {
        let table = self.names.table(entity)?;
        self.open(table)?;
        let t = &mut self.files[table];
        write_ndjson_line(entity, &mut t.buf);
        t.rows += 1;
        if t.buf.len() >= BLOCK {
            t.flush_buffer()?;
        }
        Ok(())
    }
}
