//! A structural index of one record, simdjson's "stage 1": the positions of
//! every unescaped quote and of every `{ } [ ] : ,` outside strings, found
//! 64 bytes at a time with bit masks instead of byte by byte. Walking the
//! index skips a nested value by counting brackets, never looking inside
//! strings, which is what makes the quick scan fast.
//!
//! The byte masks come from a [`Kernel`]: SSE2 on every x86_64 (part of
//! its baseline), AVX2 or AVX-512BW when the CPU has them (detected once at
//! run time, so default build flags still get them), a scalar twin
//! elsewhere. All compute the same masks (tested against each other).
//! Callers instantiate their hot loop once per kernel inside a
//! `#[target_feature]` function (see [`dispatch`]), so the walk's popcounts
//! and bit scans compile to single instructions there too.

/// Bit masks of one 64-byte block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Masks {
    pub(crate) quote: u64,
    pub(crate) backslash: u64,
    /// `{ [`
    pub(crate) open: u64,
    /// `} ]`
    pub(crate) close: u64,
    /// `: ,`
    pub(crate) punct: u64,
}

fn masks_scalar(block: &[u8; 64]) -> Masks {
    let mut m = Masks {
        quote: 0,
        backslash: 0,
        open: 0,
        close: 0,
        punct: 0,
    };
    for (i, &b) in block.iter().enumerate() {
        let bit = 1u64 << i;
        match b {
            b'"' => m.quote |= bit,
            b'\\' => m.backslash |= bit,
            b'{' | b'[' => m.open |= bit,
            b'}' | b']' => m.close |= bit,
            b':' | b',' => m.punct |= bit,
            _ => {}
        }
    }
    m
}

/// How one 64-byte block becomes bit masks, and the in-string prefix sum.
///
/// A kernel value is a proof: the x86_64 kernels ([`Sse2`], [`Avx2`],
/// [`Avx512`]) are built only by a constructor that first detects, at run
/// time, every instruction set their functions enable (for SSE2, the
/// x86_64 baseline, the check is a constant), so their `&self` methods are
/// safe to call anywhere. They are fast only inside a
/// function compiled for their instruction set, which [`dispatch`] writes.
pub(crate) trait Kernel: Copy {
    /// The masks of one block.
    fn masks(&self, block: &[u8; 64]) -> Masks;
    /// Bit `i` of the result is the XOR of bits `0..=i` of `x`.
    #[inline(always)]
    fn prefix_xor(&self, mut x: u64) -> u64 {
        x ^= x << 1;
        x ^= x << 2;
        x ^= x << 4;
        x ^= x << 8;
        x ^= x << 16;
        x ^= x << 32;
        x
    }
}

/// Byte by byte: the reference, and the kernel of non-x86 targets. It
/// needs nothing, so anyone may build it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scalar;

impl Kernel for Scalar {
    #[inline(always)]
    fn masks(&self, block: &[u8; 64]) -> Masks {
        masks_scalar(block)
    }
}

/// SSE2, 16 bytes at a time: every x86_64 has it.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sse2(());

#[cfg(target_arch = "x86_64")]
impl Sse2 {
    /// The kernel, if the CPU has SSE2 (always on x86_64, where it is part
    /// of the baseline: the check then compiles to a constant).
    pub(crate) fn new() -> Option<Sse2> {
        is_x86_feature_detected!("sse2").then_some(Sse2(()))
    }
}

#[cfg(target_arch = "x86_64")]
impl Kernel for Sse2 {
    #[inline(always)]
    fn masks(&self, block: &[u8; 64]) -> Masks {
        // SAFETY: `self` exists only when the CPU has SSE2 (`Sse2::new`).
        unsafe { sse2_masks(block) }
    }
}

