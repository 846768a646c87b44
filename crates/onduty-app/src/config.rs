//! Configuration as code (admins): the server's configuration as one document
//! (`onduty export`), and the plan that would make a document so (`onduty plan`). References are by name, people by e-mail; no passwords or tokens, and
//! integration keys only when asked for.

use onduty_core::account::AccountStatus;
use onduty_core::config_doc::{
    self, ComponentDoc, ConfigDoc, ContactDoc, DocError, HeartbeatDoc, IntegrationDoc, Known,
    LayerDoc, LevelDoc, OverrideDoc, Plan, PolicyDoc, RestrictionDoc, RuleDoc, ScheduleDoc,
    ServiceDoc, ShiftDoc, ShiftUnit, StatusPageDoc, TargetDoc, TeamDoc, UserDoc,
};
use onduty_core::contact::Channel;
use onduty_core::escalation::Target;
use onduty_core::heartbeat::Expect;
use onduty_core::schedule::{Restriction, ShiftLength};
use onduty_core::service::IntegrationKind;
use onduty_core::{ComponentId, PolicyId, ScheduleId, TeamId, UserId};
use onduty_store::heartbeats::Heartbeat;

use crate::{Acting, App, AppError};

/// A document refused: every problem, each with its line and field.
fn refused(errors: Vec<DocError>) -> AppError {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    AppError::Invalid(lines.join("\n"))
}

impl App {
    /// Everything configured, as one document (admins).
    pub async fn export_config(
        &self,
        acting: &Acting,
        with_secrets: bool,
    ) -> Result<ConfigDoc, AppError> {
        acting.require_admin()?;
        self.current_config(with_secrets).await
    }

    /// What applying `text` would change (admins): checked first, every problem named
    /// with its line and field. With `prune`, what the document does not name is deleted.
    pub async fn plan_config(
        &self,
        acting: &Acting,
        text: &str,
        prune: bool,
    ) -> Result<Plan, AppError> {
        acting.require_admin()?;
        let current = self.current_config(true).await?;
        let known = if prune {
            Known::default()
        } else {
            Known::of(&current)
        };
        let desired = config_doc::read(text, &known).map_err(refused)?;
        Ok(config_doc::plan(&current, &desired, prune))
    }

