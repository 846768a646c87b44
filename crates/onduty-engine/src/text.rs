//! Words the engine puts on timelines and in notices.

use onduty_core::Timestamp;
use onduty_core::contact::ContactMethod;
use onduty_core::escalation::{Policy, Position, Reached};

/// "Mon 23 Nov 09:00" on a time zone's wall clock.
pub(crate) fn wall_clock(at: Timestamp, zone: &jiff::tz::TimeZone) -> String {
    match jiff::Timestamp::from_millisecond(at.as_millis()) {
        Ok(ts) => ts
            .to_zoned(zone.clone())
            .strftime("%a %d %b %H:%M")
            .to_string(),
        Err(_) => at.to_rfc3339(),
    }
}

/// A time zone by name, from the database built into onduty; UTC if unknown.
pub(crate) fn zone(name: Option<&str>) -> jiff::tz::TimeZone {
    name.and_then(onduty_core::account::time_zone)
        .unwrap_or(jiff::tz::TimeZone::UTC)
}

/// Whether a person's contact method can be paged now, or the timeline line saying why not.
pub(crate) fn may_send(method: Option<&ContactMethod>, user_name: &str) -> Result<(), String> {
    match method {
        None => Err(format!("{user_name}'s contact method was removed; skipped")),
        Some(m) if m.can_page() => Ok(()),
        Some(m) if m.failing.is_some() => {
            Err(format!("{} skipped: it is failing", m.to_owner(user_name)))
        }
        Some(m) => Err(format!(
            "{} skipped: not verified yet",
            m.to_owner(user_name)
        )),
    }
}

/// "Escalation policy Ops, level 2, repeat 1".
pub(crate) fn describe_level(policy: &Policy, reached: &Reached) -> String {
    let Position { level, round, .. } = reached.position;
    let repeat = if round > 0 {
        format!(", repeat {round}")
    } else {
        String::new()
    };
    format!(
        "Escalation policy {}, level {}{repeat}",
        policy.name,
        level + 1
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_on_the_zones_wall_clock() {
        let at = Timestamp::parse("2026-11-23T09:00:00Z").unwrap();
        assert_eq!(wall_clock(at, &zone(None)), "Mon 23 Nov 09:00");
        assert_eq!(
            wall_clock(at, &zone(Some("Europe/Berlin"))),
            "Mon 23 Nov 10:00"
        );
        assert_eq!(
            wall_clock(at, &zone(Some("Nowhere/Else"))),
            "Mon 23 Nov 09:00"
        );
    }
}
