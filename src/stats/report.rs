//! [`StatsReport`]: the finished statistics, the stable object that
//! `stats --json` prints (documented by `docs/stats.schema.json`).
//! Maps are ordered by key and lists by rank, so the same input always
//! prints the same bytes.

use super::distinct::{self, EXACT_MAX, SKETCH_ERROR};
use super::histogram::{self, LogHistogram};
use super::time;
use super::{Stats, StatsJob, TopMessage};
use crate::hash::HashKeyed;
use serde::Serialize;
use std::collections::BTreeMap;

/// The version of the report's shape, printed as `schema`.
pub const SCHEMA: &str = "stream-chat-export/stats/1";

/// Text-length buckets in characters: (lowest, highest) inclusive; the
/// last is open-ended.
pub(crate) const TEXT_BUCKETS: [(u64, Option<u64>); 8] = [
    (0, Some(0)),
    (1, Some(10)),
    (11, Some(50)),
    (51, Some(100)),
    (101, Some(200)),
    (201, Some(500)),
    (501, Some(1000)),
    (1001, None),
];

/// The bucket of a text of `chars` characters.
pub(crate) fn text_bucket(chars: u64) -> usize {
    TEXT_BUCKETS
        .iter()
        .position(|(_, hi)| hi.is_none_or(|h| chars <= h))
        .unwrap_or(TEXT_BUCKETS.len() - 1)
}

/// The statistics of one or more inputs; see the crate's README for the
/// meaning of each number.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct StatsReport {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// The zone days and hours are counted in (`UTC` unless asked).
    pub zone: String,
    /// Each input, in order.
    pub inputs: Vec<InputStats>,
    /// Entities per kind name (as `inspect` counts them).
    pub counts: BTreeMap<String, u64>,
    /// Message totals.
    pub messages: MessageStats,
    /// Reactions.
    pub reactions: ReactionStats,
    /// Threads (replies grouped by `parent_id`).
    pub threads: ThreadStats,
    /// Per channel cid.
    pub by_channel: BTreeMap<String, ChannelStats>,
    /// Per user id.
    pub by_user: BTreeMap<String, UserStats>,
    /// Messages per local day, `YYYY-MM-DD`.
    pub by_day: BTreeMap<String, DayStats>,
    /// Messages per ISO week, `YYYY-Www`.
    pub by_week: BTreeMap<String, PeriodStats>,
    /// Messages per month, `YYYY-MM`.
    pub by_month: BTreeMap<String, PeriodStats>,
    /// Messages per local hour of day, 0 to 23.
    pub by_hour: Vec<u64>,
    /// Messages per weekday, Monday first.
    pub by_weekday: Vec<u64>,
    /// Messages per weekday (Monday first) and hour: 7 rows of 24.
    pub hour_weekday: Vec<Vec<u64>>,
    /// The top-N lists.
    pub top: TopLists,
    /// How exact the numbers are.
    pub accuracy: Accuracy,
}

/// One input's format and accounting.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct InputStats {
    /// The name it was given (a path, `-`).
    pub file: String,
    /// The detected format.
    pub format: String,
    /// Records framed.
    pub records: u64,
    /// Entities decoded (counted before the filter).
    pub entities: u64,
    /// Bad records (skipped and counted; not in any statistic).
    pub errors: u64,
    /// Lines the kind/time quick scan ruled out undecoded.
    pub skipped_by_prefilter: u64,
    /// Reactions whose message was not seen before them (their channel is
    /// the most recent channel record).
    pub channel_fallbacks: u64,
    /// Where its reactions were counted from: `reaction_records`,
    /// `reaction_counts` (the messages' aggregates; v1 documents) or
    /// `none`.
    pub reaction_source: String,
}

