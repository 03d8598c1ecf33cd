//! Several runs side by side (`xnas compare`): Table 1 with one row per run in the order given
//! (Markdown and CSV naming each run's folder, the columns of a run's own Table 1), every run's front in the report axes with its
//! hypervolume region, one panel per run and an overlay in full and zoomed (Figure 2's layout),
//! every run's archive hypervolume per generation in one figure, and App. H's per-generation means
//! and intervals of each axis over each generation's front, and over its population, with the
//! runs side by side; the data of each figure as CSV beside it. With `--group`, the groups'
//! statistics follow (`groups.rs`).
//!
//! All of it in the first run's report axes from its reference point (by default chance accuracy
//! and zero introspectability), so a single-objective (✗) row, a multi-objective (✓) row and a
//! refined front (✓+reg) are measured the same way.

use std::fmt::Write as _;

use std::ops::Range;

use plotters::prelude::*;

use super::analyses::{evolution, evolution_header, evolution_rows, evolution_svg, Members};
use super::chart::{draw_legend, generation_chart, plane_chart, ranges, svg_figure, Area, Frame, PlaneChart, Room};
use super::figures::dominated_region;
use super::{escape, File, PlanePoint, ReportAxes, ReportInput, Section, SectionEntry, Table1, SECTIONS};

/// One run to compare: its folder (as the user named it) and its report input.
pub struct ComparedRun {
    pub folder: String,
    pub input: ReportInput,
    /// Its group's label (`--group LABEL=…`), when the runs come in groups.
    pub group: Option<String>,
    /// The seed its search used, when known: two groups whose runs have the same seeds pair.
    pub seed: Option<u64>,
}

impl ComparedRun {
    /// A run compared on its own (no group, seed unknown).
    pub fn new(folder: impl Into<String>, input: ReportInput) -> ComparedRun {
        ComparedRun { folder: folder.into(), input, group: None, seed: None }
    }
}

/// Series colours, one per run (cycled).
pub(super) const COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(140, 86, 75),
];

/// The reference point all rows share: the first run's (chance accuracy, 0).
fn common_reference(runs: &[ComparedRun]) -> [f64; 2] {
    runs.first().map_or([0.0, 0.0], |r| r.input.report_reference())
}

/// Table 1 of every run, from the common reference point.
pub fn tables(runs: &[ComparedRun]) -> Vec<Table1> {
    let reference = common_reference(runs);
    runs.iter().map(|r| Table1::from_input_with_reference(&r.input, reference)).collect()
}

/// Table 1 across runs as Markdown, one row per run in the order given.
pub fn table_markdown(runs: &[ComparedRun]) -> String {
    let (pct, num) = (super::percent_cell, |x| super::number_cell(x, 3));
    let mut out = String::from(
        "| Run | Dataset | Variant | Gen. | Evaluated | Population | Max accuracy | Median accuracy | Max intros. | Median intros. | Max intros. (WordNet) | Median intros. (WordNet) | Hypervolume | Archive hypervolume |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for (run, t) in runs.iter().zip(tables(runs)) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            run.folder,
            run.input.dataset,
            run.input.variant,
            t.generations,
            t.evaluated,
            t.population,
            pct(t.max_accuracy),
            pct(t.median_accuracy),
            num(t.max_introspectability),
            num(t.median_introspectability),
            num(t.max_wordnet_introspectability),
            num(t.median_wordnet_introspectability),
            num(t.hypervolume),
            num(t.archive_hypervolume)
        );
    }
    out
}

