//! Runbooks where teams already keep them (`../shared/corpus/formats/`: MkDocs, Docusaurus,
//! Middleman, Hugo, GitBook): files, the site's configuration as the book, each format's syntax,
//! shell aliases, tabs as alternatives.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::*;

/// `opsbook list --json` of a folder: (exit code, runbooks, stderr).
fn list(path: &Path) -> (i32, Vec<Value>, String) {
    let output = opsbook(&["list", "--json", path.to_str().unwrap()], &repo());
    let runbooks: Vec<Value> = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", path.display(), text(&output.stderr)));
    (output.status.code().unwrap(), runbooks, text(&output.stderr))
}

fn runbook<'v>(runbooks: &'v [Value], path: &str) -> &'v Value {
    runbooks.iter().find(|r| r["path"] == path).unwrap_or_else(|| {
        panic!("no runbook `{path}`: {:?}", runbooks.iter().map(|r| r["path"].clone()).collect::<Vec<_>>())
    })
}

fn steps(runbook: &Value) -> &Vec<Value> {
    runbook["steps"].as_array().unwrap()
}

fn commands(step: &Value) -> Vec<String> {
    step["commands"].as_array().unwrap().iter().map(|c| c["text"].as_str().unwrap().to_owned()).collect()
}

fn all_commands(runbook: &Value) -> Vec<String> {
    steps(runbook).iter().flat_map(commands).collect()
}

/// The book folders of the formats corpus: each site as a reader would point opsbook at it.
const SITES: &[&str] = &[
    "percona-k8spxc-docs",
    "openziti-ziti-doc/docusaurus",
    "openziti-ziti-doc",
    "cloudfoundry-docs-cf-admin",
    "dapr-docs",
    "nats-io-nats.docs",
];

#[test]
fn every_site_lists_and_builds_without_a_panic_and_keeps_its_steps() {
    let Some(root) = shared_path("corpus/formats") else { return };
    let mut table = String::new();
    for site in SITES {
        let folder = root.join(site);
        let (code, runbooks, stderr) = list(&folder);
        assert!(code == 0 || code == 2, "{site}: exit {code}\n{stderr}");
        assert!(!stderr.contains("panicked"), "{site}: {stderr}");
        let _ = writeln!(table, "## {site}");
        for runbook in &runbooks {
            let _ = writeln!(table, "{}  {}", runbook["path"].as_str().unwrap(), runbook["title"].as_str().unwrap());
            for step in steps(runbook) {
                let alternative = match &step["alternative"] {
                    Value::Null => String::new(),
                    a => format!("  [tab {}: {}]", a["group"], a["label"].as_str().unwrap()),
                };
                let _ = writeln!(
                    table,
                    "  {} L{} {} {}{alternative}",
                    step["id"].as_str().unwrap(),
                    step["line"],
                    step["risk"].as_str().unwrap(),
                    step["placeholders"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|p| format!("<{}>", p.as_str().unwrap()))
                        .collect::<Vec<_>>()
                        .join(" "),
                );
            }
        }
        let out = tempfile::tempdir().unwrap();
        let output = opsbook(&["build", folder.to_str().unwrap(), "--dest-dir", out.path().to_str().unwrap()], &repo());
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{site}: {stderr}");
        assert!(!stderr.contains("panicked"), "{site}: {stderr}");
        for runbook in &runbooks {
            let page = opsbook::page::html_path(runbook["path"].as_str().unwrap());
            assert!(out.path().join(&page).is_file(), "{site}: no page {page}");
        }
    }
    insta::assert_snapshot!("formats_listing", table);
}

