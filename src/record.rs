//! The record of a run, as the runner writes it and the stores, exports and consoles read it:
//! its output (chunks, one JSON object per line of a log), how it ended, where it ran, and
//! where its log lives. Nothing here runs a process: `exec` does, `session` stores the record.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Which stream a chunk came from; `opsbook` marks notes of our own (the output cut, a timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
    Opsbook,
}

/// A piece of output, as stored in the log (one JSON object per line) and streamed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// 1-based, in the order the chunks were written.
    pub seq: u64,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    pub stream: Stream,
    pub text: String,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum End {
    Exited,
    TimedOut,
    Cancelled,
}

impl End {
    /// As the API and the JSON speak of it: `exited`, `timed-out`, `cancelled`.
    pub fn as_str(self) -> &'static str {
        match self {
            End::Exited => "exited",
            End::TimedOut => "timed-out",
            End::Cancelled => "cancelled",
        }
    }
}

/// The record of a finished run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub end: End,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    pub started_at: i64,
    pub ended_at: i64,
    pub duration_ms: u64,
    /// All bytes the run printed, kept or not.
    pub output_bytes: u64,
    /// True when the log stops at the bound.
    pub truncated: bool,
    /// Variables the run exported that differ from what it was given.
    #[serde(skip)]
    pub exported: BTreeMap<String, String>,
    /// What the run wrote to `$OPSBOOK_OUTPUT` (`exec::outputs`), whole: values for later steps.
    #[serde(skip)]
    pub outputs: BTreeMap<String, String>,
}

impl Outcome {
    /// True for a run that exited with status 0.
    pub fn succeeded(&self) -> bool {
        self.end == End::Exited && self.exit_code == Some(0)
    }

    /// How it ended, in a few words: `exit 3`, `signal 9`, `timed out`, `cancelled`.
    pub fn status_text(&self) -> String {
        match (self.end, self.exit_code, self.signal) {
            (End::TimedOut, ..) => "timed out".to_owned(),
            (End::Cancelled, ..) => "cancelled".to_owned(),
            (_, Some(code), _) => format!("exit {code}"),
            (_, None, Some(signal)) => format!("signal {signal}"),
            _ => "no exit status".to_owned(),
        }
    }
}

/// Recorded with every run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    pub user: String,
    pub host: String,
    pub cwd: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub git_dirty: bool,
    /// Probe name -> its first line of output, or why there is none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub probes: BTreeMap<String, String>,
}

/// The user running opsbook: `USER`, `LOGNAME`, else the name of the uid.
pub fn user() -> String {
    for var in ["USER", "LOGNAME"] {
        if let Ok(name) = std::env::var(var)
            && !name.is_empty()
        {
            return name;
        }
    }
    let uid = nix::unistd::getuid();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(user)) => user.name,
        _ => uid.to_string(),
    }
}

/// This machine's host name.
pub fn host() -> String {
    nix::unistd::gethostname().ok().and_then(|h| h.into_string().ok()).unwrap_or_else(|| "localhost".to_owned())
}

/// Where the logs of a store's runs live: `runs/SESSION/RUN.log` under one folder. A store owns
/// one (`SessionStore::logs`): the runner writes there and the store reads the same place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLogs {
    root: PathBuf,
}

impl RunLogs {
    pub fn new(root: impl Into<PathBuf>) -> RunLogs {
        RunLogs { root: root.into() }
    }

    /// A new run's log: the path recorded with the run (relative) and the file's path. `None`
    /// when an id is not a plain name (`[A-Za-z0-9_-]`): an id read from a store must not
    /// choose where a file is written.
    pub fn for_run(&self, session_id: &str, run_id: &str) -> Option<(String, PathBuf)> {
        let plain =
            |id: &str| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !plain(session_id) || !plain(run_id) {
            return None;
        }
        let relative = format!("runs/{session_id}/{run_id}.log");
        let path = self.root.join(&relative);
        Some((relative, path))
    }

    /// The file of a recorded log path, if it is inside the folder: a relative path of plain
    /// names, and where it really leads (links resolved) still inside. A record is data, not a
    /// place to read from.
    pub fn resolve(&self, relative: &str) -> Option<PathBuf> {
        let path = Path::new(relative);
        let plain = !relative.is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)));
        if !plain {
            return None;
        }
        let root = std::fs::canonicalize(&self.root).ok()?;
        let real = std::fs::canonicalize(self.root.join(path)).ok()?;
        real.starts_with(&root).then_some(real)
    }

    /// The chunks of a recorded log from `from_seq` on (none when it is missing or not inside).
    pub fn read(&self, relative: &str, from_seq: u64) -> Vec<Chunk> {
        self.resolve(relative).map(|path| read_log(&path, from_seq)).unwrap_or_default()
    }
}

