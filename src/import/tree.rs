//! An import item as a borrowed JSON tree: strings point into the file
//! unless they hold escapes, an object is one sorted vector of its
//! members. Building a `serde_json::Value` for every item (a `String` per
//! key and value, a B-tree per object) was half of the validator's time.
//!
//! It reads as `serde_json::Value` does, which the validator's messages
//! depend on: an object's members in key order, a duplicated key keeps its
//! last value, numbers are serde_json's `Number`s.

use super::flat::Lookup;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};
use std::borrow::Cow;
use std::fmt;

/// A JSON value, borrowing its strings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    Str(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Obj<'a>),
}

/// An object's members, sorted by key, each key once.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Obj<'a>(Vec<(Cow<'a, str>, Json<'a>)>);

impl<'a> Obj<'a> {
    /// A member's value. A scan, not a binary search: an item has a
    /// dozen members, and comparing lengths first spares most of the
    /// string comparisons that ordering them would need.
    pub(crate) fn get(&self, key: &str) -> Option<&Json<'a>> {
        self.0
            .iter()
            .find(|(k, _)| k.len() == key.len() && k == key)
            .map(|(_, v)| v)
    }

    /// The members, in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &Json<'a>)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }

    /// How many members.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The keys, in order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_ref())
    }
}

impl<'a> Json<'a> {
    /// A string's text.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    /// An object's members.
    pub(crate) fn as_object(&self) -> Option<&Obj<'a>> {
        match self {
            Json::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The same value as a `serde_json::Value` (the tests' oracle).
    #[cfg(test)]
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Number(n.clone()),
            Json::Str(s) => Value::String(s.to_string()),
            Json::Array(a) => Value::Array(a.iter().map(Json::to_value).collect()),
            Json::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| (k.to_string(), v.to_value()))
                    .collect(),
            ),
        }
    }

    /// The value, owning its strings.
    pub(crate) fn into_owned(self) -> Json<'static> {
        match self {
            Json::Null => Json::Null,
            Json::Bool(b) => Json::Bool(b),
            Json::Number(n) => Json::Number(n),
            Json::Str(s) => Json::Str(Cow::Owned(s.into_owned())),
            Json::Array(a) => Json::Array(a.into_iter().map(Json::into_owned).collect()),
            Json::Object(o) => Json::Object(Obj(o
                .0
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k.into_owned()), v.into_owned()))
                .collect())),
        }
    }

    /// Equal to a `serde_json::Value` (a schema's `enum` or `const`)?
    pub(crate) fn equals(&self, other: &Value) -> bool {
        match (self, other) {
            (Json::Null, Value::Null) => true,
            (Json::Bool(a), Value::Bool(b)) => a == b,
            (Json::Number(a), Value::Number(b)) => a == b,
            (Json::Str(a), Value::String(b)) => a == b,
            (Json::Array(a), Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.equals(y))
            }
            (Json::Object(a), Value::Object(b)) => {
                a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| v.equals(w)))
            }
            _ => false,
        }
    }
}

impl Lookup for Obj<'_> {
    fn text(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Json::as_str)
    }

    fn strings(&self, key: &str) -> Vec<String> {
        match self.get(key) {
            Some(Json::Array(a)) => a
                .iter()
                .filter_map(Json::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Json<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Json<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Json<'a>, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Json<'a>, E> {
                Ok(Json::Bool(b))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Json<'a>, E> {
                Ok(Json::Number(n.into()))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Json<'a>, E> {
                Ok(Json::Number(n.into()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Json<'a>, E> {
                // As serde_json's Value: a float that is not finite is null.
                Ok(Number::from_f64(n).map_or(Json::Null, Json::Number))
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Json<'a>, E> {
                Ok(Json::Str(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Json<'a>, E> {
                Ok(Json::Str(Cow::Owned(s.to_string())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Json<'a>, E> {
                Ok(Json::Str(Cow::Owned(s)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'a>, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element()? {
                    out.push(v);
                }
                Ok(Json::Array(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'a>, A::Error> {
                let mut members: Vec<(Cow<'a, str>, Json<'a>)> = Vec::new();
                while let Some(key) = map.next_key::<Key<'a>>()? {
                    members.push((key.0, map.next_value()?));
                }
                // Key order, a duplicated key's last value kept (the sort
                // is stable: equal keys stay in file order).
                members.sort_by(|a, b| a.0.cmp(&b.0));
                let mut kept: Vec<(Cow<'a, str>, Json<'a>)> = Vec::with_capacity(members.len());
                for m in members {
                    match kept.last_mut() {
                        Some(last) if last.0 == m.0 => *last = m,
                        _ => kept.push(m),
                    }
                }
                Ok(Json::Object(Obj(kept)))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// An object key, borrowed unless it holds escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Key<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'a>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'a>, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree and `serde_json::Value` agree on every value, duplicated
    /// keys, escapes and number kinds included.
    #[test]
    fn reads_as_serde_json_value_does() {
        for text in [
            r#"{"b":1,"a":[true,null,-2,3.5,"x\"y"],"a":{"z":"\u00e9","y":[]},"c":18446744073709551615}"#,
            r#"[1e300, -0, 0.1, "", {"":{}}]"#,
            r#""plain""#,
            "null",
        ] {
            let want: Value = serde_json::from_str(text).unwrap();
            let got: Json<'_> = serde_json::from_str(text).unwrap();
            assert_eq!(got.to_value(), want, "{text}");
            assert!(got.equals(&want), "{text}");
            assert_eq!(got.clone().into_owned(), got);
            if let (Some(o), Value::Object(m)) = (got.as_object(), &want) {
                let keys: Vec<&str> = o.keys().collect();
                let want_keys: Vec<&str> = m.keys().map(String::as_str).collect();
                assert_eq!(keys, want_keys);
                assert_eq!(o.get("b"), Some(&Json::Number(1.into())));
                assert!(o.get("nope").is_none());
            }
        }
        let got: Json<'_> = serde_json::from_str(r#"{"k":"v","e":"\n"}"#).unwrap();
        let o = got.as_object().unwrap();
        assert!(matches!(o.get("k"), Some(Json::Str(Cow::Borrowed("v")))));
        assert!(matches!(o.get("e"), Some(Json::Str(Cow::Owned(_)))));
        assert!(!got.equals(&serde_json::json!({"k":"v"})));
    }
}
