//! Five objectives: a sweep in ascending v (the fifth coordinate) in which the 4-D volume of the
//! points swept so far grows by each new point's exclusive 4-D contribution, computed against the
//! swept points without sorting them again (the scheme of Fonseca, Paquete & López-Ibáñez 2006 with
//! a one-point 4-D contribution in the manner of Guerreiro & Fonseca 2018 at the bottom).
//!
//! The exclusive 4-D contribution of p is an integral over w ≥ p.w of p's exclusive 3-D volume among
//! the swept points at or below w, each of them "limited" to p's box (raised to p in x, y and z,
//! which keeps exactly its overlap with p's box):
//!
//! 1. the base: the limited points with w ≤ p.w, swept in ascending z. Those with z ≤ p.z all sit
//!    at p.z and reduce to a 2-D staircase; the others follow one by one. This yields p's exclusive
//!    3-D volume and the [`Front3`] of the base, built in order with no search. A base point that
//!    covers all of p's box in x–y ends the sweep: everything above it is covered too;
//! 2. the swept points with w > p.w, in ascending w: each limited point entering the front takes
//!    its own exclusive 3-D volume off p's, until one dominates p in x, y and z.
//!
//! The points are put in two orders once, by z and by w; bit sets over those orders say which
//! entries are swept, so each step visits only swept points, with no search and no sorting. A point
//! weakly dominated in x, y, z and w by one swept before it never joins, and a swept point that the
//! joining one dominates so leaves: the 4-D slices only grow, so neither can add anything again.
//!
//! Inputs here are already minimisation-oriented, finite, and strictly dominate the reference.

use crate::clock::Clock;
use crate::front3::{Front3, LEFT, RIGHT};
use crate::order::key;

/// Reusable buffers (the recursion above five objectives calls this many times).
#[derive(Default)]
pub(crate) struct Hv5d {
    swept: Swept,
    limited: Limited,
    /// Positions in w order of the swept points the current point dominates in x, y, z and w.
    covered: Vec<u32>,
}

impl Hv5d {
    pub(crate) fn hypervolume(&mut self, data: &[f64], reference: &[f64], clock: &mut Clock) -> f64 {
        let n = data.len() / 5;
        if n == 0 {
            return 0.0;
        }
        self.swept.setup(data);
        let reference3 = [reference[0], reference[1], reference[2]];
        let mut volume4 = 0.0;
        let mut volume5 = 0.0;
        for rank in 0..n {
            if clock.tick() {
                return 0.0;
            }
            let (z_position, w_position) = (self.swept.z_position[rank] as usize, self.swept.w_position[rank] as usize);
            self.covered.clear();
            let joined = contribution(
                &self.swept,
                &mut self.limited,
                &mut self.covered,
                (z_position, w_position),
                reference3,
                reference[3],
            );
            if let Some(contribution) = joined {
                volume4 += contribution;
                set_bit(&mut self.swept.in_z, z_position);
                set_bit(&mut self.swept.in_w, w_position);
                // Weakly dominated in four objectives by a point that stays, they add nothing
                // any more.
                for &position in &self.covered {
                    clear_bit(&mut self.swept.in_w, position as usize);
                    clear_bit(&mut self.swept.in_z, self.swept.w_to_z[position as usize] as usize);
                }
            }
            let next_v = self.swept.by_v.get(rank + 1).map_or(reference[4], |&(_, j)| data[5 * j as usize + 4]);
            volume5 += volume4 * (next_v - data[5 * self.swept.by_v[rank].1 as usize + 4]);
        }
        volume5
    }
}