/// The intrinsics are `#[target_feature]` functions, safe to call only
/// from a function that lists SSE2 (the build's baseline does not count);
/// inlining into the baseline code is allowed, since that includes SSE2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
#[inline]
fn sse2_masks(block: &[u8; 64]) -> Masks {
    use std::arch::x86_64::*;
    let mut m = Masks {
        quote: 0,
        backslash: 0,
        open: 0,
        close: 0,
        punct: 0,
    };
    for part in 0..4 {
        // SAFETY: reads the 16 bytes `part * 16..part * 16 + 16` of the
        // 64-byte array (`part < 4`); unaligned loads are allowed.
        let v = unsafe { _mm_loadu_si128(block.as_ptr().add(part * 16) as *const __m128i) };
        let eq = |c: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8));
        let bits = |x: __m128i| (_mm_movemask_epi8(x) as u16 as u64) << (part * 16);
        // Clearing bit 0x20 maps `{` (0x7b) to `[` (0x5b) and `}`
        // (0x7d) to `]` (0x5d); no other byte lands on those two.
        let folded = _mm_and_si128(v, _mm_set1_epi8(0xdfu8 as i8));
        m.quote |= bits(eq(b'"'));
        m.backslash |= bits(eq(b'\\'));
        m.open |= bits(_mm_cmpeq_epi8(folded, _mm_set1_epi8(0x5b)));
        m.close |= bits(_mm_cmpeq_epi8(folded, _mm_set1_epi8(0x5d)));
        m.punct |= bits(_mm_or_si128(eq(b':'), eq(b',')));
    }
    m
}

/// AVX2, 32 bytes at a time, with a carry-less multiply for the prefix sum.
/// A value proves that the CPU has AVX2, PCLMULQDQ, POPCNT, BMI1 and LZCNT
/// (the set [`dispatch`] compiles its AVX2 loop for; `src/search.rs` uses
/// AVX2 and POPCNT from it).
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Avx2(());

#[cfg(target_arch = "x86_64")]
impl Avx2 {
    /// The kernel, if the CPU has every feature listed on [`Avx2`].
    pub(crate) fn new() -> Option<Avx2> {
        let all = is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("pclmulqdq")
            && is_x86_feature_detected!("popcnt")
            && is_x86_feature_detected!("bmi1")
            && is_x86_feature_detected!("lzcnt");
        all.then_some(Avx2(()))
    }
}

#[cfg(target_arch = "x86_64")]
impl Kernel for Avx2 {
    #[inline(always)]
    fn masks(&self, block: &[u8; 64]) -> Masks {
        // SAFETY: `self` exists only when the CPU has AVX2 (`Avx2::new`).
        unsafe { avx2_masks(block) }
    }
    #[inline(always)]
    fn prefix_xor(&self, x: u64) -> u64 {
        // SAFETY: `self` exists only when the CPU has PCLMULQDQ.
        unsafe { clmul_prefix_xor(x) }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn avx2_masks(block: &[u8; 64]) -> Masks {
    use std::arch::x86_64::*;
    let mut m = Masks {
        quote: 0,
        backslash: 0,
        open: 0,
        close: 0,
        punct: 0,
    };
    for part in 0..2 {
        // SAFETY: reads the 32 bytes `part * 32..part * 32 + 32` of the
        // 64-byte array (`part < 2`); unaligned loads are allowed.
        let v = unsafe { _mm256_loadu_si256(block.as_ptr().add(part * 32) as *const __m256i) };
        let eq = |c: u8| _mm256_cmpeq_epi8(v, _mm256_set1_epi8(c as i8));
        let bits = |x: __m256i| (_mm256_movemask_epi8(x) as u32 as u64) << (part * 32);
        let folded = _mm256_and_si256(v, _mm256_set1_epi8(0xdfu8 as i8));
        m.quote |= bits(eq(b'"'));
        m.backslash |= bits(eq(b'\\'));
        m.open |= bits(_mm256_cmpeq_epi8(folded, _mm256_set1_epi8(0x5b)));
        m.close |= bits(_mm256_cmpeq_epi8(folded, _mm256_set1_epi8(0x5d)));
        m.punct |= bits(_mm256_or_si256(eq(b':'), eq(b',')));
    }
    m
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "pclmulqdq")]
#[inline]
fn clmul_prefix_xor(x: u64) -> u64 {
    use std::arch::x86_64::*;
    // Multiplying by all ones without carries XORs every lower bit in.
    let product = _mm_clmulepi64_si128(_mm_set_epi64x(0, x as i64), _mm_set1_epi8(-1), 0);
    _mm_cvtsi128_si64(product) as u64
}

/// AVX-512BW: one compare per character class gives the 64-bit mask
/// directly. A value proves AVX-512F and AVX-512BW on top of everything an
/// [`Avx2`] proves (which it holds: [`dispatch`] compiles the AVX-512 loop
/// with AVX2 enabled too, and a hypervisor may mask AVX2 on a CPU that
/// reports AVX-512).
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Avx512(Avx2);

#[cfg(target_arch = "x86_64")]
impl Avx512 {
    /// The kernel, if the CPU has every feature listed on [`Avx512`].
    pub(crate) fn new() -> Option<Avx512> {
        let avx2 = Avx2::new()?;
        let bw = is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw");
        bw.then_some(Avx512(avx2))
    }

