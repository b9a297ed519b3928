//! Where bash evaluates a word as code rather than taking it as text.
//!
//! Quoting decides how a value is split and globbed; it does not stop bash from *evaluating* a
//! value in some places. In arithmetic (`$(( ))`, `(( ))`, `let`, the operands of `[[ a -gt b ]]`,
//! array subscripts, the offset and length of `${x:i:n}`, values of `declare -i` variables)
//! `a[$(id)]` runs `id`; where a word is a variable name (`read NAME`, `printf -v NAME`,
//! `[[ -v NAME ]]`, `unset NAME`, `declare NAME=…`, the target of `declare -n`) a subscript in the
//! name is evaluated the same way. The lexer records the expansions it reads (`$(( ))`, `$[ ]`,
//! `${…}`); this pass adds what only the commands around a word tell. The executor then lets only
//! a plain integer, or a plain name, stand in these places.

use std::collections::HashSet;
use std::ops::Range;

use super::shell::{Ctx, Kind, Lexed, Token, for_each_simple_command, matching};
use crate::model::Evaluation;

/// Adds the evaluated ranges that the commands of a lexed script make.
pub(crate) fn mark_commands(src: &str, lexed: &mut Lexed) {
    let mut found = Vec::new();
    arithmetic_commands(&lexed.tokens, &mut found);
    test_operands(&lexed.tokens, &mut found);
    let mut integers = HashSet::new();
    for_each_simple_command(&lexed.tokens, |words| builtin_arguments(words, &mut integers, &mut found));
    subscripts(src, &lexed.ctx, &mut found);
    lexed.evaluated.extend(found);
}

/// `(( … ))` and `for (( … ))`: two adjacent `(` to their matching `)`.
fn arithmetic_commands(tokens: &[Token], found: &mut Vec<(Range<usize>, Evaluation)>) {
    let mut index = 0;
    while index + 1 < tokens.len() {
        let (first, second) = (&tokens[index], &tokens[index + 1]);
        if first.is_op("(") && second.is_op("(") && first.range.end == second.range.start {
            let mut depth = 0usize;
            let mut end = tokens.len() - 1;
            for (at, token) in tokens.iter().enumerate().skip(index) {
                if token.is_op("(") {
                    depth += 1;
                } else if token.is_op(")") {
                    depth -= 1;
                    if depth == 0 {
                        end = at;
                        break;
                    }
                }
            }
            found.push((first.range.start..tokens[end].range.end, Evaluation::Integer));
            index = end + 1;
        } else {
            index += 1;
        }
    }
}

/// Inside `[[ … ]]`: both operands of `-eq -ne -lt -le -gt -ge` are arithmetic; the operand of
/// `-v` and `-R` is a variable name.
fn test_operands(tokens: &[Token], found: &mut Vec<(Range<usize>, Evaluation)>) {
    let mut inside = false;
    let words: Vec<&Token> = tokens.iter().filter(|t| t.kind == Kind::Word).collect();
    for (index, word) in words.iter().enumerate() {
        match word.value.as_str() {
            "[[" => inside = true,
            "]]" => inside = false,
            "-eq" | "-ne" | "-lt" | "-le" | "-gt" | "-ge" if inside => {
                for operand in [index.checked_sub(1), Some(index + 1)].into_iter().flatten() {
                    if let Some(operand) = words.get(operand) {
                        found.push((operand.range.clone(), Evaluation::Integer));
                    }
                }
            }
            "-v" | "-R" if inside => {
                if let Some(operand) = words.get(index + 1) {
                    found.push((operand.range.clone(), Evaluation::Name));
                }
            }
            _ => {}
        }
    }
}

