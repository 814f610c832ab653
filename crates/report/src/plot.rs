//! Figures as plain data ([`Figure`]), drawn with plotters into SVG text or PNG bytes.
//!
//! Kind renderers build figures from tables; this module owns every drawing decision
//! (layout, palette, log axes, legends) so that all plots read alike. Log axes are
//! drawn as linear axes over log10 of the data, which lets every panel share one
//! coordinate type; points that a log axis cannot show (zero, negative) and
//! non-finite points are skipped and counted, and the count is printed under the
//! figure. Text is laid out with the embedded DejaVu Sans (see [`register_font`]), so
//! no system font is needed; the SVG names the family `sans-serif` and renders with
//! whatever sans font the viewer has.

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

mod heat;
mod legend;
pub mod svg;

use legend::{draw_legend, place_labels, Legend};

pub use heat::{cell_text, heat_color, ratio_color};

/// The font family every text in a figure uses (registered with the embedded font).
pub const FONT: &str = "sans-serif";

/// DejaVu Sans, embedded so that PNGs render without system fonts.
static DEJAVU_SANS: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Register the embedded font with plotters once per process; plotters needs it for
/// text layout in both backends. Returns false if the font data were rejected.
pub fn register_font() -> bool {
    static DONE: OnceLock<bool> = OnceLock::new();
    *DONE.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, DEJAVU_SANS).is_ok()
            && plotters::style::register_font(FONT, FontStyle::Bold, DEJAVU_SANS).is_ok()
    })
}

/// How an axis maps values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Linear.
    Linear,
    /// Logarithmic (base 10); values <= 0 cannot be shown and are skipped.
    Log,
}

/// An axis: its label (with the unit) and its scale.
#[derive(Clone, Debug)]
pub struct Axis {
    /// The label, with the unit.
    pub label: String,
    /// Linear or logarithmic.
    pub scale: Scale,
    /// A fixed range in data units (None: fit the data).
    pub range: Option<(f64, f64)>,
}

impl Axis {
    /// A linear axis fitted to the data.
    pub fn linear(label: &str) -> Axis {
        Axis {
            label: label.to_string(),
            scale: Scale::Linear,
            range: None,
        }
    }

    /// A log axis fitted to the data.
    pub fn log(label: &str) -> Axis {
        Axis {
            label: label.to_string(),
            scale: Scale::Log,
            range: None,
        }
    }

    /// The same axis with a fixed range.
    pub fn with_range(mut self, lo: f64, hi: f64) -> Axis {
        self.range = Some((lo, hi));
        self
    }

    fn to_plot(&self, v: f64) -> Option<f64> {
        match self.scale {
            Scale::Linear => Some(v).filter(|v| v.is_finite()),
            Scale::Log => Some(v)
                .filter(|v| v.is_finite() && *v > 0.0)
                .map(f64::log10),
        }
    }

    fn label_of(&self, p: f64) -> String {
        match self.scale {
            Scale::Linear => fmt_tick(p),
            // Whole decades from 10^4 up as 1eK, so that narrow panels stay legible.
            Scale::Log if p >= 4.0 && p.fract() == 0.0 => format!("1e{p}"),
            Scale::Log => fmt_tick(10f64.powf(p)),
        }
    }
}

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// A solid line with small markers.
    Line,
    /// A dashed line (references: memory copy, exact values, the diagonal).
    Dashed,
    /// Markers only (scatter plots).
    Markers,
    /// A solid line without markers (histogram outlines, dense curves).
    Plain,
    /// Markers with the series' name written beside each (no legend entry; the
    /// series needs a fixed colour).
    Labeled,
}

/// One named series of points, with an optional band (x, low, high) around it.
#[derive(Clone, Debug)]
pub struct Series {
    /// The legend entry; series of one name share a colour across panels.
    pub name: String,
    /// The points (x, y) in data units; non-finite or unshowable ones are skipped.
    pub points: Vec<(f64, f64)>,
    /// A shaded band (x, low, high), e.g. a 95% confidence interval or min-max over seeds.
    pub band: Vec<(f64, f64, f64)>,
    /// How it is drawn.
    pub style: Style,
    /// A fixed colour (None: from the palette, by the name's first appearance).
    pub color: Option<RGBColor>,
}

