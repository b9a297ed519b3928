//! Where a run happened: user, host, working folder, the book's git commit, and the probes a
//! book configures (`[opsbook.context] kube = "kubectl config current-context"`).
//!
//! A probe's answer is its first line: at most [`READ_LIMIT`] bytes of its output are read and at
//! most [`SHOWN_CHARS`] characters kept, and each probe runs in a process group of its own that
//! is killed once it has answered, failed or timed out, so nothing it started outlives it.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt as _;

use crate::record::{Context, host, user};

/// How long one probe (or a git query) may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The most of a probe's output that is read; the rest is never read (a probe that floods is
/// cut, not buffered).
pub const READ_LIMIT: usize = 4096;

/// The most characters of a probe's first line that are kept; a longer one ends in `…`.
pub const SHOWN_CHARS: usize = 200;

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
            let shown = match first_line(Path::new("sh"), &["-c", &command], &cwd).await {
                Ok(line) => line,
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

/// The first non-blank line a short command prints, one line and cut to [`SHOWN_CHARS`].
async fn first_line(program: &Path, args: &[&str], cwd: &Path) -> Result<String, String> {
    let out = capture(program, args, cwd).await?;
    let line = crate::line::lines(&out).into_iter().next().unwrap_or_default();
    Ok(match line.char_indices().nth(SHOWN_CHARS) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line,
    })
}

/// Runs a short command in a process group of its own and returns the start of its stdout (up
/// to its first line break, at most [`READ_LIMIT`] bytes), or why it failed. The group is killed
/// when this returns, whatever the command left running.
async fn capture(program: &Path, args: &[&str], cwd: &Path) -> Result<String, String> {
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|err| err.to_string())?;
    // The child leads its group, so the group's id is its pid.
    let group = child.id().and_then(|id| i32::try_from(id).ok()).map(Pid::from_raw);
    let answer = tokio::time::timeout(PROBE_TIMEOUT, answer(&mut child)).await;
    if let Some(group) = group {
        // Gone already (ESRCH) is fine: then nothing is left to stop.
        let _ = killpg(group, Signal::SIGKILL);
    }
    let _ = child.wait().await;
    answer.unwrap_or_else(|_| Err(format!("no answer within {}s", PROBE_TIMEOUT.as_secs())))
}

/// Reads `child`'s stdout up to its first line break or [`READ_LIMIT`] bytes: that is its
/// answer, whatever it does next. Output that ends before either is judged by the exit status.
async fn answer(child: &mut tokio::process::Child) -> Result<String, String> {
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let mut read = Vec::new();
    let mut buffer = [0_u8; 1024];
    loop {
        let room = (READ_LIMIT - read.len()).min(buffer.len());
        let n = stdout.read(&mut buffer[..room]).await.map_err(|err| err.to_string())?;
        if n == 0 {
            break;
        }
        read.extend_from_slice(&buffer[..n]);
        if read.len() >= READ_LIMIT || buffer[..n].contains(&b'\n') {
            return Ok(String::from_utf8_lossy(&read).into_owned());
        }
    }
    let status = child.wait().await.map_err(|err| err.to_string())?;
    if !status.success() {
        return Err(format!("exit {}", status.code().unwrap_or(-1)));
    }
    Ok(String::from_utf8_lossy(&read).into_owned())
}
