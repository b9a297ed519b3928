//! `opsbook export ID`: a session as a postmortem (Markdown, JSON or HTML).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use super::output::Output;
use super::session::{StoreArgs, open_store};
use crate::export;
use crate::load;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The session id (`opsbook session list`).
    pub id: String,
    #[arg(long, value_enum, default_value_t = Format::Md)]
    pub format: Format,
    /// Write to this file instead of stdout.
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// The book the session belongs to. Default: the book around the current folder.
    #[arg(long)]
    pub book: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Md,
    Json,
    Html,
}

pub fn run(args: Args, out: &mut Output) -> anyhow::Result<ExitCode> {
    let (root, config) = load::locate(args.book.as_deref())?;
    let store = open_store(&root, &config, &args.store)?;
    let session = store.session(&args.id)?;
    let events = store.events(&args.id, 0)?;
    let text = match args.format {
        Format::Md => export::markdown(&session, &events, store.as_ref()),
        Format::Json => {
            let mut text = serde_json::to_string_pretty(&export::json(&session, &events, store.as_ref()))?;
            text.push('\n');
            text
        }
        Format::Html => export::html(&session, &events, store.as_ref()),
    };
    match args.output {
        Some(path) => {
            std::fs::write(&path, text).map_err(|err| anyhow::anyhow!("cannot write {}: {err}", path.display()))?
        }
        None => out.stdout.write_all(text.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}
