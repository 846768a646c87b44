//! Escalation policies: the list, each with a plain-words preview ("if nobody
//! acknowledges: Alice now, the Ops rota after 30 minutes"), and a page to edit levels,
//! targets, delays and repeats. Forms work without JavaScript: the edit form always has
//! one empty level to fill in, and a level with no targets is removed. A level's targets
//! are checkboxes (no Ctrl-click to pick several).

use super::CsrfForm;
use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use onduty_core::escalation::{LevelMode, Policy, Target};

use super::auth::forbidden;
use super::flash::{done, failed};
use super::{Choice, Viewer, page};
use crate::SharedState;
use crate::error::ApiError;
use onduty_app::{LevelInput, PolicyInput};

pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/escalation-policies", get(list).post(create))
        .route("/escalation-policies/{id}", get(show).post(update))
        .route("/escalation-policies/{id}/delete", post(delete))
}

/// Names of everything a policy can page, to put words on its targets.
struct Names {
    users: HashMap<String, String>,
    schedules: HashMap<String, String>,
    policies: HashMap<String, String>,
}

impl Names {
    async fn load(state: &SharedState) -> Result<Names, ApiError> {
        let (users, schedules, policies) = tokio::try_join!(
            state.store.list_users(),
            state.store.list_schedules(),
            state.store.list_policies(),
        )?;
        Ok(Names {
            users: users
                .iter()
                .map(|u| (u.id.to_string(), u.name.to_string()))
                .collect(),
            schedules: schedules
                .iter()
                .map(|s| (s.id.to_string(), s.name.to_string()))
                .collect(),
            policies: policies
                .iter()
                .map(|p| (p.id.to_string(), p.name.to_string()))
                .collect(),
        })
    }

    fn target(&self, target: &Target) -> String {
        let (map, id, what) = match target {
            Target::User(id) => (&self.users, id.to_string(), "a deleted user"),
            Target::Schedule(id) => (&self.schedules, id.to_string(), "a deleted schedule"),
            Target::Policy(id) => (&self.policies, id.to_string(), "a deleted policy"),
        };
        let name = map.get(&id).cloned().unwrap_or_else(|| what.to_owned());
        match target {
            Target::User(_) => name,
            Target::Schedule(_) => format!("whoever is on call in {name}"),
            Target::Policy(_) => format!("hand over to {name}"),
        }
    }

    /// Every target a level can page, as `kind:id` choices.
    fn choices(&self, chosen: &[Target]) -> Vec<Choice> {
        let value = |t: &Target| match t {
            Target::User(id) => format!("user:{id}"),
            Target::Schedule(id) => format!("schedule:{id}"),
            Target::Policy(id) => format!("policy:{id}"),
        };
        let chosen: Vec<String> = chosen.iter().map(value).collect();
        let mut out = Vec::new();
        for (kind, map, label) in [
            ("user", &self.users, "Person"),
            ("schedule", &self.schedules, "On call in"),
            ("policy", &self.policies, "Hand over to policy"),
        ] {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.1.cmp(b.1));
            for (id, name) in entries {
                let v = format!("{kind}:{id}");
                let selected = chosen.contains(&v);
                out.push(Choice::new(v, format!("{label}: {name}"), selected));
            }
        }
        out
    }
}