#[test]
fn mkdocs_nav_is_the_order_and_admonitions_and_tabs_hold_steps() {
    let Some(site) = shared_path("corpus/formats/percona-k8spxc-docs") else { return };
    let (code, runbooks, stderr) = list(&site);
    assert_eq!(code, 0, "{stderr}");
    // docs_dir is the runbook folder; nav (inherited from mkdocs-base.yml) gives the order.
    let paths: Vec<&str> = runbooks.iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "update-operator.md",
            "backups-restore.md",
            "recovery.md",
            "debug-events.md",
            "monitor-kubernetes.md",
            "delete.md"
        ]
    );
    let listed = opsbook(&["list", site.to_str().unwrap()], &repo());
    assert!(text(&listed.stdout).starts_with("order: mkdocs.yml nav; runbooks in "), "{}", text(&listed.stdout));

    // Content tabs: alternatives of one group, nested tabs one grid of choices.
    let update = runbook(&runbooks, "update-operator.md");
    let labels: Vec<(u64, String)> = steps(update)
        .iter()
        .filter(|s| !s["alternative"].is_null())
        .map(|s| (s["alternative"]["group"].as_u64().unwrap(), s["alternative"]["label"].as_str().unwrap().to_owned()))
        .collect();
    assert!(labels.contains(&(1, "Manually".to_owned())), "{labels:?}");
    assert!(labels.contains(&(1, "Via `kubectl patch`".to_owned())), "{labels:?}");
    assert!(
        labels.iter().any(|(_, l)| l == "Without PMM Client › For Percona XtraDB Cluster 8.0"),
        "nested tabs keep both labels: {labels:?}"
    );
    let grid: Vec<u64> = labels.iter().filter(|(_, l)| l.contains("PMM Client")).map(|(g, _)| *g).collect();
    assert!(grid.len() >= 4 && grid.iter().all(|g| *g == grid[0]), "{labels:?}");

    // A command inside an indented admonition body is a step; `.no-copy` output never is.
    let recovery = runbook(&runbooks, "recovery.md");
    let source = std::fs::read_to_string(site.join("docs/recovery.md")).unwrap();
    let mut no_copy_blocks = 0;
    for runbook in &runbooks {
        let path = runbook["path"].as_str().unwrap();
        let text = std::fs::read_to_string(site.join("docs").join(path)).unwrap();
        for (index, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("```") && line.contains(".no-copy") {
                no_copy_blocks += 1;
                assert!(
                    steps(runbook).iter().all(|s| s["line"] != index + 1),
                    "{path}:{}: output (`.no-copy`) became a step",
                    index + 1
                );
            }
        }
    }
    assert!(no_copy_blocks > 10, "{no_copy_blocks}");
    let in_admonition = source
        .lines()
        .enumerate()
        .skip_while(|(_, l)| !l.trim_start().starts_with("!!! "))
        .find(|(_, l)| l.trim_start().starts_with("```bash"))
        .map(|(i, _)| i + 1)
        .expect("recovery.md has a bash block inside an admonition");
    assert!(
        steps(recovery).iter().any(|s| s["line"] == in_admonition),
        "the block at line {in_admonition}, inside `!!!`, is a step"
    );
}

#[test]
fn docusaurus_sidebars_partials_jsx_and_text_tagged_commands() {
    let Some(site) = shared_path("corpus/formats/openziti-ziti-doc/docusaurus") else { return };
    let (_, runbooks, stderr) = list(&site);
    assert!(!stderr.contains("import "), "{stderr}");
    let paths: Vec<&str> = runbooks.iter().map(|r| r["path"].as_str().unwrap()).collect();
    // The sidebars (read as data) order the pages; `_`-prefixed MDX files are partials.
    assert_eq!(paths[0], "get-started/network/local-kubernetes.mdx", "{paths:?}");
    assert!(!paths.iter().any(|p| p.contains("_linux-package-repo")), "{paths:?}");
    let listed = opsbook(&["list", site.to_str().unwrap()], &repo());
    assert!(text(&listed.stdout).starts_with("order: Docusaurus sidebars.ts;"), "{}", text(&listed.stdout));

    // Commands the site tags `text` are steps; blocks titled as output are not.
    let deploy = runbook(&runbooks, "how-to-guides/deployments/10-linux/10-controller/10-deploy.mdx");
    let deploy_commands = all_commands(deploy);
    assert!(
        deploy_commands.iter().any(|c| c == "sudo systemctl enable --now ziti-controller.service"),
        "{deploy_commands:?}"
    );
    let kube = runbook(&runbooks, "get-started/network/local-kubernetes.mdx");
    assert!(steps(kube).iter().all(|s| !s["title"].as_str().unwrap().contains("Output")), "{:?}", steps(kube));
    // `<TabItem label="…">` are alternatives.
    let tabs: Vec<&str> = steps(kube).iter().filter_map(|s| s["alternative"]["label"].as_str()).collect();
    assert!(tabs.contains(&"macOS") && tabs.contains(&"Linux"), "{tabs:?}");

    // The page: imports and JSX are neither prose nor markup; the partial is a muted marker.
    let out = tempfile::tempdir().unwrap();
    let output = opsbook(&["build", site.to_str().unwrap(), "--dest-dir", out.path().to_str().unwrap()], &repo());
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let html =
        std::fs::read_to_string(out.path().join("how-to-guides/deployments/10-linux/10-controller/10-deploy.html"))
            .unwrap();
    assert!(!html.contains("import Tabs"), "an import line became prose");
    assert!(!html.contains("&lt;TabItem") && !html.contains("<TabItem"), "JSX reached the page");
}

