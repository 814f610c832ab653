//! Compacting plotters' SVG output, so that the self-contained `index.html` that
//! inlines every figure stays small.
//!
//! plotters writes one element per line with every attribute spelled out: a marker
//! is a `<circle>` of ~90 bytes, a heat cell a `<rect>` of ~85. [`compact`] keeps
//! the drawing and its painting order and rewrites it:
//! - a run of filled circles of one colour and radius becomes one `<path>` of
//!   zero-length segments with round caps (a disc of the stroke's width each);
//! - a run of filled, unstroked rectangles of one colour becomes one `<path>`, and
//!   so does a run of lines and polylines of one stroke;
//! - paths use relative coordinates after their first point;
//! - a run of texts of one style becomes a `<g>` carrying the style;
//! - `opacity="1"` and black text fill are dropped, font sizes keep one decimal, the
//!   font family is set once on the root, and each `<text>` is one line.
//!
//! Lines it does not recognise pass through unchanged.

use std::fmt::Write as _;

/// One parsed element line: its tag and attributes in order.
struct Element<'a> {
    tag: &'a str,
    attrs: Vec<(&'a str, &'a str)>,
}

impl<'a> Element<'a> {
    /// Parse `<tag a="x" b="y"/>` or `<tag a="x">`; None for anything else.
    fn parse(line: &'a str) -> Option<Element<'a>> {
        let body = line.strip_prefix('<')?;
        let body = body
            .strip_suffix("/>")
            .or_else(|| body.strip_suffix('>'))?
            .trim_end();
        let (tag, mut rest) = body.split_once(' ').unwrap_or((body, ""));
        let mut attrs = Vec::new();
        loop {
            rest = rest.trim_start();
            if rest.is_empty() {
                break;
            }
            let (name, after) = rest.split_once("=\"")?;
            let (value, after) = after.split_once('"')?;
            attrs.push((name.trim(), value));
            rest = after;
        }
        Some(Element { tag, attrs })
    }

    fn get(&self, name: &str) -> Option<&'a str> {
        self.attrs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    /// The attributes, minified: no `opacity="1"`, no font family (set on the
    /// root), font sizes to one decimal.
    fn write_attrs(&self, out: &mut String, skip: &[&str]) {
        for (n, v) in &self.attrs {
            if skip.contains(n)
                || (*n == "opacity" && *v == "1")
                || (self.tag == "text" && *n == "fill" && *v == "#000000")
                || (*n == "font-family" && *v == FAMILY)
            {
                continue;
            }
            if *n == "font-size" {
                if let Ok(size) = v.parse::<f64>() {
                    let _ = write!(out, " font-size=\"{}\"", (size * 10.0).round() / 10.0);
                    continue;
                }
            }
            let _ = write!(out, " {n}=\"{v}\"");
        }
    }
}

/// The font family plotters writes on every text (see [`crate::plot::FONT`]).
const FAMILY: &str = crate::plot::FONT;

/// A run of elements being merged: shapes into one path, texts into one group.
struct Run {
    /// What the elements share (tag, colour, opacity, radius; a text's attributes
    /// other than its position).
    key: String,
    /// The opening of the path or group element.
    head: String,
    /// The path data, or the group's texts, so far.
    body: String,
    /// Texts in the group (0 for a path).
    texts: usize,
    /// The current point of the path, for relative moves.
    last: Option<(f64, f64)>,
}

impl Run {
    fn new(key: String, head: String) -> Run {
        Run {
            key,
            head,
            body: String::new(),
            texts: 0,
            last: None,
        }
    }

