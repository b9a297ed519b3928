//! One selection for both front ends: for every command of every step of the corpus,
//! `opsbook run --dry-run RUNBOOK ID.N` (the command line, numbering from 1) and
//! `POST /api/sessions/{id}/plan` with `command: N-1` (the console, numbering from 0) plan the
//! same command: the same text with the same values in place, the same risk and reason, or the
//! same missing inputs.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use opsbook::model::{Evaluation, PlaceholderKind, Runbook, Step};
use opsbook::server::App;
use serde_json::{Value, json};

use crate::common::{opsbook, text};
use crate::corpus::corpus_files;
use crate::serve::{app, authed, call, new_session, post};

/// A value the step takes for each placeholder (a plain integer or name where bash evaluates
/// it), or `None` when no one value fits every place (the step is left out and counted).
/// Variables the shell acts on get no value: a run refuses one, and both front ends say so.
fn values_for(step: &Step) -> Option<BTreeMap<String, String>> {
    let mut values = BTreeMap::new();
    for placeholder in &step.placeholders {
        if placeholder.kind == PlaceholderKind::Env && opsbook::exec::script::is_shell_variable(&placeholder.name) {
            continue;
        }
        let evaluations: Vec<Evaluation> = placeholder.occurrences.iter().filter_map(|o| o.evaluated).collect();
        let value = match (evaluations.contains(&Evaluation::Integer), evaluations.contains(&Evaluation::Name)) {
            (true, true) => return None,
            (true, false) => "7",
            (false, true) => "name_7",
            (false, false) => "value-7",
        };
        values.insert(placeholder.name.clone(), value.to_owned());
    }
    Some(values)
}

/// What one front end planned for one command.
#[derive(Debug, PartialEq, Eq)]
enum Planned {
    /// The commands as they would run, the risk and its reason.
    Commands { text: String, risk: String, reason: String },
    /// The names of the inputs still missing.
    Missing(Vec<String>),
}

