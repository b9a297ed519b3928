//! A run inside an incident session: the values the session remembers, the confirmation rule,
//! the `run-started` event committed before the process starts, the end event after, and the
//! variables the run exported kept for the next runs. The CLI (`opsbook run`) and the server
//! drive runs through here.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::config::{Config, OpsbookConfig};
use crate::exec::redact::{Redactor, is_secret_name};
use crate::exec::script::{self, Script, ScriptError, Selection};
use crate::exec::{self, ProcessSpec, StartError};
use crate::model::{Risk, Runbook, Step};
use crate::record::Outcome;
use crate::session::{Actor, EventKind, NoteKind, RunEnded, RunStarted, Session, SessionStore, StoreError};

/// Starts runs and records them in a session store.
pub struct Runner {
    store: Arc<dyn SessionStore>,
    /// The book's root: `.opsbook/` lives here, git is asked here.
    root: PathBuf,
    /// Secret-named values given or exported in a session: kept in memory only, never stored.
    secrets: Secrets,
    clock: Clock,
    /// The book's git state, asked at most every [`GIT_STATE_TTL`]: two `git` processes per run
    /// would be most of the time to a run's first byte.
    git: tokio::sync::Mutex<Option<(std::time::Instant, GitState)>>,
}

/// The book's git commit, and whether its checkout has uncommitted changes.
type GitState = (Option<String>, bool);

/// How long the book's git commit and dirtiness are reused between runs.
const GIT_STATE_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// A shared store gets a run's output in batches: what came within this long of the first
/// chunk of a batch, up to [`OUTPUT_BATCH_BYTES`].
const OUTPUT_BATCH_WAIT: std::time::Duration = std::time::Duration::from_millis(2);
const OUTPUT_BATCH_BYTES: usize = 256 * 1024;

/// Where event times come from: the system clock, or a fixed one in tests.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Session id -> secret-named values.
type Secrets = Arc<Mutex<HashMap<String, BTreeMap<String, String>>>>;

/// One run to start.
#[derive(Debug, Clone)]
pub struct RunRequest<'a> {
    pub session_id: &'a str,
    pub runbook: &'a Runbook,
    pub step: &'a Step,
    pub selection: Selection,
    /// The `[opsbook]` settings of the book the step was read from (shell, timeout, output
    /// limit, context probes): a book reloaded under `opsbook serve` runs with its new ones.
    pub config: &'a OpsbookConfig,
    /// Values given now, by placeholder name; they are remembered for the session.
    pub inputs: HashMap<String, String>,
    /// The person confirmed a mutating or destructive step.
    pub confirmed: bool,
    /// The [`Plan::digest`] of what the person confirmed, when the front end showed a plan:
    /// a run whose plan has changed since (the runbook edited, an input or remembered value
    /// changed) is refused rather than run under a confirmation of something else.
    pub confirmed_plan: Option<String>,
    /// Where the step runs (its `cwd=` attribute is taken relative to this).
    pub cwd: PathBuf,
    pub actor: Actor,
    /// Run in a pseudo-terminal of this size: an interactive step, in the console's browser
    /// terminal or proxied by `opsbook run` on its own terminal (see `exec::ProcessSpec::pty`).
    pub pty: Option<crate::exec::TerminalSize>,
}

impl<'a> RunRequest<'a> {
    /// The same request, in another session.
    pub fn with_session<'s>(&self, session_id: &'s str) -> RunRequest<'s>
    where
        'a: 's,
    {
        RunRequest { session_id, ..self.clone() }
    }
}

/// Why a run did not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("step `{step}` is {risk} ({reason}): it needs confirmation before it runs")]
    NeedsConfirmation {
        step: String,
        risk: Risk,
        reason: String,
        /// The commands as they would run, values in place, secrets masked: what to confirm.
        commands: String,
    },
    #[error("step `{step}`: {source}")]
    Script { step: String, source: ScriptError },
    #[error("session `{0}` is closed; start a new one with `opsbook session new`")]
    SessionClosed(String),
    #[error(
        "step `{step}` is not what was confirmed: it changed since (the runbook or a value); review it and confirm again"
    )]
    PlanChanged { step: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("cannot create {}: {source}", path.display())]
    Folder { path: PathBuf, source: std::io::Error },
    #[error("skipping step `{step}` needs a reason: say why it does not apply (it goes on the timeline)")]
    NoReason { step: String },
    #[error("step `{step}` {state} in this session: there is nothing to skip")]
    NothingToSkip { step: String, state: String },
    /// An id from the store that would lead the run's log out of its folder.
    #[error("session `{0}` has an id that is not a plain name (letters, digits, `-`, `_`): its runs cannot be logged")]
    UnsafeSessionId(String),
}

