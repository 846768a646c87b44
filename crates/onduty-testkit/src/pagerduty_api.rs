//! A local PagerDuty REST API (v2) serving a realistic team, for the importer: the
//! documented field names and nesting, classic pagination (`offset`, `limit`, `more`;
//! this server gives at most 3 items a page, as a server may), `Token token=` auth with
//! PagerDuty's error bodies, and on request a 429 (with `ratelimit-*` headers) or a 500
//! on one path. Who is on call (`/oncalls`) is worked out here, hour by hour, from the
//! layers as PagerDuty describes them: not by onduty's code.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, RawQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::tz::TimeZone;
use serde_json::{Value, json};

use crate::vendor_api::{Manners, VendorApi};

/// The token the server takes.
pub const PAGERDUTY_TOKEN: &str = "u+pagerduty-test-token";
/// Most items a page.
const PAGE: usize = 3;

/// The stand-in (its tricks and what it saw through [`VendorApi`]); stops when dropped.
pub struct PagerDutyApi(VendorApi);

impl std::ops::Deref for PagerDutyApi {
    type Target = VendorApi;
    fn deref(&self) -> &VendorApi {
        &self.0
    }
}

impl PagerDutyApi {
    pub async fn start() -> PagerDutyApi {
        let routes = Router::new()
            .route("/users", get(users))
            .route("/teams", get(teams))
            .route("/teams/{id}/members", get(members))
            .route("/schedules", get(schedules))
            .route("/schedules/{id}", get(schedule))
            .route("/schedules/{id}/overrides", get(overrides))
            .route("/escalation_policies", get(policies))
            .route("/services", get(services))
            .route("/oncalls", get(oncalls));
        PagerDutyApi(VendorApi::start(routes, &MANNERS).await)
    }

    /// Who PagerDuty says is on call in `schedule` (its name) at `at`: e-mail addresses.
    pub fn on_call(schedule: &str, at: jiff::Timestamp) -> Vec<String> {
        let s = SCHEDULES.iter().find(|s| s.name == schedule).unwrap();
        who(s, at)
            .map(|u| vec![format!("{}@acme.example", USERS[u].1)])
            .unwrap_or_default()
    }
}

/// PagerDuty's manners: `Token token=` auth, `{"error": {"message", "code"}}` bodies,
/// `ratelimit-*` headers (a reset of 0: retry now).
static MANNERS: Manners = Manners {
    accepts: |h| {
        h.get("authorization").and_then(|v| v.to_str().ok())
            == Some(&format!("Token token={PAGERDUTY_TOKEN}"))
    },
    error: |status, message| {
        let code = match status {
            StatusCode::UNAUTHORIZED => 2006,
            StatusCode::TOO_MANY_REQUESTS => 2020,
            _ => 2000,
        };
        error(status, message, code)
    },
    unauthorized: "Unauthorized",
    throttled: "Rate Limit Exceeded",
    throttle_headers: &[
        ("ratelimit-limit", "960"),
        ("ratelimit-remaining", "0"),
        ("ratelimit-reset", "0"),
    ],
    failed: "Internal Server Error",
};

fn error(status: StatusCode, message: &str, code: u32) -> Response {
    (
        status,
        axum::Json(json!({"error": {"message": message, "code": code}})),
    )
        .into_response()
}

