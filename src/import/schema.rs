//! The official import JSON Schemas (`schemas/`, from GetStream/protocol),
//! evaluated by a small interpreter of exactly the keywords they use.
//!
//! Why not a JSON Schema crate: the schemas use a dozen keywords, and the
//! messages must name the item and field the way the rest of the validator
//! does (`message.parent_id required when message.type is "reply"`). A
//! keyword the interpreter does not know is refused when the schemas are
//! loaded (a unit test loads them), so a schema update cannot be silently
//! half-enforced.

use serde_json::{Map, Value};
use std::collections::HashMap;

/// The schema files, by `$id`. `item.schema.json` is not among them: the
/// envelope is checked by the validator, which dispatches on `type`.
const FILES: &[(&str, &str)] = &[
    (
        "attachment.schema.json",
        include_str!("schemas/attachment.schema.json"),
    ),
    (
        "channel.schema.json",
        include_str!("schemas/channel.schema.json"),
    ),
    (
        "channel_member.schema.json",
        include_str!("schemas/channel_member.schema.json"),
    ),
    (
        "device.schema.json",
        include_str!("schemas/device.schema.json"),
    ),
    (
        "future_channel_ban.schema.json",
        include_str!("schemas/future_channel_ban.schema.json"),
    ),
    (
        "message.schema.json",
        include_str!("schemas/message.schema.json"),
    ),
    (
        "reaction.schema.json",
        include_str!("schemas/reaction.schema.json"),
    ),
    ("user.schema.json", include_str!("schemas/user.schema.json")),
];

/// The keywords the interpreter evaluates or knowingly ignores
/// (annotations).
const KNOWN: &[&str] = &[
    "$schema",
    "$id",
    "$ref",
    "description",
    "default",
    "type",
    "enum",
    "const",
    "pattern",
    "maxLength",
    "minLength",
    "format",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "anyOf",
    "allOf",
    "not",
    "if",
    "then",
    "else",
];

