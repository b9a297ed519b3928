//! A session as a postmortem: Markdown in the seed's template (Summary, Impact, Timeline, Root
//! Cause, Resolution, Action Items, Lessons Learned, then an appendix of full outputs), JSON with
//! a versioned schema, and printable HTML. Also the seed's status-update text.
//!
//! Everything in a session came from people and commands, so the Markdown is written to keep
//! its shape whatever they typed: a field written as part of a line is one line
//! ([`crate::line::one_line`]), and the lines of a multi-line note are indented under their item
//! with any leading block marker escaped ([`inert_start`]), so that no note, title or name can
//! start a timeline entry, a list item or a section of its own.

mod timeline;
pub use timeline::svg as timeline_svg;

use std::fmt::Write as _;

use serde_json::json;

use crate::clock::utc;
use crate::line::{lines, one_line};
use crate::record::Chunk;
use crate::session::{Event, EventKind, NoteKind, RunEnded, RunStarted, Session, SessionStore};

/// The JSON export's schema id; bumped on incompatible changes.
pub const JSON_SCHEMA: &str = "opsbook.session/v1";

/// Lines of output shown under a run in the timeline, from the start and from the end.
const EXCERPT_LINES: usize = 4;

/// `1 h 12 min`, `3 min 5 s`, `4.2 s`, `120 ms`.
pub fn duration_text(ms: u64) -> String {
    let secs = ms / 1000;
    match secs {
        0 if ms < 1000 => format!("{ms} ms"),
        0..=9 => format!("{:.1} s", ms as f64 / 1000.0),
        10..=59 => format!("{secs} s"),
        60..=3599 if secs % 60 == 0 => format!("{} min", secs / 60),
        60..=3599 => format!("{} min {} s", secs / 60, secs % 60),
        _ if (secs / 60) % 60 == 0 => format!("{} h", secs / 3600),
        _ => format!("{} h {} min", secs / 3600, (secs / 60) % 60),
    }
}

/// A run as the exports show it: its start, and its end if it has one.
#[derive(Debug, Clone)]
pub struct ExportedRun<'e> {
    pub started_at: i64,
    pub actor: &'e crate::session::Actor,
    pub started: &'e RunStarted,
    pub end: Option<(&'e str, &'e Event)>,
}

impl ExportedRun<'_> {
    /// `exit 0`, `exit 1`, `signal 15`, `timed out`, `cancelled`, `interrupted`, `running`.
    pub fn result(&self) -> String {
        match self.end.map(|(_, event)| &event.kind) {
            Some(EventKind::RunFinished(ended)) if ended.timed_out => "timed out".to_owned(),
            Some(EventKind::RunFinished(ended)) => exit_text(ended),
            Some(EventKind::RunCancelled(_)) => "cancelled".to_owned(),
            Some(EventKind::RunInterrupted { .. }) => "interrupted".to_owned(),
            _ => "running".to_owned(),
        }
    }

    pub fn ended(&self) -> Option<&RunEnded> {
        match self.end.map(|(_, event)| &event.kind) {
            Some(EventKind::RunFinished(ended) | EventKind::RunCancelled(ended)) => Some(ended),
            _ => None,
        }
    }
}

fn exit_text(ended: &RunEnded) -> String {
    match (ended.exit_code, ended.signal) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        (None, None) => "no exit status".to_owned(),
    }
}

/// The runs of a session, in the order they started.
pub fn runs(events: &[Event]) -> Vec<ExportedRun<'_>> {
    let mut runs: Vec<ExportedRun<'_>> = events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::RunStarted(started) => {
                Some(ExportedRun { started_at: event.at, actor: &event.actor, started, end: None })
            }
            _ => None,
        })
        .collect();
    for event in events {
        if matches!(event.kind, EventKind::RunStarted(_)) {
            continue;
        }
        if let Some(run_id) = event.kind.run_id()
            && let Some(run) = runs.iter_mut().find(|r| r.started.run_id == run_id)
            && run.end.is_none()
        {
            run.end = Some((event.kind.name(), event));
        }
    }
    runs
}

