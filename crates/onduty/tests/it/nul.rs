//! A monitoring tool that sends a NUL character: PostgreSQL cannot keep one in text, so
//! onduty stores U+FFFD in its place on every backend, says so on the timeline, and goes
//! on taking events and pings.

use onduty_testkit::{TestApp, backends, trigger_event};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn heartbeat_url(app: &TestApp, service: &str) -> String {
    let (status, made) = app
        .api(
            Method::POST,
            &format!("/services/{service}/heartbeats"),
            Some(json!({"name": "nightly", "period_minutes": 60, "grace_minutes": 10})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    made["heartbeat"]["ping_url"].as_str().unwrap().to_owned()
}

async fn post(url: &str, body: &'static [u8]) -> StatusCode {
    reqwest::Client::new()
        .post(url)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn text_with_nul_characters_is_stored_on_every_backend_and_said_so() {
    for backend in backends() {
        let app = TestApp::start_with(backend, |_| {}).await;
        let (service, key) = app.service("Storage", "open").await;

        let (status, body) = app
            .send_event(trigger_event(&key, "disk\u{0}1", "disk\u{0} full"))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{backend:?}: {body}");
        assert_eq!(
            body["warnings"],
            json!([
                "'dedup_key' held a NUL character, stored as U+FFFD",
                "'payload.summary' held a NUL character, stored as U+FFFD"
            ]),
            "{backend:?}"
        );
        let (_, detail) = app.api(Method::GET, "/incidents/1", None).await;
        assert_eq!(detail["incident"]["summary"], "disk\u{FFFD} full");
        assert_eq!(detail["incident"]["dedup_key"], "disk\u{FFFD}1");
        assert_eq!(detail["timeline"][0]["data"]["warnings"], body["warnings"]);

        // A note and a failing ping with NUL characters are kept too.
        let (status, body) = app
            .api(
                Method::POST,
                "/incidents/1/notes",
                Some(json!({"text": "see\u{0}log"})),
            )
            .await;
        assert!(status.is_success(), "{backend:?}: {body}");
        let url = heartbeat_url(&app, &service).await;
        assert_eq!(
            post(&format!("{url}/fail"), b"exit\0 1").await,
            StatusCode::OK,
            "{backend:?}"
        );
        let (_, list) = app.api(Method::GET, "/heartbeats", None).await;
        let heartbeat: &Value = &list["heartbeats"][0];
        assert_eq!(heartbeat["state"], "failing", "{backend:?}");
        assert_eq!(heartbeat["last_body"], "exit\u{FFFD} 1");

        // Nothing is left broken: the next event and ping are taken as usual.
        let (status, _) = app.send_event(trigger_event(&key, "cpu", "CPU hot")).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{backend:?}");
        assert_eq!(post(&url, b"fine").await, StatusCode::OK, "{backend:?}");
        let (_, notes) = app.api(Method::GET, "/incidents/1/timeline", None).await;
        assert!(
            notes.to_string().contains("see\u{FFFD}log"),
            "{backend:?}: {notes}"
        );
        assert_eq!(app.all_incidents().await.len(), 3, "{backend:?}");
        app.stop().await;
    }
}
