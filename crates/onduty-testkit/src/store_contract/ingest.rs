//! Store contract: events in (the dedup rule, PagerDuty's semantics, batches, changes).

use super::*;

pub async fn a_trigger_opens_an_incident_and_repeats_fold_into_it(db: &TestDb) {
    let store = db.store().await;
    let db1 = service(&store, "Databases", DedupMode::Open).await;

    let first = accepted(
        one(
            &store,
            trigger(db1.key(), "srv01/mysql", "DISK at 99%", at_minute(0)),
        )
        .await,
    );
    let Outcome::Opened(opened) = first.outcome else {
        panic!("expected a new incident, got {:?}", first.outcome)
    };
    assert_eq!(opened.number, IncidentNumber(1));

    for minute in 1..=3 {
        let again = accepted(
            one(
                &store,
                trigger(db1.key(), "srv01/mysql", "DISK at 100%", at_minute(minute)),
            )
            .await,
        );
        assert_eq!(
            again.outcome,
            Outcome::Appended(opened),
            "no new incident for a repeat"
        );
    }
    let other = accepted(
        one(
            &store,
            trigger(db1.key(), "srv02/mysql", "DISK at 98%", at_minute(4)),
        )
        .await,
    );
    assert_eq!(number(&other.outcome), IncidentNumber(2));

    let incident = store.incident(by_number(opened.number)).await.unwrap();
    assert_eq!(incident.status, IncidentStatus::Triggered);
    assert_eq!(incident.alert_count, 4);
    assert_eq!(
        incident.summary, "DISK at 99%",
        "the summary is the first trigger's"
    );
    assert_eq!(incident.last_event_summary, "DISK at 100%");
    assert_eq!(incident.last_event_at, at_minute(3));
    assert_eq!(incident.created_at, at_minute(0));
    assert_eq!(incident.details.alert().unwrap().source, "db01.example.com");
    assert_eq!(
        store
            .incident(IncidentRef::Id(opened.id))
            .await
            .unwrap()
            .number,
        opened.number
    );

    let timeline = store.timeline(opened.id, None, 100).await.unwrap().entries;
    let kinds: Vec<_> = timeline.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            TimelineKind::Triggered,
            TimelineKind::Alert,
            TimelineKind::Alert,
            TimelineKind::Alert
        ]
    );
    assert_eq!(
        timeline[3].message,
        "Trigger event from Prometheus (alert 4)"
    );
    assert!(matches!(&timeline[0].actor, Actor::Integration { name, .. } if name == "Prometheus"));
    let body = timeline[1]
        .event
        .as_ref()
        .expect("the event is on the timeline");
    assert_eq!(body["alert"]["summary"], "DISK at 100%");
    assert!(
        !body.to_string().contains(db1.key().as_str()),
        "the routing key is not stored"
    );
}

pub async fn acknowledge_and_resolve_events_follow_pagerduty(db: &TestDb) {
    let store = db.store().await;
    let web = service(&store, "Web", DedupMode::Open).await;
    let key = web.key();

    // With nothing open, acknowledge and resolve are accepted and dropped.
    assert_eq!(
        accepted(one(&store, acknowledge(key, "k", at_minute(0))).await).outcome,
        Outcome::Ignored
    );
    assert_eq!(
        accepted(one(&store, resolve(key, "k", at_minute(0))).await).outcome,
        Outcome::Ignored
    );

    let n = number(
        &accepted(one(&store, trigger(key, "k", "5xx rate high", at_minute(1))).await).outcome,
    );
    let acked = accepted(one(&store, acknowledge(key, "k", at_minute(2))).await);
    assert!(matches!(acked.outcome, Outcome::Acknowledged(t) if t.number == n));
    let again = accepted(one(&store, acknowledge(key, "k", at_minute(3))).await);
    assert!(matches!(again.outcome, Outcome::AlreadyAcknowledged(t) if t.number == n));
    // In `open` mode an acknowledged incident still absorbs triggers.
    let folded = accepted(one(&store, trigger(key, "k", "still high", at_minute(4))).await);
    assert!(matches!(folded.outcome, Outcome::Appended(t) if t.number == n));
    let incident = store.incident(by_number(n)).await.unwrap();
    assert_eq!(incident.status, IncidentStatus::Acknowledged);
    assert_eq!(incident.acknowledged_at, Some(at_minute(2)));
    assert!(matches!(
        incident.acknowledged_by,
        Some(Actor::Integration { .. })
    ));

    let resolved = accepted(one(&store, resolve(key, "k", at_minute(5))).await);
    assert!(
        matches!(&resolved.outcome, Outcome::Resolved(ts) if ts.len() == 1 && ts[0].number == n)
    );
    let incident = store.incident(by_number(n)).await.unwrap();
    assert_eq!(incident.status, IncidentStatus::Resolved);
    assert_eq!(incident.resolved_at, Some(at_minute(5)));

    // Resolved is final: later events do not touch it, a trigger opens a new incident.
    assert_eq!(
        accepted(one(&store, resolve(key, "k", at_minute(6))).await).outcome,
        Outcome::Ignored
    );
    let reopened = accepted(
        one(
            &store,
            trigger(key, "k", "5xx rate high again", at_minute(7)),
        )
        .await,
    );
    assert!(matches!(reopened.outcome, Outcome::Opened(t) if t.number != n));
    let old = store.incident(by_number(n)).await.unwrap();
    assert_eq!((old.status, old.alert_count), (IncidentStatus::Resolved, 2));
}

