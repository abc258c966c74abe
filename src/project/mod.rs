//! Projections: a set of fields compiled once and extracted from an
//! entity's JSON in one pass.
//!
//! A [`Projection`] is built from field names — top-level keys (`text`) and
//! dotted paths into nested objects (`user.id`, `channel.type`). Its
//! [`extract`](Projection::extract) walks one JSON object once, validating
//! it, and records where each field's value is; nested values nobody asked
//! for are skipped without being parsed into a tree. Each [`Value`] borrows
//! its raw JSON from the input, and a string's text borrows too when it has
//! no escapes.
//!
//! Duplicate keys resolve as in `serde_json::Value`: the last occurrence
//! wins, including for paths through it (`{"user":{"id":"a"},"user":{}}`
//! has no `user.id`). A path through a value that is not an object finds
//! nothing.
//!
//! # Cost
//!
//! Extraction allocates nothing when given a reused [`Values`]
//! ([`Projection::extract_into`]); only [`Value::as_str`] on a string with
//! escapes builds an owned copy. Key matching compares lengths first, so
//! keys of no interest cost one compare per field of their object level.
//!
//! ```
//! use stream_chat_export::Projection;
//!
//! let fields = Projection::new(&["id", "user.id", "text", "missing"])?;
//! let message = r#"{"id":"m1","user":{"id":"ann","name":"A"},"text":"caf\u00e9","n":[1,{"x":2}]}"#;
//! let values = fields.extract(message)?;
//! assert_eq!(values.get(0).unwrap().raw(), r#""m1""#);
//! assert_eq!(values.get(1).unwrap().as_str().as_deref(), Some("ann"));
//! assert_eq!(values.get(2).unwrap().as_str().as_deref(), Some("café"));
//! assert!(values.get(3).is_none());
//! # Ok::<(), stream_chat_export::Error>(())
//! ```

pub(crate) mod object;
pub(crate) mod scan;

use crate::error::{Error, ErrorKind, Result};
use scan::Scanner;
pub use scan::ValueKind;
use std::borrow::Cow;

/// A compiled set of fields to extract from JSON objects.
///
/// Build it once and use it for every entity: compiling splits the paths
/// and builds the lookup tree, extraction only walks the bytes.
#[derive(Debug, Clone)]
pub struct Projection {
    fields: Vec<Box<str>>,
    /// The lookup tree; `nodes[0]` is the top-level object.
    nodes: Vec<Node>,
}

/// One object level of the lookup tree: the keys wanted there.
#[derive(Debug, Clone, Default)]
struct Node {
    children: Vec<Child>,
    /// The fields that end at this node (more than one when a field is
    /// asked for twice).
    slots: Vec<usize>,
    /// Every slot at or below this node: a new occurrence of its key
    /// clears them all, so the last occurrence wins.
    subtree: Vec<usize>,
}

#[derive(Debug, Clone)]
struct Child {
    key: Box<[u8]>,
    node: usize,
}

impl Node {
    #[inline]
    fn child(&self, key: &[u8]) -> Option<usize> {
        self.children
            .iter()
            .find(|c| c.key.len() == key.len() && *c.key == *key)
            .map(|c| c.node)
    }
}

impl Projection {
    /// Compiles `fields`: each a top-level key or a dotted path into nested
    /// objects. A key that itself contains a dot cannot be named this way
    /// (see [`Projection::from_paths`]).
    ///
    /// Fails (a [`Usage`](ErrorKind::Usage) error) on an empty field name
    /// or an empty path segment (`user.`, `a..b`).
    pub fn new<S: AsRef<str>>(fields: &[S]) -> Result<Projection> {
        let paths: Vec<Vec<&str>> = fields
            .iter()
            .map(|f| f.as_ref().split('.').collect())
            .collect();
        let mut p = Projection::from_paths(&paths)?;
        p.fields = fields.iter().map(|f| f.as_ref().into()).collect();
        Ok(p)
    }

