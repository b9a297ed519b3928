//! The secret shapes found by pattern: named values (`PASSWORD=x`, `"api_key": "x"`,
//! `--token x`), passwords in URLs, cloud and forge tokens, `Bearer` tokens, JWTs and private key
//! blocks, each as the byte range of its secret part in the raw text; and `open_at_end`, where an
//! unfinished line ends in what some continuation would turn into one of them.
//!
//! Knows nothing of streams or of known values; only the private key block spans lines.

use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::{MASK, Secret, Until};

/// A name that looks secret: a secret word anywhere in it, or `pass`/`pwd` as one of its
/// `_.-` segments (`DB_PASS`, `MYSQL_PWD`, `--pass`; not `PWD`, `compass` nor `PASS: test`).
const SECRET_NAME: &str = r"(?:--?)?[A-Za-z0-9_.\-]*(?i:token|secret|passw(?:or)?d|passphrase|key|credential)s?[A-Za-z0-9_\-]*|(?:--?(?:[A-Za-z0-9_.\-]*[_.\-])?|\b[A-Za-z0-9_.\-]*[_.\-])(?i:pass)(?:[_.\-][A-Za-z0-9_.\-]*)?|\b[A-Za-z0-9_.\-]*[_.\-](?i:pwd)(?:[_.\-][A-Za-z0-9_.\-]*)?";

/// `NAME=value`, `NAME: "value"`, `--name value`. A quote left open runs to the end of the line.
/// Separators never cross a line.
static NAMED_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"(?P<name>{SECRET_NAME})(?P<sep>"?[ \t]*[=:][ \t]*|[ \t]+)(?:"(?P<dq>[^"\n]*)"?|'(?P<sq>[^'\n]*)'?|(?P<bare>[^\s"',;}}]+))"#
    ))
    .expect("static regex")
});

/// `scheme://user:password@host`: the password, up to the authority's last `@`.
static URL_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b[a-z][a-z0-9+.\-]*://[^\s:/@]*:(?P<pw>[^\s/?#"'<>]+)@"#).expect("static regex")
});

static BEARER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\bbearer[ \t]+(?P<token>[A-Za-z0-9\-._~+/]{8,}=*)").expect("static regex"));

const AWS_HEADS: &[&str] = &["AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA"];
const FORGE_HEADS: &[&str] = &["ghp", "gho", "ghs", "ghu", "github_pat", "glpat", "xoxa", "xoxb", "xoxp", "xoxr"];

/// Secrets whole: AWS key ids, GitHub/GitLab/Slack tokens, JWTs, private key blocks.
static TOKENS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        format!(r"\b(?:{})[0-9A-Z]{{16}}\b", AWS_HEADS.join("|")),
        format!(r"\b(?:{})[-_][A-Za-z0-9_\-]{{10,}}", FORGE_HEADS.join("|")),
        r"\beyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}".to_owned(),
    ]
    .iter()
    .map(|pattern| Regex::new(pattern).expect("static regex"))
    .collect()
});

static KEY_BLOCK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?-----END [A-Z0-9 ]*PRIVATE KEY-----")
        .expect("static regex")
});
static KEY_BEGIN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----").expect("static regex"));
static KEY_END: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"-----END [A-Z0-9 ]*PRIVATE KEY-----").expect("static regex"));

/// The end of a text that could still become the start of a token: a head cut short (`AKI`,
/// `gh`, `ey`), a head with a body too short yet, a JWT before its dots, a key block's marker.
static OPEN_TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    let mut alternatives = vec![
        format!(r"(?:{})[0-9A-Z]{{0,16}}", AWS_HEADS.join("|")),
        format!(r"(?:{})(?:[-_][A-Za-z0-9_\-]*)?", FORGE_HEADS.join("|")),
        r"eyJ[A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]*){0,2}".to_owned(),
        "ey?".to_owned(),
    ];
    alternatives.extend(AWS_HEADS.iter().chain(FORGE_HEADS).flat_map(|head| proper_prefixes(head)));
    let marker = r"-{1,5}(?:B(?:E(?:G(?:I(?:N(?: [A-Z0-9 ]*-{0,5})?)?)?)?)?)?";
    Regex::new(&format!(r"\b(?:{})\z|{marker}\z", alternatives.join("|"))).expect("static regex")
});

static OPEN_BEARER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\bbearer[ \t]+(?P<token>[A-Za-z0-9\-._~+/]+=*)\z").expect("static regex"));

/// `scheme://user:pw` with no `@` yet, or `user:pw@ho` that a second `@` may still extend.
static OPEN_URL_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b[a-z][a-z0-9+.\-]*://[^\s:/@]*:(?P<pw>[^\s/?#"'<>]+)\z"#).expect("static regex")
});

fn proper_prefixes(head: &str) -> Vec<String> {
    (1..head.len()).map(|n| regex::escape(&head[..n])).collect()
}

