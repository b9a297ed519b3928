//! `opsbook build`: pages, step cards, anchors, links, theme overrides, lists, bad input.

use std::collections::HashSet;
use std::path::Path;

use crate::common::*;

fn build(args: &[&str], cwd: &Path) -> (i32, String) {
    let mut all = vec!["build"];
    all.extend_from_slice(args);
    let output = opsbook(&all, cwd);
    (output.status.code().unwrap(), text(&output.stderr))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The HTML of the step card whose id is `id`.
fn card<'h>(html: &'h str, id: &str) -> &'h str {
    let marker = format!("data-step=\"{id}\"");
    let start = html
        .match_indices("<section class=\"step ")
        .map(|(i, _)| i)
        .find(|i| html[*i..].find(&marker).is_some_and(|at| at < 80))
        .unwrap_or_else(|| panic!("no card `{id}`"));
    let end = html[start..].find("</section>").unwrap() + start + "</section>".len();
    &html[start..end]
}

fn seed_site() -> Option<(tempfile::TempDir, String, String)> {
    let seed = shared_path("seeds/incident-response.md")?;
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&seed, dir.path().join("incident-response.md")).unwrap();
    let (code, stderr) = build(&["--dest-dir", "site"], dir.path());
    assert_eq!(code, 0, "{stderr}");
    let html = read(&dir.path().join("site/incident-response.html"));
    Some((dir, html, stderr))
}

#[test]
fn seed_step_cards() {
    let Some((_dir, html, _)) = seed_site() else { return };
    insta::assert_snapshot!("seed_card_api_not_responding", card(&html, "api-not-responding"));
    insta::assert_snapshot!("seed_card_status_page_update", card(&html, "status-page-update"));
}

#[test]
fn seed_has_all_13_step_anchors_and_command_anchors() {
    let Some((_dir, html, _)) = seed_site() else { return };
    for id in SEED_STEP_IDS {
        assert!(html.contains(&format!("id=\"step-{id}\"")), "anchor for `{id}`");
    }
    assert_eq!(html.matches("<section class=\"step ").count(), 13);
    for n in 1..=6 {
        assert!(html.contains(&format!("id=\"step-api-not-responding-{n}\"")));
    }
    assert!(!html.contains("id=\"step-api-not-responding-7\""));
    // Placeholders are marked inside the highlighted code; templates are shown as templates.
    assert!(
        html.contains("<mark class=\"placeholder\" data-name=\"pod-name\">&lt;pod-name&gt;</mark>"),
        "pod-name marked"
    );
    assert!(html.contains("data-name=\"STATUS_PAGE_TOKEN\">$STATUS_PAGE_TOKEN</mark>"));
    assert_eq!(html.matches("<div class=\"template\"").count(), 2);
    assert!(
        html.contains("<mark class=\"blank\" data-name=\"Severity\">1-4</mark>")
            || html.contains("data-name=\"Severity\">[1-4]</mark>")
    );
    // No Run button on a static page; Copy buttons hidden until the script shows them.
    assert!(!html.to_lowercase().contains(">run<"));
    assert!(html.contains("<button class=\"copy\" type=\"button\" data-copy=\"step\" hidden>Copy</button>"));
    // Headings carry anchors; the front matter-free title comes from the H1.
    assert!(html.contains(
        "<h3 id=\"api-not-responding\">API Not Responding<a class=\"heading-anchor\" href=\"#api-not-responding\""
    ));
    assert!(html.contains("<title>Incident Response Runbook · "));
}

#[test]
fn see_also_links_warn_with_file_and_line_and_the_build_succeeds() {
    let Some((_dir, html, stderr)) = seed_site() else { return };
    for (line, target) in [(296, "scaling.md"), (297, "monitoring-setup.md"), (298, "database-migration.md")] {
        assert!(stderr.contains(&format!("incident-response.md:{line}:3")), "{stderr}");
        assert!(stderr.contains(&format!("link to `{target}`, which is not a runbook of this book")), "{stderr}");
    }
    assert!(stderr.contains("built 1 page"), "{stderr}");
    assert!(html.contains("href=\"scaling.md\""), "a broken link is left as written");
}

