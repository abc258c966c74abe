//! The message fields statistics need beyond the entity's typed accessors,
//! pulled in one projection pass; arrays and the `reaction_counts` object
//! are looked into only when they are not empty.

use crate::model::entity::Entity;
use crate::project::Projection;
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

/// The fields, in slot order: the decoder records their places in its own
/// pass ([`crate::engine::Job::prefetch_fields`]); the projection reads
/// them for entities it did not.
pub(crate) const FIELDS: &[&str] = &[
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
];

/// The compiled projection.
pub(crate) fn projection() -> Projection {
    // Field names are fixed and valid: compiling cannot fail.
    Projection::new(FIELDS).expect("fixed field names are valid")
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

fn present(v: Option<&str>) -> bool {
    v.is_some_and(|v| v != "null")
}

fn truthy(v: Option<&str>) -> bool {
    v == Some("true")
}

/// An array's or object's text when it has content (`[]`, `{}`, `null`
/// and other types give `None`).
fn nonempty(raw: Option<&str>) -> Option<&str> {
    let raw = raw?;
    let inner = raw.get(1..raw.len().saturating_sub(1))?;
    let starts = raw.starts_with('[') || raw.starts_with('{');
    (starts && !inner.trim().is_empty()).then_some(raw)
}

fn array_len(v: Option<&str>) -> u64 {
    nonempty(v)
        .filter(|r| r.starts_with('['))
        .and_then(|r| serde_json::from_str::<Vec<serde::de::IgnoredAny>>(r).ok())
        .map_or(0, |a| a.len() as u64)
}

/// Reads the fields of one message: from the places the decoder recorded,
/// else with the projection. The entity was validated by the decoder;
/// should the projection still fail, the message counts with no extras
/// rather than stopping the run.
pub(crate) fn read(projection: &Projection, e: &Entity<'_>) -> MessageFields {
    let mut raw: [Option<&str>; 10] = [None; 10];
    let projected;
    if e.extra(0).is_some() {
        for (i, slot) in raw.iter_mut().enumerate() {
            *slot = e.extra(i).flatten();
        }
    } else {
        let Ok(v) = projection.extract(e.raw_str()) else {
            return MessageFields::default();
        };
        projected = v;
        for (i, slot) in raw.iter_mut().enumerate() {
            *slot = projected.get(i).map(|v| v.raw());
        }
    }
    let mut out = MessageFields {
        edited: present(raw[EDITED]),
        pinned: truthy(raw[PINNED]),
        shadowed: truthy(raw[SHADOWED]),
        silent: truthy(raw[SILENT]),
        deleted_at: present(raw[DELETED_AT]),
        ..MessageFields::default()
    };
    if let Some(list) = nonempty(raw[ATTACHMENTS]).filter(|r| r.starts_with('['))
        && let Ok(list) = serde_json::from_str::<Vec<&RawValue>>(list)
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
    out.mentions = match array_len(raw[MENTIONED]) {
        0 => array_len(raw[MENTIONED_IDS]),
        n => n,
    };
    if let Some(counts) = nonempty(raw[REACTION_COUNTS]).filter(|r| r.starts_with('{'))
        && let Ok(map) = serde_json::from_str::<BTreeMap<String, serde_json::Value>>(counts)
    {
        // A count that is not a non-negative integer is not a count.
        out.reaction_counts = map
            .into_iter()
            .filter_map(|(k, v)| Some((k, v.as_u64().filter(|n| *n > 0)?)))
            .collect();
    }
    // An integer, as `Value::as_i64` reads it (a fraction or an exponent
    // is not a count).
    out.reply_count = raw[REPLY_COUNT]
        .and_then(|v| v.parse::<i64>().ok())
        .map_or(0, |n| n.max(0) as u64);
    out
}
