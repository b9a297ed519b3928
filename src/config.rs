//! `book.toml` -> [`Config`].
//!
//! mdBook's keys are accepted so that an existing mdBook builds unchanged: `[book]`, `[build]`,
//! `[output.*]`, `[preprocessor.*]` and `[rust]` are read leniently (keys we do not use are kept
//! or ignored). Our own keys live under `[opsbook]` and are strict: a typo there is an error, not a
//! silently ignored setting. Errors name `book.toml:line:col` and the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

/// The in-memory `book.toml`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Config {
    pub book: BookConfig,
    pub build: BuildConfig,
    /// Renderer tables, as mdBook has them; `[output.html]` configures the site.
    pub output: OutputConfig,
    /// mdBook preprocessors: accepted so mdBooks load, not run.
    pub preprocessor: BTreeMap<String, toml::Table>,
    /// mdBook's `[rust]` table: accepted, unused.
    pub rust: toml::Table,
    pub opsbook: OpsbookConfig,
}

/// `[book]`: mdBook's metadata.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct BookConfig {
    /// The book's title; defaults to the folder's name.
    pub title: Option<String>,
    pub authors: Vec<String>,
    pub description: Option<String>,
    /// Runbook folder, relative to `book.toml`. Default: `src` (or the book folder itself when
    /// it has no `src/` and no `book.toml` names one).
    pub src: Option<PathBuf>,
    /// Language of the runbooks (`en`), for the site's `lang` attribute.
    pub language: Option<String>,
    /// mdBook's multilingual flag: accepted, unused.
    pub multilingual: bool,
}

impl Default for BookConfig {
    fn default() -> Self {
        BookConfig {
            title: None,
            authors: Vec::new(),
            description: None,
            src: None,
            language: Some("en".to_owned()),
            multilingual: false,
        }
    }
}

/// `[build]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct BuildConfig {
    /// Where `opsbook build` writes the site, relative to `book.toml`. Default `book`.
    pub build_dir: PathBuf,
    /// mdBook keys accepted for compatibility.
    pub create_missing: bool,
    pub use_default_preprocessors: bool,
    pub extra_watch_dirs: Vec<PathBuf>,
}

impl Default for BuildConfig {
    fn default() -> Self {
        BuildConfig {
            build_dir: PathBuf::from("book"),
            create_missing: false,
            use_default_preprocessors: true,
            extra_watch_dirs: Vec::new(),
        }
    }
}

/// `[output]`: `html` is ours; other renderers are kept as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct OutputConfig {
    pub html: HtmlConfig,
    #[serde(flatten)]
    pub other: BTreeMap<String, toml::Value>,
}

/// `[output.html]`: the keys the site uses; mdBook's others are kept in `other`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct HtmlConfig {
    /// A folder of theme files overriding the built-in ones, file by file.
    pub theme: Option<PathBuf>,
    pub additional_css: Vec<PathBuf>,
    pub additional_js: Vec<PathBuf>,
    pub default_theme: Option<String>,
    pub preferred_dark_theme: Option<String>,
    pub git_repository_url: Option<String>,
    pub edit_url_template: Option<String>,
    pub site_url: Option<String>,
    #[serde(flatten)]
    pub other: BTreeMap<String, toml::Value>,
}

