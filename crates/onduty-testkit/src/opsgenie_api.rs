//! A local Opsgenie REST API serving a realistic team, for the importer: the documented
//! field names (camelCase) and nesting under `data`, `offset`/`limit` paging with
//! `paging.next` (3 items a page here), `GenieKey` auth with Opsgenie's error bodies, and on
//! request a 429 (`X-RateLimit-State: THROTTLED`) or a 500 on one path. Who is on call
//! (each schedule's final timeline) is worked out here, hour by hour, from the rotations
//! as Opsgenie describes them: not by onduty's code.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::tz::TimeZone;
use serde_json::{Value, json};

use crate::vendor_api::{Manners, VendorApi};

/// The API key the server takes.
pub const OPSGENIE_KEY: &str = "5c5f2d4e-opsgenie-test-key";
const PAGE: usize = 3;

/// The stand-in (its tricks and what it saw through [`VendorApi`]); stops when dropped.
pub struct OpsgenieApi(VendorApi);

impl std::ops::Deref for OpsgenieApi {
    type Target = VendorApi;
    fn deref(&self) -> &VendorApi {
        &self.0
    }
}

impl OpsgenieApi {
    pub async fn start() -> OpsgenieApi {
        let routes = Router::new()
            .route("/v2/users", get(users))
            .route("/v2/users/{id}/contacts", get(contacts))
            .route("/v2/users/{id}/notification-rules", get(rules))
            .route("/v2/users/{id}/notification-rules/{rule}/steps", get(steps))
            .route("/v2/teams", get(teams))
            .route("/v2/teams/{id}", get(team))
            .route("/v2/schedules", get(schedules))
            .route("/v2/schedules/{id}/overrides", get(overrides))
            .route("/v2/schedules/{id}/timeline", get(timeline))
            .route("/v2/escalations", get(escalations))
            .route("/v1/services", get(services))
            .route("/v2/integrations", get(integrations));
        OpsgenieApi(VendorApi::start(routes, &MANNERS).await)
    }

    /// Who Opsgenie says is on call in `schedule` (its name) at `at`.
    pub fn on_call(schedule: &str, at: jiff::Timestamp) -> Vec<String> {
        let s = SCHEDULES.iter().find(|s| s.name == schedule).unwrap();
        who(s, at).map(|u| vec![email(u)]).unwrap_or_default()
    }
}

/// Opsgenie's manners: `GenieKey` auth, `{"message", "took", "requestId"}` bodies,
/// `X-RateLimit-*` headers.
static MANNERS: Manners = Manners {
    accepts: |h| {
        h.get("authorization").and_then(|v| v.to_str().ok())
            == Some(&format!("GenieKey {OPSGENIE_KEY}"))
    },
    error,
    unauthorized: "Could not authenticate",
    throttled: "You are making too many requests! To avoid errors, we recommend you limit \
                requests.",
    throttle_headers: &[
        ("x-ratelimit-state", "THROTTLED"),
        ("x-ratelimit-reason", "INTEGRATION"),
        ("x-ratelimit-period-in-sec", "1"),
    ],
    failed: "Internal Server Error",
};

fn answer(data: Value) -> Response {
    axum::Json(json!({"data": data, "took": 0.01, "requestId": "5b0cbd5e-test"})).into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"message": message, "took": 0.0, "requestId": "5b0cbd5e-test"})),
    )
        .into_response()
}

