//! Stories of people acting on an incident while it pages: escalate now, reassign, add
//! responders, snooze, unacknowledge.

use std::time::Duration;

use onduty_testkit::{TestApp, backends, trigger_event};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::paging::{
    ALICE, BOB, CAROL, MINUTE, alice_then_bob, level, pages_to, person, policy, timeline,
};

/// Alice (level 1, 30 minutes) then Bob (level 2) for the Database service; incident #1
/// triggered and Alice paged.
async fn two_levels_and_an_incident(app: &TestApp) {
    let key = alice_then_bob(app, json!({})).await;
    app.send_event(trigger_event(&key, "db01/disk", "DISK at 99% on db01"))
        .await;
    app.tick().await;
    assert_eq!(pages_to(&app.notifier.take(), ALICE), [vec![1]]);
}

#[tokio::test]
async fn escalating_by_hand_pages_the_next_level_at_once() {
    for backend in backends() {
        let app = TestApp::start_with(backend, |_| {}).await;
        two_levels_and_an_incident(&app).await;
        app.pass(2 * MINUTE).await;
        let (status, body) = app.api(Method::POST, "/incidents/1/escalate", None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        app.tick().await;
        let sent = app.notifier.take();
        assert_eq!(
            pages_to(&sent, BOB),
            [vec![1]],
            "Bob at 2 minutes ({backend:?})"
        );
        app.pass(10 * MINUTE).await;
        assert!(
            pages_to(&app.notifier.take(), ALICE).is_empty(),
            "Alice's 5-minute rule was stopped by the escalation"
        );
        let (status, body) = app.api(Method::POST, "/incidents/1/escalate", None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("last level"),
            "{body}"
        );
        let (status, _) = app
            .api(
                Method::POST,
                "/incidents/1/escalate",
                Some(json!({"level": 1})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        app.tick().await;
        assert_eq!(pages_to(&app.notifier.take(), ALICE), [vec![1]]);
        let lines = timeline(&app, 1).await;
        assert!(
            lines.contains(&"Escalated to level 2 of Ops by Ada Admin via the API".to_owned()),
            "{lines:?}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn escalating_an_acknowledged_incident_triggers_it_again() {
    let app = TestApp::start().await;
    two_levels_and_an_incident(&app).await;
    app.api(Method::POST, "/incidents/1/acknowledge", None)
        .await;
    let (status, body) = app
        .api(
            Method::POST,
            "/incidents/1/escalate",
            Some(json!({"level": 2})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["incident"]["status"], "triggered");
    app.tick().await;
    assert_eq!(pages_to(&app.notifier.take(), BOB), [vec![1]]);
    let (status, _) = app
        .api(
            Method::POST,
            "/incidents/1/escalate",
            Some(json!({"level": 3})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "Ops has two levels");
    app.stop().await;
}

#[tokio::test]
async fn reassigning_to_a_person_pages_them_and_nobody_else() {
    for backend in backends() {
        let app = TestApp::start_with(backend, |_| {}).await;
        two_levels_and_an_incident(&app).await;
        person(&app, "Carol", CAROL).await;
        let (status, body) = app
            .api(
                Method::POST,
                "/incidents/1/reassign",
                Some(json!({"user": "carol@example.com"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        app.tick().await;
        assert_eq!(pages_to(&app.notifier.take(), CAROL), [vec![1]]);
        // Carol's 5-minute rule, then nothing: no policy escalates to Bob any more.
        app.pass(60 * MINUTE).await;
        let sent = app.notifier.take();
        assert_eq!(pages_to(&sent, CAROL), [vec![1]], "{backend:?}");
        assert!(pages_to(&sent, BOB).is_empty() && pages_to(&sent, ALICE).is_empty());
        let (_, detail) = app.api(Method::GET, "/incidents/1", None).await;
        let assignees = detail["incident"]["assignees"].as_array().unwrap();
        assert_eq!(assignees.len(), 1, "{detail}");
        let lines = timeline(&app, 1).await;
        assert!(
            lines.contains(&"Reassigned to Carol by Ada Admin via the API".to_owned()),
            "{lines:?}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn reassigning_to_another_policy_starts_it_from_its_first_level() {
    let app = TestApp::start().await;
    two_levels_and_an_incident(&app).await;
    person(&app, "Carol", CAROL).await;
    policy(
        &app,
        json!({"name": "Network", "levels": [level(&["carol@example.com"], 15)]}),
    )
    .await;
    let (status, body) = app
        .api(
            Method::POST,
            "/incidents/1/reassign",
            Some(json!({"escalation_policy": "Network"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.tick().await;
    assert_eq!(pages_to(&app.notifier.take(), CAROL), [vec![1]]);
    // Ops would have reached Bob at 30 minutes; Network has taken over instead.
    app.pass(40 * MINUTE).await;
    assert!(pages_to(&app.notifier.take(), BOB).is_empty());
    // Unacknowledging later starts Network again, not the service's Ops.
    app.api(Method::POST, "/incidents/1/acknowledge", None)
        .await;
    app.api(Method::POST, "/incidents/1/unacknowledge", None)
        .await;
    app.tick().await;
    let sent = app.notifier.take();
    assert_eq!(pages_to(&sent, CAROL), [vec![1]]);
    assert!(pages_to(&sent, ALICE).is_empty());
    app.stop().await;
}

#[tokio::test]
async fn responders_added_to_an_acknowledged_incident_are_paged() {
    for backend in backends() {
        let app = TestApp::start_with(backend, |_| {}).await;
        two_levels_and_an_incident(&app).await;
        person(&app, "Carol", CAROL).await;
        app.api(Method::POST, "/incidents/1/acknowledge", None)
            .await;
        let (status, body) = app
            .api(
                Method::POST,
                "/incidents/1/responders",
                Some(json!({"users": ["carol@example.com"]})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["incident"]["status"], "acknowledged");
        app.tick().await;
        assert_eq!(
            pages_to(&app.notifier.take(), CAROL),
            [vec![1]],
            "{backend:?}"
        );
        app.pass(40 * MINUTE).await;
        let sent = app.notifier.take();
        assert!(
            pages_to(&sent, BOB).is_empty(),
            "the escalation stays stopped"
        );
        let lines = timeline(&app, 1).await;
        assert!(
            lines.contains(&"Ada Admin added Carol as responders via the API".to_owned()),
            "{lines:?}"
        );
        let (status, _) = app
            .api(
                Method::POST,
                "/incidents/1/responders",
                Some(json!({"users": ["nobody@example.com"]})),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_snoozed_incident_is_quiet_until_its_time_then_pages_again() {
    for backend in backends() {
        let app = TestApp::start_with(backend, |_| {}).await;
        two_levels_and_an_incident(&app).await;
        let (status, body) = app
            .api(
                Method::POST,
                "/incidents/1/snooze",
                Some(json!({"minutes": 60})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body["incident"]["status"], "acknowledged",
            "snoozing acknowledges"
        );
        app.pass(59 * MINUTE).await;
        assert!(
            app.notifier.take().is_empty(),
            "quiet for the hour ({backend:?})"
        );
        app.pass(MINUTE).await;
        assert_eq!(
            pages_to(&app.notifier.take(), ALICE),
            [vec![1]],
            "level 1 again when the snooze ends"
        );
        let (_, detail) = app.api(Method::GET, "/incidents/1", None).await;
        assert_eq!(detail["incident"]["status"], "triggered");
        let lines = timeline(&app, 1).await;
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("Snoozed until 2026-") && l.ends_with("via the API")),
            "{lines:?}"
        );
        assert!(
            lines.contains(&"The snooze ended; triggered again".to_owned()),
            "{lines:?}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_snooze_must_end_in_the_future_and_within_a_week() {
    let app = TestApp::start().await;
    two_levels_and_an_incident(&app).await;
    for body in [
        json!({"minutes": 0}),
        json!({"minutes": 20000}),
        json!({"until": "2000-01-01T00:00:00Z"}),
        json!({}),
        json!({"until": "tomorrow"}),
    ] {
        let (status, answer) = app
            .api(Method::POST, "/incidents/1/snooze", Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} → {answer}");
    }
    app.api(Method::POST, "/incidents/1/resolve", None).await;
    let (status, _) = app
        .api(
            Method::POST,
            "/incidents/1/snooze",
            Some(json!({"minutes": 5})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "a resolved incident");
    app.stop().await;
}

#[tokio::test]
async fn unacknowledging_pages_from_the_first_level_again() {
    let app = TestApp::start().await;
    two_levels_and_an_incident(&app).await;
    app.api(Method::POST, "/incidents/1/acknowledge", None)
        .await;
    app.pass(Duration::from_secs(600)).await;
    assert!(app.notifier.take().is_empty());
    let (status, body) = app
        .api(Method::POST, "/incidents/1/unacknowledge", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["incident"]["status"], "triggered");
    app.tick().await;
    assert_eq!(pages_to(&app.notifier.take(), ALICE), [vec![1]]);
    app.pass(30 * MINUTE).await;
    assert_eq!(pages_to(&app.notifier.take(), BOB), [vec![1]]);
    app.stop().await;
}

#[tokio::test]
async fn observers_cannot_reshape_paging() {
    let app = TestApp::start().await;
    two_levels_and_an_incident(&app).await;
    let watcher = app.user_token("Olive", "observer").await;
    for (path, body) in [
        ("/incidents/1/escalate", json!({})),
        ("/incidents/1/snooze", json!({"minutes": 5})),
        ("/incidents/1/unacknowledge", json!({})),
        (
            "/incidents/1/responders",
            json!({"users": ["bob@example.com"]}),
        ),
    ] {
        let (status, _) = app.api_as(&watcher, Method::POST, path, Some(body)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    app.stop().await;
}