impl Series {
    /// A solid line.
    pub fn line(name: &str, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.to_string(),
            points,
            band: Vec::new(),
            style: Style::Line,
            color: None,
        }
    }

    /// The same series drawn another way.
    pub fn styled(mut self, style: Style) -> Series {
        self.style = style;
        self
    }

    /// The same series with a band.
    pub fn with_band(mut self, band: Vec<(f64, f64, f64)>) -> Series {
        self.band = band;
        self
    }

    /// The same series in a fixed colour.
    pub fn colored(mut self, color: RGBColor) -> Series {
        self.color = Some(color);
        self
    }
}

/// How a heat map colours its values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeatScale {
    /// Fractions in [0, 1]: white at 0, any non-zero value tinted, dark red at 1.
    Fraction,
    /// Ratios on a log scale: white at 1, blue above, red below.
    Ratio,
}

/// A heat map: rows × columns of values; NaN means not measured.
#[derive(Clone, Debug)]
pub struct Heat {
    /// Column labels (left to right).
    pub columns: Vec<String>,
    /// Row labels (top to bottom).
    pub rows: Vec<String>,
    /// values[row][column].
    pub values: Vec<Vec<f64>>,
    /// What a value is (the colour key's label).
    pub value_label: String,
    /// How values are coloured.
    pub scale: HeatScale,
    /// Whether each cell prints its value.
    pub cell_values: bool,
}

/// What a panel holds.
#[derive(Clone, Debug)]
pub enum Content {
    /// Line, dashed and scatter series.
    Lines(Vec<Series>),
    /// A heat map.
    Heat(Heat),
}

/// One panel of a figure.
#[derive(Clone, Debug)]
pub struct Panel {
    /// The panel's title (e.g. the dtype).
    pub title: String,
    /// The x axis.
    pub x: Axis,
    /// The y axis.
    pub y: Axis,
    /// The content.
    pub content: Content,
}

/// How a figure arranges its panels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Equal panels, `columns` per row (fewer where the figure would be wider than
    /// [`MAX_WIDTH`]).
    Grid,
    /// The first panel large across the top, the others as small multiples below
    /// (`columns` per row), every panel on the same x and y ranges.
    Lead,
}

/// The widest a figure is drawn, in pixels: every label stays legible when the
/// figure is shown at this width (a page 1,400 px wide shows it at full size).
pub const MAX_WIDTH: u32 = 1400;

/// A figure: panels in a grid, one legend for all of them, notes underneath.
#[derive(Clone, Debug)]
pub struct Figure {
    /// The file stem (`<scenario>_<plot>`): plots/<name>.svg and .png.
    pub name: String,
    /// The title drawn on top.
    pub title: String,
    /// The panels, filled row by row.
    pub panels: Vec<Panel>,
    /// Panels per row (of the small panels, for [`Layout::Lead`]).
    pub columns: usize,
    /// How the panels are arranged.
    pub layout: Layout,
    /// Lines printed under the panels (what was skipped, what a band means).
    pub notes: Vec<String>,
}

/// A figure that could not be drawn (a plotters error, as text).
#[derive(Debug, thiserror::Error)]
#[error("plot {name}: {message}")]
pub struct PlotError {
    /// The figure's name.
    pub name: String,
    /// What went wrong.
    pub message: String,
}

/// Thirty colours that stay apart from each other (Tableau 10, then darker and
/// other hues), in the order series are met.
const PALETTE: [RGBColor; 30] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
    RGBColor(188, 189, 34),
    RGBColor(127, 127, 127),
    RGBColor(0, 0, 128),
    RGBColor(128, 0, 0),
    RGBColor(0, 100, 0),
    RGBColor(184, 134, 11),
    RGBColor(75, 0, 130),
    RGBColor(255, 99, 71),
    RGBColor(0, 128, 128),
    RGBColor(199, 21, 133),
    RGBColor(85, 107, 47),
    RGBColor(70, 70, 70),
    RGBColor(0, 191, 255),
    RGBColor(154, 205, 50),
    RGBColor(218, 112, 214),
    RGBColor(160, 82, 45),
    RGBColor(106, 90, 205),
    RGBColor(46, 139, 87),
    RGBColor(255, 20, 147),
    RGBColor(210, 180, 140),
    RGBColor(72, 61, 139),
    RGBColor(255, 165, 0),
];

