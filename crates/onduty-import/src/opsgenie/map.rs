//! An Opsgenie account as an onduty document, with the report: pure.

use std::collections::HashMap;

use jiff::tz::TimeZone;
use onduty_core::Timestamp;
use onduty_core::account::Role;
use onduty_core::config_doc::{
    self, ConfigDoc, ContactDoc, LayerDoc, LevelDoc, OverrideDoc, PolicyDoc, RestrictionDoc,
    RuleDoc, ScheduleDoc, ShiftDoc, ShiftUnit, TargetDoc, TeamDoc, UserDoc,
};
use onduty_core::contact::{Channel, RuleUrgency};
use onduty_core::escalation::LevelMode;
use onduty_core::service::IntegrationKind;

use super::types::*;
use super::{Account, PRODUCT};
use crate::Imported;
use crate::compare::{SourceShift, compare};
use crate::report::Report;

/// The account as an onduty document, with the report.
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
    let mut doc = ConfigDoc {
        version: config_doc::VERSION,
        ..ConfigDoc::default()
    };
    for (u, contacts, steps) in &account.users {
        doc.users.push(user(u, contacts, steps, &mut report));
    }
    let team_name: HashMap<&str, &str> = account
        .teams
        .iter()
        .map(|(t, _)| (t.id.as_str(), t.name.as_str()))
        .collect();
    for (t, members) in &account.teams {
        doc.teams.push(TeamDoc {
            name: t.name.clone(),
            members: members.clone(),
            chat_channels: Vec::new(),
        });
        report.exact(format!("team {}", t.name));
    }
    for (s, overrides) in &account.schedules {
        let Some(mapped) = schedule(s, overrides, now, &mut report) else {
            continue;
        };
        let shifts: Vec<SourceShift> = account
            .timelines
            .get(&s.id)
            .into_iter()
            .flatten()
            .filter_map(|p| {
                let r = p.recipient.as_ref().filter(|r| r.kind == "user")?;
                Some(SourceShift {
                    email: r
                        .name
                        .as_deref()
                        .or(r.username.as_deref())?
                        .trim()
                        .to_lowercase(),
                    start: Timestamp::parse(&p.start_date).ok()?,
                    end: Timestamp::parse(&p.end_date).ok()?,
                })
            })
            .collect();
        report.on_call.push(compare(&mapped, &shifts, now, days));
        doc.schedules.push(mapped);
    }
    for e in &account.escalations {
        doc.escalation_policies.push(escalation(e, &mut report));
    }
    services(account, &team_name, &mut doc, &mut report, &mut new_key);
    crate::checked(&doc, &mut report);
    Imported { doc, report }
}

