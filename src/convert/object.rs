//! One JSON object at a time: its top-level fields in order, each value
//! kept as its exact bytes, and a writer that builds import objects from
//! them. Values are never re-encoded (numbers keep their digits, strings
//! their escapes); keys and new strings are written by serde_json, so no
//! value can change the structure of the output.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// A top-level field's key: borrowed unless it had escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// An object's fields in order; a duplicated key keeps its last value (as
/// `serde_json::Value` does), null values are left out (import schemas
/// type their fields, and an export's null means "not set").
pub(crate) struct Object<'a> {
    pub(crate) fields: Vec<(Cow<'a, str>, &'a RawValue)>,
}

impl<'de> serde::Deserialize<'de> for Object<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Object<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Object<'de>, M::Error> {
                let mut fields: Vec<(Cow<'de, str>, &'de RawValue)> = Vec::new();
                while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
                    let v: &'de RawValue = map.next_value()?;
                    fields.push((k, v));
                }
                // Duplicated keys are rare: look for them once, sorted,
                // rather than per key.
                let mut keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_ref()).collect();
                keys.sort_unstable();
                if keys.windows(2).any(|w| w[0] == w[1]) {
                    let mut kept: Vec<(Cow<'de, str>, &'de RawValue)> = Vec::new();
                    for (k, v) in fields {
                        kept.retain(|(old, _)| *old != k);
                        kept.push((k, v));
                    }
                    fields = kept;
                }
                fields.retain(|(_, v)| v.get() != "null");
                Ok(Object { fields })
            }
        }
        d.deserialize_map(V)
    }
}

impl<'a> Object<'a> {
    /// Parses `bytes` as one object.
    pub(crate) fn parse(bytes: &'a [u8]) -> serde_json::Result<Object<'a>> {
        serde_json::from_slice(bytes)
    }

    /// A field's raw value.
    pub(crate) fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// A string field, decoded (`None`: absent or not a string).
    pub(crate) fn str(&self, key: &str) -> Option<Cow<'a, str>> {
        self.get(key).and_then(as_str)
    }

    /// Removes a field, returning its value.
    pub(crate) fn take(&mut self, key: &str) -> Option<&'a RawValue> {
        let i = self.fields.iter().position(|(k, _)| k == key)?;
        Some(self.fields.remove(i).1)
    }

    /// Removes every field named in `keys`; returns how many there were.
    pub(crate) fn drop_all(&mut self, keys: &[&str]) -> usize {
        let before = self.fields.len();
        self.fields.retain(|(k, _)| !keys.contains(&k.as_ref()));
        before - self.fields.len()
    }

    /// Is the field present (and not null)?
    pub(crate) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

/// A raw value as a string, decoded once.
pub(crate) fn as_str(v: &RawValue) -> Option<Cow<'_, str>> {
    serde_json::from_str::<Cow<'_, str>>(v.get()).ok()
}

/// A raw value as a boolean.
pub(crate) fn as_bool(v: &RawValue) -> Option<bool> {
    serde_json::from_str(v.get()).ok()
}

/// The `id` of a user object, or the string itself when the reference is
/// already an id.
pub(crate) fn id_of(v: &RawValue) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct WithId<'a> {
        #[serde(borrow)]
        id: Option<Cow<'a, str>>,
    }
    let text = v.get();
    if text.starts_with('"') {
        return as_str(v).map(Cow::into_owned);
    }
    serde_json::from_str::<WithId<'_>>(text)
        .ok()?
        .id
        .map(Cow::into_owned)
}

/// The elements of an array value (nothing for another value).
pub(crate) fn elements(v: &RawValue) -> Vec<&RawValue> {
    serde_json::from_str::<Vec<&RawValue>>(v.get()).unwrap_or_default()
}

/// A value to write.
pub(crate) enum Value<'a> {
    /// Exact bytes from the input (minified).
    Raw(&'a RawValue),
    /// A string, written escaped.
    Str(Cow<'a, str>),
    /// An array of strings.
    Strs(Vec<String>),
}

/// Writes `{"type":T,"data":{...}}\n` with the fields in order.
pub(crate) fn write_item<'v, K: AsRef<str>>(
    out: &mut Vec<u8>,
    type_name: &str,
    fields: impl IntoIterator<Item = (K, Value<'v>)>,
) {
    out.extend_from_slice(b"{\"type\":");
    write_str(out, type_name);
    out.extend_from_slice(b",\"data\":{");
    let mut first = true;
    for (key, value) in fields {
        if !first {
            out.push(b',');
        }
        first = false;
        write_str(out, key.as_ref());
        out.push(b':');
        match value {
            Value::Raw(raw) => crate::output::minify(raw.get().as_bytes(), out),
            Value::Str(s) => write_str(out, &s),
            Value::Strs(list) => {
                out.push(b'[');
                for (i, s) in list.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_str(out, s);
                }
                out.push(b']');
            }
        }
    }
    out.extend_from_slice(b"}}\n");
}

/// A JSON string literal (serde_json's escaping: quotes, backslashes and
/// control characters, NUL included, are escaped).
fn write_str(out: &mut Vec<u8>, s: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_in_order_nulls_out_last_duplicate_wins() {
        let o = Object::parse(br#"{"a":1,"b":null,"c\u0041":"x","a":2}"#).unwrap();
        let keys: Vec<&str> = o.fields.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(keys, ["cA", "a"]);
        assert_eq!(o.get("a").unwrap().get(), "2");
        let mut out = Vec::new();
        write_item(
            &mut out,
            "x",
            [
                ("k\"", Value::Str("a\"\n\0".into())),
                ("r", Value::Raw(o.get("a").unwrap())),
            ],
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"type\":\"x\",\"data\":{\"k\\\"\":\"a\\\"\\n\\u0000\",\"r\":2}}\n"
        );
    }
}
