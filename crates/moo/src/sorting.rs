//! Non-dominated sorting: every point's Pareto rank (0 = not dominated by any other point), and
//! the fronts those ranks define. Minimisation throughout; see [`crate::Direction`] for the rest.
//!
//! All algorithms first sort the points lexicographically, so that every point that can dominate
//! a point comes before it, and then give each point, in that order, the first front none of whose
//! members dominates it (fronts are nested: a point dominated by a member of front k is also
//! dominated by a member of every earlier front, so that first front is found by binary search).
//! They differ in how "is this point dominated by front k" is answered:
//!
//! * 2 objectives — Jensen (2003): front k is summarised by the smallest second coordinate of its
//!   members, O(N log N) in all.
//! * 3 objectives — each front keeps the staircase of its members in the last two coordinates in an
//!   ordered map; a query and an insertion are O(log N), so O(N log N log K) for K fronts.
//! * 4 and more — Efficient Non-domination Level Update with binary search (ENS-BS, Zhang et al.
//!   2015). Small fronts are stored column-wise in blocks and scanned without branches (vectorised;
//!   AVX2 when the CPU has it). A front larger than twice the bitset length is tested instead by
//!   ANDing its membership bitset with stored bitsets of "no larger in objective j" prefixes, so a
//!   single big front costs O(M N² / 64) rather than O(M N²).
//!
//! Identical points are never dominating each other and always share a rank. Coordinates are
//! compared through an order-preserving integer key, so -0.0 and 0.0 are the same value and NaN is
//! refused up front.

use std::collections::BTreeMap;

use crate::dominance::Direction;

/// Why a set of points cannot be sorted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SortError {
    #[error(
        "point {index} has {found} objective value(s) but point 0 has {expected}; every point needs the same number"
    )]
    Ragged { index: usize, expected: usize, found: usize },
    #[error("point {index}, objective {objective} is NaN; NaN has no place in a dominance order (drop the point, or report its evaluation as failed)")]
    NotANumber { index: usize, objective: usize },
    #[error("{len} values do not split into points of {dimension} objective(s)")]
    FlatLength { len: usize, dimension: usize },
    #[error("{found} direction(s) given for points of {expected} objective(s); give one per objective")]
    Directions { expected: usize, found: usize },
    #[error("points need at least one objective")]
    NoObjectives,
}

/// Pareto rank of every point (0-based, minimisation; identical points share a rank).
pub fn pareto_ranks<R: AsRef<[f64]>>(points: &[R]) -> Result<Vec<usize>, SortError> {
    let (flat, dimension) = flatten(points, None)?;
    Ok(ranks_unchecked(&flat, dimension))
}

/// Pareto rank of every point, each objective minimised or maximised as `directions` says.
pub fn pareto_ranks_directed<R: AsRef<[f64]>>(points: &[R], directions: &[Direction]) -> Result<Vec<usize>, SortError> {
    let (flat, dimension) = flatten(points, Some(directions))?;
    Ok(ranks_unchecked(&flat, dimension))
}

/// Pareto rank of every point of a row-major matrix with `dimension` columns (minimisation).
pub fn pareto_ranks_flat(values: &[f64], dimension: usize) -> Result<Vec<usize>, SortError> {
    if dimension == 0 {
        return Err(SortError::NoObjectives);
    }
    if values.len() % dimension != 0 {
        return Err(SortError::FlatLength { len: values.len(), dimension });
    }
    if let Some(position) = values.iter().position(|v| v.is_nan()) {
        return Err(SortError::NotANumber { index: position / dimension, objective: position % dimension });
    }
    Ok(ranks_unchecked(values, dimension))
}

/// The fronts (lists of point indices, ascending) that a rank vector defines, best first.
pub fn fronts_from_ranks(ranks: &[usize]) -> Vec<Vec<usize>> {
    let count = ranks.iter().max().map_or(0, |&r| r + 1);
    let mut fronts = vec![Vec::new(); count];
    for (index, &rank) in ranks.iter().enumerate() {
        fronts[rank].push(index);
    }
    fronts
}

/// Non-dominated sorting: the fronts of the points, best first (minimisation).
pub fn non_dominated_sort<R: AsRef<[f64]>>(points: &[R]) -> Result<Vec<Vec<usize>>, SortError> {
    Ok(fronts_from_ranks(&pareto_ranks(points)?))
}

