//! The message fields statistics need beyond the entity's typed accessors,
//! pulled in one projection pass; arrays and the `reaction_counts` object
//! are looked into only when they are not empty.

use crate::project::{Projection, Value};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::BTreeMap;

const EDITED: usize = 0;
const PINNED: usize = 1;
const SHADOWED: usize = 2;
const SILENT: usize = 3;
const DELETED_AT: usize = 4;
const ATTACHMENTS: usize = 5;
const MENTIONED: usize = 6;
const MENTIONED_IDS: usize = 7;
const REACTION_COUNTS: usize = 8;
const REPLY_COUNT: usize = 9;

/// The compiled projection.
pub(crate) fn projection() -> Projection {
    // Field names are fixed and valid: compiling cannot fail.
    Projection::new(&[
        "message_text_updated_at",
        "pinned",
        "shadowed",
        "silent",
        "deleted_at",
        "attachments",
        "mentioned_users",
        "mentioned_users_ids",
        "reaction_counts",
        "reply_count",
    ])
    .expect("fixed field names are valid")
}

/// What one message adds.
#[derive(Debug, Default)]
pub(crate) struct MessageFields {
    pub edited: bool,
    pub pinned: bool,
    pub shadowed: bool,
    pub silent: bool,
    pub deleted_at: bool,
    /// Attachment types, `unknown` for one without a `type`.
    pub attachments: Vec<String>,
    pub mentions: u64,
    /// `reaction_counts`, type → n.
    pub reaction_counts: Vec<(String, u64)>,
    pub reply_count: u64,
}

#[derive(Deserialize)]
struct Attachment<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
}

fn present(v: Option<Value<'_>>) -> bool {
    v.is_some_and(|v| !v.is_null())
}

fn truthy(v: Option<Value<'_>>) -> bool {
    v.and_then(|v| v.as_bool()).unwrap_or(false)
}

/// An array's or object's text when it has content (`[]`, `{}`, `null`
/// and other types give `None`).
fn nonempty<'a>(v: Option<Value<'a>>) -> Option<&'a str> {
    let raw = v?.raw();
    let inner = raw.get(1..raw.len().saturating_sub(1))?;
    let starts = raw.starts_with('[') || raw.starts_with('{');
    (starts && !inner.trim().is_empty()).then_some(raw)
}

fn array_len(v: Option<Value<'_>>) -> u64 {
    nonempty(v)
        .filter(|r| r.starts_with('['))
        .and_then(|r| serde_json::from_str::<Vec<serde::de::IgnoredAny>>(r).ok())
        .map_or(0, |a| a.len() as u64)
}

/// Reads the fields of one message's JSON. The entity was validated by the
/// decoder; should the projection still fail, the message counts with no
/// extras rather than stopping the run.
pub(crate) fn read(projection: &Projection, json: &str) -> MessageFields {
    let Ok(v) = projection.extract(json) else {
        return MessageFields::default();
    };
    let mut out = MessageFields {
        edited: present(v.get(EDITED)),
        pinned: truthy(v.get(PINNED)),
        shadowed: truthy(v.get(SHADOWED)),
        silent: truthy(v.get(SILENT)),
        deleted_at: present(v.get(DELETED_AT)),
        ..MessageFields::default()
    };
    if let Some(raw) = nonempty(v.get(ATTACHMENTS)).filter(|r| r.starts_with('['))
        && let Ok(list) = serde_json::from_str::<Vec<&RawValue>>(raw)
    {
        // Each element on its own: one odd attachment (not an object, a
        // type that is not a string) is `unknown`, not the end of the list.
        out.attachments = list
            .into_iter()
            .map(|a| {
                serde_json::from_str::<Attachment<'_>>(a.get())
                    .ok()
                    .and_then(|a| a.kind)
                    .filter(|k| !k.is_empty())
                    .map_or_else(|| "unknown".to_string(), Cow::into_owned)
            })
            .collect();
    }
    out.mentions = match array_len(v.get(MENTIONED)) {
        0 => array_len(v.get(MENTIONED_IDS)),
        n => n,
    };
    if let Some(raw) = nonempty(v.get(REACTION_COUNTS)).filter(|r| r.starts_with('{'))
        && let Ok(map) = serde_json::from_str::<BTreeMap<String, serde_json::Value>>(raw)
    {
        // A count that is not a non-negative integer is not a count.
        out.reaction_counts = map
            .into_iter()
            .filter_map(|(k, v)| Some((k, v.as_u64().filter(|n| *n > 0)?)))
            .collect();
    }
    out.reply_count = v
        .get(REPLY_COUNT)
        .and_then(|v| v.as_i64())
        .map_or(0, |n| n.max(0) as u64);
    out
}
