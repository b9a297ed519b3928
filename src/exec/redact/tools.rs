//! Passwords given to client tools on their command line: `mysql -pX`, `sshpass -p X`,
//! `curl -u user:X`, `redis-cli -a X`, `ldapsearch -w X`, `openssl … -passin pass:X`, …
//!
//! A flag counts after a mention of its tool in the same command (up to `;`, `|`, `&`, `)` or
//! the end of the line), so `ssh -p2222` and `mkdir -p` stay as they are. Flags spelled
//! `--password=X` are named values (`shapes`), not listed here.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::{Secret, Until};

/// Where the secret begins in a flag's value.
#[derive(Debug, Clone, Copy)]
enum Part {
    Whole,
    /// After the first such character (`user:password`, `user%password`).
    After(char),
    /// After this prefix, and only when the value has it (`pass:password`).
    Prefixed(&'static str),
}

#[derive(Debug)]
struct PasswordFlag {
    tools: &'static [&'static str],
    flag: &'static str,
    /// `-pX`; for a long flag, `--user=X`.
    glued: bool,
    /// `-p X`.
    spaced: bool,
    part: Part,
}

const MYSQL: &[&str] = &[
    "mysql",
    "mysqldump",
    "mysqladmin",
    "mysqlcheck",
    "mysqlimport",
    "mysqlshow",
    "mysqlpump",
    "mysqlslap",
    "mariadb",
    "mariadb-dump",
    "mariadb-admin",
    "mariadb-check",
    "mariadb-import",
];
const MONGO: &[&str] = &["mongo", "mongosh", "mongodump", "mongorestore", "mongoexport", "mongoimport"];
const LDAP: &[&str] = &["ldapsearch", "ldapadd", "ldapmodify", "ldapdelete", "ldapwhoami", "ldappasswd", "ldapcompare"];
const LOGIN: &[&str] = &["docker login", "podman login", "helm registry login"];

static FLAGS: &[PasswordFlag] = &[
    // `mysql -p db` asks for the password: only the glued form carries one.
    PasswordFlag { tools: MYSQL, flag: "-p", glued: true, spaced: false, part: Part::Whole },
    PasswordFlag { tools: &["sshpass"], flag: "-p", glued: true, spaced: true, part: Part::Whole },
    PasswordFlag { tools: &["redis-cli"], flag: "-a", glued: true, spaced: true, part: Part::Whole },
    PasswordFlag { tools: MONGO, flag: "-p", glued: true, spaced: true, part: Part::Whole },
    PasswordFlag { tools: LDAP, flag: "-w", glued: true, spaced: true, part: Part::Whole },
    PasswordFlag { tools: LOGIN, flag: "-p", glued: true, spaced: true, part: Part::Whole },
    PasswordFlag { tools: &["curl"], flag: "-u", glued: true, spaced: true, part: Part::After(':') },
    PasswordFlag { tools: &["curl"], flag: "-U", glued: true, spaced: true, part: Part::After(':') },
    PasswordFlag { tools: &["curl"], flag: "--user", glued: false, spaced: true, part: Part::After(':') },
    PasswordFlag { tools: &["curl"], flag: "--user=", glued: true, spaced: false, part: Part::After(':') },
    PasswordFlag { tools: &["curl"], flag: "--proxy-user", glued: false, spaced: true, part: Part::After(':') },
    PasswordFlag { tools: &["smbclient"], flag: "-U", glued: true, spaced: true, part: Part::After('%') },
    PasswordFlag { tools: &["openssl"], flag: "-passin", glued: false, spaced: true, part: Part::Prefixed("pass:") },
    PasswordFlag { tools: &["openssl"], flag: "-passout", glued: false, spaced: true, part: Part::Prefixed("pass:") },
    PasswordFlag { tools: &["openssl"], flag: "-pass", glued: false, spaced: true, part: Part::Prefixed("pass:") },
];

/// A tool's name as a word of its own (a path before it is fine).
static TOOL: LazyLock<Regex> = LazyLock::new(|| {
    let mut names: Vec<String> =
        FLAGS.iter().flat_map(|f| f.tools.iter()).map(|tool| regex::escape(tool).replace(' ', "[ \t]+")).collect();
    names.sort_by_key(|name| std::cmp::Reverse(name.len()));
    names.dedup();
    Regex::new(&format!(r"(?:^|[^A-Za-z0-9_.\-])(?P<tool>{})(?:$|[^A-Za-z0-9_.\-])", names.join("|")))
        .expect("static regex")
});

/// Adds the passwords given to known tools in `text`.
pub(super) fn find(text: &str, found: &mut Vec<Secret>) {
    let mut from = 0;
    while let Some(caps) = TOOL.captures_at(text, from) {
        let Some(tool) = caps.name("tool") else { break };
        let name: String = tool.as_str().split_whitespace().collect::<Vec<_>>().join(" ");
        let words = words(text, tool.end());
        let flags: Vec<&PasswordFlag> = FLAGS.iter().filter(|f| f.tools.contains(&name.as_str())).collect();
        for (i, word) in words.iter().enumerate() {
            for flag in &flags {
                let word_text = &text[word.clone()];
                let value = if flag.spaced && word_text == flag.flag {
                    words.get(i + 1).cloned()
                } else if flag.glued && word_text.len() > flag.flag.len() && word_text.starts_with(flag.flag) {
                    Some(word.start + flag.flag.len()..word.end)
                } else {
                    None
                };
                if let Some(secret) = value.and_then(|value| password_in(text, value, flag.part)) {
                    found.push(secret);
                }
            }
        }
        from = tool.end();
    }
}

/// The secret part of a flag's value, unless it is a reference (`$PW`, `"$PW"`).
fn password_in(text: &str, value: Range<usize>, part: Part) -> Option<Secret> {
    let raw = &text[value.clone()];
    let start = match part {
        Part::Whole => value.start,
        Part::After(c) => value.start + raw.find(c)? + 1,
        Part::Prefixed(prefix) => value.start + raw.strip_prefix(prefix).map(|_| prefix.len())?,
    };
    let secret = &text[start..value.end];
    if secret.is_empty() || secret.trim_start_matches(['"', '\'']).starts_with('$') {
        return None;
    }
    // A quote still open at the end of the line: the value runs on to its closing quote.
    let until = match secret.chars().next() {
        Some(q @ ('"' | '\'')) if !secret[1..].contains(q) => Until::Quote(q),
        _ => Until::Space,
    };
    Some(Secret { range: start..value.end, until })
}

/// The words of the command that goes on from `from`, a quoted part kept in its word, up to the
/// first unquoted `;`, `|`, `&`, `)` or the line's end.
fn words(text: &str, from: usize) -> Vec<Range<usize>> {
    let mut words = Vec::new();
    let mut start: Option<usize> = None;
    let mut quote: Option<char> = None;
    let mut end = text.len();
    for (i, c) in text[from..].char_indices() {
        let i = i + from;
        if let Some(q) = quote {
            if c == q {
                quote = None;
            } else if c == '\n' {
                end = i;
                break;
            }
            continue;
        }
        if matches!(c, ';' | '|' | '&' | ')' | '\n') {
            end = i;
            break;
        }
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                words.push(s..i);
            }
            continue;
        }
        start.get_or_insert(i);
        if matches!(c, '"' | '\'') {
            quote = Some(c);
        }
    }
    if let Some(s) = start {
        words.push(s..end);
    }
    words
}
