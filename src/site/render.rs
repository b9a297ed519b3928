//! One runbook's Markdown -> the HTML of its page body: headings with anchors, step cards where
//! steps are, template cards where templates are, other code highlighted, relative `.md` links
//! rewritten to `.html` and checked (a broken link or anchor is a warning at its line).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use pulldown_cmark::{CodeBlockKind, CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::Serialize;

use super::card;
use super::highlight::{Highlighter, escape};
use crate::diagnostic::Diagnostic;
use crate::model::{Book, Runbook};

/// What links may point at: the book's runbooks (their anchors are looked up when a link
/// names one), and the other files of the book.
#[derive(Debug, Default)]
pub(crate) struct LinkTargets<'b> {
    pages: HashMap<&'b str, &'b Runbook>,
    pub files: HashSet<String>,
}

impl<'b> LinkTargets<'b> {
    pub fn of(book: &'b Book, files: impl IntoIterator<Item = String>) -> Self {
        let pages = book.runbooks.iter().map(|r| (r.path.as_str(), &**r)).collect();
        LinkTargets { pages, files: files.into_iter().collect() }
    }

    pub fn page(&self, path: &str) -> Option<&'b Runbook> {
        self.pages.get(path).copied()
    }
}

/// Every id a runbook's page carries, in page order.
pub(crate) fn page_anchors(runbook: &Runbook) -> impl Iterator<Item = String> + '_ {
    let sections = runbook.sections.iter().map(|s| s.anchor.clone());
    let steps = runbook.steps.iter().flat_map(|step| {
        std::iter::once(format!("step-{}", step.id))
            .chain((1..=step.commands.len()).map(move |n| format!("step-{}-{n}", step.id)))
    });
    let templates = runbook.templates.iter().map(|t| format!("template-{}", t.line));
    sections.chain(steps).chain(templates)
}

/// True when the runbook's page carries this id (without building the list of them).
pub(crate) fn has_anchor(runbook: &Runbook, anchor: &str) -> bool {
    if runbook.sections.iter().any(|s| s.anchor == anchor) {
        return true;
    }
    if let Some(rest) = anchor.strip_prefix("step-") {
        let command = |step: &crate::model::Step| {
            rest.strip_prefix(step.id.as_str())
                .and_then(|r| r.strip_prefix('-'))
                .and_then(|n| n.parse::<usize>().ok())
                .is_some_and(|n| n >= 1 && n <= step.commands.len())
        };
        if runbook.steps.iter().any(|step| rest == step.id || command(step)) {
            return true;
        }
    }
    anchor
        .strip_prefix("template-")
        .and_then(|line| line.parse::<u32>().ok())
        .is_some_and(|line| runbook.templates.iter().any(|t| t.line == line))
}

/// Pages link to pages; the print page links inside itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Pages,
    Print,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct TocItem {
    pub level: u8,
    pub title: String,
    pub anchor: String,
}

#[derive(Debug)]
pub(crate) struct RenderedBody {
    pub html: String,
    pub toc: Vec<TocItem>,
    pub diagnostics: Vec<Diagnostic>,
}

/// The id prefix of a runbook inside the print page.
pub(crate) fn print_prefix(rel_path: &str) -> String {
    format!("{}--", crate::parse::slug(rel_path.trim_end_matches(".md")))
}

