//! A one-pass summary of an input: what `inspect` prints.

use crate::entity::Entity;
use crate::reader::{Format, Reader};
use crate::source::Compression;
use crate::timestamp::Timestamp;
use crate::{Report, Result};
use std::collections::BTreeMap;

/// Counts per kind and the time range of one input.
#[derive(Debug, Default, Clone)]
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
}

/// What [`summarize`] found, with the reader's accounting.
#[derive(Debug)]
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

/// Summarizes bytes in memory (or a mapped file) leniently, decoding line
/// files in parallel (v1 documents and gzip data sequentially).
pub fn summarize_slice(
    builder: &crate::ReaderBuilder,
    parallel: &crate::Parallel,
    bytes: &[u8],
    path: Option<&std::path::Path>,
) -> Result<Inspection> {
    let mut lenient = builder.clone();
    lenient.strict(false).yield_errors(false);
    let mut summary = Summary::default();
    let filter = crate::Filter::new();
    let (report, format) =
        crate::parallel::run_slice(&lenient, parallel, bytes, path, &filter, |e| {
            summary.add(&e);
            Ok(())
        })?;
    let compression = if bytes.starts_with(&crate::source::GZIP_MAGIC) {
        Compression::Gzip
    } else {
        Compression::None
    };
    let bytes = if compression == Compression::Gzip {
        // The decompressed size is not known without inflating again.
        0
    } else {
        bytes.len() as u64
    };
    Ok(Inspection {
        format,
        compression,
        bytes,
        summary,
        report,
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
