//! `POST /api/alerts`: Alertmanager's webhook. A firing group opens an incident session (or
//! joins the open one its group key already opened), titled by the alert, at the severity its
//! `severity` label maps to, its labels kept as the session's values (so they fill the inputs of
//! the same name); `resolved` is an event on that session's timeline. Authorised like every API
//! call: the token as a Bearer header (Alertmanager's `http_config.authorization`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::App;
use super::error::ApiError;
use super::wire::{JsonBody, Reply};
use crate::config::Config;
use crate::session::{Actor, AlertNotice, EventKind};

/// Alertmanager's webhook body (version 4); fields it may add later are ignored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub status: String,
    #[serde(default)]
    pub group_key: String,
    #[serde(default)]
    pub common_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub common_annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub alerts: Vec<Alert>,
}

#[derive(Debug, Deserialize)]
pub struct Alert {
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// What the webhook did.
#[derive(Debug, Serialize)]
pub struct Received {
    /// The session the notification went to (none for a resolved group no session holds).
    pub session_id: Option<String>,
    /// Whether this notification opened it.
    pub opened: bool,
}

/// The book's level for an alert's `severity` label: the level of that name (any case), else by
/// the usual words (`critical`/`page` the most severe, `warning` the third, `info` the least),
/// else the least severe.
pub fn severity_for(config: &Config, label: Option<&str>) -> String {
    let names = config.severity_names();
    let Some(label) = label.map(str::trim).filter(|l| !l.is_empty()) else { return config.default_severity() };
    if let Some(name) = config.severity_name(label) {
        return name.to_owned();
    }
    let rank = match label.to_ascii_lowercase().as_str() {
        "critical" | "page" | "emergency" | "fatal" | "disaster" | "p1" | "sev1" => 0,
        "high" | "error" | "major" | "p2" | "sev2" => 1,
        "warning" | "warn" | "medium" | "minor" | "average" | "p3" | "sev3" => 2,
        _ => usize::MAX,
    };
    names.get(rank.min(names.len().saturating_sub(1))).map_or_else(|| config.default_severity(), |n| (*n).to_owned())
}

static RECEIVING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The longest Alertmanager field opsbook keeps (a label value, a summary).
const FIELD: usize = 512;

/// One line of at most [`FIELD`] characters, secrets in it (a URL's password, a bearer token, a
/// key's shape) masked: alert text is kept in the record, sent to webhooks and exported.
fn clip(text: &str) -> String {
    let text = crate::line::one_line(&crate::exec::redact::Redactor::new([]).redact(text));
    match text.char_indices().nth(FIELD) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

pub async fn receive(
    State(app): State<Arc<App>>,
    JsonBody(notification): JsonBody<Notification>,
) -> Result<Reply<Received>, ApiError> {
    let status = match notification.status.as_str() {
        "firing" | "resolved" => notification.status.clone(),
        other => return Err(ApiError::bad_request(format!("status `{}` is neither firing nor resolved", clip(other)))),
    };
    let mut names: Vec<String> = Vec::new();
    for alert in &notification.alerts {
        if let Some(name) = alert.labels.get("alertname") {
            let name = clip(name);
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    if names.is_empty() {
        if let Some(name) = notification.common_labels.get("alertname") {
            names.push(clip(name));
        }
    }
    if names.is_empty() {
        return Err(ApiError::bad_request("the notification names no alert (no `alertname` label)"));
    }
    // Names are kept when at most 20 (a title of thousands helps nobody); secret-named labels
    // are kept masked.
    names.truncate(20);
    let labels: BTreeMap<String, String> = notification
        .common_labels
        .iter()
        .take(64)
        .map(|(k, v)| {
            let value = if crate::exec::redact::is_secret_name(k) { "[redacted]".to_owned() } else { clip(v) };
            (clip(k), value)
        })
        .collect();
    let annotation = |key: &str| {
        notification
            .common_annotations
            .get(key)
            .or_else(|| notification.alerts.first().and_then(|a| a.annotations.get(key)))
            .map(|s| clip(s))
    };
    let summary = annotation("summary").or_else(|| annotation("description"));
    // The whole key decides which session a group joins (a long one kept as its digest); a
    // payload without one is keyed by its labels.
    let group_key = match notification.group_key.trim() {
        "" => format!("labels:{}", serde_json::to_string(&notification.common_labels).unwrap_or_default()),
        key => key.to_owned(),
    };
    let group_key = if group_key.len() > 200 || group_key.contains(['\n', '\r']) {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(group_key.as_bytes());
        format!("sha256:{}", digest.iter().map(|b| format!("{b:02x}")).collect::<String>())
    } else {
        group_key
    };
    let notice = AlertNotice {
        status: status.clone(),
        group_key: group_key.clone(),
        alerts: names.clone(),
        count: notification.alerts.len(),
        labels: labels.clone(),
        summary: summary.clone(),
    };
    let book = app.book();
    let severity = severity_for(&book.config, labels.get("severity").map(String::as_str));
    let title = match &summary {
        Some(summary) => format!("{}: {summary}", names.join(", ")),
        None => names.join(", "),
    };
    let title: String =
        if title.chars().count() > 200 { title.chars().take(199).chain(['…']).collect() } else { title };
    // The labels, as values for the inputs of the same name (and of names differing only in
    // case or `-`/`_`); secret-named ones are not kept.
    let inputs: Vec<String> = book
        .runbooks
        .iter()
        .flat_map(|r| r.steps.iter().flat_map(|s| s.placeholders.iter().map(|p| p.name.clone())))
        .collect();
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    for (label, value) in &labels {
        if crate::exec::redact::is_secret_name(label)
            || !is_value_name(label)
            || crate::exec::script::is_acted_on(label)
        {
            continue;
        }
        values.insert(label.clone(), value.clone());
        for input in &inputs {
            if crate::alerts::input_for(label, std::slice::from_ref(input)) == input {
                values.insert(input.clone(), value.clone());
            }
        }
    }
    let firing = status == "firing";
    let actor = Actor::local("alertmanager");
    // One notification at a time: two for a new group at once must open one session.
    let _one_at_a_time = RECEIVING.lock().await;
    let received = tokio::task::spawn_blocking(move || -> Result<Received, crate::session::StoreError> {
        let store = app.runner.store();
        let now = crate::clock::now_ms();
        // The open session this group already went to.
        let mut joined = None;
        for session in store.sessions()?.into_iter().filter(|s| s.ended_at.is_none()) {
            let events = store.events(&session.id, 0)?;
            let same_group = events.iter().any(|e| matches!(&e.kind, EventKind::Alert(n) if n.group_key == group_key));
            if same_group {
                joined = Some(session.id);
                break;
            }
        }
        let (session_id, opened) = match joined {
            Some(id) => (id, false),
            None if firing => (store.create(&title, &severity, &actor, now)?.id, true),
            None => return Ok(Received { session_id: None, opened: false }),
        };
        store.append(&session_id, &actor, now, EventKind::Alert(Box::new(notice)))?;
        // A value the session has (a responder's, an earlier alert's) is not replaced.
        let known = store.vars(&session_id)?;
        values.retain(|name, _| !known.contains_key(name));
        if firing && !values.is_empty() {
            store.set_vars(&session_id, &values)?;
        }
        Ok(Received { session_id: Some(session_id), opened })
    })
    .await
    .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the store call did not finish"))??;
    let code = if received.opened { StatusCode::CREATED } else { StatusCode::OK };
    Ok(Reply(code, received))
}

/// A label name that can be an input's: letters, digits, `_` and `-`.
fn is_value_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_labels_map_to_the_books_levels() {
        let config = Config::default();
        assert_eq!(severity_for(&config, Some("critical")), "SEV1");
        assert_eq!(severity_for(&config, Some("sev2")), "SEV2");
        assert_eq!(severity_for(&config, Some("warning")), "SEV3");
        assert_eq!(severity_for(&config, Some("info")), "SEV4");
        assert_eq!(severity_for(&config, None), "SEV4");
    }
}
