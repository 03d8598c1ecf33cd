//! What a search found, beyond its front (the paper's section 4 and appendices E–H, J): operator
//! frequencies over the front (Tables E1–E3), the most frequent motifs (Tables F1–F3), App. G's
//! motif discovery with one small figure per retained motif, the front coloured by convolution
//! and pooling edges (Fig. 4), the phylogeny of the most accurate front solution (Fig. 3: an
//! ancestor is red when it was non-dominated among the candidates evaluated in its generation,
//! the authors' per-generation front), accuracy and introspectability per generation over that
//! front (App. H) and over the population (the panel under Fig. 3), and Spearman's ρ of
//! parameters and training speed against each axis (App. J).
//!
//! Every analysis works in the *report axes* — validation accuracy and plain introspectability
//! (eq. 1) from the records — whatever objectives the search used, so that a single-objective
//! run and a multi-objective one are described in the same plane. The numbers come from
//! `xnas-analysis`; this module only arranges them into files (CSV beside every figure).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use plotters::prelude::*;
use xnas_analysis as analysis;
use xnas_moo::Direction;
use xnas_space::Genome;

use super::chart::{draw_legend, generation_chart, plane_chart, ranges, svg_figure, Area, Frame, Room};
use super::{escape, ReportInput, Section, SectionEntry};

/// Motifs drawn as small fronts (App. G figures); more are listed in the CSV only.
const MOTIF_FIGURES: usize = 8;

/// One evaluated candidate in the report axes: `y` the first (validation accuracy by default),
/// `x` the second (introspectability), as the paper's figures draw them.
struct Axes {
    id: u64,
    genome: Genome,
    y: f64,
    x: f64,
}

/// "What the search found", in a run's report.
pub(super) const SECTION: SectionEntry = SectionEntry { report: Some(analyse), compare: None };

/// Runs every analysis the run's data allows. An analysis that cannot run (too few points, no
/// saved generations) says why in the HTML instead of failing the report.
pub fn analyse(input: &ReportInput) -> Section {
    let points: Vec<Axes> = input
        .points
        .iter()
        .filter_map(|p| {
            let [y, x] = p.axes.filter(|a| a.iter().all(|v| v.is_finite()))?;
            Some(Axes { id: p.id, genome: p.genome.parse().ok()?, y, x })
        })
        .collect();
    let mut section = Section { files: Vec::new(), html: String::from("<h2>What the search found</h2>\n") };
    if points.len() < 2 {
        section.html.push_str("<p>Fewer than two evaluated architectures: nothing to analyse yet.</p>\n");
        return section;
    }
    let front = report_front(&points);
    let front_points: Vec<&Axes> = front.iter().map(|&i| &points[i]).collect();
    let _ = writeln!(
        section.html,
        "<p>In the report axes ({}) {} of {} architectures are non-dominated; the tables and figures below \
         describe that front.</p>",
        escape(&input.axes.label()),
        front.len(),
        points.len()
    );
    operators_section(&front_points, &mut section);
    motifs_section(&front_points, &mut section);
    let names = &input.axes.names;
    fig4_section(&points, &front, names, &mut section);
    discovery_section(&points, &front, names, &mut section);
    phylogeny_section(input, &points, &front, &mut section);
    correlations_section(input, &mut section);
    section
}

/// Indices of the points that no other point dominates in the report axes.
fn report_front(points: &[Axes]) -> Vec<usize> {
    let rows: Vec<[f64; 2]> = points.iter().map(|p| [p.y, p.x]).collect();
    xnas_moo::non_dominated(&rows, &[Direction::Maximise; 2]).expect("finite points of two axes")
}

fn operators_section(front: &[&Axes], section: &mut Section) {
    let genomes: Vec<Genome> = front.iter().map(|p| p.genome).collect();
    let Ok(rows) = analysis::operator_frequencies(&genomes) else { return };
    let mut csv = String::from("op_code,operation,edges,normalised_frequency\n");
    let mut html = String::from(
        "<h3>Operators on the front (Tables E1–E3)</h3>\n<p>Share of all edges of the front's cells \
         (count ÷ 6 × cells). <a href=\"operators.csv\">operators.csv</a></p>\n<table><tr><th>operation</th>\
         <th>edges</th><th>frequency</th></tr>\n",
    );
    for row in &rows {
        let _ = writeln!(csv, "{},{},{},{}", row.op.code(), row.op.nb201_name(), row.count, row.frequency);
        let _ = writeln!(
            html,
            "<tr><td>{} ({})</td><td>{}</td><td>{:.3}</td></tr>",
            row.op.nb201_name(),
            row.op.code(),
            row.count,
            row.frequency
        );
    }
    html.push_str("</table>\n");
    section.files.push(("operators.csv".into(), csv));
    section.html.push_str(&html);
}

