//! `opsbook run RUNBOOK [STEP[.N]]...`: the very steps the docs show, from a terminal or from
//! automation, recorded in an incident session.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use super::output::{BOLD, DIM, Output, risk_style};
use super::session::{StoreArgs, open_store};
use super::show::{find_runbook, open_book_for};
use super::{EXIT_FAILED, InputError};
use crate::exec::ProcessEvent;
use crate::exec::script::{ScriptError, Selection};
use crate::export::duration_text;
use crate::lookup;
use crate::model::{Risk, Runbook, Step};
use crate::record::Stream;
use crate::runner::{RunError, RunRequest, Runner};
use crate::session::Actor;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The runbook: a file path, or its path in the book.
    pub runbook: String,
    /// Steps to run, in order: `ID`, or `ID.N` for the N-th command of a step (from 1).
    pub steps: Vec<String>,
    /// Run every step of the runbook, in order.
    #[arg(long, conflicts_with = "steps")]
    pub all: bool,
    /// Run the steps from this one (its id) to the end, in order.
    #[arg(long, value_name = "STEP", conflicts_with_all = ["steps", "all"])]
    pub from: Option<String>,
    /// Go on with this session: run the steps after the last one that succeeded in it, leaving
    /// those that succeeded or were skipped alone (with --from: from that step on).
    #[arg(long, value_name = "SESSION", conflicts_with_all = ["steps", "all", "session"])]
    pub resume: Option<String>,
    /// Which tab to take where the runbook offers alternatives (MkDocs `=== "Linux"`, `<TabItem>`):
    /// its label, or a part of a nested one (`--tab Linux --tab 8.0`). Default: the tab the
    /// session already went down, else the first.
    #[arg(long = "tab", value_name = "LABEL")]
    pub tabs: Vec<String>,
    /// A value for a placeholder: `--var pod-name=api-7f9 --var NAMESPACE=prod`.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Record into this session (`opsbook session new`). Default: a new session.
    #[arg(long)]
    pub session: Option<String>,
    /// Confirm mutating and destructive steps (and do not ask before each step).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Show what would run, with the values in place; run and record nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The book to look in when RUNBOOK is not a file path.
    #[arg(long)]
    pub book: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// What the person at the terminal chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Choice {
    Run,
    Skip,
    Quit,
}

pub fn run(args: Args, out: &mut Output) -> anyhow::Result<ExitCode> {
    // Exported-variables files left by an `opsbook run` killed with `kill -9`.
    crate::exec::sweep_env_files();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(run_async(args, out))
}

