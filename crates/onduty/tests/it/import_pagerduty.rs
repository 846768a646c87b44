//! Moving in from PagerDuty: Ada reads her account through PagerDuty's REST API (a local
//! server that speaks it), reviews the document and the report, applies it, and onduty
//! says who is on call as PagerDuty did. An API that refuses, throttles or fails midway
//! gets a clear message and nothing is written.

use std::time::Duration;

use crate::moving_in::{keys, recorder};
use onduty_core::config_doc::{self, Known};
use onduty_import::{ImportError, pagerduty};
use onduty_testkit::{PAGERDUTY_TOKEN, PagerDutyApi, T0};
use reqwest::Method;

#[tokio::test]
async fn a_pagerduty_account_moves_in_and_keeps_who_is_on_call() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let pd = PagerDutyApi::start().await;
    let (wait, waits) = recorder();
    // Throttled once midway: it waits as asked and goes on.
    pd.rate_limit_once("/schedules/PS00002");
    let api = pagerduty::api(&pd.url, PAGERDUTY_TOKEN, wait).unwrap();
    let imported = pagerduty::import(&api, T0, 30, keys()).await.unwrap();
    assert_eq!(waits.lock().unwrap().as_slice(), [Duration::from_secs(1)]);
    // Every page of every list was read (3 items a page here).
    let seen = pd.seen();
    assert_eq!(
        seen.iter().filter(|p| *p == "/users").count(),
        4,
        "{seen:?}"
    );

    let doc = &imported.doc;
    assert_eq!(doc.users.len(), 10);
    assert_eq!(doc.teams.len(), 2);
    assert_eq!(doc.schedules.len(), 3);
    assert_eq!(doc.escalation_policies.len(), 2);
    assert_eq!(doc.services.len(), 5);
    let report = &imported.report;
    let text = report.text("https://onduty.acme.example");
    // Approximately, and how; not at all, and why.
    for expected in [
        "~ service Billing: auto-resolve timeout of 90 s becomes 2 minutes",
        "~ service Billing: urgency by use_support_hours (support hours) becomes always high",
        "~ service Payments: integration Nagios: Events API v1 becomes Events API v2",
        "! user ada@acme.example: contact method Pixel (push_notification_contact_method)",
        "! service Warehouse: integration Datadog (datadog_inbound_integration)",
        "= schedule Primary, layer Old rota: ended, left out",
        "= service Checkout\n",
        "> Checkout / Prometheus: POST https://onduty.acme.example/v2/enqueue with routing_key",
        "> Checkout / Support mail: mail to ",
    ] {
        assert!(text.contains(expected), "{expected}\nin\n{text}");
    }
    // The document passes onduty's own checks: nothing to edit before applying.
    assert!(!text.contains("the document at"), "{text}");
    // Rotations keep who is on call, by PagerDuty's own answers.
    for c in &report.on_call {
        assert!(c.differences.is_empty(), "{text}");
        assert!(c.instants >= 720, "{c:?}");
    }
    assert!(text.contains("= Secondary: the same at all"), "{text}");
    assert!(
        !text.contains("= service Payments"),
        "approximate, not exact: {text}"
    );

    // Reviewed, applied: onduty answers as PagerDuty does.
    let app = crate::moving_in::applied_answers_as(doc, PagerDutyApi::on_call).await;
    // The keys the report lists are the service's.
    let (_, checkout) = app
        .api(Method::GET, "/services/Checkout/integrations", None)
        .await;
    let key = &report.integrations[0].key;
    assert!(checkout.to_string().contains(key.as_str()), "{checkout}");
}

#[tokio::test]
async fn an_api_that_refuses_or_fails_midway_gets_a_clear_message() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let pd = PagerDutyApi::start().await;
    let (wait, _) = recorder();
    let wrong = pagerduty::api(&pd.url, "not-the-token", wait.clone()).unwrap();
    let refused = pagerduty::import(&wrong, T0, 30, keys()).await.unwrap_err();
    assert!(matches!(
        refused,
        ImportError::Unauthorized { status: 401, .. }
    ));
    assert_eq!(
        refused.to_string(),
        "PagerDuty refused the credentials (401): Unauthorized"
    );

    // An account without the Teams feature: imported without teams, and told so.
    pd.forbid("/teams");
    let api = pagerduty::api(&pd.url, PAGERDUTY_TOKEN, wait.clone()).unwrap();
    let imported = pagerduty::import(&api, T0, 30, keys()).await.unwrap();
    assert!(imported.doc.teams.is_empty());
    let text = imported.report.text("https://onduty.acme.example");
    assert!(
        text.contains(
            "! teams: PagerDuty refused the credentials (403): Access Denied; make them in onduty"
        ),
        "{text}"
    );

    pd.fail("/escalation_policies");
    let api = pagerduty::api(&pd.url, PAGERDUTY_TOKEN, wait).unwrap();
    let failed = pagerduty::import(&api, T0, 30, keys()).await.unwrap_err();
    assert_eq!(
        failed.to_string(),
        "PagerDuty answered 500 to GET /escalation_policies: Internal Server Error"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_writes_the_document_for_its_owner_alone_and_the_report_beside_it() {
    let pd = PagerDutyApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("onduty.yaml");
    let import = |token: &str| {
        crate::process::onduty()
            .args(["import", "pagerduty", "--api-url", &pd.url, "--at"])
            .arg("2026-01-15T03:00:00Z")
            .arg("-o")
            .arg(&file)
            .env("PAGERDUTY_API_TOKEN", token)
            .env("ONDUTY_URL", "https://onduty.acme.example")
            .output()
            .unwrap()
    };
    let refused = import("wrong");
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message
            .contains("PagerDuty refused the credentials (401): Unauthorized; nothing was written"),
        "{message}"
    );
    assert!(!file.exists());

    let done = import(PAGERDUTY_TOKEN);
    let report = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{report}");
    assert!(
        report.contains("= Follow the sun: the same at all 720 moments"),
        "{report}"
    );
    assert!(
        report.contains("> Checkout / Prometheus: POST https://onduty.acme.example/v2/enqueue"),
        "{report}"
    );
    let yaml = std::fs::read_to_string(&file).unwrap();
    assert!(yaml.starts_with("# Imported from PagerDuty."), "{yaml}");
    config_doc::read(&yaml, &Known::default()).unwrap_or_else(|e| panic!("{e:?}\n{yaml}"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "it holds the new integration keys");
    }
}
