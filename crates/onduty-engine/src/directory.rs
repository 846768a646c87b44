//! What stages load about people, policies and schedules before they plan: a
//! [`Directory`] filled by the load step, read by the pure plan step.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use onduty_core::contact::{ContactMethod, NotificationRule};
use onduty_core::escalation::{Policy, Target};
use onduty_core::schedule::{Window, on_call_at};
use onduty_core::{ContactMethodId, PolicyId, ScheduleId, Timestamp, UserId};
use onduty_store::{Store, StoreError};

use crate::EngineError;

/// A person as the engine pages them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Person {
    /// Empty if the person no longer exists.
    pub name: String,
    pub rules: Vec<NotificationRule>,
    pub methods: Vec<ContactMethod>,
    /// Their IANA time zone name, for times in their messages.
    pub time_zone: Option<String>,
}

impl Person {
    /// The contact methods of their immediate rules that can be used (for handoff
    /// notifications and maintenance reminders).
    pub(crate) fn immediate_methods(&self) -> Vec<ContactMethodId> {
        let mut out = Vec::new();
        for rule in self.rules.iter().filter(|r| r.delay_minutes == 0) {
            let usable = self
                .methods
                .iter()
                .any(|m| m.id == rule.contact_method && m.can_page());
            if usable && !out.contains(&rule.contact_method) {
                out.push(rule.contact_method);
            }
        }
        out
    }
}

/// Who is on call in a schedule at the moment of the tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OnCall {
    pub name: String,
    pub people: Vec<UserId>,
}

/// Policies (`None`: deleted), round-robin pointers, who is on call in schedules
/// (`None`: deleted) and people, as one tick read them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Directory {
    pub policies: HashMap<PolicyId, Option<Policy>>,
    pub pointers: HashMap<(PolicyId, u32), u32>,
    pub on_call: HashMap<ScheduleId, Option<OnCall>>,
    pub people: HashMap<UserId, Person>,
}

impl Directory {
    pub(crate) fn person(&self, user: UserId) -> Person {
        self.people.get(&user).cloned().unwrap_or_default()
    }

    /// Loads `policies` and every policy they hand over to, their round-robin pointers,
    /// who is on call now in the schedules they page, and the people they can reach.
    pub(crate) async fn for_policies(
        store: &Store,
        policies: Vec<PolicyId>,
        now: Timestamp,
    ) -> Result<Directory, EngineError> {
        let mut dir = Directory::default();
        let mut todo = policies;
        while let Some(id) = todo.pop() {
            if dir.policies.contains_key(&id) {
                continue;
            }
            let policy = match store.policy(id).await {
                Ok(p) => Some(p),
                Err(StoreError::NotFound(_)) => None,
                Err(e) => return Err(e.into()),
            };
            for target in policy.iter().flat_map(targets) {
                if let Target::Policy(other) = target {
                    todo.push(other);
                }
            }
            dir.policies.insert(id, policy);
        }
        let ids: Vec<PolicyId> = dir.policies.keys().copied().collect();
        dir.pointers = store.rotation_pointers(&ids).await?;
        let mut users: HashSet<UserId> = HashSet::new();
        let all: Vec<Target> = dir
            .policies
            .values()
            .flatten()
            .flat_map(|p| targets(p).collect::<Vec<_>>())
            .collect();
        for target in all {
            match target {
                Target::User(u) => {
                    users.insert(u);
                }
                Target::Schedule(s) if !dir.on_call.contains_key(&s) => {
                    let found = on_call(store, s, now).await?;
                    users.extend(found.iter().flat_map(|o| o.people.iter().copied()));
                    dir.on_call.insert(s, found);
                }
                Target::Schedule(_) | Target::Policy(_) => {}
            }
        }
        let users: Vec<UserId> = users.into_iter().collect();
        dir.load_people(store, &users).await?;
        Ok(dir)
    }

    /// Loads these people (name, rules, contact methods, time zone).
    pub(crate) async fn load_people(
        &mut self,
        store: &Store,
        users: &[UserId],
    ) -> Result<(), EngineError> {
        for &user in users {
            if self.people.contains_key(&user) {
                continue;
            }
            let person = load_person(store, user).await?;
            self.people.insert(user, person);
        }
        Ok(())
    }
}

fn targets(policy: &Policy) -> impl Iterator<Item = Target> + '_ {
    policy
        .steps
        .levels()
        .iter()
        .flat_map(|l| l.targets.iter().copied())
}

async fn load_person(store: &Store, user: UserId) -> Result<Person, EngineError> {
    let (name, time_zone, active) = match store.user(user).await {
        Ok(u) => (
            u.name.to_string(),
            Some(u.time_zone.as_str().to_owned()),
            u.status.is_active(),
        ),
        Err(StoreError::NotFound(_)) => (String::new(), None, false),
        Err(e) => return Err(e.into()),
    };
    // A disabled person is not paged: to the plan they have no rules.
    Ok(Person {
        name,
        rules: if active {
            store.rules(user).await?
        } else {
            Vec::new()
        },
        methods: store.contact_methods(user).await?,
        time_zone,
    })
}

/// A schedule's name and who is on call in it at `now` (from its final schedule:
/// layers, restrictions and overrides); `None` if the schedule is gone.
async fn on_call(
    store: &Store,
    id: ScheduleId,
    now: Timestamp,
) -> Result<Option<OnCall>, EngineError> {
    match store.schedule(id).await {
        Ok(schedule) => {
            let instant = Window {
                start: now,
                end: now.saturating_add(Duration::from_millis(1)),
            };
            let overrides = store.overrides(id, Some(instant)).await?;
            Ok(Some(OnCall {
                name: schedule.name.to_string(),
                people: on_call_at(&schedule.rota(overrides), now),
            }))
        }
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
