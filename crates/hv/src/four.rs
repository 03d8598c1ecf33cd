//! Four objectives: HV4D+ (Guerreiro & Fonseca 2018), O(n²). Points are swept in ascending w; the
//! 3-D volume of the points seen so far grows by each new point's exclusive 3-D contribution, which
//! the [`Front3`] list measures while taking the point in, and the 4-D volume is the sum of 3-D
//! volume × w-distance to the next point.
//!
//! Inputs here are already minimisation-oriented, finite, and strictly dominate the reference.

use crate::clock::Clock;
use crate::front3::Front3;
use crate::order::key;

/// Reusable buffers (4-D contributions call this once per point).
#[derive(Default)]
pub(crate) struct Hv4d {
    front: Front3,
    by_w: Vec<(u64, u32)>,
}

impl Hv4d {
    pub(crate) fn hypervolume(&mut self, data: &[f64], reference: &[f64], clock: &mut Clock) -> f64 {
        self.by_w.clear();
        self.by_w.extend(data.chunks_exact(4).enumerate().map(|(i, p)| (key(p[3]), i as u32)));
        // Points of equal w may enter in any order: the w-distance between them is zero.
        self.by_w.sort_unstable();
        self.front.reset([reference[0], reference[1], reference[2]]);
        let mut volume3 = 0.0;
        let mut volume4 = 0.0;
        for (k, &(_, i)) in self.by_w.iter().enumerate() {
            if clock.tick() {
                return 0.0;
            }
            let p = &data[4 * i as usize..4 * i as usize + 4];
            volume3 += self.front.insert([p[0], p[1], p[2]]).unwrap_or(0.0);
            let next_w = self.by_w.get(k + 1).map_or(reference[3], |&(_, j)| data[4 * j as usize + 3]);
            volume4 += volume3 * (next_w - p[3]);
        }
        volume4
    }
}
