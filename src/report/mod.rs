//! Reports of a search: the Pareto front (CSV, and SVG with the hypervolume region shaded as in
//! the paper's figure 2), Table 1's population statistics (CSV and Markdown), hypervolume per
//! generation (SVG), what the search found ([`analyses`]: operators, motifs, phylogeny, evolution)
//! and an `index.html` that shows them together.
//!
//! Table 1's hypervolume and the analyses work in the *report axes* ([`ReportAxes`]; by default
//! validation accuracy and introspectability (eq. 1) from the records, a script may name others),
//! whatever the search's own objectives: a single-objective run and a multi-objective one are
//! compared in the same plane from the same reference point (by default (1/N_C, 0)), as the
//! paper's Table 1 and Figure 2 do. Table 1's "population-level statistics" are over the run's
//! final population ([`FinalPopulation`], Table 1's header and section 4.3), with the archive's
//! hypervolume (every evaluation) beside it; the analyses are over the archive.
//!
//! The input is plain data ([`ReportInput`]) so that the figures can be tested and produced from
//! any source; `xnas report` fills it from a run's store ([`input`], the one reader of a store here).
//!
//! Everything a page shows after its Table 1 (and, in a run's report, its front) is a section in
//! [`SECTIONS`]: a new section is a file of its own, its `mod` line and one line in that list;
//! `xnas report` and `xnas compare` both walk the list.

pub mod analyses;
mod chart;
pub mod compare;
mod figures;
pub mod groups;
pub mod input;
mod table_front;
pub mod trust;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use figures::{front_svg, hypervolume_svg};
pub use table_front::TableFront;

use compare::ComparedRun;

/// A file of a report or comparison: its name and content.
pub type File = (String, String);

/// What one section of a page gives: its files and the HTML that shows them.
pub struct Section {
    pub files: Vec<File>,
    pub html: String,
}

/// One section of the pages: what it adds to a run's report and to a comparison of runs (`None`:
/// that page has no such section).
pub struct SectionEntry {
    pub report: Option<fn(&ReportInput) -> Section>,
    pub compare: Option<fn(&[ComparedRun]) -> Section>,
}

/// The sections of both pages, in page order (files are written in the same order), one a line.
pub const SECTIONS: &[SectionEntry] = &[
    compare::FRONTS,      // compare only
    compare::HYPERVOLUME, // compare only
    analyses::SECTION,    // report only
    trust::SECTION,       // both
    compare::EVOLUTION,   // compare only
    groups::SECTION,      // compare only, with --group
    table_front::SECTION, // report only, of a replay
];

/// A point of a figure's plane: (introspectability, accuracy), as the paper's figures draw them.
pub type PlanePoint = (f64, f64);

/// One evaluated architecture.
#[derive(Debug, Clone, Serialize)]
pub struct ReportPoint {
    pub id: u64,
    pub genome: String,
    pub arch: String,
    pub generation: u64,
    pub accuracy: Option<f64>,
    pub introspectability: Option<f64>,
    /// Eq. 3–4 (WordNet-weighted, normalised), where the dataset's labels map to WordNet.
    pub wordnet_introspectability: Option<f64>,
    /// The search's objective values (as the script defines them), when scored.
    pub objectives: Option<Vec<f64>>,
    pub params: u64,
    pub flops: u64,
    /// Training throughput (App. J's training speed).
    pub train_images_per_second: f64,
    /// Its values on the report axes, in [`ReportAxes::names`]' order (finite, or `None`).
    pub axes: Option<[f64; 2]>,
    /// Training minus validation accuracy (App. J), where the record has the training accuracy.
    pub generalization_error: Option<f64>,
    /// Where the script's early-stopping rule stopped its training (its values are that epoch's).
    pub stopped: Option<StoppedEarly>,
    /// The table record that answered it in a replay (`xnas run --table`): `TABLE #ID`.
    pub replayed_from: Option<String>,
}

/// A training the early-stopping rule stopped: after `epoch` of `epochs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StoppedEarly {
    pub epoch: usize,
    pub epochs: usize,
}

/// How much early stopping saved over a run's evaluated architectures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EarlyStops {
    pub stopped: usize,
    pub evaluated: usize,
    /// Σ over stopped trainings of the epochs they did not run.
    pub epochs_not_trained: usize,
}

impl std::fmt::Display for EarlyStops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of {} candidates stopped early, {} epochs not trained",
            self.stopped, self.evaluated, self.epochs_not_trained
        )
    }
}

/// One candidate's place in the genealogy, reused evaluations included (the phylogeny needs
/// every ancestor even when its record was taken from an earlier evaluation).
#[derive(Debug, Clone, Serialize)]
pub struct LineageRow {
    pub id: u64,
    pub genome: String,
    /// As in [`ReportPoint::generation`].
    pub generation: u64,
    pub parents: Vec<u64>,
    /// Its values on the report axes, when it has a record.
    pub axes: Option<[f64; 2]>,
}

