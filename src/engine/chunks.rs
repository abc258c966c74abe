//! The workers' side: cutting a slice into line-aligned chunks and
//! decoding one chunk into what the ordered pass needs.

use super::{CandidateSearch, Job, Keep, QuickTest, Setup};
use crate::decode::{self, Decoded, Hint, Repairs};
use crate::error::ErrorKind;
use crate::frame::lines::{Frame, FrameError};
use crate::model::entity::{Entity, Kind};
use crate::read::context::RecentId;
use crate::read::reader::ReaderBuilder;
use crate::report::{ErrorMode, ErrorPolicy, Report};
use std::borrow::Cow;

/// One thing a chunk hands the ordered pass, in input order.
#[allow(clippy::large_enum_variant)] // entities are the common case; boxing each costs an allocation
pub(crate) enum Item<'a> {
    /// The job asked for the chunk's next entity (of
    /// [`ChunkOut::entities`]) to be delivered.
    Deliver,
    /// The chunk's next entity inherits its channel: resolved on the
    /// ordered pass, then given to the job there.
    Undecided,
    /// A channel record: the channel inherited from here on (`None` for a
    /// channel without a cid, which ends the previous one's reach).
    Channel(Option<Cow<'a, str>>),
    /// A message with a channel of its own, remembered for the reactions
    /// that follow it. Its id is copied and hashed here, on the worker:
    /// the ordered pass would otherwise read the input's bytes again,
    /// long out of every cache; `same_cid` spares it the cid's bytes when
    /// the chunk's previous message has the same channel.
    Message {
        id: RecentId,
        cid: Cow<'a, str>,
        same_cid: bool,
    },
    /// A v1 channel object on one line begins: nothing is inherited
    /// across it.
    UnitStart,
}

/// A bad record found on a worker.
pub(crate) struct ChunkError {
    /// How many of the chunk's items come before it.
    pub(crate) after: usize,
    pub(crate) kind: ErrorKind,
    /// Its absolute offset.
    pub(crate) at: u64,
}

/// What decoding one chunk produced.
pub(crate) struct ChunkOut<'a, P> {
    pub(crate) items: Vec<Item<'a>>,
    /// The entities of the `Deliver` and `Undecided` items, in order. Kept
    /// apart because an entity is about 400 bytes and most items are a
    /// remembered message id of under 100: a statistics run pushes one
    /// item per message, and items the size of an entity cost it a page
    /// of fresh memory every ten messages.
    pub(crate) entities: Vec<Entity<'a>>,
    /// Bad records, in input order, apart from `items` (whose slots are
    /// sized for an entity: a file of nothing but bad lines would need
    /// several times its size in them).
    pub(crate) errors: Vec<ChunkError>,
    /// The job's partial result for the entities taken on the worker.
    pub(crate) partial: P,
    /// Entities and blank lines counted on the worker (errors are counted
    /// on the ordered pass, which applies the error policy — but for the
    /// lenient run's errors past the first few, counted here).
    pub(crate) report: Report,
    /// Newlines in the chunk, so a stream can count lines batch by batch
    /// without a pass of its own.
    pub(crate) newlines: u64,
    /// Errors held in `items`.
    errors_held: usize,
    /// The channel of the chunk's last `Item::Message`.
    message_cid: Option<Cow<'a, str>>,
}

impl<P: Default> Default for ChunkOut<'_, P> {
    fn default() -> Self {
        ChunkOut {
            items: Vec::new(),
            entities: Vec::new(),
            errors: Vec::new(),
            partial: P::default(),
            report: Report::default(),
            newlines: 0,
            errors_held: 0,
            message_cid: None,
        }
    }
}

/// Line-aligned chunk boundaries.
pub(crate) struct Chunks<'a> {
    pub(crate) input: &'a [u8],
    pub(crate) pos: usize,
    pub(crate) size: usize,
}

impl Iterator for Chunks<'_> {
    type Item = (usize, usize);
    fn next(&mut self) -> Option<(usize, usize)> {
        if self.pos >= self.input.len() {
            return None;
        }
        let start = self.pos;
        let target = start.saturating_add(self.size).min(self.input.len());
        let end = match memchr::memchr(b'\n', &self.input[target.saturating_sub(1)..]) {
            Some(i) => target.saturating_sub(1) + i + 1,
            None => self.input.len(),
        };
        let end = end.max(start + 1).min(self.input.len());
        self.pos = end;
        Some((start, end))
    }
}

