//! Running a step: one process group per run, output streamed as timestamped chunks to any
//! number of subscribers and to a bounded log file, timeout and cancel that leave no process of
//! the step behind, and the variables the step exported.
//!
//! Nothing here knows of terminals, browsers or sessions: `runner` records runs into a session,
//! the CLI and the server show them.

pub mod context;
mod env_file;
pub mod outputs;
pub mod redact;
pub mod script;
pub mod terminal;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{Notify, broadcast, mpsc, watch};

use crate::clock::now_ms;
use crate::record::{Chunk, End, Outcome, Stream};
use env_file::EnvFile;
pub use env_file::{EnvFileError, sweep_env_files};
pub use redact::Redactor;
pub use terminal::TerminalSize;

/// Default bound of a run's kept output.
pub const DEFAULT_LOG_LIMIT: u64 = 16 * 1024 * 1024;
/// Between SIGTERM and SIGKILL.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);
/// A partial line waits this long for more, then its safe part is sent (a prompt or a progress
/// bar shows); a tail that may still be a secret's first half waits for the rest, however long
/// (see `redact::StreamRedactor`).
const IDLE_FLUSH: Duration = Duration::from_millis(40);
const READ_SIZE: usize = 64 * 1024;
/// Chunks a slow subscriber may fall behind before it re-reads the log.
const BROADCAST_CAPACITY: usize = 256;

/// Written on the first line of a gated script: wait for the word to go, or exit without
/// running anything.
const GATE: &str = "IFS= read -r __opsbook_go || exit 125; exec </dev/null; ";

/// Written on the script's first line: at exit, the environment goes to a private file.
const ENV_TRAP: &str =
    "trap '__opsbook_status=$?; env -0 >\"$OPSBOOK_ENV_FILE\" 2>/dev/null; exit $__opsbook_status' EXIT; ";

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    /// The shell, run as `SHELL -c SCRIPT`.
    pub shell: String,
    pub script: String,
    /// Variables added to (or replacing) this process's environment.
    pub env: BTreeMap<String, String>,
    pub cwd: PathBuf,
    pub timeout: Duration,
    pub grace: Duration,
    /// The log, one JSON chunk per line; its folder must exist.
    pub log_path: PathBuf,
    pub log_limit: u64,
    pub redactor: Redactor,
    /// Report the variables the script exported (through a temporary file, removed after).
    pub capture_env: bool,
    /// Run in a pseudo-terminal of this size (an interactive step in the console's browser
    /// terminal, or proxied by `opsbook run`): keys go in through [`Process::write_input`], the
    /// screen comes out raw through [`Process::attach_screen`] and redacted into the log and an
    /// asciicast beside it (`<log>.cast`). Not gated.
    pub pty: Option<TerminalSize>,
    /// Start the shell held at a gate: it runs nothing of the script until
    /// [`Process::release`] (a line on its stdin, which is then `/dev/null`), and exits at once
    /// if the gate closes first (opsbook died or cancelled it). The runner records the run with
    /// its process id between the two, so nothing runs unrecorded. Not with `pty`.
    pub gated: bool,
}

