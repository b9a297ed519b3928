//! `opsbook check [BOOK|FILE]`: lint a book, for people or CI.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use super::output::Output;
use super::{EXIT_FAILED, InputError};
use crate::check::{self, RULES};
use crate::diagnostic::{Diagnostic, Level, Styles};
use crate::load;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A book folder or one runbook. Default: the book around the current folder.
    pub path: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Exit 1 on warnings too.
    #[arg(long)]
    pub strict: bool,
    /// Skip shellcheck even when it is installed.
    #[arg(long)]
    pub no_shellcheck: bool,
    /// Prometheus rule files or `PrometheusRule` manifests (or folders of them) whose alerts
    /// must lead to the book: default `[opsbook] alerts`.
    #[arg(long, num_args = 1.., value_name = "PATH")]
    pub alerts: Vec<PathBuf>,
    /// Warn for steps neither verified in CI (`[opsbook] freshness`) nor run with success in
    /// an incident (the session store) within this time (`90d`, `12h`).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub stale: Option<std::time::Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `file:line:col`, the source line and a caret.
    Human,
    /// `{"version": 1, "diagnostics": [...], "summary": {...}}`.
    Json,
    /// GitHub Actions annotations (`::error file=…,line=…,col=…::message`).
    Github,
}

/// `--stale`: steps with neither a pass in CI nor a successful run in an incident since
/// `within` ago.
fn stale_steps(
    book: &crate::model::Book,
    within: std::time::Duration,
    out: &mut Output,
) -> anyhow::Result<Vec<Diagnostic>> {
    let record = match &book.config.opsbook.freshness {
        Some(file) => crate::freshness::Record::read(&book.root.join(file)).map_err(InputError)?,
        None => {
            writeln!(out.stderr, "note: `[opsbook] freshness` is not set: only runs in incidents count for --stale")?;
            crate::freshness::Record::default()
        }
    };
    // The store's runs, when it has any (a book that never recorded one has no database yet).
    let url = crate::config::Environment::read().store_url(None, &book.config.opsbook, &book.root);
    let has_store = url.is_some() || book.root.join(".opsbook").join("opsbook.db").is_file();
    let runs = match has_store.then(|| crate::session::open(url.as_deref(), &book.root)) {
        Some(Ok(store)) => crate::freshness::last_runs(store.as_ref()),
        Some(Err(err)) => {
            writeln!(out.stderr, "note: the session store cannot be read ({err}): only CI counts for --stale")?;
            Default::default()
        }
        None => Default::default(),
    };
    let now = crate::clock::now_ms();
    let since = now.saturating_sub(i64::try_from(within.as_millis()).unwrap_or(i64::MAX));
    let mut found = Vec::new();
    for runbook in &book.runbooks {
        for step in &runbook.steps {
            let key = crate::freshness::key(&runbook.path, &step.id);
            let verdict = record.verdict(&runbook.path, &step.id);
            let verified = match &verdict {
                crate::freshness::Verdict::Verified(mark) => Some(mark.at),
                _ => None,
            };
            let ran = runs.get(&key).filter(|r| r.result == "exit 0").map(|r| r.at);
            let last = verified.max(ran);
            if last.is_some_and(|at| at >= since) {
                continue;
            }
            let when = match last {
                Some(at) => format!("last verified or run {}", crate::freshness::ago(now - at)),
                None => "never verified in CI nor run with success in an incident".to_owned(),
            };
            let mut warning = Diagnostic::warning(
                "stale-step",
                book.src.join(&runbook.path),
                format!("step `{}` is stale: {when}", step.id),
            )
            .with_help("mark it `test` and run `opsbook test --record`, or run it in a drill");
            warning.line = step.line;
            warning.col = step.col;
            found.push(warning);
        }
    }
    Ok(found)
}