/// The report's plane: two maximised quantities (the figures' y axis first, then x) and the
/// hypervolume's reference point in them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportAxes {
    pub names: [String; 2],
    pub reference: [f64; 2],
}

impl ReportAxes {
    /// The paper's plane: validation accuracy and introspectability (eq. 1) from (1/N_C, 0).
    pub fn paper(num_classes: usize) -> ReportAxes {
        ReportAxes {
            names: ["val_accuracy".into(), "introspectability".into()],
            reference: [1.0 / num_classes.max(1) as f64, 0.0],
        }
    }

    /// "y × x", for captions.
    pub fn label(&self) -> String {
        format!("{} × {}", self.names[0], self.names[1])
    }
}

/// Everything a report shows.
#[derive(Debug, Clone)]
pub struct ReportInput {
    pub run_name: String,
    pub dataset: String,
    /// Table 1's variant: `✗` (single objective), `✓` (multi-objective) or `reg` (the regularizer
    /// in every candidate's training).
    pub variant: String,
    pub num_classes: usize,
    /// Objective names, in the order of `ReportPoint::objectives`.
    pub objective_names: Vec<String>,
    /// `true` where an objective is maximised.
    pub maximise: Vec<bool>,
    /// The hypervolume reference point, in objective space.
    pub reference_point: Vec<f64>,
    pub points: Vec<ReportPoint>,
    /// Indices into `points` of the non-dominated set.
    pub front: Vec<usize>,
    /// The search's own hypervolume after each generation (search objectives, as stored).
    pub hypervolume_per_generation: Vec<(u64, f64)>,
    /// Every candidate's lineage and report axes.
    pub lineage: Vec<LineageRow>,
    /// Each saved generation's population (candidate ids).
    pub populations: Vec<(u64, Vec<u64>)>,
    /// The plane of Table 1's hypervolume and the analyses.
    pub axes: ReportAxes,
    /// The report front's models with their records, for the trust section.
    pub trust: trust::TrustInput,
    /// Why the WordNet-weighted columns are empty (WordNet or the labels' synsets did not resolve).
    pub wordnet_unavailable: Option<String>,
    /// A replayed run's table, in the report axes: its front, against which the run's is measured.
    pub table_front: Option<TableFront>,
    /// The population Table 1's statistics are over; `None`: every evaluation (the archive).
    pub final_population: Option<FinalPopulation>,
}

/// The population behind Table 1's "population-level statistics" (its header; section 4.3).
///
/// The paper's reading: the final population of generation G (the table's "Gen." column), for a
/// `ga` run its survivors; for a ✓+reg run (a front trained again with the regularizer) the ✓
/// run's final population with its front members replaced by their regularized retraining — the
/// reading under which the paper's ✓ and ✓+reg medians are nearly equal (74.6 % and 74.2 % on
/// CIFAR-10) while the maximum introspectability rises. The other reading, every evaluation of the
/// run, is `xnas report --table1-over archive` (then this is `None`).
#[derive(Debug, Clone)]
pub struct FinalPopulation {
    /// Its members as the points they were evaluated as, one per member (a member whose training
    /// was reused from an earlier candidate is that candidate's point).
    pub members: Vec<ReportPoint>,
    /// Table 1's "Gen." column: the generations that bred it.
    pub generations: usize,
    /// What it is, for the page's prose ("generation 18's population", …).
    pub description: String,
}

impl FinalPopulation {
    /// A ✓+reg row's members: the source run's final population with every member whose
    /// architecture was trained again (`retrained`, matched by genome) replaced by its retraining;
    /// the other members stay as they were.
    pub fn with_retraining(source_members: Vec<ReportPoint>, retrained: &[ReportPoint]) -> Vec<ReportPoint> {
        let by_genome: std::collections::HashMap<&str, &ReportPoint> =
            retrained.iter().map(|p| (p.genome.as_str(), p)).collect();
        source_members
            .into_iter()
            .map(|member| by_genome.get(member.genome.as_str()).map_or(member, |&p| p.clone()))
            .collect()
    }
}

impl ReportInput {
    /// The trainings the early-stopping rule stopped, and the epochs that saved.
    pub fn early_stops(&self) -> EarlyStops {
        let stopped: Vec<&StoppedEarly> = self.points.iter().filter_map(|p| p.stopped.as_ref()).collect();
        EarlyStops {
            stopped: stopped.len(),
            evaluated: self.points.len(),
            epochs_not_trained: stopped.iter().map(|s| s.epochs.saturating_sub(s.epoch)).sum(),
        }
    }

