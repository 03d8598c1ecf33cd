//! Genomes, operations and their two textual forms (NAS-Bench-201 arch strings and the paper's
//! six-digit compact form), with errors that point at the offending position.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Nodes in a cell: node 0 is the cell input, node 3 its output.
pub const NUM_NODES: usize = 4;
/// Edges in a cell, one per pair of nodes i < j.
pub const NUM_EDGES: usize = 6;
/// Candidate operations per edge.
pub const NUM_OPS: usize = 5;

/// One edge of the cell: data flows from node `from` to node `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
}

/// The six edges in genome (and arch-string) order.
pub const EDGES: [Edge; NUM_EDGES] = [
    Edge { from: 0, to: 1 },
    Edge { from: 0, to: 2 },
    Edge { from: 1, to: 2 },
    Edge { from: 0, to: 3 },
    Edge { from: 1, to: 3 },
    Edge { from: 2, to: 3 },
];

/// An operation on an edge. The discriminants are the paper's op codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// ReLU → 3×3 conv → BN (`nor_conv_3x3`).
    Conv3x3 = 0,
    /// ReLU → 1×1 conv → BN (`nor_conv_1x1`).
    Conv1x1 = 1,
    /// 3×3 average pooling, stride 1, padding 1 (`avg_pool_3x3`).
    AvgPool3x3 = 2,
    /// The edge is dropped (`none`).
    Zeroize = 3,
    /// Identity (`skip_connect`).
    Skip = 4,
}

impl Op {
    /// All operations, in op-code order.
    pub const ALL: [Op; NUM_OPS] = [Op::Conv3x3, Op::Conv1x1, Op::AvgPool3x3, Op::Zeroize, Op::Skip];

    /// The paper's integer code (0 conv3x3, 1 conv1x1, 2 avgpool3x3, 3 zeroize, 4 skip).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The operation with the paper's integer code, if there is one.
    pub fn from_code(code: u8) -> Option<Op> {
        Op::ALL.get(code as usize).copied()
    }

    /// The name NAS-Bench-201 arch strings use.
    pub fn nb201_name(self) -> &'static str {
        match self {
            Op::Conv3x3 => "nor_conv_3x3",
            Op::Conv1x1 => "nor_conv_1x1",
            Op::AvgPool3x3 => "avg_pool_3x3",
            Op::Zeroize => "none",
            Op::Skip => "skip_connect",
        }
    }

    /// The operation with this NAS-Bench-201 name.
    pub fn from_nb201_name(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.nb201_name() == name)
    }

    /// Whether the edge has learnable convolution weights.
    pub fn is_conv(self) -> bool {
        matches!(self, Op::Conv3x3 | Op::Conv1x1)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.nb201_name())
    }
}

/// A cell: one operation per edge, in [`EDGES`] order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Genome(pub [Op; NUM_EDGES]);

/// Why a string is not a genome. `position` is a 0-based character offset into the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid architecture {input:?} at character {position}: {message}\n  {input}\n  {marker}^",
        marker = " ".repeat(*position))]
pub struct ParseError {
    pub input: String,
    pub position: usize,
    pub message: String,
}

impl Genome {
    /// The operation on edge `j ← i`.
    pub fn op(&self, from: usize, to: usize) -> Option<Op> {
        EDGES.iter().position(|e| e.from == from && e.to == to).map(|k| self.0[k])
    }

    /// The paper's integer codes, in edge order.
    pub fn codes(&self) -> [u8; NUM_EDGES] {
        self.0.map(Op::code)
    }

    /// The genome with these paper op codes; `None` if a code is out of range.
    pub fn from_codes(codes: &[u8]) -> Option<Genome> {
        if codes.len() != NUM_EDGES {
            return None;
        }
        let mut ops = [Op::Zeroize; NUM_EDGES];
        for (slot, &c) in ops.iter_mut().zip(codes) {
            *slot = Op::from_code(c)?;
        }
        Some(Genome(ops))
    }

    /// The six-digit form in the paper's op codes, e.g. `"002404"`.
    pub fn compact(&self) -> String {
        self.0.iter().map(|op| char::from(b'0' + op.code())).collect()
    }

