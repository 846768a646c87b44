//! What applying a document would change, compared with the server's own (exported)
//! document: each thing to create, change (with the fields that differ) or delete.
//! Things are matched by name (people by e-mail), whatever the case. Without `prune`,
//! nothing is deleted.

use serde::Serialize;
use serde_json::Value;

use super::ConfigDoc;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Create,
    Update { fields: Vec<String> },
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `user`, `team`, `schedule`, `escalation_policy`, `service` or `status_page`.
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
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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

/// The changes that make `current` into `desired`.
pub fn plan(current: &ConfigDoc, desired: &ConfigDoc, prune: bool) -> Plan {
    let current = super::normalize(current);
    let mut desired = super::normalize(desired);
    keep_what_is_left_out(&current, &mut desired);
    let lists: [(&'static str, Keyed, Keyed); 6] = [
        (
            "user",
            keyed(&current.users, |u| &u.email),
            keyed(&desired.users, |u| &u.email),
        ),
        (
            "team",
            keyed(&current.teams, |t| &t.name),
            keyed(&desired.teams, |t| &t.name),
        ),
        (
            "schedule",
            keyed(&current.schedules, |s| &s.name),
            keyed(&desired.schedules, |s| &s.name),
        ),
        (
            "escalation_policy",
            keyed(&current.escalation_policies, |p| &p.name),
            keyed(&desired.escalation_policies, |p| &p.name),
        ),
        (
            "service",
            keyed(&current.services, |s| &s.name),
            keyed(&desired.services, |s| &s.name),
        ),
        (
            "status_page",
            keyed(&current.status_pages, |p| &p.slug),
            keyed(&desired.status_pages, |p| &p.slug),
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
    if prune {
        for (kind, now, wanted) in lists.iter().rev() {
            for (name, _) in now {
                if !wanted.iter().any(|(n, _)| same(n, name)) {
                    changes.push(Change {
                        kind,
                        name: name.clone(),
                        action: Action::Delete,
                    });
                }
            }
        }
    }
    Plan { changes }
}

/// A contact method whose address is a credential, left out, keeps its own; so does an
/// integration or heartbeat whose key the document leaves out.
fn keep_what_is_left_out(current: &ConfigDoc, desired: &mut ConfigDoc) {
    for u in &mut desired.users {
        let Some(now) = current.users.iter().find(|c| c.email == u.email) else {
            continue;
        };
        for m in u.contact_methods.iter_mut().filter(|m| m.address.is_none()) {
            m.address = now
                .contact_methods
                .iter()
                .find(|c| c.name == m.name && c.channel == m.channel)
                .and_then(|c| c.address.clone());
        }
    }
    for s in &mut desired.services {
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
    }
}

/// A list's entries by name, each as JSON.
type Keyed = Vec<(String, Value)>;

/// Both documents are normalized: names match exactly, addresses in lower case.
fn same(a: &str, b: &str) -> bool {
    a == b
}

fn keyed<T: Serialize>(list: &[T], name: impl Fn(&T) -> &String) -> Keyed {
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
