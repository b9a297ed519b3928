//! A small shell lexer: enough of bash's grammar to split a script into commands, find the
//! program of each simple command, and know the quoting of every byte.
//!
//! It is not an interpreter and never fails: unbalanced input yields the tokens it could read
//! and says what was left open. It knows quotes (`'`, `"`, `$'…'`), escapes, `\` continuations,
//! `$(…)`, `${…}`, backquotes, comments, operators, heredocs (`<<`, `<<-`, quoted delimiters) and
//! the compound commands (`if`/`for`/`while`/`until`/`case`/`select`, `{ }`, `( )`) that make a
//! command span lines.

use std::ops::Range;

use compact_str::CompactString;

use crate::model::Evaluation;

/// The quoting a byte of a script stands in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ctx {
    Bare,
    Double,
    Single,
    Comment,
    /// Heredoc body whose delimiter was unquoted: `$VAR` expands.
    HeredocExpanding,
    /// Heredoc body whose delimiter was quoted: taken literally.
    HeredocLiteral,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Word,
    Op,
    Newline,
    Comment,
    HeredocBody,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: Kind,
    pub range: Range<usize>,
    /// Words: the value with quotes and escapes removed (substitutions kept as written).
    /// Ops: the operator. Others: empty.
    pub value: CompactString,
    /// Words: whether the word is `NAME=value` (see [`is_assignment`]).
    pub assignment: bool,
}

impl Lexed {
    /// The lexing of the sub-script `range` of this one, as if it had been lexed alone (token
    /// ranges rebased to its start). Only exact for ranges that start and end between tokens.
    pub fn slice(&self, tokens: Range<usize>, range: Range<usize>, last: bool) -> Lexed {
        let base = range.start;
        let tokens = self.tokens[tokens]
            .iter()
            .map(|t| Token {
                kind: t.kind,
                range: t.range.start.saturating_sub(base)..t.range.end.saturating_sub(base).min(range.len()),
                value: t.value.clone(),
                assignment: t.assignment,
            })
            .collect();
        let ctx = self.ctx.get(range.clone()).map_or_else(Vec::new, <[Ctx]>::to_vec);
        let evaluated = self
            .evaluated
            .iter()
            .filter(|(r, _)| r.start < range.end && r.end > range.start)
            .map(|(r, e)| (r.start.max(base) - base..r.end.min(range.end) - base, *e))
            .collect();
        Lexed { tokens, ctx, open: if last { self.open } else { None }, evaluated }
    }
}

impl Token {
    pub fn is_op(&self, op: &str) -> bool {
        self.kind == Kind::Op && self.value == op
    }
}

/// What was still open when the script ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Open {
    SingleQuote,
    DoubleQuote,
    Backquote,
    Substitution,
    Heredoc,
    Continuation,
}

#[derive(Debug, Clone)]
pub(crate) struct Lexed {
    pub tokens: Vec<Token>,
    /// The quoting of each byte of the script.
    pub ctx: Vec<Ctx>,
    pub open: Option<Open>,
    /// Byte ranges bash evaluates as code (arithmetic, variable names), whatever their quoting.
    pub evaluated: Vec<(Range<usize>, Evaluation)>,
}

impl Lexed {
    /// How bash evaluates the byte at `offset`, if it evaluates it as code.
    pub fn evaluation_at(&self, offset: usize) -> Option<Evaluation> {
        // Integer wins where ranges nest (`a[$(( i ))]` inside a name context).
        let mut found = None;
        for (range, evaluation) in &self.evaluated {
            if range.contains(&offset) {
                if *evaluation == Evaluation::Integer {
                    return Some(Evaluation::Integer);
                }
                found = Some(*evaluation);
            }
        }
        found
    }
}

const OPERATORS: [&str; 20] = [
    "<<<", "<<-", ";;&", "&&", "||", "|&", ";;", ";&", "<<", ">>", "<&", ">&", "<>", ">|", "&>", ";", "&", "|", "<",
    ">",
];

pub(crate) fn lex(src: &str) -> Lexed {
    let mut lexer = Lexer {
        src: src.as_bytes(),
        text: src,
        pos: 0,
        tokens: Vec::with_capacity(src.len() / 5 + 4),
        ctx: vec![Ctx::Bare; src.len()],
        open: None,
        pending_heredocs: Vec::new(),
        evaluated: Vec::new(),
    };
    lexer.run();
    let mut lexed = Lexed { tokens: lexer.tokens, ctx: lexer.ctx, open: lexer.open, evaluated: lexer.evaluated };
    super::evaluated::mark_commands(src, &mut lexed);
    lexed
}

