//! `opsbook extract`: each step as an executable script whose header links back to its runbook
//! line, so that automation runs the very commands the docs show; `--check` finds drift.

use std::collections::HashMap;
use std::path::Path;

use crate::exec::script::{self, Selection};
use crate::model::{Book, Evaluation, PlaceholderKind, Runbook, Step};

/// The first comment line of every extracted script: how `--check` tells ours from others.
pub const MARK: &str = "# Extracted by `opsbook extract`";

/// One script to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// `<step-id>.sh`
    pub file_name: String,
    pub content: String,
}

/// The runbook's path as the scripts' headers write it: relative to the book's root, `/`-separated.
pub fn header_path(book: &Book, runbook: &Runbook) -> String {
    let file = crate::load::absolute(&book.src.join(&runbook.path));
    let root = crate::load::absolute(&book.root);
    file.strip_prefix(&root).unwrap_or(&file).to_string_lossy().replace('\\', "/")
}

/// The scripts of a runbook's steps (or of one of its steps).
pub fn scripts(book: &Book, runbook: &Runbook, only: Option<&Step>) -> Result<Vec<Extracted>, String> {
    let steps: Vec<&Step> = match only {
        Some(step) => vec![step],
        None => runbook.steps.iter().collect(),
    };
    let path = header_path(book, runbook);
    let mut out = Vec::new();
    for step in steps {
        // Every angle or brace placeholder becomes a required variable; a quoted heredoc keeps
        // the placeholder as written (a variable cannot reach it).
        let inputs: HashMap<String, String> = step
            .placeholders
            .iter()
            .filter(|p| p.kind != PlaceholderKind::Env)
            .map(|p| {
                // The value only fills the display text, which is not used; where bash evaluates
                // it, one that passes the rule (the script checks the real one when it runs).
                let written = match (evaluation_of(p), p.kind) {
                    (Some(Evaluation::Integer), _) => "0".to_owned(),
                    (Some(Evaluation::Name), _) => "name".to_owned(),
                    (None, PlaceholderKind::Brace) => format!("{{{{ {} }}}}", p.name),
                    (None, _) => format!("<{}>", p.name),
                };
                (p.name.clone(), written)
            })
            .collect();
        // Command by command, so that each keeps the comment that titles it in the runbook.
        let mut body = String::new();
        let mut last_title = None;
        for (index, command) in step.commands.iter().enumerate() {
            let built = script::build(step, Selection::Command(index), &inputs, &|_| true)
                .map_err(|e| format!("step `{}`: {e}", step.id))?;
            if let Some(title) = command.title.as_ref().filter(|t| last_title != Some(*t)) {
                last_title = Some(title);
                if !body.is_empty() {
                    body.push('\n');
                }
                body.push_str(&format!("# {title}\n"));
            }
            body.push_str(&built.text);
        }
        let mut content = String::from("#!/usr/bin/env bash\n");
        content.push_str(&format!("{MARK} from {path}:{} (step `{}`: {}).\n", step.line, step.id, step.title));
        content.push_str("# Do not edit: edit the runbook, then run `opsbook extract` again.\n");
        content.push_str(&format!("# Risk: {} ({}).\n", step.risk, step.risk_reason));
        let mut guards = String::new();
        let required: Vec<(String, String)> = step
            .placeholders
            .iter()
            .filter_map(|p| match p.kind {
                PlaceholderKind::Env if p.default.is_none() => Some((p.name.clone(), format!("${}", p.name))),
                PlaceholderKind::Env => None,
                _ => Some((script::input_variable(&p.name), format!("<{}>", p.name))),
            })
            .collect();
        if !required.is_empty() {
            content.push_str("# Inputs, as environment variables:\n");
            for (variable, written) in &required {
                content.push_str(&format!("#   {variable:<32} {written}\n"));
                guards.push_str(&format!(": \"${{{variable}:?set {variable} ({written})}}\"\n"));
            }
        }
        // Where bash evaluates a value as code, the script refuses anything but a plain one,
        // as `opsbook run` does.
        let mut evaluated: Vec<(String, Evaluation)> = step
            .placeholders
            .iter()
            .filter_map(|p| {
                let variable = match p.kind {
                    PlaceholderKind::Env => p.name.clone(),
                    _ => script::input_variable(&p.name),
                };
                evaluation_of(p).map(|e| (variable, e))
            })
            .collect();
        // A value taken as a variable name by reference (`${!TARGET}`) is read by name too.
        for command in &step.commands {
            for (name, evaluation) in crate::parse::evaluated_names(&command.text) {
                if evaluation == Evaluation::Name && !evaluated.iter().any(|(v, _)| *v == name) {
                    evaluated.push((name, evaluation));
                }
            }
        }
        for (variable, evaluation) in evaluated {
            let (pattern, wants) = match evaluation {
                Evaluation::Integer => ("^-?[0-9]{1,18}$", "a plain integer"),
                Evaluation::Name => ("^[A-Za-z_][A-Za-z0-9_]*$", "a plain variable name"),
            };
            guards.push_str(&format!(
                "[[ -z \"${{{variable}+set}}\" || \"${variable}\" =~ {pattern} ]] || {{ echo \"{variable} must be {wants}: bash evaluates it\" >&2; exit 2; }}\n"
            ));
        }
        content.push('\n');
        content.push_str(&guards);
        if !guards.is_empty() {
            content.push('\n');
        }
        content.push_str(&body);
        out.push(Extracted { file_name: format!("{}.sh", step.id), content });
    }
    Ok(out)
}

/// How bash evaluates a placeholder's value in the step, if it does anywhere.
fn evaluation_of(placeholder: &crate::model::Placeholder) -> Option<Evaluation> {
    let found = placeholder.occurrences.iter().filter_map(|o| o.evaluated);
    found.clone().find(|e| *e == Evaluation::Integer).or_else(|| found.into_iter().next())
}

/// How the scripts in a folder differ from what the runbook gives.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Drift {
    pub changed: Vec<String>,
    pub missing: Vec<String>,
    /// Scripts of ours (they carry [`MARK`]) that no step of the runbook gives any more.
    pub stale: Vec<String>,
}

impl Drift {
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.missing.is_empty() && self.stale.is_empty()
    }
}

/// Compares the scripts with the folder. `runbook_path` (as in the headers) tells which of our
/// scripts in the folder come from this runbook.
pub fn drift(scripts: &[Extracted], dir: &Path, runbook_path: &str, whole_runbook: bool) -> Drift {
    let mut drift = Drift::default();
    for script in scripts {
        match std::fs::read_to_string(dir.join(&script.file_name)) {
            Ok(text) if text == script.content => {}
            Ok(_) => drift.changed.push(script.file_name.clone()),
            Err(_) => drift.missing.push(script.file_name.clone()),
        }
    }
    if whole_runbook {
        let ours = format!("{MARK} from {runbook_path}:");
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".sh") || scripts.iter().any(|s| s.file_name == name) {
                continue;
            }
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            if text.lines().nth(1).is_some_and(|l| l.starts_with(&ours)) {
                drift.stale.push(name);
            }
        }
        drift.stale.sort();
    }
    drift
}
