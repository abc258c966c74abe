//! Hashing for tables keyed by ids from the export (the statistics'
//! accumulators, the reader's recent message ids): they are hashed on
//! every message, so the default SipHash (built against hash flooding by
//! untrusted keys) showed in profiles. A multiply-rotate
//! hash (the Fx hash of rustc) costs a fraction of it. Flooding needs
//! keys chosen to collide under a fixed function, and costs the attacker
//! only the run time of their own export's statistics or read (the
//! reader's table is bounded by its capacity): accepted here.
//! Tables of values that are already hashes ([`Distinct`](super::distinct))
//! use them as they are.

use std::hash::{BuildHasherDefault, Hasher};

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// The Fx hash.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fx(u64);

impl Fx {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for Fx {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Passes a `u64` that is already a good hash through.
#[derive(Default, Clone, Copy)]
pub(crate) struct Identity(u64);

impl Hasher for Identity {
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys use this hasher; anything else still hashes.
        let mut fx = Fx(self.0);
        fx.write(bytes);
        self.0 = fx.0;
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A table keyed by strings from the export.
pub(crate) type Map<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<Fx>>;
/// A table keyed by precomputed hashes.
pub(crate) type HashKeyed<V> = std::collections::HashMap<u64, V, BuildHasherDefault<Identity>>;
/// A set of precomputed hashes.
pub(crate) type HashSet = std::collections::HashSet<u64, BuildHasherDefault<Identity>>;
