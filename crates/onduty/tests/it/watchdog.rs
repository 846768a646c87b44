//! Who watches the watchman: an outside dead-man's switch hears from a healthy engine
//! every minute and stops hearing when a stage fails; an instance that takes the engine
//! over from one that stopped renewing its lease raises an incident, and pages for it.

use std::sync::Arc;
use std::time::Duration;

use onduty_core::retention::Retention;
use onduty_core::{Clock, RoutingKey};
use onduty_engine::{Engine, EngineConfig, Runner, takeover_bound};
use onduty_notify::fake::FakeNotifier;
use onduty_notify::outbound::OutboundPolicy;
use onduty_notify::watchdog::Pinger;
use onduty_testkit::dead_mans_switch::DeadMansSwitch;
use onduty_testkit::{TestApp, backends};
use reqwest::Method;
use serde_json::json;

use crate::paging::{ALICE, level, pages_to, person, policy, service};

const LEASE: Duration = Duration::from_secs(3);

/// An onduty instance on the app's database, with its own engine and phone, and the
/// engine settings given.
pub(crate) async fn instance(
    app: &TestApp,
    holder: &str,
    watchdog: Option<Pinger>,
    takeover_key: Option<RoutingKey>,
    retention: Option<Retention>,
) -> (Engine, Arc<FakeNotifier>) {
    crate::engine::instance_with(
        app,
        EngineConfig {
            public_url: app.url.clone(),
            holder: holder.to_owned(),
            lease: LEASE,
            watchdog,
            takeover_key,
            retention,
            audit_retention: None,
        },
    )
    .await
}

#[tokio::test]
async fn the_dead_mans_switch_hears_from_a_healthy_engine_every_minute_and_not_from_a_failing_one()
{
    for backend in backends() {
        let app = TestApp::start_with(backend, |_| {}).await;
        let switch = DeadMansSwitch::start().await;
        let loopback = OutboundPolicy::parse(&["127.0.0.1".to_owned()]).unwrap();
        let pinger = Pinger::new(&loopback, &switch.url).unwrap();
        let (engine, _) = instance(&app, "host-a:1", Some(pinger), None, None).await;
        let mut runner = Runner::default();
        let clock: &dyn Clock = app.clock.as_ref();

        // Steps every 15 seconds for five minutes: one ping at start, then one a minute.
        for _ in 0..20 {
            let stepped = engine.step(&mut runner, clock).await;
            assert!(
                stepped.holds && stepped.healthy,
                "{stepped:?} ({backend:?})"
            );
            runner.ping_done().await;
            app.advance(Duration::from_secs(15));
        }
        assert_eq!(switch.pings(), 5, "{backend:?}");

        // A stage fails: the engine still holds its lease and ticks, but says nothing.
        app.db
            .execute("ALTER TABLE heartbeats RENAME TO heartbeats_gone")
            .await;
        for _ in 0..12 {
            let stepped = engine.step(&mut runner, clock).await;
            assert!(stepped.holds && !stepped.healthy && !stepped.pinged);
            assert!(stepped.sleep <= Duration::from_secs(1), "{stepped:?}");
            runner.ping_done().await;
            app.advance(Duration::from_secs(15));
        }
        assert_eq!(
            switch.pings(),
            5,
            "no ping from a failing engine ({backend:?})"
        );

        // Mended: the next healthy step pings at once.
        app.db
            .execute("ALTER TABLE heartbeats_gone RENAME TO heartbeats")
            .await;
        let stepped = engine.step(&mut runner, clock).await;
        runner.ping_done().await;
        assert!(stepped.healthy && stepped.pinged, "{stepped:?}");
        assert_eq!(switch.pings(), 6, "{backend:?}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_dead_mans_switch_on_an_internal_address_must_be_allowed() {
    let refused = Pinger::new(
        &OutboundPolicy::parse(&[]).unwrap(),
        "http://127.0.0.1:9/ping/x",
    )
    .unwrap_err();
    assert!(refused.contains("outbound.allow"), "{refused}");
    let not_http = Pinger::new(&OutboundPolicy::parse(&[]).unwrap(), "ftp://example.com/x");
    assert!(not_http.is_err());
}

#[tokio::test]
async fn the_instance_taking_over_from_a_dead_holder_raises_an_incident_and_pages() {
    for backend in backends() {
        let app = TestApp::start_with(backend, |_| {}).await;
        person(&app, "Alice", ALICE).await;
        policy(
            &app,
            json!({"name": "Ops", "levels": [level(&["alice@example.com"], 30)]}),
        )
        .await;
        let key = RoutingKey::parse(&service(&app, "onduty", "Ops", json!({})).await).unwrap();
        let (a, _) = instance(&app, "host-a:17", None, Some(key.clone()), None).await;
        let (b, b_phone) = instance(&app, "host-b:9", None, Some(key.clone()), None).await;
        let clock: &dyn Clock = app.clock.as_ref();
        let (mut on_a, mut on_b) = (Runner::default(), Runner::default());
        assert!(a.step(&mut on_a, clock).await.holds);
        assert!(!b.step(&mut on_b, clock).await.holds);

        // host-a dies (no more steps); host-b looks every second. The database cannot
        // write a timeline line at first: the incident is raised once it can.
        app.db
            .execute("ALTER TABLE timeline RENAME TO timeline_gone")
            .await;
        let died = app.now();
        let taken = loop {
            app.advance(Duration::from_secs(1));
            if b.step(&mut on_b, clock).await.holds {
                break app.now();
            }
            assert!(
                app.now().since(died) < Duration::from_secs(60),
                "never taken over"
            );
        };
        assert!(taken.since(died) <= takeover_bound(LEASE), "{backend:?}");
        app.db
            .execute("ALTER TABLE timeline_gone RENAME TO timeline")
            .await;
        assert!(
            app.all_incidents().await.is_empty(),
            "not raised yet ({backend:?})"
        );
        app.advance(Duration::from_secs(1));
        assert!(b.step(&mut on_b, clock).await.holds);
        let incidents = app.all_incidents().await;
        assert_eq!(incidents.len(), 1, "{incidents:?}");
        let summary = incidents[0]["summary"].as_str().unwrap();
        assert!(
            summary.starts_with("onduty's paging engine stopped on host-a:17"),
            "{summary}"
        );
        assert!(summary.ends_with("before host-b:9 took over"), "{summary}");
        let (_, onduty) = app.api(Method::GET, "/services/onduty", None).await;
        assert_eq!(
            incidents[0]["service_id"], onduty["service"]["id"],
            "{onduty}"
        );
        // The new holder pages for it in the same step.
        assert_eq!(pages_to(&b_phone.take(), ALICE), [vec![1]], "{backend:?}");

        // A lease given up on shutdown is taken without news.
        app.store.release_lease("host-b:9").await.unwrap();
        let (c, _) = instance(&app, "host-c:3", None, Some(key), None).await;
        assert!(c.step(&mut Runner::default(), clock).await.holds);
        assert_eq!(app.all_incidents().await.len(), 1, "{backend:?}");
        app.stop().await;
    }
}
