//! The plotters set-up every report figure shares: an SVG drawn into a string on white, a chart's
//! caption, margin and label areas, its mesh (no light grid lines, the axes described), the
//! per-generation x axis, the legend box and the axis ranges. One place, so that the figures of
//! `xnas report` and `xnas compare` look alike and a new figure is its series only.

use std::ops::Range;

use plotters::coord::ranged1d::AsRangedCoord;
use plotters::coord::types::{RangedCoordf64, RangedCoordi64};
use plotters::coord::Shift;
use plotters::prelude::*;

/// A drawing area of an SVG figure: the whole figure or one panel of it.
pub(super) type Area<'b> = DrawingArea<SVGBackend<'b>, Shift>;

/// A chart whose axes are two real quantities.
pub(super) type PlaneChart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A chart whose x axis counts generations.
pub(super) type GenerationChart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordi64, RangedCoordf64>>;

/// An SVG figure of `size` pixels on white, drawn by `draw` on its whole area.
pub(super) fn svg_figure(size: (u32, u32), draw: impl FnOnce(&Area)) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).expect("drawing on a string");
        draw(&root);
        root.present().expect("svg");
    }
    svg
}

/// The room a chart leaves around its plot, by how large the chart is.
#[derive(Debug, Clone, Copy)]
pub(super) enum Room {
    /// A figure of its own.
    Large,
    /// A mid-sized figure, or a panel of a row of two.
    Medium,
    /// A panel of a grid.
    Small,
    /// A thumbnail.
    Thumbnail,
}

impl Room {
    /// (margin, x label area, y label area) in pixels.
    fn pixels(self) -> (u32, u32, u32) {
        match self {
            Room::Large => (16, 44, 60),
            Room::Medium => (14, 40, 56),
            Room::Small => (12, 36, 52),
            Room::Thumbnail => (10, 30, 44),
        }
    }
}

/// What frames a chart: its caption, the caption's font size and the room around the plot.
#[derive(Debug, Clone, Copy)]
pub(super) struct Frame<'t> {
    pub caption: &'t str,
    pub caption_size: u32,
    pub room: Room,
}

fn build<'a, 'b, X: AsRangedCoord, Y: AsRangedCoord>(
    area: &'a Area<'b>,
    frame: Frame,
    x_range: X,
    y_range: Y,
) -> ChartContext<'a, SVGBackend<'b>, Cartesian2d<X::CoordDescType, Y::CoordDescType>> {
    let (margin, x_label_area, y_label_area) = frame.room.pixels();
    ChartBuilder::on(area)
        .caption(frame.caption, ("sans-serif", frame.caption_size))
        .margin(margin)
        .x_label_area_size(x_label_area)
        .y_label_area_size(y_label_area)
        .build_cartesian_2d(x_range, y_range)
        .expect("chart")
}

/// A chart of two real axes with its mesh drawn: `[x, y]` are the axes' descriptions, and the
/// tick labels are `tick_size` points (plotters' default where `None`).
pub(super) fn plane_chart<'a, 'b>(
    area: &'a Area<'b>,
    frame: Frame,
    (x_range, y_range): (Range<f64>, Range<f64>),
    [x_desc, y_desc]: [&str; 2],
    tick_size: Option<u32>,
) -> PlaneChart<'a, 'b> {
    let mut chart = build(area, frame, x_range, y_range);
    let mut mesh = chart.configure_mesh();
    mesh.light_line_style(TRANSPARENT).x_desc(x_desc).y_desc(y_desc);
    if let Some(size) = tick_size {
        mesh.label_style(("sans-serif", size));
    }
    mesh.draw().expect("mesh");
    chart
}

/// A chart of generations `first..=last` (integer ticks only, the axis one generation wider on
/// each side so that no line sits on the frame) against a real y axis, its mesh drawn.
pub(super) fn generation_chart<'a, 'b>(
    area: &'a Area<'b>,
    frame: Frame,
    (first, last): (i64, i64),
    y_range: Range<f64>,
    y_desc: &str,
) -> GenerationChart<'a, 'b> {
    let mut chart = build(area, frame, (first - 1)..(last + 1), y_range);
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_desc("generation")
        .y_desc(y_desc)
        .x_labels((last - first + 3) as usize)
        .x_label_formatter(&|g| if *g < first || *g > last { String::new() } else { g.to_string() })
        .draw()
        .expect("mesh");
    chart
}

/// The legend every figure draws: a light box in one corner.
pub(super) fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .draw()
        .expect("legend");
}

/// Axis ranges covering the points with a margin; a degenerate range is widened.
pub(super) fn ranges(points: impl Iterator<Item = (f64, f64)>) -> (Range<f64>, Range<f64>) {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for (x, y) in points {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    let pad = |lo: f64, hi: f64| {
        if !lo.is_finite() || !hi.is_finite() {
            return 0.0..1.0;
        }
        let span = (hi - lo).max(1e-3);
        (lo - 0.05 * span)..(hi + 0.05 * span)
    };
    (pad(x0, x1), pad(y0, y1))
}
