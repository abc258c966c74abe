//! Export objects rewritten as import items, one at a time: references
//! become id strings, read-only fields go, custom fields stay, and the
//! import rules that an export can break (the iff-rules, one thread level,
//! references to what is not in the file) are repaired and counted.

use super::MemberItem;
use super::object::{Object, Raw, Value, as_bool, elements, id_of, write_item};
use super::tables::{ChannelEntry, Counts, Tables, bump};
use crate::import::pattern;
use std::borrow::Cow;

/// What rewriting produces besides lines: the users referenced (so they
/// are written before), and the counts of the summary.
#[derive(Default)]
pub(crate) struct Acc {
    pub(crate) buf: Vec<u8>,
    /// Reactions listed in messages (v1), kept apart: they are written
    /// after every message.
    pub(crate) listed: Vec<u8>,
    pub(crate) users: Vec<String>,
    pub(crate) adjusted: Counts,
    pub(crate) dropped: Counts,
}

/// Read-only user fields (server state, not importable).
const USER_READ_ONLY: &[&str] = &[
    "online",
    "last_active",
    "last_engaged_at",
    "total_unread_count",
    "unread_channels",
    "unread_count",
    "unread_threads",
    "channel_unread_count",
    "channel_last_read_at",
    "devices",
    "mutes",
];

/// Read-only channel fields, and those rewritten.
const CHANNEL_DROPPED: &[&str] = &[
    "cid",
    "config",
    "member_count",
    "last_message_at",
    "created_by",
    "created_by_id",
    "members",
    "messages",
    "read",
    "watchers",
    "watcher_count",
    "own_capabilities",
    "pinned_messages",
    "membership",
    "hidden",
    "truncated_by",
    "id",
    "type",
    "member_ids",
];

/// Member fields rewritten or read-only.
const MEMBER_DROPPED: &[&str] = &[
    "user",
    "user_id",
    "cid",
    "channel_cid",
    "channel_type",
    "channel_id",
    "channel_member_ids",
    "channel",
];

/// Message fields rewritten or read-only (aggregates, server state).
const MESSAGE_DROPPED: &[&str] = &[
    "id",
    "cid",
    "channel",
    "channel_type",
    "channel_id",
    "channel_member_ids",
    "user",
    "user_id",
    "mentioned_users",
    "quoted_message",
    "quoted_message_id",
    "pinned_by",
    "pinned_by_id",
    "pinned",
    "reply_count",
    "deleted_reply_count",
    "latest_reactions",
    "own_reactions",
    "reaction_counts",
    "reaction_scores",
    "reaction_groups",
    "shadowed",
    "thread_participants",
    "member_count",
    "config",
    "last_message_at",
    "i18n",
    "before_message_send_failed",
];

/// Reaction fields rewritten or read-only.
const REACTION_DROPPED: &[&str] = &[
    "message_id",
    "type",
    "user",
    "user_id",
    "created_at",
    "cid",
    "channel",
];

/// The fields device.schema.json allows (it forbids any other).
const DEVICE_FIELDS: &[&str] = &[
    "id",
    "user_id",
    "push_provider_type",
    "push_provider_name",
    "created_at",
];

/// The fields future_channel_ban.schema.json allows.
const BAN_FIELDS: &[&str] = &["target_id", "created_by", "reason", "shadow", "created_at"];

/// A user id as the import takes it (`^[@\w-]*$`, at most 255 bytes):
/// unchanged when valid; otherwise every other character becomes `_` and
/// a hash of the original is appended, so the mapping is the same in
/// every item, file and run (references stay consistent) and two ids
/// cannot meet.
pub(crate) fn user_id(id: &str) -> Cow<'_, str> {
    if id.len() <= 255 && pattern::matches(r"^[@\w-]*$", id) {
        return Cow::Borrowed(id);
    }
    Cow::Owned(sanitize(id, |c| c == '@', 255))
}

/// A channel id as the import takes it (`^[\w-]*$`, at most 64
/// characters), the same way as [`user_id`].
pub(crate) fn channel_id(id: &str) -> Cow<'_, str> {
    if id.chars().count() <= 64 && pattern::matches(r"^[\w-]*$", id) {
        return Cow::Borrowed(id);
    }
    Cow::Owned(sanitize(id, |_| false, 64))
}

