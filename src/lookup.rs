//! What a person names, found in the book: a runbook, a step, one of its commands, a severity
//! level. The command line (`show`, `run`, `extract`, `session`) and the console's API ask
//! here, so a name means the same in both. They differ only in how a command is numbered:
//! `ID.N` from 1 on the command line, `command` from 0 in the API's JSON; both come to the same
//! [`Selection`]. Nothing here reads the file system (a runbook given as a file on disk is the
//! command line's own business) or knows how an error is shown.

use crate::config::Config;
use crate::exec::script::Selection;
use crate::model::{Book, Runbook, Step};

/// Why a name found nothing. The message is the fact; [`LookupError::choices`] is what there is
/// to choose from, which each front end shows in its own way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("no runbook `{wanted}` in this book")]
    NoRunbook { wanted: String },
    #[error("`{wanted}` names {} runbooks ({}); give its path", .paths.len(), .paths.join(", "))]
    ManyRunbooks { wanted: String, paths: Vec<String> },
    #[error("no step `{wanted}` in `{runbook}`")]
    NoStep { wanted: String, runbook: String, steps: Vec<String> },
    #[error("step `{step}` has {count} command(s); {asked}")]
    NoCommand { step: String, count: usize, asked: CommandNumber },
    #[error("unknown severity `{given}`")]
    UnknownSeverity { given: String, levels: Vec<String> },
}

impl LookupError {
    /// What the person could have named instead, when the error knows: `its steps are: …`,
    /// `the book's levels are …`.
    pub fn choices(&self) -> Option<String> {
        match self {
            LookupError::NoStep { steps, .. } if steps.is_empty() => Some("its steps are: (none)".to_owned()),
            LookupError::NoStep { steps, .. } => Some(format!("its steps are: {}", steps.join(", "))),
            LookupError::UnknownSeverity { levels, .. } => Some(format!("the book's levels are {}", levels.join(", "))),
            _ => None,
        }
    }
}

/// A command of a step as it was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandNumber {
    /// `ID.N` on the command line: `written` as typed, `number` from 1.
    Numbered { written: String, number: usize },
    /// `command` in the API's JSON, from 0.
    Index(usize),
}

impl std::fmt::Display for CommandNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommandNumber::Numbered { written, number: usize::MAX } => {
                write!(f, "`{written}` asks for more than any step has")
            }
            CommandNumber::Numbered { written, number } => write!(f, "`{written}` asks for number {number}"),
            CommandNumber::Index(index) => write!(f, "there is no command {index} (0-based)"),
        }
    }
}

/// The runbook a name means: its path in the book, with or without `.md` and a leading `./`
/// or `/`; else its file name, when only one runbook has it.
pub fn runbook<'b>(book: &'b Book, wanted: &str) -> Result<&'b Runbook, LookupError> {
    let path = wanted.trim_start_matches("./").trim_start_matches('/');
    let extensions = &book.config.opsbook.extensions;
    let names = |rel: &str| {
        let [page, stem] = crate::page::other_names(rel, extensions);
        rel == path || page == path || stem == path
    };
    if let Some(runbook) = book.runbooks.iter().find(|r| r.path == path) {
        return Ok(runbook);
    }
    if let Some(runbook) = book.runbooks.iter().find(|r| names(&r.path)) {
        return Ok(runbook);
    }
    let by_name: Vec<&Runbook> = book
        .runbooks
        .iter()
        .filter(|r| !path.contains('/') && names(r.path.rsplit('/').next().unwrap_or(&r.path)))
        .map(|r| &**r)
        .collect();
    match by_name.as_slice() {
        [one] => Ok(one),
        [] => Err(LookupError::NoRunbook { wanted: wanted.to_owned() }),
        many => Err(LookupError::ManyRunbooks {
            wanted: wanted.to_owned(),
            paths: many.iter().map(|r| r.path.clone()).collect(),
        }),
    }
}

/// The step with this id.
pub fn step<'r>(runbook: &'r Runbook, id: &str) -> Result<&'r Step, LookupError> {
    runbook.steps.iter().find(|s| s.id == id).ok_or_else(|| no_step(runbook, id))
}

/// The whole step, or its command at `index` (from 0), as the API's `command` names it.
pub fn command(step: &Step, index: Option<usize>) -> Result<Selection, LookupError> {
    match index {
        None => Ok(Selection::All),
        Some(index) => check(step, index, || CommandNumber::Index(index)),
    }
}

/// `ID`, or `ID.N` for the step's N-th command (from 1), as the command line writes them. An id
/// that exists as written wins over reading its last `.N` as a number.
pub fn step_or_command<'r>(runbook: &'r Runbook, written: &str) -> Result<(&'r Step, Selection), LookupError> {
    if let Ok(step) = step(runbook, written) {
        return Ok((step, Selection::All));
    }
    // Digits only (`+1` is not a number here); more than any step has is simply too many.
    if let Some((id, digits)) = written.rsplit_once('.')
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(step) = step(runbook, id)
    {
        let number = digits.parse::<usize>().unwrap_or(usize::MAX);
        let asked = || CommandNumber::Numbered { written: written.to_owned(), number };
        let selection = match number.checked_sub(1) {
            Some(index) => check(step, index, asked)?,
            None => return Err(no_command(step, asked())),
        };
        return Ok((step, selection));
    }
    Err(no_step(runbook, written))
}

