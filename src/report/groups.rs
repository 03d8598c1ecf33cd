//! Groups of runs compared as groups (issue 20's `xnas compare --group LABEL=…`): per group the
//! mean, standard deviation and 95 % t-interval of every Table 1 column (`groups.csv`); per pair
//! of groups the hypervolume difference with a seeded bootstrap interval and a two-sided rank
//! test — Wilcoxon signed-rank when the runs pair by seed, Mann–Whitney U otherwise
//! (`tests.csv`); per group the best, quartile, median and worst attainment surfaces of its
//! runs' fronts in the report axes (`eaf.csv`); per group and generation the mean archive
//! hypervolume with its 95 % t-interval (`groups_hypervolume.csv`, drawn as a band in
//! `groups_hypervolume.svg`); App. H per group, each generation's front pooled over the group's
//! runs (`groups_evolution.csv`, `groups_evolution.svg`); and the figures of the attainment
//! functions: each group's median surface with its 25–75 % band (`eaf.svg`), and for two groups
//! where in the plane one attains more often than the other (`eaf_difference.svg`). In
//! `xnas compare`'s page it is the section after the per-run ones ([`SECTION`]), read from the
//! compared runs' group labels. Plain data in, CSV and SVG text out; the numbers are
//! `xnas-analysis`'s, which are checked against SciPy and moocore.

use std::fmt::Write as _;

use plotters::prelude::*;

use xnas_analysis::{
    attainment_difference, attainment_surfaces, bootstrap_mean_difference, mann_whitney_u, summarize,
    wilcoxon_signed_rank, AnalysisError, Pairing, TestMethod,
};
use xnas_moo::Direction;

use super::analyses::{
    evolution_header, evolution_rows, evolution_svg, generation_fronts, summarise_generations, Generations,
};
use super::chart::{draw_legend, generation_chart, ranges, svg_figure, Frame, Room};
use super::compare::{plane_panel, ComparedRun, COLOURS};
use super::{escape, Section, SectionEntry, Table1};

/// The bootstrap's resamples and seed: fixed, so that a compare of the same runs writes the same
/// interval.
pub const BOOTSTRAP_RESAMPLES: usize = 10_000;
pub const BOOTSTRAP_SEED: u64 = 20;

/// The attainment surfaces `eaf.csv` holds: best run, quartiles (the figure's band), median, worst.
pub const EAF_PERCENTILES: [f64; 5] = [0.0, 25.0, 50.0, 75.0, 100.0];

/// One run of a group, reduced to what group statistics need.
#[derive(Debug, Clone)]
pub struct GroupRun {
    pub folder: String,
    /// The run's search seed, when known: two groups whose runs have the same seeds pair.
    pub seed: Option<u64>,
    pub table: Table1,
    /// The run's final front in the report axes (both maximised), in the axes' order.
    pub front: Vec<[f64; 2]>,
    /// The archive's hypervolume in the report axes after each saved generation, from the
    /// comparison's common reference point.
    pub hypervolume_per_generation: Vec<(u64, f64)>,
    /// Each generation's front (its evaluated candidates that no other of them dominates) in
    /// the report axes, for App. H per group.
    pub generation_fronts: Vec<(u64, Vec<[f64; 2]>)>,
}

impl GroupRun {
    /// A compared run's Table 1 (hypervolume from `reference`, the comparison's common point),
    /// fronts and seed.
    pub fn from_compared(run: &ComparedRun, reference: [f64; 2]) -> GroupRun {
        let front = run.input.report_front().into_iter().filter_map(|i| run.input.points[i].axes).collect();
        let hypervolume_per_generation = run
            .input
            .archive_hypervolume_per_generation()
            .into_iter()
            .filter_map(|(generation, _)| {
                Some((generation, run.input.archive_hypervolume_from(Some(generation), reference)?))
            })
            .collect();
        let generation_fronts = generation_fronts(&run.input)
            .into_iter()
            .map(|(generation, members)| (generation, members.iter().map(|&(_, y, x)| [y, x]).collect()))
            .collect();
        GroupRun {
            folder: run.folder.clone(),
            seed: run.seed,
            table: Table1::from_input_with_reference(&run.input, reference),
            front,
            hypervolume_per_generation,
            generation_fronts,
        }
    }
}

/// A labelled group of runs (`✗`, `✓`, …).
#[derive(Debug, Clone)]
pub struct RunGroup {
    pub label: String,
    pub runs: Vec<GroupRun>,
}

/// Why groups cannot be compared.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error("the group {label:?} has no runs; give each --group LABEL=RUNS at least one run folder")]
    EmptyGroup { label: String },
    #[error("two groups are labelled {label:?}; give each --group its own label")]
    DuplicateLabel { label: String },
    #[error("the run {folder} is in no group while others are; give every run a --group, or none")]
    Ungrouped { folder: String },
    #[error("group statistics of {label:?}: {source}")]
    Analysis { label: String, source: AnalysisError },
}

/// How a Table 1 column is read from a run's table (`None` where the run has no value).
type ColumnReader = fn(&Table1) -> Option<f64>;