/// Message totals.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MessageStats {
    /// Messages.
    pub total: u64,
    /// Per `type`; a message without one counts as `regular` (Stream's
    /// default).
    pub by_type: BTreeMap<String, u64>,
    /// Messages with a `parent_id` (thread replies).
    pub replies: u64,
    /// With `message_text_updated_at`.
    pub edited: u64,
    /// With `pinned: true`.
    pub pinned: u64,
    /// With `shadowed: true`.
    pub shadowed: u64,
    /// With `silent: true`.
    pub silent: u64,
    /// Of type `deleted` or with `deleted_at`.
    pub deleted: u64,
    /// With at least one attachment.
    pub with_attachments: u64,
    /// Attachments per `type` (`unknown` without one).
    pub attachments: BTreeMap<String, u64>,
    /// Mentioned users (`mentioned_users`, else `mentioned_users_ids`).
    pub mentions: u64,
    /// Messages without a resolved channel.
    pub without_channel: u64,
    /// Messages without a user.
    pub without_user: u64,
    /// Messages without a usable `created_at` (not in any time table).
    pub without_time: u64,
    /// The earliest `created_at` (RFC3339, UTC).
    pub first: Option<String>,
    /// The latest `created_at`.
    pub last: Option<String>,
    /// Text lengths in characters.
    pub text_length: TextLengths,
}

/// The distribution of text lengths.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TextLengths {
    /// Characters over all messages (a missing text is 0).
    pub total_chars: u64,
    /// Mean characters per message.
    pub mean: f64,
    /// Messages per bucket, shortest first.
    pub buckets: Vec<LengthBucket>,
}

/// Messages whose text has `min..=max` characters (`max` null: no bound).
#[derive(Debug, Clone, Serialize)]
pub struct LengthBucket {
    /// Fewest characters.
    pub min: u64,
    /// Most characters; `None` for the last bucket.
    pub max: Option<u64>,
    /// Messages.
    pub messages: u64,
}

/// Reactions.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReactionStats {
    /// `reaction_records`, `reaction_counts`, `mixed` (inputs differ; see
    /// [`InputStats::reaction_source`]) or `none`.
    pub source: String,
    /// Reactions.
    pub total: u64,
    /// Per reaction type.
    pub by_type: BTreeMap<String, u64>,
}

/// Threads.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ThreadStats {
    /// Distinct `parent_id`s among replies.
    pub threads: u64,
    /// Replies.
    pub replies: u64,
    /// Replies per thread, on average.
    pub replies_per_thread_mean: f64,
    /// The most replies of one thread.
    pub replies_per_thread_max: u64,
    /// Time from a parent to its first reply.
    pub first_reply: FirstReply,
}

/// Time from a thread's parent (a message with `reply_count > 0`) to its
/// first reply, over the threads where both are present.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FirstReply {
    /// Threads measured.
    pub measured: u64,
    /// The (lower) median, in seconds.
    pub median_seconds: Option<f64>,
    /// The 90th percentile, in seconds.
    pub p90_seconds: Option<f64>,
    /// The quantiles' relative error (a log histogram).
    pub relative_error: f64,
}

/// One channel.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChannelStats {
    /// Messages.
    pub messages: u64,
    /// Replies among them.
    pub replies: u64,
    /// Threads (distinct parents of its replies).
    pub threads: u64,
    /// Distinct authors of its messages.
    pub active_users: u64,
    /// Member records.
    pub members: u64,
    /// Reactions (see [`ReactionStats::source`]).
    pub reactions: u64,
    /// Its earliest message's `created_at`.
    pub first_message: Option<String>,
    /// Its latest message's `created_at`.
    pub last_message: Option<String>,
}

/// One user.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UserStats {
    /// Messages written.
    pub messages: u64,
    /// Replies among them.
    pub replies: u64,
    /// Reaction records of this user (0 where the source is
    /// `reaction_counts`, which does not say who reacted).
    pub reactions_given: u64,
    /// Reactions on this user's messages (`reaction_counts`).
    pub reactions_received: u64,
    /// Distinct channels written in.
    pub channels: u64,
    /// The earliest `created_at` of their messages and reactions.
    pub first_activity: Option<String>,
    /// The latest.
    pub last_activity: Option<String>,
}

/// One day.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DayStats {
    /// Messages.
    pub messages: u64,
    /// Replies among them.
    pub replies: u64,
    /// Distinct authors.
    pub active_users: u64,
}

