//! From alert to runbook: `check --alerts` over Prometheus rule files and PrometheusRule
//! manifests, `/go?alert=` in the console, `go.html` in the static site.

use std::path::Path;

use axum::body::Body;
use axum::http::{StatusCode, header};
use serde_json::Value;

use crate::common::*;
use crate::serve::{app, authed, call, get};

/// A book published at https://runbooks.example.com/ whose rules are the fixtures.
fn alert_book() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "book.toml",
        "[book]\nsrc = \"runbooks\"\n[opsbook]\nsite-url = \"https://runbooks.example.com/\"\nalerts = [\"alerts\"]\n",
    );
    write(
        "runbooks/db/failover.md",
        "---\nalerts: [DatabaseDown, DatabaseGone]\n---\n# Failover\n\n## Promote\n\n```bash {name=promote}\necho promote <pod-name> in $NAMESPACE\n```\n",
    );
    write("runbooks/api.md", "# API\n\n## Latency\n\n```bash\ncurl -s http://localhost/healthz\n```\n");
    let fixtures = repo().join("tests/fixtures/alerts");
    for name in ["rules.yml", "prometheusrule.yaml"] {
        std::fs::create_dir_all(dir.path().join("alerts")).unwrap();
        std::fs::copy(fixtures.join(name), dir.path().join("alerts").join(name)).unwrap();
    }
    dir
}

fn check_json(dir: &Path, extra: &[&str]) -> (i32, Vec<Value>) {
    let mut args = vec!["check", "--format", "json", "--no-shellcheck"];
    args.extend_from_slice(extra);
    let output = opsbook(&args, dir);
    let value: Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&output.stderr)));
    (output.status.code().unwrap(), value["diagnostics"].as_array().unwrap().clone())
}