    /// How many evaluations a table answered (a replay, `xnas run --table`), and the tables.
    pub fn replayed(&self) -> (usize, Vec<&str>) {
        let sources: Vec<&str> = self.points.iter().filter_map(|p| p.replayed_from.as_deref()).collect();
        let mut tables: Vec<&str> =
            sources.iter().map(|source| source.rsplit_once(" #").map_or(*source, |(table, _)| table)).collect();
        tables.sort_unstable();
        tables.dedup();
        (sources.len(), tables)
    }

    /// The report axes' reference point (by default chance accuracy and zero introspectability).
    pub fn report_reference(&self) -> [f64; 2] {
        self.axes.reference
    }

    /// Hypervolume in the report axes of every evaluation born up to `generation` (all of them
    /// with `None`): the archive's non-dominated set, not the crowding-truncated population.
    pub fn archive_hypervolume(&self, generation: Option<u64>) -> Option<f64> {
        self.archive_hypervolume_from(generation, self.report_reference())
    }

    /// [`Self::archive_hypervolume`] from another reference point (runs compared on one).
    pub fn archive_hypervolume_from(&self, generation: Option<u64>, reference: [f64; 2]) -> Option<f64> {
        hypervolume_of(self.points.iter().filter(|p| generation.is_none_or(|g| p.generation <= g)), reference)
    }

    /// Indices into `points` of the evaluations no other dominates in the report axes (both
    /// maximised): the run's final front as the report, `compare` and `xnas refine` see it.
    pub fn report_front(&self) -> Vec<usize> {
        let finite = |p: &ReportPoint| p.axes.filter(|a| a.iter().all(|v| v.is_finite()));
        let (indices, axes): (Vec<usize>, Vec<[f64; 2]>) =
            self.points.iter().enumerate().filter_map(|(i, p)| Some((i, finite(p)?))).unzip();
        let front =
            xnas_moo::non_dominated(&axes, &[xnas_moo::Direction::Maximise; 2]).expect("finite points of two axes");
        front.into_iter().map(|k| indices[k]).collect()
    }

    /// Every evaluated point in the report plane, (second axis, first axis) — (introspectability,
    /// accuracy) by default, as the paper's figures draw it — and the non-dominated ones among them.
    pub fn report_plane(&self) -> (Vec<PlanePoint>, Vec<PlanePoint>) {
        let plane = |p: &ReportPoint| p.axes.filter(|a| a.iter().all(|v| v.is_finite())).map(|[y, x]| (x, y));
        let all: Vec<PlanePoint> = self.points.iter().filter_map(plane).collect();
        let front = self.report_front().into_iter().filter_map(|i| plane(&self.points[i])).collect();
        (all, front)
    }

    /// [`Self::archive_hypervolume`] after each saved generation.
    pub fn archive_hypervolume_per_generation(&self) -> Vec<(u64, f64)> {
        let mut generations: Vec<u64> = self.points.iter().map(|p| p.generation).collect();
        generations.extend(self.hypervolume_per_generation.iter().map(|&(g, _)| g));
        generations.sort_unstable();
        generations.dedup();
        generations.into_iter().filter_map(|g| Some((g, self.archive_hypervolume(Some(g))?))).collect()
    }
}

/// Table 1 of the paper for one run: its statistics over the run's [`FinalPopulation`] (over
/// every evaluation where the input has none).
#[derive(Debug, Clone, Serialize)]
pub struct Table1 {
    pub evaluated: usize,
    /// How many members the statistics are over (the final population's size, or `evaluated`).
    pub population: usize,
    pub generations: usize,
    pub max_accuracy: Option<f64>,
    pub median_accuracy: Option<f64>,
    pub max_introspectability: Option<f64>,
    pub median_introspectability: Option<f64>,
    /// Eq. 3–4 where the dataset has WordNet labels (`None` otherwise).
    pub max_wordnet_introspectability: Option<f64>,
    pub median_wordnet_introspectability: Option<f64>,
    /// In the report axes, of the population's non-dominated set, from their reference point.
    pub hypervolume: Option<f64>,
    /// In the report axes, of every evaluation's (the archive's) non-dominated set: what a user
    /// who keeps every model gets.
    pub archive_hypervolume: Option<f64>,
    /// The search's own hypervolume at its last generation (its objectives and reference point).
    pub search_hypervolume: Option<f64>,
}