/// `opsbook run --dry-run` for these `ID.N`, one process per runbook: each planned command by
/// its `ID.N`, and the lines shown for it, read from the sections the dry run prints
/// (`▶ ID.N  title  [risk] reason`, then `  $ line`s, then `  dry run: …`).
fn cli_plans(
    book: &Path,
    runbook: &Runbook,
    wanted: &[String],
    values: &BTreeMap<String, String>,
) -> Vec<(String, Planned, Vec<String>)> {
    let mut args = vec!["run".to_owned(), "--dry-run".to_owned()];
    for (name, value) in values {
        args.push("--var".to_owned());
        args.push(format!("{name}={value}"));
    }
    args.push("--".to_owned());
    args.push(runbook.path.clone());
    args.extend(wanted.iter().cloned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = opsbook(&args, book);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{}: opsbook {}\n{stderr}", runbook.path, args.join(" "));
    let mut plans = Vec::new();
    let all = format!("\n{stderr}");
    let mut sections = all.split("\n▶ ").skip(1);
    for asked in wanted {
        let section =
            sections.next().unwrap_or_else(|| panic!("{}: no section for `{asked}`:\n{stderr}", runbook.path));
        let mut lines = section.lines();
        let header = lines.next().unwrap();
        assert!(header.starts_with(&format!("{asked}  ")), "{}: `{asked}` planned as: {header}", runbook.path);
        let (mut shown, mut missing) = (Vec::new(), None);
        for line in lines {
            if let Some(command) = line.strip_prefix("  $ ") {
                shown.push(command.to_owned());
            } else if let Some(needs) = line.strip_prefix("  dry run: not run; needs ") {
                // `a`, `b` (set by step `x`: run it first, or give a value)
                let pieces: Vec<&str> = needs.split('`').collect();
                let names = (1..pieces.len()).step_by(2).filter(|&i| !pieces[i - 1].ends_with("set by step "));
                missing = Some(names.map(|i| pieces[i].to_owned()).collect());
            }
        }
        let planned = match missing {
            Some(names) => Planned::Missing(names),
            None => {
                let (risk, reason) = header.rsplit_once("  [").and_then(|(_, rest)| rest.split_once("] ")).unwrap();
                let mut text = shown.join("\n");
                text.push('\n');
                Planned::Commands { text, risk: risk.to_owned(), reason: reason.to_owned() }
            }
        };
        plans.push((asked.clone(), planned, shown));
    }
    plans
}

/// The API's plan for `command` (from 0) of a step, with the values of the step's placeholders.
fn api_plan(
    app: &Arc<App>,
    session: &str,
    runbook: &Runbook,
    step: &Step,
    command: usize,
    values: &BTreeMap<String, String>,
) -> Planned {
    let inputs: BTreeMap<&String, &String> =
        values.iter().filter(|(name, _)| step.placeholders.iter().any(|p| p.name == **name)).collect();
    let body = json!({"runbook": runbook.path, "step": step.id, "command": command, "inputs": inputs});
    let request = authed(post(&format!("/api/sessions/{session}/plan"))).body(Body::from(body.to_string()));
    let (status, _, answer) = call(app, request.unwrap());
    assert_eq!(status, 200, "{}: {body}: {answer}", runbook.path);
    let plan: Value = serde_json::from_str(&answer).unwrap();
    match plan["commands"].as_str() {
        Some(text) => Planned::Commands {
            text: text.to_owned(),
            risk: plan["risk"].as_str().unwrap().to_owned(),
            reason: plan["reason"].as_str().unwrap().to_owned(),
        },
        None => {
            let missing = plan["missing"].as_array().unwrap();
            Planned::Missing(missing.iter().map(|m| m["name"].as_str().unwrap().to_owned()).collect())
        }
    }
}

#[test]
fn the_cli_id_n_and_the_api_command_n_minus_1_plan_the_same_command_for_every_corpus_step() {
    let Some((root, files)) = corpus_files() else { return };
    // The corpus as one book.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("book.toml"), "[book]\ntitle = \"Corpus\"\nsrc = \"runbooks\"\n").unwrap();
    for rel in &files {
        let to = dir.path().join("runbooks").join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(root.join(rel), to).unwrap();
    }
    let app = app(dir.path());
    let session = new_session(&app);
    let book = opsbook::load::load_book(dir.path()).unwrap();
    let (mut by_text, mut by_missing, mut left_out) = (0, 0, 0);
    for runbook in &book.runbooks {
        let mut wanted = Vec::new();
        let mut values = BTreeMap::new();
        for step in &runbook.steps {
            let Some(step_values) = values_for(step) else {
                left_out += 1;
                continue;
            };
            // One `--var` per name for the whole runbook: a step whose value would clash with
            // an earlier step's is left out too.
            if step_values.iter().any(|(name, value)| values.get(name).is_some_and(|v| v != value)) {
                left_out += 1;
                continue;
            }
            values.extend(step_values);
            wanted.extend((1..=step.commands.len()).map(|n| format!("{}.{n}", step.id)));
        }
        let steps: HashMap<&str, &Step> = runbook.steps.iter().map(|s| (s.id.as_str(), s)).collect();
        // With every value given, and with none.
        for values in [values, BTreeMap::new()] {
            if wanted.is_empty() {
                break;
            }
            for (asked, from_cli, shown) in cli_plans(dir.path(), runbook, &wanted, &values) {
                let (id, n) = asked.rsplit_once('.').unwrap();
                let (step, n) = (steps[id], n.parse::<usize>().unwrap());
                let from_api = api_plan(&app, &session, runbook, step, n - 1, &values);
                assert_eq!(from_cli, from_api, "{}: the CLI's `{asked}` and the API's command {}", runbook.path, n - 1);
                // And it is the N-th command: its risk and reason and its lines (with values in
                // place and secrets masked, so the text itself may differ), or, with inputs
                // missing, its text as written.
                let command = &step.commands[n - 1];
                if let Planned::Commands { text, risk, reason } = &from_api {
                    assert_eq!((risk.as_str(), reason.as_str()), (command.risk.as_str(), command.risk_reason.as_str()));
                    assert_eq!(text.lines().count(), command.text.lines().count(), "{}: `{asked}`", runbook.path);
                    by_text += 1;
                } else {
                    assert_eq!(shown, command.text.lines().collect::<Vec<_>>(), "{}: `{asked}`", runbook.path);
                    by_missing += 1;
                }
            }
        }
    }
    eprintln!(
        "commands planned alike: {by_text} by their text, {by_missing} by their missing inputs; {left_out} steps left out"
    );
    assert!(by_text >= 400 && by_missing >= 100 && left_out <= 10, "{by_text}, {by_missing}, {left_out}");
}
