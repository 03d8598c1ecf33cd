//! Motifs: partial cells with wildcards, and how many genomes of a set hold each (App. F,
//! Tables F1–F3).
//!
//! A motif fixes the operation on some of the six edges and leaves the rest free; its size is the
//! number of fixed edges. The paper writes it as six entries in edge order, op codes for fixed
//! edges and `*` for free ones: `[0 * * * 3 *]` is "a 3×3 conv on e(1←0) and no edge e(3←1)".
//! A genome holds a motif when it agrees on every fixed edge. A genome holds C(6, k) motifs of
//! size k, one per choice of fixed edges, so enumerating a set's motifs is cheap.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};
use xnas_space::{Genome, Op, NUM_EDGES};

use crate::error::AnalysisError;

/// A partial cell: `Some(op)` on fixed edges, `None` (the paper's `*`) on free ones, in edge order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Motif(pub [Option<Op>; NUM_EDGES]);

impl Motif {
    /// The motif of `genome` that fixes the edges whose bits are set in `fixed_edges` (bit k for
    /// edge k); bits above the sixth are ignored.
    pub fn of_genome(genome: &Genome, fixed_edges: u8) -> Motif {
        Motif(std::array::from_fn(|k| (fixed_edges >> k & 1 == 1).then_some(genome.0[k])))
    }

    /// Number of fixed edges.
    pub fn size(&self) -> usize {
        self.0.iter().filter(|op| op.is_some()).count()
    }

    /// Whether `genome` has this motif's operation on every fixed edge.
    pub fn matches(&self, genome: &Genome) -> bool {
        self.0.iter().zip(genome.0).all(|(fixed, op)| fixed.is_none_or(|f| f == op))
    }
}

impl fmt::Display for Motif {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries: Vec<String> =
            self.0.iter().map(|op| op.map_or_else(|| "*".to_string(), |op| op.code().to_string())).collect();
        write!(f, "[{}]", entries.join(" "))
    }
}

impl FromStr for Motif {
    type Err = AnalysisError;

    /// Parses the paper's notation, `[0 * * * 3 *]`; brackets optional, blanks or commas between
    /// entries.
    fn from_str(s: &str) -> Result<Motif, AnalysisError> {
        let syntax = |message: String| AnalysisError::MotifSyntax { input: s.to_string(), message };
        let inner = s.trim().trim_start_matches('[').trim_end_matches(']');
        let entries: Vec<&str> =
            inner.split(|c: char| c.is_whitespace() || c == ',').filter(|e| !e.is_empty()).collect();
        if entries.len() != NUM_EDGES {
            return Err(syntax(format!("{} entries", entries.len())));
        }
        let mut ops = [None; NUM_EDGES];
        for (slot, entry) in ops.iter_mut().zip(entries) {
            if entry != "*" {
                let op = entry.parse::<u8>().ok().and_then(Op::from_code);
                *slot = Some(op.ok_or_else(|| syntax(format!("{entry:?} is neither an op code nor *")))?);
            }
        }
        Ok(Motif(ops))
    }
}

impl Serialize for Motif {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The motifs of size `size` (1–6) that `genome` holds: C(6, size) of them, all distinct.
pub fn motifs_of(genome: &Genome, size: usize) -> Result<Vec<Motif>, AnalysisError> {
    check_size(size)?;
    Ok(fixed_edge_sets(size).map(|mask| Motif::of_genome(genome, mask)).collect())
}

/// A motif and the genomes of a set that hold it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MotifSupport {
    pub motif: Motif,
    /// Number of holders.
    pub support: usize,
    /// `support` / number of genomes: the tables' "normalized frequency".
    pub frequency: f64,
    /// Indices of the holders in the genome list given, ascending.
    pub holders: Vec<usize>,
}

/// Every motif of size `size` (1–6) held by at least one of `genomes` (non-empty), with its
/// support: most supported first, ties in motif order (op codes ascending, `*` first).
pub fn motif_supports(genomes: &[Genome], size: usize) -> Result<Vec<MotifSupport>, AnalysisError> {
    check_size(size)?;
    if genomes.is_empty() {
        return Err(AnalysisError::Empty { what: "genomes".into() });
    }
    let mut holders: HashMap<Motif, Vec<usize>> = HashMap::new();
    for (index, genome) in genomes.iter().enumerate() {
        // Distinct masks give distinct motifs, so each genome is pushed once per motif.
        for mask in fixed_edge_sets(size) {
            holders.entry(Motif::of_genome(genome, mask)).or_default().push(index);
        }
    }
    let total = genomes.len() as f64;
    let mut supports: Vec<MotifSupport> = holders
        .into_iter()
        .map(|(motif, holders)| MotifSupport {
            motif,
            support: holders.len(),
            frequency: holders.len() as f64 / total,
            holders,
        })
        .collect();
    supports.sort_by(|a, b| b.support.cmp(&a.support).then(a.motif.cmp(&b.motif)));
    Ok(supports)
}

