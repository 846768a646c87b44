//! The audit log: an admin changes a service through the API, a responder acknowledges
//! from their token, someone acts in the web UI; the admin reads who did what, from where
//! and through which door, with before → after. Nobody else reads it, no door changes it,
//! and retention removes entries past their age.

use std::time::Duration;

use onduty_engine::EngineConfig;
use onduty_testkit::{TestApp, backends, trigger_event};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::browser::logged_in_as;

const DAY: Duration = Duration::from_secs(86_400);

async fn entries(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, log) = app
        .api(Method::GET, &format!("/audit-log{query}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    log["entries"].as_array().cloned().unwrap_or_default()
}

fn one<'a>(entries: &'a [Value], action: &str) -> &'a Value {
    let found: Vec<&Value> = entries.iter().filter(|e| e["action"] == action).collect();
    assert_eq!(found.len(), 1, "one {action} in {entries:#?}");
    found[0]
}

#[tokio::test]
async fn every_change_is_written_down_with_who_where_how_and_before_after() {
    for backend in backends() {
        let app = TestApp::start_with(backend, |_| {}).await;
        // The admin makes a service and renames it, through the API with their token.
        let (service, key) = app.service("Checkout", "open").await;
        let (status, _) = app
            .api(
                Method::PATCH,
                &format!("/services/{service}"),
                Some(json!({"name": "Checkout API"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        // Rita, a responder, acknowledges an incident with her own token.
        let rita = app.user_token("Rita", "responder").await;
        app.send_event(trigger_event(&key, "cpu", "CPU high")).await;
        let (status, _) = app
            .api_as(&rita, Method::POST, "/incidents/1/acknowledge", None)
            .await;
        assert_eq!(status, StatusCode::OK);

        let log = entries(&app, "").await;
        let renamed = one(&log, "service.update");
        assert_eq!(renamed["user_email"], "admin@example.com", "{renamed}");
        assert_eq!(renamed["door"], "api");
        assert_eq!(renamed["token"], "tests");
        assert_eq!(renamed["address"], "127.0.0.1");
        assert_eq!(renamed["target"], service);
        // The configuration before and after: the old name went, the new one came.
        assert_eq!(
            renamed["before"]["services"]["Checkout"]["name"],
            "Checkout"
        );
        assert_eq!(
            renamed["after"]["services"]["Checkout API"]["name"],
            "Checkout API"
        );
        assert!(renamed["after"]["services"].get("Checkout").is_none());
        let created = one(&log, "service.create");
        assert!(created["before"].is_null(), "{created}");
        assert_eq!(created["after"]["services"]["Checkout"]["name"], "Checkout");
        // The integration's key is a secret: never in the log.
        assert!(!Value::Array(log.clone()).to_string().contains(&key));

        let acked = one(&log, "incident.acknowledge");
        assert_eq!(acked["user_email"], "rita@example.com");
        assert_eq!(acked["target"], "#1");
        assert_eq!(acked["before"]["status"], "triggered");
        assert_eq!(acked["after"]["status"], "acknowledged");
        // Newest first.
        let position = |action: &str| log.iter().position(|e| e["action"] == action);
        assert!(position("incident.acknowledge") < position("service.update"));
        assert!(position("service.update") < position("service.create"));

        // Filters and pages.
        let hers = entries(&app, "?user=rita@example.com").await;
        assert_eq!(hers.len(), 1, "{hers:#?}");
        let services = entries(&app, "?action=service").await;
        assert!(
            services
                .iter()
                .all(|e| e["action"].as_str().unwrap().starts_with("service."))
        );
        assert_eq!(services.len(), 2);
        let (_, first) = app.api(Method::GET, "/audit-log?limit=1", None).await;
        let cursor = first["next_cursor"].as_str().expect("more than one page");
        let second = entries(&app, &format!("?limit=1&cursor={cursor}")).await;
        assert_eq!(second[0]["id"], log[1]["id"]);
        let (status, _) = app
            .api(Method::GET, "/audit-log?action=x%27%3B--", None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // Only admins read it; no method changes it.
        let (status, _) = app.api_as(&rita, Method::GET, "/audit-log", None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let (status, _) = app
                .api(method.clone(), "/audit-log", Some(json!({"entries": []})))
                .await;
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        }
        let (status, _) = app
            .api(
                Method::DELETE,
                &format!("/audit-log/{}", log[0]["id"]),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(entries(&app, "").await, log, "({backend:?})");
    }
}

#[tokio::test]
async fn the_web_ui_records_its_door_and_shows_the_log_to_admins_only() {
    let app = TestApp::start().await;
    app.service("Payments <script>alert(1)</script>", "open")
        .await;
    let mut admin = logged_in_as(&app, "Wendy", "admin").await;
    // A setting changed through the settings form.
    let form = admin.get("/settings").await;
    let csrf = form.csrf();
    let saved = admin
        .post(
            "/settings",
            &[
                ("csrf", csrf.as_str()),
                ("postmortem_provisional_hours", "48"),
                ("postmortem_final_business_days", "5"),
                ("sleep_page_budget", "3"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let log = entries(&app, "?action=settings").await;
    let changed = one(&log, "settings.update");
    assert_eq!(changed["door"], "web");
    assert!(changed["token"].is_null());
    assert_eq!(changed["user_email"], "wendy@example.com");
    assert_eq!(changed["after"]["postmortem_provisional_hours"], 48);
    assert_ne!(changed["before"], changed["after"]);

    let page = admin.get("/audit").await;
    assert_eq!(page.status, StatusCode::OK);
    page.shows("settings.update");
    page.shows("wendy@example.com");
    // What people typed is shown as text.
    assert!(!page.body.contains("<script>alert(1)</script>"));
    page.shows("Payments &#60;script&#62;");
    let filtered = admin.get("/audit?action=service.create").await;
    assert!(!filtered.body.contains("settings.update"));

    let mut observer = logged_in_as(&app, "Olive", "observer").await;
    let refused = observer.get("/audit").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn entries_older_than_their_retention_are_pruned() {
    for backend in backends() {
        let app = TestApp::start_with(backend, |_| {}).await;
        app.service("Old", "open").await;
        let old = entries(&app, "").await.len();
        assert!(old >= 2, "{old}");
        let (engine, _) = crate::engine::instance_with(
            &app,
            EngineConfig {
                public_url: app.url.clone(),
                holder: "retention".to_owned(),
                lease: Duration::from_secs(3),
                watchdog: None,
                takeover_key: None,
                retention: None,
                audit_retention: onduty_core::retention::Retention::audit_days(30).ok(),
            },
        )
        .await;
        engine.tick(app.now()).await.unwrap();
        assert_eq!(entries(&app, "").await.len(), old, "kept within 30 days");
        app.advance(31 * DAY);
        app.service("New", "open").await;
        engine.tick(app.now()).await.unwrap();
        let left = entries(&app, "").await;
        assert!(!left.is_empty());
        assert!(
            left.iter()
                .all(|e| e["target"] != "Old" && e["after"]["services"].get("Old").is_none()),
            "({backend:?}) {left:#?}"
        );
    }
}
