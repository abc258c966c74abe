//! Predicates over entities: by user, channel, time and kind; and the exact
//! byte prefilter that lets a selective user filter skip decoding.
//!
//! What "belongs to user X" means, per kind ([`Entity::user_id`]):
//! - message: its author (`user.id`, `user_id`, or an import file's `user`
//!   string) — not users it mentions or who reacted to it;
//! - reaction: the user who reacted (`user_id` or `user.id`);
//! - member and read state: the member / reader (`user_id` or `user.id`);
//! - user: the user record itself (`id`);
//! - channel: its creator (`created_by`);
//! - device and other kinds: their `user_id` or `user.id`, when present.

use crate::error::{Error, ErrorKind, Result};
use crate::model::entity::{Entity, Kind};
use crate::model::timestamp::Timestamp;
use memchr::memmem;

pub(crate) mod job;
pub(crate) mod needle;
pub(crate) mod time;

use time::TimePrefilter;

/// A conjunction of optional predicates; each set is a disjunction.
/// An empty filter matches everything.
///
/// ```
/// use stream_chat_export::{Filter, ReaderBuilder};
/// let mut filter = Filter::new();
/// filter.user("user-17").since("2024-03-01T00:00:00Z")?;
/// let data = br#"{"type":"message","item":{"id":"m1","text":"x","user":{"id":"user-\u0031\u0037"},"created_at":"2024-03-02T00:00:00Z"}}
/// {"type":"message","item":{"id":"m2","text":"y","user":{"id":"user-170"},"created_at":"2024-03-02T00:00:00Z"}}
/// "#;
/// let ids: Vec<_> = ReaderBuilder::new()
///     .from_slice(data)
///     .filter_map(|e| e.ok())
///     .filter(|e| filter.matches(e))
///     .map(|e| e.id().unwrap().to_string())
///     .collect();
/// assert_eq!(ids, ["m1"]);
/// # Ok::<(), stream_chat_export::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Sorted and without duplicates, so a request for thousands of users
    /// costs a binary search per entity.
    users: Vec<String>,
    /// Sorted and without duplicates, as `users`.
    channels: Vec<String>,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    kinds: Vec<String>,
}

impl Filter {
    /// A filter that matches everything.
    pub fn new() -> Filter {
        Filter::default()
    }

    /// Adds a user id: entities belonging to any added user match.
    pub fn user(&mut self, id: impl Into<String>) -> &mut Self {
        insert_sorted(&mut self.users, id.into());
        self
    }

    /// Adds a channel cid (`type:id`): entities of any added channel match
    /// (after resolution: members inherit their channel, reactions take
    /// their message's).
    pub fn channel(&mut self, cid: impl Into<String>) -> &mut Self {
        insert_sorted(&mut self.channels, cid.into());
        self
    }

    /// Only entities with `created_at >= since` (RFC3339, or a date
    /// `YYYY-MM-DD`: its midnight UTC).
    pub fn since(&mut self, rfc3339: &str) -> Result<&mut Self> {
        self.since = Some(parse_time(rfc3339)?);
        Ok(self)
    }

    /// Only entities with `created_at < until` (RFC3339, or a date
    /// `YYYY-MM-DD`: its midnight UTC, so `until("2024-04-01")` ends with
    /// March).
    pub fn until(&mut self, rfc3339: &str) -> Result<&mut Self> {
        self.until = Some(parse_time(rfc3339)?);
        Ok(self)
    }

    /// Adds a kind (`message`, `member`, `channel_member`, `call`, ...):
    /// entities of any added kind match.
    pub fn kind(&mut self, name: &str) -> &mut Self {
        let kind = Kind::from_type_name(name);
        let name = if kind == Kind::Other {
            name
        } else {
            kind.as_str()
        };
        self.kinds.push(name.to_string());
        self
    }

    /// True when the filter has a channel predicate, whose answer depends
    /// on context for entities that inherit their channel.
    pub fn has_channels(&self) -> bool {
        !self.channels.is_empty()
    }

