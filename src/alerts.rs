//! Alert rules and the runbooks they point at: Prometheus rule files (`groups[].rules[]` with
//! `alert:`) and Kubernetes `PrometheusRule` objects, read for their names and `runbook_url`
//! annotations; which runbook answers an alert (front matter `alerts: [Name]`, else the rule's
//! `runbook_url` under `[opsbook] site-url`). One owner for `check --alerts`, the console's
//! `/go?alert=` and the site's `go.html`.

use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;

use crate::diagnostic::Diagnostic;
use crate::model::{Book, Runbook};

/// One alerting rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRule {
    pub name: String,
    pub runbook_url: Option<String>,
    pub file: PathBuf,
    /// 1-based line of its `alert:` key.
    pub line: u32,
}

/// Reads rule files; a folder is read for its `.yml`/`.yaml` files, sorted. A file that does
/// not parse is an error diagnostic; the others are still read.
pub fn read_rules(paths: &[PathBuf], diagnostics: &mut Vec<Diagnostic>) -> Vec<AlertRule> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = walkdir::WalkDir::new(path)
                .sort_by_file_name()
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file())
                .map(|e| e.into_path())
                .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    let mut rules = Vec::new();
    for file in files {
        // A rule file is a regular file of sensible size (not a FIFO, not /dev/zero).
        let size = std::fs::metadata(&file).ok().filter(|m| m.is_file()).map(|m| m.len());
        if size.is_none_or(|s| s > 16 * 1024 * 1024) {
            diagnostics.push(
                Diagnostic::error(
                    "alert-rules",
                    &file,
                    format!("`{}` is not a rule file (a regular file up to 16 MiB)", file.display()),
                )
                .with_help("give Prometheus rule files, PrometheusRule manifests or folders of them"),
            );
            continue;
        }
        match std::fs::read_to_string(&file) {
            Ok(text) => rules.extend(rules_of(&file, &text, diagnostics)),
            Err(err) => diagnostics.push(
                Diagnostic::error("alert-rules", &file, format!("cannot read `{}`: {err}", file.display()))
                    .with_help("give a Prometheus rule file, a PrometheusRule manifest or a folder of them"),
            ),
        }
    }
    rules
}

/// The alerting rules of one file (every YAML document in it).
pub fn rules_of(file: &Path, text: &str, diagnostics: &mut Vec<Diagnostic>) -> Vec<AlertRule> {
    let mut rules = Vec::new();
    let mut search_from = 0;
    let lines: Vec<&str> = text.lines().collect();
    for document in serde_yaml_ng::Deserializer::from_str(text) {
        let value = match <Value as serde::Deserialize>::deserialize(document) {
            Ok(value) => value,
            Err(err) => {
                let mut error =
                    Diagnostic::error("alert-rules", file, format!("`{}` is not valid YAML: {err}", file.display()))
                        .with_help("fix the file (`promtool check rules` says the same)");
                if let Some(at) = err.location() {
                    error = error.at(text, at.line() as u32, at.column() as u32);
                }
                diagnostics.push(error);
                break;
            }
        };
        // A PrometheusRule keeps its groups under `spec`.
        let groups = value
            .get("spec")
            .and_then(|spec| spec.get("groups"))
            .or_else(|| value.get("groups"))
            .and_then(Value::as_sequence);
        for group in groups.into_iter().flatten() {
            for rule in group.get("rules").and_then(Value::as_sequence).into_iter().flatten() {
                let Some(name) = rule.get("alert").and_then(Value::as_str) else { continue };
                let runbook_url = rule
                    .get("annotations")
                    .and_then(|a| a.get("runbook_url"))
                    .and_then(Value::as_str)
                    .map(|u| u.trim().to_owned())
                    .filter(|u| !u.is_empty());
                // The line of its `alert:` key: the next one naming it.
                let found = lines[search_from.min(lines.len())..].iter().position(|line| {
                    let line = line.trim_start().trim_start_matches("- ").trim_start().trim_start_matches('{');
                    line.strip_prefix("alert:").is_some_and(|rest| {
                        // `alert: X  # why`, `{alert: X, expr: …}`
                        let value = rest.split(" #").next().unwrap_or(rest).split(',').next().unwrap_or(rest);
                        value.trim().trim_end_matches('}').trim().trim_matches(['"', '\'']) == name
                    })
                });
                let line = match found {
                    Some(offset) => {
                        search_from += offset + 1;
                        search_from as u32
                    }
                    None => 1,
                };
                rules.push(AlertRule { name: name.to_owned(), runbook_url, file: file.to_owned(), line });
            }
        }
    }
    rules
}