/// A run in progress (or finished): subscribe to its output, cancel it, wait for it.
#[derive(Debug, Clone)]
pub struct Process {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pid: u32,
    log_path: PathBuf,
    sender: Mutex<Option<broadcast::Sender<Chunk>>>,
    cancel: Notify,
    done: watch::Receiver<Option<Outcome>>,
    /// The held shell's stdin (see [`ProcessSpec::gated`]).
    gate: Mutex<Option<tokio::process::ChildStdin>>,
    /// A run in a pty: its input, size and raw screen.
    terminal: Option<Arc<terminal::Terminal>>,
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot start `{shell}`: {source}")]
    Spawn { shell: String, source: std::io::Error },
    #[error("cannot write the run's log {}: {source}", path.display())]
    Log { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    EnvFile(#[from] EnvFileError),
}

/// Starts a run. Must be called inside a tokio runtime (with the time and process drivers).
pub fn start(spec: ProcessSpec) -> Result<Process, StartError> {
    let log_err = |source| StartError::Log { path: spec.log_path.clone(), source };
    // The log is private (0600), whatever the umask.
    let log = crate::private::create_file(&spec.log_path).map_err(log_err)?;
    let env_file = if spec.capture_env { Some(EnvFile::create()?) } else { None };
    // Where the step may write `NAME=value` lines for later steps.
    let outputs_file = if spec.capture_env { Some(EnvFile::create()?) } else { None };
    let mut script = String::with_capacity(spec.script.len() + 128);
    if env_file.is_some() {
        // On the script's first line, so that the shell's line numbers match the script's.
        script.push_str(ENV_TRAP);
    }
    let gated = spec.gated && spec.pty.is_none();
    if gated {
        script.push_str(GATE);
    }
    script.push_str(&spec.script);

    let mut private_files: Vec<(&str, &std::path::Path)> = Vec::new();
    if let Some(env_file) = &env_file {
        private_files.push(("OPSBOOK_ENV_FILE", &env_file.path));
    }
    if let Some(outputs_file) = &outputs_file {
        private_files.push(("OPSBOOK_OUTPUT", &outputs_file.path));
    }
    let spawn_err = |source| StartError::Spawn { shell: spec.shell.clone(), source };
    let started_at = now_ms();
    let (chunks_tx, chunks_rx) = mpsc::channel::<(Stream, String)>(64);
    // `held`: what the step's output goes through (its pty, or its pipes), to find what it
    // started that escaped its group or session.
    let (mut child, readers, terminal, held) = match spec.pty {
        Some(size) => {
            // The shell leads a session whose controlling terminal is the pty.
            let (pty, pts) = pty_process::open().map_err(|err| spawn_err(std::io::Error::other(err)))?;
            pty.resize(pty_process::Size::new(size.rows, size.cols))
                .map_err(|err| spawn_err(std::io::Error::other(err)))?;
            let mut command = pty_process::Command::new(&spec.shell)
                .arg("-c")
                .arg(&script)
                .current_dir(&spec.cwd)
                .envs(&spec.env)
                .env("TERM", terminal::TERM)
                .kill_on_drop(false);
            for (name, path) in &private_files {
                command = command.env(name, path);
            }
            // The recording first: a step must not start that cannot be recorded.
            let cast_path = spec.log_path.with_extension("cast");
            let cast = terminal::Cast::create(&cast_path, size, &spec.shell)
                .map_err(|source| StartError::Log { path: cast_path, source })?;
            let held = terminal::fd_target(&pts).into_iter().collect::<Vec<_>>();
            let child = command.spawn(pts).map_err(|err| spawn_err(std::io::Error::other(err)))?;
            let (output, input) = pty.into_split();
            let terminal = Arc::new(terminal::Terminal::new(input, Arc::new(Mutex::new(cast))));
            let (tee_in, tee_out) = tokio::io::duplex(READ_SIZE);
            let tee = terminal::tee(output, terminal.clone(), tee_in);
            let reader = spawn_reader(tee_out, Stream::Stdout, spec.redactor.stream(), chunks_tx.clone());
            (child, [Some(reader), Some(tee)], Some(terminal), held)
        }
        None => {
            let mut command = tokio::process::Command::new(&spec.shell);
            command.arg("-c").arg(&script).current_dir(&spec.cwd).envs(&spec.env).kill_on_drop(false);
            let stdin = if gated { std::process::Stdio::piped() } else { std::process::Stdio::null() };
            command.stdin(stdin).stdout(std::process::Stdio::piped());
            command.stderr(std::process::Stdio::piped()).process_group(0);
            for (name, path) in &private_files {
                command.env(name, path);
            }
            let mut child = command.spawn().map_err(spawn_err)?;
            let held = [
                child.stdout.as_ref().and_then(terminal::fd_target),
                child.stderr.as_ref().and_then(terminal::fd_target),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>();
            let readers = [
                child
                    .stdout
                    .take()
                    .map(|out| spawn_reader(out, Stream::Stdout, spec.redactor.stream(), chunks_tx.clone())),
                child
                    .stderr
                    .take()
                    .map(|err| spawn_reader(err, Stream::Stderr, spec.redactor.stream(), chunks_tx.clone())),
            ];
            (child, readers, None, held)
        }
    };
    let pid = child.id().unwrap_or(0);
    let (sender, _) = broadcast::channel(BROADCAST_CAPACITY);
    let (done_tx, done_rx) = watch::channel(None);
    let cast = terminal.as_ref().map(|t| t.cast());
    let inner = Arc::new(Inner {
        pid,
        log_path: spec.log_path.clone(),
        sender: Mutex::new(Some(sender.clone())),
        cancel: Notify::new(),
        done: done_rx,
        gate: Mutex::new(child.stdin.take()),
        terminal,
    });

    let writer = {
        let limit = spec.log_limit;
        let sender = sender.clone();
        std::thread::spawn(move || write_log(log, chunks_rx, sender, limit, cast))
    };
    drop(sender);

    let run = Process { inner: inner.clone() };
    let spec_env = spec.env;
    let output_redactor = spec.redactor.clone();
    let (timeout, grace, in_pty) = (spec.timeout, spec.grace, spec.pty.is_some());
    tokio::spawn(async move {
        let group = Target { pid: Pid::from_raw(pid as i32) };
        let end = tokio::select! {
            _ = child.wait() => End::Exited,
            () = tokio::time::sleep(timeout) => End::TimedOut,
            () = inner.cancel.notified() => End::Cancelled,
        };
        if end != End::Exited {
            let why = if end == End::TimedOut {
                format!("[opsbook] timed out after {}; stopping the step\n", humantime::format_duration(timeout))
            } else {
                "[opsbook] cancelled; stopping the step\n".to_owned()
            };
            let _ = chunks_tx.send((Stream::Opsbook, why)).await;
            if in_pty {
                terminal::stop_session(group.pid, grace).await;
            } else {
                stop_group(group, grace, Some(&mut child)).await;
            }
        }
        let status = child.wait().await.ok();
        let ended_at = now_ms();
        // No process of the step outlives it: what it left in the background goes too.
        if in_pty {
            terminal::stop_session(group.pid, Duration::from_millis(500).min(grace)).await;
        } else {
            stop_group(group, Duration::from_millis(500).min(grace), None).await;
        }
        let outputs = match &outputs_file {
            Some(file) => read_outputs(file, &output_redactor, in_pty, &chunks_tx).await,
            None => BTreeMap::new(),
        };
        drop(outputs_file);
        drop(chunks_tx);
        // A process that left the group or session (`setsid`) may still hold the output open:
        // it is stopped too, and the output is not waited for past 2 s.
        terminal::stop_holders(&held, Duration::from_millis(500).min(grace)).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        for mut reader in readers.into_iter().flatten() {
            if tokio::time::timeout_at(deadline, &mut reader).await.is_err() {
                reader.abort();
            }
        }
        if let Some(terminal) = &inner.terminal {
            terminal.close().await;
        }
        let totals = tokio::task::spawn_blocking(move || writer.join().ok()).await.ok().flatten();
        let (output_bytes, truncated) = totals.unwrap_or((0, false));
        let exported = match env_file {
            Some(env_file) => exported_vars(&env_file.read(), &spec_env),
            None => BTreeMap::new(),
        };
        if let Ok(mut sender) = inner.sender.lock() {
            sender.take();
        }
        let outcome = Outcome {
            end,
            exit_code: status.and_then(|s| s.code()),
            signal: status.and_then(|s| s.signal()),
            started_at,
            ended_at,
            duration_ms: (ended_at - started_at).max(0) as u64,
            output_bytes,
            truncated,
            exported,
            outputs,
        };
        let _ = done_tx.send(Some(outcome));
    });
    Ok(run)
}

impl Process {
    /// The process id of the shell (and the id of its process group).
    pub fn pid(&self) -> u32 {
        self.inner.pid
    }

    /// Lets a gated process run its script (see [`ProcessSpec::gated`]); nothing for others.
    pub async fn release(&self) {
        use tokio::io::AsyncWriteExt;
        let gate = self.inner.gate.lock().ok().and_then(|mut gate| gate.take());
        if let Some(mut gate) = gate {
            let _ = gate.write_all(b"go\n").await;
        }
    }

    /// Whether the run is in a pty (see [`ProcessSpec::pty`]).
    pub fn is_terminal(&self) -> bool {
        self.inner.terminal.is_some()
    }

    /// Keys typed into a run in a pty.
    pub async fn write_input(&self, bytes: &[u8]) -> std::io::Result<()> {
        match &self.inner.terminal {
            Some(terminal) => terminal.write(bytes).await,
            None => Err(std::io::Error::other("this run has no terminal")),
        }
    }

    /// Resizes a run's pty (and records it in the asciicast).
    pub fn resize(&self, size: TerminalSize) -> std::io::Result<()> {
        match &self.inner.terminal {
            Some(terminal) => terminal.resize(size),
            None => Err(std::io::Error::other("this run has no terminal")),
        }
    }

    /// The raw screen of a run in a pty: what it printed so far (the last 256 KiB), then live.
    pub fn attach_screen(&self) -> Option<terminal::Screen> {
        self.inner.terminal.as_ref()?.attach()
    }

    /// Asks the run to stop: SIGTERM to its process group, SIGKILL after the grace period.
    pub fn cancel(&self) {
        self.inner.cancel.notify_one();
    }

    /// Waits for the run to end.
    pub async fn wait(&self) -> Outcome {
        let mut done = self.inner.done.clone();
        match done.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone().unwrap_or_else(lost_outcome),
            Err(_) => lost_outcome(),
        }
    }

    /// The outcome, when the run has ended.
    pub fn outcome(&self) -> Option<Outcome> {
        self.inner.done.borrow().clone()
    }

    /// The run's output from the chunk after `after` (0: from the start): what the log holds,
    /// then the chunks as they come, then the outcome.
    pub fn subscribe(&self, after: u64) -> Subscription {
        let live = self.inner.sender.lock().ok().and_then(|s| s.as_ref().map(broadcast::Sender::subscribe));
        let mut subscription = Subscription {
            log_path: self.inner.log_path.clone(),
            live,
            backlog: std::collections::VecDeque::new(),
            next_seq: after.saturating_add(1),
            done: self.inner.done.clone(),
            finished: false,
        };
        subscription.reload();
        subscription
    }
}

fn lost_outcome() -> Outcome {
    let now = now_ms();
    Outcome {
        end: End::Cancelled,
        exit_code: None,
        signal: None,
        started_at: now,
        ended_at: now,
        duration_ms: 0,
        output_bytes: 0,
        truncated: false,
        exported: BTreeMap::new(),
        outputs: BTreeMap::new(),
    }
}

/// What a subscriber receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessEvent {
    Output(Chunk),
    Exit(Outcome),
}

/// One subscriber's view of a run's output: replay from the log, then live.
#[derive(Debug)]
pub struct Subscription {
    log_path: PathBuf,
    live: Option<broadcast::Receiver<Chunk>>,
    backlog: std::collections::VecDeque<Chunk>,
    next_seq: u64,
    done: watch::Receiver<Option<Outcome>>,
    finished: bool,
}

impl Subscription {
    /// The next chunk, then the outcome, then `None`.
    pub async fn next(&mut self) -> Option<ProcessEvent> {
        loop {
            if let Some(chunk) = self.backlog.pop_front() {
                self.next_seq = chunk.seq + 1;
                return Some(ProcessEvent::Output(chunk));
            }
            if self.finished {
                return None;
            }
            let received = match &mut self.live {
                Some(live) => Some(live.recv().await),
                None => None,
            };
            match received {
                Some(Ok(chunk)) if chunk.seq < self.next_seq => {}
                Some(Ok(chunk)) if chunk.seq == self.next_seq => {
                    self.next_seq += 1;
                    return Some(ProcessEvent::Output(chunk));
                }
                // Fell behind or missed some: the log has them all, in order.
                Some(Ok(_)) | Some(Err(broadcast::error::RecvError::Lagged(_))) => self.reload(),
                Some(Err(broadcast::error::RecvError::Closed)) | None => {
                    self.live = None;
                    // The outcome is set once the log is written to its end: read what is left
                    // only then, so a subscriber that fell behind near the end misses nothing.
                    let outcome = self.done.wait_for(Option::is_some).await.ok().and_then(|o| o.clone());
                    self.reload();
                    if self.backlog.is_empty() {
                        self.finished = true;
                        return outcome.map(ProcessEvent::Exit);
                    }
                }
            }
        }
    }

