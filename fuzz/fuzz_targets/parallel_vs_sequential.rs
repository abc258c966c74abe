//! `filter_slice` on 2 threads and on 1, and the sequential reader plus
//! `Filter::matches`, give the same entities for a filter drawn from the
//! input (a user, a channel, a time window).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stream_chat_export::{Entity, Filter, Parallel, ReaderBuilder, filter_slice};

type Seen = (Vec<(u64, Vec<u8>, Option<String>)>, Option<(u64, u64, u64)>);

/// The resolved channel, when it is compared: always with a channel
/// predicate; without one only with `FUZZ_ALL=1`, as the parallel path then
/// drops non-matching messages and channels before they reach the
/// resolution context (regression `parallel_resolves_channels_like_sequential`).
fn cid(e: &Entity<'_>, filter: &Filter) -> Option<String> {
    static ALL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let all = *ALL.get_or_init(|| std::env::var_os("FUZZ_ALL").is_some());
    (all || filter.has_channels())
        .then(|| e.cid().map(str::to_owned))
        .flatten()
}

fn parallel(b: &ReaderBuilder, p: &Parallel, data: &[u8], filter: &Filter, exact: bool) -> Seen {
    let mut list = Vec::new();
    let report = filter_slice(b, p, data, None, filter, |e| {
        list.push((e.offset(), e.record().to_vec(), cid(&e, filter)));
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
            list.push((e.offset(), e.record().to_vec(), cid(&e, &filter)));
        }
    }
    let r = reader.take_report();
    let sequential = (list, Some((r.records, r.entities, r.errors)));

    let chunk = 1 + (*chunk as usize % 64);
    let mut p = Parallel::new();
    p.chunk_size(chunk).prefilter(false).threads(2);
    assert_eq!(
        parallel(&builder, &p, data, &filter, true),
        sequential,
        "2 threads"
    );
    p.threads(1);
    assert_eq!(
        parallel(&builder, &p, data, &filter, true),
        sequential,
        "1 thread"
    );
    // With the prefilter, skipped lines are not validated: same entities.
    p.prefilter(true).threads(2);
    assert_eq!(
        parallel(&builder, &p, data, &filter, false).0,
        sequential.0,
        "prefilter"
    );
});