    async fn current_config(&self, with_secrets: bool) -> Result<ConfigDoc, AppError> {
        let store = &self.store;
        let mut users = store.list_users().await?;
        let schedules = store.list_schedules().await?;
        let policies = store.list_policies().await?;
        // A deleted person a rotation or a policy still names stays in the document,
        // disabled, under the address onduty gave them, so that it reads back.
        let named: Vec<UserId> = schedules
            .iter()
            .flat_map(|s| s.layers.iter().flat_map(|l| l.participants.iter().copied()))
            .chain(policies.iter().flat_map(|p| {
                p.steps.levels().iter().flat_map(|l| {
                    l.targets.iter().filter_map(|t| match t {
                        Target::User(u) => Some(*u),
                        _ => None,
                    })
                })
            }))
            .collect();
        for id in named {
            if !users.iter().any(|u| u.id == id)
                && let Ok(gone) = store.user(id).await
            {
                users.push(gone);
            }
        }
        let email = |id: UserId| {
            users
                .iter()
                .find(|u| u.id == id)
                .map(|u| u.email.to_string())
                .unwrap_or_default()
        };
        let teams = store.list_teams().await?;
        let team = |id: Option<TeamId>| {
            id.and_then(|id| teams.iter().find(|t| t.id == id))
                .map(|t| t.name.to_string())
        };
        let schedule = |id: ScheduleId| {
            schedules
                .iter()
                .find(|s| s.id == id)
                .map(|s| s.name.to_string())
                .unwrap_or_default()
        };
        let policy = |id: PolicyId| {
            policies
                .iter()
                .find(|p| p.id == id)
                .map(|p| p.name.to_string())
                .unwrap_or_default()
        };
        let mut doc = ConfigDoc {
            version: config_doc::VERSION,
            ..ConfigDoc::default()
        };
        for u in &users {
            // A browser's push subscription cannot be written down and made again.
            let methods: Vec<_> = store
                .contact_methods(u.id)
                .await?
                .into_iter()
                .filter(|m| m.channel != Channel::WebPush)
                .collect();
            let method_names = unique(methods.iter().map(|m| m.name.as_str()));
            let rules = store.rules(u.id).await?;
            doc.users.push(UserDoc {
                email: u.email.to_string(),
                name: u.name.to_string(),
                role: u.role,
                time_zone: u.time_zone.to_string(),
                disabled: u.status != AccountStatus::Active,
                contact_methods: methods
                    .iter()
                    .zip(&method_names)
                    .map(|(m, name)| ContactDoc {
                        name: name.clone(),
                        channel: m.channel,
                        // A webhook's or ntfy topic's URL is as good as a password.
                        address: (with_secrets
                            || !matches!(m.channel, Channel::Webhook | Channel::Ntfy))
                        .then(|| m.address.as_str().to_owned()),
                    })
                    .collect(),
                notification_rules: rules
                    .iter()
                    .filter_map(|r| {
                        let at = methods.iter().position(|m| m.id == r.contact_method)?;
                        Some(RuleDoc {
                            contact_method: method_names[at].clone(),
                            delay_minutes: r.delay_minutes,
                            urgency: r.urgency,
                            repeat_every_seconds: r.repeat.map(|e| e.seconds()),
                        })
                    })
                    .collect(),
            });
        }
        for t in &teams {
            doc.teams.push(TeamDoc {
                name: t.name.to_string(),
                members: t.members.iter().map(|m| email(*m)).collect(),
            });
        }
        let now = self.now();
        for s in &schedules {
            let overrides = store.overrides(s.id, None).await?;
            doc.schedules.push(ScheduleDoc {
                name: s.name.to_string(),
                description: s.description.clone(),
                time_zone: s.time_zone.to_string(),
                team: team(s.team_id),
                layers: s
                    .layers
                    .iter()
                    .map(|l| LayerDoc {
                        name: l.name.clone(),
                        participants: l.participants.iter().map(|p| email(*p)).collect(),
                        start: config_doc::date_time(l.start),
                        shift: shift_doc(l.shift),
                        restrictions: l.restrictions.iter().map(restriction_doc).collect(),
                    })
                    .collect(),
                overrides: overrides
                    .iter()
                    .filter(|o| o.end > now)
                    .map(|o| OverrideDoc {
                        user: email(o.user),
                        start: o.start.to_rfc3339(),
                        end: o.end.to_rfc3339(),
                    })
                    .collect(),
            });
        }
        for p in &policies {
            doc.escalation_policies.push(PolicyDoc {
                name: p.name.to_string(),
                description: p.description.clone(),
                team: team(p.team_id),
                repeat: p.steps.repeat(),
                levels: p
                    .steps
                    .levels()
                    .iter()
                    .map(|l| LevelDoc {
                        delay_minutes: l.delay_minutes,
                        mode: l.mode,
                        targets: l
                            .targets
                            .iter()
                            .map(|t| match t {
                                Target::User(u) => TargetDoc::User(email(*u)),
                                Target::Schedule(s) => TargetDoc::Schedule(schedule(*s)),
                                Target::Policy(p) => TargetDoc::Policy(policy(*p)),
                            })
                            .collect(),
                    })
                    .collect(),
            });
        }
        for s in store.list_services().await? {
            // A heartbeat's integration goes with its heartbeat.
            let integrations: Vec<_> = store
                .list_integrations(s.id)
                .await?
                .into_iter()
                .filter(|i| i.kind != IntegrationKind::Heartbeat)
                .collect();
            let integration_names = unique(integrations.iter().map(|i| i.name.as_str()));
            let heartbeats = store.list_heartbeats(Some(s.id)).await?;
            let heartbeat_names = unique(heartbeats.iter().map(|h| h.name.as_str()));
            let settings = &s.settings;
            doc.services.push(ServiceDoc {
                name: s.name.to_string(),
                description: s.description.clone(),
                team: team(settings.team_id),
                escalation_policy: settings.policy_id.map(policy),
                urgency: settings.urgency,
                dedup_mode: s.dedup_mode,
                ack_timeout_minutes: settings.ack_timeout_minutes,
                auto_resolve_minutes: settings.auto_resolve_minutes,
                group_window_minutes: settings.group_window_minutes,
                flap_window_minutes: settings.flap_window_minutes,
                draft_postmortems: s.draft_postmortems,
                integrations: integrations
                    .iter()
                    .zip(&integration_names)
                    .map(|(i, name)| IntegrationDoc {
                        name: name.clone(),
                        kind: i.kind,
                        group_by: matches!(
                            i.kind,
                            IntegrationKind::Alertmanager | IntegrationKind::Grafana
                        )
                        .then_some(i.settings.group_by),
                        mapping: i
                            .settings
                            .mapping
                            .as_ref()
                            .and_then(|m| serde_json::to_value(m).ok()),
                        mail: i
                            .settings
                            .mail
                            .as_ref()
                            .and_then(|m| serde_json::to_value(m).ok()),
                        key: with_secrets.then(|| i.routing_key.as_str().to_owned()),
                    })
                    .collect(),
                heartbeats: heartbeats
                    .iter()
                    .zip(heartbeat_names)
                    .map(|(h, name)| HeartbeatDoc {
                        name,
                        ..heartbeat_doc(h, with_secrets)
                    })
                    .collect(),
            });
        }
        let services = store.list_services().await?;
        for page in store.status_pages().await? {
            let components = store.components(page.id).await?;
            let component = |id: ComponentId| {
                components
                    .iter()
                    .find(|c| c.id == id)
                    .map(|c| c.name.clone())
            };
            doc.status_pages.push(StatusPageDoc {
                slug: page.slug.clone(),
                name: page.name.clone(),
                host: page.host.clone(),
                time_zone: page.time_zone.clone(),
                auto_publish: page.auto_publish,
                remind_every_minutes: page.remind_every_minutes,
                components: components
                    .iter()
                    .map(|c| ComponentDoc {
                        name: c.name.clone(),
                        description: c.description.clone(),
                        is_group: c.is_group,
                        group: c.group.and_then(component),
                        only_show_if_degraded: c.only_show_if_degraded,
                        service: c.service.and_then(|id| {
                            services
                                .iter()
                                .find(|s| s.id == id)
                                .map(|s| s.name.to_string())
                        }),
                    })
                    .collect(),
            });
        }
        Ok(config_doc::normalize(&doc))
    }
}

