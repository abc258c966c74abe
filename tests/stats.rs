//! The analyzer (`StatsJob`) against an independent oracle computed with
//! `serde_json::Value` from the reading oracle's entities (tests/common),
//! on every fixture and sample; every executor, chunking and input path
//! against the sequential fold; and v1 against v2 of the same generated
//! data.

mod common;

#[allow(dead_code)]
#[path = "../examples/generate.rs"]
mod generate;

use common::*;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use stream_chat_export::{
    Engine, Input, Job, MmapChoice, Parallel, ReaderBuilder, Stats, StatsJob, Timestamp,
};

// ---------------------------------------------------------------- oracle

fn s(v: &Value) -> Option<&str> {
    v.as_str()
}

fn present(v: &Value) -> bool {
    !v.is_null()
}

fn time_of(e: &Expected) -> Option<Timestamp> {
    e.created_at.as_deref().and_then(Timestamp::parse)
}

fn bucket(chars: u64) -> usize {
    match chars {
        0 => 0,
        1..=10 => 1,
        11..=50 => 2,
        51..=100 => 3,
        101..=200 => 4,
        201..=500 => 5,
        501..=1000 => 6,
        _ => 7,
    }
}

fn min_t(slot: &mut Option<Timestamp>, t: Option<Timestamp>) {
    if let Some(t) = t
        && slot.is_none_or(|s| t < s)
    {
        *slot = Some(t);
    }
}

fn max_t(slot: &mut Option<Timestamp>, t: Option<Timestamp>) {
    if let Some(t) = t
        && slot.is_none_or(|s| t > s)
    {
        *slot = Some(t);
    }
}

fn ts(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| Value::String(t.to_string()))
}

