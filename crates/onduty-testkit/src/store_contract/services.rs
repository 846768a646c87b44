//! Store contract: services, integrations, teams, escalation policies, paging settings.

use super::*;

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
                draft_postmortems: true,
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
