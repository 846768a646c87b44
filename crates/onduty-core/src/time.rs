//! Time as a value: `Timestamp` (epoch milliseconds) and the `Clock` that supplies `now`.
//!
//! Only `SystemClock` reads the wall clock. Everything else receives `now` as an argument,
//! so tests drive time with a `ManualClock` and never sleep.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant, in milliseconds since the Unix epoch (UTC). This is how time is stored
/// (a BIGINT column) and passed around; it is shown as RFC 3339.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_millis(ms: i64) -> Self {
        Timestamp(ms)
    }

    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// Parses an ISO 8601 / RFC 3339 instant with an offset, as monitoring tools send it:
    /// `2015-07-17T08:42:58.315+0000`, `2015-07-17T08:42:58Z`, `2015-07-17T10:42:58+02:00`.
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        let ts: jiff::Timestamp = text
            .trim()
            .parse()
            .map_err(|_| TimestampError(text.chars().take(64).collect()))?;
        Ok(Timestamp(ts.as_millisecond()))
    }

    /// The instant as an RFC 3339 string in UTC with millisecond precision.
    pub fn to_rfc3339(self) -> String {
        match jiff::Timestamp::from_millisecond(self.0) {
            Ok(ts) => format!("{ts:.3}"),
            Err(_) => format!("@{}ms", self.0),
        }
    }

    pub fn saturating_add(self, d: Duration) -> Self {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_add(ms))
    }

    pub fn saturating_sub(self, d: Duration) -> Self {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_sub(ms))
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_rfc3339())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(TimestampVisitor)
    }
}

/// Reads a string; anything else is refused with the format expected.
struct TimestampVisitor;

impl serde::de::Visitor<'_> for TimestampVisitor {
    type Value = Timestamp;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an ISO 8601 timestamp with an offset, as a string (for example \"2015-07-17T08:42:58.315+0000\")")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Timestamp, E> {
        Timestamp::parse(text).map_err(E::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{0}' is not an ISO 8601 timestamp with an offset (for example 2015-07-17T08:42:58.315+0000)"
)]
pub struct TimestampError(String);

/// The source of `now`. Handlers and background steps ask it once and pass the value down.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The wall clock. The only place in onduty that reads it.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp(jiff::Timestamp::now().as_millisecond())
    }
}

/// A clock that only moves when told to. Tests use it to fast-forward.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        ManualClock(AtomicI64::new(start.0))
    }

    pub fn set(&self, t: Timestamp) {
        self.0.store(t.0, Ordering::SeqCst);
    }

    pub fn advance(&self, d: Duration) {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_formats_monitoring_tools_send() {
        let cases = [
            ("2015-07-17T08:42:58.315+0000", 1_437_122_578_315),
            ("2015-07-17T08:42:58.315Z", 1_437_122_578_315),
            ("2015-07-17T10:42:58.315+02:00", 1_437_122_578_315),
            ("2015-07-17T08:42:58Z", 1_437_122_578_000),
        ];
        for (text, ms) in cases {
            assert_eq!(Timestamp::parse(text).unwrap().as_millis(), ms, "{text}");
        }
    }

    #[test]
    fn refuses_timestamps_without_an_offset_or_garbage() {
        for text in ["2015-07-17T08:42:58", "yesterday", ""] {
            assert!(Timestamp::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn round_trips_through_rfc3339() {
        let t = Timestamp::from_millis(1_437_122_578_315);
        assert_eq!(t.to_rfc3339(), "2015-07-17T08:42:58.315Z");
        assert_eq!(Timestamp::parse(&t.to_rfc3339()).unwrap(), t);
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(Timestamp::from_millis(1_000));
        assert_eq!(clock.now().as_millis(), 1_000);
        clock.advance(Duration::from_secs(2));
        assert_eq!(clock.now().as_millis(), 3_000);
        clock.set(Timestamp::from_millis(10));
        assert_eq!(clock.now().as_millis(), 10);
    }
}
