//! Where an incident stands in each runbook: the state of every step in a session, from its
//! latest run. One rule for the console's cards and contents list and `opsbook session show`.

use serde::Serialize;

use crate::clock::utc;
use crate::export::ExportedRun;
use crate::line::one_line;
use crate::model::Runbook;

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
}

impl StepState {
    /// A mark for a terminal: `·` not run, `…` running, `✓` ok, `✗` failed.
    pub fn mark(self) -> &'static str {
        match self {
            StepState::NotRun => "·",
            StepState::Running => "…",
            StepState::Ok => "✓",
            StepState::Failed => "✗",
        }
    }
}

/// One step of a runbook, as the session has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepProgress<'a> {
    pub step: &'a str,
    pub title: &'a str,
    pub state: StepState,
    /// How the latest run ended (`exit 0`, `exit 3`, `cancelled`, …) or `running`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// When the latest run ended (or started, while running): `HH:MM` UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Who ran it: `user@host`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// Every step of `runbook` in the order of the runbook, with the state its latest run in
/// `runs` (a session's, in the order they started) gives it.
pub fn of_runbook<'a>(runbook: &'a Runbook, runs: &[ExportedRun<'_>]) -> Vec<StepProgress<'a>> {
    runbook
        .steps
        .iter()
        .map(|step| {
            let latest =
                runs.iter().rev().find(|run| run.started.runbook == runbook.path && run.started.step == step.id);
            let Some(run) = latest else {
                return StepProgress {
                    step: &step.id,
                    title: &step.title,
                    state: StepState::NotRun,
                    result: None,
                    at: None,
                    by: None,
                };
            };
            let result = run.result();
            let state = match (run.end, result.as_str()) {
                (None, _) => StepState::Running,
                (Some(_), "exit 0") => StepState::Ok,
                (Some(_), _) => StepState::Failed,
            };
            let at = run.end.map_or(run.started_at, |(_, event)| event.at);
            StepProgress {
                step: &step.id,
                title: &step.title,
                state,
                result: Some(result),
                at: Some(utc(at).time),
                by: Some(format!("{}@{}", one_line(&run.actor.user), one_line(&run.actor.host))),
            }
        })
        .collect()
}

/// How many of the steps are done (their latest run exited 0).
pub fn done(progress: &[StepProgress<'_>]) -> usize {
    progress.iter().filter(|p| p.state == StepState::Ok).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{Actor, Event, EventKind, RunEnded, RunStarted};

    fn started(step: &str, run_id: &str) -> EventKind {
        EventKind::RunStarted(Box::new(RunStarted {
            run_id: run_id.to_owned(),
            runbook: "db.md".to_owned(),
            step: step.to_owned(),
            ..RunStarted::default()
        }))
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
        })
    }

    #[test]
    fn each_step_takes_the_state_of_its_latest_run() {
        let text = "# DB\n\n```bash {name=check}\nuptime\n```\n\n```bash {name=fix}\ntrue\n```\n\n```bash {name=verify}\ntrue\n```\n\n```bash {name=later}\ntrue\n```\n";
        let runbook =
            crate::parse::parse_runbook(std::path::Path::new("db.md"), "db.md", text, &Default::default()).runbook;
        let ana = Actor { user: "ana".to_owned(), host: "laptop".to_owned(), source: "cli".to_owned() };
        let events: Vec<Event> = [
            (60_000, started("check", "r1")),
            (61_000, ended("r1", 3)),
            (120_000, started("check", "r2")),
            (121_000, ended("r2", 0)),
            (180_000, started("fix", "r3")),
            (181_000, ended("r3", 1)),
            (240_000, started("verify", "r4")),
        ]
        .into_iter()
        .enumerate()
        .map(|(n, (at, kind))| Event { seq: n as u64 + 1, ..Event::unnumbered("s", &ana, at, kind) })
        .collect();
        let runs = crate::export::runs(&events);
        let progress = of_runbook(&runbook, &runs);
        let states: Vec<(&str, StepState, Option<&str>, Option<&str>)> =
            progress.iter().map(|p| (p.step, p.state, p.result.as_deref(), p.at.as_deref())).collect();
        assert_eq!(
            states,
            [
                ("check", StepState::Ok, Some("exit 0"), Some("00:02")),
                ("fix", StepState::Failed, Some("exit 1"), Some("00:03")),
                ("verify", StepState::Running, Some("running"), Some("00:04")),
                ("later", StepState::NotRun, None, None),
            ]
        );
        assert_eq!(progress[0].by.as_deref(), Some("ana@laptop"));
        assert_eq!(done(&progress), 1);
    }
}
