//! Finding and reading a book: `book.toml`, the runbook folder, `SUMMARY.md` order or a sorted
//! walk, and each file through `parse`.
//!
//! A problem with one runbook (unreadable, not UTF-8) is a diagnostic and the others still load;
//! a problem with the book itself (missing path, invalid `book.toml`) is a [`LoadError`].

use std::path::{Component, Path, PathBuf};

use pulldown_cmark::{Event, Parser, Tag};
use walkdir::WalkDir;

use crate::boundary::{Boundary, BoundaryError, is_hidden_name};
use crate::config::{Config, ConfigError};
use crate::diagnostic::Diagnostic;
use crate::model::{Book, Layout, LayoutKind};

mod layout;
use crate::parse::{self, ParseOptions};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("`{}` does not exist; give a book folder (with or without `book.toml`) or a runbook `.md` file", path.display())]
    Missing { path: PathBuf },
    #[error("`{}` is not a folder nor a `.md` file; give a book folder or a runbook", path.display())]
    NotABook { path: PathBuf },
    #[error("the runbook folder `{}` does not exist; create it or set `[book] src` in `{}`", src.display(), config.display())]
    MissingSrc { src: PathBuf, config: PathBuf },
    #[error("the runbook folder `{}` leads to `{}`, outside the book `{}`; move it into the book or list it in `[opsbook] allow-outside` in `{}`", src.display(), target.display(), root.display(), config.display())]
    SrcOutside { src: PathBuf, target: PathBuf, root: PathBuf, config: PathBuf },
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Opens what a command was pointed at: a book folder, a runbook file inside (or outside) a
/// book, or, with no path, the book around the working directory.
pub fn open(path: Option<&Path>) -> Result<Book, LoadError> {
    let path = match path {
        Some(path) => path.to_owned(),
        None => find_book_root(Path::new(".")).unwrap_or_else(|| PathBuf::from(".")),
    };
    if !path.exists() {
        return Err(LoadError::Missing { path });
    }
    if path.is_dir() {
        return load_book(&path);
    }
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let extensions = match find_book_root(parent) {
        Some(root) => read_config(&root)?.opsbook.extensions,
        None => Config::default().opsbook.extensions,
    };
    if crate::page::is_runbook_file(&path.to_string_lossy(), &extensions) {
        return load_file(&path);
    }
    Err(LoadError::NotABook { path })
}

/// Finds the book a command is pointed at without reading its runbooks: its root folder (where
/// `.opsbook/` lives) and its configuration.
pub fn locate(path: Option<&Path>) -> Result<(PathBuf, Config), LoadError> {
    let root = match path {
        Some(path) if !path.exists() => return Err(LoadError::Missing { path: path.to_owned() }),
        Some(path) if path.is_dir() => path.to_owned(),
        Some(path) => {
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            find_book_root(parent).unwrap_or_else(|| parent.to_owned())
        }
        None => find_book_root(Path::new(".")).unwrap_or_else(|| PathBuf::from(".")),
    };
    let config = read_config(&root)?;
    Ok((root, config))
}

/// The nearest folder at or above `start` holding a `book.toml`, as a path relative to the
/// working directory when it is near it (for short messages), else absolute.
pub fn find_book_root(start: &Path) -> Option<PathBuf> {
    let absolute = std::fs::canonicalize(start).ok()?;
    let found = absolute.ancestors().find(|dir| dir.join("book.toml").is_file())?;
    Some(short_path(found))
}

/// `dir` relative to the working directory when it is the working directory, above it or
/// below it; absolute otherwise.
fn short_path(dir: &Path) -> PathBuf {
    let Ok(cwd) = std::env::current_dir().and_then(std::fs::canonicalize) else {
        return dir.to_owned();
    };
    if let Ok(below) = dir.strip_prefix(&cwd) {
        return if below.as_os_str().is_empty() { PathBuf::from(".") } else { below.to_owned() };
    }
    if let Ok(above) = cwd.strip_prefix(dir) {
        return above.components().map(|_| "..").collect();
    }
    dir.to_owned()
}