    /// Does the entity pass? Its channel must already be resolved (the
    /// readers do that). An entity without `created_at` fails any time
    /// predicate.
    pub fn matches(&self, e: &Entity<'_>) -> bool {
        self.matches_except_channel(e)
            && (self.channels.is_empty() || e.cid().is_some_and(|c| contains(&self.channels, c)))
    }

    /// Every predicate but the channel one.
    pub(crate) fn matches_except_channel(&self, e: &Entity<'_>) -> bool {
        if !self.kinds.is_empty() && !self.kinds.iter().any(|k| k == e.type_name()) {
            return false;
        }
        if !self.users.is_empty() && !e.user_id().is_some_and(|u| contains(&self.users, u)) {
            return false;
        }
        if self.since.is_some() || self.until.is_some() {
            let Some(t) = e.created_at() else {
                return false;
            };
            if self.since.is_some_and(|s| t < s) || self.until.is_some_and(|u| t >= u) {
                return false;
            }
        }
        true
    }

    /// Can a record with this kind name and raw `created_at` pass? For the
    /// quick scan; only meaningful without user and channel predicates.
    pub(crate) fn quick_pass(&self, type_name: &[u8], created_at: Option<&[u8]>) -> bool {
        if !self.kinds.is_empty() && !self.kinds.iter().any(|k| k.as_bytes() == type_name) {
            return false;
        }
        if self.since.is_some() || self.until.is_some() {
            let t = created_at.and_then(Timestamp::parse_bytes);
            let Some(t) = t else {
                return false;
            };
            if self.since.is_some_and(|s| t < s) || self.until.is_some_and(|u| t >= u) {
                return false;
            }
        }
        true
    }

    /// True when only kind and time predicates are set (and at least one),
    /// so the quick scan can rule records out.
    pub(crate) fn quick_applies(&self) -> bool {
        self.users.is_empty()
            && self.channels.is_empty()
            && (!self.kinds.is_empty() || self.since.is_some() || self.until.is_some())
    }

    /// The byte prefilter for this filter, when one applies: without a
    /// channel filter (a channel answer can depend on earlier records, so
    /// every record must then be decoded), the search for the user ids,
    /// or else for `created_at` values in the time window.
    pub(crate) fn prefilter(&self) -> Option<ByteSearch> {
        if !self.channels.is_empty() {
            return None;
        }
        if !self.users.is_empty() {
            return Some(ByteSearch::Users(Prefilter::new(&self.users)));
        }
        if self.since.is_some() || self.until.is_some() {
            return Some(ByteSearch::Time(TimePrefilter::new(self.since, self.until)));
        }
        None
    }
}

fn insert_sorted(set: &mut Vec<String>, value: String) {
    if let Err(at) = set.binary_search(&value) {
        set.insert(at, value);
    }
}

fn contains(set: &[String], value: &str) -> bool {
    set.binary_search_by(|x| x.as_str().cmp(value)).is_ok()
}

/// [`Timestamp::parse_date_or_time`], or a usage error.
fn parse_time(text: &str) -> Result<Timestamp> {
    Timestamp::parse_date_or_time(text).ok_or_else(|| {
        Error::new(ErrorKind::Usage(format!(
            "not an RFC3339 time or a date: {text:?} (expected e.g. 2024-03-01T00:00:00Z or 2024-03-01)"
        )))
    })
}

/// A search of raw bytes for the lines that can match a filter.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // one per filter run; boxing buys nothing
pub(crate) enum ByteSearch {
    /// The lines that hold one of the user ids.
    Users(Prefilter),
    /// The lines with a `created_at` that may be in the window.
    Time(TimePrefilter),
}

impl ByteSearch {
    /// Calls `f(start, end)` for each candidate line of `text`, in order,
    /// and returns the number of `\n` in `text`.
    pub(crate) fn candidate_lines_counting(&self, text: &[u8], f: impl FnMut(usize, usize)) -> u64 {
        match self {
            ByteSearch::Users(p) => p.candidate_lines_counting(text, f),
            ByteSearch::Time(p) => p.candidate_lines_counting(text, f),
        }
    }
}

