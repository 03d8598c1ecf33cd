//! Empirical attainment functions (López-Ibáñez, Paquete and Stützle) of groups of runs in two
//! report axes: where in the plane a group's fronts reach in its best, median and worst runs, and
//! where one group reaches more often than another.
//!
//! A front *attains* a point when one of its points is at least as good in both axes. The k-th
//! attainment surface of n fronts bounds the points attained by at least k of them; the surface
//! of percentile p is level k = ⌈n·p/100⌉ (at least 1). Both functions give the same points, in
//! the same order, as moocore 0.3.2's `eaf` and `eafdiff`: per surface, its corners from the
//! smallest first axis to the largest.

use serde::Serialize;
use xnas_moo::Direction;

use crate::error::AnalysisError;

/// One attainment surface: the corners of the region attained by at least `level` fronts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttainmentSurface {
    /// The percentile asked for, in [0, 100].
    pub percentile: f64,
    /// How many fronts attain each point of the surface: ⌈n·percentile/100⌉, at least 1.
    pub level: usize,
    /// Corners in the report axes, from the best first-axis value to the worst (ascending for a
    /// minimised first axis, descending for a maximised one).
    pub points: Vec<[f64; 2]>,
}

/// A corner of an attainment surface of two groups' fronts taken together, with how much more
/// often the left group attains it than the right.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AttainmentDifference {
    pub point: [f64; 2],
    /// The share of left fronts attaining the point minus the share of right fronts, in [−1, 1].
    pub difference: f64,
}

/// The attainment surfaces of `fronts` (each a non-empty list of finite points in two axes,
/// minimised or maximised as `directions` says) at each of `percentiles` (in [0, 100]; sorted
/// and deduplicated, as moocore does), as `moocore.eaf(points, sets, percentiles=…)`. A front
/// need not be non-dominated. Best, median and worst runs are the percentiles 0, 50 and 100.
pub fn attainment_surfaces(
    fronts: &[Vec<[f64; 2]>],
    directions: [Direction; 2],
    percentiles: &[f64],
) -> Result<Vec<AttainmentSurface>, AnalysisError> {
    let sweep = Sweep::new(fronts, directions, "fronts")?;
    let mut percentiles = percentiles.to_vec();
    if let Some(&bad) = percentiles.iter().find(|p| !(0.0..=100.0).contains(*p)) {
        return Err(AnalysisError::Percentile { percentile: bad });
    }
    percentiles.sort_by(f64::total_cmp);
    percentiles.dedup();
    let levels: Vec<usize> = percentiles.iter().map(|&p| level_of_percentile(p, fronts.len())).collect();
    let corners = sweep.corners(&levels);
    Ok(percentiles
        .into_iter()
        .zip(levels)
        .zip(corners)
        .map(|((percentile, level), corners)| AttainmentSurface {
            percentile,
            level,
            points: corners.into_iter().map(|corner| sweep.to_axes(corner.point)).collect(),
        })
        .collect())
}

/// The difference of two groups' attainment functions on the corners of every attainment surface
/// of their fronts taken together (levels 1 to all), each corner once, as `moocore.eafdiff(left,
/// right)` for groups of the same size (moocore scales by `intervals`: its value is this one times
/// the group size). Positive where the left group attains the point more often.
pub fn attainment_difference(
    left: &[Vec<[f64; 2]>],
    right: &[Vec<[f64; 2]>],
    directions: [Direction; 2],
) -> Result<Vec<AttainmentDifference>, AnalysisError> {
    check_fronts(left, "left")?;
    check_fronts(right, "right")?;
    let all: Vec<Vec<[f64; 2]>> = left.iter().chain(right).cloned().collect();
    let sweep = Sweep::new(&all, directions, "fronts")?;
    let levels: Vec<usize> = (1..=all.len()).collect();
    let mut differences: Vec<AttainmentDifference> = Vec::new();
    for corner in sweep.corners(&levels).into_iter().flatten() {
        let left_share = corner.attained_by[..left.len()].iter().filter(|&&a| a).count() as f64 / left.len() as f64;
        let right_share = corner.attained_by[left.len()..].iter().filter(|&&a| a).count() as f64 / right.len() as f64;
        let difference =
            AttainmentDifference { point: sweep.to_axes(corner.point), difference: left_share - right_share };
        // A corner shared by several levels is reported once, at its first level.
        if !differences.contains(&difference) {
            differences.push(difference);
        }
    }
    Ok(differences)
}

