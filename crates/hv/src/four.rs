//! Four objectives: the HV4D+ scheme of Guerreiro & Fonseca (2018), O(n²). Points are swept in
//! ascending w; the 3-D volume of the points seen so far grows by each new point's exclusive 3-D
//! contribution, and the 4-D volume is the sum of 3-D volume × w-distance to the next point.
//!
//! The 3-D front of the swept points is a list in lexicographic (z, y, x) order. Each point in it
//! remembers its two neighbours ("closest") in the 2-D front formed by the points before it in that
//! order: `closest_left` is, among earlier points up and to the left of it, the lowest; and
//! `closest_right`, among earlier points down and to the right, the leftmost. Replaying the list in
//! order and linking each point between its two closest rebuilds the 2-D front at any height in
//! O(n) with no search, which is what makes a single 3-D contribution O(n):
//!
//! 1. replay the points below the new point p (checking on the way whether one dominates p, and
//!    finding p's own closest pair);
//! 2. p's exclusive area in that slice is the rectangle to its neighbours minus the staircase of
//!    points between them; then walk the points above p, each one either cutting p's rectangle
//!    (a new neighbour), lying inside p's box (its own exclusive area is taken off), or dominating
//!    p in x–y (p's exclusive volume ends there);
//! 3. insert p in the list, drop the points p dominates and offer p as a closer neighbour to the
//!    points above it.
//!
//! Nodes are numbered in (z, y, x, w) order, so "before in the list" is a comparison of indices
//! and walking the list reads memory forward. Inputs here are already minimisation-oriented,
//! finite, and strictly dominate the reference.

use crate::order::key;

/// Sentinels of the 2-D front: x = −∞ at the reference's y, and the reference's x at y = −∞.
const LEFT: u32 = 0;
const RIGHT: u32 = 1;
/// Head of the (z, y, x) list; the tail is node `n + 3`.
const HEAD: u32 = 2;
const FIRST: u32 = 3;

/// Reusable buffers of the sweep (the 5-D and higher recursion calls it thousands of times).
#[derive(Default)]
pub(crate) struct Hv4d {
    coordinates: Vec<[f64; 4]>,
    next_z: Vec<u32>,
    previous_z: Vec<u32>,
    /// Links of the 2-D front being replayed.
    left: Vec<u32>,
    right: Vec<u32>,
    closest_left: Vec<u32>,
    closest_right: Vec<u32>,
    sweep: Vec<(u64, u32)>,
    sorting: Vec<([u64; 4], u32)>,
}

impl Hv4d {
    pub(crate) fn hypervolume(&mut self, data: &[f64], reference: &[f64]) -> f64 {
        let n = data.len() / 4;
        if n == 0 {
            return 0.0;
        }
        self.setup(data, reference);
        let tail = n as u32 + FIRST;
        let mut volume3 = 0.0;
        let mut volume4 = 0.0;
        for k in 0..n {
            let p = self.sweep[k].1;
            if let Some((position, left, right)) = self.replay_below(p) {
                volume3 += self.one_contribution_3d(p, position, left, right, tail, reference[2]);
                self.insert(p, position, left, right);
                self.update_links(p, tail);
            }
            let next_w = self.sweep.get(k + 1).map_or(reference[3], |&(_, q)| self.coordinates[q as usize][3]);
            volume4 += volume3 * (next_w - self.coordinates[p as usize][3]);
        }
        volume4
    }

