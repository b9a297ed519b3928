//! A log line for every request: method, path (the console's token masked), status, latency.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::Uri;
use axum::middleware::Next;
use axum::response::Response;

use super::App;

/// The longest target logged; the rest is cut (a request line can be long, a log line should not).
const MAX_LOGGED: usize = 240;

pub async fn requests(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let began = Instant::now();
    let method = request.method().clone();
    let target = loggable(request.uri(), &app.token);
    let response = next.run(request).await;
    tracing::info!(
        target: "opsbook::server::requests",
        "{method} {target} {} {:.1} ms",
        response.status().as_u16(),
        began.elapsed().as_secs_f64() * 1000.0
    );
    response
}

/// The path and query as a person reads them (percent-decoded), with the token masked
/// wherever it stands, in any case or encoding, and the value of every `token` parameter;
/// characters that could forge or disguise a log line (control, bidi) escaped; cut at
/// [`MAX_LOGGED`] characters.
fn loggable(uri: &Uri, token: &str) -> String {
    let raw = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let mut shown = percent_decoded(raw);
    // ASCII lowercasing keeps every byte where it is, so positions found in one hold in the other.
    let lower = shown.to_ascii_lowercase();
    let token = token.to_ascii_lowercase();
    if !token.is_empty() {
        let found: Vec<usize> = lower.match_indices(&token).map(|(at, _)| at).collect();
        for at in found.into_iter().rev() {
            shown.replace_range(at..at + token.len(), "***");
        }
    }
    if let Some((path, query)) = shown.split_once('?') {
        let masked: Vec<String> = query
            .split(['&', ';'])
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if name.trim().eq_ignore_ascii_case("token") => format!("{name}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        shown = format!("{path}?{}", masked.join("&"));
    }
    let mut out = String::with_capacity(shown.len().min(MAX_LOGGED + 8));
    for (count, c) in shown.chars().enumerate() {
        if count == MAX_LOGGED {
            out.push('…');
            break;
        }
        let disguising =
            c.is_control() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if disguising {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// `%XX` escapes decoded (invalid UTF-8 shown as U+FFFD; a `%` without two hex digits kept).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, ..) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    fn logged(target: &str) -> String {
        loggable(&target.parse().unwrap(), TOKEN)
    }

    #[test]
    fn the_token_never_reaches_the_log() {
        assert_eq!(logged(&format!("/db.html?var.pod=api-7&token={TOKEN}")), "/db.html?var.pod=api-7&token=***");
        assert_eq!(logged("/api/book"), "/api/book");
        for hidden in [
            format!("/api/book?%74oken={TOKEN}"),
            format!("/api/book?tok%65n={TOKEN}"),
            format!("/api/book?a=b;token={TOKEN}"),
            format!("/api/book?+token={TOKEN}"),
            format!("/api/book?token%3D{TOKEN}"),
            format!("/api/book?x={}", TOKEN.to_ascii_uppercase()),
            format!("/{TOKEN}/x"),
            format!("/api/book?x=%{}", TOKEN.bytes().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join("%")),
        ] {
            let shown = logged(&hidden);
            assert!(!shown.to_ascii_lowercase().contains(TOKEN), "{hidden} -> {shown}");
        }
        // Another value named token is masked too.
        assert_eq!(logged("/?TOKEN=guess"), "/?TOKEN=***");
    }

    #[test]
    fn nothing_in_a_target_can_forge_or_disguise_a_line() {
        assert_eq!(logged("/a%0Ab%1B[31m"), "/a\\u{a}b\\u{1b}[31m");
        assert_eq!(logged("/x%E2%80%AEfdp.exe"), "/x\\u{202e}fdp.exe");
        let long: Uri = format!("/{}", "a".repeat(1000)).parse().unwrap();
        assert_eq!(loggable(&long, TOKEN).chars().count(), MAX_LOGGED + 1);
        assert_eq!(logged("/100%"), "/100%");
    }
}