/// Hypervolume in the report axes of the points' finite values (`None` without one).
fn hypervolume_of<'a>(points: impl Iterator<Item = &'a ReportPoint>, reference: [f64; 2]) -> Option<f64> {
    let finite: Vec<[f64; 2]> = points.filter_map(|p| p.axes).filter(|p| p.iter().all(|v| v.is_finite())).collect();
    if finite.is_empty() {
        return None;
    }
    xnas_hv::hypervolume_max(&finite, &reference).ok()
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

impl Table1 {
    /// Statistics over the run's final population (over every finished evaluation where the
    /// input has none), with the archive's hypervolume beside them.
    pub fn from_input(input: &ReportInput) -> Table1 {
        Table1::from_input_with_reference(input, input.report_reference())
    }

    /// [`Table1::from_input`] with the hypervolumes from `reference` (runs compared on one point).
    pub fn from_input_with_reference(input: &ReportInput, reference: [f64; 2]) -> Table1 {
        let population: &[ReportPoint] = input.final_population.as_ref().map_or(&input.points, |p| &p.members);
        let acc: Vec<f64> = population.iter().filter_map(|p| p.accuracy).collect();
        let intro: Vec<f64> = population.iter().filter_map(|p| p.introspectability).collect();
        let wordnet: Vec<f64> = population.iter().filter_map(|p| p.wordnet_introspectability).collect();
        let max = |v: &[f64]| v.iter().copied().reduce(f64::max);
        Table1 {
            evaluated: input.points.len(),
            population: population.len(),
            generations: input
                .final_population
                .as_ref()
                .map_or(input.hypervolume_per_generation.len(), |p| p.generations),
            max_accuracy: max(&acc),
            median_accuracy: median(acc.clone()),
            max_introspectability: max(&intro),
            median_introspectability: median(intro.clone()),
            max_wordnet_introspectability: max(&wordnet),
            median_wordnet_introspectability: median(wordnet),
            hypervolume: hypervolume_of(population.iter(), reference),
            archive_hypervolume: input.archive_hypervolume_from(None, reference),
            search_hypervolume: input.hypervolume_per_generation.last().map(|&(_, hv)| hv),
        }
    }

    pub fn markdown(&self, run_name: &str, dataset: &str) -> String {
        let (pct, num) = (percent_cell, |x| number_cell(x, 3));
        format!(
            "| Run | Dataset | Gen. | Evaluated | Population | Max accuracy | Median accuracy | Max intros. | Median intros. | Max intros. (WordNet) | Median intros. (WordNet) | Hypervolume | Archive hypervolume |\n\
             |---|---|---|---|---|---|---|---|---|---|---|---|---|\n\
             | {run_name} | {dataset} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            self.generations,
            self.evaluated,
            self.population,
            pct(self.max_accuracy),
            pct(self.median_accuracy),
            num(self.max_introspectability),
            num(self.median_introspectability),
            num(self.max_wordnet_introspectability),
            num(self.median_wordnet_introspectability),
            num(self.hypervolume),
            num(self.archive_hypervolume)
        )
    }

    pub fn csv(&self) -> String {
        let f = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v}"));
        format!(
            "generations,evaluated,population,max_accuracy,median_accuracy,max_introspectability,median_introspectability,\
             max_wordnet_introspectability,median_wordnet_introspectability,hypervolume,archive_hypervolume,search_hypervolume\n\
             {},{},{},{},{},{},{},{},{},{},{},{}\n",
            self.generations,
            self.evaluated,
            self.population,
            f(self.max_accuracy),
            f(self.median_accuracy),
            f(self.max_introspectability),
            f(self.median_introspectability),
            f(self.max_wordnet_introspectability),
            f(self.median_wordnet_introspectability),
            f(self.hypervolume),
            f(self.archive_hypervolume),
            f(self.search_hypervolume)
        )
    }
}

/// The Pareto front as CSV: one row per non-dominated architecture, sorted by the first objective.
pub fn front_csv(input: &ReportInput) -> String {
    let mut out = String::from("id,generation,genome,arch");
    for name in &input.objective_names {
        let _ = write!(out, ",{name}");
    }
    // The record's measurements a script's objective of the same name already shows are not
    // repeated: each column name once.
    let measured = |name: &str| !input.objective_names.iter().any(|n| n == name);
    let (show_accuracy, show_introspectability) = (measured("val_accuracy"), measured("introspectability"));
    for (name, shown) in [("val_accuracy", show_accuracy), ("introspectability", show_introspectability)] {
        if shown {
            let _ = write!(out, ",{name}");
        }
    }
    out.push_str(",params,flops,status\n");
    let mut front: Vec<&ReportPoint> = input.front.iter().map(|&i| &input.points[i]).collect();
    front.sort_by(|a, b| {
        let key = |p: &ReportPoint| p.objectives.as_ref().and_then(|o| o.first().copied()).unwrap_or(f64::NAN);
        key(a).total_cmp(&key(b))
    });
    let f = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v}"));
    for p in front {
        let _ = write!(out, "{},{},{},\"{}\"", p.id, p.generation, p.genome, p.arch);
        for v in p.objectives.iter().flatten() {
            let _ = write!(out, ",{v}");
        }
        let status = if p.stopped.is_some() { "stopped" } else { "done" };
        for (value, shown) in [(p.accuracy, show_accuracy), (p.introspectability, show_introspectability)] {
            if shown {
                let _ = write!(out, ",{}", f(value));
            }
        }
        let _ = writeln!(out, ",{},{},{status}", p.params, p.flops);
    }
    out
}

