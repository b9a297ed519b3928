//! Syntax highlighting at build time with syntect, as CSS classes (`hl-…`), one stylesheet per
//! colour scheme. Syntaxes and themes load once; results are cached by content hash so that a
//! rebuild highlights only the blocks that changed.
//!
//! Lines longer than [`LONG_LINE`] bytes (a pasted log line, a base64 blob) are not given to
//! syntect: its matching retries every pattern from every position of a line, so one line costs
//! the square of its length (a 100 KB line took seconds, 500 KB minutes). Such a line comes out
//! escaped, as plain text inside whatever spans the lines before it left open, and syntect goes
//! on with the next line from the state it had before it: the HTML stays balanced, the other
//! lines keep their colours, and the cost of a block is linear in its size.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{LazyLock, Mutex};

use syntect::highlighting::ThemeSet;
use syntect::html::{ClassStyle, css_for_theme_with_class_style, line_tokens_to_classed_spans};
use syntect::parsing::{ParseState, ScopeStack, SyntaxReference, SyntaxSet};
use syntect::util::LinesWithEndings;

static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(SyntaxSet::load_defaults_newlines);
const CLASS_STYLE: ClassStyle = ClassStyle::SpacedPrefixed { prefix: "hl-" };
const LIGHT_THEME: &str = "InspiredGitHub";
const DARK_THEME: &str = "base16-ocean.dark";
/// Lines longer than this (in bytes, without the line ending) are not given to syntect.
pub(crate) const LONG_LINE: usize = 2_000;

/// The two stylesheets: (light, dark).
pub(crate) fn stylesheets() -> (String, String) {
    let themes = ThemeSet::load_defaults();
    let css = |name: &str| {
        themes
            .themes
            .get(name)
            .and_then(|theme| css_for_theme_with_class_style(theme, CLASS_STYLE).ok())
            .unwrap_or_default()
    };
    (css(LIGHT_THEME), css(DARK_THEME))
}

/// Aliases Markdown authors use that syntect names otherwise.
fn syntax_for(lang: &str) -> Option<&'static SyntaxReference> {
    let lang = lang.trim().to_ascii_lowercase();
    let token = match lang.as_str() {
        shell if crate::parse::is_shell(shell) => "bash",
        "yml" => "yaml",
        "promql" | "logql" => "go",
        "hcl" | "tf" | "terraform" => "ruby",
        "text" | "txt" | "plain" | "output" | "log" | "" => return None,
        other => other,
    };
    SYNTAXES.find_syntax_by_token(token)
}

/// Highlights text as `lang`; plain escaped text when syntect knows no such language.
#[derive(Debug, Default)]
pub(crate) struct Highlighter {
    cache: Mutex<HashMap<u64, String>>,
    /// Escape only, never highlight: for the search index's copy of a page and the print page.
    plain: bool,
}

impl Highlighter {
    pub fn with_cache(entries: HashMap<u64, String>) -> Self {
        Highlighter { cache: Mutex::new(entries), plain: false }
    }

    pub fn plain() -> Self {
        Highlighter { cache: Mutex::default(), plain: true }
    }

    /// The cache's entries, for saving.
    pub fn into_cache(self) -> HashMap<u64, String> {
        self.cache.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn highlight(&self, code: &str, lang: Option<&str>) -> String {
        if self.plain {
            return escape(code);
        }
        let syntax = lang.and_then(syntax_for);
        // Keyed by the syntax the tag stands for, not by the tag: `sh` and `bash` share entries,
        // and a cache saved when a tag meant another syntax (or none) is not taken for this one.
        let key = cache_key(code, syntax.map(|s| s.name.as_str()));
        if let Some(hit) = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key) {
            return hit.clone();
        }
        let html = match syntax {
            Some(syntax) => highlight_with(code, syntax),
            None => escape(code),
        };
        self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key, html.clone());
        html
    }
}

/// What syntect's `ClassedHTMLGenerator` does, line by line, except that a line longer than
/// [`LONG_LINE`] is escaped and left out of the parse (see the module doc).
fn highlight_with(code: &str, syntax: &SyntaxReference) -> String {
    let mut state = ParseState::new(syntax);
    let mut scopes = ScopeStack::new();
    let mut open_spans = 0isize;
    let mut html = String::with_capacity(code.len() * 2);
    for line in LinesWithEndings::from(code) {
        if line.trim_end_matches(['\n', '\r']).len() > LONG_LINE {
            html.push_str(&escape(line));
            continue;
        }
        let Ok(ops) = state.parse_line(line, &SYNTAXES) else { return escape(code) };
        let Ok((spans, delta)) = line_tokens_to_classed_spans(line, &ops, CLASS_STYLE, &mut scopes) else {
            return escape(code);
        };
        open_spans += delta;
        html.push_str(&spans);
    }
    for _ in 0..open_spans {
        html.push_str("</span>");
    }
    html
}

