//! Heading anchors, GitHub and mdBook style: lower case, letters and digits of any script kept,
//! spaces to `-`, other punctuation dropped (`High Error Rate (5xx)` -> `high-error-rate-5xx`,
//! `含义` -> `含义`).

use std::collections::HashMap;

pub fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.trim().chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            out.push(c.to_ascii_lowercase());
        } else if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if c.is_whitespace() {
            out.push('-');
        }
    }
    out
}

/// Hands out unique ids: the first `x` stays `x`, later ones become `x-2`, `x-3`.
#[derive(Debug, Default)]
pub(crate) struct Unique {
    seen: HashMap<String, usize>,
}

impl Unique {
    pub fn claim(&mut self, base: &str) -> String {
        let Some(&last) = self.seen.get(base) else {
            self.seen.insert(base.to_owned(), 1);
            return base.to_owned();
        };
        let mut n = last;
        loop {
            n += 1;
            let candidate = format!("{base}-{n}");
            if !self.seen.contains_key(&candidate) {
                if let Some(count) = self.seen.get_mut(base) {
                    *count = n;
                }
                self.seen.insert(candidate.clone(), 1);
                return candidate;
            }
        }
    }

    /// Marks an id as taken without changing it (explicit `name=` attributes).
    pub fn reserve(&mut self, id: &str) -> bool {
        self.seen.insert(id.to_owned(), 1).is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_table() {
        for (text, expected) in [
            ("API Not Responding", "api-not-responding"),
            ("High Error Rate (5xx)", "high-error-rate-5xx"),
            ("1. Acknowledge Incident", "1-acknowledge-incident"),
            ("Memory Issues (OOMKilled)", "memory-issues-oomkilled"),
            ("含义", "含义"),
            ("Non-Lokistack Outputs", "non-lokistack-outputs"),
            ("`oc` & friends", "oc--friends"),
        ] {
            assert_eq!(slug(text), expected);
        }
    }

    #[test]
    fn unique_suffixes() {
        let mut unique = Unique::default();
        assert_eq!(unique.claim("a"), "a");
        assert_eq!(unique.claim("a"), "a-2");
        assert_eq!(unique.claim("a"), "a-3");
        assert!(!unique.reserve("a-3"));
        assert!(unique.reserve("b"));
        assert_eq!(unique.claim("b"), "b-2");
    }
}