pub async fn triggered_mode_opens_a_new_incident_after_acknowledgement(db: &TestDb) {
    let store = db.store().await;
    let mail = service(&store, "Mail alerts", DedupMode::Triggered).await;
    let key = mail.key();

    let first = number(
        &accepted(one(&store, trigger(key, "disk", "disk full", at_minute(0))).await).outcome,
    );
    let folded = accepted(one(&store, trigger(key, "disk", "disk full", at_minute(1))).await);
    assert!(
        matches!(folded.outcome, Outcome::Appended(t) if t.number == first),
        "a triggered incident absorbs"
    );
    one(&store, acknowledge(key, "disk", at_minute(2)))
        .await
        .unwrap();

    let second = accepted(
        one(
            &store,
            trigger(key, "disk", "disk full again", at_minute(3)),
        )
        .await,
    );
    let Outcome::Opened(t) = second.outcome else {
        panic!("expected a new incident, got {:?}", second.outcome)
    };
    assert_ne!(t.number, first);
    let folded = accepted(one(&store, trigger(key, "disk", "and again", at_minute(4))).await);
    assert_eq!(
        folded.outcome,
        Outcome::Appended(t),
        "repeats go to the new incident"
    );

    let old_timeline = store
        .timeline(
            store.incident(by_number(first)).await.unwrap().id,
            None,
            100,
        )
        .await
        .unwrap();
    let last = old_timeline.entries.last().unwrap();
    assert_eq!(last.kind, TimelineKind::Superseded);
    assert!(
        last.message.contains(&format!("#{}", t.number)),
        "{}",
        last.message
    );

    // A resolve event ends every open incident with the key.
    let resolved = accepted(one(&store, resolve(key, "disk", at_minute(5))).await);
    let Outcome::Resolved(list) = resolved.outcome else {
        panic!("expected resolve")
    };
    let numbers: HashSet<_> = list.iter().map(|t| t.number).collect();
    assert_eq!(numbers, HashSet::from([first, t.number]));
}

pub async fn a_batch_is_applied_in_order_and_refuses_unknown_keys_alone(db: &TestDb) {
    let store = db.store().await;
    let api = service(&store, "API", DedupMode::Open).await;
    let key = api.key();
    let stranger = routing_key_for("nobody has this");
    let results = store
        .ingest_batch(&[
            trigger(key, "k", "one", at_minute(0)),
            trigger(key, "k", "two", at_minute(0)),
            trigger(&stranger, "k", "lost", at_minute(0)),
            resolve(key, "k", at_minute(1)),
            trigger(key, "k", "three", at_minute(2)),
            change(key, "deployed v42", at_minute(2)),
        ])
        .await
        .unwrap();
    assert_eq!(results.len(), 6);
    let first = number(&results[0].clone().unwrap().outcome);
    assert!(
        matches!(results[1].clone().unwrap().outcome, Outcome::Appended(t) if t.number == first)
    );
    assert_eq!(results[2], Err(Rejected::UnknownRoutingKey));
    assert!(matches!(
        results[3].clone().unwrap().outcome,
        Outcome::Resolved(_)
    ));
    let second = number(&results[4].clone().unwrap().outcome);
    assert_eq!(second.0, first.0 + 1, "numbers are consecutive");
    assert_eq!(results[5].clone().unwrap().outcome, Outcome::ChangeRecorded);
    // A trigger without a dedup key opens an incident of its own, keyed by its event id.
    let mut keyless = trigger(key, "x", "no key", at_minute(3));
    if let onduty_core::batch::Inbound::Alert(e) = &mut keyless.event {
        e.act = Act::Trigger {
            alert: e.alert().cloned().unwrap(),
            dedup_key: None,
        };
    }
    let made_up = DedupKey::of_event(keyless.id);
    let results = store
        .ingest_batch(&[keyless, trigger(key, "k2", "fine", at_minute(3))])
        .await
        .unwrap();
    let accepted = results[0].clone().unwrap();
    assert_eq!(accepted.dedup_key, Some(made_up.clone()));
    let opened = number(&accepted.outcome);
    let incident = store.incident(IncidentRef::Number(opened)).await.unwrap();
    assert_eq!(incident.dedup_key, made_up);
    assert!(results[1].is_ok());
    let page = store
        .list_incidents(&IncidentFilter::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(page.incidents.len(), 4);
}

pub async fn change_events_are_on_the_service_timeline(db: &TestDb) {
    let store = db.store().await;
    let api = service(&store, "API", DedupMode::Open).await;
    for i in 0..5 {
        one(
            &store,
            change(api.key(), &format!("deploy {i}"), at_minute(i)),
        )
        .await
        .unwrap();
    }
    let (page, next) = store.list_changes(api.service.id, None, 3).await.unwrap();
    let summaries: Vec<_> = page.iter().map(|c| c.change.summary.as_str()).collect();
    assert_eq!(summaries, ["deploy 4", "deploy 3", "deploy 2"]);
    let (rest, end) = store.list_changes(api.service.id, next, 3).await.unwrap();
    let summaries: Vec<_> = rest.iter().map(|c| c.change.summary.as_str()).collect();
    assert_eq!(summaries, ["deploy 1", "deploy 0"]);
    assert!(end.is_none());
    assert_eq!(rest[1].received_at, at_minute(0));
}
