//! The static site: `opsbook build`. A loaded [`Book`] becomes a folder of HTML pages (one per
//! runbook, an index, a print page, a 404 page), `runbooks.json`, the theme's assets and the
//! book's other files.
//!
//! Knows nothing of processes or sessions. The expensive parts (syntect, tera) load once per
//! [`Site`]; pages render in parallel; highlighting is cached by content hash across builds (in
//! `.opsbook/cache/` beside `book.toml`); [`Site::rebuild_runbook`] re-renders one page and the
//! lists that name it, for the server's live reload.

mod card;
mod files;
mod highlight;
mod render;
mod search;
mod theme;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::boundary::{Boundary, BoundaryError};
use crate::diagnostic::Diagnostic;
use crate::model::{Book, Runbook};
use highlight::Highlighter;
use render::{LinkTargets, Mode, TocItem};
use theme::Theme;

/// Why a build could not run at all (problems with single runbooks are diagnostics).
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("the build folder `{}` is inside the runbook folder `{}`; choose a folder outside it with `--dest-dir` or `[build] build-dir`", dest.display(), src.display())]
    DestInsideSrc { dest: PathBuf, src: PathBuf },
    #[error("cannot write the build folder `{}`: {source}; check its permissions or choose another `--dest-dir`", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error("failed to read `{}`: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    /// A file of the book that now leads out of it (the walk at load time skipped such links).
    #[error("{0}")]
    Outside(BoundaryError),
    #[error("theme file `{}` {message}", path.display())]
    Theme { path: PathBuf, message: String },
    #[error("failed to render `{page}`: {message}")]
    Render { page: String, message: String },
}

/// What a build did.
#[derive(Debug, Default)]
pub struct BuildReport {
    pub pages: usize,
    /// Broken links and other findings, in page order.
    pub diagnostics: Vec<Diagnostic>,
    /// Blocks highlighted anew (the others came from the cache).
    pub highlighted: usize,
}

/// A book ready to render, with its theme, highlighter and link targets loaded once.
#[derive(Debug)]
pub struct Site<'b> {
    book: &'b Book,
    dest: PathBuf,
    theme: Theme,
    highlighter: Highlighter,
    /// For the print page and the search index's copy of each page: code without colours.
    plain: Highlighter,
    targets: LinkTargets<'b>,
    /// Non-Markdown files of the book (images, attachments), relative to `src`.
    files: Vec<String>,
    /// What may be read: the book's folder and `[opsbook] allow-outside`.
    boundary: Boundary,
    /// `additional-css` and `additional-js` files that may be copied.
    extras: Vec<PathBuf>,
    /// Warnings found before any page (the theme, the extra files), reported by `build`.
    warnings: Vec<Diagnostic>,
    /// The destination lies in `.opsbook/`: folders 0700, files 0600.
    private: bool,
    cache_file: PathBuf,
    cached_entries: usize,
    /// What every page depends on besides its own Markdown; see [`Manifest`].
    /// Computed when a build first needs it (a live reload of one page does not).
    fingerprint: std::sync::OnceLock<u64>,
    manifest_file: PathBuf,
    previous: Manifest,
    /// `[opsbook] freshness`: when CI last verified each step.
    freshness: Option<crate::freshness::Record>,
}

/// What the last build produced, so a rebuild can skip what did not change: the destination,
/// a fingerprint of everything pages share (opsbook's version, the theme, the configuration,
/// the sidebar, every page's anchors, the book's other files) and each page's Markdown hash.
#[derive(Debug, Default, Serialize, serde::Deserialize, PartialEq, Eq)]
struct Manifest {
    dest: String,
    fingerprint: u64,
    pages: std::collections::BTreeMap<String, u64>,
}

/// Books with more runbooks than this get their sidebar from one shared script (`assets/nav.js`)
/// instead of a copy in every page: a thousand-page sidebar in each of a thousand pages is most
/// of the site's bytes. Without JavaScript such a sidebar links to the index.
const INLINE_NAV_LIMIT: usize = 100;

#[derive(Serialize)]
struct Common<'a> {
    book_title: &'a str,
    description: Option<&'a str>,
    lang: &'a str,
    root: String,
    nav: &'a [NavItem],
    nav_script: bool,
    active_href: String,
    search: bool,
    additional_css: Vec<String>,
    additional_js: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
