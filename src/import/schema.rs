//! The official import JSON Schemas (`schemas/`, from GetStream/protocol),
//! evaluated by a small interpreter of exactly the keywords they use.
//!
//! Why not a JSON Schema crate: the schemas use a dozen keywords, and the
//! messages must name the item and field the way the rest of the validator
//! does (`message.parent_id required when message.type is "reply"`). A
//! keyword the interpreter does not know is refused when the schemas are
//! loaded (a unit test loads them), so a schema update cannot be silently
//! half-enforced.

use super::tree::{Json, Obj};
use serde_json::Value;

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

/// The loaded schemas, each compiled into a tree of [`Node`]s.
#[derive(Debug)]
pub(crate) struct Schemas {
    by_id: crate::hash::Map<&'static str, Node>,
}

/// One schema object with its keywords read out once: evaluating the
/// raw `Value` looked up every keyword by name in every value of every
/// item, a third of the validator's time.
#[derive(Debug, Default)]
struct Node {
    reference: Option<String>,
    /// `type`, as written (for the message), and the types it allows.
    ty: Option<(Value, u8)>,
    options: Option<Vec<Value>>,
    constant: Option<Value>,
    max_length: Option<u64>,
    min_length: Option<u64>,
    pattern: Option<String>,
    format: Option<Format>,
    max_items: Option<u64>,
    min_items: Option<u64>,
    items: Option<Box<Node>>,
    required: Vec<String>,
    /// `properties`, in key order, and their lookup by key (the Fx hash:
    /// the keys are the schema's, and SipHash showed in profiles).
    properties: Vec<(String, Node)>,
    property_index: crate::hash::Map<String, usize>,
    additional: Additional,
    any_of: Option<(Vec<Node>, AnyOfWords)>,
    all_of: Vec<Node>,
    not: Option<(Box<Node>, Value)>,
    /// `if`, its `then` and `else`, and the condition in words.
    condition: Option<Condition>,
}

#[derive(Debug)]
struct Condition {
    test: Box<Node>,
    then: Option<Box<Node>>,
    otherwise: Option<Box<Node>>,
    /// The condition's fields and the constant each must equal (`None`:
    /// set), for `describe_condition`.
    words: Vec<(String, Option<Value>)>,
}

/// `anyOf` in words: the first required field of each branch, when every
/// branch names one (the schemas' "exactly one of two fields").
#[derive(Debug)]
struct AnyOfWords(Option<Vec<String>>);

#[derive(Debug, Clone, Copy)]
enum Format {
    DateTime,
    Uri,
}

#[derive(Debug, Default)]
enum Additional {
    #[default]
    Allowed,
    Forbidden,
    Schema(Box<Node>),
}

const STRING: u8 = 1;
const BOOLEAN: u8 = 2;
const OBJECT: u8 = 4;
const ARRAY: u8 = 8;
const NULL: u8 = 16;
const NUMBER: u8 = 32;
const INTEGER: u8 = 64;

impl Node {
    fn compile(schema: &Value) -> Node {
        let Some(s) = schema.as_object() else {
            return Node::default();
        };
        let boxed = |key: &str| s.get(key).map(|v| Box::new(Node::compile(v)));
        let number = |key: &str| s.get(key).and_then(Value::as_u64);
        let properties: Vec<(String, Node)> = s
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), Node::compile(v)))
            .collect();
        let property_index = properties
            .iter()
            .enumerate()
            .map(|(i, (k, _))| (k.clone(), i))
            .collect();
        Node {
            reference: s.get("$ref").and_then(Value::as_str).map(str::to_string),
            ty: s.get("type").map(|t| (t.clone(), type_mask(t))),
            options: s.get("enum").and_then(Value::as_array).cloned(),
            constant: s.get("const").cloned(),
            max_length: number("maxLength"),
            min_length: number("minLength"),
            pattern: s.get("pattern").and_then(Value::as_str).map(str::to_string),
            format: match s.get("format").and_then(Value::as_str) {
                Some("date-time") => Some(Format::DateTime),
                Some("uri") => Some(Format::Uri),
                _ => None,
            },
            max_items: number("maxItems"),
            min_items: number("minItems"),
            items: boxed("items"),
            required: s
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            properties,
            property_index,
            additional: match s.get("additionalProperties") {
                Some(Value::Bool(false)) => Additional::Forbidden,
                Some(sub @ Value::Object(_)) => Additional::Schema(Box::new(Node::compile(sub))),
                _ => Additional::Allowed,
            },
            any_of: s.get("anyOf").and_then(Value::as_array).map(|branches| {
                (
                    branches.iter().map(Node::compile).collect(),
                    any_of_words(branches),
                )
            }),
            all_of: s
                .get("allOf")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(Node::compile)
                .collect(),
            not: s
                .get("not")
                .map(|v| (Box::new(Node::compile(v)), v.clone())),
            condition: s.get("if").map(|cond| Condition {
                test: Box::new(Node::compile(cond)),
                then: boxed("then"),
                otherwise: boxed("else"),
                words: cond
                    .get("properties")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .map(|(key, sub)| (key.clone(), sub.get("const").cloned()))
                    .collect(),
            }),
        }
    }

    fn property(&self, key: &str) -> Option<&Node> {
        self.property_index.get(key).map(|&i| &self.properties[i].1)
    }
}

