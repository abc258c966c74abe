//! Arbitrary bytes through `from_slice` and `from_reader` (64-byte
//! blocks): every record is accounted for, both paths agree, no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stream_chat_export::{Entity, ReaderBuilder, Report};

/// Entities (offset, record, cid), errors, records, blank lines, and
/// whether opening failed (a gzip stream broken in its first block).
type Seen = (Vec<(u64, Vec<u8>, Option<String>)>, u64, u64, u64, bool);

fn summary(entities: &[Entity<'_>], r: &Report, failed: bool) -> Seen {
    assert_eq!(r.records, r.entities + r.errors, "{r:?}");
    assert_eq!(r.entities, entities.len() as u64, "{r:?}");
    let list = entities
        .iter()
        .map(|e| (e.offset(), e.record().to_vec(), e.cid().map(str::to_owned)))
        .collect();
    (list, r.errors, r.records, r.blank_lines, failed)
}

fn slice(b: &ReaderBuilder, data: &[u8]) -> Seen {
    let mut reader = b.from_slice(data);
    let failed = reader.reader().is_none();
    let mut entities = Vec::new();
    let mut io = 0;
    for item in reader.by_ref() {
        match item {
            Ok(e) => entities.push(e),
            Err(_) => io += 1, // I/O errors (gzip stream set-up) only
        }
    }
    assert!(io <= 1);
    let report = reader.take_report();
    summary(&entities, &report, failed)
}

fn stream(b: &ReaderBuilder, data: &[u8]) -> Seen {
    let Ok(mut reader) = b.from_reader(data) else {
        return summary(&[], &Report::default(), true);
    };
    let mut entities = Vec::new();
    while let Some(item) = reader.next_entity() {
        if let Ok(e) = item {
            entities.push(e.into_owned());
        }
    }
    summary(&entities, reader.report(), false)
}

fuzz_target!(|data: &[u8]| {
    let mut lenient = ReaderBuilder::new();
    lenient.buffer_size(64);
    assert_eq!(slice(&lenient, data), stream(&lenient, data));

    let mut tight = ReaderBuilder::new();
    tight
        .buffer_size(64)
        .lossy_utf8(true)
        .max_line(100)
        .max_entity(100)
        .max_depth(4);
    assert_eq!(slice(&tight, data), stream(&tight, data));

    // Strict: stops at the first error, never panics.
    let mut strict = ReaderBuilder::new();
    strict.strict(true);
    for item in strict.from_slice(data) {
        if item.is_err() {
            break;
        }
    }
});
