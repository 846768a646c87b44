//! Status page stories: an outage told to the public through the page and Statuspage's
//! API, a maintenance that starts, quiets paging and completes on the manual clock, and
//! what never reaches the public.

use onduty_testkit::{TestApp, trigger_event};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::paging::{ALICE, MINUTE, level, pages_to, person, policy, service};

/// GETs a public path (no token); the status, the headers and the body as text.
pub(crate) async fn public(
    app: &TestApp,
    path: &str,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let response = app
        .http
        .get(format!("{}{path}", app.url))
        .send()
        .await
        .expect("request reaches the test server");
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

pub(crate) async fn document(app: &TestApp, path: &str) -> Value {
    let (status, headers, body) = public(app, path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    assert_eq!(headers["content-type"], "application/json");
    serde_json::from_str(&body).unwrap()
}

/// A page "acme" with an API component linked to the Checkout service, and a group
/// "Regions" holding "EU"; returns the API component's id.
pub(crate) async fn acme(app: &TestApp) -> String {
    let mut made = Vec::new();
    for (path, body) in [
        (
            "/status-pages",
            json!({"slug": "acme", "name": "Acme", "time_zone": "Europe/London"}),
        ),
        (
            "/status-pages/acme/components",
            json!({"name": "API", "description": "api.acme.test", "service": "Checkout"}),
        ),
        (
            "/status-pages/acme/components",
            json!({"name": "Regions", "group": true}),
        ),
        (
            "/status-pages/acme/components",
            json!({"name": "EU", "group_id": "Regions"}),
        ),
    ] {
        let (status, answer) = app.api(Method::POST, path, Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        made.push(answer);
    }
    made[1]["component"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_outage_is_told_to_the_public_and_resolved_in_statuspages_words() {
    let app = TestApp::start().await;
    app.service("Checkout", "open").await;
    let api_id = acme(&app).await;

    // All is well at first.
    let summary = document(&app, "/status/acme/api/v2/summary.json").await;
    assert_eq!(summary["page"]["name"], "Acme");
    assert_eq!(summary["page"]["time_zone"], "Europe/London");
    assert!(
        summary["page"]["url"]
            .as_str()
            .unwrap()
            .ends_with("/status/acme")
    );
    assert_eq!(
        summary["status"],
        json!({"indicator": "none", "description": "All Systems Operational"})
    );
    let components = summary["components"].as_array().unwrap();
    assert_eq!(components.len(), 3);
    assert_eq!(components[0]["name"], "API");
    assert_eq!(components[0]["status"], "operational");
    assert_eq!(components[0]["description"], "api.acme.test");
    assert_eq!(components[1]["group"], true);
    assert_eq!(components[1]["components"], json!([components[2]["id"]]));
    assert_eq!(components[2]["group_id"], components[1]["id"]);
    assert!(summary["incidents"].as_array().unwrap().is_empty());

    // A public incident: the API is partly down as the update posts.
    let (status, opened) = app
        .api(
            Method::POST,
            "/status-pages/acme/incidents",
            Some(json!({
                "name": "Checkout errors",
                "body": "Some payments fail. We are looking into it.",
                "components": {"API": "partial_outage"},
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    let incident = &opened["incident"];
    assert_eq!(incident["status"], "investigating");
    assert_eq!(incident["impact"], "major", "the worst state set decides");
    let id = incident["id"].as_str().unwrap().to_owned();

    let summary = document(&app, "/status/acme/api/v2/summary.json").await;
    assert_eq!(
        summary["status"],
        json!({"indicator": "major", "description": "Partial System Outage"})
    );
    assert_eq!(summary["components"][0]["status"], "partial_outage");
    let listed = &summary["incidents"][0];
    assert_eq!(listed["name"], "Checkout errors");
    assert_eq!(listed["status"], "investigating");
    assert_eq!(listed["impact"], "major");
    assert_eq!(listed["components"][0]["id"], api_id.as_str());
    let first = &listed["incident_updates"][0];
    assert_eq!(first["status"], "investigating");
    assert_eq!(first["body"], "Some payments fail. We are looking into it.");
    assert_eq!(first["incident_id"], id.as_str());
    assert_eq!(
        first["affected_components"],
        json!([{"code": api_id, "name": "API", "old_status": "operational", "new_status": "partial_outage"}])
    );
    let unresolved = document(&app, "/status/acme/api/v2/incidents/unresolved.json").await;
    assert_eq!(unresolved["incidents"].as_array().unwrap().len(), 1);
    let status_doc = document(&app, "/status/acme/api/v2/status.json").await;
    assert_eq!(status_doc["status"]["indicator"], "major");

    // The HTML page says so, with no script.
    let (status, headers, html) = public(&app, "/status/acme").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );
    assert!(html.contains("Partial System Outage"), "{html}");
    assert!(html.contains("Some payments fail. We are looking into it."));
    assert!(!html.contains("<script"));

    // A client that has the document is told it has not changed.
    let (_, headers, _) = public(&app, "/status/acme/api/v2/summary.json").await;
    let etag = headers["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with("W/\""), "{etag}");
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let unchanged = app
        .http
        .get(format!("{}/status/acme/api/v2/summary.json", app.url))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);

    // Monitoring, then resolved: the API is operational again, the incident in the past.
    app.advance(10 * MINUTE);
    let path = format!("/status-pages/acme/incidents/{id}/updates");
    let (status, _) = app
        .api(
            Method::POST,
            &path,
            Some(json!({"status": "monitoring", "body": "A fix is out."})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.advance(10 * MINUTE);
    let (status, resolved) = app
        .api(
            Method::POST,
            &path,
            Some(json!({"status": "resolved", "body": "Payments work again.", "components": {"API": "operational"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    let changed = app
        .http
        .get(format!("{}/status/acme/api/v2/summary.json", app.url))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK, "a change is seen at once");
    let summary: Value = changed.json().await.unwrap();
    assert_eq!(summary["status"]["indicator"], "none");
    assert!(summary["incidents"].as_array().unwrap().is_empty());
    let all = document(&app, "/status/acme/api/v2/incidents.json").await;
    let past = &all["incidents"][0];
    assert_eq!(past["status"], "resolved");
    assert!(past["resolved_at"].is_string() && past["monitoring_at"].is_string());
    let bodies: Vec<&str> = past["incident_updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            "Payments work again.",
            "A fix is out.",
            "Some payments fail. We are looking into it."
        ]
    );
    let (_, _, html) = public(&app, "/status/acme").await;
    assert!(html.contains("All Systems Operational"));
    assert!(html.contains("Past incidents") && html.contains("Checkout errors"));
    assert!(
        html.contains("at worst Partial outage"),
        "the day's uptime bar shows the outage"
    );
}

#[tokio::test]
async fn bad_input_gets_a_clear_400_and_unknown_pages_a_404() {
    let app = TestApp::start().await;
    app.service("Checkout", "open").await;
    acme(&app).await;
    let refused = [
        (
            json!({"name": "x", "body": "y", "components": {"Web": "major_outage"}}),
            "no component 'Web'",
        ),
        (
            json!({"name": "x", "body": "y", "components": {"API": "down"}}),
            "'status' must be one of operational",
        ),
        (
            json!({"name": "x", "body": "y", "status": "fixed"}),
            "'status' must be one of investigating",
        ),
        (
            json!({"name": "x", "body": "y".repeat(10_001)}),
            "'body' is 1 to 10000 characters",
        ),
        (
            json!({"name": "x", "body": "y", "impact": "apocalyptic"}),
            "'impact' must be one of",
        ),
        (
            json!({"name": "x", "body": "y", "scheduled_for": "2026-01-15T10:00:00Z"}),
            "needs both",
        ),
    ];
    for (body, says) in refused {
        let (status, answer) = app
            .api(Method::POST, "/status-pages/acme/incidents", Some(body))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{message} should say {says}");
    }
    let (status, _) = app
        .api(
            Method::POST,
            "/status-pages",
            Some(json!({"slug": "Acme Corp", "name": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app
        .api(
            Method::POST,
            "/status-pages",
            Some(json!({"slug": "acme", "name": "Again"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Observers look; they do not publish.
    let observer = app.user_token("Olga", "observer").await;
    let (status, _) = app
        .api_as(
            &observer,
            Method::POST,
            "/status-pages/acme/incidents",
            Some(json!({"name": "x", "body": "y"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Nothing was published by any of it.
    let summary = document(&app, "/status/acme/api/v2/incidents.json").await;
    assert!(summary["incidents"].as_array().unwrap().is_empty());
    let (status, _, _) = public(&app, "/status/nope/api/v2/summary.json").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = public(&app, "/status/acme/api/v2/secrets.json").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, html) = public(&app, "/status/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{html}");
}

#[tokio::test]
async fn an_internal_incident_reaches_no_public_page_document_or_feed() {
    let app = TestApp::start().await;
    let (_, key) = app.service("Checkout", "open").await;
    acme(&app).await;
    let secret = "db01 root password rotation failed on vault-7 (ticket SEC-4411)";
    let (status, _) = app
        .send_event(trigger_event(&key, "vault/rotation", secret))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    app.tick().await;
    assert_eq!(app.all_incidents().await.len(), 1);
    for path in [
        "/status/acme",
        "/status/acme/api/v2/summary.json",
        "/status/acme/api/v2/status.json",
        "/status/acme/api/v2/components.json",
        "/status/acme/api/v2/incidents.json",
        "/status/acme/api/v2/incidents/unresolved.json",
        "/status/acme/api/v2/scheduled-maintenances.json",
        "/status/acme/api/v2/scheduled-maintenances/upcoming.json",
        "/status/acme/api/v2/scheduled-maintenances/active.json",
        "/status/acme/history.atom",
        "/status/acme/history.rss",
        "/status/acme/badge.svg",
    ] {
        let (status, _, body) = public(&app, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(
            !body.contains("vault") && !body.contains("SEC-4411"),
            "{path} shows the internal incident"
        );
    }
    let summary = document(&app, "/status/acme/api/v2/summary.json").await;
    assert_eq!(
        summary["status"]["indicator"], "none",
        "an internal incident changes nothing public"
    );
}

#[tokio::test]
async fn a_maintenance_starts_quiets_paging_and_completes_by_itself() {
    let app = TestApp::start().await;
    person(&app, "Alice", ALICE).await;
    policy(
        &app,
        json!({"name": "Checkout", "levels": [level(&["alice@example.com"], 30)]}),
    )
    .await;
    let key = service(&app, "Checkout", "Checkout", json!({})).await;
    acme(&app).await;

    // An hour of database upgrade, starting in an hour, announced now.
    let from = app.now().saturating_add(60 * MINUTE);
    let until = from.saturating_add(60 * MINUTE);
    let (status, made) = app
        .api(
            Method::POST,
            "/status-pages/acme/incidents",
            Some(json!({
                "name": "Database upgrade",
                "body": "Checkout may be slow while the database is upgraded.",
                "components": {"API": "operational"},
                "scheduled_for": from.to_rfc3339(),
                "scheduled_until": until.to_rfc3339(),
                "quiet_paging": true,
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["incident"]["status"], "scheduled");
    assert_eq!(made["incident"]["impact"], "maintenance");
    assert!(made["incident"]["maintenance_window_id"].is_string());

    let upcoming = document(
        &app,
        "/status/acme/api/v2/scheduled-maintenances/upcoming.json",
    )
    .await;
    let listed = &upcoming["scheduled_maintenances"][0];
    assert_eq!(listed["name"], "Database upgrade");
    assert_eq!(listed["scheduled_for"], from.to_rfc3339());
    assert_eq!(listed["scheduled_until"], until.to_rfc3339());
    let summary = document(&app, "/status/acme/api/v2/summary.json").await;
    assert_eq!(summary["status"]["indicator"], "none", "not started yet");
    assert_eq!(
        summary["scheduled_maintenances"].as_array().unwrap().len(),
        1
    );

    // It starts by itself: in progress, the API under maintenance, and its noise pages
    // nobody.
    app.pass(61 * MINUTE).await;
    let active = document(
        &app,
        "/status/acme/api/v2/scheduled-maintenances/active.json",
    )
    .await;
    assert_eq!(active["scheduled_maintenances"][0]["status"], "in_progress");
    // Its start is an update of its own, as Statuspage's are.
    assert_eq!(
        active["scheduled_maintenances"][0]["incident_updates"][0]["body"],
        "Scheduled maintenance is currently in progress. We will provide updates as necessary."
    );
    let summary = document(&app, "/status/acme/api/v2/summary.json").await;
    assert_eq!(
        summary["status"],
        json!({"indicator": "maintenance", "description": "Service Under Maintenance"})
    );
    assert_eq!(summary["components"][0]["status"], "under_maintenance");
    app.send_event(trigger_event(&key, "db/slow", "Database slow"))
        .await;
    app.tick().await;
    assert!(app.all_incidents().await.is_empty());
    assert!(pages_to(&app.notifier.take(), ALICE).is_empty());

    // It completes by itself; the API is operational again and paging is back.
    app.pass(60 * MINUTE).await;
    let summary = document(&app, "/status/acme/api/v2/summary.json").await;
    assert_eq!(summary["status"]["indicator"], "none");
    assert_eq!(summary["components"][0]["status"], "operational");
    assert!(
        summary["scheduled_maintenances"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let all = document(&app, "/status/acme/api/v2/scheduled-maintenances.json").await;
    assert_eq!(all["scheduled_maintenances"][0]["status"], "completed");
    let updates = &all["scheduled_maintenances"][0]["incident_updates"];
    assert_eq!(updates.as_array().unwrap().len(), 3, "{updates}");
    assert_eq!(updates[0]["status"], "completed");
    assert_eq!(
        updates[0]["body"],
        "The scheduled maintenance has been completed."
    );
    assert_eq!(updates[0]["created_at"], until.to_rfc3339());
    assert!(all["scheduled_maintenances"][0]["resolved_at"].is_string());
    app.send_event(trigger_event(&key, "db/slow", "Database slow"))
        .await;
    app.tick().await;
    assert_eq!(app.all_incidents().await.len(), 1);
    assert_eq!(pages_to(&app.notifier.take(), ALICE).len(), 1);

    // A maintenance refused for its title quiets nothing.
    let later = until.saturating_add(60 * MINUTE);
    let (_, before) = app.api(Method::GET, "/maintenance", None).await;
    let (status, _) = app
        .api(
            Method::POST,
            "/status-pages/acme/incidents",
            Some(json!({
                "name": "", "body": "Moving.", "components": {"API": "under_maintenance"},
                "scheduled_for": later.to_rfc3339(),
                "scheduled_until": later.saturating_add(MINUTE).to_rfc3339(),
                "quiet_paging": true,
            })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, after) = app.api(Method::GET, "/maintenance", None).await;
    assert_eq!(before, after, "no maintenance window was made");

    // Quieting paging needs a component linked to a service.
    let (status, answer) = app
        .api(
            Method::POST,
            "/status-pages/acme/incidents",
            Some(json!({
                "name": "Region move", "body": "Moving.", "components": {"EU": "operational"},
                "scheduled_for": later.to_rfc3339(), "scheduled_until": later.saturating_add(MINUTE).to_rfc3339(),
                "quiet_paging": true,
            })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
}

#[tokio::test]
async fn a_page_with_a_host_name_of_its_own_is_served_at_its_root() {
    let app = TestApp::start().await;
    let (status, made) = app
        .api(
            Method::POST,
            "/status-pages",
            Some(json!({"slug": "shop", "name": "Shop", "host": "Status.Shop.Test"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["status_page"]["host"], "status.shop.test");
    assert_eq!(made["status_page"]["url"], "https://status.shop.test");
    let on = |host: &'static str, path: &'static str| {
        app.http
            .get(format!("{}{path}", app.url))
            .header("host", host)
            .send()
    };
    let page = on("status.shop.test:8443", "/").await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("<h1>Shop</h1>"));
    let summary: Value = on("status.shop.test", "/api/v2/summary.json")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(summary["page"]["name"], "Shop");
    assert_eq!(summary["page"]["url"], "https://status.shop.test");
    let badge = on("status.shop.test", "/badge.svg").await.unwrap();
    assert_eq!(badge.headers()["content-type"], "image/svg+xml");
    // The page's host name serves the page, not onduty.
    let login = on("status.shop.test", "/login").await.unwrap();
    assert_eq!(login.status(), StatusCode::NOT_FOUND);
    let feed = on("status.shop.test", "/status/shop/history.atom")
        .await
        .unwrap();
    assert_eq!(feed.status(), StatusCode::OK);
    // Another name reaches onduty itself.
    let elsewhere = on("other.test", "/api/v2/summary.json").await.unwrap();
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);
    let (status, _) = app
        .api(
            Method::POST,
            "/status-pages",
            Some(json!({"slug": "x", "name": "x", "host": "not a host"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_last_good_copy_is_served_when_the_database_cannot_be_read() {
    let app = TestApp::start().await;
    app.service("Checkout", "open").await;
    acme(&app).await;
    let good = document(&app, "/status/acme/api/v2/summary.json").await;
    let (_, _, page) = public(&app, "/status/acme").await;
    assert!(page.contains("All Systems Operational"));

    // The database goes away; the kept copy ages past its freshness.
    app.store.close().await;
    app.advance(MINUTE);
    let kept = document(&app, "/status/acme/api/v2/summary.json").await;
    assert_eq!(kept, good);
    let (status, _, again) = public(&app, "/status/acme").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, page);
    // A page never read before cannot be made up.
    let (status, _, _) = public(&app, "/status/other/api/v2/summary.json").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn a_page_is_made_and_kept_from_the_web_ui() {
    let app = TestApp::start().await;
    app.service("Checkout", "open").await;
    let mut browser = crate::browser::administrator(&app).await;
    let list = browser.get("/status-pages").await;
    list.shows("No status pages yet.");
    let csrf = list.csrf();
    let made = browser
        .post(
            "/status-pages",
            &[
                ("csrf", csrf.as_str()),
                ("name", "Acme"),
                ("slug", "acme"),
                ("host", ""),
                ("time_zone", "Europe/London"),
            ],
        )
        .await;
    assert_eq!(made.location(), "/status-pages/acme");
    let refused = browser
        .post(
            "/status-pages",
            &[
                ("csrf", csrf.as_str()),
                ("name", "Bad"),
                ("slug", "Not A Slug"),
            ],
        )
        .await;
    assert_eq!(refused.location(), "/status-pages#new-page");

    let (_, services) = app.api(Method::GET, "/services", None).await;
    let checkout = services["services"][0]["id"].as_str().unwrap().to_owned();
    let added = browser
        .post(
            "/status-pages/acme/components",
            &[
                ("csrf", csrf.as_str()),
                ("name", "API"),
                ("description", ""),
                ("group", ""),
                ("service", checkout.as_str()),
            ],
        )
        .await;
    assert_eq!(added.location(), "/status-pages/acme");
    let page = browser.get("/status-pages/acme").await;
    page.shows("Added API.");
    page.shows("stands for the service Checkout");
    page.shows("aria-current=\"page\">Status pages</a>");
    let api = document(&app, "/status/acme/api/v2/components.json").await["components"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let component = format!("component.{api}");

    // An incident, then its update; "unchanged" leaves a component as it is.
    let opened = browser
        .post(
            "/status-pages/acme/incidents",
            &[
                ("csrf", csrf.as_str()),
                ("name", "Slow checkout"),
                ("body", "Checkout is slow."),
                (component.as_str(), "degraded_performance"),
                ("from", "2026-01-16T10:00"),
                ("until", "2026-01-16T11:00"),
            ],
        )
        .await;
    assert_eq!(opened.location(), "/status-pages/acme");
    let summary = document(&app, "/status/acme/api/v2/summary.json").await;
    assert_eq!(summary["status"]["indicator"], "minor");
    let id = summary["incidents"][0]["id"].as_str().unwrap().to_owned();
    browser
        .post(
            &format!("/status-pages/acme/incidents/{id}/update"),
            &[
                ("csrf", csrf.as_str()),
                ("status", "monitoring"),
                ("body", "Better now."),
                (component.as_str(), ""),
            ],
        )
        .await;
    let summary = document(&app, "/status/acme/api/v2/summary.json").await;
    assert_eq!(summary["incidents"][0]["status"], "monitoring");
    assert_eq!(
        summary["components"][0]["status"], "degraded_performance",
        "unchanged"
    );

    // Maintenance on the page's clock (London), quieting Checkout's paging.
    let scheduled = browser
        .post(
            "/status-pages/acme/incidents",
            &[
                ("csrf", csrf.as_str()),
                ("name", "Database upgrade"),
                ("body", "Checkout may be slow."),
                (component.as_str(), "under_maintenance"),
                ("maintenance", "1"),
                ("from", "2026-06-16T10:00"),
                ("until", "2026-06-16T11:00"),
                ("quiet_paging", "1"),
            ],
        )
        .await;
    assert_eq!(scheduled.location(), "/status-pages/acme");
    let upcoming = document(
        &app,
        "/status/acme/api/v2/scheduled-maintenances/upcoming.json",
    )
    .await;
    let m = &upcoming["scheduled_maintenances"][0];
    assert_eq!(m["name"], "Database upgrade");
    assert_eq!(
        m["scheduled_for"], "2026-06-16T09:00:00.000Z",
        "10:00 in London in summer"
    );
    let (_, windows) = app.api(Method::GET, "/maintenance", None).await;
    assert_eq!(windows["maintenance"][0]["services"][0]["name"], "Checkout");
}
