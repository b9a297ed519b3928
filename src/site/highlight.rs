//! Syntax highlighting at build time with syntect, as CSS classes (`hl-…`), one stylesheet per
//! colour scheme. Syntaxes and themes load once; results are cached by content hash so that a
//! rebuild highlights only the blocks that changed.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{LazyLock, Mutex};

use syntect::highlighting::ThemeSet;
use syntect::html::{ClassStyle, ClassedHTMLGenerator, css_for_theme_with_class_style};
use syntect::parsing::{SyntaxReference, SyntaxSet};
use syntect::util::LinesWithEndings;

static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(SyntaxSet::load_defaults_newlines);
const CLASS_STYLE: ClassStyle = ClassStyle::SpacedPrefixed { prefix: "hl-" };
const LIGHT_THEME: &str = "InspiredGitHub";
const DARK_THEME: &str = "base16-ocean.dark";

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
        "console" | "shell" | "sh" | "zsh" | "shell-session" | "shellsession" | "terminal" | "ksh" | "fish" => "bash",
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
        let key = cache_key(code, lang);
        if let Some(hit) = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key) {
            return hit.clone();
        }
        let html = match lang.and_then(syntax_for) {
            Some(syntax) => highlight_with(code, syntax),
            None => escape(code),
        };
        self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key, html.clone());
        html
    }
}

fn highlight_with(code: &str, syntax: &SyntaxReference) -> String {
    let mut generator = ClassedHTMLGenerator::new_with_class_style(syntax, &SYNTAXES, CLASS_STYLE);
    for line in LinesWithEndings::from(code) {
        if generator.parse_html_for_line_which_includes_newline(line).is_err() {
            return escape(code);
        }
    }
    generator.finalize()
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
    fn stylesheets_use_the_prefix() {
        let (light, dark) = stylesheets();
        assert!(light.contains(".hl-") && dark.contains(".hl-"));
        assert_ne!(light, dark);
    }
}
