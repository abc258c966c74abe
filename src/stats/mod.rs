//! The analyzer: statistics of an export as an engine job whose partials
//! merge associatively, so a parallel run gives exactly the sequential
//! answer.
//!
//! [`StatsJob`] folds every entity that passes its [`Filter`] into a
//! [`Stats`] accumulator: per kind, per message type, per channel, per
//! user, per day (week, month, hour, weekday), threads, reactions, text
//! lengths and the most-reacted messages. Memory grows with the number of
//! distinct channels, users, days and threads, never with the number of
//! messages: distinct counts switch from exact to a HyperLogLog sketch
//! past 1,024 values per counter, the time to a thread's first reply goes
//! into a log histogram (1% relative error), and the most-reacted messages
//! are a bounded list. [`Stats::report`] turns the accumulator into a
//! [`StatsReport`], the stable JSON object of `stats --json`
//! (`docs/stats.schema.json`).
//!
//! Reactions: a v1 document carries them only inside its messages. An
//! input with reaction records counts those (by type and channel, and who
//! gave them); an input without counts the messages' `reaction_counts`
//! instead, so v1 and v2 exports of the same data agree, and the report
//! says which source each input used. Reactions *received* and the
//! most-reacted messages always come from `reaction_counts` (Stream's own
//! aggregate on the message): linking a reaction record to its message's
//! author would need memory per message.
//!
//! ```
//! use stream_chat_export::{Engine, Out, Parallel, ReaderBuilder, Stats, StatsJob};
//!
//! let data = br#"{"type":"channel","item":{"cid":"messaging:a","type":"messaging","id":"a"}}
//! {"type":"message","item":{"id":"m1","cid":"messaging:a","text":"hi","user":{"id":"ann"},"created_at":"2024-03-01T10:00:00Z","reaction_counts":{"like":2}}}
//! {"type":"message","item":{"id":"m2","cid":"messaging:a","text":"yo","parent_id":"m1","user":{"id":"bob"},"created_at":"2024-03-01T10:05:00Z"}}
//! "#;
//! let job = StatsJob::new();
//! let engine = Engine::new(Parallel::new().threads(2).chunk_size(8))?;
//! let mut stats = Stats::default();
//! let outcome = engine.run(&job).slice(data, |out| {
//!     if let Out::Partial(part) = out {
//!         stats.merge(part);
//!     }
//!     Ok(())
//! })?;
//! stats.end_input("inline", outcome.format, &outcome.report);
//! let report = stats.report(&job);
//! assert_eq!(report.counts["message"], 2);
//! assert_eq!(report.by_channel["messaging:a"].messages, 2);
//! assert_eq!(report.by_user["ann"].reactions_received, 2);
//! assert_eq!(report.by_day["2024-03-01"].active_users, 2);
//! assert_eq!(report.reactions.source, "reaction_counts");
//! assert_eq!(report.threads.threads, 1);
//! # Ok::<(), stream_chat_export::Error>(())
//! ```

mod distinct;
mod fields;
mod histogram;
mod report;
mod run;
mod time;
mod top;

use crate::engine::{Job, Keep, QuickTest, RuleOut};
use crate::filter::Filter;
use crate::hash::{HashKeyed, Map};
use crate::model::entity::{Entity, Kind};
use crate::model::timestamp::Timestamp;
use crate::project::Projection;
use crate::read::reader::Format;
use crate::report::Report;
use distinct::Distinct;
use std::collections::BTreeMap;
use std::sync::Arc;
use top::Top;

pub use report::{
    Accuracy, ChannelStats, DayStats, FirstReply, InputStats, LengthBucket, MessageStats, Named,
    PeriodStats, ReactionStats, SCHEMA, StatsReport, TextLengths, ThreadStats, TopLists, UserStats,
};
pub use run::collect;
pub use top::TopMessage;

/// A time zone's offset from UTC, in seconds, at an instant given in Unix
/// seconds (so daylight saving time is the caller's zone database's
/// business).
pub type UtcOffset = Arc<dyn Fn(i64) -> i32 + Send + Sync>;

