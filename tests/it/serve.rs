//! The console server: every API rule through axum's `oneshot`, then a real server on loopback
//! (SSE, resume, cancel, export, shutdown) and a bounded load test.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use opsbook::server::{App, AppOptions, router};
use opsbook::session::SqliteStore;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::common::text;

pub const BOOK: &str = r#"# Serve test

## Count

```bash {name=count}
for i in 1 2 3 4 5; do echo "line $i"; sleep 0.2; done
```

## Slow

```bash {name=slow}
echo started
sleep 30
```

## Restart

```bash {name=restart}
kubectl rollout restart deployment/payments
```

## Greet

```bash {name=greet}
echo "hello <who>"
```

## Big

```bash {name=big}
head -c 750000 /dev/urandom | base64 -w 100 | tee "out-<n>.txt"
```
"#;

pub(crate) const TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// A book folder with `book.toml` and `runbooks/serve.md`.
pub fn book() -> tempfile::TempDir {
    crate::common::fixture_book("serve.md", BOOK)
}

pub(crate) fn app(dir: &Path) -> Arc<App> {
    let book = opsbook::load::load_book(dir).unwrap();
    let store = Arc::new(SqliteStore::for_book(dir).unwrap());
    let options =
        AppOptions { token: Some(TOKEN.to_owned()), allow_remote: false, site_dir: None, cwd: dir.to_path_buf() };
    let (app, shutdown) = App::new(book, store, options).unwrap();
    std::mem::forget(shutdown);
    app
}

/// Sends one request through the router; returns the status, headers and body text.
pub(crate) fn call(app: &Arc<App>, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let response = router(app.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    })
}

pub(crate) fn get(path: &str) -> axum::http::request::Builder {
    Request::get(path).header(header::HOST, "127.0.0.1:3000")
}

pub(crate) fn post(path: &str) -> axum::http::request::Builder {
    Request::post(path).header(header::HOST, "127.0.0.1:3000").header(header::CONTENT_TYPE, "application/json")
}

pub(crate) fn authed(builder: axum::http::request::Builder) -> axum::http::request::Builder {
    builder.header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
}

