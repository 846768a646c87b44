//! onduty's paging engine. [`Engine::tick`] does everything due at `now` — overdue
//! heartbeats, timers, escalations, people's notification rules, pushes to take back, the
//! outbox, handoff notifications, maintenance reminders and reminders of public incidents
//! left open — and returns the next deadline.
//! [`Engine::run`] (in `lease.rs`) is the loop around it: hold the lease, tick, sleep until
//! the next deadline or until woken.
//!
//! Each stage is its own module and has the same shape: *load* what is due and what
//! deciding about it needs, *plan* with a synchronous pure function (unit-tested in the
//! module), *apply* the plan in one transaction per batch. A crash at any moment resumes
//! where it stopped: every step re-checks that what it read is still due. Messages are
//! sent at least once: a crash between sending and recording sends again, with the same
//! idempotency key.

mod chat;
mod directory;
mod escalations;
mod handoffs;
mod heartbeats;
mod lease;
pub use lease::{Runner, Stepped, TAKEOVER_POLL, takeover_bound};
mod notifications;
mod outbox;
mod page_hours;
mod postmortem_drafts;
mod postmortem_reminders;
mod pushes;
mod reminders;
mod retention;
mod runbooks;
mod sleep_budget;
mod status_deliveries;
mod status_drafts;
mod status_maintenance;
mod status_reminders;
mod text;
mod timers;

use std::sync::Arc;
use std::time::Duration;

use onduty_core::Timestamp;
use onduty_notify::Providers;
use onduty_store::{Store, StoreError};

pub use outbox::{LINK_LIFETIME, MAX_ATTEMPTS, PER_NUMBER_GAP};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Links in messages point here.
    pub public_url: String,
    /// Who this instance is, in the lease.
    pub holder: String,
    /// How long the lease lasts unless renewed; renewed every third of it.
    pub lease: Duration,
    /// The outside dead-man's switch pinged every minute while the engine is healthy.
    pub watchdog: Option<onduty_notify::watchdog::Pinger>,
    /// The integration an instance raises an incident through when it takes the engine
    /// over from a holder that stopped renewing its lease.
    pub takeover_key: Option<onduty_core::RoutingKey>,
    /// How long raw events and resolved incidents' timelines are kept; `None`: forever.
    pub retention: Option<onduty_core::retention::Retention>,
    /// How long the audit log's entries are kept; `None`: forever.
    pub audit_retention: Option<onduty_core::retention::Retention>,
}

/// Most rows one stage handles before looking again.
const BATCH: u32 = 500;

/// The stages of a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Heartbeats,
    Timers,
    Escalations,
    Notifications,
    Pushes,
    Outbox,
    Chat,
    Handoffs,
    Reminders,
    StatusReminders,
    StatusDrafts,
    StatusDeliveries,
    StatusMaintenance,
    PostmortemDrafts,
    PageHours,
    SleepBudget,
    PostmortemReminders,
    Retention,
}

/// Which stages failed in this tick, and the first failure.
#[derive(Default)]
struct Stages {
    failed: Vec<Stage>,
    failure: Option<EngineError>,
}

impl Stages {
    fn runs(&self, stage: Stage) -> bool {
        !self.failed.contains(&stage)
    }

    /// What a stage did: how much, or nothing if it failed (logged and remembered).
    fn count(&mut self, stage: Stage, result: Result<usize, EngineError>) -> usize {
        match result {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(?stage, error = %e, "an engine stage failed; the others go on");
                self.failed.push(stage);
                self.failure.get_or_insert(e);
                0
            }
        }
    }
}

pub use onduty_store::Wake;

pub struct Engine {
    store: Store,
    providers: Providers,
    config: EngineConfig,
    wake: Wake,
    link_key: tokio::sync::OnceCell<Arc<Vec<u8>>>,
    /// When to look for handoff notifications to send next (`None`: at the next tick).
    handoff_scan: std::sync::Mutex<Option<Timestamp>>,
    /// When to look for what data retention prunes next (`None`: at the next tick).
    retention_look: std::sync::Mutex<Option<Timestamp>>,
}

