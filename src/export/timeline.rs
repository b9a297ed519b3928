//! The incident drawn: an inline SVG with a time axis, each run a bar (its length the run's
//! duration, its colour how it ended, its lane the responder who ran it), and notes, status and
//! severity changes as markers above. No script, no external resource: it reads the same in the
//! HTML export, printed, and in the console. Every text in it came from people and commands and
//! is escaped.

use std::fmt::Write as _;

use super::{ExportedRun, runs};
use crate::line::one_line;
use crate::session::{Event, EventKind, Session};

const WIDTH: f64 = 960.0;
const LEFT: f64 = 170.0;
const RIGHT: f64 = 16.0;
const LANE: f64 = 26.0;
const TOP: f64 = 46.0;

/// Text for the SVG: escaped, and without the characters XML does not allow (a U+FFFF in an
/// alert's summary would make the whole chart unreadable).
fn html_escape(text: &str) -> String {
    let allowed: String = text
        .chars()
        .filter(|c| matches!(*c, '\t' | '\n' | '\r') || (*c >= ' ' && !matches!(*c, '\u{FFFE}' | '\u{FFFF}')))
        .collect();
    super::html_escape(&allowed)
}

/// The colour of a run's bar by how it ended: its class and a fill that prints.
fn outcome(run: &ExportedRun<'_>) -> (&'static str, &'static str) {
    match run.result().as_str() {
        "exit 0" => ("ok", "#2e7d32"),
        "running" => ("running", "#1565c0"),
        "cancelled" | "interrupted" => ("stopped", "#ef6c00"),
        _ => ("failed", "#c62828"),
    }
}

/// `14:05` for a time in milliseconds.
fn clock(at: i64) -> String {
    crate::clock::utc(at).time
}

