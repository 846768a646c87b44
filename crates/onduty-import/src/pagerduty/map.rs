//! A PagerDuty account as an onduty document, with the report: pure.

use std::collections::HashMap;

use jiff::tz::TimeZone;
use onduty_core::Timestamp;
use onduty_core::account::Role;
use onduty_core::config_doc::{
    self, ConfigDoc, ContactDoc, LayerDoc, LevelDoc, OverrideDoc, PolicyDoc, RestrictionDoc,
    RuleDoc, ScheduleDoc, ServiceDoc, ShiftDoc, ShiftUnit, TargetDoc, TeamDoc, UserDoc,
};
use onduty_core::contact::{Channel, RuleUrgency};
use onduty_core::escalation::LevelMode;
use onduty_core::service::{IntegrationKind, ServiceUrgency};
use serde_json::Value;

use super::types::*;
use super::{Account, PRODUCT};
use crate::Imported;
use crate::compare::{SourceShift, compare};
use crate::report::Report;

/// The account as an onduty document, with the report; pure.
pub fn map(
    account: &Account,
    now: Timestamp,
    days: u32,
    mut new_key: impl FnMut() -> String,
) -> Imported {
    let mut report = Report {
        product: PRODUCT,
        ..Report::default()
    };
    let email: HashMap<&str, String> = account
        .users
        .iter()
        .map(|u| (u.id.as_str(), u.email.trim().to_lowercase()))
        .collect();
    let mut doc = ConfigDoc {
        version: config_doc::VERSION,
        ..ConfigDoc::default()
    };
    doc.users = account.users.iter().map(|u| user(u, &mut report)).collect();
    let team_name: HashMap<&str, &str> = account
        .teams
        .iter()
        .map(|(t, _)| (t.id.as_str(), t.name.as_str()))
        .collect();
    if let Some(why) = &account.teams_refused {
        report.unmapped("teams", format!("{why}; make them in onduty"));
    }
    for (t, members) in &account.teams {
        doc.teams.push(TeamDoc {
            name: t.name.clone(),
            members: members
                .iter()
                .filter_map(|m| email.get(m.as_str()).cloned())
                .collect(),
            chat_channels: Vec::new(),
        });
        report.exact(format!("team {}", t.name));
    }
    let first_team = |what: &str, teams: &[Reference], report: &mut Report| {
        if teams.len() > 1 {
            report.approximate(
                what.to_owned(),
                format!("owned by {} teams; onduty keeps the first", teams.len()),
            );
        }
        teams
            .first()
            .and_then(|t| team_name.get(t.id.as_str()))
            .map(|n| (*n).to_owned())
    };
    let schedule_name: HashMap<&str, &str> = account
        .schedules
        .iter()
        .map(|(s, _)| (s.id.as_str(), s.name.as_str()))
        .collect();
    for (s, overrides) in &account.schedules {
        let what = format!("schedule {}", s.name);
        let team = first_team(&what, &s.teams, &mut report);
        if let Some(doc_schedule) = schedule(s, overrides, &email, team, now, &mut report) {
            let shifts: Vec<SourceShift> = account
                .on_call
                .get(&s.id)
                .into_iter()
                .flatten()
                .filter_map(|o| {
                    Some(SourceShift {
                        email: email.get(o.user.id.as_str())?.clone(),
                        start: Timestamp::parse(o.start.as_deref()?).ok()?,
                        end: Timestamp::parse(o.end.as_deref()?).ok()?,
                    })
                })
                .collect();
            // PagerDuty answers who is on call only through the policies that page a
            // schedule.
            let paged = account.policies.iter().any(|p| {
                p.escalation_rules
                    .iter()
                    .any(|r| r.targets.iter().any(|t| t.id == s.id))
            });
            if paged {
                report
                    .on_call
                    .push(compare(&doc_schedule, &shifts, now, days));
            } else {
                report.approximate(
                    what,
                    "no escalation policy pages it, so PagerDuty gives no on-call answer to \
                     compare with",
                );
            }
            doc.schedules.push(doc_schedule);
        }
    }
    let policy_name: HashMap<&str, &str> = account
        .policies
        .iter()
        .map(|p| (p.id.as_str(), p.name.as_str()))
        .collect();
    for p in &account.policies {
        let what = format!("escalation policy {}", p.name);
        let team = first_team(&what, &p.teams, &mut report);
        let mut exact = true;
        let mut levels: Vec<LevelDoc> = Vec::new();
        for (i, rule) in p.escalation_rules.iter().enumerate() {
            let mut targets = Vec::new();
            for t in &rule.targets {
                match t.kind.as_str() {
                    "user_reference" | "user" => {
                        if let Some(e) = email.get(t.id.as_str()) {
                            targets.push(TargetDoc::User(e.clone()));
                        }
                    }
                    "schedule_reference" | "schedule" => {
                        if let Some(n) = schedule_name.get(t.id.as_str()) {
                            targets.push(TargetDoc::Schedule((*n).to_owned()));
                        }
                    }
                    other => {
                        exact = false;
                        report.unmapped(
                            format!("{what}, level {}: target {}", i + 1, t.summary),
                            format!("onduty levels page people and schedules, not a {other}"),
                        );
                    }
                }
            }
            let round_robin = rule
                .escalation_rule_assignment_strategy
                .as_ref()
                .and_then(|s| s.get("type"))
                .and_then(Value::as_str)
                == Some("round_robin");
            if targets.is_empty() {
                // Nobody onduty can page: the level goes, and the one before waits for
                // it too, so the next is still reached when it was.
                exact = false;
                if let Some(last) = levels.last_mut() {
                    last.delay_minutes += rule.escalation_delay_in_minutes;
                }
                continue;
            }
            levels.push(LevelDoc {
                delay_minutes: rule.escalation_delay_in_minutes,
                mode: if round_robin {
                    LevelMode::RoundRobin
                } else {
                    LevelMode::All
                },
                targets,
            });
        }
        doc.escalation_policies.push(PolicyDoc {
            name: p.name.clone(),
            description: p.description.clone().unwrap_or_default(),
            team,
            repeat: p.num_loops,
            levels,
        });
        if exact {
            report.exact(what);
        }
    }
    for s in &account.services {
        doc.services.push(service(
            s,
            &policy_name,
            &mut report,
            &mut new_key,
            &team_name,
        ));
    }
    crate::checked(&doc, &mut report);
    Imported { doc, report }
}

