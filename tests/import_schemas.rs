//! Every rule of the official import schemas (`src/import/schemas/`) is
//! enforced: for each constraint a schema states (type, pattern, length,
//! enum, format, item counts, required fields, forbidden extra fields,
//! exactly-one-of, if/then), an item that breaks only it gets a field
//! problem naming the field. The violations are derived from the schema
//! files themselves, so a rule added to a schema is tested too.

use serde_json::{Map, Value, json};
use std::path::Path;
use stream_chat_export::{Engine, ImportOptions, Parallel, Stage, validate_import};

/// A valid payload per item type.
fn base(type_name: &str) -> Value {
    match type_name {
        "user" => json!({"id": "u1"}),
        "device" => json!({"id": "d1", "user_id": "u1", "push_provider_type": "firebase"}),
        "future_channel_ban" => json!({"target_id": "u1", "created_by": "u1"}),
        "channel" => json!({"type": "messaging", "id": "c1", "created_by": "u1"}),
        "member" => json!({"user_id": "u1", "channel_type": "messaging", "channel_id": "c1"}),
        "message" => {
            json!({"id": "m1", "channel_type": "messaging", "channel_id": "c1", "user": "u1"})
        }
        "reaction" => {
            json!({"message_id": "m1", "type": "like", "user_id": "u1", "created_at": "2024-01-01T00:00:00Z"})
        }
        other => panic!("{other}"),
    }
}

/// Field problems of one item.
fn field_problems(type_name: &str, data: &Value) -> Vec<String> {
    let line = json!({"type": type_name, "data": data}).to_string();
    let engine = Engine::new(&Parallel::new()).unwrap();
    let mut out = Vec::new();
    validate_import(&engine, line.as_bytes(), &ImportOptions::new(), |p| {
        if p.stage == Stage::Field {
            out.push(p.message.clone());
        }
        Ok(())
    })
    .unwrap();
    out
}

/// A value that breaks `rule` (one keyword of a property schema), when
/// one can be made.
fn breaking(keyword: &str, rule: &Value, schema: &Map<String, Value>) -> Option<Value> {
    Some(match keyword {
        "type" => match rule.as_str().or_else(|| rule.get(0)?.as_str())? {
            "string" => json!(12),
            _ => json!("a string"),
        },
        "pattern" => {
            if rule.as_str()?.starts_with("^[") {
                json!("not allowed: | é")
            } else {
                json!("ftp://not-https")
            }
        }
        "maxLength" => json!("a".repeat(rule.as_u64()? as usize + 1)),
        "minLength" => json!(""),
        "enum" => json!("not-one-of-them"),
        "format" => json!("not a time"),
        "minItems" => json!([]),
        "maxItems" => {
            let item = match schema.get("items")?.get("$ref") {
                Some(_) => json!({"type": "image"}),
                None => json!("x"),
            };
            Value::Array(vec![item; rule.as_u64()? as usize + 1])
        }
        "items" => match rule.get("type").and_then(Value::as_str) {
            Some("string") => json!([1]),
            _ => json!([{"image_url": "http://not-https"}]),
        },
        "additionalProperties" if rule == &json!(false) => json!({"not_a_field": true}),
        "additionalProperties" => json!({"k": 1}),
        "properties" => {
            // A nested object: break its first property's type.
            let (k, _) = rule.as_object()?.iter().next()?;
            json!({ k.clone(): 12 })
        }
        "required" => json!({}),
        _ => return None,
    })
}

#[test]
fn every_property_rule_of_every_schema_is_enforced() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/import/schemas");
    let types = [
        ("user", "user.schema.json"),
        ("device", "device.schema.json"),
        ("future_channel_ban", "future_channel_ban.schema.json"),
        ("channel", "channel.schema.json"),
        ("member", "channel_member.schema.json"),
        ("message", "message.schema.json"),
        ("reaction", "reaction.schema.json"),
    ];
    let mut checked = 0;
    let mut missed = Vec::new();
    for (type_name, file) in types {
        let schema: Value =
            serde_json::from_slice(&std::fs::read(dir.join(file)).unwrap()).unwrap();
        // The base item is valid.
        assert_eq!(
            field_problems(type_name, &base(type_name)),
            Vec::<String>::new(),
            "{type_name}"
        );
        for (property, rules) in schema["properties"].as_object().unwrap() {
            let rules = rules.as_object().unwrap();
            for (keyword, rule) in rules {
                if rules.contains_key("$ref") {
                    continue;
                }
                let Some(bad) = breaking(keyword, rule, rules) else {
                    continue;
                };
                // A nested object's own additionalProperties rule is about
                // its keys, not a sub-property.
                let mut data = base(type_name);
                data[property] = bad;
                // A pin needs its partner fields, a show_in_channel its
                // parent: add them, so only the rule under test breaks.
                let problems = field_problems(type_name, &data);
                checked += 1;
                if !problems
                    .iter()
                    .any(|p| p.contains(&format!("{type_name}.{property}")))
                {
                    missed.push(format!(
                        "{type_name}.{property} {keyword}={rule}: {problems:?}"
                    ));
                }
            }
        }
        for required in schema["required"].as_array().unwrap() {
            let mut data = base(type_name);
            data.as_object_mut()
                .unwrap()
                .remove(required.as_str().unwrap());
            checked += 1;
            let want = format!("{type_name}.{} required", required.as_str().unwrap());
            if !field_problems(type_name, &data).contains(&want) {
                missed.push(want);
            }
        }
        if schema.get("additionalProperties") == Some(&json!(false)) {
            let mut data = base(type_name);
            data["not_a_field"] = json!(1);
            checked += 1;
            if !field_problems(type_name, &data)
                .iter()
                .any(|p| p.contains("not_a_field is not allowed"))
            {
                missed.push(format!("{type_name} additionalProperties"));
            }
        }
    }
    assert!(
        missed.is_empty(),
        "rules not enforced:\n{}",
        missed.join("\n")
    );
    assert!(checked > 60, "{checked}");
}