/// A page of `items`, with `paging.next` while more remain.
fn page(items: Vec<Value>, query: &HashMap<String, String>, path: &str) -> Response {
    let offset: usize = query
        .get("offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    let limit: usize = query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(20)
        .clamp(1, PAGE);
    let shown: Vec<Value> = items.iter().skip(offset).take(limit).cloned().collect();
    let mut paging =
        json!({"first": format!("https://api.opsgenie.com{path}?limit={limit}&offset=0")});
    if offset + limit < items.len() {
        paging["next"] = json!(format!(
            "https://api.opsgenie.com{path}?limit={limit}&offset={}",
            offset + limit
        ));
    }
    axum::Json(
        json!({"totalCount": items.len(), "data": shown, "paging": paging,
        "took": 0.01, "requestId": "5b0cbd5e-test"}),
    )
    .into_response()
}

/// (id, local part, full name, role, time zone, blocked).
const USERS: [(&str, &str, &str, &str, &str, bool); 10] = [
    (
        "b5b92115-0001",
        "ada",
        "Ada Lovelace",
        "Owner",
        "Europe/London",
        false,
    ),
    (
        "b5b92115-0002",
        "grace",
        "Grace Hopper",
        "Admin",
        "America/New_York",
        false,
    ),
    (
        "b5b92115-0003",
        "alan",
        "Alan Turing",
        "User",
        "Europe/London",
        false,
    ),
    (
        "b5b92115-0004",
        "katherine",
        "Katherine Johnson",
        "User",
        "America/New_York",
        false,
    ),
    (
        "b5b92115-0005",
        "linus",
        "Linus Torvalds",
        "User",
        "Europe/Helsinki",
        false,
    ),
    (
        "b5b92115-0006",
        "margaret",
        "Margaret Hamilton",
        "User",
        "America/New_York",
        false,
    ),
    (
        "b5b92115-0007",
        "edsger",
        "Edsger Dijkstra",
        "User",
        "Europe/Amsterdam",
        false,
    ),
    (
        "b5b92115-0008",
        "barbara",
        "Barbara Liskov",
        "Stakeholder",
        "America/New_York",
        false,
    ),
    (
        "b5b92115-0009",
        "ken",
        "Ken Thompson",
        "User",
        "America/Los_Angeles",
        true,
    ),
    (
        "b5b92115-0010",
        "frances",
        "Frances Allen",
        "On-call lead",
        "America/New_York",
        false,
    ),
];

fn email(i: usize) -> String {
    format!("{}@acme.example", USERS[i].1)
}

fn user_of(id: &str) -> Option<usize> {
    USERS.iter().position(|u| u.0 == id)
}

async fn users(Query(q): Query<HashMap<String, String>>) -> Response {
    let items = USERS
        .iter()
        .enumerate()
        .map(|(i, (id, _, name, role, zone, blocked))| {
            json!({"id": id, "username": email(i), "fullName": name,
                "role": {"id": role, "name": role}, "timeZone": zone, "locale": "en_GB",
                "blocked": blocked, "verified": true, "createdAt": "2025-03-01T10:00:00.000Z"})
        })
        .collect();
    page(items, &q, "/v2/users")
}

async fn contacts(Path(id): Path<String>) -> Response {
    let Some(i) = user_of(&id) else {
        return error(StatusCode::NOT_FOUND, "User not found");
    };
    let mut list = vec![
        json!({"id": format!("c{i}e"), "method": "email", "to": email(i),
            "status": {"enabled": true}, "applyOrder": 1}),
        json!({"id": format!("c{i}s"), "method": "sms", "to": format!("49-15112345{i:03}"),
            "status": {"enabled": true}, "applyOrder": 2}),
        json!({"id": format!("c{i}v"), "method": "voice", "to": format!("49-15112345{i:03}"),
            "status": {"enabled": true}, "applyOrder": 3}),
    ];
    if i == 0 {
        list.push(json!({"id": "c0m", "method": "mobile", "to": "Pixel 9",
            "status": {"enabled": true}, "applyOrder": 4}));
    }
    answer(json!(list))
}

async fn rules(Path(id): Path<String>) -> Response {
    if user_of(&id).is_none() {
        return error(StatusCode::NOT_FOUND, "User not found");
    }
    answer(json!([
        {"id": "r-new-alert", "name": "New Alert", "actionType": "create-alert", "order": 0,
         "enabled": true},
        {"id": "r-closed", "name": "Alert closed", "actionType": "close-alert", "order": 1,
         "enabled": true},
    ]))
}

async fn steps(Path((id, rule)): Path<(String, String)>) -> Response {
    let Some(i) = user_of(&id) else {
        return error(StatusCode::NOT_FOUND, "User not found");
    };
    if rule != "r-new-alert" {
        return error(StatusCode::NOT_FOUND, "Notification rule not found");
    }
    answer(json!([
        {"id": "s1", "contact": {"method": "sms", "to": format!("49-15112345{i:03}")},
         "sendAfter": {"timeAmount": 0, "timeUnit": "minutes"}, "enabled": true},
        {"id": "s2", "contact": {"method": "voice", "to": format!("49-15112345{i:03}")},
         "sendAfter": {"timeAmount": 5, "timeUnit": "minutes"}, "enabled": true},
        {"id": "s3", "contact": {"method": "email", "to": email(i)},
         "sendAfter": {"timeAmount": 1, "timeUnit": "hours"}, "enabled": false},
    ]))
}

const TEAMS: [(&str, &str, &[usize]); 2] = [
    ("t-platform", "Platform", &[0, 1, 2, 3, 4, 7]),
    ("t-data", "Data", &[1, 5, 6, 8, 9]),
];

async fn teams() -> Response {
    answer(json!(
        TEAMS
            .iter()
            .map(|(id, name, _)| json!({"id": id, "name": name, "description": ""}))
            .collect::<Vec<_>>()
    ))
}

async fn team(Path(id): Path<String>) -> Response {
    let Some((id, name, members)) = TEAMS.iter().find(|t| t.0 == id) else {
        return error(StatusCode::NOT_FOUND, "No team exists with id");
    };
    answer(json!({"id": id, "name": name, "description": "",
        "members": members.iter().map(|m| json!({"user": {"id": USERS[*m].0,
            "username": email(*m)}, "role": "user"})).collect::<Vec<_>>()}))
}

struct RotationDef {
    name: &'static str,
    start: &'static str,
    kind: &'static str,
    length: i64,
    users: &'static [usize],
    /// `time-of-day` (start, end) or `weekday-and-time-of-day` spans, each from a day and
    /// hour to a day and hour.
    daily: Option<(u8, u8)>,
    weekly: &'static [(&'static str, u8, &'static str, u8)],
}

struct ScheduleDef {
    id: &'static str,
    name: &'static str,
    timezone: &'static str,
    team: usize,
    rotation: RotationDef,
    overrides: &'static [(usize, &'static str, &'static str)],
}

const SCHEDULES: [ScheduleDef; 3] = [
    ScheduleDef {
        id: "s-primary",
        name: "Platform on call",
        timezone: "Europe/London",
        team: 0,
        rotation: RotationDef {
            name: "Weekly",
            start: "2026-01-05T09:00:00Z",
            kind: "weekly",
            length: 1,
            users: &[0, 1, 2, 3],
            daily: None,
            weekly: &[],
        },
        overrides: &[(4, "2026-01-20T18:00:00Z", "2026-01-21T08:00:00Z")],
    },
    ScheduleDef {
        id: "s-business",
        name: "Business hours",
        timezone: "Europe/Berlin",
        team: 0,
        rotation: RotationDef {
            name: "Days",
            start: "2026-01-05T08:00:00+01:00",
            kind: "daily",
            length: 1,
            users: &[4, 5, 6],
            daily: None,
            weekly: &[
                ("monday", 8, "monday", 18),
                ("tuesday", 8, "tuesday", 18),
                ("wednesday", 8, "wednesday", 18),
                ("thursday", 8, "thursday", 18),
                ("friday", 8, "friday", 18),
            ],
        },
        overrides: &[(0, "2026-01-27T10:00:00+01:00", "2026-01-27T14:00:00+01:00")],
    },
    ScheduleDef {
        id: "s-data",
        name: "Data on call",
        timezone: "America/New_York",
        team: 1,
        rotation: RotationDef {
            name: "Halves",
            start: "2026-01-01T00:00:00-05:00",
            kind: "hourly",
            length: 12,
            users: &[9, 2, 5],
            daily: Some((6, 22)),
            weekly: &[],
        },
        overrides: &[(6, "2026-02-02T11:00:00Z", "2026-02-03T03:00:00Z")],
    },
];

fn ts(text: &str) -> jiff::Timestamp {
    text.parse().unwrap()
}

/// Who is on call in `s` at `at`: an override, else the rotation's participant in turn
/// (counted in whole turns from its start), if its restriction covers the moment on the
/// schedule's clock.
fn who(s: &ScheduleDef, at: jiff::Timestamp) -> Option<usize> {
    if let Some((u, _, _)) = s
        .overrides
        .iter()
        .find(|(_, from, to)| ts(from) <= at && at < ts(to))
    {
        return Some(*u);
    }
    let r = &s.rotation;
    let start = ts(r.start);
    if at < start {
        return None;
    }
    let local = at.to_zoned(TimeZone::get(s.timezone).unwrap());
    let minute_of_day = i64::from(local.hour()) * 60 + i64::from(local.minute());
    let day = i64::from(local.weekday().to_monday_zero_offset());
    let covered = match (r.daily, r.weekly) {
        (Some((from, to)), _) => {
            (i64::from(from) * 60..i64::from(to) * 60).contains(&minute_of_day)
        }
        (None, []) => true,
        (None, spans) => spans.iter().any(|(d1, h1, d2, h2)| {
            let index = |d: &str| {
                [
                    "monday",
                    "tuesday",
                    "wednesday",
                    "thursday",
                    "friday",
                    "saturday",
                    "sunday",
                ]
                .iter()
                .position(|x| *x == d)
                .unwrap() as i64
            };
            // From the start day and hour to the end day and hour, around the week.
            let from = index(d1) * 1440 + i64::from(*h1) * 60;
            let to = index(d2) * 1440 + i64::from(*h2) * 60;
            let now = day * 1440 + minute_of_day;
            (now - from).rem_euclid(10_080) < (to - from).rem_euclid(10_080)
        }),
    };
    if !covered {
        return None;
    }
    let seconds = match r.kind {
        "hourly" => 3600,
        "daily" => 86_400,
        _ => 604_800,
    } * r.length;
    let turn = (at.as_second() - start.as_second()) / seconds;
    Some(r.users[usize::try_from(turn).unwrap() % r.users.len()])
}

async fn schedules() -> Response {
    answer(json!(
        SCHEDULES
            .iter()
            .map(|s| {
                let r = &s.rotation;
                let restriction = match (r.daily, r.weekly) {
                    (Some((from, to)), _) => json!({"type": "time-of-day", "restriction": {
                    "startHour": from, "startMin": 0, "endHour": to, "endMin": 0}}),
                    (None, []) => Value::Null,
                    (None, spans) => json!({"type": "weekday-and-time-of-day", "restrictions":
                    spans.iter().map(|(d1, h1, d2, h2)| json!({"startDay": d1, "startHour": h1,
                        "startMin": 0, "endDay": d2, "endHour": h2, "endMin": 0}))
                        .collect::<Vec<_>>()}),
                };
                let mut rotation = json!({"id": format!("{}-r", s.id), "name": r.name,
                "startDate": r.start, "type": r.kind, "length": r.length,
                "participants": r.users.iter().map(|u| json!({"type": "user",
                    "id": USERS[*u].0, "username": email(*u)})).collect::<Vec<_>>()});
                if !restriction.is_null() {
                    rotation["timeRestriction"] = restriction;
                }
                json!({"id": s.id, "name": s.name, "description": "", "timezone": s.timezone,
                "enabled": true, "ownerTeam": {"id": TEAMS[s.team].0, "name": TEAMS[s.team].1},
                "rotations": [rotation]})
            })
            .collect::<Vec<_>>()
    ))
}

async fn overrides(Path(id): Path<String>) -> Response {
    let Some(s) = SCHEDULES.iter().find(|s| s.id == id) else {
        return error(StatusCode::NOT_FOUND, "No schedule exists with identifier");
    };
    answer(json!(
        s.overrides
            .iter()
            .enumerate()
            .map(|(i, (u, from, to))| json!({"alias": format!("o{i}"),
            "user": {"type": "user", "id": USERS[*u].0, "username": email(*u)},
            "startDate": from, "endDate": to,
            "rotations": [{"id": format!("{}-r", s.id), "name": s.rotation.name}]}))
            .collect::<Vec<_>>()
    ))
}

/// The final timeline from `date` over `interval` days: one period per stretch of one
/// person (hour by hour; every handoff here is on the hour).
async fn timeline(Path(id): Path<String>, Query(q): Query<HashMap<String, String>>) -> Response {
    let Some(s) = SCHEDULES.iter().find(|s| s.id == id) else {
        return error(StatusCode::NOT_FOUND, "No schedule exists with identifier");
    };
    let (Some(date), Some(days)) = (
        q.get("date").map(|d| ts(d)),
        q.get("interval").and_then(|i| i.parse::<i64>().ok()),
    ) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "date and interval are required",
        );
    };
    if q.get("intervalUnit").map(String::as_str) != Some("days") {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "intervalUnit must be days here",
        );
    }
    let until = jiff::Timestamp::from_second(date.as_second() + days * 86_400).unwrap();
    let mut periods = Vec::new();
    let mut current: Option<(usize, jiff::Timestamp)> = None;
    let mut at = date;
    while at < until {
        let next = jiff::Timestamp::from_second((at.as_second().div_euclid(3600) + 1) * 3600)
            .unwrap()
            .min(until);
        let now = who(s, at);
        if current.map(|(u, _)| u) != now {
            if let Some((u, from)) = current.take() {
                periods.push(period(u, from, at));
            }
            current = now.map(|n| (n, at));
        }
        at = next;
    }
    if let Some((u, from)) = current {
        periods.push(period(u, from, until));
    }
    answer(
        json!({"_parent": {"id": s.id, "name": s.name, "enabled": true},
        "startDate": date.to_string(), "endDate": until.to_string(),
        "finalTimeline": {"rotations": [{"id": format!("{}-r", s.id), "name": s.rotation.name,
            "order": 1.0, "periods": periods}]}}),
    )
}

