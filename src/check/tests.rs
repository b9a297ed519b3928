//! `check` over a runbook with thousands of steps and over a book of hundreds of runbooks: every
//! finding, in place. (Their cost is measured by `benches/linear.sh`; these pin the output.)

use std::fmt::Write as _;

use super::{Options, check_book};

fn book_of(pages: &[(String, String)]) -> (tempfile::TempDir, crate::model::Book) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("book.toml"), "[book]\ntitle = \"t\"\nsrc = \"src\"\n").expect("book.toml");
    std::fs::create_dir_all(dir.path().join("src")).expect("src");
    for (name, text) in pages {
        std::fs::write(dir.path().join("src").join(name), text).expect("page");
    }
    let book = crate::load::load_book(dir.path()).expect("the book loads");
    (dir, book)
}

#[test]
fn five_thousand_steps_in_one_runbook_each_get_their_findings() {
    // Step k deletes `<hkz>`; the prose names it for even k (as written, or in capitals), never
    // for odd k. The names are distinct, so the placeholder rule looks for 5000 of them.
    let mut text = String::from("# Big\n\n");
    let mut command_lines = Vec::new();
    for k in 0..5000 {
        let _ = write!(text, "## Step {k}\n\n");
        match k % 4 {
            0 => text.push_str(&format!("Set h{k}z first.\n\n")),
            2 => text.push_str(&format!("Set H{k}Z first.\n\n")),
            _ => text.push_str("Go on.\n\n"),
        }
        command_lines.push(text.lines().count() as u32 + 2);
        let _ = write!(text, "```bash\nkubectl delete pod <h{k}z>\n```\n\n");
    }
    let (_dir, book) = book_of(&[("big.md".to_owned(), text)]);
    let found = check_book(&book, &Options::default());
    let risky: Vec<_> = found.iter().filter(|d| d.rule == "unconfirmed-risk").collect();
    assert_eq!(risky.len(), 5000);
    assert_eq!(risky[4999].line, command_lines[4999] - 1, "at the opening fence");
    assert_eq!(risky[4999].source_line.as_deref(), Some("```bash"));
    let undocumented: Vec<_> = found.iter().filter(|d| d.rule == "placeholder-undocumented").collect();
    assert_eq!(undocumented.len(), 2500);
    for (d, k) in undocumented.iter().zip((1..5000).step_by(2)) {
        assert_eq!(
            d.message,
            format!("placeholder `h{k}z` in step `step-{k}` has no default and the text never says what it is")
        );
        assert_eq!((d.line, d.col), (command_lines[k], 20));
        assert_eq!(d.source_line, Some(format!("kubectl delete pod <h{k}z>")));
    }
    assert_eq!(found.len(), 7500, "nothing else: {:?}", found.iter().find(|d| !d.rule.contains('-')));
}

#[test]
fn three_hundred_runbooks_each_get_their_findings() {
    let pages: Vec<(String, String)> = (0..300)
        .map(|k| {
            let next = if k == 299 { "missing.md".to_owned() } else { format!("page-{:03}.md", k + 1) };
            let text = format!(
                "# Page {k}\n\nRestart <pod-name> when it hangs.\n\n```bash\nkubectl get pods\n```\n\n\
                 ```bash\nkubectl delete pod <pod-name>\n```\n\n```bash\nkubectl scale deploy/x --replicas=<count>\n```\n\n\
                 See [next]({next}).\n"
            );
            (format!("page-{k:03}.md"), text)
        })
        .collect();
    let (_dir, book) = book_of(&pages);
    let found = check_book(&book, &Options::default());
    let summary: Vec<(String, &str, u32)> = found
        .iter()
        .map(|d| (d.file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(), d.rule, d.line))
        .collect();
    let mut expected = Vec::new();
    for k in 0..300 {
        let file = format!("page-{k:03}.md");
        expected.push((file.clone(), "unconfirmed-risk", 9));
        expected.push((file.clone(), "unconfirmed-risk", 13));
        expected.push((file.clone(), "placeholder-undocumented", 14));
        if k == 299 {
            expected.push((file, "broken-link", 17));
        }
    }
    assert_eq!(summary, expected);
}
