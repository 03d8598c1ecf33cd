//! The ancestry of one solution (Fig. 3): every evaluation it descends from, back to the initial
//! population, as a DAG with edges child → parent, each ancestor marked with whether it was
//! Pareto-optimal in its own generation.
//!
//! The input is plain data a run store has: each evaluation's id, generation and parent ids, and
//! each generation's front membership (which the caller may compute with [`pareto_members`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use xnas_moo::{non_dominated, Direction};

use crate::error::{check_length, AnalysisError};

/// One evaluation's place in the genealogy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lineage {
    pub id: u64,
    /// The generation that proposed it (the initial population is generation 0).
    pub generation: u64,
    /// Ids of the evaluations it was bred from; empty for the initial population.
    pub parents: Vec<u64>,
}

/// The ids on the Pareto front in one generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GenerationFront {
    pub generation: u64,
    pub members: Vec<u64>,
}

/// One node of an [`Ancestry`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AncestorNode {
    pub id: u64,
    pub generation: u64,
    /// On the front of the generation that proposed it.
    pub pareto_in_generation: bool,
    /// Every generation whose front it is on, ascending.
    pub on_fronts: Vec<u64>,
    /// Has no parents: a member of the initial population (or sampled afresh).
    pub initial: bool,
}

/// The ancestry DAG of one solution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ancestry {
    /// The chosen solution.
    pub root: u64,
    /// The root and all its ancestors, by generation (latest first), then id.
    pub nodes: Vec<AncestorNode>,
    /// `(child, parent)` pairs, sorted; a parent named twice by one child appears once.
    pub edges: Vec<(u64, u64)>,
}

/// The ancestry of evaluation `solution`. Every id reachable through `parents` must be among
/// `evaluations` (ids unique); `fronts` may list any generations (missing ones have an empty front).
pub fn ancestry(evaluations: &[Lineage], fronts: &[GenerationFront], solution: u64) -> Result<Ancestry, AnalysisError> {
    let mut by_id: HashMap<u64, &Lineage> = HashMap::with_capacity(evaluations.len());
    for lineage in evaluations {
        if by_id.insert(lineage.id, lineage).is_some() {
            return Err(AnalysisError::DuplicateEvaluation { id: lineage.id });
        }
    }
    let mut fronts_of: HashMap<u64, BTreeSet<u64>> = HashMap::new();
    for front in fronts {
        for &id in &front.members {
            fronts_of.entry(id).or_default().insert(front.generation);
        }
    }

    let mut visited: BTreeMap<u64, &Lineage> = BTreeMap::new();
    let mut edges = BTreeSet::new();
    let mut pending = vec![solution];
    while let Some(id) = pending.pop() {
        if visited.contains_key(&id) {
            continue;
        }
        let lineage = *by_id.get(&id).ok_or(AnalysisError::UnknownEvaluation { id })?;
        visited.insert(id, lineage);
        for &parent in &lineage.parents {
            edges.insert((id, parent));
            pending.push(parent);
        }
    }

    let mut nodes: Vec<AncestorNode> = visited
        .values()
        .map(|lineage| {
            let on_fronts: Vec<u64> =
                fronts_of.get(&lineage.id).map(|g| g.iter().copied().collect()).unwrap_or_default();
            AncestorNode {
                id: lineage.id,
                generation: lineage.generation,
                pareto_in_generation: on_fronts.contains(&lineage.generation),
                on_fronts,
                initial: lineage.parents.is_empty(),
            }
        })
        .collect();
    nodes.sort_by(|a, b| b.generation.cmp(&a.generation).then(a.id.cmp(&b.id)));
    Ok(Ancestry { root: solution, nodes, edges: edges.into_iter().collect() })
}