    fn reload(&mut self) {
        self.backlog = crate::record::read_log(&self.log_path, self.next_seq).into();
    }
}

/// A run's process group (its shell's id).
#[derive(Debug, Clone, Copy)]
struct Target {
    pid: Pid,
}

impl Target {
    fn signal(self, signal: Option<Signal>) -> nix::Result<()> {
        killpg(self.pid, signal)
    }
}

/// Sends SIGTERM to the group, then SIGKILL if anything of it is left after `grace`.
async fn stop_group(group: Target, grace: Duration, mut child: Option<&mut tokio::process::Child>) {
    if group.signal(Some(Signal::SIGTERM)).is_err() {
        return;
    }
    let deadline = tokio::time::Instant::now() + grace;
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if let Some(child) = child.as_deref_mut() {
            // Reap the shell so that it does not count as alive.
            let _ = child.try_wait();
        }
        if group.signal(None).is_err() {
            return;
        }
    }
    let _ = group.signal(Some(Signal::SIGKILL));
}

fn spawn_reader<R: AsyncRead + Unpin + Send + 'static>(
    mut source: R,
    stream: Stream,
    mut redactor: redact::StreamRedactor,
    chunks: mpsc::Sender<(Stream, String)>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut buffer = vec![0u8; READ_SIZE];
        // The first bytes of a character that the next read completes.
        let mut pending: Vec<u8> = Vec::new();
        // A partial line has grown since the last flush.
        let mut unflushed = false;
        loop {
            let read = if unflushed {
                match tokio::time::timeout(IDLE_FLUSH, source.read(&mut buffer)).await {
                    Ok(read) => read,
                    Err(_) => {
                        unflushed = false;
                        if !send(&chunks, stream, redactor.flush()).await {
                            return;
                        }
                        continue;
                    }
                }
            } else {
                source.read(&mut buffer).await
            };
            match read {
                Ok(0) | Err(_) => break,
                Ok(n) => pending.extend_from_slice(&buffer[..n]),
            }
            let text = redactor.push(&take_text(&mut pending, false));
            unflushed = redactor.holds_partial();
            if !send(&chunks, stream, text).await {
                return;
            }
        }
        let mut text = redactor.push(&take_text(&mut pending, true));
        text.push_str(&redactor.finish());
        send(&chunks, stream, text).await;
    })
}