/// `[opsbook]`: opsbook's own settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct OpsbookConfig {
    /// The shell steps run with. Default `bash`.
    pub shell: String,
    /// How long a run may take before it is stopped, unless a step says otherwise
    /// (`timeout = "10m"`). Default 10 minutes.
    #[serde(with = "duration_text")]
    pub timeout: Duration,
    /// Severity levels, most severe first. Default: SEV1-SEV4 with the seed's response times.
    pub severity: Vec<SeverityLevel>,
    /// Extra risk rules, tried before the built-in ones.
    pub risk_rules: Vec<RiskRule>,
    /// How much output of one run is kept (`"16 MiB"`, `"512 KiB"`, or a number of bytes).
    /// Default 16 MiB; the cut is marked in the log.
    #[serde(with = "byte_size")]
    pub output_limit: u64,
    /// Probes recorded with every run: name -> a short shell command whose first line of output
    /// is kept (`kube = "kubectl config current-context"`). Each has two seconds.
    pub context: BTreeMap<String, String>,
    /// `opsbook check` settings (`[opsbook.check] disable = ["unconfirmed-risk"]`).
    pub check: CheckConfig,
    /// Where sessions are kept: `postgres://USER@HOST/DATABASE` for a team (the password from
    /// `PGPASSWORD` or `OPSBOOK_STORE`, not from this file), or `sqlite:PATH`. Default: the
    /// book's own SQLite file. `--store` and `OPSBOOK_STORE` come first.
    pub store: Option<String>,
    /// Paths outside the book's folder that runbooks, theme files and other files may lead to
    /// through links, relative to `book.toml` (`["../shared-snippets"]`). Nothing else outside
    /// the book (links resolved) is read, copied or served: such a link is skipped with a warning.
    pub allow_outside: Vec<PathBuf>,
    /// File endings that are runbooks (`["md", "mdx"]`), without the leading dot. Default: `md`,
    /// `markdown`, `mdx` and `md.erb` (which takes Middleman's `backup.html.md.erb`).
    pub extensions: Vec<String>,
    /// Shell aliases the steps use, name -> what it stands for (`k = "kubectl"`). `k` for
    /// `kubectl` is known without being listed. A step using one is judged as the aliased tool
    /// and runs with the alias defined.
    pub aliases: BTreeMap<String, String>,
    /// Where the built site is published (`https://runbooks.example.com/`): alert rules'
    /// `runbook_url`s under it are checked against the book, and followed to the runbook.
    pub site_url: Option<String>,
    /// Prometheus rule files (or folders of them), relative to `book.toml`: what `check`
    /// reads when `--alerts` is not given, and what `/go?alert=` and `go.html` follow.
    pub alerts: Vec<PathBuf>,
    /// Webhooks told about session events (`[[opsbook.notify]] url, format, events`).
    pub notify: Vec<crate::notify::Target>,
    /// `opsbook test --record`'s file, relative to `book.toml`: the site shows on each step when
    /// CI last verified it.
    pub freshness: Option<PathBuf>,
}

/// `[opsbook.check]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct CheckConfig {
    /// Rule ids `opsbook check` does not report for this book.
    pub disable: Vec<String>,
}

impl Default for OpsbookConfig {
    fn default() -> Self {
        OpsbookConfig {
            shell: "bash".to_owned(),
            timeout: Duration::from_secs(600),
            severity: default_severities(),
            risk_rules: Vec::new(),
            output_limit: crate::exec::DEFAULT_LOG_LIMIT,
            context: BTreeMap::new(),
            check: CheckConfig::default(),
            store: None,
            allow_outside: Vec::new(),
            extensions: crate::page::DEFAULT_EXTENSIONS.iter().map(|e| (*e).to_owned()).collect(),
            aliases: BTreeMap::new(),
            site_url: None,
            alerts: Vec::new(),
            notify: Vec::new(),
            freshness: None,
        }
    }
}

/// One severity level (`[[opsbook.severity]]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SeverityLevel {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// How soon a responder must act (`"15m"`).
    #[serde(default, with = "optional_duration_text")]
    pub response_time: Option<Duration>,
}

fn default_severities() -> Vec<SeverityLevel> {
    let level = |name: &str, description: &str, minutes: u64| SeverityLevel {
        name: name.to_owned(),
        description: description.to_owned(),
        response_time: Some(Duration::from_secs(minutes * 60)),
    };
    vec![
        level("SEV1", "Complete outage", 15),
        level("SEV2", "Major degradation", 30),
        level("SEV3", "Minor issue", 120),
        level("SEV4", "Low impact", 24 * 60),
    ]
}

/// An extra risk rule (`[[opsbook.risk-rules]]`): a regex over the command text.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RiskRule {
    #[serde(deserialize_with = "regex_text")]
    pub pattern: String,
    pub risk: RiskName,
    /// Shown as the reason; defaults to the pattern.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A risk level (`model::Risk`) as `book.toml` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RiskName {
    ReadOnly,
    Unknown,
    Mutating,
    Destructive,
}

