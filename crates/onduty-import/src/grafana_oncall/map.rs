//! A Grafana OnCall account as an onduty document, with the report: pure.

use std::collections::HashMap;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use onduty_core::Timestamp;
use onduty_core::account::Role;
use onduty_core::config_doc::{
    self, ConfigDoc, ContactDoc, LayerDoc, LevelDoc, OverrideDoc, PolicyDoc, RestrictionDoc,
    RuleDoc, ScheduleDoc, ServiceDoc, ShiftDoc, ShiftUnit, TargetDoc, TeamDoc, UserDoc,
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
    let email: HashMap<&str, String> = account
        .users
        .iter()
        .map(|(u, _)| (u.id.as_str(), u.email.trim().to_lowercase()))
        .collect();
    for (u, rules) in &account.users {
        doc.users.push(user(u, rules, &mut report));
    }
    let team_name: HashMap<&str, &str> = account
        .teams
        .iter()
        .map(|t| (t.id.as_str(), t.name.as_str()))
        .collect();
    for t in &account.teams {
        let members = account
            .users
            .iter()
            .filter(|(u, _)| u.teams.contains(&t.id))
            .map(|(u, _)| u.email.trim().to_lowercase())
            .collect();
        doc.teams.push(TeamDoc {
            name: t.name.clone(),
            members,
            chat_channels: Vec::new(),
        });
        report.exact(format!("team {}", t.name));
    }
    let team_of = |id: &Option<String>| {
        id.as_deref()
            .and_then(|t| team_name.get(t))
            .map(|n| (*n).to_owned())
    };
    for s in &account.schedules {
        let Some(mapped) = schedule(s, account, &email, team_of(&s.team_id), now, &mut report)
        else {
            continue;
        };
        let shifts: Vec<SourceShift> = account
            .final_shifts
            .get(&s.id)
            .into_iter()
            .flatten()
            .filter_map(|f| {
                Some(SourceShift {
                    email: f.user_email.as_deref()?.trim().to_lowercase(),
                    start: Timestamp::parse(&f.shift_start).ok()?,
                    end: Timestamp::parse(&f.shift_end).ok()?,
                })
            })
            .collect();
        report.on_call.push(compare(&mapped, &shifts, now, days));
        doc.schedules.push(mapped);
    }
    let schedule_name: HashMap<&str, &str> = account
        .schedules
        .iter()
        .map(|s| (s.id.as_str(), s.name.as_str()))
        .collect();
    let mut chain_name = HashMap::new();
    for (c, steps) in &account.chains {
        chain_name.insert(c.id.as_str(), c.name.clone());
        doc.escalation_policies.push(chain(
            c,
            steps,
            &email,
            &schedule_name,
            team_of(&c.team_id),
            &mut report,
        ));
    }
    for i in &account.integrations {
        let what = format!("integration {}", i.name);
        let kind = match i.kind.as_str() {
            "grafana_alerting" | "grafana" => IntegrationKind::Grafana,
            "alertmanager" => IntegrationKind::Alertmanager,
            "email" | "inbound_email" => IntegrationKind::Email,
            other => {
                report.unmapped(
                    format!("{what} ({other})"),
                    "no onduty integration takes what it sends as it is (a JSON webhook with \
                     a mapping may)",
                );
                continue;
            }
        };
        let policy = i
            .default_route
            .as_ref()
            .and_then(|r| r.escalation_chain_id.as_deref())
            .and_then(|c| chain_name.get(c).cloned());
        report.approximate(
            what.clone(),
            "becomes a service of its own paging its default route's escalation chain; \
             other routes are not read",
        );
        let integration = report.integration(&i.name, &i.name, kind, new_key());
        doc.services.push(ServiceDoc {
            integrations: vec![integration],
            ..crate::service_doc(&i.name, String::new(), team_of(&i.team_id), policy)
        });
    }
    crate::checked(&doc, &mut report);
    Imported { doc, report }
}