/// The exclusive 4-D volume of the point at `(z_position, w_position)` over the swept points, or
/// `None` when one of them weakly dominates it. Pushes onto `covered` the w positions of swept
/// points it weakly dominates.
fn contribution(
    swept: &Swept,
    limited: &mut Limited,
    covered: &mut Vec<u32>,
    (z_position, w_position): (usize, usize),
    reference: [f64; 3],
    reference_w: f64,
) -> Option<f64> {
    let p = swept.by_z[z_position];
    let (px, py, pz, pw) = (p.x, p.y, p.z, p.w);
    limited.start([px, py, pz], reference);
    // Entries before p in z order lie at or below p.z (those equal in z after it are not swept yet).
    for position in set_bits(&swept.in_z, 0, z_position) {
        let e = swept.by_z[position];
        if e.w <= pw {
            if e.x <= px && e.y <= py {
                return None;
            }
            limited.add_flat(e.x.max(px), e.y.max(py));
        }
    }
    limited.close_flat();
    for position in set_bits(&swept.in_z, z_position + 1, swept.by_z.len()) {
        let e = swept.by_z[position];
        if e.w <= pw && limited.add_raised([e.x.max(px), e.y.max(py), e.z]) {
            break;
        }
    }
    let mut volume3 = limited.close_base();
    // Entries after p in w order lie above p.w, for the same reason.
    let mut contribution = 0.0;
    let mut last_w = pw;
    for position in set_bits(&swept.in_w, w_position + 1, swept.by_w.len()) {
        let e = swept.by_w[position];
        contribution += volume3 * (e.w - last_w);
        last_w = e.w;
        if e.x >= px && e.y >= py && e.z >= pz {
            covered.push(position as u32);
        }
        if e.x <= px && e.y <= py && e.z <= pz {
            return Some(contribution);
        }
        volume3 -= limited.take([e.x.max(px), e.y.max(py), e.z.max(pz)]);
    }
    Some(contribution + volume3 * (reference_w - last_w))
}

/// A point's first four coordinates, in one of the two orders.
#[derive(Clone, Copy)]
struct Entry {
    x: f64,
    y: f64,
    z: f64,
    w: f64,
}

/// The points in z order and in w order, and which entries of each are swept so far.
#[derive(Default)]
struct Swept {
    /// (v key, row) in sweep order.
    by_v: Vec<(u64, u32)>,
    by_z: Vec<Entry>,
    by_w: Vec<Entry>,
    in_z: Vec<u64>,
    in_w: Vec<u64>,
    /// Positions in `by_z` and `by_w` of each rank of the sweep.
    z_position: Vec<u32>,
    w_position: Vec<u32>,
    /// The position in `by_z` of each entry of `by_w`.
    w_to_z: Vec<u32>,
    sorting: Vec<(u64, u32)>,
}

impl Swept {
    fn setup(&mut self, data: &[f64]) {
        let n = data.len() / 5;
        self.by_v.clear();
        self.by_v.extend(data.chunks_exact(5).enumerate().map(|(i, p)| (key(p[4]), i as u32)));
        self.by_v.sort_unstable();
        // Both orders break ties by sweep rank, so an entry equal to p in z (or w) that comes after
        // p is swept after it too.
        for (coordinate, entries, positions, bits) in [
            (2, &mut self.by_z, &mut self.z_position, &mut self.in_z),
            (3, &mut self.by_w, &mut self.w_position, &mut self.in_w),
        ] {
            self.sorting.clear();
            self.sorting.extend(
                self.by_v
                    .iter()
                    .enumerate()
                    .map(|(rank, &(_, i))| (key(data[5 * i as usize + coordinate]), rank as u32)),
            );
            self.sorting.sort_unstable();
            entries.clear();
            positions.clear();
            positions.resize(n, 0);
            for (position, &(_, rank)) in self.sorting.iter().enumerate() {
                let p = &data[5 * self.by_v[rank as usize].1 as usize..];
                entries.push(Entry { x: p[0], y: p[1], z: p[2], w: p[3] });
                positions[rank as usize] = position as u32;
            }
            bits.clear();
            bits.resize(n.div_ceil(64), 0);
        }
        self.w_to_z.clear();
        self.w_to_z.resize(n, 0);
        for (&z_position, &w_position) in self.z_position.iter().zip(&self.w_position) {
            self.w_to_z[w_position as usize] = z_position;
        }
    }
}

fn set_bit(bits: &mut [u64], position: usize) {
    bits[position / 64] |= 1 << (position % 64);
}