/// The numbers the report must hold for the entities of one input, the
/// slow way.
fn oracle_stats(entities: &[Expected], top: usize) -> Value {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    let mut attachments: BTreeMap<String, u64> = BTreeMap::new();
    let mut m: BTreeMap<&str, u64> = BTreeMap::new();
    let (mut first, mut last) = (None, None);
    let mut buckets = [0u64; 8];
    let mut chars_total = 0u64;
    #[derive(Default)]
    struct Ch {
        messages: u64,
        replies: u64,
        members: u64,
        users: BTreeSet<String>,
        first: Option<Timestamp>,
        last: Option<Timestamp>,
    }
    #[derive(Default)]
    struct Us {
        messages: u64,
        replies: u64,
        given: u64,
        received: u64,
        channels: BTreeSet<String>,
        first: Option<Timestamp>,
        last: Option<Timestamp>,
    }
    let mut ch: BTreeMap<String, Ch> = BTreeMap::new();
    let mut us: BTreeMap<String, Us> = BTreeMap::new();
    let mut days: BTreeMap<String, (u64, u64, BTreeSet<String>)> = BTreeMap::new();
    let mut months: BTreeMap<String, u64> = BTreeMap::new();
    let mut heat = [[0u64; 24]; 7];
    // Threads by parent id: (replies, channel of the first reply with one,
    // first reply, parent time).
    type Thread = (u64, Option<String>, Option<Timestamp>, Option<Timestamp>);
    let mut threads: HashMap<String, Thread> = HashMap::new();
    let (mut rec_total, mut rec_type, mut rec_ch) = (0u64, BTreeMap::new(), BTreeMap::new());
    let (mut cnt_total, mut cnt_type, mut cnt_ch) = (0u64, BTreeMap::new(), BTreeMap::new());
    let mut top_list: Vec<(u64, String)> = Vec::new();
    for e in entities {
        *counts.entry(e.type_name.clone()).or_default() += 1;
        let v = &e.value;
        match e.type_name.as_str() {
            "channel" => {
                if let Some(c) = &e.cid {
                    ch.entry(c.clone()).or_default();
                }
            }
            "member" => {
                if let Some(c) = &e.cid {
                    ch.entry(c.clone()).or_default().members += 1;
                }
            }
            "reaction" => {
                let kind = s(&v["type"]).unwrap_or("unknown").to_string();
                rec_total += 1;
                *rec_type.entry(kind).or_insert(0u64) += 1;
                if let Some(c) = &e.cid {
                    *rec_ch.entry(c.clone()).or_insert(0u64) += 1;
                }
                if let Some(u) = &e.user_id {
                    let acc = us.entry(u.clone()).or_default();
                    acc.given += 1;
                    min_t(&mut acc.first, time_of(e));
                    max_t(&mut acc.last, time_of(e));
                }
            }
            "message" => {
                let t = time_of(e);
                let mtype = s(&v["type"]).unwrap_or("regular");
                *by_type.entry(mtype.to_string()).or_default() += 1;
                let parent = s(&v["parent_id"]).filter(|p| !p.is_empty());
                let reply = u64::from(parent.is_some());
                *m.entry("total").or_default() += 1;
                *m.entry("replies").or_default() += reply;
                *m.entry("edited").or_default() +=
                    u64::from(present(&v["message_text_updated_at"]));
                for flag in ["pinned", "shadowed", "silent"] {
                    *m.entry(flag).or_default() += u64::from(v[flag] == json!(true));
                }
                *m.entry("deleted").or_default() +=
                    u64::from(present(&v["deleted_at"]) || mtype == "deleted");
                let atts = v["attachments"].as_array().cloned().unwrap_or_default();
                *m.entry("with_attachments").or_default() += u64::from(!atts.is_empty());
                for a in &atts {
                    let k = s(&a["type"]).filter(|k| !k.is_empty()).unwrap_or("unknown");
                    *attachments.entry(k.to_string()).or_default() += 1;
                }
                let len = |k: &str| v[k].as_array().map_or(0, |a| a.len() as u64);
                let mentions = match len("mentioned_users") {
                    0 => len("mentioned_users_ids"),
                    n => n,
                };
                *m.entry("mentions").or_default() += mentions;
                *m.entry("without_channel").or_default() += u64::from(e.cid.is_none());
                *m.entry("without_user").or_default() += u64::from(e.user_id.is_none());
                *m.entry("without_time").or_default() += u64::from(t.is_none());
                min_t(&mut first, t);
                max_t(&mut last, t);
                let chars = s(&v["text"]).map_or(0, |t| t.chars().count() as u64);
                chars_total += chars;
                buckets[bucket(chars)] += 1;
                if let Some(c) = &e.cid {
                    let acc = ch.entry(c.clone()).or_default();
                    acc.messages += 1;
                    acc.replies += reply;
                    if let Some(u) = &e.user_id {
                        acc.users.insert(u.clone());
                    }
                    min_t(&mut acc.first, t);
                    max_t(&mut acc.last, t);
                }
                let rc: Vec<(String, u64)> = v["reaction_counts"]
                    .as_object()
                    .map(|o| {
                        o.iter()
                            .filter_map(|(k, n)| Some((k.clone(), n.as_u64().filter(|n| *n > 0)?)))
                            .collect()
                    })
                    .unwrap_or_default();
                let total: u64 = rc.iter().map(|(_, n)| n).sum();
                for (k, n) in &rc {
                    cnt_total += n;
                    *cnt_type.entry(k.clone()).or_insert(0u64) += n;
                    if let Some(c) = &e.cid {
                        *cnt_ch.entry(c.clone()).or_insert(0u64) += n;
                    }
                }
                if let Some(u) = &e.user_id {
                    let acc = us.entry(u.clone()).or_default();
                    acc.messages += 1;
                    acc.replies += reply;
                    acc.received += total;
                    if let Some(c) = &e.cid {
                        acc.channels.insert(c.clone());
                    }
                    min_t(&mut acc.first, t);
                    max_t(&mut acc.last, t);
                }
                if let Some(t) = t {
                    let dt = t.to_chrono();
                    let day = dt.format("%Y-%m-%d").to_string();
                    let d = days.entry(day).or_default();
                    d.0 += 1;
                    d.1 += reply;
                    if let Some(u) = &e.user_id {
                        d.2.insert(u.clone());
                    }
                    *months.entry(dt.format("%Y-%m").to_string()).or_default() += 1;
                    use chrono::{Datelike, Timelike};
                    heat[dt.weekday().num_days_from_monday() as usize][dt.hour() as usize] += 1;
                }
                if let Some(p) = parent {
                    let th = threads.entry(p.to_string()).or_default();
                    th.0 += 1;
                    if th.1.is_none() {
                        th.1 = e.cid.clone();
                    }
                    min_t(&mut th.2, t);
                }
                if v["reply_count"].as_i64().is_some_and(|n| n > 0)
                    && let Some(id) = &e.id
                    && t.is_some()
                {
                    min_t(&mut threads.entry(id.clone()).or_default().3, t);
                }
                if total > 0
                    && let Some(id) = &e.id
                {
                    top_list.push((total, id.clone()));
                }
            }
            _ => {}
        }
    }
    let (source, rx_total, rx_type, rx_ch) = if rec_total > 0 {
        ("reaction_records", rec_total, rec_type, rec_ch)
    } else if cnt_total > 0 {
        ("reaction_counts", cnt_total, cnt_type, cnt_ch)
    } else {
        ("none", 0, BTreeMap::new(), BTreeMap::new())
    };
    let live: Vec<_> = threads.values().filter(|t| t.0 > 0).collect();
    let mut per_ch_threads: BTreeMap<String, u64> = BTreeMap::new();
    for t in &live {
        if let Some(c) = &t.1 {
            *per_ch_threads.entry(c.clone()).or_default() += 1;
        }
    }
    let mut deltas: Vec<f64> = live
        .iter()
        .filter_map(|t| {
            let (p, r) = (t.3?, t.2?);
            let d = (r.unix_seconds() - p.unix_seconds()) as f64
                + (f64::from(r.subsec_nanos()) - f64::from(p.subsec_nanos())) / 1e9;
            Some(d.max(0.0))
        })
        .collect();
    deltas.sort_by(f64::total_cmp);
    for c in rx_ch.keys() {
        ch.entry(c.clone()).or_default();
    }
    let mut by_channel = Map::new();
    for (c, a) in &ch {
        by_channel.insert(
            c.clone(),
            json!({
                "messages": a.messages, "replies": a.replies,
                "threads": per_ch_threads.get(c).copied().unwrap_or(0),
                "active_users": a.users.len(), "members": a.members,
                "reactions": rx_ch.get(c).copied().unwrap_or(0),
                "first_message": ts(a.first), "last_message": ts(a.last),
            }),
        );
    }
    let mut by_user = Map::new();
    for (u, a) in &us {
        by_user.insert(
            u.clone(),
            json!({
                "messages": a.messages, "replies": a.replies,
                "reactions_given": a.given, "reactions_received": a.received,
                "channels": a.channels.len(),
                "first_activity": ts(a.first), "last_activity": ts(a.last),
            }),
        );
    }
    let by_day: Map<String, Value> = days
        .iter()
        .map(|(k, d)| {
            (
                k.clone(),
                json!({"messages": d.0, "replies": d.1, "active_users": d.2.len()}),
            )
        })
        .collect();
    let by_month: Map<String, Value> = months
        .iter()
        .map(|(k, n)| (k.clone(), json!({ "messages": n })))
        .collect();
    let total = m.get("total").copied().unwrap_or(0);
    let mut msg = json!({
        "by_type": by_type, "attachments": attachments,
        "first": ts(first), "last": ts(last),
    });
    for k in [
        "total",
        "replies",
        "edited",
        "pinned",
        "shadowed",
        "silent",
        "deleted",
        "with_attachments",
        "mentions",
        "without_channel",
        "without_user",
        "without_time",
    ] {
        msg[k] = json!(m.get(k).copied().unwrap_or(0));
    }
    msg["text_length"] = json!({"total_chars": chars_total, "buckets": buckets.to_vec()});
    top_list.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    top_list.truncate(top);
    json!({
        "counts": counts,
        "messages": msg,
        "reactions": {"source": source, "total": rx_total, "by_type": rx_type},
        "threads": {
            "threads": live.len(),
            "replies": live.iter().map(|t| t.0).sum::<u64>(),
            "replies_per_thread_max": live.iter().map(|t| t.0).max().unwrap_or(0),
            "median": deltas.get(deltas.len().saturating_sub(1) / 2),
            "measured": deltas.len(),
        },
        "by_channel": by_channel, "by_user": by_user, "by_day": by_day, "by_month": by_month,
        "hour_weekday": heat.iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
        "top_messages": top_list.iter().map(|(n, id)| json!([n, id])).collect::<Vec<_>>(),
        "total_messages": total,
    })
}

