//! Channel resolution (FORMAT.md, "Resolving an entity's channel"): the
//! channel that members, read states and messages without a cid inherit,
//! and recent message ids so a reaction takes its message's channel.
//! Shared by the sequential reader and the ordered phase of the parallel
//! executor, so both resolve identically.

use crate::hash::{HashKeyed, Map};
use crate::model::entity::{ChannelSource, Entity, Kind};
use crate::report::Report;
use std::borrow::Cow;
use std::hash::BuildHasher;
use std::sync::Arc;

/// A remembered message id: inline up to [`INLINE`] bytes (Stream's ids
/// are UUIDs, 36 bytes), so remembering a message allocates nothing;
/// longer ids are boxed.
#[derive(Clone, PartialEq, Eq, Hash)]
enum MessageId {
    Inline(u8, [u8; INLINE]),
    Boxed(Box<str>),
}

const INLINE: usize = 46;

/// A message id for the context, copied and hashed (by a worker, for
/// the ordered pass: see `Context::remember_recent`).
pub(crate) struct RecentId {
    hash: u64,
    id: MessageId,
}

impl RecentId {
    pub(crate) fn new(id: &str) -> RecentId {
        RecentId {
            hash: Recent::hash_of(id),
            id: MessageId::new(id),
        }
    }
}

impl MessageId {
    fn new(id: &str) -> MessageId {
        let b = id.as_bytes();
        if b.len() <= INLINE {
            let mut bytes = [0u8; INLINE];
            bytes[..b.len()].copy_from_slice(b);
            MessageId::Inline(b.len() as u8, bytes)
        } else {
            MessageId::Boxed(id.into())
        }
    }
}

/// The resolution context: the channel that members, reads and reactions
/// without a cid inherit, and recent message ids for reactions.
pub(crate) struct Context {
    channel: Option<Arc<str>>,
    /// Recent message ids and their channels (indexes into `cids`).
    messages: Recent,
    capacity: usize,
    /// The channels of remembered messages, each stored once: they grow
    /// with the channels, not the messages.
    cids: Vec<Arc<str>>,
    cid_index: Map<Arc<str>, u32>,
    /// The last channel remembered, and its index (messages come in runs
    /// of one channel).
    last_cid: Option<(Arc<str>, u32)>,
    /// The channel of the last `remember_recent` message.
    recent_cid: Option<u32>,
}

impl Context {
    pub(crate) fn new(capacity: usize) -> Context {
        Context {
            channel: None,
            messages: Recent::new(capacity),
            capacity,
            cids: Vec::new(),
            cid_index: Map::default(),
            last_cid: None,
            recent_cid: None,
        }
    }

    /// A new v1 channel object begins: nothing is inherited across it.
    pub(crate) fn reset(&mut self) {
        self.channel = None;
    }

    pub(crate) fn resolve(&mut self, e: &mut Entity<'_>, report: &mut Report) {
        if e.kind == Kind::Channel && e.cid().is_none() {
            // A channel without a cid (an import channel given by
            // `member_ids`): what follows belongs to it, not to the
            // channel before it, and its cid is unknown.
            self.channel = None;
            return;
        }
        if let Some(cid) = e.cid() {
            if e.kind == Kind::Channel {
                self.enter_channel(Some(cid));
            } else if e.kind == Kind::Message
                && self.capacity > 0
                && let Some(id) = e.id()
            {
                self.remember(id, cid);
            }
            return;
        }
        match e.kind {
            Kind::Reaction => {
                let by_message = e
                    .message_id()
                    .and_then(|m| self.messages.get(m))
                    .map(|i| &self.cids[i as usize]);
                if let Some(cid) = by_message {
                    e.fields.cid = Some(Cow::Owned(cid.to_string()));
                    e.channel_source = ChannelSource::Message;
                } else if let Some(cid) = &self.channel {
                    e.fields.cid = Some(Cow::Owned(cid.to_string()));
                    e.channel_source = ChannelSource::EnclosingFallback;
                    report.channel_fallbacks += 1;
                }
            }
            Kind::Member | Kind::Read | Kind::Message => {
                if let Some(cid) = &self.channel {
                    e.fields.cid = Some(Cow::Owned(cid.to_string()));
                    e.channel_source = ChannelSource::Enclosing;
                    if e.kind == Kind::Message
                        && self.capacity > 0
                        && let (Some(id), Some(cid)) = (e.fields.id.clone(), self.channel.clone())
                    {
                        self.remember(&id, &cid);
                    }
                }
            }
            _ => {}
        }
    }

