//! Several runs side by side (`xnas compare`): Table 1 with one row per run in the order given
//! (Markdown and CSV naming each run's folder), every run's front in the report axes with its
//! hypervolume region, one panel per run and one overlay (Figure 2's layout), and every run's
//! archive hypervolume per generation in one figure.
//!
//! All of it in the report axes from one reference point (chance accuracy of the first run's
//! dataset, zero introspectability), so a single-objective (✗) row and a multi-objective (✓) row
//! are measured the same way.

use std::fmt::Write as _;

use plotters::prelude::*;

use super::figures::{dominated_region, draw_legend, generation_mesh, ranges};
use super::{escape, ReportInput, Table1};

/// One run to compare: its folder (as the user named it) and its report input.
pub struct ComparedRun {
    pub folder: String,
    pub input: ReportInput,
}

/// Series colours, one per run (cycled).
const COLOURS: [RGBColor; 6] = [
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
    let pct = |x: Option<f64>| x.map_or("–".into(), |v| format!("{:.1}%", 100.0 * v));
    let num = |x: Option<f64>| x.map_or("–".into(), |v| format!("{v:.3}"));
    let mut out = String::from(
        "| Run | Dataset | Variant | Gen. | Evaluated | Max accuracy | Median accuracy | Max intros. | Median intros. | Hypervolume |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for (run, t) in runs.iter().zip(tables(runs)) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            run.folder,
            run.input.dataset,
            run.input.variant,
            t.generations,
            t.evaluated,
            pct(t.max_accuracy),
            pct(t.median_accuracy),
            num(t.max_introspectability),
            num(t.median_introspectability),
            num(t.hypervolume)
        );
    }
    out
}

/// Table 1 across runs as CSV, one row per run in the order given.
pub fn table_csv(runs: &[ComparedRun]) -> String {
    let f = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v}"));
    let reference = common_reference(runs);
    let mut out = String::from(
        "run_folder,run_name,dataset,variant,generations,evaluated,max_accuracy,median_accuracy,\
         max_introspectability,median_introspectability,hypervolume,reference_accuracy,reference_introspectability\n",
    );
    for (run, t) in runs.iter().zip(tables(runs)) {
        let _ = writeln!(
            out,
            "\"{}\",{},{},{},{},{},{},{},{},{},{},{},{}",
            run.folder.replace('"', "\"\""),
            run.input.run_name,
            run.input.dataset,
            run.input.variant,
            t.generations,
            t.evaluated,
            f(t.max_accuracy),
            f(t.median_accuracy),
            f(t.max_introspectability),
            f(t.median_introspectability),
            f(t.hypervolume),
            reference[0],
            reference[1]
        );
    }
    out
}

/// Figure 2's layout: one panel per run (its points, its front and its hypervolume region) and a
/// last panel with every front overlaid, all on the same axes.
pub fn fronts_svg(runs: &[ComparedRun]) -> String {
    let reference = common_reference(runs);
    let (rx, ry) = (reference[1], reference[0]);
    let panels = runs.len() + 1;
    let columns = panels.min(3);
    let rows = panels.div_ceil(columns);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (380 * columns as u32, 330 * rows as u32)).into_drawing_area();
        root.fill(&WHITE).expect("drawing on a string");
        let data: Vec<_> = runs.iter().map(|r| r.input.report_plane()).collect();
        let (x_range, y_range) =
            ranges(data.iter().flat_map(|(all, _)| all.iter().copied()).chain(std::iter::once((rx, ry))));
        let areas = root.split_evenly((rows, columns));
        for (k, area) in areas.iter().enumerate().take(panels) {
            let overlay = k == runs.len();
            let title = if overlay { "all fronts".to_string() } else { runs[k].folder.clone() };
            let mut chart = ChartBuilder::on(area)
                .caption(title, ("sans-serif", 15))
                .margin(10)
                .x_label_area_size(34)
                .y_label_area_size(48)
                .build_cartesian_2d(x_range.clone(), y_range.clone())
                .expect("chart");
            chart
                .configure_mesh()
                .light_line_style(TRANSPARENT)
                .x_desc("introspectability")
                .y_desc("validation accuracy")
                .label_style(("sans-serif", 11))
                .draw()
                .expect("mesh");
            let shown: Vec<usize> = if overlay { (0..runs.len()).collect() } else { vec![k] };
            for i in shown {
                let colour = COLOURS[i % COLOURS.len()];
                let (all, front) = &data[i];
                if !overlay {
                    let region = dominated_region(front, (rx, ry), true, true);
                    if region.len() > 2 {
                        chart
                            .draw_series(std::iter::once(Polygon::new(region, colour.mix(0.18).filled())))
                            .expect("region");
                    }
                    chart
                        .draw_series(all.iter().map(|&p| Circle::new(p, 2, RGBColor(170, 170, 170).filled())))
                        .expect("points");
                }
                let mut stairs = front.clone();
                stairs.sort_by(|a, b| a.0.total_cmp(&b.0));
                let series =
                    chart.draw_series(stairs.iter().map(|&p| Circle::new(p, 4, colour.filled()))).expect("front");
                if overlay {
                    series
                        .label(runs[i].folder.clone())
                        .legend(move |(x, y)| Circle::new((x + 6, y), 4, colour.filled()));
                    chart
                        .draw_series(std::iter::once(PathElement::new(stairs.clone(), colour.stroke_width(1))))
                        .expect("line");
                }
            }
            if overlay {
                draw_legend(&mut chart, SeriesLabelPosition::LowerLeft);
            }
        }
        root.present().expect("svg");
    }
    svg
}

