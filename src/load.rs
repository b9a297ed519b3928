//! Finding and reading a book: `book.toml`, the runbook folder, `SUMMARY.md` order or a sorted
//! walk, and each file through `parse`.
//!
//! A problem with one runbook (unreadable, not UTF-8) is a diagnostic and the others still load;
//! a problem with the book itself (missing path, invalid `book.toml`) is a [`LoadError`].

use std::path::{Path, PathBuf};

use pulldown_cmark::{Event, Parser, Tag};
use walkdir::WalkDir;

use crate::config::{Config, ConfigError};
use crate::diagnostic::Diagnostic;
use crate::model::Book;
use crate::parse::{self, ParseOptions};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("`{}` does not exist; give a book folder (with or without `book.toml`) or a runbook `.md` file", path.display())]
    Missing { path: PathBuf },
    #[error("`{}` is not a folder nor a `.md` file; give a book folder or a runbook", path.display())]
    NotABook { path: PathBuf },
    #[error("the runbook folder `{}` does not exist; create it or set `[book] src` in `{}`", src.display(), config.display())]
    MissingSrc { src: PathBuf, config: PathBuf },
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
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("md")) {
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

fn options(config: &Config) -> ParseOptions {
    ParseOptions { risk_rules: config.compiled_risk_rules() }
}

/// Loads every runbook of the book at `root`.
pub fn load_book(root: &Path) -> Result<Book, LoadError> {
    let config = read_config(root)?;
    let src = config.src_dir(root);
    if !src.is_dir() {
        return Err(LoadError::MissingSrc { src, config: root.join("book.toml") });
    }
    let mut diagnostics = Vec::new();
    let files = match summary_order(&src, &mut diagnostics) {
        Some(files) => files,
        None => walk(&src, &config.build_dir(root), &mut diagnostics),
    };
    let options = options(&config);
    let mut runbooks = Vec::with_capacity(files.len());
    for rel in files {
        let file = src.join(&rel);
        if let Some(parsed) = read_and_parse(&file, &rel, &options, &mut diagnostics) {
            runbooks.push(std::sync::Arc::new(parsed));
        }
    }
    Ok(Book { root: root.to_owned(), src, config, runbooks, diagnostics })
}

/// The book after one of its runbooks changed on disk: that file read and parsed again, the
/// rest kept. A file that appeared or went away, or a changed `SUMMARY.md`, changes the list of
/// runbooks: the whole book is loaded again.
pub fn reload_runbook(book: &Book, rel: &str) -> Result<Book, LoadError> {
    let file = book.src.join(rel);
    let known = book.runbooks.iter().position(|r| r.path == rel);
    let (Some(index), true) = (known, file.is_file()) else { return load_book(&book.root) };
    if rel == "SUMMARY.md" {
        return load_book(&book.root);
    }
    let mut diagnostics: Vec<Diagnostic> = book.diagnostics.iter().filter(|d| d.file != file).cloned().collect();
    let mut next = book.clone();
    match read_and_parse(&file, rel, &options(&book.config), &mut diagnostics) {
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
    let rel = relative_to(file, &src).unwrap_or_else(|| {
        file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned())
    });
    let mut diagnostics = Vec::new();
    let runbooks =
        read_and_parse(file, &rel, &options(&config), &mut diagnostics).into_iter().map(std::sync::Arc::new).collect();
    Ok(Book { root, src, config, runbooks, diagnostics })
}

/// `file`'s path below `dir`, with `/` separators, when it is below it.
fn relative_to(file: &Path, dir: &Path) -> Option<String> {
    let file = std::fs::canonicalize(file).ok()?;
    let dir = std::fs::canonicalize(dir).ok()?;
    let rel = file.strip_prefix(&dir).ok()?;
    let parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    (!parts.is_empty() && !parts.iter().any(|p| p == "..")).then(|| parts.join("/"))
}

fn read_and_parse(
    file: &Path,
    rel: &str,
    options: &ParseOptions,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<crate::model::Runbook> {
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(err) => {
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

/// The runbooks `SUMMARY.md` lists, in its order; None when the book has no `SUMMARY.md`.
fn summary_order(src: &Path, diagnostics: &mut Vec<Diagnostic>) -> Option<Vec<String>> {
    let summary_path = src.join("SUMMARY.md");
    let text = std::fs::read_to_string(&summary_path).ok()?;
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() as u32 + 1;
    let mut files: Vec<String> = Vec::new();
    for (event, range) in Parser::new(&text).into_offset_iter() {
        let Event::Start(Tag::Link { dest_url, .. }) = event else { continue };
        let dest = dest_url.split('#').next().unwrap_or("");
        if dest.is_empty() || dest.contains("://") || dest.starts_with("mailto:") {
            continue;
        }
        let dest = dest.trim_start_matches("./").to_owned();
        if !dest.to_ascii_lowercase().ends_with(".md") || files.contains(&dest) {
            continue;
        }
        if !src.join(&dest).is_file() {
            let line = line_of(range.start);
            let col = text[..range.start].rsplit('\n').next().map_or(1, |s| s.chars().count() as u32 + 1);
            diagnostics.push(
                Diagnostic::error(
                    "missing-chapter",
                    &summary_path,
                    format!("`SUMMARY.md` lists `{dest}`, which does not exist"),
                )
                .at(&text, line, col)
                .with_help("create the file or remove the entry from SUMMARY.md"),
            );
            continue;
        }
        files.push(dest);
    }
    Some(files)
}

/// Every `.md` file below `src`, sorted.
fn walk(src: &Path, build_dir: &Path, diagnostics: &mut Vec<Diagnostic>) -> Vec<String> {
    let is_md = |rel: &String| Path::new(rel).extension().is_some_and(|e| e.eq_ignore_ascii_case("md"));
    book_files(src, build_dir, diagnostics).into_iter().filter(is_md).collect()
}

/// `path` with links resolved when it exists, else made absolute; as given when neither works.
pub fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).or_else(|_| std::path::absolute(path)).unwrap_or_else(|_| path.to_owned())
}

/// Every file below `src`, sorted, as `/`-separated relative paths, skipping hidden entries,
/// `target/`, `node_modules/` and the folder `skip` (the build folder). Symlinks are followed;
/// loops and unreadable entries are reported in `diagnostics`, not followed.
pub(crate) fn book_files(src: &Path, skip: &Path, diagnostics: &mut Vec<Diagnostic>) -> Vec<String> {
    let skip = absolute(skip);
    let mut files = Vec::new();
    let walker = WalkDir::new(src).follow_links(true).sort_by_file_name().into_iter().filter_entry(|entry| {
        if entry.depth() == 0 {
            return true;
        }
        let name = entry.file_name().to_string_lossy();
        if name.starts_with('.') {
            return false;
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
