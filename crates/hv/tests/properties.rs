//! Properties that hold for every input: adding a point never lowers the volume, order and
//! duplicates do not matter, nothing beyond the reference counts, and contributions never exceed
//! the volume a point's removal would lose.

use proptest::prelude::*;
use xnas_hv::{contributions, hypervolume, hypervolume_max};

/// Point sets of dimension 2..=5 with small integer or fractional coordinates (ties are common),
/// some of them outside the reference box [0, 4)^d.
fn point_set() -> impl Strategy<Value = (usize, Vec<Vec<f64>>)> {
    (2usize..=5).prop_flat_map(|d| {
        let coordinate = prop_oneof![(0u8..=4).prop_map(f64::from), 0.0f64..4.5];
        (Just(d), prop::collection::vec(prop::collection::vec(coordinate, d), 0..14))
    })
}

fn reference(d: usize) -> Vec<f64> {
    vec![4.0; d]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn adding_a_point_never_lowers_the_volume((d, points) in point_set(), extra in prop::collection::vec(0.0f64..4.5, 5)) {
        let before = hypervolume(&points, &reference(d)).unwrap();
        let mut more = points.clone();
        more.push(extra[..d].to_vec());
        let after = hypervolume(&more, &reference(d)).unwrap();
        prop_assert!(after >= before * (1.0 - 1e-12), "{after} < {before}");
    }

    #[test]
    fn order_and_duplicates_do_not_matter((d, points) in point_set(), seed in any::<u64>()) {
        let volume = hypervolume(&points, &reference(d)).unwrap();
        let mut shuffled = points.clone();
        shuffled.extend(points.iter().take(3).cloned());
        // A deterministic shuffle from the seed.
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let again = hypervolume(&shuffled, &reference(d)).unwrap();
        prop_assert!((again - volume).abs() <= 1e-12 * volume.max(1.0), "{again} vs {volume}");
    }

    #[test]
    fn nothing_counts_unless_it_strictly_dominates_the_reference((d, points) in point_set(), shift in 0.0f64..3.0) {
        // Push every point onto or beyond the reference in its first objective.
        let outside: Vec<Vec<f64>> = points.iter().map(|p| {
            let mut q = p.clone();
            q[0] = 4.0 + shift;
            q
        }).collect();
        prop_assert_eq!(hypervolume(&outside, &reference(d)).unwrap(), 0.0);
        prop_assert!(contributions(&outside, &reference(d)).unwrap().iter().all(|&c| c == 0.0));
        // Maximised: nothing above a reference above everything.
        prop_assert_eq!(hypervolume_max(&points, &vec![4.5; d]).unwrap(), 0.0);
    }

    #[test]
    fn contributions_are_bounded_by_the_volume_and_by_each_box((d, points) in point_set()) {
        let volume = hypervolume(&points, &reference(d)).unwrap();
        let contribution = contributions(&points, &reference(d)).unwrap();
        prop_assert_eq!(contribution.len(), points.len());
        let sum: f64 = contribution.iter().sum();
        prop_assert!(sum <= volume * (1.0 + 1e-12) + 1e-12, "{sum} > {volume}");
        for (p, &c) in points.iter().zip(&contribution) {
            let own_box: f64 = p.iter().map(|v| (4.0 - v).max(0.0)).product();
            prop_assert!(c >= 0.0 && c <= own_box * (1.0 + 1e-12) + 1e-12);
        }
    }
}
