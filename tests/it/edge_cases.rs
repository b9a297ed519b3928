//! One test per section of `../shared/corpus/EDGE_CASES.md`, on the files it points at, plus
//! synthetic fixtures for what §13 found missing from the corpus.

use opsbook::model::{PlaceholderKind, Quoting, Risk, Runbook};

use crate::common::*;

fn corpus(rel: &str) -> Option<Runbook> {
    shared_path(&format!("corpus/public/{rel}")).map(|path| parse_file(&path).0)
}

fn commands_of(runbook: &Runbook, line: u32) -> Vec<String> {
    step_at(runbook, line)
        .unwrap_or_else(|| {
            panic!("no step at line {line}; steps at {:?}", runbook.steps.iter().map(|s| s.line).collect::<Vec<_>>())
        })
        .commands
        .iter()
        .map(|c| c.text.clone())
        .collect()
}

#[test]
fn s1_prompts_output_and_comments() {
    let Some(ceph) = corpus("rook/Documentation/Troubleshooting/ceph-common-issues.md") else { return };
    // A `$ ` command followed by a table of output.
    let table = step_at(&ceph, 127).unwrap();
    assert_eq!(commands_of(&ceph, 127), ["kubectl -n rook-ceph get all -o wide --show-all"]);
    assert!(table.commands[0].expected_output.as_deref().unwrap().starts_with("NAME "));
    // A comment titles the command; `...` elisions are output.
    let titled = step_at(&ceph, 230).unwrap();
    assert_eq!(
        titled.commands[0].title.as_deref(),
        Some("The pod shows a termination status that the keyring does not match the existing keyring")
    );
    assert!(titled.commands[0].expected_output.as_deref().unwrap().contains("..."));
    // `^C…` is output, not a command.
    let interrupted = step_at(&ceph, 118).unwrap();
    assert!(interrupted.commands.iter().all(|c| !c.text.starts_with('^')));
    assert!(interrupted.not_shell.iter().any(|l| l.line == 122 && l.text.starts_with("^C")));

    let Some(recovery) = corpus("rook/Documentation/Troubleshooting/disaster-recovery.md") else { return };
    // `console` with no prompts: comments, assignments, commands.
    assert_eq!(commands_of(&recovery, 64).len(), 3);
    assert!(commands_of(&recovery, 64)[0].starts_with("ROOK_UID=$(kubectl"));

    let Some(selectors) =
        corpus("openshift-runbooks/alerts/cluster-monitoring-operator/PrometheusPossibleNarrowSelectors.md")
    else {
        return;
    };
    let piped = commands_of(&selectors, 37);
    assert_eq!(piped.len(), 3);
    assert!(piped[2].contains("\\\n| grep"), "continuation kept: {}", piped[2]);

    let Some(drain) = corpus("openshift-runbooks/alerts/machine-config-operator/MachineConfigControllerDrainError.md")
    else {
        return;
    };
    assert!(step_at(&drain, 41).is_none(), "log output in `console` is not a step");

    let Some(runner) = corpus("gitlab-com-runbooks/docs/ci-runners/ci_runner_manager_errors.md") else { return };
    assert_eq!(
        commands_of(&runner, 15),
        ["sudo su", "/root/machines_operations.sh list", "/root/machines_operations.sh count"],
        "`# ` after `sudo su` is a root prompt"
    );

    let Some(walg) = corpus("gitlab-com-runbooks/docs/patroni/postgresql-backups-wale-walg.md") else { return };
    let cron = step_at(&walg, 95).unwrap();
    assert_eq!(cron.commands.len(), 1);
    assert!(cron.commands[0].expected_output.as_deref().unwrap().starts_with("# Chef Name"));

    let Some(pv) = corpus("prometheus-operator-runbooks/content/runbooks/kubernetes/KubePersistentVolumeFillingUp.md")
    else {
        return;
    };
    let backticks = step_at(&pv, 69).unwrap();
    assert!(backticks.commands[0].text.contains("`kubectl -n <my-namespace> get pvc"));
    assert_eq!(backticks.commands[0].risk, Risk::ReadOnly);
}