/// One page of `items` under `key`, as PagerDuty pages: `offset`, `limit`, `more`.
fn page(key: &str, items: Vec<Value>, query: &HashMap<String, String>) -> axum::Json<Value> {
    let offset: usize = query
        .get("offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    let limit: usize = query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(25)
        .clamp(1, PAGE);
    let shown: Vec<Value> = items.iter().skip(offset).take(limit).cloned().collect();
    axum::Json(json!({
        key: shown,
        "offset": offset,
        "limit": limit,
        "more": offset + limit < items.len(),
        "total": null,
    }))
}

/// (id, e-mail's local part, name, role, time zone).
const USERS: [(&str, &str, &str, &str, &str); 10] = [
    ("PU00001", "ada", "Ada Lovelace", "admin", "Europe/London"),
    (
        "PU00002",
        "grace",
        "Grace Hopper",
        "user",
        "America/New_York",
    ),
    ("PU00003", "alan", "Alan Turing", "user", "Europe/London"),
    (
        "PU00004",
        "katherine",
        "Katherine Johnson",
        "limited_user",
        "America/New_York",
    ),
    (
        "PU00005",
        "linus",
        "Linus Torvalds",
        "user",
        "Europe/Helsinki",
    ),
    (
        "PU00006",
        "margaret",
        "Margaret Hamilton",
        "user",
        "America/New_York",
    ),
    (
        "PU00007",
        "edsger",
        "Edsger Dijkstra",
        "user",
        "Europe/Amsterdam",
    ),
    (
        "PU00008",
        "barbara",
        "Barbara Liskov",
        "user",
        "America/New_York",
    ),
    (
        "PU00009",
        "ken",
        "Ken Thompson",
        "observer",
        "America/Los_Angeles",
    ),
    (
        "PU00010",
        "frances",
        "Frances Allen",
        "owner",
        "America/New_York",
    ),
];

fn user_ref(i: usize) -> Value {
    json!({"id": USERS[i].0, "type": "user_reference", "summary": USERS[i].2,
        "self": format!("https://api.pagerduty.com/users/{}", USERS[i].0)})
}

async fn users(Query(q): Query<HashMap<String, String>>) -> impl IntoResponse {
    let items = USERS
        .iter()
        .enumerate()
        .map(|(i, (id, local, name, role, zone))| {
            let email = format!("{local}@acme.example");
            let mut methods = vec![
                json!({"id": format!("PC{i}E"), "type": "email_contact_method", "label": "Work",
                    "address": email, "summary": "Work"}),
                json!({"id": format!("PC{i}P"), "type": "phone_contact_method", "label": "Mobile",
                    "address": format!("15112345{i:03}"), "country_code": 49, "summary": "Mobile"}),
                json!({"id": format!("PC{i}S"), "type": "sms_contact_method", "label": "Mobile",
                    "address": format!("15112345{i:03}"), "country_code": 49, "summary": "Mobile"}),
            ];
            if i == 0 {
                methods.push(json!({"id": "PC0X", "type": "push_notification_contact_method",
                    "label": "Pixel", "summary": "Pixel", "device_type": "android"}));
            }
            let rules = json!([
                {"id": format!("PN{i}A"), "type": "assignment_notification_rule",
                 "start_delay_in_minutes": 0, "urgency": "high",
                 "contact_method": {"id": format!("PC{i}S"), "type": "sms_contact_method_reference"}},
                {"id": format!("PN{i}B"), "type": "assignment_notification_rule",
                 "start_delay_in_minutes": 5, "urgency": "high",
                 "contact_method": {"id": format!("PC{i}P"), "type": "phone_contact_method_reference"}},
                {"id": format!("PN{i}C"), "type": "assignment_notification_rule",
                 "start_delay_in_minutes": 0, "urgency": "low",
                 "contact_method": {"id": format!("PC{i}E"), "type": "email_contact_method_reference"}},
            ]);
            json!({"id": id, "type": "user", "name": name, "email": email, "time_zone": zone,
                "role": role, "summary": name, "contact_methods": methods,
                "notification_rules": rules})
        })
        .collect();
    page("users", items, &q)
}

/// (id, name, members by index).
const TEAMS: [(&str, &str, &[usize]); 2] = [
    ("PT00001", "Platform", &[0, 1, 2, 3, 4, 7]),
    ("PT00002", "Data", &[1, 5, 6, 8, 9]),
];

fn team_ref(i: usize) -> Value {
    json!({"id": TEAMS[i].0, "type": "team_reference", "summary": TEAMS[i].1})
}

async fn teams(Query(q): Query<HashMap<String, String>>) -> impl IntoResponse {
    let items = TEAMS
        .iter()
        .map(|(id, name, _)| {
            json!({"id": id, "type": "team", "name": name, "summary": name,
            "description": null})
        })
        .collect();
    page("teams", items, &q)
}

async fn members(Path(id): Path<String>, Query(q): Query<HashMap<String, String>>) -> Response {
    let Some((_, _, list)) = TEAMS.iter().find(|t| t.0 == id) else {
        return error(StatusCode::NOT_FOUND, "Not Found", 2100);
    };
    let items = list
        .iter()
        .map(|u| json!({"user": user_ref(*u), "role": "responder"}))
        .collect();
    page("members", items, &q).into_response()
}

struct LayerDef {
    name: &'static str,
    /// RFC 3339 with the schedule's offset, as PagerDuty writes it.
    rotation_virtual_start: &'static str,
    end: Option<&'static str>,
    turn_seconds: i64,
    users: &'static [usize],
    /// (type, start time of day, duration seconds, start day of week 1–7).
    restrictions: &'static [(&'static str, &'static str, i64, Option<i64>)],
}

struct ScheduleDef {
    id: &'static str,
    name: &'static str,
    time_zone: &'static str,
    team: usize,
    /// Highest first, as PagerDuty lists them.
    layers: &'static [LayerDef],
    /// (user, start, end).
    overrides: &'static [(usize, &'static str, &'static str)],
}

const SCHEDULES: [ScheduleDef; 3] = [
    ScheduleDef {
        id: "PS00001",
        name: "Primary",
        time_zone: "UTC",
        team: 0,
        layers: &[
            LayerDef {
                name: "Weekly",
                rotation_virtual_start: "2026-01-05T09:00:00Z",
                end: None,
                turn_seconds: 604_800,
                users: &[0, 1, 2, 3],
                restrictions: &[],
            },
            LayerDef {
                name: "Old rota",
                rotation_virtual_start: "2025-06-02T09:00:00Z",
                end: Some("2025-12-01T09:00:00Z"),
                turn_seconds: 604_800,
                users: &[4],
                restrictions: &[],
            },
        ],
        overrides: &[(4, "2026-01-20T18:00:00Z", "2026-01-21T08:00:00Z")],
    },
    ScheduleDef {
        id: "PS00002",
        name: "Secondary",
        time_zone: "Europe/Berlin",
        team: 0,
        layers: &[
            LayerDef {
                name: "Weekend",
                rotation_virtual_start: "2026-01-03T00:00:00+01:00",
                end: None,
                turn_seconds: 604_800,
                users: &[7],
                restrictions: &[("weekly_restriction", "00:00:00", 172_800, Some(6))],
            },
            LayerDef {
                name: "Weekdays",
                rotation_virtual_start: "2026-01-05T08:00:00+01:00",
                end: None,
                turn_seconds: 86_400,
                users: &[4, 5, 6],
                restrictions: &[("daily_restriction", "08:00:00", 36_000, None)],
            },
        ],
        overrides: &[(0, "2026-01-27T10:00:00+01:00", "2026-01-27T14:00:00+01:00")],
    },
    ScheduleDef {
        id: "PS00003",
        name: "Follow the sun",
        time_zone: "UTC",
        team: 1,
        layers: &[LayerDef {
            name: "Halves",
            rotation_virtual_start: "2026-01-01T00:00:00Z",
            end: None,
            turn_seconds: 43_200,
            users: &[8, 9, 2],
            restrictions: &[],
        }],
        overrides: &[(5, "2026-02-02T00:00:00Z", "2026-02-03T00:00:00Z")],
    },
];

fn ts(text: &str) -> jiff::Timestamp {
    text.parse().unwrap()
}

/// Who is on call in `s` at `at`, by PagerDuty's rules: an override, else the highest
/// layer in force whose restrictions cover the moment on the schedule's clock; a layer's
/// turn is counted in whole turns from its rotation's virtual start.
fn who(s: &ScheduleDef, at: jiff::Timestamp) -> Option<usize> {
    if let Some((u, _, _)) = s
        .overrides
        .iter()
        .find(|(_, from, to)| ts(from) <= at && at < ts(to))
    {
        return Some(*u);
    }
    let zone = TimeZone::get(s.time_zone).unwrap();
    let local = at.to_zoned(zone);
    let day_secs = i64::from(local.hour()) * 3600 + i64::from(local.minute()) * 60;
    let week_secs = i64::from(local.weekday().to_monday_zero_offset()) * 86_400 + day_secs;
    for l in s.layers {
        let start = ts(l.rotation_virtual_start);
        if at < start || l.end.is_some_and(|e| at >= ts(e)) {
            continue;
        }
        let covered = l.restrictions.is_empty()
            || l.restrictions.iter().any(|(kind, time, duration, day)| {
                let t: jiff::civil::Time = time.parse().unwrap();
                let from = i64::from(t.hour()) * 3600 + i64::from(t.minute()) * 60;
                if *kind == "daily_restriction" {
                    (day_secs - from).rem_euclid(86_400) < *duration
                } else {
                    let from = (day.unwrap() - 1) * 86_400 + from;
                    (week_secs - from).rem_euclid(604_800) < *duration
                }
            });
        if !covered {
            continue;
        }
        let turn = (at.as_second() - start.as_second()) / l.turn_seconds;
        return Some(l.users[usize::try_from(turn).unwrap() % l.users.len()]);
    }
    None
}

async fn schedules(Query(q): Query<HashMap<String, String>>) -> impl IntoResponse {
    let items = SCHEDULES
        .iter()
        .map(|s| {
            json!({"id": s.id, "type": "schedule", "name": s.name, "summary": s.name,
            "time_zone": s.time_zone, "description": null, "teams": [team_ref(s.team)]})
        })
        .collect();
    page("schedules", items, &q)
}

async fn schedule(Path(id): Path<String>) -> Response {
    let Some(s) = SCHEDULES.iter().find(|s| s.id == id) else {
        return error(StatusCode::NOT_FOUND, "Not Found", 2100);
    };
    let layers: Vec<Value> = s
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            json!({
                "id": format!("{}L{i}", s.id),
                "name": l.name,
                "start": l.rotation_virtual_start,
                "end": l.end,
                "rotation_virtual_start": l.rotation_virtual_start,
                "rotation_turn_length_seconds": l.turn_seconds,
                "users": l.users.iter().map(|u| json!({"user": user_ref(*u)})).collect::<Vec<_>>(),
                "restrictions": l.restrictions.iter().map(|(kind, time, duration, day)| json!({
                    "type": kind, "start_time_of_day": time, "duration_seconds": duration,
                    "start_day_of_week": day})).collect::<Vec<_>>(),
            })
        })
        .collect();
    axum::Json(json!({"schedule": {
        "id": s.id, "type": "schedule", "name": s.name, "summary": s.name,
        "time_zone": s.time_zone, "description": "Imported from the fixture",
        "schedule_layers": layers, "teams": [team_ref(s.team)],
    }}))
    .into_response()
}

