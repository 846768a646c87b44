//! Store contract: people acting on incidents, and reading incidents and timelines.

use super::*;
use onduty_store::incidents::IncidentOrder;

pub async fn people_acknowledge_resolve_and_add_notes(db: &TestDb) {
    let store = db.store().await;
    let web = service(&store, "Web", DedupMode::Open).await;
    let alice = user(&store, "Alice", Role::Responder).await;
    let alice_actor = Actor::User {
        id: alice.id,
        name: alice.name.to_string(),
    };
    let n = number(
        &accepted(one(&store, trigger(web.key(), "k", "site down", at_minute(0))).await).outcome,
    );

    let acted = store
        .command_incident(
            by_number(n),
            &Command::Acknowledge,
            &Acting::person(alice_actor.clone(), Via::Api),
            at_minute(3),
        )
        .await
        .unwrap();
    assert!(acted.changed);
    assert_eq!(acted.incident.status, IncidentStatus::Acknowledged);
    assert_eq!(
        acted.incident.assignees,
        vec![alice.id],
        "acknowledging an unassigned incident takes it"
    );
    let again = store
        .command_incident(
            by_number(n),
            &Command::Acknowledge,
            &Acting::person(alice_actor.clone(), Via::Api),
            at_minute(4),
        )
        .await
        .unwrap();
    assert!(!again.changed, "acknowledging twice changes nothing");

    let note = store
        .add_note(
            by_number(n),
            "restarted the load balancer",
            &alice_actor,
            None,
            at_minute(5),
        )
        .await
        .unwrap();
    assert_eq!(note.kind, TimelineKind::Note);

    let resolved = store
        .command_incident(
            by_number(n),
            &Command::Resolve,
            &Acting::person(alice_actor.clone(), Via::Api),
            at_minute(9),
        )
        .await
        .unwrap();
    assert_eq!(resolved.incident.status, IncidentStatus::Resolved);
    assert_eq!(resolved.incident.resolved_by, Some(alice_actor.clone()));
    let late = store
        .command_incident(
            by_number(n),
            &Command::Acknowledge,
            &Acting::person(alice_actor.clone(), Via::Api),
            at_minute(10),
        )
        .await;
    assert!(matches!(
        late,
        Err(StoreError::Refused(Refused::AlreadyResolved(_)))
    ));
    // The key is free again: the next trigger opens a new incident.
    let next = accepted(
        one(
            &store,
            trigger(web.key(), "k", "site down again", at_minute(11)),
        )
        .await,
    );
    assert!(matches!(next.outcome, Outcome::Opened(t) if t.number != n));

    let incident = store.incident(by_number(n)).await.unwrap();
    let timeline = store
        .timeline(incident.id, None, 100)
        .await
        .unwrap()
        .entries;
    let lines: Vec<(TimelineKind, &str)> = timeline
        .iter()
        .map(|e| (e.kind, e.message.as_str()))
        .collect();
    assert_eq!(
        lines,
        vec![
            (
                TimelineKind::Triggered,
                "Triggered by an event from Prometheus"
            ),
            (
                TimelineKind::Acknowledged,
                "Acknowledged by Alice via the API"
            ),
            (TimelineKind::Assigned, "Assigned to Alice"),
            (TimelineKind::Note, "Note from Alice"),
            (TimelineKind::Resolved, "Resolved by Alice via the API"),
        ]
    );
    assert_eq!(
        timeline[3].data.as_ref().unwrap()["text"],
        "restarted the load balancer"
    );
    assert_eq!(timeline[4].at, at_minute(9));

    let missing = store
        .add_note(by_number(IncidentNumber(999)), "x", &alice_actor, None, T0)
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound(m)) if m == "incident #999"));
}