#[test]
fn middleman_pages_drop_template_suffixes_and_erb_is_no_text_nor_command() {
    let Some(site) = shared_path("corpus/formats/cloudfoundry-docs-cf-admin") else { return };
    let (_, runbooks, _) = list(&site);
    assert_eq!(runbooks.len(), 6);
    for runbook in &runbooks {
        for command in all_commands(runbook) {
            assert!(!command.contains("<%"), "ERB became a command: {command}");
        }
    }
    let out = tempfile::tempdir().unwrap();
    let output = opsbook(&["build", site.to_str().unwrap(), "--dest-dir", out.path().to_str().unwrap()], &repo());
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let html = std::fs::read_to_string(out.path().join("start-stop-vms.html")).unwrap();
    assert!(!html.contains("&lt;%"), "ERB shown as text");
    assert!(html.contains("<code class=\"site-template\">vars.app_runtime_abbr</code>"), "a muted marker for `<%= %>`");
    // A raw `<pre class="terminal">` example is no extra step.
    let source = std::fs::read_to_string(site.join("start-stop-vms.html.md.erb")).unwrap();
    let pre_lines: Vec<usize> =
        source.lines().enumerate().filter(|(_, l)| l.contains("<pre")).map(|(i, _)| i + 1).collect();
    let start_stop = runbook(&runbooks, "start-stop-vms.html.md.erb");
    for step in steps(start_stop) {
        assert!(!pre_lines.contains(&(step["line"].as_u64().unwrap() as usize)));
    }
}

#[test]
fn hugo_shortcodes_are_blanks_not_shell_and_codetabs_are_alternatives() {
    let Some(site) = shared_path("corpus/formats/dapr-docs") else { return };
    let (_, runbooks, stderr) = list(&site);
    let deploy = runbook(&runbooks, "daprdocs/content/en/operations/hosting/kubernetes/kubernetes-deploy.md");
    let helm = steps(deploy)
        .iter()
        .find(|s| commands(s).iter().any(|c| c.contains("{{% dapr-latest-version")))
        .expect("a command with a shortcode");
    assert!(helm["placeholders"].as_array().unwrap().iter().any(|p| p == "dapr-latest-version"), "{helm}");
    assert!(commands(helm)[0].contains("--wait"), "the command keeps its lines after the shortcode: {helm}");
    assert!(stderr.contains("is a Hugo shortcode the site fills in, not shell"), "{stderr}");
    for runbook in &runbooks {
        for command in all_commands(runbook) {
            assert!(!command.trim_start().starts_with("{{"), "a shortcode line became a command: {command}");
        }
    }
    let alternatives: Vec<&str> =
        runbooks.iter().flat_map(|r| steps(r).iter().filter_map(|s| s["alternative"]["label"].as_str())).collect();
    assert!(!alternatives.is_empty(), "dapr's `{{{{< tabs >}}}}` hold alternatives");
}

