//! Managing heartbeats (jobs that must ping in time) and maintenance windows (services
//! that page nobody for a while, and always end).

use std::time::Duration;

use onduty_core::account::{Name, TimeZoneName};
use onduty_core::heartbeat::Expect;
use onduty_core::{MaintenanceId, Timestamp};
use onduty_store::heartbeats::Heartbeat;
use onduty_store::maintenance::MaintenanceWindow;

use crate::services::new_routing_key;
use crate::{Acting, App, AppError};

pub use onduty_core::service::MAX_MAINTENANCE_MINUTES;

/// The longest a maintenance window lasts.
const LONGEST: Duration = Duration::from_secs(MAX_MAINTENANCE_MINUTES as u64 * 60);

/// A heartbeat as a door received it: every so many minutes, or on a cron schedule.
#[derive(Debug, Clone, Default)]
pub struct HeartbeatInput {
    pub name: String,
    pub period_minutes: Option<u32>,
    pub cron: Option<String>,
    /// The cron schedule's time zone (default UTC).
    pub time_zone: Option<String>,
    /// How late a ping may be (default 5 minutes).
    pub grace_minutes: Option<u32>,
}

/// When a maintenance window ends: at a time, or so many minutes after it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    End(Timestamp),
    Minutes(u32),
}

/// A maintenance window as a door received it.
#[derive(Debug, Clone)]
pub struct MaintenanceInput {
    /// Service ids or names.
    pub services: Vec<String>,
    /// Default: now.
    pub start: Option<Timestamp>,
    pub until: Option<Until>,
    pub reason: String,
}

fn window_id(text: &str) -> Result<MaintenanceId, AppError> {
    text.parse()
        .map_err(|_| AppError::NotFound(format!("no maintenance window '{text}'")))
}

impl App {
    /// Adds a heartbeat to a service (admins), with an integration of its own.
    pub async fn create_heartbeat(
        &self,
        acting: &Acting,
        service: &str,
        input: HeartbeatInput,
    ) -> Result<Heartbeat, AppError> {
        acting.require_admin()?;
        self.configuring(acting, "heartbeat.create", service, async {
            let service = self.find_service(service).await?;
            let name =
                Name::parse(&input.name).map_err(|e| AppError::Invalid(format!("'name': {e}")))?;
            let grace = input.grace_minutes.unwrap_or(5);
            let expect = match (input.period_minutes, input.cron.as_deref()) {
                (Some(period), None) => Expect::period(period, grace),
                (None, Some(cron)) => {
                    let zone = TimeZoneName::parse(input.time_zone.as_deref().unwrap_or("UTC"))
                        .map_err(|e| AppError::Invalid(format!("'time_zone': {e}")))?;
                    Expect::cron(cron, zone, grace)
                }
                _ => {
                    return Err(AppError::Invalid(
                        "give either 'period_minutes' or 'cron'".to_owned(),
                    ));
                }
            }
            .map_err(|e| AppError::Invalid(e.to_string()))?;
            let made = self
                .store
                .create_heartbeat(service.id, name, expect, new_routing_key(), self.now())
                .await?;
            // The engine learns of the new deadline.
            self.wake_engine();
            Ok(made)
        })
        .await
    }

    /// Puts services in maintenance (responders and admins): their events open no
    /// incident and page nobody until the window ends, as every window does.
    pub async fn create_maintenance(
        &self,
        acting: &Acting,
        input: MaintenanceInput,
    ) -> Result<MaintenanceWindow, AppError> {
        acting.require_responder()?;
        self.configuring(
            acting,
            "maintenance.create",
            input.services.join(", "),
            async {
                let now = self.now();
                let reason = input.reason.trim();
                if reason.is_empty() || reason.chars().count() > 500 {
                    return Err(AppError::Invalid(
                        "'reason' is 1 to 500 characters: say why, for whoever wonders".to_owned(),
                    ));
                }
                let start = input.start.unwrap_or(now);
                let end = match input.until {
                    Some(Until::End(end)) => end,
                    Some(Until::Minutes(m)) if (1..=MAX_MAINTENANCE_MINUTES).contains(&m) => {
                        start.saturating_add(Duration::from_secs(u64::from(m) * 60))
                    }
                    Some(Until::Minutes(_)) => {
                        return Err(AppError::Invalid(format!(
                            "'minutes' is 1 to {MAX_MAINTENANCE_MINUTES} (a month)"
                        )));
                    }
                    None => {
                        return Err(AppError::Invalid(
                            "give either 'end' or 'minutes': every maintenance window ends"
                                .to_owned(),
                        ));
                    }
                };
                if end.since(start) > LONGEST {
                    return Err(AppError::Invalid(
                        "a maintenance window lasts a month at most".to_owned(),
                    ));
                }
                let mut services = Vec::with_capacity(input.services.len());
                for s in &input.services {
                    services.push(self.find_service(s).await?.id);
                }
                let made = self
                    .store
                    .create_maintenance(&services, start, end, reason, Some(acting.user.id), now)
                    .await?;
                self.wake_engine();
                Ok(made)
            },
        )
        .await
    }

