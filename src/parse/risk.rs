//! Risk of a command (read-only, mutating, destructive, unknown) with the rule that decided it,
//! and the long-running and interactive flags.
//!
//! Works on the words of each simple command (see `shell::simple_commands`): wrappers such as
//! `sudo`, `timeout`, `kubectl exec … --`, `ssh host` and `bash -c` are looked through, so the
//! command that really runs is judged. Tools with well-known verbs (kubectl/oc, psql and SQL,
//! redis-cli, aws, gcloud, az, docker and compose, alembic, systemctl, curl, git, helm, terraform)
//! have their own tables; other known tools fall back to their subcommand verbs. A command
//! opsbook cannot judge is `unknown`, never silently read-only.

use super::shell::{self, Kind, Token};
use crate::model::Risk;

/// What running a command does, as far as its text tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Assessment {
    pub risk: Risk,
    pub reason: String,
    pub long_running: Option<String>,
    pub interactive: Option<String>,
    /// The command opens a prompt of another interpreter (`psql`, `redis-cli`): the lines after
    /// it in the same block are typed into that prompt, not into the shell.
    pub opens_repl: bool,
}

impl Assessment {
    fn new(risk: Risk, reason: impl Into<String>) -> Self {
        Assessment { risk, reason: reason.into(), long_running: None, interactive: None, opens_repl: false }
    }

    fn read_only(reason: impl Into<String>) -> Self {
        Self::new(Risk::ReadOnly, reason)
    }

    fn long_running(mut self, why: impl Into<String>) -> Self {
        self.long_running.get_or_insert_with(|| why.into());
        self
    }

    fn interactive(mut self, why: impl Into<String>) -> Self {
        self.interactive.get_or_insert_with(|| why.into());
        self
    }

    fn repl(mut self, why: impl Into<String>) -> Self {
        self.opens_repl = true;
        self.interactive(why)
    }

    /// Folds another part of the same command in: the riskier decides; flags accumulate.
    fn merge(&mut self, other: Assessment) {
        if other.risk > self.risk {
            self.risk = other.risk;
            self.reason = other.reason;
        }
        if self.long_running.is_none() {
            self.long_running = other.long_running;
        }
        if self.interactive.is_none() {
            self.interactive = other.interactive;
        }
        self.opens_repl |= other.opens_repl;
    }
}

/// Assesses a whole command (all its simple commands).
pub(crate) fn assess(tokens: &[Token], extra_rules: &[(regex::Regex, Risk, String)], text: &str) -> Assessment {
    for (pattern, risk, reason) in extra_rules {
        if pattern.is_match(text) {
            let mut assessment = assess_tokens(tokens, 0);
            assessment.risk = *risk;
            assessment.reason = reason.clone();
            return assessment;
        }
    }
    assess_tokens(tokens, 0)
}

fn assess_tokens(tokens: &[Token], depth: usize) -> Assessment {
    let mut total: Option<Assessment> = None;
    let mut words: Vec<&str> = Vec::with_capacity(16);
    shell::for_each_simple_command(tokens, |simple| {
        words.clear();
        words.extend(simple.iter().map(|t| t.value.as_str()));
        let mut part = assess_words(&words, depth);
        // Commands hidden in `$(…)` run too.
        for token in simple {
            if let Some(inner) = substitution_body(&token.value) {
                if depth < 4 {
                    let lexed = shell::lex(inner);
                    part.merge(assess_tokens(&lexed.tokens, depth + 1));
                }
            }
        }
        match &mut total {
            None => total = Some(part),
            Some(total) => total.merge(part),
        }
    });
    total.unwrap_or_else(|| Assessment::read_only("does nothing"))
}

fn substitution_body(word: &str) -> Option<&str> {
    if !word.as_bytes().contains(&b'$') {
        return None;
    }
    let start = word.find("$(")? + 2;
    if word[start..].starts_with('(') {
        return None; // arithmetic
    }
    let end = word.rfind(')')?;
    (end > start).then(|| &word[start..end])
}

/// Flags that take a value, per tool family, so the verb after them can be found.
const KUBE_VALUE_FLAGS: &[&str] = &[
    "-n",
    "--namespace",
    "--context",
    "--cluster",
    "--kubeconfig",
    "--user",
    "-s",
    "--server",
    "--as",
    "--token",
    "--request-timeout",
    "-l",
    "--selector",
    "-c",
    "--container",
    "-o",
    "--output",
];

fn is_flag(word: &str) -> bool {
    word.starts_with('-') && word.len() > 1
}

/// The words that are not flags (nor values of `value_flags`).
fn positional<'w>(words: &[&'w str], value_flags: &[&str]) -> Vec<&'w str> {
    let mut out = Vec::new();
    let mut skip = false;
    for word in words {
        if skip {
            skip = false;
            continue;
        }
        if *word == "--" {
            break;
        }
        if is_flag(word) {
            skip = value_flags.contains(word);
            continue;
        }
        out.push(*word);
    }
    out
}

fn has_flag(words: &[&str], flags: &[&str]) -> bool {
    words.iter().any(|w| {
        flags.contains(w)
            || flags.iter().any(|f| f.starts_with("--") && w.strip_prefix(f).is_some_and(|rest| rest.starts_with('=')))
    })
}

/// Short flag clusters: `-it` holds `i` and `t`.
fn has_short(words: &[&str], letter: char) -> bool {
    words.iter().any(|w| {
        w.starts_with('-') && !w.starts_with("--") && w[1..].chars().all(char::is_alphabetic) && w[1..].contains(letter)
    })
}

fn tty_interactive(words: &[&str]) -> bool {
    (has_short(words, 'i') && has_short(words, 't')) || (has_flag(words, &["--stdin"]) && has_flag(words, &["--tty"]))
}

