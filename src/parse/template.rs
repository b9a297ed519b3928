//! Templates: blocks that are text with blanks to fill by hand (`Severity: SEV[1-4]`,
//! `- Duration: X hours`), like the seed's status update and postmortem. Never run.

use std::sync::LazyLock;

use regex::Regex;

use crate::model::TemplateField;

static BRACKET: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\[([^\[\]\n]{1,80})\]").expect("static regex"));
static X_BLANK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[\s$(])(\$?X|HH:MM|YYYY-MM-DD|TBD|\.\.\.)(?:$|[\s,.;)])").expect("static regex")
});

/// The blanks of a block, or None when it has fewer than two (then it is no template).
pub(crate) fn fields(text: &str, first_line: u32) -> Option<Vec<TemplateField>> {
    let mut fields = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_no = first_line + index as u32;
        for capture in BRACKET.captures_iter(line) {
            let whole = capture.get(0).expect("group 0 always matches");
            let blank = capture[1].trim();
            // `- [ ] Item` checkboxes and `[text](url)` links are not blanks.
            if blank.is_empty() || blank.eq_ignore_ascii_case("x") || line[whole.end()..].starts_with('(') {
                continue;
            }
            // A blank has a label before it (`Impact: [Who]`) or a line of its own; bracketed
            // words inside a log line (`[WARN]`, `[Errno 2]`) are not blanks.
            let label = label_before(&line[..whole.start()]);
            let standalone = line.trim() == whole.as_str();
            if label.is_some() || standalone {
                fields.push(TemplateField { label, blank: blank.to_owned(), line: line_no });
            }
        }
        for capture in X_BLANK.captures_iter(line) {
            let blank = capture.get(1).expect("group 1 always matches");
            let label = label_before(&line[..blank.start()]);
            if label.is_some() {
                fields.push(TemplateField { label, blank: blank.as_str().to_owned(), line: line_no });
            }
        }
    }
    (fields.len() >= 2).then_some(fields)
}

/// `Severity: SEV` -> `Severity`; `- Duration: ` -> `Duration`.
fn label_before(before: &str) -> Option<String> {
    let head = before.trim_start().trim_start_matches(['-', '*', ' ']);
    let colon = head.find(':')?;
    let label = head[..colon].trim();
    let wordy = label.chars().next().is_some_and(char::is_alphabetic)
        && label.chars().all(|c| c.is_alphanumeric() || matches!(c, ' ' | '_' | '-' | '/'));
    (wordy && label.len() <= 40).then(|| label.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_update_fields() {
        let text = "Incident: [BRIEF DESCRIPTION]\nSeverity: SEV[1-4]\nStatus: [Investigating/Identified/Monitoring/Resolved]\nImpact: [Who/what is affected]\nETA: [If known]\nUpdates: [Channel/URL]\n";
        let fields = fields(text, 10).unwrap();
        let pairs: Vec<_> =
            fields.iter().map(|f| (f.label.as_deref().unwrap_or(""), f.blank.as_str(), f.line)).collect();
        assert_eq!(
            pairs,
            [
                ("Incident", "BRIEF DESCRIPTION", 10),
                ("Severity", "1-4", 11),
                ("Status", "Investigating/Identified/Monitoring/Resolved", 12),
                ("Impact", "Who/what is affected", 13),
                ("ETA", "If known", 14),
                ("Updates", "Channel/URL", 15),
            ]
        );
    }

    #[test]
    fn postmortem_x_blanks() {
        let text = "## Impact\n- Duration: X hours\n- Users affected: X\n- Revenue impact: $X\n\n## Action Items\n- [ ] Item 1 (Owner, Due date)\n";
        let fields = fields(text, 1).unwrap();
        let blanks: Vec<_> = fields.iter().map(|f| (f.label.clone().unwrap_or_default(), f.blank.clone())).collect();
        assert_eq!(
            blanks,
            [
                ("Duration".to_owned(), "X".to_owned()),
                ("Users affected".to_owned(), "X".to_owned()),
                ("Revenue impact".to_owned(), "$X".to_owned()),
            ]
        );
    }

    #[test]
    fn logs_and_links_are_not_templates() {
        assert!(fields("2024-01-01 12:00:00 [info] started\n[text](link)\n", 1).is_none());
        assert!(fields("plain text with no blanks\n", 1).is_none());
        assert!(fields("2023-01-01T10:00:00Z [WARN] agent: x\n2023-01-01T10:00:01Z [INFO] agent: y\n", 1).is_none());
        assert!(fields("OSError: [Errno 2] No such file\n", 1).is_none());
    }
}