    /// Parses the six-digit form in the paper's op codes.
    pub fn parse_compact(s: &str) -> Result<Genome, ParseError> {
        let err = |position: usize, message: String| ParseError { input: s.to_string(), position, message };
        let chars: Vec<char> = s.chars().collect();
        let mut ops = [Op::Zeroize; NUM_EDGES];
        for (k, &c) in chars.iter().enumerate() {
            if k >= NUM_EDGES {
                return Err(err(k, format!("a compact genome has {NUM_EDGES} digits, this one has {}", chars.len())));
            }
            ops[k] = c.to_digit(10).and_then(|d| Op::from_code(d as u8)).ok_or_else(|| {
                err(k, format!("{c:?} is not an op code (0 conv3x3, 1 conv1x1, 2 avgpool3x3, 3 zeroize, 4 skip)"))
            })?;
        }
        if chars.len() < NUM_EDGES {
            return Err(err(
                chars.len(),
                format!("a compact genome has {NUM_EDGES} digits, this one has {}", chars.len()),
            ));
        }
        Ok(Genome(ops))
    }

    /// Parses a NAS-Bench-201 arch string `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`.
    pub fn parse_arch_string(s: &str) -> Result<Genome, ParseError> {
        let err = |position: usize, message: String| ParseError { input: s.to_string(), position, message };
        let mut ops = Vec::with_capacity(NUM_EDGES);
        let mut offset = 0;
        let nodes: Vec<&str> = s.split('+').collect();
        if nodes.len() != NUM_NODES - 1 {
            return Err(err(
                0,
                format!(
                    "an arch string has {} node groups separated by '+', this one has {}",
                    NUM_NODES - 1,
                    nodes.len()
                ),
            ));
        }
        for (node_index, group) in nodes.iter().enumerate() {
            let to = node_index + 1;
            if !group.starts_with('|') || !group.ends_with('|') || group.len() < 2 {
                return Err(err(offset, format!("node {to}'s group {group:?} must look like |op~0|...|")));
            }
            let inner = &group[1..group.len() - 1];
            let mut item_offset = offset + 1;
            let items: Vec<&str> = inner.split('|').collect();
            if items.len() != to {
                return Err(err(
                    offset,
                    format!("node {to} needs {to} incoming edge(s) (from nodes 0..{to}), found {}", items.len()),
                ));
            }
            for (from, item) in items.iter().enumerate() {
                let Some((name, input)) = item.split_once('~') else {
                    return Err(err(item_offset, format!("{item:?} must be op~input, e.g. nor_conv_3x3~{from}")));
                };
                let op = Op::from_nb201_name(name).ok_or_else(|| {
                    err(
                        item_offset,
                        format!("unknown op {name:?}; known ops: {}", Op::ALL.map(Op::nb201_name).join(", ")),
                    )
                })?;
                if input != from.to_string() {
                    return Err(err(
                        item_offset + name.len() + 1,
                        format!("edge {} of node {to} must come from node {from}, not {input:?}", from + 1),
                    ));
                }
                ops.push(op);
                item_offset += item.len() + 1;
            }
            offset += group.len() + 1;
        }
        Ok(Genome(ops.try_into().expect("three groups of 1, 2 and 3 edges")))
    }

    /// The NAS-Bench-201 arch string.
    pub fn arch_string(&self) -> String {
        let mut out = String::new();
        for to in 1..NUM_NODES {
            if to > 1 {
                out.push('+');
            }
            out.push('|');
            for from in 0..to {
                let op = self.op(from, to).expect("every pair i<j is an edge");
                out.push_str(&format!("{}~{}|", op.nb201_name(), from));
            }
        }
        out
    }

    /// Whether data can flow from the cell input (node 0) to its output (node 3) over edges that
    /// are not zeroize. An invalid cell outputs zeros whatever its input; such genomes are
    /// repaired by the search, never trained.
    pub fn is_valid(&self) -> bool {
        let mut reachable = [false; NUM_NODES];
        reachable[0] = true;
        for (edge, op) in EDGES.iter().zip(self.0) {
            // EDGES is ordered by target node, so sources are final before they are read.
            if op != Op::Zeroize && reachable[edge.from] {
                reachable[edge.to] = true;
            }
        }
        reachable[NUM_NODES - 1]
    }

    /// Every one of the 5^6 = 15,625 genomes, in lexicographic order of op codes.
    pub fn all() -> impl Iterator<Item = Genome> {
        (0..NUM_OPS.pow(NUM_EDGES as u32)).map(|mut index| {
            let mut ops = [Op::Zeroize; NUM_EDGES];
            for slot in ops.iter_mut().rev() {
                *slot = Op::ALL[index % NUM_OPS];
                index /= NUM_OPS;
            }
            Genome(ops)
        })
    }
}

