//! The most-reacted messages: a bounded list kept in a total order, so the
//! same N survive whatever the chunking.

use serde::Serialize;

/// A message and its reaction total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopMessage {
    /// Reactions on it (the sum of its `reaction_counts`).
    pub reactions: u64,
    /// The message id.
    pub id: String,
    /// Its channel, if resolved.
    pub cid: Option<String>,
    /// Its author, if known.
    pub user: Option<String>,
    /// `created_at` as written.
    pub created_at: Option<String>,
    /// The first 80 characters of its text.
    pub text: String,
}

impl TopMessage {
    /// Most reactions first; ties by id, then channel, user, time and
    /// text, so the order is total and merging is exact.
    fn key(&self) -> impl Ord + '_ {
        (
            std::cmp::Reverse(self.reactions),
            &self.id,
            &self.cid,
            &self.user,
            &self.created_at,
            &self.text,
        )
    }
}

/// At most `n` messages, best first (see [`TopMessage::key`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Top {
    /// The list's length, the job's `top` (a partial learns it from its
    /// first push; one that never pushed holds nothing).
    cap: usize,
    items: Vec<TopMessage>,
}

impl Top {
    /// Would a message with `reactions` enter a list of `n`?
    pub(crate) fn wants(&self, reactions: u64, n: usize) -> bool {
        n > 0
            && (self.items.len() < n || self.items.last().is_some_and(|l| reactions >= l.reactions))
    }

    /// Adds `m`, keeping the best `n`.
    pub(crate) fn push(&mut self, m: TopMessage, n: usize) {
        self.cap = self.cap.max(n);
        if n == 0 {
            return;
        }
        let at = self.items.partition_point(|x| x.key() <= m.key());
        if at < n {
            self.items.insert(at, m);
            self.items.truncate(n);
        }
    }

    /// Adds every message of `other`.
    pub(crate) fn merge(&mut self, other: Top) {
        let n = self.cap.max(other.cap);
        self.cap = n;
        other.items.into_iter().for_each(|m| self.push(m, n));
    }

    /// The list, best first.
    pub(crate) fn items(&self) -> &[TopMessage] {
        &self.items
    }
}