#[test]
fn strict_turns_warnings_into_exit_1() {
    let Some(seed) = shared_path("seeds/incident-response.md") else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&seed, dir.path().join("incident-response.md")).unwrap();
    let (code, _) = build(&["--strict", "--dest-dir", "site"], dir.path());
    assert_eq!(code, 1);
}

#[test]
fn repo_book_builds_clean_with_rewritten_links() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("site");
    let (code, stderr) = build(&["--strict", "--dest-dir", dest.to_str().unwrap()], &repo());
    assert_eq!(code, 0, "{stderr}");
    let page = read(&dest.join("incident-response.html"));
    assert!(page.contains("<a href=\"local-demo.html\">Local demo</a>"), "`.md` links become `.html`");
    assert!(page.contains("href=\"#status-page\""));
    for file in [
        "index.html",
        "print.html",
        "404.html",
        "runbooks.json",
        "assets/opsbook.css",
        "assets/opsbook.js",
        "assets/highlight-light.css",
        "assets/highlight-dark.css",
        "local-demo.html",
    ] {
        assert!(dest.join(file).is_file(), "{file}");
    }
    let index = read(&dest.join("index.html"));
    assert!(index.contains("<a href=\"incident-response.html\">Incident response</a>"));
    assert!(index.contains("<span class=\"severity\">SEV1</span>"));
    assert!(index.contains("<span class=\"tag\">kubernetes</span>"));
    let print = read(&dest.join("print.html"));
    assert!(print.contains("id=\"incident-response--step-status-page\""), "print anchors are namespaced");
    assert!(print.contains("href=\"#local-demo\""), "links inside the print page stay inside it");
    assert!(print.contains("id=\"local-demo\""));
    // The repo's book: every step card, with the book's own risk rule applied.
    assert!(page.contains("title=\"`shipit` changes what is deployed\">mutating</span>"));
}

#[test]
fn runbooks_json_equals_list_json() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("site");
    let (code, stderr) = build(&["--dest-dir", dest.to_str().unwrap()], &repo());
    assert_eq!(code, 0, "{stderr}");
    let listed = opsbook(&["list", "--json"], &repo());
    assert_eq!(read(&dest.join("runbooks.json")), text(&listed.stdout));
}

#[test]
fn a_theme_file_overrides_only_itself() {
    let book = tempfile::tempdir().unwrap();
    std::fs::write(book.path().join("a.md"), "# A\n\n```bash\nuptime\n```\n").unwrap();
    let (code, stderr) = build(&["--dest-dir", "plain"], book.path());
    assert_eq!(code, 0, "{stderr}");
    std::fs::create_dir(book.path().join("theme")).unwrap();
    std::fs::write(
        book.path().join("theme/404.html"),
        "{% extends \"layout.html\" %}{% block content %}<h1>Lost? Page the on-call.</h1>{% endblock content %}",
    )
    .unwrap();
    let (code, stderr) = build(&["--dest-dir", "themed"], book.path());
    assert_eq!(code, 0, "{stderr}");
    let file = |site: &str, name: &str| read(&book.path().join(site).join(name));
    assert!(file("themed", "404.html").contains("<h1>Lost? Page the on-call.</h1>"));
    assert!(!file("plain", "404.html").contains("Lost?"));
    for same in ["index.html", "a.html", "print.html", "assets/opsbook.css", "assets/opsbook.js"] {
        assert_eq!(file("plain", same), file("themed", same), "{same} is unchanged");
    }
}

#[test]
fn a_broken_template_is_an_input_error() {
    let book = tempfile::tempdir().unwrap();
    std::fs::write(book.path().join("a.md"), "# A\n").unwrap();
    std::fs::create_dir(book.path().join("theme")).unwrap();
    std::fs::write(book.path().join("theme/page.html"), "{% if %}").unwrap();
    let (code, stderr) = build(&["--dest-dir", "site"], book.path());
    assert_eq!(code, 2);
    assert!(stderr.contains("theme file"), "{stderr}");
}

