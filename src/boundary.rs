//! The book's boundary: which paths may be read, after links are resolved. A book reads from
//! its own folder (where `book.toml` lives) and from the paths `[opsbook] allow-outside` names,
//! nothing else; the server reads from its site folder only. Loading (the walk, `SUMMARY.md`),
//! the site build (runbooks, other files, the theme), the server's file handler and its watcher
//! all ask here, so the rule lives once.
//!
//! Knows nothing of Markdown, HTML or sessions.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::diagnostic::Diagnostic;

/// The folders, links resolved, that a path must lead into to be read.
#[derive(Debug, Clone)]
pub struct Boundary {
    roots: Vec<PathBuf>,
}

/// Why a path was not read.
#[derive(Debug, thiserror::Error)]
pub enum BoundaryError {
    /// The path (or a link on the way) leads out of the boundary.
    #[error("`{}` points to `{}`, outside the book; skipped", path.display(), target.display())]
    Outside {
        /// The path as it was reached (for a link, the link itself).
        path: PathBuf,
        /// Where it points: the link's own text when the path is a link, else where it resolves.
        target: PathBuf,
    },
    #[error("cannot read `{}`: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
}

impl BoundaryError {
    /// A missing file (or a link to one), as opposed to one that cannot be read.
    pub fn is_not_found(&self) -> bool {
        matches!(self, BoundaryError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }

    /// The warning a skipped path becomes: the link, where it points, and how to let it in.
    pub fn warning(&self) -> Diagnostic {
        let path = match self {
            BoundaryError::Outside { path, .. } | BoundaryError::Read { path, .. } => path,
        };
        let diagnostic = Diagnostic::warning("outside-book", path, self.to_string());
        match self {
            BoundaryError::Outside { .. } => diagnostic.with_help(
                "nothing outside the book's folder is read; move the file into the book, or list its folder \
                 in `allow-outside = [\"../folder\"]` under `[opsbook]` in `book.toml`",
            ),
            BoundaryError::Read { .. } => diagnostic,
        }
    }
}

impl Boundary {
    /// A book's boundary: its root folder and `[opsbook] allow-outside` (relative to the root).
    /// Allowed paths that do not exist are left out: nothing can lead into them.
    pub fn of_book(root: &Path, config: &Config) -> Boundary {
        let mut roots = vec![crate::load::absolute(root)];
        for allowed in &config.opsbook.allow_outside {
            if let Ok(path) = std::fs::canonicalize(root.join(allowed)) {
                roots.push(path);
            }
        }
        Boundary { roots }
    }

    /// One folder and what is below it (the server's site).
    pub fn folder(dir: &Path) -> Boundary {
        Boundary { roots: vec![crate::load::absolute(dir)] }
    }

    /// Where `path` leads, links resolved, when that is inside the boundary.
    pub fn resolve(&self, path: &Path) -> Result<PathBuf, BoundaryError> {
        let resolved =
            std::fs::canonicalize(path).map_err(|source| BoundaryError::Read { path: path.to_owned(), source })?;
        if self.roots.iter().any(|root| resolved.starts_with(root)) {
            return Ok(resolved);
        }
        let target = std::fs::read_link(path).unwrap_or(resolved);
        Err(BoundaryError::Outside { path: path.to_owned(), target })
    }

    /// Whether `path` exists and leads inside the boundary.
    pub fn contains(&self, path: &Path) -> bool {
        self.resolve(path).is_ok()
    }

    /// The bytes of `path`, read from where it leads, when that is inside the boundary.
    pub fn read(&self, path: &Path) -> Result<Vec<u8>, BoundaryError> {
        let resolved = self.resolve(path)?;
        std::fs::read(&resolved).map_err(|source| BoundaryError::Read { path: path.to_owned(), source })
    }
}

/// Whether a file or folder name is hidden (`.env`, `.git`, `..x.md`): such entries are never
/// runbooks, never copied into a site and never served.
pub fn is_hidden_name(name: &str) -> bool {
    name.starts_with('.')
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn book() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path().join("book");
        let outside = tmp.path().join("outside");
        for dir in [&root, &outside] {
            std::fs::create_dir(dir).expect("folder");
        }
        std::fs::write(root.join("a.md"), "inside").expect("write");
        std::fs::write(outside.join("b.md"), "outside").expect("write");
        (tmp, root, outside)
    }

    #[test]
    fn links_inside_resolve_and_links_outside_are_named_with_their_target() {
        let (_tmp, root, outside) = book();
        symlink("a.md", root.join("inside.md")).expect("link");
        symlink(outside.join("b.md"), root.join("out.md")).expect("link");
        symlink("../outside", root.join("dir")).expect("link");
        let boundary = Boundary::of_book(&root, &Config::default());
        assert_eq!(boundary.read(&root.join("inside.md")).expect("inside"), b"inside");
        let err = boundary.read(&root.join("out.md")).expect_err("outside");
        assert_eq!(
            err.to_string(),
            format!(
                "`{}` points to `{}`, outside the book; skipped",
                root.join("out.md").display(),
                outside.join("b.md").display()
            )
        );
        let err = boundary.resolve(&root.join("dir")).expect_err("outside");
        assert_eq!(
            err.to_string(),
            format!("`{}` points to `../outside`, outside the book; skipped", root.join("dir").display())
        );
        // A path through a linked folder is outside too, named by where it resolves.
        let err = boundary.resolve(&root.join("dir/b.md")).expect_err("outside");
        let BoundaryError::Outside { target, .. } = &err else { panic!("{err}") };
        assert_eq!(target, &std::fs::canonicalize(outside.join("b.md")).expect("exists"));
        assert_eq!(err.warning().rule, "outside-book");
        assert!(err.warning().help.is_some_and(|h| h.contains("allow-outside")));
        assert!(boundary.resolve(&root.join("missing.md")).expect_err("missing").is_not_found());
    }

    #[test]
    fn allow_outside_opens_a_named_folder_only() {
        let (tmp, root, outside) = book();
        std::fs::create_dir(tmp.path().join("other")).expect("folder");
        std::fs::write(tmp.path().join("other/c.md"), "other").expect("write");
        let mut config = Config::default();
        config.opsbook.allow_outside = vec![PathBuf::from("../outside"), PathBuf::from("../nowhere")];
        let boundary = Boundary::of_book(&root, &config);
        assert_eq!(boundary.read(&outside.join("b.md")).expect("allowed"), b"outside");
        assert!(!boundary.contains(&tmp.path().join("other/c.md")));
        // A sibling whose name starts like the allowed folder is not inside it.
        std::fs::create_dir(tmp.path().join("outside2")).expect("folder");
        std::fs::write(tmp.path().join("outside2/d.md"), "d").expect("write");
        assert!(!boundary.contains(&tmp.path().join("outside2/d.md")));
    }

    #[test]
    fn hidden_names() {
        for name in [".env", ".git", "..x.md", ".opsbook"] {
            assert!(is_hidden_name(name), "{name}");
        }
        assert!(!is_hidden_name("a.md"));
    }
}
