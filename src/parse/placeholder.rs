//! Placeholders: the blanks a step needs filled before it runs.
//!
//! `<pod-name>` (not a redirection), `{{ name }}` (not a Go template such as `{{range .items}}`
//! nor `{{.metadata.name}}`), and `$VAR`/`${VAR}` that the step reads but never sets (well-known
//! shell variables excluded; `'$VAR'` in single quotes is not a read). Dashed names the shell
//! would split (`$OVNKUBE-MASTER-POD-NAME`, `${top-user-from-last-command}`) are one blank, as
//! their authors meant.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

use super::shell::{Ctx, Kind, Lexed, Token, is_assignment};
use crate::model::{Occurrence, Placeholder, PlaceholderKind, Quoting};

/// Variables the environment or the shell provides: never blanks to fill.
const WELL_KNOWN: &[&str] = &[
    "BASH",
    "BASHPID",
    "BASH_SOURCE",
    "BASH_VERSION",
    "COLUMNS",
    "DISPLAY",
    "EDITOR",
    "EUID",
    "FUNCNAME",
    "GROUPS",
    "HISTFILE",
    "HOME",
    "HOSTNAME",
    "HOSTTYPE",
    "IFS",
    "KUBECONFIG",
    "LANG",
    "LC_ALL",
    "LINENO",
    "LINES",
    "LOGNAME",
    "MACHTYPE",
    "OLDPWD",
    "OPSBOOK_OUTPUT",
    "OPTARG",
    "OPTIND",
    "OSTYPE",
    "PAGER",
    "PATH",
    "PIPESTATUS",
    "PPID",
    "PS1",
    "PS2",
    "PWD",
    "RANDOM",
    "REPLY",
    "SECONDS",
    "SHELL",
    "SHLVL",
    "SSH_AUTH_SOCK",
    "TERM",
    "TMPDIR",
    "TZ",
    "UID",
    "USER",
    "VISUAL",
    "XDG_CONFIG_HOME",
    "XDG_RUNTIME_DIR",
];

/// Go template words that are never placeholders.
const TEMPLATE_WORDS: &[&str] =
    &["end", "else", "range", "if", "with", "define", "template", "block", "break", "continue"];

static ANGLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<([A-Za-z][A-Za-z0-9_.\-]*(?: [A-Za-z0-9_.\-]+)*)>").expect("static regex"));
static BRACE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{\{\s*([A-Za-z_][A-Za-z0-9_\-]*)\s*\}\}").expect("static regex"));
/// A Hugo shortcode inside a command (`--version={{% dapr-latest-version short="true" %}}`): the
/// site fills it in when it builds; opsbook asks for it as a value named after the shortcode.
pub(crate) static SHORTCODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{\{[<%]-?[ \t]*([A-Za-z_][A-Za-z0-9_\-]*)(?:[ \t][^{}\n]*?)?[ \t]*-?[%>]\}\}").expect("static regex")
});
static DOLLAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*)(?:(:?[-=?+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*)((?:-[A-Z0-9]+)+\b)?)")
        .expect("static regex")
});

/// One command's text with its place in the step, for collecting placeholders.
pub(crate) struct CommandText<'a> {
    pub index: usize,
    /// The command's script text and its lexing.
    pub text: &'a str,
    pub lexed: &'a Lexed,
}