fn sanitize(id: &str, extra: impl Fn(char) -> bool, max: usize) -> String {
    // FNV-1a: fixed, so the mapping never changes between runs.
    let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let mut out: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' || extra(c) {
                c
            } else {
                '_'
            }
        })
        .take(max - 17)
        .collect();
    out.push_str(&format!("-{hash:016x}"));
    out
}

/// The import ids of a user list.
fn user_ids<'a>(ids: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    ids.into_iter().map(|u| user_id(u).into_owned()).collect()
}

/// An object, parsed; a record with an escaped lone surrogate is parsed
/// from a repaired copy (`\ufffd`), kept in `repaired`.
fn parse<'a>(raw: &'a str, repaired: &'a mut Option<String>) -> Option<Object<'a>> {
    if let Ok(o) = Object::parse(raw) {
        return Some(o);
    }
    let bytes = crate::decode::surrogates::replace_lone_surrogates(raw.as_bytes())?;
    *repaired = String::from_utf8(bytes).ok();
    Object::parse(repaired.as_deref()?).ok()
}

type Fields<'a> = Vec<(Cow<'a, str>, Value<'a>)>;

fn push<'a>(fields: &mut Fields<'a>, key: &'static str, value: Value<'a>) {
    fields.push((Cow::Borrowed(key), value));
}

/// The remaining fields of `o`, raw.
fn rest<'a>(fields: &mut Fields<'a>, o: Object<'a>) {
    fields.extend(o.fields.into_iter().map(|(k, v)| (k, Value::Raw(v))));
}

/// The channel reference of a member or message.
fn channel_ref<'a>(fields: &mut Fields<'a>, ch: &'a ChannelEntry, members_key: &'static str) {
    push(fields, "channel_type", Value::Str(Cow::Borrowed(&ch.ty)));
    if ch.is_distinct() {
        push(fields, members_key, Value::Strs(user_ids(&ch.members)));
    } else {
        push(fields, "channel_id", Value::Str(channel_id(&ch.id)));
    }
}

/// A user object as an import user.
pub(crate) fn user(raw: &str, acc: &mut Acc) {
    let mut repaired = None;
    let Some(mut o) = parse(raw, &mut repaired) else {
        bump(&mut acc.dropped, "user objects that do not parse");
        return;
    };
    let Some(id) = o.str("id").map(Cow::into_owned) else {
        return;
    };
    if o.drop_all(USER_READ_ONLY) > 0 {
        bump(&mut acc.adjusted, "users: read-only fields dropped");
    }
    // A list of channel mutes as objects (an API response's shape) is not
    // the import's list of cids.
    if o.get("channel_mutes")
        .is_some_and(|v| !v.get().starts_with("[\"") && v.get() != "[]")
    {
        o.take("channel_mutes");
    }
    o.take("id");
    let import_id = user_id(&id);
    if import_id != id {
        bump(
            &mut acc.adjusted,
            "user ids the import pattern refuses: other characters as _, plus a hash of the id",
        );
    }
    // The schema closes these two objects: only its fields, no nulls.
    let mut settings = Vec::new();
    for (key, allowed) in [
        ("push_preferences", &["chat_level", "disabled_until"][..]),
        (
            "privacy_settings",
            &["typing_indicators", "read_receipts", "delivery_receipts"][..],
        ),
    ] {
        if let Some(v) = o.take(key) {
            match closed_object(v, allowed) {
                Some((clean, changed)) => {
                    if changed {
                        bump(
                            &mut acc.adjusted,
                            "users: push_preferences/privacy_settings fields the schema forbids dropped",
                        );
                    }
                    settings.push((key, clean));
                }
                None => bump(
                    &mut acc.adjusted,
                    "users: push_preferences/privacy_settings fields the schema forbids dropped",
                ),
            }
        }
    }
    let mut fields: Fields<'_> = Vec::new();
    push(&mut fields, "id", Value::Str(import_id));
    rest(&mut fields, o);
    for (key, clean) in &settings {
        push(&mut fields, key, Value::Raw(Raw::trusted(clean)));
    }
    write_item(&mut acc.buf, "user", fields);
}

