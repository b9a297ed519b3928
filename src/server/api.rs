//! The JSON API (DESIGN "Interfaces"): sessions, notes, status and severity, plans and runs,
//! run output over SSE (resumable with `Last-Event-ID`), cancel, exports, and page reloads.
//! Requests and answers are the typed structs of `wire`; every failure is an `ApiError`.
//! Names (runbook, step, command, severity, note kind) are checked where the command line
//! checks them: `lookup` and `NoteKind::parse`.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use futures_util::Stream;

use super::error::ApiError;
use super::wire::{
    BookInfo, Cancelling, ChangeData, ExitData, ExportQuery, JsonBody, MissingInput, NewNote, NewSession, NewSeverity,
    NewSkip, NewStatus, NewTitle, OutputData, PathParams, PlanView, QueryParams, Recorded, ReloadData, Reply,
    RunAccepted, RunBody, RunView, SessionCreated, SessionView, TimelineEntry,
};
use super::{App, LiveRun};
use crate::exec::script::{ScriptError, Selection};
use crate::exec::{self, ProcessEvent};
use crate::model::{Book, Runbook, Step};
use crate::runner::{RunError, RunRequest};
use crate::session::{Actor, Change, EventKind, NoteKind, Status, StoreError};
use crate::{export, lookup};

type ApiResult<T> = Result<T, ApiError>;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/go", get(go))
        .route("/api/alerts", post(super::alerts::receive))
        .route("/api/book", get(book_info))
        .route("/api/sessions", get(list_sessions).post(create_session))
        .route("/api/sessions/{id}", get(session_state))
        .route("/api/sessions/{id}/notes", post(add_note))
        .route("/api/sessions/{id}/status", post(set_status))
        .route("/api/sessions/{id}/severity", post(set_severity))
        .route("/api/sessions/{id}/title", post(set_title))
        .route("/api/sessions/{id}/close", post(close_session))
        .route("/api/sessions/{id}/skips", post(skip_step))
        .route("/api/plan", post(plan_opening))
        .route("/api/runs", post(start_opening_run))
        .route("/api/sessions/{id}/plan", post(plan_run))
        .route("/api/sessions/{id}/runs", post(start_run))
        .route("/api/sessions/{id}/export", get(export_session))
        .route("/api/sessions/{id}/live", get(session_live))
        .route("/api/runs/{run_id}/events", get(run_events))
        .route("/api/runs/{run_id}/cancel", post(cancel_run))
        .route("/api/runs/{run_id}/terminal", get(super::terminal::attach))
        .route("/api/reload", get(reload_events))
        .route("/api/runbooks/{*path}", get(runbook_listing))
        .route("/api", any(no_such_endpoint))
        .route("/api/", any(no_such_endpoint))
        .route("/api/{*rest}", any(no_such_endpoint))
        .method_not_allowed_fallback(method_not_allowed)
}

/// Any other path under `/api/`: the same error body as every other failure.
async fn no_such_endpoint(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no API endpoint `{}`", uri.path()))
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "this endpoint does not take that method")
}

fn actor() -> Actor {
    Actor::local("console")
}

/// Runs a store call off the async threads.
async fn store_call<T: Send + 'static>(
    app: &Arc<App>,
    call: impl FnOnce(&dyn crate::session::SessionStore) -> Result<T, StoreError> + Send + 'static,
) -> ApiResult<T> {
    let app = app.clone();
    Ok(tokio::task::spawn_blocking(move || call(app.runner.store().as_ref())).await??)
}

async fn book_info(State(app): State<Arc<App>>) -> Reply<BookInfo> {
    let book = app.book();
    let config = &book.config;
    Reply::ok(BookInfo {
        title: config.book.title.clone(),
        severities: config.severity_names().into_iter().map(str::to_owned).collect(),
        statuses: Status::ALL.map(Status::as_str).to_vec(),
        note_kinds: NoteKind::ALL.map(NoteKind::as_str).to_vec(),
        user: crate::record::user(),
        host: crate::record::host(),
    })
}

