//! Configuration as code: Ada exports her team's configuration to keep it in Git, edits
//! it, and asks what applying it would change — before changing anything.

use onduty_core::config_doc::{self, Known};
use onduty_testkit::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::paging::{ALICE, level, person, policy, service};

/// The configuration as the API exports it.
async fn export(app: &TestApp, query: &str) -> String {
    app.api_text(&format!("/config{query}"), "application/yaml")
        .await
}

/// What applying `yaml` would change, as the holder of `token` asks.
async fn plan(app: &TestApp, token: &str, yaml: &str, prune: bool) -> (StatusCode, Value) {
    let answer = app
        .http
        .post(format!("{}/api/v1/config/plan?prune={prune}", app.url))
        .bearer_auth(token)
        .header("content-type", "application/yaml")
        .body(yaml.to_owned())
        .send()
        .await
        .unwrap();
    let status = answer.status();
    (status, answer.json().await.unwrap())
}

/// What [`configured`] made that a story needs.
pub(crate) struct Configured {
    /// Alice's token (a responder).
    pub alice: String,
    /// Checkout's first integration key.
    pub key: String,
    /// The nightly-backup heartbeat's ping key.
    pub ping_key: String,
}

/// A team's configuration made through the API, as people make it: Alice with an SMS and
/// an ntfy topic, the Ops policy, Checkout with two integrations named alike and a
/// heartbeat, the Primary schedule whose rotation names Bob, who was deleted since, and
/// the acme status page.
pub(crate) async fn configured(app: &TestApp) -> Configured {
    let alice = person(app, "Alice", ALICE).await;
    policy(
        app,
        json!({"name": "Ops", "levels": [level(&["alice@example.com"], 30)]}),
    )
    .await;
    let key = service(app, "Checkout", "Ops", json!({"flap_window_minutes": 10})).await;
    let (status, made) = app
        .api(
            Method::POST,
            "/schedules",
            Some(
                json!({"name": "Primary", "time_zone": "Europe/Berlin", "layers": [{
                "name": "Weekly", "participants": ["alice@example.com"],
                "start": "2026-01-05T09:00", "shift": {"unit": "weeks", "count": 1},
                "restrictions": [{"type": "daily", "start": "08:00", "end": "20:00"}]}]}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");

    let (status, made) = app
        .api(
            Method::POST,
            "/services/Checkout/heartbeats",
            Some(json!({"name": "nightly-backup", "period_minutes": 60, "grace_minutes": 10})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let ping_key = made["heartbeat"]["ping_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();

    // Alice's phone app, a second integration, and Bob, who was on the rotation and left.
    let (status, made) = app
        .api_as(
            &alice,
            Method::POST,
            "/users/alice@example.com/contact-methods",
            Some(json!({"channel": "ntfy", "address": "https://ntfy.example.com/alice-secret-topic", "name": "phone app"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let (status, made) = app
        .api(
            Method::POST,
            "/services/Checkout/integrations",
            Some(json!({"name": "Prometheus", "type": "events_v2"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    app.user_token("Bob", "responder").await;
    let (status, made) = app
        .api(
            Method::PUT,
            "/schedules/Primary",
            Some(
                json!({"name": "Primary", "time_zone": "Europe/Berlin", "layers": [{
                "name": "Weekly", "participants": ["alice@example.com", "bob@example.com"],
                "start": "2026-01-05T09:00", "shift": {"unit": "weeks", "count": 1},
                "restrictions": [{"type": "daily", "start": "08:00", "end": "20:00"}]}]}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{made}");
    let (status, _) = app
        .api(Method::DELETE, "/users/bob@example.com", None)
        .await;
    assert!(status.is_success(), "{status}");

    crate::status_page::acme(app).await;
    Configured {
        alice,
        key,
        ping_key,
    }
}

#[tokio::test]
async fn the_configuration_is_exported_by_name_and_a_plan_shows_each_change() {
    let app = TestApp::start().await;
    let Configured {
        alice,
        key,
        ping_key,
    } = configured(&app).await;

    // Exported by name, without keys unless asked; it reads back as it is.
    let yaml = export(&app, "").await;
    let doc =
        config_doc::read(&yaml, &Known::default()).unwrap_or_else(|e| panic!("{e:?}\n{yaml}"));
    let alice_doc = doc
        .users
        .iter()
        .find(|u| u.email == "alice@example.com")
        .unwrap();
    let sms = alice_doc
        .contact_methods
        .iter()
        .find(|m| m.channel == onduty_core::contact::Channel::Sms)
        .unwrap();
    assert_eq!(sms.address.as_deref(), Some(ALICE));
    // An ntfy topic is a secret: left out unless asked for.
    let ntfy = alice_doc
        .contact_methods
        .iter()
        .find(|m| m.name == "phone app")
        .unwrap();
    assert_eq!(ntfy.address, None, "{yaml}");
    // Two integrations named alike are told apart.
    let names: Vec<&str> = doc.services[0]
        .integrations
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(names, ["Prometheus", "Prometheus 2"], "{yaml}");
    // The status page and its components, groups and services by name.
    let acme = &doc.status_pages[0];
    assert_eq!(
        (acme.slug.as_str(), acme.time_zone.as_str()),
        ("acme", "Europe/London")
    );
    let shown: Vec<(&str, Option<&str>, Option<&str>)> = acme
        .components
        .iter()
        .map(|c| (c.name.as_str(), c.group.as_deref(), c.service.as_deref()))
        .collect();
    assert!(shown.contains(&("API", None, Some("Checkout"))), "{yaml}");
    assert!(shown.contains(&("EU", Some("Regions"), None)), "{yaml}");
    // A deleted person the rotation still names is kept, disabled.
    let gone = doc.users.iter().find(|u| u.name == "Bob").unwrap();
    assert!(
        gone.disabled && gone.email.ends_with("@deleted.invalid"),
        "{yaml}"
    );
    assert_eq!(doc.escalation_policies[0].name, "Ops");
    let checkout = doc.services.iter().find(|s| s.name == "Checkout").unwrap();
    assert_eq!(checkout.escalation_policy.as_deref(), Some("Ops"));
    assert_eq!(checkout.flap_window_minutes, Some(10));
    assert!(checkout.integrations[0].key.is_none(), "{yaml}");
    assert_eq!(
        checkout.integrations.len(),
        2,
        "a heartbeat's integration goes with it"
    );
    assert_eq!(checkout.heartbeats[0].name, "nightly-backup");
    assert_eq!(checkout.heartbeats[0].period_minutes, Some(60));
    assert!(checkout.heartbeats[0].key.is_none());
    assert_eq!(doc.schedules[0].layers[0].start, "2026-01-05T09:00");
    assert!(
        !yaml.contains("password") && !yaml.contains("odt_"),
        "{yaml}"
    );
    let secret = export(&app, "?with_secrets=true").await;
    assert!(secret.contains(&key), "{secret}");
    assert!(secret.contains(&ping_key), "{secret}");
    assert!(secret.contains("alice-secret-topic"), "{secret}");
    assert!(!yaml.contains("alice-secret-topic"), "{yaml}");

    // The export changes nothing, even with prune.
    let (status, same) = plan(&app, &app.admin_token, &yaml, true).await;
    assert_eq!(status, StatusCode::OK, "{same}");
    assert_eq!(same["changes"], json!([]));
    assert_eq!(same["text"], "No changes.\n");

    // A team added and a setting changed.
    assert!(!yaml.contains("teams:"), "no team yet: {yaml}");
    let edited = yaml.replace("flap_window_minutes: 10", "flap_window_minutes: 15")
        + "teams:\n- name: Web\n  members: [alice@example.com]\n";
    let (status, changes) = plan(&app, &app.admin_token, &edited, false).await;
    assert_eq!(status, StatusCode::OK, "{changes}");
    assert_eq!(
        changes["changes"],
        json!([
            {"kind": "team", "name": "Web", "action": "create"},
            {"kind": "service", "name": "Checkout", "action": "update", "fields": ["flap_window_minutes"]},
        ]),
        "{edited}"
    );
    // With prune, what the document leaves out goes; but services and status pages are
    // never deleted, so a policy a left-out service pages with must stay.
    let people_only = config_doc::to_yaml(&config_doc::ConfigDoc {
        version: 1,
        users: doc.users.clone(),
        ..Default::default()
    })
    .unwrap();
    let (status, refused) = plan(&app, &app.admin_token, &people_only, true).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("service Checkout is not in the document and stays")
            && message.contains("escalation policy Ops"),
        "{message}"
    );
    let without_schedules = config_doc::to_yaml(&config_doc::ConfigDoc {
        schedules: Vec::new(),
        status_pages: Vec::new(),
        ..doc.clone()
    })
    .unwrap();
    let (status, pruned) = plan(&app, &app.admin_token, &without_schedules, true).await;
    assert_eq!(status, StatusCode::OK, "{pruned}");
    let text = pruned["text"].as_str().unwrap();
    assert_eq!(
        pruned["changes"],
        json!([{"kind": "schedule", "name": "Primary", "action": "delete"}]),
        "{text}"
    );
    assert!(
        text.starts_with("! status page acme is not in the document and stays"),
        "{text}"
    );

    // Every problem named with its line and field; nothing planned.
    let broken = yaml.replacen(
        "flap_window_minutes: 10",
        "flap_window_minutes: 10\n  colour: red",
        1,
    );
    let (status, refused) = plan(&app, &app.admin_token, &broken, false).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains("colour"), "{message}");
    assert!(message.starts_with("line "), "{message}");
    let (status, refused) = plan(
        &app,
        &app.admin_token,
        "version: 1\nteams:\n- name: Web\n  members: [nobody@example.com]\n",
        false,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refused["error"]["message"],
        "line 4: teams[0].members[0]: no person 'nobody@example.com'"
    );

    // Admins only; the schema is for anyone's editor.
    let (status, _) = plan(&app, &alice, &yaml, false).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.api_as(&alice, Method::GET, "/config", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let schema = crate::status_page::document(&app, "/api/v1/config/schema").await;
    assert_eq!(schema["title"], "onduty configuration");
}
