//! The command line: outputs, exit codes (0 ok, 1 failed, 2 usage or input) and messages.

use std::path::Path;

use crate::common::*;

fn book(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, bytes) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    dir
}

fn run(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let output = opsbook(args, cwd);
    (output.status.code().unwrap(), text(&output.stdout), text(&output.stderr))
}

#[test]
fn invalid_book_toml_is_exit_2_with_position_and_key() {
    let dir = book(&[("book.toml", b"[book]\ntitle = \"x\"\n[opsbook]\ntimeout = \"soon\"\n"), ("src/a.md", b"# A\n")]);
    let (code, stdout, stderr) = run(&["list"], dir.path());
    assert_eq!(code, 2);
    assert_eq!(stdout, "");
    assert!(stderr.contains("book.toml:4:11: invalid `opsbook.timeout`"), "{stderr}");
    assert!(stderr.contains("invalid duration `soon`"), "{stderr}");
}

#[test]
fn unknown_key_in_opsbook_table() {
    let dir = book(&[("book.toml", b"[opsbook]\nshel = \"zsh\"\n")]);
    let (code, _, stderr) = run(&["list"], dir.path());
    assert_eq!(code, 2);
    assert!(stderr.contains("book.toml:2:1: invalid `opsbook.shel`: unknown field `shel`"), "{stderr}");
}

#[test]
fn non_utf8_runbook_is_reported_and_the_others_listed() {
    let dir = book(&[("a.md", b"# A\n\n```bash\nuptime\n```\n"), ("b.md", b"# B\ncaf\xe9\n")]);
    let (code, stdout, stderr) = run(&["list"], dir.path());
    assert_eq!(code, 2);
    assert!(stdout.contains("a.md  A  (1 step)"), "{stdout}");
    assert!(!stdout.contains("b.md"));
    assert!(stderr.contains("b.md:2:4"), "{stderr}");
    assert!(stderr.contains("is not valid UTF-8"), "{stderr}");
    assert!(stderr.contains("save the file as UTF-8"), "{stderr}");
}

#[test]
fn missing_path_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(&["list", "no/such/book"], dir.path());
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert_eq!(
        stderr,
        "error: `no/such/book` does not exist; give a book folder (with or without `book.toml`) or a runbook `.md` file\n"
    );
}

#[test]
fn unterminated_fence_warns_with_file_and_line_and_succeeds() {
    let dir = book(&[("db.md", b"# DB\n\n## Check\n\n```bash\npg_isready\n\n## Fix\n\nRestart it.\n")]);
    let (code, stdout, stderr) = run(&["list", "db.md"], dir.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("warning: code fence is never closed [unterminated-fence]"), "{stderr}");
    assert!(stderr.contains("--> db.md:5:1"), "{stderr}");
    assert!(stderr.contains("5 | ```bash"), "{stderr}");
    assert!(stdout.contains("check  read-only"), "{stdout}");
}

#[test]
fn usage_error_is_exit_2() {
    let (code, _, stderr) = run(&["list", "--bogus"], &repo());
    assert_eq!(code, 2);
    assert!(stderr.contains("--bogus"), "{stderr}");
    let (code, _, _) = run(&["--help"], &repo());
    assert_eq!(code, 0);
}

#[test]
fn show_prints_a_step() {
    let (code, stdout, stderr) = run(&["show", "incident-response", "database-connections-exhausted"], &repo());
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!("show_database_step", stdout);
    let (code, stdout, _) = run(&["show", "runbooks/local-demo.md", "inspect.2"], &repo());
    assert_eq!(code, 0);
    assert!(stdout.contains("inspect.2 How the machine is doing  [read-only]"), "{stdout}");
    assert!(!stdout.contains("inspect.1 "), "{stdout}");
}

#[test]
fn show_unknown_step_or_runbook_is_exit_2() {
    let (code, _, stderr) = run(&["show", "local-demo", "nope"], &repo());
    assert_eq!(code, 2);
    assert!(stderr.contains("no step `nope` in `local-demo.md`; its steps are: prepare, greet"), "{stderr}");
    let (code, _, stderr) = run(&["show", "missing-runbook", "x"], &repo());
    assert_eq!(code, 2);
    assert!(stderr.contains("no runbook `missing-runbook`"), "{stderr}");
}

