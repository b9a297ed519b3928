//! Attacks on the console, as someone holding the token (or a page on its origin) would try
//! them: input names that pick environment variables, values in evaluated contexts, values
//! handed to a second interpreter, markup in everything that ends up in HTML, and requests that
//! hold the server's connections.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::serve::{Server, app, authed, call, get, new_session, outputs, post};

const HOSTILE_BOOK: &str = r#"---
title: "<img src=x onerror=alert('title')>"
---

# Hostile <b>page</b>

## Greet

```bash {name=greet}
echo "hello <who>"
```

## Count

```bash {name=count}
echo "$(( <n> + 1 ))"
```

## Inner shell

```bash {name=inner}
bash -c "grep -c <pattern> /dev/null || true"
```

## Markup

```bash {name=markup}
printf '\x3cscript>alert("output")\x3c/script>\x3cimg src=x onerror=alert(1)>\n'
```

## Export a limit

```bash {name=export-limit}
export LIMIT=<limit>
```

## Use the limit

```bash {name=use-limit}
if (( LIMIT > 3 )); then echo big; else echo small; fi
```

## Two inputs

```bash {name=two}
echo "first <a>"
echo "second <b>"
```
"#;

fn hostile_book() -> tempfile::TempDir {
    crate::common::fixture_book("hostile.md", HOSTILE_BOOK)
}

fn run_body(step: &str, inputs: Value) -> Body {
    Body::from(json!({"runbook": "hostile.md", "step": step, "inputs": inputs}).to_string())
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| panic!("JSON: {body}"))
}

#[test]
fn a_request_cannot_name_an_environment_variable_or_send_a_nul() {
    let dir = hostile_book();
    let app = app(dir.path());
    let session = new_session(&app);
    let runs = format!("/api/sessions/{session}/runs");
    let hostile = [
        ("env:BASH_ENV", "$(touch pwned-bash-env)"),
        ("env:BASH_FUNC_echo%%", "() { builtin echo HIJACKED; }"),
        ("BASH_ENV", "$(touch pwned-bash-env-2)"),
        ("other", "x"),
        ("who\0", "x"),
    ];
    for (name, value) in hostile {
        let (status, _, body) =
            call(&app, authed(post(&runs)).body(run_body("greet", json!({ name: value }))).unwrap());
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {body}");
        let error = json_of(&body)["error"].as_str().unwrap().to_owned();
        assert!(error.contains("is not an input of this step (its inputs: `who`)"), "{error}");
    }
    let (status, _, body) = call(&app, authed(post(&runs)).body(run_body("greet", json!({"who": "a\0b"}))).unwrap());
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(json_of(&body)["error"].as_str().unwrap().contains("NUL byte"), "{body}");

    // Nothing was remembered, and a real run afterwards runs the runbook's text and nothing else.
    let (_, _, state) = call(&app, authed(get(&format!("/api/sessions/{session}"))).body(Body::empty()).unwrap());
    assert_eq!(json_of(&state)["inputs"], json!({}), "{state}");
    let server = Server::start(dir.path());
    let session = server.post("/api/sessions", json!({"title": "t"})).1["id"].as_str().unwrap().to_owned();
    let (status, started) = server.post(
        &format!("/api/sessions/{session}/runs"),
        json!({"runbook": "hostile.md", "step": "greet", "inputs": {"env:BASH_ENV": "$(touch pwned)"}}),
    );
    assert_eq!(status, 422, "{started}");
    let (status, started) = server.post(
        &format!("/api/sessions/{session}/runs"),
        json!({"runbook": "hostile.md", "step": "greet", "inputs": {"who": "x"}}),
    );
    assert_eq!(status, 202, "{started}");
    let events = server.events(started["run_id"].as_str().unwrap(), None, None);
    assert_eq!(outputs(&events), "hello x\n");
    let made: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("pwned"))
        .collect();
    assert!(made.is_empty(), "{made:?}");
}

#[test]
fn one_command_runs_with_the_values_the_console_sends_for_its_whole_step() {
    let dir = hostile_book();
    let app = app(dir.path());
    let session = new_session(&app);
    let body = json!({"runbook": "hostile.md", "step": "two", "command": 1, "inputs": {"a": "x", "b": "y"}});
    let (status, _, answer) =
        call(&app, authed(post(&format!("/api/sessions/{session}/plan"))).body(Body::from(body.to_string())).unwrap());
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(json_of(&answer)["commands"], "echo \"second y\"\n");
}