#[test]
fn s2_other_interpreters_are_never_shell() {
    let Some(add) = corpus("gitlab-com-runbooks/docs/pgbouncer/pgbouncer-add-instance.md") else { return };
    assert_eq!(commands_of(&add, 36), ["sudo pgb-console"]);
    assert!(step_at(&add, 36).unwrap().commands[0].expected_output.as_deref().unwrap().contains("pgbouncer=# SHOW"));

    let Some(logs) = corpus("gitlab-com-runbooks/docs/patroni/log_analysis.md") else { return };
    assert!(step_at(&logs, 43).is_none(), "a psql session is not a step");

    let Some(redis) = corpus("gitlab-com-runbooks/docs/redis/redis-survival-guide-for-sres.md") else { return };
    assert!(step_at(&redis, 289).is_none(), "a redis-cli session is not a step");

    let Some(connections) = corpus("gitlab-com-runbooks/docs/pgbouncer/pgbouncer-connections.md") else { return };
    assert_eq!(commands_of(&connections, 106), ["ping master.patroni.service.consul"]);

    let Some(etcd) = corpus("openshift-runbooks/alerts/cluster-etcd-operator/etcdMembersDown.md") else { return };
    let rsh = step_at(&etcd, 50).unwrap();
    assert!(rsh.interactive.as_deref().unwrap().contains("shell"), "{:?}", rsh.interactive);

    let Some(toolbox) =
        corpus("openshift-runbooks/alerts/openshift-container-storage-operator/helpers/accessToolbox.md")
    else {
        return;
    };
    assert!(toolbox.steps.is_empty(), "indented code blocks are not steps");
}

#[test]
fn s3_info_string_anomalies() {
    let Some(geo) = corpus("gitlab-com-runbooks/docs/patroni/geo-patroni-cluster.md") else { return };
    assert!(step_at(&geo, 224).is_some(), "`8sh` is a typo: the content decides, and it is shell");
    let Some(walg) = corpus("gitlab-com-runbooks/docs/patroni/postgresql-backups-wale-walg.md") else { return };
    assert!(step_at(&walg, 188).is_some(), "`shel` is a typo: the content decides");
    assert!(step_at(&walg, 115).is_none(), "`cron` holding a postgres setting is not a step");
    let Some(budget) = corpus("kubesphere-alert-runbooks/content/runbooks/kubernetes/KubeAPIErrorBudgetBurn.md") else {
        return;
    };
    assert!(budget.steps.is_empty(), "`promqlpromql` and PromQL are not steps");
    let Some(saturation) = corpus("gitlab-com-runbooks/docs/pgbouncer/pgbouncer-saturation.md") else { return };
    let langs: Vec<Option<&str>> = saturation.steps.iter().map(|s| s.lang.as_deref()).collect();
    assert_eq!(langs, [Some("sh")], "only the `sh` block of the sql/sh/ruby trio runs");
}

#[test]
fn s4_untagged_markdown_template_is_not_a_step() {
    let Some(add) = corpus("prometheus-operator-runbooks/content/docs/add-runbook.md") else { return };
    assert!(add.steps.is_empty());
    assert!(add.sections.iter().all(|s| s.line < 40 || s.line > 74), "headings inside the fence are not sections");
    assert!(add.sections.iter().any(|s| s.title == "Guidelines" && s.line == 76), "headings after it are");
}