async fn run_async(args: Args, out: &mut Output) -> anyhow::Result<ExitCode> {
    let book = open_book_for(&args.runbook, args.book.as_deref())?;
    out.diagnostics(&book)?;
    let runbook = find_runbook(&book, &args.runbook)?;
    let store = open_store(&book.root, &book.config, &args.store)?;
    // Resuming: where the session stands in this runbook decides what is left.
    let resumed = match &args.resume {
        Some(id) => {
            let session = store.session(id)?;
            if session.ended_at.is_some() {
                return Err(InputError(format!(
                    "session `{}` is closed; it cannot be resumed (start a new one with `opsbook run`)",
                    session.id
                ))
                .into());
            }
            let events = store.events(&session.id, 0)?;
            Some((session.id, events))
        }
        None => None,
    };
    let progress =
        resumed.as_ref().map(|(_, events)| crate::progress::of_runbook(runbook, events, &crate::export::runs(events)));
    let (selected, choices) = select(runbook, &args, progress.as_deref())?;
    for choice in choices.iter().filter(|c| !c.left_out.is_empty()) {
        writeln!(
            out.stderr,
            "{DIM}tabs: taking `{}`, leaving {} (choose with --tab LABEL){DIM:#}",
            choice.taken,
            choice.left_out.iter().map(|l| format!("`{l}`")).collect::<Vec<_>>().join(", ")
        )?;
    }
    if let Some(progress) = &progress {
        tell_resume(out, runbook, progress, &selected)?;
    }
    let mut given = parse_vars(&args.vars)?;
    // A value is for a placeholder of a selected step; any other name is a mistake (or an
    // attempt to set a variable the runbook never asks for).
    for name in given.keys() {
        if !selected.iter().any(|(step, _)| step.placeholders.iter().any(|p| p.name == *name)) {
            let mut declared: Vec<String> = selected
                .iter()
                .flat_map(|(step, _)| step.placeholders.iter().map(|p| format!("`{}`", p.name)))
                .collect();
            declared.sort();
            declared.dedup();
            let listed = if declared.is_empty() { "none".to_owned() } else { declared.join(", ") };
            return Err(InputError(format!(
                "--var `{name}`: no selected step has such a placeholder (their inputs: {listed})"
            ))
            .into());
        }
    }
    let on_terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let runner = Runner::new(store.clone(), &book.root);
    let cwd = std::env::current_dir()?;

    // A new session is made when the first step starts, so a refused run leaves none behind.
    let mut session_id = match (&args.session, &resumed) {
        (Some(id), _) => store.session(id)?.id,
        (None, Some((id, _))) => id.clone(),
        (None, None) => String::new(),
    };
    // ctrl-c cancels the step that runs (recorded as cancelled), then stops.
    let interrupted = Arc::new(tokio::sync::Notify::new());
    {
        let interrupted = interrupted.clone();
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                interrupted.notify_waiters();
                interrupted.notify_one();
            }
        });
    }

    let ask_each = on_terminal && !args.yes && selected.len() > 1;
    let mut failed = false;
    for (step, selection) in selected {
        print_header(out, step, selection)?;
        let mut request = RunRequest {
            session_id: "",
            runbook,
            step,
            selection,
            config: &book.config.opsbook,
            inputs: inputs_of(step, &given),
            confirmed: args.yes,
            confirmed_plan: None,
            cwd: cwd.clone(),
            actor: Actor::local("cli"),
            pty: None,
        };
        let plan = loop {
            let planned = if session_id.is_empty() {
                runner.plan_fresh(&request)
            } else {
                runner.plan(&request.with_session(&session_id)).await
            };
            match planned {
                Ok(plan) => break Some(plan),
                Err(RunError::Script { source: ScriptError::Missing(missing), .. }) if on_terminal && !args.dry_run => {
                    for input in missing {
                        let hint = match &input.set_by {
                            Some(step) => format!(" (set by step `{step}`)"),
                            None => String::new(),
                        };
                        let Some(value) =
                            prompt(out, &format!("  value for {}{hint}: ", input.name), &interrupted).await?
                        else {
                            return finish(out, &session_id, failed);
                        };
                        given.insert(input.name.clone(), value.clone());
                        request.inputs.insert(input.name, value);
                    }
                }
                Err(RunError::Script { source: ScriptError::Missing(missing), .. }) if args.dry_run => {
                    // The commands that would run, as written: the step's, or the one asked for.
                    let commands = match selection {
                        Selection::All => &step.commands[..],
                        Selection::Command(index) => step.commands.get(index..=index).unwrap_or_default(),
                    };
                    for command in commands {
                        for line in command.text.lines() {
                            writeln!(out.stderr, "  {DIM}${DIM:#} {line}")?;
                        }
                    }
                    let names: Vec<String> = missing.iter().map(ToString::to_string).collect();
                    writeln!(out.stderr, "  {DIM}dry run: not run; needs {}{DIM:#}", names.join(", "))?;
                    break None;
                }
                Err(err) => return Err(InputError(err.to_string()).into()),
            }
        };
        let Some(plan) = plan else { continue };
        for line in plan.shown.lines() {
            writeln!(out.stderr, "  {DIM}${DIM:#} {line}")?;
        }
        for handed in &plan.script.handed_over {
            writeln!(out.stderr, "  {}warning:{:#} {handed}", risk_style(Risk::Mutating), risk_style(Risk::Mutating))?;
        }
        if args.dry_run {
            let needs = if plan.needs_confirmation { " (needs confirmation)" } else { "" };
            writeln!(out.stderr, "  {DIM}dry run: not run{needs}{DIM:#}")?;
            continue;
        }
        let choice = if plan.needs_confirmation && !args.yes {
            if !on_terminal {
                return Err(InputError(format!(
                    "step `{}` is {} ({}): pass --yes to confirm it, or run it from a terminal",
                    step.id,
                    plan.risk,
                    plan.confirmation_reason()
                ))
                .into());
            }
            ask(out, &format!("  Run this {} step? [y]es / [s]kip / [q]uit: ", plan.risk), false, &interrupted).await?
        } else if ask_each {
            ask(out, "  [R]un / [s]kip / [q]uit: ", true, &interrupted).await?
        } else {
            Choice::Run
        };
        match choice {
            Choice::Skip => {
                record_skip(out, &runner, &session_id, (runbook, step), &interrupted).await?;
                continue;
            }
            Choice::Quit => break,
            Choice::Run => {}
        }
        request.confirmed = true;
        // An interactive step gets a pty of its own, joined to this terminal and recorded.
        let interactive = match selection {
            Selection::All => step.interactive.is_some(),
            Selection::Command(index) => step.commands.get(index).is_some_and(|c| c.interactive.is_some()),
        };
        request.pty = if on_terminal && interactive { super::terminal::size() } else { None };
        // The first step that starts opens the session, as the console's first Run does.
        let started = if session_id.is_empty() {
            let opening = crate::runner::opening(&book.config, runbook);
            let (session, started) = runner.start_opening(request.clone(), opening).await.map_err(refused)?;
            writeln!(out.stderr, "{DIM}recording in new session {}{DIM:#}", session.id)?;
            session_id = session.id;
            started
        } else {
            runner.start(request.with_session(&session_id)).await.map_err(refused)?
        };
        let mut subscription = started.run.subscribe(0);
        let mut cancelled = false;
        if request.pty.is_some() {
            // Keys (ctrl-c too) go to the step; its screen comes here as it draws it.
            super::terminal::join(&started.run).await?;
        }
        while request.pty.is_none() {
            let event = tokio::select! {
                event = subscription.next() => event,
                () = interrupted.notified(), if !cancelled => {
                    cancelled = true;
                    started.run.cancel();
                    continue;
                }
            };
            match event {
                Some(ProcessEvent::Output(chunk)) => match chunk.stream {
                    Stream::Stdout => {
                        out.stdout.write_all(chunk.text.as_bytes())?;
                        out.stdout.flush()?;
                    }
                    Stream::Stderr => out.stderr.write_all(chunk.text.as_bytes())?,
                    Stream::Opsbook => write!(out.stderr, "{DIM}{}{DIM:#}", chunk.text)?,
                },
                Some(ProcessEvent::Exit(_)) | None => break,
            }
        }
        let outcome = started.recorded.await??;
        let took = duration_text(outcome.duration_ms);
        if outcome.succeeded() {
            writeln!(
                out.stderr,
                "  {}✓ exit 0{:#} {DIM}in {took}{DIM:#}",
                risk_style(Risk::ReadOnly),
                risk_style(Risk::ReadOnly)
            )?;
        } else {
            failed = true;
            let how = outcome.status_text();
            let red = risk_style(crate::model::Risk::Destructive);
            writeln!(out.stderr, "  {red}✗ {how}{red:#} {DIM}in {took}{DIM:#}")?;
            if cancelled || !on_terminal {
                break;
            }
        }
    }
    finish(out, &session_id, failed)
}