/// The colour of reference lines (memory copy, exact values, ideal calibration).
pub const REFERENCE: RGBColor = RGBColor(0, 0, 0);

const PANEL_W: u32 = 460;
const PANEL_H: u32 = 340;
const HEAT_PANEL_W: u32 = 580;
const SMALL_W: u32 = 270;
const SMALL_H: u32 = 250;
const LEAD_H: u32 = 460;
const TITLE_H: u32 = 40;
const NOTE_H: u32 = 21;
const LEGEND_ROW_H: u32 = 22;
/// Series with more points than this are drawn without markers (dense curves).
const MARKERS_UP_TO: usize = 40;

/// A tick label: short, with at most three significant digits.
pub fn fmt_tick(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        let e = a.log10().floor();
        let m = v / 10f64.powf(e);
        if (m.abs() - 1.0).abs() < 1e-9 {
            return format!("{}1e{}", if v < 0.0 { "-" } else { "" }, e as i64);
        }
        return format!("{}e{}", trim_zeros(&format!("{m:.2}")), e as i64);
    }
    let s = format!("{:.*}", decimals(a), v);
    trim_zeros(&s)
}

fn decimals(a: f64) -> usize {
    // Three significant digits.
    let d = 2 - a.log10().floor() as i64;
    d.clamp(0, 6) as usize
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

impl Figure {
    fn legend_width(&self) -> u32 {
        let w = Legend::of(self).width();
        if self.has_heat() {
            w.max(190)
        } else {
            w
        }
    }

    /// Columns of equal panels that fit in [`MAX_WIDTH`] with the legend.
    fn fitting_columns(&self, panel_w: u32, wanted: usize) -> usize {
        let room = MAX_WIDTH.saturating_sub(self.legend_width()) / panel_w.max(1);
        wanted.min(room as usize).max(1)
    }

    fn panel_size(&self) -> (u32, u32) {
        let heat = self
            .panels
            .iter()
            .filter_map(|p| match &p.content {
                Content::Heat(h) => Some(h.rows.len() as u32 * heat::row_height(h)),
                Content::Lines(_) => None,
            })
            .max();
        match heat {
            Some(rows_h) => (HEAT_PANEL_W, (100 + rows_h).max(210)),
            None => (PANEL_W, PANEL_H),
        }
    }

    /// Each panel's rectangle (x, y, width, height) below the title, and the width
    /// and height the panels take together.
    fn cells(&self) -> (Vec<Cell>, u32, u32) {
        let n = self.panels.len();
        match self.layout {
            Layout::Grid => {
                let (pw, ph) = self.panel_size();
                let cols = self.fitting_columns(pw, self.columns.clamp(1, n.max(1)));
                let rows = n.div_ceil(cols).max(1) as u32;
                let cells = (0..n)
                    .map(|i| {
                        let (r, c) = ((i / cols) as u32, (i % cols) as u32);
                        (c * pw, r * ph, pw, ph)
                    })
                    .collect();
                (cells, cols as u32 * pw, rows * ph)
            }
            Layout::Lead => {
                let small = n.saturating_sub(1);
                let want = if small == 0 {
                    self.columns.max(1)
                } else {
                    self.columns.clamp(1, small)
                };
                let cols = self.fitting_columns(SMALL_W, want);
                let w = cols as u32 * SMALL_W;
                let mut cells = vec![(0, 0, w, LEAD_H)];
                for i in 0..small {
                    let (r, c) = ((i / cols) as u32, (i % cols) as u32);
                    cells.push((c * SMALL_W, LEAD_H + r * SMALL_H, SMALL_W, SMALL_H));
                }
                cells.truncate(n);
                let rows = small.div_ceil(cols) as u32;
                (cells, w, LEAD_H + rows * SMALL_H)
            }
        }
    }

    fn has_heat(&self) -> bool {
        self.panels
            .iter()
            .any(|p| matches!(p.content, Content::Heat(_)))
    }

    /// The notes broken into lines that fit the figure's width.
    fn note_lines(&self) -> Vec<String> {
        let (_, panels_w, _) = self.cells();
        let chars = ((panels_w + self.legend_width()) / 9).max(40) as usize;
        self.notes.iter().flat_map(|n| wrap(n, chars)).collect()
    }

    fn notes_height(&self) -> u32 {
        let lines = self.note_lines().len() as u32;
        if lines == 0 {
            0
        } else {
            lines * NOTE_H + 10
        }
    }

    /// The pixel size of the drawing.
    pub fn size(&self) -> (u32, u32) {
        let (_, panels_w, panels_h) = self.cells();
        let legend = Legend::of(self);
        let mut legend_h = legend.entries.len() as u32 * LEGEND_ROW_H + 40;
        if self.has_heat() {
            legend_h += 10 * 22 + 40;
        }
        (
            panels_w + self.legend_width(),
            TITLE_H + panels_h.max(legend_h) + self.notes_height(),
        )
    }

    /// The figure as SVG text (compacted: see [`svg::compact`]).
    pub fn to_svg(&self) -> Result<String, PlotError> {
        let mut text = String::new();
        {
            let root = SVGBackend::with_string(&mut text, self.size()).into_drawing_area();
            self.draw(&root)?;
            root.present().map_err(|e| self.err(e))?;
        }
        Ok(svg::compact(&text))
    }

    /// The figure as a PNG file at `path`.
    pub fn to_png(&self, path: &std::path::Path) -> Result<(), PlotError> {
        let root = BitMapBackend::new(path, self.size()).into_drawing_area();
        self.draw(&root)?;
        root.present().map_err(|e| self.err(e))
    }

    fn err(&self, e: impl std::fmt::Display) -> PlotError {
        PlotError {
            name: self.name.clone(),
            message: e.to_string(),
        }
    }

    /// The x and y ranges (plot units) over every line panel, for shared axes.
    fn shared_ranges(&self) -> Option<Ranges> {
        let first = self.panels.first()?;
        let lines = || {
            self.panels.iter().filter_map(|p| match &p.content {
                Content::Lines(s) => Some(s),
                Content::Heat(_) => None,
            })
        };
        let x = fit(
            &first.x,
            lines()
                .flat_map(|s| xs_of(s))
                .collect::<Vec<_>>()
                .into_iter(),
        )?;
        let y = fit(
            &first.y,
            lines()
                .flat_map(|s| ys_of(s))
                .collect::<Vec<_>>()
                .into_iter(),
        )?;
        Some((x, y))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        if !register_font() {
            return Err(self.err("the embedded font was rejected"));
        }
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| self.err(e);
        root.fill(&WHITE).map_err(e)?;
        let (_, h) = self.size();
        let (cells, panels_w, _) = self.cells();
        let legend = Legend::of(self);
        root.draw(&Text::new(
            self.title.clone(),
            (10, 8),
            TextStyle::from((FONT, 24).into_font()).pos(Pos::new(HPos::Left, VPos::Top)),
        ))
        .map_err(e)?;
        let notes_h = self.notes_height();
        let body = root.margin(TITLE_H, notes_h, 0, 0);
        let (body_w, body_h) = body.dim_in_pixel();
        let shared = match self.layout {
            Layout::Lead => self.shared_ranges(),
            Layout::Grid => None,
        };
        for (panel, &(x, y, w, ph)) in self.panels.iter().zip(&cells) {
            let area = body.clone().shrink((x, y), (w, ph));
            match &panel.content {
                Content::Lines(series) => {
                    draw_lines(panel, series, &legend, shared, &area).map_err(e)?
                }
                Content::Heat(heat) => heat::draw_heat(panel, heat, &area).map_err(e)?,
            }
        }
        let legend_area = body.shrink((panels_w, 0), (body_w.saturating_sub(panels_w), body_h));
        let key = self.panels.iter().find_map(|p| match &p.content {
            Content::Heat(h) => Some(h),
            Content::Lines(_) => None,
        });
        draw_legend(&legend, key, &legend_area).map_err(e)?;
        for (i, note) in self.note_lines().iter().enumerate() {
            let y = h as i32 - notes_h as i32 + 4 + i as i32 * NOTE_H as i32;
            root.draw(&Text::new(
                note.clone(),
                (10, y),
                TextStyle::from((FONT, 16).into_font())
                    .color(&BLACK.mix(0.75))
                    .pos(Pos::new(HPos::Left, VPos::Top)),
            ))
            .map_err(e)?;
        }
        Ok(())
    }
}

/// Break text at spaces into lines of at most `width` characters (a longer word
/// keeps its own line).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A colour of the palette (series colours), by index.
pub fn palette(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A panel's rectangle below the title: x, y, width, height in pixels.
type Cell = (u32, u32, u32, u32);

/// The x and y ranges of a panel, in plot units.
type Ranges = ((f64, f64), (f64, f64));

fn xs_of(series: &[Series]) -> impl Iterator<Item = f64> + '_ {
    series.iter().flat_map(|s| {
        s.points
            .iter()
            .map(|p| p.0)
            .chain(s.band.iter().map(|b| b.0))
    })
}

fn ys_of(series: &[Series]) -> impl Iterator<Item = f64> + '_ {
    series.iter().flat_map(|s| {
        s.points
            .iter()
            .map(|p| p.1)
            .chain(s.band.iter().flat_map(|b| [b.1, b.2]))
    })
}

