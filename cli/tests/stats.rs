//! `stats` as a process: `--json` valid against docs/stats.schema.json
//! and equal to `inspect` in its counts, the terminal view within 80
//! columns, the HTML report escaping hostile names everywhere and loading
//! nothing, the filter options, `--tz`, and the exit codes.

mod common;

use common::*;
use serde_json::Value;
use std::fs;

fn schema() -> jsonschema::JSONSchema {
    let text = fs::read_to_string(root().join("docs/stats.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::JSONSchema::compile(&schema).unwrap()
}

fn stats_json(args: &[&str]) -> Value {
    let mut all = vec!["stats", "--json"];
    all.extend_from_slice(args);
    let out = run(&all, None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

fn assert_valid(schema: &jsonschema::JSONSchema, what: &str, v: &Value) {
    if let Err(errors) = schema.validate(v) {
        let list: Vec<String> = errors
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        panic!("{what}: not valid against the schema:\n{}", list.join("\n"));
    }
}

/// Each fixture alone, and all of them at once: valid against the
/// schema, and counting what `inspect` counts.
#[test]
fn json_is_valid_against_the_schema_and_counts_as_inspect() {
    let schema = schema();
    let inputs = all_inputs();
    for (name, path) in &inputs {
        let got = stats_json(&[s(path)]);
        assert_valid(&schema, name, &got);
        let inspected = run(&["inspect", "--json", s(path)], None);
        let inspected: Value = serde_json::from_str(stdout(&inspected).trim()).unwrap();
        assert_eq!(got["counts"], inspected["counts"], "{name}: counts");
        assert_eq!(got["inputs"][0]["format"], inspected["format"], "{name}");
        assert_eq!(got["inputs"][0]["errors"], inspected["errors"], "{name}");
    }
    let mut args: Vec<&str> = inputs.iter().map(|(_, p)| s(p)).collect();
    args.extend(["--tz", "America/New_York", "--top", "3"]);
    let all = stats_json(&args);
    assert_valid(&schema, "every fixture", &all);
    assert_eq!(all["inputs"].as_array().unwrap().len(), inputs.len());
    assert_eq!(all["zone"], "America/New_York");
    assert!(all["top"]["users"].as_array().unwrap().len() <= 3);
    // A schema that accepts anything would prove nothing.
    let mut broken = all.clone();
    broken["by_day"]["2024-03-01"] = serde_json::json!({"messages": -1});
    assert!(!schema.is_valid(&broken));
    broken = all.clone();
    broken.as_object_mut().unwrap().remove("by_channel");
    assert!(!schema.is_valid(&broken));
}

/// v1 counts its reactions from reaction_counts and says so.
#[test]
fn v1_reactions_come_from_reaction_counts() {
    let got = stats_json(&[s(&input_path("v1_reactions_inside.json"))]);
    assert_eq!(got["reactions"]["source"], "reaction_counts");
    assert!(got["reactions"]["total"].as_u64().unwrap() > 0);
    let out = run(&["stats", s(&input_path("v1_reactions_inside.json"))], None);
    assert!(stdout(&out).contains("reaction_counts (no reaction records)"));
}

/// The filter options of `filter` work here too.
#[test]
fn filter_options_narrow_the_statistics() {
    let file = input_path("v2_item.jsonl");
    let got = stats_json(&["--user", "user-17", s(&file)]);
    let users: Vec<&String> = got["by_user"].as_object().unwrap().keys().collect();
    assert_eq!(users, ["user-17"]);
    let got = stats_json(&[
        "--channel",
        "messaging:general",
        "--kind",
        "message",
        s(&file),
    ]);
    let channels: Vec<&String> = got["by_channel"].as_object().unwrap().keys().collect();
    assert_eq!(channels, ["messaging:general"]);
    assert_eq!(got["counts"].as_object().unwrap().len(), 1);
    let got = stats_json(&["--since", "2021-02-18", s(&file)]);
    assert!(
        got["by_day"]
            .as_object()
            .unwrap()
            .keys()
            .all(|d| d.as_str() >= "2021-02-18")
    );
}

/// The terminal view stays within 80 columns, whatever the names.
#[test]
fn terminal_view_fits_80_columns() {
    let inputs = all_inputs();
    let mut args = vec!["stats"];
    args.extend(inputs.iter().map(|(_, p)| s(p)));
    let out = run(&args, None);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    for heading in [
        "Entities",
        "Messages",
        "Activity",
        "Top channels",
        "Top users",
        "Reactions",
        "Threads",
    ] {
        assert!(text.lines().any(|l| l == heading), "{heading}");
    }
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "too wide: {line:?}");
        assert!(!line.contains('\u{1b}'), "escape sequence: {line:?}");
    }
}

/// Names chosen to break out of HTML text and attributes.
const HOSTILE: &[&str] = &[
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "\"><svg onload=alert(3)>",
    "'><iframe src=javascript:alert(4)>",
];

/// A v2 export whose every name and id is hostile.
fn hostile_export() -> String {
    let mut out = String::new();
    for (i, h) in HOSTILE.iter().enumerate() {
        let j = |s: &str| serde_json::to_string(s).unwrap();
        let cid = j(&format!("messaging:{h}"));
        let user = j(&format!("{h}{i}"));
        let kind = j(h);
        out.push_str(&format!(
            "{{\"type\":\"channel\",\"item\":{{\"cid\":{cid},\"type\":\"messaging\",\"id\":{},\"name\":{kind}}}}}\n",
            j(h)
        ));
        out.push_str(&format!(
            "{{\"type\":\"message\",\"item\":{{\"id\":{},\"cid\":{cid},\"type\":{kind},\"text\":{kind},\"user\":{{\"id\":{user}}},\"created_at\":\"2024-03-0{}T10:00:00Z\",\"reply_count\":1,\"attachments\":[{{\"type\":{kind}}}],\"reaction_counts\":{{{kind}:3}}}}}}\n",
            j(&format!("m{i}{h}")),
            i + 1
        ));
        out.push_str(&format!(
            "{{\"type\":\"message\",\"item\":{{\"id\":\"r{i}\",\"cid\":{cid},\"parent_id\":{},\"text\":{kind},\"user\":{{\"id\":{user}}},\"created_at\":\"2024-03-0{}T10:05:00Z\"}}}}\n",
            j(&format!("m{i}{h}")),
            i + 1
        ));
        out.push_str(&format!(
            "{{\"type\":\"reaction\",\"item\":{{\"message_id\":{},\"cid\":{cid},\"type\":{kind},\"user_id\":{user},\"created_at\":\"2024-03-0{}T10:06:00Z\"}}}}\n",
            j(&format!("m{i}{h}")),
            i + 1
        ));
    }
    out
}

/// Every `<` of the page outside its one script opens a tag the renderer
/// writes: no hostile name became markup.
fn assert_only_own_markup(html: &str) {
    const TAGS: &[&str] = &[
        "!DOCTYPE",
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "header",
        "h1",
        "h2",
        "p",
        "main",
        "section",
        "div",
        "b",
        "span",
        "svg",
        "line",
        "text",
        "rect",
        "g",
        "defs",
        "linearGradient",
        "stop",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "footer",
        "ul",
        "li",
        "script",
    ];
    assert_eq!(
        html.matches("<script").count(),
        1,
        "one script, the renderer's"
    );
    let start = html.find("<script>").unwrap();
    let end = html.find("</script>").unwrap();
    let outside = format!("{}{}", &html[..start], &html[end..]);
    for (i, _) in outside.match_indices('<') {
        let rest = &outside[i + 1..];
        let rest = rest.strip_prefix('/').unwrap_or(rest);
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
            .collect();
        assert!(
            TAGS.contains(&name.as_str()),
            "foreign markup <{name}: {}",
            &outside[i..(i + 60).min(outside.len())]
        );
    }
    // Inside each tag (escaped values hold no `>`), outside its quoted
    // values: no event handler, no script URL.
    for (i, _) in outside.match_indices('<') {
        let tag = &outside[i..i + outside[i..].find('>').unwrap()];
        let mut bare = String::new();
        let mut quoted = false;
        for c in tag.chars() {
            if c == '"' {
                quoted = !quoted;
            } else if !quoted {
                bare.push(c);
            }
        }
        let bare = bare.to_ascii_lowercase();
        assert!(
            !bare.contains(" on") && !bare.contains("javascript:"),
            "attribute in {tag}"
        );
        assert!(!bare.contains('\''), "unexpected quote in {tag}");
    }
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "a URL in the page"
    );
    assert!(html.contains("default-src 'none'"), "the CSP");
}

#[test]
fn html_report_escapes_hostile_names_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    // The file name is shown too.
    let export = dir.path().join("<img src=y onerror=alert(5)>.jsonl");
    fs::write(&export, hostile_export()).unwrap();
    let report = dir.path().join("report.html");
    let out = run(&["stats", "--html", s(&report), s(&export)], None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let html = fs::read_to_string(&report).unwrap();
    assert_only_own_markup(&html);
    // Each name is there, escaped, in text and in attributes.
    for h in HOSTILE {
        let escaped = h
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;");
        assert!(html.contains(&escaped), "{h} missing as {escaped}");
        assert!(
            html.contains(&format!("data-v=\"messaging:{escaped}\"")),
            "attribute: {h}"
        );
    }
    assert!(html.contains("&lt;img src=y onerror=alert(5)&gt;.jsonl"));
    // The JSON of the same run has the names verbatim.
    let v = stats_json(&[s(&export)]);
    assert_eq!(v["by_channel"].as_object().unwrap().len(), HOSTILE.len());
    assert_eq!(v["threads"]["threads"], HOSTILE.len());
}

#[test]
fn html_report_of_every_fixture_is_complete() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.html");
    let inputs = all_inputs();
    let mut args = vec!["stats", "--json", "--html", s(&report)];
    args.extend(inputs.iter().map(|(_, p)| s(p)));
    let out = run(&args, None);
    assert_eq!(code(&out), 0);
    let html = fs::read_to_string(&report).unwrap();
    assert_only_own_markup(&html);
    assert!(html.trim_end().ends_with("</html>"));
    for title in [
        "Messages over time",
        "When people write",
        "Top channels",
        "Top users",
        "Message types",
        "Reaction types",
        "Thread activity",
        "Channels",
    ] {
        assert!(html.contains(&format!("<h2>{title}</h2>")), "{title}");
    }
    assert!(html.matches("<svg class=\"chart\"").count() >= 7);
}

#[test]
fn exit_codes() {
    let file = input_path("v2_item.jsonl");
    let out = run(&["stats", "--tz", "Mars/Olympus", s(&file)], None);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("unknown time zone"));
    let out = run(&["stats", "/nonexistent/export.jsonl"], None);
    assert_eq!(code(&out), 2);
    let bad = input_path("v2_malformed.jsonl");
    let out = run(&["stats", s(&bad)], None);
    assert_eq!(code(&out), 0);
    assert!(
        stderr(&out).contains("bad records skipped"),
        "{}",
        stderr(&out)
    );
    let out = run(&["stats", "--strict", s(&bad)], None);
    assert_eq!(code(&out), 1);
    // The report is never written over an input.
    let out = run(&["stats", "--html", s(&file), s(&file)], None);
    assert_eq!(code(&out), 2);
    // stdin.
    let out = run(&["stats", "--json", "-"], Some(&fs::read(&file).unwrap()));
    assert_eq!(code(&out), 0);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["inputs"][0]["file"], "-");
}
