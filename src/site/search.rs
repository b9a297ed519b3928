//! Search: pagefind, used as a library, indexes the rendered pages in process. Results come at
//! page, section and step level (pagefind's sub-results follow headings with ids, and every step
//! card's title is one), with filters from front matter (`data-pagefind-filter`).

use std::path::PathBuf;

use pagefind::api::PagefindIndex;
use pagefind::options::PagefindServiceConfig;

use super::SiteError;

/// Indexes `pages` (output path relative to the site root, HTML), taking one at a time so that
/// only the index is held in memory, and returns the search bundle's files, with paths relative
/// to the site root (`pagefind/…`).
pub(crate) fn index(
    pages: impl IntoIterator<Item = (String, String)>,
    language: &str,
) -> Result<Vec<(PathBuf, Vec<u8>)>, SiteError> {
    let failed = |message: String| SiteError::Render { page: "the search index".to_owned(), message };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|err| failed(format!("cannot start the indexer: {err}")))?;
    let language = language.to_owned();
    runtime.block_on(async move {
        let config = PagefindServiceConfig::builder().keep_index_url(true).force_language(language).build();
        let mut index = PagefindIndex::new(Some(config)).map_err(|err| failed(format!("{err:#}")))?;
        for (path, html) in pages {
            index
                .add_html_file(None, Some(format!("/{path}")), html)
                .await
                .map_err(|err| failed(format!("indexing `{path}`: {err:#}")))?;
        }
        let files = index.get_files().await.map_err(|err| failed(format!("{err:#}")))?;
        Ok(files.into_iter().map(|file| (PathBuf::from("pagefind").join(file.filename), file.contents)).collect())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn bundle_files() {
        let html = "<html><body><main data-pagefind-body><h1>DB</h1><h4 id=\"step-x\">Restart</h4><pre><code>kubectl rollout restart deployment/api</code></pre></main></body></html>";
        let files = super::index([("db.html".to_owned(), html.to_owned())], "en").unwrap();
        let names: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
        assert!(names.iter().any(|n| n == "pagefind/pagefind.js"), "{names:?}");
    }
}
