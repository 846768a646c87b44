//! The e-mail provider in a real SMTP exchange with a local SMTP server: aiosmtpd (from
//! PyPI; `.ci/run` installs it), which prints every message it receives. Without it the
//! test is skipped, unless ONDUTY_REQUIRE_SMTP_PEER=1 (CI sets it).

use onduty_core::Timestamp;
use onduty_core::contact::Channel;
use onduty_notify::email::{EmailNotifier, SmtpConfig, SmtpSecurity};
use onduty_notify::{Content, Link, Notifier, Outgoing, PageItem};
use onduty_testkit::smtp_peer::SmtpPeer;

fn page() -> Outgoing {
    Outgoing {
        channel: Channel::Email,
        to: "alice@example.com".to_owned(),
        secret: None,
        content: Content::Page {
            items: vec![PageItem {
                id: "incident-id".to_owned(),
                number: 7,
                summary: "Checkout <script>alert(1)</script> errors".to_owned(),
                service: "Web".to_owned(),
                severity: "critical".to_owned(),
                urgency: "high".to_owned(),
                url: "http://onduty.example/api/v1/incidents/7".to_owned(),
                details: Some(serde_json::json!({"error_rate": "12%"})),
                links: vec![Link {
                    href: "https://runbooks.example/checkout".to_owned(),
                    text: Some("Runbook".to_owned()),
                }],
                ack_url: Some("http://onduty.example/actions/ACK-TOKEN".to_owned()),
                resolve_url: Some("http://onduty.example/actions/RESOLVE-TOKEN".to_owned()),
                runbook: None,
                signed: Vec::new(),
                server: String::new(),
            }],
        },
        idempotency_key: "0198aaaa-bbbb".to_owned(),
        at: Timestamp::from_millis(1_800_000_000_000),
    }
}

#[tokio::test]
async fn a_page_reaches_a_real_smtp_server_with_text_html_and_links() {
    let Some(mut peer) = SmtpPeer::for_test() else {
        return;
    };
    let notifier = EmailNotifier::new(&SmtpConfig {
        host: "127.0.0.1".to_owned(),
        port: peer.port,
        security: SmtpSecurity::Plain,
        username: None,
        password: None,
        from: "onduty <onduty@example.com>".to_owned(),
    })
    .unwrap();
    notifier
        .send(&page())
        .await
        .expect("the server accepts the page");

    let received = peer.next_message().await;
    assert!(
        received.contains("From: onduty <onduty@example.com>"),
        "{received}"
    );
    assert!(received.contains("To: alice@example.com"), "{received}");
    assert!(received.contains("Subject:"), "{received}");
    assert!(received.contains("multipart/alternative"), "{received}");
    assert!(received.contains("text/plain"), "{received}");
    assert!(received.contains("text/html"), "{received}");
    // Quoted-printable may wrap lines; compare without soft line breaks.
    let flat = received.replace("=\n", "").replace("=3D", "=");
    assert!(
        flat.contains("Acknowledge: http://onduty.example/actions/ACK-TOKEN"),
        "{flat}"
    );
    assert!(
        flat.contains("Runbook: https://runbooks.example/checkout"),
        "{flat}"
    );
    assert!(
        flat.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{flat}"
    );
    let html = &flat[flat.find("text/html").unwrap()..];
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        flat.contains("href=\"http://onduty.example/actions/RESOLVE-TOKEN\""),
        "{flat}"
    );
}

#[tokio::test]
async fn an_unreachable_smtp_server_is_a_transient_failure() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let notifier = EmailNotifier::new(&SmtpConfig {
        host: "127.0.0.1".to_owned(),
        port,
        security: SmtpSecurity::Plain,
        username: None,
        password: None,
        from: "onduty@example.com".to_owned(),
    })
    .unwrap();
    let err = notifier.send(&page()).await.unwrap_err();
    assert!(err.is_transient(), "{err}");
}
