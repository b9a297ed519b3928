//! A real browser: Debian's headless Chromium, driven over WebDriver by chromedriver, on a built
//! book served from loopback. Skips with a notice where chromedriver is missing; fails under
//! `CI=true`, where `.ci/run` installs it.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};

use std::time::Duration;

use serde_json::json;

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
        _ => crate::common::skip("chromium and chromedriver (Debian: apt-get install chromium chromium-driver)"),
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

#[path = "../../benches/support/webdriver.rs"]
mod webdriver;
use webdriver::Driver;

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

#[test]
fn the_incident_console_in_a_real_browser() {
    let Some((driver_bin, chromium)) = browser_binaries() else { return };
    let book = tempfile::tempdir().unwrap();
    std::fs::copy(repo().join("book.toml"), book.path().join("book.toml")).unwrap();
    std::fs::create_dir(book.path().join("runbooks")).unwrap();
    for name in ["SUMMARY.md", "local-demo.md", "incident-response.md"] {
        std::fs::copy(repo().join("runbooks").join(name), book.path().join("runbooks").join(name)).unwrap();
    }
    // A runbook whose step prints colours, for the console's ANSI rendering.
    std::fs::write(book.path().join("runbooks/colours.md"), "# Colours\n\n```bash {name=paint}\nprintf '\\033[31mred\\033[0m plain \\033[1;32mbold green\\033[0m\\n'\n```\n").unwrap();
    let summary = std::fs::read_to_string(book.path().join("runbooks/SUMMARY.md")).unwrap();
    std::fs::write(book.path().join("runbooks/SUMMARY.md"), format!("{summary}- [Colours](colours.md)\n")).unwrap();
    let server = crate::serve::Server::start(book.path());
    let profile = tempfile::tempdir().unwrap();
    let browser = Driver::start(&driver_bin, &chromium, profile.path());
    // The printed URL hands the browser its cookie; then a deep link asks for a new session.
    browser.goto(&server.url);
    browser.goto(&format!("{}/local-demo.html?session=new&var.responder=Dana", server.base));
    browser.wait_for("return document.getElementById('opsbook-new-title');", 10);
    browser.script("document.getElementById('opsbook-new-title').value = '';");
    browser.type_into("#opsbook-new-title", "Browser drill");
    browser.click("#opsbook-new-start");
    let session = browser.wait_for("const s = document.getElementById('opsbook-session'); return s && s.value;", 10);
    let session = session.as_str().unwrap().to_owned();

    // Scripts that read a step's run panel, null-safe while the page is still loading.
    let output_of = |step: &str| {
        format!("return document.querySelector(\"section[data-step='{step}'] .run-output\")?.textContent || '';")
    };
    let status_of = |step: &str| {
        format!("return document.querySelector(\"section[data-step='{step}'] .run-status\")?.textContent || '';")
    };
    let wait_status = |step: &str, want: &str| {
        browser.wait_for(
            &format!(
                "{} return t.startsWith('{want}') ? t : null;",
                status_of(step).replacen("return", "const t =", 1)
            ),
            20,
        )
    };

    // The bar names who has the console open on this session.
    let responders = browser.wait_for("return document.getElementById('opsbook-responders')?.textContent || null;", 10);
    let me = format!("{}@{}", opsbook::session::responder(), opsbook::record::host());
    assert!(responders.as_str().unwrap().contains(&me), "{responders}");

    // Run a step; its output appears under it.
    browser.click("section[data-step='prepare'] button[data-run='step']");
    wait_status("prepare", "exit 0");
    assert!(browser.script(&output_of("prepare")).as_str().unwrap().starts_with("scratch folder: "));

    // An input, pre-filled from the URL (`var.responder=Dana`), then changed by hand.
    let prefilled =
        browser.script("return document.querySelector(\"section[data-step='greet'] input[name='responder']\").value;");
    assert_eq!(prefilled, json!("Dana"));
    // Cleared as a person would (an `input` event), so a later re-render leaves it alone.
    browser.script(
        "const field = document.querySelector(\"section[data-step='greet'] input[name='responder']\"); \
         field.value = ''; field.dispatchEvent(new Event('input', { bubbles: true }));",
    );
    browser.type_into("section[data-step='greet'] input[name='responder']", "Ann");
    browser.click("section[data-step='greet'] button[data-run='step']");
    wait_status("greet", "exit 0");
    assert_eq!(browser.script(&output_of("greet")), json!("Hello, Ann. The incident console is yours.\n"));

    // A mutating step asks first, showing the exact commands.
    browser.click("section[data-step='write-log'] button[data-run='step']");
    let shown = browser.wait_for(
        "const d = document.querySelector('dialog.confirm-dialog[open] pre'); return d && d.textContent;",
        10,
    );
    assert!(
        shown.as_str().unwrap().contains("cp \"$DEMO_DIR/incident.log\" \"$DEMO_DIR/incident.log.bak\""),
        "{shown}"
    );
    browser.click("dialog.confirm-dialog button.confirm-run");
    wait_status("write-log", "exit 0");

    // The long-running step: output streams; a reload mid-run replays it; Stop ends it.
    browser.click("section[data-step='follow'] button[data-run='step']");
    browser.wait_for(
        &format!(
            "{} return t.includes('incident opened') ? t : null;",
            output_of("follow").replacen("return", "const t =", 1)
        ),
        20,
    );
    browser.goto(&format!("{}/local-demo.html", server.base));
    let replayed = browser.wait_for(
        &format!(
            "{} return t.includes('incident opened') ? t : null;",
            output_of("follow").replacen("return", "const t =", 1)
        ),
        20,
    );
    assert!(replayed.as_str().unwrap().contains("incident opened"));
    assert_eq!(browser.script(&status_of("follow")), json!("running…"));
    let bar_height = browser.script("return document.getElementById('opsbook-bar').getBoundingClientRect().height;");
    assert!(bar_height.as_f64().unwrap() < 200.0, "the incident bar stays small: {bar_height}");
    browser.click("section[data-step='follow'] .run-stop");
    wait_status("follow", "cancelled");

    // Colours are rendered, not shown as escape codes.
    browser.goto(&format!("{}/colours.html", server.base));
    browser.click("section[data-step='paint'] button[data-run='step']");
    wait_status("paint", "exit 0");
    let painted = browser.script(
        "const o = document.querySelector(\"section[data-step='paint'] .run-output\"); return [o.textContent, o.querySelector('.ansi-fg-1')?.textContent, o.querySelector('.ansi-bold.ansi-fg-2')?.textContent];",
    );
    assert_eq!(painted, json!(["red plain bold green\n", "red", "bold green"]));

    // Search works under the console's Content-Security-Policy (pagefind's worker and WebAssembly
    // come from this origin; nothing inline).
    browser.type_into("#search-input", "kubectl");
    let found = browser.wait_for(
        "const a = document.querySelector('#search-results a.result'); return a ? a.getAttribute('href') : null;",
        20,
    );
    assert!(found.as_str().is_some_and(|href| href.contains(".html")), "{found}");
    browser.goto(&format!("{}/local-demo.html", server.base));

    // The export has every run.
    let href = browser.wait_for(
        "const a = document.querySelector('#opsbook-bar .exports a'); return a && a.getAttribute('href');",
        10,
    );
    assert_eq!(href, json!(format!("/api/sessions/{session}/export?format=md")));
    let markdown = server.get_text(href.as_str().unwrap());
    for step in ["prepare", "greet", "write-log", "follow"] {
        assert!(markdown.contains(&format!("Ran step `{step}`")), "{step} missing from:\n{markdown}");
    }
    assert!(markdown.contains("# Postmortem: Browser drill"));

    // Editing the runbook reloads the page with the change.
    browser.script("window.__beforeEdit = true;");
    let file = book.path().join("runbooks/local-demo.md");
    let edited =
        std::fs::read_to_string(&file).unwrap().replace("# Local demo\n", "# Local demo\n\nEdited while serving.\n");
    std::fs::write(&file, edited).unwrap();
    browser.wait_for("return !window.__beforeEdit && document.body.innerText.includes('Edited while serving.');", 20);
}

