//! The durability promise, tested the hard way: a sender that heard `202` never loses
//! its event, even when the server is killed with SIGKILL while events pour in.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use onduty_core::incident::IncidentStatus;
use onduty_store::incidents::IncidentFilter;
use onduty_store::{Store, StoreOptions};
use onduty_testkit::{Backend, TestDb, backends, trigger_event};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::{Mutex, Notify};

use crate::process::{Server, database_args, onduty, run_ok};

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
