//! Secrets out of everything opsbook keeps: command text as run, output logs, events, exports.
//!
//! Two nets. Known values: every input or environment variable whose name looks secret
//! (`TOKEN`, `SECRET`, `PASSWORD`, `PASSWD`, `KEY`, `CREDENTIAL`, a `PASS` or `PWD` segment) has
//! its value replaced wherever it appears. Shapes (`shapes`, `tools`): `NAME=value` and
//! `--flag=value`/`--flag value` where the name looks secret, passwords in URLs, the password
//! flags of client tools (`mysql -pX`, `sshpass -p X`, `curl -u user:X`, …), AWS access key ids,
//! `Bearer` tokens, JWTs, GitHub/GitLab/Slack tokens and private key blocks.
//!
//! Every shape is found in the raw text as a set of secret byte ranges, so a caller can also ask
//! which trailing bytes of an unfinished line might still become secret (`Redactor::unsettled`):
//! `stream` uses that to send a partial line early without ever sending a secret's first half.
//! Every shape but the private key block stays within one line.

mod shapes;
mod stream;
mod tools;

use std::borrow::Cow;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

pub use stream::StreamRedactor;

/// What a secret is replaced with.
pub const MASK: &str = "[redacted]";

/// Shorter values are not masked by value (masking every `1` would ruin the output); their
/// `NAME=value` shapes still are.
const MIN_SECRET_LEN: usize = 4;

static SECRET_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|KEY|CREDENTIAL|CREDS|AUTHORIZATION|BEARER|COOKIE|PRIVATE|JWT",
        r"|DATABASE_URL|CONN_STR|CONNECTION_STRING",
        // Short words only as a part of their own: `DB_PASS`, `API_AUTH`, `MFA_OTP`, `SIM_PIN`.
        r"|(?:^|[_.\-])(?:PASS|PWD|PW|AUTH|OTP|PIN|PEM|DSN)(?:$|[_.\-]|\d+$)",
        r"|(?:DB|SQL|ADMIN|ROOT|USER|SSH|SMTP|REDIS|MYSQL|PG|LDAP|FTP|VAULT|APP)(?:PASS|PW)\d*$|PASS\d+$",
    ))
    .expect("static regex")
});

/// True for variable and flag names that look secret. `PWD` and `OLDPWD` (the shell's working
/// directories) do not; `MYSQL_PWD`, `DB_PASS`, `DBPASS2`, `AUTH_HEADER`, `COOKIE` and `DSN` do.
pub fn is_secret_name(name: &str) -> bool {
    SECRET_NAME.is_match(name) && !matches!(name, "PWD" | "OLDPWD")
}

/// Where the rest of a secret that runs past what has been seen ends: what a stream drops after
/// it had to mask an unfinished secret whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Until {
    /// At the next whitespace (tokens, unquoted values, URL passwords).
    Space,
    /// At this closing quote or the end of the line (a quoted value).
    Quote(char),
    /// At the end of a private key block.
    KeyEnd,
}

/// Secret bytes of a text, found by one shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Secret {
    pub range: Range<usize>,
    pub until: Until,
}

impl Secret {
    fn new(range: Range<usize>) -> Secret {
        Secret { range, until: Until::Space }
    }
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

    /// Masks this value wherever it appears. A value of several lines is also masked line by
    /// line, since output is masked a line at a time.
    pub fn add_value(&mut self, value: &str) {
        let value = value.trim();
        if value.contains('\n') {
            for line in value.lines() {
                self.add_value(line);
            }
        }
        if value.len() < MIN_SECRET_LEN || self.values.iter().any(|v| v == value) {
            return;
        }
        self.values.push(value.to_owned());
        self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    /// The text with every known secret and secret shape masked.
    pub fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let secrets = self.secrets(text);
        if secrets.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut masked = false;
        Cow::Owned(render(text, &merge(&secrets), 0..text.len(), &mut masked))
    }

    /// A redactor for one output stream: masks line by line, keeps a line's start as the context
    /// of its rest, and masks private key blocks that arrive over several lines.
    pub fn stream(&self) -> StreamRedactor {
        StreamRedactor::new(self.clone())
    }

