//! `opsbook test`: runs the steps marked `test` and the `console` transcripts marked `{test}` in a
//! scratch folder, and compares what they print with what the runbook shows: the output under
//! each `$ ` command of a transcript, or a ```` ```output ```` block right after a step. In the
//! expected text, `...` alone on a line matches any lines and `[..]` any text within a line.
//! `--update` rewrites only those expected outputs; every other byte of the file stays.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::exec::{self, ProcessSpec, Redactor};
use crate::model::{Book, PlaceholderKind, Runbook, Step};
use crate::record::Stream;

/// One test: a step and where its expected output stands.
#[derive(Debug, Clone)]
pub struct Case<'b> {
    pub runbook: &'b Runbook,
    pub step: &'b Step,
    pub expect: Expect,
}

/// What a test compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// A transcript: the output under each command, and the file lines it stands on
    /// (first, last; an empty region is `(n, n - 1)`).
    Transcript(Vec<(String, (u32, u32))>),
    /// A script step followed by an `output` block (its content and content lines).
    Block(String, (u32, u32)),
    /// A script step with nothing to compare: it must exit 0.
    Success,
}

/// How a test went.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub name: String,
    pub passed: bool,
    /// Why it failed: a unified diff, an exit status, a missing input.
    pub failure: Option<String>,
    /// The actual outputs, in the order of the expected ones (for `--update`).
    pub actual: Vec<String>,
    pub duration: Duration,
}

/// The tests of a book, in book order; `filter` keeps those whose `path:step` contains it.
pub fn cases<'b>(book: &'b Book, filter: Option<&str>) -> Vec<Case<'b>> {
    let mut cases = Vec::new();
    for runbook in &book.runbooks {
        let lines: Vec<&str> = runbook.source.lines().collect();
        for step in runbook.steps.iter().filter(|s| s.settings.test) {
            let name = format!("{}:{}", runbook.path, step.id);
            if filter.is_some_and(|f| !name.contains(f)) {
                continue;
            }
            let expect = if step.prompted {
                let regions = step
                    .commands
                    .iter()
                    .enumerate()
                    .map(|(i, command)| {
                        let next = step.commands.get(i + 1).map_or(step.end_line, |c| c.line);
                        (command.expected_output.clone().unwrap_or_default(), (command.end_line + 1, next - 1))
                    })
                    .collect();
                Expect::Transcript(regions)
            } else {
                match output_block_after(&lines, step.end_line) {
                    Some((content, region)) => Expect::Block(content, region),
                    None => Expect::Success,
                }
            };
            cases.push(Case { runbook, step, expect });
        }
    }
    cases
}

/// A fenced block tagged `output` right after line `end` (blank lines between allowed): its
/// content and the lines it stands on.
fn output_block_after(lines: &[&str], end: u32) -> Option<(String, (u32, u32))> {
    let mut index = end as usize; // 0-based index of the line after the closing fence
    while lines.get(index).is_some_and(|l| l.trim().is_empty()) {
        index += 1;
    }
    let indent = lines.get(index)?.len() - lines.get(index)?.trim_start().len();
    let open = lines.get(index)?.trim_start();
    let fence: String = open.chars().take_while(|c| *c == '`' || *c == '~').collect();
    if fence.len() < 3 || crate::parse::fence::parse_info(&open[fence.len()..]).lang.as_deref() != Some("output") {
        return None;
    }
    let first = index + 1;
    let close = (first..lines.len()).find(|&i| lines[i].trim_start().starts_with(&fence))?;
    // Inside a list the block is indented: its content is read without that indentation.
    let unindent = |line: &str| {
        let strip = line.len() - line.trim_start().len();
        line[strip.min(indent)..].to_owned()
    };
    let content = lines[first..close].iter().map(|l| unindent(l)).collect::<Vec<_>>().join("\n");
    Some((content, (first as u32 + 1, close as u32)))
}

/// Lines expected against lines printed: `...` matches any lines, `[..]` any text in a line.
pub fn matches(expected: &str, actual: &str) -> bool {
    let expected: Vec<&str> = expected.lines().collect();
    let actual: Vec<&str> = actual.lines().collect();
    // memo[i][j]: expected[i..] matches actual[j..]
    let mut memo = vec![vec![false; actual.len() + 1]; expected.len() + 1];
    memo[expected.len()][actual.len()] = true;
    for i in (0..expected.len()).rev() {
        for j in (0..=actual.len()).rev() {
            memo[i][j] = if expected[i].trim() == "..." {
                memo[i + 1][j] || (j < actual.len() && memo[i][j + 1])
            } else {
                j < actual.len() && line_matches(expected[i], actual[j]) && memo[i + 1][j + 1]
            };
        }
    }
    memo[0][0]
}

