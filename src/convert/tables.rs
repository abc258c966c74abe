//! Pass 1 of a conversion: the tables an import file needs before its
//! first message — users (newest `updated_at` wins), channels with their
//! members, devices and bans — plus each kept message's id hash and
//! channel (so replies, quotes and reactions are written only when what
//! they reference is in the file, and in the same part). Memory: users
//! and channels with their member lists, and 16 bytes (plus the hash
//! table's overhead) per kept message; never a message's content.

use super::object::{Object, Raw, elements, id_of};
use crate::engine::{Job, Keep};
use crate::filter::Filter;
use crate::model::entity::{Entity, Kind};
use crate::model::timestamp::Timestamp;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasher, RandomState};

/// Counters by description, for the summary.
pub(crate) type Counts = BTreeMap<&'static str, u64>;

/// Adds one to a counter.
pub(crate) fn bump(counts: &mut Counts, what: &'static str) {
    *counts.entry(what).or_default() += 1;
}

/// Adds `from` into `into`.
pub(crate) fn add_counts(into: &mut Counts, from: Counts) {
    for (k, n) in from {
        *into.entry(k).or_default() += n;
    }
}

/// What the tables keep of a kept message: 8 bytes beside its id's hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MessageRef {
    /// Its channel (an index into [`Tables::channels`]).
    pub(crate) channel: u32,
    /// Has it a `parent_id`?
    pub(crate) reply: bool,
}

/// The best user object seen for an id.
pub(crate) struct UserEntry {
    pub(crate) updated: Option<Timestamp>,
    /// The object's JSON.
    pub(crate) raw: Box<str>,
}

/// A channel and what the file says of it.
pub(crate) struct ChannelEntry {
    pub(crate) ty: String,
    pub(crate) id: String,
    /// The channel record's JSON, if the file has one.
    pub(crate) record: Option<Box<str>>,
    pub(crate) created_by: Option<String>,
    /// The first member or author seen: the creator when none is given.
    pub(crate) first_user: Option<String>,
    /// A distinct channel's identity, its user ids: from its member
    /// records, and from its member list in an import file.
    pub(crate) members: BTreeSet<String>,
    /// A distinct channel's users that have a member record; member items
    /// are made up for the others (the import wants one per user).
    pub(crate) recorded: BTreeSet<String>,
    /// A distinct channel's authors, for one without member records (a
    /// user export): its members are then made up from them.
    pub(crate) authors: BTreeSet<String>,

    /// Written: a kept item is in it, or its record is kept.
    pub(crate) kept: bool,
    /// Written by its member set (see [`ChannelEntry::is_distinct`]).
    pub(crate) distinct: bool,
    /// Estimated bytes of its kept items in the output.
    pub(crate) bytes: u64,
    /// The bin it goes to: channels are packed into bins by their
    /// estimated size, bins into output parts by their exact size, once
    /// written (see `assemble`).
    pub(crate) bin: usize,
}

impl ChannelEntry {
    /// Named as a distinct channel (`!members-…`, an id the import
    /// pattern refuses).
    pub(crate) fn named_distinct(&self) -> bool {
        self.id.starts_with("!members")
    }

    /// Written as a distinct channel, with `member_ids` (decided by
    /// [`Tables::finish`]).
    pub(crate) fn is_distinct(&self) -> bool {
        self.distinct
    }
}

/// Everything pass 1 collects.
#[derive(Default)]
pub(crate) struct Tables {
    pub(crate) hasher: RandomState,
    pub(crate) users: HashMap<String, UserEntry>,
    pub(crate) channels: Vec<ChannelEntry>,
    pub(crate) by_cid: HashMap<String, usize>,
    /// Kept message id hash → its channel and whether it is a reply.
    pub(crate) messages: HashMap<u64, MessageRef>,
    /// User records that pass the filter.
    pub(crate) kept_users: BTreeSet<String>,
    pub(crate) devices: Vec<Box<str>>,
    pub(crate) bans: Vec<Box<str>>,
    pub(crate) reaction_records: u64,
    /// Reactions listed in messages (`latest_reactions`) and counted by
    /// them (`reaction_counts`): a preview is partial when fewer are
    /// listed than counted.
    pub(crate) listed_reactions: u64,
    pub(crate) counted_reactions: u64,
    pub(crate) dropped: Counts,
}