#[test]
fn one_click_from_an_alerts_deep_link_to_the_first_output() {
    let Some((driver_bin, chromium)) = browser_binaries() else { return };
    let book = tempfile::tempdir().unwrap();
    std::fs::copy(repo().join("book.toml"), book.path().join("book.toml")).unwrap();
    std::fs::create_dir(book.path().join("runbooks")).unwrap();
    for name in ["SUMMARY.md", "local-demo.md"] {
        std::fs::copy(repo().join("runbooks").join(name), book.path().join("runbooks").join(name)).unwrap();
    }
    let server = crate::serve::Server::start(book.path());
    let profile = tempfile::tempdir().unwrap();
    let browser = Driver::start(&driver_bin, &chromium, profile.path());
    // The printed URL hands the browser its cookie; then the link an alert carries.
    browser.goto(&server.url);
    browser.goto(&format!("{}/local-demo.html?var.responder=Dana#step-greet", server.base));
    browser.wait_for("return document.querySelector(\"section[data-step='greet'] button[data-run='step']\");", 10);
    // No session is open, and one click is all it takes.
    assert_eq!(server.get_json("/api/sessions"), json!([]));
    browser.click("section[data-step='greet'] button[data-run='step']");
    let output = browser.wait_for(
        "const t = document.querySelector(\"section[data-step='greet'] .run-output\")?.textContent || ''; \
         return t.includes('Dana') ? t : null;",
        20,
    );
    assert_eq!(output, json!("Hello, Dana. The incident console is yours.\n"));
    // The run opened the session; the bar shows it and the page's URL names it.
    let session = browser.wait_for("const s = document.getElementById('opsbook-session'); return s && s.value;", 10);
    let sessions = server.get_json("/api/sessions");
    assert_eq!(sessions.as_array().unwrap().len(), 1, "{sessions}");
    assert_eq!(sessions[0]["id"], session);
    assert_eq!(sessions[0]["title"], "Local demo");
    assert!(browser.script("return location.search;").as_str().unwrap().contains(session.as_str().unwrap()));
    assert_eq!(browser.script("return document.querySelectorAll('dialog[open]').length;"), json!(0));
    // The title the run gave it is edited in the bar.
    browser.script(
        "const t = document.getElementById('opsbook-title'); t.value = 'Checkout down in eu-west'; \
         t.dispatchEvent(new Event('change'));",
    );
    let renamed = format!("/api/sessions/{}", session.as_str().unwrap());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while server.get_json(&renamed)["session"]["title"] != "Checkout down in eu-west" {
        assert!(std::time::Instant::now() < deadline, "the title did not change");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Where am I: each card says its state in the session, "On this page" marks the same.
    let badge = |step: &str| {
        format!("return document.querySelector(\"section[data-step='{step}'] .step-state\")?.textContent || null;")
    };
    let badge_ok = |step: &str| {
        format!(
            "const t = document.querySelector(\"section[data-step='{step}'] .step-state\")?.textContent || ''; \
             return t.startsWith('ok') ? t : null;"
        )
    };
    let greet = browser.wait_for(&badge_ok("greet"), 10);
    assert!(greet.as_str().unwrap().contains('@'), "ok, when and by whom: {greet}");
    assert_eq!(browser.script(&badge("prepare")), json!("not run"));
    // `n` goes to the first step not done yet, `r` runs it.
    browser.script("document.activeElement.blur(); document.dispatchEvent(new KeyboardEvent('keydown', { key: 'n', bubbles: true }));");
    assert_eq!(browser.script("return document.activeElement.dataset.step || null;"), json!("prepare"));
    browser.script("document.dispatchEvent(new KeyboardEvent('keydown', { key: 'r', bubbles: true }));");
    browser.wait_for(&badge_ok("prepare"), 20);
    let marked = browser.wait_for("return document.querySelector('aside.toc a.toc-ok')?.textContent || null;", 10);
    assert!(!marked.as_str().unwrap().is_empty());
    // `n` now skips what is done; `?` lists the keys.
    browser.script("document.activeElement.blur(); document.dispatchEvent(new KeyboardEvent('keydown', { key: 'n', bubbles: true }));");
    let next = browser.script("return document.activeElement.dataset.step || null;");
    assert!(next != json!("prepare") && next != json!("greet"), "{next}");
    browser.script("document.activeElement.blur(); document.dispatchEvent(new KeyboardEvent('keydown', { key: '?', bubbles: true }));");
    let keys = browser.wait_for("return document.querySelector('dialog[open] pre')?.textContent || null;", 5);
    assert!(keys.as_str().unwrap().contains("n   go to the next step not done yet"), "{keys}");
    browser.script("document.querySelector('dialog[open]').close();");

    // Skip: `follow` waits for a log nobody writes yet; the reason goes on the timeline.
    browser.click("section[data-step='follow'] .run-skip");
    browser.wait_for("return document.querySelector('dialog[open] .skip-reason') ? true : null;", 5);
    browser.type_into("dialog[open] .skip-reason", "nothing to follow yet");
    browser.click("dialog[open] .skip-confirm");
    let skipped = browser.wait_for(
        "const t = document.querySelector(\"section[data-step='follow'] .step-state\")?.textContent || ''; \
         return t.startsWith('skipped') ? t : null;",
        10,
    );
    assert!(skipped.as_str().unwrap().contains("nothing to follow yet"), "{skipped}");
    let timeline = server.get_json(&format!("/api/sessions/{}", session.as_str().unwrap()));
    assert!(
        timeline["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["description"]
                == "Skipped step `follow` (Follow the log) of local-demo.md: nothing to follow yet"),
        "{timeline}"
    );

    // Continue from here: `write-log` (confirmed), `inspect`, past the skipped `follow`, then
    // `check-health` fails and it stops there: `transcript` does not run.
    browser.click("section[data-step='write-log'] .run-continue");
    browser.click("dialog[open] .confirm-run");
    browser.wait_for(
        "const t = document.querySelector(\"section[data-step='check-health'] .step-state\")?.textContent || ''; \
         return t.startsWith('failed') ? t : null;",
        30,
    );
    std::thread::sleep(Duration::from_millis(500));
    let states = browser.script(
        "return ['write-log', 'inspect', 'follow', 'check-health', 'transcript'].map((s) => \
         document.querySelector(`section[data-step='${s}']`).dataset.state);",
    );
    assert_eq!(states, json!(["ok", "ok", "skipped", "failed", "not-run"]));

    // Run again: same values, pre-filled and editable.
    let again = browser
        .script("return document.querySelector(\"section[data-step='greet'] button[data-run='step']\").textContent;");
    assert_eq!(again, json!("↻ Run again"));
    let input = "section[data-step='greet'] .run-inputs input[name='responder']";
    assert_eq!(browser.script(&format!("return document.querySelector(\"{input}\").value;")), json!("Dana"));
    browser.script(&format!(
        "const i = document.querySelector(\"{input}\"); i.value = ''; i.dispatchEvent(new Event('input'));"
    ));
    browser.type_into(input, "Eve");
    browser.click("section[data-step='greet'] button[data-run='step']");
    browser.wait_for(
        "const t = document.querySelector(\"section[data-step='greet'] .run-output\")?.textContent || ''; \
         return t.includes('Eve') ? t : null;",
        20,
    );
}

#[test]
fn an_interactive_step_runs_in_a_terminal_in_a_real_browser() {
    let Some((driver_bin, chromium)) = browser_binaries() else { return };
    let book = crate::common::fixture_book(
        "shell.md",
        "# Shell\n\n## A shell\n\n```bash {name=shell interactive}\nPS1='demo$ ' bash --norc --noprofile\n```\n",
    );
    let server = crate::serve::Server::start(book.path());
    let profile = tempfile::tempdir().unwrap();
    let browser = Driver::start(&driver_bin, &chromium, profile.path());
    browser.goto(&server.url);
    browser.goto(&format!("{}/shell.html", server.base));
    browser.click("section[data-step='shell'] button[data-run='step']");
    let rows = "return document.querySelector(\"section[data-step='shell'] .xterm-rows\")?.textContent || null;";
    let shown = |needle: &str| {
        format!(
            "const t = document.querySelector(\"section[data-step='shell'] .xterm-rows\")?.textContent || ''; \
             return t.includes({}) ? t : null;",
            serde_json::to_string(needle).unwrap()
        )
    };
    browser.wait_for(&shown("demo$"), 20);
    // Keys typed into the page's terminal reach the step's shell; its answer is drawn as text
    // (the DOM renderer: what a screen reader and this test read).
    browser.type_into("section[data-step='shell'] .xterm-helper-textarea", "echo hi-$((6*7))\u{E007}");
    browser.wait_for(&shown("hi-42"), 10);
    browser.type_into("section[data-step='shell'] .xterm-helper-textarea", "exit\u{E007}");
    let status = browser.wait_for(
        "const t = document.querySelector(\"section[data-step='shell'] .run-status\")?.textContent || ''; \
         return t.startsWith('exit') ? t : null;",
        20,
    );
    assert!(status.as_str().unwrap().starts_with("exit 0"), "{status}");
    // After a reload the finished run is drawn again from its record.
    browser.script("location.reload();");
    browser.wait_for(&shown("hi-42"), 20);
    assert!(browser.script(rows).as_str().unwrap().contains("demo$"));
}

/// The RGB pixels of a PNG (an element's screenshot, base64 as WebDriver sends it).
fn pixels(base64_png: &str) -> (u32, u32, Vec<[u8; 3]>) {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD.decode(base64_png).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buffer).unwrap();
    let step = info.color_type.samples();
    let pixels = buffer[..info.buffer_size()].chunks(step).map(|p| [p[0], p[1], p[2]]).collect();
    (info.width, info.height, pixels)
}

