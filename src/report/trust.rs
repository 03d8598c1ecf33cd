//! Are the introspectable networks of a front more trustworthy? The report's trust section (the
//! paper's §4.5, figures 5–8 and appendices C, D and K), drawn from the trust measurements every
//! evaluation record holds (`class_means`, `calibration`, `mispredictions`, `mislabels`,
//! `confusion_correlation`):
//!
//! - Fig. 5 / App. C: class × block heat maps of z-scored class-mean activations of the front's
//!   most and least introspectable models, from the validation pass introspectability measured
//!   (`validation_class_means`; the training split's for records written before it was kept);
//! - Fig. 6 / App. D: the same class means' first two principal components for the same two
//!   models, with the classes under chosen WordNet hypernyms highlighted;
//! - Fig. 7: calibration quality (Pearson and Spearman ρ of binned confidence against binned
//!   accuracy) against introspectability across the front, activation vs softmax, and the
//!   introspectability above which activations calibrate better (the crossover);
//! - Fig. 8: accuracy gained by removing the lowest-scoring test samples, and the detection rate
//!   of deliberately corrupted training labels, for the two models;
//! - App. K: ρ(−D, folded confusion) with and without the diagonal across the front, and K7's
//!   heat maps of −D and the folded confusion of the most introspectable model.
//!
//! In `xnas compare` the section is each front's means side by side and Fig. 7 across the runs.
//!
//! Everything is a pure function of [`TrustInput`] (records and report-axis coordinates), with
//! the data behind every figure written as CSV beside it. Models whose records predate the trust
//! measurements are listed as such instead of failing the report.

use std::fmt::Write as _;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::chart::{draw_legend, plane_chart, ranges, svg_figure, Area, Frame, Room};
use super::compare::{quoted, ComparedRun, COLOURS};
use super::{escape, number_cell, percent_cell, ReportInput, Section, SectionEntry};
use crate::introspect::DistanceMatrix;
use crate::record::{ClassMeanSummary, MeasurementRecord, RemovalCurves};

/// One model of the front, in the report axes, with its record.
#[derive(Debug, Clone)]
pub struct TrustModel {
    pub id: u64,
    pub genome: String,
    pub accuracy: f64,
    pub introspectability: f64,
    pub record: MeasurementRecord,
}

/// Classes to colour together in the PCA figure (e.g. the labels under `primate.n.02`).
#[derive(Debug, Clone, PartialEq)]
pub struct Highlight {
    pub name: String,
    pub members: Vec<usize>,
}

/// What the trust section needs: the front's models and the class groups to highlight.
#[derive(Debug, Clone, Default)]
pub struct TrustInput {
    pub models: Vec<TrustModel>,
    pub class_names: Vec<String>,
    pub highlight: Vec<Highlight>,
}

/// The introspectability at which the activation curve first rises above the softmax curve,
/// interpolated linearly between neighbouring front models (sorted by introspectability):
/// `points` are `(introspectability, activation ρ, softmax ρ)`. `None` when activation never
/// overtakes softmax, or is ahead from the first model on (then there is no crossing to show).
pub fn crossover(points: &[(f64, f64, f64)]) -> Option<f64> {
    let mut sorted: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.0.is_finite() && p.1.is_finite() && p.2.is_finite())
        .map(|p| (p.0, p.1 - p.2))
        .collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    sorted.windows(2).find(|w| w[0].1 <= 0.0 && w[1].1 > 0.0).map(|w| {
        let (x0, d0) = w[0];
        let (x1, d1) = w[1];
        x0 + (x1 - x0) * (0.0 - d0) / (d1 - d0)
    })
}

/// Where, after the crossover `after`, the activation curve falls back below softmax (the
/// paper: calibration "tapers off rapidly" past its crossover), interpolated as [`crossover`].
pub fn crosses_back(points: &[(f64, f64, f64)], after: Option<f64>) -> Option<f64> {
    let after = after?;
    let mirrored: Vec<(f64, f64, f64)> =
        points.iter().filter(|p| p.0 > after).map(|&(x, activation, softmax)| (x, softmax, activation)).collect();
    crossover(&mirrored)
}

/// The value of a curve at percent `p` (the curves are sampled at integer percents, but a
/// curve need not contain every one).
fn at_percent(curves: &RemovalCurves, values: &[f64], p: f64) -> Option<f64> {
    curves.percent.iter().position(|&q| (q - p).abs() < 1e-9).and_then(|i| values.get(i).copied())
}

/// "Trust and debugging" in a run's report, and the fronts' means side by side in a comparison.
pub(super) const SECTION: SectionEntry =
    SectionEntry { report: Some(|input: &ReportInput| trust_section(&input.trust)), compare: Some(compare_section) };

/// The section's files and HTML.
pub fn trust_section(input: &TrustInput) -> Section {
    let mut section = Section { files: Vec::new(), html: String::from("<h2>Trust and debugging</h2>\n") };
    let measured: Vec<&TrustModel> = input
        .models
        .iter()
        .filter(|m| m.record.calibration.is_some() && m.record.class_means.is_some() && m.introspectability.is_finite())
        .collect();
    if measured.is_empty() {
        section.html.push_str(
            "<p>No front model has trust measurements (records written before they existed, or an experiment \
             with <code>trust: false</code>): nothing to show.</p>\n",
        );
        return section;
    }
    // With `validation: held-out` the search selected on the official test split (the authors'
    // setup), so the trust measurements' split is no longer one the search never saw.
    let held_out = measured.iter().any(|m| m.record.config.validation == xnas_datasets::ValidationSplit::HeldOut);
    let split = if held_out {
        "all on the test split — which, with <code>validation: held-out</code>, is also the split the search \
         validated on: the search has seen it"
    } else {
        "all on the test split the search never saw"
    };
    let _ = writeln!(
        section.html,
        "<p>{} of the {} front models have trust measurements, {split}. \
         Calibration quality is the correlation between binned confidence and binned accuracy over 50 bins; \
         the activation score of a sample is its cosine similarity to its predicted class's mean activation on \
         training data (§4.5).</p>",
        measured.len(),
        input.models.len()
    );
    let low = *measured.iter().min_by(|a, b| a.introspectability.total_cmp(&b.introspectability)).expect("non-empty");
    let high = *measured.iter().max_by(|a, b| a.introspectability.total_cmp(&b.introspectability)).expect("non-empty");
    let pair: Vec<(&str, &TrustModel)> =
        if low.id == high.id { vec![("the only model", high)] } else { vec![("highest", high), ("lowest", low)] };
    table_section(&measured, &mut section);
    fig5_section(&pair, &input.class_names, &mut section);
    fig6_section(&pair, input, &mut section);
    fig7_section(&measured, &mut section);
    fig8_section(&pair, &mut section);
    appendix_k_section(&measured, high, &input.class_names, &mut section);
    section
}

fn opt(x: Option<f64>) -> String {
    x.map_or(String::new(), |v| format!("{v:.6}"))
}

/// A table cell of an accuracy gain in percentage points, signed; `–` when there is none.
fn gain_cell(x: Option<f64>) -> String {
    x.map_or("–".into(), |v| format!("{:+.1}", 100.0 * v))
}

