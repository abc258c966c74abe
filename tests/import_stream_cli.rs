//! stream-cli's own validator test files (`testdata/stream-cli-validator/`,
//! BSD-3-Clause, origin in its README) give exactly the errors its
//! validator test documented, in the order of its passes, under the legacy
//! rules and with the test's app: role `user`, channel type `messaging`.

use std::path::PathBuf;
use stream_chat_export::{Engine, ImportOptions, ImportRules, Parallel, validate_import};

fn run(name: &str, lighter: bool) -> (Vec<String>, Vec<(&'static str, u64)>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/stream-cli-validator")
        .join(name);
    let bytes = std::fs::read(&path).unwrap();
    let mut options = ImportOptions::new();
    options
        .roles(["user"])
        .channel_types(["messaging"])
        .lighter_channel_ids(lighter);
    let engine = Engine::new(Parallel::new().threads(2)).unwrap();
    let mut problems = Vec::new();
    let summary = validate_import(&engine, &bytes, &options, |p| {
        problems.push(p.to_string());
        Ok(())
    })
    .unwrap();
    assert_eq!(summary.rules, Some(ImportRules::Legacy));
    assert_eq!(summary.problems, problems.len() as u64);
    (problems, summary.indexed)
}

/// stream-cli's `Stats`: users, channels, members, messages, reactions,
/// devices (indexed items only).
fn stats(indexed: &[(&str, u64)]) -> [u64; 6] {
    let n = |t: &str| indexed.iter().find(|(k, _)| *k == t).map_or(0, |(_, n)| *n);
    [
        n("user"),
        n("channel"),
        n("member"),
        n("message"),
        n("reaction"),
        n("device"),
    ]
}

#[test]
fn valid_data() {
    let (problems, indexed) = run("valid-data.json", false);
    assert_eq!(problems, Vec::<String>::new());
    assert_eq!(stats(&indexed), [4, 3, 4, 3, 3, 2]);
}

#[test]
fn valid_channels_with_light() {
    let (problems, indexed) = run("valid-channels-with-light.json", true);
    assert_eq!(problems, Vec::<String>::new());
    assert_eq!(stats(&indexed), [2, 2, 2, 1, 0, 0]);
    // Without the option the `!members-` id is refused.
    let (problems, _) = run("valid-channels-with-light.json", false);
    assert_eq!(
        problems[0],
        r#"validation error: channel.id "!members-channelB" invalid ("^[\w-]*$" allowed)"#
    );
}

#[test]
fn invalid_users() {
    let (problems, indexed) = run("invalid-users.json", false);
    assert_eq!(
        problems,
        [
            "validation error: user.id required",
            "validation error: user.id max length exceeded (255)",
            r#"validation error: user.id invalid ("^[@\w-]*$" allowed)"#,
            "validation error: user.online is a reserved field",
            r#"duplicate user found "userA""#,
            r#"reference error: user.role "admin" doesn't exist (user "userA")"#,
        ]
    );
    assert_eq!(stats(&indexed), [1, 0, 0, 0, 0, 0]);
}

#[test]
fn invalid_channels() {
    let (problems, indexed) = run("invalid-channels.json", false);
    assert_eq!(
        problems,
        [
            "validation error: either channel.id or channel.member_ids required",
            "validation error: either channel.id or channel.member_ids required",
            "validation error: channel.id max length exceeded (64)",
            "validation error: channel.type required",
            r#"validation error: channel.id "channelA@abc" invalid ("^[\w-]*$" allowed)"#,
            "validation error: channel.created_by required",
            "validation error: channel.cid is a reserved field",
            r#"reference error: channel.type "" doesn't exist (channel ":channelA")"#,
            r#"reference error: channel.created_by "" doesn't exist (channel "messaging:channelA")"#,
            r#"reference error: channel.type "livestream" doesn't exist (channel "livestream:[userA]")"#,
            r#"reference error: channel.created_by "userB" doesn't exist (channel "messaging:channelB")"#,
            r#"validation error: distinct channel: ["userA"] is missing members: ["userA"]. Please include all members as separate member entries"#,
        ]
    );
    assert_eq!(stats(&indexed), [1, 2, 0, 0, 0, 0]);
}

#[test]
fn invalid_channel_mutes() {
    let (problems, indexed) = run("invalid-channel-mutes.json", false);
    assert_eq!(
        problems,
        [r#"reference error: muted channel "messaging:456" by user "user1" doesn't exist"#]
    );
    assert_eq!(stats(&indexed), [2, 2, 0, 0, 0, 0]);
}

#[test]
fn invalid_user_mutes() {
    let (problems, indexed) = run("invalid-user-mutes.json", false);
    assert_eq!(
        problems,
        [r#"reference error: muted user "missing_user" by user "user1" doesn't exist"#]
    );
    assert_eq!(stats(&indexed), [2, 0, 0, 0, 0, 0]);
}

#[test]
fn invalid_members() {
    let (problems, indexed) = run("invalid-members.json", false);
    assert_eq!(
        problems,
        [
            "validation error: member.user_id required",
            "validation error: member.channel_type required",
            "validation error: either member.channel_id or member.channel_member_ids required",
            r#"reference error: user "" doesn't exist"#,
            r#"reference error: channel ":channelA" doesn't exist"#,
            r#"reference error: distinct channel with type "messaging" and members:[] doesn't exist"#,
            r#"reference error: user "userA" with teams map[] cannot be a member of channel messaging:channelB with team "teamB""#,
            r#"reference error: user "userC" specified as channel member but not present in channel_members_ids: [userA userB]"#,
            r#"validation error: distinct channel: ["userA" "userB"] is missing members: ["userB"]. Please include all members as separate member entries"#,
        ]
    );
    assert_eq!(stats(&indexed), [3, 4, 5, 0, 0, 0]);
}

#[test]
fn invalid_messages() {
    let (problems, indexed) = run("invalid-messages.json", false);
    assert_eq!(
        problems,
        [
            "validation error: message.id max length exceeded (255)",
            "validation error: message.channel_type required",
            "validation error: either message.channel_id or message.channel_member_ids required",
            "validation error: message.user required",
            r#"validation error: message.type invalid ("regular", "deleted", "system" and "reply" allowed)"#,
            r#"validation error: message.type "deleted" while message.deleted_at is null"#,
            r#"validation error: message.deleted_at "2022-02-14T12:34:30Z" while message.type is "regular""#,
            r#"reference error: channel ":channelA" doesn't exist"#,
            r#"reference error: distinct channel with type "messaging" and members:[] doesn't exist"#,
            r#"reference error: user "" doesn't exist (message_id messageA)"#,
            r#"reference error: message parent_id "parentID" doesn't exist"#,
        ]
    );
    assert_eq!(stats(&indexed), [1, 2, 2, 1, 0, 0]);
}

#[test]
fn invalid_devices() {
    let (problems, indexed) = run("invalid-devices.json", false);
    assert_eq!(
        problems,
        [
            "validation error: device.id max length exceeded (255)",
            "validation error: device.id required",
            "validation error: device.user_id required",
            "validation error: device.push_provider_type invalid, available options are: firebase,huawei,apn,xiaomi",
            "validation error: device.created_at required",
            "duplicate device id:duplicate",
            r#"reference error: device.user_id "userB" doesn't exist"#,
        ]
    );
    assert_eq!(stats(&indexed), [1, 0, 0, 0, 0, 2]);
}
