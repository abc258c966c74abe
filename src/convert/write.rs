//! Pass 2 of a conversion: members, messages and reactions rewritten on
//! the workers, spilled in input order to one temporary file per kind
//! (the import order puts every member before every message, and every
//! message before every reaction), each bin's items in runs of at least
//! [`RUN`] bytes; then the assembly copies each part's bins' runs.

use super::rewrite::{self, Acc};
use super::tables::{Counts, Tables, add_counts, bump, channel_key};
use crate::engine::{Job, Keep};
use crate::error::{Error, ErrorKind, Result};
use crate::filter::Filter;
use crate::model::entity::{Entity, Kind};
use crate::output::Output;
use std::collections::{BTreeSet, HashSet};
use std::hash::BuildHasher;
use std::io::{Read, Seek, Write};
use std::ops::Range;
use std::path::Path;

/// The spilled kinds, in the order they are written.
pub(crate) const MEMBERS: usize = 0;
pub(crate) const MESSAGES: usize = 1;
pub(crate) const REACTIONS: usize = 2;

/// A rewritten item (or a message's listed reactions) in a chunk's buffer.
pub(crate) struct Line {
    bin: usize,
    kind: usize,
    /// Members are written once per channel and user.
    dedupe: Option<u64>,
    range: Range<usize>,
    /// Items in the range.
    items: u64,
}

/// Pass 2's partial: a chunk's rewritten items.
#[derive(Default)]
pub(crate) struct Written {
    lines: Vec<Line>,
    acc: Acc,
    users: Vec<(usize, String)>,
    pub(crate) last_offset: u64,
}

/// Pass 2 as an engine job.
pub(crate) struct WriteJob<'t> {
    pub(crate) tables: &'t Tables,
    pub(crate) filter: &'t Filter,
    /// No reaction records in the input: take the messages' lists.
    pub(crate) from_lists: bool,
    pub(crate) member_item: super::MemberItem,
}

impl Job for WriteJob<'_> {
    type Partial = Written;

    fn entity(&self, e: &Entity<'_>, w: &mut Written) -> Keep {
        w.last_offset = w.last_offset.max(e.offset());
        let kept = self.filter.matches(e);
        let t = self.tables;
        let start = w.acc.buf.len();
        let bin = match e.kind() {
            Kind::Member => {
                let channel = channel_key(e);
                let Some((i, ch)) = channel.and_then(|(c, _)| t.channel(&c)) else {
                    bump(&mut w.acc.dropped, "members without a channel or user");
                    return Keep::Done;
                };
                // A distinct channel is its member set: all its members come
                // with it, whatever the filter says.
                if !ch.kept || !(kept || ch.is_distinct()) {
                    return Keep::Done;
                }
                match rewrite::member(e.raw_str(), ch, self.member_item, &mut w.acc) {
                    Some(user) => {
                        if !kept {
                            bump(
                                &mut w.acc.adjusted,
                                "members of distinct channels brought along",
                            );
                        }
                        let dedupe = t.hasher.hash_one((i, &user));
                        w.push(ch.bin, MEMBERS, Some(dedupe), start);
                    }
                    None => bump(&mut w.acc.dropped, "members without a channel or user"),
                }
                ch.bin
            }
            Kind::Message if kept => {
                let channel = channel_key(e);
                let Some((index, ch)) = channel.and_then(|(c, _)| t.channel(&c)) else {
                    bump(&mut w.acc.dropped, "messages without a channel");
                    return Keep::Done;
                };
                if rewrite::message(e.raw_str(), index, ch, t, self.from_lists, &mut w.acc) {
                    w.push(ch.bin, MESSAGES, None, start);
                }
                if !w.acc.listed.is_empty() {
                    let from = w.acc.buf.len();
                    let listed = std::mem::take(&mut w.acc.listed);
                    w.acc.buf.extend_from_slice(&listed);
                    w.push(ch.bin, REACTIONS, None, from);
                }
                ch.bin
            }
            Kind::Reaction if kept && !self.from_lists => {
                let message = e.message_id().unwrap_or("");
                // A reaction goes with its message (same bin).
                let Some(bin) = t.message_bin(message) else {
                    bump(&mut w.acc.dropped, "reactions to messages not in the file");
                    return Keep::Done;
                };
                if rewrite::reaction(e.raw_str(), &mut w.acc) {
                    w.push(bin, REACTIONS, None, start);
                }
                bin
            }
            _ => return Keep::Done,
        };
        let users = std::mem::take(&mut w.acc.users);
        w.users.extend(users.into_iter().map(|u| (bin, u)));
        Keep::Done
    }

    fn needs_context(&self) -> bool {
        true
    }
}

