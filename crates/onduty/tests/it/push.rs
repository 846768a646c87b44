//! Push stories: a person's phone runs the ntfy app, subscribed to a topic on a local
//! ntfy server; pages ring it until someone acknowledges, and are taken back after.

use std::sync::Arc;
use std::time::Duration;

use onduty_notify::Providers;
use onduty_notify::ntfy::NtfyNotifier;
use onduty_notify::outbound::OutboundPolicy;
use onduty_testkit::ntfy::{NtfyServer, Received};
use onduty_testkit::{Backend, TestApp, backends, trigger_event};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::paging::{
    ALICE, MINUTE, code_in, enter_code, level, policy, service, timeline, verified_method,
};

/// onduty whose ntfy pushes go to `ntfy` (and everything else to the fake phones).
async fn onduty_pushing(backend: Backend) -> TestApp {
    TestApp::start_with_providers(
        backend,
        |_| {},
        |_, fake| {
            let local = OutboundPolicy::parse(&["127.0.0.1".to_owned()]).unwrap();
            Providers {
                ntfy: Some(Arc::new(NtfyNotifier::new(local.clone()))),
                outbound: local,
                ..Providers::all(fake)
            }
        },
    )
    .await
}

/// Alice with an ntfy topic protected by her token, verified with the code pushed to it.
/// Returns her API token and the method's id.
async fn alice_with_ntfy(app: &TestApp, ntfy: &NtfyServer) -> (String, String) {
    let token = app.user_token("Alice", "responder").await;
    ntfy.protect("alice-pages", "tk_alice");
    let (status, created) = app
        .api_as(
            &token,
            Method::POST,
            "/users/alice@example.com/contact-methods",
            Some(json!({"channel": "ntfy", "address": ntfy.topic_url("alice-pages"), "token": "tk_alice"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["verification"], "sent");
    assert_eq!(
        created["secret"],
        Value::Null,
        "her token is never shown back"
    );
    assert_eq!(created["default_rules"][0]["repeat_seconds"], 60);
    let published = ntfy.take_published();
    let code = code_in(&published[0]["message"]);
    let id = created["contact_method"]["id"].as_str().unwrap().to_owned();
    enter_code(app, &token, "alice@example.com", &id, &code).await;
    (token, id)
}

/// What Alice's topic receives when incident `number` is taken back from her phone.
fn taken_back(number: i64) -> Vec<Received> {
    vec![Received::Cleared {
        topic: "alice-pages".to_owned(),
        sequence_id: format!("onduty-incident-{number}"),
    }]
}

/// A service "Database" whose policy pages Alice; returns its routing key.
async fn database_paging_alice(app: &TestApp) -> String {
    policy(
        app,
        json!({"name": "Ops", "levels": [level(&["alice@example.com"], 30)]}),
    )
    .await;
    service(app, "Database", "Ops", json!({})).await
}

#[tokio::test]
async fn the_phone_rings_every_minute_until_alice_presses_acknowledge_then_it_goes_quiet() {
    for backend in backends() {
        let app = onduty_pushing(backend).await;
        let ntfy = NtfyServer::start().await;
        alice_with_ntfy(&app, &ntfy).await;
        let key = database_paging_alice(&app).await;

        app.send_event(trigger_event(&key, "db01/disk", "DISK at 99% on db01"))
            .await;
        app.tick().await;
        let pushed = ntfy.take_published();
        assert_eq!(pushed.len(), 1, "{pushed:?}");
        let page = &pushed[0];
        assert_eq!(page["topic"], "alice-pages");
        assert_eq!(page["sequence_id"], "onduty-incident-1");
        assert_eq!(page["priority"], 5, "high urgency is the loudest");
        assert_eq!(page["title"], "#1 Database");
        assert!(page["click"].as_str().unwrap().ends_with("/incidents/1"));
        let ack = &page["actions"][0];
        assert_eq!(ack["action"], "http");
        assert_eq!(ack["method"], "POST");
        assert_eq!(ack["clear"], true);

        // Nobody acknowledges: the same notification rings again every minute.
        for _ in 0..2 {
            app.pass(MINUTE).await;
            let again = ntfy.take_published();
            assert_eq!(again.len(), 1, "{again:?}");
            assert_eq!(again[0]["sequence_id"], "onduty-incident-1");
        }

        // Alice presses Acknowledge on her phone: the app POSTs the signed link.
        let pressed = reqwest::Client::new()
            .post(ack["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(pressed.status(), StatusCode::OK);
        let lines = timeline(&app, 1).await;
        assert!(
            lines.contains(&"Acknowledged by Alice via a one-click link".to_owned()),
            "{lines:?}"
        );

        // The notification is taken back from the phone, and it rings no more.
        app.tick().await;
        assert_eq!(ntfy.take(), taken_back(1));
        app.pass(10 * MINUTE).await;
        assert_eq!(ntfy.take(), Vec::new());
        app.stop().await;
    }
}

#[tokio::test]
async fn acknowledged_by_sms_the_push_is_taken_back_too() {
    let app = onduty_pushing(Backend::Sqlite).await;
    let ntfy = NtfyServer::start().await;
    let (alice, _) = alice_with_ntfy(&app, &ntfy).await;
    verified_method(&app, &alice, "alice@example.com", "sms", ALICE).await;
    let key = database_paging_alice(&app).await;
    app.send_event(trigger_event(&key, "db01/disk", "DISK at 99% on db01"))
        .await;
    app.tick().await;
    assert_eq!(ntfy.take_published().len(), 1);

    let (status, answer) = app
        .twilio_webhook("/twilio/sms", &[("From", ALICE), ("Body", "1a")])
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(answer.contains("Acknowledged #1"), "{answer}");
    app.tick().await;
    assert_eq!(ntfy.take(), taken_back(1));
    app.stop().await;
}

#[tokio::test]
async fn a_push_server_that_refuses_the_token_fails_the_method_and_the_next_rule_goes() {
    let app = onduty_pushing(Backend::Sqlite).await;
    let ntfy = NtfyServer::start().await;
    let (alice, _) = alice_with_ntfy(&app, &ntfy).await;
    let sms = verified_method(&app, &alice, "alice@example.com", "sms", ALICE).await;
    let (status, _) = app
        .api_as(
            &alice,
            Method::POST,
            "/users/alice@example.com/notification-rules",
            Some(json!({"contact_method": sms, "delay_minutes": 10})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let key = database_paging_alice(&app).await;

    // The topic's token was revoked on the ntfy server.
    ntfy.protect("alice-pages", "tk_new");
    app.send_event(trigger_event(&key, "db01/disk", "DISK at 99% on db01"))
        .await;
    app.tick().await;
    let lines = timeline(&app, 1).await;
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("ntfy of Alice: refused")),
        "{lines:?}"
    );
    let texts = app.notifier.take();
    assert!(
        texts.iter().any(|m| m.to == ALICE),
        "the SMS rule went at once, not after 10 minutes"
    );
}

#[tokio::test]
async fn a_push_server_that_is_down_is_tried_again() {
    let app = onduty_pushing(Backend::Sqlite).await;
    let ntfy = NtfyServer::start().await;
    alice_with_ntfy(&app, &ntfy).await;
    let key = database_paging_alice(&app).await;
    ntfy.fail_with(Some(StatusCode::SERVICE_UNAVAILABLE));
    app.send_event(trigger_event(&key, "db01/disk", "DISK at 99% on db01"))
        .await;
    app.tick().await;
    let lines = timeline(&app, 1).await;
    assert!(
        lines.iter().any(|l| l.contains("trying again")),
        "{lines:?}"
    );
    ntfy.fail_with(None);
    app.pass(Duration::from_secs(30)).await;
    let pushed = ntfy.take_published();
    assert!(
        pushed
            .iter()
            .any(|p| p["sequence_id"] == "onduty-incident-1"),
        "{pushed:?}"
    );
}

#[tokio::test]
async fn only_push_rules_repeat_and_an_ntfy_address_is_a_topic_url() {
    let app = onduty_pushing(Backend::Sqlite).await;
    let alice = app.user_token("Alice", "responder").await;
    let sms = verified_method(&app, &alice, "alice@example.com", "sms", ALICE).await;
    let (status, body) = app
        .api_as(
            &alice,
            Method::POST,
            "/users/alice@example.com/notification-rules",
            Some(json!({"contact_method": sms, "delay_minutes": 0, "repeat_seconds": 60})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = app
        .api_as(
            &alice,
            Method::POST,
            "/users/alice@example.com/contact-methods",
            Some(json!({"channel": "ntfy", "address": "https://ntfy.sh/"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ntfy topic URL"),
        "{body}"
    );
}

#[tokio::test]
async fn a_take_back_waiting_for_the_ntfy_server_survives_the_incident_being_resolved() {
    let app = onduty_pushing(Backend::Sqlite).await;
    let ntfy = NtfyServer::start().await;
    let (alice, _) = alice_with_ntfy(&app, &ntfy).await;
    let key = database_paging_alice(&app).await;
    app.send_event(trigger_event(&key, "db01/disk", "DISK at 99% on db01"))
        .await;
    app.tick().await;
    assert_eq!(ntfy.take_published().len(), 1);
    // Acknowledged while the ntfy server is down: the take-back waits to be tried again.
    ntfy.fail_with(Some(StatusCode::BAD_GATEWAY));
    let (status, _) = app
        .api_as(&alice, Method::POST, "/incidents/1/acknowledge", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    app.tick().await;
    let (status, _) = app
        .api_as(&alice, Method::POST, "/incidents/1/resolve", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    ntfy.fail_with(None);
    app.pass(Duration::from_secs(30)).await;
    assert_eq!(ntfy.take(), taken_back(1));
}

#[tokio::test]
async fn a_responder_added_to_an_acknowledged_incident_is_pushed_once_not_every_minute() {
    let app = onduty_pushing(Backend::Sqlite).await;
    let ntfy = NtfyServer::start().await;
    alice_with_ntfy(&app, &ntfy).await;
    let bob = app.user_token("Bob", "responder").await;
    verified_method(&app, &bob, "bob@example.com", "sms", crate::paging::BOB).await;
    policy(
        &app,
        json!({"name": "Ops", "levels": [level(&["bob@example.com"], 30)]}),
    )
    .await;
    let key = service(&app, "Database", "Ops", json!({})).await;
    app.send_event(trigger_event(&key, "db01/disk", "DISK at 99% on db01"))
        .await;
    app.tick().await;
    let (status, _) = app
        .api_as(&bob, Method::POST, "/incidents/1/acknowledge", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app
        .api_as(
            &bob,
            Method::POST,
            "/incidents/1/responders",
            Some(json!({"users": ["alice@example.com"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.tick().await;
    let pushed = ntfy.take_published();
    assert_eq!(pushed.len(), 1, "{pushed:?}");
    // Her rules fire once each: nothing until her second rule at 5 minutes.
    app.pass(4 * MINUTE).await;
    assert!(ntfy.take_published().is_empty(), "no repeats");
}
