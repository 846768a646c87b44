//! Store contract: heartbeats and maintenance windows.

use super::*;

pub async fn heartbeats_pings_and_deadlines(db: &TestDb) {
    use onduty_core::heartbeat::{Expect, Ping, PingBody};
    use onduty_store::heartbeats::HeartbeatState;

    let store = db.store().await;
    let backups = service(&store, "Backups", DedupMode::Open).await;
    let made = store
        .create_heartbeat(
            backups.service.id,
            Name::parse("nightly-backup").unwrap(),
            Expect::period(60, 10).unwrap(),
            routing_key_for("backup"),
            T0,
        )
        .await
        .unwrap();
    assert_eq!(made.state, HeartbeatState::New);
    assert_eq!(made.due_at, Some(at_minute(70)));
    assert_eq!(made.service_id, backups.service.id);
    // Its integration is the service's, of kind heartbeat.
    let integration = store
        .integration_by_routing_key(&routing_key_for("backup"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        integration.kind,
        onduty_core::service::IntegrationKind::Heartbeat
    );
    assert_eq!(
        store
            .heartbeat_by_key(&routing_key_for("backup"))
            .await
            .unwrap(),
        Some(made.clone())
    );
    assert_eq!(
        store.next_heartbeat_deadline().await.unwrap(),
        Some(at_minute(70))
    );

    let long = "x".repeat(20_000);
    let pinged = store
        .record_ping(
            made.id,
            Ping::Success,
            &PingBody::of_request(long.as_bytes()),
            at_minute(30),
        )
        .await
        .unwrap();
    assert_eq!(pinged.was, HeartbeatState::New);
    assert_eq!(pinged.heartbeat.state, HeartbeatState::Up);
    assert_eq!(pinged.heartbeat.due_at, Some(at_minute(100)));
    assert_eq!(
        pinged.heartbeat.last_body.as_deref().map(str::len),
        Some(10 * 1024)
    );
    assert!(
        store
            .overdue_heartbeats(at_minute(99))
            .await
            .unwrap()
            .is_empty()
    );
    let overdue = store.overdue_heartbeats(at_minute(100)).await.unwrap();
    assert_eq!(overdue.len(), 1);
    // A ping that moved the deadline meanwhile wins over a late report.
    assert!(
        !store
            .mark_heartbeat_late(made.id, at_minute(70))
            .await
            .unwrap()
    );
    assert!(
        store
            .mark_heartbeat_late(made.id, at_minute(100))
            .await
            .unwrap()
    );
    assert!(
        store
            .overdue_heartbeats(at_minute(500))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.next_heartbeat_deadline().await.unwrap(), None);
    assert_eq!(
        store.heartbeat(made.id).await.unwrap().state,
        HeartbeatState::Late
    );

    let failed = store
        .record_ping(
            made.id,
            Ping::Exit(2),
            &PingBody::of_request(b"boom\0"),
            at_minute(501),
        )
        .await
        .unwrap();
    assert_eq!(failed.was, HeartbeatState::Late);
    assert_eq!(failed.heartbeat.state, HeartbeatState::Failing);
    assert_eq!(failed.heartbeat.last_ping.as_deref(), Some("exit 2"));
    assert_eq!(failed.heartbeat.last_body.as_deref(), Some("boom\u{FFFD}"));
    assert_eq!(failed.heartbeat.last_success_at, Some(at_minute(30)));
    assert_eq!(
        store
            .list_heartbeats(Some(backups.service.id))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.list_heartbeats(None).await.unwrap().len(), 1);

    // Its key takes no events from senders; onduty's own are taken.
    let key = routing_key_for("backup");
    let mut from_sender = trigger(&key, "x", "forged", at_minute(999));
    assert_eq!(
        one(&store, from_sender.clone()).await,
        Err(Rejected::HeartbeatKey)
    );
    from_sender.from = onduty_core::batch::HandedIn::ByOnduty;
    assert!(one(&store, from_sender).await.is_ok());

    // Pings at once never undo each other: a start racing a success leaves it up.
    for round in 0..20 {
        let at = at_minute(1000 + round);
        store
            .record_ping(made.id, Ping::Fail, &PingBody::default(), at)
            .await
            .unwrap();
        let empty = PingBody::default();
        let (start, success) = tokio::join!(
            store.record_ping(made.id, Ping::Start, &empty, at),
            store.record_ping(made.id, Ping::Success, &empty, at),
        );
        start.unwrap();
        success.unwrap();
        let now = store.heartbeat(made.id).await.unwrap();
        assert_eq!(now.state, HeartbeatState::Up, "round {round}");
        assert_eq!(now.last_success_at, Some(at), "round {round}");
    }
}

pub async fn maintenance_windows_quiet_triggers_and_end(db: &TestDb) {
    let store = db.store().await;
    let checkout = service(&store, "Checkout", DedupMode::Open).await;
    let alice = user(&store, "Alice", Role::Responder).await;
    let window = store
        .create_maintenance(
            &[checkout.service.id, checkout.service.id],
            at_minute(10),
            at_minute(70),
            "upgrade",
            Some(alice.id),
            at_minute(0),
        )
        .await
        .unwrap();
    assert_eq!(window.services, vec![checkout.service.id]);
    assert_eq!(window.remind_at, Some(at_minute(55)));
    assert!(!window.is_on(at_minute(5)) && window.is_on(at_minute(10)));
    assert!(matches!(
        store
            .create_maintenance(
                &[checkout.service.id],
                at_minute(10),
                at_minute(5),
                "x",
                None,
                at_minute(0)
            )
            .await,
        Err(StoreError::Invalid(_))
    ));

    // One batch straddling the start: each event is judged at its own time.
    let straddling = store
        .ingest_batch(&[
            trigger(checkout.key(), "x", "just before", at_minute(9)),
            trigger(checkout.key(), "y", "just after", at_minute(10)),
        ])
        .await
        .unwrap();
    assert!(matches!(
        straddling[0].as_ref().unwrap().outcome,
        Outcome::Opened(_)
    ));
    assert_eq!(
        straddling[1].as_ref().unwrap().outcome,
        Outcome::Maintenance
    );

    // Before it starts, a trigger opens an incident; during it, it is only recorded.
    let before = accepted(one(&store, trigger(checkout.key(), "a", "before", at_minute(5))).await);
    assert!(matches!(before.outcome, Outcome::Opened(_)));
    let during = accepted(
        one(
            &store,
            trigger(checkout.key(), "b", "during", at_minute(20)),
        )
        .await,
    );
    assert_eq!(during.outcome, Outcome::Maintenance);
    // Resolving still works during maintenance.
    let resolved = accepted(one(&store, resolve(checkout.key(), "a", at_minute(21))).await);
    assert!(matches!(resolved.outcome, Outcome::Resolved(_)));

    assert_eq!(
        store.next_maintenance_deadline().await.unwrap(),
        Some(at_minute(55))
    );
    assert!(
        store
            .due_maintenance_reminders(at_minute(54))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .due_maintenance_reminders(at_minute(55))
            .await
            .unwrap()
            .len(),
        1
    );
    store
        .queue_maintenance_reminders(
            &[onduty_store::maintenance::Reminder {
                window: window.id,
                user: alice.id,
                methods: Vec::new(),
                text: "ending".to_owned(),
            }],
            at_minute(55),
        )
        .await
        .unwrap();
    assert!(
        store
            .due_maintenance_reminders(at_minute(60))
            .await
            .unwrap()
            .is_empty()
    );

    let longer = store
        .extend_maintenance(window.id, at_minute(130), at_minute(60))
        .await
        .unwrap();
    assert_eq!(longer.remind_at, Some(at_minute(115)));
    assert_eq!(
        store
            .list_maintenance(Some(checkout.service.id), at_minute(60))
            .await
            .unwrap()
            .len(),
        1
    );
    let ended = store
        .end_maintenance(window.id, at_minute(61))
        .await
        .unwrap();
    assert_eq!(ended.end, at_minute(61));
    assert_eq!(ended.remind_at, None);
    assert!(
        store
            .list_maintenance(None, at_minute(61))
            .await
            .unwrap()
            .is_empty()
    );
    let after = accepted(one(&store, trigger(checkout.key(), "b", "after", at_minute(62))).await);
    assert!(matches!(after.outcome, Outcome::Opened(_)));
}