/// An object with only the `allowed` keys and no nulls (a privacy
/// setting keeps only `{"enabled": bool}`); `None` when nothing is left.
/// The flag says whether anything was removed.
fn closed_object(v: Raw<'_>, allowed: &[&str]) -> Option<(String, bool)> {
    let serde_json::Value::Object(map) = serde_json::from_str(v.get()).ok()? else {
        return None;
    };
    let before = map.len();
    let mut changed = false;
    let kept: serde_json::Map<String, serde_json::Value> = map
        .into_iter()
        .filter(|(k, v)| allowed.contains(&k.as_str()) && !v.is_null())
        .filter_map(|(k, v)| match v {
            // A privacy setting is `{"enabled": bool}`.
            serde_json::Value::Object(inner) if k != "disabled_until" => {
                let enabled = inner.get("enabled").filter(|e| e.is_boolean())?.clone();
                changed |= inner.len() != 1;
                Some((k, serde_json::json!({ "enabled": enabled })))
            }
            other => Some((k, other)),
        })
        .collect();
    changed |= kept.len() != before;
    if kept.is_empty() {
        return None;
    }
    Some((serde_json::to_string(&kept).ok()?, changed))
}

/// A user known only by id.
pub(crate) fn bare_user(id: &str, acc: &mut Acc) {
    write_item(&mut acc.buf, "user", [("id", Value::Str(user_id(id)))]);
}

/// A member made up for a distinct channel without member records.
pub(crate) fn made_up_member(ch: &ChannelEntry, user: &str, item: MemberItem, acc: &mut Acc) {
    let mut fields: Fields<'_> = Vec::new();
    push(&mut fields, "user_id", Value::Str(user_id(user)));
    channel_ref(&mut fields, ch, "channel_member_ids");
    write_item(&mut acc.buf, item.type_name(), fields);
}

/// A channel as an import channel.
pub(crate) fn channel(ch: &ChannelEntry, creator: &str, acc: &mut Acc) {
    let mut repaired = None;
    let record = ch.record.as_deref().unwrap_or("{}");
    let mut o = parse(record, &mut repaired).unwrap_or(Object { fields: Vec::new() });
    o.drop_all(CHANNEL_DROPPED);
    let mut fields: Fields<'_> = Vec::new();
    if ch.is_distinct() {
        push(
            &mut fields,
            "member_ids",
            Value::Strs(user_ids(&ch.members)),
        );
    } else {
        let id = channel_id(&ch.id);
        if id != ch.id {
            bump(
                &mut acc.adjusted,
                "channel ids the import pattern refuses: other characters as _, plus a hash of the id",
            );
        }
        push(&mut fields, "id", Value::Str(id));
    }
    push(&mut fields, "type", Value::Str(Cow::Borrowed(&ch.ty)));
    push(&mut fields, "created_by", Value::Str(user_id(creator)));
    rest(&mut fields, o);
    write_item(&mut acc.buf, "channel", fields);
}

/// A member of `ch`; returns its user id.
pub(crate) fn member(
    raw: &str,
    ch: &ChannelEntry,
    item: MemberItem,
    acc: &mut Acc,
) -> Option<String> {
    let mut repaired = None;
    let mut o = parse(raw, &mut repaired)?;
    let user = o
        .str("user_id")
        .map(Cow::into_owned)
        .or_else(|| o.get("user").and_then(id_of))?;
    o.drop_all(MEMBER_DROPPED);
    if o.has("channel_role") {
        // `role` is the older name of the member's channel role.
        o.take("role");
    }
    let invited = o.get("invited").and_then(as_bool) == Some(true);
    if !invited && o.drop_all(&["invite_accepted_at", "invite_rejected_at"]) > 0 {
        bump(
            &mut acc.adjusted,
            "members: invite times without invited=true dropped",
        );
    }
    let mut fields: Fields<'_> = Vec::new();
    push(&mut fields, "user_id", Value::Str(user_id(&user)));
    channel_ref(&mut fields, ch, "channel_member_ids");
    rest(&mut fields, o);
    write_item(&mut acc.buf, item.type_name(), fields);
    acc.users.push(user.clone());
    Some(user)
}