/// Text for an HTML body or a double-quoted attribute: `&`, `<`, `>`, `"` and `'` escaped.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A stable content hash (FNV-1a 64, the same on every run and machine).
pub(crate) fn cache_key(code: &str, lang: Option<&str>) -> u64 {
    struct Fnv(u64);
    impl Hasher for Fnv {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for byte in bytes {
                self.0 ^= u64::from(*byte);
                self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    let mut hasher = Fnv(0xcbf2_9ce4_8422_2325);
    lang.unwrap_or("").hash(&mut hasher);
    code.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use syntect::html::ClassedHTMLGenerator;

    #[test]
    fn bash_gets_classes_and_unknown_languages_are_escaped() {
        let highlighter = Highlighter::default();
        let html = highlighter.highlight("echo \"hi\" > /tmp/x\n", Some("bash"));
        assert!(html.contains("class=\"hl-"), "{html}");
        assert!(html.contains("&gt;"), "{html}");
        let plain = highlighter.highlight("a < b\n", Some("no-such-language"));
        assert_eq!(plain, "a &lt; b\n");
    }

    #[test]
    fn cache_returns_the_same_html() {
        let highlighter = Highlighter::default();
        let first = highlighter.highlight("kubectl get pods\n", Some("bash"));
        assert_eq!(highlighter.highlight("kubectl get pods\n", Some("bash")), first);
        assert_eq!(highlighter.into_cache().len(), 1);
    }

    #[test]
    fn every_shell_tag_is_highlighted_as_bash_from_one_cache_entry() {
        let highlighter = Highlighter::default();
        let bash = highlighter.highlight("kubectl get pods\n", Some("bash"));
        assert!(bash.contains("class=\"hl-"), "{bash}");
        for tag in crate::parse::SHELL_TAGS.iter().chain(&["Shell-Session", "ZSH"]) {
            assert_eq!(highlighter.highlight("kubectl get pods\n", Some(tag)), bash, "{tag}");
        }
        assert_eq!(highlighter.into_cache().len(), 1);
    }

    /// The HTML without its tags, entities decoded: the text a reader sees.
    fn text_of(html: &str) -> String {
        let mut text = String::new();
        let mut rest = html;
        while let Some(open) = rest.find('<') {
            text.push_str(&rest[..open]);
            let close = rest[open..].find('>').map_or(rest.len(), |close| open + close + 1);
            rest = &rest[close..];
        }
        text.push_str(rest);
        text.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    }

    #[test]
    fn a_300_kb_line_is_escaped_intact_between_highlighted_lines() {
        let long = format!("echo {}", "<a & 'b' \"c\"> ".repeat(300_000 / 15));
        let code = format!("kubectl get pods\n{long}\ncat <<EOF\n{long}\nEOF\necho done\n");
        let html = Highlighter::default().highlight(&code, Some("bash"));
        let escaped = escape(&format!("{long}\n"));
        assert!(escaped.starts_with("echo &lt;a &amp; &#39;b&#39; &quot;c&quot;&gt; &lt;a"), "{}", &escaped[..60]);
        assert_eq!(html.matches(escaped.as_str()).count(), 2, "both long lines come out escaped, in one piece");
        assert!(html.starts_with("<span class=\"hl-source hl-shell hl-bash\">"), "{}", &html[..80]);
        let tail = &html[html.len() - 200..];
        assert_eq!(html.matches(">echo</span>").count(), 1, "the line after the long ones is highlighted: {tail}");
        assert_eq!(html.matches("<span").count(), html.matches("</span>").count(), "spans balanced");
        assert_eq!(text_of(&html), code, "the text round-trips");
    }

    #[test]
    fn syntect_sees_lines_up_to_the_limit_and_no_longer() {
        let highlighter = Highlighter::default();
        let line = |len: usize| format!("echo {}\n", "a".repeat(len - 5));
        let at_limit = highlighter.highlight(&line(LONG_LINE), Some("bash"));
        assert!(at_limit.contains(">echo</span>"), "{at_limit:.300}");
        let over = highlighter.highlight(&line(LONG_LINE + 1), Some("bash"));
        assert_eq!(over, line(LONG_LINE + 1), "a line over the limit is plain text");
        // The limit is on each line, not on the block: many lines at the limit are all highlighted.
        let html = highlighter.highlight(&line(LONG_LINE).repeat(50), Some("bash"));
        assert_eq!(html.matches(">echo</span>").count(), 50);
    }

    #[test]
    fn ordinary_blocks_match_syntects_own_generator() {
        let samples = [
            ("bash", "kubectl get pods -n <ns>\ncat <<EOF > /tmp/x\nline \"one\" & 'two'\nEOF\necho $HOME\n"),
            ("bash", "no final newline && echo ok"),
            ("bash", "windows\r\nline endings\r\n"),
            ("yaml", "key: value\nlist:\n  - a\n  - \"b\"\n"),
            ("json", "{\"a\": [1, 2, {\"b\": null}]}\n"),
            ("python", "x = '''multi\nline <string>\n'''\nprint(x)\n"),
            ("bash", ""),
        ];
        for (lang, code) in samples {
            let syntax = syntax_for(lang).expect("a default syntax");
            let mut generator = ClassedHTMLGenerator::new_with_class_style(syntax, &SYNTAXES, CLASS_STYLE);
            for line in LinesWithEndings::from(code) {
                generator.parse_html_for_line_which_includes_newline(line).expect("parses");
            }
            assert_eq!(highlight_with(code, syntax), generator.finalize(), "{lang}: {code:?}");
        }
    }

    #[test]
    fn stylesheets_use_the_prefix() {
        let (light, dark) = stylesheets();
        assert!(light.contains(".hl-") && dark.contains(".hl-"));
        assert_ne!(light, dark);
    }
}