/// Builtins whose arguments are evaluated: `let`, `declare`/`typeset`/`local`/`export`/
/// `readonly` (names; values of `-i` integers; targets of `-n` references), `read`, `unset`,
/// `printf -v`, `test -v`, and later assignments to a `declare -i` variable.
fn builtin_arguments(words: &[&Token], integers: &mut HashSet<String>, found: &mut Vec<(Range<usize>, Evaluation)>) {
    let mut at = 0;
    while let Some(word) = words.get(at).filter(|w| w.assignment) {
        if let Some((name, value)) = split_assignment(word)
            && integers.contains(name)
        {
            found.push((value, Evaluation::Integer));
        }
        at += 1;
    }
    let Some(program) = words.get(at) else { return };
    let arguments = &words[at + 1..];
    match program.value.as_str() {
        "let" => found.extend(arguments.iter().map(|w| (w.range.clone(), Evaluation::Integer))),
        "declare" | "typeset" | "local" | "export" | "readonly" => {
            let flags: String =
                arguments.iter().filter(|w| w.value.starts_with('-')).map(|w| w.value.as_str()).collect();
            let (integer, reference) = (flags.contains('i'), flags.contains('n'));
            for word in arguments.iter().filter(|w| !w.value.starts_with(['-', '+'])) {
                match split_assignment(word) {
                    Some((name, value)) => {
                        let name_end = word.range.start + name.len();
                        found.push((word.range.start..name_end, Evaluation::Name));
                        if integer {
                            integers.insert(name.to_owned());
                            found.push((value, Evaluation::Integer));
                        } else if reference {
                            found.push((value, Evaluation::Name));
                        }
                    }
                    None => {
                        if integer {
                            integers.insert(word.value.to_string());
                        }
                        found.push((word.range.clone(), Evaluation::Name));
                    }
                }
            }
        }
        "unset" => found.extend(
            arguments.iter().filter(|w| !w.value.starts_with('-')).map(|w| (w.range.clone(), Evaluation::Name)),
        ),
        "read" => {
            let mut rest = arguments.iter();
            while let Some(word) = rest.next() {
                match word.value.as_str() {
                    "-p" | "-d" | "-n" | "-N" | "-t" | "-u" | "-i" => {
                        rest.next();
                    }
                    flag if flag.starts_with('-') => {}
                    _ => found.push((word.range.clone(), Evaluation::Name)),
                }
            }
        }
        "printf" | "test" | "[" => {
            let test = program.value != "printf";
            for pair in arguments.windows(2) {
                if pair[0].value == "-v" || (test && pair[0].value == "-R") {
                    found.push((pair[1].range.clone(), Evaluation::Name));
                }
            }
        }
        _ => {}
    }
}

/// `NAME=value` or `NAME+=value`: the name and the value's byte range.
fn split_assignment(word: &Token) -> Option<(&str, Range<usize>)> {
    let equals = word.value.find('=')?;
    let name = word.value[..equals].trim_end_matches('+');
    let name = name.split('[').next().unwrap_or(name);
    // The value's offset in the raw text: the raw word starts with the same name.
    let value_start = word.range.start + equals + 1;
    Some((name, value_start.min(word.range.end)..word.range.end))
}

/// `name[ … ]` where bash reads an array element (`a[i]=x`, `${a[i]}`, `unset a[i]`,
/// `(( a[i] ))`): the subscript is arithmetic. A name glued to a path (`app[1]` in `/logs/app[1]`)
/// or expanded before it (`$a[1]`) is a glob, not an array.
fn subscripts(src: &str, ctx: &[Ctx], found: &mut Vec<(Range<usize>, Evaluation)>) {
    let bytes = src.as_bytes();
    if !bytes.contains(&b'[') {
        return;
    }
    let mut at = 0;
    while let Some(offset) = memchr::memchr(b'[', &bytes[at..]) {
        let open = at + offset;
        at = open + 1;
        let name_start =
            bytes[..open].iter().rposition(|b| !(b.is_ascii_alphanumeric() || *b == b'_')).map_or(0, |p| p + 1);
        if name_start == open || !(bytes[name_start].is_ascii_alphabetic() || bytes[name_start] == b'_') {
            continue;
        }
        let before = name_start.checked_sub(1).map(|p| bytes[p]);
        if !matches!(before, None | Some(b' ' | b'\t' | b'\n' | b'{' | b'(' | b';' | b'&' | b'|' | b'!' | b'#' | b'"'))
        {
            continue;
        }
        if matches!(ctx.get(open), Some(Ctx::Single | Ctx::Comment | Ctx::HeredocLiteral)) {
            continue;
        }
        let close = matching(bytes, open, b'[', b']');
        found.push((open + 1..close, Evaluation::Integer));
    }
}

