//! `Entity<'a>`: one record of an export, borrowed from the input bytes.

use crate::model::timestamp::Timestamp;
use crate::project::{Projection, Values};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// The kind of an entity.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A channel (`cid`, `type`, `id`, `config`, ...).
    Channel,
    /// A channel member (also spelled `channel_member`).
    Member,
    /// A message, including replies, system and deleted messages.
    Message,
    /// A reaction to a message.
    Reaction,
    /// A user.
    User,
    /// A read state (`last_read`).
    Read,
    /// A push device.
    Device,
    /// Any other kind (`call`, `future_channel_ban`, unknown kinds and
    /// unclassifiable objects); [`Entity::type_name`] keeps its name.
    Other,
}

impl Kind {
    /// Every kind, in the order reports list them.
    pub const ALL: &'static [Kind] = &[
        Kind::Channel,
        Kind::Member,
        Kind::Message,
        Kind::Reaction,
        Kind::User,
        Kind::Read,
        Kind::Device,
        Kind::Other,
    ];

    /// Maps a type name as written in a file to a kind, normalizing
    /// aliases (`channel_member` is a member).
    pub fn from_type_name(name: &str) -> Kind {
        Kind::from_type_bytes(name.as_bytes())
    }

    /// [`Kind::from_type_name`] on raw bytes (no UTF-8 check needed: every
    /// known name is ASCII).
    pub(crate) fn from_type_bytes(name: &[u8]) -> Kind {
        match name {
            b"channel" => Kind::Channel,
            b"member" | b"channel_member" => Kind::Member,
            b"message" => Kind::Message,
            b"reaction" => Kind::Reaction,
            b"user" => Kind::User,
            b"read" | b"read_state" => Kind::Read,
            b"device" => Kind::Device,
            _ => Kind::Other,
        }
    }

    /// The canonical name (`"member"`, ...); `"other"` for [`Kind::Other`].
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Channel => "channel",
            Kind::Member => "member",
            Kind::Message => "message",
            Kind::Reaction => "reaction",
            Kind::User => "user",
            Kind::Read => "read",
            Kind::Device => "device",
            Kind::Other => "other",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the record was written in the file.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Envelope {
    /// `{"type": T, "item": {...}}` (v2 export lines, legacy import arrays).
    Item,
    /// `{"type": T, "data": {...}}` (import files, some v2 exports).
    Data,
    /// A bare object classified by its keys.
    Bare,
    /// An entity nested in a v1 document (kind known from its position).
    Nested,
}

/// Where an entity's channel came from (see FORMAT.md, "Resolving").
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelSource {
    /// The entity names its channel (`cid`, `channel_cid`,
    /// `channel_type` + `channel_id`, or a channel's own `type` + `id`).
    Own,
    /// Taken from the enclosing channel (v1) or the most recent channel
    /// record (lines).
    Enclosing,
    /// A reaction that took the channel of the message it references.
    Message,
    /// A reaction whose message was not seen (or no longer remembered):
    /// it took the most recent channel record instead.
    EnclosingFallback,
    /// No channel could be resolved.
    None,
}

/// One record of an export: a channel, member, message, reaction, user,
/// read state, device, or another kind, with typed borrowed access to the
/// fields people filter on and the exact JSON bytes for everything else.
///
/// Strings borrow from the input when they contain no escapes; escaped
/// strings are decoded once into owned copies. [`Entity::into_owned`] gives
/// an `Entity<'static>` that outlives the input.
#[derive(Clone, PartialEq)]
pub struct Entity<'a> {
    pub(crate) kind: Kind,
    pub(crate) type_name: Cow<'a, str>,
    pub(crate) envelope: Envelope,
    /// The whole record; [`Entity::raw`] is the range `raw` of it, so an
    /// owned entity holds its bytes once.
    pub(crate) record: Cow<'a, [u8]>,
    pub(crate) raw: Range<usize>,
    pub(crate) offset: u64,
    pub(crate) lossy: bool,
    /// `raw` holds no whitespace outside strings (the decoder's fast path
    /// saw none): a writer may copy it instead of minifying it.
    pub(crate) compact: Compact,
    pub(crate) fields: Fields<'a>,
    pub(crate) channel_source: ChannelSource,
}

