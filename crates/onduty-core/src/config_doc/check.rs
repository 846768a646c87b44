//! What a document must be before anything is planned from it: values onduty takes, no
//! name twice in a list, and every reference naming something in the document or
//! already on the server (`Known`). Each problem is a field path and a message.

use std::collections::HashSet;

use jiff::civil::{DateTime, Time};

use super::{
    ConfigDoc, HeartbeatDoc, RestrictionDoc, ShiftDoc, ShiftUnit, TargetDoc, VERSION,
    address_problem, duplicates, email_problem, name_problem,
};
use crate::account::TimeZoneName;
use crate::escalation::{MAX_LEVELS, MAX_TARGETS};
use crate::heartbeat::Expect;
use crate::schedule::{
    Day, MAX_LAYERS, MAX_PARTICIPANTS, MAX_RESTRICTIONS, Restriction, ShiftLength,
};
use crate::time::Timestamp;

/// What exists outside the document and may be referred to: the server's people (by
/// e-mail, lower case), teams, schedules and policies (by name, lower case). Empty when
/// what the document does not name is to be deleted (`--prune`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    pub users: HashSet<String>,
    pub teams: HashSet<String>,
    pub schedules: HashSet<String>,
    pub policies: HashSet<String>,
}

impl Known {
    /// What a document names, for another document to refer to.
    pub fn of(doc: &ConfigDoc) -> Known {
        let lower = |s: &String| s.trim().to_lowercase();
        Known {
            users: doc.users.iter().map(|u| lower(&u.email)).collect(),
            teams: doc.teams.iter().map(|t| lower(&t.name)).collect(),
            schedules: doc.schedules.iter().map(|s| lower(&s.name)).collect(),
            policies: doc
                .escalation_policies
                .iter()
                .map(|p| lower(&p.name))
                .collect(),
        }
    }
}

type Problems = Vec<(String, String)>;

