//! Interactive steps in a terminal: a real server, a real pty, a WebSocket client as the
//! console's xterm.js would be (keys in, screen out), and what the session keeps of it.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::client::IntoClientRequest;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use crate::serve::Server;

type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

const BOOK: &str = r#"# Shell

## A shell

```bash {name=shell interactive}
PS1='$ ' bash --norc --noprofile
```
"#;

/// Opens a run's terminal as the console does: the token's cookie, and an Origin.
fn connect(server: &Server, run_id: &str, origin: Option<&str>) -> Result<Socket, tungstenite::Error> {
    let port = server.port();
    let mut request = format!("ws://127.0.0.1:{port}/api/runs/{run_id}/terminal").into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert("Cookie", format!("opsbook_token_{port}={}", server.token).parse().unwrap());
    if let Some(origin) = origin {
        headers.insert("Origin", origin.parse().unwrap());
    }
    let (socket, _) = tungstenite::connect(request)?;
    if let MaybeTlsStream::Plain(stream) = socket.get_ref() {
        stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    }
    Ok(socket)
}

fn origin(server: &Server) -> String {
    format!("http://127.0.0.1:{}", server.port())
}

fn refused_status(result: Result<Socket, tungstenite::Error>) -> u16 {
    match result {
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("not an HTTP refusal: {other}"),
        Ok(_) => panic!("the terminal was opened"),
    }
}

fn send(socket: &mut Socket, message: Value) {
    socket.send(Message::text(message.to_string())).unwrap();
}

fn keys(socket: &mut Socket, typed: &str) {
    send(socket, json!({"type": "input", "data": typed}));
}

/// What the terminal shows, read until it holds `needle` (or the run's exit message comes).
struct Screen {
    text: String,
    exit: Option<Value>,
}

/// Reads what the terminal sends next (nothing within 200 ms is nothing).
fn read_one(socket: &mut Socket, screen: &mut Screen) {
    match socket.read() {
        Ok(Message::Binary(bytes)) => screen.text.push_str(&String::from_utf8_lossy(&bytes)),
        Ok(Message::Text(text)) => screen.exit = Some(serde_json::from_str(&text).unwrap()),
        Ok(_) => {}
        Err(tungstenite::Error::Io(err))
            if matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
        Err(err) => panic!("the terminal's connection failed: {err}\n{}", screen.text),
    }
}

fn read_until(socket: &mut Socket, screen: &mut Screen, needle: &str, seconds: u64) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !screen.text.contains(needle) {
        assert!(Instant::now() < deadline, "no `{needle}` on the screen:\n{}", screen.text);
        assert!(screen.exit.is_none(), "the run ended before `{needle}` showed:\n{}", screen.text);
        read_one(socket, screen);
    }
}

/// Reads until the screen shows a match of `pattern`; its first group.
fn read_match(socket: &mut Socket, screen: &mut Screen, pattern: &str, seconds: u64) -> String {
    let pattern = regex::Regex::new(pattern).unwrap();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(found) = pattern.captures(&screen.text) {
            return found[1].to_owned();
        }
        assert!(Instant::now() < deadline, "no match of `{pattern}` on the screen:\n{}", screen.text);
        read_one(socket, screen);
    }
}

fn wait_for_exit(socket: &mut Socket, screen: &mut Screen, seconds: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while screen.exit.is_none() {
        assert!(Instant::now() < deadline, "the run did not end:\n{}", screen.text);
        read_one(socket, screen);
    }
    screen.exit.clone().unwrap()
}

fn start(server: &Server, session: Option<&str>, size: Value) -> (u16, Value) {
    let path = match session {
        Some(id) => format!("/api/sessions/{id}/runs"),
        None => "/api/runs".to_owned(),
    };
    server.post(&path, json!({"runbook": "shell.md", "step": "shell", "terminal": size}))
}

/// A process that runs (a zombie, dead but not yet reaped by its new parent, does not).
fn alive(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
}

