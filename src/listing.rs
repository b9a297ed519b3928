//! The `opsbook list --json` interface of DESIGN "Interfaces": a JSON array of runbooks, each
//! with `path`, `title` and `steps`; each step with `id`, `title`, `line`, `risk`, `placeholders`
//! (names) and `commands` (`text`, `title`, `risk`). Fields may be added; these keep their names.
//! Typed views over [`model`](crate::model), so the interface cannot drift by accident.

use serde::Serialize;

use crate::model::{Book, FrontMatter, PlaceholderKind, Risk, Runbook, Step};

#[derive(Debug, Serialize)]
pub struct RunbookListing<'a> {
    pub path: &'a str,
    pub title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub tags: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub services: &'a [String],
    pub steps: Vec<StepListing<'a>>,
    pub templates: Vec<TemplateListing<'a>>,
}

#[derive(Debug, Serialize)]
pub struct StepListing<'a> {
    pub id: &'a str,
    pub title: &'a str,
    /// The tab the step stands in: steps of one group are alternatives.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alternative: Option<&'a crate::model::Alternative>,
    pub line: u32,
    pub risk: Risk,
    pub risk_reason: &'a str,
    /// Input names, as DESIGN specifies.
    pub placeholders: Vec<&'a str>,
    /// The same inputs with their kind and default.
    pub inputs: Vec<InputListing<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub long_running: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interactive: Option<&'a str>,
    pub confirm: bool,
    pub test: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    pub section: &'a [String],
    pub commands: Vec<CommandListing<'a>>,
}

#[derive(Debug, Serialize)]
pub struct InputListing<'a> {
    pub name: &'a str,
    pub kind: PlaceholderKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set_by: Option<&'a str>,
    /// Its name looks secret: its value is masked wherever it shows and never stored.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
}

#[derive(Debug, Serialize)]
pub struct CommandListing<'a> {
    pub text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<&'a str>,
    pub line: u32,
    pub risk: Risk,
    pub risk_reason: &'a str,
    /// Why the command needs a terminal (`psql` without a command, `-it`), if it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interactive: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct TemplateListing<'a> {
    pub title: &'a str,
    pub line: u32,
    pub fields: Vec<&'a str>,
}

pub fn runbook(runbook: &Runbook) -> RunbookListing<'_> {
    let FrontMatter { severity, owner, tags, services, .. } = &runbook.front_matter;
    RunbookListing {
        path: &runbook.path,
        title: &runbook.title,
        severity: severity.as_deref(),
        owner: owner.as_deref(),
        tags,
        services,
        steps: runbook.steps.iter().map(step).collect(),
        templates: runbook
            .templates
            .iter()
            .map(|t| TemplateListing {
                title: &t.title,
                line: t.line,
                fields: t.fields.iter().map(|f| f.blank.as_str()).collect(),
            })
            .collect(),
    }
}

pub fn step(step: &Step) -> StepListing<'_> {
    StepListing {
        id: &step.id,
        title: &step.title,
        alternative: step.alternative.as_ref(),
        line: step.line,
        risk: step.risk,
        risk_reason: &step.risk_reason,
        placeholders: step.placeholders.iter().map(|p| p.name.as_str()).collect(),
        inputs: step
            .placeholders
            .iter()
            .map(|p| InputListing {
                name: &p.name,
                kind: p.kind,
                default: p.default.as_deref(),
                set_by: p.set_by.as_deref(),
                secret: crate::exec::redact::is_secret_name(&p.name),
            })
            .collect(),
        long_running: step.long_running.as_deref(),
        interactive: step.interactive.as_deref(),
        confirm: step.settings.confirm || step.risk.needs_confirmation(),
        test: step.settings.test,
        timeout_secs: step.settings.timeout_secs,
        section: &step.section,
        commands: step
            .commands
            .iter()
            .map(|c| CommandListing {
                text: &c.text,
                title: c.title.as_deref(),
                line: c.line,
                risk: c.risk,
                risk_reason: &c.risk_reason,
                interactive: c.interactive.as_deref(),
            })
            .collect(),
    }
}

/// The whole book as the `list --json` array.
pub fn book(book: &Book) -> Vec<RunbookListing<'_>> {
    book.runbooks.iter().map(|r| runbook(r)).collect()
}

/// Pretty JSON text of [`book`], with a final newline.
pub fn book_json(book_: &Book) -> String {
    let mut text = serde_json::to_string_pretty(&book(book_)).expect("listing types always serialize");
    text.push('\n');
    text
}
