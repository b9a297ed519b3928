//! Step outputs: the `NAME=value` lines a step writes to the file named by `$OPSBOOK_OUTPUT`
//! (as GitHub Actions' `$GITHUB_OUTPUT`), read back when it ends. They become session values
//! that fill later placeholders of that name.
//!
//! The file's rules: one `NAME=value` per line (the value is the rest of the line), or a value
//! over several lines as `NAME<<DELIMITER`, the lines, then `DELIMITER` alone on a line; a later
//! line for a name wins. A name is a placeholder name (`[A-Za-z_][A-Za-z0-9_-]*`) and not one
//! the shell or a runtime acts on ([`super::script::is_acted_on`]). Anything else is
//! reported, line by line, and left out.

use std::collections::BTreeMap;

/// At most this much of the file is read.
pub const LIMIT: usize = 1024 * 1024;

/// What a step's output file held.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outputs {
    pub values: BTreeMap<String, String>,
    /// What was left out and why, one line each (`line 3: ...`).
    pub problems: Vec<String>,
}

/// A name a step may set: a placeholder name, not one the shell or a runtime acts on.
pub fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && name.len() <= 128
        && !super::script::is_acted_on(name)
}

/// Reads the file's bytes by the rules above.
pub fn parse(bytes: &[u8]) -> Outputs {
    let mut outputs = Outputs::default();
    let kept = &bytes[..bytes.len().min(LIMIT)];
    if bytes.len() > LIMIT {
        outputs.problems.push(format!("larger than {} KiB: the rest is not read", LIMIT / 1024));
    }
    let text = String::from_utf8_lossy(kept);
    if matches!(text, std::borrow::Cow::Owned(_)) {
        outputs.problems.push("not UTF-8: invalid bytes were replaced".to_owned());
    }
    let mut lines = text.split('\n').map(|line| line.strip_suffix('\r').unwrap_or(line)).enumerate();
    while let Some((index, line)) = lines.next() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let (name, value) = if let Some((name, delimiter)) = line.split_once("<<")
            && !name.contains('=')
        {
            if delimiter.is_empty() {
                outputs.problems.push(format!("line {number}: `{name}<<` needs a delimiter"));
                continue;
            }
            let mut body: Vec<&str> = Vec::new();
            let mut closed = false;
            for (_, next) in lines.by_ref() {
                if next == delimiter {
                    closed = true;
                    break;
                }
                body.push(next);
            }
            if !closed {
                outputs.problems.push(format!("line {number}: `{name}` has no closing `{delimiter}` line: left out"));
                continue;
            }
            (name, body.join("\n"))
        } else if let Some((name, value)) = line.split_once('=') {
            (name, value.to_owned())
        } else {
            outputs.problems.push(format!("line {number}: not NAME=value: left out"));
            continue;
        };
        if !valid_name(name) {
            let shown: String = name.chars().take(40).flat_map(char::escape_debug).collect();
            outputs.problems.push(format!(
                "line {number}: `{shown}` is not a name a step may set (letters, digits, `_`, `-`; not a variable the shell acts on): left out"
            ));
            continue;
        }
        if value.contains('\0') {
            outputs.problems.push(format!("line {number}: the value of `{name}` holds a NUL byte: left out"));
            continue;
        }
        outputs.values.insert(name.to_owned(), value);
    }
    outputs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_heredocs_and_what_is_left_out() {
        let file = "replica=db-2\r\nregion=eu=west\n\nnotes<<EOF\nfirst\nsecond\nEOF\nreplica=db-3\nno equals sign\n\
                    BASH_ENV=/tmp/x\n9lives=1\nopen<<END\nnever closed\n";
        let outputs = parse(file.as_bytes());
        let values: Vec<(&str, &str)> = outputs.values.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(values, [("notes", "first\nsecond"), ("region", "eu=west"), ("replica", "db-3")]);
        assert_eq!(
            outputs.problems,
            [
                "line 9: not NAME=value: left out",
                "line 10: `BASH_ENV` is not a name a step may set (letters, digits, `_`, `-`; not a variable the shell acts on): left out",
                "line 11: `9lives` is not a name a step may set (letters, digits, `_`, `-`; not a variable the shell acts on): left out",
                "line 12: `open` has no closing `END` line: left out",
            ]
        );
    }

    #[test]
    fn placeholder_names_with_dashes_are_names_and_what_bash_reads_is_not() {
        let outputs = parse(b"api-key=k1\npod-name=api-7\nTMOUT=1\nGIT_ASKPASS=/tmp/x\nTIMEFORMAT=%R\n");
        assert_eq!(outputs.values.keys().collect::<Vec<_>>(), ["api-key", "pod-name"]);
        assert_eq!(outputs.problems.len(), 3, "{:?}", outputs.problems);
    }

    #[test]
    fn a_nul_an_oversized_file_and_invalid_bytes_are_said() {
        let outputs = parse(b"a=x\0y\nb=\xff\n");
        assert_eq!(outputs.values.get("b").map(String::as_str), Some("\u{fffd}"));
        assert!(!outputs.values.contains_key("a"));
        assert!(outputs.problems.iter().any(|p| p.contains("NUL")), "{:?}", outputs.problems);
        assert!(outputs.problems.iter().any(|p| p.contains("not UTF-8")), "{:?}", outputs.problems);
        let big = format!("a=1\n{}", "x".repeat(LIMIT));
        let outputs = parse(big.as_bytes());
        assert_eq!(outputs.values.get("a").map(String::as_str), Some("1"));
        assert!(outputs.problems[0].starts_with("larger than 1024 KiB"));
    }
}