#[test]
fn s5_fence_structure() {
    let Some(lookup) = corpus(
        "prometheus-operator-runbooks/content/runbooks/prometheus-operator/PrometheusOperatorNodeLookupErrors.md",
    ) else {
        return;
    };
    assert!(
        lookup.sections.iter().any(|s| s.title == "Mitigation" && s.line == 23),
        "the rest of the file still parses"
    );
    assert_eq!(
        commands_of(&lookup, 20),
        ["kubelet describe Service -n kube-system -l app.kubernetes.io/managed-by=prometheus-operator"]
    );
    let path = shared_path("corpus/public/prometheus-operator-runbooks/content/runbooks/prometheus-operator/PrometheusOperatorNodeLookupErrors.md").unwrap();
    let (_, warnings) = parse_file(&path);
    assert_eq!((warnings[0].rule, warnings[0].line), ("unterminated-fence", 20));

    let Some(connections) = corpus("gitlab-com-runbooks/docs/pgbouncer/pgbouncer-connections.md") else { return };
    assert!(step_at(&connections, 106).unwrap().end_line == 111, "the 3-backtick line closes the 4-backtick fence");
    let ping = step_at(&connections, 106).unwrap();
    assert!(ping.source.ends_with("time=0.236 ms\n"), "the text after line 111 is not code: {:?}", ping.source);

    let Some(add) = corpus("gitlab-com-runbooks/docs/pgbouncer/pgbouncer-add-instance.md") else { return };
    assert!(step_at(&add, 67).is_some(), "4-backtick fence in a list item");
    let Some(vault) = corpus("gitlab-com-runbooks/docs/config_management/chef-vault.md") else { return };
    assert!(vault.steps.iter().all(|s| s.line > 150), "fence markers inside indented code are text");
    let Some(recovery) = corpus("rook/Documentation/Troubleshooting/disaster-recovery.md") else { return };
    assert_eq!(step_at(&recovery, 64).unwrap().col, 9, "fence two list levels deep");
    let Some(stuck) =
        corpus("openshift-runbooks/alerts/openshift-virtualization-operator/VirtualMachineStuckOnNode.md")
    else {
        return;
    };
    assert!(step_at(&stuck, 68).is_some(), "fence straight after list text");
    let Some(selectors) =
        corpus("openshift-runbooks/alerts/cluster-monitoring-operator/PrometheusPossibleNarrowSelectors.md")
    else {
        return;
    };
    assert!(selectors.sections.iter().any(|s| s.line == 52), "heading inside a list item");
    let Some(gather) = corpus("openshift-runbooks/alerts/openshift-container-storage-operator/helpers/gatherLogs.md")
    else {
        return;
    };
    let cmd = &step_at(&gather, 5).unwrap().commands[0];
    assert_eq!((cmd.line, cmd.col), (6, 5), "indentation inside the block is part of the step");
    let Some(drain) = corpus("openshift-runbooks/alerts/machine-config-operator/MachineConfigControllerDrainError.md")
    else {
        return;
    };
    assert_eq!(step_at(&drain, 35).unwrap().end_line, 37);
    let Some(k8s) = corpus("gitlab-com-runbooks/docs/kube/k8s-operations.md") else { return };
    assert_eq!(commands_of(&k8s, 34).len(), 1, "a blank line before the closing fence");
    let Some(zh) = corpus("kubesphere-alert-runbooks/content.zh/runbooks/kubernetes/KubePersistentVolumeFillingUp.md")
    else {
        return;
    };
    assert_eq!(step_at(&zh, 40).unwrap().id, "调整卷大小");
}

#[test]
fn s6_indented_code_blocks_are_not_steps() {
    for rel in [
        "openshift-runbooks/alerts/cluster-network-operator/NoRunningOvnMaster.md",
        "openshift-runbooks/alerts/openshift-container-storage-operator/CephNodeDown.md",
    ] {
        let Some(runbook) = corpus(rel) else { return };
        assert!(runbook.steps.is_empty(), "{rel}");
    }
    let Some(connections) = corpus("gitlab-com-runbooks/docs/pgbouncer/pgbouncer-connections.md") else { return };
    assert!(step_at(&connections, 78).is_none());
    let Some(ceph) = corpus("rook/Documentation/Troubleshooting/ceph-common-issues.md") else { return };
    assert!(step_at(&ceph, 251).is_none(), "an mkdocs admonition body is not a step");
}

#[test]
fn s7_continuations_loops_heredocs() {
    let Some(jobs) = corpus("gitlab-com-runbooks/docs/uncategorized/job_completion.md") else { return };
    let heredoc = commands_of(&jobs, 28);
    assert_eq!(heredoc.len(), 1, "`# HELP` lines are heredoc content");
    assert!(heredoc[0].contains("# HELP") && heredoc[0].ends_with("PROM"), "{}", heredoc[0]);
    let placeholders: Vec<String> = step_at(&jobs, 28).unwrap().placeholders.iter().map(|p| p.name.clone()).collect();
    assert!(placeholders.contains(&"RESOURCE".to_owned()), "${{VAR}} in an unquoted heredoc is read: {placeholders:?}");

    let Some(bench) = corpus("gitlab-com-runbooks/docs/uncategorized/benchmark-database-instance.md") else { return };
    let nested = commands_of(&bench, 84);
    assert_eq!(nested.len(), 2, "nested loops with a heredoc are one command");
    assert!(nested[1].starts_with("for s in") && nested[1].ends_with("done"));
    assert!(commands_of(&bench, 23).iter().any(|c| c.contains("res=$( \\")));

    let Some(gcs) = corpus("gitlab-com-runbooks/docs/logging/logging_gcs_archive_bigquery.md") else { return };
    assert_eq!(commands_of(&gcs, 147).len(), 2, "`read -d '' <<EOF` is one command");

    let Some(k8s) = corpus("gitlab-com-runbooks/docs/kube/k8s-operations.md") else { return };
    let cordon = step_at(&k8s, 34).unwrap();
    assert!(cordon.interactive.as_deref().unwrap().contains("read"), "{:?}", cordon.interactive);

    let Some(maintenance) = corpus("rook/Documentation/Upgrade/node-maintenance.md") else { return };
    assert_eq!(commands_of(&maintenance, 75).len(), 1);

    let Some(thanos) =
        corpus("openshift-runbooks/alerts/advanced-cluster-management-operator/ACMThanosCompactHalted.md")
    else {
        return;
    };
    let create = &step_at(&thanos, 169).unwrap().commands[0];
    assert_eq!((create.line, create.end_line), (170, 173));
    assert!(create.text.ends_with("| oc apply -f -"), "{}", create.text);
}

