//! Channel resolution (FORMAT.md, "Resolving an entity's channel"): the
//! channel that members, read states and messages without a cid inherit,
//! and recent message ids so a reaction takes its message's channel.
//! Shared by the sequential reader and the ordered phase of the parallel
//! executor, so both resolve identically.

use crate::hash::Map;
use crate::model::entity::{ChannelSource, Entity, Kind};
use crate::report::Report;
use std::borrow::Cow;
use std::collections::VecDeque;
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
    messages: Map<MessageId, u32>,
    /// The ids of `messages` by first insertion, oldest first.
    order: VecDeque<MessageId>,
    capacity: usize,
    /// The channels of remembered messages, each stored once: they grow
    /// with the channels, not the messages.
    cids: Vec<Arc<str>>,
    cid_index: Map<Arc<str>, u32>,
    /// The last channel remembered, and its index (messages come in runs
    /// of one channel).
    last_cid: Option<(Arc<str>, u32)>,
}

impl Context {
    pub(crate) fn new(capacity: usize) -> Context {
        Context {
            channel: None,
            messages: Map::default(),
            order: VecDeque::new(),
            capacity,
            cids: Vec::new(),
            cid_index: Map::default(),
            last_cid: None,
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
                    .and_then(|m| self.messages.get(&MessageId::new(m)))
                    .map(|&i| &self.cids[i as usize]);
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
        let id = MessageId::new(id);
        if let Some(known) = self.messages.get_mut(&id) {
            *known = cid;
            return;
        }
        self.messages.insert(id.clone(), cid);
        self.order.push_back(id);
        if self.order.len() > self.capacity
            && let Some(old) = self.order.pop_front()
        {
            self.messages.remove(&old);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn channel_of<'c>(c: &'c Context, id: &str) -> Option<&'c str> {
        let i = *c.messages.get(&MessageId::new(id))?;
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

    #[test]
    fn no_capacity_remembers_nothing() {
        let mut c = Context::new(0);
        c.remember("a", "messaging:one");
        assert_eq!(channel_of(&c, "a"), None);
    }
}
