//! The site theme: built-in templates and assets embedded in the binary, overridden file by file
//! by a book's own theme folder (`<book>/theme/`, or `[output.html] theme`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::SiteError;

/// Templates rendered by tera, in the order they may depend on one another.
const TEMPLATES: [(&str, &str); 5] = [
    ("layout.html", include_str!("../../theme/layout.html")),
    ("page.html", include_str!("../../theme/page.html")),
    ("index.html", include_str!("../../theme/index.html")),
    ("print.html", include_str!("../../theme/print.html")),
    ("404.html", include_str!("../../theme/404.html")),
];

/// Static assets copied to `assets/`.
const ASSETS: [(&str, &str); 3] = [
    ("opsbook.css", include_str!("../../theme/opsbook.css")),
    ("opsbook.js", include_str!("../../theme/opsbook.js")),
    ("theme.js", include_str!("../../theme/theme.js")),
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
    pub fn load(dir: Option<&Path>) -> Result<Theme, SiteError> {
        let read = |name: &str| -> Result<Option<Vec<u8>>, SiteError> {
            let Some(dir) = dir else { return Ok(None) };
            let path = dir.join(name);
            match std::fs::read(&path) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(source) => Err(SiteError::Read { path, source }),
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