/// Indices of the points no other point dominates, each objective minimised or maximised as
/// `directions` says, ascending; identical points are all kept. The one Pareto filter of the
/// project: the report's front, kept models, early stopping and the phylogeny use it.
pub fn non_dominated<R: AsRef<[f64]>>(points: &[R], directions: &[Direction]) -> Result<Vec<usize>, SortError> {
    let ranks = pareto_ranks_directed(points, directions)?;
    Ok(ranks.into_iter().enumerate().filter_map(|(i, r)| (r == 0).then_some(i)).collect())
}

/// Copies rows into one row-major buffer, negating maximised objectives, checking shape and NaN.
fn flatten<R: AsRef<[f64]>>(points: &[R], directions: Option<&[Direction]>) -> Result<(Vec<f64>, usize), SortError> {
    let Some(first) = points.first() else {
        return Ok((Vec::new(), directions.map_or(1, |d| d.len().max(1))));
    };
    let dimension = first.as_ref().len();
    if dimension == 0 {
        return Err(SortError::NoObjectives);
    }
    if let Some(directions) = directions {
        if directions.len() != dimension {
            return Err(SortError::Directions { expected: dimension, found: directions.len() });
        }
    }
    let mut flat = Vec::with_capacity(points.len() * dimension);
    for (index, point) in points.iter().enumerate() {
        let point = point.as_ref();
        if point.len() != dimension {
            return Err(SortError::Ragged { index, expected: dimension, found: point.len() });
        }
        for (objective, &value) in point.iter().enumerate() {
            if value.is_nan() {
                return Err(SortError::NotANumber { index, objective });
            }
            let value = match directions {
                Some(directions) => directions[objective].to_minimisation(value),
                None => value,
            };
            flat.push(value);
        }
    }
    Ok((flat, dimension))
}

/// An integer with the order of the float (NaN excluded); -0.0 and 0.0 map to the same key.
#[inline]
fn key(value: f64) -> i64 {
    let bits = (value + 0.0).to_bits() as i64;
    if bits < 0 {
        bits ^ i64::MAX
    } else {
        bits
    }
}

/// Ranks of validated, NaN-free, minimisation points.
fn ranks_unchecked(values: &[f64], dimension: usize) -> Vec<usize> {
    let n = values.len() / dimension;
    let ranks: Vec<u32> = match (n, dimension) {
        (0, _) => Vec::new(),
        (1, _) => vec![0],
        (_, 1) => ranks_1d(values),
        (_, 2) => ranks_2d(values),
        (_, 3) => ranks_3d(values),
        _ => ranks_ens(values, dimension),
    };
    ranks.into_iter().map(|r| r as usize).collect()
}

/// One objective: the rank is the number of distinct smaller values.
fn ranks_1d(values: &[f64]) -> Vec<u32> {
    let mut order: Vec<(i64, u32)> = values.iter().enumerate().map(|(i, &v)| (key(v), i as u32)).collect();
    order.sort_unstable();
    let mut ranks = vec![0u32; values.len()];
    let mut rank = 0u32;
    for (position, &(k, index)) in order.iter().enumerate() {
        if position > 0 && order[position - 1].0 != k {
            rank += 1;
        }
        ranks[index as usize] = rank;
    }
    ranks
}

/// Two objectives (Jensen 2003). In lexicographic order, the members of a front have strictly
/// falling second coordinates, so the last member added summarises the front: a new point is
/// dominated by front k exactly when that member's second coordinate is not larger than its own.
/// Those summaries rise with k, so the point's front is found by binary search.
fn ranks_2d(values: &[f64]) -> Vec<u32> {
    let mut order: Vec<(i64, i64, u32)> =
        values.chunks_exact(2).enumerate().map(|(i, p)| (key(p[0]), key(p[1]), i as u32)).collect();
    order.sort_unstable();
    let mut ranks = vec![0u32; order.len()];
    let mut front_min_second: Vec<i64> = Vec::new();
    let mut previous: Option<(i64, i64, u32)> = None;
    for &(a, b, index) in &order {
        let rank = match previous {
            Some((pa, pb, rank)) if pa == a && pb == b => rank,
            _ => {
                let front = front_min_second.partition_point(|&m| m <= b);
                if front == front_min_second.len() {
                    front_min_second.push(b);
                } else {
                    front_min_second[front] = b;
                }
                front as u32
            }
        };
        ranks[index as usize] = rank;
        previous = Some((a, b, rank));
    }
    ranks
}

