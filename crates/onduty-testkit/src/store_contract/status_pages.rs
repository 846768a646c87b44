//! Public status pages: components, public incidents, their updates and the states they
//! set, and scheduled maintenance.

use onduty_core::status_page::{
    ComponentStatus, Impact, IncidentStatus, MaintenanceStatus, Slug, Stage, Title, UpdateBody,
};
use onduty_store::status_pages::{NewComponent, NewStatusIncident, NewStatusPage, NewUpdate};

use super::*;

pub(super) fn new_page(slug: &str, host: Option<&str>) -> NewStatusPage {
    NewStatusPage {
        slug: Slug::parse(slug).unwrap(),
        name: Title::parse("name", "Acme").unwrap(),
        host: host.map(str::to_owned),
        time_zone: "Europe/London".to_owned(),
        auto_publish: false,
        remind_every_minutes: 30,
    }
}

pub(super) fn new_component(name: &str) -> NewComponent {
    NewComponent {
        name: Title::parse("name", name).unwrap(),
        description: String::new(),
        group: None,
        is_group: false,
        status: ComponentStatus::Operational,
        only_show_if_degraded: false,
        service: None,
    }
}

fn update(
    stage: Stage,
    body: &str,
    components: &[(onduty_core::ComponentId, ComponentStatus)],
) -> NewUpdate {
    NewUpdate {
        stage,
        body: UpdateBody::parse(body).unwrap(),
        components: components.to_vec(),
    }
}

