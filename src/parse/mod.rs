//! Markdown -> [`Runbook`]: headings, front matter, fenced blocks, and for each block that holds
//! shell, a [`Step`] with its commands, placeholders, risk and flags.
//!
//! The pipeline is visible in [`parse_runbook`]: `recover` closes unterminated fences,
//! pulldown-cmark walks the document with source offsets, `fence` types the info string,
//! `block` finds the commands (with `shell`, `shape`, `risk`), `placeholder` finds the blanks,
//! `template` the hand-filled texts. This module knows nothing of HTML, processes or files on
//! disk beyond the text it is handed.

mod block;
mod dialect;
mod evaluated;
pub(crate) mod fence;
mod frontmatter;
mod interpreter;
mod lines;
mod placeholder;
pub(crate) use placeholder::mask_angles;

/// The variables a script reads where bash evaluates their values: names (bare or as `$NAME`)
/// inside arithmetic, and `$NAME` where a variable name is taken.
pub fn evaluated_names(script: &str) -> Vec<(String, crate::model::Evaluation)> {
    evaluated::names(&shell::lex(&mask_angles(script)), script)
}
mod recover;
mod risk;
mod shape;
pub(crate) mod shell;
mod slug;
mod template;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, MetadataBlockKind, Parser, Tag, TagEnd};
use regex::Regex;

use crate::diagnostic::Diagnostic;
use crate::model::{Alternative, Command, FrontMatter, Risk, Runbook, Section, SourceLine, Step, Template};
pub use dialect::Dialect;
pub use slug::slug;

/// Settings the parser takes from the book.
#[derive(Debug, Default)]
pub struct ParseOptions {
    /// Extra risk rules from `book.toml`, tried before the built-in ones.
    pub risk_rules: Vec<(Regex, Risk, String)>,
    /// Shell aliases steps may use (name, what it stands for): `k` for `kubectl` and
    /// `[opsbook] aliases`. A command using one is judged as the aliased tool.
    pub aliases: Vec<(String, String)>,
    /// The book is a Docusaurus site: every page is MDX.
    pub docusaurus: bool,
}

/// A parsed runbook and the warnings found on the way.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub runbook: Runbook,
    pub diagnostics: Vec<Diagnostic>,
}

/// Tags that mark a shell block: content still decides. The one list: the parser, `check` and
/// the highlighter ask [`is_shell`].
pub(crate) const SHELL_TAGS: &[&str] = &[
    "bash",
    "sh",
    "shell",
    "zsh",
    "ksh",
    "console",
    "shell-session",
    "shellsession",
    "bash-session",
    "sh-session",
    "terminal",
    "shell-script",
    "shellscript",
    "fish",
];

/// Whether a fence's language tag says "shell" (`bash`, `zsh`, `console`, `shell-session`, …),
/// whatever its case. Such a block is a step when it holds commands.
pub(crate) fn is_shell(lang: &str) -> bool {
    SHELL_TAGS.iter().any(|tag| tag.eq_ignore_ascii_case(lang))
}

/// Languages that are never steps. Any other tag (typos such as `shel`, `8sh`) is treated as
/// untagged: the content decides, strictly.
const OTHER_LANGUAGES: &[&str] = &[
    "output",
    "log",
    "logs",
    "yaml",
    "yml",
    "json",
    "jsonc",
    "json5",
    "toml",
    "ini",
    "conf",
    "cfg",
    "sql",
    "psql",
    "pgsql",
    "mysql",
    "promql",
    "logql",
    "python",
    "py",
    "ruby",
    "rb",
    "go",
    "golang",
    "rust",
    "rs",
    "js",
    "javascript",
    "ts",
    "typescript",
    "java",
    "c",
    "cpp",
    "c++",
    "cs",
    "csharp",
    "html",
    "xml",
    "css",
    "markdown",
    "md",
    "diff",
    "patch",
    "dockerfile",
    "docker",
    "hcl",
    "terraform",
    "tf",
    "lua",
    "perl",
    "php",
    "jsonnet",
    "nginx",
    "apache",
    "csv",
    "tsv",
    "graphql",
    "mermaid",
    "properties",
    "powershell",
    "ps1",
    "pwsh",
    "bat",
    "cmd",
    "batch",
    "groovy",
    "kotlin",
    "swift",
    "scala",
    "haskell",
    "elixir",
    "erlang",
    "r",
    "make",
    "makefile",
    "cmake",
    "proto",
    "protobuf",
    "nix",
    "rego",
    "cue",
    "starlark",
    "jinja",
    "j2",
    "tmpl",
    "handlebars",
    "gotemplate",
    "helm",
    "promql-expr",
    "spl",
    "kql",
    "lucene",
    "vim",
    "awk",
    "sed",
    "jq",
    "redis",
    "http",
    "email",
    "ruby-console",
    "irb",
    "pycon",
    "scss",
    "less",
    "svg",
    "tex",
    "latex",
    "rst",
    "asciidoc",
    "none",
];

