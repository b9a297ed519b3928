//! A minimal WebDriver client (chromedriver over HTTP): the few commands the browser tests and
//! the browser-terminal benchmark need. Shared by `tests/it/browser.rs` and
//! `benches/terminal_bench.rs`.
// Each user takes the commands it needs.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A chromedriver with one headless Chromium session; both end when it is dropped.
pub struct Driver {
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
    pub fn start(driver: &Path, chromium: &Path, profile: &Path) -> Driver {
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

    pub fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let response = match method {
            "GET" => ureq::get(&url).config().http_status_as_error(false).build().call(),
            _ => ureq::post(&url).config().http_status_as_error(false).build().send_json(&body),
        };
        let mut response = response.unwrap_or_else(|e| panic!("{method} {path} {body}: {e}"));
        let status = response.status();
        let value: Value = response.body_mut().read_json().unwrap();
        assert!(status.is_success(), "{method} {path} {body}: {status} {value}");
        value["value"].clone()
    }

    pub fn goto(&self, url: &str) {
        self.call("POST", "/url", json!({ "url": url }));
    }

    pub fn script(&self, script: &str) -> Value {
        self.call("POST", "/execute/sync", json!({ "script": script, "args": [] }))
    }

    pub fn element(&self, css: &str) -> String {
        let value = self.call("POST", "/element", json!({"using": "css selector", "value": css}));
        value
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element `{css}`: {value}"))
            .to_owned()
    }

    /// Clicks an element after scrolling it to the middle of the window (the console's bar is
    /// fixed at the bottom, where WebDriver's own scrolling would leave it covered).
    pub fn click(&self, css: &str) {
        // Pages add elements after load (the console's buttons): wait for it to exist.
        let selector = serde_json::to_string(css).unwrap();
        self.wait_for(&format!("return document.querySelector({selector}) ? true : null;"), 10);
        let id = self.element(css);
        let reference = json!({"element-6066-11e4-a52e-4f735466cecf": id});
        self.call(
            "POST",
            "/execute/sync",
            json!({"script": "arguments[0].scrollIntoView({block: 'center'});", "args": [reference]}),
        );
        self.call("POST", &format!("/element/{id}/click"), json!({}));
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.call("POST", &format!("/element/{id}/value"), json!({ "text": text }));
    }

    /// Polls `script` until it returns something truthy, for up to `seconds`.
    pub fn wait_for(&self, script: &str, seconds: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let value = self.script(script);
            if !(value.is_null() || value == json!(false) || value == json!("")) {
                return value;
            }
            if Instant::now() >= deadline {
                // What the page showed, to see why.
                let state = self.script("return document.body.innerText.slice(-3000);");
                panic!("timed out waiting for: {script}\npage: {state}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