#[test]
fn gitbook_summary_orders_and_names_and_a_missing_page_is_a_warning() {
    let Some(site) = shared_path("corpus/formats/nats-io-nats.docs") else { return };
    let (code, runbooks, stderr) = list(&site);
    assert_eq!(code, 0, "GitBook shows a missing page as empty: a warning, not an error\n{stderr}");
    assert!(stderr.contains("warning: `SUMMARY.md` lists `README.md`, which does not exist"), "{stderr}");
    let paths: Vec<&str> = runbooks.iter().map(|r| r["path"].as_str().unwrap()).collect();
    let summary = std::fs::read_to_string(site.join("SUMMARY.md")).unwrap().replace("\\_", "_");
    let mut positions: Vec<usize> = paths.iter().map(|p| summary.find(&format!("({p})")).unwrap()).collect();
    let sorted = {
        let mut s = positions.clone();
        s.sort();
        s
    };
    assert_eq!(positions, sorted, "SUMMARY.md's order: {paths:?}");
    positions.dedup();
    assert_eq!(positions.len(), 6);
}

#[test]
fn file_endings_pages_and_links_by_either_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("backup.html.md.erb"),
        "---\ntitle: Backup\n---\n\nSee [restore](restore.html) and [restore again](restore.html.md.erb#run).\n\n```bash\npg_dump db > db.sql\n```\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("restore.html.md.erb"), "# Restore\n\n## Run\n\n```bash\npsql db < db.sql\n```\n")
        .unwrap();
    std::fs::write(dir.path().join("intro.mdx"), "import X from './x';\n\n# Intro\n\nSee [backup](./backup.html).\n")
        .unwrap();
    std::fs::write(dir.path().join("notes.markdown"), "# Notes\n\n```bash\nuptime\n```\n").unwrap();
    std::fs::write(dir.path().join("skip.txt"), "not a runbook\n").unwrap();
    let (code, runbooks, stderr) = list(dir.path());
    assert_eq!(code, 0, "{stderr}");
    let paths: Vec<&str> = runbooks.iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["backup.html.md.erb", "intro.mdx", "notes.markdown", "restore.html.md.erb"]);
    let output = opsbook(&["build", "--dest-dir", "site"], dir.path());
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("(0 warnings"), "links by either name resolve: {stderr}");
    let backup = std::fs::read_to_string(dir.path().join("site/backup.html")).unwrap();
    assert!(backup.contains("href=\"restore.html\""), "{backup}");
    assert!(backup.contains("href=\"restore.html#run\""), "{backup}");
    assert!(dir.path().join("site/intro.html").is_file() && dir.path().join("site/notes.html").is_file());
    // `list FILE` and a runbook named by its page.
    let one = opsbook(&["list", "--json", "intro.mdx"], dir.path());
    assert_eq!(one.status.code(), Some(0), "{}", text(&one.stderr));
    let shown = opsbook(&["show", "restore.html", "run"], dir.path());
    assert_eq!(shown.status.code(), Some(0), "{}", text(&shown.stderr));
    // `[opsbook] extensions` narrows what is read.
    std::fs::remove_dir_all(dir.path().join("site")).unwrap();
    std::fs::write(dir.path().join("book.toml"), "[book]\nsrc = \".\"\n[opsbook]\nextensions = [\"markdown\"]\n")
        .unwrap();
    let (_, narrowed, _) = list(dir.path());
    assert_eq!(narrowed.iter().map(|r| r["path"].as_str().unwrap()).collect::<Vec<_>>(), ["notes.markdown"]);
    std::fs::write(dir.path().join("book.toml"), "[opsbook]\nextensions = [\"md/x\"]\n").unwrap();
    let bad = opsbook(&["list", "."], dir.path());
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("is not a file ending"), "{}", text(&bad.stderr));
}