impl Tables {
    /// The hash of a message id.
    pub(crate) fn message_hash(&self, id: &str) -> u64 {
        self.hasher.hash_one(id)
    }

    /// A kept message, by id.
    pub(crate) fn message(&self, id: &str) -> Option<MessageRef> {
        self.messages.get(&self.message_hash(id)).copied()
    }

    /// The bin a kept message goes to.
    pub(crate) fn message_bin(&self, id: &str) -> Option<usize> {
        let m = self.message(id)?;
        Some(self.channels.get(m.channel as usize)?.bin)
    }

    /// The channel of a cid.
    pub(crate) fn channel(&self, cid: &str) -> Option<(usize, &ChannelEntry)> {
        let i = *self.by_cid.get(cid)?;
        Some((i, &self.channels[i]))
    }

    fn channel_mut(&mut self, cid: &str) -> &mut ChannelEntry {
        let i = self.channel_index(cid);
        &mut self.channels[i]
    }

    /// The index of a cid's channel, created when new.
    fn channel_index(&mut self, cid: &str) -> usize {
        match self.by_cid.get(cid) {
            Some(i) => *i,
            None => {
                let (ty, id) = cid.split_once(':').unwrap_or(("", cid));
                self.channels.push(ChannelEntry {
                    ty: ty.to_string(),
                    id: id.to_string(),
                    record: None,
                    created_by: None,
                    first_user: None,
                    members: BTreeSet::new(),
                    authors: BTreeSet::new(),
                    recorded: BTreeSet::new(),
                    kept: false,
                    distinct: false,
                    bytes: 0,
                    bin: 0,
                });
                self.by_cid.insert(cid.to_string(), self.channels.len() - 1);
                self.channels.len() - 1
            }
        }
    }

    /// Merges a chunk's observations, in input order.
    pub(crate) fn merge(&mut self, seen: Seen) {
        for (id, candidate) in seen.users {
            match self.users.get(&id) {
                Some(old) if !newer(candidate.updated, old.updated) => {}
                _ => {
                    self.users.insert(id, candidate);
                }
            }
        }
        self.kept_users.extend(seen.kept_users);
        for c in seen.channels {
            let ch = self.channel_mut(&c.cid);
            if let Some(listed) = c.listed {
                ch.members.extend(listed);
            }
            if ch.record.is_none() {
                ch.record = c.record;
                ch.created_by = c.created_by;
            }
            ch.kept |= c.kept;
            ch.bytes += c.bytes;
        }
        for m in seen.members {
            let ch = self.channel_mut(&m.cid);
            ch.first_user.get_or_insert_with(|| m.user.clone());
            if m.kept {
                ch.kept = true;
                ch.bytes += m.bytes;
            }
            // Only a distinct channel needs its member list.
            if ch.named_distinct() {
                ch.recorded.insert(m.user.clone());
                ch.members.insert(m.user);
            }
        }
        for m in seen.messages {
            if let Some(cid) = &m.cid {
                let index = self.channel_index(cid);
                if m.kept {
                    let reply = m.reply;
                    let channel = u32::try_from(index).unwrap_or(u32::MAX);
                    self.messages.insert(m.hash, MessageRef { channel, reply });
                }
                let ch = &mut self.channels[index];
                if let Some(author) = &m.author {
                    ch.first_user.get_or_insert_with(|| author.clone());
                    if ch.named_distinct() && ch.members.is_empty() {
                        ch.authors.insert(author.clone());
                    }
                }
                if m.kept {
                    ch.kept = true;
                    ch.bytes += m.bytes;
                }
            }
        }
        for (cid, bytes) in seen.reactions {
            if let Some(cid) = cid {
                self.channel_mut(&cid).bytes += bytes;
            }
        }
        self.devices.extend(seen.devices);
        self.bans.extend(seen.bans);
        self.reaction_records += seen.reaction_records;
        self.listed_reactions += seen.listed_reactions;
        self.counted_reactions += seen.counted_reactions;
        add_counts(&mut self.dropped, seen.dropped);
    }
}

