//! One code block's text -> its commands, or the finding that it holds no shell.
//!
//! Two modes. When any line carries a shell prompt (`$ `, `user@host:~$ `, `[root@h ~]# `), only
//! prompted lines and their continuations are commands; other lines are the expected output of
//! the command above them, and lines behind another interpreter's prompt (`db=# `,
//! `127.0.0.1:6379> `) are never shell. Otherwise the whole block is a script, split by the shell
//! lexer; each command is classified by `shape`, and lines that do not read as shell are set
//! aside. A comment line titles the commands under it. After a command that opens another
//! interpreter's prompt (bare `psql`, `redis-cli`), the remaining lines are that prompt's input.

use std::sync::LazyLock;

use regex::Regex;

use super::placeholder;
use super::risk::{self, Assessment};
use super::shape::{self, Shape};
use super::shell::{self, Kind, Lexed, Open};
use crate::model::Risk;

/// How the block was tagged, as far as the step decision goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tag {
    /// `bash`, `sh`, `shell`, `zsh`, `console`, …: content decides, leniently.
    Shell,
    /// No tag, or a tag that names no language (a typo like `shel`): content decides, strictly.
    Untagged,
    /// `text`, `plaintext`: as untagged, and an assignment alone (`key=value` in a log line)
    /// is not enough: a known program must run.
    Plain,
}

/// A command found in a block.
#[derive(Debug, Clone)]
pub(crate) struct FoundCommand {
    pub text: String,
    pub title: Option<String>,
    /// For each line of `text`: the block line index and the byte column where it starts.
    pub lines: Vec<(usize, usize)>,
    pub shape: Shape,
    pub assessment: Assessment,
    pub expected_output: Option<String>,
    pub lexed: Lexed,
    /// The aliases (by name) the command uses in command position.
    pub aliases: Vec<String>,
}

impl FoundCommand {
    /// Block line index and byte column of a byte offset into `text`.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count();
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let (block_line, col) = self.lines.get(line).copied().unwrap_or((0, 0));
        (block_line, col + (offset - line_start))
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Analysis {
    pub commands: Vec<FoundCommand>,
    pub prompted: bool,
    /// (block line index, text) of lines that are not shell.
    pub not_shell: Vec<(usize, String)>,
}

impl Analysis {
    /// Whether the block is a step: it has commands, and (untagged) reads clearly as shell.
    pub fn is_step(&self, tag: Tag) -> bool {
        if self.commands.is_empty() {
            return false;
        }
        match tag {
            // A shell tag gives the benefit of the doubt to commands opsbook does not know
            // (`/incident create`), unless other lines show the block is something else
            // (PromQL's `or` on a line of its own).
            Tag::Shell => self.not_shell.is_empty() || self.commands.iter().any(|c| c.shape == Shape::Known),
            Tag::Untagged | Tag::Plain if self.prompted => true,
            Tag::Untagged => self.not_shell.is_empty() && self.commands.iter().any(|c| c.shape == Shape::Known),
            Tag::Plain => {
                let runs_a_program =
                    |c: &FoundCommand| c.lexed.tokens.iter().any(|t| t.kind == Kind::Word && !t.assignment);
                self.not_shell.is_empty() && self.commands.iter().any(|c| c.shape == Shape::Known && runs_a_program(c))
            }
        }
    }
}

/// A prompt of another interpreter: psql `db=# `/`db=> `, redis `127.0.0.1:6379> `, `mysql> `,
/// python `>>> `, `irb(main):001:0> `.
static REPL_PROMPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:[\w.-]+=[#>]|[\w.-]+[-(]?[#>]|(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?>|[\w.-]+:\d+>|>>>|irb\([^)]*\)[^>]*>|\[\d+\] pry\([^)]*\)>)\s")
        .expect("static regex")
});

/// After `sudo su` the prompt is `# `.
fn root_prompt(line: &str) -> Option<usize> {
    let trimmed = line.trim_start();
    let indent = line.len() - trimmed.len();
    if trimmed.starts_with("# ") { Some(indent + 2) } else { (trimmed == "#").then_some(indent + 1) }
}