/// The most supported motifs of size `size` (all of them when several tie), as one size's rows
/// of Tables F1–F3.
pub fn most_frequent_motifs(genomes: &[Genome], size: usize) -> Result<Vec<MotifSupport>, AnalysisError> {
    let mut supports = motif_supports(genomes, size)?;
    let top = supports[0].support;
    supports.retain(|s| s.support == top);
    Ok(supports)
}

/// The sets of `size` fixed edges, as 6-bit masks in ascending order.
pub(crate) fn fixed_edge_sets(size: usize) -> impl Iterator<Item = u8> {
    (0u8..1 << NUM_EDGES).filter(move |mask| mask.count_ones() as usize == size)
}

fn check_size(size: usize) -> Result<(), AnalysisError> {
    if (1..=NUM_EDGES).contains(&size) {
        Ok(())
    } else {
        Err(AnalysisError::MotifSize { size })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn genome(compact: &str) -> Genome {
        Genome::parse_compact(compact).unwrap()
    }

    #[test]
    fn notation_round_trips() {
        let motif: Motif = "[0 * * * 3 *]".parse().unwrap();
        assert_eq!(motif.0, [Some(Op::Conv3x3), None, None, None, Some(Op::Zeroize), None]);
        assert_eq!(motif.to_string(), "[0 * * * 3 *]");
        assert_eq!(motif.size(), 2);
        assert_eq!("0,*,*,*,3,*".parse::<Motif>().unwrap(), motif);
        assert!(matches!("[0 * * 3 *]".parse::<Motif>(), Err(AnalysisError::MotifSyntax { .. })));
        assert!(matches!("[0 * * 5 * *]".parse::<Motif>(), Err(AnalysisError::MotifSyntax { .. })));
        assert_eq!(serde_json_string(&motif), "\"[0 * * * 3 *]\"");
    }

    fn serde_json_string(motif: &Motif) -> String {
        serde_json::to_string(motif).unwrap()
    }

    #[test]
    fn matching_and_the_papers_example() {
        // App. G: [a b c d e f] holds [a * * * e *] and [* b c * * f] but not [* b c * * e].
        let g = genome("012340");
        assert!("[0 * * * 4 *]".parse::<Motif>().unwrap().matches(&g));
        assert!("[* 1 2 * * 0]".parse::<Motif>().unwrap().matches(&g));
        assert!(!"[* 1 2 * * 4]".parse::<Motif>().unwrap().matches(&g));
        let counts: Vec<usize> = (1..=6).map(|k| motifs_of(&g, k).unwrap().len()).collect();
        assert_eq!(counts, [6, 15, 20, 15, 6, 1]);
        assert!(motifs_of(&g, 3).unwrap().iter().all(|m| m.matches(&g) && m.size() == 3));
        assert!(matches!(motifs_of(&g, 0), Err(AnalysisError::MotifSize { size: 0 })));
        assert!(matches!(motifs_of(&g, 7), Err(AnalysisError::MotifSize { size: 7 })));
    }

    #[test]
    fn most_frequent_by_hand() {
        let front = [genome("000000"), genome("012340"), genome("033333"), genome("444443")];
        let top = most_frequent_motifs(&front, 1).unwrap();
        assert_eq!(top.len(), 1);
        assert_eq!(top[0].motif.to_string(), "[0 * * * * *]");
        assert_eq!((top[0].support, top[0].holders.clone()), (3, vec![0, 1, 2]));
        assert_eq!(top[0].frequency, 0.75);
        // Size 2: 000000 and 012340 share e(1←0) and e(3←2); 012340 and 033333 share e(1←0) and e(3←0).
        let top2: Vec<String> = most_frequent_motifs(&front, 2).unwrap().iter().map(|s| s.motif.to_string()).collect();
        assert_eq!(top2, ["[0 * * * * 0]", "[0 * * 3 * *]"]);
        assert!(matches!(motif_supports(&[], 1), Err(AnalysisError::Empty { .. })));
    }
}
