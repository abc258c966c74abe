//! One JSON object at a time: its top-level fields in order, each value
//! kept as its exact bytes (`Raw`), split in one validating pass by the
//! projection's scanner. Values are never re-encoded: a converter copies
//! what it keeps as it was, and reads the few values it needs through the
//! helpers here.

use crate::error::Error;
use crate::hash::Fx;
use crate::project::scan::{Scanner, each_member, unescape};
use std::borrow::Cow;
use std::hash::{BuildHasher, BuildHasherDefault};

/// A value's exact JSON text: found by the scanner, which validated it,
/// or written by serde_json.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Raw<'a>(&'a str);

impl<'a> Raw<'a> {
    /// `json`, which must be one valid JSON value with no whitespace
    /// around it (the helpers below read it without validating again).
    pub(crate) fn trusted(json: &'a str) -> Raw<'a> {
        Raw(json)
    }

    /// Its text.
    pub(crate) fn get(self) -> &'a str {
        self.0
    }
}

/// An object's fields in order; a duplicated key keeps its last value (as
/// `serde_json::Value` does), null values are left out (import schemas
/// type their fields, and an export's null means "not set").
pub(crate) struct Object<'a> {
    pub(crate) fields: Vec<(Cow<'a, str>, Raw<'a>)>,
}

/// One member of an object.
pub(crate) struct Member<'a> {
    /// The key, its escapes decoded.
    pub(crate) key: Cow<'a, str>,
    /// The key as written: a valid JSON string, quotes included (the
    /// Parquet writer copies it).
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    pub(crate) quoted: &'a str,
    pub(crate) value: Raw<'a>,
}

/// The members of the object `text`, in order, every one (duplicated keys
/// and nulls too), validating it (the grammar, escapes and nesting depth,
/// as the decoder does) in one pass that keeps each value's bytes.
pub(crate) fn members<'a>(text: &'a str) -> Result<Vec<Member<'a>>, Error> {
    // An export's entity has a few dozen fields: one allocation, not one
    // per doubling.
    let mut fields: Vec<Member<'a>> = Vec::with_capacity(32);
    each_member(text, |k, escaped, value| {
        let quoted = &text[k.start - 1..k.end + 1];
        let key = &text[k];
        fields.push(Member {
            key: if escaped {
                Cow::Owned(unescape(key))
            } else {
                Cow::Borrowed(key)
            },
            quoted,
            value: Raw(&text[value]),
        });
    })?;
    Ok(fields)
}

impl<'a> Object<'a> {
    /// Parses `text` as one object (see [`members`]), the last of a
    /// duplicated key kept, nulls left out.
    pub(crate) fn parse(text: &'a str) -> Result<Object<'a>, Error> {
        let mut fields: Vec<(Cow<'a, str>, Raw<'a>)> = members(text)?
            .into_iter()
            .map(|m| (m.key, m.value))
            .collect();
        // Duplicated keys are rare: look for them once, rather than per
        // key.
        if has_duplicate_keys(fields.iter().map(|(k, _)| k.as_ref())) {
            let mut kept: Vec<(Cow<'a, str>, Raw<'a>)> = Vec::new();
            for (k, v) in fields {
                kept.retain(|(old, _)| *old != k);
                kept.push((k, v));
            }
            fields = kept;
        }
        fields.retain(|(_, v)| v.get() != "null");
        Ok(Object { fields })
    }

    /// A field's raw value.
    pub(crate) fn get(&self, key: &str) -> Option<Raw<'a>> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// A string field, decoded (`None`: absent or not a string).
    pub(crate) fn str(&self, key: &str) -> Option<Cow<'a, str>> {
        self.get(key).and_then(as_str)
    }

    /// Removes a field, returning its value.
    pub(crate) fn take(&mut self, key: &str) -> Option<Raw<'a>> {
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

/// Do two of `keys` match? One pass over a small table of key hashes
/// (an object is read per record, and sorting its keys showed in
/// profiles); only keys whose hashes meet are compared as text.
fn has_duplicate_keys<'k>(keys: impl ExactSizeIterator<Item = &'k str>) -> bool {
    const SLOTS: usize = 128;
    if keys.len() > SLOTS / 2 {
        let mut all: Vec<&str> = keys.collect();
        all.sort_unstable();
        return all.windows(2).any(|w| w[0] == w[1]);
    }
    // A slot holds a key's hash (never 0) and the key.
    let mut table: [(u64, &str); SLOTS] = [(0, ""); SLOTS];
    for key in keys {
        let hash = BuildHasherDefault::<Fx>::default().hash_one(key.as_bytes()) | 1;
        let mut slot = (hash >> 57) as usize;
        loop {
            match table[slot] {
                (0, _) => {
                    table[slot] = (hash, key);
                    break;
                }
                (h, k) if h == hash && k == key => return true,
                _ => slot = (slot + 1) % SLOTS,
            }
        }
    }
    false
}

