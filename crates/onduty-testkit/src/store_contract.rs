//! The store contract: what every backend must do, as one suite. Each function gets a
//! fresh database; `tests/store_contract.rs` runs every function on every backend.

use std::collections::HashSet;

use onduty_core::account::{Email, Name, Role, TokenSecret};
use onduty_core::batch::{Accepted, ItemResult, Outcome, Received, Rejected};
use onduty_core::event::Act;
use onduty_core::incident::{Actor, DedupMode, IncidentStatus, TimelineKind};
use onduty_core::lifecycle::{Acting, Command, Refused, Via};
use onduty_core::{DedupKey, IncidentNumber, IncidentRef};
use onduty_store::incidents::IncidentFilter;
use onduty_store::services::{NewService, ServicePatch};
use onduty_store::users::{NewUser, UserPatch};
use onduty_store::{Store, StoreError};

use crate::db::TestDb;

mod paging;
use crate::fixtures::{
    T0, acknowledge, at_minute, change, resolve, routing_key_for, service, trigger, user, webhook,
};
pub use paging::{escalations_planned_notifications_and_the_outbox, one_engine_holds_the_lease};

/// Applies one event and returns what it did.
pub async fn one(store: &Store, item: Received) -> ItemResult {
    store
        .ingest_batch(&[item])
        .await
        .expect("ingest")
        .pop()
        .unwrap()
}

fn accepted(r: ItemResult) -> Accepted {
    r.expect("accepted")
}

fn number(outcome: &Outcome) -> IncidentNumber {
    match outcome {
        Outcome::Opened(t)
        | Outcome::Appended(t)
        | Outcome::Acknowledged(t)
        | Outcome::AlreadyAcknowledged(t) => t.number,
        Outcome::Resolved(ts) => ts[0].number,
        other => panic!("no incident in {other:?}"),
    }
}

fn by_number(n: IncidentNumber) -> IncidentRef {
    IncidentRef::Number(n)
}

pub async fn migrations_are_idempotent(db: &TestDb) {
    let store = db.store().await;
    store.migrate().await.expect("migrating twice is harmless");
    store.ping().await.expect("ping");
    let again = db.store().await;
    assert_eq!(again.count_users().await.unwrap(), 0);
}

