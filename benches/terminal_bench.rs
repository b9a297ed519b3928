//! Browser-terminal benchmark (not a test): keystroke to echo over loopback, through `opsbook
//! serve`'s WebSocket to a step's pty and back, side by side with the same shell in a pty this
//! process holds itself (the floor: the kernel's pty and bash's line editor, no server).
//!
//! With `--browser` (Debian's `chromium` and `chromium-driver`), also in headless Chromium: a key
//! sent to the page's terminal, timed in the page from the key's event to the change of the
//! terminal's rows in the DOM (xterm.js's DOM renderer), the whole way a person's keystroke goes.
//!
//! `benches/terminal.sh` runs it; by hand: `terminal_bench --opsbook target/release/opsbook
//! [--keys 500] [--browser]`.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

#[path = "support/serve.rs"]
mod support;
#[path = "support/webdriver.rs"]
mod webdriver;

use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use tungstenite::client::IntoClientRequest;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

const SHELL: &str = "PS1='$ ' bash --norc --noprofile";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let opsbook = value("--opsbook").unwrap_or_else(|| "target/release/opsbook".to_owned());
    let opsbook = std::fs::canonicalize(&opsbook).unwrap_or_else(|err| panic!("{opsbook}: {err}"));
    let keys: usize = value("--keys").and_then(|v| v.parse().ok()).unwrap_or(500);

    let book = tempfile::tempdir().unwrap();
    std::fs::create_dir(book.path().join("runbooks")).unwrap();
    std::fs::write(book.path().join("book.toml"), "[book]\ntitle = \"bench\"\nsrc = \"runbooks\"\n").unwrap();
    std::fs::write(
        book.path().join("runbooks/shell.md"),
        format!("# Shell\n\n```bash {{name=shell interactive}}\n{SHELL}\n```\n"),
    )
    .unwrap();
    let mut command = Command::new(&opsbook);
    command.args(["serve", "--port", "0"]).current_dir(book.path());
    let (mut child, base, token) = support::start(command);

    let through_server = server_echo(&base, &token, keys);
    let direct = direct_echo(keys);
    let in_browser = args.iter().any(|a| a == "--browser").then(|| browser_echo(&base, &token, keys.min(300)));
    let _ = child.kill();
    let _ = child.wait();

    println!("keystroke to echo, {keys} keys, bash's line editor in a pty:");
    report("through opsbook serve (WebSocket, loopback)", &through_server);
    report("the same shell in a pty of this process", &direct);
    if let Some(in_browser) = &in_browser {
        report("in Chromium: key event to the terminal's rows redrawn", in_browser);
    }
    println!(
        "ratio of medians: {:.2}x; added by the console: {:.3} ms at p50",
        median(&through_server) / median(&direct),
        median(&through_server) - median(&direct)
    );
}

fn server_echo(base: &str, token: &str, keys: usize) -> Vec<f64> {
    let started = support::post(
        base,
        token,
        "/api/runs",
        &json!({"runbook": "shell.md", "step": "shell", "terminal": {"cols": 200, "rows": 50}}),
    );
    let run_id = started["run_id"].as_str().unwrap();
    let port = base.rsplit(':').next().unwrap();
    let mut request = format!("ws://127.0.0.1:{port}/api/runs/{run_id}/terminal").into_client_request().unwrap();
    request.headers_mut().insert("Cookie", format!("opsbook_token_{port}={token}").parse().unwrap());
    request.headers_mut().insert("Origin", format!("http://127.0.0.1:{port}").parse().unwrap());
    let (mut socket, _) = tungstenite::connect(request).unwrap();
    wait_for(&mut socket, "$ ");
    let mut times = Vec::with_capacity(keys);
    for n in 0..keys {
        // Type a letter, then rub it out, so that the line never grows.
        let key = if n % 2 == 0 { "a" } else { "\u{7f}" };
        let sent = Instant::now();
        socket.send(Message::text(json!({"type": "input", "data": key}).to_string())).unwrap();
        read_any(&mut socket);
        if n % 2 == 0 {
            times.push(sent.elapsed().as_secs_f64() * 1000.0);
        }
    }
    socket.send(Message::text(json!({"type": "input", "data": "exit\r"}).to_string())).unwrap();
    times
}

