//! The Markdown of docs sites, read as their authors mean it: MkDocs admonitions and content
//! tabs, Docusaurus MDX (imports, JSX, `<Tabs>`, `:::note`), Middleman ERB, Hugo shortcodes and
//! GitBook's `{% %}` blocks become the CommonMark the parser and the site read, with the tabs and
//! block titles they carry set aside.
//!
//! Every rewrite keeps the number of lines, so every line number (steps, diagnostics, `test
//! --update`) still points into the file as written. Indented bodies keep their columns too: an
//! admonition's four columns of indentation become `>   ` (a quote), a tab's `-   **Label**`
//! opens a list item whose content starts at the same column. Lines inside fenced code are
//! never rewritten (only the container's columns in front of them); template lines inside code
//! are found by [`code_directive`] and set aside by the step parser.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

/// Which syntaxes a file may use beyond what every file may (MkDocs, Hugo, GitBook and
/// Docusaurus admonitions are read everywhere: none of them means anything else in Markdown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dialect {
    /// MDX: `import`/`export` lines, JSX elements and `{…}` expressions (`.mdx`, and every page
    /// of a Docusaurus site).
    pub mdx: bool,
    /// ERB: `<% %>` tags (`.erb`, Middleman).
    pub erb: bool,
}

impl Dialect {
    /// The dialect of the file `rel_path`; `docusaurus` when the book is a Docusaurus site.
    pub fn of(rel_path: &str, docusaurus: bool) -> Dialect {
        let lower = rel_path.to_ascii_lowercase();
        Dialect { mdx: docusaurus || lower.ends_with(".mdx"), erb: lower.ends_with(".erb") }
    }
}

/// One alternative of a group of tabs: lines `first..=last` (0-based) are its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tab {
    /// 1-based number of the tab group in the file.
    pub group: u32,
    pub label: String,
    pub first: usize,
    pub last: usize,
}

/// A file's text read in its dialect.
#[derive(Debug, Clone, Default)]
pub(crate) struct Read<'a> {
    pub text: Cow<'a, str>,
    pub tabs: Vec<Tab>,
    /// (0-based line of a fence, title): GitBook's `{% code title="…" %}` before a block.
    pub code_titles: Vec<(usize, String)>,
    /// (0-based line, what was repaired): fence lines that a converter broke (`` ```<br> ``).
    pub repairs: Vec<(usize, String)>,
    /// (0-based line of a fence, the tabs holding it, outermost first), in line order.
    pub fence_tabs: Vec<(usize, Vec<usize>)>,
}

/// A container whose body is indented by four columns (MkDocs admonitions and tabs).
#[derive(Debug, Clone)]
struct Container {
    /// Column of the marker (`!!!`, `===`).
    indent: usize,
    quote: bool,
    /// The tab this container is, as an index into `tabs`.
    tab: Option<usize>,
}

/// A group of tabs being read (MkDocs: consecutive `===` at one indentation; Docusaurus
/// `<Tabs>`; Hugo `{{< tabs >}}`, GitBook `{% tabs %}`).
#[derive(Debug, Clone, Default)]
struct Group {
    number: u32,
    /// Labels given by the group (`{{< tabs "Linux" "macOS" >}}`), used in order.
    labels: Vec<String>,
    seen: usize,
    /// The tab it has open, as an index into `tabs`.
    open: Option<usize>,
}

static ADMONITION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^(?:!!!|\?\?\?\+?)[ \t]+([A-Za-z][\w-]*)(?:[ \t]+[\w -]*?)?(?:[ \t]*"([^"]*)")?[ \t]*$"#)
        .expect("static regex")
});
static MKDOCS_TAB: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"^===(!?)\+?[ \t]+"([^"]*)"[ \t]*$"#).expect("static regex"));
static HEADING_ATTRIBUTES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(#{1,6}[ \t].*?)[ \t]*\{:[ \t]*([^}]*)\}[ \t]*$").expect("static regex"));
/// A line that is only an attribute list (`{: .note }`, `{.power-number}`): it styles the block
/// next to it.
static ATTRIBUTE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\{(?::[ \t]*[^}]*|[ \t]*[.#][A-Za-z][\w-]*(?:[ \t]+[^}]*)?)\}$").expect("static regex")
});
/// An attribute list right after a link or image (`[Go](x.md){.md-button}`).
static INLINE_ATTRIBUTES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\)\{:?[ \t]*[.#][A-Za-z][\w-]*[^}\n]*\}").expect("static regex"));
/// A fence line with an HTML line break glued to it (pasted from a rich-text editor):
/// `` ```bash<br> ``, `` ```<br/> ``.
static FENCE_BREAK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^([ \t]*(?:`{3,}|~{3,})[^`<]*?)[ \t]*(?:<br[ \t]*/?>[ \t]*)+$").expect("static regex")
});
static SNIPPET: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^;?-{2,}8<-{2,}").expect("static regex"));
static DOCUSAURUS_ADMONITION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^:::[ \t]*([A-Za-z][\w-]*)?(?:\[([^\]]*)\]|[ \t]+(.*))?$").expect("static regex"));
/// A Hugo shortcode: `{{< name args >}}`, `{{% name args %}}`, `{{< /name >}}`, self-closing too.
static SHORTCODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{\{([<%])-?[ \t]*(/)?[ \t]*([\w./-]+)([^\n]*?)[ \t]*(/)?[ \t]*-?[>%]\}\}").expect("static regex")
});
/// A Liquid/Jinja tag: `{% hint style="info" %}`, `{%- endraw -%}`.
static LIQUID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{%-?[ \t]*([\w-]+)([^\n]*?)-?%\}").expect("static regex"));
static ATTRIBUTE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"([\w-]+)=(?:"([^"]*)"|'([^']*)'|\{["'`]([^"'`]*)["'`]\}|([^\s"'>}]+))"#).expect("static regex")
});
static QUOTED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#""([^"]*)"|'([^']*)'"#).expect("static regex"));
static REF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\{\{[<%][ \t]*(?:rel)?ref[ \t]+"([^"]+)"[ \t]*[>%]\}\}"#).expect("static regex"));
static ERB: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<%([=#-]?)(.*?)-?%>").expect("static regex"));

/// The value of `name="…"` (or `name='…'`, `name={"…"}`, `name=bare`) in a tag's arguments.
fn attribute(args: &str, name: &str) -> Option<String> {
    ATTRIBUTE
        .captures_iter(args)
        .find(|c| c[1].eq_ignore_ascii_case(name))
        .and_then(|c| (2..=5).find_map(|i| c.get(i)).map(|m| m.as_str().trim().to_owned()).filter(|v| !v.is_empty()))
}

static ICON: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r":[a-z][a-z0-9]*(?:-[a-z0-9]+)+:[ \t]?").expect("static regex"));