struct Heredoc {
    delimiter: String,
    strip_tabs: bool,
    quoted: bool,
}

struct Lexer<'a> {
    src: &'a [u8],
    text: &'a str,
    pos: usize,
    tokens: Vec<Token>,
    ctx: Vec<Ctx>,
    open: Option<Open>,
    pending_heredocs: Vec<Heredoc>,
    evaluated: Vec<(Range<usize>, Evaluation)>,
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t' || b == b'\r'
}

fn is_meta(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b';' | b'&' | b'|' | b'(' | b')' | b'<' | b'>')
}

impl Lexer<'_> {
    fn peek(&self, offset: usize) -> Option<u8> {
        self.src.get(self.pos + offset).copied()
    }

    fn mark(&mut self, range: Range<usize>, ctx: Ctx) {
        let end = range.end.min(self.ctx.len());
        for slot in &mut self.ctx[range.start.min(end)..end] {
            *slot = ctx;
        }
    }

    fn push(&mut self, kind: Kind, range: Range<usize>, value: CompactString) {
        let assignment = kind == Kind::Word && value.as_bytes().contains(&b'=') && is_assignment(&value);
        self.tokens.push(Token { kind, range, value, assignment });
    }

    fn run(&mut self) {
        while let Some(b) = self.peek(0) {
            match b {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'\n' => {
                    self.push(Kind::Newline, self.pos..self.pos + 1, CompactString::default());
                    self.pos += 1;
                    self.read_heredoc_bodies();
                }
                b'\\' if self.peek(1) == Some(b'\n') => {
                    self.pos += 2;
                    if self.pos >= self.src.len() {
                        self.open = Some(Open::Continuation);
                    }
                }
                b'\\' if self.pos + 1 == self.src.len() => {
                    self.pos += 1;
                    self.open = Some(Open::Continuation);
                }
                b'#' => {
                    let start = self.pos;
                    let end = self.text[start..].find('\n').map_or(self.src.len(), |i| start + i);
                    self.mark(start..end, Ctx::Comment);
                    self.push(Kind::Comment, start..end, CompactString::default());
                    self.pos = end;
                }
                b'(' | b')' => {
                    self.push(Kind::Op, self.pos..self.pos + 1, CompactString::from(if b == b'(' { "(" } else { ")" }));
                    self.pos += 1;
                }
                b'<' | b'>' if self.peek(1) == Some(b'(') => self.word(),
                b';' | b'&' | b'|' | b'<' | b'>' => self.operator(),
                _ => self.word(),
            }
        }
        if !self.pending_heredocs.is_empty() && self.open.is_none() {
            self.open = Some(Open::Heredoc);
        }
    }

    fn operator(&mut self) {
        let rest = &self.text[self.pos..];
        let op = OPERATORS.iter().find(|op| rest.starts_with(**op)).copied().unwrap_or(";");
        let start = self.pos;
        self.pos += op.len();
        self.push(Kind::Op, start..self.pos, CompactString::from(op));
        if op == "<<" || op == "<<-" {
            while self.peek(0).is_some_and(is_blank) {
                self.pos += 1;
            }
            if self.peek(0).is_some_and(|b| !is_meta(b)) {
                let before = self.tokens.len();
                self.word();
                if let Some(word) = self.tokens.get(before) {
                    let raw = &self.text[word.range.clone()];
                    let quoted = raw.contains(['\'', '"', '\\']);
                    self.pending_heredocs.push(Heredoc {
                        delimiter: word.value.to_string(),
                        strip_tabs: op == "<<-",
                        quoted,
                    });
                }
            }
        }
    }

    fn read_heredoc_bodies(&mut self) {
        let pending = std::mem::take(&mut self.pending_heredocs);
        for heredoc in pending {
            let start = self.pos;
            let mut terminated = false;
            while self.pos < self.src.len() {
                let line_end = self.text[self.pos..].find('\n').map_or(self.src.len(), |i| self.pos + i);
                let line = self.text[self.pos..line_end].trim_end_matches('\r');
                let line = if heredoc.strip_tabs { line.trim_start_matches('\t') } else { line };
                self.pos = (line_end + 1).min(self.src.len());
                if line == heredoc.delimiter {
                    terminated = true;
                    break;
                }
            }
            let ctx = if heredoc.quoted { Ctx::HeredocLiteral } else { Ctx::HeredocExpanding };
            self.mark(start..self.pos, ctx);
            if !heredoc.quoted {
                self.substitutions_in_body(start..self.pos);
            }
            self.push(Kind::HeredocBody, start..self.pos, CompactString::default());
            if !terminated {
                self.open = Some(Open::Heredoc);
            }
        }
    }

    /// In an expanding heredoc body, `$(…)`, backquotes and `${…}` are read as on a command line:
    /// a command substitution opens a fresh, unquoted context.
    fn substitutions_in_body(&mut self, body: Range<usize>) {
        let (resume, open) = (self.pos, self.open);
        self.pos = body.start;
        while self.pos < body.end {
            match self.src[self.pos] {
                b'\\' => self.pos += 2,
                b'$' | b'`' => self.substitution(Ctx::HeredocExpanding),
                _ => self.pos += 1,
            }
        }
        self.pos = resume;
        self.open = open;
    }

    /// Reads one word, marking the quoting of its bytes.
    fn word(&mut self) {
        let start = self.pos;
        let mut value = CompactString::default();
        // `2>&1`, `2>/dev/null`: a file descriptor number glued to a redirection is part of it.
        let digits = self.text[start..].bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && matches!(self.peek(digits), Some(b'<' | b'>')) && self.peek(digits + 1) != Some(b'(') {
            self.pos += digits;
            self.operator();
            if let Some(last) = self.tokens.last_mut() {
                last.range.start = start;
            }
            return;
        }
        while let Some(b) = self.peek(0) {
            match b {
                b'\\' => match self.peek(1) {
                    Some(b'\n') => self.pos += 2,
                    Some(_) => {
                        let ch = self.text[self.pos + 1..].chars().next().unwrap_or('\\');
                        value.push(ch);
                        self.pos += 1 + ch.len_utf8();
                    }
                    None => {
                        self.pos += 1;
                        self.open = Some(Open::Continuation);
                    }
                },
                b'\'' => {
                    let inner = self.single_quoted(self.pos + 1, false);
                    value.push_str(&inner);
                }
                b'$' if self.peek(1) == Some(b'\'') => {
                    let inner = self.single_quoted(self.pos + 2, true);
                    value.push_str(&inner);
                }
                b'"' => {
                    let inner = self.double_quoted();
                    value.push_str(&inner);
                }
                b'$' | b'`' => {
                    let from = self.pos;
                    self.substitution(Ctx::Bare);
                    value.push_str(&self.text[from..self.pos]);
                }
                b'<' | b'>' if self.pos == start && self.peek(1) == Some(b'(') => {
                    let from = self.pos;
                    self.pos += 1;
                    self.parens();
                    value.push_str(&self.text[from..self.pos]);
                }
                b'(' if value.ends_with('=') => {
                    // `arr=(a b c)`: an array assignment is one word.
                    let from = self.pos;
                    self.parens();
                    value.push_str(&self.text[from..self.pos]);
                }
                _ if is_meta(b) => break,
                _ => {
                    // A run of ordinary bytes at once; it ends on an ASCII byte, so on a char
                    // boundary.
                    let run = self.src[self.pos..]
                        .iter()
                        .take_while(|&&b| !is_meta(b) && !matches!(b, b'\\' | b'\'' | b'"' | b'$' | b'`'))
                        .count()
                        .max(1);
                    let end = (self.pos + run).min(self.src.len());
                    let end = (end..=self.src.len()).find(|i| self.text.is_char_boundary(*i)).unwrap_or(self.src.len());
                    value.push_str(&self.text[self.pos..end]);
                    self.pos = end;
                }
            }
        }
        if self.pos == start {
            // Never loop on a byte no rule takes.
            self.pos += 1;
            return;
        }
        self.push(Kind::Word, start..self.pos, value);
    }

    /// From the byte after the opening quote to after the closing one.
    fn single_quoted(&mut self, body: usize, ansi_c: bool) -> String {
        let open = self.pos;
        let mut i = body;
        while i < self.src.len() {
            if ansi_c && self.src[i] == b'\\' {
                i += 2;
                continue;
            }
            if self.src[i] == b'\'' {
                break;
            }
            i += 1;
        }
        let end = i.min(self.src.len());
        self.mark(open..(end + 1).min(self.src.len()), Ctx::Single);
        let inner = self.text[body.min(end)..end].to_owned();
        if end >= self.src.len() {
            self.open = Some(Open::SingleQuote);
            self.pos = self.src.len();
        } else {
            self.pos = end + 1;
        }
        inner
    }

    fn double_quoted(&mut self) -> String {
        let open = self.pos;
        // The bytes from here to the next substitution are double-quoted; a substitution marks
        // its own (a command substitution's are a fresh context).
        let mut segment = open;
        self.pos += 1;
        let mut inner = String::new();
        while let Some(b) = self.peek(0) {
            match b {
                b'"' => {
                    self.mark(segment..self.pos + 1, Ctx::Double);
                    self.pos += 1;
                    return inner;
                }
                b'\\' => {
                    let next = self.text[self.pos + 1..].chars().next();
                    match next {
                        Some('\n') => {}
                        Some(c @ ('"' | '\\' | '$' | '`')) => inner.push(c),
                        Some(c) => {
                            inner.push('\\');
                            inner.push(c);
                        }
                        None => {}
                    }
                    self.pos += 1 + next.map_or(0, char::len_utf8);
                }
                b'$' | b'`' => {
                    let from = self.pos;
                    self.mark(segment..from, Ctx::Double);
                    self.substitution(Ctx::Double);
                    inner.push_str(&self.text[from..self.pos]);
                    segment = self.pos;
                }
                _ => {
                    let ch = self.text[self.pos..].chars().next().unwrap_or(' ');
                    inner.push(ch);
                    self.pos += ch.len_utf8();
                }
            }
        }
        self.mark(segment..self.src.len(), Ctx::Double);
        self.open = Some(Open::DoubleQuote);
        inner
    }

    /// At a `$` or a backquote: reads `$(…)`, `$((…))`, `$[…]`, `${…}`, `` `…` ``, `$NAME` or a
    /// lone `$`, marking the quoting of what it reads. `$NAME` and `${…}` keep the quoting they
    /// stand in (`outer`); a command substitution is a fresh context, whatever surrounds it;
    /// arithmetic is recorded as evaluated.
    fn substitution(&mut self, outer: Ctx) {
        let start = self.pos;
        match (self.peek(0), self.peek(1)) {
            (Some(b'$'), Some(b'(')) => {
                self.pos += 1;
                let arithmetic = self.peek(1) == Some(b'(');
                self.parens();
                if arithmetic {
                    self.evaluated.push((start..self.pos, Evaluation::Integer));
                }
            }
            (Some(b'$'), Some(b'[')) => {
                // `$[ … ]`, the old arithmetic expansion.
                self.pos += 2;
                let mut depth = 1usize;
                while let Some(b) = self.peek(0) {
                    match b {
                        b'[' => depth += 1,
                        b']' => depth -= 1,
                        b'$' | b'`' => {
                            self.substitution(Ctx::Bare);
                            continue;
                        }
                        _ => {}
                    }
                    self.pos += 1;
                    if depth == 0 {
                        break;
                    }
                }
                self.evaluated.push((start..self.pos, Evaluation::Integer));
            }
            (Some(b'$'), Some(b'{')) => self.parameter(outer),
            (Some(b'`'), _) => self.backquoted(),
            _ => {
                self.pos += 1;
                while self.peek(0).is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_') {
                    self.pos += 1;
                }
                self.mark(start..self.pos, outer);
            }
        }
    }

    /// At `${`: reads to the matching `}`. The braces keep the quoting they stand in; nested
    /// substitutions and quotes mark their own bytes. A subscript (`${a[i]}`) and an offset or
    /// length (`${x:i:n}`) are arithmetic; the name after `${!` is a variable name.
    fn parameter(&mut self, outer: Ctx) {
        let start = self.pos;
        self.pos += 2;
        let mut segment = start;
        let mut depth = 1usize;
        while let Some(b) = self.peek(0) {
            match b {
                b'}' => {
                    self.pos += 1;
                    depth -= 1;
                    if depth == 0 {
                        self.mark(segment..self.pos, outer);
                        self.parameter_evaluation(start..self.pos);
                        return;
                    }
                }
                b'{' => {
                    depth += 1;
                    self.pos += 1;
                }
                b'\\' => self.pos = (self.pos + 2).min(self.src.len()),
                b'$' | b'`' => {
                    self.mark(segment..self.pos, outer);
                    self.substitution(outer);
                    segment = self.pos;
                }
                b'\'' if outer != Ctx::Double => {
                    self.mark(segment..self.pos, outer);
                    self.single_quoted(self.pos + 1, false);
                    segment = self.pos;
                }
                b'"' => {
                    self.mark(segment..self.pos, outer);
                    self.double_quoted();
                    segment = self.pos;
                }
                _ => {
                    let ch = self.text[self.pos..].chars().next().map_or(1, char::len_utf8);
                    self.pos += ch;
                }
            }
        }
        self.mark(segment..self.src.len(), outer);
        self.pos = self.src.len();
        self.open = Some(Open::Substitution);
    }

    /// The evaluated parts of one `${…}` (`range` from `$` to after `}`).
    fn parameter_evaluation(&mut self, range: Range<usize>) {
        let bytes = &self.src[range.start + 2..range.end - 1];
        let base = range.start + 2;
        let mut i = 0;
        if bytes.first() == Some(&b'!') {
            let name_end = bytes[1..]
                .iter()
                .position(|b| matches!(b, b'}' | b':' | b'[' | b'@' | b'*'))
                .map_or(bytes.len(), |p| p + 1);
            if name_end > 1 {
                self.evaluated.push((base + 1..base + name_end, Evaluation::Name));
            }
            return;
        }
        if bytes.first() == Some(&b'#') && bytes.len() > 1 {
            i = 1;
        }
        let name = bytes[i..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
        i += if name == 0 && bytes.get(i).is_some_and(|b| b"@*#?$!-".contains(b)) { 1 } else { name };
        if bytes.get(i) == Some(&b'[') {
            let close = matching(bytes, i, b'[', b']');
            self.evaluated.push((base + i + 1..base + close, Evaluation::Integer));
            i = (close + 1).min(bytes.len());
        }
        if bytes.get(i) == Some(&b':') && !bytes.get(i + 1).is_some_and(|b| b"-=?+".contains(b)) {
            self.evaluated.push((base + i + 1..base + bytes.len(), Evaluation::Integer));
        }
    }

    /// At a backquote: reads to the closing one. The body is a fresh, unquoted context.
    fn backquoted(&mut self) {
        self.pos += 1;
        while let Some(b) = self.peek(0) {
            match b {
                b'`' => {
                    self.pos += 1;
                    return;
                }
                b'\\' => self.pos = (self.pos + 2).min(self.src.len()),
                b'\'' => {
                    self.single_quoted(self.pos + 1, false);
                }
                b'"' => {
                    self.double_quoted();
                }
                b'$' => self.substitution(Ctx::Bare),
                _ => {
                    let ch = self.text[self.pos..].chars().next().map_or(1, char::len_utf8);
                    self.mark(self.pos..self.pos + ch, Ctx::Bare);
                    self.pos += ch;
                }
            }
        }
        self.open = Some(Open::Backquote);
    }

    /// At a `(`: reads to its matching `)`, through quotes and nested substitutions. What is
    /// inside is a fresh, unquoted context (a command substitution, a subshell, an array).
    fn parens(&mut self) {
        let mut depth = 0usize;
        let mut word_start = true;
        while let Some(b) = self.peek(0) {
            match b {
                b'(' => {
                    depth += 1;
                    self.mark(self.pos..self.pos + 1, Ctx::Bare);
                    self.pos += 1;
                }
                b')' => {
                    self.mark(self.pos..self.pos + 1, Ctx::Bare);
                    self.pos += 1;
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return;
                    }
                }
                b'\'' => {
                    self.single_quoted(self.pos + 1, false);
                }
                b'"' => {
                    self.double_quoted();
                }
                b'`' | b'$' => self.substitution(Ctx::Bare),
                b'\\' => {
                    let end = (self.pos + 2).min(self.src.len());
                    self.mark(self.pos..end, Ctx::Bare);
                    self.pos = end;
                }
                b'#' if word_start => {
                    let end = self.text[self.pos..].find('\n').map_or(self.src.len(), |i| self.pos + i);
                    self.mark(self.pos..end, Ctx::Comment);
                    self.pos = end;
                }
                _ => {
                    let ch = self.text[self.pos..].chars().next().map_or(1, char::len_utf8);
                    self.mark(self.pos..self.pos + ch, Ctx::Bare);
                    self.pos += ch;
                }
            }
            word_start = self.pos > 0 && matches!(self.src[self.pos - 1], b' ' | b'\t' | b'\n' | b';' | b'(');
            if self.open.is_some() && self.pos >= self.src.len() {
                return;
            }
        }
        self.open = Some(Open::Substitution);
    }
}