/// Decides from raw bytes whether a record *can* contain one of a set of
/// ids, so that records that cannot are never decoded.
///
/// Exact by construction: a JSON string can spell any character as an
/// escape (`\u0031` is `1`, `\/` is `/`), so a record is a candidate when it
/// contains an id's raw bytes, or when any escape in it decodes to a
/// character that occurs in some id. Escapes of other characters (Stream
/// writes `<`, `>`, `&` in html as `\u003c`, ...) do not make a record a
/// candidate. Candidates are then decoded and tested exactly, so a hit in
/// another field (a mention, a prefix such as `user-1` in `user-17`) is
/// rejected.
#[derive(Debug, Clone)]
pub(crate) struct Prefilter {
    needles: Needles,
    /// When every id character is printable ASCII other than `"`, `\\`
    /// and `/`, the only escapes that can spell one are `\u00XX`: search
    /// for that prefix instead of visiting every backslash.
    u00: Option<memmem::Finder<'static>>,
    /// Characters of the ids: ASCII in a bitmap, the rest in a list.
    ascii: [bool; 128],
    other: Vec<char>,
}

/// The byte strings to search for: one with memmem (SIMD, tuned to
/// exports' byte frequencies), several in one pass with Aho-Corasick.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // one per filter run; boxing buys nothing
enum Needles {
    One(needle::Needle),
    Many(aho_corasick::AhoCorasick),
    /// No id at all: nothing can match.
    None,
}

impl Needles {
    /// `escape_chars`: the ASCII characters the ids are made of, when
    /// only `\u00XX` escapes can spell them.
    fn new(needles: &[Vec<u8>], escape_chars: Option<&[bool; 128]>) -> Needles {
        match needles {
            [] => Needles::None,
            [one] => {
                let needle = needle::Needle::new(one, |b| needle::EXPORT_BYTE_RANK[b as usize]);
                Needles::One(match escape_chars {
                    Some(chars) => needle.with_escape_chars(chars),
                    None => needle,
                })
            }
            many => match aho_corasick::AhoCorasick::new(many) {
                Ok(ac) => Needles::Many(ac),
                // Only an automaton too large for its own limits fails;
                // every line is then a candidate, as without a prefilter.
                Err(_) => Needles::Many(
                    aho_corasick::AhoCorasick::new([""]).expect("one empty pattern builds"),
                ),
            },
        }
    }

    /// Calls `hit` with the start of occurrences in `text`, in order: at
    /// least the first of each line that has one (`per_line`), or every
    /// one. Returns the number of
    /// newlines in `text`, counted in the same pass where it can be.
    /// With `escapes`, also appends every `\u00` to it when that comes
    /// from the same pass, and returns true; false means the caller must
    /// look for them itself.
    fn find_counting(
        &self,
        text: &[u8],
        escapes: Option<&mut Vec<usize>>,
        per_line: bool,
        mut hit: impl FnMut(usize),
    ) -> (u64, bool) {
        let count = |text: &[u8]| memchr::memchr_iter(b'\n', text).count() as u64;
        let fused = escapes.is_some();
        let newlines = match self {
            Needles::One(needle) => return (needle.find_counting(text, escapes, hit), fused),
            Needles::Many(ac) => {
                // After a hit the search goes on from the next line: an id
                // that occurs several times in a record costs one hit.
                let mut from = 0;
                while from < text.len() {
                    let input = aho_corasick::Input::new(text).span(from..text.len());
                    let Some(found) = ac.find(input) else {
                        break;
                    };
                    let at = found.start();
                    hit(at);
                    from = match per_line {
                        true => {
                            memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |p| at + p + 1)
                        }
                        false => at + 1,
                    };
                }
                count(text)
            }
            Needles::None => count(text),
        };
        (newlines, false)
    }
}