#[test]
fn aliases_are_judged_as_their_tool_and_defined_when_the_step_runs() {
    let dir = fixture_book(
        "a.md",
        "# A\n\n## Delete\n\n```bash\nk delete pod api-1\n```\n\n## Plan\n\n```bash\ntf plan -out x\n```\n",
    );
    let (_, runbooks, _) = list(dir.path());
    let a = runbook(&runbooks, "a.md");
    assert_eq!(steps(a)[0]["risk"], "destructive", "`k` is kubectl: {}", steps(a)[0]);
    // The book's aliases: `tf` here stands for a harmless stand-in so the test runs anywhere.
    std::fs::write(
        dir.path().join("book.toml"),
        "[book]\nsrc = \"runbooks\"\n[opsbook]\naliases = { tf = \"echo terraform\" }\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_opsbook"))
        .args(["run", "runbooks/a.md", "plan", "-y", "--store", "sqlite:ops.db"])
        .current_dir(dir.path())
        .env("OPSBOOK_RESPONDER", "t")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}{}", text(&output.stderr));
    assert!(stdout.contains("terraform plan"), "the alias was defined for the run: {stdout}");
    let extracted = opsbook(&["extract", "runbooks/a.md", "--step", "plan", "--out", "scripts"], dir.path());
    assert_eq!(extracted.status.code(), Some(0), "{}", text(&extracted.stderr));
    let script = std::fs::read_dir(dir.path().join("scripts"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<String>();
    assert!(script.contains("shopt -s expand_aliases") && script.contains("alias tf="), "{script}");
    let bad = dir.path().join("book.toml");
    std::fs::write(&bad, "[opsbook]\naliases = { \"$(x)\" = \"kubectl\" }\n").unwrap();
    let refused = opsbook(&["list", "."], dir.path());
    assert_eq!(refused.status.code(), Some(2));
    assert!(text(&refused.stderr).contains("cannot be a shell alias"), "{}", text(&refused.stderr));
    // A value that is more than a program and its words would hide what runs.
    std::fs::write(&bad, "[opsbook]\naliases = { kls = \"echo listing; rm -rf /tmp/x; echo\" }\n").unwrap();
    let refused = opsbook(&["list", "."], dir.path());
    assert_eq!(refused.status.code(), Some(2));
    assert!(text(&refused.stderr).contains("plain arguments"), "{}", text(&refused.stderr));
}

#[test]
fn a_run_through_the_runbook_takes_one_tab_per_group() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mkdocs.yml"), "site_name: x\nnav:\n  - a.md\n").unwrap();
    std::fs::create_dir(dir.path().join("docs")).unwrap();
    std::fs::write(
        dir.path().join("docs/a.md"),
        "# Install\n\n```bash\necho first\n```\n\n=== \"Linux\"\n\n    ```bash\n    echo linux\n    ```\n\n=== \"macOS\"\n\n    ```bash\n    echo macos\n    ```\n\n!!! note \"Then\"\n\n    ```bash\n    echo last\n    ```\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "a.md", "--all", "-y", "--store", "sqlite:ops.db"];
        args.extend_from_slice(extra);
        let output = Command::new(env!("CARGO_BIN_EXE_opsbook"))
            .args(&args)
            .current_dir(dir.path())
            .env("OPSBOOK_RESPONDER", "t")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        (output.status.code().unwrap(), text(&output.stdout), text(&output.stderr))
    };
    let (code, stdout, stderr) = run(&[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let printed: Vec<&str> = stdout.lines().filter(|l| !l.starts_with(' ') && !l.contains(' ')).collect();
    assert_eq!(printed, ["first", "linux", "last"], "{stdout}");
    assert!(stderr.contains("tabs: taking `Linux`, leaving `macOS` (choose with --tab LABEL)"), "{stderr}");
    let (code, stdout, _) = run(&["--tab", "macos"]);
    assert_eq!(code, 0);
    let printed: Vec<&str> = stdout.lines().filter(|l| !l.starts_with(' ') && !l.contains(' ')).collect();
    assert_eq!(printed, ["first", "macos", "last"], "{stdout}");
    let (code, _, stderr) = run(&["--tab", "Windows"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no tab `Windows` in `a.md`; its tabs are: Linux, macOS"), "{stderr}");
}

#[test]
fn a_broken_fence_is_repaired_or_warned_and_prose_never_runs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.md"),
        "# A\n\n## Check\n\n```bash<br>\nuptime\n```<br>\n\nThen restart the service by hand.\n\n## Four\n\n````bash\nhostname\n```\n\n## After\n\nrm -rf / is what you must never type.\n",
    )
    .unwrap();
    let (_, runbooks, stderr) = list(dir.path());
    let a = runbook(&runbooks, "a.md");
    let commands = all_commands(a);
    assert_eq!(commands, ["uptime", "hostname"], "{stderr}");
    assert!(stderr.contains("[broken-fence]") && stderr.contains("a.md:5:1"), "{stderr}");
    assert!(stderr.contains("[unterminated-fence]"), "{stderr}");
}

#[test]
fn a_site_configuration_never_leads_out_of_the_book() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("secret.yml");
    std::fs::write(&outside, "nav:\n  - stolen.md\npassword: hunter2\n").unwrap();
    let book = tmp.path().join("book");
    std::fs::create_dir_all(book.join("docs")).unwrap();
    std::fs::write(book.join("docs/a.md"), "# A\n\n```bash\nuptime\n```\n").unwrap();
    // An `INHERIT:` that climbs out of the book is not read.
    std::fs::write(book.join("mkdocs.yml"), "INHERIT: ../secret.yml\nsite_name: x\n").unwrap();
    let (code, runbooks, stderr) = list(&book);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(runbooks.len(), 1);
    assert!(stderr.contains("outside"), "the way out is named: {stderr}");
    assert!(!stderr.contains("hunter2"));
    // A `docs_dir` outside the book is refused, naming the configuration.
    std::fs::write(book.join("mkdocs.yml"), "docs_dir: ..\n").unwrap();
    let refused = opsbook(&["list", book.to_str().unwrap()], &repo());
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("mkdocs.yml"), "{}", text(&refused.stderr));
    // A sidebars file that is code, or nested past any sidebar, falls back to the folder rules.
    std::fs::remove_file(book.join("mkdocs.yml")).unwrap();
    let deep = format!("module.exports = {{ s: {}'a'{} }};\n", "[".repeat(50_000), "]".repeat(50_000));
    std::fs::write(book.join("sidebars.js"), deep).unwrap();
    let (code, runbooks, stderr) = list(&book);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(runbooks.len(), 1);
    assert!(stderr.contains("cannot be read without running JavaScript"), "{stderr}");
}

