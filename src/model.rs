//! The runbook step model: pure data, produced by `parse` and consumed by everything else.
//!
//! Nothing here knows how the data was read (Markdown, `book.toml`) or how it is shown (HTML,
//! terminal, JSON beyond the field names). The `Serialize` shape of these types is the
//! `opsbook list --json` interface of DESIGN "Interfaces": fields may be added, the documented
//! ones keep their names.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use crate::config::{Config, RiskName};
use crate::diagnostic::Diagnostic;

/// A loaded book: its configuration, its runbooks in reading order, and what went wrong loading.
#[derive(Debug, Clone)]
pub struct Book {
    /// The folder holding `book.toml` (or the folder given, when there is none).
    pub root: PathBuf,
    /// The runbook source folder (`[book] src`), absolute or relative to the working directory.
    pub src: PathBuf,
    pub config: Config,
    /// Shared, so that a book with one runbook changed (live reload) is a cheap copy.
    pub runbooks: Vec<Arc<Runbook>>,
    /// Load errors and parse warnings for the whole book, in reading order.
    pub diagnostics: Vec<Diagnostic>,
    /// Where the runbooks' order and navigation titles came from.
    pub layout: Layout,
}

/// Where a book's order came from: `SUMMARY.md`, a docs site's configuration, or the walk.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub kind: LayoutKind,
    /// The files the order was read from; a change to one reloads the whole book.
    pub files: Vec<PathBuf>,
    /// Titles the site's navigation gives pages (`nav:` labels, `sidebar_label`, `linkTitle`),
    /// by runbook path.
    pub titles: std::collections::HashMap<String, String>,
    /// Docusaurus: the sidebars file was read as data (else the folder rules ordered the pages).
    pub read_as_data: bool,
}

/// The kind of configuration a book's order came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LayoutKind {
    /// The folder, walked in name order.
    #[default]
    Walk,
    /// mdBook's or GitBook's `SUMMARY.md`.
    Summary,
    /// `mkdocs.yml` (its `nav:`, else the folder).
    MkDocs,
    /// Docusaurus `sidebars.js`/`.ts`, else its folder rules.
    Docusaurus,
    /// Hugo's `content/` folder by `weight`.
    Hugo,
}

impl Layout {
    /// What `opsbook list` says about the order: `mkdocs.yml nav`, `the folder walk`, ….
    pub fn describe(&self) -> String {
        let file = |fallback: &str| {
            self.files
                .first()
                .and_then(|f| f.file_name())
                .map_or_else(|| fallback.to_owned(), |n| n.to_string_lossy().into_owned())
        };
        match self.kind {
            LayoutKind::Walk => "the folder, in name order".to_owned(),
            LayoutKind::Summary => file("SUMMARY.md"),
            LayoutKind::MkDocs if self.read_as_data => format!("{} nav", file("mkdocs.yml")),
            LayoutKind::MkDocs => format!("{} (no nav: the folder, in name order)", file("mkdocs.yml")),
            LayoutKind::Docusaurus if self.read_as_data => format!("Docusaurus {}", file("sidebars")),
            LayoutKind::Docusaurus => "Docusaurus folder rules (sidebar_position, number prefixes)".to_owned(),
            LayoutKind::Hugo => "Hugo content (weight, then name)".to_owned(),
        }
    }
}

/// One Markdown file.
#[derive(Debug, Clone, Serialize)]
pub struct Runbook {
    /// Path relative to the book's source folder, with `/` separators.
    pub path: String,
    pub title: String,
    pub front_matter: FrontMatter,
    pub sections: Vec<Section>,
    pub steps: Vec<Step>,
    pub templates: Vec<Template>,
    /// The file's text as it was read and parsed (a byte-order mark included). Every line
    /// number above points into it; the site, `check` and `test` read it here, never the file
    /// again, so a file edited since the parse cannot put a card or a finding on the wrong line.
    /// Shared: a copy of the runbook does not copy its text.
    #[serde(skip)]
    pub source: Arc<str>,
    /// The site syntax the text was read in (MDX, ERB): the site reads it the same way.
    #[serde(skip)]
    pub dialect: crate::parse::Dialect,
}

/// Front matter fields opsbook reads; everything else is kept in `extra`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FrontMatter {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// Any other keys, as JSON values.
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A heading.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub level: u8,
    pub title: String,
    /// The heading's anchor, unique within the runbook.
    pub anchor: String,
    pub line: u32,
}