/// One week or month.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PeriodStats {
    /// Messages.
    pub messages: u64,
}

/// A name and its count, for the top-N lists.
#[derive(Debug, Clone, Serialize)]
pub struct Named {
    /// The channel cid, user id or reaction type.
    pub name: String,
    /// Messages (channels, users) or reactions (types).
    pub count: u64,
}

/// The top-N lists, most first (ties by name).
#[derive(Debug, Clone, Default, Serialize)]
pub struct TopLists {
    /// Channels by messages.
    pub channels: Vec<Named>,
    /// Users by messages.
    pub users: Vec<Named>,
    /// Reaction types by reactions.
    pub reaction_types: Vec<Named>,
    /// Messages by reactions (`reaction_counts`).
    pub messages: Vec<TopMessage>,
}

/// How exact the numbers are.
#[derive(Debug, Clone, Serialize)]
pub struct Accuracy {
    /// Distinct counts (active users, channels per user) are exact up to
    /// this many values per counter, then estimated.
    pub distinct_exact_up_to: u64,
    /// The standard error of an estimated distinct count.
    pub distinct_sketch_error: f64,
    /// How many distinct counts in this report are estimates.
    pub distinct_estimated: u64,
    /// The relative error of the first-reply quantiles.
    pub first_reply_relative_error: f64,
    /// Everything else is exact.
    pub note: &'static str,
}

fn text(t: Option<crate::Timestamp>) -> Option<String> {
    t.map(|t| t.to_string())
}

fn top_of<'a>(items: impl Iterator<Item = (&'a String, u64)>, n: usize) -> Vec<Named> {
    let mut v: Vec<(&String, u64)> = items.filter(|(_, c)| *c > 0).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    v.into_iter()
        .take(n)
        .map(|(name, count)| Named {
            name: name.clone(),
            count,
        })
        .collect()
}