/// A message of `ch`, and (`from_lists`) the reactions it lists. Returns
/// whether it was written.
pub(crate) fn message(
    raw: &str,
    index: usize,
    ch: &ChannelEntry,
    t: &Tables,
    from_lists: bool,
    acc: &mut Acc,
) -> bool {
    let mut repaired = None;
    let Some(mut o) = parse(raw, &mut repaired) else {
        bump(&mut acc.dropped, "messages that do not parse");
        return false;
    };
    let Some(id) = o.str("id").filter(|i| !i.is_empty()).map(Cow::into_owned) else {
        bump(&mut acc.dropped, "messages without an id");
        return false;
    };
    let user = o
        .get("user")
        .and_then(id_of)
        .or_else(|| o.str("user_id").map(Cow::into_owned));
    let Some(user) = user.filter(|u| !u.is_empty()) else {
        bump(&mut acc.dropped, "messages without a user");
        return false;
    };
    let mut mentioned: Vec<String> = match o.get("mentioned_users") {
        Some(list) => elements(list).into_iter().filter_map(id_of).collect(),
        None => Vec::new(),
    };
    if let Some(list) = o.get("mentioned_users_ids") {
        mentioned.extend(elements(list).into_iter().filter_map(id_of));
    }
    let mut unique = std::collections::BTreeSet::new();
    mentioned.retain(|m| unique.insert(m.clone()));
    let quoted = o
        .str("quoted_message_id")
        .map(Cow::into_owned)
        .or_else(|| o.get("quoted_message").and_then(id_of))
        .filter(|q| !q.is_empty());
    let pinned_by = o
        .str("pinned_by_id")
        .map(Cow::into_owned)
        .or_else(|| o.get("pinned_by").and_then(id_of));
    let reactions = o.get("latest_reactions");
    let created_at = o.get("created_at");
    let fallback_time = o.get("updated_at").or(created_at);
    o.drop_all(MESSAGE_DROPPED);
    o.drop_all(&["mentioned_users_ids"]);

    // The type, and the rules tied to it.
    let mut ty = o
        .take("type")
        .and_then(|v| super::object::as_str(v).map(Cow::into_owned))
        .unwrap_or_default();
    if !matches!(ty.as_str(), "" | "regular" | "deleted" | "system" | "reply") {
        bump(
            &mut acc.adjusted,
            "messages of type error/ephemeral written as regular",
        );
        ty = "regular".into();
    }
    let parent = o.str("parent_id").filter(|p| !p.is_empty());
    // One thread level: the parent must be a top-level message of the
    // file, in the same channel.
    let parent_ok = parent
        .as_deref()
        .and_then(|p| t.message(p))
        .is_some_and(|m| !m.reply && m.channel as usize == index);
    if parent.is_some() && !parent_ok {
        bump(
            &mut acc.adjusted,
            "replies whose parent is not a top-level message of their channel in the file made top-level",
        );
    }
    if !parent_ok {
        o.drop_all(&["parent_id", "show_in_channel"]);
        if ty == "reply" {
            ty = "regular".into();
        }
    }
    // deleted_at is set if and only if the type is deleted.
    let mut extra: Fields<'_> = Vec::new();
    if ty == "deleted" && !o.has("deleted_at") {
        bump(
            &mut acc.adjusted,
            "deleted messages without deleted_at: set from updated_at/created_at",
        );
        let at = fallback_time.map_or(
            Value::Str(Cow::Borrowed("0001-01-01T00:00:00Z")),
            Value::Raw,
        );
        push(&mut extra, "deleted_at", at);
    }
    if o.has("deleted_at") && ty != "deleted" {
        bump(
            &mut acc.adjusted,
            "messages with deleted_at given type deleted",
        );
        ty = "deleted".into();
    }
    // Pins: pinned_at and pinned_by_id together, pin_expires only with both.
    let pinned = o.has("pinned_at") && pinned_by.is_some();
    if !pinned && (o.has("pinned_at") || pinned_by.is_some()) {
        bump(
            &mut acc.adjusted,
            "half pins (pinned_at without pinned_by, or the reverse) dropped",
        );
    }
    if !pinned {
        o.drop_all(&["pinned_at", "pin_expires"]);
    }
    let pinned_by = pinned_by.filter(|_| pinned);
    // At most 30 attachments.
    let cut = match o.get("attachments").map(elements) {
        Some(all) if all.len() > 30 => {
            bump(
                &mut acc.adjusted,
                "messages with over 30 attachments cut to 30",
            );
            let kept: Vec<&str> = all[..30].iter().map(|a| a.get()).collect();
            Some(format!("[{}]", kept.join(",")))
        }
        _ => None,
    };
    if cut.is_some() {
        o.take("attachments");
    }
    if let Some(list) = o.get("attachments")
        && list.get().contains("http:")
        && elements(list).iter().any(|a| {
            Object::parse(a.get()).is_ok_and(|a| {
                ["image_url", "thumb_url", "asset_url"]
                    .iter()
                    .any(|k| a.str(k).is_some_and(|u| !u.starts_with("https://")))
            })
        })
    {
        bump(
            &mut acc.adjusted,
            "WARNING messages with attachment URLs that are not https (kept; the importer refuses them)",
        );
    }

    let mut fields: Fields<'_> = Vec::new();
    push(&mut fields, "id", Value::Str(Cow::Borrowed(&id)));
    channel_ref(&mut fields, ch, "channel_member_ids");
    push(&mut fields, "user", Value::Str(user_id(&user)));
    acc.users.push(user.clone());
    if !ty.is_empty() {
        push(&mut fields, "type", Value::Str(Cow::Borrowed(&ty)));
    }
    rest(&mut fields, o);
    fields.extend(extra);
    if let Some(cut) = &cut {
        push(&mut fields, "attachments", Value::Raw(Raw::trusted(cut)));
    }
    if !mentioned.is_empty() {
        acc.users.extend(mentioned.iter().cloned());
        push(
            &mut fields,
            "mentioned_users_ids",
            Value::Strs(user_ids(&mentioned)),
        );
    }
    if let Some(q) = quoted {
        // The quoted message must be in the same file: in the same bin
        // (a part is made of whole bins).
        if t.message_bin(&q) == Some(ch.bin) {
            push(&mut fields, "quoted_message_id", Value::Str(Cow::Owned(q)));
        } else {
            bump(
                &mut acc.adjusted,
                "quotes of messages not in the file (or its part) dropped",
            );
        }
    }
    if let Some(by) = pinned_by {
        push(
            &mut fields,
            "pinned_by_id",
            Value::Str(Cow::Owned(user_id(&by).into_owned())),
        );
        acc.users.push(by);
    }
    write_item(&mut acc.buf, "message", fields);
    if from_lists && let Some(list) = reactions {
        listed_reactions(list, &id, created_at, acc);
    }
    true
}