#[test]
fn the_postmortem_draws_the_incident_as_a_chart_in_a_real_browser() {
    let Some((driver_bin, chromium)) = browser_binaries() else { return };
    let book = fixture_book(
        "a.md",
        "# A\n\n## Check\n\n```bash\nsleep 0.3; echo fine\n```\n\n## Break\n\n```bash\nsleep 0.2; exit 3\n```\n",
    );
    let run = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_opsbook"))
            .args(args)
            .current_dir(book.path())
            .env("OPSBOOK_RESPONDER", "dana")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        (output.status.code().unwrap(), text(&output.stdout), text(&output.stderr))
    };
    let (_, id, stderr) = run(&["session", "new", "Checkout <b>down</b>", "--severity", "SEV2"]);
    let id = id.trim().to_owned();
    assert!(!id.is_empty(), "{stderr}");
    run(&["session", "note", &id, "Impact: checkout fails for <script>everyone</script>", "--kind", "impact"]);
    let (code, _, stderr) = run(&["run", "runbooks/a.md", "--all", "-y", "--session", &id]);
    assert_ne!(code, 0, "the second step fails: {stderr}");
    run(&["session", "status", &id, "monitoring"]);
    let (code, _, stderr) = run(&["export", &id, "--format", "html", "--output", "postmortem.html"]);
    assert_eq!(code, 0, "{stderr}");
    let html = std::fs::read_to_string(book.path().join("postmortem.html")).unwrap();
    assert!(html.contains("<svg class=\"timeline-chart\""), "the export draws the timeline");
    assert!(html.contains("class=\"run ok\"") && html.contains("class=\"run failed\""), "a bar per run, by outcome");
    assert!(html.contains("class=\"marker note\"") && html.contains("class=\"marker status\""));
    assert!(!html.contains("<script>everyone"), "text in the chart is escaped");
    let profile = tempfile::tempdir().unwrap();
    let browser = Driver::start(&driver_bin, &chromium, profile.path());
    browser.goto(&format!("file://{}", book.path().join("postmortem.html").display()));
    let chart = browser.element("svg.timeline-chart");
    let shot = browser.call("GET", &format!("/element/{chart}/screenshot"), json!({}));
    let (width, height, pixels) = pixels(shot.as_str().unwrap());
    assert!(width > 300 && height > 60, "{width}x{height}");
    let near = |p: &[u8; 3], c: [u8; 3]| p.iter().zip(c).all(|(a, b)| a.abs_diff(b) < 24);
    let green = pixels.iter().filter(|p| near(p, [0x2e, 0x7d, 0x32])).count();
    let red = pixels.iter().filter(|p| near(p, [0xc6, 0x28, 0x28])).count();
    assert!(green > 30 && red > 30, "the bars are drawn: {green} green, {red} red pixels");
}