pub async fn users_and_tokens(db: &TestDb) {
    let store = db.store().await;
    let alice = user(&store, "Alice", Role::Admin).await;
    assert_eq!(store.count_users().await.unwrap(), 1);
    let dup = store
        .create_user(
            NewUser {
                email: Email::parse("ALICE@example.com").unwrap(),
                name: Name::parse("Other Alice").unwrap(),
                role: Role::Observer,
                time_zone: onduty_core::account::TimeZoneName::utc(),
            },
            T0,
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(m)) if m.contains("alice@example.com")));

    let secret = TokenSecret::from_random([42; 20]);
    store
        .create_token(alice.id, "laptop", &secret, T0)
        .await
        .unwrap();
    let found = store
        .user_by_token(&TokenSecret::from_presented(secret.expose()))
        .await
        .unwrap();
    assert_eq!(found.map(|u| u.id), Some(alice.id));
    let wrong = store
        .user_by_token(&TokenSecret::from_random([43; 20]))
        .await
        .unwrap();
    assert!(wrong.is_none());
    assert_eq!(store.user(alice.id).await.unwrap().role, Role::Admin);
    assert_eq!(
        store
            .user_by_email(&Email::parse("alice@example.com").unwrap())
            .await
            .unwrap()
            .unwrap()
            .id,
        alice.id
    );
    assert_eq!(store.list_users().await.unwrap().len(), 1);

    // An address can change, but not to someone else's.
    let bob = user(&store, "Bob", Role::Responder).await;
    let moved = store
        .update_user(
            alice.id,
            UserPatch {
                email: Some(Email::parse("alice@example.org").unwrap()),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(moved.email.as_str(), "alice@example.org");
    let taken = store
        .update_user(
            alice.id,
            UserPatch {
                email: Some(bob.email.clone()),
                ..UserPatch::default()
            },
        )
        .await;
    assert!(matches!(taken, Err(StoreError::Conflict(m)) if m.contains("bob@example.com")));
    assert_eq!(
        store.user(alice.id).await.unwrap().email.as_str(),
        "alice@example.org"
    );
}

pub async fn services_and_integrations(db: &TestDb) {
    let store = db.store().await;
    let checkout = service(&store, "Checkout", DedupMode::Open).await;
    let dup = store
        .create_service(
            NewService {
                name: Name::parse("Checkout").unwrap(),
                description: String::new(),
                dedup_mode: DedupMode::Open,
                settings: Default::default(),
            },
            T0,
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(m)) if m.contains("Checkout")));

    let found = store
        .integration_by_routing_key(checkout.key())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.service_id, checkout.service.id);
    assert!(
        store
            .integration_by_routing_key(&routing_key_for("nope"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .list_integrations(checkout.service.id)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store.integration(found.id).await.unwrap().name.as_str(),
        "Prometheus"
    );
    // An integration keeps its kind and how it reads what it receives.
    let grouped = store
        .create_integration(
            onduty_store::services::NewIntegration {
                service_id: checkout.service.id,
                name: Name::parse("Alertmanager").unwrap(),
                kind: onduty_core::service::IntegrationKind::Alertmanager,
                settings: onduty_core::service::IntegrationSettings {
                    group_by: onduty_core::alertmanager::GroupBy::Group,
                    mapping: None,
                    mail: None,
                },
                routing_key: routing_key_for("grouped"),
            },
            T0,
        )
        .await
        .unwrap();
    let read = store
        .integration_by_routing_key(&routing_key_for("grouped"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read, grouped);
    assert_eq!(
        read.settings.group_by,
        onduty_core::alertmanager::GroupBy::Group
    );
    assert_eq!(
        found.settings,
        Default::default(),
        "older integrations read as before"
    );
    // Settings can be replaced, a JSON webhook's mapping with them.
    let mapping: onduty_core::webhook::Mapping = serde_json::from_value(
        serde_json::json!({"summary": "/title", "actions": {"ok": "resolve"}}),
    )
    .unwrap();
    let changed = store
        .set_integration_settings(
            grouped.id,
            &onduty_core::service::IntegrationSettings {
                mapping: Some(mapping.clone()),
                ..read.settings.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.settings.mapping, Some(mapping));
    assert_eq!(
        changed.settings.group_by,
        onduty_core::alertmanager::GroupBy::Group
    );

    let updated = store
        .update_service(
            checkout.service.id,
            ServicePatch {
                dedup_mode: Some(DedupMode::Triggered),
                ..Default::default()
            },
            at_minute(1),
        )
        .await
        .unwrap();
    assert_eq!(updated.dedup_mode, DedupMode::Triggered);
    assert_eq!(updated.name.as_str(), "Checkout");
    assert_eq!(
        store.service(checkout.service.id).await.unwrap().updated_at,
        at_minute(1)
    );
    assert_eq!(
        store.service_by_name("Checkout").await.unwrap().unwrap().id,
        checkout.service.id
    );
    assert_eq!(store.list_services().await.unwrap().len(), 1);

    let missing = store.service(onduty_core::ServiceId::new(T0)).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))));
}

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
        .add_note(by_number(IncidentNumber(999)), "x", &alice_actor, T0)
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

    let counts = store.count_incidents_by_status().await.unwrap();
    assert_eq!(counts.get(&IncidentStatus::Triggered), Some(&8));
    assert_eq!(counts.get(&IncidentStatus::Resolved), Some(&1));

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