/// The index of the byte that closes the bracket opened at `open` (or the end).
pub(crate) fn matching(bytes: &[u8], open: usize, opener: u8, closer: u8) -> usize {
    let mut depth = 0usize;
    for (i, b) in bytes.iter().enumerate().skip(open) {
        if *b == opener {
            depth += 1;
        } else if *b == closer {
            depth -= 1;
            if depth == 0 {
                return i;
            }
        }
    }
    bytes.len()
}

/// A command found by [`split`]: the range of its tokens and of its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Span {
    pub tokens: Range<usize>,
    pub text: Range<usize>,
}

/// What [`split`] found: commands, and the comment tokens that stood between them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Split {
    pub commands: Vec<Span>,
    /// Indices of comment tokens on lines of their own, outside any command.
    pub comments: Vec<usize>,
    /// True when the script ended inside a command (open quote, loop, pipe, `\`).
    pub open: bool,
}

const OPENERS: [&str; 6] = ["if", "for", "while", "until", "case", "select"];
const CLOSERS: [&str; 3] = ["fi", "done", "esac"];

/// Splits a lexed script into top-level commands: a command ends at a newline that is not inside
/// quotes, parentheses, a compound command, a heredoc or a continuation (`\`, trailing `|`, `&&`).
pub(crate) fn split(lexed: &Lexed) -> Split {
    let tokens = &lexed.tokens;
    let mut out = Split::default();
    let mut current: Option<usize> = None;
    let mut depth = 0usize;
    let mut stack: Vec<&str> = Vec::new();
    let mut command_position = true;
    let mut continues = false;
    let mut index = 0;
    while index < tokens.len() {
        let token = &tokens[index];
        match token.kind {
            Kind::Comment => {
                if current.is_none() {
                    out.comments.push(index);
                }
            }
            Kind::Newline => {
                command_position = true;
                if let Some(start) = current {
                    let mut end = index;
                    while tokens.get(end + 1).is_some_and(|t| t.kind == Kind::HeredocBody) {
                        end += 1;
                    }
                    if depth == 0 && stack.is_empty() && !continues {
                        out.commands.push(span(tokens, start..end));
                        current = None;
                    }
                    index = end;
                }
            }
            Kind::HeredocBody => {}
            Kind::Op => {
                if current.is_none() {
                    current = Some(index);
                }
                match token.value.as_str() {
                    "(" => {
                        depth += 1;
                        command_position = true;
                    }
                    ")" => {
                        // In a `case` pattern a lone `)` closes the pattern, not a group.
                        depth = depth.saturating_sub(1);
                        command_position = true;
                    }
                    ";" | ";;" | ";&" | ";;&" | "&" | "&&" | "||" | "|" | "|&" => command_position = true,
                    _ => command_position = false,
                }
                continues = matches!(token.value.as_str(), "|" | "||" | "&&" | "|&");
            }
            Kind::Word => {
                if current.is_none() {
                    current = Some(index);
                }
                continues = false;
                let word = token.value.as_str();
                let raw_is_plain = !lexed.ctx.get(token.range.start).is_some_and(|c| *c != Ctx::Bare);
                if command_position && raw_is_plain {
                    match word {
                        _ if OPENERS.contains(&word) => {
                            stack.push(word);
                            // `for x in …` and `case x in …`: the words up to `do`/`in` are not
                            // commands.
                            command_position = false;
                            if word == "if" || word == "while" || word == "until" {
                                command_position = true;
                            }
                        }
                        "{" => {
                            stack.push("{");
                        }
                        "}" => {
                            if stack.last() == Some(&"{") {
                                stack.pop();
                            }
                            command_position = false;
                        }
                        _ if CLOSERS.contains(&word) => {
                            stack.pop();
                            command_position = false;
                        }
                        "then" | "do" | "else" | "elif" | "!" | "time" => {}
                        _ if token.assignment => {}
                        _ => command_position = false,
                    }
                } else if raw_is_plain
                    && (word == "do" || word == "in")
                    && matches!(stack.last(), Some(&("for" | "select")))
                {
                    command_position = true;
                } else if raw_is_plain && word == "esac" && stack.last() == Some(&"case") {
                    stack.pop();
                }
            }
        }
        index += 1;
    }
    if let Some(start) = current {
        out.commands.push(span(tokens, start..tokens.len().saturating_sub(1)));
    }
    out.open = lexed.open.is_some() || depth > 0 || !stack.is_empty() || continues;
    out
}

