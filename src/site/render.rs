//! One runbook's Markdown -> the HTML of its page body: headings with anchors, step cards where
//! steps are, template cards where templates are, other code highlighted, relative `.md` links
//! rewritten to `.html` and checked (a broken link or anchor is a warning at its line).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::OnceLock;

use pulldown_cmark::{CodeBlockKind, CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::Serialize;

use super::card;
use super::highlight::{Highlighter, escape};
use crate::diagnostic::Diagnostic;
use crate::model::{Book, Runbook};

/// What links may point at: the book's runbooks (their anchors are looked up when a link
/// names one), and the other files of the book.
#[derive(Debug)]
pub(crate) struct LinkTargets<'b> {
    /// Each runbook, with its anchors indexed on the first link that names one of them.
    pages: HashMap<&'b str, (&'b Runbook, OnceLock<PageAnchors<'b>>)>,
    /// The other names a link may give a page (`restore.html` for `restore.html.md.erb`,
    /// `intro` for `intro.mdx`), by page path.
    names: HashMap<String, &'b str>,
    /// The endings that make a file a runbook: a link to such a file must find one.
    extensions: Vec<String>,
    pub files: HashSet<String>,
}

impl Default for LinkTargets<'_> {
    /// No pages, no files, the default endings.
    fn default() -> Self {
        LinkTargets {
            pages: HashMap::new(),
            names: HashMap::new(),
            extensions: crate::config::Config::default().opsbook.extensions,
            files: HashSet::new(),
        }
    }
}

impl<'b> LinkTargets<'b> {
    pub fn of(book: &'b Book, files: impl IntoIterator<Item = String>) -> Self {
        let pages: HashMap<&str, _> =
            book.runbooks.iter().map(|r| (r.path.as_str(), (&**r, OnceLock::new()))).collect();
        let extensions = book.config.opsbook.extensions.clone();
        let mut names = HashMap::new();
        for runbook in &book.runbooks {
            for name in crate::page::other_names(&runbook.path, &extensions) {
                if !pages.contains_key(name.as_str()) {
                    names.entry(name).or_insert(runbook.path.as_str());
                }
            }
        }
        LinkTargets { pages, names, extensions, files: files.into_iter().collect() }
    }

    /// The runbook a link's target (a path in the book) names: by its file, its page or its
    /// path without the ending.
    pub fn page(&self, path: &str) -> Option<&'b Runbook> {
        let path = self.names.get(path).copied().unwrap_or(path);
        self.pages.get(path).map(|(runbook, _)| *runbook)
    }

    /// [`has_anchor`], through the page's index when the runbook is one of the book's: a page
    /// whose table of contents links to each of its thousands of steps would otherwise scan
    /// them all for every link.
    fn has_anchor(&self, runbook: &Runbook, anchor: &str) -> bool {
        match self.pages.get(runbook.path.as_str()) {
            Some((page, anchors)) if std::ptr::eq(*page, runbook) => {
                anchors.get_or_init(|| PageAnchors::of(page)).has(anchor)
            }
            _ => has_anchor(runbook, anchor),
        }
    }
}

/// The ids of one page, by kind, borrowed from its runbook: what [`has_anchor`] looks through.
#[derive(Debug)]
struct PageAnchors<'b> {
    sections: HashSet<&'b str>,
    /// Step id -> its number of commands (the most, where two steps share an id).
    steps: HashMap<&'b str, usize>,
    templates: HashSet<u32>,
}

impl<'b> PageAnchors<'b> {
    fn of(runbook: &'b Runbook) -> Self {
        let mut steps: HashMap<&str, usize> = HashMap::new();
        for step in &runbook.steps {
            let commands = steps.entry(step.id.as_str()).or_default();
            *commands = (*commands).max(step.commands.len());
        }
        PageAnchors {
            sections: runbook.sections.iter().map(|s| s.anchor.as_str()).collect(),
            steps,
            templates: runbook.templates.iter().map(|t| t.line).collect(),
        }
    }