fn regex_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    regex::Regex::new(&text).map_err(|err| serde::de::Error::custom(format!("invalid regex: {err}")))?;
    Ok(text)
}

/// Durations written as `"30s"`, `"10m"`, `"1h 30m"`, or a number of seconds.
mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Seconds(u64),
        Text(String),
    }

    pub(super) fn parse(raw: RawDuration) -> Result<Duration, String> {
        match raw.0 {
            Raw::Seconds(seconds) => Ok(Duration::from_secs(seconds)),
            Raw::Text(text) => humantime::parse_duration(text.trim())
                .map_err(|err| format!("invalid duration `{text}` ({err}); write it like \"30s\", \"10m\" or \"1h\"")),
        }
    }

    pub(super) struct RawDuration(Raw);

    impl<'de> Deserialize<'de> for RawDuration {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            Raw::deserialize(deserializer).map(RawDuration)
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        parse(RawDuration::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }

    pub(super) fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&humantime::format_duration(*duration).to_string())
    }
}

/// Sizes written as `"16 MiB"`, `"512KiB"`, `"2 MB"`, or a number of bytes.
mod byte_size {
    use serde::{Deserialize, Deserializer, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bytes(u64),
        Text(String),
    }

    pub(super) fn parse(text: &str) -> Result<u64, String> {
        let text = text.trim();
        let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kb" | "kib" => 1024,
            "m" | "mb" | "mib" => 1024 * 1024,
            "g" | "gb" | "gib" => 1024 * 1024 * 1024,
            _ => {
                return Err(format!(
                    "invalid size `{text}`; write it like \"16 MiB\", \"512 KiB\" or a number of bytes"
                ));
            }
        };
        number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(scale))
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("invalid size `{text}`; write it like \"16 MiB\", \"512 KiB\" or a number of bytes"))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        match Raw::deserialize(deserializer)? {
            Raw::Bytes(0) => Err(serde::de::Error::custom("the size must be above 0")),
            Raw::Bytes(bytes) => Ok(bytes),
            Raw::Text(text) => parse(&text).map_err(serde::de::Error::custom),
        }
    }

    pub(super) fn serialize<S: Serializer>(bytes: &u64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&crate::exec::human_bytes(*bytes))
    }
}

mod optional_duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    use super::duration_text::{RawDuration, parse};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
        match Option::<RawDuration>::deserialize(deserializer)? {
            None => Ok(None),
            Some(raw) => parse(raw).map(Some).map_err(serde::de::Error::custom),
        }
    }

    pub(super) fn serialize<S: Serializer>(duration: &Option<Duration>, serializer: S) -> Result<S::Ok, S::Error> {
        match duration {
            Some(duration) => super::duration_text::serialize(duration, serializer),
            None => serializer.serialize_none(),
        }
    }
}

/// Why a `book.toml` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("failed to read `{}`: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}:{line}:{col}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: u32,
        col: u32,
        /// The dotted key at fault, when one is known.
        key: Option<String>,
        message: String,
    },
}

