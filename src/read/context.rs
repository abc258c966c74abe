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

/// The resolution context: the channel that members, reads and reactions
/// without a cid inherit, and recent message ids for reactions.
pub(crate) struct Context {
    channel: Option<Arc<str>>,
    /// Recent message ids and their channels; each id is one allocation,
    /// shared with `order`.
    messages: Map<Arc<str>, Arc<str>>,
    order: VecDeque<Arc<str>>,
    capacity: usize,
}

impl Context {
    pub(crate) fn new(capacity: usize) -> Context {
        Context {
            channel: None,
            messages: Map::default(),
            order: VecDeque::new(),
            capacity,
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
                let by_message = e.message_id().and_then(|m| self.messages.get(m));
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
        let cid = match &self.channel {
            Some(c) if &**c == cid => c.clone(),
            _ => Arc::from(cid),
        };
        if let Some(known) = self.messages.get_mut(id) {
            *known = cid;
            return;
        }
        let id: Arc<str> = Arc::from(id);
        self.messages.insert(id.clone(), cid);
        self.order.push_back(id);
        if self.order.len() > self.capacity
            && let Some(old) = self.order.pop_front()
        {
            self.messages.remove(&old);
        }
    }
}
