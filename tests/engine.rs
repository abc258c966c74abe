//! The engine against the sequential reader, for every job shape: a job
//! that resolves channels without a channel predicate, the error policies
//! (yield included) on the parallel path, counting on the workers
//! (`SummaryJob`), one engine reused across inputs, and the error type's
//! thread-safety.

mod common;

use common::seen::{Seen, seen_entity, seen_error};
use common::{all_inputs, decompressed, filter_cases};
use std::path::Path;
use stream_chat_export::{
    Engine, Entity, Error, ErrorMode, Filter, FilterJob, Input, Job, Keep, MmapChoice, Out,
    Parallel, ReaderBuilder, Summary, summarize,
};

/// The sequential reader in yield mode, keeping what `keep` accepts.
fn sequential(b: &ReaderBuilder, data: &[u8], keep: &dyn Fn(&Entity<'_>) -> bool) -> Vec<Seen> {
    let mut out = Vec::new();
    for item in b.from_slice(data) {
        match item {
            Ok(e) if keep(&e) => out.push(seen_entity(&e)),
            Ok(_) => {}
            Err(e) => out.push(seen_error(&e)),
        }
    }
    out
}

/// Every plain input, and the same bytes with damaged lines added, so the
/// error policy has something to do.
fn inputs() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (name, path) in all_inputs() {
        let bytes = decompressed(&std::fs::read(&path).unwrap());
        let mut damaged = bytes.clone();
        damaged.extend_from_slice(b"{\"type\":\"message\",\"item\":{\"id\":\n");
        damaged.extend_from_slice(b"{\"type\":\"member\",\"item\":{\"user_id\":\"u-after\",\"user\":{\"id\":\"u-after\"}}}\n");
        damaged.extend_from_slice(b"not json at all\n");
        out.push((name.clone(), bytes));
        out.push((format!("{name} + damage"), damaged));
    }
    out
}

/// Engines with every kind of chunking, rule-outs on (`prefilter`) or
/// off.
fn engines_with(prefilter: bool) -> Vec<(String, Engine)> {
    let mut out = Vec::new();
    for (threads, chunk) in [(1, 1 << 20), (2, 1), (2, 7), (2, 64)] {
        let mut p = Parallel::new();
        p.threads(threads).chunk_size(chunk).prefilter(prefilter);
        let engine = Engine::new(&p).unwrap();
        out.push((
            format!("{threads} threads, chunk {chunk}, rule-outs {prefilter}"),
            engine,
        ));
    }
    out
}

fn engines() -> Vec<(String, Engine)> {
    let mut out = engines_with(true);
    out.extend(engines_with(false));
    out
}

/// Only the entities of a run (lines ruled out undecoded are not
/// validated, so their errors are not seen with rule-outs on).
fn entities_only(seen: Vec<Seen>) -> Vec<Seen> {
    seen.into_iter()
        .filter(|s| matches!(s, Seen::Entity { .. }))
        .collect()
}

fn run_slice(engine: &Engine, job: &FilterJob, b: &ReaderBuilder, data: &[u8]) -> Vec<Seen> {
    let mut out = Vec::new();
    engine
        .run(job)
        .builder(b)
        .slice(data, |o| {
            match o {
                Out::Entity(e) => out.push(seen_entity(&e)),
                Out::Error(e) => out.push(seen_error(&e)),
                Out::Partial(()) => {}
            }
            Ok(())
        })
        .unwrap();
    out
}

fn run_stream(engine: &Engine, job: &FilterJob, b: &ReaderBuilder, data: &[u8]) -> Vec<Seen> {
    let mut out = Vec::new();
    engine
        .run(job)
        .builder(b)
        .reader(common_pieces(data), |o| {
            match o {
                Out::Entity(e) => out.push(seen_entity(&e)),
                Out::Error(e) => out.push(seen_error(&e)),
                Out::Partial(()) => {}
            }
            Ok(())
        })
        .unwrap();
    out
}

