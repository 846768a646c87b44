//! The durability promises, tested the hard way with SIGKILL: a sender that heard `202`
//! never loses its event, and a pending escalation still pages at its time after the
//! server dies.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use onduty_core::incident::IncidentStatus;
use onduty_core::{Clock, SystemClock};
use onduty_store::incidents::IncidentFilter;
use onduty_store::{Store, StoreOptions};
use onduty_testkit::{Backend, TestDb, WebhookSink, backends, trigger_event};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::{Mutex, Notify};

use crate::process::{Api, PATIENCE, Server, checkout_on_call, database_args, onduty, run_ok};

const SENDERS: usize = 16;
/// Events answered 202 before the kill.
const ACCEPTED_BEFORE_KILL: usize = 1500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_while_events_pour_in_loses_no_event_that_was_answered_202() {
    for backend in backends() {
        crash_story(backend).await;
    }
}

async fn crash_story(backend: Backend) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let db = TestDb::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let url = (backend == Backend::Postgres).then(|| db.url.clone());
    let database = database_args(dir.path(), url.as_deref());

    let created: Value = serde_json::from_str(&run_ok(
        onduty()
            .args(["admin", "service", "create", "Crash test", "--json"])
            .args(&database),
    ))
    .unwrap();
    let routing_key = created["integration"]["routing_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let server = Server::start(&database, &[("ONDUTY_INGEST_RATE_LIMIT_PER_MINUTE", "0")]);

    let accepted = Arc::new(Mutex::new(Vec::<String>::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let enough = Arc::new(Notify::new());
    let http = reqwest::Client::new();
    let mut senders = Vec::new();
    for s in 0..SENDERS {
        let (http, accepted, count, enough) = (
            http.clone(),
            accepted.clone(),
            count.clone(),
            enough.clone(),
        );
        let (url, key) = (
            format!("http://{}/v2/enqueue", server.url),
            routing_key.clone(),
        );
        senders.push(tokio::spawn(async move {
            for i in 0.. {
                let dedup = format!("sender{s}-event{i}");
                let body = trigger_event(&key, &dedup, "crash test").to_string();
                match http.post(&url).body(body).send().await {
                    Ok(r) if r.status() == StatusCode::ACCEPTED => {
                        accepted.lock().await.push(dedup);
                        if count.fetch_add(1, Ordering::SeqCst) + 1 == ACCEPTED_BEFORE_KILL {
                            enough.notify_one();
                        }
                    }
                    Ok(r) => panic!("unexpected answer {} before the crash", r.status()),
                    // The server is gone: this request's fate is unknown to the sender,
                    // which would retry. Stop here.
                    Err(_) => return i,
                }
            }
            unreachable!()
        }));
    }
    tokio::time::timeout(std::time::Duration::from_secs(120), enough.notified())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "only {} events accepted in two minutes",
                count.load(Ordering::SeqCst)
            )
        });
    server.signal(libc::SIGKILL);
    let mut attempted_after_kill = 0;
    for s in senders {
        attempted_after_kill += usize::from(s.await.unwrap() > 0);
    }
    drop(server);
    let accepted = accepted.lock().await.clone();
    assert!(accepted.len() >= ACCEPTED_BEFORE_KILL);
    assert_eq!(
        attempted_after_kill, SENDERS,
        "every sender was still sending when the server died"
    );

    // Everything that was answered 202 is in the store.
    let store = Store::open(&db_url(&db, dir.path(), backend), &StoreOptions::default())
        .await
        .unwrap();
    let mut stored = HashSet::new();
    let mut before = None;
    loop {
        let page = store
            .list_incidents(&IncidentFilter::default(), before, 1000)
            .await
            .unwrap();
        for i in &page.incidents {
            assert_eq!(i.status, IncidentStatus::Triggered);
            stored.insert(i.dedup_key.as_str().to_owned());
        }
        match page.next {
            Some(n) => before = Some(n),
            None => break,
        }
    }
    let lost: Vec<_> = accepted.iter().filter(|k| !stored.contains(*k)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} accepted events lost on {backend:?}: {lost:?}",
        lost.len(),
        accepted.len()
    );
    eprintln!(
        "{backend:?}: {} events answered 202, all stored; {} stored in total",
        accepted.len(),
        stored.len()
    );
    store.close().await;

    // And onduty starts again on the same database and keeps working.
    let server = Server::start(&database, &[]);
    let response = http
        .post(format!("http://{}/v2/enqueue", server.url))
        .body(trigger_event(&routing_key, "after-restart", "back").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
}