/// Table 1 across runs as CSV, one row per run in the order given.
pub fn table_csv(runs: &[ComparedRun]) -> String {
    let f = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v}"));
    let reference = common_reference(runs);
    let mut out = String::from(
        "run_folder,run_name,dataset,variant,generations,evaluated,population,max_accuracy,median_accuracy,\
         max_introspectability,median_introspectability,max_wordnet_introspectability,median_wordnet_introspectability,\
         hypervolume,archive_hypervolume,reference_accuracy,reference_introspectability\n",
    );
    for (run, t) in runs.iter().zip(tables(runs)) {
        let _ = writeln!(
            out,
            "\"{}\",{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            run.folder.replace('"', "\"\""),
            run.input.run_name,
            run.input.dataset,
            run.input.variant,
            t.generations,
            t.evaluated,
            t.population,
            f(t.max_accuracy),
            f(t.median_accuracy),
            f(t.max_introspectability),
            f(t.median_introspectability),
            f(t.max_wordnet_introspectability),
            f(t.median_wordnet_introspectability),
            f(t.hypervolume),
            f(t.archive_hypervolume),
            reference[0],
            reference[1]
        );
    }
    out
}

/// Every run's points and front in the plane (x the second report axis, y the first).
type Planes = Vec<(Vec<PlanePoint>, Vec<PlanePoint>)>;

/// Axis ranges of a figure: all of every run's points (`with` the reference point too, or not).
fn plane_ranges(data: &Planes, with: Option<PlanePoint>) -> (Range<f64>, Range<f64>) {
    ranges(data.iter().flat_map(|(all, _)| all.iter().copied()).chain(with))
}

/// The figures' axis names: the first run's report axes (y, x).
fn axis_names(runs: &[ComparedRun]) -> [String; 2] {
    runs.first().map_or_else(|| ReportAxes::paper(10).names, |r| r.input.axes.names.clone())
}

/// One panel in the plane of the report axes (also the attainment figures', `groups.rs`).
pub(super) fn plane_panel<'a, 'b>(
    area: &'a Area<'b>,
    title: &str,
    names: &[String; 2],
    ranges: (Range<f64>, Range<f64>),
) -> PlaneChart<'a, 'b> {
    let frame = Frame { caption: title, caption_size: 15, room: Room::Small };
    plane_chart(area, frame, ranges, [&names[1], &names[0]], Some(11))
}

/// Every run's front, each as a staircase of its colour, on one chart; the legend names the runs.
fn draw_overlay(area: &Area, runs: &[ComparedRun], data: &Planes, title: &str, ranges: (Range<f64>, Range<f64>)) {
    let mut chart = plane_panel(area, title, &axis_names(runs), ranges);
    for (i, (run, (_, front))) in runs.iter().zip(data).enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let mut stairs = front.clone();
        stairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart
            .draw_series(stairs.iter().map(|&p| Circle::new(p, 4, colour.filled())))
            .expect("front")
            .label(format!("{} ({})", run.folder, run.input.variant))
            .legend(move |(x, y)| Circle::new((x + 6, y), 4, colour.filled()));
        chart.draw_series(std::iter::once(PathElement::new(stairs, colour.stroke_width(1)))).expect("line");
    }
    draw_legend(&mut chart, SeriesLabelPosition::LowerLeft);
}

/// The overlay twice: on axes that include the reference point, and zoomed on the evaluated
/// points, which often crowd one corner of the first.
fn draw_overlays(areas: &[Area], runs: &[ComparedRun], data: &Planes) {
    let reference = common_reference(runs);
    let full = plane_ranges(data, Some((reference[1], reference[0])));
    draw_overlay(&areas[0], runs, data, "all fronts", full);
    draw_overlay(&areas[1], runs, data, "all fronts, zoomed on the evaluated points", plane_ranges(data, None));
}

/// Figure 2's layout and its data (every run's front, then all of them overlaid).
pub(super) const FRONTS: SectionEntry = SectionEntry { report: None, compare: Some(fronts_section) };

fn fronts_section(runs: &[ComparedRun]) -> Section {
    Section {
        files: vec![
            ("fronts.svg".into(), fronts_svg(runs)),
            ("fronts_overlay.svg".into(), overlay_svg(runs)),
            ("fronts.csv".into(), fronts_csv(runs)),
        ],
        html: "<h2>Fronts (Figure 2)</h2>\n<p>Each run with its hypervolume region, then every front overlaid, in \
               full and zoomed on the evaluated points. <a href=\"fronts.csv\">fronts.csv</a></p>\n\
               <img src=\"fronts.svg\" alt=\"fronts of every run\">\n"
            .into(),
    }
}