/// A reader that hands out `data` in irregular small pieces.
fn common_pieces(data: &[u8]) -> impl std::io::Read + Send + '_ {
    struct Pieces<'a>(&'a [u8], usize);
    impl std::io::Read for Pieces<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            self.1 += 1;
            let n = [1, 7, 300, 4096][self.1 % 4]
                .min(out.len())
                .min(self.0.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    Pieces(data, 0)
}

/// A job that resolves channels gives every entity the sequential
/// reader's `cid`, without a channel predicate, for every filter case —
/// and the yield policy hands out the same errors, at the same lines and
/// bytes, between the same entities, on slices and streams (all of them
/// with rule-outs off; with them on, lines ruled out are not validated,
/// so only the entities are compared).
#[test]
fn resolving_jobs_and_yielded_errors_equal_the_sequential_reader() {
    let mut b = ReaderBuilder::new();
    b.errors(ErrorMode::Yield);
    let engines = engines();
    let mut cases = filter_cases();
    cases.push(common::FilterCase {
        label: "everything",
        filter: Filter::new(),
        oracle: Box::new(|_| true),
    });
    for (name, data) in inputs() {
        for case in &cases {
            let filter = case.filter.clone();
            let want = sequential(&b, &data, &|e| filter.matches(e));
            let job = FilterJob::new(case.filter.clone()).resolve_channels(true);
            for (label, engine) in &engines {
                let what = format!("{name}, {}, {label}", case.label);
                let (slice, stream) = (
                    run_slice(engine, &job, &b, &data),
                    run_stream(engine, &job, &b, &data),
                );
                if engine.settings().uses_rule_outs() {
                    let want = entities_only(sequential(&b, &data, &|e| filter.matches(e)));
                    assert_eq!(entities_only(slice), want, "slice: {what}");
                    assert_eq!(entities_only(stream), want, "stream: {what}");
                } else {
                    assert_eq!(slice, want, "slice: {what}");
                    assert_eq!(stream, want, "stream: {what}");
                }
            }
        }
    }
}

/// Without resolution, a user filter's entities are the sequential
/// reader's, inherited channels aside (left unresolved, never guessed).
#[test]
fn non_resolving_user_filter_never_guesses_a_channel() {
    let b = ReaderBuilder::new();
    let mut filter = Filter::new();
    for user in common::many_users() {
        filter.user(user);
    }
    let job = FilterJob::new(filter.clone());
    for (name, data) in inputs() {
        let want = sequential(&b, &data, &|e| filter.matches(e));
        let want = entities_only(want);
        for (label, engine) in &engines() {
            let got = entities_only(run_slice(engine, &job, &b, &data));
            assert_eq!(got.len(), want.len(), "{name}, {label}");
            for (g, w) in got.iter().zip(&want) {
                match (g, w) {
                    (
                        Seen::Entity {
                            cid: gc, raw: gr, ..
                        },
                        Seen::Entity {
                            cid: wc, raw: wr, ..
                        },
                    ) => {
                        assert_eq!(gr, wr, "{name}, {label}");
                        assert!(
                            gc.is_none() || gc == wc,
                            "{name}, {label}: {gc:?} vs {wc:?}"
                        );
                    }
                    _ => assert_eq!(g, w, "{name}, {label}"),
                }
            }
        }
    }
}

/// Strict mode stops at the first bad record on every executor, with the
/// same error.
#[test]
fn strict_runs_stop_at_the_same_error() {
    let mut b = ReaderBuilder::new();
    b.errors(ErrorMode::Strict);
    let job = FilterJob::new(Filter::new());
    for (name, data) in inputs() {
        let want = b
            .from_slice(&data)
            .find_map(|r| r.err())
            .map(|e| e.to_string());
        for (label, engine) in &engines() {
            let got = engine
                .run(&job)
                .builder(&b)
                .slice(&data, |_| Ok(()))
                .err()
                .map(|e| e.to_string());
            assert_eq!(got, want, "{name}, {label}");
        }
    }
}