#[test]
fn mdx_details_and_notes_and_gitbook_blocks_hold_steps() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.mdx"),
        "---\ntitle: Restart\n---\nimport Tabs from '@theme/Tabs';\n\n# Restart\n\n:::warning Careful\nThis restarts the API.\n:::\n\n<details>\n<summary>If the pods hang</summary>\n\n```bash\nkubectl -n {namespace} get pods -o jsonpath='{.items[*].metadata.name}'\n```\n\n</details>\n\nexport const x = 1;\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.md"),
        "# Streams\n\n{% hint style=\"danger\" %}\nData is lost.\n{% endhint %}\n\n{% tabs %}\n{% tab title=\"CLI\" %}\n{% code title=\"Purge the stream\" %}\n```shell\nnats stream purge ORDERS -f\n```\n{% endcode %}\n{% endtab %}\n{% tab title=\"Go\" %}\n```go\njs.PurgeStream(\"ORDERS\")\n```\n{% endtab %}\n{% endtabs %}\n",
    )
    .unwrap();
    let (code, runbooks, stderr) = list(dir.path());
    assert_eq!(code, 0, "{stderr}");
    let a = runbook(&runbooks, "a.mdx");
    let hang = &steps(a)[0];
    assert_eq!(hang["title"], "Restart");
    // `{namespace}` and jsonpath braces are no placeholders; `{{ x }}` would be.
    assert!(hang["placeholders"].as_array().unwrap().is_empty(), "{hang}");
    let b = runbook(&runbooks, "b.md");
    assert_eq!(steps(b).len(), 1);
    assert_eq!(steps(b)[0]["title"], "Purge the stream");
    assert_eq!(steps(b)[0]["alternative"]["label"], "CLI");
    let output = opsbook(&["build", "--dest-dir", "site"], dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let page = std::fs::read_to_string(dir.path().join("site/a.html")).unwrap();
    assert!(page.contains("<strong>Careful</strong>") && page.contains("<strong>If the pods hang</strong>"), "{page}");
    assert!(!page.contains("export const") && !page.contains(":::"), "{page}");
    let gitbook = std::fs::read_to_string(dir.path().join("site/b.html")).unwrap();
    assert!(gitbook.contains("<strong>Danger</strong>") && !gitbook.contains("{%"), "{gitbook}");
}

