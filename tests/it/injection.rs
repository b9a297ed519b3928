//! Hostile input values against every placeholder context the lexer knows, with bash as the
//! oracle: a marker file must never appear, an echoed value comes back byte-identical, and where
//! bash evaluates a value as code only a plain integer (or a plain name) is let through.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use opsbook::exec::script::{self, ScriptError, Selection};
use opsbook::model::Evaluation;
use proptest::prelude::*;

use crate::common::parse_text;

/// How a context gives back the value: the expected stdout for `value`, or `None` when the
/// value is not echoed (it is used as a name or a number).
type Oracle = fn(&str) -> Option<String>;

/// A step using `<v>` (or `{{ v }}`) in one context, and what it prints.
struct Context {
    script: &'static str,
    oracle: Oracle,
    /// Bash evaluates the value here: only such values are accepted.
    evaluated: Option<Evaluation>,
}

fn same(value: &str) -> Option<String> {
    Some(format!("{value}\n"))
}

/// `$(…)` drops trailing newlines.
fn substituted(value: &str) -> Option<String> {
    Some(format!("{}\n", value.trim_end_matches('\n')))
}

fn plus_one(value: &str) -> Option<String> {
    value.parse::<i64>().ok().map(|n| format!("{}\n", n + 1))
}

fn unchecked(_: &str) -> Option<String> {
    None
}

const CONTEXTS: &[Context] = &[
    Context { script: "printf '%s\\n' <v>", oracle: same, evaluated: None },
    Context { script: "printf '%s\\n' \"<v>\"", oracle: same, evaluated: None },
    Context { script: "printf '%s\\n' '<v>'", oracle: same, evaluated: None },
    Context { script: "printf '%s\\n' {{ v }}", oracle: same, evaluated: None },
    Context { script: "printf '%s\\n' \"$(printf '%s' <v>)\"", oracle: substituted, evaluated: None },
    Context { script: "printf '%s\\n' \"$(printf '%s' \"<v>\")\"", oracle: substituted, evaluated: None },
    Context {
        script: "printf '%s\\n' \"$(printf '%s' \"$(printf '%s' <v>)\")\"",
        oracle: substituted,
        evaluated: None,
    },
    Context { script: "printf '%s\\n' \"`printf '%s' <v>`\"", oracle: substituted, evaluated: None },
    Context { script: "printf '%s\\n' \"${UNSET_VAR:-<v>}\"", oracle: same, evaluated: None },
    Context { script: "printf '%s\\n' ${UNSET_VAR:-<v>}", oracle: same, evaluated: None },
    Context { script: "cat <<EOF\n<v>\nEOF", oracle: same, evaluated: None },
    Context { script: "cat <<EOF\n$(printf '%s' <v>)\nEOF", oracle: substituted, evaluated: None },
    Context {
        script: "printf '%s\\n' \"count=$(printf '%s\\n' <v> | wc -l)\" | cut -d= -f2",
        oracle: count_one,
        evaluated: None,
    },
    Context { script: "echo \"$(( <v> + 1 ))\"", oracle: plus_one, evaluated: Some(Evaluation::Integer) },
    Context { script: "echo $(( {{ v }} + 1 ))", oracle: plus_one, evaluated: Some(Evaluation::Integer) },
    Context { script: "echo $[ <v> + 1 ]", oracle: plus_one, evaluated: Some(Evaluation::Integer) },
    Context { script: "(( <v> > 3 )) && echo yes || echo no", oracle: unchecked, evaluated: Some(Evaluation::Integer) },
    Context {
        script: "[[ \"<v>\" -gt 5 ]] && echo yes || echo no",
        oracle: unchecked,
        evaluated: Some(Evaluation::Integer),
    },
    Context { script: "let x=<v>+1; echo $x", oracle: plus_one, evaluated: Some(Evaluation::Integer) },
    Context { script: "declare -i k; k=<v>; echo $((k + 1))", oracle: plus_one, evaluated: Some(Evaluation::Integer) },
    Context { script: "arr=(a b c); echo \"${arr[<v>]}\"", oracle: unchecked, evaluated: Some(Evaluation::Integer) },
    Context { script: "s=abcdef; echo \"${s:<v>}\"", oracle: unchecked, evaluated: Some(Evaluation::Integer) },
    Context { script: "s=abcdef; echo \"${s:0:<v>}\"", oracle: unchecked, evaluated: Some(Evaluation::Integer) },
    Context { script: "read -r <v> <<< x; echo read", oracle: unchecked, evaluated: Some(Evaluation::Name) },
    Context { script: "printf -v <v> '%s' x; echo set", oracle: unchecked, evaluated: Some(Evaluation::Name) },
    Context { script: "[[ -v <v> ]] && echo yes || echo no", oracle: unchecked, evaluated: Some(Evaluation::Name) },
];