    /// Every secret in `text`, in no particular order; ranges may overlap. A secret with
    /// terminal escape sequences inside (`AbCd\x1b[0mEfGh`, `grep --color` over a token) is found
    /// too, and its range takes the escapes in: an export that drops them must not join its
    /// halves back.
    pub(crate) fn secrets(&self, text: &str) -> Vec<Secret> {
        let mut found = self.secrets_as_written(text);
        if let Some((plain, at)) = past_escapes(text) {
            for secret in self.secrets_as_written(&plain) {
                let range = at[secret.range.start]..at[secret.range.end - 1] + 1;
                found.push(Secret { range, until: secret.until });
            }
        }
        found
    }

    fn secrets_as_written(&self, text: &str) -> Vec<Secret> {
        let mut found = Vec::new();
        for value in &self.values {
            found.extend(text.match_indices(value.as_str()).map(|(at, v)| Secret::new(at..at + v.len())));
        }
        shapes::find(text, &mut found);
        tools::find(text, &mut found);
        found.retain(|s| !s.range.is_empty());
        found
    }

    /// Where the bytes that might still be part of a secret begin, for a line that has not
    /// ended: a secret that reaches the end (it may go on), or a start that some continuation
    /// would make a secret (a known value's first half, `AKIA…` short of 20, `eyJ…` before its
    /// dots, `Bearer ab`, a URL's `user:pw` before its `@`). `None` when no byte can be.
    pub(crate) fn unsettled(&self, line: &str, secrets: &[Secret]) -> Option<(usize, Until)> {
        let mut first: Option<(usize, Until)> = None;
        let mut consider = |at: usize, until: Until| {
            if first.as_ref().is_none_or(|(f, _)| at < *f) {
                first = Some((at, until));
            }
        };
        for secret in secrets.iter().filter(|s| s.range.end >= line.len()) {
            consider(secret.range.start, secret.until.clone());
        }
        for value in &self.values {
            if let Some(at) = value_prefix_at_end(line, value) {
                consider(at, Until::Space);
            }
        }
        if let Some(at) = shapes::open_at_end(line) {
            consider(at, Until::Space);
        }
        // The same, past the escape sequences of the line.
        if let Some((plain, at)) = past_escapes(line) {
            for secret in self.secrets_as_written(&plain).into_iter().filter(|s| s.range.end >= plain.len()) {
                consider(at[secret.range.start], secret.until);
            }
            for value in &self.values {
                if let Some(start) = value_prefix_at_end(&plain, value) {
                    consider(at[start], Until::Space);
                }
            }
            if let Some(start) = shapes::open_at_end(&plain) {
                consider(at[start], Until::Space);
            }
        }
        first
    }
}

/// `text` without its terminal escape sequences, and where each of its bytes is in `text`; `None`
/// when it has none.
fn past_escapes(text: &str) -> Option<(String, Vec<usize>)> {
    if !text.contains('\x1b') {
        return None;
    }
    let (mut plain, mut at) = (String::with_capacity(text.len()), Vec::with_capacity(text.len()));
    let mut from = 0;
    for escape in crate::line::ESCAPE.find_iter(text) {
        plain.push_str(&text[from..escape.start()]);
        at.extend(from..escape.start());
        from = escape.end();
    }
    plain.push_str(&text[from..]);
    at.extend(from..text.len());
    Some((plain, at))
}

/// The start of the longest proper prefix of `value` that `line` ends with.
fn value_prefix_at_end(line: &str, value: &str) -> Option<usize> {
    let last = *line.as_bytes().last()?;
    let longest = (value.len() - 1).min(line.len());
    (1..=longest)
        .rev()
        .filter(|&n| value.as_bytes()[n - 1] == last && value.is_char_boundary(n))
        .find(|&n| line.ends_with(&value[..n]))
        .map(|n| line.len() - n)
}

/// Sorted, disjoint ranges: overlapping and touching secrets become one mask.
pub(crate) fn merge(secrets: &[Secret]) -> Vec<Range<usize>> {
    let mut ranges: Vec<Range<usize>> = secrets.iter().map(|s| s.range.clone()).collect();
    ranges.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    merged
}