/// The alert names a runbook says it answers: front matter `alerts: [Name, …]` (or one name).
pub fn answered_by(runbook: &Runbook) -> Vec<String> {
    match runbook.front_matter.extra.get("alerts") {
        Some(serde_json::Value::String(name)) => vec![name.trim().to_owned()],
        Some(serde_json::Value::Array(names)) => {
            names.iter().filter_map(|n| n.as_str()).map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()).collect()
        }
        _ => Vec::new(),
    }
}

/// Where a link into the site leads: a runbook and an anchor on it.
#[derive(Debug, Clone)]
pub struct Target<'b> {
    pub runbook: &'b Runbook,
    pub anchor: Option<String>,
}

/// Why a `runbook_url` under the site leads nowhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// No page of the book has this path.
    NoPage(String),
    /// The page has no such anchor.
    NoAnchor { page: String, anchor: String },
}

/// The page and anchor a URL under `site_url` names; None when the URL is not under it (or its
/// path is a template, `{{ $labels.runbook }}`, that only Prometheus fills in).
pub fn resolve<'b>(book: &'b Book, site_url: &str, url: &str) -> Option<Result<Target<'b>, Unresolved>> {
    let base = site_url.trim_end_matches('/');
    let rest = url.strip_prefix(base)?;
    if !(rest.is_empty() || rest.starts_with(['/', '#', '?'])) {
        return None;
    }
    let rest = rest.trim_start_matches('/');
    let (path, anchor) = match rest.split_once('#') {
        Some((path, anchor)) => (path, Some(anchor)),
        None => (rest, None),
    };
    let path = path.split('?').next().unwrap_or(path);
    if path.contains("{{") {
        return None;
    }
    let path = if path.is_empty() || path.ends_with('/') { format!("{path}index.html") } else { path.to_owned() };
    if path == "go.html" {
        return None;
    }
    let extensions = &book.config.opsbook.extensions;
    let Some(runbook) = book.runbooks.iter().find(|r| {
        let [page, stem] = crate::page::other_names(&r.path, extensions);
        r.path == path || page == path || stem == path
    }) else {
        return Some(Err(Unresolved::NoPage(path)));
    };
    let anchor = anchor.filter(|a| !a.is_empty() && !a.contains("{{")).map(str::to_owned);
    if let Some(anchor) = &anchor {
        let known = runbook.sections.iter().any(|s| &s.anchor == anchor)
            || runbook.steps.iter().any(|s| format!("step-{}", s.id) == *anchor || s.id == *anchor);
        if !known {
            return Some(Err(Unresolved::NoAnchor {
                page: crate::page::html_path(&runbook.path),
                anchor: anchor.clone(),
            }));
        }
    }
    Some(Ok(Target { runbook, anchor }))
}

/// The runbook that answers alert `name`: the one whose front matter names it, else the one
/// its rule's `runbook_url` leads to.
pub fn runbook_for<'b>(book: &'b Book, rules: &[AlertRule], site_url: Option<&str>, name: &str) -> Option<Target<'b>> {
    if let Some(runbook) = book.runbooks.iter().find(|r| answered_by(r).iter().any(|a| a == name)) {
        return Some(Target { runbook, anchor: None });
    }
    let site_url = site_url?;
    rules
        .iter()
        .filter(|r| r.name == name)
        .find_map(|r| r.runbook_url.as_deref().and_then(|u| resolve(book, site_url, u)).and_then(Result::ok))
}

