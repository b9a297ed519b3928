//! Secrets out of everything opsbook keeps: command text as run, output logs, events, exports.
//!
//! Two nets. Known values: every input or environment variable whose name looks secret
//! (`TOKEN`, `SECRET`, `PASSWORD`, `PASSWD`, `KEY`, `CREDENTIAL`) has its value replaced
//! wherever it appears. Shapes: `NAME=value` and `--flag=value`/`--flag value` where the name
//! looks secret, AWS access key ids, `Bearer` tokens, JWTs and private key blocks.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

/// What a secret is replaced with.
pub const MASK: &str = "[redacted]";

/// Shorter values are not masked by value (masking every `1` would ruin the output); their
/// `NAME=value` shapes still are.
const MIN_SECRET_LEN: usize = 4;

static SECRET_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)TOKEN|SECRET|PASSWORD|PASSWD|KEY|CREDENTIAL").expect("static regex"));

/// `PGPASSWORD=x`, `"api_key": "x"`, `password: x`, `--key=x`, `--password x`, `-p=x` is not
/// matched (too short to tell).
static NAMED_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?ix)
        (?P<name>
            (?:--?)?[A-Za-z0-9_.\-]*(?:token|secret|password|passwd|key|credential)s?[A-Za-z0-9_\-]*
        )
        (?P<sep>"?\s*[=:]\s*|\ +)
        (?P<value>"[^"\n]*"|'[^'\n]*'|[^\s"',;}]+)
        "#,
    )
    .expect("static regex")
});

static SHAPES: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    let shape = |pattern: &str, replacement: &'static str| (Regex::new(pattern).expect("static regex"), replacement);
    vec![
        shape(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b", MASK),
        shape(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]{8,}=*", "$1 [redacted]"),
        shape(r"\beyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}", MASK),
        shape(r"(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?-----END [A-Z0-9 ]*PRIVATE KEY-----", MASK),
        shape(r"\b(?:ghp|gho|ghs|ghu|github_pat|glpat|xox[abpr])[-_][A-Za-z0-9_\-]{10,}", MASK),
    ]
});

/// True for variable and flag names that look secret.
pub fn is_secret_name(name: &str) -> bool {
    SECRET_NAME.is_match(name)
}

/// Masks secrets in text. Cheap to clone; built once per run with the values known then.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Known secret values, longest first so a value containing another is masked whole.
    values: Vec<String>,
}

impl Redactor {
    /// A redactor for the given variables: those with secret-looking names have their values
    /// masked by value.
    pub fn new<'a>(vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut redactor = Redactor::default();
        for (name, value) in vars {
            if is_secret_name(name) {
                redactor.add_value(value);
            }
        }
        redactor
    }

    /// A redactor for the variables of this process's environment and the given ones.
    pub fn with_process_env<'a>(vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let env: Vec<(String, String)> =
            std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))).collect();
        let mut redactor = Redactor::new(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        for (name, value) in vars {
            if is_secret_name(name) {
                redactor.add_value(value);
            }
        }
        redactor
    }

    /// Masks this value wherever it appears.
    pub fn add_value(&mut self, value: &str) {
        let value = value.trim();
        if value.len() < MIN_SECRET_LEN || self.values.iter().any(|v| v == value) {
            return;
        }
        self.values.push(value.to_owned());
        self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    /// The text with every known secret and secret shape masked.
    pub fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut out = Cow::Borrowed(text);
        for value in &self.values {
            if out.contains(value.as_str()) {
                out = Cow::Owned(out.replace(value.as_str(), MASK));
            }
        }
        for (regex, replacement) in SHAPES.iter() {
            if let Cow::Owned(replaced) = regex.replace_all(&out, *replacement) {
                out = Cow::Owned(replaced);
            }
        }
        if let Cow::Owned(replaced) = NAMED_VALUE.replace_all(&out, mask_named) {
            out = Cow::Owned(replaced);
        }
        out
    }

    /// A redactor for one output stream, which also masks private key blocks that arrive
    /// over several chunks.
    pub fn stream(&self) -> StreamRedactor {
        StreamRedactor { redactor: self.clone(), in_private_key: false }
    }
}

