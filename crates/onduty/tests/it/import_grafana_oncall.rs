//! Moving in from Grafana OnCall, whose open-source edition was archived: Ada reads her
//! account through OnCall's public API (a local server that speaks it), applies the
//! document, and onduty says who is on call as OnCall's final shifts do.

use std::time::Duration;

use crate::moving_in::{keys, recorder};
use onduty_import::{ImportError, grafana_oncall};
use onduty_testkit::{GrafanaOnCallApi, ONCALL_TOKEN, T0};

#[tokio::test]
async fn a_grafana_oncall_account_moves_in_and_keeps_who_is_on_call() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let oncall = GrafanaOnCallApi::start().await;
    let (wait, waits) = recorder();
    oncall.rate_limit_once("/api/v1/on_call_shifts/");
    let api = grafana_oncall::api(&oncall.url, ONCALL_TOKEN, wait).unwrap();
    let imported = grafana_oncall::import(&api, T0, 30, keys()).await.unwrap();
    assert_eq!(waits.lock().unwrap().as_slice(), [Duration::from_secs(2)]);
    let seen = oncall.seen();
    assert_eq!(
        seen.iter().filter(|p| *p == "/api/v1/users/").count(),
        4,
        "{seen:?}"
    );

    let doc = &imported.doc;
    assert_eq!(
        (doc.users.len(), doc.teams.len(), doc.schedules.len()),
        (10, 2, 3)
    );
    assert_eq!((doc.escalation_policies.len(), doc.services.len()), (2, 5));
    let text = imported.report.text("https://onduty.acme.example");
    assert!(!text.contains("the document at"), "{text}");
    for expected in [
        "~ user ada@acme.example: its important-notification rules are not read",
        "! escalation policy Platform chain: the step notify_user_group",
        "! integration Zabbix (zabbix)",
        "~ integration Grafana alerts: becomes a service of its own",
        "> Alertmanager / Alertmanager: https://onduty.acme.example/integrations/",
        "> Support mail / Support mail: mail to ",
    ] {
        assert!(text.contains(expected), "{expected}\nin\n{text}");
    }
    for c in &imported.report.on_call {
        assert!(c.differences.is_empty(), "{text}");
    }
    // OnCall's roles: a viewer only looks.
    let barbara = doc
        .users
        .iter()
        .find(|u| u.name == "Barbara Liskov")
        .unwrap();
    assert_eq!(barbara.role, onduty_core::account::Role::Observer);
    let platform = &doc.escalation_policies[0];
    let waits: Vec<u32> = platform.levels.iter().map(|l| l.delay_minutes).collect();
    assert_eq!(waits, [15, 30], "{text}");
    assert_eq!(platform.levels[0].targets.len(), 2);

    crate::moving_in::applied_answers_as(doc, GrafanaOnCallApi::on_call).await;
}

#[tokio::test]
async fn a_grafana_oncall_api_that_refuses_or_fails_midway_gets_a_clear_message() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let oncall = GrafanaOnCallApi::start().await;
    let (wait, _) = recorder();
    let wrong = grafana_oncall::api(&oncall.url, "wrong", wait.clone()).unwrap();
    let refused = grafana_oncall::import(&wrong, T0, 30, keys())
        .await
        .unwrap_err();
    assert!(matches!(
        refused,
        ImportError::Unauthorized { status: 401, .. }
    ));
    assert_eq!(
        refused.to_string(),
        "Grafana OnCall refused the credentials (401): Invalid token."
    );
    oncall.fail("/api/v1/escalation_chains/");
    let api = grafana_oncall::api(&oncall.url, ONCALL_TOKEN, wait).unwrap();
    let failed = grafana_oncall::import(&api, T0, 30, keys())
        .await
        .unwrap_err();
    assert_eq!(
        failed.to_string(),
        "Grafana OnCall answered 500 to GET /api/v1/escalation_chains/: A server error occurred."
    );
}