/// What a run will do, before it does it: for confirmation prompts and `--dry-run`.
#[derive(Debug, Clone)]
pub struct Plan {
    pub script: Script,
    pub risk: Risk,
    pub reason: String,
    pub needs_confirmation: bool,
    /// The commands as they will run, values in place, secrets masked.
    pub shown: String,
    redactor: Redactor,
    env: BTreeMap<String, String>,
}

impl Plan {
    /// What the person confirms, as a short hex SHA-256: the commands as shown (values in
    /// place, secrets masked), the risk and the reasons to confirm.
    pub fn digest(&self) -> String {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        for part in [self.shown.as_str(), self.risk.as_str(), &self.confirmation_reason()] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        hasher.finalize()[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Why the run needs confirmation: its risk, the step's `confirm`, values handed to a
    /// second interpreter.
    pub fn confirmation_reason(&self) -> String {
        let mut reasons = Vec::new();
        if self.risk.needs_confirmation() {
            reasons.push(self.reason.clone());
        }
        reasons.extend(self.script.handed_over.iter().map(ToString::to_string));
        if reasons.is_empty() {
            reasons.push("marked `confirm`".to_owned());
        }
        reasons.join("; ")
    }
}

/// A run that started: its id, the live run, and the task that records its end.
#[derive(Debug)]
pub struct Started {
    pub run_id: String,
    pub run: exec::Process,
    /// Resolves once the end event is committed.
    pub recorded: tokio::task::JoinHandle<Result<Outcome, StoreError>>,
    /// Turns true once the end is committed (or given up on): for those that show the end
    /// and should show it only when the record has it.
    pub ended: tokio::sync::watch::Receiver<bool>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner").field("store", &self.store).field("root", &self.root).finish_non_exhaustive()
    }
}

impl Runner {
    pub fn new(store: Arc<dyn SessionStore>, root: &Path) -> Runner {
        Runner {
            store,
            root: root.to_path_buf(),
            secrets: Secrets::default(),
            clock: Arc::new(crate::clock::now_ms),
            git: tokio::sync::Mutex::new(None),
        }
    }

    /// The same runner with its event times taken from `clock` (milliseconds since the epoch).
    pub fn with_clock(mut self, clock: Clock) -> Runner {
        self.clock = clock;
        self
    }

    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.store
    }

    /// Runs a store call on the blocking pool: a store that waits on a lock (SQLite held by
    /// another process, a database gone silent) never holds up the async workers that serve
    /// pages and streams.
    async fn blocking<T: Send + 'static>(
        &self,
        call: impl FnOnce(&dyn SessionStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.store.clone();
        offload(move || call(store.as_ref())).await
    }

