//! The one-pass field collector: serde visitors that read the key fields
//! of an entity into borrowed strings and skip everything else, plus the
//! top level of a line, whose envelope payload is decoded in the same pass.

use crate::model::entity::{Extras, Kind};
use crate::model::keys::{Key, KeySet, classify, key_of};
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// The top level of a line: its fields, and an envelope's `item` and
/// `data` decoded in the same pass.
pub(super) struct TopFields<'a> {
    /// The fields of the top-level object itself.
    pub fields: RawFields<'a>,
    /// `item`, decoded as an entity's fields when it is an object.
    pub item: Option<Payload<'a>>,
    /// `data`, likewise.
    pub data: Option<Payload<'a>>,
    /// How many keys the object has (duplicates counted), for the compact
    /// envelope shortcut.
    pub key_count: usize,
    /// Where the last `item` and `data` values are in the record, when the
    /// fast path read it (the serde path finds them afterwards).
    pub item_span: Option<std::ops::Range<usize>>,
    pub data_span: Option<std::ops::Range<usize>>,
}

/// An envelope payload decoded in place: an object's fields, or any other
/// value (then it is no envelope).
pub(super) enum Payload<'a> {
    Object(Box<RawFields<'a>>),
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for TopFields<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TopVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for TopVisitor<'a> {
            type Value = TopFields<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let mut item = None;
                let mut data = None;
                let mut key_count = 0;
                let fields = visit_fields(map, &mut |key, map: &mut A| {
                    key_count += 1;
                    match key {
                        Some(Key::Item) => item = Some(map.next_value::<Payload<'a>>()?),
                        Some(Key::Data) => data = Some(map.next_value::<Payload<'a>>()?),
                        _ => return Ok(false),
                    }
                    Ok(true)
                })?;
                Ok(TopFields {
                    fields,
                    item,
                    data,
                    key_count,
                    item_span: None,
                    data_span: None,
                })
            }
        }
        d.deserialize_map(TopVisitor(std::marker::PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Payload<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct PayloadVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for PayloadVisitor<'a> {
            type Value = Payload<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let fields = FieldsVisitor(std::marker::PhantomData).visit_map(map)?;
                Ok(Payload::Object(Box::new(fields)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Payload::Other)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Payload::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Payload::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Payload::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Payload::Other)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Payload::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Payload::Other)
            }
        }
        d.deserialize_any(PayloadVisitor(std::marker::PhantomData))
    }
}

/// How the values of the keys that decide a v1 unit, an envelope and a
/// member were shaped (the key table records only that a key is present).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Shapes {
    /// `channel` is an object.
    pub channel_object: bool,
    /// `messages` is an array.
    pub messages_array: bool,
    /// `members` is an array.
    pub members_array: bool,
    /// `channels` is an array.
    pub channels_array: bool,
    /// `user` is an object (a member's user), not an id string.
    pub user_object: bool,
    /// `type` is a string (an envelope's type must be).
    pub type_is_string: bool,
    /// The record holds no whitespace outside strings (the fast path saw
    /// none; the serde path never claims it): its bytes are minified.
    pub compact: bool,
}

impl Shapes {
    /// Notes the shape of a `channel`, `messages`, `members` or
    /// `channels` value from its first byte. Sticky across duplicates, as
    /// before the key table: any object-shaped occurrence makes a unit
    /// candidate.
    pub fn note(&mut self, key: Key, first: Option<u8>) {
        match key {
            Key::Channel => self.channel_object |= first == Some(b'{'),
            Key::Messages => self.messages_array |= first == Some(b'['),
            Key::Members => self.members_array |= first == Some(b'['),
            Key::Channels => self.channels_array |= first == Some(b'['),
            _ => {}
        }
    }
}

/// The key fields of one object, borrowed where unescaped.
#[derive(Default)]
pub(super) struct RawFields<'a> {
    /// The keys of the table the object has.
    pub keys: KeySet,
    pub shapes: Shapes,
    pub type_: Option<Cow<'a, str>>,
    pub item: Option<&'a RawValue>,
    pub data: Option<&'a RawValue>,
    pub id: Option<Cow<'a, str>>,
    pub cid: Option<Cow<'a, str>>,
    pub channel_cid: Option<Cow<'a, str>>,
    pub channel_type: Option<Cow<'a, str>>,
    pub channel_id: Option<Cow<'a, str>>,
    pub message_id: Option<Cow<'a, str>>,
    pub user_id: Option<Cow<'a, str>>,
    pub user: Option<Cow<'a, str>>,
    pub created_by: Option<Cow<'a, str>>,
    pub text: Option<Cow<'a, str>>,
    pub parent_id: Option<Cow<'a, str>>,
    pub created_at: Option<Cow<'a, str>>,
    /// The fast path's record of the job's extra fields.
    pub extras: Extras,
}

impl RawFields<'_> {
    /// A v1 channel object (`channel` plus `messages` and/or `members`), a
    /// synchronous user export (`user` object plus `messages`), or a
    /// `{"channels": [...]}` wrapper.
    pub fn is_unit(&self) -> bool {
        let s = self.shapes;
        (s.channel_object && (s.messages_array || s.members_array))
            || (s.user_object && s.messages_array)
            || s.channels_array
    }

    /// FORMAT.md's rules for bare objects (the key table's).
    pub fn classify(&self) -> Kind {
        classify(self.keys)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawFields<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(FieldsVisitor(std::marker::PhantomData))
    }
}

struct FieldsVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for FieldsVisitor<'a> {
    type Value = RawFields<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        visit_fields(map, &mut |_, _: &mut A| Ok(false))
    }
}