    /// The AVX2 features this one proves too.
    pub(crate) fn avx2(self) -> Avx2 {
        self.0
    }
}

#[cfg(target_arch = "x86_64")]
impl Kernel for Avx512 {
    #[inline(always)]
    fn masks(&self, block: &[u8; 64]) -> Masks {
        // SAFETY: `self` exists only when the CPU has AVX-512F and
        // AVX-512BW (`Avx512::new`).
        unsafe { avx512_masks(block) }
    }
    #[inline(always)]
    fn prefix_xor(&self, x: u64) -> u64 {
        self.0.prefix_xor(x)
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
fn avx512_masks(block: &[u8; 64]) -> Masks {
    use std::arch::x86_64::*;
    // SAFETY: reads exactly the 64-byte array; unaligned loads are allowed.
    let v = unsafe { _mm512_loadu_si512(block.as_ptr() as *const __m512i) };
    let eq = |c: u8| _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(c as i8));
    let folded = _mm512_and_si512(v, _mm512_set1_epi8(0xdfu8 as i8));
    Masks {
        quote: eq(b'"'),
        backslash: eq(b'\\'),
        open: _mm512_cmpeq_epi8_mask(folded, _mm512_set1_epi8(0x5b)),
        close: _mm512_cmpeq_epi8_mask(folded, _mm512_set1_epi8(0x5d)),
        punct: eq(b':') | eq(b','),
    }
}

/// The kernel this process uses on x86_64: the widest the CPU has, unless
/// `STREAM_CHAT_EXPORT_SIMD` caps it.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy)]
pub(crate) enum Choice {
    /// AVX-512BW.
    Avx512(Avx512),
    /// AVX2.
    Avx2(Avx2),
    /// SSE2, the x86_64 baseline.
    Sse2(Sse2),
    /// Only if SSE2 were missing, which no x86_64 CPU allows.
    Scalar(Scalar),
}

#[cfg(target_arch = "x86_64")]
impl Choice {
    /// The AVX2 features, if the choice includes them (what
    /// `src/search.rs` needs for its probe loop).
    pub(crate) fn avx2(self) -> Option<Avx2> {
        match self {
            Choice::Avx512(k) => Some(k.avx2()),
            Choice::Avx2(k) => Some(k),
            Choice::Sse2(_) | Choice::Scalar(_) => None,
        }
    }
}

/// The name of the environment variable that caps the kernels: `avx2`
/// (no AVX-512) or `baseline` (SSE2 on x86_64; the scalar kernel elsewhere
/// is the only one anyway). Documented in the crate docs.
#[cfg(target_arch = "x86_64")]
const SIMD_VAR: &str = "STREAM_CHAT_EXPORT_SIMD";

/// Detected and read once: every dispatch asks, so it must be cheap.
#[cfg(target_arch = "x86_64")]
pub(crate) fn choice() -> Choice {
    static CHOICE: std::sync::OnceLock<Choice> = std::sync::OnceLock::new();
    *CHOICE.get_or_init(|| {
        let cap = std::env::var(SIMD_VAR).unwrap_or_default();
        detect(&cap)
    })
}

#[cfg(target_arch = "x86_64")]
fn detect(cap: &str) -> Choice {
    if !matches!(cap, "avx2" | "baseline")
        && let Some(k) = Avx512::new()
    {
        return Choice::Avx512(k);
    }
    if cap != "baseline"
        && let Some(k) = Avx2::new()
    {
        return Choice::Avx2(k);
    }
    match Sse2::new() {
        Some(k) => Choice::Sse2(k),
        None => Choice::Scalar(Scalar),
    }
}

/// Calls `$generic(kernel, $args...)` with the kernel [`choice`] gives,
/// inside a function compiled for its instruction set, so everything
/// `$generic` inlines (mask building, popcounts, bit scans) uses it.
macro_rules! dispatch {
    (fn $name:ident $(<$lt:lifetime>)? ($($arg:ident: $ty:ty),*) -> $ret:ty => $generic:ident) => {
        fn $name $(<$lt>)? ($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                use $crate::json::index::{Avx2, Avx512, Choice, choice};
                // Each feature list is the one its token's constructor
                // detects (`Avx512::new`, `Avx2::new`): keep them equal.
                #[target_feature(enable = "avx512f,avx512bw,avx2,pclmulqdq,popcnt,bmi1,lzcnt")]
                fn with_avx512 $(<$lt>)? (k: Avx512, $($arg: $ty),*) -> $ret {
                    $generic(k, $($arg),*)
                }
                #[target_feature(enable = "avx2,pclmulqdq,popcnt,bmi1,lzcnt")]
                fn with_avx2 $(<$lt>)? (k: Avx2, $($arg: $ty),*) -> $ret {
                    $generic(k, $($arg),*)
                }
                match choice() {
                    // SAFETY: an `Avx512` exists only when the CPU has
                    // every feature `with_avx512` enables.
                    Choice::Avx512(k) => unsafe { with_avx512(k, $($arg),*) },
                    // SAFETY: likewise for `Avx2` and `with_avx2`.
                    Choice::Avx2(k) => unsafe { with_avx2(k, $($arg),*) },
                    Choice::Sse2(k) => $generic(k, $($arg),*),
                    Choice::Scalar(k) => $generic(k, $($arg),*),
                }
            }
            #[cfg(not(target_arch = "x86_64"))]
            {
                $generic($crate::json::index::Scalar, $($arg),*)
            }
        }
    };
}
pub(crate) use dispatch;

const ODD_BITS: u64 = 0xAAAA_AAAA_AAAA_AAAA;

/// Characters escaped by a backslash (simdjson's escape scanner); carries
/// the state of a backslash at the end of the previous block.
#[inline(always)]
fn escaped(backslash: u64, next_is_escaped: &mut u64) -> u64 {
    if backslash == 0 {
        return std::mem::take(next_is_escaped);
    }
    let potential = backslash & !*next_is_escaped;
    let maybe_escaped = potential << 1;
    let codes = (maybe_escaped | ODD_BITS).wrapping_sub(potential) ^ ODD_BITS;
    let escaped = codes ^ (backslash | *next_is_escaped);
    *next_is_escaped = (codes & backslash) >> 63;
    escaped
}

/// Byte-at-a-time string tracking, for the short loops that look at every
/// byte anyway (depth check, minifying): which bytes lie outside strings.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct StringState {
    in_string: bool,
    escaped: bool,
}