#[test]
fn hugo_weights_and_docusaurus_folder_rules_order_the_pages() {
    let hugo = tempfile::tempdir().unwrap();
    let write = |root: &Path, rel: &str, text: &str| {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(hugo.path(), "hugo.toml", "title = \"x\"\n");
    write(hugo.path(), "content/en/ops/_index.md", "---\ntitle: Operations\nweight: 2\n---\n");
    write(hugo.path(), "content/en/ops/b.md", "---\ntitle: B\nweight: 1\nlinkTitle: Bee\n---\n");
    write(hugo.path(), "content/en/ops/a.md", "---\ntitle: A\nweight: 5\n---\n");
    write(hugo.path(), "content/en/intro/_index.md", "---\ntitle: Intro\nweight: 1\n---\n");
    write(hugo.path(), "content/en/intro/z.md", "---\ntitle: Z\n---\n");
    write(hugo.path(), "themes/docsy/README.md", "# not content\n");
    let (code, runbooks, stderr) = list(hugo.path());
    assert_eq!(code, 0, "{stderr}");
    let paths: Vec<&str> = runbooks.iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["intro/_index.md", "intro/z.md", "ops/_index.md", "ops/b.md", "ops/a.md"]);
    let listed = text(&opsbook(&["list", hugo.path().to_str().unwrap()], &repo()).stdout);
    assert!(listed.starts_with("order: Hugo content (weight, then name); runbooks in "), "{listed}");
    let out = tempfile::tempdir().unwrap();
    let built = opsbook(&["build", hugo.path().to_str().unwrap(), "--dest-dir", out.path().to_str().unwrap()], &repo());
    assert_eq!(built.status.code(), Some(0), "{}", text(&built.stderr));
    let page = std::fs::read_to_string(out.path().join("ops/a.html")).unwrap();
    assert!(page.contains(">Bee<"), "the navigation uses `linkTitle`");

    // Docusaurus whose sidebars are code: `sidebar_position`, then number prefixes.
    let docusaurus = tempfile::tempdir().unwrap();
    write(docusaurus.path(), "sidebars.js", "module.exports = require('./generated');\n");
    write(docusaurus.path(), "docs/20-later.md", "# Later\n");
    write(docusaurus.path(), "docs/10-first.md", "# First\n");
    write(docusaurus.path(), "docs/pinned.md", "---\nsidebar_position: 1\n---\n# Pinned\n");
    write(docusaurus.path(), "docs/_partial.mdx", "# Partial\n");
    let (_, runbooks, stderr) = list(docusaurus.path());
    let paths: Vec<&str> = runbooks.iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["pinned.md", "10-first.md", "20-later.md"], "{stderr}");
    assert!(stderr.contains("cannot be read without running JavaScript"), "{stderr}");
}

/// The dry run of `run --all` over one runbook: the commands it would run, in order.
fn dry_run_all(dir: &Path, runbook: &str, extra: &[&str]) -> (i32, Vec<String>, String) {
    let mut args = vec!["run", runbook, "--all", "-y", "--dry-run"];
    args.extend_from_slice(extra);
    let output = opsbook(&args, dir);
    let stderr = text(&output.stderr);
    let commands = stderr.lines().filter_map(|l| l.trim_start().strip_prefix("$ ")).map(str::to_owned).collect();
    (output.status.code().unwrap(), commands, stderr)
}

#[test]
fn nothing_a_site_hides_or_chooses_at_build_time_runs() {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, body: &str| std::fs::write(dir.path().join(rel), body).unwrap();
    // MDX: comments, expressions and ESM blocks are JavaScript, whatever they hold.
    write(
        "a.mdx",
        "# A\n\n{/*\n```bash\ntouch pwned-comment\n```\n*/}\n\n{ /** doc\n\n```bash\ntouch pwned-doc\n```\n**/ }\n\n{false && (\n```bash\ntouch pwned-expression\n```\n)}\n\nexport const s = `\n```bash\ntouch pwned-export\n```\n`;\n\n```bash\necho kept\n```\n",
    );
    // Template logic inside a block: which lines the site shows is decided when it is built.
    write(
        "b.md",
        "# B\n\n```bash\n{% if prod %}\nkubectl delete ns prod\n{% else %}\nkubectl delete ns staging\n{% endif %}\n```\n\n{% comment %}\n```bash\ntouch pwned-liquid-comment\n```\n{% endcomment %}\n\n{% code title=\"Output\" %}\n```bash\nkubectl delete pod x\n```\n{% endcode %}\n",
    );
    write(
        "c.html.md.erb",
        "# C\n\n```\n<% if vars.prod %>\n$ kubectl delete ns cf\n<% else %>\n$ bosh delete-deployment\n<% end %>\n```\n",
    );
    // A `<br>` fence line inside an open block is its text, not its end.
    write("d.md", "# D\n\n```text\nA converter writes ```<br> here\n```<br>\nrm -rf /tmp/never\n```\n\nProse.\n");
    let (_, runbooks, stderr) = list(dir.path());
    let a = runbook(&runbooks, "a.mdx");
    assert_eq!(all_commands(a), ["echo kept"], "{stderr}");
    for name in ["b.md", "c.html.md.erb", "d.md"] {
        assert!(
            all_commands(runbook(&runbooks, name)).is_empty(),
            "{name}: {:?}\n{stderr}",
            all_commands(runbook(&runbooks, name))
        );
    }
    assert!(stderr.contains("holds template logic"), "{stderr}");
}

