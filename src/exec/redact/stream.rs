//! Masking one output stream as it arrives, whatever the pieces it arrives in.
//!
//! What has been sent can never be recalled, so a piece of a line goes out early only when no
//! continuation can make any of it part of a secret: `flush` sends a partial line up to where
//! `Redactor::unsettled` says a secret may still be under way (`token=ghp_ab…`, `Bearer ab`,
//! `user:pw` before its `@`, the first half of a known value) and holds that tail back. The line
//! read so far stays as the context of its rest, so `password=` sent early still masks the
//! value that follows. A long line keeps only its last few KiB of context; a tail held back
//! that grows past `MAX_UNSENT` is masked whole, and its rest dropped up to where it must end.
//! Private key blocks are masked from their `BEGIN` line to their `END` line.

use super::shapes::{key_end, unclosed_key};
use super::{MASK, Redactor, Until, merge, render};

/// A partial line with this much unsent is sent without waiting for its end (its safe part),
/// and an unsettled tail this long is masked whole.
const MAX_UNSENT: usize = 16 * 1024;
/// How much of a long line's sent text stays as the context of its rest.
const CONTEXT: usize = 4 * 1024;
/// How much of a dropped private key block is kept to find its end marker across pieces.
const MARKER_TAIL: usize = 64;

/// Masks one stream's output piece by piece (see the module doc).
#[derive(Debug, Clone)]
pub struct StreamRedactor {
    redactor: Redactor,
    /// The current line as read so far: from its start, or from where its kept context begins.
    line: String,
    /// Bytes of `line` already sent.
    sent: usize,
    /// What was sent last ended in a mask.
    masked: bool,
    /// Inside a private key block begun on an earlier line.
    in_key: bool,
    /// The rest of a secret that was masked before its end: dropped as it comes.
    dropping: Option<Dropping>,
}

#[derive(Debug, Clone)]
struct Dropping {
    until: Until,
    /// The end of what was dropped, to find a key block's end marker split across pieces.
    tail: String,
}

impl StreamRedactor {
    pub(super) fn new(redactor: Redactor) -> StreamRedactor {
        StreamRedactor { redactor, line: String::new(), sent: 0, masked: false, in_key: false, dropping: None }
    }

    /// Takes the next piece of output; returns what can be sent now: every line it completes,
    /// masked with the whole line in view, and the safe part of a partial line that has grown
    /// past `MAX_UNSENT`.
    pub fn push(&mut self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while !rest.is_empty() {
            if self.dropping.is_some() {
                rest = self.drop_secret(rest);
                continue;
            }
            if self.line.is_empty() && !self.in_key {
                // Whole lines at a line's start are masked in one pass: no shape but the key
                // block crosses a line, and a key block takes the line by line way below.
                if let Some(last) = memchr::memrchr(b'\n', rest.as_bytes()) {
                    let lines = &rest[..=last];
                    if !lines.contains("PRIVATE KEY-----") {
                        out.push_str(&self.redactor.redact(lines));
                        self.masked = false;
                        rest = &rest[last + 1..];
                        continue;
                    }
                }
            }
            match memchr::memchr(b'\n', rest.as_bytes()) {
                Some(newline) => {
                    self.line.push_str(&rest[..=newline]);
                    rest = &rest[newline + 1..];
                    out.push_str(&self.end_line());
                }
                None => {
                    self.line.push_str(rest);
                    rest = "";
                    if self.line.len() - self.sent >= MAX_UNSENT {
                        out.push_str(&self.flush());
                    }
                }
            }
        }
        out
    }

    /// True when a partial line has bytes not sent yet (`flush` may send some).
    pub fn holds_partial(&self) -> bool {
        !self.in_key && self.dropping.is_none() && self.line.len() > self.sent
    }

    /// The part of the partial line that is safe to send whatever follows it. Called when the
    /// stream has been idle, so that a prompt or a progress bar shows.
    pub fn flush(&mut self) -> String {
        if self.in_key {
            self.trim_key_line();
            return String::new();
        }
        let secrets = self.redactor.secrets(&self.line);
        let (hold, until) = match self.redactor.unsettled(&self.line, &secrets) {
            Some((at, until)) => (at.max(self.sent), until),
            None => (self.line.len(), Until::Space),
        };
        let mut out = render(&self.line, &merge(&secrets), self.sent..hold, &mut self.masked);
        self.sent = hold;
        if self.line.len() - self.sent >= MAX_UNSENT {
            if !self.masked {
                out.push_str(MASK);
            }
            self.masked = true;
            let tail = tail_of(&self.line, MARKER_TAIL).to_owned();
            self.dropping = Some(Dropping { until, tail });
            self.line.clear();
            self.sent = 0;
        } else {
            self.trim_context();
        }
        out
    }