    fn setup(&mut self, data: &[f64], reference: &[f64]) {
        let n = data.len() / 4;
        self.sorting.clear();
        self.sorting.extend(
            data.chunks_exact(4).enumerate().map(|(i, p)| ([key(p[2]), key(p[1]), key(p[0]), key(p[3])], i as u32)),
        );
        self.sorting.sort_unstable();
        let total = n + FIRST as usize + 1;
        self.coordinates.clear();
        self.coordinates.reserve(total);
        self.coordinates.push([f64::NEG_INFINITY, reference[1], f64::NEG_INFINITY, f64::NEG_INFINITY]);
        self.coordinates.push([reference[0], f64::NEG_INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY]);
        self.coordinates.push([f64::NEG_INFINITY; 4]);
        for &(_, i) in &self.sorting {
            let p = &data[4 * i as usize..4 * i as usize + 4];
            self.coordinates.push([p[0], p[1], p[2], p[3]]);
        }
        self.coordinates.push([f64::INFINITY; 4]);
        // Sweep by w; equal w in node order, so a dominating point comes first.
        self.sweep.clear();
        self.sweep.extend((FIRST..FIRST + n as u32).map(|node| (key(self.coordinates[node as usize][3]), node)));
        self.sweep.sort_unstable();
        let tail = n as u32 + FIRST;
        for links in [&mut self.next_z, &mut self.previous_z, &mut self.left, &mut self.right] {
            links.clear();
            links.resize(total, 0);
        }
        self.closest_left.clear();
        self.closest_left.resize(total, LEFT);
        self.closest_right.clear();
        self.closest_right.resize(total, RIGHT);
        self.next_z[HEAD as usize] = tail;
        self.previous_z[tail as usize] = HEAD;
    }

    /// Rebuilds the 2-D front of the listed points before `p`; `None` if one of them weakly
    /// dominates `p`, else the list node `p` goes before and `p`'s closest left and right.
    #[inline]
    fn replay_below(&mut self, p: u32) -> Option<(u32, u32, u32)> {
        let [px, py, _, _] = self.coordinates[p as usize];
        self.right[LEFT as usize] = RIGHT;
        self.left[RIGHT as usize] = LEFT;
        let (mut best_left, mut best_left_x, mut best_left_y) = (LEFT, f64::NEG_INFINITY, self.coordinates[0][1]);
        let (mut best_right, mut best_right_x, mut best_right_y) = (RIGHT, self.coordinates[1][0], f64::NEG_INFINITY);
        let mut s = self.next_z[HEAD as usize];
        while s < p {
            let [sx, sy, _, _] = self.coordinates[s as usize];
            if sx <= px && sy <= py {
                return None; // s comes before p in z, so it weakly dominates p
            }
            self.link(s);
            if sy < py {
                if sx < best_right_x || (sx == best_right_x && sy < best_right_y) {
                    (best_right, best_right_x, best_right_y) = (s, sx, sy);
                }
            } else if sx < px && (sy < best_left_y || (sy == best_left_y && sx < best_left_x)) {
                (best_left, best_left_x, best_left_y) = (s, sx, sy);
            }
            s = self.next_z[s as usize];
        }
        Some((s, best_left, best_right))
    }

    /// Links `s` into the replayed 2-D front between its closest pair, unlinking what it covers.
    #[inline]
    fn link(&mut self, s: u32) {
        let (l, r) = (self.closest_left[s as usize], self.closest_right[s as usize]);
        self.left[s as usize] = l;
        self.right[s as usize] = r;
        self.right[l as usize] = s;
        self.left[r as usize] = s;
    }

    /// Area of the box of (px, py) not covered by the replayed front, when `left` and `right` are
    /// its neighbours there: columns from px rightwards under each front point in between.
    #[inline]
    fn staircase_area(&self, px: f64, py: f64, left: u32, right: u32) -> f64 {
        let mut column_x = px;
        let mut top = self.coordinates[left as usize][1];
        let mut area = 0.0;
        let mut q = self.right[left as usize];
        while q != right {
            let [qx, qy, _, _] = self.coordinates[q as usize];
            area += (qx - column_x) * (top - py);
            column_x = qx;
            top = qy;
            q = self.right[q as usize];
        }
        area + (self.coordinates[right as usize][0] - column_x) * (top - py)
    }

