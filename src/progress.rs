//! Where an incident stands in each runbook: the state of every step in a session, from its
//! latest run. One rule for the console's cards and contents list and `opsbook session show`.

use serde::Serialize;

use crate::clock::utc;
use crate::export::ExportedRun;
use crate::line::one_line;
use crate::model::{Book, Runbook, Step};
use crate::session::{Event, EventKind};

/// A step's state in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepState {
    NotRun,
    Running,
    /// Its latest run exited 0.
    Ok,
    /// Its latest run ended any other way (an exit code, a signal, timed out, cancelled,
    /// interrupted).
    Failed,
    /// Skipped after (or instead of) any run, with a reason.
    Skipped,
}

impl StepState {
    /// A mark for a terminal: `·` not run, `…` running, `✓` ok, `✗` failed, `↷` skipped.
    pub fn mark(self) -> &'static str {
        match self {
            StepState::NotRun => "·",
            StepState::Running => "…",
            StepState::Ok => "✓",
            StepState::Failed => "✗",
            StepState::Skipped => "↷",
        }
    }

    /// Done for the purpose of going on: it succeeded, or it was skipped.
    pub fn settled(self) -> bool {
        matches!(self, StepState::Ok | StepState::Skipped)
    }
}

/// One step of a runbook, as the session has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepProgress<'a> {
    pub step: &'a str,
    pub title: &'a str,
    pub state: StepState,
    /// How the latest run ended (`exit 0`, `exit 3`, `cancelled`, …) or `running`; for a skipped
    /// step, the reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// When the latest run ended (or started, while running), or the step was skipped: `HH:MM`
    /// UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Who ran it: `user@host`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// Every step of `runbook` in the order of the runbook, with the state that the latest of its
/// runs and skips in a session's `events` gives it (`runs` are [`crate::export::runs`] of them).
pub fn of_runbook<'a>(runbook: &'a Runbook, events: &[Event], runs: &[ExportedRun<'_>]) -> Vec<StepProgress<'a>> {
    runbook.steps.iter().map(|step| of_step(&runbook.path, &step.id, &step.title, events, runs)).collect()
}

/// One step's progress: from the latest of its runs and skips in `events`.
pub fn of_step<'a>(
    runbook: &str,
    step: &'a str,
    title: &'a str,
    events: &[Event],
    runs: &[ExportedRun<'_>],
) -> StepProgress<'a> {
    let latest = events.iter().rev().find(|event| match &event.kind {
        EventKind::RunStarted(started) => started.runbook == runbook && started.step == step,
        EventKind::StepSkipped(skipped) => skipped.runbook == runbook && skipped.step == step,
        _ => false,
    });
    let mut progress = StepProgress { step, title, state: StepState::NotRun, result: None, at: None, by: None };
    let Some(event) = latest else { return progress };
    progress.by = Some(format!("{}@{}", one_line(&event.actor.user), one_line(&event.actor.host)));
    let run = match &event.kind {
        EventKind::RunStarted(started) => runs.iter().find(|run| run.started.run_id == started.run_id),
        EventKind::StepSkipped(skipped) => {
            progress.state = StepState::Skipped;
            progress.result = Some(one_line(&skipped.reason));
            progress.at = Some(utc(event.at).time);
            return progress;
        }
        _ => None,
    };
    let Some(run) = run else { return progress };
    let result = run.result();
    progress.state = match (run.end, result.as_str()) {
        (None, _) => StepState::Running,
        (Some(_), "exit 0") => StepState::Ok,
        (Some(_), _) => StepState::Failed,
    };
    progress.at = Some(utc(run.end.map_or(run.started_at, |(_, end)| end.at)).time);
    progress.result = Some(result);
    progress
}

/// Where `opsbook run --resume` and the console's "Continue from here" go on: from the step
/// at index `from`, else after the last one that succeeded; leaving out those that succeeded or
/// were skipped.
pub fn to_resume<'p, 'a>(progress: &'p [StepProgress<'a>], from: Option<usize>) -> Vec<&'p StepProgress<'a>> {
    let start =
        from.unwrap_or_else(|| progress.iter().rposition(|p| p.state == StepState::Ok).map_or(0, |last| last + 1));
    progress.get(start..).unwrap_or_default().iter().filter(|p| !p.state.settled()).collect()
}

/// A group of tabs a run through a runbook went down one way: the label taken and those left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub group: u32,
    pub taken: String,
    pub left_out: Vec<String>,
}

