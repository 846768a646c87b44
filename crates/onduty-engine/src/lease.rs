//! The lease stage: only one instance per database ticks. [`Engine::run`] calls
//! [`Engine::step`] (time in, sleep out): hold the lease (renewed every third of its
//! length, not on every tick), tick, ping the dead-man's switch while healthy; then it
//! sleeps until the next deadline, a wake-up, or the lease's renewal.

use std::sync::Arc;
use std::time::Duration;

use onduty_core::batch::{HandedIn, Inbound, Received};
use onduty_core::watchdog::{self, Takeover};
use onduty_core::{Clock, EventId, Timestamp};
use onduty_notify::watchdog::Pinger;
use onduty_store::StoreError;
use onduty_store::metrics as m;

use crate::Engine;

/// How often an instance that does not hold the lease looks whether it is free. A holder
/// that dies is replaced within the lease plus this ([`takeover_bound`]).
pub const TAKEOVER_POLL: Duration = Duration::from_secs(1);

/// The longest a dead holder's work waits for another instance: its lease runs out, then
/// the next look takes it.
pub fn takeover_bound(lease: Duration) -> Duration {
    lease + TAKEOVER_POLL
}

/// The longest the loop sleeps: a holder until its renewal (or a second after a failed
/// stage), anyone else until its next look at the lease.
fn ceiling(lease: Duration, holding: bool, failed: bool) -> Duration {
    if !holding {
        TAKEOVER_POLL
    } else if failed {
        (lease / 3).min(Duration::from_secs(1))
    } else {
        lease / 3
    }
}

/// What the loop around [`Engine::step`] remembers between steps.
#[derive(Default)]
pub struct Runner {
    /// When this instance last took or renewed the lease: it holds it for a third of the
    /// lease after that without writing (a tick need not cost a commit).
    renewed: Option<Timestamp>,
    was_holding: bool,
    /// When the dead-man's switch was last pinged, and the ping still on its way.
    pinged: Option<Timestamp>,
    ping: Option<tokio::task::JoinHandle<()>>,
    /// A takeover whose incident is still to be raised.
    takeover: Option<Takeover>,
}

impl Runner {
    /// Waits until the ping sent by the last step, if any, has been answered (or failed).
    pub async fn ping_done(&mut self) {
        if let Some(ping) = self.ping.take() {
            let _ = ping.await;
        }
    }
}

/// What one step did, and how long the loop may sleep before the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stepped {
    /// Whether this instance holds the lease (and so ticked).
    pub holds: bool,
    /// Whether the tick's stages all ran without failing.
    pub healthy: bool,
    /// Whether this step pinged the dead-man's switch.
    pub pinged: bool,
    pub sleep: Duration,
}

impl Engine {
    /// Holds the engine lease and ticks until `shutdown`; only one instance per database
    /// ticks at a time. Gives the lease up on the way out.
    pub async fn run(self, clock: Arc<dyn Clock>, shutdown: impl std::future::Future<Output = ()>) {
        let mut runner = Runner::default();
        tokio::pin!(shutdown);
        loop {
            let stepped = self.step(&mut runner, clock.as_ref()).await;
            tokio::select! {
                _ = &mut shutdown => break,
                // Only the holder has work to do when woken.
                _ = self.wake.notified(), if stepped.holds => {}
                _ = tokio::time::sleep(stepped.sleep) => {}
            }
        }
        metrics::gauge!(m::ENGINE_THIS_INSTANCE).set(0.0);
        if let Err(e) = self.store.release_lease(&self.config.holder).await {
            tracing::warn!(error = %e, "could not give the engine lease up");
        }
    }

    /// One turn of the loop at the clock's time: take or renew the lease if due (raising
    /// an incident when taking it from a holder that stopped renewing it), tick if
    /// holding it, ping the dead-man's switch if the tick was healthy and a ping is due.
    pub async fn step(&self, runner: &mut Runner, clock: &dyn Clock) -> Stepped {
        let now = clock.now();
        let renew = self.config.lease / 3;
        let holding = match runner.renewed {
            Some(at) if now < at.saturating_add(renew) => Ok(true),
            _ => {
                let taken = self
                    .take_lease(runner.was_holding, now, &mut runner.takeover)
                    .await;
                runner.renewed = matches!(taken, Ok(true)).then_some(now);
                taken
            }
        };
        let holds = matches!(holding, Ok(true));
        match (&holding, runner.was_holding) {
            (Ok(true), false) => tracing::info!(
                holder = %self.config.holder,
                "this instance took the engine lease: it runs the paging engine"
            ),
            (Ok(false), true) => tracing::warn!(
                holder = %self.config.holder,
                "this instance lost the engine lease to another instance"
            ),
            (Err(e), true) => tracing::error!(
                error = %e,
                "cannot renew the engine lease; another instance takes over when it runs out"
            ),
            (Err(e), false) => tracing::warn!(error = %e, "cannot reach the engine lease"),
            _ => {}
        }
        runner.was_holding = holds;
        // A takeover's incident is raised before the tick pages for it, and again at each
        // step until the database takes it.
        if holds
            && let Some(takeover) = runner.takeover.take()
            && !self.raise_takeover(&takeover, now).await
        {
            runner.takeover = Some(takeover);
        }
        metrics::gauge!(m::ENGINE_THIS_INSTANCE).set(if holds { 1.0 } else { 0.0 });
        let mut healthy = false;
        let mut next = None;
        if holds {
            match self.tick(now).await {
                Ok(deadline) => {
                    healthy = true;
                    next = deadline;
                }
                // A stage failed (the others ran): try again soon, so that what the
                // failing stage holds up is late by a second at most. No ping: the
                // dead-man's switch hears of the engine only while it is healthy.
                Err(e) => {
                    metrics::counter!(m::ENGINE_TICK_FAILURES).increment(1);
                    tracing::error!(error = %e, "engine step failed; trying again");
                }
            }
        }
        let mut pinged = false;
        if let (true, Some(pinger)) = (healthy, &self.config.watchdog) {
            if watchdog::next_ping(runner.pinged, now) <= now {
                runner.pinged = Some(now);
                if runner.ping.as_ref().is_some_and(|p| !p.is_finished()) {
                    tracing::warn!(
                        "the last dead-man's switch ping is still unanswered; skipping one"
                    );
                } else {
                    runner.ping = Some(tokio::spawn(ping(pinger.clone())));
                    pinged = true;
                }
            }
            let ping_at = watchdog::next_ping(runner.pinged, now);
            next = Some(next.map_or(ping_at, |n| n.min(ping_at)));
        }
        let ceiling = ceiling(self.config.lease, holds, !healthy && holds);
        let renew_at = runner.renewed.map(|at| at.saturating_add(renew));
        Stepped {
            holds,
            healthy,
            pinged,
            sleep: sleep_for(clock.now(), next, renew_at, ceiling),
        }
    }