/// Figure 2's layout: one panel per run (its points, its front and its hypervolume region), then
/// every front overlaid, in full and zoomed on the points; all on the axes of the report plane.
pub fn fronts_svg(runs: &[ComparedRun]) -> String {
    let reference = common_reference(runs);
    let (rx, ry) = (reference[1], reference[0]);
    let data: Planes = runs.iter().map(|r| r.input.report_plane()).collect();
    let names = axis_names(runs);
    let panels = runs.len() + 2;
    let columns = panels.min(3);
    let rows = panels.div_ceil(columns);
    svg_figure((380 * columns as u32, 330 * rows as u32), |root| {
        let full = plane_ranges(&data, Some((rx, ry)));
        let areas = root.split_evenly((rows, columns));
        for (k, (run, (all, front))) in runs.iter().zip(&data).enumerate() {
            let colour = COLOURS[k % COLOURS.len()];
            let title = format!("{} ({})", run.folder, run.input.variant);
            let mut chart = plane_panel(&areas[k], &title, &names, full.clone());
            let region = dominated_region(front, (rx, ry), true, true);
            if region.len() > 2 {
                chart.draw_series(std::iter::once(Polygon::new(region, colour.mix(0.18).filled()))).expect("region");
            }
            chart
                .draw_series(all.iter().map(|&p| Circle::new(p, 2, RGBColor(170, 170, 170).filled())))
                .expect("points");
            chart.draw_series(front.iter().map(|&p| Circle::new(p, 4, colour.filled()))).expect("front");
        }
        draw_overlays(&areas[runs.len()..runs.len() + 2], runs, &data);
    })
}

/// The overlay alone, in full and zoomed side by side (the figure the README shows).
pub fn overlay_svg(runs: &[ComparedRun]) -> String {
    let data: Planes = runs.iter().map(|r| r.input.report_plane()).collect();
    svg_figure((1000, 420), |root| draw_overlays(&root.split_evenly((1, 2)), runs, &data))
}

/// The data of the front figures: every run's evaluated points in the report axes, on its front or not.
pub fn fronts_csv(runs: &[ComparedRun]) -> String {
    let names = axis_names(runs);
    let mut out = format!("run_folder,id,genome,{},{},on_front\n", names[0], names[1]);
    for run in runs {
        let front = run.input.report_front();
        for (i, p) in run.input.points.iter().enumerate() {
            let Some([y, x]) = p.axes else { continue };
            let _ = writeln!(out, "{},{},{},{y},{x},{}", quoted(&run.folder), p.id, p.genome, front.contains(&i));
        }
    }
    out
}

/// A CSV field in quotes (run folders may hold commas).
pub(super) fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// Every run's archive hypervolume per generation (report axes, common reference).
fn hypervolume_series(runs: &[ComparedRun]) -> Vec<Vec<(u64, f64)>> {
    let reference = common_reference(runs);
    runs.iter()
        .map(|r| {
            let mut generations: Vec<u64> = r.input.points.iter().map(|p| p.generation).collect();
            generations.sort_unstable();
            generations.dedup();
            generations
                .into_iter()
                .filter_map(|g| Some((g, r.input.archive_hypervolume_from(Some(g), reference)?)))
                .collect()
        })
        .collect()
}

/// Every run's archive hypervolume per generation, in one figure and its data.
pub(super) const HYPERVOLUME: SectionEntry = SectionEntry { report: None, compare: Some(hypervolume_section) };

