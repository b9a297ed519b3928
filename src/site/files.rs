//! Files into and out of the site: the book's other files (images, attachments) and the extra
//! files `[output.html]` names, taken only from inside the book (see [`Boundary`]); and the
//! folders and files the build writes, private (0700 and 0600, see [`crate::private`]) when the
//! destination lies in `.opsbook/` (the served site).

use std::fs::File;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::boundary::{Boundary, BoundaryError, is_hidden_name};
use crate::diagnostic::Diagnostic;
use crate::model::Book;

/// The book's files that are not runbooks (images, attachments), to copy as they are. Links out
/// of the book and hidden files are not among them; problems walking the folder were reported
/// when the book loaded.
/// Runbook sources (any ending of `[opsbook] extensions`, MDX partials, any `.md`) are not among
/// them: a page is its rendered HTML, never its source with its comments and templates.
pub(super) fn other_files(book: &Book, dest: &Path, boundary: &Boundary) -> Vec<String> {
    let extensions = &book.config.opsbook.extensions;
    let source = |rel: &String| {
        crate::page::is_runbook_file(rel, extensions)
            || crate::page::is_runbook_file(rel, &crate::config::Config::default().opsbook.extensions)
    };
    crate::load::book_files(&book.src, dest, boundary, &mut Vec::new()).into_iter().filter(|rel| !source(rel)).collect()
}

/// The `additional-css` and `additional-js` files that may be copied: a path below the book's
/// folder (no `..`, not absolute, nothing hidden) that does not lead out of the book. The
/// others are warnings.
pub(super) fn extra_files(book: &Book, boundary: &Boundary, diagnostics: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let html = &book.config.output.html;
    let config = book.root.join("book.toml");
    let mut kept = Vec::new();
    for extra in html.additional_css.iter().chain(&html.additional_js) {
        let below = extra.components().all(|c| match c {
            Component::Normal(name) => !is_hidden_name(&name.to_string_lossy()),
            _ => false,
        });
        if !below {
            diagnostics.push(
                Diagnostic::warning(
                    "outside-book",
                    &config,
                    format!(
                        "`[output.html]` names `{}`, which is not a visible file inside the book; skipped",
                        extra.display()
                    ),
                )
                .with_help("give a path below the book's folder, without `..`, a leading `/` or hidden folders"),
            );
            continue;
        }
        match boundary.resolve(&book.root.join(extra)) {
            Err(err @ BoundaryError::Outside { .. }) => diagnostics.push(err.warning()),
            // A missing file is the copy's error, as before.
            Ok(_) | Err(BoundaryError::Read { .. }) => kept.push(extra.clone()),
        }
    }
    kept
}

/// Creates `dir` and its parents; privately when `private`.
pub(super) fn make_dir(private: bool, dir: &Path) -> io::Result<()> {
    if private { crate::private::create_dir_all(dir) } else { std::fs::create_dir_all(dir) }
}

/// Creates (or truncates) a file to write; 0600 when `private`.
pub(super) fn create_file(private: bool, path: &Path) -> io::Result<File> {
    if private { crate::private::create_file(path) } else { File::create(path) }
}

/// Writes a file; 0600 when `private`.
pub(super) fn write_file(private: bool, path: &Path, bytes: &[u8]) -> io::Result<()> {
    if private { crate::private::write(path, bytes) } else { std::fs::write(path, bytes) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_files_stay_inside_the_book() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path().join("book");
        std::fs::create_dir_all(root.join("css")).expect("folder");
        std::fs::write(root.join("css/x.css"), "x").expect("write");
        std::fs::write(tmp.path().join("secret.css"), "s").expect("write");
        std::os::unix::fs::symlink(tmp.path().join("secret.css"), root.join("css/out.css")).expect("link");
        let mut config = crate::config::Config::default();
        config.output.html.additional_css =
            ["css/x.css", "../secret.css", "/etc/passwd", ".env", "css/out.css"].map(PathBuf::from).to_vec();
        let book = Book {
            root: root.clone(),
            src: root.clone(),
            config,
            runbooks: Vec::new(),
            diagnostics: Vec::new(),
            layout: Default::default(),
        };
        let boundary = Boundary::of_book(&book.root, &book.config);
        let mut diagnostics = Vec::new();
        assert_eq!(extra_files(&book, &boundary, &mut diagnostics), [PathBuf::from("css/x.css")]);
        let messages: Vec<&str> = diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages.len(), 4, "{messages:?}");
        assert!(messages[0].starts_with("`[output.html]` names `../secret.css`"), "{messages:?}");
        assert!(messages[3].contains("points to"), "{messages:?}");
    }
}
