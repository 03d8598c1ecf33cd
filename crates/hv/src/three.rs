//! Three objectives: the dimension sweep of Beume et al. (2009). Points are visited in ascending z;
//! the 2-D front of the points seen so far (projected on x–y) lives in a [`RankSet`] of x-ranks,
//! and the area it dominates grows by the exclusive area of each new point, computed from its
//! neighbours and the points it removes. O(n log n) overall (the set's queries are O(log₆₄ n)).
//!
//! The same sweep yields exclusive contributions (see [`contributions`]).
//!
//! Inputs here are already minimisation-oriented, finite, and strictly dominate the reference.

use crate::order::key;
use crate::rank_set::RankSet;

/// Coordinates indexed by x-rank, with the two sentinels of the 2-D front at rank 0
/// (x = −∞, y = reference y) and rank n + 1 (x = reference x, y = −∞).
struct Ranked {
    x: Vec<f64>,
    y: Vec<f64>,
    z: Vec<f64>,
}

impl Ranked {
    /// `points_by_x` lists the rows in x-rank order.
    fn new(data: &[f64], points_by_x: impl ExactSizeIterator<Item = usize>, reference: &[f64]) -> Ranked {
        let capacity = points_by_x.len() + 2;
        let mut ranked = Ranked {
            x: Vec::with_capacity(capacity),
            y: Vec::with_capacity(capacity),
            z: Vec::with_capacity(capacity),
        };
        ranked.push(f64::NEG_INFINITY, reference[1], f64::NEG_INFINITY);
        for i in points_by_x {
            ranked.push(data[3 * i], data[3 * i + 1], data[3 * i + 2]);
        }
        ranked.push(reference[0], f64::NEG_INFINITY, f64::NEG_INFINITY);
        ranked
    }

    fn push(&mut self, x: f64, y: f64, z: f64) {
        self.x.push(x);
        self.y.push(y);
        self.z.push(z);
    }
}

/// A 2-D front over x-ranks with both sentinels present, so neighbours always exist.
struct Front(RankSet);

impl Front {
    fn new(n: usize) -> Front {
        let mut set = RankSet::new(n + 2);
        set.insert(0);
        set.insert(n + 1);
        Front(set)
    }

    fn left_of(&self, rank: usize) -> usize {
        self.0.predecessor(rank).expect("the left sentinel is always present")
    }

    fn right_of(&self, rank: usize) -> usize {
        self.0.successor(rank).expect("the right sentinel is always present")
    }
}

pub(crate) fn hypervolume(data: &[f64], reference: &[f64]) -> f64 {
    let n = data.len() / 3;
    if n == 0 {
        return 0.0;
    }
    let mut by_x: Vec<(u64, u64, u32)> =
        data.chunks_exact(3).enumerate().map(|(i, p)| (key(p[0]), key(p[1]), i as u32)).collect();
    by_x.sort_unstable();
    let ranked = Ranked::new(data, by_x.iter().map(|&(_, _, i)| i as usize), reference);
    drop(by_x);
    let mut by_z: Vec<(u64, u32)> = (1..=n).map(|rank| (key(ranked.z[rank]), rank as u32)).collect();
    by_z.sort_unstable();

    let (xs, ys) = (&ranked.x, &ranked.y);
    let mut front = Front::new(n);
    let mut area = 0.0;
    let mut volume = 0.0;
    let mut last_z = ranked.z[by_z[0].1 as usize];
    for &(_, rank) in &by_z {
        let rank = rank as usize;
        let (px, py, pz) = (xs[rank], ys[rank], ranked.z[rank]);
        volume += area * (pz - last_z);
        last_z = pz;
        let left = front.left_of(rank);
        if ys[left] <= py {
            continue; // weakly dominated by a point already swept
        }
        // Columns of newly dominated area from x = px rightwards, each as high as the front point
        // before it; the points this one dominates leave the front on the way. Only positive
        // terms are added, so the area carries no cancellation error.
        let mut column_x = px;
        let mut top = ys[left];
        let mut next = front.right_of(rank);
        while ys[next] >= py {
            area += (xs[next] - column_x) * (top - py);
            column_x = xs[next];
            top = ys[next];
            front.0.remove(next);
            next = front.right_of(next);
        }
        area += (xs[next] - column_x) * (top - py);
        front.0.insert(rank);
    }
    volume + area * (reference[2] - last_z)
}