/// Table 1's numeric columns, by the names `groups.csv` gives them.
const COLUMNS: [(&str, ColumnReader); 11] = [
    ("generations", |t| Some(t.generations as f64)),
    ("evaluated", |t| Some(t.evaluated as f64)),
    ("population", |t| Some(t.population as f64)),
    ("max_accuracy", |t| t.max_accuracy),
    ("median_accuracy", |t| t.median_accuracy),
    ("max_introspectability", |t| t.max_introspectability),
    ("median_introspectability", |t| t.median_introspectability),
    ("max_wordnet_introspectability", |t| t.max_wordnet_introspectability),
    ("median_wordnet_introspectability", |t| t.median_wordnet_introspectability),
    ("hypervolume", |t| t.hypervolume),
    ("archive_hypervolume", |t| t.archive_hypervolume),
];

/// Refuses a label given to two groups.
pub fn check_labels<'a>(labels: impl IntoIterator<Item = &'a str>) -> Result<(), GroupError> {
    let mut seen = std::collections::HashSet::new();
    for label in labels {
        if !seen.insert(label) {
            return Err(GroupError::DuplicateLabel { label: label.to_string() });
        }
    }
    Ok(())
}

/// The compared runs' groups, in the order given: each group is a run of consecutive runs with
/// one label (none when no run has a label).
pub fn run_groups(runs: &[ComparedRun]) -> Result<Vec<RunGroup>, GroupError> {
    let reference = runs.first().map_or([0.0, 0.0], |run| run.input.report_reference());
    Ok(labelled_runs(runs)?
        .into_iter()
        .map(|(label, members)| RunGroup {
            label: label.to_string(),
            runs: members.into_iter().map(|run| GroupRun::from_compared(run, reference)).collect(),
        })
        .collect())
}

/// Refuses a grouping [`run_groups`] would refuse, without computing the groups' data.
pub fn check_grouping(runs: &[ComparedRun]) -> Result<(), GroupError> {
    labelled_runs(runs).map(|_| ())
}

/// The runs by group label, consecutive runs of one label together.
fn labelled_runs(runs: &[ComparedRun]) -> Result<Vec<(&str, Vec<&ComparedRun>)>, GroupError> {
    if runs.iter().all(|run| run.group.is_none()) {
        return Ok(Vec::new());
    }
    let mut groups: Vec<(&str, Vec<&ComparedRun>)> = Vec::new();
    for run in runs {
        let Some(label) = run.group.as_deref() else {
            return Err(GroupError::Ungrouped { folder: run.folder.clone() });
        };
        match groups.last_mut() {
            Some((last, members)) if *last == label => members.push(run),
            _ => groups.push((label, vec![run])),
        }
    }
    check_labels(groups.iter().map(|(label, _)| *label))?;
    Ok(groups)
}

/// The groups' statistics and figures: `groups.csv`, `tests.csv`, `eaf.csv` (with `axis_names`
/// the report axes), `groups_hypervolume.csv` and its figure, `groups_evolution.csv` and its
/// figure, `eaf.svg`, and for two groups `eaf_difference.svg`.
pub fn group_files(groups: &[RunGroup], axis_names: &[String; 2]) -> Result<Vec<(String, String)>, GroupError> {
    if let Some(empty) = groups.iter().find(|g| g.runs.is_empty()) {
        return Err(GroupError::EmptyGroup { label: empty.label.clone() });
    }
    check_labels(groups.iter().map(|g| g.label.as_str()))?;
    Ok(vec![
        ("groups.csv".into(), groups_csv(groups)?),
        ("tests.csv".into(), tests_csv(groups)?),
        ("eaf.csv".into(), eaf_csv(groups, axis_names)?),
        ("groups_hypervolume.csv".into(), hypervolume_csv(groups)?),
        ("groups_hypervolume.svg".into(), hypervolume_svg(groups)?),
        ("groups_evolution.csv".into(), evolution_csv(groups, axis_names)),
        ("groups_evolution.svg".into(), group_evolution_svg(groups, axis_names)),
        ("eaf.svg".into(), eaf_svg(groups, axis_names)?),
    ]
    .into_iter()
    .chain(match groups {
        [left, right] => Some(("eaf_difference.svg".into(), eaf_difference_svg(left, right, axis_names)?)),
        _ => None,
    })
    .collect())
}

/// The groups in `xnas compare`'s page, after the per-run sections (nothing without `--group`).
pub(super) const SECTION: SectionEntry = SectionEntry { report: None, compare: Some(groups_section) };

