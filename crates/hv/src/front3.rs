//! The three-dimensional front of HV4D+ (Guerreiro & Fonseca 2018), shared by the 4-D hypervolume
//! and the one-point 4-D contribution under the 5-D sweep: mutually non-dominated points kept in a
//! list in lexicographic (z, y, x) order, into which a point can be inserted while its exclusive
//! 3-D volume over the listed points is measured, in time linear in the list's length.
//!
//! Each listed point remembers its two neighbours ("closest") in the 2-D front formed by the points
//! before it in the list: `closest_left`, among earlier points up and to the left of it, the lowest
//! (ties: the leftmost); `closest_right`, among earlier points down and to the right, the leftmost
//! (ties: the lowest). Replaying the list in order and linking each point between its two closest
//! rebuilds the 2-D front at any height with no search. Inserting a point p:
//!
//! 1. replay the points before p (checking on the way whether one dominates p, and finding p's own
//!    closest pair);
//! 2. p's exclusive area in that slice is the rectangle to its neighbours minus the staircase of
//!    points between them; then walk the points after p, each one either cutting p's rectangle
//!    (a new neighbour), lying inside p's box (its own exclusive area is taken off), or dominating
//!    p in x–y (p's exclusive volume ends there);
//! 3. link p into the list, drop the points p dominates and offer p as a closer neighbour to the
//!    points after it.
//!
//! Ties need one consistent order: "before" always means lexicographically smaller in (z, y, x),
//! and a new point with the same x and y as a listed one takes that point's place as a neighbour
//! (the listed one has a larger z, so the new point has just removed it). A neighbour that stayed
//! pointing at a removed point would make a later replay follow that point's stale links.
//!
//! Coordinates must be finite, and every point must lie strictly below the reference.

/// Sentinels of the 2-D front: x = −∞ at the reference's y, and the reference's x at y = −∞.
pub(crate) const LEFT: u32 = 0;
pub(crate) const RIGHT: u32 = 1;
/// Ends of the (z, y, x) list.
const HEAD: u32 = 2;
const TAIL: u32 = 3;

#[derive(Clone, Copy)]
struct Node {
    x: f64,
    y: f64,
    z: f64,
    /// Neighbours in the (z, y, x) list.
    next: u32,
    previous: u32,
    closest_left: u32,
    closest_right: u32,
    /// Neighbours in the 2-D front being replayed.
    left: u32,
    right: u32,
}

impl Node {
    fn at(x: f64, y: f64, z: f64) -> Node {
        Node { x, y, z, next: TAIL, previous: HEAD, closest_left: LEFT, closest_right: RIGHT, left: LEFT, right: RIGHT }
    }

    /// Whether this node comes no later than `other` in (z, y, x) order.
    #[inline]
    fn precedes_or_equals(&self, other: &Node) -> bool {
        self.z < other.z || (self.z == other.z && (self.y < other.y || (self.y == other.y && self.x <= other.x)))
    }
}

/// The list and its nodes; buffers are kept between uses (the 5-D sweep resets it once per point).
#[derive(Default)]
pub(crate) struct Front3 {
    nodes: Vec<Node>,
    reference_z: f64,
}

impl Front3 {
    /// Empties the front for points below `reference`.
    pub(crate) fn reset(&mut self, reference: [f64; 3]) {
        let [reference_x, reference_y, reference_z] = reference;
        self.reference_z = reference_z;
        self.nodes.clear();
        self.nodes.push(Node::at(f64::NEG_INFINITY, reference_y, f64::NEG_INFINITY));
        self.nodes.push(Node::at(reference_x, f64::NEG_INFINITY, f64::NEG_INFINITY));
        let mut head = Node::at(f64::NEG_INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY);
        head.next = TAIL;
        let mut tail = Node::at(f64::INFINITY, f64::INFINITY, f64::INFINITY);
        tail.previous = HEAD;
        self.nodes.push(head);
        self.nodes.push(tail);
    }

    /// The id the next appended or inserted point will get.
    pub(crate) fn next_id(&self) -> u32 {
        self.nodes.len() as u32
    }

    /// Appends a point that follows every listed point in (z, y, x) order and is weakly dominated
    /// by none of them, given its neighbours in the 2-D front of the listed points (as ids, or
    /// [`LEFT`] / [`RIGHT`]); returns its id. For building a front from points already in order.
    pub(crate) fn append(&mut self, point: [f64; 3], closest_left: u32, closest_right: u32) -> u32 {
        let id = self.next_id();
        let last = self.nodes[TAIL as usize].previous;
        let mut node = Node::at(point[0], point[1], point[2]);
        debug_assert!(
            last == HEAD
                || (self.nodes[last as usize].precedes_or_equals(&node)
                    && !node.precedes_or_equals(&self.nodes[last as usize])),
            "appended out of (z, y, x) order"
        );
        (node.previous, node.next, node.closest_left, node.closest_right) = (last, TAIL, closest_left, closest_right);
        self.nodes.push(node);
        self.nodes[last as usize].next = id;
        self.nodes[TAIL as usize].previous = id;
        id
    }