/// Two instances on one database race on the same dedup keys: every event is applied
/// exactly once and each key still has one open incident.
pub async fn two_writers_racing_keep_one_open_incident_per_key(db: &TestDb) {
    let a = db.store().await;
    let b = db.store().await;
    let svc = service(&a, "Shared", DedupMode::Open).await;
    let key = svc.key().clone();
    let mut tasks = Vec::new();
    for (w, store) in [a.clone(), b.clone()].into_iter().enumerate() {
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            for round in 0..15 {
                let batch: Vec<_> = (0..4)
                    .map(|k| {
                        trigger(
                            &key,
                            &format!("k{k}"),
                            &format!("w{w} r{round}"),
                            at_minute(round),
                        )
                    })
                    .collect();
                let results = store
                    .ingest_batch(&batch)
                    .await
                    .expect("a racing batch succeeds");
                assert!(results.iter().all(|r| r.is_ok()));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let page = a
        .list_incidents(&IncidentFilter::default(), None, 100)
        .await
        .unwrap();
    assert_eq!(page.incidents.len(), 4, "one incident per key");
    let total: i64 = page.incidents.iter().map(|i| i.alert_count).sum();
    assert_eq!(total, 2 * 15 * 4, "every event counted once");
    let numbers: HashSet<_> = page.incidents.iter().map(|i| i.number).collect();
    assert_eq!(numbers.len(), 4);
}

/// What was committed is there after the store is closed and opened again.
pub async fn committed_events_survive_reopening(db: &TestDb) {
    let store = db.store().await;
    let svc = service(&store, "Durable", DedupMode::Open).await;
    for i in 0..20 {
        one(
            &store,
            trigger(svc.key(), &format!("k{}", i % 5), "x", at_minute(i)),
        )
        .await
        .unwrap();
    }
    store.close().await;
    let reopened = db.store().await;
    let page = reopened
        .list_incidents(&IncidentFilter::default(), None, 100)
        .await
        .unwrap();
    assert_eq!(page.incidents.len(), 5);
    assert_eq!(
        page.incidents.iter().map(|i| i.alert_count).sum::<i64>(),
        20
    );
    let next = accepted(one(&reopened, trigger(svc.key(), "new", "x", at_minute(30))).await);
    assert_eq!(
        number(&next.outcome),
        IncidentNumber(6),
        "numbering continues"
    );
}

/// SQLite's upkeep step copies the write-ahead log into the database without losing or
/// blocking anything; on PostgreSQL it does nothing.
pub async fn checkpoints_copy_the_log_and_lose_nothing(db: &TestDb) {
    let store = db.store().await;
    let svc = service(&store, "Upkeep", DedupMode::Open).await;
    for i in 0..30 {
        one(
            &store,
            trigger(svc.key(), &format!("k{}", i % 3), "x", at_minute(i)),
        )
        .await
        .unwrap();
    }
    let done = store.checkpoint().await.unwrap();
    match db.backend {
        onduty_store::Backend::Sqlite => {
            assert!(done.log_frames > 0, "the log had pages: {done:?}");
            assert_eq!(done.copied_frames, done.log_frames, "all copied: {done:?}");
        }
        onduty_store::Backend::Postgres => assert_eq!(done, onduty_store::Checkpoint::default()),
    }
    one(&store, trigger(svc.key(), "k0", "after", at_minute(40)))
        .await
        .unwrap();
    let page = store
        .list_incidents(&IncidentFilter::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(
        page.incidents.iter().map(|i| i.alert_count).sum::<i64>(),
        31
    );
}

pub async fn teams_policies_and_paging_settings(db: &TestDb) {
    use onduty_core::escalation::{Level, LevelMode, Policy, Steps, Target};
    use onduty_core::service::ServiceUrgency;
    use onduty_core::{PolicyId, account::TimeZoneName};

    let store = db.store().await;
    let alice = user(&store, "Alice", Role::Responder).await;
    let bob = user(&store, "Bob", Role::Responder).await;

    // Teams and members.
    let ops = store
        .create_team(Name::parse("Ops").unwrap(), T0)
        .await
        .unwrap();
    let dup = store.create_team(Name::parse("Ops").unwrap(), T0).await;
    assert!(matches!(dup, Err(StoreError::Conflict(m)) if m.contains("Ops")));
    store.add_team_member(ops.id, alice.id).await.unwrap();
    store.add_team_member(ops.id, alice.id).await.unwrap();
    store.add_team_member(ops.id, bob.id).await.unwrap();
    assert_eq!(store.team("Ops").await.unwrap().members.len(), 2);
    assert!(store.remove_team_member(ops.id, bob.id).await.unwrap());
    assert!(!store.remove_team_member(ops.id, bob.id).await.unwrap());
    assert_eq!(store.list_teams().await.unwrap()[0].members, vec![alice.id]);

    // Policies.
    let support_id = PolicyId::new(T0);
    let ops_id = PolicyId::new(at_minute(1));
    let ops_policy = Policy {
        id: ops_id,
        name: Name::parse("Ops").unwrap(),
        description: String::new(),
        team_id: Some(ops.id),
        steps: Steps::parse(
            ops_id,
            vec![Level {
                targets: vec![Target::User(alice.id)],
                delay_minutes: 30,
                mode: LevelMode::All,
            }],
            1,
        )
        .unwrap(),
    };
    store.create_policy(&ops_policy, T0).await.unwrap();
    let support = Policy {
        id: support_id,
        name: Name::parse("Support").unwrap(),
        description: "first line".into(),
        team_id: None,
        steps: Steps::parse(
            support_id,
            vec![
                Level {
                    targets: vec![Target::User(bob.id)],
                    delay_minutes: 15,
                    mode: LevelMode::All,
                },
                Level {
                    targets: vec![Target::Policy(ops_id)],
                    delay_minutes: 30,
                    mode: LevelMode::All,
                },
            ],
            0,
        )
        .unwrap(),
    };
    store.create_policy(&support, T0).await.unwrap();
    assert_eq!(store.policy(support_id).await.unwrap(), support);
    assert_eq!(
        store
            .policy_by_name("Ops")
            .await
            .unwrap()
            .unwrap()
            .steps
            .repeat(),
        1
    );
    assert_eq!(store.list_policies().await.unwrap().len(), 2);
    let dup = store
        .create_policy(
            &Policy {
                id: PolicyId::new(at_minute(2)),
                ..support.clone()
            },
            T0,
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))));
    let mut renamed = support.clone();
    renamed.name = Name::parse("First line").unwrap();
    store.update_policy(&renamed, at_minute(3)).await.unwrap();
    assert_eq!(
        store.policy(support_id).await.unwrap().name.as_str(),
        "First line"
    );

    // A service pages through a policy, with its own urgency and timeouts.
    let svc = service(&store, "Shop", DedupMode::Open).await;
    let updated = store
        .update_service(
            svc.service.id,
            ServicePatch {
                team_id: Some(Some(ops.id)),
                policy_id: Some(Some(support_id)),
                urgency: Some(ServiceUrgency::Severity),
                ack_timeout_minutes: Some(Some(30)),
                auto_resolve_minutes: Some(Some(240)),
                ..Default::default()
            },
            at_minute(4),
        )
        .await
        .unwrap();
    assert_eq!(updated.settings.policy_id, Some(support_id));
    assert_eq!(
        store.service(svc.service.id).await.unwrap().settings,
        updated.settings
    );

    // Policies in use cannot be deleted.
    let used = store.delete_policy(support_id).await;
    assert!(
        matches!(used, Err(StoreError::Conflict(m)) if m.contains("Shop")),
        "used by a service"
    );
    let handed_over_to = store.delete_policy(ops_id).await;
    assert!(
        matches!(handed_over_to, Err(StoreError::Conflict(m)) if m.contains("First line")),
        "a hand-over target"
    );
    store
        .update_service(
            svc.service.id,
            ServicePatch {
                policy_id: Some(None),
                ack_timeout_minutes: Some(None),
                ..Default::default()
            },
            at_minute(5),
        )
        .await
        .unwrap();
    let cleared = store.service(svc.service.id).await.unwrap().settings;
    assert_eq!(
        (
            cleared.policy_id,
            cleared.ack_timeout_minutes,
            cleared.auto_resolve_minutes
        ),
        (None, None, Some(240))
    );
    store.delete_policy(support_id).await.unwrap();
    assert!(matches!(
        store.policy(support_id).await,
        Err(StoreError::NotFound(_))
    ));

    // Urgency follows the service's setting: severity here.
    let high = accepted(one(&store, trigger(svc.key(), "db", "down", at_minute(6))).await);
    assert_eq!(
        store
            .incident(by_number(number(&high.outcome)))
            .await
            .unwrap()
            .urgency,
        onduty_core::contact::Urgency::High
    );

    // Time zones.
    assert_eq!(alice.time_zone, TimeZoneName::utc());
    let moved = store
        .update_user(
            alice.id,
            UserPatch {
                time_zone: Some(TimeZoneName::parse("Europe/London").unwrap()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.user(alice.id).await.unwrap().time_zone,
        moved.time_zone
    );
}

pub async fn contact_methods_verification_and_rules(db: &TestDb) {
    use onduty_core::contact::{Address, Channel, RuleUrgency, hash_code};
    use onduty_store::contacts::{NewContactMethod, Verification};

    let store = db.store().await;
    let alice = user(&store, "Alice", Role::Responder).await;
    let phone = store
        .create_contact_method(
            NewContactMethod {
                user_id: alice.id,
                name: "mobile".into(),
                channel: Channel::Sms,
                address: Address::parse(Channel::Sms, "+44 7700 900123").unwrap(),
                secret: None,
            },
            T0,
        )
        .await
        .unwrap();
    assert!(
        !phone.verified && !phone.can_page(),
        "SMS waits for its code"
    );
    let dup = store
        .create_contact_method(
            NewContactMethod {
                user_id: alice.id,
                name: "again".into(),
                channel: Channel::Sms,
                address: Address::parse(Channel::Sms, "+447700900123").unwrap(),
                secret: None,
            },
            T0,
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))));
    let hook = webhook(&store, alice.id).await;
    assert!(hook.can_page(), "a webhook needs no code");
    assert_eq!(
        store
            .contact_method_secret(hook.id)
            .await
            .unwrap()
            .as_deref(),
        Some("whsec")
    );

    // Verification: no code yet, wrong codes, expiry, then the right code.
    assert_eq!(
        store
            .verify_contact_method(phone.id, &hash_code("1"), T0)
            .await
            .unwrap(),
        Verification::NoCode
    );
    store
        .set_verification_code(phone.id, &hash_code("424242"), at_minute(15))
        .await
        .unwrap();
    assert_eq!(
        store
            .verify_contact_method(phone.id, &hash_code("000000"), at_minute(1))
            .await
            .unwrap(),
        Verification::Wrong { attempts_left: 4 }
    );
    assert_eq!(
        store
            .verify_contact_method(phone.id, &hash_code("424242"), at_minute(16))
            .await
            .unwrap(),
        Verification::Expired
    );
    assert_eq!(
        store
            .verify_contact_method(phone.id, &hash_code("424242"), at_minute(2))
            .await
            .unwrap(),
        Verification::Verified
    );
    assert!(store.contact_method(phone.id).await.unwrap().can_page());
    // Five wrong codes use a code up.
    store
        .set_verification_code(phone.id, &hash_code("111111"), at_minute(30))
        .await
        .unwrap();
    for _ in 0..5 {
        store
            .verify_contact_method(phone.id, &hash_code("999999"), at_minute(3))
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .verify_contact_method(phone.id, &hash_code("111111"), at_minute(3))
            .await
            .unwrap(),
        Verification::NoCode
    );

    // Failing methods do not page until cleared.
    store
        .set_contact_method_failing(phone.id, Some("21211 invalid number"))
        .await
        .unwrap();
    assert!(!store.contact_method(phone.id).await.unwrap().can_page());
    store
        .set_contact_method_failing(phone.id, None)
        .await
        .unwrap();
    assert!(store.contact_method(phone.id).await.unwrap().can_page());

    // Rules, earliest first; they go with their method.
    store
        .create_rule(alice.id, phone.id, 5, RuleUrgency::High, T0)
        .await
        .unwrap();
    store
        .create_rule(alice.id, hook.id, 0, RuleUrgency::Both, T0)
        .await
        .unwrap();
    let rules = store.rules(alice.id).await.unwrap();
    assert_eq!(
        rules.iter().map(|r| r.delay_minutes).collect::<Vec<_>>(),
        [0, 5]
    );
    let bob = user(&store, "Bob", Role::Responder).await;
    let foreign = store
        .create_rule(bob.id, phone.id, 0, RuleUrgency::Both, T0)
        .await;
    assert!(
        matches!(foreign, Err(StoreError::NotFound(_))),
        "rules use the user's own methods"
    );
    store
        .delete_contact_method(alice.id, phone.id)
        .await
        .unwrap();
    assert_eq!(store.rules(alice.id).await.unwrap().len(), 1);
    assert_eq!(store.contact_methods(alice.id).await.unwrap().len(), 1);
    store.delete_rule(alice.id, rules[0].id).await.unwrap();
    assert!(store.rules(alice.id).await.unwrap().is_empty());
}

