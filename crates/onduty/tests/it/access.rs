//! Stories of taking access away: a leaked token revoked, a person who left disabled and
//! then deleted, an integration key rotated and an integration deleted. Each is refused
//! from the next request on.

use onduty_testkit::{TestApp, trigger_event};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::browser::logged_in_as;
use crate::paging::{ALICE, level, pages_to, person, policy, service, timeline};

async fn me(app: &TestApp, token: &str) -> StatusCode {
    app.api_as(token, Method::GET, "/me", None).await.0
}

#[tokio::test]
async fn a_leaked_token_is_revoked_by_its_owner_or_an_admin() {
    let app = TestApp::start().await;
    let alice = app.user_token("Alice", "responder").await;
    let bob = app.user_token("Bob", "responder").await;
    let (status, made) = app
        .api_as(
            &alice,
            Method::POST,
            "/me/tokens",
            Some(json!({"name": "laptop"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let laptop = made["token"].as_str().unwrap().to_owned();

    let (_, listed) = app.api_as(&alice, Method::GET, "/me/tokens", None).await;
    let tokens = listed["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 2, "{listed}");
    assert!(
        !listed.to_string().contains(&laptop),
        "secrets are never listed"
    );
    let laptop_id = tokens.iter().find(|t| t["name"] == "laptop").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Alice revokes the laptop's token; it is refused at once, her other one still works.
    let (status, _) = app
        .api_as(
            &alice,
            Method::DELETE,
            &format!("/me/tokens/{laptop_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(me(&app, &laptop).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&app, &alice).await, StatusCode::OK);

    // Bob may not look at Alice's tokens; an admin may, and revokes the last one.
    let (status, _) = app
        .api_as(&bob, Method::GET, "/users/alice@example.com/tokens", None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, listed) = app
        .api(Method::GET, "/users/alice@example.com/tokens", None)
        .await;
    let id = listed["tokens"][0]["id"].as_str().unwrap().to_owned();
    let (status, _) = app
        .api(
            Method::DELETE,
            &format!("/users/alice@example.com/tokens/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(me(&app, &alice).await, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .api(
            Method::DELETE,
            &format!("/users/alice@example.com/tokens/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "already gone");
    app.stop().await;
}

fn statuses(users: &Value) -> Vec<(String, String)> {
    users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["name"].as_str().unwrap().to_owned(),
                u["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn someone_who_left_is_disabled_at_once_then_deleted_and_history_keeps_their_name() {
    let app = TestApp::start().await;
    let alice = person(&app, "Alice", ALICE).await;
    policy(
        &app,
        json!({"name": "Ops", "levels": [level(&["alice@example.com"], 30)]}),
    )
    .await;
    let key = service(&app, "Web", "Ops", json!({})).await;
    app.send_event(trigger_event(&key, "5xx", "Errors")).await;
    app.tick().await;
    assert_eq!(pages_to(&app.notifier.take(), ALICE), [vec![1]]);
    let (status, _) = app
        .api_as(
            &alice,
            Method::POST,
            "/incidents/1/notes",
            Some(json!({"text": "looking"})),
        )
        .await;
    assert!(status.is_success(), "{status}");

    // Disabled: her token is refused at once and she is not paged.
    let (status, body) = app
        .api(Method::POST, "/users/alice@example.com/disable", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["status"], "disabled");
    assert_eq!(me(&app, &alice).await, StatusCode::UNAUTHORIZED);
    app.send_event(trigger_event(&key, "cpu", "CPU hot")).await;
    app.tick().await;
    assert!(pages_to(&app.notifier.take(), ALICE).is_empty());
    let (_, users) = app.api(Method::GET, "/users", None).await;
    assert!(
        statuses(&users).contains(&("Alice".to_owned(), "disabled".to_owned())),
        "{users}"
    );

    // Enabled again she can be paged, but the revoked token stays revoked.
    let (status, body) = app
        .api(Method::POST, "/users/alice@example.com/enable", None)
        .await;
    assert_eq!(body["user"]["status"], "active", "{status} {body}");
    assert_eq!(me(&app, &alice).await, StatusCode::UNAUTHORIZED);

    // Deleted: out of the list, her address free again, her note still hers.
    let (status, _) = app
        .api(Method::DELETE, "/users/alice@example.com", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, users) = app.api(Method::GET, "/users", None).await;
    assert!(
        !statuses(&users).iter().any(|(name, _)| name == "Alice"),
        "{users}"
    );
    assert!(
        timeline(&app, 1)
            .await
            .contains(&"Note from Alice".to_owned())
    );
    let (status, body) = app
        .api(
            Method::POST,
            "/users",
            Some(json!({"email": "alice@example.com", "name": "Alice Again"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // The last administrator stays.
    let (status, body) = app
        .api(Method::POST, "/users/admin@example.com/disable", None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = app
        .api(Method::DELETE, "/users/admin@example.com", None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    app.stop().await;
}

#[tokio::test]
async fn a_disabled_persons_web_session_ends_at_once() {
    let app = TestApp::start().await;
    let mut grace = logged_in_as(&app, "Grace", "responder").await;
    assert_eq!(grace.get("/incidents").await.status, StatusCode::OK);
    let (status, _) = app
        .api(Method::POST, "/users/grace@example.com/disable", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let page = grace.get("/incidents").await;
    assert!(page.status.is_redirection(), "{}", page.status);
    assert!(page.location().starts_with("/login"), "{}", page.location());
    let refused = grace
        .log_in_as("grace@example.com", "their own password")
        .await;
    assert!(
        !refused.status.is_redirection() || refused.location() != "/incidents",
        "a disabled person cannot log in"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_rotated_key_is_refused_and_a_deleted_integration_too() {
    let app = TestApp::start().await;
    let (service, key) = app.service("Web", "open").await;
    let (_, list) = app
        .api(
            Method::GET,
            &format!("/services/{service}/integrations"),
            None,
        )
        .await;
    let id = list["integrations"][0]["id"].as_str().unwrap().to_owned();
    let (status, rotated) = app
        .api(
            Method::POST,
            &format!("/integrations/{id}/rotate-key"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_key = rotated["integration"]["routing_key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_key, key);
    let (status, _) = app.send_event(trigger_event(&key, "a", "old key")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the old key is refused");
    let (status, _) = app
        .send_event(trigger_event(&new_key, "a", "new key"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);

    let responder = app.user_token("Rita", "responder").await;
    let (status, _) = app
        .api_as(
            &responder,
            Method::DELETE,
            &format!("/integrations/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "admins only");
    let (status, _) = app
        .api(Method::DELETE, &format!("/integrations/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.send_event(trigger_event(&new_key, "b", "gone")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, detail) = app.api(Method::GET, "/incidents/1", None).await;
    assert_eq!(
        detail["incident"]["summary"], "new key",
        "what it brought stays"
    );
    app.stop().await;
}
