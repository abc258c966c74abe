//! `filter_reader`: streams (any `Read`, gzip) decoded in parallel from
//! line-aligned batches give exactly what the same bytes give in memory
//! (`filter_slice`) and what the sequential reader gives — for every
//! fixture and sample, many filters, tiny irregular reads, gzip, 1 and 2
//! threads, chunks down to 1 byte; strict-mode errors, over-long lines,
//! read errors mid-stream, truncated gzip; and the reading thread never
//! runs further ahead than the settings allow.

mod common;

use common::{ErrInfo, all_inputs, decompressed, filter_cases, gzip, is_gzip};
use common::{filter_reader, filter_slice};
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use stream_chat_export::{Error, ErrorKind, Filter, Parallel, ReaderBuilder, Report};

/// A reader that hands out 1 to 7 bytes per call (a fixed pseudo-random
/// sequence), and fails with an I/O error once `fail_at` bytes are out.
struct Tiny {
    data: Vec<u8>,
    pos: usize,
    seed: u64,
    fail_at: Option<usize>,
}

impl Tiny {
    fn new(data: &[u8]) -> Tiny {
        Tiny {
            data: data.to_vec(),
            pos: 0,
            seed: 0x2545_f491_4f6c_dd1d ^ data.len() as u64,
            fail_at: None,
        }
    }

    fn failing(data: &[u8], at: usize) -> Tiny {
        Tiny {
            fail_at: Some(at),
            ..Tiny::new(data)
        }
    }
}