fn read_config(root: &Path) -> Result<Config, LoadError> {
    let file = root.join("book.toml");
    if file.is_file() { Ok(Config::from_file(&file)?) } else { Ok(Config::default()) }
}

fn options(config: &Config, layout: LayoutKind) -> ParseOptions {
    let risk_rules =
        config.compiled_risk_rules().into_iter().map(|(regex, risk, reason)| (regex, risk.into(), reason)).collect();
    ParseOptions { risk_rules, aliases: config.aliases(), docusaurus: layout == LayoutKind::Docusaurus }
}

/// Loads every runbook of the book at `root`. Without a `book.toml`, a docs site's own
/// configuration there (`mkdocs.yml`, Docusaurus sidebars, GitBook's `SUMMARY.md`, Hugo's
/// `content/`) says where the runbooks are and in which order.
pub fn load_book(root: &Path) -> Result<Book, LoadError> {
    let config = read_config(root)?;
    let site = if root.join("book.toml").is_file() { None } else { layout::detect(root) };
    let boundary = Boundary::of_book(root, &config);
    let mut diagnostics = Vec::new();
    let mut layout = Layout::default();
    let mut nav = None;
    let src = match site {
        Some(found) => {
            layout.kind = found.kind;
            layout.files = found.files;
            if found.kind == LayoutKind::MkDocs {
                let mkdocs = layout::mkdocs(&layout.files[0], &boundary, &mut diagnostics);
                layout.files = mkdocs.files;
                layout.read_as_data = mkdocs.nav.is_some();
                nav = mkdocs.nav;
                mkdocs.docs_dir
            } else {
                found.src
            }
        }
        None => config.src_dir(root),
    };
    let config_file = layout.files.first().cloned().unwrap_or_else(|| root.join("book.toml"));
    if !src.is_dir() {
        return Err(LoadError::MissingSrc { src, config: config_file });
    }
    if let Err(BoundaryError::Outside { target, .. }) = boundary.resolve(&src) {
        return Err(LoadError::SrcOutside { src, target, root: root.to_owned(), config: config_file });
    }
    // The walk runs even when `SUMMARY.md` orders the book: its warnings (links out of the
    // book, hidden runbooks) are about the other files the site copies too.
    let walked = walk(&src, &config, root, &boundary, &mut diagnostics);
    let files = match &nav {
        Some(nav) => layout::nav_order(nav, &walked, &mut layout.titles),
        None => {
            let lenient = layout.kind == LayoutKind::Summary;
            match summary_order(&src, &config, &boundary, lenient, &mut diagnostics, &mut layout.titles) {
                Some(files) => {
                    if layout.kind == LayoutKind::Walk {
                        layout.kind = LayoutKind::Summary;
                        layout.files = vec![src.join("SUMMARY.md")];
                    }
                    files
                }
                None => walked,
            }
        }
    };
    let options = options(&config, layout.kind);
    let mut runbooks = Vec::with_capacity(files.len());
    for rel in files {
        let file = src.join(&rel);
        if let Some(parsed) = read_and_parse(&file, &rel, &boundary, &options, &mut diagnostics) {
            runbooks.push(std::sync::Arc::new(parsed));
        }
    }
    if layout.kind == LayoutKind::Hugo {
        // Hugo leaves drafts out of the site it publishes.
        runbooks.retain(|r| r.front_matter.extra.get("draft") != Some(&serde_json::Value::Bool(true)));
    }
    layout::sort(&mut layout, &mut runbooks, &boundary, &mut diagnostics);
    same_page_twice(&runbooks, &src, &mut diagnostics);
    Ok(Book { root: root.to_owned(), src, config, runbooks, diagnostics, layout })
}

