//! `opsbook test`: transcripts and output blocks compared, diffs on failure, `--update` that
//! touches nothing but the expected output, JUnit.

use crate::common::{fixture_book, opsbook, text};

const RUNBOOK: &str = "# Checks\r\n\r\nSome prose.\r\n\r\n## Transcript\r\n\r\n```console {name=counts test}\r\n$ printf 'a\\nb\\nc\\n' | wc -l\r\n3\r\n$ echo \"took 12 ms\"\r\ntook [..] ms\r\n$ seq 1 5\r\n1\r\n...\r\n5\r\n```\r\n\r\n## Script\r\n\r\n- In a list:\r\n\r\n  ```bash {name=greeting test}\r\n  echo hello\r\n  echo world\r\n  ```\r\n\r\n  ```output\r\n  hello\r\n  world\r\n  ```\r\n\r\n## Not a test\r\n\r\n```bash\r\nexit 1\r\n```\r\n";

#[test]
fn passing_failing_and_updated_tests() {
    let dir = fixture_book("checks.md", RUNBOOK);
    let root = dir.path();
    let passed = opsbook(&["test"], root);
    assert!(passed.status.success(), "{}{}", text(&passed.stdout), text(&passed.stderr));
    assert!(text(&passed.stdout).contains("test checks.md:counts ... ok"));
    assert!(text(&passed.stdout).contains("test checks.md:greeting ... ok"));
    assert!(text(&passed.stderr).contains("2 test(s): 2 passed, 0 failed"));

    // Change what the runbook expects: the test fails with a unified diff.
    let file = root.join("runbooks/checks.md");
    let wrong = RUNBOOK
        .replace("  hello\r\n  world\r\n", "  hello\r\n  there\r\n")
        .replace("$ printf 'a\\nb\\nc\\n' | wc -l\r\n3\r\n", "$ printf 'a\\nb\\nc\\n' | wc -l\r\n4\r\n");
    std::fs::write(&file, &wrong).unwrap();
    let failed = opsbook(&["test", "--junit", "junit.xml"], root);
    assert_eq!(failed.status.code(), Some(1));
    let report = text(&failed.stdout);
    assert!(report.contains("test checks.md:counts ... FAILED"), "{report}");
    assert!(report.contains("`$ printf 'a\\nb\\nc\\n' | wc -l`:"), "{report}");
    assert!(report.contains("--- expected\n    +++ actual\n    @@ -1 +1 @@\n    -4\n    +3"), "{report}");
    assert!(report.contains("-there\n    +world"), "{report}");
    let junit = std::fs::read_to_string(root.join("junit.xml")).unwrap();
    assert!(junit.contains("<testsuite name=\"opsbook\" tests=\"2\" failures=\"2\""), "{junit}");
    assert!(junit.contains("<testcase classname=\"checks.md\" name=\"counts\""), "{junit}");

    // --update puts back what the steps print; nothing else in the file moves, CRLF and list
    // indentation included. (Wildcards matched are kept only where the test passed.)
    let updated = opsbook(&["test", "--update"], root);
    assert!(updated.status.success(), "{}{}", text(&updated.stdout), text(&updated.stderr));
    assert!(text(&updated.stdout).contains("test checks.md:counts ... updated"));
    let after = std::fs::read_to_string(&file).unwrap();
    let expected_after =
        RUNBOOK.replace("took [..] ms\r\n", "took 12 ms\r\n").replace("1\r\n...\r\n5\r\n", "1\r\n2\r\n3\r\n4\r\n5\r\n");
    assert_eq!(after, expected_after);
    assert!(opsbook(&["test"], root).status.success());

    // --filter, and a test step that needs an input fails with a reason.
    let filtered = opsbook(&["test", "--filter", "greeting"], root);
    assert!(text(&filtered.stderr).contains("1 test(s): 1 passed"), "{}", text(&filtered.stderr));
    std::fs::write(&file, "# T\n\n```bash {name=needs test}\necho <who>\n```\n").unwrap();
    let needs = opsbook(&["test"], root);
    assert_eq!(needs.status.code(), Some(1));
    assert!(text(&needs.stdout).contains("the step needs input(s) who"), "{}", text(&needs.stdout));
    // A script step without an output block must succeed.
    std::fs::write(&file, "# T\n\n```bash {name=fails test}\necho oops\nexit 3\n```\n").unwrap();
    let exit = opsbook(&["test"], root);
    assert_eq!(exit.status.code(), Some(1));
    assert!(text(&exit.stdout).contains("the step ended with exit 3\n    output:\n    oops"), "{}", text(&exit.stdout));
}

#[test]
fn the_expected_output_is_the_parsed_one_when_the_file_went_away() {
    let dir = fixture_book("out.md", "# T\n\n```bash {name=greet test}\necho world\n```\n\n```output\nhello\n```\n");
    let book = opsbook::load::load_book(dir.path()).unwrap();
    std::fs::remove_file(dir.path().join("runbooks/out.md")).unwrap();
    // Read again from disk, the text was empty: no output block, so the test asked only for exit 0.
    let cases = opsbook::tester::cases(&book, None);
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].expect, opsbook::tester::Expect::Block("hello".to_owned(), (8, 8)));
}

#[test]
fn update_leaves_a_runbook_changed_while_its_tests_ran() {
    let dir = fixture_book("moving.md", "");
    let file = dir.path().join("runbooks/moving.md");
    // The step itself puts a line at the top of its runbook: the expected output moves down one
    // line, and writing the update at the lines the tests were taken from would cut the file.
    let quoted = format!("'{}'", file.display().to_string().replace('\'', "'\\''"));
    let runbook = format!(
        "# T\n\n```bash {{name=moves test}}\nprintf '<!-- edited -->\\n' | cat - {quoted} > {quoted}.new && mv {quoted}.new {quoted}\necho now\n```\n\n```output\nbefore\n```\n"
    );
    std::fs::write(&file, &runbook).unwrap();
    let updated = opsbook(&["test", "--update"], dir.path());
    assert_eq!(updated.status.code(), Some(1), "{}{}", text(&updated.stdout), text(&updated.stderr));
    let stderr = text(&updated.stderr);
    assert!(
        stderr.contains("moving.md` changed while the tests ran, so its expected output was not updated"),
        "{stderr}"
    );
    assert!(stderr.contains("1 test(s): 0 passed, 1 failed"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), format!("<!-- edited -->\n{runbook}"));
}

#[test]
fn the_repo_transcripts_pass() {
    let out = opsbook(&["test"], &crate::common::repo());
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("test local-demo.md:transcript ... ok"));
}