/// The decoded key fields of an entity; all optional (missing and `null`
/// mean the same).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Fields<'a> {
    pub id: Option<Cow<'a, str>>,
    pub cid: Option<Cow<'a, str>>,
    pub user_id: Option<Cow<'a, str>>,
    pub created_at_text: Option<Cow<'a, str>>,
    pub created_at: Option<Timestamp>,
    /// The entity's own `type` field: message type, reaction type, channel
    /// type.
    pub type_field: Option<Cow<'a, str>>,
    pub text: Option<Cow<'a, str>>,
    pub parent_id: Option<Cow<'a, str>>,
    pub message_id: Option<Cow<'a, str>>,
    /// The object had a `cid` key of its own (export-shaped, not import).
    pub has_cid_key: bool,
    /// Where the fields a job asked the decoder for sit in the record.
    pub extras: Extras,
}

/// Whether an entity's bytes are known to be minified: a note from the
/// decoder, not part of the entity (two entities are equal whichever path
/// read them, so equality ignores it).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Compact(pub bool);

impl PartialEq for Compact {
    fn eq(&self, _: &Compact) -> bool {
        true
    }
}

/// How many top-level fields a job may have the decoder record
/// (`Job::prefetch_fields`).
pub(crate) const MAX_EXTRAS: usize = 12;

/// Where the fields a job asked for sit in an entity's record (byte
/// ranges; `(0, 0)` for a field the entity lacks), recorded by the
/// decoder's fast path in its one pass. A cache of positions, not content:
/// it takes no part in equality, and `collected == false` (the serde path,
/// or no job asked) sends the job to its own projection.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Extras {
    pub collected: bool,
    /// A wanted key occurs more than once in the object (its span is the
    /// last occurrence's).
    pub repeated: bool,
    pub spans: [(u32, u32); MAX_EXTRAS],
}

impl PartialEq for Extras {
    fn eq(&self, _: &Extras) -> bool {
        true
    }
}

fn owned<'b>(c: Option<Cow<'_, str>>) -> Option<Cow<'b, str>> {
    c.map(|c| Cow::Owned(c.into_owned()))
}

impl Fields<'_> {
    fn into_owned(self) -> Fields<'static> {
        Fields {
            id: owned(self.id),
            cid: owned(self.cid),
            user_id: owned(self.user_id),
            created_at_text: owned(self.created_at_text),
            created_at: self.created_at,
            type_field: owned(self.type_field),
            text: owned(self.text),
            parent_id: owned(self.parent_id),
            message_id: owned(self.message_id),
            has_cid_key: self.has_cid_key,
            extras: self.extras,
        }
    }
}

impl<'a> Entity<'a> {
    /// The raw JSON text of the `i`-th prefetched field
    /// (`Job::prefetch_fields`): `None` when the decoder
    /// did not record them, `Some(None)` when the entity lacks the field.
    pub(crate) fn extra(&self, i: usize) -> Option<Option<&str>> {
        let x = &self.fields.extras;
        if !x.collected {
            return None;
        }
        let (start, end) = *x.spans.get(i)?;
        if end == 0 {
            return Some(None);
        }
        let bytes = self.record.get(start as usize..end as usize)?;
        // The spans fall on the value's first and last bytes, which are
        // ASCII, inside a record that was checked to be UTF-8.
        Some(simdutf8::basic::from_utf8(bytes).ok())
    }

    /// Where the prefetched fields sit in [`Entity::raw`] (byte ranges of
    /// their values; `None` for a field the entity lacks): `None` when the
    /// decoder did not record them or a wanted key occurs more than once
    /// (a range would then tell of the last occurrence only).
    // Read only by the Parquet row builder (Cargo feature `parquet`).
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    pub(crate) fn extra_spans(&self) -> Option<[Option<Range<usize>>; MAX_EXTRAS]> {
        let x = &self.fields.extras;
        if !x.collected || x.repeated {
            return None;
        }
        let mut out: [Option<Range<usize>>; MAX_EXTRAS] = Default::default();
        for (slot, &(start, end)) in out.iter_mut().zip(&x.spans) {
            if end == 0 {
                continue;
            }
            let (start, end) = (start as usize, end as usize);
            // The spans are the record's; `raw` is a range of it.
            if start < self.raw.start || end > self.raw.end {
                return None;
            }
            *slot = Some(start - self.raw.start..end - self.raw.start);
        }
        Some(out)
    }

