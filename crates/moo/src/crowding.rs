//! Crowding distance (Deb et al. 2002) with pymoo's conventions, which NSGA-II's behaviour in the
//! paper depends on:
//!
//! * a front of one or two points: every point is infinitely far from crowding;
//! * an exact duplicate of an earlier point of the front gets 0 (it adds nothing to diversity),
//!   and the distances of the others are computed as if it were absent;
//! * per objective, the two extreme points (first and last after a stable sort) get infinity,
//!   an interior point gets (next − previous) / (max − min); an objective in which all points are
//!   equal contributes 0 to every point, extremes included;
//! * the sum over objectives is divided by the number of objectives.
//!
//! Values are expected to be finite (the search never stores others).

/// The crowding distance of every point of one front (rows of objective values).
pub fn crowding_distance<R: AsRef<[f64]>>(front: &[R]) -> Vec<f64> {
    let n = front.len();
    if n <= 2 {
        return vec![f64::INFINITY; n];
    }
    let objectives = front[0].as_ref().len();
    // Exact duplicates of an earlier point get 0 and take no further part.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| lexicographic(front[a].as_ref(), front[b].as_ref()).then(a.cmp(&b)));
    let mut is_unique = vec![true; n];
    for pair in order.windows(2) {
        if equal(front[pair[0]].as_ref(), front[pair[1]].as_ref()) {
            is_unique[pair[1]] = false;
        }
    }
    let unique: Vec<usize> = (0..n).filter(|&i| is_unique[i]).collect();
    let mut distance = vec![0.0; n];
    let mut sorted = unique.clone();
    for j in 0..objectives {
        let value = |i: usize| front[i].as_ref()[j];
        sorted.copy_from_slice(&unique);
        sorted.sort_by(|&a, &b| value(a).total_cmp(&value(b)));
        let (low, high) = (value(sorted[0]), value(sorted[sorted.len() - 1]));
        let range = high - low;
        if range == 0.0 {
            continue;
        }
        distance[sorted[0]] = f64::INFINITY;
        distance[sorted[sorted.len() - 1]] = f64::INFINITY;
        for k in 1..sorted.len().saturating_sub(1) {
            distance[sorted[k]] += (value(sorted[k + 1]) - value(sorted[k - 1])) / range;
        }
    }
    for (i, d) in distance.iter_mut().enumerate() {
        if is_unique[i] {
            *d /= objectives as f64;
        }
    }
    distance
}

fn lexicographic(a: &[f64], b: &[f64]) -> std::cmp::Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x + 0.0).total_cmp(&(y + 0.0)))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

fn equal(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x == y)
}