pub(crate) fn render_body(
    runbook: &Runbook,
    markdown: &str,
    display_path: &Path,
    targets: &LinkTargets,
    highlighter: &Highlighter,
    mode: Mode,
) -> RenderedBody {
    let prefix = if mode == Mode::Print { print_prefix(&runbook.path) } else { String::new() };
    let line_starts = crate::parse::line_starts(markdown);
    let line_of = |offset: usize| line_starts.partition_point(|s| *s <= offset) as u32;
    let headings: HashMap<u32, &str> = runbook.sections.iter().map(|s| (s.line, s.anchor.as_str())).collect();
    let steps: HashMap<u32, usize> = runbook.steps.iter().enumerate().map(|(i, s)| (s.line, i)).collect();
    let templates: HashMap<u32, usize> = runbook.templates.iter().enumerate().map(|(i, t)| (t.line, i)).collect();

    let mut events: Vec<Event<'_>> = Vec::new();
    let mut toc = Vec::new();
    let mut diagnostics = Vec::new();
    let mut in_metadata = false;
    let mut heading: Option<(HeadingLevel, String, u32)> = None;
    let mut code: Option<(Option<String>, u32, String)> = None;

    for (event, range) in Parser::new_ext(markdown, render_options()).into_offset_iter() {
        if in_metadata {
            in_metadata = !matches!(event, Event::End(TagEnd::MetadataBlock(_)));
            continue;
        }
        if let Some((_, _, ref mut text)) = code {
            match event {
                Event::Text(t) => text.push_str(&t),
                Event::End(TagEnd::CodeBlock) => {
                    let (lang, line, text) = code.take().unwrap_or_default();
                    let html = if let Some(&index) = steps.get(&line) {
                        card::step_card(&runbook.steps[index], &prefix, highlighter)
                    } else if let Some(&index) = templates.get(&line) {
                        card::template_card(&runbook.templates[index], &prefix)
                    } else {
                        let class =
                            lang.as_deref().map(|l| format!(" class=\"language-{}\"", escape(l))).unwrap_or_default();
                        format!("<pre><code{class}>{}</code></pre>\n", highlighter.highlight(&text, lang.as_deref()))
                    };
                    events.push(Event::Html(CowStr::from(html)));
                }
                _ => {}
            }
            continue;
        }
        match event {
            Event::Start(Tag::MetadataBlock(_)) => in_metadata = true,
            Event::Start(Tag::CodeBlock(kind)) => {
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => {
                        info.split([',', ' ', '{']).next().filter(|l| !l.is_empty()).map(str::to_ascii_lowercase)
                    }
                    CodeBlockKind::Indented => None,
                };
                code = Some((lang, line_of(range.start), String::new()));
            }
            Event::Start(Tag::Heading { level, .. }) => {
                let line = line_of(range.start);
                let anchor = headings.get(&line).map_or_else(String::new, |a| (*a).to_owned());
                heading = Some((level, anchor.clone(), line));
                events.push(Event::Html(CowStr::from(format!("<{level} id=\"{prefix}{}\">", escape(&anchor)))));
                if matches!(level, HeadingLevel::H2 | HeadingLevel::H3) {
                    let title =
                        runbook.sections.iter().find(|s| s.line == line).map(|s| s.title.clone()).unwrap_or_default();
                    toc.push(TocItem {
                        level: if level == HeadingLevel::H2 { 2 } else { 3 },
                        title,
                        anchor: format!("{prefix}{anchor}"),
                    });
                }
            }
            Event::End(TagEnd::Heading(level)) => {
                let anchor = heading.take().map(|(_, a, _)| a).unwrap_or_default();
                events.push(Event::Html(CowStr::from(format!(
                    "<a class=\"heading-anchor\" href=\"#{prefix}{}\" aria-label=\"Link to this section\">#</a></{level}>\n",
                    escape(&anchor)
                ))));
            }
            Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
                let line = line_of(range.start);
                let dest = rewrite_link(&dest_url, runbook, targets, mode, &prefix, |message| {
                    diagnostics.push(link_warning(markdown, display_path, &line_starts, line, range.start, message));
                });
                events.push(Event::Start(Tag::Link { link_type, dest_url: CowStr::from(dest), title, id }));
            }
            other => events.push(other),
        }
    }
    let mut html = String::with_capacity(markdown.len() * 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    RenderedBody { html, toc, diagnostics }
}

/// The Markdown extensions a page renders with (mdBook's, plus front matter).
fn render_options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
        | Options::ENABLE_PLUSES_DELIMITED_METADATA_BLOCKS
}

