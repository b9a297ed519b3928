//! Incident sessions: the SQLite store, runs recorded through the runner and the CLI, secrets,
//! a killed recorder, and the postmortem export.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use opsbook::exec::script::Selection;
use opsbook::runner::{RunError, RunRequest, Runner};
use opsbook::session::{Actor, EventKind, NoteKind, SessionStore, SqliteStore, Status};

use crate::common::{opsbook, text};

const BOOK: &str = r#"---
title: Payments
---

# Payments

## Look

```bash {name=look}
# What runs
echo "pods: 3 running"
echo "warning: queue deep" >&2
```

## Remember the region

```bash {name=set-region}
export REGION=eu-west-1
```

## Use the region

```bash {name=use-region}
echo "region is $REGION"
```

## Greet

```bash {name=greet}
echo "hello <responder>"
```

## Restart

```bash {name=restart}
kubectl rollout restart deployment/payments
```

## Touch

```bash {name=touch-file confirm}
touch touched.txt && echo touched
```

## Careful look

```bash {name=careful confirm}
echo careful
```

## Fail

```bash {name=fail}
echo "about to fail"
exit 2
```

## Slow

```bash {name=slow}
echo started
sleep 30
```

## Leak

```bash {name=leak}
echo "key is <api-key>"
echo "pw $DB_PASSWORD"
printf '%s\n' --token=<api-key>
```
"#;

/// A book in a temporary folder: `book.toml` and `runbooks/payments.md`.
fn book() -> tempfile::TempDir {
    crate::common::fixture_book("payments.md", BOOK)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn actor() -> Actor {
    Actor { user: "ana".to_owned(), host: "laptop".to_owned(), source: "cli".to_owned() }
}

// The store contract (sessions, events, vars, across opens) is in `shared.rs`, over both stores.

/// The runbook and a runner over a fresh store in `dir`.
fn runner_for(dir: &Path) -> (opsbook::model::Book, Runner) {
    let book = opsbook::load::load_book(dir).unwrap();
    let store = Arc::new(SqliteStore::for_book(dir).unwrap());
    let runner = Runner::new(store, dir);
    (book, runner)
}

/// A run of `step` of the book's first runbook in `session`, nothing given, nothing confirmed.
pub fn request<'b>(book: &'b opsbook::model::Book, session: &'b str, step: &str, dir: &Path) -> RunRequest<'b> {
    let runbook = &book.runbooks[0];
    RunRequest {
        session_id: session,
        runbook,
        step: runbook.steps.iter().find(|s| s.id == step).unwrap(),
        selection: Selection::All,
        config: &book.config.opsbook,
        inputs: HashMap::new(),
        confirmed: false,
        confirmed_plan: None,
        cwd: dir.to_path_buf(),
        actor: actor(),
        pty: None,
    }
}

/// Starts a run and waits until its end is recorded; returns its stdout.
async fn run_to_end(runner: &Runner, request: RunRequest<'_>) -> Result<String, RunError> {
    let started = runner.start(request).await?;
    let mut subscription = started.run.subscribe(0);
    let mut out = String::new();
    while let Some(opsbook::exec::ProcessEvent::Output(chunk)) = subscription.next().await {
        if chunk.stream == opsbook::record::Stream::Stdout {
            out.push_str(&chunk.text);
        }
    }
    started.recorded.await.unwrap().unwrap();
    Ok(out)
}

#[test]
fn runs_carry_exports_remember_inputs_and_respect_confirmation() {
    let dir = book();
    let (book, runner) = runner_for(dir.path());
    runtime().block_on(async {
        let session = runner.store().create("t", "SEV3", &actor(), 1).unwrap();
        let id = session.id.as_str();
        // Before `set-region` ran, REGION is missing, and says which step sets it.
        let err = run_to_end(&runner, request(&book, id, "use-region", dir.path())).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "step `use-region`: missing input: `REGION` (set by step `set-region`: run it first, or give a value)"
        );
        run_to_end(&runner, request(&book, id, "set-region", dir.path())).await.unwrap();
        let out = run_to_end(&runner, request(&book, id, "use-region", dir.path())).await.unwrap();
        assert_eq!(out, "region is eu-west-1\n");

        let mut greet = request(&book, id, "greet", dir.path());
        greet.inputs.insert("responder".to_owned(), "Ana".to_owned());
        assert_eq!(run_to_end(&runner, greet).await.unwrap(), "hello Ana\n");
        // Given once, remembered for the session.
        assert_eq!(run_to_end(&runner, request(&book, id, "greet", dir.path())).await.unwrap(), "hello Ana\n");

        // Mutating and `confirm` steps need confirmation; nothing is recorded without it.
        let before = runner.store().events(id, 0).unwrap().len();
        let err = run_to_end(&runner, request(&book, id, "restart", dir.path())).await.unwrap_err();
        assert!(matches!(err, RunError::NeedsConfirmation { .. }), "{err}");
        let err = run_to_end(&runner, request(&book, id, "touch-file", dir.path())).await.unwrap_err();
        assert!(err.to_string().contains("is mutating (`touch` changes files or system state)"), "{err}");
        let err = run_to_end(&runner, request(&book, id, "careful", dir.path())).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "step `careful` is read-only (marked `confirm`): it needs confirmation before it runs"
        );
        assert_eq!(runner.store().events(id, 0).unwrap().len(), before);
        assert!(!dir.path().join("touched.txt").exists());
        let mut confirmed = request(&book, id, "touch-file", dir.path());
        confirmed.confirmed = true;
        assert_eq!(run_to_end(&runner, confirmed).await.unwrap(), "touched\n");

        let events = runner.store().events(id, 0).unwrap();
        let started: Vec<_> = events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::RunStarted(s) => Some(s),
                _ => None,
            })
            .collect();
        assert_eq!(started.len(), 5);
        let greet = started.iter().find(|s| s.step == "greet").unwrap();
        assert_eq!(greet.command_text, "echo \"hello Ana\"");
        assert_eq!(greet.inputs["responder"], "Ana");
        assert_eq!(greet.context.cwd, dir.path().display().to_string());
        assert_eq!(greet.recorder_pid, std::process::id());
        let finished = events.iter().filter(|e| e.kind.name() == "run-finished").count();
        assert_eq!(finished, 5, "every run that started has its end recorded");

        runner.store().append(id, &actor(), 10, EventKind::Closed).unwrap();
        let err = run_to_end(&runner, request(&book, id, "look", dir.path())).await.unwrap_err();
        assert!(matches!(err, RunError::SessionClosed(_)));
    });
}

