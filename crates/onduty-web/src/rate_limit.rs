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
}

impl Limiter {
    pub(crate) fn new(per_minute: u32) -> Self {
        Limiter {
            limit: (per_minute > 0).then_some(RateLimit { per_minute }),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one event's worth for `key`, or says how long to wait.
    pub(crate) fn check(&self, key: &str, now: Timestamp) -> Result<(), Duration> {
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
        let off = Limiter::new(0);
        for _ in 0..1000 {
            assert!(off.check("a", t).is_ok());
        }
    }
}
