//! Subscribers of a status page: double opt-in, the news each hears of queued with the
//! news itself, deliveries retried and recorded, unsubscribing.

use onduty_core::status_page::{ComponentStatus, IncidentStatus, Stage, Title, UpdateBody};
use onduty_core::subscriber::{SubscriberToken, Subscription};
use onduty_store::status_pages::{NewStatusIncident, NewUpdate};

use super::status_pages::new_component;
use onduty_store::status_subscribers::{DeliveryResult, NewSubscriber, Subscribed, Telling};

use super::status_pages::new_page;
use super::*;

fn subscriber(
    page: onduty_core::StatusPageId,
    subscription: Subscription,
    token: u8,
    components: Vec<onduty_core::ComponentId>,
) -> NewSubscriber {
    let webhook = matches!(subscription, Subscription::Webhook(_));
    NewSubscriber {
        page,
        subscription,
        secret: webhook.then(|| "whsec_test".to_owned()),
        token: SubscriberToken::from_random([token; 32]),
        components,
        confirmed: webhook,
    }
}

pub async fn subscribers_confirm_hear_their_news_and_leave(db: &TestDb) {
    let store = db.store().await;
    let page = store
        .create_status_page(&new_page("acme", None), at_minute(0))
        .await
        .unwrap();
    let api = store
        .create_component(page.id, &new_component("API"), at_minute(0))
        .await
        .unwrap();
    let web = store
        .create_component(page.id, &new_component("Website"), at_minute(0))
        .await
        .unwrap();

    // Ann asks for everything; Bob for the website only; a webhook for the API.
    let ann = Subscription::parse("email", "ann@example.com").unwrap();
    let said = store
        .subscribe(&subscriber(page.id, ann.clone(), 1, vec![]), at_minute(1))
        .await
        .unwrap();
    let Subscribed::New(ann_id) = said else {
        panic!("{said:?}")
    };
    let bob = Subscription::parse("email", "bob@example.com").unwrap();
    store
        .subscribe(&subscriber(page.id, bob, 2, vec![web.id]), at_minute(1))
        .await
        .unwrap();
    let hook = Subscription::parse("webhook", "https://hooks.example/status").unwrap();
    store
        .subscribe(
            &subscriber(page.id, hook.clone(), 3, vec![api.id]),
            at_minute(1),
        )
        .await
        .unwrap();

    // Each e-mail subscriber is sent one confirmation; the webhook, none.
    let due = store
        .due_status_deliveries(at_minute(1), 100)
        .await
        .unwrap();
    let confirms: Vec<&str> = due
        .iter()
        .filter(|d| d.telling == Telling::Confirm)
        .map(|d| d.subscriber.subscription.address())
        .collect();
    assert_eq!(confirms.len(), 2, "{due:?}");
    assert!(confirms.contains(&"ann@example.com"));
    let results: Vec<(String, DeliveryResult)> = due
        .iter()
        .map(|d| (d.id.clone(), DeliveryResult::Sent))
        .collect();
    store
        .record_status_deliveries(&results, at_minute(1))
        .await
        .unwrap();
    assert!(
        store
            .due_status_deliveries(at_minute(2), 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.next_status_delivery().await.unwrap(), None);

    // Asking again before confirming: the confirmation again only after an hour; a
    // webhook twice is "already".
    let again = store
        .subscribe(&subscriber(page.id, ann.clone(), 9, vec![]), at_minute(30))
        .await
        .unwrap();
    assert_eq!(again, Subscribed::AskedAgain { queued: false });
    let again = store
        .subscribe(&subscriber(page.id, ann.clone(), 9, vec![]), at_minute(62))
        .await
        .unwrap();
    assert_eq!(again, Subscribed::AskedAgain { queued: true });
    let queued = store
        .due_status_deliveries(at_minute(62), 100)
        .await
        .unwrap();
    assert_eq!(queued.len(), 1);
    // The first token stays: the link already sent works.
    assert_eq!(
        queued[0].subscriber.token,
        SubscriberToken::from_random([1; 32])
    );
    store
        .record_status_deliveries(
            &[(queued[0].id.clone(), DeliveryResult::Sent)],
            at_minute(62),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .subscribe(&subscriber(page.id, hook, 4, vec![]), at_minute(63))
            .await
            .unwrap(),
        Subscribed::Already
    );

    // Only Ann confirms.
    let ann_token = SubscriberToken::from_random([1; 32]);
    let confirmed = store
        .confirm_subscriber(&ann_token, at_minute(70))
        .await
        .unwrap();
    assert_eq!(confirmed.id, ann_id);
    assert_eq!(confirmed.confirmed_at, Some(at_minute(70)));
    // Confirming twice keeps the first time.
    let twice = store
        .confirm_subscriber(&ann_token, at_minute(71))
        .await
        .unwrap();
    assert_eq!(twice.confirmed_at, Some(at_minute(70)));

    // An API outage: Ann (everything) and the webhook (API) hear of the update; the
    // webhook also of the API's new state; Bob is unconfirmed and chose the website.
    let opened = store
        .create_status_incident(
            page.id,
            &NewStatusIncident {
                name: Title::parse("name", "API errors").unwrap(),
                impact: onduty_core::status_page::Impact::Major,
                started_at: at_minute(80),
                scheduled: None,
                window: None,
                incident: None,
                by: Actor::System,
                draft: false,
                first: NewUpdate {
                    stage: Stage::Incident(IncidentStatus::Investigating),
                    body: UpdateBody::parse("Looking into it").unwrap(),
                    components: vec![(api.id, ComponentStatus::MajorOutage)],
                },
            },
            at_minute(80),
        )
        .await
        .unwrap();
    let due = store
        .due_status_deliveries(at_minute(80), 100)
        .await
        .unwrap();
    let mut told: Vec<(String, &'static str)> = due
        .iter()
        .map(|d| {
            let what = match &d.telling {
                Telling::Update { incident, update } => {
                    assert_eq!(*incident, opened.id);
                    assert_eq!(*update, opened.updates[0].id);
                    "update"
                }
                Telling::Component {
                    component,
                    old,
                    new,
                    ..
                } => {
                    assert_eq!(
                        (*component, *old, *new),
                        (
                            api.id,
                            ComponentStatus::Operational,
                            ComponentStatus::MajorOutage
                        )
                    );
                    "component"
                }
                Telling::Confirm => "confirm",
            };
            (d.subscriber.subscription.address().to_owned(), what)
        })
        .collect();
    told.sort();
    assert_eq!(
        told,
        vec![
            ("ann@example.com".to_owned(), "update"),
            ("https://hooks.example/status".to_owned(), "component"),
            ("https://hooks.example/status".to_owned(), "update"),
        ]
    );

    // Claimed for sending, they are due to no other tick until the claim runs out.
    let ids: Vec<String> = due.iter().map(|d| d.id.clone()).collect();
    store
        .claim_status_deliveries(&ids, at_minute(82))
        .await
        .unwrap();
    assert!(
        store
            .due_status_deliveries(at_minute(81), 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .due_status_deliveries(at_minute(82), 100)
            .await
            .unwrap()
            .len(),
        3
    );

    // A failure is tried again when said, and given up when said.
    let retry: Vec<(String, DeliveryResult)> = due
        .iter()
        .map(|d| {
            (
                d.id.clone(),
                DeliveryResult::Failed {
                    error: "down".to_owned(),
                    retry_at: d
                        .subscriber
                        .subscription
                        .address()
                        .starts_with("https")
                        .then(|| at_minute(85)),
                },
            )
        })
        .collect();
    store
        .record_status_deliveries(&retry, at_minute(80))
        .await
        .unwrap();
    assert_eq!(
        store.next_status_delivery().await.unwrap(),
        Some(at_minute(85))
    );
    assert!(
        store
            .due_status_deliveries(at_minute(84), 100)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store
        .due_status_deliveries(at_minute(85), 100)
        .await
        .unwrap();
    assert_eq!(again.len(), 2);
    assert!(again.iter().all(|d| d.attempts == 1));

    // Admins see every subscriber; unsubscribing removes Ann and what waited for her.
    let all = store.subscribers(page.id).await.unwrap();
    assert_eq!(all.len(), 3);
    let bob = all
        .iter()
        .find(|s| s.subscription.address() == "bob@example.com")
        .unwrap();
    assert_eq!(
        (bob.components.clone(), bob.confirmed_at),
        (vec![web.id], None)
    );
    assert!(
        !format!("{all:?}").contains("whsec_test"),
        "secrets stay out of Debug"
    );
    let gone = store.unsubscribe(&ann_token).await.unwrap();
    assert_eq!(gone.id, ann_id);
    assert!(matches!(
        store.subscriber_by_token(&ann_token).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.unsubscribe(&ann_token).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.subscribers(page.id).await.unwrap().len(), 2);
    assert!(
        store
            .subscriber_deliveries(ann_id)
            .await
            .unwrap()
            .is_empty()
    );

    // Bob never confirmed: a week on, his address is forgotten.
    let week = onduty_store::status_subscribers::FORGET_UNCONFIRMED_AFTER_MS / 60_000;
    let addresses = |list: Vec<onduty_store::status_subscribers::Subscriber>| -> Vec<String> {
        list.iter()
            .map(|s| s.subscription.address().to_owned())
            .collect()
    };
    let cy = Subscription::parse("email", "cy@example.com").unwrap();
    store
        .subscribe(&subscriber(page.id, cy, 5, vec![]), at_minute(week))
        .await
        .unwrap();
    let left = addresses(store.subscribers(page.id).await.unwrap());
    assert!(
        left.contains(&"bob@example.com".to_owned()),
        "not quite a week: {left:?}"
    );
    let dee = Subscription::parse("email", "dee@example.com").unwrap();
    store
        .subscribe(&subscriber(page.id, dee, 6, vec![]), at_minute(week + 2))
        .await
        .unwrap();
    let left = addresses(store.subscribers(page.id).await.unwrap());
    assert!(!left.contains(&"bob@example.com".to_owned()), "{left:?}");
    assert!(
        left.contains(&"https://hooks.example/status".to_owned()),
        "{left:?}"
    );
}
