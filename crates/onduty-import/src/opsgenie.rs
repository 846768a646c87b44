//! Opsgenie (REST API v2, `https://api.opsgenie.com`, or `https://api.eu.opsgenie.com`):
//! users with their contact methods and notification rules' steps, teams and members,
//! schedules with their rotations and overrides, escalations, services and integrations;
//! then each schedule's final timeline for the comparison. Lists are paged with `offset`
//! and `limit` while `paging.next` is given.

mod map;
mod types;

use std::collections::HashMap;

use onduty_core::Timestamp;
use serde::Deserialize;
use serde_json::Value;

use crate::Imported;
use crate::fetch::{Api, ImportError, Wait};

pub use map::map;
pub use types::*;

pub const PRODUCT: &str = "Opsgenie";
/// Where Opsgenie's REST API is (EU accounts: `https://api.eu.opsgenie.com`).
pub const API_URL: &str = "https://api.opsgenie.com";
const PAGE: usize = 100;

/// Opsgenie's API with an API key (`Authorization: GenieKey …`); the key needs read
/// access to the configuration.
pub fn api(base: &str, key: &str, wait: Wait) -> Result<Api, ImportError> {
    Api::new(
        PRODUCT,
        base,
        &[("authorization", format!("GenieKey {key}"))],
        wait,
    )
}

fn unreadable(path: &str, message: impl Into<String>) -> ImportError {
    ImportError::Unreadable {
        product: PRODUCT,
        path: path.to_owned(),
        message: message.into(),
    }
}

fn parse<T: for<'de> Deserialize<'de>>(path: &str, v: Value) -> Result<T, ImportError> {
    serde_json::from_value(v).map_err(|e| unreadable(path, e.to_string()))
}

/// `data` of one answer.
async fn data(api: &Api, path: &str, query: &[(&str, String)]) -> Result<Value, ImportError> {
    let answer = api.get(path, query).await?;
    answer
        .get("data")
        .cloned()
        .ok_or_else(|| unreadable(path, "no 'data'"))
}

/// Every item of a paged list.
async fn all(api: &Api, path: &str, extra: &[(&str, String)]) -> Result<Vec<Value>, ImportError> {
    let mut items = Vec::new();
    loop {
        let mut query = extra.to_vec();
        query.push(("limit", PAGE.to_string()));
        query.push(("offset", items.len().to_string()));
        let answer = api.get(path, &query).await?;
        let got = answer
            .get("data")
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| unreadable(path, "no 'data' list"))?;
        let empty = got.is_empty();
        items.extend(got);
        let next = answer.pointer("/paging/next").and_then(Value::as_str);
        if empty || next.is_none_or(str::is_empty) {
            return Ok(items);
        }
    }
}

/// Everything read from Opsgenie.
#[derive(Debug, Clone, Default)]
pub struct Account {
    pub users: Vec<(User, Vec<Contact>, Vec<Vec<Step>>)>,
    pub teams: Vec<(Team, Vec<String>)>,
    pub schedules: Vec<(Schedule, Vec<ScheduleOverride>)>,
    pub escalations: Vec<Escalation>,
    pub services: Vec<Service>,
    pub integrations: Vec<Integration>,
    /// Per schedule id, its final timeline's periods.
    pub timelines: HashMap<String, Vec<Period>>,
}

/// Reads the account: every list, every page; the timelines over `days` from `now`.
pub async fn read(api: &Api, now: Timestamp, days: u32) -> Result<Account, ImportError> {
    let mut users = Vec::new();
    for v in all(api, "/v2/users", &[]).await? {
        let user: User = parse("/v2/users", v)?;
        let path = format!("/v2/users/{}/contacts", user.id);
        let contacts: Vec<Contact> = parse(&path, data(api, &path, &[]).await?)?;
        let path = format!("/v2/users/{}/notification-rules", user.id);
        let rules: Vec<RuleHead> = parse(&path, data(api, &path, &[]).await?)?;
        let mut steps = Vec::new();
        for rule in rules
            .iter()
            .filter(|r| r.action_type == "create-alert" && r.enabled)
        {
            let path = format!("/v2/users/{}/notification-rules/{}/steps", user.id, rule.id);
            steps.push(parse(&path, data(api, &path, &[]).await?)?);
        }
        users.push((user, contacts, steps));
    }
    let mut teams = Vec::new();
    let listed: Vec<Team> = parse("/v2/teams", data(api, "/v2/teams", &[]).await?)?;
    for team in listed {
        let path = format!("/v2/teams/{}", team.id);
        let one: TeamDetail = parse(&path, data(api, &path, &[]).await?)?;
        let members = one
            .members
            .into_iter()
            .map(|m| m.user.username.trim().to_lowercase())
            .collect();
        teams.push((team, members));
    }
    let mut schedules = Vec::new();
    let mut timelines = HashMap::new();
    let expand = [("expand", "rotation".to_owned())];
    let listed: Vec<Schedule> = parse("/v2/schedules", data(api, "/v2/schedules", &expand).await?)?;
    for schedule in listed {
        let path = format!("/v2/schedules/{}/overrides", schedule.id);
        let overrides: Vec<ScheduleOverride> = parse(&path, data(api, &path, &[]).await?)?;
        let path = format!("/v2/schedules/{}/timeline", schedule.id);
        let timeline: Timeline = parse(
            &path,
            data(
                api,
                &path,
                &[
                    ("interval", days.to_string()),
                    ("intervalUnit", "days".to_owned()),
                    ("date", now.to_rfc3339()),
                ],
            )
            .await?,
        )?;
        let periods = timeline
            .final_timeline
            .rotations
            .into_iter()
            .flat_map(|r| r.periods)
            .collect();
        timelines.insert(schedule.id.clone(), periods);
        schedules.push((schedule, overrides));
    }
    let escalations = parse("/v2/escalations", data(api, "/v2/escalations", &[]).await?)?;
    let services = all(api, "/v1/services", &[])
        .await?
        .into_iter()
        .map(|v| parse("/v1/services", v))
        .collect::<Result<Vec<Service>, _>>()?;
    let integrations = parse(
        "/v2/integrations",
        data(api, "/v2/integrations", &[]).await?,
    )?;
    Ok(Account {
        users,
        teams,
        schedules,
        escalations,
        services,
        integrations,
        timelines,
    })
}

/// Reads the account and maps it; `new_key` makes each integration's onduty key.
pub async fn import(
    api: &Api,
    now: Timestamp,
    days: u32,
    new_key: impl FnMut() -> String,
) -> Result<Imported, ImportError> {
    let account = read(api, now, days).await?;
    Ok(map(&account, now, days, new_key))
}
