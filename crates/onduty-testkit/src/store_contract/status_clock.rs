//! What the clock does to status pages: a public incident left open after its onduty
//! incident is resolved is due reminders at the page's pace; a maintenance is due to
//! start and to complete.

use onduty_core::status_page::{
    Impact, IncidentStatus, MaintenanceStatus, Stage, Title, UpdateBody,
};
use onduty_store::status_pages::{NewStatusIncident, NewStatusPage, NewUpdate};

use super::status_pages::new_page;
use super::*;

fn new_incident(name: &str, stage: Stage, scheduled: Option<(i64, i64)>) -> NewStatusIncident {
    NewStatusIncident {
        name: Title::parse("name", name).unwrap(),
        impact: Impact::Minor,
        started_at: at_minute(0),
        scheduled: scheduled.map(|(from, until)| (at_minute(from), at_minute(until))),
        window: None,
        incident: None,
        by: Actor::System,
        draft: false,
        first: NewUpdate {
            stage,
            body: UpdateBody::parse("Told.").unwrap(),
            components: Vec::new(),
        },
    }
}

pub async fn forgotten_incidents_and_maintenance_follow_the_clock(db: &TestDb) {
    let store = db.store().await;
    let page = store
        .create_status_page(
            &NewStatusPage {
                remind_every_minutes: 60,
                ..new_page("acme", None)
            },
            at_minute(0),
        )
        .await
        .unwrap();
    let checkout = service(&store, "Checkout", DedupMode::Open).await;
    accepted(
        one(
            &store,
            trigger(checkout.key(), "pay", "errors", at_minute(0)),
        )
        .await,
    );
    let incident = store
        .incident(IncidentRef::Number(IncidentNumber(1)))
        .await
        .unwrap();
    let public = store
        .create_status_incident(
            page.id,
            &NewStatusIncident {
                incident: Some(incident.id),
                ..new_incident(
                    "Checkout errors",
                    Stage::Incident(IncidentStatus::Investigating),
                    None,
                )
            },
            at_minute(1),
        )
        .await
        .unwrap();
    assert!(
        store
            .due_status_reminders(at_minute(100))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .forgotten_status_incidents(3)
            .await
            .unwrap()
            .is_empty()
    );

    // Resolved in onduty at minute 5, not on the page.
    accepted(one(&store, resolve(checkout.key(), "pay", at_minute(5))).await);
    let forgotten = store.forgotten_status_incidents(3).await.unwrap();
    assert_eq!(forgotten.len(), 1);
    assert_eq!(
        (forgotten[0].name.as_str(), forgotten[0].page.as_str()),
        ("Checkout errors", "Acme")
    );
    assert_eq!(
        store.next_status_reminder().await.unwrap(),
        Some(at_minute(15))
    );
    assert!(
        store
            .due_status_reminders(at_minute(14))
            .await
            .unwrap()
            .is_empty()
    );
    let due = store.due_status_reminders(at_minute(15)).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].0.id, public.id);
    store
        .queue_status_reminders(
            &[onduty_store::status_links::StatusReminder {
                status_incident: public.id,
                user: None,
                methods: Vec::new(),
                text: "Resolve it.".to_owned(),
            }],
            at_minute(15),
        )
        .await
        .unwrap();
    // Then at the page's pace: an hour.
    assert_eq!(
        store.next_status_reminder().await.unwrap(),
        Some(at_minute(75))
    );
    assert!(
        store
            .due_status_reminders(at_minute(74))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .due_status_reminders(at_minute(75))
            .await
            .unwrap()
            .len(),
        1
    );

    // A maintenance from minute 200 to 260: due to start, then to complete.
    let maintenance = store
        .create_status_incident(
            page.id,
            &new_incident(
                "Database upgrade",
                Stage::Maintenance(MaintenanceStatus::Scheduled),
                Some((200, 260)),
            ),
            at_minute(100),
        )
        .await
        .unwrap();
    let moves = |now| {
        let store = store.clone();
        async move {
            store
                .due_maintenance_moves(now)
                .await
                .unwrap()
                .iter()
                .map(|m| m.id)
                .collect::<Vec<_>>()
        }
    };
    assert!(moves(at_minute(199)).await.is_empty());
    assert_eq!(moves(at_minute(200)).await, vec![maintenance.id]);
    let started = NewUpdate {
        stage: Stage::Maintenance(MaintenanceStatus::InProgress),
        body: UpdateBody::parse("Started.").unwrap(),
        components: vec![],
    };
    store
        .post_status_update(maintenance.id, &started, &Actor::System, at_minute(200))
        .await
        .unwrap();
    assert!(moves(at_minute(259)).await.is_empty());
    assert_eq!(
        store.next_maintenance_move().await.unwrap(),
        Some(at_minute(260))
    );
    assert_eq!(moves(at_minute(260)).await, vec![maintenance.id]);
    let done = NewUpdate {
        stage: Stage::Maintenance(MaintenanceStatus::Completed),
        body: UpdateBody::parse("Done.").unwrap(),
        components: vec![],
    };
    store
        .post_status_update(maintenance.id, &done, &Actor::System, at_minute(260))
        .await
        .unwrap();
    assert!(moves(at_minute(1000)).await.is_empty());
    assert_eq!(store.next_maintenance_move().await.unwrap(), None);
}