pub async fn status_pages_components_and_public_incidents(db: &TestDb) {
    let store = db.store().await;
    let page = store
        .create_status_page(&new_page("acme", Some("status.acme.test")), at_minute(0))
        .await
        .unwrap();
    assert_eq!(store.status_page_by_slug("acme").await.unwrap(), page);
    assert_eq!(
        store.status_page_by_host("status.acme.test").await.unwrap(),
        page
    );
    assert!(matches!(
        store
            .create_status_page(&new_page("acme", None), at_minute(0))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.status_page_by_slug("nope").await,
        Err(StoreError::NotFound(_))
    ));

    // Components in the order they were added; a group holds some.
    let api = store
        .create_component(page.id, &new_component("API"), at_minute(1))
        .await
        .unwrap();
    let group = store
        .create_component(
            page.id,
            &NewComponent {
                is_group: true,
                ..new_component("Regions")
            },
            at_minute(1),
        )
        .await
        .unwrap();
    let eu = store
        .create_component(
            page.id,
            &NewComponent {
                group: Some(group.id),
                ..new_component("EU")
            },
            at_minute(1),
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_component(
                page.id,
                &NewComponent {
                    group: Some(api.id),
                    ..new_component("US")
                },
                at_minute(1)
            )
            .await,
        Err(StoreError::Invalid(_))
    ));
    let listed = store.components(page.id).await.unwrap();
    assert_eq!(
        listed.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["API", "Regions", "EU"]
    );
    assert_eq!(listed[2].group, Some(group.id));

    // An incident sets the states of the components it names, and says what they were.
    let opened = store
        .create_status_incident(
            page.id,
            &NewStatusIncident {
                name: Title::parse("name", "Slow checkouts").unwrap(),
                impact: Impact::Major,
                started_at: at_minute(2),
                scheduled: None,
                window: None,
                incident: None,
                by: onduty_core::incident::Actor::System,
                draft: false,
                first: update(
                    Stage::Incident(IncidentStatus::Investigating),
                    "We are looking into slow checkouts.",
                    &[(api.id, ComponentStatus::PartialOutage)],
                ),
            },
            at_minute(3),
        )
        .await
        .unwrap();
    assert_eq!(opened.components, vec![api.id]);
    assert_eq!(opened.updates.len(), 1);
    assert_eq!(opened.updates[0].affected[0].old_status, "operational");
    assert_eq!(opened.updates[0].affected[0].new_status, "partial_outage");
    assert_eq!(
        store.component(api.id).await.unwrap().status,
        ComponentStatus::PartialOutage
    );
    assert_eq!(
        store.status_page(page.id).await.unwrap().updated_at,
        at_minute(3)
    );

    // A component of another page is refused, and nothing of that update is kept.
    let other = store
        .create_status_page(&new_page("other", None), at_minute(0))
        .await
        .unwrap();
    let foreign = store
        .create_component(other.id, &new_component("Web"), at_minute(1))
        .await
        .unwrap();
    let refused = store
        .post_status_update(
            opened.id,
            &update(
                Stage::Incident(IncidentStatus::Identified),
                "Found it.",
                &[
                    (eu.id, ComponentStatus::DegradedPerformance),
                    (foreign.id, ComponentStatus::MajorOutage),
                ],
            ),
            &onduty_core::incident::Actor::System,
            at_minute(4),
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::Invalid(_))),
        "{refused:?}"
    );
    assert_eq!(
        store.component(eu.id).await.unwrap().status,
        ComponentStatus::Operational
    );
    assert_eq!(
        store
            .status_incident(opened.id)
            .await
            .unwrap()
            .updates
            .len(),
        1
    );
    // A maintenance's status is not an incident's.
    let wrong = store
        .post_status_update(
            opened.id,
            &update(Stage::Maintenance(MaintenanceStatus::Verifying), "x", &[]),
            &onduty_core::incident::Actor::System,
            at_minute(4),
        )
        .await;
    assert!(matches!(wrong, Err(StoreError::Invalid(_))));

    // Monitoring, then resolved: the times are kept once, updates newest first, even
    // within one millisecond.
    store
        .post_status_update(
            opened.id,
            &update(
                Stage::Incident(IncidentStatus::Monitoring),
                "A fix is out.",
                &[],
            ),
            &onduty_core::incident::Actor::System,
            at_minute(5),
        )
        .await
        .unwrap();
    let resolved = store
        .post_status_update(
            opened.id,
            &update(
                Stage::Incident(IncidentStatus::Resolved),
                "All good.",
                &[(api.id, ComponentStatus::Operational)],
            ),
            &onduty_core::incident::Actor::System,
            at_minute(5),
        )
        .await
        .unwrap();
    assert_eq!(resolved.stage, Stage::Incident(IncidentStatus::Resolved));
    assert_eq!(resolved.monitoring_at, Some(at_minute(5)));
    assert_eq!(resolved.resolved_at, Some(at_minute(5)));
    assert_eq!(
        resolved
            .updates
            .iter()
            .map(|u| u.body.as_str())
            .collect::<Vec<_>>(),
        [
            "All good.",
            "A fix is out.",
            "We are looking into slow checkouts."
        ]
    );
    assert_eq!(
        store.component_changes(api.id, at_minute(0)).await.unwrap(),
        vec![
            (at_minute(1), ComponentStatus::Operational),
            (at_minute(3), ComponentStatus::PartialOutage),
            (at_minute(5), ComponentStatus::Operational),
        ]
    );
    // From a moment on: the state then, and what followed.
    assert_eq!(
        store.component_changes(api.id, at_minute(4)).await.unwrap(),
        vec![
            (at_minute(3), ComponentStatus::PartialOutage),
            (at_minute(5), ComponentStatus::Operational),
        ]
    );

    // A maintenance follows the clock; listed with the incidents, newest first.
    let maintenance = store
        .create_status_incident(
            page.id,
            &NewStatusIncident {
                name: Title::parse("name", "Database upgrade").unwrap(),
                impact: Impact::Maintenance,
                started_at: at_minute(60),
                scheduled: Some((at_minute(60), at_minute(120))),
                window: None,
                incident: None,
                by: onduty_core::incident::Actor::System,
                draft: false,
                first: update(
                    Stage::Maintenance(MaintenanceStatus::Scheduled),
                    "The database will be upgraded.",
                    &[(api.id, ComponentStatus::UnderMaintenance)],
                ),
            },
            at_minute(10),
        )
        .await
        .unwrap();
    assert!(maintenance.is_maintenance());
    // Announced, not begun: the component it names keeps its state for now.
    assert_eq!(maintenance.components, vec![api.id]);
    assert!(maintenance.updates[0].affected.is_empty());
    assert_eq!(
        store.component(api.id).await.unwrap().status,
        ComponentStatus::Operational
    );
    assert_eq!(
        maintenance.stage_at(at_minute(59)),
        Stage::Maintenance(MaintenanceStatus::Scheduled)
    );
    assert_eq!(
        maintenance.stage_at(at_minute(60)),
        Stage::Maintenance(MaintenanceStatus::InProgress)
    );
    assert_eq!(
        maintenance.stage_at(at_minute(120)),
        Stage::Maintenance(MaintenanceStatus::Completed)
    );
    let all = store.status_incidents(page.id, at_minute(0)).await.unwrap();
    assert_eq!(
        all.iter().map(|i| i.id).collect::<Vec<_>>(),
        [maintenance.id, opened.id]
    );
    // Older ones drop out of a later window unless they are not over.
    let recent = store.status_incidents(page.id, at_minute(6)).await.unwrap();
    assert_eq!(
        recent.iter().map(|i| i.id).collect::<Vec<_>>(),
        [maintenance.id]
    );
    assert!(
        store
            .status_incidents(other.id, at_minute(0))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn drafts_wait_for_a_person_and_publishing_sets_their_states(db: &TestDb) {
    let store = db.store().await;
    let checkout = service(&store, "Checkout", DedupMode::Open).await;
    let search = service(&store, "Search", DedupMode::Open).await;
    // An incident from before the component stood for the service is left alone.
    accepted(
        one(
            &store,
            trigger(checkout.key(), "old", "before", at_minute(0)),
        )
        .await,
    );
    let page = store
        .create_status_page(&new_page("acme", None), at_minute(1))
        .await
        .unwrap();
    let api = store
        .create_component(
            page.id,
            &NewComponent {
                service: Some(checkout.service.id),
                ..new_component("API")
            },
            at_minute(1),
        )
        .await
        .unwrap();
    assert!(store.due_status_drafts().await.unwrap().is_empty());
    accepted(
        one(
            &store,
            trigger(checkout.key(), "new", "pay-db-7 down", at_minute(2)),
        )
        .await,
    );
    accepted(
        one(
            &store,
            trigger(search.key(), "idx", "index stale", at_minute(2)),
        )
        .await,
    );
    let due = store.due_status_drafts().await.unwrap();
    assert_eq!(due.len(), 1, "{due:?}");
    assert_eq!(due[0].components, vec![(api.id, "API".to_owned())]);
    assert!(!due[0].auto_publish);

    let draft = store
        .create_status_incident(
            page.id,
            &NewStatusIncident {
                name: Title::parse("name", "Problems with API").unwrap(),
                impact: Impact::Major,
                started_at: at_minute(2),
                scheduled: None,
                window: None,
                incident: Some(due[0].incident),
                by: onduty_core::incident::Actor::System,
                draft: true,
                first: update(
                    Stage::Incident(IncidentStatus::Investigating),
                    "We are investigating problems with API.",
                    &[(api.id, ComponentStatus::PartialOutage)],
                ),
            },
            at_minute(2),
        )
        .await
        .unwrap();
    assert!(draft.draft);
    assert!(
        store.due_status_drafts().await.unwrap().is_empty(),
        "drafted once"
    );
    assert_eq!(
        store.component(api.id).await.unwrap().status,
        ComponentStatus::Operational
    );
    assert!(
        store
            .published_status_incidents(page.id, at_minute(0))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .status_incidents(page.id, at_minute(0))
            .await
            .unwrap()
            .len(),
        1
    );

    let published = store
        .publish_status_draft(
            draft.id,
            &onduty_core::incident::Actor::System,
            at_minute(3),
        )
        .await
        .unwrap();
    assert!(!published.draft);
    assert_eq!(
        store.component(api.id).await.unwrap().status,
        ComponentStatus::PartialOutage
    );
    assert_eq!(
        store
            .published_status_incidents(page.id, at_minute(0))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(matches!(
        store
            .publish_status_draft(
                draft.id,
                &onduty_core::incident::Actor::System,
                at_minute(4)
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    // Its onduty incident's timeline says what was published.
    let timeline = store.timeline_tail(due[0].incident, 100).await.unwrap().0;
    assert!(
        timeline
            .iter()
            .any(|e| e.kind == TimelineKind::Published && e.message.contains("Problems with API"))
    );
}
