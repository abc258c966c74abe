//! The sequential executor: inputs that cannot be cut at newlines (v1
//! documents, gzip bytes given as a slice) run the same job on the
//! sequential reader, which resolves every channel itself.

use super::{Job, Keep, Out, Outcome, Setup};
use crate::error::{Error, ErrorKind, Result};
use crate::io::source::{Compression, Window};
use crate::model::entity::Entity;
use crate::read::reader::Reader;
use crate::report::ErrorMode;

/// Gives one entity (or error) from the reader to the job and the sink.
/// A data error the reader hands out goes to the sink in yield mode and
/// ends the run otherwise (strict mode, I/O errors).
fn take<'e, J, F>(
    job: &J,
    yielding: bool,
    partial: &mut J::Partial,
    item: Result<Entity<'e>>,
    sink: &mut F,
) -> Result<()>
where
    J: Job,
    F: FnMut(Out<'e, J::Partial>) -> Result<()>,
{
    match item {
        Ok(e) => {
            if job.entity(&e, partial) == Keep::Deliver {
                sink(Out::Entity(e))?;
            }
            if job.partial_full(partial) {
                sink(Out::Partial(std::mem::take(partial)))?;
            }
            Ok(())
        }
        Err(e) if yielding && !matches!(e.kind(), ErrorKind::Io(_)) => sink(Out::Error(e)),
        Err(e) => Err(e),
    }
}

/// Runs a job over bytes in memory on the sequential reader.
pub(crate) fn run_slice<'a, J, F>(
    setup: &Setup<'_, J>,
    input: &'a [u8],
    mut sink: F,
) -> Result<Outcome>
where
    J: Job,
    F: FnMut(Out<'a, J::Partial>) -> Result<()>,
{
    let mut reader = setup.builder.from_slice(input);
    if let (Some(p), Some(r)) = (setup.path, reader.reader_mut()) {
        r.set_path(p);
    }
    let yielding = setup.builder.error_policy().mode == ErrorMode::Yield;
    let mut partial = J::Partial::default();
    for item in reader.by_ref() {
        let item = item.map_err(|e| name_once(setup, e));
        take(setup.job, yielding, &mut partial, item, &mut sink)?;
    }
    sink(Out::Partial(partial))?;
    let (format, compression, bytes) = match reader.reader() {
        Some(r) => (r.format(), r.compression(), r.bytes_read()),
        None => (crate::read::reader::Format::Empty, Compression::None, 0),
    };
    Ok(Outcome {
        report: reader.take_report(),
        format,
        compression,
        bytes,
    })
}

/// Runs a job on the sequential reader over the raw blocks of a stream's
/// reading thread (inflated ahead when gzip).
pub(crate) fn run_feed<J, F>(
    setup: &Setup<'_, J>,
    feed: impl std::io::Read,
    gzip: bool,
    sink: &mut F,
) -> Result<Outcome>
where
    J: Job,
    F: for<'b> FnMut(Out<'b, J::Partial>) -> Result<()>,
{
    let builder = setup.builder;
    let window = Window::stream(Box::new(feed), gzip, builder.block);
    let compression = if gzip {
        Compression::Gzip
    } else {
        Compression::None
    };
    let mut reader: Reader<'_> = builder
        .open_window(window, compression)
        .map_err(|e| setup.name(e))?;
    if let Some(p) = setup.path {
        reader.set_path(p);
    }
    let yielding = builder.error_policy().mode == ErrorMode::Yield;
    let mut partial = J::Partial::default();
    while let Some(item) = reader.next_entity() {
        take(setup.job, yielding, &mut partial, item, sink)?;
    }
    sink(Out::Partial(partial))?;
    Ok(Outcome {
        format: reader.format(),
        compression,
        bytes: reader.bytes_read(),
        report: std::mem::take(reader.report_mut()),
    })
}

/// The slice reader names its errors once it knows the path; errors from
/// opening it (before `set_path`) are named here.
fn name_once<J>(setup: &Setup<'_, J>, e: Error) -> Error {
    if e.path().is_some() { e } else { setup.name(e) }
}