/// Of `steps` in order, those a run through the runbook takes: tabs are alternatives, so per
/// group only one way through it. A way is a leaf tab (`K8s › Helm`); the steps of the tabs it
/// stands in (`K8s`, common to its inner tabs) come with it. The way taken is the one with the
/// most of its labels among `wanted` (any case: `--tab 5.7 --tab macOS` takes `5.7 › macOS`),
/// else the one `already` says the session went down (ran or skipped a step of), else the first.
/// Steps outside tabs are all kept. Used by `opsbook run --all/--from/--resume`; the console's
/// "Continue from here" follows the same rule.
pub fn one_per_group<'s>(
    steps: &[&'s Step],
    wanted: &[String],
    already: impl Fn(&Step) -> bool,
) -> (Vec<&'s Step>, Vec<Choice>) {
    let within = |label: &str, way: &str| label == way || way.starts_with(&format!("{label} › "));
    let mut choices: Vec<Choice> = Vec::new();
    for step in steps {
        let Some(alternative) = &step.alternative else { continue };
        if choices.iter().any(|c| c.group == alternative.group) {
            continue;
        }
        let in_group: Vec<&Step> = steps
            .iter()
            .copied()
            .filter(|s| s.alternative.as_ref().is_some_and(|a| a.group == alternative.group))
            .collect();
        let mut labels: Vec<&str> = Vec::new();
        for s in &in_group {
            let label = s.alternative.as_ref().map_or("", |a| a.label.as_str());
            if !labels.contains(&label) {
                labels.push(label);
            }
        }
        // The ways through: labels no other label stands within.
        let ways: Vec<&str> = labels
            .iter()
            .copied()
            .filter(|l| !labels.iter().any(|o| o != l && o.starts_with(&format!("{l} › "))))
            .collect();
        let score = |way: &str| {
            way.split(" › ").filter(|part| wanted.iter().any(|w| part.eq_ignore_ascii_case(w.trim()))).count()
        };
        let best = ways.iter().copied().map(|w| (score(w), w)).filter(|(s, _)| *s > 0).max_by_key(|(s, _)| *s);
        let gone_down = in_group.iter().filter(|s| already(s)).find_map(|s| {
            let label = s.alternative.as_ref().map_or("", |a| a.label.as_str());
            ways.iter().copied().find(|w| within(label, w))
        });
        let taken = best.map(|(_, w)| w).or(gone_down).or(ways.first().copied()).unwrap_or("").to_owned();
        let left_out = ways.iter().filter(|w| **w != taken).map(|w| (*w).to_owned()).collect();
        choices.push(Choice { group: alternative.group, taken, left_out });
    }
    let kept = steps
        .iter()
        .copied()
        .filter(|step| match &step.alternative {
            None => true,
            Some(a) => choices.iter().any(|c| c.group == a.group && within(&a.label, &c.taken)),
        })
        .collect();
    (kept, choices)
}

/// The progress of each runbook of `book` that the session touched (ran or skipped a step of),
/// in the book's order.
pub fn of_book<'a>(
    book: &'a Book,
    events: &[Event],
    runs: &[ExportedRun<'_>],
) -> Vec<(&'a Runbook, Vec<StepProgress<'a>>)> {
    let touched = |runbook: &Runbook| {
        events.iter().any(|event| match &event.kind {
            EventKind::RunStarted(started) => started.runbook == runbook.path,
            EventKind::StepSkipped(skipped) => skipped.runbook == runbook.path,
            _ => false,
        })
    };
    book.runbooks
        .iter()
        .filter(|runbook| touched(runbook))
        .map(|runbook| (runbook.as_ref(), of_runbook(runbook, events, runs)))
        .collect()
}

