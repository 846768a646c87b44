//! A client written for Atlassian Statuspage's public API reads onduty's status page:
//! aRez's Statuspage models (PyPI) parse the documents and feedparser reads the feeds
//! (`tests/peers/statuspage_client.py`). Skipped when python3 cannot import them, unless
//! ONDUTY_REQUIRE_STATUSPAGE_CLIENT=1 (CI installs them and sets this).

use onduty_testkit::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::paging::MINUTE;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/peers/statuspage_client.py"
);

fn client_installed() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import arez.statuspage, feedparser"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statuspage_client_reads_the_page_its_incidents_and_feeds() {
    if !client_installed() {
        assert_ne!(
            std::env::var("ONDUTY_REQUIRE_STATUSPAGE_CLIENT").as_deref(),
            Ok("1"),
            "ONDUTY_REQUIRE_STATUSPAGE_CLIENT=1 but python3 cannot import arez and feedparser"
        );
        eprintln!(
            "skipped: python3 cannot import arez and feedparser (pip install aRez feedparser)"
        );
        return;
    }
    let app = TestApp::start().await;
    app.service("Checkout", "open").await;
    crate::status_page::acme(&app).await;
    let post = |path: &'static str, body: Value| {
        let app = &app;
        async move {
            let (status, answer) = app.api(Method::POST, path, Some(body)).await;
            assert!(
                status == StatusCode::CREATED || status == StatusCode::OK,
                "{answer}"
            );
            answer
        }
    };
    let opened = post(
        "/status-pages/acme/incidents",
        json!({"name": "Checkout errors", "body": "Some payments fail.", "components": {"API": "major_outage"}}),
    )
    .await;
    let from = app.now().saturating_add(60 * MINUTE);
    post(
        "/status-pages/acme/incidents",
        json!({
            "name": "Database upgrade", "body": "Checkout may be slow.",
            "components": {"API": "operational"},
            "scheduled_for": from.to_rfc3339(),
            "scheduled_until": from.saturating_add(60 * MINUTE).to_rfc3339(),
        }),
    )
    .await;
    let id = opened["incident"]["id"].as_str().unwrap();
    let path: &'static str = format!("/status-pages/acme/incidents/{id}/updates").leak();
    post(
        path,
        json!({"status": "identified", "body": "A bad deploy <b>&</b> a fix."}),
    )
    .await;

    let url = format!("{}/status/acme", app.url);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg(SCRIPT)
            .env("STATUSPAGE_URL", url)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();

    assert_eq!(seen["page"]["name"], "Acme", "{seen}");
    assert_eq!(seen["status"], "Major System Outage");
    assert_eq!(seen["summary_incidents"], json!(["Checkout errors"]));
    assert_eq!(
        seen["summary_components"],
        json!(["API", "EU"]),
        "groups are read apart"
    );
    assert_eq!(
        seen["components"],
        json!([["API", "Major Outage"], ["EU", "Operational"]])
    );
    let incident = &seen["incidents"][0];
    assert_eq!(incident["name"], "Checkout errors");
    assert_eq!(incident["status"], "Identified");
    assert_eq!(incident["impact"], "Critical");
    assert_eq!(
        incident["updates"],
        json!(["A bad deploy <b>&</b> a fix.", "Some payments fail."])
    );
    assert_eq!(incident["components"], json!(["API"]));
    assert_eq!(
        seen["maintenances"],
        json!([["Database upgrade", "Scheduled"]])
    );
    // The feeds, well-formed, with the words as written (markup stays text).
    assert_eq!(seen["atom"]["title"], "Acme Status - Incident History");
    let entries = seen["atom"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "{seen}");
    assert!(
        entries
            .iter()
            .any(|e| e == "Checkout errors: Identified - A bad deploy <b>&</b> a fix."),
        "{entries:?}"
    );
    assert_eq!(seen["rss"]["entries"].as_array().unwrap().len(), 3);
    app.stop().await;
}