impl Config {
    /// Reads and validates `book.toml` at `path`.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Config::from_toml(&text, path)
    }

    /// Parses `book.toml` text; `path` is only used in messages.
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|err| invalid(text, path, &err))?;
        config.validate(text, path)?;
        Ok(config)
    }

    fn validate(&self, text: &str, path: &Path) -> Result<(), ConfigError> {
        let fail = |key: &str, message: String| {
            let (line, col) = locate_key(text, key);
            Err(ConfigError::Invalid { path: path.to_owned(), line, col, key: Some(key.to_owned()), message })
        };
        if self.opsbook.shell.trim().is_empty() {
            return fail("opsbook.shell", "`opsbook.shell` is empty; name a shell such as \"bash\"".to_owned());
        }
        // Steps run as `SHELL -c SCRIPT`: the shell is one program, not a command line.
        if self.opsbook.shell.trim().contains(char::is_whitespace) {
            return fail(
                "opsbook.shell",
                format!(
                    "`opsbook.shell` is one program (steps run as `SHELL -c SCRIPT`), not `{}`; name it alone, such as \"bash\" or \"/bin/zsh\"",
                    self.opsbook.shell.trim()
                ),
            );
        }
        if self.opsbook.timeout < Duration::from_secs(1) {
            return fail("opsbook.timeout", "`opsbook.timeout` must be at least 1s".to_owned());
        }
        if self.opsbook.severity.is_empty() {
            return fail(
                "opsbook.severity",
                "`opsbook.severity` lists no level; remove it to get SEV1-SEV4, or add levels".to_owned(),
            );
        }
        if self.opsbook.extensions.is_empty() {
            return fail(
                "opsbook.extensions",
                "`opsbook.extensions` lists no file ending; remove it to get the default (md, markdown, mdx, md.erb)"
                    .to_owned(),
            );
        }
        for ending in &self.opsbook.extensions {
            let bare = ending.trim_start_matches('.');
            if bare.is_empty() || !bare.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
                return fail(
                    "opsbook.extensions",
                    format!("`{ending}` is not a file ending; write endings such as \"md\" or \"html.md.erb\""),
                );
            }
        }
        for (name, value) in &self.opsbook.aliases {
            if !crate::page::is_alias_name(name) {
                return fail(
                    "opsbook.aliases",
                    format!(
                        "`{name}` cannot be a shell alias; a name is letters, digits, `_`, `-` or `.`, not starting with `-`"
                    ),
                );
            }
            // A program and plain arguments: nothing the shell would read as more than words
            // (`;`, `&&`, `$(…)`, quotes), so the alias's risk is the program's.
            let plain = |word: &str| {
                word.chars().all(|c| {
                    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '=' | ':' | ',' | '@' | '%' | '+')
                })
            };
            if value.split_whitespace().next().is_none() || !value.split_whitespace().all(plain) {
                return fail(
                    "opsbook.aliases",
                    format!(
                        "alias `{name}` must stand for a program and plain arguments (letters, digits, `-_./=:,@%+`), such as \"kubectl --context prod\"; not `{}`",
                        crate::line::one_line(value)
                    ),
                );
            }
        }
        if let Some(url) = &self.opsbook.site_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) || url.contains(char::is_whitespace) {
                return fail(
                    "opsbook.site-url",
                    format!(
                        "`{url}` is not a web address; write where the site is published, such as \"https://runbooks.example.com/\""
                    ),
                );
            }
        }
        for target in &self.opsbook.notify {
            if !(target.url.starts_with("https://") || target.url.starts_with("http://")) {
                return fail(
                    "opsbook.notify",
                    "a `[[opsbook.notify]]` url must start with https:// (or http://)".to_owned(),
                );
            }
            if let Some(unknown) = target.events.iter().find(|e| !crate::notify::EVENTS.contains(&e.as_str())) {
                return fail(
                    "opsbook.notify",
                    format!(
                        "`{unknown}` is no notification event; the events are {}",
                        crate::notify::EVENTS.join(", ")
                    ),
                );
            }
        }
        let mut seen = std::collections::HashSet::new();
        for level in &self.opsbook.severity {
            if !seen.insert(level.name.to_ascii_uppercase()) {
                return fail("opsbook.severity", format!("severity `{}` is listed twice", level.name));
            }
        }
        Ok(())
    }

    /// The shell aliases steps may use: `k` for `kubectl` unless the book says otherwise, then
    /// `[opsbook] aliases`.
    pub fn aliases(&self) -> Vec<(String, String)> {
        let mut aliases = vec![("k".to_owned(), "kubectl".to_owned())];
        for (name, value) in &self.opsbook.aliases {
            aliases.retain(|(n, _)| n != name);
            aliases.push((name.clone(), value.trim().to_owned()));
        }
        aliases
    }

    /// The book's name for a severity level, whatever the case it is given in.
    pub fn severity_name(&self, given: &str) -> Option<&str> {
        self.opsbook.severity.iter().find(|l| l.name.eq_ignore_ascii_case(given.trim())).map(|l| l.name.as_str())
    }

    /// The least severe level: what a session starts at unless told otherwise.
    pub fn default_severity(&self) -> String {
        self.opsbook.severity.last().map_or_else(|| "SEV4".to_owned(), |l| l.name.clone())
    }

    /// The severity level names, most severe first.
    pub fn severity_names(&self) -> Vec<&str> {
        self.opsbook.severity.iter().map(|l| l.name.as_str()).collect()
    }

    /// The book's theme folder: `[output.html] theme`, else `theme/` when it exists.
    pub fn theme_dir(&self, root: &Path) -> Option<PathBuf> {
        match &self.output.html.theme {
            Some(dir) => Some(root.join(dir)),
            None => Some(root.join("theme")).filter(|d| d.is_dir()),
        }
    }

    pub fn src_dir(&self, root: &Path) -> PathBuf {
        match &self.book.src {
            Some(src) if root == Path::new(".") => src.clone(),
            Some(src) => root.join(src),
            None if root.join("src").is_dir() => root.join("src"),
            None => root.to_owned(),
        }
    }

    /// The site's output folder, relative to the book root.
    pub fn build_dir(&self, root: &Path) -> PathBuf {
        root.join(&self.build.build_dir)
    }

    /// The extra risk rules, compiled. Patterns were checked when the config was read.
    pub fn compiled_risk_rules(&self) -> Vec<(regex::Regex, RiskName, String)> {
        self.opsbook
            .risk_rules
            .iter()
            .filter_map(|rule| {
                let regex = regex::Regex::new(&rule.pattern).ok()?;
                let reason = rule.reason.clone().unwrap_or_else(|| format!("matches `{}`", rule.pattern));
                Some((regex, rule.risk, reason))
            })
            .collect()
    }
}