fn line_matches(expected: &str, actual: &str) -> bool {
    let expected = expected.trim_end();
    let actual = actual.trim_end();
    if !expected.contains("[..]") {
        return expected == actual;
    }
    let parts: Vec<&str> = expected.split("[..]").collect();
    let mut rest = actual;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(after) = rest.strip_prefix(part) else { return false };
            rest = after;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(at) = rest.find(part) else { return false };
            rest = &rest[at + part.len()..];
        }
    }
    true
}

/// A unified diff of expected against actual.
pub fn diff(expected: &str, actual: &str) -> String {
    let expected = with_newline(expected);
    let actual = with_newline(actual);
    similar::TextDiff::from_lines(&expected, &actual)
        .unified_diff()
        .context_radius(3)
        .header("expected", "actual")
        .to_string()
}

fn with_newline(text: &str) -> String {
    if text.is_empty() || text.ends_with('\n') { text.to_owned() } else { format!("{text}\n") }
}

/// The marker printed before each command of a transcript, to split the output.
fn marker(index: usize) -> String {
    format!("<<<opsbook-test-command-{index}>>>")
}

/// Runs one test in a fresh scratch folder.
pub async fn run(case: &Case<'_>, shell: &str, timeout: Duration) -> Verdict {
    let name = format!("{}:{}", case.runbook.path, case.step.id);
    let started = std::time::Instant::now();
    let fail = |why: String| Verdict {
        name: name.clone(),
        passed: false,
        failure: Some(why),
        actual: Vec::new(),
        duration: started.elapsed(),
    };
    let needed: Vec<&str> = case
        .step
        .placeholders
        .iter()
        .filter(|p| p.kind != PlaceholderKind::Env && p.default.is_none())
        .map(|p| p.name.as_str())
        .collect();
    if !needed.is_empty() {
        return fail(format!("the step needs input(s) {}: a test cannot ask for them", needed.join(", ")));
    }
    let Ok(scratch) = scratch_dir() else { return fail("cannot create a scratch folder".to_owned()) };
    let script = match &case.expect {
        Expect::Transcript(_) => {
            let mut script = case.step.alias_preamble();
            for (index, command) in case.step.commands.iter().enumerate() {
                script.push_str(&format!("printf '%s\\n' '{}'\n{{ {}\n}} 2>&1\n", marker(index), command.text));
            }
            script
        }
        _ => {
            let texts: Vec<&str> = case.step.commands.iter().map(|c| c.text.as_str()).collect();
            format!("{}{{ {}\n}} 2>&1\n", case.step.alias_preamble(), texts.join("\n"))
        }
    };
    let spec = ProcessSpec {
        shell: shell.to_owned(),
        script,
        env: BTreeMap::new(),
        cwd: scratch.clone(),
        timeout: case.step.settings.timeout_secs.map_or(timeout, Duration::from_secs),
        grace: Duration::from_secs(2),
        log_path: scratch.join(".opsbook-test.log"),
        log_limit: exec::DEFAULT_LOG_LIMIT,
        redactor: Redactor::default(),
        capture_env: false,
        pty: None,
        gated: false,
    };
    let run = match exec::start(spec) {
        Ok(run) => run,
        Err(err) => {
            let _ = std::fs::remove_dir_all(&scratch);
            return fail(err.to_string());
        }
    };
    let outcome = run.wait().await;
    let printed: String = crate::record::read_log(&scratch.join(".opsbook-test.log"), 0)
        .into_iter()
        .filter(|c| c.stream != Stream::Opsbook)
        .map(|c| c.text)
        .collect();
    let _ = std::fs::remove_dir_all(&scratch);
    let (expected, actual): (Vec<String>, Vec<String>) = match &case.expect {
        Expect::Transcript(regions) => {
            let mut outputs = vec![String::new(); regions.len()];
            let mut current: Option<usize> = None;
            for line in printed.split_inclusive('\n') {
                if let Some(index) = (0..regions.len()).find(|i| line.trim_end() == marker(*i)) {
                    current = Some(index);
                } else if let Some(index) = current {
                    outputs[index].push_str(line);
                }
            }
            (regions.iter().map(|(e, _)| e.clone()).collect(), outputs)
        }
        Expect::Block(content, _) => (vec![content.clone()], vec![printed.clone()]),
        Expect::Success => (Vec::new(), Vec::new()),
    };
    let mut failures = Vec::new();
    for (index, (want, got)) in expected.iter().zip(&actual).enumerate() {
        if !matches(want, got) {
            let which = match &case.expect {
                Expect::Transcript(_) => format!("`$ {}`", case.step.commands[index].text.lines().next().unwrap_or("")),
                _ => "the output block".to_owned(),
            };
            failures.push(format!("{which}:\n{}", diff(want, got)));
        }
    }
    let exit_required = !matches!(case.expect, Expect::Transcript(_));
    if !outcome.succeeded() && (exit_required || outcome.end != crate::record::End::Exited) {
        let how = outcome.status_text();
        let shown = if expected.is_empty() { format!("\noutput:\n{printed}") } else { String::new() };
        failures.push(format!("the step ended with {how}{shown}"));
    }
    Verdict {
        name,
        passed: failures.is_empty(),
        failure: (!failures.is_empty()).then(|| failures.join("\n")),
        actual,
        duration: started.elapsed(),
    }
}

