//! Moving in from Opsgenie before it closes: Ada reads her account through Opsgenie's
//! REST API (a local server that speaks it), applies the document, and onduty says who is
//! on call as Opsgenie's own timeline does. Refusals and failures midway are told apart.

use std::time::Duration;

use crate::moving_in::{keys, recorder};
use onduty_import::{ImportError, opsgenie};
use onduty_testkit::{OPSGENIE_KEY, OpsgenieApi, T0};

#[tokio::test]
async fn an_opsgenie_account_moves_in_and_keeps_who_is_on_call() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let og = OpsgenieApi::start().await;
    let (wait, waits) = recorder();
    og.rate_limit_once("/v2/escalations");
    let api = opsgenie::api(&og.url, OPSGENIE_KEY, wait).unwrap();
    let imported = opsgenie::import(&api, T0, 30, keys()).await.unwrap();
    assert_eq!(waits.lock().unwrap().as_slice(), [Duration::from_secs(1)]);
    let seen = og.seen();
    assert_eq!(
        seen.iter().filter(|p| *p == "/v2/users").count(),
        4,
        "{seen:?}"
    );
    assert_eq!(
        seen.iter().filter(|p| *p == "/v1/services").count(),
        2,
        "{seen:?}"
    );

    let doc = &imported.doc;
    assert_eq!(
        (doc.users.len(), doc.teams.len(), doc.schedules.len()),
        (10, 2, 3)
    );
    assert_eq!((doc.escalation_policies.len(), doc.services.len()), (2, 5));
    let text = imported.report.text("https://onduty.acme.example");
    for expected in [
        "~ user ken@acme.example: blocked in Opsgenie: disabled in onduty",
        "~ user frances@acme.example: custom role 'On-call lead' becomes a responder",
        "! user ada@acme.example: contact method mobile",
        "! escalation policy Platform escalation: the rule at 45 minutes for team Platform",
        "! integration Datadog (Datadog)",
        "! integration Old Grafana: disabled in Opsgenie: left out",
        "~ service Checkout: Opsgenie routes a team's alerts by its routing rules",
        "> Checkout / Default API: POST https://onduty.acme.example/v2/alerts with \
         Authorization: GenieKey",
        "> Checkout / Prometheus: https://onduty.acme.example/integrations/",
        "> Search / Support mail: mail to ",
    ] {
        assert!(text.contains(expected), "{expected}\nin\n{text}");
    }
    // The document passes onduty's own checks: nothing to edit before applying.
    assert!(!text.contains("the document at"), "{text}");
    for c in &imported.report.on_call {
        assert!(c.differences.is_empty(), "{text}");
    }
    // Levels wait for the next, as Opsgenie's rules waited from the start.
    let platform = &doc.escalation_policies[0];
    let waits: Vec<u32> = platform.levels.iter().map(|l| l.delay_minutes).collect();
    assert_eq!((waits, platform.repeat), (vec![15, 10], 2), "{text}");
    assert_eq!(platform.levels[0].targets.len(), 2);

    crate::moving_in::applied_answers_as(doc, OpsgenieApi::on_call).await;
}

#[tokio::test]
async fn an_opsgenie_api_that_refuses_or_fails_midway_gets_a_clear_message() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let og = OpsgenieApi::start().await;
    let (wait, _) = recorder();
    let wrong = opsgenie::api(&og.url, "wrong", wait.clone()).unwrap();
    let refused = opsgenie::import(&wrong, T0, 30, keys()).await.unwrap_err();
    assert!(matches!(
        refused,
        ImportError::Unauthorized { status: 401, .. }
    ));
    assert_eq!(
        refused.to_string(),
        "Opsgenie refused the credentials (401): Could not authenticate"
    );
    og.fail("/v2/schedules/s-business/timeline");
    let api = opsgenie::api(&og.url, OPSGENIE_KEY, wait).unwrap();
    let failed = opsgenie::import(&api, T0, 30, keys()).await.unwrap_err();
    assert_eq!(
        failed.to_string(),
        "Opsgenie answered 500 to GET /v2/schedules/s-business/timeline: Internal Server Error"
    );
}