/// Where problems go: collected as messages, or (a branch tried by
/// `anyOf`, `not` or `if`) only noted, never formatted.
enum Sink<'o> {
    Collect(&'o mut Vec<String>),
    Fail(bool),
}

impl Sink<'_> {
    #[inline]
    fn push(&mut self, message: impl FnOnce() -> String) {
        match self {
            Sink::Collect(out) => out.push(message()),
            Sink::Fail(failed) => *failed = true,
        }
    }
}

impl Schemas {
    /// Loads the schemas; `lighter_channel_ids` widens the channel id
    /// pattern to `^[\w!-]*$` (stream-cli's `LighterValidationChannelID`),
    /// which lets exported distinct-channel ids (`!members-…`) through.
    pub(crate) fn load(lighter_channel_ids: bool) -> Result<Schemas, String> {
        let mut by_id = crate::hash::Map::default();
        for (id, text) in FILES {
            let mut schema: Value = serde_json::from_str(text).map_err(|e| format!("{id}: {e}"))?;
            check_keywords(&schema, id)?;
            if lighter_channel_ids && *id == "channel.schema.json" {
                schema["properties"]["id"]["pattern"] = Value::from(r"^[\w!-]*$");
            }
            by_id.insert(*id, Node::compile(&schema));
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
    pub(crate) fn check(&self, id: &str, value: &Json<'_>, path: &str, out: &mut Vec<String>) {
        self.check_at(id, value, &FieldPath::Root(path), &mut Sink::Collect(out));
    }

    fn check_at(&self, id: &str, value: &Json<'_>, path: &FieldPath<'_>, out: &mut Sink<'_>) {
        if let Some(schema) = self.by_id.get(id) {
            self.eval(schema, value, path, out);
        }
    }

    fn eval(&self, s: &Node, value: &Json<'_>, path: &FieldPath<'_>, out: &mut Sink<'_>) {
        if let Some(r) = &s.reference {
            self.check_at(r, value, path, out);
        }
        if let Some((t, mask)) = &s.ty
            && value_type(value) & mask == 0
        {
            out.push(|| format!("{path} must be {}", type_words(t)));
            // Nothing else can be said of a value of the wrong type.
            return;
        }
        if let Some(options) = &s.options
            && !options.iter().any(|o| value.equals(o))
        {
            out.push(|| format!("{path} must be one of {}", list(options)));
        }
        if let Some(c) = &s.constant
            && !value.equals(c)
        {
            out.push(|| format!("{path} must be {c}"));
        }
        match value {
            Json::Str(text) => self.eval_string(s, text, path, out),
            Json::Array(items) => self.eval_array(s, items, path, out),
            Json::Object(object) => self.eval_object(s, object, path, out),
            _ => {}
        }
        if let Some((branches, words)) = &s.any_of
            && !branches.iter().any(|b| self.passes(b, value, path))
        {
            out.push(|| describe_any_of(words, path));
        }
        for sub in &s.all_of {
            self.eval(sub, value, path, out);
        }
        if let Some((not, raw)) = &s.not
            && self.passes(not, value, path)
        {
            out.push(|| format!("{path} must not match {raw}"));
        }
        if let Some(cond) = &s.condition {
            let holds = self.passes(&cond.test, value, path);
            let (branch, word) = if holds {
                (&cond.then, "when")
            } else {
                (&cond.otherwise, "unless")
            };
            if let Some(branch) = branch {
                match out {
                    Sink::Collect(out) => {
                        let mut inner = Vec::new();
                        self.eval(branch, value, path, &mut Sink::Collect(&mut inner));
                        let reason = describe_condition(&cond.words, path);
                        out.extend(inner.into_iter().map(|m| format!("{m} {word} {reason}")));
                    }
                    Sink::Fail(_) => self.eval(branch, value, path, out),
                }
            }
        }
    }

    fn passes(&self, schema: &Node, value: &Json<'_>, path: &FieldPath<'_>) -> bool {
        let mut sink = Sink::Fail(false);
        self.eval(schema, value, path, &mut sink);
        matches!(sink, Sink::Fail(false))
    }

    fn eval_string(&self, s: &Node, text: &str, path: &FieldPath<'_>, out: &mut Sink<'_>) {
        // JSON Schema counts lengths in code points.
        let chars = || text.chars().count();
        if let Some(max) = s.max_length
            && chars() as u64 > max
        {
            out.push(|| format!("{path} max length exceeded ({max})"));
        }
        if let Some(min) = s.min_length
            && (chars() as u64) < min
        {
            out.push(|| format!("{path} must be at least {min} characters long"));
        }
        if let Some(p) = &s.pattern
            && !super::pattern::matches(p, text)
        {
            // The pattern as the schema writes it, as stream-cli printed it.
            out.push(|| format!("{path} {} invalid (\"{p}\" allowed)", quote(text)));
        }
        match s.format {
            Some(Format::DateTime) if !super::pattern::is_rfc3339(text) => {
                out.push(|| format!("{path} {} is not an RFC 3339 date-time", quote(text)));
            }
            Some(Format::Uri) if !super::pattern::is_uri(text) => {
                out.push(|| format!("{path} {} is not a URI", quote(text)));
            }
            _ => {}
        }
    }

    fn eval_array(&self, s: &Node, items: &[Json<'_>], path: &FieldPath<'_>, out: &mut Sink<'_>) {
        if let Some(max) = s.max_items
            && items.len() as u64 > max
        {
            out.push(|| format!("{path} has {} items, at most {max} allowed", items.len()));
        }
        if let Some(min) = s.min_items
            && (items.len() as u64) < min
        {
            out.push(|| format!("{path} needs at least {min} item(s)"));
        }
        if let Some(each) = &s.items {
            for (i, item) in items.iter().enumerate() {
                self.eval(each, item, &FieldPath::Index(path, i), out);
            }
        }
    }

    fn eval_object(&self, s: &Node, object: &Obj<'_>, path: &FieldPath<'_>, out: &mut Sink<'_>) {
        for key in &s.required {
            if object.get(key).is_none() {
                out.push(|| format!("{path}.{key} required"));
            }
        }
        // The smaller side drives the lookups: an item has a few of the
        // dozens of fields its schema lists, and an `if` names one field
        // of an item's dozen. Both are in key order, so problems come in
        // the same order either way.
        if s.properties.len() <= object.len() {
            for (key, sub) in &s.properties {
                if let Some(v) = object.get(key) {
                    self.eval(sub, v, &FieldPath::Key(path, key), out);
                }
            }
        } else {
            for (key, v) in object.iter() {
                if let Some(sub) = s.property(key) {
                    self.eval(sub, v, &FieldPath::Key(path, key), out);
                }
            }
        }
        match &s.additional {
            Additional::Forbidden => {
                for key in object.keys() {
                    if s.property(key).is_none() {
                        out.push(|| {
                            format!(
                                "{} is not allowed (the schema allows only its listed fields)",
                                FieldPath::Key(path, key)
                            )
                        });
                    }
                }
            }
            Additional::Schema(sub) => {
                for (key, v) in object.iter() {
                    if s.property(key).is_none() {
                        self.eval(sub, v, &FieldPath::Key(path, key), out);
                    }
                }
            }
            Additional::Allowed => {}
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

/// The types a `type` keyword allows, as a mask.
fn type_mask(t: &Value) -> u8 {
    let one = |name: &str| match name {
        "string" => STRING,
        "boolean" => BOOLEAN,
        "object" => OBJECT,
        "array" => ARRAY,
        "null" => NULL,
        "number" => NUMBER | INTEGER,
        "integer" => INTEGER,
        _ => 0,
    };
    match t {
        Value::String(name) => one(name),
        Value::Array(names) => names
            .iter()
            .filter_map(Value::as_str)
            .map(one)
            .fold(0, |m, b| m | b),
        _ => u8::MAX,
    }
}

/// A value's type as a mask bit (an integer is also a number).
fn value_type(value: &Json<'_>) -> u8 {
    match value {
        Json::Str(_) => STRING,
        Json::Bool(_) => BOOLEAN,
        Json::Object(_) => OBJECT,
        Json::Array(_) => ARRAY,
        Json::Null => NULL,
        Json::Number(n) if n.is_i64() || n.is_u64() => INTEGER,
        Json::Number(_) => NUMBER,
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
fn any_of_words(branches: &[Value]) -> AnyOfWords {
    let firsts: Vec<String> = branches
        .iter()
        .filter_map(|b| b.get("required")?.get(0)?.as_str())
        .map(str::to_string)
        .collect();
    AnyOfWords((firsts.len() == branches.len() && firsts.len() >= 2).then_some(firsts))
}

fn describe_any_of(words: &AnyOfWords, path: &FieldPath<'_>) -> String {
    match &words.0 {
        Some(firsts) => {
            let names: Vec<String> = firsts.iter().map(|f| format!("{path}.{f}")).collect();
            format!("exactly one of {} required", names.join(" or "))
        }
        None => format!("{path} matches none of the allowed shapes"),
    }
}

/// An `if` schema in words: `message.type is "reply"`,
/// `message.deleted_at is set`.
fn describe_condition(words: &[(String, Option<Value>)], path: &FieldPath<'_>) -> String {
    let parts: Vec<String> = words
        .iter()
        .map(|(key, constant)| match constant {
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
        let text = value.to_string();
        let value: Json<'_> = serde_json::from_str(&text).unwrap();
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
