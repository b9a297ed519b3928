//! From a step and input values to the script a shell runs: values are never spliced as text.
//!
//! Every value reaches the shell as an environment variable. A `<pod-name>`, `{{ name }}` or
//! dashed placeholder in the script becomes a reference to that variable, quoted for where it
//! stands, so the shell expands it once and never parses it: `$(touch f)` in a value is text.
//! `$VAR` placeholders are already references; their values are passed under their own names.

use std::collections::{BTreeMap, HashMap};

use crate::model::{Evaluation, PlaceholderKind, Quoting, Step};

/// What to run: one command of the step (0-based) or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    All,
    Command(usize),
}

/// The script for a run, the variables it needs, and the text to record as run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// The text given to the shell: placeholders replaced by variable references.
    pub text: String,
    /// Variables to set for the run: values of inputs.
    pub env: BTreeMap<String, String>,
    /// The commands as a person would have typed them, values in place (not yet redacted).
    pub display: String,
    /// The input values used, by placeholder name.
    pub inputs: BTreeMap<String, String>,
    /// Values handed to a second interpreter that parses them again (`bash -c`, `ssh host`,
    /// `awk`): opsbook's quoting protects them from bash only. Said before the run starts.
    pub handed_over: Vec<HandedOver>,
}

/// An input whose value another interpreter parses again.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HandedOver {
    pub name: String,
    /// The interpreter, as a person would name it (`awk`, `ssh (the remote shell)`).
    pub interpreter: &'static str,
    /// The runbook line of the placeholder.
    pub line: u32,
}

impl std::fmt::Display for HandedOver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the value of `{}` (line {}) is handed to {}, which parses it again: opsbook quotes it for bash only",
            self.name, self.line, self.interpreter
        )
    }
}

/// Why a script could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    #[error("step `{step}` has no command {number} (it has {count})")]
    NoSuchCommand { step: String, number: usize, count: usize },
    #[error("missing input{}: {}", if .0.len() == 1 { "" } else { "s" }, .0.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(", "))]
    Missing(Vec<MissingInput>),
    #[error(
        "the value of `{name}` cannot hold a line break: it stands in a quoted heredoc, where it would end the text early"
    )]
    LineBreakInLiteralHeredoc { name: String },
    #[error("the value of `{name}` must be {} (line {line}); the value given is not, and bash would run code in it", .evaluation.wants())]
    Evaluated { name: String, evaluation: Evaluation, line: u32 },
    #[error("the value of `{name}` holds a NUL byte, which no command line or environment can carry")]
    NulByte { name: String },
    #[error(
        "`{name}` is not an input of this step{}: a run takes values only for the placeholders the step declares",
        if .declared.is_empty() { " (it has none)".to_owned() } else { format!(" (its inputs: {})", .declared.join(", ")) }
    )]
    Undeclared { name: String, declared: Vec<String> },
    #[error(
        "`{name}` is read by the shell or the program loader itself (it can run code before the step): a run cannot set it; set it in the environment opsbook starts in"
    )]
    ShellVariable { name: String },
}

/// An input the step needs and nobody gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingInput {
    pub name: String,
    /// The step of the same runbook that would set it, if any.
    pub set_by: Option<String>,
}

impl std::fmt::Display for MissingInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.set_by {
            Some(step) => write!(f, "`{}` (set by step `{step}`: run it first, or give a value)", self.name),
            None => write!(f, "`{}`", self.name),
        }
    }
}

/// The placeholders the selection uses, in order of first use.
pub fn needed(step: &Step, selection: Selection) -> impl Iterator<Item = &crate::model::Placeholder> {
    step.placeholders.iter().filter(move |p| match selection {
        Selection::All => true,
        Selection::Command(index) => p.occurrences.iter().any(|o| o.command == index),
    })
}