fn user(u: &User, rules: &[PersonalRule], report: &mut Report) -> UserDoc {
    let email = u.email.trim().to_lowercase();
    let what = format!("user {email}");
    // OnCall's roles: admin, editor, viewer, none.
    let role = match u.role.as_str() {
        "admin" => Role::Admin,
        "viewer" | "none" => Role::Observer,
        _ => Role::Responder,
    };
    let methods = vec![ContactDoc {
        name: Channel::Email.label().to_owned(),
        channel: Channel::Email,
        address: Some(email.clone()),
    }];
    let mut docs: Vec<RuleDoc> = Vec::new();
    let mut exact = true;
    // onduty has one set of rules per person (by urgency, not by OnCall's "important"
    // steps): the default rules page for every incident.
    if rules.iter().any(|r| r.important) {
        exact = false;
        report.approximate(
            what.clone(),
            "its important-notification rules are not read: the default rules page for every \
             incident",
        );
    }
    for important in [false] {
        let mut ordered: Vec<&PersonalRule> =
            rules.iter().filter(|r| r.important == important).collect();
        ordered.sort_by_key(|r| r.position);
        let mut waited = 0u32;
        for r in ordered {
            match r.kind.as_str() {
                "wait" => waited += r.duration.unwrap_or(0) / 60,
                "notify_by_email" => {
                    let rule = RuleDoc {
                        contact_method: methods[0].name.clone(),
                        delay_minutes: waited,
                        urgency: RuleUrgency::Both,
                        repeat_every_seconds: None,
                    };
                    let same = docs.iter().any(|d| d.delay_minutes == rule.delay_minutes);
                    if !same {
                        docs.push(rule);
                    }
                }
                other => {
                    exact = false;
                    let why = match other {
                        "notify_by_sms" | "notify_by_phone_call" => {
                            "Grafana OnCall's API does not give phone numbers: add the number \
                             in onduty, then the rule"
                        }
                        "notify_by_mobile_app" => {
                            "the app's pushes become onduty's web app: its owner allows \
                             notifications in a browser"
                        }
                        _ => "chat accounts are linked by their owner in onduty",
                    };
                    report.unmapped(
                        format!(
                            "{what}: {}the step {other} after {waited} minutes",
                            if important {
                                "important notifications, "
                            } else {
                                ""
                            }
                        ),
                        why,
                    );
                }
            }
        }
    }
    if exact {
        report.exact(what);
    }
    UserDoc {
        email,
        name: u
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| u.username.clone()),
        role,
        time_zone: u.timezone.clone().unwrap_or_else(|| "UTC".to_owned()),
        disabled: false,
        contact_methods: methods,
        notification_rules: docs,
    }
}

const DAYS: [(&str, &str); 7] = [
    ("MO", "monday"),
    ("TU", "tuesday"),
    ("WE", "wednesday"),
    ("TH", "thursday"),
    ("FR", "friday"),
    ("SA", "saturday"),
    ("SU", "sunday"),
];

