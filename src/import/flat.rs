//! Pass 2's view of an item: only its top-level strings and string lists,
//! the fields references are made of. Parsing into it skips every other
//! value without building it, which costs a fraction of a
//! `serde_json::Value` (pass 1 already checked the rest).

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// The top-level string fields and string-list fields of an object.
#[derive(Default)]
pub(crate) struct Flat<'a> {
    fields: Vec<(Cow<'a, str>, Leaf<'a>)>,
}

/// A top-level value as pass 2 sees it.
enum Leaf<'a> {
    Str(Cow<'a, str>),
    /// The string elements of an array (other elements left out).
    Strs(Vec<Cow<'a, str>>),
    /// Any other value (not a reference).
    Other,
}

/// Field lookups shared by the checks, on a parsed item (pass 1, a
/// borrowed tree) or a [`Flat`] view (pass 2).
pub(crate) trait Lookup {
    /// A string field (`None`: absent, null or not a string).
    fn text(&self, key: &str) -> Option<&str>;
    /// The strings of an array field (other elements skipped).
    fn strings(&self, key: &str) -> Vec<String>;
}

impl Lookup for Flat<'_> {
    /// The last occurrence of a key wins, as in `serde_json::Value`.
    fn text(&self, key: &str) -> Option<&str> {
        match self.fields.iter().rev().find(|(k, _)| k == key)?.1 {
            Leaf::Str(ref s) => Some(s),
            _ => None,
        }
    }

    fn strings(&self, key: &str) -> Vec<String> {
        match self.fields.iter().rev().find(|(k, _)| k == key) {
            Some((_, Leaf::Strs(list))) => list.iter().map(|s| s.to_string()).collect(),
            _ => Vec::new(),
        }
    }
}

/// A key or string value: borrowed unless it had escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> serde::Deserialize<'de> for Leaf<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Leaf<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Leaf<'de>, E> {
                Ok(Leaf::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Leaf<'de>, E> {
                Ok(Leaf::Str(Cow::Owned(v.to_string())))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Leaf<'de>, E> {
                Ok(Leaf::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Leaf<'de>, E> {
                Ok(Leaf::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Leaf<'de>, E> {
                Ok(Leaf::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Leaf<'de>, E> {
                Ok(Leaf::Other)
            }
            fn visit_unit<E>(self) -> Result<Leaf<'de>, E> {
                Ok(Leaf::Other)
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Leaf<'de>, M::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Leaf::Other)
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Leaf<'de>, S::Error> {
                let mut out = Vec::new();
                while let Some(element) = seq.next_element::<Element<'de>>()? {
                    if let Element(Some(s)) = element {
                        out.push(s);
                    }
                }
                Ok(Leaf::Strs(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// An array element: its string, if it is one.
struct Element<'a>(Option<Cow<'a, str>>);

impl<'de> serde::Deserialize<'de> for Element<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Leaf::deserialize(d)? {
            Leaf::Str(s) => Element(Some(s)),
            _ => Element(None),
        })
    }
}

impl<'de> serde::Deserialize<'de> for Flat<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Flat<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Flat<'de>, M::Error> {
                let mut fields = Vec::new();
                while let Some(Text(k)) = map.next_key::<Text<'de>>()? {
                    fields.push((k, map.next_value::<Leaf<'de>>()?));
                }
                Ok(Flat { fields })
            }
        }
        d.deserialize_map(V)
    }
}

/// An item's envelope, with its payload unparsed.
#[derive(serde::Deserialize)]
pub(crate) struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    pub(crate) type_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(crate) data: Option<&'a RawValue>,
    #[serde(borrow)]
    pub(crate) item: Option<&'a RawValue>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_lists_only() {
        let f: Flat<'_> = serde_json::from_str(
            r#"{"a":"x","b":["y",1,{"z":[2]},"w\u0041"],"c":{"d":"e"},"a":"last","n":null}"#,
        )
        .unwrap();
        assert_eq!(f.text("a"), Some("last"));
        assert_eq!(f.strings("b"), ["y", "wA"]);
        assert_eq!(f.text("c"), None);
        assert_eq!(f.text("n"), None);
        assert!(f.strings("a").is_empty());
    }
}