    /// The entity's kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The kind's name as it should be reported: the canonical name for
    /// known kinds (`channel_member` becomes `member`), the name written in
    /// the file for other enveloped kinds (`call`, `future_channel_ban`),
    /// and `other` for bare objects no rule classifies.
    pub fn type_name(&self) -> &str {
        &self.type_name
    }

    /// How the record was written (envelope or nesting).
    pub fn envelope(&self) -> Envelope {
        self.envelope
    }

    /// The entity's exact JSON bytes: the `item`/`data` object of an
    /// enveloped line, the whole object otherwise. Nothing is lost: custom
    /// and unknown fields are all here.
    pub fn raw(&self) -> &[u8] {
        // The decoder builds `raw` inside `record`; an empty slice rather
        // than a panic should that invariant ever break.
        self.record.get(self.raw.clone()).unwrap_or_default()
    }

    /// [`Entity::raw`] as text (records are validated as UTF-8).
    pub fn raw_str(&self) -> &str {
        // Records are validated (or repaired, in lossy mode) as UTF-8
        // before decoding; fall back to an empty string rather than panic
        // should that invariant ever break.
        // Checked again, at SIMD speed: every converter calls this once or
        // more per entity.
        simdutf8::basic::from_utf8(self.raw()).unwrap_or("")
    }

    /// The whole record as it sat in the input, envelope included, without
    /// the line terminator. For a v1 entity this equals [`Entity::raw`].
    pub fn record(&self) -> &[u8] {
        &self.record
    }

    /// Byte offset of the record in the decompressed input.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// True when the record was repaired to decode (invalid UTF-8 replaced
    /// in lossy mode, or lone escaped surrogates replaced by U+FFFD).
    pub fn is_lossy(&self) -> bool {
        self.lossy
    }

    /// The entity's `id` (user, message, channel, device ids), if any.
    pub fn id(&self) -> Option<&str> {
        self.fields.id.as_deref()
    }

    /// The resolved channel, `type:id` (see [`Entity::channel_source`]).
    pub fn cid(&self) -> Option<&str> {
        self.fields.cid.as_deref()
    }

    /// Does the entity take its channel from the records before it (a
    /// member, read state, message or reaction without a cid of its own)?
    pub(crate) fn inherits_channel(&self) -> bool {
        self.fields.cid.is_none()
            && matches!(
                self.kind,
                Kind::Member | Kind::Read | Kind::Message | Kind::Reaction
            )
    }

    /// Where [`Entity::cid`] came from.
    pub fn channel_source(&self) -> ChannelSource {
        self.channel_source
    }

    /// The channel type: the part of the cid before the first `:`.
    pub fn channel_type(&self) -> Option<&str> {
        self.cid().and_then(|c| c.split_once(':')).map(|(t, _)| t)
    }

    /// The channel id: the part of the cid after the first `:`.
    pub fn channel_id(&self) -> Option<&str> {
        self.cid().and_then(|c| c.split_once(':')).map(|(_, i)| i)
    }

    /// The user the entity belongs to: `user_id`, else `user.id`, else a
    /// message's `user` given as a string (import files), else a channel's
    /// `created_by`; a user record's own `id`.
    pub fn user_id(&self) -> Option<&str> {
        self.fields.user_id.as_deref()
    }

    /// `created_at` parsed to UTC; `None` when missing, null or unparsable
    /// (see [`Entity::created_at_text`]).
    pub fn created_at(&self) -> Option<Timestamp> {
        self.fields.created_at
    }

    /// `created_at` exactly as written.
    pub fn created_at_text(&self) -> Option<&str> {
        self.fields.created_at_text.as_deref()
    }