/// Three objectives. Each front keeps, in an ordered map from second to third coordinate, the
/// staircase of its members' last two coordinates (second rising, third falling). Every member
/// came earlier in lexicographic order, so it dominates a new point exactly when it is no larger
/// in the last two coordinates — which the staircase answers with one predecessor lookup.
fn ranks_3d(values: &[f64]) -> Vec<u32> {
    let mut order: Vec<(i64, i64, i64, u32)> =
        values.chunks_exact(3).enumerate().map(|(i, p)| (key(p[0]), key(p[1]), key(p[2]), i as u32)).collect();
    order.sort_unstable();
    let mut ranks = vec![0u32; order.len()];
    let mut fronts: Vec<BTreeMap<i64, i64>> = Vec::new();
    let dominated = |front: &BTreeMap<i64, i64>, b: i64, c: i64| {
        front.range(..=b).next_back().is_some_and(|(_, &third)| third <= c)
    };
    let mut previous: Option<(i64, i64, i64, u32)> = None;
    for &(a, b, c, index) in &order {
        let rank = match previous {
            Some((pa, pb, pc, rank)) if pa == a && pb == b && pc == c => rank,
            _ => {
                let (mut low, mut high) = (0, fronts.len());
                while low < high {
                    let mid = low + (high - low) / 2;
                    if dominated(&fronts[mid], b, c) {
                        low = mid + 1;
                    } else {
                        high = mid;
                    }
                }
                if low == fronts.len() {
                    fronts.push(BTreeMap::new());
                }
                let front = &mut fronts[low];
                // Drop the steps the new point covers: they start at the first key >= b.
                while let Some((&second, &third)) = front.range(b..).next() {
                    if third < c {
                        break;
                    }
                    front.remove(&second);
                }
                front.insert(b, c);
                low as u32
            }
        };
        ranks[index as usize] = rank;
        previous = Some((a, b, c, rank));
    }
    ranks
}

/// Members compared per block in the column-wise front layout of [`FrontBlocks`].
const BLOCK: usize = 16;

/// The members of one front, objectives 1.. (objective 0 needs no test: every member came
/// earlier in lexicographic order), stored block by block: for each block of [`BLOCK`] members,
/// one run of [`BLOCK`] values per objective. Unused slots hold NaN, which compares false.
struct FrontBlocks {
    columns: usize,
    len: usize,
    data: Vec<f64>,
}

impl FrontBlocks {
    fn new(columns: usize) -> Self {
        FrontBlocks { columns, len: 0, data: Vec::new() }
    }

    fn push(&mut self, tail: &[f64]) {
        let slot = self.len % BLOCK;
        if slot == 0 {
            self.data.resize(self.data.len() + self.columns * BLOCK, f64::NAN);
        }
        let base = (self.len / BLOCK) * self.columns * BLOCK;
        for (j, &v) in tail.iter().enumerate() {
            self.data[base + j * BLOCK + slot] = v;
        }
        self.len += 1;
    }

    /// Whether some member is no larger than `tail` in every column.
    fn covers(&self, tail: &[f64]) -> bool {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { self.covers_avx2(tail) };
        }
        self.covers_portable(tail)
    }

    /// [`FrontBlocks::covers`] compiled for AVX2: four comparisons per instruction instead of two.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn covers_avx2(&self, tail: &[f64]) -> bool {
        self.covers_portable(tail)
    }

    #[inline(always)]
    fn covers_portable(&self, tail: &[f64]) -> bool {
        self.data.chunks_exact(self.columns * BLOCK).any(|block| {
            let mut hit = [true; BLOCK];
            for (column, &bound) in block.chunks_exact(BLOCK).zip(tail) {
                for (h, &v) in hit.iter_mut().zip(column) {
                    *h &= v <= bound;
                }
            }
            hit.iter().any(|&h| h)
        })
    }
}

/// One front during ENS-BS: its members column-wise for scanning, and, once it is large, as a
/// bitset over lexicographic positions for [`PrefixBitsets`] queries.
struct EnsFront {
    blocks: FrontBlocks,
    positions: Vec<u32>,
    bits: Option<Vec<u64>>,
    first_word: usize,
    last_word: usize,
}

/// For each objective j ≥ 1, which points have a value no larger than a given one, as bitsets over
/// lexicographic positions. Storing one bitset per point would take N²/8 bytes per objective, so
/// only every `stride`-th prefix of the points sorted by objective j is stored; a query ANDs those
/// stored prefixes with a front's bitset and checks the few points between the stored prefix and
/// the exact one directly. A test then costs O(M N / 64) instead of O(M × front size).
struct PrefixBitsets {
    stride: usize,
    words: usize,
    /// Per objective: positions sorted by that objective.
    sorted: Vec<Vec<u32>>,
    /// Per objective, per position: how many points have a value no larger.
    upper: Vec<Vec<u32>>,
    /// Per objective: stored prefixes `c * stride`, each `words` long.
    prefixes: Vec<Vec<u64>>,
}