fn groups_section(runs: &[ComparedRun]) -> Section {
    let files = match run_groups(runs) {
        Ok(groups) if groups.is_empty() => return Section { files: Vec::new(), html: String::new() },
        Ok(groups) => group_files(&groups, &runs[0].input.axes.names),
        Err(error) => Err(error),
    };
    let files = match files {
        Ok(files) => files,
        Err(error) => {
            return Section {
                files: Vec::new(),
                html: format!(
                    "<h2>Groups</h2>\n<p>The groups could not be compared: {}</p>\n",
                    escape(&error.to_string())
                ),
            }
        }
    };
    let link = |name: &str| format!("<a href=\"{name}\">{name}</a>");
    let figure = |name: &str, alt: &str| {
        if files.iter().any(|(n, _)| n == name) {
            format!("<img src=\"{name}\" alt=\"{alt}\">\n")
        } else {
            String::new()
        }
    };
    let html = format!(
        "<h2>Groups</h2>\n<p>Per group: every Table 1 column's mean, standard deviation and 95 % interval over \
         its runs ({}); per pair of groups the hypervolume difference with a bootstrap interval and a rank test \
         ({}); the attainment surfaces of the runs' fronts ({}).</p>\n{}{}\
         <p>Archive hypervolume per generation: each group's mean over its runs with its 95 % interval (the band). \
         {}</p>\n{}<p>App. H per group: each generation's front, pooled over the group's runs, as mean, 95 % \
         interval and range. {}</p>\n{}",
        link("groups.csv"),
        link("tests.csv"),
        link("eaf.csv"),
        figure("eaf.svg", "median attainment surfaces"),
        figure("eaf_difference.svg", "attainment difference"),
        link("groups_hypervolume.csv"),
        figure("groups_hypervolume.svg", "hypervolume per generation per group"),
        link("groups_evolution.csv"),
        figure("groups_evolution.svg", "each generation's front per group"),
    );
    Section { files, html }
}

/// The fronts of the group's runs pooled per generation (ids are not kept: 0).
fn pooled_fronts(group: &RunGroup) -> Generations {
    let mut pooled: std::collections::BTreeMap<u64, Vec<(u64, f64, f64)>> = std::collections::BTreeMap::new();
    for run in &group.runs {
        for (generation, front) in &run.generation_fronts {
            pooled.entry(*generation).or_default().extend(front.iter().map(|&[y, x]| (0, y, x)));
        }
    }
    pooled.into_iter().collect()
}

/// App. H per group: per generation, mean, 95 % interval and range of each axis over the fronts
/// of the group's runs pooled, one block of rows per group.
fn evolution_csv(groups: &[RunGroup], names: &[String; 2]) -> String {
    let mut out = format!("group,{}\n", evolution_header(names));
    for group in groups {
        if let Some(summaries) = summarise_generations(&pooled_fronts(group)) {
            evolution_rows(&format!("{},", quoted(&group.label)), &summaries, &mut out);
        }
    }
    out
}

/// [`evolution_csv`]'s figure: a column per group, a row per axis, each row on one y scale.
fn group_evolution_svg(groups: &[RunGroup], names: &[String; 2]) -> String {
    let summaries: Vec<(String, [Vec<xnas_analysis::GenerationSummary>; 2])> = groups
        .iter()
        .filter_map(|g| {
            Some((format!("{} ({} runs)", g.label, g.runs.len()), summarise_generations(&pooled_fronts(g))?))
        })
        .collect();
    let columns: Vec<(String, &[Vec<xnas_analysis::GenerationSummary>; 2])> =
        summaries.iter().map(|(label, s)| (label.clone(), s)).collect();
    evolution_svg(&columns, names)
}

/// The fronts of a group's runs that have a point.
fn group_fronts(group: &RunGroup) -> Vec<Vec<[f64; 2]>> {
    group.runs.iter().map(|r| r.front.clone()).filter(|front| !front.is_empty()).collect()
}

/// A staircase through maximised corners (first axis descending) in the plane (x the second axis,
/// y the first), from the left edge `x0` down to the bottom edge `y0`.
fn staircase(corners: &[[f64; 2]], (x0, y0): (f64, f64)) -> Vec<(f64, f64)> {
    let mut path = Vec::with_capacity(2 * corners.len() + 2);
    for (i, &[first, second]) in corners.iter().enumerate() {
        path.push((if i == 0 { x0 } else { corners[i - 1][1] }, first));
        path.push((second, first));
    }
    if let Some(&[_, second]) = corners.last() {
        path.push((second, y0));
    }
    path
}

/// Each group's median attainment surface as a staircase, with the band between its 25 % and
/// 75 % surfaces shaded in the group's colour.
fn eaf_svg(groups: &[RunGroup], names: &[String; 2]) -> Result<String, GroupError> {
    let mut surfaces = Vec::new();
    for group in groups {
        let fronts = group_fronts(group);
        if fronts.is_empty() {
            continue;
        }
        let found = attainment_surfaces(&fronts, [Direction::Maximise; 2], &[25.0, 50.0, 75.0])
            .map_err(|source| GroupError::Analysis { label: group.label.clone(), source })?;
        surfaces.push((group, found));
    }
    let plane = ranges(
        surfaces
            .iter()
            .flat_map(|(_, s)| s.iter().flat_map(|s| s.points.iter().map(|&[first, second]| (second, first)))),
    );
    let edges = (plane.0.start, plane.1.start);
    Ok(svg_figure((640, 480), |root| {
        let mut chart = plane_panel(root, "median attainment surfaces, 25–75 % band", names, plane);
        for (i, (group, found)) in surfaces.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            let mut band = staircase(&found[0].points, edges);
            band.extend(staircase(&found[2].points, edges).into_iter().rev());
            chart.draw_series(std::iter::once(Polygon::new(band, colour.mix(0.2).filled()))).expect("band");
            chart
                .draw_series(std::iter::once(PathElement::new(
                    staircase(&found[1].points, edges),
                    colour.stroke_width(2),
                )))
                .expect("median")
                .label(format!("{} ({} runs)", group.label, group_fronts(group).len()))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2)));
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerLeft);
    }))
}

