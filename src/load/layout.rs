//! A docs site's own configuration read as the book: where its pages are and in which order,
//! for a folder without `book.toml`. MkDocs (`mkdocs.yml`: `docs_dir`, `nav:` with nested
//! sections, `INHERIT:`), Docusaurus (`sidebars.js`/`.ts` read as data where that needs no
//! JavaScript to run, else its own rules: `sidebar_position`, number prefixes), GitBook and
//! mdBook (`SUMMARY.md`), Hugo (`content/`, `weight`). Nothing here runs the site's tools.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;

use crate::boundary::{Boundary, BoundaryError};
use crate::diagnostic::Diagnostic;
use crate::model::{Layout, LayoutKind, Runbook};

/// What a folder's files say about the book, before any runbook is read.
pub(super) struct Found {
    pub kind: LayoutKind,
    /// The runbook folder.
    pub src: PathBuf,
    /// The files the order is read from (a change to one reloads the book).
    pub files: Vec<PathBuf>,
}

/// The site configuration at `root`, when the folder has no `book.toml`.
pub(super) fn detect(root: &Path) -> Option<Found> {
    for name in ["mkdocs.yml", "mkdocs.yaml"] {
        let file = root.join(name);
        if file.is_file() {
            return Some(Found { kind: LayoutKind::MkDocs, src: root.to_owned(), files: vec![file] });
        }
    }
    let sidebars = ["sidebars.js", "sidebars.ts", "sidebars.mjs", "sidebars.cjs"].map(|n| root.join(n));
    let docusaurus_config = ["docusaurus.config.js", "docusaurus.config.ts", "docusaurus.config.mjs"]
        .iter()
        .any(|n| root.join(n).is_file());
    if docusaurus_config || sidebars.iter().any(|f| f.is_file()) {
        let docs = root.join("docs");
        let src = if docs.is_dir() { docs } else { root.to_owned() };
        return Some(Found {
            kind: LayoutKind::Docusaurus,
            src,
            files: sidebars.into_iter().filter(|f| f.is_file()).collect(),
        });
    }
    if root.join("SUMMARY.md").is_file() {
        return Some(Found { kind: LayoutKind::Summary, src: root.to_owned(), files: vec![root.join("SUMMARY.md")] });
    }
    let hugo_config = ["hugo.toml", "hugo.yaml", "hugo.json", "config.toml", "config.yaml"]
        .iter()
        .any(|n| root.join(n).is_file() || root.join("config/_default").join(n).is_file());
    // A `content/` folder alone is not Hugo's (runbook repositories use the name too).
    let content = root.join("content");
    if content.is_dir() && hugo_config {
        // A multilingual site keeps each language in a folder of its own: read English.
        let english = content.join("en");
        let src = if english.is_dir() && !content.join("_index.md").is_file() { english } else { content };
        return Some(Found { kind: LayoutKind::Hugo, src, files: Vec::new() });
    }
    None
}

/// An MkDocs configuration: its runbook folder and the pages its `nav:` lists, with their
/// titles, in order.
pub(super) struct MkDocs {
    pub docs_dir: PathBuf,
    pub nav: Option<Vec<(String, Option<String>)>>,
    /// Every file read (the configuration and what it inherits).
    pub files: Vec<PathBuf>,
}

/// Reads `mkdocs.yml` and the files it inherits (`INHERIT:`, merged as MkDocs merges them: maps
/// key by key, anything else replaced by the inheriting file).
pub(super) fn mkdocs(file: &Path, boundary: &Boundary, diagnostics: &mut Vec<Diagnostic>) -> MkDocs {
    let mut files = Vec::new();
    let config = read_yaml_inheriting(file, boundary, &mut files, diagnostics, 0).unwrap_or(Value::Null);
    let dir = file.parent().unwrap_or(Path::new("."));
    let docs_dir = dir.join(config.get("docs_dir").and_then(Value::as_str).unwrap_or("docs"));
    let nav = config.get("nav").and_then(Value::as_sequence).map(|items| {
        let mut pages = Vec::new();
        nav_pages(items, &mut pages);
        pages
    });
    MkDocs { docs_dir, nav, files }
}

