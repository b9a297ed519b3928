//! `opsbook check`: each rule trips on a fixture and stays quiet on its fixed twin; formats,
//! exit codes, rules turned off, and the public corpus.

use std::collections::BTreeMap;

use opsbook::check::{Options, check_book};
use opsbook::diagnostic::Level;

use crate::common::{fixture_book, opsbook, text};

/// The `(rule, line)` pairs `check` reports for one runbook (without shellcheck).
fn findings(markdown: &str) -> Vec<(&'static str, u32)> {
    let dir = fixture_book("t.md", markdown);
    let book = opsbook::load::load_book(dir.path()).unwrap();
    check_book(&book, &Options::default()).into_iter().map(|d| (d.rule, d.line)).collect()
}

fn rules(markdown: &str) -> Vec<&'static str> {
    findings(markdown).into_iter().map(|(rule, _)| rule).collect()
}

#[test]
fn bash_syntax_is_an_error_at_the_runbook_line() {
    let broken = "# T\n\n## Fine\n\n```bash\necho fine\n```\n\n## Broken\n\nText.\n\n```bash\necho start\nif true; then\n  echo never closed\n```\n";
    let dir = fixture_book("t.md", broken);
    let book = opsbook::load::load_book(dir.path()).unwrap();
    let found = check_book(&book, &Options::default());
    let syntax: Vec<_> = found.iter().filter(|d| d.rule == "bash-syntax").collect();
    assert_eq!(syntax.len(), 1, "{found:?}");
    assert_eq!(syntax[0].level, Level::Error);
    assert_eq!(syntax[0].line, 16, "the last line of the broken step");
    assert!(syntax[0].message.contains("unexpected end of file"), "{}", syntax[0].message);
    assert!(syntax[0].message.contains("(step `broken`)"));
    let fixed = broken.replace("  echo never closed\n", "  echo never closed\nfi\n");
    assert!(!rules(&fixed).contains(&"bash-syntax"));
    // Placeholders are words to bash, not redirections.
    assert!(!rules("# T\n\n```bash\nkubectl logs <pod-name> -n prod\n```\n").contains(&"bash-syntax"));
}

#[test]
fn a_runbook_edited_or_removed_after_loading_is_checked_as_parsed() {
    let broken = "# T\n\n```bash {name=broken}\nif true; then\n  echo never closed\n```\n";
    let dir = fixture_book("t.md", broken);
    let book = opsbook::load::load_book(dir.path()).unwrap();
    let file = dir.path().join("runbooks/t.md");
    let syntax = |book: &opsbook::model::Book| {
        let found = check_book(book, &Options::default());
        found.into_iter().filter(|d| d.rule == "bash-syntax").map(|d| (d.line, d.source_line)).collect::<Vec<_>>()
    };
    // Lines added above the step since the parse: the finding still shows the parsed line.
    std::fs::write(&file, format!("# T\n\nNew.\nProse.\n{}", &broken[4..])).unwrap();
    assert_eq!(syntax(&book), [(5, Some("  echo never closed".to_owned()))]);
    // The file went away: the runbook is still checked (it was skipped without a word).
    std::fs::remove_file(&file).unwrap();
    assert_eq!(syntax(&book), [(5, Some("  echo never closed".to_owned()))]);
}

