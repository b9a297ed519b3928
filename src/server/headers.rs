//! Headers every response carries, and the early refusal of bodies that are too large.
//!
//! Pages are served with a Content-Security-Policy that allows scripts from this origin only (no
//! inline script, no `eval`; WebAssembly for the search index): if markup ever slipped through
//! escaping, it could not run. Exports set their own, stricter policy (`sandbox`) before this
//! layer sees them. A request whose `Content-Length` is over the limit is answered 413 at once,
//! without waiting for a body that may never come.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// The policy of every page and API answer. Styles may be inline: the browser terminal
/// (xterm.js) sizes and colours its screen with `<style>` elements it writes; scripts may not.
pub const PAGE_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
     form-action 'self'";

/// The policy of an export: a document to read, never a page of this origin.
pub const EXPORT_POLICY: &str = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:";

pub async fn harden(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    let mut response = if declared.is_some_and(|length| length > super::BODY_LIMIT as u64) {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is over {} KiB", super::BODY_LIMIT / 1024),
        )
        .into_response()
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(PAGE_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // The first URL carries the token: it must never travel on in a Referer.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}
