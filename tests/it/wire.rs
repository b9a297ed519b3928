//! The console API's wire: every endpoint's status and JSON body, in one snapshot, so that a
//! change to what `theme/console.js` (and any other client) reads shows in review. Bodies are
//! parsed and printed with sorted keys (key order is not part of JSON); ids, times, the user,
//! the host and the store's path are masked.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use opsbook::server::{App, router};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::serve::{app, authed, book, get, post};

/// Keys whose values change from run to run.
const VOLATILE: &[&str] = &[
    "timestamp",
    "time",
    "actor",
    "started",
    "started_at",
    "ended_at",
    "seen_at",
    "duration_ms",
    "user",
    "host",
    "location",
    "at",
    "by",
];

fn masked(value: Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(key, value)| {
                    let value = if VOLATILE.contains(&key.as_str()) && !value.is_null() {
                        Value::String(format!("[{key}]"))
                    } else {
                        masked(value)
                    };
                    (key, value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(masked).collect()),
        other => other,
    }
}

/// Records requests and their answers as text.
struct Wire {
    app: Arc<App>,
    /// One runtime for the whole test: runs started by a request go on after it.
    runtime: tokio::runtime::Runtime,
    text: String,
    /// Concrete ids and their stand-ins.
    ids: Vec<(String, String)>,
}

impl Wire {
    fn call(&self, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
        self.runtime.block_on(async {
            let response = router(self.app.clone()).oneshot(request).await.unwrap();
            let (status, headers) = (response.status(), response.headers().clone());
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (status, headers, String::from_utf8_lossy(&body).into_owned())
        })
    }

    fn send(&mut self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let builder = if method == "GET" { authed(get(path)) } else { authed(post(path)) };
        let request = match &body {
            Some(body) => builder.body(Body::from(body.to_string())),
            None => builder.body(Body::empty()),
        };
        let (status, headers, text) = self.call(request.unwrap());
        let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("-");
        let parsed: Value =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::Null) };
        let shown = match (&parsed, text.is_empty()) {
            (Value::Null, false) => "(text, not JSON)".to_owned(),
            (Value::Null, true) => "(empty)".to_owned(),
            _ => serde_json::to_string_pretty(&masked(parsed.clone())).unwrap(),
        };
        let sent = body.map(|b| format!(" {b}")).unwrap_or_default();
        let sent = if sent.len() > 200 { format!(" ({} bytes)", sent.len() - 1) } else { sent };
        let _ = writeln!(self.text, "{method} {path}{sent}\n=> {} {content_type}\n{shown}\n", status.as_u16());
        (status, parsed)
    }

    /// A run's SSE stream, each event's data parsed.
    fn stream(&mut self, path: &str) {
        let (status, _, text) = self.call(authed(get(path)).body(Body::empty()).unwrap());
        let _ = writeln!(self.text, "GET {path}\n=> {}", status.as_u16());
        for line in text.lines() {
            let line = match line.strip_prefix("data: ") {
                Some(data) => format!("data: {}", masked(serde_json::from_str(data).unwrap())),
                None => line.to_owned(),
            };
            let _ = writeln!(self.text, "{line}");
        }
        self.text.push('\n');
    }

    fn name(&mut self, id: &str, stand_in: &str) {
        self.ids.push((id.to_owned(), stand_in.to_owned()));
    }

    fn finish(self) -> String {
        self.ids.iter().fold(self.text, |text, (id, stand_in)| text.replace(id, stand_in))
    }
}