/// The `anyOf` (exactly one of two fields) and `if`/`then`/`else` rules,
/// one by one.
#[test]
fn exactly_one_of_and_conditional_rules() {
    let cases: &[(&str, Value, &str)] = &[
        (
            "channel",
            json!({"type":"messaging","created_by":"u1"}),
            "exactly one of channel.id or channel.member_ids required",
        ),
        (
            "channel",
            json!({"type":"messaging","created_by":"u1","id":"c","member_ids":["u1"]}),
            "exactly one of channel.id or channel.member_ids required",
        ),
        (
            "member",
            json!({"user_id":"u1","channel_type":"messaging"}),
            "exactly one of member.channel_id or member.channel_member_ids required",
        ),
        (
            "message",
            json!({"id":"m","channel_type":"t","channel_id":"c","channel_member_ids":["u1"],"user":"u1"}),
            "exactly one of message.channel_id or message.channel_member_ids required",
        ),
        (
            "message",
            json!({"id":"m","channel_type":"t","channel_id":"c","user":"u1","type":"reply"}),
            r#"message.parent_id required when message.type is "reply""#,
        ),
        (
            "message",
            json!({"id":"m","channel_type":"t","channel_id":"c","user":"u1","type":"deleted"}),
            r#"message.deleted_at required when message.type is "deleted""#,
        ),
        (
            "message",
            json!({"id":"m","channel_type":"t","channel_id":"c","user":"u1","type":"regular","deleted_at":"2024-01-01T00:00:00Z"}),
            r#"message.type must be one of "deleted" when message.deleted_at is set"#,
        ),
        (
            "message",
            json!({"id":"m","channel_type":"t","channel_id":"c","user":"u1","deleted_at":"2024-01-01T00:00:00Z"}),
            r#"message.deleted_at "2024-01-01T00:00:00Z" while message.type is "regular""#,
        ),
        (
            "message",
            json!({"id":"m","channel_type":"t","channel_id":"c","user":"u1","pinned_by_id":"u1"}),
            "message.pinned_at required when message.pinned_by_id is set",
        ),
        (
            "message",
            json!({"id":"m","channel_type":"t","channel_id":"c","user":"u1","pinned_at":"2024-01-01T00:00:00Z"}),
            "message.pinned_by_id required when message.pinned_at is set",
        ),
        (
            "message",
            json!({"id":"m","channel_type":"t","channel_id":"c","user":"u1","pin_expires":"2024-01-01T00:00:00Z"}),
            "message.pinned_at required when message.pin_expires is set",
        ),
        (
            "message",
            json!({"id":"m","channel_type":"t","channel_id":"c","user":"u1","show_in_channel":true}),
            "message.parent_id required when message.show_in_channel is set",
        ),
        (
            "member",
            json!({"user_id":"u1","channel_type":"t","channel_id":"c","invite_rejected_at":"2024-01-01T00:00:00Z"}),
            "member.invite_rejected_at must be null unless member.invited is true",
        ),
        (
            "user",
            json!({"id":"u1","privacy_settings":{"read_receipts":{}}}),
            "user.privacy_settings.read_receipts.enabled required",
        ),
        (
            "user",
            json!({"id":"u1","push_preferences":{"chat_level":"loud"}}),
            r#"user.push_preferences.chat_level must be one of "all", "none", "mentions""#,
        ),
        (
            "reaction",
            json!({"message_id":"m","type":"❤","user_id":"u1","created_at":"2024-01-01T00:00:00Z"}),
            r#"reaction.type invalid ("^[\w-+:.]*$" allowed)"#,
        ),
    ];
    for (type_name, data, want) in cases {
        let problems = field_problems(type_name, data);
        assert!(
            problems.iter().any(|p| p == want),
            "{type_name} {data}: want {want:?}, got {problems:?}"
        );
    }
    // And the same rules satisfied give nothing.
    let fine = json!({"id":"m","channel_type":"t","channel_id":"c","user":"u1","type":"deleted","deleted_at":"2024-01-01T00:00:00Z","pinned_at":"2024-01-01T00:00:00Z","pinned_by_id":"u1","pin_expires":"2024-02-01T00:00:00Z"});
    assert_eq!(field_problems("message", &fine), Vec::<String>::new());
    let invited = json!({"user_id":"u1","channel_type":"t","channel_id":"c","invited":true,"invite_accepted_at":"2024-01-01T00:00:00Z"});
    assert_eq!(field_problems("member", &invited), Vec::<String>::new());
}

