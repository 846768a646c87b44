//! A script written for Opsgenie, pointed at onduty: create alerts with an alias, then
//! acknowledge and close them by alias, incident id or number, with Opsgenie's answers.

use onduty_testkit::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn opsgenie(
    app: &TestApp,
    key: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", app.url))
        .header("authorization", format!("GenieKey {key}"));
    if let Some(b) = body {
        request = request.json(&b);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A service "Payments" with an Opsgenie API integration; returns its key.
async fn integration(app: &TestApp) -> String {
    let made = integration_of(app, "Payments").await;
    made["routing_key"].as_str().unwrap().to_owned()
}

/// A service named `name` with an Opsgenie API integration; returns the integration.
pub(crate) async fn integration_of(app: &TestApp, name: &str) -> Value {
    let (service, _) = app.service(name, "open").await;
    let (status, made) = app
        .api(
            Method::POST,
            &format!("/services/{service}/integrations"),
            Some(json!({"type": "opsgenie"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let settings = made["integration"]["opsgenie_settings"].as_str().unwrap();
    assert!(
        settings.contains(&format!("{}/v2/alerts", app.url)),
        "{settings}"
    );
    made["integration"].clone()
}

#[tokio::test]
async fn an_opsgenie_script_creates_acknowledges_and_closes_alerts() {
    let app = TestApp::start().await;
    let key = integration(&app).await;

    let alert = json!({"message": "Payment gateway timeouts", "alias": "gateway-timeouts",
        "description": "p99 over 2 s for 5 minutes", "priority": "P1", "tags": ["payments"],
        "details": {"region": "eu-west-1"}, "entity": "gateway", "source": "checker.sh"});
    let (status, answer) = opsgenie(&app, &key, "/v2/alerts", Some(alert.clone())).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert_eq!(answer["result"], "Request will be processed");
    assert!(answer["took"].is_number());
    assert!(answer["requestId"].as_str().unwrap().len() >= 32);
    // The same alias again is the same alert.
    opsgenie(&app, &key, "/v2/alerts", Some(alert)).await;
    let list = app.all_incidents().await;
    assert_eq!(list.len(), 1, "{list:?}");
    let i = &list[0];
    assert_eq!(i["summary"], "Payment gateway timeouts");
    assert_eq!(i["severity"], "critical");
    assert_eq!(i["alert_count"], 2);
    assert_eq!(i["custom_details"]["details"]["region"], "eu-west-1");

    // Acknowledge by alias, close by the incident's number ("tiny id").
    let (status, _) = opsgenie(
        &app,
        &key,
        "/v2/alerts/gateway-timeouts/acknowledge?identifierType=alias",
        Some(json!({"user": "ops", "note": "looking"})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(app.all_incidents().await[0]["status"], "acknowledged");
    let (status, _) = opsgenie(&app, &key, "/v2/alerts/1/close?identifierType=tiny", None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(app.all_incidents().await[0]["status"], "resolved");

    // Without an alias, each request is a new alert; closed by its incident id.
    opsgenie(
        &app,
        &key,
        "/v2/alerts",
        Some(json!({"message": "Disk full"})),
    )
    .await;
    opsgenie(
        &app,
        &key,
        "/v2/alerts",
        Some(json!({"message": "Disk full"})),
    )
    .await;
    let list = app.all_incidents().await;
    assert_eq!(list.len(), 3);
    assert_eq!(list[0]["severity"], "warning", "P3 by default");
    let id = list[0]["id"].as_str().unwrap();
    let (status, _) = opsgenie(&app, &key, &format!("/v2/alerts/{id}/close"), None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(app.all_incidents().await[0]["status"], "resolved");

    // Closing the gateway alert's old incident by number does not touch a new one with
    // the same alias; another service's incidents are not this key's to act on.
    opsgenie(
        &app,
        &key,
        "/v2/alerts",
        Some(json!({"message": "Gateway again", "alias": "gateway-timeouts"})),
    )
    .await;
    let (status, _) = opsgenie(&app, &key, "/v2/alerts/1/close?identifierType=tiny", None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let list = app.all_incidents().await;
    assert_eq!(list[0]["summary"], "Gateway again");
    assert_eq!(list[0]["status"], "triggered");
    let (_, other_key) = app.service("Elsewhere", "open").await;
    app.send_event(onduty_testkit::trigger_event(&other_key, "x", "Not yours"))
        .await;
    let (status, _) = opsgenie(&app, &key, "/v2/alerts/5/close?identifierType=tiny", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // An alias longer than 255 characters (Opsgenie allows 512) is one alert too.
    let long = "a".repeat(400);
    opsgenie(
        &app,
        &key,
        "/v2/alerts",
        Some(json!({"message": "Long alias", "alias": long})),
    )
    .await;
    opsgenie(
        &app,
        &key,
        "/v2/alerts",
        Some(json!({"message": "Long alias", "alias": long})),
    )
    .await;
    let (status, _) = opsgenie(
        &app,
        &key,
        &format!("/v2/alerts/{long}/close?identifierType=alias"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let list = app.all_incidents().await;
    assert_eq!(list[0]["summary"], "Long alias");
    assert_eq!(list[0]["alert_count"], 2);
    assert_eq!(list[0]["status"], "resolved");
    app.stop().await;
}

#[tokio::test]
async fn opsgenie_errors_come_in_opsgenies_shapes() {
    let app = TestApp::start().await;
    let key = integration(&app).await;
    let (status, answer) =
        opsgenie(&app, &key, "/v2/alerts", Some(json!({"priority": "P7"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(
        answer["message"],
        "Request body is not processable. Please check the errors."
    );
    assert_eq!(answer["errors"]["message"], "Message can not be empty.");
    assert!(answer["errors"]["priority"].is_string());
    assert!(answer["requestId"].is_string() && answer["took"].is_number());

    let (status, _) = opsgenie(
        &app,
        "0123456789abcdef0123456789abcdef",
        "/v2/alerts",
        Some(json!({"message": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, answer) = reqwest::Client::new()
        .post(format!("{}/v2/alerts", app.url))
        .json(&json!({"message": "x"}))
        .send()
        .await
        .map(|r| (r.status(), r))
        .unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let answer: Value = answer.json().await.unwrap();
    assert!(answer["message"].as_str().unwrap().contains("GenieKey"));

    let (status, _) = opsgenie(&app, &key, "/v2/alerts/999/close?identifierType=tiny", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = opsgenie(&app, &key, "/v2/alerts/x/close?identifierType=weird", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = opsgenie(&app, &key, "/v2/alerts/x/snooze?identifierType=alias", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Closing an alias with nothing open is accepted and changes nothing, as with events.
    let (status, _) = opsgenie(
        &app,
        &key,
        "/v2/alerts/nothing-open/close?identifierType=alias",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert!(app.all_incidents().await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn notes_reach_the_alert_by_alias_or_number_open_or_closed() {
    let app = TestApp::start().await;
    let key = integration(&app).await;
    let alert = json!({"message": "Disk full on db01", "alias": "db01-disk"});
    opsgenie(&app, &key, "/v2/alerts", Some(alert)).await;

    let (status, answer) = opsgenie(
        &app,
        &key,
        "/v2/alerts/db01-disk/notes?identifierType=alias",
        Some(json!({"note": "Cleared /var/log, 40% free", "user": "zabbix", "source": "Zabbix"})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    opsgenie(
        &app,
        &key,
        "/v2/alerts/db01-disk/close?identifierType=alias",
        None,
    )
    .await;
    // A closed alert still takes notes (by its number here).
    let (status, answer) = opsgenie(
        &app,
        &key,
        "/v2/alerts/1/notes?identifierType=tiny",
        Some(json!({"note": "Root cause: log rotation was off"})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let (_, detail) = app.api(Method::GET, "/incidents/1", None).await;
    let notes: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "note")
        .map(|e| e["data"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        notes,
        [
            "zabbix: Cleared /var/log, 40% free",
            "Root cause: log rotation was off"
        ]
    );

    // Unknown alerts, empty notes.
    let (status, answer) = opsgenie(
        &app,
        &key,
        "/v2/alerts/nope/notes?identifierType=alias",
        Some(json!({"note": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    let (status, answer) = opsgenie(
        &app,
        &key,
        "/v2/alerts/db01-disk/notes?identifierType=alias",
        Some(json!({"note": "  "})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(answer["errors"]["note"].is_string(), "{answer}");
    app.stop().await;
}

async fn request_status(app: &TestApp, key: &str, request: &str) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .get(format!("{}/v2/alerts/requests/{request}", app.url))
        .header("authorization", format!("GenieKey {key}"))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_script_looks_its_requests_up_and_its_notes_reach_the_timeline() {
    let app = TestApp::start().await;
    let key = integration(&app).await;
    let (_, created) = opsgenie(
        &app,
        &key,
        "/v2/alerts",
        Some(json!({"message": "Queue backed up", "alias": "queue"})),
    )
    .await;
    let (status, answer) = request_status(&app, &key, created["requestId"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let incident = app.all_incidents().await[0]["id"].clone();
    let data = &answer["data"];
    assert_eq!(data["action"], "Create");
    assert_eq!(data["isSuccess"], true);
    assert_eq!(data["success"], true);
    assert_eq!(data["status"], "Created alert");
    assert_eq!(data["alertId"], incident);
    assert_eq!(data["alias"], "queue");
    assert_eq!(data["processedAt"], app.now().to_rfc3339());
    assert!(
        data["integrationId"].as_str().unwrap().len() >= 32,
        "{data}"
    );
    assert!(answer["took"].is_number() && answer["requestId"].is_string());

    // Acknowledged with a note and who wrote it: both are on the timeline.
    let (_, acked) = opsgenie(
        &app,
        &key,
        "/v2/alerts/queue/acknowledge?identifierType=alias",
        Some(json!({"user": "oncall-bot", "note": "draining it", "source": "script"})),
    )
    .await;
    let (_, answer) = request_status(&app, &key, acked["requestId"].as_str().unwrap()).await;
    assert_eq!(answer["data"]["action"], "Acknowledge");
    assert_eq!(answer["data"]["status"], "Acknowledged alert");
    let (_, closed) = opsgenie(
        &app,
        &key,
        "/v2/alerts/1/close?identifierType=tiny",
        Some(json!({"note": "drained"})),
    )
    .await;
    let (_, answer) = request_status(&app, &key, closed["requestId"].as_str().unwrap()).await;
    assert_eq!(answer["data"]["action"], "Close");
    assert_eq!(answer["data"]["status"], "Closed alert");
    let (_, detail) = app.api(Method::GET, "/incidents/1", None).await;
    let notes: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "note")
        .filter_map(|e| e["data"]["text"].as_str())
        .collect();
    assert_eq!(notes, ["oncall-bot: draining it", "drained"]);

    // A note request has a status too; a close for an alias with no alert says it failed.
    let (_, noted) = opsgenie(
        &app,
        &key,
        "/v2/alerts/queue/notes?identifierType=alias",
        Some(json!({"note": "postmortem Tuesday"})),
    )
    .await;
    let (_, answer) = request_status(&app, &key, noted["requestId"].as_str().unwrap()).await;
    assert_eq!(answer["data"]["action"], "AddNote");
    assert_eq!(answer["data"]["status"], "Added note");
    let (_, dropped) = opsgenie(
        &app,
        &key,
        "/v2/alerts/nothing-here/close?identifierType=alias",
        None,
    )
    .await;
    let (status, answer) = request_status(&app, &key, dropped["requestId"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["data"]["isSuccess"], false);
    assert_eq!(answer["data"]["status"], "Alert does not exist");
    assert_eq!(answer["data"]["alias"], "nothing-here");

    // Unknown ids, and another service's requests, are Opsgenie's 404.
    for unknown in ["not-an-id", "0190c5a4-8f00-7000-8000-000000000000"] {
        let (status, answer) = request_status(&app, &key, unknown).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            answer["message"],
            "Request not found. It might not be processed, yet."
        );
        assert!(answer["requestId"].is_string() && answer["took"].is_number());
    }
    let billing = integration_of(&app, "Billing").await;
    let other = billing["routing_key"].as_str().unwrap();
    let (status, _) = request_status(&app, other, created["requestId"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}