/// The prefilter's window within a chunk (see `Work::decode_chunk`).
const PREFILTER_WINDOW: usize = 256 << 10;

/// What every chunk's decoding needs, shared by the workers.
pub(crate) struct Work<'s, J> {
    job: &'s J,
    builder: &'s ReaderBuilder,
    repairs: Repairs,
    /// Resolve inherited channels on the ordered pass.
    context: bool,
    /// Remember messages' channels (for reactions without one).
    remember_messages: bool,
    candidates: Option<&'s dyn CandidateSearch>,
    quick: Option<&'s dyn QuickTest>,
    policy: ErrorPolicy,
}

impl<'s, J: Job> Work<'s, J> {
    pub(crate) fn new(setup: &Setup<'s, J>) -> Work<'s, J> {
        let job = setup.job;
        let context = job.needs_context();
        let rule_out = if setup.engine.settings.prefilter {
            job.rule_out()
        } else {
            Default::default()
        };
        Work {
            job,
            builder: setup.builder,
            repairs: Repairs {
                extras: job.prefetch_fields(),
                ..setup.builder.repairs()
            },
            context,
            remember_messages: setup.builder.message_memory > 0,
            // A skipped line might be a channel record, which the context
            // needs: no byte prefilter for jobs that resolve channels.
            candidates: if context { None } else { rule_out.candidates },
            quick: rule_out.quick,
            policy: setup.builder.error_policy(),
        }
    }

    /// Can the quick scan's answer rule this record out?
    fn quick_rules_out(&self, type_name: &[u8], created_at: Option<&[u8]>) -> bool {
        let Some(quick) = self.quick else {
            return false;
        };
        if self.context {
            // Channel and message records carry the context; they are
            // decoded whatever the job thinks of them.
            let kind = std::str::from_utf8(type_name).map_or(Kind::Other, Kind::from_type_name);
            if matches!(kind, Kind::Channel | Kind::Message) {
                return false;
            }
        }
        !quick.quick_pass(type_name, created_at)
    }

    /// Records a bad record for the ordered pass. A lenient run keeps only
    /// the first errors in full, so a chunk keeps at most that many (the
    /// run's first errors are among its chunks' first); the rest are
    /// counted here, which keeps a file of nothing but bad lines from
    /// holding every error of a batch in memory.
    fn error<'a>(&self, out: &mut ChunkOut<'a, J::Partial>, kind: ErrorKind, at: u64) {
        if self.policy.mode == ErrorMode::Lenient && out.errors_held >= self.policy.max_kept {
            out.report.records += 1;
            out.report.errors += 1;
            return;
        }
        out.errors_held += 1;
        out.errors.push(ChunkError {
            after: out.items.len(),
            kind,
            at,
        });
    }