/// Exclusive contribution of each row; dominated and duplicated rows get zero, and dominated rows
/// do not lower anyone else's contribution (moocore's default convention).
///
/// In the slice at height z, a front point q's exclusive region is the rectangle from q to its
/// right neighbour's x and its left neighbour's y, minus the boxes of the points q pushed off the
/// front when it entered (its "shadow" staircase): any other point inside q's box came earlier in
/// z, so q removed it or something q removed covers it. The region therefore changes only when a
/// neighbour of q changes; q's contribution is the sum of region area × z-distance between such
/// changes. Worst case O(n²) (long shadows re-summed often); O(n log n) on typical fronts.
pub(crate) fn contributions(data: &[f64], reference: &[f64]) -> Vec<f64> {
    let n = data.len() / 3;
    let mut result = vec![0.0; n];
    if n == 0 {
        return result;
    }
    // Sweep in lexicographic (z, y, x) order: a point's dominators all come before it.
    let mut sweep: Vec<(u64, u64, u64, u32)> =
        data.chunks_exact(3).enumerate().map(|(i, p)| (key(p[2]), key(p[1]), key(p[0]), i as u32)).collect();
    sweep.sort_unstable();
    // x-ranks ordered by (x, y, z, sweep position): equal points rank in sweep order, so the copy
    // swept later finds the earlier one as its left neighbour.
    let mut by_x: Vec<(u64, u64, u64, u32)> =
        sweep.iter().enumerate().map(|(position, &(z, y, x, _))| (x, y, z, position as u32)).collect();
    by_x.sort_unstable();
    let mut rank_of_position = vec![0u32; n];
    for (rank0, &(_, _, _, position)) in by_x.iter().enumerate() {
        rank_of_position[position as usize] = rank0 as u32 + 1;
    }
    let row_of_rank: Vec<usize> =
        std::iter::once(usize::MAX).chain(by_x.iter().map(|&(_, _, _, pos)| sweep[pos as usize].3 as usize)).collect();
    let ranked = Ranked::new(data, row_of_rank[1..].iter().copied(), reference);
    drop(by_x);

    let mut state = ContributionState {
        x: &ranked.x,
        y: &ranked.y,
        contribution: vec![0.0; n + 2],
        area: vec![0.0; n + 2],
        settled_z: vec![0.0; n + 2],
        bound_x: vec![0.0; n + 2],
        bound_y: vec![0.0; n + 2],
        shadow_begin: vec![0; n + 2],
        shadow_end: vec![0; n + 2],
        shadows: Vec::with_capacity(n),
    };
    let mut duplicated = vec![false; n + 2];
    let right_sentinel = n + 1;
    let mut front = Front::new(n);
    for &rank in &rank_of_position {
        let rank = rank as usize;
        let (px, py, pz) = (ranked.x[rank], ranked.y[rank], ranked.z[rank]);
        let left = front.left_of(rank);
        if ranked.y[left] <= py {
            if (ranked.x[left], ranked.y[left], ranked.z[left]) == (px, py, pz) {
                duplicated[left] = true;
            }
            continue;
        }
        if left != 0 {
            state.settle(left, pz);
        }
        let shadow_start = state.shadows.len() as u32;
        let mut next = front.right_of(rank);
        while ranked.y[next] >= py {
            state.settle(next, pz);
            state.shadows.push(next as u32);
            front.0.remove(next);
            next = front.right_of(next);
        }
        if left != 0 {
            state.bound_x[left] = px;
            state.area[left] = state.exclusive_area(left);
        }
        if next != right_sentinel {
            state.settle(next, pz);
            state.bound_y[next] = py;
            state.area[next] = state.exclusive_area(next);
        }
        state.shadow_begin[rank] = shadow_start;
        state.shadow_end[rank] = state.shadows.len() as u32;
        state.bound_x[rank] = ranked.x[next];
        state.bound_y[rank] = ranked.y[left];
        state.settled_z[rank] = pz;
        state.area[rank] = state.exclusive_area(rank);
        front.0.insert(rank);
    }
    let mut rank = front.right_of(0);
    while rank != right_sentinel {
        state.settle(rank, reference[2]);
        rank = front.right_of(rank);
    }
    // Points that left the front were settled when they left; dominated ones never entered.
    for rank in 1..=n {
        if !duplicated[rank] {
            result[row_of_rank[rank]] = state.contribution[rank];
        }
    }
    result
}

/// Per x-rank bookkeeping of the contribution sweep.
struct ContributionState<'a> {
    x: &'a [f64],
    y: &'a [f64],
    contribution: Vec<f64>,
    /// Current exclusive area in the slice, valid from `settled_z` on.
    area: Vec<f64>,
    settled_z: Vec<f64>,
    /// The exclusive rectangle's far corner: the right neighbour's x and the left neighbour's y.
    bound_x: Vec<f64>,
    bound_y: Vec<f64>,
    /// The still-relevant part of the shadow staircase, as a range of `shadows` (x ascending).
    shadow_begin: Vec<u32>,
    shadow_end: Vec<u32>,
    shadows: Vec<u32>,
}

impl ContributionState<'_> {
    /// Adds the volume of the current exclusive area up to height `z`.
    fn settle(&mut self, rank: usize, z: f64) {
        self.contribution[rank] += self.area[rank] * (z - self.settled_z[rank]);
        self.settled_z[rank] = z;
    }

    /// The exclusive area of a front point from its bounds and shadow; first drops the shadow
    /// points the shrunken rectangle no longer reaches (the rectangle only ever shrinks).
    fn exclusive_area(&mut self, rank: usize) -> f64 {
        let (qx, qy) = (self.x[rank], self.y[rank]);
        let (bound_x, bound_y) = (self.bound_x[rank], self.bound_y[rank]);
        let (mut begin, mut end) = (self.shadow_begin[rank] as usize, self.shadow_end[rank] as usize);
        while begin < end && self.y[self.shadows[begin] as usize] >= bound_y {
            begin += 1;
        }
        while end > begin && self.x[self.shadows[end - 1] as usize] >= bound_x {
            end -= 1;
        }
        self.shadow_begin[rank] = begin as u32;
        self.shadow_end[rank] = end as u32;
        if begin == end {
            return (bound_x - qx) * (bound_y - qy);
        }
        // A full-height column up to the first shadow point, then one column under each.
        let first = self.shadows[begin] as usize;
        let mut area = (self.x[first] - qx) * (bound_y - qy);
        for k in begin..end {
            let s = self.shadows[k] as usize;
            let column_end = if k + 1 < end { self.x[self.shadows[k + 1] as usize] } else { bound_x };
            area += (column_end - self.x[s]) * (self.y[s] - qy);
        }
        area
    }
}