impl Tables {
    /// After pass 1: a distinct channel without member records gets its
    /// authors and creator as members (its identity is its member set, and
    /// an import needs one).
    pub(crate) fn finish(&mut self) {
        for ch in self
            .channels
            .iter_mut()
            .filter(|c| c.named_distinct() && c.members.is_empty())
        {
            let mut members = std::mem::take(&mut ch.authors);
            members.extend(ch.created_by.iter().filter(|c| !c.is_empty()).cloned());
            ch.members = members;
        }
        // A member set names one distinct channel in an import file. Two
        // exported distinct channels can share one (members left or were
        // added after creation): the first seen is written by its members,
        // the others by their ids, rewritten as the pattern requires.
        let mut sets: std::collections::HashSet<(String, Vec<String>)> = Default::default();
        for ch in &mut self.channels {
            ch.authors = BTreeSet::new();
            ch.distinct = ch.named_distinct()
                && !ch.members.is_empty()
                && sets.insert((ch.ty.clone(), ch.members.iter().cloned().collect()));
            if !ch.distinct {
                ch.recorded = BTreeSet::new();
            }
        }
    }
}

/// The channel an entity is in, as a cid, and for a channel named by its
/// member list (an import file's distinct channel: `member_ids`, or
/// `channel_member_ids` on members and messages) that list. Such a channel
/// gets an internal `type:!members-…` cid, never written: distinct
/// channels are written by their member ids.
pub(crate) fn channel_key(e: &Entity<'_>) -> Option<(String, Option<Vec<String>>)> {
    // An entity that names its channel (cid, type and id) has no member
    // list to look for; only the others are searched (a scan of the
    // record).
    if e.channel_source() == crate::model::entity::ChannelSource::Own
        && let Some(cid) = e.cid()
    {
        return Some((cid.to_string(), None));
    }
    let (list_key, type_key) = match e.kind() {
        Kind::Channel => ("member_ids", "type"),
        _ => ("channel_member_ids", "channel_type"),
    };
    let list: Option<Vec<String>> = e
        .get(list_key)
        .and_then(|v| serde_json::from_str(v.get()).ok())
        .filter(|l: &Vec<String>| !l.is_empty());
    match list {
        Some(mut members) => {
            let ty: String = e
                .get(type_key)
                .and_then(|v| serde_json::from_str(v.get()).ok())
                .unwrap_or_default();
            members.sort();
            members.dedup();
            Some((
                format!("{ty}:!members-{}", members.join(",")),
                Some(members),
            ))
        }
        None => e.cid().map(|c| (c.to_string(), None)),
    }
}

/// Is `a` strictly newer than `b`? A time beats none; on a tie the first
/// seen stays.
fn newer(a: Option<Timestamp>, b: Option<Timestamp>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a > b,
        (Some(_), None) => true,
        _ => false,
    }
}

/// A channel record or reference seen in a chunk.
pub(crate) struct ChannelSeen {
    cid: String,
    /// The member list that names a distinct channel of an import file.
    listed: Option<Vec<String>>,
    record: Option<Box<str>>,
    created_by: Option<String>,
    kept: bool,
    bytes: u64,
}

/// A member seen in a chunk.
pub(crate) struct MemberSeen {
    cid: String,
    user: String,
    kept: bool,
    bytes: u64,
}

/// A message seen in a chunk.
pub(crate) struct MessageSeen {
    cid: Option<String>,
    hash: u64,
    reply: bool,
    kept: bool,
    bytes: u64,
    author: Option<String>,
}