    /// The end of the stream: whatever is held goes out, masked.
    pub fn finish(&mut self) -> String {
        self.dropping = None;
        if self.line.is_empty() {
            return String::new();
        }
        self.end_line()
    }

    /// Sends the rest of the line in `line`, which has ended (or the stream has).
    fn end_line(&mut self) -> String {
        let out = if self.in_key {
            if key_end(&self.line).is_some() {
                self.in_key = false;
            }
            if self.line.ends_with('\n') { "\n".to_owned() } else { String::new() }
        } else {
            let secrets = self.redactor.secrets(&self.line);
            self.in_key = unclosed_key(&self.line).is_some();
            render(&self.line, &merge(&secrets), self.sent..self.line.len(), &mut self.masked)
        };
        self.line.clear();
        self.sent = 0;
        self.masked = false;
        out
    }

    /// Drops the start of `text` that belongs to the secret being dropped; returns the rest.
    fn drop_secret<'t>(&mut self, text: &'t str) -> &'t str {
        let Some(Dropping { until, tail }) = self.dropping.take() else { return text };
        let newline = text.find('\n');
        let resume = match until {
            Until::Space => text.find(char::is_whitespace),
            Until::Quote(q) => text.find([q, '\n']),
            Until::KeyEnd => match key_end(&format!("{tail}{text}")).map(|end| end.saturating_sub(tail.len())) {
                Some(end) if newline.is_none_or(|n| end <= n) => Some(end),
                _ => {
                    // The block goes on past this line: its next lines are masked whole.
                    self.in_key = newline.is_some();
                    newline
                }
            },
        };
        match resume {
            Some(at) => &text[at..],
            None => {
                let tail = tail_of(&format!("{tail}{text}"), MARKER_TAIL).to_owned();
                self.dropping = Some(Dropping { until, tail });
                ""
            }
        }
    }

    /// Drops the sent start of a long line but for the last `CONTEXT` bytes, cut after a space
    /// when there is one so that no name is cut in two.
    fn trim_context(&mut self) {
        if self.sent <= 2 * CONTEXT {
            return;
        }
        let target = floor_boundary(&self.line, self.sent - CONTEXT);
        let cut = self.line[target..self.sent]
            .find(char::is_whitespace)
            .map_or(target, |at| floor_boundary(&self.line, target + at + 1));
        self.line.drain(..cut);
        self.sent -= cut;
    }

    /// Inside a key block, a long line is masked anyway: keep only what may hold the end marker,
    /// or what follows the marker.
    fn trim_key_line(&mut self) {
        if let Some(end) = key_end(&self.line) {
            self.in_key = false;
            self.line.drain(..end);
            self.sent = 0;
            self.masked = true;
        } else if self.line.len() > MAX_UNSENT {
            let keep = tail_of(&self.line, MARKER_TAIL).len();
            self.line.drain(..self.line.len() - keep);
        }
    }
}

/// The last `n` bytes of `text`, or a little fewer so as to start on a character boundary.
fn tail_of(text: &str, n: usize) -> &str {
    let mut at = text.len().saturating_sub(n);
    while !text.is_char_boundary(at) {
        at += 1;
    }
    &text[at..]
}

