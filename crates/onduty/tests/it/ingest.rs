//! Stories of monitoring tools sending PagerDuty Events API v2 events to onduty.

use std::time::Duration;

use onduty_testkit::{TestApp, backends, follow_up_event, trigger_event};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn incidents(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, list) = app
        .api(Method::GET, &format!("/incidents?{query}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["incidents"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_tool_configured_for_pagerduty_works_by_changing_only_the_url() {
    let app = TestApp::start().await;
    let (_, key) = app.service("Data pipeline", "open").await;
    // PagerDuty's documented example, unchanged but for the routing key.
    let event = json!({"routing_key":key,"event_action":"trigger","dedup_key":"srv01/mysql",
        "payload":{"summary":"DISK at 99% on prod-datapipe03","source":"prod-datapipe03.example.com",
         "severity":"critical","timestamp":"2015-07-17T08:42:58.315+0000","component":"mysql",
         "group":"prod-datapipe","class":"disk","custom_details":{"free space":"1%"}},
        "links":[{"href":"https://example.com/","text":"Link text"}],
        "images":[{"src":"https://example.com/g.png","href":"https://example.com/","alt":"graph"}],
        "client":"Sample Monitoring Service","client_url":"https://monitoring.example.com"});
    let (status, body) = app.send_event(event).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        body,
        json!({"status":"success","message":"Event processed","dedup_key":"srv01/mysql"})
    );

    let list = incidents(&app, "").await;
    assert_eq!(list.len(), 1);
    let i = &list[0];
    assert_eq!(i["number"], 1);
    assert_eq!(i["status"], "triggered");
    assert_eq!(i["summary"], "DISK at 99% on prod-datapipe03");
    assert_eq!(i["severity"], "critical");
    assert_eq!(i["component"], "mysql");
    assert_eq!(i["group"], "prod-datapipe");
    assert_eq!(i["class"], "disk");
    assert_eq!(i["custom_details"], json!({"free space":"1%"}));
    assert_eq!(i["links"][0]["text"], "Link text");
    assert_eq!(i["images"][0]["alt"], "graph");
    assert_eq!(i["client"], "Sample Monitoring Service");
    app.stop().await;
}

