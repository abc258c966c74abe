//! Table lines formatted on the engine's workers and written in input
//! order: what lets a line-per-entity table (NDJSON, CSV) use every core while
//! its files keep the order of the input.
//!
//! A worker formats each entity of its chunk into the chunk's [`Lines`],
//! grouped by type name, each line tagged with the entity's offset. The
//! ordered pass hands the sink a chunk's lines, then (in a second
//! partial) the lines of the chunk's entities it resolved itself (members
//! and reactions that inherit their channel): those interleave with the
//! first by offset, so the sink ([`InOrder`]) holds one chunk's lines
//! back and merges a partial that reaches behind it.

use super::names::TableNames;
use crate::engine::{Engine, Job, Keep, Out, RuleOut};
use crate::error::{Error, Result};
use crate::filter::job::FilterJob;
use crate::io::input::Input;
use crate::model::entity::{Entity, Kind};
use crate::read::reader::ReaderBuilder;
use crate::report::Report;
use std::path::{Path, PathBuf};

/// One chunk's formatted lines, per type name.
#[derive(Debug, Default)]
pub(crate) struct Lines {
    pub(crate) groups: Vec<Group>,
    /// The first entity that could not be formatted, and why: the run
    /// stops there, as when the sink formats.
    pub(crate) error: Option<(u64, Error)>,
}

/// A partial goes to the sink past this many bytes of lines on the
/// sequential executor ([`Job::partial_full`]).
const PARTIAL_MAX: usize = 16 << 20;

/// The lines of one type name, in offset order.
#[derive(Debug)]
pub(crate) struct Group {
    pub(crate) kind: Kind,
    pub(crate) type_name: Box<str>,
    pub(crate) bytes: Vec<u8>,
    /// Per line: the entity's offset and where its line ends in `bytes`.
    pub(crate) ends: Vec<(u64, usize)>,
}

impl Group {
    fn new(kind: Kind, type_name: &str) -> Group {
        Group {
            kind,
            type_name: type_name.into(),
            bytes: Vec::new(),
            ends: Vec::new(),
        }
    }

    /// Line `i`'s offset and bytes.
    fn line(&self, i: usize) -> (u64, &[u8]) {
        let start = if i == 0 { 0 } else { self.ends[i - 1].1 };
        let (offset, end) = self.ends[i];
        (offset, &self.bytes[start..end])
    }

    fn push(&mut self, offset: u64, line: &[u8]) {
        self.bytes.extend_from_slice(line);
        self.ends.push((offset, self.bytes.len()));
    }

    /// The lines of `self` and `other` (each in offset order) in offset
    /// order.
    fn merge(self, other: Group) -> Group {
        let mut out = Group::new(self.kind, &self.type_name);
        out.bytes.reserve(self.bytes.len() + other.bytes.len());
        out.ends.reserve(self.ends.len() + other.ends.len());
        let (mut i, mut j) = (0, 0);
        while i < self.ends.len() || j < other.ends.len() {
            let take_self =
                j == other.ends.len() || (i < self.ends.len() && self.ends[i].0 <= other.ends[j].0);
            let (offset, line) = if take_self {
                i += 1;
                self.line(i - 1)
            } else {
                j += 1;
                other.line(j - 1)
            };
            out.push(offset, line);
        }
        out
    }
}

impl Lines {
    /// The group of `type_name`, made on first sight (a chunk holds a
    /// handful of kinds: a scan beats a map).
    fn group(&mut self, kind: Kind, type_name: &str) -> &mut Group {
        let at = match self.groups.iter().position(|g| &*g.type_name == type_name) {
            Some(at) => at,
            None => {
                self.groups.push(Group::new(kind, type_name));
                self.groups.len() - 1
            }
        };
        &mut self.groups[at]
    }

    /// The bytes of every group's lines.
    fn bytes(&self) -> usize {
        self.groups.iter().map(|g| g.bytes.len()).sum()
    }

    /// The first and the last offset of the lines (each group is in
    /// offset order), if there are any.
    fn span(&self) -> Option<(u64, u64)> {
        let first = self.groups.iter().filter_map(|g| g.ends.first()).min()?;
        let last = self.groups.iter().filter_map(|g| g.ends.last()).max()?;
        Some((first.0, last.0))
    }