/// What the environment says, read in this one place (as mdBook applies `MDBOOK_*`): every
/// override of a setting, and where the user's own config file is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    /// `OPSBOOK_STORE`: the session store, before `store` in book.toml (after `--store`).
    pub store: Option<String>,
    /// `OPSBOOK_RESPONDER`: who is responding from this machine. A value with a control
    /// character (a line break, an escape) is refused, with a warning: it would write lines of
    /// its own into every export and timeline that names the responder.
    pub responder: Option<String>,
    /// `PGPASSWORD`: the PostgreSQL password, for a store URL that has none.
    pub pg_password: Option<String>,
    /// The user's config file: `$XDG_CONFIG_HOME/opsbook/config.toml`, else
    /// `$HOME/.config/opsbook/config.toml`.
    pub user_config: Option<PathBuf>,
}

impl Environment {
    /// This process's environment.
    pub fn read() -> Environment {
        Environment::from_vars(|name| std::env::var_os(name))
    }

    /// The environment `var` gives; empty values count as unset.
    pub fn from_vars(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Environment {
        let set = |name: &str| var(name).filter(|v| !v.is_empty());
        let text = |name: &str| set(name).and_then(|v| v.into_string().ok()).filter(|v| !v.trim().is_empty());
        let config_home =
            set("XDG_CONFIG_HOME").map(PathBuf::from).or_else(|| Some(PathBuf::from(set("HOME")?).join(".config")));
        Environment {
            store: text("OPSBOOK_STORE"),
            responder: text("OPSBOOK_RESPONDER").map(|v| v.trim().to_owned()).filter(|v| {
                let refused = crate::line::has_control(v);
                if refused {
                    tracing::warn!("OPSBOOK_RESPONDER holds a control character (a line break?); ignoring it");
                }
                !refused
            }),
            pg_password: set("PGPASSWORD").and_then(|v| v.into_string().ok()),
            user_config: config_home.map(|home| home.join("opsbook").join("config.toml")),
        }
    }

    /// The session store's URL: `flag` (`--store`), else `OPSBOOK_STORE`, else book.toml's
    /// `store`; `None`: the book's own SQLite file. A relative `sqlite:` path from book.toml is
    /// the book's (`root`), wherever opsbook runs; one given on the command line or in the
    /// environment is the working folder's, as any path there.
    pub fn store_url(&self, flag: Option<&str>, config: &OpsbookConfig, root: &Path) -> Option<String> {
        let from_book = || {
            let url = config.store.clone()?;
            Some(match sqlite_path(&url) {
                Some(path) if !path.is_empty() && Path::new(path).is_relative() => {
                    format!("sqlite:{}", root.join(path).display())
                }
                _ => url,
            })
        };
        flag.map(str::to_owned).or_else(|| self.store.clone()).or_else(from_book)
    }
}

/// The path of a `sqlite:` store URL: `sqlite:PATH`, `sqlite://PATH` (one `//` is the URL's),
/// `sqlite:///abs/path`. `None` for another scheme; an empty path is `Some("")`.
pub fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url.trim().strip_prefix("sqlite:")?;
    Some(rest.strip_prefix("//").unwrap_or(rest))
}

