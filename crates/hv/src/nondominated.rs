//! The weakly non-dominated rows of a set in any dimension, with duplicates grouped: what the
//! five-and-more-objective sweep and the contribution routines start from. O(n·m) for a front of
//! size m, after a lexicographic sort that puts every point after all of its dominators.

use crate::order::{key, weakly_dominates};

/// The non-dominated rows, in lexicographic order, and for each whether it occurs more than once.
pub(crate) fn nondominated_rows(data: &[f64], dimension: usize) -> (Vec<usize>, Vec<bool>) {
    let mut order: Vec<(Vec<u64>, usize)> =
        data.chunks_exact(dimension).enumerate().map(|(i, p)| (p.iter().map(|&v| key(v)).collect(), i)).collect();
    order.sort_unstable();
    let mut kept: Vec<usize> = Vec::new();
    let mut duplicated: Vec<bool> = Vec::new();
    for (_, i) in order {
        let p = &data[i * dimension..(i + 1) * dimension];
        let dominator = kept.iter().position(|&k| weakly_dominates(&data[k * dimension..(k + 1) * dimension], p));
        match dominator {
            None => {
                kept.push(i);
                duplicated.push(false);
            }
            Some(position) => {
                let k = kept[position];
                if &data[k * dimension..(k + 1) * dimension] == p {
                    duplicated[position] = true;
                }
            }
        }
    }
    (kept, duplicated)
}