#[test]
fn the_cli_takes_no_value_for_a_name_the_steps_do_not_declare() {
    let dir = hostile_book();
    for var in ["env:BASH_ENV=$(touch pwned)", "BASH_FUNC_echo%%=() { :; }", "nope=1"] {
        let out = crate::common::opsbook(
            &["run", "runbooks/hostile.md", "greet", "--var", "who=x", "--var", var, "--yes"],
            dir.path(),
        );
        assert_eq!(out.status.code(), Some(2), "{var}: {}", crate::common::text(&out.stderr));
        let name = var.split('=').next().unwrap();
        assert!(
            crate::common::text(&out.stderr)
                .contains(&format!("--var `{name}`: no selected step has such a placeholder")),
            "{}",
            crate::common::text(&out.stderr)
        );
    }
    let out = crate::common::opsbook(
        &["run", "runbooks/hostile.md", "count", "--var", "n=a[$(touch pwned)]", "--yes"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        crate::common::text(&out.stderr).contains("must be a plain integer"),
        "{}",
        crate::common::text(&out.stderr)
    );
    assert!(!dir.path().join("pwned").exists());
}

#[test]
fn an_arithmetic_value_is_an_integer_or_the_run_is_refused() {
    let dir = hostile_book();
    let app = app(dir.path());
    let session = new_session(&app);
    for value in ["a[$(touch pwned)]", "1+1", "x", "$(id)", " 1", "0x10"] {
        let (status, _, body) = call(
            &app,
            authed(post(&format!("/api/sessions/{session}/runs")))
                .body(run_body("count", json!({"n": value})))
                .unwrap(),
        );
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{value}: {body}");
        let error = json_of(&body)["error"].as_str().unwrap().to_owned();
        assert!(error.contains("the value of `n` must be a plain integer"), "{error}");
        if value.len() > 3 {
            assert!(!error.contains(value), "the refusal does not echo the value: {error}");
        }
    }
    assert!(!dir.path().join("pwned").exists());
    let (status, _, body) = call(
        &app,
        authed(post(&format!("/api/sessions/{session}/plan"))).body(run_body("count", json!({"n": "41"}))).unwrap(),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(json_of(&body)["commands"], "echo \"$(( 41 + 1 ))\"\n");
}

#[test]
fn a_value_for_a_second_interpreter_is_named_and_needs_confirmation() {
    let dir = hostile_book();
    let app = app(dir.path());
    let session = new_session(&app);
    let (status, _, body) = call(
        &app,
        authed(post(&format!("/api/sessions/{session}/plan")))
            .body(run_body("inner", json!({"pattern": "x"})))
            .unwrap(),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let plan = json_of(&body);
    assert_eq!(plan["needs_confirmation"], true);
    assert_eq!(
        plan["warnings"],
        json!([
            "the value of `pattern` (line 22) is handed to a second shell, which parses it again: opsbook quotes it for bash only"
        ])
    );
    let (status, _, body) = call(
        &app,
        authed(post(&format!("/api/sessions/{session}/runs")))
            .body(run_body("inner", json!({"pattern": "x"})))
            .unwrap(),
    );
    assert_eq!(status, StatusCode::PRECONDITION_REQUIRED, "{body}");
    assert!(json_of(&body)["error"].as_str().unwrap().contains("handed to a second shell"), "{body}");
}

/// The attribute names of a tag (`<a href="x" class=y>`), values skipped as HTML reads them.
fn attribute_names(tag: &str) -> Vec<String> {
    let bytes = tag.as_bytes();
    let mut names = Vec::new();
    let mut at = bytes.iter().position(|b| b.is_ascii_whitespace()).unwrap_or(bytes.len());
    while at < bytes.len() {
        while at < bytes.len() && (bytes[at].is_ascii_whitespace() || bytes[at] == b'/') {
            at += 1;
        }
        let start = at;
        while at < bytes.len() && !bytes[at].is_ascii_whitespace() && bytes[at] != b'=' && bytes[at] != b'/' {
            at += 1;
        }
        if at > start {
            names.push(tag[start..at].to_ascii_lowercase());
        }
        if bytes.get(at) == Some(&b'=') {
            at += 1;
            match bytes.get(at) {
                Some(quote @ (b'"' | b'\'')) => {
                    let quote = *quote;
                    at += 1;
                    while at < bytes.len() && bytes[at] != quote {
                        at += 1;
                    }
                    at += 1;
                }
                _ => {
                    while at < bytes.len() && !bytes[at].is_ascii_whitespace() {
                        at += 1;
                    }
                }
            }
        } else if at == start {
            at += 1;
        }
    }
    names
}

/// No markup from data survives into HTML: no tag carries an event handler, no `<img src=x`,
/// no inline script, no `javascript:` address.
fn assert_inert(html: &str, what: &str) {
    for (at, _) in html.match_indices('<') {
        let tag = &html[at..html[at..].find('>').map_or(html.len(), |end| at + end)];
        let lower = tag.to_ascii_lowercase();
        let handlers: Vec<String> = attribute_names(tag).into_iter().filter(|name| name.starts_with("on")).collect();
        assert!(handlers.is_empty(), "{what} has a tag with an event handler: {tag}");
        assert!(!lower.starts_with("<img src=x"), "{what} has a hostile image: {tag}");
        assert!(!lower.contains("javascript:"), "{what} has a script address: {tag}");
        if lower.starts_with("<script") {
            assert!(lower.starts_with("<script src="), "{what} has inline script: {tag}");
        }
    }
}

#[test]
fn markup_in_titles_notes_inputs_and_output_stays_text_in_every_html_output() {
    let dir = hostile_book();
    let server = Server::start(dir.path());
    let hostile = "<img src=x onerror=alert(document.domain)>";
    let (status, created) =
        server.post("/api/sessions", json!({"title": format!("{hostile} <script>alert('t')</script>")}));
    assert_eq!(status, 201, "{created}");
    let session = created["id"].as_str().unwrap().to_owned();
    for (kind, text) in [("note", hostile), ("impact", "[click](javascript:alert(1)) <svg onload=alert(1)>")] {
        let (status, body) =
            server.post(&format!("/api/sessions/{session}/notes"), json!({"text": text, "kind": kind}));
        assert_eq!(status, 201, "{body}");
    }
    for (step, inputs) in [("markup", json!({})), ("greet", json!({"who": hostile}))] {
        let (status, started) = server.post(
            &format!("/api/sessions/{session}/runs"),
            json!({"runbook": "hostile.md", "step": step, "inputs": inputs}),
        );
        assert_eq!(status, 202, "{started}");
        server.events(started["run_id"].as_str().unwrap(), None, None);
    }
    // A skip's reason is text too; an image in it is never fetched (a tracker when the
    // postmortem is opened).
    let (status, body) = server.post(
        &format!("/api/sessions/{session}/skips"),
        json!({"runbook": "hostile.md", "step": "two",
               "reason": "<svg onload=alert('skip')> ![i](https://evil.example/track.png)"}),
    );
    assert_eq!(status, 201, "{body}");
    let markdown = server.get_text(&format!("/api/sessions/{session}/export?format=md"));
    // Outside code (spans and fenced blocks, which Markdown shows as written), no `<` opens a
    // tag.
    let code_spans = regex::Regex::new("`[^`]*`").unwrap();
    let open_tag = regex::Regex::new(r"(?:^|[^\\])<(?:img|svg|script)").unwrap();
    let mut in_fence = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        assert!(in_fence || !open_tag.is_match(&code_spans.replace_all(line, "")), "raw HTML in: {line}");
    }
    let (status, headers, export) = server.get_raw(&format!("/api/sessions/{session}/export?format=html"));
    assert_eq!(status, 200);
    assert_eq!(headers.get("content-security-policy").map(String::as_str), Some(opsbook::server::EXPORT_POLICY));
    assert_inert(&export, "the HTML export");
    assert!(export.contains("&lt;img src=x onerror=alert(document.domain)&gt;"), "{export}");
    assert!(export.contains("&lt;svg onload=alert("), "{export}");
    assert!(!export.contains("<img"), "{export}");
    assert!(export.contains("[image https://evil.example/track.png: i]"), "{export}");
    assert!(export.contains("&lt;script&gt;alert(\"output\")&lt;/script&gt;"), "{export}");
    assert!(!export.contains("javascript:"), "{export}");
    for format in ["md", "json"] {
        let (_, headers, _) = server.get_raw(&format!("/api/sessions/{session}/export?format={format}"));
        assert_eq!(headers.get("content-security-policy").map(String::as_str), Some(opsbook::server::EXPORT_POLICY));
        assert_eq!(headers.get("x-content-type-options").map(String::as_str), Some("nosniff"));
    }
    for page in ["/hostile.html", "/index.html", "/print.html", "/404.html"] {
        let (status, headers, html) = server.get_raw(page);
        assert!(status == 200 || status == 404, "{page}: {status}");
        assert_eq!(
            headers.get("content-security-policy").map(String::as_str),
            Some(opsbook::server::PAGE_POLICY),
            "{page}"
        );
        // Inline styles are allowed (the browser terminal writes its own); inline script never.
        let script_src = opsbook::server::PAGE_POLICY.split(';').find(|d| d.trim().starts_with("script-src")).unwrap();
        let sources: Vec<&str> = script_src.split_whitespace().collect();
        assert!(!sources.contains(&"'unsafe-inline'") && !sources.contains(&"'unsafe-eval'"), "{script_src}");
        assert_inert(&html, page);
    }
    let (_, _, page) = server.get_raw("/hostile.html");
    assert!(
        page.contains("&lt;img src=x onerror=alert(&#x27;title&#x27;)&gt;")
            || page.contains("&lt;img src=x onerror=alert(&#39;title&#39;)&gt;"),
        "{page}"
    );
}

/// Sends raw bytes to the server; what it answers within `wait`.
fn raw_exchange(port: u16, request: &[u8], wait: Duration) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(wait)).unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn a_huge_declared_body_is_refused_at_once_and_slow_headers_are_cut_off() {
    let dir = hostile_book();
    let server = Server::start(dir.path());
    let request = format!(
        "POST /api/sessions HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n",
        server.port(),
        server.token
    );
    let started = Instant::now();
    let answer = raw_exchange(server.port(), request.as_bytes(), Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(4), "answered without waiting for the body");

    // Connections that trickle their headers are closed after the header timeout, and the
    // server keeps answering others meanwhile.
    let slow: Vec<TcpStream> = (0..40)
        .map(|_| {
            let mut stream = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
            stream.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").unwrap();
            stream
        })
        .collect();
    let page = server.get_raw("/index.html");
    assert_eq!(page.0, 200);
    // A body that never comes, with the token: answered 408 once the body's time is up.
    let mut stalled = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    let headers = format!(
        "POST /api/sessions HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{}}",
        server.port(),
        server.token
    );
    stalled.write_all(headers.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_secs(12));
    stalled.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut answer = [0u8; 512];
    let read = stalled.read(&mut answer).unwrap_or(0);
    let answer = String::from_utf8_lossy(&answer[..read]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("did not arrive within 10 s"), "{answer}");
    for mut stream in slow {
        stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut buf = [0u8; 256];
        let read = stream.read(&mut buf);
        let closed = match &read {
            Ok(0) => true,
            Ok(n) => String::from_utf8_lossy(&buf[..*n]).starts_with("HTTP/1.1 408"),
            Err(err) => err.kind() == std::io::ErrorKind::ConnectionReset,
        };
        assert!(closed, "a slow connection is still open: {read:?}");
    }
}

#[test]
fn an_exported_value_is_held_to_the_rule_of_where_a_later_step_evaluates_it() {
    let dir = hostile_book();
    let server = Server::start(dir.path());
    let session = server.post("/api/sessions", json!({"title": "t"})).1["id"].as_str().unwrap().to_owned();
    let runs = format!("/api/sessions/{session}/runs");
    let marker = dir.path().join("pwned-limit");
    let value = format!("a[$(touch {})]", marker.display());
    let (status, started) =
        server.post(&runs, json!({"runbook": "hostile.md", "step": "export-limit", "inputs": {"limit": value}}));
    assert_eq!(status, 202, "exporting is not evaluating: {started}");
    recorded(&server, &session, started["run_id"].as_str().unwrap());
    let (status, refused) = server.post(&runs, json!({"runbook": "hostile.md", "step": "use-limit"}));
    assert_eq!(status, 422, "{refused}");
    assert!(refused["error"].as_str().unwrap().contains("the value of `LIMIT` must be a plain integer"), "{refused}");
    assert!(!marker.exists());
    let (status, started) =
        server.post(&runs, json!({"runbook": "hostile.md", "step": "export-limit", "inputs": {"limit": "7"}}));
    assert_eq!(status, 202, "{started}");
    recorded(&server, &session, started["run_id"].as_str().unwrap());
    let (status, started) = server.post(&runs, json!({"runbook": "hostile.md", "step": "use-limit"}));
    assert_eq!(status, 202, "{started}");
    assert_eq!(outputs(&server.events(started["run_id"].as_str().unwrap(), None, None)), "big\n");
}

/// Waits until the session has the end of `run_id` (and so the variables it exported).
fn recorded(server: &Server, session: &str, run_id: &str) {
    server.events(run_id, None, None);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let state = server.get_json(&format!("/api/sessions/{session}"));
        if state["runs"].as_array().unwrap().iter().any(|r| r["run_id"] == run_id && r["running"] == false) {
            return;
        }
        assert!(Instant::now() < deadline, "run {run_id} never ended: {state}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_last_event_id_past_any_chunk_number_ends_the_stream_cleanly() {
    let dir = crate::serve::book();
    let server = Server::start(dir.path());
    let (_, created) = server.post("/api/sessions", json!({"title": "Ids"}));
    let id = created["id"].as_str().unwrap().to_owned();
    // A live run: the stream waits for the end and sends no output.
    let (_, slow) = server.post(&format!("/api/sessions/{id}/runs"), json!({"runbook": "serve.md", "step": "slow"}));
    let slow_id = slow["run_id"].as_str().unwrap().to_owned();
    server.events(&slow_id, None, Some(1));
    let cancel = {
        let (base, token, slow_id) = (server.base.clone(), server.token.clone(), slow_id.clone());
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            ureq::post(&format!("{base}/api/runs/{slow_id}/cancel"))
                .header("Authorization", &format!("Bearer {token}"))
                .send_empty()
                .unwrap();
        })
    };
    for last in [u64::MAX, i64::MAX as u64 + 1] {
        let events = server.events(&slow_id, Some(last), None);
        assert_eq!(outputs(&events), "", "{events:?}");
        assert_eq!(events.last().unwrap().1, "exit");
    }
    cancel.join().unwrap();
    // A finished run, read from the store.
    let (_, count) = server.post(&format!("/api/sessions/{id}/runs"), json!({"runbook": "serve.md", "step": "count"}));
    let count_id = count["run_id"].as_str().unwrap().to_owned();
    server.events(&count_id, None, None);
    let restarted = Server::start(dir.path());
    drop(server);
    let events = restarted.events(&count_id, Some(u64::MAX), None);
    assert_eq!((outputs(&events).as_str(), events.last().unwrap().1.as_str()), ("", "exit"));
}