impl Engine {
    pub fn new(store: Store, providers: Providers, config: EngineConfig, wake: Wake) -> Engine {
        Engine {
            store,
            providers,
            config,
            wake,
            link_key: tokio::sync::OnceCell::new(),
            handoff_scan: std::sync::Mutex::new(None),
            retention_look: std::sync::Mutex::new(None),
        }
    }

    /// Does everything due at `now` and returns when something is next due.
    pub async fn tick(&self, now: Timestamp) -> Result<Option<Timestamp>, EngineError> {
        // A stage that fails (a database error, a row it cannot read) is logged and
        // skipped for the rest of this tick; the others still run, so that, say, a
        // heartbeat problem never holds up pages. The first failure is returned at the
        // end, and the loop around tries again shortly.
        let mut stages = Stages::default();
        // Each stage can make work for the next one due at once (a timer triggers an
        // incident again, a level pages people whose first rule is immediate, …).
        for _ in 0..8 {
            let mut done = 0;
            if stages.runs(Stage::Heartbeats) {
                done += stages.count(Stage::Heartbeats, heartbeats::run(self, now).await);
            }
            if stages.runs(Stage::Timers) {
                done += stages.count(Stage::Timers, timers::run(self, now).await);
            }
            if stages.runs(Stage::Escalations) {
                done += stages.count(Stage::Escalations, escalations::run(self, now).await);
            }
            if stages.runs(Stage::Notifications) {
                done += stages.count(Stage::Notifications, notifications::run(self, now).await);
            }
            if stages.runs(Stage::Pushes) {
                done += stages.count(Stage::Pushes, pushes::run(self, now).await);
            }
            if stages.runs(Stage::Outbox) {
                done += stages.count(Stage::Outbox, outbox::run(self, now).await);
            }
            if done == 0 {
                break;
            }
        }
        let handoffs = match handoffs::run(self, now).await {
            Ok(next) => next,
            Err(e) => {
                stages.count(Stage::Handoffs, Err(e));
                None
            }
        };
        let reminded = stages.count(Stage::Reminders, reminders::run(self, now).await)
            + stages.count(
                Stage::StatusReminders,
                status_reminders::run(self, now).await,
            );
        if reminded > 0 && stages.runs(Stage::Outbox) {
            stages.count(Stage::Outbox, outbox::run(self, now).await);
        }
        // Public incidents drafted for new incidents behind a status page's components.
        stages.count(Stage::StatusDrafts, status_drafts::run(self, now).await);
        // High-urgency incidents resolved a minute ago get a draft postmortem.
        stages.count(
            Stage::PostmortemDrafts,
            postmortem_drafts::run(self, now).await,
        );
        // Pages sorted into the paged person's hours, for reports.
        let sorted = stages.count(Stage::PageHours, page_hours::run(self).await);
        // Team admins told of anyone paged in sleep hours more than the weekly budget.
        stages.count(Stage::SleepBudget, sleep_budget::run(self, now).await);
        // Postmortem owners reminded of due dates, and action items' owners of overdue ones.
        stages.count(
            Stage::PostmortemReminders,
            postmortem_reminders::run(self, now).await,
        );
        // Scheduled maintenance that starts or ends now says so.
        stages.count(
            Stage::StatusMaintenance,
            status_maintenance::run(self, now).await,
        );
        // What status pages tell their subscribers.
        stages.count(
            Stage::StatusDeliveries,
            status_deliveries::run(self, now).await,
        );
        // Chat messages follow incidents once the pages went: a slow chat platform never
        // holds up a page.
        stages.count(Stage::Chat, chat::run(self, now).await);
        // Events and resolved incidents' timelines past retention, a batch at a time.
        let retention = match retention::run(self, now).await {
            Ok(next) => next,
            Err(e) => {
                stages.count(Stage::Retention, Err(e));
                None
            }
        };
        if let Some(e) = stages.failure {
            return Err(e);
        }
        let next = [
            self.store.next_paging_deadline().await?,
            handoffs,
            retention,
            self.store.next_heartbeat_deadline().await?,
            self.store.next_maintenance_deadline().await?,
            self.store.next_status_reminder().await?,
            self.store.next_status_delivery().await?,
            self.store.next_maintenance_move().await?,
            // More pages to sort: at once.
            (sorted >= page_hours::BATCH as usize).then_some(now),
        ];
        Ok(next.into_iter().flatten().min())
    }
}
