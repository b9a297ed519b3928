//! Does a command read as shell? The tag on a fence is a hint; this decides.
//!
//! Deliberately independent of the machine: the programs installed here do not change what a
//! runbook means, so there is no `PATH` lookup. A command is [`Shape::Known`] when its program is
//! a shell builtin or keyword, a well-known operations tool, an assignment or a path; it is
//! [`Shape::Plausible`] when the program has the shape of a command name (`pgb-console`,
//! `/incident`); it is [`Shape::NotShell`] when it has the shape of something else: log lines
//! (`1 drain_controller.go:173] …`), PromQL (`sum by(job) (rate(…))`), prose, YAML, tables.

use super::shell::{Kind, Lexed, Token};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Known,
    Plausible,
    NotShell(&'static str),
}

/// Programs opsbook knows by name. Sorted, for binary search.
static KNOWN_PROGRAMS: &[&str] = &[
    ".",
    "[",
    "[[",
    "ab",
    "alembic",
    "alias",
    "ansible",
    "ansible-playbook",
    "apk",
    "apt",
    "apt-get",
    "arp",
    "awk",
    "aws",
    "az",
    "base64",
    "basename",
    "bash",
    "bc",
    "bg",
    "bq",
    "break",
    "builtin",
    "bundle",
    "bunzip2",
    "bzip2",
    "cat",
    "cd",
    "ceph",
    "chage",
    "chef-client",
    "chgrp",
    "chmod",
    "chown",
    "chroot",
    "cksum",
    "clickhouse-client",
    "column",
    "comm",
    "command",
    "conntrack",
    "consul",
    "continue",
    "cp",
    "crictl",
    "crontab",
    "csplit",
    "ctr",
    "curl",
    "cut",
    "date",
    "dd",
    "declare",
    "df",
    "diff",
    "dig",
    "dirname",
    "dmesg",
    "dnf",
    "docker",
    "docker-compose",
    "docker-machine",
    "dpkg",
    "du",
    "echo",
    "env",
    "envsubst",
    "etcdctl",
    "ethtool",
    "eval",
    "exec",
    "exit",
    "expand",
    "export",
    "expr",
    "false",
    "fdisk",
    "fg",
    "file",
    "find",
    "flock",
    "fold",
    "free",
    "fsck",
    "gcloud",
    "getent",
    "getopts",
    "gh",
    "git",
    "gitlab-ctl",
    "gitlab-psql",
    "gitlab-rails",
    "gitlab-rake",
    "glab",
    "go",
    "gpg",
    "grep",
    "groups",
    "gsutil",
    "gunzip",
    "gzip",
    "hash",
    "head",
    "helm",
    "history",
    "host",
    "hostname",
    "htop",
    "iconv",
    "id",
    "ifconfig",
    "install",
    "iostat",
    "iotop",
    "ip",
    "ipcs",
    "iptables",
    "java",
    "jobs",
    "join",
    "journalctl",
    "jq",
    "kafka-topics",
    "kill",
    "killall",
    "knife",
    "kubectl",
    "kubectx",
    "kubens",
    "kustomize",
    "last",
    "less",
    "let",
    "ln",
    "local",
    "logger",
    "login",
    "logrotate",
    "ls",
    "lsblk",
    "lsof",
    "lvs",
    "make",
    "man",
    "mapfile",
    "md5sum",
    "mkdir",
    "mkfs",
    "mktemp",
    "mongo",
    "mongosh",
    "more",
    "mount",
    "mtr",
    "mv",
    "mysql",
    "mysqldump",
    "nano",
    "nc",
    "ncat",
    "netstat",
    "nice",
    "nmap",
    "node",
    "nohup",
    "npm",
    "nproc",
    "nslookup",
    "ntpq",
    "numfmt",
    "oc",
    "od",
    "openssl",
    "paste",
    "patch",
    "patronictl",
    "perl",
    "pg_basebackup",
    "pg_ctl",
    "pg_dump",
    "pg_dumpall",
    "pg_isready",
    "pg_restore",
    "pgrep",
    "php",
    "pidof",
    "ping",
    "pip",
    "pkill",
    "popd",
    "printenv",
    "printf",
    "ps",
    "psql",
    "pushd",
    "pv",
    "pvs",
    "pwd",
    "pytest",
    "python",
    "python3",
    "rails",
    "rake",
    "read",
    "readarray",
    "readlink",
    "readonly",
    "realpath",
    "reboot",
    "redis-cli",
    "rev",
    "rm",
    "rmdir",
    "rsync",
    "ruby",
    "s3cmd",
    "sar",
    "scp",
    "screen",
    "sed",
    "seq",
    "service",
    "set",
    "sftp",
    "sh",
    "sha1sum",
    "sha256sum",
    "shift",
    "shopt",
    "shuf",
    "shutdown",
    "sleep",
    "sort",
    "source",
    "split",
    "sqlite3",
    "ss",
    "ssh",
    "stat",
    "strace",
    "stress",
    "su",
    "sudo",
    "swapoff",
    "swapon",
    "sync",
    "sysctl",
    "systemctl",
    "tac",
    "tail",
    "tar",
    "tcpdump",
    "tee",
    "telnet",
    "terraform",
    "test",
    "time",
    "timeout",
    "tmux",
    "top",
    "touch",
    "tr",
    "traceroute",
    "trap",
    "true",
    "truncate",
    "tsh",
    "type",
    "typeset",
    "ulimit",
    "umask",
    "umount",
    "unalias",
    "uname",
    "uniq",
    "unset",
    "unzip",
    "uptime",
    "useradd",
    "usermod",
    "vault",
    "vgs",
    "vi",
    "vim",
    "vmstat",
    "w",
    "wait",
    "wal-g",
    "watch",
    "wc",
    "wget",
    "which",
    "who",
    "whoami",
    "xargs",
    "xxd",
    "yes",
    "yq",
    "yum",
    "zcat",
    "zip",
    "zsh",
];