/// Builds the script. `inputs` are values given by name; `known_env` tells whether a `$VAR`
/// is already set (process environment, or exported by an earlier run of the session).
pub fn build(
    step: &Step,
    selection: Selection,
    inputs: &HashMap<String, String>,
    known_env: &dyn Fn(&str) -> bool,
) -> Result<Script, ScriptError> {
    let indices: Vec<usize> = match selection {
        Selection::All => (0..step.commands.len()).collect(),
        Selection::Command(index) if index < step.commands.len() => vec![index],
        Selection::Command(index) => {
            return Err(ScriptError::NoSuchCommand {
                step: step.id.clone(),
                number: index + 1,
                count: step.commands.len(),
            });
        }
    };
    let mut missing = Vec::new();
    let mut env = BTreeMap::new();
    let mut used = BTreeMap::new();
    let mut variable_of: HashMap<&str, String> = HashMap::new();
    for placeholder in needed(step, selection) {
        let given = inputs.get(&placeholder.name);
        match placeholder.kind {
            PlaceholderKind::Env => {
                if let Some(value) = given {
                    if is_shell_variable(&placeholder.name) {
                        return Err(ScriptError::ShellVariable { name: placeholder.name.clone() });
                    }
                    env.insert(placeholder.name.clone(), value.clone());
                    used.insert(placeholder.name.clone(), value.clone());
                } else if !known_env(&placeholder.name) && placeholder.default.is_none() {
                    missing.push(MissingInput { name: placeholder.name.clone(), set_by: placeholder.set_by.clone() });
                }
            }
            PlaceholderKind::Angle | PlaceholderKind::Brace | PlaceholderKind::Dashed => {
                let Some(value) = given else {
                    missing.push(MissingInput { name: placeholder.name.clone(), set_by: placeholder.set_by.clone() });
                    continue;
                };
                let mut variable = input_variable(&placeholder.name);
                while variable_of.values().any(|v| *v == variable) {
                    variable.push('_');
                }
                env.insert(variable.clone(), value.clone());
                used.insert(placeholder.name.clone(), value.clone());
                variable_of.insert(placeholder.name.as_str(), variable);
            }
        }
    }
    if !missing.is_empty() {
        return Err(ScriptError::Missing(missing));
    }
    let mut handed_over = Vec::new();
    for placeholder in needed(step, selection) {
        let Some(value) = used.get(&placeholder.name) else { continue };
        for occurrence in placeholder.occurrences.iter().filter(|o| indices.contains(&o.command)) {
            if let Some(evaluation) = occurrence.evaluated
                && !evaluation.accepts(value)
            {
                return Err(ScriptError::Evaluated {
                    name: placeholder.name.clone(),
                    evaluation,
                    line: occurrence.line,
                });
            }
            if let Some(interpreter) = occurrence.interpreter
                && !handed_over.iter().any(|h: &HandedOver| h.name == placeholder.name && h.interpreter == interpreter)
            {
                handed_over.push(HandedOver { name: placeholder.name.clone(), interpreter, line: occurrence.line });
            }
        }
    }
    let mut text = step.alias_preamble();
    let mut display = String::new();
    for &index in &indices {
        let command = &step.commands[index];
        let mut edits: Vec<(usize, usize, String, String)> = Vec::new();
        for placeholder in &step.placeholders {
            let Some(variable) = variable_of.get(placeholder.name.as_str()) else { continue };
            let value = &used[&placeholder.name];
            for occurrence in placeholder.occurrences.iter().filter(|o| o.command == index) {
                let reference = match occurrence.quoting {
                    Quoting::Bare => format!("\"${{{variable}}}\""),
                    Quoting::Double | Quoting::Heredoc => format!("${{{variable}}}"),
                    Quoting::Single => format!("'\"${{{variable}}}\"'"),
                    Quoting::LiteralHeredoc => {
                        if value.contains(['\n', '\r']) {
                            return Err(ScriptError::LineBreakInLiteralHeredoc { name: placeholder.name.clone() });
                        }
                        value.clone()
                    }
                };
                let shown = match occurrence.quoting {
                    Quoting::Bare => shell_word(value),
                    _ => value.clone(),
                };
                edits.push((occurrence.offset, occurrence.len, reference, shown));
            }
        }
        edits.sort_by_key(|e| std::cmp::Reverse(e.0));
        let mut command_text = command.text.clone();
        let mut shown_text = command.text.clone();
        for (offset, len, reference, shown) in edits {
            let range = offset..offset + len;
            if command_text.get(range.clone()).is_none() {
                continue;
            }
            command_text.replace_range(range.clone(), &reference);
            shown_text.replace_range(range, &shown);
        }
        text.push_str(&command_text);
        text.push('\n');
        display.push_str(&shown_text);
        display.push('\n');
    }
    Ok(Script { text, env, display, inputs: used, handed_over })
}