/// The book's name for a severity level, whatever its case.
pub fn severity(config: &Config, given: &str) -> Result<String, LookupError> {
    config.severity_name(given).map(str::to_owned).ok_or_else(|| LookupError::UnknownSeverity {
        given: given.to_owned(),
        levels: config.severity_names().into_iter().map(str::to_owned).collect(),
    })
}

fn check(step: &Step, index: usize, asked: impl FnOnce() -> CommandNumber) -> Result<Selection, LookupError> {
    if index < step.commands.len() { Ok(Selection::Command(index)) } else { Err(no_command(step, asked())) }
}

fn no_command(step: &Step, asked: CommandNumber) -> LookupError {
    LookupError::NoCommand { step: step.id.clone(), count: step.commands.len(), asked }
}

fn no_step(runbook: &Runbook, wanted: &str) -> LookupError {
    LookupError::NoStep {
        wanted: wanted.to_owned(),
        runbook: runbook.path.clone(),
        steps: runbook.steps.iter().map(|s| s.id.clone()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::parse::{ParseOptions, parse_runbook};

    const DB: &str = "# DB\n\n## Check\n\n```bash\npg_isready\npsql -c 'select 1'\n```\n\n## Fix\n\n```bash {name=v1.2}\nuptime\n```\n";

    fn book(paths: &[&str]) -> Book {
        let runbooks = paths
            .iter()
            .map(|path| Arc::new(parse_runbook(Path::new(path), path, DB, &ParseOptions::default()).runbook))
            .collect();
        Book {
            root: "book".into(),
            src: "book/src".into(),
            config: Config::default(),
            runbooks,
            diagnostics: Vec::new(),
            layout: Default::default(),
        }
    }

    #[test]
    fn runbook_names() {
        let book = book(&["db/failover.md", "web/failover.md", "web/restart.md", "top.md"]);
        let found = |wanted: &str| runbook(&book, wanted).map(|r| r.path.as_str());
        for (wanted, path) in [
            ("db/failover.md", "db/failover.md"),
            ("db/failover", "db/failover.md"),
            ("./db/failover", "db/failover.md"),
            ("/web/restart.md", "web/restart.md"),
            ("restart", "web/restart.md"),
            ("restart.md", "web/restart.md"),
            ("top", "top.md"),
        ] {
            assert_eq!(found(wanted), Ok(path), "{wanted}");
        }
        assert_eq!(found("nope").unwrap_err().to_string(), "no runbook `nope` in this book");
        assert_eq!(
            found("failover").unwrap_err().to_string(),
            "`failover` names 2 runbooks (db/failover.md, web/failover.md); give its path"
        );
        // A name is a whole path or a whole file name, never a part of one.
        assert!(found("over").is_err() && found("b/failover").is_err() && found("").is_err());
    }

    #[test]
    fn steps_and_commands_from_both_front_ends() {
        let book = book(&["db.md"]);
        let runbook = &book.runbooks[0];
        let cli = |written: &str| step_or_command(runbook, written).map(|(s, sel)| (s.id.as_str(), sel));
        assert_eq!(cli("check"), Ok(("check", Selection::All)));
        assert_eq!(cli("check.1"), Ok(("check", Selection::Command(0))));
        assert_eq!(cli("check.2"), Ok(("check", Selection::Command(1))));
        // An id with a dot is taken as written before `.N` is read as a number.
        assert_eq!(cli("v1.2"), Ok(("v1.2", Selection::All)));
        assert_eq!(cli("v1.2.1"), Ok(("v1.2", Selection::Command(0))));
        for (written, message) in [
            ("check.3", "step `check` has 2 command(s); `check.3` asks for number 3"),
            ("check.0", "step `check` has 2 command(s); `check.0` asks for number 0"),
            ("check.x", "no step `check.x` in `db.md`"),
            ("check.+1", "no step `check.+1` in `db.md`"),
            ("check.", "no step `check.` in `db.md`"),
            (
                "check.99999999999999999999",
                "step `check` has 2 command(s); `check.99999999999999999999` asks for more than any step has",
            ),
            ("nope.1", "no step `nope.1` in `db.md`"),
        ] {
            assert_eq!(cli(written).unwrap_err().to_string(), message, "{written}");
        }
        let check = step(runbook, "check").unwrap();
        // The API's 0-based index comes to the same selection as the CLI's `ID.N`.
        for n in 1..=check.commands.len() {
            assert_eq!(command(check, Some(n - 1)), Ok(cli(&format!("check.{n}")).unwrap().1));
        }
        assert_eq!(command(check, None), Ok(Selection::All));
        assert_eq!(
            command(check, Some(2)).unwrap_err().to_string(),
            "step `check` has 2 command(s); there is no command 2 (0-based)"
        );
        assert!(command(check, Some(usize::MAX)).is_err());
        let err = step(runbook, "nope").unwrap_err();
        assert_eq!(err.to_string(), "no step `nope` in `db.md`");
        assert_eq!(err.choices().as_deref(), Some("its steps are: check, v1.2"));
    }

    #[test]
    fn severity_levels_any_case() {
        let config = Config::default();
        assert_eq!(severity(&config, " sev2 "), Ok("SEV2".to_owned()));
        let err = severity(&config, "SEV9").unwrap_err();
        assert_eq!(err.to_string(), "unknown severity `SEV9`");
        assert_eq!(err.choices().as_deref(), Some("the book's levels are SEV1, SEV2, SEV3, SEV4"));
    }
}
