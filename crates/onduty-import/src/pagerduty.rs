//! PagerDuty (REST API v2, `https://api.pagerduty.com`): users with their contact methods
//! and notification rules, teams and members, schedules (layers, restrictions,
//! overrides), escalation policies, services and their integrations; then `/oncalls`
//! for the comparison. Lists are paged with `offset` and `limit` until `more` is false.

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

pub const PRODUCT: &str = "PagerDuty";
/// Where PagerDuty's REST API is.
pub const API_URL: &str = "https://api.pagerduty.com";
/// Items asked for per page (PagerDuty's most).
const PAGE: usize = 100;

/// PagerDuty's API with a REST API token (`Authorization: Token token=…`).
pub fn api(base: &str, token: &str, wait: Wait) -> Result<Api, ImportError> {
    Api::new(
        PRODUCT,
        base,
        &[
            ("authorization", format!("Token token={token}")),
            (
                "accept",
                "application/vnd.pagerduty+json;version=2".to_owned(),
            ),
        ],
        wait,
    )
}

/// Every item of a list, page by page.
async fn all(
    api: &Api,
    path: &str,
    key: &str,
    extra: &[(&str, String)],
) -> Result<Vec<Value>, ImportError> {
    let mut items = Vec::new();
    loop {
        let mut query: Vec<(&str, String)> = extra.to_vec();
        query.push(("limit", PAGE.to_string()));
        query.push(("offset", items.len().to_string()));
        let page = api.get(path, &query).await?;
        let got = page
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| ImportError::Unreadable {
                product: PRODUCT,
                path: path.to_owned(),
                message: format!("no '{key}' list"),
            })?;
        let empty = got.is_empty();
        items.extend(got);
        if empty || !page.get("more").and_then(Value::as_bool).unwrap_or(false) {
            return Ok(items);
        }
    }
}

fn parse<T: for<'de> Deserialize<'de>>(path: &str, v: Value) -> Result<T, ImportError> {
    serde_json::from_value(v).map_err(|e| ImportError::Unreadable {
        product: PRODUCT,
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// Everything read from PagerDuty.
#[derive(Debug, Clone, Default)]
pub struct Account {
    pub users: Vec<User>,
    pub teams: Vec<(Team, Vec<String>)>,
    pub schedules: Vec<(Schedule, Vec<ScheduleOverride>)>,
    pub policies: Vec<EscalationPolicy>,
    pub services: Vec<Service>,
    /// Per schedule id, who PagerDuty says is on call when.
    pub on_call: HashMap<String, Vec<OnCall>>,
    /// Why PagerDuty did not list teams, if it did not.
    pub teams_refused: Option<String>,
}

/// Reads the account: every list, every page; `days` ahead of `now` for overrides and
/// the on-call answers.
pub async fn read(api: &Api, now: Timestamp, days: u32) -> Result<Account, ImportError> {
    let since = now.to_rfc3339();
    let until = Timestamp::from_millis(now.as_millis() + i64::from(days) * 86_400_000).to_rfc3339();
    let overrides_until = Timestamp::from_millis(now.as_millis() + 365 * 86_400_000).to_rfc3339();
    let include = |what: &str| ("include[]", what.to_owned());
    let users = all(
        api,
        "/users",
        "users",
        &[include("contact_methods"), include("notification_rules")],
    )
    .await?
    .into_iter()
    .map(|v| parse("/users", v))
    .collect::<Result<Vec<User>, _>>()?;
    let mut teams = Vec::new();
    // Accounts without the Teams feature are refused the list: there are none to read.
    let (listed, teams_refused) = match all(api, "/teams", "teams", &[]).await {
        Ok(listed) => (listed, None),
        Err(
            e @ ImportError::Api {
                status: 402 | 403, ..
            },
        )
        | Err(e @ ImportError::Unauthorized { status: 403, .. }) => {
            (Vec::new(), Some(e.to_string()))
        }
        Err(e) => return Err(e),
    };
    for v in listed {
        let team: Team = parse("/teams", v)?;
        let path = format!("/teams/{}/members", team.id);
        let members = all(api, &path, "members", &[])
            .await?
            .into_iter()
            .map(|v| parse::<Member>(&path, v).map(|m| m.user.id))
            .collect::<Result<Vec<_>, _>>()?;
        teams.push((team, members));
    }
    let mut schedules = Vec::new();
    let mut on_call = HashMap::new();
    for v in all(api, "/schedules", "schedules", &[]).await? {
        let listed: Reference = parse("/schedules", v)?;
        let path = format!("/schedules/{}", listed.id);
        let one = api.get(&path, &[]).await?;
        let schedule: Schedule = parse(&path, one.get("schedule").cloned().unwrap_or(one))?;
        let path = format!("/schedules/{}/overrides", schedule.id);
        // Overrides as far ahead as onduty keeps them, whole (`overflow`), whatever the
        // period compared.
        let answer = api
            .get(
                &path,
                &[
                    ("since", since.clone()),
                    ("until", overrides_until.clone()),
                    ("overflow", "true".to_owned()),
                ],
            )
            .await?;
        let overrides = answer
            .get("overrides")
            .cloned()
            .map(|v| parse::<Vec<ScheduleOverride>>(&path, v))
            .transpose()?
            .unwrap_or_default();
        let answers = all(
            api,
            "/oncalls",
            "oncalls",
            &[
                ("schedule_ids[]", schedule.id.clone()),
                ("since", since.clone()),
                ("until", until.clone()),
            ],
        )
        .await?
        .into_iter()
        .map(|v| parse::<OnCall>("/oncalls", v))
        .collect::<Result<Vec<_>, _>>()?;
        on_call.insert(schedule.id.clone(), answers);
        schedules.push((schedule, overrides));
    }
    let policies = all(api, "/escalation_policies", "escalation_policies", &[])
        .await?
        .into_iter()
        .map(|v| parse("/escalation_policies", v))
        .collect::<Result<Vec<EscalationPolicy>, _>>()?;
    let services = all(api, "/services", "services", &[include("integrations")])
        .await?
        .into_iter()
        .map(|v| parse("/services", v))
        .collect::<Result<Vec<Service>, _>>()?;
    Ok(Account {
        users,
        teams,
        schedules,
        policies,
        services,
        on_call,
        teams_refused,
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
