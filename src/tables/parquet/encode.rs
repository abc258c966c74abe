//! Encoding: a partition's sorted rows as a Parquet file, in row groups
//! of a size, through arrow-rs; and the final sync of the dataset.

use super::row::{Cell, Row, row_bytes};
use super::{Col, Ty};
use crate::error::{Error, ErrorKind, Result};
use crate::tables::staging::write_error;
use arrow_array::builder::{
    BooleanBuilder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Writes `rows` as one Parquet file at `temp` (`shown` names it in
/// errors), in row groups of about `group_bytes`; returns its size and
/// the open file, for the [`Syncer`].
pub(super) fn write_file(
    temp: &Path,
    shown: &Path,
    schema: &SchemaRef,
    layout: &[Col],
    rows: &[Row],
    group_bytes: usize,
) -> Result<(u64, File)> {
    let error = write_error(shown);
    let parquet_error = |e: parquet::errors::ParquetError| -> Error {
        Error::new(ErrorKind::Write(std::io::Error::other(e.to_string()))).with_path(shown)
    };
    let file = File::create_new(temp).map_err(&error)?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        // Row groups end where this writer says (by size), not at a row
        // count.
        .set_max_row_group_row_count(None);
    // Texts and the rest of the JSON are mostly distinct and long: a
    // dictionary would hash every one only to fall back to plain pages,
    // and their min/max statistics prune nothing.
    let props = ["text", "extra_json"]
        .into_iter()
        .map(ColumnPath::from)
        .fold(props, |p, c| {
            p.set_column_dictionary_enabled(c.clone(), false)
                .set_column_statistics_enabled(c, EnabledStatistics::None)
        })
        // An entity's own id is unique in its table: a dictionary of it is
        // as big as the column and costs a hash per row. Its statistics
        // stay (a lookup by id can prune by them).
        .set_column_dictionary_enabled(ColumnPath::from("id"), false)
        // Times are nearly unique too.
        .set_column_dictionary_enabled(ColumnPath::from("created_at"), false)
        .set_column_dictionary_enabled(ColumnPath::from("updated_at"), false)
        .build();
    let mut writer = ArrowWriter::try_new(
        BufWriter::with_capacity(256 << 10, file),
        schema.clone(),
        Some(props),
    )
    .map_err(parquet_error)?;
    let mut start = 0;
    while start < rows.len() {
        let mut end = start;
        let mut bytes = 0;
        while end < rows.len() && (end == start || bytes < group_bytes) {
            bytes += row_bytes(&rows[end]);
            end += 1;
        }
        let batch = batch(schema, layout, &rows[start..end]).map_err(|e| {
            Error::new(ErrorKind::Write(std::io::Error::other(e.to_string()))).with_path(shown)
        })?;
        writer.write(&batch).map_err(parquet_error)?;
        writer.flush().map_err(parquet_error)?;
        start = end;
    }
    let buffered = writer.into_inner().map_err(parquet_error)?;
    let file = buffered.into_inner().map_err(|e| error(e.into_error()))?;
    let bytes = file.metadata().map_err(&error)?.len();
    Ok((bytes, file))
}

/// `fsync`s the dataset's files in the background, as they are written,
/// many at a time: a sync waits on the disk, not on the CPU, and a
/// dataset has thousands of files. Synced one at a time, they took three
/// quarters of a 200 MB conversion on a busy disk; all at the end, they
/// were the run's last half second, the cores idle. Files queue with
/// their descriptor (no second open); a full queue makes the writer wait,
/// so open descriptors stay bounded.
pub(super) struct Syncer {
    queue: Option<SyncSender<(File, PathBuf)>>,
    threads: Vec<JoinHandle<Result<()>>>,
}

impl std::fmt::Debug for Syncer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Syncer")
            .field("threads", &self.threads.len())
            .finish()
    }
}

/// Threads that sync at once.
const SYNC_THREADS: usize = 16;
/// Files waiting to be synced, at most.
const SYNC_QUEUE: usize = 256;

