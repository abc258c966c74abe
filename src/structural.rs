//! A structural index of one record, simdjson's "stage 1": the positions of
//! every unescaped quote and of every `{ } [ ] : ,` outside strings, found
//! 64 bytes at a time with bit masks instead of byte by byte. Walking the
//! index skips a nested value by counting brackets, never looking inside
//! strings, which is what makes the quick scan fast.
//!
//! x86_64 builds the byte masks with SSE2 (part of the x86_64 baseline, so
//! no runtime detection is needed); other targets use a scalar twin that
//! computes the same masks (tested against each other).

/// Bit masks of one 64-byte block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Masks {
    quote: u64,
    backslash: u64,
    /// `{ [`
    open: u64,
    /// `} ]`
    close: u64,
    /// `: ,`
    punct: u64,
}

#[cfg_attr(target_arch = "x86_64", allow(dead_code))] // the tests' twin there
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

#[cfg(target_arch = "x86_64")]
fn masks(block: &[u8; 64]) -> Masks {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of the x86_64 baseline; the loads read 4 × 16
    // bytes from a 64-byte array (unaligned loads are allowed).
    unsafe {
        let mut quote = 0u64;
        let mut backslash = 0u64;
        let mut open = 0u64;
        let mut close = 0u64;
        let mut punct = 0u64;
        for part in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(part * 16) as *const __m128i);
            let eq = |c: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8));
            let q = _mm_movemask_epi8(eq(b'"')) as u16 as u64;
            let bs = _mm_movemask_epi8(eq(b'\\')) as u16 as u64;
            // Clearing bit 0x20 maps `{` (0x7b) to `[` (0x5b) and `}`
            // (0x7d) to `]` (0x5d); no other byte lands on those two.
            let folded = _mm_and_si128(v, _mm_set1_epi8(0xdfu8 as i8));
            let o = _mm_movemask_epi8(_mm_cmpeq_epi8(folded, _mm_set1_epi8(0x5b))) as u16 as u64;
            let c = _mm_movemask_epi8(_mm_cmpeq_epi8(folded, _mm_set1_epi8(0x5d))) as u16 as u64;
            let p = _mm_movemask_epi8(_mm_or_si128(eq(b':'), eq(b','))) as u16 as u64;
            quote |= q << (part * 16);
            backslash |= bs << (part * 16);
            open |= o << (part * 16);
            close |= c << (part * 16);
            punct |= p << (part * 16);
        }
        Masks {
            quote,
            backslash,
            open,
            close,
            punct,
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn masks(block: &[u8; 64]) -> Masks {
    masks_scalar(block)
}

const ODD_BITS: u64 = 0xAAAA_AAAA_AAAA_AAAA;

/// Characters escaped by a backslash (simdjson's escape scanner); carries
/// the state of a backslash at the end of the previous block.
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

fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
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
        self.build_with(record, masks)
    }

    fn build_with(&mut self, record: &[u8], masks: fn(&[u8; 64]) -> Masks) -> bool {
        self.masks.clear();
        let mut next_is_escaped = 0u64;
        let mut in_string_carry = 0u64;
        let mut tail = [b' '; 64];
        for chunk in record.chunks(64) {
            let block: &[u8; 64] = match chunk.try_into() {
                Ok(block) => block,
                Err(_) => {
                    tail[..chunk.len()].copy_from_slice(chunk);
                    tail[chunk.len()..].fill(b' ');
                    &tail
                }
            };
            let m = masks(block);
            let quotes = m.quote & !escaped(m.backslash, &mut next_is_escaped);
            let in_string = prefix_xor(quotes) ^ in_string_carry;
            in_string_carry = ((in_string as i64) >> 63) as u64;
            let outside = !in_string;
            self.masks.push([
                quotes,
                m.open & outside,
                m.close & outside,
                m.punct & outside,
            ]);
        }
        in_string_carry == 0
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
    #[inline]
    pub fn next_token(&self, from: usize) -> Option<usize> {
        self.next::<15>(from)
    }

    /// The next unescaped quote at or after `from` (the end of a string
    /// whose opening quote is before `from`).
    #[inline]
    pub fn next_quote(&self, from: usize) -> Option<usize> {
        self.next::<1>(from)
    }

    /// Opening minus closing brackets (outside strings) in `[from, to)`.
    pub fn depth_delta(&self, from: usize, to: usize) -> i64 {
        let count = |which: usize| -> i64 {
            let mut n = 0i64;
            let (first, last) = (from / 64, to / 64);
            for block in first..=last.min(self.masks.len().saturating_sub(1)) {
                let mut bits = self.masks[block][which];
                if block == first {
                    bits &= !0u64 << (from % 64);
                }
                if block == last {
                    bits &= (1u64 << (to % 64)) - 1;
                }
                n += i64::from(bits.count_ones());
            }
            n
        };
        count(OPENS) - count(CLOSES)
    }

    /// Is there an unescaped quote at `at` that opens a string (an even
    /// number of unescaped quotes before it)?
    pub fn opens_string(&self, at: usize) -> bool {
        let (block, bit) = (at / 64, at % 64);
        let Some(mask) = self.masks.get(block) else {
            return false;
        };
        if mask[QUOTES] & (1 << bit) == 0 {
            return false;
        }
        let before: u32 = self.masks[..block]
            .iter()
            .map(|m| m[QUOTES].count_ones())
            .sum::<u32>()
            + (mask[QUOTES] & ((1u64 << bit) - 1)).count_ones();
        before % 2 == 0
    }

    /// The position of the bracket closing the one at `open`. Whole blocks
    /// where the depth cannot fall to zero are passed with two popcounts;
    /// bits are visited one by one only where it might.
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

#[cfg(test)]
mod tests {
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
                assert_eq!(blocks.build_with(&record, masks_scalar), closed);
                assert_eq!(tokens(&blocks, &mut out), &want[..]);
            }
        }
    }

    #[test]
    fn simd_masks_match_scalar_masks() {
        let mut seed = 7;
        for _ in 0..2000 {
            let mut block = [0u8; 64];
            for b in &mut block {
                *b = rng(&mut seed) as u8;
            }
            assert_eq!(masks(&block), masks_scalar(&block));
        }
    }
}
