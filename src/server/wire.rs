//! The console API's JSON: what each request carries and each answer holds, as typed structs
//! (as `listing` is for `opsbook list --json`), and the extractors that read a request's path,
//! query and body with every failure as an [`ApiError`] (axum's own rejections answer in plain
//! text). `theme/console.js` reads these fields; `tests/it/wire.rs` holds them in a snapshot.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use crate::export::RunSummary;
use crate::session::{Health, Presence, Session};

/// An answer: a status and a JSON body.
#[derive(Debug)]
pub struct Reply<T>(pub StatusCode, pub T);

impl<T: Serialize> Reply<T> {
    pub fn ok(body: T) -> Reply<T> {
        Reply(StatusCode::OK, body)
    }
}

impl<T: Serialize> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        json_response(self.0, &self.1)
    }
}

/// A JSON body with its status; the one place answers and errors are written.
pub(super) fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let content_type = [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))];
            (status, content_type, bytes).into_response()
        }
        // Plain structs of strings and numbers: this does not happen.
        Err(err) => {
            let text = format!("{{\"error\":{}}}", serde_json::Value::from(format!("cannot write the answer: {err}")));
            (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "application/json")], text).into_response()
        }
    }
}

// Extractors.

/// A request body read as JSON (whatever its `Content-Type`), within the body limit.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// How long a request body may take to arrive (it is at most 64 KiB).
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        // A body that trickles in (or never comes) holds a connection; it has this long.
        let read = tokio::time::timeout(BODY_TIMEOUT, Bytes::from_request(request, state)).await.map_err(|_| {
            ApiError::new(
                axum::http::StatusCode::REQUEST_TIMEOUT,
                format!("the request body did not arrive within {} s", BODY_TIMEOUT.as_secs()),
            )
        })?;
        let bytes = read.map_err(|rejection| ApiError::new(rejection.status(), rejection.body_text()))?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|err| ApiError::bad_request(format!("invalid JSON body: {err}")))
    }
}

/// The parameters of the route's path.
#[derive(Debug)]
pub struct PathParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::from_request_parts(parts, state)
            .await
            .map(|Path(params)| PathParams(params))
            .map_err(|rejection| ApiError::new(rejection.status(), rejection.body_text()))
    }
}

/// The query string's parameters.
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::from_request_parts(parts, state)
            .await
            .map(|Query(params)| QueryParams(params))
            .map_err(|rejection| ApiError::new(rejection.status(), rejection.body_text()))
    }
}

// Requests.

/// `POST /api/sessions`.
#[derive(Debug, Deserialize)]
pub struct NewSession {
    pub title: String,
    /// One of the book's levels, any case. Default: the least severe.
    pub severity: Option<String>,
}

/// `POST /api/sessions/{id}/notes`.
#[derive(Debug, Deserialize)]
pub struct NewNote {
    pub text: String,
    /// A note kind as `NoteKind::parse` reads it. Default: `note`.
    #[serde(default)]
    pub kind: Option<String>,
}

/// `POST /api/sessions/{id}/status`.
#[derive(Debug, Deserialize)]
pub struct NewStatus {
    /// Any case.
    pub status: String,
}

/// `POST /api/sessions/{id}/severity`.
#[derive(Debug, Deserialize)]
pub struct NewSeverity {
    /// Any case.
    pub severity: String,
}

/// `POST /api/sessions/{id}/plan` and `…/runs`: what the browser sends to run something, names
/// and values, never shell text.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunBody {
    /// The runbook's path in the book, as `lookup::runbook` reads it.
    pub runbook: String,
    pub step: String,
    /// 0-based index into the step's commands; the whole step when absent.
    #[serde(default)]
    pub command: Option<usize>,
    #[serde(default)]
    pub inputs: HashMap<String, String>,
    #[serde(default)]
    pub confirm: bool,
    /// The plan's `digest` the person confirmed: the run is refused (409) if it changed since.
    #[serde(default)]
    pub plan: Option<String>,
    /// Run in a terminal of this size (an interactive step): the page then attaches to
    /// `/api/runs/{run_id}/terminal`.
    #[serde(default)]
    pub terminal: Option<crate::exec::TerminalSize>,
}

/// `POST /api/sessions/{id}/title`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTitle {
    pub title: String,
}

/// `POST /api/sessions/{id}/skips`: a step skipped, and why.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSkip {
    pub runbook: String,
    pub step: String,
    pub reason: String,
}

/// `GET /api/sessions/{id}/export?format=`.
#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    /// `md` (default), `json` or `html`.
    #[serde(default)]
    pub format: Option<String>,
}

// Answers.

/// `GET /api/book`: what the console's forms offer.
#[derive(Debug, Serialize)]
pub struct BookInfo {
    pub title: Option<String>,
    /// Most severe first.
    pub severities: Vec<String>,
    pub statuses: Vec<&'static str>,
    pub note_kinds: Vec<&'static str>,
    /// Who runs this server, where.
    pub user: String,
    pub host: String,
}

