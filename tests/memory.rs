//! Memory is bounded by the settings, not by the input: the peak heap of a
//! read, measured with a counting allocator, stays under a bound that does
//! not grow with the file — for a v1 document streamed through gzip (one
//! entity at a time), a large skipped value inside it, and the engine over
//! a v2 stream (bounded batches).
//!
//! Every test here runs under one lock, so each measures only itself.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use stream_chat_export::{Engine, Job, Keep, Out, Parallel, ReaderBuilder};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(p, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The peak heap above what was allocated when `f` began.
fn peak_of(f: impl FnOnce()) -> usize {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    f();
    PEAK.load(Ordering::Relaxed) - base
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A v1 document of `messages` messages (about 300 bytes each), and a
/// `config` value of `config_bytes` that the walker skips.
fn v1_document(messages: usize, config_bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(messages * 320 + config_bytes + 200);
    out.extend_from_slice(b"{\"channel\":{\"id\":\"big\",\"type\":\"messaging\",\"cid\":\"messaging:big\",\"config\":{\"blob\":\"");
    out.extend(std::iter::repeat_n(b'c', config_bytes));
    out.extend_from_slice(b"\"}},\n\"messages\":[\n");
    for i in 0..messages {
        if i > 0 {
            out.extend_from_slice(b",\n");
        }
        write!(
            out,
            "{{\"id\":\"m{i}\",\"text\":\"message number {i} with some text to make it longer than a few bytes\",\
             \"user\":{{\"id\":\"user-{}\",\"name\":\"User {}\"}},\"created_at\":\"2024-03-01T10:00:00.000000Z\",\
             \"type\":\"regular\",\"reaction_counts\":{{\"like\":{}}}}}",
            i % 100,
            i % 100,
            i % 7
        )
        .unwrap();
    }
    out.extend_from_slice(b"\n],\"members\":[]}\n");
    out
}

fn count_entities(b: &ReaderBuilder, data: &[u8]) -> u64 {
    let mut reader = b.from_reader(data).unwrap();
    let mut n = 0;
    while let Some(e) = reader.next_entity() {
        e.unwrap();
        n += 1;
    }
    n
}

/// A v1 document read as a gzip stream: the peak does not grow with the
/// number of messages (ten times more messages, about the same peak), and
/// stays far below the document's size. The one thing that does grow with
/// messages is the memory of recent message ids (for reactions without a
/// channel), bounded by `message_memory`: the smaller file already fills
/// it here.
#[test]
fn a_v1_gzip_stream_is_read_one_entity_at_a_time() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut b = ReaderBuilder::new();
    b.message_memory(5_000);
    let small = gzip(&v1_document(10_000, 0));
    let large = gzip(&v1_document(100_000, 0));
    let mut counted = (0, 0);
    let peak_small = peak_of(|| counted.0 = count_entities(&b, &small));
    let peak_large = peak_of(|| counted.1 = count_entities(&b, &large));
    assert_eq!(counted, (10_001, 100_001));
    let document = v1_document(100_000, 0).len();
    eprintln!("v1 gzip: peak {peak_small} -> {peak_large} bytes");
    assert!(
        peak_large < 8 << 20 && peak_large < document / 4,
        "peak {peak_large} bytes for a {document}-byte document"
    );
    assert!(
        peak_large < peak_small * 2 + (1 << 20),
        "the peak grew with the input: {peak_small} -> {peak_large}"
    );
}

/// A large value the walker skips (a 24 MiB `config`) is validated as it
/// streams by, not held: the peak stays far below it.
#[test]
fn a_large_skipped_value_is_not_held() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut doc = v1_document(100, 0);
    // Put the big value under a key the walker skips (not the channel
    // entity, which is an entity and may be held whole).
    let blob = 24 << 20;
    let tail = doc.split_off(doc.len() - 2); // "}\n"
    doc.extend_from_slice(b",\"exported_by\":{\"note\":\"");
    doc.extend(std::iter::repeat_n(b'x', blob));
    doc.extend_from_slice(b"\"}");
    doc.extend_from_slice(&tail);
    let gz = gzip(&doc);
    let b = ReaderBuilder::new();
    let mut n = 0;
    let peak = peak_of(|| n = count_entities(&b, &gz));
    assert_eq!(n, 101);
    assert!(
        peak < blob / 4,
        "peak {peak} bytes with a {blob}-byte skipped value"
    );
}

/// The engine over a v2 stream holds a few bounded batches, whatever the
/// stream's length: a 10× longer stream, about the same peak.
#[test]
fn the_engine_over_a_stream_holds_bounded_batches() {
    struct Count;
    impl Job for Count {
        type Partial = u64;
        fn entity(&self, _: &stream_chat_export::Entity<'_>, n: &mut u64) -> Keep {
            *n += 1;
            Keep::Done
        }
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let line = |i: usize| {
        format!(
            "{{\"type\":\"message\",\"item\":{{\"id\":\"m{i}\",\"cid\":\"messaging:c{}\",\"text\":\"hello there {i}\",\
             \"user\":{{\"id\":\"user-{}\"}},\"created_at\":\"2024-03-01T10:00:00Z\"}}}}\n",
            i % 50,
            i % 100
        )
    };
    let data = |n: usize| gzip((0..n).map(line).collect::<String>().as_bytes());
    let (small, large) = (data(50_000), data(500_000));
    let engine = Engine::new(Parallel::new().threads(2).chunk_size(64 << 10)).unwrap();
    let b = ReaderBuilder::new();
    let run = |input: &[u8]| {
        let mut total = 0u64;
        engine
            .run(&Count)
            .builder(&b)
            .reader(input, |out| {
                if let Out::Partial(n) = out {
                    total += n;
                }
                Ok(())
            })
            .unwrap();
        total
    };
    let mut totals = (0, 0);
    let peak_small = peak_of(|| totals.0 = run(&small));
    let peak_large = peak_of(|| totals.1 = run(&large));
    assert_eq!(totals, (50_000, 500_000));
    eprintln!("engine stream: peak {peak_small} -> {peak_large} bytes");
    assert!(
        peak_large < peak_small * 2 + (2 << 20),
        "the peak grew with the input: {peak_small} -> {peak_large}"
    );
    assert!(peak_large < 32 << 20, "peak {peak_large} bytes");
}
