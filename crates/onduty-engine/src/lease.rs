//! The lease stage: only one instance per database ticks. [`Engine::run`] holds the
//! lease (renewed every third of its length, not on every tick), ticks, and sleeps until
//! the next deadline, a wake-up, or the lease's renewal.

use std::sync::Arc;
use std::time::Duration;

use onduty_core::{Clock, Timestamp};

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

impl Engine {
    /// Holds the engine lease and ticks until `shutdown`; only one instance per database
    /// ticks at a time. Gives the lease up on the way out.
    pub async fn run(self, clock: Arc<dyn Clock>, shutdown: impl std::future::Future<Output = ()>) {
        let renew = self.config.lease / 3;
        // When this instance last took or renewed the lease: it holds it for a third of
        // the lease after that without writing (a tick need not cost a commit).
        let mut renewed: Option<Timestamp> = None;
        let mut was_holding = false;
        tokio::pin!(shutdown);
        loop {
            let now = clock.now();
            let holding = match renewed {
                Some(at) if now < at.saturating_add(renew) => Ok(true),
                _ => {
                    let until = now.saturating_add(self.config.lease);
                    let taken = self
                        .store
                        .acquire_lease(&self.config.holder, now, until)
                        .await;
                    renewed = matches!(taken, Ok(true)).then_some(now);
                    taken
                }
            };
            let holds = matches!(holding, Ok(true));
            match (&holding, was_holding) {
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
            was_holding = holds;
            let mut failed = false;
            let mut next = None;
            if holds {
                match self.tick(now).await {
                    Ok(deadline) => next = deadline,
                    // A stage failed (the others ran): try again soon, so that what the
                    // failing stage holds up is late by a second at most.
                    Err(e) => {
                        tracing::error!(error = %e, "engine step failed; trying again");
                        failed = true;
                    }
                }
            }
            let ceiling = ceiling(self.config.lease, holds, failed);
            let renew_at = renewed.map(|at| at.saturating_add(renew));
            let sleep = sleep_for(clock.now(), next, renew_at, ceiling);
            tokio::select! {
                _ = &mut shutdown => break,
                // Only the holder has work to do when woken.
                _ = self.wake.notified(), if holds => {}
                _ = tokio::time::sleep(sleep) => {}
            }
        }
        if let Err(e) = self.store.release_lease(&self.config.holder).await {
            tracing::warn!(error = %e, "could not give the engine lease up");
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
