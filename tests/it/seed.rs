//! The user's model runbook, `../shared/seeds/incident-response.md`.

use opsbook::model::{PlaceholderKind, Risk};

use crate::common::*;

fn seed() -> Option<opsbook::model::Runbook> {
    shared_path("seeds/incident-response.md").map(|path| parse_file(&path).0)
}

#[test]
fn seed_has_13_steps_and_2_templates() {
    let Some(runbook) = seed() else { return };
    let ids: Vec<&str> = runbook.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, SEED_STEP_IDS);
    let templates: Vec<(&str, u32)> = runbook.templates.iter().map(|t| (t.title.as_str(), t.line)).collect();
    assert_eq!(templates, [("Internal Communication", 221), ("2. Write Postmortem", 249)]);
    let status_fields: Vec<&str> =
        runbook.templates[0].fields.iter().map(|f| f.label.as_deref().unwrap_or("")).collect();
    assert_eq!(status_fields, ["Incident", "Severity", "Status", "Impact", "ETA", "Updates"]);
}

#[test]
fn seed_placeholders() {
    let Some(runbook) = seed() else { return };
    let pod = &step(&runbook, "api-not-responding").placeholders;
    assert_eq!(pod.len(), 1);
    assert_eq!((pod[0].name.as_str(), pod[0].kind), ("pod-name", PlaceholderKind::Angle));
    assert_eq!((pod[0].occurrences[0].line, pod[0].occurrences[0].col), (58, 22));
    let token = &step(&runbook, "status-page-update").placeholders;
    assert_eq!(token.len(), 1);
    assert_eq!((token[0].name.as_str(), token[0].kind), ("STATUS_PAGE_TOKEN", PlaceholderKind::Env));
    let others: usize = runbook
        .steps
        .iter()
        .filter(|s| s.id != "api-not-responding" && s.id != "status-page-update")
        .map(|s| s.placeholders.len())
        .sum();
    assert_eq!(others, 0, "no other step needs input");
}

/// The risk of the first command of `runbook` whose text contains `needle`.
fn risk_of(runbook: &opsbook::model::Runbook, needle: &str) -> Risk {
    runbook
        .steps
        .iter()
        .flat_map(|s| &s.commands)
        .find(|c| c.text.contains(needle))
        .unwrap_or_else(|| panic!("no command with `{needle}`"))
        .risk
}

#[test]
fn seed_risks() {
    let Some(runbook) = seed() else { return };
    for needle in [
        "rollout restart",
        "kubectl scale",
        "kubectl patch",
        "DEL aragora:queue:stuck",
        "pg_terminate_backend",
        "promote-read-replica",
        "alembic downgrade",
    ] {
        let risk = risk_of(&runbook, needle);
        assert!(risk >= Risk::Mutating, "`{needle}` should be mutating or destructive, is {risk}");
    }
    assert_eq!(risk_of(&runbook, "pg_terminate_backend"), Risk::Destructive);
    assert_eq!(risk_of(&runbook, "DEL aragora:queue:stuck"), Risk::Destructive);
    for needle in ["kubectl get pods -n aragora", "kubectl logs -f", "pg_isready", "rollout history", "/health"] {
        assert_eq!(risk_of(&runbook, needle), Risk::ReadOnly, "`{needle}` should be read-only");
    }
    assert_eq!(step(&runbook, "database-issues").risk, Risk::Destructive);
    assert_eq!(step(&runbook, "2-assess-impact").risk, Risk::ReadOnly);
}

#[test]
fn api_not_responding_has_six_titled_commands() {
    let Some(runbook) = seed() else { return };
    let step = step(&runbook, "api-not-responding");
    let commands: Vec<(&str, &str, u32)> =
        step.commands.iter().map(|c| (c.title.as_deref().unwrap_or(""), c.text.as_str(), c.line)).collect();
    assert_eq!(
        commands,
        [
            ("Check pods", "kubectl get pods -n aragora", 57),
            ("Check pods", "kubectl describe pod <pod-name> -n aragora", 58),
            ("Check logs", "kubectl logs -f deployment/aragora-api -n aragora --tail=100", 61),
            ("Restart if needed", "kubectl rollout restart deployment/aragora-api -n aragora", 64),
            ("Check ingress", "kubectl get ingress -n aragora", 67),
            ("Check ingress", "kubectl describe ingress aragora -n aragora", 68),
        ]
    );
    assert_eq!(step.section, ["Incident Response Runbook", "Common Issues & Fixes", "API Not Responding"]);
    assert!(step.commands[2].long_running.as_deref().unwrap().contains("logs -f"));
    assert!(step.long_running.is_some());
}

#[test]
fn multi_line_commands_stay_whole() {
    let Some(runbook) = seed() else { return };
    let memory = step(&runbook, "memory-issues-oomkilled");
    let patch = memory.commands.iter().find(|c| c.text.starts_with("kubectl patch")).unwrap();
    assert_eq!((patch.line, patch.end_line), (137, 146));
    assert!(patch.text.ends_with("memory: \"8Gi\"\n'"), "{}", patch.text);
    assert_eq!(memory.commands.len(), 4);
    let latency = step(&runbook, "high-latency");
    assert!(latency.commands[0].text.starts_with("kubectl exec -it postgresql-0 -n aragora -- \\\n  psql"));
    assert!(latency.interactive.as_deref().unwrap().contains("-it"), "{:?}", latency.interactive);
    let flags = step(&runbook, "feature-flag-disable");
    assert_eq!(flags.commands.len(), 1);
}

#[test]
fn acknowledge_step_keeps_its_slack_command() {
    let Some(runbook) = seed() else { return };
    let ack = step(&runbook, "1-acknowledge-incident");
    assert_eq!(ack.commands.len(), 1);
    assert_eq!(ack.commands[0].text, "/incident create \"Brief description\"");
    assert!(!ack.commands[0].known_program);
    assert_eq!(ack.risk, Risk::Unknown);
}

#[test]
fn seed_list_json_snapshot() {
    let Some(path) = shared_path("seeds/incident-response.md") else { return };
    let output = opsbook(&["list", "--json", path.to_str().unwrap()], &repo());
    assert!(output.status.success(), "{}", text(&output.stderr));
    insta::assert_snapshot!("seed_list_json", text(&output.stdout));
}