pub async fn schedules_overrides_and_calendar_secrets(db: &TestDb) {
    use onduty_core::account::TimeZoneName;
    use onduty_core::escalation::{Level, LevelMode, Policy, Steps, Target};
    use onduty_core::schedule::{Layer, Override, Schedule, ShiftLength, Window};
    use onduty_core::{OverrideId, PolicyId, ScheduleId};

    let store = db.store().await;
    let alice = user(&store, "Alice", Role::Responder).await;
    let bob = user(&store, "Bob", Role::Responder).await;
    let mut rota = Schedule {
        id: ScheduleId::new(T0),
        name: Name::parse("Ops rota").unwrap(),
        description: String::new(),
        time_zone: TimeZoneName::parse("Europe/London").unwrap(),
        team_id: None,
        layers: vec![Layer {
            name: "Primary".to_owned(),
            participants: vec![alice.id, bob.id],
            start: "2026-06-01T09:00".parse().unwrap(),
            shift: ShiftLength::Weeks(1),
            restrictions: Vec::new(),
        }],
    };
    store.create_schedule(&rota, T0).await.unwrap();
    let same_name = Schedule {
        id: ScheduleId::new(at_minute(1)),
        ..rota.clone()
    };
    let taken = store.create_schedule(&same_name, T0).await;
    assert!(matches!(taken, Err(StoreError::Conflict(m)) if m.contains("Ops rota")));
    assert_eq!(store.schedule(rota.id).await.unwrap(), rota);
    assert_eq!(
        store
            .schedule_by_name("Ops rota")
            .await
            .unwrap()
            .unwrap()
            .id,
        rota.id
    );
    assert_eq!(store.list_schedules().await.unwrap(), vec![rota.clone()]);
    // A change made by another instance is seen (listing keeps what it parsed until the
    // schedule's revision moves).
    let other = db.store().await;
    rota.layers[0].shift = ShiftLength::Days(1);
    other.update_schedule(&rota, at_minute(2)).await.unwrap();
    assert_eq!(store.list_schedules().await.unwrap(), vec![rota.clone()]);
    let second = Schedule {
        id: ScheduleId::new(at_minute(3)),
        name: Name::parse("Another rota").unwrap(),
        ..rota.clone()
    };
    other.create_schedule(&second, at_minute(3)).await.unwrap();
    let names: Vec<String> = store
        .list_schedules()
        .await
        .unwrap()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(names, ["Another rota", "Ops rota"]);
    other.delete_schedule(second.id).await.unwrap();
    assert_eq!(store.list_schedules().await.unwrap(), vec![rota.clone()]);

    // Overrides: only those overlapping the window come back.
    let cover = |n: u8, from: i64, to: i64| Override {
        id: OverrideId::new(at_minute(n.into())),
        user: bob.id,
        start: at_minute(from),
        end: at_minute(to),
        created_at: at_minute(n.into()),
    };
    let early = cover(3, 100, 200);
    let late = cover(4, 300, 400);
    store.add_override(rota.id, &early).await.unwrap();
    store.add_override(rota.id, &late).await.unwrap();
    let window = Window::new(at_minute(150), at_minute(250)).unwrap();
    assert_eq!(
        store.overrides(rota.id, Some(window)).await.unwrap(),
        vec![early.clone()]
    );
    assert_eq!(store.overrides(rota.id, None).await.unwrap().len(), 2);
    let everywhere = store
        .all_overrides(Window::new(at_minute(0), at_minute(1000)).unwrap())
        .await
        .unwrap();
    assert_eq!(everywhere[&rota.id].len(), 2);
    let moved = Override {
        user: alice.id,
        start: at_minute(500),
        end: at_minute(600),
        ..late.clone()
    };
    store.update_override(rota.id, &moved).await.unwrap();
    assert_eq!(
        store.overrides(rota.id, None).await.unwrap()[1].user,
        alice.id
    );
    store.delete_override(rota.id, early.id).await.unwrap();
    assert!(matches!(
        store.delete_override(rota.id, early.id).await,
        Err(StoreError::NotFound(_))
    ));

    // Calendar secrets: found by their secret, replaced on rotation.
    let secret = store.schedule_feed_token(rota.id).await.unwrap();
    assert_eq!(
        store
            .schedule_by_feed_token(&secret)
            .await
            .unwrap()
            .unwrap()
            .id,
        rota.id
    );
    let rotated = store.rotate_schedule_feed_token(rota.id).await.unwrap();
    assert_ne!(rotated, secret);
    assert!(
        store
            .schedule_by_feed_token(&secret)
            .await
            .unwrap()
            .is_none()
    );
    let mine = store.user_feed_token(alice.id).await.unwrap();
    assert_eq!(
        store.user_feed_token(alice.id).await.unwrap(),
        mine,
        "stable"
    );
    assert_eq!(
        store.user_by_feed_token(&mine).await.unwrap(),
        Some(alice.id)
    );
    let fresh = store.rotate_user_feed_token(alice.id).await.unwrap();
    assert_ne!(fresh, mine);
    assert_eq!(store.user_by_feed_token(&mine).await.unwrap(), None);

    // A schedule a policy pages cannot be deleted; otherwise it goes with its overrides.
    let ops = Policy {
        id: PolicyId::new(T0),
        name: Name::parse("Ops").unwrap(),
        description: String::new(),
        team_id: None,
        steps: Steps::parse(
            PolicyId::new(T0),
            vec![Level {
                targets: vec![Target::Schedule(rota.id)],
                delay_minutes: 30,
                mode: LevelMode::All,
            }],
            0,
        )
        .unwrap(),
    };
    store.create_policy(&ops, T0).await.unwrap();
    let refused = store.delete_schedule(rota.id).await;
    assert!(matches!(refused, Err(StoreError::Conflict(m)) if m.contains("Ops")));
    store.delete_policy(ops.id).await.unwrap();
    store.delete_schedule(rota.id).await.unwrap();
    assert!(matches!(
        store.schedule(rota.id).await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn heartbeats_pings_and_deadlines(db: &TestDb) {
    use onduty_core::heartbeat::{Expect, Ping};
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
        .record_ping(made.id, Ping::Success, &long, at_minute(30))
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
        .record_ping(made.id, Ping::Exit(2), "boom", at_minute(501))
        .await
        .unwrap();
    assert_eq!(failed.was, HeartbeatState::Late);
    assert_eq!(failed.heartbeat.state, HeartbeatState::Failing);
    assert_eq!(failed.heartbeat.last_ping.as_deref(), Some("exit 2"));
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
            .record_ping(made.id, Ping::Fail, "", at)
            .await
            .unwrap();
        let (start, success) = tokio::join!(
            store.record_ping(made.id, Ping::Start, "", at),
            store.record_ping(made.id, Ping::Success, "", at),
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
