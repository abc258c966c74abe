//! Conversion of exports (every input format) to Stream import files.
//!
//! [`ImportConverter`] runs two passes of engine jobs over the inputs,
//! filtered by a [`Filter`] as `filter` filters:
//!
//! 1. the tables: users from user records and from every embedded user
//!    object (newest `updated_at` wins), channels with their members,
//!    devices, bans, and one hash per kept message id;
//! 2. members, messages and reactions rewritten on the workers and spilled
//!    in input order to temporary files, one per kind, in runs per bin
//!    (channels packed by their estimated size).
//!
//! Then bins are grouped into parts by their exact size, and each part is
//! written in the import order — users, devices,
//! future_channel_ban, channels, members, messages, reactions — under a
//! temporary name, renamed when complete ([`Output`](crate::output::Output)).
//! Memory grows with users and channels (and 16 bytes per kept message:
//! its id's hash and its channel), never with message content: spilled
//! items wait in memory up to 64 KiB per bin and kind and 32 MiB in all,
//! and each run written costs 16 bytes of the run list.
//!
//! What the import rules need and exports do not give is repaired and
//! counted ([`ConvertSummary::adjusted`]): distinct channels (`!members-…`,
//! an id the import pattern refuses) become `member_ids` /
//! `channel_member_ids` and bring all their members; `deleted_at` is set
//! if and only if the type is `deleted`; a reply whose parent is not a
//! top-level message of the file becomes top-level (one thread level);
//! quotes of messages not in the file and half pins are dropped; a user
//! referenced without any object is written with its id. Read-only fields
//! (`cid`, `config`, `member_count`, reaction aggregates, `online`, …) are
//! dropped; custom fields and `created_at` are kept, so importing the same
//! file twice is idempotent.
//!
//! Reactions come from reaction records; when the inputs have none (v1),
//! from the messages' `latest_reactions`, which Stream caps: the summary
//! then says how many were listed against how many the messages count.

mod assemble;
mod object;
mod rewrite;
mod tables;
mod write;

use crate::engine::{Engine, Out};
use crate::error::Result;
use crate::filter::Filter;
use crate::io::input::Input;
use crate::read::reader::ReaderBuilder;
use crate::report::Report;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tables::{Tables, TablesJob};
use write::{Spills, WriteJob};

/// Converts exports (every input format) to Stream import files: JSON
/// Lines `{"type","data"}` in the required order (users, devices,
/// future_channel_ban, channels, members, messages, reactions).
///
/// Two passes of engine jobs, filtered by a [`Filter`] as `filter`
/// filters: the tables (users from records and every embedded user
/// object, newest `updated_at` winning; channels with their members;
/// devices; bans; one hash per kept message id), then members, messages
/// and reactions rewritten on the workers and spilled in input order to
/// temporary files per kind. Each part is then written under a
/// temporary name and renamed when complete. Memory grows with users and
/// channels (and 16 bytes per kept message: its id's hash and its
/// channel), never with message content (spilled items wait in buffers of
/// 32 MiB in all); every input is opened twice.
///
/// References become id strings; distinct channels (`!members-…`) are
/// written by their member ids and bring all their members; the
/// iff-rules, one thread level and references into the file are repaired
/// and counted in [`ConvertSummary::adjusted`]; read-only fields and nulls
/// are dropped, custom fields and `created_at` kept. Reactions come from
/// reaction records, or (none in the inputs) from the messages'
/// `latest_reactions`, a preview: see [`ConvertSummary::reactions_listed`].
///
/// ```
/// use stream_chat_export::{Engine, Filter, ImportConverter, Input, MmapChoice, Parallel, ReaderBuilder};
///
/// let dir = tempfile::tempdir()?;
/// let out = dir.path().join("import.jsonl");
/// let engine = Engine::new(&Parallel::new())?;
/// let inputs = ["testdata/fixtures/v2_item.jsonl".into()];
/// let summary = ImportConverter::new(Filter::new()).run(
///     &engine,
///     &ReaderBuilder::new(),
///     &inputs,
///     &mut |path| Input::open(path, MmapChoice::never()),
///     &out,
///     &mut |_| {},
/// )?;
/// assert!(summary.written["message"] > 0);
/// let first = std::fs::read_to_string(&out)?;
/// assert!(first.starts_with(r#"{"type":"user","data":{"id":"#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ImportConverter {
    filter: Filter,
    max_size: Option<u64>,
    member_item: MemberItem,
}

/// How member items are typed: Stream's import documentation and its
/// sample file write `"type":"member"`; the official JSON Schema of an
/// item (`item.schema.json`) spells it `channel_member`. Both name the
/// same item, and `validate --import` accepts both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum MemberItem {
    /// `"type":"member"`, as the documentation writes it.
    #[default]
    Member,
    /// `"type":"channel_member"`, as the JSON Schema spells it.
    ChannelMember,
}