    /// Hands an entity decoded on a worker to the job, or to the ordered
    /// pass when its answer may depend on context.
    fn take<'a>(&self, e: Entity<'a>, out: &mut ChunkOut<'a, J::Partial>) {
        out.report.count_entity(&e);
        if self.context {
            match e.kind {
                Kind::Channel => out.items.push(Item::Channel(e.fields.cid.clone())),
                Kind::Message if self.remember_messages => {
                    if let (Some(id), Some(cid)) = (&e.fields.id, &e.fields.cid) {
                        let same_cid = out.message_cid.as_ref() == Some(cid);
                        if !same_cid {
                            out.message_cid = Some(cid.clone());
                        }
                        out.items.push(Item::Message {
                            id: RecentId::new(id),
                            cid: cid.clone(),
                            same_cid,
                        });
                    }
                }
                _ => {}
            }
            if e.inherits_channel() {
                out.items.push(Item::Undecided);
                out.entities.push(e);
                return;
            }
        }
        if self.job.entity(&e, &mut out.partial) == Keep::Deliver {
            out.items.push(Item::Deliver);
            out.entities.push(e);
        }
    }

    /// Decodes one line of a chunk. `base` is the absolute offset of
    /// `input[0]`.
    fn decode_line<'a>(
        &self,
        out: &mut ChunkOut<'a, J::Partial>,
        input: &'a [u8],
        base: u64,
        line_start: usize,
        line_end: usize,
    ) {
        let line = &input[line_start..line_end];
        self.decode_one(out, line, base + line_start as u64, Hint::Record);
    }

    /// Decodes one record, `bytes` at absolute offset `at`.
    fn decode_one<'a>(
        &self,
        out: &mut ChunkOut<'a, J::Partial>,
        bytes: &'a [u8],
        at: u64,
        hint: Hint,
    ) {
        match decode::decode_record(bytes, at, hint, self.repairs) {
            Ok(Decoded::Entity(e)) => self.take(e, out),
            Ok(Decoded::Blank) => out.report.blank_lines += 1,
            Ok(Decoded::Unit) => {
                // A v1 channel object on one line (or framed as a record):
                // walk it with the sequential reader over its own bytes.
                out.items.push(Item::UnitStart);
                let mut inner = self.builder.clone();
                inner.strict(false).yield_errors(true);
                for entity in inner.from_slice(bytes) {
                    match entity {
                        Ok(mut e) => {
                            e.offset += at;
                            self.take(e, out);
                        }
                        Err(err) => {
                            let inner_at = err.position().map_or(0, |p| p.byte);
                            self.error(out, err.into_kind(), at + inner_at);
                        }
                    }
                }
            }
            Err(de) => self.error(out, de.kind, at + de.at as u64),
        }
    }

    /// Decodes what the v1 walker framed, in order: records, the starts of
    /// channel objects, and the walker's errors. A job with a byte
    /// prefilter that can name its hits gets it here too: a record with no
    /// hit in its bytes is not decoded.
    pub(crate) fn decode_frames<'a>(
        &self,
        input: &'a [u8],
        frames: Vec<Result<Frame, FrameError>>,
    ) -> ChunkOut<'a, J::Partial> {
        let mut out = ChunkOut::default();
        let records = || {
            frames.iter().filter_map(|f| match f {
                Ok(Frame::Record(r)) => Some(r),
                _ => None,
            })
        };
        let span = records()
            .next()
            .zip(records().next_back())
            .map(|(first, last)| (first.start as usize, last.end as usize));
        let mut hits: Option<Vec<usize>> = None;
        if let (Some(search), Some((from, to))) = (self.candidates, span) {
            let mut found = Vec::new();
            if search.hits(&input[from..to], &mut |at| found.push(from + at)) {
                hits = Some(found);
            }
        }
        let mut next_hit = 0;
        for frame in frames {
            match frame {
                Ok(Frame::Record(rec)) => {
                    let (start, end) = (rec.start as usize, rec.end as usize);
                    if let Some(hits) = &hits {
                        while hits.get(next_hit).is_some_and(|&h| h < start) {
                            next_hit += 1;
                        }
                        if hits.get(next_hit).is_none_or(|&h| h >= end) {
                            out.report.skipped_by_prefilter += 1;
                            continue;
                        }
                    }
                    self.decode_one(&mut out, &input[start..end], rec.start, rec.hint);
                }
                Ok(Frame::UnitStart) => out.items.push(Item::UnitStart),
                Err(e) => {
                    let at = e.error.position().map_or(0, |p| p.byte);
                    self.error(&mut out, e.error.into_kind(), at);
                }
            }
        }
        out
    }

    /// Decodes the lines of `input[start..end]`; `base` is the absolute
    /// offset of `input[0]`, so entity offsets and error bytes are
    /// absolute.
    pub(crate) fn decode_chunk<'a>(
        &self,
        input: &'a [u8],
        base: u64,
        start: usize,
        end: usize,
    ) -> ChunkOut<'a, J::Partial> {
        let max_line = self.builder.max_line;
        let mut out = ChunkOut::default();
        let mut blocks = crate::json::index::Blocks::default();
        let mut line = |out: &mut ChunkOut<'a, J::Partial>, line_start: usize, line_end: usize| {
            let line = &input[line_start..line_end];
            if line.len() > max_line {
                self.error(
                    out,
                    ErrorKind::LineTooLong { max: max_line },
                    base + line_start as u64,
                );
                return;
            }
            if self.quick.is_some()
                && let Some(q) =
                    crate::decode::quick::quick_in(&input[line_start..], line.len(), &mut blocks)
                && self.quick_rules_out(q.type_name, q.created_at)
            {
                out.report.skipped_by_prefilter += 1;
                return;
            }
            self.decode_line(out, input, base, line_start, line_end);
        };
        match self.candidates {
            Some(search) => {
                // The chunk is searched in windows of about 256 KiB cut
                // after a newline, so the id search, the newline count and
                // the long-line check read the same bytes while they are in
                // cache rather than three times from memory (which the
                // threads share).
                let mut window = start;
                while window < end {
                    let target = window + PREFILTER_WINDOW;
                    let window_end = if target >= end {
                        end
                    } else {
                        memchr::memchr(b'\n', &input[target..end]).map_or(end, |i| target + i + 1)
                    };
                    let text = &input[window..window_end];
                    // Over-long lines are errors whether or not they could
                    // hold an id, as on the sequential reader — and so that
                    // a stream, which drops a long line while it arrives,
                    // reports the same whatever its reads look like.
                    let mut long = long_line_starts(text, max_line).into_iter().peekable();
                    let too_long = |out: &mut ChunkOut<'a, J::Partial>, s: usize| {
                        self.error(
                            out,
                            ErrorKind::LineTooLong { max: max_line },
                            base + (window + s) as u64,
                        );
                    };
                    let mut candidates = 0u64;
                    let mut long_skipped = 0u64;
                    let newlines = search.candidate_lines(text, &mut |s, e| {
                        while let Some(l) = long.next_if(|&l| l < s) {
                            too_long(&mut out, l);
                            long_skipped += 1;
                        }
                        // A candidate that is itself too long is reported by `line`.
                        long.next_if_eq(&s);
                        candidates += 1;
                        line(&mut out, window + s, window + e);
                    });
                    for l in long {
                        too_long(&mut out, l);
                        long_skipped += 1;
                    }
                    let lines = newlines + u64::from(!text.ends_with(b"\n") && !text.is_empty());
                    out.report.skipped_by_prefilter += lines - candidates - long_skipped;
                    out.newlines += newlines;
                    window = window_end;
                }
            }
            None => {
                let mut pos = start;
                while pos < end {
                    let line_end = memchr::memchr(b'\n', &input[pos..end]).map_or(end, |i| pos + i);
                    line(&mut out, pos, line_end);
                    out.newlines += u64::from(line_end < end);
                    pos = line_end + 1;
                }
            }
        }
        out
    }
}

