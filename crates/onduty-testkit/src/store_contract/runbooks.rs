//! Runbooks: kept per service, one per set of alerts, every version kept.

use onduty_core::runbook::{RunbookBody, RunbookScope};
use onduty_store::runbooks::RunbookText;

use super::*;

fn text(kind: &str, pattern: &str, title: &str, body: RunbookBody) -> RunbookText {
    RunbookText {
        scope: RunbookScope::parse(kind, pattern).unwrap(),
        title: title.to_owned(),
        body,
    }
}

pub async fn runbooks_keep_every_version(db: &TestDb) {
    let store = db.store().await;
    let checkout = service(&store, "Checkout", DedupMode::Open).await;
    let billing = service(&store, "Billing", DedupMode::Open).await;
    let alice = Actor::User {
        id: onduty_core::UserId::new(T0),
        name: "Alice".to_owned(),
    };
    let wiki = RunbookBody::Url("https://wiki.example/checkout".to_owned());
    let general = store
        .create_runbook(
            checkout.service.id,
            &text("service", "", "", wiki.clone()),
            &alice,
            at_minute(1),
        )
        .await
        .unwrap();
    assert_eq!((general.version, general.body.clone()), (1, wiki.clone()));

    // One runbook per set of alerts of a service; another service may have its own.
    let again = store
        .create_runbook(
            checkout.service.id,
            &text("service", "", "Again", wiki.clone()),
            &alice,
            at_minute(2),
        )
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    store
        .create_runbook(
            billing.service.id,
            &text("service", "", "", wiki.clone()),
            &alice,
            at_minute(2),
        )
        .await
        .unwrap();

    let disk = store
        .create_runbook(
            checkout.service.id,
            &text(
                "alertname",
                "DiskFull",
                "Disk full",
                RunbookBody::Markdown("1. Look at `df -h`".to_owned()),
            ),
            &alice,
            at_minute(3),
        )
        .await
        .unwrap();
    let bob = Actor::User {
        id: onduty_core::UserId::new(T0),
        name: "Bob".to_owned(),
    };
    let rewritten = text(
        "alertname",
        "DiskFull",
        "Disk full on a database host",
        RunbookBody::Markdown("1. Look at `df -h`\n2. Rotate the logs".to_owned()),
    );
    let second = store
        .update_runbook(disk.id, &rewritten, Some(1), &bob, at_minute(4))
        .await
        .unwrap();
    assert_eq!(second.version, 2);
    assert_eq!(second.title, "Disk full on a database host");
    assert_eq!(second.updated_at, at_minute(4));
    assert_eq!(second.created_at, at_minute(3));

    // An edit made against version 1 after version 2 was written is refused, not lost.
    let stale = store
        .update_runbook(disk.id, &rewritten, Some(1), &alice, at_minute(5))
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    // Moving it onto alerts another runbook covers is refused too.
    let clash = store
        .update_runbook(
            disk.id,
            &text("service", "", "", wiki.clone()),
            None,
            &alice,
            at_minute(5),
        )
        .await;
    assert!(matches!(clash, Err(StoreError::Conflict(_))), "{clash:?}");

    let history = store.runbook_revisions(disk.id).await.unwrap();
    let told: Vec<(i64, &str, &str)> = history
        .iter()
        .map(|r| (r.version, r.title.as_str(), r.changed_by.name()))
        .collect();
    assert_eq!(
        told,
        [
            (2, "Disk full on a database host", "Bob"),
            (1, "Disk full", "Alice")
        ]
    );
    assert_eq!(
        history[1].body,
        RunbookBody::Markdown("1. Look at `df -h`".to_owned())
    );

    let kept: Vec<_> = store
        .runbooks(checkout.service.id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(kept, [general.id, disk.id]);

    store.delete_runbook(disk.id).await.unwrap();
    assert!(matches!(
        store.runbook(disk.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(store.runbook_revisions(disk.id).await.unwrap().is_empty());
    assert!(matches!(
        store.delete_runbook(disk.id).await,
        Err(StoreError::NotFound(_))
    ));
}