/// The output a run kept, as one text (already redacted when it was written), without terminal
/// colour codes.
pub fn run_output(store: &dyn SessionStore, started: &RunStarted) -> String {
    // Output that cannot be read leaves it empty: the timeline is still whole.
    let text: String =
        crate::session::all_output(store, &started.run_id).into_iter().map(|Chunk { text, .. }| text).collect();
    match crate::line::ESCAPE.replace_all(&text, "") {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(plain) => plain,
    }
}

/// What an event says, for the timeline and the JSON `description`: one line, but for a note,
/// whose lines are kept (each one line, blank ones dropped, see [`crate::line::lines`]); the
/// writer decides how a note's second line is set apart.
pub fn describe(event: &Event, runs: &[ExportedRun<'_>]) -> String {
    match &event.kind {
        EventKind::Created { title, severity } => {
            format!("Incident opened: {} ({})", one_line(title), one_line(severity))
        }
        EventKind::StatusChanged { from, to } => format!("Status: {from} -> {to}"),
        EventKind::SeverityChanged { from, to } => format!("Severity: {} -> {}", one_line(from), one_line(to)),
        EventKind::TitleChanged { from, to } => format!("Title: {} -> {}", one_line(from), one_line(to)),
        EventKind::NoteAdded { note, text } => format!("{}: {}", note_heading(*note), lines(text).join("\n")),
        EventKind::RunStarted(started) => {
            let run = runs.iter().find(|r| r.started.run_id == started.run_id);
            let result = match run.and_then(ExportedRun::ended) {
                Some(ended) => {
                    let outputs: Vec<String> = ended
                        .outputs
                        .iter()
                        .map(|(name, value)| format!("{}={}", one_line(name), one_line(value)))
                        .collect();
                    let outputs =
                        if outputs.is_empty() { String::new() } else { format!("; outputs {}", outputs.join(", ")) };
                    format!(
                        "{}, {}{outputs}",
                        run.map(ExportedRun::result).unwrap_or_default(),
                        duration_text(ended.duration_ms)
                    )
                }
                None => run.map(ExportedRun::result).unwrap_or_default(),
            };
            let step = one_line(&started.step);
            let what = match started.command {
                Some(index) => format!("command {} of step `{step}`", index + 1),
                None => format!("step `{step}`"),
            };
            format!(
                "Ran {what} ({}) of {}: `{}` ({result})",
                one_line(&started.step_title),
                one_line(&started.runbook),
                commands_on_one_line(&started.command_text)
            )
        }
        EventKind::RunFinished(ended) => format!("Run {} ended: {}", one_line(&ended.run_id), exit_text(ended)),
        EventKind::RunCancelled(ended) => format!("Run {} cancelled", one_line(&ended.run_id)),
        EventKind::RunInterrupted { run_id, reason } => {
            format!("Run {} interrupted: {}", one_line(run_id), one_line(reason))
        }
        EventKind::StepSkipped(skipped) => format!(
            "Skipped step `{}` ({}) of {}: {}",
            one_line(&skipped.step),
            one_line(&skipped.step_title),
            one_line(&skipped.runbook),
            one_line(&skipped.reason)
        ),
        EventKind::Alert(notice) => {
            let names: Vec<String> = notice.alerts.iter().map(|a| format!("`{}`", one_line(a))).collect();
            let count = if notice.count > 1 { format!(" ({} alerts)", notice.count) } else { String::new() };
            let summary = notice.summary.as_deref().map(|s| format!(": {}", one_line(s))).unwrap_or_default();
            let labels: Vec<String> = notice
                .labels
                .iter()
                .filter(|(k, _)| k.as_str() != "alertname")
                .map(|(k, v)| format!("{}={}", one_line(k), one_line(v)))
                .collect();
            let labels = if labels.is_empty() { String::new() } else { format!(" [{}]", labels.join(", ")) };
            format!("Alert {} {}{count}{summary}{labels}", names.join(", "), one_line(&notice.status))
        }
        EventKind::Closed => "Incident closed".to_owned(),
    }
}

fn note_heading(kind: NoteKind) -> &'static str {
    match kind {
        NoteKind::Note => "Note",
        NoteKind::Summary => "Summary",
        NoteKind::Impact => "Impact",
        NoteKind::RootCause => "Root cause",
        NoteKind::Resolution => "Resolution",
        NoteKind::Action => "Action item",
        NoteKind::Lesson => "Lesson",
    }
}

