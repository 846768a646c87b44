//! The writes that carry out a plan: each change the plan lists, turned into the store's
//! writes with ids (new things get theirs here, so later writes can name them). Decided
//! purely from what is configured and the settled document; the store then writes them
//! in one transaction.
//!
//! Within something the document names:
//! - contact methods are matched by name and type; a new address must be verified again;
//! - notification rules, team members, layers and levels are replaced as they are written;
//! - overrides are matched by who and when; integrations, heartbeats and components by
//!   name. What the settled document leaves out is deleted (only with prune does it
//!   leave anything out).

mod pages;
mod paging;
mod people;
mod services;

use std::collections::HashMap;

use onduty_core::account::{AccountStatus, Email, Name, Team, TimeZoneName, User};
use onduty_core::chat::{ChatChannel, ChatScope};
use onduty_core::config_doc::{
    self, Action, ChatChannelDoc, ConfigDoc, ContactDoc, MaintenanceDoc, PolicyDoc, ScheduleDoc,
    ServiceDoc, StatusPageDoc, TargetDoc, TeamDoc, UserDoc,
};
use onduty_core::contact::{Address, Channel, ContactMethod, NotificationRule, RepeatEvery};
use onduty_core::escalation::{Level, Policy, Steps, Target};
use onduty_core::schedule::{Override, Schedule};
use onduty_core::service::{PagingSettings, Service};
use onduty_core::status_page::{ComponentStatus, Title};
use onduty_core::{
    ChatChannelId, ComponentId, ContactMethodId, HeartbeatId, IntegrationId, MaintenanceId,
    OverrideId, PolicyId, RoutingKey, RuleId, ScheduleId, ServiceId, StatusPageId, TeamId,
    Timestamp, UserId,
};
use onduty_store::config_writes::ConfigWrite;
use onduty_store::heartbeats::NewHeartbeat;
use onduty_store::maintenance::MaintenanceWindow;
use onduty_store::status_components::NewComponent;

use super::current::Current;
use crate::StatusPageInput;
use crate::services::new_routing_key;
use crate::status_pages::parse_page;

/// Whether onduty may send to a URL (the outbound address policy).
pub(super) type UrlCheck<'a> = &'a dyn Fn(&str) -> Result<(), String>;

/// Turns `plan`'s changes into writes. `doc` is the settled document the plan was made
/// to; `acting` may not delete or disable themselves. Every problem found is returned.
pub(super) fn writes(
    current: &Current,
    doc: &ConfigDoc,
    changes: &[config_doc::Change],
    acting: UserId,
    url_ok: UrlCheck<'_>,
    now: Timestamp,
) -> Result<Vec<ConfigWrite>, Vec<String>> {
    let fresh = Fresh {
        now,
        made: std::cell::Cell::new(0),
    };
    let mut b = Builder {
        current,
        ids: Ids::new(current, doc, &fresh),
        fresh: &fresh,
        url_ok,
        now,
        out: Vec::new(),
        problems: Vec::new(),
    };
    for change in changes {
        let name = change.name.as_str();
        match (change.kind, &change.action) {
            ("user", Action::Delete) => b.delete_user(name, acting),
            ("user", _) => {
                if let Some(u) = doc.users.iter().find(|u| u.email == name) {
                    b.user(u, acting);
                }
            }
            ("team", Action::Delete) => {
                if let Some(id) = b.ids.teams.get(name).copied() {
                    b.keeps_team(doc, id, name);
                    b.out.push(ConfigWrite::DeleteTeam(id));
                }
            }
            ("team", _) => {
                if let Some(t) = doc.teams.iter().find(|t| t.name == name) {
                    b.team(t);
                }
            }
            ("schedule", Action::Delete) => {
                if let Some(id) = b.ids.schedules.get(name) {
                    b.out.push(ConfigWrite::DeleteSchedule(*id));
                }
            }
            ("schedule", _) => {
                if let Some(s) = doc.schedules.iter().find(|s| s.name == name) {
                    b.schedule(s);
                }
            }
            ("escalation_policy", Action::Delete) => {
                if let Some(id) = b.ids.policies.get(name).copied() {
                    b.keeps_policy(doc, id, name);
                    // Deleted together: one may hand over to another.
                    match b.out.last_mut() {
                        Some(ConfigWrite::DeletePolicies(ids)) => ids.push(id),
                        _ => b.out.push(ConfigWrite::DeletePolicies(vec![id])),
                    }
                }
            }
            ("escalation_policy", _) => {
                if let Some(p) = doc.escalation_policies.iter().find(|p| p.name == name) {
                    b.policy(p);
                }
            }
            ("service", _) => {
                if let Some(s) = doc.services.iter().find(|s| s.name == name) {
                    b.service(s);
                }
            }
            ("status_page", _) => {
                if let Some(p) = doc.status_pages.iter().find(|p| p.slug == name) {
                    b.page(p);
                }
            }
            ("maintenance_window", Action::Delete) => {
                let found = current
                    .windows
                    .iter()
                    .find(|w| current.doc_window(w).label() == name);
                if let Some(w) = found {
                    b.out.push(ConfigWrite::EndMaintenance(w.id));
                }
            }
            ("maintenance_window", action) => {
                // A window's reason changed: the window is ended and made again.
                if matches!(action, Action::Update { .. })
                    && let Some(old) = current
                        .windows
                        .iter()
                        .find(|w| current.doc_window(w).label() == name)
                {
                    b.out.push(ConfigWrite::EndMaintenance(old.id));
                }
                if let Some(w) = doc.maintenance_windows.iter().find(|w| w.label() == name) {
                    b.window(w, acting);
                }
            }
            (kind, action) => b
                .problems
                .push(format!("cannot {action:?} a {kind} ({name})")),
        }
    }
    if b.problems.is_empty() {
        Ok(b.out)
    } else {
        Err(b.problems)
    }
}