/// The chunks of a run's log from `from_seq` on.
pub fn read_log(path: &Path, from_seq: u64) -> Vec<Chunk> {
    let Ok(file) = File::open(path) else { return Vec::new() };
    parse_log(BufReader::new(file), from_seq)
}

/// The chunks of a log being written as it is read. A line without its newline is the end of
/// what has been written: it counts if it is whole, and the read stops there, since reading on
/// would take the rest of a half-written line for a line of its own and leave a gap.
fn parse_log(mut reader: impl BufRead, from_seq: u64) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let whole = line.last() == Some(&b'\n');
        if let Ok(chunk) = serde_json::from_slice::<Chunk>(&line)
            && chunk.seq >= from_seq
        {
            chunks.push(chunk);
        }
        if !whole {
            break;
        }
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out its pieces one read at a time, `None` as an end of file: a log read while its
    /// writer is half-way through a line.
    struct Growing(std::collections::VecDeque<Option<Vec<u8>>>);

    impl std::io::Read for Growing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let Some(Some(piece)) = self.0.pop_front() else { return Ok(0) };
            buf[..piece.len()].copy_from_slice(&piece);
            Ok(piece.len())
        }
    }

    #[test]
    fn a_line_caught_half_written_ends_the_read_and_leaves_no_gap() {
        let line = |seq: u64| {
            let chunk = Chunk { seq, at: 0, stream: Stream::Stdout, text: format!("line {seq}\n") };
            format!("{}\n", serde_json::to_string(&chunk).unwrap())
        };
        let (one, two, three) = (line(1), line(2), line(3));
        let (head, tail) = two.split_at(10);
        let pieces = [Some(one.clone() + head), None, Some(format!("{tail}{three}"))];
        let growing = Growing(pieces.map(|p| p.map(String::into_bytes)).into());
        let seqs: Vec<u64> = parse_log(BufReader::new(growing), 1).iter().map(|c| c.seq).collect();
        assert_eq!(seqs, [1], "a half-written line ends the read; the next read starts there");

        // Two lines run together are not taken for one.
        let unterminated = one.trim_end().to_owned() + line(2).trim_end();
        assert!(parse_log(BufReader::new(unterminated.as_bytes()), 1).is_empty());
        // A whole chunk whose newline is not written yet counts: it is complete.
        let seqs: Vec<u64> = parse_log(BufReader::new(format!("{one}{}", line(2).trim_end()).as_bytes()), 1)
            .iter()
            .map(|c| c.seq)
            .collect();
        assert_eq!(seqs, [1, 2]);
        // A damaged line inside a finished log is passed over.
        let seqs: Vec<u64> =
            parse_log(BufReader::new(format!("{one}{{oops\n{three}").as_bytes()), 2).iter().map(|c| c.seq).collect();
        assert_eq!(seqs, [3]);
    }

    #[test]
    fn a_recorded_log_path_stays_in_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let logs = RunLogs::new(dir.path());
        let (relative, path) = logs.for_run("20260101-abcdef", "0123456789ab").unwrap();
        assert_eq!(relative, "runs/20260101-abcdef/0123456789ab.log");
        assert_eq!(path, dir.path().join("runs/20260101-abcdef/0123456789ab.log"));
        for (session, run) in [("../../x", "r"), ("s", "../r"), ("a/b", "r"), ("", "r"), ("s", ""), ("s\0", "r")] {
            assert_eq!(logs.for_run(session, run), None, "{session} {run}");
        }
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "").unwrap();
        assert_eq!(logs.resolve(&relative), Some(std::fs::canonicalize(&path).unwrap()));
        for unsafe_path in ["../../etc/passwd", "/etc/passwd", "runs/../../x.log", "./x.log", "", "runs/none.log"] {
            assert_eq!(logs.resolve(unsafe_path), None, "{unsafe_path}");
        }
        // A link that leads out of the folder, as a file or as a folder on the way.
        let secret = outside.path().join("secret.log");
        std::fs::write(&secret, "{\"seq\":1,\"at\":0,\"stream\":\"stdout\",\"text\":\"secret\"}\n").unwrap();
        std::os::unix::fs::symlink(&secret, dir.path().join("runs/link.log")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("runs/out")).unwrap();
        assert_eq!(logs.resolve("runs/link.log"), None);
        assert_eq!(logs.resolve("runs/out/secret.log"), None);
        assert!(logs.read("runs/link.log", 0).is_empty());
    }
}
