//! A fence's info string -> language tag + typed [`FenceSettings`].
//!
//! Three syntaxes, one result: mdBook's `bash,ignore`; Runme's `sh {"name":"x","interactive":"true"}`
//! and `sh { name=x }`; ours, `bash {name=x confirm timeout=30s test}`. A tiny tokenizer reads
//! `key`, `key=value`, `key="quoted value"`; JSON objects go through serde_json.

use crate::model::FenceSettings;

/// What an info string says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Info {
    /// The language tag, lower-cased (`bash`), or None for an untagged fence.
    pub lang: Option<String>,
    pub settings: FenceSettings,
    /// Problems to warn about: (message, help).
    pub problems: Vec<String>,
}

pub(crate) fn parse_info(info: &str) -> Info {
    let info = info.trim();
    let mut out = Info::default();
    if info.is_empty() {
        return out;
    }
    // `{.bash}`/`{ .sh name=x }`: pandoc style, the class is the language.
    let (head, mut attributes) = match info.find('{') {
        Some(brace) => (&info[..brace], Some(&info[brace..])),
        None => (info, None),
    };
    // Docusaurus marks lines to highlight as `{1,3-5}`: display only.
    if attributes.is_some_and(|a| {
        a.trim().strip_prefix('{').and_then(|a| a.strip_suffix('}')).is_some_and(|inner| {
            !inner.trim().is_empty() && inner.chars().all(|c| c.is_ascii_digit() || matches!(c, ',' | '-' | ' '))
        })
    }) {
        attributes = None;
    }
    let lang_end = head.find([',', ' ', '\t']).unwrap_or(head.len());
    if lang_end > 0 {
        out.lang = Some(head[..lang_end].to_ascii_lowercase());
    }
    // mdBook flags after the language (`bash,ignore`, `sh no-run`), and the attributes other
    // sites write there (`title="Install" showLineNumbers`).
    for (key, value) in tokenize(&head[lang_end..]) {
        apply(&mut out, &key, value.as_deref());
    }
    if let Some(attributes) = attributes {
        let body = attributes.trim();
        let inner = body.strip_prefix('{').and_then(|b| b.strip_suffix('}'));
        match inner {
            Some(inner) if inner.trim_start().starts_with('"') => {
                match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(body) {
                    Ok(map) => {
                        for (key, value) in map {
                            let value = match value {
                                serde_json::Value::String(s) => s,
                                other => other.to_string(),
                            };
                            apply(&mut out, &key, Some(&value));
                        }
                    }
                    Err(err) => out.problems.push(format!("attributes `{body}` are not valid JSON ({err})")),
                }
            }
            Some(inner) => {
                for (key, value) in tokenize(inner) {
                    if let Some(class) = key.strip_prefix('.') {
                        if out.lang.is_none() {
                            out.lang = Some(class.to_ascii_lowercase());
                        } else if class.eq_ignore_ascii_case("no-copy") {
                            // MkDocs Material: shown without a copy button, i.e. output.
                            out.settings.ignore = true;
                        }
                        continue;
                    }
                    apply(&mut out, &key, value.as_deref());
                }
            }
            None => out.problems.push(format!("attributes `{body}` have no closing `}}`")),
        }
    }
    out
}

/// `a b=c d="e f"` -> [(a, None), (b, Some(c)), (d, Some(e f))]. Commas separate too.
fn tokenize(text: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || c == ',' || c == '=' {
                break;
            }
            key.push(c);
            chars.next();
        }
        let mut value = None;
        if chars.peek() == Some(&'=') {
            chars.next();
            let mut text = String::new();
            match chars.peek().copied() {
                Some(quote @ ('"' | '\'')) => {
                    chars.next();
                    for c in chars.by_ref() {
                        if c == quote {
                            break;
                        }
                        text.push(c);
                    }
                }
                _ => {
                    while let Some(&c) = chars.peek() {
                        if c.is_whitespace() || c == ',' {
                            break;
                        }
                        text.push(c);
                        chars.next();
                    }
                }
            }
            value = Some(text);
        }
        if !key.is_empty() {
            out.push((key, value));
        }
    }
    out
}

fn truthy(value: Option<&str>) -> Option<bool> {
    match value.map(|v| v.trim().to_ascii_lowercase()) {
        None => Some(true),
        Some(v) if matches!(v.as_str(), "true" | "yes" | "1" | "on" | "") => Some(true),
        Some(v) if matches!(v.as_str(), "false" | "no" | "0" | "off") => Some(false),
        Some(_) => None,
    }
}

fn apply(out: &mut Info, key: &str, value: Option<&str>) {
    let settings = &mut out.settings;
    let flag = |out: &mut Vec<String>, key: &str| {
        let parsed = truthy(value);
        if parsed.is_none() {
            out.push(format!("attribute `{key}` takes true or false, not `{}`", value.unwrap_or("")));
        }
        parsed.unwrap_or(false)
    };
    match key {
        "name" | "id" => match value.map(str::trim).filter(|v| !v.is_empty()) {
            Some(name) if is_valid_id(name) => settings.name = Some(name.to_owned()),
            Some(name) => {
                out.problems.push(format!("step name `{name}` may only hold letters, digits, `-`, `_` and `.`"))
            }
            None => out.problems.push(format!("attribute `{key}` needs a value, as in `{key}=restart-api`")),
        },
        "ignore" | "no-run" | "norun" | "noexec" | "skip" | "no_run" => settings.ignore = flag(&mut out.problems, key),
        "confirm" => settings.confirm = flag(&mut out.problems, key),
        "test" => settings.test = flag(&mut out.problems, key),
        "interactive" => settings.interactive = Some(flag(&mut out.problems, key)),
        "timeout" => match value.map(|v| parse_timeout(v.trim())) {
            Some(Ok(seconds)) => settings.timeout_secs = Some(seconds),
            Some(Err(message)) => out.problems.push(message),
            None => out.problems.push("attribute `timeout` needs a value, as in `timeout=30s`".to_owned()),
        },
        "cwd" => settings.cwd = value.map(str::to_owned),
        "title" => {
            settings.title = value.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
            // `title="Example Output"`: the block shows what a command printed.
            if settings.title.as_deref().is_some_and(names_output) {
                settings.ignore = true;
            }
        }
        // What docs sites' highlighters read (MkDocs, Docusaurus, Hugo, GitBook): how the block
        // is shown, nothing about running it.
        _ if is_display_attribute(key) => {}
        _ => settings.unknown.push((key.to_owned(), value.unwrap_or("").to_owned())),
    }
}