/// `check --alerts`: alerts without a `runbook_url`; `runbook_url`s under the site that lead to
/// no page or anchor; runbooks answering alerts no rule defines.
pub fn check(book: &Book, rules: &[AlertRule]) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    let site_url = book.config.opsbook.site_url.as_deref();
    for rule in rules {
        let at = |d: Diagnostic| {
            let mut d = d;
            d.line = rule.line;
            d.col = 1;
            d
        };
        match (&rule.runbook_url, site_url) {
            (None, _) => {
                let answered = book.runbooks.iter().any(|r| answered_by(r).contains(&rule.name));
                let help = if answered {
                    "add `annotations: {runbook_url: …}` pointing at its runbook (a runbook's front matter names it already)"
                } else {
                    "add `annotations: {runbook_url: …}`, or name the alert in a runbook's front matter (`alerts: [Name]`)"
                };
                found.push(at(Diagnostic::warning(
                    "alert-without-runbook",
                    &rule.file,
                    format!("alert `{}` has no `runbook_url` annotation", rule.name),
                )
                .with_help(help)));
            }
            (Some(url), Some(site)) => match resolve(book, site, url) {
                Some(Err(Unresolved::NoPage(path))) => found.push(at(Diagnostic::error(
                    "alert-runbook-url",
                    &rule.file,
                    format!("alert `{}` points at `{url}`: the book has no page `{path}`", rule.name),
                )
                .with_help("fix the URL, or add the runbook; a renamed page breaks every alert that links to it"))),
                Some(Err(Unresolved::NoAnchor { page, anchor })) => found.push(at(Diagnostic::error(
                    "alert-runbook-url",
                    &rule.file,
                    format!("alert `{}` points at `{url}`: `{page}` has no anchor `#{anchor}`", rule.name),
                )
                .with_help("point at a heading's anchor or a step (`#step-ID`)"))),
                Some(Ok(_)) | None => {}
            },
            (Some(_), None) => {}
        }
    }
    let mut claimed: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    for runbook in &book.runbooks {
        for name in answered_by(runbook) {
            if let Some(first) = claimed.get(&name).copied() {
                let mut warning = Diagnostic::warning(
                    "alert-unknown",
                    book.src.join(&runbook.path),
                    format!("alert `{name}` is answered by `{first}` too; its link opens `{first}`"),
                )
                .with_help("name each alert in one runbook's front matter");
                warning.line = front_matter_line(&runbook.source, &name);
                warning.col = 1;
                found.push(warning);
            } else {
                claimed.insert(name.clone(), &runbook.path);
            }
            if !rules.iter().any(|r| r.name == name) {
                let mut warning = Diagnostic::warning(
                    "alert-unknown",
                    book.src.join(&runbook.path),
                    format!("the front matter names alert `{name}`, which no rule file given defines"),
                )
                .with_help(
                    "fix the name (alert names are case-sensitive), or pass the file that defines it to --alerts",
                );
                warning.line = front_matter_line(&runbook.source, &name);
                warning.col = 1;
                found.push(warning);
            }
        }
    }
    found
}

/// The line of `name` in a runbook's front matter (1 if it cannot be placed).
fn front_matter_line(source: &str, name: &str) -> u32 {
    source.lines().take(200).position(|line| line.contains(name)).map_or(1, |index| index as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_files_and_prometheus_rule_objects() {
        let text = "groups:\n- name: db\n  rules:\n  - alert: DbDown\n    expr: up == 0\n    annotations:\n      runbook_url: https://rb.example.com/db.html#restart\n  - record: x\n    expr: y\n  - alert: \"DbSlow\"\n    expr: z\n---\napiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nspec:\n  groups:\n  - name: k\n    rules:\n    - alert: PodCrash\n      expr: a\n";
        let mut diagnostics = Vec::new();
        let rules = rules_of(Path::new("r.yml"), text, &mut diagnostics);
        assert!(diagnostics.is_empty());
        let summary: Vec<(&str, Option<&str>, u32)> =
            rules.iter().map(|r| (r.name.as_str(), r.runbook_url.as_deref(), r.line)).collect();
        assert_eq!(
            summary,
            [
                ("DbDown", Some("https://rb.example.com/db.html#restart"), 4),
                ("DbSlow", None, 10),
                ("PodCrash", None, 19)
            ]
        );
        let mut diagnostics = Vec::new();
        assert!(rules_of(Path::new("bad.yml"), "groups: [\n", &mut diagnostics).is_empty());
        assert_eq!(diagnostics[0].rule, "alert-rules");
    }
}

/// Where an alert leads: a page of the site, an anchor, the inputs of the runbook (for labels to
/// fill). What `alerts.json` holds and `/go` follows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AlertLink {
    pub page: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anchor: Option<String>,
    pub inputs: Vec<String>,
}

