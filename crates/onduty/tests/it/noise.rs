//! Noise-control stories: an alert storm pages once, a flapping check pages once.

use onduty_testkit::{TestApp, backends, follow_up_event, trigger_event};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::browser::administrator;
use crate::paging::{
    ALICE, BOB, MINUTE, alice_then_bob, level, pages_to, person, policy, service, timeline,
};

#[tokio::test]
async fn an_alert_storm_is_one_incident_and_a_flapping_check_reopens_it_without_paging() {
    for backend in backends() {
        let app = TestApp::start_with(backend, |_| {}).await;
        let key = alice_then_bob(
            &app,
            json!({"urgency": "low", "group_window_minutes": 5, "flap_window_minutes": 10}),
        )
        .await;

        // The storm: the disk fills, then latency and replication follow within minutes.
        app.send_event(trigger_event(&key, "db01/disk", "Disk full on db01"))
            .await;
        app.tick().await;
        assert_eq!(pages_to(&app.notifier.take(), ALICE), [vec![1]]);
        app.pass(MINUTE).await;
        app.send_event(trigger_event(&key, "db01/latency", "Slow queries"))
            .await;
        app.pass(MINUTE).await;
        app.send_event(trigger_event(&key, "db01/replication", "Replica lag"))
            .await;
        app.tick().await;
        assert!(
            app.notifier.take().is_empty(),
            "grouped alerts page nobody ({backend:?})"
        );
        let (_, list) = app.api(Method::GET, "/incidents", None).await;
        assert_eq!(list["incidents"].as_array().unwrap().len(), 1, "{list}");
        let (_, detail) = app.api(Method::GET, "/incidents/1", None).await;
        let incident = &detail["incident"];
        assert_eq!(incident["alert_count"], 3);
        let keys: Vec<&str> = incident["grouped_alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["dedup_key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ["db01/disk", "db01/latency", "db01/replication"]);

        // It resolves when the last of its alerts does.
        for dedup in ["db01/disk", "db01/latency"] {
            app.send_event(follow_up_event(&key, "resolve", dedup))
                .await;
        }
        let (_, detail) = app.api(Method::GET, "/incidents/1", None).await;
        assert_eq!(detail["incident"]["status"], "triggered");
        app.send_event(follow_up_event(&key, "resolve", "db01/replication"))
            .await;
        let (_, detail) = app.api(Method::GET, "/incidents/1", None).await;
        assert_eq!(detail["incident"]["status"], "resolved");

        // The disk check flaps: two minutes later it fires again. The incident re-opens
        // and nobody is paged for it...
        app.pass(2 * MINUTE).await;
        app.send_event(trigger_event(&key, "db01/disk", "Disk full on db01"))
            .await;
        app.tick().await;
        assert!(
            app.notifier.take().is_empty(),
            "a flap pages nobody at once"
        );
        let (_, detail) = app.api(Method::GET, "/incidents/1", None).await;
        assert_eq!(detail["incident"]["status"], "triggered");
        let lines = timeline(&app, 1).await;
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("Re-opened: a trigger from")),
            "{lines:?}"
        );
        // ...until it has stayed unacknowledged for the flap window: then the policy
        // pages it again from its first level.
        app.pass(9 * MINUTE).await;
        assert!(app.notifier.take().is_empty());
        app.pass(MINUTE).await;
        let sent = app.notifier.take();
        assert_eq!(pages_to(&sent, ALICE), [vec![1]], "{sent:?}");
        assert!(pages_to(&sent, BOB).is_empty(), "{sent:?}");
        let (_, list) = app.api(Method::GET, "/incidents", None).await;
        assert_eq!(list["incidents"].as_array().unwrap().len(), 1);
        app.stop().await;
    }
}