/// Statistics as an engine [`Job`]: every entity that passes the filter is
/// folded into its chunk's [`Stats`]; nothing is delivered. Channels are
/// resolved (members and reactions count for their channel), so the job
/// [needs context](Job::needs_context).
#[derive(Clone)]
pub struct StatsJob {
    filter: Filter,
    top: usize,
    zone: String,
    offset: Option<UtcOffset>,
    fields: Projection,
}

impl std::fmt::Debug for StatsJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatsJob")
            .field("filter", &self.filter)
            .field("top", &self.top)
            .field("zone", &self.zone)
            .finish_non_exhaustive()
    }
}

impl Default for StatsJob {
    fn default() -> Self {
        StatsJob::new()
    }
}

impl StatsJob {
    /// Statistics of everything, in UTC, top 10 lists.
    pub fn new() -> StatsJob {
        StatsJob {
            filter: Filter::new(),
            top: 10,
            zone: "UTC".to_string(),
            offset: None,
            fields: fields::projection(),
        }
    }

    /// Counts only the entities `filter` matches (one user, one channel, a
    /// time window, some kinds).
    pub fn filter(mut self, filter: Filter) -> StatsJob {
        self.filter = filter;
        self
    }

    /// The length of the top-N lists (channels, users, reaction types,
    /// most-reacted messages).
    pub fn top(mut self, n: usize) -> StatsJob {
        self.top = n;
        self
    }

    /// Days, weeks, months, hours and weekdays in the zone named `name`,
    /// whose offset at each instant `offset` gives (default: UTC).
    pub fn zone(mut self, name: &str, offset: UtcOffset) -> StatsJob {
        self.zone = name.to_string();
        self.offset = Some(offset);
        self
    }

    /// The zone's name (`UTC` by default).
    pub fn zone_name(&self) -> &str {
        &self.zone
    }

    /// The length of the top-N lists.
    pub fn top_n(&self) -> usize {
        self.top
    }

    /// Local seconds (Unix seconds shifted by the zone's offset).
    fn local(&self, t: Timestamp) -> i64 {
        let secs = t.unix_seconds();
        match &self.offset {
            Some(f) => secs.saturating_add(i64::from(f(secs))),
            None => secs,
        }
    }
}

impl Job for StatsJob {
    type Partial = Stats;

    fn entity(&self, entity: &Entity<'_>, stats: &mut Stats) -> Keep {
        if self.filter.matches(entity) {
            stats.add(self, entity);
        }
        Keep::Done
    }

    fn needs_context(&self) -> bool {
        true
    }

    fn prefetch_fields(&self) -> &'static [&'static str] {
        fields::FIELDS
    }

    fn rule_out(&self) -> RuleOut<'_> {
        // Only the kind/time quick scan: a context job gets no byte
        // prefilter, and the engine keeps channel and message records.
        RuleOut {
            candidates: None,
            quick: self
                .filter
                .quick_applies()
                .then_some(&self.filter as &dyn QuickTest),
        }
    }
}

/// Reactions counted from one source.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    total: u64,
    by_type: BTreeMap<String, u64>,
    by_channel: Map<String, u64>,
    /// Records: the reacting user. Counts: the message's author.
    by_user: Map<String, u64>,
}

impl Tally {
    fn add(&mut self, kind: &str, cid: Option<&str>, user: Option<&str>, n: u64) {
        self.total += n;
        bump(&mut self.by_type, kind, n);
        if let Some(c) = cid {
            bump_hash(&mut self.by_channel, c, n);
        }
        if let Some(u) = user {
            bump_hash(&mut self.by_user, u, n);
        }
    }

    fn merge(&mut self, other: Tally) {
        self.total += other.total;
        for (k, n) in other.by_type {
            *self.by_type.entry(k).or_default() += n;
        }
        merge_counts(&mut self.by_channel, other.by_channel);
        merge_counts(&mut self.by_user, other.by_user);
    }
}

fn bump(map: &mut BTreeMap<String, u64>, key: &str, n: u64) {
    match map.get_mut(key) {
        Some(v) => *v += n,
        None => {
            map.insert(key.to_string(), n);
        }
    }
}