fn user(u: &User, contacts: &[Contact], steps: &[Vec<Step>], report: &mut Report) -> UserDoc {
    let email = u.username.trim().to_lowercase();
    let what = format!("user {email}");
    let role = match u.role.as_ref().map(|r| r.name.as_str()) {
        Some("Owner" | "Admin") => Role::Admin,
        Some("Observer" | "Stakeholder") => Role::Observer,
        Some("User") | None => Role::Responder,
        Some(other) => {
            report.approximate(
                what.clone(),
                format!("custom role '{other}' becomes a responder"),
            );
            Role::Responder
        }
    };
    let mut methods: Vec<ContactDoc> = Vec::new();
    for c in contacts {
        let channel = match c.method.as_str() {
            "email" => Channel::Email,
            "sms" => Channel::Sms,
            "voice" => Channel::Voice,
            other => {
                report.unmapped(
                    format!("{what}: contact method {other}"),
                    "the Opsgenie app's pushes become onduty's web app: its owner allows \
                     notifications in a browser",
                );
                continue;
            }
        };
        let address = match channel {
            Channel::Email => c.to.trim().to_owned(),
            // Opsgenie writes numbers as 49-15112345678.
            _ => format!("+{}", c.to.trim().trim_start_matches('+').replace('-', "")),
        };
        let mut name = channel.label().to_owned();
        let mut n = 1;
        while methods.iter().any(|m| m.name == name) {
            n += 1;
            name = format!("{} {n}", channel.label());
        }
        methods.push(ContactDoc {
            name,
            channel,
            address: Some(address),
        });
    }
    let mut rules: Vec<RuleDoc> = Vec::new();
    for step in steps.iter().flatten().filter(|s| s.enabled) {
        let found = methods.iter().find(|m| {
            let same_channel = match step.contact.method.as_str() {
                "email" => m.channel == Channel::Email,
                "sms" => m.channel == Channel::Sms,
                "voice" => m.channel == Channel::Voice,
                _ => false,
            };
            let digits = |t: &str| t.chars().filter(char::is_ascii_digit).collect::<String>();
            same_channel
                && (m.address.as_deref() == Some(step.contact.to.trim())
                    || digits(m.address.as_deref().unwrap_or("")) == digits(&step.contact.to))
        });
        let Some(method) = found else {
            continue;
        };
        let rule = RuleDoc {
            contact_method: method.name.clone(),
            delay_minutes: step.send_after.as_ref().map_or(0, Amount::minutes),
            urgency: RuleUrgency::Both,
            repeat_every_seconds: None,
        };
        if !rules.contains(&rule) {
            rules.push(rule);
        }
    }
    if u.blocked {
        report.approximate(what.clone(), "blocked in Opsgenie: disabled in onduty");
    } else {
        report.exact(what);
    }
    UserDoc {
        email,
        name: u.full_name.clone(),
        role,
        time_zone: u.time_zone.clone().unwrap_or_else(|| "UTC".to_owned()),
        disabled: u.blocked,
        contact_methods: methods,
        notification_rules: rules,
    }
}

fn clock(hour: u8, minute: u8) -> String {
    format!("{hour:02}:{minute:02}")
}