/// A 1-based position in a runbook file. Columns count characters, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Span {
    pub line: u32,
    pub col: u32,
}

/// A fenced block that holds shell commands.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub id: String,
    pub title: String,
    /// The tab the step stands in (MkDocs `=== "Linux"`, Docusaurus `<TabItem>`, Hugo and
    /// GitBook tabs): steps of one group are alternatives, of which a run takes one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alternative: Option<Alternative>,
    /// Line of the opening fence.
    pub line: u32,
    /// Column of the opening fence.
    pub col: u32,
    /// Line of the closing fence (or of the block's last line when it is unterminated).
    pub end_line: u32,
    /// Titles of the headings above the step, outermost first.
    pub section: Vec<String>,
    /// The anchor of the nearest heading, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section_anchor: Option<String>,
    /// The fence's language tag as written (`bash`, `console`, none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    pub settings: FenceSettings,
    /// True when the block used prompts (`$ `): only prompted lines are commands.
    pub prompted: bool,
    /// The block's text as written, without the fences.
    pub source: String,
    pub risk: Risk,
    /// Why the step has its risk: the reason of its riskiest command.
    pub risk_reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub long_running: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interactive: Option<String>,
    pub placeholders: Vec<Placeholder>,
    pub commands: Vec<Command>,
    /// Lines of the block that are neither commands, comments nor expected output of a prompted
    /// command: text that does not read as shell (`check` reports them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_shell: Vec<SourceLine>,
    /// The shell aliases its commands use, as the book defines them (`k` -> `kubectl`): a
    /// script of the step defines them first, so that the step runs as written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<(String, String)>,
}

impl Step {
    /// The lines that define the step's aliases before its commands (bash reads an alias only
    /// on a line after the one that defines it, and a script expands none unless told to);
    /// empty when it uses none.
    pub fn alias_preamble(&self) -> String {
        let mut preamble = String::new();
        if self.aliases.is_empty() {
            return preamble;
        }
        preamble.push_str("shopt -s expand_aliases 2>/dev/null\n");
        // `sudo k …`: an alias ending in a space lets bash expand the word after it.
        preamble.push_str("alias sudo='sudo '\n");
        for (name, value) in &self.aliases {
            preamble.push_str(&format!("alias {name}='{}'\n", value.replace('\'', "'\\''")));
        }
        preamble
    }

    /// The script the step runs: its commands, one after another.
    pub fn script(&self) -> String {
        let mut script = String::new();
        for command in &self.commands {
            script.push_str(&command.text);
            script.push('\n');
        }
        script
    }
}

/// One of a group of tabs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alternative {
    /// The group's number in its runbook, from 1.
    pub group: u32,
    /// The tab's label (`Linux`, `Helm`).
    pub label: String,
}

/// A line of a block, kept with its position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceLine {
    pub line: u32,
    pub text: String,
}

/// One command of a step, runnable on its own.
#[derive(Debug, Clone, Serialize)]
pub struct Command {
    /// The command as the shell gets it (prompt removed, continuation lines kept).
    pub text: String,
    /// The comment line above it (`# 2. Check logs` gives `Check logs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub line: u32,
    pub col: u32,
    pub end_line: u32,
    pub risk: Risk,
    pub risk_reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub long_running: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interactive: Option<String>,
    /// False when the command's program is not one opsbook knows (it may still be fine).
    pub known_program: bool,
    /// Output shown under a prompted command in the runbook.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_output: Option<String>,
}

/// How risky running a command is. Ordered: a step is as risky as its riskiest command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Risk {
    ReadOnly,
    Unknown,
    Mutating,
    Destructive,
}

impl Risk {
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::ReadOnly => "read-only",
            Risk::Unknown => "unknown",
            Risk::Mutating => "mutating",
            Risk::Destructive => "destructive",
        }
    }

    /// Whether running it needs an explicit confirmation.
    pub fn needs_confirmation(self) -> bool {
        self >= Risk::Mutating
    }
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<RiskName> for Risk {
    fn from(name: RiskName) -> Risk {
        match name {
            RiskName::ReadOnly => Risk::ReadOnly,
            RiskName::Unknown => Risk::Unknown,
            RiskName::Mutating => Risk::Mutating,
            RiskName::Destructive => Risk::Destructive,
        }
    }
}