/// Two runbooks whose pages would have the same name (`a.md` and `a.mdx`): the later one's page
/// would replace the first's.
fn same_page_twice(runbooks: &[std::sync::Arc<crate::model::Runbook>], src: &Path, diagnostics: &mut Vec<Diagnostic>) {
    let mut seen: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    for runbook in runbooks {
        let page = crate::page::html_path(&runbook.path);
        if let Some(first) = seen.insert(page.clone(), &runbook.path) {
            diagnostics.push(
                Diagnostic::warning(
                    "same-page",
                    src.join(&runbook.path),
                    format!("`{}` and `{first}` both become the page `{page}`; the site keeps only one", runbook.path),
                )
                .with_help("rename one of them"),
            );
        }
    }
}

/// The book after one of its runbooks changed on disk: that file read and parsed again, the
/// rest kept. A file that appeared or went away, or a changed `SUMMARY.md`, changes the list of
/// runbooks: the whole book is loaded again.
pub fn reload_runbook(book: &Book, rel: &str) -> Result<Book, LoadError> {
    let file = book.src.join(rel);
    let known = book.runbooks.iter().position(|r| r.path == rel);
    let (Some(index), true) = (known, file.is_file()) else { return load_book(&book.root) };
    if rel == "SUMMARY.md" || book.layout.kind != LayoutKind::Walk && book.layout.kind != LayoutKind::Summary {
        // Docusaurus and Hugo order pages by their front matter, which this change may move.
        return load_book(&book.root);
    }
    let mut diagnostics: Vec<Diagnostic> = book.diagnostics.iter().filter(|d| d.file != file).cloned().collect();
    let mut next = book.clone();
    let boundary = Boundary::of_book(&book.root, &book.config);
    match read_and_parse(&file, rel, &boundary, &options(&book.config, book.layout.kind), &mut diagnostics) {
        Some(runbook) => next.runbooks[index] = std::sync::Arc::new(runbook),
        None => {
            next.runbooks.remove(index);
        }
    }
    next.diagnostics = diagnostics;
    Ok(next)
}

/// Loads one runbook file, with the configuration of the book it lives in, if any.
pub fn load_file(file: &Path) -> Result<Book, LoadError> {
    let parent = file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let book_root = find_book_root(parent);
    let (root, config, src) = match book_root {
        Some(root) => {
            let config = read_config(&root)?;
            let src = config.src_dir(&root);
            (root, config, src)
        }
        None => (parent.to_owned(), Config::default(), parent.to_owned()),
    };
    // A file outside the book's source folder (beside book.toml, or in no book) is its own
    // source: its path is its name in its folder, so that `src` joined to it is the file.
    let (src, rel) = match relative_to(file, &src) {
        Some(rel) => (src, rel),
        None => (
            parent.to_owned(),
            file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned()),
        ),
    };
    let mut diagnostics = Vec::new();
    let boundary = Boundary::of_book(&root, &config);
    let runbooks = read_and_parse(file, &rel, &boundary, &options(&config, LayoutKind::Walk), &mut diagnostics)
        .into_iter()
        .map(std::sync::Arc::new)
        .collect();
    Ok(Book { root, src, config, runbooks, diagnostics, layout: Layout::default() })
}

/// `file`'s path below `dir`, with `/` separators, when it is below it.
fn relative_to(file: &Path, dir: &Path) -> Option<String> {
    let file = std::fs::canonicalize(file).ok()?;
    let dir = std::fs::canonicalize(dir).ok()?;
    let rel = file.strip_prefix(&dir).ok()?;
    let parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    (!parts.is_empty() && !parts.iter().any(|p| p == "..")).then(|| parts.join("/"))
}