/// The bytes `within` of `text` with the secrets (sorted, disjoint) masked. `masked` says whether
/// what came before `within` ended in a mask; a secret that began before `within` then goes on
/// under that mask instead of showing a second one. On return it says whether this piece ends
/// in a mask.
pub(crate) fn render(text: &str, secrets: &[Range<usize>], within: Range<usize>, masked: &mut bool) -> String {
    let mut out = String::with_capacity(within.len());
    let mut at = within.start;
    for secret in secrets.iter().filter(|s| s.end > within.start && s.start < within.end) {
        if secret.start > at {
            out.push_str(&text[at..secret.start]);
            *masked = false;
        }
        if !(*masked && secret.start <= at) {
            out.push_str(MASK);
        }
        *masked = true;
        at = secret.end.min(within.end);
    }
    if at < within.end {
        out.push_str(&text[at..within.end]);
        *masked = false;
    }
    out
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
    fn masks_passwords_in_urls_and_keeps_the_rest() {
        let redactor = Redactor::default();
        let cases = [
            ("psql postgres://admin:Pw0rd-42@db.internal/app", "psql postgres://admin:[redacted]@db.internal/app"),
            ("GET https://user:Pw0rd-42@example.com/x", "GET https://user:[redacted]@example.com/x"),
            ("mysql://u:Pw0rd-42@h", "mysql://u:[redacted]@h"),
            ("redis://:Pw0rd-42@host:6379/0", "redis://:[redacted]@host:6379/0"),
            ("amqp://guest:p@ss@rabbit:5672/", "amqp://guest:[redacted]@rabbit:5672/"),
            // No password, a port, a variable: nothing to mask.
            ("https://example.com:8443/a@b", "https://example.com:8443/a@b"),
            ("git clone https://deploy@github.com/o/r", "git clone https://deploy@github.com/o/r"),
            ("postgres://app:$DB_PW@db/app", "postgres://app:$DB_PW@db/app"),
        ];
        for (text, want) in cases {
            assert_eq!(redactor.redact(text), want, "{text}");
        }
    }

    #[test]
    fn masks_client_password_flags_and_env_assignments() {
        let redactor = Redactor::default();
        let cases = [
            ("mysql -uroot -pPw0rd-42 app", "mysql -uroot -p[redacted] app"),
            ("mysqldump -h db -p'Pw0rd 42' app", "mysqldump -h db -p[redacted] app"),
            ("mysql --password=Pw0rd-42 app", "mysql --password=[redacted] app"),
            ("sshpass -p Pw0rd-42 ssh host", "sshpass -p [redacted] ssh host"),
            ("sshpass -pPw0rd-42 ssh host", "sshpass -p[redacted] ssh host"),
            ("PGPASSWORD=Pw0rd-42 psql -h db", "PGPASSWORD=[redacted] psql -h db"),
            ("env PGPASSWORD='Pw0rd 42' psql", "env PGPASSWORD='[redacted]' psql"),
            ("export MYSQL_PWD=Pw0rd-42", "export MYSQL_PWD=[redacted]"),
            ("DB_PASS=Pw0rd-42 ./migrate", "DB_PASS=[redacted] ./migrate"),
            ("curl -u deploy:Pw0rd-42 https://x", "curl -u deploy:[redacted] https://x"),
            ("curl --user deploy:Pw0rd-42 https://x", "curl --user deploy:[redacted] https://x"),
            ("redis-cli -a Pw0rd-42 ping", "redis-cli -a [redacted] ping"),
            ("openssl rsa -passin pass:Pw0rd-42 -in k", "openssl rsa -passin pass:[redacted] -in k"),
            ("kubectl exec db -- mysql -uroot -pPw0rd-42", "kubectl exec db -- mysql -uroot -p[redacted]"),
            ("docker login -u ci -p Pw0rd-42 registry", "docker login -u ci -p [redacted] registry"),
            ("mongosh -u admin -p Pw0rd-42", "mongosh -u admin -p [redacted]"),
            ("ldapsearch -D cn=admin -w Pw0rd-42 -b dc=x", "ldapsearch -D cn=admin -w [redacted] -b dc=x"),
            ("smbclient //h/s -U admin%Pw0rd-42", "smbclient //h/s -U admin%[redacted]"),
            ("mysql -p\"$MYSQL_PASSWORD\" app", "mysql -p\"$MYSQL_PASSWORD\" app"),
            // `-p` is a port or a parent elsewhere, and a prompt for mysql alone.
            ("ssh -p2222 host; mkdir -p /tmp/x", "ssh -p2222 host; mkdir -p /tmp/x"),
            ("docker run -p8080:80 mysql", "docker run -p8080:80 mysql"),
            ("mysql -u root -p app", "mysql -u root -p app"),
            ("echo $PWD; cd $OLDPWD; PASS: t/basic.sh", "echo $PWD; cd $OLDPWD; PASS: t/basic.sh"),
        ];
        for (text, want) in cases {
            assert_eq!(redactor.redact(text), want, "{text}");
        }
        assert!(is_secret_name("MYSQL_PWD") && is_secret_name("db_pass") && !is_secret_name("PWD"));
        assert!(!is_secret_name("OLDPWD") && !is_secret_name("COMPASS") && !is_secret_name("PASSED"));
    }

    #[test]
    fn masks_unterminated_quoted_values_to_the_end_of_the_line() {
        let redactor = Redactor::default();
        assert_eq!(redactor.redact("password=\"correct horse\nnext"), "password=\"[redacted]\nnext");
    }

    #[test]
    fn multi_line_values_are_also_masked_line_by_line() {
        let mut redactor = Redactor::default();
        redactor.add_value("first-line-secret\nsecond-line-secret\n");
        assert_eq!(redactor.redact("a second-line-secret b"), "a [redacted] b");
    }

    #[test]
    fn names_that_hold_secrets() {
        for name in [
            "API_TOKEN",
            "db_password",
            "MYSQL_PWD",
            "DB_PASS",
            "DBPASS2",
            "DBPW",
            "PW",
            "AUTHORIZATION",
            "AUTH",
            "auth-header",
            "BEARER",
            "COOKIE",
            "CREDS",
            "PRIVATE_PEM",
            "JWT",
            "MFA_OTP",
            "SIM_PIN",
            "DSN",
            "DATABASE_URL",
            "CONN_STR",
            "api-key",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in
            ["PWD", "OLDPWD", "pod-name", "AUTHOR", "PING_HOST", "SPINNER", "REGION", "NAMESPACE", "PASSENGER_COUNT"]
        {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn secrets_split_by_escape_sequences_are_masked_whole() {
        let redactor = Redactor::new([("API_TOKEN", "AbCdEfGh12345678")]);
        assert_eq!(redactor.redact("AbCd\x1b[0mEfGh12345678\n"), "[redacted]\n");
        assert_eq!(
            redactor.redact("token: AbCdEfGh\x1b[01;31m\x1b[K12345678\x1b[m\x1b[K ok"),
            "token: [redacted]\x1b[m\x1b[K ok"
        );
        // A colour after each character, a link in the middle: still the secret.
        assert_eq!(redactor.redact("A\x1b[1mb\x1b]8;;https://x\x07CdEfGh12345678"), "[redacted]");
        assert_eq!(
            redactor.redact("\x1b]8;;https://x\x07AbCdEf\x1b]8;;\x07Gh12345678"),
            "\x1b]8;;https://x\x07[redacted]"
        );
        // A line that has not ended yet holds back a half that may go on.
        let line = "AbCd\x1b[0mEf";
        let secrets = redactor.secrets(line);
        assert_eq!(redactor.unsettled(line, &secrets).map(|(at, _)| at), Some(0));
    }

    #[test]
    fn unsettled_points_at_what_may_still_become_a_secret() {
        let redactor = Redactor::new([("API_TOKEN", "tok-4242-secret")]);
        let at = |line: &str| redactor.unsettled(line, &redactor.secrets(line)).map(|(at, _)| at);
        assert_eq!(at("progress 45%"), None);
        assert_eq!(at("value tok-42"), Some(6));
        assert_eq!(at("password=hunt"), Some(9));
        assert_eq!(at("password="), None);
        assert_eq!(at("id AKIAIOSF"), Some(3));
        assert_eq!(at("Authorization: Bearer abc"), Some(22));
        assert_eq!(at("postgres://admin:hun"), Some(17));
        assert_eq!(at("x eyJhbGciOi.eyJz"), Some(2));
        assert_eq!(at(r#""api_key": "two words"#), Some(12));
    }
}
