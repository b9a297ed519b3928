//! Step cards and template cards: the HTML a step or a template becomes on a page.
//!
//! A card carries the step's anchors (`#step-<id>`, `#step-<id>-<n>` per command from 1), its
//! risk badge with the reason, its flags, its inputs, and each command highlighted with its
//! placeholders marked. Copy buttons are hidden until the page script shows them, so a page read
//! without JavaScript shows no dead buttons. There is no Run button: `opsbook serve` adds it.

use std::fmt::Write as _;
use std::ops::Range;

use super::highlight::{Highlighter, escape};
use crate::model::{Command, Placeholder, PlaceholderKind, Step, Template};

/// A risk reason with its `code` spans as `<code>`.
fn reason_html(reason: &str) -> String {
    let escaped = escape(reason);
    let mut out = String::with_capacity(escaped.len() + 16);
    for (index, part) in escaped.split('`').enumerate() {
        if index % 2 == 1 {
            out.push_str("<code>");
            out.push_str(part);
            out.push_str("</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

pub(crate) fn step_card(step: &Step, prefix: &str, highlighter: &Highlighter) -> String {
    let mut html = String::with_capacity(1024);
    let risk = step.risk.as_str();
    let id = escape(&step.id);
    let anchor = format!("{prefix}step-{id}");
    let _ = write!(
        html,
        "<section class=\"step risk-{risk}\" data-step=\"{id}\" data-risk=\"{risk}\">\n<div class=\"step-header\">\
         <h4 class=\"step-title\" id=\"{anchor}\">{title}</h4><a class=\"step-id\" href=\"#{anchor}\">#{id}</a>\
         <span class=\"badge risk-{risk}\" title=\"{reason}\">{risk}</span>",
        title = escape(&step.title),
        reason = escape(&step.risk_reason),
    );
    if let Some(why) = &step.long_running {
        let _ = write!(html, "<span class=\"badge flag long-running\" title=\"{}\">long-running</span>", escape(why));
    }
    if let Some(why) = &step.interactive {
        let _ = write!(html, "<span class=\"badge flag interactive\" title=\"{}\">interactive</span>", escape(why));
    }
    if step.risk.needs_confirmation() || step.settings.confirm {
        html.push_str(
            "<span class=\"badge flag confirm\" title=\"asks for a confirmation before it runs\">confirm</span>",
        );
    }
    html.push_str("<button class=\"copy\" type=\"button\" data-copy=\"step\" hidden>Copy</button></div>\n");
    let _ = writeln!(html, "<p class=\"risk-reason\">{}</p>", reason_html(&step.risk_reason));
    if !step.placeholders.is_empty() {
        html.push_str("<ul class=\"inputs\" aria-label=\"Inputs\">");
        for placeholder in &step.placeholders {
            let title = match &placeholder.set_by {
                Some(by) => format!("set by step {by}"),
                None => match &placeholder.default {
                    Some(default) => format!("default: {default}"),
                    None => "needed before it runs".to_owned(),
                },
            };
            let _ = write!(
                html,
                "<li class=\"input-chip\" data-input=\"{}\" title=\"{}\">{}</li>",
                escape(&placeholder.name),
                escape(&title),
                escape(&placeholder.name)
            );
        }
        html.push_str("</ul>\n");
    }
    html.push_str("<ol class=\"commands\">\n");
    let lang = if step.prompted { Some("bash") } else { step.lang.as_deref().or(Some("bash")) };
    for (index, command) in step.commands.iter().enumerate() {
        command_item(&mut html, step, command, index, &anchor, lang, highlighter);
    }
    html.push_str("</ol>\n");
    for line in &step.not_shell {
        let _ = writeln!(
            html,
            "<pre class=\"not-shell\" title=\"line {}: not a shell command\">{}</pre>",
            line.line,
            escape(&line.text)
        );
    }
    html.push_str("</section>\n");
    html
}

fn command_item(
    html: &mut String,
    step: &Step,
    command: &Command,
    index: usize,
    step_anchor: &str,
    lang: Option<&str>,
    highlighter: &Highlighter,
) {
    let n = index + 1;
    let risk = command.risk.as_str();
    let _ = write!(html, "<li class=\"command\" id=\"{step_anchor}-{n}\"><div class=\"command-head\">");
    if let Some(title) = &command.title {
        let _ = write!(html, "<span class=\"command-title\">{}</span>", escape(title));
    }
    let _ = write!(
        html,
        "<a class=\"command-anchor\" href=\"#{step_anchor}-{n}\">{}.{n}</a><span class=\"badge risk-{risk}\" title=\"{}\">{risk}</span>\
         <button class=\"copy\" type=\"button\" data-copy=\"command\" hidden>Copy</button></div>",
        escape(&step.id),
        escape(&command.risk_reason)
    );
    // Highlight with each placeholder masked as a plain word (syntect would read `<pod-name>` as
    // two redirections), then put the placeholder back inside its mark.
    let ranges = placeholder_ranges(&command.text, &step.placeholders);
    let mut masked = command.text.clone();
    for (range, _) in &ranges {
        masked.replace_range(range.clone(), &"x".repeat(range.len()));
    }
    let highlighted = highlighter.highlight(&masked, lang);
    let marked = mark_ranges_showing(&highlighted, &ranges, "placeholder", Some(&command.text));
    let _ = write!(html, "<pre><code class=\"language-bash\">{marked}</code></pre>");
    if let Some(output) = &command.expected_output {
        let _ = write!(
            html,
            "<p class=\"output-label\">Output</p><pre class=\"output\"><code>{}</code></pre>",
            escape(output)
        );
    }
    html.push_str("</li>\n");
}

/// Where each placeholder stands in a command's text.
pub(crate) fn placeholder_ranges(text: &str, placeholders: &[Placeholder]) -> Vec<(Range<usize>, String)> {
    let mut ranges = Vec::new();
    for placeholder in placeholders {
        let name = placeholder.name.as_str();
        let mut forms: Vec<String> = match placeholder.kind {
            PlaceholderKind::Angle => vec![format!("<{name}>")],
            PlaceholderKind::Brace => vec![format!("{{{{ {name} }}}}"), format!("{{{{{name}}}}}")],
            PlaceholderKind::Env | PlaceholderKind::Dashed => vec![format!("${{{name}}}"), format!("${name}")],
        };
        if placeholder.kind == PlaceholderKind::Env {
            forms.push(format!("${{{name}:"));
        }
        for form in &forms {
            for (start, _) in text.match_indices(form.as_str()) {
                let end = start + form.len();
                // `$NAME` must not be the start of a longer name.
                let longer = form.starts_with("$")
                    && !form.starts_with("${")
                    && text[end..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
                let mut range = start..end;
                if form.ends_with(':') {
                    range.end = text[start..].find('}').map_or(end, |close| start + close + 1);
                }
                if !longer
                    && !ranges.iter().any(|(r, _): &(Range<usize>, String)| r.start < range.end && range.start < r.end)
                {
                    ranges.push((range, name.to_owned()));
                }
            }
        }
    }
    ranges.sort_by_key(|(r, _)| r.start);
    ranges
}

/// Wraps the source ranges of `html` (an escaped or highlighted rendering of some text) in
/// `<mark class="{class}">`, closing and reopening the mark around tags so nesting stays valid.
pub(crate) fn mark_ranges(html: &str, ranges: &[(Range<usize>, String)], class: &str) -> String {
    mark_ranges_showing(html, ranges, class, None)
}

/// [`mark_ranges`], showing the bytes of `original` inside the marks instead of the rendered ones
/// (for a rendering of a masked copy of `original`; the masked bytes are plain ASCII).
pub(crate) fn mark_ranges_showing(
    html: &str,
    ranges: &[(Range<usize>, String)],
    class: &str,
    original: Option<&str>,
) -> String {
    if ranges.is_empty() {
        return html.to_owned();
    }
    let mut out = String::with_capacity(html.len() + ranges.len() * 48);
    let mut source = 0usize;
    let mut open: Option<usize> = None;
    let mut chars = html.char_indices().peekable();
    let open_tag = |name: &str| format!("<mark class=\"{class}\" data-name=\"{}\">", escape(name));
    while let Some((at, c)) = chars.next() {
        if let Some(index) = open {
            if ranges[index].0.end == source {
                out.push_str("</mark>");
                open = None;
            }
        }
        if open.is_none() && c != '<' {
            if let Some(index) = ranges.iter().position(|(r, _)| r.start == source) {
                out.push_str(&open_tag(&ranges[index].1));
                open = Some(index);
            }
        }
        match c {
            '<' => {
                let end = html[at..].find('>').map_or(html.len(), |e| at + e + 1);
                if let Some(index) = open {
                    out.push_str("</mark>");
                    out.push_str(&html[at..end]);
                    out.push_str(&open_tag(&ranges[index].1));
                } else {
                    out.push_str(&html[at..end]);
                }
                while chars.peek().is_some_and(|(i, _)| *i < end) {
                    chars.next();
                }
            }
            '&' => {
                let end = html[at..].find(';').filter(|e| *e < 10).map_or(at + 1, |e| at + e + 1);
                out.push_str(&html[at..end]);
                while chars.peek().is_some_and(|(i, _)| *i < end) {
                    chars.next();
                }
                source += 1;
            }
            _ => {
                match (open, original.and_then(|o| o.get(source..source + c.len_utf8()))) {
                    (Some(_), Some(shown)) => out.push_str(&escape(shown)),
                    _ => out.push(c),
                }
                source += c.len_utf8();
            }
        }
    }
    if open.is_some() {
        out.push_str("</mark>");
    }
    out
}

pub(crate) fn template_card(template: &Template, prefix: &str) -> String {
    let mut ranges = Vec::new();
    let line_starts = crate::parse::line_starts(&template.text);
    for field in &template.fields {
        let Some(&line_start) = line_starts.get((field.line - template.line - 1) as usize) else { continue };
        let line_end = template.text[line_start..].find('\n').map_or(template.text.len(), |e| line_start + e);
        let line = &template.text[line_start..line_end];
        let bracketed = format!("[{}]", field.blank);
        let found = line.find(&bracketed).map(|at| at..at + bracketed.len()).or_else(|| {
            line.match_indices(field.blank.as_str()).map(|(at, _)| at..at + field.blank.len()).find(|r| {
                let before = line[..r.start].chars().next_back();
                let after = line[r.end..].chars().next();
                !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
            })
        });
        if let Some(range) = found {
            let absolute = line_start + range.start..line_start + range.end;
            if !ranges.iter().any(|(r, _): &(Range<usize>, String)| r.start < absolute.end && absolute.start < r.end) {
                ranges.push((absolute, field.label.clone().unwrap_or_else(|| field.blank.clone())));
            }
        }
    }
    ranges.sort_by_key(|(r, _)| r.start);
    let body = mark_ranges(&escape(&template.text), &ranges, "blank");
    format!(
        "<div class=\"template\" id=\"{prefix}template-{line}\"><p class=\"template-label\">Template: {title} \
         <button class=\"copy\" type=\"button\" data-copy=\"command\" hidden>Copy</button></p>\
         <div class=\"command\"><pre><code>{body}</code></pre></div></div>\n",
        line = template.line,
        title = escape(&template.title),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_close_around_tags() {
        let html = "<span class=\"a\">kubectl</span> describe <span class=\"b\">&lt;pod-name&gt;</span>";
        let text = "kubectl describe <pod-name>";
        let ranges = vec![(17..27, "pod-name".to_owned())];
        assert_eq!(&text[17..27], "<pod-name>");
        assert_eq!(
            mark_ranges(html, &ranges, "placeholder"),
            "<span class=\"a\">kubectl</span> describe <span class=\"b\"><mark class=\"placeholder\" data-name=\"pod-name\">&lt;pod-name&gt;</mark></span>"
        );
        let across = mark_ranges("<b>ab</b>cd", &[(1..3, "x".to_owned())], "m");
        assert_eq!(
            across,
            "<b>a<mark class=\"m\" data-name=\"x\">b</mark></b><mark class=\"m\" data-name=\"x\">c</mark>d"
        );
    }

    #[test]
    fn placeholder_ranges_find_each_form() {
        let placeholders = vec![
            Placeholder {
                name: "pod".into(),
                kind: PlaceholderKind::Angle,
                default: None,
                set_by: None,
                occurrences: vec![],
            },
            Placeholder {
                name: "NS".into(),
                kind: PlaceholderKind::Env,
                default: None,
                set_by: None,
                occurrences: vec![],
            },
        ];
        let text = "kubectl logs <pod> -n $NS --x=${NS} $NSX";
        let found: Vec<&str> = placeholder_ranges(text, &placeholders).iter().map(|(r, _)| &text[r.clone()]).collect();
        assert_eq!(found, ["<pod>", "$NS", "${NS}"]);
    }
}