/// A block title that says the block is output (`Example Output`, `Sample output`).
pub(crate) fn names_output(title: &str) -> bool {
    title.to_ascii_lowercase().split(|c: char| !c.is_alphanumeric()).any(|w| w == "output")
}

fn is_display_attribute(key: &str) -> bool {
    const DISPLAY: &[&str] = &[
        "showlinenumbers",
        "linenums",
        "linenostart",
        "hl_lines",
        "linenumbers",
        "overflow",
        "wrap",
        "class",
        "lang",
        "language",
        "nocopy",
        "no-copy",
        "copy",
        "noheader",
    ];
    let key = key.to_ascii_lowercase();
    key.starts_with("data-") || DISPLAY.contains(&key.as_str())
}

fn parse_timeout(text: &str) -> Result<u64, String> {
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(seconds);
    }
    humantime::parse_duration(text)
        .map(|d| d.as_secs().max(1))
        .map_err(|_| format!("timeout `{text}` is not a duration; write it like `30s`, `5m` or `1h`"))
}

pub(crate) fn is_valid_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_syntaxes_one_struct() {
        let ours = parse_info("bash {name=restart-api confirm timeout=30s test}");
        let runme_json = parse_info(r#"sh {"name":"restart-api","interactive":"true"}"#);
        let runme_kv = parse_info("sh { name=restart-api }");
        let mdbook = parse_info("bash,ignore");
        assert_eq!(ours.lang.as_deref(), Some("bash"));
        assert_eq!(ours.settings.name.as_deref(), Some("restart-api"));
        assert!(ours.settings.confirm && ours.settings.test);
        assert_eq!(ours.settings.timeout_secs, Some(30));
        assert_eq!(runme_json.settings.name.as_deref(), Some("restart-api"));
        assert_eq!(runme_json.settings.interactive, Some(true));
        assert_eq!(runme_kv.settings.name.as_deref(), Some("restart-api"));
        assert_eq!(runme_kv.lang.as_deref(), Some("sh"));
        assert!(mdbook.settings.ignore);
        assert!(ours.problems.is_empty() && runme_json.problems.is_empty());
    }

    #[test]
    fn unknown_attributes_are_kept() {
        let info = parse_info("bash {name=x owner=\"db team\" excludeFromRunAll}");
        assert_eq!(
            info.settings.unknown,
            [("owner".to_owned(), "db team".to_owned()), ("excludeFromRunAll".to_owned(), String::new())]
        );
    }

    #[test]
    fn problems_are_reported() {
        assert!(!parse_info("bash {timeout=soon}").problems.is_empty());
        assert!(!parse_info("bash {name=\"a b\"}").problems.is_empty());
        assert!(!parse_info(r#"sh {"name": }"#).problems.is_empty());
        assert!(!parse_info("sh {name=x").problems.is_empty());
        assert!(!parse_info("sh {confirm=maybe}").problems.is_empty());
    }

    #[test]
    fn docs_sites_attributes() {
        let docusaurus = parse_info("bash title=\"Example Output for macOS\" showLineNumbers {1,3-4}");
        assert_eq!(docusaurus.lang.as_deref(), Some("bash"));
        assert_eq!(docusaurus.settings.title.as_deref(), Some("Example Output for macOS"));
        assert!(docusaurus.settings.unknown.is_empty() && docusaurus.problems.is_empty(), "{docusaurus:?}");
        assert!(docusaurus.settings.ignore, "a block titled as output is output");
        assert!(!parse_info("bash title=\"Install the agent\"").settings.ignore);
        let mkdocs = parse_info("{.bash data-prompt=\"$\" linenums=\"1\"}");
        assert_eq!(mkdocs.lang.as_deref(), Some("bash"));
        assert!(mkdocs.settings.unknown.is_empty(), "{mkdocs:?}");
        let output = parse_info("{.bash .no-copy}");
        assert_eq!(output.lang.as_deref(), Some("bash"));
        assert!(output.settings.ignore, "a block readers may not copy is output");
        assert!(output.settings.unknown.is_empty());
        assert!(parse_info("bash {1,3}").problems.is_empty());
    }

    #[test]
    fn pandoc_class_and_odd_tags() {
        assert_eq!(parse_info("{.bash}").lang.as_deref(), Some("bash"));
        assert_eq!(parse_info("Console").lang.as_deref(), Some("console"));
        assert_eq!(parse_info("").lang, None);
        // A command written where the tag goes is not a language.
        assert_eq!(parse_info("REDISCLI_AUTH=$(sudo grep x)").lang.as_deref(), Some("rediscli_auth=$(sudo"));
    }
}