/// Adds the secrets of every shape found in `text`.
pub(super) fn find(text: &str, found: &mut Vec<Secret>) {
    named_values(text, found);
    for caps in URL_PASSWORD.captures_iter(text) {
        if let Some(pw) = caps.name("pw").filter(|pw| is_literal(pw.as_str())) {
            found.push(Secret::new(pw.range()));
        }
    }
    found.extend(BEARER.captures_iter(text).filter_map(|c| c.name("token")).map(|t| Secret::new(t.range())));
    for token in TOKENS.iter() {
        found.extend(token.find_iter(text).map(|m| Secret::new(m.range())));
    }
    found.extend(KEY_BLOCK.find_iter(text).map(|m| Secret { range: m.range(), until: Until::KeyEnd }));
    // A block that does not end here is masked to the end (a stream masks its next lines).
    if let Some(at) = unclosed_key(text) {
        let end = text.strip_suffix('\n').map_or(text.len(), str::len).max(at);
        found.push(Secret { range: at..end, until: Until::KeyEnd });
    }
}

/// Not a reference (`$VAR`) nor a mask already.
fn is_literal(value: &str) -> bool {
    !value.starts_with('$') && !value.starts_with(&MASK[..MASK.len() - 1])
}

fn named_values(text: &str, found: &mut Vec<Secret>) {
    let mut from = 0;
    while let Some(caps) = NAMED_VALUE.captures_at(text, from) {
        let (Some(whole), Some(value)) = (caps.get(0), caps.name("dq").or(caps.name("sq")).or(caps.name("bare")))
        else {
            break;
        };
        if let Some(secret) = named_secret(&caps, value) {
            found.push(secret);
            from = whole.end();
        } else {
            // What was taken for a value may itself be a name: `--password --token=x`.
            from = value.start().max(whole.start() + 1);
        }
    }
}

fn named_secret(caps: &Captures<'_>, value: regex::Match<'_>) -> Option<Secret> {
    let name = caps.name("name")?.as_str();
    let sep = caps.name("sep")?.as_str();
    let quote = caps.name("dq").map(|_| '"').or(caps.name("sq").map(|_| '\''));
    // `--key value` with a space only counts for flags; `the key is` is prose. A value that is
    // itself a flag (`--key --other`) is not a secret; nor is a reference (`$TOKEN`).
    let spaced = !sep.contains(['=', ':']);
    let bare = value.as_str();
    if (spaced && (!name.starts_with('-') || bare.starts_with('-')))
        || (quote.is_none() && bare.starts_with('$'))
        || bare.starts_with(&MASK[..MASK.len() - 1])
        || value.is_empty()
    {
        return None;
    }
    let until = quote.map_or(Until::Space, Until::Quote);
    Some(Secret { range: value.range(), until })
}

/// Where the end of `line` could still grow into a token, a `Bearer` token or a URL password.
pub(super) fn open_at_end(line: &str) -> Option<usize> {
    let token = OPEN_TOKEN.find(line).map(|m| m.start());
    let bearer = OPEN_BEARER.captures(line).and_then(|c| c.name("token")).map(|t| t.start());
    let url = OPEN_URL_PASSWORD
        .captures(line)
        .and_then(|c| c.name("pw"))
        .filter(|pw| is_literal(pw.as_str()))
        .map(|pw| pw.start());
    [token, bearer, url].into_iter().flatten().min()
}

/// The start of the last private key block of `line` that does not end on it.
pub(crate) fn unclosed_key(line: &str) -> Option<usize> {
    let begin = KEY_BEGIN.find_iter(line).last()?;
    (!KEY_END.is_match_at(line, begin.end())).then_some(begin.start())
}

/// The end of the first private key block end marker in `text`.
pub(crate) fn key_end(text: &str) -> Option<usize> {
    KEY_END.find(text).map(|m| m.end())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(text: &str) -> Vec<&str> {
        let mut found = Vec::new();
        find(text, &mut found);
        found.iter().map(|s| &text[s.range.clone()]).collect()
    }

    #[test]
    fn a_value_taken_for_a_flag_is_read_again_as_a_name() {
        assert_eq!(secrets("--password --token=abc123"), ["abc123"]);
        assert_eq!(secrets("the key is password=abc123"), ["abc123"]);
    }

    #[test]
    fn open_ends_are_token_heads_bodies_and_markers() {
        assert_eq!(open_at_end("say gh"), Some(4));
        assert_eq!(open_at_end("t ghp_abc"), Some(2));
        assert_eq!(open_at_end("the"), None);
        assert_eq!(open_at_end("x -----BEGIN RSA PRIV"), Some(2));
        assert_eq!(open_at_end("https://example.com:8443/"), None);
        assert_eq!(open_at_end("redis://:p@ss@ho"), Some(9));
        assert_eq!(unclosed_key("a -----BEGIN PRIVATE KEY-----MII"), Some(2));
        assert_eq!(unclosed_key("-----BEGIN PRIVATE KEY-----M-----END PRIVATE KEY-----"), None);
    }
}