pub(crate) fn new_session(app: &Arc<App>) -> String {
    let (status, _, body) = call(app, authed(post("/api/sessions")).body(Body::from(r#"{"title":"t"}"#)).unwrap());
    assert_eq!(status, StatusCode::CREATED, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["id"].as_str().unwrap().to_owned()
}

#[test]
fn every_api_rule_through_oneshot() {
    let dir = book();
    let app = app(dir.path());
    // The served site sits in the private `.opsbook/`.
    let mode = |rel: &str| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(dir.path().join(rel)).unwrap().permissions().mode() & 0o777
    };
    assert_eq!([mode(".opsbook"), mode(".opsbook/site"), mode(".opsbook/site/assets")], [0o700; 3]);
    assert_eq!([mode(".opsbook/site/serve.html"), mode(".opsbook/opsbook.db")], [0o600; 2]);

    // No token: 401, for pages and the API alike.
    let (status, _, body) = call(&app, get("/api/sessions").body(Body::empty()).unwrap());
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("needs its token"), "{body}");
    assert_eq!(call(&app, get("/serve.html").body(Body::empty()).unwrap()).0, StatusCode::UNAUTHORIZED);
    // A wrong token: 401. The right one becomes an HttpOnly, SameSite=Strict cookie.
    assert_eq!(call(&app, get("/?token=nope").body(Body::empty()).unwrap()).0, StatusCode::UNAUTHORIZED);
    let (status, headers, _) =
        call(&app, get(&format!("/serve.html?session=x&token={TOKEN}")).body(Body::empty()).unwrap());
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/serve.html?session=x");
    let cookie = headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert_eq!(cookie, format!("opsbook_token_3000={TOKEN}; HttpOnly; SameSite=Strict; Path=/"));
    let with_cookie =
        |builder: axum::http::request::Builder| builder.header(header::COOKIE, format!("opsbook_token_3000={TOKEN}"));
    // Another console's cookie (another port of the same host) is not this one's.
    let other_port = get("/serve.html").header(header::COOKIE, format!("opsbook_token_3001={TOKEN}"));
    assert_eq!(call(&app, other_port.body(Body::empty()).unwrap()).0, StatusCode::UNAUTHORIZED);

    // Pages come with the console; static pages of `opsbook build` never have it.
    let (status, headers, page) = call(&app, with_cookie(get("/serve.html")).body(Body::empty()).unwrap());
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(page.contains("<script src=\"/__opsbook/console.js\" defer></script>\n</head>"), "{page}");
    assert!(page.contains("data-step=\"count\""));
    let (status, _, script) = call(&app, with_cookie(get("/__opsbook/console.js")).body(Body::empty()).unwrap());
    assert_eq!(status, StatusCode::OK);
    assert!(script.contains("EventSource"));

    // A foreign Host (DNS rebinding) is refused even with the token.
    let (status, _, body) = call(
        &app,
        authed(Request::get("/api/sessions").header(header::HOST, "attacker.example:3000"))
            .body(Body::empty())
            .unwrap(),
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("not a loopback name"), "{body}");

    // State-changing requests with the cookie need a matching Origin.
    let create = |origin: Option<&str>| {
        let mut builder = with_cookie(post("/api/sessions"));
        if let Some(origin) = origin {
            builder = builder.header(header::ORIGIN, origin);
        }
        call(&app, builder.body(Body::from(r#"{"title":"from a page"}"#)).unwrap())
    };
    let (status, _, body) = create(Some("http://attacker.example"));
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("origin `http://attacker.example` may not change anything"), "{body}");
    assert_eq!(create(None).0, StatusCode::FORBIDDEN);
    assert_eq!(create(Some("http://127.0.0.1:3000")).0, StatusCode::CREATED);

    let id = new_session(&app);
    let run = |body: Value| {
        call(&app, authed(post(&format!("/api/sessions/{id}/runs"))).body(Body::from(body.to_string())).unwrap())
    };
    // Unknown runbook, step, command, session: 404 with a message.
    let (status, _, body) = run(json!({"runbook": "nope.md", "step": "count"}));
    assert_eq!((status, body.as_str()), (StatusCode::NOT_FOUND, r#"{"error":"no runbook `nope.md` in this book"}"#));
    let (status, _, body) = run(json!({"runbook": "serve.md", "step": "nope"}));
    assert_eq!((status, body.as_str()), (StatusCode::NOT_FOUND, r#"{"error":"no step `nope` in `serve.md`"}"#));
    assert_eq!(run(json!({"runbook": "serve", "step": "count", "command": 3})).0, StatusCode::NOT_FOUND);
    let (status, _, _) = call(
        &app,
        authed(post("/api/sessions/20990101-nothere/runs"))
            .body(Body::from(r#"{"runbook":"serve.md","step":"count"}"#))
            .unwrap(),
    );
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = call(&app, authed(get("/api/sessions/20990101-nothere/live")).body(Body::empty()).unwrap());
    assert_eq!(status, StatusCode::NOT_FOUND, "no live stream of a session that does not exist");
    // The browser sends names, never shell text: unknown fields are refused.
    let (status, _, body) = run(json!({"runbook": "serve.md", "step": "count", "script": "rm -rf /"}));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("unknown field `script`"), "{body}");
    assert_eq!(run(json!("not an object")).0, StatusCode::BAD_REQUEST);
    // A mutating step without confirm: 428, with the exact commands it would run.
    let (status, _, body) = run(json!({"runbook": "serve.md", "step": "restart"}));
    assert_eq!(status, StatusCode::PRECONDITION_REQUIRED, "{body}");
    let refused: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(refused["commands"], "kubectl rollout restart deployment/payments\n");
    assert_eq!(refused["risk"], "mutating");
    // A missing input: 422 naming it.
    let (status, _, body) = run(json!({"runbook": "serve.md", "step": "greet"}));
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["missing"][0]["name"], "who");
    // Nothing above was recorded as a run.
    let (_, _, state) = call(&app, authed(get(&format!("/api/sessions/{id}"))).body(Body::empty()).unwrap());
    assert_eq!(serde_json::from_str::<Value>(&state).unwrap()["runs"], json!([]));
    // A run that starts: 202 with its id.
    let (status, _, body) = run(json!({"runbook": "serve.md", "step": "greet", "inputs": {"who": "$(id)"}}));
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert!(serde_json::from_str::<Value>(&body).unwrap()["run_id"].is_string());
    // Unknown runs.
    assert_eq!(
        call(&app, authed(get("/api/runs/nothere/events")).body(Body::empty()).unwrap()).0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&app, authed(post("/api/runs/nothere/cancel")).body(Body::empty()).unwrap()).0,
        StatusCode::NOT_FOUND
    );

    // Path traversal never reaches outside the site.
    std::fs::write(dir.path().join("secret.txt"), "outside").unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), app.site_dir().join("link.txt")).unwrap();
    // A linked folder out of the site, a folder whose index links out, a hidden file inside.
    std::fs::create_dir(dir.path().join("outside")).unwrap();
    std::fs::write(dir.path().join("outside/index.html"), "outside").unwrap();
    std::os::unix::fs::symlink(dir.path().join("outside"), app.site_dir().join("linked")).unwrap();
    std::fs::create_dir(app.site_dir().join("sub")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), app.site_dir().join("sub/index.html")).unwrap();
    std::fs::write(app.site_dir().join(".hidden.html"), "outside").unwrap();
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/a/../../secret.txt",
        "/link.txt",
        "/%00",
        "/linked/",
        "/linked/index.html",
        "/sub/",
        "/sub",
        "/.hidden.html",
    ] {
        let (status, _, body) = call(&app, authed(get(path)).body(Body::empty()).unwrap());
        assert!(matches!(status, StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND), "{path}: {status}");
        assert!(!body.contains("outside"), "{path} leaked the file");
    }
    // Request bodies are bounded.
    let huge = format!(r#"{{"title":"{}"}}"#, "x".repeat(opsbook::server::BODY_LIMIT + 1));
    assert_eq!(
        call(&app, authed(post("/api/sessions")).body(Body::from(huge)).unwrap()).0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
}

/// `opsbook serve` on a free loopback port; the URL it printed; killed on drop.
#[derive(Debug)]
pub struct Server {
    pub child: Child,
    pub url: String,
    pub base: String,
    pub token: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn start(root: &Path) -> Server {
        Server::start_with(root, &[])
    }

    /// A server with these environment variables (`OPSBOOK_STORE`, `OPSBOOK_RESPONDER`).
    pub fn start_with(root: &Path, env: &[(&str, &str)]) -> Server {
        Server::spawn(root, env, &[], Stdio::null())
    }

    /// A server started with `-v`, its log written to `log`.
    pub fn start_logged(root: &Path, log: &Path) -> Server {
        Server::spawn(root, &[], &["-v"], std::fs::File::create(log).unwrap().into())
    }

    fn spawn(root: &Path, env: &[(&str, &str)], args: &[&str], stderr: Stdio) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_opsbook"))
            .args(["serve", "--port", "0"])
            .args(args)
            .current_dir(root)
            .envs(env.iter().copied())
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line.trim().to_owned();
        assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");
        let base = url.split("/?").next().unwrap().to_owned();
        let token = url.split("token=").nth(1).unwrap().to_owned();
        Server { child, url, base, token }
    }

    pub fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = ureq::post(&format!("{}{path}", self.base))
            .header("Authorization", &format!("Bearer {}", self.token))
            .config()
            .http_status_as_error(false)
            .build()
            .send_json(&body)
            .unwrap();
        let status = response.status().as_u16();
        let mut response = response;
        let value = response.body_mut().read_json().unwrap_or(Value::Null);
        (status, value)
    }

    pub fn get_json(&self, path: &str) -> Value {
        serde_json::from_str(&self.get_text(path)).unwrap()
    }

    pub fn get_text(&self, path: &str) -> String {
        let mut response = ureq::get(&format!("{}{path}", self.base))
            .header("Authorization", &format!("Bearer {}", self.token))
            .call()
            .unwrap();
        response.body_mut().with_config().limit(64 * 1024 * 1024).read_to_string().unwrap()
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.base.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap()
    }

    /// A GET with the token: status, headers (lower-case names) and body, whatever the status.
    pub fn get_raw(&self, path: &str) -> (u16, std::collections::HashMap<String, String>, String) {
        let mut response = ureq::get(&format!("{}{path}", self.base))
            .header("Authorization", &format!("Bearer {}", self.token))
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .unwrap();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str().to_ascii_lowercase(), value.to_str().unwrap_or("").to_owned()))
            .collect();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        (response.status().as_u16(), headers, body)
    }

    /// Reads a run's SSE stream until its `exit` event: the `(id, event, data)` of each.
    pub fn events(
        &self,
        run_id: &str,
        last_event_id: Option<u64>,
        stop_after: Option<usize>,
    ) -> Vec<(Option<u64>, String, Value)> {
        let mut request = ureq::get(&format!("{}/api/runs/{run_id}/events", self.base))
            .header("Authorization", &format!("Bearer {}", self.token));
        if let Some(last) = last_event_id {
            request = request.header("Last-Event-ID", &last.to_string());
        }
        let response = request.call().unwrap();
        let reader = BufReader::new(response.into_body().into_reader());
        let (mut events, mut id, mut name) = (Vec::new(), None, String::new());
        for line in reader.lines() {
            let line = line.unwrap();
            if let Some(value) = line.strip_prefix("id: ") {
                id = value.parse().ok();
            } else if let Some(value) = line.strip_prefix("event: ") {
                name = value.to_owned();
            } else if let Some(value) = line.strip_prefix("data: ") {
                let data: Value = serde_json::from_str(value).unwrap();
                let done = name == "exit";
                events.push((id.take(), std::mem::take(&mut name), data));
                if done || stop_after.is_some_and(|n| events.len() >= n) {
                    break;
                }
            }
        }
        events
    }
}

pub(crate) fn outputs(events: &[(Option<u64>, String, Value)]) -> String {
    events.iter().filter(|(_, name, _)| name == "output").map(|(_, _, d)| d["text"].as_str().unwrap()).collect()
}

#[test]
fn a_real_server_streams_resumes_cancels_exports_and_stops_cleanly() {
    let dir = book();
    let server = Server::start(dir.path());
    let (status, created) = server.post("/api/sessions", json!({"title": "Real server", "severity": "SEV2"}));
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();

    // A run streamed over SSE, chunk by chunk, then its exit.
    let (status, started) =
        server.post(&format!("/api/sessions/{id}/runs"), json!({"runbook": "serve.md", "step": "count"}));
    assert_eq!(status, 202, "{started}");
    let run_id = started["run_id"].as_str().unwrap().to_owned();
    let first_two = server.events(&run_id, None, Some(2));
    assert_eq!(outputs(&first_two), "line 1\nline 2\n");
    // Resume after the second chunk: the rest, without repeats, then the exit.
    let rest = server.events(&run_id, first_two[1].0, None);
    assert_eq!(outputs(&rest), "line 3\nline 4\nline 5\n");
    let (_, name, exit) = rest.last().unwrap();
    assert_eq!(name, "exit");
    assert_eq!((exit["end"].as_str(), exit["code"].as_i64()), (Some("exited"), Some(0)));
    // A full replay after the end.
    assert_eq!(outputs(&server.events(&run_id, None, None)), "line 1\nline 2\nline 3\nline 4\nline 5\n");

    // Cancel a long-running step.
    let (_, slow) = server.post(&format!("/api/sessions/{id}/runs"), json!({"runbook": "serve.md", "step": "slow"}));
    let slow_id = slow["run_id"].as_str().unwrap().to_owned();
    let began = server.events(&slow_id, None, Some(1));
    assert_eq!(outputs(&began), "started\n");
    let (status, _) = server.post(&format!("/api/runs/{slow_id}/cancel"), json!({}));
    assert_eq!(status, 202);
    let ended = server.events(&slow_id, Some(1), None);
    assert_eq!(ended.last().unwrap().2["end"], "cancelled");
    assert_eq!(server.post(&format!("/api/runs/{slow_id}/cancel"), json!({})).0, 409);

    // Notes, status, the export over HTTP with every run in it.
    assert_eq!(
        server.post(&format!("/api/sessions/{id}/notes"), json!({"text": "pool exhausted", "kind": "root-cause"})).0,
        201
    );
    let markdown = server.get_text(&format!("/api/sessions/{id}/export?format=md"));
    assert!(markdown.contains("## Root Cause\npool exhausted"), "{markdown}");
    assert!(markdown.contains("Ran step `count` (Count) of serve.md"), "{markdown}");
    assert!(
        markdown.contains("Ran step `slow` (Slow) of serve.md: `echo started ; sleep 30` (cancelled"),
        "{markdown}"
    );
    let exported: Value =
        serde_json::from_str(&server.get_text(&format!("/api/sessions/{id}/export?format=json"))).unwrap();
    let runs: Vec<&str> = exported["runs"].as_array().unwrap().iter().map(|r| r["run_id"].as_str().unwrap()).collect();
    assert_eq!(runs, [run_id.as_str(), slow_id.as_str()]);
    assert!(server.get_text(&format!("/api/sessions/{id}/export?format=html")).contains("<h2>Timeline</h2>"));

    // SIGTERM mid-run: the running step is cancelled and recorded as such, then the server exits.
    let (_, last) = server.post(&format!("/api/sessions/{id}/runs"), json!({"runbook": "serve.md", "step": "slow"}));
    let last_id = last["run_id"].as_str().unwrap().to_owned();
    server.events(&last_id, None, Some(1));
    let mut server = server;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(server.child.id() as i32), nix::sys::signal::Signal::SIGTERM)
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    let show = crate::common::opsbook(&["session", "show", &id, "--json"], dir.path());
    let json: Value = serde_json::from_slice(&show.stdout).unwrap();
    let results: Vec<&str> = json["runs"].as_array().unwrap().iter().map(|r| r["result"].as_str().unwrap()).collect();
    assert_eq!(results, ["exit 0", "cancelled", "cancelled"], "{}", text(&show.stderr));
}