fn period(user: usize, from: jiff::Timestamp, to: jiff::Timestamp) -> Value {
    json!({"startDate": from.to_string(), "endDate": to.to_string(), "type": "default",
        "recipient": {"id": USERS[user].0, "type": "user", "name": email(user)}})
}

async fn escalations() -> Response {
    let schedule = |i: usize| {
        json!({"type": "schedule", "id": SCHEDULES[i].id,
        "name": SCHEDULES[i].name})
    };
    let user = |i: usize| json!({"type": "user", "id": USERS[i].0, "username": email(i)});
    let rule = |delay: u32, recipient: Value| {
        json!({"condition": "if-not-acked",
        "notifyType": "default", "delay": {"timeAmount": delay, "timeUnit": "minutes"},
        "recipient": recipient})
    };
    answer(json!([
        {"id": "e-platform", "name": "Platform escalation", "description": "",
         "ownerTeam": {"id": "t-platform", "name": "Platform"},
         "rules": [rule(0, schedule(0)), rule(0, schedule(1)), rule(15, user(1)),
                   rule(45, json!({"type": "team", "id": "t-platform", "name": "Platform"}))],
         "repeat": {"waitInterval": 10, "count": 2, "resetRecipientStates": false,
                    "closeAlertAfterAll": false}},
        {"id": "e-data", "name": "Data escalation", "description": "Data team",
         "ownerTeam": {"id": "t-data", "name": "Data"},
         "rules": [rule(0, schedule(2)), rule(20, user(9))]},
    ]))
}

async fn services(Query(q): Query<HashMap<String, String>>) -> Response {
    let service = |id: &str, name: &str, team: &str| {
        json!({"id": id, "name": name,
        "description": format!("{name} service"), "teamId": team, "tags": [],
        "isExternal": false})
    };
    let items = vec![
        service("sv1", "Checkout", "t-platform"),
        service("sv2", "Payments", "t-platform"),
        service("sv3", "Search", "t-data"),
        service("sv4", "Warehouse", "t-data"),
        service("sv5", "Billing", "t-platform"),
    ];
    page(items, &q, "/v1/services")
}

async fn integrations() -> Response {
    let integration = |id: &str, name: &str, kind: &str, enabled: bool, team: &str| {
        json!({
        "id": id, "name": name, "type": kind, "enabled": enabled, "teamId": team,
        "version": "v2"})
    };
    answer(json!([
        integration("i1", "Default API", "API", true, "t-platform"),
        integration("i2", "Prometheus", "Prometheus", true, "t-platform"),
        integration("i3", "Support mail", "Email", true, "t-data"),
        integration("i4", "Datadog", "Datadog", true, "t-data"),
        integration("i5", "Old Grafana", "Grafana", false, "t-data"),
    ]))
}
