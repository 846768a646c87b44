//! Store contract: what survives restarts, races between instances, and SQLite's upkeep.

use super::*;

pub async fn migrations_are_idempotent(db: &TestDb) {
    let store = db.store().await;
    store.migrate().await.expect("migrating twice is harmless");
    store.ping().await.expect("ping");
    let again = db.store().await;
    assert_eq!(again.count_users().await.unwrap(), 0);
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