#[test]
fn s8_placeholders() {
    let Some(pv) = corpus("openshift-runbooks/alerts/openshift-virtualization-operator/PersistentVolumeFillingUp.md")
    else {
        return;
    };
    let names: Vec<&str> = step_at(&pv, 24).unwrap().placeholders.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["pod-name", "namespace"]);

    let Some(k8s) = corpus("gitlab-com-runbooks/docs/kube/k8s-operations.md") else { return };
    let pool = step_at(&k8s, 25).expect("the assignment block is a step");
    assert_eq!(pool.placeholders[0].name, "name of old pool");
    let later = step_at(&k8s, 34).unwrap();
    assert_eq!(later.placeholders[0].name, "OLD_NODE_POOL");
    assert_eq!(later.placeholders[0].set_by.as_deref(), Some(pool.id.as_str()), "set by the earlier step");

    let Some(drain) = corpus("openshift-runbooks/alerts/machine-config-operator/MachineConfigControllerDrainError.md")
    else {
        return;
    };
    let p = &step_at(&drain, 35).unwrap().placeholders[0];
    assert_eq!(
        (p.name.as_str(), p.kind, p.occurrences[0].quoting),
        ("CONTROLLERPOD", PlaceholderKind::Env, Quoting::Bare)
    );

    let dashed = parse_text("```bash\noc logs $OVNKUBE-MASTER-POD-NAME -n x\n```\n");
    assert_eq!(dashed.steps[0].placeholders[0].name, "OVNKUBE-MASTER-POD-NAME");
    assert_eq!(dashed.steps[0].placeholders[0].kind, PlaceholderKind::Dashed);

    let Some(quota) = corpus("prometheus-operator-runbooks/content/runbooks/etcd/etcdBackendQuotaLowSpace.md") else {
        return;
    };
    assert!(step_at(&quota, 25).unwrap().placeholders.is_empty(), "NAMESPACE is set in the step that reads it");

    let Some(etcd) = corpus("openshift-runbooks/alerts/cluster-etcd-operator/etcdMembersDown.md") else { return };
    assert!(step_at(&etcd, 41).unwrap().placeholders.is_empty(), "Go templates are not placeholders");
    let Some(health) = corpus("rook/Documentation/Upgrade/health-verification.md") else { return };
    assert!(
        step_at(&health, 32).unwrap().placeholders.iter().all(|p| p.name == "ROOK_CLUSTER_NAMESPACE"),
        "jsonpath braces are not placeholders"
    );
    let Some(zh) = corpus("kubesphere-alert-runbooks/content.zh/runbooks/kubernetes/KubePersistentVolumeFillingUp.md")
    else {
        return;
    };
    let names: Vec<&str> = step_at(&zh, 40).unwrap().placeholders.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["NAMESPACE", "PVC"]);
}

#[test]
fn s9_front_matter() {
    let Some(space) = corpus("prometheus-operator-runbooks/content/runbooks/node/NodeFilesystemSpaceFillingUp.md")
    else {
        return;
    };
    assert_eq!(space.title, "Node Filesystem Space Filling Up");
    assert_eq!(space.front_matter.extra["weight"], 20);
    let Some(ceph) = corpus("rook/Documentation/Troubleshooting/ceph-common-issues.md") else { return };
    assert_eq!(ceph.title, "Ceph Common Issues");
    assert!(ceph.sections.iter().all(|s| !s.title.starts_with("title:")), "front matter is no setext heading");
    let Some(etcd) = corpus("prometheus-operator-runbooks/content/runbooks/etcd/etcdMembersDown.md") else { return };
    assert_eq!(etcd.title, "etcdMembersDown", "no front matter: the H1");
}

