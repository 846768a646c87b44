//! Store contract: the report counts follow incidents, however their changes are batched.

use onduty_core::report::Period;
use onduty_store::Backend;
use onduty_store::reports::ReportFilter;

use super::*;

/// A service "Web" whose incidents re-open when triggered within 10 minutes of resolving.
async fn flapping_service(store: &Store) -> crate::fixtures::ServiceFixture {
    let web = service(store, "Web", DedupMode::Open).await;
    let patch = ServicePatch {
        flap_window_minutes: Some(Some(10)),
        ..Default::default()
    };
    store
        .update_service(web.service.id, patch, at_minute(0))
        .await
        .unwrap();
    web
}

pub async fn a_flap_within_one_batch_is_counted(db: &TestDb) {
    let store = db.store().await;
    let web = flapping_service(&store).await;
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

/// Migration 0028 fills the report tables from incidents stored before it: a server
/// upgraded with months of incidents reports on them as on the ones that come after.
pub async fn the_reports_migration_counts_incidents_stored_before_it(db: &TestDb) {
    let store = db.store().await;
    let web = flapping_service(&store).await;
    let alice = user(&store, "Alice", Role::Responder).await;
    let alice = Actor::User {
        id: alice.id,
        name: alice.name.to_string(),
    };
    let act = |n: IncidentNumber, command: Command, via: Via, minute: i64| {
        let (store, alice) = (&store, alice.clone());
        async move {
            store
                .command_incident(
                    by_number(n),
                    &command,
                    &Acting::person(alice, via),
                    at_minute(minute),
                )
                .await
                .unwrap();
        }
    };
    // #1: acknowledged by SMS at 4, resolved by Alice at 30.
    let first = number(
        &accepted(one(&store, trigger(web.key(), "db", "DB down", at_minute(1))).await).outcome,
    );
    act(first, Command::Acknowledge, Via::Sms, 4).await;
    act(first, Command::Resolve, Via::WebUi, 30).await;
    // #2: two alerts, resolved by its monitor a day later.
    let second = number(
        &accepted(one(&store, trigger(web.key(), "cpu", "CPU hot", at_minute(5))).await).outcome,
    );
    accepted(one(&store, trigger(web.key(), "cpu", "CPU hot", at_minute(6))).await);
    accepted(one(&store, resolve(web.key(), "cpu", at_minute(24 * 60 + 50))).await);
    // #3: flaps once, then resolves.
    accepted(
        one(
            &store,
            trigger(web.key(), "disk", "Disk full", at_minute(60)),
        )
        .await,
    );
    accepted(one(&store, resolve(web.key(), "disk", at_minute(61))).await);
    accepted(
        one(
            &store,
            trigger(web.key(), "disk", "Disk full", at_minute(63)),
        )
        .await,
    );
    accepted(one(&store, resolve(web.key(), "disk", at_minute(80))).await);
    // #4, two days on: acknowledged in the web UI, still open.
    let fourth = number(
        &accepted(
            one(
                &store,
                trigger(web.key(), "api", "API slow", at_minute(2 * 24 * 60)),
            )
            .await,
        )
        .outcome,
    );
    act(fourth, Command::Acknowledge, Via::WebUi, 2 * 24 * 60 + 7).await;
    assert_ne!(first, second);

    // Whole days from the roll-ups and part-days from the facts.
    let period = Period::parse(at_minute(30), at_minute(3 * 24 * 60 + 30)).unwrap();
    let whole = Period::parse(T0, at_minute(7 * 24 * 60)).unwrap();
    let filter = ReportFilter::default();
    let live = (
        store.report_counts(period, &filter).await.unwrap(),
        store.report_counts(whole, &filter).await.unwrap(),
    );
    let incidents: u64 = live.1.weeks.iter().map(|w| w.incidents).sum();
    assert_eq!(incidents, 4, "{live:?}");
    assert_eq!(live.1.noisy_keys.len(), 4);
    assert!(!live.1.responders.is_empty());

    // Forget all that 0028 made, as on a server from before it, and migrate again.
    let tables = "incident_facts, responder_facts, report_days, report_durations, report_keys, \
                  org_settings, sleep_budget_notices, postmortem_reminders";
    match db.backend {
        Backend::Sqlite => {
            for table in tables.split(", ") {
                db.execute(&format!("DROP TABLE {}", table.trim())).await;
            }
        }
        Backend::Postgres => {
            db.execute(&format!("DROP TABLE {tables} CASCADE")).await;
            db.execute("DROP FUNCTION report_rollups() CASCADE").await;
        }
    }
    assert_eq!(
        db.execute("DELETE FROM _sqlx_migrations WHERE version = 28")
            .await,
        1
    );
    store.migrate().await.unwrap();
    let backfilled = (
        store.report_counts(period, &filter).await.unwrap(),
        store.report_counts(whole, &filter).await.unwrap(),
    );
    assert_eq!(backfilled, live);
}