/// One row per measured front model: accuracy on each split and every trust number.
fn table_section(models: &[&TrustModel], section: &mut Section) {
    let mut csv = String::from(
        "id,genome,introspectability,validation_accuracy,train_accuracy,test_accuracy,\
         activation_pearson,activation_spearman,activation_ece,softmax_pearson,softmax_spearman,softmax_ece,\
         activation_accuracy_gain_at_20,softmax_accuracy_gain_at_20,activation_detection_at_20,softmax_detection_at_20,\
         trust_seconds,train_seconds\n",
    );
    let mut rows = String::new();
    let mut sorted = models.to_vec();
    sorted.sort_by(|a, b| b.introspectability.total_cmp(&a.introspectability));
    for m in sorted {
        let r = &m.record;
        let cal = r.calibration.as_ref().expect("measured");
        let gain = |values: fn(&RemovalCurves) -> &Vec<f64>| {
            r.mispredictions
                .as_ref()
                .and_then(|c| Some(at_percent(c, values(c), 20.0)? - at_percent(c, values(c), 0.0)?))
        };
        let detection =
            |values: fn(&RemovalCurves) -> &Vec<f64>| r.mislabels.as_ref().and_then(|c| at_percent(c, values(c), 20.0));
        let (act_gain, soft_gain) = (gain(|c| &c.activation), gain(|c| &c.softmax));
        let (act_det, soft_det) = (detection(|c| &c.activation), detection(|c| &c.softmax));
        let _ = writeln!(
            csv,
            "{},{},{:.6},{},{},{},{},{},{:.6},{},{},{:.6},{},{},{},{},{:.3},{:.3}",
            m.id,
            m.genome,
            m.introspectability,
            opt(r.val_accuracy),
            opt(r.train_accuracy),
            opt(r.test_accuracy),
            opt(cal.activation.pearson),
            opt(cal.activation.spearman),
            cal.activation.ece,
            opt(cal.softmax.pearson),
            opt(cal.softmax.spearman),
            cal.softmax.ece,
            opt(act_gain),
            opt(soft_gain),
            opt(act_det),
            opt(soft_det),
            r.trust_seconds,
            r.train_seconds
        );
        let pct = percent_cell;
        let _ = writeln!(
            rows,
            "<tr><td>{}</td><td><code>{}</code></td><td>{:.3}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {}</td>\
             <td>{} / {}</td><td>{:.3} / {:.3}</td><td>{} / {}</td><td>{} / {}</td></tr>",
            m.id,
            escape(&m.genome),
            m.introspectability,
            pct(r.val_accuracy),
            pct(r.train_accuracy),
            pct(r.test_accuracy),
            number_cell(cal.activation.spearman, 3),
            number_cell(cal.softmax.spearman, 3),
            number_cell(cal.activation.pearson, 3),
            number_cell(cal.softmax.pearson, 3),
            cal.activation.ece,
            cal.softmax.ece,
            gain_cell(act_gain),
            gain_cell(soft_gain),
            pct(act_det),
            pct(soft_det),
        );
    }
    section.files.push(("trust.csv".into(), csv));
    let _ = writeln!(
        section.html,
        "<h3>The front's trust measurements</h3>\n<p>Most introspectable first; pairs are activation / softmax. \
         Accuracy gain: test accuracy after removing the lowest-scoring 20 % of test samples, minus before \
         (points). Detection: share of the corrupted training labels among the lowest-scoring 20 % (chance: 20 %; \
         only with <code>label_noise</code>). Data: <a href=\"trust.csv\">trust.csv</a>.</p>\n\
         <table><tr><th>id</th><th>genome</th><th>intros.</th><th>val. acc.</th><th>train acc.</th><th>test acc.</th>\
         <th>Spearman</th><th>Pearson</th><th>ECE</th><th>acc. gain @20 %</th><th>detection @20 %</th></tr>\n{rows}</table>"
    );
}

/// A colour for `value` on a scale: diverging blue–white–red around 0 over `[-limit, limit]`,
/// or sequential white–dark blue over `[0, limit]`.
fn scale_colour(value: f64, limit: f64, diverging: bool) -> RGBColor {
    let limit = if limit > 0.0 && limit.is_finite() { limit } else { 1.0 };
    let t = (value / limit).clamp(-1.0, 1.0);
    let mix = |a: (f64, f64, f64), b: (f64, f64, f64), t: f64| {
        RGBColor((a.0 + (b.0 - a.0) * t) as u8, (a.1 + (b.1 - a.1) * t) as u8, (a.2 + (b.2 - a.2) * t) as u8)
    };
    let white = (255.0, 255.0, 255.0);
    if diverging {
        if t >= 0.0 {
            mix(white, (178.0, 24.0, 43.0), t)
        } else {
            mix(white, (33.0, 102.0, 172.0), -t)
        }
    } else {
        mix(white, (8.0, 48.0, 107.0), t.max(0.0))
    }
}

/// A labelled heat map: `values[row][column]`, with a colour bar; `None` cells are grey.
struct HeatMap<'a> {
    title: String,
    rows: &'a [String],
    columns: &'a [String],
    values: Vec<Vec<Option<f64>>>,
    diverging: bool,
}

const HEAT_LEFT: i32 = 120;
const HEAT_TOP: i32 = 40;
const HEAT_BOTTOM: i32 = 110;

fn draw_heat_map(area: &Area, map: &HeatMap) {
    let (width, height) = area.dim_in_pixel();
    let (width, height) = (width as i32, height as i32);
    let _ = area.draw(&Text::new(map.title.clone(), (10, 10), ("sans-serif", 16).into_font()));
    let bar_width = 70;
    let grid_w = (width - HEAT_LEFT - bar_width - 10).max(10);
    let grid_h = (height - HEAT_TOP - HEAT_BOTTOM).max(10);
    let nr = map.rows.len().max(1) as i32;
    let nc = map.columns.len().max(1) as i32;
    let limit = map.values.iter().flatten().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
    let low = map.values.iter().flatten().flatten().fold(f64::INFINITY, |m, &v| m.min(v));
    let label_font = ("sans-serif", 12).into_font();
    for (r, row) in map.values.iter().enumerate() {
        for (c, value) in row.iter().enumerate() {
            let x0 = HEAT_LEFT + grid_w * c as i32 / nc;
            let x1 = HEAT_LEFT + grid_w * (c as i32 + 1) / nc;
            let y0 = HEAT_TOP + grid_h * r as i32 / nr;
            let y1 = HEAT_TOP + grid_h * (r as i32 + 1) / nr;
            let colour = value.map_or(RGBColor(200, 200, 200), |v| scale_colour(v, limit, map.diverging));
            let _ = area.draw(&Rectangle::new([(x0, y0), (x1, y1)], colour.filled()));
        }
    }
    let _ = area.draw(&Rectangle::new(
        [(HEAT_LEFT, HEAT_TOP), (HEAT_LEFT + grid_w, HEAT_TOP + grid_h)],
        RGBColor(120, 120, 120).stroke_width(1),
    ));
    for (r, name) in map.rows.iter().enumerate() {
        let y = HEAT_TOP + grid_h * (2 * r as i32 + 1) / (2 * nr);
        let style = TextStyle::from(label_font.clone()).pos(Pos::new(HPos::Right, VPos::Center));
        let _ = area.draw(&Text::new(short(name, 16), (HEAT_LEFT - 6, y), style));
    }
    for (c, name) in map.columns.iter().enumerate() {
        let x = HEAT_LEFT + grid_w * (2 * c as i32 + 1) / (2 * nc);
        let style = TextStyle::from(label_font.clone().transform(FontTransform::Rotate90))
            .pos(Pos::new(HPos::Left, VPos::Center));
        let _ = area.draw(&Text::new(short(name, 16), (x, HEAT_TOP + grid_h + 6), style));
    }
    // The colour bar: top = the largest magnitude, bottom = its negative (diverging) or 0.
    let bx = HEAT_LEFT + grid_w + 14;
    let steps = 40;
    for i in 0..steps {
        let t = 1.0 - 2.0 * (i as f64 + 0.5) / steps as f64;
        let value = if map.diverging { t * limit } else { (t + 1.0) / 2.0 * limit };
        let y0 = HEAT_TOP + grid_h * i / steps;
        let y1 = HEAT_TOP + grid_h * (i + 1) / steps;
        let _ =
            area.draw(&Rectangle::new([(bx, y0), (bx + 14, y1)], scale_colour(value, limit, map.diverging).filled()));
    }
    let bottom = if map.diverging { -limit } else { low.min(0.0) };
    let _ = area.draw(&Text::new(format!("{limit:.3}"), (bx + 18, HEAT_TOP - 6), label_font.clone()));
    let _ = area.draw(&Text::new(format!("{bottom:.3}"), (bx + 18, HEAT_TOP + grid_h - 6), label_font));
}