/// The SVG of a session's timeline; empty when nothing happened to draw.
pub fn svg(session: &Session, events: &[Event]) -> String {
    let runs = runs(events);
    let markers: Vec<(&Event, &'static str, String)> = events
        .iter()
        .filter_map(|event| {
            let (kind, label) = match &event.kind {
                // The note's words are in the text timeline under the chart; the marker says
                // which kind it is.
                EventKind::NoteAdded { note, .. } => ("note", format!("{} note", note.as_str())),
                EventKind::StatusChanged { to, .. } => ("status", format!("Status: {}", to.as_str())),
                EventKind::SeverityChanged { to, .. } => ("severity", format!("Severity: {to}")),
                EventKind::Alert(notice) => ("alert", format!("Alert {} {}", notice.alerts.join(", "), notice.status)),
                EventKind::Closed => ("status", "Closed".to_owned()),
                _ => return None,
            };
            Some((event, kind, label))
        })
        .collect();
    if runs.is_empty() && markers.is_empty() {
        return String::new();
    }
    let start = session.started_at;
    let mut end = events.iter().map(|e| e.at).max().unwrap_or(start);
    for run in &runs {
        let run_end = run.end.map_or(run.started_at, |(_, e)| e.at);
        end = end.max(run_end);
    }
    let span = (end - start).max(60_000) as f64;
    let x = |at: i64| LEFT + (at - start).max(0) as f64 / span * (WIDTH - LEFT - RIGHT);
    let mut lanes: Vec<String> = Vec::new();
    for run in &runs {
        let who = format!("{}@{}", one_line(&run.actor.user), one_line(&run.actor.host));
        if !lanes.contains(&who) {
            lanes.push(who);
        }
    }
    let height = TOP + (lanes.len().max(1) as f64) * LANE + 30.0;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg class=\"timeline-chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" \
         font-family=\"system-ui, sans-serif\" font-size=\"11\"><title>Timeline of {}</title>",
        html_escape(&one_line(&session.title))
    );
    // The axis: about six ticks at round minutes.
    let step_minutes = [1, 2, 5, 10, 15, 30, 60, 120, 240, 480, 720, 1440]
        .into_iter()
        .find(|m| span / (*m as f64 * 60_000.0) <= 6.0)
        .unwrap_or(1440);
    let step = step_minutes * 60_000;
    let axis_y = height - 22.0;
    let _ =
        write!(out, "<line x1=\"{LEFT}\" y1=\"{axis_y}\" x2=\"{}\" y2=\"{axis_y}\" stroke=\"#777\"/>", WIDTH - RIGHT);
    // The ends, always: when it began and how far the record goes.
    let _ = write!(
        out,
        "<text x=\"{LEFT}\" y=\"{:.1}\" fill=\"#222\">{}</text><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#222\">{}</text>",
        axis_y + 14.0,
        clock(start),
        WIDTH - RIGHT,
        axis_y + 14.0,
        clock(end)
    );
    let mut tick = (start + step - 1) / step * step;
    // Ticks clear of the ends' labels.
    let clear = |at: i64| x(at) > LEFT + 40.0 && x(at) < WIDTH - RIGHT - 40.0;
    while tick <= end {
        if !clear(tick) {
            tick += step;
            continue;
        }
        let tx = x(tick);
        let _ = write!(
            out,
            "<line x1=\"{tx:.1}\" y1=\"{TOP}\" x2=\"{tx:.1}\" y2=\"{axis_y}\" stroke=\"#ddd\"/>\
             <text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#444\">{}</text>",
            axis_y + 14.0,
            clock(tick)
        );
        tick += step;
    }
    // Lanes: one per responder, their runs as bars.
    for (index, who) in lanes.iter().enumerate() {
        let y = TOP + index as f64 * LANE;
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#222\">{}</text>",
            LEFT - 8.0,
            y + LANE / 2.0 + 4.0,
            html_escape(who)
        );
    }
    for run in &runs {
        let who = format!("{}@{}", one_line(&run.actor.user), one_line(&run.actor.host));
        let lane = lanes.iter().position(|l| *l == who).unwrap_or(0);
        let y = TOP + lane as f64 * LANE + 4.0;
        let run_end = run.end.map_or(end, |(_, e)| e.at);
        let (x0, x1) = (x(run.started_at), x(run_end));
        let (class, fill) = outcome(run);
        let _ = write!(
            out,
            "<rect class=\"run {class}\" x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"2\" fill=\"{fill}\">\
             <title>{} {} of {} ({}) at {}</title></rect>",
            (x1 - x0).max(3.0),
            LANE - 8.0,
            html_escape(&one_line(&run.started.step)),
            html_escape(&one_line(&run.started.step_title)),
            html_escape(&one_line(&run.started.runbook)),
            html_escape(&run.result()),
            clock(run.started_at)
        );
    }
    // Markers above the lanes: notes as circles, status and severity as diamonds, alerts as
    // triangles; each says what it is when pointed at, and by its shape on paper.
    for (event, kind, label) in &markers {
        let mx = x(event.at);
        let shape = match *kind {
            "note" => format!("<circle cx=\"{mx:.1}\" cy=\"24\" r=\"5\" fill=\"#6a1b9a\"/>"),
            "alert" => format!("<path d=\"M{mx:.1} 17 l6 12 h-12 z\" fill=\"#ad1457\"/>"),
            _ => format!("<path d=\"M{mx:.1} 17 l7 7 l-7 7 l-7 -7 z\" fill=\"#37474f\"/>"),
        };
        let _ = write!(
            out,
            "<g class=\"marker {kind}\">{shape}<line x1=\"{mx:.1}\" y1=\"31\" x2=\"{mx:.1}\" y2=\"{axis_y}\" stroke=\"#bbb\" stroke-dasharray=\"2 3\"/>\
             <title>{} {}</title></g>",
            clock(event.at),
            html_escape(label)
        );
    }
    let _ = write!(
        out,
        "<g font-size=\"10\" fill=\"#444\"><rect x=\"8\" y=\"6\" width=\"10\" height=\"8\" fill=\"#2e7d32\"/><text x=\"22\" y=\"13\">ok</text>\
         <rect x=\"44\" y=\"6\" width=\"10\" height=\"8\" fill=\"#c62828\"/><text x=\"58\" y=\"13\">failed</text>\
         <rect x=\"96\" y=\"6\" width=\"10\" height=\"8\" fill=\"#ef6c00\"/><text x=\"110\" y=\"13\">stopped</text></g></svg>"
    );
    out
}
