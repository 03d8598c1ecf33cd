//! Any dimension: dispatch to the 1- to 5-D algorithms, and above five a dimension sweep on the
//! last objective in which the (d−1)-D volume of the points swept so far grows by each new point's
//! exclusive (d−1)-D contribution, so that the recursion ends in the 5-D sweep of [`crate::five`].
//!
//! An exclusive contribution is computed the WFG way (While, Bradstreet & Barone 2012): the box of
//! the point minus the volume of the other points "limited" to it (each coordinate raised to the
//! point's). The limited set is cut short first: a point that is no worse in all but the last
//! coordinate caps every limited point at or beyond its last coordinate. Limited sets are small
//! once their dominated points are gone, which is what keeps six and more objectives fast.
//!
//! Inputs here are already minimisation-oriented, finite, and strictly dominate the reference.
//!
//! With a deadline ([`Clock`]), the sweeps here and in the 4-D and 5-D algorithms look at the clock
//! as they go and give up once it has passed: a caller with a time budget (a script's objective)
//! gets an error instead of a computation that would run for hours.

use crate::clock::Clock;
use crate::five::Hv5d;
use crate::four::Hv4d;
use crate::nondominated::nondominated_rows;
use crate::order::{box_volume, key};
use crate::{three, two};

/// Buffers of the 4-D and 5-D algorithms, kept across the many calls of the recursion above them,
/// and the clock every level of the recursion looks at.
#[derive(Default)]
pub(crate) struct Workspace {
    four: Hv4d,
    five: Hv5d,
    pub(crate) clock: Clock,
}

impl Workspace {
    pub(crate) fn with_clock(clock: Clock) -> Workspace {
        Workspace { clock, ..Workspace::default() }
    }
}

/// The hypervolume of `data` (rows of `dimension` values) with respect to `reference`.
pub(crate) fn hypervolume(data: &[f64], dimension: usize, reference: &[f64], workspace: &mut Workspace) -> f64 {
    match dimension {
        1 => data
            .iter()
            .fold(None, |low: Option<f64>, &v| Some(low.map_or(v, |l| l.min(v))))
            .map_or(0.0, |low| reference[0] - low),
        2 => two::hypervolume(data, reference),
        3 => three::hypervolume(data, reference),
        4 => workspace.four.hypervolume(data, reference, &mut workspace.clock),
        5 => workspace.five.hypervolume(data, reference, &mut workspace.clock),
        _ => sweep(data, dimension, reference, workspace),
    }
}

/// Dimension sweep on the last coordinate for six and more objectives.
fn sweep(data: &[f64], dimension: usize, reference: &[f64], workspace: &mut Workspace) -> f64 {
    let (kept, _) = nondominated_rows(data, dimension);
    let last = dimension - 1;
    // Ascending last coordinate, ties in lexicographic order so dominators come first.
    let mut order: Vec<(u64, usize)> = kept.iter().map(|&i| (key(data[i * dimension + last]), i)).collect();
    order.sort_unstable();
    let mut swept: Vec<f64> = Vec::with_capacity(order.len() * dimension);
    let mut volume_below = 0.0;
    let mut volume = 0.0;
    for (k, &(_, i)) in order.iter().enumerate() {
        if workspace.clock.tick() {
            return 0.0;
        }
        let p = &data[i * dimension..(i + 1) * dimension];
        volume_below += exclusive(p, &swept, dimension, None, last, reference, workspace);
        swept.extend_from_slice(p);
        let next = order.get(k + 1).map_or(reference[last], |&(_, j)| data[j * dimension + last]);
        volume += volume_below * (next - p[last]);
    }
    volume
}

/// The exclusive hypervolume of `point` over the rows of `others` (stride `stride`, row `skip`
/// left out), in the first `dimension` coordinates. Never negative.
pub(crate) fn exclusive(
    point: &[f64],
    others: &[f64],
    stride: usize,
    skip: Option<usize>,
    dimension: usize,
    reference: &[f64],
    workspace: &mut Workspace,
) -> f64 {
    let last = dimension - 1;
    let rows = || others.chunks_exact(stride).enumerate().filter(move |&(i, _)| Some(i) != skip).map(|(_, q)| q);
    // The lowest last coordinate at which some other point covers the whole remaining box.
    let mut cap = reference[last];
    for q in rows() {
        if q[..last].iter().zip(&point[..last]).all(|(a, b)| a <= b) {
            cap = cap.min(q[last].max(point[last]));
        }
    }
    if cap <= point[last] {
        return 0.0;
    }
    let mut limited: Vec<f64> = Vec::new();
    for q in rows().filter(|q| q[last] < cap) {
        limited.extend(q[..dimension].iter().zip(&point[..dimension]).map(|(a, b)| a.max(*b)));
    }
    if cap < reference[last] {
        limited.extend_from_slice(&point[..last]);
        limited.push(cap);
    }
    let covered = hypervolume(&limited, dimension, &reference[..dimension], workspace);
    (box_volume(&point[..dimension], &reference[..dimension]) - covered).max(0.0)
}

/// Exclusive contribution of each row for any dimension (brute force over the non-dominated rows
/// for four objectives and up, the O(n log n) sweeps for two and three). Past the `clock`'s
/// deadline the values are meaningless ([`Clock::expired`] says so).
pub(crate) fn contributions(data: &[f64], dimension: usize, reference: &[f64], clock: Clock) -> (Vec<f64>, Clock) {
    match dimension {
        2 => return (two::contributions(data, reference), clock),
        3 => return (three::contributions(data, reference), clock),
        _ => {}
    }
    let n = data.len() / dimension;
    let mut result = vec![0.0; n];
    let (kept, duplicated) = nondominated_rows(data, dimension);
    let front: Vec<f64> = kept.iter().flat_map(|&i| data[i * dimension..(i + 1) * dimension].iter().copied()).collect();
    let mut workspace = Workspace::with_clock(clock);
    for (k, &i) in kept.iter().enumerate() {
        if workspace.clock.tick() {
            break;
        }
        if !duplicated[k] {
            let p = &front[k * dimension..(k + 1) * dimension];
            result[i] = exclusive(p, &front, dimension, Some(k), dimension, reference, &mut workspace);
        }
    }
    (result, workspace.clock)
}