/// Names made unique in order, as a document needs them: a second "SMS" is "SMS 2".
fn unique<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        let mut candidate = name.trim().to_owned();
        let mut n = 1;
        while out.contains(&candidate) {
            n += 1;
            candidate = format!("{} {n}", name.trim());
        }
        out.push(candidate);
    }
    out
}

fn heartbeat_doc(h: &Heartbeat, with_secrets: bool) -> HeartbeatDoc {
    let (period_minutes, cron, time_zone, grace_minutes) = match &h.expect {
        Expect::Period {
            period_minutes,
            grace_minutes,
        } => (Some(*period_minutes), None, None, *grace_minutes),
        Expect::Cron {
            cron,
            time_zone,
            grace_minutes,
        } => (
            None,
            Some(cron.clone()),
            Some(time_zone.to_string()),
            *grace_minutes,
        ),
    };
    HeartbeatDoc {
        name: h.name.clone(),
        period_minutes,
        cron,
        time_zone,
        grace_minutes,
        key: with_secrets.then(|| h.routing_key.as_str().to_owned()),
    }
}

fn shift_doc(shift: ShiftLength) -> ShiftDoc {
    let (unit, count) = match shift {
        ShiftLength::Hours(n) => (ShiftUnit::Hours, n),
        ShiftLength::Days(n) => (ShiftUnit::Days, n),
        ShiftLength::Weeks(n) => (ShiftUnit::Weeks, n),
    };
    ShiftDoc { unit, count }
}

fn restriction_doc(r: &Restriction) -> RestrictionDoc {
    let time = config_doc::time_of_day;
    let day = |d: onduty_core::schedule::Day| {
        serde_json::to_value(d)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    match *r {
        Restriction::Daily { start, end } => RestrictionDoc::Daily {
            start: time(start),
            end: time(end),
        },
        Restriction::Weekly {
            start_day,
            start,
            end_day,
            end,
        } => RestrictionDoc::Weekly {
            start_day: day(start_day),
            start: time(start),
            end_day: day(end_day),
            end: time(end),
        },
    }
}