/// The plotted range of one axis over the panel's series (in plot units).
fn fit(axis: &Axis, values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    if let Some((lo, hi)) = axis.range {
        if let (Some(a), Some(b)) = (axis.to_plot(lo), axis.to_plot(hi)) {
            return Some((a, b));
        }
    }
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter_map(|v| axis.to_plot(v)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return None;
    }
    let span = hi - lo;
    if span < 1e-12 {
        let pad = if axis.scale == Scale::Log {
            0.5
        } else {
            (lo.abs() * 0.1).max(0.5)
        };
        return Some((lo - pad, hi + pad));
    }
    Some((lo - span * 0.05, hi + span * 0.05))
}

/// A linear f64 axis whose tick marks are exactly the given positions (plotters'
/// own key points for f64 ranges pick fractional steps of log values).
struct Ticked {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Ticked {
    fn new(lo: f64, hi: f64, ticks: Vec<f64>) -> Ticked {
        Ticked { lo, hi, ticks }
    }
}

impl Ranged for Ticked {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        if self.hi == self.lo {
            return (limit.0 + limit.1) / 2;
        }
        let r = (v - self.lo) / (self.hi - self.lo);
        let len = f64::from(limit.1 - limit.0);
        // Clamp far-off values so that the pixel arithmetic cannot overflow.
        limit.0 + (len * r.clamp(-10.0, 10.0)).round() as i32
    }