/// Tags that say "no highlighting" rather than "not code": Docusaurus and GitBook sites tag the
/// commands they want copied `text`. Content decides, more strictly still than untagged.
const PLAIN_TAGS: &[&str] = &["text", "txt", "plain", "plaintext"];

/// Tags under which an untagged-style block may be a template.
const TEMPLATE_TAGS: &[&str] = &["text", "txt", "plain", "plaintext", "markdown", "md"];

/// Parses one runbook. `display_path` is used in diagnostics; `rel_path` is the runbook's path in
/// the book. Never panics, whatever the text.
pub fn parse_runbook(display_path: &Path, rel_path: &str, source: &str, options: &ParseOptions) -> Parsed {
    let dialect = Dialect::of(rel_path, options.docusaurus);
    let mut parsed = walk_runbook(display_path, rel_path, source, options, dialect);
    parsed.runbook.source = source.into();
    parsed.runbook.dialect = dialect;
    parsed
}

/// [`parse_runbook`] without keeping the text on the runbook.
fn walk_runbook(display_path: &Path, rel_path: &str, source: &str, options: &ParseOptions, dialect: Dialect) -> Parsed {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    // The site's own syntax first (tabs, admonitions, MDX, ERB), line for line.
    let read = dialect::read(source, dialect);
    let source = &*read.text;
    let marks = Marks { tabs: &read.tabs, fence_tabs: &read.fence_tabs, code_titles: &read.code_titles, dialect };
    let mut diagnostics: Vec<Diagnostic> = read
        .repairs
        .iter()
        .map(|(line, what)| {
            Diagnostic::warning("broken-fence", display_path, format!("{what}; opsbook reads it without the `<br>`"))
                .at(source, *line as u32 + 1, 1)
                .with_help("remove the `<br>` so that other tools read the fence too")
        })
        .collect();
    // One walk in the common case; a file with an unclosed fence is repaired and walked again.
    let first = Walk::new(display_path, source, options, &marks).run(rel_path);
    if !first.unterminated_fence {
        let mut parsed = first.parsed;
        parsed.diagnostics.append(&mut diagnostics);
        parsed.diagnostics.sort_by_key(|d| (d.line, d.col));
        return parsed;
    }
    let (text, unterminated) = recover::recover(source);
    for fence in &unterminated {
        let (message, help) = match (fence.closed_at, fence.to_end_of_file) {
            (Some(line), _) => (
                "code fence is never closed".to_owned(),
                format!(
                    "opsbook closed it at line {line}, before the heading that follows; add the closing fence there"
                ),
            ),
            (None, true) => (
                "code fence is never closed: the rest of the file is code".to_owned(),
                "add a closing fence (the same backticks or tildes) after the block".to_owned(),
            ),
            (None, false) => (
                "code fence is not closed before its list item or quote ends".to_owned(),
                "add a closing fence at the same indentation as the opening one".to_owned(),
            ),
        };
        diagnostics.push(
            Diagnostic::warning("unterminated-fence", display_path, message)
                .at(source, fence.line, fence.col)
                .with_help(help),
        );
    }
    let walk = Walk::new(display_path, &text, options, &marks);
    let mut parsed = walk.run(rel_path).parsed;
    diagnostics.append(&mut parsed.diagnostics);
    diagnostics.sort_by_key(|d| (d.line, d.col));
    Parsed { runbook: parsed.runbook, diagnostics }
}

/// Byte offset of the start of each line of `text` (0 first).
pub fn line_starts(text: &str) -> Vec<usize> {
    lines::starts(text)
}

