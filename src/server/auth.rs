//! The security layer every request passes: loopback Host names (against DNS rebinding), the
//! token (from the start URL, then an HttpOnly SameSite=Strict cookie, or a Bearer header), and
//! for state-changing requests a matching Origin or the token header (against CSRF).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::App;
use super::error::ApiError;

/// The cookie that carries the token after the first visit. Cookies are shared by every port of
/// a host, so the name carries the port: two consoles on one machine never shadow each other's.
pub fn cookie_name(host: &str) -> String {
    let port = match host.rsplit_once(':') {
        Some((name, port)) if !port.contains(']') && !name.is_empty() => port.parse::<u16>().unwrap_or(80),
        _ => 80,
    };
    format!("opsbook_token_{port}")
}

pub async fn guard(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("").to_owned();
    if !app.allow_remote && !super::is_loopback_name(&host) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            format!("Host `{host}` is not a loopback name; open the console at the URL `opsbook serve` printed"),
        )
        .into_response();
    }
    // The start URL carries the token once: it becomes a cookie, and the URL loses it.
    if let Some(given) = query_token(request.uri().query()) {
        if !same(&given, &app.token) {
            return ApiError::new(StatusCode::UNAUTHORIZED, "wrong token; use the URL `opsbook serve` printed")
                .into_response();
        }
        let rest = strip_token(request.uri().query().unwrap_or(""));
        // One leading slash: `//evil.example/` or `/\evil.example/` would leave this origin.
        let path = format!("/{}", request.uri().path().trim_start_matches(['/', '\\']));
        let location = if rest.is_empty() { path } else { format!("{path}?{rest}") };
        let cookie = format!("{}={}; HttpOnly; SameSite=Strict; Path=/", cookie_name(&host), app.token);
        return (StatusCode::SEE_OTHER, [(header::LOCATION, location), (header::SET_COOKIE, cookie)]).into_response();
    }
    let bearer = bearer_token(headers).is_some_and(|t| same(t, &app.token));
    let cookie = cookie_token(headers, &cookie_name(&host)).is_some_and(|t| same(t, &app.token));
    if !bearer && !cookie {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "this console needs its token: open the URL `opsbook serve` printed (…/?token=…)",
        )
        .into_response();
    }
    // A WebSocket is opened with a GET, and what it carries (keys into a terminal) changes
    // state: it is held to the same Origin rule.
    let changes_state = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        || headers.contains_key(header::UPGRADE);
    if changes_state && !bearer {
        let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
        let expected = [format!("http://{host}"), format!("https://{host}")];
        if !origin.is_some_and(|o| expected.iter().any(|e| e == o)) {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                format!("a request from origin `{}` may not change anything here", origin.unwrap_or("(none)")),
            )
            .into_response();
        }
    }
    next.run(request).await
}

/// Compares without stopping at the first difference.
fn same(given: &str, token: &str) -> bool {
    given.len() == token.len() && given.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

fn query_token(query: Option<&str>) -> Option<String> {
    query?.split('&').find_map(|pair| pair.strip_prefix("token=")).map(str::to_owned)
}

fn strip_token(query: &str) -> String {
    query.split('&').filter(|pair| !pair.starts_with("token=") && !pair.is_empty()).collect::<Vec<_>>().join("&")
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

fn cookie_token<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
}