/// The variable names read inside the evaluated ranges of a lexed script: in arithmetic every
/// name (`LIMIT` and `$LIMIT` alike, as bash evaluates a bare name's value too); in a name
/// context the `$NAME` references (their values are taken as names).
pub(crate) fn names(lexed: &Lexed, src: &str) -> Vec<(String, Evaluation)> {
    let bytes = src.as_bytes();
    let mut found = Vec::new();
    for (range, evaluation) in &lexed.evaluated {
        let end = range.end.min(bytes.len());
        let mut at = range.start.min(end);
        while at < end {
            let is_name = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
            if !is_name(bytes[at]) || (at > 0 && is_name(bytes[at - 1])) {
                at += 1;
                continue;
            }
            let len = bytes[at..end].iter().take_while(|b| is_name(**b)).count();
            let dollar = (at > 0 && matches!(bytes[at - 1], b'$' | b'{'))
                || (at > 1 && bytes[at - 1] == b'!' && bytes[at - 2] == b'{');
            let starts_like_name = bytes[at].is_ascii_alphabetic() || bytes[at] == b'_';
            if starts_like_name && (dollar || *evaluation == Evaluation::Integer) {
                found.push((src[at..at + len].to_owned(), *evaluation));
            }
            at += len;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::super::shell::lex;
    use crate::model::Evaluation;

    /// The evaluation of the first byte of `needle` in `src`.
    fn at(src: &str, needle: &str) -> Option<Evaluation> {
        let lexed = lex(src);
        lexed.evaluation_at(src.find(needle).expect("needle in source"))
    }

    #[test]
    fn names_read_where_bash_evaluates() {
        let names = |src: &str| super::names(&lex(src), src);
        assert_eq!(names("if (( LIMIT > 3 )); then echo big; fi"), [("LIMIT".to_owned(), Evaluation::Integer)]);
        assert_eq!(names("echo $(( $LIMIT + 1 ))"), [("LIMIT".to_owned(), Evaluation::Integer)]);
        assert_eq!(names("echo \"${!TARGET}\""), [("TARGET".to_owned(), Evaluation::Name)]);
        assert_eq!(names("echo \"$LIMIT\""), []);
    }

    #[test]
    fn evaluated_contexts_table() {
        use Evaluation::{Integer, Name};
        let cases: &[(&str, &str, Option<Evaluation>)] = &[
            ("echo \"$(( NNN + 1 ))\"", "NNN", Some(Integer)),
            ("echo $[ NNN + 1 ]", "NNN", Some(Integer)),
            ("(( NNN > 5 )) && echo big", "NNN", Some(Integer)),
            ("for (( i = 0; i < NNN; i++ )); do echo $i; done", "NNN", Some(Integer)),
            ("let x=NNN+1", "NNN", Some(Integer)),
            ("[[ \"NNN\" -gt 5 ]]", "NNN", Some(Integer)),
            ("[[ 5 -le NNN ]]", "NNN", Some(Integer)),
            ("[[ NNN == 5 ]]", "NNN", None),
            ("[ \"NNN\" -gt 5 ]", "NNN", None),
            ("echo \"${arr[NNN]}\"", "NNN", Some(Integer)),
            ("arr[NNN]=x", "NNN", Some(Integer)),
            ("unset 'arr[1]' arr[NNN]", "NNN", Some(Integer)),
            ("echo \"${s:NNN:2}\"", "NNN", Some(Integer)),
            ("echo \"${s:1:NNN}\"", "NNN", Some(Integer)),
            ("echo \"${s:-NNN}\"", "NNN", None),
            ("echo \"${s:=NNN}\"", "NNN", None),
            ("declare -i n=NNN", "NNN", Some(Integer)),
            ("declare -i n; n=NNN", "NNN", Some(Integer)),
            ("local -ri n; echo; n+=NNN", "NNN", Some(Integer)),
            ("m=NNN", "NNN", None),
            ("read -r NNN", "NNN", Some(Name)),
            ("read -p prompt NNN", "NNN", Some(Name)),
            ("read -p NNN x", "NNN", None),
            ("printf -v NNN '%s' x", "NNN", Some(Name)),
            ("[[ -v NNN ]]", "NNN", Some(Name)),
            ("test -v NNN", "NNN", Some(Name)),
            ("declare -n ref=NNN", "NNN", Some(Name)),
            ("echo \"${!NNN}\"", "NNN", Some(Name)),
            ("ls /var/log/app[NNN]", "NNN", None),
            ("echo $arr[NNN]", "NNN", None),
            ("echo 'a[NNN]'", "NNN", None),
            ("echo $(( $(wc -l < NNN) + 1 ))", "NNN", Some(Integer)),
            ("kubectl get pods -o jsonpath='{.items[NNN]}'", "NNN", None),
        ];
        for (src, needle, expected) in cases {
            assert_eq!(at(src, needle), *expected, "for {src:?}");
        }
    }
}
