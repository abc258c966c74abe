//! The structural index and every kernel against a byte-by-byte oracle.

use super::*;

/// The slow oracle: a byte-by-byte walk. Like the index, it lets a
/// backslash escape a quote even outside a string (which only invalid
/// JSON has).
fn naive(record: &[u8]) -> (Vec<u32>, bool) {
    let mut out = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in record.iter().enumerate() {
        let was_escaped = std::mem::take(&mut escaped);
        if b == b'\\' && !was_escaped {
            escaped = true;
        } else if b == b'"' && !was_escaped {
            in_string = !in_string;
            out.push(i as u32);
        } else if !in_string && matches!(b, b'{' | b'}' | b'[' | b']' | b':' | b',') {
            out.push(i as u32);
        }
    }
    (out, !in_string)
}

fn rng(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

fn tokens<'o>(blocks: &Blocks, out: &'o mut Vec<u32>) -> &'o [u32] {
    out.clear();
    let mut at = 0;
    while let Some(p) = blocks.next_token(at) {
        out.push(p as u32);
        at = p + 1;
    }
    out
}

#[test]
fn matching_close_skips_strings() {
    let record = br#"{"a":[1,{"b":"]}"},"\"}"],"c":2}"#;
    let mut blocks = Blocks::default();
    assert!(blocks.build(record));
    assert_eq!(blocks.matching_close(5), Some(record.len() - 8));
    assert_eq!(blocks.matching_close(0), Some(record.len() - 1));
}

#[test]
fn agrees_with_naive_on_random_json_like_bytes() {
    let alphabet = b"\"\\{}[]:, ab1\n";
    let mut seed = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::new();
    let kernels = available_kernels();
    for len in 0..400 {
        for _ in 0..20 {
            let record: Vec<u8> = (0..len)
                .map(|_| alphabet[(rng(&mut seed) % alphabet.len() as u64) as usize])
                .collect();
            let (want, closed) = naive(&record);
            let mut blocks = Blocks::default();
            assert_eq!(blocks.build(&record), closed, "{record:?}");
            assert_eq!(
                tokens(&blocks, &mut out),
                &want[..],
                "{:?}",
                String::from_utf8_lossy(&record)
            );
            for (name, k) in &kernels {
                assert_eq!(k.build_with(&mut blocks, &record), closed, "{name}");
                assert_eq!(tokens(&blocks, &mut out), &want[..], "{name}");
            }
        }
    }
}

/// Reading past the record into the bytes after it changes nothing.
#[test]
fn reading_past_the_record_changes_nothing() {
    let alphabet = b"\"\\{}[]:, ab1\n";
    let mut seed = 0x5851_F42D_4C95_7F2D;
    let (mut alone, mut within) = (Blocks::default(), Blocks::default());
    let (mut want, mut got) = (Vec::new(), Vec::new());
    for len in 0..300 {
        for _ in 0..10 {
            let text: Vec<u8> = (0..len + 70)
                .map(|_| alphabet[(rng(&mut seed) % alphabet.len() as u64) as usize])
                .collect();
            let closed = alone.build(&text[..len]);
            assert_eq!(within.build_in(Scalar, &text, len), closed);
            assert_eq!(tokens(&within, &mut got), tokens(&alone, &mut want));
            for end in [len, len + 1, len + 63, len + 64, len + 70] {
                assert_eq!(within.build_in(Scalar, &text[..end], len), closed);
                assert_eq!(tokens(&within, &mut got), tokens(&alone, &mut want));
            }
        }
    }
}

/// One of the kernels, whichever type it has, so a test can loop over
/// them.
#[derive(Debug, Clone, Copy)]
enum AnyKernel {
    Scalar(Scalar),
    #[cfg(target_arch = "x86_64")]
    Sse2(Sse2),
    #[cfg(target_arch = "x86_64")]
    Avx2(Avx2),
    #[cfg(target_arch = "x86_64")]
    Avx512(Avx512),
}

impl AnyKernel {
    fn masks(self, block: &[u8; 64]) -> Masks {
        match self {
            AnyKernel::Scalar(k) => k.masks(block),
            #[cfg(target_arch = "x86_64")]
            AnyKernel::Sse2(k) => k.masks(block),
            #[cfg(target_arch = "x86_64")]
            AnyKernel::Avx2(k) => k.masks(block),
            #[cfg(target_arch = "x86_64")]
            AnyKernel::Avx512(k) => k.masks(block),
        }
    }