#[test]
fn nested_tabs_are_one_choice_with_their_common_steps() {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, body: &str| std::fs::write(dir.path().join(rel), body).unwrap();
    write(
        "a.mdx",
        "# A\n\n<Tabs>\n<TabItem value=\"k8s\" label=\"K8s\">\n\n```bash\necho k8s-common\n```\n\n<Tabs>\n<TabItem value=\"helm\" label=\"Helm\">\n\n```bash\necho k8s-helm\n```\n\n</TabItem>\n<TabItem value=\"kubectl\" label=\"Kubectl\">\n\n```bash\necho k8s-kubectl\n```\n\n</TabItem>\n</Tabs>\n\n</TabItem>\n<TabItem value=\"docker\" label=\"Docker\">\n\n```bash\necho docker\n```\n\n</TabItem>\n</Tabs>\n",
    );
    write(
        "m.md",
        "# M\n\n=== \"K8s\"\n\n    ```bash\n    echo k8s-common\n    ```\n\n    === \"Helm\"\n\n        ```bash\n        echo k8s-helm\n        ```\n\n    === \"Kubectl\"\n\n        ```bash\n        echo k8s-kubectl\n        ```\n\n=== \"Docker\"\n\n    ```bash\n    echo docker\n    ```\n\n===! \"5.7\"\n\n    ```bash\n    echo five-seven\n    ```\n\n=== \"8.0\"\n\n    ```bash\n    echo eight\n    ```\n",
    );
    write(
        "i.mdx",
        "# I\n\n<Tabs>\n  <TabItem value=\"a\" label=\"A\">\n\n    ```bash\n    echo indented-a\n    ```\n\n  </TabItem>\n</Tabs>\n",
    );
    for page in ["a.mdx", "m.md"] {
        let (code, commands, stderr) = dry_run_all(dir.path(), page, &[]);
        assert_eq!(code, 0, "{stderr}");
        let expected: &[&str] = if page == "a.mdx" {
            &["echo k8s-common", "echo k8s-helm"]
        } else {
            &["echo k8s-common", "echo k8s-helm", "echo five-seven"]
        };
        assert_eq!(commands, expected, "{page}: {stderr}");
        let (_, commands, stderr) = dry_run_all(dir.path(), page, &["--tab", "kubectl"]);
        assert_eq!(commands[..2], ["echo k8s-common", "echo k8s-kubectl"], "{page}: {stderr}");
        let (_, commands, _) = dry_run_all(dir.path(), page, &["--tab", "Docker"]);
        assert_eq!(commands[0], "echo docker", "{page}");
    }
    // `--tab` names one part of each way: both choices at once.
    let (_, commands, stderr) = dry_run_all(dir.path(), "m.md", &["--tab", "K8s", "--tab", "Kubectl", "--tab", "8.0"]);
    assert_eq!(commands, ["echo k8s-common", "echo k8s-kubectl", "echo eight"], "{stderr}");
    // MDX has no indented code: a fence indented under a JSX tag is a fence.
    let (_, runbooks, _) = list(dir.path());
    assert_eq!(all_commands(runbook(&runbooks, "i.mdx")), ["echo indented-a"]);
}