/// Multi-line commands on one line: `a ; b`.
fn commands_on_one_line(text: &str) -> String {
    lines(text).join(" ; ").replace('`', "'")
}

/// `line` (one line, see [`crate::line::one_line`]) such that it cannot open a Markdown block
/// where it starts a line: a leading mark that can (a heading's `#`, a list's `-` `+` `*`, a
/// quote's `>`, a fence, a rule, a table row, raw HTML's `<`, a definition's `[x]:`) is escaped,
/// as is the `.` or `)` of a leading number (`1.`), so that it reads as text. Inline marks (a
/// link's `[`) stay: inline content opens no block, and [`inert`] disarms it in HTML.
fn inert_start(line: &str) -> String {
    const BLOCK_MARKS: &[u8] = b"#-+*=><|_~`:";
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    let definition = line.starts_with('[') && line.split_once(']').is_some_and(|(_, rest)| rest.starts_with(':'));
    match line.as_bytes().get(digits) {
        Some(b'.' | b')') if digits > 0 => format!("{}\\{}", &line[..digits], &line[digits..]),
        Some(c) if digits == 0 && (BLOCK_MARKS.contains(c) || definition) => format!("\\{line}"),
        _ => line.to_owned(),
    }
}

/// Writes `text` as one Markdown block: its first line after `lead` (a list marker, or empty for
/// a paragraph), each further line indented by `indent` spaces, every line made inert
/// ([`inert_start`]) and ended with a hard break, so a note keeps its lines and opens nothing.
fn write_block(out: &mut String, lead: &str, indent: usize, text: &str) {
    let lines = lines(text);
    let last = lines.len().saturating_sub(1);
    for (index, line) in lines.iter().enumerate() {
        let break_ = if index < last { "  " } else { "" };
        let line = inert_start(&html_as_text(line));
        if index == 0 {
            let _ = writeln!(out, "{lead}{line}{break_}");
        } else {
            let _ = writeln!(out, "{:indent$}{line}{break_}", "");
        }
    }
    if lines.is_empty() {
        let _ = writeln!(out, "{}", lead.trim_end());
    }
}

/// `line` with every `<` outside a code span escaped (`\<`): raw HTML a note or a reason holds
/// (`<img src=x onerror=…>`) reads as text in any Markdown viewer, and a command in backticks
/// keeps its `<placeholder>` as written.
fn html_as_text(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut code: Option<usize> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '`' {
            let mut run = 1;
            while chars.next_if_eq(&'`').is_some() {
                run += 1;
            }
            out.extend(std::iter::repeat_n('`', run));
            code = match code {
                None => Some(run),
                Some(open) if open == run => None,
                open => open,
            };
        } else if c == '<' && code.is_none() {
            out.push_str("\\<");
        } else {
            out.push(c);
        }
    }
    out
}

/// Output for a fenced block: every line ending (a lone `\r` too, which CommonMark counts and a
/// progress bar writes) as `\n`.
fn fenced_text(output: &str) -> String {
    output.replace("\r\n", "\n").replace('\r', "\n")
}

/// Events that appear as their own timeline lines: run ends are folded into their start.
pub fn on_timeline(event: &Event) -> bool {
    !matches!(event.kind, EventKind::RunFinished(_) | EventKind::RunCancelled(_))
}

fn notes(events: &[Event], kind: NoteKind) -> Vec<&str> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::NoteAdded { note, text } if *note == kind => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