async fn overrides(Path(id): Path<String>) -> Response {
    let Some(s) = SCHEDULES.iter().find(|s| s.id == id) else {
        return error(StatusCode::NOT_FOUND, "Not Found", 2100);
    };
    let list: Vec<Value> = s
        .overrides
        .iter()
        .enumerate()
        .map(|(i, (u, start, end))| {
            json!({"id": format!("PO{i}"), "start": start, "end": end, "user": user_ref(*u)})
        })
        .collect();
    axum::Json(json!({"overrides": list})).into_response()
}

async fn policies(Query(q): Query<HashMap<String, String>>) -> impl IntoResponse {
    let sched = |i: usize| {
        json!({"id": SCHEDULES[i].id, "type": "schedule_reference",
        "summary": SCHEDULES[i].name})
    };
    let items = vec![
        json!({"id": "PP00001", "type": "escalation_policy", "name": "Platform",
        "summary": "Platform", "num_loops": 2, "on_call_handoff_notifications": "if_has_services",
        "teams": [team_ref(0)], "description": "Platform on call",
        "escalation_rules": [
            {"id": "PR1", "escalation_delay_in_minutes": 30, "targets": [sched(0)]},
            {"id": "PR2", "escalation_delay_in_minutes": 15, "targets": [sched(1), user_ref(9)]},
        ]}),
        json!({"id": "PP00002", "type": "escalation_policy", "name": "Data", "summary": "Data",
        "num_loops": 0, "teams": [team_ref(1)], "description": null,
        "escalation_rules": [
            {"id": "PR3", "escalation_delay_in_minutes": 10, "targets": [sched(2)],
             "escalation_rule_assignment_strategy": {"type": "round_robin"}},
            {"id": "PR4", "escalation_delay_in_minutes": 20, "targets": [user_ref(1)]},
        ]}),
    ];
    page("escalation_policies", items, &q)
}

