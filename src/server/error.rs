//! The one error of the console's API. Every failure of a request (a body that does not parse,
//! a name that finds nothing, a refused run, a store that is away, a refusal of the security
//! layer) is an [`ApiError`], and every `ApiError` answers the same way: its status and the
//! JSON body `{"error": message}`, with, where the console acts on it, the severity levels to
//! choose from, the inputs that are missing, or the commands and risk to confirm.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::wire::{self, MissingInput};
use crate::exec::script::ScriptError;
use crate::lookup::LookupError;
use crate::runner::RunError;
use crate::session::StoreError;

/// A failed request, as the API answers it.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

/// The JSON of every failure; the optional fields only where they apply.
#[derive(Debug, Serialize)]
struct ErrorBody {
    error: String,
    /// The book's levels, for an unknown severity.
    #[serde(skip_serializing_if = "Option::is_none")]
    severities: Option<Vec<String>>,
    /// Inputs a run needs and was not given.
    #[serde(skip_serializing_if = "Option::is_none")]
    missing: Option<Vec<MissingInput>>,
    /// The commands a run would run, values in place and secrets masked, to confirm.
    #[serde(skip_serializing_if = "Option::is_none")]
    commands: Option<String>,
    /// The risk to confirm.
    #[serde(skip_serializing_if = "Option::is_none")]
    risk: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        let body = ErrorBody { error: message.into(), severities: None, missing: None, commands: None, risk: None };
        ApiError { status, body }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        wire::json_response(self.status, &self.body)
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        let status = match err {
            StoreError::NoSuchSession(_) => StatusCode::NOT_FOUND,
            StoreError::Backend { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            StoreError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiError::new(status, err.to_string())
    }
}

/// A name that found nothing is a 404; an unknown severity a 400 with the book's levels.
impl From<LookupError> for ApiError {
    fn from(err: LookupError) -> ApiError {
        match err {
            LookupError::UnknownSeverity { ref levels, .. } => {
                let mut refused = ApiError::bad_request(err.to_string());
                refused.body.severities = Some(levels.clone());
                refused
            }
            LookupError::NoRunbook { .. }
            | LookupError::ManyRunbooks { .. }
            | LookupError::NoStep { .. }
            | LookupError::NoCommand { .. } => ApiError::not_found(err.to_string()),
        }
    }
}

/// Why a run did not start: 422 for inputs (naming the missing ones), 428 for a run that needs
/// confirmation (with what to confirm), 409 for a closed session.
impl From<RunError> for ApiError {
    fn from(err: RunError) -> ApiError {
        match err {
            RunError::Script { source: ScriptError::Missing(ref missing), .. } => {
                let mut refused = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, err.to_string());
                refused.body.missing = Some(missing.iter().map(MissingInput::from).collect());
                refused
            }
            RunError::Script { .. } | RunError::NoReason { .. } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, err.to_string())
            }
            RunError::NeedsConfirmation { risk, ref commands, .. } => {
                let commands = Some(commands.clone());
                let mut refused = ApiError::new(StatusCode::PRECONDITION_REQUIRED, err.to_string());
                refused.body.commands = commands;
                refused.body.risk = Some(risk.as_str());
                refused
            }
            RunError::SessionClosed(_)
            | RunError::UnsafeSessionId(_)
            | RunError::PlanChanged { .. }
            | RunError::NothingToSkip { .. } => ApiError::conflict(err.to_string()),
            RunError::Store(store) => store.into(),
            RunError::Start(_) | RunError::Folder { .. } => ApiError::internal(err.to_string()),
        }
    }
}

/// A blocking task that did not finish (it panicked, or the runtime is shutting down).
impl From<tokio::task::JoinError> for ApiError {
    fn from(err: tokio::task::JoinError) -> ApiError {
        ApiError::internal(err.to_string())
    }
}