fn short(name: &str, chars: usize) -> String {
    if name.chars().count() <= chars {
        name.to_string()
    } else {
        format!("{}…", name.chars().take(chars - 1).collect::<String>())
    }
}

/// Heat maps side by side in one SVG.
fn heat_maps_svg(maps: &[HeatMap], panel_height: u32) -> String {
    let panel_width = 560;
    svg_figure((panel_width * maps.len().max(1) as u32, panel_height), |root| {
        for (panel, map) in root.split_evenly((1, maps.len().max(1))).iter().zip(maps) {
            draw_heat_map(panel, map);
        }
    })
}

fn model_label(role: &str, m: &TrustModel) -> String {
    format!("{role} introspectability: id {} ({:.3}, acc. {:.1}%)", m.id, m.introspectability, 100.0 * m.accuracy)
}

/// The split whose class means figures 5 and 6 draw for one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MeansSplit {
    /// The validation pass's: the means introspectability measured, and those the authors saved.
    Validation,
    /// The training split's (the trust scores' reference), for a record written before the
    /// validation means were kept.
    Training,
}

impl MeansSplit {
    fn name(self) -> &'static str {
        match self {
            MeansSplit::Validation => "validation",
            MeansSplit::Training => "training",
        }
    }
}

/// Each model of `pair` that has class means, with the means figures 5 and 6 draw and their split.
fn figure_means<'a>(
    pair: &[(&'a str, &'a TrustModel)],
) -> Vec<(&'a str, &'a TrustModel, &'a ClassMeanSummary, MeansSplit)> {
    pair.iter()
        .filter_map(|&(role, m)| match (&m.record.validation_class_means, &m.record.class_means) {
            (Some(means), _) => Some((role, m, means, MeansSplit::Validation)),
            (None, Some(means)) => Some((role, m, means, MeansSplit::Training)),
            (None, None) => None,
        })
        .collect()
}

/// The sentence a figure's caption adds for models drawn from the training split's means.
fn fallback_note(summaries: &[(&str, &TrustModel, &ClassMeanSummary, MeansSplit)]) -> String {
    let older: Vec<String> =
        summaries.iter().filter(|s| s.3 == MeansSplit::Training).map(|s| format!("id {}", s.1.id)).collect();
    if older.is_empty() {
        return String::new();
    }
    format!(
        " The record of {} predates the validation class means: its panel shows the training split's means \
         (the trust scores' reference) instead.",
        older.join(" and ")
    )
}

/// Fig. 5 / App. C.
fn fig5_section(pair: &[(&str, &TrustModel)], class_names: &[String], section: &mut Section) {
    let mut csv = String::from("id,introspectability,split,class,block,z_scored_mean\n");
    let mut maps = Vec::new();
    let summaries = figure_means(pair);
    for (role, m, means, split) in &summaries {
        for (c, row) in means.block_means.iter().enumerate() {
            for (b, v) in row.iter().enumerate() {
                let class = class_names.get(c).map_or(c.to_string(), |n| n.replace(',', " "));
                let block = means.blocks.get(b).map_or(b.to_string(), |n| n.replace(',', " "));
                let _ = writeln!(csv, "{},{:.6},{},{class},{block},{v:.6}", m.id, m.introspectability, split.name());
            }
        }
        let title = match split {
            MeansSplit::Validation => model_label(role, m),
            MeansSplit::Training => format!("{} (training split)", model_label(role, m)),
        };
        maps.push(HeatMap {
            title,
            rows: class_names,
            columns: &means.blocks,
            values: means.block_means.iter().map(|r| r.iter().map(|&v| Some(v)).collect()).collect(),
            diverging: true,
        });
    }
    if maps.is_empty() {
        return;
    }
    section.files.push(("fig5_class_means.svg".into(), heat_maps_svg(&maps, 460)));
    section.files.push(("fig5_class_means.csv".into(), csv));
    let _ = writeln!(
        section.html,
        "<h3>Class-mean activations (Fig. 5, App. C)</h3>\n<p>Each class's z-scored mean activation on the \
         validation images introspectability was measured on, averaged over each block's tapped layers, for the \
         front's most and least introspectable models. Distinct rows mean classes the network keeps apart.{} Data: \
         <a href=\"fig5_class_means.csv\">fig5_class_means.csv</a>.</p>\n\
         <img src=\"fig5_class_means.svg\" alt=\"class-mean heat maps\">",
        fallback_note(&summaries)
    );
}