fn shell_prompt(line: &str) -> Option<usize> {
    let indent = line.len() - line.trim_start().len();
    let rest = &line[indent..];
    // The prompt must be followed by a space or end the line.
    let ends_prompt = |len: usize| match rest.as_bytes().get(len) {
        None | Some(b' ') => Some(indent + len + usize::from(rest.len() > len)),
        _ => None,
    };
    for simple in ["$", "%", "~", "➜"] {
        if rest.starts_with(simple) {
            if let Some(end) = ends_prompt(simple.len()) {
                return Some(end);
            }
        }
    }
    // `[user@host dir]# `
    if let Some(inner) = rest.strip_prefix('[') {
        let close = inner.find(']')?;
        let after = inner.as_bytes().get(close + 1)?;
        return if close > 0 && matches!(after, b'$' | b'#') { ends_prompt(close + 3) } else { None };
    }
    // `user@host:~/dir$ `, `host.internal:~$ `
    let first = rest.split([' ', '\t']).next().unwrap_or("");
    let body = first.strip_suffix(['$', '#', '%'])?;
    let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'));
    let (head, path) = match body.split_once(':') {
        Some((head, path)) => (head, Some(path)),
        None => (body, None),
    };
    let fits = match head.split_once('@') {
        Some((user, host)) => word(user) && word(host) && path.is_none_or(|p| !p.contains(char::is_whitespace)),
        None => word(head) && path.is_some_and(|p| p.starts_with(['~', '/'])) && !first.ends_with('%'),
    };
    if fits { ends_prompt(first.len()) } else { None }
}

fn is_repl_prompt(line: &str) -> bool {
    let trimmed = line.trim_start();
    let first = trimmed.split([' ', '\t']).next().unwrap_or("");
    let candidate = first.ends_with(['#', '>']) || trimmed.starts_with('[');
    candidate && REPL_PROMPT.is_match(line) && shell_prompt(line).is_none()
}