fn assess_words(words: &[&str], depth: usize) -> Assessment {
    let Some(start) = words.iter().position(|w| !shell::is_assignment(w)) else {
        return Assessment::read_only("sets a shell variable");
    };
    let words = &words[start..];
    // Compound commands: their keywords run nothing; the commands inside them do.
    match words[0] {
        "do" | "then" | "else" | "elif" | "if" | "while" | "until" | "!" | "{" | "time" => {
            return if words.len() > 1 {
                assess_words(&words[1..], depth)
            } else {
                Assessment::read_only("shell syntax")
            };
        }
        "for" | "select" | "case" | "done" | "fi" | "esac" | "}" | "in" => {
            return Assessment::read_only("shell syntax");
        }
        _ => {}
    }
    let program = words[0].rsplit('/').next().unwrap_or(words[0]);
    let args = &words[1..];
    let inner = |from: usize| -> Option<Assessment> {
        (from < words.len() && depth < 6).then(|| assess_words(&words[from..], depth + 1))
    };
    match program {
        "sudo" => {
            let mut i = 1;
            while i < words.len() && is_flag(words[i]) {
                if matches!(words[i], "-u" | "-g" | "-C" | "-p" | "-h") {
                    i += 1;
                }
                i += 1;
            }
            if i >= words.len() {
                return Assessment::read_only("opens a root shell")
                    .interactive("`sudo` with no command opens a root shell");
            }
            inner(i).unwrap_or_else(|| Assessment::new(Risk::Unknown, "`sudo`"))
        }
        "su" => Assessment::read_only("switches user").interactive("`su` opens a shell as another user"),
        "env" | "nohup" | "time" | "exec" | "command" | "builtin" | "stdbuf" | "nice" | "ionice" | "xargs" => {
            let mut i = 1;
            while i < words.len() && (is_flag(words[i]) || shell::is_assignment(words[i])) {
                if matches!(words[i], "-n" | "-u" | "-I" | "-c" | "-P" | "-L" | "-o" | "-e") && program != "env" {
                    i += 1;
                }
                i += 1;
            }
            match inner(i) {
                Some(assessment) => assessment,
                None if program == "env" => Assessment::read_only("prints the environment"),
                None => Assessment::new(Risk::Unknown, format!("`{program}` with no command")),
            }
        }
        "timeout" => {
            let positional_from = words.iter().skip(1).position(|w| !is_flag(w)).map(|p| p + 2);
            positional_from.and_then(inner).unwrap_or_else(|| Assessment::new(Risk::Unknown, "`timeout`"))
        }
        "watch" => {
            let mut i = 1;
            while i < words.len() && is_flag(words[i]) {
                if matches!(words[i], "-n" | "--interval") {
                    i += 1;
                }
                i += 1;
            }
            let mut assessment = inner(i).unwrap_or_else(|| Assessment::new(Risk::Unknown, "`watch`"));
            assessment.long_running = Some("`watch` repeats until stopped".to_owned());
            assessment
        }
        "bash" | "sh" | "zsh" | "dash" | "ksh" => match args.iter().position(|w| *w == "-c") {
            Some(index) if index + 2 < words.len() || index + 1 < args.len() => {
                let script = args[index + 1];
                let lexed = shell::lex(script);
                assess_tokens(&lexed.tokens, depth + 1)
            }
            _ if args.iter().any(|w| !is_flag(w)) => {
                Assessment::new(Risk::Unknown, format!("`{program}` runs a script"))
            }
            _ => {
                Assessment::read_only("opens a shell").interactive(format!("`{program}` with no script opens a shell"))
            }
        },
        "kubectl" | "oc" => kube(program, words, depth),
        "psql" | "gitlab-psql" | "mysql" | "mariadb" | "sqlite3" | "clickhouse-client" => sql_client(program, args),
        "redis-cli" => redis(args),
        "aws" => aws(args),
        "gcloud" | "az" => cloud_cli(program, args),
        "docker" | "podman" | "nerdctl" => docker(program, words, depth),
        "docker-compose" => compose("docker-compose", args),
        "alembic" => alembic(args),
        "systemctl" => systemctl(args),
        "service" => match args.get(1) {
            Some(&"status") => Assessment::read_only("`service status` reads"),
            Some(action) => Assessment::new(Risk::Mutating, format!("`service {action}` changes a service")),
            None => Assessment::new(Risk::Unknown, "`service`"),
        },
        "curl" => curl(args),
        "wget" => {
            if has_flag(args, &["--post-data", "--post-file", "--method"]) {
                Assessment::new(Risk::Mutating, "`wget` sends data")
            } else {
                Assessment::read_only("`wget` downloads")
            }
        }
        "git" => git(args),
        "helm" => helm(args),
        "terraform" | "tofu" | "tf" => terraform(program, args),
        "ssh" => ssh(words, depth),
        "rm" | "shred" | "mkfs" | "fdisk" | "wipefs" | "dd" | "truncate" => {
            Assessment::new(Risk::Destructive, format!("`{program}` destroys data"))
        }
        "find" => {
            if has_flag(args, &["-delete"]) {
                Assessment::new(Risk::Destructive, "`find -delete` removes files")
            } else if has_flag(args, &["-exec", "-execdir", "-ok"]) {
                Assessment::new(Risk::Unknown, "`find -exec` runs commands")
            } else {
                Assessment::read_only("`find` reads")
            }
        }
        "sed" | "perl" if has_flag(args, &["-i", "--in-place"]) || args.iter().any(|a| a.starts_with("-i")) => {
            Assessment::new(Risk::Mutating, format!("`{program} -i` edits files in place"))
        }
        "sed" | "awk" | "gawk" | "jq" | "yq" | "grep" | "egrep" | "fgrep" | "zgrep" | "cat" | "zcat" | "ls"
        | "echo" | "printf" | "head" | "wc" | "sort" | "uniq" | "cut" | "tr" | "column" | "base64" | "md5sum"
        | "sha1sum" | "sha256sum" | "ps" | "df" | "du" | "free" | "uptime" | "date" | "whoami" | "id" | "uname"
        | "dmesg" | "netstat" | "ss" | "lsof" | "stat" | "file" | "test" | "[" | "[[" | "true" | "false" | "pwd"
        | "which" | "type" | "getent" | "nproc" | "lsblk" | "dig" | "nslookup" | "host" | "traceroute" | "mtr"
        | "pg_isready" | "printenv" | "sleep" | "seq" | "history" | "diff" | "comm" | "join" | "paste" | "rev"
        | "tac" | "od" | "xxd" | "readlink" | "realpath" | "basename" | "dirname" | "groups" | "last" | "w" | "who"
        | "vmstat" | "iostat" | "sar" | "ipcs" | "column-t" | "expr" | "numfmt" | "envsubst" | "fold" | "nc"
        | "ncat" | "telnet" | "openssl" | "lvs" | "pvs" | "vgs" | "ntpq" | "kubectx" | "kubens" | "hostname"
        | "tsh" => Assessment::read_only(format!("`{program}` reads")),
        "tail" => {
            let assessment = Assessment::read_only("`tail` reads");
            if has_flag(args, &["-f", "-F", "--follow"]) {
                assessment.long_running("`tail -f` follows until stopped")
            } else {
                assessment
            }
        }
        "journalctl" => {
            if args.iter().any(|a| a.starts_with("--vacuum") || *a == "--rotate") {
                return Assessment::new(Risk::Mutating, "`journalctl --vacuum` deletes old logs");
            }
            let assessment = Assessment::read_only("`journalctl` reads logs");
            if has_flag(args, &["-f", "--follow"]) {
                assessment.long_running("`journalctl -f` follows until stopped")
            } else {
                assessment
            }
        }
        "ping" => {
            let assessment = Assessment::read_only("`ping` reads");
            if has_flag(args, &["-c", "-w"]) || args.iter().any(|a| a.starts_with("-c")) {
                assessment
            } else {
                assessment.long_running("`ping` without `-c` runs until stopped")
            }
        }
        "tcpdump" | "strace" => {
            let assessment = Assessment::read_only(format!("`{program}` observes"));
            if has_flag(args, &["-c"]) {
                assessment
            } else {
                assessment.long_running(format!("`{program}` runs until stopped"))
            }
        }
        "top" | "htop" | "iotop" | "less" | "more" => Assessment::read_only(format!("`{program}` reads"))
            .interactive(format!("`{program}` is a full-screen program"))
            .long_running(format!("`{program}` runs until quit")),
        "vi" | "vim" | "nano" | "emacs" => Assessment::new(Risk::Mutating, format!("`{program}` edits files"))
            .interactive(format!("`{program}` is an editor")),
        "tmux" | "screen" => Assessment::read_only(format!("`{program}` opens a terminal multiplexer"))
            .interactive(format!("`{program}` needs a terminal")),
        "read" => Assessment::read_only("`read` reads typed input").interactive("`read` waits for typed input"),
        "cd" | "pushd" | "popd" | "export" | "set" | "unset" | "source" | "." | "local" | "declare" | "typeset"
        | "readonly" | "alias" | "unalias" | "shift" | "trap" | "ulimit" | "umask" | "shopt" | "hash" | "let"
        | "mapfile" | "readarray" | "getopts" | "wait" | "return" | "exit" | "break" | "continue" | "eval" => {
            Assessment::read_only("changes only the shell's own state")
        }
        "mktemp" => {
            Assessment::read_only("`mktemp` creates a new temporary file or folder; nothing that exists changes")
        }
        "kill" | "pkill" | "killall" => Assessment::new(Risk::Mutating, format!("`{program}` stops processes")),
        "reboot" | "shutdown" | "poweroff" | "halt" => {
            Assessment::new(Risk::Destructive, format!("`{program}` stops the machine"))
        }
        "mount" | "umount" if args.iter().all(|a| is_flag(a)) => {
            Assessment::read_only(format!("`{program}` lists mounts"))
        }
        "mv" | "cp" | "mkdir" | "rmdir" | "touch" | "chmod" | "chown" | "chgrp" | "ln" | "install" | "tee"
        | "rsync" | "scp" | "sftp" | "patch" | "tar" | "unzip" | "zip" | "gzip" | "gunzip" | "bzip2" | "bunzip2"
        | "mount" | "umount" | "swapoff" | "swapon" | "sysctl" | "iptables" | "useradd" | "usermod" | "chage"
        | "logrotate" | "apt" | "apt-get" | "yum" | "dnf" | "apk" | "pip" | "npm" | "make" | "chef-client" => {
            if program == "tar" && args.first().is_some_and(|a| a.trim_start_matches('-').starts_with('t')) {
                return Assessment::read_only("`tar -t` lists an archive");
            }
            if program == "sysctl" && !args.iter().any(|a| a.contains('=') || *a == "-w") {
                return Assessment::read_only("`sysctl` reads settings");
            }
            if program == "iptables" && has_flag(args, &["-L", "-S", "--list"]) {
                return Assessment::read_only("`iptables -L` lists rules");
            }
            Assessment::new(Risk::Mutating, format!("`{program}` changes files or system state"))
        }
        "crontab" => {
            if has_flag(args, &["-r"]) {
                Assessment::new(Risk::Destructive, "`crontab -r` removes the crontab")
            } else if has_flag(args, &["-e"]) {
                Assessment::new(Risk::Mutating, "`crontab -e` edits the crontab")
                    .interactive("`crontab -e` opens an editor")
            } else if has_flag(args, &["-l"]) {
                Assessment::read_only("`crontab -l` reads")
            } else {
                Assessment::new(Risk::Mutating, "`crontab` installs a crontab")
            }
        }
        "python" | "python3" | "node" | "ruby" | "irb" | "mongo" | "mongosh" => {
            if args.iter().any(|w| !is_flag(w)) || has_flag(args, &["-c", "-e", "--eval"]) {
                Assessment::new(Risk::Unknown, format!("`{program}` runs code opsbook cannot judge"))
            } else {
                Assessment::new(Risk::Unknown, format!("`{program}` opens a prompt"))
                    .repl(format!("`{program}` opens a prompt"))
            }
        }
        _ if super::shape::is_known_program(words[0]) || super::shape::is_known_program(program) => {
            by_verbs(program, args)
        }
        _ => Assessment::new(Risk::Unknown, format!("`{}` is not a program opsbook knows", words[0])),
    }
}

