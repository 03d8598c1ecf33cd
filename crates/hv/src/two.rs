//! Two objectives: the hypervolume as a sum of horizontal strips after one sort by x, and each
//! point's exclusive contribution from its two neighbours on the front. O(n log n) both.
//!
//! Inputs here are already minimisation-oriented, finite, and strictly dominate the reference.

use crate::order::key;

/// Row indices sorted by (x, y) ascending.
fn sorted_by_x(data: &[f64]) -> Vec<u32> {
    let mut keyed: Vec<(u64, u64, u32)> =
        data.chunks_exact(2).enumerate().map(|(i, p)| (key(p[0]), key(p[1]), i as u32)).collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, _, i)| i).collect()
}

pub(crate) fn hypervolume(data: &[f64], reference: &[f64]) -> f64 {
    let mut points: Vec<[f64; 2]> = data.chunks_exact(2).map(|p| [p[0], p[1]]).collect();
    points.sort_unstable_by_key(|p| (key(p[0]), key(p[1])));
    // Each point that lowers the running minimum of y adds the strip between the old and new
    // minimum, from its x to the reference: only sums of positive terms, so no cancellation.
    let mut volume = 0.0;
    let mut lowest_y = reference[1];
    for [x, y] in points {
        if y < lowest_y {
            volume += (reference[0] - x) * (lowest_y - y);
            lowest_y = y;
        }
    }
    volume
}

/// Exclusive contribution of each row; dominated and duplicated rows get zero, and dominated rows
/// do not lower anyone else's contribution (moocore's default convention).
pub(crate) fn contributions(data: &[f64], reference: &[f64]) -> Vec<f64> {
    let n = data.len() / 2;
    let mut result = vec![0.0; n];
    // The front in x order; `duplicated[k]` marks a front point that appears more than once.
    let mut front: Vec<u32> = Vec::new();
    let mut duplicated: Vec<bool> = Vec::new();
    let mut lowest_y = reference[1];
    for i in sorted_by_x(data) {
        let p = &data[2 * i as usize..2 * i as usize + 2];
        if p[1] < lowest_y {
            front.push(i);
            duplicated.push(false);
            lowest_y = p[1];
        } else if let Some(&last) = front.last() {
            let q = &data[2 * last as usize..2 * last as usize + 2];
            if q == p {
                *duplicated.last_mut().expect("front is not empty") = true;
            }
        }
    }
    for (k, &i) in front.iter().enumerate() {
        if duplicated[k] {
            continue;
        }
        let p = &data[2 * i as usize..2 * i as usize + 2];
        let right_x = front.get(k + 1).map_or(reference[0], |&j| data[2 * j as usize]);
        let upper_y = if k == 0 { reference[1] } else { data[2 * front[k - 1] as usize + 1] };
        result[i as usize] = (right_x - p[0]) * (upper_y - p[1]);
    }
    result
}