impl MemberItem {
    /// The item's type name.
    pub fn type_name(self) -> &'static str {
        match self {
            MemberItem::Member => "member",
            MemberItem::ChannelMember => "channel_member",
        }
    }
}

/// What a conversion wrote, adjusted and dropped.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct ConvertSummary {
    /// Items written per type.
    pub written: BTreeMap<&'static str, u64>,
    /// Items changed to meet the import rules, per reason (reasons that
    /// start with `WARNING` were kept as they are, and the importer will
    /// refuse them).
    pub adjusted: BTreeMap<&'static str, u64>,
    /// Records not written, per reason.
    pub dropped: BTreeMap<&'static str, u64>,
    /// Reactions were taken from the messages' lists (no reaction
    /// records in the inputs).
    pub reactions_from_messages: bool,
    /// Reactions the messages listed, and the total their
    /// `reaction_counts` give: fewer listed means the lists were a
    /// partial preview.
    pub reactions_listed: u64,
    /// See [`ConvertSummary::reactions_listed`].
    pub reactions_counted: u64,
    /// The files written with their sizes: one, or the numbered parts of
    /// a split output.
    pub parts: Vec<(PathBuf, u64)>,
    /// Each input's report of its second pass (bad records skipped, ...).
    pub reports: Vec<Report>,
}

/// Which pass a progress report is for, and the byte reached in the
/// current input.
#[derive(Debug, Clone, Copy)]
pub struct ConvertProgress {
    /// 1 (tables) or 2 (rewriting).
    pub pass: u8,
    /// The input being read (an index into the inputs).
    pub input: usize,
    /// Bytes of it done (decompressed offset).
    pub at: u64,
}

impl ImportConverter {
    /// A converter of what `filter` matches (plus the channels and users
    /// it references), into one file.
    pub fn new(filter: Filter) -> ImportConverter {
        ImportConverter {
            filter,
            max_size: None,
            member_item: MemberItem::default(),
        }
    }

    /// Split output bigger than `bytes` (estimated from the input) into
    /// numbered parts, each self-contained: the output path is then a
    /// folder. A channel is never split, so a channel bigger than the
    /// limit makes its part bigger (the summary's sizes show it).
    pub fn max_size(&mut self, bytes: u64) -> &mut Self {
        self.max_size = Some(bytes);
        self
    }

    /// How member items are typed (default: `member`, as Stream's
    /// documentation writes them).
    pub fn member_item(&mut self, item: MemberItem) -> &mut Self {
        self.member_item = item;
        self
    }

    /// Runs the conversion of `inputs` (each opened twice, with `open`)
    /// into `out`.
    pub fn run(
        &self,
        engine: &Engine,
        builder: &ReaderBuilder,
        inputs: &[PathBuf],
        open: &mut dyn FnMut(&Path) -> Result<Input>,
        out: &Path,
        progress: &mut dyn FnMut(ConvertProgress),
    ) -> Result<ConvertSummary> {
        let mut tables = Tables::default();
        let job = TablesJob {
            filter: &self.filter,
            hasher: tables.hasher.clone(),
        };
        for (i, path) in inputs.iter().enumerate() {
            let run = engine.run(&job).builder(builder).path(path);
            run.input(open(path)?, |o| {
                if let Out::Partial(seen) = o {
                    progress(ConvertProgress {
                        pass: 1,
                        input: i,
                        at: seen.last_offset(),
                    });
                    tables.merge(seen);
                }
                Ok(())
            })?;
        }
        tables.finish();
        let bins = assemble::plan(&mut tables, self.max_size);
        let folder = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut spills = Spills::new(bins, &folder)?;
        let job = WriteJob {
            tables: &tables,
            filter: &self.filter,
            from_lists: tables.reaction_records == 0,
            member_item: self.member_item,
        };
        let mut summary = ConvertSummary {
            reactions_from_messages: job.from_lists,
            reactions_listed: tables.listed_reactions,
            reactions_counted: tables.counted_reactions,
            ..ConvertSummary::default()
        };
        for (i, path) in inputs.iter().enumerate() {
            let run = engine.run(&job).builder(builder).path(path);
            let outcome = run.input(open(path)?, |o| {
                if let Out::Partial(w) = o {
                    progress(ConvertProgress {
                        pass: 2,
                        input: i,
                        at: w.last_offset,
                    });
                    spills.take(w)?;
                }
                Ok(())
            })?;
            summary.reports.push(outcome.report);
        }
        assemble::assemble(
            &tables,
            &mut spills,
            self.max_size,
            self.member_item,
            out,
            &mut summary,
        )?;
        Ok(summary)
    }
}