/// Prose with MkDocs Material's icon codes (`:octicons-link-external-16:`) taken out, and inline
/// attribute lists after links; code spans are left alone.
fn without_icons(text: &str) -> Option<String> {
    if !text.contains(':') && !text.contains("){") {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    for (index, piece) in text.split('`').enumerate() {
        if index > 0 {
            out.push('`');
        }
        if index % 2 == 0 {
            let piece = ICON.replace_all(piece, "");
            out.push_str(&INLINE_ATTRIBUTES.replace_all(&piece, ")"));
        } else {
            out.push_str(piece);
        }
    }
    (out != text).then_some(out)
}

/// A label as the site shows it: MkDocs Material's icon codes (`:material-console:`) are icons,
/// not words.
fn label(text: &str) -> String {
    ICON.replace_all(text, "").trim().to_owned()
}

/// `note` -> `Note`, `see-also` -> `See also`.
fn title_case(kind: &str) -> String {
    let words = kind.replace(['-', '_'], " ");
    let mut chars = words.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

/// `text` without up to `columns` columns of leading whitespace.
fn shifted(text: &str, columns: usize) -> &str {
    if columns == 0 { text } else { from_column(text, columns) }
}

/// Columns of leading whitespace (a tab counts to the next multiple of four) and its bytes.
fn indentation(line: &str) -> (usize, usize) {
    let mut columns = 0;
    let mut bytes = 0;
    for c in line.chars() {
        match c {
            ' ' => columns += 1,
            '\t' => columns += 4 - columns % 4,
            _ => break,
        }
        bytes += 1;
    }
    (columns, bytes)
}

/// The text of a line from column `from` on (whitespace before it dropped).
fn from_column(line: &str, from: usize) -> &str {
    let mut columns = 0;
    for (at, c) in line.char_indices() {
        if columns >= from {
            return &line[at..];
        }
        match c {
            ' ' => columns += 1,
            '\t' => columns += 4 - columns % 4,
            _ => return &line[at..],
        }
    }
    ""
}

/// An open fenced block: its marker, length and the column of the opening fence.
#[derive(Debug, Clone, Copy)]
struct Fence {
    marker: char,
    len: usize,
}

/// A fence opening on this line. Any indentation: a list item's content may stand deeper than
/// the four columns CommonMark allows a fence at the top, and this reader does not follow lists.
fn fence_opener(content: &str) -> Option<Fence> {
    let (_, bytes) = indentation(content);
    let rest = &content[bytes..];
    let marker = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = rest.chars().take_while(|c| *c == marker).count();
    let info = &rest[len..];
    (len >= 3 && !(marker == '`' && info.contains('`'))).then_some(Fence { marker, len })
}

fn closes(fence: Fence, content: &str) -> bool {
    let rest = content.trim();
    rest.len() >= fence.len && rest.chars().all(|c| c == fence.marker)
}

/// Reads `source` in `dialect`. Borrowed unchanged when nothing in it needed rewriting.
pub(crate) fn read(source: &str, dialect: Dialect) -> Read<'_> {
    let mut reader = Reader { dialect, ..Reader::default() };
    // The text is copied only from the first line that changes: most files change none.
    let mut out: Option<String> = None;
    let mut offset = 0;
    for (index, raw) in source.split_inclusive('\n').enumerate() {
        let line_start = offset;
        offset += raw.len();
        let (line, eol) = match raw.strip_suffix("\r\n") {
            Some(line) => (line, "\r\n"),
            None => raw.strip_suffix('\n').map_or((raw, ""), |line| (line, "\n")),
        };
        let repaired;
        // A fence line with `<br>` glued on opens a block where no block is open; inside one it
        // closes it only when the opening fence was repaired too (the same converter's damage):
        // else it is text of the block, as CommonMark reads it.
        let repairable = reader.fence.is_none() || reader.fence_repaired;
        let line = match FENCE_BREAK.captures(line).filter(|_| repairable && !reader.front_matter) {
            Some(found) => {
                let shown: String = line.trim().chars().take(80).collect();
                reader.repairs.push((index, format!("`{shown}` is a fence with `<br>` after it")));
                repaired = found[1].to_owned();
                reader.repairing = true;
                repaired.as_str()
            }
            None => line,
        };
        let rewritten = reader.line(index, line);
        reader.repairing = false;
        let same = matches!(&rewritten, Cow::Borrowed(text) if std::ptr::eq(*text, &raw[..text.len()]) && text.len() + eol.len() == raw.len());
        match (&mut out, same) {
            (Some(out), _) => {
                out.push_str(&rewritten);
                out.push_str(eol);
            }
            (None, true) => {}
            (None, false) => {
                let mut text = String::with_capacity(source.len() + 64);
                text.push_str(&source[..line_start]);
                text.push_str(&rewritten);
                text.push_str(eol);
                out = Some(text);
            }
        }
    }
    reader.finish(source.split_inclusive('\n').count());
    Read {
        text: out.map_or(Cow::Borrowed(source), Cow::Owned),
        tabs: reader.tabs,
        code_titles: reader.code_titles,
        repairs: reader.repairs,
        fence_tabs: reader.fence_tabs,
    }
}

#[derive(Default)]
struct Reader {
    dialect: Dialect,
    containers: Vec<Container>,
    fence: Option<Fence>,
    /// The open fence was repaired (`` ```bash<br> ``).
    fence_repaired: bool,
    /// The line being read was repaired.
    repairing: bool,
    /// MDX: the open fence was indented four or more columns (MDX has no indented code, so it
    /// is a fence): the columns taken off its lines.
    mdx_shift: usize,
    tabs: Vec<Tab>,
    /// (0-based line of a fence, the tabs holding it).
    fence_tabs: Vec<(usize, Vec<usize>)>,
    code_titles: Vec<(usize, String)>,
    repairs: Vec<(usize, String)>,
    pending_code_title: Option<String>,
    groups: u32,
    /// Explicit groups (`<Tabs>`, `{{< tabs >}}`, `{% tabs %}`), innermost last, each with the
    /// tab it has open.
    explicit: Vec<Group>,
    /// MkDocs: the group the last closed `===` tab belonged to, at its indentation, while only
    /// blank lines follow it.
    mkdocs_group: Option<(usize, u32)>,
    /// Lines of a construct that continue on the next line: an MDX import/export, a JSX tag,
    /// an ERB tag.
    continued: Option<Continued>,
    /// A Hugo tab whose body is code (`{{< tab lang="bash" >}}`): its closing shortcode closes
    /// the fence opened for it.
    raw_code_tab: bool,
    /// The file's front matter is being read (line 1 `---` to the next `---`).
    front_matter: bool,
    started: bool,
}

#[derive(Debug, Clone)]
enum Continued {
    /// An MDX import/export (ESM) block: it runs to the next blank line.
    Statement,
    /// An MDX expression (`{/* … */}`, `{cond && (…)}`) spread over lines: braces still open,
    /// and where the scan stands (inside a comment or a string).
    Expression { depth: i32, scan: BraceScan },
    /// `{% comment %}` … `{% endcomment %}`.
    LiquidComment,
    /// A JSX tag spread over lines (`<TabItem\n value="x"\n label="Linux">`): its text so far
    /// (the first 4 KiB, enough for its attributes) and where the scan for its end stands.
    Jsx(String, TagScan),
    /// An ERB tag that has not reached `%>`.
    Erb,
}

impl Reader {
    fn line<'l>(&mut self, index: usize, line: &'l str) -> Cow<'l, str> {
        if !self.started {
            self.started = true;
            if line.trim_end() == "---" || line.trim_end() == "+++" {
                self.front_matter = true;
                return Cow::Borrowed(line);
            }
        }
        if self.front_matter {
            if matches!(line.trim_end(), "---" | "+++" | "...") {
                self.front_matter = false;
            }
            return Cow::Borrowed(line);
        }
        let (columns, _) = indentation(line);
        let blank = line.trim().is_empty();
        // MkDocs containers end at the first line, not blank, indented less than their body.
        if !blank {
            while let Some(top) = self.containers.last() {
                if columns >= top.indent + 4 {
                    break;
                }
                let top = self.containers.pop().expect("just seen");
                if let Some(tab) = top.tab {
                    self.tabs[tab].last = self.tabs[tab].last.max(index.saturating_sub(1));
                    self.mkdocs_group = Some((top.indent, self.tabs[tab].group));
                }
                // A fence inside the container ends with it.
                self.fence = None;
            }
        }
        let depth: usize = self.containers.last().map_or(0, |c| c.indent + 4);
        let prefix = if self.containers.is_empty() { String::new() } else { self.prefix(blank) };
        let content = if blank { "" } else { from_column(line, depth) };
        for container in &self.containers {
            if let Some(tab) = container.tab {
                self.tabs[tab].last = index;
            }
        }
        for group in &self.explicit {
            if let Some(tab) = group.open {
                self.tabs[tab].last = index;
            }
        }
        if blank {
            // An unfinished import, JSX tag or ERB tag ends at a blank line (as an MDX ESM
            // block does); an MDX comment or expression, or a Liquid comment, does not.
            if !matches!(self.continued, Some(Continued::Expression { .. } | Continued::LiquidComment)) {
                self.continued = None;
            }
            return if self.containers.is_empty() { Cow::Borrowed(line) } else { Cow::Owned(prefix) };
        }
        let ends_code_tab = self.raw_code_tab && content.trim_start().starts_with("{{") && content.contains("/tab");
        if let (Some(fence), false) = (self.fence, ends_code_tab) {
            if self.mdx_shift > 0 {
                let content = shifted(content, self.mdx_shift);
                if closes(fence, content) {
                    self.fence = None;
                    self.mdx_shift = 0;
                }
                return Cow::Borrowed(content);
            }
            if closes(fence, content) {
                self.fence = None;
            }
            return self.join(&prefix, line, content);
        }
        let next_tab = MKDOCS_TAB.is_match(content.trim());
        if !(next_tab && Some(columns) == self.mkdocs_group.map(|(indent, _)| indent)) {
            self.mkdocs_group = None;
        }
        let rewritten = self.construct(index, content, columns, depth);
        match rewritten {
            Some(text) => Cow::Owned(format!("{prefix}{text}")),
            None => {
                let opened = fence_opener(content);
                // MDX has no indented code: a fence indented four columns or more is a fence, moved
                // to where CommonMark reads it as one (at the top, outside lists).
                let (columns, _) = indentation(content);
                let shift = if opened.is_some() && self.dialect.mdx && self.containers.is_empty() && columns > 3 {
                    columns - 3
                } else {
                    0
                };
                if let Some(fence) = opened {
                    self.open_fence(index, fence);
                    self.mdx_shift = shift;
                    if shift > 0 {
                        return Cow::Borrowed(shifted(content, shift));
                    }
                }
                self.join(&prefix, line, content)
            }
        }
    }

    /// A fence opens at line `index`: its title, the tabs holding it.
    fn open_fence(&mut self, index: usize, fence: Fence) {
        self.fence = Some(fence);
        self.fence_repaired = self.repairing;
        if let Some(title) = self.pending_code_title.take() {
            self.code_titles.push((index, title));
        }
        let mut holding: Vec<usize> = self.containers.iter().filter_map(|c| c.tab).collect();
        holding.extend(self.explicit.iter().filter_map(|g| g.open));
        if !holding.is_empty() {
            holding.sort_by_key(|t| self.tabs[*t].first);
            self.fence_tabs.push((index, holding));
        }
    }

    /// The line as it stands when only the containers' columns change.
    fn join<'l>(&self, prefix: &str, line: &'l str, content: &'l str) -> Cow<'l, str> {
        if self.containers.is_empty() {
            return Cow::Borrowed(line);
        }
        Cow::Owned(format!("{prefix}{content}"))
    }

    /// What stands for the containers' columns: `>   ` per admonition, four spaces per tab.
    fn prefix(&self, blank: bool) -> String {
        let mut prefix = String::new();
        let mut column = 0;
        for container in &self.containers {
            prefix.push_str(&" ".repeat(container.indent.saturating_sub(column)));
            prefix.push_str(if container.quote { ">   " } else { "    " });
            column = container.indent + 4;
        }
        if blank {
            // A blank line keeps the quotes open (a fenced block inside one must not end).
            let trimmed = prefix.trim_end();
            if trimmed.ends_with('>') {
                return trimmed.to_owned();
            }
            return String::new();
        }
        prefix
    }

    /// A line outside code that is one of the constructs: what it becomes, or None to keep it.
    fn construct(&mut self, index: usize, content: &str, columns: usize, depth: usize) -> Option<String> {
        let trimmed = content.trim();
        let indent = &content[..content.len() - content.trim_start().len()];
        if let Some(continued) = self.continued.take() {
            return Some(self.continue_construct(index, continued, trimmed));
        }
        // MkDocs admonitions (`!!! warning "Title"`, `??? note`) and content tabs.
        if let Some(found) = ADMONITION.captures(trimmed) {
            let title = match found.get(2) {
                Some(title) => label(title.as_str()),
                None => title_case(&found[1]),
            };
            self.containers.push(Container { indent: columns, quote: true, tab: None });
            return Some(if title.is_empty() {
                format!("{indent}>")
            } else {
                format!("{indent}> **{}**", escape(&title))
            });
        }
        if let Some(found) = MKDOCS_TAB.captures(trimmed) {
            // `===!` starts a new set of tabs even right after another.
            let group = match self.mkdocs_group.take() {
                Some((at, group)) if at == columns && found[1].is_empty() => group,
                _ => self.new_group(),
            };
            let label = label(&found[2]);
            self.tabs.push(Tab { group, label: label.clone(), first: index, last: index });
            self.containers.push(Container { indent: columns, quote: false, tab: Some(self.tabs.len() - 1) });
            return Some(format!("{indent}-   **{}**", escape(&label)));
        }
        if let Some(found) = HEADING_ATTRIBUTES.captures(trimmed) {
            return Some(format!("{indent}{} {{{}}}", &found[1], found[2].trim()));
        }
        if ATTRIBUTE_LINE.is_match(trimmed) || SNIPPET.is_match(trimmed) {
            return Some(String::new());
        }
        if let Some(found) = DOCUSAURUS_ADMONITION.captures(trimmed) {
            let kind = found.get(1).map(|k| title_case(k.as_str()));
            let title = found.get(2).or(found.get(3)).map(|t| t.as_str().trim().to_owned()).filter(|t| !t.is_empty());
            return Some(match (kind, title) {
                (_, Some(title)) => format!("{indent}**{}**", escape(&title)),
                (Some(kind), None) => format!("{indent}**{kind}**"),
                (None, None) => String::new(),
            });
        }
        if trimmed.starts_with("{{") && self.whole_line(&SHORTCODE, trimmed) {
            return Some(self.shortcodes(index, trimmed, indent));
        }
        if trimmed.starts_with("{%") && self.whole_line(&LIQUID, trimmed) {
            return Some(self.liquid(index, trimmed, indent));
        }
        if self.dialect.erb && trimmed.starts_with("<%") && !trimmed.contains("%>") {
            self.continued = Some(Continued::Erb);
            return Some(String::new());
        }
        if self.dialect.mdx {
            if let Some(text) = self.mdx(index, content, trimmed, indent, depth) {
                return Some(text);
            }
        }
        // Inline: Hugo `ref`s become the paths they name, ERB output a muted marker, icon codes
        // go.
        let mut text: Cow<'_, str> = match without_icons(content) {
            Some(text) => Cow::Owned(text),
            None => Cow::Borrowed(content),
        };
        if text.contains("ref") && text.contains("{{") {
            text = Cow::Owned(REF.replace_all(&text, "$1").into_owned());
        }
        if self.dialect.erb && text.contains("<%") {
            text = Cow::Owned(
                ERB.replace_all(&text, |c: &regex::Captures<'_>| match &c[1] {
                    "=" => format!("<code class=\"site-template\">{}</code>", escape(c[2].trim())),
                    _ => String::new(),
                })
                .into_owned(),
            );
        }
        match text {
            Cow::Owned(text) => Some(text),
            Cow::Borrowed(_) => None,
        }
    }

    fn continue_construct(&mut self, index: usize, continued: Continued, trimmed: &str) -> String {
        match continued {
            // An ESM block runs to the next blank line, whatever it holds (a template literal
            // with a fence inside is JavaScript).
            Continued::Statement => {
                self.continued = Some(Continued::Statement);
                String::new()
            }
            Continued::Expression { mut depth, mut scan } => {
                depth += scan.braces(trimmed);
                if depth > 0 {
                    self.continued = Some(Continued::Expression { depth, scan });
                }
                String::new()
            }
            Continued::LiquidComment => {
                if !LIQUID.captures_iter(trimmed).any(|c| c[1].eq_ignore_ascii_case("endcomment")) {
                    self.continued = Some(Continued::LiquidComment);
                }
                String::new()
            }
            Continued::Jsx(mut tag, mut scan) => {
                if tag.len() < 4096 {
                    tag.push(' ');
                    tag.push_str(trimmed);
                }
                if scan.feed(trimmed) {
                    self.jsx(index, &tag);
                } else {
                    self.continued = Some(Continued::Jsx(tag, scan));
                }
                String::new()
            }
            Continued::Erb => {
                if !trimmed.contains("%>") {
                    self.continued = Some(Continued::Erb);
                }
                String::new()
            }
        }
    }

    fn new_group(&mut self) -> u32 {
        self.groups += 1;
        self.groups
    }

    /// Whether `line` is nothing but matches of `pattern` and whitespace.
    fn whole_line(&self, pattern: &Regex, line: &str) -> bool {
        pattern.replace_all(line, "").trim().is_empty()
    }

    fn open_explicit_tab(&mut self, index: usize, given: Option<String>) {
        self.close_explicit_tab(index);
        if self.explicit.is_empty() {
            // A tab outside any group: a group of its own.
            let number = self.new_group();
            self.explicit.push(Group { number, ..Group::default() });
        }
        let group = self.explicit.last_mut().expect("pushed above");
        let label = given
            .map(|l| label(&l))
            .or_else(|| group.labels.get(group.seen).cloned())
            .unwrap_or_else(|| format!("Tab {}", group.seen + 1));
        group.seen += 1;
        self.tabs.push(Tab { group: group.number, label, first: index, last: index });
        group.open = Some(self.tabs.len() - 1);
    }

    /// Closes the innermost group's open tab.
    fn close_explicit_tab(&mut self, index: usize) {
        if let Some(tab) = self.explicit.last_mut().and_then(|g| g.open.take()) {
            self.tabs[tab].last = index;
        }
    }

    fn open_group(&mut self, labels: Vec<String>) {
        let number = self.new_group();
        self.explicit.push(Group { number, labels, seen: 0, open: None });
    }

    fn close_group(&mut self, index: usize) {
        self.close_explicit_tab(index);
        self.explicit.pop();
    }

    /// A line of Hugo shortcodes.
    fn shortcodes(&mut self, index: usize, line: &str, indent: &str) -> String {
        let mut out = String::new();
        for found in SHORTCODE.captures_iter(line) {
            let closing = found.get(2).is_some();
            let name = found[3].to_ascii_lowercase();
            let args = found.get(4).map_or("", |a| a.as_str());
            match (name.as_str(), closing) {
                ("tabs" | "tabpane" | "codetabs", false) => {
                    let labels = QUOTED
                        .captures_iter(args)
                        .filter(|c| !args[..c.get(0).map_or(0, |m| m.start())].trim_end().ends_with('='))
                        .filter_map(|c| c.get(1).or(c.get(2)).map(|m| m.as_str().to_owned()))
                        .collect();
                    self.open_group(labels);
                }
                ("tabs" | "tabpane" | "codetabs", true) => self.close_group(index),
                ("tab" | "codetab", false) => {
                    let label = attribute(args, "header")
                        .or_else(|| attribute(args, "name"))
                        .or_else(|| attribute(args, "title"))
                        .or_else(|| {
                            QUOTED.captures(args).and_then(|c| c.get(1).or(c.get(2))).map(|m| m.as_str().to_owned())
                        });
                    self.open_explicit_tab(index, label);
                    // Docsy: a tab with `lang` holds code, not Markdown.
                    if let Some(lang) = attribute(args, "lang") {
                        self.open_fence(index, Fence { marker: '`', len: 3 });
                        self.raw_code_tab = true;
                        out = format!("{indent}```{lang}");
                    }
                }
                ("tab" | "codetab", true) => {
                    if self.raw_code_tab {
                        self.raw_code_tab = false;
                        self.fence = None;
                        out = format!("{indent}```");
                    }
                    self.close_explicit_tab(index);
                }
                ("alert" | "note" | "warning" | "hint" | "notice" | "callout" | "admonition", false) => {
                    let title = attribute(args, "title")
                        .or_else(|| {
                            QUOTED.captures(args).and_then(|c| c.get(1).or(c.get(2))).map(|m| m.as_str().to_owned())
                        })
                        .unwrap_or_else(|| title_case(&name));
                    out = format!("{indent}**{}**", escape(&title));
                }
                _ => {}
            }
        }
        out
    }

    /// A line of Liquid tags (GitBook's `{% hint %}`, `{% tabs %}`, `{% code %}`; Jinja's).
    fn liquid(&mut self, index: usize, line: &str, indent: &str) -> String {
        let mut out = String::new();
        for found in LIQUID.captures_iter(line) {
            let name = found[1].to_ascii_lowercase();
            let args = &found[2];
            match name.as_str() {
                "tabs" => self.open_group(Vec::new()),
                "comment" if !line.contains("endcomment") => self.continued = Some(Continued::LiquidComment),
                "endtabs" => self.close_group(index),
                "tab" => self.open_explicit_tab(index, attribute(args, "title")),
                "endtab" => self.close_explicit_tab(index),
                "hint" => {
                    let style = attribute(args, "style").unwrap_or_else(|| "hint".to_owned());
                    let title = match style.as_str() {
                        "info" => "Note".to_owned(),
                        "danger" => "Danger".to_owned(),
                        "success" => "Tip".to_owned(),
                        other => title_case(other),
                    };
                    out = format!("{indent}**{}**", escape(&title));
                }
                "code" => self.pending_code_title = attribute(args, "title"),
                _ => {}
            }
        }
        out
    }

    /// MDX: statements, JSX elements and comments outside code.
    fn mdx(&mut self, index: usize, content: &str, trimmed: &str, indent: &str, depth: usize) -> Option<String> {
        let statement = trimmed.starts_with("import ") || trimmed.starts_with("export ");
        if depth == 0 && !content.starts_with([' ', '\t']) && statement {
            self.continued = Some(Continued::Statement);
            return Some(String::new());
        }
        // A line that starts an expression (`{/* comment */}`, `{cond && (`): everything to
        // its closing brace is JavaScript, never Markdown.
        if trimmed.starts_with('{') {
            let mut scan = BraceScan::default();
            let depth = scan.braces(trimmed);
            if depth > 0 {
                self.continued = Some(Continued::Expression { depth, scan });
            }
            return Some(String::new());
        }
        if trimmed.starts_with("{/*") && trimmed.ends_with("*/}") {
            return Some(String::new());
        }
        let starts_jsx = trimmed.starts_with('<')
            && trimmed[1..].trim_start_matches('/').starts_with(|c: char| c.is_ascii_uppercase());
        let html_wrapper =
            ["<details", "</details>", "<summary", "<div", "</div>"].iter().any(|t| trimmed.starts_with(t));
        if html_wrapper {
            if let Some(summary) = trimmed.strip_prefix("<summary>").and_then(|s| s.strip_suffix("</summary>")) {
                return Some(format!("{indent}**{}**", escape(summary.trim())));
            }
            if trimmed.starts_with("<details") || trimmed.starts_with("</details") {
                return Some(String::new());
            }
            return None;
        }
        if !starts_jsx {
            return None;
        }
        let mut scan = TagScan::default();
        if !scan.feed(&trimmed[1..]) {
            self.continued = Some(Continued::Jsx(trimmed.to_owned(), scan));
            return Some(String::new());
        }
        // A line of tags only (`<TabItem value="a">`, `</Tabs>`, `<Partial />`) disappears;
        // a component with text inside on the same line is left as written.
        if trimmed.ends_with("/>") && !trimmed.contains("TabItem") && trimmed.matches('<').count() == 1 {
            // A component that renders something (often an imported partial): a muted marker.
            let name: String = trimmed[1..].chars().take_while(|c| c.is_alphanumeric() || *c == '.').collect();
            return Some(format!("{indent}<code class=\"site-template\">{}</code>", escape(&name)));
        }
        if trimmed.ends_with('>') {
            let label = self.jsx(index, trimmed);
            return Some(label.map_or_else(String::new, |label| format!("{indent}**{}**", escape(&label))));
        }
        None
    }

    /// The tabs a line of JSX opens or closes; the label to show for a tab.
    fn jsx(&mut self, index: usize, tags: &str) -> Option<String> {
        let mut label = None;
        for tag in tags.split('<').filter(|t| !t.trim().is_empty()) {
            let closing = tag.starts_with('/');
            let name: String = tag.trim_start_matches('/').chars().take_while(|c| c.is_alphanumeric()).collect();
            let self_closing = tag.trim_end().ends_with("/>");
            match (name.as_str(), closing) {
                ("Tabs", false) if !self_closing => self.open_group(Vec::new()),
                ("Tabs", true) => self.close_group(index),
                ("TabItem", false) => {
                    let given = attribute(tag, "label").or_else(|| attribute(tag, "value"));
                    self.open_explicit_tab(index, given.clone());
                    label = given;
                    if self_closing {
                        self.close_explicit_tab(index);
                    }
                }
                ("TabItem", true) => self.close_explicit_tab(index),
                _ => {}
            }
        }
        label
    }

    fn finish(&mut self, lines: usize) {
        let last = lines.saturating_sub(1);
        for container in std::mem::take(&mut self.containers) {
            if let Some(tab) = container.tab {
                self.tabs[tab].last = self.tabs[tab].last.max(last);
            }
        }
        // Trailing blank lines are no part of a tab.
        self.tabs.retain(|t| t.first <= t.last);
    }
}

