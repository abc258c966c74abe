//! A filter job's run on the engine as one call, for the fuzz targets that
//! compare executors (included with `#[path]`; not a target itself).
#![allow(dead_code)] // each target uses the part it needs

use std::io::Read;
use stream_chat_export::{
    Engine, Entity, Filter, FilterJob, Out, Parallel, ReaderBuilder, Report, Result,
};

/// The engine run of a filter job over bytes in memory.
pub fn filter_slice<'a>(
    b: &ReaderBuilder,
    p: &Parallel,
    data: &'a [u8],
    filter: &Filter,
    mut sink: impl FnMut(Entity<'a>) -> Result<()>,
) -> Result<Report> {
    let engine = Engine::new(p)?;
    let job = FilterJob::new(filter.clone());
    let outcome = engine.run(&job).builder(b).slice(data, |out| match out {
        Out::Entity(e) => sink(e),
        _ => Ok(()),
    })?;
    Ok(outcome.report)
}

/// The engine run of a filter job over a stream.
pub fn filter_reader(
    b: &ReaderBuilder,
    p: &Parallel,
    input: impl Read + Send,
    filter: &Filter,
    mut sink: impl for<'b> FnMut(Entity<'b>) -> Result<()>,
) -> Result<Report> {
    let engine = Engine::new(p)?;
    let job = FilterJob::new(filter.clone());
    let outcome = engine.run(&job).builder(b).reader(input, |out| match out {
        Out::Entity(e) => sink(e),
        _ => Ok(()),
    })?;
    Ok(outcome.report)
}