/// Where a value sits in an item (`message.attachments[2].type`), built
/// on the stack as the evaluation descends and printed only for a
/// problem: most values have none, and formatting every path would cost
/// more than checking the value.
#[derive(Clone, Copy)]
pub(crate) enum FieldPath<'a> {
    /// The item's type name.
    Root(&'a str),
    /// A key of an object.
    Key(&'a FieldPath<'a>, &'a str),
    /// An element of an array.
    Index(&'a FieldPath<'a>, usize),
}

impl std::fmt::Display for FieldPath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldPath::Root(name) => f.write_str(name),
            FieldPath::Key(parent, key) => write!(f, "{parent}.{}", quote_key(key)),
            FieldPath::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// The loaded schemas.
#[derive(Debug)]
pub(crate) struct Schemas {
    by_id: HashMap<&'static str, Value>,
}

impl Schemas {
    /// Loads the schemas; `lighter_channel_ids` widens the channel id
    /// pattern to `^[\w!-]*$` (stream-cli's `LighterValidationChannelID`),
    /// which lets exported distinct-channel ids (`!members-…`) through.
    pub(crate) fn load(lighter_channel_ids: bool) -> Result<Schemas, String> {
        let mut by_id = HashMap::new();
        for (id, text) in FILES {
            let mut schema: Value = serde_json::from_str(text).map_err(|e| format!("{id}: {e}"))?;
            check_keywords(&schema, id)?;
            if lighter_channel_ids && *id == "channel.schema.json" {
                schema["properties"]["id"]["pattern"] = Value::from(r"^[\w!-]*$");
            }
            by_id.insert(*id, schema);
        }
        Ok(Schemas { by_id })
    }

    /// The schema for an item type as written in a file (`member` and
    /// `channel_member` are one).
    pub(crate) fn for_type(type_name: &str) -> Option<&'static str> {
        Some(match type_name {
            "user" => "user.schema.json",
            "device" => "device.schema.json",
            "future_channel_ban" => "future_channel_ban.schema.json",
            "channel" => "channel.schema.json",
            "member" | "channel_member" => "channel_member.schema.json",
            "message" => "message.schema.json",
            "reaction" => "reaction.schema.json",
            _ => return None,
        })
    }

    /// Checks `value` against the schema `id`, naming fields from `path`
    /// (`message`, `message.attachments[2]`); every violation is pushed.
    pub(crate) fn check(&self, id: &str, value: &Value, path: &str, out: &mut Vec<String>) {
        self.check_at(id, value, &FieldPath::Root(path), out);
    }

    fn check_at(&self, id: &str, value: &Value, path: &FieldPath<'_>, out: &mut Vec<String>) {
        if let Some(schema) = self.by_id.get(id) {
            self.eval(schema, value, path, out);
        }
    }

    fn eval(&self, schema: &Value, value: &Value, path: &FieldPath<'_>, out: &mut Vec<String>) {
        let Some(s) = schema.as_object() else {
            return;
        };
        if let Some(Value::String(r)) = s.get("$ref") {
            self.check_at(r, value, path, out);
        }
        if let Some(t) = s.get("type")
            && !type_matches(t, value)
        {
            out.push(format!("{path} must be {}", type_words(t)));
            // Nothing else can be said of a value of the wrong type.
            return;
        }
        if let Some(Value::Array(options)) = s.get("enum")
            && !options.contains(value)
        {
            out.push(format!("{path} must be one of {}", list(options)));
        }
        if let Some(c) = s.get("const")
            && c != value
        {
            out.push(format!("{path} must be {c}"));
        }
        if let Value::String(text) = value {
            self.eval_string(s, text, path, out);
        }
        if let Value::Array(items) = value {
            self.eval_array(s, items, path, out);
        }
        if let Value::Object(object) = value {
            self.eval_object(s, object, path, out);
        }
        if let Some(Value::Array(branches)) = s.get("anyOf")
            && !branches.iter().any(|b| self.passes(b, value, path))
        {
            out.push(describe_any_of(branches, path));
        }
        if let Some(Value::Array(all)) = s.get("allOf") {
            for sub in all {
                self.eval(sub, value, path, out);
            }
        }
        if let Some(not) = s.get("not")
            && self.passes(not, value, path)
        {
            out.push(format!("{path} must not match {not}"));
        }
        if let Some(cond) = s.get("if") {
            let holds = self.passes(cond, value, path);
            let (branch, word) = if holds {
                (s.get("then"), "when")
            } else {
                (s.get("else"), "unless")
            };
            if let Some(branch) = branch {
                let mut inner = Vec::new();
                self.eval(branch, value, path, &mut inner);
                let reason = describe_condition(cond, path);
                out.extend(inner.into_iter().map(|m| format!("{m} {word} {reason}")));
            }
        }
    }

    fn passes(&self, schema: &Value, value: &Value, path: &FieldPath<'_>) -> bool {
        let mut scratch = Vec::new();
        self.eval(schema, value, path, &mut scratch);
        scratch.is_empty()
    }

    fn eval_string(
        &self,
        s: &Map<String, Value>,
        text: &str,
        path: &FieldPath<'_>,
        out: &mut Vec<String>,
    ) {
        // JSON Schema counts lengths in code points.
        let chars = || text.chars().count();
        if let Some(max) = s.get("maxLength").and_then(Value::as_u64)
            && chars() as u64 > max
        {
            out.push(format!("{path} max length exceeded ({max})"));
        }
        if let Some(min) = s.get("minLength").and_then(Value::as_u64)
            && (chars() as u64) < min
        {
            out.push(format!("{path} must be at least {min} characters long"));
        }
        if let Some(Value::String(p)) = s.get("pattern")
            && !super::pattern::matches(p, text)
        {
            // The pattern as the schema writes it, as stream-cli printed it.
            out.push(format!("{path} {} invalid (\"{p}\" allowed)", quote(text)));
        }
        match s.get("format").and_then(Value::as_str) {
            Some("date-time") if !super::pattern::is_rfc3339(text) => {
                out.push(format!(
                    "{path} {} is not an RFC 3339 date-time",
                    quote(text)
                ));
            }
            Some("uri") if !super::pattern::is_uri(text) => {
                out.push(format!("{path} {} is not a URI", quote(text)));
            }
            _ => {}
        }
    }

    fn eval_array(
        &self,
        s: &Map<String, Value>,
        items: &[Value],
        path: &FieldPath<'_>,
        out: &mut Vec<String>,
    ) {
        if let Some(max) = s.get("maxItems").and_then(Value::as_u64)
            && items.len() as u64 > max
        {
            out.push(format!(
                "{path} has {} items, at most {max} allowed",
                items.len()
            ));
        }
        if let Some(min) = s.get("minItems").and_then(Value::as_u64)
            && (items.len() as u64) < min
        {
            out.push(format!("{path} needs at least {min} item(s)"));
        }
        if let Some(each) = s.get("items") {
            for (i, item) in items.iter().enumerate() {
                self.eval(each, item, &FieldPath::Index(path, i), out);
            }
        }
    }

    fn eval_object(
        &self,
        s: &Map<String, Value>,
        object: &Map<String, Value>,
        path: &FieldPath<'_>,
        out: &mut Vec<String>,
    ) {
        if let Some(Value::Array(required)) = s.get("required") {
            for key in required.iter().filter_map(Value::as_str) {
                if !object.contains_key(key) {
                    out.push(format!("{path}.{key} required"));
                }
            }
        }
        let properties = s.get("properties").and_then(Value::as_object);
        if let Some(properties) = properties {
            for (key, sub) in properties {
                if let Some(v) = object.get(key) {
                    self.eval(sub, v, &FieldPath::Key(path, key), out);
                }
            }
        }
        match s.get("additionalProperties") {
            Some(Value::Bool(false)) => {
                for key in object.keys() {
                    if !properties.is_some_and(|p| p.contains_key(key)) {
                        out.push(format!(
                            "{} is not allowed (the schema allows only its listed fields)",
                            FieldPath::Key(path, key)
                        ));
                    }
                }
            }
            Some(sub @ Value::Object(_)) => {
                for (key, v) in object {
                    if !properties.is_some_and(|p| p.contains_key(key)) {
                        self.eval(sub, v, &FieldPath::Key(path, key), out);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Refuses a schema with a keyword the interpreter does not evaluate.
fn check_keywords(schema: &Value, id: &str) -> Result<(), String> {
    let Some(s) = schema.as_object() else {
        return Ok(());
    };
    for (key, value) in s {
        if !KNOWN.contains(&key.as_str()) {
            return Err(format!("{id}: unsupported keyword {key}"));
        }
        match key.as_str() {
            "properties" => {
                for sub in value.as_object().into_iter().flat_map(|m| m.values()) {
                    check_keywords(sub, id)?;
                }
            }
            "anyOf" | "allOf" => {
                for sub in value.as_array().into_iter().flatten() {
                    check_keywords(sub, id)?;
                }
            }
            "items" | "not" | "if" | "then" | "else" | "additionalProperties" => {
                check_keywords(value, id)?;
            }
            "pattern" => {
                let p = value.as_str().unwrap_or("");
                if !super::pattern::supported(p) {
                    return Err(format!("{id}: unsupported pattern {p}"));
                }
            }
            "format" if !matches!(value.as_str(), Some("date-time" | "uri")) => {
                return Err(format!("{id}: unsupported format {value}"));
            }
            _ => {}
        }
    }
    Ok(())
}

fn type_matches(t: &Value, value: &Value) -> bool {
    match t {
        Value::String(name) => one_type_matches(name, value),
        Value::Array(names) => names
            .iter()
            .filter_map(Value::as_str)
            .any(|n| one_type_matches(n, value)),
        _ => true,
    }
}

fn one_type_matches(name: &str, value: &Value) -> bool {
    match name {
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "null" => value.is_null(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        _ => false,
    }
}

fn type_words(t: &Value) -> String {
    let word = |n: &str| match n {
        "object" | "array" | "integer" => format!("an {n}"),
        "null" => "null".to_string(),
        other => format!("a {other}"),
    };
    match t {
        Value::String(n) => word(n),
        Value::Array(ns) => ns
            .iter()
            .filter_map(Value::as_str)
            .map(word)
            .collect::<Vec<_>>()
            .join(" or "),
        other => other.to_string(),
    }
}

fn list(options: &[Value]) -> String {
    options
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A string as a JSON literal: whatever it holds, it stays one token of
/// the message (quotes, newlines and control characters escaped).
pub(crate) fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

/// A key in a field path: bare when it is a plain word, quoted otherwise.
fn quote_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        key.to_string()
    } else {
        quote(key)
    }
}

/// The schemas' `anyOf` are all "exactly one of two fields":
/// `[{required:[a], not:{required:[b]}}, {required:[b], not:{required:[a]}}]`.
fn describe_any_of(branches: &[Value], path: &FieldPath<'_>) -> String {
    let firsts: Vec<&str> = branches
        .iter()
        .filter_map(|b| b.get("required")?.get(0)?.as_str())
        .collect();
    if firsts.len() == branches.len() && firsts.len() >= 2 {
        let names: Vec<String> = firsts.iter().map(|f| format!("{path}.{f}")).collect();
        format!("exactly one of {} required", names.join(" or "))
    } else {
        format!("{path} matches none of the allowed shapes")
    }
}

/// An `if` schema in words: `message.type is "reply"`,
/// `message.deleted_at is set`.
fn describe_condition(cond: &Value, path: &FieldPath<'_>) -> String {
    let parts: Vec<String> = cond
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(key, sub)| match sub.get("const") {
            Some(c) => format!("{path}.{key} is {c}"),
            None => format!("{path}.{key} is set"),
        })
        .collect();
    if parts.is_empty() {
        "the schema's condition holds".to_string()
    } else {
        parts.join(" and ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(id: &str, value: Value) -> Vec<String> {
        let schemas = Schemas::load(false).unwrap();
        let mut out = Vec::new();
        schemas.check(id, &value, "x", &mut out);
        out
    }

    #[test]
    fn every_schema_loads() {
        Schemas::load(false).unwrap();
        Schemas::load(true).unwrap();
    }

    #[test]
    fn keywords() {
        let p = problems("reaction.schema.json", json!({"type": 1}));
        assert!(p.contains(&"x.message_id required".to_string()), "{p:?}");
        assert!(p.contains(&"x.type must be a string".to_string()), "{p:?}");
        let p = problems(
            "message.schema.json",
            json!({"id":"", "channel_type":"t", "channel_id":"c", "user":"u", "type":"reply"}),
        );
        assert!(p.contains(&"x.id must be at least 1 characters long".to_string()));
        assert!(
            p.contains(&r#"x.parent_id required when x.type is "reply""#.to_string()),
            "{p:?}"
        );
        let p = problems(
            "channel_member.schema.json",
            json!({"user_id":"u", "channel_type":"t", "channel_id":"c", "invite_accepted_at":"2020-01-01T00:00:00Z"}),
        );
        assert_eq!(
            p,
            ["x.invite_accepted_at must be null unless x.invited is true"]
        );
    }
}
