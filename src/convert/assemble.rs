//! The output of a conversion, put together once both passes ran: kept
//! channels packed into bins by their estimated size before pass 2, bins
//! packed into parts by their exact size after it, each part written in
//! the import order (users, devices, future_channel_ban, channels,
//! members, messages, reactions) under a temporary name.
//!
//! Two steps because neither alone fills the parts: before pass 2 only
//! an estimate is known (an export's message carries read-only fields and
//! whole user objects that the import leaves out, so it shrinks to about
//! half), after it the items are spilled and can no longer be regrouped
//! per channel. Bins are a fraction of a part, so a part ends at most one
//! bin short of the limit.

use super::rewrite::{self, Acc};
use super::tables::{self, Tables};
use super::write::{self, Spills};
use super::{ConvertSummary, MemberItem};
use crate::error::{Error, ErrorKind, Result};
use crate::output::Output;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::ops::Range;
use std::path::Path;

/// Bins per part: a bin is estimated at a quarter of `--max-size`.
const BINS_PER_PART: u64 = 4;

/// Assigns each kept channel a bin by its estimated size (an upper bound
/// of its items' bytes in the output, whole user objects for its
/// members); returns the number of bins. Without a size limit, one bin.
pub(crate) fn plan(tables: &mut Tables, max: Option<u64>) -> usize {
    let Some(max) = max else {
        return 1;
    };
    let capacity = (max / BINS_PER_PART).max(1);
    let user_bytes: u64 = tables.users.values().map(|u| u.raw.len() as u64).sum();
    let per_user = user_bytes / (tables.users.len() as u64).max(1) + 40;
    let (mut bin, mut size, mut channels_in_bin) = (0, 0, 0);
    for ch in tables.channels.iter_mut().filter(|c| c.kept) {
        let estimate = ch.bytes
            + ch.members.len() as u64 * per_user
            + ch.record.as_ref().map_or(100, |r| r.len() as u64);
        if channels_in_bin > 0 && size + estimate > capacity {
            bin += 1;
            size = 0;
            channels_in_bin = 0;
        }
        ch.bin = bin;
        size += estimate;
        channels_in_bin += 1;
    }
    bin + 1
}

/// A bin's lines written from the tables: its channels and the members
/// made up for distinct channels, with the users they name.
#[derive(Default)]
struct Head {
    channels: Acc,
    synthesized: Acc,
    users: BTreeSet<String>,
}

/// The first part's own lines: devices and bans, and the users they and
/// the kept user records name.
#[derive(Default)]
struct First {
    lines: Acc,
    users: BTreeSet<String>,
}