/// "and" between the last two of a list: "Alice, Bob and Carol".
fn joined(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn after(minutes: u32) -> String {
    match minutes {
        0 => "now".to_owned(),
        m if m % 60 == 0 && m >= 60 => {
            let h = m / 60;
            format!("after {h} hour{}", if h == 1 { "" } else { "s" })
        }
        m => format!("after {m} minute{}", if m == 1 { "" } else { "s" }),
    }
}

/// The policy in words: whom it pages, when, and whether it repeats.
fn preview(policy: &Policy, names: &Names) -> String {
    let mut at = 0u32;
    let mut steps = Vec::new();
    for level in policy.steps.levels() {
        let targets: Vec<String> = level.targets.iter().map(|t| names.target(t)).collect();
        let who = match level.mode {
            LevelMode::All => joined(&targets),
            LevelMode::RoundRobin => format!("one of {} in turn", joined(&targets)),
        };
        steps.push(format!("{who} {}", after(at)));
        at = at.saturating_add(level.delay_minutes);
    }
    let mut text = format!("If nobody acknowledges: {}", steps.join("; "));
    match policy.steps.repeat() {
        0 => text.push_str(&format!("; nobody more {}.", after(at))),
        1 => text.push_str(&format!(
            "; then all over again once, {} from the start.",
            after(at)
        )),
        n => text.push_str(&format!(
            "; then all over again {n} times, every {} minutes.",
            at
        )),
    }
    text
}

struct PolicyRow {
    id: String,
    name: String,
    preview: String,
}

#[derive(Template)]
#[template(path = "policies.html")]
struct PoliciesPage {
    chrome: super::Chrome,
    policies: Vec<PolicyRow>,
    targets: Vec<Choice>,
}

async fn list(State(state): State<SharedState>, viewer: Viewer) -> Response {
    let found = tokio::try_join!(
        async { state.store.list_policies().await.map_err(ApiError::from) },
        Names::load(&state)
    );
    let (policies, names) = match found {
        Ok(f) => f,
        Err(e) => return super::error_page(e),
    };
    page(PoliciesPage {
        chrome: viewer.chrome(),
        policies: policies
            .iter()
            .map(|p| PolicyRow {
                id: p.id.to_string(),
                name: p.name.to_string(),
                preview: preview(p, &names),
            })
            .collect(),
        targets: names.choices(&[]),
    })
}

/// A level as the edit form shows it.
struct LevelRow {
    number: usize,
    targets: Vec<Choice>,
    delay: u32,
    round_robin: bool,
}

#[derive(Template)]
#[template(path = "policy.html")]
struct PolicyPage {
    chrome: super::Chrome,
    id: String,
    name: String,
    description: String,
    preview: String,
    warnings: Vec<String>,
    levels: Vec<LevelRow>,
    repeat: u32,
}

async fn show(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    let policy = match state.app.find_policy(&id).await {
        Ok(p) => p,
        Err(e) => return super::error_page(e),
    };
    let found = tokio::try_join!(Names::load(&state), async {
        state
            .app
            .policy_warnings(&policy)
            .await
            .map_err(ApiError::from)
    });
    let (mut names, warnings) = match found {
        Ok(f) => f,
        Err(e) => return super::error_page(e),
    };
    let preview = preview(&policy, &names);
    // A policy cannot hand over to itself.
    names.policies.remove(&policy.id.to_string());
    let mut levels: Vec<LevelRow> = policy
        .steps
        .levels()
        .iter()
        .enumerate()
        .map(|(i, l)| LevelRow {
            number: i + 1,
            targets: names.choices(&l.targets),
            delay: l.delay_minutes,
            round_robin: l.mode == LevelMode::RoundRobin,
        })
        .collect();
    levels.push(LevelRow {
        number: levels.len() + 1,
        targets: names.choices(&[]),
        delay: 30,
        round_robin: false,
    });
    page(PolicyPage {
        chrome: viewer.chrome(),
        id: policy.id.to_string(),
        name: policy.name.to_string(),
        description: policy.description.clone(),
        preview,
        warnings,
        levels,
        repeat: policy.steps.repeat(),
    })
}

/// The policy form, read by hand: a level's targets are checkboxes, whose ticked ones
/// repeat the field name (`level1.target=user:…&level1.target=schedule:…`).
struct PolicyForm {
    body: PolicyInput,
}

/// The form's CSRF token, read before anything else in it.
fn csrf_of(bytes: &[u8]) -> String {
    form_urlencoded::parse(bytes)
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn parse_form(bytes: &[u8]) -> Result<PolicyForm, ApiError> {
    let mut name = String::new();
    let mut description = String::new();
    let mut repeat = 0u32;
    let mut levels: BTreeMap<u32, LevelInput> = BTreeMap::new();
    let bad = |what: &str| ApiError::BadRequest(format!("{what} is not a whole number"));
    for (key, value) in form_urlencoded::parse(bytes) {
        let value = value.trim();
        match key.as_ref() {
            "name" => name = value.to_owned(),
            "description" => description = value.to_owned(),
            "repeat" => repeat = value.parse().map_err(|_| bad("The repeat count"))?,
            key => {
                let Some((level, field)) = key
                    .strip_prefix("level")
                    .and_then(|rest| rest.split_once('.'))
                else {
                    continue;
                };
                let Ok(n) = level.parse::<u32>() else {
                    continue;
                };
                if levels.len() >= 20 && !levels.contains_key(&n) {
                    return Err(ApiError::BadRequest("at most 20 levels".to_owned()));
                }
                let entry = levels.entry(n).or_insert_with(|| LevelInput {
                    targets: Vec::new(),
                    delay_minutes: 30,
                    mode: None,
                });
                match field {
                    "target" => {
                        if let Some((kind, id)) = value.split_once(':') {
                            entry.targets.push((kind.to_owned(), id.to_owned()));
                        }
                    }
                    "delay" => {
                        entry.delay_minutes = value
                            .parse()
                            .map_err(|_| bad(&format!("Level {n}'s delay")))?;
                    }
                    "mode" => entry.mode = Some(value.to_owned()),
                    _ => {}
                }
            }
        }
    }
    Ok(PolicyForm {
        body: PolicyInput {
            name,
            description: Some(description),
            team: None,
            // A level left without targets is one the person removed or did not add.
            levels: levels
                .into_values()
                .filter(|l| !l.targets.is_empty())
                .collect(),
            repeat,
        },
    })
}

async fn create(State(state): State<SharedState>, viewer: Viewer, body: Bytes) -> Response {
    if !viewer.csrf_ok(&csrf_of(&body)) {
        return forbidden();
    }
    let form = match parse_form(&body) {
        Ok(f) => f,
        Err(e) => return failed(&state, "/escalation-policies", e),
    };
    match state.app.create_policy(&viewer.acting(), form.body).await {
        Ok((p, _)) => done(
            &state,
            &format!("/escalation-policies/{}", p.id),
            format!("Created {}.", p.name),
        ),
        Err(e) => failed(&state, "/escalation-policies", ApiError::from(e)),
    }
}

async fn update(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if !viewer.csrf_ok(&csrf_of(&body)) {
        return forbidden();
    }
    let to = format!("/escalation-policies/{id}");
    let form = match parse_form(&body) {
        Ok(f) => f,
        Err(e) => return failed(&state, &to, e),
    };
    // The form does not show the team: it stays as it is.
    let mut body = form.body;
    body.team = match state.app.find_policy(&id).await {
        Ok(existing) => existing.team_id.map(|t| t.to_string()),
        Err(e) => return failed(&state, &to, ApiError::from(e)),
    };
    let replaced = state.app.replace_policy(&viewer.acting(), &id, body).await;
    super::flash::after(&state, &to, replaced, "Saved.")
}

async fn delete(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    match state.app.delete_policy(&viewer.acting(), &id).await {
        Ok(()) => done(&state, "/escalation-policies", "Deleted."),
        Err(e) => failed(
            &state,
            &format!("/escalation-policies/{id}"),
            ApiError::from(e),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onduty_core::escalation::{Level, Steps};
    use onduty_core::{PolicyId, ScheduleId, UserId};

    fn ts(ms: i64) -> onduty_core::Timestamp {
        onduty_core::Timestamp::from_millis(ms)
    }

    #[test]
    fn a_policy_reads_as_a_sentence() {
        let alice = UserId::new(ts(1));
        let bob = UserId::new(ts(2));
        let ops = ScheduleId::new(ts(3));
        let id = PolicyId::new(ts(4));
        let names = Names {
            users: [
                (alice.to_string(), "Alice".into()),
                (bob.to_string(), "Bob".into()),
            ]
            .into(),
            schedules: [(ops.to_string(), "Ops rota".into())].into(),
            policies: HashMap::new(),
        };
        let levels = vec![
            Level {
                targets: vec![Target::User(alice), Target::User(bob)],
                delay_minutes: 30,
                mode: LevelMode::All,
            },
            Level {
                targets: vec![Target::Schedule(ops)],
                delay_minutes: 60,
                mode: LevelMode::All,
            },
        ];
        let policy = Policy {
            id,
            name: onduty_core::account::Name::parse("Checkout").unwrap(),
            description: String::new(),
            team_id: None,
            steps: Steps::parse(id, levels.clone(), 0).unwrap(),
        };
        assert_eq!(
            preview(&policy, &names),
            "If nobody acknowledges: Alice and Bob now; whoever is on call in Ops rota after 30 minutes; nobody more after 90 minutes."
        );
        let twice = Policy {
            steps: Steps::parse(id, levels, 2).unwrap(),
            ..policy
        };
        assert!(
            preview(&twice, &names).ends_with("then all over again 2 times, every 90 minutes.")
        );
    }

    #[test]
    fn the_form_keeps_levels_in_order_and_drops_empty_ones() {
        let form = parse_form(
            b"csrf=t&name=Checkout&repeat=1&level2.target=schedule%3As1&level2.delay=15\
              &level1.target=user%3Au1&level1.target=user%3Au2&level1.delay=5&level1.mode=round_robin\
              &level3.delay=30",
        )
        .unwrap();
        assert_eq!(csrf_of(b"name=x&csrf=t"), "t");
        assert_eq!(form.body.repeat, 1);
        let levels = &form.body.levels;
        assert_eq!(levels.len(), 2);
        assert_eq!(levels[0].targets.len(), 2);
        assert_eq!(levels[0].delay_minutes, 5);
        assert_eq!(levels[0].mode.as_deref(), Some("round_robin"));
        assert_eq!(levels[1].targets[0].0, "schedule");
        assert_eq!(levels[1].targets[0].1, "s1");
        assert!(parse_form(b"level1.delay=soon").is_err());
    }
}