    /// Takes or renews the lease. When this instance was not holding it, reads who did
    /// first: taking it from a holder whose lease ran out is a takeover, whose incident
    /// is to be raised (`takeover`).
    async fn take_lease(
        &self,
        was_holding: bool,
        now: Timestamp,
        takeover: &mut Option<Takeover>,
    ) -> Result<bool, StoreError> {
        let me = &self.config.holder;
        // Best effort: a failed read only means a takeover goes unreported.
        let before = if was_holding {
            None
        } else {
            self.store.lease_holder().await.ok().flatten()
        };
        let until = now.saturating_add(self.config.lease);
        let taken = self.store.acquire_lease(me, now, until).await?;
        if taken && let Some(took) = Takeover::of(before, me, now) {
            metrics::counter!(m::ENGINE_TAKEOVERS).increment(1);
            tracing::error!(
                stopped = %took.from,
                ran_out_at = %took.ran_out_at.to_rfc3339(),
                "took the engine over from an instance that stopped renewing its lease"
            );
            *takeover = Some(took);
        }
        Ok(taken)
    }

    /// Raises the takeover's incident through the configured integration (if any).
    /// Returns false if the database failed, so that the next step tries again; a key
    /// that matches no integration is said once and not retried.
    async fn raise_takeover(&self, takeover: &Takeover, now: Timestamp) -> bool {
        let Some(key) = &self.config.takeover_key else {
            return true;
        };
        let raised = [Received {
            id: EventId::new(now),
            received_at: now,
            event: Inbound::Alert(takeover.event(key.as_str())),
            warnings: Vec::new(),
            from: HandedIn::ByOnduty,
        }];
        match self.store.ingest_batch(&raised).await {
            Ok(results) => {
                if let Some(Err(e)) = results.first() {
                    tracing::error!(error = %e, "the takeover incident was not raised");
                }
                self.wake.notify_one();
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "the takeover incident was not raised; trying again");
                false
            }
        }
    }
}

/// Pings the dead-man's switch, counting and logging the outcome.
async fn ping(pinger: Pinger) {
    match pinger.ping().await {
        Ok(()) => {
            metrics::counter!(m::WATCHDOG_PINGS, "outcome" => "ok").increment(1);
        }
        Err(e) => {
            metrics::counter!(m::WATCHDOG_PINGS, "outcome" => "failed").increment(1);
            tracing::warn!(error = %e, "the dead-man's switch ping failed");
        }
    }
}

/// How long to sleep after a tick: until the next deadline, but at least a breath (a
/// deadline already past, when a full batch left work) and at most until the lease must
/// be renewed.
pub(crate) fn sleep_for(
    now: Timestamp,
    next: Option<Timestamp>,
    renew_at: Option<Timestamp>,
    ceiling: Duration,
) -> Duration {
    let breath = Duration::from_millis(5);
    let mut sleep = ceiling;
    if let Some(next) = next {
        sleep = sleep.min(next.since(now)).max(breath);
    }
    if let Some(at) = renew_at {
        sleep = sleep.min(at.since(now).max(breath));
    }
    sleep
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_millis(1_800_000_000_000 + ms)
    }

    #[test]
    fn the_loop_sleeps_until_the_next_deadline_or_the_renewal() {
        let ceiling = Duration::from_secs(5);
        assert_eq!(sleep_for(t(0), None, None, ceiling), ceiling);
        assert_eq!(
            sleep_for(t(0), Some(t(1200)), None, ceiling),
            Duration::from_millis(1200)
        );
        // A deadline already past: a breath, not a tight loop.
        assert_eq!(
            sleep_for(t(0), Some(t(-50)), None, ceiling),
            Duration::from_millis(5)
        );
        assert_eq!(
            sleep_for(t(0), Some(t(9000)), Some(t(300)), ceiling),
            Duration::from_millis(300)
        );
        assert_eq!(
            sleep_for(t(0), None, None, Duration::from_secs(1)),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn a_dead_holder_is_replaced_within_the_lease_and_a_second() {
        let lease = Duration::from_secs(15);
        // Not holding: look every second, whatever else is due.
        assert_eq!(ceiling(lease, false, false), TAKEOVER_POLL);
        assert_eq!(ceiling(lease, false, true), TAKEOVER_POLL);
        assert_eq!(ceiling(lease, true, false), Duration::from_secs(5));
        assert_eq!(ceiling(lease, true, true), Duration::from_secs(1));
        assert_eq!(takeover_bound(lease), Duration::from_secs(16));
        assert_eq!(
            sleep_for(t(0), None, None, ceiling(lease, false, false)),
            TAKEOVER_POLL
        );
    }
}
