//! What a runbook file is called and where its page is: the file endings that make a runbook
//! (`[opsbook] extensions`), the page a file becomes (`backup.html.md.erb` -> `backup.html`),
//! and the names a link may give a page. One owner for the walk, `list FILE`, lookups, live
//! reload, the site's pages and its link check.

/// The file endings read as runbooks unless `[opsbook] extensions` says otherwise.
pub const DEFAULT_EXTENSIONS: &[&str] = &["md", "markdown", "mdx", "md.erb"];

/// Whether `name` (a file name or a path) ends with one of `extensions`, in any case.
pub fn is_runbook_file(name: &str, extensions: &[String]) -> bool {
    matched_ending(name, extensions).is_some()
}

/// The ending of `name` that makes it a runbook (the longest that matches), without its dot.
fn matched_ending<'e>(name: &str, extensions: &'e [String]) -> Option<&'e str> {
    let file = name.rsplit('/').next().unwrap_or(name).to_ascii_lowercase();
    extensions
        .iter()
        .map(|e| e.trim_start_matches('.'))
        .filter(|e| {
            let ending = format!(".{}", e.to_ascii_lowercase());
            file.len() > ending.len() && file.ends_with(&ending)
        })
        .max_by_key(|e| e.len())
}

/// `db/failover.md` -> `db/failover.html`; `backup.html.md.erb` -> `backup.html` (Middleman's
/// template suffixes dropped); `intro.mdx` -> `intro.html`. A file with no ending gets `.html`.
pub fn html_path(rel: &str) -> String {
    let (folder, file) = match rel.rfind('/') {
        Some(at) => rel.split_at(at + 1),
        None => ("", rel),
    };
    let mut stem = file;
    for template in [".erb", ".haml", ".slim"] {
        if stem.len() > template.len() && stem.to_ascii_lowercase().ends_with(template) {
            stem = &stem[..stem.len() - template.len()];
        }
    }
    if let Some(dot) = stem.rfind('.').filter(|at| *at > 0) {
        stem = &stem[..dot];
    }
    if stem.to_ascii_lowercase().ends_with(".html") {
        format!("{folder}{stem}")
    } else {
        format!("{folder}{stem}.html")
    }
}

/// `rel` without the ending that makes it a runbook (`a/b.mdx` -> `a/b`), or as given.
pub fn stem<'r>(rel: &'r str, extensions: &[String]) -> &'r str {
    match matched_ending(rel, extensions) {
        Some(ending) => &rel[..rel.len() - ending.len() - 1],
        None => rel,
    }
}

/// The names a link or a person may give the page of `rel`, besides `rel` itself: its page
/// (`backup.html`) and its path without the ending (`backup.html`, `intro`, as Docusaurus and
/// Hugo links are written).
pub fn other_names(rel: &str, extensions: &[String]) -> [String; 2] {
    [html_path(rel), stem(rel, extensions).to_owned()]
}

/// An MDX partial (`_linux-package-repo.mdx`): a piece other pages import, never a page of its
/// own (Docusaurus's rule for names starting with `_`).
pub fn is_partial(rel: &str) -> bool {
    let file = rel.rsplit('/').next().unwrap_or(rel);
    file.starts_with('_') && file.to_ascii_lowercase().ends_with(".mdx")
}

/// A name `[opsbook] aliases` may define: what bash takes as an alias name and a command word.
pub fn is_alias_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Vec<String> {
        DEFAULT_EXTENSIONS.iter().map(|e| (*e).to_owned()).collect()
    }

    #[test]
    fn endings_and_pages() {
        let ext = defaults();
        for yes in ["a.md", "b/c.MD", "x.markdown", "y.mdx", "backup.html.md.erb", "z.md.erb"] {
            assert!(is_runbook_file(yes, &ext), "{yes}");
        }
        for no in ["a.txt", "md", ".md", "a.erb", "a.html", "a.mdxx"] {
            assert!(!is_runbook_file(no, &ext), "{no}");
        }
        assert_eq!(html_path("db/failover.md"), "db/failover.html");
        assert_eq!(html_path("backup.html.md.erb"), "backup.html");
        assert_eq!(html_path("ops/z.md.erb"), "ops/z.html");
        assert_eq!(html_path("intro.mdx"), "intro.html");
        assert_eq!(html_path("v1.2/notes.markdown"), "v1.2/notes.html");
        assert_eq!(html_path("README"), "README.html");
        assert_eq!(stem("backup.html.md.erb", &ext), "backup.html");
        assert_eq!(stem("docs/10-deploy.mdx", &ext), "docs/10-deploy");
        assert!(is_partial("docs/_linux-package-repo.mdx") && !is_partial("content/_index.md"));
        assert_eq!(other_names("a/b.md", &ext), ["a/b.html".to_owned(), "a/b".to_owned()]);
    }

    #[test]
    fn alias_names() {
        assert!(is_alias_name("k") && is_alias_name("tf") && is_alias_name("kubectl.prod"));
        assert!(!is_alias_name("") && !is_alias_name("-x") && !is_alias_name("a b") && !is_alias_name("$(x)"));
    }
}