fn user(u: &User, report: &mut Report) -> UserDoc {
    let what = format!("user {}", u.email);
    let role = match u.role.as_str() {
        "owner" | "admin" => Role::Admin,
        "observer" | "read_only_user" | "read_only_limited_user" | "restricted_access" => {
            Role::Observer
        }
        "user" | "limited_user" => Role::Responder,
        other => {
            report.approximate(
                what.clone(),
                format!("role '{other}' unknown to onduty: a responder"),
            );
            Role::Responder
        }
    };
    let mut methods: Vec<(String, ContactDoc)> = Vec::new();
    for m in &u.contact_methods {
        let channel = match m.kind.as_str() {
            "email_contact_method" | "email_contact_method_reference" => Channel::Email,
            "phone_contact_method" | "phone_contact_method_reference" => Channel::Voice,
            "sms_contact_method" | "sms_contact_method_reference" => Channel::Sms,
            _ => {
                report.unmapped(
                    format!("{what}: contact method {} ({})", m.label, m.kind),
                    "push notifications go to onduty's web app: its owner allows them in a \
                     browser",
                );
                continue;
            }
        };
        let address = match (channel, m.country_code) {
            (Channel::Email, _) => m.address.trim().to_owned(),
            (_, Some(cc)) => format!("+{cc}{}", m.address.trim()),
            (_, None) => m.address.trim().to_owned(),
        };
        let label = if m.label.trim().is_empty() {
            channel.label().to_owned()
        } else {
            m.label.trim().to_owned()
        };
        let mut name = label.clone();
        if methods.iter().any(|(_, d)| d.name == name) {
            name = format!("{label} ({})", channel.label());
        }
        let mut n = 1;
        while methods.iter().any(|(_, d)| d.name == name) {
            n += 1;
            name = format!("{label} {n}");
        }
        methods.push((
            m.id.clone(),
            ContactDoc {
                name,
                channel,
                address: Some(address),
            },
        ));
    }
    let mut rules = Vec::new();
    for r in &u.notification_rules {
        let Some((_, method)) = methods.iter().find(|(id, _)| *id == r.contact_method.id) else {
            report.unmapped(
                format!(
                    "{what}: the {} urgency rule at {} minutes",
                    r.urgency, r.start_delay_in_minutes
                ),
                "its contact method did not map (see above)",
            );
            continue;
        };
        rules.push(RuleDoc {
            contact_method: method.name.clone(),
            delay_minutes: r.start_delay_in_minutes,
            urgency: match r.urgency.as_str() {
                "low" => RuleUrgency::Low,
                _ => RuleUrgency::High,
            },
            repeat_every_seconds: None,
        });
    }
    report.exact(what);
    UserDoc {
        email: u.email.trim().to_lowercase(),
        name: u.name.clone(),
        role,
        time_zone: u.time_zone.clone().unwrap_or_else(|| "UTC".to_owned()),
        disabled: false,
        contact_methods: methods.into_iter().map(|(_, d)| d).collect(),
        notification_rules: rules,
    }
}