fn invalid(text: &str, path: &Path, err: &toml::de::Error) -> ConfigError {
    let (line, col, key) = match err.span() {
        Some(span) => {
            let (line, col) = line_col(text, span.start);
            (line, col, key_at(text, span.start))
        }
        None => (1, 1, None),
    };
    let message = err.message().trim_end().to_owned();
    let message = match &key {
        Some(key) => format!("invalid `{key}`: {message}"),
        None => message,
    };
    ConfigError::Invalid { path: path.to_owned(), line, col, key, message }
}

/// 1-based line and character column of byte `offset`.
fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line as u32, col as u32)
}

/// The dotted key whose value or header stands at `offset`: the table header above it plus the
/// key on its line.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let (line_no, _) = line_col(text, offset);
    let mut table = String::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        let header = trimmed
            .strip_prefix("[[")
            .and_then(|s| s.split("]]").next())
            .or_else(|| trimmed.strip_prefix('[').and_then(|s| s.split(']').next()));
        if index + 1 == line_no as usize {
            if let Some(header) = header {
                return Some(header.trim().to_owned());
            }
            let key = trimmed.split('=').next()?.trim().trim_matches('"');
            if key.is_empty() || trimmed.starts_with('#') {
                return (!table.is_empty()).then_some(table);
            }
            return Some(if table.is_empty() { key.to_owned() } else { format!("{table}.{key}") });
        }
        if let Some(header) = header {
            table = header.trim().to_owned();
        }
    }
    (!table.is_empty()).then_some(table)
}