/// The corners of both groups' attainment surfaces where one group attains more often: a dot in
/// that group's colour, the stronger the larger the difference (corners attained equally are left out).
fn eaf_difference_svg(left: &RunGroup, right: &RunGroup, names: &[String; 2]) -> Result<String, GroupError> {
    let label = format!("{} against {}", left.label, right.label);
    let (left_fronts, right_fronts) = (group_fronts(left), group_fronts(right));
    let differences = if left_fronts.is_empty() || right_fronts.is_empty() {
        Vec::new()
    } else {
        attainment_difference(&left_fronts, &right_fronts, [Direction::Maximise; 2])
            .map_err(|source| GroupError::Analysis { label: label.clone(), source })?
    };
    let plane = ranges(differences.iter().map(|d| (d.point[1], d.point[0])));
    let title = format!("EAF difference: {} (left) − {} (right)", left.label, right.label);
    Ok(svg_figure((640, 480), |root| {
        let mut chart = plane_panel(root, &title, names, plane);
        let shade = |colour: RGBColor, share: f64| {
            let blend = |c: u8| (255.0 - (255.0 - c as f64) * share.abs()).round() as u8;
            RGBColor(blend(colour.0), blend(colour.1), blend(colour.2))
        };
        chart
            .draw_series(differences.iter().filter(|d| d.difference != 0.0).map(|d| {
                let colour = if d.difference > 0.0 { COLOURS[0] } else { COLOURS[1] };
                Circle::new((d.point[1], d.point[0]), 4, shade(colour, d.difference).filled())
            }))
            .expect("points");
        for (i, group) in [left, right].into_iter().enumerate() {
            let colour = COLOURS[i];
            chart
                .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
                .expect("legend")
                .label(format!("{} attains more often", group.label))
                .legend(move |(x, y)| Circle::new((x + 6, y), 4, colour.filled()));
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerLeft);
    }))
}

/// Per generation that one of the group's runs saved, the summary of its runs' archive hypervolumes.
fn hypervolume_summaries(group: &RunGroup) -> Result<Vec<(u64, xnas_analysis::Summary)>, GroupError> {
    let mut generations: Vec<u64> =
        group.runs.iter().flat_map(|r| r.hypervolume_per_generation.iter().map(|&(g, _)| g)).collect();
    generations.sort_unstable();
    generations.dedup();
    generations
        .into_iter()
        .map(|generation| {
            let values: Vec<f64> = group
                .runs
                .iter()
                .filter_map(|r| r.hypervolume_per_generation.iter().find(|&&(g, _)| g == generation).map(|&(_, hv)| hv))
                .collect();
            let summary =
                summarize(&values).map_err(|source| GroupError::Analysis { label: group.label.clone(), source })?;
            Ok((generation, summary))
        })
        .collect()
}

/// One row per group and generation that one of its runs saved: how many runs reached it, their
/// mean archive hypervolume and its 95 % t-interval (empty below two runs).
fn hypervolume_csv(groups: &[RunGroup]) -> Result<String, GroupError> {
    let mut out = String::from("group,generation,runs,hypervolume_mean,hypervolume_ci95_low,hypervolume_ci95_high\n");
    for group in groups {
        for (generation, summary) in hypervolume_summaries(group)? {
            let _ = writeln!(
                out,
                "{},{generation},{},{},{},{}",
                quoted(&group.label),
                summary.n,
                summary.mean,
                cell(summary.ci95.map(|i| i.low)),
                cell(summary.ci95.map(|i| i.high))
            );
        }
    }
    Ok(out)
}

/// [`hypervolume_csv`]'s figure: each group's mean as a line in its colour, its 95 % interval as
/// a band around it (where two or more runs reached the generation).
fn hypervolume_svg(groups: &[RunGroup]) -> Result<String, GroupError> {
    let series: Vec<Vec<(u64, xnas_analysis::Summary)>> =
        groups.iter().map(hypervolume_summaries).collect::<Result<_, _>>()?;
    let bounds = |s: &xnas_analysis::Summary| s.ci95.map_or((s.mean, s.mean), |i| (i.low, i.high));
    Ok(svg_figure((820, 400), |root| {
        let all = series.iter().flatten();
        let (_, mut y_range) = ranges(all.clone().flat_map(|(g, s)| {
            let (low, high) = bounds(s);
            [(*g as f64, low), (*g as f64, high)]
        }));
        y_range.start = y_range.start.min(0.0);
        let first = all.clone().map(|p| p.0).min().unwrap_or(0) as i64;
        let last = all.map(|p| p.0).max().unwrap_or(1) as i64;
        let frame = Frame {
            caption: "Hypervolume per generation, group means with 95 % bands",
            caption_size: 18,
            room: Room::Medium,
        };
        let mut chart = generation_chart(root, frame, (first, last), y_range, "hypervolume");
        for (i, (group, summaries)) in groups.iter().zip(&series).enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            let mut band: Vec<(i64, f64)> = summaries.iter().map(|(g, s)| (*g as i64, bounds(s).1)).collect();
            band.extend(summaries.iter().rev().map(|(g, s)| (*g as i64, bounds(s).0)));
            chart.draw_series(std::iter::once(Polygon::new(band, colour.mix(0.2).filled()))).expect("band");
            let means: Vec<(i64, f64)> = summaries.iter().map(|(g, s)| (*g as i64, s.mean)).collect();
            chart
                .draw_series(LineSeries::new(means.clone(), colour.stroke_width(2)))
                .expect("means")
                .label(format!("{} ({} runs)", group.label, group.runs.len()))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], colour.stroke_width(2)));
            chart.draw_series(means.iter().map(|&p| Circle::new(p, 3, colour.filled()))).expect("dots");
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight);
    }))
}

fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

fn cell(value: Option<f64>) -> String {
    value.map_or(String::new(), |v| v.to_string())
}

/// One row per group: the number of runs, then for each Table 1 column the number of runs that
/// have it, its mean, sample standard deviation and 95 % t-interval (empty below two values).
fn groups_csv(groups: &[RunGroup]) -> Result<String, GroupError> {
    let mut out = String::from("group,runs");
    for (name, _) in COLUMNS {
        let _ = write!(out, ",{name}_n,{name}_mean,{name}_std_dev,{name}_ci95_low,{name}_ci95_high");
    }
    out.push('\n');
    for group in groups {
        let _ = write!(out, "{},{}", quoted(&group.label), group.runs.len());
        for (_, column) in COLUMNS {
            let values: Vec<f64> = group.runs.iter().filter_map(|r| column(&r.table)).collect();
            if values.is_empty() {
                out.push_str(",0,,,,");
                continue;
            }
            let summary =
                summarize(&values).map_err(|source| GroupError::Analysis { label: group.label.clone(), source })?;
            let _ = write!(
                out,
                ",{},{},{},{},{}",
                summary.n,
                summary.mean,
                cell(summary.std_dev),
                cell(summary.ci95.map(|i| i.low)),
                cell(summary.ci95.map(|i| i.high))
            );
        }
        out.push('\n');
    }
    Ok(out)
}

/// The hypervolumes of `runs`, in their order (runs without one left out).
fn hypervolumes(runs: &[&GroupRun]) -> Vec<f64> {
    runs.iter().filter_map(|r| r.table.hypervolume).collect()
}

/// The runs of two groups pair when both have the same set of seeds, every run one seed; the
/// pairs are then the runs in seed order.
fn paired_runs<'a>(a: &'a RunGroup, b: &'a RunGroup) -> Option<(Vec<&'a GroupRun>, Vec<&'a GroupRun>)> {
    let by_seed = |group: &'a RunGroup| -> Option<Vec<&'a GroupRun>> {
        let mut runs: Vec<&GroupRun> = group.runs.iter().collect();
        if runs.iter().any(|r| r.seed.is_none() || r.table.hypervolume.is_none()) {
            return None;
        }
        runs.sort_by_key(|r| r.seed);
        Some(runs)
    };
    let (runs_a, runs_b) = (by_seed(a)?, by_seed(b)?);
    let seeds = |runs: &[&GroupRun]| runs.iter().map(|r| r.seed).collect::<Vec<_>>();
    let distinct = seeds(&runs_a).windows(2).all(|w| w[0] != w[1]);
    (distinct && seeds(&runs_a) == seeds(&runs_b)).then_some((runs_a, runs_b))
}

/// One row per pair of groups (in the order given): the mean hypervolume difference (first group
/// minus second) with its bootstrap interval, and the rank test with statistic and p-value.
fn tests_csv(groups: &[RunGroup]) -> Result<String, GroupError> {
    let mut out = String::from(
        "group_a,group_b,runs_a,runs_b,pairing,hypervolume_difference,bootstrap_ci95_low,bootstrap_ci95_high,\
         bootstrap_resamples,bootstrap_seed,test,statistic,p_value,method\n",
    );
    for (i, a) in groups.iter().enumerate() {
        for b in &groups[i + 1..] {
            let label = format!("{} against {}", a.label, b.label);
            let error = |source| GroupError::Analysis { label: label.clone(), source };
            let (pairing, hv_a, hv_b) = match paired_runs(a, b) {
                Some((runs_a, runs_b)) => (Pairing::Paired, hypervolumes(&runs_a), hypervolumes(&runs_b)),
                None => (
                    Pairing::Independent,
                    hypervolumes(&a.runs.iter().collect::<Vec<_>>()),
                    hypervolumes(&b.runs.iter().collect::<Vec<_>>()),
                ),
            };
            let _ = write!(out, "{},{},{},{}", quoted(&a.label), quoted(&b.label), hv_a.len(), hv_b.len());
            if hv_a.is_empty() || hv_b.is_empty() {
                // A group without one hypervolume (no run scored a point) has nothing to test.
                out.push_str(",,,,,,,,,,\n");
                continue;
            }
            let interval = bootstrap_mean_difference(&hv_a, &hv_b, pairing, 0.95, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED)
                .map_err(error)?;
            let (test, result) = match pairing {
                Pairing::Paired => ("wilcoxon", wilcoxon_signed_rank(&hv_a, &hv_b).map_err(error)?),
                Pairing::Independent => ("mann_whitney_u", mann_whitney_u(&hv_a, &hv_b).map_err(error)?),
            };
            let method = match result.method {
                TestMethod::Exact => "exact",
                TestMethod::Permutation => "permutation",
                TestMethod::Asymptotic => "asymptotic",
            };
            let _ = writeln!(
                out,
                ",{},{},{},{},{},{},{},{},{},{}",
                if pairing == Pairing::Paired { "paired_by_seed" } else { "independent" },
                interval.difference,
                interval.low,
                interval.high,
                BOOTSTRAP_RESAMPLES,
                BOOTSTRAP_SEED,
                test,
                result.statistic,
                result.p_value,
                method
            );
        }
    }
    Ok(out)
}