/// A value the step needs before it can run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placeholder {
    /// As written: `pod-name`, `STATUS_PAGE_TOKEN`, `name of old pool`.
    pub name: String,
    pub kind: PlaceholderKind,
    /// A default from `${NAME:-default}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// The id of an earlier step of the same runbook that sets this variable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set_by: Option<String>,
    pub occurrences: Vec<Occurrence>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlaceholderKind {
    /// `<pod-name>`
    Angle,
    /// `{{ name }}`
    Brace,
    /// `$VAR` or `${VAR}` read and never set by the step.
    Env,
    /// `$OVNKUBE-MASTER-POD-NAME`, `${top-user-from-last-command}`: a dashed name the shell
    /// would split, meant by its author as one blank to fill.
    Dashed,
}

/// Where a placeholder stands, and in which quoting: the executor quotes values for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Occurrence {
    /// Index of the command within the step.
    pub command: usize,
    pub line: u32,
    pub col: u32,
    pub quoting: Quoting,
    /// Bash evaluates the value here as code (arithmetic, a variable name): only a plain integer
    /// or a plain name may stand here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluated: Option<Evaluation>,
    /// The value is handed to another interpreter (`bash -c`, `ssh host …`, `awk`, `psql -c`)
    /// that parses it again: opsbook quotes it for bash, not for that language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interpreter: Option<&'static str>,
    /// Byte range of the placeholder as written (`<pod-name>`, `${NAME:-x}`) in the command's
    /// text, for the executor's substitution.
    #[serde(skip)]
    pub offset: usize,
    #[serde(skip)]
    pub len: usize,
}

/// A context where bash evaluates a value as code rather than taking it as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Evaluation {
    /// Arithmetic: `$(( ))`, `(( ))`, `let`, `[[ a -gt b ]]` operands, array subscripts,
    /// `declare -i` variables, `${x:offset:length}`, `$[ ]`. `a[$(cmd)]` here runs `cmd`.
    Integer,
    /// A variable name: `read NAME`, `printf -v NAME`, `[[ -v NAME ]]`, `unset NAME`,
    /// `declare NAME=…`, `declare -n ref=NAME`, `${!NAME}`. A subscript in a name is evaluated.
    Name,
}

impl Evaluation {
    /// Whether `value` may stand in this context: a plain integer, or a plain name.
    pub fn accepts(self, value: &str) -> bool {
        let bytes = value.as_bytes();
        match self {
            Evaluation::Integer => {
                let digits = bytes.strip_prefix(b"-").unwrap_or(bytes);
                (1..=18).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit)
            }
            Evaluation::Name => {
                bytes.len() <= 128
                    && bytes.first().is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
                    && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
            }
        }
    }

    /// What the context wants, for messages.
    pub fn wants(self) -> &'static str {
        match self {
            Evaluation::Integer => {
                "a plain integer (digits, an optional leading `-`): it stands where bash evaluates arithmetic"
            }
            Evaluation::Name => {
                "a plain variable name (letters, digits, `_`): it stands where bash takes a variable name"
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Quoting {
    Bare,
    Double,
    Single,
    /// Inside a heredoc body whose delimiter is unquoted: expanded by the shell.
    Heredoc,
    /// Inside a heredoc body whose delimiter is quoted (`<<'EOF'`): taken literally.
    LiteralHeredoc,
}

/// Attributes of a fence's info string, in one typed form whatever syntax wrote them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FenceSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `ignore`, `no-run`, `skip`: shown, never a step.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ignore: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub confirm: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub test: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interactive: Option<bool>,
    /// Seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// The block's own title (`title="Install the agent"`, Docusaurus and MkDocs; GitBook's
    /// `{% code title="…" %}`): the step's title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Attributes opsbook does not know, kept as written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<(String, String)>,
}

/// A block with blanks to fill by hand, such as a status update or a postmortem.
#[derive(Debug, Clone, Serialize)]
pub struct Template {
    pub title: String,
    pub line: u32,
    pub text: String,
    pub fields: Vec<TemplateField>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateField {
    /// The text before the blank on its line (`Severity` for `Severity: SEV[1-4]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The blank as written, without brackets: `BRIEF DESCRIPTION`, `1-4`, `X`.
    pub blank: String,
    pub line: u32,
}