/// A run that did not start: the store's and the system's failures as they are, the rest (inputs,
/// confirmation, a closed session) as the caller's mistake (exit 2).
pub(super) fn refused(err: RunError) -> anyhow::Error {
    match err {
        RunError::Start(_) | RunError::Store(_) | RunError::Folder { .. } => anyhow::Error::from(err),
        other => InputError(other.to_string()).into(),
    }
}

/// A step skipped at the prompt goes on the session's timeline with the reason asked for, so a
/// later `--resume` goes on past it. Before the first run there is no session to record it in.
async fn record_skip(
    out: &mut Output,
    runner: &Runner,
    session_id: &str,
    (runbook, step): (&Runbook, &Step),
    interrupted: &tokio::sync::Notify,
) -> anyhow::Result<()> {
    if session_id.is_empty() {
        writeln!(out.stderr, "  {DIM}skipped (no session yet: not recorded){DIM:#}")?;
        return Ok(());
    }
    let reason = prompt(out, "  Why skip it? (for the timeline) ", interrupted).await?.unwrap_or_default();
    let reason = if reason.trim().is_empty() { "no reason given" } else { reason.trim() };
    runner.skip(session_id, runbook, step, reason, Actor::local("cli")).await.map_err(refused)?;
    writeln!(out.stderr, "  {DIM}skipped: {}{DIM:#}", crate::line::one_line(reason))?;
    Ok(())
}