impl FromStr for Genome {
    type Err = ParseError;

    /// Accepts either form: six digits in the paper's op codes, or a NAS-Bench-201 arch string.
    fn from_str(s: &str) -> Result<Genome, ParseError> {
        let trimmed = s.trim();
        if trimmed.starts_with('|') {
            Genome::parse_arch_string(trimmed)
        } else {
            Genome::parse_compact(trimmed)
        }
    }
}

impl fmt::Display for Genome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arch_string())
    }
}

impl From<Genome> for String {
    fn from(g: Genome) -> String {
        g.arch_string()
    }
}

impl TryFrom<String> for Genome {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Genome, ParseError> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arch_string_round_trip_for_every_genome() {
        for g in Genome::all() {
            assert_eq!(g.arch_string().parse::<Genome>().unwrap(), g);
            assert_eq!(Genome::parse_compact(&g.compact()).unwrap(), g);
        }
    }

    #[test]
    fn edge_order_matches_nas_bench_201_strings() {
        let g: Genome =
            "|nor_conv_1x1~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|".parse().unwrap();
        assert_eq!(g.op(0, 1), Some(Op::Conv1x1));
        assert_eq!(g.op(0, 2), Some(Op::Zeroize));
        assert_eq!(g.op(1, 2), Some(Op::AvgPool3x3));
        assert_eq!(g.op(0, 3), Some(Op::Skip));
        assert_eq!(g.op(1, 3), Some(Op::Conv3x3));
        assert_eq!(g.op(2, 3), Some(Op::Zeroize));
        assert_eq!(g.compact(), "132403");
    }

    #[test]
    fn errors_point_at_the_problem() {
        let e = "|nor_conv_3x3~0|+|conv5x5~0|none~1|+|none~0|none~1|none~2|".parse::<Genome>().unwrap_err();
        assert_eq!(e.position, 18);
        assert!(e.message.contains("unknown op \"conv5x5\""), "{e}");
        let e = "|nor_conv_3x3~0|+|none~0|+|none~0|none~1|none~2|".parse::<Genome>().unwrap_err();
        assert!(e.message.contains("node 2 needs 2"), "{e}");
        let e = "|nor_conv_3x3~0|+|none~0|none~2|+|none~0|none~1|none~2|".parse::<Genome>().unwrap_err();
        assert_eq!(e.position, 30);
        let e = "00240".parse::<Genome>().unwrap_err();
        assert_eq!(e.position, 5);
        let e = "0024x4".parse::<Genome>().unwrap_err();
        assert_eq!(e.position, 4);
        let e = "0024047".parse::<Genome>().unwrap_err();
        assert_eq!(e.position, 6);
        assert!("garbage".parse::<Genome>().is_err());
        assert!("".parse::<Genome>().is_err());
    }

    #[test]
    fn validity_needs_a_path_from_input_to_output() {
        let valid = |s: &str| Genome::parse_compact(s).unwrap().is_valid();
        assert!(!valid("333333"));
        assert!(valid("333433")); // only 3←0 is kept
        assert!(valid("333033"));
        assert!(valid("433343")); // 0→1→3
        assert!(!valid("433333")); // 0→1 but nothing leaves 1
        assert!(valid("343334")); // 0→2→3
        assert!(!valid("334334")); // 1→2→3 but 1 is unreachable
        let count = Genome::all().filter(Genome::is_valid).count();
        // Invalid: all three paths into node 3 are cut. Brute force over reachability gives this count;
        // it also equals 15,625 − |{genomes with no input→output path}|.
        assert_eq!(count, 15625 - brute_force_invalid());
    }

    /// Enumerates paths explicitly (0→3, 0→1→3, 0→2→3, 0→1→2→3) instead of propagating reachability.
    fn brute_force_invalid() -> usize {
        Genome::all()
            .filter(|g| {
                let on = |f, t| g.op(f, t) != Some(Op::Zeroize);
                let paths = [on(0, 3), on(0, 1) && on(1, 3), on(0, 2) && on(2, 3), on(0, 1) && on(1, 2) && on(2, 3)];
                !paths.iter().any(|&p| p)
            })
            .count()
    }
}
