//! What is configured now, with its ids (as apply needs it), and the document that says
//! it by name (as export writes it).

use std::collections::HashMap;

use onduty_core::account::{AccountStatus, Team, User};
use onduty_core::chat::{ChatChannel, ChatScope};
use onduty_core::config_doc::{
    self, ChatChannelDoc, ComponentDoc, ConfigDoc, ContactDoc, HeartbeatDoc, IntegrationDoc,
    LayerDoc, LevelDoc, MaintenanceDoc, OverrideDoc, PolicyDoc, RestrictionDoc, RuleDoc,
    ScheduleDoc, ServiceDoc, ShiftDoc, ShiftUnit, StatusPageDoc, TargetDoc, TeamDoc, UserDoc,
};
use onduty_core::contact::{Channel, ContactMethod, NotificationRule};
use onduty_core::escalation::{Policy, Target};
use onduty_core::heartbeat::Expect;
use onduty_core::schedule::{Override, Restriction, Schedule, ShiftLength};
use onduty_core::service::{Integration, IntegrationKind, Service};
use onduty_core::{PolicyId, ScheduleId, ServiceId, TeamId, Timestamp, UserId};
use onduty_store::heartbeats::Heartbeat;
use onduty_store::maintenance::MaintenanceWindow;
use onduty_store::status_components::Component;
use onduty_store::status_pages::StatusPage;
use onduty_store::{Store, StoreError};

/// A person and what is theirs.
pub(super) struct Person {
    pub user: User,
    /// Push subscriptions left out: a browser's cannot be written down and made again.
    pub methods: Vec<ContactMethod>,
    /// The methods' names in the document: made unique in order ("SMS 2").
    pub method_names: Vec<String>,
    pub rules: Vec<NotificationRule>,
}

pub(super) struct ServiceNow {
    pub service: Service,
    /// Heartbeats' integrations left out: they go with their heartbeats.
    pub integrations: Vec<Integration>,
    pub integration_names: Vec<String>,
    pub heartbeats: Vec<Heartbeat>,
    pub heartbeat_names: Vec<String>,
    pub chat_channels: Vec<ChatChannel>,
}

pub(super) struct PageNow {
    pub page: StatusPage,
    pub components: Vec<Component>,
}

/// Everything configured, in the order the document lists it.
pub(super) struct Current {
    pub people: Vec<Person>,
    pub teams: Vec<Team>,
    pub schedules: Vec<Schedule>,
    /// Each schedule's overrides that have not ended.
    pub overrides: HashMap<ScheduleId, Vec<Override>>,
    pub policies: Vec<Policy>,
    pub services: Vec<ServiceNow>,
    pub pages: Vec<PageNow>,
    /// Each team's chat channels.
    pub team_chat: HashMap<TeamId, Vec<ChatChannel>>,
    /// Maintenance windows not yet over.
    pub windows: Vec<MaintenanceWindow>,
}

impl Current {
    pub async fn load(store: &Store, now: Timestamp) -> Result<Current, StoreError> {
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
        let mut people = Vec::with_capacity(users.len());
        for user in users {
            let methods: Vec<_> = store
                .contact_methods(user.id)
                .await?
                .into_iter()
                .filter(|m| m.channel != Channel::WebPush)
                .collect();
            let method_names = unique(methods.iter().map(|m| m.name.as_str()));
            // Rules on push subscriptions stay out of it, as the subscriptions do.
            let mut rules = store.rules(user.id).await?;
            rules.retain(|r| methods.iter().any(|m| m.id == r.contact_method));
            people.push(Person {
                user,
                methods,
                method_names,
                rules,
            });
        }
        let mut overrides = HashMap::new();
        for s in &schedules {
            let mut list = store.overrides(s.id, None).await?;
            list.retain(|o| o.end > now);
            overrides.insert(s.id, list);
        }
        let mut services = Vec::new();
        for service in store.list_services().await? {
            let integrations: Vec<_> = store
                .list_integrations(service.id)
                .await?
                .into_iter()
                .filter(|i| i.kind != IntegrationKind::Heartbeat)
                .collect();
            let heartbeats = store.list_heartbeats(Some(service.id)).await?;
            let chat_channels = store.chat_channels(ChatScope::Service(service.id)).await?;
            services.push(ServiceNow {
                chat_channels,
                integration_names: unique(integrations.iter().map(|i| i.name.as_str())),
                heartbeat_names: unique(heartbeats.iter().map(|h| h.name.as_str())),
                service,
                integrations,
                heartbeats,
            });
        }
        let mut pages = Vec::new();
        for page in store.status_pages().await? {
            let components = store.components(page.id).await?;
            pages.push(PageNow { page, components });
        }
        let teams = store.list_teams().await?;
        let mut team_chat = HashMap::new();
        for t in &teams {
            team_chat.insert(t.id, store.chat_channels(ChatScope::Team(t.id)).await?);
        }
        Ok(Current {
            people,
            teams,
            team_chat,
            windows: store.list_maintenance(None, now).await?,
            schedules,
            overrides,
            policies,
            services,
            pages,
        })
    }