/// Checks that there is a front, each front has a point and every coordinate is finite.
fn check_fronts(fronts: &[Vec<[f64; 2]>], what: &str) -> Result<(), AnalysisError> {
    if fronts.is_empty() {
        return Err(AnalysisError::Empty { what: what.into() });
    }
    for (index, front) in fronts.iter().enumerate() {
        if front.is_empty() {
            return Err(AnalysisError::Empty { what: format!("{what}[{index}]") });
        }
        if let Some(row) = front.iter().position(|point| !point.iter().all(|v| v.is_finite())) {
            return Err(AnalysisError::NotFinite { what: format!("{what}[{index}]"), index: row });
        }
    }
    Ok(())
}

/// moocore's `percentile2level`: n·p/100 rounded up, unless within √ε above a whole number.
fn level_of_percentile(percentile: f64, fronts: usize) -> usize {
    let tolerance = f64::EPSILON.sqrt();
    let x = fronts as f64 * percentile / 100.0;
    let level = if x - x.floor() <= tolerance { x.floor() } else { x.ceil() };
    (level as usize).clamp(1, fronts)
}

/// A corner of a surface (in minimisation space) and which fronts attain it.
struct Corner {
    point: [f64; 2],
    attained_by: Vec<bool>,
}

/// The fronts in minimisation space, points sorted by the first axis.
struct Sweep {
    fronts: usize,
    directions: [Direction; 2],
    /// (first axis, second axis, front index), ascending in the first axis.
    points: Vec<(f64, f64, usize)>,
}

impl Sweep {
    fn new(fronts: &[Vec<[f64; 2]>], directions: [Direction; 2], what: &str) -> Result<Self, AnalysisError> {
        check_fronts(fronts, what)?;
        let mut points = Vec::new();
        for (index, front) in fronts.iter().enumerate() {
            for point in front {
                let [a, b] = [0, 1].map(|axis| directions[axis].to_minimisation(point[axis]));
                points.push((a, b, index));
            }
        }
        points.sort_by(|p, q| p.0.total_cmp(&q.0));
        Ok(Sweep { fronts: fronts.len(), directions, points })
    }

    fn to_axes(&self, point: [f64; 2]) -> [f64; 2] {
        [0, 1].map(|axis| self.directions[axis].to_minimisation(point[axis]))
    }

    /// For each level, the corners of the region attained by at least that many fronts, by
    /// ascending first axis: sweeping the first axis, each front's best second-axis value so far;
    /// the level-th smallest of them is the level's surface at this first-axis value, and a
    /// corner wherever it improves.
    fn corners(&self, levels: &[usize]) -> Vec<Vec<Corner>> {
        let mut best = vec![f64::INFINITY; self.fronts];
        let mut surfaces: Vec<Vec<Corner>> = levels.iter().map(|_| Vec::new()).collect();
        let mut last = vec![f64::INFINITY; levels.len()];
        for group in self.points.chunk_by(|p, q| p.0 == q.0) {
            for &(_, second, front) in group {
                best[front] = best[front].min(second);
            }
            let mut sorted = best.clone();
            sorted.sort_by(f64::total_cmp);
            for (index, &level) in levels.iter().enumerate() {
                let reached = sorted[level - 1];
                if reached < last[index] {
                    last[index] = reached;
                    let attained_by = best.iter().map(|&b| b <= reached).collect();
                    surfaces[index].push(Corner { point: [group[0].0, reached], attained_by });
                }
            }
        }
        surfaces
    }
}