    fn prefix_xor(self, x: u64) -> u64 {
        match self {
            AnyKernel::Scalar(k) => k.prefix_xor(x),
            #[cfg(target_arch = "x86_64")]
            AnyKernel::Sse2(k) => k.prefix_xor(x),
            #[cfg(target_arch = "x86_64")]
            AnyKernel::Avx2(k) => k.prefix_xor(x),
            #[cfg(target_arch = "x86_64")]
            AnyKernel::Avx512(k) => k.prefix_xor(x),
        }
    }

    fn build_with(self, blocks: &mut Blocks, record: &[u8]) -> bool {
        match self {
            AnyKernel::Scalar(k) => blocks.build_with(k, record),
            #[cfg(target_arch = "x86_64")]
            AnyKernel::Sse2(k) => blocks.build_with(k, record),
            #[cfg(target_arch = "x86_64")]
            AnyKernel::Avx2(k) => blocks.build_with(k, record),
            #[cfg(target_arch = "x86_64")]
            AnyKernel::Avx512(k) => blocks.build_with(k, record),
        }
    }
}

/// Every kernel this CPU runs, by name, whatever
/// `STREAM_CHAT_EXPORT_SIMD` says (it caps only the dispatch). Prints
/// which ran and fails if `STREAM_CHAT_EXPORT_REQUIRE_SIMD` names one
/// that did not: see [`require_simd`].
fn available_kernels() -> Vec<(&'static str, AnyKernel)> {
    #[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut))] // scalar only
    let mut kernels = vec![("scalar", AnyKernel::Scalar(Scalar))];
    #[cfg(target_arch = "x86_64")]
    {
        if let Some(k) = Sse2::new() {
            kernels.push(("sse2", AnyKernel::Sse2(k)));
        }
        if let Some(k) = Avx2::new() {
            kernels.push(("avx2", AnyKernel::Avx2(k)));
        }
        if let Some(k) = Avx512::new() {
            kernels.push(("avx512", AnyKernel::Avx512(k)));
        }
    }
    let names: Vec<&str> = kernels.iter().map(|(name, _)| *name).collect();
    require_simd("structural kernels", &names);
    kernels
}

#[test]
fn every_kernel_matches_the_scalar_masks() {
    let kernels = available_kernels();
    let alphabet = b"\"\\{}[]:, \x7b\x5b\xfb\xdb\xfd\xdd\x3a\x2c\x1a\x0cab";
    let mut seed = 7;
    for round in 0..4000 {
        let mut block = [0u8; 64];
        for b in &mut block {
            // Half the rounds any byte, half the bytes that fold or
            // compare near the structural ones.
            let r = rng(&mut seed);
            *b = if round % 2 == 0 {
                r as u8
            } else {
                alphabet[(r % alphabet.len() as u64) as usize]
            };
        }
        let x = rng(&mut seed);
        let want = masks_scalar(&block);
        for (name, k) in &kernels {
            assert_eq!(k.masks(&block), want, "{name}: {block:?}");
            assert_eq!(k.prefix_xor(x), Scalar.prefix_xor(x), "{name}: {x:#x}");
        }
    }
}

#[test]
fn the_cap_is_honoured() {
    #[cfg(target_arch = "x86_64")]
    {
        assert!(matches!(detect("baseline"), Choice::Sse2(_)));
        assert!(detect("baseline").avx2().is_none());
        assert!(!matches!(detect("avx2"), Choice::Avx512(_)));
        assert_eq!(
            detect("avx2").avx2().is_some(),
            Avx2::new().is_some(),
            "avx2 stays when the CPU has it"
        );
        assert_eq!(
            matches!(detect(""), Choice::Avx512(_)),
            Avx512::new().is_some()
        );
        // The variable, as this process was started with it, reaches
        // the dispatch (the second pass in `.ci/run` sets `baseline`).
        if std::env::var(SIMD_VAR).as_deref() == Ok("baseline") {
            assert!(matches!(choice(), Choice::Sse2(_)));
        }
    }
}

pub(crate) fn require_simd(what: &str, tested: &[&str]) {
    eprintln!("{what}: tested {}", tested.join(", "));
    let required = std::env::var("STREAM_CHAT_EXPORT_REQUIRE_SIMD").unwrap_or_default();
    for name in required.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        #[cfg(target_arch = "x86_64")]
        let present = match name {
            "sse2" => Sse2::new().is_some(),
            "avx2" => Avx2::new().is_some(),
            "avx512" => Avx512::new().is_some(),
            _ => panic!("STREAM_CHAT_EXPORT_REQUIRE_SIMD: unknown kernel {name:?}"),
        };
        #[cfg(not(target_arch = "x86_64"))]
        let present = false;
        assert!(
            present,
            "{what}: STREAM_CHAT_EXPORT_REQUIRE_SIMD requires {name}, which this CPU lacks \
             (tested only {tested:?})"
        );
    }
}