#[test]
fn check_alerts_finds_missing_runbooks_broken_urls_and_unknown_alerts() {
    let dir = alert_book();
    let (code, found) = check_json(dir.path(), &[]);
    assert_eq!(code, 1, "a broken runbook_url is an error: {found:#?}");
    let alerts: Vec<(String, String, u64, String)> = found
        .iter()
        .filter(|d| d["rule"].as_str().unwrap().starts_with("alert-"))
        .map(|d| {
            let file = d["file"].as_str().unwrap();
            let file = file.rsplit('/').next().unwrap().to_owned();
            (
                d["rule"].as_str().unwrap().to_owned(),
                file,
                d["line"].as_u64().unwrap(),
                d["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        alerts,
        [
            (
                "alert-runbook-url".to_owned(),
                "rules.yml".to_owned(),
                13,
                "alert `DatabaseMoved` points at `https://runbooks.example.com/db/moved-away.html`: the book has no page `db/moved-away.html`".to_owned()
            ),
            (
                "alert-runbook-url".to_owned(),
                "rules.yml".to_owned(),
                17,
                "alert `DatabaseBadAnchor` points at `https://runbooks.example.com/db/failover.html#no-such-step`: `db/failover.html` has no anchor `#no-such-step`".to_owned()
            ),
            (
                "alert-without-runbook".to_owned(),
                "rules.yml".to_owned(),
                21,
                "alert `DatabaseSlow` has no `runbook_url` annotation".to_owned()
            ),
            (
                "alert-unknown".to_owned(),
                "failover.md".to_owned(),
                2,
                "the front matter names alert `DatabaseGone`, which no rule file given defines".to_owned()
            ),
        ]
    );
    // `--alerts` names the files instead; a missing one is an input error.
    let (_, found) = check_json(dir.path(), &["--alerts", "alerts/prometheusrule.yaml"]);
    assert!(found.iter().all(|d| d["rule"] != "alert-runbook-url"), "{found:#?}");
    assert!(
        found.iter().any(|d| d["rule"] == "alert-unknown" && d["message"].as_str().unwrap().contains("DatabaseDown"))
    );
    let missing = opsbook(&["check", "--alerts", "nope.yml"], dir.path());
    assert_eq!(missing.status.code(), Some(2));
    // A rule file that is not YAML is an error naming its line.
    std::fs::write(dir.path().join("alerts/broken.yml"), "groups:\n  - name: x\n    rules: [\n").unwrap();
    let (code, found) = check_json(dir.path(), &[]);
    assert_eq!(code, 1);
    assert!(found.iter().any(|d| d["rule"] == "alert-rules" && d["file"].as_str().unwrap().ends_with("broken.yml")));
}

#[test]
fn the_fixture_rule_files_pass_promtool() {
    let Some(promtool) = which("promtool") else { return };
    let fixtures = repo().join("tests/fixtures/alerts");
    let output = std::process::Command::new(&promtool)
        .arg("check")
        .arg("rules")
        .arg(fixtures.join("rules.yml"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}{}", text(&output.stdout), text(&output.stderr));
    // A PrometheusRule's `spec` is a rule file: each document's, checked alone.
    let manifest = std::fs::read_to_string(fixtures.join("prometheusrule.yaml")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for (index, document) in manifest.split("\n---\n").enumerate() {
        let spec: Vec<&str> = document.lines().skip_while(|l| *l != "spec:").skip(1).collect();
        let rules: String = spec.iter().map(|l| format!("{}\n", l.strip_prefix("  ").unwrap_or(l))).collect();
        let file = tmp.path().join(format!("spec-{index}.yml"));
        std::fs::write(&file, rules).unwrap();
        let output = std::process::Command::new(&promtool).arg("check").arg("rules").arg(&file).output().unwrap();
        assert!(output.status.success(), "{}{}", text(&output.stdout), text(&output.stderr));
    }
}

/// A program on PATH; None (a printed notice, a failure in CI) when missing.
fn which(name: &str) -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(name)).find(|p| p.is_file()));
    match found {
        Some(path) => Some(path),
        None => skip(&format!("`{name}` (Debian's `prometheus` package)")),
    }
}

#[test]
fn go_opens_the_alerts_runbook_with_its_labels_as_inputs() {
    let dir = alert_book();
    let app = app(dir.path());
    let go = |query: &str| call(&app, authed(get(&format!("/go?{query}"))).body(Body::empty()).unwrap());
    // By front matter; labels fill inputs of the same name (case and `_`/`-` aside), encoded.
    let (status, headers, _) = go("alert=DatabaseDown&label.pod_name=api-7f9&label.namespace=prod%22%3E&label.other=x");
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        "/db/failover.html?var.pod-name=api-7f9&var.NAMESPACE=prod%22%3E&var.other=x"
    );
    // By the rule's runbook_url under the site, anchor kept.
    let (status, headers, _) = go("alert=ApiLatency");
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/api.html#latency");
    // Unknown: a plain answer naming what the book answers.
    let (status, headers, body) = go("alert=%3Cscript%3E");
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
    assert!(body.contains("No runbook answers alert `<script>`") && body.contains("DatabaseDown"), "{body}");
    assert_eq!(go("label.x=1").0, StatusCode::BAD_REQUEST);
    // Not without the token.
    assert_eq!(call(&app, get("/go?alert=DatabaseDown").body(Body::empty()).unwrap()).0, StatusCode::UNAUTHORIZED);
}

#[test]
fn the_static_site_has_go_html_over_alerts_json() {
    let dir = alert_book();
    let output = opsbook(&["build", "--dest-dir", "site"], dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let links: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("site/alerts.json")).unwrap()).unwrap();
    assert_eq!(links["alerts"]["DatabaseDown"]["page"], "db/failover.html");
    assert_eq!(links["alerts"]["DatabaseDown"]["inputs"], serde_json::json!(["pod-name", "NAMESPACE"]));
    assert_eq!(links["alerts"]["ApiLatency"]["anchor"], "latency");
    assert!(links["alerts"].get("DatabaseMoved").is_none(), "a URL leading nowhere leads nowhere");
    let script = std::fs::read_to_string(dir.path().join("site/alerts.js")).unwrap();
    assert!(script.starts_with("window.OPSBOOK_ALERTS = {"));
    let go = std::fs::read_to_string(dir.path().join("site/go.html")).unwrap();
    assert!(go.contains("<script src=\"alerts.js\"></script><script src=\"assets/go.js\"></script>"));
    assert!(dir.path().join("site/assets/go.js").is_file());
}