/// Every alert the book answers (by front matter, or by a rule's `runbook_url` under the
/// site), by name.
pub fn links(book: &Book, rules: &[AlertRule]) -> std::collections::BTreeMap<String, AlertLink> {
    let site_url = book.config.opsbook.site_url.as_deref();
    let mut names: Vec<String> = book.runbooks.iter().flat_map(|r| answered_by(r)).collect();
    names.extend(rules.iter().map(|r| r.name.clone()));
    let mut links = std::collections::BTreeMap::new();
    for name in names {
        if links.contains_key(&name) {
            continue;
        }
        if let Some(target) = runbook_for(book, rules, site_url, &name) {
            let mut inputs: Vec<String> = Vec::new();
            for placeholder in target.runbook.steps.iter().flat_map(|s| &s.placeholders) {
                if !inputs.contains(&placeholder.name) {
                    inputs.push(placeholder.name.clone());
                }
            }
            links.insert(
                name,
                AlertLink { page: crate::page::html_path(&target.runbook.path), anchor: target.anchor, inputs },
            );
        }
    }
    links
}

/// The input a label fills: the runbook's input of that name, else one that differs only in
/// case or `-`/`_` (`pod_name` fills `<pod-name>`), else the label's own name.
pub fn input_for<'a>(label: &'a str, inputs: &'a [String]) -> &'a str {
    let normal = |s: &str| s.to_ascii_lowercase().replace('_', "-");
    inputs
        .iter()
        .find(|i| i.as_str() == label)
        .or_else(|| inputs.iter().find(|i| normal(i) == normal(label)))
        .map_or(label, String::as_str)
}

/// The page an alert's link opens, relative to the site's root: labels become `var.` values
/// (the console and the site fill inputs from them), the anchor last. Everything from the
/// request is percent-encoded.
pub fn go_url(link: &AlertLink, labels: &[(String, String)]) -> String {
    let mut url = link.page.clone();
    let mut first = true;
    for (label, value) in labels {
        url.push(if first { '?' } else { '&' });
        first = false;
        url.push_str("var.");
        url.push_str(&percent(input_for(label, &link.inputs)));
        url.push('=');
        url.push_str(&percent(value));
    }
    if let Some(anchor) = &link.anchor {
        url.push('#');
        url.push_str(&percent(anchor));
    }
    url
}

/// Percent-encodes everything but unreserved characters.
fn percent(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The rule files the book names (`[opsbook] alerts`), read; problems are left to `check`.
pub fn book_rules(book: &Book) -> Vec<AlertRule> {
    let paths: Vec<PathBuf> = book.config.opsbook.alerts.iter().map(|p| book.root.join(p)).collect();
    read_rules(&paths, &mut Vec::new())
}

#[cfg(test)]
mod link_tests {
    use super::*;

    #[test]
    fn labels_fill_inputs_and_everything_is_encoded() {
        let link = AlertLink {
            page: "db/failover.html".to_owned(),
            anchor: Some("step-promote".to_owned()),
            inputs: vec!["pod-name".to_owned(), "NAMESPACE".to_owned()],
        };
        let url = go_url(
            &link,
            &[
                ("pod_name".to_owned(), "api-7f9".to_owned()),
                ("namespace".to_owned(), "prod\"><script>&x=1#".to_owned()),
            ],
        );
        assert_eq!(
            url,
            "db/failover.html?var.pod-name=api-7f9&var.NAMESPACE=prod%22%3E%3Cscript%3E%26x%3D1%23#step-promote"
        );
        assert_eq!(input_for("other", &link.inputs), "other");
    }
}
