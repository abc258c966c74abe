//! One JSON object at a time: its top-level fields in order, each value
//! kept as its exact bytes, and a writer that builds import objects from
//! them. Values are never re-encoded (numbers keep their digits, strings
//! their escapes); keys and new strings are written by serde_json, so no
//! value can change the structure of the output.

pub(crate) use crate::project::object::{Object, Raw, as_bool, as_str, elements, id_of};
use std::borrow::Cow;

/// A value to write.
pub(crate) enum Value<'a> {
    /// Exact bytes from the input (minified).
    Raw(Raw<'a>),
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
        let o = Object::parse(r#"{"a":1,"b":null,"c\u0041":"x","a":2}"#).unwrap();
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