/// `run --dry-run STEP.N` with an input missing showed every command of the step.
#[test]
fn a_dry_run_of_one_command_with_an_input_missing_shows_that_command_only() {
    let dir =
        fixture_book("pods.md", "# Pods\n\n```bash {name=pods}\nkubectl get pods\nkubectl describe pod <pod>\n```\n");
    let (code, _, stderr) = run(&["run", "--dry-run", "pods", "pods.2"], dir.path());
    assert_eq!(code, 0, "{stderr}");
    let shown: Vec<&str> = stderr.lines().filter(|l| l.starts_with("  $ ")).collect();
    assert_eq!(shown, ["  $ kubectl describe pod <pod>"], "{stderr}");
    assert!(stderr.contains("dry run: not run; needs `pod`"), "{stderr}");
}

#[test]
fn json_list_of_the_repo_book() {
    let (code, stdout, _) = run(&["list", "--json"], &repo());
    assert_eq!(code, 0);
    let value: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let demo = &value[1];
    assert_eq!(demo["path"], "local-demo.md");
    assert_eq!(demo["severity"], "SEV4");
    let greet = &demo["steps"][1];
    assert_eq!(greet["id"], "greet");
    assert_eq!(greet["placeholders"], serde_json::json!(["responder"]));
    let write = &demo["steps"][2];
    assert_eq!((write["risk"].as_str(), write["confirm"].as_bool()), (Some("mutating"), Some(true)));
    let inspect = &demo["steps"][3];
    assert_eq!(inspect["inputs"][0]["set_by"], "prepare", "DEMO_DIR comes from the prepare step");
    let rollback = &value[0]["steps"][4];
    assert_eq!(rollback["id"], "rollback-app");
    assert_eq!(
        rollback["commands"][2]["risk_reason"], "`shipit` changes what is deployed",
        "book.toml risk rules apply"
    );
}

#[test]
fn no_colour_without_a_terminal() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_opsbook"))
        .args(["list"])
        .current_dir(repo())
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(!output.stdout.contains(&0x1b), "no escape codes into a pipe");
    let forced = opsbook(&["--color", "always", "list"], &repo());
    assert!(forced.stdout.contains(&0x1b), "--color always forces them");
}

/// `run/show --book B FILE` ran B's only runbook whatever FILE was, and a runbook beside
/// book.toml (outside `src`) was shown at a path below `src`.
#[test]
fn a_file_outside_the_book_is_not_its_only_runbook() {
    let step = |says: &str| format!("# Only\n\n## Hello\n\n```sh\necho {says}\n```\n");
    let dir = book(&[
        ("one/book.toml", b"[book]\ntitle = \"One\"\nsrc = \"runbooks\"\n"),
        ("one/runbooks/only.md", step("from-only").as_bytes()),
        ("one/draft.md", step("from-draft").as_bytes()),
        ("other/else.md", step("from-else").as_bytes()),
        ("notes.txt", b"not a runbook\n"),
    ]);
    let root = dir.path();
    for file in ["other/else.md", "notes.txt", "one/draft.md"] {
        let (code, stdout, stderr) = run(&["run", "--book", "one", file, "hello", "--yes"], root);
        assert_eq!(code, 2, "{file}: {stdout}{stderr}");
        assert!(!stdout.contains("from-only") && !stderr.contains("from-only"), "{file}: {stdout}{stderr}");
        assert!(stderr.contains(&format!("`{file}` is not a runbook of the book at `one`")), "{stderr}");
        let (code, _, stderr) = run(&["show", "--book", "one", file, "hello"], root);
        assert_eq!(code, 2, "{file}: {stderr}");
    }
    // The book's own runbook, by its file or by its name.
    for wanted in ["one/runbooks/only.md", "./one/runbooks/only.md", "only"] {
        let (code, stdout, stderr) = run(&["show", "--book", "one", wanted, "hello"], root);
        assert_eq!(code, 0, "{wanted}: {stderr}");
        assert!(stdout.contains("echo from-only"), "{wanted}: {stdout}");
    }
    // A file on its own is its own runbook, shown where it is.
    let (code, stdout, stderr) = run(&["show", "draft.md", "hello"], &root.join("one"));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("echo from-draft"), "{stdout}");
    assert!(stdout.contains("at       draft.md:5:1"), "{stdout}");
    let (code, stdout, stderr) = run(&["show", "other/else.md", "hello"], root);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("at       other/else.md:5:1"), "{stdout}");
    let (code, stdout, _) = run(&["show", "one/runbooks/only.md", "hello"], root);
    assert_eq!(code, 0);
    assert!(stdout.contains("at       one/runbooks/only.md:5:1"), "{stdout}");
}