fn wait_for(socket: &mut WebSocket<MaybeTlsStream<TcpStream>>, needle: &str) {
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !seen.contains(needle) && Instant::now() < deadline {
        if let Message::Binary(bytes) = socket.read().unwrap() {
            seen.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
}

fn read_any(socket: &mut WebSocket<MaybeTlsStream<TcpStream>>) {
    loop {
        if let Message::Binary(_) = socket.read().unwrap() {
            return;
        }
    }
}

/// Keystroke to echo in headless Chromium, timed in the page.
fn browser_echo(base: &str, token: &str, keys: usize) -> Vec<f64> {
    let find = |names: &[&str]| names.iter().map(std::path::PathBuf::from).find(|p| p.is_file());
    let driver = find(&["/usr/bin/chromedriver"]).expect("--browser needs chromedriver (Debian: chromium-driver)");
    let chromium = find(&["/usr/bin/chromium"]).expect("--browser needs chromium");
    let profile = tempfile::tempdir().unwrap();
    let browser = webdriver::Driver::start(&driver, &chromium, profile.path());
    browser.goto(&format!("{base}/?token={token}"));
    browser.goto(&format!("{base}/shell.html"));
    // Where the time goes: when each screen frame arrives from the server.
    browser.script(
        "window.__arrived = []; const Native = window.WebSocket; \
         window.WebSocket = class extends Native { constructor(...args) { super(...args); \
           this.addEventListener('message', () => window.__arrived.push(performance.now())); } };",
    );
    browser.click("section[data-step='shell'] button[data-run='step']");
    browser.wait_for(
        "const t = document.querySelector('.xterm-rows')?.textContent || ''; return t.includes('$') ? true : null;",
        20,
    );
    // In the page, typed as a person types (a key every 30 ms): a key event on xterm.js's input
    // (`keypress` of a letter, then of a rubout) starts the clock, the change of the rows the
    // echo draws stops it. Typed from the page itself: WebDriver's own key dispatch holds the
    // page's main thread for a while after each key, which is no person's keyboard.
    browser.call("POST", "/timeouts", serde_json::json!({"script": 300_000}));
    let script = format!(
        "const done = arguments[arguments.length - 1]; const keys = {keys}; \
         const area = document.querySelector('.xterm-helper-textarea'); \
         const rows = document.querySelector('.xterm-rows'); \
         const echo = [], wire = []; let n = 0, start = 0, sent = 0; \
         const arrived = window.__arrived; \
         const observer = new MutationObserver(() => {{ \
           if (!start) return; \
           echo.push(performance.now() - start); \
           if (arrived[sent] !== undefined) wire.push(arrived[sent] - start); \
           start = 0; \
           if (++n >= keys) {{ observer.disconnect(); done([echo, wire]); return; }} \
           setTimeout(type, 30); \
         }}); \
         observer.observe(rows, {{ subtree: true, childList: true, characterData: true }}); \
         function type() {{ \
           start = performance.now(); sent = arrived.length; \
           if (n % 2 === 0) area.dispatchEvent(new KeyboardEvent('keypress', {{ key: 'a', charCode: 97, keyCode: 97, which: 97, bubbles: true, cancelable: true }})); \
           else area.dispatchEvent(new KeyboardEvent('keypress', {{ key: 'Delete', charCode: 127, keyCode: 127, which: 127, bubbles: true, cancelable: true }})); \
         }} \
         type();",
        keys = keys * 2
    );
    let measured = browser.call("POST", "/execute/async", serde_json::json!({"script": script, "args": []}));
    let numbers = |value: &serde_json::Value| -> Vec<f64> {
        value.as_array().map(|a| a.iter().filter_map(serde_json::Value::as_f64).collect()).unwrap_or_default()
    };
    let wire = numbers(&measured[1]);
    if !wire.is_empty() {
        report("in Chromium: key event to the echo's frame arriving (before drawing)", &wire);
    }
    numbers(&measured[0])
}

/// The floor: the same shell in a pty this process reads and writes itself.
fn direct_echo(keys: usize) -> Vec<f64> {
    use std::io::{Read, Write};
    let (mut pty, pts) = pty_process::blocking::open().unwrap();
    pty.resize(pty_process::Size::new(50, 200)).unwrap();
    let mut child = pty_process::blocking::Command::new("bash").args(["-c", SHELL]).spawn(pts).unwrap();
    let mut buffer = [0u8; 4096];
    let mut seen = String::new();
    while !seen.contains("$ ") {
        let n = pty.read(&mut buffer).unwrap();
        seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    let mut times = Vec::with_capacity(keys);
    for n in 0..keys {
        let key: &[u8] = if n % 2 == 0 { b"a" } else { b"\x7f" };
        let sent = Instant::now();
        pty.write_all(key).unwrap();
        let _ = pty.read(&mut buffer).unwrap();
        if n % 2 == 0 {
            times.push(sent.elapsed().as_secs_f64() * 1000.0);
        }
    }
    pty.write_all(b"exit\r").unwrap();
    let _ = child.wait();
    times
}

fn median(times: &[f64]) -> f64 {
    percentile(times, 0.5)
}

fn percentile(times: &[f64], at: f64) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[((sorted.len() as f64 - 1.0) * at).round() as usize]
}

fn report(what: &str, times: &[f64]) {
    println!(
        "  {what}: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        median(times),
        percentile(times, 0.99),
        percentile(times, 1.0)
    );
}
