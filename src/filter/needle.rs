//! One needle (a quoted id) found in a single pass that also counts the
//! newlines: the user filter's inner loop.
//!
//! memmem's SIMD search probes two bytes of the needle per position. In an
//! export nearly every pair is common (`"user-17"` shares `user-1` and the
//! quotes with thousands of ids, and digits fill every timestamp), so it
//! stops often to verify. Here four probes (both quotes and the two rarest
//! bytes between them) are tested 32 positions at a time with AVX2, which
//! leaves almost no false candidates. The same loads count the newlines
//! and find the `\u00XX` escapes that could spell an id character, so the
//! chunk is read from memory once instead of three times. The scan itself
//! never calls out (so its vectors stay in registers): it stops at a block
//! with something to report and the caller handles it. Without AVX2 (or
//! for a needle shorter than four bytes) it is memmem, a `\u00` search and
//! a newline count: the same answer.

use memchr::memmem;

/// A needle and where to probe it.
#[derive(Debug, Clone)]
pub(crate) struct Needle {
    // These two serve only the AVX2 probe loop, which other targets lack.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    bytes: Vec<u8>,
    /// Four offsets into `bytes`, the first 0 and the last `len - 1`.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    probes: [usize; 4],
    finder: memmem::Finder<'static>,
    /// Bit `c` is set when a `\u00XX` that decodes to the ASCII character
    /// `c` is of interest. Escapes that are not (Stream's `\u003c` for `<`
    /// in html, ...) are dropped inside the scan. 16 bytes, so the check
    /// in the hot loop never misses the cache.
    escape_chars: Option<u128>,
}

impl Needle {
    /// `rank(b)` estimates how common byte `b` is (higher: more common).
    pub fn new(bytes: &[u8], rank: impl Fn(u8) -> u8) -> Needle {
        let n = bytes.len();
        let mut probes = [0, 0, 0, n.saturating_sub(1)];
        if n >= 4 {
            // The two rarest bytes strictly between the first and last.
            let mut inner: Vec<usize> = (1..n - 1).collect();
            inner.sort_by_key(|&i| (rank(bytes[i]), std::cmp::Reverse(i)));
            let (a, b) = (inner[0], inner[1]);
            probes = [0, a.min(b), a.max(b), n - 1];
        }
        Needle {
            bytes: bytes.to_vec(),
            probes,
            finder: memmem::FinderBuilder::new()
                .build_forward_with_ranker(ExportByteRank, bytes)
                .into_owned(),
            escape_chars: None,
        }
    }

    /// Reports only the `\u00XX` escapes that decode to an ASCII character
    /// marked in `chars` (the others cannot spell an id).
    pub fn with_escape_chars(mut self, chars: &[bool; 128]) -> Needle {
        let set = (0..128u32)
            .filter(|&c| chars[c as usize])
            .fold(0u128, |set, c| set | 1 << c);
        self.escape_chars = Some(set);
        self
    }

    /// Is the `\u00` at `at` one to report?
    #[inline(always)]
    fn escape_wanted(&self, text: &[u8], at: usize) -> bool {
        match (self.escape_chars, text.get(at + 4..at + 6)) {
            // An ASCII character is `\u00XX` with a first digit 0-7; any
            // other pair (not hex, or beyond ASCII) spells no id byte.
            (Some(set), Some(&[a, b])) => match (a.wrapping_sub(b'0'), hex_value(b)) {
                (high @ 0..=7, Some(low)) => set >> (high << 4 | low) & 1 != 0,
                _ => false,
            },
            // No set, or cut short: report it (the caller decides).
            _ => true,
        }
    }

    /// Calls `hit(i)` for every occurrence of the needle in `text`, in
    /// order, and returns the number of `\n` in `text`. With `escapes`,
    /// also appends the position of every `\u00` in `text` (the
    /// prefilter's escape candidates; with [`Needle::with_escape_chars`],
    /// only those that decode to one of its characters), in order, from
    /// the same pass.
    pub fn find_counting(
        &self,
        text: &[u8],
        escapes: Option<&mut Vec<usize>>,
        hit: impl FnMut(usize),
    ) -> u64 {
        // The structural kernels' choice, so `STREAM_CHAT_EXPORT_SIMD`
        // caps this loop too.
        #[cfg(target_arch = "x86_64")]
        match crate::json::index::choice() {
            crate::json::index::Choice::Avx512(k) => {
                return self.find_counting_simd(Simd::Avx512(k), text, escapes, hit);
            }
            choice => {
                if let Some(k) = choice.avx2() {
                    return self.find_counting_simd(Simd::Avx2(k), text, escapes, hit);
                }
            }
        }
        self.find_counting_from(text, 0, 0, escapes, hit)
    }

