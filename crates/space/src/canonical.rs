//! The canonical form of a cell under isomorphism, and counts over the whole space.
//!
//! Two genomes can compute the same function: a skip edge makes two nodes carry the same tensor,
//! a node's inputs are summed in no particular order, and a zeroize edge contributes nothing.
//! NAS-Bench-201 reports 6,466 distinct topologies among its 15,625 cells, found by its
//! `CellStructure.to_unique_str(consider_zero=True)`. [`Genome::canonical`] builds the same
//! string, so deduplicating by it groups genomes exactly as NAS-Bench-201 does.
//!
//! The string is built node by node. Node 0 is `0`. Each incoming edge `j ← i` contributes a term:
//! - `#` (zero) if the edge is zeroize **or node i's whole string is exactly `#`**;
//! - node i's string itself if the edge is a skip connection;
//! - `(` node i's string `)@` op name otherwise (op names as in arch strings).
//!
//! Node j's string is its terms sorted (byte order) and joined with `+`; the form is node 3's string.
//!
//! The zero rule is NAS-Bench-201's literally, and it matters for the count. Only a node with a
//! single incoming edge (node 1) can have the string `#`: node 2 with both inputs dead reads `#+#`,
//! which is not recognised as zero, so `(#+#)@nor_conv_3x3` and `#` stay distinct even though both
//! carry zeros. With that rule the 15,625 genomes give 6,466 forms, NAS-Bench-201's figure; a rule
//! that also recognises `#+#` as zero would merge more and give 6,285. So 6,466 is a count of
//! *strings*, not of distinct functions, and it includes invalid genomes: the 341 genomes with no
//! input→output path fall into 5 forms of their own (`#+#+#`, `#+#+#+#` and `#+#+(#+#)@op` for the
//! three ops with weights or pooling), and the valid ones into the other 6,461. No form mixes valid
//! and invalid genomes, because every valid cell's form contains a term that reaches `0`.
//!
//! The form is an expression of node 3 in terms of node 0, so it is invariant under whatever leaves
//! that expression unchanged: where skip edges and zeroize edges sit, and the order of summed
//! inputs. It is *not* invariant under swapping nodes 1 and 2 (a true graph isomorphism when no
//! edge joins them): node 2 always has two terms and so keeps a `#` for its missing edge from node
//! 1, which node 1 never has. NAS-Bench-201 counts such pairs twice, and so does this form.

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::genome::{Genome, Op, EDGES, NUM_NODES};

/// The term NAS-Bench-201 writes for an edge that carries zeros.
const ZERO: &str = "#";

/// NAS-Bench-201's unique string of a cell: equal for isomorphic cells, printable, hashable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CanonicalForm(String);

impl CanonicalForm {
    /// The string, e.g. `(0)@nor_conv_3x3+(0)@nor_conv_3x3` for two parallel conv3x3 paths.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CanonicalForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Genome {
    /// The canonical form under isomorphism, as NAS-Bench-201's `to_unique_str(consider_zero=True)`
    /// builds it (see the [module docs](crate::canonical) for the exact rule and its quirk).
    ///
    /// ```
    /// use xnas_space::Genome;
    /// // A conv3x3 from the input to the output, directly or after a skip to node 1.
    /// let direct: Genome = "333033".parse().unwrap();
    /// let via_skip: Genome = "433303".parse().unwrap();
    /// assert_eq!(direct.canonical(), via_skip.canonical());
    /// assert_eq!(direct.canonical().as_str(), "#+#+(0)@nor_conv_3x3");
    /// ```
    pub fn canonical(&self) -> CanonicalForm {
        let mut nodes: Vec<String> = Vec::with_capacity(NUM_NODES);
        nodes.push("0".to_string());
        for to in 1..NUM_NODES {
            let mut terms: Vec<String> = EDGES
                .iter()
                .zip(self.0)
                .filter(|(edge, _)| edge.to == to)
                .map(|(edge, op)| {
                    let source = &nodes[edge.from];
                    match op {
                        Op::Zeroize => ZERO.to_string(),
                        _ if source == ZERO => ZERO.to_string(),
                        Op::Skip => source.clone(),
                        _ => format!("({source})@{}", op.nb201_name()),
                    }
                })
                .collect();
            // Byte order, as Python sorts these ASCII strings.
            terms.sort_unstable();
            nodes.push(terms.join("+"));
        }
        CanonicalForm(nodes.pop().expect("NUM_NODES > 0"))
    }
}