/// What `--resume` found: where the session stands and what runs now.
fn tell_resume(
    out: &mut Output,
    runbook: &Runbook,
    progress: &[crate::progress::StepProgress<'_>],
    selected: &[(&Step, Selection)],
) -> std::io::Result<()> {
    writeln!(out.stderr, "{DIM}{}: {}{DIM:#}", runbook.path, crate::progress::summary(progress))?;
    let left: Vec<&str> = selected.iter().map(|(step, _)| step.id.as_str()).collect();
    for step in progress.iter().filter(|p| p.state.settled()) {
        let why = step.result.as_deref().unwrap_or_default();
        writeln!(out.stderr, "  {DIM}{} {}  ({why}, left alone){DIM:#}", step.state.mark(), step.step)?;
    }
    // Steps before the point of resuming that never succeeded: said, not run.
    let first = left.first().and_then(|id| progress.iter().position(|p| p.step == *id)).unwrap_or(progress.len());
    for step in progress[..first].iter().filter(|p| !p.state.settled()) {
        let how = step.result.as_deref().unwrap_or("not run");
        writeln!(
            out.stderr,
            "  {DIM}{} {}  ({how}; before the last step that succeeded: not run again){DIM:#}",
            step.state.mark(),
            step.step
        )?;
    }
    if left.is_empty() {
        writeln!(out.stderr, "nothing left to run: every step is done or skipped")?;
    }
    Ok(())
}

fn finish(out: &mut Output, session_id: &str, failed: bool) -> anyhow::Result<ExitCode> {
    if !session_id.is_empty() {
        writeln!(out.stderr, "{DIM}session {session_id}: `opsbook export {session_id}` for the timeline{DIM:#}")?;
    }
    Ok(if failed { ExitCode::from(EXIT_FAILED) } else { ExitCode::SUCCESS })
}

fn print_header(out: &mut Output, step: &Step, selection: Selection) -> std::io::Result<()> {
    let (risk, reason, which) = match selection {
        Selection::Command(index) => {
            let command = &step.commands[index];
            (command.risk, command.risk_reason.as_str(), format!(".{}", index + 1))
        }
        Selection::All => (step.risk, step.risk_reason.as_str(), String::new()),
    };
    let style = risk_style(risk);
    writeln!(
        out.stderr,
        "{BOLD}▶ {}{which}{BOLD:#}  {}  {style}[{risk}]{style:#} {DIM}{reason}{DIM:#}",
        step.id, step.title
    )
}

/// The steps to run, in order, and the choices made among tabs.
type Selected<'r> = (Vec<(&'r Step, Selection)>, Vec<crate::progress::Choice>);