impl Prefilter {
    /// A prefilter for any of `ids`.
    pub(crate) fn new(ids: &[String]) -> Prefilter {
        let mut ascii = [false; 128];
        let mut other = Vec::new();
        for c in ids.iter().flat_map(|id| id.chars()) {
            if c.is_ascii() {
                ascii[c as usize] = true;
            } else if !other.contains(&c) {
                other.push(c);
            }
        }
        // A field equals an id only when its whole JSON string does, so an
        // unescaped occurrence always reads `"id"`, quotes included: a far
        // rarer needle than the bare id (`user-17` is inside `user-170`).
        // Ids that are integers can also be written as JSON numbers (the
        // decoder reads those as their digits): search those bare.
        let mut needles: Vec<Vec<u8>> = Vec::new();
        for id in ids {
            needles.push(format!("\"{id}\"").into_bytes());
            if id.parse::<i64>().is_ok() || id.parse::<u64>().is_ok() {
                needles.push(id.clone().into_bytes());
            }
        }
        let plain_ascii = other.is_empty()
            && ids
                .iter()
                .flat_map(|id| id.bytes())
                .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\\' | b'/') || b == b' ');
        Prefilter {
            u00: plain_ascii.then(|| memmem::Finder::new(b"\\u00").into_owned()),
            needles: Needles::new(&needles, plain_ascii.then_some(&ascii)),
            ascii,
            other,
        }
    }

    fn in_ids(&self, c: char) -> bool {
        if c.is_ascii() {
            self.ascii[c as usize]
        } else {
            self.other.contains(&c)
        }
    }

    /// Can `record` hold one of the ids?
    #[cfg(test)]
    pub(crate) fn is_candidate(&self, record: &[u8]) -> bool {
        let mut found = false;
        self.candidate_lines(record, |_, _| found = true);
        found
    }

    /// Calls `f(start, end)` once for each line of `text` (split at `\n`,
    /// offsets into `text`, `end` excluding the newline) that can hold one
    /// of the ids, in order. Searches the whole text at once, so the cost
    /// is per hit, not per line.
    #[cfg(test)]
    pub(crate) fn candidate_lines(&self, text: &[u8], f: impl FnMut(usize, usize)) {
        self.candidate_lines_counting(text, f);
    }

    /// [`Prefilter::candidate_lines`], also returning the number of `\n`
    /// in `text` (counted in the search's own pass when it can be, so the
    /// caller need not read the text again to count what it skipped).
    pub(crate) fn candidate_lines_counting(
        &self,
        text: &[u8],
        mut f: impl FnMut(usize, usize),
    ) -> u64 {
        let (hits, newlines) = self.hits_counting(text, true);
        let mut covered = 0;
        for hit in hits {
            if hit < covered {
                continue;
            }
            let start = memchr::memrchr(b'\n', &text[..hit]).map_or(0, |p| p + 1);
            let end = memchr::memchr(b'\n', &text[hit..]).map_or(text.len(), |p| hit + p);
            f(start, end);
            covered = end + 1;
        }
        newlines
    }

    /// The places in `text` where one of the ids may start (its quoted
    /// raw bytes, or an escape spelling one of its characters), sorted —
    /// at least the first of each line (`per_line`), or all of them — and
    /// the number of `\n` in `text`. A record that holds none of them
    /// cannot match.
    pub(crate) fn hits_counting(&self, text: &[u8], per_line: bool) -> (Vec<usize>, u64) {
        let mut hits: Vec<usize> = Vec::new();
        let mut escapes: Vec<usize> = Vec::new();
        let fused = self.u00.is_some().then_some(&mut escapes);
        let (newlines, escapes_found) = self
            .needles
            .find_counting(text, fused, per_line, |at| hits.push(at));
        for at in escapes {
            if self.escape_in_ids(&text[at..]) {
                hits.push(at);
            }
        }
        // An id spelled (partly) with escapes. Every escape's backslash is
        // visited (an escaped backslash's second half too, which can only
        // add a candidate, never lose one).
        match &self.u00 {
            Some(_) if escapes_found => {}
            Some(u00) => {
                for i in u00.find_iter(text) {
                    if self.escape_in_ids(&text[i..]) {
                        hits.push(i);
                    }
                }
            }
            None => {
                for i in memchr::memchr_iter(b'\\', text) {
                    if self.escape_in_ids(&text[i..]) {
                        hits.push(i);
                    }
                }
            }
        }
        hits.sort_unstable();
        (hits, newlines)
    }