fn schedule(
    s: &Schedule,
    account: &Account,
    email: &HashMap<&str, String>,
    team: Option<String>,
    now: Timestamp,
    report: &mut Report,
) -> Option<ScheduleDoc> {
    let what = format!("schedule {}", s.name);
    if s.kind != "web" {
        report.unmapped(
            what,
            format!(
                "its shifts come from a calendar ({}), which onduty does not read",
                s.kind
            ),
        );
        return None;
    }
    let zone_name = s.time_zone.clone().unwrap_or_else(|| "UTC".to_owned());
    let Ok(zone) = TimeZone::get(&zone_name) else {
        report.unmapped(what, format!("time zone '{zone_name}' unknown to onduty"));
        return None;
    };
    let mut exact = true;
    let mut shifts: Vec<&Shift> = account
        .shifts
        .iter()
        .filter(|sh| s.shifts.contains(&sh.id))
        .collect();
    // Lower levels first: a higher one wins, as a higher layer does.
    shifts.sort_by_key(|sh| sh.level);
    let mut layers = Vec::new();
    let mut overrides = Vec::new();
    for sh in shifts {
        let shift_what = format!("{what}, shift {}", sh.name);
        // A shift without a time zone (as the web UI makes them) is on UTC's clock, as
        // OnCall reads it.
        let shift_zone = sh
            .time_zone
            .as_deref()
            .and_then(|z| TimeZone::get(z).ok())
            .unwrap_or(TimeZone::UTC);
        let Ok(local) = sh.start.parse::<DateTime>() else {
            exact = false;
            report.unmapped(shift_what, "its start is not a time");
            continue;
        };
        let Ok(begins) = local.to_zoned(shift_zone.clone()) else {
            continue;
        };
        let begins_at = Timestamp::from_millis(begins.timestamp().as_millisecond());
        let ends_at = Timestamp::from_millis(
            begins_at.as_millis() + i64::try_from(sh.duration).unwrap_or(0) * 1000,
        );
        if let Some(until) = sh.until.as_deref().and_then(|u| u.parse::<DateTime>().ok()) {
            let until = until
                .to_zoned(shift_zone.clone())
                .map(|z| Timestamp::from_millis(z.timestamp().as_millisecond()));
            if until.is_ok_and(|u| u <= now) {
                report.exact(format!("{shift_what}: over, left out"));
                continue;
            }
            exact = false;
            report.approximate(
                shift_what.clone(),
                "ends later; onduty layers do not end: remove it then",
            );
        }
        if sh.kind == "override" {
            // Who covers: `users`, or (as the web UI keeps them) the first group.
            let people: Vec<&String> = if sh.users.is_empty() {
                sh.rolling_users.iter().flatten().flatten().collect()
            } else {
                sh.users.iter().collect()
            };
            match people.first().and_then(|u| email.get(u.as_str())) {
                Some(e) => overrides.push(OverrideDoc {
                    user: e.clone(),
                    start: begins_at.to_rfc3339(),
                    end: ends_at.to_rfc3339(),
                }),
                None => {
                    exact = false;
                    report.unmapped(shift_what.clone(), "an override of nobody onduty knows");
                }
            }
            if people.len() > 1 {
                exact = false;
                report.approximate(
                    shift_what,
                    "several people cover at once: onduty's override is the first",
                );
            }
            continue;
        }
        if sh.kind == "single_event" {
            exact = false;
            report.unmapped(
                shift_what,
                "a single event is not a rotation: add it as an override",
            );
            continue;
        }
        let interval = sh.interval.unwrap_or(1).max(1);
        let (unit, period_secs) = match sh.frequency.as_deref() {
            Some("hourly") => (ShiftUnit::Hours, 3_600),
            Some("daily") => (ShiftUnit::Days, 86_400),
            Some("weekly") => (ShiftUnit::Weeks, 604_800),
            other => {
                exact = false;
                report.unmapped(
                    shift_what,
                    format!(
                        "a {} rotation: onduty turns are hours, days or weeks",
                        other.unwrap_or("one-off")
                    ),
                );
                continue;
            }
        };
        let groups: Vec<Vec<String>> = match &sh.rolling_users {
            Some(groups) if sh.kind == "rolling_users" => groups.clone(),
            _ => vec![sh.users.clone()],
        };
        if groups.iter().any(|g| g.len() > 1) {
            exact = false;
            report.approximate(
                shift_what.clone(),
                "several people on call at once in a turn: onduty's layer pages the first",
            );
        }
        let mut groups = groups;
        if let Some(first) = sh.start_rotation_from_user_index
            && first < groups.len()
        {
            groups.rotate_left(first);
        }
        let mut participants = Vec::new();
        for g in &groups {
            match g.first().and_then(|u| email.get(u.as_str())) {
                Some(e) => participants.push(e.clone()),
                None => {
                    exact = false;
                    report.unmapped(
                        shift_what.clone(),
                        "a turn of nobody onduty knows: the turns after it move up",
                    );
                }
            }
        }
        if sh.frequency.as_deref() == Some("daily")
            && sh.by_day.as_ref().is_some_and(|d| !d.is_empty())
        {
            exact = false;
            report.approximate(
                shift_what.clone(),
                "turns only on the chosen days in OnCall, on every day in onduty: see the \
                 comparison below",
            );
        }
        // Each event lasts `duration` from its start time, on `by_day` days if given.
        let start_local = begins.with_time_zone(zone.clone()).datetime();
        let time = |secs: i64| -> String {
            let t = start_local.time();
            let base = i64::from(t.hour()) * 3600 + i64::from(t.minute()) * 60;
            let s = (base + secs).rem_euclid(86_400);
            format!("{:02}:{:02}", s / 3600, s / 60 % 60)
        };
        let duration = i64::try_from(sh.duration).unwrap_or(i64::MAX);
        let mut restrictions = Vec::new();
        let days: Vec<&str> = sh
            .by_day
            .iter()
            .flatten()
            .filter_map(|d| {
                DAYS.iter()
                    .find(|(code, _)| code == d)
                    .map(|(_, name)| *name)
            })
            .collect();
        if !days.is_empty() && duration < 86_400 {
            let day_index = |name: &str| DAYS.iter().position(|(_, n)| *n == name).unwrap_or(0);
            let start_secs =
                i64::from(start_local.hour()) * 3600 + i64::from(start_local.minute()) * 60;
            for d in days {
                let end_day = (day_index(d) as i64 * 86_400 + start_secs + duration)
                    .div_euclid(86_400)
                    .rem_euclid(7);
                restrictions.push(RestrictionDoc::Weekly {
                    start_day: d.to_owned(),
                    start: time(0),
                    end_day: DAYS[usize::try_from(end_day).unwrap_or(0)].1.to_owned(),
                    end: time(duration),
                });
            }
        } else if duration < 86_400 && period_secs >= 86_400 {
            restrictions.push(RestrictionDoc::Daily {
                start: time(0),
                end: time(duration),
            });
        } else if duration < period_secs * i64::from(interval) {
            exact = false;
            report.approximate(
                shift_what.clone(),
                format!("events of {duration} s within longer turns: onduty's layer covers the whole turn"),
            );
        }
        // OnCall counts turns from `start`; `rotation_start` only skips earlier events.
        if sh
            .rotation_start
            .as_deref()
            .and_then(|r| r.parse::<DateTime>().ok())
            .is_some_and(|r| r > local)
        {
            exact = false;
            report.approximate(
                shift_what.clone(),
                "takes effect at its rotation start; onduty's layer is in force from its start",
            );
        }
        let rotation_start = local;
        let rotation_start = rotation_start
            .to_zoned(shift_zone.clone())
            .map(|z| z.with_time_zone(zone.clone()).datetime())
            .unwrap_or(start_local);
        layers.push(LayerDoc {
            name: if sh.name.trim().is_empty() {
                format!("Level {}", sh.level)
            } else {
                sh.name.trim().to_owned()
            },
            participants,
            start: config_doc::date_time(rotation_start),
            shift: ShiftDoc {
                unit,
                count: interval,
            },
            restrictions,
        });
    }
    if exact {
        report.exact(what);
    }
    Some(ScheduleDoc {
        name: s.name.clone(),
        description: String::new(),
        time_zone: zone_name,
        team,
        layers,
        overrides,
    })
}