impl StringState {
    /// Takes the next byte; true when it is outside any string (an opening
    /// quote is outside, the closing quote inside).
    #[inline]
    pub fn outside(&mut self, b: u8) -> bool {
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.in_string = false;
            }
            return false;
        }
        self.in_string = b == b'"';
        true
    }
}

/// Walks `text[..len]` 64 bytes at a time: calls `f(at, masks, quotes,
/// in_string, keep)` for the block at offset `at`, with its unescaped
/// quotes, the bytes inside strings (an opening quote inside, a closing
/// one outside; the text starts outside any string) and `keep`, the bits
/// below `len`. Blocks may read past `len` up to the end of `text`
/// (which saves copying the last partial block); bits from `len` on are
/// cleared in `quotes` and must be in the other masks by the caller
/// (`keep`). Returns the in-string carry at the end (0: outside).
#[inline(always)]
pub(crate) fn string_blocks<K: Kernel>(
    k: K,
    text: &[u8],
    len: usize,
    mut f: impl FnMut(usize, &Masks, u64, u64, u64),
) -> u64 {
    let len = len.min(text.len());
    let mut next_is_escaped = 0u64;
    let mut in_string_carry = 0u64;
    let mut tail = [b' '; 64];
    let mut at = 0;
    while at < len {
        let block: &[u8; 64] = match text.get(at..at + 64) {
            Some(block) => block.try_into().expect("64 bytes"),
            None => {
                let rest = &text[at..len];
                tail[..rest.len()].copy_from_slice(rest);
                tail[rest.len()..].fill(b' ');
                &tail
            }
        };
        let valid = len - at;
        let keep = if valid >= 64 {
            !0u64
        } else {
            (1u64 << valid) - 1
        };
        let m = k.masks(block);
        let quotes = m.quote & !escaped(m.backslash & keep, &mut next_is_escaped) & keep;
        let in_string = k.prefix_xor(quotes) ^ in_string_carry;
        in_string_carry = ((in_string as i64) >> 63) as u64;
        f(at, &m, quotes, in_string, keep);
        at += 64;
    }
    in_string_carry
}

