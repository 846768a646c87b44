//! Applying configuration: Ada moves her team's configuration to a new onduty by
//! exporting it and applying it there, then keeps it in Git and applies each edit. A
//! document with a problem changes nothing.

use onduty_core::config_doc::{self, Known};
use onduty_testkit::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::config_as_code::{Configured, configured};

async fn export(app: &TestApp, query: &str) -> String {
    app.api_text(&format!("/config{query}"), "application/yaml")
        .await
}

/// Applies `yaml` as the admin, with `query` (`?prune=true`, `?dry_run=true`).
async fn apply(app: &TestApp, yaml: &str, query: &str) -> (StatusCode, Value) {
    let answer = app
        .http
        .post(format!("{}/api/v1/config/apply{query}", app.url))
        .bearer_auth(&app.admin_token)
        .header("content-type", "application/yaml")
        .body(yaml.to_owned())
        .send()
        .await
        .unwrap();
    let status = answer.status();
    (status, answer.json().await.unwrap())
}

#[tokio::test]
async fn a_configuration_moves_to_an_empty_server_and_reads_back_the_same() {
    let old = TestApp::start().await;
    let Configured { key, ping_key, .. } = configured(&old).await;
    // Chat channels (a Teams webhook is a secret) and a maintenance window under way.
    for (method, path, body) in [
        (Method::POST, "/teams", json!({"name": "Web"})),
        (
            Method::PUT,
            "/teams/Web/members/alice@example.com",
            json!({}),
        ),
        (
            Method::POST,
            "/teams/Web/chat-channels",
            json!({"platform": "teams", "channel": "https://acme.webhook.office.com/workflows/web"}),
        ),
        (
            Method::POST,
            "/services/Checkout/chat-channels",
            json!({"platform": "slack", "channel": "C0123ABCD"}),
        ),
        (
            Method::POST,
            "/maintenance",
            json!({"services": ["Checkout"], "minutes": 120, "reason": "database upgrade"}),
        ),
    ] {
        let (status, made) = old.api(method, path, Some(body)).await;
        assert!(status.is_success(), "{path}: {made}");
    }
    let moved = export(&old, "?with_secrets=true").await;
    for part in [
        "chat_channels:",
        "C0123ABCD",
        "workflows/web",
        "database upgrade",
    ] {
        assert!(moved.contains(part), "{part} in {moved}");
    }
    assert!(!export(&old, "").await.contains("workflows/web"));

    let new = TestApp::start().await;
    let (status, applied) = apply(&new, &moved, "?dry_run=true").await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    assert_eq!(applied["applied"], false);
    assert_eq!(export(&new, "").await.matches("- email:").count(), 1);

    let (status, applied) = apply(&new, &moved, "").await;
    assert_eq!(status, StatusCode::OK, "{applied}\n{moved}");
    assert_eq!(applied["applied"], true);
    let text = applied["text"].as_str().unwrap();
    for made in [
        "+ create user alice@example.com\n",
        "+ create schedule Primary\n",
        "+ create escalation policy Ops\n",
        "+ create service Checkout\n",
        "+ create status page acme\n",
        "+ create team Web\n",
        "+ create maintenance window ",
    ] {
        assert!(text.contains(made), "{made} in {text}");
    }
    // The same document back, keys and all: the monitoring tools need not change.
    assert_eq!(export(&new, "?with_secrets=true").await, moved);
    let (status, _) = new.api(Method::GET, "/services/Checkout", None).await;
    assert_eq!(status, StatusCode::OK);
    let event = json!({"routing_key": key, "event_action": "trigger",
        "payload": {"summary": "disk full", "source": "db1", "severity": "critical"}});
    let (status, body) = new.send_event(event).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let ping = new
        .http
        .get(format!("{}/ping/{ping_key}", new.url))
        .send()
        .await
        .unwrap();
    assert!(ping.status().is_success(), "{}", ping.status());

    // Applying it again changes nothing.
    let (status, again) = apply(&new, &moved, "").await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["text"], "No changes.\n");
    assert_eq!(again["applied"], false);
}

