//! Moving in from Grafana OnCall, whose open-source edition was archived: Ada reads her
//! account through OnCall's public API (a local server that speaks it), applies the
//! document, and onduty says who is on call as OnCall's final shifts do.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use onduty_core::config_doc::{self, Known};
use onduty_import::fetch::Wait;
use onduty_import::{ImportError, grafana_oncall};
use onduty_testkit::{GrafanaOnCallApi, ONCALL_TOKEN, T0, TestApp};
use reqwest::{Method, StatusCode};

fn recorder() -> (Wait, Arc<Mutex<Vec<Duration>>>) {
    let waits = Arc::new(Mutex::new(Vec::new()));
    let seen = waits.clone();
    let wait: Wait = Arc::new(move |d| {
        seen.lock().unwrap().push(d);
        Box::pin(async {})
    });
    (wait, waits)
}

fn keys() -> impl FnMut() -> String {
    let mut n = 0;
    move || {
        n += 1;
        format!("{n:032x}")
    }
}

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
        "! user ada@acme.example: important notifications, the step notify_by_phone_call",
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
    let platform = &doc.escalation_policies[0];
    let waits: Vec<u32> = platform.levels.iter().map(|l| l.delay_minutes).collect();
    assert_eq!(waits, [15, 30], "{text}");
    assert_eq!(platform.levels[0].targets.len(), 2);

    let yaml = config_doc::to_yaml(doc).unwrap();
    config_doc::read(&yaml, &Known::default()).unwrap_or_else(|e| panic!("{e:?}\n{yaml}"));
    let app = TestApp::start().await;
    let answer = app
        .http
        .post(format!("{}/api/v1/config/apply", app.url))
        .bearer_auth(&app.admin_token)
        .header("content-type", "application/yaml")
        .body(yaml.clone())
        .send()
        .await
        .unwrap();
    let status = answer.status();
    assert_eq!(status, StatusCode::OK, "{}", answer.text().await.unwrap());
    for hours in [1, 30, 77, 150, 200, 300, 437, 500, 560, 610, 700] {
        let at =
            jiff::Timestamp::from_millisecond(T0.as_millis() + hours * 3_600_000 + 60_000).unwrap();
        let (status, oncall) = app
            .api(Method::GET, &format!("/oncall?at={at}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{oncall}");
        for s in oncall["schedules"].as_array().unwrap() {
            let name = s["name"].as_str().unwrap();
            let onduty: Vec<String> = s["on_call"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["email"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(
                onduty,
                GrafanaOnCallApi::on_call(name, at),
                "{name} at {at}"
            );
        }
    }
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
