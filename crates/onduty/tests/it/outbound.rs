//! Stories of someone trying to turn onduty against its own network through a webhook
//! contact method: internal addresses are refused, redirects are not followed, and what
//! a receiver answered is not told back.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use onduty_notify::Providers;
use onduty_notify::outbound::OutboundPolicy;
use onduty_testkit::{Backend, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A server on loopback that gives every request the same raw answer and counts them.
async fn internal_service(answer: &'static str) -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let mut buffer = [0; 4096];
            let _ = socket.read(&mut buffer).await;
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    (port, hits)
}

/// onduty with real webhook delivery under `policy`.
async fn onduty_with(policy: OutboundPolicy) -> TestApp {
    TestApp::start_with_providers(Backend::Sqlite, |_| {}, move |_, _| Providers::new(policy)).await
}

async fn add_webhook(app: &TestApp, token: &str, address: &str) -> (StatusCode, Value) {
    app.api_as(
        token,
        Method::POST,
        "/users/olive@example.com/contact-methods",
        Some(json!({"channel": "webhook", "address": address})),
    )
    .await
}

#[tokio::test]
async fn an_observer_cannot_point_a_webhook_at_the_servers_own_network() {
    let app = onduty_with(OutboundPolicy::default()).await;
    let olive = app.user_token("Olive", "observer").await;
    let (port, hits) = internal_service("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
    let api_port = app.url.rsplit(':').next().unwrap().to_owned();
    for address in [
        format!("http://127.0.0.1:{port}/"),
        format!("http://2130706433:{port}/"),
        format!("http://0x7f000001:{port}/"),
        format!("http://[::1]:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
        format!("http://127.0.0.1:{api_port}/api/v1/users"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://10.0.0.1/".to_owned(),
    ] {
        let (status, answer) = add_webhook(&app, &olive, &address).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{address}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains("outbound.allow"), "{address}: {message}");
    }
    // A name is checked where it resolves, and nothing is sent.
    let (status, created) = add_webhook(&app, &olive, &format!("http://localhost:{port}/")).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let verification = created["verification"].as_str().unwrap();
    assert!(
        verification.starts_with("not sent: ") && verification.contains("outbound.allow"),
        "{verification}"
    );
    let id = created["contact_method"]["id"].as_str().unwrap();
    let (status, answer) = app
        .api_as(
            &olive,
            Method::POST,
            &format!("/users/olive@example.com/contact-methods/{id}/test"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("verify this contact method"),
        "an unproven webhook is not sent tests: {answer}"
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "nothing reached the internal service"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_receivers_answer_is_not_told_back_and_its_redirect_is_not_followed() {
    let app = onduty_with(OutboundPolicy::parse(&["127.0.0.1".to_owned()]).unwrap()).await;
    let olive = app.user_token("Olive", "observer").await;
    let (refusing, _) =
        internal_service("HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n").await;
    let (status, created) =
        add_webhook(&app, &olive, &format!("http://127.0.0.1:{refusing}/")).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["verification"], "not sent: the webhook did not take the message",
        "no status code to learn what listens there"
    );
    let (silent, _) = {
        let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        (unused.local_addr().unwrap().port(), drop(unused))
    };
    let (_, created) = add_webhook(&app, &olive, &format!("http://127.0.0.1:{silent}/")).await;
    assert_eq!(
        created["verification"], "not sent: the webhook did not take the message",
        "a closed port reads the same as a refusing one"
    );

    let (target, target_hits) =
        internal_service("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
    let redirect: &'static str = Box::leak(
        format!(
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:{target}/\r\ncontent-length: 0\r\n\r\n"
        )
        .into_boxed_str(),
    );
    let (redirecting, redirect_hits) = internal_service(redirect).await;
    let (_, created) = add_webhook(&app, &olive, &format!("http://127.0.0.1:{redirecting}/")).await;
    assert_eq!(
        created["verification"],
        "not sent: the webhook did not take the message"
    );
    assert_eq!(redirect_hits.load(Ordering::SeqCst), 1);
    assert_eq!(
        target_hits.load(Ordering::SeqCst),
        0,
        "the POST was not replayed where the redirect pointed"
    );
    app.stop().await;
}
