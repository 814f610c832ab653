//! The report as a small document model (sections of paragraphs, tables and
//! figures), rendered twice: Markdown for GitHub (`index.md`, PNG images) and a
//! self-contained HTML page (`index.html`, SVGs inlined, CSS inlined).

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A piece of running text.
#[derive(Clone, Debug, PartialEq)]
pub enum Span {
    /// Plain text.
    Text(String),
    /// An identifier or a number set in code font.
    Code(String),
    /// Bold text.
    Strong(String),
    /// A relative link.
    Link {
        /// What the reader sees.
        label: String,
        /// Where it goes (relative to the report folder, or `#anchor`).
        href: String,
    },
}

/// Running text: a sequence of spans.
pub type Inline = Vec<Span>;

/// Plain text as an [`Inline`].
pub fn t(s: impl Into<String>) -> Inline {
    vec![Span::Text(s.into())]
}

/// A link as an [`Inline`].
pub fn link(label: impl Into<String>, href: impl Into<String>) -> Inline {
    vec![Span::Link {
        label: label.into(),
        href: href.into(),
    }]
}

/// A block of a section.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    /// A paragraph.
    Para(Inline),
    /// A sub-heading.
    Heading(String),
    /// A bulleted list.
    Bullets(Vec<Inline>),
    /// A table with a header row.
    Table {
        /// Column headers.
        headers: Vec<String>,
        /// Rows of cells.
        rows: Vec<Vec<Inline>>,
    },
    /// A figure written to plots/<name>.svg and .png.
    Figure {
        /// The file stem.
        name: String,
        /// The caption.
        caption: String,
    },
}

/// One section of the report.
#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    /// The anchor id (the scenario name).
    pub id: String,
    /// The heading.
    pub title: String,
    /// The content.
    pub blocks: Vec<Block>,
}

/// The whole report.
#[derive(Clone, Debug)]
pub struct Document {
    /// The page title.
    pub title: String,
    /// Blocks before the sections (machine, contents, what is missing).
    pub intro: Vec<Block>,
    /// The sections.
    pub sections: Vec<Section>,
}

fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '*' | '[' | ']' | '`' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

fn md_inline(spans: &Inline) -> String {
    let mut out = String::new();
    for s in spans {
        match s {
            Span::Text(x) => out += &md_escape(x),
            Span::Code(x) => {
                let x = x.replace('|', "\\|").replace('`', "'");
                let _ = write!(out, "`{x}`");
            }
            Span::Strong(x) => {
                let _ = write!(out, "**{}**", md_escape(x));
            }
            Span::Link { label, href } => {
                let _ = write!(out, "[{}]({})", md_escape(label), href.replace(' ', "%20"));
            }
        }
    }
    out
}

fn html_inline(spans: &Inline) -> String {
    let mut out = String::new();
    for s in spans {
        match s {
            Span::Text(x) => out += &html_escape(x),
            Span::Code(x) => {
                let _ = write!(out, "<code>{}</code>", html_escape(x));
            }
            Span::Strong(x) => {
                let _ = write!(out, "<strong>{}</strong>", html_escape(x));
            }
            Span::Link { label, href } => {
                // Plots are inline in the page: link to the figure, not the file.
                let href = match href
                    .strip_prefix("plots/")
                    .and_then(|p| p.strip_suffix(".svg").or_else(|| p.strip_suffix(".png")))
                {
                    Some(stem) => format!("#fig-{stem}"),
                    None => href.clone(),
                };
                let _ = write!(
                    out,
                    "<a href=\"{}\">{}</a>",
                    html_escape(&href),
                    html_escape(label)
                );
            }
        }
    }
    out
}

impl Document {
    /// Every relative link and image path the document refers to (for checks).
    pub fn links(&self) -> Vec<String> {
        let mut out = Vec::new();
        let inline = |i: &Inline, out: &mut Vec<String>| {
            for s in i {
                if let Span::Link { href, .. } = s {
                    out.push(href.clone());
                }
            }
        };
        for b in self
            .intro
            .iter()
            .chain(self.sections.iter().flat_map(|s| &s.blocks))
        {
            match b {
                Block::Para(i) => inline(i, &mut out),
                Block::Bullets(items) => items.iter().for_each(|i| inline(i, &mut out)),
                Block::Table { rows, .. } => {
                    rows.iter().flatten().for_each(|i| inline(i, &mut out))
                }
                Block::Figure { name, .. } => {
                    out.push(format!("plots/{name}.png"));
                    out.push(format!("plots/{name}.svg"));
                }
                Block::Heading(_) => {}
            }
        }
        out
    }

    /// The report as GitHub Markdown.
    pub fn to_markdown(&self) -> String {
        let mut out = format!("# {}\n\n", md_escape(&self.title));
        for b in &self.intro {
            md_block(b, &mut out);
        }
        for s in &self.sections {
            let _ = write!(
                out,
                "<a id=\"{}\"></a>\n\n## {}\n\n",
                html_escape(&s.id),
                md_escape(&s.title)
            );
            for b in &s.blocks {
                md_block(b, &mut out);
            }
        }
        out
    }

