//! gzip input: the input compressed (one or two members, whole or cut)
//! reads like the plain input; the raw input fed as gzip never panics.
#![no_main]

use flate2::{Compression, write::GzEncoder};
use libfuzzer_sys::fuzz_target;
use std::io::Write;
use stream_chat_export::{ReaderBuilder, Report};

type Seen = (Vec<(u64, Vec<u8>)>, u64, u64);

fn gzip(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(part).unwrap();
        out.extend(enc.finish().unwrap());
    }
    out
}

fn read(data: &[u8]) -> Seen {
    let mut reader = ReaderBuilder::new().buffer_size(64).from_slice(data);
    let mut list = Vec::new();
    for e in reader.by_ref().flatten() {
        list.push((e.offset(), e.record().to_vec()));
    }
    let r: Report = reader.take_report();
    assert_eq!(r.records, r.entities + r.errors, "{r:?}");
    assert_eq!(r.entities, list.len() as u64);
    (list, r.records, r.errors)
}

fn stream(data: &[u8]) {
    let Ok(mut reader) = ReaderBuilder::new().buffer_size(64).from_reader(data) else {
        return;
    };
    while reader.next_entity().is_some() {}
    let r = reader.report();
    assert_eq!(r.records, r.entities + r.errors, "{r:?}");
}

fuzz_target!(|data: &[u8]| {
    // The raw bytes as a gzip stream: after the magic, and as the deflate
    // body behind a valid header.
    let mut fake = vec![0x1f, 0x8b];
    fake.extend_from_slice(data);
    read(&fake);
    stream(&fake);
    let mut fake = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    fake.extend_from_slice(data);
    read(&fake);

    // The input compressed: transparent.
    let split = data.first().map_or(0, |&b| b as usize % (data.len() + 1));
    let one = gzip(&[data]);
    let two = gzip(&[&data[..split], &data[split..]]);
    if !data.starts_with(&[0x1f, 0x8b]) {
        let plain = read(data);
        assert_eq!(read(&one), plain);
        assert_eq!(read(&two), plain);
    }
    // Cut anywhere: an error, never a panic.
    let cut = split % (one.len() + 1);
    read(&one[..cut]);
    stream(&two[..cut.min(two.len())]);
});