impl Stats {
    /// The report, with the top-N lists and zone of `job`. Inputs not yet
    /// [ended](Stats::end_input) count nothing of their reactions.
    pub fn report(&self, job: &StatsJob) -> StatsReport {
        let mut estimated = 0u64;
        let mut count = |d: &distinct::Distinct| {
            estimated += u64::from(d.is_estimate());
            d.count()
        };
        let m = &self.messages;
        let messages = MessageStats {
            total: m.total,
            by_type: m.by_type.clone(),
            replies: m.replies,
            edited: m.edited,
            pinned: m.pinned,
            shadowed: m.shadowed,
            silent: m.silent,
            deleted: m.deleted,
            with_attachments: m.with_attachments,
            attachments: m.attachments.clone(),
            mentions: m.mentions,
            without_channel: m.without_channel,
            without_user: m.without_user,
            without_time: m.without_time,
            first: text(m.first),
            last: text(m.last),
            text_length: TextLengths {
                total_chars: m.text_chars,
                mean: if m.total == 0 {
                    0.0
                } else {
                    m.text_chars as f64 / m.total as f64
                },
                buckets: TEXT_BUCKETS
                    .iter()
                    .zip(m.text_buckets)
                    .map(|(&(min, max), messages)| LengthBucket { min, max, messages })
                    .collect(),
            },
        };

        // Threads: only those with a reply in the data count; the parent's
        // time measures the first reply where both are known.
        let mut per_channel_threads: HashKeyed<u64> = HashKeyed::default();
        let mut threads = ThreadStats::default();
        let mut first = LogHistogram::default();
        for t in self.threads.values().filter(|t| t.replies > 0) {
            threads.threads += 1;
            threads.replies += t.replies;
            threads.replies_per_thread_max = threads.replies_per_thread_max.max(t.replies);
            if t.channel != 0 {
                *per_channel_threads.entry(t.channel).or_default() += 1;
            }
            if let (Some(p), Some(r)) = (t.parent_at, t.first_reply) {
                let secs = (r.unix_seconds() - p.unix_seconds()) as f64
                    + (f64::from(r.subsec_nanos()) - f64::from(p.subsec_nanos())) / 1e9;
                first.add(secs.max(0.0));
            }
        }
        if threads.threads > 0 {
            threads.replies_per_thread_mean = threads.replies as f64 / threads.threads as f64;
        }
        threads.first_reply = FirstReply {
            measured: first.count(),
            median_seconds: first.quantile(0.5),
            p90_seconds: first.quantile(0.9),
            relative_error: histogram::RELATIVE_ERROR,
        };

        let mut by_channel = BTreeMap::new();
        for (cid, c) in &self.channels {
            let stats = ChannelStats {
                messages: c.messages,
                replies: c.replies,
                threads: per_channel_threads
                    .get(&distinct::hash(cid))
                    .copied()
                    .unwrap_or(0),
                active_users: count(&c.users),
                members: c.members,
                reactions: self.reactions.by_channel.get(cid).copied().unwrap_or(0),
                first_message: text(c.first),
                last_message: text(c.last),
            };
            by_channel.insert(cid.clone(), stats);
        }
        for (cid, n) in &self.reactions.by_channel {
            by_channel
                .entry(cid.clone())
                .or_insert_with(|| ChannelStats {
                    reactions: *n,
                    ..ChannelStats::default()
                });
        }
        let mut by_user = BTreeMap::new();
        for (id, u) in &self.users {
            by_user.insert(
                id.clone(),
                UserStats {
                    messages: u.messages,
                    replies: u.replies,
                    reactions_given: self.given.get(id).copied().unwrap_or(0),
                    reactions_received: self.received.get(id).copied().unwrap_or(0),
                    channels: count(&u.channels),
                    first_activity: text(u.first),
                    last_activity: text(u.last),
                },
            );
        }
        let mut by_day = BTreeMap::new();
        let mut by_week: BTreeMap<String, PeriodStats> = BTreeMap::new();
        let mut by_month: BTreeMap<String, PeriodStats> = BTreeMap::new();
        for (&day, d) in &self.days {
            by_day.insert(
                time::date(day),
                DayStats {
                    messages: d.messages,
                    replies: d.replies,
                    active_users: count(&d.users),
                },
            );
            by_week.entry(time::iso_week(day)).or_default().messages += d.messages;
            by_month.entry(time::month(day)).or_default().messages += d.messages;
        }
        let by_hour = (0..24)
            .map(|h| self.hour_weekday.iter().map(|row| row[h]).sum())
            .collect();
        let by_weekday = self
            .hour_weekday
            .iter()
            .map(|row| row.iter().sum())
            .collect();

        let sources: std::collections::BTreeSet<&str> = self
            .inputs
            .iter()
            .map(|i| i.reaction_source.as_str())
            .filter(|s| *s != "none")
            .collect();
        let source = match sources.len() {
            0 => "none".to_string(),
            1 => sources.iter().next().map_or("none", |s| s).to_string(),
            _ => "mixed".to_string(),
        };
        let n = job.top;
        let top = TopLists {
            channels: top_of(by_channel.iter().map(|(k, c)| (k, c.messages)), n),
            users: top_of(by_user.iter().map(|(k, u)| (k, u.messages)), n),
            reaction_types: top_of(self.reactions.by_type.iter().map(|(k, c)| (k, *c)), n),
            messages: self.top.items().iter().take(n).cloned().collect(),
        };
        StatsReport {
            schema: SCHEMA,
            zone: job.zone.clone(),
            inputs: self.inputs.clone(),
            counts: self.counts.clone(),
            messages,
            reactions: ReactionStats {
                source,
                total: self.reactions.total,
                by_type: self.reactions.by_type.clone(),
            },
            threads,
            by_channel,
            by_user,
            by_day,
            by_week,
            by_month,
            by_hour,
            by_weekday,
            hour_weekday: self.hour_weekday.iter().map(|r| r.to_vec()).collect(),
            top,
            accuracy: Accuracy {
                distinct_exact_up_to: EXACT_MAX as u64,
                distinct_sketch_error: SKETCH_ERROR,
                distinct_estimated: estimated,
                first_reply_relative_error: histogram::RELATIVE_ERROR,
                note: "every other number is exact",
            },
        }
    }
}