    /// `other`'s lines merged into these, group by group.
    fn merge(&mut self, other: Lines) {
        if let Some((at, e)) = other.error
            && self.error.as_ref().is_none_or(|(mine, _)| at < *mine)
        {
            self.error = Some((at, e));
        }
        for g in other.groups {
            match self.groups.iter().position(|h| h.type_name == g.type_name) {
                Some(at) => {
                    let mine = std::mem::replace(&mut self.groups[at], Group::new(g.kind, ""));
                    self.groups[at] = mine.merge(g);
                }
                None => self.groups.push(g),
            }
        }
    }
}

/// How an entity becomes its line (the newline included).
pub(crate) trait LineFormat: Sync {
    /// Appends `entity`'s line to `out` (nothing on error).
    fn format(&self, entity: &Entity<'_>, out: &mut Vec<u8>) -> Result<()>;
}

/// The conversion's filter, formatting each match's line on the worker.
pub(crate) struct LinesJob<'f, F> {
    pub(crate) filter: &'f FilterJob,
    pub(crate) format: &'f F,
}

impl<F: LineFormat> Job for LinesJob<'_, F> {
    type Partial = Lines;

    fn entity(&self, entity: &Entity<'_>, lines: &mut Lines) -> Keep {
        if self.filter.entity(entity, &mut ()) == Keep::Done {
            return Keep::Done;
        }
        let group = lines.group(entity.kind(), entity.type_name());
        let before = group.bytes.len();
        match self.format.format(entity, &mut group.bytes) {
            Ok(()) => group.ends.push((entity.offset(), group.bytes.len())),
            Err(e) => {
                group.bytes.truncate(before);
                if lines.error.is_none() {
                    lines.error = Some((entity.offset(), e));
                }
            }
        }
        Keep::Done
    }

    fn partial_full(&self, lines: &Lines) -> bool {
        lines.bytes() > PARTIAL_MAX
    }

    fn needs_context(&self) -> bool {
        self.filter.needs_context()
    }

    fn rule_out(&self) -> RuleOut<'_> {
        self.filter.rule_out()
    }
}

/// Runs `inputs` one after another through `job`, handing `write` each
/// input's lines in input order; `write` returns the last offset it
/// wrote, for `progress(input, offset)`. Returns each input's report.
pub(crate) fn convert_lines<F: LineFormat>(
    job: &LinesJob<'_, F>,
    engine: &Engine,
    builder: &ReaderBuilder,
    inputs: &[PathBuf],
    open: &mut dyn FnMut(&Path) -> Result<Input>,
    progress: &mut dyn FnMut(usize, u64),
    write: &mut dyn FnMut(Lines) -> Result<Option<u64>>,
) -> Result<Vec<Report>> {
    let mut reports = Vec::with_capacity(inputs.len());
    for (i, path) in inputs.iter().enumerate() {
        let source = open(path)?;
        let mut order = InOrder::default();
        let outcome = engine
            .run(job)
            .builder(builder)
            .path(path)
            .input(source, |out| {
                // The job delivers no entity; bad records are in the
                // report.
                if let Out::Partial(lines) = out
                    && let Some(done) = order.take(lines)
                    && let Some(at) = write(done)?
                {
                    progress(i, at);
                }
                Ok(())
            })?;
        if let Some(rest) = order.finish() {
            write(rest)?;
        }
        progress(i, outcome.bytes);
        reports.push(outcome.report);
    }
    Ok(reports)
}

/// Groups of lines with the index of the table they go to.
pub(crate) type TableGroups = Vec<(usize, Group)>;

/// Gives each group of `lines` its table (made on first sight in
/// `names`); with the last offset among them. Fails with the first error
/// a worker met formatting them.
pub(crate) fn tables_of(
    lines: Lines,
    names: &mut TableNames,
) -> Result<(TableGroups, Option<u64>)> {
    if let Some((_, e)) = lines.error {
        return Err(e);
    }
    let mut last = None;
    let mut out = Vec::with_capacity(lines.groups.len());
    for group in lines.groups {
        let Some(&(first, _)) = group.ends.first() else {
            continue;
        };
        let table = names.table_of(group.kind, &group.type_name, first)?;
        last = last.max(group.ends.last().map(|e| e.0));
        out.push((table, group));
    }
    Ok((out, last))
}

/// The sink's side: partials in, groups out in input order.
#[derive(Debug, Default)]
pub(crate) struct InOrder {
    held: Option<Lines>,
}

impl InOrder {
    /// Takes the next partial of the input; returns the lines now known to
    /// be complete (those of the partial held until now), if any.
    pub(crate) fn take(&mut self, lines: Lines) -> Option<Lines> {
        let Some(held) = &mut self.held else {
            self.held = Some(lines);
            return None;
        };
        match (lines.span(), held.span()) {
            // Reaches behind what is held: the held chunk's late lines.
            (Some((first, _)), Some((_, last))) if first < last => {
                held.merge(lines);
                None
            }
            // No lines to order, maybe an error: it stays with the held
            // lines, never dropped.
            (None, _) => {
                held.merge(lines);
                None
            }
            _ => self.held.replace(lines),
        }
    }