    /// Names of the secret-named inputs and outputs held in memory for a session (exported
    /// variables, `env:NAME`, left out).
    pub fn held(&self, session_id: &str) -> Vec<String> {
        let Ok(secrets) = self.secrets.lock() else { return Vec::new() };
        let mut names: Vec<String> = secrets
            .get(session_id)
            .map(|held| held.keys().filter(|name| !name.starts_with("env:")).cloned().collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Values the session remembers: stored ones and the secrets held in memory.
    async fn remembered(&self, session_id: &str) -> Result<BTreeMap<String, String>, StoreError> {
        let id = session_id.to_owned();
        let mut vars = self.blocking(move |store| store.vars(&id)).await?;
        if let Ok(secrets) = self.secrets.lock()
            && let Some(held) = secrets.get(session_id)
        {
            vars.extend(held.clone());
        }
        Ok(vars)
    }

    /// Works out what a run would do, and whether it may run as asked.
    pub async fn plan(&self, request: &RunRequest<'_>) -> Result<Plan, RunError> {
        let remembered = self.remembered(request.session_id).await?;
        plan_with(remembered, request)
    }

    /// A plan from the request alone, with nothing a session remembers (`--dry-run` outside a
    /// session).
    pub fn plan_fresh(&self, request: &RunRequest<'_>) -> Result<Plan, RunError> {
        plan_with(BTreeMap::new(), request)
    }

    /// Starts a run in a session opened for it (the console's first Run, `opsbook run` without
    /// `--session`), titled and graded by [`opening`]. The run is checked first (inputs,
    /// confirmation, the confirmed plan), so a refused run leaves no session behind; the
    /// timeline then says which run opened the session.
    pub async fn start_opening(
        &self,
        request: RunRequest<'_>,
        (title, severity): (String, String),
    ) -> Result<(Session, Started), RunError> {
        admit(&self.plan_fresh(&request)?, &request)?;
        let (actor, at) = (request.actor.clone(), (self.clock)());
        let opened_by = format!(
            "Opened by running step `{}` ({}) of {}",
            request.step.id,
            crate::line::one_line(&request.step.title),
            request.runbook.path
        );
        let session = self
            .blocking(move |store| {
                let session = store.create(&title, &severity, &actor, at)?;
                store.append(
                    &session.id,
                    &actor,
                    at,
                    EventKind::NoteAdded { note: NoteKind::Note, text: opened_by },
                )?;
                Ok(session)
            })
            .await?;
        let started = self.start(request.with_session(&session.id)).await?;
        Ok((session, started))
    }

    /// [`skip`], off the async threads, at the runner's clock.
    pub async fn skip(
        &self,
        session_id: &str,
        runbook: &Runbook,
        step: &Step,
        reason: &str,
        actor: Actor,
    ) -> Result<crate::session::Event, RunError> {
        let skipped = skipped(runbook, step, reason)?;
        let (id, at) = (session_id.to_owned(), (self.clock)());
        self.blocking(move |store| Ok(append_skip(store, &id, &actor, at, skipped))).await?
    }

    /// Starts a run: checks it, records `run-started`, starts the process, and records the end
    /// when it comes.
    pub async fn start(&self, request: RunRequest<'_>) -> Result<Started, RunError> {
        let id = request.session_id.to_owned();
        let session = self.blocking(move |store| store.session(&id)).await?;
        if session.ended_at.is_some() {
            return Err(RunError::SessionClosed(session.id));
        }
        let plan = self.plan(&request).await?;
        admit(&plan, &request)?;
        let cwd = match &request.step.settings.cwd {
            Some(dir) => request.cwd.join(dir),
            None => request.cwd.clone(),
        };
        let git = {
            let mut cached = self.git.lock().await;
            match &*cached {
                Some((at, state)) if at.elapsed() < GIT_STATE_TTL => state.clone(),
                _ => {
                    let state = exec::context::git_state(&self.root).await;
                    *cached = Some((std::time::Instant::now(), state.clone()));
                    state
                }
            }
        };
        let context = exec::context::collect(&cwd, &request.config.context, git).await;
        let run_id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        let Some((log_rel, log_path)) = self.store.logs().for_run(&session.id, &run_id) else {
            return Err(RunError::UnsafeSessionId(session.id.clone()));
        };
        if let Some(folder) = log_path.parent() {
            crate::private::create_dir_all(folder)
                .map_err(|source| RunError::Folder { path: folder.to_path_buf(), source })?;
        }
        let inputs =
            plan.script.inputs.iter().map(|(k, v)| (k.clone(), plan.redactor.redact(v).into_owned())).collect();
        let spec = ProcessSpec {
            shell: request.config.shell.clone(),
            script: plan.script.text.clone(),
            env: plan.env.clone(),
            cwd,
            timeout: request.step.settings.timeout_secs.map_or(request.config.timeout, std::time::Duration::from_secs),
            grace: exec::DEFAULT_GRACE,
            log_path,
            log_limit: request.config.output_limit,
            redactor: plan.redactor.clone(),
            capture_env: true,
            pty: request.pty,
            // Held until `run-started` is committed: nothing runs unrecorded. (A step on the
            // terminal cannot be held; its start is recorded right after it spawns.)
            gated: request.pty.is_none(),
        };
        let mut started = RunStarted {
            run_id: run_id.clone(),
            runbook: request.runbook.path.clone(),
            runbook_title: request.runbook.title.clone(),
            step: request.step.id.clone(),
            step_title: request.step.title.clone(),
            command: match request.selection {
                Selection::Command(index) => Some(index),
                Selection::All => None,
            },
            command_text: plan.shown.trim_end().to_owned(),
            inputs,
            risk: plan.risk.to_string(),
            context,
            cast: request.pty.map(|_| log_rel.replace(".log", ".cast")),
            log: log_rel,
            recorder_pid: std::process::id(),
            pid: 0,
        };
        // Remember what was given before anything can fail halfway.
        let (secrets, id, given) = (self.secrets.clone(), request.session_id.to_owned(), request.inputs.clone());
        let masks = plan.redactor.clone();
        self.blocking(move |store| remember(store, &secrets, &id, given, |value| masks.redact(value) != value)).await?;
        let append = |kind: EventKind| {
            let (id, actor, at) = (request.session_id.to_owned(), request.actor.clone(), (self.clock)());
            self.blocking(move |store| store.append(&id, &actor, at, kind))
        };
        let run = match exec::start(spec) {
            Ok(run) => run,
            Err(err) => {
                append(EventKind::RunStarted(Box::new(started))).await?;
                tracing::warn!("run {run_id} of step `{}` did not start: {err}", request.step.id);
                append(EventKind::RunInterrupted { run_id, reason: format!("did not start: {err}") }).await?;
                return Err(err.into());
            }
        };
        started.pid = run.pid();
        if let Err(err) = append(EventKind::RunStarted(Box::new(started))).await {
            // Nothing runs that is not recorded: the held shell goes without running any of it.
            tracing::warn!("run {run_id} did not start: its start could not be recorded: {err}");
            run.cancel();
            return Err(err.into());
        }
        run.release().await;
        tracing::info!(
            "run {run_id} started: step `{}` of {} in session {} by {}@{}",
            request.step.id,
            request.runbook.path,
            request.session_id,
            request.actor.user,
            request.actor.host
        );
        let store = self.store.clone();
        let (session_id, actor, waiting) = (request.session_id.to_owned(), request.actor.clone(), run.clone());
        let secrets = self.secrets.clone();
        let recorded_run_id = run_id.clone();
        let clock = self.clock.clone();
        let redactor = plan.redactor.clone();
        let in_terminal = request.pty.is_some();
        // A shared store keeps the output for the other responders' consoles; the run's end
        // is recorded after its last chunk.
        let uploaded = self.store.shares_output().then(|| {
            let (store, session_id, run_id) = (self.store.clone(), session_id.clone(), run_id.clone());
            let mut subscription = run.subscribe(0);
            tokio::spawn(async move {
                let mut batch = Vec::new();
                let mut bytes = 0;
                let mut deadline = tokio::time::Instant::now();
                loop {
                    let next = if batch.is_empty() {
                        let next = subscription.next().await;
                        deadline = tokio::time::Instant::now() + OUTPUT_BATCH_WAIT;
                        next
                    } else {
                        match tokio::time::timeout_at(deadline, subscription.next()).await {
                            Ok(next) => next,
                            Err(_) => {
                                store.record_output(&session_id, &run_id, std::mem::take(&mut batch));
                                bytes = 0;
                                continue;
                            }
                        }
                    };
                    match next {
                        Some(exec::ProcessEvent::Output(chunk)) => {
                            bytes += chunk.text.len();
                            batch.push(chunk);
                            if bytes >= OUTPUT_BATCH_BYTES {
                                store.record_output(&session_id, &run_id, std::mem::take(&mut batch));
                                bytes = 0;
                            }
                        }
                        Some(exec::ProcessEvent::Exit(_)) | None => break,
                    }
                }
                if !batch.is_empty() {
                    store.record_output(&session_id, &run_id, batch);
                }
            })
        });
        let record_end = async move {
            let outcome = waiting.wait().await;
            if let Some(uploaded) = uploaded {
                let _ = uploaded.await;
            }
            // Exported variables are carried as `env:NAME`; outputs fill later placeholders by
            // their names, as inputs do.
            let exported: Vec<(String, String)> = outcome
                .exported
                .iter()
                .map(|(k, v)| (format!("env:{k}"), v.clone()))
                .chain(outcome.outputs.iter().map(|(k, v)| (k.clone(), v.clone())))
                .collect();
            // The timeline shows outputs as the output shows them: secret-named ones masked,
            // and all of a run in a terminal.
            let shown = outcome
                .outputs
                .iter()
                .map(|(name, value)| {
                    let value = if is_secret_name(name) || in_terminal {
                        crate::exec::redact::MASK.to_owned()
                    } else {
                        redactor.redact(value).into_owned()
                    };
                    (name.clone(), value)
                })
                .collect();
            let kind = RunEnded::from_outcome(&recorded_run_id, &outcome, shown);
            let at = clock();
            // The end happened: a store that is busy or away is asked again until it takes it
            // (a run ends once, so a retry that did land before is harmless).
            let started_retrying = std::time::Instant::now();
            let mut pause = END_RETRY_FIRST;
            loop {
                let (store, secrets, session_id, actor) =
                    (store.clone(), secrets.clone(), session_id.clone(), actor.clone());
                let (exported, kind) = (exported.clone(), kind.clone());
                let masks = redactor.clone();
                let written = offload(move || {
                    let keep = |value: &str| in_terminal || masks.redact(value) != value;
                    remember(store.as_ref(), &secrets, &session_id, exported, keep)?;
                    store.append(&session_id, &actor, at, kind)
                })
                .await;
                match written {
                    Ok(_) => {
                        tracing::info!("run {recorded_run_id} ended: {}", outcome.status_text());
                        return Ok(outcome);
                    }
                    Err(err)
                        if matches!(err, StoreError::NoSuchSession(_))
                            || started_retrying.elapsed() > END_RETRY_FOR =>
                    {
                        tracing::error!(
                            "run {recorded_run_id} ended ({}) but its end was not recorded: {err}",
                            outcome.status_text()
                        );
                        return Err(err);
                    }
                    Err(err) => {
                        tracing::warn!(
                            "run {recorded_run_id}: its end was not recorded ({err}); trying again in {pause:?}"
                        );
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(END_RETRY_MOST);
                    }
                }
            }
        };
        let (ended_tx, ended) = tokio::sync::watch::channel(false);
        let recorded = tokio::spawn(async move {
            let result = record_end.await;
            // Recorded, or given up on: whoever waits for the record waits no more.
            let _ = ended_tx.send(true);
            result
        });
        Ok(Started { run_id, run, recorded, ended })
    }
}

/// Whether a planned run may go as asked: confirmed when it must be, and (when the front end
/// showed a plan) still the plan that was confirmed.
fn admit(plan: &Plan, request: &RunRequest<'_>) -> Result<(), RunError> {
    if plan.needs_confirmation && !request.confirmed {
        return Err(RunError::NeedsConfirmation {
            step: request.step.id.clone(),
            risk: plan.risk,
            reason: plan.confirmation_reason(),
            commands: plan.shown.clone(),
        });
    }
    if request.confirmed_plan.as_ref().is_some_and(|confirmed| *confirmed != plan.digest()) {
        return Err(RunError::PlanChanged { step: request.step.id.clone() });
    }
    Ok(())
}

/// Records that a step is skipped in a session, and why: the console's Skip, `opsbook session
/// skip` and a skip at `opsbook run`'s prompt. The session must be open; the reason is one line,
/// not empty.
pub fn skip(
    store: &dyn SessionStore,
    session_id: &str,
    (runbook, step): (&Runbook, &Step),
    reason: &str,
    actor: &Actor,
    at: i64,
) -> Result<crate::session::Event, RunError> {
    append_skip(store, session_id, actor, at, skipped(runbook, step, reason)?)
}

fn skipped(runbook: &Runbook, step: &Step, reason: &str) -> Result<crate::session::StepSkipped, RunError> {
    let reason = crate::line::one_line(reason.trim());
    if reason.is_empty() {
        return Err(RunError::NoReason { step: step.id.clone() });
    }
    Ok(crate::session::StepSkipped {
        runbook: runbook.path.clone(),
        runbook_title: runbook.title.clone(),
        step: step.id.clone(),
        step_title: step.title.clone(),
        reason,
    })
}

fn append_skip(
    store: &dyn SessionStore,
    session_id: &str,
    actor: &Actor,
    at: i64,
    skipped: crate::session::StepSkipped,
) -> Result<crate::session::Event, RunError> {
    let session = store.session(session_id)?;
    if session.ended_at.is_some() {
        return Err(RunError::SessionClosed(session.id));
    }
    // A step that succeeded or runs now has nothing to skip.
    let events = store.events(&session.id, 0)?;
    let runs = crate::export::runs(&events);
    let now = crate::progress::of_step(&skipped.runbook, &skipped.step, "", &events, &runs);
    if matches!(now.state, crate::progress::StepState::Ok | crate::progress::StepState::Running) {
        return Err(RunError::NothingToSkip {
            step: skipped.step.clone(),
            state: format!(
                "{} ({})",
                if now.state == crate::progress::StepState::Ok { "succeeded" } else { "is running" },
                now.at.unwrap_or_default()
            ),
        });
    }
    Ok(store.append(&session.id, actor, at, EventKind::StepSkipped(skipped))?)
}

/// The session a run opens when none is open: the runbook's title, at the severity its front
/// matter gives when the book has that level, else the book's least severe.
pub fn opening(config: &Config, runbook: &Runbook) -> (String, String) {
    let severity = runbook
        .front_matter
        .severity
        .as_deref()
        .and_then(|given| crate::lookup::severity(config, given).ok())
        .unwrap_or_else(|| config.default_severity());
    (runbook.title.clone(), severity)
}

/// A run's end that the store did not take is written again after this pause, doubling up to
/// [`END_RETRY_MOST`], for as long as [`END_RETRY_FOR`].
const END_RETRY_FIRST: std::time::Duration = std::time::Duration::from_millis(100);
const END_RETRY_MOST: std::time::Duration = std::time::Duration::from_secs(2);
const END_RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Runs blocking store work on tokio's blocking pool.
async fn offload<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Backend { location: "session store".to_owned(), message: e.to_string() })?
}