/// `201` to `POST /api/sessions`.
#[derive(Debug, Serialize)]
pub struct SessionCreated {
    pub id: String,
}

/// `201` to `POST /api/sessions/{id}/notes` and `…/skips`: the event's place in the session.
#[derive(Debug, Serialize)]
pub struct Recorded {
    pub seq: u64,
}

/// `202` to `POST /api/sessions/{id}/runs`.
#[derive(Debug, Serialize)]
pub struct RunAccepted {
    pub run_id: String,
    /// The session the run opened (`POST /api/runs`, no session open).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

/// `202` to `POST /api/runs/{run_id}/cancel`: the run being cancelled.
#[derive(Debug, Serialize)]
pub struct Cancelling {
    pub cancelling: String,
}

/// `GET /api/sessions/{id}`: the session as the console's panel shows it.
#[derive(Debug, Serialize)]
pub struct SessionView<'a> {
    pub session: Session,
    /// The timeline drawn (`export::timeline_svg`): an SVG document, every text in it escaped.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub chart: String,
    pub timeline: Vec<TimelineEntry<'a>>,
    pub runs: Vec<RunView<'a>>,
    /// Each runbook the session has run or skipped steps of: its steps in order, with their
    /// state.
    pub progress: BTreeMap<String, Vec<crate::progress::StepProgress<'a>>>,
    /// Inputs the session remembers (given, or written by a step to `$OPSBOOK_OUTPUT`), for
    /// the forms (exported variables and secrets stay out).
    pub inputs: BTreeMap<String, String>,
    /// Names of the secret-named values this console holds in memory for the session: the form
    /// shows them as set, masked, and a run uses them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<String>,
    pub status_update: String,
    /// Who has the session open now.
    pub responders: Vec<Presence>,
    pub store: Health,
}

/// One event of the timeline.
#[derive(Debug, Serialize)]
pub struct TimelineEntry<'a> {
    pub seq: u64,
    /// RFC 3339, UTC.
    pub timestamp: String,
    /// `HH:MM`, UTC.
    pub time: String,
    /// The responder.
    pub actor: &'a str,
    pub host: &'a str,
    /// `cli`, `console` or `opsbook`.
    pub source: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub description: String,
}

/// A run of the session: the export's summary, and where it runs.
#[derive(Debug, Serialize)]
pub struct RunView<'a> {
    #[serde(flatten)]
    pub summary: RunSummary<'a>,
    /// No end recorded yet.
    pub running: bool,
    /// Running in this server (so cancel works here).
    pub here: bool,
    /// Run in a terminal (an interactive step): its output is a screen to draw.
    pub terminal: bool,
    /// The values it ran with, for "Run again": those kept whole (a secret, or a value with a
    /// secret masked in it, is typed again).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<&'a str, &'a str>,
}

/// `POST /api/sessions/{id}/plan`: what a run would do. While inputs are missing, `commands` is
/// null and `reason` and `warnings` are left out.
#[derive(Debug, Serialize)]
pub struct PlanView {
    /// The commands with the values in place, secrets masked: what the person confirms.
    pub commands: Option<String>,
    pub risk: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub needs_confirmation: bool,
    /// What the person confirms, to send back as the run's `plan` (absent while inputs are
    /// missing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Values handed to a second interpreter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
    pub missing: Vec<MissingInput>,
}

/// An input a run needs and was not given.
#[derive(Debug, Serialize)]
pub struct MissingInput {
    pub name: String,
    /// The step of the runbook that would set it.
    pub set_by: Option<String>,
}

impl From<&crate::exec::script::MissingInput> for MissingInput {
    fn from(missing: &crate::exec::script::MissingInput) -> MissingInput {
        MissingInput { name: missing.name.clone(), set_by: missing.set_by.clone() }
    }
}

// Server-sent events' data.

/// `output` of a run's stream; its SSE id is the chunk's number.
#[derive(Debug, Serialize)]
pub struct OutputData<'a> {
    pub stream: crate::record::Stream,
    pub text: &'a str,
}

/// `exit`, the last event of a run's stream.
#[derive(Debug, Serialize)]
pub struct ExitData {
    /// `exited`, `timed-out`, `cancelled` or `interrupted`.
    pub end: &'static str,
    pub code: Option<i32>,
    pub signal: Option<i32>,
    /// Unknown for an interrupted run.
    pub duration_ms: Option<u64>,
}

/// `change` of a session's live stream: read the session again; the store's health.
#[derive(Debug, Serialize)]
pub struct ChangeData<'a> {
    pub store: &'a Health,
}

/// `reload` of the reload stream: the page that changed, `*` for all.
#[derive(Debug, Serialize)]
pub struct ReloadData<'a> {
    pub path: &'a str,
}
