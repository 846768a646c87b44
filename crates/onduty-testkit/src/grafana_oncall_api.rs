//! A local Grafana OnCall public API (v1) serving a realistic team, for the importer: its
//! field names and nesting (`results`, `next`, paged by `page`; 3 items a page here), the
//! `Authorization: <token>` header with its `{"detail": …}` errors, and on request a 429
//! (with `Retry-After`) or a 500 on one path. Who is on call (each schedule's
//! `final_shifts`) is worked out here, hour by hour, from the shifts as Grafana OnCall
//! describes them: not by onduty's code.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde_json::{Value, json};

use crate::vendor_api::{Manners, VendorApi};

/// The token the server takes.
pub const ONCALL_TOKEN: &str = "oncall-test-token-0f3a";
const PAGE: usize = 3;

/// The stand-in (its tricks and what it saw through [`VendorApi`]); stops when dropped.
pub struct GrafanaOnCallApi(VendorApi);

impl std::ops::Deref for GrafanaOnCallApi {
    type Target = VendorApi;
    fn deref(&self) -> &VendorApi {
        &self.0
    }
}

impl GrafanaOnCallApi {
    pub async fn start() -> GrafanaOnCallApi {
        let routes = Router::new()
            .route("/api/v1/users/", get(users))
            .route("/api/v1/personal_notification_rules/", get(personal_rules))
            .route("/api/v1/teams/", get(teams))
            .route("/api/v1/schedules/", get(schedules))
            .route("/api/v1/schedules/{id}/final_shifts", get(final_shifts))
            .route("/api/v1/on_call_shifts/", get(shifts))
            .route("/api/v1/escalation_chains/", get(chains))
            .route("/api/v1/escalation_policies/", get(steps))
            .route("/api/v1/integrations/", get(integrations));
        GrafanaOnCallApi(VendorApi::start(routes, &MANNERS).await)
    }

    /// Who Grafana OnCall says is on call in `schedule` (its name) at `at`.
    pub fn on_call(schedule: &str, at: jiff::Timestamp) -> Vec<String> {
        let s = SCHEDULES.iter().find(|s| s.name == schedule).unwrap();
        who(s, at).map(|u| vec![email(u)]).unwrap_or_default()
    }
}

/// Grafana OnCall's manners: the token alone in `Authorization`, `{"detail"}` bodies,
/// `Retry-After`.
static MANNERS: Manners = Manners {
    accepts: |h| h.get("authorization").and_then(|v| v.to_str().ok()) == Some(ONCALL_TOKEN),
    error,
    unauthorized: "Invalid token.",
    throttled: "Request was throttled. Expected available in 2 seconds.",
    throttle_headers: &[("retry-after", "2")],
    failed: "A server error occurred.",
};

fn error(status: StatusCode, detail: &str) -> Response {
    (status, axum::Json(json!({"detail": detail}))).into_response()
}

/// One page of `items` (`page` counts from 1).
fn page(items: Vec<Value>, query: &HashMap<String, String>, path: &str) -> Response {
    let page: usize = query
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let pages = items.len().div_ceil(PAGE).max(1);
    let shown: Vec<Value> = items
        .iter()
        .skip((page - 1) * PAGE)
        .take(PAGE)
        .cloned()
        .collect();
    let link = |p: usize| json!(format!("https://oncall.example{path}?page={p}"));
    axum::Json(json!({
        "count": items.len(),
        "next": if page < pages { link(page + 1) } else { Value::Null },
        "previous": if page > 1 { link(page - 1) } else { Value::Null },
        "results": shown,
        "page_size": PAGE,
        "current_page_number": page,
        "total_pages": pages,
    }))
    .into_response()
}

/// (id, local part, name, role, time zone, teams).
type UserRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

const USERS: [UserRow; 10] = [
    (
        "U1ADA",
        "ada",
        "Ada Lovelace",
        "admin",
        "Europe/London",
        &["TPLAT"],
    ),
    (
        "U2GRACE",
        "grace",
        "Grace Hopper",
        "admin",
        "America/New_York",
        &["TPLAT", "TDATA"],
    ),
    (
        "U3ALAN",
        "alan",
        "Alan Turing",
        "editor",
        "Europe/London",
        &["TPLAT"],
    ),
    (
        "U4KATH",
        "katherine",
        "Katherine Johnson",
        "editor",
        "America/New_York",
        &["TPLAT"],
    ),
    (
        "U5LINUS",
        "linus",
        "Linus Torvalds",
        "editor",
        "Europe/Helsinki",
        &["TPLAT"],
    ),
    (
        "U6MARG",
        "margaret",
        "Margaret Hamilton",
        "editor",
        "America/New_York",
        &["TDATA"],
    ),
    (
        "U7EDS",
        "edsger",
        "Edsger Dijkstra",
        "editor",
        "Europe/Amsterdam",
        &["TDATA"],
    ),
    (
        "U8BARB",
        "barbara",
        "Barbara Liskov",
        "viewer",
        "America/New_York",
        &["TPLAT"],
    ),
    (
        "U9KEN",
        "ken",
        "Ken Thompson",
        "editor",
        "America/Los_Angeles",
        &["TDATA"],
    ),
    (
        "U10FRAN",
        "frances",
        "Frances Allen",
        "editor",
        "America/New_York",
        &["TDATA"],
    ),
];

