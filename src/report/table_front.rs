//! A replayed run against its table (`xnas run --table`): the table's front in the report axes —
//! the best any search over the table's cells can find — and how far the run got: its
//! hypervolume gap (the table front's hypervolume minus the run's archive's, from the same
//! reference) and its IGD+ to the table's front, at the end and after each generation.

use std::fmt::Write as _;

use super::input::TableCells;
use super::{number_cell, ReportInput, Section, SectionEntry};

/// Report only: a comparison of replays is left to `compare --group` over their gaps.
pub const SECTION: SectionEntry = SectionEntry { report: Some(report), compare: None };

/// The front of the table a run replayed from (`xnas run --table`), in the report axes: the
/// best a search over the table's cells can find. A run's hypervolume gap (the table front's
/// hypervolume minus the run's archive's, from the same reference) and its IGD+ to this front
/// say how far the search got (issue-free when the table covers the space; over the cells it
/// holds otherwise).
#[derive(Debug, Clone, PartialEq)]
pub struct TableFront {
    pub table: String,
    pub space_cells: usize,
    /// Cells of the space the table holds.
    pub held: usize,
    /// The non-dominated held cells, (first axis, second axis), most of the first axis first.
    pub front: Vec<[f64; 2]>,
    /// Their hypervolume from the report reference.
    pub hypervolume: Option<f64>,
}

impl TableFront {
    pub fn of(cells: &TableCells, reference: [f64; 2]) -> TableFront {
        let indices = xnas_moo::non_dominated(&cells.axes, &[xnas_moo::Direction::Maximise; 2]).unwrap_or_default();
        let mut front: Vec<[f64; 2]> = indices.into_iter().map(|i| cells.axes[i]).collect();
        front.sort_by(|a, b| b[0].total_cmp(&a[0]).then(b[1].total_cmp(&a[1])));
        front.dedup();
        let hypervolume = (!front.is_empty()).then(|| xnas_hv::hypervolume_max(&front, &reference).ok()).flatten();
        TableFront { table: cells.table.clone(), space_cells: cells.space_cells, held: cells.held, front, hypervolume }
    }
}

/// The run's archive (every evaluation born up to the generation) in the report axes.
fn archive_axes(input: &ReportInput, generation: Option<u64>) -> Vec<[f64; 2]> {
    input
        .points
        .iter()
        .filter(|p| generation.is_none_or(|g| p.generation <= g))
        .filter_map(|p| p.axes)
        .filter(|a| a.iter().all(|v| v.is_finite()))
        .collect()
}

fn report(input: &ReportInput) -> Section {
    let Some(table) = &input.table_front else { return Section { files: Vec::new(), html: String::new() } };
    let mut front_csv = format!("{},{}\n", input.axes.names[0], input.axes.names[1]);
    for [y, x] in &table.front {
        let _ = writeln!(front_csv, "{y},{x}");
    }
    let mut gap_csv = String::from("generation,archive_hypervolume,table_hypervolume,hypervolume_gap,igd_plus\n");
    let row = |generation: Option<u64>| {
        let found = input.archive_hypervolume(generation);
        let gap = table.hypervolume.zip(found).map(|(t, f)| t - f);
        let archive = archive_axes(input, generation);
        let igd = xnas_analysis::igd_plus(&archive, &table.front, [xnas_moo::Direction::Maximise; 2]).ok();
        (found, gap, igd)
    };
    let generations: Vec<u64> = input.hypervolume_per_generation.iter().map(|&(g, _)| g).collect();
    let text = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    for &g in &generations {
        let (found, gap, igd) = row(Some(g));
        let _ = writeln!(gap_csv, "{g},{},{},{},{}", text(found), text(table.hypervolume), text(gap), text(igd));
    }
    let (found, gap, igd) = row(None);
    let coverage = match table.held < table.space_cells {
        true => format!(
            " It holds {} of the space's {} cells, so its front is over those: a search may find cells it lacks.",
            table.held, table.space_cells
        ),
        false => format!(" It holds all {} cells of the space: its front is the true one.", table.space_cells),
    };
    let html = format!(
        "<h2>Against the table</h2>\n<p>This run replayed from the table {}.{coverage} The table's front in the \
         report axes ({}) has {} cell(s) and hypervolume {}; this run's archive reaches {}: a hypervolume gap of \
         {} and an IGD+ of {} (zero when the run attained the whole front). Per generation: \
         <a href=\"table_gap.csv\">table_gap.csv</a>; the table's front: <a href=\"table_front.csv\">table_front.csv</a>.</p>\n",
        super::escape(&table.table),
        super::escape(&input.axes.label()),
        table.front.len(),
        number_cell(table.hypervolume, 4),
        number_cell(found, 4),
        number_cell(gap, 4),
        number_cell(igd, 4),
    );
    Section { files: vec![("table_front.csv".into(), front_csv), ("table_gap.csv".into(), gap_csv)], html }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_front_is_the_non_dominated_cells_and_their_hypervolume() {
        let cells = TableCells {
            table: "t".into(),
            space_cells: 5,
            held: 4,
            axes: vec![[0.9, 0.2], [0.5, 0.6], [0.4, 0.5], [0.9, 0.2]],
        };
        let front = TableFront::of(&cells, [0.1, 0.0]);
        assert_eq!(front.front, [[0.9, 0.2], [0.5, 0.6]], "dominated and repeated cells left out");
        // (0.9−0.1)·0.2 + (0.5−0.1)·(0.6−0.2) = 0.16 + 0.16.
        assert!((front.hypervolume.unwrap() - 0.32).abs() < 1e-12);
    }
}