    /// Inserts `point` and returns its exclusive volume over the points listed before, or `None`
    /// (and leaves the front unchanged) when a listed point weakly dominates it.
    pub(crate) fn insert(&mut self, point: [f64; 3]) -> Option<f64> {
        let p = self.next_id();
        self.nodes.push(Node::at(point[0], point[1], point[2]));
        let Some((position, left, right)) = self.replay_below(p) else {
            self.nodes.pop();
            return None;
        };
        let volume = self.one_contribution(p, position, left, right);
        self.link_before(p, position, left, right);
        self.update_links(p);
        Some(volume)
    }

    /// Rebuilds the 2-D front of the listed points before `p`; `None` if one of them weakly
    /// dominates `p`, else the list node `p` goes before and `p`'s closest left and right.
    #[inline]
    fn replay_below(&mut self, p: u32) -> Option<(u32, u32, u32)> {
        let new = self.nodes[p as usize];
        self.nodes[LEFT as usize].right = RIGHT;
        self.nodes[RIGHT as usize].left = LEFT;
        let (mut best_left, mut best_left_x, mut best_left_y) = (LEFT, f64::NEG_INFINITY, self.nodes[0].y);
        let (mut best_right, mut best_right_x, mut best_right_y) = (RIGHT, self.nodes[1].x, f64::NEG_INFINITY);
        let mut s = self.nodes[HEAD as usize].next;
        loop {
            let node = self.nodes[s as usize];
            if !node.precedes_or_equals(&new) {
                return Some((s, best_left, best_right));
            }
            if node.x <= new.x && node.y <= new.y {
                return None; // s comes no later than p in z, so it weakly dominates p
            }
            self.link(s, node.closest_left, node.closest_right);
            if node.y < new.y {
                if node.x < best_right_x || (node.x == best_right_x && node.y < best_right_y) {
                    (best_right, best_right_x, best_right_y) = (s, node.x, node.y);
                }
            } else if node.x < new.x && (node.y < best_left_y || (node.y == best_left_y && node.x < best_left_x)) {
                (best_left, best_left_x, best_left_y) = (s, node.x, node.y);
            }
            s = node.next;
        }
    }

    /// Links `s` into the replayed 2-D front between its closest pair, unlinking what it covers.
    #[inline]
    fn link(&mut self, s: u32, left: u32, right: u32) {
        let node = &mut self.nodes[s as usize];
        node.left = left;
        node.right = right;
        self.nodes[left as usize].right = s;
        self.nodes[right as usize].left = s;
    }

    /// Area of the box of (x, y) not covered by the replayed front, when `left` and `right` are
    /// its neighbours there: columns from x rightwards under each front point in between.
    #[inline]
    fn staircase_area(&self, x: f64, y: f64, left: u32, right: u32) -> f64 {
        let mut column_x = x;
        let mut top = self.nodes[left as usize].y;
        let mut area = 0.0;
        let mut q = self.nodes[left as usize].right;
        while q != right {
            let node = &self.nodes[q as usize];
            area += (node.x - column_x) * (top - y);
            column_x = node.x;
            top = node.y;
            q = node.right;
        }
        area + (self.nodes[right as usize].x - column_x) * (top - y)
    }

