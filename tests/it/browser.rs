//! A real browser: Debian's headless Chromium, driven over WebDriver by chromedriver, on a built
//! book served from loopback. Skips with a notice where chromedriver is missing; fails under
//! `CI=true`, where `.ci/run` installs it.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::*;

/// chromedriver and chromium, or None with a notice (a failure under CI=true).
fn browser_binaries() -> Option<(PathBuf, PathBuf)> {
    let find = |names: &[&str]| {
        names.iter().map(PathBuf::from).find(|p| p.is_file()).or_else(|| {
            let path = std::env::var_os("PATH")?;
            std::env::split_paths(&path).flat_map(|dir| names.iter().map(move |n| dir.join(n))).find(|p| p.is_file())
        })
    };
    let driver = find(&["/usr/bin/chromedriver", "chromedriver"]);
    let chromium = find(&["/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"]);
    match (driver, chromium) {
        (Some(driver), Some(chromium)) => Some((driver, chromium)),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("chromium and chromedriver are required under CI=true (.ci/run installs them)");
            }
            eprintln!("notice: skipping the browser test: install chromium and chromium-driver to run it");
            None
        }
    }
}

/// A static file server on 127.0.0.1 for `root`, until the test ends.
fn serve(root: PathBuf) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let root = root.clone();
            std::thread::spawn(move || respond(stream, &root));
        }
    });
    port
}

fn respond(mut stream: TcpStream, root: &Path) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).map_or(true, |n| n == 0) || header == "\r\n" {
            break;
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let path = path.split(['?', '#']).next().unwrap_or("/").trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    let file = root.join(path.replace("%20", " "));
    let (status, body) = match (!path.contains(".."), std::fs::read(&file)) {
        (true, Ok(body)) => ("200 OK", body),
        _ => ("404 Not Found", b"not found".to_vec()),
    };
    let kind = match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css",
        Some("js") => "text/javascript",
        Some("json") => "application/json",
        Some("wasm") => "application/wasm",
        _ => "application/octet-stream",
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
}