    /// [`Needle::find_counting`] with a SIMD probe loop (for a needle of
    /// four bytes or more; shorter ones take memmem).
    #[cfg(target_arch = "x86_64")]
    fn find_counting_simd(
        &self,
        simd: Simd,
        text: &[u8],
        mut escapes: Option<&mut Vec<usize>>,
        mut hit: impl FnMut(usize),
    ) -> u64 {
        if self.bytes.len() < 4 {
            return self.find_counting_from(text, 0, 0, escapes, hit);
        }
        let mut none = Vec::new();
        let (wanted, escapes_out) = match escapes.as_deref_mut() {
            Some(escapes) => (true, escapes),
            None => (false, &mut none),
        };
        let (done, newlines) = match (simd, wanted) {
            // SAFETY: an `Avx2` exists only when the CPU has AVX2 and
            // POPCNT, an `Avx512` only when it has AVX-512F and AVX-512BW
            // too: the features each scan enables.
            (Simd::Avx2(_), true) => self.probe(text, 32, &mut hit, escapes_out, |from| unsafe {
                self.scan_avx2::<true>(text, from)
            }),
            (Simd::Avx2(_), false) => self.probe(text, 32, &mut hit, escapes_out, |from| unsafe {
                self.scan_avx2::<false>(text, from)
            }),
            (Simd::Avx512(_), true) => self.probe(text, 64, &mut hit, escapes_out, |from| unsafe {
                self.scan_avx512::<true>(text, from)
            }),
            (Simd::Avx512(_), false) => {
                self.probe(text, 64, &mut hit, escapes_out, |from| unsafe {
                    self.scan_avx512::<false>(text, from)
                })
            }
        };
        self.find_counting_from(text, done, newlines, escapes, hit)
    }

    /// The portable search of `text[done..]`, given the `newlines` before
    /// `done` (every occurrence starting before `done` was reported): a
    /// newline count, a `\u00` search and memmem.
    fn find_counting_from(
        &self,
        text: &[u8],
        done: usize,
        newlines: u64,
        escapes: Option<&mut Vec<usize>>,
        mut hit: impl FnMut(usize),
    ) -> u64 {
        let rest = &text[done..];
        let newlines = newlines + memchr::memchr_iter(b'\n', rest).count() as u64;
        if let Some(escapes) = escapes {
            escapes.extend(
                memmem::find_iter(rest, b"\\u00")
                    .map(|i| done + i)
                    .filter(|&at| self.escape_wanted(text, at)),
            );
        }
        // Occurrences that start at or after `done`, overlapping ones
        // included.
        let mut from = 0;
        while let Some(i) = self.finder.find(&rest[from..]) {
            hit(done + from + i);
            from += i + 1;
        }
        newlines
    }

    /// The probe loop around a scan that stops at blocks of `step`
    /// positions with something to report: returns how far it got (every
    /// occurrence starting before that was reported; newlines before it
    /// are counted).
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn probe(
        &self,
        text: &[u8],
        step: usize,
        hit: &mut impl FnMut(usize),
        escapes: &mut Vec<usize>,
        mut scan: impl FnMut(usize) -> Event,
    ) -> (usize, u64) {
        let n = self.bytes.len();
        let mut newlines = 0u64;
        let mut from = 0;
        loop {
            let event = scan(from);
            newlines += event.newlines;
            if event.needle == 0 && event.escapes == 0 {
                return (event.at, newlines);
            }
            let mut bits = event.escapes;
            while bits != 0 {
                escapes.push(event.at + bits.trailing_zeros() as usize);
                bits &= bits - 1;
            }
            let mut bits = event.needle;
            while bits != 0 {
                let start = event.at + bits.trailing_zeros() as usize;
                if text[start..start + n] == self.bytes[..] {
                    hit(start);
                }
                bits &= bits - 1;
            }
            from = event.at + step;
        }
    }

