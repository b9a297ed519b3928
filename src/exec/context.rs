//! Where a run happened: user, host, working folder, the book's git commit, and the probes a
//! book configures (`[opsbook.context] kube = "kubectl config current-context"`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::record::{Context, host, user};

/// How long one probe (or a git query) may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The book's git commit and whether its checkout has uncommitted changes (`None` outside git).
pub async fn git_state(book_root: &Path) -> (Option<String>, bool) {
    let commit = first_line(Path::new("git"), &["rev-parse", "HEAD"], book_root);
    let status = capture(Path::new("git"), &["status", "--porcelain", "--untracked-files=no"], book_root);
    let (commit, status) = tokio::join!(commit, status);
    let commit = commit.ok().filter(|c| !c.is_empty());
    let dirty = commit.is_some() && status.is_ok_and(|s| !s.trim().is_empty());
    (commit, dirty)
}

/// Collects the context of a run in `cwd`, with the book's git state. Probes run with `sh -c`
/// in parallel, each bounded by [`PROBE_TIMEOUT`]; a failing probe records why.
pub async fn collect(cwd: &Path, probes: &BTreeMap<String, String>, git: (Option<String>, bool)) -> Context {
    let mut probe_runs = tokio::task::JoinSet::new();
    for (name, command) in probes {
        let (name, command, cwd) = (name.clone(), command.clone(), cwd.to_path_buf());
        probe_runs.spawn(async move {
            let shown = match capture(Path::new("sh"), &["-c", &command], &cwd).await {
                Ok(out) => out.lines().next().unwrap_or("").trim().to_owned(),
                Err(why) => format!("({why})"),
            };
            (name, shown)
        });
    }
    let mut found = BTreeMap::new();
    while let Some(Ok((name, shown))) = probe_runs.join_next().await {
        found.insert(name, shown);
    }
    let (git_commit, git_dirty) = git;
    Context { user: user(), host: host(), cwd: cwd.display().to_string(), git_commit, git_dirty, probes: found }
}

async fn first_line(program: &Path, args: &[&str], cwd: &Path) -> Result<String, String> {
    capture(program, args, cwd).await.map(|out| out.lines().next().unwrap_or("").trim().to_owned())
}

/// Runs a short command and returns its stdout, or why it failed.
async fn capture(program: &Path, args: &[&str], cwd: &Path) -> Result<String, String> {
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = match tokio::time::timeout(PROBE_TIMEOUT, command.output()).await {
        Err(_) => return Err(format!("no answer within {}s", PROBE_TIMEOUT.as_secs())),
        Ok(Err(err)) => return Err(err.to_string()),
        Ok(Ok(output)) => output,
    };
    if !output.status.success() {
        return Err(format!("exit {}", output.status.code().unwrap_or(-1)));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