/// How many steps are done and skipped: `3 of 10 steps done, 1 skipped`.
pub fn summary(progress: &[StepProgress<'_>]) -> String {
    let skipped = progress.iter().filter(|p| p.state == StepState::Skipped).count();
    let skipped = if skipped > 0 { format!(", {skipped} skipped") } else { String::new() };
    format!("{} of {} steps done{skipped}", done(progress), progress.len())
}

/// How many of the steps are done (their latest run exited 0).
pub fn done(progress: &[StepProgress<'_>]) -> usize {
    progress.iter().filter(|p| p.state == StepState::Ok).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{Actor, RunEnded, RunStarted, StepSkipped};

    fn started(step: &str, run_id: &str) -> EventKind {
        EventKind::RunStarted(Box::new(RunStarted {
            run_id: run_id.to_owned(),
            runbook: "db.md".to_owned(),
            step: step.to_owned(),
            ..RunStarted::default()
        }))
    }

    /// Events of `ana@laptop`, numbered in order.
    fn numbered(kinds: Vec<(i64, EventKind)>) -> Vec<Event> {
        let ana = Actor { user: "ana".to_owned(), host: "laptop".to_owned(), source: "cli".to_owned() };
        kinds
            .into_iter()
            .enumerate()
            .map(|(n, (at, kind))| Event { seq: n as u64 + 1, ..Event::unnumbered("s", &ana, at, kind) })
            .collect()
    }

    fn skipped(step: &str, reason: &str) -> EventKind {
        EventKind::StepSkipped(StepSkipped {
            runbook: "db.md".to_owned(),
            step: step.to_owned(),
            reason: reason.to_owned(),
            ..StepSkipped::default()
        })
    }

    fn ended(run_id: &str, code: i32) -> EventKind {
        EventKind::RunFinished(RunEnded {
            run_id: run_id.to_owned(),
            exit_code: Some(code),
            signal: None,
            duration_ms: 5,
            output_bytes: 0,
            truncated: false,
            timed_out: false,
            exported: Vec::new(),
            outputs: std::collections::BTreeMap::new(),
        })
    }

    #[test]
    fn each_step_takes_the_state_of_its_latest_run() {
        let text = "# DB\n\n```bash {name=check}\nuptime\n```\n\n```bash {name=fix}\ntrue\n```\n\n```bash {name=verify}\ntrue\n```\n\n```bash {name=later}\ntrue\n```\n";
        let runbook =
            crate::parse::parse_runbook(std::path::Path::new("db.md"), "db.md", text, &Default::default()).runbook;
        let events = numbered(vec![
            (60_000, started("check", "r1")),
            (61_000, ended("r1", 3)),
            (120_000, started("check", "r2")),
            (121_000, ended("r2", 0)),
            (180_000, started("fix", "r3")),
            (181_000, ended("r3", 1)),
            (240_000, started("verify", "r4")),
            (300_000, skipped("later", "done by hand")),
        ]);
        let runs = crate::export::runs(&events);
        let progress = of_runbook(&runbook, &events, &runs);
        let states: Vec<(&str, StepState, Option<&str>, Option<&str>)> =
            progress.iter().map(|p| (p.step, p.state, p.result.as_deref(), p.at.as_deref())).collect();
        assert_eq!(
            states,
            [
                ("check", StepState::Ok, Some("exit 0"), Some("00:02")),
                ("fix", StepState::Failed, Some("exit 1"), Some("00:03")),
                ("verify", StepState::Running, Some("running"), Some("00:04")),
                ("later", StepState::Skipped, Some("done by hand"), Some("00:05")),
            ]
        );
        assert_eq!(progress[0].by.as_deref(), Some("ana@laptop"));
        assert_eq!(summary(&progress), "1 of 4 steps done, 1 skipped");
        // Resume goes on after `check`, the last step that succeeded, and leaves `later` alone.
        let resume: Vec<&str> = to_resume(&progress, None).iter().map(|p| p.step).collect();
        assert_eq!(resume, ["fix", "verify"]);
    }

    #[test]
    fn a_run_after_a_skip_decides_and_resume_starts_after_the_last_success() {
        let text =
            "# DB\n\n```bash {name=a}\ntrue\n```\n\n```bash {name=b}\ntrue\n```\n\n```bash {name=c}\ntrue\n```\n";
        let runbook =
            crate::parse::parse_runbook(std::path::Path::new("db.md"), "db.md", text, &Default::default()).runbook;
        let events = numbered(vec![
            (1_000, skipped("a", "not needed")),
            (2_000, started("a", "r1")),
            (3_000, ended("r1", 0)),
            (4_000, started("c", "r2")),
            (5_000, ended("r2", 0)),
        ]);
        let runs = crate::export::runs(&events);
        let progress = of_runbook(&runbook, &events, &runs);
        let states: Vec<StepState> = progress.iter().map(|p| p.state).collect();
        assert_eq!(states, [StepState::Ok, StepState::NotRun, StepState::Ok]);
        // `b` was never done, but `c` (later) succeeded: resume goes on after `c`, nothing left.
        assert!(to_resume(&progress, None).is_empty());
        // From `a` on: `b` only (`a` and `c` are done).
        let from_a: Vec<&str> = to_resume(&progress, Some(0)).iter().map(|p| p.step).collect();
        assert_eq!(from_a, ["b"]);
    }
}