fn hypervolume_section(runs: &[ComparedRun]) -> Section {
    Section {
        files: vec![
            ("hypervolume.svg".into(), hypervolumes_svg(runs)),
            ("hypervolume.csv".into(), hypervolume_csv(runs)),
        ],
        html: "<h2>Hypervolume per generation</h2>\n<p><a href=\"hypervolume.csv\">hypervolume.csv</a></p>\n\
               <img src=\"hypervolume.svg\" alt=\"hypervolume per generation of every run\">\n"
            .into(),
    }
}

/// The data of the hypervolume figure, one block of rows per run.
pub fn hypervolume_csv(runs: &[ComparedRun]) -> String {
    let mut out = String::from("run_folder,generation,hypervolume\n");
    for (run, series) in runs.iter().zip(hypervolume_series(runs)) {
        for (generation, hv) in series {
            let _ = writeln!(out, "{},{generation},{hv}", quoted(&run.folder));
        }
    }
    out
}

/// App. H with the runs side by side, a figure and its data.
pub(super) const EVOLUTION: SectionEntry = SectionEntry { report: None, compare: Some(evolution_section) };

fn evolution_section(runs: &[ComparedRun]) -> Section {
    Section {
        files: vec![
            ("evolution_front.svg".into(), evolution_compare_svg(runs, Members::Front)),
            ("evolution_front.csv".into(), evolution_csv(runs, Members::Front)),
            ("evolution.svg".into(), evolution_compare_svg(runs, Members::Population)),
            ("evolution.csv".into(), evolution_csv(runs, Members::Population)),
        ],
        html: "<h2>Evolution side by side (App. H)</h2>\n<p>Each run's front per generation (the candidates \
               evaluated in it that no other of them dominates): mean with its 95 % confidence interval (bars) \
               and the range (thin); a column per run, each axis on one scale across runs. \
               <a href=\"evolution_front.csv\">evolution_front.csv</a></p>\n\
               <img src=\"evolution_front.svg\" alt=\"evolution of every run's fronts\">\n\
               <p>The same over each run's population (the panel under Fig. 3). \
               <a href=\"evolution.csv\">evolution.csv</a></p>\n\
               <img src=\"evolution.svg\" alt=\"evolution of every run's population\">\n"
            .into(),
    }
}

/// App. H side by side: per generation, mean, 95 % interval and range of each report axis over
/// each run's `members` (its fronts or its populations), one block of rows per run (runs without
/// generations left out).
pub fn evolution_csv(runs: &[ComparedRun], members: Members) -> String {
    let mut out = format!("run_folder,{}\n", evolution_header(&axis_names(runs)));
    for run in runs {
        if let Some(summaries) = evolution(&run.input, members) {
            evolution_rows(&format!("{},", quoted(&run.folder)), &summaries, &mut out);
        }
    }
    out
}

/// [`evolution_csv`]'s figure: a column per run, a row per axis, each row on one y scale.
pub fn evolution_compare_svg(runs: &[ComparedRun], members: Members) -> String {
    let summaries: Vec<(String, [Vec<xnas_analysis::GenerationSummary>; 2])> =
        runs.iter().filter_map(|r| Some((r.folder.clone(), evolution(&r.input, members)?))).collect();
    let columns: Vec<(String, &[Vec<xnas_analysis::GenerationSummary>; 2])> =
        summaries.iter().map(|(folder, s)| (folder.clone(), s)).collect();
    evolution_svg(&columns, &axis_names(runs))
}

/// Every run's archive hypervolume per generation (report axes, common reference), one line each.
pub fn hypervolumes_svg(runs: &[ComparedRun]) -> String {
    let series = hypervolume_series(runs);
    svg_figure((820, 400), |root| {
        let all = series.iter().flatten();
        let (_, mut y_range) = ranges(all.clone().map(|&(g, hv)| (g as f64, hv)));
        y_range.start = y_range.start.min(0.0);
        let first = all.clone().map(|p| p.0).min().unwrap_or(0) as i64;
        let last = all.map(|p| p.0).max().unwrap_or(1) as i64;
        let caption =
            format!("Hypervolume per generation ({})", runs.first().map_or(String::new(), |r| r.input.axes.label()));
        let frame = Frame { caption: &caption, caption_size: 18, room: Room::Medium };
        let mut chart = generation_chart(root, frame, (first, last), y_range, "hypervolume");
        for (i, (run, data)) in runs.iter().zip(&series).enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            let data: Vec<(i64, f64)> = data.iter().map(|&(g, hv)| (g as i64, hv)).collect();
            chart
                .draw_series(LineSeries::new(data.clone(), colour.stroke_width(2)))
                .expect("line")
                .label(run.folder.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], colour.stroke_width(2)));
            chart.draw_series(data.iter().map(|&p| Circle::new(p, 3, colour.filled()))).expect("dots");
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight);
    })
}

