//! `opsbook extract`: scripts that run the steps the docs show, and `--check` for drift.

use crate::common::{opsbook, repo, text};

#[test]
fn extracted_scripts_run_link_back_and_drift_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::copy(repo().join("book.toml"), root.join("book.toml")).unwrap();
    std::fs::create_dir(root.join("runbooks")).unwrap();
    std::fs::copy(repo().join("runbooks/local-demo.md"), root.join("runbooks/local-demo.md")).unwrap();
    let out = opsbook(&["extract", "runbooks/local-demo.md", "--out", "scripts"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let greet = std::fs::read_to_string(root.join("scripts/greet.sh")).unwrap();
    assert!(
        greet.starts_with("#!/usr/bin/env bash\n# Extracted by `opsbook extract` from runbooks/local-demo.md:"),
        "{greet}"
    );
    let line: u32 =
        greet.lines().nth(1).unwrap().split(".md:").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    let source = std::fs::read_to_string(root.join("runbooks/local-demo.md")).unwrap();
    assert_eq!(
        source.lines().nth(line as usize - 1),
        Some("```bash {name=greet}"),
        "the header points at the step's fence"
    );

    // The script takes its input from the environment, as `opsbook run` does, and refuses to
    // run without it.
    let run = |env: &[(&str, &str)]| {
        let mut command = std::process::Command::new("bash");
        command.arg(root.join("scripts/greet.sh")).current_dir(root).env_remove("OPSBOOK_INPUT_RESPONDER");
        for (k, v) in env {
            command.env(k, v);
        }
        command.output().unwrap()
    };
    let ran = run(&[("OPSBOOK_INPUT_RESPONDER", "Ann $(touch pwned)")]);
    assert_eq!(text(&ran.stdout), "Hello, Ann $(touch pwned). The incident console is yours.\n");
    assert!(!root.join("pwned").exists());
    let refused = run(&[]);
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("set OPSBOOK_INPUT_RESPONDER (<responder>)"), "{}", text(&refused.stderr));

    let check = || opsbook(&["extract", "runbooks/local-demo.md", "--out", "scripts", "--check"], root);
    assert_eq!(check().status.code(), Some(0), "{}", text(&check().stderr));
    // An edited script is caught, by name.
    std::fs::write(root.join("scripts/inspect.sh"), "#!/usr/bin/env bash\nrm -rf /\n").unwrap();
    let edited = check();
    assert_eq!(edited.status.code(), Some(1));
    assert!(
        text(&edited.stderr).contains("scripts/inspect.sh: differs from the runbook runbooks/local-demo.md"),
        "{}",
        text(&edited.stderr)
    );
    // So is a changed runbook, a removed script, and a step that went away.
    assert!(opsbook(&["extract", "runbooks/local-demo.md", "--out", "scripts"], root).status.success());
    std::fs::remove_file(root.join("scripts/uptime.sh")).ok();
    let changed = source
        .replace("uptime\n", "uptime -p\n")
        .replace("```bash {name=clean-up confirm}", "```bash {name=tidy confirm}");
    std::fs::write(root.join("runbooks/local-demo.md"), changed).unwrap();
    let drifted = check();
    assert_eq!(drifted.status.code(), Some(1));
    let report = text(&drifted.stderr);
    assert!(report.contains("scripts/inspect.sh: differs from"), "{report}");
    assert!(report.contains("scripts/tidy.sh: is missing for"), "{report}");
    assert!(report.contains("scripts/clean-up.sh: no step of runbooks/local-demo.md gives it any more"), "{report}");
    // One step, and an unknown one.
    assert!(opsbook(&["extract", "runbooks/local-demo.md", "--step", "greet", "--out", "one"], root).status.success());
    assert_eq!(std::fs::read_dir(root.join("one")).unwrap().count(), 1);
    let unknown = opsbook(&["extract", "runbooks/local-demo.md", "--step", "nope", "--out", "one"], root);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown.stderr).contains("no step `nope`"));
}

#[test]
fn an_extracted_script_refuses_what_bash_would_evaluate_as_code() {
    let dir = crate::common::fixture_book(
        "count.md",
        "# Count\n\n```bash {name=count}\necho \"next: $(( <n> + 1 ))\"\n```\n\n```bash {name=indirect}\necho \"${!TARGET}\"\n```\n",
    );
    let root = dir.path();
    let out = opsbook(&["extract", "runbooks/count.md", "--out", "scripts"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let run = |script: &str, env: (&str, &str)| {
        std::process::Command::new("bash").arg(root.join(script)).current_dir(root).env(env.0, env.1).output().unwrap()
    };
    let ran = run("scripts/count.sh", ("OPSBOOK_INPUT_N", "41"));
    assert_eq!(text(&ran.stdout), "next: 42\n");
    let refused = run("scripts/count.sh", ("OPSBOOK_INPUT_N", "a[$(touch pwned)]"));
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(text(&refused.stderr), "OPSBOOK_INPUT_N must be a plain integer: bash evaluates it\n");
    let refused = run("scripts/indirect.sh", ("TARGET", "a[$(touch pwned)]"));
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(text(&refused.stderr), "TARGET must be a plain variable name: bash evaluates it\n");
    assert!(!root.join("pwned").exists());
}