/// Verbs that decide a tool's risk when it has no table of its own (`ceph osd out`,
/// `patronictl switchover`, `wal-g backup-list`).
const DESTRUCTIVE_VERBS: &[&str] = &[
    "delete",
    "del",
    "destroy",
    "purge",
    "remove",
    "rm",
    "rmi",
    "drop",
    "truncate",
    "terminate",
    "wipe",
    "erase",
    "flush",
    "flushall",
    "flushdb",
    "prune",
    "uninstall",
    "unlink",
    "reinit",
    "evict",
    "drain",
    "revoke",
    "deregister",
    "format",
    "zap",
];
const MUTATING_VERBS: &[&str] = &[
    "create",
    "apply",
    "set",
    "unset",
    "update",
    "upgrade",
    "patch",
    "put",
    "push",
    "add",
    "restart",
    "reload",
    "start",
    "stop",
    "enable",
    "disable",
    "scale",
    "resize",
    "promote",
    "failover",
    "switchover",
    "restore",
    "rollback",
    "deploy",
    "install",
    "import",
    "write",
    "edit",
    "modify",
    "move",
    "mv",
    "cp",
    "copy",
    "rename",
    "reset",
    "reboot",
    "run",
    "pause",
    "resume",
    "sync",
    "repair",
    "tag",
    "label",
    "annotate",
    "cordon",
    "uncordon",
    "taint",
    "approve",
    "trigger",
    "retry",
    "replace",
    "mark",
    "in",
    "out",
    "up",
    "down",
    "archive",
    "reweight",
    "rotate",
    "renew",
    "seal",
    "unseal",
    "commit",
    "merge",
    "compact",
    "defrag",
    "backup",
    "fail",
    "kill",
    "send",
    "post",
    "publish",
    "assign",
    "grant",
    "attach",
    "detach",
    "mount",
    "umount",
    "init",
    "reconfigure",
    "scrub",
    "deep-scrub",
];
const READ_VERBS: &[&str] = &[
    "get",
    "list",
    "ls",
    "show",
    "describe",
    "status",
    "health",
    "info",
    "inspect",
    "view",
    "cat",
    "read",
    "check",
    "diff",
    "history",
    "logs",
    "log",
    "top",
    "version",
    "stat",
    "stats",
    "dump",
    "detail",
    "search",
    "find",
    "query",
    "explain",
    "lint",
    "validate",
    "verify",
    "whoami",
    "ping",
    "count",
    "current",
    "print",
    "tree",
    "df",
    "du",
    "audit",
    "report",
    "lookup",
    "quorum_status",
    "versions",
    "tail",
    "endpoint",
    "members",
    "perf",
    "ops",
    "df",
];

/// Verbs that run arbitrary code: whatever follows them, opsbook cannot judge.
const CODE_VERBS: &[&str] = &["runner", "exec", "eval", "script", "console", "shell", "ssh"];

enum Verb {
    Destructive,
    Mutating,
    Read,
    RunsCode,
}

/// A subcommand word's meaning; for compound words (`backup-list`, `backup-push`) the last
/// part is the verb.
fn verb_meaning(word: &str) -> Option<Verb> {
    let lower = word.to_ascii_lowercase();
    let mut parts: Vec<&str> = vec![lower.as_str()];
    if let Some((first, last)) =
        lower.split_once(['-', '_']).map(|(f, _)| (f, lower.rsplit(['-', '_']).next().unwrap_or(f)))
    {
        parts.push(last);
        parts.push(first);
    }
    let listing = ["ls", "list", "get", "show", "dump", "describe"].iter().any(|p| lower.starts_with(p));
    let found = parts.into_iter().find_map(|part| {
        if CODE_VERBS.contains(&part) {
            Some(Verb::RunsCode)
        } else if DESTRUCTIVE_VERBS.contains(&part) {
            Some(Verb::Destructive)
        } else if MUTATING_VERBS.contains(&part) {
            Some(Verb::Mutating)
        } else if READ_VERBS.contains(&part) {
            Some(Verb::Read)
        } else {
            None
        }
    });
    found.or(listing.then_some(Verb::Read))
}