/// The session's end: when it was closed, else its last event.
fn end_of(session: &Session, events: &[Event]) -> i64 {
    session.ended_at.or_else(|| events.last().map(|e| e.at)).unwrap_or(session.started_at)
}

fn excerpt(output: &str) -> Option<String> {
    let output = fenced_text(output);
    let lines: Vec<&str> = output.lines().collect();
    if lines.iter().all(|l| l.trim().is_empty()) {
        return None;
    }
    if lines.len() <= EXCERPT_LINES * 2 + 1 {
        return Some(lines.join("\n"));
    }
    let head = &lines[..EXCERPT_LINES];
    let tail = &lines[lines.len() - EXCERPT_LINES..];
    Some(format!("{}\n… ({} lines)\n{}", head.join("\n"), lines.len() - EXCERPT_LINES * 2, tail.join("\n")))
}

/// A fence longer than any backtick run in `text`.
fn fence_for(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    "`".repeat((longest + 1).max(3))
}

fn section(out: &mut String, heading: &str, texts: &[&str], prompt: &str) {
    let _ = writeln!(out, "## {heading}");
    if texts.is_empty() {
        let _ = writeln!(out, "{prompt}");
    } else {
        for text in texts {
            write_block(out, "", 0, text);
            out.push('\n');
        }
    }
    out.truncate(out.trim_end().len());
    out.push_str("\n\n");
}

