//! The one key table: which top-level keys of an entity mean something to
//! the crate, and FORMAT.md's rules that classify a bare object by the keys
//! it has.
//!
//! The decoder (serde visitor) and the quick scan (structural walk) both
//! read keys through [`key_of`] and classify through [`classify`]. The
//! parallel filter rules records out with the quick scan and decodes the
//! rest, so its output is exact only while both answer alike; one table
//! makes that true by construction instead of by hand.

use crate::model::entity::Kind;

/// A key the crate gives a meaning to. Every other key is of no interest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub(crate) enum Key {
    Id,
    Cid,
    ChannelCid,
    ChannelType,
    ChannelId,
    MessageId,
    UserId,
    User,
    CreatedBy,
    Type,
    Text,
    ParentId,
    CreatedAt,
    Item,
    Data,
    /// A v1 channel object's `channel`.
    Channel,
    /// A v1 channel object's (or synchronous user export's) `messages`.
    Messages,
    /// A v1 channel object's `members`.
    Members,
    /// The `{"channels": [...]}` wrapper.
    Channels,
    // Keys that matter for classification only.
    Html,
    Config,
    MemberCount,
    ChannelRole,
    LastRead,
    Role,
    Name,
}

impl Key {
    /// Every key, in declaration order (tests walk it).
    #[cfg(test)]
    pub(crate) const ALL: [Key; 26] = [
        Key::Id,
        Key::Cid,
        Key::ChannelCid,
        Key::ChannelType,
        Key::ChannelId,
        Key::MessageId,
        Key::UserId,
        Key::User,
        Key::CreatedBy,
        Key::Type,
        Key::Text,
        Key::ParentId,
        Key::CreatedAt,
        Key::Item,
        Key::Data,
        Key::Channel,
        Key::Messages,
        Key::Members,
        Key::Channels,
        Key::Html,
        Key::Config,
        Key::MemberCount,
        Key::ChannelRole,
        Key::LastRead,
        Key::Role,
        Key::Name,
    ];

    /// The key as written in a file.
    #[cfg(test)]
    pub(crate) fn name(self) -> &'static str {
        match self {
            Key::Id => "id",
            Key::Cid => "cid",
            Key::ChannelCid => "channel_cid",
            Key::ChannelType => "channel_type",
            Key::ChannelId => "channel_id",
            Key::MessageId => "message_id",
            Key::UserId => "user_id",
            Key::User => "user",
            Key::CreatedBy => "created_by",
            Key::Type => "type",
            Key::Text => "text",
            Key::ParentId => "parent_id",
            Key::CreatedAt => "created_at",
            Key::Item => "item",
            Key::Data => "data",
            Key::Channel => "channel",
            Key::Messages => "messages",
            Key::Members => "members",
            Key::Channels => "channels",
            Key::Html => "html",
            Key::Config => "config",
            Key::MemberCount => "member_count",
            Key::ChannelRole => "channel_role",
            Key::LastRead => "last_read",
            Key::Role => "role",
            Key::Name => "name",
        }
    }
}

/// The meaning of an (unescaped) key. Dispatches on length and first byte
/// before any comparison: most keys of an entity are of no interest and
/// cost one or two compares.
#[inline]
pub(crate) fn key_of(k: &[u8]) -> Option<Key> {
    Some(match (k.len(), k.first().copied().unwrap_or(0)) {
        (2, b'i') if k == b"id" => Key::Id,
        (3, b'c') if k == b"cid" => Key::Cid,
        (4, b't') if k == b"type" => Key::Type,
        (4, b't') if k == b"text" => Key::Text,
        (4, b'i') if k == b"item" => Key::Item,
        (4, b'd') if k == b"data" => Key::Data,
        (4, b'u') if k == b"user" => Key::User,
        (4, b'h') if k == b"html" => Key::Html,
        (4, b'r') if k == b"role" => Key::Role,
        (4, b'n') if k == b"name" => Key::Name,
        (6, b'c') if k == b"config" => Key::Config,
        (7, b'u') if k == b"user_id" => Key::UserId,
        (7, b'c') if k == b"channel" => Key::Channel,
        (7, b'm') if k == b"members" => Key::Members,
        (8, b'm') if k == b"messages" => Key::Messages,
        (8, b'c') if k == b"channels" => Key::Channels,
        (9, b'p') if k == b"parent_id" => Key::ParentId,
        (9, b'l') if k == b"last_read" => Key::LastRead,
        (10, b'c') if k == b"channel_id" => Key::ChannelId,
        (10, b'c') if k == b"created_at" => Key::CreatedAt,
        (10, b'c') if k == b"created_by" => Key::CreatedBy,
        (10, b'm') if k == b"message_id" => Key::MessageId,
        (11, b'c') if k == b"channel_cid" => Key::ChannelCid,
        (12, b'c') if k == b"channel_type" => Key::ChannelType,
        (12, b'c') if k == b"channel_role" => Key::ChannelRole,
        (12, b'm') if k == b"member_count" => Key::MemberCount,
        _ => return None,
    })
}