/// Sends a non-empty chunk; false when nobody receives any more.
async fn send(chunks: &mpsc::Sender<(Stream, String)>, stream: Stream, text: String) -> bool {
    text.is_empty() || chunks.send((stream, text)).await.is_ok()
}

/// Takes the bytes of `pending` as text, invalid UTF-8 replaced; unless `all`, an incomplete
/// character at the end stays for the next read.
fn take_text(pending: &mut Vec<u8>, all: bool) -> String {
    let keep_from = match std::str::from_utf8(pending) {
        Err(err) if !all && err.error_len().is_none() => err.valid_up_to(),
        _ => pending.len(),
    };
    let rest = pending.split_off(keep_from);
    let text = String::from_utf8_lossy(pending).into_owned();
    *pending = rest;
    text
}

/// The log writer: numbers chunks, writes them (up to the bound) and then broadcasts them, and
/// for a run in a pty adds them to its asciicast. Returns the bytes seen and whether the log was
/// cut.
fn write_log(
    file: File,
    mut chunks: mpsc::Receiver<(Stream, String)>,
    sender: broadcast::Sender<Chunk>,
    limit: u64,
    cast: Option<Arc<Mutex<terminal::Cast>>>,
) -> (u64, bool) {
    let mut log = std::io::BufWriter::new(file);
    let (mut seq, mut kept, mut seen, mut cut, mut marked) = (0u64, 0u64, 0u64, false, false);
    let mut emit = |stream: Stream, text: String, seq: &mut u64| {
        *seq += 1;
        if let Some(cast) = &cast
            && let Ok(mut cast) = cast.lock()
        {
            cast.output(&text);
        }
        let chunk = Chunk { seq: *seq, at: now_ms(), stream, text };
        if let Ok(mut line) = serde_json::to_string(&chunk) {
            // One write per line, so that a reader sees a line's end with the line.
            line.push('\n');
            let _ = log.write_all(line.as_bytes());
            let _ = log.flush();
        }
        let _ = sender.send(chunk);
    };
    while let Some((stream, mut text)) = chunks.blocking_recv() {
        if stream != Stream::Opsbook {
            seen += text.len() as u64;
            if cut {
                continue;
            }
            let room = limit.saturating_sub(kept) as usize;
            if text.len() > room {
                let mut at = room;
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                text.truncate(at);
                cut = true;
            }
            kept += text.len() as u64;
        }
        if !text.is_empty() {
            emit(stream, text, &mut seq);
        }
        if cut && !marked {
            marked = true;
            let mark = format!(
                "\n[opsbook] output cut at {}: the rest of this run's output is not kept\n",
                human_bytes(limit)
            );
            emit(Stream::Opsbook, mark, &mut seq);
        }
    }
    (seen, cut)
}

