//! `opsbook check`: lint rules over a book, as diagnostics with `file:line:col`, a rule id and
//! a level. The parser's findings (unterminated fences, unknown attributes, duplicate step ids,
//! front matter, blocks tagged as shell that hold none) and broken links come first; then the
//! rules here: bash syntax (`bash -n`), shellcheck (when installed), undocumented placeholders,
//! risky steps without `confirm`, lines that are no shell command, console blocks without
//! prompts. Rules can be turned off per book (`[opsbook.check] disable`) or per runbook (front
//! matter `check: {disable: [...]}`).

mod lines;
mod mentions;
mod shell;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::{Diagnostic, Level};
use crate::model::{Book, Placeholder, PlaceholderKind, Runbook, Step};
use lines::SourceLines;
use mentions::Mentions;

/// Every rule `check` may report, with what it means (for `--help`, docs and the JSON format).
pub const RULES: &[(&str, &str)] = &[
    ("unreadable", "a runbook that cannot be read (error)"),
    ("not-utf8", "a runbook that is not UTF-8 (error)"),
    ("unterminated-fence", "a code fence that is never closed"),
    ("front-matter", "front matter that does not parse"),
    ("fence-attribute", "an info-string attribute that does not parse"),
    ("unknown-attribute", "an info-string attribute opsbook does not know"),
    ("duplicate-step-id", "two steps of a runbook with one id"),
    ("not-a-step", "a block with step attributes that holds no shell command"),
    ("shell-tag-not-shell", "a block tagged as shell that holds no shell (PromQL or output tagged `sh`)"),
    ("broken-link", "a relative link or anchor that leads nowhere"),
    ("bash-syntax", "a step that `bash -n` rejects (error)"),
    ("shellcheck", "a shellcheck finding in a step (when shellcheck is installed)"),
    ("placeholder-undocumented", "a placeholder with no default that the runbook's text never mentions"),
    ("unconfirmed-risk", "a mutating or destructive step not marked `confirm`"),
    ("not-a-command", "a line in a step that is no shell command (a chat command such as `/incident create`)"),
    ("ambiguous-console", "a `console` block without prompts: its commands cannot be told from its output"),
    (
        "second-interpreter",
        "a placeholder whose value another interpreter parses again (`bash -c`, `ssh host`, `awk`, `psql -c`)",
    ),
    ("walk", "a folder or link that could not be walked"),
    ("template-in-code", "a docs site's template (Hugo shortcode, `--8<--`, `{% %}`, ERB) inside a shell block"),
    ("broken-fence", "a fence line a converter broke (`<br>` glued on), read as repaired"),
    ("same-page", "two runbooks that become the same page (`a.md` and `a.mdx`)"),
    ("stale-step", "a step neither verified in CI nor run with success in an incident within `--stale`"),
    ("freshness", "a freshness record (`[opsbook] freshness`) that cannot be read"),
    ("alert-rules", "an alert rule file that cannot be read or parsed (error)"),
    ("alert-without-runbook", "an alert with no `runbook_url` annotation"),
    ("alert-runbook-url", "an alert whose `runbook_url` under `[opsbook] site-url` leads to no page or anchor (error)"),
    ("alert-unknown", "a runbook whose front matter `alerts:` names an alert no rule file defines"),
    ("site-config", "a docs site's configuration (mkdocs.yml, sidebars) that could not be read as data"),
];

/// How to check.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The shellcheck binary, when one is installed.
    pub shellcheck: Option<PathBuf>,
}