#[test]
fn each_rule_trips_on_its_fixture_and_not_on_the_fixed_one() {
    let cases: &[(&str, &str, &str)] = &[
        ("broken-link", "# T\n\n[runbook](missing.md) and [anchor](#nowhere)\n", "# T\n\n## Here\n\n[anchor](#here)\n"),
        (
            "duplicate-step-id",
            "# T\n\n```bash {name=a}\necho 1\n```\n\n```bash {name=a}\necho 2\n```\n",
            "# T\n\n```bash {name=a}\necho 1\n```\n\n```bash {name=b}\necho 2\n```\n",
        ),
        (
            "unknown-attribute",
            "# T\n\n```bash {name=a colour=red}\necho 1\n```\n",
            "# T\n\n```bash {name=a}\necho 1\n```\n",
        ),
        ("front-matter", "---\ntitle: [unclosed\n---\n# T\n", "---\ntitle: Fine\n---\n# T\n"),
        ("unterminated-fence", "# T\n\n```bash\necho 1\n", "# T\n\n```bash\necho 1\n```\n"),
        (
            "placeholder-undocumented",
            "# T\n\n```bash\nkubectl logs <pod-name>\n```\n",
            "# T\n\n`<pod-name>` is the failing pod.\n\n```bash\nkubectl logs <pod-name>\n```\n",
        ),
        (
            "unconfirmed-risk",
            "# T\n\n```bash\nkubectl delete pod api-1\n```\n",
            "# T\n\n```bash {confirm}\nkubectl delete pod api-1\n```\n",
        ),
        (
            "shell-tag-not-shell",
            "# T\n\n```sh\nsum(rate(http_requests_total{code=~\"5..\"}[5m]))\n```\n",
            "# T\n\n```promql\nsum(rate(http_requests_total{code=~\"5..\"}[5m]))\n```\n",
        ),
        (
            "not-a-command",
            "# T\n\n```bash\n/incident create \"Checkout down\"\n```\n",
            "# T\n\nIn Slack: `/incident create \"Checkout down\"`.\n",
        ),
        (
            "ambiguous-console",
            "# T\n\n```console\nuptime\n```\n",
            "# T\n\n```console\n$ uptime\n 10:00 up 3 days\n```\n",
        ),
        ("not-a-step", "# T\n\n```text {name=x}\nnot shell\n```\n", "# T\n\n```text\nnot shell\n```\n"),
    ];
    for (rule, trips, passes) in cases {
        let tripped = rules(trips);
        assert!(tripped.contains(rule), "`{rule}` did not trip on:\n{trips}\nfound {tripped:?}");
        let quiet = rules(passes);
        assert!(!quiet.contains(rule), "`{rule}` tripped on the fixed fixture:\n{passes}\nfound {quiet:?}");
    }
}

#[test]
fn a_placeholder_an_earlier_step_exports_or_outputs_needs_no_prose() {
    let runbook = "# T\n\n```bash {name=early}\necho \"lag <lag>\"\n```\n\n\
                   ```bash {name=find}\necho \"lag=3\" >> \"$OPSBOOK_OUTPUT\"\nexport LEADER=db-1\n```\n\n\
                   ```bash {name=use}\necho \"<lag> $LEADER <replica>\"\n```\n";
    // `lag` in `use` comes from `find`'s outputs and `LEADER` from its exports; `lag` in
    // `early` (before `find`) and `replica` (from nowhere) are for the prose to explain.
    assert_eq!(
        findings(runbook).into_iter().filter(|(rule, _)| *rule == "placeholder-undocumented").collect::<Vec<_>>(),
        [("placeholder-undocumented", 4), ("placeholder-undocumented", 13)]
    );
}

#[test]
fn shell_tag_not_shell_reads_the_fence_as_the_parser_does() {
    let block = |info: &str| format!("# T\n\n```{info}\nsum(rate(http_requests_total{{code=~\"5..\"}}[5m]))\n```\n");
    // Every tag the parser takes as shell, in any case and in pandoc's form: PromQL under it is
    // named. (`check` knew 7 of the parser's 14 tags, and no pandoc class.)
    for info in ["sh", "zsh", "console", "fish", "ksh", "terminal", "sh-session", "bash-session", "shellscript"]
        .into_iter()
        .chain(["shell-script", "Shell-Session", "{.bash}", "sh {timeout=5s}"])
    {
        assert_eq!(findings(&block(info)), [("shell-tag-not-shell", 3)], "```{info}");
    }
    // Marked not to run, in each of the parser's spellings: nothing to say. (`norun`, `noexec`
    // and `no_run` were named, though the parser takes them as `ignore`.)
    for info in ["sh,ignore", "sh,norun", "sh noexec", "sh,no_run", "sh {no-run}", "sh {skip=true}"] {
        assert_eq!(findings(&block(info)), [], "```{info}");
    }
    // `ignore` as a value, or turned off, is not the flag (it was taken for one).
    assert_eq!(findings(&block("sh {ignore=false}")), [("shell-tag-not-shell", 3)]);
    assert_eq!(findings(&block("sh {cwd=ignore}")), [("shell-tag-not-shell", 3)]);
    // Other languages and untagged blocks are the parser's to decide, never this rule's.
    assert_eq!(findings(&block("promql")), []);
    assert_eq!(findings(&block("")), []);
}

/// shellcheck, when installed (CI installs it; elsewhere a skip).
fn shellcheck() -> Option<std::path::PathBuf> {
    Options::detect().shellcheck.or_else(|| crate::common::skip("shellcheck (Debian: apt-get install shellcheck)"))
}