/// The ids whose points no other point dominates (each objective minimised or maximised as
/// `directions` says): one generation's front, from its members' report-axis values.
pub fn pareto_members(ids: &[u64], points: &[Vec<f64>], directions: &[Direction]) -> Result<Vec<u64>, AnalysisError> {
    check_length("points", ids.len(), points.len())?;
    for (index, point) in points.iter().enumerate() {
        check_length(&format!("points[{index}]"), directions.len(), point.len())?;
        if point.iter().any(|v| !v.is_finite()) {
            return Err(AnalysisError::NotFinite { what: "points".into(), index });
        }
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let front = non_dominated(points, directions).expect("points are finite and of one dimension");
    Ok(front.into_iter().map(|i| ids[i]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lineage(id: u64, generation: u64, parents: &[u64]) -> Lineage {
        Lineage { id, generation, parents: parents.to_vec() }
    }

    /// Generation 0: 1–4. Generation 1: 5 ← (1, 2), 6 ← (3, 4), 7 ← (2, 2). Generation 2: 8 ← (5, 6),
    /// 9 ← (7, 1). Fronts: {1, 3} in 0, {3, 5} in 1 (3 survived), {8} in 2.
    fn genealogy() -> (Vec<Lineage>, Vec<GenerationFront>) {
        let evaluations = vec![
            lineage(1, 0, &[]),
            lineage(2, 0, &[]),
            lineage(3, 0, &[]),
            lineage(4, 0, &[]),
            lineage(5, 1, &[1, 2]),
            lineage(6, 1, &[3, 4]),
            lineage(7, 1, &[2, 2]),
            lineage(8, 2, &[5, 6]),
            lineage(9, 2, &[7, 1]),
        ];
        let fronts = vec![
            GenerationFront { generation: 0, members: vec![1, 3] },
            GenerationFront { generation: 1, members: vec![3, 5] },
            GenerationFront { generation: 2, members: vec![8] },
        ];
        (evaluations, fronts)
    }

    #[test]
    fn ancestry_of_a_hand_built_genealogy() {
        let (evaluations, fronts) = genealogy();
        let tree = ancestry(&evaluations, &fronts, 8).unwrap();
        assert_eq!(tree.root, 8);
        assert_eq!(tree.edges, [(5, 1), (5, 2), (6, 3), (6, 4), (8, 5), (8, 6)]);
        let marks: Vec<(u64, u64, bool, bool)> =
            tree.nodes.iter().map(|n| (n.id, n.generation, n.pareto_in_generation, n.initial)).collect();
        assert_eq!(
            marks,
            [
                (8, 2, true, false),
                (5, 1, true, false),
                (6, 1, false, false),
                (1, 0, true, true),
                (2, 0, false, true),
                (3, 0, true, true),
                (4, 0, false, true),
            ]
        );
        assert_eq!(tree.nodes[5].on_fronts, [0, 1]);

        // A parent named twice gives one edge; 1 is reached directly and not via 7.
        let tree = ancestry(&evaluations, &fronts, 9).unwrap();
        assert_eq!(tree.edges, [(7, 2), (9, 1), (9, 7)]);
        let ids: Vec<u64> = tree.nodes.iter().map(|n| n.id).collect();
        assert_eq!(ids, [9, 7, 1, 2]);
        assert!(!tree.nodes[0].pareto_in_generation);

        // A member of the initial population is its own ancestry.
        let tree = ancestry(&evaluations, &fronts, 4).unwrap();
        assert_eq!((tree.nodes.len(), tree.edges.len()), (1, 0));
    }

    #[test]
    fn missing_and_duplicate_evaluations_are_errors() {
        let (mut evaluations, fronts) = genealogy();
        assert_eq!(ancestry(&evaluations, &fronts, 42), Err(AnalysisError::UnknownEvaluation { id: 42 }));
        evaluations.push(lineage(10, 3, &[8, 99]));
        assert_eq!(ancestry(&evaluations, &fronts, 10), Err(AnalysisError::UnknownEvaluation { id: 99 }));
        evaluations.push(lineage(3, 0, &[]));
        assert_eq!(ancestry(&evaluations, &fronts, 8), Err(AnalysisError::DuplicateEvaluation { id: 3 }));
    }

    #[test]
    fn pareto_members_of_one_generation() {
        let points = vec![vec![0.9, 0.1], vec![0.8, 0.3], vec![0.7, 0.2], vec![0.9, 0.1]];
        let front = pareto_members(&[10, 11, 12, 13], &points, &[Direction::Maximise; 2]).unwrap();
        assert_eq!(front, [10, 11, 13]);
        assert_eq!(pareto_members(&[], &[], &[Direction::Maximise]).unwrap(), Vec::<u64>::new());
        assert!(matches!(
            pareto_members(&[1, 2], &[vec![0.5, f64::NAN], vec![0.1, 0.2]], &[Direction::Maximise; 2]),
            Err(AnalysisError::NotFinite { index: 0, .. })
        ));
        assert!(matches!(
            pareto_members(&[1], &points[..1], &[Direction::Maximise]),
            Err(AnalysisError::LengthMismatch { .. })
        ));
    }
}