/// The first of a tool's first three subcommand words that is a known verb decides.
fn by_verbs(program: &str, args: &[&str]) -> Assessment {
    let verbs: Vec<&str> = positional(args, &["-n", "-c", "--cluster", "--config", "--format", "-f", "--endpoints"])
        .into_iter()
        .take(3)
        .collect();
    // `ceph -s`, `tool --version`: a read-only flag alone.
    if verbs.is_empty() && args.iter().any(|a| matches!(*a, "-s" | "--status" | "--version" | "-v" | "--help" | "-h")) {
        return Assessment::read_only(format!("`{program} {}` reads", args.join(" ")));
    }
    let decided = verbs.iter().find_map(|verb| {
        let named = format!("`{program} {verb}`");
        Some(match verb_meaning(verb)? {
            Verb::Destructive => Assessment::new(Risk::Destructive, format!("{named} destroys or removes")),
            Verb::Mutating => Assessment::new(Risk::Mutating, format!("{named} changes state")),
            Verb::Read => Assessment::read_only(format!("{named} reads")),
            Verb::RunsCode => Assessment::new(Risk::Unknown, format!("{named} runs code opsbook cannot judge")),
        })
    });
    let mut assessment = decided.unwrap_or_else(|| {
        let shown = verbs.first().map_or(program.to_owned(), |verb| format!("{program} {verb}"));
        Assessment::new(Risk::Unknown, format!("no rule for `{shown}`"))
    });
    if verbs.contains(&"watch") {
        assessment = assessment.long_running(format!("`{program} watch` runs until stopped"));
    }
    assessment
}

fn kube(program: &str, words: &[&str], depth: usize) -> Assessment {
    let args = &words[1..];
    let position = positional(args, KUBE_VALUE_FLAGS);
    let Some(verb) = position.first().copied() else {
        return Assessment::new(Risk::Unknown, format!("`{program}` with no command"));
    };
    let sub = position.get(1).copied().unwrap_or("");
    let named = |effect: &str| format!("`{program} {verb}` {effect}");
    let mut assessment = match verb {
        "get" | "describe" | "explain" | "version" | "cluster-info" | "api-resources" | "api-versions" | "diff"
        | "wait" | "events" | "whoami" | "status" | "top" | "can-i" | "observe" | "extract" | "idle" => {
            Assessment::read_only(named("reads"))
        }
        "logs" | "log" => Assessment::read_only(named("reads logs")),
        "auth" => Assessment::read_only(named("checks permissions")),
        "config" | "project" | "projects" | "login" | "logout" | "whoami-token" => match sub {
            "view" | "get-contexts" | "current-context" | "get-clusters" | "" => {
                Assessment::read_only(named("reads the local configuration"))
            }
            _ => Assessment::read_only(named("changes only the local kubeconfig, not the cluster")),
        },
        "rollout" => match sub {
            "history" | "status" => Assessment::read_only(format!("`{program} rollout {sub}` reads")),
            "restart" => Assessment::new(Risk::Mutating, format!("`{program} rollout restart` restarts pods")),
            "undo" => Assessment::new(Risk::Mutating, format!("`{program} rollout undo` rolls back a deployment")),
            _ => Assessment::new(Risk::Mutating, format!("`{program} rollout {sub}` changes a rollout")),
        },
        "delete" => Assessment::new(Risk::Destructive, named("deletes resources")),
        "drain" => Assessment::new(Risk::Destructive, named("evicts every pod from a node")),
        "scale" => Assessment::new(Risk::Mutating, named("changes replica counts")),
        "patch" | "apply" | "create" | "replace" | "set" | "label" | "annotate" | "expose" | "autoscale" | "taint"
        | "cordon" | "uncordon" | "cp" | "run" | "rsync" | "new-app" | "start-build" | "import-image" | "tag"
        | "certificate" | "process" => Assessment::new(Risk::Mutating, named("changes the cluster")),
        "edit" => Assessment::new(Risk::Mutating, named("changes the cluster")).interactive(named("opens an editor")),
        "port-forward" | "proxy" => {
            Assessment::read_only(named("opens a local tunnel")).long_running(named("runs until stopped"))
        }
        "attach" => Assessment::read_only(named("attaches to a container")).interactive(named("attaches a terminal")),
        "debug" if !words.contains(&"--") => Assessment::new(Risk::Mutating, named("starts a debug pod"))
            .interactive(named("opens a shell in a debug pod; the commands after it run there")),
        "exec" | "rsh" => {
            let after_dashes = words.iter().position(|w| *w == "--").map(|i| i + 1);
            let command_start = after_dashes.or_else(|| {
                // `oc rsh POD cmd…`: the command follows the pod.
                (verb == "rsh").then(|| {
                    let pod_index = words.iter().position(|w| *w == position.get(1).copied().unwrap_or("\u{0}"));
                    pod_index.map(|i| i + 1)
                })?
            });
            match command_start.filter(|i| *i < words.len()) {
                Some(start) if depth < 6 => {
                    let mut inner = assess_words(&words[start..], depth + 1);
                    if verb == "exec" && tty_interactive(args) && inner.interactive.is_none() {
                        inner.interactive = Some(named("-it attaches a terminal"));
                    }
                    inner
                }
                _ => Assessment::new(Risk::Unknown, named("opens a shell in a container"))
                    .interactive(named("opens a shell in a container; the commands after it run there")),
            }
        }
        "adm" => match sub {
            "upgrade" if position.len() == 2 => {
                Assessment::read_only(format!("`{program} adm upgrade` shows the upgrade status"))
            }
            "must-gather" | "inspect" | "top" | "node-logs" | "release" => {
                Assessment::read_only(format!("`{program} adm {sub}` collects diagnostics"))
            }
            "drain" => {
                Assessment::new(Risk::Destructive, format!("`{program} adm drain` evicts every pod from a node"))
            }
            _ => Assessment::new(Risk::Mutating, format!("`{program} adm {sub}` changes the cluster")),
        },
        _ => by_verbs(program, &args.iter().copied().filter(|w| *w != verb).collect::<Vec<_>>())
            .with_unknown_reason(format!("no rule for `{program} {verb}`")),
    };
    if tty_interactive(args) && assessment.interactive.is_none() {
        assessment.interactive = Some(format!("`{program} {verb} -it` attaches a terminal"));
    }
    let follows = matches!(verb, "logs" | "log") && has_flag(args, &["-f", "--follow"]);
    let watches = verb == "get" && has_flag(args, &["-w", "--watch", "--watch-only"]);
    if follows || watches {
        assessment = assessment
            .long_running(format!("`{program} {verb} {}` follows until stopped", if follows { "-f" } else { "-w" }));
    }
    assessment
}

