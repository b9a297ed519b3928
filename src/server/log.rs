//! A log line for every request: method, path (the console's token masked), status, latency.

use std::time::Instant;

use axum::extract::Request;
use axum::http::Uri;
use axum::middleware::Next;
use axum::response::Response;

/// The longest path logged; the rest is cut (a request line can be long, a log line should not).
const MAX_LOGGED: usize = 240;

pub async fn requests(request: Request, next: Next) -> Response {
    let began = Instant::now();
    let method = request.method().clone();
    let target = loggable(request.uri());
    let response = next.run(request).await;
    tracing::info!(
        target: "opsbook::server::requests",
        "{method} {target} {} {:.1} ms",
        response.status().as_u16(),
        began.elapsed().as_secs_f64() * 1000.0
    );
    response
}

/// The path and query with the value of every `token` parameter masked, cut at [`MAX_LOGGED`].
fn loggable(uri: &Uri) -> String {
    let mut shown = uri.path().to_owned();
    if let Some(query) = uri.query() {
        let masked: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if name.eq_ignore_ascii_case("token") => format!("{name}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        shown.push('?');
        shown.push_str(&masked.join("&"));
    }
    if shown.len() > MAX_LOGGED {
        let mut cut = MAX_LOGGED;
        while !shown.is_char_boundary(cut) {
            cut -= 1;
        }
        shown.truncate(cut);
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_reaches_the_log() {
        let uri: Uri = "/db.html?var.pod=api-7&token=0123456789abcdef&TOKEN=x#s".parse().unwrap();
        assert_eq!(loggable(&uri), "/db.html?var.pod=api-7&token=***&TOKEN=***");
        assert_eq!(loggable(&"/api/book".parse().unwrap()), "/api/book");
        let long: Uri = format!("/{}", "a".repeat(1000)).parse().unwrap();
        assert_eq!(loggable(&long).chars().count(), MAX_LOGGED + 1);
    }
}