/// One genome per distinct canonical form among the *valid* genomes of `genomes`: the first of
/// each form in the order given. Over [`Genome::all`] these are the 6,461 valid cells of
/// NAS-Bench-201's 6,466 forms (the other 5 are the invalid cells'); over a restricted list,
/// the cells an exhaustive search of that list trains, each once.
pub fn distinct_valid_cells(genomes: impl IntoIterator<Item = Genome>) -> Vec<Genome> {
    let mut seen = HashSet::new();
    genomes.into_iter().filter(|g| g.is_valid() && seen.insert(g.canonical())).collect()
}

/// Counts over the whole space of 5^6 genomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpaceCounts {
    /// Every genome: 15,625.
    pub total: usize,
    /// Genomes with an input→output path over non-zeroize edges.
    pub valid: usize,
    /// Distinct canonical forms over all genomes, invalid ones included: NAS-Bench-201's 6,466.
    pub distinct: usize,
    /// Distinct canonical forms over valid genomes only.
    pub distinct_valid: usize,
}

impl SpaceCounts {
    /// Enumerates every genome (a few milliseconds).
    pub fn enumerate() -> SpaceCounts {
        let mut forms = HashSet::new();
        let mut valid_forms = HashSet::new();
        let (mut total, mut valid) = (0, 0);
        for genome in Genome::all() {
            total += 1;
            let form = genome.canonical();
            if genome.is_valid() {
                valid += 1;
                valid_forms.insert(form.clone());
            }
            forms.insert(form);
        }
        SpaceCounts { total, valid, distinct: forms.len(), distinct_valid: valid_forms.len() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn genome(s: &str) -> Genome {
        s.parse().unwrap()
    }

    #[test]
    fn distinct_count_is_nas_bench_201s() {
        // NAS-Bench-201 (Dong & Yang, ICLR 2020): 15,625 cells, 6,466 unique topologies.
        let counts = SpaceCounts::enumerate();
        assert_eq!(counts.total, 15_625);
        assert_eq!(counts.distinct, 6_466);
    }

    #[test]
    fn invalid_genomes_fall_into_five_hand_derived_forms() {
        // With no input→output path, edges 3←0 and 2←0 are zeroize, and node 1 is `#` or its
        // edges out of it carry `#`; so node 2 is `#+#` and node 3 is `#`, `#` and a third term:
        // `#` (3←2 zeroize), `#+#` (skip) or `(#+#)@op` for conv3x3, conv1x1 and avgpool.
        let expected: BTreeSet<&str> =
            ["#+#+#", "#+#+#+#", "#+#+(#+#)@nor_conv_3x3", "#+#+(#+#)@nor_conv_1x1", "#+#+(#+#)@avg_pool_3x3"].into();
        let mut invalid_forms = BTreeSet::new();
        let mut valid_forms = BTreeSet::new();
        for g in Genome::all() {
            if g.is_valid() {
                valid_forms.insert(g.canonical());
            } else {
                invalid_forms.insert(g.canonical());
            }
        }
        let invalid: BTreeSet<&str> = invalid_forms.iter().map(CanonicalForm::as_str).collect();
        assert_eq!(invalid, expected);
        assert!(invalid_forms.is_disjoint(&valid_forms));
        let counts = SpaceCounts::enumerate();
        assert_eq!(counts.distinct_valid, 6_466 - expected.len());
    }

    #[test]
    fn distinct_valid_cells_are_one_per_valid_form() {
        let cells = distinct_valid_cells(Genome::all());
        assert_eq!(cells.len(), SpaceCounts::enumerate().distinct_valid);
        assert_eq!(cells.len(), 6_466 - 5, "NAS-Bench-201's forms less the five invalid ones");
        let forms: HashSet<CanonicalForm> = cells.iter().map(Genome::canonical).collect();
        assert_eq!(forms.len(), cells.len(), "no form twice");
        // The first of its form in the order given: 333033 comes before its twin 433303.
        let twins: Vec<Genome> = vec![genome("433303"), genome("333033"), genome("333303")];
        assert_eq!(distinct_valid_cells(twins.clone()), vec![genome("433303")]);
        assert_eq!(distinct_valid_cells(twins.into_iter().rev()), vec![genome("333033")]);
    }

    #[test]
    fn hand_built_strings() {
        // node1 = (0)@nor_conv_3x3; node2 = sort[#, node1] = #+(0)@nor_conv_3x3;
        // node3 = sort[(0)@avg_pool_3x3, #, (node2)@nor_conv_1x1]; '#' < '(#' < '(0'.
        let g = genome("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|");
        assert_eq!(g.canonical().as_str(), "#+(#+(0)@nor_conv_3x3)@nor_conv_1x1+(0)@avg_pool_3x3");
        // Everything skip: nodes 1 and 2 are `0` and `0+0`, node 3 joins `0`, `0` and `0+0`.
        assert_eq!(genome("444444").canonical().as_str(), "0+0+0+0");
        // Node 1 is `#`, so the conv out of it carries `#` too.
        assert_eq!(genome("333303").canonical().as_str(), "#+#+#");
        assert_eq!(genome("333033").canonical().as_str(), "#+#+(0)@nor_conv_3x3");
        // Node 2 with two dead inputs is `#+#`, not `#` (NAS-Bench-201's rule).
        assert_eq!(genome("333330").canonical().as_str(), "#+#+(#+#)@nor_conv_3x3");
    }

    #[test]
    fn isomorphic_cells_share_a_form_and_different_cells_do_not() {
        // A skip edge 1←0 makes node 1 the input itself: conv on 3←1 equals conv on 3←0.
        assert_eq!(genome("433303").canonical(), genome("333033").canonical());
        // Different ops on the only path differ.
        assert_ne!(genome("333033").canonical(), genome("333133").canonical());
        // Sums are unordered but count multiplicity: two conv paths are not one.
        assert_ne!(genome("033003").canonical(), genome("033033").canonical());
    }

    #[test]
    fn swapping_the_middle_nodes_is_not_recognised() {
        // 013342: node1 = (0)@nor_conv_3x3, node2 = #+(0)@nor_conv_1x1, node 3 = # + node1 (skip)
        // + (node2)@avg_pool_3x3. 103324 is the same graph with nodes 1 and 2 relabelled, but its
        // node 2 (#+(0)@nor_conv_3x3) feeds node 3 through a skip as one term, `#` and all; and
        // `#+(0)...` sorts before `((0)...`.
        assert_eq!(genome("013342").canonical().as_str(), "#+(#+(0)@nor_conv_1x1)@avg_pool_3x3+(0)@nor_conv_3x3");
        assert_eq!(genome("103324").canonical().as_str(), "#+#+(0)@nor_conv_3x3+((0)@nor_conv_1x1)@avg_pool_3x3");
    }

    #[test]
    fn cells_without_skip_or_zeroize_are_all_distinct() {
        // Without skip or zeroize, node 3's three terms nest to depths 1, 2 and 3 around a
        // one-term node 1 and a two-term node 2, so every edge's op can be read back from the
        // string: the 3^6 cells built from conv3x3, conv1x1 and avgpool give 3^6 forms.
        let weighted = [Op::Conv3x3, Op::Conv1x1, Op::AvgPool3x3];
        let forms: HashSet<CanonicalForm> =
            Genome::all().filter(|g| g.0.iter().all(|op| weighted.contains(op))).map(|g| g.canonical()).collect();
        assert_eq!(forms.len(), 3usize.pow(6));
    }
}
