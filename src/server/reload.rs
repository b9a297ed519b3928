//! Live reload: notify (debounced) watches the runbooks, the theme and `book.toml`. A changed
//! runbook re-renders its page and the index (the print page and the search index follow in the
//! background); a new or removed runbook, the theme or the configuration rebuild the site. Open
//! pages are told which page changed and reload.
//!
//! Only what lies inside the book (links resolved, see [`Boundary`]) is watched or read: a
//! linked folder that leads out of the book is not followed, and a file that does is not read
//! (the rebuild then reports and skips it).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify_debouncer_mini::notify::{self, RecommendedWatcher, RecursiveMode};
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer_opt};

use super::App;
use crate::boundary::{Boundary, is_hidden_name};
use crate::load::absolute;
use crate::model::Book;
use crate::site::{Site, html_path};

/// How long changes are gathered before a rebuild.
const DEBOUNCE: Duration = Duration::from_millis(30);
/// The print page and search index wait for this much quiet.
const SLOW_LISTS_QUIET: Duration = Duration::from_millis(1500);

/// What a batch of changed paths asks for.
#[derive(Debug, PartialEq, Eq)]
enum Rebuild {
    /// The configuration or the theme: the whole site.
    Everything,
    /// These runbooks (paths in the book).
    Runbooks(Vec<String>),
    Nothing,
}

/// Starts watching; the returned watcher stops when dropped.
pub fn watch(app: Arc<App>) -> anyhow::Result<Debouncer<RecommendedWatcher>> {
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<Vec<PathBuf>>();
    // Links are not followed by the watcher itself: linked folders inside the book are watched
    // one by one below, and those leading out of it not at all.
    let config = notify_debouncer_mini::Config::default()
        .with_timeout(DEBOUNCE)
        .with_notify_config(notify::Config::default().with_follow_symlinks(false));
    let mut debouncer = new_debouncer_opt::<_, RecommendedWatcher>(config, move |result: DebounceEventResult| {
        if let Ok(events) = result {
            let _ = sender.send(events.into_iter().map(|e| e.path).collect());
        }
    })?;
    let book = app.book();
    let boundary = Boundary::of_book(&book.root, &book.config);
    let theme = book.config.theme_dir(&book.root).filter(|t| boundary.contains(t));
    let folders: Vec<&Path> = std::iter::once(book.src.as_path()).chain(theme.as_deref()).collect();
    for folder in &folders {
        debouncer.watcher().watch(folder, RecursiveMode::Recursive)?;
        for linked in inside_entries(folder, &boundary).filter(|e| e.path_is_symlink() && e.file_type().is_dir()) {
            debouncer.watcher().watch(linked.path(), RecursiveMode::Recursive)?;
        }
    }
    if book.src != book.root {
        debouncer.watcher().watch(&book.root, RecursiveMode::NonRecursive)?;
    }
    let slow = Arc::new(tokio::sync::Notify::new());
    tokio::spawn(refresh_slow_lists(app.clone(), slow.clone()));
    // The watcher also reports reads (ours, while rebuilding): only a change of content counts.
    let mut seen = Contents::new(boundary);
    for entry in folders.iter().flat_map(|folder| inside_entries(folder, &seen.boundary)).collect::<Vec<_>>() {
        seen.changed(&absolute(entry.path()));
    }
    seen.changed(&absolute(&book.root.join("book.toml")));
    tokio::spawn(async move {
        while let Some(paths) = receiver.recv().await {
            let current = app.book();
            // `book.toml` may have changed what is allowed in.
            seen.boundary = Boundary::of_book(&current.root, &current.config);
            let paths: Vec<PathBuf> = paths.into_iter().filter(|p| seen.changed(p)).collect();
            if paths.is_empty() {
                continue;
            }
            let book = app.book();
            let change = classify(&Places::of(&book), &paths);
            if change == Rebuild::Nothing {
                continue;
            }
            let worker = app.clone();
            match off_runtime(move || apply(&worker, &book, change)).await {
                Some(Ok(pages)) => {
                    for page in pages {
                        let _ = app.reload.send(page);
                    }
                    slow.notify_one();
                }
                Some(Err(err)) => tracing::error!("live reload: {err:#}"),
                None => tracing::error!("live reload: the rebuild stopped unexpectedly"),
            }
        }
    });
    Ok(debouncer)
}

/// Runs site work on a plain thread: the search indexer drives its own runtime, which cannot
/// start on a thread that belongs to the server's.
async fn off_runtime<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = sender.send(work());
    });
    receiver.await.ok()
}

/// Below `dir`: every entry but hidden ones, following links that stay inside `boundary`.
fn inside_entries<'a>(dir: &Path, boundary: &'a Boundary) -> impl Iterator<Item = walkdir::DirEntry> + 'a {
    walkdir::WalkDir::new(dir)
        .follow_links(true)
        .into_iter()
        .filter_entry(move |entry| {
            entry.depth() == 0
                || (!is_hidden_name(&entry.file_name().to_string_lossy())
                    && (!entry.path_is_symlink() || boundary.contains(entry.path())))
        })
        .flatten()
}

/// The content hash of each watched file as last seen, so that touching or reading a file is
/// not a change. A file that leads out of the book is not read: it counts as absent.
struct Contents {
    boundary: Boundary,
    hashes: std::collections::HashMap<PathBuf, Option<u64>>,
}

impl Contents {
    fn new(boundary: Boundary) -> Contents {
        Contents { boundary, hashes: std::collections::HashMap::new() }
    }

    /// Records the file's content now; true when it differs from before (or the file came or
    /// went).
    fn changed(&mut self, path: &Path) -> bool {
        use std::hash::{Hash, Hasher};
        let now = self.boundary.read(path).ok().map(|bytes| {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            bytes.hash(&mut hasher);
            hasher.finish()
        });
        let before = self.hashes.insert(path.to_path_buf(), now);
        before != Some(now) && !(before.is_none() && now.is_none())
    }
}