/// Peak resident set of a process, in MiB (Linux `VmHWM`).
fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

#[test]
fn fifty_concurrent_runs_of_a_megabyte_each_deliver_every_byte() {
    const RUNS: usize = 50;
    let dir = book();
    let server = Arc::new(Server::start(dir.path()));
    let (_, created) = server.post("/api/sessions", json!({"title": "Load"}));
    let id = created["id"].as_str().unwrap().to_owned();
    let began = Instant::now();
    let handles: Vec<_> = (0..RUNS)
        .map(|n| {
            let server = server.clone();
            let id = id.clone();
            std::thread::spawn(move || {
                let body =
                    json!({"runbook": "serve.md", "step": "big", "inputs": {"n": n.to_string()}, "confirm": true});
                let (status, started) = server.post(&format!("/api/sessions/{id}/runs"), body);
                assert_eq!(status, 202, "{started}");
                let run_id = started["run_id"].as_str().unwrap().to_owned();
                let events = server.events(&run_id, None, None);
                assert_eq!(events.last().unwrap().2["code"], 0);
                (n, outputs(&events))
            })
        })
        .collect();
    for handle in handles {
        let (n, received) = handle.join().unwrap();
        let printed = std::fs::read_to_string(dir.path().join(format!("out-{n}.txt"))).unwrap();
        assert!(printed.len() > 1_000_000, "{}", printed.len());
        assert!(received == printed, "run {n}: {} bytes received, {} printed", received.len(), printed.len());
    }
    eprintln!(
        "load: {RUNS} runs x {:.1} MB in {:.1} s; server peak RSS {:.0} MiB",
        1.01,
        began.elapsed().as_secs_f64(),
        peak_rss_mib(server.child.id())
    );
}