    /// The input ended: the lines still held.
    pub(crate) fn finish(&mut self) -> Option<Lines> {
        self.held.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(items: &[(&str, u64)]) -> Lines {
        let mut l = Lines::default();
        for &(t, offset) in items {
            l.group(Kind::Other, t)
                .push(offset, format!("{t}@{offset}\n").as_bytes());
        }
        l
    }

    fn text(l: &Lines) -> Vec<String> {
        l.groups
            .iter()
            .map(|g| String::from_utf8(g.bytes.clone()).unwrap())
            .collect()
    }

    #[test]
    fn late_lines_merge_by_offset_and_chunks_pass_in_order() {
        let mut order = InOrder::default();
        assert!(
            order
                .take(lines(&[("a", 0), ("b", 10), ("a", 30)]))
                .is_none()
        );
        // The same chunk's late lines: merged into it.
        assert!(order.take(lines(&[("a", 20), ("b", 5)])).is_none());
        // The next chunk: the first is complete.
        let done = order.take(lines(&[("a", 40)])).unwrap();
        assert_eq!(text(&done), ["a@0\na@20\na@30\n", "b@5\nb@10\n"]);
        assert_eq!(done.groups[0].ends, [(0, 4), (20, 9), (30, 14)]);
        // An empty partial changes nothing.
        assert!(order.take(Lines::default()).is_none());
        assert_eq!(text(&order.finish().unwrap()), ["a@40\n"]);
        assert!(order.finish().is_none());
    }

    #[test]
    fn an_error_without_lines_is_kept() {
        let failed = || Lines {
            groups: Vec::new(),
            error: Some((7, Error::new(crate::error::ErrorKind::NotAnObject))),
        };
        let mut order = InOrder::default();
        assert!(order.take(lines(&[("a", 0)])).is_none());
        assert!(order.take(failed()).is_none());
        let held = order.finish().unwrap();
        assert_eq!(held.error.map(|(at, _)| at), Some(7));
        // Alone, too.
        assert!(order.take(failed()).is_none());
        assert!(order.finish().unwrap().error.is_some());
    }

    /// Each entity's raw JSON as its line.
    struct RawLine;

    impl LineFormat for RawLine {
        fn format(&self, entity: &Entity<'_>, out: &mut Vec<u8>) -> Result<()> {
            out.extend_from_slice(entity.raw());
            out.push(b'\n');
            Ok(())
        }
    }

    #[test]
    fn a_v1_stream_hands_over_full_partials_in_order() {
        // A gzip v1 document runs on the sequential executor, which keeps
        // one partial per input unless the job says it is full: 40 MiB of
        // lines must come in several partials, each bounded, in order.
        let text = "x".repeat(1 << 20);
        let messages: Vec<String> = (0..40)
            .map(|i| format!(r#"{{"id":"m{i}","text":"{text}"}}"#))
            .collect();
        let doc = format!(
            r#"{{"channel":{{"cid":"a:b","type":"a","id":"b"}},"members":[{{"user_id":"u"}}],"messages":[{}]}}"#,
            messages.join(",")
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, doc.as_bytes()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.json.gz");
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        let filter = FilterJob::new(crate::filter::Filter::new()).resolve_channels(true);
        let job = LinesJob {
            filter: &filter,
            format: &RawLine,
        };
        let engine = crate::engine::Engine::new(&crate::engine::Parallel::new()).unwrap();
        let input =
            crate::io::input::Input::open(&path, crate::io::input::MmapChoice::never()).unwrap();
        let (mut partials, mut offsets, mut messages) = (0, Vec::new(), 0);
        engine
            .run(&job)
            .input(input, |out| {
                if let crate::engine::Out::Partial(lines) = out {
                    partials += 1;
                    assert!(
                        lines.bytes() <= PARTIAL_MAX + (2 << 20),
                        "{}",
                        lines.bytes()
                    );
                    for g in &lines.groups {
                        offsets.extend(g.ends.iter().map(|e| e.0));
                        if g.kind == Kind::Message {
                            messages += g.ends.len();
                        }
                    }
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(messages, 40);
        assert!(partials >= 3, "{partials} partials");
        assert!(offsets.windows(2).all(|w| w[0] < w[1]), "{offsets:?}");
    }
}
