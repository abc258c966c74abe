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

use crate::entity::{Entity, Kind};
use crate::error::{Error, ErrorKind, Result};
use crate::timestamp::Timestamp;
use memchr::memmem;

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
    users: Vec<String>,
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
        self.users.push(id.into());
        self
    }

    /// Adds a channel cid (`type:id`): entities of any added channel match
    /// (after resolution: members inherit their channel, reactions take
    /// their message's).
    pub fn channel(&mut self, cid: impl Into<String>) -> &mut Self {
        self.channels.push(cid.into());
        self
    }

    /// Only entities with `created_at >= since` (RFC3339).
    pub fn since(&mut self, rfc3339: &str) -> Result<&mut Self> {
        self.since = Some(parse_time(rfc3339)?);
        Ok(self)
    }

    /// Only entities with `created_at < until` (RFC3339).
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
            && (self.channels.is_empty()
                || e.cid()
                    .is_some_and(|c| self.channels.iter().any(|x| x == c)))
    }

    /// Every predicate but the channel one.
    pub(crate) fn matches_except_channel(&self, e: &Entity<'_>) -> bool {
        if !self.kinds.is_empty() && !self.kinds.iter().any(|k| k == e.type_name()) {
            return false;
        }
        if !self.users.is_empty()
            && !e
                .user_id()
                .is_some_and(|u| self.users.iter().any(|x| x == u))
        {
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
            let t = created_at
                .and_then(|t| std::str::from_utf8(t).ok())
                .and_then(Timestamp::parse);
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

    /// The byte prefilter for this filter, when one applies: a user filter
    /// without a channel filter (a channel answer can depend on earlier
    /// records, so every record must then be decoded).
    pub fn prefilter(&self) -> Option<Prefilter> {
        if self.users.is_empty() || !self.channels.is_empty() {
            return None;
        }
        Some(Prefilter::new(&self.users))
    }
}

fn parse_time(text: &str) -> Result<Timestamp> {
    Timestamp::parse(text).ok_or_else(|| {
        Error::new(ErrorKind::Usage(format!(
            "not an RFC3339 time: {text:?} (expected e.g. 2024-03-01T00:00:00Z)"
        )))
    })
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
pub struct Prefilter {
    finders: Vec<memmem::Finder<'static>>,
    /// Characters of the ids: ASCII in a bitmap, the rest in a list.
    ascii: [bool; 128],
    other: Vec<char>,
}

impl Prefilter {
    /// A prefilter for any of `ids`.
    pub fn new(ids: &[String]) -> Prefilter {
        let mut ascii = [false; 128];
        let mut other = Vec::new();
        for c in ids.iter().flat_map(|id| id.chars()) {
            if c.is_ascii() {
                ascii[c as usize] = true;
            } else if !other.contains(&c) {
                other.push(c);
            }
        }
        Prefilter {
            finders: ids
                .iter()
                .map(|id| memmem::Finder::new(id.as_bytes()).into_owned())
                .collect(),
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
    pub fn is_candidate(&self, record: &[u8]) -> bool {
        if self.finders.iter().any(|f| f.find(record).is_some()) {
            return true;
        }
        // An id spelled (partly) with escapes.
        let mut at = 0;
        while let Some(i) = memchr::memchr(b'\\', &record[at..]) {
            let i = at + i;
            let next = record.get(i + 1).copied();
            let decoded = match next {
                Some(b'u') => {
                    let hex = record.get(i + 2..i + 6);
                    let unit = hex
                        .and_then(|h| std::str::from_utf8(h).ok())
                        .and_then(|h| u32::from_str_radix(h, 16).ok());
                    match unit {
                        // Half of a surrogate pair: a character outside the
                        // BMP; any non-ASCII id character might be it.
                        Some(0xD800..=0xDFFF) => {
                            if !self.other.is_empty() {
                                return true;
                            }
                            None
                        }
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
            if decoded.is_some_and(|c| self.in_ids(c)) {
                return true;
            }
            at = i + 2;
            if at >= record.len() {
                break;
            }
        }
        false
    }
}

/// Writes entities as v2 lines, `{"type":"<kind>","item":{...}}`.
///
/// A v2 line already in that envelope is copied byte for byte; any other
/// record is re-wrapped with the entity's raw JSON as `item`, with
/// insignificant whitespace removed so a pretty-printed v1 entity fits on
/// one line (values are untouched).
pub fn write_v2_line(e: &Entity<'_>, out: &mut Vec<u8>) {
    if e.envelope() == crate::Envelope::Item && e.record().first() == Some(&b'{') {
        out.extend_from_slice(e.record());
    } else {
        out.extend_from_slice(b"{\"type\":");
        // The kind name comes from the file: write it as a JSON string so
        // it can never change the structure of the output.
        serde_json::to_writer(&mut *out, e.type_name()).unwrap_or_default();
        out.extend_from_slice(b",\"item\":");
        minify_into(e.raw(), out);
        out.push(b'}');
    }
    out.push(b'\n');
}

/// Copies JSON text without whitespace outside strings.
pub(crate) fn minify_into(json: &[u8], out: &mut Vec<u8>) {
    if memchr::memchr3(b'\n', b'\r', b'\t', json).is_none() && !has_space_outside_strings(json) {
        out.extend_from_slice(json);
        return;
    }
    let mut in_string = false;
    let mut escaped = false;
    for &b in json {
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
            if b == b'"' {
                in_string = true;
            }
            out.push(b);
        }
    }
}

fn has_space_outside_strings(json: &[u8]) -> bool {
    let mut in_string = false;
    let mut i = 0;
    while i < json.len() {
        if in_string {
            match memchr::memchr2(b'"', b'\\', &json[i..]) {
                Some(j) if json[i + j] == b'\\' => i += j + 2,
                Some(j) => {
                    in_string = false;
                    i += j + 1;
                }
                None => return false,
            }
        } else {
            match json[i] {
                b' ' => return true,
                b'"' => in_string = true,
                _ => {}
            }
            i += 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefilter_sees_escaped_ids() {
        let p = Prefilter::new(&["user-17".to_string()]);
        assert!(p.is_candidate(br#"{"user":{"id":"user-17"}}"#));
        assert!(p.is_candidate(br#"{"user":{"id":"user-\u0031\u0037"}}"#));
        assert!(p.is_candidate(br#"{"user":{"id":"\u0075ser-17"}}"#));
        assert!(!p.is_candidate(br#"{"user":{"id":"user-18"},"html":"\u003cp\u003e"}"#));
        assert!(!p.is_candidate(br#"{"text":"a \"quoted\" word\n"}"#));
    }

    #[test]
    fn prefilter_non_bmp_ids() {
        let p = Prefilter::new(&["u😀".to_string()]);
        assert!(p.is_candidate("{\"id\":\"u😀\"}".as_bytes()));
        assert!(p.is_candidate(br#"{"id":"u\ud83d\ude00"}"#));
    }

    #[test]
    fn minify_keeps_strings() {
        let mut out = Vec::new();
        minify_into(b"{ \"a b\" : [ 1 ,\n 2 ],\"c\":\"x\\\" y\" }", &mut out);
        assert_eq!(out, b"{\"a b\":[1,2],\"c\":\"x\\\" y\"}");
    }
}