/// Writes the parts. A part holds consecutive bins, as many as fit in
/// `max` by their exact bytes (one bin at least, even a bin over the
/// limit: a channel is never split); one part is `out` itself, several
/// are the numbered files of a new folder `out`, which appears complete
/// or not at all.
pub(crate) fn assemble(
    tables: &Tables,
    spills: &mut Spills,
    max: Option<u64>,
    member_item: MemberItem,
    out: &Path,
    summary: &mut ConvertSummary,
) -> Result<()> {
    spills.flush_all()?;
    let mut written: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut acc = Acc::default();
    let first = first_lines(tables, &mut written);
    let heads = heads(
        tables,
        spills.bins.len(),
        member_item,
        &mut acc,
        &mut written,
    );
    let mut sizes = UserSizes::new(tables);
    let parts = group(spills, &heads, &first, max, &mut sizes);

    let split = parts.len() > 1;
    let (destination, staging) = if split {
        let staging = staging_folder(out)?;
        (staging.path().to_path_buf(), Some(staging))
    } else {
        (out.to_path_buf(), None)
    };
    let mut files = Vec::new();
    for (part, bins) in parts.iter().enumerate() {
        let path = if split {
            destination.join(format!("part-{:04}.jsonl", part + 1))
        } else {
            destination.clone()
        };
        let mut output = Output::create(&path)?;
        let users = part_users(spills, &heads, (part == 0).then_some(&first), bins.clone());
        let mut user_lines = Acc::default();
        for id in &users {
            user_line(tables, id, &mut user_lines, &mut acc);
            *written.entry("user").or_default() += 1;
        }
        tables::add_counts(&mut acc.adjusted, std::mem::take(&mut user_lines.adjusted));
        tables::add_counts(&mut acc.dropped, std::mem::take(&mut user_lines.dropped));
        let mut size = 0u64;
        let first_lines = (part == 0).then_some(&first.lines.buf[..]);
        let head = &heads[bins.clone()];
        let blocks = std::iter::once(&user_lines.buf[..])
            .chain(first_lines)
            .chain(head.iter().map(|h| &h.channels.buf[..]))
            .chain(head.iter().map(|h| &h.synthesized.buf[..]));
        for buf in blocks {
            output
                .write_all(buf)
                .map_err(|e| Error::new(ErrorKind::Write(e)).with_path(&path))?;
            size += buf.len() as u64;
        }
        size += spills.copy_bins(bins.clone(), &mut output)?;
        output.finish()?;
        files.push((path, size));
    }
    if let Some(staging) = staging {
        let kept = staging.keep();
        std::fs::rename(&kept, out).map_err(|e| {
            let _ = std::fs::remove_dir_all(&kept);
            Error::new(ErrorKind::Write(e)).with_path(out)
        })?;
        files = files
            .into_iter()
            .map(|(p, n)| (out.join(p.file_name().unwrap_or_default()), n))
            .collect();
    }
    for (kind, name) in [
        (write::MEMBERS, "member"),
        (write::MESSAGES, "message"),
        (write::REACTIONS, "reaction"),
    ] {
        *written.entry(name).or_default() += spills.written[kind];
    }
    summary.written = written;
    tables::add_counts(&mut acc.adjusted, first.lines.adjusted);
    tables::add_counts(&mut acc.dropped, first.lines.dropped);
    for h in heads {
        tables::add_counts(&mut acc.adjusted, h.channels.adjusted);
        tables::add_counts(&mut acc.adjusted, h.synthesized.adjusted);
    }
    count_distinct(tables, &mut acc);
    summary.adjusted = std::mem::take(&mut spills.adjusted);
    tables::add_counts(&mut summary.adjusted, acc.adjusted);
    summary.dropped = tables.dropped.clone();
    tables::add_counts(&mut summary.dropped, std::mem::take(&mut spills.dropped));
    tables::add_counts(&mut summary.dropped, acc.dropped);
    summary.parts = files;
    Ok(())
}

/// Devices and bans (they go with the first part), and their users.
fn first_lines(tables: &Tables, written: &mut BTreeMap<&'static str, u64>) -> First {
    let mut first = First {
        users: tables.kept_users.iter().cloned().collect(),
        ..First::default()
    };
    for d in &tables.devices {
        if let Some(user) = rewrite::device(d, &mut first.lines) {
            first.users.insert(user);
            *written.entry("device").or_default() += 1;
        }
    }
    for b in &tables.bans {
        if let Some(refs) = rewrite::ban(b, &mut first.lines) {
            first.users.extend(refs);
            *written.entry("future_channel_ban").or_default() += 1;
        }
    }
    first
}

/// Each bin's channel lines and made-up members.
fn heads(
    tables: &Tables,
    bins: usize,
    member_item: MemberItem,
    acc: &mut Acc,
    written: &mut BTreeMap<&'static str, u64>,
) -> Vec<Head> {
    let mut heads: Vec<Head> = (0..bins).map(|_| Head::default()).collect();
    for ch in tables.channels.iter().filter(|c| c.kept) {
        let head = &mut heads[ch.bin];
        let creator = ch
            .created_by
            .clone()
            .filter(|c| !c.is_empty())
            .or_else(|| ch.first_user.clone());
        let Some(creator) = creator else {
            tables::bump(
                &mut acc.dropped,
                "channels without a creator, member or message",
            );
            continue;
        };
        if ch.created_by.as_deref().is_none_or(str::is_empty) {
            tables::bump(
                &mut acc.adjusted,
                "channels without created_by: their first member or author named",
            );
        }
        rewrite::channel(ch, &creator, &mut head.channels);
        head.users.insert(creator);
        *written.entry("channel").or_default() += 1;
        if ch.is_distinct() {
            for user in ch.members.difference(&ch.recorded) {
                rewrite::made_up_member(ch, user, member_item, &mut head.synthesized);
                head.users.insert(user.clone());
                *written.entry("member").or_default() += 1;
            }
        }
    }
    heads
}

/// The users a part's items name, in id order.
fn part_users<'t>(
    spills: &'t Spills,
    heads: &'t [Head],
    first: Option<&'t First>,
    bins: Range<usize>,
) -> BTreeSet<&'t str> {
    let mut users: BTreeSet<&str> = BTreeSet::new();
    for sets in first
        .map(|f| &f.users)
        .into_iter()
        .chain(heads[bins.clone()].iter().map(|h| &h.users))
        .chain(spills.bins[bins].iter().map(|b| &b.users))
    {
        users.extend(sets.iter().map(String::as_str));
    }
    users
}