/// Fig. 6 / App. D.
fn fig6_section(pair: &[(&str, &TrustModel)], input: &TrustInput, section: &mut Section) {
    let palette = [RGBColor(230, 120, 20), RGBColor(40, 150, 60), RGBColor(150, 60, 180), RGBColor(200, 40, 40)];
    let group_of = |class: usize| input.highlight.iter().position(|h| h.members.contains(&class));
    let mut csv = String::from("id,introspectability,split,class,group,pc1,pc2,pc1_explained,pc2_explained\n");
    let summaries = figure_means(pair);
    if summaries.is_empty() {
        return;
    }
    let svg = svg_figure((560 * summaries.len() as u32, 500), |root| {
        let panels = root.split_evenly((1, summaries.len()));
        for (panel, (role, m, means, split)) in panels.iter().zip(&summaries) {
            for (c, p) in means.pca.iter().enumerate() {
                let class = input.class_names.get(c).map_or(c.to_string(), |n| n.replace(',', " "));
                let group = group_of(c).map_or(String::new(), |g| input.highlight[g].name.clone());
                let _ = writeln!(
                    csv,
                    "{},{:.6},{},{class},{group},{:.6},{:.6},{:.6},{:.6}",
                    m.id,
                    m.introspectability,
                    split.name(),
                    p[0],
                    p[1],
                    means.pca_explained[0],
                    means.pca_explained[1]
                );
            }
            let (x_range, y_range) = ranges(means.pca.iter().map(|p| (p[0], p[1])));
            let widen = |r: std::ops::Range<f64>| {
                let pad = 0.12 * (r.end - r.start);
                (r.start - pad)..(r.end + pad)
            };
            let caption = match split {
                MeansSplit::Validation => model_label(role, m),
                MeansSplit::Training => format!("{} (training split)", model_label(role, m)),
            };
            let frame = Frame { caption: &caption, caption_size: 15, room: Room::Medium };
            let [pc1, pc2] = means.pca_explained.map(|share| format!("{:.0} % of variance", 100.0 * share));
            let descs = [format!("PC 1 ({pc1})"), format!("PC 2 ({pc2})")];
            let mut chart = plane_chart(panel, frame, (widen(x_range), widen(y_range)), [&descs[0], &descs[1]], None);
            let grey = RGBColor(140, 140, 140);
            chart
                .draw_series(means.pca.iter().enumerate().filter(|(c, _)| group_of(*c).is_none()).map(|(c, p)| {
                    let name = short(input.class_names.get(c).map_or("?", |n| n.as_str()), 14);
                    EmptyElement::at((p[0], p[1]))
                        + Circle::new((0, 0), 4, grey.filled())
                        + Text::new(name, (6, -6), ("sans-serif", 11).into_font().color(&grey))
                }))
                .expect("classes")
                .label("other classes")
                .legend(move |(x, y)| Circle::new((x + 6, y), 4, grey.filled()));
            for (g, highlight) in input.highlight.iter().enumerate() {
                let colour = palette[g % palette.len()];
                chart
                    .draw_series(means.pca.iter().enumerate().filter(|(c, _)| group_of(*c) == Some(g)).map(|(c, p)| {
                        let name = short(input.class_names.get(c).map_or("?", |n| n.as_str()), 14);
                        EmptyElement::at((p[0], p[1]))
                            + Circle::new((0, 0), 5, colour.filled())
                            + Text::new(name, (6, -6), ("sans-serif", 11).into_font().color(&colour))
                    }))
                    .expect("group")
                    .label(highlight.name.clone())
                    .legend(move |(x, y)| Circle::new((x + 6, y), 5, colour.filled()));
            }
            draw_legend(&mut chart, SeriesLabelPosition::LowerRight);
        }
    });
    section.files.push(("fig6_pca.svg".into(), svg));
    section.files.push(("fig6_pca.csv".into(), csv));
    let groups = if input.highlight.is_empty() {
        "no WordNet groups are highlighted".to_string()
    } else {
        format!(
            "coloured: the classes under {}",
            input
                .highlight
                .iter()
                .map(|h| format!("<code>{}</code>", escape(&h.name)))
                .collect::<Vec<_>>()
                .join(" and ")
        )
    };
    let _ = writeln!(
        section.html,
        "<h3>Principal components of the class means (Fig. 6, App. D)</h3>\n<p>The class means of the validation \
         pass projected on their first two principal components; {groups}.{} Data: \
         <a href=\"fig6_pca.csv\">fig6_pca.csv</a>.</p>\n<img src=\"fig6_pca.svg\" alt=\"PCA of class means\">",
        fallback_note(&summaries)
    );
}

/// Reads one correlation off a calibration quality.
type QualityMeasure = fn(&crate::record::CalibrationQuality) -> Option<f64>;

/// One model's two curves of a Fig. 8 panel, in plot coordinates.
type CurvePair<'a> = (&'a str, &'a TrustModel, Vec<(f64, f64)>, Vec<(f64, f64)>);

/// Fig. 7.
fn fig7_section(models: &[&TrustModel], section: &mut Section) {
    let mut sorted = models.to_vec();
    sorted.sort_by(|a, b| a.introspectability.total_cmp(&b.introspectability));
    let mut csv =
        String::from("id,introspectability,activation_pearson,activation_spearman,softmax_pearson,softmax_spearman\n");
    for m in &sorted {
        let cal = m.record.calibration.as_ref().expect("measured");
        let _ = writeln!(
            csv,
            "{},{:.6},{},{},{},{}",
            m.id,
            m.introspectability,
            opt(cal.activation.pearson),
            opt(cal.activation.spearman),
            opt(cal.softmax.pearson),
            opt(cal.softmax.spearman)
        );
    }
    let series = |pick: QualityMeasure, activation: bool| -> Vec<(f64, f64)> {
        sorted
            .iter()
            .filter_map(|m| {
                let cal = m.record.calibration.as_ref()?;
                let q = if activation { &cal.activation } else { &cal.softmax };
                Some((m.introspectability, pick(q)?))
            })
            .collect()
    };
    let mut crossings = Vec::new();
    let svg = svg_figure((1100, 440), |root| {
        let panels = root.split_evenly((1, 2));
        let measures: [(&str, QualityMeasure); 2] = [("Pearson", |q| q.pearson), ("Spearman", |q| q.spearman)];
        for (panel, (name, pick)) in panels.iter().zip(measures) {
            let activation = series(pick, true);
            let softmax = series(pick, false);
            let joined: Vec<(f64, f64, f64)> = sorted
                .iter()
                .filter_map(|m| {
                    let cal = m.record.calibration.as_ref()?;
                    Some((m.introspectability, pick(&cal.activation)?, pick(&cal.softmax)?))
                })
                .collect();
            let cross = crossover(&joined);
            crossings.push((name, cross, crosses_back(&joined, cross)));
            let (x_range, mut y_range) = ranges(activation.iter().chain(&softmax).copied());
            y_range.end = y_range.end.clamp(1.0, 1.05);
            // Room below the lowest point for the legend, so that it never hides one.
            y_range.start -= 0.4 * (y_range.end - y_range.start);
            let caption = format!("Calibration quality ({name} ρ) across the front");
            let frame = Frame { caption: &caption, caption_size: 16, room: Room::Medium };
            let y_desc = format!("{name} ρ, confidence vs accuracy");
            let mut chart = plane_chart(panel, frame, (x_range, y_range.clone()), ["introspectability", &y_desc], None);
            for (data, colour, label) in
                [(activation, RGBColor(70, 130, 180), "activations"), (softmax, RGBColor(220, 120, 30), "softmax")]
            {
                chart
                    .draw_series(LineSeries::new(data.clone(), colour.stroke_width(2)))
                    .expect("line")
                    .label(label)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], colour.stroke_width(2)));
                chart.draw_series(data.iter().map(|&p| Circle::new(p, 4, colour.filled()))).expect("dots");
            }
            if let Some(x) = cross {
                let grey = RGBColor(90, 90, 90);
                chart
                    .draw_series(DashedLineSeries::new(
                        vec![(x, y_range.start), (x, y_range.end)],
                        6,
                        4,
                        grey.stroke_width(1),
                    ))
                    .expect("crossover")
                    .label(format!("crossover at {x:.3}"))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], grey.stroke_width(1)));
            }
            draw_legend(&mut chart, SeriesLabelPosition::LowerRight);
        }
    });
    section.files.push(("fig7_calibration.svg".into(), svg));
    section.files.push(("fig7_calibration.csv".into(), csv));
    let said = crossings
        .iter()
        .map(|(name, up, down)| match (up, down) {
            (Some(x), None) => format!("by {name} ρ, activations overtake softmax above introspectability {x:.3}"),
            (Some(x), Some(y)) => format!(
                "by {name} ρ, activations overtake softmax at introspectability {x:.3} and fall behind it again at {y:.3}"
            ),
            (None, _) => format!("by {name} ρ, activations never rise from below softmax to above it"),
        })
        .collect::<Vec<_>>()
        .join("; ");
    let _ = writeln!(
        section.html,
        "<h3>Calibration against introspectability (Fig. 7)</h3>\n<p>{said} (the paper, on CIFAR-10: above \
         0.18). Data: <a href=\"fig7_calibration.csv\">fig7_calibration.csv</a>.</p>\n\
         <img src=\"fig7_calibration.svg\" alt=\"calibration quality against introspectability\">"
    );
}