fn motifs_section(front: &[&Axes], section: &mut Section) {
    let genomes: Vec<Genome> = front.iter().map(|p| p.genome).collect();
    let mut csv = String::from("size,motif,support,normalised_frequency\n");
    let mut html = String::from(
        "<h3>Most frequent motifs on the front (Tables F1–F3)</h3>\n<p>Op codes in edge order, <code>*</code> \
         any operation. <a href=\"motifs.csv\">motifs.csv</a> lists every motif of size 1–5.</p>\n\
         <table><tr><th>size</th><th>most frequent</th><th>support</th><th>frequency</th></tr>\n",
    );
    for size in 1..=5 {
        let Ok(all) = analysis::motif_supports(&genomes, size) else { return };
        for m in &all {
            let _ = writeln!(csv, "{size},{},{},{}", m.motif, m.support, m.frequency);
        }
        let Some(top) = all.first() else { continue };
        let tied: Vec<String> = all
            .iter()
            .take_while(|m| m.support == top.support)
            .take(4)
            .map(|m| format!("<code>{}</code>", m.motif))
            .collect();
        let _ = writeln!(
            html,
            "<tr><td>{size}</td><td style=\"text-align:left\">{}</td><td>{}</td><td>{:.3}</td></tr>",
            tied.join(" "),
            top.support,
            top.frequency
        );
    }
    html.push_str("</table>\n");
    section.files.push(("motifs.csv".into(), csv));
    section.html.push_str(&html);
}

fn fig4_section(points: &[Axes], front: &[usize], names: &[String; 2], section: &mut Section) {
    let convs = scatter_by_count(points, front, names, "convolution edges per cell", "conv", analysis::conv_edges);
    let pools = scatter_by_count(points, front, names, "pooling edges per cell", "pool", analysis::pooling_edges);
    let mut csv = format!("id,genome,{},{},conv_edges,pooling_edges\n", names[0], names[1]);
    for &i in front {
        let p = &points[i];
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{}",
            p.id,
            p.genome.compact(),
            p.y,
            p.x,
            analysis::conv_edges(&p.genome),
            analysis::pooling_edges(&p.genome)
        );
    }
    section.files.push(("front_convs.svg".into(), convs));
    section.files.push(("front_pools.svg".into(), pools));
    section.files.push(("front_operators.csv".into(), csv));
    section.html.push_str(
        "<h3>The front by operation (Fig. 4)</h3>\n<p>More convolutions towards the accurate end and more \
         pooling towards the introspectable end is the paper's finding. <a href=\"front_operators.csv\">\
         front_operators.csv</a></p>\n<img src=\"front_convs.svg\" alt=\"front by convolutions\" width=\"49%\">\
         <img src=\"front_pools.svg\" alt=\"front by pooling\" width=\"49%\">\n",
    );
}

/// Colours for counts 0–6 (light to dark).
fn count_colour(count: usize) -> RGBColor {
    const RAMP: [RGBColor; 7] = [
        RGBColor(255, 237, 160),
        RGBColor(254, 204, 92),
        RGBColor(253, 141, 60),
        RGBColor(240, 59, 32),
        RGBColor(189, 0, 38),
        RGBColor(128, 0, 38),
        RGBColor(60, 0, 30),
    ];
    RAMP[count.min(6)]
}

/// Every point in grey and the front coloured by `count` of its genome, the second axis on x.
fn scatter_by_count(
    points: &[Axes],
    front: &[usize],
    names: &[String; 2],
    what: &str,
    unit: &str,
    count: fn(&Genome) -> usize,
) -> String {
    svg_figure((560, 420), |root| {
        let caption = format!("Front by {what}");
        let frame = Frame { caption: &caption, caption_size: 18, room: Room::Medium };
        let extent = ranges(points.iter().map(|p| (p.x, p.y)));
        let mut chart = plane_chart(root, frame, extent, [&names[1], &names[0]], None);
        chart
            .draw_series(points.iter().map(|p| Circle::new((p.x, p.y), 2, RGBColor(190, 190, 190).filled())))
            .expect("points");
        let mut counts: Vec<usize> = front.iter().map(|&i| count(&points[i].genome)).collect();
        counts.sort_unstable();
        counts.dedup();
        for c in counts {
            chart
                .draw_series(front.iter().filter(|&&i| count(&points[i].genome) == c).map(|&i| {
                    let p = &points[i];
                    Circle::new((p.x, p.y), 6, count_colour(c).filled())
                }))
                .expect("front")
                .label(format!("{c} {unit}"))
                .legend(move |(x, y)| Circle::new((x + 6, y), 5, count_colour(c).filled()));
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerLeft);
    })
}