/// Where a dotted key is written, for errors found after parsing; the table header when the key
/// itself is not written there.
fn locate_key(text: &str, dotted: &str) -> (u32, u32) {
    let (table, key) = dotted.rsplit_once('.').unwrap_or(("", dotted));
    let mut in_table = table.is_empty();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            let name = trimmed.trim_matches(|c| c == '[' || c == ']').trim();
            in_table = name == table;
            if name == dotted {
                return (index as u32 + 1, 1);
            }
            continue;
        }
        if in_table && trimmed.split('=').next().map(str::trim) == Some(key) {
            let col = line.len() - line.trim_start().len() + 1;
            return (index as u32 + 1, col as u32);
        }
    }
    (1, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, Path::new("book.toml"))
    }

    #[test]
    fn empty_file_gives_defaults() {
        let config = parse("").unwrap();
        assert_eq!(config.opsbook.shell, "bash");
        assert_eq!(config.opsbook.timeout, Duration::from_secs(600));
        let names: Vec<_> = config.opsbook.severity.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["SEV1", "SEV2", "SEV3", "SEV4"]);
        assert_eq!(config.opsbook.severity[0].response_time, Some(Duration::from_secs(15 * 60)));
        assert_eq!(config.build.build_dir, PathBuf::from("book"));
    }

    #[test]
    fn mdbook_keys_are_accepted() {
        let config = parse(
            r#"
[book]
title = "Ops"
authors = ["a", "b"]
description = "d"
src = "runbooks"
language = "fr"
multilingual = false

[build]
build-dir = "site"
create-missing = false

[output.html]
theme = "my-theme"
additional-css = ["x.css"]
mathjax-support = true

[output.html.fold]
enable = true

[output.linkcheck]
follow-web-links = false

[preprocessor.mermaid]
command = "mdbook-mermaid"

[rust]
edition = "2021"
"#,
        )
        .unwrap();
        assert_eq!(config.book.title.as_deref(), Some("Ops"));
        assert_eq!(config.book.src, Some(PathBuf::from("runbooks")));
        assert_eq!(config.build.build_dir, PathBuf::from("site"));
        assert_eq!(config.output.html.theme, Some(PathBuf::from("my-theme")));
        assert_eq!(config.output.html.additional_css, [PathBuf::from("x.css")]);
        assert!(config.output.html.other.contains_key("mathjax-support"));
        assert!(config.output.other.contains_key("linkcheck"));
    }

    #[test]
    fn opsbook_keys() {
        let config = parse(
            r#"
[opsbook]
shell = "zsh"
timeout = "90s"

[[opsbook.severity]]
name = "P1"
response-time = "5m"

[[opsbook.severity]]
name = "P2"

[[opsbook.risk-rules]]
pattern = "^deploy-tool promote"
risk = "destructive"
reason = "promotes a release"
"#,
        )
        .unwrap();
        assert_eq!(config.opsbook.shell, "zsh");
        assert_eq!(config.opsbook.timeout, Duration::from_secs(90));
        assert_eq!(config.opsbook.severity.len(), 2);
        assert_eq!(config.opsbook.severity[0].response_time, Some(Duration::from_secs(300)));
        let rules = config.compiled_risk_rules();
        assert_eq!(rules[0].1, RiskName::Destructive);
        assert_eq!(rules[0].2, "promotes a release");
    }

    #[test]
    fn the_environment_is_read_in_one_place() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| std::ffi::OsString::from(v))
        };
        let env = Environment::from_vars(vars(&[
            ("OPSBOOK_STORE", "sqlite:/srv/ops.db"),
            ("OPSBOOK_RESPONDER", " ana "),
            ("PGPASSWORD", "s3cret"),
            ("HOME", "/home/ana"),
        ]));
        assert_eq!(env.store.as_deref(), Some("sqlite:/srv/ops.db"));
        assert_eq!(env.responder.as_deref(), Some("ana"));
        assert_eq!(env.pg_password.as_deref(), Some("s3cret"));
        assert_eq!(env.user_config, Some(PathBuf::from("/home/ana/.config/opsbook/config.toml")));
        let xdg = Environment::from_vars(vars(&[("XDG_CONFIG_HOME", "/cfg"), ("HOME", "/h"), ("OPSBOOK_STORE", " ")]));
        assert_eq!(xdg.user_config, Some(PathBuf::from("/cfg/opsbook/config.toml")));
        assert_eq!(xdg.store, None, "blank is unset");
        assert_eq!(Environment::from_vars(vars(&[])), Environment::default());
        for forged in ["mallory@evil)\n- 02:00 - Status: Resolved (alice", "ana\rbob", "a\x1b[2Jb", "a\tb"] {
            let refused = Environment::from_vars(|name| (name == "OPSBOOK_RESPONDER").then(|| forged.into()));
            assert_eq!(refused.responder, None, "{forged:?}");
        }

        // --store, then OPSBOOK_STORE, then book.toml.
        let book = parse("[opsbook]\nstore = \"sqlite:data/book.db\"\n").unwrap().opsbook;
        let root = Path::new("/srv/book");
        assert_eq!(env.store_url(Some("sqlite:flag.db"), &book, root).as_deref(), Some("sqlite:flag.db"));
        assert_eq!(env.store_url(None, &book, root).as_deref(), Some("sqlite:/srv/ops.db"));
        // book.toml's relative path is the book's, wherever opsbook runs.
        let none = Environment::default();
        assert_eq!(none.store_url(None, &book, root).as_deref(), Some("sqlite:/srv/book/data/book.db"));
        let absolute = parse("[opsbook]\nstore = \"sqlite:///var/ops.db\"\n").unwrap().opsbook;
        assert_eq!(none.store_url(None, &absolute, root).as_deref(), Some("sqlite:///var/ops.db"));
        assert_eq!(none.store_url(None, &OpsbookConfig::default(), root), None);

        assert_eq!(sqlite_path("sqlite:ops.db"), Some("ops.db"));
        assert_eq!(sqlite_path("sqlite://ops.db"), Some("ops.db"));
        assert_eq!(sqlite_path("sqlite:///tmp/x.db"), Some("/tmp/x.db"));
        assert_eq!(sqlite_path("sqlite:////tmp/x.db"), Some("//tmp/x.db"));
        assert_eq!(sqlite_path("sqlite:"), Some(""));
        assert_eq!(sqlite_path("postgres://db/x"), None);
    }

    #[test]
    fn allow_outside_is_a_list_of_paths() {
        let config = parse("[opsbook]\nallow-outside = [\"../shared-snippets\", \"/srv/docs\"]\n").unwrap();
        assert_eq!(config.opsbook.allow_outside, [PathBuf::from("../shared-snippets"), PathBuf::from("/srv/docs")]);
        assert!(parse("").unwrap().opsbook.allow_outside.is_empty());
    }

    #[test]
    fn unknown_opsbook_key_names_line_and_key() {
        let err = parse("[book]\ntitle = \"x\"\n\n[opsbook]\ntimout = \"30s\"\n").unwrap_err();
        let ConfigError::Invalid { line, col, key, message, .. } = &err else { panic!("{err}") };
        assert_eq!((*line, *col), (5, 1));
        assert_eq!(key.as_deref(), Some("opsbook.timout"));
        assert!(message.contains("unknown field `timout`"), "{message}");
        assert!(err.to_string().starts_with("book.toml:5:1: invalid `opsbook.timout`"), "{err}");
    }

    #[test]
    fn bad_duration_names_the_key() {
        let err = parse("[opsbook]\ntimeout = \"soon\"\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("book.toml:2:11: invalid `opsbook.timeout`"), "{text}");
        assert!(text.contains("invalid duration `soon`"), "{text}");
    }

    #[test]
    fn wrong_type_in_mdbook_table() {
        let err = parse("[build]\nbuild-dir = 3\n").unwrap_err();
        assert!(err.to_string().starts_with("book.toml:2:13: invalid `build.build-dir`"), "{err}");
    }

    #[test]
    fn toml_syntax_error_has_position() {
        let err = parse("[book]\ntitle = \"unterminated\n").unwrap_err();
        let ConfigError::Invalid { line, .. } = err else { panic!() };
        assert_eq!(line, 2);
    }

    #[test]
    fn bad_regex_is_an_error() {
        let err = parse("[[opsbook.risk-rules]]\npattern = \"(\"\nrisk = \"mutating\"\n").unwrap_err();
        assert!(err.to_string().contains("invalid regex"), "{err}");
    }

    #[test]
    fn duplicate_severity_is_an_error() {
        let err = parse("[[opsbook.severity]]\nname = \"SEV1\"\n[[opsbook.severity]]\nname = \"sev1\"\n").unwrap_err();
        assert!(err.to_string().contains("severity `sev1` is listed twice"), "{err}");
    }

    #[test]
    fn a_shell_is_one_program_and_a_timeout_at_least_a_second() {
        let err = parse("[opsbook]\nshell = \"bash -c\"\n").unwrap_err().to_string();
        assert!(err.starts_with("book.toml:2:1: `opsbook.shell` is one program"), "{err}");
        assert!(err.contains("not `bash -c`"), "{err}");
        assert_eq!(parse("[opsbook]\nshell = \"/bin/zsh\"\n").unwrap().opsbook.shell, "/bin/zsh");
        for short in ["0s", "1ns", "999ms"] {
            let err = parse(&format!("[opsbook]\ntimeout = \"{short}\"\n")).unwrap_err().to_string();
            assert!(err.contains("`opsbook.timeout` must be at least 1s"), "{short}: {err}");
        }
        assert_eq!(parse("[opsbook]\ntimeout = \"1s\"\n").unwrap().opsbook.timeout, Duration::from_secs(1));
    }
}
