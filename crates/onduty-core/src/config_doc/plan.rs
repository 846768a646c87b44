//! What applying a document would change, compared with the server's own (exported)
//! document: each thing to create, change (with the fields that differ) or delete.
//! Things are matched by name (people by e-mail). Without `prune`, nothing is deleted:
//! not a person, nor a contact method, override or integration the document leaves out.
//! With it, services, status pages, heartbeats and components are still never deleted
//! (incidents and public history hang on them); the plan says so in its notes.

use serde::Serialize;
use serde_json::Value;

use super::{ChatChannelDoc, ConfigDoc, ContactDoc, MaintenanceDoc};
use crate::time::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Create,
    Update { fields: Vec<String> },
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `user`, `team`, `schedule`, `escalation_policy`, `service`, `status_page` or
    /// `maintenance_window`.
    pub kind: &'static str,
    /// Its name (a person's e-mail).
    pub name: String,
    #[serde(flatten)]
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Plan {
    /// Creations and changes in the order they can be made (people before the teams
    /// that hold them, and so on), then deletions in the reverse order.
    pub changes: Vec<Change>,
    /// What the document leaves out that stays all the same, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// The document a plan works to: the one given, normalized, with what it may leave out
/// taken from the current one, and notes on what stays although it is left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    pub doc: ConfigDoc,
    pub notes: Vec<String>,
}

impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for note in &self.notes {
            writeln!(f, "! {note}")?;
        }
        if self.changes.is_empty() {
            return writeln!(f, "No changes.");
        }
        for c in &self.changes {
            let kind = c.kind.replace('_', " ");
            match &c.action {
                Action::Create => writeln!(f, "+ create {kind} {}", c.name)?,
                Action::Update { fields } => {
                    writeln!(f, "~ change {kind} {} ({})", c.name, fields.join(", "))?
                }
                Action::Delete => writeln!(f, "- delete {kind} {}", c.name)?,
            }
        }
        let count = |a: fn(&Action) -> bool| self.changes.iter().filter(|c| a(&c.action)).count();
        writeln!(
            f,
            "{} to create, {} to change, {} to delete.",
            count(|a| matches!(a, Action::Create)),
            count(|a| matches!(a, Action::Update { .. })),
            count(|a| matches!(a, Action::Delete)),
        )
    }
}

/// The changes that make `current` into `desired` at `now`.
pub fn plan(current: &ConfigDoc, desired: &ConfigDoc, prune: bool, now: Timestamp) -> Plan {
    let current = super::normalize(current);
    let settled = settle(&current, desired, prune, now);
    plan_settled(&current, &settled, prune)
}