/// The report's values in the oracle's shape.
fn comparable(r: &Value) -> Value {
    let mut msg = r["messages"].clone();
    let tl = &r["messages"]["text_length"];
    msg["text_length"] = json!({
        "total_chars": tl["total_chars"],
        "buckets": tl["buckets"].as_array().unwrap().iter().map(|b| b["messages"].clone()).collect::<Vec<_>>(),
    });
    let th = &r["threads"];
    json!({
        "counts": r["counts"],
        "messages": msg,
        "reactions": r["reactions"],
        "threads": {
            "threads": th["threads"], "replies": th["replies"],
            "replies_per_thread_max": th["replies_per_thread_max"],
            "median": th["first_reply"]["median_seconds"],
            "measured": th["first_reply"]["measured"],
        },
        "by_channel": r["by_channel"], "by_user": r["by_user"], "by_day": r["by_day"],
        "by_month": r["by_month"], "hour_weekday": r["hour_weekday"],
        "top_messages": r["top"]["messages"].as_array().unwrap().iter()
            .map(|m| json!([m["reactions"], m["id"]])).collect::<Vec<_>>(),
        "total_messages": r["messages"]["total"],
    })
}

fn assert_matches_oracle(label: &str, got: &Value, want: &Value) {
    let mut got = comparable(got);
    let mut want = want.clone();
    // The median comes from a histogram: within its stated error.
    let (g, w) = (
        got["threads"]["median"].as_f64(),
        want["threads"]["median"].as_f64(),
    );
    match (g, w) {
        (Some(g), Some(w)) => assert!(
            (g - w).abs() <= w * 0.0100 + 1e-9,
            "{label}: median {g} vs {w}"
        ),
        (g, w) => assert_eq!(g, w, "{label}: median"),
    }
    got["threads"]["median"] = Value::Null;
    want["threads"]["median"] = Value::Null;
    for key in want.as_object().unwrap().keys() {
        assert_eq!(got[key], want[key], "{label}: {key}");
    }
}