/// The postmortem in Markdown, headings and order as in the seed's template.
pub fn markdown(session: &Session, events: &[Event], store: &dyn SessionStore) -> String {
    let runs = runs(events);
    let mut out = String::new();
    let start = utc(session.started_at);
    let end_at = end_of(session, events);
    let _ = writeln!(out, "# Postmortem: {}\n", html_as_text(&one_line(&session.title)));
    let _ = writeln!(out, "- Session: `{}`", one_line(&session.id));
    let _ = writeln!(out, "- Severity: {}", html_as_text(&one_line(&session.severity)));
    let _ = writeln!(out, "- Status: {}", session.status);
    let _ = writeln!(out, "- Started: {} {} UTC", start.date, start.time);
    match session.ended_at {
        Some(ended) => {
            let end = utc(ended);
            let _ = writeln!(out, "- Ended: {} {} UTC", end.date, end.time);
        }
        None => {
            let _ = writeln!(out, "- Ended: not yet (session open)");
        }
    }
    out.push('\n');
    section(&mut out, "Summary", &notes(events, NoteKind::Summary), "Brief description of what happened.");

    let _ = writeln!(out, "## Impact");
    let duration = duration_text((end_at - session.started_at).max(0) as u64);
    let end = utc(end_at);
    let until = if start.date == end.date { end.time.clone() } else { format!("{} {}", end.date, end.time) };
    let ongoing = if session.ended_at.is_some() { "" } else { ", so far" };
    let _ = writeln!(out, "- Duration: {duration} ({} {} - {until} UTC{ongoing})", start.date, start.time);
    let impact = notes(events, NoteKind::Impact);
    if impact.is_empty() {
        let _ = writeln!(out, "- Users affected: X\n- Revenue impact: $X");
    } else {
        for text in impact {
            write_block(&mut out, "- ", 2, text);
        }
    }
    out.push('\n');

    let _ = writeln!(out, "## Timeline");
    let spans_days = events.first().map(|e| utc(e.at).date) != events.last().map(|e| utc(e.at).date);
    let mut day = String::new();
    for event in events.iter().filter(|e| on_timeline(e)) {
        let when = utc(event.at);
        if spans_days && when.date != day {
            let _ = writeln!(out, "\n{} (UTC)\n", when.date);
            day = when.date.clone();
        }
        let actor = format!("{}@{}", one_line(&event.actor.user), one_line(&event.actor.host));
        write_block(&mut out, &format!("- {} - ", when.time), 2, &format!("{} ({actor})", describe(event, &runs)));
        if let EventKind::RunStarted(started) = &event.kind
            && let Some(text) = excerpt(&run_output(store, started))
        {
            let fence = fence_for(&text);
            let _ = writeln!(out, "\n  {fence}text");
            for line in text.lines() {
                let _ = writeln!(out, "  {line}");
            }
            let _ = writeln!(out, "  {fence}\n");
        }
    }
    out.truncate(out.trim_end().len());
    out.push_str("\n\n");

    section(&mut out, "Root Cause", &notes(events, NoteKind::RootCause), "Why did this happen?");
    section(&mut out, "Resolution", &notes(events, NoteKind::Resolution), "What fixed it?");
    let actions = notes(events, NoteKind::Action);
    if actions.is_empty() {
        section(&mut out, "Action Items", &[], "- [ ] Item 1 (Owner, Due date)\n- [ ] Item 2 (Owner, Due date)");
    } else {
        let _ = writeln!(out, "## Action Items");
        for action in actions {
            write_block(&mut out, "- [ ] ", 2, action);
        }
        out.push('\n');
    }
    section(&mut out, "Lessons Learned", &notes(events, NoteKind::Lesson), "What can we do better?");

    if !runs.is_empty() {
        let _ = writeln!(out, "## Appendix: Run Output\n");
        for run in &runs {
            let when = utc(run.started_at);
            let _ = writeln!(
                out,
                "### {} {} UTC - `{}` in {} (run {})\n",
                when.date,
                when.time,
                one_line(&run.started.step).replace('`', "'"),
                html_as_text(&one_line(&run.started.runbook)),
                html_as_text(&one_line(&run.started.run_id))
            );
            let command = fenced_text(&run.started.command_text);
            let command_fence = fence_for(&command);
            let _ = writeln!(out, "{command_fence}bash\n{}\n{command_fence}\n", command.trim_end());
            let context = &run.started.context;
            let mut facts = vec![
                run.result(),
                format!("by {}@{}", one_line(&context.user), one_line(&context.host)),
                format!("in `{}`", one_line(&context.cwd)),
            ];
            if let Some(ended) = run.ended() {
                facts.insert(1, duration_text(ended.duration_ms));
            }
            if let Some(commit) = &context.git_commit {
                let short = one_line(commit.get(..12).unwrap_or(commit));
                facts.push(format!("book at {short}{}", if context.git_dirty { " (uncommitted changes)" } else { "" }));
            }
            for (name, value) in &context.probes {
                facts.push(format!("{}: {}", one_line(name), one_line(value)));
            }
            let _ = writeln!(out, "{}\n", html_as_text(&facts.join(" · ")));
            let output = fenced_text(&run_output(store, run.started));
            if output.is_empty() {
                let _ = writeln!(out, "(no output)\n");
            } else {
                let fence = fence_for(&output);
                let _ = writeln!(out, "{fence}text\n{}\n{fence}\n", output.trim_end_matches('\n'));
            }
        }
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

/// A run's facts as the JSON export and the console's session view give them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunSummary<'e> {
    pub run_id: &'e str,
    pub runbook: &'e str,
    pub step: &'e str,
    /// 0-based index of the one command run, when not the whole step.
    pub command: Option<usize>,
    pub command_text: &'e str,
    /// RFC 3339, UTC.
    pub started: String,
    /// As [`ExportedRun::result`] says it.
    pub result: String,
}

pub fn run_summary<'e>(run: &ExportedRun<'e>) -> RunSummary<'e> {
    RunSummary {
        run_id: &run.started.run_id,
        runbook: &run.started.runbook,
        step: &run.started.step,
        command: run.started.command,
        command_text: &run.started.command_text,
        started: utc(run.started_at).rfc3339,
        result: run.result(),
    }
}

