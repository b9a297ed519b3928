//! Unterminated fences: found, reported, and where the author's intent is plain, closed.
//!
//! CommonMark runs an unclosed fence to the end of its container, so one missing line turns the
//! rest of a runbook into code. Two repairs, each rewriting one line in place so that every line
//! keeps its number: a shorter fence inside the block (```` ```` ```` "closed" by ```` ``` ````)
//! becomes a proper closing fence; else a blank line before a heading that stands alone
//! (`\n## Mitigation\n\n`) becomes one. Whatever happens, the fence is reported.

use std::borrow::Cow;

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag};

/// An unclosed fence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unterminated {
    /// 1-based line of the opening fence.
    pub line: u32,
    pub col: u32,
    /// 1-based line where opsbook closed it, if it could.
    pub closed_at: Option<u32>,
    /// Whether the block ran to the end of the file (else to the end of its list item or quote).
    pub to_end_of_file: bool,
}

struct Opener {
    indent: String,
    marker: char,
    len: usize,
}

fn opener(line: &str) -> Option<Opener> {
    let trimmed = line.trim_start();
    let marker = trimmed.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = trimmed.chars().take_while(|c| *c == marker).count();
    (len >= 3).then(|| Opener { indent: line[..line.len() - trimmed.len()].to_owned(), marker, len })
}

/// A bare fence line of `marker` (any length >= 3) with nothing after it.
fn bare_fence(line: &str, marker: char) -> Option<usize> {
    let trimmed = line.trim();
    let len = trimmed.chars().take_while(|c| *c == marker).count();
    (len >= 3 && len == trimmed.chars().count()).then_some(len)
}

fn is_heading(line: &str) -> bool {
    let hashes = line.chars().take_while(|c| *c == '#').count();
    (1..=6).contains(&hashes) && line[hashes..].starts_with(' ') && !line[hashes..].trim().is_empty()
}

/// Whether the fenced block on lines `first..=last` (0-based) ends with its closing fence.
pub(crate) fn is_closed(lines: &[&str], first: usize, last: usize) -> bool {
    let Some(open) = lines.get(first).and_then(|l| opener(l)) else {
        return true;
    };
    last > first && lines.get(last).and_then(|l| bare_fence(l, open.marker)).is_some_and(|len| len >= open.len)
}

/// The Markdown extensions the step model needs: front matter and `{#id}` heading attributes.
/// Tables, footnotes and the other inline extensions change no fence nor heading, so the
/// parser leaves them off and is faster for it; the site renders with its own options.
pub(crate) fn parser_options() -> pulldown_cmark::Options {
    use pulldown_cmark::Options;
    Options::ENABLE_HEADING_ATTRIBUTES
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
        | Options::ENABLE_PLUSES_DELIMITED_METADATA_BLOCKS
}

/// Finds unclosed fences and returns the text with the ones it could close closed.
pub(crate) fn recover(source: &str) -> (Cow<'_, str>, Vec<Unterminated>) {
    let mut text: Cow<'_, str> = Cow::Borrowed(source);
    let mut found: Vec<Unterminated> = Vec::new();
    // Each round closes one fence; a file has fewer fences than lines.
    for _ in 0..=source.lines().count() {
        let Some((report, patch)) = first_unterminated(&text, &found) else {
            break;
        };
        found.push(report);
        if let Some((line_index, replacement)) = patch {
            let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
            let ending = if lines[line_index].ends_with("\r\n") {
                "\r\n"
            } else if lines[line_index].ends_with('\n') {
                "\n"
            } else {
                ""
            };
            let new_line = format!("{replacement}{ending}");
            lines[line_index] = &new_line;
            text = Cow::Owned(lines.concat());
        }
    }
    found.sort_by_key(|u| u.line);
    (text, found)
}

type Patch = Option<(usize, String)>;

fn first_unterminated(text: &str, known: &[Unterminated]) -> Option<(Unterminated, Patch)> {
    let line_starts: Vec<usize> = super::lines::starts(text);
    let line_of = |offset: usize| line_starts.partition_point(|s| *s <= offset) - 1;
    let lines: Vec<&str> = super::lines::split(text);
    for (event, range) in Parser::new_ext(text, parser_options()).into_offset_iter() {
        let Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(_))) = event else {
            continue;
        };
        let first = line_of(range.start);
        let last = line_of(range.end.saturating_sub(1).max(range.start));
        let Some(open) = lines.get(first).and_then(|l| opener(l)) else {
            continue;
        };
        if known.iter().any(|k| k.line as usize == first + 1) {
            continue;
        }
        let closed =
            last > first && lines.get(last).and_then(|l| bare_fence(l, open.marker)).is_some_and(|len| len >= open.len);
        if closed {
            continue;
        }
        let col = open.indent.chars().count() as u32 + 1;
        let mut report = Unterminated {
            line: first as u32 + 1,
            col,
            closed_at: None,
            to_end_of_file: range.end >= text.trim_end().len(),
        };
        let body = first + 1..=last.min(lines.len().saturating_sub(1));
        let fence = open.marker.to_string().repeat(open.len);
        // A shorter fence inside the block was meant to close it.
        let shorter = body.clone().find(|&i| bare_fence(lines[i], open.marker).is_some_and(|len| len < open.len));
        let patch = if let Some(i) = shorter {
            let indent = &lines[i][..lines[i].len() - lines[i].trim_start().len()];
            Some((i, format!("{indent}{fence}")))
        } else {
            body.clone()
                .find(|&i| {
                    i >= first + 2
                        && lines[i - 1].trim().is_empty()
                        && is_heading(lines[i])
                        && lines.get(i + 1).is_none_or(|next| next.trim().is_empty())
                })
                .map(|i| (i - 1, format!("{}{fence}", open.indent)))
        };
        report.closed_at = patch.as_ref().map(|(i, _)| *i as u32 + 1);
        return Some((report, patch));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heading_after_blank_closes_the_fence() {
        let source = "# T\n\n```shell\n$ kubelet describe x\n\n## Mitigation\n\nTODO\n";
        let (text, found) = recover(source);
        assert_eq!(found, [Unterminated { line: 3, col: 1, closed_at: Some(5), to_end_of_file: true }]);
        assert_eq!(text, "# T\n\n```shell\n$ kubelet describe x\n```\n## Mitigation\n\nTODO\n");
        assert_eq!(text.lines().count(), source.lines().count());
    }

    #[test]
    fn shorter_fence_closes_a_longer_one() {
        let source = "````\n$ ping x\nPING x\n```\n\nafter\n";
        let (text, found) = recover(source);
        assert_eq!(found[0].closed_at, Some(4));
        assert_eq!(text, "````\n$ ping x\nPING x\n````\n\nafter\n");
    }

    #[test]
    fn bash_comments_do_not_close_a_fence() {
        let source = "```bash\necho a\n\n# 2. next\necho b\n";
        let (text, found) = recover(source);
        assert_eq!(found[0].closed_at, None);
        assert_eq!(text, source);
    }

    #[test]
    fn closed_fences_are_left_alone() {
        let source = "```bash\necho a\n```\n\n~~~\nx\n~~~\n";
        let (text, found) = recover(source);
        assert!(found.is_empty());
        assert_eq!(text, source);
    }
}