fn wait_until_ended(wire: &Wire, session: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, _, text) = wire.call(authed(get(&format!("/api/sessions/{session}"))).body(Body::empty()).unwrap());
        let state: Value = serde_json::from_str(&text).unwrap();
        if state["runs"].as_array().unwrap().iter().all(|r| r["running"] == false) {
            return;
        }
        assert!(Instant::now() < deadline, "the runs did not end: {state}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn every_endpoint_answers_the_json_the_console_reads_snapshot() {
    let dir = book();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut wire = Wire { app: app(dir.path()), runtime, text: String::new(), ids: Vec::new() };

    wire.send("GET", "/api/book", None);
    wire.send("GET", "/api/runbooks/serve.md", None);
    wire.send("GET", "/api/runbooks/nope.md", None);
    wire.send("POST", "/api/sessions", Some(json!({"title": " "})));
    wire.send("POST", "/api/sessions", Some(json!({"title": "x", "severity": "SEV9"})));
    wire.send("POST", "/api/sessions", Some(json!({"name": "x"})));
    let (_, created) = wire.send("POST", "/api/sessions", Some(json!({"title": "Payments down", "severity": "sev2"})));
    let id = created["id"].as_str().unwrap().to_owned();
    wire.name(&id, "[session]");
    let base = format!("/api/sessions/{id}");
    wire.send("GET", "/api/sessions", None);
    wire.send("GET", "/api/sessions/20990101-nothere", None);

    wire.send("POST", &format!("{base}/notes"), Some(json!({"text": "pool exhausted", "kind": "root-cause"})));
    wire.send("POST", &format!("{base}/notes"), Some(json!({"text": "plain"})));
    wire.send("POST", &format!("{base}/notes"), Some(json!({"text": "x", "kind": "gossip"})));
    wire.send("POST", &format!("{base}/notes"), Some(json!({"text": "  "})));
    wire.send("POST", &format!("{base}/status"), Some(json!({"status": "identified"})));
    wire.send("POST", &format!("{base}/status"), Some(json!({"status": "done"})));
    wire.send("POST", &format!("{base}/severity"), Some(json!({"severity": "SEV1"})));
    wire.send("POST", &format!("{base}/severity"), Some(json!({"severity": "SEV0"})));
    wire.send("POST", &format!("{base}/title"), Some(json!({"title": "Checkout 502s\nin eu-west"})));
    wire.send("POST", &format!("{base}/title"), Some(json!({"title": "  "})));

    let plan = format!("{base}/plan");
    wire.send("POST", &plan, Some(json!({"runbook": "serve.md", "step": "count"})));
    wire.send("POST", &plan, Some(json!({"runbook": "serve", "step": "restart"})));
    wire.send("POST", &plan, Some(json!({"runbook": "serve.md", "step": "greet"})));
    wire.send("POST", &plan, Some(json!({"runbook": "serve.md", "step": "greet", "inputs": {"who": "ana"}})));
    wire.send("POST", &plan, Some(json!({"runbook": "serve.md", "step": "greet", "inputs": {"whom": "ana"}})));
    wire.send("POST", &plan, Some(json!({"runbook": "serve.md", "step": "count", "command": 0})));
    wire.send("POST", &plan, Some(json!({"runbook": "serve.md", "step": "count", "command": 1})));
    wire.send("POST", &plan, Some(json!({"runbook": "nope.md", "step": "count"})));
    wire.send("POST", &plan, Some(json!({"runbook": "serve.md", "step": "nope"})));
    wire.send("POST", &plan, Some(json!({"runbook": "serve.md", "step": "count", "shell": "id"})));
    wire.send("POST", "/api/sessions/20990101-nothere/plan", Some(json!({"runbook": "serve.md", "step": "count"})));

    let runs = format!("{base}/runs");
    wire.send("POST", &runs, Some(json!({"runbook": "serve.md", "step": "restart"})));
    wire.send("POST", &runs, Some(json!({"runbook": "serve.md", "step": "greet"})));
    wire.send("POST", &runs, Some(json!({"runbook": "serve.md", "step": "count", "command": -1})));
    let (_, started) =
        wire.send("POST", &runs, Some(json!({"runbook": "serve.md", "step": "greet", "inputs": {"who": "ana"}})));
    let run_id = started["run_id"].as_str().unwrap().to_owned();
    wire.name(&run_id, "[run]");
    wait_until_ended(&wire, &id);
    wire.stream(&format!("/api/runs/{run_id}/events"));
    wire.send("POST", &format!("/api/runs/{run_id}/cancel"), None);
    wire.send("POST", "/api/runs/nothere/cancel", None);
    wire.send("GET", "/api/runs/nothere/events", None);

    let skips = format!("{base}/skips");
    wire.send(
        "POST",
        &skips,
        Some(json!({"runbook": "serve.md", "step": "slow", "reason": "not needed: the queue drained"})),
    );
    wire.send("POST", &skips, Some(json!({"runbook": "serve.md", "step": "slow", "reason": " \n "})));
    wire.send("POST", &skips, Some(json!({"runbook": "serve.md", "step": "nope", "reason": "x"})));
    wire.send("POST", &skips, Some(json!({"runbook": "serve.md", "step": "slow"})));
    wire.send(
        "POST",
        "/api/sessions/20990101-nothere/skips",
        Some(json!({"runbook": "serve.md", "step": "slow", "reason": "x"})),
    );

    wire.send("GET", &base, None);
    wire.send("GET", &format!("{base}/export?format=pdf"), None);
    wire.send("GET", &format!("{base}/export?format=md"), None);
    wire.send("POST", &format!("{base}/close"), None);
    wire.send("POST", &format!("{base}/close"), None);
    wire.send("POST", &runs, Some(json!({"runbook": "serve.md", "step": "count"})));
    wire.send("POST", &skips, Some(json!({"runbook": "serve.md", "step": "count", "reason": "closed"})));

    // Failures before a handler runs answer in the same shape: an unknown endpoint, a method an
    // endpoint does not take, a path or query that does not decode, a body over the limit that
    // did not say its length.
    wire.send("GET", "/api/nope", None);
    wire.send("GET", "/api", None);
    wire.send("GET", "/api/", None);
    wire.send("POST", "/api/book", None);
    wire.send("GET", "/api/sessions/%FF", None);
    wire.send("GET", &format!("{base}/export?format=%FF"), None);
    let huge = "x".repeat(opsbook::server::BODY_LIMIT + 1);
    wire.send("POST", &format!("{base}/notes"), Some(json!({ "text": huge })));

    // A run's duration shows in its timeline entry.
    // The chart's coordinates follow the clock; its shape is the timeline tests' (browser.rs).
    let filters = vec![
        (r"exit 0, [0-9.]+ m?s\)", "exit 0, [duration])"),
        (r#""chart": "<svg class=\\"timeline-chart\\"[^\n]*</svg>""#, r#""chart": "[svg]""#),
    ];
    insta::with_settings!({ filters => filters }, {
        insta::assert_snapshot!("api_wire", wire.finish());
    });
}
