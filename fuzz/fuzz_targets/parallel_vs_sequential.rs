//! A filter job on the engine on 2 threads and on 1, and the sequential reader plus
//! `Filter::matches`, give the same entities for a filter drawn from the
//! input (a user, a channel, a time window).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stream_chat_export::{Filter, Parallel, ReaderBuilder};

#[path = "engine_filter.rs"]
mod engine_filter;
use engine_filter::filter_slice;

type Seen = (Vec<(u64, Vec<u8>, Option<String>)>, Option<(u64, u64, u64)>);

/// Parallel and sequential agree: the same entities (offsets, bytes) and
/// counts; the same resolved channels when the filter has a channel
/// predicate, else (documented on `FilterJob`) an inherited channel is
/// the sequential one or left `None`, never another.
fn agree(par: &Seen, seq: &Seen, filter: &Filter, what: &str) {
    assert_eq!(par.1, seq.1, "{what}: counts");
    assert_eq!(par.0.len(), seq.0.len(), "{what}: entities");
    for (p, s) in par.0.iter().zip(&seq.0) {
        assert_eq!((p.0, &p.1), (s.0, &s.1), "{what}: entity");
        if filter.has_channels() {
            assert_eq!(p.2, s.2, "{what}: channel at {}", p.0);
        } else {
            assert!(
                p.2.is_none() || p.2 == s.2,
                "{what}: channel at {}: {:?} vs {:?}",
                p.0,
                p.2,
                s.2
            );
        }
    }
}

fn parallel(b: &ReaderBuilder, p: &Parallel, data: &[u8], filter: &Filter, exact: bool) -> Seen {
    let mut list = Vec::new();
    let report = filter_slice(b, p, data, filter, |e| {
        list.push((e.offset(), e.record().to_vec(), e.cid().map(str::to_owned)));
        Ok(())
    })
    .expect("lenient runs do not fail on in-memory data");
    // Lines ruled out by the prefilter are not records.
    assert_eq!(
        report.records,
        report.entities + report.errors,
        "{report:?}"
    );
    let counts = exact.then_some((report.records, report.entities, report.errors));
    (list, counts)
}

fuzz_target!(|input: &[u8]| {
    let [mode, pick, chunk, line, data @ ..] = input else {
        return;
    };
    let mut builder = ReaderBuilder::new();
    if line & 1 == 1 {
        builder.max_line(16 + (*line as usize) * 2);
    }

    // Everything, sequentially: the pool the filter is drawn from.
    let all: Vec<_> = builder.from_slice(data).flatten().collect();
    let pick = *pick as usize;
    let users: Vec<&str> = all.iter().filter_map(|e| e.user_id()).collect();
    let cids: Vec<&str> = all.iter().filter_map(|e| e.cid()).collect();
    let times: Vec<_> = all.iter().filter_map(|e| e.created_at()).collect();
    let mut filter = Filter::new();
    if mode & 1 == 1 {
        filter.user(
            users
                .get(pick % users.len().max(1))
                .copied()
                .unwrap_or("u1"),
        );
    }
    if mode & 2 == 2 {
        filter.channel(
            cids.get(pick % cids.len().max(1))
                .copied()
                .unwrap_or("messaging:c"),
        );
    }
    if mode & 4 == 4 && !times.is_empty() {
        let since = times[pick % times.len()].to_string();
        let until = times[(pick / 7) % times.len()].to_string();
        filter
            .since(&since)
            .expect("a Timestamp's text parses back");
        filter
            .until(&until)
            .expect("a Timestamp's text parses back");
    }

    // The sequential reference.
    let mut reader = builder.from_slice(data);
    let mut list = Vec::new();
    for e in reader.by_ref().flatten() {
        if filter.matches(&e) {
            list.push((e.offset(), e.record().to_vec(), e.cid().map(str::to_owned)));
        }
    }
    let r = reader.take_report();
    let sequential = (list, Some((r.records, r.entities, r.errors)));

    let chunk = 1 + (*chunk as usize % 64);
    let mut p = Parallel::new();
    p.chunk_size(chunk).prefilter(false).threads(2);
    let par = parallel(&builder, &p, data, &filter, true);
    agree(&par, &sequential, &filter, "2 threads");
    p.threads(1);
    let par = parallel(&builder, &p, data, &filter, true);
    agree(&par, &sequential, &filter, "1 thread");
    // With the prefilter, skipped lines are not validated: same entities.
    p.prefilter(true).threads(2);
    let par = parallel(&builder, &p, data, &filter, false);
    agree(
        &(par.0, None),
        &(sequential.0.clone(), None),
        &filter,
        "prefilter",
    );
});