/// Shell reserved words that start a command.
/// (`select` is left out: in runbooks it is SQL far more often than bash.)
static KEYWORDS: &[&str] = &["case", "for", "function", "if", "until", "while", "{", "!", "(("];

pub(crate) fn is_known_program(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    KNOWN_PROGRAMS.binary_search(&name).is_ok()
        || (name.contains('/') && KNOWN_PROGRAMS.binary_search(&base).is_ok())
        || KEYWORDS.contains(&name)
}

/// The word a command starts with, past `VAR=value` prefixes. None when it is only assignments.
pub(crate) fn program<'t>(words: &[&'t Token]) -> Option<&'t Token> {
    words.iter().copied().find(|word| !word.assignment)
}

/// Classifies one command, given its tokens and its text.
pub(crate) fn classify(tokens: &[Token], text: &str, lexed: &Lexed) -> Shape {
    let words: Vec<&Token> = tokens.iter().filter(|t| t.kind == Kind::Word).collect();
    let first = tokens.iter().find(|t| !matches!(t.kind, Kind::Newline | Kind::Comment));
    let Some(first) = first else {
        return Shape::NotShell("empty");
    };
    if first.kind == Kind::Op && first.value != "(" {
        return Shape::NotShell("starts with an operator");
    }
    if let Some(reason) = syntax_misfit(tokens, lexed) {
        return Shape::NotShell(reason);
    }
    let Some(program) = program(&words) else {
        // Only assignments (`NS=openshift-monitoring`), or a bare group.
        return if words.is_empty() { Shape::NotShell("holds no word") } else { Shape::Known };
    };
    let raw = &text[program.range.start.saturating_sub(tokens[0].range.start).min(text.len())..];
    let name = program.value.as_str();
    if is_known_program(name) || name.starts_with("((") {
        return Shape::Known;
    }
    if name.starts_with("./") || name.starts_with("../") || name.starts_with("~/") || name.starts_with("$") {
        return Shape::Known;
    }
    if let Some(reason) = misfit_name(name, raw) {
        return Shape::NotShell(reason);
    }
    if is_tabular(text) {
        return Shape::NotShell("reads as tabular output");
    }
    if let Some(absolute) = name.strip_prefix('/') {
        let root = absolute.split('/').next().unwrap_or("");
        let system_dir = ["usr", "bin", "sbin", "opt", "etc", "root", "home", "tmp", "var", "srv", "snap"];
        return if absolute.contains('/') && system_dir.contains(&root) { Shape::Known } else { Shape::Plausible };
    }
    Shape::Plausible
}

/// A program word that cannot be a command name.
fn misfit_name(name: &str, raw: &str) -> Option<&'static str> {
    let first = name.chars().next()?;
    if raw.starts_with(['"', '\'']) && !name.contains(' ') {
        return None;
    }
    if first.is_ascii_digit() {
        return Some("starts with a number");
    }
    if first.is_uppercase() {
        return Some("starts with a capitalised word");
    }
    if !(first.is_alphanumeric() || first == '_' || first == '/' || first == '.') {
        return Some("starts with punctuation");
    }
    if name.ends_with(':') || name.ends_with(',') {
        return Some("starts with a label");
    }
    if name.contains("://") {
        return Some("starts with a URL");
    }
    if !name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '+' | '@' | ':' | '~')) {
        return Some("the program name holds characters a command name does not");
    }
    None
}