#[test]
fn shellcheck_findings_map_to_the_runbook_line_and_column() {
    let Some(shellcheck) = shellcheck() else { return };
    let options = Options { shellcheck: Some(shellcheck) };
    let trips = "# T\n\n## Clean up\n\nThe `FILE` to remove.\n\n```bash {confirm}\n# Remove it\nrm $FILE\n```\n";
    let dir = fixture_book("t.md", trips);
    let book = opsbook::load::load_book(dir.path()).unwrap();
    let found: Vec<_> = check_book(&book, &options).into_iter().filter(|d| d.rule == "shellcheck").collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].message.starts_with("SC2086:"), "{}", found[0].message);
    assert_eq!((found[0].line, found[0].col), (9, 4), "at `$FILE` on the runbook's line");
    let fixed = fixture_book("t.md", &trips.replace("rm $FILE", "rm \"$FILE\""));
    let book = opsbook::load::load_book(fixed.path()).unwrap();
    assert!(check_book(&book, &options).iter().all(|d| d.rule != "shellcheck"));
}

const MIXED: &str =
    "# Mixed\n\n```bash\nif true; then\n```\n\n```bash\nkubectl delete pod api-1\n```\n\n[gone](gone.md)\n";

#[test]
fn formats_exit_codes_and_rules_turned_off() {
    let dir = fixture_book("mixed.md", MIXED);
    let root = dir.path();
    let human = opsbook(&["check", "--no-shellcheck"], root);
    assert_eq!(human.status.code(), Some(1), "an error-level finding fails");
    assert!(
        text(&human.stdout).contains("error: bash: syntax error: unexpected end of file (step `mixed`) [bash-syntax]")
    );
    assert!(text(&human.stdout).contains("--> runbooks/mixed.md:4:1"), "{}", text(&human.stdout));
    assert!(text(&human.stderr).contains("1 runbook(s) checked: 1 error(s), 2 warning(s)"), "{}", text(&human.stderr));

    let github = opsbook(&["check", "--no-shellcheck", "--format", "github"], root);
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex::escape(&root.display().to_string()), "[book]");
    settings.bind(|| insta::assert_snapshot!("check_github", text(&github.stdout)));

    let json = opsbook(&["check", "--no-shellcheck", "--format", "json"], root);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["version"], 1);
    assert_eq!(value["summary"]["errors"], 1);
    let first = &value["diagnostics"][0];
    let keys: Vec<&str> = first.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["col", "file", "help", "level", "line", "message", "rule"]);
    assert_eq!((first["rule"].as_str(), first["line"].as_u64()), (Some("bash-syntax"), Some(4)));

    // Fixed the error: warnings alone pass, unless --strict.
    std::fs::write(root.join("runbooks/mixed.md"), MIXED.replace("if true; then\n", "if true; then echo; fi\n"))
        .unwrap();
    assert_eq!(opsbook(&["check", "--no-shellcheck"], root).status.code(), Some(0));
    assert_eq!(opsbook(&["check", "--no-shellcheck", "--strict"], root).status.code(), Some(1));
    // Rules off per book, and per runbook in front matter.
    let config = "[book]\nsrc = \"runbooks\"\n[opsbook.check]\ndisable = [\"broken-link\"]\n";
    std::fs::write(root.join("book.toml"), config).unwrap();
    let front =
        format!("---\ncheck:\n  disable: [unconfirmed-risk]\n---\n{}", MIXED.replace("if true; then\n", "true\n"));
    std::fs::write(root.join("runbooks/mixed.md"), front).unwrap();
    let clean = opsbook(&["check", "--no-shellcheck", "--strict"], root);
    assert_eq!(clean.status.code(), Some(0), "{}{}", text(&clean.stdout), text(&clean.stderr));
    // A rule name that does not exist is a usage error.
    std::fs::write(root.join("book.toml"), config.replace("broken-link", "brokn-link")).unwrap();
    let typo = opsbook(&["check"], root);
    assert_eq!(typo.status.code(), Some(2));
    assert!(text(&typo.stderr).contains("unknown rule(s) `brokn-link`"), "{}", text(&typo.stderr));
    assert_eq!(opsbook(&["check", "no/such/book"], root).status.code(), Some(2));
}

#[test]
fn the_public_corpus_checks_without_panic_and_its_findings_per_rule() {
    let Some(root) = crate::common::shared_path("corpus/public") else { return };
    let book = opsbook::load::open(Some(&root)).unwrap();
    let found = check_book(&book, &Options::default());
    let mut per_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for diagnostic in &found {
        *per_rule.entry(diagnostic.rule).or_default() += 1;
    }
    let lines: Vec<String> = per_rule.iter().map(|(rule, n)| format!("{rule}: {n}")).collect();
    insta::assert_snapshot!("check_corpus_per_rule", lines.join("\n"));
}
