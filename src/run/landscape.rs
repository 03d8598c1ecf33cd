//! What a table says about a script before any search (`xnas check SCRIPT --table TABLE`):
//! every cell of the script's space that the table holds, scored with the script's objectives,
//! and the true front under them. A search replayed from that table can find nothing better, so
//! the true front's hypervolume is the ceiling a replayed run's hypervolume is measured against.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use xnas_moo::Direction;
use xnas_space::{CanonicalForm, Genome};

use super::execution::Execution;
use super::resume::{resumed_experiment, ResumeChanges};
use super::table::Table;
use crate::record::MeasurementRecord;
use crate::report::input::{AxisReader, TableCells};
use crate::script::{Experiment, ScriptError};
use crate::store::Store;

/// One cell of the table, scored.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredCell {
    /// The genome the table trained (six op codes).
    pub genome: String,
    pub arch: String,
    /// The script's objective values, in its objectives' order and directions.
    pub objectives: Vec<f64>,
    /// The table's record of it.
    pub record: MeasurementRecord,
}

/// The script's objectives over a table; see the module docs.
#[derive(Debug, Clone)]
pub struct Landscape {
    pub objective_names: Vec<String>,
    pub directions: Vec<Direction>,
    pub reference: Vec<f64>,
    /// Distinct valid cells of the script's space (`space.ops`).
    pub space_cells: usize,
    /// The cells of the space the table holds, scored, by canonical form.
    pub scored: Vec<ScoredCell>,
    /// Cells whose scoring failed: the genome and the script's error (they cannot be on a front).
    pub failed: Vec<(String, String)>,
    /// Indices into `scored` of the true front (no scored cell dominates them), best first in
    /// the first objective.
    pub front: Vec<usize>,
    /// The true front's hypervolume from the script's reference point.
    pub hypervolume: f64,
    /// Front members not beyond the reference point in every objective: they add no hypervolume.
    pub outside_reference: usize,
}

impl Landscape {
    /// Scores every record of `table` whose cell is in the experiment's space.
    pub fn of(experiment: &Experiment, table: &Table) -> Result<Landscape, ScriptError> {
        let space: HashSet<CanonicalForm> =
            experiment.spec().space.distinct_cells().iter().map(Genome::canonical).collect();
        let directions = experiment.directions();
        let reference = experiment.spec().reference_point.clone();
        let mut held: Vec<(&CanonicalForm, &crate::exec::TableAnswer)> =
            table.answers.iter().filter(|(form, _)| space.contains(*form)).collect();
        // By canonical form: the listing is the same whatever order the table was read in.
        held.sort_by_cached_key(|(form, _)| form.to_string());
        let mut scored = Vec::new();
        let mut failed = Vec::new();
        for (_, answer) in held {
            let record = &answer.record;
            match experiment.score(record) {
                Ok(objectives) if objectives.iter().all(|v| v.is_finite()) => scored.push(ScoredCell {
                    genome: record.genome.clone(),
                    arch: record.arch.clone(),
                    objectives,
                    record: record.clone(),
                }),
                Ok(objectives) => failed.push((record.genome.clone(), format!("non-finite objectives {objectives:?}"))),
                Err(e) => failed.push((record.genome.clone(), e.to_string())),
            }
        }
        let vectors: Vec<&[f64]> = scored.iter().map(|c| c.objectives.as_slice()).collect();
        let mut front = xnas_moo::non_dominated(&vectors, &directions).unwrap_or_default();
        let first_better = |a: &usize, b: &usize| {
            let (x, y) = (scored[*a].objectives[0], scored[*b].objectives[0]);
            match directions.first() {
                Some(Direction::Minimise) => x.total_cmp(&y),
                _ => y.total_cmp(&x),
            }
        };
        front.sort_by(first_better);
        let front_vectors: Vec<Vec<f64>> = front.iter().map(|&i| scored[i].objectives.clone()).collect();
        let hypervolume = experiment.hypervolume(&front_vectors).unwrap_or(f64::NAN);
        let beyond = |v: &Vec<f64>| {
            v.iter().zip(&reference).zip(&directions).all(|((x, r), d)| match d {
                Direction::Minimise => x < r,
                Direction::Maximise => x > r,
            })
        };
        let outside_reference = front_vectors.iter().filter(|v| !beyond(v)).count();
        Ok(Landscape {
            objective_names: experiment.objective_names().iter().map(|s| s.to_string()).collect(),
            directions,
            reference,
            space_cells: space.len(),
            scored,
            failed,
            front,
            hypervolume,
            outside_reference,
        })
    }

    /// Every scored cell as CSV: genome, arch, the objectives, and whether it is on the true front.
    pub fn csv(&self) -> String {
        let front: HashSet<usize> = self.front.iter().copied().collect();
        let mut out = format!("genome,arch,{},on_front\n", self.objective_names.join(","));
        for (i, cell) in self.scored.iter().enumerate() {
            let values: Vec<String> = cell.objectives.iter().map(f64::to_string).collect();
            out += &format!("{},{},{},{}\n", cell.genome, cell.arch, values.join(","), front.contains(&i));
        }
        out
    }
}

/// The table a run replayed from (`xnas run --table`), its cells in the run's report axes, for
/// `xnas report`; `None` when the run has no table.
pub fn table_cells(run_dir: &Path) -> anyhow::Result<Option<TableCells>> {
    let store = Store::open_read_only(run_dir)?;
    let Some(table) = store.execution::<Execution>()?.and_then(|execution| execution.table) else { return Ok(None) };
    let experiment = resumed_experiment(&store, run_dir, &ResumeChanges::default())?.experiment;
    let landscape =
        Landscape::of(&experiment, &Table::read(&table, &experiment.training_hash(), experiment.eval_config())?)?;
    let reader = AxisReader::new(experiment.spec());
    Ok(Some(TableCells {
        table: table.display().to_string(),
        space_cells: landscape.space_cells,
        held: landscape.scored.len() + landscape.failed.len(),
        axes: landscape.scored.iter().filter_map(|cell| reader.values(&cell.record, Some(&cell.objectives))).collect(),
    }))
}

impl fmt::Display for Landscape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let held = self.scored.len() + self.failed.len();
        writeln!(
            f,
            "table: {held} of the space's {} cells, {} scored{}",
            self.space_cells,
            self.scored.len(),
            match self.failed.len() {
                0 => String::new(),
                n => format!(", {n} failed to score (first: {} — {})", self.failed[0].0, self.failed[0].1),
            }
        )?;
        if held < self.space_cells {
            writeln!(
                f,
                "  the table lacks {} cell(s) of the space: the front below is over the cells it holds",
                self.space_cells - held
            )?;
        }
        let names: Vec<String> = self
            .objective_names
            .iter()
            .zip(&self.directions)
            .map(|(name, d)| format!("{name} ({})", if *d == Direction::Minimise { "min" } else { "max" }))
            .collect();
        writeln!(
            f,
            "true front under the script's objectives [{}]: {} cell(s), hypervolume {:.6} from {:?}",
            names.join(", "),
            self.front.len(),
            self.hypervolume,
            self.reference
        )?;
        if self.outside_reference > 0 {
            writeln!(
                f,
                "  {} of them not beyond the reference point in every objective (they add no hypervolume)",
                self.outside_reference
            )?;
        }
        for &i in &self.front {
            let cell = &self.scored[i];
            let values: Vec<String> = cell.objectives.iter().map(|v| format!("{v:.4}")).collect();
            writeln!(f, "  {}  [{}]  {}", cell.genome, values.join(", "), cell.arch)?;
        }
        Ok(())
    }
}