    fn key_points<H: plotters::coord::ranged1d::KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

/// Tick positions (in plot units) for a range: whole decades on log axes spanning
/// two or more, 1-2-5 (or 1..9) multiples on shorter log axes, and a 1-2-5 step on
/// linear axes, so that every label is a round number.
pub fn ticks(scale: Scale, lo: f64, hi: f64) -> Vec<f64> {
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    match scale {
        Scale::Log if hi - lo >= 2.0 => {
            let decades = (hi.floor() - lo.ceil()) as i64 + 1;
            let step = [1, 2, 5, 10, 20, 50, 100, 200, 500]
                .into_iter()
                .find(|s| decades / s <= 8)
                .unwrap_or(1000);
            // Multiples of the step, so that 10^0 = 1 is labelled when in range.
            let first = (lo / step as f64).ceil() as i64 * step;
            (0..)
                .map(|k| first + k * step)
                .take_while(|e| (*e as f64) <= hi)
                .map(|e| e as f64)
                .collect()
        }
        Scale::Log => {
            let within = |ms: &[f64]| -> Vec<f64> {
                let mut out = Vec::new();
                for e in (lo.floor() as i64 - 1)..=(hi.ceil() as i64) {
                    for m in ms {
                        let p = (m * 10f64.powi(e as i32)).log10();
                        if p >= lo - 1e-12 && p <= hi + 1e-12 {
                            out.push(p);
                        }
                    }
                }
                out
            };
            let coarse = within(&[1.0, 2.0, 5.0]);
            if coarse.len() >= 3 {
                coarse
            } else {
                let fine = within(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
                if fine.len() >= 2 {
                    fine
                } else {
                    ticks(Scale::Linear, lo, hi)
                }
            }
        }
        Scale::Linear => {
            let span = hi - lo;
            if span.is_nan() || span <= 0.0 || span.is_infinite() {
                return vec![lo];
            }
            let raw = span / 6.0;
            let mag = 10f64.powf(raw.log10().floor());
            let step = [1.0, 2.0, 5.0, 10.0]
                .iter()
                .map(|m| m * mag)
                .find(|s| *s >= raw)
                .unwrap_or(10.0 * mag);
            let first = (lo / step).ceil() as i64;
            (0..)
                .map(|k| (first + k) as f64 * step)
                .take_while(|v| *v <= hi + step * 1e-9)
                .take(50)
                .collect()
        }
    }
}

/// Every other tick (then every fourth, ...) until at most `max` remain.
fn thin(mut ticks: Vec<f64>, max: usize) -> Vec<f64> {
    while ticks.len() > max.max(1) {
        ticks = ticks.into_iter().step_by(2).collect();
    }
    ticks
}

fn draw_lines<DB: DrawingBackend>(
    panel: &Panel,
    series: &[Series],
    legend: &Legend,
    shared: Option<Ranges>,
    area: &DrawingArea<DB, Shift>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let own = (fit(&panel.x, xs_of(series)), fit(&panel.y, ys_of(series)));
    let ranges = match (shared, own) {
        (Some(r), (Some(_), Some(_))) => (Some(r.0), Some(r.1)),
        (_, own) => own,
    };
    let (Some((x0, x1)), Some((y0, y1))) = ranges else {
        let (w, h) = area.dim_in_pixel();
        area.draw(&Text::new(
            format!("{}: no finite data to plot", panel.title),
            (w as i32 / 2, h as i32 / 2),
            TextStyle::from((FONT, 17).into_font()).pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
        return Ok(());
    };
    // At most one x label per 50 px and one y label per 28 px of the panel.
    let (pw, ph) = area.dim_in_pixel();
    let xt = thin(
        ticks(panel.x.scale, x0, x1),
        (pw.saturating_sub(90) / 50).max(2) as usize,
    );
    let yt = thin(
        ticks(panel.y.scale, y0, y1),
        (ph.saturating_sub(80) / 28).max(2) as usize,
    );
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FONT, 19))
        .margin(10)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(Ticked::new(x0, x1, xt), Ticked::new(y0, y1, yt))?;
    let xf = |v: &f64| panel.x.label_of(*v);
    let yf = |v: &f64| panel.y.label_of(*v);
    chart
        .configure_mesh()
        .x_desc(&panel.x.label)
        .y_desc(&panel.y.label)
        .x_label_formatter(&xf)
        .y_label_formatter(&yf)
        .label_style((FONT, 16))
        .axis_desc_style((FONT, 16))
        .bold_line_style(BLACK.mix(0.12))
        .draw()?;
    let tx = |p: &(f64, f64)| Some((panel.x.to_plot(p.0)?, panel.y.to_plot(p.1)?));
    let mut labels: Vec<((i32, i32), String, RGBColor)> = Vec::new();
    for (k, s) in series.iter().enumerate() {
        let color = s.color.unwrap_or_else(|| legend.color(&s.name));
        // Earlier lines are wider, so that a line hidden under a later one with the
        // same values still shows as a coloured edge.
        let width = 5u32.saturating_sub(k as u32).max(2);
        let band: Vec<(f64, f64, f64)> = s
            .band
            .iter()
            .filter_map(|b| {
                Some((
                    panel.x.to_plot(b.0)?,
                    panel.y.to_plot(b.1)?,
                    panel.y.to_plot(b.2)?,
                ))
            })
            .collect();
        if band.len() >= 2 {
            let mut poly: Vec<(f64, f64)> = band.iter().map(|b| (b.0, b.1)).collect();
            poly.extend(band.iter().rev().map(|b| (b.0, b.2)));
            chart.draw_series(std::iter::once(Polygon::new(
                poly,
                color.mix(0.18).filled(),
            )))?;
        }
        let pts: Vec<(f64, f64)> = s.points.iter().filter_map(tx).collect();
        match s.style {
            Style::Line => {
                chart.draw_series(LineSeries::new(
                    pts.iter().copied(),
                    color.stroke_width(width),
                ))?;
                if pts.len() <= MARKERS_UP_TO {
                    chart.draw_series(
                        pts.iter()
                            .map(|&p| Circle::new(p, width.max(3) - 1, color.filled())),
                    )?;
                }
            }
            Style::Dashed => {
                chart.draw_series(DashedLineSeries::new(
                    pts.iter().copied(),
                    8,
                    5,
                    color.stroke_width(2),
                ))?;
            }
            Style::Markers => {
                chart.draw_series(pts.iter().map(|&p| Circle::new(p, 5, color.filled())))?;
            }
            Style::Labeled => {
                chart.draw_series(pts.iter().map(|&p| Circle::new(p, 6, color.filled())))?;
                let base = area.get_base_pixel();
                for p in &pts {
                    let (x, y) = chart.backend_coord(p);
                    labels.push(((x - base.0, y - base.1), s.name.clone(), color));
                }
            }
            Style::Plain => {
                chart.draw_series(LineSeries::new(
                    pts.iter().copied(),
                    color.stroke_width(width),
                ))?;
            }
        }
    }
    place_labels(&labels, area)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_short() {
        assert_eq!(fmt_tick(1000.0), "1000");
        assert_eq!(fmt_tick(3.16227766), "3.16");
        assert_eq!(fmt_tick(0.1), "0.1");
        assert_eq!(fmt_tick(1e6), "1e6");
        assert_eq!(fmt_tick(2.5e-7), "2.5e-7");
        assert_eq!(fmt_tick(9e9), "9e9");
        assert_eq!(fmt_tick(0.0), "0");
    }

    #[test]
    fn ticks_are_round_numbers() {
        let labels = |scale, lo, hi| -> Vec<String> {
            ticks(scale, lo, hi)
                .iter()
                .map(|p| match scale {
                    Scale::Log => fmt_tick(10f64.powf(*p)),
                    Scale::Linear => fmt_tick(*p),
                })
                .collect()
        };
        assert_eq!(labels(Scale::Log, -0.3, 3.2), ["1", "10", "100", "1000"]);
        assert_eq!(
            labels(Scale::Log, -0.1, 0.65),
            ["0.8", "0.9", "1", "2", "3", "4"]
        );
        assert_eq!(
            labels(Scale::Log, -1.2, 0.5),
            ["0.1", "0.2", "0.5", "1", "2"]
        );
        assert_eq!(
            labels(Scale::Linear, -0.05, 1.05),
            ["0", "0.2", "0.4", "0.6", "0.8", "1"]
        );
        assert_eq!(
            ticks(Scale::Log, -30.0, 2.0),
            [-30.0, -25.0, -20.0, -15.0, -10.0, -5.0, 0.0]
        );
        assert_eq!(
            ticks(Scale::Log, -140.0, 0.5),
            [-140.0, -120.0, -100.0, -80.0, -60.0, -40.0, -20.0, 0.0]
        );
    }

    #[test]
    fn heat_colours_mark_any_nonzero() {
        assert_eq!(heat_color(0.0), RGBColor(255, 255, 255));
        assert_ne!(heat_color(1e-6), RGBColor(255, 255, 255));
        assert_eq!(heat_color(1.0), RGBColor(103, 0, 13));
        assert_eq!(heat_color(f64::NAN), RGBColor(200, 200, 200));
    }
}