/// Fig. 8.
fn fig8_section(pair: &[(&str, &TrustModel)], section: &mut Section) {
    let mut csv = String::from("curve,id,introspectability,percent,activation,softmax\n");
    let colours = [RGBColor(200, 40, 40), RGBColor(70, 130, 180)];
    let has_mislabels = pair.iter().any(|(_, m)| m.record.mislabels.is_some());
    let panels_wanted = if has_mislabels { 2 } else { 1 };
    let svg = svg_figure((820, 400 * panels_wanted), |root| {
        let panels = root.split_evenly((panels_wanted as usize, 1));
        for (index, panel) in panels.iter().enumerate() {
            let mislabel = index == 1;
            let curves: Vec<CurvePair> = pair
                .iter()
                .filter_map(|&(role, m)| {
                    let c = if mislabel { m.record.mislabels.as_ref()? } else { m.record.mispredictions.as_ref()? };
                    let base = |values: &[f64]| if mislabel { 0.0 } else { values.first().copied().unwrap_or(0.0) };
                    let line = |values: &[f64]| -> Vec<(f64, f64)> {
                        c.percent.iter().zip(values).map(|(&p, &v)| (p, 100.0 * (v - base(values)))).collect()
                    };
                    for (i, p) in c.percent.iter().enumerate() {
                        let _ = writeln!(
                            csv,
                            "{},{},{:.6},{p},{},{}",
                            if mislabel { "mislabel_detection" } else { "accuracy_after_removal" },
                            m.id,
                            m.introspectability,
                            opt(c.activation.get(i).copied()),
                            opt(c.softmax.get(i).copied())
                        );
                    }
                    Some((role, m, line(&c.activation), line(&c.softmax)))
                })
                .collect();
            let chance: Vec<(f64, f64)> = if mislabel { vec![(0.0, 0.0), (50.0, 50.0)] } else { Vec::new() };
            let (_, mut y_range) = ranges(curves.iter().flat_map(|c| c.2.iter().chain(&c.3)).chain(&chance).copied());
            y_range.start = y_range.start.min(0.0);
            let (title, y_desc) = if mislabel {
                ("Detection of corrupted training labels (Fig. 8 bottom)", "corrupted labels found (%)")
            } else {
                ("Accuracy after removing the lowest-scoring test samples (Fig. 8 top)", "accuracy change (points)")
            };
            let frame = Frame { caption: title, caption_size: 16, room: Room::Medium };
            let descs = ["lowest-scoring samples flagged (%)", y_desc];
            let mut chart = plane_chart(panel, frame, (-1.0..51.0, y_range), descs, None);
            for (i, (role, m, activation, softmax)) in curves.iter().enumerate() {
                let colour = colours[i % colours.len()];
                chart
                    .draw_series(LineSeries::new(activation.clone(), colour.stroke_width(2)))
                    .expect("activation")
                    .label(format!("{role} intros. ({:.3}), activations", m.introspectability))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], colour.stroke_width(2)));
                chart
                    .draw_series(DashedLineSeries::new(softmax.clone(), 5, 4, colour.stroke_width(2)))
                    .expect("softmax")
                    .label(format!("{role} intros. ({:.3}), softmax", m.introspectability))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 5, y)], colour.stroke_width(2)));
            }
            if mislabel {
                let grey = RGBColor(150, 150, 150);
                chart
                    .draw_series(DashedLineSeries::new(chance.clone(), 3, 3, grey.stroke_width(1)))
                    .expect("chance")
                    .label("chance")
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], grey.stroke_width(1)));
            }
            draw_legend(&mut chart, SeriesLabelPosition::UpperLeft);
        }
    });
    section.files.push(("fig8_curves.svg".into(), svg));
    section.files.push(("fig8_curves.csv".into(), csv));
    let mislabel_note = if has_mislabels {
        "The bottom panel: the share of the deliberately corrupted training labels among the lowest-scoring \
         training samples (scored by confidence in their given label)."
    } else {
        "No mislabel detection: the experiment did not corrupt labels (set <code>label_noise</code>, e.g. 0.2, in \
         <code>exp.dataset</code>)."
    };
    let _ = writeln!(
        section.html,
        "<h3>Mispredictions and mislabelled data (Fig. 8)</h3>\n<p>Solid: activation scores; dashed: softmax. \
         {mislabel_note} Data: <a href=\"fig8_curves.csv\">fig8_curves.csv</a>.</p>\n\
         <img src=\"fig8_curves.svg\" alt=\"misprediction and mislabel curves\">"
    );
}

/// The folded confusion matrix: `x_ij + x_ji` off the diagonal, true positives on it.
pub fn folded_confusion(confusion: &[Vec<u64>]) -> Vec<Vec<u64>> {
    let n = confusion.len();
    (0..n)
        .map(|i| (0..n).map(|j| if i == j { confusion[i][i] } else { confusion[i][j] + confusion[j][i] }).collect())
        .collect()
}

/// Mean of the defined values, `None` when there are none.
fn mean(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let defined: Vec<f64> = values.flatten().filter(|v| v.is_finite()).collect();
    (!defined.is_empty()).then(|| defined.iter().sum::<f64>() / defined.len() as f64)
}

/// App. K: ρ(−D, folded confusion) across the front and K7's heat maps.
fn appendix_k_section(models: &[&TrustModel], high: &TrustModel, class_names: &[String], section: &mut Section) {
    let mut sorted = models.to_vec();
    sorted.sort_by(|a, b| b.introspectability.total_cmp(&a.introspectability));
    let mut csv = String::from(
        "id,introspectability,pearson_with_diagonal,spearman_with_diagonal,pearson_without_diagonal,spearman_without_diagonal\n",
    );
    for m in &sorted {
        if let Some(c) = &m.record.confusion_correlation {
            let _ = writeln!(
                csv,
                "{},{:.6},{},{},{},{}",
                m.id,
                m.introspectability,
                opt(c.with_diagonal.pearson),
                opt(c.with_diagonal.spearman),
                opt(c.without_diagonal.pearson),
                opt(c.without_diagonal.spearman)
            );
        }
    }
    // The paper compares its high- and low-introspectability models: here the upper and lower
    // halves of the front by introspectability.
    let half = sorted.len().div_ceil(2);
    let (upper, lower) = sorted.split_at(half);
    let summary = |group: &[&TrustModel], with: bool| {
        mean(group.iter().map(|m| {
            m.record.confusion_correlation.as_ref().and_then(|c| {
                if with {
                    c.with_diagonal.spearman
                } else {
                    c.without_diagonal.spearman
                }
            })
        }))
    };
    section.files.push(("appendix_k_correlation.csv".into(), csv));
    let _ = writeln!(
        section.html,
        "<h3>Does a small distance predict confusion? (App. K)</h3>\n<p>Spearman ρ between −D and the confusion \
         matrix folded on its diagonal, mean over the more introspectable half of the front / the less \
         introspectable half: with the diagonal (as the paper reports its 0.85 / 0.59) {} / {}; without it \
         (confounding between different classes only) {} / {}. Data: \
         <a href=\"appendix_k_correlation.csv\">appendix_k_correlation.csv</a>.</p>",
        number_cell(summary(upper, true), 3),
        number_cell(summary(lower, true), 3),
        number_cell(summary(upper, false), 3),
        number_cell(summary(lower, false), 3),
    );
    let record = &high.record;
    if record.class_distance.is_empty() || record.confusion.is_empty() {
        return;
    }
    let folded = folded_confusion(&record.confusion);
    let mut heat_csv = String::from("matrix,row,column,value\n");
    for (r, row) in record.class_distance.iter().enumerate() {
        for (c, d) in row.iter().enumerate() {
            let _ = writeln!(heat_csv, "negated_distance,{r},{c},{}", opt(d.map(|v| -v)));
        }
    }
    for (r, row) in folded.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            let _ = writeln!(heat_csv, "folded_confusion,{r},{c},{}", opt(Some(*v as f64)));
        }
    }
    let svg = k_heat_maps_svg(&[(&format!("id {}", high.id), &record.class_distance, &folded)], class_names);
    section.files.push(("k7_heat_maps.svg".into(), svg));
    section.files.push(("k7_heat_maps.csv".into(), heat_csv));
    let _ = writeln!(
        section.html,
        "<p>K7 for the most introspectable front model (id {}): the darkest off-diagonal cells on the left are the \
         closest class pairs, on the right the most confused ones. <code>xnas repair</code> fine-tunes a saved \
         model to push such a pair apart and draws the same maps before and after. Data: \
         <a href=\"k7_heat_maps.csv\">k7_heat_maps.csv</a>.</p>\n<img src=\"k7_heat_maps.svg\" alt=\"K7 heat maps\">",
        high.id
    );
}