#[test]
fn dest_inside_src_is_refused_before_any_work() {
    let book = tempfile::tempdir().unwrap();
    std::fs::create_dir(book.path().join("src")).unwrap();
    std::fs::write(book.path().join("src/a.md"), "# A\n").unwrap();
    let (code, stderr) = build(&["--dest-dir", "src/site"], book.path());
    assert_eq!(code, 2);
    assert!(stderr.contains("is inside the runbook folder"), "{stderr}");
    assert!(!book.path().join("src/site").exists(), "nothing written");
}

#[test]
fn unwritable_dest_is_an_input_error() {
    let book = tempfile::tempdir().unwrap();
    std::fs::write(book.path().join("a.md"), "# A\n").unwrap();
    std::fs::write(book.path().join("blocker"), "a file, not a folder").unwrap();
    let (code, stderr) = build(&["--dest-dir", "blocker/site"], book.path());
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot write the build folder `blocker/site`"), "{stderr}");
}

#[test]
fn a_runbook_that_fails_to_load_is_reported_and_the_others_built() {
    let book = tempfile::tempdir().unwrap();
    std::fs::write(book.path().join("good.md"), "# Good\n").unwrap();
    std::fs::write(book.path().join("bad.md"), b"# Bad\n\xff\n").unwrap();
    let (code, stderr) = build(&["--dest-dir", "site"], book.path());
    assert_eq!(code, 1);
    assert!(stderr.contains("bad.md:2:1"), "{stderr}");
    assert!(book.path().join("site/good.html").is_file());
    assert!(!book.path().join("site/bad.html").exists());
}

#[test]
fn a_rebuild_with_nothing_changed_touches_nothing() {
    let book = tempfile::tempdir().unwrap();
    std::fs::write(book.path().join("a.md"), "# A\n\n```bash\nkubectl get pods\n```\n").unwrap();
    let (code, first) = build(&["--dest-dir", "site"], book.path());
    assert_eq!(code, 0);
    assert!(first.contains("1 block highlighted anew"), "{first}");
    let page = book.path().join("site/a.html");
    let before = std::fs::metadata(&page).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let (code, second) = build(&["--dest-dir", "site"], book.path());
    assert_eq!(code, 0);
    assert!(second.contains("0 blocks highlighted anew"), "{second}");
    assert_eq!(std::fs::metadata(&page).unwrap().modified().unwrap(), before);
}

#[test]
fn a_runbook_edited_after_loading_is_rendered_from_the_parsed_text() {
    let book_dir = tempfile::tempdir().unwrap();
    let file = book_dir.path().join("a.md");
    std::fs::write(&file, "# Alpha\n\n```bash {name=pods}\nkubectl get pods\n```\n").unwrap();
    let book = opsbook::load::load_book(book_dir.path()).unwrap();
    // A block inserted above the step after the parse: read again, the file would have the
    // step's card (fence at line 3) land on the inserted block, and the step itself shown as
    // plain code below it.
    std::fs::write(&file, "# Alpha\n\n```bash\necho inserted\n```\n\n```bash {name=pods}\nkubectl get pods\n```\n")
        .unwrap();
    let dest = book_dir.path().join("site");
    opsbook::site::Site::new(&book, &dest).unwrap().build().unwrap();
    let html = read(&dest.join("a.html"));
    assert!(!html.contains("inserted"), "the page is the parsed text, not the file as it is now");
    assert!(card(&html, "pods").contains("kubectl"), "{html}");
    assert_eq!(html.matches("kubectl").count(), card(&html, "pods").matches("kubectl").count(), "{html}");
    // The runbook is gone from disk: its page is still the text that was loaded.
    std::fs::remove_file(&file).unwrap();
    std::fs::remove_dir_all(&dest).unwrap();
    opsbook::site::Site::new(&book, &dest).unwrap().build().unwrap();
    assert!(card(&read(&dest.join("a.html")), "pods").contains("kubectl"));
}

/// Relative links of a built page, with their targets resolved against the output folder.
fn relative_hrefs(html: &str) -> Vec<String> {
    html.match_indices("href=\"")
        .filter_map(|(i, _)| {
            let rest = &html[i + 6..];
            let href = &rest[..rest.find('"')?];
            let external = href.contains("://") || href.starts_with("mailto:") || href.starts_with('/');
            (!external && !href.is_empty()).then(|| href.replace("&amp;", "&"))
        })
        .collect()
}