impl Written {
    fn push(&mut self, bin: usize, kind: usize, dedupe: Option<u64>, start: usize) {
        let range = start..self.acc.buf.len();
        let items = memchr::memchr_iter(b'\n', &self.acc.buf[range.clone()]).count() as u64;
        if items > 0 {
            self.lines.push(Line {
                bin,
                kind,
                dedupe,
                range,
                items,
            });
        }
    }
}

/// A bin's items are written to the spill files in runs of at least this
/// many bytes: the run list stays small (16 bytes per run, a run per
/// `RUN` of output or per switch between bins) even when the input
/// interleaves channels of different bins.
pub(crate) const RUN: usize = 64 << 10;

/// What may wait in memory for all bins together (a large input has many
/// bins): past it every pending run is written, shorter than `RUN`.
/// Exports keep a channel's records together, so few bins are pending at
/// a time and this is rarely reached.
pub(crate) const PENDING: usize = 32 << 20;

/// One bin's spilled items.
#[derive(Default)]
pub(crate) struct Bin {
    /// Items not yet written, per kind.
    pending: [Vec<u8>; 3],
    /// Where its items are in each kind's spill file: (offset, length).
    runs: [Vec<(u64, u64)>; 3],
    /// Bytes of its items (written and pending).
    pub(crate) bytes: u64,
    /// The users its items reference.
    pub(crate) users: BTreeSet<String>,
}

/// The spills of every bin, and what the bins reference.
pub(crate) struct Spills {
    files: [std::fs::File; 3],
    /// The length of each spill file.
    ends: [u64; 3],
    pub(crate) bins: Vec<Bin>,
    /// The least bytes of a run ([`RUN`]; tests make it tiny).
    run: usize,
    /// Bytes pending in all bins, at most about [`PENDING`].
    pending: usize,
    budget: usize,
    members_seen: HashSet<u64>,
    pub(crate) written: [u64; 3],
    pub(crate) adjusted: Counts,
    pub(crate) dropped: Counts,
}

impl Spills {
    /// Spill files for `bins` bins, in `folder`.
    pub(crate) fn new(bins: usize, folder: &Path) -> Result<Spills> {
        let one = || -> Result<std::fs::File> {
            tempfile::tempfile_in(folder)
                .map_err(|e| Error::new(ErrorKind::Write(e)).with_path(folder))
        };
        Ok(Spills {
            files: [one()?, one()?, one()?],
            ends: [0; 3],
            bins: (0..bins).map(|_| Bin::default()).collect(),
            run: RUN,
            pending: 0,
            budget: PENDING,
            members_seen: HashSet::new(),
            written: [0; 3],
            adjusted: Counts::new(),
            dropped: Counts::new(),
        })
    }

    /// Takes a chunk's items, in input order.
    pub(crate) fn take(&mut self, w: Written) -> Result<()> {
        for line in &w.lines {
            if let Some(key) = line.dedupe
                && !self.members_seen.insert(key)
            {
                bump(
                    &mut self.dropped,
                    "duplicate members (same channel and user)",
                );
                continue;
            }
            let bytes = &w.acc.buf[line.range.clone()];
            let bin = &mut self.bins[line.bin];
            bin.pending[line.kind].extend_from_slice(bytes);
            bin.bytes += bytes.len() as u64;
            self.pending += bytes.len();
            self.written[line.kind] += line.items;
            if bin.pending[line.kind].len() >= self.run {
                self.flush(line.bin, line.kind)?;
            }
            if self.pending > self.budget {
                self.flush_all()?;
            }
        }
        for (bin, user) in w.users {
            self.bins[bin].users.insert(user);
        }
        add_counts(&mut self.adjusted, w.acc.adjusted);
        add_counts(&mut self.dropped, w.acc.dropped);
        Ok(())
    }

