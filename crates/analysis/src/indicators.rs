//! Distance of a found front to a reference front: IGD+ (Ishibuchi et al., "Modified distance
//! calculation in generational distance and inverted generational distance", EMO 2015), as
//! `moocore.igd_plus` computes it. It is the quality indicator a replay against a complete
//! table wants beside the hypervolume gap: Pareto-compliant (a better front never scores worse),
//! and zero exactly when the found front weakly dominates every reference point.

use xnas_moo::Direction;

use crate::error::{check_column, AnalysisError};

/// IGD+ of `found` to the reference front `reference`, in two axes with `directions`: the mean
/// over the reference points z of the distance to the nearest found point a, counting each axis
/// only where a falls short of z (for a minimised axis, max(a − z, 0); maximised, max(z − a, 0)).
pub fn igd_plus(found: &[[f64; 2]], reference: &[[f64; 2]], directions: [Direction; 2]) -> Result<f64, AnalysisError> {
    for (what, points) in [("found", found), ("reference", reference)] {
        let flat: Vec<f64> = points.iter().flatten().copied().collect();
        check_column(what, &flat)?;
    }
    let shortfall = |z: &[f64; 2], a: &[f64; 2]| -> f64 {
        (0..2)
            .map(|i| match directions[i] {
                Direction::Minimise => (a[i] - z[i]).max(0.0),
                Direction::Maximise => (z[i] - a[i]).max(0.0),
            })
            .map(|d| d * d)
            .sum::<f64>()
            .sqrt()
    };
    let total: f64 =
        reference.iter().map(|z| found.iter().map(|a| shortfall(z, a)).fold(f64::INFINITY, f64::min)).sum();
    Ok(total / reference.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::{Maximise, Minimise};

    #[test]
    fn shortfalls_by_hand() {
        let max = [Maximise, Maximise];
        let reference = [[0.9, 0.2], [0.5, 0.6]];
        // The front itself, or a point beyond all of it: zero.
        assert_eq!(igd_plus(&reference, &reference, max), Ok(0.0));
        assert_eq!(igd_plus(&[[1.0, 0.7]], &reference, max), Ok(0.0));
        // (0.8, 0.4) is short of (0.9, 0.2) by 0.1 in the first axis only, of (0.5, 0.6) by 0.2 in
        // the second only: (0.1 + 0.2) / 2.
        assert!((igd_plus(&[[0.8, 0.4]], &reference, max).unwrap() - 0.15).abs() < 1e-12);
        // Adding (0.9, 0.1) brings the first reference point to √(0.1²) = 0.1, the second stays at
        // 0.3 from (0.6, 0.3): (0.1 + 0.3) / 2.
        assert!((igd_plus(&[[0.6, 0.3], [0.9, 0.1]], &reference, max).unwrap() - 0.2).abs() < 1e-12);
        // Minimising mirrors it.
        let mirrored = |points: &[[f64; 2]]| points.iter().map(|p| [-p[0], -p[1]]).collect::<Vec<_>>();
        let minimised = igd_plus(&mirrored(&[[0.8, 0.4]]), &mirrored(&reference), [Minimise, Minimise]).unwrap();
        assert!((minimised - 0.15).abs() < 1e-12);
        assert!(matches!(igd_plus(&[], &reference, max), Err(AnalysisError::Empty { .. })));
        assert!(matches!(igd_plus(&[[f64::NAN, 0.0]], &reference, max), Err(AnalysisError::NotFinite { .. })));
    }
}