    /// Ends a maintenance window now (responders and admins): paging is back.
    pub async fn end_maintenance(
        &self,
        acting: &Acting,
        window: &str,
    ) -> Result<MaintenanceWindow, AppError> {
        acting.require_responder()?;
        self.configuring(acting, "maintenance.end", window, async {
            let ended = self
                .store
                .end_maintenance(window_id(window)?, self.now())
                .await?;
            self.wake_engine();
            Ok(ended)
        })
        .await
    }

    /// Moves a maintenance window's end by `minutes` (responders and admins).
    pub async fn extend_maintenance(
        &self,
        acting: &Acting,
        window: &str,
        minutes: i64,
    ) -> Result<MaintenanceWindow, AppError> {
        acting.require_responder()?;
        self.configuring(acting, "maintenance.extend", window, async {
            let now = self.now();
            let id = window_id(window)?;
            let window = self.store.maintenance(id).await?;
            if window.end <= now {
                return Err(AppError::Conflict(
                    "this maintenance window is over; start a new one".to_owned(),
                ));
            }
            let limit = i64::from(MAX_MAINTENANCE_MINUTES);
            if !(-limit..=limit).contains(&minutes) {
                return Err(AppError::Invalid(format!(
                    "'minutes' is within ±{MAX_MAINTENANCE_MINUTES}"
                )));
            }
            let end = Timestamp::from_millis(window.end.as_millis() + minutes * 60_000);
            if end.since(window.start) > LONGEST {
                return Err(AppError::Invalid(
                    "a maintenance window lasts a month at most".to_owned(),
                ));
            }
            let moved = self.store.extend_maintenance(id, end, now).await?;
            self.wake_engine();
            Ok(moved)
        })
        .await
    }
}

/// Which instance runs the paging engine, as its lease says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineStatus {
    /// `holder` runs it, and has renewed the lease until `until` (not yet past).
    Running { holder: String, until: Timestamp },
    /// Nobody runs it: nobody holds the lease (`last` is `None`), or its last holder
    /// stopped renewing it, and it ran out at the time given.
    Stopped { last: Option<(String, Timestamp)> },
}

impl EngineStatus {
    /// Reads the lease at `now`.
    pub fn of(lease: Option<(String, Timestamp)>, now: Timestamp) -> EngineStatus {
        match lease {
            Some((holder, until)) if until > now => EngineStatus::Running { holder, until },
            last => EngineStatus::Stopped { last },
        }
    }
}

/// What `/metrics` reads from the database at a scrape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vitals {
    pub triggered: i64,
    pub acknowledged: i64,
    pub resolved: i64,
    /// Messages waiting in the outbox, and how long the oldest has waited.
    pub outbox_pending: i64,
    pub outbox_oldest_age: Duration,
    pub engine: EngineStatus,
}

impl Vitals {
    /// How long the engine lease has been out of date: zero while it is held, or when
    /// no instance ever held it.
    pub fn lease_expired_for(&self, now: Timestamp) -> Duration {
        match &self.engine {
            EngineStatus::Stopped {
                last: Some((_, until)),
            } => now.since(*until),
            _ => Duration::ZERO,
        }
    }
}

impl App {
    /// Which instance runs the paging engine (for `/readyz` and the web UI; no role
    /// needed: it names a process, nothing about incidents or people).
    pub async fn engine_status(&self) -> Result<EngineStatus, AppError> {
        let lease = self.store.lease_holder().await?;
        Ok(EngineStatus::of(lease, self.now()))
    }

    /// Incidents by state, the outbox's backlog and the engine's lease, for `/metrics`
    /// (which guards its own door: a token or an internal address).
    pub async fn vitals(&self) -> Result<Vitals, AppError> {
        let signs = self.store.vital_signs().await?;
        let now = self.now();
        Ok(Vitals {
            triggered: signs.triggered,
            acknowledged: signs.acknowledged,
            resolved: signs.resolved,
            outbox_pending: signs.outbox_pending,
            outbox_oldest_age: signs
                .outbox_oldest
                .map_or(Duration::ZERO, |oldest| now.since(oldest)),
            engine: self.engine_status().await?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_runs_while_its_lease_has_not_run_out() {
        let now = Timestamp::from_millis(1_800_000_000_000);
        let later = now.saturating_add(Duration::from_secs(15));
        let held = |until| Some(("a:1".to_owned(), until));
        assert_eq!(
            EngineStatus::of(held(later), now),
            EngineStatus::Running {
                holder: "a:1".to_owned(),
                until: later
            }
        );
        assert_eq!(
            EngineStatus::of(held(now), now),
            EngineStatus::Stopped { last: held(now) },
            "a lease that runs out now is over"
        );
        assert_eq!(
            EngineStatus::of(None, now),
            EngineStatus::Stopped { last: None }
        );
    }
}
