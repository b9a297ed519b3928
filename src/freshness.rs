//! Whether a step still works: when CI last saw it pass or fail (`opsbook test --record FILE`,
//! read by `build` through `[opsbook] freshness` and by `check --stale`), and when it last ran
//! in an incident (the session store). One owner for what "verified" means.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::session::SessionStore;

/// `opsbook test --record`'s file: per step (`runbook#step`), its last pass and last failure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub version: u32,
    pub steps: BTreeMap<String, Seen>,
}

/// A step's last pass and last failure in CI.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passed: Option<Mark>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<Mark>,
}

/// When, and at which commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// The key of a step in the record.
pub fn key(runbook: &str, step: &str) -> String {
    format!("{runbook}#{step}")
}

impl Record {
    /// The record in `path`; an empty one when the file does not exist yet.
    pub fn read(path: &Path) -> Result<Record, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                serde_json::from_str(&text).map_err(|e| format!("`{}` is not a freshness record: {e}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Record { version: 1, ..Record::default() }),
            Err(e) => Err(format!("cannot read `{}`: {e}", path.display())),
        }
    }

    /// Writes the record (whole, through a temporary file beside it).
    pub fn write(&self, path: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self).expect("a record serializes") + "\n";
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| format!("cannot write `{}`: {e}", path.display()))
    }

    /// Notes that a step passed or failed now.
    pub fn note(&mut self, runbook: &str, step: &str, passed: bool, mark: Mark) {
        self.version = 1;
        let seen = self.steps.entry(key(runbook, step)).or_default();
        if passed {
            seen.passed = Some(mark);
        } else {
            seen.failed = Some(mark);
        }
    }

    /// What CI last said about a step.
    pub fn verdict(&self, runbook: &str, step: &str) -> Verdict {
        let Some(seen) = self.steps.get(&key(runbook, step)) else { return Verdict::Never };
        match (&seen.passed, &seen.failed) {
            (Some(passed), Some(failed)) if failed.at > passed.at => Verdict::Failed(failed.clone()),
            (Some(passed), _) => Verdict::Verified(passed.clone()),
            (None, Some(failed)) => Verdict::Failed(failed.clone()),
            (None, None) => Verdict::Never,
        }
    }
}

/// What CI last said about a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Verified(Mark),
    Failed(Mark),
    Never,
}

impl Verdict {
    /// `verified`, `failed`, `never`: the card's class.
    pub fn class(&self) -> &'static str {
        match self {
            Verdict::Verified(_) => "verified",
            Verdict::Failed(_) => "failed",
            Verdict::Never => "never",
        }
    }

    /// `verified in CI 3 days ago (abc1234)`, `failed in CI 2 hours ago`, `never verified in CI`.
    pub fn describe(&self, now: i64) -> String {
        let (word, mark) = match self {
            Verdict::Verified(mark) => ("verified", mark),
            Verdict::Failed(mark) => ("failed", mark),
            Verdict::Never => return "never verified in CI".to_owned(),
        };
        let commit = mark
            .commit
            .as_deref()
            .map(|c| format!(" at {}", c.chars().take(12).collect::<String>()))
            .unwrap_or_default();
        format!("{word} in CI {}{commit}", ago(now - mark.at))
    }
}

impl Verdict {
    /// The card's line in the built site, the same whenever it is built: the date as a
    /// `<time>` (the site's script says how long ago when the page is read).
    pub fn html(&self) -> String {
        let (word, mark) = match self {
            Verdict::Verified(mark) => ("verified", mark),
            Verdict::Failed(mark) => ("failed", mark),
            Verdict::Never => return "<p class=\"freshness never\">never verified in CI</p>".to_owned(),
        };
        let utc = crate::clock::utc(mark.at);
        let commit = mark
            .commit
            .as_deref()
            .map(|c| format!(" at <code>{}</code>", crate::site::escape_html(&c.chars().take(12).collect::<String>())))
            .unwrap_or_default();
        format!(
            "<p class=\"freshness {word}\">{word} in CI <time datetime=\"{}\">{} {} UTC</time>{commit}</p>",
            utc.rfc3339, utc.date, utc.time
        )
    }
}

/// `3 days ago`, `5 minutes ago`, `just now`.
pub fn ago(ms: i64) -> String {
    let seconds = ms.max(0) / 1000;
    let (n, unit) = match seconds {
        s if s < 60 => return "just now".to_owned(),
        s if s < 3600 => (s / 60, "minute"),
        s if s < 86_400 => (s / 3600, "hour"),
        s => (s / 86_400, "day"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// A step's last run in an incident: when it ended (or started), by whom, how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastRun {
    pub at: i64,
    pub by: String,
    pub result: String,
    pub session_id: String,
}

/// The most recent sessions [`last_runs`] reads: a console page asks on every load, so the
/// cost must not grow with years of incidents.
const RECENT_SESSIONS: usize = 500;

/// The last run of every step of every runbook in the store's recent sessions (the 500 newest):
/// `runbook#step` -> its last run.
pub fn last_runs(store: &dyn SessionStore) -> BTreeMap<String, LastRun> {
    let mut last: BTreeMap<String, LastRun> = BTreeMap::new();
    let Ok(sessions) = store.sessions() else { return last };
    for session in sessions.into_iter().take(RECENT_SESSIONS) {
        let Ok(events) = store.events(&session.id, 0) else { continue };
        for run in crate::export::runs(&events) {
            let at = run.end.map_or(run.started_at, |(_, e)| e.at);
            let key = key(&run.started.runbook, &run.started.step);
            if last.get(&key).is_none_or(|l| l.at < at) {
                last.insert(
                    key,
                    LastRun {
                        at,
                        by: format!("{}@{}", run.actor.user, run.actor.host),
                        result: run.result(),
                        session_id: session.id.clone(),
                    },
                );
            }
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_later_of_pass_and_failure_says_it() {
        let mut record = Record::default();
        assert_eq!(record.verdict("a.md", "s"), Verdict::Never);
        record.note("a.md", "s", true, Mark { at: 1_000, commit: Some("abcdef1234567890".to_owned()) });
        assert_eq!(record.verdict("a.md", "s").class(), "verified");
        let day = 86_400_000;
        assert_eq!(record.verdict("a.md", "s").describe(1_000 + 3 * day), "verified in CI 3 days ago at abcdef123456");
        record.note("a.md", "s", false, Mark { at: 2_000, commit: None });
        assert_eq!(record.verdict("a.md", "s").describe(2_000 + 3_600_000), "failed in CI 1 hour ago");
        assert_eq!(ago(59_000), "just now");
    }
}