/// A free port on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls `probe` every 100 ms for at most `seconds`.
fn wait_for<T>(seconds: u64, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while std::time::Instant::now() < deadline {
        if let Some(found) = probe() {
            return Some(found);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    None
}

#[test]
fn a_real_alertmanager_opens_the_session_and_resolves_it() {
    let Some(alertmanager) = which("prometheus-alertmanager").or_else(|| which("alertmanager")) else { return };
    let dir = alert_book();
    let server = crate::serve::Server::start_with(dir.path(), &[("OPSBOOK_RESPONDER", "oncall@test")]);
    let am_port = free_port();
    let am_dir = tempfile::tempdir().unwrap();
    std::fs::write(
        am_dir.path().join("alertmanager.yml"),
        format!(
            "route:\n  receiver: opsbook\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n\
             receivers:\n  - name: opsbook\n    webhook_configs:\n      - url: {}/api/alerts\n        send_resolved: true\n\
             \x20       http_config:\n          authorization:\n            type: Bearer\n            credentials: {}\n",
            server.base, server.token
        ),
    )
    .unwrap();
    let child = std::process::Command::new(alertmanager)
        .arg(format!("--config.file={}", am_dir.path().join("alertmanager.yml").display()))
        .arg(format!("--storage.path={}", am_dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{am_port}"))
        .arg("--cluster.listen-address=")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(am_dir.path().join("alertmanager.log")).unwrap())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let child = Kill(child);
    let am = format!("http://127.0.0.1:{am_port}");
    let ready =
        wait_for(20, || ureq::get(&format!("{am}/-/ready")).call().ok().filter(|r| r.status() == 200).map(|_| ()));
    let log = || std::fs::read_to_string(am_dir.path().join("alertmanager.log")).unwrap_or_default();
    assert!(ready.is_some(), "alertmanager did not start: {}", log());
    let post_alert = |ends: Option<&str>| {
        let mut alert = serde_json::json!({
            "labels": {"alertname": "DatabaseDown", "severity": "critical", "namespace": "prod", "pod_name": "api-7f9"},
            "annotations": {"summary": "PostgreSQL db-1 is down"},
            "startsAt": "2020-01-01T00:00:00Z",
        });
        if let Some(ends) = ends {
            alert["endsAt"] = Value::String(ends.to_owned());
        }
        let response = ureq::post(&format!("{am}/api/v2/alerts")).send_json(serde_json::json!([alert])).unwrap();
        assert_eq!(response.status(), 200);
    };
    post_alert(None);
    let session = wait_for(30, || {
        let sessions = server.get_json("/api/sessions");
        sessions.as_array().unwrap().iter().find(|s| s["title"] == "DatabaseDown: PostgreSQL db-1 is down").cloned()
    });
    let Some(session) = session else { panic!("no session opened; alertmanager said: {}", log()) };
    assert_eq!(session["severity"], "SEV1", "`severity: critical` is the most severe level");
    let id = session["id"].as_str().unwrap().to_owned();
    let state = server.get_json(&format!("/api/sessions/{id}"));
    assert_eq!(state["inputs"]["NAMESPACE"], "prod", "labels fill the inputs of the same name: {}", state["inputs"]);
    assert_eq!(state["inputs"]["pod-name"], "api-7f9");
    // Resolved: an event on the same session's timeline, no new session.
    post_alert(Some("2020-01-01T00:01:00Z"));
    let resolved = wait_for(30, || {
        let state = server.get_json(&format!("/api/sessions/{id}"));
        let timeline = state["timeline"].as_array().unwrap().clone();
        timeline
            .iter()
            .any(|e| e["description"].as_str().is_some_and(|t| t.contains("Alert `DatabaseDown` resolved")))
            .then_some(timeline)
    });
    drop(child);
    let timeline = resolved.unwrap_or_else(|| panic!("no resolved event; alertmanager said: {}", log()));
    assert!(
        timeline.iter().any(|e| e["description"]
            .as_str()
            .is_some_and(|t| t.starts_with("Alert `DatabaseDown` firing: PostgreSQL db-1 is down"))),
        "{timeline:#?}"
    );
    let sessions = server.get_json("/api/sessions");
    assert_eq!(
        sessions
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["title"].as_str().unwrap().starts_with("DatabaseDown"))
            .count(),
        1
    );
}

#[test]
fn the_webhook_takes_only_what_alertmanager_sends_and_the_token() {
    let dir = alert_book();
    let app = app(dir.path());
    let hook = |body: &str| {
        call(
            &app,
            authed(crate::serve::post("/api/alerts"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_owned()))
                .unwrap(),
        )
    };
    let (status, _, body) = hook(
        r#"{"status":"firing","groupKey":"g","commonLabels":{"alertname":"X","severity":"warning","BASH_ENV":"/tmp/x","token":"s3cret","namespace":"prod"},"alerts":[{"labels":{"alertname":"X"}}]}"#,
    );
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = serde_json::from_str::<Value>(&body).unwrap()["session_id"].as_str().unwrap().to_owned();
    let (status, _, body) = hook(r#"{"status":"firing","groupKey":"g","alerts":[{"labels":{"alertname":"X"}}]}"#);
    assert_eq!(status, StatusCode::OK, "the same group joins its session: {body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["session_id"], id.as_str());
    let (status, _, _) = hook(r#"{"status":"resolved","groupKey":"other","alerts":[{"labels":{"alertname":"Y"}}]}"#);
    assert_eq!(status, StatusCode::OK, "a resolved group no session holds records nothing");
    assert_eq!(hook(r#"{"status":"pending","alerts":[]}"#).0, StatusCode::BAD_REQUEST);
    assert_eq!(hook(r#"{"status":"firing","alerts":[{"labels":{}}]}"#).0, StatusCode::BAD_REQUEST);
    assert_eq!(hook("not json").0, StatusCode::BAD_REQUEST);
    // Without the token: 401.
    let anonymous = crate::serve::post("/api/alerts").header(header::CONTENT_TYPE, "application/json");
    assert_eq!(call(&app, anonymous.body(Body::from("{}")).unwrap()).0, StatusCode::UNAUTHORIZED);
    // Two groups whose keys differ only past their first hundreds of characters are two.
    let long = "x".repeat(600);
    let key_a = format!(r#"{{"status":"firing","groupKey":"{long}a","alerts":[{{"labels":{{"alertname":"L"}}}}]}}"#);
    let key_b = format!(r#"{{"status":"firing","groupKey":"{long}b","alerts":[{{"labels":{{"alertname":"L"}}}}]}}"#);
    assert_eq!(hook(&key_a).0, StatusCode::CREATED);
    assert_eq!(hook(&key_b).0, StatusCode::CREATED, "another group, another session");
    // A later notification does not replace a value the session has; secrets are masked.
    let (_, _, body) = hook(
        r#"{"status":"firing","groupKey":"g","commonLabels":{"alertname":"X","namespace":"staging","url":"postgres://app:S3cretPw@db/x"},"commonAnnotations":{"summary":"see postgres://app:S3cretPw@db/x"},"alerts":[{"labels":{"alertname":"X"}}]}"#,
    );
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["session_id"], id.as_str());
    let (_, _, export) =
        call(&app, authed(get(&format!("/api/sessions/{id}/export?format=md"))).body(Body::empty()).unwrap());
    assert!(!export.contains("S3cretPw"), "{export}");
    // Labels a shell acts on, or secret-named ones, are no session values.
    let (_, _, state) = call(&app, authed(get(&format!("/api/sessions/{id}"))).body(Body::empty()).unwrap());
    let state: Value = serde_json::from_str(&state).unwrap();
    assert_eq!(state["session"]["severity"], "SEV3");
    assert!(state["inputs"].get("token").is_none() && state["inputs"].get("BASH_ENV").is_none(), "{}", state["inputs"]);
    assert_eq!(state["inputs"]["namespace"], "prod", "the first value stays: {}", state["inputs"]);
}

#[test]
fn a_token_file_keeps_the_consoles_token_across_restarts() {
    use std::io::BufRead;
    let dir = alert_book();
    let token_file = dir.path().join("token");
    let start = || {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_opsbook"))
            .args(["serve", "--port", "0", "--token-file", token_file.to_str().unwrap()])
            .current_dir(dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let _ = child.kill();
        let _ = child.wait();
        line.trim().split("token=").nth(1).unwrap_or_default().to_owned()
    };
    let first = start();
    assert_eq!(first.len(), 32);
    assert_eq!(std::fs::read_to_string(&token_file).unwrap().trim(), first);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(start(), first, "the same token after a restart");
    std::fs::write(&token_file, "short\n").unwrap();
    let refused = opsbook(&["serve", "--port", "0", "--token-file", "token"], dir.path());
    assert_eq!(refused.status.code(), Some(2));
    assert!(text(&refused.stderr).contains("at least 32"), "{}", text(&refused.stderr));
}

/// A receiver of webhook POSTs on 127.0.0.1:`port`: each body it is sent, answered 200.
fn receiver(port: u16) -> (std::sync::mpsc::Receiver<String>, std::thread::JoinHandle<()>) {
    use std::io::{BufRead, Read, Write};
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        listener.set_nonblocking(false).unwrap();
        for stream in listener.incoming().take(20) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
            if tx.send(String::from_utf8_lossy(&body).into_owned()).is_err() {
                break;
            }
        }
    });
    (rx, handle)
}

#[test]
fn notifications_reach_a_webhook_that_was_down_and_came_back() {
    let dir = alert_book();
    let port = free_port();
    let toml = std::fs::read_to_string(dir.path().join("book.toml")).unwrap();
    std::fs::write(
        dir.path().join("book.toml"),
        format!(
            "{toml}[[opsbook.notify]]\nurl = \"http://127.0.0.1:{port}/slack/T0/B0/secret\"\nformat = \"slack\"\n\n\
             [[opsbook.notify]]\nurl = \"http://127.0.0.1:{port}/json\"\nformat = \"json\"\nevents = [\"closed\"]\n"
        ),
    )
    .unwrap();
    // The receiver is down: the CLI records the session at once and keeps the notices on disk.
    let started = std::time::Instant::now();
    let new = opsbook(&["session", "new", "Checkout is down", "--severity", "SEV2"], dir.path());
    assert_eq!(new.status.code(), Some(0), "{}", text(&new.stderr));
    let id = text(&new.stdout).trim().to_owned();
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let stderr = text(&new.stderr);
    assert!(!stderr.contains("secret"), "the webhook's path is its secret: {stderr}");
    let queued = rusqlite_count(&dir.path().join(".opsbook/notify.db"));
    assert_eq!(queued, 1, "the `opened` notice waits on disk");
    // The receiver is back: the next opsbook process delivers what waited (once its backoff
    // is over), then its own.
    let (bodies, _handle) = receiver(port);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let closed = opsbook(&["session", "close", &id], dir.path());
    assert_eq!(closed.status.code(), Some(0), "{}", text(&closed.stderr));
    let mut got: Vec<String> = Vec::new();
    while let Ok(body) = bodies.recv_timeout(std::time::Duration::from_secs(10)) {
        got.push(body);
        if got.len() == 3 {
            break;
        }
    }
    assert_eq!(got.len(), 3, "{got:#?}");
    let slack: Vec<Value> = got.iter().map(|b| serde_json::from_str(b).unwrap()).collect();
    let texts: Vec<&str> = slack.iter().filter_map(|v| v["text"].as_str()).collect();
    assert!(
        texts.iter().any(|t| t.starts_with("[SEV2] Checkout is down — Incident opened: Checkout is down (SEV2) (")),
        "{texts:#?}"
    );
    assert!(
        texts.iter().any(|t| t.starts_with("[SEV2] Checkout is down — Incident closed: Checkout is down (")),
        "{texts:#?}"
    );
    let json = slack.iter().find(|v| v["version"] == 1).expect("the json target got the close");
    assert_eq!(json["notification"]["event"], "closed");
    assert_eq!(json["notification"]["session_id"], id.as_str());
    assert_eq!(rusqlite_count(&dir.path().join(".opsbook/notify.db")), 0);
}

fn rusqlite_count(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT count(*) FROM notifications", [], |r| r.get(0)).unwrap()
}

#[test]
fn freshness_from_ci_and_from_incidents_on_cards_and_in_check() {
    let dir = fixture_book(
        "a.md",
        "# A\n\n## Checked\n\n```console {test}\n$ echo ok\nok\n```\n\n## Drilled\n\n```bash\necho drilled\n```\n\n## Forgotten\n\n```bash\necho never\n```\n",
    );
    std::fs::write(
        dir.path().join("book.toml"),
        "[book]\nsrc = \"runbooks\"\n[opsbook]\nfreshness = \"freshness.json\"\n",
    )
    .unwrap();
    let tested = opsbook(&["test", "--record", "freshness.json"], dir.path());
    assert_eq!(tested.status.code(), Some(0), "{}{}", text(&tested.stdout), text(&tested.stderr));
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("freshness.json")).unwrap()).unwrap();
    assert!(record["steps"]["a.md#checked"]["passed"]["at"].as_i64().unwrap() > 0, "{record}");
    // A drill: the step ran with success in an incident.
    let ran = std::process::Command::new(env!("CARGO_BIN_EXE_opsbook"))
        .args(["run", "runbooks/a.md", "drilled", "-y"])
        .current_dir(dir.path())
        .env("OPSBOOK_RESPONDER", "dana")
        .output()
        .unwrap();
    assert_eq!(ran.status.code(), Some(0), "{}", text(&ran.stderr));
    // The site: each card says what CI last said.
    let built = opsbook(&["build", "--dest-dir", "site"], dir.path());
    assert_eq!(built.status.code(), Some(0), "{}", text(&built.stderr));
    let page = std::fs::read_to_string(dir.path().join("site/a.html")).unwrap();
    assert!(page.contains("<p class=\"freshness verified\">verified in CI <time datetime=\""), "{page}");
    assert!(page.contains("<p class=\"freshness never\">never verified in CI</p>"));
    // check --stale: only the step neither verified nor run.
    let (_, found) = check_json(dir.path(), &["--stale", "90d"]);
    let stale: Vec<&str> =
        found.iter().filter(|d| d["rule"] == "stale-step").map(|d| d["message"].as_str().unwrap()).collect();
    assert_eq!(stale, ["step `forgotten` is stale: never verified in CI nor run with success in an incident"]);
    // The console: each step's last run in an incident.
    let app = app(dir.path());
    let (status, _, body) = call(&app, authed(get("/api/runbooks/a.html")).body(Body::empty()).unwrap());
    assert_eq!(status, StatusCode::OK, "{body}");
    let listing: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(listing["last_runs"]["drilled"]["result"], "exit 0", "{listing}");
    assert!(listing["last_runs"]["drilled"]["by"].as_str().unwrap().starts_with("dana@"));
    assert!(listing["last_runs"].get("forgotten").is_none());
}