// -------------------------------------------------------------- helpers

/// The sequential fold: the reader's entities through the job, one by one.
fn sequential(job: &StatsJob, b: &ReaderBuilder, data: &[u8]) -> Value {
    let mut stats = Stats::default();
    let mut r = b.from_slice(data);
    for e in r.by_ref().flatten() {
        job.entity(&e, &mut stats);
    }
    let reader = r.reader().expect("a reader");
    stats.end_input("input", reader.format(), reader.report());
    serde_json::to_value(stats.report(job)).unwrap()
}

fn engine(threads: usize, chunk: usize, prefilter: bool) -> Engine {
    let mut p = Parallel::new();
    p.threads(threads).chunk_size(chunk).prefilter(prefilter);
    Engine::new(&p).unwrap()
}

fn on_engine(engine: &Engine, job: &StatsJob, b: &ReaderBuilder, input: Input) -> Value {
    let (stats, _) = stream_chat_export::stats::collect(
        engine,
        b,
        job,
        input,
        Some(std::path::Path::new("input")),
    )
    .unwrap();
    serde_json::to_value(stats.report(job)).unwrap()
}

/// A reader that hands out `data` in irregular small pieces.
fn pieces(data: Vec<u8>) -> Box<dyn std::io::Read + Send> {
    struct Pieces(Vec<u8>, usize, usize);
    impl std::io::Read for Pieces {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            self.2 += 1;
            let n = [1, 7, 300, 4096][self.2 % 4]
                .min(out.len())
                .min(self.0.len() - self.1);
            out[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }
    Box::new(Pieces(data, 0, 0))
}

fn without_accounting(mut v: Value) -> Value {
    for i in v["inputs"].as_array_mut().unwrap() {
        for k in [
            "records",
            "entities",
            "errors",
            "skipped_by_prefilter",
            "channel_fallbacks",
        ] {
            i[k] = Value::Null;
        }
    }
    v
}

// ---------------------------------------------------------------- tests

/// Every fixture and sample: the report's numbers equal the oracle's.
#[test]
fn every_fixture_matches_the_oracle() {
    let job = StatsJob::new();
    let engine = engine(2, 64, true);
    for (name, path) in all_inputs() {
        let want = oracle_stats(&oracle_of(&path, false).entities, 10);
        let input = Input::open(&path, MmapChoice::never()).unwrap();
        let got = on_engine(&engine, &job, &ReaderBuilder::new(), input);
        assert_matches_oracle(&name, &got, &want);
    }
}

/// Filters compose: the statistics of one user, one channel, a window —
/// the oracle over the entities the filter's own oracle keeps.
#[test]
fn filtered_statistics_match_the_oracle() {
    let engine = engine(2, 7, true);
    for (name, path) in all_inputs() {
        let entities = oracle_of(&path, false).entities;
        for case in filter_cases() {
            let kept: Vec<Expected> = entities
                .iter()
                .filter(|e| (case.oracle)(e))
                .cloned()
                .collect();
            let want = oracle_stats(&kept, 10);
            let job = StatsJob::new().filter(case.filter.clone());
            let input = Input::open(&path, MmapChoice::never()).unwrap();
            let got = on_engine(&engine, &job, &ReaderBuilder::new(), input);
            assert_matches_oracle(&format!("{name}, {}", case.label), &got, &want);
        }
    }
}

/// The engine's report equals the sequential fold exactly, for every
/// chunking, thread count and rule-out setting, over slices (as mapped
/// files) and streams, with and without filters (damaged inputs too).
#[test]
fn parallel_equals_sequential_on_every_path() {
    let b = ReaderBuilder::new();
    let mut jobs = vec![("everything".to_string(), StatsJob::new().top(3))];
    for case in filter_cases() {
        jobs.push((case.label.to_string(), StatsJob::new().filter(case.filter)));
    }
    let engines: Vec<(String, Engine)> = [(1, 1 << 20), (2, 1), (2, 7), (2, 64)]
        .into_iter()
        .flat_map(|(t, c)| {
            [true, false].map(|p| {
                (
                    format!("{t} threads, chunk {c}, rule-outs {p}"),
                    engine(t, c, p),
                )
            })
        })
        .collect();
    for (name, path) in all_inputs() {
        let mut data = decompressed(&std::fs::read(&path).unwrap());
        if name.contains("damage") {
            continue;
        }
        let clean = data.clone();
        data.extend_from_slice(b"{\"type\":\"message\",\"item\":{\"id\":\n");
        for bytes in [clean, data] {
            for (label, job) in &jobs {
                let want = without_accounting(sequential(job, &b, &bytes));
                for (what, engine) in &engines {
                    let at = format!("{name}, {label}, {what}");
                    let dir = tempfile::tempdir().unwrap();
                    let file = dir.path().join("input");
                    std::fs::write(&file, &bytes).unwrap();
                    // SAFETY: the temporary file is not modified meanwhile.
                    let mapped = Input::open(&file, unsafe { MmapChoice::auto() }).unwrap();
                    let got = on_engine(engine, job, &b, mapped);
                    assert_eq!(without_accounting(got), want, "mapped: {at}");
                    let stream = Input::Stream(pieces(bytes.clone()));
                    let got = on_engine(engine, job, &b, stream);
                    assert_eq!(without_accounting(got), want, "stream: {at}");
                }
            }
        }
    }
}

/// Merging whole inputs: two files give the sum of each, whatever the
/// order of the merges (partials of either grouping agree).
#[test]
fn merging_inputs_is_associative() {
    let job = StatsJob::new();
    let engine = engine(2, 64, true);
    let paths: Vec<_> = all_inputs().into_iter().map(|(_, p)| p).take(6).collect();
    let each: Vec<Stats> = paths
        .iter()
        .map(|p| {
            let input = Input::open(p, MmapChoice::never()).unwrap();
            stream_chat_export::stats::collect(&engine, &ReaderBuilder::new(), &job, input, Some(p))
                .unwrap()
                .0
        })
        .collect();
    let mut left = Stats::default();
    for s in each.iter().cloned() {
        left.merge(s);
    }
    let mut right = Stats::default();
    let (a, rest) = each.split_at(3);
    let mut tail = Stats::default();
    for s in rest.iter().cloned() {
        tail.merge(s);
    }
    for s in a.iter().cloned() {
        right.merge(s);
    }
    right.merge(tail);
    assert_eq!(
        serde_json::to_value(left.report(&job)).unwrap(),
        serde_json::to_value(right.report(&job)).unwrap()
    );
}

/// The same generated data as v2 lines (reaction records) and as v1
/// documents built from them (reactions only inside the messages) give
/// the same numbers, reactions by type and channel included; only who
/// gave a reaction is unknown to v1.
#[test]
fn v1_and_v2_of_the_same_data_agree() {
    let dir = tempfile::tempdir().unwrap();
    let v2 = dir.path().join("export.jsonl");
    generate::generate_file(
        v2.to_str().unwrap(),
        1 << 20,
        false,
        "item",
        "object",
        false,
        11,
        None,
    )
    .unwrap();
    let entities = oracle_of(&v2, false).entities;
    // v1: one channel object per channel, its members and messages.
    let mut units: Vec<(String, Value, Vec<Value>, Vec<Value>)> = Vec::new();
    for e in &entities {
        match e.type_name.as_str() {
            "channel" => units.push((e.cid.clone().unwrap(), e.value.clone(), vec![], vec![])),
            "member" | "message" => {
                let unit = units
                    .iter_mut()
                    .find(|u| Some(&u.0) == e.cid.as_ref())
                    .expect("channels come first");
                if e.type_name == "member" {
                    unit.3.push(e.value.clone());
                } else {
                    unit.2.push(e.value.clone());
                }
            }
            _ => {}
        }
    }
    let doc: Vec<Value> = units
        .into_iter()
        .map(|(_, c, messages, members)| json!({"channel": c, "messages": messages, "members": members}))
        .collect();
    let v1 = dir.path().join("export.json");
    std::fs::write(&v1, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();

    let job = StatsJob::new();
    let engine = engine(2, 4096, true);
    let report = |p: &std::path::Path| {
        let input = Input::open(p, MmapChoice::never()).unwrap();
        on_engine(&engine, &job, &ReaderBuilder::new(), input)
    };
    let (a, b) = (report(&v2), report(&v1));
    // Both against the oracle too (the generated data has threads with
    // measured first replies, attachments, mentions, edits).
    assert_matches_oracle("generated v2", &a, &oracle_stats(&entities, 10));
    assert_matches_oracle(
        "generated v1",
        &b,
        &oracle_stats(&oracle_of(&v1, false).entities, 10),
    );
    assert!(a["threads"]["first_reply"]["measured"].as_u64().unwrap() > 5);
    assert_eq!(a["inputs"][0]["format"], "v2");
    assert_eq!(b["inputs"][0]["format"], "v1");
    assert_eq!(a["reactions"]["source"], "reaction_records");
    assert_eq!(b["reactions"]["source"], "reaction_counts");
    assert!(a["reactions"]["total"].as_u64().unwrap() > 30);
    for key in [
        "messages",
        "threads",
        "by_channel",
        "by_day",
        "by_week",
        "by_month",
        "by_hour",
        "by_weekday",
        "hour_weekday",
    ] {
        assert_eq!(a[key], b[key], "{key}");
    }
    assert_eq!(a["reactions"]["total"], b["reactions"]["total"]);
    assert_eq!(a["reactions"]["by_type"], b["reactions"]["by_type"]);
    assert_eq!(a["top"]["messages"], b["top"]["messages"]);
    assert_eq!(a["top"]["channels"], b["top"]["channels"]);
    for (id, u) in b["by_user"].as_object().unwrap() {
        let w = &a["by_user"][id];
        for k in ["messages", "replies", "reactions_received", "channels"] {
            assert_eq!(u[k], w[k], "user {id}: {k}");
        }
    }
}

/// A zone moves days and hours: a message at 23:30 UTC is the next day
/// in Berlin, an hour later in winter and two in summer.
#[test]
fn zone_offsets_move_days_and_hours() {
    let data = br#"{"type":"message","item":{"id":"a","cid":"m:x","text":"hi","user":{"id":"u"},"created_at":"2024-01-15T23:30:00Z"}}
{"type":"message","item":{"id":"b","cid":"m:x","text":"hi","user":{"id":"u"},"created_at":"2024-07-15T23:30:00Z"}}
"#;
    let berlin = std::sync::Arc::new(|secs: i64| {
        if (1_711_846_800..1_729_990_800).contains(&secs) {
            7200
        } else {
            3600
        }
    });
    let job = StatsJob::new().zone("Europe/Berlin", berlin);
    let got = sequential(&job, &ReaderBuilder::new(), data);
    assert_eq!(got["zone"], "Europe/Berlin");
    let days: Vec<&String> = got["by_day"].as_object().unwrap().keys().collect();
    assert_eq!(days, ["2024-01-16", "2024-07-16"]);
    assert_eq!(got["hour_weekday"][1][0], 1); // Tuesday 00:30 CET
    assert_eq!(got["hour_weekday"][1][1], 1); // Tuesday 01:30 CEST
    let utc = sequential(&StatsJob::new(), &ReaderBuilder::new(), data);
    assert_eq!(utc["hour_weekday"][0][23], 2); // Monday 23:30 UTC
}

/// Distinct counts past the exact threshold are estimates, said so in the
/// report, and parallel still equals sequential.
#[test]
fn sketched_distinct_counts_are_flagged_and_exact_across_executors() {
    let mut data = Vec::new();
    for i in 0..3000 {
        data.extend_from_slice(
            format!(
                "{{\"type\":\"message\",\"item\":{{\"id\":\"m{i}\",\"cid\":\"m:big\",\"text\":\"x\",\"user\":{{\"id\":\"user-{i}\"}},\"created_at\":\"2024-03-01T10:00:00Z\"}}}}\n"
            )
            .as_bytes(),
        );
    }
    let job = StatsJob::new();
    let want = sequential(&job, &ReaderBuilder::new(), &data);
    let n = want["by_channel"]["m:big"]["active_users"]
        .as_u64()
        .unwrap();
    assert!((n as f64 - 3000.0).abs() < 3000.0 * 0.05, "{n}");
    assert_eq!(want["accuracy"]["distinct_estimated"], 2); // channel and day
    for chunk in [1, 97, 4096] {
        let got = on_engine(
            &engine(2, chunk, true),
            &job,
            &ReaderBuilder::new(),
            Input::Stream(pieces(data.clone())),
        );
        assert_eq!(
            without_accounting(got),
            without_accounting(want.clone()),
            "chunk {chunk}"
        );
    }
}

/// Bad records are counted as errors, never as entities.
#[test]
fn bad_records_are_errors_not_entities() {
    let data = b"{\"type\":\"message\",\"item\":{\"id\":\"m1\",\"cid\":\"a:b\",\"text\":\"hi\"}}\n{\"type\":\"message\",\"item\":{\"id\":\"m2\",\"text\":\"hi\"\n";
    let got = on_engine(
        &engine(2, 8, true),
        &StatsJob::new(),
        &ReaderBuilder::new(),
        Input::Stream(pieces(data.to_vec())),
    );
    assert_eq!(got["counts"]["message"], 1);
    assert_eq!(got["inputs"][0]["errors"], 1);
}
