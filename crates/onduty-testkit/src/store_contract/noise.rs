//! Store contract: grouping alerts and re-opening flapping incidents (noise control).

use super::*;

pub async fn noise_control_groups_alerts_and_reopens_flapping_incidents(db: &TestDb) {
    let store = db.store().await;
    let dbs = service(&store, "Databases", DedupMode::Open).await;
    let outcome = |r: ItemResult| accepted(r).outcome;

    // Off by default: two keys, two incidents; a trigger after a resolve opens anew.
    let a = outcome(
        one(
            &store,
            trigger(dbs.key(), "disk", "Disk full", at_minute(0)),
        )
        .await,
    );
    let b = outcome(
        one(
            &store,
            trigger(dbs.key(), "slow", "Slow queries", at_minute(1)),
        )
        .await,
    );
    assert_ne!(number(&a), number(&b));
    one(&store, resolve(dbs.key(), "disk", at_minute(2)))
        .await
        .unwrap();
    one(&store, resolve(dbs.key(), "slow", at_minute(2)))
        .await
        .unwrap();
    let again = outcome(
        one(
            &store,
            trigger(dbs.key(), "disk", "Disk full", at_minute(3)),
        )
        .await,
    );
    assert!(matches!(again, Outcome::Opened(t) if t.number != number(&a)));
    one(&store, resolve(dbs.key(), "disk", at_minute(4)))
        .await
        .unwrap();

    let patch = ServicePatch {
        group_window_minutes: Some(Some(5)),
        flap_window_minutes: Some(Some(10)),
        ..Default::default()
    };
    let updated = store
        .update_service(dbs.service.id, patch, at_minute(5))
        .await
        .unwrap();
    assert_eq!(updated.settings.group_window_minutes, Some(5));
    assert_eq!(
        store.service(dbs.service.id).await.unwrap().settings,
        updated.settings
    );

    // Grouping: a new key within 5 minutes of an incident opening joins it.
    let cpu = outcome(
        one(
            &store,
            trigger(dbs.key(), "cpu", "CPU at 100%", at_minute(100)),
        )
        .await,
    );
    let Outcome::Opened(n) = cpu else {
        panic!("expected a new incident, got {cpu:?}")
    };
    let mem = outcome(
        one(
            &store,
            trigger(dbs.key(), "mem", "Memory low", at_minute(102)),
        )
        .await,
    );
    assert_eq!(mem, Outcome::Grouped(n));
    let mem_again = outcome(
        one(
            &store,
            trigger(dbs.key(), "mem", "Memory lower", at_minute(103)),
        )
        .await,
    );
    assert_eq!(
        mem_again,
        Outcome::Appended(n),
        "a joined key folds in afterwards"
    );
    // Six minutes after it opened, a new key opens its own incident...
    let net = outcome(
        one(
            &store,
            trigger(dbs.key(), "net", "Packet loss", at_minute(106)),
        )
        .await,
    );
    let Outcome::Opened(m) = net else {
        panic!("expected a new incident, got {net:?}")
    };
    // ...which the next one joins; in the same batch, one alert of the first resolves
    // while the other still fires, and an acknowledge by a joined key acknowledges.
    let batch = store
        .ingest_batch(&[
            trigger(dbs.key(), "io", "IO wait", at_minute(107)),
            resolve(dbs.key(), "cpu", at_minute(108)),
            acknowledge(dbs.key(), "io", at_minute(108)),
        ])
        .await
        .unwrap();
    let outcomes: Vec<Outcome> = batch.into_iter().map(outcome).collect();
    assert_eq!(
        outcomes,
        vec![
            Outcome::Grouped(m),
            Outcome::AlertResolved(n),
            Outcome::Acknowledged(m)
        ]
    );
    let first = store.incident(by_number(n.number)).await.unwrap();
    assert_eq!(first.status, IncidentStatus::Triggered);
    assert_eq!(first.alert_count, 3);
    assert_eq!(first.last_event_summary, "Memory lower");
    let keys: Vec<(&str, bool)> = first
        .grouped_alerts
        .0
        .iter()
        .map(|a| (a.key.as_str(), a.resolved_at.is_some()))
        .collect();
    assert_eq!(keys, vec![("cpu", true), ("mem", false)]);
    // The last alert resolving resolves the incident.
    let last = outcome(one(&store, resolve(dbs.key(), "mem", at_minute(109))).await);
    assert!(matches!(&last, Outcome::Resolved(ts) if ts == &vec![n]));
    assert_eq!(
        store.incident(by_number(m.number)).await.unwrap().status,
        IncidentStatus::Acknowledged
    );

    // Flapping: a trigger within 10 minutes of its incident resolving re-opens it.
    let flap = outcome(
        one(
            &store,
            trigger(dbs.key(), "cpu", "CPU at 100%", at_minute(112)),
        )
        .await,
    );
    assert_eq!(flap, Outcome::Reopened(n));
    let reopened = store.incident(by_number(n.number)).await.unwrap();
    assert_eq!(reopened.status, IncidentStatus::Triggered);
    assert_eq!(reopened.resolved_at, None);
    assert!(
        reopened
            .grouped_alerts
            .0
            .iter()
            .all(|a| (a.key == "cpu") == a.resolved_at.is_none()),
        "only the re-opening alert fires: {:?}",
        reopened.grouped_alerts
    );
    // It holds its key again, and resolves with it alone now.
    let fold = outcome(one(&store, trigger(dbs.key(), "cpu", "CPU", at_minute(113))).await);
    assert_eq!(fold, Outcome::Appended(n));
    let done = outcome(one(&store, resolve(dbs.key(), "cpu", at_minute(114))).await);
    assert!(matches!(&done, Outcome::Resolved(ts) if ts == &vec![n]));

    // Acknowledged when it resolved: it re-opens acknowledged.
    one(&store, trigger(dbs.key(), "cpu", "CPU", at_minute(115)))
        .await
        .unwrap();
    let acked = outcome(one(&store, acknowledge(dbs.key(), "cpu", at_minute(116))).await);
    assert_eq!(acked, Outcome::Acknowledged(n));
    one(&store, resolve(dbs.key(), "cpu", at_minute(117)))
        .await
        .unwrap();
    let flap = outcome(one(&store, trigger(dbs.key(), "cpu", "CPU", at_minute(118))).await);
    assert_eq!(flap, Outcome::Reopened(n));
    let reopened = store.incident(by_number(n.number)).await.unwrap();
    assert_eq!(reopened.status, IncidentStatus::Acknowledged);
    let page = store.timeline(reopened.id, None, 100).await.unwrap();
    let reopens = page
        .entries
        .iter()
        .filter(|e| e.kind == TimelineKind::Reopened)
        .count();
    assert_eq!(reopens, 3, "each re-opening is on the timeline");

    // A resolve and a trigger in one batch: resolved, then re-opened.
    let batch = store
        .ingest_batch(&[
            resolve(dbs.key(), "cpu", at_minute(118)),
            trigger(dbs.key(), "cpu", "CPU", at_minute(118)),
        ])
        .await
        .unwrap();
    let outcomes: Vec<Outcome> = batch.into_iter().map(outcome).collect();
    assert_eq!(
        outcomes,
        vec![Outcome::Resolved(vec![n]), Outcome::Reopened(n)]
    );

    // Outside the window, a trigger opens a new incident.
    one(&store, resolve(dbs.key(), "cpu", at_minute(119)))
        .await
        .unwrap();
    let late = outcome(one(&store, trigger(dbs.key(), "cpu", "CPU", at_minute(140))).await);
    let Outcome::Opened(newer) = late else {
        panic!("expected a new incident, got {late:?}")
    };
    assert_ne!(newer.number, n.number);

    // A person's resolve is final, even within the window.
    let ada = user(&store, "Ada", Role::Responder).await;
    let ada = Actor::User {
        id: ada.id,
        name: "Ada".to_owned(),
    };
    store
        .command_incident(
            by_number(newer.number),
            &Command::Resolve,
            &Acting::person(ada.clone(), Via::Api),
            at_minute(141),
        )
        .await
        .unwrap();
    let after = outcome(one(&store, trigger(dbs.key(), "cpu", "CPU", at_minute(142))).await);
    assert!(
        matches!(after, Outcome::Opened(t) if t.number != newer.number),
        "{after:?}"
    );

    // Turned off, triggers behave as before.
    let off = ServicePatch {
        group_window_minutes: Some(None),
        flap_window_minutes: Some(None),
        ..Default::default()
    };
    store
        .update_service(dbs.service.id, off, at_minute(141))
        .await
        .unwrap();
    let alone = outcome(one(&store, trigger(dbs.key(), "fan", "Fan", at_minute(141))).await);
    let Outcome::Opened(fan) = alone else {
        panic!("expected a new incident, got {alone:?}")
    };
    // The newest incident with a key, open or resolved (what an Opsgenie alias names).
    let newest = |key: &'static str| store.newest_incident_with_key(dbs.service.id, key);
    assert_eq!(newest("fan").await.unwrap(), Some(fan.id));
    assert_eq!(
        newest("cpu").await.unwrap(),
        Some(newer_after_person(&store, &dbs).await)
    );
    assert_eq!(newest("nothing").await.unwrap(), None);
}

/// The incident the last `cpu` trigger opened (after a person's resolve).
async fn newer_after_person(
    store: &Store,
    dbs: &crate::fixtures::ServiceFixture,
) -> onduty_core::IncidentId {
    let filter = IncidentFilter {
        service: Some(dbs.service.id),
        statuses: vec![IncidentStatus::Triggered],
        ..IncidentFilter::default()
    };
    let open = store.list_incidents(&filter, None, 100).await.unwrap();
    open.incidents
        .iter()
        .find(|i| i.dedup_key.as_str() == "cpu")
        .expect("an open cpu incident")
        .id
}