/// The set of keys an object has (present with any value, duplicates
/// counted once).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct KeySet(u32);

impl KeySet {
    /// No keys.
    pub(crate) const EMPTY: KeySet = KeySet(0);

    /// Keys that make an object an entity rather than an envelope, even
    /// when it also has `type` and `data`/`item` (a message with a custom
    /// `data` field).
    pub(crate) const ENTITY: KeySet = KeySet::of(&[Key::Id, Key::Cid, Key::MessageId, Key::UserId]);

    /// Keys that may make an object a v1 unit (channel object, synchronous
    /// user export, `channels` wrapper) rather than an entity, depending on
    /// their values' shapes.
    pub(crate) const MAYBE_UNIT: KeySet =
        KeySet::of(&[Key::Channel, Key::Messages, Key::Members, Key::Channels]);

    /// The set of `keys`.
    pub(crate) const fn of(keys: &[Key]) -> KeySet {
        let mut bits = 0;
        let mut i = 0;
        while i < keys.len() {
            bits |= 1 << keys[i] as u32;
            i += 1;
        }
        KeySet(bits)
    }

    /// Adds `key`.
    #[inline]
    pub(crate) fn insert(&mut self, key: Key) {
        self.0 |= 1 << key as u32;
    }

    /// Whether `key` is in the set.
    #[inline]
    pub(crate) fn contains(self, key: Key) -> bool {
        self.0 & (1 << key as u32) != 0
    }

    /// Whether any key of `other` is in the set.
    #[inline]
    pub(crate) fn any(self, other: KeySet) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether every key of `other` is in the set.
    #[inline]
    pub(crate) fn all(self, other: KeySet) -> bool {
        self.0 & other.0 == other.0
    }
}

