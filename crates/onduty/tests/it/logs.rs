//! What onduty logs while it pages: each escalation and each message sent, at `info`,
//! naming people and incidents and never a phone number, address or URL.

use std::io::Write;
use std::sync::{Arc, Mutex};

use onduty_testkit::{TestApp, trigger_event};
use serde_json::json;

use crate::paging::{ALICE, BOB, MINUTE, alice_then_bob, pages_to};

/// Log lines written while it is the current thread's subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn each_escalation_and_each_page_sent_is_logged_without_addresses() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // A test runs on one thread: the engine's ticks log here.
    let _logging = tracing::subscriber::set_default(subscriber);

    let app = TestApp::start().await;
    let key = alice_then_bob(&app, json!({})).await;
    app.send_event(trigger_event(&key, "db01/disk", "DISK at 99% on db01"))
        .await;
    app.tick().await;
    assert_eq!(pages_to(&app.notifier.take(), ALICE), [vec![1]]);
    app.pass(30 * MINUTE).await;
    assert!(!pages_to(&app.notifier.take(), BOB).is_empty());

    let text = logs.text();
    let lines = |needle: &str| -> Vec<&str> {
        text.lines()
            .filter(|l| l.contains(needle) && l.contains(" INFO "))
            .collect()
    };
    let escalations = lines("incident #1: Escalation policy Ops, level");
    assert_eq!(escalations.len(), 2, "{text}");
    assert!(escalations[0].contains("paging Alice"), "{text}");
    assert!(escalations[1].contains("paging Bob"), "{text}");
    let sent = lines("message sent");
    assert!(
        sent.iter()
            .any(|l| l.contains("person=\"Alice\"") && l.contains("incidents=[1]")),
        "{text}"
    );
    assert!(sent.iter().any(|l| l.contains("person=\"Bob\"")), "{text}");
    for secret in [ALICE, BOB, &key] {
        assert!(!text.contains(secret), "{secret} is not logged: {text}");
    }
    app.stop().await;
}