fn schedule(
    s: &Schedule,
    overrides: &[ScheduleOverride],
    now: Timestamp,
    report: &mut Report,
) -> Option<ScheduleDoc> {
    let what = format!("schedule {}", s.name);
    let Ok(zone) = TimeZone::get(&s.timezone) else {
        report.unmapped(
            what,
            format!("time zone '{}' unknown to onduty", s.timezone),
        );
        return None;
    };
    let mut exact = true;
    if s.rotations.len() > 1 {
        exact = false;
        report.approximate(
            what.clone(),
            "where its rotations overlap, Opsgenie pages everyone on call in them; onduty's \
             layers page the person of the last one: see the comparison below",
        );
    }
    let mut layers = Vec::new();
    for (i, r) in s.rotations.iter().enumerate() {
        let name = if r.name.trim().is_empty() {
            format!("Rotation {}", i + 1)
        } else {
            r.name.trim().to_owned()
        };
        let layer_what = format!("{what}, rotation {name}");
        if let Some(end) = r.end_date.as_deref().and_then(|e| Timestamp::parse(e).ok()) {
            if end <= now {
                report.exact(format!("{layer_what}: ended, left out"));
                continue;
            }
            exact = false;
            report.approximate(
                layer_what.clone(),
                format!("ends at {end}; onduty layers do not end: remove it then"),
            );
        }
        let Some(start) = Timestamp::parse(&r.start_date)
            .ok()
            .and_then(|t| jiff::Timestamp::from_millisecond(t.as_millis()).ok())
            .map(|t| t.to_zoned(zone.clone()).datetime())
        else {
            exact = false;
            report.unmapped(layer_what, "its start is not a time");
            continue;
        };
        let unit = match r.kind.as_str() {
            "hourly" => ShiftUnit::Hours,
            "daily" => ShiftUnit::Days,
            _ => ShiftUnit::Weeks,
        };
        let mut participants = Vec::new();
        for p in &r.participants {
            match (p.kind.as_str(), p.username.as_deref()) {
                ("user", Some(u)) => participants.push(u.trim().to_lowercase()),
                (kind, _) => {
                    exact = false;
                    report.unmapped(
                        format!(
                            "{layer_what}: a turn of {}",
                            p.name.as_deref().unwrap_or(kind)
                        ),
                        format!(
                            "onduty rotations take people, not a {kind}: the turns after it \
                             move up"
                        ),
                    );
                }
            }
        }
        let mut restrictions = Vec::new();
        if let Some(t) = &r.time_restriction {
            match (t.kind.as_str(), &t.restriction) {
                ("time-of-day", Some(span)) => restrictions.push(RestrictionDoc::Daily {
                    start: clock(span.start_hour, span.start_min),
                    end: clock(span.end_hour, span.end_min),
                }),
                _ => {
                    for span in &t.restrictions {
                        let (Some(start_day), Some(end_day)) = (&span.start_day, &span.end_day)
                        else {
                            continue;
                        };
                        restrictions.push(RestrictionDoc::Weekly {
                            start_day: start_day.to_lowercase(),
                            start: clock(span.start_hour, span.start_min),
                            end_day: end_day.to_lowercase(),
                            end: clock(span.end_hour, span.end_min),
                        });
                    }
                }
            }
        }
        layers.push(LayerDoc {
            name,
            participants,
            start: config_doc::date_time(start),
            shift: ShiftDoc {
                unit,
                count: r.length.max(1),
            },
            restrictions,
        });
    }
    let mut kept = Vec::new();
    for o in overrides {
        let read = (|| {
            Some(OverrideDoc {
                user: o.user.username.as_deref()?.trim().to_lowercase(),
                start: Timestamp::parse(&o.start_date).ok()?.to_rfc3339(),
                end: Timestamp::parse(&o.end_date).ok()?.to_rfc3339(),
            })
        })();
        match read {
            Some(doc) => kept.push(doc),
            None => {
                exact = false;
                report.unmapped(
                    format!("{what}: override {}", o.alias),
                    format!("onduty overrides are people, not a {}", o.user.kind),
                );
            }
        }
    }
    let overrides = kept;
    if !s.enabled {
        exact = false;
        report.approximate(what.clone(), "disabled in Opsgenie; onduty's is in force");
    }
    if exact {
        report.exact(what);
    }
    Some(ScheduleDoc {
        name: s.name.clone(),
        description: s.description.clone().unwrap_or_default(),
        time_zone: s.timezone.clone(),
        team: s.owner_team.as_ref().map(|t| t.name.clone()),
        layers,
        overrides,
    })
}

/// Opsgenie's rules each wait from the alert's start; onduty's levels each wait for the
/// next. Rules with the same delay are one level.
fn escalation(e: &Escalation, report: &mut Report) -> PolicyDoc {
    let what = format!("escalation policy {}", e.name);
    let mut exact = true;
    let mut rules: Vec<&EscalationRule> = e.rules.iter().collect();
    rules.sort_by_key(|r| r.delay.minutes());
    let mut levels: Vec<(u32, Vec<TargetDoc>)> = Vec::new();
    for r in rules {
        let at = r.delay.minutes();
        let target = match (r.recipient.kind.as_str(), r.notify_type.as_str()) {
            ("user", _) => r
                .recipient
                .username
                .as_deref()
                .map(|u| TargetDoc::User(u.trim().to_lowercase())),
            ("schedule", "default" | "") => r.recipient.name.clone().map(TargetDoc::Schedule),
            (kind, notify) => {
                exact = false;
                report.unmapped(
                    format!(
                        "{what}: the rule at {at} minutes for {} {}",
                        kind,
                        r.recipient.name.as_deref().unwrap_or("")
                    ),
                    format!(
                        "onduty levels page people and the person on call in a schedule, not \
                         a {kind} ({notify})"
                    ),
                );
                None
            }
        };
        if r.condition == "if-not-closed" {
            exact = false;
            report.approximate(
                what.clone(),
                "escalates unless acknowledged (Opsgenie: unless closed)",
            );
        }
        match levels.last_mut() {
            Some((last, targets)) if *last == at => {
                if let Some(t) = target.filter(|t| !targets.contains(t)) {
                    targets.push(t);
                }
            }
            _ => levels.push((at, target.into_iter().collect())),
        }
    }
    // A rule whose recipient did not map leaves no level.
    levels.retain(|(_, targets)| !targets.is_empty());
    if levels.first().is_some_and(|(at, _)| *at > 0) {
        exact = false;
        report.approximate(
            what.clone(),
            format!(
                "its first rule waits {} minutes; onduty's first level pages at once",
                levels[0].0
            ),
        );
    }
    let repeat = e.repeat.as_ref().map_or(0, |r| r.count);
    let last_wait = e.repeat.as_ref().map_or(30, |r| r.wait_interval).max(1);
    let docs = levels
        .iter()
        .enumerate()
        .map(|(i, (at, targets))| LevelDoc {
            delay_minutes: levels
                .get(i + 1)
                .map_or(last_wait, |(next, _)| next - at)
                .max(1),
            mode: LevelMode::All,
            targets: targets.clone(),
        })
        .collect();
    if exact {
        report.exact(what);
    }
    PolicyDoc {
        name: e.name.clone(),
        description: e.description.clone().unwrap_or_default(),
        team: e.owner_team.as_ref().map(|t| t.name.clone()),
        repeat,
        levels: docs,
    }
}