/// Only the link check of [`render_body`]: the same warnings, without rendering (for pages a
/// rebuild does not need to redo).
pub(crate) fn check_links(
    runbook: &Runbook,
    markdown: &str,
    display_path: &Path,
    targets: &LinkTargets,
) -> Vec<Diagnostic> {
    let line_starts = crate::parse::line_starts(markdown);
    let mut diagnostics = Vec::new();
    for (event, range) in Parser::new_ext(markdown, render_options()).into_offset_iter() {
        if let Event::Start(Tag::Link { dest_url, .. }) = event {
            let line = line_starts.partition_point(|s| *s <= range.start) as u32;
            rewrite_link(&dest_url, runbook, targets, Mode::Pages, "", |message| {
                diagnostics.push(link_warning(markdown, display_path, &line_starts, line, range.start, message));
            });
        }
    }
    diagnostics
}

fn link_warning(
    markdown: &str,
    display_path: &Path,
    line_starts: &[usize],
    line: u32,
    offset: usize,
    message: String,
) -> Diagnostic {
    let col = markdown[line_starts[line as usize - 1]..offset].chars().count() as u32 + 1;
    Diagnostic::warning("broken-link", display_path, message)
        .at(markdown, line, col)
        .with_help("fix the path or the anchor; `--strict` makes this an error")
}

/// A link's destination on the page; reports a broken relative link through `broken`.
fn rewrite_link(
    dest: &str,
    runbook: &Runbook,
    targets: &LinkTargets,
    mode: Mode,
    prefix: &str,
    mut broken: impl FnMut(String),
) -> String {
    let external = dest.contains("://")
        || dest.starts_with("mailto:")
        || dest.starts_with("tel:")
        || dest.starts_with("data:")
        || dest.starts_with('/')
        || dest.contains("{{")
        || dest.is_empty();
    if external {
        return dest.to_owned();
    }
    let (path, anchor) = match dest.split_once('#') {
        Some((path, anchor)) => (path, Some(anchor)),
        None => (dest, None),
    };
    if path.is_empty() {
        let anchor = anchor.unwrap_or("");
        if !anchor.is_empty() && !has_anchor(runbook, anchor) {
            broken(format!("link to `#{anchor}`: this page has no such anchor"));
        }
        return format!("#{prefix}{anchor}");
    }
    let decoded = path.replace("%20", " ");
    let Some(target) = resolve(&runbook.path, &decoded) else {
        broken(format!("link to `{path}` leaves the book"));
        return dest.to_owned();
    };
    if target.to_ascii_lowercase().ends_with(".md") {
        let Some(linked) = targets.page(&target) else {
            broken(if target == path {
                format!("link to `{path}`, which is not a runbook of this book")
            } else {
                format!("link to `{path}` (`{target}` in the book), which is not a runbook of this book")
            });
            return dest.to_owned();
        };
        if let Some(anchor) = anchor.filter(|a| !a.is_empty()) {
            if !has_anchor(linked, anchor) {
                broken(format!("link to `{dest}`: `{target}` has no anchor `#{anchor}`"));
            }
        }
        return match mode {
            Mode::Pages => {
                let html_path = format!("{}.html", &path[..path.len() - 3]);
                anchor.map_or(html_path.clone(), |a| format!("{html_path}#{a}"))
            }
            Mode::Print => {
                let target_prefix = print_prefix(&target);
                match anchor.filter(|a| !a.is_empty()) {
                    Some(a) => format!("#{target_prefix}{a}"),
                    None => format!("#{}", target_prefix.trim_end_matches("--")),
                }
            }
        };
    }
    let is_folder = target.is_empty() || decoded.ends_with('/');
    if !is_folder && !targets.files.contains(&target) {
        broken(format!("link to `{path}`: no such file in the book"));
    }
    match mode {
        Mode::Pages => dest.to_owned(),
        Mode::Print => target,
    }
}

/// `link` relative to the folder of `from` (both book-relative, `/`-separated), normalised;
/// None when it climbs out of the book.
pub(crate) fn resolve(from: &str, link: &str) -> Option<String> {
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for part in link.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_table() {
        assert_eq!(resolve("a/b.md", "c.md").as_deref(), Some("a/c.md"));
        assert_eq!(resolve("a/b.md", "../c.md").as_deref(), Some("c.md"));
        assert_eq!(resolve("a/b.md", "./x/../d.md").as_deref(), Some("a/d.md"));
        assert_eq!(resolve("b.md", "../c.md"), None);
    }
}