    /// A message's `type` (`regular`, `reply`, `deleted`, `system`, ...).
    pub fn message_type(&self) -> Option<&str> {
        match self.kind {
            Kind::Message => self.fields.type_field.as_deref(),
            _ => None,
        }
    }

    /// A reaction's `type` (`like`, `love`, ...).
    pub fn reaction_type(&self) -> Option<&str> {
        match self.kind {
            Kind::Reaction => self.fields.type_field.as_deref(),
            _ => None,
        }
    }

    /// The entity's own `type` field whatever its kind (a channel's type,
    /// a message's type, ...).
    pub fn type_field(&self) -> Option<&str> {
        self.fields.type_field.as_deref()
    }

    /// A message's `text`.
    pub fn text(&self) -> Option<&str> {
        self.fields.text.as_deref()
    }

    /// A reply's `parent_id`.
    pub fn parent_id(&self) -> Option<&str> {
        self.fields.parent_id.as_deref()
    }

    /// A reaction's `message_id`.
    pub fn message_id(&self) -> Option<&str> {
        self.fields.message_id.as_deref()
    }

    /// Looks up a top-level field of the entity by name, unparsed. Custom
    /// fields and a nested `extra_data` object are reached this way.
    /// When a key is duplicated the last one wins, as in `serde_json::Value`.
    ///
    /// One pass over [`Entity::raw`] that builds nothing, then a check of
    /// the value found; to read several fields of many entities, compile a
    /// [`Projection`] once and use [`Entity::project`].
    ///
    /// ```
    /// use stream_chat_export::ReaderBuilder;
    /// let line = br#"{"type":"user","item":{"id":"u1","team_color":"teal"}}"#;
    /// let entity = ReaderBuilder::new().from_slice(line).next().unwrap().unwrap();
    /// assert_eq!(entity.get("team_color").unwrap().get(), r#""teal""#);
    /// ```
    pub fn get(&self, key: &str) -> Option<&RawValue> {
        let value = crate::project::top_level(self.raw_str(), key).ok()??;
        // `&RawValue` can only be made by deserializing; this parses the
        // value alone, not the entity.
        serde_json::from_str(value).ok()
    }

    /// Extracts the fields of `projection` from [`Entity::raw`] in one
    /// pass (see [`Projection::extract`]).
    ///
    /// ```
    /// use stream_chat_export::{Projection, ReaderBuilder};
    /// let fields = Projection::new(&["user.id", "type"])?;
    /// let line = br#"{"type":"message","item":{"id":"m","type":"reply","user":{"id":"ann"}}}"#;
    /// let entity = ReaderBuilder::new().from_slice(line).next().unwrap()?;
    /// let values = entity.project(&fields)?;
    /// assert_eq!(values.get(0).unwrap().as_str().as_deref(), Some("ann"));
    /// assert_eq!(values.get(1).unwrap().as_str().as_deref(), Some("reply"));
    /// # Ok::<(), stream_chat_export::Error>(())
    /// ```
    pub fn project(&self, projection: &Projection) -> crate::Result<Values<'_>> {
        projection.extract(self.raw_str())
    }

    /// Parses the whole entity into a `serde_json::Value` (slow; for
    /// convenience and tests).
    pub fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::from_slice(self.raw())
    }

    /// Copies every borrowed part so the entity outlives its input.
    pub fn into_owned(self) -> Entity<'static> {
        Entity {
            kind: self.kind,
            type_name: Cow::Owned(self.type_name.into_owned()),
            envelope: self.envelope,
            record: Cow::Owned(self.record.into_owned()),
            raw: self.raw,
            offset: self.offset,
            lossy: self.lossy,
            compact: self.compact,
            fields: self.fields.into_owned(),
            channel_source: self.channel_source,
        }
    }
}

impl fmt::Debug for Entity<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entity")
            .field("kind", &self.kind)
            .field("type_name", &self.type_name)
            .field("id", &self.id())
            .field("cid", &self.cid())
            .field("user_id", &self.user_id())
            .field("created_at", &self.created_at_text())
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}