/// Reads and parses one runbook; a runbook that leads out of the book is a warning and is not
/// read.
fn read_and_parse(
    file: &Path,
    rel: &str,
    boundary: &Boundary,
    options: &ParseOptions,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<crate::model::Runbook> {
    let bytes = match boundary.read(file) {
        Ok(bytes) => bytes,
        Err(err @ BoundaryError::Outside { .. }) => {
            diagnostics.push(err.warning());
            return None;
        }
        Err(BoundaryError::Read { source: err, .. }) => {
            diagnostics.push(
                Diagnostic::error("unreadable", file, format!("failed to read `{}`: {err}", file.display()))
                    .with_help("check that the file exists and is readable"),
            );
            return None;
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            let valid = &err.as_bytes()[..err.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|b| **b == b'\n').count() as u32 + 1;
            let col =
                String::from_utf8_lossy(valid.rsplit(|b| *b == b'\n').next().unwrap_or(&[])).chars().count() as u32 + 1;
            let mut diagnostic = Diagnostic::error(
                "not-utf8",
                file,
                format!("`{}` is not valid UTF-8 (byte {} of the file)", file.display(), valid.len() + 1),
            )
            .with_help("save the file as UTF-8 (for example `iconv -f latin1 -t utf-8`); it was skipped");
            diagnostic.line = line;
            diagnostic.col = col;
            diagnostics.push(diagnostic);
            return None;
        }
    };
    let parsed = parse::parse_runbook(file, rel, &text, options);
    diagnostics.extend(parsed.diagnostics);
    Some(parsed.runbook)
}

/// The runbooks `SUMMARY.md` lists, in its order; None when the book has no `SUMMARY.md` (or
/// it leads out of the book: a warning, and the folder is walked instead). An entry must name
/// a file below the runbook folder, not hidden, that does not lead out of the book.
/// GitBook's (`lenient`) names a page it has no file for as a warning: GitBook itself shows such
/// an entry as an empty page. The link texts are the pages' navigation titles.
fn summary_order(
    src: &Path,
    config: &Config,
    boundary: &Boundary,
    lenient: bool,
    diagnostics: &mut Vec<Diagnostic>,
    titles: &mut std::collections::HashMap<String, String>,
) -> Option<Vec<String>> {
    let summary_path = src.join("SUMMARY.md");
    let text = match boundary.read(&summary_path) {
        Ok(bytes) => String::from_utf8(bytes).ok()?,
        Err(err @ BoundaryError::Outside { .. }) => {
            diagnostics.push(err.warning());
            return None;
        }
        Err(BoundaryError::Read { .. }) => return None,
    };
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() as u32 + 1;
    let mut files: Vec<String> = Vec::new();
    let mut link_text: Option<(String, String)> = None;
    for (event, range) in Parser::new(&text).into_offset_iter() {
        match &event {
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, title)) = link_text.as_mut() {
                    title.push_str(t);
                }
                continue;
            }
            Event::End(pulldown_cmark::TagEnd::Link) => {
                if let Some((dest, title)) = link_text.take() {
                    if files.contains(&dest) && !title.trim().is_empty() {
                        titles.entry(dest).or_insert_with(|| title.trim().to_owned());
                    }
                }
                continue;
            }
            _ => {}
        }
        let Event::Start(Tag::Link { dest_url, .. }) = event else { continue };
        let dest = dest_url.split('#').next().unwrap_or("");
        if dest.is_empty() || dest.contains("://") || dest.starts_with("mailto:") {
            continue;
        }
        let dest = dest.trim_start_matches("./").to_owned();
        if !crate::page::is_runbook_file(&dest, &config.opsbook.extensions) || files.contains(&dest) {
            continue;
        }
        link_text = Some((dest.clone(), String::new()));
        let line = line_of(range.start);
        let col = text[..range.start].rsplit('\n').next().map_or(1, |s| s.chars().count() as u32 + 1);
        let at = |diagnostic: Diagnostic| diagnostic.at(&text, line, col);
        let parts: Vec<Component<'_>> = Path::new(&dest).components().collect();
        if !parts.iter().all(|c| matches!(c, Component::Normal(_))) {
            diagnostics.push(at(Diagnostic::warning(
                "outside-book",
                &summary_path,
                format!("`SUMMARY.md` lists `{dest}`, which is not inside the runbook folder; skipped"),
            )
            .with_help("list files by their path below the runbook folder, without `..` or a leading `/`")));
            continue;
        }
        if parts.iter().any(|c| is_hidden_name(&c.as_os_str().to_string_lossy())) {
            diagnostics.push(at(hidden_warning(&summary_path, &format!("`SUMMARY.md` lists `{dest}`, which"))));
            continue;
        }
        match boundary.resolve(&src.join(&dest)) {
            Ok(real) if real.is_file() => files.push(dest),
            Err(err @ BoundaryError::Outside { .. }) => diagnostics.push(err.warning()),
            Ok(_) | Err(BoundaryError::Read { .. }) => {
                let message = format!("`SUMMARY.md` lists `{dest}`, which does not exist");
                let diagnostic = if lenient {
                    Diagnostic::warning("missing-chapter", &summary_path, message)
                } else {
                    Diagnostic::error("missing-chapter", &summary_path, message)
                };
                diagnostics.push(at(diagnostic).with_help("create the file or remove the entry from SUMMARY.md"));
            }
        }
    }
    Some(files)
}

