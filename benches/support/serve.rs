//! Shared by the benchmarks that start `opsbook serve`: spawn it and read the start URL it
//! prints, split into the base URL and the token.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Starts `command` (an `opsbook serve --port 0 …`) and waits for its start URL: the process,
/// the base URL and the token.
pub fn start(mut command: Command) -> (Child, String, String) {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim();
    let base = url.split("/?").next().unwrap().to_owned();
    let token = url.split("token=").nth(1).unwrap().to_owned();
    (child, base, token)
}

/// POSTs JSON to the server with its token; the JSON answer.
pub fn post(base: &str, token: &str, path: &str, body: &serde_json::Value) -> serde_json::Value {
    let mut response = ureq::post(&format!("{base}{path}"))
        .header("Authorization", &format!("Bearer {token}"))
        .send_json(body)
        .unwrap();
    response.body_mut().read_json().unwrap()
}