impl Assessment {
    fn with_unknown_reason(mut self, reason: String) -> Self {
        if self.risk == Risk::Unknown {
            self.reason = reason;
        }
        self
    }
}

fn sql_client(program: &str, args: &[&str]) -> Assessment {
    let mut i = 0;
    while i < args.len() {
        let arg = args[i];
        let inline = ["--command=", "--execute="].iter().find_map(|p| arg.strip_prefix(p));
        if let Some(sql) = inline {
            return sql_risk(program, sql);
        }
        if matches!(arg, "-c" | "--command" | "-e" | "--execute") {
            return match args.get(i + 1) {
                Some(sql) => sql_risk(program, sql),
                None => Assessment::new(Risk::Unknown, format!("`{program} {arg}` without SQL")),
            };
        }
        if matches!(arg, "-f" | "--file") || arg.starts_with("--file=") {
            return Assessment::new(Risk::Unknown, format!("`{program} -f` runs SQL from a file"));
        }
        i += 1;
    }
    if program == "sqlite3" && args.iter().filter(|a| !is_flag(a)).count() >= 2 {
        let sql = args.iter().filter(|a| !is_flag(a)).nth(1).copied().unwrap_or("");
        return sql_risk(program, sql);
    }
    Assessment::new(Risk::Unknown, format!("`{program}` opens an SQL prompt"))
        .repl(format!("`{program}` with no `-c` opens an interactive prompt"))
}

/// Risk of SQL text: the riskiest statement decides.
pub(crate) fn sql_risk(program: &str, sql: &str) -> Assessment {
    let upper = sql.to_ascii_uppercase();
    if upper.contains("PG_TERMINATE_BACKEND") {
        return Assessment::new(Risk::Destructive, "SQL `pg_terminate_backend` kills database connections");
    }
    let mut assessment: Option<Assessment> = None;
    for statement in upper.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let keyword = statement.split_whitespace().next().unwrap_or("");
        let part = match keyword {
            "SELECT" | "SHOW" | "EXPLAIN" | "WITH" | "TABLE" | "VALUES" | "DESCRIBE" | "DESC" | "\\D" | "\\L"
            | "\\DT" | "\\X" | "PRAGMA" => {
                if upper.contains("PG_CANCEL_BACKEND") {
                    Assessment::new(Risk::Mutating, "SQL `pg_cancel_backend` cancels running queries")
                } else if keyword == "WITH" && ["INSERT", "UPDATE", "DELETE"].iter().any(|k| statement.contains(k)) {
                    Assessment::new(Risk::Mutating, "SQL `WITH … INSERT/UPDATE/DELETE` writes")
                } else {
                    Assessment::read_only(format!("SQL `{keyword}` reads"))
                }
            }
            "DELETE" | "DROP" | "TRUNCATE" => {
                Assessment::new(Risk::Destructive, format!("SQL `{keyword}` removes data"))
            }
            "INSERT" | "UPDATE" | "MERGE" | "COPY" | "ALTER" | "CREATE" | "GRANT" | "REVOKE" | "SET" | "VACUUM"
            | "ANALYZE" | "REINDEX" | "CLUSTER" | "CHECKPOINT" | "LOCK" | "COMMENT" | "REFRESH" | "CALL" | "DO"
            | "RESET" | "KILL" | "RELOAD" | "PAUSE" | "RESUME" => {
                Assessment::new(Risk::Mutating, format!("SQL `{keyword}` changes the database"))
            }
            _ => Assessment::new(Risk::Unknown, format!("`{program}` runs SQL opsbook cannot judge")),
        };
        match &mut assessment {
            None => assessment = Some(part),
            Some(total) => total.merge(part),
        }
    }
    assessment.unwrap_or_else(|| Assessment::new(Risk::Unknown, format!("`{program}` with empty SQL")))
}

fn redis(args: &[&str]) -> Assessment {
    let value_flags =
        ["-h", "-p", "-a", "-n", "-u", "-s", "--user", "--pass", "--cacert", "--cert", "--key", "-i", "-r", "--sni"];
    if has_flag(args, &["--stat", "--latency", "--latency-history", "--monitor"]) {
        return Assessment::read_only("`redis-cli --stat` observes")
            .long_running("`redis-cli --stat` runs until stopped");
    }
    if has_flag(args, &["--bigkeys", "--memkeys", "--scan", "--hotkeys"]) {
        return Assessment::read_only("`redis-cli --scan` reads keys");
    }
    let position = positional(args, &value_flags);
    let Some(command) = position.first() else {
        return Assessment::new(Risk::Unknown, "`redis-cli` opens a prompt")
            .repl("`redis-cli` with no command opens an interactive prompt");
    };
    let upper = command.to_ascii_uppercase();
    let sub = position.get(1).map(|s| s.to_ascii_uppercase()).unwrap_or_default();
    let named = format!("`redis-cli {upper}`");
    match upper.as_str() {
        "DEL" | "UNLINK" | "FLUSHALL" | "FLUSHDB" | "SHUTDOWN" => {
            Assessment::new(Risk::Destructive, format!("{named} deletes data"))
        }
        "MONITOR" | "SUBSCRIBE" | "PSUBSCRIBE" => {
            Assessment::read_only(format!("{named} observes")).long_running(format!("{named} runs until stopped"))
        }
        "CONFIG" | "SLOWLOG" | "CLIENT" | "ACL" | "CLUSTER" | "MEMORY" | "LATENCY" | "OBJECT" | "XINFO" | "PUBSUB"
        | "COMMAND" | "SCRIPT" | "FUNCTION" | "MODULE"
            if matches!(
                sub.as_str(),
                "GET"
                    | "LEN"
                    | "LIST"
                    | "INFO"
                    | "NODES"
                    | "SLOTS"
                    | "USAGE"
                    | "STATS"
                    | "DOCTOR"
                    | "LATEST"
                    | "HISTORY"
                    | "ENCODING"
                    | "FREQ"
                    | "IDLETIME"
                    | "STREAM"
                    | "GROUPS"
                    | "CONSUMERS"
                    | "CHANNELS"
                    | "NUMSUB"
                    | "COUNT"
                    | "WHOAMI"
                    | "USERS"
                    | "GETNAME"
                    | "ID"
                    | "SHARDS"
                    | "MYID"
                    | "EXISTS"
            ) =>
        {
            Assessment::read_only(format!("`redis-cli {upper} {sub}` reads"))
        }
        "GET" | "MGET" | "LLEN" | "LRANGE" | "LINDEX" | "HGET" | "HMGET" | "HGETALL" | "HLEN" | "HKEYS" | "HVALS"
        | "HEXISTS" | "SCARD" | "SMEMBERS" | "SISMEMBER" | "ZCARD" | "ZRANGE" | "ZRANGEBYSCORE" | "ZSCORE"
        | "ZCOUNT" | "ZREVRANGE" | "KEYS" | "SCAN" | "SSCAN" | "HSCAN" | "ZSCAN" | "INFO" | "PING" | "TTL" | "PTTL"
        | "TYPE" | "EXISTS" | "STRLEN" | "DBSIZE" | "ROLE" | "TIME" | "XLEN" | "XRANGE" | "XREVRANGE" | "XPENDING"
        | "GETRANGE" | "BITCOUNT" | "PFCOUNT" | "LASTSAVE" | "ECHO" | "DEBUG" => {
            Assessment::read_only(format!("{named} reads"))
        }
        _ => Assessment::new(Risk::Mutating, format!("{named} writes")),
    }
}