    /// A channel record: what follows inherits its cid (`None`: a channel
    /// without one, which nothing inherits from).
    pub(crate) fn enter_channel(&mut self, cid: Option<&str>) {
        match cid {
            Some(cid) if self.channel.as_deref() == Some(cid) => {}
            Some(cid) => self.channel = Some(Arc::from(cid)),
            None => self.channel = None,
        }
    }

    /// A message with its own channel, for the reactions that follow it.
    pub(crate) fn remember(&mut self, id: &str, cid: &str) {
        if self.capacity == 0 {
            return;
        }
        let cid = self.cid(cid);
        self.messages.remember(id, cid);
    }

    /// A message with its own channel, as a worker handed it over:
    /// `same_cid` says its channel is that of the previous message given
    /// here (so its bytes need not be read).
    pub(crate) fn remember_recent(&mut self, id: RecentId, cid: &str, same_cid: bool) {
        if self.capacity == 0 {
            return;
        }
        let cid = match self.recent_cid {
            Some(c) if same_cid => c,
            _ => self.cid(cid),
        };
        self.recent_cid = Some(cid);
        self.messages.remember_id(id, cid);
    }

    /// The index of a channel in `cids`, added when new.
    fn cid(&mut self, cid: &str) -> u32 {
        if let Some((last, i)) = &self.last_cid
            && &**last == cid
        {
            return *i;
        }
        let i = match self.cid_index.get(cid) {
            Some(&i) => i,
            None => {
                let shared: Arc<str> = Arc::from(cid);
                let i = u32::try_from(self.cids.len()).unwrap_or(u32::MAX);
                self.cids.push(shared.clone());
                self.cid_index.insert(shared, i);
                i
            }
        };
        self.last_cid = Some((self.cids[i as usize].clone(), i));
        i
    }
}

/// The last `capacity` message ids first remembered, with their
/// channels: a ring of slots indexed by the hash of the id. An id seen
/// again takes its new channel and keeps its place (so the oldest first
/// seen is the one forgotten). The index holds 8-byte hashes, not ids: it
/// stays small enough for the caches, and remembering a message allocates
/// nothing once the ring is full (ids up to [`INLINE`] bytes).
struct Recent {
    /// Id hash → slot. An id whose hash a different id's slot holds is
    /// indexed in `collided` instead (a 64-bit hash collision: checked,
    /// never assumed away).
    index: HashKeyed<u32>,
    collided: Map<MessageId, u32>,
    slots: Vec<Slot>,
    /// The slot the next new id takes once the ring is full: the oldest.
    next: usize,
    capacity: usize,
    /// Every id hashes alike (tests of the collision path).
    #[cfg(test)]
    colliding: bool,
}

struct Slot {
    hash: u64,
    id: MessageId,
    cid: u32,
}

impl Recent {
    fn new(capacity: usize) -> Recent {
        Recent {
            index: HashKeyed::default(),
            collided: Map::default(),
            slots: Vec::new(),
            next: 0,
            capacity,
            #[cfg(test)]
            colliding: false,
        }
    }

    fn hash(&self, id: &str) -> u64 {
        #[cfg(test)]
        if self.colliding {
            return 7;
        }
        Self::hash_of(id)
    }

    fn hash_of(id: &str) -> u64 {
        std::hash::BuildHasherDefault::<crate::hash::Fx>::default().hash_one(id.as_bytes())
    }

    /// The slot holding `id`.
    fn find_id(&self, id: &MessageId, hash: u64) -> Option<usize> {
        if let Some(&s) = self.index.get(&hash)
            && self.slots[s as usize].id == *id
        {
            return Some(s as usize);
        }
        if self.collided.is_empty() {
            return None;
        }
        self.collided.get(id).map(|&s| s as usize)
    }

    /// The channel remembered for `id`.
    fn get(&self, id: &str) -> Option<u32> {
        self.find_id(&MessageId::new(id), self.hash(id))
            .map(|s| self.slots[s].cid)
    }

    fn remember(&mut self, id: &str, cid: u32) {
        let hash = self.hash(id);
        self.remember_id(
            RecentId {
                hash,
                id: MessageId::new(id),
            },
            cid,
        );
    }