struct NavItem {
    title: String,
    href: Option<String>,
    depth: usize,
    active: bool,
}

#[derive(Serialize)]
struct PageData<'a> {
    title: &'a str,
    path: &'a str,
    severity: Option<&'a str>,
    owner: Option<&'a str>,
    tags: &'a [String],
    services: &'a [String],
    body: String,
    toc: Vec<TocItem>,
}

#[derive(Serialize)]
struct IndexEntry<'a> {
    title: &'a str,
    path: &'a str,
    href: String,
    severity: Option<&'a str>,
    owner: Option<&'a str>,
    tags: &'a [String],
    services: &'a [String],
    steps: usize,
}

#[derive(Serialize)]
struct PrintPage<'a> {
    anchor: String,
    path: &'a str,
    body: String,
}

/// Broken relative links and anchors, as `opsbook build` reports them, without building anything
/// (for `opsbook check`).
#[derive(Debug)]
pub struct LinkCheck<'b> {
    book: &'b Book,
    targets: LinkTargets<'b>,
}

impl<'b> LinkCheck<'b> {
    /// The link targets of the book; `dest` is the build folder, whose files are not targets.
    pub fn new(book: &'b Book, dest: &Path) -> Self {
        let boundary = Boundary::of_book(&book.root, &book.config);
        LinkCheck { book, targets: LinkTargets::of(book, files::other_files(book, dest, &boundary)) }
    }

    /// The broken links of one runbook.
    pub fn runbook(&self, runbook: &Runbook) -> Vec<Diagnostic> {
        let markdown = markdown_of(runbook);
        render::check_links(runbook, &markdown, &self.book.src.join(&runbook.path), &self.targets)
    }
}

pub use crate::page::html_path;
pub(crate) use highlight::escape as escape_html;

/// `../` once per folder level of a page.
fn root_of(html_path: &str) -> String {
    "../".repeat(html_path.matches('/').count())
}