/// Variables a script sets: assignments, `export`/`local`/`declare`/`readonly`, `read`,
/// `for NAME in`, `mapfile`/`readarray`, `printf -v`, `getopts`.
pub(crate) fn variables_set(tokens: &[Token]) -> HashSet<String> {
    let mut set = HashSet::with_capacity(0);
    let mut words = tokens.iter().filter(|t| t.kind == Kind::Word).map(|t| t.value.as_str()).peekable();
    while let Some(value) = words.next() {
        if is_assignment(value) {
            let name = value.split(['=', '[', '+']).next().unwrap_or("");
            set.insert(name.to_owned());
            continue;
        }
        match value {
            "read" => {
                // `-p PROMPT`, `-d DELIM`, `-t SECONDS`, `-n`/`-N COUNT`, `-u FD` and `-i TEXT`
                // take the next word; `-a NAME` sets an array.
                while let Some(next) = words.next_if(|w| is_name_or_flag(w)) {
                    match next.strip_prefix('-').and_then(|flags| flags.chars().last()) {
                        Some('a') => {
                            if let Some(name) = words.next() {
                                set.insert(name.to_owned());
                            }
                        }
                        Some('d' | 'i' | 'n' | 'N' | 'p' | 't' | 'u') => {
                            words.next();
                        }
                        Some(_) => {}
                        None => {
                            set.insert(next.to_owned());
                        }
                    }
                }
            }
            "export" | "local" | "declare" | "typeset" | "readonly" | "mapfile" | "readarray" => {
                while let Some(next) = words.next_if(|w| is_name_or_flag(w)) {
                    if !next.starts_with('-') {
                        set.insert(next.to_owned());
                    }
                }
            }
            "for" | "select" => {
                if let Some(name) = words.next() {
                    set.insert(name.to_owned());
                }
            }
            "getopts" => {
                if let Some(name) = words.nth(1) {
                    set.insert(name.to_owned());
                }
            }
            "printf" if words.peek() == Some(&"-v") => {
                if let Some(name) = words.nth(1) {
                    set.insert(name.to_owned());
                }
            }
            _ => {}
        }
    }
    set
}

/// Names a command writes to `$OPSBOOK_OUTPUT` for later steps: `echo "NAME=…"` or `printf
/// '…' "NAME=…"` (also `NAME<<EOF`) in a command that mentions it, and the `NAME=` lines of a
/// heredoc written to it.
pub(crate) fn outputs_written(text: &str) -> Vec<String> {
    static ECHOED: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r#"\b(?:echo|printf)(?:\s+-[A-Za-z]+)*\s+(?:'[^'\n]*%[^'\n]*'\s+|"[^"\n]*%[^"\n]*"\s+)?["']?([A-Za-z_][A-Za-z0-9_-]*)(?:=|<<)"#,
        )
        .expect("static regex")
    });
    static LINE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^([A-Za-z_][A-Za-z0-9_-]*)(?:=|<<)").expect("static regex"));
    if !text.contains("OPSBOOK_OUTPUT") {
        return Vec::new();
    }
    let mut names: Vec<String> = ECHOED.captures_iter(text).map(|c| c[1].to_owned()).collect();
    let mut lines = text.lines();
    if lines.next().is_some_and(|first| first.contains("OPSBOOK_OUTPUT") && first.contains("<<")) {
        names.extend(lines.filter_map(|line| LINE.captures(line.trim_start()).map(|c| c[1].to_owned())));
    }
    names
}