/// Writes every report file into `dir` and returns the paths written.
pub fn write_report(input: &ReportInput, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let table = Table1::from_input(input);
    let sections: Vec<Section> = SECTIONS.iter().filter_map(|entry| Some(entry.report?(input))).collect();
    let html: String = sections.iter().map(|section| section.html.as_str()).collect();
    let mut files: Vec<File> = vec![
        ("front.csv".into(), front_csv(input)),
        ("front.svg".into(), front_svg(input)),
        ("hypervolume.svg".into(), hypervolume_svg(input)),
        ("table1.csv".into(), table.csv()),
        ("table1.md".into(), table.markdown(&input.run_name, &input.dataset)),
        ("index.html".into(), index_html(input, &table, &html)),
    ];
    files.extend(sections.into_iter().flat_map(|section| section.files));
    let mut written = Vec::new();
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text)?;
        written.push(path);
    }
    Ok(written)
}

/// A table cell of a fraction as a percentage with one decimal; `–` when there is none.
fn percent_cell(x: Option<f64>) -> String {
    x.map_or("–".into(), |v| format!("{:.1}%", 100.0 * v))
}

/// A table cell of a number with `digits` decimals; `–` when there is none.
fn number_cell(x: Option<f64>, digits: usize) -> String {
    x.map_or("–".into(), |v| format!("{v:.digits$}"))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn index_html(input: &ReportInput, table: &Table1, sections: &str) -> String {
    let mut rows = String::new();
    let mut front: Vec<&ReportPoint> = input.front.iter().map(|&i| &input.points[i]).collect();
    front.sort_by(|a, b| b.accuracy.unwrap_or(0.0).total_cmp(&a.accuracy.unwrap_or(0.0)));
    for p in front {
        let objectives = p.objectives.iter().flatten().map(|v| format!("<td>{v:.4}</td>")).collect::<Vec<_>>().join("");
        let stopped =
            p.stopped.map_or(String::new(), |s| format!(" (stopped after epoch {} of {})", s.epoch, s.epochs));
        let _ = writeln!(
            rows,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code>{stopped}</td>{objectives}<td>{:.4}M</td></tr>",
            p.id,
            p.generation,
            escape(&p.arch),
            p.params as f64 / 1e6
        );
    }
    let headers = input.objective_names.iter().map(|n| format!("<th>{}</th>", escape(n))).collect::<String>();
    format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>xnas report: {name}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}td:nth-child(3){{text-align:left}}img{{max-width:100%}}</style>
</head><body>
<h1>xnas report: {name}</h1>
<p>Dataset {dataset}, {evaluated} architectures evaluated over {generations} generation(s){early}.{replay} Files: <a href="front.csv">front.csv</a>, <a href="table1.csv">table1.csv</a>, <a href="table1.md">table1.md</a>.</p>
<h2>Table 1</h2>
<p>Over {over} ({size} architectures); hypervolume of its non-dominated set and of the archive's (every evaluation) in the report axes ({axes}) from ({refy:.3}, {refx:.3}), and the search's own at its last generation.</p>
<table><tr><th>Max accuracy</th><th>Median accuracy</th><th>Max intros.</th><th>Median intros.</th><th>Max intros. (WordNet)</th><th>Median intros. (WordNet)</th><th>Hypervolume</th><th>Archive hypervolume</th><th>Search's hypervolume</th></tr>
<tr><td>{maxacc}</td><td>{medacc}</td><td>{maxin}</td><td>{medin}</td><td>{maxwn}</td><td>{medwn}</td><td>{hv}</td><td>{ahv}</td><td>{shv}</td></tr></table>
{wordnet_note}<h2>Pareto front</h2>
<img src="front.svg" alt="Pareto front">
<h2>Hypervolume per generation</h2>
<img src="hypervolume.svg" alt="hypervolume per generation">
<h2>Non-dominated architectures</h2>
<table><tr><th>id</th><th>gen.</th><th>architecture</th>{headers}<th>params</th></tr>
{rows}</table>
{sections}
</body></html>
"#,
        name = escape(&input.run_name),
        dataset = escape(&input.dataset),
        evaluated = table.evaluated,
        generations = table.generations,
        replay = match input.replayed() {
            (0, _) => String::new(),
            (answered, tables) => {
                let trained = input.points.len() - answered;
                format!(
                    " <b>A replay</b>: {answered} of the {} evaluation(s) were answered from the table {} (its \
                     records, not trained here; each says <code>replayed_from</code>){}.",
                    input.points.len(),
                    escape(&tables.join(", ")),
                    match trained {
                        0 => ", on a simulated clock".to_string(),
                        _ => format!(", the other {trained} trained (<code>--table-miss train</code>)"),
                    }
                )
            }
        },
        early = match input.early_stops() {
            stops if stops.stopped > 0 => format!("; {stops} (their values are those of the epoch they stopped at)"),
            _ => String::new(),
        },
        maxacc = table.max_accuracy.map_or("–".into(), |v| format!("{:.1}%", 100.0 * v)),
        medacc = table.median_accuracy.map_or("–".into(), |v| format!("{:.1}%", 100.0 * v)),
        maxin = table.max_introspectability.map_or("–".into(), |v| format!("{v:.3}")),
        medin = table.median_introspectability.map_or("–".into(), |v| format!("{v:.3}")),
        maxwn = table.max_wordnet_introspectability.map_or("–".into(), |v| format!("{v:.3}")),
        medwn = table.median_wordnet_introspectability.map_or("–".into(), |v| format!("{v:.3}")),
        hv = table.hypervolume.map_or("–".into(), |v| format!("{v:.4}")),
        ahv = table.archive_hypervolume.map_or("–".into(), |v| format!("{v:.4}")),
        over = escape(input.final_population.as_ref().map_or("every evaluated architecture", |p| &p.description)),
        size = table.population,
        shv = table.search_hypervolume.map_or("–".into(), |v| format!("{v:.4}")),
        axes = escape(&input.axes.label()),
        refy = input.report_reference()[0],
        refx = input.report_reference()[1],
        wordnet_note = input
            .wordnet_unavailable
            .as_ref()
            .map_or(String::new(), |why| format!("<p>The WordNet columns are empty: {}</p>\n", escape(why))),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> ReportInput {
        let point = |id, acc, intro| ReportPoint {
            id,
            genome: "002404".into(),
            arch: "|nor_conv_3x3~0|+|...|".into(),
            generation: id / 2,
            accuracy: Some(acc),
            introspectability: Some(intro),
            wordnet_introspectability: Some(intro * 2.0),
            objectives: Some(vec![acc, intro]),
            params: 100_000,
            flops: 1_000_000,
            train_images_per_second: 500.0,
            generalization_error: Some(0.05),
            axes: Some([acc, intro]),
            stopped: None,
            replayed_from: None,
        };
        ReportInput {
            run_name: "test".into(),
            dataset: "fashion-mnist".into(),
            variant: "✓".into(),
            num_classes: 10,
            objective_names: vec!["accuracy".into(), "introspectability".into()],
            maximise: vec![true, true],
            reference_point: vec![0.1, 0.0],
            points: vec![point(0, 0.9, 0.2), point(1, 0.8, 0.4), point(2, 0.7, 0.3), point(3, 0.5, 0.5)],
            front: vec![0, 1, 3],
            hypervolume_per_generation: vec![(0, 0.2), (1, 0.31)],
            lineage: Vec::new(),
            populations: Vec::new(),
            axes: ReportAxes::paper(10),
            trust: Default::default(),
            wordnet_unavailable: None,
            table_front: None,
            final_population: None,
        }
    }

    #[test]
    fn table1_statistics_by_hand() {
        let t = Table1::from_input(&sample());
        assert_eq!(t.max_accuracy, Some(0.9));
        assert_eq!(t.median_accuracy, Some(0.75));
        assert_eq!(t.max_introspectability, Some(0.5));
        assert_eq!(t.median_introspectability, Some(0.35));
        // Report axes from (0.1, 0): boxes under (0.9, 0.2), (0.8, 0.4), (0.5, 0.5) stacked by
        // introspectability: 0.8·0.2 + 0.7·0.2 + 0.4·0.1 = 0.34 (point 2, (0.7, 0.3), is dominated).
        assert!((t.hypervolume.unwrap() - 0.34).abs() < 1e-12, "{:?}", t.hypervolume);
        assert_eq!(t.search_hypervolume, Some(0.31));
        assert_eq!((t.max_wordnet_introspectability, t.median_wordnet_introspectability), (Some(1.0), Some(0.7)));
        assert!(t
            .markdown("test", "fashion-mnist")
            .contains("| 90.0% | 75.0% | 0.500 | 0.350 | 1.000 | 0.700 | 0.340 |"));
    }

    /// `sample()`'s points 1–3 as the final population: its statistics by hand, the archive's
    /// hypervolume beside them.
    #[test]
    fn table1_is_over_the_final_population_with_the_archives_hypervolume_beside_it() {
        let mut input = sample();
        input.final_population = Some(FinalPopulation {
            members: input.points[1..].to_vec(),
            generations: 2,
            description: "generation 2's population".into(),
        });
        let t = Table1::from_input(&input);
        // Members (0.8, 0.4), (0.7, 0.3), (0.5, 0.5); WordNet twice the plain introspectability.
        assert_eq!((t.evaluated, t.population, t.generations), (4, 3, 2));
        assert_eq!((t.max_accuracy, t.median_accuracy), (Some(0.8), Some(0.7)));
        assert_eq!((t.max_introspectability, t.median_introspectability), (Some(0.5), Some(0.4)));
        assert_eq!((t.max_wordnet_introspectability, t.median_wordnet_introspectability), (Some(1.0), Some(0.8)));
        // From (0.1, 0): (0.7, 0.3) is dominated; 0.7·0.4 + 0.4·0.1 = 0.32. The archive adds
        // (0.9, 0.2): 0.34 as in `table1_statistics_by_hand`.
        assert!((t.hypervolume.unwrap() - 0.32).abs() < 1e-12, "{:?}", t.hypervolume);
        assert!((t.archive_hypervolume.unwrap() - 0.34).abs() < 1e-12, "{:?}", t.archive_hypervolume);
        let markdown = t.markdown("test", "fashion-mnist");
        assert!(
            markdown.contains(
                "| test | fashion-mnist | 2 | 4 | 3 | 80.0% | 70.0% | 0.500 | 0.400 | 1.000 | 0.800 | 0.320 | 0.340 |"
            ),
            "{markdown}"
        );
        let csv = t.csv();
        let (header, row) = csv.split_once('\n').unwrap();
        let value = |name: &str| row.trim().split(',').nth(header.split(',').position(|h| h == name).unwrap()).unwrap();
        assert_eq!((value("population"), value("median_accuracy")), ("3", "0.7"));
        assert!(value("hypervolume").starts_with("0.32") && value("archive_hypervolume").starts_with("0.34"), "{csv}");
        let html = index_html(&input, &t, "");
        assert!(html.contains("Over generation 2's population (3 architectures)"), "{html}");
    }

    /// ✓+reg: the ✓ run's final population with its front members replaced by their retraining.
    #[test]
    fn a_refined_rows_population_is_its_sources_with_the_front_retrained() {
        let source = sample();
        // The front of `sample()` is points 0, 1 and 3; retrained, each gains introspectability.
        let retrained: Vec<ReportPoint> = [(0, 0.88, 0.45), (1, 0.79, 0.6), (3, 0.5, 0.7)]
            .into_iter()
            .map(|(i, accuracy, intro)| {
                let mut p = source.points[i].clone();
                p.genome = format!("00000{i}");
                p.id = 100 + i as u64;
                (p.accuracy, p.introspectability, p.wordnet_introspectability) =
                    (Some(accuracy), Some(intro), Some(2.0 * intro));
                p.axes = Some([accuracy, intro]);
                p
            })
            .collect();
        let mut members = source.points.clone();
        for (i, member) in members.iter_mut().enumerate() {
            member.genome = format!("00000{i}");
        }
        let members = FinalPopulation::with_retraining(members, &retrained);
        let ids: Vec<u64> = members.iter().map(|p| p.id).collect();
        assert_eq!(ids, [100, 101, 2, 103], "point 2 was not retrained and stays");
        let mut refined = sample();
        refined.variant = "✓+reg".into();
        refined.points = retrained;
        refined.final_population =
            Some(FinalPopulation { members, generations: 2, description: "the source's population".into() });
        let t = Table1::from_input(&refined);
        // Members (0.88, 0.45), (0.79, 0.6), (0.7, 0.3), (0.5, 0.7): medians of the middle two.
        assert_eq!((t.population, t.evaluated, t.generations), (4, 3, 2));
        assert_eq!(t.max_accuracy, Some(0.88));
        assert!((t.median_accuracy.unwrap() - 0.745).abs() < 1e-12, "{:?}", t.median_accuracy);
        assert_eq!(t.max_introspectability, Some(0.7));
        assert!((t.median_introspectability.unwrap() - 0.525).abs() < 1e-12);
        // From (0.1, 0), (0.7, 0.3) dominated: 0.78·0.45 + 0.69·0.15 + 0.4·0.1 = 0.4945.
        assert!((t.hypervolume.unwrap() - 0.4945).abs() < 1e-12, "{:?}", t.hypervolume);
        // The run's own archive is the retrained front alone: the same three non-dominated points.
        assert!((t.archive_hypervolume.unwrap() - 0.4945).abs() < 1e-12);
    }

    #[test]
    fn a_single_objective_run_and_a_multi_objective_one_with_the_same_archive_have_the_same_hypervolume() {
        let nsga2 = sample();
        let mut ga = sample();
        ga.objective_names = vec!["accuracy".into()];
        ga.maximise = vec![true];
        ga.reference_point = vec![0.1];
        for p in &mut ga.points {
            p.objectives = p.accuracy.map(|a| vec![a]);
        }
        // The GA's own "front" is its single best point and its stored hypervolume that of one point.
        ga.front = vec![0];
        ga.hypervolume_per_generation = vec![(0, 0.8), (1, 0.8)];
        let (a, b) = (Table1::from_input(&nsga2), Table1::from_input(&ga));
        assert_eq!(a.hypervolume, b.hypervolume);
        assert_ne!(a.search_hypervolume, b.search_hypervolume);
        assert_eq!(nsga2.archive_hypervolume_per_generation(), ga.archive_hypervolume_per_generation());
        // Generation 0 holds points 0 and 1 only: 0.8·0.2 + 0.7·0.2 = 0.30.
        let first = nsga2.archive_hypervolume_per_generation()[0];
        assert_eq!(first.0, 0);
        assert!((first.1 - 0.30).abs() < 1e-12, "{first:?}");
    }

    #[test]
    fn front_csv_lists_the_front_sorted() {
        let csv = front_csv(&sample());
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[1].starts_with("3,1,002404,"));
        assert!(lines[3].starts_with("0,0,002404,"));
        // The objective `introspectability` is the record's: its column comes once.
        let header: Vec<&str> = lines[0].split(',').collect();
        assert_eq!(header.iter().filter(|c| **c == "introspectability").count(), 1, "{}", lines[0]);
        assert!(header.contains(&"val_accuracy"), "{}", lines[0]);
        assert!(lines[1..].iter().all(|l| l.matches(',').count() == header.len() - 1), "{csv}");
    }

    #[test]
    fn a_report_says_why_its_wordnet_columns_are_empty() {
        let mut input = sample();
        assert!(!index_html(&input, &Table1::from_input(&input), "").contains("WordNet columns are empty"));
        input.wordnet_unavailable = Some("cannot read WordNet file /nowhere/data.noun <missing>".into());
        let html = index_html(&input, &Table1::from_input(&input), "");
        let note = "<p>The WordNet columns are empty: cannot read WordNet file /nowhere/data.noun &lt;missing&gt;</p>";
        assert!(html.contains(note), "{html}");
    }

    #[test]
    fn stopped_candidates_are_marked_and_counted() {
        let mut input = sample();
        assert_eq!(input.early_stops(), EarlyStops { stopped: 0, evaluated: 4, epochs_not_trained: 0 });
        input.points[3].stopped = Some(StoppedEarly { epoch: 2, epochs: 12 });
        input.points[2].stopped = Some(StoppedEarly { epoch: 1, epochs: 12 });
        let stops = input.early_stops();
        assert_eq!(stops, EarlyStops { stopped: 2, evaluated: 4, epochs_not_trained: 21 });
        assert_eq!(stops.to_string(), "2 of 4 candidates stopped early, 21 epochs not trained");
        let csv = front_csv(&input);
        assert!(csv.lines().next().unwrap().ends_with(",status"));
        assert!(csv.lines().nth(1).unwrap().starts_with("3,") && csv.lines().nth(1).unwrap().ends_with(",stopped"));
        assert!(csv.lines().nth(3).unwrap().ends_with(",done"));
        let html = index_html(&input, &Table1::from_input(&input), "");
        assert!(html.contains("2 of 4 candidates stopped early, 21 epochs not trained"), "{html}");
        assert!(html.contains("(stopped after epoch 2 of 12)"));
        assert!(!index_html(&sample(), &Table1::from_input(&sample()), "").contains("stopped"));
    }

    #[test]
    fn a_replay_says_so_and_names_its_table() {
        let mut input = sample();
        assert!(!index_html(&input, &Table1::from_input(&input), "").contains("replay"));
        for (i, point) in input.points.iter_mut().enumerate() {
            point.replayed_from = Some(format!("/tables/t.jsonl.gz #{i}"));
        }
        assert_eq!(input.replayed(), (4, vec!["/tables/t.jsonl.gz"]));
        let html = index_html(&input, &Table1::from_input(&input), "");
        assert!(html.contains("4 of the 4 evaluation(s) were answered from the table /tables/t.jsonl.gz"), "{html}");
        assert!(html.contains("on a simulated clock"), "{html}");
        input.points[0].replayed_from = None;
        let html = index_html(&input, &Table1::from_input(&input), "");
        assert!(html.contains("3 of the 4") && html.contains("the other 1 trained"), "{html}");
    }

    #[test]
    fn writes_every_file() {
        let dir = std::env::temp_dir().join(format!("xnas-report-test-{}", std::process::id()));
        let written = write_report(&sample(), &dir).unwrap();
        assert!(written.len() >= 6, "{written:?}");
        let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
        assert!(html.contains("front.svg") && html.contains("90.0%"));
        std::fs::remove_dir_all(dir).ok();
    }
}
