//! Total-order keys for finite floats, so the sweeps can sort with integer comparisons and never
//! meet a NaN (inputs are checked finite before they get here).

/// A key whose unsigned order is the numeric order of finite `value` (and −0.0 sorts with +0.0,
/// because inputs are normalised by adding 0.0 before they reach the algorithms).
#[inline]
pub(crate) fn key(value: f64) -> u64 {
    let bits = value.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// Whether `a` weakly dominates `b` (every coordinate ≤, minimisation).
#[inline]
pub(crate) fn weakly_dominates(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x <= y)
}

/// The volume of the box between `point` and `reference`.
#[inline]
pub(crate) fn box_volume(point: &[f64], reference: &[f64]) -> f64 {
    point.iter().zip(reference).map(|(p, r)| r - p).product()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_numeric_order() {
        let values = [-1e300, -2.5, -1e-310, 0.0, 1e-310, 1.0, 3.5, 1e300];
        for pair in values.windows(2) {
            assert!(key(pair[0]) < key(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(key(-0.0 + 0.0), key(0.0));
    }
}