/// Every file under `dir`, read as bytes.
pub(crate) fn all_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().to_owned(), std::fs::read(e.path()).unwrap()))
        .collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn a_secret_appears_nowhere_under_opsbook_nor_in_any_export() {
    let dir = book();
    let root = dir.path();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_opsbook"))
        .args(["run", "runbooks/payments.md", "leak", "--var", "api-key=Sup3rSecretValue42"])
        .current_dir(root)
        .env("DB_PASSWORD", "An0therSecret99")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    // What the person sees on their terminal is masked too.
    assert_eq!(text(&output.stdout), "key is [redacted]\npw [redacted]\n--token=[redacted]\n");
    let session =
        text(&output.stderr).lines().find_map(|l| l.strip_prefix("recording in new session ")).unwrap().to_owned();
    for format in ["md", "json", "html"] {
        let out = opsbook(
            &["export", &session, "--format", format, "-o", &format!("../export.{format}")],
            &root.join("runbooks"),
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let show = opsbook(&["session", "show", &session, "--json"], root);
    let mut files = all_files(&root.join(".opsbook"));
    assert!(files.iter().any(|(p, _)| p.ends_with("opsbook.db")));
    assert!(files.iter().any(|(p, _)| p.extension().is_some_and(|e| e == "log")));
    for format in ["md", "json", "html"] {
        let path = root.join(format!("export.{format}"));
        files.push((path.clone(), std::fs::read(&path).unwrap()));
    }
    files.push(("session show --json".into(), show.stdout.clone()));
    for (path, bytes) in &files {
        for secret in ["Sup3rSecretValue42", "An0therSecret99"] {
            assert!(!contains(bytes, secret), "{secret} found in {}", path.display());
        }
    }
    let markdown = std::fs::read_to_string(root.join("export.md")).unwrap();
    assert!(markdown.contains("key is [redacted]"), "{markdown}");
}

#[test]
fn killing_opsbook_run_mid_step_leaves_the_run_interrupted_and_the_rest_intact() {
    let dir = book();
    let root = dir.path();
    let new = opsbook(&["session", "new", "Slow incident", "--severity", "sev2"], root);
    assert!(new.status.success(), "{}", text(&new.stderr));
    let id = text(&new.stdout).trim().to_owned();
    assert!(opsbook(&["session", "note", &id, "before the run"], root).status.success());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_opsbook"))
        .args(["run", "runbooks/payments.md", "slow", "--session", &id])
        .current_dir(root)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the step's first output line in its log.
    let logs = root.join(".opsbook/runs").join(&id);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let started = std::fs::read_dir(&logs)
            .into_iter()
            .flatten()
            .any(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default().contains("started"));
        if started {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the step never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let show = opsbook(&["session", "show", &id, "--json"], root);
    assert!(show.status.success(), "{}", text(&show.stderr));
    let json: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    let types: Vec<&str> = json["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["created", "note-added", "run-started", "run-interrupted"]);
    assert_eq!(json["runs"][0]["result"], "interrupted");
    assert_eq!(json["runs"][0]["output"], "started\n");
    assert_eq!(json["events"][1]["details"]["text"], "before the run");
    // The orphaned step is ours to clean up: its shell leads its own process group.
    let pid = json["events"][2]["details"]["pid"].as_i64().unwrap() as i32;
    let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    // Marked once, not again at the next open.
    let again = opsbook(&["session", "show", &id, "--json"], root);
    let json: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(json["events"].as_array().unwrap().len(), 4);
}

#[test]
fn the_cli_session_commands() {
    let dir = book();
    let root = dir.path();
    let new = opsbook(&["session", "new", "API 5xx spike", "--severity", "sev2"], root);
    assert!(new.status.success(), "{}", text(&new.stderr));
    let id = text(&new.stdout).trim().to_owned();
    assert_eq!(text(&new.stdout), format!("{id}\n"), "only the id");
    assert!(id.len() == 15 && id.as_bytes()[8] == b'-', "{id}");

    let bad = opsbook(&["session", "new", "x", "--severity", "SEV9"], root);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("unknown severity `SEV9`; the book's levels are SEV1, SEV2, SEV3, SEV4"));
    let bad = opsbook(&["session", "status", &id, "fixed"], root);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("use one of investigating, identified, monitoring, resolved"));
    let missing = opsbook(&["session", "show", "20990101-zzzzzz"], root);
    assert_eq!(missing.status.code(), Some(2));

    for args in [
        vec!["session", "note", &id, "Pool exhausted on db-2", "--kind", "root-cause"],
        vec!["session", "note", &id, "EU customers see 502s", "--kind", "impact"],
        vec!["session", "status", &id, "identified"],
        vec!["session", "severity", &id, "SEV1"],
    ] {
        let out = opsbook(&args, root);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
    let update = opsbook(&["session", "status-update", &id], root);
    assert_eq!(
        text(&update.stdout),
        format!(
            "Incident: API 5xx spike\nSeverity: SEV1\nStatus: Identified\nImpact: EU customers see 502s\nETA: [If known]\nUpdates: opsbook session {id}\n"
        )
    );
    let list = opsbook(&["session", "list", "--json"], root);
    let sessions: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(sessions[0]["id"], id.as_str());
    assert_eq!(sessions[0]["status"], "Identified");
    assert!(opsbook(&["session", "close", &id], root).status.success());
    let again = opsbook(&["session", "close", &id], root);
    assert_eq!(again.status.code(), Some(2));
    let show = text(&opsbook(&["session", "show", &id], root).stdout);
    assert!(show.contains("Root cause: Pool exhausted on db-2"), "{show}");
    assert!(show.contains("Status: Investigating -> Identified"), "{show}");
    assert!(show.contains("Severity: SEV2 -> SEV1"), "{show}");
    assert!(show.contains("Incident closed"), "{show}");
}

#[test]
fn the_cli_run_exit_codes_without_a_terminal() {
    let dir = book();
    let root = dir.path();
    let run = |args: &[&str]| {
        let mut all = vec!["run", "runbooks/payments.md"];
        all.extend_from_slice(args);
        opsbook(&all, root)
    };
    let none = run(&[]);
    assert_eq!(none.status.code(), Some(2));
    assert!(
        text(&none.stderr)
            .contains("name the steps to run, or pass --all; the steps of `payments.md` are: look, set-region")
    );
    let missing = run(&["greet"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("missing input: `responder`"), "{}", text(&missing.stderr));
    let unconfirmed = run(&["restart"]);
    assert_eq!(unconfirmed.status.code(), Some(2));
    assert!(
        text(&unconfirmed.stderr)
            .contains("step `restart` is mutating (`kubectl rollout restart` restarts pods): pass --yes"),
        "{}",
        text(&unconfirmed.stderr)
    );
    // Refused runs leave no session behind.
    let list = opsbook(&["session", "list", "--json"], root);
    assert_eq!(text(&list.stdout).trim(), "[]");

    let dry = run(&["touch-file", "greet", "--var", "<responder>=Ana", "--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    assert!(text(&dry.stderr).contains("$ echo \"hello Ana\""), "{}", text(&dry.stderr));
    assert!(text(&dry.stderr).contains("dry run: not run (needs confirmation)"));
    assert!(!root.join("touched.txt").exists());
    assert_eq!(text(&opsbook(&["session", "list", "--json"], root).stdout).trim(), "[]");

    let ok = run(&["look", "touch-file.1", "--yes"]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert_eq!(text(&ok.stdout), "pods: 3 running\ntouched\n");
    assert!(text(&ok.stderr).contains("warning: queue deep"));
    assert!(root.join("touched.txt").exists());

    let failed = run(&["look", "fail", "look"]);
    assert_eq!(failed.status.code(), Some(1));
    assert_eq!(text(&failed.stdout), "pods: 3 running\nabout to fail\n", "stops at the failed step");
    assert!(text(&failed.stderr).contains("✗ exit 2"));
}

/// A clock the test moves by hand.
fn fixed_clock(start: i64) -> (Arc<AtomicI64>, opsbook::runner::Clock) {
    let now = Arc::new(AtomicI64::new(start));
    let clock = now.clone();
    (now, Arc::new(move || clock.load(Ordering::SeqCst)))
}

#[test]
fn export_of_a_scripted_session_with_a_fixed_clock() {
    let dir = book();
    let root = dir.path();
    let book = opsbook::load::load_book(root).unwrap();
    let store: Arc<dyn SessionStore> = Arc::new(SqliteStore::for_book(root).unwrap());
    // 2026-11-27T23:50:00Z: the incident runs past midnight.
    let t0 = 1_795_823_400_000;
    let minute = 60_000;
    let (now, clock) = fixed_clock(t0);
    let runner = Runner::new(store.clone(), root).with_clock(clock);
    let session = store.create("Payments API returns 502", "SEV2", &actor(), t0).unwrap();
    let id = session.id.as_str();
    let note = |at: i64, note: NoteKind, text: &str| {
        store.append(id, &actor(), at, EventKind::NoteAdded { note, text: text.to_owned() }).unwrap();
    };
    note(t0 + minute, NoteKind::Summary, "Payments API returned 502 for 40 minutes after a bad deploy.");
    runtime().block_on(async {
        now.store(t0 + 2 * minute, Ordering::SeqCst);
        run_to_end(&runner, request(&book, id, "look", root)).await.unwrap();
        store
            .append(
                id,
                &actor(),
                t0 + 5 * minute,
                EventKind::StatusChanged { from: Status::Investigating, to: Status::Identified },
            )
            .unwrap();
        now.store(t0 + 15 * minute, Ordering::SeqCst);
        let mut fix = request(&book, id, "touch-file", root);
        fix.confirmed = true;
        run_to_end(&runner, fix).await.unwrap();
        now.store(t0 + 16 * minute, Ordering::SeqCst);
        run_to_end(&runner, request(&book, id, "fail", root)).await.unwrap();
    });
    note(t0 + 20 * minute, NoteKind::RootCause, "The deploy dropped the DB pool size to 1.");
    note(t0 + 25 * minute, NoteKind::Resolution, "Rolled back to v41.");
    note(t0 + 26 * minute, NoteKind::Action, "Alert on pool saturation (ana, 2026-12-04)");
    note(t0 + 27 * minute, NoteKind::Lesson, "Canary deploys would have caught it.");
    note(t0 + 28 * minute, NoteKind::Note, "Customers notified.");
    store
        .append(
            id,
            &actor(),
            t0 + 30 * minute,
            EventKind::StatusChanged { from: Status::Identified, to: Status::Resolved },
        )
        .unwrap();
    store.append(id, &actor(), t0 + 40 * minute, EventKind::Closed).unwrap();

    let session = store.session(id).unwrap();
    let events = store.events(id, 0).unwrap();
    let markdown = opsbook::export::markdown(&session, &events, store.as_ref());
    let json = serde_json::to_string_pretty(&opsbook::export::json(&session, &events, store.as_ref())).unwrap();
    let html = opsbook::export::html(&session, &events, store.as_ref());
    let user = opsbook::record::user();
    let host = opsbook::record::host();
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex::escape(id), "[session]");
    settings.add_filter(&regex::escape(&root.display().to_string()), "[book]");
    settings.add_filter(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "[event]");
    settings.add_filter(r"\b[0-9a-f]{12}\b", "[run]");
    settings.add_filter(r"\b\d+(\.\d)? (ms|s)\b", "[duration]");
    settings.add_filter(r#""(duration_ms|recorder_pid|pid|at)": \d+"#, "\"$1\": [n]");
    settings.add_filter(&format!(r"\b{}@{}\b", regex::escape(&user), regex::escape(&host)), "[user]@[host]");
    settings.add_filter(&format!(r#""user": "{}""#, regex::escape(&user)), r#""user": "[user]""#);
    settings.add_filter(&format!(r#""host": "{}""#, regex::escape(&host)), r#""host": "[host]""#);
    settings.add_filter(r#"\s*"git_(commit|dirty)": [^,\n]+,?"#, "");
    settings.add_filter(r" · book at [0-9a-f]+( \(uncommitted changes\))?", "");
    settings.bind(|| {
        insta::assert_snapshot!("export_markdown", markdown);
        insta::assert_snapshot!("export_json", json);
    });
    // The HTML is the Markdown, rendered and printable.
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<h2>Root Cause</h2>\n<p>The deploy dropped the DB pool size to 1.</p>"), "{html}");
    assert!(html.contains("@media print"));
    assert!(html.contains("<input disabled=\"\" type=\"checkbox\"/>\nAlert on pool saturation"), "{html}");
}

#[test]
fn a_store_kept_elsewhere_keeps_its_runs_output_for_exports_and_replays() {
    let dir = book();
    let root = dir.path();
    let elsewhere = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", elsewhere.path().join("ops.db").display());
    let config = std::fs::read_to_string(root.join("book.toml")).unwrap();
    std::fs::write(root.join("book.toml"), format!("{config}\n[opsbook]\nstore = \"{store}\"\n")).unwrap();
    let run = opsbook(&["run", "runbooks/payments.md", "look"], root);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let session =
        text(&run.stderr).lines().find_map(|l| l.strip_prefix("recording in new session ")).unwrap().to_owned();
    // The log lives with the database it belongs to, not in the book.
    let logs: Vec<PathBuf> = all_files(elsewhere.path())
        .into_iter()
        .map(|(path, _)| path)
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert!(!root.join(".opsbook/runs").exists());

    let export = opsbook(&["export", &session, "--format", "md"], root);
    assert!(export.status.success(), "{}", text(&export.stderr));
    assert!(text(&export.stdout).contains("pods: 3 running"), "{}", text(&export.stdout));
    // `--store` names it the same way.
    std::fs::write(root.join("book.toml"), config).unwrap();
    let named = opsbook(&["export", &session, "--format", "json", "--store", &store], root);
    assert!(text(&named.stdout).contains("pods: 3 running"), "{}", text(&named.stderr));

    // The console replays the finished run from the same log.
    let server = crate::serve::Server::start_with(root, &[("OPSBOOK_STORE", &store)]);
    let shown: serde_json::Value = serde_json::from_str(&server.get_text(&format!("/api/sessions/{session}"))).unwrap();
    let run_id = shown["runs"][0]["run_id"].as_str().unwrap().to_owned();
    let replayed = crate::serve::outputs(&server.events(&run_id, None, None));
    assert!(replayed.contains("pods: 3 running\n") && replayed.contains("warning: queue deep\n"), "{replayed}");
}

/// `opsbook` with the environment `vars` added.
fn opsbook_with(args: &[&str], cwd: &Path, vars: &[(&str, &str)]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_opsbook"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .envs(vars.iter().copied())
        .output()
        .unwrap()
}

/// The lines of `markdown` between `## {heading}` and the next `## `.
fn section_lines<'m>(markdown: &'m str, heading: &str) -> Vec<&'m str> {
    let start = format!("## {heading}");
    markdown.lines().skip_while(|l| *l != start).skip(1).take_while(|l| !l.starts_with("## ")).collect()
}

#[test]
fn line_breaks_in_a_responder_title_or_note_forge_no_line_in_exports_or_session_show() {
    let dir = book();
    let root = dir.path();
    let forged_status = "- 02:00 - Status: Investigating -> Resolved (alice@vm)";
    let title = "db down\n- Status: Resolved\n\n## Root Cause\nintern did it";
    let new = opsbook(&["session", "new", title], root);
    assert!(new.status.success(), "{}", text(&new.stderr));
    let id = text(&new.stdout).trim().to_owned();
    let responder = "mallory@evil)\n- 02:00 - Status: Investigating -> Resolved (alice";
    let noted = opsbook_with(&["session", "note", &id, "hi"], root, &[("OPSBOOK_RESPONDER", responder)]);
    assert!(noted.status.success(), "{}", text(&noted.stderr));
    let notes: [(&str, String); 5] = [
        ("note", format!("first line\n{forged_status}\n## Root Cause\n\n1. forged\n---\n> quote")),
        ("root-cause", "real cause\n\n## Action Items\n- [ ] forged action".to_owned()),
        ("impact", "EU down\n- Users affected: none\n# Forged".to_owned()),
        ("action", "add an alert\n- [ ] forged item\n   ## Lessons Learned".to_owned()),
        ("summary", "short\r## Resolution\rforged".to_owned()),
    ];
    for (kind, note) in &notes {
        let out = opsbook(&["session", "note", &id, note, "--kind", kind], root);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    assert!(opsbook(&["session", "status", &id, "identified"], root).status.success());
    // created, the responder's note, five notes, the status change.
    let real_events = 8;

    let markdown = text(&opsbook(&["export", &id, "--format", "md"], root).stdout);
    let headings: Vec<&str> = markdown.lines().filter(|l| l.trim_start().starts_with('#')).collect();
    assert_eq!(
        headings,
        [
            "# Postmortem: db down - Status: Resolved ## Root Cause intern did it",
            "## Summary",
            "## Impact",
            "## Timeline",
            "## Root Cause",
            "## Resolution",
            "## Action Items",
            "## Lessons Learned"
        ],
        "{markdown}"
    );
    let header: Vec<&str> = markdown.lines().take_while(|l| !l.starts_with("## ")).collect();
    assert_eq!(header.iter().filter(|l| l.starts_with("- Status:")).count(), 1, "{markdown}");
    let timeline = section_lines(&markdown, "Timeline");
    let items: Vec<&&str> = timeline.iter().filter(|l| l.trim_start().starts_with(['-', '*', '+'])).collect();
    assert_eq!(items.len(), real_events, "{markdown}");
    assert!(items.iter().all(|l| l.starts_with("- ")), "{items:#?}");
    assert!(!markdown.contains("mallory"), "the responder with a line break is refused: {markdown}");
    assert_eq!(section_lines(&markdown, "Impact").iter().filter(|l| l.starts_with("- ")).count(), 2, "{markdown}");
    let actions = section_lines(&markdown, "Action Items");
    assert_eq!(actions.iter().filter(|l| l.trim_start().starts_with('-')).count(), 1, "{markdown}");
    assert!(markdown.contains("first line"), "{markdown}");
    assert!(markdown.contains("forged action"), "the note is kept, as text: {markdown}");

    // The HTML page: one h1, the template's h2s, one list of real events in the timeline.
    let html = text(&opsbook(&["export", &id, "--format", "html"], root).stdout);
    assert_eq!(html.matches("<h1>").count(), 1, "{html}");
    assert_eq!(html.matches("<h2>").count(), 7, "{html}");
    assert_eq!(html.matches("<h3>").count() + html.matches("<h4>").count() + html.matches("<hr").count(), 0, "{html}");
    assert_eq!(html.matches("<ol").count() + html.matches("<blockquote>").count(), 0, "{html}");
    let timeline = html.split("<h2>Timeline</h2>").nth(1).unwrap().split("<h2>").next().unwrap();
    assert_eq!(timeline.matches("<ul>").count(), 1, "{timeline}");
    assert_eq!(timeline.matches("<li>").count(), real_events, "{timeline}");

    // `session show`: the title on its line, one line a real event starts.
    let show = text(&opsbook(&["session", "show", &id], root).stdout);
    let lines: Vec<&str> = show.lines().collect();
    assert!(lines[0].ends_with("db down - Status: Resolved ## Root Cause intern did it"), "{show}");
    assert_eq!(lines.iter().filter(|l| l.trim_start().starts_with("status")).count(), 1, "{show}");
    let dated = lines[1..].iter().filter(|l| l.starts_with("20")).count();
    assert_eq!(dated, real_events, "{show}");
    assert!(lines.iter().all(|l| !l.starts_with(['-', '#'])), "a note's lines are indented: {show}");
    assert!(!show.contains("mallory") && !show.contains('\r'), "{show}");

    let update = text(&opsbook(&["session", "status-update", &id], root).stdout);
    assert_eq!(update.lines().count(), 6, "{update}");
    assert!(update.starts_with("Incident: db down - Status: Resolved ## Root Cause intern did it\n"), "{update}");
}

#[test]
fn opsbook_run_opens_the_session_as_the_console_does() {
    let dir = book();
    let root = dir.path();
    let run = opsbook(&["run", "runbooks/payments.md", "look"], root);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let session =
        text(&run.stderr).lines().find_map(|l| l.strip_prefix("recording in new session ")).unwrap().to_owned();
    let show = opsbook(&["session", "show", &session, "--json"], root);
    let json: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(
        (json["session"]["title"].as_str(), json["session"]["severity"].as_str()),
        (Some("Payments"), Some("SEV4"))
    );
    let shown = text(&opsbook(&["session", "show", &session], root).stdout);
    assert!(shown.contains("Opened by running step `look` (Look) of payments.md"), "{shown}");
    assert!(shown.contains("progress  payments.md  1 of 10 steps done"), "{shown}");
    assert!(shown.contains("✓ look  (exit 0, "), "{shown}");
    assert!(shown.contains("· set-region\n"), "{shown}");
    // A refused run opens none.
    let before = text(&opsbook(&["session", "list"], root).stdout);
    let refused = opsbook(&["run", "runbooks/payments.md", "restart"], root);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert_eq!(text(&opsbook(&["session", "list"], root).stdout), before);
}

const FAILOVER: &str = r#"# Failover

## Check

```bash {name=check}
echo checked
```

## Drain

```bash {name=drain}
test -f ok.flag && echo drained
```

## Note it

```bash {name=note}
echo noted
```

## Verify

```bash {name=verify}
echo verified
```
"#;

#[test]
fn skip_resume_and_from_go_on_where_the_incident_stands() {
    let dir = crate::common::fixture_book("failover.md", FAILOVER);
    let root = dir.path();
    // The first try stops where `drain` fails.
    let first = opsbook(&["run", "runbooks/failover.md", "--all"], root);
    assert_eq!(first.status.code(), Some(1), "{}", text(&first.stderr));
    assert_eq!(text(&first.stdout), "checked\n");
    let session =
        text(&first.stderr).lines().find_map(|l| l.strip_prefix("recording in new session ")).unwrap().to_owned();

    // `note` is done by hand: skipped, with the reason on the timeline.
    let blank = opsbook(&["session", "skip", &session, "runbooks/failover.md", "note", "--reason", "  "], root);
    assert_eq!(blank.status.code(), Some(2));
    assert!(text(&blank.stderr).contains("skipping step `note` needs a reason"), "{}", text(&blank.stderr));
    let unknown = opsbook(&["session", "skip", &session, "runbooks/failover.md", "nope", "--reason", "x"], root);
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown.stderr));
    let skip =
        opsbook(&["session", "skip", &session, "runbooks/failover.md", "note", "--reason", "done by hand"], root);
    assert!(skip.status.success(), "{}", text(&skip.stderr));

    // Resume: after `check` (the last success), `drain` again, `note` left alone, then `verify`.
    std::fs::write(root.join("ok.flag"), "").unwrap();
    let resumed = opsbook(&["run", "runbooks/failover.md", "--resume", &session], root);
    assert!(resumed.status.success(), "{}", text(&resumed.stderr));
    assert_eq!(text(&resumed.stdout), "drained\nverified\n");
    let said = text(&resumed.stderr);
    assert!(said.contains("failover.md: 1 of 4 steps done, 1 skipped"), "{said}");
    assert!(said.contains("↷ note  (done by hand, left alone)"), "{said}");
    assert!(!said.contains("recording in new session"), "{said}");
    // What succeeded has nothing to skip.
    let done = opsbook(&["session", "skip", &session, "runbooks/failover.md", "drain", "--reason", "x"], root);
    assert_eq!(done.status.code(), Some(2), "{}", text(&done.stderr));
    assert!(text(&done.stderr).contains("step `drain` succeeded"), "{}", text(&done.stderr));
    let again = opsbook(&["run", "runbooks/failover.md", "--resume", &session], root);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(text(&again.stdout), "");
    assert!(text(&again.stderr).contains("nothing left to run"), "{}", text(&again.stderr));

    let shown = text(&opsbook(&["session", "show", &session], root).stdout);
    assert!(shown.contains("progress  failover.md  3 of 4 steps done, 1 skipped"), "{shown}");
    assert!(shown.contains("↷ note  (done by hand, "), "{shown}");
    assert!(shown.contains("✓ drain  (exit 0, "), "{shown}");
    assert!(shown.contains("Skipped step `note` (Note it) of failover.md: done by hand"), "{shown}");
    let exported = text(&opsbook(&["export", &session, "--format", "md"], root).stdout);
    assert!(exported.contains("Skipped step `note` (Note it) of failover.md: done by hand"), "{exported}");
    let json = opsbook(&["export", &session, "--format", "json"], root);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let skipped = json["events"].as_array().unwrap().iter().find(|e| e["type"] == "step-skipped").unwrap();
    assert_eq!(skipped["details"]["reason"], "done by hand");

    // --from runs from that step to the end, in the session given.
    let from = opsbook(&["run", "runbooks/failover.md", "--from", "drain", "--session", &session], root);
    assert!(from.status.success(), "{}", text(&from.stderr));
    assert_eq!(text(&from.stdout), "drained\nnoted\nverified\n");
    let from_three = opsbook(&["run", "runbooks/failover.md", "--from", "note", "--dry-run"], root);
    assert!(text(&from_three.stderr).contains("▶ note"), "{}", text(&from_three.stderr));
    assert!(!text(&from_three.stderr).contains("▶ drain"), "{}", text(&from_three.stderr));
    let nope = opsbook(&["run", "runbooks/failover.md", "--from", "nope"], root);
    assert_eq!(nope.status.code(), Some(2), "{}", text(&nope.stderr));
    let both = opsbook(&["run", "runbooks/failover.md", "check", "--from", "drain"], root);
    assert_eq!(both.status.code(), Some(2), "{}", text(&both.stderr));

    // A closed session is neither resumed nor skipped in.
    assert!(opsbook(&["session", "close", &session], root).status.success());
    let closed = opsbook(&["run", "runbooks/failover.md", "--resume", &session], root);
    assert_eq!(closed.status.code(), Some(2), "{}", text(&closed.stderr));
    assert!(text(&closed.stderr).contains("is closed"), "{}", text(&closed.stderr));
    let skip_closed = opsbook(&["session", "skip", &session, "runbooks/failover.md", "check", "--reason", "x"], root);
    assert_eq!(skip_closed.status.code(), Some(2), "{}", text(&skip_closed.stderr));
    let missing = opsbook(&["run", "runbooks/failover.md", "--resume", "20990101-nothere"], root);
    assert_ne!(missing.status.code(), Some(0));
    assert!(text(&missing.stderr).contains("20990101-nothere"), "{}", text(&missing.stderr));
}

const OUTPUTS: &str = r#"# Failover

## Find the primary

```bash {name=find}
echo "primary=db-2" >> "$OPSBOOK_OUTPUT"
echo "db_token=Out9utS3cretValue" >> "$OPSBOOK_OUTPUT"
printf 'notes<<EOF\nline one\nline two\nEOF\n' >> "$OPSBOOK_OUTPUT"
echo "BASH_ENV=/tmp/pwn" >> "$OPSBOOK_OUTPUT"
echo found
```

## Use it

```bash {name=use}
echo "primary is <primary>"
echo "token <db_token>"
```

## Use the primary only

```bash {name=use-primary}
echo "again <primary>"
```

## Carry the token under other names

```bash {name=carry}
export CFG="<db_token>"
echo "COPY=<db_token>" >> "$OPSBOOK_OUTPUT"
echo "URL=https://ops:<db_token>@db.internal/" >> "$OPSBOOK_OUTPUT"
```
"#;

#[test]
fn step_outputs_fill_later_placeholders_and_secret_ones_stay_in_memory() {
    let dir = crate::common::fixture_book("failover.md", OUTPUTS);
    let root = dir.path();
    let run = opsbook(&["run", "runbooks/failover.md", "--all"], root);
    assert!(run.status.success(), "{}", text(&run.stderr));
    // The later step got both values without being given them; the secret is masked on show.
    assert_eq!(text(&run.stdout), "found\nprimary is db-2\ntoken [redacted]\nagain db-2\n");
    let said = text(&run.stderr);
    assert!(
        said.contains(
            "[opsbook] outputs for later steps: db_token (held in memory, masked), notes=line one line two, primary=db-2"
        ),
        "{said}"
    );
    assert!(said.contains("[opsbook] $OPSBOOK_OUTPUT line 7: `BASH_ENV` is not a name a step may set"), "{said}");
    let session = said.lines().find_map(|l| l.strip_prefix("recording in new session ")).unwrap().to_owned();

    // The timeline says what the step set, the secret masked.
    let shown = text(&opsbook(&["session", "show", &session], root).stdout);
    assert!(
        shown.contains("(exit 0, ")
            && shown.contains("; outputs db_token=[redacted], notes=line one line two, primary=db-2)"),
        "{shown}"
    );
    // The secret is nowhere on disk, nor in any export.
    let exported = opsbook(&["export", &session, "--format", "json"], root);
    let mut files = all_files(&root.join(".opsbook"));
    files.push(("export".into(), exported.stdout.clone()));
    for (path, bytes) in &files {
        assert!(!contains(bytes, "Out9utS3cretValue"), "the secret output found in {}", path.display());
    }
    // A later `opsbook run` in the session: the plain value is remembered, the secret was held
    // by the process that ended, so it is asked for.
    let later = opsbook(&["run", "runbooks/failover.md", "use-primary", "--session", &session], root);
    assert!(later.status.success(), "{}", text(&later.stderr));
    assert_eq!(text(&later.stdout), "again db-2\n");
    let asks = opsbook(&["run", "runbooks/failover.md", "use", "--session", &session], root);
    assert_eq!(asks.status.code(), Some(2), "{}", text(&asks.stderr));
    assert!(text(&asks.stderr).contains("db_token"), "{}", text(&asks.stderr));
    assert!(!text(&asks.stderr).contains("primary"), "{}", text(&asks.stderr));

    // The console's form says which step sets them.
    let list = opsbook(&["list", "runbooks/failover.md", "--json"], root);
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let inputs = &list[0]["steps"][1]["inputs"];
    assert_eq!(inputs[0]["name"], "primary", "{inputs}");
    assert_eq!(inputs[0]["set_by"], "find", "{inputs}");
}

#[test]
fn a_secret_split_by_escape_sequences_is_masked_in_every_output() {
    let book = "# Split\n\n```bash {name=split}\ns=\"<api-key>\"\nprintf '%s\\033[0m%s\\n' \"${s:0:4}\" \"${s:4}\"\n\
                echo \"token: $s\" | grep --color=always '[0-9]'\n```\n";
    let dir = crate::common::fixture_book("split.md", book);
    let root = dir.path();
    let run = opsbook(&["run", "runbooks/split.md", "split", "--var", "api-key=AbCdEfGh12345678"], root);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let without_escapes = |bytes: &[u8]| opsbook::line::ESCAPE.replace_all(&text(bytes), "").into_owned();
    let shown = without_escapes(&run.stdout);
    assert!(!shown.contains("AbCdEfGh12345678") && !shown.contains("12345678"), "{shown}");
    let session =
        text(&run.stderr).lines().find_map(|l| l.strip_prefix("recording in new session ")).unwrap().to_owned();
    let mut files = all_files(&root.join(".opsbook"));
    for format in ["md", "json", "html"] {
        let export = opsbook(&["export", &session, "--format", format], root);
        files.push((format!("export.{format}").into(), export.stdout));
    }
    for (path, bytes) in &files {
        let plain = without_escapes(bytes);
        assert!(
            !plain.contains("AbCdEfGh12345678") && !plain.contains("EfGh1234"),
            "found in {}: {plain}",
            path.display()
        );
    }
}

#[test]
fn a_step_that_puts_a_fifo_or_a_folder_in_place_of_its_output_file_ends_and_leaves_nothing() {
    let book = "# Odd\n\n```bash {name=fifo}\nrm -f \"$OPSBOOK_OUTPUT\"; mkfifo \"$OPSBOOK_OUTPUT\"; echo made\n```\n\n\
                ```bash {name=folder}\nrm -f \"$OPSBOOK_OUTPUT\"; mkdir -p \"$OPSBOOK_OUTPUT/x\"; echo made\n```\n";
    let dir = crate::common::fixture_book("odd.md", book);
    let tmp = tempfile::tempdir().unwrap();
    let start = std::time::Instant::now();
    let run = opsbook_with(
        &["run", "runbooks/odd.md", "fifo", "folder", "--yes"],
        dir.path(),
        &[("TMPDIR", tmp.path().to_str().unwrap())],
    );
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert_eq!(text(&run.stdout), "made\nmade\n");
    assert!(start.elapsed() < Duration::from_secs(10), "a FIFO held the run");
    let left: Vec<_> = all_files(tmp.path()).into_iter().map(|(path, _)| path).collect();
    assert!(left.is_empty(), "{left:?}");
    let folders: Vec<_> = walkdir::WalkDir::new(tmp.path()).min_depth(2).into_iter().collect();
    assert!(folders.is_empty(), "{folders:?}");
}