/// Braces of JavaScript read line by line: outside strings and comments (`/* … */`, `//`).
#[derive(Debug, Clone, Copy, Default)]
struct BraceScan {
    quote: Option<char>,
    comment: bool,
}

impl BraceScan {
    /// Opened minus closed braces in `line`.
    fn braces(&mut self, line: &str) -> i32 {
        let mut depth = 0;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if self.comment {
                if c == '*' && chars.peek() == Some(&'/') {
                    chars.next();
                    self.comment = false;
                }
                continue;
            }
            match (self.quote, c) {
                (Some(q), c) if c == q => self.quote = None,
                (Some(_), '\\') => {
                    chars.next();
                }
                (Some(_), _) => {}
                (None, '\'' | '"' | '`') => self.quote = Some(c),
                (None, '/') if chars.peek() == Some(&'*') => {
                    chars.next();
                    self.comment = true;
                }
                (None, '/') if chars.peek() == Some(&'/') => break,
                (None, '{') => depth += 1,
                (None, '}') => depth -= 1,
                _ => {}
            }
        }
        // A string does not run on past its line (but a template literal does).
        if matches!(self.quote, Some('\'' | '"')) {
            self.quote = None;
        }
        depth
    }
}

/// Where the scan for a JSX tag's closing `>` stands (outside quotes and braces), fed line by
/// line so a long tag costs its length once.
#[derive(Debug, Clone, Copy, Default)]
struct TagScan {
    quote: Option<char>,
    braces: i32,
}