    /// The report as one self-contained HTML page; `svgs` maps figure names to SVG text.
    pub fn to_html(&self, svgs: &BTreeMap<String, String>) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{}</title>\n<style>\n{}</style>\n</head>\n<body>\n<main>\n<h1>{}</h1>\n",
            html_escape(&self.title),
            CSS,
            html_escape(&self.title)
        );
        for b in &self.intro {
            html_block(b, svgs, &mut out);
        }
        for s in &self.sections {
            let _ = write!(
                out,
                "<section id=\"{}\">\n<h2>{}</h2>\n",
                html_escape(&s.id),
                html_escape(&s.title)
            );
            for b in &s.blocks {
                html_block(b, svgs, &mut out);
            }
            out += "</section>\n";
        }
        out += "</main>\n</body>\n</html>\n";
        out
    }
}

const CSS: &str = "body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;\
color:#1f2328;margin:0;background:#fff;line-height:1.5}\n\
main{max-width:1400px;margin:0 auto;padding:1em 2em}\n\
h1{border-bottom:1px solid #d0d7de}h2{border-bottom:1px solid #d0d7de;margin-top:2em}\n\
table{border-collapse:collapse;margin:1em 0;font-size:0.85em;display:block;overflow-x:auto}\n\
th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}\n\
th{background:#f6f8fa}tr:nth-child(even) td{background:#fafbfc}\n\
code{background:#eff1f3;padding:0 3px;border-radius:3px;font-size:0.9em}\n\
figure{margin:1em 0}figure svg{max-width:100%;height:auto;border:1px solid #eee}\n\
figcaption{font-size:0.9em;color:#57606a}\n";

fn md_block(b: &Block, out: &mut String) {
    match b {
        Block::Para(i) => {
            let _ = write!(out, "{}\n\n", md_inline(i));
        }
        Block::Heading(h) => {
            let _ = write!(out, "### {}\n\n", md_escape(h));
        }
        Block::Bullets(items) => {
            for i in items {
                let _ = writeln!(out, "- {}", md_inline(i));
            }
            out.push('\n');
        }
        Block::Table { headers, rows } => {
            let h: Vec<String> = headers.iter().map(|h| md_escape(h)).collect();
            let _ = writeln!(out, "| {} |", h.join(" | "));
            let _ = writeln!(out, "|{}", "---|".repeat(headers.len()));
            for r in rows {
                let cells: Vec<String> = r.iter().map(md_inline).collect();
                let _ = writeln!(out, "| {} |", cells.join(" | "));
            }
            out.push('\n');
        }
        Block::Figure { name, caption } => {
            let _ = write!(
                out,
                "[![{}](plots/{name}.png)](plots/{name}.svg)\n\n*{}* ([SVG](plots/{name}.svg))\n\n",
                md_escape(caption),
                md_escape(caption)
            );
        }
    }
}

fn html_block(b: &Block, svgs: &BTreeMap<String, String>, out: &mut String) {
    match b {
        Block::Para(i) => {
            let _ = writeln!(out, "<p>{}</p>", html_inline(i));
        }
        Block::Heading(h) => {
            let _ = writeln!(out, "<h3>{}</h3>", html_escape(h));
        }
        Block::Bullets(items) => {
            out.push_str("<ul>\n");
            for i in items {
                let _ = writeln!(out, "<li>{}</li>", html_inline(i));
            }
            out.push_str("</ul>\n");
        }
        Block::Table { headers, rows } => {
            out.push_str("<table>\n<thead><tr>");
            for h in headers {
                let _ = write!(out, "<th>{}</th>", html_escape(h));
            }
            out.push_str("</tr></thead>\n<tbody>\n");
            for r in rows {
                out.push_str("<tr>");
                for c in r {
                    let _ = write!(out, "<td>{}</td>", html_inline(c));
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</tbody>\n</table>\n");
        }
        Block::Figure { name, caption } => {
            let _ = writeln!(out, "<figure id=\"fig-{}\">", html_escape(name));
            match svgs.get(name) {
                Some(svg) => out.push_str(strip_xml_declaration(svg)),
                None => {
                    let _ = write!(out, "<p>(plot {} missing)</p>", html_escape(name));
                }
            }
            let _ = writeln!(
                out,
                "\n<figcaption>{}</figcaption>\n</figure>",
                html_escape(caption)
            );
        }
    }
}

fn strip_xml_declaration(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_escapes_table_cells_and_keeps_links() {
        let d = Document {
            title: "R".into(),
            intro: vec![],
            sections: vec![Section {
                id: "s".into(),
                title: "S".into(),
                blocks: vec![Block::Table {
                    headers: vec!["a".into()],
                    rows: vec![vec![[t("x|y <z> "), link("csv", "results/s.csv")].concat()]],
                }],
            }],
        };
        let md = d.to_markdown();
        assert!(
            md.contains("| x\\|y &lt;z&gt; [csv](results/s.csv) |"),
            "{md}"
        );
        let html = d.to_html(&BTreeMap::new());
        assert!(html.contains("<td>x|y &lt;z&gt; <a href=\"results/s.csv\">csv</a></td>"));
        assert_eq!(d.links(), vec!["results/s.csv".to_string()]);
    }
}