/// The reactions a v1 message lists (`latest_reactions`), deduplicated.
fn listed_reactions(list: Raw<'_>, message_id: &str, message_time: Option<Raw<'_>>, acc: &mut Acc) {
    let mut seen: Vec<(String, String)> = Vec::new();
    std::mem::swap(&mut acc.buf, &mut acc.listed);
    for r in elements(list) {
        let mut repaired = None;
        let Some(o) = parse(r.get(), &mut repaired) else {
            continue;
        };
        let key = (
            o.str("type").map(Cow::into_owned).unwrap_or_default(),
            o.str("user_id")
                .map(Cow::into_owned)
                .or_else(|| o.get("user").and_then(id_of))
                .unwrap_or_default(),
        );
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        reaction_object(o, Some(message_id), message_time, acc);
    }
    std::mem::swap(&mut acc.buf, &mut acc.listed);
}

/// A reaction record; `message_id` overrides the record's own.
pub(crate) fn reaction(raw: &str, acc: &mut Acc) -> bool {
    let mut repaired = None;
    let Some(o) = parse(raw, &mut repaired) else {
        bump(&mut acc.dropped, "reactions that do not parse");
        return false;
    };
    reaction_object(o, None, None, acc)
}

fn reaction_object(
    mut o: Object<'_>,
    message_id: Option<&str>,
    message_time: Option<Raw<'_>>,
    acc: &mut Acc,
) -> bool {
    let message = message_id
        .map(str::to_string)
        .or_else(|| o.str("message_id").map(Cow::into_owned));
    let user = o
        .str("user_id")
        .map(Cow::into_owned)
        .or_else(|| o.get("user").and_then(id_of));
    let ty = o.str("type").map(Cow::into_owned);
    let (Some(message), Some(user), Some(ty)) = (message, user, ty) else {
        bump(
            &mut acc.dropped,
            "reactions without a message, user or type",
        );
        return false;
    };
    if ty.chars().count() > 30 || !pattern::matches(r"^[\w-+:.]*$", &ty) {
        bump(
            &mut acc.dropped,
            "reactions whose type the import refuses (over 30 characters, or not [\\w-+:.])",
        );
        return false;
    }
    let created = o.get("created_at").or(o.get("updated_at"));
    let created = match (created, message_time) {
        (Some(c), _) => c,
        (None, Some(m)) => {
            bump(
                &mut acc.adjusted,
                "reactions without created_at given their message's",
            );
            m
        }
        (None, None) => {
            bump(&mut acc.dropped, "reactions without created_at");
            return false;
        }
    };
    o.drop_all(REACTION_DROPPED);
    let mut fields: Fields<'_> = Vec::new();
    push(
        &mut fields,
        "message_id",
        Value::Str(Cow::Borrowed(&message)),
    );
    push(&mut fields, "type", Value::Str(Cow::Borrowed(&ty)));
    push(&mut fields, "user_id", Value::Str(user_id(&user)));
    push(&mut fields, "created_at", Value::Raw(created));
    rest(&mut fields, o);
    write_item(&mut acc.buf, "reaction", fields);
    acc.users.push(user.clone());
    true
}