    /// The exclusive volume of `p` over the listed points, `start` being the first listed node
    /// after it and `left`/`right` its neighbours in the front replayed below it.
    fn one_contribution(&mut self, p: u32, start: u32, left: u32, right: u32) -> f64 {
        let Node { x: px, y: py, z: pz, .. } = self.nodes[p as usize];
        let mut area = self.staircase_area(px, py, left, right);
        let (mut p_left, mut p_right) = (left, right);
        let mut volume = 0.0;
        let mut last_z = pz;
        let mut q = start;
        while q != TAIL {
            let node = self.nodes[q as usize];
            volume += area * (node.z - last_z);
            last_z = node.z;
            if node.x <= px && node.y <= py {
                return volume;
            }
            if node.x < px {
                // Up and to the left: it lowers p's rectangle to its y. On a tie it still becomes
                // the neighbour (cutting nothing), so the neighbour is always in the front.
                let mut top = self.nodes[p_left as usize].y;
                if node.y <= top {
                    let mut t = self.nodes[p_left as usize].right;
                    loop {
                        // The row band between the next staircase y and `top` spans px..(its x).
                        let step = &self.nodes[t as usize];
                        let (band_bottom, band_right) = if t == p_right { (py, step.x) } else { (step.y, step.x) };
                        if band_bottom <= node.y {
                            area -= (top - node.y) * (band_right - px);
                            break;
                        }
                        area -= (top - band_bottom) * (band_right - px);
                        top = band_bottom;
                        t = step.right;
                    }
                    p_left = q;
                }
            } else if node.y < py {
                // Down and to the right: it moves p's rectangle's right edge to its x (on a tie too).
                let mut right_x = self.nodes[p_right as usize].x;
                if node.x <= right_x {
                    let mut t = self.nodes[p_right as usize].left;
                    loop {
                        let step = &self.nodes[t as usize];
                        let (column_left, column_top) = if t == p_left { (px, step.y) } else { (step.x, step.y) };
                        if column_left <= node.x {
                            area -= (right_x - node.x) * (column_top - py);
                            break;
                        }
                        area -= (right_x - column_left) * (column_top - py);
                        right_x = column_left;
                        t = step.left;
                    }
                    p_right = q;
                }
            } else {
                // Inside p's box: what q alone covers is no longer p's alone.
                area -= self.staircase_area(node.x, node.y, node.closest_left, node.closest_right);
            }
            self.link(q, node.closest_left, node.closest_right);
            q = node.next;
        }
        volume + area * (self.reference_z - last_z)
    }

    fn link_before(&mut self, p: u32, before: u32, left: u32, right: u32) {
        let after = self.nodes[before as usize].previous;
        self.nodes[after as usize].next = p;
        self.nodes[before as usize].previous = p;
        let node = &mut self.nodes[p as usize];
        (node.previous, node.next, node.closest_left, node.closest_right) = (after, before, left, right);
    }

    /// After inserting `p`: drops the listed points after it that it dominates, and makes it the
    /// closest neighbour of those it is now closest to. Stops at the first point that dominates
    /// `p` in x–y: beyond it, `p` can be nobody's neighbour.
    fn update_links(&mut self, p: u32) {
        let Node { x: px, y: py, next: mut s, .. } = self.nodes[p as usize];
        while s != TAIL {
            let node = self.nodes[s as usize];
            if px <= node.x && py <= node.y {
                self.nodes[node.previous as usize].next = node.next;
                self.nodes[node.next as usize].previous = node.previous;
            } else if node.x <= px && node.y <= py {
                return;
            } else if px < node.x {
                // `<=`: a neighbour with p's x and y lies above p in z, so p has just dropped it.
                let closest = &self.nodes[node.closest_left as usize];
                if py < closest.y || (py == closest.y && px <= closest.x) {
                    self.nodes[s as usize].closest_left = p;
                }
            } else {
                let closest = &self.nodes[node.closest_right as usize];
                if px < closest.x || (px == closest.x && py <= closest.y) {
                    self.nodes[s as usize].closest_right = p;
                }
            }
            s = node.next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Front3;
    use crate::three;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The exclusive volumes reported while inserting points one by one, in any order, add up to
    /// the volume of the whole set as the independent 3-D sweep computes it, and afterwards the
    /// front covers every point (inserting one again is refused). Half the sets have coordinates
    /// in 0..=3, so ties in x, y and z, duplicates and dominated points are everywhere; their
    /// volumes are exact integers.
    #[test]
    fn exclusive_volumes_add_up_to_the_three_dimensional_hypervolume() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let reference = [4.0; 3];
        let mut front = Front3::default();
        for round in 0..3000 {
            let on_grid = round % 2 == 0;
            let n = rng.random_range(1..40);
            let points: Vec<[f64; 3]> = (0..n)
                .map(|_| {
                    std::array::from_fn(|_| {
                        if on_grid {
                            f64::from(rng.random_range(0..4u8))
                        } else {
                            4.0 * rng.random::<f64>()
                        }
                    })
                })
                .collect();
            front.reset(reference);
            let total: f64 = points.iter().filter_map(|&p| front.insert(p)).sum();
            let expected = three::hypervolume(&points.concat(), &reference);
            if on_grid {
                assert_eq!(total, expected, "{points:?}");
            } else {
                assert!((total - expected).abs() <= 1e-12 * expected, "{total} vs {expected}: {points:?}");
            }
            assert!(points.iter().all(|&p| front.insert(p).is_none()), "{points:?}");
        }
    }
}