    fn write(self, out: &mut String) {
        if self.texts == 0 {
            let _ = writeln!(out, "{} d=\"{}\"/>", self.head, self.body);
        } else if self.texts == 1 {
            // One text: its attributes on itself, no group.
            let _ = writeln!(
                out,
                "<text{}{}",
                self.head.trim_start_matches("<g").trim_end_matches('>'),
                self.body.trim_start_matches("<text").trim_end()
            );
        } else {
            let _ = write!(out, "{}\n{}</g>\n", self.head, self.body);
        }
    }
}

/// Compact plotters' SVG text (see the module docs); the picture is unchanged.
pub fn compact(svg: &str) -> String {
    let mut out = String::with_capacity(svg.len() / 2);
    let mut run: Option<Run> = None;
    let flush = |run: &mut Option<Run>, out: &mut String| {
        if let Some(r) = run.take() {
            r.write(out);
        }
    };
    let mut lines = svg.lines();
    while let Some(line) = lines.next() {
        let el = Element::parse(line);
        let mergeable = el.as_ref().and_then(|e| merge_key(e).map(|k| (e, k)));
        if let Some((e, (key, head))) = mergeable {
            if run.as_ref().is_none_or(|r| r.key != key) {
                flush(&mut run, &mut out);
                run = Some(Run::new(key, head));
            }
            if let Some(r) = run.as_mut() {
                push_shape(e, &mut r.body, &mut r.last);
            }
            continue;
        }
        match el {
            Some(e) if e.tag == "text" && !line.ends_with("/>") => {
                // plotters puts the content on its own lines, then `</text>`.
                let mut content = Vec::new();
                for l in lines.by_ref() {
                    if l == "</text>" {
                        break;
                    }
                    content.push(l);
                }
                let mut shared = String::new();
                // Presentation attributes go on the group; x, y and dy (not
                // inherited) stay on each text.
                e.write_attrs(&mut shared, &["x", "y", "dy"]);
                let key = format!("t{shared}");
                if run.as_ref().is_none_or(|r| r.key != key) {
                    flush(&mut run, &mut out);
                    run = Some(Run::new(key, format!("<g{shared}>")));
                }
                if let Some(r) = run.as_mut() {
                    let _ = writeln!(
                        r.body,
                        "<text x=\"{}\" y=\"{}\"{}>{}</text>",
                        e.get("x").unwrap_or("0"),
                        e.get("y").unwrap_or("0"),
                        e.get("dy")
                            .map_or(String::new(), |d| format!(" dy=\"{d}\"")),
                        content.join("\n")
                    );
                    r.texts += 1;
                }
                continue;
            }
            _ => flush(&mut run, &mut out),
        }
        match el {
            Some(e) if e.tag == "svg" => {
                out.push_str("<svg");
                e.write_attrs(&mut out, &[]);
                let _ = writeln!(out, " font-family=\"{FAMILY}\">");
            }
            Some(e) if line.ends_with("/>") => {
                let _ = write!(out, "<{}", e.tag);
                e.write_attrs(&mut out, &[]);
                out.push_str("/>\n");
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    flush(&mut run, &mut out);
    out
}

/// For a filled, unstroked circle or rectangle, or an unfilled line or polyline: the
/// key of the run it may join and the opening of that run's path element.
fn merge_key(e: &Element) -> Option<(String, String)> {
    if matches!(e.tag, "line" | "polyline") {
        if e.get("fill").is_some_and(|f| f != "none") {
            return None;
        }
        let mut head = String::from("<path fill=\"none\"");
        let known = ["points", "x1", "y1", "x2", "y2", "fill"];
        for (n, v) in &e.attrs {
            let dropped = known.contains(n) || (*n == "opacity" && *v == "1");
            if !dropped {
                let _ = write!(head, " {n}=\"{v}\"");
            }
        }
        return Some((format!("l{head}"), head));
    }
    let fill = e.get("fill").filter(|f| *f != "none")?;
    if e.get("stroke").is_some_and(|s| s != "none") {
        return None;
    }
    let opacity = e.get("opacity").filter(|o| *o != "1");
    let op = opacity.map_or(String::new(), |o| format!(" opacity=\"{o}\""));
    match e.tag {
        "circle" => {
            let r: f64 = e.get("r")?.parse().ok()?;
            e.get("cx")?.parse::<f64>().ok()?;
            e.get("cy")?.parse::<f64>().ok()?;
            Some((
                format!("c{fill}{op}{r}"),
                format!(
                    "<path fill=\"none\" stroke=\"{fill}\"{op} stroke-width=\"{}\" \
                     stroke-linecap=\"round\"",
                    2.0 * r
                ),
            ))
        }
        "rect" => {
            for a in ["x", "y", "width", "height"] {
                e.get(a)?.parse::<f64>().ok()?;
            }
            Some((format!("r{fill}{op}"), format!("<path fill=\"{fill}\"{op}")))
        }
        _ => None,
    }
}

/// Append a number to path data, with a space only where the two would run together.
fn num(d: &mut String, v: f64) {
    let text = format!("{v}");
    if !text.starts_with('-') && d.ends_with(|c: char| c.is_ascii_digit() || c == '.') {
        d.push(' ');
    }
    d.push_str(&text);
}

/// Move to (x, y): relative to the path's current point when there is one.
fn move_to(d: &mut String, last: &mut Option<(f64, f64)>, (x, y): (f64, f64)) {
    match *last {
        Some((lx, ly)) => {
            d.push('m');
            num(d, x - lx);
            num(d, y - ly);
        }
        None => {
            d.push('M');
            num(d, x);
            num(d, y);
        }
    }
    *last = Some((x, y));
}

/// Append the element's shape to a path's data, in relative coordinates after the
/// first point; `last` is the path's current point.
fn push_shape(e: &Element, d: &mut String, last: &mut Option<(f64, f64)>) {
    let g = |a: &str| e.get(a).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let points: Vec<(f64, f64)> = match e.tag {
        "polyline" => e
            .get("points")
            .unwrap_or("")
            .split_whitespace()
            .filter_map(|p| {
                let (x, y) = p.split_once(',')?;
                Some((x.parse().ok()?, y.parse().ok()?))
            })
            .collect(),
        "line" => vec![(g("x1"), g("y1")), (g("x2"), g("y2"))],
        "circle" => vec![(g("cx"), g("cy"))],
        _ => vec![(g("x"), g("y"))],
    };
    let Some(&first) = points.first() else {
        return;
    };
    move_to(d, last, first);
    match e.tag {
        "circle" => d.push_str("h0"),
        "polyline" | "line" => {
            let mut prev = first;
            for (i, p) in points.iter().enumerate().skip(1) {
                if i == 1 {
                    d.push('l');
                }
                num(d, p.0 - prev.0);
                num(d, p.1 - prev.1);
                prev = *p;
            }
            *last = Some(prev);
        }
        _ => {
            let (w, h) = (g("width"), g("height"));
            d.push('h');
            num(d, w);
            d.push('v');
            num(d, h);
            d.push('h');
            num(d, -w);
            d.push('z');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn circles_and_rects_merge_and_order_is_kept() {
        let svg = "<svg width=\"10\" height=\"10\" viewBox=\"0 0 10 10\" xmlns=\"http://www.w3.org/2000/svg\">\n\
<rect x=\"0\" y=\"0\" width=\"10\" height=\"10\" opacity=\"1\" fill=\"#FFFFFF\" stroke=\"none\"/>\n\
<circle cx=\"1\" cy=\"2\" r=\"3\" opacity=\"1\" fill=\"#1F77B4\" stroke=\"none\" stroke-width=\"1\"/>\n\
<circle cx=\"4\" cy=\"5\" r=\"3\" opacity=\"1\" fill=\"#1F77B4\" stroke=\"none\" stroke-width=\"1\"/>\n\
<circle cx=\"4\" cy=\"5\" r=\"3\" opacity=\"1\" fill=\"#D62728\" stroke=\"none\" stroke-width=\"1\"/>\n\
<text x=\"1\" y=\"2\" font-family=\"sans-serif\" font-size=\"9.67741935483871\" opacity=\"1\" fill=\"#000000\">\n\
a &lt; b\n\
</text>\n\
<circle cx=\"7\" cy=\"8\" r=\"3\" opacity=\"1\" fill=\"none\" stroke=\"#000000\" stroke-width=\"1\"/>\n\
<polyline fill=\"none\" opacity=\"1\" stroke=\"#000000\" stroke-width=\"1\" points=\"1,2 3,4 \"/>\n\
<line opacity=\"0.12\" stroke=\"#000000\" stroke-width=\"1\" x1=\"1\" y1=\"2\" x2=\"3\" y2=\"4\"/>\n\
<polyline fill=\"none\" opacity=\"1\" stroke=\"#000000\" stroke-width=\"1\" points=\"5,6 7,8 \"/>\n\
<polyline fill=\"none\" opacity=\"1\" stroke=\"#000000\" stroke-width=\"1\" points=\"9,9 8,8 \"/>\n\
</svg>\n";
        let c = compact(svg);
        assert_eq!(
            c,
            "<svg width=\"10\" height=\"10\" viewBox=\"0 0 10 10\" xmlns=\"http://www.w3.org/2000/svg\" font-family=\"sans-serif\">\n\
<path fill=\"#FFFFFF\" d=\"M0 0h10v10h-10z\"/>\n\
<path fill=\"none\" stroke=\"#1F77B4\" stroke-width=\"6\" stroke-linecap=\"round\" d=\"M1 2h0m3 3h0\"/>\n\
<path fill=\"none\" stroke=\"#D62728\" stroke-width=\"6\" stroke-linecap=\"round\" d=\"M4 5h0\"/>\n\
<text font-size=\"9.7\" x=\"1\" y=\"2\">a &lt; b</text>\n\
<circle cx=\"7\" cy=\"8\" r=\"3\" fill=\"none\" stroke=\"#000000\" stroke-width=\"1\"/>\n\
<path fill=\"none\" stroke=\"#000000\" stroke-width=\"1\" d=\"M1 2l2 2\"/>\n\
<path fill=\"none\" opacity=\"0.12\" stroke=\"#000000\" stroke-width=\"1\" d=\"M1 2l2 2\"/>\n\
<path fill=\"none\" stroke=\"#000000\" stroke-width=\"1\" d=\"M5 6l2 2m2 1l-1-1\"/>\n\
</svg>\n"
        );
    }

    #[test]
    fn texts_sharing_their_style_form_one_group() {
        let t = |x: u32, s: &str| {
            format!(
                "<text x=\"{x}\" y=\"5\" dy=\"0.5ex\" text-anchor=\"end\" font-family=\"sans-serif\" \
                 font-size=\"12\" opacity=\"1\" fill=\"#000000\">\n{s}\n</text>\n"
            )
        };
        let svg = format!("{}{}<rect x=\"1\" y=\"1\" width=\"2\" height=\"2\" fill=\"none\" stroke=\"#000000\"/>\n{}", t(1, "1e2"), t(9, "1e3"), t(4, "x"));
        assert_eq!(
            compact(&svg),
            "<g text-anchor=\"end\" font-size=\"12\">\n\
<text x=\"1\" y=\"5\" dy=\"0.5ex\">1e2</text>\n<text x=\"9\" y=\"5\" dy=\"0.5ex\">1e3</text>\n</g>\n\
<rect x=\"1\" y=\"1\" width=\"2\" height=\"2\" fill=\"none\" stroke=\"#000000\"/>\n\
<text text-anchor=\"end\" font-size=\"12\" x=\"4\" y=\"5\" dy=\"0.5ex\">x</text>\n"
        );
    }
}
