//! Opsgenie's own Python SDK (`opsgenie-sdk` on PyPI) pointed at onduty
//! (`tests/peers/opsgenie_client.py`). Skipped when python3 cannot import it, unless
//! ONDUTY_REQUIRE_OPSGENIE_SDK=1 (CI installs it and sets this).

use onduty_testkit::TestApp;
use reqwest::Method;
use serde_json::Value;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/peers/opsgenie_client.py"
);

fn sdk_installed() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import opsgenie_sdk"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opsgenies_sdk_creates_looks_up_acknowledges_notes_and_closes() {
    if !sdk_installed() {
        assert_ne!(
            std::env::var("ONDUTY_REQUIRE_OPSGENIE_SDK").as_deref(),
            Ok("1"),
            "ONDUTY_REQUIRE_OPSGENIE_SDK=1 but python3 cannot import opsgenie_sdk"
        );
        eprintln!("skipped: python3 cannot import opsgenie_sdk (pip install opsgenie-sdk)");
        return;
    }
    let app = TestApp::start().await;
    let made = crate::opsgenie::integration_of(&app, "Checkout").await;
    let key = made["routing_key"].as_str().unwrap().to_owned();
    let integration = made["id"].clone();
    let url = app.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg(SCRIPT)
            .env("ONDUTY_URL", url)
            .env("GENIE_KEY", key)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();

    let incident = app.all_incidents().await[0].clone();
    let created = &seen["created"];
    assert_eq!(created["action"], "Create", "{seen}");
    assert_eq!(created["is_success"], true);
    assert_eq!(created["status"], "Created alert");
    assert_eq!(created["alert_id"], incident["id"]);
    assert_eq!(created["alias"], "checkout-slow");
    assert_eq!(created["integration_id"], integration);
    assert!(created["processed_at"].is_string(), "{seen}");
    assert_eq!(seen["acknowledged"]["status"], "Acknowledged alert");
    assert_eq!(seen["noted"]["action"], "AddNote");
    assert_eq!(seen["closed"]["status"], "Closed alert");
    assert_eq!(seen["unknown"], 404);

    assert_eq!(incident["status"], "resolved");
    let (_, detail) = app.api(Method::GET, "/incidents/1", None).await;
    let notes: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "note")
        .filter_map(|e| e["data"]["text"].as_str())
        .collect();
    assert_eq!(notes, ["sdk: on it", "found the slow query", "index added"]);
    app.stop().await;
}