/// Means over a front's measured models, for one row of `xnas compare`'s trust table.
#[derive(Debug, Clone, PartialEq)]
pub struct TrustSummary {
    pub models: usize,
    pub test_accuracy: Option<f64>,
    pub activation_spearman: Option<f64>,
    pub softmax_spearman: Option<f64>,
    /// Test accuracy gained by removing the lowest-scoring 20 % (activation scores).
    pub activation_gain_at_20: Option<f64>,
    pub softmax_gain_at_20: Option<f64>,
}

/// [`TrustSummary`] of a front; `None` when no model has trust measurements.
pub fn front_summary(input: &TrustInput) -> Option<TrustSummary> {
    let measured: Vec<&MeasurementRecord> =
        input.models.iter().map(|m| &m.record).filter(|r| r.calibration.is_some()).collect();
    if measured.is_empty() {
        return None;
    }
    let gain = |r: &MeasurementRecord, activation: bool| {
        let c = r.mispredictions.as_ref()?;
        let values = if activation { &c.activation } else { &c.softmax };
        Some(at_percent(c, values, 20.0)? - at_percent(c, values, 0.0)?)
    };
    Some(TrustSummary {
        models: measured.len(),
        test_accuracy: mean(measured.iter().map(|r| r.test_accuracy)),
        activation_spearman: mean(measured.iter().map(|r| r.calibration.as_ref()?.activation.spearman)),
        softmax_spearman: mean(measured.iter().map(|r| r.calibration.as_ref()?.softmax.spearman)),
        activation_gain_at_20: mean(measured.iter().map(|r| gain(r, true))),
        softmax_gain_at_20: mean(measured.iter().map(|r| gain(r, false))),
    })
}

/// The comparison's trust table and calibration figure, where a run has trust measurements. Without
/// any the section is an empty line of the page.
fn compare_section(runs: &[ComparedRun]) -> Section {
    if !runs.iter().any(|r| front_summary(&r.input.trust).is_some()) {
        return Section { files: Vec::new(), html: "\n".into() };
    }
    let labelled: Vec<(String, &TrustInput)> =
        runs.iter().map(|r| (format!("{} ({})", r.input.run_name, r.input.variant), &r.input.trust)).collect();
    Section {
        files: vec![
            ("trust.csv".into(), trust_csv(runs)),
            ("calibration.svg".into(), calibration_compare_svg(&labelled, &COLOURS)),
        ],
        html: trust_html(runs) + "\n",
    }
}

/// One row per run: the means over its front of the trust measurements (see the run reports for
/// every model).
fn trust_csv(runs: &[ComparedRun]) -> String {
    let mut csv = String::from(
        "folder,run,variant,front_models_measured,test_accuracy,activation_spearman,softmax_spearman,\
         activation_accuracy_gain_at_20,softmax_accuracy_gain_at_20\n",
    );
    let num = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v:.6}"));
    for r in runs {
        if let Some(s) = front_summary(&r.input.trust) {
            let _ = writeln!(
                csv,
                "{},{},{},{},{},{},{},{},{}",
                quoted(&r.folder),
                quoted(&r.input.run_name),
                r.input.variant,
                s.models,
                num(s.test_accuracy),
                num(s.activation_spearman),
                num(s.softmax_spearman),
                num(s.activation_gain_at_20),
                num(s.softmax_gain_at_20)
            );
        }
    }
    csv
}

fn trust_html(runs: &[ComparedRun]) -> String {
    let summaries: Vec<(&ComparedRun, TrustSummary)> =
        runs.iter().filter_map(|r| Some((r, front_summary(&r.input.trust)?))).collect();
    let mut rows = String::new();
    for (r, s) in &summaries {
        let _ = writeln!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {}</td><td>{} / {}</td></tr>",
            escape(&r.folder),
            r.input.variant,
            s.models,
            percent_cell(s.test_accuracy),
            number_cell(s.activation_spearman, 3),
            number_cell(s.softmax_spearman, 3),
            gain_cell(s.activation_gain_at_20),
            gain_cell(s.softmax_gain_at_20),
        );
    }
    format!(
        "<h2>Trust (Fig. 7)</h2>\n<p>Means over each run's front (in the report axes) of the trust measurements on \
         the test split; pairs are activation / softmax; accuracy gain: points of test accuracy gained by removing \
         the lowest-scoring 20 %. Every model's numbers and figures 5–8 are in each run's report. \
         <a href=\"trust.csv\">trust.csv</a></p>\n<table><tr><th>Run</th><th>Variant</th><th>Front models</th>\
         <th>Test acc.</th><th>Calibration Spearman</th><th>Acc. gain @20 %</th></tr>\n{rows}</table>\n\
         <img src=\"calibration.svg\" alt=\"calibration across the fronts\">"
    )
}