    /// Does the escape at the start of `at` (a backslash) decode to a
    /// character of some id?
    fn escape_in_ids(&self, at: &[u8]) -> bool {
        let decoded = match at.get(1).copied() {
            Some(b'u') => {
                let unit = at.get(2..6).and_then(|h| {
                    h.iter().try_fold(0u32, |v, &c| {
                        let d = (c as char).to_digit(16)?;
                        Some(v << 4 | d)
                    })
                });
                match unit {
                    // Half of a surrogate pair: a character outside the
                    // BMP; any non-ASCII id character might be it.
                    Some(0xD800..=0xDFFF) => return !self.other.is_empty(),
                    Some(u) => char::from_u32(u),
                    None => None,
                }
            }
            Some(b'n') => Some('\n'),
            Some(b't') => Some('\t'),
            Some(b'r') => Some('\r'),
            Some(b'b') => Some('\u{8}'),
            Some(b'f') => Some('\u{c}'),
            Some(c) => Some(c as char),
            None => None,
        };
        decoded.is_some_and(|c| self.in_ids(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bare date is its midnight UTC; anything else that is not RFC3339
    /// (a bad day, a partial date) is a usage error.
    #[test]
    fn time_predicates_take_dates() {
        let at = |t: &str| parse_time(t).map(|t| t.to_string()).ok();
        assert_eq!(at("2024-03-01"), at("2024-03-01T00:00:00Z"));
        assert!(at("2024-03-01").is_some());
        for bad in [
            "2024-02-30",
            "2024-3-01",
            "2024-03",
            "20240301",
            "2024-03-01Z",
        ] {
            assert_eq!(at(bad), None, "{bad}");
        }
    }

    #[test]
    fn prefilter_sees_escaped_ids() {
        let p = Prefilter::new(&["user-17".to_string()]);
        assert!(p.is_candidate(br#"{"user":{"id":"user-17"}}"#));
        assert!(p.is_candidate(br#"{"user":{"id":"user-\u0031\u0037"}}"#));
        assert!(p.is_candidate(br#"{"user":{"id":"\u0075ser-17"}}"#));
        assert!(!p.is_candidate(br#"{"user":{"id":"user-18"},"html":"\u003cp\u003e"}"#));
        assert!(!p.is_candidate(br#"{"text":"a \"quoted\" word\n"}"#));
    }

    /// Several ids share one automaton; every line holding any of them is
    /// a candidate, each line once, in order.
    #[test]
    fn prefilter_several_ids_finds_every_line() {
        let ids: Vec<String> = ["user-17", "user-1", "7"]
            .into_iter()
            .map(String::from)
            .chain((0..50).map(|i| format!("x{i}")))
            .collect();
        let p = Prefilter::new(&ids);
        let text = concat!(
            "{\"id\":\"user-17\",\"user_id\":\"user-17\"}\n",
            "{\"id\":\"user-2\"}\n",
            "{\"n\":7}\n",
            "{\"id\":\"x49\"}\n",
            "{\"id\":\"\\u0078\"}\n",
            "{\"id\":\"user-1\"}"
        );
        let mut lines = Vec::new();
        p.candidate_lines(text.as_bytes(), |s, e| lines.push(&text[s..e]));
        assert_eq!(
            lines,
            [
                r#"{"id":"user-17","user_id":"user-17"}"#,
                r#"{"n":7}"#,
                r#"{"id":"x49"}"#,
                r#"{"id":"\u0078"}"#,
                r#"{"id":"user-1"}"#,
            ]
        );
        assert!(!Prefilter::new(&[]).is_candidate(br#"{"id":"user-17"}"#));
    }

    #[test]
    fn prefilter_non_bmp_ids() {
        let p = Prefilter::new(&["u😀".to_string()]);
        assert!(p.is_candidate("{\"id\":\"u😀\"}".as_bytes()));
        assert!(p.is_candidate(br#"{"id":"u\ud83d\ude00"}"#));
    }
}
