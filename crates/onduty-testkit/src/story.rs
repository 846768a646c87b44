//! Fixtures for behaviour stories told through the API: people with a verified phone,
//! escalation policies, services paging through them, and the pages that reach a phone.

use onduty_notify::{Content, Outgoing};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::TestApp;

/// A responder with a verified SMS number (and the default rules: at once, and again
/// after 5 minutes for high urgency). Returns their API token.
pub async fn person(app: &TestApp, name: &str, phone: &str) -> String {
    let token = app.user_token(name, "responder").await;
    let email = format!("{}@example.com", name.to_lowercase());
    verified_method(app, &token, &email, "sms", phone).await;
    token
}

/// Adds a contact method for `email` and enters the code it was sent; returns its id.
pub async fn verified_method(
    app: &TestApp,
    token: &str,
    email: &str,
    channel: &str,
    address: &str,
) -> String {
    let (status, created) = app
        .api_as(
            token,
            Method::POST,
            &format!("/users/{email}/contact-methods"),
            Some(json!({"channel": channel, "address": address})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let sent = app.notifier.take();
    let Some(Content::Verification { code }) = sent.last().map(|m| m.content.clone()) else {
        panic!("no code sent to {address}")
    };
    let id = created["contact_method"]["id"].as_str().unwrap();
    enter_code(app, token, email, id, &code).await;
    id.to_owned()
}

/// The verification code in a message's text ("Your onduty verification code is 123456.").
pub fn code_in(text: &serde_json::Value) -> String {
    text.as_str()
        .expect("a message's text")
        .chars()
        .filter(char::is_ascii_digit)
        .collect()
}

/// Enters the verification `code` for a user's contact method `id`, as its owner.
pub async fn enter_code(app: &TestApp, token: &str, email: &str, id: &str, code: &str) {
    let (status, body) = app
        .api_as(
            token,
            Method::POST,
            &format!("/users/{email}/contact-methods/{id}/verify"),
            Some(json!({ "code": code })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

pub async fn policy(app: &TestApp, body: Value) {
    let (status, created) = app
        .api(Method::POST, "/escalation-policies", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
}

/// A service paging through `policy`; returns its routing key.
pub async fn service(app: &TestApp, name: &str, policy: &str, extra: Value) -> String {
    let (_, key) = app.service(name, "open").await;
    let mut body = json!({ "escalation_policy": policy });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let (status, patched) = app
        .api(Method::PATCH, &format!("/services/{name}"), Some(body))
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    key
}

pub fn level(emails: &[&str], delay: u32) -> Value {
    let targets: Vec<Value> = emails
        .iter()
        .map(|e| json!({"type": "user", "id": e}))
        .collect();
    json!({"targets": targets, "delay_minutes": delay})
}

/// Pages sent to `phone` since the last look, as the incident numbers they carry.
pub fn pages_to(sent: &[Outgoing], phone: &str) -> Vec<Vec<i64>> {
    sent.iter()
        .filter(|m| m.to == phone)
        .filter_map(|m| match &m.content {
            Content::Page { items } => Some(items.iter().map(|i| i.number).collect()),
            _ => None,
        })
        .collect()
}