/// Fig. 7 for several runs: each front model's activation (filled) and softmax (hollow)
/// calibration Spearman ρ against its introspectability, a colour per run.
pub fn calibration_compare_svg(runs: &[(String, &TrustInput)], colours: &[RGBColor]) -> String {
    let points = |input: &TrustInput, activation: bool| -> Vec<(f64, f64)> {
        input
            .models
            .iter()
            .filter_map(|m| {
                let cal = m.record.calibration.as_ref()?;
                let q = if activation { &cal.activation } else { &cal.softmax };
                Some((m.introspectability, q.spearman?)).filter(|p| p.0.is_finite())
            })
            .collect()
    };
    svg_figure((820, 480), |root| {
        let all: Vec<(f64, f64)> =
            runs.iter().flat_map(|(_, input)| points(input, true).into_iter().chain(points(input, false))).collect();
        let (x_range, mut y_range) = ranges(all.into_iter());
        y_range.end = y_range.end.clamp(1.0, 1.05);
        let frame =
            Frame { caption: "Calibration quality across each front (Fig. 7)", caption_size: 18, room: Room::Medium };
        let descs = ["introspectability", "Spearman ρ, confidence vs accuracy"];
        let mut chart = plane_chart(root, frame, (x_range, y_range), descs, None);
        for (i, (label, input)) in runs.iter().enumerate() {
            let colour = colours[i % colours.len()];
            chart
                .draw_series(points(input, true).into_iter().map(|p| Circle::new(p, 5, colour.filled())))
                .expect("activation")
                .label(format!("{label}: activations"))
                .legend(move |(x, y)| Circle::new((x + 6, y), 5, colour.filled()));
            chart
                .draw_series(points(input, false).into_iter().map(|p| Circle::new(p, 5, colour.stroke_width(2))))
                .expect("softmax")
                .label(format!("{label}: softmax"))
                .legend(move |(x, y)| Circle::new((x + 6, y), 5, colour.stroke_width(2)));
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight);
    })
}