pub async fn lists_filter_and_paginate(db: &TestDb) {
    let store = db.store().await;
    let a = service(&store, "A", DedupMode::Open).await;
    let b = service(&store, "B", DedupMode::Open).await;
    let bob = user(&store, "Bob", Role::Responder).await;
    let bob_actor = Actor::User {
        id: bob.id,
        name: "Bob".into(),
    };
    for i in 0..10 {
        let svc = if i % 2 == 0 { &a } else { &b };
        one(
            &store,
            trigger(svc.key(), &format!("k{i}"), "x", at_minute(i)),
        )
        .await
        .unwrap();
    }
    store
        .command_incident(
            by_number(IncidentNumber(3)),
            &Command::Acknowledge,
            &Acting::person(bob_actor.clone(), Via::Api),
            at_minute(20),
        )
        .await
        .unwrap();
    store
        .command_incident(
            by_number(IncidentNumber(4)),
            &Command::Resolve,
            &Acting::person(bob_actor.clone(), Via::Api),
            at_minute(20),
        )
        .await
        .unwrap();

    let numbers = |page: &onduty_store::incidents::IncidentPage| {
        page.incidents
            .iter()
            .map(|i| i.number.0)
            .collect::<Vec<_>>()
    };
    let all = IncidentFilter::default();
    let p1 = store.list_incidents(&all, None, 4).await.unwrap();
    assert_eq!(numbers(&p1), [10, 9, 8, 7]);
    let p2 = store.list_incidents(&all, p1.next, 4).await.unwrap();
    assert_eq!(numbers(&p2), [6, 5, 4, 3]);
    let p3 = store.list_incidents(&all, p2.next, 4).await.unwrap();
    assert_eq!(numbers(&p3), [2, 1]);
    assert!(p3.next.is_none());

    let only_b = IncidentFilter {
        service: Some(b.service.id),
        ..Default::default()
    };
    assert_eq!(
        numbers(&store.list_incidents(&only_b, None, 50).await.unwrap()),
        [10, 8, 6, 4, 2]
    );
    let payments = store
        .create_team(Name::parse("Payments").unwrap(), at_minute(0))
        .await
        .unwrap();
    store
        .update_service(
            b.service.id,
            ServicePatch {
                team_id: Some(Some(payments.id)),
                ..ServicePatch::default()
            },
            at_minute(0),
        )
        .await
        .unwrap();
    let payments_only = IncidentFilter {
        team: Some(payments.id),
        ..Default::default()
    };
    assert_eq!(
        numbers(
            &store
                .list_incidents(&payments_only, None, 50)
                .await
                .unwrap()
        ),
        [10, 8, 6, 4, 2]
    );
    let open = IncidentFilter {
        statuses: vec![IncidentStatus::Triggered, IncidentStatus::Acknowledged],
        ..Default::default()
    };
    assert_eq!(
        store
            .list_incidents(&open, None, 50)
            .await
            .unwrap()
            .incidents
            .len(),
        9
    );
    let acked = IncidentFilter {
        statuses: vec![IncidentStatus::Acknowledged],
        ..Default::default()
    };
    assert_eq!(
        numbers(&store.list_incidents(&acked, None, 50).await.unwrap()),
        [3]
    );
    let window = IncidentFilter {
        since: Some(at_minute(2)),
        until: Some(at_minute(5)),
        ..Default::default()
    };
    assert_eq!(
        numbers(&store.list_incidents(&window, None, 50).await.unwrap()),
        [5, 4, 3]
    );
    let mine = IncidentFilter {
        assigned_to: Some(bob.id),
        ..Default::default()
    };
    let page = store.list_incidents(&mine, None, 50).await.unwrap();
    assert_eq!(numbers(&page), [3]);
    assert_eq!(page.incidents[0].assignees, vec![bob.id]);

    let counts = store.count_incidents_by_status(&all).await.unwrap();
    assert_eq!(counts.get(&IncidentStatus::Triggered), Some(&8));
    assert_eq!(counts.get(&IncidentStatus::Resolved), Some(&1));
    // Counts follow the other filters.
    let counts = store.count_incidents_by_status(&only_b).await.unwrap();
    assert_eq!(counts.get(&IncidentStatus::Triggered), Some(&4));
    assert_eq!(counts.get(&IncidentStatus::Resolved), Some(&1));
    assert_eq!(counts.get(&IncidentStatus::Acknowledged), None, "#3 is A's");

    // Other orders give their first page, with no cursor.
    for (order, found) in [
        (IncidentOrder::Oldest, vec![1, 2, 3, 4]),
        (IncidentOrder::Status, vec![10, 9, 8, 7]),
    ] {
        let ordered = IncidentFilter {
            order,
            ..Default::default()
        };
        let page = store.list_incidents(&ordered, None, 4).await.unwrap();
        assert_eq!(numbers(&page), found, "{order:?}");
        assert_eq!(page.next, None);
    }
    let by_status = IncidentFilter {
        order: IncidentOrder::Status,
        ..Default::default()
    };
    let page = store.list_incidents(&by_status, None, 50).await.unwrap();
    assert_eq!(
        numbers(&page)[8..],
        [3, 4],
        "acknowledged, then resolved, last"
    );

    // Search: by number ("#3"; a bare 3 is also any key or summary holding it), or a
    // part of the dedup key or summary, or the sender's beginning, letter case aside;
    // the words are taken literally.
    let search = |words: &str| IncidentFilter {
        search: Some(words.to_owned()),
        ..Default::default()
    };
    for (words, found) in [
        ("#3", vec![3]),
        ("3", vec![4, 3]),
        ("K7", vec![8]),
        ("DB01.ex", vec![10, 9, 8, 7, 6, 5, 4, 3, 2, 1]),
        ("x", vec![10, 9, 8, 7, 6, 5, 4, 3, 2, 1]),
        ("%", vec![]),
        ("k_", vec![]),
    ] {
        let page = store
            .list_incidents(&search(words), None, 50)
            .await
            .unwrap();
        assert_eq!(numbers(&page), found, "searching {words:?}");
    }

    // The live pages' "has anything changed?" moves with a change, and only then.
    let seen = store.incidents_version().await.unwrap();
    assert_eq!(store.incidents_version().await.unwrap(), seen);
    store
        .command_incident(
            by_number(IncidentNumber(1)),
            &Command::Acknowledge,
            &Acting::person(bob_actor.clone(), Via::Api),
            at_minute(30),
        )
        .await
        .unwrap();
    let acked = store.incidents_version().await.unwrap();
    assert_ne!(acked, seen);
    one(&store, trigger(a.key(), "new", "A new one", at_minute(31)))
        .await
        .unwrap();
    let opened = store.incidents_version().await.unwrap();
    assert_ne!(opened, acked);
    assert_eq!(opened.0, 11, "the newest number");
}

