//! Path similarity in the hypernym/hyponym taxonomy, with the conventions of NLTK's
//! `Synset.path_similarity` (WordNet 3.0), so that numbers match what the paper's authors computed:
//!
//! - The distance between two synsets is the smallest `d₁ + d₂` over their *common ancestors*,
//!   where `dᵢ` is the number of hypernym edges (`@` and instance `@i` alike) from synset `i` up
//!   to that ancestor (a synset is its own ancestor at 0). A path that goes down and up again
//!   through a common hyponym does not count.
//! - Identical synsets are at distance 0, so the similarity `1/(d+1)` is 1 on the diagonal.
//! - Verbs form many separate taxonomies, so whenever either synset is a verb a virtual root is
//!   placed one edge above each synset's farthest ancestor (NLTK's `simulate_root`, on by default
//!   for path similarity). WordNet 3.0's nouns all descend from entity.n.01 and get no root.
//! - With no common ancestor (two nouns in a database with several noun roots) there is no path:
//!   `None`, as NLTK returns. The label matrix writes that as similarity 0, the limit d → ∞.
//! - The lowest common hypernyms are NLTK's: the common ancestors of greatest *maximum* depth,
//!   sorted by name.

use std::collections::{HashMap, VecDeque};

use crate::database::WordNet;
use crate::error::WordNetError;
use crate::synset_id::{Pos, SynsetId};

/// A node on a hypernym path: a synset, or the virtual root that joins verb taxonomies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PathNode {
    Synset(SynsetId),
    VirtualRoot,
}

/// The shortest path between two synsets, through the common ancestor where it turns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HypernymPath {
    /// From the first synset up to the turning point, both included.
    pub up: Vec<PathNode>,
    /// From the turning point down to the second synset, both included.
    pub down: Vec<PathNode>,
}

impl HypernymPath {
    /// Number of edges.
    pub fn distance(&self) -> usize {
        self.up.len() + self.down.len() - 2
    }

    /// The common ancestor where the path turns.
    pub fn turning_point(&self) -> PathNode {
        *self.up.last().expect("a path has at least one node")
    }

    /// NLTK's path similarity of the two ends, `1/(distance+1)`.
    pub fn similarity(&self) -> f64 {
        1.0 / (self.distance() as f64 + 1.0)
    }
}

/// Every ancestor of one synset with its hypernym distance and the node it was reached from
/// (breadth first, so the first visit is the shortest). The synset itself is at distance 0.
#[derive(Debug)]
struct Ancestors {
    of: SynsetId,
    reached: HashMap<SynsetId, (u32, Option<SynsetId>)>,
    /// The farthest ancestor (first found), under which the virtual root hangs.
    farthest: (SynsetId, u32),
}

impl Ancestors {
    fn needs_root(&self) -> bool {
        self.of.pos == Pos::Verb
    }

    /// The nodes from the synset up to `ancestor`.
    fn path_to(&self, ancestor: SynsetId) -> Vec<PathNode> {
        let mut path = vec![PathNode::Synset(ancestor)];
        let mut at = ancestor;
        while let Some(&(_, Some(from))) = self.reached.get(&at) {
            path.push(PathNode::Synset(from));
            at = from;
        }
        path.reverse();
        path
    }
}

/// Where the shortest path between two synsets turns, and its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meeting {
    At(SynsetId, u32),
    Root(u32),
}

impl WordNet {
    /// `@` hypernyms of a synset, in database order.
    pub fn hypernyms(&self, id: SynsetId) -> Result<Vec<SynsetId>, WordNetError> {
        self.pointers(id, "@")
    }

    /// `@i` instance hypernyms of a synset (the class an instance belongs to).
    pub fn instance_hypernyms(&self, id: SynsetId) -> Result<Vec<SynsetId>, WordNetError> {
        self.pointers(id, "@i")
    }

    fn pointers(&self, id: SynsetId, wanted: &str) -> Result<Vec<SynsetId>, WordNetError> {
        let line = self.data_line(id)?;
        Ok(line.pointers.iter().filter(|(symbol, _)| *symbol == wanted).map(|&(_, target)| target).collect())
    }

