//! Store contract: escalations, planned notifications, the outbox and the engine lease, as
//! the engine's stages use them.

use onduty_core::account::Role;
use onduty_core::contact::RuleUrgency;
use onduty_core::escalation::{Level, LevelMode, Policy, Steps, Target};
use onduty_core::incident::{Actor, DedupMode, IncidentStatus, TimelineKind};
use onduty_core::lifecycle::{Acting, Command, Via};
use onduty_core::paging::Effect;
use onduty_core::paging::{EscalationState, Line, NewMessage, PlannedNotification};
use onduty_core::{IncidentRef, PolicyId, Timestamp};
use onduty_store::Store;
use onduty_store::paging::{
    Delivery, DueEscalation, DueNotification, EscalationStep, OutboxItem, Release, SentGroup,
};
use onduty_store::services::ServicePatch;

use super::{accepted, number, one};
use crate::db::TestDb;
use crate::fixtures::{T0, at_minute, service, trigger, user, webhook};

async fn timeline_says(store: &Store, incident: onduty_core::IncidentId, text: &str) -> bool {
    store
        .timeline(incident, None, 100)
        .await
        .unwrap()
        .entries
        .iter()
        .any(|e| e.message == text)
}

async fn outbox_at(store: &Store, now: Timestamp) -> Vec<OutboxItem> {
    store.due_outbox(now, 10).await.unwrap()
}

async fn escalations_at(store: &Store, now: Timestamp) -> Vec<DueEscalation> {
    store.due_escalations(now, 10).await.unwrap()
}

async fn notifications_at(store: &Store, now: Timestamp) -> Vec<DueNotification> {
    store.due_notifications(now, 10).await.unwrap()
}

/// Records how sending `items` as one message went.
async fn record(
    store: &Store,
    items: Vec<OutboxItem>,
    delivery: Delivery,
    line: &str,
    now: Timestamp,
) {
    let group = SentGroup {
        items,
        delivery,
        line: line.to_owned(),
    };
    store.record_deliveries(&[group], now).await.unwrap();
}

