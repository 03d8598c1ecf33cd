//! Which operations the cells of a set of genomes use (App. E, Tables E1–E3; Fig. 4 and G1–G2).
//!
//! Per genome: how many of its six edges are convolutions (3×3 or 1×1) and how many pool, the
//! colours of Fig. 4. Over a set (a Pareto front): each operation's count divided by the total
//! number of edges, 6 × the number of genomes — the tables' "normalized by total cell operations
//! across the Pareto front models". The paper's numbers fix this: Table E1's frequencies are
//! multiples of 1/66 and Table F1's of 1/11, so MNIST's front had 11 cells and 66 edges.

use serde::Serialize;
use xnas_space::{Genome, Op, NUM_EDGES, NUM_OPS};

use crate::error::AnalysisError;

/// How many edges of `genome` carry each operation, indexed by the paper's op code.
pub fn op_counts(genome: &Genome) -> [usize; NUM_OPS] {
    let mut counts = [0; NUM_OPS];
    for op in genome.0 {
        counts[op.code() as usize] += 1;
    }
    counts
}

/// Edges that convolve (3×3 or 1×1 convolution): the left colouring of Fig. 4 / G1–G2.
pub fn conv_edges(genome: &Genome) -> usize {
    genome.0.iter().filter(|op| op.is_conv()).count()
}

/// Edges that pool (3×3 average pooling, the space's only pooling): the right colouring of Fig. 4.
pub fn pooling_edges(genome: &Genome) -> usize {
    genome.0.iter().filter(|&&op| op == Op::AvgPool3x3).count()
}

/// One row of Tables E1–E3.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OperatorFrequency {
    pub op: Op,
    /// Edges with this operation, over all genomes.
    pub count: usize,
    /// `count` / (6 × number of genomes).
    pub frequency: f64,
}

/// Every operation's share of all edges of `genomes` (non-empty), most frequent first, ties in
/// op-code order, as Tables E1–E3 list them. The five frequencies add up to 1.
pub fn operator_frequencies(genomes: &[Genome]) -> Result<Vec<OperatorFrequency>, AnalysisError> {
    if genomes.is_empty() {
        return Err(AnalysisError::Empty { what: "genomes".into() });
    }
    let mut totals = [0; NUM_OPS];
    for genome in genomes {
        for (total, count) in totals.iter_mut().zip(op_counts(genome)) {
            *total += count;
        }
    }
    let edges = (genomes.len() * NUM_EDGES) as f64;
    let mut rows: Vec<OperatorFrequency> = Op::ALL
        .into_iter()
        .map(|op| {
            let count = totals[op.code() as usize];
            OperatorFrequency { op, count, frequency: count as f64 / edges }
        })
        .collect();
    rows.sort_by(|a, b| b.count.cmp(&a.count).then(a.op.cmp(&b.op)));
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn genome(compact: &str) -> Genome {
        Genome::parse_compact(compact).unwrap()
    }

    #[test]
    fn counts_per_genome() {
        let g = genome("012340");
        assert_eq!(op_counts(&g), [2, 1, 1, 1, 1]);
        assert_eq!(conv_edges(&g), 3);
        assert_eq!(pooling_edges(&g), 1);
        assert_eq!(conv_edges(&genome("222334")), 0);
        assert_eq!(pooling_edges(&genome("222334")), 3);
    }

    #[test]
    fn empty_set_is_an_error() {
        assert!(matches!(operator_frequencies(&[]), Err(AnalysisError::Empty { .. })));
    }

    /// Tables E1–E3 give frequencies to five decimals; Tables F1–F3 fix the front sizes (their
    /// frequencies are multiples of 1/11, 1/48 and 1/34). Counts over 6 × cells edges that are whole
    /// numbers and round to the table exist, and a front built with them reproduces every row —
    /// normalising per genome (count / cells) would give values above 1.
    #[test]
    fn reproduces_tables_e1_to_e3() {
        let tables: [(usize, [(Op, f64); 5]); 3] = [
            (
                11,
                [
                    (Op::Conv3x3, 0.51515),
                    (Op::AvgPool3x3, 0.16667),
                    (Op::Zeroize, 0.16667),
                    (Op::Conv1x1, 0.09091),
                    (Op::Skip, 0.06061),
                ],
            ),
            (
                48,
                [
                    (Op::Conv3x3, 0.44444),
                    (Op::Zeroize, 0.24306),
                    (Op::AvgPool3x3, 0.19097),
                    (Op::Skip, 0.06250),
                    (Op::Conv1x1, 0.05903),
                ],
            ),
            (
                34,
                [
                    (Op::Conv3x3, 0.48039),
                    (Op::AvgPool3x3, 0.21078),
                    // Zeroize and skip tie; the table lists zeroize first, as op-code order does.
                    (Op::Zeroize, 0.10784),
                    (Op::Skip, 0.10784),
                    (Op::Conv1x1, 0.09314),
                ],
            ),
        ];
        for (cells, table) in tables {
            let edges = (cells * NUM_EDGES) as f64;
            let mut codes = Vec::new();
            for (op, frequency) in table {
                let count = frequency * edges;
                assert!((count - count.round()).abs() < 0.01, "{op:?}: {count} of {edges} edges is not a whole count");
                codes.extend(std::iter::repeat_n(op.code(), count.round() as usize));
            }
            // Any interleaving of the edges over the cells has the same totals.
            codes.rotate_left(7);
            let front: Vec<Genome> = codes.chunks(NUM_EDGES).map(|c| Genome::from_codes(c).unwrap()).collect();
            assert_eq!(front.len(), cells);
            let rows = operator_frequencies(&front).unwrap();
            for (row, (op, frequency)) in rows.iter().zip(table) {
                assert_eq!(row.op, op);
                assert!((row.frequency - frequency).abs() < 5e-6, "{op:?}: {} vs {frequency}", row.frequency);
            }
            assert!((rows.iter().map(|r| r.frequency).sum::<f64>() - 1.0).abs() < 1e-12);
        }
    }
}