fn read_yaml_inheriting(
    file: &Path,
    boundary: &Boundary,
    files: &mut Vec<PathBuf>,
    diagnostics: &mut Vec<Diagnostic>,
    depth: usize,
) -> Option<Value> {
    if depth > 8 || files.contains(&file.to_owned()) {
        diagnostics.push(Diagnostic::warning(
            "site-config",
            file,
            format!("`{}` inherits itself; the loop is cut here", file.display()),
        ));
        return None;
    }
    files.push(file.to_owned());
    let text = match read(boundary, file, diagnostics) {
        Some(Ok(text)) => text,
        None => return None,
        Some(Err(err)) => {
            diagnostics.push(
                Diagnostic::warning("site-config", file, format!("cannot read `{}`: {err}", file.display()))
                    .with_help("the folder is walked in name order instead"),
            );
            return None;
        }
    };
    let mut value: Value = match serde_yaml_ng::from_str(&text) {
        Ok(value) => value,
        Err(err) => {
            let mut warning =
                Diagnostic::warning("site-config", file, format!("`{}` is not valid YAML: {err}", file.display()))
                    .with_help("fix the file; until then the folder is walked in name order");
            if let Some(at) = err.location() {
                warning = warning.at(&text, at.line() as u32, at.column() as u32);
            }
            diagnostics.push(warning);
            return None;
        }
    };
    let parent = value.get("INHERIT").and_then(Value::as_str).map(str::to_owned);
    if let Some(parent) = parent {
        let base_file = file.parent().unwrap_or(Path::new(".")).join(parent);
        if let Some(mut base) = read_yaml_inheriting(&base_file, boundary, files, diagnostics, depth + 1) {
            merge(&mut base, value);
            value = base;
        }
    }
    Some(value)
}

/// A site configuration file's text, read only inside the book (a link or an `INHERIT:` that
/// leads out is a warning and None); a read error as it is.
fn read(boundary: &Boundary, file: &Path, diagnostics: &mut Vec<Diagnostic>) -> Option<Result<String, String>> {
    match boundary.read(file) {
        Ok(bytes) => Some(String::from_utf8(bytes).map_err(|_| "it is not UTF-8".to_owned())),
        Err(err @ BoundaryError::Outside { .. }) => {
            diagnostics.push(err.warning());
            None
        }
        Err(BoundaryError::Read { source, .. }) => Some(Err(source.to_string())),
    }
}

/// `over` laid over `base`: maps merged key by key, anything else replaced.
fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Mapping(base), Value::Mapping(over)) => {
            for (key, value) in over {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, over) => *base = over,
    }
}

