//! Throughput of the reader, the filters and the analyzer, in bytes per
//! second.
//!
//! Data comes from the deterministic generator (examples/generate.rs),
//! written once per run into a temporary directory; `BENCH_SIZE` (bytes,
//! default 64 MiB) sets its size. Run with `cargo bench`; compare paths
//! with `cargo bench -- decode` etc.

#[allow(dead_code)]
#[path = "../examples/generate.rs"]
mod generate;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use stream_chat_export::{
    Engine, Filter, FilterJob, Kind, MappedFile, MmapChoice, Out, Parallel, Projection,
    ReaderBuilder, Stats, StatsJob, Values,
};

struct Data {
    _dir: tempfile::TempDir,
    v2: PathBuf,
    v2_gz: PathBuf,
    v1: PathBuf,
}

fn data() -> Data {
    let size: u64 = std::env::var("BENCH_SIZE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64 << 20);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = |name: &str| dir.path().join(name);
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let (v2, v2_gz, v1) = (path("v2.jsonl"), path("v2.jsonl.gz"), path("v1.json"));
    generate::generate_file(&s(&v2), size, false, "item", "array", false, 1, None).unwrap();
    generate::generate_file(&s(&v2_gz), size, false, "item", "array", true, 1, None).unwrap();
    generate::generate_file(&s(&v1), size, true, "item", "array", false, 1, None).unwrap();
    Data {
        _dir: dir,
        v2,
        v2_gz,
        v1,
    }
}

fn len(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

fn benches(c: &mut Criterion) {
    let d = data();
    let v2 = std::fs::read(&d.v2).unwrap();
    let v1 = std::fs::read(&d.v1).unwrap();
    let builder = ReaderBuilder::new();

    let mut g = c.benchmark_group("decode");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(v2.len() as u64));
    g.bench_function("v2_borrowed", |b| {
        b.iter(|| {
            let mut n = 0u64;
            for e in builder.from_slice(&v2) {
                n += black_box(e.unwrap()).offset() & 1;
            }
            n
        })
    });
    g.bench_function("v2_owned", |b| {
        b.iter(|| {
            builder
                .from_slice(&v2)
                .map(|e| black_box(e.unwrap().into_owned()).offset() & 1)
                .sum::<u64>()
        })
    });
    g.throughput(Throughput::Bytes(v1.len() as u64));
    g.bench_function("v1_tree", |b| {
        b.iter(|| {
            builder
                .from_slice(&v1)
                .map(|e| black_box(e.unwrap()).offset() & 1)
                .sum::<u64>()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("reader");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(len(&d.v2)));
    // SAFETY: the generated bench data is not modified while benchmarked.
    let mapped = builder.clone().mmap(unsafe { MmapChoice::auto() }).clone();
    g.bench_function("v2_mmap", |b| {
        b.iter(|| {
            let mut r = mapped.from_path(&d.v2).unwrap();
            let mut n = 0u64;
            while let Some(e) = r.next_entity() {
                n += e.unwrap().offset() & 1;
            }
            n
        })
    });
    // Throughput counts the decompressed bytes.
    g.bench_function("v2_gzip_stream", |b| {
        b.iter(|| {
            let mut r = builder.from_path(&d.v2_gz).unwrap();
            let mut n = 0u64;
            while let Some(e) = r.next_entity() {
                n += e.unwrap().offset() & 1;
            }
            n
        })
    });
    g.finish();

    // Five columns over the messages' raw JSON, as CSV export and
    // group-by statistics will read them; throughput counts the messages'
    // bytes. `Entity::get` for the same five fields is the baseline.
    let messages: Vec<_> = builder
        .from_slice(&v2)
        .map(|e| e.unwrap())
        .filter(|e| e.kind() == Kind::Message)
        .map(|e| e.into_owned())
        .collect();
    let fields = ["id", "user.id", "type", "created_at", "text"];
    let projection = Projection::new(&fields).unwrap();
    let mut g = c.benchmark_group("project");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(
        messages.iter().map(|e| e.raw().len() as u64).sum(),
    ));
    g.bench_function("messages_5_fields", |b| {
        let mut values = Values::new();
        b.iter(|| {
            let mut n = 0usize;
            for e in &messages {
                projection.extract_into(e.raw_str(), &mut values).unwrap();
                n += values.iter().flatten().count();
            }
            n
        })
    });
    g.bench_function("entity_get_5_fields", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for e in &messages {
                // `get` reaches top-level keys only: `user` stands in for
                // `user.id`.
                for key in ["id", "user", "type", "created_at", "text"] {
                    n += black_box(e.get(key)).is_some() as usize;
                }
            }
            n
        })
    });
    g.finish();

    // SAFETY: the generated bench data is not modified while benchmarked.
    let map = unsafe { MappedFile::open(&d.v2) }.unwrap();
    let mut g = c.benchmark_group("filter");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(map.bytes().len() as u64));
    let mut by_user = Filter::new();
    by_user.user("user-17");
    let mut month = Filter::new();
    month
        .kind("message")
        .since("2024-03-01T00:00:00Z")
        .unwrap()
        .until("2024-04-01T00:00:00Z")
        .unwrap();
    // One engine per setting, reused by every iteration (as the CLI
    // reuses one for all its files).
    let count = |engine: &Engine, job: &FilterJob| {
        let mut n = 0u64;
        engine
            .run(job)
            .builder(&builder)
            .slice(map.bytes(), |out| {
                n += matches!(out, Out::Entity(_)) as u64;
                Ok(())
            })
            .unwrap();
        n
    };
    for (name, filter) in [("user", &by_user), ("month", &month)] {
        let job = FilterJob::new(filter.clone());
        for threads in [1, 2] {
            let engine = Engine::new(Parallel::new().threads(threads)).unwrap();
            g.bench_function(format!("{name}_threads{threads}"), |b| {
                b.iter(|| count(&engine, &job))
            });
        }
        let exhaustive = Engine::new(Parallel::new().threads(2).prefilter(false)).unwrap();
        g.bench_function(format!("{name}_no_prefilter_threads2"), |b| {
            b.iter(|| count(&exhaustive, &job))
        });
    }
    g.finish();

    // The analyzer: every statistic of `stats --json`, partials merged in
    // order (v2 mapped, v1 on the sequential walk).
    let mut g = c.benchmark_group("stats");
    g.sample_size(10);
    let job = StatsJob::new();
    let stats_of = |engine: &Engine, bytes: &[u8]| {
        let mut all = Stats::default();
        engine
            .run(&job)
            .builder(&builder)
            .slice(bytes, |out| {
                if let Out::Partial(p) = out {
                    all.merge(p);
                }
                Ok(())
            })
            .unwrap();
        all.report(&job).messages.total
    };
    g.throughput(Throughput::Bytes(map.bytes().len() as u64));
    for threads in [1, 2] {
        let engine = Engine::new(Parallel::new().threads(threads)).unwrap();
        g.bench_function(format!("v2_threads{threads}"), |b| {
            b.iter(|| stats_of(&engine, map.bytes()))
        });
    }
    g.throughput(Throughput::Bytes(v1.len() as u64));
    let engine = Engine::new(Parallel::new().threads(2)).unwrap();
    g.bench_function("v1", |b| b.iter(|| stats_of(&engine, &v1)));
    g.finish();
}

criterion_group!(read, benches);
criterion_main!(read);