#[tokio::test]
async fn repeats_fold_into_one_incident_until_it_is_resolved() {
    for backend in backends() {
        let app = TestApp::start_with(backend, |_| {}).await;
        let (_, key) = app.service("Checkout", "open").await;
        for minute in 0..3 {
            let (status, _) = app
                .send_event(trigger_event(&key, "checkout/5xx", "5xx rate above 5%"))
                .await;
            assert_eq!(status, StatusCode::ACCEPTED);
            app.advance(Duration::from_secs(60 * (minute + 1)));
        }
        let open = incidents(&app, "status=open").await;
        assert_eq!(open.len(), 1, "three triggers, one incident ({backend:?})");
        assert_eq!(open[0]["alert_count"], 3);

        let (status, body) = app
            .send_event(follow_up_event(&key, "resolve", "checkout/5xx"))
            .await;
        assert_eq!(
            (status, body["dedup_key"].as_str()),
            (StatusCode::ACCEPTED, Some("checkout/5xx"))
        );
        assert!(incidents(&app, "status=open").await.is_empty());

        app.send_event(trigger_event(
            &key,
            "checkout/5xx",
            "5xx rate above 5% again",
        ))
        .await;
        let open = incidents(&app, "status=open").await;
        assert_eq!(open.len(), 1);
        assert_eq!(
            open[0]["number"], 2,
            "after resolve, the same key opens a new incident"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_trigger_without_a_dedup_key_gets_one_back_to_resolve_with() {
    let app = TestApp::start().await;
    let (_, key) = app.service("Cron", "open").await;
    let mut event = trigger_event(&key, "", "backup failed");
    event.as_object_mut().unwrap().remove("dedup_key");
    let (status, body) = app.send_event(event.clone()).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let generated = body["dedup_key"].as_str().unwrap().to_owned();
    assert_eq!(generated.len(), 32);
    // Another keyless trigger is another incident.
    let (_, second) = app.send_event(event).await;
    assert_ne!(second["dedup_key"], body["dedup_key"]);
    assert_eq!(incidents(&app, "status=open").await.len(), 2);

    app.send_event(follow_up_event(&key, "acknowledge", &generated))
        .await;
    let acked = incidents(&app, "status=acknowledged").await;
    assert_eq!(acked.len(), 1);
    assert_eq!(acked[0]["dedup_key"], generated.as_str());
    app.stop().await;
}

#[tokio::test]
async fn acknowledge_and_resolve_with_no_open_incident_are_accepted_and_dropped() {
    let app = TestApp::start().await;
    let (_, key) = app.service("Web", "open").await;
    for action in ["acknowledge", "resolve"] {
        let (status, body) = app
            .send_event(follow_up_event(&key, action, "never-triggered"))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        assert_eq!(body["status"], "success");
    }
    assert!(incidents(&app, "").await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn in_triggered_mode_a_repeat_after_acknowledgement_opens_a_new_incident() {
    for backend in backends() {
        let app = TestApp::start_with(backend, |_| {}).await;
        let (_, key) = app.service("Mailbox alerts", "triggered").await;
        app.send_event(trigger_event(&key, "disk", "disk full"))
            .await;
        app.send_event(follow_up_event(&key, "acknowledge", "disk"))
            .await;
        app.send_event(trigger_event(&key, "disk", "disk full"))
            .await;
        let list = incidents(&app, "").await;
        let statuses: Vec<_> = list
            .iter()
            .map(|i| (i["number"].as_i64().unwrap(), i["status"].as_str().unwrap()))
            .collect();
        assert_eq!(
            statuses,
            [(2, "triggered"), (1, "acknowledged")],
            "{backend:?}"
        );

        // The same story on an `open` service folds the repeat into the acknowledged incident.
        let (_, open_key) = app.service("Paging alerts", "open").await;
        app.send_event(trigger_event(&open_key, "disk", "disk full"))
            .await;
        app.send_event(follow_up_event(&open_key, "acknowledge", "disk"))
            .await;
        app.send_event(trigger_event(&open_key, "disk", "disk full"))
            .await;
        assert_eq!(incidents(&app, "").await.len(), 3);
        app.stop().await;
    }
}

#[tokio::test]
async fn invalid_events_get_one_precise_message_per_problem() {
    let app = TestApp::start().await;
    let (_, key) = app.service("Web", "open").await;
    let cases = [
        (json!({"event_action":"trigger"}).to_string(), vec!["'routing_key' is missing or blank", "'payload' is missing or blank"]),
        (
            json!({"routing_key":key,"event_action":"trigger","payload":{"summary":"s","source":"h","severity":"fatal"}}).to_string(),
            vec!["'payload.severity' is invalid (must be one of the following: 'critical', 'error', 'warning' or 'info')"],
        ),
        (
            json!({"routing_key":key,"event_action":"trigger","payload":{"summary":["not","text"],"source":"h","severity":"info"}}).to_string(),
            vec!["'payload.summary' must be a string, not an array"],
        ),
        (json!({"routing_key":key,"event_action":"resolve"}).to_string(), vec!["'dedup_key' is missing or blank (it is required to acknowledge or resolve)"]),
        ("{\"routing_key\":".to_owned(), vec!["Malformed JSON: EOF while parsing a value at line 1 column 15"]),
        ("[1,2]".to_owned(), vec!["Event object must be a JSON object"]),
    ];
    for (body, expected) in cases {
        let (status, answer, _) = app.post_raw("/v2/enqueue", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(answer["status"], "invalid event");
        assert_eq!(answer["message"], "Event object is invalid");
        assert_eq!(answer["errors"], json!(expected), "{body}");
    }
    assert!(
        incidents(&app, "").await.is_empty(),
        "nothing invalid was stored"
    );
    // Valid events after invalid ones are unaffected.
    let (status, _) = app.send_event(trigger_event(&key, "k", "fine")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_routing_key_is_refused_clearly() {
    let app = TestApp::start().await;
    let (status, body) = app
        .send_event(trigger_event("0123456789abcdef0123456789abcdef", "k", "x"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["errors"][0],
        "'routing_key' 01234567… does not match any integration on this onduty server"
    );
    app.stop().await;
}

#[tokio::test]
async fn bodies_over_512_kb_are_refused_and_those_under_accepted() {
    let app = TestApp::start().await;
    let (_, key) = app.service("Verbose", "open").await;
    let with_details = |bytes: usize| {
        let mut e = trigger_event(&key, "big", "big details");
        e["payload"]["custom_details"] = json!({"log": "x".repeat(bytes)});
        e.to_string()
    };
    let (status, body, _) = app.post_raw("/v2/enqueue", with_details(500 * 1024)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (status, body, _) = app.post_raw("/v2/enqueue", with_details(513 * 1024)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["errors"][0], "The request body is larger than 512 KB");
    let list = incidents(&app, "").await;
    assert_eq!(
        list[0]["alert_count"], 1,
        "the refused event was not folded in"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_runaway_sender_is_throttled_per_routing_key_and_recovers() {
    let app = TestApp::start_with(onduty_testkit::Backend::Sqlite, |c| {
        c.rate_limit_per_minute = 3
    })
    .await;
    let (_, noisy) = app.service("Noisy", "open").await;
    let (_, quiet) = app.service("Quiet", "open").await;
    for i in 0..3 {
        let (status, _) = app
            .send_event(trigger_event(&noisy, &format!("k{i}"), "x"))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    let (status, body, headers) = app
        .post_raw("/v2/enqueue", trigger_event(&noisy, "k3", "x").to_string())
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["status"], "throttle event");
    assert_eq!(headers["retry-after"], "20");
    let (status, _) = app.send_event(trigger_event(&quiet, "k", "x")).await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "other routing keys are not affected"
    );

    app.advance(Duration::from_secs(20));
    let (status, _) = app.send_event(trigger_event(&noisy, "k3", "x")).await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "one event's worth refilled after 20 s"
    );
    assert_eq!(incidents(&app, "").await.len(), 5);
    app.stop().await;
}

#[tokio::test]
async fn long_summaries_are_truncated_as_pagerduty_does_and_said_so() {
    let app = TestApp::start().await;
    let (_, key) = app.service("Chatty", "open").await;
    let (status, body) = app
        .send_event(trigger_event(&key, "long", &"S".repeat(3000)))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        body["warnings"],
        json!(["'payload.summary' was longer than 1024 characters (3000) and was truncated"])
    );
    let (_, detail) = app.api(Method::GET, "/incidents/1", None).await;
    assert_eq!(detail["incident"]["summary"].as_str().unwrap().len(), 1024);
    assert_eq!(
        detail["timeline"][0]["data"]["warnings"], body["warnings"],
        "the timeline says so too"
    );
    app.stop().await;
}

#[tokio::test]
async fn change_events_land_on_the_service_timeline() {
    let app = TestApp::start().await;
    let (service, key) = app.service("API", "open").await;
    let change = json!({"routing_key": key, "payload": {"summary": "Deployed v2.3.1", "source": "ci",
        "timestamp": "2026-01-15T02:55:00Z", "custom_details": {"commit": "abc123"}},
        "links": [{"href": "https://ci.example/builds/2", "text": "build"}]});
    let (status, body, _) = app.post_raw("/v2/change/enqueue", change.to_string()).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        body,
        json!({"status": "success", "message": "Change event processed"})
    );
    let (status, list) = app
        .api(Method::GET, &format!("/services/{service}/changes"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["changes"][0]["summary"], "Deployed v2.3.1");
    assert_eq!(list["changes"][0]["custom_details"]["commit"], "abc123");
    assert_eq!(list["changes"][0]["timestamp"], "2026-01-15T02:55:00.000Z");
    assert!(
        incidents(&app, "").await.is_empty(),
        "a change pages nobody"
    );
    let (status, _, _) = app
        .post_raw(
            "/v2/change/enqueue",
            json!({"routing_key": key}).to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    app.stop().await;
}

#[tokio::test]
async fn senders_that_do_not_say_json_are_still_understood() {
    let app = TestApp::start().await;
    let (_, key) = app.service("Legacy", "open").await;
    let response = app
        .http
        .post(format!("{}/v2/enqueue", app.url))
        .header("content-type", "text/plain")
        .body(trigger_event(&key, "k", "from an old script").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    app.stop().await;
}