fn email(i: usize) -> String {
    format!("{}@acme.example", USERS[i].1)
}

async fn users(Query(q): Query<HashMap<String, String>>) -> Response {
    let items = USERS
        .iter()
        .enumerate()
        .map(|(i, (id, local, name, role, zone, teams))| {
            json!({"id": id, "email": email(i), "slack": null, "username": local, "name": name,
                "role": role, "is_phone_number_verified": i == 0, "timezone": zone,
                "teams": teams})
        })
        .collect();
    page(items, &q, "/api/v1/users/")
}

async fn personal_rules(Query(q): Query<HashMap<String, String>>) -> Response {
    let Some(user) = q.get("user_id").filter(|u| USERS.iter().any(|x| x.0 == *u)) else {
        return error(StatusCode::BAD_REQUEST, "user_id is invalid");
    };
    let rule = |pos: i64, important: bool, kind: &str, duration: Option<u32>| {
        json!({
        "id": format!("N{user}{pos}{important}"), "user_id": user, "position": pos,
        "important": important, "type": kind, "duration": duration})
    };
    let mut items = vec![
        rule(0, false, "notify_by_email", None),
        rule(1, false, "wait", Some(300)),
        rule(2, false, "notify_by_email", None),
        rule(0, true, "notify_by_email", None),
    ];
    if user == "U1ADA" {
        items.push(rule(1, true, "notify_by_phone_call", None));
    }
    page(items, &q, "/api/v1/personal_notification_rules/")
}

async fn teams(Query(q): Query<HashMap<String, String>>) -> Response {
    let items = vec![
        json!({"id": "TPLAT", "name": "Platform", "email": "platform@acme.example", "avatar_url": null}),
        json!({"id": "TDATA", "name": "Data", "email": null, "avatar_url": null}),
    ];
    page(items, &q, "/api/v1/teams/")
}

struct ShiftDef {
    id: &'static str,
    name: &'static str,
    /// `rolling_users` or `override`.
    kind: &'static str,
    level: i64,
    start: &'static str,
    duration: i64,
    frequency: Option<&'static str>,
    by_day: &'static [&'static str],
    users: &'static [usize],
}

struct ScheduleDef {
    id: &'static str,
    name: &'static str,
    time_zone: &'static str,
    team: &'static str,
    shifts: &'static [ShiftDef],
}

const SCHEDULES: [ScheduleDef; 3] = [
    ScheduleDef {
        id: "SPRIMARY",
        name: "Primary",
        time_zone: "UTC",
        team: "TPLAT",
        shifts: &[
            ShiftDef {
                id: "OWEEKLY",
                name: "Weekly",
                kind: "rolling_users",
                level: 1,
                start: "2026-01-05T09:00:00",
                duration: 604_800,
                frequency: Some("weekly"),
                by_day: &[],
                users: &[0, 1, 2, 3],
            },
            ShiftDef {
                id: "OOVER1",
                name: "Linus covers",
                kind: "override",
                level: 0,
                start: "2026-01-20T18:00:00",
                duration: 50_400,
                frequency: None,
                by_day: &[],
                users: &[4],
            },
        ],
    },
    ScheduleDef {
        id: "SBUSINESS",
        name: "Business hours",
        time_zone: "Europe/Berlin",
        team: "TPLAT",
        shifts: &[
            ShiftDef {
                id: "OWEEKDAYS",
                name: "Weekdays",
                kind: "rolling_users",
                level: 1,
                start: "2026-01-05T07:00:00",
                duration: 36_000,
                frequency: Some("weekly"),
                by_day: &["MO", "TU", "WE", "TH", "FR"],
                users: &[4, 5, 6],
            },
            ShiftDef {
                id: "OOVER2",
                name: "Ada covers",
                kind: "override",
                level: 0,
                start: "2026-01-27T09:00:00",
                duration: 14_400,
                frequency: None,
                by_day: &[],
                users: &[0],
            },
        ],
    },
    ScheduleDef {
        id: "SDATA",
        name: "Data on call",
        time_zone: "America/New_York",
        team: "TDATA",
        shifts: &[ShiftDef {
            id: "ODAYS",
            name: "Days",
            kind: "rolling_users",
            level: 1,
            start: "2026-01-01T11:00:00",
            duration: 57_600,
            frequency: Some("daily"),
            by_day: &[],
            users: &[9, 2, 5],
        }],
    },
];