fn span(tokens: &[Token], range: Range<usize>) -> Span {
    // Trailing newlines are not part of the command; heredoc bodies are.
    let mut last = range.end;
    while last > range.start && matches!(tokens[last].kind, Kind::Newline | Kind::Comment) {
        last -= 1;
    }
    let text_end = if tokens[last].kind == Kind::HeredocBody {
        tokens[last].range.end
    } else {
        // Keep a trailing comment on the command's own line.
        let mut end = tokens[last].range.end;
        if let Some(next) = tokens.get(last + 1) {
            if next.kind == Kind::Comment {
                end = next.range.end;
            }
        }
        end
    };
    Span { tokens: range.start..last + 1, text: tokens[range.start].range.start..text_end }
}

/// `NAME=value` (or `NAME+=value`, `NAME[i]=value`).
pub(crate) fn is_assignment(word: &str) -> bool {
    let bytes = word.as_bytes();
    if !bytes.first().is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_') {
        return false;
    }
    let name_len = bytes.iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
    match bytes.get(name_len) {
        Some(b'=') => true,
        Some(b'+') => bytes.get(name_len + 1) == Some(&b'='),
        Some(b'[') => bytes[name_len..].iter().position(|b| *b == b']').is_some_and(|close| {
            let after = &bytes[name_len + close + 1..];
            after.starts_with(b"=") || after.starts_with(b"+=")
        }),
        _ => false,
    }
}