/// Every problem in `doc`, by field path.
pub fn check(doc: &ConfigDoc, known: &Known) -> Problems {
    let mut out = Vec::new();
    if doc.version != VERSION {
        out.push((
            "version".to_owned(),
            format!("this onduty reads version {VERSION}"),
        ));
    }
    let lower = |s: &str| s.trim().to_lowercase();
    let users: HashSet<String> = doc
        .users
        .iter()
        .map(|u| lower(&u.email))
        .chain(known.users.iter().cloned())
        .collect();
    let teams: HashSet<String> = doc
        .teams
        .iter()
        .map(|t| lower(&t.name))
        .chain(known.teams.iter().cloned())
        .collect();
    let schedules: HashSet<String> = doc
        .schedules
        .iter()
        .map(|s| lower(&s.name))
        .chain(known.schedules.iter().cloned())
        .collect();
    let policies: HashSet<String> = doc
        .escalation_policies
        .iter()
        .map(|p| lower(&p.name))
        .chain(known.policies.iter().cloned())
        .collect();
    let mut refer = |path: String, kind: &str, set: &HashSet<String>, name: &str| {
        if !set.contains(&lower(name)) {
            out.push((path, format!("no {kind} '{name}'")));
        }
    };
    let mut found: Problems = Vec::new();

    for (i, u) in doc.users.iter().enumerate() {
        let at = format!("users[{i}]");
        if let Some(p) = email_problem(&u.email) {
            found.push((format!("{at}.email"), p));
        }
        if let Some(p) = name_problem(&u.name) {
            found.push((format!("{at}.name"), p));
        }
        if crate::account::time_zone(&u.time_zone).is_none() {
            found.push((
                format!("{at}.time_zone"),
                format!("'{}' is not a time zone", u.time_zone),
            ));
        }
        found.extend(duplicates(
            &format!("{at}.contact_methods"),
            u.contact_methods.iter().map(|c| c.name.as_str()),
            "name",
        ));
        for (j, c) in u.contact_methods.iter().enumerate() {
            if let Some(p) = address_problem(c.channel, &c.address) {
                found.push((format!("{at}.contact_methods[{j}].address"), p));
            }
        }
        for (j, r) in u.notification_rules.iter().enumerate() {
            if !u.contact_methods.iter().any(|c| c.name == r.contact_method) {
                found.push((
                    format!("{at}.notification_rules[{j}].contact_method"),
                    format!("no contact method '{}' of this person", r.contact_method),
                ));
            }
        }
    }
    found.extend(duplicates(
        "users",
        doc.users.iter().map(|u| u.email.as_str()),
        "email",
    ));

    for (i, t) in doc.teams.iter().enumerate() {
        if let Some(p) = name_problem(&t.name) {
            found.push((format!("teams[{i}].name"), p));
        }
        for (j, m) in t.members.iter().enumerate() {
            refer(format!("teams[{i}].members[{j}]"), "person", &users, m);
        }
    }
    found.extend(duplicates(
        "teams",
        doc.teams.iter().map(|t| t.name.as_str()),
        "name",
    ));

    for (i, s) in doc.schedules.iter().enumerate() {
        let at = format!("schedules[{i}]");
        if let Some(p) = name_problem(&s.name) {
            found.push((format!("{at}.name"), p));
        }
        if crate::account::time_zone(&s.time_zone).is_none() {
            found.push((
                format!("{at}.time_zone"),
                format!("'{}' is not a time zone", s.time_zone),
            ));
        }
        if let Some(team) = &s.team {
            refer(format!("{at}.team"), "team", &teams, team);
        }
        if s.layers.is_empty() || s.layers.len() > MAX_LAYERS {
            found.push((
                format!("{at}.layers"),
                format!("a schedule has 1 to {MAX_LAYERS} layers"),
            ));
        }
        for (j, l) in s.layers.iter().enumerate() {
            let at = format!("{at}.layers[{j}]");
            if l.participants.is_empty() || l.participants.len() > MAX_PARTICIPANTS {
                found.push((
                    format!("{at}.participants"),
                    format!("a layer has 1 to {MAX_PARTICIPANTS} participants"),
                ));
            }
            for (k, p) in l.participants.iter().enumerate() {
                refer(format!("{at}.participants[{k}]"), "person", &users, p);
            }
            if let Err(p) = layer_start(&l.start) {
                found.push((format!("{at}.start"), p));
            }
            if let Err(p) = shift(l.shift) {
                found.push((format!("{at}.shift.count"), p));
            }
            if l.restrictions.len() > MAX_RESTRICTIONS {
                found.push((
                    format!("{at}.restrictions"),
                    format!("at most {MAX_RESTRICTIONS} restrictions"),
                ));
            }
            for (k, r) in l.restrictions.iter().enumerate() {
                if let Err(p) = restriction(r) {
                    found.push((format!("{at}.restrictions[{k}]"), p));
                }
            }
        }
        for (j, o) in s.overrides.iter().enumerate() {
            let at = format!("{at}.overrides[{j}]");
            refer(format!("{at}.user"), "person", &users, &o.user);
            match (Timestamp::parse(&o.start), Timestamp::parse(&o.end)) {
                (Ok(start), Ok(end)) if start < end => {}
                (Ok(_), Ok(_)) => {
                    found.push((format!("{at}.end"), "must come after start".to_owned()))
                }
                (Err(_), _) => found.push((format!("{at}.start"), rfc3339(&o.start))),
                (_, Err(_)) => found.push((format!("{at}.end"), rfc3339(&o.end))),
            }
        }
    }
    found.extend(duplicates(
        "schedules",
        doc.schedules.iter().map(|s| s.name.as_str()),
        "name",
    ));

    for (i, p) in doc.escalation_policies.iter().enumerate() {
        let at = format!("escalation_policies[{i}]");
        if let Some(problem) = name_problem(&p.name) {
            found.push((format!("{at}.name"), problem));
        }
        if let Some(team) = &p.team {
            refer(format!("{at}.team"), "team", &teams, team);
        }
        if p.levels.is_empty() || p.levels.len() > MAX_LEVELS {
            found.push((
                format!("{at}.levels"),
                format!("a policy has 1 to {MAX_LEVELS} levels"),
            ));
        }
        for (j, level) in p.levels.iter().enumerate() {
            if level.targets.is_empty() || level.targets.len() > MAX_TARGETS {
                found.push((
                    format!("{at}.levels[{j}].targets"),
                    format!("a level has 1 to {MAX_TARGETS} targets"),
                ));
            }
            for (k, t) in level.targets.iter().enumerate() {
                let path = format!("{at}.levels[{j}].targets[{k}]");
                match t {
                    TargetDoc::User(u) => refer(path, "person", &users, u),
                    TargetDoc::Schedule(s) => refer(path, "schedule", &schedules, s),
                    TargetDoc::Policy(name) if lower(name) == lower(&p.name) => found.push((
                        path,
                        "a policy cannot hand incidents over to itself".to_owned(),
                    )),
                    TargetDoc::Policy(name) => refer(path, "escalation policy", &policies, name),
                }
            }
        }
    }
    found.extend(duplicates(
        "escalation_policies",
        doc.escalation_policies.iter().map(|p| p.name.as_str()),
        "name",
    ));

    for (i, s) in doc.services.iter().enumerate() {
        let at = format!("services[{i}]");
        if let Some(p) = name_problem(&s.name) {
            found.push((format!("{at}.name"), p));
        }
        if let Some(team) = &s.team {
            refer(format!("{at}.team"), "team", &teams, team);
        }
        if let Some(policy) = &s.escalation_policy {
            refer(
                format!("{at}.escalation_policy"),
                "escalation policy",
                &policies,
                policy,
            );
        }
        for (field, value) in [
            ("ack_timeout_minutes", s.ack_timeout_minutes),
            ("auto_resolve_minutes", s.auto_resolve_minutes),
        ] {
            if let Some(Err(p)) = value.map(|m| crate::service::parse_timeout(field, m)) {
                found.push((format!("{at}.{field}"), p));
            }
        }
        for (field, value) in [
            ("group_window_minutes", s.group_window_minutes),
            ("flap_window_minutes", s.flap_window_minutes),
        ] {
            if let Some(Err(p)) = value.map(|m| crate::noise::parse_window(field, m)) {
                found.push((format!("{at}.{field}"), p));
            }
        }
        found.extend(duplicates(
            &format!("{at}.integrations"),
            s.integrations.iter().map(|i| i.name.as_str()),
            "name",
        ));
        for (j, integration) in s.integrations.iter().enumerate() {
            if let Some(p) = name_problem(&integration.name) {
                found.push((format!("{at}.integrations[{j}].name"), p));
            }
            if let Some(key) = &integration.key
                && crate::RoutingKey::parse(key).is_err()
            {
                found.push((
                    format!("{at}.integrations[{j}].key"),
                    "an integration key is 32 letters and digits".to_owned(),
                ));
            }
        }
    }
    for (i, s) in doc.services.iter().enumerate() {
        let at = format!("services[{i}].heartbeats");
        found.extend(duplicates(
            &at,
            s.heartbeats.iter().map(|h| h.name.as_str()),
            "name",
        ));
        for (j, h) in s.heartbeats.iter().enumerate() {
            if let Err(p) = heartbeat_expect(h) {
                found.push((format!("{at}[{j}]"), p));
            }
            if let Some(key) = &h.key
                && crate::RoutingKey::parse(key).is_err()
            {
                found.push((
                    format!("{at}[{j}].key"),
                    "a ping key is 32 letters and digits".to_owned(),
                ));
            }
        }
    }
    found.extend(duplicates(
        "services",
        doc.services.iter().map(|s| s.name.as_str()),
        "name",
    ));
    out.extend(found);
    out
}

fn rfc3339(text: &str) -> String {
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

/// A layer's first handoff, on the schedule's clock.
pub fn layer_start(text: &str) -> Result<DateTime, String> {
    text.trim()
        .parse::<DateTime>()
        .map_err(|_| format!("'{text}' is not a date and time such as 2026-01-05T09:00"))
}

pub fn shift(doc: ShiftDoc) -> Result<ShiftLength, String> {
    if doc.count == 0 || doc.count > 1000 {
        return Err("a shift is 1 to 1000 of its unit".to_owned());
    }
    Ok(match doc.unit {
        ShiftUnit::Hours => ShiftLength::Hours(doc.count),
        ShiftUnit::Days => ShiftLength::Days(doc.count),
        ShiftUnit::Weeks => ShiftLength::Weeks(doc.count),
    })
}

fn time_of_day(text: &str) -> Result<Time, String> {
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
