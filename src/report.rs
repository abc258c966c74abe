//! The accounting every run keeps, and the one error policy every
//! executor applies.
//!
//! A [`Report`] is a monoid: per-chunk reports built on the workers are
//! combined with [`Report::merge`] in input order, so a parallel run
//! accounts exactly as the sequential reader does.

use crate::error::{Error, ErrorKind};
use crate::model::entity::{Entity, Envelope};

/// What a read has seen so far: every record is accounted for.
///
/// `records == entities + errors`, where a v1 channel object counts as the
/// entities it holds. Blank lines are counted apart and are not records.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Report {
    /// Records framed (lines, array elements, nested entities).
    pub records: u64,
    /// Entities yielded.
    pub entities: u64,
    /// Records that failed (skipped in lenient mode).
    pub errors: u64,
    /// Blank or whitespace-only lines skipped.
    pub blank_lines: u64,
    /// Entities that decoded only after a lossy repair.
    pub lossy: u64,
    /// Reactions whose message was not seen before them: their channel is
    /// the most recent channel record, not their message's. Counted only
    /// by runs that resolve channels (the reader always does; an engine
    /// job when [`Job::needs_context`](crate::Job::needs_context) says so).
    pub channel_fallbacks: u64,
    /// Lines a prefilter ruled out without decoding them (parallel runs
    /// only): they cannot match, and were not validated.
    pub skipped_by_prefilter: u64,
    /// The first errors, in input order (see
    /// [`ReaderBuilder::max_errors_kept`](crate::ReaderBuilder::max_errors_kept)).
    pub first_errors: Vec<Error>,
    /// Entities per envelope, for format detection.
    pub(crate) envelopes: Envelopes,
    /// `data`-enveloped entities that look exported (a `cid` key).
    pub(crate) data_with_cid: u64,
}

/// Entities seen per envelope: what tells v2, import and v1 line files
/// apart.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Envelopes {
    pub(crate) item: u64,
    pub(crate) data: u64,
    pub(crate) bare: u64,
    pub(crate) nested: u64,
}

impl Report {
    /// Adds `other`, which accounts for input that comes after this
    /// report's. Counts add up; `first_errors` are appended in order
    /// (callers that cap them cap before merging).
    pub fn merge(&mut self, other: Report) {
        self.records += other.records;
        self.entities += other.entities;
        self.errors += other.errors;
        self.blank_lines += other.blank_lines;
        self.lossy += other.lossy;
        self.channel_fallbacks += other.channel_fallbacks;
        self.skipped_by_prefilter += other.skipped_by_prefilter;
        self.first_errors.extend(other.first_errors);
        self.envelopes.item += other.envelopes.item;
        self.envelopes.data += other.envelopes.data;
        self.envelopes.bare += other.envelopes.bare;
        self.envelopes.nested += other.envelopes.nested;
        self.data_with_cid += other.data_with_cid;
    }

    /// Counts one decoded entity (a record that became an entity).
    pub(crate) fn count_entity(&mut self, e: &Entity<'_>) {
        self.records += 1;
        self.entities += 1;
        match e.envelope {
            Envelope::Item => self.envelopes.item += 1,
            Envelope::Data => self.envelopes.data += 1,
            Envelope::Bare => self.envelopes.bare += 1,
            Envelope::Nested => self.envelopes.nested += 1,
        }
        if e.envelope == Envelope::Data && e.fields.has_cid_key {
            self.data_with_cid += 1;
        }
        if e.lossy {
            self.lossy += 1;
        }
    }

    /// Counts a bad record under `policy` and says what the executor does
    /// with it. I/O errors are not bad records: they end every run.
    pub(crate) fn count_error(&mut self, error: Error, policy: &ErrorPolicy) -> Disposition {
        if matches!(error.kind(), ErrorKind::Io(_)) {
            return Disposition::Stop(error);
        }
        self.records += 1;
        self.errors += 1;
        match policy.mode {
            ErrorMode::Strict => Disposition::Stop(error),
            ErrorMode::Yield => Disposition::Yield(error),
            ErrorMode::Lenient => {
                if self.first_errors.len() < policy.max_kept {
                    self.first_errors.push(error);
                }
                Disposition::Counted
            }
        }
    }
}

/// What happens to a bad record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorMode {
    /// The first bad record ends the run with its error.
    Strict,
    /// Bad records are skipped and counted; the first few are kept in the
    /// [`Report`] (the default).
    Lenient,
    /// Bad records are skipped, counted, and each handed to the caller in
    /// input order, between the entities around it.
    Yield,
}

/// The error policy of a run: the mode and how many errors a lenient run
/// keeps. The sequential reader and the parallel engine share it, so they
/// treat bad records alike.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ErrorPolicy {
    pub(crate) mode: ErrorMode,
    pub(crate) max_kept: usize,
}

/// The policy's verdict on one bad record.
pub(crate) enum Disposition {
    /// Counted (and perhaps kept in the report); go on.
    Counted,
    /// Hand it to the caller, then go on.
    Yield(Error),
    /// Hand it to the caller and stop.
    Stop(Error),
}
