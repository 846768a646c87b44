//! Managing escalation policies: levels of people, schedules and hand-overs to other
//! policies, checked as a whole; and the warnings about gaps in the schedules they page.

use onduty_core::PolicyId;
use onduty_core::UserId;
use onduty_core::account::{Email, Name};
use onduty_core::escalation::{Level, LevelMode, Policy, Steps, Target};
use onduty_core::schedule::Window;
use onduty_core::service::parse_description;

use crate::schedules::GAP_HORIZON;
use crate::{Acting, App, AppError};

/// A policy as a door received it.
#[derive(Debug, Clone, Default)]
pub struct PolicyInput {
    pub name: String,
    pub description: Option<String>,
    /// A team's id or name.
    pub team: Option<String>,
    /// In order: level 1 is paged at once, level 2 after level 1's delay, …
    pub levels: Vec<LevelInput>,
    /// How many more times the whole policy runs after its first pass.
    pub repeat: u32,
}

#[derive(Debug, Clone, Default)]
pub struct LevelInput {
    /// `(type, id)`: `user` (an id or e-mail), `schedule` or `policy` (an id or name).
    pub targets: Vec<(String, String)>,
    pub delay_minutes: u32,
    /// `all` (default) or `round_robin`.
    pub mode: Option<String>,
}

impl App {
    /// A policy by id or by name.
    pub async fn find_policy(&self, text: &str) -> Result<Policy, AppError> {
        if let Ok(id) = text.parse::<PolicyId>() {
            return Ok(self.store.policy(id).await?);
        }
        self.store.policy_by_name(text).await?.ok_or_else(|| {
            AppError::NotFound(format!("no escalation policy with id or name '{text}'"))
        })
    }

    /// Creates a policy (admins); returns it with warnings about the schedules it pages.
    pub async fn create_policy(
        &self,
        acting: &Acting,
        input: PolicyInput,
    ) -> Result<(Policy, Vec<String>), AppError> {
        acting.require_admin()?;
        self.configuring(acting, "policy.create", input.name.clone(), async {
            let now = self.now();
            let policy = self.parse_policy(PolicyId::new(now), input).await?;
            self.store.create_policy(&policy, now).await?;
            let warnings = self.policy_warnings(&policy).await?;
            Ok((policy, warnings))
        })
        .await
    }

    /// Replaces a policy's name, team and levels (admins).
    pub async fn replace_policy(
        &self,
        acting: &Acting,
        policy: &str,
        input: PolicyInput,
    ) -> Result<(Policy, Vec<String>), AppError> {
        acting.require_admin()?;
        self.configuring(acting, "policy.replace", policy, async {
            let existing = self.find_policy(policy).await?;
            let policy = self.parse_policy(existing.id, input).await?;
            self.store.update_policy(&policy, self.now()).await?;
            let warnings = self.policy_warnings(&policy).await?;
            Ok((policy, warnings))
        })
        .await
    }

    /// Deletes a policy no service uses and no policy hands over to (admins).
    pub async fn delete_policy(&self, acting: &Acting, policy: &str) -> Result<(), AppError> {
        acting.require_admin()?;
        self.configuring(acting, "policy.delete", policy, async {
            let policy = self.find_policy(policy).await?;
            Ok(self.store.delete_policy(policy.id).await?)
        })
        .await
    }

    /// Things that would stop a policy from paging someone: a schedule it pages that is
    /// gone, or has nobody on call for a while in the next 14 days.
    pub async fn policy_warnings(&self, policy: &Policy) -> Result<Vec<String>, AppError> {
        let now = self.now();
        let window = Window {
            start: now,
            end: now.saturating_add(GAP_HORIZON),
        };
        let mut out = Vec::new();
        let mut seen = Vec::new();
        for (i, level) in policy.steps.levels().iter().enumerate() {
            for t in &level.targets {
                let Target::Schedule(id) = t else { continue };
                if seen.contains(id) {
                    continue;
                }
                seen.push(*id);
                let schedule = match self.store.schedule(*id).await {
                    Ok(s) => s,
                    Err(onduty_store::StoreError::NotFound(_)) => {
                        out.push(format!(
                            "level {}: a schedule it pages no longer exists",
                            i + 1
                        ));
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                };
                let f = self.final_schedule(&schedule, window).await?;
                if let Some(first) = f.gaps.first() {
                    out.push(format!(
                        "level {}: schedule '{}' has nobody on call in {} span(s) of the next 14 days, first from {} to {}; nobody would be paged then",
                        i + 1,
                        schedule.name,
                        f.gaps.len(),
                        first.start.to_rfc3339(),
                        first.end.to_rfc3339()
                    ));
                }
            }
        }
        Ok(out)
    }

    /// A valid policy from an input, resolving names and checking every target exists.
    async fn parse_policy(&self, id: PolicyId, input: PolicyInput) -> Result<Policy, AppError> {
        let name =
            Name::parse(&input.name).map_err(|e| AppError::Invalid(format!("'name': {e}")))?;
        let description = parse_description(input.description.as_deref().unwrap_or(""))
            .map_err(AppError::Invalid)?;
        let team_id = match input.team.as_deref() {
            None => None,
            Some(t) => Some(self.store.team(t).await?.id),
        };
        let mut levels = Vec::with_capacity(input.levels.len());
        for (i, level) in input.levels.into_iter().enumerate() {
            let n = i + 1;
            let mode = match level.mode.as_deref() {
                None | Some("all") => LevelMode::All,
                Some("round_robin") => LevelMode::RoundRobin,
                Some(other) => {
                    return Err(AppError::Invalid(format!(
                        "level {n}: 'mode' must be all or round_robin, not '{other}'"
                    )));
                }
            };
            let mut targets = Vec::with_capacity(level.targets.len());
            for (kind, id) in &level.targets {
                targets.push(self.parse_target(n, kind, id).await?);
            }
            levels.push(Level {
                targets,
                delay_minutes: level.delay_minutes,
                mode,
            });
        }
        let steps =
            Steps::parse(id, levels, input.repeat).map_err(|e| AppError::Invalid(e.to_string()))?;
        Ok(Policy {
            id,
            name,
            description,
            team_id,
            steps,
        })
    }

    async fn parse_target(&self, level: usize, kind: &str, id: &str) -> Result<Target, AppError> {
        let missing = |what: &str| AppError::NotFound(format!("level {level}: no {what} '{id}'"));
        match kind {
            "user" => {
                let user = match id.parse::<UserId>() {
                    Ok(uid) => self.store.user(uid).await.ok(),
                    Err(_) => match Email::parse(id) {
                        Ok(email) => self.store.user_by_email(&email).await?,
                        Err(_) => None,
                    },
                };
                user.map(|u| Target::User(u.id))
                    .ok_or_else(|| missing("user"))
            }
            "policy" => match self.find_policy(id).await {
                Ok(p) => Ok(Target::Policy(p.id)),
                Err(AppError::NotFound(_)) => Err(missing("escalation policy")),
                Err(e) => Err(e),
            },
            "schedule" => match self.find_schedule(id).await {
                Ok(s) => Ok(Target::Schedule(s.id)),
                Err(AppError::NotFound(_)) => Err(missing("schedule")),
                Err(e) => Err(e),
            },
            other => Err(AppError::Invalid(format!(
                "level {level}: a target's 'type' is user, schedule or policy, not '{other}'"
            ))),
        }
    }
}
