//! The report's SVG figures, drawn with plotters.

use plotters::prelude::*;

use super::chart::{draw_legend, generation_chart, plane_chart, ranges, svg_figure, Area, Frame, Room};
use super::ReportInput;

const WIDTH: u32 = 820;
const HEIGHT: u32 = 560;

/// What the front figure draws: every point and the front in one plane, with its reference.
struct Plane {
    x_name: String,
    y_name: String,
    points: Vec<(f64, f64)>,
    front: Vec<(f64, f64)>,
    reference: (f64, f64),
    max_x: bool,
    max_y: bool,
}

impl Plane {
    /// The first two objectives — the second on x and the first on y, which puts introspectability
    /// on x and accuracy on y as in the paper's figure 2 — or, for a single-objective search, the
    /// report axes (the second on x, the first on y) with their front.
    fn of(input: &ReportInput) -> Plane {
        if input.objective_names.len() >= 2 {
            let (yi, xi) = (0usize, 1usize);
            let pick = |o: &Vec<f64>| (o.len() > xi && o[xi].is_finite() && o[yi].is_finite()).then(|| (o[xi], o[yi]));
            Plane {
                x_name: input.objective_names[xi].clone(),
                y_name: input.objective_names[yi].clone(),
                points: input.points.iter().filter_map(|p| p.objectives.as_ref().and_then(pick)).collect(),
                front: input.front.iter().filter_map(|&i| input.points[i].objectives.as_ref().and_then(pick)).collect(),
                reference: (
                    input.reference_point.get(xi).copied().unwrap_or(0.0),
                    input.reference_point.get(yi).copied().unwrap_or(0.0),
                ),
                max_x: input.maximise.get(xi).copied().unwrap_or(true),
                max_y: input.maximise.get(yi).copied().unwrap_or(true),
            }
        } else {
            let (points, front) = input.report_plane();
            let [y, x] = input.report_reference();
            Plane {
                x_name: input.axes.names[1].clone(),
                y_name: input.axes.names[0].clone(),
                points,
                front,
                reference: (x, y),
                max_x: true,
                max_y: true,
            }
        }
    }
}

/// The Pareto front (see [`Plane::of`]) with every evaluated architecture and the region the front
/// dominates up to the reference point shaded (its area is the hypervolume); a second panel zooms
/// on the evaluated points, which often crowd one corner of the first.
pub fn front_svg(input: &ReportInput) -> String {
    let plane = Plane::of(input);
    svg_figure((WIDTH * 2 - 120, HEIGHT), |root| {
        let (left, right) = root.split_horizontally(WIDTH as i32 - 60);
        let region = dominated_region(&plane.front, plane.reference, plane.max_x, plane.max_y);
        let (full_x, full_y) = ranges(plane.points.iter().copied().chain(std::iter::once(plane.reference)));
        let title = format!("Pareto front — {} ({})", input.run_name, input.dataset);
        draw_front_panel(&left, &plane, &region, (full_x, full_y), &title, true);
        let (zoom_x, zoom_y) = ranges(plane.points.iter().copied());
        // Clamping a staircase polygon's corners to the zoomed box gives its part inside the box.
        let clamp = |(x, y): (f64, f64)| (x.clamp(zoom_x.start, zoom_x.end), y.clamp(zoom_y.start, zoom_y.end));
        let zoomed_region: Vec<(f64, f64)> = region.iter().copied().map(clamp).collect();
        draw_front_panel(&right, &plane, &zoomed_region, (zoom_x, zoom_y), "zoomed on the evaluated points", false);
    })
}

fn draw_front_panel(
    area: &Area,
    plane: &Plane,
    region: &[(f64, f64)],
    (x_range, y_range): (std::ops::Range<f64>, std::ops::Range<f64>),
    title: &str,
    with_legend: bool,
) {
    let frame = Frame { caption: title, caption_size: 20, room: Room::Large };
    let mut chart = plane_chart(area, frame, (x_range, y_range), [&plane.x_name, &plane.y_name], None);
    let shade = RGBColor(70, 130, 180).mix(0.25);
    if region.len() > 2 {
        chart
            .draw_series(std::iter::once(Polygon::new(region.to_vec(), shade.filled())))
            .expect("region")
            .label("hypervolume region")
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], shade.filled()));
    }
    chart
        .draw_series(plane.points.iter().map(|&p| Circle::new(p, 3, RGBColor(150, 150, 150).filled())))
        .expect("points")
        .label("evaluated")
        .legend(|(x, y)| Circle::new((x + 6, y), 3, RGBColor(150, 150, 150).filled()));
    chart
        .draw_series(plane.front.iter().map(|&p| Circle::new(p, 5, RGBColor(200, 40, 40).filled())))
        .expect("front")
        .label("Pareto-optimal")
        .legend(|(x, y)| Circle::new((x + 6, y), 5, RGBColor(200, 40, 40).filled()));
    if with_legend {
        let reference = plane.reference;
        chart
            .draw_series(std::iter::once(Cross::new(reference, 6, BLACK.stroke_width(2))))
            .expect("reference")
            .label(format!("reference point ({:.3}, {:.3})", reference.0, reference.1))
            .legend(|(x, y)| Cross::new((x + 6, y), 5, BLACK.stroke_width(2)));
        draw_legend(&mut chart, SeriesLabelPosition::LowerLeft);
    }
}

