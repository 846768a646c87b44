//! The webhook provider against a local receiver speaking plain HTTP.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use onduty_core::Timestamp;
use onduty_core::contact::Channel;
use onduty_core::signature::verify_webhook_signature;
use onduty_notify::outbound::OutboundPolicy;
use onduty_notify::webhook::WebhookNotifier;
use onduty_notify::{Content, Notifier, NotifyError, Outgoing, PageItem};

type Seen = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// Receivers here listen on loopback, which the operator has to open.
fn to_loopback() -> WebhookNotifier {
    WebhookNotifier::new(OutboundPolicy::parse(&["127.0.0.1/32".to_owned()]).unwrap())
}

async fn receiver(status: StatusCode) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route(
            "/hook",
            post(
                |State((seen, status)): State<(Seen, StatusCode)>,
                 headers: HeaderMap,
                 body: Bytes| async move {
                    seen.lock().unwrap().push((headers, body));
                    status
                },
            ),
        )
        .route(
            "/moved",
            post(|| async {
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(axum::http::header::LOCATION, "/hook")],
                )
            }),
        )
        .with_state((seen.clone(), status));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

fn page(to: &str) -> Outgoing {
    Outgoing {
        channel: Channel::Webhook,
        to: to.to_owned(),
        secret: Some("whsec-test".to_owned()),
        content: Content::Page {
            items: vec![PageItem {
                id: "incident-id".to_owned(),
                number: 7,
                summary: "DISK at 99%".into(),
                service: "DB".into(),
                severity: "critical".into(),
                urgency: "high".into(),
                url: "http://onduty.example/api/v1/incidents/7".into(),
                details: None,
                links: Vec::new(),
                ack_url: None,
                resolve_url: None,
                runbook: None,
                signed: Vec::new(),
                server: String::new(),
            }],
        },
        idempotency_key: "page-7-1".to_owned(),
        at: Timestamp::from_millis(1_768_446_000_000),
    }
}

#[tokio::test]
async fn a_page_arrives_as_signed_json() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (url, seen) = receiver(StatusCode::OK).await;
    let notifier = to_loopback();
    notifier.send(&page(&url)).await.unwrap();
    let seen = seen.lock().unwrap();
    let (headers, body) = &seen[0];
    let signature = headers["x-onduty-signature"].to_str().unwrap();
    assert_eq!(
        verify_webhook_signature("whsec-test", signature, body),
        Some(1_768_446_000)
    );
    assert_eq!(verify_webhook_signature("wrong", signature, body), None);
    assert_eq!(headers["x-onduty-delivery"], "page-7-1");
    let json: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(json["type"], "page");
    assert_eq!(json["incidents"][0]["number"], 7);
    assert_eq!(json["idempotency_key"], "page-7-1");
}

#[tokio::test]
async fn server_errors_are_transient_and_client_errors_permanent() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let notifier = to_loopback();
    let (down, _) = receiver(StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(matches!(
        notifier.send(&page(&down)).await,
        Err(NotifyError::Transient(_))
    ));
    let (gone, _) = receiver(StatusCode::GONE).await;
    assert!(matches!(
        notifier.send(&page(&gone)).await,
        Err(NotifyError::Permanent(_))
    ));
    let (busy, _) = receiver(StatusCode::TOO_MANY_REQUESTS).await;
    assert!(matches!(
        notifier.send(&page(&busy)).await,
        Err(NotifyError::Transient(_))
    ));
    // Nobody listening: transient.
    let closed = "http://127.0.0.1:9/hook";
    assert!(matches!(
        notifier.send(&page(closed)).await,
        Err(NotifyError::Transient(_))
    ));
}

#[tokio::test]
async fn internal_addresses_are_refused_unless_the_operator_opens_them() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (url, seen) = receiver(StatusCode::OK).await;
    let strict = WebhookNotifier::new(OutboundPolicy::default());
    let port = url.rsplit(':').next().unwrap();
    for to in [
        url.clone(),
        format!("http://localhost:{port}"),
        format!("http://2130706433:{port}"),
        format!("http://0x7f000001:{port}"),
    ] {
        let refused = strict.send(&page(&to)).await;
        assert!(
            matches!(&refused, Err(NotifyError::Blocked(m)) if m.contains("outbound.allow")),
            "{to}: {refused:?}"
        );
    }
    assert!(
        seen.lock().unwrap().is_empty(),
        "nothing reached the receiver"
    );
    to_loopback().send(&page(&url)).await.unwrap();
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (url, seen) = receiver(StatusCode::OK).await;
    let moved = url.replace("/hook", "/moved");
    let answer = to_loopback().send(&page(&moved)).await;
    assert!(
        matches!(answer, Err(NotifyError::Permanent(_))),
        "{answer:?}"
    );
    assert!(
        seen.lock().unwrap().is_empty(),
        "the POST was not replayed to where the redirect pointed"
    );
}
