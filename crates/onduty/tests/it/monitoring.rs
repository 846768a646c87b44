//! Monitoring tools in their own shapes: Alertmanager's and Grafana's webhooks, at a URL
//! holding the integration's key. Alerts open and resolve incidents on their own; distinct
//! alerts are never merged by their summaries.

use onduty_testkit::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A service with an integration of `kind` (and `group_by`); returns its webhook URL path.
pub async fn webhook(app: &TestApp, service: &str, kind: &str, group_by: &str) -> String {
    let (status, created) = app
        .api(Method::POST, "/services", Some(json!({"name": service})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["service"]["id"].as_str().unwrap().to_owned();
    let (status, integration) = app
        .api(
            Method::POST,
            &format!("/services/{id}/integrations"),
            Some(json!({"type": kind, "group_by": group_by})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{integration}");
    let url = integration["integration"]["webhook_url"].as_str().unwrap();
    url.strip_prefix(&app.url).unwrap().to_owned()
}

/// One Alertmanager alert.
fn alert(status: &str, fingerprint: &str, instance: &str) -> Value {
    json!({"status": status,
        "labels": {"alertname": "InstanceDown", "instance": instance, "severity": "critical"},
        "annotations": {"summary": "An instance is down", "runbook_url": "https://runbooks.example/instance-down"},
        "startsAt": "2026-11-22T08:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prom:9090/graph", "fingerprint": fingerprint})
}

fn notification(status: &str, alerts: Vec<Value>) -> Value {
    json!({"version": "4", "groupKey": "{}:{alertname=\"InstanceDown\"}", "truncatedAlerts": 0,
        "status": status, "receiver": "onduty", "groupLabels": {"alertname": "InstanceDown"},
        "commonLabels": {"alertname": "InstanceDown"}, "commonAnnotations": {},
        "externalURL": "http://am:9093", "someFutureField": {"x": 1}, "alerts": alerts})
}

#[tokio::test]
async fn alertmanager_alerts_open_and_resolve_their_own_incidents() {
    let app = TestApp::start().await;
    let path = webhook(&app, "Fleet", "alertmanager", "alert").await;

    // Two instances down: the same summary, two incidents.
    let firing = notification(
        "firing",
        vec![
            alert("firing", "aaaa", "10.0.0.1:9090"),
            alert("firing", "bbbb", "10.0.0.2:9090"),
        ],
    );
    let (status, answer, _) = app.post_raw(&path, firing.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["status"], "success");
    assert_eq!(answer["events"], 2);
    let list = app.all_incidents().await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert!(list.iter().all(|i| i["summary"] == "An instance is down"));
    assert!(list.iter().all(|i| i["severity"] == "critical"));
    let one = list
        .iter()
        .find(|i| i["source"] == "10.0.0.1:9090")
        .unwrap();
    assert_eq!(
        one["links"][0]["href"],
        "https://runbooks.example/instance-down"
    );
    assert_eq!(one["custom_details"]["labels"]["instance"], "10.0.0.1:9090");

    // Alertmanager repeats itself: folded in, not new incidents.
    app.post_raw(&path, firing.to_string()).await;
    assert_eq!(app.all_incidents().await.len(), 2);

    // One recovers: its incident resolves, the other stays open.
    let mixed = notification(
        "firing",
        vec![
            alert("resolved", "aaaa", "10.0.0.1:9090"),
            alert("firing", "bbbb", "10.0.0.2:9090"),
        ],
    );
    let (status, _, _) = app.post_raw(&path, mixed.to_string()).await;
    assert_eq!(status, StatusCode::OK);
    let list = app.all_incidents().await;
    let status_of =
        |instance: &str| list.iter().find(|i| i["source"] == instance).unwrap()["status"].clone();
    assert_eq!(status_of("10.0.0.1:9090"), "resolved");
    assert_eq!(status_of("10.0.0.2:9090"), "triggered");
    app.stop().await;
}

#[tokio::test]
async fn a_grouped_grafana_integration_keeps_one_incident_per_notification_group() {
    let app = TestApp::start().await;
    let path = webhook(&app, "Dashboards", "grafana", "group").await;
    let mut body = notification(
        "firing",
        vec![
            alert("firing", "aaaa", "db01"),
            alert("firing", "bbbb", "db02"),
        ],
    );
    body["title"] = json!("[FIRING:2] InstanceDown");
    let (status, answer, _) = app.post_raw(&path, body.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["events"], 1);
    let list = app.all_incidents().await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["summary"], "[FIRING:2] InstanceDown");
    assert_eq!(list[0]["client"], "Grafana");

    body["status"] = json!("resolved");
    app.post_raw(&path, body.to_string()).await;
    assert_eq!(app.all_incidents().await[0]["status"], "resolved");
    app.stop().await;
}

#[tokio::test]
async fn unreadable_notifications_and_unknown_keys_are_refused_clearly() {
    let app = TestApp::start().await;
    let path = webhook(&app, "Fleet", "alertmanager", "alert").await;
    let (status, answer, _) = app.post_raw(&path, "{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let bad = json!({"alerts": [{"status": "sideways"}]});
    let (status, answer, _) = app.post_raw(&path, bad.to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer["errors"],
        json!(["alerts[0]: 'status' must be firing or resolved, not 'sideways'"])
    );
    // One unreadable alert does not keep the readable one out.
    let mixed =
        json!({"alerts": [{"status": "sideways"}, alert("firing", "cccc", "10.0.0.3:9090")]});
    let (status, answer, _) = app.post_raw(&path, mixed.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["events"], 1);
    assert_eq!(
        answer["errors"],
        json!(["alerts[0]: 'status' must be firing or resolved, not 'sideways'"])
    );
    assert_eq!(app.all_incidents().await.len(), 1);
    let unknown = "/integrations/0123456789abcdef0123456789abcdef/alertmanager";
    let (status, answer, _) = app
        .post_raw(unknown, notification("firing", vec![]).to_string())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("does not match")
    );
    assert_eq!(
        app.all_incidents().await.len(),
        1,
        "only the readable alert"
    );
    app.stop().await;
}

#[tokio::test]
async fn any_json_is_read_through_a_mapping_tried_on_a_sample_first() {
    let app = TestApp::start().await;
    let (service, _) = app.service("Website", "open").await;
    let mapping = json!({"summary": "/check/name", "dedup_key": "/check/id", "severity": "/level",
        "source": "/check/url", "action": "/state", "actions": {"ok": "resolve"}});
    // A JSON webhook needs a mapping, and a sound one.
    let (status, refused) = app
        .api(
            Method::POST,
            &format!("/services/{service}/integrations"),
            Some(json!({"type": "webhook"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    let (status, refused) = app
        .api(
            Method::POST,
            &format!("/services/{service}/integrations"),
            Some(json!({"type": "webhook", "mapping": {"summary": "title", "actions": {"ok": "explode"}}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("JSON Pointer"),
        "{refused}"
    );
    let (status, made) = app
        .api(
            Method::POST,
            &format!("/services/{service}/integrations"),
            Some(json!({"type": "webhook", "mapping": mapping})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let integration = &made["integration"];
    let id = integration["id"].as_str().unwrap();
    let path = integration["webhook_url"]
        .as_str()
        .unwrap()
        .strip_prefix(&app.url)
        .unwrap()
        .to_owned();

    // Try the mapping on a sample: nothing is stored.
    let down = json!({"check": {"id": 4411, "name": "Homepage is down", "url": "https://example.com"},
                      "state": "down", "level": "critical"});
    let (status, tried) = app
        .api(
            Method::POST,
            &format!("/integrations/{id}/test-mapping"),
            Some(json!({"sample": down})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tried}");
    assert_eq!(tried["event"]["action"], "trigger");
    assert_eq!(tried["event"]["dedup_key"], "4411");
    assert_eq!(tried["event"]["alert"]["summary"], "Homepage is down");
    assert_eq!(tried["event"]["alert"]["severity"], "critical");
    let (_, tried) = app
        .api(
            Method::POST,
            &format!("/integrations/{id}/test-mapping"),
            Some(json!({"sample": {"nothing": 1}})),
        )
        .await;
    assert_eq!(
        tried["errors"][0],
        "no summary: nothing readable at '/check/name' in the body"
    );
    assert!(app.all_incidents().await.is_empty());

    // The real thing: down opens, ok resolves.
    let (status, answer, _) = app.post_raw(&path, down.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let list = app.all_incidents().await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["summary"], "Homepage is down");
    assert_eq!(
        list[0]["custom_details"]["check"]["url"],
        "https://example.com"
    );
    let ok = json!({"check": {"id": 4411, "name": "Homepage is down"}, "state": "OK"});
    app.post_raw(&path, ok.to_string()).await;
    assert_eq!(app.all_incidents().await[0]["status"], "resolved");

    // A new mapping takes effect at once.
    let (status, _) = app
        .api(
            Method::PUT,
            &format!("/integrations/{id}/mapping"),
            Some(json!({"summary": "/msg", "dedup_key": "/key"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.post_raw(
        &path,
        json!({"msg": "Queue backing up", "key": "q"}).to_string(),
    )
    .await;
    assert_eq!(app.all_incidents().await[0]["summary"], "Queue backing up");
    app.stop().await;
}
