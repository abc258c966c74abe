//! Line numbers of errors on inputs with very many bad records (issue 9):
//! every path numbers every error exactly, and the numbering is linear in
//! the input (the cursor in `src/source.rs` counts newlines once; its own
//! unit tests count the bytes it scans). 200,000 bad lines took 36 s when
//! each line was counted from the start; here they must merely be right.

mod common;

use common::{filter_reader, filter_slice};
use std::io::Write;
use stream_chat_export::{Error, Filter, MmapChoice, Parallel, ReaderBuilder, Report};

const BAD_LINES: usize = 200_000;

/// `(byte, line)` of each bad line's first byte, by a plain walk over the
/// lines: the independent expectation.
struct Input {
    bytes: Vec<u8>,
    bad: Vec<(u64, u64)>,
    good: usize,
}

/// Bad lines of varying length, with good lines, blank lines and CRLF
/// mixed in, so that line and byte numbers drift apart.
fn input() -> Input {
    let mut text = String::new();
    for i in 0..BAD_LINES {
        match i % 5 {
            0 => text.push_str(&format!("#bad {i}\n")),
            1 => text.push_str(&format!("#bad {i} {}\r\n", "x".repeat(i % 17))),
            2 => text.push_str(&format!(
                "#bad {i}\n{{\"type\":\"user\",\"item\":{{\"id\":\"u{i}\"}}}}\n"
            )),
            3 => text.push_str(&format!("#bad {i}\n\n")),
            _ => text.push_str(&format!("#{i}\n")),
        }
    }
    let bytes = text.into_bytes();
    let (mut bad, mut good) = (Vec::new(), 0);
    let mut start = 0usize;
    for (number, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.first() == Some(&b'#') {
            bad.push((start as u64, number as u64 + 1));
        } else if line.first() == Some(&b'{') {
            good += 1;
        }
        start += line.len() + 1;
    }
    assert_eq!(bad.len(), BAD_LINES);
    Input { bytes, bad, good }
}

fn positions(errors: &[Error]) -> Vec<(u64, u64)> {
    errors
        .iter()
        .map(|e| {
            let p = e.position().unwrap_or_else(|| panic!("no position: {e}"));
            (p.byte, p.line)
        })
        .collect()
}

/// Yield mode: every error handed out, in order, with its exact position.
fn yielded(label: &str, input: &Input, mut next: impl FnMut() -> Option<Result<(), Error>>) {
    let mut errors = Vec::new();
    let mut entities = 0;
    while let Some(item) = next() {
        match item {
            Ok(()) => entities += 1,
            Err(e) => errors.push(e),
        }
    }
    assert_eq!(entities, input.good, "{label}: entities");
    assert!(
        positions(&errors) == input.bad,
        "{label}: error positions differ"
    );
}

fn yield_builder() -> ReaderBuilder {
    let mut b = ReaderBuilder::new();
    b.yield_errors(true);
    b
}

fn keep_all() -> ReaderBuilder {
    let mut b = ReaderBuilder::new();
    b.max_errors_kept(usize::MAX);
    b
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn yielded_errors_carry_exact_positions_on_every_path() {
    let input = input();
    let b = yield_builder();
    let mut slice = b.from_slice(&input.bytes);
    yielded("slice", &input, || slice.next().map(|r| r.map(drop)));

    let mut small = b.clone();
    small.buffer_size(4096);
    let mut stream = small.from_reader(&input.bytes[..]).unwrap();
    yielded("stream", &input, || {
        stream.next_entity().map(|r| r.map(drop))
    });

    let gz = gzip(&input.bytes);
    let mut stream = small.from_reader(&gz[..]).unwrap();
    yielded("gzip stream", &input, || {
        stream.next_entity().map(|r| r.map(drop))
    });
    let mut slice = b.from_slice(&gz);
    yielded("gzip slice", &input, || slice.next().map(|r| r.map(drop)));

    let dir = std::env::temp_dir().join(format!("sce-lines-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.jsonl");
    std::fs::write(&path, &input.bytes).unwrap();
    // SAFETY: the file is this test's own, not modified while read.
    for mmap in [unsafe { MmapChoice::auto() }, MmapChoice::never()] {
        let mut reader = b.clone().mmap(mmap).from_path(&path).unwrap();
        let mmap = mmap.maps();
        yielded(&format!("path mmap={mmap}"), &input, || {
            reader.next_entity().map(|r| r.map(drop))
        });
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Lenient mode keeps the first errors: with no limit, all of them, each
/// exact; with the default limit, the first 20, and all are counted.
#[test]
fn kept_errors_carry_exact_positions() {
    let input = input();
    let check = |label: &str, report: &Report, kept: usize| {
        assert_eq!(report.errors, BAD_LINES as u64, "{label}: errors counted");
        assert_eq!(report.entities, input.good as u64, "{label}: entities");
        assert!(
            positions(&report.first_errors) == input.bad[..kept],
            "{label}: kept error positions differ"
        );
    };
    for (b, kept) in [(keep_all(), BAD_LINES), (ReaderBuilder::new(), 20)] {
        let mut slice = b.from_slice(&input.bytes);
        slice.by_ref().for_each(|e| drop(e.unwrap()));
        check("slice", &slice.take_report(), kept);

        let mut small = b.clone();
        small.buffer_size(4096);
        let gz = gzip(&input.bytes);
        let mut stream = small.from_reader(&gz[..]).unwrap();
        while let Some(e) = stream.next_entity() {
            e.unwrap();
        }
        check("gzip stream", stream.report(), kept);

        let mut p = Parallel::new();
        p.threads(2).chunk_size(64 << 10);
        let report = filter_slice(&b, &p, &input.bytes, None, &Filter::new(), |_| Ok(())).unwrap();
        check("filter_slice", &report, kept);
        let report =
            filter_reader(&b, &p, &input.bytes[..], None, &Filter::new(), |_| Ok(())).unwrap();
        check("filter_reader", &report, kept);
    }
}

/// Strict mode stops at the first bad line, which is named exactly; the
/// same for a bad line far into the input.
#[test]
fn strict_error_is_exact() {
    let input = input();
    let mut b = ReaderBuilder::new();
    b.strict(true);
    let first = b.from_slice(&input.bytes).find_map(|r| r.err()).unwrap();
    assert_eq!(positions(&[first]), input.bad[..1]);
    // Only the last line bad: the error names the last line.
    let mut good = Vec::new();
    for i in 0..50_000 {
        writeln!(good, "{{\"type\":\"user\",\"item\":{{\"id\":\"u{i}\"}}}}").unwrap();
        writeln!(good).unwrap();
    }
    let at = good.len() as u64;
    good.extend_from_slice(b"#bad\n");
    let mut stream = b.clone().buffer_size(1000).from_reader(&good[..]).unwrap();
    let error = loop {
        match stream.next_entity() {
            Some(Ok(_)) => {}
            Some(Err(e)) => break e,
            None => panic!("no error"),
        }
    };
    assert_eq!(positions(&[error]), [(at, 100_001)]);
}
