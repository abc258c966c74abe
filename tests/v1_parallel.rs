//! v1 documents in memory run in parallel (the pool indexes where values
//! end, the walker frames from that index, the pool decodes): everything
//! they give must be what the sequential reader gives on the same bytes —
//! entities with their offsets, bytes and resolved channels, errors with
//! their lines and bytes, the report — for every chunk size, including
//! cuts inside strings, escapes and backslash runs, and on damaged
//! documents, where the index must fall silent rather than guess.

mod common;

use common::seen::{Seen, seen_entity, seen_error};
use stream_chat_export::{
    Engine, Entity, ErrorMode, Filter, FilterJob, Format, Job, Keep, Out, Parallel, ReaderBuilder,
    Report,
};

/// Delivers every entity, resolving channels (so cids compare exactly).
struct All;

impl Job for All {
    type Partial = ();
    fn entity(&self, _: &Entity<'_>, _: &mut ()) -> Keep {
        Keep::Deliver
    }
    fn needs_context(&self) -> bool {
        true
    }
}

fn builder() -> ReaderBuilder {
    let mut b = ReaderBuilder::new();
    b.errors(ErrorMode::Yield);
    b
}

fn sequential(doc: &[u8], keep: &dyn Fn(&Entity<'_>) -> bool) -> (Vec<Seen>, Format) {
    let mut reader = builder().from_slice(doc);
    let mut out = Vec::new();
    for item in reader.by_ref() {
        match item {
            Ok(e) if keep(&e) => out.push(seen_entity(&e)),
            Ok(_) => {}
            Err(e) => out.push(seen_error(&e)),
        }
    }
    let format = reader.reader().map_or(Format::Empty, |r| r.format());
    (out, format)
}

fn parallel<J: Job<Partial = ()>>(
    job: &J,
    doc: &[u8],
    threads: usize,
    chunk: usize,
) -> (Vec<Seen>, Format) {
    let (seen, format, _) = parallel_report(job, doc, threads, chunk);
    (seen, format)
}

/// [`parallel`], with the run's report.
fn parallel_report<J: Job<Partial = ()>>(
    job: &J,
    doc: &[u8],
    threads: usize,
    chunk: usize,
) -> (Vec<Seen>, Format, Report) {
    let mut p = Parallel::new();
    p.threads(threads).chunk_size(chunk);
    let engine = Engine::new(&p).unwrap();
    let b = builder();
    let mut out = Vec::new();
    let outcome = engine
        .run(job)
        .builder(&b)
        .slice(doc, |o| {
            match o {
                Out::Entity(e) => out.push(seen_entity(&e)),
                Out::Error(e) => out.push(seen_error(&e)),
                Out::Partial(()) => {}
            }
            Ok(())
        })
        .unwrap();
    (out, outcome.format, outcome.report)
}

/// A filtered parallel run's entities against the sequential reader's:
/// the same records at the same offsets; inherited channels resolved the
/// same when `resolved`, else unresolved or equal (never another one).
fn same_filtered(got: &[Seen], want: &[Seen], resolved: bool, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (g, w) in got.iter().zip(want) {
        match (g, w) {
            (
                Seen::Entity {
                    cid: gc,
                    offset: go,
                    raw: gr,
                    ..
                },
                Seen::Entity {
                    cid: wc,
                    offset: wo,
                    raw: wr,
                    ..
                },
            ) => {
                assert_eq!((go, gr), (wo, wr), "{what}");
                if resolved {
                    assert_eq!(gc, wc, "{what}");
                } else {
                    assert!(gc.is_none() || gc == wc, "{what}");
                }
            }
            _ => assert_eq!(g, w, "{what}"),
        }
    }
}

const CHUNKS: &[usize] = &[1, 2, 7, 64, 100, 4096, 1 << 20];

fn agree(label: &str, doc: &[u8]) {
    let want = sequential(doc, &|_| true);
    for &chunk in CHUNKS {
        for threads in [1, 2] {
            let got = parallel(&All, doc, threads, chunk);
            let what = format!("{label}: {threads} threads, chunk {chunk}");
            assert_eq!(got.1, want.1, "{what}: format");
            for (i, (g, w)) in got.0.iter().zip(&want.0).enumerate() {
                assert_eq!(g, w, "{what}: item {i}");
            }
            assert_eq!(got.0.len(), want.0.len(), "{what}: items");
        }
    }
}

/// Texts that put brackets, quotes and backslash runs where chunk cuts land.
fn hostile(i: usize) -> String {
    let pieces = [
        r#"[}{]"#,
        r#"\\"#,
        r#"\""#,
        r#"\\\""#,
        r#"\u005b\u007d"#,
        "<script>alert(1)</script>",
        r#"{\"not\":\"json\"}"#,
        "\u{202e}rtl",
        r#"\n\t"#,
        ",:,",
    ];
    (0..(i % 7) + 1)
        .map(|k| pieces[(i * 3 + k) % pieces.len()])
        .collect()
}

fn message(i: usize, cid: Option<&str>) -> String {
    let cid = cid.map_or(String::new(), |c| format!(r#","cid":"{c}""#));
    format!(
        r#"{{"id":"m{i}","text":"{t}","type":"regular","user":{{"id":"user-{u}","name":"{t}"}},"attachments":[{{"type":"image","title":"{t}"}}],"latest_reactions":[],"reaction_counts":{{"like":{i}}},"mentioned_users":[]{cid},"created_at":"2024-03-0{d}T10:00:00Z"}}"#,
        t = hostile(i),
        u = i % 5,
        d = i % 9 + 1
    )
}

fn member(i: usize) -> String {
    format!(
        r#"{{"user_id":"user-{i}","user":{{"id":"user-{i}","name":"{}"}},"role":"member"}}"#,
        hostile(i + 1)
    )
}

fn channel_object(c: usize, messages: usize, pretty: bool) -> String {
    let cid = format!("messaging:ch-{c}");
    let sep = if pretty { ",\n    " } else { "," };
    let msgs: Vec<String> = (0..messages)
        .map(|i| message(c * 1000 + i, (i % 3 != 0).then_some(cid.as_str())))
        .collect();
    let members: Vec<String> = (0..messages.min(4)).map(member).collect();
    let (open, close) = if pretty {
        ("[\n    ", "\n  ]")
    } else {
        ("[", "]")
    };
    let nl = if pretty { "\n  " } else { "" };
    format!(
        r#"{{{nl}"channel":{{"id":"ch-{c}","type":"messaging","cid":"{cid}","name":"{}"}},{nl}"messages":{open}{}{close},{nl}"members":{open}{}{close}{}}}"#,
        hostile(c),
        msgs.join(sep),
        members.join(sep),
        if pretty { "\n" } else { "" }
    )
}

#[test]
fn channel_objects_of_every_shape_agree() {
    for pretty in [false, true] {
        let single = channel_object(1, 40, pretty);
        let _: serde_json::Value = serde_json::from_str(&single).expect("valid JSON");
        agree(&format!("single, pretty {pretty}"), single.as_bytes());
        let array = format!(
            "[{}]",
            (0..4)
                .map(|c| channel_object(c, 12, pretty))
                .collect::<Vec<_>>()
                .join(",\n")
        );
        let _: serde_json::Value = serde_json::from_str(&array).expect("valid JSON");
        agree(&format!("array, pretty {pretty}"), array.as_bytes());
        let wrapper = format!(r#"{{"exported_at":"2024-01-01","channels":{array}}}"#);
        agree(&format!("wrapper, pretty {pretty}"), wrapper.as_bytes());
    }
}

#[test]
fn damaged_documents_agree() {
    let good = channel_object(2, 30, false);
    let doc = good.as_bytes();
    // A damaged entity, a stray backslash outside strings, an extra
    // closing bracket, a cut inside a string, a missing comma.
    let at = |needle: &str| good.find(needle).expect("needle in the document");
    let cases: Vec<(String, Vec<u8>)> = vec![
        ("bad value in a message".into(), {
            let i = at(r#""type":"regular""#);
            [&doc[..i], br#""type":tru"#, &doc[i + 16..]].concat()
        }),
        ("backslash outside strings".into(), {
            let i = at(r#","members""#);
            [&doc[..i], br#",\"x","#, &doc[i + 1..]].concat()
        }),
        ("extra closing bracket".into(), {
            let i = at(r#","type":"regular""#);
            [&doc[..i], b"]", &doc[i..]].concat()
        }),
        ("cut inside a string".into(), doc[..doc.len() / 2].to_vec()),
        ("missing comma".into(), {
            let i = at(r#"},{"id":"m2005""#);
            [&doc[..i + 1], &doc[i + 2..]].concat()
        }),
        ("invalid UTF-8".into(), {
            let i = at("user-3");
            [&doc[..i], b"\xff", &doc[i..]].concat()
        }),
    ];
    for (label, doc) in &cases {
        agree(label, doc);
    }
}

/// The user prefilter on documents: only records holding the id are
/// decoded, and the entities are the sequential reader's.
#[test]
fn user_filter_agrees() {
    let array = format!(
        "[{}]",
        (0..3)
            .map(|c| channel_object(c, 25, c == 1))
            .collect::<Vec<_>>()
            .join(",")
    );
    for users in [vec!["user-3"], vec!["user-1", "user-4", "absent"]] {
        let mut filter = Filter::new();
        for u in &users {
            filter.user(*u);
        }
        for resolve in [false, true] {
            let job = FilterJob::new(filter.clone()).resolve_channels(resolve);
            let (want, _) = sequential(array.as_bytes(), &|e| filter.matches(e));
            assert!(want.len() > 10, "the filter keeps something");
            for &chunk in CHUNKS {
                let (got, _) = parallel(&job, array.as_bytes(), 2, chunk);
                same_filtered(&got, &want, resolve, &format!("{users:?}, chunk {chunk}"));
            }
        }
    }
}

/// The time prefilter on documents: only records holding a `created_at`
/// that may be in the window are decoded (nested ones count, so do
/// escapes that could spell the key), and the entities are the sequential
/// reader's.
#[test]
fn time_filter_agrees() {
    let channels: Vec<String> = (0..3)
        .map(|c| {
            let mut doc = channel_object(c, 27, c == 1);
            if c == 0 {
                // A nested time in the window on messages outside it.
                doc = doc.replace(
                    r#""user":{"id":"user-1","#,
                    r#""user":{"created_at":"2024-03-04T00:00:00Z","id":"user-1","#,
                );
            }
            if c == 2 {
                // The key spelled with an escape, and a time with an offset
                // that is inside the window in UTC only.
                doc = doc
                    .replacen(
                        r#""created_at":"2024-03-05"#,
                        r#""cr\u0065ated_at":"2024-03-05"#,
                        2,
                    )
                    .replacen(
                        r#""created_at":"2024-03-02T10:00:00Z""#,
                        r#""created_at":"2024-03-02T23:30:00-01:00""#,
                        1,
                    );
            }
            doc
        })
        .collect();
    let array = format!("[{}]", channels.join(","));
    let _: serde_json::Value = serde_json::from_str(&array).expect("valid JSON");
    let mut filter = Filter::new();
    filter
        .since("2024-03-03T00:00:00Z")
        .unwrap()
        .until("2024-03-06T00:00:00Z")
        .unwrap();
    let (want, _) = sequential(array.as_bytes(), &|e| filter.matches(e));
    assert!(want.len() > 10, "the window keeps something");
    assert!(
        want.iter().any(|s| matches!(s, Seen::Entity { raw, .. } if String::from_utf8_lossy(raw).contains("-01:00"))),
        "the offset time is in the window"
    );
    let job = FilterJob::new(filter.clone());
    for &chunk in CHUNKS {
        for threads in [1, 2] {
            let (got, _, report) = parallel_report(&job, array.as_bytes(), threads, chunk);
            let what = format!("{threads} threads, chunk {chunk}");
            same_filtered(&got, &want, false, &what);
            // The prefilter did its work: most records never decoded.
            assert!(
                report.skipped_by_prefilter > report.entities,
                "{what}: {} skipped, {} decoded",
                report.skipped_by_prefilter,
                report.entities
            );
        }
    }
}