/// Every runbook file below `src` (by `[opsbook] extensions`), sorted.
fn walk(
    src: &Path,
    config: &Config,
    root: &Path,
    boundary: &Boundary,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let extensions = &config.opsbook.extensions;
    let is_runbook = |rel: &String| crate::page::is_runbook_file(rel, extensions) && !crate::page::is_partial(rel);
    book_files(src, &config.build_dir(root), boundary, diagnostics).into_iter().filter(is_runbook).collect()
}

/// A name that would be a runbook but for being hidden (the warning says so).
fn is_markdown(path: &Path) -> bool {
    crate::page::is_runbook_file(&path.to_string_lossy(), &Config::default().opsbook.extensions)
}

/// The warning for a hidden Markdown file; `subject` names it (`` `runbooks/..x.md` ``).
fn hidden_warning(file: &Path, subject: &str) -> Diagnostic {
    Diagnostic::warning(
        "hidden-runbook",
        file,
        format!("{subject} is skipped: its name starts with `.`, and hidden files are not runbooks"),
    )
    .with_help("rename it without the leading `.` to make it a runbook")
}

/// `path` with links resolved when it exists, else made absolute; as given when neither works.
pub fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).or_else(|_| std::path::absolute(path)).unwrap_or_else(|_| path.to_owned())
}