/// The one-pass field collector. `hook` may take a key's value first
/// (returning true); the top level uses it to decode envelope payloads.
/// Later duplicates win, for the values and for the shapes; presence in
/// `keys` is sticky, as in the quick scan.
fn visit_fields<'de: 'a, 'a, A, H>(mut map: A, hook: &mut H) -> Result<RawFields<'a>, A::Error>
where
    A: MapAccess<'de>,
    H: FnMut(Option<Key>, &mut A) -> Result<bool, A::Error>,
{
    let mut f = RawFields::default();
    while let Some(KeyOf(key)) = map.next_key::<KeyOf>()? {
        if let Some(key) = key {
            f.keys.insert(key);
        }
        if hook(key, &mut map)? {
            continue;
        }
        let Some(key) = key else {
            map.next_value::<IgnoredAny>()?;
            continue;
        };
        let text = |map: &mut A| map.next_value::<Text<'a>>().map(|t| t.value);
        match key {
            Key::Type => {
                let t = map.next_value::<Text<'a>>()?;
                f.shapes.type_is_string = t.was_string;
                f.type_ = t.value;
            }
            Key::Item => f.item = Some(map.next_value()?),
            Key::Data => f.data = Some(map.next_value()?),
            Key::Id => f.id = text(&mut map)?,
            Key::Cid => f.cid = text(&mut map)?,
            Key::ChannelCid => f.channel_cid = text(&mut map)?,
            Key::ChannelType => f.channel_type = text(&mut map)?,
            Key::ChannelId => f.channel_id = text(&mut map)?,
            Key::MessageId => f.message_id = text(&mut map)?,
            Key::UserId => f.user_id = text(&mut map)?,
            Key::User => {
                let user = map.next_value::<UserRef<'a>>()?;
                f.shapes.user_object = user.is_object;
                f.user = user.id;
            }
            Key::CreatedBy => f.created_by = map.next_value::<UserRef<'a>>()?.id,
            Key::Text => f.text = text(&mut map)?,
            Key::ParentId => f.parent_id = text(&mut map)?,
            Key::CreatedAt => f.created_at = text(&mut map)?,
            Key::Channel | Key::Messages | Key::Members | Key::Channels => {
                let raw: &'a RawValue = map.next_value()?;
                f.shapes.note(key, raw.get().as_bytes().first().copied());
            }
            Key::Html
            | Key::Config
            | Key::MemberCount
            | Key::ChannelRole
            | Key::LastRead
            | Key::Role
            | Key::Name => {
                map.next_value::<IgnoredAny>()?;
            }
        }
    }
    Ok(f)
}

/// An object key read through the key table.
struct KeyOf(Option<Key>);

impl<'de> Deserialize<'de> for KeyOf {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = KeyOf;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E: de::Error>(self, k: &str) -> Result<KeyOf, E> {
                Ok(KeyOf(key_of(k.as_bytes())))
            }
        }
        d.deserialize_identifier(KeyVisitor)
    }
}

/// A key of a user object: only `id` matters there.
struct IdKey(bool);

impl<'de> Deserialize<'de> for IdKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = IdKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E: de::Error>(self, k: &str) -> Result<IdKey, E> {
                Ok(IdKey(k == "id"))
            }
        }
        d.deserialize_identifier(V)
    }
}

/// A string field, borrowed when it has no escapes. Integers are kept as
/// their decimal text (an id written as a number); other values are
/// skipped and read as absent.
struct Text<'a> {
    value: Option<Cow<'a, str>>,
    /// The value was a JSON string (an envelope's `type` must be).
    was_string: bool,
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor(std::marker::PhantomData))
    }
}

struct TextVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
    type Value = Text<'a>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Text {
            value: Some(Cow::Borrowed(v)),
            was_string: true,
        })
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Text {
            value: Some(Cow::Owned(v.to_owned())),
            was_string: true,
        })
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Text {
            value: Some(Cow::Owned(v)),
            was_string: true,
        })
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Text {
            value: Some(Cow::Owned(v.to_string())),
            was_string: false,
        })
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Text {
            value: Some(Cow::Owned(v.to_string())),
            was_string: false,
        })
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Text {
            value: None,
            was_string: false,
        })
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Text {
            value: None,
            was_string: false,
        })
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Text {
            value: None,
            was_string: false,
        })
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Text {
            value: None,
            was_string: false,
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Text {
            value: None,
            was_string: false,
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Text {
            value: None,
            was_string: false,
        })
    }
}

/// A user reference: an object with an `id`, or an id string.
struct UserRef<'a> {
    id: Option<Cow<'a, str>>,
    is_object: bool,
}

impl<'de: 'a, 'a> Deserialize<'de> for UserRef<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct UserVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for UserVisitor<'a> {
            type Value = UserRef<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a user object or id")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut id = None;
                while let Some(IdKey(is_id)) = map.next_key::<IdKey>()? {
                    if is_id {
                        id = map.next_value::<Text<'a>>()?.value;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(UserRef {
                    id,
                    is_object: true,
                })
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(UserRef {
                    id: Some(Cow::Borrowed(v)),
                    is_object: false,
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(UserRef {
                    id: Some(Cow::Owned(v.to_owned())),
                    is_object: false,
                })
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(UserRef {
                    id: Some(Cow::Owned(v)),
                    is_object: false,
                })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                self.visit_string(v.to_string())
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                self.visit_string(v.to_string())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                self.visit_unit()
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                self.visit_unit()
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(UserRef {
                    id: None,
                    is_object: false,
                })
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                self.visit_unit()
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                self.visit_unit()
            }
        }
        d.deserialize_any(UserVisitor(std::marker::PhantomData))
    }
}
