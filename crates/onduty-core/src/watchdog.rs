//! Who watches the watchman. While its engine is healthy, the instance running it pings
//! an outside dead-man's switch every [`PING_EVERY`]; if onduty or its engine stops, the
//! pings stop and that outside service pages someone. And an instance that takes the
//! engine over from a holder whose lease ran out (rather than was given up on shutdown)
//! raises an incident saying so ([`Takeover`]).

use std::time::Duration;

use crate::event::{AlertEvent, parse_alert_event};
use crate::heartbeat::duration_words;
use crate::time::Timestamp;

/// How often the dead-man's switch hears from a healthy engine.
pub const PING_EVERY: Duration = Duration::from_secs(60);

/// When the next ping is due: at once if none was sent (or the clock went back past the
/// last one), else [`PING_EVERY`] after the last one.
pub fn next_ping(last: Option<Timestamp>, now: Timestamp) -> Timestamp {
    match last {
        Some(at) if at <= now => at.saturating_add(PING_EVERY),
        _ => now,
    }
}

/// The dedup key of the incident a takeover raises: takeovers fold into one open incident.
pub const TAKEOVER_DEDUP_KEY: &str = "onduty-engine-takeover";

/// An instance took the engine lease from a holder that had stopped renewing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Takeover {
    /// The instance that stopped.
    pub from: String,
    /// When its lease ran out.
    pub ran_out_at: Timestamp,
    /// The instance that took over.
    pub by: String,
    pub at: Timestamp,
}

impl Takeover {
    /// Reads the lease as it was just before `me` took it at `now`: a takeover if another
    /// instance held it and its time had run out. A lease given up on shutdown has no
    /// holder, and taking it is no news.
    pub fn of(previous: Option<(String, Timestamp)>, me: &str, now: Timestamp) -> Option<Takeover> {
        match previous {
            Some((from, ran_out_at)) if from != me && ran_out_at <= now => Some(Takeover {
                from,
                ran_out_at,
                by: me.to_owned(),
                at: now,
            }),
            _ => None,
        }
    }

    pub fn summary(&self) -> String {
        format!(
            "onduty's paging engine stopped on {}: its lease ran out {} before {} took over",
            self.from,
            duration_words(self.at.since(self.ran_out_at)),
            self.by
        )
    }

    /// The trigger event onduty sends itself through `routing_key`.
    pub fn event(&self, routing_key: &str) -> AlertEvent {
        let event = serde_json::json!({
            "routing_key": routing_key, "event_action": "trigger",
            "dedup_key": TAKEOVER_DEDUP_KEY, "client": "onduty watchdog",
            "payload": {
                "summary": self.summary(), "source": self.by, "severity": "critical",
                "custom_details": {
                    "stopped instance": self.from,
                    "lease ran out at": self.ran_out_at.to_rfc3339(),
                    "taken over by": self.by,
                    "taken over at": self.at.to_rfc3339(),
                    "what to look at": "the stopped instance's logs, and why it exited or hung; \
                                        pages went on from the new holder",
                },
            },
        });
        parse_alert_event(&event)
            .expect("the takeover event is valid")
            .value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seconds: i64) -> Timestamp {
        Timestamp::from_millis(1_800_000_000_000 + seconds * 1000)
    }

    #[test]
    fn pings_go_at_once_then_every_minute() {
        assert_eq!(next_ping(None, t(5)), t(5));
        assert_eq!(next_ping(Some(t(5)), t(30)), t(65));
        // The wall clock stepped back: the pings do not stop until it catches up.
        assert_eq!(next_ping(Some(t(5)), t(2)), t(2));
    }

    #[test]
    fn only_a_lease_that_ran_out_on_another_instance_is_a_takeover() {
        let held = |who: &str, until| Some((who.to_owned(), until));
        // (lease before, taker, at) → takeover?
        let table = [
            (None, "b", t(10), false),
            (held("a", t(9)), "b", t(10), true),
            (held("a", t(10)), "b", t(10), true),
            // Still held: not taken (the store would not have given it), not news.
            (held("a", t(11)), "b", t(10), false),
            // Its own lease, renewed late.
            (held("b", t(9)), "b", t(10), false),
        ];
        for (previous, me, now, expected) in table {
            assert_eq!(
                Takeover::of(previous.clone(), me, now).is_some(),
                expected,
                "{previous:?} {me} {now:?}"
            );
        }
    }

    #[test]
    fn a_takeover_says_who_stopped_and_for_how_long() {
        let takeover = Takeover::of(Some(("host-a:17".to_owned(), t(0))), "host-b:9", t(16))
            .expect("a takeover");
        assert_eq!(
            takeover.summary(),
            "onduty's paging engine stopped on host-a:17: its lease ran out 16 s before host-b:9 took over"
        );
        let key = "k".repeat(32);
        let event = takeover.event(&key);
        assert_eq!(event.routing_key.map(|k| k.as_str().to_owned()), Some(key));
    }
}