fn aws(args: &[&str]) -> Assessment {
    let position = positional(args, &["--region", "--profile", "--output", "--endpoint-url", "--query", "--color"]);
    let (Some(service), Some(operation)) = (position.first(), position.get(1)) else {
        return Assessment::new(Risk::Unknown, "`aws` with no operation");
    };
    let named = format!("`aws {service} {operation}`");
    if *service == "s3" {
        return match *operation {
            "ls" | "presign" => Assessment::read_only(format!("{named} reads")),
            "rm" | "rb" => Assessment::new(Risk::Destructive, format!("{named} deletes objects")),
            _ => Assessment::new(Risk::Mutating, format!("{named} writes objects")),
        };
    }
    let verb = operation.split('-').next().unwrap_or(operation);
    match verb {
        "describe" | "list" | "get" | "head" | "lookup" | "search" | "filter" | "query" | "scan" | "wait" | "help" => {
            Assessment::read_only(format!("{named} reads"))
        }
        "delete" | "terminate" | "remove" | "deregister" | "purge" | "deprovision" | "disassociate" | "detach" => {
            Assessment::new(Risk::Destructive, format!("{named} deletes AWS resources"))
        }
        _ => Assessment::new(Risk::Mutating, format!("{named} changes AWS resources")),
    }
}

fn cloud_cli(program: &str, args: &[&str]) -> Assessment {
    let position = positional(
        args,
        &[
            "--project",
            "--zone",
            "--region",
            "--format",
            "--filter",
            "-g",
            "--resource-group",
            "--subscription",
            "-o",
            "--output",
            "--query",
        ],
    );
    for (index, word) in position.iter().enumerate() {
        let verb = word.split('-').next().unwrap_or(word);
        let named = || format!("`{program} {}`", position[..=index].join(" "));
        match verb {
            "list" | "describe" | "show" | "get" | "ls" | "cat" | "read" | "tail" => {
                return Assessment::read_only(format!("{} reads", named()));
            }
            "delete" | "remove" | "rm" | "purge" | "destroy" => {
                return Assessment::new(Risk::Destructive, format!("{} deletes cloud resources", named()));
            }
            "create" | "update" | "set" | "add" | "start" | "stop" | "restart" | "reset" | "resize" | "deploy"
            | "promote" | "failover" | "patch" | "import" | "export" | "cp" | "mv" | "scale" | "enable" | "disable"
            | "apply" | "attach" | "detach" | "move" => {
                return Assessment::new(Risk::Mutating, format!("{} changes cloud resources", named()));
            }
            _ => {}
        }
    }
    Assessment::new(Risk::Unknown, format!("no rule for `{program} {}`", position.join(" ")))
}

fn docker(program: &str, words: &[&str], depth: usize) -> Assessment {
    let args = &words[1..];
    let position = positional(args, &["-H", "--host", "--context", "-c", "--config", "--log-level"]);
    let Some(verb) = position.first().copied() else {
        return Assessment::new(Risk::Unknown, format!("`{program}` with no command"));
    };
    if verb == "compose" {
        let after = args.iter().position(|w| *w == "compose").map_or(args, |i| &args[i + 1..]);
        return compose(&format!("{program} compose"), after);
    }
    if verb == "machine" {
        return by_verbs("docker machine", &position[1..]);
    }
    let named = |effect: &str| format!("`{program} {verb}` {effect}");
    match verb {
        "ps" | "images" | "inspect" | "version" | "info" | "diff" | "history" | "port" | "search" => {
            Assessment::read_only(named("reads"))
        }
        "logs" => {
            let assessment = Assessment::read_only(named("reads logs"));
            if has_flag(args, &["-f", "--follow"]) {
                assessment.long_running(named("-f follows until stopped"))
            } else {
                assessment
            }
        }
        "stats" | "events" | "top" => {
            let assessment = Assessment::read_only(named("observes"));
            if has_flag(args, &["--no-stream"]) || verb == "top" {
                assessment
            } else {
                assessment.long_running(named("runs until stopped"))
            }
        }
        "rm" | "rmi" | "prune" | "kill" => Assessment::new(Risk::Destructive, named("removes containers or data")),
        "system" | "volume" | "network" | "image" | "container" => {
            by_verbs(&format!("{program} {verb}"), &position[1..])
        }
        "exec" => {
            let mut i = 1;
            // Past the options and the container name.
            while i < words.len() && words[i] != "exec" {
                i += 1;
            }
            i += 1;
            while i < words.len() && is_flag(words[i]) {
                if matches!(words[i], "-e" | "--env" | "-u" | "--user" | "-w" | "--workdir") {
                    i += 1;
                }
                i += 1;
            }
            let mut inner = if i + 1 < words.len() && depth < 6 {
                assess_words(&words[i + 1..], depth + 1)
            } else {
                Assessment::new(Risk::Unknown, named("runs a command in a container"))
            };
            if tty_interactive(args) && inner.interactive.is_none() {
                inner.interactive = Some(named("-it attaches a terminal"));
            }
            inner
        }
        "attach" => Assessment::read_only(named("attaches")).interactive(named("attaches a terminal")),
        _ => {
            let mut assessment = Assessment::new(Risk::Mutating, named("changes containers or images"));
            if tty_interactive(args) {
                assessment = assessment.interactive(named("-it attaches a terminal"));
            }
            assessment
        }
    }
}

fn compose(program: &str, args: &[&str]) -> Assessment {
    let position =
        positional(args, &["-f", "--file", "-p", "--project-name", "--env-file", "--profile", "--project-directory"]);
    let Some(verb) = position.first().copied() else {
        return Assessment::new(Risk::Unknown, format!("`{program}` with no command"));
    };
    let named = |effect: &str| format!("`{program} {verb}` {effect}");
    match verb {
        "ps" | "config" | "top" | "images" | "ls" | "version" | "port" => Assessment::read_only(named("reads")),
        "logs" | "events" => {
            let assessment = Assessment::read_only(named("reads logs"));
            if has_flag(args, &["-f", "--follow"]) || verb == "events" {
                assessment.long_running(named("follows until stopped"))
            } else {
                assessment
            }
        }
        "down" | "rm" | "kill" => Assessment::new(Risk::Destructive, named("removes containers")),
        _ => Assessment::new(Risk::Mutating, named("changes running services")),
    }
}

fn alembic(args: &[&str]) -> Assessment {
    let position = positional(args, &["-c", "--config", "-n", "--name", "-x"]);
    let verb = position.first().copied().unwrap_or("");
    match verb {
        "current" | "history" | "heads" | "branches" | "show" | "check" => {
            Assessment::read_only(format!("`alembic {verb}` reads"))
        }
        "downgrade" => Assessment::new(Risk::Destructive, "`alembic downgrade` reverts schema migrations"),
        "" => Assessment::new(Risk::Unknown, "`alembic` with no command"),
        _ => Assessment::new(Risk::Mutating, format!("`alembic {verb}` changes the schema")),
    }
}

