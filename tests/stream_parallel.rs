//! Streams read by the sequential reader: a read error during format
//! detection, gzip behind a stream that hands out one byte first.

mod common;

use common::{ErrInfo, gzip};
use std::io::{self, Read};
use stream_chat_export::{Filter, ReaderBuilder, Report};

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