impl Read for Tiny {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let end = self.fail_at.unwrap_or(self.data.len()).min(self.data.len());
        if self.pos >= end {
            return match self.fail_at {
                Some(_) => Err(io::Error::other("boom")),
                None => Ok(0),
            };
        }
        self.seed = self
            .seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let want = 1 + (self.seed >> 33) as usize % 7;
        let n = want.min(out.len()).min(end - self.pos);
        out[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// What a run handed out: kind, record bytes, offset, cid, user.
type Item = (String, Vec<u8>, u64, Option<String>, Option<String>);

fn item(e: &stream_chat_export::Entity<'_>) -> Item {
    (
        e.type_name().to_string(),
        e.record().to_vec(),
        e.offset(),
        e.cid().map(str::to_string),
        e.user_id().map(str::to_string),
    )
}

/// A run's outcome: items, then the report's counts and kept errors (or
/// the error that ended it).
#[derive(Debug, PartialEq)]
struct Outcome {
    items: Vec<Item>,
    counts: Option<Counts>,
    errors: Vec<ErrInfo>,
    failed: Option<ErrInfo>,
}

#[derive(Debug, PartialEq, Clone, Copy)]
struct Counts {
    records: u64,
    entities: u64,
    errors: u64,
    blank_lines: u64,
    lossy: u64,
    skipped_by_prefilter: u64,
}

impl Counts {
    fn of(r: &Report) -> Counts {
        Counts {
            records: r.records,
            entities: r.entities,
            errors: r.errors,
            blank_lines: r.blank_lines,
            lossy: r.lossy,
            skipped_by_prefilter: r.skipped_by_prefilter,
        }
    }
}

fn outcome(items: Vec<Item>, result: stream_chat_export::Result<Report>) -> Outcome {
    match result {
        Ok(report) => Outcome {
            items,
            counts: Some(Counts::of(&report)),
            errors: report.first_errors.iter().map(ErrInfo::of).collect(),
            failed: None,
        },
        Err(e) => Outcome {
            items,
            counts: None,
            errors: Vec::new(),
            failed: Some(ErrInfo::of(&e)),
        },
    }
}

fn builder() -> ReaderBuilder {
    let mut b = ReaderBuilder::new();
    b.max_errors_kept(1000);
    b
}

fn parallel(threads: usize, chunk: usize, prefilter: bool) -> Parallel {
    let mut p = Parallel::new();
    p.threads(threads).chunk_size(chunk).prefilter(prefilter);
    p
}

fn stream(b: &ReaderBuilder, p: &Parallel, input: impl Read + Send, filter: &Filter) -> Outcome {
    let mut items = Vec::new();
    let result = filter_reader(b, p, input, None, filter, |e| {
        items.push(item(&e));
        Ok(())
    });
    outcome(items, result)
}

fn slice(b: &ReaderBuilder, p: &Parallel, input: &[u8], filter: &Filter) -> Outcome {
    let mut items = Vec::new();
    let result = filter_slice(b, p, input, None, filter, |e| {
        items.push(item(&e));
        Ok(())
    });
    outcome(items, result)
}

/// The sequential reader over any stream, with the filter applied after.
fn sequential(b: &ReaderBuilder, input: impl Read, filter: &Filter) -> Outcome {
    let mut items = Vec::new();
    let mut reader = match b.from_reader(input) {
        Ok(r) => r,
        Err(e) => return outcome(items, Err(e)),
    };
    let mut failed = None;
    while let Some(next) = reader.next_entity() {
        match next {
            Ok(e) if filter.matches(&e) => items.push(item(&e)),
            Ok(_) => {}
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    match failed {
        Some(e) => outcome(items, Err(e)),
        None => outcome(
            items,
            Ok(std::mem::take(&mut reader.into_owned_iter().report_take())),
        ),
    }
}

/// Is `plain` a v1 document (or a legacy import array)? Its bytes in
/// memory run in parallel, where — as for line files — an inherited
/// channel is resolved only when the job needs it and records are ruled
/// out by bytes; as a stream it runs on the sequential reader, which
/// resolves every channel and decodes every record.
fn is_document(plain: &[u8]) -> bool {
    let mut reader = stream_chat_export::ReaderBuilder::new().from_slice(plain);
    reader.by_ref().for_each(drop);
    reader.reader().is_some_and(|r| {
        matches!(
            r.format(),
            stream_chat_export::Format::V1 | stream_chat_export::Format::ImportLegacy
        )
    })
}

/// A stream's outcome against the same bytes in memory: equal for line
/// files; for a document (see [`is_document`]) the same entities with the
/// slice's inherited channels unresolved or equal, and — every record
/// decoded on both paths without the prefilter — the same counts and
/// errors.
fn assert_stream_is_slice(
    stream: &Outcome,
    slice: &Outcome,
    document: bool,
    prefilter: bool,
    filter: &Filter,
    what: &str,
) {
    if !document {
        assert_eq!(stream, slice, "{what}: stream vs slice");
        return;
    }
    assert_same_entities(&slice.items, &stream.items, filter, what);
    assert_eq!(stream.failed, slice.failed, "{what}: stream vs slice");
    if !prefilter {
        assert_eq!(stream.counts, slice.counts, "{what}: stream vs slice");
        assert_eq!(stream.errors, slice.errors, "{what}: stream vs slice");
    }
}

/// Entities agree with the sequential reader's: the same kind, bytes,
/// offset and user, and the same channel — except that without a channel
/// predicate the parallel path leaves an inherited channel unresolved
/// (documented on `filter_slice`), never another.
fn assert_same_entities(got: &[Item], want: &[Item], filter: &Filter, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: number of entities");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(
            (&g.0, &g.1, g.2, &g.4),
            (&w.0, &w.1, w.2, &w.4),
            "{what}: entity {i}"
        );
        if filter.has_channels() {
            assert_eq!(g.3, w.3, "{what}: entity {i}: cid");
        } else {
            assert!(g.3.is_none() || g.3 == w.3, "{what}: entity {i}: cid");
        }
    }
}

/// Errors agree, except where a broken gzip stream was noticed: that
/// depends on how the decoder was fed.
fn assert_same_errors(got: &[ErrInfo], want: &[ErrInfo], what: &str) {
    let strip = |e: &[ErrInfo]| -> Vec<ErrInfo> {
        e.iter()
            .map(|e| {
                let mut e = e.clone();
                if e.is_gzip() {
                    e.byte = None;
                    e.line = None;
                    e.display = String::new();
                }
                e
            })
            .collect()
    };
    assert_eq!(strip(got), strip(want), "{what}: errors");
}

/// Threads, chunk size, prefilter: both thread counts, chunks from one
/// byte (a batch boundary after nearly every line, a chunk boundary inside
/// every line) to larger than any fixture, the prefilter on and off.
const CONFIGS: &[(usize, usize, bool)] = &[
    (1, 1, true),
    (2, 1, false),
    (2, 7, true),
    (1, 64, false),
    (2, 64, true),
    (2, 1 << 20, false),
    (1, 1 << 20, true),
];

#[test]
fn streams_agree_with_slices_and_the_sequential_reader() {
    let b = builder();
    for (name, path) in all_inputs() {
        let raw = std::fs::read(&path).unwrap();
        let plain = decompressed(&raw);
        let gz = if is_gzip(&raw) {
            raw.clone()
        } else {
            gzip(&plain)
        };
        let document = is_document(&plain);
        for common::FilterCase { label, filter, .. } in filter_cases() {
            let want = sequential(&b, &plain[..], &filter);
            let want_gz = sequential(&b, &gz[..], &filter);
            for &(threads, chunk, prefilter) in CONFIGS {
                let what = format!(
                    "{name} / {label}: threads {threads}, chunk {chunk}, prefilter {prefilter}"
                );
                let p = parallel(threads, chunk, prefilter);
                let in_memory = slice(&b, &p, &plain, &filter);
                // (a) plain bytes in tiny irregular reads: exactly
                // what the same bytes in memory give.
                let got = stream(&b, &p, Tiny::new(&plain), &filter);
                let what_tiny = format!("{what}: tiny reads");
                assert_stream_is_slice(&got, &in_memory, document, prefilter, &filter, &what_tiny);
                assert_same_entities(&got.items, &want.items, &filter, &what);
                if !prefilter {
                    // Every record decoded: the sequential counts.
                    assert_eq!(got.counts, want.counts, "{what}: counts");
                    assert_eq!(got.errors, want.errors, "{what}: errors");
                }
                // (b) gzip, in tiny reads.
                let what = format!("{what} (gzip)");
                let got = stream(&b, &p, Tiny::new(&gz), &filter);
                assert_same_entities(&got.items, &want_gz.items, &filter, &what);
                if document {
                    // The stream went through the sequential reader.
                    assert_same_entities(&in_memory.items, &got.items, &filter, &what);
                } else {
                    assert_eq!(got.items, in_memory.items, "{what}: vs slice");
                    let broken = want_gz.errors.iter().any(ErrInfo::is_gzip);
                    let counts = got.counts.unwrap();
                    let mut expect = in_memory.counts.unwrap();
                    if broken {
                        // The slice holds the decodable prefix; the
                        // stream also reports where it broke.
                        expect.records += 1;
                        expect.errors += 1;
                        assert!(got.errors.last().unwrap().is_gzip(), "{what}");
                        assert_eq!(got.errors[..got.errors.len() - 1], in_memory.errors);
                    } else {
                        assert_eq!(got.errors, in_memory.errors, "{what}");
                    }
                    assert_eq!(counts, expect, "{what}: counts");
                }
                if !prefilter {
                    assert_eq!(got.counts, want_gz.counts, "{what}: counts");
                    assert_same_errors(&got.errors, &want_gz.errors, &what);
                }
            }
        }
    }
}

/// Whole reads (as many bytes as asked for) put long stretches, many
/// lines and batches, into each read: the other extreme from tiny reads.
#[test]
fn whole_reads_agree_too() {
    let b = builder();
    for (name, path) in all_inputs() {
        let plain = decompressed(&std::fs::read(&path).unwrap());
        let document = is_document(&plain);
        for common::FilterCase { label, filter, .. } in filter_cases() {
            for chunk in [1, 64, 1 << 20] {
                let p = parallel(2, chunk, true);
                let what = format!("{name} / {label}: chunk {chunk}");
                let got = stream(&b, &p, &plain[..], &filter);
                let in_memory = slice(&b, &p, &plain, &filter);
                assert_stream_is_slice(&got, &in_memory, document, true, &filter, &what);
            }
        }
    }
}

#[test]
fn strict_errors_are_the_same() {
    let mut b = builder();
    b.strict(true);
    for (name, path) in all_inputs() {
        let raw = std::fs::read(&path).unwrap();
        let plain = decompressed(&raw);
        let gz = if is_gzip(&raw) {
            raw.clone()
        } else {
            gzip(&plain)
        };
        let none = Filter::new();
        let want = sequential(&b, &plain[..], &none);
        let want_gz = sequential(&b, &gz[..], &none);
        for threads in [1, 2] {
            for chunk in [1, 7, 1 << 20] {
                let what = format!("{name}: strict, threads {threads}, chunk {chunk}");
                // Without the prefilter every record is validated: the
                // sequential reader's first error, same kind, byte, line.
                let p = parallel(threads, chunk, false);
                let got = stream(&b, &p, Tiny::new(&plain), &none);
                assert_eq!(got.failed, want.failed, "{what}");
                assert_same_entities(&got.items, &want.items, &none, &what);
                let what = format!("{what} (gzip)");
                let got = stream(&b, &p, Tiny::new(&gz), &none);
                assert_same_errors(got.failed.as_slice(), want_gz.failed.as_slice(), &what);
                assert_same_entities(&got.items, &want_gz.items, &none, &what);
                // With the prefilter, what the slice gives.
                let mut f = Filter::new();
                f.user("user-17");
                let p = parallel(threads, chunk, true);
                let got = stream(&b, &p, Tiny::new(&plain), &f);
                let in_memory = slice(&b, &p, &plain, &f);
                let what = format!("{what} (prefilter)");
                assert_stream_is_slice(&got, &in_memory, is_document(&plain), true, &f, &what);
            }
        }
    }
}

/// Lines of `lens` bytes each (valid JSON objects of exactly that length
/// when it is at least 30), joined by `\n`.
fn lines_of(lens: &[usize], final_newline: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, &len) in lens.iter().enumerate() {
        let head = format!(r#"{{"id":"u{i}","user":{{"id":"user-17"}},"name":""#);
        let pad = len.saturating_sub(head.len() + 2);
        out.extend_from_slice(head.as_bytes());
        out.extend(std::iter::repeat_n(b'x', pad));
        out.extend_from_slice(b"\"}");
        if i + 1 < lens.len() || final_newline {
            out.push(b'\n');
        }
    }
    out
}

#[test]
fn lines_longer_than_max_line() {
    let cases: &[(&[usize], bool)] = &[
        (&[60, 500, 60], true),
        (&[500, 60, 60], true),
        (&[60, 60, 500], true),
        (&[60, 60, 500], false),
        (&[60, 500, 501, 502, 60, 60], true),
        (&[500, 500, 500], false),
        (&[100, 101, 99, 100, 5000, 100], true),
        (&[60, 60, 20_000, 60], false),
    ];
    for &(lens, final_newline) in cases {
        let data = lines_of(lens, final_newline);
        let mut b = builder();
        b.max_line(100).buffer_size(64);
        for (label, filter) in [
            ("none", Filter::new()),
            ("user", {
                let mut f = Filter::new();
                f.user("user-17");
                f
            }),
        ] {
            let want = sequential(&b, &data[..], &filter);
            let long = lens.iter().filter(|&&l| l > 100).count() as u64;
            assert_eq!(want.counts.unwrap().errors, long, "{lens:?}");
            for threads in [1, 2] {
                for chunk in [1, 16, 1 << 20] {
                    for prefilter in [true, false] {
                        let what = format!(
                            "{lens:?} / {label}: threads {threads}, chunk {chunk}, prefilter {prefilter}"
                        );
                        let p = parallel(threads, chunk, prefilter);
                        let in_memory = slice(&b, &p, &data, &filter);
                        // Over-long lines are errors on every path, with
                        // the prefilter too: the sequential errors.
                        assert_eq!(in_memory.errors, want.errors, "{what}: slice");
                        for (how, got) in [
                            ("tiny", stream(&b, &p, Tiny::new(&data), &filter)),
                            ("whole", stream(&b, &p, &data[..], &filter)),
                            ("gzip", stream(&b, &p, Tiny::new(&gzip(&data)), &filter)),
                        ] {
                            assert_eq!(got, in_memory, "{what}: {how}");
                            assert_same_entities(&got.items, &want.items, &filter, &what);
                        }
                    }
                }
            }
            // Strict: the first over-long line stops the run, at its start.
            let mut strict = b.clone();
            strict.strict(true);
            let want = sequential(&strict, &data[..], &filter);
            let got = stream(&strict, &parallel(2, 16, true), Tiny::new(&data), &filter);
            assert_same_entities(&got.items, &want.items, &filter, "strict");
            assert_eq!(got.failed, want.failed, "{lens:?}: strict");
            assert_eq!(got.failed.as_ref().unwrap().kind, "LineTooLong");
        }
    }
}

/// A read error in the middle of the stream (at every point of a small
/// file: in the first line during format detection, mid-line, at a line
/// end): the records before it, the partial line as a record of its own,
/// then the I/O error at the same byte and line as the sequential reader —
/// returned in lenient mode too.
#[test]
fn read_error_mid_stream() {
    let path = common::input_path("v2_item.jsonl");
    let data = std::fs::read(path).unwrap();
    let data = &data[..data.len().min(1500)];
    for strict in [false, true] {
        let mut b = builder();
        b.strict(strict);
        for at in (0..data.len()).step_by(7).chain([data.len()]) {
            let none = Filter::new();
            let want = sequential(&b, Tiny::failing(data, at), &none);
            let what = format!("error at {at}, strict {strict}");
            let failed = want.failed.as_ref().expect("the error surfaces");
            if failed.kind == "Io" && at > 0 {
                assert_eq!(failed.byte, Some(at as u64), "{what}");
            }
            for chunk in [1, 1 << 20] {
                let got = stream(
                    &b,
                    &parallel(2, chunk, false),
                    Tiny::failing(data, at),
                    &none,
                );
                assert_same_entities(&got.items, &want.items, &none, &what);
                assert_eq!(
                    (&got.counts, &got.errors, &got.failed),
                    (&want.counts, &want.errors, &want.failed),
                    "{what}: chunk {chunk}"
                );
            }
        }
    }
    // Also when a document (v1) is being read sequentially.
    let path = common::input_path("v1_array.json");
    let data = std::fs::read(path).unwrap();
    let b = builder();
    for at in (0..data.len()).step_by(101) {
        let none = Filter::new();
        let want = sequential(&b, Tiny::failing(&data, at), &none);
        let got = stream(&b, &parallel(2, 1, true), Tiny::failing(&data, at), &none);
        // The sequential reader itself: channels resolved as well.
        assert_eq!(got, want, "v1, error at {at}");
    }
}

/// A gzip stream cut short, at many points: the entities the sequential
/// reader gives, and one gzip error (a data error: counted when lenient).
#[test]
fn truncated_gzip() {
    let path = common::input_path("user_export.jsonl");
    let plain = std::fs::read(path).unwrap();
    let gz = gzip(&plain);
    let b = builder();
    let none = Filter::new();
    for cut in (20..gz.len()).step_by(gz.len() / 13) {
        let want = sequential(&b, Tiny::new(&gz[..cut]), &none);
        for chunk in [1, 64, 1 << 20] {
            let what = format!("cut at {cut}, chunk {chunk}");
            let got = stream(&b, &parallel(2, chunk, false), Tiny::new(&gz[..cut]), &none);
            assert_same_entities(&got.items, &want.items, &none, &what);
            assert_eq!(got.counts, want.counts, "{what}");
            assert_same_errors(&got.errors, &want.errors, &what);
            assert!(got.errors.iter().any(ErrInfo::is_gzip), "{what}");
        }
    }
    let mut strict = b.clone();
    strict.strict(true);
    let cut = gz.len() * 2 / 3;
    let got = stream(&strict, &parallel(2, 64, false), &gz[..cut], &none);
    let want = sequential(&strict, &gz[..cut], &none);
    assert_same_entities(&got.items, &want.items, &none, "strict");
    assert_same_errors(got.failed.as_slice(), want.failed.as_slice(), "strict");
}

/// Counts bytes read from the inner reader.
struct Counting<'c, R> {
    inner: R,
    count: &'c AtomicU64,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The reading thread stays within a bounded distance of what the sink has
/// seen, however slow the sink: memory follows the settings, not the
/// input.
#[test]
fn reading_ahead_is_bounded() {
    let lens: Vec<usize> = (0..20_000).map(|i| 60 + (i * 37) % 90).collect();
    let data = lines_of(&lens, true);
    let longest = *lens.iter().max().unwrap() as u64 + 1;
    let mut b = builder();
    b.buffer_size(64);
    let (chunk, threads) = (256usize, 2usize);
    let p = parallel(threads, chunk, true);
    // A batch is sent once `chunk × threads × 4` bytes are held (one
    // read more at most, plus a line). Alive at once: two queued, one
    // being filled, one being decoded, one being delivered; the stream's
    // own buffer (8 KiB at least) reads ahead of them all.
    let batch = (chunk * threads * 4) as u64 + 64 + longest;
    let limit = 5 * batch + 8 * 1024 + longest;
    assert!(
        limit * 20 < data.len() as u64,
        "the input must dwarf the limit"
    );
    let count = AtomicU64::new(0);
    let reader = Counting {
        inner: &data[..],
        count: &count,
    };
    let mut ahead = 0u64;
    let mut seen = 0u64;
    filter_reader(&b, &p, reader, None, &Filter::new(), |e| {
        ahead = ahead.max(count.load(Ordering::Relaxed) - e.offset());
        seen += 1;
        if seen.is_multiple_of(500) {
            // A slow sink: time for the reader to run ahead, if it could.
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(seen, lens.len() as u64);
    assert!(
        ahead <= limit,
        "read {ahead} bytes ahead of the sink; limit {limit}"
    );
    assert!(ahead > 0);
}

/// An error from the sink stops the run at once and is returned as is
/// (the reading thread stops too: the call returns).
#[test]
fn sink_errors_stop_the_run() {
    let data = lines_of(&vec![80; 5000], true);
    let mut n = 0;
    let result = filter_reader(
        &builder(),
        &parallel(2, 64, true),
        Tiny::new(&data),
        None,
        &Filter::new(),
        |_| {
            n += 1;
            if n == 10 {
                return Err(Error::new(ErrorKind::Usage("enough".into())));
            }
            Ok(())
        },
    );
    let e = result.unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Usage(m) if m == "enough"),
        "{e}"
    );
    assert_eq!(n, 10);
}

/// Errors name the path given.
#[test]
fn errors_name_the_path() {
    let mut b = builder();
    b.strict(true);
    let data = b"{\"id\":\"u1\"}\n{\"id\":\n{\"id\":\"u3\"}\n";
    let path = std::path::Path::new("in.jsonl");
    let e = filter_reader(
        &b,
        &parallel(2, 1, false),
        Tiny::new(data),
        Some(path),
        &Filter::new(),
        |_| Ok(()),
    )
    .unwrap_err();
    assert_eq!(e.path(), Some(path));
    assert_eq!(e.position().map(|p| p.line), Some(2));
    let e = filter_reader(
        &builder(),
        &parallel(2, 1, false),
        Tiny::failing(data, 5),
        Some(path),
        &Filter::new(),
        |_| Ok(()),
    )
    .unwrap_err();
    assert_eq!(e.path(), Some(path));
    assert!(matches!(e.kind(), ErrorKind::Io(_)), "{e}");
}

/// The sequential reader itself: a read error that cuts the first line
/// (met while the format is detected) used to be dropped, the input then
/// looking complete. It is reported after the partial line, as anywhere
/// else in the stream.
#[test]
fn sequential_reader_reports_a_read_error_during_detection() {
    for (data, records) in [
        (&b"{\"id\":\"u1\"}"[..], 1),
        (b"{\"id\":\"u1\"", 1),
        (b"   ", 0),
        (b"{\"id\":\"u1\"}\n{\"id\":\"u2\"}", 2),
    ] {
        let reader = Tiny::failing(data, data.len());
        let got = sequential(&builder(), reader, &Filter::new());
        let failed = got.failed.expect("the read error is reported");
        assert_eq!(failed.kind, "Io", "{data:?}");
        assert_eq!(failed.byte, Some(data.len() as u64), "{data:?}");
        assert!(got.items.len() <= records, "{data:?}");
    }
}

/// gzip is recognized even when the stream hands out its first byte alone.
#[test]
fn gzip_is_detected_when_the_first_read_is_one_byte() {
    let plain = std::fs::read(common::input_path("v2_item.jsonl")).unwrap();
    let gz = gzip(&plain);
    let none = Filter::new();
    let want = sequential(&builder(), &plain[..], &none);
    let got = sequential(&builder(), OneByteFirst(&gz, true), &none);
    assert!(!want.items.is_empty());
    assert_eq!(got, want);
    let reader = builder().from_reader(OneByteFirst(&gz, true)).unwrap();
    assert_eq!(reader.compression(), stream_chat_export::Compression::Gzip);
    let got = stream(
        &builder(),
        &parallel(2, 64, false),
        OneByteFirst(&gz, true),
        &none,
    );
    assert_same_entities(&got.items, &want.items, &none, "filter_reader");
}

/// Hands out one byte, then as much as asked for.
struct OneByteFirst<'a>(&'a [u8], bool);

impl Read for OneByteFirst<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = if std::mem::take(&mut self.1) {
            1.min(out.len()).min(self.0.len())
        } else {
            out.len().min(self.0.len())
        };
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}