/// One row per corner of each group's attainment surfaces at [`EAF_PERCENTILES`], in the report
/// axes (both maximised); runs without a front point are left out of their group's surfaces.
fn eaf_csv(groups: &[RunGroup], axis_names: &[String; 2]) -> Result<String, GroupError> {
    let mut out = format!("group,percentile,runs,{},{}\n", axis_names[0], axis_names[1]);
    for group in groups {
        let fronts: Vec<Vec<[f64; 2]>> =
            group.runs.iter().map(|r| r.front.clone()).filter(|front| !front.is_empty()).collect();
        if fronts.is_empty() {
            continue;
        }
        let surfaces = attainment_surfaces(&fronts, [Direction::Maximise; 2], &EAF_PERCENTILES)
            .map_err(|source| GroupError::Analysis { label: group.label.clone(), source })?;
        for surface in surfaces {
            for [a, b] in surface.points {
                let _ = writeln!(out, "{},{},{},{a},{b}", quoted(&group.label), surface.percentile, fronts.len());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seed: Option<u64>, hypervolume: f64, front: Vec<[f64; 2]>) -> GroupRun {
        GroupRun {
            folder: format!("runs/s{seed:?}"),
            seed,
            table: Table1 {
                evaluated: 100,
                population: 20,
                generations: 10,
                max_accuracy: Some(0.9),
                median_accuracy: Some(0.5 + hypervolume),
                max_introspectability: None,
                median_introspectability: None,
                max_wordnet_introspectability: None,
                median_wordnet_introspectability: None,
                hypervolume: Some(hypervolume),
                archive_hypervolume: Some(hypervolume + 0.5),
                search_hypervolume: None,
            },
            hypervolume_per_generation: vec![(1, hypervolume / 2.0), (2, hypervolume)],
            generation_fronts: vec![(1, front.clone()), (2, front.iter().map(|&[y, x]| [y + 0.01, x]).collect())],
            front,
        }
    }

    fn axes() -> [String; 2] {
        ["val_accuracy".into(), "introspectability".into()]
    }

    fn column<'a>(csv: &'a str, row: usize, name: &str) -> &'a str {
        let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        let index = header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no column {name}"));
        csv.lines().nth(row + 1).unwrap().split(',').nth(index).unwrap()
    }

    #[test]
    fn groups_csv_holds_hand_computed_means_spreads_and_intervals() {
        let single =
            RunGroup { label: "✗".into(), runs: [1.0, 2.0, 3.0].map(|hv| run(None, hv, vec![[0.9, 0.1]])).to_vec() };
        let files = group_files(&[single], &axes()).unwrap();
        let groups = &files[0].1;
        assert_eq!(column(groups, 0, "group"), "\"✗\"");
        assert_eq!(column(groups, 0, "runs"), "3");
        // 1, 2, 3: mean 2, s = 1, half-width t(0.975, 2)/√3 = 4.302652729911275/√3.
        assert_eq!(column(groups, 0, "hypervolume_mean"), "2");
        assert_eq!(column(groups, 0, "hypervolume_std_dev"), "1");
        // The archive's hypervolume is its own column: 1.5, 2.5, 3.5.
        assert_eq!(column(groups, 0, "archive_hypervolume_mean"), "2.5");
        let low: f64 = column(groups, 0, "hypervolume_ci95_low").parse().unwrap();
        assert!((low - (2.0 - 4.302652729911275 / 3f64.sqrt())).abs() < 1e-9, "{low}");
        // A column no run has is empty with n = 0; a constant one has zero spread.
        assert_eq!(column(groups, 0, "max_introspectability_n"), "0");
        assert_eq!(column(groups, 0, "max_introspectability_mean"), "");
        assert_eq!(column(groups, 0, "evaluated_std_dev"), "0");
        // One group: no pair to test.
        assert_eq!(files[1].1.lines().count(), 1);
    }

    #[test]
    fn groups_pair_by_seed_or_are_independent() {
        let group = |label: &str, seeds: [Option<u64>; 3], hvs: [f64; 3]| RunGroup {
            label: label.into(),
            runs: seeds.iter().zip(hvs).map(|(&s, hv)| run(s, hv, vec![[0.9, hv]])).collect(),
        };
        // Same seeds (listed in another order): paired; every difference positive, so R⁻ = 0 and
        // the exact two-sided p-value is 2 · (1/2)³ = 0.25.
        let a = group("✓", [Some(3), Some(1), Some(2)], [0.6, 0.4, 0.5]);
        let b = group("✗", [Some(1), Some(2), Some(3)], [0.1, 0.2, 0.3]);
        let tests = &group_files(&[a.clone(), b], &axes()).unwrap()[1].1;
        assert_eq!(column(tests, 0, "pairing"), "paired_by_seed");
        assert_eq!(column(tests, 0, "test"), "wilcoxon");
        assert_eq!((column(tests, 0, "statistic"), column(tests, 0, "p_value")), ("0", "0.25"));
        // Differences 0.3 each (to rounding): the mean difference and a degenerate interval.
        let difference: f64 = column(tests, 0, "hypervolume_difference").parse().unwrap();
        assert!((difference - 0.3).abs() < 1e-12);
        // Seeds unknown: Mann–Whitney, U of the first group 9 (all above), exact p = 2/C(6, 3) = 0.1.
        let c = group("reg", [None; 3], [0.1, 0.2, 0.3]);
        let tests = &group_files(&[a, c], &axes()).unwrap()[1].1;
        assert_eq!((column(tests, 0, "pairing"), column(tests, 0, "test")), ("independent", "mann_whitney_u"));
        assert_eq!(column(tests, 0, "statistic"), "9");
        let p: f64 = column(tests, 0, "p_value").parse().unwrap();
        assert!((p - 0.1).abs() < 1e-12, "{p}");
        assert_eq!(column(tests, 0, "bootstrap_seed"), BOOTSTRAP_SEED.to_string());
    }

    #[test]
    fn eaf_csv_holds_each_groups_surfaces_in_the_report_axes() {
        // Fronts maximised in both axes: A = {(3,1), (1,3)}, B = {(2,2)}, C = {(0,0)}.
        let fronts = [vec![[3.0, 1.0], [1.0, 3.0]], vec![[2.0, 2.0]], vec![[0.0, 0.0]]];
        let group = RunGroup { label: "✓".into(), runs: fronts.iter().map(|f| run(None, 0.1, f.clone())).collect() };
        let eaf = &group_files(&[group], &axes()).unwrap()[2].1;
        let lines: Vec<&str> = eaf.lines().collect();
        assert_eq!(lines[0], "group,percentile,runs,val_accuracy,introspectability");
        // Best: every front's points; median (level 2 of 3): (2,1) and (1,2); worst: (0,0).
        assert!(
            lines.contains(&"\"✓\",0,3,3,1") && lines.contains(&"\"✓\",0,3,2,2") && lines.contains(&"\"✓\",0,3,1,3")
        );
        let median: Vec<&str> = lines.iter().copied().filter(|l| l.starts_with("\"✓\",50,")).collect();
        assert_eq!(median, ["\"✓\",50,3,2,1", "\"✓\",50,3,1,2"]);
        assert!(lines.contains(&"\"✓\",100,3,0,0"));
    }

    #[test]
    fn hypervolume_per_generation_is_a_mean_with_an_interval_per_group() {
        let mut runs: Vec<GroupRun> = [1.0, 2.0, 3.0].map(|hv| run(None, hv, vec![[0.9, 0.1]])).to_vec();
        // One run saved a third generation: that row has one run and no interval.
        runs[0].hypervolume_per_generation.push((3, 1.5));
        let group = RunGroup { label: "✓".into(), runs };
        let csv = &group_files(&[group], &axes()).unwrap()[3].1;
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "group,generation,runs,hypervolume_mean,hypervolume_ci95_low,hypervolume_ci95_high");
        // Generation 1: 0.5, 1, 1.5 — mean 1, s = 0.5, half-width 4.302652729911275 · 0.5/√3.
        let row: Vec<&str> = lines[1].split(',').collect();
        assert_eq!(row[..4], ["\"✓\"", "1", "3", "1"]);
        let high: f64 = row[5].parse().unwrap();
        assert!((high - (1.0 + 4.302652729911275 * 0.5 / 3f64.sqrt())).abs() < 1e-9, "{high}");
        assert!(lines[2].starts_with("\"✓\",2,3,2,"));
        assert_eq!(lines[3], "\"✓\",3,1,1.5,,");
    }

    #[test]
    fn two_groups_get_the_band_figure_and_the_difference_figure() {
        let group = |label: &str, shift: f64| RunGroup {
            label: label.into(),
            runs: (0..3).map(|i| run(None, 0.1, vec![[0.9 - shift, 0.1 * i as f64], [0.5, 0.6 + shift]])).collect(),
        };
        let files = group_files(&[group("✗", 0.0), group("✓", 0.2)], &axes()).unwrap();
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "groups.csv",
                "tests.csv",
                "eaf.csv",
                "groups_hypervolume.csv",
                "groups_hypervolume.svg",
                "groups_evolution.csv",
                "groups_evolution.svg",
                "eaf.svg",
                "eaf_difference.svg"
            ]
        );
        let file = |name: &str| &files.iter().find(|(n, _)| n == name).unwrap().1;
        assert!(file("eaf.svg").contains("✗ (3 runs)") && file("eaf.svg").contains("<polygon"), "{}", file("eaf.svg"));
        let hypervolume = file("groups_hypervolume.svg");
        assert!(hypervolume.contains("✓ (3 runs)") && hypervolume.contains("<polygon"), "{hypervolume}");
        assert!(file("groups_evolution.svg").contains("✗ (3 runs): val_accuracy"));
        // ✗ alone reaches accuracy 0.9, ✓ alone introspectability 0.8: both colours appear.
        let difference = file("eaf_difference.svg");
        assert!(difference.contains("✗ attains more often") && difference.contains("<circle"), "{difference}");
        // One group: no difference figure.
        assert_eq!(group_files(&[group("✗", 0.0)], &axes()).unwrap().len(), 8);
    }

    #[test]
    fn bad_groups_are_refused_by_name() {
        let empty = RunGroup { label: "✗".into(), runs: vec![] };
        let error = group_files(&[empty], &axes()).unwrap_err().to_string();
        assert!(error.contains("\"✗\" has no runs"), "{error}");
        let one = RunGroup { label: "✓".into(), runs: vec![run(None, 0.1, vec![])] };
        let error = group_files(&[one.clone(), one], &axes()).unwrap_err().to_string();
        assert!(error.contains("two groups are labelled \"✓\""), "{error}");
    }

    /// App. H per group pools the fronts of the group's runs in each generation. By hand: two runs
    /// whose generation-1 fronts hold accuracies {0.9, 0.7} and {0.8}: n 3, mean 0.8, s = 0.1.
    #[test]
    fn each_groups_fronts_are_pooled_per_generation() {
        let mut a = run(None, 0.1, vec![[0.9, 0.1], [0.7, 0.3]]);
        let mut b = run(None, 0.2, vec![[0.8, 0.2]]);
        a.generation_fronts.truncate(1);
        b.generation_fronts.truncate(1);
        let group = RunGroup { label: "✓".into(), runs: vec![a, b] };
        let csv = evolution_csv(&[group], &axes());
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 2, "{csv}");
        let row: Vec<f64> = lines[1].split(',').skip(1).map(|v| v.parse().unwrap()).collect();
        let half = 4.302652729911275 * 0.1 / 3f64.sqrt();
        assert_eq!((row[0], row[1]), (1.0, 3.0));
        assert!((row[2] - 0.8).abs() < 1e-12 && (row[4] - (0.8 + half)).abs() < 1e-9, "{csv}");
        assert!((row[7] - 0.2).abs() < 1e-12, "{csv}");
    }

    /// Groups come from the compared runs' labels, consecutive runs of one label a group; a label
    /// given twice or a run without one among labelled runs is refused by name, and the section
    /// links every group file and shows every group figure.
    #[test]
    fn the_section_reads_the_groups_from_the_compared_runs() {
        let compared = |folder: &str, group: Option<&str>, seed: u64| {
            let mut run = ComparedRun::new(folder, crate::report::tests::sample());
            (run.group, run.seed) = (group.map(str::to_string), Some(seed));
            run
        };
        let runs = [
            compared("runs/a1", Some("✗"), 1),
            compared("runs/a2", Some("✗"), 2),
            compared("runs/b1", Some("✓"), 1),
            compared("runs/b2", Some("✓"), 2),
        ];
        let groups = run_groups(&runs).unwrap();
        let shape: Vec<(&str, Vec<&str>)> =
            groups.iter().map(|g| (g.label.as_str(), g.runs.iter().map(|r| r.folder.as_str()).collect())).collect();
        assert_eq!(shape, [("✗", vec!["runs/a1", "runs/a2"]), ("✓", vec!["runs/b1", "runs/b2"])]);
        assert_eq!(groups[1].runs[1].seed, Some(2));
        let section = groups_section(&runs);
        for (name, _) in &section.files {
            assert!(section.html.contains(&format!("\"{name}\"")), "{name} is not in the section: {}", section.html);
        }
        assert_eq!(section.files.len(), 9);
        // Without labels, no section; a label twice, or a run left out of the groups, is refused.
        let plain = [ComparedRun::new("runs/x", crate::report::tests::sample())];
        assert!(run_groups(&plain).unwrap().is_empty() && groups_section(&plain).html.is_empty());
        let twice = [compared("a", Some("✗"), 1), compared("b", Some("✓"), 1), compared("c", Some("✗"), 2)];
        assert!(run_groups(&twice).unwrap_err().to_string().contains("two groups are labelled \"✗\""));
        let mut left_out = twice;
        left_out[2].group = None;
        let error = run_groups(&left_out).unwrap_err().to_string();
        assert!(error.contains("the run c is in no group"), "{error}");
    }
}