pub async fn escalations_planned_notifications_and_the_outbox(db: &TestDb) {
    let store = db.store().await;
    let alice = user(&store, "Alice", Role::Responder).await;
    let hook = webhook(&store, alice.id).await;
    let later = store
        .create_rule(alice.id, hook.id, 5, RuleUrgency::Both, None, T0)
        .await
        .unwrap();
    let policy_id = PolicyId::new(T0);
    let policy = Policy {
        id: policy_id,
        name: onduty_core::account::Name::parse("Ops").unwrap(),
        description: String::new(),
        team_id: None,
        steps: Steps::parse(
            policy_id,
            vec![Level {
                targets: vec![Target::User(alice.id)],
                delay_minutes: 10,
                mode: LevelMode::All,
            }],
            0,
        )
        .unwrap(),
    };
    store.create_policy(&policy, T0).await.unwrap();
    let web = service(&store, "Web", DedupMode::Open).await;
    store
        .update_service(
            web.service.id,
            ServicePatch {
                policy_id: Some(Some(policy_id)),
                ..Default::default()
            },
            T0,
        )
        .await
        .unwrap();
    assert_eq!(store.next_paging_deadline().await.unwrap(), None);

    // A trigger starts the escalation, due at once.
    let opened = at_minute(1);
    let n =
        number(&accepted(one(&store, trigger(web.key(), "k", "site down", opened)).await).outcome);
    let incident = store.incident(IncidentRef::Number(n)).await.unwrap().id;
    assert!(escalations_at(&store, at_minute(0)).await.is_empty());
    let due = escalations_at(&store, opened).await;
    assert_eq!(due.len(), 1);
    assert_eq!(
        (
            due[0].incident,
            due[0].policy,
            due[0].position,
            due[0].status,
            due[0].next_at
        ),
        (incident, policy_id, None, IncidentStatus::Triggered, opened)
    );
    assert_eq!(store.next_paging_deadline().await.unwrap(), Some(opened));

    // The engine pages level 0: a message now, one planned for later, the next level in 10.
    let actor = Actor::System;
    let step = EscalationStep {
        incident,
        read_next_at: opened,
        effects: vec![
            Effect::Escalation(EscalationState {
                policy: Some(policy_id),
                level: Some(0),
                round: 0,
                hand_overs: 0,
                next_at: Some(at_minute(11)),
            }),
            Effect::SendNow(NewMessage {
                user: alice.id,
                contact_method: hook.id,
            }),
            Effect::PlanNotification(PlannedNotification {
                user: alice.id,
                rule: later.id,
                contact_method: hook.id,
                due_at: at_minute(6),
                responder: false,
            }),
            Effect::PlanNotification(PlannedNotification {
                user: alice.id,
                rule: later.id,
                contact_method: hook.id,
                due_at: at_minute(30),
                responder: false,
            }),
            Effect::Line(Line::new(
                opened,
                TimelineKind::Escalated,
                &actor,
                "Escalated to level 1 of Ops".into(),
            )),
        ],
    };
    assert_eq!(
        store
            .apply_escalations(vec![step.clone()], opened)
            .await
            .unwrap(),
        [incident]
    );
    assert!(escalations_at(&store, opened).await.is_empty());
    assert!(timeline_says(&store, incident, "Escalated to level 1 of Ops").await);
    // A step decided on a stale read changes nothing.
    assert_eq!(
        store.apply_escalations(vec![step], opened).await.unwrap(),
        []
    );
    let moved = escalations_at(&store, at_minute(11)).await;
    assert_eq!(
        moved[0].position.map(|p| (p.policy, p.level, p.round)),
        Some((policy_id, 0, 0))
    );

    // The outbox: the message is due at once; a rate limit moves it without an attempt.
    let outbox = outbox_at(&store, opened).await;
    assert_eq!(outbox.len(), 1);
    let item = &outbox[0];
    assert_eq!(
        (
            item.incident,
            item.number,
            item.summary.as_str(),
            item.user,
            item.user_name.as_str()
        ),
        (Some(incident), Some(n.0), "site down", alice.id, "Alice")
    );
    assert_eq!(
        (item.method.id, item.attempts, item.secret.as_deref()),
        (hook.id, 0, Some("whsec"))
    );
    let hold = onduty_store::paging::Hold {
        outbox: vec![item.id],
        incidents: item.incident.into_iter().collect(),
        until: at_minute(2),
        reason: "held for the number's gap".to_owned(),
    };
    store.hold_outbox(&[hold], opened).await.unwrap();
    assert!(timeline_says(&store, incident, "held for the number's gap").await);
    assert!(
        escalations_at(&store, at_minute(11)).await.is_empty(),
        "the level waits as long as its page was held"
    );
    assert_eq!(escalations_at(&store, at_minute(12)).await.len(), 1);
    assert!(outbox_at(&store, opened).await.is_empty());
    assert_eq!(
        store.next_paging_deadline().await.unwrap(),
        Some(at_minute(2))
    );
    let outbox = outbox_at(&store, at_minute(2)).await;
    assert_eq!(outbox[0].attempts, 0, "postponing is not an attempt");
    assert!(store.last_sent_to(&[hook.id]).await.unwrap().is_empty());
    record(
        &store,
        outbox,
        Delivery::Sent {
            provider_ref: Some("msg-1".into()),
            posts: Vec::new(),
        },
        "Sent a webhook to Alice",
        at_minute(2),
    )
    .await;
    assert!(outbox_at(&store, at_minute(60)).await.is_empty());
    assert_eq!(
        store.last_sent_to(&[hook.id]).await.unwrap().get(&hook.id),
        Some(&at_minute(2))
    );
    assert!(timeline_says(&store, incident, "Sent a webhook to Alice").await);

    // Planned notifications come due, become outbox rows once, and are retried.
    assert!(notifications_at(&store, at_minute(5)).await.is_empty());
    let due = notifications_at(&store, at_minute(6)).await;
    assert_eq!(due.len(), 1);
    assert_eq!(
        (
            due[0].incident,
            due[0].user,
            due[0].user_name.as_str(),
            due[0].status,
            due[0].responder
        ),
        (
            incident,
            alice.id,
            "Alice",
            IncidentStatus::Triggered,
            false
        )
    );
    assert_eq!(due[0].method.as_ref().map(|m| m.id), Some(hook.id));
    let release = Release {
        due: due[0].clone(),
        send: true,
        note: None,
    };
    store
        .release_notifications(std::slice::from_ref(&release), at_minute(6))
        .await
        .unwrap();
    store
        .release_notifications(&[release], at_minute(6))
        .await
        .unwrap();
    assert!(notifications_at(&store, at_minute(6)).await.is_empty());
    let outbox = outbox_at(&store, at_minute(6)).await;
    assert_eq!(
        outbox.len(),
        1,
        "a notification released twice is sent once"
    );
    record(
        &store,
        outbox,
        Delivery::Retry {
            error: "503".into(),
            retry_at: Some(at_minute(8)),
        },
        "The webhook failed; trying again",
        at_minute(6),
    )
    .await;
    assert!(outbox_at(&store, at_minute(7)).await.is_empty());
    let retried = outbox_at(&store, at_minute(8)).await;
    assert_eq!(retried[0].attempts, 1);
    record(
        &store,
        retried,
        Delivery::Refused {
            error: "410 Gone".into(),
        },
        "The webhook refused the message",
        at_minute(8),
    )
    .await;
    assert!(outbox_at(&store, at_minute(60)).await.is_empty());
    assert!(
        store
            .contact_method(hook.id)
            .await
            .unwrap()
            .failing
            .is_some(),
        "a refused message marks its contact method failing"
    );

    // Acknowledging stops it all: the next level (a minute later for the held page) and
    // the planned notification go.
    assert_eq!(
        store.next_paging_deadline().await.unwrap(),
        Some(at_minute(12))
    );
    let alice_actor = Actor::User {
        id: alice.id,
        name: "Alice".into(),
    };
    store
        .command_incident(
            IncidentRef::Id(incident),
            &Command::Acknowledge,
            &Acting::person(alice_actor, Via::Api),
            at_minute(9),
        )
        .await
        .unwrap();
    assert!(escalations_at(&store, at_minute(60)).await.is_empty());
    assert!(notifications_at(&store, at_minute(60)).await.is_empty());
    assert_eq!(store.next_paging_deadline().await.unwrap(), None);
}