fn schedule(
    s: &Schedule,
    overrides: &[ScheduleOverride],
    email: &HashMap<&str, String>,
    team: Option<String>,
    now: Timestamp,
    report: &mut Report,
) -> Option<ScheduleDoc> {
    let what = format!("schedule {}", s.name);
    let Ok(zone) = TimeZone::get(&s.time_zone) else {
        report.unmapped(
            what,
            format!("time zone '{}' unknown to onduty", s.time_zone),
        );
        return None;
    };
    let mut exact = true;
    let mut layers = Vec::new();
    // PagerDuty lists a schedule's layers highest first; onduty's document bottom first.
    for (i, l) in s.schedule_layers.iter().enumerate().rev() {
        let name = if l.name.trim().is_empty() {
            format!("Layer {}", s.schedule_layers.len() - i)
        } else {
            l.name.trim().to_owned()
        };
        let layer_what = format!("{what}, layer {name}");
        if let Some(end) = l.end.as_deref().and_then(|e| Timestamp::parse(e).ok()) {
            if end <= now {
                report.exact(format!("{layer_what}: ended, left out"));
                continue;
            }
            exact = false;
            report.approximate(
                layer_what.clone(),
                format!("ends at {}; onduty layers do not end: remove it then", end),
            );
        }
        // A layer that takes over later (PagerDuty ends the old one then) is not yet in
        // force.
        if let Some(begins) = Timestamp::parse(&l.start).ok().filter(|b| *b > now) {
            exact = false;
            report.unmapped(
                layer_what.clone(),
                format!("takes effect at {begins}: add it to the schedule then"),
            );
            continue;
        }
        // A rotation counted from a later start is counted back by whole cycles, so the
        // turns now are the same.
        let cycle = i64::try_from(l.rotation_turn_length_seconds)
            .unwrap_or(i64::MAX / 2)
            .saturating_mul(i64::try_from(l.users.len().max(1)).unwrap_or(1))
            .saturating_mul(1000);
        let Some(start) = Timestamp::parse(&l.rotation_virtual_start)
            .ok()
            .map(|t| {
                let ahead = t.as_millis() - now.as_millis();
                if ahead > 0 && cycle > 0 {
                    let cycles = ahead.div_euclid(cycle) + 1;
                    Timestamp::from_millis(t.as_millis() - cycles * cycle)
                } else {
                    t
                }
            })
            .and_then(|t| jiff::Timestamp::from_millisecond(t.as_millis()).ok())
            .map(|t| t.to_zoned(zone.clone()).datetime())
        else {
            report.unmapped(layer_what, "its rotation start is not a time");
            exact = false;
            continue;
        };
        let secs = l.rotation_turn_length_seconds;
        let shift = if secs % 604_800 == 0 {
            ShiftDoc {
                unit: ShiftUnit::Weeks,
                count: u32::try_from(secs / 604_800).unwrap_or(u32::MAX),
            }
        } else if secs % 86_400 == 0 {
            ShiftDoc {
                unit: ShiftUnit::Days,
                count: u32::try_from(secs / 86_400).unwrap_or(u32::MAX),
            }
        } else {
            let hours = (secs as f64 / 3600.0).round().max(1.0) as u32;
            if secs % 3600 != 0 {
                exact = false;
                report.approximate(
                    layer_what.clone(),
                    format!("turns of {secs} s become {hours} h: onduty turns are whole hours"),
                );
            }
            ShiftDoc {
                unit: ShiftUnit::Hours,
                count: hours,
            }
        };
        let mut restrictions = Vec::new();
        // A restriction over the whole day or week leaves the layer in force always.
        let whole = l.restrictions.iter().any(|r| {
            (r.kind == "daily_restriction" && r.duration_seconds >= 86_400)
                || r.duration_seconds >= 604_800
        });
        for r in l.restrictions.iter().filter(|_| !whole) {
            match restriction(r) {
                Some(doc) => restrictions.push(doc),
                None => {
                    exact = false;
                    report.unmapped(
                        format!("{layer_what}: a {} of {} s", r.kind, r.duration_seconds),
                        "onduty restrictions are spans within a day or a week",
                    );
                }
            }
        }
        let participants = l
            .users
            .iter()
            .filter_map(|u| email.get(u.user.id.as_str()).cloned())
            .collect();
        layers.push(LayerDoc {
            name,
            participants,
            start: config_doc::date_time(start),
            shift,
            restrictions,
        });
    }
    let overrides = overrides
        .iter()
        .filter_map(|o| {
            Some(OverrideDoc {
                user: email.get(o.user.id.as_str())?.clone(),
                start: Timestamp::parse(&o.start).ok()?.to_rfc3339(),
                end: Timestamp::parse(&o.end).ok()?.to_rfc3339(),
            })
        })
        .collect();
    if exact {
        report.exact(what);
    }
    Some(ScheduleDoc {
        name: s.name.clone(),
        description: s.description.clone().unwrap_or_default(),
        time_zone: s.time_zone.clone(),
        team,
        layers,
        overrides,
    })
}