fn clear_bit(bits: &mut [u64], position: usize) {
    bits[position / 64] &= !(1 << (position % 64));
}

/// The positions in `start..end` whose bit is set, ascending.
fn set_bits(bits: &[u64], start: usize, end: usize) -> SetBits<'_> {
    let word = start / 64;
    let first = if start < end { bits[word] & (!0u64 << (start % 64)) } else { 0 };
    SetBits { bits, word, current: first, end }
}

struct SetBits<'a> {
    bits: &'a [u64],
    word: usize,
    current: u64,
    end: usize,
}

impl Iterator for SetBits<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.current == 0 {
            self.word += 1;
            if self.word * 64 >= self.end {
                return None;
            }
            self.current = self.bits[self.word];
        }
        let position = self.word * 64 + self.current.trailing_zeros() as usize;
        self.current &= self.current - 1;
        (position < self.end).then_some(position)
    }
}

/// A step of the 2-D staircase of the base (x ascending, y descending) and its node in the front.
#[derive(Clone, Copy)]
struct Step {
    x: f64,
    y: f64,
    node: u32,
}

/// The swept points limited to p's box: their [`Front3`], and p's uncovered volume while the base
/// is being swept in z.
#[derive(Default)]
struct Limited {
    front: Front3,
    staircase: Vec<Step>,
    /// Limited base points of equal z, put in (y, x) order before they enter the front.
    equal_z: Vec<[f64; 3]>,
    /// p's x, y and z: the lower corner of every limited point.
    corner: [f64; 3],
    reference: [f64; 3],
    /// Area of p's box in x–y, and how much of it the staircase covers.
    area: f64,
    covered_area: f64,
    /// p's uncovered volume below `last_z`.
    volume: f64,
    last_z: f64,
    /// The lowest z from which one front point covers all of p's box in x–y.
    covered_from_z: f64,
}

impl Limited {
    fn start(&mut self, corner: [f64; 3], reference: [f64; 3]) {
        self.front.reset(reference);
        self.staircase.clear();
        self.equal_z.clear();
        self.corner = corner;
        self.reference = reference;
        self.area = (reference[0] - corner[0]) * (reference[1] - corner[1]);
        self.covered_area = 0.0;
        self.volume = 0.0;
        self.last_z = corner[2];
        self.covered_from_z = f64::INFINITY;
    }

    /// A base point at or below p.z, limited in x and y (any order).
    #[inline]
    fn add_flat(&mut self, x: f64, y: f64) {
        // Nodes are given once the staircase is complete, in `close_flat`.
        if let Some((added, ..)) = add_step(&mut self.staircase, x, y, LEFT, self.reference) {
            self.covered_area += added;
        }
    }

    /// Puts the flat points in the front: in (z, y, x) order they come by ascending y, each with
    /// the previous one as its closest right-hand neighbour and nothing to its left.
    fn close_flat(&mut self) {
        let mut previous = RIGHT;
        for step in self.staircase.iter_mut().rev() {
            previous = self.front.append([step.x, step.y, self.corner[2]], LEFT, previous);
            step.node = previous;
        }
    }

    /// A base point above p.z, limited in x and y, in ascending z; true when the base is complete
    /// (p's box is covered from here up).
    #[inline]
    fn add_raised(&mut self, point: [f64; 3]) -> bool {
        if self.equal_z.first().is_some_and(|first| first[2] != point[2]) && self.take_equal_z() {
            return true;
        }
        self.equal_z.push(point);
        false
    }

    /// Adds the buffered points of equal z to the staircase and the front in (y, x) order,
    /// accumulating p's uncovered volume below them; true when one covers all of p's box in x–y.
    fn take_equal_z(&mut self) -> bool {
        if self.equal_z.len() > 1 {
            self.equal_z.sort_unstable_by_key(|q| (key(q[1]), key(q[0])));
        }
        for &q in &self.equal_z {
            let node = self.front.next_id();
            if let Some((added, left, right)) = add_step(&mut self.staircase, q[0], q[1], node, self.reference) {
                self.volume += (self.area - self.covered_area) * (q[2] - self.last_z);
                self.last_z = q[2];
                self.covered_area += added;
                self.front.append(q, left, right);
                if q[0] == self.corner[0] && q[1] == self.corner[1] {
                    self.covered_from_z = q[2];
                    return true;
                }
            }
        }
        self.equal_z.clear();
        false
    }

