//! Where a runbook's text mentions its placeholders: for each name, the lines that hold it as
//! written, and the lines that hold its words (`pod-name` -> `pod name`) in any case. The
//! `placeholder-undocumented` rule asks, for every placeholder of every step, whether a line
//! of prose (outside every step) mentions it; building the text outside the step for each step made the rule
//! cost the square of a long runbook's size. Here all names are found in one pass over the text
//! (and one over its lower-case copy), so the rule costs the text plus the matches.

use std::collections::HashMap;

use regex::RegexBuilder;

/// Lines (1-based, ascending) on which each name is mentioned.
#[derive(Debug, Default)]
pub(super) struct Mentions {
    /// Name as written -> lines that hold it.
    exact: HashMap<String, Vec<u32>>,
    /// Words of the name, lower case -> lines that hold them, in any case.
    words: HashMap<String, Vec<u32>>,
}

/// `pod-name` and `pod_name` -> `pod name`, lower case: how prose says a name.
fn words_of(name: &str) -> String {
    name.replace(['-', '_'], " ").to_lowercase()
}

impl Mentions {
    /// Finds the given names in `text`.
    pub fn new<'n>(text: &str, names: impl IntoIterator<Item = &'n str>) -> Mentions {
        let names: Vec<&str> = names.into_iter().collect();
        if names.is_empty() {
            return Mentions::default();
        }
        let words: Vec<String> = names.iter().map(|name| words_of(name)).collect();
        Mentions {
            exact: lines_holding(text, names.iter().copied()),
            words: lines_holding(&text.to_lowercase(), words.iter().map(String::as_str)),
        }
    }

    /// True when a line outside every step mentions `name` (as written, or its words in any
    /// case): the prose, headings and other blocks, not another step's commands. `steps` are
    /// the steps' first and last lines, in order.
    pub fn in_prose(&self, name: &str, steps: &[(u32, u32)]) -> bool {
        if name.is_empty() {
            return true; // the empty string is in every text
        }
        let in_a_step = |line: u32| {
            let after = steps.partition_point(|(first, _)| *first <= line);
            after > 0 && line <= steps[after - 1].1
        };
        let in_prose = |lines: Option<&Vec<u32>>| lines.is_some_and(|lines| lines.iter().any(|l| !in_a_step(*l)));
        in_prose(self.exact.get(name)) || in_prose(self.words.get(&words_of(name)))
    }
}

/// For each needle, the lines of `haystack` that hold it (needles never hold a line break).
fn lines_holding<'n>(haystack: &str, needles: impl IntoIterator<Item = &'n str>) -> HashMap<String, Vec<u32>> {
    let mut needles: Vec<&str> = needles.into_iter().filter(|n| !n.is_empty()).collect();
    // Longest first: at a position where several match, the alternation then reports the longest,
    // and the others there are its prefixes.
    needles.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    needles.dedup();
    let starts = crate::parse::line_starts(haystack);
    let line_of = |offset: usize| starts.partition_point(|s| *s <= offset) as u32;
    let mut found: Vec<Vec<u32>> = vec![Vec::new(); needles.len()];
    let mut note = |needle: usize, line: u32| {
        if found[needle].last() != Some(&line) {
            found[needle].push(line);
        }
    };
    let index: HashMap<&str, usize> = needles.iter().enumerate().map(|(k, needle)| (*needle, k)).collect();
    let pattern = needles.iter().map(|needle| regex::escape(needle)).collect::<Vec<_>>().join("|");
    match RegexBuilder::new(&pattern).size_limit(64 << 20).build() {
        Ok(regex) if !needles.is_empty() => {
            // Each needle's prefixes among the needles, itself included: where it matches, they do.
            let prefixes: Vec<Vec<usize>> = needles
                .iter()
                .map(|needle| {
                    let ends = needle.char_indices().map(|(at, c)| at + c.len_utf8());
                    ends.filter_map(|end| index.get(&needle[..end]).copied()).collect()
                })
                .collect();
            let mut from = 0;
            while let Some(m) = regex.find_at(haystack, from) {
                let line = line_of(m.start());
                for &needle in index.get(m.as_str()).map_or(&[][..], |&longest| &prefixes[longest]) {
                    note(needle, line);
                }
                // On from the next character, so that needles that start inside this match are found.
                from = m.start() + haystack[m.start()..].chars().next().map_or(1, char::len_utf8);
            }
        }
        // Too many names for one pattern: one pass per name.
        _ => {
            for (k, needle) in needles.iter().enumerate() {
                for (at, _) in haystack.match_indices(needle) {
                    note(k, line_of(at));
                }
            }
        }
    }
    needles.into_iter().map(str::to_owned).zip(found).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule written plainly: the text outside the steps' lines, searched for the name.
    fn naive(text: &str, name: &str, steps: &[(u32, u32)]) -> bool {
        let outside = text
            .lines()
            .enumerate()
            .filter(|(index, _)| {
                steps.iter().all(|(first, last)| (*index as u32 + 1) < *first || (*index as u32 + 1) > *last)
            })
            .map(|(_, line)| line)
            .collect::<Vec<_>>()
            .join("\n");
        outside.contains(name) || outside.to_lowercase().contains(&name.replace(['-', '_'], " ").to_lowercase())
    }

    #[test]
    fn agrees_with_searching_the_text_outside_the_step() {
        let text = "Find the POD NAME first.\n```bash\nkubectl logs <pod-name> <pod>\n```\r\nThe pod_name_x, \
                    and the Ünïcode-näme.\nnamespace: ns-1\nns 10 and nS_2 and name\n";
        let names = ["pod-name", "pod", "pod_name", "name", "ns-1", "ns-10", "ns_2", "ns", "x", "Ünïcode-näme", "none"];
        let mentions = Mentions::new(text, names);
        for name in names {
            for first in 0..8 {
                for last in first..9 {
                    let one = [(first, last)];
                    assert_eq!(mentions.in_prose(name, &one), naive(text, name, &one), "{name} outside {one:?}");
                    // And with a second step after it.
                    for second in (last + 1)..9 {
                        let two = [(first, last), (second, second + 1)];
                        assert_eq!(mentions.in_prose(name, &two), naive(text, name, &two), "{name} outside {two:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn overlapping_names_are_each_found() {
        let lines = lines_holding("xabcx\nbc\nab\n", ["abc", "ab", "bc", "b", "x"]);
        let get = |needle: &str| lines.get(needle).cloned().unwrap_or_default();
        assert_eq!(
            (get("abc"), get("ab"), get("bc"), get("b"), get("x")),
            (vec![1], vec![1, 3], vec![1, 2], vec![1, 2, 3], vec![1])
        );
    }
}