#[test]
fn a_non_loopback_bind_is_refused_without_allow_remote() {
    let dir = book();
    let out = crate::common::opsbook(&["serve", "--bind", "0.0.0.0", "--port", "0"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("refusing to listen on 0.0.0.0"), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--allow-remote"));
    assert!(!dir.path().join(".opsbook/site").exists(), "refused before any work");
}

#[test]
fn a_changed_timeout_in_book_toml_applies_to_the_next_run() {
    let dir = book();
    let server = Server::start(dir.path());
    let (_, created) = server.post("/api/sessions", json!({"title": "Reload"}));
    let id = created["id"].as_str().unwrap().to_owned();
    let reloads = ureq::get(&format!("{}/api/reload", server.base))
        .header("Authorization", &format!("Bearer {}", server.token))
        .call()
        .unwrap();
    let config = std::fs::read_to_string(dir.path().join("book.toml")).unwrap();
    std::fs::write(dir.path().join("book.toml"), format!("{config}\n[opsbook]\ntimeout = \"1s\"\n")).unwrap();
    let reloaded = BufReader::new(reloads.into_body().into_reader())
        .lines()
        .map_while(Result::ok)
        .any(|line| line.starts_with("data: "));
    assert!(reloaded);

    let (status, started) =
        server.post(&format!("/api/sessions/{id}/runs"), json!({"runbook": "serve.md", "step": "slow"}));
    assert_eq!(status, 202, "{started}");
    let events = server.events(started["run_id"].as_str().unwrap(), None, None);
    let (_, name, exit) = events.last().unwrap();
    assert_eq!(name, "exit");
    assert_eq!(exit["end"], "timed-out", "{exit}");
    assert!(exit["duration_ms"].as_u64().unwrap() < 10_000, "{exit}");
}

#[test]
fn the_server_logs_requests_without_the_token_and_runs_from_start_to_end() {
    let dir = book();
    let log = dir.path().join("serve.log");
    let server = Server::start_logged(dir.path(), &log);
    let first = ureq::get(&server.url).config().max_redirects(0).build().call().unwrap();
    assert_eq!(first.status().as_u16(), 303);
    let (_, created) = server.post("/api/sessions", json!({"title": "Logged"}));
    let id = created["id"].as_str().unwrap().to_owned();
    let (_, started) =
        server.post(&format!("/api/sessions/{id}/runs"), json!({"runbook": "serve.md", "step": "count"}));
    let run_id = started["run_id"].as_str().unwrap().to_owned();
    server.events(&run_id, None, None);
    let unknown = ureq::get(&format!("{}/api/sessions/nope", server.base))
        .header("Authorization", &format!("Bearer {}", server.token))
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
    // The run's end is logged once it is recorded, a moment after its exit event.
    let deadline = Instant::now() + Duration::from_secs(10);
    let logged = loop {
        let logged = std::fs::read_to_string(&log).unwrap();
        if logged.contains(&format!("run {run_id} ended")) || Instant::now() > deadline {
            break logged;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!logged.contains(&server.token), "{logged}");
    let line =
        |needle: &str| logged.lines().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle}: {logged}"));
    assert!(line("GET /?token=*** 303 ").ends_with(" ms"), "{logged}");
    line("POST /api/sessions 201 ");
    line(&format!("POST /api/sessions/{id}/runs 202 "));
    line("GET /api/sessions/nope 404 ");
    line(&format!("run {run_id} started: step `count` of serve.md in session {id}"));
    line(&format!("run {run_id} ended: exit 0"));
}

#[test]
fn the_first_run_with_no_session_opens_one_named_for_its_runbook() {
    const DB: &str = "---\nseverity: sev2\n---\n\n# Database down\n\n## Check\n\n```bash {name=check}\necho \"checking <pod>\"\n```\n\n## Restart\n\n```bash {name=restart}\nkubectl rollout restart deployment/db\n```\n";
    let dir = crate::common::fixture_book("db.md", DB);
    let server = Server::start(dir.path());
    let sessions = || server.get_json("/api/sessions").as_array().unwrap().len();

    // Refused runs open nothing: an input missing, a step that needs confirmation.
    let (status, plan) = server.post("/api/plan", json!({"runbook": "db.md", "step": "check"}));
    assert_eq!((status, plan["missing"][0]["name"].as_str()), (200, Some("pod")), "{plan}");
    let (status, refused) = server.post("/api/runs", json!({"runbook": "db.md", "step": "check"}));
    assert_eq!(status, 422, "{refused}");
    let (status, refused) = server.post("/api/runs", json!({"runbook": "db.md", "step": "restart"}));
    assert_eq!(status, 428, "{refused}");
    assert_eq!(sessions(), 0);

    // One request: the session opens and the run starts in it.
    let body = json!({"runbook": "db.md", "step": "check", "inputs": {"pod": "api-7f9"}});
    let (status, plan) = server.post("/api/plan", body.clone());
    assert_eq!((status, plan["commands"].as_str()), (200, Some("echo \"checking api-7f9\"\n")), "{plan}");
    let (status, started) = server.post("/api/runs", body);
    assert_eq!(status, 202, "{started}");
    let session = started["session_id"].as_str().unwrap().to_owned();
    let events = server.events(started["run_id"].as_str().unwrap(), None, None);
    assert_eq!(outputs(&events), "checking api-7f9\n");
    let shown = server.get_json(&format!("/api/sessions/{session}"));
    assert_eq!(shown["session"]["title"], "Database down", "{shown}");
    assert_eq!(shown["session"]["severity"], "SEV2", "the front matter's level, as the book spells it");
    let timeline: Vec<&str> =
        shown["timeline"].as_array().unwrap().iter().map(|e| e["description"].as_str().unwrap()).collect();
    assert!(timeline.iter().any(|d| d.contains("Opened by running step `check` (Check) of db.md")), "{timeline:?}");
    assert_eq!(sessions(), 1);
    // Where the incident stands in the runbook, step by step.
    let progress = &shown["progress"]["db.md"];
    assert_eq!((progress[0]["step"].as_str(), progress[0]["state"].as_str()), (Some("check"), Some("ok")), "{shown}");
    assert_eq!(progress[0]["result"], "exit 0");
    assert!(progress[0]["by"].as_str().unwrap().contains('@'));
    assert_eq!((progress[1]["step"].as_str(), progress[1]["state"].as_str()), (Some("restart"), Some("not-run")));
    // A later run names its session: no second one.
    let (status, again) = server.post(
        &format!("/api/sessions/{session}/runs"),
        json!({"runbook": "db.md", "step": "check", "inputs": {"pod": "x"}}),
    );
    assert_eq!((status, again.get("session_id")), (202, None), "{again}");
    assert_eq!(sessions(), 1);
}

#[test]
fn a_steps_outputs_fill_the_consoles_forms_and_secret_ones_are_held_masked() {
    const DB: &str = "# Failover\n\n```bash {name=find}\necho \"primary=db-2\" >> \"$OPSBOOK_OUTPUT\"\necho \"db_token=C0ns0leS3cretOut\" >> \"$OPSBOOK_OUTPUT\"\n```\n\n```bash {name=use}\necho \"<primary> <db_token>\"\n```\n";
    let dir = crate::common::fixture_book("db.md", DB);
    let server = Server::start(dir.path());
    let (status, started) = server.post("/api/runs", json!({"runbook": "db.md", "step": "find"}));
    assert_eq!(status, 202, "{started}");
    let session = started["session_id"].as_str().unwrap().to_owned();
    let events = server.events(started["run_id"].as_str().unwrap(), None, None);
    assert!(
        outputs(&events).contains("[opsbook] outputs for later steps: db_token (held in memory, masked), primary=db-2"),
        "{}",
        outputs(&events)
    );
    let shown = server.get_json(&format!("/api/sessions/{session}"));
    assert_eq!(shown["inputs"], json!({"primary": "db-2"}), "{shown}");
    assert_eq!(shown["held"], json!(["db_token"]), "{shown}");
    assert!(!shown.to_string().contains("C0ns0leS3cretOut"), "{shown}");
    // The next step needs nothing typed: both values are the session's.
    let (status, plan) =
        server.post(&format!("/api/sessions/{session}/plan"), json!({"runbook": "db.md", "step": "use"}));
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["missing"], json!([]), "{plan}");
    assert_eq!(plan["commands"], "echo \"db-2 [redacted]\"\n", "{plan}");
    let (status, used) =
        server.post(&format!("/api/sessions/{session}/runs"), json!({"runbook": "db.md", "step": "use"}));
    assert_eq!(status, 202, "{used}");
    let events = server.events(used["run_id"].as_str().unwrap(), None, None);
    assert_eq!(outputs(&events), "db-2 [redacted]\n");
}
