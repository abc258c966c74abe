//! A log-bucket histogram of non-negative durations with a known relative
//! error (the DDSketch layout): bucket `i` holds values in
//! `(γ^(i-1), γ^i]` and reports `2γ^i/(γ+1)`, within `(γ-1)/(γ+1)` of
//! every value in it. With γ = 1.02 that is 1%; a year in seconds needs
//! under 900 buckets, so the memory is bounded whatever the count.

use std::collections::BTreeMap;

const GAMMA: f64 = 1.02;

/// The relative error of a reported quantile.
pub(crate) const RELATIVE_ERROR: f64 = (GAMMA - 1.0) / (GAMMA + 1.0);

/// Values below this (in seconds) are counted as zero: a reply in the
/// same millisecond as its parent.
const ZERO: f64 = 1e-3;

/// See the module docs.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct LogHistogram {
    zeros: u64,
    buckets: BTreeMap<i32, u64>,
}

impl LogHistogram {
    /// Adds a value (negative values count as zero).
    pub(crate) fn add(&mut self, x: f64) {
        if x.is_nan() || x < ZERO {
            self.zeros += 1;
        } else {
            let i = (x.ln() / GAMMA.ln()).ceil() as i32;
            *self.buckets.entry(i).or_default() += 1;
        }
    }

    /// How many values.
    pub(crate) fn count(&self) -> u64 {
        self.zeros + self.buckets.values().sum::<u64>()
    }

    /// The value of rank `q` (0 = smallest, 1 = largest; the median is the
    /// lower median at 0.5), within [`RELATIVE_ERROR`]; `None` when empty.
    pub(crate) fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = ((n - 1) as f64 * q.clamp(0.0, 1.0)).floor() as u64;
        if rank < self.zeros {
            return Some(0.0);
        }
        let mut seen = self.zeros;
        for (&i, &c) in &self.buckets {
            seen += c;
            if rank < seen {
                return Some(2.0 * GAMMA.powi(i) / (GAMMA + 1.0));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_the_stated_error() {
        let mut h = LogHistogram::default();
        let mut values: Vec<f64> = (1..=999).map(|i| (i as f64).powf(1.7) * 3.1).collect();
        values.push(0.0);
        values.iter().for_each(|&v| h.add(v));
        values.sort_by(f64::total_cmp);
        for q in [0.0, 0.1, 0.5, 0.9, 1.0] {
            let exact = values[((values.len() - 1) as f64 * q).floor() as usize];
            let got = h.quantile(q).unwrap();
            assert!(
                (got - exact).abs() <= exact * RELATIVE_ERROR + 1e-9,
                "q={q}: {got} vs {exact}"
            );
        }
        assert_eq!(LogHistogram::default().quantile(0.5), None);
    }
}