pub async fn timelines_paginate(db: &TestDb) {
    let store = db.store().await;
    let a = service(&store, "A", DedupMode::Open).await;
    for i in 0..7 {
        one(
            &store,
            trigger(a.key(), "k", &format!("event {i}"), at_minute(i)),
        )
        .await
        .unwrap();
    }
    let id = store
        .incident(by_number(IncidentNumber(1)))
        .await
        .unwrap()
        .id;
    let first = store.timeline(id, None, 3).await.unwrap();
    assert_eq!(first.entries.len(), 3);
    let second = store.timeline(id, first.next, 3).await.unwrap();
    let third = store.timeline(id, second.next, 3).await.unwrap();
    assert_eq!(third.entries.len(), 1);
    assert!(third.next.is_none());
    let summaries: Vec<_> = [first.entries, second.entries, third.entries]
        .concat()
        .iter()
        .map(|e| {
            e.event.as_ref().unwrap()["alert"]["summary"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let expected: Vec<_> = (0..7).map(|i| format!("event {i}")).collect();
    assert_eq!(summaries, expected);

    // The newest entries, oldest first, and whether earlier ones exist.
    let summary = |e: &onduty_core::incident::TimelineEntry| {
        e.event.as_ref().unwrap()["alert"]["summary"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (tail, earlier) = store.timeline_tail(id, 2).await.unwrap();
    assert_eq!(
        tail.iter().map(summary).collect::<Vec<_>>(),
        ["event 5", "event 6"]
    );
    assert!(earlier);
    let (all, earlier) = store.timeline_tail(id, 7).await.unwrap();
    assert_eq!(all.len(), 7);
    assert!(!earlier);
}

/// A list without a limit reads every incident's assignees, a few hundred per query (so
/// no statement nears SQLite's 32,766 parameters): the first and last incidents, read by
/// different queries, both keep theirs.
pub async fn a_list_without_a_limit_keeps_every_assignee(db: &TestDb) {
    let store = db.store().await;
    let web = service(&store, "Web", DedupMode::Open).await;
    let alice = user(&store, "Alice", Role::Responder).await;
    let alice = Actor::User {
        id: alice.id,
        name: alice.name.to_string(),
    };
    let many: Vec<Received> = (0..1201)
        .map(|i| trigger(web.key(), &format!("k{i}"), "down", at_minute(1)))
        .collect();
    store.ingest_batch(&many).await.unwrap();
    // The first and the last incident listed fall in different queries.
    for n in [1, 1201] {
        store
            .command_incident(
                by_number(IncidentNumber(n)),
                &Command::Acknowledge,
                &Acting::person(alice.clone(), Via::Api),
                at_minute(2),
            )
            .await
            .unwrap();
    }
    let all = store
        .list_incidents(&IncidentFilter::default(), None, u32::MAX)
        .await
        .unwrap();
    assert_eq!(all.incidents.len(), 1201);
    let assigned: Vec<i64> = all
        .incidents
        .iter()
        .filter(|i| !i.assignees.is_empty())
        .map(|i| i.number.0)
        .collect();
    assert_eq!(assigned, [1201, 1]);
}
