//! Pass 2 of a conversion: members, messages and reactions rewritten on
//! the workers, spilled in input order to one temporary file per part and
//! kind (the import order puts every member before every message, and
//! every message before every reaction); then each part is assembled:
//! its users, devices and bans, channels, and the spills.

use super::rewrite::{self, Acc};
use super::tables::{Counts, Tables, add_counts, bump, channel_key};
use crate::engine::{Job, Keep};
use crate::error::{Error, ErrorKind, Result};
use crate::filter::Filter;
use crate::model::entity::{Entity, Kind};
use crate::output::Output;
use std::collections::{BTreeSet, HashSet};
use std::hash::BuildHasher;
use std::io::{BufWriter, Read, Seek, Write};
use std::ops::Range;
use std::path::Path;

/// The spilled kinds, in the order they are written.
pub(crate) const MEMBERS: usize = 0;
pub(crate) const MESSAGES: usize = 1;
pub(crate) const REACTIONS: usize = 2;

/// A rewritten item (or a message's listed reactions) in a chunk's buffer.
pub(crate) struct Line {
    part: usize,
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
        let part = match e.kind() {
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
                        w.push(ch.part, MEMBERS, Some(dedupe), start);
                    }
                    None => bump(&mut w.acc.dropped, "members without a channel or user"),
                }
                ch.part
            }
            Kind::Message if kept => {
                let channel = channel_key(e);
                let Some((index, ch)) = channel.and_then(|(c, _)| t.channel(&c)) else {
                    bump(&mut w.acc.dropped, "messages without a channel");
                    return Keep::Done;
                };
                if rewrite::message(e.raw_str(), index, ch, t, self.from_lists, &mut w.acc) {
                    w.push(ch.part, MESSAGES, None, start);
                }
                if !w.acc.listed.is_empty() {
                    let from = w.acc.buf.len();
                    let listed = std::mem::take(&mut w.acc.listed);
                    w.acc.buf.extend_from_slice(&listed);
                    w.push(ch.part, REACTIONS, None, from);
                }
                ch.part
            }
            Kind::Reaction if kept && !self.from_lists => {
                let message = e.message_id().unwrap_or("");
                // A reaction goes with its message (same part).
                let Some(part) = t.message_part(message) else {
                    bump(&mut w.acc.dropped, "reactions to messages not in the file");
                    return Keep::Done;
                };
                if rewrite::reaction(e.raw_str(), &mut w.acc) {
                    w.push(part, REACTIONS, None, start);
                }
                part
            }
            _ => return Keep::Done,
        };
        let users = std::mem::take(&mut w.acc.users);
        w.users.extend(users.into_iter().map(|u| (part, u)));
        Keep::Done
    }

    fn needs_context(&self) -> bool {
        true
    }
}

impl Written {
    fn push(&mut self, part: usize, kind: usize, dedupe: Option<u64>, start: usize) {
        let range = start..self.acc.buf.len();
        let items = memchr::memchr_iter(b'\n', &self.acc.buf[range.clone()]).count() as u64;
        if items > 0 {
            self.lines.push(Line {
                part,
                kind,
                dedupe,
                range,
                items,
            });
        }
    }
}

/// The spills of every part, and what the parts reference.
pub(crate) struct Spills {
    files: Vec<[BufWriter<std::fs::File>; 3]>,
    pub(crate) users: Vec<BTreeSet<String>>,
    members_seen: HashSet<u64>,
    pub(crate) written: [u64; 3],
    pub(crate) adjusted: Counts,
    pub(crate) dropped: Counts,
}

impl Spills {
    /// Spill files for `parts` parts, in `folder`.
    pub(crate) fn new(parts: usize, folder: &Path) -> Result<Spills> {
        let mut files = Vec::with_capacity(parts);
        for _ in 0..parts {
            let one = || -> Result<BufWriter<std::fs::File>> {
                let f = tempfile::tempfile_in(folder)
                    .map_err(|e| Error::new(ErrorKind::Write(e)).with_path(folder))?;
                Ok(BufWriter::with_capacity(1 << 20, f))
            };
            files.push([one()?, one()?, one()?]);
        }
        Ok(Spills {
            files,
            users: vec![BTreeSet::new(); parts],
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
            self.files[line.part][line.kind]
                .write_all(&w.acc.buf[line.range.clone()])
                .map_err(spill_error)?;
            self.written[line.kind] += line.items;
        }
        for (part, user) in w.users {
            self.users[part].insert(user);
        }
        add_counts(&mut self.adjusted, w.acc.adjusted);
        add_counts(&mut self.dropped, w.acc.dropped);
        Ok(())
    }

    /// Appends part `part`'s spills, in the import order, to `out`.
    pub(crate) fn copy_part(&mut self, part: usize, out: &mut Output) -> Result<u64> {
        let mut total = 0;
        for spill in &mut self.files[part] {
            spill.flush().map_err(spill_error)?;
            let file = spill.get_mut();
            file.rewind().map_err(spill_error)?;
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = file.read(&mut buf).map_err(spill_error)?;
                if n == 0 {
                    break;
                }
                out.write_all(&buf[..n])
                    .map_err(|e| Error::new(ErrorKind::Write(e)).with_path(out.path()))?;
                total += n as u64;
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