fn scratch_dir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("opsbook-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Rewrites the expected outputs of these cases in `text` (one runbook's file) with the actual
/// ones; every other byte stays. Lines keep the fence's indentation and the file's line ending.
pub fn update(text: &str, edits: &[(&Case<'_>, &Verdict)]) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    // (first line, last line, new text), 1-based; applied from the bottom up.
    let mut replacements: Vec<(u32, u32, String)> = Vec::new();
    for (case, outcome) in edits {
        let regions: Vec<(u32, u32)> = match &case.expect {
            Expect::Transcript(regions) => regions.iter().map(|(_, r)| *r).collect(),
            Expect::Block(_, region) => vec![*region],
            Expect::Success => Vec::new(),
        };
        let fence_line = lines.get(case.step.line as usize - 1).copied().unwrap_or("");
        let indent: String = fence_line.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
        for (region, actual) in regions.into_iter().zip(&outcome.actual) {
            let mut new = String::new();
            for line in actual.lines() {
                new.push_str(&indent);
                new.push_str(line);
                new.push_str(newline);
            }
            replacements.push((region.0, region.1, new));
        }
    }
    replacements.sort_by_key(|r| std::cmp::Reverse(r.0));
    let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    for (first, last, new) in replacements {
        let start = (first as usize).saturating_sub(1).min(out.len());
        let end = (last as usize).min(out.len()).max(start);
        out.splice(start..end, std::iter::once(new));
    }
    out.concat()
}

/// JUnit XML for CI systems.
pub fn junit(outcomes: &[Verdict]) -> String {
    let escape = |t: &str| t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let failures = outcomes.iter().filter(|o| !o.passed).count();
    let total: f64 = outcomes.iter().map(|o| o.duration.as_secs_f64()).sum();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"{}\" failures=\"{failures}\" time=\"{total:.3}\">\n<testsuite name=\"opsbook\" tests=\"{}\" failures=\"{failures}\" time=\"{total:.3}\">\n",
        outcomes.len(),
        outcomes.len()
    );
    for outcome in outcomes {
        let (class, step) = outcome.name.rsplit_once(':').unwrap_or(("", &outcome.name));
        xml.push_str(&format!(
            "  <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
            escape(class),
            escape(step),
            outcome.duration.as_secs_f64()
        ));
        match &outcome.failure {
            Some(why) => xml.push_str(&format!(
                ">\n    <failure message=\"{}\">{}</failure>\n  </testcase>\n",
                escape(why.lines().next().unwrap_or("failed")),
                escape(why)
            )),
            None => xml.push_str("/>\n"),
        }
    }
    xml.push_str("</testsuite>\n</testsuites>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_output_block_is_told_by_the_parsers_reading_of_its_tag() {
        let block = |open: &str| {
            let text = format!("```bash {{test}}\necho hi\n```\n\n{open}\nhi\n```\n");
            output_block_after(&text.lines().collect::<Vec<_>>(), 3)
        };
        for open in ["```output", "```Output", "```output {x=1}", "```output,ignore", "```{.output}"] {
            assert_eq!(block(open), Some(("hi".to_owned(), (6, 6))), "{open}");
        }
        for open in ["```text", "```", "```outputs", "``output"] {
            assert_eq!(block(open), None, "{open}");
        }
    }

    #[test]
    fn wildcards() {
        assert!(matches("a\n...\nz", "a\nb\nc\nz\n"));
        assert!(matches("a\n...\nz", "a\nz"));
        assert!(!matches("a\n...\nz", "a\nb"));
        assert!(matches("took [..] ms", "took 12 ms"));
        assert!(matches("[..]-[..]", "a-b"));
        assert!(!matches("took [..] ms", "took 12 s"));
        assert!(matches("", ""));
        assert!(!matches("x", ""));
    }
}