    /// Compiles fields given as paths of keys, for keys that contain dots
    /// (`[["a.b"]]` is the top-level key `a.b`). Fields are named by their
    /// segments joined with dots.
    ///
    /// ```
    /// use stream_chat_export::Projection;
    /// let p = Projection::from_paths(&[["a.b"].as_slice(), &["user", "id"]])?;
    /// let values = p.extract(r#"{"a.b":1,"user":{"id":2}}"#)?;
    /// assert_eq!(values.get(0).unwrap().raw(), "1");
    /// assert_eq!(values.get(1).unwrap().raw(), "2");
    /// # Ok::<(), stream_chat_export::Error>(())
    /// ```
    pub fn from_paths<P: AsRef<[S]>, S: AsRef<str>>(paths: &[P]) -> Result<Projection> {
        let mut nodes = vec![Node::default()];
        let mut fields = Vec::with_capacity(paths.len());
        for (slot, path) in paths.iter().enumerate() {
            let path = path.as_ref();
            if path.is_empty() || path.iter().any(|s| s.as_ref().is_empty()) {
                let name: Vec<&str> = path.iter().map(AsRef::as_ref).collect();
                return Err(Error::new(ErrorKind::Usage(format!(
                    "invalid field {:?}: empty key",
                    name.join(".")
                ))));
            }
            let mut at = 0;
            nodes[0].subtree.push(slot);
            for segment in path {
                let key = segment.as_ref().as_bytes();
                at = match nodes[at].child(key) {
                    Some(next) => next,
                    None => {
                        nodes.push(Node::default());
                        let next = nodes.len() - 1;
                        nodes[at].children.push(Child {
                            key: key.into(),
                            node: next,
                        });
                        next
                    }
                };
                nodes[at].subtree.push(slot);
            }
            nodes[at].slots.push(slot);
            let name: Vec<&str> = path.iter().map(AsRef::as_ref).collect();
            fields.push(name.join(".").into());
        }
        Ok(Projection { fields, nodes })
    }

    /// How many fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The fields' names, in order (slot `i` is field `i`).
    pub fn fields(&self) -> impl ExactSizeIterator<Item = &str> {
        self.fields.iter().map(|f| &**f)
    }

    /// Extracts every field from the JSON object `json` in one pass.
    ///
    /// Fails when `json` is not valid JSON (bad grammar, a lone surrogate
    /// escape, nesting deeper than 127, as the decoder and
    /// `serde_json::Value` reject them) or is not an object. A number
    /// beyond `f64` (`1e400`) is valid JSON and passes, as in the decoder. The
    /// error's position is the byte offset in `json`.
    pub fn extract<'a>(&self, json: &'a str) -> Result<Values<'a>> {
        let mut values = Values::new();
        self.extract_into(json, &mut values)?;
        Ok(values)
    }

    /// [`Projection::extract`] into `values`, reusing its buffer: no
    /// allocation once the buffer has grown to the projection's size. Use
    /// [`Values::recycle`] to carry a buffer from one input's lifetime to
    /// the next. On error `values` holds no fields.
    ///
    /// ```
    /// use stream_chat_export::{Projection, Values};
    /// let p = Projection::new(&["type"])?;
    /// let mut values = Values::new();
    /// for line in [r#"{"type":"a"}"#, r#"{"type":"b","type":"c"}"#] {
    ///     p.extract_into(line, &mut values)?;
    ///     println!("{:?}", values.get(0).and_then(|v| v.as_str()));
    /// }
    /// assert_eq!(values.get(0).unwrap().as_str().as_deref(), Some("c"));
    /// # Ok::<(), stream_chat_export::Error>(())
    /// ```
    pub fn extract_into<'a>(&self, json: &'a str, values: &mut Values<'a>) -> Result<()> {
        values.json = json;
        values.spans.clear();
        values.spans.resize(self.fields.len(), None);
        let result = self.walk(json, &mut values.spans);
        if result.is_err() {
            values.spans.iter_mut().for_each(|s| *s = None);
        }
        result
    }

    fn walk(&self, json: &str, spans: &mut [Option<Span>]) -> Result<()> {
        let mut s = Scanner::new(json);
        s.ws();
        if s.peek() != Some(b'{') {
            // Tell invalid JSON from a valid non-object, as the decoder does.
            s.value(0)?;
            s.end()?;
            return Err(Error::new(ErrorKind::NotAnObject));
        }
        self.object(&mut s, 0, 1, spans)?;
        s.end()
    }

    /// The object opening at `s.pos`, at nesting depth `depth`, whose wanted
    /// keys `nodes[node]` lists. Recurses only along wanted paths (as deep
    /// as the longest path); everything else is skipped iteratively.
    fn object(
        &self,
        s: &mut Scanner<'_>,
        node: usize,
        depth: usize,
        spans: &mut [Option<Span>],
    ) -> Result<()> {
        if depth > scan::MAX_DEPTH {
            return Err(s.error(ErrorKind::TooDeep {
                max: scan::MAX_DEPTH,
            }));
        }
        let here = &self.nodes[node];
        s.pos += 1;
        s.ws();
        if s.peek() == Some(b'}') {
            s.pos += 1;
            return Ok(());
        }
        loop {
            let (key, key_escaped) = s.key()?;
            let wanted = if here.children.is_empty() {
                None
            } else {
                key_node(here, key, key_escaped)
            };
            match wanted {
                None => {
                    s.value(depth)?;
                }
                Some(child) => {
                    let child_node = &self.nodes[child];
                    for &slot in &child_node.subtree {
                        spans[slot] = None;
                    }
                    let start = s.pos;
                    let (kind, escaped) =
                        if !child_node.children.is_empty() && s.peek() == Some(b'{') {
                            self.object(s, child, depth + 1, spans)?;
                            (ValueKind::Object, false)
                        } else {
                            s.value(depth)?
                        };
                    for &slot in &child_node.slots {
                        spans[slot] = Some(Span {
                            start,
                            end: s.pos,
                            kind,
                            escaped,
                        });
                    }
                }
            }
            s.ws();
            match s.peek() {
                Some(b',') => s.pos += 1,
                Some(b'}') => {
                    s.pos += 1;
                    return Ok(());
                }
                _ => return Err(s.syntax("expected ',' or '}'")),
            }
        }
    }
}