/// Every file of a comparison: Table 1, every section of [`SECTIONS`] and an `index.html`
/// showing them.
pub fn files(runs: &[ComparedRun]) -> Vec<File> {
    let reference = common_reference(runs);
    let markdown = table_markdown(runs);
    let mut rows = String::new();
    for line in markdown.lines().skip(2) {
        let cells: Vec<String> =
            line.trim_matches('|').split('|').map(|c| format!("<td>{}</td>", escape(c.trim()))).collect();
        let _ = writeln!(rows, "<tr>{}</tr>", cells.concat());
    }
    let sections: Vec<Section> = SECTIONS.iter().filter_map(|entry| Some(entry.compare?(runs))).collect();
    let html = format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>xnas compare</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:2em auto}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}td:first-child{{text-align:left}}img{{max-width:100%}}</style>
</head><body>
<h1>xnas compare: {n} run(s)</h1>
<p>Table 1 over each run's final population (a ✓+reg row: its source run's, with the front replaced by its regularized retraining; a run without one: every evaluation); hypervolume of the population's non-dominated set and of the archive's (every evaluation) in the report axes ({axes}) from the common reference point ({ry:.3}, {rx:.3}). Variants: ✗ single-objective, ✓ multi-objective, reg regularized search, ✓+reg a front trained again with the regularizer. Files: <a href="table1.csv">table1.csv</a>, <a href="table1.md">table1.md</a>.</p>
<h2>Table 1</h2>
<table><tr><th>Run</th><th>Dataset</th><th>Variant</th><th>Gen.</th><th>Evaluated</th><th>Population</th><th>Max accuracy</th><th>Median accuracy</th><th>Max intros.</th><th>Median intros.</th><th>Max intros. (WordNet)</th><th>Median intros. (WordNet)</th><th>Hypervolume</th><th>Archive hypervolume</th></tr>
{rows}</table>
{sections}</body></html>
"#,
        n = runs.len(),
        axes = escape(&axis_names(runs).join(" × ")),
        ry = reference[0],
        rx = reference[1],
        sections = sections.iter().map(|section| section.html.as_str()).collect::<String>(),
    );
    let mut files = vec![("table1.md".into(), markdown), ("table1.csv".into(), table_csv(runs))];
    files.extend(sections.into_iter().flat_map(|section| section.files));
    files.push(("index.html".into(), html));
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(folder: &str, variant: &str, points: &[(f64, f64)]) -> ComparedRun {
        let mut input = crate::report::tests::sample();
        input.variant = variant.into();
        input.points.truncate(points.len());
        for (p, &(accuracy, intro)) in input.points.iter_mut().zip(points) {
            p.accuracy = Some(accuracy);
            p.introspectability = Some(intro);
            p.axes = Some([accuracy, intro]);
        }
        ComparedRun::new(folder, input)
    }

    #[test]
    fn evolution_side_by_side_has_one_block_per_run() {
        let with_generations = |folder: &str, variant: &str, points: &[(f64, f64)]| {
            let mut run = run(folder, variant, points);
            let input = &mut run.input;
            input.lineage = input
                .points
                .iter()
                .map(|p| crate::report::LineageRow {
                    id: p.id,
                    genome: p.genome.clone(),
                    generation: p.generation,
                    parents: Vec::new(),
                    axes: p.axes,
                })
                .collect();
            input.populations = vec![(1, vec![0, 1]), (2, vec![0, 1, 2])];
            run
        };
        let runs = [
            with_generations("runs/ga", "✗", &[(0.9, 0.1), (0.8, 0.2), (0.7, 0.6)]),
            with_generations("runs/nsga2", "✓", &[(0.6, 0.3), (0.5, 0.5), (0.4, 0.7)]),
        ];
        let csv = evolution_csv(&runs, Members::Population);
        let lines: Vec<&str> = csv.lines().collect();
        let header: Vec<&str> = lines[0].split(',').collect();
        assert_eq!(&header[..3], ["run_folder", "generation", "n"]);
        let mut unique = header.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), header.len());
        // Two generations per run, the runs one block each in the order given.
        let folders: Vec<&str> = lines[1..].iter().map(|l| l.split(',').next().unwrap()).collect();
        assert_eq!(folders, ["\"runs/ga\"", "\"runs/ga\"", "\"runs/nsga2\"", "\"runs/nsga2\""]);
        // Generation 2 of runs/nsga2: mean of 0.6, 0.5, 0.4 on the first axis.
        let row: Vec<&str> = lines[4].split(',').collect();
        assert_eq!((row[1], row[2]), ("2", "3"));
        assert!((row[3].parse::<f64>().unwrap() - 0.5).abs() < 1e-12, "{}", lines[4]);
        let svg = evolution_compare_svg(&runs, Members::Population);
        assert!(svg.contains("runs/ga: val_accuracy") && svg.contains("runs/nsga2: introspectability"));
        // Over the fronts: generation 2 of runs/ga evaluated (0.7, 0.6) alone (ids 2 and 3 of the
        // sample are generation 1), generation 0 (ids 0, 1) both non-dominated.
        let fronts = evolution_csv(&runs, Members::Front);
        let ga: Vec<&str> = fronts.lines().filter(|l| l.starts_with("\"runs/ga\",")).collect();
        assert_eq!(ga.len(), 2, "{fronts}");
        assert!(ga[0].starts_with("\"runs/ga\",0,2,0.85"), "{fronts}");
        assert!(ga[1].starts_with("\"runs/ga\",1,1,0.7,"), "{fronts}");
    }

    #[test]
    fn one_row_per_run_in_the_order_given_from_one_reference() {
        let runs = [
            run("runs/nsga2", "✓", &[(0.9, 0.2), (0.8, 0.4), (0.5, 0.5)]),
            run("runs/ga", "✗", &[(0.95, 0.1), (0.9, 0.05)]),
        ];
        let csv = table_csv(&runs);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[1].starts_with("\"runs/nsga2\",test,fashion-mnist,✓,"), "{}", lines[1]);
        assert!(lines[2].starts_with("\"runs/ga\",test,fashion-mnist,✗,"), "{}", lines[2]);
        let t = tables(&runs);
        // By hand from (0.1, 0): ✓ 0.8·0.2 + 0.7·0.2 + 0.4·0.1 = 0.34; ✗ only (0.95, 0.1) counts: 0.085.
        assert!((t[0].hypervolume.unwrap() - 0.34).abs() < 1e-12);
        assert!((t[1].hypervolume.unwrap() - 0.085).abs() < 1e-12);
        let header: Vec<&str> = lines[0].split(',').collect();
        let mut unique = header.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), header.len());
        let md = table_markdown(&runs);
        assert!(md.contains("| runs/ga | fashion-mnist | ✗ |"), "{md}");
        let names: Vec<String> = files(&runs).into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "table1.md",
                "table1.csv",
                "fronts.svg",
                "fronts_overlay.svg",
                "fronts.csv",
                "hypervolume.svg",
                "hypervolume.csv",
                "evolution_front.svg",
                "evolution_front.csv",
                "evolution.svg",
                "evolution.csv",
                "index.html"
            ]
        );
    }
}
