//! stream-cli's field checks of legacy array items (its `items.go` at
//! commit 2dda3c4, the last before the validator was removed), with its
//! messages. Like stream-cli, an item is reported for its first problem.

use super::fields::text;
use super::pattern::{go_rfc3339, matches};
use super::schema::quote;
use super::tree::{Json, Obj};

/// stream-cli's default maximum message length, in characters (runes),
/// for a channel type without a config.
const MAX_MESSAGE_LENGTH: usize = 20_000;

/// Fields a user may not carry (read-only state).
const RESERVED_USER_FIELDS: &[&str] = &["online", "last_active"];

/// The first field problem of an item, if any.
/// `lighter` accepts `!` in channel ids (`^[\w!-]*$`).
pub(crate) fn check(type_name: &str, data: &Obj<'_>, lighter: bool) -> Option<String> {
    match type_name {
        "user" => user(data),
        "channel" => channel(data, lighter),
        "member" => member(data),
        "message" => message(data),
        "reaction" => reaction(data),
        "device" => device(data),
        _ => None,
    }
}

/// A string field as Go's decoder gives it to stream-cli: absent and null
/// are `""`.
fn field<'v>(data: &'v Obj<'_>, key: &str) -> &'v str {
    text(data, key).unwrap_or("")
}

/// Is the field set (present and not null)?
fn set(data: &Obj<'_>, key: &str) -> bool {
    data.get(key).is_some_and(|v| !matches!(v, Json::Null))
}

/// Is the array field present with at least one element? (Go's `len(x)`
/// of a decoded slice.)
fn non_empty_list(data: &Obj<'_>, key: &str) -> bool {
    matches!(data.get(key), Some(Json::Array(a)) if !a.is_empty())
}

/// Exactly one of two alternatives is given (neither, or both, is wrong).
fn exactly_one(a: bool, b: bool) -> bool {
    a != b
}