/// The session as JSON: `schema`, `session`, `events` (timestamp, actor, source, type,
/// description, details), `runs` (with their full, redacted output).
pub fn json(session: &Session, events: &[Event], store: &dyn SessionStore) -> serde_json::Value {
    let runs = runs(events);
    let end_at = end_of(session, events);
    let events_json: Vec<serde_json::Value> = events
        .iter()
        .map(|event| {
            let mut details = serde_json::to_value(&event.kind).unwrap_or(serde_json::Value::Null);
            if let Some(object) = details.as_object_mut() {
                object.remove("type");
            }
            json!({
                "id": event.id,
                "seq": event.seq,
                "timestamp": utc(event.at).rfc3339,
                "actor": event.actor.user,
                "host": event.actor.host,
                "source": event.actor.source,
                "type": event.kind.name(),
                "description": describe(event, &runs),
                "details": details,
            })
        })
        .collect();
    let runs_json: Vec<serde_json::Value> = runs
        .iter()
        .map(|run| {
            let ended = run.ended();
            let mut summary = json!(run_summary(run));
            if let Some(fields) = summary.as_object_mut() {
                fields.insert("exit_code".to_owned(), json!(ended.and_then(|e| e.exit_code)));
                fields.insert("signal".to_owned(), json!(ended.and_then(|e| e.signal)));
                fields.insert("duration_ms".to_owned(), json!(ended.map(|e| e.duration_ms)));
                fields.insert("output_bytes".to_owned(), json!(ended.map(|e| e.output_bytes)));
                fields.insert("truncated".to_owned(), json!(ended.is_some_and(|e| e.truncated)));
                fields.insert("output".to_owned(), json!(run_output(store, run.started)));
            }
            summary
        })
        .collect();
    json!({
        "schema": JSON_SCHEMA,
        "session": {
            "id": session.id,
            "title": session.title,
            "severity": session.severity,
            "status": session.status,
            "started": utc(session.started_at).rfc3339,
            "ended": session.ended_at.map(|at| utc(at).rfc3339),
            "duration_ms": (end_at - session.started_at).max(0),
        },
        "events": events_json,
        "runs": runs_json,
    })
}

/// The postmortem as a printable HTML page: the Markdown export, rendered.
pub fn html(session: &Session, events: &[Event], store: &dyn SessionStore) -> String {
    let markdown = markdown(session, events, store);
    let mut body = String::new();
    let options = pulldown_cmark::Options::ENABLE_TABLES | pulldown_cmark::Options::ENABLE_TASKLISTS;
    let parser = pulldown_cmark::Parser::new_ext(&markdown, options).map(inert);
    pulldown_cmark::html::push_html(&mut body, parser);
    // The timeline drawn, above its text.
    let chart = timeline::svg(session, events);
    if !chart.is_empty() {
        if let Some(at) = body.find("<h2>Timeline</h2>\n") {
            body.insert_str(
                at + "<h2>Timeline</h2>\n".len(),
                &format!("<figure class=\"timeline\">{chart}</figure>\n"),
            );
        }
    }
    let title = html_escape(&format!("Postmortem: {}", one_line(&session.title)));
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n<style>\n{PRINT_CSS}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n"
    )
}

