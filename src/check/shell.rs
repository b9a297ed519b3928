//! The shell rules: `bash -n` on every step (one bash per runbook when all is well, one per step
//! to place the errors when not), and shellcheck over the steps of many runbooks per run of it.
//! Findings are mapped back to the runbook's line and column. Placeholders (`<pod-name>`) are
//! masked as plain words first, as bash would read them as redirections.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, LazyLock};

use regex::Regex;

use super::lines::SourceLines;
use crate::diagnostic::{Diagnostic, Level};
use crate::model::{Runbook, Step};

/// A script built from steps, with where each of its lines came from.
#[derive(Debug, Default, Clone)]
pub(crate) struct Script {
    pub text: String,
    /// Script line (1-based, index + 1) -> (file line, column the text starts at).
    pub origin: Vec<Option<(u32, u32)>>,
}

impl Script {
    fn push_line(&mut self, line: &str, origin: Option<(u32, u32)>) {
        self.text.push_str(line);
        self.text.push('\n');
        self.origin.push(origin);
    }

    fn push_step(&mut self, step: &Step) {
        for command in &step.commands {
            let masked = crate::parse::mask_angles(&command.text);
            for (k, line) in masked.lines().enumerate() {
                let col = if k == 0 { command.col } else { 1 };
                self.push_line(line, Some((command.line + k as u32, col)));
            }
        }
    }

    /// The file position of a script line (1-based), or of the nearest line before it.
    fn locate(&self, line: usize) -> Option<(u32, u32)> {
        let index = line.checked_sub(1)?.min(self.origin.len().checked_sub(1)?);
        self.origin[..=index].iter().rev().find_map(|o| *o)
    }
}

static BASH_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:bash: )?(?:[^:]*: )?line (\d+): (.*)$").expect("static regex"));

/// Runs `bash -n` on a script; the first error as (script line, message), if any.
fn bash_n(script: &str) -> Option<(usize, String)> {
    let mut child = Command::new("bash")
        .arg("-n")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(script.as_bytes());
    }
    let output = child.wait_with_output().ok()?;
    if output.status.success() {
        return None;
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut lines = stderr.lines();
    let first = lines.next()?;
    let captures = BASH_LINE.captures(first)?;
    let line = captures[1].parse().ok()?;
    Some((line, captures[2].to_owned()))
}

/// `bash -n` over the runbook's steps. Returns the findings and, when every step passed, the
/// script of all steps for shellcheck.
pub(super) fn syntax(runbook: &Runbook, file: &Path, lines: &SourceLines) -> (Vec<Diagnostic>, Option<Script>) {
    if runbook.steps.is_empty() {
        return (Vec::new(), None);
    }
    // All steps at once, each in its own `( … )` so that one cannot close another's `if`.
    let mut grouped = Script::default();
    let mut plain = Script::default();
    for step in &runbook.steps {
        grouped.push_line("(", None);
        grouped.push_step(step);
        grouped.push_line(")", None);
        plain.push_step(step);
    }
    if bash_n(&grouped.text).is_none() {
        return (Vec::new(), Some(plain));
    }
    let mut found = Vec::new();
    for step in &runbook.steps {
        let mut script = Script::default();
        script.push_step(step);
        let Some((line, message)) = bash_n(&script.text) else { continue };
        let (file_line, col) = script.locate(line).unwrap_or((step.line, step.col));
        let diagnostic = Diagnostic::error("bash-syntax", file, format!("bash: {message} (step `{}`)", step.id));
        let mut diagnostic = lines.place(diagnostic, file_line, col);
        diagnostic.help = Some("fix the command, or tag the block with its own language if it is not shell".to_owned());
        found.push(diagnostic);
    }
    (found, None)
}

/// Codes left out: placeholders and variables exported for later steps are the runbook's way.
const SHELLCHECK_EXCLUDE: &str = "SC2154,SC2034,SC1091,SC2164,SC2148";
/// Scripts per shellcheck process.
const SHELLCHECK_BATCH: usize = 64;

/// Runs shellcheck over the scripts (file, its text, its script) in batches; findings mapped back.
pub(super) fn shellcheck(
    shellcheck: &Path,
    scripts: &[(PathBuf, Arc<str>, Script)],
    threads: usize,
) -> Vec<Diagnostic> {
    let Ok(dir) = tempfile_dir() else { return Vec::new() };
    let batches: Vec<&[(PathBuf, Arc<str>, Script)]> = scripts.chunks(SHELLCHECK_BATCH).collect();
    let per_thread = batches.len().div_ceil(threads.max(1)).max(1);
    let found: Vec<Diagnostic> = std::thread::scope(|scope| {
        let handles: Vec<_> = batches
            .chunks(per_thread)
            .enumerate()
            .map(|(t, group)| {
                let dir = &dir;
                scope.spawn(move || {
                    let mut found = Vec::new();
                    for (b, batch) in group.iter().enumerate() {
                        found.extend(run_batch(shellcheck, dir, &format!("{t}-{b}"), batch));
                    }
                    found
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    let _ = std::fs::remove_dir_all(&dir);
    found
}

fn tempfile_dir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("opsbook-check-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[derive(serde::Deserialize)]
struct Comments {
    comments: Vec<Comment>,
}

#[derive(serde::Deserialize)]
struct Comment {
    file: String,
    line: usize,
    column: u32,
    level: String,
    code: u32,
    message: String,
}

fn run_batch(shellcheck: &Path, dir: &Path, name: &str, batch: &[(PathBuf, Arc<str>, Script)]) -> Vec<Diagnostic> {
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut args = Vec::new();
    for (index, (_, _, script)) in batch.iter().enumerate() {
        let path = dir.join(format!("{name}-{index}.sh"));
        if std::fs::write(&path, &script.text).is_err() {
            continue;
        }
        names.insert(path.display().to_string(), index);
        args.push(path);
    }
    let output = Command::new(shellcheck)
        .args(["--shell=bash", "--format=json1", &format!("--exclude={SHELLCHECK_EXCLUDE}")])
        .args(&args)
        .stdin(Stdio::null())
        .output();
    let Ok(output) = output else { return Vec::new() };
    let Ok(comments) = serde_json::from_slice::<Comments>(&output.stdout) else { return Vec::new() };
    let mut found = Vec::new();
    // Each script's runbook split into lines once, when its first finding comes.
    let mut lines: HashMap<usize, SourceLines> = HashMap::new();
    for comment in comments.comments {
        let Some(&index) = names.get(&comment.file) else { continue };
        let (file, text, script) = &batch[index];
        let lines = lines.entry(index).or_insert_with(|| SourceLines::new(text));
        let Some((line, col)) = script.locate(comment.line) else { continue };
        let level = if comment.level == "error" { Level::Error } else { Level::Warning };
        let message = format!("SC{}: {}", comment.code, comment.message);
        let diagnostic = match level {
            Level::Error => Diagnostic::error("shellcheck", file, message),
            Level::Warning => Diagnostic::warning("shellcheck", file, message),
        };
        let mut diagnostic = lines.place(diagnostic, line, col + comment.column.saturating_sub(1));
        diagnostic.help = Some(format!("https://www.shellcheck.net/wiki/SC{}", comment.code));
        found.push(diagnostic);
    }
    found
}