fn db_url(db: &TestDb, dir: &std::path::Path, backend: Backend) -> String {
    match backend {
        Backend::Sqlite => onduty_store::sqlite_url_in(dir),
        Backend::Postgres => db.url.clone(),
    }
}

/// The engine's promise, tested the hard way: the server is killed with SIGKILL while an
/// incident waits for its second level; a new process on the same database takes the
/// lease over, pages level 2 once at its time, and does not page level 1 again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_mid_escalation_still_pages_level_two_once_at_its_time() {
    let stories: Vec<_> = backends()
        .into_iter()
        .map(|b| tokio::spawn(paging_crash_story(b)))
        .collect();
    for story in stories {
        story.await.unwrap();
    }
}

async fn paging_crash_story(backend: Backend) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let db = TestDb::new(backend).await;
    let scratch = tempfile::tempdir().unwrap();
    let database = match backend {
        Backend::Sqlite => database_args(db.dir().unwrap(), None),
        Backend::Postgres => database_args(scratch.path(), Some(&db.url)),
    };
    let phones = WebhookSink::start().await;
    let mut server = Server::start(&database, &[]);
    let token = server.first_token();
    let api = Api::new(&server, &token);
    let key = checkout_on_call(&api, &phones).await;

    // Checkout breaks: Alice is paged, and onduty records that it sent the page.
    api.event(trigger_event(&key, "checkout-down", "Checkout is down"))
        .await;
    phones.wait_for("alice", 1, PATIENCE).await;
    api.wait_for_line("/incidents/1", "Webhook of Alice").await;

    // The server dies mid-escalation. While it is down, move the rest of the 30 minutes on
    // to 25 seconds from now: past the dead holder's lease, so the new process holds the
    // lease before level 2 falls due.
    server.signal(libc::SIGKILL);
    drop(server);
    let due = SystemClock.now().saturating_add(Duration::from_secs(25));
    let moved = db
        .execute(&format!(
            "UPDATE escalations SET next_at = {} WHERE next_at IS NOT NULL",
            due.as_millis()
        ))
        .await;
    assert_eq!(moved, 1, "one escalation was pending when the server died");

    // A new process on the same database pages Bob at that time, once.
    let server = Server::start(&database, &[]);
    let bob = phones.wait_for("bob", 1, PATIENCE).await;
    assert!(
        bob[0].arrived >= due,
        "{backend:?}: Bob was paged before level 2 was due"
    );
    let late = bob[0].arrived.since(due);
    assert!(
        late < Duration::from_secs(3),
        "{backend:?}: Bob was paged {late:?} after level 2 was due"
    );
    assert_eq!(bob[0].numbers, [1]);

    // Later work goes on as usual, and nobody was paged twice for incident 1.
    let api = Api::new(&server, &api.token);
    api.event(trigger_event(&key, "payments-down", "Payments are down"))
        .await;
    let alice = phones.wait_for("alice", 2, PATIENCE).await;
    assert_eq!(alice[0].numbers, [1]);
    assert_eq!(
        alice[1].numbers,
        [2],
        "level 1 of incident 1 was not paged again"
    );
    assert_eq!(phones.pages("bob").len(), 1, "Bob was paged once");
    let detail = api.get("/incidents/1").await;
    let level_two: Vec<_> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["message"].as_str())
        .filter(|m| m.contains("level 2"))
        .collect();
    assert_eq!(level_two.len(), 1, "{backend:?}: {level_two:?}");
    assert!(level_two[0].contains("paging Bob"), "{}", level_two[0]);
}