/// A shift's time: shifts made in OnCall's web UI carry no time zone and are on UTC's
/// clock (so are these).
fn utc(text: &str) -> jiff::Timestamp {
    text.parse::<DateTime>()
        .unwrap()
        .to_zoned(TimeZone::UTC)
        .unwrap()
        .timestamp()
}

/// Who is on call in `s` at `at`: an override, else the highest level whose event covers
/// the moment (days and times on UTC's clock, as OnCall reads shifts without a zone); the
/// user rolls each recurrence period from the shift's start.
fn who(s: &ScheduleDef, at: jiff::Timestamp) -> Option<usize> {
    let zone = TimeZone::UTC;
    for o in s.shifts.iter().filter(|sh| sh.kind == "override") {
        let from = utc(o.start);
        if from <= at && at.as_second() < from.as_second() + o.duration {
            return Some(o.users[0]);
        }
    }
    let mut rotations: Vec<&ShiftDef> =
        s.shifts.iter().filter(|sh| sh.kind != "override").collect();
    rotations.sort_by_key(|sh| -sh.level);
    for sh in rotations {
        let start = utc(sh.start);
        if at < start {
            continue;
        }
        let period = match sh.frequency.unwrap() {
            "hourly" => 3_600,
            "daily" => 86_400,
            _ => 604_800,
        };
        // The event that covers `at` starts at the start's time of day on a day it happens.
        let start_local = start.to_zoned(zone.clone());
        let here = at.to_zoned(zone.clone());
        let secs = |z: &jiff::Zoned| i64::from(z.hour()) * 3600 + i64::from(z.minute()) * 60;
        let since_event = (secs(&here) - secs(&start_local)).rem_euclid(86_400);
        let event_day = here
            .checked_sub(jiff::SignedDuration::from_secs(since_event))
            .unwrap();
        let day_code = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
            [usize::try_from(event_day.weekday().to_monday_zero_offset()).unwrap()];
        let covered = if sh.by_day.is_empty() {
            (at.as_second() - start.as_second()).rem_euclid(period) < sh.duration
        } else {
            sh.by_day.contains(&day_code) && since_event < sh.duration
        };
        if !covered {
            continue;
        }
        let turn = (at.as_second() - start.as_second()) / period;
        return Some(sh.users[usize::try_from(turn).unwrap() % sh.users.len()]);
    }
    None
}

async fn schedules(Query(q): Query<HashMap<String, String>>) -> Response {
    let items = SCHEDULES
        .iter()
        .map(|s| {
            json!({"id": s.id, "team_id": s.team, "name": s.name, "type": "web",
            "time_zone": s.time_zone, "on_call_now": [], "shifts":
                s.shifts.iter().map(|sh| sh.id).collect::<Vec<_>>(),
            "slack": null, "ical_url_overrides": null})
        })
        .collect();
    page(items, &q, "/api/v1/schedules/")
}

async fn shifts(Query(q): Query<HashMap<String, String>>) -> Response {
    let items = SCHEDULES
        .iter()
        .flat_map(|s| {
            s.shifts.iter().map(move |sh| {
                let ids: Vec<&str> = sh.users.iter().map(|u| USERS[*u].0).collect();
                let mut v = json!({"id": sh.id, "team_id": s.team, "schedule": s.id,
                    "name": sh.name, "type": sh.kind,
                    "level": sh.level, "start": sh.start, "rotation_start": sh.start, "time_zone": null,
                    "duration": sh.duration, "source": 0});
                if sh.kind == "override" {
                    v["users"] = json!(ids);
                } else {
                    v["frequency"] = json!(sh.frequency);
                    v["interval"] = json!(1);
                    v["week_start"] = json!("MO");
                    v["by_day"] = if sh.by_day.is_empty() {
                        Value::Null
                    } else {
                        json!(sh.by_day)
                    };
                    v["until"] = Value::Null;
                    v["rolling_users"] = json!(ids.iter().map(|i| vec![*i]).collect::<Vec<_>>());
                    v["start_rotation_from_user_index"] = json!(0);
                }
                v
            })
        })
        .collect();
    page(items, &q, "/api/v1/on_call_shifts/")
}

