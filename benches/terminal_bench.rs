//! Browser-terminal benchmark (not a test): keystroke to echo over loopback, through `opsbook
//! serve`'s WebSocket to a step's pty and back, side by side with the same shell in a pty this
//! process holds itself (the floor: the kernel's pty and bash's line editor, no server).
//!
//! `benches/terminal.sh` runs it; by hand: `terminal_bench --opsbook target/release/opsbook
//! [--keys 500]`.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

#[path = "support/serve.rs"]
mod support;

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
    let _ = child.kill();
    let _ = child.wait();

    println!("keystroke to echo, {keys} keys, bash's line editor in a pty:");
    report("through opsbook serve (WebSocket, loopback)", &through_server);
    report("the same shell in a pty of this process", &direct);
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