const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// A restriction as onduty's: a daily span shorter than a day, or a weekly span
/// shorter than a week (a full day or week restricts nothing: None with no loss is not
/// possible here, so it is kept as the whole span).
fn restriction(r: &Restriction) -> Option<RestrictionDoc> {
    let start = jiff::civil::Time::strptime("%H:%M:%S", r.start_time_of_day.trim())
        .or_else(|_| jiff::civil::Time::strptime("%H:%M", r.start_time_of_day.trim()))
        .ok()?;
    let start_secs =
        i64::from(start.hour()) * 3600 + i64::from(start.minute()) * 60 + i64::from(start.second());
    let duration = i64::try_from(r.duration_seconds).ok()?;
    let clock = |secs: i64| -> Option<String> {
        let s = secs.rem_euclid(86_400);
        let time = jiff::civil::Time::new(
            i8::try_from(s / 3600).ok()?,
            i8::try_from(s / 60 % 60).ok()?,
            i8::try_from(s % 60).ok()?,
            0,
        )
        .ok()?;
        Some(config_doc::time_of_day(time))
    };
    match r.kind.as_str() {
        "daily_restriction" if (1..86_400).contains(&duration) => Some(RestrictionDoc::Daily {
            start: clock(start_secs)?,
            end: clock(start_secs + duration)?,
        }),
        "weekly_restriction" if (1..604_800).contains(&duration) => {
            let day = usize::from(r.start_day_of_week?.checked_sub(1)?);
            let begin = i64::try_from(day.min(6)).ok()? * 86_400 + start_secs;
            let end = begin + duration;
            let day_of =
                |secs: i64| DAYS[usize::try_from(secs.rem_euclid(604_800) / 86_400).unwrap_or(0)];
            Some(RestrictionDoc::Weekly {
                start_day: day_of(begin).to_owned(),
                start: clock(begin)?,
                end_day: day_of(end).to_owned(),
                end: clock(end)?,
            })
        }
        _ => None,
    }
}