#[tokio::test]
async fn noise_settings_are_checked_and_shown() {
    let app = TestApp::start().await;
    let (_, key) = app.service("Web", "open").await;
    let (status, body) = app
        .api(
            Method::PATCH,
            "/services/Web",
            Some(json!({"group_window_minutes": 0})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.to_string().contains("group_window_minutes"), "{body}");
    let (status, body) = app
        .api(
            Method::PATCH,
            "/services/Web",
            Some(json!({"flap_window_minutes": 1441})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = app
        .api(
            Method::PATCH,
            "/services/Web",
            Some(json!({"group_window_minutes": 5, "flap_window_minutes": 15})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["service"]["group_window_minutes"], 5);
    assert_eq!(body["service"]["flap_window_minutes"], 15);
    let (_, body) = app
        .api(
            Method::PATCH,
            "/services/Web",
            Some(json!({"group_window_minutes": null})),
        )
        .await;
    assert_eq!(body["service"]["group_window_minutes"], json!(null));
    assert_eq!(body["service"]["flap_window_minutes"], 15);

    // The web page shows the settings and saves them; an incident shows its alerts.
    let mut browser = administrator(&app).await;
    let (_, service) = app.api(Method::GET, "/services/Web", None).await;
    let id = service["service"]["id"].as_str().unwrap().to_owned();
    let page = browser.get(&format!("/services/{id}")).await;
    assert!(
        page.body
            .contains(r#"name="flap_window_minutes" value="15""#),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(r#"name="draft_postmortems" value="1" class="check" checked"#),
        "drafts postmortems until told otherwise"
    );
    let saved = browser
        .post(
            &format!("/services/{id}"),
            &[
                ("csrf", page.csrf().as_str()),
                ("name", "Web"),
                ("urgency", "high"),
                ("dedup_mode", "open"),
                ("group_window_minutes", "10"),
                ("flap_window_minutes", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let (_, service) = app.api(Method::GET, "/services/Web", None).await;
    assert_eq!(service["service"]["group_window_minutes"], 10);
    assert_eq!(service["service"]["flap_window_minutes"], json!(null));
    assert_eq!(
        service["service"]["draft_postmortems"], false,
        "the box was left unticked"
    );

    app.send_event(trigger_event(&key, "web/5xx", "Errors"))
        .await;
    app.send_event(trigger_event(&key, "web/<latency>", "Slow"))
        .await;
    app.send_event(follow_up_event(&key, "resolve", "web/5xx"))
        .await;
    let page = browser.get("/incidents/1").await;
    assert!(page.body.contains("Grouped alerts (2)"), "{}", page.body);
    assert!(
        page.body.contains("web/&#60;latency&#62;") || page.body.contains("web/&lt;latency&gt;"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("<strong>firing</strong>"),
        "{}",
        page.body
    );
    app.stop().await;
}

#[tokio::test]
async fn an_incident_handed_to_a_person_that_flaps_is_paged_again_through_the_policy() {
    let app = TestApp::start().await;
    person(&app, "Alice", ALICE).await;
    person(&app, "Bob", BOB).await;
    policy(
        &app,
        json!({"name": "Ops", "levels": [level(&["alice@example.com"], 30)]}),
    )
    .await;
    let key = service(
        &app,
        "Queue",
        "Ops",
        json!({"urgency": "low", "flap_window_minutes": 10}),
    )
    .await;
    app.send_event(trigger_event(&key, "queue/depth", "Queue backing up"))
        .await;
    app.tick().await;
    app.notifier.take();
    // Handed straight to Bob: no policy follows the incident any more.
    let (status, body) = app
        .api(
            Method::POST,
            "/incidents/1/reassign",
            Some(json!({"user": "bob@example.com"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.tick().await;
    assert_eq!(pages_to(&app.notifier.take(), BOB), [vec![1]]);
    app.send_event(follow_up_event(&key, "resolve", "queue/depth"))
        .await;
    app.pass(MINUTE).await;
    app.send_event(trigger_event(&key, "queue/depth", "Queue backing up"))
        .await;
    // Another incident meanwhile pages as usual: the engine is not stuck on the first.
    app.send_event(trigger_event(&key, "queue/consumers", "No consumers"))
        .await;
    app.tick().await;
    let sent = app.notifier.take();
    assert_eq!(pages_to(&sent, ALICE), [vec![2]], "{sent:?}");
    app.pass(10 * MINUTE).await;
    let sent = app.notifier.take();
    assert_eq!(
        pages_to(&sent, ALICE),
        [vec![1]],
        "the service's policy pages the re-opened incident: {sent:?}"
    );
    app.stop().await;
}