fn systemctl(args: &[&str]) -> Assessment {
    let position = positional(
        args,
        &["-H", "--host", "-M", "--machine", "-p", "--property", "-n", "--lines", "-t", "--type", "--state"],
    );
    let verb = position.first().copied().unwrap_or("status");
    match verb {
        "status" | "show" | "cat" | "is-active" | "is-enabled" | "is-failed" | "is-system-running" | "list-units"
        | "list-unit-files" | "list-timers" | "list-sockets" | "list-dependencies" | "list-jobs" | "help" => {
            Assessment::read_only(format!("`systemctl {verb}` reads"))
        }
        "reboot" | "poweroff" | "halt" | "kexec" => {
            Assessment::new(Risk::Destructive, format!("`systemctl {verb}` stops the machine"))
        }
        _ => Assessment::new(Risk::Mutating, format!("`systemctl {verb}` changes services")),
    }
}

fn curl(args: &[&str]) -> Assessment {
    let mut method: Option<String> = None;
    let mut sends_data = false;
    for (index, arg) in args.iter().enumerate() {
        if let Some(value) = arg.strip_prefix("--request=") {
            method = Some(value.to_ascii_uppercase());
        } else if matches!(*arg, "-X" | "--request") {
            method = args.get(index + 1).map(|m| m.to_ascii_uppercase());
        } else if let Some(value) = arg.strip_prefix("-X").filter(|v| !v.is_empty()) {
            method = Some(value.to_ascii_uppercase());
        } else if matches!(*arg, "-d" | "-F" | "-T" | "--json" | "--form" | "--upload-file")
            || arg.starts_with("--data")
            || (arg.starts_with("-d") && !arg.starts_with("--"))
        {
            sends_data = true;
        }
    }
    let method = method.unwrap_or_else(|| if sends_data { "POST".to_owned() } else { "GET".to_owned() });
    match method.as_str() {
        "GET" | "HEAD" | "OPTIONS" => Assessment::read_only(format!("`curl` {method} request")),
        "DELETE" => Assessment::new(Risk::Destructive, "`curl` DELETE request"),
        _ => Assessment::new(Risk::Mutating, format!("`curl` {method} request")),
    }
}

fn git(args: &[&str]) -> Assessment {
    let position = positional(args, &["-C", "-c", "--git-dir", "--work-tree"]);
    let verb = position.first().copied().unwrap_or("");
    match verb {
        "status" | "log" | "diff" | "show" | "rev-parse" | "blame" | "grep" | "ls-files" | "describe" | "shortlog"
        | "fetch" | "remote" | "branch" | "reflog" | "config"
            if !args.contains(&"-D") =>
        {
            Assessment::read_only(format!("`git {verb}` reads"))
        }
        "push" if has_flag(args, &["-f", "--force", "--force-with-lease", "--delete", "-d"]) => {
            Assessment::new(Risk::Destructive, "`git push --force` rewrites remote history")
        }
        "reset" if has_flag(args, &["--hard"]) => {
            Assessment::new(Risk::Destructive, "`git reset --hard` discards changes")
        }
        "clean" => Assessment::new(Risk::Destructive, "`git clean` deletes untracked files"),
        "" => Assessment::new(Risk::Unknown, "`git` with no command"),
        _ => Assessment::new(Risk::Mutating, format!("`git {verb}` changes the repository")),
    }
}

fn helm(args: &[&str]) -> Assessment {
    let position = positional(args, &["-n", "--namespace", "--kube-context", "--kubeconfig", "-o", "--output"]);
    let verb = position.first().copied().unwrap_or("");
    match verb {
        "list" | "ls" | "status" | "get" | "history" | "hist" | "show" | "search" | "template" | "lint" | "version"
        | "env" | "verify" | "diff" => Assessment::read_only(format!("`helm {verb}` reads")),
        "uninstall" | "delete" | "del" | "un" => {
            Assessment::new(Risk::Destructive, format!("`helm {verb}` removes a release"))
        }
        "repo" if position.get(1) == Some(&"list") => Assessment::read_only("`helm repo list` reads"),
        "" => Assessment::new(Risk::Unknown, "`helm` with no command"),
        _ => Assessment::new(Risk::Mutating, format!("`helm {verb}` changes releases")),
    }
}

fn terraform(program: &str, args: &[&str]) -> Assessment {
    let position = positional(args, &["-chdir"]);
    let verb = position.first().copied().unwrap_or("");
    let sub = position.get(1).copied().unwrap_or("");
    match (verb, sub) {
        ("plan" | "show" | "output" | "validate" | "providers" | "version" | "graph" | "fmt", _)
        | ("state", "list" | "show" | "pull") => Assessment::read_only(format!("`{program} {verb}` reads")),
        ("destroy", _) | ("state", "rm") => {
            Assessment::new(Risk::Destructive, format!("`{program} {verb}` destroys infrastructure"))
        }
        ("", _) => Assessment::new(Risk::Unknown, format!("`{program}` with no command")),
        _ => Assessment::new(Risk::Mutating, format!("`{program} {verb}` changes infrastructure")),
    }
}