/// `# 2. Check logs` -> `Check logs`.
pub(crate) fn comment_title(comment: &str) -> Option<String> {
    let text = comment.trim_start().trim_start_matches('#').trim();
    let text = text.strip_prefix("Step ").or_else(|| text.strip_prefix("step ")).unwrap_or(text);
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let text =
        if digits > 0 && text[digits..].starts_with(['.', ')', ':']) { text[digits + 1..].trim_start() } else { text };
    let text = text.trim_end_matches(':').trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// The title a group of comment lines gives: its first line, joined with the lines that carry
/// on its sentence (an open parenthesis, a lower-case start).
fn group_title(group: &[String]) -> Option<String> {
    let mut title = comment_title(group.first()?)?;
    for line in &group[1..] {
        let next = line.trim_start().trim_start_matches('#').trim();
        let open_paren = title.matches('(').count() > title.matches(')').count();
        if open_paren || next.chars().next().is_some_and(char::is_lowercase) {
            title.push(' ');
            title.push_str(next);
        } else {
            break;
        }
    }
    Some(title)
}

pub(crate) fn analyze(content: &str, risk_rules: &[(Regex, Risk, String)], aliases: &[(String, String)]) -> Analysis {
    let lines: Vec<&str> = super::lines::split(content);
    let prompted = lines.iter().any(|line| shell_prompt(line).is_some());
    let mut analysis = if prompted { analyze_prompted(&lines) } else { analyze_script(content, &lines) };
    analysis.prompted = prompted;
    // Judge each command, and hand the lines after a prompt-opening command to that prompt.
    let mut commands = Vec::new();
    let mut in_repl = false;
    for mut command in std::mem::take(&mut analysis.commands) {
        if in_repl {
            for (index, line) in command.text.lines().enumerate() {
                let block_line = command.lines.get(index).map_or(0, |l| l.0);
                analysis.not_shell.push((block_line, line.to_owned()));
            }
            continue;
        }
        match expand_aliases(&command.lexed.tokens, aliases) {
            Some((tokens, used)) => {
                command.aliases = used;
                // The author's alias for a tool: judged as that tool, and shell for certain.
                command.assessment = risk::assess(&tokens, risk_rules, &command.text);
                command.shape = Shape::Known;
            }
            None => command.assessment = risk::assess(&command.lexed.tokens, risk_rules, &command.text),
        }
        if command.assessment.opens_repl {
            in_repl = true;
        }
        commands.push(command);
    }
    analysis.commands = commands;
    analysis.not_shell.sort();
    analysis
}

/// The tokens with every alias in command position (`k get pods`, `x | k apply -f -`) replaced
/// by the words it stands for; None when the command uses no alias.
fn expand_aliases(tokens: &[shell::Token], aliases: &[(String, String)]) -> Option<(Vec<shell::Token>, Vec<String>)> {
    if aliases.is_empty() {
        return None;
    }
    let mut out: Vec<shell::Token> = Vec::with_capacity(tokens.len() + 2);
    let mut command_position = true;
    let mut used: Vec<String> = Vec::new();
    for token in tokens {
        match token.kind {
            Kind::Word if command_position && token.assignment => out.push(token.clone()),
            // A keyword that leaves the next word a command (`do nuke`, `time k get`).
            Kind::Word
                if command_position
                    && matches!(
                        token.value.as_str(),
                        "do" | "then" | "else" | "elif" | "time" | "!" | "{" | "if" | "while" | "until" | "sudo"
                    ) =>
            {
                out.push(token.clone())
            }
            Kind::Word if command_position => {
                command_position = false;
                let alias = aliases.iter().find(|(name, _)| token.value == name.as_str());
                match alias {
                    Some((name, value)) => {
                        if !used.contains(name) {
                            used.push(name.clone());
                        }
                        for word in value.split_whitespace() {
                            let mut replaced = token.clone();
                            replaced.value = word.into();
                            out.push(replaced);
                        }
                    }
                    None => out.push(token.clone()),
                }
            }
            Kind::Word => out.push(token.clone()),
            Kind::Op => {
                command_position =
                    matches!(token.value.as_str(), "|" | "||" | "&&" | ";" | "&" | "(" | "|&" | "!" | "$(" | "`" | "{");
                out.push(token.clone());
            }
            Kind::Newline => {
                command_position = true;
                out.push(token.clone());
            }
            Kind::Comment | Kind::HeredocBody => out.push(token.clone()),
        }
    }
    (!used.is_empty()).then_some((out, used))
}

#[cfg(test)]
mod alias_tests {
    use super::*;

    #[test]
    fn aliases_after_keywords_and_wrappers() {
        let aliases = vec![("k".to_owned(), "kubectl".to_owned())];
        for script in [
            "for p in a b; do k delete pod \"$p\"; done",
            "time k delete pod x",
            "sudo k delete pod x",
            "x | k delete -f -",
        ] {
            let analysis = analyze(script, &[], &aliases);
            assert!(analysis.commands.iter().any(|c| c.aliases == ["k"]), "{script}");
            assert_eq!(analysis.commands.iter().map(|c| c.assessment.risk).max(), Some(Risk::Destructive), "{script}");
        }
    }
}

fn new_command(text: String, lines: Vec<(usize, usize)>, title: Option<String>) -> FoundCommand {
    let lexed = shell::lex(&placeholder::mask_angles(&text));
    command_from(text, lines, title, lexed)
}

fn command_from(text: String, lines: Vec<(usize, usize)>, title: Option<String>, lexed: Lexed) -> FoundCommand {
    let split = shell::split(&lexed);
    let quote_open = matches!(lexed.open, Some(Open::SingleQuote | Open::DoubleQuote | Open::Backquote));
    let shape = match split.commands.first() {
        _ if is_repl_prompt(&text) => Shape::NotShell("stands behind another interpreter's prompt"),
        _ if quote_open => Shape::NotShell("leaves a quote open"),
        Some(span) => shape::classify(&lexed.tokens[span.tokens.clone()], &text[span.text.clone()], &lexed),
        None => Shape::NotShell("empty"),
    };
    FoundCommand {
        text,
        title,
        lines,
        shape,
        assessment: Assessment {
            risk: Risk::Unknown,
            reason: String::new(),
            long_running: None,
            interactive: None,
            opens_repl: false,
        },
        expected_output: None,
        lexed,
        aliases: Vec::new(),
    }
}

/// A block without prompts: the shell lexer splits it.
fn analyze_script(content: &str, lines: &[&str]) -> Analysis {
    let lexed = shell::lex(&placeholder::mask_angles(content));
    let split = shell::split(&lexed);
    let line_starts: Vec<usize> = super::lines::starts(content);
    let line_of = |offset: usize| line_starts.partition_point(|start| *start <= offset).saturating_sub(1);
    let mut analysis = Analysis::default();
    // Titles: the first line of the comment group closest above each command.
    let mut comments = split.comments.iter().peekable();
    let mut group: Vec<String> = Vec::new();
    let mut last_comment_line: Option<usize> = None;
    for (index, span) in split.commands.iter().enumerate() {
        while let Some(&&comment_index) = comments.peek() {
            let comment = &lexed.tokens[comment_index];
            if comment.range.start >= span.text.start {
                break;
            }
            comments.next();
            let line = line_of(comment.range.start);
            let own_line = lines.get(line).is_some_and(|l| l.trim_start().starts_with('#'));
            if !own_line {
                continue;
            }
            let continues_group = last_comment_line.is_some_and(|last| last + 1 == line);
            if !continues_group {
                group.clear();
            }
            group.push(content[comment.range.clone()].to_owned());
            last_comment_line = Some(line);
        }
        let title = group_title(&group);
        let text = content[span.text.clone()].trim_end().to_owned();
        let first = line_of(span.text.start);
        let col = span.text.start - line_starts[first];
        let line_count = text.matches('\n').count() + 1;
        let mapping = (0..line_count).map(|i| (first + i, if i == 0 { col } else { 0 })).collect();
        let range = span.text.start..span.text.start + text.len();
        let own = lexed.slice(span.tokens.clone(), range, index + 1 == split.commands.len());
        let command = command_from(text, mapping, title, own);
        if let Shape::NotShell(_) = command.shape {
            for (index, line) in command.text.lines().enumerate() {
                analysis.not_shell.push((first + index, line.to_owned()));
            }
        } else {
            analysis.commands.push(command);
        }
    }
    analysis
}

/// A block with prompts: prompted lines (and continuations) are commands, the rest output.
fn analyze_prompted(lines: &[&str]) -> Analysis {
    let mut analysis = Analysis::default();
    let mut group: Vec<String> = Vec::new();
    let mut last_comment_line: Option<usize> = None;
    let mut root_shell = false;
    let mut output: Vec<&str> = Vec::new();
    let flush_output = |analysis: &mut Analysis, output: &mut Vec<&str>| {
        while output.last().is_some_and(|l| l.trim().is_empty()) {
            output.pop();
        }
        if let Some(last) = analysis.commands.last_mut() {
            if !output.is_empty() {
                let text = output.join("\n");
                last.expected_output = Some(match last.expected_output.take() {
                    Some(before) => format!("{before}\n{text}"),
                    None => text,
                });
            }
        }
        output.clear();
    };
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        let prompt = shell_prompt(line).or_else(|| if root_shell { root_prompt(line) } else { None });
        if let Some(prompt_len) = prompt {
            flush_output(&mut analysis, &mut output);
            let first_text = &line[prompt_len.min(line.len())..];
            if first_text.trim_start().starts_with('#') {
                if last_comment_line.is_none_or(|last| last + 1 != index) {
                    group.clear();
                }
                group.push(first_text.to_owned());
                last_comment_line = Some(index);
                index += 1;
                continue;
            }
            if first_text.trim().is_empty() {
                index += 1;
                continue;
            }
            let mut text = first_text.to_owned();
            let mut mapping = vec![(index, prompt_len)];
            // Continuation lines: while the command is open, take the next line (minus a `> `).
            let mut lexed = shell::lex(&placeholder::mask_angles(&text));
            while shell::split(&lexed).open && index + 1 < lines.len() {
                let next = lines[index + 1];
                if shell_prompt(next).is_some() {
                    break;
                }
                index += 1;
                let (stripped, offset) = match next.strip_prefix("> ") {
                    Some(rest) => (rest, 2),
                    None => (next, 0),
                };
                text.push('\n');
                text.push_str(stripped);
                mapping.push((index, offset));
                lexed = shell::lex(&placeholder::mask_angles(&text));
            }
            let trimmed_len = text.trim_end().len();
            let command = if trimmed_len == text.len() {
                command_from(text, mapping, group_title(&group), lexed)
            } else {
                new_command(text[..trimmed_len].to_owned(), mapping, group_title(&group))
            };
            let words: Vec<&str> =
                command.lexed.tokens.iter().filter(|t| t.kind == Kind::Word).map(|t| t.value.as_str()).collect();
            if matches!(words.as_slice(), ["sudo", "su", ..] | ["sudo", "-i"] | ["sudo", "-s"] | ["su"] | ["su", "-"]) {
                root_shell = true;
            }
            analysis.commands.push(command);
            index += 1;
            continue;
        }
        let trimmed = line.trim_start();
        let next_is_prompt = lines[index + 1..]
            .iter()
            .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .is_some_and(|l| shell_prompt(l).is_some());
        let nothing_pending = output.iter().all(|l| l.trim().is_empty());
        if trimmed.starts_with('#')
            && !root_shell
            && (analysis.commands.is_empty() || (next_is_prompt && nothing_pending))
        {
            flush_output(&mut analysis, &mut output);
            if last_comment_line.is_none_or(|last| last + 1 != index) {
                group.clear();
            }
            group.push(trimmed.to_owned());
            last_comment_line = Some(index);
        } else if analysis.commands.is_empty() && !trimmed.is_empty() {
            // Text before the first prompt: neither a command nor anyone's output.
            analysis.not_shell.push((index, line.to_owned()));
        } else {
            output.push(line);
        }
        index += 1;
    }
    flush_output(&mut analysis, &mut output);
    analysis
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(content: &str) -> Vec<String> {
        analyze(content, &[], &[]).commands.into_iter().map(|c| c.text).collect()
    }

    #[test]
    fn prompt_table() {
        assert_eq!(shell_prompt("$ ls"), Some(2));
        assert_eq!(shell_prompt("  user@host:~$ ls"), Some(15));
        assert_eq!(shell_prompt("$"), Some(1));
        assert_eq!(shell_prompt("[root@h tmp]# ls"), Some(14));
        for line in [
            "$ ls",
            "  $ ls",
            "user@host:~$ ls",
            "host.internal:~$ ping x",
            "[root@h tmp]# ls",
            "~ knife vault show",
            "% ls",
        ] {
            assert!(shell_prompt(line).is_some(), "{line:?} has a shell prompt");
        }
        for line in ["$HOME/bin/x", "# comment", "pgbouncer=# SHOW STATS;", "ls", "~/bin/x", "$1", "a:b$ x", "[x] y"] {
            assert!(shell_prompt(line).is_none(), "{line:?} has no shell prompt");
        }
        for line in [
            "pgbouncer=# SHOW STATS;",
            "gitlabhq_production=# select 1;",
            "127.0.0.1:6379> SLOWLOG GET 10",
            "mysql> show tables;",
            ">>> import os",
        ] {
            assert!(is_repl_prompt(line), "{line:?} is another interpreter's prompt");
        }
    }

    #[test]
    fn prompted_lines_are_commands_and_the_rest_output() {
        let analysis = analyze("$ oc get pods\nNAME   READY\napi-1  1/1\n$ oc get svc\n", &[], &[]);
        assert!(analysis.prompted);
        assert_eq!(analysis.commands.len(), 2);
        assert_eq!(analysis.commands[0].expected_output.as_deref(), Some("NAME   READY\napi-1  1/1"));
        assert_eq!(analysis.commands[0].lines, [(0, 2)]);
    }

    #[test]
    fn prompted_continuation_without_prompt() {
        let content = "$ NS=x\n# look at the pods\n\n$ oc get pods \\\n| grep foo\n";
        let analysis = analyze(content, &[], &[]);
        assert_eq!(texts(content), ["NS=x", "oc get pods \\\n| grep foo"]);
        assert_eq!(analysis.commands[1].title.as_deref(), Some("look at the pods"));
    }

    #[test]
    fn root_prompt_after_sudo_su() {
        assert_eq!(
            texts("$ sudo su\n# /root/machines_operations.sh list\n# /root/machines_operations.sh count\n"),
            ["sudo su", "/root/machines_operations.sh list", "/root/machines_operations.sh count"]
        );
    }

    #[test]
    fn hash_line_after_output_is_output() {
        let analysis = analyze("$ ssh h -- 'crontab -l'\n# Chef Name: backup\n0 0 * * * /opt/x.sh\n", &[], &[]);
        assert_eq!(analysis.commands.len(), 1);
        assert_eq!(analysis.commands[0].expected_output.as_deref(), Some("# Chef Name: backup\n0 0 * * * /opt/x.sh"));
    }

    #[test]
    fn repl_lines_are_not_shell() {
        let analysis = analyze("$ sudo pgb-console\npgbouncer=# SHOW STATS;\n", &[], &[]);
        assert_eq!(texts("$ sudo pgb-console\npgbouncer=# SHOW STATS;\n"), ["sudo pgb-console"]);
        assert_eq!(analysis.commands[0].expected_output.as_deref(), Some("pgbouncer=# SHOW STATS;"));
        let script = analyze("redis-cli -h x\nSLOWLOG GET 10\nINFO\n", &[], &[]);
        assert_eq!(script.commands.len(), 1);
        assert_eq!(script.not_shell.len(), 2);
    }

    #[test]
    fn titles_from_comment_groups() {
        let content = "# 1. Check pods\nkubectl get pods\nkubectl describe pod x\n\n# Check error rate\n# Grafana: x{a=\"b\"}\n\n# 3. Restart if needed\nkubectl rollout restart d\n";
        let titles: Vec<_> = analyze(content, &[], &[]).commands.into_iter().map(|c| c.title).collect();
        assert_eq!(
            titles,
            [Some("Check pods".to_owned()), Some("Check pods".to_owned()), Some("Restart if needed".to_owned())]
        );
    }

    #[test]
    fn multi_line_comment_titles_join() {
        let content = "# Check node status and conditions (may require admin\n# permissions)\n$ oc describe node x\n\n# Discover it\n# More detail\n$ oc get x\n";
        let titles: Vec<_> =
            analyze(content, &[], &[]).commands.into_iter().map(|c| c.title.unwrap_or_default()).collect();
        assert_eq!(titles, ["Check node status and conditions (may require admin permissions)", "Discover it"]);
    }

    #[test]
    fn log_only_block_is_not_a_step() {
        let analysis = analyze("1 drain_controller.go:173] node x: initiating drain\n", &[], &[]);
        assert!(!analysis.is_step(Tag::Shell));
        assert_eq!(analysis.not_shell.len(), 1);
    }

    #[test]
    fn untagged_needs_known_program() {
        assert!(analyze("kubectl get pods\n", &[], &[]).is_step(Tag::Untagged));
        assert!(!analyze("foo bar\n", &[], &[]).is_step(Tag::Untagged));
        assert!(analyze("foo bar\n", &[], &[]).is_step(Tag::Shell));
        assert!(!analyze("Incident: [BRIEF]\nSeverity: SEV[1-4]\n", &[], &[]).is_step(Tag::Untagged));
    }

    #[test]
    fn positions_map_back_to_block_lines() {
        let analysis = analyze("echo a\n  kubectl get pods <pod>\n", &[], &[]);
        let command = &analysis.commands[1];
        let offset = command.text.find("<pod>").unwrap();
        assert_eq!(command.position(offset), (1, 19));
    }
}