async fn services(Query(q): Query<HashMap<String, String>>) -> impl IntoResponse {
    let policy = |id: &str, name: &str| {
        json!({"id": id, "type": "escalation_policy_reference",
        "summary": name})
    };
    let integration = |id: &str, kind: &str, name: &str| {
        json!({"id": id, "type": kind,
        "name": name, "summary": name, "integration_key": format!("pd{id}key")})
    };
    let constant = |u: &str| json!({"type": "constant", "urgency": u});
    let items = vec![
        json!({"id": "PV00001", "type": "service", "name": "Checkout", "description": "Shop checkout",
        "status": "active", "escalation_policy": policy("PP00001", "Platform"),
        "acknowledgement_timeout": 1800, "auto_resolve_timeout": 14400,
        "incident_urgency_rule": constant("high"), "teams": [team_ref(0)],
        "integrations": [
            integration("PI1", "events_api_v2_inbound_integration", "Prometheus"),
            integration("PI2", "generic_email_inbound_integration", "Support mail"),
        ]}),
        json!({"id": "PV00002", "type": "service", "name": "Payments", "description": null,
            "escalation_policy": policy("PP00001", "Platform"), "acknowledgement_timeout": null,
            "auto_resolve_timeout": null, "incident_urgency_rule": constant("high"),
            "teams": [team_ref(0)],
            "integrations": [integration("PI3", "generic_events_api_inbound_integration", "Nagios")]}),
        json!({"id": "PV00003", "type": "service", "name": "Search", "description": null,
            "escalation_policy": policy("PP00002", "Data"), "acknowledgement_timeout": null,
            "auto_resolve_timeout": null, "incident_urgency_rule": constant("severity_based"),
            "alert_grouping_parameters": {"type": "time", "config": {"timeout": 5}},
            "teams": [team_ref(1)],
            "integrations": [integration("PI4", "events_api_v2_inbound_integration", "Grafana")]}),
        json!({"id": "PV00004", "type": "service", "name": "Warehouse", "description": null,
            "escalation_policy": policy("PP00002", "Data"), "acknowledgement_timeout": 600,
            "auto_resolve_timeout": null, "incident_urgency_rule": constant("low"),
            "teams": [team_ref(1)],
            "integrations": [integration("PI5", "datadog_inbound_integration", "Datadog")]}),
        json!({"id": "PV00005", "type": "service", "name": "Billing", "description": "Invoices",
            "escalation_policy": policy("PP00001", "Platform"), "acknowledgement_timeout": null,
            "auto_resolve_timeout": 90,
            "incident_urgency_rule": {"type": "use_support_hours",
                "during_support_hours": {"type": "constant", "urgency": "high"},
                "outside_support_hours": {"type": "constant", "urgency": "low"}},
            "teams": [team_ref(0)], "integrations": []}),
    ];
    page("services", items, &q)
}