/// The simple commands of one command's tokens: runs of words between control operators, with
/// redirections and their targets left out. Words inside `$(…)` are not separate commands.
#[cfg(test)]
pub(crate) fn simple_commands(tokens: &[Token]) -> Vec<Vec<&Token>> {
    let mut out = Vec::new();
    for_each_simple_command(tokens, |words| out.push(words.to_vec()));
    out
}

/// Each simple command of one command's tokens, in turn: runs of words between control
/// operators, with redirections and their targets left out (words inside `$(…)` are not
/// separate commands). One buffer serves them all.
pub(crate) fn for_each_simple_command<'t>(tokens: &'t [Token], mut f: impl FnMut(&[&'t Token])) {
    let mut current: Vec<&Token> = Vec::with_capacity(16);
    let mut skip_target = false;
    for token in tokens {
        match token.kind {
            Kind::Word => {
                if skip_target {
                    skip_target = false;
                } else {
                    current.push(token);
                }
            }
            Kind::Op => match token.value.as_str() {
                ";" | ";;" | ";&" | ";;&" | "&" | "&&" | "||" | "|" | "|&" | "(" | ")" => {
                    if !current.is_empty() {
                        f(&current);
                        current.clear();
                    }
                }
                _ => skip_target = true,
            },
            Kind::Newline => {
                if !current.is_empty() {
                    f(&current);
                    current.clear();
                }
            }
            Kind::Comment | Kind::HeredocBody => {}
        }
    }
    if !current.is_empty() {
        f(&current);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commands(src: &str) -> Vec<&str> {
        let lexed = lex(src);
        split(&lexed).commands.iter().map(|c| &src[c.text.clone()]).collect()
    }

    fn words(src: &str) -> Vec<String> {
        lex(src).tokens.into_iter().filter(|t| t.kind == Kind::Word).map(|t| t.value.to_string()).collect()
    }

    #[test]
    fn words_lose_their_quotes() {
        assert_eq!(words(r#"echo 'a b' "c $d" e\ f"#), ["echo", "a b", "c $d", "e f"]);
        assert_eq!(words("x=$(date +%s) `id -u`"), ["x=$(date +%s)", "`id -u`"]);
        assert_eq!(words("arr=(a b) c"), ["arr=(a b)", "c"]);
    }

    #[test]
    fn split_table() {
        let cases: &[(&str, &[&str])] = &[
            ("a\nb\n", &["a", "b"]),
            ("a \\\n  b\nc", &["a \\\n  b", "c"]),
            ("kubectl patch x -p '\nspec:\n  a: 1\n'\nnext", &["kubectl patch x -p '\nspec:\n  a: 1\n'", "next"]),
            ("for i in 1 2; do\n  echo $i\ndone\nafter", &["for i in 1 2; do\n  echo $i\ndone", "after"]),
            ("if true; then\n echo fi\nfi", &["if true; then\n echo fi\nfi"]),
            (
                "cat <<EOF | curl -d @- x\n# HELP a\nbody\nEOF\nnext",
                &["cat <<EOF | curl -d @- x\n# HELP a\nbody\nEOF\n", "next"],
            ),
            ("a |\n  b\nc", &["a |\n  b", "c"]),
            ("a && \\\n b", &["a && \\\n b"]),
            ("x=$(\n  date\n)\ny", &["x=$(\n  date\n)", "y"]),
            ("curl -I https://x  # Claude API\nb", &["curl -I https://x  # Claude API", "b"]),
            ("case $x in\n a) echo a;;\n *) echo b;;\nesac\nz", &["case $x in\n a) echo a;;\n *) echo b;;\nesac", "z"]),
            ("{ a; b; }\nc", &["{ a; b; }", "c"]),
            ("f() {\n  a\n}\ng", &["f() {\n  a\n}", "g"]),
            ("# comment\na\n\n# other\nb", &["a", "b"]),
            ("echo done\nb", &["echo done", "b"]),
        ];
        for (src, expected) in cases {
            assert_eq!(&commands(src), expected, "for {src:?}");
        }
    }

    #[test]
    fn heredoc_with_tab_strip_and_quoted_delimiter() {
        let src = "cat <<-'END'\n\t$NOT_EXPANDED\n\tEND\necho ok";
        let lexed = lex(src);
        assert_eq!(commands(src), ["cat <<-'END'\n\t$NOT_EXPANDED\n\tEND\n", "echo ok"]);
        let dollar = src.find("$NOT").unwrap();
        assert_eq!(lexed.ctx[dollar], Ctx::HeredocLiteral);
        assert!(lexed.open.is_none());
    }

    #[test]
    fn quoting_context_per_byte() {
        let src = r#"a '$S' "$D" $B # $C"#;
        let lexed = lex(src);
        let at = |needle: &str| lexed.ctx[src.find(needle).unwrap()];
        assert_eq!(at("$S"), Ctx::Single);
        assert_eq!(at("$D"), Ctx::Double);
        assert_eq!(at("$B"), Ctx::Bare);
        assert_eq!(at("$C"), Ctx::Comment);
    }

    #[test]
    fn open_constructs_are_reported() {
        for src in ["echo 'abc", "echo \"abc", "for i in 1; do", "a |", "a \\", "cat <<EOF\nx", "x=$(a"] {
            let lexed = lex(src);
            assert!(split(&lexed).open, "{src:?} should be open");
        }
        for src in ["echo 'a'", "a | b", "cat <<EOF\nx\nEOF", "echo $((1+2))"] {
            assert!(!split(&lex(src)).open, "{src:?} should be complete");
        }
    }

    #[test]
    fn simple_commands_skip_redirections() {
        let lexed = lex("kubectl get x -o yaml > out.yaml 2>&1 | grep a && sudo b");
        let simple = simple_commands(&lexed.tokens);
        let names: Vec<Vec<&str>> = simple.iter().map(|c| c.iter().map(|t| t.value.as_str()).collect()).collect();
        assert_eq!(names, [vec!["kubectl", "get", "x", "-o", "yaml"], vec!["grep", "a"], vec!["sudo", "b"]]);
    }

    #[test]
    fn assignments() {
        for word in ["A=1", "a_b=", "X+=2", "arr[3]=x", "_=y"] {
            assert!(is_assignment(word), "{word}");
        }
        for word in ["=1", "1A=2", "a-b=3", "echo", "a[1", "--x=1", "a+b"] {
            assert!(!is_assignment(word), "{word}");
        }
    }

    #[test]
    fn fd_redirection_is_one_operator() {
        let lexed = lex("a 2>/dev/null");
        let ops: Vec<_> = lexed.tokens.iter().filter(|t| t.kind == Kind::Op).map(|t| t.value.as_str()).collect();
        assert_eq!(ops, [">"]);
    }
}
