//! A token bucket per key, with time as an argument: up to `per_minute` events in any
//! burst, refilled evenly over the minute. Used to answer 429 to a runaway sender. Also
//! the hourly limits on codes and test messages.

use std::time::Duration;

use crate::time::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Events allowed per minute and per key; also the largest burst.
    pub per_minute: u32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenBucket {
    tokens: f64,
    updated: Timestamp,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(limit: RateLimit, now: Timestamp) -> Self {
        TokenBucket {
            tokens: f64::from(limit.per_minute),
            updated: now,
        }
    }

    /// Takes one token, or says how long until one is available.
    pub fn take(&mut self, limit: RateLimit, now: Timestamp) -> Result<(), Duration> {
        let capacity = f64::from(limit.per_minute);
        let per_ms = capacity / 60_000.0;
        let elapsed = now.since(self.updated).as_millis() as f64;
        self.tokens = (self.tokens + elapsed * per_ms).min(capacity);
        if now > self.updated {
            self.updated = now;
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else if per_ms <= 0.0 {
            Err(Duration::from_secs(60))
        } else {
            let wait_ms = ((1.0 - self.tokens) / per_ms).ceil() as u64;
            Err(Duration::from_millis(wait_ms.max(1)))
        }
    }

    /// True when the bucket has refilled completely: it can be forgotten.
    pub fn is_full(&self, limit: RateLimit, now: Timestamp) -> bool {
        let per_ms = f64::from(limit.per_minute) / 60_000.0;
        self.tokens + now.since(self.updated).as_millis() as f64 * per_ms
            >= f64::from(limit.per_minute)
    }
}

/// Hourly limits on the messages that are not pages (verification codes and tests),
/// which anyone can ask for and which cost money by SMS and call: per person, and for the
/// whole server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourlyLimits {
    pub per_person: u32,
    pub total: u32,
}

impl Default for HourlyLimits {
    fn default() -> Self {
        HourlyLimits {
            per_person: 10,
            total: 100,
        }
    }
}

/// Which hourly limit a message would pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverLimit {
    Person,
    Server,
}

impl HourlyLimits {
    /// Whether one more message may go, given how many went in the last hour to this
    /// person and to everyone.
    pub fn admit(&self, to_person: u64, in_all: u64) -> Result<(), OverLimit> {
        if to_person >= u64::from(self.per_person) {
            Err(OverLimit::Person)
        } else if in_all >= u64::from(self.total) {
            Err(OverLimit::Server)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_burst_then_refills_evenly() {
        let limit = RateLimit { per_minute: 120 };
        let t0 = Timestamp::from_millis(0);
        let mut b = TokenBucket::new(limit, t0);
        for _ in 0..120 {
            assert!(b.take(limit, t0).is_ok());
        }
        let wait = b.take(limit, t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        assert!(b.take(limit, Timestamp::from_millis(499)).is_err());
        assert!(b.take(limit, Timestamp::from_millis(500)).is_ok());
        assert!(!b.is_full(limit, Timestamp::from_millis(500)));
        assert!(b.is_full(limit, Timestamp::from_millis(60_500)));
    }

    #[test]
    fn time_going_backwards_grants_nothing() {
        let limit = RateLimit { per_minute: 1 };
        let mut b = TokenBucket::new(limit, Timestamp::from_millis(10_000));
        assert!(b.take(limit, Timestamp::from_millis(10_000)).is_ok());
        assert!(b.take(limit, Timestamp::from_millis(0)).is_err());
    }

    #[test]
    fn hourly_limits_stop_one_person_first_then_everyone() {
        let limits = HourlyLimits {
            per_person: 3,
            total: 5,
        };
        let cases = [
            (0, 0, Ok(())),
            (2, 4, Ok(())),
            (3, 3, Err(OverLimit::Person)),
            (0, 5, Err(OverLimit::Server)),
            (3, 5, Err(OverLimit::Person)),
        ];
        for (to_person, in_all, expected) in cases {
            assert_eq!(
                limits.admit(to_person, in_all),
                expected,
                "{to_person} {in_all}"
            );
        }
    }
}