    /// What `has_anchor(runbook, anchor)` answers.
    fn has(&self, anchor: &str) -> bool {
        if self.sections.contains(anchor) {
            return true;
        }
        if let Some(rest) = anchor.strip_prefix("step-") {
            if self.steps.contains_key(rest) {
                return true;
            }
            // `step-<id>-<n>`: the id may hold dashes itself, so try each.
            let command = |(at, _): (usize, &str)| {
                let n = rest[at + 1..].parse::<usize>().ok();
                self.steps.get(&rest[..at]).is_some_and(|&commands| n.is_some_and(|n| n >= 1 && n <= commands))
            };
            if rest.match_indices('-').any(command) {
                return true;
            }
        }
        anchor
            .strip_prefix("template-")
            .and_then(|line| line.parse::<u32>().ok())
            .is_some_and(|line| self.templates.contains(&line))
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
    freshness: Option<&crate::freshness::Record>,
) -> RenderedBody {
    let prefix = if mode == Mode::Print { print_prefix(&runbook.path) } else { String::new() };
    let mut warnings = LinkWarnings::new(markdown, display_path);
    let headings: HashMap<u32, &str> = runbook.sections.iter().map(|s| (s.line, s.anchor.as_str())).collect();
    let mut titles: HashMap<u32, &str> = HashMap::new();
    for section in &runbook.sections {
        titles.entry(section.line).or_insert(&section.title);
    }
    let steps: HashMap<u32, usize> = runbook.steps.iter().enumerate().map(|(i, s)| (s.line, i)).collect();
    let templates: HashMap<u32, usize> = runbook.templates.iter().enumerate().map(|(i, t)| (t.line, i)).collect();

    let mut events: Vec<Event<'_>> = Vec::new();
    let mut toc = Vec::new();
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
                        let step = &runbook.steps[index];
                        let note = freshness.map(|record| record.verdict(&runbook.path, &step.id).html());
                        card::step_card(step, &prefix, highlighter, note.as_deref())
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
                code = Some((lang, warnings.line_of(range.start), String::new()));
            }
            Event::Start(Tag::Heading { level, .. }) => {
                let line = warnings.line_of(range.start);
                let anchor = headings.get(&line).map_or_else(String::new, |a| (*a).to_owned());
                heading = Some((level, anchor.clone(), line));
                events.push(Event::Html(CowStr::from(format!("<{level} id=\"{prefix}{}\">", escape(&anchor)))));
                if matches!(level, HeadingLevel::H2 | HeadingLevel::H3) {
                    let title = titles.get(&line).map_or_else(String::new, |title| (*title).to_owned());
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
                let dest = rewrite_link(&dest_url, runbook, targets, mode, &prefix, |message| {
                    warnings.push(range.start, message);
                });
                events.push(Event::Start(Tag::Link { link_type, dest_url: CowStr::from(dest), title, id }));
            }
            other => events.push(other),
        }
    }
    let mut html = String::with_capacity(markdown.len() * 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    RenderedBody { html, toc, diagnostics: warnings.found }
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
    let mut warnings = LinkWarnings::new(markdown, display_path);
    for (event, range) in Parser::new_ext(markdown, render_options()).into_offset_iter() {
        if let Event::Start(Tag::Link { dest_url, .. }) = event {
            rewrite_link(&dest_url, runbook, targets, Mode::Pages, "", |message| {
                warnings.push(range.start, message);
            });
        }
    }
    warnings.found
}

/// The broken-link warnings of one page. Placing one costs the distance from the link before it
/// on the same line, not a new pass over the page: a pasted line can hold thousands of links.
struct LinkWarnings<'m> {
    markdown: &'m str,
    display_path: &'m Path,
    line_starts: Vec<usize>,
    /// The page's lines as `str::lines` gives them (what `Diagnostic::at` keeps), split once, on
    /// the first warning.
    lines: Option<Vec<&'m str>>,
    /// The last link placed: (line, byte offset, column).
    last: (u32, usize, u32),
    found: Vec<Diagnostic>,
}