/// The book's folders as absolute paths, as the watcher reports changes.
struct Places {
    root: PathBuf,
    src: PathBuf,
    theme: Option<PathBuf>,
    ignored: [PathBuf; 3],
    extensions: Vec<String>,
    /// The site configuration the book's order came from (`mkdocs.yml`, `sidebars.ts`, …).
    layout: Vec<PathBuf>,
}

impl Places {
    fn of(book: &Book) -> Places {
        let root = absolute(&book.root);
        Places {
            src: absolute(&book.src),
            theme: book.config.theme_dir(&book.root).map(|t| absolute(&t)),
            ignored: [root.join(".opsbook"), absolute(&book.config.build_dir(&book.root)), root.join("target")],
            extensions: book.config.opsbook.extensions.clone(),
            layout: book.layout.files.iter().map(|f| absolute(f)).collect(),
            root,
        }
    }
}

/// Which kind of change these paths are. Files opsbook writes (`.opsbook/`, the build folder)
/// and hidden files are ignored.
fn classify(places: &Places, paths: &[PathBuf]) -> Rebuild {
    let mut runbooks = Vec::new();
    for path in paths {
        if places.ignored.iter().any(|dir| path.starts_with(dir)) || is_hidden(path, &places.root) {
            continue;
        }
        if path == &places.root.join("book.toml")
            || places.layout.contains(path)
            || places.theme.as_ref().is_some_and(|t| path.starts_with(t))
        {
            return Rebuild::Everything;
        }
        let is_markdown = crate::page::is_runbook_file(&path.to_string_lossy(), &places.extensions);
        if let (true, Ok(rel)) = (is_markdown, path.strip_prefix(&places.src)) {
            let rel = rel.to_string_lossy().replace('\\', "/");
            if !runbooks.contains(&rel) {
                runbooks.push(rel);
            }
        }
    }
    if runbooks.is_empty() { Rebuild::Nothing } else { Rebuild::Runbooks(runbooks) }
}

fn is_hidden(path: &Path, root: &Path) -> bool {
    path.strip_prefix(root).unwrap_or(path).components().any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
}

/// Rebuilds what the change touches; returns the pages to reload (`*` for all).
fn apply(app: &App, current: &Book, change: Rebuild) -> anyhow::Result<Vec<String>> {
    let site_dir = app.site_dir().to_path_buf();
    match change {
        Rebuild::Nothing => Ok(Vec::new()),
        Rebuild::Everything => {
            let book = crate::load::load_book(&current.root)?;
            Site::new(&book, &site_dir)?.build()?;
            app.set_book(book);
            Ok(vec!["*".to_owned()])
        }
        Rebuild::Runbooks(paths) => {
            let mut book = current.clone();
            let mut pages = Vec::new();
            for rel in paths {
                let next = crate::load::reload_runbook(&book, &rel)?;
                let same_list = next.runbooks.len() == book.runbooks.len()
                    && next.runbooks.iter().zip(&book.runbooks).all(|(a, b)| a.path == b.path);
                if !same_list || rel == "SUMMARY.md" {
                    Site::new(&next, &site_dir)?.build()?;
                    pages = vec!["*".to_owned()];
                } else if next.runbooks.iter().any(|r| r.path == rel) {
                    let (_, all) = Site::new(&next, &site_dir)?.rebuild_page(&book, &rel)?;
                    pages.push(if all { "*".to_owned() } else { html_path(&rel) });
                }
                book = next;
            }
            app.set_book(book);
            Ok(pages)
        }
    }
}

/// After changes settle, redoes the print page, runbooks.json and the search index (slow on a
/// large book).
async fn refresh_slow_lists(app: Arc<App>, changed: Arc<tokio::sync::Notify>) {
    loop {
        changed.notified().await;
        // Wait for quiet: every further change restarts the wait.
        loop {
            tokio::select! {
                () = changed.notified() => continue,
                () = tokio::time::sleep(SLOW_LISTS_QUIET) => break,
            }
        }
        let worker = app.clone();
        let result = off_runtime(move || {
            let book = worker.book();
            Site::new(&book, worker.site_dir())?.rebuild_slow_lists()?;
            anyhow::Ok(())
        })
        .await;
        if let Some(Err(err)) = result {
            tracing::error!("live reload (print page, runbooks.json, search): {err:#}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_leading_out_of_the_book_are_neither_read_nor_walked() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path().join("book");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(root.join("real")).expect("folder");
        std::fs::create_dir_all(&outside).expect("folder");
        std::fs::write(root.join("real/a.md"), "# A\n").expect("write");
        std::fs::write(outside.join("b.md"), "# B\n").expect("write");
        std::os::unix::fs::symlink(outside.join("b.md"), root.join("b.md")).expect("link");
        std::os::unix::fs::symlink(&outside, root.join("out")).expect("link");
        std::os::unix::fs::symlink(root.join("real"), root.join("in")).expect("link");
        let boundary = Boundary::of_book(&root, &crate::config::Config::default());
        let mut names: Vec<String> = inside_entries(&root, &boundary)
            .filter(|e| e.depth() > 0)
            .map(|e| e.path().strip_prefix(&root).expect("below").to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["in", "in/a.md", "real", "real/a.md"]);
        let mut seen = Contents::new(boundary);
        assert!(seen.changed(&root.join("real/a.md")));
        assert!(!seen.changed(&root.join("real/a.md")));
        // Never read: absent before and after.
        assert!(!seen.changed(&root.join("b.md")));
        assert_eq!(seen.hashes.get(&root.join("b.md")), Some(&None));
    }
}