/// Hypervolume after each generation: of the archive in the report axes (from their reference
/// point) and, where the search's objectives differ, the search's own.
pub fn hypervolume_svg(input: &ReportInput) -> String {
    let archive = input.archive_hypervolume_per_generation();
    let search: Vec<(u64, f64)> =
        input.hypervolume_per_generation.iter().copied().filter(|p| p.1.is_finite()).collect();
    let same = archive.len() == search.len() && archive.iter().zip(&search).all(|(a, b)| (a.1 - b.1).abs() < 1e-12);
    svg_figure((WIDTH, 420), |root| {
        let all = archive.iter().chain(if same { [].iter() } else { search.iter() });
        let (_, mut y_range) = ranges(all.clone().map(|&(g, hv)| (g as f64, hv)));
        y_range.start = y_range.start.min(0.0);
        let first = all.clone().map(|p| p.0).min().unwrap_or(0) as i64;
        let last = all.map(|p| p.0).max().unwrap_or(1) as i64;
        let caption = format!("Hypervolume per generation — {}", input.run_name);
        let frame = Frame { caption: &caption, caption_size: 22, room: Room::Large };
        let mut chart = generation_chart(root, frame, (first, last), y_range, "hypervolume");
        let archive_label = format!("archive, {}", input.axes.label());
        let mut series = vec![(archive, RGBColor(70, 130, 180), archive_label)];
        if !same && !search.is_empty() {
            series.push((search, RGBColor(200, 120, 40), "the search's objectives".to_string()));
        }
        for (data, colour, label) in series {
            let data: Vec<(i64, f64)> = data.iter().map(|&(g, hv)| (g as i64, hv)).collect();
            chart
                .draw_series(LineSeries::new(data.clone(), colour.stroke_width(2)))
                .expect("line")
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], colour.stroke_width(2)));
            chart.draw_series(data.iter().map(|&p| Circle::new(p, 4, colour.filled()))).expect("dots");
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight);
    })
}

/// The staircase polygon of the region that the front dominates and that dominates the
/// reference point, in plot coordinates. Directions say which way is better on each axis.
pub fn dominated_region(front: &[(f64, f64)], reference: (f64, f64), max_x: bool, max_y: bool) -> Vec<(f64, f64)> {
    // Work where larger is better on both axes, then map back.
    let sx = if max_x { 1.0 } else { -1.0 };
    let sy = if max_y { 1.0 } else { -1.0 };
    let (rx, ry) = (sx * reference.0, sy * reference.1);
    let mut pts: Vec<(f64, f64)> =
        front.iter().map(|&(x, y)| (sx * x, sy * y)).filter(|&(x, y)| x > rx && y > ry).collect();
    // Keep the non-dominated staircase: by x descending, y must increase.
    pts.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.total_cmp(&a.1)));
    let mut stairs: Vec<(f64, f64)> = Vec::new();
    for p in pts {
        if stairs.last().is_none_or(|last| p.1 > last.1) {
            stairs.push(p);
        }
    }
    if stairs.is_empty() {
        return Vec::new();
    }
    stairs.reverse(); // x ascending, y descending
    let mut polygon = vec![(rx, ry), (rx, stairs[0].1)];
    for (i, &(x, y)) in stairs.iter().enumerate() {
        polygon.push((x, y));
        let next_y = stairs.get(i + 1).map_or(ry, |n| n.1);
        polygon.push((x, next_y));
    }
    polygon.into_iter().map(|(x, y)| (sx * x, sy * y)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shoelace area of a polygon.
    fn area(poly: &[(f64, f64)]) -> f64 {
        let n = poly.len();
        (0..n).map(|i| poly[i].0 * poly[(i + 1) % n].1 - poly[(i + 1) % n].0 * poly[i].1).sum::<f64>().abs() / 2.0
    }

    #[test]
    fn shaded_area_is_the_hypervolume_by_hand() {
        // Maximise both, ref (0, 0.1): points (0.2, 0.9), (0.4, 0.8), (0.5, 0.5), dominated (0.3, 0.7).
        // Union of rectangles: 0.2·0.8 + (0.4−0.2)·0.7 + (0.5−0.4)·0.4 = 0.16 + 0.14 + 0.04 = 0.34.
        let front = [(0.2, 0.9), (0.4, 0.8), (0.5, 0.5), (0.3, 0.7)];
        let poly = dominated_region(&front, (0.0, 0.1), true, true);
        assert!((area(&poly) - 0.34).abs() < 1e-12, "{poly:?}");
        // The same front with the y axis minimised (y' = −y) and its reference mirrored.
        let mirrored: Vec<(f64, f64)> = front.iter().map(|&(x, y)| (x, -y)).collect();
        let poly = dominated_region(&mirrored, (0.0, -0.1), true, false);
        assert!((area(&poly) - 0.34).abs() < 1e-12);
        assert!(dominated_region(&[(0.0, 0.05)], (0.0, 0.1), true, true).is_empty());
    }

    #[test]
    fn figures_are_svg_with_their_parts() {
        let input = super::super::tests::sample();
        let svg = front_svg(&input);
        assert!(svg.starts_with("<svg") && svg.contains("polygon") && svg.contains("introspectability"));
        let svg = hypervolume_svg(&input);
        assert!(svg.contains("generation"));
    }
}