/// `GET /go?alert=NAME&label.namespace=prod`: the alert's runbook (front matter `alerts:`, else
/// the rule's `runbook_url`), its labels filling the inputs of the same name. What an
/// Alertmanager or Grafana `runbook_url` template points at; the static site's `go.html` does
/// the same.
async fn go(State(app): State<Arc<App>>, QueryParams(query): QueryParams<Vec<(String, String)>>) -> Response {
    let book = app.book();
    let Some(name) = query.iter().find(|(k, _)| k == "alert").map(|(_, v)| v.trim().to_owned()) else {
        return (StatusCode::BAD_REQUEST, "give the alert: /go?alert=NAME&label.NAME=VALUE\n").into_response();
    };
    let labels: Vec<(String, String)> =
        query.iter().filter_map(|(k, v)| k.strip_prefix("label.").map(|label| (label.to_owned(), v.clone()))).collect();
    let links = crate::alerts::links(&book, &crate::alerts::book_rules(&book));
    match links.get(&name) {
        Some(link) => {
            let location = format!("/{}", crate::alerts::go_url(link, &labels));
            (StatusCode::SEE_OTHER, [(axum::http::header::LOCATION, location)]).into_response()
        }
        None => {
            let known: Vec<&str> = links.keys().map(String::as_str).collect();
            let message = format!(
                "No runbook answers alert `{}`. Name it in a runbook's front matter (`alerts: [{}]`){}.\n",
                crate::line::one_line(&name),
                crate::line::one_line(&name),
                if known.is_empty() { String::new() } else { format!("; the book answers: {}", known.join(", ")) }
            );
            (StatusCode::NOT_FOUND, [(axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], message)
                .into_response()
        }
    }
}

/// One runbook's steps as `opsbook list --json` gives them, for the console's forms: by its
/// page (`db/failover.html`) or by name.
async fn runbook_listing(State(app): State<Arc<App>>, PathParams(path): PathParams<String>) -> ApiResult<Response> {
    let book = app.book();
    let runbook = match book.runbooks.iter().find(|r| crate::site::html_path(&r.path) == path) {
        Some(runbook) => runbook.clone(),
        None => lookup::runbook(&book, &path)?.clone().into(),
    };
    // Each step's last run in an incident, from every session of the store.
    let runs = store_call(&app, |store| Ok(crate::freshness::last_runs(store))).await?;
    let last_runs: BTreeMap<&str, &crate::freshness::LastRun> = runbook
        .steps
        .iter()
        .filter_map(|s| runs.get(&crate::freshness::key(&runbook.path, &s.id)).map(|r| (s.id.as_str(), r)))
        .collect();
    let listing = crate::listing::runbook(&runbook);
    let mut value =
        serde_json::to_value(&listing).map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    value["last_runs"] = serde_json::to_value(&last_runs).unwrap_or_default();
    Ok(Reply::ok(value).into_response())
}

async fn list_sessions(State(app): State<Arc<App>>) -> ApiResult<Reply<Vec<crate::session::Session>>> {
    Ok(Reply::ok(store_call(&app, |store| store.sessions()).await?))
}

async fn create_session(
    State(app): State<Arc<App>>,
    JsonBody(request): JsonBody<NewSession>,
) -> ApiResult<Reply<SessionCreated>> {
    let title = request.title.trim().to_owned();
    if title.is_empty() {
        return Err(ApiError::bad_request("a session needs a title"));
    }
    let book = app.book();
    let severity = match &request.severity {
        Some(given) => lookup::severity(&book.config, given)?,
        None => book.config.default_severity(),
    };
    let session =
        store_call(&app, move |store| store.create(&title, &severity, &actor(), crate::clock::now_ms())).await?;
    Ok(Reply(StatusCode::CREATED, SessionCreated { id: session.id }))
}

async fn session_state(State(app): State<Arc<App>>, PathParams(id): PathParams<String>) -> ApiResult<Response> {
    let lookup = id.clone();
    let (session, events, vars, present, health) = store_call(&app, move |store| {
        let session = store.session(&lookup)?;
        let present = store.presence(&lookup, crate::session::PRESENCE_GONE_MS).unwrap_or_default();
        Ok((session, store.events(&lookup, 0)?, store.vars(&lookup)?, present, store.health()))
    })
    .await?;
    let runs = export::runs(&events);
    let live: Vec<String> = app
        .runs
        .lock()
        .map(|runs| runs.iter().filter(|(_, l)| l.run.outcome().is_none()).map(|(id, _)| id.clone()).collect())
        .unwrap_or_default();
    let timeline = events
        .iter()
        .filter(|e| export::on_timeline(e))
        .map(|event| {
            let at = crate::clock::utc(event.at);
            TimelineEntry {
                seq: event.seq,
                timestamp: at.rfc3339,
                time: at.time,
                actor: &event.actor.user,
                host: &event.actor.host,
                source: &event.actor.source,
                kind: event.kind.name(),
                description: export::describe(event, &runs),
            }
        })
        .collect();
    let run_views = runs
        .iter()
        .map(|run| RunView {
            summary: export::run_summary(run),
            running: run.end.is_none(),
            here: live.contains(&run.started.run_id),
            terminal: run.started.cast.is_some(),
            inputs: run
                .started
                .inputs
                .iter()
                .filter(|(name, value)| {
                    !crate::exec::redact::is_secret_name(name) && !value.contains(crate::exec::redact::MASK)
                })
                .map(|(name, value)| (name.as_str(), value.as_str()))
                .collect(),
        })
        .collect();
    // Where the incident stands in each runbook it has touched.
    let book = app.book();
    let progress = crate::progress::of_book(&book, &events, &runs)
        .into_iter()
        .map(|(runbook, progress)| (runbook.path.clone(), progress))
        .collect();
    let view = SessionView {
        chart: export::timeline_svg(&session, &events),
        progress,
        status_update: export::status_update(&session, &events),
        session,
        timeline,
        runs: run_views,
        inputs: vars.into_iter().filter(|(name, _)| !name.starts_with("env:")).collect::<BTreeMap<_, _>>(),
        held: app.runner.held(&id),
        responders: present,
        store: health,
    };
    Ok(Reply::ok(view).into_response())
}

async fn add_note(
    State(app): State<Arc<App>>,
    PathParams(id): PathParams<String>,
    JsonBody(request): JsonBody<NewNote>,
) -> ApiResult<Reply<Recorded>> {
    let given = request.kind.as_deref().unwrap_or("note");
    let kind = NoteKind::parse(given).ok_or_else(|| ApiError::bad_request(format!("unknown note kind `{given}`")))?;
    let text = request.text.trim().to_owned();
    if text.is_empty() {
        return Err(ApiError::bad_request("the note is empty"));
    }
    let event = store_call(&app, move |store| {
        store.append(&id, &actor(), crate::clock::now_ms(), EventKind::NoteAdded { note: kind, text })
    })
    .await?;
    Ok(Reply(StatusCode::CREATED, Recorded { seq: event.seq }))
}

async fn set_status(
    State(app): State<Arc<App>>,
    PathParams(id): PathParams<String>,
    JsonBody(request): JsonBody<NewStatus>,
) -> ApiResult<StatusCode> {
    let to = Status::parse(&request.status)
        .ok_or_else(|| ApiError::bad_request(format!("unknown status `{}`", request.status)))?;
    store_call(&app, move |store| crate::session::set_status(store, &id, &actor(), crate::clock::now_ms(), to)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_severity(
    State(app): State<Arc<App>>,
    PathParams(id): PathParams<String>,
    JsonBody(request): JsonBody<NewSeverity>,
) -> ApiResult<StatusCode> {
    let to = lookup::severity(&app.book().config, &request.severity)?;
    store_call(&app, move |store| crate::session::set_severity(store, &id, &actor(), crate::clock::now_ms(), &to))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_title(
    State(app): State<Arc<App>>,
    PathParams(id): PathParams<String>,
    JsonBody(request): JsonBody<NewTitle>,
) -> ApiResult<StatusCode> {
    if request.title.trim().is_empty() {
        return Err(ApiError::bad_request("a session needs a title"));
    }
    store_call(&app, move |store| {
        crate::session::set_title(store, &id, &actor(), crate::clock::now_ms(), &request.title)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn close_session(State(app): State<Arc<App>>, PathParams(id): PathParams<String>) -> ApiResult<StatusCode> {
    let closed =
        store_call(&app, move |store| crate::session::close(store, &id, &actor(), crate::clock::now_ms())).await?;
    if !closed {
        return Err(ApiError::conflict("the session is already closed"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/sessions/{id}/skips`: the step is skipped in the session, with the reason on the
/// timeline (`Runner::skip`).
async fn skip_step(
    State(app): State<Arc<App>>,
    PathParams(id): PathParams<String>,
    JsonBody(request): JsonBody<NewSkip>,
) -> ApiResult<Reply<Recorded>> {
    let book = app.book();
    let runbook = lookup::runbook(&book, &request.runbook)?;
    let step = lookup::step(runbook, &request.step)?;
    let event = app.runner.skip(&id, runbook, step, &request.reason, actor()).await?;
    Ok(Reply(StatusCode::CREATED, Recorded { seq: event.seq }))
}

/// The runbook, step and selection a run body names, by the rules of `lookup`.
fn find<'b>(book: &'b Book, body: &RunBody) -> ApiResult<(&'b Runbook, &'b Step, Selection)> {
    let runbook = lookup::runbook(book, &body.runbook)?;
    let step = lookup::step(runbook, &body.step)?;
    let selection = lookup::command(step, body.command)?;
    Ok((runbook, step, selection))
}

fn run_request<'b>(
    app: &App,
    book: &'b Book,
    session_id: &'b str,
    runbook: &'b Runbook,
    step: &'b Step,
    selection: Selection,
    body: RunBody,
) -> ApiResult<RunRequest<'b>> {
    let pty = match body.terminal {
        Some(size) => Some(size.checked().ok_or_else(|| {
            ApiError::bad_request(format!(
                "a terminal of {}x{} cells: it takes 10 to 1000 columns and 2 to 500 rows",
                size.cols, size.rows
            ))
        })?),
        None => None,
    };
    Ok(RunRequest {
        session_id,
        runbook,
        step,
        selection,
        config: &book.config.opsbook,
        inputs: body.inputs,
        confirmed: body.confirm,
        confirmed_plan: body.plan,
        cwd: app.cwd.clone(),
        actor: actor(),
        pty,
    })
}

/// What a run would do: the commands with the values in place, risk, and what is missing.
async fn plan_run(
    State(app): State<Arc<App>>,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<RunBody>,
) -> ApiResult<Reply<PlanView>> {
    let book = app.book();
    let (runbook, step, selection) = find(&book, &body)?;
    let session = store_call(&app, move |store| store.session(&id)).await?;
    let request = run_request(&app, &book, &session.id, runbook, step, selection, body)?;
    plan_view(step, app.runner.plan(&request).await)
}

/// `POST /api/plan`: what a run would do in the session it would open (nothing remembered).
async fn plan_opening(State(app): State<Arc<App>>, JsonBody(body): JsonBody<RunBody>) -> ApiResult<Reply<PlanView>> {
    let book = app.book();
    let (runbook, step, selection) = find(&book, &body)?;
    let request = run_request(&app, &book, "", runbook, step, selection, body)?;
    plan_view(step, app.runner.plan_fresh(&request))
}

fn plan_view(step: &Step, planned: Result<crate::runner::Plan, RunError>) -> ApiResult<Reply<PlanView>> {
    match planned {
        Ok(plan) => Ok(Reply::ok(PlanView {
            digest: Some(plan.digest()),
            commands: Some(plan.shown),
            risk: plan.risk.as_str(),
            reason: Some(plan.reason),
            needs_confirmation: plan.needs_confirmation,
            warnings: Some(plan.script.handed_over.iter().map(ToString::to_string).collect()),
            missing: Vec::new(),
        })),
        // A plan with inputs missing is an answer, not a failure: the console asks for them.
        Err(RunError::Script { source: ScriptError::Missing(missing), .. }) => Ok(Reply::ok(PlanView {
            commands: None,
            risk: step.risk.as_str(),
            reason: None,
            needs_confirmation: step.risk.needs_confirmation() || step.settings.confirm,
            digest: None,
            warnings: None,
            missing: missing.iter().map(MissingInput::from).collect(),
        })),
        Err(err) => Err(err.into()),
    }
}

async fn start_run(
    State(app): State<Arc<App>>,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<RunBody>,
) -> ApiResult<Reply<RunAccepted>> {
    launch(app, body, Some(id)).await
}

/// `POST /api/runs`: the first Run with no session open starts the run in a session opened
/// for it (`runner::opening`); the answer names the session.
async fn start_opening_run(
    State(app): State<Arc<App>>,
    JsonBody(body): JsonBody<RunBody>,
) -> ApiResult<Reply<RunAccepted>> {
    launch(app, body, None).await
}

/// Starts a run in `session`, or in a new one.
async fn launch(app: Arc<App>, body: RunBody, session: Option<String>) -> ApiResult<Reply<RunAccepted>> {
    // Started to the end in a task of its own: a client that goes away mid-start (a tab
    // closed, a timeout) cannot leave a process held at its gate, or running unrecorded.
    let starting = tokio::spawn(async move {
        let book = app.book();
        let (runbook, step, selection) = find(&book, &body)?;
        // The runner refuses an unknown or closed session and an unconfirmed risky step.
        let (started, opened) = match session {
            Some(id) => {
                let request = run_request(&app, &book, &id, runbook, step, selection, body)?;
                (app.runner.start(request).await?, None)
            }
            None => {
                let request = run_request(&app, &book, "", runbook, step, selection, body)?;
                let opening = crate::runner::opening(&book.config, runbook);
                let (session, started) = app.runner.start_opening(request, opening).await?;
                (started, Some(session.id))
            }
        };
        let run_id = started.run_id.clone();
        let attached = Arc::new(super::terminal::Attached::default());
        if started.run.is_terminal() {
            super::terminal::stop_unless_attached(started.run.clone(), attached.clone());
        }
        if let Ok(mut runs) = app.runs.lock() {
            let live = LiveRun { run: started.run, recorded: Some(started.recorded), ended: started.ended, attached };
            runs.insert(run_id.clone(), live);
        }
        Ok::<_, ApiError>((run_id, opened))
    });
    let (run_id, session_id) = starting.await??;
    Ok(Reply(StatusCode::ACCEPTED, RunAccepted { run_id, session_id }))
}

async fn export_session(
    State(app): State<Arc<App>>,
    PathParams(id): PathParams<String>,
    QueryParams(query): QueryParams<ExportQuery>,
) -> ApiResult<Response> {
    let format = query.format.unwrap_or_else(|| "md".to_owned());
    if !matches!(format.as_str(), "md" | "json" | "html") {
        return Err(ApiError::bad_request(format!("unknown format `{format}`; use md, json or html")));
    }
    let (body, content_type) = store_call(&app, move |store| {
        let session = store.session(&id)?;
        let events = store.events(&id, 0)?;
        Ok(match format.as_str() {
            "json" => (
                serde_json::to_string_pretty(&export::json(&session, &events, store)).unwrap_or_default(),
                "application/json",
            ),
            "html" => (export::html(&session, &events, store), "text/html; charset=utf-8"),
            _ => (export::markdown(&session, &events, store), "text/markdown; charset=utf-8"),
        })
    })
    .await?;
    // An export holds what people typed and commands printed: a document to read, sandboxed,
    // never a page that runs on the console's origin.
    Ok(([(header::CONTENT_TYPE, content_type), (header::CONTENT_SECURITY_POLICY, super::headers::EXPORT_POLICY)], body)
        .into_response())
}

async fn cancel_run(
    State(app): State<Arc<App>>,
    PathParams(run_id): PathParams<String>,
) -> ApiResult<Reply<Cancelling>> {
    let run = app.runs.lock().ok().and_then(|runs| runs.get(&run_id).map(|live| live.run.clone()));
    match run {
        Some(run) if run.outcome().is_none() => {
            run.cancel();
            Ok(Reply(StatusCode::ACCEPTED, Cancelling { cancelling: run_id }))
        }
        Some(_) => Err(ApiError::conflict("the run has already ended")),
        None => {
            let lookup = run_id.clone();
            let known = store_call(&app, move |store| store.run_events(&lookup)).await?;
            if known.is_empty() {
                Err(ApiError::not_found(format!("no run `{run_id}`")))
            } else {
                Err(ApiError::conflict("this run is not running in this server"))
            }
        }
    }
}

fn output_event(chunk: &crate::record::Chunk) -> SseEvent {
    let data = OutputData { stream: chunk.stream, text: &chunk.text };
    SseEvent::default().event("output").id(chunk.seq.to_string()).json_data(data).unwrap_or_default()
}

fn exit_event(end: &'static str, code: Option<i32>, signal: Option<i32>, duration_ms: Option<u64>) -> SseEvent {
    SseEvent::default().event("exit").json_data(ExitData { end, code, signal, duration_ms }).unwrap_or_default()
}

fn change_event(health: &crate::session::Health) -> SseEvent {
    SseEvent::default().event("change").json_data(ChangeData { store: health }).unwrap_or_default()
}

/// Where a stream of a run's events stands.
enum Source {
    /// A run of this server, and whether its end is recorded yet.
    Live(exec::Subscription, tokio::sync::watch::Receiver<bool>),
    /// A run this server did not start (another process, another machine, or an earlier
    /// server): its output is read from the store until the store records its end.
    Recorded {
        next_seq: u64,
        backlog: std::collections::VecDeque<crate::record::Chunk>,
        changes: tokio::sync::broadcast::Receiver<Change>,
    },
    Done,
}

/// How often a stream of a run this server did not start reads the store when it hears
/// nothing (a store that does not tell of other processes' writes).
const RECORDED_POLL: Duration = Duration::from_millis(250);

/// How long a live run's `exit` event waits for its end to be recorded.
const END_RECORD_WAIT: Duration = Duration::from_secs(2);

/// The end a run's events record, for its `exit` event.
fn recorded_exit(events: &[crate::session::Event]) -> Option<SseEvent> {
    events.iter().find_map(|e| match &e.kind {
        EventKind::RunFinished(ended) => Some(exit_event(
            if ended.timed_out { "timed-out" } else { "exited" },
            ended.exit_code,
            ended.signal,
            Some(ended.duration_ms),
        )),
        EventKind::RunCancelled(ended) => {
            Some(exit_event("cancelled", ended.exit_code, ended.signal, Some(ended.duration_ms)))
        }
        EventKind::RunInterrupted { .. } => Some(exit_event("interrupted", None, None, None)),
        _ => None,
    })
}

async fn run_events(
    State(app): State<Arc<App>>,
    PathParams(run_id): PathParams<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    // Chunk numbers are stored as SQL integers: a larger id than any can be is past the end.
    let after: u64 = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(0, |after| after.min(i64::MAX as u64));
    let live =
        app.runs.lock().ok().and_then(|runs| runs.get(&run_id).map(|live| (live.run.clone(), live.ended.clone())));
    let source = match live {
        Some((run, ended)) => Source::Live(run.subscribe(after), ended),
        None => {
            // Listen before looking, so that nothing written in between is missed.
            let changes = app.runner.store().changes();
            let lookup = run_id.clone();
            let events = store_call(&app, move |store| store.run_events(&lookup)).await?;
            if !events.iter().any(|e| matches!(e.kind, EventKind::RunStarted(_))) {
                return Err(ApiError::not_found(format!("no run `{run_id}`")));
            }
            Source::Recorded { next_seq: after.saturating_add(1), backlog: Default::default(), changes }
        }
    };
    let shutdown = app.shutdown.clone();
    let stream = futures_util::stream::unfold(
        (source, app, run_id, shutdown),
        |(source, app, run_id, mut shutdown)| async move {
            if *shutdown.borrow() {
                return None;
            }
            let (event, source) = match source {
                Source::Done => return None,
                Source::Live(mut subscription, mut ended) => {
                    let next = tokio::select! {
                        next = subscription.next() => next,
                        _ = shutdown.changed() => None,
                    };
                    match next {
                        Some(ProcessEvent::Output(chunk)) => (output_event(&chunk), Source::Live(subscription, ended)),
                        Some(ProcessEvent::Exit(outcome)) => {
                            // The end is said once the record has it, so that what the console
                            // does next (an export, the timeline) shows it; a store that cannot
                            // take it now does not keep the end from the person watching.
                            let _ = tokio::time::timeout(END_RECORD_WAIT, ended.wait_for(|ended| *ended)).await;
                            let event = exit_event(
                                outcome.end.as_str(),
                                outcome.exit_code,
                                outcome.signal,
                                Some(outcome.duration_ms),
                            );
                            (event, Source::Done)
                        }
                        None => return None,
                    }
                }
                Source::Recorded { mut next_seq, mut backlog, mut changes } => loop {
                    if let Some(chunk) = backlog.pop_front() {
                        next_seq = chunk.seq + 1;
                        break (output_event(&chunk), Source::Recorded { next_seq, backlog, changes });
                    }
                    // Output first; with none new, its end, and once more its output: output
                    // written before the end is read after it, so none is missed.
                    let lookup = run_id.clone();
                    let (chunks, end) = store_call(&app, move |store| {
                        let chunks = store.output(&lookup, next_seq - 1)?;
                        if !chunks.is_empty() {
                            return Ok((chunks, None));
                        }
                        let end = recorded_exit(&store.run_events(&lookup)?);
                        Ok((if end.is_some() { store.output(&lookup, next_seq - 1)? } else { chunks }, end))
                    })
                    .await
                    .unwrap_or_default();
                    if !chunks.is_empty() {
                        backlog = chunks.into();
                        continue;
                    }
                    if let Some(exit) = end {
                        break (exit, Source::Done);
                    }
                    let wait = async {
                        loop {
                            match changes.recv().await {
                                Ok(Change::Output(run)) if run != run_id => {}
                                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                                    std::future::pending::<()>().await;
                                }
                                _ => break,
                            }
                        }
                    };
                    tokio::select! {
                        () = wait => {}
                        () = tokio::time::sleep(RECORDED_POLL) => {}
                        _ = shutdown.changed() => return None,
                    }
                },
            };
            Some((Ok::<_, Infallible>(event), (source, app, run_id, shutdown)))
        },
    );
    Ok(sse(stream))
}

/// Open consoles say they are in the session this often (they count as present for
/// `session::PRESENCE_GONE_MS`).
const PRESENCE_EVERY: Duration = Duration::from_secs(10);
/// How often a session's stream looks for events the store did not tell of (another process
/// on a local store).
const SESSION_POLL: Duration = Duration::from_secs(2);

/// `GET /api/sessions/{id}/live`: a `change` event whenever the session changes (anyone's
/// event, someone arriving) or the store goes offline or comes back, with the store's health.
/// While it is open, this console's responder counts as present in the session.
async fn session_live(State(app): State<Arc<App>>, PathParams(id): PathParams<String>) -> ApiResult<Response> {
    let changes = app.runner.store().changes();
    let lookup = id.clone();
    let actor = Actor::local("console");
    let (last_seq, health) = store_call(&app, move |store| {
        store.session(&lookup)?;
        let last = store.events(&lookup, 0)?.last().map_or(0, |e| e.seq);
        store.touch_presence(&lookup, &actor)?;
        Ok((last, store.health()))
    })
    .await?;
    struct Live {
        app: Arc<App>,
        id: String,
        changes: tokio::sync::broadcast::Receiver<Change>,
        shutdown: tokio::sync::watch::Receiver<bool>,
        last_seq: u64,
        next_touch: tokio::time::Instant,
        first: Option<crate::session::Health>,
    }
    let live = Live {
        shutdown: app.shutdown.clone(),
        app,
        id,
        changes,
        last_seq,
        next_touch: tokio::time::Instant::now() + PRESENCE_EVERY,
        first: Some(health),
    };
    let stream = futures_util::stream::unfold(live, |mut live| async move {
        if let Some(health) = live.first.take() {
            let event = change_event(&health);
            return Some((Ok::<_, Infallible>(event), live));
        }
        loop {
            if *live.shutdown.borrow() {
                return None;
            }
            let changed = tokio::select! {
                received = live.changes.recv() => match received {
                    Ok(Change::Session(session)) => session == live.id,
                    Ok(Change::Health) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => true,
                    Ok(Change::Output(_)) => false,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                },
                () = tokio::time::sleep(SESSION_POLL) => {
                    let (lookup, after) = (live.id.clone(), live.last_seq);
                    let touch = tokio::time::Instant::now() >= live.next_touch;
                    if touch {
                        live.next_touch = tokio::time::Instant::now() + PRESENCE_EVERY;
                    }
                    store_call(&live.app, move |store| {
                        if touch {
                            store.touch_presence(&lookup, &Actor::local("console"))?;
                        }
                        Ok(!store.events(&lookup, after)?.is_empty())
                    })
                    .await
                    .unwrap_or(false)
                }
                _ = live.shutdown.changed() => return None,
            };
            if !changed {
                continue;
            }
            // Let a burst settle into one notice.
            tokio::time::sleep(Duration::from_millis(30)).await;
            while live.changes.try_recv().is_ok() {}
            let (lookup, after) = (live.id.clone(), live.last_seq);
            let (last, health) = store_call(&live.app, move |store| {
                Ok((store.events(&lookup, after)?.last().map_or(after, |e| e.seq), store.health()))
            })
            .await
            .unwrap_or((live.last_seq, live.app.runner.store().health()));
            live.last_seq = last;
            let event = change_event(&health);
            return Some((Ok::<_, Infallible>(event), live));
        }
    });
    Ok(sse(stream))
}

fn sse(stream: impl Stream<Item = Result<SseEvent, Infallible>> + Send + 'static) -> Response {
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}

async fn reload_events(State(app): State<Arc<App>>) -> Response {
    let receiver = app.reloads();
    let shutdown = app.shutdown.clone();
    let stream = futures_util::stream::unfold((receiver, shutdown), |(mut receiver, mut shutdown)| async move {
        let received = tokio::select! {
            received = receiver.recv() => received,
            _ = shutdown.changed() => return None,
        };
        let path = match received {
            Ok(path) => path,
            // Missed some: reload whatever page this is.
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => "*".to_owned(),
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
        };
        let event = SseEvent::default().event("reload").json_data(ReloadData { path: &path }).unwrap_or_default();
        Some((Ok::<_, Infallible>(event), (receiver, shutdown)))
    });
    sse(stream)
}