/// A device record, with only the fields its schema allows; returns its
/// user id.
pub(crate) fn device(raw: &str, acc: &mut Acc) -> Option<String> {
    let mut repaired = None;
    let mut o = parse(raw, &mut repaired)?;
    if !o.has("push_provider_type")
        && let Some(p) = o.take("push_provider")
    {
        o.fields.push((Cow::Borrowed("push_provider_type"), p));
    }
    let user = o.str("user_id").map(Cow::into_owned);
    let (Some(user), true, true) = (user, o.has("id"), o.has("push_provider_type")) else {
        bump(
            &mut acc.dropped,
            "devices without id, user_id or push provider",
        );
        return None;
    };
    let before = o.fields.len();
    o.fields
        .retain(|(k, _)| DEVICE_FIELDS.contains(&k.as_ref()) && k != "user_id");
    if o.fields.len() + 1 < before {
        bump(
            &mut acc.adjusted,
            "devices: fields the device schema forbids dropped",
        );
    }
    let mut fields: Fields<'_> = Vec::new();
    push(&mut fields, "user_id", Value::Str(user_id(&user)));
    rest(&mut fields, o);
    write_item(&mut acc.buf, "device", fields);
    Some(user)
}

/// A future channel ban, with only the fields its schema allows; returns
/// the users it references.
pub(crate) fn ban(raw: &str, acc: &mut Acc) -> Option<[String; 2]> {
    let mut repaired = None;
    let mut o = parse(raw, &mut repaired)?;
    let target = o.str("target_id").map(Cow::into_owned);
    let by = o
        .str("created_by")
        .map(Cow::into_owned)
        .or_else(|| o.get("created_by").and_then(id_of));
    let (Some(target), Some(by)) = (target, by) else {
        bump(
            &mut acc.dropped,
            "future channel bans without target_id or created_by",
        );
        return None;
    };
    o.fields
        .retain(|(k, _)| BAN_FIELDS.contains(&k.as_ref()) && k != "created_by" && k != "target_id");
    let mut fields: Fields<'_> = Vec::new();
    push(&mut fields, "target_id", Value::Str(user_id(&target)));
    push(&mut fields, "created_by", Value::Str(user_id(&by)));
    rest(&mut fields, o);
    write_item(&mut acc.buf, "future_channel_ban", fields);
    Some([target, by])
}