/// A record's structural masks, one set of four `u64` per 64-byte block:
/// unescaped quotes, and opening brackets, closing brackets and `: ,`
/// outside strings. Built without looking at bytes one at a time; walked
/// by finding the next set bit, so skipping a nested value visits only its
/// brackets — never the strings inside it.
#[derive(Debug, Default)]
pub(crate) struct Blocks {
    masks: Vec<[u64; 4]>,
}

const QUOTES: usize = 0;
const OPENS: usize = 1;
const CLOSES: usize = 2;
const PUNCT: usize = 3;

impl Blocks {
    /// Indexes `record`. Returns false when it ends inside a string.
    pub fn build(&mut self, record: &[u8]) -> bool {
        dispatch!(fn build(blocks: &mut Blocks, record: &[u8]) -> bool => build_generic);
        #[inline(always)]
        fn build_generic<K: Kernel>(k: K, blocks: &mut Blocks, record: &[u8]) -> bool {
            blocks.build_with(k, record)
        }
        build(self, record)
    }

    /// [`Blocks::build`] with kernel `K`; for callers that dispatch a
    /// larger hot loop themselves.
    #[inline(always)]
    pub fn build_with<K: Kernel>(&mut self, k: K, record: &[u8]) -> bool {
        self.build_in(k, record, record.len())
    }

    /// Indexes the record `text[..len]`. Blocks may read past `len` up to
    /// the end of `text` (the rest of a chunk, say), which saves copying a
    /// record's last partial block; bits from `len` on are cleared, and
    /// nothing after `len` changes the bits before it (escapes and string
    /// state only carry forward).
    #[inline(always)]
    pub fn build_in<K: Kernel>(&mut self, k: K, text: &[u8], len: usize) -> bool {
        let len = len.min(text.len());
        self.masks.clear();
        self.masks.reserve(len / 64 + 1);
        let masks = &mut self.masks;
        let carry = string_blocks(k, text, len, |_, m, quotes, in_string, keep| {
            let outside = !in_string & keep;
            masks.push([
                quotes,
                m.open & outside,
                m.close & outside,
                m.punct & outside,
            ]);
        });
        carry == 0
    }