fn discovery_section(points: &[Axes], front: &[usize], names: &[String; 2], section: &mut Section) {
    let genomes: Vec<Genome> = front.iter().map(|&i| points[i].genome).collect();
    let accuracy: Vec<f64> = front.iter().map(|&i| points[i].y).collect();
    let intro: Vec<f64> = front.iter().map(|&i| points[i].x).collect();
    let discovery = match analysis::discover_motifs(&genomes, &accuracy, &intro, &analysis::DiscoveryOptions::default())
    {
        Ok(d) => d,
        Err(e) => {
            let _ =
                writeln!(section.html, "<h3>Motif discovery (App. G)</h3>\n<p>Not run: {}</p>", escape(&e.to_string()));
            return;
        }
    };
    let mut csv = String::from("pattern,rho,support,size,retained,holder_ids\n");
    for s in &discovery.scored {
        let retained = discovery.retained.iter().any(|r| r.pattern == s.pattern);
        let holders: Vec<String> = s.holders.iter().map(|&h| points[front[h]].id.to_string()).collect();
        let _ = writeln!(csv, "{},{},{},{},{retained},{}", s.pattern, s.rho, s.support, s.size, holders.join(" "));
    }
    section.files.push(("motif_discovery.csv".into(), csv));
    let _ = writeln!(
        section.html,
        "<h3>Motif discovery (App. G)</h3>\n<p>Front sorted by {}, then {}; every motif of \
         size 1–5 and every operator count scored by |Spearman ρ| against front rank, support and size; the Pareto \
         set of those with support ≥ 3 and |ρ| ≥ 0.2 is kept: {} pattern(s) of {} ({} front cell(s) hold none). \
         ρ &gt; 0: favoured at the accurate end. <a href=\"motif_discovery.csv\">motif_discovery.csv</a></p>",
        escape(&names[0]),
        escape(&names[1]),
        discovery.retained.len(),
        discovery.scored.len(),
        discovery.unexplained.len()
    );
    for (k, retained) in discovery.retained.iter().take(MOTIF_FIGURES).enumerate() {
        let name = format!("motif_{}.svg", k + 1);
        let holders: Vec<usize> = retained.holders.iter().map(|&h| front[h]).collect();
        let title = format!("{} ρ = {:.2}, support {}", retained.pattern, retained.rho, retained.support);
        section.files.push((name.clone(), holders_svg(points, front, &holders, names, &title)));
        let _ = write!(section.html, "<img src=\"{name}\" alt=\"{}\" width=\"32%\">", escape(&title));
    }
    section.html.push('\n');
}

/// A small front with the holders of one motif in red.
fn holders_svg(points: &[Axes], front: &[usize], holders: &[usize], names: &[String; 2], title: &str) -> String {
    svg_figure((360, 280), |root| {
        let frame = Frame { caption: title, caption_size: 14, room: Room::Thumbnail };
        let extent = ranges(front.iter().map(|&i| (points[i].x, points[i].y)));
        let mut chart = plane_chart(root, frame, extent, [&names[1], &names[0]], Some(11));
        let dot =
            |i: usize, colour: RGBColor, size: i32| Circle::new((points[i].x, points[i].y), size, colour.filled());
        chart.draw_series(front.iter().map(|&i| dot(i, RGBColor(150, 150, 150), 4))).expect("front");
        chart.draw_series(holders.iter().map(|&i| dot(i, RGBColor(200, 30, 30), 5))).expect("holders");
    })
}

/// Per generation, members in the report axes: (generation, [(id, y, x)]).
pub(super) type Generations = Vec<(u64, Vec<(u64, f64, f64)>)>;

/// Whose values App. H summarises per generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Members {
    /// The generation's front: the candidates evaluated in it that no other of them dominates in
    /// the report axes (the authors' per-generation front; App. H's figures).
    Front,
    /// The population saved after the generation, its survivors (the panel under Fig. 3).
    Population,
}

/// Each saved generation's population in the report axes.
fn populations_in_axes(input: &ReportInput) -> Generations {
    let axes: HashMap<u64, [f64; 2]> = input.lineage.iter().filter_map(|l| Some((l.id, l.axes?))).collect();
    input
        .populations
        .iter()
        .map(|(generation, members)| {
            let scored = members.iter().filter_map(|id| axes.get(id).map(|&[y, x]| (*id, y, x))).collect();
            (*generation, scored)
        })
        .collect()
}

/// Per generation, the candidates evaluated in it (reused records included: the authors' code
/// evaluated a genome proposed again) that no other of them dominates in the report axes.
pub(super) fn generation_fronts(input: &ReportInput) -> Generations {
    let mut evaluated: BTreeMap<u64, Vec<(u64, f64, f64)>> = BTreeMap::new();
    for row in &input.lineage {
        if let Some([y, x]) = row.axes.filter(|a| a.iter().all(|v| v.is_finite())) {
            evaluated.entry(row.generation).or_default().push((row.id, y, x));
        }
    }
    evaluated
        .into_iter()
        .map(|(generation, members)| {
            let rows: Vec<[f64; 2]> = members.iter().map(|m| [m.1, m.2]).collect();
            let front = xnas_moo::non_dominated(&rows, &[Direction::Maximise; 2]).expect("finite points of two axes");
            (generation, front.into_iter().map(|i| members[i]).collect())
        })
        .collect()
}

/// App. H: per generation, the mean, 95 % interval and range of each report axis over `members`;
/// `None` when no generation has a scored member.
pub(super) fn evolution(input: &ReportInput, members: Members) -> Option<[Vec<analysis::GenerationSummary>; 2]> {
    let per_generation = match members {
        Members::Front => generation_fronts(input),
        Members::Population => populations_in_axes(input),
    };
    summarise_generations(&per_generation)
}