/// FORMAT.md's rules for a bare object, first match wins.
pub(crate) fn classify(keys: KeySet) -> Kind {
    use Key::*;
    let has = |k: &[Key]| keys.any(KeySet::of(k));
    let all = |k: &[Key]| keys.all(KeySet::of(k));
    if has(&[Cid]) && has(&[Config, MemberCount]) {
        Kind::Channel
    } else if all(&[MessageId, Type]) {
        Kind::Reaction
    } else if has(&[Id]) && has(&[Text, Html]) {
        Kind::Message
    } else if has(&[ChannelRole]) || all(&[UserId, User]) {
        Kind::Member
    } else if has(&[LastRead]) {
        Kind::Read
    } else if has(&[Id]) && has(&[Role, Name]) {
        Kind::User
    } else {
        Kind::Other
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn every_key_reads_back_and_nothing_else_does() {
        for key in Key::ALL {
            assert_eq!(key_of(key.name().as_bytes()), Some(key), "{key:?}");
            // Near misses: a byte more, a byte less (which may be another
            // key: `cid` less its `c`), another case.
            let name = key.name();
            assert_eq!(key_of(format!("{name}_").as_bytes()), None);
            assert_ne!(key_of(&name.as_bytes()[1..]), Some(key));
            assert_ne!(key_of(&name.as_bytes()[..name.len() - 1]), Some(key));
            assert_eq!(key_of(name.to_uppercase().as_bytes()), None);
        }
        assert_eq!(key_of(b""), None);
        // Bits are distinct: the set of all keys has one bit per key.
        assert_eq!(
            KeySet::of(&Key::ALL).0.count_ones() as usize,
            Key::ALL.len()
        );
    }

    #[test]
    fn rules_in_order() {
        use Key::*;
        let k = KeySet::of;
        assert_eq!(classify(k(&[Cid, Config])), Kind::Channel);
        assert_eq!(
            classify(k(&[Cid, MemberCount, MessageId, Type])),
            Kind::Channel
        );
        assert_eq!(classify(k(&[MessageId, Type, Id, Text])), Kind::Reaction);
        assert_eq!(classify(k(&[Id, Html])), Kind::Message);
        assert_eq!(classify(k(&[UserId, User])), Kind::Member);
        assert_eq!(classify(k(&[ChannelRole, LastRead])), Kind::Member);
        assert_eq!(classify(k(&[LastRead])), Kind::Read);
        assert_eq!(classify(k(&[Id, Name])), Kind::User);
        assert_eq!(classify(k(&[Name, Role])), Kind::Other);
        assert_eq!(classify(KeySet::EMPTY), Kind::Other);
    }

    /// A tiny deterministic generator (xorshift), so failures replay.
    pub(crate) struct Rng(pub u64);

    impl Rng {
        pub(crate) fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        pub(crate) fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// The decoder's kind and type name for a line, and the quick scan's
    /// type name when it answers.
    fn both(line: &str) -> Option<(Kind, String, Option<String>)> {
        use crate::decode::{Decoded, Hint, Repairs, decode_record};
        let e = match decode_record(line.as_bytes(), 0, Hint::Record, Repairs::default()) {
            Ok(Decoded::Entity(e)) => e,
            _ => return None,
        };
        let mut blocks = crate::json::index::Blocks::default();
        let quick = crate::decode::quick::quick_in(line.as_bytes(), line.len(), &mut blocks)
            .map(|q| String::from_utf8_lossy(q.type_name).into_owned());
        Some((e.kind(), e.type_name().to_string(), quick))
    }

    /// Every subset of the table's keys, in random orders, with values of
    /// random shapes (strings, numbers, null, objects, arrays), bare and
    /// inside an envelope: the decoder classifies as `classify` says, and
    /// the quick scan, whenever it answers, answers the same.
    #[test]
    fn decoder_and_quick_scan_agree_on_generated_objects() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let values = [
            r#""v""#,
            "1",
            "null",
            r#"{"id":"x"}"#,
            "[1]",
            r#""""#,
            "true",
        ];
        let (mut bare, mut quick_answers) = (0, 0);
        for _ in 0..20_000 {
            let mut keys: Vec<Key> = Key::ALL
                .iter()
                .copied()
                .filter(|_| rng.below(4) == 0)
                .collect();
            // Shuffle, and duplicate a key now and then.
            for i in (1..keys.len()).rev() {
                keys.swap(i, rng.below(i + 1));
            }
            if !keys.is_empty() && rng.below(3) == 0 {
                keys.push(keys[rng.below(keys.len())]);
            }
            let mut members: Vec<String> = keys
                .iter()
                .map(|k| format!(r#""{}":{}"#, k.name(), values[rng.below(values.len())]))
                .collect();
            if rng.below(2) == 0 {
                members.insert(
                    rng.below(members.len() + 1),
                    r#""custom":{"type":"x"}"#.into(),
                );
            }
            let object = format!("{{{}}}", members.join(","));
            let Some((kind, name, quick)) = both(&object) else {
                continue;
            };
            if let Some(q) = &quick {
                quick_answers += 1;
                assert_eq!(q, &name, "{object}");
            }
            // A bare object (no string `type` with an object `item`/`data`
            // and no entity keys): the decoder follows `classify`.
            let set = KeySet::of(&keys);
            let enveloped = set.any(KeySet::of(&[Key::Item, Key::Data]))
                && set.contains(Key::Type)
                && !set.any(KeySet::ENTITY);
            if !enveloped {
                bare += 1;
                assert_eq!(kind, classify(set), "{object}");
            }
            // The same keys as an envelope's payload.
            let line = format!(r#"{{"type":"message","item":{object}}}"#);
            if let Some((kind, name, quick)) = both(&line) {
                assert_eq!(kind, Kind::Message, "{line}");
                if let Some(q) = quick {
                    assert_eq!(q, name, "{line}");
                }
            }
        }
        assert!(
            bare > 5_000 && quick_answers > 5_000,
            "{bare} {quick_answers}"
        );
    }

    /// Each single classification key and each rule's key combination,
    /// through both readers.
    #[test]
    fn each_rule_through_both_readers() {
        use Key::*;
        let rules: [(&[Key], Kind); 9] = [
            (&[Cid, Config], Kind::Channel),
            (&[Cid, MemberCount], Kind::Channel),
            (&[MessageId, Type], Kind::Reaction),
            (&[Id, Text], Kind::Message),
            (&[Id, Html], Kind::Message),
            (&[ChannelRole], Kind::Member),
            (&[UserId, User], Kind::Member),
            (&[LastRead], Kind::Read),
            (&[Id, Role], Kind::User),
        ];
        for (keys, want) in rules {
            let object = format!(
                "{{{}}}",
                keys.iter()
                    .map(|k| format!(r#""{}":"v""#, k.name()))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            let (kind, name, quick) = both(&object).unwrap();
            assert_eq!(kind, want, "{object}");
            assert_eq!(quick.as_deref(), Some(want.as_str()), "{object}");
            assert_eq!(name, want.as_str());
        }
    }
}