/// The pages of a `nav:` list in order: `- page.md`, `- Title: page.md`, `- Section: [...]`;
/// links to other sites are left out.
fn nav_pages(items: &[Value], pages: &mut Vec<(String, Option<String>)>) {
    for item in items {
        match item {
            Value::String(path) => pages.push((path.clone(), None)),
            Value::Mapping(map) => {
                for (title, value) in map {
                    let title = match title {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    };
                    match value {
                        Value::String(path) if !path.contains("://") => pages.push((path.clone(), title)),
                        Value::Sequence(children) => nav_pages(children, pages),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
}

/// The runbooks in the order `nav` gives (titles kept), then the others in walk order: MkDocs
/// builds pages its `nav:` leaves out too.
pub(super) fn nav_order(
    nav: &[(String, Option<String>)],
    walked: &[String],
    titles: &mut HashMap<String, String>,
) -> Vec<String> {
    let mut ordered: Vec<String> = Vec::new();
    for (path, title) in nav {
        let path = path.trim_start_matches("./").to_owned();
        if walked.contains(&path) && !ordered.contains(&path) {
            if let Some(title) = title {
                titles.insert(path.clone(), title.clone());
            }
            ordered.push(path);
        }
    }
    for path in walked {
        if !ordered.contains(path) {
            ordered.push(path.clone());
        }
    }
    ordered
}

/// Sorts parsed runbooks as the site would list them, where that needs their front matter:
/// Docusaurus (its sidebars when they read as data, else `sidebar_position` and number
/// prefixes) and Hugo (`weight`, section pages first).
pub(super) fn sort(
    layout: &mut Layout,
    runbooks: &mut [std::sync::Arc<Runbook>],
    boundary: &Boundary,
    diagnostics: &mut Vec<Diagnostic>,
) {
    match layout.kind {
        LayoutKind::Hugo => {
            sort_by_weight(runbooks, "weight");
            for runbook in runbooks.iter() {
                if let Some(title) = runbook.front_matter.extra.get("linkTitle").and_then(|v| v.as_str()) {
                    layout.titles.insert(runbook.path.clone(), title.to_owned());
                }
            }
        }
        LayoutKind::Docusaurus => {
            // Folder rules first: an `autogenerated` sidebar item lists its folder in that order.
            sort_by_weight(runbooks, "sidebar_position");
            let order = layout.files.first().and_then(|file| sidebars_order(file, runbooks, boundary, diagnostics));
            if let Some(order) = order {
                let rank: HashMap<&str, usize> = order.iter().enumerate().map(|(i, p)| (p.as_str(), i)).collect();
                // Pages no sidebar lists keep their place after those it does.
                runbooks.sort_by_key(|r| rank.get(r.path.as_str()).copied().unwrap_or(usize::MAX));
                layout.read_as_data = true;
            }
            for runbook in runbooks.iter() {
                if let Some(label) = runbook.front_matter.extra.get("sidebar_label").and_then(|v| v.as_str()) {
                    layout.titles.insert(runbook.path.clone(), label.to_owned());
                }
            }
        }
        _ => {}
    }
}

/// Orders pages folder by folder: the folder's own page first (`_index`, `index`, `README`),
/// then pages and folders by `key` in front matter (a folder by its own page's; unweighted
/// last), number prefix, name.
fn sort_by_weight(runbooks: &mut [std::sync::Arc<Runbook>], key: &str) {
    let weight = |r: &Runbook| r.front_matter.extra.get(key).and_then(serde_json::Value::as_f64);
    let mut weights: HashMap<String, f64> = HashMap::new();
    for runbook in runbooks.iter() {
        let Some(w) = weight(runbook) else { continue };
        weights.insert(runbook.path.clone(), w);
        let (folder, file) = runbook.path.rsplit_once('/').unwrap_or(("", &runbook.path));
        if is_index_page(file) && !folder.is_empty() {
            weights.insert(folder.to_owned(), w);
        }
    }
    runbooks.sort_by_cached_key(|r| walk_key(&r.path, &weights));
}

fn is_index_page(file: &str) -> bool {
    let stem = file.split('.').next().unwrap_or(file);
    matches!(stem.to_ascii_lowercase().as_str(), "_index" | "index" | "readme")
}

/// The sort key of a page: per part of its path, (not the folder's own page, weight, number
/// prefix, name).
fn walk_key(path: &str, weights: &HashMap<String, f64>) -> Vec<(u8, i64, u64, String)> {
    let parts: Vec<&str> = path.split('/').collect();
    let mut key = Vec::with_capacity(parts.len());
    for (index, part) in parts.iter().enumerate() {
        let last = index + 1 == parts.len();
        let is_index = last && is_index_page(part);
        let (number, name) = number_prefix(part);
        let so_far = parts[..=index].join("/");
        let weight = weights.get(&so_far).copied();
        key.push((
            u8::from(!is_index),
            weight.map_or(i64::MAX, |w| (w * 1000.0) as i64),
            number.unwrap_or(u64::MAX),
            name.to_ascii_lowercase(),
        ));
    }
    key
}

/// `10-deploy.mdx` -> (Some(10), `deploy.mdx`): Docusaurus's number prefixes, which order
/// pages and are dropped from their ids.
pub(super) fn number_prefix(name: &str) -> (Option<u64>, &str) {
    let digits = name.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 9 {
        return (None, name);
    }
    let rest = name[digits..].trim_start_matches(' ');
    let separators = rest.len() - rest.trim_start_matches(['-', '_', '.']).len();
    let after = rest[separators..].trim_start_matches(' ');
    if separators == 0 || after.is_empty() || !after.starts_with(|c: char| c.is_alphanumeric()) {
        return (None, name);
    }
    // `404.md` is a name with an ending, not a prefix.
    if rest.starts_with('.') && !after.contains('.') {
        return (None, name);
    }
    (name[..digits].parse().ok(), after)
}

/// The Docusaurus id of a page: its path in the docs folder without the ending and without
/// number prefixes, the last part replaced by front matter `id`.
fn doc_id(runbook: &Runbook) -> String {
    let stem = runbook.path.rsplit_once('.').map_or(runbook.path.as_str(), |(stem, _)| stem);
    let mut parts: Vec<&str> = stem.split('/').map(|p| number_prefix(p).1).collect();
    if let Some(id) = runbook.front_matter.extra.get("id").and_then(|v| v.as_str()) {
        parts.pop();
        parts.push(id);
    }
    parts.join("/")
}

/// The pages in the order the sidebars file lists them, when it reads as data; None (and a
/// note) when it needs JavaScript to be run.
fn sidebars_order(
    file: &Path,
    runbooks: &[std::sync::Arc<Runbook>],
    boundary: &Boundary,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Vec<String>> {
    let text = read(boundary, file, diagnostics)?.ok()?;
    let Some(value) = js::sidebars(&text) else {
        diagnostics.push(
            Diagnostic::warning(
                "site-config",
                file,
                format!(
                    "`{}` cannot be read without running JavaScript; pages are ordered as Docusaurus orders a folder",
                    file.display()
                ),
            )
            .with_help("write the sidebars as plain objects, arrays and strings, or add a book.toml and SUMMARY.md"),
        );
        return None;
    };
    let ids: HashMap<String, &str> = runbooks.iter().map(|r| (doc_id(r), r.path.as_str())).collect();
    let mut order = Vec::new();
    if let js::Value::Object(sidebars) = &value {
        for (_, items) in sidebars {
            sidebar_items(items, &ids, runbooks, &mut order);
        }
    }
    Some(order)
}

fn sidebar_items(
    item: &js::Value,
    ids: &HashMap<String, &str>,
    runbooks: &[std::sync::Arc<Runbook>],
    order: &mut Vec<String>,
) {
    let push = |id: &str, order: &mut Vec<String>| {
        if let Some(path) = ids.get(id) {
            if !order.iter().any(|p| p == path) {
                order.push((*path).to_owned());
            }
        }
    };
    match item {
        js::Value::String(id) => push(id, order),
        js::Value::Array(items) => {
            for item in items {
                sidebar_items(item, ids, runbooks, order);
            }
        }
        js::Value::Object(fields) => {
            let get = |key: &str| fields.iter().find(|(k, _)| k == key).map(|(_, v)| v);
            let kind = get("type").and_then(js::Value::as_str);
            match kind {
                Some("doc") => {
                    if let Some(id) = get("id").and_then(js::Value::as_str) {
                        push(id, order);
                    }
                }
                Some("autogenerated") => {
                    let dir = get("dirName").and_then(js::Value::as_str).unwrap_or(".").trim_matches('/');
                    // The pages below the folder, in the walk's order (sorted already).
                    for runbook in runbooks {
                        let id = doc_id(runbook);
                        let real_dir = runbook.path.rsplit_once('/').map_or("", |(d, _)| d);
                        let stripped_dir = id.rsplit_once('/').map_or("", |(d, _)| d);
                        let inside = |d: &str| dir == "." || d == dir || d.starts_with(&format!("{dir}/"));
                        if inside(real_dir) || inside(stripped_dir) {
                            push(&id, order);
                        }
                    }
                }
                _ => {
                    if let Some(link) = get("link") {
                        sidebar_items(link, ids, runbooks, order);
                    }
                    if let Some(items) = get("items") {
                        sidebar_items(items, ids, runbooks, order);
                    }
                }
            }
        }
        _ => {}
    }
}

/// Just enough of JavaScript to read a sidebars file that is data: object and array literals,
/// strings (template literals without `${`), numbers, `true`/`false`, comments. Anything else
/// (a function call, a spread, a variable) and the file is not data.
mod js {
    #[derive(Debug, Clone, PartialEq)]
    pub enum Value {
        Object(Vec<(String, Value)>),
        Array(Vec<Value>),
        String(String),
        Other,
    }

    impl Value {
        pub fn as_str(&self) -> Option<&str> {
            match self {
                Value::String(s) => Some(s),
                _ => None,
            }
        }
    }

    /// The object a sidebars file exports (`module.exports = {…}`, `const sidebars = {…};
    /// export default sidebars`, `export default {…}`).
    pub fn sidebars(text: &str) -> Option<Value> {
        let mut search = 0;
        while let Some(found) = text[search..]
            .find('=')
            .map(|at| search + at)
            .or_else(|| text[search..].find("export default").map(|at| search + at + "export default".len() - 1))
        {
            search = found + 1;
            let rest = text[found + 1..].trim_start();
            if rest.starts_with('{') {
                let mut reader = Reader { text: rest.as_bytes(), at: 0, depth: 0 };
                return reader.value();
            }
        }
        None
    }

    struct Reader<'t> {
        text: &'t [u8],
        at: usize,
        /// Objects and arrays open around the reader: past [`MAX_DEPTH`] the file is not data
        /// a sidebar needs (and a hostile one must not exhaust the stack).
        depth: usize,
    }

    const MAX_DEPTH: usize = 64;

    impl Reader<'_> {
        fn skip_space(&mut self) {
            loop {
                while self.at < self.text.len() && self.text[self.at].is_ascii_whitespace() {
                    self.at += 1;
                }
                if self.text[self.at..].starts_with(b"//") {
                    while self.at < self.text.len() && self.text[self.at] != b'\n' {
                        self.at += 1;
                    }
                } else if self.text[self.at..].starts_with(b"/*") {
                    match self.text[self.at + 2..].windows(2).position(|w| w == b"*/") {
                        Some(end) => self.at += end + 4,
                        None => self.at = self.text.len(),
                    }
                } else {
                    return;
                }
            }
        }

        fn peek(&mut self) -> Option<u8> {
            self.skip_space();
            self.text.get(self.at).copied()
        }

        fn value(&mut self) -> Option<Value> {
            match self.peek()? {
                b'{' | b'[' if self.depth >= MAX_DEPTH => None,
                b'{' => {
                    self.depth += 1;
                    let object = self.object();
                    self.depth -= 1;
                    object
                }
                b'[' => {
                    self.depth += 1;
                    let array = self.array();
                    self.depth -= 1;
                    array
                }
                b'\'' | b'"' | b'`' => self.string().map(Value::String),
                c if c.is_ascii_digit() || c == b'-' => {
                    while self.text.get(self.at).is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-'))
                    {
                        self.at += 1;
                    }
                    Some(Value::Other)
                }
                _ => {
                    let word = self.word()?;
                    matches!(word.as_str(), "true" | "false" | "null" | "undefined").then_some(Value::Other)
                }
            }
        }

        fn word(&mut self) -> Option<String> {
            let start = self.at;
            while self.text.get(self.at).is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'$')) {
                self.at += 1;
            }
            (self.at > start).then(|| String::from_utf8_lossy(&self.text[start..self.at]).into_owned())
        }

        fn string(&mut self) -> Option<String> {
            let quote = self.text[self.at];
            self.at += 1;
            let mut out = Vec::new();
            while let Some(&c) = self.text.get(self.at) {
                self.at += 1;
                match c {
                    b'\\' => {
                        out.push(*self.text.get(self.at)?);
                        self.at += 1;
                    }
                    b'$' if quote == b'`' && self.text.get(self.at) == Some(&b'{') => return None,
                    c if c == quote => return Some(String::from_utf8_lossy(&out).into_owned()),
                    c => out.push(c),
                }
            }
            None
        }

        fn object(&mut self) -> Option<Value> {
            self.at += 1;
            let mut fields = Vec::new();
            loop {
                match self.peek()? {
                    b'}' => {
                        self.at += 1;
                        return Some(Value::Object(fields));
                    }
                    b'\'' | b'"' => {
                        let key = self.string()?;
                        fields.push((key, self.after_key()?));
                    }
                    _ => {
                        let key = self.word()?;
                        fields.push((key, self.after_key()?));
                    }
                }
                match self.peek()? {
                    b',' => self.at += 1,
                    b'}' => {}
                    _ => return None,
                }
            }
        }

        fn after_key(&mut self) -> Option<Value> {
            (self.peek()? == b':').then_some(())?;
            self.at += 1;
            self.value()
        }

        fn array(&mut self) -> Option<Value> {
            self.at += 1;
            let mut items = Vec::new();
            loop {
                if self.peek()? == b']' {
                    self.at += 1;
                    return Some(Value::Array(items));
                }
                items.push(self.value()?);
                match self.peek()? {
                    b',' => self.at += 1,
                    b']' => {}
                    _ => return None,
                }
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn data_reads_and_code_does_not() {
            let text = "import type {X} from 'y';\n// c\nconst sidebars: X = {\n  main: ['a', {type: 'doc', id: \"b\"}, /* x */ {type: 'category', label: `C`, items: [{type: 'autogenerated', dirName: 'how'}]},],\n};\nexport default sidebars;\n";
            let Some(Value::Object(fields)) = sidebars(text) else { panic!("not read") };
            assert_eq!(fields[0].0, "main");
            let Value::Array(items) = &fields[0].1 else { panic!() };
            assert_eq!(items.len(), 3);
            assert_eq!(items[0], Value::String("a".to_owned()));
            assert!(sidebars("module.exports = { main: require('./x') };").is_none());
            assert!(sidebars("module.exports = { main: [...other] };").is_none());
            assert!(sidebars("module.exports = { main: [`a${b}`] };").is_none());
            assert!(sidebars("module.exports = {").is_none());
            assert!(sidebars("").is_none());
            let deep = format!("module.exports = {{ a: {}'x'{} }};", "[".repeat(100_000), "]".repeat(100_000));
            assert!(sidebars(&deep).is_none(), "too deep to be a sidebar, and no stack overflow");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_prefixes_as_docusaurus_reads_them() {
        assert_eq!(number_prefix("10-deploy.mdx"), (Some(10), "deploy.mdx"));
        assert_eq!(number_prefix("01_intro"), (Some(1), "intro"));
        assert_eq!(number_prefix("2. Setup.md"), (Some(2), "Setup.md"));
        assert_eq!(number_prefix("404.md"), (None, "404.md"));
        assert_eq!(number_prefix("2024-notes"), (Some(2024), "notes"));
        assert_eq!(number_prefix("plain"), (None, "plain"));
    }

    #[test]
    fn nav_lists_pages_in_order_and_keeps_titles() {
        let yaml: Value = serde_yaml_ng::from_str(
            "nav:\n  - Welcome: index.md\n  - get-help.md\n  - Guides:\n      - 1. Install: a/install.md\n      - Site: https://x.org\n",
        )
        .unwrap();
        let mut pages = Vec::new();
        nav_pages(yaml.get("nav").unwrap().as_sequence().unwrap(), &mut pages);
        assert_eq!(
            pages,
            [
                ("index.md".to_owned(), Some("Welcome".to_owned())),
                ("get-help.md".to_owned(), None),
                ("a/install.md".to_owned(), Some("1. Install".to_owned())),
            ]
        );
        let mut titles = HashMap::new();
        let walked: Vec<String> = ["a/install.md", "index.md", "z.md"].map(str::to_owned).to_vec();
        assert_eq!(nav_order(&pages, &walked, &mut titles), ["index.md", "a/install.md", "z.md"]);
        assert_eq!(titles["index.md"], "Welcome");
    }

    #[test]
    fn inherit_merges_maps_and_replaces_the_rest() {
        let mut base: Value = serde_yaml_ng::from_str("a: {x: 1, y: 2}\nnav: [one.md]\n").unwrap();
        let over: Value = serde_yaml_ng::from_str("a: {y: 3}\nnav: [two.md]\n").unwrap();
        merge(&mut base, over);
        assert_eq!(base["a"]["x"].as_i64(), Some(1));
        assert_eq!(base["a"]["y"].as_i64(), Some(3));
        assert_eq!(base["nav"][0].as_str(), Some("two.md"));
    }
}