/// A `(` where bash allows none (`sum by(job)`, `on ... (rw,relatime)`), or a `)` that closes
/// nothing: not bash.
fn syntax_misfit(tokens: &[Token], lexed: &Lexed) -> Option<&'static str> {
    let mut depth = 0i32;
    let mut in_case = false;
    let mut command_position = true;
    for (index, token) in tokens.iter().enumerate() {
        match token.kind {
            Kind::Word => {
                let bare = lexed.ctx.get(token.range.start) == Some(&super::shell::Ctx::Bare);
                let word = token.value.as_str();
                if bare && word == "case" {
                    in_case = true;
                }
                if bare && word == "esac" {
                    in_case = false;
                }
                let reserved = bare
                    && matches!(word, "then" | "do" | "else" | "elif" | "if" | "while" | "until" | "!" | "{" | "time");
                command_position = reserved || (command_position && token.assignment);
            }
            Kind::Op if token.value == "(" => {
                let glued = index > 0
                    && tokens[index - 1].kind == Kind::Word
                    && tokens[index - 1].range.end == token.range.start;
                let function_definition = tokens.get(index + 1).is_some_and(|t| t.is_op(")"))
                    && (glued || (index == 1 && tokens[0].kind == Kind::Word));
                if glued && !function_definition && !in_case {
                    return Some("a word is followed by `(` as in a function call (PromQL, SQL)");
                }
                if !command_position && !function_definition && !in_case {
                    return Some("a `(` stands where bash allows none");
                }
                depth += 1;
                command_position = true;
            }
            Kind::Op if token.value == ")" => {
                depth -= 1;
                if depth < 0 && !in_case {
                    return Some("a `)` closes nothing");
                }
                command_position = true;
            }
            Kind::Op => {
                command_position =
                    matches!(token.value.as_str(), ";" | ";;" | ";&" | ";;&" | "&" | "&&" | "||" | "|" | "|&");
            }
            Kind::Newline => command_position = true,
            _ => {}
        }
    }
    None
}

/// Columns separated by runs of spaces, as in `kubectl get` output.
fn is_tabular(text: &str) -> bool {
    let code = text.lines().next().unwrap_or("").trim();
    let code = code.split(" #").next().unwrap_or(code);
    code.split("  ").filter(|s| !s.trim().is_empty()).count() >= 3 || code.matches('\t').count() >= 2
}

#[cfg(test)]
mod tests {
    use super::super::shell::{lex, split};
    use super::*;

    fn shape(text: &str) -> Shape {
        let lexed = lex(text);
        let split = split(&lexed);
        let span = &split.commands[0];
        classify(&lexed.tokens[span.tokens.clone()], &text[span.text.clone()], &lexed)
    }

    #[test]
    fn known_list_is_sorted() {
        let mut sorted = KNOWN_PROGRAMS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, KNOWN_PROGRAMS);
    }

    #[test]
    fn shape_table() {
        let cases: &[(&str, Shape)] = &[
            ("kubectl get pods -n x", Shape::Known),
            ("sudo su", Shape::Known),
            ("FOO=1 oc get x", Shape::Known),
            ("ROOK_UID=$(kubectl get x)", Shape::Known),
            ("/usr/bin/gather_audit_logs", Shape::Known),
            ("./deploy.sh", Shape::Known),
            ("for i in 1; do echo $i; done", Shape::Known),
            ("/incident create \"Brief description\"", Shape::Plausible),
            ("pgb-console", Shape::Plausible),
            ("foo() { bar; }", Shape::Plausible),
            ("1 drain_controller.go:173] node x: initiating drain", Shape::NotShell("starts with a number")),
            ("Failed calling webhook, failing open", Shape::NotShell("starts with a capitalised word")),
            (
                "sum by(resource) (rate(x[1d]))",
                Shape::NotShell("a word is followed by `(` as in a function call (PromQL, SQL)"),
            ),
            ("label_replace(", Shape::NotShell("a word is followed by `(` as in a function call (PromQL, SQL)")),
            ("- Duration: X hours", Shape::NotShell("starts with punctuation")),
            ("apiVersion: v1", Shape::NotShell("starts with a label")),
            ("po/rook-ceph-mgr0   1/1       Running   0", Shape::NotShell("reads as tabular output")),
            ("^CCluster connection interrupted", Shape::NotShell("starts with punctuation")),
            ("base_0000\t2019-06-15 04:27:42\t\t0000", Shape::NotShell("reads as tabular output")),
            ("select a, b from t where x='y'", Shape::Plausible),
            ("/dev/rbdx on ... (rw,relatime, ..., noquota)", Shape::NotShell("a `(` stands where bash allows none")),
            ("(cd /tmp && ls)", Shape::Known),
            ("{\"status\": 1}", Shape::NotShell("starts with punctuation")),
        ];
        for (text, expected) in cases {
            assert_eq!(shape(text), *expected, "for {text:?}");
        }
    }
}