#[test]
fn s10_html_admonitions_inline_spans() {
    let Some(pv) = corpus("openshift-runbooks/alerts/openshift-virtualization-operator/PersistentVolumeFillingUp.md")
    else {
        return;
    };
    assert_eq!(pv.title, "PersistentVolumeFillingUp", "an HTML comment before the H1");
    let Some(redis) = corpus("gitlab-com-runbooks/docs/redis/redis-survival-guide-for-sres.md") else { return };
    assert!(step_at(&redis, 371).is_none() && step_at(&redis, 373).is_none(), "```x``` on one line is inline code");
    let Some(logs) = corpus("gitlab-com-runbooks/docs/patroni/log_analysis.md") else { return };
    assert!(logs.steps.iter().all(|s| s.line != 101));
    let Some(zh) = corpus("kubesphere-alert-runbooks/content.zh/runbooks/kubernetes/KubePersistentVolumeFillingUp.md")
    else {
        return;
    };
    assert!(zh.sections.iter().any(|s| s.anchor == "含义"));
}

#[test]
fn s11_interactive_and_context_changing_steps() {
    let Some(thanos) =
        corpus("openshift-runbooks/alerts/advanced-cluster-management-operator/ACMThanosCompactHalted.md")
    else {
        return;
    };
    assert!(step_at(&thanos, 125).unwrap().interactive.as_deref().unwrap().contains("editor"));
    let Some(pv) = corpus("prometheus-operator-runbooks/content/runbooks/kubernetes/KubePersistentVolumeFillingUp.md")
    else {
        return;
    };
    assert!(step_at(&pv, 79).unwrap().interactive.is_some());
    let Some(runner) = corpus("gitlab-com-runbooks/docs/ci-runners/ci_runner_manager_errors.md") else { return };
    assert!(step_at(&runner, 9).unwrap().interactive.as_deref().unwrap().contains("another host"));
}

#[test]
fn s12_link_targets_have_anchors() {
    // `CollectorHigh403ForbiddenResponseRate.md:31` links to `./ClusterLogForwarderConfigNamingSchema.md#non-lokistack-outputs`.
    let Some(target) =
        corpus("openshift-runbooks/alerts/cluster-logging-operator/ClusterLogForwarderConfigNamingSchema.md")
    else {
        return;
    };
    let anchors: Vec<&str> = target.sections.iter().map(|s| s.anchor.as_str()).collect();
    assert!(anchors.contains(&"non-lokistack-outputs") && anchors.contains(&"lokistack-outputs"), "{anchors:?}");
}

#[test]
fn s13_synthetic_cases() {
    let text = std::fs::read_to_string(repo().join("tests/fixtures/synthetic.md")).unwrap();
    let runbook = parse_text(&text);
    let ids: Vec<&str> = runbook.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["tilde", "braces", "wrapped", "pandoc", "titled"]);
    assert_eq!(runbook.title, "Synthetic cases");
    assert_eq!(runbook.front_matter.tags, ["synthetic"]);
    assert_eq!(step(&runbook, "tilde").commands[0].text, "echo tilde");
    let braces: Vec<&str> = step(&runbook, "braces").placeholders.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(braces, ["service", "region"]);
    assert_eq!(step(&runbook, "wrapped").commands[0].text, "echo outer");
    assert_eq!(step(&runbook, "pandoc").lang.as_deref(), Some("bash"));
    // `title=` is the step's title (Docusaurus and MkDocs write it so).
    assert_eq!(step(&runbook, "titled").settings.title.as_deref(), Some("restart"));
    assert_eq!(step(&runbook, "titled").title, "restart");
    assert!(step(&runbook, "titled").settings.unknown.is_empty());
    assert!(runbook.sections.iter().any(|s| s.title == "Windows"));
    assert!(runbook.steps.iter().all(|s| !s.source.contains("PS C:")), "Windows prompts are not shell");

    // CRLF and a byte-order mark read the same as LF.
    let crlf = format!("\u{feff}{}", text.replace('\n', "\r\n"));
    let again = parse_text(&crlf);
    assert_eq!(again.steps.len(), runbook.steps.len());
    assert_eq!(again.steps[0].commands[0].text, "echo tilde");
    assert_eq!(again.title, "Synthetic cases");
}