    /// The exclusive 3-D volume of `p` over the listed points, `start` being the first listed node
    /// above it and `left`/`right` its neighbours in the front replayed below it.
    fn one_contribution_3d(&mut self, p: u32, start: u32, left: u32, right: u32, tail: u32, reference_z: f64) -> f64 {
        let [px, py, pz, _] = self.coordinates[p as usize];
        let mut area = self.staircase_area(px, py, left, right);
        let (mut p_left, mut p_right) = (left, right);
        let mut volume = 0.0;
        let mut last_z = pz;
        let mut q = start;
        loop {
            if q == tail {
                return volume + area * (reference_z - last_z);
            }
            let [qx, qy, qz, _] = self.coordinates[q as usize];
            volume += area * (qz - last_z);
            last_z = qz;
            if qx <= px && qy <= py {
                return volume;
            }
            if qx < px {
                // Up and to the left: it lowers p's rectangle to qy if it is below the neighbour.
                let mut top = self.coordinates[p_left as usize][1];
                if qy < top {
                    let mut t = self.right[p_left as usize];
                    loop {
                        // The row band between the next staircase y and `top` spans px..(its x).
                        let (band_bottom, band_right) = if t == p_right {
                            (py, self.coordinates[p_right as usize][0])
                        } else {
                            let [tx, ty, _, _] = self.coordinates[t as usize];
                            (ty, tx)
                        };
                        if band_bottom <= qy {
                            area -= (top - qy) * (band_right - px);
                            break;
                        }
                        area -= (top - band_bottom) * (band_right - px);
                        top = band_bottom;
                        t = self.right[t as usize];
                    }
                    p_left = q;
                }
            } else if qy < py {
                // Down and to the right: it moves p's rectangle's right edge to qx.
                let mut right_x = self.coordinates[p_right as usize][0];
                if qx < right_x {
                    let mut t = self.left[p_right as usize];
                    loop {
                        let (column_left, column_top) = if t == p_left {
                            (px, self.coordinates[p_left as usize][1])
                        } else {
                            let [tx, ty, _, _] = self.coordinates[t as usize];
                            (tx, ty)
                        };
                        if column_left <= qx {
                            area -= (right_x - qx) * (column_top - py);
                            break;
                        }
                        area -= (right_x - column_left) * (column_top - py);
                        right_x = column_left;
                        t = self.left[t as usize];
                    }
                    p_right = q;
                }
            } else {
                // Inside p's box: what q alone covers is no longer p's alone.
                area -= self.staircase_area(qx, qy, self.closest_left[q as usize], self.closest_right[q as usize]);
            }
            self.link(q);
            q = self.next_z[q as usize];
        }
    }

    fn insert(&mut self, p: u32, before: u32, left: u32, right: u32) {
        let after = self.previous_z[before as usize];
        self.next_z[after as usize] = p;
        self.previous_z[p as usize] = after;
        self.next_z[p as usize] = before;
        self.previous_z[before as usize] = p;
        self.closest_left[p as usize] = left;
        self.closest_right[p as usize] = right;
    }

    /// After inserting `p`: drops the listed points above it that it dominates, and makes it the
    /// closest neighbour of those it is now closest to. Stops at the first point that dominates
    /// `p` in x–y: beyond it, `p` can be nobody's neighbour.
    fn update_links(&mut self, p: u32, tail: u32) {
        let [px, py, _, _] = self.coordinates[p as usize];
        let mut s = self.next_z[p as usize];
        while s != tail {
            let [sx, sy, _, _] = self.coordinates[s as usize];
            let next = self.next_z[s as usize];
            if px <= sx && py <= sy {
                let previous = self.previous_z[s as usize];
                self.next_z[previous as usize] = next;
                self.previous_z[next as usize] = previous;
            } else if sx <= px && sy <= py {
                return;
            } else if px < sx {
                let [cx, cy, _, _] = self.coordinates[self.closest_left[s as usize] as usize];
                if py < cy || (py == cy && px < cx) {
                    self.closest_left[s as usize] = p;
                }
            } else {
                let [cx, cy, _, _] = self.coordinates[self.closest_right[s as usize] as usize];
                if px < cx || (px == cx && py < cy) {
                    self.closest_right[s as usize] = p;
                }
            }
            s = next;
        }
    }
}
