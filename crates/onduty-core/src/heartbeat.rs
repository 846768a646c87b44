//! Heartbeats, the dead man's switch: a job pings onduty when it runs (healthchecks.io's
//! `/ping/<key>` family); a ping that does not come in time, or one that reports a
//! failure, opens an incident, and the next success resolves it.
//!
//! A heartbeat expects a ping every period, or on a cron schedule in a time zone, each
//! with a grace period. Pure: the caller passes the times; `due_after` says when a
//! heartbeat is overdue.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::account::TimeZoneName;
use crate::event::{AlertEvent, parse_alert_event};
use crate::time::Timestamp;

/// The part of a ping's body that is kept.
pub const BODY_KEPT: usize = 10 * 1024;
/// Longest period or grace, in minutes (a year).
pub const MAX_MINUTES: u32 = 366 * 24 * 60;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeartbeatError {
    #[error("'{0}' is 1 to {MAX_MINUTES} minutes")]
    Minutes(&'static str),
    #[error("'cron' is not a cron expression: {0}")]
    Cron(String),
    #[error("'cron' never matches a time")]
    NeverDue,
}

/// When pings are expected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Expect {
    /// A ping at least every `period_minutes`, `grace_minutes` late at most.
    Period {
        period_minutes: u32,
        grace_minutes: u32,
    },
    /// A ping at each time of a cron expression (5 or 6 fields) on `time_zone`'s wall
    /// clock, `grace_minutes` late at most.
    Cron {
        cron: String,
        time_zone: TimeZoneName,
        grace_minutes: u32,
    },
}

fn minutes(name: &'static str, m: u32, zero_ok: bool) -> Result<u32, HeartbeatError> {
    if (m == 0 && !zero_ok) || m > MAX_MINUTES {
        return Err(HeartbeatError::Minutes(name));
    }
    Ok(m)
}

fn parse_cron(text: &str) -> Result<croner::Cron, HeartbeatError> {
    text.trim()
        .parse::<croner::Cron>()
        .map_err(|e| HeartbeatError::Cron(e.to_string()))
}

impl Expect {
    pub fn period(period_minutes: u32, grace_minutes: u32) -> Result<Expect, HeartbeatError> {
        Ok(Expect::Period {
            period_minutes: minutes("period_minutes", period_minutes, false)?,
            grace_minutes: minutes("grace_minutes", grace_minutes, true)?,
        })
    }

    pub fn cron(
        cron: &str,
        time_zone: TimeZoneName,
        grace_minutes: u32,
    ) -> Result<Expect, HeartbeatError> {
        parse_cron(cron)?;
        let expect = Expect::Cron {
            cron: cron.trim().to_owned(),
            time_zone,
            grace_minutes: minutes("grace_minutes", grace_minutes, true)?,
        };
        // Proven to match some time from now on.
        expect
            .due_after(Timestamp::from_millis(0))
            .ok_or(HeartbeatError::NeverDue)?;
        Ok(expect)
    }

    fn grace(&self) -> Duration {
        let m = match self {
            Expect::Period { grace_minutes, .. } | Expect::Cron { grace_minutes, .. } => {
                *grace_minutes
            }
        };
        Duration::from_secs(u64::from(m) * 60)
    }

    /// When the next ping is expected, after one at `since` (or the heartbeat's creation).
    pub fn expected_after(&self, since: Timestamp) -> Option<Timestamp> {
        match self {
            Expect::Period { period_minutes, .. } => {
                Some(since.saturating_add(Duration::from_secs(u64::from(*period_minutes) * 60)))
            }
            Expect::Cron {
                cron, time_zone, ..
            } => {
                let cron = parse_cron(cron).ok()?;
                let tz = time_zone.zone();
                let from = jiff::Timestamp::from_millisecond(since.as_millis())
                    .ok()?
                    .to_zoned(tz);
                let next = cron.find_next_occurrence(&from, false).ok()?;
                Some(Timestamp::from_millis(next.timestamp().as_millisecond()))
            }
        }
    }