/// Remembers values for a session (inputs by name, exported variables as `env:NAME`): in the
/// store, except secret-named ones, which stay in memory only.
/// `keep_in_memory` decides, besides secret names, which values are never written: those the
/// run's redactor would mask (a known secret inside, a secret's shape), and everything a run in a
/// terminal exports or outputs (what was typed there may be in it).
fn remember(
    store: &dyn SessionStore,
    held: &Secrets,
    session_id: &str,
    values: impl IntoIterator<Item = (String, String)>,
    keep_in_memory: impl Fn(&str) -> bool,
) -> Result<(), StoreError> {
    let (secret, plain): (BTreeMap<_, _>, BTreeMap<_, _>) = values
        .into_iter()
        .partition(|(name, value)| is_secret_name(name.trim_start_matches("env:")) || keep_in_memory(value));
    if !plain.is_empty() {
        store.set_vars(session_id, &plain)?;
    }
    if !secret.is_empty()
        && let Ok(mut secrets) = held.lock()
    {
        secrets.entry(session_id.to_owned()).or_default().extend(secret);
    }
    Ok(())
}

/// Works out a run from what the session remembers and what the request gives.
fn plan_with(remembered: BTreeMap<String, String>, request: &RunRequest<'_>) -> Result<Plan, RunError> {
    // Inputs are remembered under their names, exported variables as `env:NAME`.
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    let mut inputs: HashMap<String, String> = HashMap::new();
    script::check_inputs(request.step, &request.inputs)
        .map_err(|source| RunError::Script { step: request.step.id.clone(), source })?;
    for (name, value) in remembered {
        match name.strip_prefix("env:") {
            // Only a step's own exports are remembered this way; a name the shell acts on is
            // never carried, whoever stored it.
            Some(var) if script::is_shell_variable(var) => {}
            Some(var) => {
                env.insert(var.to_owned(), value);
            }
            None => {
                inputs.insert(name, value);
            }
        }
    }
    inputs.extend(request.inputs.clone());
    let known = |name: &str| env.contains_key(name) || std::env::var_os(name).is_some();
    let script = script::build(request.step, request.selection, &inputs, &known)
        .and_then(|script| {
            // Exported and remembered values reach evaluated contexts by name, as inputs do.
            let mut by_name = env.clone();
            by_name.extend(script.env.clone());
            script::check_evaluated_env(request.step, request.selection, &by_name).map(|()| script)
        })
        .map_err(|source| RunError::Script { step: request.step.id.clone(), source })?;
    let (risk, reason) = match request.selection {
        Selection::Command(index) => {
            let command = &request.step.commands[index];
            (command.risk, command.risk_reason.clone())
        }
        Selection::All => (request.step.risk, request.step.risk_reason.clone()),
    };
    let needs_confirmation =
        risk.needs_confirmation() || request.step.settings.confirm || !script.handed_over.is_empty();
    let mut redactor = Redactor::with_process_env(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    for (name, value) in script.inputs.iter().chain(&script.env) {
        if is_secret_name(name) {
            redactor.add_value(value);
        }
    }
    let shown = redactor.redact(&script.display).into_owned();
    env.extend(script.env.clone());
    Ok(Plan { script, risk, reason, needs_confirmation, shown, redactor, env })
}