/// Services, each paging its team's first escalation; a team's integrations go to its
/// first service (or one made for them).
fn services(
    account: &Account,
    team_name: &HashMap<&str, &str>,
    doc: &mut ConfigDoc,
    report: &mut Report,
    new_key: &mut impl FnMut() -> String,
) {
    let policy_of = |team: Option<&str>| {
        let team = team?;
        account
            .escalations
            .iter()
            .find(|e| e.owner_team.as_ref().map(|t| t.id.as_str()) == Some(team))
            .map(|e| e.name.clone())
    };
    let mut team_service: HashMap<String, usize> = HashMap::new();
    for s in &account.services {
        let what = format!("service {}", s.name);
        let team = s.team_id.as_deref();
        let policy = policy_of(team);
        match &policy {
            Some(p) => report.approximate(
                what.clone(),
                format!(
                    "Opsgenie routes a team's alerts by its routing rules; onduty pages the \
                     team's escalation {p}"
                ),
            ),
            None => report.approximate(
                what.clone(),
                "its team has no escalation: it pages nobody until it is given a policy",
            ),
        }
        if let Some(t) = team {
            team_service
                .entry(t.to_owned())
                .or_insert(doc.services.len());
        }
        doc.services.push(crate::service_doc(
            &s.name,
            s.description.clone().unwrap_or_default(),
            team.and_then(|t| team_name.get(t)).map(|n| (*n).to_owned()),
            policy,
        ));
    }
    for i in &account.integrations {
        let what = format!("integration {}", i.name);
        let kind = match i.kind.as_str() {
            "API" => IntegrationKind::Opsgenie,
            "Prometheus" => IntegrationKind::Alertmanager,
            "Grafana" => IntegrationKind::Grafana,
            "Email" => IntegrationKind::Email,
            other => {
                report.unmapped(
                    format!("{what} ({other})"),
                    "no onduty integration takes what it sends; an Opsgenie API one may do",
                );
                continue;
            }
        };
        if !i.enabled {
            report.unmapped(what, "disabled in Opsgenie: left out");
            continue;
        }
        let team = i.team_id.clone().unwrap_or_default();
        let at = match team_service.get(&team) {
            Some(at) => *at,
            None => {
                let owner = team_name.get(team.as_str()).map(|n| (*n).to_owned());
                let name = format!("{} alerts", owner.as_deref().unwrap_or("Opsgenie"));
                report.approximate(
                    what.clone(),
                    format!("its team has no service: it goes to a new service {name}"),
                );
                team_service.insert(team.clone(), doc.services.len());
                doc.services.push(crate::service_doc(
                    &name,
                    String::new(),
                    owner,
                    policy_of(Some(team.as_str())),
                ));
                doc.services.len() - 1
            }
        };
        let service = &mut doc.services[at];
        let integration = report.integration(&service.name, &i.name, kind, new_key());
        service.integrations.push(integration);
    }
}