/// Memory the stored prefixes may take; it sets their stride.
const PREFIX_BUDGET_BYTES: usize = 48 << 20;

impl PrefixBitsets {
    fn new(keys: &[i64], n: usize, dimension: usize) -> Self {
        let words = n.div_ceil(64);
        let objectives = dimension - 1;
        let mut stride = 8;
        while objectives * (n / stride + 1) * words * 8 > PREFIX_BUDGET_BYTES {
            stride *= 2;
        }
        let mut sorted = Vec::with_capacity(objectives);
        let mut upper = Vec::with_capacity(objectives);
        let mut prefixes = Vec::with_capacity(objectives);
        for j in 1..dimension {
            let column = |t: u32| keys[t as usize * dimension + j];
            let mut by_value: Vec<u32> = (0..n as u32).collect();
            by_value.sort_unstable_by_key(|&t| (column(t), t));
            let mut bounds = vec![0u32; n];
            let mut start = 0;
            while start < n {
                let mut end = start + 1;
                while end < n && column(by_value[end]) == column(by_value[start]) {
                    end += 1;
                }
                for &t in &by_value[start..end] {
                    bounds[t as usize] = end as u32;
                }
                start = end;
            }
            let mut stored = vec![0u64; (n / stride + 1) * words];
            let mut current = vec![0u64; words];
            for (rank, &t) in by_value.iter().enumerate() {
                if rank % stride == 0 {
                    let c = rank / stride;
                    stored[c * words..(c + 1) * words].copy_from_slice(&current);
                }
                current[t as usize / 64] |= 1 << (t % 64);
            }
            if n % stride == 0 {
                let c = n / stride;
                stored[c * words..(c + 1) * words].copy_from_slice(&current);
            }
            sorted.push(by_value);
            upper.push(bounds);
            prefixes.push(stored);
        }
        PrefixBitsets { stride, words, sorted, upper, prefixes }
    }

    /// Whether a member of `front` (rank `rank`) is no larger than the point at `position` in
    /// every objective; `weakly_covers(s)` tests one earlier point `s` exactly.
    fn front_covers(
        &self,
        front: &EnsFront,
        bits: &[u64],
        position: usize,
        rank: u32,
        ranks: &[u32],
        weakly_covers: impl Fn(usize) -> bool,
    ) -> bool {
        let words = self.words;
        let stored: Vec<&[u64]> = (0..self.sorted.len())
            .map(|j| {
                let c = self.upper[j][position] as usize / self.stride;
                &self.prefixes[j][c * words..(c + 1) * words]
            })
            .collect();
        let mut w = front.first_word;
        while w <= front.last_word {
            let end = (w + 8).min(front.last_word + 1);
            let mut acc = [0u64; 8];
            acc[..end - w].copy_from_slice(&bits[w..end]);
            for prefix in &stored {
                for (a, &p) in acc.iter_mut().zip(&prefix[w..end]) {
                    *a &= p;
                }
            }
            if acc.iter().any(|&a| a != 0) {
                return true;
            }
            w = end;
        }
        // Points no larger in objective j that the stored prefix leaves out.
        (0..self.sorted.len()).any(|j| {
            let exact = self.upper[j][position] as usize;
            let from = exact / self.stride * self.stride;
            self.sorted[j][from..exact].iter().any(|&s| ranks[s as usize] == rank && weakly_covers(s as usize))
        })
    }
}

/// Four or more objectives: ENS-BS. Small fronts are scanned column-wise; a front larger than the
/// bitset length is tested through [`PrefixBitsets`] instead, which bounds the worst case (one big
/// front) by O(M N² / 64).
fn ranks_ens(values: &[f64], dimension: usize) -> Vec<u32> {
    let words = (values.len() / dimension).div_ceil(64);
    ranks_ens_with(values, dimension, (2 * words).max(64))
}

