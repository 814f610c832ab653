//! Heat-map panels: the colour scales and the drawing of one panel.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{fmt_tick, Heat, HeatScale, Panel, FONT};

/// The colour of a fraction in [0, 1]: white at 0, then from a light to a dark red,
/// so that any non-zero fraction is visibly tinted; grey where nothing was measured.
pub fn heat_color(v: f64) -> RGBColor {
    if v.is_nan() {
        return RGBColor(200, 200, 200);
    }
    if v <= 0.0 {
        return RGBColor(255, 255, 255);
    }
    let t = 0.2 + 0.8 * v.min(1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    RGBColor(lerp(254.0, 103.0), lerp(224.0, 0.0), lerp(210.0, 13.0))
}

/// The colour of a ratio on a log scale: white at 1, blue above (up to dark blue at
/// 8× and beyond), red below (dark red at 1/8 and below); grey where not measured.
pub fn ratio_color(v: f64) -> RGBColor {
    if !(v.is_finite() && v > 0.0) {
        return RGBColor(200, 200, 200);
    }
    let t = (v.log2() / 3.0).clamp(-1.0, 1.0);
    let (end, t) = if t >= 0.0 {
        ((8.0, 48.0, 107.0), t)
    } else {
        ((103.0, 0.0, 13.0), -t)
    };
    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    RGBColor(lerp(255.0, end.0), lerp(255.0, end.1), lerp(255.0, end.2))
}

/// The colour of one cell under the heat map's scale.
pub fn cell_color(scale: HeatScale, v: f64) -> RGBColor {
    match scale {
        HeatScale::Fraction => heat_color(v),
        HeatScale::Ratio => ratio_color(v),
    }
}

/// A cell's printed value: at most three significant digits, "–" where not measured.
pub fn cell_text(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let a = v.abs();
    if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 0.01 {
        format!("{v:.2}")
    } else {
        fmt_tick(v)
    }
}

/// Whether a cell is dark enough to need white text.
fn dark(c: RGBColor) -> bool {
    0.299 * f64::from(c.0) + 0.587 * f64::from(c.1) + 0.114 * f64::from(c.2) < 140.0
}

/// The height of one heat row in pixels (taller when values are printed).
pub fn row_height(heat: &Heat) -> u32 {
    if heat.cell_values {
        22
    } else {
        17
    }
}

/// Draw one heat-map panel.
pub fn draw_heat<DB: DrawingBackend>(
    panel: &Panel,
    heat: &Heat,
    area: &DrawingArea<DB, Shift>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (w, h) = area.dim_in_pixel();
    let label_w = heat
        .rows
        .iter()
        .map(|r| r.chars().count())
        .max()
        .unwrap_or(0) as i32
        * 8
        + 14;
    let (left, top, right, bottom) = (label_w, 32, w as i32 - 12, h as i32 - 62);
    let small = TextStyle::from((FONT, 15).into_font());
    area.draw(&Text::new(
        panel.title.clone(),
        ((left + right) / 2, 6),
        TextStyle::from((FONT, 18).into_font()).pos(Pos::new(HPos::Center, VPos::Top)),
    ))?;
    let nc = heat.columns.len().max(1) as i32;
    let nr = heat.rows.len().max(1) as i32;
    let cw = (right - left) as f64 / nc as f64;
    let rh = (bottom - top) as f64 / nr as f64;
    for (r, row) in heat.values.iter().enumerate() {
        for (c, &v) in row.iter().enumerate() {
            let x = left + (c as f64 * cw) as i32;
            let y = top + (r as f64 * rh) as i32;
            let x2 = left + ((c + 1) as f64 * cw) as i32;
            let y2 = top + ((r + 1) as f64 * rh) as i32;
            let color = cell_color(heat.scale, v);
            area.draw(&Rectangle::new([(x, y), (x2, y2)], color.filled()))?;
            if heat.cell_values {
                let ink = if dark(color) { WHITE } else { BLACK };
                area.draw(&Text::new(
                    cell_text(v),
                    ((x + x2) / 2, (y + y2) / 2),
                    TextStyle::from((FONT, 14).into_font())
                        .color(&ink)
                        .pos(Pos::new(HPos::Center, VPos::Center)),
                ))?;
            }
        }
    }
    // Thin grid lines keep rows apart where neighbours share a colour.
    for r in 0..=nr {
        let y = top + (r as f64 * rh) as i32;
        area.draw(&PathElement::new(
            vec![(left, y), (right, y)],
            BLACK.mix(0.15),
        ))?;
    }
    area.draw(&Rectangle::new(
        [(left, top), (right, bottom)],
        BLACK.stroke_width(1),
    ))?;
    for (r, label) in heat.rows.iter().enumerate() {
        let y = top + ((r as f64 + 0.5) * rh) as i32;
        area.draw(&Text::new(
            label.clone(),
            (left - 5, y),
            small.pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
    }
    // Label every column when they fit, otherwise every other one.
    let longest = heat
        .columns
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(0) as f64;
    let step = if cw < (longest * 8.0 + 6.0).max(34.0) {
        2
    } else {
        1
    };
    for (c, label) in heat.columns.iter().enumerate() {
        if c % step != 0 {
            continue;
        }
        let x = left + ((c as f64 + 0.5) * cw) as i32;
        area.draw(&PathElement::new(vec![(x, bottom), (x, bottom + 4)], BLACK))?;
        area.draw(&Text::new(
            label.clone(),
            (x, bottom + 6),
            small.pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
    }
    area.draw(&Text::new(
        panel.x.label.clone(),
        ((left + right) / 2, bottom + 30),
        TextStyle::from((FONT, 16).into_font()).pos(Pos::new(HPos::Center, VPos::Top)),
    ))?;
    Ok(())
}

/// The colour key of a heat map: swatches with their values, then "not measured".
pub fn draw_key<DB: DrawingBackend>(
    scale: HeatScale,
    label: &str,
    mut y: i32,
    area: &DrawingArea<DB, Shift>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let style = TextStyle::from((FONT, 16).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    area.draw(&Text::new(label.to_string(), (8, y), style.clone()))?;
    y += 18;
    let keys: Vec<(f64, String)> = match scale {
        HeatScale::Fraction => [0.0, 0.001, 0.25, 0.5, 0.75, 1.0]
            .iter()
            .map(|v| {
                let text = if *v == 0.001 {
                    "> 0".to_string()
                } else {
                    fmt_tick(*v)
                };
                (*v, text)
            })
            .collect(),
        HeatScale::Ratio => [8.0, 4.0, 2.0, 1.0, 0.5, 0.25, 0.125]
            .iter()
            .map(|v| (*v, format!("{}×", fmt_tick(*v))))
            .collect(),
    };
    for (i, (v, text)) in keys.iter().enumerate() {
        let yy = y + i as i32 * 22;
        area.draw(&Rectangle::new(
            [(8, yy), (34, yy + 18)],
            cell_color(scale, *v).filled(),
        ))?;
        area.draw(&Rectangle::new([(8, yy), (34, yy + 18)], BLACK.mix(0.4)))?;
        area.draw(&Text::new(text.clone(), (42, yy + 9), style.clone()))?;
    }
    let yy = y + keys.len() as i32 * 22;
    area.draw(&Rectangle::new(
        [(8, yy), (34, yy + 18)],
        cell_color(scale, f64::NAN).filled(),
    ))?;
    area.draw(&Text::new("not measured", (42, yy + 9), style))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_colours_are_white_at_one_and_diverge() {
        assert_eq!(ratio_color(1.0), RGBColor(255, 255, 255));
        assert_eq!(ratio_color(8.0), RGBColor(8, 48, 107));
        assert_eq!(ratio_color(100.0), RGBColor(8, 48, 107));
        assert_eq!(ratio_color(0.125), RGBColor(103, 0, 13));
        assert_eq!(ratio_color(f64::NAN), RGBColor(200, 200, 200));
        assert_eq!(ratio_color(0.0), RGBColor(200, 200, 200));
    }

    #[test]
    fn cells_print_two_significant_digits() {
        assert_eq!(cell_text(0.934), "0.93");
        assert_eq!(cell_text(12.34), "12.3");
        assert_eq!(cell_text(123.4), "123");
        assert_eq!(cell_text(f64::NAN), "–");
        assert_eq!(cell_text(0.0012), "0.0012");
    }
}