impl TagScan {
    /// Reads `text`; whether the tag ended in it.
    fn feed(&mut self, text: &str) -> bool {
        for c in text.chars() {
            match (self.quote, c) {
                (Some(q), c) if c == q => self.quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"' | '`') => self.quote = Some(c),
                (None, '{') => self.braces += 1,
                (None, '}') => self.braces -= 1,
                (None, '>') if self.braces <= 0 => return true,
                _ => {}
            }
        }
        false
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A template tag inside a code block that chooses lines (`{% if %}`, `{% for %}`, `<% if %>`,
/// `<% end %>`): the site shows some of the block's lines, and which depends on its build.
pub(crate) fn is_template_control(line: &str, dialect: Dialect) -> bool {
    const CONTROL: &[&str] = &[
        "if",
        "elsif",
        "elif",
        "else",
        "unless",
        "case",
        "when",
        "for",
        "endif",
        "endfor",
        "endunless",
        "endcase",
        "end",
        "each",
        "while",
    ];
    let liquid = LIQUID.captures_iter(line).any(|c| CONTROL.contains(&c[1].to_ascii_lowercase().as_str()));
    let erb = dialect.erb
        && ERB.captures_iter(line).any(|c| {
            let code = c[2].trim();
            let first = code.split(|ch: char| !ch.is_alphanumeric() && ch != '_').next().unwrap_or("");
            CONTROL.contains(&first) || code.contains(".each") || code.ends_with(" do") || code.ends_with(" do |")
        });
    liquid || erb
}

/// A line inside a code block that belongs to the site's templating, not to the code: a
/// snippet include (`--8<--`), a Hugo shortcode, a Liquid/Jinja tag on a line of its own, ERB
/// (in an ERB file). Returns what it is, for the warning.
pub(crate) fn code_directive(line: &str, dialect: Dialect) -> Option<&'static str> {
    let trimmed = line.trim();
    if SNIPPET.is_match(trimmed) {
        return Some("an MkDocs snippet include (`--8<--`)");
    }
    if trimmed.starts_with("{{") && SHORTCODE.is_match(trimmed) && SHORTCODE.replace_all(trimmed, "").trim().is_empty()
    {
        return Some("a Hugo shortcode");
    }
    if trimmed.starts_with("{%") && LIQUID.replace_all(trimmed, "").trim().is_empty() {
        return Some("a template tag (`{% … %}`)");
    }
    if dialect.erb && ERB.is_match(trimmed) {
        return Some("an ERB tag (`<% … %>`)");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn admonitions_become_quotes_with_the_same_lines_and_columns() {
        let source = "Intro\n\n!!! warning \"Before you start\"\n\n    Check the pods:\n\n    ```bash\n    kubectl get pods\n    ```\n\nAfter\n";
        let read = read(source, Dialect::default());
        assert_eq!(
            lines(&read.text),
            [
                "Intro",
                "",
                "> **Before you start**",
                ">",
                ">   Check the pods:",
                ">",
                ">   ```bash",
                ">   kubectl get pods",
                ">   ```",
                ">",
                "After"
            ]
        );
        assert_eq!(read.text.lines().count(), source.lines().count());
    }

    #[test]
    fn mkdocs_tabs_are_alternatives_in_one_group() {
        assert_eq!(label(":material-console: From command line"), "From command line");
        assert_eq!(label("Step 1: do it"), "Step 1: do it");
        let source = "=== \"Linux\"\n\n    ```bash\n    ls\n    ```\n\n=== \"macOS\"\n\n    ```bash\n    ls -G\n    ```\n\nNext\n\n=== \"A\"\n    x\n";
        let read = read(source, Dialect::default());
        let tabs: Vec<(u32, &str, usize, usize)> =
            read.tabs.iter().map(|t| (t.group, t.label.as_str(), t.first, t.last)).collect();
        assert_eq!(tabs, [(1, "Linux", 0, 5), (1, "macOS", 6, 11), (2, "A", 14, 15)]);
        assert!(read.text.starts_with("-   **Linux**\n\n    ```bash\n"), "{}", read.text);
    }

    #[test]
    fn nested_admonition_inside_a_list_item() {
        let source = "1. Step\n\n    ??? note \"Expected output\"\n\n        ```text\n        ok\n        ```\n";
        let read = read(source, Dialect::default());
        assert_eq!(lines(&read.text)[2], "    > **Expected output**");
        assert_eq!(lines(&read.text)[4], "    >   ```text");
    }

    #[test]
    fn mdx_statements_and_jsx_are_neither_prose_nor_steps() {
        let source = "import Tabs from '@theme/Tabs';\nimport {\n  A,\n} from 'x';\n\n<Tabs groupId=\"os\">\n<TabItem\n  value=\"deb\"\n  label=\"Debian\">\n\n```bash\napt install x\n```\n\n</TabItem>\n<TabItem value=\"rpm\" label=\"RHEL\">\n\n```bash\ndnf install x\n```\n\n</TabItem>\n</Tabs>\n\n<Partial />\n{/* hidden */}\n";
        let read = read(source, Dialect { mdx: true, erb: false });
        let text = lines(&read.text);
        assert!(text[..5].iter().all(String::is_empty), "{text:?}");
        assert_eq!(text[6..9], ["", "", ""]);
        assert_eq!(text[15], "**RHEL**");
        assert_eq!(text[24], "<code class=\"site-template\">Partial</code>");
        assert_eq!(text[25], "");
        let tabs: Vec<(u32, &str)> = read.tabs.iter().map(|t| (t.group, t.label.as_str())).collect();
        assert_eq!(tabs, [(1, "Debian"), (1, "RHEL")]);
        assert!(read.tabs[0].first <= 10 && read.tabs[0].last >= 12);
    }

    #[test]
    fn hugo_shortcodes_and_tabs() {
        let source = "{{< tabs \"Linux\" \"Windows\" >}}\n{{% codetab %}}\n```bash\nls\n```\n{{% /codetab %}}\n{{% codetab %}}\n```powershell\ndir\n```\n{{% /codetab %}}\n{{< /tabs >}}\n{{% alert title=\"Note\" color=\"primary\" %}}\nText\n{{% /alert %}}\nSee [x]({{< ref \"setup.md\" >}}).\n";
        let read = read(source, Dialect::default());
        let text = lines(&read.text);
        assert_eq!(text[0], "");
        assert_eq!(text[12], "**Note**");
        assert_eq!(text[15], "See [x](setup.md).");
        let tabs: Vec<(&str, usize, usize)> = read.tabs.iter().map(|t| (t.label.as_str(), t.first, t.last)).collect();
        assert_eq!(tabs, [("Linux", 1, 5), ("Windows", 6, 10)]);
    }

    #[test]
    fn docsy_code_tabs_become_fences() {
        let source = "{{< tabpane >}}\n{{< tab header=\"Helm\" lang=\"bash\" >}}\nhelm install x\n{{< /tab >}}\n{{< /tabpane >}}\n";
        let read = read(source, Dialect::default());
        assert_eq!(lines(&read.text), ["", "```bash", "helm install x", "```", ""]);
        assert_eq!(read.tabs[0].label, "Helm");
    }

    #[test]
    fn gitbook_blocks() {
        let source = "{% hint style=\"warning\" %}\nCareful\n{% endhint %}\n{% tabs %}\n{% tab title=\"CLI\" %}\n{% code title=\"Restart\" %}\n```bash\nnats server restart\n```\n{% endcode %}\n{% endtab %}\n{% endtabs %}\n";
        let read = read(source, Dialect::default());
        let text = lines(&read.text);
        assert_eq!(text[0], "**Warning**");
        assert!(text[2..6].iter().all(String::is_empty));
        assert_eq!(read.code_titles, [(6, "Restart".to_owned())]);
        assert_eq!(read.tabs[0].label, "CLI");
        assert!(read.tabs[0].first <= 6 && read.tabs[0].last >= 8);
    }

    #[test]
    fn erb_tags_are_dropped_or_muted() {
        let source = "<%= partial \"/x\" %>\nUse <%= vars.app_runtime_abbr %> here.<%# note %>\n<% if x\n  y %>\n```\n$ cf apps <%= vars.org %>\n```\n";
        let read = read(source, Dialect { mdx: false, erb: true });
        let text = lines(&read.text);
        assert_eq!(text[0], "<code class=\"site-template\">partial &quot;/x&quot;</code>");
        assert_eq!(text[1], "Use <code class=\"site-template\">vars.app_runtime_abbr</code> here.");
        assert_eq!(text[2..4], ["", ""]);
        assert_eq!(text[5], "$ cf apps <%= vars.org %>", "code is never rewritten");
        assert_eq!(
            code_directive("$ cf apps <%= vars.org %>", Dialect { mdx: false, erb: true }),
            Some("an ERB tag (`<% … %>`)")
        );
    }

    #[test]
    fn a_fence_with_a_line_break_glued_on_is_repaired() {
        let source = "```bash<br>\nuptime\n```<br/>\n\nProse, never a command.\n";
        let read = read(source, Dialect::default());
        assert_eq!(lines(&read.text), ["```bash", "uptime", "```", "", "Prose, never a command."]);
        assert_eq!(read.repairs.iter().map(|(line, _)| *line).collect::<Vec<_>>(), [0, 2]);
    }

    #[test]
    fn unfinished_constructs_end_at_a_blank_line() {
        let mut source = String::from("export const x = {\n  a: 1,\n\n<Foo\n  bar=\"1\"\n\n<%= x\n\n");
        source.push_str("```bash\nuptime\n```\n");
        let read = read(&source, Dialect { mdx: true, erb: true });
        assert!(read.text.ends_with("```bash\nuptime\n```\n"), "{}", read.text);
    }

    #[test]
    fn heading_attributes_and_snippets() {
        let source = "## Restore {: #restore-backup }\n--8<-- \"proxysql.md\"\n{: .note }\n{.power-number}\n[Go :octicons-link-external-16:](https://x.org){.md-button} `a:b-c:d`\n{props.x}\n";
        let read = read(source, Dialect::default());
        assert_eq!(
            lines(&read.text),
            ["## Restore {#restore-backup}", "", "", "", "[Go ](https://x.org) `a:b-c:d`", "{props.x}"]
        );
        assert!(code_directive("--8<-- \"x.sh\"", Dialect::default()).is_some());
        assert_eq!(code_directive("kubectl get pods", Dialect::default()), None);
        assert_eq!(code_directive("{{< readfile file=\"x\" >}}", Dialect::default()), Some("a Hugo shortcode"));
        assert_eq!(code_directive("helm install --version={{% v %}} x", Dialect::default()), None, "a blank to fill");
    }

    #[test]
    fn front_matter_and_plain_markdown_are_borrowed_unchanged() {
        let source = "---\ntitle: x\n---\n# Title\n\n```bash\n!!! not an admonition in code\n```\n";
        assert!(matches!(read(source, Dialect::default()).text, Cow::Borrowed(_)));
    }
}