/// Heat maps of −D and the folded confusion for each labelled state of one model, a row per
/// state — appendix K's K7 (before a repair) and K8 (after). `states` are (label, D, folded
/// confusion). −D is ≤ 0 everywhere: on a sequential scale of its magnitude it would be inverted,
/// so it is shifted to run from its most negative value (white) to 0 (dark).
pub fn k_heat_maps_svg(states: &[(&str, &DistanceMatrix, &[Vec<u64>])], class_names: &[String]) -> String {
    let panel_height = 520;
    svg_figure((1120, panel_height * states.len().max(1) as u32), |root| {
        let rows = root.split_evenly((states.len().max(1), 1));
        for (row, (label, distances, folded)) in rows.iter().zip(states) {
            let (left, right) = row.split_horizontally(560);
            let negated: Vec<Vec<Option<f64>>> =
                distances.iter().map(|r| r.iter().map(|d| d.map(|v| -v)).collect()).collect();
            let most_negative = negated.iter().flatten().flatten().fold(0.0f64, |m, &v| m.min(v));
            draw_heat_map(
                &left,
                &HeatMap {
                    title: format!("{label}: −D (shifted by {:.3})", -most_negative),
                    rows: class_names,
                    columns: class_names,
                    values: negated.iter().map(|r| r.iter().map(|v| v.map(|x| x - most_negative)).collect()).collect(),
                    diverging: false,
                },
            );
            draw_heat_map(
                &right,
                &HeatMap {
                    title: format!("{label}: folded confusion"),
                    rows: class_names,
                    columns: class_names,
                    values: folded.iter().map(|r| r.iter().map(|&v| Some(v as f64)).collect()).collect(),
                    diverging: false,
                },
            );
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Calibration, CalibrationQuality, ConfusionCorrelation, Correlation, EvalConfig};

    #[test]
    fn the_crossover_is_interpolated_where_activation_overtakes_softmax() {
        // Differences −0.2 at 0.1, −0.1 at 0.2, +0.3 at 0.3: the sign changes a quarter of the
        // way from 0.2 to 0.3.
        let points = [(0.3, 0.9, 0.6), (0.1, 0.5, 0.7), (0.2, 0.6, 0.7)];
        assert!((crossover(&points).unwrap() - 0.225).abs() < 1e-12);
        // Ahead from the start, or never ahead: nothing to mark.
        assert_eq!(crossover(&[(0.1, 0.9, 0.5), (0.2, 0.9, 0.5)]), None);
        assert_eq!(crossover(&[(0.1, 0.1, 0.5), (0.2, 0.2, 0.5)]), None);
        assert_eq!(crossover(&[]), None);
        // Up at 0.225, then down between 0.3 (+0.3) and 0.4 (−0.1): three quarters of the way.
        let back = [(0.1, 0.5, 0.7), (0.2, 0.6, 0.7), (0.3, 0.9, 0.6), (0.4, 0.5, 0.6)];
        assert!((crosses_back(&back, crossover(&back)).unwrap() - 0.375).abs() < 1e-12);
        assert_eq!(crosses_back(&points, crossover(&points)), None);
    }

    #[test]
    fn folding_sums_the_two_directions_and_keeps_the_diagonal() {
        let folded = folded_confusion(&[vec![5, 1, 0], vec![3, 7, 2], vec![0, 4, 9]]);
        assert_eq!(folded, vec![vec![5, 4, 0], vec![4, 7, 6], vec![0, 6, 9]]);
    }

    #[test]
    fn colour_scales_end_at_their_colours() {
        assert_eq!(scale_colour(0.0, 2.0, true), RGBColor(255, 255, 255));
        assert_eq!(scale_colour(2.0, 2.0, true), RGBColor(178, 24, 43));
        assert_eq!(scale_colour(-5.0, 2.0, true), RGBColor(33, 102, 172));
        assert_eq!(scale_colour(1.0, 1.0, false), RGBColor(8, 48, 107));
    }

    fn quality(pearson: f64, spearman: f64) -> CalibrationQuality {
        CalibrationQuality { pearson: Some(pearson), spearman: Some(spearman), ece: 0.05, bins: Vec::new() }
    }

    fn model(id: u64, intro: f64, act: f64, soft: f64) -> TrustModel {
        let config = EvalConfig { channels: 4, cells_per_stage: 1, ..EvalConfig::default() };
        let mut record = crate::record::synthetic_record(&config, &"002404".parse().unwrap());
        (record.val_accuracy, record.introspectability) = (Some(0.8), Some(intro));
        record.class_means = Some(ClassMeanSummary {
            images: 100,
            blocks: vec!["stem".into(), "stage 1".into()],
            block_means: vec![vec![1.0, -1.0], vec![-0.5, 0.5], vec![0.0, 0.2]],
            pca: vec![[1.0, 0.0], [-1.0, 0.5], [0.0, -0.5]],
            pca_explained: [0.7, 0.3],
        });
        record.validation_class_means = Some(ClassMeanSummary {
            images: 50,
            blocks: vec!["stem".into(), "stage 1".into()],
            block_means: vec![vec![0.25, -0.75], vec![-0.5, 1.5], vec![0.25, -0.75]],
            pca: vec![[0.5, 0.1], [-0.5, 0.2], [0.0, -0.3]],
            pca_explained: [0.6, 0.25],
        });
        record.calibration = Some(Calibration { activation: quality(act, act), softmax: quality(soft, soft) });
        let curve = |start: f64, slope: f64| RemovalCurves {
            percent: (0..=50).map(f64::from).collect(),
            activation: (0..=50).map(|p| start + slope * p as f64).collect(),
            softmax: (0..=50).map(|p| start + 0.5 * slope * p as f64).collect(),
        };
        record.mispredictions = Some(curve(0.8, 0.002));
        record.mislabels = Some(curve(0.0, 0.015));
        record.confusion_correlation = Some(ConfusionCorrelation {
            with_diagonal: Correlation { pearson: Some(0.8), spearman: Some(0.85) },
            without_diagonal: Correlation { pearson: Some(0.4), spearman: Some(intro) },
        });
        record.class_distance = vec![
            vec![Some(0.0), Some(0.2), Some(0.4)],
            vec![Some(0.2), Some(0.0), Some(0.1)],
            vec![Some(0.4), Some(0.1), Some(0.0)],
        ];
        record.confusion = vec![vec![5, 1, 0], vec![3, 7, 2], vec![0, 4, 9]];
        TrustModel { id, genome: "002404".into(), accuracy: 0.8, introspectability: intro, record }
    }

    #[test]
    fn the_test_split_is_called_unseen_only_when_the_search_validated_elsewhere() {
        let models = |validation| {
            let mut m = model(1, 0.1, 0.5, 0.7);
            m.record.config.validation = validation;
            TrustInput { models: vec![m], ..Default::default() }
        };
        let own = trust_section(&models(xnas_datasets::ValidationSplit::TrainCount(5000))).html;
        assert!(own.contains("the test split the search never saw"), "{own}");
        let held_out = trust_section(&models(xnas_datasets::ValidationSplit::HeldOut)).html;
        assert!(!held_out.contains("never saw") && held_out.contains("validation: held-out"), "{held_out}");
    }

    #[test]
    fn every_figure_and_its_data_are_written() {
        let input = TrustInput {
            models: vec![model(1, 0.1, 0.5, 0.7), model(2, 0.2, 0.6, 0.7), model(3, 0.3, 0.9, 0.6)],
            class_names: vec!["cat".into(), "dog".into(), "ship".into()],
            highlight: vec![Highlight { name: "carnivore.n.01".into(), members: vec![0, 1] }],
        };
        let section = trust_section(&input);
        let names: Vec<&str> = section.files.iter().map(|(n, _)| n.as_str()).collect();
        for wanted in [
            "trust.csv",
            "fig5_class_means.svg",
            "fig5_class_means.csv",
            "fig6_pca.svg",
            "fig6_pca.csv",
            "fig7_calibration.svg",
            "fig7_calibration.csv",
            "fig8_curves.svg",
            "fig8_curves.csv",
            "appendix_k_correlation.csv",
            "k7_heat_maps.svg",
            "k7_heat_maps.csv",
        ] {
            assert!(names.contains(&wanted), "{wanted} missing from {names:?}");
        }
        for (name, text) in &section.files {
            if name.ends_with(".csv") {
                let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
                let unique: std::collections::BTreeSet<_> = header.iter().collect();
                assert_eq!(unique.len(), header.len(), "{name} repeats a header");
                assert!(text.lines().skip(1).all(|l| l.split(',').count() == header.len()), "{name}");
            }
        }
        // Fig. 7's crossover: activation − softmax is −0.1 at 0.2 and +0.3 at 0.3 → 0.225.
        assert!(section.html.contains("above introspectability 0.225"), "{}", section.html);
        // App. K: halves {0.3, 0.2} and {0.1}; without the diagonal the Spearman ρ is the
        // introspectability in this fixture: means 0.250 and 0.100.
        assert!(section.html.contains("0.850 / 0.850") && section.html.contains("0.250 / 0.100"), "{}", section.html);
        let fig6 = &section.files.iter().find(|f| f.0 == "fig6_pca.svg").unwrap().1;
        assert!(fig6.contains("carnivore.n.01") && fig6.contains("PC 1 (60 % of variance)"));
        let trust = &section.files.iter().find(|f| f.0 == "trust.csv").unwrap().1;
        // Accuracy gain at 20 %: 0.002 · 20 = 0.04 for activations, half for softmax.
        assert!(trust.lines().nth(1).unwrap().starts_with("3,002404,0.300000,"));
        assert!(trust.contains(",0.040000,0.020000,0.300000,0.150000,"), "{trust}");
    }

    /// Figures 5 and 6 draw the validation pass's class means; a record from before they were
    /// kept falls back to the training split's, and the figures say so.
    #[test]
    fn figures_5_and_6_draw_the_validation_means_and_fall_back_for_older_records() {
        let mut older = model(1, 0.1, 0.5, 0.7);
        older.record.validation_class_means = None;
        let input = TrustInput {
            models: vec![older, model(3, 0.3, 0.9, 0.6)],
            class_names: vec!["cat".into(), "dog".into(), "ship".into()],
            highlight: Vec::new(),
        };
        let section = trust_section(&input);
        let file = |name: &str| &section.files.iter().find(|f| f.0 == name).unwrap().1;
        let fig5 = file("fig5_class_means.csv");
        assert_eq!(fig5.lines().next().unwrap(), "id,introspectability,split,class,block,z_scored_mean");
        // The highest (id 3): the validation means; "dog" in block "stage 1" is 1.5 there.
        assert!(fig5.contains("3,0.300000,validation,dog,stage 1,1.500000"), "{fig5}");
        // The lowest (id 1): no validation means stored, so the training split's −1 for "cat", "stage 1".
        assert!(fig5.contains("1,0.100000,training,cat,stage 1,-1.000000"), "{fig5}");
        assert!(!fig5.contains("1,0.100000,validation") && !fig5.contains("3,0.300000,training"), "{fig5}");
        let fig6 = file("fig6_pca.csv");
        assert!(fig6.contains("3,0.300000,validation,ship,,0.000000,-0.300000,0.600000,0.250000"), "{fig6}");
        assert!(fig6.contains("1,0.100000,training,dog,,-1.000000,0.500000,0.700000,0.300000"), "{fig6}");
        assert!(file("fig6_pca.svg").contains("id 1 (0.100, acc. 80.0%) (training split)"));
        let note = "The record of id 1 predates the validation class means";
        assert_eq!(section.html.matches(note).count(), 2, "{}", section.html);
        // With every record new, no note.
        let section = trust_section(&TrustInput { models: vec![model(1, 0.1, 0.5, 0.7)], ..input });
        assert!(!section.html.contains("predates the validation class means"));
    }

    #[test]
    fn repair_heat_maps_draw_a_row_per_state() {
        let d: DistanceMatrix = vec![vec![Some(0.0), Some(0.3)], vec![Some(0.3), Some(0.0)]];
        let folded = vec![vec![9, 2], vec![2, 8]];
        let names = vec!["a".to_string(), "b".to_string()];
        let svg = k_heat_maps_svg(&[("before", &d, &folded), ("after", &d, &folded)], &names);
        assert!(svg.contains("before: −D (shifted by 0.300)") && svg.contains("after: folded confusion"));
    }

    #[test]
    fn a_front_summary_averages_its_models() {
        let input = TrustInput {
            models: vec![model(1, 0.1, 0.5, 0.7), model(2, 0.3, 0.9, 0.6)],
            class_names: vec!["cat".into(), "dog".into(), "ship".into()],
            highlight: Vec::new(),
        };
        let s = front_summary(&input).unwrap();
        assert_eq!(s.models, 2);
        assert!((s.activation_spearman.unwrap() - 0.7).abs() < 1e-12);
        assert!((s.softmax_spearman.unwrap() - 0.65).abs() < 1e-12);
        assert!((s.activation_gain_at_20.unwrap() - 0.04).abs() < 1e-12);
        let svg = calibration_compare_svg(&[("a (✓)".into(), &input)], &[RGBColor(0, 0, 0)]);
        assert!(svg.contains("a (✓): activations") && svg.contains("a (✓): softmax"));
        assert_eq!(front_summary(&TrustInput::default()), None);
    }

    #[test]
    fn records_without_trust_measurements_say_so() {
        let mut old = model(1, 0.2, 0.5, 0.5);
        old.record.calibration = None;
        let section = trust_section(&TrustInput { models: vec![old], ..Default::default() });
        assert!(section.files.is_empty());
        assert!(section.html.contains("No front model has trust measurements"));
    }
}
