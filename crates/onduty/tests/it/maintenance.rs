//! Maintenance stories: a database upgrade that pages nobody, reminds the person who
//! started it, and ends by itself — on the manual clock.

use onduty_notify::Content;
use onduty_testkit::{TestApp, trigger_event};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::paging::{ALICE, MINUTE, level, pages_to, person, policy, service};

#[tokio::test]
async fn an_upgrade_in_maintenance_pages_nobody_reminds_alice_and_ends_by_itself() {
    let app = TestApp::start().await;
    let alice = person(&app, "Alice", ALICE).await;
    policy(
        &app,
        json!({"name": "Checkout", "levels": [level(&["alice@example.com"], 30)]}),
    )
    .await;
    let key = service(&app, "Checkout", "Checkout", json!({})).await;
    let (_, search_key) = app.service("Search", "open").await;

    // Alice starts an hour of maintenance on Checkout for a database upgrade.
    let (status, made) = app
        .api_as(
            &alice,
            Method::POST,
            "/maintenance",
            Some(json!({"services": ["Checkout"], "minutes": 60, "reason": "database upgrade"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let window = &made["maintenance"];
    assert_eq!(window["on"], true);
    assert_eq!(window["services"][0]["name"], "Checkout");
    let id = window["id"].as_str().unwrap().to_owned();

    // The upgrade makes noise: recorded, no incident, no page. Search still pages.
    let (status, _) = app
        .send_event(trigger_event(&key, "db/down", "Database unreachable"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    app.send_event(trigger_event(&search_key, "idx", "Search index stale"))
        .await;
    app.tick().await;
    let open = app.all_incidents().await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["summary"], "Search index stale");
    assert!(pages_to(&app.notifier.take(), ALICE).is_empty());

    // Fifteen minutes before the end, Alice is reminded, once.
    app.pass(44 * MINUTE).await;
    assert!(app.notifier.take().is_empty());
    app.pass(MINUTE).await;
    let sent = app.notifier.take();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].to, ALICE);
    let Content::Notice { text } = &sent[0].content else {
        panic!("a reminder: {sent:?}")
    };
    assert!(
        text.starts_with("Maintenance of Checkout ends Thu 15 Jan 04:00 (database upgrade)"),
        "{text}"
    );
    app.pass(5 * MINUTE).await;
    assert!(app.notifier.take().is_empty(), "reminded once");

    // At the end paging is back without anyone remembering to switch it on.
    app.pass(10 * MINUTE).await;
    let (_, list) = app.api(Method::GET, "/maintenance", None).await;
    assert!(list["maintenance"].as_array().unwrap().is_empty(), "{list}");
    app.send_event(trigger_event(&key, "db/down", "Database unreachable"))
        .await;
    app.tick().await;
    assert_eq!(app.all_incidents().await.len(), 2);
    assert_eq!(pages_to(&app.notifier.take(), ALICE).len(), 1);

    // Ending a window early, and what is refused.
    let (_, again) = app
        .api_as(
            &alice,
            Method::POST,
            "/maintenance",
            Some(json!({"services": ["Checkout", "Search"], "minutes": 30, "reason": "network work"})),
        )
        .await;
    let again_id = again["maintenance"]["id"].as_str().unwrap().to_owned();
    let (status, ended) = app
        .api_as(
            &alice,
            Method::POST,
            &format!("/maintenance/{again_id}/end"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ended["maintenance"]["on"], false);
    for (body, why) in [
        (
            json!({"services": ["Checkout"], "reason": "forever"}),
            "every maintenance window ends",
        ),
        (
            json!({"services": ["Checkout"], "minutes": 60, "reason": " "}),
            "'reason'",
        ),
        (
            json!({"services": ["Checkout"], "minutes": 99999, "reason": "x"}),
            "a month",
        ),
        (
            json!({"services": ["Nope"], "minutes": 5, "reason": "x"}),
            "Nope",
        ),
    ] {
        let (status, refused) = app
            .api_as(&alice, Method::POST, "/maintenance", Some(body))
            .await;
        assert!(status.is_client_error(), "{refused}");
        assert!(
            refused["error"]["message"].as_str().unwrap().contains(why),
            "{refused}"
        );
    }
    // A window that is over stays over.
    let (status, _) = app
        .api_as(
            &alice,
            Method::POST,
            &format!("/maintenance/{again_id}/extend"),
            Some(json!({"minutes": 30})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let observer = app.user_token("Olga", "observer").await;
    let (status, _) = app
        .api_as(
            &observer,
            Method::POST,
            &format!("/maintenance/{id}/end"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.stop().await;
}

#[tokio::test]
async fn extending_a_window_moves_its_end_and_its_reminder() {
    let app = TestApp::start().await;
    let alice = person(&app, "Alice", ALICE).await;
    app.service("Checkout", "open").await;
    let (_, made) = app
        .api_as(
            &alice,
            Method::POST,
            "/maintenance",
            Some(json!({"services": ["Checkout"], "minutes": 30, "reason": "migration"})),
        )
        .await;
    let id = made["maintenance"]["id"].as_str().unwrap().to_owned();
    let (status, moved) = app
        .api_as(
            &alice,
            Method::POST,
            &format!("/maintenance/{id}/extend"),
            Some(json!({"minutes": 60})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["maintenance"]["end"], "2026-01-15T04:30:00.000Z");
    app.pass(74 * MINUTE).await;
    assert!(
        app.notifier.take().is_empty(),
        "the reminder moved with the end"
    );
    app.pass(MINUTE).await;
    assert_eq!(app.notifier.take().len(), 1);
    app.stop().await;
}
