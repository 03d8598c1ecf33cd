//! Independent references for the hypervolume tests: inclusion–exclusion over subsets and an
//! exact cell decomposition over the grid of distinct coordinates. Neither shares code or ideas
//! with the sweeps under test. Also seeded generators of point sets.

#![allow(dead_code)] // each test file uses a different subset

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Σ over non-empty subsets of (−1)^(|S|+1) · volume of the box from the subset's componentwise
/// maximum to the reference. Exponential: n ≤ 14 or so. Points must strictly dominate `reference`
/// or be clipped: a box with a non-positive side has volume 0.
pub fn inclusion_exclusion(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    let n = points.len();
    let mut total = 0.0;
    for mask in 1u32..(1 << n) {
        let mut corner = vec![f64::NEG_INFINITY; reference.len()];
        for (i, p) in points.iter().enumerate() {
            if mask & (1 << i) != 0 {
                for (c, v) in corner.iter_mut().zip(p) {
                    *c = c.max(*v);
                }
            }
        }
        let volume: f64 = corner.iter().zip(reference).map(|(c, r)| (r - c).max(0.0)).product();
        if mask.count_ones() % 2 == 1 {
            total += volume;
        } else {
            total -= volume;
        }
    }
    total
}

/// The grid whose lines are every distinct coordinate below the reference, plus the reference:
/// each cell is either wholly dominated by a point or not at all.
struct Grid {
    lines: Vec<Vec<f64>>,
}

impl Grid {
    fn new(points: &[Vec<f64>], reference: &[f64]) -> Grid {
        let lines = (0..reference.len())
            .map(|j| {
                let mut line: Vec<f64> = points.iter().map(|p| p[j]).filter(|&v| v < reference[j]).collect();
                line.push(reference[j]);
                line.sort_by(f64::total_cmp);
                line.dedup();
                line
            })
            .collect();
        Grid { lines }
    }

    /// Calls `visit(lower corner, volume)` for every cell.
    fn for_each_cell(&self, mut visit: impl FnMut(&[f64], f64)) {
        let d = self.lines.len();
        let mut index = vec![0usize; d];
        if self.lines.iter().any(|line| line.len() < 2) {
            return;
        }
        let mut corner = vec![0.0; d];
        loop {
            let mut volume = 1.0;
            for j in 0..d {
                corner[j] = self.lines[j][index[j]];
                volume *= self.lines[j][index[j] + 1] - self.lines[j][index[j]];
            }
            visit(&corner, volume);
            let mut j = 0;
            loop {
                index[j] += 1;
                if index[j] + 1 < self.lines[j].len() {
                    break;
                }
                index[j] = 0;
                j += 1;
                if j == d {
                    return;
                }
            }
        }
    }
}

fn dominates_cell(p: &[f64], corner: &[f64]) -> bool {
    p.iter().zip(corner).all(|(a, b)| a <= b)
}

/// Exact hypervolume by summing the cells of the coordinate grid that some point dominates.
/// O((n+1)^d · n): keep (n+1)^d below a million.
pub fn cell_decomposition(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    let mut total = 0.0;
    Grid::new(points, reference).for_each_cell(|corner, volume| {
        if points.iter().any(|p| dominates_cell(p, corner)) {
            total += volume;
        }
    });
    total
}

/// Exclusive contributions by the same cell decomposition: a cell belongs to a point when that
/// point is the only distinct non-dominated point dominating it. Follows the library's
/// convention: dominated points are dropped first, duplicated points get zero.
pub fn cell_contributions(points: &[Vec<f64>], reference: &[f64]) -> Vec<f64> {
    let weakly = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| x <= y);
    let nondominated: Vec<usize> = (0..points.len())
        .filter(|&i| {
            points[i].iter().zip(reference).all(|(v, r)| v < r)
                && !points.iter().any(|q| weakly(q, &points[i]) && q != &points[i])
        })
        .collect();
    let mut result = vec![0.0; points.len()];
    let front: Vec<Vec<f64>> = nondominated.iter().map(|&i| points[i].clone()).collect();
    Grid::new(&front, reference).for_each_cell(|corner, volume| {
        let mut owners = nondominated.iter().filter(|&&i| dominates_cell(&points[i], corner));
        if let Some(&first) = owners.next() {
            if owners.all(|&i| points[i] == points[first]) {
                let copies = nondominated.iter().filter(|&&i| points[i] == points[first]).count();
                if copies == 1 {
                    result[first] += volume;
                }
            }
        }
    });
    result
}

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// `n` points uniform in [0, 1)^d.
pub fn uniform(rng: &mut ChaCha8Rng, n: usize, d: usize) -> Vec<Vec<f64>> {
    (0..n).map(|_| (0..d).map(|_| rng.random::<f64>()).collect()).collect()
}

/// `n` points with integer coordinates in 0..=k (many ties and duplicates).
pub fn integer(rng: &mut ChaCha8Rng, n: usize, d: usize, k: u32) -> Vec<Vec<f64>> {
    (0..n).map(|_| (0..d).map(|_| f64::from(rng.random_range(0..=k))).collect()).collect()
}

/// `n` mutually non-dominated points: |uniform| directions scaled onto the unit sphere.
pub fn sphere(rng: &mut ChaCha8Rng, n: usize, d: usize) -> Vec<Vec<f64>> {
    (0..n)
        .map(|_| {
            let row: Vec<f64> = (0..d).map(|_| rng.random::<f64>() + 1e-9).collect();
            let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
            row.into_iter().map(|v| v / norm).collect()
        })
        .collect()
}

/// Asserts `actual` is within a relative 1e-12 of `expected` (absolute for values near zero).
pub fn assert_close(actual: f64, expected: f64, context: &str) {
    let scale = expected.abs().max(1e-300);
    assert!(
        (actual - expected).abs() <= 1e-12 * scale.max(1.0e-3),
        "{context}: got {actual}, expected {expected} (difference {})",
        actual - expected
    );
}