/// Counting on the workers (`SummaryJob`, merged partials) equals the
/// sequential summary, report included, through `Input::open` with and
/// without mapping — one engine for every file.
#[test]
fn summary_job_equals_the_sequential_summary() {
    let engine = Engine::new(Parallel::new().threads(2).chunk_size(5)).unwrap();
    let b = ReaderBuilder::new();
    for (name, path) in all_inputs() {
        let want = summarize(b.from_path(&path).unwrap()).unwrap();
        // SAFETY: fixtures are not modified while the tests run.
        for mmap in [MmapChoice::never(), unsafe { MmapChoice::auto() }] {
            let input = Input::open(&path, mmap).unwrap();
            let got = stream_chat_export::inspect(&engine, &b, input, Some(&path)).unwrap();
            let what = format!("{name}, mapped {}", mmap.maps());
            assert_eq!(got.summary, want.summary, "{what}");
            assert_eq!(got.format, want.format, "{what}");
            assert_eq!(got.compression, want.compression, "{what}");
            assert_eq!(got.report.records, want.report.records, "{what}");
            assert_eq!(got.report.entities, want.report.entities, "{what}");
            assert_eq!(got.report.errors, want.report.errors, "{what}");
            assert_eq!(got.report.blank_lines, want.report.blank_lines, "{what}");
            let errors = |r: &stream_chat_export::Report| -> Vec<String> {
                r.first_errors.iter().map(|e| e.to_string()).collect()
            };
            assert_eq!(errors(&got.report), errors(&want.report), "{what}");
        }
    }
}

/// A job's partials merge to the same answer whatever the chunking: a
/// job that counts per kind, and delivers every channel.
#[test]
fn partials_merge_to_the_sequential_answer() {
    struct PerKind;
    impl Job for PerKind {
        type Partial = Summary;
        fn entity(&self, e: &Entity<'_>, part: &mut Summary) -> Keep {
            part.add(e);
            if e.type_name() == "channel" {
                Keep::Deliver
            } else {
                Keep::Done
            }
        }
        fn needs_context(&self) -> bool {
            true
        }
    }
    let b = ReaderBuilder::new();
    for (name, data) in inputs() {
        let mut want = Summary::default();
        let mut want_channels = Vec::new();
        for e in b.from_slice(&data).flatten() {
            want.add(&e);
            if e.type_name() == "channel" {
                want_channels.push(e.offset());
            }
        }
        for (label, engine) in &engines() {
            let mut got = Summary::default();
            let mut channels = Vec::new();
            engine
                .run(&PerKind)
                .builder(&b)
                .slice(&data, |o| {
                    match o {
                        Out::Partial(p) => got.merge(p),
                        Out::Entity(e) => channels.push(e.offset()),
                        Out::Error(_) => panic!("lenient runs yield no errors"),
                    }
                    Ok(())
                })
                .unwrap();
            assert_eq!(got, want, "{name}, {label}");
            assert_eq!(channels, want_channels, "{name}, {label}");
        }
    }
}

/// Errors cross threads and chain: a pipeline can box them, send them
/// and walk their sources.
#[test]
fn error_is_send_sync_static_with_a_source() {
    fn assert_traits<E: std::error::Error + Send + Sync + 'static>() {}
    assert_traits::<Error>();
    let e = ReaderBuilder::new()
        .from_path(Path::new("/nonexistent/export.jsonl"))
        .err()
        .expect("a missing file is an error");
    let source = std::error::Error::source(&e).expect("an I/O error has its io::Error as source");
    assert!(source.downcast_ref::<std::io::Error>().is_some());
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(e);
    assert!(
        std::thread::spawn(move || boxed.to_string())
            .join()
            .unwrap()
            .contains("export.jsonl")
    );
}
