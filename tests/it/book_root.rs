//! Nothing outside the book is read, copied or served (links resolved), unless `[opsbook]
//! allow-outside` names it; hidden files stay out of the site; `.opsbook/` is private; the
//! exported-variables files of a killed `opsbook run` are swept at the next start.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::text;

const PAGE: &str = "# Real\n\n```bash {name=hello}\necho hello-from-real\n```\n";

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// `opsbook ARGS` in `cwd` with extra environment.
fn opsbook_env(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_opsbook"))
        .args(args)
        .current_dir(cwd)
        .envs(env.iter().copied())
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// Every file below `dir` (links not followed) with its bytes.
fn site_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().to_owned(), std::fs::read(e.path()).unwrap()))
        .collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

/// A book at `<tmp>/book` (`src = "runbooks"`), with a folder `<tmp>/outside` beside it.
fn book_with_outside() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let book = tmp.path().join("book");
    let outside = tmp.path().join("outside");
    write(&book.join("book.toml"), "[book]\ntitle = \"Bounds\"\nsrc = \"runbooks\"\n");
    write(&book.join("runbooks/real.md"), PAGE);
    write(&outside.join("outside.md"), "# Outside\n\nOUTSIDE-PAGE-SECRET\n");
    write(&outside.join("secret.css"), "/* OUTSIDE-THEME-SECRET */\n");
    (tmp, book, outside)
}