/// Every run's archive hypervolume per generation (report axes, common reference), one line each.
pub fn hypervolumes_svg(runs: &[ComparedRun]) -> String {
    let reference = common_reference(runs);
    let series: Vec<Vec<(u64, f64)>> = runs
        .iter()
        .map(|r| {
            let mut generations: Vec<u64> = r.input.points.iter().map(|p| p.generation).collect();
            generations.sort_unstable();
            generations.dedup();
            generations
                .into_iter()
                .filter_map(|g| Some((g, r.input.archive_hypervolume_from(Some(g), reference)?)))
                .collect()
        })
        .collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (820, 400)).into_drawing_area();
        root.fill(&WHITE).expect("drawing on a string");
        let all = series.iter().flatten();
        let (_, mut y_range) = ranges(all.clone().map(|&(g, hv)| (g as f64, hv)));
        y_range.start = y_range.start.min(0.0);
        let first = all.clone().map(|p| p.0).min().unwrap_or(0) as i64;
        let last = all.map(|p| p.0).max().unwrap_or(1) as i64;
        let mut chart = ChartBuilder::on(&root)
            .caption("Hypervolume per generation (accuracy × introspectability)", ("sans-serif", 18))
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d((first - 1)..(last + 1), y_range)
            .expect("chart");
        generation_mesh(&mut chart, first, last, "hypervolume");
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
        root.present().expect("svg");
    }
    svg
}

/// Every file of a comparison: the tables, both figures and an `index.html` showing them.
pub fn files(runs: &[ComparedRun]) -> Vec<(String, String)> {
    let reference = common_reference(runs);
    let markdown = table_markdown(runs);
    let mut rows = String::new();
    for line in markdown.lines().skip(2) {
        let cells: Vec<String> =
            line.trim_matches('|').split('|').map(|c| format!("<td>{}</td>", escape(c.trim()))).collect();
        let _ = writeln!(rows, "<tr>{}</tr>", cells.concat());
    }
    let html = format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>xnas compare</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:2em auto}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}td:first-child{{text-align:left}}img{{max-width:100%}}</style>
</head><body>
<h1>xnas compare: {n} run(s)</h1>
<p>Table 1 over every evaluated architecture of each run, in the report axes (validation accuracy, introspectability eq. 1); hypervolume of each archive from the common reference point ({ra:.3}, 0). Files: <a href="table1.csv">table1.csv</a>, <a href="table1.md">table1.md</a>.</p>
<h2>Table 1</h2>
<table><tr><th>Run</th><th>Dataset</th><th>Variant</th><th>Gen.</th><th>Evaluated</th><th>Max accuracy</th><th>Median accuracy</th><th>Max intros.</th><th>Median intros.</th><th>Hypervolume</th></tr>
{rows}</table>
<h2>Fronts (Figure 2)</h2>
<img src="fronts.svg" alt="fronts of every run">
<h2>Hypervolume per generation</h2>
<img src="hypervolume.svg" alt="hypervolume per generation of every run">
</body></html>
"#,
        n = runs.len(),
        ra = reference[0],
    );
    vec![
        ("table1.md".into(), markdown),
        ("table1.csv".into(), table_csv(runs)),
        ("fronts.svg".into(), fronts_svg(runs)),
        ("hypervolume.svg".into(), hypervolumes_svg(runs)),
        ("index.html".into(), html),
    ]
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
        ComparedRun { folder: folder.into(), input }
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
        assert_eq!(names, ["table1.md", "table1.csv", "fronts.svg", "hypervolume.svg", "index.html"]);
    }
}