fn ssh(words: &[&str], depth: usize) -> Assessment {
    let value_flags =
        ["-i", "-p", "-l", "-o", "-F", "-J", "-L", "-R", "-D", "-W", "-b", "-c", "-E", "-m", "-O", "-Q", "-S", "-w"];
    let mut i = 1;
    while i < words.len() && is_flag(words[i]) {
        if value_flags.contains(&words[i]) {
            i += 1;
        }
        i += 1;
    }
    // words[i] is the host.
    let mut command_start = i + 1;
    if words.get(command_start) == Some(&"--") {
        command_start += 1;
    }
    if command_start >= words.len() || depth >= 6 {
        return Assessment::read_only("`ssh` opens a remote shell")
            .interactive("`ssh` with no command opens a shell on another host; the commands after it run there");
    }
    if command_start + 1 == words.len() {
        // `ssh host -- 'sudo crontab -l'`: the remote command is one quoted string.
        let lexed = shell::lex(words[command_start]);
        if lexed.tokens.iter().filter(|t| t.kind == Kind::Word).count() > 1 {
            return assess_tokens(&lexed.tokens, depth + 1);
        }
    }
    assess_words(&words[command_start..], depth + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_and_conditionals_are_judged_by_their_bodies() {
        let judge = |text: &str| assess(&shell::lex(text).tokens, &[], text).risk;
        assert_eq!(judge("for i in 1 2 3; do echo \"line $i\"; sleep 0.2; done"), Risk::ReadOnly);
        assert_eq!(judge("while true; do kubectl get pods; done"), Risk::ReadOnly);
        assert_eq!(judge("if true; then rm -rf /tmp/x; fi"), Risk::Destructive);
        assert_eq!(judge("for p in a b; do kubectl delete pod $p; done"), Risk::Destructive);
    }

    fn risk_of(text: &str) -> (Risk, String) {
        let lexed = shell::lex(text);
        let assessment = assess(&lexed.tokens, &[], text);
        (assessment.risk, assessment.reason)
    }

    #[test]
    fn risk_table() {
        let cases: &[(&str, Risk)] = &[
            ("kubectl get pods -n aragora", Risk::ReadOnly),
            ("kubectl -n x describe pod <pod-name>", Risk::ReadOnly),
            ("kubectl logs -f deployment/aragora-api -n aragora --tail=100", Risk::ReadOnly),
            ("kubectl rollout restart deployment/aragora-api -n aragora", Risk::Mutating),
            ("kubectl rollout history deployment/aragora-api -n aragora", Risk::ReadOnly),
            ("kubectl scale deployment/aragora-worker -n aragora --replicas=20", Risk::Mutating),
            ("kubectl patch deployment x -p '{}'", Risk::Mutating),
            ("kubectl delete pod x --force --grace-period=0", Risk::Destructive),
            ("oc adm drain node1", Risk::Destructive),
            ("oc adm must-gather -- /usr/bin/gather_audit_logs", Risk::ReadOnly),
            ("kubectl exec -it postgresql-0 -n aragora -- pg_isready", Risk::ReadOnly),
            (
                "kubectl exec -it postgresql-0 -n aragora -- psql -U postgres -c \"SELECT pg_terminate_backend(pid) FROM pg_stat_activity;\"",
                Risk::Destructive,
            ),
            ("kubectl exec -it p -- psql -U postgres -c \"SELECT count(*) FROM pg_stat_activity;\"", Risk::ReadOnly),
            ("kubectl exec -it deployment/x -- redis-cli -h redis.aragora ping", Risk::ReadOnly),
            ("kubectl exec -it deployment/x -- python -c \"print(1)\"", Risk::Unknown),
            ("redis-cli -h redis.aragora LLEN aragora:queue:default", Risk::ReadOnly),
            ("redis-cli -h redis.aragora DEL aragora:queue:stuck", Risk::Destructive),
            ("redis-cli CONFIG SET maxmemory 1gb", Risk::Mutating),
            ("redis-cli SLOWLOG GET 10", Risk::ReadOnly),
            ("aws rds promote-read-replica --db-instance-identifier aragora-replica", Risk::Mutating),
            ("aws ec2 describe-instances --region eu-west-1", Risk::ReadOnly),
            ("aws ec2 terminate-instances --instance-ids i-1", Risk::Destructive),
            ("docker compose pull aragora-api:previous", Risk::Mutating),
            ("docker compose up -d", Risk::Mutating),
            ("docker compose down -v", Risk::Destructive),
            ("docker compose ps", Risk::ReadOnly),
            ("alembic downgrade -1", Risk::Destructive),
            ("alembic current", Risk::ReadOnly),
            ("systemctl restart nginx", Risk::Mutating),
            ("systemctl status nginx", Risk::ReadOnly),
            ("curl http://aragora.company.com/health", Risk::ReadOnly),
            ("curl -I https://api.openai.com/v1/models", Risk::ReadOnly),
            ("curl -X POST https://status/api -H 'a: b' -d '{}'", Risk::Mutating),
            ("curl -d x https://a", Risk::Mutating),
            ("curl -XDELETE https://a/b", Risk::Destructive),
            ("rm -rf /tmp/x", Risk::Destructive),
            ("kubectl set env deployment/aragora-api CACHE_QUERIES=true", Risk::Mutating),
            ("pg_isready", Risk::ReadOnly),
            ("kubectl logs deployment/x | grep -i error | tail -50", Risk::ReadOnly),
            ("pytest tests/smoke/ -v", Risk::Unknown),
            ("ceph osd out 3", Risk::Mutating),
            ("ceph status", Risk::ReadOnly),
            ("ceph osd purge 3 --yes-i-really-mean-it", Risk::Destructive),
            ("etcdctl endpoint status -w table", Risk::ReadOnly),
            ("patronictl list", Risk::ReadOnly),
            ("patronictl switchover", Risk::Mutating),
            ("wal-g backup-list", Risk::ReadOnly),
            ("ceph daemon mds.x dump_ops_in_flight", Risk::ReadOnly),
            ("ceph -s", Risk::ReadOnly),
            ("ceph osd lspools", Risk::ReadOnly),
            ("mount | grep rbd", Risk::ReadOnly),
            ("oc adm upgrade", Risk::ReadOnly),
            ("wal-g backup-push /data", Risk::Mutating),
            ("sudo gitlab-rails runner /tmp/sq.rb show", Risk::Unknown),
            ("ceph osd pool delete p p --yes-i-really-really-mean-it", Risk::Destructive),
            ("export NS=openshift-monitoring", Risk::ReadOnly),
            ("NS=x", Risk::ReadOnly),
            ("echo $(kubectl delete pod x)", Risk::Destructive),
            ("sudo systemctl restart x", Risk::Mutating),
            ("ssh host -- 'sudo -u gitlab-psql crontab -l'", Risk::ReadOnly),
            ("psql -U postgres -c 'DROP TABLE x'", Risk::Destructive),
            ("git push --force", Risk::Destructive),
            ("helm rollback api 3", Risk::Mutating),
            ("terraform destroy", Risk::Destructive),
            ("/incident create \"Brief description\"", Risk::Unknown),
        ];
        for (text, expected) in cases {
            let (risk, reason) = risk_of(text);
            assert_eq!(risk, *expected, "for {text:?} ({reason})");
        }
    }

    #[test]
    fn reasons_name_the_rule() {
        assert_eq!(risk_of("kubectl rollout restart deployment/a").1, "`kubectl rollout restart` restarts pods");
        assert_eq!(
            risk_of("kubectl exec -it p -- psql -c \"SELECT pg_terminate_backend(pid) FROM x\"").1,
            "SQL `pg_terminate_backend` kills database connections"
        );
    }

    fn flags(text: &str) -> (Option<String>, Option<String>, bool) {
        let lexed = shell::lex(text);
        let a = assess(&lexed.tokens, &[], text);
        (a.long_running, a.interactive, a.opens_repl)
    }

    #[test]
    fn long_running_and_interactive() {
        assert!(flags("kubectl logs -f deployment/a").0.is_some());
        assert!(flags("tail -f /var/log/syslog").0.is_some());
        assert!(flags("watch kubectl get pods").0.is_some());
        assert!(flags("kubectl get pods -w").0.is_some());
        assert!(flags("ping -c 3 host").0.is_none());
        assert!(flags("kubectl exec -it deployment/a -- python -c 'x'").1.is_some());
        assert!(flags("kubectl edit deploy/a").1.is_some());
        assert!(flags("oc rsh etcd-0").1.is_some());
        assert!(flags("sudo su").1.is_some());
        assert!(flags("ssh host").1.is_some());
        assert!(flags("read -p 'go on?' answer").1.is_some());
        let (_, interactive, repl) = flags("psql -U postgres");
        assert!(interactive.is_some() && repl);
        assert!(flags("redis-cli -h x").2);
        assert!(!flags("redis-cli -h x ping").2);
        assert!(flags("kubectl get pods").1.is_none());
    }

    #[test]
    fn extra_rules_come_first() {
        let rules =
            vec![(regex::Regex::new("^deploy-tool promote").unwrap(), Risk::Destructive, "promotes".to_owned())];
        let text = "deploy-tool promote x";
        let lexed = shell::lex(text);
        let a = assess(&lexed.tokens, &rules, text);
        assert_eq!((a.risk, a.reason.as_str()), (Risk::Destructive, "promotes"));
    }
}
