//! One input's statistics on an engine.

use super::{Stats, StatsJob};
use crate::Result;
use crate::engine::{Engine, Out, Outcome};
use crate::io::input::Input;
use crate::read::reader::ReaderBuilder;
use std::path::Path;

/// Runs `job` over `input` on `engine` with `builder`'s settings (its
/// error policy included, except that errors are never yielded: they are
/// counted in the outcome's report), merges the partials in input order
/// and [ends the input](Stats::end_input) under `path`'s name (`-` when
/// none). Returns the input's statistics and the run's outcome.
///
/// ```
/// use stream_chat_export::{Engine, Input, MmapChoice, Parallel, ReaderBuilder, StatsJob};
///
/// let engine = Engine::new(&Parallel::new())?;
/// let path = std::path::Path::new("testdata/fixtures/v2_item.jsonl");
/// let input = Input::open(path, MmapChoice::never())?;
/// let job = StatsJob::new();
/// let (stats, outcome) = stream_chat_export::stats::collect(&engine, &ReaderBuilder::new(), &job, input, Some(path))?;
/// let report = stats.report(&job);
/// assert_eq!(report.inputs[0].format, "v2");
/// assert!(report.messages.total > 0);
/// assert_eq!(outcome.report.errors, 0);
/// # Ok::<(), stream_chat_export::Error>(())
/// ```
pub fn collect(
    engine: &Engine,
    builder: &ReaderBuilder,
    job: &StatsJob,
    input: Input,
    path: Option<&Path>,
) -> Result<(Stats, Outcome)> {
    let mut counting = builder.clone();
    counting.yield_errors(false);
    let mut stats = Stats::default();
    let mut run = engine.run(job).builder(&counting);
    if let Some(p) = path {
        run = run.path(p);
    }
    let outcome = run.input(input, |out| {
        if let Out::Partial(part) = out {
            stats.merge(part);
        }
        Ok(())
    })?;
    let name = path.map_or_else(|| "-".to_string(), |p| p.display().to_string());
    stats.end_input(&name, outcome.format, &outcome.report);
    Ok((stats, outcome))
}