#[test]
fn the_whole_corpus_builds_and_its_resolving_links_still_resolve() {
    let Some(root) = shared_path("corpus/public") else { return };
    let out = tempfile::tempdir().unwrap();
    let (code, stderr) = build(&[root.to_str().unwrap(), "--dest-dir", out.path().to_str().unwrap()], &repo());
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("built 47 pages"), "{stderr}");
    let mut checked = 0;
    for (rel, _) in crate::corpus::corpus_files().unwrap().1.iter().map(|r| (r.clone(), ())) {
        let page_rel = format!("{}.html", rel.trim_end_matches(".md"));
        let html = read(&out.path().join(&page_rel));
        for href in relative_hrefs(&html) {
            let (path, anchor) = href.split_once('#').map_or((href.as_str(), None), |(p, a)| (p, Some(a)));
            if !path.ends_with(".html") && !path.is_empty() {
                continue;
            }
            let page_dir = Path::new(&page_rel).parent().unwrap();
            let target_rel = if path.is_empty() { page_rel.clone() } else { normalize(&page_dir.join(path)) };
            let source_md = root.join(format!("{}.md", target_rel.trim_end_matches(".html")));
            if !source_md.exists() {
                continue; // broken in the sources too (and warned about)
            }
            let target = read(&out.path().join(&target_rel));
            if let Some(anchor) = anchor.filter(|a| !a.is_empty()) {
                let (runbook, _) = parse_file(&source_md);
                let source_anchors: HashSet<String> = runbook
                    .sections
                    .iter()
                    .map(|s| s.anchor.clone())
                    .chain(runbook.steps.iter().map(|s| format!("step-{}", s.id)))
                    .collect();
                if source_anchors.contains(anchor) {
                    assert!(target.contains(&format!("id=\"{anchor}\"")), "{page_rel}: `{href}` lost its anchor");
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} internal links checked");
}

fn normalize(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                parts.pop();
            }
            std::path::Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            _ => {}
        }
    }
    parts.join("/")
}

#[test]
fn rebuild_one_runbook_rerenders_it_and_the_lists_only() {
    let book_dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(book_dir.path().join(name), text).unwrap();
    write("a.md", "# Alpha\n\n```bash\nuptime\n```\n");
    write("b.md", "# Beta\n");
    let dest = book_dir.path().join("site");
    let book = opsbook::load::load_book(book_dir.path()).unwrap();
    opsbook::site::Site::new(&book, &dest).unwrap().build().unwrap();
    let b_time = std::fs::metadata(dest.join("b.html")).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));

    // A change inside the page: only that page (and the lists) are redone.
    write("a.md", "# Alpha\n\n```bash\nkubectl get pods\n```\n");
    let previous = book;
    let book = opsbook::load::load_book(book_dir.path()).unwrap();
    let site = opsbook::site::Site::new(&book, &dest).unwrap();
    let diagnostics = site.rebuild_runbook(&previous, "a.md").unwrap();
    assert!(diagnostics.is_empty());
    assert!(read(&dest.join("a.html")).contains("kubectl"));
    assert!(read(&dest.join("runbooks.json")).contains("kubectl get pods"));
    assert_eq!(std::fs::metadata(dest.join("b.html")).unwrap().modified().unwrap(), b_time, "b.html untouched");

    // A new title: every sidebar names it, so every page is redone.
    write("a.md", "# Alpha, renamed\n\n```bash\nkubectl get pods\n```\n");
    let previous = book;
    let book = opsbook::load::load_book(book_dir.path()).unwrap();
    let site = opsbook::site::Site::new(&book, &dest).unwrap();
    site.rebuild_runbook(&previous, "a.md").unwrap();
    assert!(read(&dest.join("index.html")).contains("Alpha, renamed"), "the index lists the new title");
    assert!(read(&dest.join("b.html")).contains("Alpha, renamed"), "b's sidebar too");
    assert!(site.rebuild_runbook(&book, "nope.md").is_err());
}