/// Final shifts from `start_date` (00:00 UTC) to the end of `end_date`, hour by hour.
async fn final_shifts(
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(s) = SCHEDULES.iter().find(|s| s.id == id) else {
        return error(StatusCode::NOT_FOUND, "Not found.");
    };
    let date = |k: &str| {
        q.get(k)
            .and_then(|d| d.parse::<jiff::civil::Date>().ok())
            .map(|d| d.to_zoned(TimeZone::UTC).unwrap().timestamp())
    };
    let (Some(from), Some(to)) = (date("start_date"), date("end_date")) else {
        return error(
            StatusCode::BAD_REQUEST,
            "start_date and end_date are required",
        );
    };
    let until = jiff::Timestamp::from_second(to.as_second() + 86_400).unwrap();
    let mut items = Vec::new();
    let mut current: Option<(usize, jiff::Timestamp)> = None;
    let mut at = from;
    while at < until {
        let now = who(s, at);
        if current.map(|(u, _)| u) != now {
            if let Some((u, start)) = current.take() {
                items.push(entry(u, start, at));
            }
            current = now.map(|u| (u, at));
        }
        at = jiff::Timestamp::from_second(at.as_second() + 3600).unwrap();
    }
    if let Some((u, start)) = current {
        items.push(entry(u, start, until));
    }
    page(items, &q, &format!("/api/v1/schedules/{id}/final_shifts"))
}

fn entry(user: usize, start: jiff::Timestamp, end: jiff::Timestamp) -> Value {
    json!({"user_pk": USERS[user].0, "user_email": email(user), "user_username": USERS[user].1,
        "shift_start": start.to_string(), "shift_end": end.to_string()})
}

async fn chains(Query(q): Query<HashMap<String, String>>) -> Response {
    let items = vec![
        json!({"id": "FPLAT", "team_id": "TPLAT", "name": "Platform chain"}),
        json!({"id": "FDATA", "team_id": "TDATA", "name": "Data chain"}),
    ];
    page(items, &q, "/api/v1/escalation_chains/")
}

async fn steps(Query(q): Query<HashMap<String, String>>) -> Response {
    let step = |chain: &str, pos: i64, kind: &str, extra: Value| {
        let mut v = json!({"id": format!("E{chain}{pos}"), "escalation_chain_id": chain,
            "position": pos, "type": kind, "important": false});
        if let (Some(v), Some(extra)) = (v.as_object_mut(), extra.as_object()) {
            v.extend(extra.clone());
        }
        v
    };
    let items = match q.get("escalation_chain_id").map(String::as_str) {
        Some("FPLAT") => vec![
            step(
                "FPLAT",
                0,
                "notify_on_call_from_schedule",
                json!({"notify_on_call_from_schedule": "SPRIMARY"}),
            ),
            step(
                "FPLAT",
                1,
                "notify_on_call_from_schedule",
                json!({"notify_on_call_from_schedule": "SBUSINESS"}),
            ),
            step("FPLAT", 2, "wait", json!({"duration": 900})),
            step(
                "FPLAT",
                3,
                "notify_persons",
                json!({"persons_to_notify": [USERS[1].0]}),
            ),
            step("FPLAT", 4, "wait", json!({"duration": 1800})),
            step(
                "FPLAT",
                5,
                "notify_user_group",
                json!({"group_to_notify": "S0PLAT"}),
            ),
        ],
        Some("FDATA") => vec![
            step(
                "FDATA",
                0,
                "notify_on_call_from_schedule",
                json!({"notify_on_call_from_schedule": "SDATA"}),
            ),
            step("FDATA", 1, "wait", json!({"duration": 1200})),
            step(
                "FDATA",
                2,
                "notify_person_next_each_time",
                json!({"persons_to_notify_next_each_time": [USERS[9].0, USERS[1].0]}),
            ),
        ],
        _ => return error(StatusCode::BAD_REQUEST, "escalation_chain_id is invalid"),
    };
    page(items, &q, "/api/v1/escalation_policies/")
}

async fn integrations(Query(q): Query<HashMap<String, String>>) -> Response {
    let integration = |id: &str, name: &str, kind: &str, team: &str, chain: &str| {
        json!({
        "id": id, "name": name, "team_id": team, "type": kind,
        "link": format!("https://oncall.example/integrations/v1/{kind}/{id}/"),
        "default_route": {"id": format!("R{id}"), "escalation_chain_id": chain}})
    };
    let items = vec![
        integration(
            "CGRAF",
            "Grafana alerts",
            "grafana_alerting",
            "TPLAT",
            "FPLAT",
        ),
        integration("CALERT", "Alertmanager", "alertmanager", "TPLAT", "FPLAT"),
        integration("CMAIL", "Support mail", "email", "TDATA", "FDATA"),
        integration(
            "CSEARCH",
            "Search alerts",
            "grafana_alerting",
            "TDATA",
            "FDATA",
        ),
        integration("CBILL", "Billing alerts", "alertmanager", "TPLAT", "FPLAT"),
        integration("CZABBIX", "Zabbix", "zabbix", "TDATA", "FDATA"),
    ];
    page(items, &q, "/api/v1/integrations/")
}