    /// When a heartbeat last pinged (or made) at `since` is overdue: the next expected
    /// ping plus the grace period.
    pub fn due_after(&self, since: Timestamp) -> Option<Timestamp> {
        Some(self.expected_after(since)?.saturating_add(self.grace()))
    }

    /// A crontab line for a job that runs on this schedule and reports to `url`.
    pub fn crontab_line(&self, url: &str) -> String {
        let when = match self {
            Expect::Cron { cron, .. } => cron.clone(),
            Expect::Period { period_minutes, .. } => match *period_minutes {
                m if m < 60 && 60 % m == 0 => format!("*/{m} * * * *"),
                60 => "0 * * * *".to_owned(),
                m if m % 60 == 0 && m < 1440 && 24 % (m / 60) == 0 => {
                    format!("0 */{} * * *", m / 60)
                }
                1440 => "0 3 * * *".to_owned(),
                _ => "0 3 * * *".to_owned(),
            },
        };
        format!(
            "{when} /path/to/job && curl -fsS -m 10 --retry 5 -o /dev/null {url} || curl -fsS -m 10 --retry 5 -o /dev/null {url}/fail"
        )
    }
}

/// What a ping says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ping {
    Success,
    /// The job started (it is not a success: the finish is still to come).
    Start,
    Fail,
    /// The job's exit status: 0 is a success.
    Exit(u8),
}

impl Ping {
    /// The ping a URL's tail means: none, `start`, `fail` or an exit status 0–255.
    pub fn parse(tail: Option<&str>) -> Option<Ping> {
        match tail {
            None | Some("") => Some(Ping::Success),
            Some("start") => Some(Ping::Start),
            Some("fail") => Some(Ping::Fail),
            Some(code) if code.bytes().all(|b| b.is_ascii_digit()) && code.len() <= 3 => code
                .parse::<u8>()
                .ok()
                .map(|c| if c == 0 { Ping::Success } else { Ping::Exit(c) }),
            _ => None,
        }
    }

    pub fn is_failure(self) -> bool {
        matches!(self, Ping::Fail | Ping::Exit(_))
    }

    pub fn as_str(self) -> String {
        match self {
            Ping::Success => "success".to_owned(),
            Ping::Start => "start".to_owned(),
            Ping::Fail => "fail".to_owned(),
            Ping::Exit(c) => format!("exit {c}"),
        }
    }
}

/// "1 h 10 min", "3 days 2 h", "45 s".
pub fn duration_words(d: Duration) -> String {
    let s = d.as_secs();
    let (days, hours, mins) = (s / 86_400, (s % 86_400) / 3_600, (s % 3_600) / 60);
    match (days, hours, mins) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (1, 0, _) => "1 day".to_owned(),
        (1, h, _) => format!("1 day {h} h"),
        (d, 0, _) => format!("{d} days"),
        (d, h, _) => format!("{d} days {h} h"),
    }
}

/// An incident's summary for a heartbeat that has not reported since `last` (or since
/// it was made, if it never has).
pub fn late_summary(
    name: &str,
    last: Option<Timestamp>,
    made: Timestamp,
    now: Timestamp,
) -> String {
    match last {
        Some(at) => format!(
            "{name} has not reported for {}",
            duration_words(now.since(at))
        ),
        None => format!(
            "{name} has never reported ({} since it was set up)",
            duration_words(now.since(made))
        ),
    }
}

/// An incident's summary for a failure ping.
pub fn failure_summary(name: &str, ping: Ping) -> String {
    match ping {
        Ping::Exit(code) => format!("{name} failed (exit status {code})"),
        _ => format!("{name} reported a failure"),
    }
}

/// Every incident of a heartbeat has this dedup key: one is open at a time.
pub const DEDUP_KEY: &str = "heartbeat";

/// The event that opens (or adds to) a heartbeat's incident.
pub fn trigger_event(routing_key: &str, summary: &str, details: serde_json::Value) -> AlertEvent {
    let event = serde_json::json!({
        "routing_key": routing_key, "event_action": "trigger", "dedup_key": DEDUP_KEY,
        "client": "onduty heartbeats",
        "payload": {"summary": summary, "source": "heartbeat", "severity": "critical",
                    "custom_details": details},
    });
    parse_alert_event(&event)
        .expect("a heartbeat's event is valid")
        .value
}