    /// Both kinds of hypernym, `@` first, as NLTK walks them.
    pub(crate) fn all_hypernyms(&self, id: SynsetId) -> Result<Vec<SynsetId>, WordNetError> {
        let line = self.data_line(id)?;
        let of = |wanted: &'static str| {
            line.pointers.iter().filter(move |(symbol, _)| *symbol == wanted).map(|&(_, target)| target)
        };
        Ok(of("@").chain(of("@i")).collect())
    }

    fn ancestors(&self, id: SynsetId) -> Result<Ancestors, WordNetError> {
        let mut reached = HashMap::new();
        let mut farthest = (id, 0);
        let mut queue = VecDeque::from([(id, 0u32, None)]);
        while let Some((node, depth, from)) = queue.pop_front() {
            if reached.contains_key(&node) {
                continue;
            }
            reached.insert(node, (depth, from));
            if depth > farthest.1 {
                farthest = (node, depth);
            }
            for hypernym in self.all_hypernyms(node)? {
                queue.push_back((hypernym, depth + 1, Some(node)));
            }
        }
        Ok(Ancestors { of: id, reached, farthest })
    }

    /// Length of the longest hypernym path from `id` to a root (NLTK's `max_depth`).
    pub fn max_depth(&self, id: SynsetId) -> Result<u32, WordNetError> {
        self.max_depth_memo(id, &mut HashMap::new())
    }

    fn max_depth_memo(&self, id: SynsetId, memo: &mut HashMap<SynsetId, Option<u32>>) -> Result<u32, WordNetError> {
        match memo.get(&id) {
            Some(Some(depth)) => return Ok(*depth),
            // On a cycle (none in WordNet 3.0, but a database is input) stop climbing.
            Some(None) => return Ok(0),
            None => {}
        }
        memo.insert(id, None);
        let mut depth = 0;
        for hypernym in self.all_hypernyms(id)? {
            depth = depth.max(1 + self.max_depth_memo(hypernym, memo)?);
        }
        memo.insert(id, Some(depth));
        Ok(depth)
    }

    /// Where the shortest path turns. Among common ancestors at the same total distance, the
    /// deepest (by max depth) and then the lowest offset is taken, so the printed path is stable.
    fn meeting(&self, a: &Ancestors, b: &Ancestors) -> Result<Option<Meeting>, WordNetError> {
        let Some(distance) = pair_distance(a, b) else {
            return Ok(None);
        };
        if a.of == b.of {
            return Ok(Some(Meeting::At(a.of, 0)));
        }
        let ties = a.reached.iter().filter_map(|(node, &(d_a, _))| {
            b.reached.get(node).filter(|&&(d_b, _)| d_a + d_b == distance).map(|_| *node)
        });
        let mut memo = HashMap::new();
        let mut chosen: Option<(SynsetId, u32)> = None;
        for node in ties {
            let depth = self.max_depth_memo(node, &mut memo)?;
            if chosen.is_none_or(|(best, best_depth)| depth > best_depth || (depth == best_depth && node < best)) {
                chosen = Some((node, depth));
            }
        }
        // No real ancestor at that distance: the virtual root is strictly shorter.
        Ok(Some(match chosen {
            Some((node, _)) => Meeting::At(node, distance),
            None => Meeting::Root(distance),
        }))
    }

    /// NLTK's path distance: edges on the shortest path through a common ancestor, `None` when
    /// there is no common ancestor. A virtual root joins the taxonomies when either is a verb.
    pub fn shortest_path_distance(&self, a: SynsetId, b: SynsetId) -> Result<Option<u32>, WordNetError> {
        Ok(pair_distance(&self.ancestors(a)?, &self.ancestors(b)?))
    }

    /// NLTK's `path_similarity`: `1/(d+1)` for the path distance `d`; `None` with no path.
    pub fn path_similarity(&self, a: SynsetId, b: SynsetId) -> Result<Option<f64>, WordNetError> {
        Ok(self.shortest_path_distance(a, b)?.map(|d| 1.0 / (f64::from(d) + 1.0)))
    }

    /// The shortest path itself, up from `a` to the turning point and down to `b`.
    pub fn shortest_path(&self, a: SynsetId, b: SynsetId) -> Result<Option<HypernymPath>, WordNetError> {
        let (from_a, from_b) = (self.ancestors(a)?, self.ancestors(b)?);
        let Some(meeting) = self.meeting(&from_a, &from_b)? else {
            return Ok(None);
        };
        let (up, mut down) = match meeting {
            Meeting::At(node, _) => (from_a.path_to(node), from_b.path_to(node)),
            Meeting::Root(_) => {
                let mut up = from_a.path_to(from_a.farthest.0);
                let mut down = from_b.path_to(from_b.farthest.0);
                up.push(PathNode::VirtualRoot);
                down.push(PathNode::VirtualRoot);
                (up, down)
            }
        };
        down.reverse();
        Ok(Some(HypernymPath { up, down }))
    }

    /// NLTK's `lowest_common_hypernyms` (without a virtual root): the common ancestors (a synset
    /// counts as its own) of greatest maximum depth, sorted by name. Empty with none in common.
    pub fn lowest_common_hypernyms(&self, a: SynsetId, b: SynsetId) -> Result<Vec<SynsetId>, WordNetError> {
        let (from_a, from_b) = (self.ancestors(a)?, self.ancestors(b)?);
        let mut memo = HashMap::new();
        let mut deepest: Vec<SynsetId> = Vec::new();
        let mut deepest_depth = 0;
        for node in from_a.reached.keys().filter(|node| from_b.reached.contains_key(node)) {
            let depth = self.max_depth_memo(*node, &mut memo)?;
            if deepest.is_empty() || depth > deepest_depth {
                deepest = vec![*node];
                deepest_depth = depth;
            } else if depth == deepest_depth {
                deepest.push(*node);
            }
        }
        let mut named = deepest.into_iter().map(|id| Ok((self.name(id)?, id))).collect::<Result<Vec<_>, _>>()?;
        named.sort();
        Ok(named.into_iter().map(|(_, id)| id).collect())
    }

    /// The path-similarity matrix of a list of synsets (labels in label order): symmetric, 1 on
    /// the diagonal, 0 where two synsets have no path (never for WordNet 3.0 nouns). Each
    /// synset's ancestors are collected once, so 120 labels take milliseconds.
    pub fn similarity_matrix(&self, ids: &[SynsetId]) -> Result<Vec<Vec<f64>>, WordNetError> {
        let mut ancestors: HashMap<SynsetId, Ancestors> = HashMap::new();
        for &id in ids {
            if let std::collections::hash_map::Entry::Vacant(slot) = ancestors.entry(id) {
                slot.insert(self.ancestors(id)?);
            }
        }
        let n = ids.len();
        let mut matrix = vec![vec![0.0; n]; n];
        for i in 0..n {
            matrix[i][i] = 1.0;
            for j in i + 1..n {
                let similarity = match pair_distance(&ancestors[&ids[i]], &ancestors[&ids[j]]) {
                    Some(d) => 1.0 / (f64::from(d) + 1.0),
                    None => 0.0,
                };
                matrix[i][j] = similarity;
                matrix[j][i] = similarity;
            }
        }
        Ok(matrix)
    }
}

