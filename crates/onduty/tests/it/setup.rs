//! Stories of an admin setting up paging: teams, escalation policies, a service's paging
//! settings, people's time zones.

use onduty_testkit::{TestApp, trigger_event};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn an_admin_sets_up_a_two_level_policy_for_a_service() {
    let app = TestApp::start().await;
    app.user_token("Alice", "responder").await;
    app.user_token("Bob", "responder").await;
    let (status, team) = app
        .api(Method::POST, "/teams", Some(json!({"name": "Ops"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let (status, team) = app
        .api(Method::PUT, "/teams/Ops/members/alice@example.com", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(team["team"]["members"].as_array().unwrap().len(), 1);

    let (status, policy) = app
        .api(
            Method::POST,
            "/escalation-policies",
            Some(json!({
                "name": "Ops on call",
                "team": "Ops",
                "levels": [
                    {"targets": [{"type": "user", "id": "alice@example.com"}], "delay_minutes": 30},
                    {"targets": [{"type": "user", "id": "bob@example.com"}], "delay_minutes": 30, "mode": "all"}
                ],
                "repeat": 1
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{policy}");
    let p = &policy["escalation_policy"];
    assert_eq!(p["levels"].as_array().unwrap().len(), 2);
    assert_eq!(p["levels"][0]["targets"][0]["type"], "user");
    assert_eq!(p["repeat"], 1);

    let (service, key) = app.service("Checkout", "open").await;
    let (status, patched) = app
        .api(
            Method::PATCH,
            &format!("/services/{service}"),
            Some(json!({"escalation_policy": "Ops on call", "team": "Ops", "urgency": "severity", "ack_timeout_minutes": 30})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    let s = &patched["service"];
    assert_eq!(s["escalation_policy_id"], p["id"]);
    assert_eq!(s["urgency"], "severity");
    assert_eq!(s["ack_timeout_minutes"], 30);
    assert!(s["auto_resolve_minutes"].is_null());

    // Urgency follows severity now.
    let mut warning = trigger_event(&key, "w", "slow");
    warning["payload"]["severity"] = json!("warning");
    app.send_event(warning).await;
    let (_, incident) = app.api(Method::GET, "/incidents/1", None).await;
    assert_eq!(incident["incident"]["urgency"], "low");

    // A policy in use is not deleted; once the service lets go, it is.
    let (status, body) = app
        .api(Method::DELETE, "/escalation-policies/Ops%20on%20call", None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Checkout")
    );
    let (status, cleared) = app
        .api(
            Method::PATCH,
            "/services/Checkout",
            Some(json!({"escalation_policy": null, "ack_timeout_minutes": null})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(cleared["service"]["escalation_policy_id"].is_null());
    assert!(cleared["service"]["ack_timeout_minutes"].is_null());
    assert_eq!(
        cleared["service"]["urgency"], "severity",
        "fields left out stay"
    );
    let (status, _) = app
        .api(Method::DELETE, "/escalation-policies/Ops%20on%20call", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.stop().await;
}

#[tokio::test]
async fn bad_policies_are_refused_with_the_reason() {
    let app = TestApp::start().await;
    app.user_token("Alice", "responder").await;
    let alice = json!({"type": "user", "id": "alice@example.com"});
    let cases = [
        (
            json!({"name": "P", "levels": []}),
            "a policy needs at least one level and at most 20",
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"name": "P", "levels": [{"targets": [{"type": "user", "id": "nobody@example.com"}], "delay_minutes": 5}]}),
            "level 1: no user 'nobody@example.com'",
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"name": "P", "levels": [{"targets": [alice], "delay_minutes": 0}]}),
            "level 1: the delay must be 1 to 1440 minutes, not 0",
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"name": "P", "levels": [{"targets": [alice], "delay_minutes": 5, "mode": "random"}]}),
            "level 1: 'mode' must be all or round_robin, not 'random'",
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"name": "P", "levels": [{"targets": [{"type": "schedule", "id": "ops-rota"}], "delay_minutes": 5}]}),
            "level 1: no schedule 'ops-rota'",
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"name": "P", "levels": [{"targets": [{"type": "team", "id": "x"}], "delay_minutes": 5}]}),
            "level 1: a target's 'type' is user, schedule or policy, not 'team'",
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"name": "P", "levels": [{"targets": [alice], "delay_minutes": 5}], "repeat": 12}),
            "repeat must be 0 to 9, not 12",
            StatusCode::BAD_REQUEST,
        ),
    ];
    // A target that does not exist is not found; the rest cannot be read.
    for (body, message, expected) in cases {
        let (status, answer) = app
            .api(Method::POST, "/escalation-policies", Some(body.clone()))
            .await;
        assert_eq!(status, expected, "{body}");
        assert_eq!(answer["error"]["message"], message, "{body}");
    }
    let (status, _) = app
        .api(
            Method::PATCH,
            "/services/Nope",
            Some(json!({"urgency": "loud"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, key) = app.service("S", "open").await;
    assert_eq!(key.len(), 32);
    for (body, message) in [
        (
            json!({"urgency": "loud"}),
            "'urgency' must be high, low or severity, not 'loud'",
        ),
        (
            json!({"ack_timeout_minutes": 0}),
            "'ack_timeout_minutes' must be 1 to 10080 minutes, not 0",
        ),
        (
            json!({"escalation_policy": "missing"}),
            "no escalation policy with id or name 'missing'",
        ),
    ] {
        let (status, answer) = app
            .api(Method::PATCH, "/services/S", Some(body.clone()))
            .await;
        assert!(status.is_client_error(), "{body}");
        assert_eq!(answer["error"]["message"], message, "{body}");
    }
    app.stop().await;
}

#[tokio::test]
async fn people_set_their_own_time_zone_and_only_admins_change_roles() {
    let app = TestApp::start().await;
    let alice = app.user_token("Alice", "responder").await;
    let (status, me) = app
        .api_as(
            &alice,
            Method::PATCH,
            "/users/alice@example.com",
            Some(json!({"time_zone": "Australia/Lord_Howe"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["user"]["time_zone"], "Australia/Lord_Howe");
    let (status, _) = app
        .api_as(
            &alice,
            Method::PATCH,
            "/users/alice@example.com",
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .api_as(
            &alice,
            Method::PATCH,
            "/users/admin@example.com",
            Some(json!({"name": "X"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, bad) = app
        .api_as(
            &alice,
            Method::PATCH,
            "/users/alice@example.com",
            Some(json!({"time_zone": "Mars/Base"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Mars/Base")
    );
    let (status, promoted) = app
        .api(
            Method::PATCH,
            "/users/alice@example.com",
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(promoted["user"]["role"], "admin");
    app.stop().await;
}