fn bump_hash(map: &mut Map<String, u64>, key: &str, n: u64) {
    match map.get_mut(key) {
        Some(v) => *v += n,
        None => {
            map.insert(key.to_string(), n);
        }
    }
}

fn merge_counts(into: &mut Map<String, u64>, from: Map<String, u64>) {
    for (k, n) in from {
        *into.entry(k).or_default() += n;
    }
}

fn min_time(a: &mut Option<Timestamp>, b: Option<Timestamp>) {
    if let Some(b) = b
        && a.is_none_or(|a| b < a)
    {
        *a = Some(b);
    }
}

fn max_time(a: &mut Option<Timestamp>, b: Option<Timestamp>) {
    if let Some(b) = b
        && a.is_none_or(|a| b > a)
    {
        *a = Some(b);
    }
}

/// Per-message totals.
#[derive(Debug, Clone, Default)]
pub(crate) struct Messages {
    total: u64,
    by_type: BTreeMap<String, u64>,
    replies: u64,
    edited: u64,
    pinned: u64,
    shadowed: u64,
    silent: u64,
    deleted: u64,
    with_attachments: u64,
    attachments: BTreeMap<String, u64>,
    mentions: u64,
    without_channel: u64,
    without_user: u64,
    without_time: u64,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    /// Messages per text-length bucket ([`report::TEXT_BUCKETS`]).
    text_buckets: [u64; report::TEXT_BUCKETS.len()],
    text_chars: u64,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct ChannelAcc {
    messages: u64,
    replies: u64,
    members: u64,
    users: Distinct,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct UserAcc {
    messages: u64,
    replies: u64,
    channels: Distinct,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct DayAcc {
    messages: u64,
    replies: u64,
    users: Distinct,
}

/// A thread, keyed by the hash of its parent's id.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ThreadAcc {
    /// The channel of its replies (hash of the cid; 0: none).
    channel: u64,
    /// The parent's `created_at` (from a message with `reply_count > 0`).
    parent_at: Option<Timestamp>,
    first_reply: Option<Timestamp>,
    replies: u64,
}

/// The statistics accumulator: a [`Job::Partial`] of [`StatsJob`], merged
/// in input order with [`Stats::merge`] (associative: any grouping of the
/// same inputs gives the same report). Call [`Stats::end_input`] after
/// each input's run, then [`Stats::report`].
#[derive(Debug, Clone, Default)]
pub struct Stats {
    counts: BTreeMap<String, u64>,
    messages: Messages,
    channels: Map<String, ChannelAcc>,
    users: Map<String, UserAcc>,
    days: BTreeMap<i64, DayAcc>,
    hour_weekday: [[u64; 24]; 7],
    threads: HashKeyed<ThreadAcc>,
    /// This input's reaction records, not yet settled.
    rx_records: Tally,
    /// This input's messages' `reaction_counts`, not yet settled.
    rx_counts: Tally,
    /// Settled reactions of the inputs ended so far.
    reactions: Tally,
    /// Reactions received, by author (from `reaction_counts`, settled).
    received: Map<String, u64>,
    /// Reactions given, by user (from records, settled).
    given: Map<String, u64>,
    top: Top,
    inputs: Vec<InputStats>,
}

impl Stats {
    fn add(&mut self, job: &StatsJob, e: &Entity<'_>) {
        bump(&mut self.counts, e.type_name(), 1);
        match e.kind() {
            Kind::Message => self.message(job, e),
            Kind::Reaction => self.reaction(e),
            Kind::Member => {
                if let Some(c) = e.cid() {
                    self.channel(c).members += 1;
                }
            }
            Kind::Channel => {
                if let Some(c) = e.cid() {
                    self.channel(c);
                }
            }
            _ => {}
        }
    }

    fn channel(&mut self, cid: &str) -> &mut ChannelAcc {
        if !self.channels.contains_key(cid) {
            self.channels.insert(cid.to_string(), ChannelAcc::default());
        }
        self.channels.get_mut(cid).expect("inserted above")
    }

    fn user(&mut self, id: &str) -> &mut UserAcc {
        if !self.users.contains_key(id) {
            self.users.insert(id.to_string(), UserAcc::default());
        }
        self.users.get_mut(id).expect("inserted above")
    }

    fn reaction(&mut self, e: &Entity<'_>) {
        let kind = e.reaction_type().unwrap_or("unknown");
        let user = e.user_id();
        self.rx_records.add(kind, e.cid(), user, 1);
        if let Some(u) = user {
            let t = e.created_at();
            let acc = self.user(u);
            min_time(&mut acc.first, t);
            max_time(&mut acc.last, t);
        }
    }

    fn message(&mut self, job: &StatsJob, e: &Entity<'_>) {
        let f = fields::read(&job.fields, e);
        let t = e.created_at();
        let cid = e.cid();
        let user = e.user_id();
        let reply = e.parent_id().is_some_and(|p| !p.is_empty());
        let m = &mut self.messages;
        m.total += 1;
        bump(&mut m.by_type, e.message_type().unwrap_or("regular"), 1);
        m.replies += u64::from(reply);
        m.edited += u64::from(f.edited);
        m.pinned += u64::from(f.pinned);
        m.shadowed += u64::from(f.shadowed);
        m.silent += u64::from(f.silent);
        m.deleted += u64::from(f.deleted_at || e.message_type() == Some("deleted"));
        m.with_attachments += u64::from(!f.attachments.is_empty());
        for a in &f.attachments {
            bump(&mut m.attachments, a, 1);
        }
        m.mentions += f.mentions;
        m.without_channel += u64::from(cid.is_none());
        m.without_user += u64::from(user.is_none());
        m.without_time += u64::from(t.is_none());
        min_time(&mut m.first, t);
        max_time(&mut m.last, t);
        let chars = e.text().map_or(0, |s| s.chars().count() as u64);
        m.text_chars += chars;
        m.text_buckets[report::text_bucket(chars)] += 1;

        if let Some(c) = cid {
            let acc = self.channel(c);
            acc.messages += 1;
            acc.replies += u64::from(reply);
            if let Some(u) = user {
                acc.users.insert(u);
            }
            min_time(&mut acc.first, t);
            max_time(&mut acc.last, t);
        }
        if let Some(u) = user {
            let acc = self.user(u);
            acc.messages += 1;
            acc.replies += u64::from(reply);
            if let Some(c) = cid {
                acc.channels.insert(c);
            }
            min_time(&mut acc.first, t);
            max_time(&mut acc.last, t);
        }
        if let Some(t) = t {
            let local = job.local(t);
            let day = local.div_euclid(86_400);
            let hour = (local.rem_euclid(86_400) / 3600) as usize;
            self.hour_weekday[time::weekday(day)][hour] += 1;
            let acc = self.days.entry(day).or_default();
            acc.messages += 1;
            acc.replies += u64::from(reply);
            if let Some(u) = user {
                acc.users.insert(u);
            }
        }
        if let Some(p) = e.parent_id().filter(|p| !p.is_empty()) {
            let th = self.threads.entry(distinct::hash(p)).or_default();
            th.replies += 1;
            if th.channel == 0
                && let Some(c) = cid
            {
                th.channel = distinct::hash(c);
            }
            min_time(&mut th.first_reply, t);
        }
        if f.reply_count > 0
            && let Some(id) = e.id()
            && t.is_some()
        {
            let th = self.threads.entry(distinct::hash(id)).or_default();
            min_time(&mut th.parent_at, t);
        }
        let total: u64 = f.reaction_counts.iter().map(|(_, n)| n).sum();
        for (kind, n) in &f.reaction_counts {
            self.rx_counts.add(kind, cid, user, *n);
        }
        if total > 0
            && let Some(id) = e.id()
            && self.top.wants(total, job.top)
        {
            let text: String = e.text().unwrap_or("").chars().take(80).collect();
            let m = TopMessage {
                reactions: total,
                id: id.to_string(),
                cid: cid.map(str::to_string),
                user: user.map(str::to_string),
                created_at: e.created_at_text().map(str::to_string),
                text,
            };
            self.top.push(m, job.top);
        }
    }

    /// Adds the statistics of input that comes after this one's (a later
    /// chunk of the same input, or a later input once both have
    /// [ended](Stats::end_input)).
    pub fn merge(&mut self, other: Stats) {
        for (k, n) in other.counts {
            *self.counts.entry(k).or_default() += n;
        }
        let (m, o) = (&mut self.messages, other.messages);
        m.total += o.total;
        for (k, n) in o.by_type {
            *m.by_type.entry(k).or_default() += n;
        }
        m.replies += o.replies;
        m.edited += o.edited;
        m.pinned += o.pinned;
        m.shadowed += o.shadowed;
        m.silent += o.silent;
        m.deleted += o.deleted;
        m.with_attachments += o.with_attachments;
        for (k, n) in o.attachments {
            *m.attachments.entry(k).or_default() += n;
        }
        m.mentions += o.mentions;
        m.without_channel += o.without_channel;
        m.without_user += o.without_user;
        m.without_time += o.without_time;
        min_time(&mut m.first, o.first);
        max_time(&mut m.last, o.last);
        for (a, b) in m.text_buckets.iter_mut().zip(o.text_buckets) {
            *a += b;
        }
        m.text_chars += o.text_chars;
        for (k, c) in other.channels {
            let acc = self.channels.entry(k).or_default();
            acc.messages += c.messages;
            acc.replies += c.replies;
            acc.members += c.members;
            acc.users.merge(c.users);
            min_time(&mut acc.first, c.first);
            max_time(&mut acc.last, c.last);
        }
        for (k, u) in other.users {
            let acc = self.users.entry(k).or_default();
            acc.messages += u.messages;
            acc.replies += u.replies;
            acc.channels.merge(u.channels);
            min_time(&mut acc.first, u.first);
            max_time(&mut acc.last, u.last);
        }
        for (k, d) in other.days {
            let acc = self.days.entry(k).or_default();
            acc.messages += d.messages;
            acc.replies += d.replies;
            acc.users.merge(d.users);
        }
        for (row, o) in self.hour_weekday.iter_mut().zip(other.hour_weekday) {
            for (a, b) in row.iter_mut().zip(o) {
                *a += b;
            }
        }
        for (k, t) in other.threads {
            let acc = self.threads.entry(k).or_default();
            if acc.channel == 0 {
                acc.channel = t.channel;
            }
            min_time(&mut acc.parent_at, t.parent_at);
            min_time(&mut acc.first_reply, t.first_reply);
            acc.replies += t.replies;
        }
        self.rx_records.merge(other.rx_records);
        self.rx_counts.merge(other.rx_counts);
        self.reactions.merge(other.reactions);
        merge_counts(&mut self.received, other.received);
        merge_counts(&mut self.given, other.given);
        self.top.merge(other.top);
        self.inputs.extend(other.inputs);
    }

    /// Ends one input (a file): settles which reaction source it uses —
    /// its reaction records if it has any, else its messages'
    /// `reaction_counts` — and records its format and accounting under
    /// `name`. With the sequential reader, pass its
    /// [`format`](crate::Reader::format) and [`report`](crate::Reader::report).
    pub fn end_input(&mut self, name: &str, format: Format, report: &Report) {
        let mut records = std::mem::take(&mut self.rx_records);
        let mut counts = std::mem::take(&mut self.rx_counts);
        let source = if records.total > 0 {
            "reaction_records"
        } else if counts.total > 0 {
            "reaction_counts"
        } else {
            "none"
        };
        // Received always from the aggregates, given only from records;
        // totals, types and channels from the input's one source.
        merge_counts(&mut self.received, std::mem::take(&mut counts.by_user));
        merge_counts(&mut self.given, std::mem::take(&mut records.by_user));
        self.reactions
            .merge(if records.total > 0 { records } else { counts });
        let r = report;
        self.inputs.push(InputStats {
            file: name.to_string(),
            format: format.as_str().to_string(),
            records: r.records,
            entities: r.entities,
            errors: r.errors,
            skipped_by_prefilter: r.skipped_by_prefilter,
            channel_fallbacks: r.channel_fallbacks,
            reaction_source: source.to_string(),
        });
    }
}
