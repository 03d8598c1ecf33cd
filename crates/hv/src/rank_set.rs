//! A set of integers in `0..capacity` with predecessor and successor queries in O(log₆₄ n):
//! a hierarchy of 64-bit occupancy words (a flattened van Emde Boas layout). The 3-D sweeps keep
//! their 2-D front as the set of the front points' x-ranks, which is several times faster than a
//! balanced tree of floats and needs no comparisons of coordinates at all.

pub(crate) struct RankSet {
    /// `levels[0]` has one bit per element; bit `i` of `levels[k + 1]` says whether word `i` of
    /// `levels[k]` is non-zero. The last level is a single word.
    levels: Vec<Vec<u64>>,
}

impl RankSet {
    /// An empty set able to hold `0..capacity`.
    pub(crate) fn new(capacity: usize) -> RankSet {
        let mut levels = Vec::new();
        let mut size = capacity.max(1);
        loop {
            let words = size.div_ceil(64);
            levels.push(vec![0u64; words]);
            if words == 1 {
                break;
            }
            size = words;
        }
        RankSet { levels }
    }

    pub(crate) fn insert(&mut self, mut element: usize) {
        for level in &mut self.levels {
            let word = &mut level[element >> 6];
            let was_empty = *word == 0;
            *word |= 1 << (element & 63);
            if !was_empty {
                return;
            }
            element >>= 6;
        }
    }

    pub(crate) fn remove(&mut self, mut element: usize) {
        for level in &mut self.levels {
            let word = &mut level[element >> 6];
            *word &= !(1 << (element & 63));
            if *word != 0 {
                return;
            }
            element >>= 6;
        }
    }

    /// The smallest element greater than `element`, if any.
    pub(crate) fn successor(&self, element: usize) -> Option<usize> {
        let mut position = element;
        for (depth, level) in self.levels.iter().enumerate() {
            let bit = position & 63;
            let above = if bit == 63 { 0 } else { level[position >> 6] & (!0u64 << (bit + 1)) };
            if above != 0 {
                let found = ((position >> 6) << 6) | above.trailing_zeros() as usize;
                return Some(self.lowest_below(depth, found));
            }
            position >>= 6;
        }
        None
    }

    /// The largest element smaller than `element`, if any.
    pub(crate) fn predecessor(&self, element: usize) -> Option<usize> {
        let mut position = element;
        for (depth, level) in self.levels.iter().enumerate() {
            let bit = position & 63;
            let below = level[position >> 6] & ((1u64 << bit) - 1);
            if below != 0 {
                let found = ((position >> 6) << 6) | (63 - below.leading_zeros() as usize);
                return Some(self.highest_below(depth, found));
            }
            position >>= 6;
        }
        None
    }

    /// Descends from word-index `index` at `depth` to the smallest element under it.
    fn lowest_below(&self, depth: usize, mut index: usize) -> usize {
        for level in self.levels[..depth].iter().rev() {
            index = (index << 6) | level[index].trailing_zeros() as usize;
        }
        index
    }

    /// Descends from word-index `index` at `depth` to the largest element under it.
    fn highest_below(&self, depth: usize, mut index: usize) -> usize {
        for level in self.levels[..depth].iter().rev() {
            index = (index << 6) | (63 - level[index].leading_zeros() as usize);
        }
        index
    }
}

#[cfg(test)]
mod tests {
    use super::RankSet;
    use std::collections::BTreeSet;

    /// Random inserts and removals, every query checked against a `BTreeSet`.
    #[test]
    fn agrees_with_a_btree_set() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for capacity in [1usize, 63, 64, 65, 4096, 4097, 300_000] {
            let mut set = RankSet::new(capacity);
            let mut reference = BTreeSet::new();
            for _ in 0..3000 {
                let element = (next() % capacity as u64) as usize;
                if next() % 3 == 0 {
                    set.remove(element);
                    reference.remove(&element);
                } else {
                    set.insert(element);
                    reference.insert(element);
                }
                let probe = (next() % capacity as u64) as usize;
                assert_eq!(set.successor(probe), reference.range(probe + 1..).next().copied());
                assert_eq!(set.predecessor(probe), reference.range(..probe).next_back().copied());
            }
        }
    }
}