    /// p's exclusive 3-D volume over the base.
    fn close_base(&mut self) -> f64 {
        if self.covered_from_z == f64::INFINITY && !self.take_equal_z() {
            self.volume += (self.area - self.covered_area) * (self.reference[2] - self.last_z);
        }
        self.volume
    }

    /// Takes a limited point above p.w into the front; returns the 3-D volume it takes off p's.
    #[inline]
    fn take(&mut self, point: [f64; 3]) -> f64 {
        if point[2] >= self.covered_from_z {
            return 0.0;
        }
        let Some(taken) = self.front.insert(point) else {
            return 0.0;
        };
        if point[0] == self.corner[0] && point[1] == self.corner[1] {
            self.covered_from_z = point[2];
        }
        taken
    }
}

/// Adds (x, y) to the staircase unless a step weakly dominates it, dropping the steps it
/// dominates; returns the area it adds (bounded by the reference) and its left and right
/// neighbours' nodes ([`LEFT`] / [`RIGHT`] at the ends).
fn add_step(staircase: &mut Vec<Step>, x: f64, y: f64, node: u32, reference: [f64; 3]) -> Option<(f64, u32, u32)> {
    // Staircases here mostly hold a handful of steps: counting them without branches beats a
    // binary search.
    let at_or_left = if staircase.len() <= 16 {
        staircase.iter().map(|s| usize::from(s.x <= x)).sum()
    } else {
        staircase.partition_point(|s| s.x <= x)
    };
    if at_or_left > 0 && staircase[at_or_left - 1].y <= y {
        return None;
    }
    // A step at the same x is higher, so the new point dominates it.
    let start = if at_or_left > 0 && staircase[at_or_left - 1].x == x { at_or_left - 1 } else { at_or_left };
    let (left, mut top) = match start {
        0 => (LEFT, reference[1]),
        _ => (staircase[start - 1].node, staircase[start - 1].y),
    };
    // Columns of new area from x rightwards, each as high as the step before it: only positive
    // terms, so no cancellation.
    let mut column_x = x;
    let mut area = 0.0;
    let mut end = start;
    while let Some(step) = staircase.get(end).filter(|s| s.y >= y) {
        area += (step.x - column_x) * (top - y);
        (column_x, top) = (step.x, step.y);
        end += 1;
    }
    let (right, right_x) = staircase.get(end).map_or((RIGHT, reference[0]), |s| (s.node, s.x));
    area += (right_x - column_x) * (top - y);
    let step = Step { x, y, node };
    if start == end {
        staircase.insert(start, step);
    } else {
        staircase[start] = step;
        staircase.drain(start + 1..end);
    }
    Some((area, left, right))
}

#[cfg(test)]
mod tests {
    use super::{clear_bit, set_bit, set_bits};

    /// Every range of a bit set with bits on, off and at word edges, against a plain filter.
    #[test]
    fn set_bits_lists_the_set_positions_of_any_range() {
        let size = 200usize;
        let mut bits = vec![0u64; size.div_ceil(64)];
        let mut reference = vec![false; size];
        for position in (0..size).filter(|p| p % 3 == 0 || p % 64 == 63 || p % 64 == 0) {
            set_bit(&mut bits, position);
            reference[position] = true;
        }
        clear_bit(&mut bits, 63);
        reference[63] = false;
        for start in 0..=size {
            for end in [start, start + 1, start + 63, start + 64, start + 65, size].into_iter().filter(|&e| e <= size) {
                let listed: Vec<usize> = set_bits(&bits, start, end).collect();
                let expected: Vec<usize> = (start..end).filter(|&p| reference[p]).collect();
                assert_eq!(listed, expected, "{start}..{end}");
            }
        }
    }
}
