//! A filter job on a stream (a stream cut into line-aligned batches, read in
//! irregular pieces, plain or gzip) gives what it gives on a slice of the
//! same bytes: the same entities (offset, bytes, resolved channel) and the
//! same counts, in lenient mode; and the same first error in strict mode.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::{Read, Write};
use stream_chat_export::{Filter, Parallel, ReaderBuilder};

#[path = "engine_filter.rs"]
mod engine_filter;
use engine_filter::{filter_reader, filter_slice};

/// Hands out the bytes in pieces whose sizes come from `sizes`.
struct Pieces<'a> {
    data: &'a [u8],
    sizes: &'a [u8],
    turn: usize,
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let size = self.sizes.get(self.turn % self.sizes.len().max(1)).copied();
        self.turn += 1;
        let n = (1 + size.unwrap_or(63) as usize)
            .min(buf.len())
            .min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

type Seen = (Vec<(u64, Vec<u8>, Option<String>)>, (u64, u64, u64, u64));

fn slice(b: &ReaderBuilder, p: &Parallel, data: &[u8], filter: &Filter) -> Option<Seen> {
    let mut list = Vec::new();
    let r = filter_slice(b, p, data, filter, |e| {
        list.push((e.offset(), e.record().to_vec(), e.cid().map(str::to_owned)));
        Ok(())
    })
    .ok()?;
    Some((
        list,
        (r.records, r.entities, r.errors, r.skipped_by_prefilter),
    ))
}

fn stream(
    b: &ReaderBuilder,
    p: &Parallel,
    input: impl Read + Send,
    filter: &Filter,
) -> Option<Seen> {
    let mut list = Vec::new();
    let r = filter_reader(b, p, input, filter, |e| {
        list.push((e.offset(), e.record().to_vec(), e.cid().map(str::to_owned)));
        Ok(())
    })
    .ok()?;
    Some((
        list,
        (r.records, r.entities, r.errors, r.skipped_by_prefilter),
    ))
}

fuzz_target!(|input: &[u8]| {
    let [mode, pick, chunk, line, n_sizes, rest @ ..] = input else {
        return;
    };
    let (sizes, data) = rest.split_at((*n_sizes as usize % 8).min(rest.len()));
    let mut builder = ReaderBuilder::new();
    if line & 1 == 1 {
        builder.max_line(16 + (*line as usize) * 2);
    }
    let all: Vec<_> = builder.from_slice(data).flatten().collect();
    let pick = *pick as usize;
    let mut filter = Filter::new();
    if mode & 1 == 1 {
        let users: Vec<&str> = all.iter().filter_map(|e| e.user_id()).collect();
        filter.user(
            users
                .get(pick % users.len().max(1))
                .copied()
                .unwrap_or("u1"),
        );
    }
    if mode & 2 == 2 {
        let cids: Vec<&str> = all.iter().filter_map(|e| e.cid()).collect();
        filter.channel(
            cids.get(pick % cids.len().max(1))
                .copied()
                .unwrap_or("messaging:c"),
        );
    }
    if mode & 4 == 4 {
        let times: Vec<_> = all.iter().filter_map(|e| e.created_at()).collect();
        if !times.is_empty() {
            let since = times[pick % times.len()].to_string();
            filter
                .since(&since)
                .expect("a Timestamp's text parses back");
        }
    }
    if mode & 8 == 8 {
        filter.kind("message");
    }
    let mut p = Parallel::new();
    p.chunk_size(1 + (*chunk as usize % 64))
        .threads(1 + (mode >> 4) as usize % 2)
        .prefilter(mode & 32 == 32);

    // Data the in-memory path refuses (gzip bytes it reads sequentially)
    // is out of scope: compare line files and documents as given.
    let Some(want) = slice(&builder, &p, data, &filter) else {
        return;
    };
    let plain = Pieces {
        data,
        sizes,
        turn: 0,
    };
    let got = stream(&builder, &p, plain, &filter).expect("a lenient stream of in-memory bytes");
    assert_eq!(got.0, want.0, "plain stream: entities");
    assert_eq!(got.1, want.1, "plain stream: counts");

    if !data.starts_with(&[0x1f, 0x8b]) {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(data).unwrap();
        let gz = gz.finish().unwrap();
        let pieces = Pieces {
            data: &gz,
            sizes,
            turn: 0,
        };
        let got = stream(&builder, &p, pieces, &filter).expect("a lenient gzip stream");
        assert_eq!(got.0, want.0, "gzip stream: entities");
        assert_eq!(got.1, want.1, "gzip stream: counts");
    }

    // Strict: the same first error (kind, byte, line), or both succeed.
    // (Where a damaged gzip stream is noticed depends on how the inflater
    // was fed, so gzip input is compared in lenient mode only.)
    if data.starts_with(&[0x1f, 0x8b]) {
        return;
    }
    let mut strict = builder.clone();
    strict.strict(true);
    let slice_err = filter_slice(&strict, &p, data, &filter, |_| Ok(())).err();
    let pieces = Pieces {
        data,
        sizes,
        turn: 0,
    };
    let stream_err = filter_reader(&strict, &p, pieces, &filter, |_| Ok(())).err();
    assert_eq!(
        slice_err.as_ref().map(|e| (e.to_string(), e.position())),
        stream_err.as_ref().map(|e| (e.to_string(), e.position())),
        "strict"
    );
});