/// One chunk's observations (pass 1's partial).
#[derive(Default)]
pub(crate) struct Seen {
    users: HashMap<String, UserEntry>,
    kept_users: Vec<String>,
    channels: Vec<ChannelSeen>,
    members: Vec<MemberSeen>,
    messages: Vec<MessageSeen>,
    reactions: Vec<(Option<String>, u64)>,
    devices: Vec<Box<str>>,
    bans: Vec<Box<str>>,
    reaction_records: u64,
    listed_reactions: u64,
    counted_reactions: u64,
    dropped: Counts,
    last_offset: u64,
    /// Hashes of the user objects already taken in this chunk.
    user_bytes: std::collections::HashSet<u64>,
    user_hasher: RandomState,
}

impl Seen {
    /// The offset of the chunk's last entity (progress).
    pub(crate) fn last_offset(&self) -> u64 {
        self.last_offset
    }

    /// A user object (a record or an embedded one); the chunk keeps the
    /// newest per id.
    fn user(&mut self, raw: &str) {
        // The same embedded object repeats in every message of its author:
        // a hash of its bytes spares parsing it again in this chunk.
        if !self.user_bytes.insert(self.user_hasher.hash_one(raw)) {
            return;
        }
        #[derive(serde::Deserialize)]
        struct Head<'a> {
            #[serde(borrow)]
            id: Option<std::borrow::Cow<'a, str>>,
            #[serde(borrow)]
            updated_at: Option<std::borrow::Cow<'a, str>>,
        }
        let Ok(head) = serde_json::from_str::<Head<'_>>(raw) else {
            return;
        };
        let Some(id) = head.id.filter(|i| !i.is_empty()) else {
            return;
        };
        let updated = head.updated_at.as_deref().and_then(Timestamp::parse);
        if let Some(old) = self.users.get(id.as_ref())
            && !newer(updated, old.updated)
        {
            return;
        }
        self.users.insert(
            id.into_owned(),
            UserEntry {
                updated,
                raw: raw.into(),
            },
        );
    }
}

/// Pass 1 as an engine job: every entity is observed on the worker that
/// decoded it (after channel resolution); nothing is delivered.
pub(crate) struct TablesJob<'f> {
    pub(crate) filter: &'f Filter,
    pub(crate) hasher: RandomState,
}

impl Job for TablesJob<'_> {
    type Partial = Seen;

    fn entity(&self, e: &Entity<'_>, seen: &mut Seen) -> Keep {
        seen.last_offset = seen.last_offset.max(e.offset());
        let kept = self.filter.matches(e);
        let bytes = e.raw().len() as u64 + 40;
        match e.kind() {
            Kind::User => {
                seen.user(e.raw_str());
                if kept && let Some(id) = e.id() {
                    seen.kept_users.push(id.to_string());
                }
            }
            Kind::Channel => {
                let Some((cid, listed)) = channel_key(e) else {
                    bump(&mut seen.dropped, "channels without type and id");
                    return Keep::Done;
                };
                let created_by = prefetched(e)[CREATED_BY];
                if let Some(by) = user_object(created_by) {
                    seen.user(by);
                }
                seen.channels.push(ChannelSeen {
                    cid,
                    listed,
                    record: Some(e.raw_str().into()),
                    created_by: created_by.and_then(id_of),
                    kept,
                    bytes,
                });
            }
            Kind::Member => {
                if let Some(u) = user_object(prefetched(e)[USER]) {
                    seen.user(u);
                }
                // One without a channel or user is counted when pass 2
                // drops it.
                if let (Some((cid, _)), Some(user)) = (channel_key(e), e.user_id()) {
                    seen.members.push(MemberSeen {
                        cid,
                        user: user.to_string(),
                        kept,
                        bytes,
                    });
                }
            }
            Kind::Message => self.message(e, kept, bytes, seen),
            Kind::Reaction => {
                seen.reaction_records += 1;
                if let Some(u) = user_object(prefetched(e)[USER]) {
                    seen.user(u);
                }
                if kept {
                    seen.reactions.push((e.cid().map(str::to_string), bytes));
                }
            }
            Kind::Read => bump(
                &mut seen.dropped,
                "read states (not part of an import file)",
            ),
            Kind::Device => {
                if kept {
                    seen.devices.push(e.raw_str().into());
                }
            }
            _ if e.type_name() == "future_channel_ban" => {
                if kept {
                    seen.bans.push(e.raw_str().into());
                }
            }
            _ => bump(
                &mut seen.dropped,
                "records of other kinds (calls, unknown types)",
            ),
        }
        Keep::Done
    }

    fn needs_context(&self) -> bool {
        true
    }

    fn prefetch_fields(&self) -> &'static [&'static str] {
        PREFETCH
    }
}

