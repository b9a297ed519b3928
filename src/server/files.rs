//! The site's files, read from the served build folder and never from outside it (links
//! resolved, see [`Boundary`]) nor hidden; pages get the console's script and stylesheet; the
//! console's own assets come from the binary.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::App;
use crate::boundary::{Boundary, is_hidden_name};

const CONSOLE_JS: &str = include_str!("../../theme/console.js");
const CONSOLE_CSS: &str = include_str!("../../theme/console.css");
/// The browser terminal (see `theme/vendor/xterm/README.md`), loaded by the console when a page
/// opens its first terminal.
const XTERM_JS: &str = include_str!("../../theme/vendor/xterm/xterm.js");
const XTERM_CSS: &str = include_str!("../../theme/vendor/xterm/xterm.css");
const XTERM_FIT_JS: &str = include_str!("../../theme/vendor/xterm/addon-fit.js");
const XTERM_LICENSE: &str = include_str!("../../theme/vendor/xterm/LICENSE");
/// Added before `</head>` of every page.
const INJECT: &str = "<link rel=\"stylesheet\" href=\"/__opsbook/console.css\">\n<script src=\"/__opsbook/console.js\" defer></script>\n";

pub async fn serve(State(app): State<Arc<App>>, uri: Uri) -> Response {
    match uri.path() {
        "/__opsbook/console.js" => return asset("text/javascript; charset=utf-8", CONSOLE_JS),
        "/__opsbook/console.css" => return asset("text/css; charset=utf-8", CONSOLE_CSS),
        "/__opsbook/xterm/xterm.js" => return asset("text/javascript; charset=utf-8", XTERM_JS),
        "/__opsbook/xterm/xterm.css" => return asset("text/css; charset=utf-8", XTERM_CSS),
        "/__opsbook/xterm/addon-fit.js" => return asset("text/javascript; charset=utf-8", XTERM_FIT_JS),
        "/__opsbook/xterm/LICENSE" => return asset("text/plain; charset=utf-8", XTERM_LICENSE),
        _ => {}
    }
    let Some(rel) = safe_path(uri.path()) else {
        return (StatusCode::BAD_REQUEST, "bad path").into_response();
    };
    let site = app.site_dir().to_path_buf();
    let found = tokio::task::spawn_blocking(move || read_inside(&site, &rel)).await.ok().flatten();
    match found {
        Some((path, bytes)) => respond(&path, bytes, StatusCode::OK),
        None => {
            let site = app.site_dir().to_path_buf();
            let page =
                tokio::task::spawn_blocking(move || read_inside(&site, Path::new("404.html"))).await.ok().flatten();
            match page {
                Some((path, bytes)) => respond(&path, bytes, StatusCode::NOT_FOUND),
                None => (StatusCode::NOT_FOUND, "not found").into_response(),
            }
        }
    }
}

fn asset(content_type: &'static str, text: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], text).into_response()
}

/// The URL path as a relative file path: percent-decoded, no `..`, no absolute parts, no NUL
/// or backslash; a folder means its `index.html`.
pub fn safe_path(url_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(url_path)?;
    if decoded.contains(['\0', '\\']) {
        return None;
    }
    let mut rel = PathBuf::new();
    for component in Path::new(decoded.trim_start_matches('/')).components() {
        match component {
            Component::Normal(part) => rel.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    if decoded.ends_with('/') || rel.as_os_str().is_empty() {
        rel.push("index.html");
    }
    Some(rel)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Reads `rel` under `root` (the site folder), refusing hidden names and anything whose real
/// path is outside it; a folder means its `index.html`, checked the same way.
fn read_inside(root: &Path, rel: &Path) -> Option<(PathBuf, Vec<u8>)> {
    if rel.components().any(|c| is_hidden_name(&c.as_os_str().to_string_lossy())) {
        return None;
    }
    let site = Boundary::folder(root);
    let mut path = site.resolve(&root.join(rel)).ok()?;
    if path.is_dir() {
        path = site.resolve(&path.join("index.html")).ok()?;
    }
    let bytes = std::fs::read(&path).ok()?;
    Some((path, bytes))
}

fn respond(path: &Path, bytes: Vec<u8>, status: StatusCode) -> Response {
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let content_type = match extension.as_str() {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "wasm" => "application/wasm",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };
    let body = if extension == "html" { inject(bytes) } else { bytes };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    response
}

fn inject(page: Vec<u8>) -> Vec<u8> {
    let text = match String::from_utf8(page) {
        Ok(text) => text,
        Err(not_text) => return not_text.into_bytes(),
    };
    match text.find("</head>") {
        Some(at) => {
            let mut out = String::with_capacity(text.len() + INJECT.len());
            out.push_str(&text[..at]);
            out.push_str(INJECT);
            out.push_str(&text[at..]);
            out.into_bytes()
        }
        None => text.into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside() {
        assert_eq!(safe_path("/"), Some(PathBuf::from("index.html")));
        assert_eq!(safe_path("/db/failover.html"), Some(PathBuf::from("db/failover.html")));
        assert_eq!(safe_path("/db/"), Some(PathBuf::from("db/index.html")));
        assert_eq!(safe_path("/a%20b.html"), Some(PathBuf::from("a b.html")));
        for bad in ["/../etc/passwd", "/a/../../x", "/%2e%2e/etc/passwd", "/a%00b", "/..%5c..%5cx", "/%zz"] {
            assert_eq!(safe_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn reads_stay_in_the_site_and_skip_hidden_files() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let site = tmp.path().join("site");
        std::fs::create_dir_all(site.join("db")).expect("folder");
        std::fs::create_dir_all(site.join("out")).expect("folder");
        std::fs::write(site.join("db/index.html"), "db page").expect("write");
        std::fs::write(site.join(".env"), "hidden").expect("write");
        std::fs::write(tmp.path().join("secret.html"), "secret").expect("write");
        std::os::unix::fs::symlink(tmp.path().join("secret.html"), site.join("out/index.html")).expect("link");
        std::os::unix::fs::symlink(tmp.path(), site.join("up")).expect("link");
        let site = std::fs::canonicalize(&site).expect("exists");
        let read =
            |rel: &str| read_inside(&site, Path::new(rel)).map(|(_, bytes)| String::from_utf8(bytes).expect("text"));
        assert_eq!(read("db").as_deref(), Some("db page"));
        assert_eq!(read("db/index.html").as_deref(), Some("db page"));
        for refused in ["out", "out/index.html", "up/secret.html", ".env"] {
            assert_eq!(read(refused), None, "{refused}");
        }
    }
}