#[test]
fn a_terminal_step_echoes_resizes_keeps_passwords_out_and_is_recorded() {
    let dir = crate::common::fixture_book("shell.md", BOOK);
    let server = Server::start(dir.path());
    let (status, refused) = start(&server, None, json!({"cols": 0, "rows": 24}));
    assert_eq!(status, 400, "{refused}");
    let (status, started) = start(&server, None, json!({"cols": 80, "rows": 24}));
    assert_eq!(status, 202, "{started}");
    let (run_id, session) =
        (started["run_id"].as_str().unwrap().to_owned(), started["session_id"].as_str().unwrap().to_owned());

    // The upgrade passes the guard of a request that changes state: an Origin of this console.
    assert_eq!(refused_status(connect(&server, &run_id, None)), 403);
    assert_eq!(refused_status(connect(&server, &run_id, Some("http://evil.example"))), 403);
    let mut socket = connect(&server, &run_id, Some(&origin(&server))).unwrap();
    // One page holds a terminal.
    assert_eq!(refused_status(connect(&server, &run_id, Some(&origin(&server)))), 409);
    let mut screen = Screen { text: String::new(), exit: None };
    read_until(&mut socket, &mut screen, "$ ", 10);

    keys(&mut socket, "echo hi-$((6*7))\r");
    read_until(&mut socket, &mut screen, "hi-42", 10);
    // A password read with echo off: the shell saw it, nothing kept it.
    keys(&mut socket, "read -rs -p 'pw: ' pw; echo \"len=${#pw}\"\r");
    read_until(&mut socket, &mut screen, "pw: ", 10);
    keys(&mut socket, "Sup3rSecretTyped\r");
    read_until(&mut socket, &mut screen, "len=16", 10);
    assert!(!screen.text.contains("Sup3rSecretTyped"), "echo was off: {}", screen.text);
    // A resize reaches the pty.
    send(&mut socket, json!({"type": "resize", "cols": 100, "rows": 30}));
    keys(&mut socket, "stty size\r");
    read_until(&mut socket, &mut screen, "30 100", 10);
    // Stop ends what the step started, jobs in groups of their own included.
    keys(&mut socket, "sleep 1000 & printf 'bg=%s=end\\n' \"$!\"\r");
    let background: i32 = read_match(&mut socket, &mut screen, r"bg=(\d+)=end", 10).parse().unwrap();
    assert!(alive(background));
    let (status, _) = server.post(&format!("/api/runs/{run_id}/cancel"), json!({}));
    assert_eq!(status, 202);
    let exit = wait_for_exit(&mut socket, &mut screen, 15);
    assert_eq!(exit["type"], "exit");
    assert_eq!(exit["end"], "cancelled", "{exit}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(background) {
        assert!(Instant::now() < deadline, "the background job {background} outlived the stop");
        std::thread::sleep(Duration::from_millis(50));
    }

    // The record: the session knows the run had a terminal; the asciicast beside its log has
    // the output and the resize, never what was typed with echo off.
    let view = server.get_json(&format!("/api/sessions/{session}"));
    let run = view["runs"].as_array().unwrap().iter().find(|r| r["run_id"] == run_id.as_str()).unwrap();
    assert_eq!(run["terminal"], true, "{run}");
    let deadline = Instant::now() + Duration::from_secs(5);
    let cast_path = dir.path().join(format!(".opsbook/runs/{session}/{run_id}.cast"));
    while !std::fs::read_to_string(&cast_path).unwrap_or_default().contains("cancelled") {
        assert!(Instant::now() < deadline, "the cast never got the end");
        std::thread::sleep(Duration::from_millis(50));
    }
    let cast = std::fs::read_to_string(&cast_path).unwrap();
    let lines: Vec<Value> = cast.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!((lines[0]["version"].as_u64(), lines[0]["width"].as_u64()), (Some(2), Some(80)));
    assert!(lines.iter().any(|l| l[1] == "r" && l[2] == "100x30"), "{cast}");
    let printed: String = lines[1..].iter().filter(|l| l[1] == "o").map(|l| l[2].as_str().unwrap()).collect();
    assert!(printed.contains("hi-42") && printed.contains("len=16"), "{printed}");
    assert!(!cast.contains("Sup3rSecretTyped"));
    // The export: the text, without escape codes, nor the password.
    let markdown = server.get_text(&format!("/api/sessions/{session}/export?format=md"));
    assert!(markdown.contains("hi-42"), "{markdown}");
    assert!(!markdown.contains('\u{1b}'), "{markdown}");
    assert!(!markdown.contains("Sup3rSecretTyped"));
    let everything = crate::sessions::all_files(&dir.path().join(".opsbook"));
    assert!(!everything.iter().any(|(_, bytes)| String::from_utf8_lossy(bytes).contains("Sup3rSecretTyped")));
}

#[test]
fn closing_the_terminal_stops_its_run() {
    let dir = crate::common::fixture_book("shell.md", BOOK);
    let server = Server::start(dir.path());
    let (status, started) = start(&server, None, json!({"cols": 80, "rows": 24}));
    assert_eq!(status, 202, "{started}");
    let run_id = started["run_id"].as_str().unwrap().to_owned();
    let mut socket = connect(&server, &run_id, Some(&origin(&server))).unwrap();
    let mut screen = Screen { text: String::new(), exit: None };
    read_until(&mut socket, &mut screen, "$ ", 10);
    keys(&mut socket, "sleep 300\r");
    std::thread::sleep(Duration::from_millis(200));
    socket.close(None).unwrap();
    let _ = socket.flush();
    drop(socket);
    let events = server.events(&run_id, None, None);
    let exit = &events.last().unwrap().2;
    assert_eq!(exit["end"], "cancelled", "{exit}");
}

