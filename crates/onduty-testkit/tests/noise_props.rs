//! Property test of noise control on every backend: whatever mix of triggers,
//! acknowledgements and resolves arrives, in whatever batches, with grouping and flap
//! windows on or off and either dedup mode, every batch is applied (none fails on the
//! one-key-holder index) and no trigger is lost: the service's incidents count them all.

use std::sync::atomic::{AtomicUsize, Ordering};

use onduty_core::batch::Received;
use onduty_core::event::EventAction;
use onduty_core::incident::{DedupMode, IncidentStatus};
use onduty_store::Store;
use onduty_store::incidents::IncidentFilter;
use onduty_store::services::ServicePatch;
use onduty_testkit::fixtures::{acknowledge, at_minute, resolve, service, trigger};
use onduty_testkit::{TestDb, backends};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

#[derive(Debug, Clone)]
struct Story {
    mode: DedupMode,
    group_window: Option<u32>,
    flap_window: Option<u32>,
    steps: Vec<Step>,
}

#[derive(Debug, Clone)]
struct Step {
    action: EventAction,
    key: u8,
    /// Minutes after the previous step.
    after: i64,
    /// Whether this step starts a new batch.
    new_batch: bool,
}

fn stories() -> impl Strategy<Value = Story> {
    let step = (0..5u8, 0..4u8, 0..6i64, any::<bool>()).prop_map(|(a, key, after, new_batch)| {
        Step {
            // Triggers most often, as in life.
            action: match a {
                0..=2 => EventAction::Trigger,
                3 => EventAction::Acknowledge,
                _ => EventAction::Resolve,
            },
            key,
            after,
            new_batch,
        }
    });
    let window = prop_oneof![Just(None), Just(Some(3u32)), Just(Some(10u32))];
    (
        prop_oneof![Just(DedupMode::Open), Just(DedupMode::Triggered)],
        window.clone(),
        window,
        prop::collection::vec(step, 1..30),
    )
        .prop_map(|(mode, group_window, flap_window, steps)| Story {
            mode,
            group_window,
            flap_window,
            steps,
        })
}

async fn check(store: &Store, story: &Story, n: usize) -> Result<(), TestCaseError> {
    let svc = service(store, &format!("Story {n}"), story.mode).await;
    let patch = ServicePatch {
        group_window_minutes: Some(story.group_window),
        flap_window_minutes: Some(story.flap_window),
        ..Default::default()
    };
    store
        .update_service(svc.service.id, patch, at_minute(0))
        .await
        .unwrap();
    let mut minute = 0;
    let mut batches: Vec<Vec<Received>> = Vec::new();
    for step in &story.steps {
        minute += step.after;
        let at = at_minute(minute);
        let dedup = format!("k{}", step.key);
        let item = match step.action {
            EventAction::Trigger => trigger(svc.key(), &dedup, "something broke", at),
            EventAction::Acknowledge => acknowledge(svc.key(), &dedup, at),
            EventAction::Resolve => resolve(svc.key(), &dedup, at),
        };
        match batches.last_mut() {
            Some(batch) if !step.new_batch => batch.push(item),
            _ => batches.push(vec![item]),
        }
    }
    for batch in &batches {
        let results = store
            .ingest_batch(batch)
            .await
            .map_err(|e| TestCaseError::fail(format!("a batch failed: {e}")))?;
        for r in results {
            prop_assert!(r.is_ok(), "an event was refused: {r:?}");
        }
    }
    let filter = IncidentFilter {
        service: Some(svc.service.id),
        statuses: vec![
            IncidentStatus::Triggered,
            IncidentStatus::Acknowledged,
            IncidentStatus::Resolved,
        ],
        ..IncidentFilter::default()
    };
    let incidents = store.list_incidents(&filter, None, 100).await.unwrap();
    let counted: i64 = incidents.incidents.iter().map(|i| i.alert_count).sum();
    let triggers = story
        .steps
        .iter()
        .filter(|s| s.action == EventAction::Trigger)
        .count() as i64;
    prop_assert_eq!(counted, triggers, "every trigger is counted on an incident");
    // A grouped incident is resolved only once none of its alerts fires, unless a
    // person or the flap logic said otherwise (neither happens here).
    for i in &incidents.incidents {
        if i.status == IncidentStatus::Resolved && !i.grouped_alerts.0.is_empty() {
            prop_assert!(
                i.grouped_alerts.0.iter().all(|a| a.resolved_at.is_some()),
                "#{} resolved with alerts firing: {:?}",
                i.number.0,
                i.grouped_alerts
            );
        }
    }
    Ok(())
}

#[test]
fn noise_control_never_fails_a_batch_or_loses_a_trigger() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Pools hand connections back on drop, which needs the runtime around.
    let _inside = rt.enter();
    for backend in backends() {
        let (_db, store) = rt.block_on(async {
            let db = TestDb::new(backend).await;
            let store = db.store().await;
            (db, store)
        });
        let n = AtomicUsize::new(0);
        let mut runner = TestRunner::new(Config {
            cases: 64,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&stories(), |story| {
            rt.block_on(check(&store, &story, n.fetch_add(1, Ordering::Relaxed)))
        });
        if let Err(e) = result {
            panic!("on {}: {e}", backend.as_str());
        }
    }
}
