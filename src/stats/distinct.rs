//! Distinct counts in bounded memory: exact up to [`EXACT_MAX`] values,
//! a HyperLogLog sketch beyond.
//!
//! Values are stored as 64-bit hashes of a fixed function (FNV-1a, then a
//! splitmix64 finalizer), never with a per-process random seed: the state a
//! counter ends in depends only on the set of values it saw, so merging
//! partials in any grouping gives exactly what the sequential run gives.
//! Below the threshold the count is exact (up to a 64-bit hash collision,
//! about 1 in 10^16 for a thousand values); above it the sketch's standard
//! error is 1.04/√4096 ≈ 1.6%.

use crate::hash::HashSet;

/// Values counted exactly before a counter turns into a sketch (8 KiB of
/// hashes; the sketch takes 4 KiB).
pub(crate) const EXACT_MAX: usize = 1024;

/// log2 of the sketch's register count.
const P: u32 = 12;
const REGISTERS: usize = 1 << P;

/// The standard error of a sketched count (1.04/√m).
pub(crate) const SKETCH_ERROR: f64 = 0.01625;

/// A distinct-count accumulator; see the module docs.
#[derive(Debug, Clone)]
pub(crate) enum Distinct {
    Exact(HashSet),
    Sketch(Box<[u8]>),
}

impl Default for Distinct {
    fn default() -> Self {
        Distinct::Exact(HashSet::default())
    }
}

/// The fixed 64-bit hash of `text`.
pub(crate) fn hash(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in text.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // FNV's low bits mix poorly; the finalizer spreads every input bit
    // over the register index and the rank.
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

impl Distinct {
    /// Adds a value by its [`hash`].
    pub(crate) fn insert_hash(&mut self, h: u64) {
        match self {
            Distinct::Exact(set) => {
                if set.insert(h) && set.len() > EXACT_MAX {
                    let mut registers = vec![0u8; REGISTERS].into_boxed_slice();
                    for &v in set.iter() {
                        observe(&mut registers, v);
                    }
                    *self = Distinct::Sketch(registers);
                }
            }
            Distinct::Sketch(registers) => observe(registers, h),
        }
    }

    /// Adds a value.
    pub(crate) fn insert(&mut self, text: &str) {
        self.insert_hash(hash(text));
    }

    /// Adds every value `other` saw.
    pub(crate) fn merge(&mut self, other: Distinct) {
        match other {
            Distinct::Exact(set) => set.into_iter().for_each(|h| self.insert_hash(h)),
            Distinct::Sketch(theirs) => {
                if let Distinct::Exact(set) = self {
                    let mut registers = theirs;
                    for &v in set.iter() {
                        observe(&mut registers, v);
                    }
                    *self = Distinct::Sketch(registers);
                } else if let Distinct::Sketch(mine) = self {
                    for (m, t) in mine.iter_mut().zip(theirs.iter()) {
                        *m = (*m).max(*t);
                    }
                }
            }
        }
    }

    /// Is the count an estimate?
    pub(crate) fn is_estimate(&self) -> bool {
        matches!(self, Distinct::Sketch(_))
    }

    /// The number of distinct values (estimated once sketched).
    pub(crate) fn count(&self) -> u64 {
        match self {
            Distinct::Exact(set) => set.len() as u64,
            Distinct::Sketch(registers) => estimate(registers),
        }
    }
}

fn observe(registers: &mut [u8], h: u64) {
    let index = (h >> (64 - P)) as usize;
    // The rank of the first set bit among the remaining 52 bits (a
    // sentinel bit bounds it at 53).
    let rest = (h << P) | (1 << (P - 1));
    let rank = rest.leading_zeros() as u8 + 1;
    if let Some(r) = registers.get_mut(index) {
        *r = (*r).max(rank);
    }
}

/// The HyperLogLog estimate, with linear counting for small counts
/// (Flajolet et al. 2007).
fn estimate(registers: &[u8]) -> u64 {
    let m = registers.len() as f64;
    let alpha = 0.7213 / (1.0 + 1.079 / m);
    let sum: f64 = registers.iter().map(|&r| 2f64.powi(-i32::from(r))).sum();
    let raw = alpha * m * m / sum;
    let zeros = registers.iter().filter(|&&r| r == 0).count();
    let e = if raw <= 2.5 * m && zeros > 0 {
        m * (m / zeros as f64).ln()
    } else {
        raw
    };
    e.round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_below_the_threshold_and_close_beyond() {
        let mut d = Distinct::default();
        for i in 0..EXACT_MAX {
            d.insert(&format!("user-{i}"));
            d.insert(&format!("user-{i}"));
        }
        assert_eq!(d.count(), EXACT_MAX as u64);
        assert!(!d.is_estimate());
        for i in EXACT_MAX..50_000 {
            d.insert(&format!("user-{i}"));
        }
        assert!(d.is_estimate());
        let error = (d.count() as f64 - 50_000.0).abs() / 50_000.0;
        assert!(error < 4.0 * SKETCH_ERROR, "{}", d.count());
    }

    #[test]
    fn merging_in_any_grouping_gives_the_same_state() {
        let values: Vec<String> = (0..3000).map(|i| format!("v{}", i % 2200)).collect();
        let mut whole = Distinct::default();
        values.iter().for_each(|v| whole.insert(v));
        for split in [1, 7, 500, 1500, 2999] {
            let (mut a, mut b) = (Distinct::default(), Distinct::default());
            values[..split].iter().for_each(|v| a.insert(v));
            values[split..].iter().for_each(|v| b.insert(v));
            let mut ba = b.clone();
            a.merge(b);
            ba.merge({
                let mut a2 = Distinct::default();
                values[..split].iter().for_each(|v| a2.insert(v));
                a2
            });
            assert_eq!(a.count(), whole.count(), "{split}");
            assert_eq!(ba.count(), whole.count(), "{split}");
        }
    }
}