/// The Markdown a renderer should read: the byte-order mark removed, the site's own syntax read
/// in the runbook's dialect, and unterminated fences closed as the parser closed them, so that
/// the rendered page and the step model agree line for line.
pub fn markdown_for_render(source: &str, dialect: Dialect) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    match dialect::read(source, dialect).text {
        Cow::Borrowed(text) => recover::recover(text).0,
        Cow::Owned(text) => Cow::Owned(recover::recover(&text).0.into_owned()),
    }
}

/// Every fenced block of a runbook's text, as the parser reads them (the text repaired as
/// [`parse_runbook`] repairs it): the line of its opening fence and its info string, typed.
pub(crate) fn fences(source: &str, dialect: Dialect) -> Vec<(u32, fence::Info)> {
    let markdown = markdown_for_render(source, dialect);
    let starts = lines::starts(&markdown);
    Parser::new_ext(&markdown, recover::parser_options())
        .into_offset_iter()
        .filter_map(|(event, range)| match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                Some((starts.partition_point(|s| *s <= range.start) as u32, fence::parse_info(&info)))
            }
            _ => None,
        })
        .collect()
}

/// A fenced block as the walk found it.
struct FencedBlock {
    info: String,
    /// 0-based line of the opening fence.
    fence_line: usize,
    fence_col: u32,
    /// 0-based line of the last line of the block (the closing fence when there is one).
    end_line: usize,
    content: String,
    section: Vec<String>,
    section_anchor: Option<String>,
    /// The tab the block stands in, if any.
    alternative: Option<Alternative>,
    /// A title the site's syntax gives the block (GitBook's `{% code title %}`).
    title: Option<String>,
}

/// What the dialect set aside for the walk: tabs and block titles by line.
struct Marks<'m> {
    tabs: &'m [dialect::Tab],
    fence_tabs: &'m [(usize, Vec<usize>)],
    code_titles: &'m [(usize, String)],
    dialect: Dialect,
}

impl Marks<'_> {
    /// The alternative a block at `line` is: the outermost group of tabs holding it (a grid of
    /// nested tabs is one choice), labelled by every tab on the way in (`With PMM › 8.0`).
    fn alternative(&self, line: usize) -> Option<Alternative> {
        let at = self.fence_tabs.binary_search_by_key(&line, |(l, _)| *l).ok()?;
        let holding: Vec<&dialect::Tab> = self.fence_tabs[at].1.iter().filter_map(|i| self.tabs.get(*i)).collect();
        let outermost = holding.first()?;
        let label = holding.iter().map(|t| t.label.as_str()).collect::<Vec<_>>().join(" › ");
        Some(Alternative { group: outermost.group, label })
    }
}

struct Walked {
    parsed: Parsed,
    /// A fenced block ended without its closing fence.
    unterminated_fence: bool,
}

struct Walk<'a> {
    display_path: &'a Path,
    text: &'a str,
    lines: Vec<&'a str>,
    line_starts: Vec<usize>,
    options: &'a ParseOptions,
    marks: &'a Marks<'a>,
    diagnostics: Vec<Diagnostic>,
}

impl<'a> Walk<'a> {
    fn new(display_path: &'a Path, text: &'a str, options: &'a ParseOptions, marks: &'a Marks<'a>) -> Self {
        Walk {
            display_path,
            text,
            lines: lines::split(text),
            line_starts: lines::starts(text),
            options,
            marks,
            diagnostics: Vec::new(),
        }
    }

    fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|s| *s <= offset).saturating_sub(1)
    }

    fn warn(&mut self, rule: &'static str, line: u32, col: u32, message: String, help: Option<String>) {
        let mut diagnostic = Diagnostic::warning(rule, self.display_path, message).at(self.text, line, col);
        diagnostic.help = help;
        self.diagnostics.push(diagnostic);
    }

    fn run(mut self, rel_path: &str) -> Walked {
        let mut unterminated_fence = false;
        let mut sections: Vec<Section> = Vec::new();
        let mut anchors = slug::Unique::default();
        let mut stack: Vec<(u8, String, String)> = Vec::new();
        let mut front_matter = FrontMatter::default();
        let mut blocks: Vec<FencedBlock> = Vec::new();
        let mut first_h1: Option<String> = None;

        let mut heading: Option<(u8, String, Option<String>, usize)> = None;
        let mut metadata: Option<(frontmatter::Format, String, usize)> = None;
        let mut code: Option<FencedBlock> = None;

        for (event, range) in Parser::new_ext(self.text, recover::parser_options()).into_offset_iter() {
            match event {
                Event::Start(Tag::Heading { level, id, .. }) => {
                    heading = Some((heading_level(level), String::new(), id.map(|i| i.to_string()), range.start));
                }
                Event::End(TagEnd::Heading(_)) => {
                    let Some((level, title, explicit_id, start)) = heading.take() else { continue };
                    let title = title.trim().to_owned();
                    let base = explicit_id.unwrap_or_else(|| slug::slug(&title));
                    let base = if base.is_empty() { "section".to_owned() } else { base };
                    let anchor = anchors.claim(&base);
                    if level == 1 && first_h1.is_none() {
                        first_h1 = Some(title.clone());
                    }
                    while stack.last().is_some_and(|(l, _, _)| *l >= level) {
                        stack.pop();
                    }
                    stack.push((level, title.clone(), anchor.clone()));
                    sections.push(Section { level, title, anchor, line: self.line_of(start) as u32 + 1 });
                }
                Event::Start(Tag::MetadataBlock(kind)) => {
                    let format = match kind {
                        MetadataBlockKind::YamlStyle => frontmatter::Format::Yaml,
                        MetadataBlockKind::PlusesStyle => frontmatter::Format::Toml,
                    };
                    metadata = Some((format, String::new(), range.start));
                }
                Event::End(TagEnd::MetadataBlock(_)) => {
                    if let Some((format, text, start)) = metadata.take() {
                        let first_line = self.line_of(start) as u32 + 1;
                        match frontmatter::parse(&text, format) {
                            Ok(parsed) => front_matter = parsed,
                            Err((message, line)) => self.warn(
                                "front-matter",
                                first_line + line.unwrap_or(0),
                                1,
                                format!("front matter is not valid: {message}"),
                                Some(
                                    "fix the front matter; its fields (title, severity, tags…) are ignored until then"
                                        .to_owned(),
                                ),
                            ),
                        }
                    }
                }
                Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                    let fence_line = self.line_of(range.start);
                    let end_line = self.line_of(range.end.saturating_sub(1).max(range.start));
                    unterminated_fence |= !recover::is_closed(&self.lines, fence_line, end_line);
                    let fence_col = self
                        .lines
                        .get(fence_line)
                        .map_or(1, |l| l.chars().take_while(|c| c.is_whitespace()).count() as u32 + 1);
                    let alternative = self.marks.alternative(fence_line);
                    let title =
                        self.marks.code_titles.iter().find(|(line, _)| *line == fence_line).map(|(_, t)| t.clone());
                    code = Some(FencedBlock {
                        info: info.to_string(),
                        fence_line,
                        fence_col,
                        end_line,
                        content: String::new(),
                        section: stack.iter().map(|(_, t, _)| t.clone()).collect(),
                        section_anchor: stack.last().map(|(_, _, a)| a.clone()),
                        alternative,
                        title,
                    });
                }
                Event::End(TagEnd::CodeBlock) => {
                    if let Some(block) = code.take() {
                        blocks.push(block);
                    }
                }
                Event::Text(text) | Event::Code(text) => {
                    if let Some(block) = code.as_mut() {
                        block.content.push_str(&text);
                    } else if let Some((_, title, _, _)) = heading.as_mut() {
                        title.push_str(&text);
                    } else if let Some((_, body, _)) = metadata.as_mut() {
                        body.push_str(&text);
                    }
                }
                Event::SoftBreak | Event::HardBreak => {
                    if let Some((_, title, _, _)) = heading.as_mut() {
                        title.push(' ');
                    }
                }
                _ => {}
            }
        }

        let title = front_matter
            .title
            .clone()
            .or(first_h1)
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| file_stem(rel_path));
        let (steps, templates) = self.steps(blocks, &title);
        Walked {
            parsed: Parsed {
                runbook: Runbook {
                    path: rel_path.to_owned(),
                    title,
                    front_matter,
                    sections,
                    steps,
                    templates,
                    source: Arc::default(),
                    dialect: Dialect::default(),
                },
                diagnostics: self.diagnostics,
            },
            unterminated_fence,
        }
    }

    fn steps(&mut self, blocks: Vec<FencedBlock>, runbook_title: &str) -> (Vec<Step>, Vec<Template>) {
        let mut drafts: Vec<(FencedBlock, fence::Info, block::Analysis)> = Vec::new();
        let mut templates = Vec::new();
        for mut block in blocks {
            if block.content.contains('\r') {
                block.content = block.content.replace("\r\n", "\n");
            }
            let mut info = fence::parse_info(&block.info);
            if block.title.as_deref().is_some_and(fence::names_output) {
                info.settings.ignore = true;
            }
            let line = block.fence_line as u32 + 1;
            for problem in &info.problems {
                self.warn(
                    "fence-attribute",
                    line,
                    block.fence_col,
                    problem.clone(),
                    Some("see the attribute syntax: bash {name=restart-api confirm timeout=30s test}".to_owned()),
                );
            }
            let lang = info.lang.as_deref();
            let tag = match lang {
                None => Some(block::Tag::Untagged),
                Some(l) if is_shell(l) => Some(block::Tag::Shell),
                Some(l) if PLAIN_TAGS.contains(&l) => Some(block::Tag::Plain),
                Some(l) if OTHER_LANGUAGES.contains(&l) => None,
                Some(_) => Some(block::Tag::Untagged),
            };
            let control = block.content.lines().position(|l| dialect::is_template_control(l, self.marks.dialect));
            if let (Some(at), Some(block::Tag::Shell)) = (control, tag) {
                self.warn(
                    "template-in-code",
                    line + 1 + at as u32,
                    1,
                    "this shell block holds template logic (`if`, `for`, `else`): the site shows some of its lines and opsbook cannot tell which, so it is no step".to_owned(),
                    Some("write one block per case (tabs, or a block under each heading)".to_owned()),
                );
            }
            let analysis = match tag {
                Some(_) if control.is_some() => None,
                Some(tag) if !info.settings.ignore => {
                    let (content, directives) = self.set_aside_directives(&block, tag);
                    let mut analysis = block::analyze(&content, &self.options.risk_rules, &self.options.aliases);
                    analysis.not_shell.extend(directives);
                    analysis.not_shell.sort();
                    analysis.is_step(tag).then_some(analysis)
                }
                _ => None,
            };
            match analysis {
                Some(analysis) => {
                    for (key, _) in &info.settings.unknown {
                        self.warn(
                            "unknown-attribute",
                            line,
                            block.fence_col,
                            format!("unknown attribute `{key}` on this step"),
                            Some("known attributes: name, confirm, test, timeout, interactive, ignore, cwd".to_owned()),
                        );
                    }
                    drafts.push((block, info, analysis));
                }
                None => {
                    let may_be_template = lang.is_none_or(|l| TEMPLATE_TAGS.contains(&l));
                    if may_be_template && !info.settings.ignore {
                        if let Some(fields) = template::fields(&block.content, line + 1) {
                            templates.push(Template {
                                title: block.section.last().cloned().unwrap_or_else(|| runbook_title.to_owned()),
                                line,
                                text: block.content.clone(),
                                fields,
                            });
                            continue;
                        }
                    }
                    if info.settings.name.is_some() || info.settings.test || info.settings.confirm {
                        self.warn(
                            "not-a-step",
                            line,
                            block.fence_col,
                            "this block has step attributes but holds no shell command".to_owned(),
                            Some("remove the attributes, or tag the block `bash` if it is meant to run".to_owned()),
                        );
                    }
                }
            }
        }

        // Ids: explicit names first, so a generated id never takes one.
        let mut ids = slug::Unique::default();
        for (block, info, _) in &drafts {
            if let Some(name) = &info.settings.name {
                if !ids.reserve(name) {
                    self.warn(
                        "duplicate-step-id",
                        block.fence_line as u32 + 1,
                        block.fence_col,
                        format!("step name `{name}` is used twice in this runbook"),
                        Some("give each step its own name; the later one gets a suffix".to_owned()),
                    );
                }
            }
        }
        let mut set_earlier: HashMap<String, String> = HashMap::new();
        let mut steps = Vec::new();
        for (block, info, analysis) in drafts {
            let id = match &info.settings.name {
                Some(name) if steps.iter().all(|s: &Step| &s.id != name) => name.clone(),
                Some(name) => ids.claim(name),
                None => {
                    let base = block.section_anchor.clone().unwrap_or_else(|| "step".to_owned());
                    ids.claim(&base)
                }
            };
            let step = self.step(id, block, info, analysis, runbook_title, &mut set_earlier);
            steps.push(step);
        }
        (steps, templates)
    }

    /// The block's text with the site's template lines (`--8<--`, shortcodes, `{% %}`, ERB)
    /// blanked, so they are never commands; each is warned about when the block is shell.
    fn set_aside_directives(&mut self, block: &FencedBlock, tag: block::Tag) -> (String, Vec<(usize, String)>) {
        let mut directives = Vec::new();
        let mut content = String::with_capacity(block.content.len());
        for (index, line) in block.content.split_inclusive('\n').enumerate() {
            if tag == block::Tag::Shell && line.contains("{{") {
                if let Some(found) = placeholder::SHORTCODE
                    .captures(line)
                    .filter(|_| dialect::code_directive(line, self.marks.dialect).is_none())
                {
                    let column = line[..found.get(0).map_or(0, |m| m.start())].chars().count() as u32 + 1;
                    self.warn(
                        "template-in-code",
                        (block.fence_line + 2 + index) as u32,
                        column,
                        format!(
                            "`{}` is a Hugo shortcode the site fills in, not shell; opsbook asks for its value as `{}`",
                            &found[0], &found[1]
                        ),
                        Some("give the value when running, or write it in the block".to_owned()),
                    );
                }
            }
            match dialect::code_directive(line, self.marks.dialect) {
                Some(what) => {
                    if tag == block::Tag::Shell {
                        let file_line = (block.fence_line + 2 + index) as u32;
                        self.warn(
                            "template-in-code",
                            file_line,
                            1,
                            format!(
                                "this line of a shell block is {what}, not shell; it is shown as written and never run"
                            ),
                            Some("move it out of the code block, or write the command it stands for".to_owned()),
                        );
                    }
                    directives.push((index, line.trim_end().to_owned()));
                    content.push_str(if line.ends_with('\n') { "\n" } else { "" });
                }
                None => content.push_str(line),
            }
        }
        (content, directives)
    }

    /// Block line index + byte column in the block's content -> file line and character column.
    fn file_position(
        &self,
        block: &FencedBlock,
        content_lines: &[&str],
        block_line: usize,
        byte_col: usize,
    ) -> (u32, u32) {
        let file_line = block.fence_line + 1 + block_line;
        let content_line = content_lines.get(block_line).copied().unwrap_or("");
        let source_line = self.lines.get(file_line).copied().unwrap_or("");
        let indent = source_line.strip_suffix(content_line).map_or(0, |indent| indent.chars().count());
        let col = content_line.get(..byte_col.min(content_line.len())).map_or(byte_col, |s| s.chars().count());
        (file_line as u32 + 1, (indent + col) as u32 + 1)
    }

    fn step(
        &self,
        id: String,
        block: FencedBlock,
        info: fence::Info,
        analysis: block::Analysis,
        runbook_title: &str,
        set_earlier: &mut HashMap<String, String>,
    ) -> Step {
        let content_lines: Vec<&str> = lines::split(&block.content);
        let mut set_in_step: HashSet<String> = HashSet::new();
        // What later steps may read from this one: its variables, and the names it writes to
        // `$OPSBOOK_OUTPUT`.
        let mut outputs: Vec<String> = Vec::new();
        for found in &analysis.commands {
            set_in_step.extend(placeholder::variables_set(&found.lexed.tokens));
            outputs.extend(placeholder::outputs_written(&found.text));
        }
        let position = |command: usize, offset: usize| {
            let (line, col) = analysis.commands[command].position(offset);
            self.file_position(&block, &content_lines, line, col)
        };
        let texts: Vec<placeholder::CommandText<'_>> = analysis
            .commands
            .iter()
            .enumerate()
            .map(|(index, found)| placeholder::CommandText { index, text: &found.text, lexed: &found.lexed })
            .collect();
        let mut placeholders = placeholder::collect(&texts, &set_in_step, &position);
        let starts: Vec<(u32, u32)> = (0..analysis.commands.len()).map(|index| position(index, 0)).collect();
        let mut aliases: Vec<(String, String)> = Vec::new();
        for name in analysis.commands.iter().flat_map(|c| &c.aliases) {
            if let Some(alias) = self.options.aliases.iter().find(|(n, _)| n == name) {
                if !aliases.contains(alias) {
                    aliases.push(alias.clone());
                }
            }
        }
        let block::Analysis { commands: found_commands, prompted, not_shell } = analysis;
        let mut commands = Vec::with_capacity(found_commands.len());
        for (found, (line, col)) in found_commands.into_iter().zip(starts) {
            let end_line = found.lines.last().map_or(line, |(l, _)| (block.fence_line + 2 + l) as u32);
            let known_program = found.shape == shape::Shape::Known;
            commands.push(Command {
                text: found.text,
                title: found.title,
                line,
                col,
                end_line,
                risk: found.assessment.risk,
                risk_reason: found.assessment.reason,
                long_running: found.assessment.long_running,
                interactive: found.assessment.interactive,
                known_program,
                expected_output: found.expected_output,
            });
        }
        for placeholder in &mut placeholders {
            placeholder.set_by = set_earlier.get(&placeholder.name).cloned();
        }
        for name in set_in_step.iter().chain(&outputs) {
            set_earlier.entry(name.clone()).or_insert_with(|| id.clone());
        }
        // The first of the riskiest commands gives the step its reason.
        let riskiest = commands.iter().rev().max_by_key(|c| c.risk);
        let (risk, risk_reason) = riskiest.map_or((Risk::Unknown, String::new()), |c| (c.risk, c.risk_reason.clone()));
        let mut interactive = commands.iter().find_map(|c| c.interactive.clone());
        match info.settings.interactive {
            Some(true) if interactive.is_none() => interactive = Some("marked `interactive`".to_owned()),
            Some(false) => interactive = None,
            _ => {}
        }
        let not_shell = not_shell
            .into_iter()
            .map(|(line, text)| SourceLine { line: (block.fence_line + 2 + line) as u32, text })
            .collect();
        let title = info
            .settings
            .title
            .clone()
            .or(block.title)
            .or_else(|| block.section.last().cloned())
            .unwrap_or_else(|| runbook_title.to_owned());
        Step {
            id,
            title,
            alternative: block.alternative,
            line: block.fence_line as u32 + 1,
            col: block.fence_col,
            end_line: block.end_line as u32 + 1,
            section: block.section,
            section_anchor: block.section_anchor,
            lang: info.lang.clone(),
            settings: info.settings,
            prompted,
            source: block.content,
            risk,
            risk_reason,
            long_running: commands.iter().find_map(|c| c.long_running.clone()),
            interactive,
            placeholders,
            commands,
            not_shell,
            aliases,
        }
    }
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