/// The wanted child of `node` named by `key` (a key's contents), decoding
/// it only when it holds escapes.
#[inline]
fn key_node(node: &Node, key: &[u8], escaped: bool) -> Option<usize> {
    if !escaped {
        return node.child(key);
    }
    let text = std::str::from_utf8(key).ok()?;
    node.child(scan::unescape(text).as_bytes())
}

/// Where a value sits in the text, and what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
    kind: ValueKind,
    escaped: bool,
}

/// The values of one extraction, slot `i` for field `i` of the
/// [`Projection`]; each borrows from the JSON text.
#[derive(Debug, Clone, Default)]
pub struct Values<'a> {
    json: &'a str,
    spans: Vec<Option<Span>>,
}

impl<'a> Values<'a> {
    /// An empty buffer for [`Projection::extract_into`].
    pub fn new() -> Values<'a> {
        Values {
            json: "",
            spans: Vec::new(),
        }
    }

    /// The same buffer, emptied, for an input of another lifetime (a
    /// stream's next record): keeps the allocation.
    pub fn recycle<'b>(self) -> Values<'b> {
        let mut spans = self.spans;
        spans.clear();
        Values { json: "", spans }
    }

    /// How many slots (the projection's field count).
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there are no slots.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Field `i`'s value; `None` when the field is missing (or `i` is out
    /// of range). A JSON `null` is present: see [`Value::is_null`].
    pub fn get(&self, i: usize) -> Option<Value<'a>> {
        let span = (*self.spans.get(i)?)?;
        Some(Value {
            raw: self.json.get(span.start..span.end)?,
            kind: span.kind,
            escaped: span.escaped,
        })
    }

    /// Every slot in field order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Option<Value<'a>>> + '_ {
        (0..self.spans.len()).map(|i| self.get(i))
    }
}

/// One extracted value: its exact JSON text and its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Value<'a> {
    raw: &'a str,
    kind: ValueKind,
    escaped: bool,
}

impl<'a> Value<'a> {
    /// The value's JSON text exactly as written (a string with its quotes
    /// and escapes, an object with its insides).
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// The value's JSON type.
    pub fn kind(&self) -> ValueKind {
        self.kind
    }

    /// A string's text with escapes decoded: borrowed when it has none.
    /// `None` for other types.
    pub fn as_str(&self) -> Option<Cow<'a, str>> {
        if self.kind != ValueKind::String {
            return None;
        }
        let inner = self.raw.get(1..self.raw.len().saturating_sub(1))?;
        Some(if self.escaped {
            Cow::Owned(scan::unescape(inner))
        } else {
            Cow::Borrowed(inner)
        })
    }

    /// Whether the value is `null`.
    pub fn is_null(&self) -> bool {
        self.kind == ValueKind::Null
    }

    /// Whether the value is a string.
    pub fn is_string(&self) -> bool {
        self.kind == ValueKind::String
    }

    /// Whether the value is a number.
    pub fn is_number(&self) -> bool {
        self.kind == ValueKind::Number
    }

    /// A boolean's value.
    pub fn as_bool(&self) -> Option<bool> {
        match (self.kind, self.raw) {
            (ValueKind::Bool, "true") => Some(true),
            (ValueKind::Bool, _) => Some(false),
            _ => None,
        }
    }

    /// A number's value as `i64`, when it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        (self.kind == ValueKind::Number)
            .then(|| self.raw.parse().ok())
            .flatten()
    }

    /// A number's value as `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        (self.kind == ValueKind::Number)
            .then(|| self.raw.parse().ok())
            .flatten()
    }
}

/// The raw text of the top-level field `key` of the JSON object `json`
/// (the last occurrence), without compiling a [`Projection`].
pub(crate) fn top_level<'a>(json: &'a str, key: &str) -> Result<Option<&'a str>> {
    let mut found = None;
    scan::each_member(json, |k, escaped, value| {
        let inner = &json[k];
        let matches = if escaped {
            scan::unescape(inner) == key
        } else {
            inner == key
        };
        if matches {
            found = Some(value);
        }
    })?;
    Ok(found.and_then(|r| json.get(r)))
}

#[cfg(test)]
mod tests;