impl Options {
    /// Finds shellcheck on `PATH`.
    pub fn detect() -> Options {
        Options { shellcheck: find_on_path("shellcheck") }
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// Checks a book: every diagnostic, sorted by file and position, with the disabled rules left out.
pub fn check_book(book: &Book, options: &Options) -> Vec<Diagnostic> {
    let mut found: Vec<Diagnostic> = book.diagnostics.clone();
    let links = crate::site::LinkCheck::new(book, &book.config.build_dir(&book.root));
    let links = &links;
    let per_runbook: Vec<(Vec<Diagnostic>, Option<ScriptOf>)> = std::thread::scope(|scope| {
        let chunks = book.runbooks.chunks(book.runbooks.len().div_ceil(threads()).max(1));
        let handles: Vec<_> = chunks
            .map(|chunk| scope.spawn(move || chunk.iter().map(|r| check_runbook(book, r, links)).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    let mut scripts = Vec::new();
    for (diagnostics, script) in per_runbook {
        found.extend(diagnostics);
        scripts.extend(script);
    }
    if let Some(shellcheck) = &options.shellcheck {
        found.extend(shell::shellcheck(shellcheck, &scripts, threads()));
    }
    let book_disabled = &book.config.opsbook.check.disable;
    let runbook_disabled: std::collections::HashMap<PathBuf, Vec<String>> =
        book.runbooks.iter().map(|r| (book.src.join(&r.path), disabled_in_front_matter(r))).collect();
    found.retain(|d| {
        let off = |rules: &[String]| rules.iter().any(|rule| rule == d.rule);
        !off(book_disabled) && !runbook_disabled.get(&d.file).is_some_and(|rules| off(rules))
    });
    found.sort_by(|a, b| (&a.file, a.line, a.col, a.rule).cmp(&(&b.file, b.line, b.col, b.rule)));
    found.dedup_by(|a, b| a.file == b.file && a.line == b.line && a.rule == b.rule && a.message == b.message);
    found
}

/// A runbook's file, its text, and the script of its steps (for shellcheck).
type ScriptOf = (PathBuf, Arc<str>, shell::Script);

fn threads() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// Rules a runbook turns off in its front matter: `check: {disable: [rule, ...]}`.
fn disabled_in_front_matter(runbook: &Runbook) -> Vec<String> {
    let Some(check) = runbook.front_matter.extra.get("check") else { return Vec::new() };
    check
        .get("disable")
        .and_then(|d| d.as_array())
        .map(|rules| rules.iter().filter_map(|r| r.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// The rules of one runbook, and its steps' script for shellcheck when `bash -n` passed them.
fn check_runbook(
    book: &Book,
    runbook: &Runbook,
    links: &crate::site::LinkCheck<'_>,
) -> (Vec<Diagnostic>, Option<ScriptOf>) {
    let file = book.src.join(&runbook.path);
    let text = &runbook.source;
    let mut found = links.runbook(runbook);
    let lines = SourceLines::new(text);
    let at = |level: Level, rule: &'static str, line: u32, col: u32, message: String, help: &str| {
        let diagnostic = match level {
            Level::Error => Diagnostic::error(rule, &file, message),
            Level::Warning => Diagnostic::warning(rule, &file, message),
        };
        let mut diagnostic = lines.place(diagnostic, line, col);
        if !help.is_empty() {
            diagnostic.help = Some(help.to_owned());
        }
        diagnostic
    };
    let (syntax, script) = shell::syntax(runbook, &file, &lines);
    found.extend(syntax);
    let mentions = Mentions::new(
        text,
        runbook.steps.iter().flat_map(|s| s.placeholders.iter().filter(|p| needs_words(p))).map(|p| p.name.as_str()),
    );
    let step_lines: Vec<(u32, u32)> = runbook.steps.iter().map(|s| (s.line, s.end_line.max(s.line))).collect();
    for step in &runbook.steps {
        if step.risk.needs_confirmation() && !step.settings.confirm {
            found.push(at(
                Level::Warning,
                "unconfirmed-risk",
                step.line,
                step.col,
                format!("step `{}` is {} ({}) but not marked `confirm`", step.id, step.risk, step.risk_reason),
                "add `confirm` to its info string (```bash {confirm}) so that readers see it asks first",
            ));
        }
        if step.lang.as_deref() == Some("console") && !step.prompted {
            found.push(at(
                Level::Warning,
                "ambiguous-console",
                step.line,
                step.col,
                format!(
                    "step `{}` is a `console` block without prompts: its commands cannot be told from its output",
                    step.id
                ),
                "start each command with `$ ` (and leave output lines without it), or tag the block `bash`",
            ));
        }
        for line in &step.not_shell {
            found.push(at(
                Level::Warning,
                "not-a-command",
                line.line,
                1,
                format!("`{}` in step `{}` is not a shell command", line.text.trim(), step.id),
                "move it out of the block (into prose), or into a block of its own language",
            ));
        }
        for command in &step.commands {
            let program = command.text.split_whitespace().next().unwrap_or("");
            if is_chat_command(program) {
                found.push(at(
                    Level::Warning,
                    "not-a-command",
                    command.line,
                    command.col,
                    format!("`{program}` in step `{}` reads as a chat command, not a shell command", step.id),
                    "write it in prose or in a `text` block: a shell would look for a program at that path",
                ));
            }
        }
        found.extend(undocumented_placeholders(step, &mentions, &step_lines, &lines, &file));
        for placeholder in &step.placeholders {
            let handed = placeholder.occurrences.iter().find_map(|o| o.interpreter.map(|name| (o, name)));
            if let Some((occurrence, interpreter)) = handed {
                found.push(at(
                    Level::Warning,
                    "second-interpreter",
                    occurrence.line,
                    occurrence.col,
                    format!(
                        "the value of `{}` in step `{}` is handed to {interpreter}, which parses it again: opsbook quotes it for bash only",
                        placeholder.name, step.id
                    ),
                    "pass the value as data instead (an environment variable the inner program reads, `awk -v`, `jq --arg`, `psql -v` with `:'name'`), or keep the step and confirm each run",
                ));
            }
        }
    }
    found.extend(shell_tags_without_shell(runbook, &lines, &file));
    let script = script.map(|script| (file.clone(), Arc::clone(text), script));
    (found, script)
}

/// Blocks tagged as shell that the step model did not take as a step (and that are not marked
/// `ignore`): PromQL, SQL or output under a shell tag. The tag and the attributes are read as the
/// parser reads them, so a block the parser takes as shell is one this rule looks at.
fn shell_tags_without_shell(runbook: &Runbook, lines: &SourceLines, file: &Path) -> Vec<Diagnostic> {
    let step_lines: HashSet<u32> = runbook.steps.iter().map(|s| s.line).collect();
    let mut found = Vec::new();
    for (line, info) in crate::parse::fences(&runbook.source, runbook.dialect) {
        let Some(tag) = info.lang.filter(|lang| crate::parse::is_shell(lang)) else { continue };
        if info.settings.ignore || step_lines.contains(&line) {
            continue;
        }
        let diagnostic = Diagnostic::warning(
            "shell-tag-not-shell",
            file,
            format!("this block is tagged `{tag}` but holds no shell command opsbook can run"),
        );
        let mut diagnostic = lines.place(diagnostic, line, 1);
        diagnostic.help =
            Some("tag it with its own language (`promql`, `sql`, `text`), or mark it `ignore`".to_owned());
        found.push(diagnostic);
    }
    found
}

/// `/incident`, `/page`: a slash command of a chat tool, not a path to a program.
fn is_chat_command(program: &str) -> bool {
    program.len() > 1
        && program.starts_with('/')
        && !program[1..].contains('/')
        && program[1..].bytes().all(|b| b.is_ascii_lowercase() || b == b'-' || b == b'_')
        && !matches!(program, "/bin" | "/usr" | "/tmp" | "/opt" | "/etc" | "/var" | "/sbin")
}

/// A placeholder the prose should explain: a blank to fill (not an environment variable) with no
/// default, that no earlier step sets, and whose name is not itself a phrase (`<name of the old
/// pool>` says what it is).
fn needs_words(placeholder: &Placeholder) -> bool {
    matches!(placeholder.kind, PlaceholderKind::Angle | PlaceholderKind::Brace | PlaceholderKind::Dashed)
        && placeholder.default.is_none()
        && placeholder.set_by.is_none()
        && !placeholder.name.contains(' ')
}

/// Placeholders without a default, that no earlier step exports or writes to `$OPSBOOK_OUTPUT`,
/// and whose name the runbook's prose never mentions.
fn undocumented_placeholders(
    step: &Step,
    mentions: &Mentions,
    steps: &[(u32, u32)],
    lines: &SourceLines,
    file: &Path,
) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for placeholder in &step.placeholders {
        if !needs_words(placeholder) || mentions.in_prose(&placeholder.name, steps) {
            continue;
        }
        let Some(first) = placeholder.occurrences.first() else { continue };
        let diagnostic = Diagnostic::warning(
            "placeholder-undocumented",
            file,
            format!(
                "placeholder `{}` in step `{}` has no default and the text never says what it is",
                placeholder.name, step.id
            ),
        );
        let mut diagnostic = lines.place(diagnostic, first.line, first.col);
        diagnostic.help = Some(format!("say in the prose what `{}` is and where to find it", placeholder.name));
        found.push(diagnostic);
    }
    found
}