/// [`evolution`] of members already grouped by generation (several runs' pooled, for a group).
pub(super) fn summarise_generations(per_generation: &Generations) -> Option<[Vec<analysis::GenerationSummary>; 2]> {
    let (mut generations, mut first, mut second) = (Vec::new(), Vec::new(), Vec::new());
    for (generation, members) in per_generation {
        for &(_, y, x) in members {
            generations.push(*generation);
            first.push(y);
            second.push(x);
        }
    }
    Some([analysis::per_generation(&generations, &first).ok()?, analysis::per_generation(&generations, &second).ok()?])
}

/// [`evolution`] as CSV rows, one per generation, after `prefix` (e.g. the run's columns).
pub(super) fn evolution_rows(prefix: &str, summaries: &[Vec<analysis::GenerationSummary>; 2], out: &mut String) {
    for (a, i) in summaries[0].iter().zip(&summaries[1]) {
        let ci = |s: &analysis::Summary| s.ci95.map_or((s.mean, s.mean), |c| (c.low, c.high));
        let (al, ah) = ci(&a.summary);
        let (il, ih) = ci(&i.summary);
        let _ = writeln!(
            out,
            "{prefix}{},{},{},{al},{ah},{},{},{},{il},{ih},{},{}",
            a.generation,
            a.summary.n,
            a.summary.mean,
            a.summary.min,
            a.summary.max,
            i.summary.mean,
            i.summary.min,
            i.summary.max
        );
    }
}

/// The header of [`evolution_rows`]: generation, n, then mean, interval and range of each axis.
pub(super) fn evolution_header(names: &[String; 2]) -> String {
    let columns =
        |name: &String| ["mean", "ci95_low", "ci95_high", "min", "max"].map(|stat| format!("{name}_{stat}")).join(",");
    format!("generation,n,{},{}", columns(&names[0]), columns(&names[1]))
}

fn phylogeny_section(input: &ReportInput, points: &[Axes], front: &[usize], section: &mut Section) {
    section.html.push_str("<h3>Evolution (Fig. 3, App. H)</h3>\n");
    if input.lineage.is_empty() || input.populations.is_empty() {
        section.html.push_str("<p>The run saved no generations yet.</p>\n");
        return;
    }
    // A parent is red when it was on the front of the candidates evaluated in its generation,
    // the authors' per-generation front, not on the front of the population that survived it.
    let fronts: Vec<analysis::GenerationFront> = generation_fronts(input)
        .into_iter()
        .map(|(generation, members)| analysis::GenerationFront {
            generation,
            members: members.iter().map(|m| m.0).collect(),
        })
        .collect();
    let lineage: Vec<analysis::Lineage> = input
        .lineage
        .iter()
        .map(|l| analysis::Lineage { id: l.id, generation: l.generation, parents: l.parents.clone() })
        .collect();
    let Some(&most_accurate) = front.iter().max_by(|&&a, &&b| points[a].y.total_cmp(&points[b].y)) else {
        return;
    };
    let solution = points[most_accurate].id;
    match analysis::ancestry(&lineage, &fronts, solution) {
        Ok(tree) => {
            let genomes: HashMap<u64, String> = input.lineage.iter().map(|l| (l.id, l.genome.clone())).collect();
            let mut csv = String::from("child,parent\n");
            for (child, parent) in &tree.edges {
                let _ = writeln!(csv, "{child},{parent}");
            }
            let mut nodes = String::from("id,generation,genome,on_generation_front\n");
            for node in &tree.nodes {
                let genome = genomes.get(&node.id).map_or("", String::as_str);
                let _ = writeln!(nodes, "{},{},{genome},{}", node.id, node.generation, node.pareto_in_generation);
            }
            section.files.push(("phylogeny_edges.csv".into(), csv));
            section.files.push(("phylogeny_nodes.csv".into(), nodes));
            section.files.push(("phylogeny.svg".into(), phylogeny_svg(&tree, &genomes)));
            let _ = writeln!(
                section.html,
                "<p>Ancestry of the front solution highest on {} (#{solution}, {} ancestor(s)); red: non-dominated \
                 among the candidates evaluated in the generation that proposed it. \
                 <a href=\"phylogeny_edges.csv\">phylogeny_edges.csv</a>, \
                 <a href=\"phylogeny_nodes.csv\">phylogeny_nodes.csv</a></p>\n\
                 <img src=\"phylogeny.svg\" alt=\"phylogeny\">",
                escape(&input.axes.names[0]),
                tree.nodes.len() - 1
            );
        }
        Err(e) => {
            let _ = writeln!(section.html, "<p>No phylogeny: {}</p>", escape(&e.to_string()));
        }
    }
    if let Some(summaries) = evolution(input, Members::Front) {
        let mut csv = evolution_header(&input.axes.names) + "\n";
        evolution_rows("", &summaries, &mut csv);
        section.files.push(("generations_front.csv".into(), csv));
        let svg = evolution_svg(&[(String::new(), &summaries)], &input.axes.names);
        section.files.push(("evolution_front.svg".into(), svg));
        section.html.push_str(
            "<p>App. H: each generation's front (the candidates evaluated in it that no other of them dominates): \
             mean with its 95 % confidence interval (bars) and the range (thin); the paper reads front solutions \
             far beyond the interval as flukes of the search. \
             <a href=\"generations_front.csv\">generations_front.csv</a></p>\n\
             <img src=\"evolution_front.svg\" alt=\"evolution of each generation's front\">\n",
        );
    }
    let Some(summaries) = evolution(input, Members::Population) else { return };
    let mut csv = evolution_header(&input.axes.names) + "\n";
    evolution_rows("", &summaries, &mut csv);
    section.files.push(("generations.csv".into(), csv));
    section.files.push(("evolution.svg".into(), evolution_svg(&[(String::new(), &summaries)], &input.axes.names)));
    section.html.push_str(
        "<p>The population per generation (the panel under Fig. 3): mean with its 95 % confidence interval \
         (bars) and the range (thin). <a href=\"generations.csv\">generations.csv</a></p>\n\
         <img src=\"evolution.svg\" alt=\"evolution of the population\">\n",
    );
}

