//! Paging stories: a fixture, fake phones, a clock moved by hand, an expected page.

use std::time::Duration;

use onduty_notify::{Content, NotifyError};
use onduty_testkit::{Backend, TestApp, backends, follow_up_event, trigger_event};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub(crate) use onduty_testkit::story::{
    code_in, enter_code, level, pages_to, person, policy, service, verified_method,
};

pub(crate) const MINUTE: Duration = Duration::from_secs(60);

/// Alice (SMS), a policy "Ops" paging her, and a service "Database" posting its incidents
/// to a chat channel (`platform`, `channel`); returns the routing key and the channel as
/// the API shows it.
pub(crate) async fn database_posting_to(
    app: &TestApp,
    platform: &str,
    channel: &str,
) -> (String, Value) {
    person(app, "Alice", ALICE).await;
    policy(
        app,
        json!({"name": "Ops", "levels": [level(&["alice@example.com"], 30)]}),
    )
    .await;
    let key = service(app, "Database", "Ops", json!({})).await;
    let (status, body) = app
        .api(
            Method::POST,
            "/services/Database/chat-channels",
            Some(json!({"platform": platform, "channel": channel})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (key, body["chat_channel"].clone())
}

pub(crate) async fn timeline(app: &TestApp, number: i64) -> Vec<String> {
    let (_, detail) = app
        .api(Method::GET, &format!("/incidents/{number}"), None)
        .await;
    detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_owned())
        .collect()
}

/// Alice and Bob, a policy "Ops" paging Alice and then Bob 30 minutes later, and a
/// service "Database" paging through it (with `settings`); returns its routing key.
pub(crate) async fn alice_then_bob(app: &TestApp, settings: Value) -> String {
    person(app, "Alice", ALICE).await;
    person(app, "Bob", BOB).await;
    policy(
        app,
        json!({"name": "Ops", "levels": [level(&["alice@example.com"], 30), level(&["bob@example.com"], 30)]}),
    )
    .await;
    service(app, "Database", "Ops", settings).await
}

pub(crate) const ALICE: &str = "+447700900001";
pub(crate) const BOB: &str = "+447700900002";
pub(crate) const CAROL: &str = "+447700900003";

#[tokio::test]
async fn nobody_acknowledges_so_the_second_level_is_paged_after_thirty_minutes() {
    for backend in backends() {
        let app = TestApp::start_with(backend, |_| {}).await;
        person(&app, "Alice", ALICE).await;
        person(&app, "Bob", BOB).await;
        policy(
            &app,
            json!({"name": "Ops", "levels": [level(&["alice@example.com"], 30), level(&["bob@example.com"], 30)]}),
        )
        .await;
        let key = service(&app, "Database", "Ops", json!({})).await;

        app.send_event(trigger_event(&key, "db01/disk", "DISK at 99% on db01"))
            .await;
        app.tick().await;
        let sent = app.notifier.take();
        assert_eq!(
            pages_to(&sent, ALICE),
            [vec![1]],
            "Alice is paged at once ({backend:?})"
        );
        assert!(pages_to(&sent, BOB).is_empty());

        app.pass(5 * MINUTE).await;
        assert_eq!(
            pages_to(&app.notifier.take(), ALICE),
            [vec![1]],
            "her 5-minute rule"
        );
        app.pass(24 * MINUTE).await;
        assert!(app.notifier.take().is_empty(), "nothing at 29 minutes");
        app.pass(MINUTE).await;
        let sent = app.notifier.take();
        assert_eq!(pages_to(&sent, BOB), [vec![1]], "Bob at 30 minutes");
        assert!(pages_to(&sent, ALICE).is_empty());
        app.pass(30 * MINUTE).await;
        app.notifier.take();

        let lines = timeline(&app, 1).await;
        assert!(
            lines.contains(&"Escalation policy Ops, level 1: paging Alice".to_owned()),
            "{lines:?}"
        );
        assert!(
            lines.contains(&"Escalation policy Ops, level 2: paging Bob".to_owned()),
            "{lines:?}"
        );
        assert!(
            lines.contains(&format!("SMS to Alice {ALICE}: sent")),
            "{lines:?}"
        );
        assert_eq!(
            lines.last().unwrap(),
            "Escalation policy Ops has no more levels; nobody acknowledged"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn acknowledging_stops_the_escalation_and_the_rules_still_to_come() {
    for backend in backends() {
        let app = TestApp::start_with(backend, |_| {}).await;
        let alice = person(&app, "Alice", ALICE).await;
        person(&app, "Bob", BOB).await;
        policy(
            &app,
            json!({"name": "Ops", "levels": [level(&["alice@example.com"], 30), level(&["bob@example.com"], 30)]}),
        )
        .await;
        let key = service(&app, "Database", "Ops", json!({})).await;
        app.send_event(trigger_event(&key, "db01/disk", "DISK at 99%"))
            .await;
        app.tick().await;
        assert_eq!(pages_to(&app.notifier.take(), ALICE).len(), 1);

        app.advance(2 * MINUTE);
        let (status, _) = app
            .api_as(&alice, Method::POST, "/incidents/1/acknowledge", None)
            .await;
        assert_eq!(status, StatusCode::OK);
        for _ in 0..6 {
            app.pass(10 * MINUTE).await;
        }
        assert!(
            app.notifier.take().is_empty(),
            "no 5-minute repeat, no level 2 ({backend:?})"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn an_acknowledge_event_from_the_source_also_stops_paging() {
    let app = TestApp::start().await;
    person(&app, "Alice", ALICE).await;
    policy(
        &app,
        json!({"name": "Ops", "levels": [level(&["alice@example.com"], 10)]}),
    )
    .await;
    let key = service(&app, "Web", "Ops", json!({})).await;
    app.send_event(trigger_event(&key, "web", "5xx")).await;
    app.tick().await;
    app.notifier.take();
    app.send_event(follow_up_event(&key, "acknowledge", "web"))
        .await;
    app.pass(30 * MINUTE).await;
    assert!(app.notifier.take().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn the_policy_repeats_twice_then_stops() {
    let app = TestApp::start().await;
    person(&app, "Alice", ALICE).await;
    policy(
        &app,
        json!({"name": "Ops", "levels": [level(&["alice@example.com"], 10)], "repeat": 2}),
    )
    .await;
    let key = service(&app, "Web", "Ops", json!({"urgency": "low"})).await;
    app.send_event(trigger_event(&key, "web", "slow")).await;
    let mut pages = Vec::new();
    app.tick().await;
    for minute in 0..=40 {
        if minute > 0 {
            app.pass(MINUTE).await;
        }
        if !pages_to(&app.notifier.take(), ALICE).is_empty() {
            pages.push(minute);
        }
    }
    assert_eq!(
        pages,
        [0, 10, 20],
        "first pass and two repeats; low urgency skips her 5-minute rule"
    );
    let lines = timeline(&app, 1).await;
    assert!(
        lines.contains(&"Escalation policy Ops, level 1, repeat 2: paging Alice".to_owned()),
        "{lines:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_acknowledgement_that_times_out_triggers_the_incident_again() {
    for backend in backends() {
        let app = TestApp::start_with(backend, |_| {}).await;
        let alice = person(&app, "Alice", ALICE).await;
        policy(
            &app,
            json!({"name": "Ops", "levels": [level(&["alice@example.com"], 30)]}),
        )
        .await;
        let key = service(
            &app,
            "Web",
            "Ops",
            json!({"ack_timeout_minutes": 30, "urgency": "low"}),
        )
        .await;
        app.send_event(trigger_event(&key, "web", "5xx")).await;
        app.tick().await;
        app.notifier.take();
        app.api_as(&alice, Method::POST, "/incidents/1/acknowledge", None)
            .await;
        app.pass(29 * MINUTE).await;
        assert!(app.notifier.take().is_empty());
        app.pass(MINUTE).await;
        assert_eq!(
            pages_to(&app.notifier.take(), ALICE),
            [vec![1]],
            "paged again ({backend:?})"
        );
        let (_, detail) = app.api(Method::GET, "/incidents/1", None).await;
        assert_eq!(detail["incident"]["status"], "triggered");
        assert!(
            timeline(&app, 1)
                .await
                .contains(&"The acknowledgement timed out; triggered again".to_owned())
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_round_robin_level_pages_the_next_person_for_each_new_incident() {
    let app = TestApp::start().await;
    person(&app, "Alice", ALICE).await;
    person(&app, "Bob", BOB).await;
    person(&app, "Carol", CAROL).await;
    policy(
        &app,
        json!({"name": "Rota", "levels": [{"targets": [
            {"type": "user", "id": "alice@example.com"},
            {"type": "user", "id": "bob@example.com"},
            {"type": "user", "id": "carol@example.com"}], "delay_minutes": 30, "mode": "round_robin"}]}),
    )
    .await;
    let key = service(&app, "Support", "Rota", json!({"urgency": "low"})).await;
    let mut order = Vec::new();
    for i in 0..4 {
        app.send_event(trigger_event(
            &key,
            &format!("ticket-{i}"),
            "customer waiting",
        ))
        .await;
        app.tick().await;
        let sent = app.notifier.take();
        for (who, phone) in [("Alice", ALICE), ("Bob", BOB), ("Carol", CAROL)] {
            if !pages_to(&sent, phone).is_empty() {
                order.push(who);
            }
        }
        app.advance(2 * MINUTE);
    }
    assert_eq!(order, ["Alice", "Bob", "Carol", "Alice"]);
    app.stop().await;
}

#[tokio::test]
async fn an_unacknowledged_support_incident_is_handed_over_to_the_ops_teams_policy() {
    let app = TestApp::start().await;
    person(&app, "Alice", ALICE).await;
    person(&app, "Bob", BOB).await;
    policy(
        &app,
        json!({"name": "Ops", "levels": [level(&["bob@example.com"], 15)]}),
    )
    .await;
    policy(
        &app,
        json!({"name": "Support", "levels": [
            level(&["alice@example.com"], 10),
            {"targets": [{"type": "policy", "id": "Ops"}], "delay_minutes": 10}]}),
    )
    .await;
    // Who is on call shows the hand-over level paging Ops's first level, Bob.
    let (_, overview) = app.api(Method::GET, "/oncall", None).await;
    let support = overview["escalation_policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Support")
        .unwrap();
    assert_eq!(
        support["levels"][1]["people"][0]["name"], "Bob",
        "{support}"
    );
    assert_eq!(support["levels"][1]["hands_over_to"], "Ops");
    let page = crate::browser::logged_in_as(&app, "Carol", "observer")
        .await
        .get("/oncall")
        .await;
    page.shows("<li>hands over to Ops: Bob</li>");

    let key = service(&app, "Helpdesk", "Support", json!({"urgency": "low"})).await;
    app.send_event(trigger_event(&key, "h", "printer on fire"))
        .await;
    app.tick().await;
    assert_eq!(pages_to(&app.notifier.take(), ALICE).len(), 1);
    app.pass(10 * MINUTE).await;
    let sent = app.notifier.take();
    assert_eq!(
        pages_to(&sent, BOB),
        [vec![1]],
        "Ops's first level pages Bob"
    );
    assert!(pages_to(&sent, ALICE).is_empty());
    let lines = timeline(&app, 1).await;
    assert!(
        lines.contains(&"Escalation policy Support, level 2; handed over to Escalation policy Ops, level 1: paging Bob".to_owned()),
        "{lines:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_refused_number_is_marked_failing_and_the_next_rule_goes_at_once() {
    let app = TestApp::start().await;
    let alice = person(&app, "Alice", ALICE).await;
    // A second way to reach her, used 10 minutes in.
    let hook = verified_method(
        &app,
        &alice,
        "alice@example.com",
        "webhook",
        "https://hooks.example/alice",
    )
    .await;
    app.api_as(
        &alice,
        Method::POST,
        "/users/alice@example.com/notification-rules",
        Some(json!({"contact_method": hook, "delay_minutes": 10})),
    )
    .await;
    policy(
        &app,
        json!({"name": "Ops", "levels": [level(&["alice@example.com"], 30)]}),
    )
    .await;
    let key = service(&app, "Web", "Ops", json!({"urgency": "low"})).await;
    app.notifier
        .fail_next([NotifyError::Permanent("21211 invalid 'To' number".into())]);
    app.send_event(trigger_event(&key, "web", "5xx")).await;
    app.tick().await;
    let sent = app.notifier.take();
    assert!(pages_to(&sent, ALICE).is_empty(), "the SMS was refused");
    assert_eq!(
        pages_to(&sent, "https://hooks.example/alice"),
        [vec![1]],
        "her webhook at once, not at 10 minutes"
    );
    let (_, methods) = app
        .api_as(
            &alice,
            Method::GET,
            "/users/alice@example.com/contact-methods",
            None,
        )
        .await;
    let failing: Vec<(&str, &Value)> = methods["contact_methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["channel"].as_str().unwrap(), &m["failing"]))
        .collect();
    assert!(
        failing.contains(&("sms", &json!("21211 invalid 'To' number")))
            && failing.contains(&("webhook", &Value::Null)),
        "{failing:?}"
    );
    let lines = timeline(&app, 1).await;
    assert!(
        lines.iter().any(|l| l.contains("refused (21211")),
        "{lines:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_provider_outage_is_retried_with_backoff() {
    let app = TestApp::start().await;
    person(&app, "Alice", ALICE).await;
    policy(
        &app,
        json!({"name": "Ops", "levels": [level(&["alice@example.com"], 60)]}),
    )
    .await;
    let key = service(&app, "Web", "Ops", json!({"urgency": "low"})).await;
    app.notifier.fail_next([
        NotifyError::Transient("503 from provider".into()),
        NotifyError::Transient("timeout".into()),
    ]);
    app.send_event(trigger_event(&key, "web", "5xx")).await;
    app.tick().await;
    app.pass(Duration::from_secs(29)).await;
    assert!(app.notifier.take().is_empty());
    app.pass(Duration::from_secs(1)).await;
    assert!(
        app.notifier.take().is_empty(),
        "second attempt at 30 s fails too"
    );
    app.pass(Duration::from_secs(60)).await;
    assert_eq!(
        pages_to(&app.notifier.take(), ALICE),
        [vec![1]],
        "third attempt, a minute later, goes through"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_link_in_a_page_opens_the_incidents_web_page() {
    let app = TestApp::start().await;
    let key = alice_then_bob(&app, json!({})).await;
    app.send_event(trigger_event(&key, "a", "Disk full")).await;
    app.tick().await;
    let sent = app.notifier.take();
    let url = sent
        .iter()
        .find_map(|m| match &m.content {
            Content::Page { items } => Some(items[0].url.clone()),
            _ => None,
        })
        .expect("a page was sent");
    assert_eq!(url, format!("{}/incidents/1", app.url));
    let page = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.status(),
        StatusCode::SEE_OTHER,
        "a person without a session is sent to log in, not given a JSON error"
    );
    assert!(
        page.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login"),
        "{:?}",
        page.headers()
    );
    app.stop().await;
}

#[tokio::test]
async fn a_page_held_for_its_numbers_gap_leaves_within_15_seconds_and_the_next_level_waits_for_it()
{
    let app = TestApp::start().await;
    person(&app, "Alice", ALICE).await;
    person(&app, "Bob", BOB).await;
    policy(
        &app,
        json!({"name": "Ops", "levels": [level(&["alice@example.com"], 1), level(&["bob@example.com"], 1)]}),
    )
    .await;
    let key = service(&app, "Web", "Ops", json!({"urgency": "low"})).await;
    app.send_event(trigger_event(&key, "a", "first")).await;
    app.tick().await;
    assert_eq!(pages_to(&app.notifier.take(), ALICE), [vec![1]]);

    // Five seconds later a storm: its pages wait for the number's 15-second gap and go as one.
    app.advance(Duration::from_secs(5));
    for key_suffix in ["b", "c", "d"] {
        app.send_event(trigger_event(&key, key_suffix, "storm"))
            .await;
    }
    app.tick().await;
    assert!(
        app.notifier.take().is_empty(),
        "not within 15 s of the last SMS"
    );
    app.pass(Duration::from_secs(10)).await;
    assert_eq!(
        pages_to(&app.notifier.take(), ALICE),
        [vec![2, 3, 4]],
        "one SMS for three incidents, 15 s after the first"
    );
    let lines = timeline(&app, 2).await;
    assert!(
        lines.iter().any(|l| l.starts_with(&format!(
            "SMS to Alice {ALICE}: held 10 s, since the number was sent a message 5 s ago"
        ))),
        "{lines:?}"
    );

    // Their next level counts its minute from when Alice's page went out, not from when it
    // was due: Bob hears of #1 at 1:00, of the storm at 1:15.
    app.pass(Duration::from_secs(50)).await;
    assert_eq!(pages_to(&app.notifier.take(), BOB), [vec![1]]);
    app.pass(Duration::from_secs(10)).await;
    assert_eq!(pages_to(&app.notifier.take(), BOB), [vec![2, 3, 4]]);
    app.stop().await;
}

#[tokio::test]
async fn incidents_without_events_resolve_themselves_when_asked_to() {
    let app = TestApp::start().await;
    person(&app, "Alice", ALICE).await;
    policy(
        &app,
        json!({"name": "Ops", "levels": [level(&["alice@example.com"], 60)]}),
    )
    .await;
    let key = service(
        &app,
        "Batch",
        "Ops",
        json!({"auto_resolve_minutes": 240, "urgency": "low"}),
    )
    .await;
    app.send_event(trigger_event(&key, "nightly", "job late"))
        .await;
    app.tick().await;
    app.advance(120 * MINUTE);
    app.send_event(trigger_event(&key, "nightly", "job still late"))
        .await;
    app.pass(200 * MINUTE).await;
    let (_, detail) = app.api(Method::GET, "/incidents/1", None).await;
    assert_eq!(
        detail["incident"]["status"], "triggered",
        "4 hours since the last event, not the first"
    );
    app.pass(40 * MINUTE).await;
    let (_, detail) = app.api(Method::GET, "/incidents/1", None).await;
    assert_eq!(detail["incident"]["status"], "resolved");
    assert_eq!(detail["incident"]["resolved_by"]["type"], "system");
    app.stop().await;
}

#[tokio::test]
async fn a_service_without_a_policy_records_incidents_and_pages_nobody() {
    let app = TestApp::start_with(Backend::Sqlite, |_| {}).await;
    person(&app, "Alice", ALICE).await;
    let (_, key) = app.service("Quiet", "open").await;
    app.send_event(trigger_event(&key, "x", "y")).await;
    assert_eq!(app.tick().await, None, "nothing is due");
    assert!(app.notifier.take().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn damaged_rows_and_failing_engine_stages_never_hold_up_pages() {
    for backend in backends() {
        let app = TestApp::start_with(backend, |_| {}).await;
        person(&app, "Alice", ALICE).await;
        policy(
            &app,
            json!({"name": "Ops", "levels": [level(&["alice@example.com"], 30)]}),
        )
        .await;
        let key = service(&app, "Database", "Ops", json!({"urgency": "low"})).await;
        let (backups, _) = app.service("Backups", "open").await;
        let (status, made) = app
            .api(
                Method::POST,
                &format!("/services/{backups}/heartbeats"),
                Some(json!({"name": "nightly", "period_minutes": 60, "grace_minutes": 10})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        // A heartbeat row nobody can read, and overdue: it is set aside (and logged),
        // and everything else goes on.
        app.db
            .execute("UPDATE heartbeats SET expect = 'not json', due_at = 0")
            .await;
        app.send_event(trigger_event(&key, "db01/disk", "Disk full on db01"))
            .await;
        let ticked = app.engine.tick(app.now()).await;
        assert!(ticked.is_ok(), "{ticked:?} ({backend:?})");
        assert_eq!(pages_to(&app.notifier.take(), ALICE), [vec![1]]);
        assert_eq!(
            app.db
                .execute("UPDATE heartbeats SET name = name WHERE due_at IS NULL")
                .await,
            1,
            "no longer due"
        );

        // A whole stage failing (its table gone) is reported, and the page still goes out.
        app.db
            .execute("ALTER TABLE heartbeats RENAME TO heartbeats_gone")
            .await;
        // (Later, so that Alice's phone is not still paced from the first page.)
        app.advance(10 * MINUTE);
        let (status, body) = app
            .send_event(trigger_event(&key, "db02/disk", "Disk full on db02"))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        let ticked = app.engine.tick(app.now()).await;
        assert!(
            ticked.is_err(),
            "the failing stage is reported ({backend:?})"
        );
        assert_eq!(
            pages_to(&app.notifier.take(), ALICE),
            [vec![2]],
            "and the page goes out all the same ({backend:?})"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn an_escalation_that_cannot_be_read_stops_alone_and_says_so() {
    for backend in backends() {
        let app = TestApp::start_with(backend, |_| {}).await;
        let key = alice_then_bob(&app, json!({"urgency": "low"})).await;
        app.send_event(trigger_event(&key, "db01/disk", "Disk full on db01"))
            .await;
        app.tick().await;
        app.notifier.take();
        // Incident 1's escalation row is damaged (its policy gone from the row).
        app.db
            .execute("UPDATE escalations SET policy_id = NULL")
            .await;
        app.pass(MINUTE).await;
        app.send_event(trigger_event(&key, "db02/disk", "Disk full on db02"))
            .await;
        app.tick().await;
        assert_eq!(pages_to(&app.notifier.take(), ALICE), [vec![2]]);

        // Both are due for their second level; only the readable one gets there.
        app.pass(30 * MINUTE).await;
        let sent = app.notifier.take();
        assert_eq!(pages_to(&sent, BOB), [vec![2]], "{sent:?} ({backend:?})");
        let lines = timeline(&app, 1).await;
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("onduty could not read this incident's escalation")),
            "{lines:?}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_damaged_planned_page_or_message_is_set_aside_and_the_engine_moves_on() {
    // SQLite lets a test put text where a number belongs; PostgreSQL would refuse it.
    let app = TestApp::start().await;
    person(&app, "Alice", ALICE).await;
    policy(
        &app,
        json!({"name": "Ops", "levels": [level(&["alice@example.com"], 30)]}),
    )
    .await;
    let key = service(&app, "Database", "Ops", json!({})).await;
    app.send_event(trigger_event(&key, "db01/disk", "Disk full on db01"))
        .await;
    app.tick().await;
    assert_eq!(pages_to(&app.notifier.take(), ALICE), [vec![1]]);
    // Her 5-minute rule is planned; damage it.
    let damaged = app
        .db
        .execute("UPDATE planned_notifications SET responder = 'not a number'")
        .await;
    assert_eq!(damaged, 1);
    app.advance(5 * MINUTE);
    let next = app.tick().await;
    assert!(app.notifier.take().is_empty());
    assert!(
        next.is_none_or(|n| n > app.now()),
        "nothing left due: {next:?}"
    );
    assert_eq!(
        app.db
            .execute("UPDATE planned_notifications SET due_at = due_at")
            .await,
        0,
        "set aside"
    );

    // A message waiting for another try is damaged: it is marked failed.
    app.notifier
        .fail_next([NotifyError::Transient("503 from provider".into())]);
    app.send_event(trigger_event(&key, "db02/disk", "Disk full on db02"))
        .await;
    app.tick().await;
    let damaged = app
        .db
        .execute("UPDATE outbox SET attempts = 'x' WHERE status = 'pending'")
        .await;
    assert_eq!(damaged, 1);
    app.advance(10 * MINUTE);
    let next = app.tick().await;
    assert!(
        next.is_none_or(|n| n > app.now()),
        "nothing left due: {next:?}"
    );
    assert_eq!(
        app.db
            .execute("UPDATE outbox SET status = status WHERE status = 'failed'")
            .await,
        1
    );
    app.stop().await;
}