pub fn run(args: Args, out: &mut Output) -> anyhow::Result<ExitCode> {
    let book = load::open(args.path.as_deref())?;
    let unknown: Vec<&String> =
        book.config.opsbook.check.disable.iter().filter(|rule| !RULES.iter().any(|(id, _)| id == rule)).collect();
    if !unknown.is_empty() {
        return Err(InputError(format!(
            "book.toml: `[opsbook.check] disable` names unknown rule(s) {}; the rules are {}",
            unknown.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", "),
            RULES.iter().map(|(id, _)| *id).collect::<Vec<_>>().join(", ")
        ))
        .into());
    }
    let mut options = check::Options::detect();
    if args.no_shellcheck {
        options.shellcheck = None;
    }
    let mut found = check::check_book(&book, &options);
    let rule_files: Vec<PathBuf> = if args.alerts.is_empty() {
        book.config.opsbook.alerts.iter().map(|p| book.root.join(p)).collect()
    } else {
        args.alerts.clone()
    };
    if let Some(within) = args.stale {
        found.extend(stale_steps(&book, within, out)?);
        found.sort_by(|a, b| (&a.file, a.line, a.col, a.rule).cmp(&(&b.file, b.line, b.col, b.rule)));
    }
    if !rule_files.is_empty() {
        if let Some(missing) = rule_files.iter().find(|p| !p.exists()) {
            let message = format!("`{}` does not exist; give alert rule files or folders", missing.display());
            return Err(InputError(message).into());
        }
        let mut alert_diagnostics = Vec::new();
        let rules = crate::alerts::read_rules(&rule_files, &mut alert_diagnostics);
        alert_diagnostics.extend(crate::alerts::check(&book, &rules));
        if book.config.opsbook.site_url.is_none() && rules.iter().any(|r| r.runbook_url.is_some()) {
            writeln!(
                out.stderr,
                "note: set `[opsbook] site-url` in book.toml to check where the alerts' runbook_url lead"
            )?;
        }
        let disabled = &book.config.opsbook.check.disable;
        found.extend(alert_diagnostics.into_iter().filter(|d| !disabled.iter().any(|r| r == d.rule)));
        found.sort_by(|a, b| (&a.file, a.line, a.col, a.rule).cmp(&(&b.file, b.line, b.col, b.rule)));
    }
    let errors = found.iter().filter(|d| d.level == Level::Error).count();
    let warnings = found.len() - errors;
    match args.format {
        Format::Human => {
            let styles = Styles::colored();
            for diagnostic in &found {
                write!(out.stdout, "{}", diagnostic.render(&styles))?;
            }
            let shellcheck =
                if options.shellcheck.is_some() { "" } else { " (shellcheck not installed: its rule did not run)" };
            writeln!(
                out.stderr,
                "{} runbook(s) checked: {errors} error(s), {warnings} warning(s){shellcheck}",
                book.runbooks.len()
            )?;
        }
        Format::Json => {
            let value = serde_json::json!({
                "version": 1,
                "diagnostics": found.iter().map(json_of).collect::<Vec<_>>(),
                "summary": {
                    "runbooks": book.runbooks.len(),
                    "errors": errors,
                    "warnings": warnings,
                    "shellcheck": options.shellcheck.is_some(),
                },
            });
            writeln!(out.stdout, "{}", serde_json::to_string_pretty(&value)?)?;
        }
        Format::Github => {
            for diagnostic in &found {
                writeln!(out.stdout, "{}", github_annotation(diagnostic))?;
            }
        }
    }
    let failed = errors > 0 || (args.strict && warnings > 0);
    Ok(if failed { ExitCode::from(EXIT_FAILED) } else { ExitCode::SUCCESS })
}

fn json_of(diagnostic: &Diagnostic) -> serde_json::Value {
    serde_json::json!({
        "rule": diagnostic.rule,
        "level": diagnostic.level.to_string(),
        "file": diagnostic.file.display().to_string(),
        "line": diagnostic.line,
        "col": diagnostic.col,
        "message": diagnostic.message,
        "help": diagnostic.help,
    })
}

/// One GitHub Actions workflow command; `%`, CR and LF escaped as the runner expects.
pub fn github_annotation(diagnostic: &Diagnostic) -> String {
    let escape_data = |text: &str| text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
    let escape_property = |text: &str| escape_data(text).replace(':', "%3A").replace(',', "%2C");
    let command = if diagnostic.level == Level::Error { "error" } else { "warning" };
    let mut message = diagnostic.message.clone();
    if let Some(help) = &diagnostic.help {
        message.push_str(&format!("\n{help}"));
    }
    format!(
        "::{command} file={},line={},col={},title={}::{}",
        escape_property(&diagnostic.file.display().to_string()),
        diagnostic.line.max(1),
        diagnostic.col.max(1),
        escape_property(diagnostic.rule),
        escape_data(&message)
    )
}