/// The current rules' order, envelope and semantic checks, with
/// `FILE:LINE:BYTE` positions.
#[test]
fn order_envelope_references_and_thread_level() {
    let file = concat!(
        r#"{"type":"channel","data":{"type":"messaging","id":"c1","created_by":"u1"}}"#,
        "\n",
        r#"{"type":"user","data":{"id":"u1"}}"#,
        "\n",
        r#"{"type":"user","item":{"id":"u2"}}"#,
        "\n",
        r#"{"type":"message","data":{"id":"m1","channel_type":"messaging","channel_id":"c1","user":"u1"}}"#,
        "\n",
        r#"{"type":"message","data":{"id":"m2","channel_type":"messaging","channel_id":"c1","user":"u1","parent_id":"m1"}}"#,
        "\n",
        r#"{"type":"message","data":{"id":"m3","channel_type":"messaging","channel_id":"c1","user":"u1","parent_id":"m2","mentioned_users_ids":["ghost"],"quoted_message_id":"nope"}}"#,
        "\n",
        r#"{"type":"message","data":{"id":"m1","channel_type":"messaging","channel_id":"c1","user":"u1"}}"#,
        "\n",
        r#"{"type":"reaction","data":{"message_id":"m9","type":"like","user_id":"u1","created_at":"2024-01-01T00:00:00Z"}}"#,
        "\n",
        r#"{"type":"bogus","data":{}}"#,
        "\n",
        "not json\n",
    );
    let engine = Engine::new(&Parallel::new()).unwrap();
    let mut out = Vec::new();
    validate_import(&engine, file.as_bytes(), &ImportOptions::new(), |p| {
        out.push(format!("{}:{}: {p}", p.line, p.offset));
        Ok(())
    })
    .unwrap();
    let offset = |line: usize| {
        file.split_inclusive('\n')
            .take(line - 1)
            .map(str::len)
            .sum::<usize>()
    };
    let want = [
        format!(
            r#"2:{}: order error: "user" item after "channel" items: the import order is users, devices, future_channel_ban, channels, members, messages, reactions"#,
            offset(2)
        ),
        format!(
            r#"3:{}: validation error: item."item" is not allowed ("item" is the legacy array's envelope; JSON Lines items are {{"type","data"}})"#,
            offset(3)
        ),
        // An item without its payload is not placed in the order.
        format!("3:{}: validation error: item.data required", offset(3)),
        format!(r#"7:{}: duplicate message "m1""#, offset(7)),
        format!(
            r#"9:{}: validation error: invalid item type "bogus""#,
            offset(9)
        ),
        format!(
            "10:{}: parse error: invalid JSON: expected ident at line 1 column 2",
            offset(10)
        ),
        format!(
            r#"6:{}: reference error: only one level thread is supported (message_id m3: its parent "m2" is a reply)"#,
            offset(6)
        ),
        format!(
            r#"6:{}: reference error: mentioned user "ghost" doesn't exist (message_id "m3")"#,
            offset(6)
        ),
        format!(
            r#"6:{}: reference error: quoted message "nope" doesn't exist (message_id "m3")"#,
            offset(6)
        ),
        format!(
            r#"8:{}: reference error: message_id "m9" doesn't exist"#,
            offset(8)
        ),
    ];
    assert_eq!(out, want);
}

/// An item that is not UTF-8 is a parse error at its line and byte, with
/// the column of the bad byte; the items around it are checked as usual
/// (valid text is parsed from a `str`, invalid bytes as bytes).
#[test]
fn items_that_are_not_utf8_are_parse_errors_at_their_byte() {
    let mut file: Vec<u8> = Vec::new();
    file.extend_from_slice(b"{\"type\":\"user\",\"data\":{\"id\":\"u1\"}}\n");
    let second = file.len();
    file.extend_from_slice(b"{\"type\":\"user\",\"data\":{\"id\":\"u\xff2\"}}\n");
    let third = file.len();
    file.extend_from_slice("{\"type\":\"user\",\"data\":{\"id\":\"é\"}}\n".as_bytes());
    let engine = Engine::new(&Parallel::new()).unwrap();
    let mut out = Vec::new();
    validate_import(&engine, &file, &ImportOptions::new(), |p| {
        out.push(format!("{}:{}: {p}", p.line, p.offset));
        Ok(())
    })
    .unwrap();
    assert_eq!(
        out,
        [
            format!(
                "2:{second}: parse error: invalid JSON: invalid unicode code point at line 1 column 31"
            ),
            format!(r#"3:{third}: validation error: user.id "é" invalid ("^[@\w-]*$" allowed)"#),
        ]
    );
}