    /// Scans 32 positions at a time from `from` until a block has a
    /// candidate or an escape, or the end. Nothing in here calls out, so
    /// the compiler keeps every vector in a register: events, which are
    /// rare, are handled by the caller.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,popcnt")]
    #[inline(never)]
    fn scan_avx2<const ESCAPES: bool>(&self, text: &[u8], from: usize) -> Event {
        use std::arch::x86_64::*;
        let n = self.bytes.len();
        let [_, p1, p2, p3] = self.probes;
        let splat = |i: usize| _mm256_set1_epi8(self.bytes[i] as i8);
        let (b0, b1, b2, b3) = (splat(0), splat(p1), splat(p2), splat(p3));
        let newline = _mm256_set1_epi8(b'\n' as i8);
        let (backslash, u, zero) = (
            _mm256_set1_epi8(b'\\' as i8),
            _mm256_set1_epi8(b'u' as i8),
            _mm256_set1_epi8(b'0' as i8),
        );
        let mut newlines = 0u64;
        let mut i = from;
        // Every load reads `[i + probe, i + probe + 32)`, within `text`
        // while `i + (n - 1) + 32 <= len`.
        while i + n - 1 + 32 <= text.len() {
            let at = text[i..].as_ptr();
            // SAFETY: the loop condition keeps all four 32-byte loads
            // inside `text` (`p3 = n - 1` is the largest probe).
            let (v0, v1, v2, v3) = unsafe {
                (
                    _mm256_loadu_si256(at as *const __m256i),
                    _mm256_loadu_si256(at.add(p1) as *const __m256i),
                    _mm256_loadu_si256(at.add(p2) as *const __m256i),
                    _mm256_loadu_si256(at.add(p3) as *const __m256i),
                )
            };
            newlines += u64::from(
                (_mm256_movemask_epi8(_mm256_cmpeq_epi8(v0, newline)) as u32).count_ones(),
            );
            let mut escapes = 0u32;
            if ESCAPES {
                let backslashes = _mm256_movemask_epi8(_mm256_cmpeq_epi8(v0, backslash));
                if backslashes != 0 {
                    // SAFETY: offsets 1..=3 are within the largest probe
                    // (`n - 1 >= 3`), so inside `text` as above.
                    let (w1, w2, w3) = unsafe {
                        (
                            _mm256_loadu_si256(at.add(1) as *const __m256i),
                            _mm256_loadu_si256(at.add(2) as *const __m256i),
                            _mm256_loadu_si256(at.add(3) as *const __m256i),
                        )
                    };
                    let tail = _mm256_and_si256(
                        _mm256_cmpeq_epi8(w1, u),
                        _mm256_and_si256(_mm256_cmpeq_epi8(w2, zero), _mm256_cmpeq_epi8(w3, zero)),
                    );
                    let mut found = backslashes as u32 & _mm256_movemask_epi8(tail) as u32;
                    // Most escapes in an export spell html (`\u003c`):
                    // drop those here rather than stop for each.
                    while found != 0 {
                        let k = found.trailing_zeros();
                        if self.escape_wanted(text, i + k as usize) {
                            escapes |= 1 << k;
                        }
                        found &= found - 1;
                    }
                }
            }
            let first = _mm256_and_si256(_mm256_cmpeq_epi8(v0, b0), _mm256_cmpeq_epi8(v1, b1));
            let last = _mm256_and_si256(_mm256_cmpeq_epi8(v2, b2), _mm256_cmpeq_epi8(v3, b3));
            let needle = _mm256_movemask_epi8(_mm256_and_si256(first, last)) as u32;
            if needle | escapes != 0 {
                return Event {
                    at: i,
                    newlines,
                    needle: needle.into(),
                    escapes: escapes.into(),
                };
            }
            i += 32;
        }
        Event {
            at: i,
            newlines,
            needle: 0,
            escapes: 0,
        }
    }