#[tokio::test]
async fn each_edit_is_applied_and_a_document_with_a_problem_changes_nothing() {
    let app = TestApp::start().await;
    configured(&app).await;
    let yaml = export(&app, "").await;

    // Alice's number changes: she verifies it again before pages go there.
    let (status, methods) = app
        .api(
            Method::GET,
            "/users/alice@example.com/contact-methods",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let sms = |methods: &Value| {
        methods["contact_methods"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["channel"] == "sms")
            .cloned()
            .unwrap()
    };
    assert_eq!(sms(&methods)["verified"], true, "{methods}");
    let number = sms(&methods)["address"].as_str().unwrap().to_owned();
    let renumbered = yaml.replace(&number, "+4915199999999");
    let edited = renumbered.clone() + "teams:\n- name: Web\n  members: [alice@example.com]\n";
    let (status, applied) = apply(&app, &edited, "").await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    assert_eq!(
        applied["changes"],
        json!([
            {"kind": "user", "name": "alice@example.com", "action": "update", "fields": ["contact_methods"]},
            {"kind": "team", "name": "Web", "action": "create"},
        ])
    );
    let (_, methods) = app
        .api(
            Method::GET,
            "/users/alice@example.com/contact-methods",
            None,
        )
        .await;
    let changed = sms(&methods);
    assert_eq!(
        (changed["address"].as_str(), &changed["verified"]),
        (Some("+4915199999999"), &json!(false)),
        "{methods}"
    );
    // Her rules still use it: the method kept its id.
    let (_, rules) = app
        .api(
            Method::GET,
            "/users/alice@example.com/notification-rules",
            None,
        )
        .await;
    assert!(
        rules["notification_rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["contact_method_id"] == changed["id"]),
        "{rules}"
    );
    let (_, team) = app.api(Method::GET, "/teams/Web", None).await;
    assert_eq!(
        team["team"]["members"].as_array().unwrap().len(),
        1,
        "{team}"
    );

    // A webhook to an internal address is refused, and so is the whole document.
    let before = export(&app, "?with_secrets=true").await;
    let bad = edited.replace(
        "- name: Web\n",
        "- name: Night\n  members: []\n- name: Web\n",
    );
    let bad = bad.replacen(
        "  contact_methods:\n",
        "  contact_methods:\n  - name: hook\n    type: webhook\n    address: http://169.254.169.254/latest\n",
        1,
    );
    let (status, refused) = apply(&app, &bad, "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}\n{bad}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains("contact method hook"), "{message}");
    assert_eq!(export(&app, "?with_secrets=true").await, before);

    // A refusal inside the transaction leaves nothing either: a new service's key is
    // already Checkout's.
    let secret = export(&app, "?with_secrets=true").await;
    let doc = config_doc::read(&secret, &Known::default()).unwrap();
    let taken = doc.services[0].integrations[0].key.clone().unwrap();
    let mut clashing = config_doc::read(&edited, &Known::default()).unwrap();
    let mut night = clashing.teams[0].clone();
    night.name = "Night".to_owned();
    clashing.teams.push(night);
    let mut billing = clashing.services[0].clone();
    billing.name = "Billing".to_owned();
    billing.heartbeats.clear();
    billing.integrations.truncate(1);
    billing.integrations[0].key = Some(taken);
    clashing.services.push(billing);
    let (status, refused) = apply(&app, &config_doc::to_yaml(&clashing).unwrap(), "").await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(export(&app, "?with_secrets=true").await, before);

    // Written in another order, rules are the same rules: nothing to do.
    let mut reordered = config_doc::read(&renumbered, &Known::default()).unwrap();
    let alice = reordered
        .users
        .iter_mut()
        .find(|u| u.email == "alice@example.com")
        .unwrap();
    alice.notification_rules.reverse();
    alice.contact_methods.reverse();
    let reordered = config_doc::to_yaml(&reordered).unwrap()
        + "teams:\n- name: Web\n  members: [alice@example.com]\n";
    let (status, same) = apply(&app, &reordered, "?dry_run=true").await;
    assert_eq!(status, StatusCode::OK, "{same}");
    assert_eq!(same["text"], "No changes.\n", "{reordered}");

    // The admin applying a document cannot demote themselves.
    let demoted = renumbered.replacen("role: admin", "role: responder", 1);
    let (status, refused) = apply(&app, &demoted, "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("would change the role of the person applying it"),
        "{refused}"
    );

    // With prune, the team the document leaves out goes; but not the admin applying it.
    let (status, pruned) = apply(&app, &renumbered, "?prune=true").await;
    assert_eq!(status, StatusCode::OK, "{pruned}");
    assert_eq!(
        pruned["changes"],
        json!([{"kind": "team", "name": "Web", "action": "delete"}]),
        "{pruned}"
    );
    let mut without_admin = config_doc::read(&renumbered, &Known::default()).unwrap();
    without_admin
        .users
        .retain(|u| u.role != onduty_core::account::Role::Admin);
    let (status, refused) = apply(
        &app,
        &config_doc::to_yaml(&without_admin).unwrap(),
        "?prune=true",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("would delete the person applying it"),
        "{refused}"
    );
}

/// The README's example document, as a new user copies it.
fn readme_example() -> String {
    let readme = include_str!("../../../../README.md");
    let section = &readme[readme.find("## Configuration as code").unwrap()..];
    let start = section.find("```yaml\n").unwrap() + "```yaml\n".len();
    section[start..start + section[start..].find("```").unwrap()].to_owned()
}

#[tokio::test]
async fn the_readme_example_applies_on_a_fresh_server() {
    let app = TestApp::start().await;
    let example = readme_example();
    let (status, applied) = apply(&app, &example, "").await;
    assert_eq!(status, StatusCode::OK, "{applied}\n{example}");
    assert_eq!(applied["applied"], true);
    let (status, again) = apply(&app, &example, "").await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        again["text"], "No changes.\n",
        "applying twice changes nothing"
    );

    // What it made is in force: Alice is on call on a weekday morning.
    let (status, oncall) = app
        .api(Method::GET, "/oncall?at=2026-01-06T10:00:00Z", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{oncall}");
    let primary = &oncall["schedules"][0];
    assert_eq!(primary["name"], "Primary", "{oncall}");
    assert_eq!(
        primary["on_call"][0]["email"], "alice@example.com",
        "{oncall}"
    );
    // Outside the layer's restriction (08:00 to 20:00 in Berlin), nobody.
    let (_, night) = app
        .api(Method::GET, "/oncall?at=2026-01-06T22:00:00Z", None)
        .await;
    assert_eq!(night["schedules"][0]["on_call"], json!([]), "{night}");
}

#[tokio::test]
async fn a_maintenance_window_given_a_new_reason_is_made_again_once() {
    let app = TestApp::start().await;
    configured(&app).await;
    let (status, made) = app
        .api(
            Method::POST,
            "/maintenance",
            Some(json!({"services": ["Checkout"], "minutes": 120, "reason": "database upgrade"})),
        )
        .await;
    assert!(status.is_success(), "{made}");
    let yaml = export(&app, "").await;
    let edited = yaml.replace("database upgrade", "database upgrade, then a reindex");
    let (status, applied) = apply(&app, &edited, "").await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    let (status, again) = apply(&app, &edited, "").await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["text"], "No changes.\n");
    let (_, windows) = app.api(Method::GET, "/maintenance", None).await;
    let reasons: Vec<&str> = windows["maintenance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["database upgrade, then a reindex"], "{windows}");

    // A month is the longest a window may quiet a service, as by hand.
    let mut doc = config_doc::read(&edited, &Known::default()).unwrap();
    doc.maintenance_windows[0].end = "2027-12-31T00:00:00Z".to_owned();
    let (status, refused) = apply(&app, &config_doc::to_yaml(&doc).unwrap(), "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("within 31 days"),
        "{refused}"
    );
}

#[tokio::test]
async fn invalid_yaml_a_name_twice_or_a_missing_person_change_nothing() {
    let app = TestApp::start().await;
    configured(&app).await;
    let before = export(&app, "?with_secrets=true").await;
    let twice = "version: 1\nteams:\n- name: Web\n  members: []\n- name: Web\n  members: []\n";
    let missing = "version: 1\nteams:\n- name: Night\n  members: [nobody@example.com]\n";
    for (yaml, expected) in [
        (
            "version: 1\nteams: [name: Web\n",
            "line 3: not YAML onduty can read",
        ),
        (twice, "line 5: teams[1].name: 'Web' is named twice"),
        (
            missing,
            "line 4: teams[0].members[0]: no person 'nobody@example.com'",
        ),
        ("version: 1\nteams:\n- name: Web\n  colour: red\n", "colour"),
    ] {
        let (status, refused) = apply(&app, yaml, "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{yaml}: {refused}");
        let message = refused["error"]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{expected} in {message}");
    }
    assert_eq!(export(&app, "?with_secrets=true").await, before);
}