    /// The first position at or after `from` whose bit is set in one of
    /// the masks selected by `W` (bit 0 quotes, 1 opens, 2 closes, 3
    /// punctuation). A const parameter, so each use compiles to a tight
    /// loop.
    #[inline(always)]
    fn next<const W: u8>(&self, from: usize) -> Option<usize> {
        #[inline(always)]
        fn select<const W: u8>(m: &[u64; 4]) -> u64 {
            let mut bits = 0;
            if W & 1 != 0 {
                bits |= m[QUOTES];
            }
            if W & 2 != 0 {
                bits |= m[OPENS];
            }
            if W & 4 != 0 {
                bits |= m[CLOSES];
            }
            if W & 8 != 0 {
                bits |= m[PUNCT];
            }
            bits
        }
        let mut block = from / 64;
        let mut bits = select::<W>(self.masks.get(block)?) & (!0u64 << (from % 64));
        loop {
            if bits != 0 {
                return Some(block * 64 + bits.trailing_zeros() as usize);
            }
            block += 1;
            bits = select::<W>(self.masks.get(block)?);
        }
    }

    /// The next token of any kind at or after `from`.
    #[inline(always)]
    pub fn next_token(&self, from: usize) -> Option<usize> {
        self.next::<15>(from)
    }

    /// The next unescaped quote at or after `from` (the end of a string
    /// whose opening quote is before `from`).
    #[inline(always)]
    pub fn next_quote(&self, from: usize) -> Option<usize> {
        self.next::<1>(from)
    }

    /// The last unescaped quote before `before`.
    #[inline(always)]
    pub fn prev_quote(&self, before: usize) -> Option<usize> {
        let mut block = before / 64;
        let mut bits = match self.masks.get(block) {
            Some(m) => m[QUOTES] & ((1u64 << (before % 64)) - 1),
            None => {
                block = self.masks.len();
                0
            }
        };
        loop {
            if bits != 0 {
                return Some(block * 64 + 63 - bits.leading_zeros() as usize);
            }
            block = block.checked_sub(1)?;
            bits = self.masks[block][QUOTES];
        }
    }

    /// Closing minus opening brackets, and unescaped quotes, in
    /// `[from, to)`: the depth of `from` below the level at `to`, and the
    /// parity that tells an opening quote from a closing one.
    #[inline(always)]
    pub fn depth_and_quotes(&self, from: usize, to: usize) -> (i64, u32) {
        let (first, last) = (from / 64, to / 64);
        let (mut depth, mut quotes) = (0i64, 0u32);
        for block in first..=last.min(self.masks.len().saturating_sub(1)) {
            let mut keep = !0u64;
            if block == first {
                keep &= !0u64 << (from % 64);
            }
            if block == last {
                keep &= (1u64 << (to % 64)) - 1;
            }
            let m = &self.masks[block];
            depth += i64::from((m[CLOSES] & keep).count_ones());
            depth -= i64::from((m[OPENS] & keep).count_ones());
            quotes += (m[QUOTES] & keep).count_ones();
        }
        (depth, quotes)
    }

    /// The position of the bracket closing the one at `open`. Whole blocks
    /// where the depth cannot fall to zero are passed with two popcounts;
    /// bits are visited one by one only where it might.
    #[inline(always)]
    pub fn matching_close(&self, open: usize) -> Option<usize> {
        let mut depth = 0i64;
        let mut block = open / 64;
        let mut from_bit = open % 64;
        loop {
            let m = self.masks.get(block)?;
            let keep = !0u64 << from_bit;
            let (opens, closes) = (m[OPENS] & keep, m[CLOSES] & keep);
            if i64::from(closes.count_ones()) < depth {
                depth += i64::from(opens.count_ones()) - i64::from(closes.count_ones());
            } else {
                let mut bits = opens | closes;
                while bits != 0 {
                    let bit = bits.trailing_zeros();
                    if opens & (1 << bit) != 0 {
                        depth += 1;
                    } else {
                        depth -= 1;
                        if depth == 0 {
                            return Some(block * 64 + bit as usize);
                        }
                    }
                    bits &= bits - 1;
                }
            }
            block += 1;
            from_bit = 0;
        }
    }
}

/// For tests: prints which kernels `what` tested (`tested`), and fails when
/// the comma-separated list in `STREAM_CHAT_EXPORT_REQUIRE_SIMD` (`sse2`,
/// `avx2`, `avx512`) names one this CPU lacks, so that a CI machine known to
/// have AVX-512 cannot skip it silently. The tests test every kernel the
/// CPU has, so a required kernel is one they test.
#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) use tests::require_simd;