/// Starts of the lines of `text` longer than `max` bytes (a final line
/// without its newline included).
fn long_line_starts(text: &[u8], max: usize) -> Vec<usize> {
    let mut starts = Vec::new();
    // No line can be longer than the text.
    if text.len() <= max {
        return starts;
    }
    let mut start = 0;
    for newline in memchr::memchr_iter(b'\n', text) {
        if newline - start > max {
            starts.push(start);
        }
        start = newline + 1;
    }
    if text.len() - start > max {
        starts.push(start);
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Engine, Filter, FilterJob, Parallel};

    fn held_and_counted(builder: &ReaderBuilder) -> (usize, u64) {
        let engine = Engine::new(Parallel::new().threads(1)).unwrap();
        let job = FilterJob::new(Filter::new());
        let setup = Setup {
            engine: &engine,
            job: &job,
            builder,
            path: None,
        };
        let input = "not json\n".repeat(1000);
        let out = Work::new(&setup).decode_chunk(input.as_bytes(), 0, 0, input.len());
        (out.errors.len(), out.report.errors)
    }

    /// A lenient chunk of bad lines holds only the errors the run may keep
    /// in full and counts the rest; yield and strict runs hold them all
    /// (each is handed out, or the first one stops the run).
    #[test]
    fn a_lenient_chunk_holds_only_the_errors_it_may_keep() {
        let mut b = ReaderBuilder::new();
        b.max_errors_kept(20);
        assert_eq!(held_and_counted(&b), (20, 980));
        b.errors(ErrorMode::Yield);
        assert_eq!(held_and_counted(&b), (1000, 0));
        b.errors(ErrorMode::Strict);
        assert_eq!(held_and_counted(&b), (1000, 0));
    }
}