/// The fields pass 1 reads besides the decoded ones, recorded by the
/// decoder as it goes (`Job::prefetch_fields`).
const PREFETCH: &[&str] = &[
    "user",
    "pinned_by",
    "mentioned_users",
    "latest_reactions",
    "reaction_counts",
    "created_by",
];
const USER: usize = 0;
const PINNED_BY: usize = 1;
const MENTIONED_USERS: usize = 2;
const LATEST_REACTIONS: usize = 3;
const REACTION_COUNTS: usize = 4;
const CREATED_BY: usize = 5;

/// The [`PREFETCH`] fields of an entity: as the decoder recorded them, or
/// (it did not: the sequential reader, an unusual record) from one scan of
/// the entity. Nulls are absent either way.
fn prefetched<'e>(e: &'e Entity<'_>) -> [Option<Raw<'e>>; PREFETCH.len()] {
    let mut out = [None; PREFETCH.len()];
    if e.extra(0).is_some() {
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = e
                .extra(i)
                .flatten()
                .filter(|v| *v != "null")
                .map(Raw::trusted);
        }
    } else if let Ok(o) = Object::parse(e.raw_str()) {
        for (slot, name) in out.iter_mut().zip(PREFETCH) {
            *slot = o.get(name);
        }
    }
    out
}

/// A user object's JSON (`None`: absent, or a reference by id).
fn user_object(v: Option<Raw<'_>>) -> Option<&str> {
    v.map(Raw::get).filter(|v| v.starts_with('{'))
}

impl TablesJob<'_> {
    fn message(&self, e: &Entity<'_>, kept: bool, bytes: u64, seen: &mut Seen) {
        let fields = prefetched(e);
        for u in [fields[USER], fields[PINNED_BY]] {
            if let Some(u) = user_object(u) {
                seen.user(u);
            }
        }
        if let Some(list) = fields[MENTIONED_USERS] {
            for u in elements(list) {
                if let Some(u) = user_object(Some(u)) {
                    seen.user(u);
                }
            }
        }
        let mut listed_bytes = 0;
        if let Some(list) = fields[LATEST_REACTIONS] {
            let reactions = elements(list);
            seen.listed_reactions += reactions.len() as u64;
            for r in reactions {
                listed_bytes += r.get().len() as u64;
                if let Ok(r) = Object::parse(r.get())
                    && let Some(u) = user_object(r.get("user"))
                {
                    seen.user(u);
                }
            }
        }
        if let Some(counts) = fields[REACTION_COUNTS] {
            let counts: BTreeMap<String, u64> =
                serde_json::from_str(counts.get()).unwrap_or_default();
            seen.counted_reactions += counts.values().sum::<u64>();
        }
        // Counted when pass 2 drops it.
        let Some(id) = e.id() else {
            return;
        };
        seen.messages.push(MessageSeen {
            cid: channel_key(e).map(|(cid, _)| cid),
            hash: self.hasher.hash_one(id),
            reply: e.parent_id().is_some_and(|p| !p.is_empty()),
            kept,
            bytes: bytes + listed_bytes,
            author: e.user_id().map(str::to_string),
        });
    }
}