    /// [`Needle::scan_avx2`] with AVX-512BW, 64 positions at a time: the
    /// compares give bit masks directly and chain (each probe compares
    /// only where the previous ones matched), so a block costs about a
    /// third of the instructions of two AVX2 blocks.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,popcnt")]
    fn scan_avx512<const ESCAPES: bool>(&self, text: &[u8], from: usize) -> Event {
        use std::arch::x86_64::*;
        let n = self.bytes.len();
        let [_, p1, p2, p3] = self.probes;
        let splat = |i: usize| _mm512_set1_epi8(self.bytes[i] as i8);
        let (b0, b1, b2, b3) = (splat(0), splat(p1), splat(p2), splat(p3));
        let newline = _mm512_set1_epi8(b'\n' as i8);
        let (backslash, u, zero) = (
            _mm512_set1_epi8(b'\\' as i8),
            _mm512_set1_epi8(b'u' as i8),
            _mm512_set1_epi8(b'0' as i8),
        );
        let mut newlines = 0u64;
        let mut i = from;
        // Every load reads `[i + probe, i + probe + 64)`, within `text`
        // while `i + (n - 1) + 64 <= len`.
        while i + n - 1 + 64 <= text.len() {
            let at = text[i..].as_ptr();
            // SAFETY: the loop condition keeps all four 64-byte loads
            // inside `text` (`p3 = n - 1` is the largest probe).
            let (v0, v1, v2, v3) = unsafe {
                (
                    _mm512_loadu_si512(at as *const __m512i),
                    _mm512_loadu_si512(at.add(p1) as *const __m512i),
                    _mm512_loadu_si512(at.add(p2) as *const __m512i),
                    _mm512_loadu_si512(at.add(p3) as *const __m512i),
                )
            };
            newlines += u64::from(_mm512_cmpeq_epi8_mask(v0, newline).count_ones());
            let mut escapes = 0u64;
            if ESCAPES {
                let backslashes = _mm512_cmpeq_epi8_mask(v0, backslash);
                if backslashes != 0 {
                    // SAFETY: offsets 1..=3 are within the largest probe
                    // (`n - 1 >= 3`), so inside `text` as above.
                    let (w1, w2, w3) = unsafe {
                        (
                            _mm512_loadu_si512(at.add(1) as *const __m512i),
                            _mm512_loadu_si512(at.add(2) as *const __m512i),
                            _mm512_loadu_si512(at.add(3) as *const __m512i),
                        )
                    };
                    let mut found = _mm512_mask_cmpeq_epi8_mask(backslashes, w1, u);
                    found = _mm512_mask_cmpeq_epi8_mask(found, w2, zero);
                    found = _mm512_mask_cmpeq_epi8_mask(found, w3, zero);
                    while found != 0 {
                        let k = found.trailing_zeros();
                        if self.escape_wanted(text, i + k as usize) {
                            escapes |= 1 << k;
                        }
                        found &= found - 1;
                    }
                }
            }
            let mut needle = _mm512_cmpeq_epi8_mask(v0, b0);
            needle = _mm512_mask_cmpeq_epi8_mask(needle, v3, b3);
            needle = _mm512_mask_cmpeq_epi8_mask(needle, v1, b1);
            needle = _mm512_mask_cmpeq_epi8_mask(needle, v2, b2);
            if needle | escapes != 0 {
                return Event {
                    at: i,
                    newlines,
                    needle,
                    escapes,
                };
            }
            i += 64;
        }
        Event {
            at: i,
            newlines,
            needle: 0,
            escapes: 0,
        }
    }
}

/// The value of one hex digit, either case.
#[inline(always)]
fn hex_value(d: u8) -> Option<u8> {
    match d {
        b'0'..=b'9' => Some(d - b'0'),
        b'a'..=b'f' => Some(d - b'a' + 10),
        b'A'..=b'F' => Some(d - b'A' + 10),
        _ => None,
    }
}

/// The SIMD features a probe loop may use.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy)]
enum Simd {
    Avx2(crate::json::index::Avx2),
    Avx512(crate::json::index::Avx512),
}

/// Where a scan stopped, and why.
#[cfg(target_arch = "x86_64")]
struct Event {
    /// The block's first position (the end of the scan when no bits).
    at: usize,
    /// Newlines in `[from, at + step)` (to `at` when no bits).
    newlines: u64,
    /// Positions `at + k` where the four probes match.
    needle: u64,
    /// Positions `at + k` where `\\u00` starts.
    escapes: u64,
}