/// The ancestry as a tree: generations top to bottom, the solution at the bottom.
fn phylogeny_svg(tree: &analysis::Ancestry, genomes: &HashMap<u64, String>) -> String {
    let mut rows: BTreeMap<u64, Vec<&analysis::AncestorNode>> = BTreeMap::new();
    for node in &tree.nodes {
        rows.entry(node.generation).or_default().push(node);
    }
    let widest = rows.values().map(Vec::len).max().unwrap_or(1);
    let (box_w, gap_x, row_h) = (76.0, 12.0, 64.0);
    let width = (widest as f64 * (box_w + gap_x) + gap_x).max(360.0);
    let height = rows.len() as f64 * row_h + 40.0;
    let mut at: HashMap<u64, (f64, f64)> = HashMap::new();
    for (r, nodes) in rows.values().enumerate() {
        let span = nodes.len() as f64 * (box_w + gap_x) - gap_x;
        let x0 = (width - span) / 2.0;
        for (k, node) in nodes.iter().enumerate() {
            at.insert(node.id, (x0 + k as f64 * (box_w + gap_x), 30.0 + r as f64 * row_h));
        }
    }
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    for (r, generation) in rows.keys().enumerate() {
        let _ = writeln!(
            svg,
            "<text x=\"4\" y=\"{}\" font-size=\"11\" fill=\"#666\">gen {generation}</text>",
            44.0 + r as f64 * row_h
        );
    }
    for (child, parent) in &tree.edges {
        let (Some(&(cx, cy)), Some(&(px, py))) = (at.get(child), at.get(parent)) else { continue };
        let _ = writeln!(
            svg,
            "<line x1=\"{}\" y1=\"{cy}\" x2=\"{}\" y2=\"{}\" stroke=\"#888\"/>",
            cx + box_w / 2.0,
            px + box_w / 2.0,
            py + 24.0
        );
    }
    for node in &tree.nodes {
        let (x, y) = at[&node.id];
        let fill = if node.id == tree.root {
            "#1f4e79"
        } else if node.pareto_in_generation {
            "#c81e1e"
        } else {
            "#9a9a9a"
        };
        let genome = genomes.get(&node.id).map(String::as_str).unwrap_or("?");
        let _ = writeln!(
            svg,
            "<rect x=\"{x}\" y=\"{y}\" width=\"{box_w}\" height=\"24\" rx=\"4\" fill=\"{fill}\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"12\" fill=\"white\" text-anchor=\"middle\">{}</text>",
            x + box_w / 2.0,
            y + 16.0,
            escape(genome)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// Mean, 95 % interval and range of both axes per generation. One run: a panel per axis side by
/// side. Several (`compare`, titled by run): a column per run and a row per axis, each row on one
/// y scale so the runs read against each other.
pub(super) fn evolution_svg(runs: &[(String, &[Vec<analysis::GenerationSummary>; 2])], names: &[String; 2]) -> String {
    let single = runs.len() == 1;
    let (rows, columns) = if single { (1, 2) } else { (2, runs.len()) };
    let (panel_w, panel_h) = if single { (410, 320) } else { (400, 300) };
    svg_figure((panel_w * columns as u32, panel_h * rows as u32), |root| {
        let panels = root.split_evenly((rows, columns));
        let first = runs.iter().flat_map(|r| r.1[0].first().map(|s| s.generation)).min().unwrap_or(0);
        let last = runs.iter().flat_map(|r| r.1[0].last().map(|s| s.generation)).max().unwrap_or(1);
        for axis in 0..2 {
            // The range covers the intervals too: with few members a t-interval reaches past the data.
            let (_, y_range) = ranges(runs.iter().flat_map(|r| r.1[axis].iter()).flat_map(|s| {
                let ci = s.summary.ci95.map_or([s.summary.mean; 2], |c| [c.low, c.high]);
                [s.summary.min, s.summary.max, ci[0], ci[1]].map(|y| (0.0, y))
            }));
            for (k, (title, summaries)) in runs.iter().enumerate() {
                let panel = if single { &panels[axis] } else { &panels[axis * columns + k] };
                let caption = if single { names[axis].clone() } else { format!("{title}: {}", names[axis]) };
                evolution_panel(panel, &caption, &summaries[axis], (first as i64, last as i64), y_range.clone());
            }
        }
    })
}

fn evolution_panel(
    panel: &Area,
    caption: &str,
    series: &[analysis::GenerationSummary],
    (first, last): (i64, i64),
    y_range: std::ops::Range<f64>,
) {
    let frame = Frame { caption, caption_size: 15, room: Room::Small };
    let mut chart = generation_chart(panel, frame, (first, last), y_range, "");
    let blue = RGBColor(70, 130, 180);
    chart
        .draw_series(series.iter().map(|s| {
            PathElement::new(
                vec![(s.generation as i64, s.summary.min), (s.generation as i64, s.summary.max)],
                blue.mix(0.35).stroke_width(1),
            )
        }))
        .expect("range");
    chart
        .draw_series(series.iter().filter_map(|s| {
            let ci = s.summary.ci95?;
            Some(PathElement::new(
                vec![(s.generation as i64, ci.low), (s.generation as i64, ci.high)],
                blue.stroke_width(4),
            ))
        }))
        .expect("intervals");
    chart
        .draw_series(LineSeries::new(
            series.iter().map(|s| (s.generation as i64, s.summary.mean)),
            blue.stroke_width(2),
        ))
        .expect("means");
    // A dot per mean: a run of one generation (a refined front) has no line to show it.
    chart
        .draw_series(series.iter().map(|s| Circle::new((s.generation as i64, s.summary.mean), 3, blue.filled())))
        .expect("mean dots");
}

fn correlations_section(input: &ReportInput, section: &mut Section) {
    let rows: Vec<[f64; 5]> = input
        .points
        .iter()
        .filter_map(|p| {
            let [a, i] = p.axes?;
            let gap = p.generalization_error.unwrap_or(f64::NAN);
            (a.is_finite() && i.is_finite()).then_some([a, i, gap, p.params as f64, p.train_images_per_second])
        })
        .collect();
    // Records written before the training accuracy was kept have no generalization error: its
    // correlations are over the records that have one.
    let with_gap: Vec<[f64; 5]> = rows.iter().copied().filter(|r| r[2].is_finite()).collect();
    let column = |rows: &[[f64; 5]], k: usize| -> Vec<f64> { rows.iter().map(|r| r[k]).collect() };
    let names = &input.axes.names;
    let (accuracy, intro, params, speed) = (column(&rows, 0), column(&rows, 1), column(&rows, 3), column(&rows, 4));
    let axes: [(&str, &[f64]); 2] = [(names[0].as_str(), &accuracy), (names[1].as_str(), &intro)];
    let quantities: [(&str, &[f64]); 2] = [("parameters", &params), ("training images per second", &speed)];
    let Ok(mut table) = analysis::spearman_table(&quantities, &axes) else { return };
    if with_gap.len() >= 3 {
        let (accuracy, intro, gap) = (column(&with_gap, 0), column(&with_gap, 1), column(&with_gap, 2));
        let axes: [(&str, &[f64]); 2] = [(names[0].as_str(), &accuracy), (names[1].as_str(), &intro)];
        if let Ok(gap_table) = analysis::spearman_table(&[("generalization error", &gap)], &axes) {
            table.splice(0..0, gap_table);
        }
    }
    let mut csv = String::from("quantity,axis,spearman_rho,p_value,n\n");
    let mut html = String::from(
        "<h3>Generalization and cost against the axes (App. J)</h3>\n<p>Spearman's ρ over every evaluated \
         architecture; generalization error is training minus validation accuracy (training accuracy measured \
         on the unaugmented training images after training; records from before it was kept are left out). \
         <a href=\"correlations.csv\">correlations.csv</a></p>\n<table><tr><th>quantity</th><th>axis</th>\
         <th>ρ</th><th>p</th></tr>\n",
    );
    for cell in &table {
        let (rho, p, n) = cell.spearman.as_ref().map_or((String::new(), String::new(), rows.len()), |c| {
            (format!("{}", c.coefficient), c.p_value.map_or(String::new(), |p| format!("{p}")), c.n)
        });
        let _ = writeln!(csv, "{},{},{rho},{p},{n}", cell.quantity, cell.axis);
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            cell.quantity,
            cell.axis,
            cell.spearman.as_ref().map_or("–".into(), |c| format!("{:.2}", c.coefficient)),
            cell.spearman.as_ref().and_then(|c| c.p_value).map_or("–".into(), |p| format!("{p:.3}"))
        );
    }
    html.push_str("</table>\n");
    section.files.push(("correlations.csv".into(), csv));
    section.html.push_str(&html);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{LineageRow, ReportPoint};

    fn point(id: u64, genome: &str, accuracy: f64, intro: f64, generation: u64) -> ReportPoint {
        ReportPoint {
            id,
            genome: genome.into(),
            arch: String::new(),
            generation,
            accuracy: Some(accuracy),
            introspectability: Some(intro),
            wordnet_introspectability: None,
            objectives: Some(vec![accuracy]),
            params: 1000 * id,
            flops: 0,
            train_images_per_second: 100.0 - id as f64,
            generalization_error: Some(0.01 * id as f64),
            axes: Some([accuracy, intro]),
            stopped: None,
            replayed_from: None,
        }
    }

    /// Three generations: 0–3 initial, 4–5 bred from them, 6 bred from 4 and 5.
    fn input() -> ReportInput {
        let points = vec![
            point(0, "000000", 0.90, 0.10, 1),
            point(1, "222222", 0.50, 0.40, 1),
            point(2, "012340", 0.70, 0.20, 1),
            point(3, "444444", 0.30, 0.05, 1),
            point(4, "000012", 0.88, 0.25, 2),
            point(5, "220222", 0.55, 0.45, 2),
            point(6, "000022", 0.92, 0.30, 3),
        ];
        let parents: [&[u64]; 7] = [&[], &[], &[], &[], &[0, 2], &[1, 2], &[4, 5]];
        let lineage = points
            .iter()
            .zip(parents)
            .map(|(p, parents)| LineageRow {
                id: p.id,
                genome: p.genome.clone(),
                generation: p.generation,
                parents: parents.to_vec(),
                axes: p.axes,
            })
            .collect();
        ReportInput {
            run_name: "t".into(),
            dataset: "fashion-mnist".into(),
            variant: "✗".into(),
            num_classes: 10,
            objective_names: vec!["accuracy".into()],
            maximise: vec![true],
            reference_point: vec![0.1],
            points,
            front: vec![6],
            hypervolume_per_generation: vec![(1, 0.5), (2, 0.6), (3, 0.7)],
            lineage,
            populations: vec![(1, vec![0, 1, 2, 3]), (2, vec![0, 1, 4, 5]), (3, vec![6, 4, 5, 1])],
            axes: crate::report::ReportAxes::paper(10),
            trust: Default::default(),
            wordnet_unavailable: None,
            final_population: None,
            table_front: None,
        }
    }

    #[test]
    fn a_single_objective_run_is_analysed_in_the_report_axes() {
        let points: Vec<Axes> = input()
            .points
            .iter()
            .map(|p| Axes {
                id: p.id,
                genome: p.genome.parse().unwrap(),
                y: p.accuracy.unwrap(),
                x: p.introspectability.unwrap(),
            })
            .collect();
        // By hand: 6 (0.92, 0.30) dominates 0 and 4; 5 (0.55, 0.45) dominates 1, 2 and 3.
        let mut front: Vec<u64> = report_front(&points).into_iter().map(|i| points[i].id).collect();
        front.sort_unstable();
        assert_eq!(front, [5, 6]);
    }

    #[test]
    fn every_section_and_its_data_are_written() {
        let section = analyse(&input());
        let names: Vec<&str> = section.files.iter().map(|(n, _)| n.as_str()).collect();
        for expected in [
            "operators.csv",
            "motifs.csv",
            "front_convs.svg",
            "front_pools.svg",
            "front_operators.csv",
            "motif_discovery.csv",
            "phylogeny.svg",
            "phylogeny_edges.csv",
            "phylogeny_nodes.csv",
            "generations_front.csv",
            "evolution_front.svg",
            "generations.csv",
            "evolution.svg",
            "correlations.csv",
        ] {
            assert!(names.contains(&expected), "{expected} missing from {names:?}");
        }
        let file = |name: &str| &section.files.iter().find(|(n, _)| n == name).unwrap().1;
        // The most accurate front solution is 6; its ancestry is 6 ← 4, 5 ← 0, 1, 2 (by hand).
        assert_eq!(file("phylogeny_edges.csv"), "child,parent\n4,0\n4,2\n5,1\n5,2\n6,4\n6,5\n");
        // Generation 2's population is 0, 1, 4, 5: mean accuracy (0.90 + 0.50 + 0.88 + 0.55) / 4.
        let generation_2 = file("generations.csv").lines().find(|l| l.starts_with("2,")).unwrap().to_string();
        let mean: f64 = generation_2.split(',').nth(2).unwrap().parse().unwrap();
        assert!((mean - 0.7075).abs() < 1e-12, "{generation_2}");
        // Front {5: 220222, 6: 000022}: 12 edges, 7 avg-pool (7/12), 5 conv3x3 (5/12).
        let operators = file("operators.csv");
        assert!(operators.contains("2,avg_pool_3x3,7,0.5833"), "{operators}");
        assert!(operators.contains("0,nor_conv_3x3,5,0.4166"), "{operators}");
        // CSV headers are unique.
        for (name, text) in section.files.iter().filter(|(n, _)| n.ends_with(".csv")) {
            let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
            let mut unique = header.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), header.len(), "{name}: {header:?}");
        }
        assert!(section.html.contains("Tables E1–E3") && section.html.contains("phylogeny.svg"));
    }

    fn column(csv: &str, generation: &str, k: usize) -> f64 {
        let row = csv.lines().find(|l| l.starts_with(&format!("{generation},"))).unwrap();
        row.split(',').nth(k).unwrap().parse().unwrap()
    }

    /// App. H over each generation's front, by hand. Generation 1 evaluated 0–3: 3 (0.30, 0.05) is
    /// dominated, the front is 0, 1, 2; generation 2 evaluated 4 and 5, both on its front;
    /// generation 3 only 6. The population of generation 1 keeps 3 in, so its mean differs.
    #[test]
    fn each_generations_front_is_summarised_by_hand() {
        let input = input();
        let fronts = generation_fronts(&input);
        let ids: Vec<(u64, Vec<u64>)> = fronts.iter().map(|(g, m)| (*g, m.iter().map(|m| m.0).collect())).collect();
        assert_eq!(ids, [(1, vec![0, 1, 2]), (2, vec![4, 5]), (3, vec![6])]);
        let section = analyse(&input);
        let file = |name: &str| section.files.iter().find(|(n, _)| n == name).unwrap().1.clone();
        let front = file("generations_front.csv");
        // Columns: generation, n, then accuracy's mean, ci95 low, high, min, max, then introspectability's.
        assert_eq!(column(&front, "1", 1), 3.0);
        // Accuracy 0.9, 0.5, 0.7: mean 0.7, s = 0.2, half-width t(0.975, 2) · 0.2/√3.
        let half = 4.302652729911275 * 0.2 / 3f64.sqrt();
        assert!((column(&front, "1", 2) - 0.7).abs() < 1e-12);
        assert!(
            (column(&front, "1", 3) - (0.7 - half)).abs() < 1e-9
                && (column(&front, "1", 4) - (0.7 + half)).abs() < 1e-9
        );
        assert_eq!((column(&front, "1", 5), column(&front, "1", 6)), (0.5, 0.9));
        // Introspectability 0.1, 0.4, 0.2: mean 0.7/3.
        assert!((column(&front, "1", 7) - 0.7 / 3.0).abs() < 1e-12);
        // Generation 2: 0.88 and 0.55, mean 0.715, s = 0.33/√2, half-width t(0.975, 1) · s/√2.
        let half = 12.706204736174698 * (0.33 / 2f64.sqrt()) / 2f64.sqrt();
        assert!((column(&front, "2", 2) - 0.715).abs() < 1e-12);
        assert!((column(&front, "2", 4) - (0.715 + half)).abs() < 1e-9, "{front}");
        // One member: no interval, the mean stands for it.
        assert_eq!((column(&front, "3", 1), column(&front, "3", 2), column(&front, "3", 3)), (1.0, 0.92, 0.92));
        // The population of generation 1 (0–3): mean accuracy 0.6, not the front's 0.7.
        assert!((column(&file("generations.csv"), "1", 2) - 0.6).abs() < 1e-12);
    }

    /// Fig. 3's red parents: non-dominated among the candidates evaluated in their generation, not
    /// among the survivors. Generation 1 evaluated 10 (0.9, 0.5) and 11 (0.6, 0.2); generation 2
    /// evaluated 12 (0.8, 0.3) ← 10, 11 and 13 (0.5, 0.1) ← 11, and kept 10 and 12; generation 3
    /// evaluated 14 (0.95, 0.6) ← 12, 10. Among generation 2's evaluations 12 dominates 13, so 12
    /// is red, although among its survivors 10 dominates it.
    #[test]
    fn a_parent_is_red_when_it_led_its_own_generations_evaluations() {
        let points = vec![
            point(10, "000000", 0.9, 0.5, 1),
            point(11, "222222", 0.6, 0.2, 1),
            point(12, "000012", 0.8, 0.3, 2),
            point(13, "220222", 0.5, 0.1, 2),
            point(14, "000022", 0.95, 0.6, 3),
        ];
        let parents: [&[u64]; 5] = [&[], &[], &[10, 11], &[11], &[12, 10]];
        let mut input = input();
        input.lineage = points
            .iter()
            .zip(parents)
            .map(|(p, parents)| LineageRow {
                id: p.id,
                genome: p.genome.clone(),
                generation: p.generation,
                parents: parents.to_vec(),
                axes: p.axes,
            })
            .collect();
        input.points = points;
        input.populations = vec![(1, vec![10, 11]), (2, vec![10, 12]), (3, vec![14, 10])];
        // The survivors' front of generation 2 is 10 alone: the old colouring left 12 grey.
        let survivors =
            analysis::pareto_members(&[10, 12], &[vec![0.9, 0.5], vec![0.8, 0.3]], &[Direction::Maximise; 2]);
        assert_eq!(survivors.unwrap(), [10]);
        let section = analyse(&input);
        let nodes = &section.files.iter().find(|(n, _)| n == "phylogeny_nodes.csv").unwrap().1;
        let mut rows: Vec<&str> = nodes.lines().skip(1).collect();
        rows.sort_unstable();
        assert_eq!(rows, ["10,1,000000,true", "11,1,222222,false", "12,2,000012,true", "14,3,000022,true"], "{nodes}");
        let svg = &section.files.iter().find(|(n, _)| n == "phylogeny.svg").unwrap().1;
        // Two red ancestors (10 and 12), the root in blue, 11 in grey.
        assert_eq!(svg.matches("#c81e1e").count(), 2, "{svg}");
    }
}
