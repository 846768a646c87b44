//! Store contract: the report counts follow incidents, however their changes are batched.

use onduty_core::report::Period;
use onduty_store::reports::ReportFilter;

use super::*;

pub async fn a_flap_within_one_batch_is_counted(db: &TestDb) {
    let store = db.store().await;
    let web = service(&store, "Web", DedupMode::Open).await;
    let patch = ServicePatch {
        flap_window_minutes: Some(Some(10)),
        ..Default::default()
    };
    store
        .update_service(web.service.id, patch, at_minute(0))
        .await
        .unwrap();
    // Opened, resolved and re-opened in one batch, then resolved in the next.
    let results = store
        .ingest_batch(&[
            trigger(web.key(), "slow", "Web slow", at_minute(1)),
            resolve(web.key(), "slow", at_minute(2)),
            trigger(web.key(), "slow", "Web slow", at_minute(3)),
        ])
        .await
        .unwrap();
    assert!(
        matches!(results[2], Ok(ref a) if matches!(a.outcome, Outcome::Reopened(_))),
        "{results:?}"
    );
    one(&store, resolve(web.key(), "slow", at_minute(20)))
        .await
        .unwrap();
    let period = Period::parse(T0, at_minute(60)).unwrap();
    let counts = store
        .report_counts(period, &ReportFilter::default())
        .await
        .unwrap();
    let week = &counts.weeks[0];
    assert_eq!(
        (
            week.incidents,
            week.reopens,
            week.resolved,
            week.auto_resolved,
            week.alerts
        ),
        (1, 1, 1, 1, 2)
    );
    assert_eq!(counts.noisy_keys[0].dedup_key.as_deref(), Some("slow"));
    assert_eq!(counts.noisy_keys[0].flaps, 1);
    // Resolved 19 minutes after it opened (its last resolution).
    assert_eq!(counts.resolve_seconds, vec![(19 * 60, 1)]);
}
