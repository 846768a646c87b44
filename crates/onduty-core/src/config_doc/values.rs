//! What each of a document's values means to onduty: a layer's start, a shift, a
//! restriction, an integration's settings, a heartbeat's expectations. Each conversion
//! uses onduty's own rules and says in a sentence what it refuses.

use jiff::civil::{DateTime, Time};

use super::{HeartbeatDoc, IntegrationDoc, LayerDoc, RestrictionDoc, ShiftDoc, ShiftUnit};
use crate::UserId;
use crate::account::TimeZoneName;
use crate::heartbeat::Expect;
use crate::schedule::{Day, Layer, Restriction, ShiftLength};
use crate::service::{IntegrationKind, IntegrationSettings};

pub(super) fn rfc3339(text: &str) -> String {
    format!("'{text}' is not a time such as 2026-12-24T18:00:00Z")
}

/// When a heartbeat expects its pings: a period or a cron expression, not both.
pub fn heartbeat_expect(doc: &HeartbeatDoc) -> Result<Expect, String> {
    if doc.name.trim().is_empty() || doc.name.chars().count() > 100 {
        return Err("a heartbeat's name is 1 to 100 characters".to_owned());
    }
    match (doc.period_minutes, &doc.cron) {
        (Some(period), None) => {
            Expect::period(period, doc.grace_minutes).map_err(|e| e.to_string())
        }
        (None, Some(cron)) => {
            let zone = doc.time_zone.as_deref().unwrap_or("UTC");
            let zone = TimeZoneName::parse(zone).map_err(|e| e.to_string())?;
            Expect::cron(cron, zone, doc.grace_minutes).map_err(|e| e.to_string())
        }
        _ => Err("give either 'period_minutes' or 'cron'".to_owned()),
    }
}

/// A layer as onduty keeps it, with its participants' ids (the document names them by
/// e-mail).
pub fn layer(doc: &LayerDoc, participants: Vec<UserId>) -> Result<Layer, String> {
    Ok(Layer {
        name: doc.name.clone(),
        participants,
        start: layer_start(&doc.start)?,
        shift: shift(doc.shift)?,
        restrictions: doc
            .restrictions
            .iter()
            .map(restriction)
            .collect::<Result<_, _>>()?,
    })
}

/// A layer's first handoff, on the schedule's clock.
pub fn layer_start(text: &str) -> Result<DateTime, String> {
    text.trim()
        .parse::<DateTime>()
        .map_err(|_| format!("'{text}' is not a date and time such as 2026-01-05T09:00"))
}

pub fn shift(doc: ShiftDoc) -> Result<ShiftLength, String> {
    let shift = match doc.unit {
        ShiftUnit::Hours => ShiftLength::Hours(doc.count),
        ShiftUnit::Days => ShiftLength::Days(doc.count),
        ShiftUnit::Weeks => ShiftLength::Weeks(doc.count),
    };
    shift.check().map_err(|e| e.to_string())?;
    Ok(shift)
}

/// An integration's settings as onduty takes them: `group_by` for Alertmanager and
/// Grafana, a `mapping` for (and only for) JSON webhooks, `mail` rules only for e-mail;
/// heartbeats' integrations come with their heartbeats.
pub fn integration_settings(doc: &IntegrationDoc) -> Result<IntegrationSettings, String> {
    let kind = doc.kind;
    if kind == IntegrationKind::Heartbeat {
        return Err(
            "a heartbeat's integration is made with its heartbeat: list it under 'heartbeats'"
                .to_owned(),
        );
    }
    if doc.group_by.is_some()
        && !matches!(
            kind,
            IntegrationKind::Alertmanager | IntegrationKind::Grafana
        )
    {
        return Err("only Alertmanager and Grafana integrations take 'group_by'".to_owned());
    }
    let mapping = match (kind, &doc.mapping) {
        (IntegrationKind::Webhook, Some(m)) => Some(
            serde_json::from_value::<crate::webhook::Mapping>(m.clone())
                .map_err(|e| format!("'mapping': {e}"))?,
        ),
        (IntegrationKind::Webhook, None) => {
            return Err("a JSON webhook needs its 'mapping'".to_owned());
        }
        (_, Some(_)) => return Err("only JSON webhooks take a 'mapping'".to_owned()),
        (_, None) => None,
    };
    let mail = match (kind, &doc.mail) {
        (IntegrationKind::Email, Some(m)) => {
            let rules = serde_json::from_value::<crate::mail::MailRules>(m.clone())
                .map_err(|e| format!("'mail': {e}"))?;
            rules
                .check()
                .map_err(|e| format!("'mail': {}", e.join("; ")))?;
            Some(rules)
        }
        (_, Some(_)) => return Err("only e-mail integrations take 'mail' rules".to_owned()),
        (_, None) => None,
    };
    Ok(IntegrationSettings {
        group_by: doc.group_by.unwrap_or_default(),
        mapping,
        mail,
    })
}

pub(super) fn time_of_day(text: &str) -> Result<Time, String> {
    text.trim()
        .parse::<Time>()
        .map_err(|_| format!("'{text}' is not a time of day such as 09:00"))
}

fn day(text: &str) -> Result<Day, String> {
    serde_json::from_value(serde_json::Value::String(text.trim().to_lowercase()))
        .map_err(|_| format!("'{text}' is not a day (monday … sunday)"))
}

pub fn restriction(doc: &RestrictionDoc) -> Result<Restriction, String> {
    Ok(match doc {
        RestrictionDoc::Daily { start, end } => Restriction::Daily {
            start: time_of_day(start)?,
            end: time_of_day(end)?,
        },
        RestrictionDoc::Weekly {
            start_day,
            start,
            end_day,
            end,
        } => Restriction::Weekly {
            start_day: day(start_day)?,
            start: time_of_day(start)?,
            end_day: day(end_day)?,
            end: time_of_day(end)?,
        },
    })
}