#[test]
fn links_out_of_the_book_are_skipped_named_and_never_copied() {
    let (_tmp, book, outside) = book_with_outside();
    let runbooks = book.join("runbooks");
    symlink("/proc/self/environ", runbooks.join("env.txt")).unwrap();
    symlink("/etc", runbooks.join("etc")).unwrap();
    symlink(outside.join("outside.md"), runbooks.join("page.md")).unwrap();
    symlink("real.md", runbooks.join("inside.md")).unwrap();
    write(&runbooks.join("img/logo.svg"), "<svg>INSIDE-IMAGE</svg>");
    write(&runbooks.join(".env"), "DOTENV-SECRET=1\n");
    write(&runbooks.join(".git/config"), "[core]\nGITCONFIG-SECRET\n");
    write(&runbooks.join("..x.md"), "# Hidden\n");
    // The theme folder: one file links out, one is the book's own.
    write(&book.join("theme/opsbook.js"), "// INSIDE-THEME-JS\n");
    symlink(outside.join("secret.css"), book.join("theme/opsbook.css")).unwrap();

    let canary = format!("ENV-CANARY-{}", std::process::id());
    let output = opsbook_env(&["build", "-d", "site"], &book, &[("OPSBOOK_TEST_CANARY", &canary)]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");

    let site = book.join("site");
    let files = site_files(&site);
    let names: Vec<String> =
        files.iter().map(|(p, _)| p.strip_prefix(&site).unwrap().to_string_lossy().into_owned()).collect();
    for wanted in ["real.html", "inside.html", "img/logo.svg", "assets/opsbook.js", "assets/opsbook.css"] {
        assert!(names.iter().any(|n| n == wanted), "{wanted} missing from {names:?}");
    }
    for name in &names {
        assert!(!name.starts_with("etc/") && !name.contains("passwd"), "copied from /etc: {name}");
        assert!(!name.contains("env.txt") && !name.contains("page.html"), "copied an outside link: {name}");
        assert!(!name.split('/').any(|part| part.starts_with('.')), "copied a hidden file: {name}");
    }
    for (path, bytes) in &files {
        for secret in
            [canary.as_str(), "OUTSIDE-PAGE-SECRET", "OUTSIDE-THEME-SECRET", "DOTENV-SECRET", "GITCONFIG-SECRET"]
        {
            assert!(!contains(bytes, secret), "{secret} found in {}", path.display());
        }
        assert!(!contains(bytes, "root:x:0:0"), "/etc/passwd found in {}", path.display());
    }
    assert!(contains(&std::fs::read(site.join("inside.html")).unwrap(), "hello-from-real"));
    assert!(contains(&std::fs::read(site.join("assets/opsbook.js")).unwrap(), "INSIDE-THEME-JS"));

    // Each link out is named, with where it points.
    let outside_md = outside.join("outside.md");
    let outside_css = outside.join("secret.css");
    for (link, target) in [
        ("runbooks/env.txt".to_owned(), "/proc/self/environ".to_owned()),
        ("runbooks/etc".to_owned(), "/etc".to_owned()),
        ("runbooks/page.md".to_owned(), outside_md.display().to_string()),
        ("theme/opsbook.css".to_owned(), outside_css.display().to_string()),
    ] {
        let expected = format!("`{link}` points to `{target}`, outside the book; skipped");
        assert!(stderr.contains(&expected), "no `{expected}` in:\n{stderr}");
    }
    assert!(stderr.contains("allow-outside"), "{stderr}");
    assert!(
        stderr.contains("`runbooks/..x.md` is skipped: its name starts with `.`, and hidden files are not runbooks"),
        "{stderr}"
    );
    assert!(!stderr.contains("runbooks/inside.md`"), "an inside link was reported:\n{stderr}");
    assert!(!stderr.contains("runbooks/.env"), "hidden non-Markdown files are skipped quietly:\n{stderr}");
}

#[test]
fn summary_entries_leaving_the_book_are_skipped() {
    let (_tmp, book, outside) = book_with_outside();
    let runbooks = book.join("runbooks");
    symlink(outside.join("outside.md"), runbooks.join("page.md")).unwrap();
    write(&book.join("notes.md"), "# Notes\n\nBOOK-ROOT-NOTES\n");
    write(
        &runbooks.join("SUMMARY.md"),
        "# Summary\n\n- [Real](real.md)\n- [Page](page.md)\n- [Up](../notes.md)\n- [Abs](/etc/passwd.md)\n",
    );
    let output = opsbook_env(&["build", "-d", "site"], &book, &[]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let names: Vec<String> =
        site_files(&book.join("site")).into_iter().map(|(p, _)| p.to_string_lossy().into_owned()).collect();
    assert!(names.iter().any(|n| n.ends_with("site/real.html")), "{names:?}");
    assert!(!names.iter().any(|n| n.ends_with("page.html") || n.ends_with("notes.html")), "{names:?}");
    assert!(!book.join("notes.html").exists(), "a page was written outside the site");
    let outside_md = outside.join("outside.md").display().to_string();
    assert!(
        stderr.contains(&format!("`runbooks/page.md` points to `{outside_md}`, outside the book; skipped")),
        "{stderr}"
    );
    assert!(
        stderr.contains("`SUMMARY.md` lists `../notes.md`, which is not inside the runbook folder; skipped"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`SUMMARY.md` lists `/etc/passwd.md`, which is not inside the runbook folder; skipped"),
        "{stderr}"
    );
}

#[test]
fn allow_outside_lets_a_named_path_in() {
    let tmp = tempfile::tempdir().unwrap();
    let book = tmp.path().join("book");
    write(
        &book.join("book.toml"),
        "[book]\nsrc = \"runbooks\"\n\n[opsbook]\nallow-outside = [\"../shared-snippets\"]\n",
    );
    write(&book.join("runbooks/real.md"), PAGE);
    write(&tmp.path().join("shared-snippets/snippet.md"), "# Snippet\n\nSHARED-SNIPPET-TEXT\n");
    write(&tmp.path().join("shared-snippets/diagram.svg"), "<svg>SHARED-DIAGRAM</svg>");
    write(&tmp.path().join("elsewhere/other.md"), "# Other\n\nNOT-ALLOWED-TEXT\n");
    symlink(tmp.path().join("shared-snippets/snippet.md"), book.join("runbooks/snippet.md")).unwrap();
    symlink(tmp.path().join("shared-snippets"), book.join("runbooks/shared")).unwrap();
    symlink(tmp.path().join("elsewhere/other.md"), book.join("runbooks/other.md")).unwrap();

    let output = opsbook_env(&["build", "-d", "site"], &book, &[]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let site = book.join("site");
    assert!(contains(&std::fs::read(site.join("snippet.html")).unwrap(), "SHARED-SNIPPET-TEXT"));
    assert_eq!(std::fs::read_to_string(site.join("shared/diagram.svg")).unwrap(), "<svg>SHARED-DIAGRAM</svg>");
    assert!(!site.join("other.html").exists());
    let other = tmp.path().join("elsewhere/other.md").display().to_string();
    assert!(
        stderr.contains(&format!("`runbooks/other.md` points to `{other}`, outside the book; skipped")),
        "{stderr}"
    );
    assert!(!stderr.contains("snippet.md`"), "an allowed link was reported:\n{stderr}");
}

#[test]
fn opsbook_folder_is_private_whatever_the_umask() {
    let (_tmp, book, _) = book_with_outside();
    // An existing, looser `.opsbook` is tightened.
    std::fs::create_dir(book.join(".opsbook")).unwrap();
    std::fs::set_permissions(book.join(".opsbook"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let output = Command::new("sh")
        .args(["-c", "umask 000 && exec \"$0\" run runbooks/real.md hello", env!("CARGO_BIN_EXE_opsbook")])
        .current_dir(&book)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "hello-from-real\n");
    let private = book.join(".opsbook");
    assert_eq!(mode(&private), 0o700);
    assert_eq!(mode(&private.join("opsbook.db")), 0o600);
    for extra in ["opsbook.db-wal", "opsbook.db-shm"] {
        if private.join(extra).exists() {
            assert_eq!(mode(&private.join(extra)), 0o600, "{extra}");
        }
    }
    let logs: Vec<PathBuf> = site_files(&private.join("runs")).into_iter().map(|(p, _)| p).collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(mode(&logs[0]), 0o600, "{}", logs[0].display());

    // The build's caches live there too.
    let output = Command::new("sh")
        .args(["-c", "umask 000 && exec \"$0\" build -d site", env!("CARGO_BIN_EXE_opsbook")])
        .current_dir(&book)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(mode(&private.join("cache")), 0o700);
    for file in ["highlight.json", "site.json"] {
        assert_eq!(mode(&private.join("cache").join(file)), 0o600, "{file}");
    }
}

/// The exported-variables files in the private temp folder under `tmpdir`, by name.
fn env_files(tmpdir: &Path) -> Vec<String> {
    let uid = std::fs::metadata("/proc/self").unwrap();
    let folder = tmpdir.join(format!("opsbook-{}", std::os::unix::fs::MetadataExt::uid(&uid)));
    std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("env-"))
        .collect()
}

#[test]
fn exported_variables_files_of_a_killed_run_are_swept_at_the_next_start() {
    use std::io::BufRead;
    let (tmp, book, _) = book_with_outside();
    write(&book.join("runbooks/slow.md"), "# Slow\n\n```bash {name=slow}\necho started\nsleep 30\n```\n");
    let tmpdir = tmp.path().join("tmp");
    std::fs::create_dir(&tmpdir).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_opsbook"))
        .args(["run", "runbooks/slow.md", "slow"])
        .current_dir(&book)
        .env("TMPDIR", &tmpdir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let killed_pid = child.id();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let session = lines
        .find_map(|line| line.unwrap().strip_prefix("recording in new session ").map(str::to_owned))
        .expect("the run names its session");
    let deadline = Instant::now() + Duration::from_secs(20);
    while env_files(&tmpdir).len() < 2 {
        assert!(Instant::now() < deadline, "the step never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Its exported-variables file and its `$OPSBOOK_OUTPUT` file.
    let leftover = env_files(&tmpdir);
    assert_eq!(leftover.len(), 2, "{leftover:?}");
    assert!(leftover.iter().all(|name| name.starts_with(&format!("env-{killed_pid}-"))), "{leftover:?}");
    child.kill().unwrap();
    child.wait().unwrap();
    // The orphaned step is ours to stop: its shell leads its own process group.
    let show = opsbook_env(&["session", "show", &session, "--json"], &book, &[]);
    let json: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    let started = json["events"].as_array().unwrap().iter().find(|e| e["type"] == "run-started").unwrap();
    let pid = started["details"]["pid"].as_i64().unwrap() as i32;
    let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);

    let output = opsbook_env(&["run", "runbooks/real.md", "hello"], &book, &[("TMPDIR", tmpdir.to_str().unwrap())]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "hello-from-real\n");
    // The dead run's file is gone; the new run removed its own.
    assert_eq!(env_files(&tmpdir), Vec::<String>::new());
}