/// A user's line: its object rewritten, or (none in the input) its id.
fn user_line(tables: &Tables, id: &str, lines: &mut Acc, acc: &mut Acc) {
    match tables.users.get(id) {
        Some(u) => rewrite::user(&u.raw, lines),
        None => {
            tables::bump(
                &mut acc.adjusted,
                "users known only by id (no user object in the input): written with their id",
            );
            rewrite::bare_user(id, lines);
        }
    }
}

/// The exact length of each user's line, measured once.
struct UserSizes<'t> {
    tables: &'t Tables,
    known: HashMap<&'t str, u64>,
    scratch: Acc,
}

impl<'t> UserSizes<'t> {
    fn new(tables: &'t Tables) -> Self {
        UserSizes {
            tables,
            known: HashMap::new(),
            scratch: Acc::default(),
        }
    }

    fn of(&mut self, id: &'t str) -> u64 {
        if let Some(&n) = self.known.get(id) {
            return n;
        }
        self.scratch = Acc::default();
        let mut counts = Acc::default();
        user_line(self.tables, id, &mut self.scratch, &mut counts);
        let n = self.scratch.buf.len() as u64;
        self.known.insert(id, n);
        n
    }
}

/// Consecutive bins grouped into parts of at most `max` bytes (what each
/// part's users, head lines and spilled items add up to), greedily.
fn group<'t>(
    spills: &'t Spills,
    heads: &'t [Head],
    first: &'t First,
    max: Option<u64>,
    sizes: &mut UserSizes<'t>,
) -> Vec<Range<usize>> {
    let bins = spills.bins.len();
    let Some(max) = max else {
        return std::iter::once(0..bins).collect();
    };
    let bin_bytes = |b: usize| {
        spills.bins[b].bytes
            + heads[b].channels.buf.len() as u64
            + heads[b].synthesized.buf.len() as u64
    };
    let mut parts = Vec::new();
    let mut start = 0;
    let mut users: BTreeSet<&str> = first.users.iter().map(String::as_str).collect();
    let mut size = first.lines.buf.len() as u64 + users.iter().map(|u| sizes.of(u)).sum::<u64>();
    for (b, (head, bin)) in heads.iter().zip(&spills.bins).enumerate() {
        let named = || head.users.iter().chain(&bin.users).map(String::as_str);
        let added: u64 = named()
            .filter(|u| !users.contains(u))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|u| sizes.of(u))
            .sum();
        if b > start && size + bin_bytes(b) + added > max {
            parts.push(start..b);
            start = b;
            users = named().collect();
            size = bin_bytes(b) + users.iter().map(|u| sizes.of(u)).sum::<u64>();
        } else {
            users.extend(named());
            size += bin_bytes(b) + added;
        }
    }
    parts.push(start..bins);
    parts
}

/// The staging folder of a split output, beside `out` (which must not
/// exist).
fn staging_folder(out: &Path) -> Result<tempfile::TempDir> {
    if out.exists() {
        return Err(Error::new(ErrorKind::Usage(format!(
            "{}: exists; a split output is a new folder (remove it or choose another --out)",
            out.display()
        ))));
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = out.file_name().unwrap_or(out.as_os_str()).to_string_lossy();
    tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempdir_in(parent)
        .map_err(|e| Error::new(ErrorKind::Write(e)).with_path(out))
}

/// The summary's counts of distinct channels written by their id, or
/// given made-up members.
fn count_distinct(tables: &Tables, acc: &mut Acc) {
    let made_up = tables
        .channels
        .iter()
        .filter(|c| c.kept && c.is_distinct() && c.members.len() > c.recorded.len())
        .count() as u64;
    let shared = tables
        .channels
        .iter()
        .filter(|c| c.kept && c.named_distinct() && !c.is_distinct())
        .count() as u64;
    if shared > 0 {
        acc.adjusted.insert(
            "distinct channels whose member set another one has (or that have none): written by their id, rewritten to the import pattern",
            shared,
        );
    }
    if made_up > 0 {
        acc.adjusted.insert(
            "distinct channels missing member records: made up for their listed users (or, without a list, their authors and creator)",
            made_up,
        );
    }
}