/// `16 MiB`, `512 KiB`, `100 B`.
pub fn human_bytes(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes % MIB == 0 {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    } else if bytes >= 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} B")
    }
}

/// The step's outputs file, read by the rules of [`outputs`]; what it set and what was left out
/// go to the run's output as opsbook's lines (values masked as the output is).
async fn read_outputs(
    file: &EnvFile,
    redactor: &Redactor,
    in_pty: bool,
    chunks: &mpsc::Sender<(Stream, String)>,
) -> BTreeMap<String, String> {
    let read = outputs::parse(&file.read_at_most(outputs::LIMIT));
    if !read.values.is_empty() {
        let shown: Vec<String> = read
            .values
            .iter()
            .map(|(name, value)| {
                // What a run in a terminal outputs may hold what was typed there: never shown.
                if redact::is_secret_name(name) || in_pty {
                    format!("{name} (held in memory, masked)")
                } else {
                    let value = crate::line::one_line(&redactor.redact(value));
                    format!("{name}={value}")
                }
            })
            .collect();
        let note = format!("[opsbook] outputs for later steps: {}\n", shown.join(", "));
        let _ = chunks.send((Stream::Opsbook, note)).await;
    }
    for problem in &read.problems {
        let note = format!("[opsbook] $OPSBOOK_OUTPUT {}\n", crate::line::one_line(problem));
        let _ = chunks.send((Stream::Opsbook, note)).await;
    }
    read.values
}

