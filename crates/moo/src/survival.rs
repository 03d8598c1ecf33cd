//! Environmental selection: which of the merged parents and offspring survive into the next
//! population, with the rank and crowding value the next tournament uses.
//!
//! * [`rank_and_crowding`] — NSGA-II: whole fronts while they fit, then the most widely spaced
//!   points of the front that does not (ties in crowding broken at random, as pymoo does).
//! * [`reference_point_survival`] — R-NSGA-II (Deb & Sundar 2006) for a researcher who cares about
//!   a region of the front: inside each front, points are ranked by their normalised distance to
//!   the nearest user reference point; in the front that does not fit, points within ε of an
//!   already kept point are pushed back (so the kept ones spread out near each reference point).
//! * [`fitness_survival`] — the single-objective GA: the best values of one objective.

use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::crowding::crowding_distance;
use crate::sorting::{fronts_from_ranks, pareto_ranks};

/// The survivors (indices into the merged set, in selection order) with their front rank and
/// their crowding value ("larger is better" in the tournament).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Survivors {
    pub indices: Vec<usize>,
    pub rank: Vec<usize>,
    pub crowding: Vec<f64>,
}

impl Survivors {
    fn push(&mut self, index: usize, rank: usize, crowding: f64) {
        self.indices.push(index);
        self.rank.push(rank);
        self.crowding.push(crowding);
    }
}

/// NSGA-II's rank-and-crowding survival of `keep` points (minimisation vectors, finite).
pub fn rank_and_crowding<G: Rng + ?Sized>(objectives: &[Vec<f64>], keep: usize, rng: &mut G) -> Survivors {
    let ranks = pareto_ranks(objectives).expect("survival gets finite vectors of one length");
    let mut survivors = Survivors::default();
    for (rank, front) in fronts_from_ranks(&ranks).into_iter().enumerate() {
        let remaining = keep - survivors.indices.len();
        if remaining == 0 {
            break;
        }
        let members: Vec<&Vec<f64>> = front.iter().map(|&i| &objectives[i]).collect();
        let crowding = crowding_distance(&members);
        let mut order: Vec<usize> = (0..front.len()).collect();
        if front.len() > remaining {
            // pymoo's randomized argsort: shuffle, then sort by crowding, largest first.
            order.shuffle(rng);
            order.sort_by(|&a, &b| crowding[b].total_cmp(&crowding[a]));
            order.truncate(remaining);
        }
        for k in order {
            survivors.push(front[k], rank, crowding[k]);
        }
    }
    survivors
}

/// Settings of R-NSGA-II's reference-point survival.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferencePoints {
    /// Reference points in the objectives' own directions (as the user sees them).
    pub points: Vec<Vec<f64>>,
    /// Points closer than this (normalised distance) to a kept point are pushed back.
    pub epsilon: f64,
    /// Per-objective weights of the distance; `None` means equal weights.
    pub weights: Option<Vec<f64>>,
}

/// R-NSGA-II survival of `keep` points. `objectives` and `references` are minimisation vectors.
///
/// Distances are weighted Euclidean distances after dividing each objective by its range over
/// the first front (over all points if that range is zero, and by 1 if that is zero too), scaled
/// so that equal weights give the plain normalised Euclidean distance (pymoo's formula). The
/// crowding value returned is minus the preference rank, so the usual tournament prefers points
/// closer to a reference point.
pub fn reference_point_survival<G: Rng + ?Sized>(
    objectives: &[Vec<f64>],
    keep: usize,
    references: &[Vec<f64>],
    epsilon: f64,
    weights: Option<&[f64]>,
    rng: &mut G,
) -> Survivors {
    let ranks = pareto_ranks(objectives).expect("survival gets finite vectors of one length");
    let fronts = fronts_from_ranks(&ranks);
    let m = objectives.first().map_or(0, Vec::len);
    let equal = vec![1.0 / m as f64; m];
    let weights = weights.unwrap_or(&equal);
    let scale = normalisation(objectives, fronts.first().map_or(&[][..], |f| &f[..]));
    let distance = |a: &[f64], b: &[f64]| -> f64 {
        let sum: f64 = (0..m).map(|j| weights[j] * ((a[j] - b[j]) / scale[j]).powi(2)).sum();
        (sum * m as f64).sqrt()
    };

    let mut survivors = Survivors::default();
    for (rank, front) in fronts.iter().enumerate() {
        let remaining = keep - survivors.indices.len();
        if remaining == 0 {
            break;
        }
        // Preference rank: the best position of the point in any reference point's ordering.
        let mut preference = vec![usize::MAX; front.len()];
        for reference in references {
            let d: Vec<f64> = front.iter().map(|&i| distance(&objectives[i], reference)).collect();
            let mut order: Vec<usize> = (0..front.len()).collect();
            order.sort_by(|&a, &b| d[a].total_cmp(&d[b]));
            for (position, &k) in order.iter().enumerate() {
                preference[k] = preference[k].min(position);
            }
        }
        let mut modified = preference.clone();
        let mut order: Vec<usize> = (0..front.len()).collect();
        if front.len() > remaining {
            // ε-clearing: a random unvisited point keeps its rank; every unvisited point within ε
            // of it is pushed back by half the front size and leaves the race.
            let penalty = (front.len() as f64 / 2.0).round() as usize;
            let mut unvisited: Vec<usize> = (0..front.len()).collect();
            while !unvisited.is_empty() {
                let chosen = unvisited.swap_remove(rng.random_range(0..unvisited.len()));
                let here = &objectives[front[chosen]];
                unvisited.retain(|&k| {
                    let close = distance(&objectives[front[k]], here) < epsilon;
                    if close {
                        modified[k] = preference[k] + penalty;
                    }
                    !close
                });
            }
            order.sort_by_key(|&k| modified[k]);
            order.truncate(remaining);
        }
        for k in order {
            survivors.push(front[k], rank, -(modified[k] as f64));
        }
    }
    survivors
}

/// Per-objective ranges for R-NSGA-II's distances.
fn normalisation(objectives: &[Vec<f64>], first_front: &[usize]) -> Vec<f64> {
    let m = objectives.first().map_or(0, Vec::len);
    let range = |members: &mut dyn Iterator<Item = &Vec<f64>>| {
        let mut low = vec![f64::INFINITY; m];
        let mut high = vec![f64::NEG_INFINITY; m];
        for v in members {
            for j in 0..m {
                low[j] = low[j].min(v[j]);
                high[j] = high[j].max(v[j]);
            }
        }
        (0..m).map(|j| high[j] - low[j]).collect::<Vec<f64>>()
    };
    let front_range = range(&mut first_front.iter().map(|&i| &objectives[i]));
    let all_range = range(&mut objectives.iter());
    (0..m)
        .map(|j| {
            if front_range[j] > 0.0 {
                front_range[j]
            } else if all_range[j] > 0.0 {
                all_range[j]
            } else {
                1.0
            }
        })
        .collect()
}

/// Single-objective survival: the `keep` smallest values of objective `objective` (stable for
/// ties); the rank is the survivor's position, crowding is 0.
pub fn fitness_survival(objectives: &[Vec<f64>], objective: usize, keep: usize) -> Survivors {
    let mut order: Vec<usize> = (0..objectives.len()).collect();
    order.sort_by(|&a, &b| objectives[a][objective].total_cmp(&objectives[b][objective]));
    let mut survivors = Survivors::default();
    for (position, &i) in order.iter().take(keep).enumerate() {
        survivors.push(i, position, 0.0);
    }
    survivors
}