fn user(data: &Obj<'_>) -> Option<String> {
    let id = field(data, "id");
    if id.is_empty() {
        return Some("user.id required".into());
    }
    if id.len() > 255 {
        return Some("user.id max length exceeded (255)".into());
    }
    if !matches(r"^[@\w-]*$", id) {
        return Some(r#"user.id invalid ("^[@\w-]*$" allowed)"#.into());
    }
    RESERVED_USER_FIELDS
        .iter()
        .find(|f| data.get(f).is_some())
        .map(|f| format!("user.{f} is a reserved field"))
}

fn channel(data: &Obj<'_>, lighter: bool) -> Option<String> {
    let id = field(data, "id");
    let distinct = non_empty_list(data, "member_ids");
    if !exactly_one(!id.is_empty(), distinct) {
        return Some("either channel.id or channel.member_ids required".into());
    }
    if id.len() > 64 {
        return Some("channel.id max length exceeded (64)".into());
    }
    if field(data, "type").is_empty() {
        return Some("channel.type required".into());
    }
    let pattern = if lighter { r"^[\w!-]*$" } else { r"^[\w-]*$" };
    if !id.is_empty() && !matches(pattern, id) {
        return Some(format!(
            "channel.id {} invalid (\"{pattern}\" allowed)",
            quote(id)
        ));
    }
    if field(data, "created_by").is_empty() {
        return Some("channel.created_by required".into());
    }
    if data.get("cid").is_some() {
        return Some("channel.cid is a reserved field".into());
    }
    None
}

fn member(data: &Obj<'_>) -> Option<String> {
    if field(data, "user_id").is_empty() {
        return Some("member.user_id required".into());
    }
    if field(data, "channel_type").is_empty() {
        return Some("member.channel_type required".into());
    }
    if !exactly_one(
        !field(data, "channel_id").is_empty(),
        non_empty_list(data, "channel_member_ids"),
    ) {
        return Some("either member.channel_id or member.channel_member_ids required".into());
    }
    None
}

fn message(data: &Obj<'_>) -> Option<String> {
    let id = field(data, "id");
    if id.is_empty() {
        return Some("message.id required".into());
    }
    if id.len() > 255 {
        return Some("message.id max length exceeded (255)".into());
    }
    if field(data, "channel_type").is_empty() {
        return Some("message.channel_type required".into());
    }
    if !exactly_one(
        !field(data, "channel_id").is_empty(),
        non_empty_list(data, "channel_member_ids"),
    ) {
        return Some("either message.channel_id or message.channel_member_ids required".into());
    }
    if field(data, "user").is_empty() {
        return Some("message.user required".into());
    }
    let ty = match field(data, "type") {
        "" => "regular",
        t => t,
    };
    if !matches!(ty, "regular" | "deleted" | "system" | "reply") {
        return Some(
            r#"message.type invalid ("regular", "deleted", "system" and "reply" allowed)"#.into(),
        );
    }
    let deleted_at = field(data, "deleted_at");
    if ty == "deleted" && deleted_at.is_empty() {
        return Some(r#"message.type "deleted" while message.deleted_at is null"#.into());
    }
    if ty != "deleted" && !deleted_at.is_empty() {
        return Some(format!(
            "message.deleted_at {} while message.type is {}",
            quote(&go_rfc3339(deleted_at)),
            quote(ty)
        ));
    }
    if field(data, "text").chars().count() > MAX_MESSAGE_LENGTH {
        return Some(format!(
            "message.text max length exceeded ({MAX_MESSAGE_LENGTH})"
        ));
    }
    let (pinned_at, pinned_by) = (field(data, "pinned_at"), field(data, "pinned_by_id"));
    if !pinned_by.is_empty() && pinned_at.is_empty() {
        return Some(format!(
            "message.pinned_by_id {} while pinned_at is null",
            quote(pinned_by)
        ));
    }
    if !pinned_at.is_empty() && pinned_by.is_empty() {
        return Some(format!(
            "message.pinned_at {} while pinned_by_id is null",
            quote(&go_rfc3339(pinned_at))
        ));
    }
    let expires = field(data, "pin_expires");
    if !expires.is_empty() && (pinned_at.is_empty() || pinned_by.is_empty()) {
        return Some(format!(
            "message.pin_expires {} while pinned_at/pinned_by_id is null",
            quote(&go_rfc3339(expires))
        ));
    }
    if let Some(Json::Array(attachments)) = data.get("attachments") {
        for a in attachments.iter().filter_map(Json::as_object) {
            if field(a, "type").is_empty() {
                return Some("attachment.type required".into());
            }
            for reserved in ["actions", "fields"] {
                if set(a, reserved) {
                    return Some(format!("attachment.{reserved} is a reserved field"));
                }
            }
        }
    }
    None
}

fn reaction(data: &Obj<'_>) -> Option<String> {
    for required in ["message_id", "type", "user_id"] {
        if field(data, required).is_empty() {
            return Some(format!("reaction.{required} required"));
        }
    }
    if !set(data, "created_at") {
        return Some("reaction.created_at required".into());
    }
    reaction_type(field(data, "type"))
}

/// The reaction type's length and characters (both rule sets).
pub(crate) fn reaction_type(t: &str) -> Option<String> {
    if t.chars().count() > 30 {
        return Some("reaction.type max length exceeded (30)".into());
    }
    if !matches(r"^[\w-+:.]*$", t) {
        return Some(r#"reaction.type invalid ("^[\w-+:.]*$" allowed)"#.into());
    }
    None
}

fn device(data: &Obj<'_>) -> Option<String> {
    let id = field(data, "id");
    if id.is_empty() {
        return Some("device.id required".into());
    }
    if id.len() > 255 {
        return Some("device.id max length exceeded (255)".into());
    }
    if field(data, "user_id").is_empty() {
        return Some("device.user_id required".into());
    }
    if !set(data, "created_at") {
        return Some("device.created_at required".into());
    }
    if !matches!(
        field(data, "push_provider_type"),
        "firebase" | "huawei" | "apn" | "xiaomi"
    ) {
        return Some(
            "device.push_provider_type invalid, available options are: firebase,huawei,apn,xiaomi"
                .into(),
        );
    }
    None
}