/// Variables the shell set that the script does not simply inherit: new, or changed from what
/// the run was given (this process's environment plus `given`). Shell bookkeeping is left out.
fn exported_vars(env_dump: &[u8], given: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    const SHELL_OWN: &[&str] =
        &["_", "PWD", "OLDPWD", "SHLVL", "OPSBOOK_ENV_FILE", "OPSBOOK_OUTPUT", "__opsbook_status"];
    let mut exported = BTreeMap::new();
    for entry in env_dump.split(|&b| b == 0) {
        let Ok(entry) = std::str::from_utf8(entry) else { continue };
        let Some((name, value)) = entry.split_once('=') else { continue };
        if name.is_empty()
            || SHELL_OWN.contains(&name)
            || name.starts_with("OPSBOOK_INPUT_")
            || name.starts_with("BASH_FUNC_")
        {
            continue;
        }
        let before = given.get(name).cloned().or_else(|| std::env::var(name).ok());
        if before.as_deref() != Some(value) {
            exported.insert(name.to_owned(), value.to_owned());
        }
    }
    exported
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incomplete_characters_wait_for_the_next_read() {
        let mut pending = "héllo".as_bytes().to_vec();
        pending.truncate(2);
        assert_eq!(take_text(&mut pending, false), "h");
        assert_eq!(pending, vec![0xc3]);
        assert_eq!(take_text(&mut pending, true), "\u{fffd}");
    }

    #[test]
    fn exported_vars_are_the_difference() {
        let given = BTreeMap::from([("A".to_owned(), "1".to_owned())]);
        let dump = b"A=1\0B=2\0PWD=/x\0OPSBOOK_INPUT_X=y\0";
        assert_eq!(exported_vars(dump, &given), BTreeMap::from([("B".to_owned(), "2".to_owned())]));
    }
}
