//! Runs in a pseudo-terminal: an interactive step (`psql`, `kubectl exec -it`, `bash`) gets a
//! terminal of its own, fed by the console's browser terminal or by `opsbook run`'s.
//!
//! The pty's output goes two ways. Raw, at once, to whoever types (a backlog for one who
//! attaches late, then live): an echo must not wait for the redactor's line rules. Through the
//! redactor, like any run's output, to the run's log and to an asciicast v2 file beside it
//! (`<run>.cast`: output and resize events, secrets masked). What is typed is never recorded:
//! the record holds only what the terminal printed, so a password read with echo off is in
//! neither file.
//!
//! The step's shell leads a session of its own; stopping the run ends every process of that
//! session (an interactive shell puts its jobs in process groups of their own).

use std::collections::VecDeque;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::broadcast;

/// A terminal's size in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TerminalSize {
    pub cols: u16,
    pub rows: u16,
}

impl TerminalSize {
    /// Sizes a terminal may take: from 10×2 to 1000×500 cells.
    pub fn checked(self) -> Option<TerminalSize> {
        ((10..=1000).contains(&self.cols) && (2..=500).contains(&self.rows)).then_some(self)
    }
}

/// How much raw output a late viewer is given to draw the screen from.
const BACKLOG: usize = 256 * 1024;
/// Raw reads a slow viewer may fall behind.
const RAW_CAPACITY: usize = 1024;

/// The live side of a run in a pty.
#[derive(Debug)]
pub(super) struct Terminal {
    /// The pty's write half; `None` once the run has ended (the pty is then closed).
    input: tokio::sync::Mutex<Option<pty_process::OwnedWritePty>>,
    raw: Mutex<Raw>,
    cast: Arc<Mutex<Cast>>,
}

#[derive(Debug)]
struct Raw {
    backlog: VecDeque<u8>,
    sender: broadcast::Sender<Vec<u8>>,
    ended: bool,
}

/// What a viewer gets when it attaches: the screen so far, then what comes.
#[derive(Debug)]
pub struct Screen {
    pub backlog: Vec<u8>,
    pub live: broadcast::Receiver<Vec<u8>>,
    /// The pty is closed: the backlog is all there is.
    pub ended: bool,
}

impl Terminal {
    pub(super) fn new(input: pty_process::OwnedWritePty, cast: Arc<Mutex<Cast>>) -> Terminal {
        let (sender, _) = broadcast::channel(RAW_CAPACITY);
        Terminal {
            input: tokio::sync::Mutex::new(Some(input)),
            raw: Mutex::new(Raw { backlog: VecDeque::new(), sender, ended: false }),
            cast,
        }
    }

    pub(super) fn cast(&self) -> Arc<Mutex<Cast>> {
        self.cast.clone()
    }

    /// Keys typed, as the terminal encodes them.
    pub(super) async fn write(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut input = self.input.lock().await;
        let input = input.as_mut().ok_or_else(|| std::io::Error::other("the run has ended"))?;
        input.write_all(bytes).await?;
        input.flush().await
    }

    /// The run has ended: the pty and the asciicast are closed (a console serves many runs; it
    /// must not keep a pty and a file open for each).
    pub(super) async fn close(&self) {
        self.input.lock().await.take();
        self.ended();
        if let Ok(mut cast) = self.cast.lock() {
            cast.file = None;
        }
    }

    pub(super) fn resize(&self, size: TerminalSize) -> std::io::Result<()> {
        let input = self.input.try_lock().map_err(|_| std::io::Error::other("the terminal is busy"))?;
        let input = input.as_ref().ok_or_else(|| std::io::Error::other("the run has ended"))?;
        input.resize(pty_process::Size::new(size.rows, size.cols)).map_err(std::io::Error::other)?;
        if let Ok(mut cast) = self.cast.lock() {
            cast.resize(size);
        }
        Ok(())
    }

    pub(super) fn attach(&self) -> Option<Screen> {
        let raw = self.raw.lock().ok()?;
        Some(Screen { backlog: raw.backlog.iter().copied().collect(), live: raw.sender.subscribe(), ended: raw.ended })
    }

    fn shown(&self, bytes: &[u8]) {
        if let Ok(mut raw) = self.raw.lock() {
            raw.backlog.extend(bytes);
            let over = raw.backlog.len().saturating_sub(BACKLOG);
            raw.backlog.drain(..over);
            let _ = raw.sender.send(bytes.to_vec());
        }
    }

    fn ended(&self) {
        if let Ok(mut raw) = self.raw.lock() {
            raw.ended = true;
        }
    }
}

/// Copies the pty's output to the viewers (raw) and into `redacted` (for the log and the cast),
/// until the pty closes (every process holding it is gone).
pub(super) fn tee(
    mut output: pty_process::OwnedReadPty,
    terminal: Arc<Terminal>,
    mut redacted: tokio::io::DuplexStream,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            // A pty whose other side is closed reads as an error (EIO): the end.
            let n = match output.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            terminal.shown(&buffer[..n]);
            if redacted.write_all(&buffer[..n]).await.is_err() {
                break;
            }
        }
        terminal.ended();
    })
}

/// An asciicast v2 recording: a header line, then `[seconds, "o", text]` and
/// `[seconds, "r", "COLSxROWS"]` events, one JSON array per line.
#[derive(Debug)]
pub(super) struct Cast {
    file: Option<std::fs::File>,
    started: Instant,
}