fn mask_named(caps: &regex::Captures<'_>) -> String {
    let name = &caps["name"];
    let sep = &caps["sep"];
    let value = &caps["value"];
    // `--key value` with a space only counts for flags; `the key is` is prose.
    let spaced = !sep.contains(['=', ':']);
    if (spaced && !name.starts_with('-')) || value == MASK || value.starts_with('$') || value.starts_with("[redacted") {
        return caps[0].to_owned();
    }
    // A value that is itself a flag (`--key --other`) is not a secret.
    if spaced && value.starts_with('-') {
        return caps[0].to_owned();
    }
    let quote = match value.chars().next() {
        Some(q @ ('"' | '\'')) => q.to_string(),
        _ => String::new(),
    };
    format!("{name}{sep}{quote}{MASK}{quote}")
}

/// Masks one stream's chunks; a private key block split over chunks is masked line by line.
#[derive(Debug, Clone)]
pub struct StreamRedactor {
    redactor: Redactor,
    in_private_key: bool,
}

impl StreamRedactor {
    pub fn redact(&mut self, text: &str) -> String {
        let text = self.redactor.redact(text);
        if !self.in_private_key && !text.contains("PRIVATE KEY-----") {
            return text.into_owned();
        }
        let mut out = String::with_capacity(text.len());
        for line in text.split_inclusive('\n') {
            if self.in_private_key {
                if line.contains("-----END") && line.contains("PRIVATE KEY-----") {
                    self.in_private_key = false;
                }
                if line.ends_with('\n') {
                    out.push('\n');
                }
                continue;
            }
            if let Some(start) = line.find("-----BEGIN").filter(|_| line.contains("PRIVATE KEY-----")) {
                self.in_private_key = true;
                out.push_str(&line[..start]);
                out.push_str(MASK);
                if line.ends_with('\n') {
                    out.push('\n');
                }
                continue;
            }
            out.push_str(line);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_known_values_and_shapes() {
        let redactor = Redactor::new([("STATUS_PAGE_TOKEN", "s3cr3t-value"), ("pod-name", "api-1")]);
        assert_eq!(redactor.redact("use s3cr3t-value for api-1"), "use [redacted] for api-1");
        assert_eq!(redactor.redact("ceph --id admin --key=AQDxyz123=="), "ceph --id admin --key=[redacted]");
        assert_eq!(redactor.redact("mysql --password hunter22 -h db"), "mysql --password [redacted] -h db");
        assert_eq!(redactor.redact("PGPASSWORD=abc123 psql"), "PGPASSWORD=[redacted] psql");
        assert_eq!(redactor.redact(r#"{"api_key": "abcd1234"}"#), r#"{"api_key": "[redacted]"}"#);
        assert_eq!(redactor.redact("Authorization: Bearer abcdefghijklmnop"), "Authorization: Bearer [redacted]");
        assert_eq!(redactor.redact("id AKIAIOSFODNN7EXAMPLE ok"), "id [redacted] ok");
        assert_eq!(redactor.redact("jwt eyJhbGciOi.eyJzdWIiOi.SflKxwRJSM"), "jwt [redacted]");
        // Prose and references stay.
        assert_eq!(redactor.redact("the key is missing"), "the key is missing");
        assert_eq!(
            redactor.redact("curl -H \"Authorization: Bearer $STATUS_PAGE_TOKEN\""),
            "curl -H \"Authorization: Bearer $STATUS_PAGE_TOKEN\""
        );
        assert_eq!(redactor.redact("kubectl get secrets -n prod"), "kubectl get secrets -n prod");
    }

    #[test]
    fn masks_private_key_blocks_across_chunks() {
        let mut stream = Redactor::default().stream();
        let first = stream.redact("before\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n");
        let second = stream.redact("abcdef\n-----END RSA PRIVATE KEY-----\nafter\n");
        assert_eq!(format!("{first}{second}"), "before\n[redacted]\n\n\n\nafter\n");
    }
}
