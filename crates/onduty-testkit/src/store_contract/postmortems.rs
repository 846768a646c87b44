//! Postmortems: each incident in one at most, edits that check the version, published
//! words frozen while action items move, and the engine's mark.

use onduty_core::postmortem::{PostmortemStatus, TimelineLine};
use onduty_store::postmortems::{ActionText, NewPostmortem, PostmortemText};

use super::*;

pub async fn postmortems_keep_their_incidents_versions_and_action_items(db: &TestDb) {
    let store = db.store().await;
    let checkout = service(&store, "Checkout", DedupMode::Open).await;
    let alice = user(&store, "Alice", Role::Responder).await;
    for (minute, key) in [(0, "a"), (1, "b")] {
        accepted(
            one(
                &store,
                trigger(checkout.key(), key, "errors", at_minute(minute)),
            )
            .await,
        );
    }
    let number = |n| store.incident(IncidentRef::Number(IncidentNumber(n)));
    let (first, second) = (number(1).await.unwrap(), number(2).await.unwrap());
    let line = TimelineLine {
        at: at_minute(0),
        text: "#1 Triggered".to_owned(),
        marked: true,
        incident: Some(1),
        kind: Some(TimelineKind::Triggered),
    };
    let new = NewPostmortem {
        title: "Checkout errors".to_owned(),
        owner: Some(alice.id),
        incidents: vec![second.id, first.id],
        timeline: vec![line.clone()],
        provisional_due: at_minute(60),
        final_due: at_minute(600),
    };
    let made = store.create_postmortem(&new, at_minute(5)).await.unwrap();
    assert_eq!(made.status, PostmortemStatus::Draft);
    assert_eq!(made.incidents, [first.id, second.id], "by number");
    assert_eq!(made.timeline, std::slice::from_ref(&line));
    assert_eq!(store.postmortem_of(second.id).await.unwrap(), Some(made.id));
    // An incident is in one postmortem at most; nothing of the refused one is kept.
    let again = store
        .create_postmortem(
            &NewPostmortem {
                incidents: vec![first.id],
                ..new.clone()
            },
            at_minute(6),
        )
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert_eq!(store.list_postmortems(10).await.unwrap().len(), 1);

    let text = PostmortemText {
        title: "Checkout errors, explained".to_owned(),
        owner: None,
        summary: "A bad deploy.".to_owned(),
        contributing_factors: String::new(),
        went_well: String::new(),
        went_badly: String::new(),
        timeline: vec![line],
    };
    let edited = store
        .update_postmortem(made.id, &text, made.version, at_minute(7))
        .await
        .unwrap();
    assert_eq!((edited.version, edited.owner), (made.version + 1, None));
    let stale = store
        .update_postmortem(made.id, &text, made.version, at_minute(8))
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    let published = store
        .set_postmortem_status(
            made.id,
            PostmortemStatus::Published,
            edited.version,
            at_minute(9),
        )
        .await
        .unwrap();
    assert_eq!(published.published_at, Some(at_minute(9)));
    let frozen = store
        .update_postmortem(made.id, &text, published.version, at_minute(10))
        .await;
    assert!(matches!(frozen, Err(StoreError::Conflict(_))), "{frozen:?}");

    let item = ActionText {
        text: "Canary deploys".to_owned(),
        owner: Some(alice.id),
        due_at: Some(at_minute(1000)),
        link: Some("https://issues.example/1".to_owned()),
        done: false,
    };
    let added = store
        .add_action_item(made.id, &item, at_minute(11))
        .await
        .unwrap();
    assert_eq!(added.done_at, None);
    let done = store
        .update_action_item(
            made.id,
            added.id,
            &ActionText {
                done: true,
                ..item.clone()
            },
            at_minute(12),
        )
        .await
        .unwrap();
    assert_eq!(done.done_at, Some(at_minute(12)));
    let still = store
        .update_action_item(
            made.id,
            added.id,
            &ActionText {
                done: true,
                ..item.clone()
            },
            at_minute(13),
        )
        .await
        .unwrap();
    assert_eq!(still.done_at, Some(at_minute(12)), "done when it first was");
    assert_eq!(store.postmortem(made.id).await.unwrap().actions, [still]);
    store.delete_action_item(made.id, added.id).await.unwrap();
    assert!(matches!(
        store.delete_action_item(made.id, added.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(store.pages_about(&[first.id]).await.unwrap().is_empty());

    // The engine's mark, and high-urgency incidents resolved after it in no postmortem.
    assert_eq!(store.engine_mark("drafts").await.unwrap(), None);
    store.set_engine_mark("drafts", at_minute(1)).await.unwrap();
    store.set_engine_mark("drafts", at_minute(2)).await.unwrap();
    assert_eq!(
        store.engine_mark("drafts").await.unwrap(),
        Some(at_minute(2))
    );
    accepted(
        one(
            &store,
            trigger(checkout.key(), "c", "errors", at_minute(20)),
        )
        .await,
    );
    accepted(one(&store, resolve(checkout.key(), "c", at_minute(30))).await);
    accepted(one(&store, resolve(checkout.key(), "a", at_minute(31))).await);
    let due = store
        .resolved_high_since(at_minute(2), at_minute(40), 10)
        .await
        .unwrap();
    let third = number(3).await.unwrap();
    assert_eq!(
        due.iter()
            .map(|d| (d.incident, d.resolved_at))
            .collect::<Vec<_>>(),
        [(third.id, at_minute(30))],
        "#1 is in a postmortem already"
    );
    assert!(
        store
            .resolved_high_since(at_minute(30), at_minute(40), 10)
            .await
            .unwrap()
            .is_empty()
    );
}