/// An escalation chain's steps as levels: people and schedules notified together are one
/// level; a wait ends it.
fn chain(
    c: &Chain,
    steps: &[ChainStep],
    email: &HashMap<&str, String>,
    schedule_name: &HashMap<&str, &str>,
    team: Option<String>,
    report: &mut Report,
) -> PolicyDoc {
    let what = format!("escalation policy {}", c.name);
    let mut exact = true;
    let mut levels: Vec<LevelDoc> = Vec::new();
    let mut open: Option<LevelDoc> = None;
    for step in steps {
        let people = |list: &Option<Vec<String>>, report: &mut Report| -> Vec<TargetDoc> {
            let mut out = Vec::new();
            for u in list.iter().flatten() {
                match email.get(u.as_str()) {
                    Some(e) => out.push(TargetDoc::User(e.clone())),
                    None => {
                        report.unmapped(format!("{what}: person {u}"), "not a user onduty knows")
                    }
                }
            }
            out
        };
        let Some(kind) = step.kind.as_deref() else {
            exact = false;
            report.unmapped(format!("{what}: a step"), "it has no type (an empty step)");
            continue;
        };
        let (targets, mode) = match kind {
            "wait" => {
                let minutes = (step.duration.unwrap_or(0) / 60).max(1);
                match (open.take(), levels.last_mut()) {
                    (Some(mut level), _) => {
                        level.delay_minutes = minutes;
                        levels.push(level);
                    }
                    // Waits in a row add up.
                    (None, Some(last)) => last.delay_minutes += minutes,
                    (None, None) => {
                        exact = false;
                        report.approximate(
                            what.clone(),
                            format!("a wait of {minutes} minutes before anyone is notified: onduty's first level pages at once"),
                        );
                    }
                }
                continue;
            }
            "notify_persons" => (people(&step.persons_to_notify, report), LevelMode::All),
            "notify_person_next_each_time" => (
                people(&step.persons_to_notify_next_each_time, report),
                LevelMode::RoundRobin,
            ),
            "notify_on_call_from_schedule" => (
                step.notify_on_call_from_schedule
                    .as_deref()
                    .and_then(|s| schedule_name.get(s))
                    .map(|n| vec![TargetDoc::Schedule((*n).to_owned())])
                    .unwrap_or_default(),
                LevelMode::All,
            ),
            other => {
                exact = false;
                report.unmapped(
                    format!("{what}: the step {other}"),
                    "onduty levels page people, in turn or together, and schedules",
                );
                continue;
            }
        };
        let level = open.get_or_insert_with(|| LevelDoc {
            delay_minutes: 30,
            mode,
            targets: Vec::new(),
        });
        if level.mode != mode {
            exact = false;
            report.approximate(
                what.clone(),
                "people in turn and together in one level: onduty pages them together",
            );
            level.mode = LevelMode::All;
        }
        for t in targets {
            if !level.targets.contains(&t) {
                level.targets.push(t);
            }
        }
    }
    levels.extend(open);
    // A level with nobody onduty can page goes; the one before waits for it too.
    let mut kept: Vec<LevelDoc> = Vec::new();
    for level in levels {
        if !level.targets.is_empty() {
            kept.push(level);
            continue;
        }
        exact = false;
        report.unmapped(
            format!("{what}: a level"),
            "nobody in it maps to onduty (see above): the level before waits for it too",
        );
        if let Some(last) = kept.last_mut() {
            last.delay_minutes += level.delay_minutes;
        }
    }
    let levels = kept;
    if exact {
        report.exact(what);
    }
    PolicyDoc {
        name: c.name.clone(),
        description: String::new(),
        team,
        repeat: 0,
        levels,
    }
}
