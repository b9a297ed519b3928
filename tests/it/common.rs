//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use opsbook::model::{Runbook, Step};
use opsbook::parse::{ParseOptions, parse_runbook};

/// The 13 step ids of the seed runbook, in order.
pub const SEED_STEP_IDS: [&str; 13] = [
    "1-acknowledge-incident",
    "2-assess-impact",
    "api-not-responding",
    "high-error-rate-5xx",
    "high-latency",
    "database-issues",
    "memory-issues-oomkilled",
    "queue-backup",
    "application-rollback",
    "database-rollback",
    "feature-flag-disable",
    "status-page-update",
    "1-verify-recovery",
];

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/` beside the repository, where the seed and the corpus live.
pub fn shared() -> PathBuf {
    std::env::var_os("OPSBOOK_SHARED").map_or_else(|| repo().join("../shared"), PathBuf::from)
}

/// A path under `../shared/`, or None (with a printed notice) when it is absent. Under
/// `CI=true` an absent input is a failure: CI always has it.
pub fn shared_path(rel: &str) -> Option<PathBuf> {
    let path = shared().join(rel);
    if path.exists() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("`{}` is missing, and CI=true: CI must have ../shared/", path.display());
    }
    eprintln!("notice: skipping, `{}` is absent (it sits beside the repository as ../shared/)", path.display());
    None
}

pub fn parse_file(path: &Path) -> (Runbook, Vec<opsbook::diagnostic::Diagnostic>) {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let parsed = parse_runbook(path, &name, &text, &ParseOptions::default());
    (parsed.runbook, parsed.diagnostics)
}

pub fn parse_text(text: &str) -> Runbook {
    parse_runbook(Path::new("test.md"), "test.md", text, &ParseOptions::default()).runbook
}

pub fn step<'r>(runbook: &'r Runbook, id: &str) -> &'r Step {
    runbook.steps.iter().find(|s| s.id == id).unwrap_or_else(|| {
        panic!("no step `{id}`; steps: {:?}", runbook.steps.iter().map(|s| &s.id).collect::<Vec<_>>())
    })
}

pub fn step_at(runbook: &Runbook, line: u32) -> Option<&Step> {
    runbook.steps.iter().find(|s| s.line == line)
}

/// A book in a temporary folder: `book.toml` (`src = "runbooks"`) and `runbooks/NAME` holding
/// `markdown`.
pub fn fixture_book(name: &str, markdown: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("book.toml"), "[book]\ntitle = \"Test\"\nsrc = \"runbooks\"\n").unwrap();
    std::fs::create_dir(dir.path().join("runbooks")).unwrap();
    std::fs::write(dir.path().join("runbooks").join(name), markdown).unwrap();
    dir
}

pub fn opsbook(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_opsbook"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .output()
        .unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
