//! Step cards and template cards: the HTML a step or a template becomes on a page.
//!
//! A card carries the step's anchors (`#step-<id>`, `#step-<id>-<n>` per command from 1), its
//! risk badge with the reason, its flags, its inputs, and each command highlighted with its
//! placeholders marked. Copy buttons are hidden until the page script shows them, so a page read
//! without JavaScript shows no dead buttons. There is no Run button: `opsbook serve` adds it.

use std::collections::{BTreeSet, HashMap};
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

/// `note`: a line of HTML under the risk's reason (when CI last verified the step).
pub(crate) fn step_card(step: &Step, prefix: &str, highlighter: &Highlighter, note: Option<&str>) -> String {
    let mut html = String::with_capacity(1024);
    let risk = step.risk.as_str();
    let id = escape(&step.id);
    let anchor = format!("{prefix}step-{id}");
    let _ = write!(
        html,
        "<section class=\"step risk-{risk}\" data-step=\"{id}\" data-risk=\"{risk}\"{group}>\n<div class=\"step-header\">\
         <h4 class=\"step-title\" id=\"{anchor}\">{title}</h4><a class=\"step-id\" href=\"#{anchor}\">#{id}</a>\
         <span class=\"badge risk-{risk}\" title=\"{reason}\">{risk}</span>",
        title = escape(&step.title),
        reason = escape(&step.risk_reason),
        group = step.alternative.as_ref().map_or_else(String::new, |a| format!(
            " data-group=\"{}\" data-tab=\"{}\"",
            a.group,
            escape(&a.label)
        )),
    );
    if let Some(alternative) = &step.alternative {
        let _ = write!(
            html,
            "<span class=\"badge flag alternative\" data-group=\"{}\" title=\"one of a group of tabs: run this or another tab of the group, not all\">tab: {}</span>",
            alternative.group,
            escape(&alternative.label)
        );
    }
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
    if let Some(note) = note {
        html.push_str(note);
        html.push('\n');
    }
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
    let masked = masked(&command.text, &ranges);
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

/// `text` with each of `ranges` (sorted, disjoint) replaced by as many `x`s as it has bytes.
fn masked(text: &str, ranges: &[(Range<usize>, String)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    for (range, _) in ranges {
        out.push_str(&text[done..range.start]);
        out.extend(std::iter::repeat_n('x', range.len()));
        done = range.end;
    }
    out.push_str(&text[done..]);
    out
}

/// The ranges taken so far, by start, so that telling whether a new one overlaps one of them is
/// a lookup rather than a scan (a long line can hold thousands of placeholders).
#[derive(Debug, Default)]
struct Disjoint(BTreeSet<(usize, usize)>);

impl Disjoint {
    /// Takes `range` unless it overlaps a range taken before (`a.start < b.end && b.start < a.end`).
    fn insert(&mut self, range: &Range<usize>) -> bool {
        // The ranges taken never overlap, so of those that start before `range.end` the last one
        // also ends last: it is the only one that can reach past `range.start`.
        let before_end = self.0.range(..(range.end, 0)).next_back();
        if before_end.is_some_and(|&(_, end)| end > range.start) {
            return false;
        }
        self.0.insert((range.start, range.end));
        true
    }
}

/// How a placeholder can be written in a command, in the order its forms claim text.
fn forms_of(placeholder: &Placeholder) -> Vec<String> {
    let name = placeholder.name.as_str();
    match placeholder.kind {
        PlaceholderKind::Angle => vec![format!("<{name}>")],
        PlaceholderKind::Brace => vec![format!("{{{{ {name} }}}}"), format!("{{{{{name}}}}}")],
        PlaceholderKind::Dashed => vec![format!("${{{name}}}"), format!("${name}")],
        PlaceholderKind::Env => vec![format!("${{{name}}}"), format!("${name}"), format!("${{{name}:")],
    }
}

/// Where each placeholder stands in a command's text. Earlier placeholders, then earlier forms,
/// then earlier places win where two would overlap.
///
/// One pass over the text, whatever the number of placeholders: at each byte that can start a
/// form, the text is looked up at each length a form has (a pasted line can hold thousands of
/// placeholders, and searching the text once per placeholder cost their number times its length).
pub(crate) fn placeholder_ranges(text: &str, placeholders: &[Placeholder]) -> Vec<(Range<usize>, String)> {
    // Form -> (placeholder, form), the first to claim it.
    let mut forms: HashMap<String, (usize, usize)> = HashMap::new();
    for (p, placeholder) in placeholders.iter().enumerate() {
        for (f, form) in forms_of(placeholder).into_iter().enumerate() {
            forms.entry(form).or_insert((p, f));
        }
    }
    // The lengths forms have, by their first byte.
    let mut lengths: Vec<Vec<usize>> = vec![Vec::new(); 256];
    for form in forms.keys() {
        let Some(&first) = form.as_bytes().first() else { continue };
        lengths[usize::from(first)].push(form.len());
    }
    for by_byte in &mut lengths {
        by_byte.sort_unstable();
        by_byte.dedup();
    }
    let mut found: Vec<(usize, usize, Range<usize>)> = Vec::new();
    for (start, byte) in text.bytes().enumerate() {
        for &len in &lengths[usize::from(byte)] {
            let Some(candidate) = text.get(start..start + len) else { continue };
            if let Some(&(p, f)) = forms.get(candidate) {
                found.push((p, f, start..start + len));
            }
        }
    }
    found.sort_by_key(|(p, f, range)| (*p, *f, range.start));
    let closes: Vec<usize> = memchr::memchr_iter(b'}', text.as_bytes()).collect();
    let mut ranges = Vec::new();
    let mut taken = Disjoint::default();
    for (p, _, mut range) in found {
        let form = &text[range.clone()];
        // `$NAME` must not be the start of a longer name.
        let longer = form.starts_with('$')
            && !form.starts_with("${")
            && text[range.end..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
        if form.ends_with(':') {
            // `${NAME:-default}` runs to the first `}` after it.
            let close = closes.get(closes.partition_point(|at| *at < range.start));
            range.end = close.map_or(range.end, |at| at + 1);
        }
        if !longer && taken.insert(&range) {
            ranges.push((range, placeholders[p].name.clone()));
        }
    }
    ranges.sort_by_key(|(r, _)| r.start);
    ranges
}

/// Wraps the source ranges of `html` (an escaped or highlighted rendering of some text) in
/// `<mark class="{class}">`, closing and reopening the mark around tags so nesting stays valid.
/// The ranges are sorted by start and do not overlap.
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
    // The first range not yet opened nor passed: ranges are sorted by start, and the source
    // position only grows, so one pass over them matches them all.
    let mut next = 0usize;
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
            while ranges.get(next).is_some_and(|(r, _)| r.start < source) {
                next += 1;
            }
            if ranges.get(next).is_some_and(|(r, _)| r.start == source) {
                out.push_str(&open_tag(&ranges[next].1));
                open = Some(next);
                next += 1;
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
                let entity = &html.as_bytes()[at..html.len().min(at + 10)];
                let end = memchr::memchr(b';', entity).map_or(at + 1, |e| at + e + 1);
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
    let mut taken = Disjoint::default();
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
            if taken.insert(&absolute) {
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

    /// The first way of finding placeholders, kept to compare: each form searched for in turn.
    fn placeholder_ranges_by_search(text: &str, placeholders: &[Placeholder]) -> Vec<(Range<usize>, String)> {
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
                        && !ranges
                            .iter()
                            .any(|(r, _): &(Range<usize>, String)| r.start < range.end && range.start < r.end)
                    {
                        ranges.push((range, name.to_owned()));
                    }
                }
            }
        }
        ranges.sort_by_key(|(r, _)| r.start);
        ranges
    }

    fn placeholder(name: &str, kind: PlaceholderKind) -> Placeholder {
        Placeholder { name: name.into(), kind, default: None, set_by: None, occurrences: vec![] }
    }

    #[test]
    fn a_300_kb_command_gets_every_placeholder_marked() {
        let placeholders = vec![placeholder("pod", PlaceholderKind::Angle), placeholder("NS", PlaceholderKind::Env)];
        let unit = "kubectl logs <pod> -n $NS --x=${NS} ${NS:-a} & $NSX; ";
        let count = 300_000 / unit.len();
        let text = unit.repeat(count);
        let ranges = placeholder_ranges(&text, &placeholders);
        assert_eq!(ranges.len(), 4 * count);
        let masked = masked(&text, &ranges);
        assert_eq!(&masked[..unit.len()], "kubectl logs xxxxx -n xxx --x=xxxxx xxxxxxxx & $NSX; ");
        let marked = mark_ranges_showing(&escape(&masked), &ranges, "placeholder", Some(&text));
        let mark = |name: &str, shown: &str| format!("<mark class=\"placeholder\" data-name=\"{name}\">{shown}</mark>");
        let expected_unit = format!(
            "kubectl logs {} -n {} --x={} {} &amp; $NSX; ",
            mark("pod", "&lt;pod&gt;"),
            mark("NS", "$NS"),
            mark("NS", "${NS}"),
            mark("NS", "${NS:-a}")
        );
        assert_eq!(marked, expected_unit.repeat(count));
    }

    #[test]
    fn an_unclosed_default_reaches_to_the_next_brace_only() {
        let placeholders = vec![placeholder("NS", PlaceholderKind::Env)];
        let text = format!("${{NS:-a {} ${{NS:-b}} ${{NS:-c", "y".repeat(100_000));
        let found: Vec<Range<usize>> = placeholder_ranges(&text, &placeholders).into_iter().map(|(r, _)| r).collect();
        // The first `${NS:` runs to the only `}`, which swallows the second; the third has none.
        assert_eq!(found, [0..text.len() - 8, text.len() - 7..text.len() - 2]);
    }

    #[test]
    fn one_pass_finds_what_searching_each_form_found() {
        use PlaceholderKind::{Angle, Brace, Dashed, Env};
        let placeholders = [
            placeholder("NS", Env),
            placeholder("NSX", Env),
            placeholder("pod", Angle),
            placeholder("pod name", Angle),
            placeholder("name", Brace),
            placeholder("TOP-USER", Dashed),
            placeholder("日本", Angle),
            placeholder("NS", Dashed),
        ];
        let texts = [
            "kubectl logs <pod> -n $NS --x=${NS} $NSX ${NSX} $NS_ $NS-",
            "${NS:-a} ${NS:-b ${NS:=c}} ${NS: ${NS:-never closed",
            "{{ name }} {{name}} {{  name }} {{name }} <pod name> <<pod>> <pod <日本> $TOP-USER ${TOP-USER}x",
            "$$NS ${{NS}} $ NS <> {{}} ${} $",
            "",
        ];
        for text in texts {
            for count in 0..=placeholders.len() {
                let some = &placeholders[..count];
                assert_eq!(
                    placeholder_ranges(text, some),
                    placeholder_ranges_by_search(text, some),
                    "{text:?} {count}"
                );
            }
        }
    }

    #[test]
    fn a_line_with_thousands_of_placeholders() {
        let placeholders: Vec<Placeholder> = (0..3000)
            .flat_map(|k| {
                [
                    placeholder(&format!("p{k}"), PlaceholderKind::Angle),
                    placeholder(&format!("V{k}"), PlaceholderKind::Env),
                ]
            })
            .collect();
        let text: String = (0..3000).map(|k| format!("<p{k}> $V{k} ${{V{k}:-x}} ")).collect();
        let ranges = placeholder_ranges(&text, &placeholders);
        assert_eq!(ranges.len(), 9000);
        let shown: Vec<&str> = ranges[8997..].iter().map(|(r, _)| &text[r.clone()]).collect();
        assert_eq!(shown, ["<p2999>", "$V2999", "${V2999:-x}"]);
        assert_eq!(ranges[8999].1, "V2999");
    }

    #[test]
    fn overlapping_ranges_keep_the_first_found() {
        let mut taken = Disjoint::default();
        assert!(taken.insert(&(10..20)));
        assert!(!taken.insert(&(5..11)) && !taken.insert(&(19..30)) && !taken.insert(&(12..13)));
        assert!(!taken.insert(&(0..40)) && !taken.insert(&(15..15)));
        assert!(taken.insert(&(20..25)) && taken.insert(&(0..10)) && taken.insert(&(10..10)));
        assert!(!taken.insert(&(24..26)));
    }
}