/// `printf '%s\n' VALUE | wc -l` counts one line for any single word.
fn count_one(value: &str) -> Option<String> {
    Some(format!("{}\n", value.matches('\n').count() + 1))
}

/// Values that run a command if spliced, split, globbed or evaluated.
const HOSTILE: &[&str] = &[
    "$(touch pwned-dollar)",
    "`touch pwned-backquote`",
    "a[$(touch pwned-subscript)]",
    "x[`touch pwned-subscript-bq`]",
    "'; touch pwned-single; '",
    "\"; touch pwned-double; \"",
    "a b *",
    "--all",
    "x\ny",
    "EOF\ntouch pwned-heredoc\ncat <<EOF",
    "$HOME ${IFS} $((1+1))",
    "\\",
    "ünïcödé ✓",
    "*",
    ")",
    "-1",
    "42",
    "0x1F",
    "valid_name",
    "",
];

/// Runs `text` with `env` in `dir`; stdout, and whether it exited 0.
fn bash(dir: &Path, text: &str, env: &std::collections::BTreeMap<String, String>) -> (String, bool) {
    let output = Command::new("bash")
        .arg("-c")
        .arg(text)
        .envs(env)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("bash runs");
    (String::from_utf8_lossy(&output.stdout).into_owned(), output.status.success())
}

fn markers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("scratch folder")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("pwned"))
        .collect()
}

/// One value in one context: refused where it may not stand, else run, and nothing but text.
fn check(context: &Context, value: &str) {
    let runbook = parse_text(&format!("# T\n\n```bash\n{}\n```\n", context.script));
    let step = &runbook.steps[0];
    let inputs = HashMap::from([("v".to_owned(), value.to_owned())]);
    let built = script::build(step, Selection::All, &inputs, &|_| false);
    let accepted = context.evaluated.is_none_or(|evaluation| evaluation.accepts(value));
    match built {
        Err(ScriptError::Evaluated { name, evaluation, .. }) => {
            assert!(!accepted, "{:?} refused {value:?} in {:?}", evaluation, context.script);
            assert_eq!(Some(evaluation), context.evaluated, "{:?}", context.script);
            assert_eq!(name, "v");
        }
        Err(other) => panic!("{:?} with {value:?}: {other}", context.script),
        Ok(built) => {
            assert!(accepted, "{value:?} was let into {:?}", context.script);
            let dir = tempfile::tempdir().expect("scratch folder");
            let (out, _) = bash(dir.path(), &built.text, &built.env);
            assert_eq!(markers(dir.path()), Vec::<String>::new(), "{value:?} ran a command in {:?}", context.script);
            if let Some(expected) = (context.oracle)(value) {
                assert_eq!(out, expected, "{value:?} did not come back as text from {:?}", context.script);
            }
        }
    }
}

#[test]
fn hostile_values_in_every_context_stay_text_or_are_refused() {
    for context in CONTEXTS {
        let runbook = parse_text(&format!("# T\n\n```bash\n{}\n```\n", context.script));
        let occurrences: Vec<_> = runbook.steps[0].placeholders.iter().flat_map(|p| &p.occurrences).collect();
        assert!(!occurrences.is_empty(), "{:?} has a placeholder", context.script);
        assert!(
            occurrences.iter().all(|o| o.evaluated == context.evaluated),
            "{:?}: {:?}",
            context.script,
            occurrences.iter().map(|o| o.evaluated).collect::<Vec<_>>()
        );
        for value in HOSTILE {
            check(context, value);
        }
    }
}

/// Values built from the characters bash treats specially.
fn hostile_value() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "$(",
        ")",
        "`",
        "'",
        "\"",
        "\\",
        "$",
        "{",
        "}",
        "[",
        "]",
        "*",
        "?",
        " ",
        "\n",
        ";",
        "&",
        "|",
        "<",
        ">",
        "a",
        "7",
        "-",
        "~",
        "#",
        "!",
        "=",
        "touch pwned-prop",
        "a[",
        "IFS",
        "ü",
    ]);
    prop::collection::vec(pieces, 0..12).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn generated_values_never_run_anything(value in hostile_value()) {
        for context in CONTEXTS {
            check(context, &value);
        }
    }
}