impl Cast {
    /// Creates the file (private) with its header.
    pub(super) fn create(path: &Path, size: TerminalSize, shell: &str) -> std::io::Result<Cast> {
        let mut file = crate::private::create_file(path)?;
        let header = serde_json::json!({
            "version": 2,
            "width": size.cols,
            "height": size.rows,
            "timestamp": crate::clock::now_ms() / 1000,
            "env": {"TERM": TERM, "SHELL": shell},
        });
        writeln!(file, "{header}")?;
        Ok(Cast { file: Some(file), started: Instant::now() })
    }

    pub(super) fn output(&mut self, text: &str) {
        self.event("o", text);
    }

    fn resize(&mut self, size: TerminalSize) {
        self.event("r", &format!("{}x{}", size.cols, size.rows));
    }

    fn event(&mut self, kind: &str, data: &str) {
        let at = self.started.elapsed().as_secs_f64();
        let line = serde_json::json!([(at * 1_000_000.0).round() / 1_000_000.0, kind, data]);
        // A file that cannot be written stops being written; the log still has the output.
        if let Some(file) = &mut self.file
            && writeln!(file, "{line}").is_err()
        {
            self.file = None;
        }
    }
}

/// The terminal type a pty run is given (xterm.js speaks it).
pub const TERM: &str = "xterm-256color";

/// Every process of the session `leader` leads, by `/proc` (Linux).
fn session_members(leader: Pid) -> Vec<Pid> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            // `pid (comm) state ppid pgrp session …`; comm may hold spaces and parentheses.
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
            let Some((_, rest)) = stat.rsplit_once(')') else { return false };
            let mut fields = rest.split_whitespace();
            // A zombie is gone but for its parent's wait.
            fields.next() != Some("Z") && fields.nth(2).and_then(|s| s.parse::<i32>().ok()) == Some(leader.as_raw())
        })
        .map(Pid::from_raw)
        .collect()
}

/// What a file descriptor of this process is open on (`/dev/pts/3`, `pipe:[1234]`).
pub(super) fn fd_target(fd: &impl std::os::fd::AsRawFd) -> Option<std::path::PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()
}

/// Other processes with a file descriptor open on `target` (see [`fd_target`]): what a step
/// started that left its process group and session (`setsid`) but still holds its terminal or
/// its output pipe.
fn holders(target: &Path) -> Vec<Pid> {
    let me = std::process::id() as i32;
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return false };
            fds.filter_map(Result::ok).any(|fd| std::fs::read_link(fd.path()).is_ok_and(|link| link == target))
        })
        .map(Pid::from_raw)
        .collect()
}

/// Ends what escaped the step's group or session but holds one of `targets` open: SIGTERM,
/// then SIGKILL after `grace`.
pub(super) async fn stop_holders(targets: &[std::path::PathBuf], grace: Duration) {
    // Reading `/proc` is file work: off the async workers.
    let find = || {
        let targets = targets.to_vec();
        async move {
            tokio::task::spawn_blocking(move || targets.iter().flat_map(|t| holders(t)).collect::<Vec<_>>())
                .await
                .unwrap_or_default()
        }
    };
    let found = find().await;
    if found.is_empty() {
        return;
    }
    for pid in &found {
        let _ = nix::sys::signal::kill(*pid, Signal::SIGTERM);
        let _ = nix::sys::signal::kill(*pid, Signal::SIGCONT);
    }
    let deadline = tokio::time::Instant::now() + grace;
    while tokio::time::Instant::now() < deadline && !find().await.is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for pid in find().await {
        let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
    }
}

/// Ends the session `leader` leads: SIGHUP and SIGTERM to each of its processes (an interactive
/// shell passes the hangup to its jobs), SIGKILL to what is left after `grace`.
pub(super) async fn stop_session(leader: Pid, grace: Duration) {
    for pid in session_members(leader) {
        let _ = nix::sys::signal::kill(pid, Signal::SIGHUP);
        let _ = nix::sys::signal::kill(pid, Signal::SIGTERM);
        // A stopped job would not see either until it is continued.
        let _ = nix::sys::signal::kill(pid, Signal::SIGCONT);
    }
    let deadline = tokio::time::Instant::now() + grace;
    while tokio::time::Instant::now() < deadline {
        if session_members(leader).is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for pid in session_members(leader) {
        let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cast_is_a_header_then_timed_events() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.cast");
        let mut cast = Cast::create(&path, TerminalSize { cols: 100, rows: 30 }, "bash").unwrap();
        cast.output("hi\r\n");
        cast.resize(TerminalSize { cols: 80, rows: 24 });
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(
            (lines[0]["version"].as_u64(), lines[0]["width"].as_u64(), lines[0]["height"].as_u64()),
            (Some(2), Some(100), Some(30))
        );
        assert_eq!(lines[0]["env"]["TERM"], TERM);
        assert_eq!((lines[1][1].as_str(), lines[1][2].as_str()), (Some("o"), Some("hi\r\n")));
        assert_eq!((lines[2][1].as_str(), lines[2][2].as_str()), (Some("r"), Some("80x24")));
        assert!(lines[2][0].as_f64().unwrap() >= lines[1][0].as_f64().unwrap());
    }

    #[test]
    fn sizes_out_of_reason_are_refused() {
        assert!(TerminalSize { cols: 80, rows: 24 }.checked().is_some());
        assert!(TerminalSize { cols: 0, rows: 24 }.checked().is_none());
        assert!(TerminalSize { cols: 80, rows: 60000 }.checked().is_none());
    }
}