/// NLTK's shortest path distance from two ancestor maps: the smallest `d_a + d_b` over common
/// ancestors, or through the virtual root when either synset is a verb (the root sits one edge
/// above each synset's farthest ancestor). `None` when neither exists.
fn pair_distance(a: &Ancestors, b: &Ancestors) -> Option<u32> {
    if a.of == b.of {
        return Some(0);
    }
    let (small, large) = if a.reached.len() <= b.reached.len() { (a, b) } else { (b, a) };
    let through_ancestor = small
        .reached
        .iter()
        .filter_map(|(node, &(d_small, _))| large.reached.get(node).map(|&(d_large, _)| d_small + d_large))
        .min();
    let through_root = (a.needs_root() || b.needs_root()).then(|| a.farthest.1 + 1 + b.farthest.1 + 1);
    match (through_ancestor, through_root) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

/// Mean of a similarity matrix over the label pairs c < k (its upper triangle); `None` with
/// fewer than two labels.
pub fn mean_pair_similarity(similarity: &[Vec<f64>]) -> Option<f64> {
    let n = similarity.len();
    if n < 2 {
        return None;
    }
    let sum: f64 = (0..n).flat_map(|c| (c + 1..n).map(move |k| (c, k))).map(|(c, k)| similarity[c][k]).sum();
    Some(sum / (n * (n - 1) / 2) as f64)
}

/// The paper's WordNet pair weights (section 3.3): the path similarity of each label pair divided
/// by the mean over all pairs c < k, so the mean pair weight is 1 and the weighted score ranges
/// like the plain one. The diagonal is scaled too; it is not a pair and scores ignore it.
pub fn normalized_pair_weights(similarity: &[Vec<f64>]) -> Result<Vec<Vec<f64>>, WordNetError> {
    if similarity.iter().any(|row| row.len() != similarity.len()) {
        return Err(WordNetError::NoPairs("a square similarity matrix"));
    }
    let mean = mean_pair_similarity(similarity).ok_or(WordNetError::NoPairs("at least two labels"))?;
    if mean <= 0.0 || !mean.is_finite() {
        return Err(WordNetError::NoPairs("a positive mean path similarity; no two labels are related"));
    }
    Ok(similarity.iter().map(|row| row.iter().map(|s| s / mean).collect()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::tests::TinyDb;

    #[test]
    fn distances_on_a_hand_written_taxonomy() {
        let tiny = TinyDb::write("distances");
        let wn = WordNet::open(Some(&tiny.dir)).unwrap();
        let id = |key| tiny.id(key);
        // dog → canine → animal ← feline ← cat: 4 edges.
        assert_eq!(wn.shortest_path_distance(id("dog"), id("cat")).unwrap(), Some(4));
        assert_eq!(wn.path_similarity(id("dog"), id("cat")).unwrap(), Some(0.2));
        assert_eq!(wn.path_similarity(id("cat"), id("dog")).unwrap(), Some(0.2));
        assert_eq!(wn.path_similarity(id("dog"), id("dog")).unwrap(), Some(1.0));
        // The toy dog has two parents; the shorter route (through canine) wins: 2 edges.
        assert_eq!(wn.shortest_path_distance(id("toydog"), id("dog")).unwrap(), Some(2));
        // Through plaything: toydog → plaything → thing; 2 edges, not via canine (4).
        assert_eq!(wn.shortest_path_distance(id("toydog"), id("thing")).unwrap(), Some(2));
        // Rex reaches dog only by its instance hypernym, which counts as an edge.
        assert_eq!(wn.shortest_path_distance(id("rex"), id("cat")).unwrap(), Some(5));
        // A second noun root: no common ancestor, no path, as NLTK returns None.
        assert_eq!(wn.path_similarity(id("island"), id("dog")).unwrap(), None);
        // An ancestor is its own common hypernym: dog → canine → animal is 2 edges.
        assert_eq!(wn.shortest_path_distance(id("dog"), id("animal")).unwrap(), Some(2));
    }

    #[test]
    fn paths_and_lowest_common_hypernyms_on_a_hand_written_taxonomy() {
        let tiny = TinyDb::write("paths");
        let wn = WordNet::open(Some(&tiny.dir)).unwrap();
        let node = |key| PathNode::Synset(tiny.id(key));
        let path = wn.shortest_path(tiny.id("rex"), tiny.id("cat")).unwrap().unwrap();
        assert_eq!(path.up, [node("rex"), node("dog"), node("canine"), node("animal")]);
        assert_eq!(path.down, [node("animal"), node("feline"), node("cat")]);
        assert_eq!(path.turning_point(), node("animal"));
        assert_eq!(path.distance(), 5);
        assert!((path.similarity() - 1.0 / 6.0).abs() < 1e-15);

        let same = wn.shortest_path(tiny.id("dog"), tiny.id("dog")).unwrap().unwrap();
        assert_eq!((same.up.clone(), same.down.clone(), same.distance()), (vec![node("dog")], vec![node("dog")], 0));

        assert_eq!(wn.lowest_common_hypernyms(tiny.id("dog"), tiny.id("cat")).unwrap(), [tiny.id("animal")]);
        // The toy dog's common ancestors with dog are canine (depth 2), animal and entity.
        assert_eq!(wn.lowest_common_hypernyms(tiny.id("toydog"), tiny.id("dog")).unwrap(), [tiny.id("canine")]);
        assert_eq!(wn.lowest_common_hypernyms(tiny.id("cat"), tiny.id("feline")).unwrap(), [tiny.id("feline")]);
        assert!(wn.lowest_common_hypernyms(tiny.id("island"), tiny.id("cat")).unwrap().is_empty());
        assert_eq!(wn.max_depth(tiny.id("toydog")).unwrap(), 3);
        assert_eq!(wn.max_depth(tiny.id("rex")).unwrap(), 4);
    }

    #[test]
    fn matrix_is_symmetric_with_unit_diagonal_and_weights_average_one() {
        let tiny = TinyDb::write("matrix");
        let wn = WordNet::open(Some(&tiny.dir)).unwrap();
        let ids: Vec<_> = ["dog", "cat", "plaything", "island", "dog"].iter().map(|k| tiny.id(k)).collect();
        let m = wn.similarity_matrix(&ids).unwrap();
        for (i, row) in m.iter().enumerate() {
            assert_eq!(row[i], 1.0);
            for (j, value) in row.iter().enumerate() {
                assert_eq!(*value, m[j][i]);
            }
        }
        assert_eq!(m[0][1], 0.2);
        // dog → canine → animal → entity ← thing ← plaything: 5 edges.
        assert_eq!(m[0][2], 1.0 / 6.0);
        assert_eq!(m[0][3], 0.0, "no path is similarity 0");
        assert_eq!(m[0][4], 1.0, "two labels on one synset are identical");

        let weights = normalized_pair_weights(&m).unwrap();
        assert!((mean_pair_similarity(&weights).unwrap() - 1.0).abs() < 1e-12);
        let mean = mean_pair_similarity(&m).unwrap();
        assert!((weights[0][1] - 0.2 / mean).abs() < 1e-15);
    }

    #[test]
    fn pair_weights_reject_degenerate_matrices() {
        assert!(normalized_pair_weights(&[vec![1.0]]).unwrap_err().to_string().contains("at least two labels"));
        let unrelated = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
        assert!(normalized_pair_weights(&unrelated).unwrap_err().to_string().contains("positive mean"));
        assert!(normalized_pair_weights(&[vec![1.0, 0.5], vec![0.5]]).is_err());
        assert_eq!(
            mean_pair_similarity(&[vec![1.0, 0.5, 0.25], vec![0.5, 1.0, 0.0], vec![0.25, 0.0, 1.0]]),
            Some(0.25)
        );
    }
}