/// The changes that make `current` (normalized) into a document [`settle`] gave.
pub fn plan_settled(current: &ConfigDoc, settled: &Settled, prune: bool) -> Plan {
    let desired = &settled.doc;
    let notes = settled.notes.clone();
    let lists: [(&'static str, Keyed, Keyed); 7] = [
        (
            "user",
            keyed(&current.users, |u| u.email.clone()),
            keyed(&desired.users, |u| u.email.clone()),
        ),
        (
            "team",
            keyed(&current.teams, |t| t.name.clone()),
            keyed(&desired.teams, |t| t.name.clone()),
        ),
        (
            "schedule",
            keyed(&current.schedules, |s| s.name.clone()),
            keyed(&desired.schedules, |s| s.name.clone()),
        ),
        (
            "escalation_policy",
            keyed(&current.escalation_policies, |p| p.name.clone()),
            keyed(&desired.escalation_policies, |p| p.name.clone()),
        ),
        (
            "service",
            keyed(&current.services, |s| s.name.clone()),
            keyed(&desired.services, |s| s.name.clone()),
        ),
        (
            "status_page",
            keyed(&current.status_pages, |p| p.slug.clone()),
            keyed(&desired.status_pages, |p| p.slug.clone()),
        ),
        (
            "maintenance_window",
            keyed(&current.maintenance_windows, MaintenanceDoc::label),
            keyed(&desired.maintenance_windows, MaintenanceDoc::label),
        ),
    ];
    let mut changes = Vec::new();
    for (kind, now, wanted) in &lists {
        for (name, value) in wanted {
            match now.iter().find(|(n, _)| same(n, name)) {
                None => changes.push(Change {
                    kind,
                    name: name.clone(),
                    action: Action::Create,
                }),
                Some((_, old)) => {
                    let fields = differing(old, value);
                    if !fields.is_empty() {
                        changes.push(Change {
                            kind,
                            name: name.clone(),
                            action: Action::Update { fields },
                        });
                    }
                }
            }
        }
    }
    let mut notes = notes;
    if prune {
        for (kind, now, wanted) in lists.iter().rev() {
            for (name, _) in now {
                if wanted.iter().any(|(n, _)| same(n, name)) {
                    continue;
                }
                if matches!(*kind, "service" | "status_page") {
                    notes.push(format!(
                        "{} {name} is not in the document and stays: onduty does not delete {}",
                        kind.replace('_', " "),
                        if *kind == "service" {
                            "services (their incidents keep their history)"
                        } else {
                            "status pages (their public history stays)"
                        }
                    ));
                } else {
                    changes.push(Change {
                        kind,
                        name: name.clone(),
                        action: Action::Delete,
                    });
                }
            }
        }
    }
    Plan { changes, notes }
}

/// `desired` as apply works to it. Left out of a person, schedule, service or page the
/// document names:
/// - a credential (a webhook's or ntfy topic's address, an integration's or heartbeat's
///   key) keeps its own;
/// - without `prune`, a contact method, an override or an integration stays;
/// - a heartbeat or a component always stays (with `prune`, a note says so).
pub fn settle(current: &ConfigDoc, desired: &ConfigDoc, prune: bool, now: Timestamp) -> Settled {
    let current = &super::normalize(current);
    let mut doc = super::normalize(desired);
    let mut notes = Vec::new();
    let over = |end: &str| Timestamp::parse(end).is_ok_and(|end| end <= now);
    for s in &mut doc.schedules {
        let name = &s.name;
        s.overrides.retain(|o| {
            let keep = !over(&o.end);
            if !keep {
                notes.push(format!(
                    "an override of schedule {name} by {} ended at {}: it is not made",
                    o.user, o.end
                ));
            }
            keep
        });
    }
    doc.maintenance_windows.retain(|w| {
        let keep = !over(&w.end);
        if !keep {
            notes.push(format!(
                "maintenance window {} is over: it is not made",
                w.label()
            ));
        }
        keep
    });
    if !prune {
        keep(
            &current.maintenance_windows,
            &mut doc.maintenance_windows,
            |a, b| a.label() == b.label(),
            |_| None,
        );
    }
    for t in &mut doc.teams {
        if let Some(now) = current.teams.iter().find(|c| c.name == t.name) {
            chat_channels(&now.chat_channels, &mut t.chat_channels, prune);
        }
    }
    for u in &mut doc.users {
        let Some(now) = current.users.iter().find(|c| c.email == u.email) else {
            continue;
        };
        let same_method =
            |a: &ContactDoc, b: &ContactDoc| a.name == b.name && a.channel == b.channel;
        for m in u.contact_methods.iter_mut().filter(|m| m.address.is_none()) {
            m.address = now
                .contact_methods
                .iter()
                .find(|c| same_method(c, m))
                .and_then(|c| c.address.clone());
        }
        in_order_of(&now.contact_methods, &mut u.contact_methods, same_method);
        if !prune {
            keep(
                &now.contact_methods,
                &mut u.contact_methods,
                same_method,
                |_| None,
            );
        }
    }
    for s in &mut doc.schedules {
        let Some(now) = current.schedules.iter().find(|c| c.name == s.name) else {
            continue;
        };
        if !prune {
            keep(&now.overrides, &mut s.overrides, |a, b| a == b, |_| None);
        }
    }
    for s in &mut doc.services {
        let Some(now) = current.services.iter().find(|c| same(&c.name, &s.name)) else {
            continue;
        };
        for i in s.integrations.iter_mut().filter(|i| i.key.is_none()) {
            i.key = now
                .integrations
                .iter()
                .find(|c| same(&c.name, &i.name))
                .and_then(|c| c.key.clone());
        }
        for h in s.heartbeats.iter_mut().filter(|h| h.key.is_none()) {
            h.key = now
                .heartbeats
                .iter()
                .find(|c| same(&c.name, &h.name))
                .and_then(|c| c.key.clone());
        }
        in_order_of(&now.integrations, &mut s.integrations, |a, b| {
            a.name == b.name
        });
        if !prune {
            keep(
                &now.integrations,
                &mut s.integrations,
                |a, b| a.name == b.name,
                |_| None,
            );
        }
        chat_channels(&now.chat_channels, &mut s.chat_channels, prune);
        let service = &s.name;
        keep(
            &now.heartbeats,
            &mut s.heartbeats,
            |a, b| a.name == b.name,
            |h| {
                prune.then(|| {
                    format!(
                        "heartbeat {} of service {service} is not in the document and stays: \
                     onduty does not delete heartbeats",
                        h.name
                    )
                })
            },
        )
        .into_iter()
        .for_each(|n| notes.push(n));
    }
    for p in &mut doc.status_pages {
        let Some(now) = current.status_pages.iter().find(|c| c.slug == p.slug) else {
            continue;
        };
        let page = &p.slug;
        keep(
            &now.components,
            &mut p.components,
            |a, b| a.name == b.name,
            |c| {
                prune.then(|| {
                    format!(
                        "component {} of status page {page} is not in the document and stays: \
                     onduty does not delete components (their uptime history stays)",
                        c.name
                    )
                })
            },
        )
        .into_iter()
        .for_each(|n| notes.push(n));
    }
    Settled { doc, notes }
}

/// A webhook channel whose URL is left out is the nth of its platform's the server has;
/// without `prune`, channels left out stay.
fn chat_channels(now: &[ChatChannelDoc], wanted: &mut Vec<ChatChannelDoc>, prune: bool) {
    let mut taken = vec![false; now.len()];
    for c in wanted.iter() {
        if let Some(at) = now.iter().position(|n| n == c) {
            taken[at] = true;
        }
    }
    for c in wanted.iter_mut().filter(|c| c.channel.is_none()) {
        let found = now
            .iter()
            .enumerate()
            .find(|(at, n)| !taken[*at] && n.platform == c.platform);
        if let Some((at, n)) = found {
            taken[at] = true;
            c.channel = n.channel.clone();
        }
    }
    in_order_of(now, wanted, |a, b| a == b);
    if !prune {
        keep(now, wanted, |a, b| a == b, |_| None);
    }
}

/// Contact methods, integrations and chat channels are listed in the order they were
/// made: those the server has first, as it has them, then the new ones as written.
fn in_order_of<T>(now: &[T], wanted: &mut [T], same: impl Fn(&T, &T) -> bool) {
    wanted.sort_by_key(|w| now.iter().position(|n| same(n, w)).unwrap_or(usize::MAX));
}

/// Puts back each of `now`'s items that `wanted` leaves out, where it stood among the
/// others; returns what `note` says of each.
fn keep<T: Clone>(
    now: &[T],
    wanted: &mut Vec<T>,
    same: impl Fn(&T, &T) -> bool,
    note: impl Fn(&T) -> Option<String>,
) -> Vec<String> {
    let mut notes = Vec::new();
    for (at, item) in now.iter().enumerate() {
        if !wanted.iter().any(|w| same(w, item)) {
            wanted.insert(at.min(wanted.len()), item.clone());
            notes.extend(note(item));
        }
    }
    notes
}

/// A list's entries by name, each as JSON.
type Keyed = Vec<(String, Value)>;

/// Both documents are normalized: names match exactly, addresses in lower case.
fn same(a: &str, b: &str) -> bool {
    a == b
}

fn keyed<T: Serialize>(list: &[T], name: impl Fn(&T) -> String) -> Keyed {
    list.iter()
        .map(|item| {
            (
                name(item).trim().to_owned(),
                serde_json::to_value(item).unwrap_or(Value::Null),
            )
        })
        .collect()
}

/// The top-level fields whose values differ (a field left out and an empty one are the
/// same), in the order the document writes them.
fn differing(old: &Value, new: &Value) -> Vec<String> {
    let empty = |v: Option<&Value>| match v {
        None | Some(Value::Null) => Value::Null,
        Some(Value::Array(a)) if a.is_empty() => Value::Null,
        Some(Value::String(s)) if s.is_empty() => Value::Null,
        Some(v) => v.clone(),
    };
    let (Some(old), Some(new)) = (old.as_object(), new.as_object()) else {
        return Vec::new();
    };
    let mut keys: Vec<&String> = new.keys().collect();
    keys.extend(old.keys().filter(|k| !new.contains_key(*k)));
    keys.into_iter()
        .filter(|k| empty(old.get(*k)) != empty(new.get(*k)))
        .cloned()
        .collect()
}