fn file_stem(rel_path: &str) -> String {
    let name = rel_path.rsplit('/').next().unwrap_or(rel_path);
    name.strip_suffix(".md").unwrap_or(name).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runbook_keeps_its_text_as_given() {
        let text = "\u{feff}# T\r\n\r\n```bash\r\nuptime\r\n```\r\n";
        let parsed = parse_runbook(Path::new("t.md"), "t.md", text, &ParseOptions::default());
        assert_eq!(&*parsed.runbook.source, text, "byte-order mark and line endings kept");
        assert_eq!(parsed.runbook.steps[0].line, 3);
    }

    #[test]
    fn shell_tags_in_any_case_and_nothing_else() {
        for tag in ["bash", "SH", "zsh", "Console", "shell-session", "fish", "terminal"] {
            assert!(is_shell(tag), "{tag}");
        }
        for tag in ["", "text", "promql", "shel", "bash,ignore", "powershell", "dash"] {
            assert!(!is_shell(tag), "{tag}");
        }
    }

    #[test]
    fn fences_are_the_blocks_the_parser_reads() {
        // Front matter is not a block; a fence in a list item counts, and so does one never
        // closed.
        let text = "---\ntitle: \"```bash\"\n---\n# T\n\n```Bash {name=a}\necho\n```\n\n- item\n\n  ~~~sh,no_run\n  x\n  ~~~\n\n```{.zsh}\nid\n```\n\n```\nopen\n";
        let found: Vec<(u32, Option<String>, bool)> = fences(text, Dialect::default())
            .into_iter()
            .map(|(line, info)| (line, info.lang, info.settings.ignore))
            .collect();
        assert_eq!(
            found,
            [
                (6, Some("bash".to_owned()), false),
                (12, Some("sh".to_owned()), true),
                (16, Some("zsh".to_owned()), false),
                (20, None, false),
            ]
        );
        let parsed = parse_runbook(Path::new("t.md"), "t.md", text, &ParseOptions::default());
        let steps: Vec<u32> = parsed.runbook.steps.iter().map(|s| s.line).collect();
        assert_eq!(steps, [6, 16]);
    }
}
