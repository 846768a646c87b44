//! The engine across restarts and instances: its state is all in the database, so a new
//! process resumes every pending escalation at its time; and exactly one instance pages,
//! the others taking over when its lease expires.

use std::sync::Arc;
use std::time::Duration;

use onduty_core::ManualClock;
use onduty_engine::{Engine, EngineConfig};
use onduty_notify::Providers;
use onduty_notify::fake::FakeNotifier;
use onduty_testkit::{Backend, TestApp, backends, trigger_event, wait_for};
use serde_json::json;

use crate::paging::{ALICE, BOB, MINUTE, alice_then_bob, pages_to};

/// The lease of the instances these stories start.
const LEASE: Duration = Duration::from_secs(3);

/// Alice (level 1) then Bob after 30 minutes; incident #1 triggered and Alice paged.
async fn alice_paged(app: &TestApp) {
    let key = alice_then_bob(app, json!({})).await;
    app.send_event(trigger_event(&key, "db01/disk", "DISK at 99% on db01"))
        .await;
    app.tick().await;
    assert_eq!(pages_to(&app.notifier.take(), ALICE), [vec![1]]);
}

/// A second onduty on the same database: its own store connection, engine and phone.
async fn another_instance(app: &TestApp, holder: &str) -> (Engine, Arc<FakeNotifier>) {
    instance_with_lease(app, holder, LEASE).await
}

async fn instance_with_lease(
    app: &TestApp,
    holder: &str,
    lease: Duration,
) -> (Engine, Arc<FakeNotifier>) {
    instance_with(
        app,
        EngineConfig {
            public_url: app.url.clone(),
            holder: holder.to_owned(),
            lease,
            watchdog: None,
            takeover_key: None,
            retention: None,
            audit_retention: None,
        },
    )
    .await
}

/// An instance with the engine settings `config`, its own store connection and phone.
pub(crate) async fn instance_with(
    app: &TestApp,
    config: EngineConfig,
) -> (Engine, Arc<FakeNotifier>) {
    let phone = Arc::new(FakeNotifier::new());
    let store = app.db.store().await;
    let wake = store.wake();
    let engine = Engine::new(store, Providers::all(phone.clone()), config, wake);
    (engine, phone)
}

#[tokio::test]
async fn a_restarted_engine_pages_level_two_once_at_its_time() {
    for backend in backends() {
        let app = TestApp::start_with(backend, |_| {}).await;
        alice_paged(&app).await;
        app.pass(10 * MINUTE).await;
        app.notifier.take();
        // The process dies here; a new one starts on the same database.
        let (restarted, phone) = another_instance(&app, "restarted").await;
        app.advance(19 * MINUTE);
        restarted.tick(app.now()).await.unwrap();
        assert!(
            phone.take().is_empty(),
            "not yet at 29 minutes ({backend:?})"
        );
        app.advance(MINUTE);
        let next = restarted.tick(app.now()).await.unwrap();
        assert_eq!(pages_to(&phone.take(), BOB), [vec![1]], "Bob at 30 minutes");
        restarted.tick(app.now()).await.unwrap();
        assert!(phone.take().is_empty(), "once");
        assert!(next.is_some(), "Bob's 5-minute rule is still to come");
        app.stop().await;
    }
}

#[tokio::test]
async fn when_the_engine_holder_dies_another_instance_takes_over_and_pages_once() {
    let backend = if backends().contains(&Backend::Postgres) {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let app = TestApp::start_with(backend, |_| {}).await;
    alice_paged(&app).await;

    // Two instances run their engine loops on a clock the test moves.
    let clock = Arc::new(ManualClock::new(app.now()));
    let (first, first_phone) = another_instance(&app, "first").await;
    let first_loop = tokio::spawn(first.run(clock.clone(), std::future::pending()));
    let store = app.db.store().await;
    let holder = wait_for(
        Duration::from_secs(10),
        || async { store.lease_holder().await.unwrap() },
        |h| h.is_some(),
    )
    .await;
    assert_eq!(holder.unwrap().0, "first");
    let now = onduty_core::Clock::now(clock.as_ref());
    assert!(
        !store
            .acquire_lease("another", now, now.saturating_add(MINUTE))
            .await
            .unwrap(),
        "one engine per database: the held lease is not free"
    );
    let (second, second_phone) = another_instance(&app, "second").await;
    let second_loop = tokio::spawn(second.run(clock.clone(), std::future::pending()));

    // The holder dies without giving the lease up; level 2 falls due.
    first_loop.abort();
    let _ = first_loop.await;
    clock.advance(30 * MINUTE);
    let paged = wait_for(
        Duration::from_secs(10),
        || async { second_phone.take() },
        |sent| !pages_to(sent, BOB).is_empty(),
    )
    .await;
    assert_eq!(pages_to(&paged, BOB), [vec![1]], "the survivor pages Bob");
    assert_eq!(store.lease_holder().await.unwrap().unwrap().0, "second");
    // Two more turns of the survivor's loop (each renews the lease at the clock's time):
    // the turn after the page has ticked in full.
    for _ in 0..2 {
        clock.advance(Duration::from_secs(1));
        let renewed = onduty_core::Clock::now(clock.as_ref()).saturating_add(LEASE);
        let holder = wait_for(
            Duration::from_secs(10),
            || async { store.lease_holder().await.unwrap() },
            |h| h.as_ref().is_some_and(|(_, until)| *until == renewed),
        )
        .await;
        assert_eq!(holder.map(|h| h.1), Some(renewed), "the loop goes on");
    }
    assert!(
        pages_to(&second_phone.take(), BOB).is_empty(),
        "and only once"
    );
    assert!(first_phone.take().is_empty(), "the dead one sent nothing");
    second_loop.abort();
    app.stop().await;
}

#[tokio::test]
async fn an_event_another_instance_accepts_is_paged_at_once_by_the_engine_holder() {
    // Only PostgreSQL is shared by several instances.
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let app = TestApp::start_with(Backend::Postgres, |_| {}).await;
    let key = alice_then_bob(&app, json!({})).await;
    // The holder's lease is so long that, unless woken, it would next look at the
    // database minutes from now.
    let clock = Arc::new(ManualClock::new(app.now()));
    let (holder, phone) = instance_with_lease(&app, "holder", 30 * MINUTE).await;
    let holder_loop = tokio::spawn(holder.run(clock.clone(), std::future::pending()));
    let store = app.db.store().await;
    wait_for(
        Duration::from_secs(10),
        || async { store.lease_holder().await.unwrap() },
        |h| h.is_some(),
    )
    .await;

    // The test app, which does not run the engine, accepts two events in turn, the
    // second after Alice's number may take another message.
    for (number, host) in [(1, "db01"), (2, "db02")] {
        if number == 2 {
            app.advance(MINUTE);
            clock.advance(MINUTE);
        }
        app.send_event(trigger_event(
            &key,
            &format!("{host}/disk"),
            &format!("DISK at 99% on {host}"),
        ))
        .await;
        let paged = wait_for(
            Duration::from_secs(5),
            || async { phone.take() },
            |sent| !pages_to(sent, ALICE).is_empty(),
        )
        .await;
        assert_eq!(
            pages_to(&paged, ALICE),
            [vec![number]],
            "the holder pages incident #{number} as soon as another instance accepted it"
        );
    }
    holder_loop.abort();
    app.stop().await;
}