#[test]
fn a_confirmation_holds_only_for_the_commands_it_was_shown() {
    const BOOK: &str = "# Danger\n\n## Danger\n\n```bash {name=danger confirm}\necho harmless >> danger.txt\n```\n";
    let dir = crate::common::fixture_book("danger.md", BOOK);
    let server = Server::start(dir.path());
    let (_, created) = server.post("/api/sessions", json!({"title": "Confirm"}));
    let id = created["id"].as_str().unwrap().to_owned();
    let step = json!({"runbook": "danger.md", "step": "danger"});
    let (status, plan) = server.post(&format!("/api/sessions/{id}/plan"), step.clone());
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["commands"], "echo harmless >> danger.txt\n");
    let digest = plan["digest"].as_str().unwrap().to_owned();
    assert_eq!(digest.len(), 32);

    // The runbook changes between the dialog and the click.
    let reloads = ureq::get(&format!("{}/api/reload", server.base))
        .header("Authorization", &format!("Bearer {}", server.token))
        .call()
        .unwrap();
    std::fs::write(dir.path().join("runbooks/danger.md"), BOOK.replace("echo harmless", "echo CHANGED")).unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(reloads.into_body().into_reader()));
    assert!(lines.any(|line| line.is_ok_and(|l| l.starts_with("data: "))));
    let confirmed = json!({"runbook": "danger.md", "step": "danger", "confirm": true, "plan": digest});
    let (status, refused) = server.post(&format!("/api/sessions/{id}/runs"), confirmed.clone());
    assert_eq!(status, 409, "{refused}");
    assert!(refused["error"].as_str().unwrap().contains("not what was confirmed"), "{refused}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(!dir.path().join("danger.txt").exists(), "a changed step ran under an old confirmation");

    // Confirmed again as it is now, it runs.
    let (_, plan) = server.post(&format!("/api/sessions/{id}/plan"), step);
    assert_ne!(plan["digest"], confirmed["plan"]);
    let again = json!({"runbook": "danger.md", "step": "danger", "confirm": true, "plan": plan["digest"]});
    let (status, started) = server.post(&format!("/api/sessions/{id}/runs"), again);
    assert_eq!(status, 202, "{started}");
    server.events(started["run_id"].as_str().unwrap(), None, None);
    assert_eq!(std::fs::read_to_string(dir.path().join("danger.txt")).unwrap(), "CHANGED\n");
}