const PRINT_CSS: &str = "body { font: 15px/1.5 system-ui, sans-serif; color: #111; margin: 0; }
main { max-width: 52rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { border-bottom: 1px solid #ccc; margin-top: 2rem; }
figure.timeline { margin: 1rem 0; } .timeline-chart { width: 100%; height: auto; }
pre { background: #f5f5f5; padding: .6rem; overflow-x: auto; white-space: pre-wrap; word-break: break-word; font-size: 13px; }
code { font-family: ui-monospace, monospace; }
@media print { main { margin: 0; max-width: none; } pre { break-inside: avoid; } h2, h3 { break-after: avoid; } }
";

/// Everything in the postmortem came from people and commands (titles, notes, inputs, output):
/// raw HTML in it is shown as text, a link keeps its address only when it is a web or relative
/// one (no `javascript:`, `data:` or other schemes), and an image is shown as its address.
fn inert(event: pulldown_cmark::Event<'_>) -> pulldown_cmark::Event<'_> {
    use pulldown_cmark::{Event, Tag};
    match event {
        Event::Html(html) | Event::InlineHtml(html) => Event::Text(html),
        Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
            Event::Start(Tag::Link { link_type, dest_url: safe_url(dest_url), title, id })
        }
        // An image would be fetched when the postmortem is opened (a tracker): its address and
        // text are shown instead.
        Event::Start(Tag::Image { dest_url, .. }) => Event::Text(format!("[image {dest_url}: ").into()),
        Event::End(pulldown_cmark::TagEnd::Image) => Event::Text("]".into()),
        other => other,
    }
}

fn safe_url(url: pulldown_cmark::CowStr<'_>) -> pulldown_cmark::CowStr<'_> {
    let scheme = url.split_once(':').map(|(scheme, _)| scheme.to_ascii_lowercase());
    let relative = match &scheme {
        None => true,
        // `a/b:c` has a colon after a slash: a path, not a scheme.
        Some(scheme) => scheme.contains(['/', '?', '#']),
    };
    if relative || matches!(scheme.as_deref(), Some("http" | "https" | "mailto")) {
        url
    } else {
        pulldown_cmark::CowStr::Borrowed("#")
    }
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// The seed's "Internal Communication" update, filled from the session: one line a field.
pub fn status_update(session: &Session, events: &[Event]) -> String {
    let impact = notes(events, NoteKind::Impact);
    let impact = impact.last().copied().unwrap_or("[Who/what is affected]");
    format!(
        "Incident: {}\nSeverity: {}\nStatus: {}\nImpact: {}\nETA: [If known]\nUpdates: opsbook session {}\n",
        one_line(&session.title),
        one_line(&session.severity),
        session.status,
        one_line(impact),
        one_line(&session.id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_durations() {
        let at = utc(1_795_805_002_123);
        assert_eq!((at.date.as_str(), at.time.as_str()), ("2026-11-27", "18:43"));
        assert_eq!(at.rfc3339, "2026-11-27T18:43:22.123Z");
        assert_eq!(duration_text(120), "120 ms");
        assert_eq!(duration_text(4_200), "4.2 s");
        assert_eq!(duration_text(185_000), "3 min 5 s");
        assert_eq!(duration_text(4_320_000), "1 h 12 min");
        assert_eq!(duration_text(7_200_000), "2 h");
    }

    #[test]
    fn colour_codes_leave_the_export() {
        assert_eq!(crate::line::ESCAPE.replace_all("\x1b[31mred\x1b[0m \x1b]0;title\x07ok", ""), "red ok");
    }

    #[test]
    fn a_line_cannot_open_a_markdown_block() {
        for (line, inert) in [
            ("- 02:00 - Status: Resolved", "\\- 02:00 - Status: Resolved"),
            ("## Root Cause", "\\## Root Cause"),
            ("1. first", "1\\. first"),
            ("12) first", "12\\) first"),
            ("---", "\\---"),
            ("> quote", "\\> quote"),
            ("<div>", "\\<div>"),
            ("[x]: javascript:alert(1)", "\\[x]: javascript:alert(1)"),
            (":--- | ---", "\\:--- | ---"),
            ("[a link](https://example.com)", "[a link](https://example.com)"),
            ("plain text", "plain text"),
            ("2026 was fine", "2026 was fine"),
        ] {
            assert_eq!(inert_start(line), inert, "{line}");
        }
        let mut out = String::new();
        write_block(&mut out, "- ", 2, "first\n- [ ] forged\r## Lessons\n\n  tail");
        assert_eq!(out, "- first  \n  \\- [ ] forged  \n  \\## Lessons  \n  tail\n");
        let mut out = String::new();
        write_block(&mut out, "- 18:43 - ", 2, "Note: a\n# b (ana@laptop)");
        assert_eq!(out, "- 18:43 - Note: a  \n  \\# b (ana@laptop)\n");
    }

    #[test]
    fn fences_outlast_backticks() {
        assert_eq!(fence_for("plain"), "```");
        assert_eq!(fence_for("a ```` b"), "`````");
    }
}
