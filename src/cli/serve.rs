//! `opsbook serve`: the site and the incident console on loopback.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use super::InputError;
use super::output::{BOLD, DIM, Output};
use super::session::{StoreArgs, open_store};
use crate::load;
use crate::server::{App, AppOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The book folder. Default: the book around the current folder.
    pub book: Option<PathBuf>,
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
    /// The address to listen on. Anything but loopback needs --allow-remote.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Allow listening on a non-loopback address (the token still guards every request).
    #[arg(long)]
    pub allow_remote: bool,
    /// Open the console in the default browser.
    #[arg(long)]
    pub open: bool,
    /// Open the console on this session.
    #[arg(long)]
    pub session: Option<String>,
    /// Keep the token in this file (created, private, when missing): the same token across
    /// restarts, for Alertmanager's `credentials_file` and other callers of the API.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// The token kept in `file`: read when it exists (it must be a long random word), else made and
/// written with owner-only permissions.
fn token_from(file: &std::path::Path) -> Result<String, InputError> {
    match std::fs::read_to_string(file) {
        Ok(text) => {
            let token = text.trim().to_owned();
            let random_enough =
                token.len() >= 32 && token.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
            if random_enough {
                Ok(token)
            } else {
                Err(InputError(format!(
                    "`{}` must hold a token of at least 32 letters, digits, `-` or `_`; remove it to have one made",
                    file.display()
                )))
            }
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            use std::os::unix::fs::OpenOptionsExt;
            let token = uuid::Uuid::new_v4().simple().to_string();
            let mut out = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(file)
                .map_err(|err| InputError(format!("cannot create `{}`: {err}", file.display())))?;
            writeln!(out, "{token}").map_err(|err| InputError(format!("cannot write `{}`: {err}", file.display())))?;
            Ok(token)
        }
        Err(err) => Err(InputError(format!("cannot read `{}`: {err}", file.display()))),
    }
}

pub fn run(args: Args, out: &mut Output) -> anyhow::Result<ExitCode> {
    // Exported-variables files left by a recorder killed with `kill -9`.
    crate::exec::sweep_env_files();
    if !args.bind.is_loopback() && !args.allow_remote {
        return Err(InputError(format!(
            "refusing to listen on {}: the console runs commands on this machine; it listens on loopback \
             (127.0.0.1) unless you pass --allow-remote",
            args.bind
        ))
        .into());
    }
    let book = load::open(args.book.as_deref())?;
    out.diagnostics(&book)?;
    let store = open_store(&book.root, &book.config, &args.store)?;
    if let Some(id) = &args.session {
        store.session(id)?;
    }
    let cwd = std::env::current_dir()?;
    let token = args.token_file.as_deref().map(token_from).transpose()?;
    // The site is built before the runtime starts: its search indexer drives a runtime of its own.
    let (app, shutdown) =
        App::new(book, store, AppOptions { token, allow_remote: args.allow_remote, site_dir: None, cwd })?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(SocketAddr::new(args.bind, args.port))
            .await
            .map_err(|err| InputError(format!("cannot listen on {}:{}: {err}", args.bind, args.port)))?;
        let address = listener.local_addr()?;
        if !args.bind.is_loopback() {
            writeln!(
                out.stderr,
                "warning: listening on {address}, reachable from other machines; anyone with the token can run steps here"
            )?;
        }
        let host = url_host(args.bind);
        let session = args.session.as_ref().map(|id| format!("&session={id}")).unwrap_or_default();
        let url = format!("http://{host}:{}/?token={}{session}", address.port(), app.token());
        writeln!(out.stderr, "{BOLD}opsbook console{BOLD:#} {DIM}(ctrl-c stops it; running steps are cancelled){DIM:#}")?;
        writeln!(out.stdout, "{url}")?;
        out.stdout.flush()?;
        if args.open {
            open_browser(&url);
        }
        crate::server::serve(app, shutdown, listener).await
    })?;
    writeln!(out.stderr, "stopped")?;
    Ok(ExitCode::SUCCESS)
}

/// The host part of the console's URL for an address it listens on: a bracketed IPv6 address,
/// and a loopback one for an unspecified address (`0.0.0.0` is reached at `127.0.0.1`, `::` at
/// `[::1]`).
fn url_host(bind: IpAddr) -> String {
    match bind {
        IpAddr::V4(ip) if ip.is_unspecified() => "127.0.0.1".to_owned(),
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) if ip.is_unspecified() => "[::1]".to_owned(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    }
}

fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
    let _ = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_printed_url_reaches_the_address_it_listens_on() {
        let host = |text: &str| url_host(text.parse().expect("an address"));
        assert_eq!(host("127.0.0.1"), "127.0.0.1");
        assert_eq!(host("127.0.0.2"), "127.0.0.2");
        assert_eq!(host("0.0.0.0"), "127.0.0.1");
        assert_eq!(host("::1"), "[::1]");
        assert_eq!(host("::"), "[::1]");
        assert_eq!(host("fe80::1"), "[fe80::1]");
    }
}