impl<'b> Site<'b> {
    /// Checks the destination and loads the theme; writes nothing yet.
    pub fn new(book: &'b Book, dest: &Path) -> Result<Site<'b>, SiteError> {
        let dest = dest.to_owned();
        let absolute = crate::load::absolute;
        let (dest_abs, src_abs, root_abs) = (absolute(&dest), absolute(&book.src), absolute(&book.root));
        // A book whose runbooks sit in its own folder (no `src/`) keeps its site beside them, as
        // `book/`; a book with a separate runbook folder must not write into it.
        let separate_src = src_abs != root_abs;
        if dest_abs == src_abs || (separate_src && dest_abs.starts_with(&src_abs)) {
            return Err(SiteError::DestInsideSrc { dest, src: book.src.clone() });
        }
        let private = crate::private::is_private_path(&dest_abs);
        files::make_dir(private, &dest).map_err(|source| SiteError::Write { path: dest.clone(), source })?;
        let probe = dest.join(".opsbook-write-test");
        files::write_file(private, &probe, b"").map_err(|source| SiteError::Write { path: dest.clone(), source })?;
        let _ = std::fs::remove_file(&probe);

        let boundary = Boundary::of_book(&book.root, &book.config);
        let mut warnings = Vec::new();
        // `./theme` as `theme`, as the runbook folder is shown.
        let theme_dir =
            book.config.theme_dir(&book.root).map(|d| d.strip_prefix(".").map_or(d.clone(), Path::to_owned));
        let theme = Theme::load(theme_dir.as_deref(), &boundary, &mut warnings)?;
        let extras = files::extra_files(book, &boundary, &mut warnings);
        let files = files::other_files(book, &dest_abs, &boundary);
        let targets = LinkTargets::of(book, files.iter().cloned());
        let cache_file = book.root.join(".opsbook").join("cache").join("highlight.json");
        let cached: HashMap<u64, String> = std::fs::read(&cache_file)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Vec<(u64, String)>>(&bytes).ok())
            .map(|entries| entries.into_iter().collect())
            .unwrap_or_default();
        let cached_entries = cached.len();
        let manifest_file = book.root.join(".opsbook").join("cache").join("site.json");
        let previous = std::fs::read(&manifest_file)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Manifest>(&bytes).ok())
            .unwrap_or_default();
        let freshness = book.config.opsbook.freshness.as_ref().and_then(|file| {
            let path = book.root.join(file);
            match crate::freshness::Record::read(&path) {
                Ok(record) => Some(record),
                Err(message) => {
                    warnings.push(
                        Diagnostic::warning("freshness", &path, message)
                            .with_help("run `opsbook test --record FILE` to write it"),
                    );
                    None
                }
            }
        });
        Ok(Site {
            freshness,
            fingerprint: std::sync::OnceLock::new(),
            manifest_file,
            previous,
            book,
            dest,
            theme,
            highlighter: Highlighter::with_cache(cached),
            plain: Highlighter::plain(),
            targets,
            files,
            boundary,
            extras,
            warnings,
            private,
            cache_file,
            cached_entries,
        })
    }

    /// Whether the page at `rel` was built, from the same Markdown and everything else the same,
    /// into this destination by the last build.
    fn unchanged(&self, rel: &str, hash: u64) -> bool {
        self.previous.fingerprint == self.fingerprint()
            && self.previous.dest == self.dest.to_string_lossy()
            && self.previous.pages.get(rel) == Some(&hash)
    }

    fn nav_script(&self) -> bool {
        self.book.runbooks.len() > INLINE_NAV_LIMIT
    }

    /// A hash of what every page shares: opsbook's version, the theme, the configuration, the
    /// list of runbooks, every page's anchors and the book's other files.
    fn fingerprint(&self) -> u64 {
        *self.fingerprint.get_or_init(|| {
            let mut parts: Vec<String> = vec![env!("CARGO_PKG_VERSION").to_owned()];
            parts.extend(self.theme.signature());
            parts.push(serde_json::to_string(&self.book.config).unwrap_or_default());
            for runbook in &self.book.runbooks {
                parts.push(format!("{}\u{0}{}", runbook.path, runbook.title));
            }
            for runbook in &self.book.runbooks {
                parts.extend(render::page_anchors(runbook).map(|a| format!("{}#{a}", runbook.path)));
            }
            parts.extend(self.files.iter().cloned());
            parts.push(
                self.freshness.as_ref().map(|r| serde_json::to_string(r).unwrap_or_default()).unwrap_or_default(),
            );
            highlight::cache_key(&parts.join("\u{1}"), None)
        })
    }

    fn common<'n>(&'n self, root: String, nav: &'n [NavItem]) -> Common<'n> {
        let html = &self.book.config.output.html;
        let active_href = nav.iter().find(|i| i.active).and_then(|i| i.href.clone()).unwrap_or_default();
        Common {
            book_title: self.title(),
            description: self.book.config.book.description.as_deref(),
            lang: self.book.config.book.language.as_deref().unwrap_or("en"),
            root,
            nav: if self.nav_script() { &[] } else { nav },
            nav_script: self.nav_script(),
            active_href,
            search: self.search_enabled(),
            additional_css: html.additional_css.iter().map(|p| p.to_string_lossy().replace('\\', "/")).collect(),
            additional_js: html.additional_js.iter().map(|p| p.to_string_lossy().replace('\\', "/")).collect(),
        }
    }

    /// mdBook's `[output.html.search] enable = false` turns search off; it is on by default.
    fn search_enabled(&self) -> bool {
        let search = self.book.config.output.html.other.get("search");
        search.and_then(|s| s.get("enable")).and_then(toml::Value::as_bool).is_none_or(|enable| enable)
    }

    /// A runbook's page body: its Markdown rendered with this site's links and freshness.
    fn body(&self, runbook: &Runbook, markdown: &str, highlighter: &Highlighter, mode: Mode) -> render::RenderedBody {
        let display = self.book.src.join(&runbook.path);
        render::render_body(runbook, markdown, &display, &self.targets, highlighter, mode, self.freshness.as_ref())
    }

    /// The document pagefind indexes for a page: its title and body, with code unhighlighted
    /// (the colours' markup would be most of what the indexer parses), at the page's URL.
    fn search_document(&self, runbook: &Runbook) -> String {
        let markdown = markdown_of(runbook);
        let body = self.body(runbook, &markdown, &self.plain, Mode::Pages);
        let mut filters = String::new();
        let front = &runbook.front_matter;
        for (name, values) in [
            ("severity", front.severity.iter().cloned().collect::<Vec<_>>()),
            ("service", front.services.clone()),
            ("tag", front.tags.clone()),
        ] {
            for value in values {
                filters
                    .push_str(&format!("<span data-pagefind-filter=\"{name}\">{}</span>", highlight::escape(&value)));
            }
        }
        format!(
            "<html lang=\"{lang}\"><head><title>{title}</title></head><body><main data-pagefind-body \
             data-pagefind-meta=\"title:{title}\"><div hidden>{filters}</div>{body}</main></body></html>",
            lang = self.book.config.book.language.as_deref().unwrap_or("en"),
            title = highlight::escape(&runbook.title),
            body = body.html,
        )
    }

    /// Indexes every runbook page and writes pagefind's bundle under `pagefind/`, removing the
    /// files of an earlier index.
    fn write_search_index(&self) -> Result<(), SiteError> {
        if !self.search_enabled() {
            return Ok(());
        }
        let pages = self.book.runbooks.iter().map(|runbook| (html_path(&runbook.path), self.search_document(runbook)));
        let language = self.book.config.book.language.as_deref().unwrap_or("en");
        let files = search::index(pages, language)?;
        let keep: std::collections::HashSet<PathBuf> = files.iter().map(|(p, _)| p.clone()).collect();
        for (rel, bytes) in &files {
            self.write(&rel.to_string_lossy(), bytes)?;
        }
        let bundle = self.dest.join("pagefind");
        for entry in walkdir::WalkDir::new(&bundle).into_iter().flatten() {
            if entry.file_type().is_file() {
                let rel = entry.path().strip_prefix(&self.dest).map(Path::to_owned).unwrap_or_default();
                if !keep.contains(&rel) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(())
    }

    fn title(&self) -> &str {
        self.book.config.book.title.as_deref().unwrap_or_else(|| {
            self.book.root.file_name().and_then(|n| n.to_str()).filter(|n| *n != ".").unwrap_or("Runbooks")
        })
    }

    /// Sidebar entries: runbooks in book order, with a folder line where the folder changes.
    fn nav(&self, active: Option<&str>) -> Vec<NavItem> {
        let mut items = Vec::new();
        let mut current_folder: Vec<&str> = Vec::new();
        for runbook in &self.book.runbooks {
            let mut parts: Vec<&str> = runbook.path.split('/').collect();
            parts.pop();
            let common = current_folder.iter().zip(&parts).take_while(|(a, b)| a == b).count();
            for (depth, folder) in parts.iter().enumerate().skip(common) {
                items.push(NavItem { title: (*folder).to_owned(), href: None, depth, active: false });
            }
            current_folder = parts.clone();
            // The site's own navigation title (`nav:` label, `sidebar_label`, SUMMARY link
            // text), else the page's.
            let title = self.book.layout.titles.get(&runbook.path).unwrap_or(&runbook.title);
            items.push(NavItem {
                title: title.clone(),
                href: Some(html_path(&runbook.path)),
                depth: parts.len(),
                active: active == Some(runbook.path.as_str()),
            });
        }
        items
    }

    /// A file of the book, read only when it leads inside the book.
    fn read(&self, path: &Path) -> Result<Vec<u8>, SiteError> {
        self.boundary.read(path).map_err(|err| match err {
            BoundaryError::Read { path, source } => SiteError::Read { path, source },
            outside @ BoundaryError::Outside { .. } => SiteError::Outside(outside),
        })
    }

    fn render_page(&self, runbook: &Runbook, markdown: &str) -> Result<(String, Vec<Diagnostic>), SiteError> {
        let body = self.body(runbook, markdown, &self.highlighter, Mode::Pages);
        let href = html_path(&runbook.path);
        let nav = self.nav(Some(&runbook.path));
        let front = &runbook.front_matter;
        let page = PageData {
            title: &runbook.title,
            path: &runbook.path,
            severity: front.severity.as_deref(),
            owner: front.owner.as_deref(),
            tags: &front.tags,
            services: &front.services,
            body: body.html,
            toc: body.toc,
        };
        let mut context = tera::Context::from_serialize(self.common(root_of(&href), &nav))
            .map_err(|err| render_error(&runbook.path, &err))?;
        context.insert("page", &page);
        let html = self.theme.tera.render("page.html", &context).map_err(|err| render_error(&runbook.path, &err))?;
        Ok((html, body.diagnostics))
    }

    fn write(&self, rel: &str, bytes: &[u8]) -> Result<(), SiteError> {
        let path = self.dest.join(rel);
        if let Some(parent) = path.parent() {
            files::make_dir(self.private, parent)
                .map_err(|source| SiteError::Write { path: parent.to_owned(), source })?;
        }
        // Skip identical files, so a rebuild with nothing changed touches nothing.
        if std::fs::read(&path).is_ok_and(|old| old == bytes) {
            return Ok(());
        }
        files::write_file(self.private, &path, bytes).map_err(|source| SiteError::Write { path, source })
    }

    /// Builds every page, in parallel, then the lists and assets.
    pub fn build(self) -> Result<BuildReport, SiteError> {
        self.build_with_progress(&|| {})
    }

    /// [`Site::build`], calling `page_done` after each page (for a progress bar).
    pub fn build_with_progress(self, page_done: &(dyn Fn() + Sync)) -> Result<BuildReport, SiteError> {
        let runbooks = &self.book.runbooks;
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).min(runbooks.len().max(1));
        let chunk = runbooks.len().div_ceil(workers).max(1);
        type PageResults = Result<(Vec<Diagnostic>, Vec<(String, u64)>), SiteError>;
        let results: Vec<PageResults> = std::thread::scope(|scope| {
            let handles: Vec<_> = runbooks
                .chunks(chunk)
                .map(|part| {
                    let site = &self;
                    scope.spawn(move || {
                        let mut diagnostics = Vec::new();
                        let mut hashes = Vec::new();
                        for runbook in part {
                            let markdown = markdown_of(runbook);
                            let hash = highlight::cache_key(&markdown, Some(&runbook.path));
                            let rel = html_path(&runbook.path);
                            if site.unchanged(&runbook.path, hash) && site.dest.join(&rel).is_file() {
                                let display = site.book.src.join(&runbook.path);
                                diagnostics.extend(render::check_links(runbook, &markdown, &display, &site.targets));
                            } else {
                                let (html, mut found) = site.render_page(runbook, &markdown)?;
                                site.write(&rel, html.as_bytes())?;
                                diagnostics.append(&mut found);
                            }
                            hashes.push((runbook.path.clone(), hash));
                            page_done();
                        }
                        Ok((diagnostics, hashes))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(render_error_text("a page", "a render thread panicked"))))
                .collect()
        });
        let mut report =
            BuildReport { pages: runbooks.len(), diagnostics: self.warnings.clone(), ..BuildReport::default() };
        let mut manifest = Manifest {
            dest: self.dest.to_string_lossy().into_owned(),
            fingerprint: self.fingerprint(),
            pages: std::collections::BTreeMap::new(),
        };
        for result in results {
            let (diagnostics, hashes) = result?;
            report.diagnostics.extend(diagnostics);
            manifest.pages.extend(hashes);
        }
        // Nothing changed since the last build into this folder: the lists and the search index
        // are as they were.
        let lists_present = ["index.html", "print.html", "runbooks.json"].iter().all(|f| self.dest.join(f).is_file())
            && (!self.search_enabled() || self.dest.join("pagefind/pagefind.js").is_file());
        if manifest != self.previous || !lists_present {
            self.write_lists()?;
            self.write_search_index()?;
        }
        self.write_assets()?;
        if let (Some(parent), Ok(bytes)) = (self.manifest_file.parent(), serde_json::to_vec(&manifest)) {
            if crate::private::create_dir_all(parent).is_ok() {
                let _ = crate::private::write(&self.manifest_file, &bytes);
            }
        }
        report.highlighted = self.save_cache();
        Ok(report)
    }

    /// Re-renders one changed runbook's page and the pages that list it (index, print,
    /// runbooks.json, the search index). `previous` is the book before the change: when the
    /// change renamed the runbook (or the book's list of runbooks changed), every page's sidebar
    /// names it, so every page is redone.
    pub fn rebuild_runbook(&self, previous: &Book, rel_path: &str) -> Result<Vec<Diagnostic>, SiteError> {
        let (diagnostics, _) = self.rebuild_page(previous, rel_path)?;
        self.rebuild_slow_lists()?;
        Ok(diagnostics)
    }

    /// The quick part of a rebuild, for the server's live reload: the runbook's page (or every
    /// page, when the list of runbooks changed; the bool says so), the index and 404. The print
    /// page, runbooks.json and the search index (each over the whole book) are left for
    /// [`Site::rebuild_slow_lists`].
    pub fn rebuild_page(&self, previous: &Book, rel_path: &str) -> Result<(Vec<Diagnostic>, bool), SiteError> {
        let runbook = self
            .book
            .runbooks
            .iter()
            .find(|r| r.path == rel_path)
            .ok_or_else(|| render_error_text(rel_path, "is not a runbook of this book"))?;
        let listing = |book: &Book| book.runbooks.iter().map(|r| (r.path.clone(), r.title.clone())).collect::<Vec<_>>();
        let all = listing(previous) != listing(self.book);
        let pages: Vec<&Runbook> = if all { self.book.runbooks.iter().map(|r| &**r).collect() } else { vec![runbook] };
        let mut diagnostics = Vec::new();
        for page in pages {
            let (html, found) = self.render_page(page, &markdown_of(page))?;
            self.write(&html_path(&page.path), html.as_bytes())?;
            if page.path == rel_path {
                diagnostics = found;
            }
        }
        self.write_index()?;
        Ok((diagnostics, all))
    }

    /// The slow part of a rebuild: the print page, runbooks.json and the search index.
    pub fn rebuild_slow_lists(&self) -> Result<(), SiteError> {
        self.write_print_page()?;
        self.write_runbooks_json()?;
        self.write_search_index()
    }

    fn write_lists(&self) -> Result<(), SiteError> {
        self.write_index()?;
        self.write_runbooks_json()?;
        self.write_print_page()
    }

    fn write_runbooks_json(&self) -> Result<(), SiteError> {
        self.write("runbooks.json", crate::listing::book_json(self.book).as_bytes())?;
        self.write_alert_links()
    }

    /// `alerts.json` (alert name -> page, anchor, inputs), the same as `alerts.js` for pages
    /// opened from `file://`, and `go.html`, the entry point an alert's `runbook_url` template
    /// points at (`go.html?alert=NAME&label.pod=api-7f9`), as `opsbook serve` answers `/go`.
    fn write_alert_links(&self) -> Result<(), SiteError> {
        let links = crate::alerts::links(self.book, &crate::alerts::book_rules(self.book));
        let json = serde_json::to_string_pretty(&serde_json::json!({ "alerts": links })).expect("links serialize");
        self.write("alerts.json", format!("{json}\n").as_bytes())?;
        // `</` cannot close a script that holds only JSON with every `<` escaped.
        self.write("alerts.js", format!("window.OPSBOOK_ALERTS = {};\n", json.replace('<', "\\u003c")).as_bytes())?;
        let go = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Opening the runbook…</title>\
                  <meta name=\"referrer\" content=\"no-referrer\"></head>\n<body><p id=\"go-message\">Opening the runbook for this alert…</p>\
                  <noscript>This page needs JavaScript to find the alert's runbook; the book's index is <a href=\"index.html\">here</a>.</noscript>\n\
                  <script src=\"alerts.js\"></script><script src=\"assets/go.js\"></script></body></html>\n";
        self.write("go.html", go.as_bytes())
    }

    fn write_index(&self) -> Result<(), SiteError> {
        let nav = self.nav(None);
        let entries: Vec<IndexEntry<'_>> = self
            .book
            .runbooks
            .iter()
            .map(|r| IndexEntry {
                title: &r.title,
                path: &r.path,
                href: html_path(&r.path),
                severity: r.front_matter.severity.as_deref(),
                owner: r.front_matter.owner.as_deref(),
                tags: &r.front_matter.tags,
                services: &r.front_matter.services,
                steps: r.steps.len(),
            })
            .collect();
        let mut context = tera::Context::from_serialize(self.common(String::new(), &nav))
            .map_err(|e| render_error("index.html", &e))?;
        context.insert("runbooks", &entries);
        let index = self.theme.tera.render("index.html", &context).map_err(|e| render_error("index.html", &e))?;
        self.write("index.html", index.as_bytes())?;
        let site_url = self.book.config.output.html.site_url.clone().unwrap_or_else(|| "/".to_owned());
        let not_found_context =
            tera::Context::from_serialize(self.common(site_url, &nav)).map_err(|e| render_error("404.html", &e))?;
        let not_found =
            self.theme.tera.render("404.html", &not_found_context).map_err(|e| render_error("404.html", &e))?;
        self.write("404.html", not_found.as_bytes())
    }

    fn write_print_page(&self) -> Result<(), SiteError> {
        let nav = self.nav(None);
        let mut context = tera::Context::from_serialize(self.common(String::new(), &nav))
            .map_err(|e| render_error("print.html", &e))?;

        // The print page holds every runbook: the template renders it with a marker per
        // runbook, and the bodies are streamed into the file one at a time.
        let marker = |index: usize| format!("<!--opsbook-print-page-{index}-->");
        let print_pages: Vec<PrintPage<'_>> = self
            .book
            .runbooks
            .iter()
            .enumerate()
            .map(|(index, runbook)| PrintPage {
                anchor: render::print_prefix(&runbook.path).trim_end_matches("--").to_owned(),
                path: &runbook.path,
                body: marker(index),
            })
            .collect();
        context.insert("pages", &print_pages);
        let shell = self.theme.tera.render("print.html", &context).map_err(|e| render_error("print.html", &e))?;
        self.write_print(&shell, &marker)
    }

    fn write_print(&self, shell: &str, marker: &dyn Fn(usize) -> String) -> Result<(), SiteError> {
        use std::io::Write as _;
        let path = self.dest.join("print.html");
        let failed = |source| SiteError::Write { path: path.clone(), source };
        let mut out = std::io::BufWriter::new(files::create_file(self.private, &path).map_err(failed)?);
        let mut rest = shell;
        for (index, runbook) in self.book.runbooks.iter().enumerate() {
            let mark = marker(index);
            let Some(at) = rest.find(&mark) else { continue };
            out.write_all(&rest.as_bytes()[..at]).map_err(failed)?;
            let markdown = markdown_of(runbook);
            let body = self.body(runbook, &markdown, &self.plain, Mode::Print);
            out.write_all(body.html.as_bytes()).map_err(failed)?;
            rest = &rest[at + mark.len()..];
        }
        out.write_all(rest.as_bytes()).map_err(failed)?;
        out.flush().map_err(failed)
    }

    fn write_assets(&self) -> Result<(), SiteError> {
        if self.nav_script() {
            let items = serde_json::to_string(&self.nav(None))
                .map_err(|e| render_error_text("assets/nav.js", &e.to_string()))?;
            let script = format!(
                "// The sidebar of a large book, shared by every page (written by `opsbook build`).\n\
                 window.opsbookNav = {items};\n"
            );
            self.write("assets/nav.js", script.as_bytes())?;
        }
        for (name, bytes) in &self.theme.assets {
            self.write(&format!("assets/{name}"), bytes)?;
        }
        let (light, dark) = highlight::stylesheets();
        for (name, generated) in [("highlight-light.css", light), ("highlight-dark.css", dark)] {
            let bytes = self.theme.overridden_generated.get(name).cloned().unwrap_or_else(|| generated.into_bytes());
            self.write(&format!("assets/{name}"), &bytes)?;
        }
        for rel in &self.files {
            let bytes = self.read(&self.book.src.join(rel))?;
            self.write(rel, &bytes)?;
        }
        for extra in &self.extras {
            let bytes = self.read(&self.book.root.join(extra))?;
            self.write(&extra.to_string_lossy().replace('\\', "/"), &bytes)?;
        }
        Ok(())
    }

    /// Saves the highlight cache; returns how many blocks were highlighted anew.
    fn save_cache(self) -> usize {
        let cached_before = self.cached_entries;
        let entries: Vec<(u64, String)> = self.highlighter.into_cache().into_iter().collect();
        let fresh = entries.len().saturating_sub(cached_before);
        if let Some(parent) = self.cache_file.parent() {
            if crate::private::create_dir_all(parent).is_ok() {
                if let Ok(bytes) = serde_json::to_vec(&entries) {
                    let _ = crate::private::write(&self.cache_file, &bytes);
                }
            }
        }
        fresh
    }
}

/// The Markdown a runbook's page is rendered from: the text it was parsed from, repaired as the
/// parser repaired it. Borrowed unless a fence needed closing.
fn markdown_of(runbook: &Runbook) -> std::borrow::Cow<'_, str> {
    crate::parse::markdown_for_render(&runbook.source, runbook.dialect)
}

fn render_error(page: &str, err: &tera::Error) -> SiteError {
    SiteError::Render { page: page.to_owned(), message: theme::tera_message(err) }
}

fn render_error_text(page: &str, message: &str) -> SiteError {
    SiteError::Render { page: page.to_owned(), message: message.to_owned() }
}