/// The steps to run, in order. `progress` is the resumed session's, for `--resume`.
fn select<'r>(
    runbook: &'r Runbook,
    args: &Args,
    progress: Option<&[crate::progress::StepProgress<'_>]>,
) -> Result<Selected<'r>, InputError> {
    let from = match &args.from {
        Some(wanted) => {
            let step = lookup::step(runbook, wanted)?;
            Some(runbook.steps.iter().position(|s| s.id == step.id).unwrap_or_default())
        }
        None => None,
    };
    // A run through the runbook takes one tab of each group of alternatives.
    let through = |steps: Vec<&'r Step>| {
        let went_down = |step: &Step| {
            progress
                .is_some_and(|p| p.iter().any(|p| p.step == step.id && p.state != crate::progress::StepState::NotRun))
        };
        let (kept, choices) = crate::progress::one_per_group(&steps, &args.tabs, went_down);
        (kept.into_iter().map(|s| (s, Selection::All)).collect::<Vec<_>>(), choices)
    };
    let (selected, choices) = if let Some(progress) = progress {
        let left = crate::progress::to_resume(progress, from);
        let all: Vec<&Step> = runbook.steps.iter().collect();
        let (kept, choices) = through(all);
        (kept.into_iter().filter(|(step, _)| left.iter().any(|p| p.step == step.id)).collect(), choices)
    } else if let Some(from) = from {
        through(runbook.steps[from..].iter().collect())
    } else if args.all {
        through(runbook.steps.iter().collect())
    } else {
        (Vec::new(), Vec::new())
    };
    if args.all || from.is_some() || progress.is_some() {
        // A label is unknown when no part of any way through any group is it.
        let known = |w: &String| {
            choices.iter().any(|c| {
                std::iter::once(&c.taken)
                    .chain(&c.left_out)
                    .any(|way| way.split(" › ").any(|part| part.eq_ignore_ascii_case(w.trim())))
            })
        };
        if let Some(unknown) = args.tabs.iter().find(|w| !known(w)) {
            let offered: Vec<String> =
                choices.iter().flat_map(|c| std::iter::once(c.taken.clone()).chain(c.left_out.clone())).collect();
            return Err(InputError(format!(
                "no tab `{unknown}` in `{}`; its tabs are: {}",
                runbook.path,
                if offered.is_empty() { "(none)".to_owned() } else { offered.join(", ") }
            )));
        }
        return Ok((selected, choices));
    }
    if args.steps.is_empty() {
        let ids: Vec<&str> = runbook.steps.iter().map(|s| s.id.as_str()).collect();
        return Err(InputError(format!(
            "name the steps to run, or pass --all; the steps of `{}` are: {}",
            runbook.path,
            if ids.is_empty() { "(none)".to_owned() } else { ids.join(", ") }
        )));
    }
    let named: Result<Vec<_>, InputError> =
        args.steps.iter().map(|wanted| lookup::step_or_command(runbook, wanted).map_err(InputError::from)).collect();
    Ok((named?, Vec::new()))
}

/// The given values that this step declares placeholders for.
fn inputs_of(step: &Step, given: &HashMap<String, String>) -> HashMap<String, String> {
    given
        .iter()
        .filter(|(name, _)| step.placeholders.iter().any(|p| p.name == **name))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// `--var NAME=VALUE`; the name may be written as in the runbook (`<pod-name>`, `$TOKEN`).
fn parse_vars(vars: &[String]) -> Result<HashMap<String, String>, InputError> {
    let mut parsed = HashMap::new();
    for var in vars {
        let Some((name, value)) = var.split_once('=') else {
            return Err(InputError(format!("--var `{var}`: write it as NAME=VALUE")));
        };
        let name = name.trim();
        let name = name.strip_prefix('<').and_then(|n| n.strip_suffix('>')).unwrap_or(name);
        let name = name.strip_prefix("{{").and_then(|n| n.strip_suffix("}}")).map_or(name, str::trim);
        let name = name.strip_prefix("${").and_then(|n| n.strip_suffix('}')).unwrap_or(name);
        let name = name.strip_prefix('$').unwrap_or(name);
        if name.is_empty() {
            return Err(InputError(format!("--var `{var}`: the name is empty")));
        }
        parsed.insert(name.to_owned(), value.to_owned());
    }
    Ok(parsed)
}

/// Asks a question on the terminal; `None` when the person pressed ctrl-c or closed input.
async fn prompt(out: &mut Output, question: &str, interrupted: &tokio::sync::Notify) -> anyhow::Result<Option<String>> {
    write!(out.stderr, "{question}")?;
    out.stderr.flush()?;
    let read = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|n| (n > 0).then_some(line))
    });
    tokio::select! {
        line = read => Ok(line??.map(|l| l.trim_end_matches(['\n', '\r']).to_owned())),
        () = interrupted.notified() => {
            writeln!(out.stderr)?;
            Ok(None)
        }
    }
}

async fn ask(
    out: &mut Output,
    question: &str,
    run_by_default: bool,
    interrupted: &tokio::sync::Notify,
) -> anyhow::Result<Choice> {
    loop {
        let Some(answer) = prompt(out, question, interrupted).await? else { return Ok(Choice::Quit) };
        match answer.trim().to_ascii_lowercase().as_str() {
            "" if run_by_default => return Ok(Choice::Run),
            "y" | "yes" | "r" | "run" => return Ok(Choice::Run),
            "s" | "skip" | "n" | "no" => return Ok(Choice::Skip),
            "q" | "quit" => return Ok(Choice::Quit),
            _ => {}
        }
    }
}