pub async fn one_engine_holds_the_lease(db: &TestDb) {
    let store = db.store().await;
    let until = |t: Timestamp| t.saturating_add(std::time::Duration::from_secs(15));
    assert_eq!(store.lease_holder().await.unwrap(), None);
    assert!(store.acquire_lease("a", T0, until(T0)).await.unwrap());
    assert!(
        !store
            .acquire_lease("b", at_minute(0), until(T0))
            .await
            .unwrap()
    );
    assert_eq!(
        store.lease_holder().await.unwrap(),
        Some(("a".into(), until(T0)))
    );
    // The holder renews; another takes over only once it has expired.
    let renewed = until(until(T0));
    assert!(store.acquire_lease("a", until(T0), renewed).await.unwrap());
    assert!(
        !store
            .acquire_lease("b", until(T0), until(renewed))
            .await
            .unwrap()
    );
    // Free the moment it runs out: with instances looking every second, a dead holder
    // is replaced within the lease and a second.
    assert!(
        !store
            .acquire_lease("b", renewed, until(renewed))
            .await
            .unwrap()
    );
    let just_after = renewed.saturating_add(std::time::Duration::from_millis(1));
    assert!(
        store
            .acquire_lease("b", just_after, until(just_after))
            .await
            .unwrap()
    );
    assert!(
        store
            .acquire_lease("b", at_minute(1), until(at_minute(1)))
            .await
            .unwrap()
    );
    assert_eq!(store.lease_holder().await.unwrap().unwrap().0, "b");
    // Only the holder can give it up; then anyone takes it at once.
    store.release_lease("a").await.unwrap();
    assert_eq!(store.lease_holder().await.unwrap().unwrap().0, "b");
    store.release_lease("b").await.unwrap();
    assert_eq!(store.lease_holder().await.unwrap(), None);
    assert!(
        store
            .acquire_lease("a", at_minute(1), until(at_minute(1)))
            .await
            .unwrap()
    );
}