/// The largest character boundary of `text` not after `at`.
fn floor_boundary(text: &str, at: usize) -> usize {
    (0..=at.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A known value with a space in it, as a secret variable would give it.
    const KNOWN: &str = "tok-4242-s3cret value";

    fn redactor() -> Redactor {
        Redactor::new([("API_TOKEN", KNOWN)])
    }

    /// Every shape the redactor knows, in a line of output, and the secret in it.
    const SAMPLES: &[(&str, &str)] = &[
        ("PASSWORD=Hunter2Sesame77 psql", "Hunter2Sesame77"),
        ("export MYSQL_PWD=Hunter2Sesame77", "Hunter2Sesame77"),
        ("DB_PASS=Hunter2Sesame77 ./migrate", "Hunter2Sesame77"),
        ("PGPASSWORD='Hunter2 Sesame77' psql -h db", "Hunter2 Sesame77"),
        (r#"{"api_key": "Hunter2 Sesame 77", "user": "me"}"#, "Hunter2 Sesame 77"),
        ("mysql --password Hunter2Sesame77 -h db", "Hunter2Sesame77"),
        ("mysql --password=Hunter2Sesame77 -h db", "Hunter2Sesame77"),
        ("Authorization: Bearer Hunter2Sesame77abc", "Hunter2Sesame77abc"),
        ("key id AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE"),
        (
            "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.SflKxwRJSMeKKF2QT4 ok",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.SflKxwRJSMeKKF2QT4",
        ),
        ("use ghp_Hunter2Sesame77abcdef now", "ghp_Hunter2Sesame77abcdef"),
        ("slack xoxb-1234567890-Hunter2Sesame", "xoxb-1234567890-Hunter2Sesame"),
        ("gitlab glpat-Hunter2Sesame77xyz", "glpat-Hunter2Sesame77xyz"),
        ("pat github_pat_11ABCDEFG0Hunter2Sesame", "github_pat_11ABCDEFG0Hunter2Sesame"),
        ("psql postgres://admin:Hunter2Sesame77@db.corp/app", "Hunter2Sesame77"),
        ("GET https://user:Hunter2Sesame77@example.com/x", "Hunter2Sesame77"),
        ("mysql://u:Hunter2Sesame77@h", "Hunter2Sesame77"),
        ("redis://:Hunter2Sesame77@host:6379", "Hunter2Sesame77"),
        ("amqp://guest:Hunter2@Sesame77@rabbit/", "Hunter2@Sesame77"),
        ("mysql -uroot -pHunter2Sesame77 app", "Hunter2Sesame77"),
        ("sshpass -p Hunter2Sesame77 ssh host", "Hunter2Sesame77"),
        ("curl -u deploy:Hunter2Sesame77 https://x", "Hunter2Sesame77"),
        ("redis-cli -a Hunter2Sesame77 ping", "Hunter2Sesame77"),
        ("openssl rsa -passin pass:Hunter2Sesame77 -in k", "Hunter2Sesame77"),
        ("connecting with tok-4242-s3cret value now", KNOWN),
        (
            "a -----BEGIN RSA PRIVATE KEY-----MIIEvQIBADANBgkqhkiG9w0-----END RSA PRIVATE KEY----- b",
            "MIIEvQIBADANBgkqhkiG9w0",
        ),
        ("k -----BEGIN PRIVATE KEY-----MIIEvQIBADANBgkqhkiG9w0", "MIIEvQIBADANBgkqhkiG9w0"),
    ];

    /// Pieces pushed one by one with an idle flush after each, then the end of the stream.
    fn streamed(redactor: &Redactor, pieces: &[&str]) -> String {
        let mut stream = redactor.stream();
        let mut out = String::new();
        for piece in pieces {
            out.push_str(&stream.push(piece));
            out.push_str(&stream.flush());
        }
        out.push_str(&stream.finish());
        out
    }

    /// A piece of four or more bytes of `secret` found in `out`.
    fn leak<'s>(out: &str, secret: &'s str) -> Option<&'s str> {
        (0..secret.len().saturating_sub(3)).map(|i| &secret[i..i + 4]).find(|piece| out.contains(piece))
    }

    fn boundaries(text: &str) -> impl Iterator<Item = usize> + '_ {
        (1..text.len()).filter(|&i| text.is_char_boundary(i))
    }

    #[test]
    fn no_split_of_any_shape_lets_a_piece_of_its_secret_through() {
        let redactor = redactor();
        for (text, secret) in SAMPLES {
            for line in [format!("{text}\n"), format!("out: {text}"), format!("\t{text} \n")] {
                let whole = redactor.redact(&line).into_owned();
                assert_eq!(leak(&whole, secret), None, "{line:?} -> {whole:?}");
                assert_eq!(streamed(&redactor, &[&line]), whole, "{line:?} in one piece");
                for i in boundaries(&line) {
                    let out = streamed(&redactor, &[&line[..i], &line[i..]]);
                    assert_eq!(leak(&out, secret), None, "{line:?} split at {i}: {out:?}");
                    assert_eq!(out, whole, "{line:?} split at {i}");
                    for j in boundaries(&line).filter(|&j| j > i && j - i <= 4) {
                        let out = streamed(&redactor, &[&line[..i], &line[i..j], &line[j..]]);
                        assert_eq!(out, whole, "{line:?} split at {i} and {j}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_key_block_over_lines_is_masked_whatever_the_pieces() {
        let redactor = redactor();
        let text = "before\n-----BEGIN RSA PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0\nAbCdEfGhIjKlMnOpQrSt\n\
                    -----END RSA PRIVATE KEY-----\nafter\n";
        let want = "before\n[redacted]\n\n\n\nafter\n";
        assert_eq!(streamed(&redactor, &[text]), want);
        for i in boundaries(text) {
            let out = streamed(&redactor, &[&text[..i], &text[i..]]);
            assert_eq!(out, want, "split at {i}");
        }
    }

    #[test]
    fn a_partial_line_without_a_secret_goes_out_on_flush() {
        let mut stream = redactor().stream();
        assert_eq!(stream.push("\rProgress 45% [=====>    ] eta 0:01"), "");
        assert_eq!(stream.flush(), "\rProgress 45% [=====>    ] eta 0:01");
        assert_eq!(stream.push("\rProgress 46%"), "");
        assert_eq!(stream.flush(), "\rProgress 46%");
        assert_eq!(stream.push("\nContinue? [y/N] "), "\n");
        assert_eq!(stream.flush(), "Continue? [y/N] ");
        // A secret's first half waits for the rest, however long it takes.
        assert_eq!(stream.push("\ntoken: ghp_abc"), "\n");
        assert_eq!(stream.flush(), "token: ");
        assert_eq!(stream.flush(), "");
        assert_eq!(stream.push("defghijklmnop done\n"), "[redacted] done\n");
    }

    #[test]
    fn a_long_line_keeps_the_context_of_a_secret_cut_anywhere() {
        let redactor = redactor();
        for glue in [" ", ""] {
            let line = format!("{}{glue}password=Hunter2Sesame77 {}\n", "x".repeat(70_000), "y".repeat(100));
            let whole = redactor.redact(&line).into_owned();
            assert!(whole.ends_with(&format!("password=[redacted] {}\n", "y".repeat(100))));
            let at = line.find("Hunter2").unwrap_or(0);
            for cut in (at - 12..at + 18).chain([65_536, 16_384, 4_000]) {
                // Pushed without a flush: the partial line is long enough to go out on its own.
                let mut stream = redactor.stream();
                let out = format!("{}{}{}", stream.push(&line[..cut]), stream.push(&line[cut..]), stream.finish());
                assert_eq!(leak(&out, "Hunter2Sesame77"), None, "cut at {cut}");
                assert_eq!(out, whole, "cut at {cut}");
            }
        }
    }

    #[test]
    fn an_endless_secret_is_masked_whole_and_its_rest_dropped() {
        let redactor = redactor();
        let value = "A".repeat(100_000);
        let words = "word ".repeat(20_000);
        let block = "M".repeat(100_000);
        let cases = [
            (format!("password={value} after\n"), "password=[redacted] after\n"),
            (format!("\"api_key\": \"{words}\" after\n"), "\"api_key\": \"[redacted]\" after\n"),
            (format!("-----BEGIN PRIVATE KEY-----{block}-----END PRIVATE KEY----- after\n"), "[redacted] after\n"),
            (
                format!("-----BEGIN PRIVATE KEY-----{block}\n{block}\n-----END PRIVATE KEY-----\nafter\n"),
                "[redacted]\n\n\nafter\n",
            ),
        ];
        for (i, (text, want)) in cases.iter().enumerate() {
            if i < 3 {
                assert_eq!(redactor.redact(text), *want);
            }
            let pieces: Vec<&str> =
                text.as_bytes().chunks(4096).map(|c| std::str::from_utf8(c).unwrap_or("")).collect();
            assert_eq!(streamed(&redactor, &pieces), *want, "case {i}");
        }
    }
}