impl Syncer {
    pub(super) fn start() -> Result<Syncer> {
        let (queue, files) = std::sync::mpsc::sync_channel::<(File, PathBuf)>(SYNC_QUEUE);
        let files = Arc::new(Mutex::new(files));
        let mut threads = Vec::with_capacity(SYNC_THREADS);
        for i in 0..SYNC_THREADS {
            let files = Arc::clone(&files);
            let thread = std::thread::Builder::new()
                .name(format!("stream-chat-export-sync-{i}"))
                .spawn(move || -> Result<()> {
                    let mut first_error = None;
                    loop {
                        // The lock is held only to take the next file.
                        let next = files.lock().map_or(None, |rx| rx.recv().ok());
                        let Some((file, shown)) = next else { break };
                        if let Err(e) = file.sync_all()
                            && first_error.is_none()
                        {
                            first_error = Some(write_error(&shown)(e));
                        }
                    }
                    first_error.map_or(Ok(()), Err)
                })
                .map_err(|e| Error::new(ErrorKind::Usage(format!("cannot start threads: {e}"))))?;
            threads.push(thread);
        }
        Ok(Syncer {
            queue: Some(queue),
            threads,
        })
    }

    /// Queues a written file (`shown` names it in errors).
    pub(super) fn sync(&self, file: File, shown: PathBuf) -> Result<()> {
        let queue = self
            .queue
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::Usage("the syncer has finished".into())))?;
        queue.send((file, shown)).map_err(|_| {
            Error::new(ErrorKind::Write(std::io::Error::other(
                "the file sync threads stopped",
            )))
        })
    }

    /// Waits until every queued file is synced; the first error, if any.
    pub(super) fn finish(mut self) -> Result<()> {
        self.queue = None;
        let mut result = Ok(());
        for thread in self.threads.drain(..) {
            let done = thread.join().unwrap_or_else(|_| {
                Err(Error::new(ErrorKind::Write(std::io::Error::other(
                    "a file sync thread panicked",
                ))))
            });
            if result.is_ok() {
                result = done;
            }
        }
        result
    }
}

/// One row group's columns.
fn batch(
    schema: &SchemaRef,
    layout: &[Col],
    rows: &[Row],
) -> std::result::Result<RecordBatch, arrow_schema::ArrowError> {
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(layout.len() + 1);
    for (i, col) in layout.iter().enumerate() {
        let cells = rows
            .iter()
            .map(|r| (r, r.cells.get(i).unwrap_or(&Cell::Null)));
        columns.push(match col.ty {
            Ty::Str => {
                let mut b = StringBuilder::with_capacity(rows.len(), rows.len() * 16);
                for (r, c) in cells {
                    match c {
                        Cell::Str(s) => b.append_value(r.str(*s)),
                        _ => b.append_null(),
                    }
                }
                Arc::new(b.finish())
            }
            Ty::Int => {
                let mut b = Int64Builder::with_capacity(rows.len());
                for (_, c) in cells {
                    b.append_option(match c {
                        Cell::Int(n) => Some(*n),
                        _ => None,
                    });
                }
                Arc::new(b.finish())
            }
            Ty::Bool => {
                let mut b = BooleanBuilder::with_capacity(rows.len());
                for (_, c) in cells {
                    b.append_option(match c {
                        Cell::Bool(v) => Some(*v),
                        _ => None,
                    });
                }
                Arc::new(b.finish())
            }
            Ty::Time => {
                let mut b = TimestampMicrosecondBuilder::with_capacity(rows.len());
                for (_, c) in cells {
                    b.append_option(match c {
                        Cell::Micros(us) => Some(*us),
                        _ => None,
                    });
                }
                Arc::new(b.finish().with_timezone("UTC"))
            }
        });
    }
    let mut extra =
        StringBuilder::with_capacity(rows.len(), rows.iter().map(|r| r.extra().len()).sum());
    for r in rows {
        extra.append_value(r.extra());
    }
    columns.push(Arc::new(extra.finish()));
    RecordBatch::try_new(schema.clone(), columns)
}

#[cfg(test)]
mod tests {
    use super::Syncer;
    use std::io::Write;

    #[test]
    fn the_syncer_takes_more_files_than_its_queue_and_finishes() {
        let dir = tempfile::tempdir().unwrap();
        let syncer = Syncer::start().unwrap();
        for i in 0..(super::SYNC_QUEUE + 50) {
            let path = dir.path().join(format!("f{i}"));
            let mut file = std::fs::File::create_new(&path).unwrap();
            file.write_all(b"x").unwrap();
            syncer.sync(file, path).unwrap();
        }
        syncer.finish().unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 306);
    }
}