/// A run takes values only for the placeholders its step declares (the console's form sends
/// the whole step's values when one command runs; the others are simply not used), and no
/// value holds a NUL. This is what keeps a request from choosing anything but values: a name is
/// never an environment variable's name unless the runbook wrote it as one.
pub fn check_inputs(step: &Step, inputs: &HashMap<String, String>) -> Result<(), ScriptError> {
    for (name, value) in inputs {
        if !step.placeholders.iter().any(|p| p.name == *name) {
            let declared = step.placeholders.iter().map(|p| format!("`{}`", p.name)).collect();
            return Err(ScriptError::Undeclared { name: name.clone(), declared });
        }
        if value.contains('\0') {
            return Err(ScriptError::NulByte { name: name.clone() });
        }
    }
    Ok(())
}

/// The variable that carries the value of an angle, brace or dashed placeholder.
pub fn input_variable(name: &str) -> String {
    let mut variable = String::from("OPSBOOK_INPUT_");
    for c in name.chars() {
        variable.push(if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' });
    }
    variable
}

/// A value as a shell word, for display: bare when it is plainly one word, else single-quoted.
pub fn shell_word(value: &str) -> String {
    let plain = !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b));
    if plain { value.to_owned() } else { format!("'{}'", value.replace('\'', r"'\''")) }
}

