//! Grafana OnCall (its public API v1, `<OnCall API URL>/api/v1/`, as the OSS edition and
//! Grafana Cloud serve it): users and their personal notification rules, teams,
//! schedules with their shifts (rotations and overrides), escalation chains with their
//! steps, and integrations, each with its default route. Lists are paged by `page` while
//! `next` is given; who is on call comes from each schedule's `final_shifts`.

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

pub const PRODUCT: &str = "Grafana OnCall";

/// Grafana OnCall's API with an API token (`Authorization: <token>`). `base` is the
/// OnCall API URL (Grafana Cloud shows it on OnCall's settings page; the OSS engine's
/// address otherwise), without `/api/v1`.
pub fn api(base: &str, token: &str, wait: Wait) -> Result<Api, ImportError> {
    Api::new(PRODUCT, base, &[("authorization", token.to_owned())], wait)
}

fn parse<T: for<'de> Deserialize<'de>>(path: &str, v: Value) -> Result<T, ImportError> {
    serde_json::from_value(v).map_err(|e| ImportError::Unreadable {
        product: PRODUCT,
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// Every item of a list, page after page.
async fn all<T: for<'de> Deserialize<'de>>(
    api: &Api,
    path: &str,
    extra: &[(&str, String)],
) -> Result<Vec<T>, ImportError> {
    let mut items = Vec::new();
    for page in 1.. {
        let mut query = extra.to_vec();
        query.push(("page", page.to_string()));
        let answer = api.get(path, &query).await?;
        let got = answer
            .get("results")
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| ImportError::Unreadable {
                product: PRODUCT,
                path: path.to_owned(),
                message: "no 'results' list".to_owned(),
            })?;
        let empty = got.is_empty();
        for v in got {
            items.push(parse(path, v)?);
        }
        if empty || answer.get("next").is_none_or(Value::is_null) {
            break;
        }
    }
    Ok(items)
}

/// Everything read from Grafana OnCall.
#[derive(Debug, Clone, Default)]
pub struct Account {
    pub users: Vec<(User, Vec<PersonalRule>)>,
    pub teams: Vec<Team>,
    pub schedules: Vec<Schedule>,
    pub shifts: Vec<Shift>,
    pub chains: Vec<(Chain, Vec<ChainStep>)>,
    pub integrations: Vec<Integration>,
    /// Per schedule id, its final shifts.
    pub final_shifts: HashMap<String, Vec<FinalShift>>,
}

/// Reads the account: every list, every page; the final shifts over `days` from `now`.
pub async fn read(api: &Api, now: Timestamp, days: u32) -> Result<Account, ImportError> {
    let mut users = Vec::new();
    for user in all::<User>(api, "/api/v1/users/", &[]).await? {
        let rules = all(
            api,
            "/api/v1/personal_notification_rules/",
            &[("user_id", user.id.clone())],
        )
        .await?;
        users.push((user, rules));
    }
    let teams = all(api, "/api/v1/teams/", &[]).await?;
    let schedules: Vec<Schedule> = all(api, "/api/v1/schedules/", &[]).await?;
    let shifts = all(api, "/api/v1/on_call_shifts/", &[]).await?;
    let date = |t: Timestamp| t.to_rfc3339()[..10].to_owned();
    let end = Timestamp::from_millis(now.as_millis() + i64::from(days) * 86_400_000);
    let mut final_shifts = HashMap::new();
    for s in &schedules {
        let path = format!("/api/v1/schedules/{}/final_shifts", s.id);
        let list = all(
            api,
            &path,
            &[("start_date", date(now)), ("end_date", date(end))],
        )
        .await?;
        final_shifts.insert(s.id.clone(), list);
    }
    let mut chains = Vec::new();
    for chain in all::<Chain>(api, "/api/v1/escalation_chains/", &[]).await? {
        let mut steps: Vec<ChainStep> = all(
            api,
            "/api/v1/escalation_policies/",
            &[("escalation_chain_id", chain.id.clone())],
        )
        .await?;
        steps.sort_by_key(|s| s.position);
        chains.push((chain, steps));
    }
    let integrations = all(api, "/api/v1/integrations/", &[]).await?;
    Ok(Account {
        users,
        teams,
        schedules,
        shifts,
        chains,
        integrations,
        final_shifts,
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
