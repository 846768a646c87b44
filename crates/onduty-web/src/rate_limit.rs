//! Per-routing-key rate limiting for the ingest endpoints, around the core's token bucket.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use onduty_core::Timestamp;
use onduty_core::rate_limit::{RateLimit, TokenBucket};

/// Buckets kept before full (idle) ones are forgotten.
const PRUNE_AT: usize = 10_000;

pub(crate) struct Limiter {
    limit: Option<RateLimit>,
    buckets: Mutex<HashMap<String, TokenBucket>>,
    /// What each key has had refused, for people to see (kept in memory, per instance).
    refused: Mutex<HashMap<String, Refused>>,
}

/// Requests a key had refused: how many, since when, and the latest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refused {
    pub count: u64,
    pub since: Timestamp,
    pub last: Timestamp,
}

/// Keys whose refusals are remembered, at most.
const REFUSED_KEPT: usize = 10_000;

/// A key with no refusal for this long starts a new spell of refusals (noted again).
const QUIET: Duration = Duration::from_secs(10 * 60);

/// A refused request: how long to wait, and whether it began a spell of refusals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub wait: Duration,
    pub starts_spell: bool,
}

impl Limiter {
    pub(crate) fn new(per_minute: u32) -> Self {
        Limiter {
            limit: (per_minute > 0).then_some(RateLimit { per_minute }),
            buckets: Mutex::new(HashMap::new()),
            refused: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one event's worth for `key`, or says how long to wait.
    pub(crate) fn check(&self, key: &str, now: Timestamp) -> Result<(), Duration> {
        self.admit(key, now).map_err(|r| r.wait)
    }

    /// Takes one event's worth for `key`, or refuses (and remembers the refusal: a
    /// refusal after [`QUIET`] without any starts a new spell, counted from zero).
    pub(crate) fn admit(&self, key: &str, now: Timestamp) -> Result<(), Refusal> {
        let Err(wait) = self.take(key, now) else {
            return Ok(());
        };
        let mut refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        if refused.len() >= REFUSED_KEPT && !refused.contains_key(key) {
            refused.clear();
        }
        let fresh = Refused {
            count: 1,
            since: now,
            last: now,
        };
        let starts_spell = match refused.get_mut(key) {
            Some(r) if now.since(r.last) < QUIET => {
                r.count += 1;
                r.last = now;
                false
            }
            Some(r) => {
                *r = fresh;
                true
            }
            None => {
                refused.insert(key.to_owned(), fresh);
                true
            }
        };
        Err(Refusal { wait, starts_spell })
    }

    /// What `key` has had refused since this instance started, if anything.
    pub(crate) fn refused(&self, key: &str) -> Option<Refused> {
        let refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        refused.get(key).copied()
    }

    fn take(&self, key: &str, now: Timestamp) -> Result<(), Duration> {
        let Some(limit) = self.limit else {
            return Ok(());
        };
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= PRUNE_AT && !buckets.contains_key(key) {
            buckets.retain(|_, b| !b.is_full(limit, now));
        }
        match buckets.get_mut(key) {
            Some(bucket) => bucket.take(limit, now),
            None => {
                let mut bucket = TokenBucket::new(limit, now);
                let result = bucket.take(limit, now);
                buckets.insert(key.to_owned(), bucket);
                result
            }
        }
    }
}

/// Checks `key`'s rate limit for an event arriving now. The first refusal of a spell is
/// also put on the service's timeline, as a change event from onduty, so that dropped
/// events are on record (the service page counts the rest); that one refusal waits for
/// the note to be stored.
pub(crate) async fn admit_event(
    state: &crate::SharedState,
    key: &onduty_core::RoutingKey,
    now: Timestamp,
) -> Result<(), Duration> {
    let refusal = match state.limiter.admit(key.as_str(), now) {
        Ok(()) => return Ok(()),
        Err(r) => r,
    };
    if refusal.starts_spell
        && let Some(limit) = state.limiter.limit
    {
        let per_minute = limit.per_minute;
        let note = onduty_core::event::ChangeEvent {
            routing_key: Some(key.clone()),
            summary: format!(
                "onduty is refusing events from this integration (HTTP 429): more than \
                 {per_minute} a minute. They are not stored; the service page counts them."
            ),
            source: Some("onduty".to_owned()),
            timestamp: Some(now),
            custom_details: Some(serde_json::json!({ "rate_limit_per_minute": per_minute })),
            links: Vec::new(),
        };
        let received = onduty_core::batch::Received {
            id: onduty_core::EventId::new(now),
            received_at: now,
            event: onduty_core::batch::Inbound::Change(note),
            warnings: Vec::new(),
            from: onduty_core::batch::HandedIn::ByOnduty,
        };
        match state.writer.submit(received).await {
            Ok(Ok(_)) => {}
            // A key nobody has (refused by the writer): nothing to note it on.
            Ok(Err(e)) => tracing::debug!(error = %e, "refused events not noted"),
            Err(e) => tracing::warn!(error = %e, "cannot note refused events on the service"),
        }
    }
    Err(refusal.wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_each_key_separately_and_zero_disables() {
        let t = Timestamp::from_millis(0);
        let l = Limiter::new(2);
        assert!(l.check("a", t).is_ok());
        assert!(l.check("a", t).is_ok());
        assert!(l.check("a", t).is_err());
        assert!(l.check("b", t).is_ok());
        // Refusals are remembered per key.
        assert_eq!(l.refused("b"), None);
        let r = l.refused("a").unwrap();
        assert_eq!((r.count, r.since), (1, t));
        let later = Timestamp::from_millis(10);
        assert!(l.check("a", later).is_err());
        assert_eq!(l.refused("a").unwrap().count, 2);
        assert_eq!(l.refused("a").unwrap().last, later);
        // A refusal after ten quiet minutes starts a new spell, counted afresh.
        // (The bucket refills meanwhile: two events' worth are taken first.)
        let spell = |at: Timestamp| {
            let _ = (l.check("a", at), l.check("a", at));
            l.admit("a", at).unwrap_err().starts_spell
        };
        assert!(!spell(Timestamp::from_millis(9 * 60_000)));
        let quiet = Timestamp::from_millis(19 * 60_000 + 1);
        assert!(spell(quiet));
        assert_eq!(l.refused("a").unwrap().since, quiet);
        assert_eq!(l.refused("a").unwrap().count, 1);
        let off = Limiter::new(0);
        for _ in 0..1000 {
            assert!(off.check("a", t).is_ok());
        }
    }
}