fn is_name_or_flag(word: &str) -> bool {
    word.starts_with('-') || word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn quoting(ctx: Ctx) -> Option<Quoting> {
    match ctx {
        Ctx::Bare => Some(Quoting::Bare),
        Ctx::Double => Some(Quoting::Double),
        Ctx::Single => Some(Quoting::Single),
        Ctx::HeredocExpanding => Some(Quoting::Heredoc),
        Ctx::HeredocLiteral => Some(Quoting::LiteralHeredoc),
        Ctx::Comment => None,
    }
}

/// Collects the placeholders of a step's commands, in order of first use.
/// `position(command index, byte offset)` gives the file line and column of a byte of a command.
pub(crate) fn collect(
    commands: &[CommandText<'_>],
    set_in_step: &HashSet<String>,
    position: &dyn Fn(usize, usize) -> (u32, u32),
) -> Vec<Placeholder> {
    let mut found: Vec<Placeholder> = Vec::new();
    fn add_to(
        found: &mut Vec<Placeholder>,
        name: String,
        kind: PlaceholderKind,
        default: Option<String>,
        occurrence: Occurrence,
    ) {
        if let Some(existing) = found.iter_mut().find(|p| p.name == name) {
            existing.occurrences.push(occurrence);
            if existing.default.is_none() {
                existing.default = default;
            }
        } else {
            found.push(Placeholder { name, kind, default, set_by: None, occurrences: vec![occurrence] });
        }
    }
    for command in commands {
        let ctx_at = |offset: usize| command.lexed.ctx.get(offset).copied().unwrap_or(Ctx::Bare);
        let handed_over = super::interpreter::handed_over(command.lexed);
        let occurrence = |range: std::ops::Range<usize>, quoting: Quoting| {
            let (line, col) = position(command.index, range.start);
            // A placeholder is evaluated when any byte of it is (`${a[<i>]}`, `$(( N ))`).
            let evaluated = range.clone().find_map(|at| command.lexed.evaluation_at(at));
            let interpreter = handed_over.iter().find(|(r, _)| r.contains(&range.start)).map(|(_, name)| *name);
            Occurrence {
                command: command.index,
                line,
                col,
                quoting,
                evaluated,
                interpreter,
                offset: range.start,
                len: range.len(),
            }
        };
        let angles = if command.text.contains('<') { Some(ANGLE.captures_iter(command.text)) } else { None };
        for capture in angles.into_iter().flatten() {
            let whole = capture.get(0).expect("group 0 always matches");
            let Some(quoting) = quoting(ctx_at(whole.start())) else { continue };
            if quoting == Quoting::Bare && is_redirection(command.text, whole.start()) {
                continue;
            }
            add_to(&mut found, capture[1].to_owned(), PlaceholderKind::Angle, None, occurrence(whole.range(), quoting));
        }
        let braces = if command.text.contains("{{") {
            Some(BRACE.captures_iter(command.text).chain(SHORTCODE.captures_iter(command.text)))
        } else {
            None
        };
        for capture in braces.into_iter().flatten() {
            let whole = capture.get(0).expect("group 0 always matches");
            let name = &capture[1];
            if TEMPLATE_WORDS.contains(&name) {
                continue;
            }
            let Some(quoting) = quoting(ctx_at(whole.start())) else { continue };
            add_to(&mut found, name.to_owned(), PlaceholderKind::Brace, None, occurrence(whole.range(), quoting));
        }
        let dollars = if command.text.contains('$') { Some(DOLLAR.captures_iter(command.text)) } else { None };
        for capture in dollars.into_iter().flatten() {
            let whole = capture.get(0).expect("group 0 always matches");
            let ctx = ctx_at(whole.start());
            if !matches!(ctx, Ctx::Bare | Ctx::Double | Ctx::HeredocExpanding) {
                continue;
            }
            if whole.start() > 0 && command.text.as_bytes()[whole.start() - 1] == b'\\' {
                continue;
            }
            let quoting = quoting(ctx).unwrap_or(Quoting::Bare);
            let (name, kind, default) = if let Some(braced) = capture.get(1) {
                let name = braced.as_str();
                let default = capture.get(3).map(|d| d.as_str().to_owned()).filter(|_| {
                    capture.get(2).is_some_and(|op| op.as_str().ends_with('-') || op.as_str().ends_with('='))
                });
                if name.contains('-') {
                    (name.to_owned(), PlaceholderKind::Dashed, None)
                } else {
                    (name.to_owned(), PlaceholderKind::Env, default)
                }
            } else {
                let name = capture.get(4).map_or("", |m| m.as_str());
                match capture.get(5) {
                    Some(dashed) if name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_') => {
                        (format!("{name}{}", dashed.as_str()), PlaceholderKind::Dashed, None)
                    }
                    _ => (name.to_owned(), PlaceholderKind::Env, None),
                }
            };
            if kind == PlaceholderKind::Env && (set_in_step.contains(&name) || WELL_KNOWN.contains(&name.as_str())) {
                continue;
            }
            add_to(&mut found, name, kind, default, occurrence(whole.range(), quoting));
        }
        bare_names_in_arithmetic(command, &mut found, &occurrence);
    }
    found.sort_by_key(|p| p.occurrences.first().map(|o| (o.line, o.col)));
    found
}

/// In arithmetic a variable is read by its bare name (`(( RETRIES > 3 ))`) and its value is
/// evaluated as an expression: a `$RETRIES` placeholder named that way there is evaluated too.
fn bare_names_in_arithmetic(
    command: &CommandText<'_>,
    found: &mut [Placeholder],
    occurrence: &dyn Fn(std::ops::Range<usize>, Quoting) -> Occurrence,
) {
    let bytes = command.text.as_bytes();
    for (range, evaluation) in &command.lexed.evaluated {
        if *evaluation != crate::model::Evaluation::Integer {
            continue;
        }
        let end = range.end.min(bytes.len());
        let mut at = range.start.min(end);
        while at < end {
            let is_name = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
            if !is_name(&bytes[at]) {
                at += 1;
                continue;
            }
            let len = bytes[at..end].iter().take_while(|b| is_name(b)).count();
            let standalone = at == 0 || !matches!(bytes[at - 1], b'$' | b'{');
            if standalone
                && let Some(placeholder) = found
                    .iter_mut()
                    .find(|p| p.kind == PlaceholderKind::Env && p.name.as_bytes() == &bytes[at..at + len])
            {
                let ctx = command.lexed.ctx.get(at).copied().unwrap_or(Ctx::Bare);
                if let Some(quoting) = quoting(ctx) {
                    placeholder.occurrences.push(occurrence(at..at + len, quoting));
                }
            }
            at += len;
        }
    }
}

/// The text with each `<placeholder>` replaced by underscores of the same length, so that the
/// shell lexer sees one word where bash would see redirections. Offsets are unchanged.
pub(crate) fn mask_angles(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('<') && !text.contains("{{%") {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut masked: Option<String> = None;
    // A shortcode is one blank: the lexer must not read its `<`, quotes or spaces.
    for found in SHORTCODE.find_iter(text) {
        let out = masked.get_or_insert_with(|| text.to_owned());
        out.replace_range(found.range(), &"_".repeat(found.len()));
    }
    for found in ANGLE.find_iter(text) {
        if is_redirection(text, found.start()) || masked.as_ref().is_some_and(|m| m.as_bytes()[found.start()] == b'_') {
            continue;
        }
        let out = masked.get_or_insert_with(|| text.to_owned());
        out.replace_range(found.range(), &"_".repeat(found.len()));
    }
    masked.map_or(std::borrow::Cow::Borrowed(text), std::borrow::Cow::Owned)
}

/// `<name>` right after another `<` (heredoc, `<<<`) or a digit/`&` (fd redirection) is shell.
fn is_redirection(text: &str, at: usize) -> bool {
    let before = text[..at].chars().next_back();
    matches!(before, Some('<' | '&' | '0'..='9'))
}

#[cfg(test)]
mod tests {
    use super::super::shell::lex;
    use super::*;

    fn names(text: &str) -> Vec<(String, PlaceholderKind, Quoting)> {
        let lexed = lex(text);
        let set = variables_set(&lexed.tokens);
        let position = |_: usize, offset: usize| (1, offset as u32 + 1);
        let command = CommandText { index: 0, text, lexed: &lexed };
        collect(&[command], &set, &position).into_iter().map(|p| (p.name, p.kind, p.occurrences[0].quoting)).collect()
    }

    #[test]
    fn read_sets_its_names_past_its_options() {
        let set = |text: &str| {
            let mut names: Vec<String> = variables_set(&lex(text).tokens).into_iter().collect();
            names.sort();
            names
        };
        assert_eq!(set("read -rs -p 'Password: ' pw"), ["pw"]);
        assert_eq!(set("read -t 5 -n 1 answer rest"), ["answer", "rest"]);
        assert_eq!(set("read -ra parts"), ["parts"]);
    }

    #[test]
    fn names_written_to_the_output_file() {
        assert_eq!(outputs_written(r#"echo "replica=$(kubectl get pod -o name)" >> "$OPSBOOK_OUTPUT""#), ["replica"]);
        assert_eq!(outputs_written(r#"printf '%s\n' "region=$R" >>$OPSBOOK_OUTPUT"#), ["region"]);
        assert_eq!(outputs_written("echo -n 'db-host=x' >> \"${OPSBOOK_OUTPUT}\""), ["db-host"]);
        assert_eq!(outputs_written("{ echo \"a=1\"; echo \"b<<EOF\"; } >> \"$OPSBOOK_OUTPUT\""), ["a", "b"]);
        assert_eq!(outputs_written("cat >> \"$OPSBOOK_OUTPUT\" <<EOF\nleader=db-1\nlag=$LAG\nEOF"), ["leader", "lag"]);
        // Only commands that write to it.
        assert!(outputs_written(r#"echo "replica=db-2""#).is_empty());
    }

    fn just_names(text: &str) -> Vec<String> {
        names(text).into_iter().map(|(n, _, _)| n).collect()
    }

    #[test]
    fn placeholder_table() {
        let cases: &[(&str, &[&str])] = &[
            ("kubectl describe pod <pod-name> -n aragora", &["pod-name"]),
            ("curl -H \"Authorization: Bearer $STATUS_PAGE_TOKEN\" x", &["STATUS_PAGE_TOKEN"]),
            ("OLD_NODE_POOL=<name of old pool>", &["name of old pool"]),
            ("oc -n x logs $CONTROLLERPOD -c y", &["CONTROLLERPOD"]),
            ("oc logs $OVNKUBE-MASTER-POD-NAME", &["OVNKUBE-MASTER-POD-NAME"]),
            ("oc audit --user=${top-user-from-last-command}", &["top-user-from-last-command"]),
            ("oc get pods -o template --template '{{range .items}}{{.metadata.name}}{{end}}'", &[]),
            ("kubectl get pods -o jsonpath='{.items[*].metadata.name}'", &[]),
            ("echo {{ name }} and {{end}}", &["name"]),
            ("cat < file > out; cat <<EOF\nx\nEOF", &[]),
            ("awk '{print $1}' | sed 's/$HOME/x/'", &[]),
            ("echo $HOME $PATH $1 $@ $?", &[]),
            ("for i in 1 2; do echo $i; done", &[]),
            ("X=1; echo $X ${Y:-def}", &["Y"]),
            ("read -r answer; echo $answer", &[]),
            ("echo '<value of thing>'", &["value of thing"]),
            ("echo \\$LITERAL", &[]),
            ("# replace <pod-name>\n", &[]),
        ];
        for (text, expected) in cases {
            assert_eq!(just_names(text), *expected, "for {text:?}");
        }
    }

    #[test]
    fn quoting_is_recorded() {
        let found = names("a <x> \"<y>\" '<z>' \"$V\"");
        let quoting: Vec<_> = found.iter().map(|(_, _, q)| *q).collect();
        assert_eq!(quoting, [Quoting::Bare, Quoting::Double, Quoting::Single, Quoting::Double]);
    }

    #[test]
    fn default_values_are_kept() {
        let lexed = lex("echo ${REGION:-eu-west-1}");
        let position = |_: usize, offset: usize| (1, offset as u32 + 1);
        let command = CommandText { index: 0, text: "echo ${REGION:-eu-west-1}", lexed: &lexed };
        let found = collect(&[command], &HashSet::new(), &position);
        assert_eq!(found[0].default.as_deref(), Some("eu-west-1"));
        assert_eq!(found[0].kind, PlaceholderKind::Env);
    }
}