impl<'m> LinkWarnings<'m> {
    fn new(markdown: &'m str, display_path: &'m Path) -> Self {
        let line_starts = crate::parse::line_starts(markdown);
        LinkWarnings { markdown, display_path, line_starts, lines: None, last: (0, 0, 0), found: Vec::new() }
    }

    fn line_of(&self, offset: usize) -> u32 {
        self.line_starts.partition_point(|s| *s <= offset) as u32
    }

    /// A warning about the link that starts at byte `offset`.
    fn push(&mut self, offset: usize, message: String) {
        let line = self.line_of(offset);
        let (last_line, last_offset, last_col) = self.last;
        let (from, col) = if last_line == line && last_offset <= offset {
            (last_offset, last_col)
        } else {
            (self.line_starts[line as usize - 1], 1)
        };
        let col = col + self.markdown[from..offset].chars().count() as u32;
        self.last = (line, offset, col);
        let markdown = self.markdown;
        let lines = self.lines.get_or_insert_with(|| markdown.lines().collect());
        let mut warning = Diagnostic::warning("broken-link", self.display_path, message)
            .with_help("fix the path or the anchor; `--strict` makes this an error");
        warning.line = line;
        warning.col = col;
        warning.source_line = lines.get(line as usize - 1).map(|text| (*text).to_owned());
        self.found.push(warning);
    }
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
        if !anchor.is_empty() && !targets.has_anchor(runbook, anchor) {
            broken(format!("link to `#{anchor}`: this page has no such anchor"));
        }
        return format!("#{prefix}{anchor}");
    }
    let decoded = path.replace("%20", " ");
    let Some(target) = resolve(&runbook.path, &decoded) else {
        broken(format!("link to `{path}` leaves the book"));
        return dest.to_owned();
    };
    let linked = targets.page(&target);
    if linked.is_some() || crate::page::is_runbook_file(&target, &targets.extensions) {
        let Some(linked) = linked else {
            broken(if target == path {
                format!("link to `{path}`, which is not a runbook of this book")
            } else {
                format!("link to `{path}` (`{target}` in the book), which is not a runbook of this book")
            });
            return dest.to_owned();
        };
        if let Some(anchor) = anchor.filter(|a| !a.is_empty()) {
            if !targets.has_anchor(linked, anchor) {
                broken(format!("link to `{dest}`: `{target}` has no anchor `#{anchor}`"));
            }
        }
        return match mode {
            Mode::Pages => {
                // The link as written, its last part replaced by the page's file name.
                let page = crate::page::html_path(&linked.path);
                let page_file = page.rsplit('/').next().unwrap_or(&page);
                let html_path = match path.rsplit_once('/') {
                    Some((folder, _)) => format!("{folder}/{page_file}"),
                    None => page_file.to_owned(),
                };
                anchor.map_or(html_path.clone(), |a| format!("{html_path}#{a}"))
            }
            Mode::Print => {
                let target_prefix = print_prefix(&linked.path);
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

    fn runbook(path: &str, markdown: &str) -> Runbook {
        let options = crate::parse::ParseOptions::default();
        crate::parse::parse_runbook(Path::new(path), path, markdown, &options).runbook
    }

    #[test]
    fn many_broken_links_on_one_long_line_are_placed_by_character() {
        // `é` is two bytes: the column counts characters.
        let unit = "é [x](gone.md) ";
        let long = unit.repeat(1000);
        let markdown = format!("# Title\n\n{long}\r\nlast [y](#nowhere)\n");
        let page = runbook("a.md", &markdown);
        let targets = LinkTargets::default();
        let found = check_links(&page, &markdown, Path::new("src/a.md"), &targets);
        assert_eq!(found.len(), 1001);
        let unit_chars = unit.chars().count() as u32;
        for (k, diagnostic) in found[..1000].iter().enumerate() {
            assert_eq!((diagnostic.line, diagnostic.col), (3, 3 + k as u32 * unit_chars));
            assert_eq!(diagnostic.source_line.as_deref(), Some(long.as_str()));
        }
        assert_eq!(found[0].message, "link to `gone.md`, which is not a runbook of this book");
        let last = &found[1000];
        assert_eq!((last.line, last.col, last.source_line.as_deref()), (4, 6, Some("last [y](#nowhere)")));
        assert_eq!(last.message, "link to `#nowhere`: this page has no such anchor");
    }

    #[test]
    fn the_anchor_index_answers_as_the_scan_does() {
        let markdown = "# Top\n\n## A b\n\n```bash {name=a}\necho 1\necho 2\n```\n\n```bash {name=a-b}\necho 3\n```\n\n\
                        ```bash {name=a}\necho 1\n```\n\n```\nSeverity: SEV[1-4]\nOwner: [name]\n```\n";
        let page = runbook("p.md", markdown);
        assert_eq!(page.steps.len(), 3, "{:?}", page.steps);
        assert_eq!(page.templates.len(), 1);
        let line = page.templates[0].line;
        let anchors = PageAnchors::of(&page);
        let table = [
            "top",
            "a-b",
            "a-c",
            "",
            "step-",
            "step-a",
            "step-a-1",
            "step-a-2",
            "step-a-3",
            "step-a-0",
            "step-a-01",
            "step-a-+2",
            "step-a-b",
            "step-a-b-1",
            "step-a-b-2",
            "step-a--1",
            "step-b",
            "step-a-b-",
            "template-",
            "template-1",
            "template-x",
        ];
        let templates = [format!("template-{line}"), format!("template-0{line}"), format!("template-{}", line + 1)];
        for anchor in table.into_iter().chain(templates.iter().map(String::as_str)) {
            assert_eq!(anchors.has(anchor), has_anchor(&page, anchor), "{anchor:?}");
        }
        assert!(anchors.has("step-a-2") && anchors.has("step-a-b-1") && !anchors.has("step-a-b-2"));
    }

    #[test]
    fn a_table_of_contents_of_three_thousand_links_is_checked() {
        let mut markdown = String::from("# Long\n\n");
        for k in 0..3000 {
            markdown.push_str(&format!("[{k}](#part-{k}) [c](#step-part-{k}-1) [gone](#part-{k}-x)\n"));
        }
        for k in 0..3000 {
            markdown.push_str(&format!("\n## Part {k}\n\n```bash\necho {k}\n```\n"));
        }
        let page = std::sync::Arc::new(runbook("p.md", &markdown));
        let book = Book {
            root: "/b".into(),
            src: "/b/src".into(),
            config: crate::config::Config::default(),
            runbooks: vec![page.clone()],
            diagnostics: Vec::new(),
            layout: Default::default(),
        };
        let targets = LinkTargets::of(&book, []);
        let found = check_links(&page, &markdown, Path::new("p.md"), &targets);
        assert_eq!(found.len(), 3000);
        for (k, warning) in found.iter().enumerate() {
            assert_eq!(warning.message, format!("link to `#part-{k}-x`: this page has no such anchor"));
            assert_eq!(warning.line, k as u32 + 3);
        }
    }

    #[test]
    fn diagnostics_keep_the_line_as_str_lines_gives_it() {
        for text in ["[a](b.md)", "[a](b.md)\n", "x\r\n[a](b.md)\r\n", "[a](b.md)\r", "\n\n[a](b.md) [c](d.md)"] {
            let page = runbook("a.md", text);
            let found = check_links(&page, text, Path::new("a.md"), &LinkTargets::default());
            assert!(!found.is_empty(), "{text:?}");
            for diagnostic in found {
                let expected = Diagnostic::warning("broken-link", "a.md", diagnostic.message.clone())
                    .at(text, diagnostic.line, diagnostic.col)
                    .with_help("fix the path or the anchor; `--strict` makes this an error");
                assert_eq!(diagnostic, expected, "{text:?}");
            }
        }
    }
}
