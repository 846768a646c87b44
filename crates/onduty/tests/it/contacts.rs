//! Stories of people telling onduty how to reach them.

use onduty_notify::{Content, NotifyError};
use onduty_testkit::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn alice_adds_her_phone_proves_it_with_the_code_and_gets_default_rules() {
    let app = TestApp::start().await;
    let alice = app.user_token("Alice", "responder").await;
    let (status, created) = app
        .api_as(
            &alice,
            Method::POST,
            "/users/alice@example.com/contact-methods",
            Some(json!({"channel": "sms", "address": "+44 7700 900123", "name": "mobile"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let method = &created["contact_method"];
    assert_eq!(method["address"], "+447700900123");
    assert_eq!(method["verified"], false);
    assert_eq!(created["verification"], "sent");
    let rules = created["default_rules"].as_array().unwrap();
    assert_eq!(
        rules.len(),
        2,
        "at once, and again after 5 minutes for high urgency"
    );
    assert_eq!(
        (
            rules[1]["delay_minutes"].as_u64(),
            rules[1]["urgency"].as_str()
        ),
        (Some(5), Some("high"))
    );

    let sent = app.notifier.take();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "+447700900123");
    let Content::Verification { code } = &sent[0].content else {
        panic!("a code was sent")
    };
    let id = method["id"].as_str().unwrap();

    let (status, wrong) = app
        .api_as(
            &alice,
            Method::POST,
            &format!("/users/alice@example.com/contact-methods/{id}/verify"),
            Some(json!({"code": "000000x"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        wrong["error"]["message"],
        "wrong code; 4 attempts left before a new code is needed"
    );
    let (status, verified) = app
        .api_as(
            &alice,
            Method::POST,
            &format!("/users/alice@example.com/contact-methods/{id}/verify"),
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{verified}");
    assert_eq!(verified["contact_method"]["verified"], true);

    // A test message on demand.
    let (status, _) = app
        .api_as(
            &alice,
            Method::POST,
            &format!("/users/alice@example.com/contact-methods/{id}/test"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.notifier.take()[0].content, Content::Test);
    // Two messages a minute at most per method (the code was the first).
    let (status, refused) = app
        .api_as(
            &alice,
            Method::POST,
            &format!("/users/alice@example.com/contact-methods/{id}/test"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{refused}");
    assert!(app.notifier.take().is_empty());
    app.advance(std::time::Duration::from_secs(60));
    app.notifier
        .fail_next([NotifyError::Permanent("21211 invalid 'To' number".into())]);
    let (status, failed) = app
        .api_as(
            &alice,
            Method::POST,
            &format!("/users/alice@example.com/contact-methods/{id}/test"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(
        failed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("21211")
    );

    // A second method gets no default rules; rules are listed earliest first.
    let (status, hook) = app
        .api_as(
            &alice,
            Method::POST,
            "/users/alice@example.com/contact-methods",
            Some(json!({"channel": "webhook", "address": "https://hooks.example/pager"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        hook["verification"], "sent",
        "a webhook proves itself with a code too"
    );
    assert_eq!(hook["contact_method"]["verified"], false);
    assert!(matches!(
        app.notifier.take()[..],
        [ref m] if matches!(m.content, Content::Verification { .. })
    ));
    assert!(hook["secret"].as_str().unwrap().starts_with("whsec_"));
    assert!(hook["default_rules"].as_array().unwrap().is_empty());
    let hook_id = hook["contact_method"]["id"].as_str().unwrap();
    let (status, rule) = app
        .api_as(
            &alice,
            Method::POST,
            "/users/alice@example.com/notification-rules",
            Some(json!({"contact_method": hook_id, "delay_minutes": 10, "urgency": "low"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{rule}");
    let (_, rules) = app
        .api_as(
            &alice,
            Method::GET,
            "/users/alice@example.com/notification-rules",
            None,
        )
        .await;
    let delays: Vec<u64> = rules["notification_rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["delay_minutes"].as_u64().unwrap())
        .collect();
    assert_eq!(delays, [0, 5, 10]);

    // Removing the phone removes its rules.
    let (status, _) = app
        .api_as(
            &alice,
            Method::DELETE,
            &format!("/users/alice@example.com/contact-methods/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, rules) = app
        .api_as(
            &alice,
            Method::GET,
            "/users/alice@example.com/notification-rules",
            None,
        )
        .await;
    assert_eq!(rules["notification_rules"].as_array().unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn contact_details_are_private_and_checked() {
    let app = TestApp::start().await;
    let alice = app.user_token("Alice", "responder").await;
    let bob = app.user_token("Bob", "responder").await;
    let (status, _) = app
        .api_as(
            &bob,
            Method::GET,
            "/users/alice@example.com/contact-methods",
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "Bob cannot read Alice's numbers"
    );
    let (status, _) = app
        .api(
            Method::GET,
            "/users/alice@example.com/contact-methods",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "an admin can");
    for (body, message) in [
        (
            json!({"channel": "pigeon", "address": "x"}),
            "'channel' must be email, sms, voice, webhook, ntfy, slack, telegram, mattermost or web_push, not 'pigeon'",
        ),
        (
            json!({"channel": "sms", "address": "07700 900123"}),
            "'address': '07700 900123' is not a phone number in E.164 form (a + and 8 to 15 digits, like +442071838750)",
        ),
        (
            json!({"channel": "email", "address": "alice"}),
            "'address': 'alice' is not an e-mail address",
        ),
        (
            json!({"channel": "webhook", "address": "ftp://x"}),
            "'address': 'ftp://x' is not an http:// or https:// URL of at most 2048 characters",
        ),
    ] {
        let (status, answer) = app
            .api_as(
                &alice,
                Method::POST,
                "/users/alice@example.com/contact-methods",
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(answer["error"]["message"], message, "{body}");
    }
    let (_, bobs) = app
        .api_as(
            &bob,
            Method::POST,
            "/users/bob@example.com/contact-methods",
            Some(json!({"channel": "email", "address": "bob@example.com"})),
        )
        .await;
    let bobs_method = bobs["contact_method"]["id"].as_str().unwrap();
    let (status, _) = app
        .api_as(
            &alice,
            Method::POST,
            "/users/alice@example.com/notification-rules",
            Some(json!({"contact_method": bobs_method, "delay_minutes": 0})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "rules use one's own methods");
    let (status, answer) = app
        .api_as(
            &bob,
            Method::POST,
            "/users/bob@example.com/notification-rules",
            Some(json!({"contact_method": bobs_method, "delay_minutes": 2000})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer["error"]["message"],
        "'delay_minutes' must be 0 to 1440, not 2000"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_webhooks_url_is_not_shown_on_timelines_everyone_reads() {
    let app = TestApp::start().await;
    let alice = app.user_token("Alice", "responder").await;
    let olive = app.user_token("Olive", "observer").await;
    let url = "https://hooks.example.com/page?token=s3cret";
    crate::paging::verified_method(&app, &alice, "alice@example.com", "webhook", url).await;
    crate::paging::policy(
        &app,
        json!({"name": "Ops", "levels": [crate::paging::level(&["alice@example.com"], 30)]}),
    )
    .await;
    let key = crate::paging::service(&app, "Web", "Ops", json!({})).await;
    app.send_event(onduty_testkit::trigger_event(&key, "5xx", "Errors"))
        .await;
    app.tick().await;
    assert_eq!(app.notifier.take().len(), 1, "Alice's webhook is paged");

    let (status, detail) = app.api_as(&olive, Method::GET, "/incidents/1", None).await;
    assert_eq!(status, StatusCode::OK);
    let lines: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["message"].as_str())
        .collect();
    assert!(lines.contains(&"Webhook of Alice: sent"), "{lines:?}");
    assert!(!detail.to_string().contains("s3cret"), "{detail}");
    app.stop().await;
}

#[tokio::test]
async fn codes_and_tests_stop_at_the_hourly_limits_and_admins_see_who_asked() {
    let app = TestApp::start_with(onduty_testkit::Backend::Sqlite, |c| {
        c.message_limits = onduty_core::rate_limit::HourlyLimits {
            per_person: 3,
            total: 5,
        };
    })
    .await;
    let olive = app.user_token("Olive", "observer").await;
    let bob = app.user_token("Bob", "responder").await;
    let add = |token: &str, email: &str, n: u32| {
        let (token, email) = (token.to_owned(), email.to_owned());
        let app = &app;
        async move {
            app.api_as(
                &token,
                Method::POST,
                &format!("/users/{email}/contact-methods"),
                Some(json!({"channel": "sms", "address": format!("+1555555{n:04}")})),
            )
            .await
        }
    };
    for n in 0..3 {
        let (status, body) = add(&olive, "olive@example.com", n).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // Olive's fourth number is refused, and nothing is made of it.
    let (status, body) = add(&olive, "olive@example.com", 3).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("3 codes and test messages in the last hour"),
        "{body}"
    );
    let (_, mine) = app
        .api_as(
            &olive,
            Method::GET,
            "/users/olive@example.com/contact-methods",
            None,
        )
        .await;
    assert_eq!(mine["contact_methods"].as_array().unwrap().len(), 3);
    assert_eq!(app.notifier.take().len(), 3, "three codes went out");

    // Bob gets two before the server's limit of five stops him too.
    for n in 10..12 {
        let (status, body) = add(&bob, "bob@example.com", n).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = add(&bob, "bob@example.com", 12).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("its 5 codes and test messages for this hour"),
        "{body}"
    );

    // Admins see who asked; others may not look.
    let (status, usage) = app.api(Method::GET, "/message-usage", None).await;
    assert_eq!(status, StatusCode::OK, "{usage}");
    assert_eq!(
        usage["limits"],
        json!({"per_person_per_hour": 3, "per_hour": 5})
    );
    assert_eq!(usage["last_hour"]["total"], 5);
    let people: Vec<(&str, u64)> = usage["last_hour"]["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["user"]["name"].as_str().unwrap(),
                p["sent"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(people, [("Olive", 3), ("Bob", 2)]);
    let (status, _) = app
        .api_as(&olive, Method::GET, "/message-usage", None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // An hour later the counts have run out.
    app.advance(std::time::Duration::from_secs(61 * 60));
    let (status, body) = add(&olive, "olive@example.com", 3).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.stop().await;
}