/// Byte frequencies of Stream exports, for memmem's choice of which two
/// needle bytes to look for first. The default table ranks bytes by their
/// frequency in general text, where `"` is rare; in JSON it is the most
/// common byte after the space, so a quoted id would be searched by its
/// quotes. Measured on a generated export (examples/generate.rs, 50 MiB):
/// rank = 255 + 20·log2(frequency), 0 for bytes never seen.
pub(crate) struct ExportByteRank;

#[rustfmt::skip]
pub(crate) const EXPORT_BYTE_RANK: [u8; 256] = [
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 55, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    133, 4, 190, 22, 0, 1, 0, 18, 1, 1, 1, 0, 155, 146, 118, 108,
    160, 143, 155, 138, 138, 129, 128, 124, 124, 125, 167, 16, 0, 82, 0, 65,
    1, 33, 21, 14, 24, 22, 14, 15, 1, 38, 34, 11, 23, 24, 6, 12,
    33, 1, 14, 41, 108, 1, 1, 5, 1, 1, 107, 88, 105, 88, 0, 137,
    1, 166, 111, 141, 148, 178, 119, 125, 111, 148, 50, 65, 147, 132, 158, 144,
    134, 7, 152, 157, 163, 147, 81, 88, 74, 107, 15, 103, 0, 103, 1, 0,
    33, 47, 31, 1, 37, 31, 15, 23, 10, 1, 20, 1, 1, 41, 1, 26,
    6, 38, 1, 1, 45, 47, 1, 8, 40, 30, 2, 1, 29, 1, 16, 70,
    1, 13, 16, 8, 37, 17, 1, 60, 45, 45, 29, 1, 1, 3, 1, 13,
    9, 30, 3, 10, 1, 4, 1, 1, 37, 14, 2, 1, 13, 1, 1, 1,
    0, 0, 1, 64, 1, 11, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0,
    22, 1, 0, 0, 0, 0, 0, 97, 76, 69, 0, 0, 0, 0, 0, 0,
    30, 0, 34, 45, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 3,
    64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

impl memchr::arch::all::packedpair::HeuristicFrequencyRank for ExportByteRank {
    fn rank(&self, byte: u8) -> u8 {
        EXPORT_BYTE_RANK[byte as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(text: &[u8], needle: &[u8]) -> (Vec<usize>, u64) {
        let hits = (0..text.len())
            .filter(|&i| text[i..].starts_with(needle))
            .collect();
        (hits, text.iter().filter(|&&b| b == b'\n').count() as u64)
    }

    /// The character set against every pair of bytes after `\u00`,
    /// decoded the slow way.
    #[test]
    fn escape_chars_match_hex_decoding() {
        let mut chars = [false; 128];
        for c in (b'0'..=b'9')
            .chain(b'a'..=b'z')
            .chain(b'A'..=b'Z')
            .chain(*b"-_\x7f\0")
        {
            chars[usize::from(c)] = true;
        }
        let needle = Needle::new(b"\"ab\"", |b| b).with_escape_chars(&chars);
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let text = [b'\\', b'u', b'0', b'0', a, b];
                let decoded = [a, b]
                    .iter()
                    .map(|&d| char::from(d).to_digit(16))
                    .collect::<Option<Vec<u32>>>()
                    .map(|d| d[0] * 16 + d[1]);
                let want = decoded.is_some_and(|c| c < 128 && chars[c as usize]);
                assert_eq!(needle.escape_wanted(&text, 0), want, "{a:#x} {b:#x}");
            }
        }
        assert!(needle.escape_wanted(b"\\u007", 0), "cut short: reported");
    }

    /// One way through [`Needle::find_counting`], chosen by the test
    /// rather than by the CPU, so that an AVX2 machine tests the memmem
    /// fallback for needles of four bytes or more too.
    #[derive(Debug, Clone, Copy)]
    enum Path {
        Fallback,
        #[cfg(target_arch = "x86_64")]
        Simd(Simd),
    }

    impl Path {
        fn run(
            self,
            needle: &Needle,
            text: &[u8],
            escapes: Option<&mut Vec<usize>>,
            hit: impl FnMut(usize),
        ) -> u64 {
            match self {
                Path::Fallback => needle.find_counting_from(text, 0, 0, escapes, hit),
                #[cfg(target_arch = "x86_64")]
                Path::Simd(simd) => needle.find_counting_simd(simd, text, escapes, hit),
            }
        }
    }

    /// Every path this CPU runs: the memmem fallback, and AVX2 and
    /// AVX-512 when it has them (so `STREAM_CHAT_EXPORT_REQUIRE_SIMD=avx2`
    /// requires the one, `avx512` the other).
    fn paths() -> Vec<(&'static str, Path)> {
        #[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut))] // memmem only
        let mut paths = vec![("memmem", Path::Fallback)];
        #[cfg(target_arch = "x86_64")]
        if let Some(k) = crate::json::index::Avx2::new() {
            paths.push(("avx2", Path::Simd(Simd::Avx2(k))));
        }
        #[cfg(target_arch = "x86_64")]
        if let Some(k) = crate::json::index::Avx512::new() {
            paths.push(("avx512", Path::Simd(Simd::Avx512(k))));
        }
        let names: Vec<&str> = paths.iter().map(|(name, _)| *name).collect();
        crate::json::index::require_simd("user search", &names);
        paths
    }

    #[test]
    fn agrees_with_a_naive_search() {
        let paths = paths();
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for needle in [&b"\"user-17\""[..], b"\"u1\"", b"\"ab", b"x", b"\"\"\"\""] {
            let finder = Needle::new(needle, |b| if b == b'"' { 255 } else { b });
            // Texts built from the needle's own bytes, newlines and
            // near-misses, so occurrences overlap, straddle the 32-byte
            // steps and end the text.
            let alphabet: Vec<u8> = needle.iter().copied().chain(*b"\n7u-\"\\u005c").collect();
            for len in (0..200).chain([1000, 4097]) {
                for _ in 0..5 {
                    let mut text: Vec<u8> = (0..len)
                        .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                        .collect();
                    if len > needle.len() && next() % 2 == 0 {
                        let at = (next() as usize) % (len - needle.len());
                        text[at..at + needle.len()].copy_from_slice(needle);
                    }
                    // Escapes, wanted or not, some cut short by the end.
                    for escape in [&b"\\u0075"[..], b"\\u003C", b"\\u007", b"\\u0055"] {
                        if len > 0 && next() % 2 == 0 {
                            let at = (next() as usize) % len;
                            let end = (at + escape.len()).min(len);
                            text[at..end].copy_from_slice(&escape[..end - at]);
                        }
                    }
                    let want = naive(&text, needle);
                    let context = || {
                        format!(
                            "{:?} in {:?}",
                            String::from_utf8_lossy(needle),
                            String::from_utf8_lossy(&text)
                        )
                    };
                    let wanted_escapes: Vec<usize> = naive(&text, b"\\u00")
                        .0
                        .into_iter()
                        .filter(|&at| {
                            text.get(at + 4..at + 6)
                                .is_none_or(|xx| xx.eq_ignore_ascii_case(b"75"))
                        })
                        .collect();
                    // With a table: only the escapes of wanted characters
                    // ('u' = 0x75, written either case).
                    let mut chars = [false; 128];
                    chars[usize::from(b'u')] = true;
                    let picky = finder.clone().with_escape_chars(&chars);
                    for &(name, path) in &paths {
                        let context = || format!("{name}: {}", context());
                        let mut hits = Vec::new();
                        let newlines = path.run(&finder, &text, None, |i| hits.push(i));
                        assert_eq!((hits, newlines), want, "{}", context());
                        let (mut hits, mut escapes) = (Vec::new(), Vec::new());
                        let newlines =
                            path.run(&finder, &text, Some(&mut escapes), |i| hits.push(i));
                        assert_eq!(escapes, naive(&text, b"\\u00").0, "{}", context());
                        assert_eq!((hits, newlines), want, "{}", context());
                        let mut picked = Vec::new();
                        let newlines = path.run(&picky, &text, Some(&mut picked), |_| {});
                        assert_eq!(picked, wanted_escapes, "{}", context());
                        assert_eq!(newlines, want.1, "{}", context());
                    }
                }
            }
        }
    }
}