/// `/oncalls` for `schedule_ids[]` from `since` to `until`: one entry per stretch of one
/// person, cut at the window, hour by hour (every handoff here is on the hour).
async fn oncalls(RawQuery(raw): RawQuery) -> Response {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let one = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let (Some(since), Some(until)) = (one("since"), one("until")) else {
        return error(StatusCode::BAD_REQUEST, "Invalid Input Provided", 2001);
    };
    let (since, until) = (ts(&since), ts(&until));
    let ids: Vec<&String> = pairs
        .iter()
        .filter(|(k, _)| k == "schedule_ids[]")
        .map(|(_, v)| v)
        .collect();
    let mut items = Vec::new();
    for s in SCHEDULES.iter().filter(|s| ids.iter().any(|i| *i == s.id)) {
        let mut at = since;
        let mut current: Option<(usize, jiff::Timestamp)> = None;
        let hour = jiff::SignedDuration::from_hours(1);
        while at < until {
            // The next whole hour (or the end), and who is on call until it.
            let next = jiff::Timestamp::from_second((at.as_second().div_euclid(3600) + 1) * 3600)
                .unwrap()
                .min(until);
            let now = who(s, at);
            match (current, now) {
                (Some((u, _)), Some(n)) if u == n => {}
                _ => {
                    if let Some((u, from)) = current.take() {
                        items.push(entry(s, u, from, at));
                    }
                    current = now.map(|n| (n, at));
                }
            }
            at = next;
            let _ = hour;
        }
        if let Some((u, from)) = current {
            items.push(entry(s, u, from, until));
        }
    }
    let query: HashMap<String, String> = pairs.into_iter().collect();
    page("oncalls", items, &query).into_response()
}

fn entry(s: &ScheduleDef, user: usize, start: jiff::Timestamp, end: jiff::Timestamp) -> Value {
    json!({
        "escalation_policy": {"id": "PP00001", "type": "escalation_policy_reference"},
        "escalation_level": 1,
        "schedule": {"id": s.id, "type": "schedule_reference", "summary": s.name},
        "user": user_ref(user),
        "start": start.to_string(),
        "end": end.to_string(),
    })
}
