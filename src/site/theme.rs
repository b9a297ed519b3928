//! The site theme: built-in templates and assets embedded in the binary, overridden file by file
//! by a book's own theme folder (`<book>/theme/`, or `[output.html] theme`). A theme folder or
//! file that leads out of the book is a warning, and the built-in file is used.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::SiteError;
use crate::boundary::{Boundary, BoundaryError};
use crate::diagnostic::Diagnostic;

/// Templates rendered by tera, in the order they may depend on one another.
const TEMPLATES: [(&str, &str); 5] = [
    ("layout.html", include_str!("../../theme/layout.html")),
    ("page.html", include_str!("../../theme/page.html")),
    ("index.html", include_str!("../../theme/index.html")),
    ("print.html", include_str!("../../theme/print.html")),
    ("404.html", include_str!("../../theme/404.html")),
];

/// Static assets copied to `assets/`.
const ASSETS: [(&str, &str); 4] = [
    ("opsbook.css", include_str!("../../theme/opsbook.css")),
    ("opsbook.js", include_str!("../../theme/opsbook.js")),
    ("theme.js", include_str!("../../theme/theme.js")),
    ("go.js", include_str!("../../theme/go.js")),
];

/// Generated assets a theme folder may also override.
pub(crate) const GENERATED: [&str; 2] = ["highlight-light.css", "highlight-dark.css"];

#[derive(Debug)]
pub(crate) struct Theme {
    pub tera: tera::Tera,
    /// Asset file name -> bytes, for `assets/`.
    pub assets: BTreeMap<String, Vec<u8>>,
    /// Generated assets the theme folder replaced.
    pub overridden_generated: BTreeMap<String, Vec<u8>>,
    /// The templates' text, as loaded.
    sources: Vec<String>,
}

impl Theme {
    /// The theme's sources, for fingerprinting what pages depend on.
    pub fn signature(&self) -> Vec<String> {
        let mut parts: Vec<String> = self.sources.clone();
        for (name, bytes) in self.assets.iter().chain(&self.overridden_generated) {
            parts.push(format!("{name}:{}", String::from_utf8_lossy(bytes)));
        }
        parts
    }

    /// The built-in theme with the files of `dir` (if it exists) in place of the built-in ones.
    /// Only files inside `boundary` are read; the others are `warnings`.
    pub fn load(dir: Option<&Path>, boundary: &Boundary, warnings: &mut Vec<Diagnostic>) -> Result<Theme, SiteError> {
        let dir = match dir.map(|d| boundary.resolve(d)) {
            Some(Err(err @ BoundaryError::Outside { .. })) => {
                warnings.push(err.warning());
                None
            }
            _ => dir,
        };
        let outside = std::cell::RefCell::new(Vec::new());
        let read = |name: &str| -> Result<Option<Vec<u8>>, SiteError> {
            let Some(dir) = dir else { return Ok(None) };
            match boundary.read(&dir.join(name)) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(err) if err.is_not_found() => Ok(None),
                Err(err @ BoundaryError::Outside { .. }) => {
                    outside.borrow_mut().push(err.warning());
                    Ok(None)
                }
                Err(BoundaryError::Read { path, source }) => Err(SiteError::Read { path, source }),
            }
        };
        let mut tera = tera::Tera::default();
        let mut sources: Vec<(String, String)> = Vec::new();
        for (name, builtin) in TEMPLATES {
            let text = match read(name)? {
                Some(bytes) => String::from_utf8(bytes).map_err(|_| SiteError::Theme {
                    path: theme_path(dir, name),
                    message: "is not valid UTF-8".to_owned(),
                })?,
                None => builtin.to_owned(),
            };
            sources.push((name.to_owned(), text));
        }
        let texts: Vec<String> = sources.iter().map(|(name, text)| format!("{name}:{text}")).collect();
        tera.add_raw_templates(sources).map_err(|err| SiteError::Theme {
            path: dir.map_or_else(|| PathBuf::from("theme"), Path::to_owned),
            message: tera_message(&err),
        })?;
        tera.autoescape_on(vec![".html"]);
        let mut assets = BTreeMap::new();
        for (name, builtin) in ASSETS {
            assets.insert(name.to_owned(), read(name)?.unwrap_or_else(|| builtin.as_bytes().to_vec()));
        }
        let mut overridden_generated = BTreeMap::new();
        for name in GENERATED {
            if let Some(bytes) = read(name)? {
                overridden_generated.insert(name.to_owned(), bytes);
            }
        }
        warnings.append(&mut outside.into_inner());
        Ok(Theme { tera, assets, overridden_generated, sources: texts })
    }
}

fn theme_path(dir: Option<&Path>, name: &str) -> PathBuf {
    dir.map_or_else(|| PathBuf::from(name), |d| d.join(name))
}

/// Tera's error with its causes, on one line.
pub(crate) fn tera_message(err: &tera::Error) -> String {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_theme_folder_or_file_leading_out_of_the_book_is_a_warning_and_the_builtin_is_used() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path().join("book");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(root.join("theme")).expect("folder");
        std::fs::create_dir_all(&outside).expect("folder");
        std::fs::write(outside.join("opsbook.css"), "OUTSIDE").expect("write");
        std::fs::write(root.join("theme/opsbook.js"), "INSIDE").expect("write");
        std::os::unix::fs::symlink(outside.join("opsbook.css"), root.join("theme/opsbook.css")).expect("link");
        std::os::unix::fs::symlink(&outside, root.join("linked-theme")).expect("link");
        let boundary = Boundary::of_book(&root, &crate::config::Config::default());
        let builtin_css = ASSETS.iter().find(|(name, _)| *name == "opsbook.css").expect("built in").1.as_bytes();

        let mut warnings = Vec::new();
        let theme = Theme::load(Some(&root.join("theme")), &boundary, &mut warnings).expect("loads");
        assert_eq!(theme.assets["opsbook.js"], b"INSIDE");
        assert_eq!(theme.assets["opsbook.css"], builtin_css);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].file, root.join("theme/opsbook.css"));

        let mut warnings = Vec::new();
        let theme = Theme::load(Some(&root.join("linked-theme")), &boundary, &mut warnings).expect("loads");
        assert_eq!(theme.assets["opsbook.css"], builtin_css);
        let messages: Vec<&str> = warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(
            messages,
            [format!(
                "`{}` points to `{}`, outside the book; skipped",
                root.join("linked-theme").display(),
                outside.display()
            )]
        );
    }
}