#[test]
fn twenty_terminals_at_once() {
    let dir = crate::common::fixture_book("shell.md", BOOK);
    let server = Server::start(dir.path());
    let (_, first) = start(&server, None, json!({"cols": 80, "rows": 24}));
    let session = first["session_id"].as_str().unwrap().to_owned();
    let mut runs = vec![first["run_id"].as_str().unwrap().to_owned()];
    for _ in 1..20 {
        let (status, started) = start(&server, Some(&session), json!({"cols": 80, "rows": 24}));
        assert_eq!(status, 202, "{started}");
        runs.push(started["run_id"].as_str().unwrap().to_owned());
    }
    let origin = origin(&server);
    std::thread::scope(|scope| {
        for (n, run_id) in runs.iter().enumerate() {
            let (server, origin) = (&server, &origin);
            scope.spawn(move || {
                let mut socket = connect(server, run_id, Some(origin)).unwrap();
                let mut screen = Screen { text: String::new(), exit: None };
                read_until(&mut socket, &mut screen, "$ ", 20);
                keys(&mut socket, &format!("echo t{n}-$(({n}*3))\r"));
                read_until(&mut socket, &mut screen, &format!("t{n}-{}", n * 3), 20);
                keys(&mut socket, "exit\r");
                let exit = wait_for_exit(&mut socket, &mut screen, 20);
                assert_eq!((exit["end"].as_str(), exit["code"].as_i64()), (Some("exited"), Some(0)), "{exit}");
            });
        }
    });
    // A console serves many runs: none of them keeps its pty or its asciicast open.
    let open_files = || {
        std::fs::read_dir(format!("/proc/{}/fd", server.child.id()))
            .unwrap()
            .filter_map(|fd| std::fs::read_link(fd.unwrap().path()).ok())
            .filter(|target| target.starts_with("/dev/ptmx") || target.extension().is_some_and(|e| e == "cast"))
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while open_files() > 0 {
        assert!(Instant::now() < deadline, "{} ptys or casts still open", open_files());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn opsbook_run_joins_its_terminal_to_the_steps_and_records_it() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = crate::common::fixture_book("shell.md", BOOK);
    let root = dir.path().to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let screen = runtime.block_on(async move {
        // `opsbook run` on a terminal of its own, as a person would start it.
        let (pty, pts) = pty_process::open().unwrap();
        pty.resize(pty_process::Size::new(24, 90)).unwrap();
        let mut child = pty_process::Command::new(env!("CARGO_BIN_EXE_opsbook"))
            .args(["run", "runbooks/shell.md", "shell"])
            .current_dir(&root)
            .env("NO_COLOR", "1")
            .spawn(pts)
            .unwrap();
        let (mut output, mut input) = pty.into_split();
        let mut screen = String::new();
        let mut buffer = vec![0u8; 4096];
        let mut read_until = async |screen: &mut String, needle: &str| {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
            while !screen.contains(needle) {
                match tokio::time::timeout_at(deadline, output.read(&mut buffer)).await {
                    Ok(Ok(n)) if n > 0 => screen.push_str(&String::from_utf8_lossy(&buffer[..n])),
                    _ => panic!("no `{needle}` on the terminal:\n{screen}"),
                }
            }
        };
        read_until(&mut screen, "$ ").await;
        input.write_all(b"echo hi-$((6*7)); stty size\r").await.unwrap();
        read_until(&mut screen, "24 90").await;
        input.write_all(b"exit 3\r").await.unwrap();
        read_until(&mut screen, "exit 3 in").await;
        let status = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.unwrap().unwrap();
        assert_eq!(status.code(), Some(1), "a failing step exits 1:\n{screen}");
        screen
    });
    assert!(screen.contains("hi-42"), "{screen}");
    let session = screen
        .lines()
        .find_map(|line| line.trim().strip_prefix("recording in new session "))
        .map(|id| id.trim().to_owned())
        .unwrap_or_else(|| panic!("no session named:\n{screen}"));
    // Recorded as the console records it: the run's log and its asciicast.
    let show = crate::common::opsbook(&["session", "show", &session, "--json"], dir.path());
    let json: Value = serde_json::from_slice(&show.stdout).unwrap();
    let started = json["events"].as_array().unwrap().iter().find(|e| e["type"] == "run-started").unwrap();
    let cast = started["details"]["cast"].as_str().unwrap();
    let cast = std::fs::read_to_string(dir.path().join(".opsbook").join(cast)).unwrap();
    assert!(cast.lines().next().unwrap().contains("\"width\":90"), "{cast}");
    assert!(cast.contains("hi-42"), "{cast}");
    let markdown = crate::common::opsbook(&["export", &session], dir.path());
    let markdown = crate::common::text(&markdown.stdout);
    assert!(markdown.contains("hi-42") && markdown.contains("exit 3"), "{markdown}");
}

#[test]
fn what_a_terminal_run_exports_or_outputs_is_held_in_memory_only() {
    let book = "# Login\n\n```bash {name=login interactive}\nread -rs -p 'pw: ' pw; echo; export SAVED=\"$pw\"\n\
                echo \"typed=$pw\" >> \"$OPSBOOK_OUTPUT\"\n```\n";
    let dir = crate::common::fixture_book("login.md", book);
    let server = Server::start(dir.path());
    let (status, started) =
        server.post("/api/runs", json!({"runbook": "login.md", "step": "login", "terminal": {"cols": 80, "rows": 24}}));
    assert_eq!(status, 202, "{started}");
    let (run_id, session) =
        (started["run_id"].as_str().unwrap().to_owned(), started["session_id"].as_str().unwrap().to_owned());
    let mut socket = connect(&server, &run_id, Some(&origin(&server))).unwrap();
    let mut screen = Screen { text: String::new(), exit: None };
    read_until(&mut socket, &mut screen, "pw: ", 10);
    keys(&mut socket, "Typed0nlyS3cret\r");
    let exit = wait_for_exit(&mut socket, &mut screen, 15);
    assert_eq!(exit["code"], 0, "{exit}\n{}", screen.text);
    // The session holds both values for later steps, in memory: none of it on disk.
    let view = server.get_json(&format!("/api/sessions/{session}"));
    assert_eq!(view["held"], json!(["typed"]), "{view}");
    assert!(!view.to_string().contains("Typed0nlyS3cret"), "{view}");
    let markdown = server.get_text(&format!("/api/sessions/{session}/export?format=md"));
    let mut files = crate::sessions::all_files(&dir.path().join(".opsbook"));
    files.push(("export".into(), markdown.into_bytes()));
    for (path, bytes) in &files {
        assert!(!String::from_utf8_lossy(bytes).contains("Typed0nlyS3cret"), "found in {}", path.display());
    }
}

#[test]
fn what_left_the_steps_session_is_stopped_too() {
    let book = "# Escape\n\n```bash {name=escape interactive}\nsetsid sleep 600 & printf 'bg=%s=end\\n' \"$!\"; sleep 999\n```\n\n\
                ```bash {name=plain}\nsetsid sleep 600 & printf 'bg=%s=end\\n' \"$!\"\n```\n";
    let dir = crate::common::fixture_book("escape.md", book);
    // In a terminal: Stop ends the run, and what `setsid` took out of the session.
    let server = Server::start(dir.path());
    let (status, started) = server
        .post("/api/runs", json!({"runbook": "escape.md", "step": "escape", "terminal": {"cols": 80, "rows": 24}}));
    assert_eq!(status, 202, "{started}");
    let run_id = started["run_id"].as_str().unwrap().to_owned();
    let mut socket = connect(&server, &run_id, Some(&origin(&server))).unwrap();
    let mut screen = Screen { text: String::new(), exit: None };
    let escaped: i32 = read_match(&mut socket, &mut screen, r"bg=(\d+)=end", 10).parse().unwrap();
    assert!(alive(escaped));
    server.post(&format!("/api/runs/{run_id}/cancel"), json!({}));
    let exit = wait_for_exit(&mut socket, &mut screen, 15);
    assert_eq!(exit["end"], "cancelled", "{exit}");
    assert!(!alive(escaped), "the process that left the session outlived the stop");
    // Without a terminal: the step ends as soon as its shell does, and what it left goes too.
    let start = Instant::now();
    let run = crate::common::opsbook(&["run", "runbooks/escape.md", "plain"], dir.path());
    assert!(run.status.success(), "{}", crate::common::text(&run.stderr));
    assert!(start.elapsed() < Duration::from_secs(10), "the run waited for what it left behind");
    let out = crate::common::text(&run.stdout);
    let left: i32 = out.trim().trim_start_matches("bg=").trim_end_matches("=end").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(left) {
        assert!(Instant::now() < deadline, "the process that left the group outlived the run");
        std::thread::sleep(Duration::from_millis(50));
    }
}
