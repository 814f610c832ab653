//! The legend beside a figure's panels (with a heat map's colour key) and the
//! names written beside labelled markers.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{
    heat, Content, Figure, Heat, HeatScale, Style, FONT, LEGEND_ROW_H, PALETTE, REFERENCE,
};

/// The legend: unique (name, colour, style) over every line panel, in order met.
pub(super) struct Legend {
    pub(super) entries: Vec<(String, RGBColor, Style)>,
}

impl Legend {
    pub(super) fn of(fig: &Figure) -> Legend {
        let mut entries: Vec<(String, RGBColor, Style)> = Vec::new();
        let mut next = 0;
        for p in &fig.panels {
            if let Content::Lines(series) = &p.content {
                for s in series {
                    if s.style == Style::Labeled || entries.iter().any(|(n, _, _)| *n == s.name) {
                        continue;
                    }
                    let c = s.color.unwrap_or_else(|| {
                        let c = PALETTE[next % PALETTE.len()];
                        next += 1;
                        c
                    });
                    entries.push((s.name.clone(), c, s.style));
                }
            }
        }
        Legend { entries }
    }

    pub(super) fn color(&self, name: &str) -> RGBColor {
        self.entries
            .iter()
            .find(|(n, _, _)| n == name)
            .map_or(REFERENCE, |e| e.1)
    }

    pub(super) fn width(&self) -> u32 {
        let longest = self
            .entries
            .iter()
            .map(|(n, _, _)| n.chars().count())
            .max()
            .unwrap_or(0) as u32;
        if self.entries.is_empty() {
            0
        } else {
            (longest * 9 + 60).clamp(120, 330)
        }
    }
}

/// Write the names of labelled markers beside them: each to the right of its marker,
/// moved up or down by a line where it would overlap a label already placed.
pub(super) fn place_labels<DB: DrawingBackend>(
    labels: &[((i32, i32), String, RGBColor)],
    area: &DrawingArea<DB, Shift>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    const LINE: i32 = 17;
    let mut placed: Vec<(i32, i32, i32, i32)> = Vec::new();
    for ((x, y), name, color) in labels {
        let w = name.chars().count() as i32 * 9;
        let x0 = x + 9;
        let mut dy = 0;
        for k in 0..12 {
            // 0, +1, -1, +2, -2, ... lines.
            let step = (k + 1) / 2;
            dy = if k % 2 == 1 {
                step * LINE
            } else {
                -step * LINE
            };
            let (top, bottom) = (y + dy - LINE / 2, y + dy + LINE / 2);
            let free = placed
                .iter()
                .all(|b| x0 + w <= b.0 || x0 >= b.2 || bottom <= b.1 || top >= b.3);
            if free {
                break;
            }
        }
        placed.push((x0, y + dy - LINE / 2, x0 + w, y + dy + LINE / 2));
        if dy != 0 {
            area.draw(&PathElement::new(
                vec![(x + 5, *y), (x0, y + dy)],
                color.mix(0.5),
            ))?;
        }
        area.draw(&Text::new(
            name.clone(),
            (x0 + 2, y + dy),
            TextStyle::from((FONT, 15).into_font())
                .color(color)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    Ok(())
}

pub(super) fn draw_legend<DB: DrawingBackend>(
    legend: &Legend,
    heat: Option<&Heat>,
    area: &DrawingArea<DB, Shift>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let style = TextStyle::from((FONT, 17).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    let mut y = 40;
    for (name, color, kind) in &legend.entries {
        match kind {
            Style::Line => {
                area.draw(&PathElement::new(
                    vec![(8, y), (36, y)],
                    color.stroke_width(3),
                ))?;
                area.draw(&Circle::new((22, y), 4, color.filled()))?;
            }
            Style::Dashed => {
                area.draw(&PathElement::new(
                    vec![(8, y), (18, y)],
                    color.stroke_width(3),
                ))?;
                area.draw(&PathElement::new(
                    vec![(24, y), (36, y)],
                    color.stroke_width(3),
                ))?;
            }
            Style::Markers | Style::Labeled => {
                area.draw(&Circle::new((22, y), 6, color.filled()))?;
            }
            Style::Plain => {
                area.draw(&PathElement::new(
                    vec![(8, y), (36, y)],
                    color.stroke_width(3),
                ))?;
            }
        }
        area.draw(&Text::new(name.clone(), (42, y), style.clone()))?;
        y += LEGEND_ROW_H as i32;
    }
    if let Some(h) = heat {
        let label = match h.scale {
            HeatScale::Fraction => "fraction of outputs",
            HeatScale::Ratio => h.value_label.as_str(),
        };
        heat::draw_key(h.scale, label, y, area)?;
    }
    Ok(())
}
