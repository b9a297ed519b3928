//! The browser terminal of an interactive step: `GET /api/runs/{run_id}/terminal`, a WebSocket
//! to the run's pty (see `exec::terminal`).
//!
//! Server to page: binary messages with the screen's bytes as the pty wrote them (what it
//! printed before the page attached first), then one text message `{"type": "exit", …}` (the
//! SSE `exit` data) when the run ends. Page to server: text messages `{"type": "input", "data":
//! "…"}` (keys as xterm.js encodes them, ctrl-c included) and `{"type": "resize", "cols": N,
//! "rows": M}`; a binary message is keys too. The exit comes once the run's end is recorded (or
//! after 2 s), as the SSE stream's does. One page at a time holds a run's terminal; when it
//! goes (the page closed, the connection lost) the run is stopped as Stop would, and a run nobody
//! attaches to within [`ATTACH_WITHIN`] is stopped too: no shell is left waiting for keys that
//! cannot come. The upgrade passes the same guard as every request, with the Origin check of a
//! state-changing one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::App;
use super::error::ApiError;
use super::wire::{ExitData, PathParams};
use crate::exec::{Process, TerminalSize};

/// How long a run started with a terminal waits for its page to attach.
pub const ATTACH_WITHIN: Duration = Duration::from_secs(30);

/// What the page sends.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
enum FromPage {
    Input { data: String },
    Resize { cols: u16, rows: u16 },
}

/// Whether a page holds the run's terminal.
#[derive(Debug, Default)]
pub(super) struct Attached(AtomicBool);

/// Stops a run in a pty that no page attaches to in time.
pub(super) fn stop_unless_attached(run: Process, attached: Arc<Attached>) {
    tokio::spawn(async move {
        tokio::time::sleep(ATTACH_WITHIN).await;
        if !attached.0.load(Ordering::SeqCst) && run.outcome().is_none() {
            tracing::warn!("a terminal run was stopped: no page attached within {ATTACH_WITHIN:?}");
            run.cancel();
        }
    });
}

pub(super) async fn attach(
    State(app): State<Arc<App>>,
    PathParams(run_id): PathParams<String>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let upgrade = upgrade.map_err(|rejection| ApiError::new(rejection.status(), rejection.body_text()))?;
    let (run, attached, recorded) = app
        .runs
        .lock()
        .ok()
        .and_then(|runs| runs.get(&run_id).map(|live| (live.run.clone(), live.attached.clone(), live.ended.clone())))
        .ok_or_else(|| ApiError::not_found(format!("no run `{run_id}` in this console")))?;
    if !run.is_terminal() {
        return Err(ApiError::conflict("this run has no terminal; follow its output at …/events"));
    }
    if run.outcome().is_some() {
        return Err(ApiError::conflict("this run has ended; its output is at …/events"));
    }
    if attached.0.swap(true, Ordering::SeqCst) {
        return Err(ApiError::conflict("another page holds this run's terminal"));
    }
    Ok(upgrade.on_upgrade(move |socket| session(socket, run, recorded)).into_response())
}

async fn session(mut socket: WebSocket, run: Process, mut recorded: tokio::sync::watch::Receiver<bool>) {
    let Some(mut screen) = run.attach_screen() else { return };
    if !screen.backlog.is_empty() && socket.send(Message::Binary(screen.backlog.into())).await.is_err() {
        run.cancel();
        return;
    }
    let mut ended = std::pin::pin!(run.wait());
    let mut live = !screen.ended;
    loop {
        tokio::select! {
            outcome = &mut ended => {
                while let Ok(bytes) = screen.live.try_recv() {
                    let _ = socket.send(Message::Binary(bytes.into())).await;
                }
                // As the SSE stream does: the exit once the store has the end (or after 2 s), so
                // a page that reads the session then sees the run ended.
                let _ = tokio::time::timeout(Duration::from_secs(2), recorded.wait_for(|recorded| *recorded)).await;
                let exit = ExitData {
                    end: outcome.end.as_str(),
                    code: outcome.exit_code,
                    signal: outcome.signal,
                    duration_ms: Some(outcome.duration_ms),
                };
                let mut message = serde_json::to_value(&exit).unwrap_or_default();
                message["type"] = "exit".into();
                let _ = socket.send(Message::Text(message.to_string().into())).await;
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
            shown = screen.live.recv(), if live => match shown {
                Ok(bytes) => {
                    if socket.send(Message::Binary(bytes.into())).await.is_err() {
                        run.cancel();
                        return;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    let note = "\r\n[opsbook] some output was skipped: this page fell behind\r\n";
                    let _ = socket.send(Message::Binary(note.as_bytes().to_vec().into())).await;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => live = false,
            },
            message = socket.recv() => match message {
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<FromPage>(&text) {
                    Ok(FromPage::Input { data }) => {
                        let _ = run.write_input(data.as_bytes()).await;
                    }
                    Ok(FromPage::Resize { cols, rows }) => {
                        if let Some(size) = (TerminalSize { cols, rows }).checked() {
                            let _ = run.resize(size);
                        }
                    }
                    Err(err) => tracing::warn!("a terminal message was not understood: {err}"),
                },
                Some(Ok(Message::Binary(bytes))) => {
                    let _ = run.write_input(&bytes).await;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                // The page went: its run goes too, as Stop would end it.
                Some(Ok(Message::Close(_)) | Err(_)) | None => {
                    run.cancel();
                    return;
                }
            },
        }
    }
}
