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

impl Limiter {
    pub(crate) fn new(per_minute: u32) -> Self {
        Limiter {
            limit: (per_minute > 0).then_some(RateLimit { per_minute }),
            buckets: Mutex::new(HashMap::new()),
            refused: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one event's worth for `key`, or says how long to wait (and remembers the
    /// refusal).
    pub(crate) fn check(&self, key: &str, now: Timestamp) -> Result<(), Duration> {
        let result = self.take(key, now);
        if result.is_err() {
            let mut refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
            if refused.len() >= REFUSED_KEPT && !refused.contains_key(key) {
                refused.clear();
            }
            refused
                .entry(key.to_owned())
                .and_modify(|r| {
                    r.count += 1;
                    r.last = now;
                })
                .or_insert(Refused {
                    count: 1,
                    since: now,
                    last: now,
                });
        }
        result
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
        let off = Limiter::new(0);
        for _ in 0..1000 {
            assert!(off.check("a", t).is_ok());
        }
    }
}
