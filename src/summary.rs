//! A one-pass summary of an input: what `inspect` prints. Counting is an
//! engine job whose partials merge in input order, so it runs entirely on
//! the workers.

use crate::engine::{Engine, Job, Keep, Out};
use crate::io::input::Input;
use crate::io::source::Compression;
use crate::model::entity::Entity;
use crate::model::timestamp::Timestamp;
use crate::read::reader::{Format, Reader, ReaderBuilder};
use crate::{Report, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// Counts per kind and the time range of one input.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// Entities per kind name ([`Entity::type_name`]).
    pub counts: BTreeMap<String, u64>,
    /// The earliest `created_at`, with its original text.
    pub earliest: Option<(Timestamp, String)>,
    /// The latest `created_at`, with its original text.
    pub latest: Option<(Timestamp, String)>,
}

impl Summary {
    /// Adds one entity.
    pub fn add(&mut self, entity: &Entity<'_>) {
        match self.counts.get_mut(entity.type_name()) {
            Some(n) => *n += 1,
            None => {
                self.counts.insert(entity.type_name().to_string(), 1);
            }
        }
        if let (Some(t), Some(text)) = (entity.created_at(), entity.created_at_text()) {
            if self.earliest.as_ref().is_none_or(|(e, _)| t < *e) {
                self.earliest = Some((t, text.to_string()));
            }
            if self.latest.as_ref().is_none_or(|(l, _)| t > *l) {
                self.latest = Some((t, text.to_string()));
            }
        }
    }

    /// Adds the summary of input that comes after this one's. On equal
    /// times the earlier input's text is kept, as [`Summary::add`] keeps
    /// the first seen.
    pub fn merge(&mut self, other: Summary) {
        for (kind, n) in other.counts {
            *self.counts.entry(kind).or_default() += n;
        }
        if let Some((t, text)) = other.earliest
            && self.earliest.as_ref().is_none_or(|(e, _)| t < *e)
        {
            self.earliest = Some((t, text));
        }
        if let Some((t, text)) = other.latest
            && self.latest.as_ref().is_none_or(|(l, _)| t > *l)
        {
            self.latest = Some((t, text));
        }
    }
}

/// Counting as an engine [`Job`]: every entity is added to its chunk's
/// [`Summary`] on the worker that decoded it; nothing is delivered.
#[derive(Debug, Default, Clone, Copy)]
pub struct SummaryJob;

impl Job for SummaryJob {
    type Partial = Summary;

    fn entity(&self, entity: &Entity<'_>, summary: &mut Summary) -> Keep {
        summary.add(entity);
        Keep::Done
    }
}

/// What [`summarize`] found, with the reader's accounting.
#[derive(Debug)]
#[non_exhaustive]
pub struct Inspection {
    /// The detected format.
    pub format: Format,
    /// The detected compression.
    pub compression: Compression,
    /// Decompressed bytes read.
    pub bytes: u64,
    /// Counts and time range.
    pub summary: Summary,
    /// Records, entities, errors, blank lines and the first errors.
    pub report: Report,
}

/// Summarizes an input leniently on `engine`: line files in parallel,
/// v1 documents on the sequential reader. Data errors are counted in the
/// report (whatever `builder`'s error policy); I/O errors are returned.
///
/// ```
/// use stream_chat_export::{Engine, Input, MmapChoice, Parallel, ReaderBuilder, inspect};
///
/// let engine = Engine::new(&Parallel::new())?;
/// let input = Input::open("testdata/fixtures/v2_item.jsonl", MmapChoice::never())?;
/// let inspection = inspect(&engine, &ReaderBuilder::new(), input, None)?;
/// assert_eq!(inspection.format.as_str(), "v2");
/// assert!(inspection.summary.counts["message"] > 0);
/// # Ok::<(), stream_chat_export::Error>(())
/// ```
pub fn inspect(
    engine: &Engine,
    builder: &ReaderBuilder,
    input: Input,
    path: Option<&Path>,
) -> Result<Inspection> {
    let mut lenient = builder.clone();
    lenient.strict(false).yield_errors(false);
    let mut summary = Summary::default();
    let mut run = engine.run(&SummaryJob).builder(&lenient);
    if let Some(p) = path {
        run = run.path(p);
    }
    let outcome = run.input(input, |out| {
        if let Out::Partial(part) = out {
            summary.merge(part);
        }
        Ok(())
    })?;
    Ok(Inspection {
        format: outcome.format,
        compression: outcome.compression,
        bytes: outcome.bytes,
        summary,
        report: outcome.report,
    })
}

/// Reads a whole input leniently and summarizes it. I/O errors are
/// returned; data errors are counted in the report.
pub fn summarize(mut reader: Reader<'_>) -> Result<Inspection> {
    let mut summary = Summary::default();
    reader.for_each(|e| {
        summary.add(&e);
        Ok(())
    })?;
    Ok(Inspection {
        format: reader.format(),
        compression: reader.compression(),
        bytes: reader.bytes_read(),
        summary,
        report: std::mem::take(reader.report_mut()),
    })
}