fn service(
    s: &Service,
    policy_name: &HashMap<&str, &str>,
    report: &mut Report,
    new_key: &mut impl FnMut() -> String,
    team_name: &HashMap<&str, &str>,
) -> ServiceDoc {
    let what = format!("service {}", s.name);
    let mut exact = true;
    if s.status.as_deref() == Some("disabled") {
        exact = false;
        report.approximate(
            what.clone(),
            "disabled in PagerDuty; in onduty it takes events once applied: leave it out or \
             put it in maintenance",
        );
    }
    let minutes = |field: &str, secs: Option<u32>, report: &mut Report, exact: &mut bool| {
        // 0 is off in PagerDuty.
        let secs = secs.filter(|s| *s > 0)?;
        let m = secs.div_ceil(60);
        if secs % 60 != 0 {
            *exact = false;
            report.approximate(
                what.clone(),
                format!("{field} of {secs} s becomes {m} minutes"),
            );
        }
        Some(m)
    };
    let ack = minutes(
        "acknowledgement timeout",
        s.acknowledgement_timeout,
        report,
        &mut exact,
    );
    let resolve = minutes(
        "auto-resolve timeout",
        s.auto_resolve_timeout,
        report,
        &mut exact,
    );
    let urgency = match s
        .incident_urgency_rule
        .as_ref()
        .map(|r| {
            (
                r.get("type").and_then(Value::as_str).unwrap_or("constant"),
                r.get("urgency").and_then(Value::as_str).unwrap_or("high"),
            )
        })
        .unwrap_or(("constant", "high"))
    {
        ("constant", "low") => ServiceUrgency::Low,
        ("constant", "severity_based") => ServiceUrgency::Severity,
        ("constant", _) => ServiceUrgency::High,
        (other, _) => {
            exact = false;
            report.approximate(
                what.clone(),
                format!("urgency by {other} (support hours) becomes always high"),
            );
            ServiceUrgency::High
        }
    };
    let group_window_minutes = s
        .alert_grouping_parameters
        .as_ref()
        .filter(|g| g.get("type").and_then(Value::as_str) == Some("time"))
        .and_then(|g| g.pointer("/config/timeout").and_then(Value::as_u64))
        // 0 groups until the incident resolves, which onduty does not do.
        .filter(|m| *m > 0)
        .map(|m| u32::try_from(m).unwrap_or(u32::MAX));
    if let Some(kind) = s
        .alert_grouping_parameters
        .as_ref()
        .and_then(|g| g.get("type").and_then(Value::as_str))
        .filter(|t| *t != "time")
    {
        exact = false;
        report.unmapped(
            format!("{what}: {kind} alert grouping"),
            "onduty groups alerts by time window only",
        );
    }
    let mut integrations = Vec::new();
    for i in &s.integrations {
        let name = i.name.clone().unwrap_or_else(|| i.summary.clone());
        let kind = match i.kind.as_str() {
            "events_api_v2_inbound_integration" => IntegrationKind::EventsV2,
            "generic_events_api_inbound_integration" => {
                exact = false;
                report.approximate(
                    format!("{what}: integration {name}"),
                    "Events API v1 becomes Events API v2: the tool must send v2 events",
                );
                IntegrationKind::EventsV2
            }
            "generic_email_inbound_integration" => IntegrationKind::Email,
            other => {
                exact = false;
                report.unmapped(
                    format!("{what}: integration {name} ({other})"),
                    "no onduty integration takes what it sends; an Events API v2 one may do",
                );
                continue;
            }
        };
        integrations.push(report.integration(&s.name, &name, kind, new_key()));
    }
    if exact {
        report.exact(what);
    }
    ServiceDoc {
        urgency,
        ack_timeout_minutes: ack,
        auto_resolve_minutes: resolve,
        group_window_minutes,
        integrations,
        ..crate::service_doc(
            &s.name,
            s.description.clone().unwrap_or_default(),
            s.teams
                .first()
                .and_then(|t| team_name.get(t.id.as_str()))
                .map(|n| (*n).to_owned()),
            policy_name
                .get(s.escalation_policy.id.as_str())
                .map(|n| (*n).to_owned()),
        )
    }
}