/// A raw value as a string, decoded (`None` for another value).
pub(crate) fn as_str(v: Raw<'_>) -> Option<Cow<'_, str>> {
    let inner = v.get().strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        // Valid JSON (see `Raw::trusted`): its escapes decode.
        Some(Cow::Owned(unescape(inner)))
    } else {
        Some(Cow::Borrowed(inner))
    }
}

/// A raw value as a boolean.
pub(crate) fn as_bool(v: Raw<'_>) -> Option<bool> {
    match v.get() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// The `id` of a user object, or the string itself when the reference is
/// already an id.
pub(crate) fn id_of(v: Raw<'_>) -> Option<String> {
    if v.get().starts_with('"') {
        return as_str(v).map(Cow::into_owned);
    }
    let text = v.get();
    if !text.starts_with('{') {
        return None;
    }
    // A message embeds several user objects (`user`, `mentioned_users`,
    // `pinned_by`) and only their `id` is wanted: walk the members keeping
    // the last `id` (a duplicated key keeps its last value, as in
    // `Object::parse`), rather than collecting every field.
    let mut id = None;
    each_member(text, |k, escaped, value| {
        let key = &text[k];
        if key == "id" || (escaped && unescape(key) == "id") {
            id = Some(value);
        }
    })
    .ok()?;
    as_str(Raw(&text[id?])).map(Cow::into_owned)
}

/// The elements of an array value (nothing for another value).
pub(crate) fn elements(v: Raw<'_>) -> Vec<Raw<'_>> {
    let text = v.get();
    let mut out = Vec::new();
    if !text.starts_with('[') {
        return out;
    }
    let mut s = Scanner::new(text);
    s.pos = 1;
    loop {
        s.ws();
        if s.peek() == Some(b']') && out.is_empty() {
            return out;
        }
        let from = s.pos;
        if s.value(1).is_err() {
            return Vec::new();
        }
        out.push(Raw(&text[from..s.pos]));
        s.ws();
        match s.peek() {
            Some(b',') => s.pos += 1,
            Some(b']') => return out,
            _ => return Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_found_whatever_their_number() {
        for n in [0usize, 1, 2, 63, 64, 65, 200] {
            let keys: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
            let refs = || keys.iter().map(String::as_str);
            assert!(!has_duplicate_keys(refs()), "{n}");
            if n > 0 {
                let mut with = keys.clone();
                with.push(keys[n / 2].clone());
                assert!(has_duplicate_keys(with.iter().map(String::as_str)), "{n}");
            }
        }
        let o = Object::parse(r#"{"a":1,"b":2,"a":3}"#).unwrap();
        assert_eq!(o.fields.len(), 2);
        assert_eq!(o.get("a").unwrap().get(), "3");
    }

    #[test]
    fn parse_keeps_exact_values_and_refuses_what_serde_refuses() {
        let text = "{ \"a\" : [ 1 , {\"x\":\"\\u00e9\"} ] ,\"n\":1e400,\"s\":\"q\\\"\" }  ";
        let o = Object::parse(text).unwrap();
        assert_eq!(o.get("a").unwrap().get(), "[ 1 , {\"x\":\"\\u00e9\"} ]");
        assert_eq!(o.get("n").unwrap().get(), "1e400");
        assert_eq!(o.str("s").unwrap(), "q\"");
        let list = elements(o.get("a").unwrap());
        assert_eq!(list.len(), 2);
        assert_eq!(id_of(list[1]), None);
        assert_eq!(
            Object::parse(r#"{"x":"\u00e9"}"#)
                .unwrap()
                .str("x")
                .unwrap(),
            "\u{e9}"
        );
        assert!(elements(Raw::trusted("[ ]")).is_empty());
        assert_eq!(
            id_of(Raw::trusted(r#"{"id":"u1","id":"u2"}"#)).as_deref(),
            Some("u2")
        );
        for (user, id) in [
            (
                r#"{"name":"a","id":"u\u00e9","role":"user"}"#,
                Some("u\u{e9}"),
            ),
            (r#"{"\u0069d":"x"}"#, Some("x")),
            (r#"{"id":"u1","id":null}"#, None),
            (r#"{"id":5}"#, None),
            (r#"{"ids":"u1"}"#, None),
            (r#""u2""#, Some("u2")),
            ("7", None),
        ] {
            let want = serde_json::from_str::<serde_json::Value>(user).unwrap();
            let want = want.get("id").or(Some(&want)).and_then(|v| v.as_str());
            assert_eq!(want, id, "{user}");
            assert_eq!(id_of(Raw::trusted(user)).as_deref(), id, "{user}");
        }
        assert_eq!(as_bool(Raw::trusted("true")), Some(true));
        for bad in [
            "",
            "{",
            r#"{"a":1,}"#,
            r#"{"a":1} x"#,
            r#"{"a":01}"#,
            r#"{"a":"\ud800"}"#,
            "{\"a\":\"\u{1}\"}",
        ] {
            assert!(Object::parse(bad).is_err(), "{bad:?}");
            assert!(
                serde_json::from_str::<serde_json::Value>(bad).is_err(),
                "{bad:?}"
            );
        }
        assert!(Object::parse("[]").is_err(), "not an object");
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert!(Object::parse(&deep).is_err());
    }
}