/// ENS-BS where fronts with more than `large_front` members use the bitsets.
fn ranks_ens_with(values: &[f64], dimension: usize, large_front: usize) -> Vec<u32> {
    let n = values.len() / dimension;
    let mut order: Vec<u32> = (0..n as u32).collect();
    let keys: Vec<i64> = values.iter().map(|&v| key(v)).collect();
    {
        let row = |i: u32| &keys[i as usize * dimension..(i as usize + 1) * dimension];
        order.sort_unstable_by(|&x, &y| row(x).cmp(row(y)));
    }
    // Everything below works on lexicographic positions.
    let mut sorted_keys = Vec::with_capacity(keys.len());
    let mut sorted_values = Vec::with_capacity(values.len());
    for &i in &order {
        let i = i as usize;
        sorted_keys.extend_from_slice(&keys[i * dimension..(i + 1) * dimension]);
        sorted_values.extend_from_slice(&values[i * dimension..(i + 1) * dimension]);
    }
    drop(keys);
    let key_row = |t: usize| &sorted_keys[t * dimension..(t + 1) * dimension];
    let words = n.div_ceil(64);
    let mut prefix_bitsets: Option<PrefixBitsets> = None;
    let mut rank_at = vec![u32::MAX; n];
    let mut fronts: Vec<EnsFront> = Vec::new();
    for t in 0..n {
        if t > 0 && key_row(t - 1) == key_row(t) {
            rank_at[t] = rank_at[t - 1];
            continue;
        }
        let tail = &sorted_values[t * dimension + 1..(t + 1) * dimension];
        let weakly_covers = |s: usize| key_row(s)[1..].iter().zip(&key_row(t)[1..]).all(|(a, b)| a <= b);
        let (mut low, mut high) = (0, fronts.len());
        while low < high {
            let mid = low + (high - low) / 2;
            let front = &fronts[mid];
            let covered = match (&front.bits, &prefix_bitsets) {
                (Some(bits), Some(index)) => index.front_covers(front, bits, t, mid as u32, &rank_at, weakly_covers),
                _ => front.blocks.covers(tail),
            };
            if covered {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        if low == fronts.len() {
            fronts.push(EnsFront {
                blocks: FrontBlocks::new(dimension - 1),
                positions: Vec::new(),
                bits: None,
                first_word: usize::MAX,
                last_word: 0,
            });
        }
        let front = &mut fronts[low];
        front.blocks.push(tail);
        front.positions.push(t as u32);
        front.first_word = front.first_word.min(t / 64);
        front.last_word = front.last_word.max(t / 64);
        if let Some(bits) = &mut front.bits {
            bits[t / 64] |= 1 << (t % 64);
        } else if front.positions.len() > large_front {
            prefix_bitsets.get_or_insert_with(|| PrefixBitsets::new(&sorted_keys, n, dimension));
            let mut bits = vec![0u64; words];
            for &s in &front.positions {
                bits[s as usize / 64] |= 1 << (s % 64);
            }
            front.bits = Some(bits);
        }
        rank_at[t] = low as u32;
    }
    let mut ranks = vec![0u32; n];
    for (t, &i) in order.iter().enumerate() {
        ranks[i as usize] = rank_at[t];
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_float_order() {
        let values = [f64::NEG_INFINITY, -1e300, -1.0, -1e-300, -0.0, 0.0, 1e-300, 1.0, 1e300, f64::INFINITY];
        for w in values.windows(2) {
            assert!(key(w[0]) <= key(w[1]), "{} vs {}", w[0], w[1]);
        }
        assert_eq!(key(-0.0), key(0.0));
    }

    /// Ranks by peeling: front r is what no remaining point dominates once fronts < r are gone.
    fn peeled_ranks(values: &[f64], d: usize) -> Vec<u32> {
        let points: Vec<&[f64]> = values.chunks_exact(d).collect();
        let mut ranks = vec![u32::MAX; points.len()];
        let mut rank = 0;
        while ranks.contains(&u32::MAX) {
            let front: Vec<usize> = (0..points.len())
                .filter(|&i| ranks[i] == u32::MAX)
                .filter(|&i| !(0..points.len()).any(|j| ranks[j] == u32::MAX && crate::dominates(points[j], points[i])))
                .collect();
            for i in front {
                ranks[i] = rank;
            }
            rank += 1;
        }
        ranks
    }

    #[test]
    fn the_bitset_path_agrees_with_peeling_even_with_ties() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for (n, d, levels) in [(300, 4, 4), (400, 5, 3), (257, 4, 1000), (200, 6, 2), (130, 4, 0)] {
            let values: Vec<f64> =
                (0..n * d).map(|_| if levels == 0 { -0.0 } else { rng.random_range(0..levels) as f64 }).collect();
            let expected = peeled_ranks(&values, d);
            for large_front in [0, 1, 5, 1_000_000] {
                assert_eq!(ranks_ens_with(&values, d, large_front), expected, "n={n} d={d} levels={levels}");
            }
        }
    }
}