/// A minimal WebDriver client: the few commands these tests need.
struct Driver {
    child: Child,
    base: String,
    session: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = ureq::delete(&format!("{}/session/{}", self.base, self.session)).call();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn start(driver: &Path, chromium: &Path, profile: &Path) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while ureq::get(&format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
            &format!("--user-data-dir={}", profile.display()),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args}
        }}});
        let mut response = ureq::post(&format!("{base}/session")).send_json(&capabilities).expect("new session");
        let value: Value = response.body_mut().read_json().unwrap();
        let session = value["value"]["sessionId"].as_str().expect("session id").to_owned();
        Driver { child, base, session }
    }

    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let response = match method {
            "GET" => ureq::get(&url).call(),
            _ => ureq::post(&url).send_json(&body),
        };
        let mut response = response.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let value: Value = response.body_mut().read_json().unwrap();
        value["value"].clone()
    }

    fn goto(&self, url: &str) {
        self.call("POST", "/url", json!({ "url": url }));
    }

    fn script(&self, script: &str) -> Value {
        self.call("POST", "/execute/sync", json!({ "script": script, "args": [] }))
    }

    fn element(&self, css: &str) -> String {
        let value = self.call("POST", "/element", json!({"using": "css selector", "value": css}));
        value
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element `{css}`: {value}"))
            .to_owned()
    }

    fn click(&self, css: &str) {
        let id = self.element(css);
        self.call("POST", &format!("/element/{id}/click"), json!({}));
    }

    fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.call("POST", &format!("/element/{id}/value"), json!({ "text": text }));
    }

    /// Polls `script` until it returns something truthy, for up to `seconds`.
    fn wait_for(&self, script: &str, seconds: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let value = self.script(script);
            if !(value.is_null() || value == json!(false) || value == json!("")) {
                return value;
            }
            assert!(Instant::now() < deadline, "timed out waiting for: {script}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn search_follow_result_dark_mode_and_copy_in_a_real_browser() {
    let Some((driver_bin, chromium)) = browser_binaries() else { return };
    let Some(seed) = shared_path("seeds/incident-response.md") else { return };
    let book = tempfile::tempdir().unwrap();
    std::fs::copy(&seed, book.path().join("incident-response.md")).unwrap();
    let output = opsbook(&["build", "--dest-dir", "site"], book.path());
    assert!(output.status.success(), "{}", text(&output.stderr));
    let port = serve(book.path().join("site"));
    let profile = tempfile::tempdir().unwrap();
    let browser = Driver::start(&driver_bin, &chromium, profile.path());
    let base = format!("http://127.0.0.1:{port}");

    // Search for a command and follow the first result to the step that runs it.
    browser.goto(&format!("{base}/index.html"));
    browser.type_into("#search-input", "rollout restart");
    let first = browser.wait_for(
        "const a = document.querySelector('#search-results a.result'); return a ? a.getAttribute('href') : null;",
        20,
    );
    let href = first.as_str().unwrap().to_owned();
    assert!(href.ends_with("incident-response.html#step-api-not-responding"), "first result: {href}");
    browser.click("#search-results a.result");
    let location = browser.wait_for("return location.hash === '#step-api-not-responding' ? location.href : null;", 10);
    assert!(location.as_str().unwrap().starts_with(&format!("{base}/incident-response.html")));
    let target_visible = browser.script(
        "const r = document.getElementById('step-api-not-responding').getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight;",
    );
    assert_eq!(target_visible, json!(true), "the step is scrolled into view");

    // Front matter filters narrow the results.
    browser.goto(&format!("{base}/index.html"));
    browser.type_into("#search-input", "kubectl severity:SEV4");
    let none = browser.wait_for(
        "const r = document.getElementById('search-results'); return !r.hidden && !r.querySelector('a.result') ? r.textContent : null;",
        20,
    );
    assert_eq!(none, json!("No match."), "the seed has no SEV4 runbook");

    // Dark mode: the toggle flips the theme and the reader's choice survives a reload.
    let before = browser.script("return getComputedStyle(document.body).backgroundColor;");
    browser.click("#theme-toggle");
    let theme = browser.script("return document.documentElement.dataset.theme;");
    assert_eq!(theme, json!("dark"));
    let after = browser.script("return getComputedStyle(document.body).backgroundColor;");
    assert_ne!(before, after, "the background changes");
    assert_eq!(after, json!("rgb(15, 20, 25)"));
    browser.goto(&format!("{base}/incident-response.html"));
    assert_eq!(browser.script("return document.documentElement.dataset.theme;"), json!("dark"));

    // Copy: the command's button copies exactly the command, placeholder and all.
    browser.click("#step-api-not-responding-2 button.copy");
    let copied = browser
        .wait_for("return document.querySelector('#step-api-not-responding-2 button.copy').dataset.copied || null;", 5);
    assert_eq!(copied, json!("kubectl describe pod <pod-name> -n aragora"));
    browser.click("section[data-step='api-not-responding'] .step-header button.copy");
    let whole = browser.wait_for("return document.querySelector(\"section[data-step='api-not-responding'] .step-header button.copy\").dataset.copied || null;", 5);
    assert!(
        whole
            .as_str()
            .unwrap()
            .starts_with("kubectl get pods -n aragora\nkubectl describe pod <pod-name> -n aragora\n")
    );
    assert_eq!(whole.as_str().unwrap().lines().count(), 6);
}

#[test]
fn from_file_urls_pages_work_and_search_says_it_needs_a_server() {
    let Some((driver_bin, chromium)) = browser_binaries() else { return };
    let book = tempfile::tempdir().unwrap();
    std::fs::write(book.path().join("a.md"), "# A\n\n[to b](b.md)\n\n```bash\nuptime\n```\n").unwrap();
    std::fs::write(book.path().join("b.md"), "# B\n").unwrap();
    let output = opsbook(&["build", "--dest-dir", "site"], book.path());
    assert!(output.status.success(), "{}", text(&output.stderr));
    let profile = tempfile::tempdir().unwrap();
    let browser = Driver::start(&driver_bin, &chromium, profile.path());
    let page = book.path().join("site/a.html");
    browser.goto(&format!("file://{}", page.display()));
    browser.click("main a[href='b.html']");
    browser.wait_for("return location.pathname.endsWith('/b.html') ? 1 : null;", 5);
    browser.type_into("#search-input", "uptime");
    let notice = browser.wait_for(
        "const p = document.getElementById('search-offline'); return p && !p.hidden ? p.textContent : null;",
        5,
    );
    assert!(notice.as_str().unwrap().contains("opsbook serve"), "{notice}");
}