    pub fn email(&self, id: UserId) -> String {
        self.people
            .iter()
            .find(|p| p.user.id == id)
            .map(|p| p.user.email.to_string())
            .unwrap_or_default()
    }

    fn team(&self, id: Option<TeamId>) -> Option<String> {
        id.and_then(|id| self.teams.iter().find(|t| t.id == id))
            .map(|t| t.name.to_string())
    }

    /// A maintenance window as the document says it (normalized: it is matched by its
    /// label).
    pub fn doc_window(&self, w: &MaintenanceWindow) -> MaintenanceDoc {
        config_doc::window(&MaintenanceDoc {
            services: w.services.iter().map(|s| self.service_name(*s)).collect(),
            start: w.start.to_rfc3339(),
            end: w.end.to_rfc3339(),
            reason: w.reason.clone(),
        })
    }

    fn service_name(&self, id: ServiceId) -> String {
        self.services
            .iter()
            .find(|s| s.service.id == id)
            .map(|s| s.service.name.to_string())
            .unwrap_or_default()
    }

    fn schedule(&self, id: ScheduleId) -> String {
        self.schedules
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.name.to_string())
            .unwrap_or_default()
    }

    fn policy(&self, id: PolicyId) -> String {
        self.policies
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.to_string())
            .unwrap_or_default()
    }

    /// The document that says all of it, by name; keys and credential addresses only
    /// `with_secrets`.
    pub fn doc(&self, with_secrets: bool) -> ConfigDoc {
        let mut doc = ConfigDoc {
            version: config_doc::VERSION,
            ..ConfigDoc::default()
        };
        doc.users = self
            .people
            .iter()
            .map(|p| person_doc(p, with_secrets))
            .collect();
        doc.teams = self
            .teams
            .iter()
            .map(|t| TeamDoc {
                name: t.name.to_string(),
                members: t.members.iter().map(|m| self.email(*m)).collect(),
                chat_channels: chat_docs(
                    self.team_chat
                        .get(&t.id)
                        .map(Vec::as_slice)
                        .unwrap_or_default(),
                    with_secrets,
                ),
            })
            .collect();
        doc.schedules = self
            .schedules
            .iter()
            .map(|s| self.schedule_doc(s))
            .collect();
        doc.escalation_policies = self.policies.iter().map(|p| self.policy_doc(p)).collect();
        doc.services = self
            .services
            .iter()
            .map(|s| self.service_doc(s, with_secrets))
            .collect();
        doc.status_pages = self.pages.iter().map(|p| self.page_doc(p)).collect();
        doc.maintenance_windows = self.windows.iter().map(|w| self.doc_window(w)).collect();
        config_doc::normalize(&doc)
    }

    fn schedule_doc(&self, s: &Schedule) -> ScheduleDoc {
        ScheduleDoc {
            name: s.name.to_string(),
            description: s.description.clone(),
            time_zone: s.time_zone.to_string(),
            team: self.team(s.team_id),
            layers: s
                .layers
                .iter()
                .map(|l| LayerDoc {
                    name: l.name.clone(),
                    participants: l.participants.iter().map(|p| self.email(*p)).collect(),
                    start: config_doc::date_time(l.start),
                    shift: shift_doc(l.shift),
                    restrictions: l.restrictions.iter().map(restriction_doc).collect(),
                })
                .collect(),
            overrides: self
                .overrides
                .get(&s.id)
                .into_iter()
                .flatten()
                .map(|o| OverrideDoc {
                    user: self.email(o.user),
                    start: o.start.to_rfc3339(),
                    end: o.end.to_rfc3339(),
                })
                .collect(),
        }
    }

    fn policy_doc(&self, p: &Policy) -> PolicyDoc {
        PolicyDoc {
            name: p.name.to_string(),
            description: p.description.clone(),
            team: self.team(p.team_id),
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
                            Target::User(u) => TargetDoc::User(self.email(*u)),
                            Target::Schedule(s) => TargetDoc::Schedule(self.schedule(*s)),
                            Target::Policy(p) => TargetDoc::Policy(self.policy(*p)),
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    fn service_doc(&self, s: &ServiceNow, with_secrets: bool) -> ServiceDoc {
        let settings = &s.service.settings;
        ServiceDoc {
            name: s.service.name.to_string(),
            description: s.service.description.clone(),
            team: self.team(settings.team_id),
            escalation_policy: settings.policy_id.map(|p| self.policy(p)),
            urgency: settings.urgency,
            dedup_mode: s.service.dedup_mode,
            ack_timeout_minutes: settings.ack_timeout_minutes,
            auto_resolve_minutes: settings.auto_resolve_minutes,
            group_window_minutes: settings.group_window_minutes,
            flap_window_minutes: settings.flap_window_minutes,
            draft_postmortems: s.service.draft_postmortems,
            integrations: s
                .integrations
                .iter()
                .zip(&s.integration_names)
                .map(|(i, name)| IntegrationDoc {
                    name: name.clone(),
                    ..integration_doc(i, with_secrets)
                })
                .collect(),
            heartbeats: s
                .heartbeats
                .iter()
                .zip(&s.heartbeat_names)
                .map(|(h, name)| HeartbeatDoc {
                    name: name.clone(),
                    ..heartbeat_doc(h, with_secrets)
                })
                .collect(),
            chat_channels: chat_docs(&s.chat_channels, with_secrets),
        }
    }

    fn page_doc(&self, p: &PageNow) -> StatusPageDoc {
        let component = |id| {
            p.components
                .iter()
                .find(|c| c.id == id)
                .map(|c| c.name.clone())
        };
        StatusPageDoc {
            slug: p.page.slug.clone(),
            name: p.page.name.clone(),
            host: p.page.host.clone(),
            time_zone: p.page.time_zone.clone(),
            auto_publish: p.page.auto_publish,
            remind_every_minutes: p.page.remind_every_minutes,
            components: p
                .components
                .iter()
                .map(|c| ComponentDoc {
                    name: c.name.clone(),
                    description: c.description.clone(),
                    is_group: c.is_group,
                    group: c.group.and_then(component),
                    only_show_if_degraded: c.only_show_if_degraded,
                    service: c.service.and_then(|id| {
                        self.services
                            .iter()
                            .find(|s| s.service.id == id)
                            .map(|s| s.service.name.to_string())
                    }),
                })
                .collect(),
        }
    }
}

fn person_doc(p: &Person, with_secrets: bool) -> UserDoc {
    let u = &p.user;
    UserDoc {
        email: u.email.to_string(),
        name: u.name.to_string(),
        role: u.role,
        time_zone: u.time_zone.to_string(),
        disabled: u.status != AccountStatus::Active,
        contact_methods: p
            .methods
            .iter()
            .zip(&p.method_names)
            .map(|(m, name)| ContactDoc {
                name: name.clone(),
                channel: m.channel,
                // A webhook's or ntfy topic's URL is as good as a password.
                address: (with_secrets || !is_credential(m.channel))
                    .then(|| m.address.as_str().to_owned()),
            })
            .collect(),
        notification_rules: p
            .rules
            .iter()
            .filter_map(|r| {
                let at = p.methods.iter().position(|m| m.id == r.contact_method)?;
                Some(RuleDoc {
                    contact_method: p.method_names[at].clone(),
                    delay_minutes: r.delay_minutes,
                    urgency: r.urgency,
                    repeat_every_seconds: r.repeat.map(|e| e.seconds()),
                })
            })
            .collect(),
    }
}

/// Chat channels; a webhook's URL (Teams, Discord) only `with_secrets`.
fn chat_docs(list: &[ChatChannel], with_secrets: bool) -> Vec<ChatChannelDoc> {
    list.iter()
        .map(|c| ChatChannelDoc {
            platform: c.platform,
            channel: (with_secrets || !c.platform.by_webhook()).then(|| c.channel.clone()),
        })
        .collect()
}

/// Channels whose address lets whoever holds it post to the person.
pub(super) fn is_credential(channel: Channel) -> bool {
    matches!(channel, Channel::Webhook | Channel::Ntfy)
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

fn integration_doc(i: &Integration, with_secrets: bool) -> IntegrationDoc {
    IntegrationDoc {
        name: i.name.to_string(),
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
    }
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
