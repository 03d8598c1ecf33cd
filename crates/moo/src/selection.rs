//! Binary tournament selection as NSGA-II (pymoo 0.4) does it: the contestants are drawn in pairs
//! from concatenated random permutations of the population (so everyone competes about equally
//! often); the winner is the one that Pareto-dominates the other, else the one with the larger
//! crowding distance, else one of the two at random.

use rand::seq::SliceRandom;
use rand::Rng;

use crate::dominance::{compare, Dominance};

/// Picks `count` winners (indices into `objectives`) by binary tournament. `objectives` are
/// minimisation vectors; `crowding` is "larger is better" (pass zeros to skip that stage).
pub fn binary_tournament<R: AsRef<[f64]>, G: Rng + ?Sized>(
    objectives: &[R],
    crowding: &[f64],
    count: usize,
    rng: &mut G,
) -> Vec<usize> {
    assert_eq!(objectives.len(), crowding.len(), "one crowding value per contestant");
    assert!(!objectives.is_empty() || count == 0, "a tournament needs contestants");
    let n = objectives.len();
    let mut contestants = Vec::with_capacity(2 * count + n);
    while contestants.len() < 2 * count {
        let mut permutation: Vec<usize> = (0..n).collect();
        permutation.shuffle(rng);
        contestants.extend(permutation);
    }
    contestants
        .chunks_exact(2)
        .take(count)
        .map(|pair| tournament_winner(pair[0], pair[1], objectives, crowding, rng))
        .collect()
}

/// The winner of one binary tournament between `a` and `b`.
pub fn tournament_winner<R: AsRef<[f64]>, G: Rng + ?Sized>(
    a: usize,
    b: usize,
    objectives: &[R],
    crowding: &[f64],
    rng: &mut G,
) -> usize {
    match compare(objectives[a].as_ref(), objectives[b].as_ref()) {
        Dominance::Dominates => a,
        Dominance::DominatedBy => b,
        _ if crowding[a] > crowding[b] => a,
        _ if crowding[b] > crowding[a] => b,
        _ => {
            if rng.random::<bool>() {
                a
            } else {
                b
            }
        }
    }
}
