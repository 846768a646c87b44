//! Store contract: the audit log is written, read newest first with filters and cursors,
//! pruned by age, and never changed.

use onduty_core::audit::{AuditRecord, Change};
use onduty_store::audit::AuditQuery;
use serde_json::json;

use super::*;

fn record(who: &onduty_core::account::User, minute: i64, action: &str) -> AuditRecord {
    AuditRecord {
        at: at_minute(minute),
        user: who.id,
        who: who.email.to_string(),
        door: "api".to_owned(),
        token: Some("laptop".to_owned()),
        address: Some("192.0.2.7".parse().unwrap()),
        action: action.to_owned(),
        target: "api".to_owned(),
        change: Change {
            before: Some(json!({"services": {"api": {"name": "api"}}})),
            after: None,
        },
    }
}

pub async fn audit_entries_are_kept_as_written(db: &TestDb) {
    let store = db.store().await;
    let alice = user(&store, "Alice", Role::Admin).await;
    let bob = user(&store, "Bob", Role::Responder).await;
    for (minute, who, action) in [
        (0, &alice, "service.create"),
        (1, &alice, "service.update"),
        (2, &bob, "incident.acknowledge"),
        (3, &alice, "services.odd"),
        (3, &alice, "statusxpage.update"),
    ] {
        store
            .append_audit(&record(who, minute, action))
            .await
            .unwrap();
    }

    // Newest first, read back as written.
    let all = store
        .audit_log(&AuditQuery {
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = all.iter().map(|e| e.record.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "statusxpage.update",
            "services.odd",
            "incident.acknowledge",
            "service.update",
            "service.create"
        ]
    );
    assert_eq!(all[4].record, record(&alice, 0, "service.create"));

    // A kind of action takes its verbs, not another kind that starts alike.
    let services = store
        .audit_log(&AuditQuery {
            action: Some("service".to_owned()),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(services.len(), 2);
    // `_` in a filter is itself, not any character.
    let pages = store
        .audit_log(&AuditQuery {
            action: Some("status_page".to_owned()),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert!(pages.is_empty(), "{pages:?}");
    let by_bob = store
        .audit_log(&AuditQuery {
            user: Some(bob.id),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(by_bob.len(), 1);

    // The cursor: older than an entry.
    let older = store
        .audit_log(&AuditQuery {
            before: Some(all[1].id),
            limit: 1,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(older.len(), 1);
    assert_eq!(older[0].id, all[2].id);

    // Nothing changes an entry, whoever asks the database.
    let refused = db
        .try_execute("UPDATE audit_log SET who = 'mallory@example.com'")
        .await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.contains("audit log entries cannot be changed")),
        "{refused:?}"
    );
    let again = store
        .audit_log(&AuditQuery {
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(again, all);

    // Retention deletes what is older than the cutoff, a batch at a time, oldest first.
    assert_eq!(store.prune_audit(at_minute(2), 1).await.unwrap(), 1);
    assert_eq!(store.prune_audit(at_minute(2), 10).await.unwrap(), 1);
    assert_eq!(store.prune_audit(at_minute(2), 10).await.unwrap(), 0);
    let left = store
        .audit_log(&AuditQuery {
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(left.len(), 3);

    // Numbers are never given twice, even once every entry is gone.
    let last = left[0].id;
    store.prune_audit(at_minute(100), 10).await.unwrap();
    store
        .append_audit(&record(&alice, 200, "service.update"))
        .await
        .unwrap();
    let fresh = store
        .audit_log(&AuditQuery {
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert!(fresh[0].id > last);
}
