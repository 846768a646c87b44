//! Stories of levels that can page nobody: they are passed at once, the people who are
//! paged have the incident, and an incident nobody could be paged for says so.

use onduty_testkit::{TestApp, trigger_event};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::paging::{ALICE, MINUTE, level, pages_to, person, policy, service, timeline};

#[tokio::test]
async fn levels_nobody_can_be_reached_at_are_passed_at_once_and_alice_has_the_incident() {
    let app = TestApp::start().await;
    // Bob and Carol have no contact methods, so no rules: nothing reaches them.
    app.user_token("Bob", "responder").await;
    app.user_token("Carol", "responder").await;
    let alice = person(&app, "Alice", ALICE).await;
    policy(
        &app,
        json!({"name": "Ops", "levels": [
            level(&["bob@example.com"], 30),
            level(&["carol@example.com"], 30),
            level(&["alice@example.com"], 30),
        ]}),
    )
    .await;
    let key = service(&app, "Database", "Ops", json!({})).await;
    app.send_event(trigger_event(&key, "db", "Database down"))
        .await;
    app.pass(MINUTE).await;
    assert_eq!(
        pages_to(&app.notifier.take(), ALICE),
        [vec![1]],
        "Alice is paged at once, not after an hour"
    );
    let lines = timeline(&app, 1).await;
    let passed = lines
        .iter()
        .filter(|l| l.ends_with("nobody here can be paged, so the next level is paged now"))
        .count();
    assert_eq!(passed, 2, "{lines:?}");

    // The person being paged has it: it is hers in "assigned to me".
    let (_, detail) = app.api(Method::GET, "/incidents/1", None).await;
    assert_eq!(
        detail["incident"]["assignees"].as_array().unwrap().len(),
        1,
        "{detail}"
    );
    assert!(detail.get("nobody_paged").is_none(), "{detail}");
    let (status, mine) = app
        .api_as(&alice, Method::GET, "/incidents?assigned_to=me", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["incidents"].as_array().unwrap().len(), 1, "{mine}");
    app.stop().await;
}

#[tokio::test]
async fn an_incident_nobody_could_be_paged_for_says_so_in_the_api_and_on_its_page() {
    let app = TestApp::start().await;
    app.user_token("Carol", "responder").await;
    policy(
        &app,
        json!({"name": "Ops", "levels": [level(&["carol@example.com"], 30)]}),
    )
    .await;
    let key = service(&app, "Database", "Ops", json!({})).await;
    app.send_event(trigger_event(&key, "db", "Database down"))
        .await;
    app.pass(MINUTE).await;
    let (_, detail) = app.api(Method::GET, "/incidents/1", None).await;
    let said = detail["nobody_paged"].as_str().unwrap_or_default();
    assert!(said.starts_with("Nobody could be paged"), "{detail}");

    let mut ada = crate::browser::administrator(&app).await;
    let page = ada.get("/incidents/1").await;
    page.shows("Nobody could be paged.");

    // Once someone takes it, the warning goes.
    let (status, _) = app
        .api(
            Method::POST,
            "/incidents/1/reassign",
            Some(json!({"user": "carol@example.com"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, detail) = app.api(Method::GET, "/incidents/1", None).await;
    assert!(detail.get("nobody_paged").is_none(), "{detail}");
    app.stop().await;
}
