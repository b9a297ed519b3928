//! Words that bash hands to another interpreter, which parses them again.
//!
//! opsbook quotes a value for bash: `bash -c "grep <pattern> f"` receives the value intact as
//! part of its script, and then the inner shell parses it. The same holds for `ssh host …` (the
//! remote shell), `eval`, `watch`, `awk`, `sed`, `jq`, `python -c`, `perl -e`, `psql -c`,
//! `mysql -e`, `sqlite3 DB SQL`, and heredocs fed to a shell or a SQL client. No quoting can be
//! right for both languages, so these places are found and named: `check` reports them, and a
//! run says so before it starts.

use std::ops::Range;

use super::shell::{Kind, Lexed, Token, for_each_simple_command};

/// Byte ranges of the words (and heredoc bodies) another interpreter parses, with its name.
pub(crate) fn handed_over(lexed: &Lexed) -> Vec<(Range<usize>, &'static str)> {
    let mut found = Vec::new();
    for_each_simple_command(&lexed.tokens, |words| scan_words(words, &mut found));
    heredoc_bodies(&lexed.tokens, &mut found);
    standard_input_scripts(&lexed.tokens, &mut found);
    found
}

/// A program's name without its folder (`/usr/bin/python3` -> `python3`).
fn program(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// The interpreter named by a program that runs a script given as an option's argument, and
/// the options that carry it.
fn script_options(name: &str) -> Option<(&'static str, &'static [&'static str])> {
    Some(match name {
        "bash" | "sh" | "zsh" | "dash" | "ksh" | "ash" | "fish" | "su" | "busybox" => ("a second shell", &["-c"]),
        "python" | "python2" | "python3" => ("python", &["-c"]),
        "perl" => ("perl", &["-e", "-E"]),
        "ruby" => ("ruby", &["-e"]),
        "node" | "nodejs" | "deno" => ("node", &["-e", "--eval", "-p", "--print"]),
        "php" => ("php", &["-r"]),
        "psql" => ("psql (SQL)", &["-c", "--command"]),
        "mysql" | "mariadb" => ("mysql (SQL)", &["-e", "--execute"]),
        "clickhouse-client" => ("clickhouse (SQL)", &["-q", "--query"]),
        "cqlsh" => ("cqlsh (CQL)", &["-e", "--execute"]),
        "mongo" | "mongosh" => ("mongo (JavaScript)", &["--eval"]),
        "flock" => ("flock (sh -c)", &["-c", "--command"]),
        "script" => ("script (sh -c)", &["-c", "--command"]),
        _ => return None,
    })
}

/// Variables whose value bash itself parses again: `BASH_ENV` and `ENV` are sourced by every
/// bash started, the prompts are expanded.
const PARSED_VARIABLES: &[&str] = &["BASH_ENV", "ENV", "PS0", "PS1", "PS2", "PS4", "PROMPT_COMMAND"];

fn scan_words(words: &[&Token], found: &mut Vec<(Range<usize>, &'static str)>) {
    for word in words.iter().filter(|w| w.assignment) {
        let name = word.value.split(['=', '+', '[']).next().unwrap_or("");
        if PARSED_VARIABLES.contains(&name) {
            found.push((word.range.clone(), "a variable bash parses again (`BASH_ENV`, `PS4`, `PROMPT_COMMAND`)"));
        }
    }
    let mut index = 0;
    while index < words.len() {
        let name = program(&words[index].value);
        let rest = &words[index + 1..];
        if let Some((interpreter, options)) = script_options(name) {
            for (at, word) in rest.iter().enumerate() {
                let value = word.value.as_str();
                let short_c = options.contains(&"-c")
                    && value.starts_with('-')
                    && !value.starts_with("--")
                    && value.ends_with('c');
                if options.contains(&value) || short_c {
                    if let Some(script) = rest.get(at + 1) {
                        found.push((script.range.clone(), interpreter));
                    }
                    break;
                }
                let glued = options
                    .iter()
                    .any(|o| o.starts_with("--") && value.strip_prefix(o).is_some_and(|r| r.starts_with('=')));
                if glued {
                    found.push((word.range.clone(), interpreter));
                    break;
                }
            }
        }
        if !at_program_position(words, index) {
            index += 1;
            continue;
        }
        match name {
            "eval" => {
                found.extend(rest.iter().map(|w| (w.range.clone(), "eval (a second parse by bash)")));
                return;
            }
            "source" | "." => {
                found.extend(rest.iter().map(|w| (w.range.clone(), "source (a second parse by bash)")));
                return;
            }
            "trap" => {
                if let Some(action) = rest.iter().find(|w| !w.value.starts_with('-')) {
                    found.push((action.range.clone(), "trap (a second parse by bash)"));
                }
                return;
            }
            "compgen" => {
                for pair in rest.windows(2).filter(|p| p[0].value == "-W") {
                    found.push((pair[1].range.clone(), "compgen -W (expanded again by bash)"));
                }
                return;
            }
            "watch" if !rest.iter().any(|w| w.value == "-x" || w.value == "--exec") => {
                found.extend(
                    rest.iter().filter(|w| !w.value.starts_with('-')).map(|w| (w.range.clone(), "watch (sh -c)")),
                );
                return;
            }
            "ssh" => {
                let mut words = rest.iter();
                let mut host = false;
                while let Some(word) = words.next() {
                    let value = word.value.as_str();
                    if host {
                        found.push((word.range.clone(), "ssh (the remote shell)"));
                    } else if value.len() == 2
                        && value.starts_with('-')
                        && "bcDEeFIiJLlmOoPpQRSWw".contains(&value[1..])
                    {
                        words.next();
                    } else if !value.starts_with('-') {
                        host = true;
                    }
                }
                return;
            }
            "awk" | "gawk" | "mawk" | "nawk" => {
                // `-v name=value` is data (awk only reads escapes in it), the program is not.
                first_operand(rest, &["-F", "-v", "-f"], &["-f"], "awk", found);
            }
            "sed" => {
                let scripts: Vec<_> = rest.windows(2).filter(|p| p[0].value == "-e").map(|p| p[1]).collect();
                if scripts.is_empty() {
                    first_operand(rest, &["-f", "-l"], &["-f"], "sed", found);
                } else {
                    found.extend(scripts.iter().map(|w| (w.range.clone(), "sed")));
                }
            }
            "jq" | "yq" | "gojq" => {
                first_operand(rest, &["-f", "--from-file", "--indent", "--tab"], &["-f", "--from-file"], "jq", found)
            }
            "sqlite3" => {
                let operands: Vec<_> = rest.iter().filter(|w| !w.value.starts_with('-')).collect();
                found.extend(operands.iter().skip(1).map(|w| (w.range.clone(), "sqlite3 (SQL)")));
            }
            _ => {}
        }
        index += 1;
    }
}

/// Programs that run the words after them as a command.
const WRAPPERS: &[&str] = &[
    "--", "builtin", "sudo", "doas", "env", "nohup", "exec", "time", "command", "xargs", "-exec", "-execdir", "nice",
    "ionice", "stdbuf", "timeout", "chroot", "runuser", "setsid",
];

/// Whether the word at `index` is a program that runs, not an argument that happens to share
/// its name (`gcloud compute ssh NODE` is gcloud's, not ssh's).
fn at_program_position(words: &[&Token], index: usize) -> bool {
    let Some(previous) = index.checked_sub(1).map(|i| &words[i]) else { return true };
    let wrapped = |word: &Token| WRAPPERS.contains(&program(&word.value));
    wrapped(previous)
        || previous.assignment
        || (previous.value.starts_with('-') && words[..index].iter().any(|w| wrapped(w)))
        || (index >= 2 && program(&words[index - 2].value) == "timeout")
}

/// The first word after the options (`with_argument` take the next word): the program text,
/// unless one of `from_file` says the program is in a file.
fn first_operand(
    rest: &[&Token],
    with_argument: &[&str],
    from_file: &[&str],
    interpreter: &'static str,
    found: &mut Vec<(Range<usize>, &'static str)>,
) {
    if rest.iter().any(|w| from_file.contains(&w.value.as_str())) {
        return;
    }
    let mut words = rest.iter();
    while let Some(word) = words.next() {
        let value = word.value.as_str();
        if with_argument.contains(&value) {
            words.next();
        } else if value == "--arg" || value == "--argjson" {
            words.next();
            words.next();
        } else if !value.starts_with('-') || value == "-" {
            found.push((word.range.clone(), interpreter));
            return;
        }
    }
}

/// Programs that read a script from their standard input.
fn reads_script(name: &str) -> Option<&'static str> {
    Some(match name {
        "bash" | "sh" | "zsh" | "dash" | "ksh" => "a second shell",
        "ssh" => "ssh (the remote shell)",
        "python" | "python3" => "python",
        "psql" => "psql (SQL)",
        "mysql" | "mariadb" => "mysql (SQL)",
        "sqlite3" => "sqlite3 (SQL)",
        "clickhouse-client" => "clickhouse (SQL)",
        "cqlsh" => "cqlsh (CQL)",
        "mongo" | "mongosh" => "mongo (JavaScript)",
        "redis-cli" => "redis-cli",
        _ => return None,
    })
}

/// A heredoc body fed to a program that reads a script from standard input, on the line of
/// the `<<` (`kubectl exec -i db -- psql <<EOF`).
fn heredoc_bodies(tokens: &[Token], found: &mut Vec<(Range<usize>, &'static str)>) {
    let mut line_start = 0;
    for (index, token) in tokens.iter().enumerate() {
        match token.kind {
            Kind::HeredocBody => {
                let line = &tokens[line_start..index];
                let reader = line.iter().filter(|t| t.kind == Kind::Word).find_map(|t| reads_script(program(&t.value)));
                if let Some(reader) = reader {
                    found.push((token.range.clone(), reader));
                }
            }
            Kind::Newline if tokens.get(index + 1).is_none_or(|t| t.kind != Kind::HeredocBody) => {
                line_start = index + 1;
            }
            _ => {}
        }
    }
}

/// A shell (or `source`) reading its script from standard input: what a pipeline feeds it
/// (`echo "…" | bash`) and a here-string (`bash <<< "…"`) are parsed again.
fn standard_input_scripts(tokens: &[Token], found: &mut Vec<(Range<usize>, &'static str)>) {
    const NAME: &str = "a shell reading its script from standard input";
    let reads_stdin = |segment: &[Token]| {
        let mut words: Vec<&Token> = Vec::new();
        let mut target = false;
        for token in segment {
            match token.kind {
                Kind::Op => target = !matches!(token.value.as_str(), "(" | ")"),
                Kind::Word if target => target = false,
                Kind::Word if !token.assignment => words.push(token),
                _ => {}
            }
        }
        let start = words.iter().position(|w| !WRAPPERS.contains(&program(&w.value))).unwrap_or(words.len());
        let Some(first) = words.get(start) else { return false };
        match program(&first.value) {
            "source" | "." => true,
            "bash" | "sh" | "zsh" | "dash" | "ksh" | "ash" => {
                // No script file and no `-c`: the script comes from standard input.
                words[start + 1..].iter().all(|w| w.value.starts_with('-') && !w.value.ends_with('c'))
            }
            _ => false,
        }
    };
    let mut pipeline_start = 0;
    let mut segment_start = 0;
    for (index, token) in tokens.iter().enumerate().chain(std::iter::once((tokens.len(), &END))) {
        let ends_pipeline = index == tokens.len()
            || token.kind == Kind::Newline
            || (token.kind == Kind::Op && matches!(token.value.as_str(), ";" | "&&" | "||" | "&" | ";;"));
        let ends_segment = ends_pipeline || token.is_op("|") || token.is_op("|&");
        if !ends_segment {
            continue;
        }
        let segment = &tokens[segment_start..index];
        if reads_stdin(segment) {
            // What the earlier commands of the pipeline print is the script.
            for earlier in &tokens[pipeline_start..segment_start] {
                if earlier.kind == Kind::Word {
                    found.push((earlier.range.clone(), NAME));
                }
            }
            for pair in segment.windows(2).filter(|p| p[0].is_op("<<<")) {
                found.push((pair[1].range.clone(), NAME));
            }
        }
        segment_start = index + 1;
        if ends_pipeline {
            pipeline_start = index + 1;
        }
    }
}

/// Stands for the end of the tokens in [`standard_input_scripts`].
static END: Token =
    Token { kind: Kind::Newline, range: 0..0, value: compact_str::CompactString::const_new(""), assignment: false };

#[cfg(test)]
mod tests {
    use super::super::shell::lex;
    use super::*;

    fn interpreter_at(src: &str, needle: &str) -> Option<&'static str> {
        let lexed = lex(src);
        let offset = src.find(needle).expect("needle in source");
        handed_over(&lexed).into_iter().find(|(range, _)| range.contains(&offset)).map(|(_, name)| name)
    }

    #[test]
    fn second_interpreters_table() {
        let cases: &[(&str, Option<&str>)] = &[
            ("bash -c \"grep VAL f\"", Some("a second shell")),
            ("sudo sh -c 'echo VAL > /etc/x'", Some("a second shell")),
            ("bash -lc 'echo VAL'", Some("a second shell")),
            ("kubectl exec -it pod -- sh -c 'ls VAL'", Some("a second shell")),
            ("ssh -p 22 host \"cat VAL\"", Some("ssh (the remote shell)")),
            ("ssh host cat VAL", Some("ssh (the remote shell)")),
            ("awk '/VAL/ {print}' f", Some("awk")),
            ("awk -F: -v x=VAL '{print x}' f", None),
            ("awk -F: '$1 == \"VAL\"' f", Some("awk")),
            ("sed 's/VAL/x/' f", Some("sed")),
            ("jq '.items[] | select(.name == \"VAL\")' f", Some("jq")),
            ("python3 -c 'print(VAL)'", Some("python")),
            ("psql -c \"select * from t where id = VAL\"", Some("psql (SQL)")),
            ("psql --command=\"select VAL\"", Some("psql (SQL)")),
            ("mysql -e 'select VAL'", Some("mysql (SQL)")),
            ("sqlite3 db.sqlite 'select VAL'", Some("sqlite3 (SQL)")),
            ("eval echo VAL", Some("eval (a second parse by bash)")),
            ("watch kubectl get pod VAL", Some("watch (sh -c)")),
            ("psql <<EOF\nselect VAL;\nEOF", Some("psql (SQL)")),
            ("kubectl exec -i db -- psql -U app <<'SQL'\nselect VAL;\nSQL", Some("psql (SQL)")),
            ("kubectl logs VAL", None),
            ("echo \"echo VAL\" | bash", Some("a shell reading its script from standard input")),
            ("bash <<< \"echo VAL\"", Some("a shell reading its script from standard input")),
            ("source <(echo \"VAL\")", Some("source (a second parse by bash)")),
            (". /dev/stdin <<< \"echo VAL\"", Some("a shell reading its script from standard input")),
            ("trap \"echo VAL\" EXIT", Some("trap (a second parse by bash)")),
            ("compgen -W \"VAL\" x", Some("compgen -W (expanded again by bash)")),
            ("builtin eval \"echo VAL\"", Some("eval (a second parse by bash)")),
            ("flock /tmp/lk -c \"echo VAL\"", Some("flock (sh -c)")),
            ("script -qc \"echo VAL\" /dev/null", Some("script (sh -c)")),
            (
                "export BASH_ENV=VAL; bash -c true",
                Some("a variable bash parses again (`BASH_ENV`, `PS4`, `PROMPT_COMMAND`)"),
            ),
            ("echo VAL | grep x", None),
            ("echo VAL | bash script.sh", None),
            ("gcloud compute ssh node --zone=VAL", None),
            ("sudo -E ssh host cat VAL", Some("ssh (the remote shell)")),
            ("timeout 5 ssh host cat VAL", Some("ssh (the remote shell)")),
            ("jq --arg name VAL '.x' f", None),
            ("cat <<EOF\nVAL\nEOF", None),
            ("ssh -i VAL host uptime", None),
            ("awk -f prog.awk VAL", None),
            ("bash script.sh VAL", None),
        ];
        for (src, expected) in cases {
            assert_eq!(interpreter_at(src, "VAL"), *expected, "for {src:?}");
        }
    }
}