    fn remember_id(&mut self, RecentId { hash, id }: RecentId, cid: u32) {
        if self.capacity == 0 {
            return;
        }
        if let Some(s) = self.find_id(&id, hash) {
            self.slots[s].cid = cid;
            return;
        }
        let slot = Slot { hash, id, cid };
        let s = if self.slots.len() < self.capacity {
            self.slots.push(slot);
            self.slots.len() - 1
        } else {
            let s = self.next;
            self.next = (s + 1) % self.capacity;
            self.forget(s);
            self.slots[s] = slot;
            s
        };
        // Slots number at most `capacity`; a capacity past u32 would be
        // over 200 GB of ids.
        let at = u32::try_from(s).unwrap_or(u32::MAX);
        match self.index.entry(hash) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(at);
            }
            std::collections::hash_map::Entry::Occupied(_) => {
                self.collided.insert(self.slots[s].id.clone(), at);
            }
        }
    }

    /// Drops slot `s`'s id from the indexes.
    fn forget(&mut self, s: usize) {
        let old = &self.slots[s];
        if self.index.get(&old.hash).is_some_and(|&i| i as usize == s) {
            self.index.remove(&old.hash);
        } else {
            self.collided.remove(&old.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel_of<'c>(c: &'c Context, id: &str) -> Option<&'c str> {
        let i = c.messages.get(id)?;
        Some(&c.cids[i as usize])
    }

    #[test]
    fn remembers_short_and_long_ids_and_forgets_the_oldest() {
        let long = "m".repeat(INLINE + 1);
        let longer = "m".repeat(INLINE + 2);
        let mut c = Context::new(3);
        c.remember("a", "messaging:one");
        c.remember(&long, "messaging:two");
        c.remember(&longer, "messaging:one");
        assert_eq!(channel_of(&c, "a"), Some("messaging:one"));
        assert_eq!(channel_of(&c, &long), Some("messaging:two"));
        assert_eq!(channel_of(&c, &longer), Some("messaging:one"));
        // An id seen again takes its new channel and keeps its place.
        c.remember("a", "messaging:three");
        assert_eq!(channel_of(&c, "a"), Some("messaging:three"));
        c.remember("b", "messaging:two");
        assert_eq!(
            channel_of(&c, "a"),
            None,
            "the first remembered is forgotten first"
        );
        assert_eq!(channel_of(&c, &long), Some("messaging:two"));
        assert_eq!(channel_of(&c, "b"), Some("messaging:two"));
        // Channels are stored once each.
        assert_eq!(c.cids.len(), 3);
        // An id that is a prefix of another, or padded, is another id.
        assert_eq!(channel_of(&c, "b\0"), None);
        assert_eq!(channel_of(&c, ""), None);
    }

    /// `Recent` against the plain model: a map and a queue of ids by
    /// first insertion, over random ids from a small set (so ids repeat
    /// and are forgotten), with real hashes and with every hash equal.
    #[test]
    fn recent_ids_behave_as_a_queue_by_first_insertion() {
        for colliding in [false, true] {
            for capacity in [1, 2, 5, 17] {
                let mut recent = Recent::new(capacity);
                recent.colliding = colliding;
                let mut model: std::collections::HashMap<String, u32> = Default::default();
                let mut order: std::collections::VecDeque<String> = Default::default();
                let mut seed = 0x2545_f491_4f6c_dd1du64;
                for step in 0..5000u32 {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let n = seed % 40;
                    // Short and long ids alike.
                    let id = if n.is_multiple_of(3) {
                        format!("{n}-{}", "x".repeat(INLINE))
                    } else {
                        format!("m{n}")
                    };
                    if seed.is_multiple_of(4) {
                        assert_eq!(recent.get(&id), model.get(&id).copied(), "{step}");
                        continue;
                    }
                    recent.remember(&id, step);
                    if let Some(c) = model.get_mut(&id) {
                        *c = step;
                    } else {
                        model.insert(id.clone(), step);
                        order.push_back(id);
                        if order.len() > capacity {
                            let old = order.pop_front().unwrap();
                            model.remove(&old);
                        }
                    }
                }
                for n in 0..40 {
                    for id in [format!("m{n}"), format!("{n}-{}", "x".repeat(INLINE))] {
                        assert_eq!(recent.get(&id), model.get(&id).copied());
                    }
                }
            }
        }
    }

    #[test]
    fn no_capacity_remembers_nothing() {
        let mut c = Context::new(0);
        c.remember("a", "messaging:one");
        assert_eq!(channel_of(&c, "a"), None);
    }
}