/// Every file below `src`, sorted, as `/`-separated relative paths, skipping hidden entries
/// (a hidden `.md` file is reported), `target/`, `node_modules/` and the folder `skip` (the
/// build folder). Symlinks are followed while they stay inside `boundary`; one that leads out is
/// reported and skipped (a linked folder with all it holds). Loops and unreadable entries are
/// reported in `diagnostics`, not followed.
pub(crate) fn book_files(
    src: &Path,
    skip: &Path,
    boundary: &Boundary,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let skip = absolute(skip);
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let walker = WalkDir::new(src).follow_links(true).sort_by_file_name().into_iter().filter_entry(|entry| {
        if entry.depth() == 0 {
            return true;
        }
        let name = entry.file_name().to_string_lossy();
        if is_hidden_name(&name) {
            if !entry.file_type().is_dir() && is_markdown(entry.path()) {
                skipped.push(hidden_warning(entry.path(), &format!("`{}`", entry.path().display())));
            }
            return false;
        }
        if entry.path_is_symlink() {
            if let Err(err @ BoundaryError::Outside { .. }) = boundary.resolve(entry.path()) {
                skipped.push(err.warning());
                return false;
            }
        }
        if entry.file_type().is_dir() {
            if name == "target" || name == "node_modules" {
                return false;
            }
            if absolute(entry.path()) == skip {
                return false;
            }
        }
        true
    });
    for entry in walker {
        match entry {
            Ok(entry) => {
                if entry.file_type().is_file() {
                    if let Ok(rel) = entry.path().strip_prefix(src) {
                        let parts: Vec<_> = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect();
                        files.push(parts.join("/"));
                    }
                }
            }
            Err(err) => {
                let path = err.path().map(Path::to_owned).unwrap_or_else(|| src.to_owned());
                let message = if err.loop_ancestor().is_some() {
                    format!("symlink loop at `{}`; skipped", path.display())
                } else {
                    format!("cannot read `{}`: {err}", path.display())
                };
                diagnostics.push(Diagnostic::warning("walk", path, message));
            }
        }
    }
    diagnostics.append(&mut skipped);
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn walk_is_sorted_and_skips_hidden_build_and_target() {
        let dir = tempfile::tempdir().unwrap();
        for rel in ["b.md", "a.md", "sub/c.md", ".hidden/x.md", "book/y.md", "target/z.md", "notes.txt", "sub/.d.md"] {
            write(dir.path(), rel, "# t\n");
        }
        let book = load_book(dir.path()).unwrap();
        let paths: Vec<_> = book.runbooks.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, ["a.md", "b.md", "sub/c.md"]);
        // The hidden `.md` file is named; hidden folders and other files are skipped quietly.
        let messages: Vec<_> = book.diagnostics.iter().map(|d| (d.rule, d.message.as_str())).collect();
        let hidden = dir.path().join("sub/.d.md");
        assert_eq!(
            messages,
            [(
                "hidden-runbook",
                format!(
                    "`{}` is skipped: its name starts with `.`, and hidden files are not runbooks",
                    hidden.display()
                )
                .as_str()
            )]
        );
    }

    #[cfg(unix)]
    #[test]
    fn links_out_of_the_book_are_warnings_and_inside_links_load() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("book");
        write(&root, "real.md", "# Real\n");
        write(tmp.path(), "outside/x.md", "# Outside\n");
        std::os::unix::fs::symlink("real.md", root.join("inside.md")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("outside/x.md"), root.join("out.md")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("outside"), root.join("folder")).unwrap();
        let book = load_book(&root).unwrap();
        let paths: Vec<_> = book.runbooks.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, ["inside.md", "real.md"]);
        let messages: Vec<_> = book.diagnostics.iter().map(|d| (d.rule, d.message.clone())).collect();
        let outside = tmp.path().join("outside");
        assert_eq!(
            messages,
            [
                (
                    "outside-book",
                    format!(
                        "`{}` points to `{}`, outside the book; skipped",
                        root.join("folder").display(),
                        outside.display()
                    )
                ),
                (
                    "outside-book",
                    format!(
                        "`{}` points to `{}`, outside the book; skipped",
                        root.join("out.md").display(),
                        outside.join("x.md").display()
                    )
                ),
            ]
        );
        // A runbook that became a link out of the book since it loaded is dropped, with the warning.
        std::fs::remove_file(root.join("real.md")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("outside/x.md"), root.join("real.md")).unwrap();
        let next = reload_runbook(&book, "real.md").unwrap();
        assert!(next.runbooks.iter().all(|r| r.path != "real.md"));
        assert!(next.diagnostics.iter().any(|d| d.file == root.join("real.md") && d.rule == "outside-book"));
        // `allow-outside` lets the folder in.
        write(&root, "book.toml", "[opsbook]\nallow-outside = [\"../outside\"]\n");
        let book = load_book(&root).unwrap();
        let paths: Vec<_> = book.runbooks.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, ["folder/x.md", "inside.md", "out.md", "real.md"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_runbook_folder_outside_the_book_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "book/book.toml", "[book]\nsrc = \"../elsewhere\"\n");
        write(tmp.path(), "elsewhere/a.md", "# A\n");
        let err = load_book(&tmp.path().join("book")).unwrap_err();
        assert!(matches!(err, LoadError::SrcOutside { .. }), "{err}");
        assert!(err.to_string().contains("outside the book"), "{err}");
        write(
            tmp.path(),
            "book/book.toml",
            "[book]\nsrc = \"../elsewhere\"\n[opsbook]\nallow-outside = [\"../elsewhere\"]\n",
        );
        assert_eq!(load_book(&tmp.path().join("book")).unwrap().runbooks.len(), 1);
    }

    #[test]
    fn summary_order_wins_and_missing_entries_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "book.toml", "[book]\nsrc = \"src\"\n");
        write(
            dir.path(),
            "src/SUMMARY.md",
            "# Summary\n\n- [Zed](z.md)\n- [Alpha](a.md)\n  - [Gone](gone.md)\n- [Web](https://x.io/a.md)\n",
        );
        write(dir.path(), "src/a.md", "# A\n");
        write(dir.path(), "src/z.md", "# Z\n");
        write(dir.path(), "src/unlisted.md", "# U\n");
        let book = load_book(dir.path()).unwrap();
        let paths: Vec<_> = book.runbooks.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, ["z.md", "a.md"]);
        assert_eq!(book.diagnostics.len(), 1);
        assert_eq!(book.diagnostics[0].line, 5);
        assert!(book.diagnostics[0].message.contains("`gone.md`"));
    }

    #[test]
    fn summary_entries_outside_the_runbook_folder_or_hidden_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "book.toml", "[book]\nsrc = \"src\"\n");
        write(dir.path(), "README.md", "# Readme\n");
        write(dir.path(), "src/a.md", "# A\n");
        write(dir.path(), "src/.h.md", "# H\n");
        write(
            dir.path(),
            "src/SUMMARY.md",
            "# Summary\n\n- [A](a.md)\n- [Up](../README.md)\n- [Abs](/etc/x.md)\n- [Hidden](.h.md)\n",
        );
        let book = load_book(dir.path()).unwrap();
        let paths: Vec<_> = book.runbooks.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, ["a.md"]);
        let summary: Vec<_> = book
            .diagnostics
            .iter()
            .filter(|d| d.file.ends_with("SUMMARY.md"))
            .map(|d| (d.line, d.message.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                (4, "`SUMMARY.md` lists `../README.md`, which is not inside the runbook folder; skipped"),
                (5, "`SUMMARY.md` lists `/etc/x.md`, which is not inside the runbook folder; skipped"),
                (
                    6,
                    "`SUMMARY.md` lists `.h.md`, which is skipped: its name starts with `.`, and hidden files are not runbooks"
                ),
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_are_safe() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.md", "# A\n");
        std::os::unix::fs::symlink(dir.path(), dir.path().join("loop")).unwrap();
        let book = load_book(dir.path()).unwrap();
        assert_eq!(book.runbooks.len(), 1);
        assert!(book.diagnostics.iter().any(|d| d.message.contains("symlink loop")));
    }

    #[test]
    fn non_utf8_file_is_an_error_and_others_load() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.md", "# A\n");
        std::fs::write(dir.path().join("b.md"), b"# B\nline two \xff\xfe\n").unwrap();
        let book = load_book(dir.path()).unwrap();
        assert_eq!(book.runbooks.len(), 1);
        let d = &book.diagnostics[0];
        assert_eq!((d.rule, d.line, d.col), ("not-utf8", 2, 10));
    }

    #[test]
    fn missing_path_and_missing_src() {
        assert!(matches!(open(Some(Path::new("/nonexistent/x"))), Err(LoadError::Missing { .. })));
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "book.toml", "[book]\nsrc = \"nope\"\n");
        let err = load_book(dir.path()).unwrap_err();
        assert!(err.to_string().contains("`nope`") || err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn a_file_in_a_book_uses_the_book() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "book.toml", "[book]\nsrc = \"rb\"\n[opsbook]\nshell = \"zsh\"\n");
        write(dir.path(), "rb/sub/a.md", "# A\n");
        let book = open(Some(&dir.path().join("rb/sub/a.md"))).unwrap();
        assert_eq!(book.config.opsbook.shell, "zsh");
        assert_eq!(book.runbooks[0].path, "sub/a.md");
    }
}