    /// Writes a bin's pending items of one kind as a run.
    fn flush(&mut self, bin: usize, kind: usize) -> Result<()> {
        let pending = std::mem::take(&mut self.bins[bin].pending[kind]);
        if pending.is_empty() {
            return Ok(());
        }
        self.pending -= pending.len();
        self.files[kind].write_all(&pending).map_err(spill_error)?;
        let (at, len) = (self.ends[kind], pending.len() as u64);
        self.ends[kind] += len;
        let runs = &mut self.bins[bin].runs[kind];
        match runs.last_mut() {
            Some((from, n)) if *from + *n == at => *n += len,
            _ => runs.push((at, len)),
        }
        Ok(())
    }

    /// Writes every pending item (before the parts are copied).
    pub(crate) fn flush_all(&mut self) -> Result<()> {
        for bin in 0..self.bins.len() {
            for kind in [MEMBERS, MESSAGES, REACTIONS] {
                self.flush(bin, kind)?;
            }
        }
        Ok(())
    }

    /// Appends the items of `bins` to `out` in the import order (every
    /// member, then every message, then every reaction; each bin's in
    /// input order). [`Spills::flush_all`] comes first.
    pub(crate) fn copy_bins(&mut self, bins: Range<usize>, out: &mut Output) -> Result<u64> {
        let mut total = 0;
        let mut buf = vec![0u8; 1 << 20];
        for kind in [MEMBERS, MESSAGES, REACTIONS] {
            let file = &mut self.files[kind];
            for &(at, len) in self.bins[bins.clone()].iter().flat_map(|b| &b.runs[kind]) {
                file.seek(std::io::SeekFrom::Start(at))
                    .map_err(spill_error)?;
                let mut left = len;
                while left > 0 {
                    let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    file.read_exact(&mut buf[..n]).map_err(spill_error)?;
                    out.write_all(&buf[..n])
                        .map_err(|e| Error::new(ErrorKind::Write(e)).with_path(out.path()))?;
                    left -= n as u64;
                }
                total += len;
            }
        }
        Ok(total)
    }
}

fn spill_error(e: std::io::Error) -> Error {
    Error::new(ErrorKind::Write(std::io::Error::new(
        e.kind(),
        format!("temporary spill file: {e}"),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Items of two bins interleaved line by line, in runs of a few
    /// bytes: each bin's items come back in input order, members before
    /// messages before reactions, and duplicate members once.
    #[test]
    fn bins_come_back_whole_and_in_order_from_interleaved_runs() {
        let dir = tempfile::tempdir().unwrap();
        // Runs cut by their length, then by the budget of all bins.
        for (run, budget) in [(10, usize::MAX), (1000, 40)] {
            let mut spills = Spills::new(2, dir.path()).unwrap();
            spills.run = run;
            spills.budget = budget;
            let mut w = Written::default();
            let mut want: [Vec<String>; 2] = Default::default();
            let mut seen = HashSet::new();
            for i in 0..40 {
                let (bin, kind) = (i % 2, [REACTIONS, MESSAGES, MEMBERS][i % 3]);
                let line = format!("{{\"n\":{i},\"kind\":{kind}}}\n");
                let start = w.acc.buf.len();
                w.acc.buf.extend_from_slice(line.as_bytes());
                let dedupe = (kind == MEMBERS).then_some(i as u64 % 4);
                w.push(bin, kind, dedupe, start);
                if dedupe.is_none_or(|key| seen.insert(key)) {
                    want[bin].push(line);
                }
            }
            spills.take(w).unwrap();
            // A line is under 20 bytes; six buffers (two bins, three kinds).
            assert!(spills.pending <= budget.min(6 * (run + 20)) + 20);
            spills.flush_all().unwrap();
            assert_eq!(spills.pending, 0);
            assert!(spills.bins.iter().all(|b| b.runs[MESSAGES].len() > 1));
            for (bin, want) in want.iter_mut().enumerate() {
                want.sort_by_key(|l| {
                    [MEMBERS, MESSAGES, REACTIONS]
                        .iter()
                        .position(|k| l.ends_with(&format!(":{k}}}\n")))
                });
                let path = dir.path().join(format!("bin-{bin}-{budget}"));
                let mut out = Output::create(&path).unwrap();
                let n = spills.copy_bins(bin..bin + 1, &mut out).unwrap();
                out.finish().unwrap();
                let got = std::fs::read_to_string(&path).unwrap();
                assert_eq!(n, got.len() as u64);
                assert_eq!(got, want.concat(), "bin {bin}");
                assert_eq!(spills.bins[bin].bytes, n);
            }
        }
    }
}