/// New ids, sorting in the order they are made: things made by one apply keep the
/// document's order wherever onduty lists them by creation.
struct Fresh {
    now: Timestamp,
    made: std::cell::Cell<u16>,
}

impl Fresh {
    fn id<Id>(&self, make: fn(Timestamp, u16) -> Id) -> Id {
        let n = self.made.get();
        self.made.set(n.saturating_add(1));
        make(self.now, n)
    }
}

/// The id of each thing by its name in the document: what exists keeps its own, what
/// the document adds gets a new one.
struct Ids {
    users: HashMap<String, UserId>,
    teams: HashMap<String, TeamId>,
    schedules: HashMap<String, ScheduleId>,
    policies: HashMap<String, PolicyId>,
    services: HashMap<String, ServiceId>,
    pages: HashMap<String, StatusPageId>,
}

impl Ids {
    fn new(current: &Current, doc: &ConfigDoc, fresh: &Fresh) -> Ids {
        fn named<Id: Copy>(
            now: impl Iterator<Item = (String, Id)>,
            wanted: impl Iterator<Item = String>,
            fresh: impl Fn() -> Id,
        ) -> HashMap<String, Id> {
            let mut map: HashMap<String, Id> = now.collect();
            for name in wanted {
                map.entry(name).or_insert_with(&fresh);
            }
            map
        }
        Ids {
            users: named(
                current
                    .people
                    .iter()
                    .map(|p| (p.user.email.to_string(), p.user.id)),
                doc.users.iter().map(|u| u.email.clone()),
                || fresh.id(UserId::nth),
            ),
            teams: named(
                current.teams.iter().map(|t| (t.name.to_string(), t.id)),
                doc.teams.iter().map(|t| t.name.clone()),
                || fresh.id(TeamId::nth),
            ),
            schedules: named(
                current.schedules.iter().map(|s| (s.name.to_string(), s.id)),
                doc.schedules.iter().map(|s| s.name.clone()),
                || fresh.id(ScheduleId::nth),
            ),
            policies: named(
                current.policies.iter().map(|p| (p.name.to_string(), p.id)),
                doc.escalation_policies.iter().map(|p| p.name.clone()),
                || fresh.id(PolicyId::nth),
            ),
            services: named(
                current
                    .services
                    .iter()
                    .map(|s| (s.service.name.to_string(), s.service.id)),
                doc.services.iter().map(|s| s.name.clone()),
                || fresh.id(ServiceId::nth),
            ),
            pages: named(
                current
                    .pages
                    .iter()
                    .map(|p| (p.page.slug.clone(), p.page.id)),
                doc.status_pages.iter().map(|p| p.slug.clone()),
                || fresh.id(StatusPageId::nth),
            ),
        }
    }
}

struct Builder<'a> {
    current: &'a Current,
    ids: Ids,
    fresh: &'a Fresh,
    url_ok: UrlCheck<'a>,
    now: Timestamp,
    out: Vec<ConfigWrite>,
    problems: Vec<String>,
}

impl Builder<'_> {
    /// Reads a value, or notes the problem (the document was checked, so this is rare).
    pub(super) fn ok<T, E: std::fmt::Display>(
        &mut self,
        what: &str,
        value: Result<T, E>,
    ) -> Option<T> {
        value
            .map_err(|e| self.problems.push(format!("{what}: {e}")))
            .ok()
    }

    /// A service the document leaves out stays (services are never deleted), and so must
    /// the policy it pages with.
    pub(super) fn keeps_policy(&mut self, doc: &ConfigDoc, id: PolicyId, name: &str) {
        for s in &self.current.services {
            let left_out = !doc
                .services
                .iter()
                .any(|d| d.name == s.service.name.as_str());
            if left_out && s.service.settings.policy_id == Some(id) {
                self.problems.push(format!(
                    "service {} is not in the document and stays (services are never \
                     deleted), paging with escalation policy {name}: name the service in \
                     the document, or keep the policy",
                    s.service.name
                ));
            }
        }
    }

    /// Likewise a service left out keeps its team: the team stays.
    pub(super) fn keeps_team(&mut self, doc: &ConfigDoc, id: TeamId, name: &str) {
        for s in &self.current.services {
            let left_out = !doc
                .services
                .iter()
                .any(|d| d.name == s.service.name.as_str());
            if left_out && s.service.settings.team_id == Some(id) {
                self.problems.push(format!(
                    "service {} is not in the document and stays (services are never \
                     deleted), owned by team {name}: name the service in the document, or \
                     keep the team",
                    s.service.name
                ));
            }
        }
    }

    pub(super) fn user_id(&mut self, email: &str) -> Option<UserId> {
        let id = self.ids.users.get(email).copied();
        if id.is_none() {
            self.problems.push(format!("no user {email}"));
        }
        id
    }
}