/// Variables the shell, the C library or a language runtime act on before or around every
/// command: a value for one of them is code (`BASH_ENV` is sourced, `BASH_FUNC_x%%` defines a
/// function, `LD_PRELOAD` and `GCONV_PATH` load a library, `PS4` and `PROMPT_COMMAND` are
/// expanded, `NODE_OPTIONS`, `PERL5OPT` and `PYTHONSTARTUP` run code in every such program),
/// or changes how bash reads the step (`POSIXLY_CORRECT`, `FUNCNEST`, `IFS`, `PATH`).
pub fn is_shell_variable(name: &str) -> bool {
    const NAMES: &[&str] = &[
        "ENV",
        "SHELLOPTS",
        "BASHOPTS",
        "PS0",
        "PS1",
        "PS4",
        "PROMPT_COMMAND",
        "GLOBIGNORE",
        "EXECIGNORE",
        "CDPATH",
        "IFS",
        "PATH",
        "INPUTRC",
        "HISTFILE",
        "POSIXLY_CORRECT",
        "FUNCNEST",
        "LOCPATH",
        "NLSPATH",
        "HOSTALIASES",
        "RES_OPTIONS",
        "NODE_OPTIONS",
        "RUBYOPT",
        "RUBYLIB",
        "JAVA_TOOL_OPTIONS",
        "_JAVA_OPTIONS",
        "GIT_SSH",
        "GIT_SSH_COMMAND",
        "GIT_EXEC_PATH",
        "GIT_CONFIG_PARAMETERS",
        "LESSOPEN",
        "LESSCLOSE",
        // Read by bash itself, or by the tools a step calls to run a program or trust a peer.
        "TMOUT",
        "TIMEFORMAT",
        "MAIL",
        "MAILPATH",
        "MAILCHECK",
        "HOSTFILE",
        "EDITOR",
        "VISUAL",
        "PAGER",
        "MANPAGER",
        "BROWSER",
        "GIT_PAGER",
        "GIT_EDITOR",
        "GIT_ASKPASS",
        "SSH_ASKPASS",
        "SUDO_ASKPASS",
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_CONFIG",
        "GIT_CONFIG_GLOBAL",
        "GIT_CONFIG_SYSTEM",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "CURL_CA_BUNDLE",
        "REQUESTS_CA_BUNDLE",
        "NODE_EXTRA_CA_CERTS",
        "TERMINFO",
        "TERMINFO_DIRS",
    ];
    const PREFIXES: &[&str] = &["BASH_", "LD_", "DYLD_", "GCONV_", "GLIBC_", "MALLOC_", "PYTHON", "PERL5", "OPSBOOK_"];
    NAMES.contains(&name)
        || PREFIXES.iter().any(|prefix| name.starts_with(prefix))
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A name that is a shell variable (letters, digits, `_`) the shell or a runtime acts on; a
/// placeholder name with a dash (`pod-name`) is none.
pub fn is_acted_on(name: &str) -> bool {
    name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') && is_shell_variable(name)
}

/// Values that reach the run by name (exported by an earlier step, remembered by the session,
/// given for a `$VAR` input) where bash evaluates them: `(( LIMIT > 3 ))` and `$(( $LIMIT + 1 ))`
/// evaluate the value of `LIMIT`, so it must be a plain integer there too, wherever it came from.
pub fn check_evaluated_env(
    step: &Step,
    selection: Selection,
    env: &BTreeMap<String, String>,
) -> Result<(), ScriptError> {
    let indices: Vec<usize> = match selection {
        Selection::All => (0..step.commands.len()).collect(),
        Selection::Command(index) => vec![index],
    };
    for command in indices.iter().filter_map(|&index| step.commands.get(index)) {
        for (name, evaluation) in crate::parse::evaluated_names(&command.text) {
            if let Some(value) = env.get(&name)
                && !evaluation.accepts(value)
            {
                return Err(ScriptError::Evaluated { name, evaluation, line: command.line });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(markdown: &str) -> Step {
        let options = crate::parse::ParseOptions::default();
        let parsed = crate::parse::parse_runbook(std::path::Path::new("t.md"), "t.md", markdown, &options);
        parsed.runbook.steps.into_iter().next().expect("a step")
    }

    fn inputs(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn placeholders_become_quoted_references() {
        let step =
            step("# T\n\n```bash\nkubectl logs <pod-name> -c \"<container>\" --tail=10\necho '<pod-name>'\n```\n");
        let script =
            build(&step, Selection::All, &inputs(&[("pod-name", "api 7"), ("container", "app")]), &|_| false).unwrap();
        assert_eq!(
            script.text,
            "kubectl logs \"${OPSBOOK_INPUT_POD_NAME}\" -c \"${OPSBOOK_INPUT_CONTAINER}\" --tail=10\necho ''\"${OPSBOOK_INPUT_POD_NAME}\"''\n"
        );
        assert_eq!(script.display, "kubectl logs 'api 7' -c \"app\" --tail=10\necho 'api 7'\n");
        assert_eq!(script.env["OPSBOOK_INPUT_POD_NAME"], "api 7");
    }

    #[test]
    fn missing_inputs_are_named_and_env_refs_can_be_satisfied() {
        let step = step("# T\n\n```bash\ncurl -H \"Authorization: Bearer $STATUS_PAGE_TOKEN\" <url>\n```\n");
        let err = build(&step, Selection::All, &HashMap::new(), &|_| false).unwrap_err();
        assert_eq!(err.to_string(), "missing inputs: `STATUS_PAGE_TOKEN`, `url`");
        let script =
            build(&step, Selection::All, &inputs(&[("url", "http://x")]), &|name| name == "STATUS_PAGE_TOKEN").unwrap();
        assert!(script.text.contains("$STATUS_PAGE_TOKEN"));
        assert!(!script.env.contains_key("STATUS_PAGE_TOKEN"));
    }

    #[test]
    fn one_command_and_bad_index() {
        let step = step("# T\n\n```bash\necho one\necho two\n```\n");
        assert_eq!(build(&step, Selection::Command(1), &HashMap::new(), &|_| false).unwrap().text, "echo two\n");
        let err = build(&step, Selection::Command(5), &HashMap::new(), &|_| false).unwrap_err();
        assert_eq!(err.to_string(), "step `t` has no command 6 (it has 2)");
    }
}
