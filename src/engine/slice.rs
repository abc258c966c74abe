//! Bytes in memory (or a mapped file): cut where they lie into
//! line-aligned chunks, decoded a batch at a time on the pool while the
//! ordered pass delivers the previous batch.

use super::chunks::{ChunkOut, Chunks, Work};
use super::ordered::Ordered;
use super::{CHUNKS_PER_THREAD, Job, Out, Outcome, Setup};
use crate::error::Result;
use crate::frame::detect::{Framing, detect};
use crate::io::source::{Compression, GZIP_MAGIC, Window};
use crate::read::reader::lines_format;

/// Runs a job over bytes in memory.
pub(crate) fn run_slice<'a, J, F>(
    setup: &Setup<'_, J>,
    input: &'a [u8],
    mut sink: F,
) -> Result<Outcome>
where
    J: Job,
    F: FnMut(Out<'a, J::Partial>) -> Result<()>,
{
    let builder = setup.builder;
    let gzip = input.starts_with(&GZIP_MAGIC);
    let (start, framing) = if gzip {
        (0, Framing::Document)
    } else {
        detect(&mut Window::slice(input)).map_err(|e| setup.name(e))?
    };
    match framing {
        Framing::Document if !gzip => {
            return super::document::run_document(setup, input, start, sink);
        }
        Framing::Lines => {}
        _ => return super::sequential::run_slice(setup, input, sink),
    }
    let settings = &setup.engine.settings;
    let pool = &setup.engine.pool;
    let work = Work::new(setup);
    let mut chunks = Chunks {
        input,
        pos: start as usize,
        size: settings.chunk_size,
    };
    let batch = settings.threads * CHUNKS_PER_THREAD;
    let mut ordered = Ordered::new(builder, setup.path, setup.job);
    let decode_batch = |ranges: &[(usize, usize)]| -> Vec<ChunkOut<'a, J::Partial>> {
        use rayon::prelude::*;
        ranges
            .par_iter()
            .map(|&(s, e)| work.decode_chunk(input, 0, s, e))
            .collect()
    };
    let mut current: Vec<(usize, usize)> = chunks.by_ref().take(batch).collect();
    let mut decoded = pool.install(|| decode_batch(&current));
    while !current.is_empty() {
        let next: Vec<(usize, usize)> = chunks.by_ref().take(batch).collect();
        let mut next_decoded = Vec::new();
        // Decode the next batch on the pool while this thread delivers
        // the current one in order (the sink need not be `Send`).
        pool.in_place_scope(|scope| {
            scope.spawn(|_| next_decoded = decode_batch(&next));
            ordered.deliver(input, std::mem::take(&mut decoded), &mut sink)
        })?;
        current = next;
        decoded = next_decoded;
    }
    let report = ordered.into_report();
    Ok(Outcome {
        format: lines_format(&report),
        report,
        compression: Compression::None,
        bytes: input.len() as u64,
    })
}