/// The event that resolves a heartbeat's incident.
pub fn resolve_event(routing_key: &str) -> AlertEvent {
    let event = serde_json::json!({
        "routing_key": routing_key, "event_action": "resolve", "dedup_key": DEDUP_KEY,
    });
    parse_alert_event(&event)
        .expect("a heartbeat's event is valid")
        .value
}

/// What is kept of a ping's body: its first [`BODY_KEPT`] bytes as text, with NUL
/// characters replaced (see [`crate::text::without_nul`]) and, for mail, the keys it was
/// addressed to hidden, since anyone who reads a key can send pings with it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PingBody(String);

/// What stands in a kept mail for a key it was addressed to.
pub const KEY_HIDDEN: &str = "(key hidden)";

impl PingBody {
    /// The body of an HTTP ping.
    pub fn of_request(body: &[u8]) -> PingBody {
        let text = String::from_utf8_lossy(&body[..body.len().min(BODY_KEPT)]);
        PingBody(crate::text::without_nul(&text).into_owned())
    }

    /// A whole mail message (headers and body), with every key in `keys` hidden.
    pub fn of_mail(message: &[u8], keys: &[&str]) -> PingBody {
        let mut text = String::from_utf8_lossy(message).into_owned();
        for key in keys.iter().filter(|k| !k.is_empty()) {
            // Addresses are case-insensitive; keys are lowercase.
            text = replace_ignoring_ascii_case(&text, key, KEY_HIDDEN);
        }
        let mut end = text.len().min(BODY_KEPT);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        PingBody(crate::text::without_nul(&text[..end]).into_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn replace_ignoring_ascii_case(text: &str, find: &str, with: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let find = find.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    while let Some(at) = lower[from..].find(&find) {
        out.push_str(&text[from..from + at]);
        out.push_str(with);
        from += at + find.len();
    }
    out.push_str(&text[from..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn a_period_is_due_after_the_period_and_the_grace() {
        let e = Expect::period(60, 10).unwrap();
        assert_eq!(
            e.due_after(at("2026-11-22T08:00:00Z")),
            Some(at("2026-11-22T09:10:00Z"))
        );
        assert!(Expect::period(0, 10).is_err());
        assert!(Expect::period(60, MAX_MINUTES + 1).is_err());
    }

    #[test]
    fn a_cron_schedule_is_due_at_its_next_time_on_its_clock_plus_grace() {
        // 03:00 every day in London: 03:00 UTC in winter, 02:00 UTC in summer.
        let e = Expect::cron(
            "0 3 * * *",
            TimeZoneName::parse("Europe/London").unwrap(),
            30,
        )
        .unwrap();
        assert_eq!(
            e.due_after(at("2026-11-22T03:05:00Z")),
            Some(at("2026-11-23T03:30:00Z"))
        );
        assert_eq!(
            e.due_after(at("2026-07-01T12:00:00Z")),
            Some(at("2026-07-02T02:30:00Z"))
        );
        // A ping just before the run counts for that run: the next is the day after.
        assert_eq!(
            e.expected_after(at("2026-11-22T02:59:00Z")),
            Some(at("2026-11-22T03:00:00Z"))
        );
        assert!(matches!(
            Expect::cron("every night", TimeZoneName::utc(), 0),
            Err(HeartbeatError::Cron(_))
        ));
        assert_eq!(
            Expect::cron("0 0 31 2 *", TimeZoneName::utc(), 0),
            Err(HeartbeatError::NeverDue),
            "31 February"
        );
    }

    #[test]
    fn a_cron_schedule_stored_with_a_zone_no_longer_taken_runs_on_utc() {
        let stored = r#"{"type": "cron", "cron": "0 3 * * *", "time_zone": "localtime", "grace_minutes": 0}"#;
        let e: Expect = serde_json::from_str(stored).unwrap();
        assert!(matches!(&e, Expect::Cron { time_zone, .. } if *time_zone == TimeZoneName::utc()));
        assert_eq!(
            e.expected_after(at("2026-07-01T12:00:00Z")),
            Some(at("2026-07-02T03:00:00Z"))
        );
        let stored = r#"{"type": "cron", "cron": "0 3 * * *", "time_zone": "europe/london", "grace_minutes": 0}"#;
        let e: Expect = serde_json::from_str(stored).unwrap();
        assert_eq!(
            e.expected_after(at("2026-07-01T12:00:00Z")),
            Some(at("2026-07-02T02:00:00Z"))
        );
    }

    #[test]
    fn a_kept_body_has_no_nul_and_a_kept_mail_no_key() {
        assert_eq!(PingBody::of_request(b"ok\0").as_str(), "ok\u{FFFD}");
        let long = vec![b'x'; BODY_KEPT + 10];
        assert_eq!(PingBody::of_request(&long).as_str().len(), BODY_KEPT);
        let key = "3f0c9a8b7c6d5e4f3a2b1c0d9e8f7a6b";
        let mail = format!(
            "To: <{}@onduty.example.com>\r\nCc: {key}@onduty.example.com\r\n\r\ndone\0",
            key.to_ascii_uppercase()
        );
        let kept = PingBody::of_mail(mail.as_bytes(), &[key]);
        assert_eq!(
            kept.as_str(),
            "To: <(key hidden)@onduty.example.com>\r\nCc: (key hidden)@onduty.example.com\r\n\r\ndone\u{FFFD}"
        );
        // Hidden before it is cut, so a key at the cut cannot show in part.
        let mut at_the_end = "x".repeat(BODY_KEPT - 10);
        at_the_end.push_str(key);
        assert!(
            !PingBody::of_mail(at_the_end.as_bytes(), &[key])
                .as_str()
                .contains("3f0c9a8b")
        );
    }

    #[test]
    fn pings_read_like_healthchecks() {
        assert_eq!(Ping::parse(None), Some(Ping::Success));
        assert_eq!(Ping::parse(Some("start")), Some(Ping::Start));
        assert_eq!(Ping::parse(Some("fail")), Some(Ping::Fail));
        assert_eq!(Ping::parse(Some("0")), Some(Ping::Success));
        assert_eq!(Ping::parse(Some("3")), Some(Ping::Exit(3)));
        assert_eq!(Ping::parse(Some("255")), Some(Ping::Exit(255)));
        assert_eq!(Ping::parse(Some("256")), None);
        assert_eq!(Ping::parse(Some("log")), None);
        assert!(Ping::Exit(1).is_failure() && Ping::Fail.is_failure());
        assert!(!Ping::Start.is_failure() && !Ping::Success.is_failure());
    }

    #[test]
    fn summaries_say_how_long_in_words() {
        let made = at("2026-11-21T00:00:00Z");
        assert_eq!(
            late_summary(
                "nightly-backup",
                Some(at("2026-11-22T01:50:00Z")),
                made,
                at("2026-11-22T03:00:00Z")
            ),
            "nightly-backup has not reported for 1 h 10 min"
        );
        assert_eq!(
            late_summary("sync", None, made, at("2026-11-23T02:00:00Z")),
            "sync has never reported (2 days 2 h since it was set up)"
        );
        assert_eq!(
            failure_summary("sync", Ping::Exit(3)),
            "sync failed (exit status 3)"
        );
        assert_eq!(duration_words(Duration::from_secs(45)), "45 s");
    }

    #[test]
    fn crontab_lines_run_the_job_and_report_either_way() {
        let e = Expect::period(15, 5).unwrap();
        assert_eq!(
            e.crontab_line("http://o/ping/k"),
            "*/15 * * * * /path/to/job && curl -fsS -m 10 --retry 5 -o /dev/null http://o/ping/k || curl -fsS -m 10 --retry 5 -o /dev/null http://o/ping/k/fail"
        );
        let c = Expect::cron("30 2 * * 1-5", TimeZoneName::utc(), 0).unwrap();
        assert!(c.crontab_line("u").starts_with("30 2 * * 1-5 "));
    }
}
