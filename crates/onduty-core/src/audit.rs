//! The audit log: who changed what, when, from which address and through which door, and
//! what it was before and after. The application layer writes an entry after every change
//! a person (or their API token) makes; nothing edits an entry, and data retention removes
//! those older than `[retention] audit_days`.
//!
//! What "before" and "after" hold: for configuration, the part of the configuration
//! document (`onduty export`, without secrets) that changed ([`doc_change`]); for other
//! actions, the few fields the action moved (an incident's status, a postmortem's state).

use std::net::IpAddr;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::config_doc::ConfigDoc;
use crate::ids::UserId;
use crate::lifecycle::{LinkOrigin, Via};
use crate::time::Timestamp;

/// The most entries one page of the log holds.
pub const MAX_PAGE: u32 = 200;

/// One entry as the application hands it to the store.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub at: Timestamp,
    /// The person who acted (their e-mail is kept beside it: they may be deleted later).
    pub user: UserId,
    /// Their e-mail address when they acted.
    pub who: String,
    /// The door: [`door`] of how they came.
    pub door: String,
    /// The API token's name, when they came with one.
    pub token: Option<String>,
    /// The client's address, when the door has one.
    pub address: Option<IpAddr>,
    /// What was done, as `kind.verb`: `service.update`, `incident.acknowledge`.
    pub action: String,
    /// What it was done to, as people name it: a service's name, `#42`, an e-mail.
    pub target: String,
    pub change: Change,
}

/// An entry as kept: its number (entries are numbered as written) and what was recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    pub record: AuditRecord,
}

/// What the thing acted on was before the action and is after it; `None` where it did not
/// exist (created, deleted) or where the action moved nothing that is recorded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Change {
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl Change {
    /// Nothing recorded beyond the action itself (a test message sent, a key rotated: the
    /// key is a secret).
    pub fn none() -> Change {
        Change::default()
    }

    /// Before and after as their JSON forms. A value that does not serialize is left out.
    pub fn of<B: Serialize, A: Serialize>(before: Option<B>, after: Option<A>) -> Change {
        Change {
            before: before.and_then(|b| serde_json::to_value(b).ok()),
            after: after.and_then(|a| serde_json::to_value(a).ok()),
        }
    }
}

/// The word stored for a door.
pub fn door(via: Via) -> &'static str {
    match via {
        Via::Api => "api",
        Via::WebUi => "web",
        Via::Sms => "sms",
        Via::PhoneCall => "phone_call",
        Via::OneClickLink(LinkOrigin::Email) => "email_link",
        Via::OneClickLink(LinkOrigin::Push) => "push_link",
        Via::Slack => "slack",
        Via::Telegram => "telegram",
        Via::Mattermost => "mattermost",
        Via::Teams => "teams",
        Via::Discord => "discord",
    }
}

/// What changed between two configuration documents: for each list (users, services, …),
/// the items added, removed or changed, keyed by how the document names them (an e-mail,
/// a name, a slug). `before` holds the old form of the items removed or changed, `after`
/// the new form of those added or changed: `{"services": {"api": {...}}}`. Unchanged
/// items are left out; no change at all is [`Change::none`].
pub fn doc_change(before: &ConfigDoc, after: &ConfigDoc) -> Change {
    let (Ok(Value::Object(old)), Ok(Value::Object(new))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return Change::none();
    };
    let mut was = Map::new();
    let mut is = Map::new();
    let mut lists: Vec<&String> = old.keys().chain(new.keys()).collect();
    lists.sort();
    lists.dedup();
    for list in lists {
        if list == "version" {
            continue;
        }
        let old_items = keyed(old.get(list));
        let new_items = keyed(new.get(list));
        let mut removed_or_changed = Map::new();
        let mut added_or_changed = Map::new();
        for (key, item) in &old_items {
            match new_items.iter().find(|(k, _)| k == key) {
                Some((_, now)) if now == item => {}
                Some((_, now)) => {
                    removed_or_changed.insert(key.clone(), item.clone());
                    added_or_changed.insert(key.clone(), now.clone());
                }
                None => {
                    removed_or_changed.insert(key.clone(), item.clone());
                }
            }
        }
        for (key, item) in &new_items {
            if !old_items.iter().any(|(k, _)| k == key) {
                added_or_changed.insert(key.clone(), item.clone());
            }
        }
        if !removed_or_changed.is_empty() {
            was.insert(list.clone(), Value::Object(removed_or_changed));
        }
        if !added_or_changed.is_empty() {
            is.insert(list.clone(), Value::Object(added_or_changed));
        }
    }
    Change {
        before: (!was.is_empty()).then_some(Value::Object(was)),
        after: (!is.is_empty()).then_some(Value::Object(is)),
    }
}

/// A list's items by the name the document knows them by: `email`, `slug` or `name`, and
/// for items with none of those (maintenance windows) their whole text.
fn keyed(list: Option<&Value>) -> Vec<(String, Value)> {
    let Some(Value::Array(items)) = list else {
        return Vec::new();
    };
    items
        .iter()
        .map(|item| {
            let key = ["email", "slug", "name"]
                .iter()
                .find_map(|field| item.get(field).and_then(Value::as_str))
                .map_or_else(|| item.to_string(), str::to_owned);
            (key, item.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config_doc::parse_only;
    use serde_json::json;

    fn doc(yaml: &str) -> ConfigDoc {
        parse_only(&format!("version: 1\n{yaml}")).expect("a document")
    }

    #[test]
    fn a_document_change_names_only_what_moved() {
        let team = "teams:\n  - name: Ops\n";
        let two = "teams:\n  - name: Ops\n  - name: Web\n";
        let renamed = "teams:\n  - name: Ops\n  - name: Mobile\n";
        for (before, after, was, is) in [
            // Nothing moved: nothing recorded.
            (team, team, None, None),
            // Added: only after.
            (
                team,
                two,
                None,
                Some(json!({"teams": {"Web": {"name": "Web", "members": []}}})),
            ),
            // Removed: only before.
            (
                two,
                team,
                Some(json!({"teams": {"Web": {"name": "Web", "members": []}}})),
                None,
            ),
            // A new name is another item: one removed, one added.
            (
                two,
                renamed,
                Some(json!({"teams": {"Web": {"name": "Web", "members": []}}})),
                Some(json!({"teams": {"Mobile": {"name": "Mobile", "members": []}}})),
            ),
            // A whole list appearing.
            (
                "",
                team,
                None,
                Some(json!({"teams": {"Ops": {"name": "Ops", "members": []}}})),
            ),
        ] {
            let change = doc_change(&doc(before), &doc(after));
            assert_eq!(change.before, was, "{before:?} → {after:?}");
            assert_eq!(change.after, is, "{before:?} → {after:?}");
        }
    }

    #[test]
    fn a_changed_item_shows_its_old_and_new_form() {
        let before = doc("teams:\n  - name: Ops\n    members: []\n");
        let after = doc("users:\n  - email: ann@example.com\n    name: Ann\n\
             teams:\n  - name: Ops\n    members: [ann@example.com]\n");
        let change = doc_change(&before, &after);
        let was = change.before.expect("the team was there");
        let is = change.after.expect("the team changed");
        assert_eq!(was["teams"]["Ops"]["members"], json!([]));
        assert_eq!(is["teams"]["Ops"]["members"], json!(["ann@example.com"]));
        // People are keyed by e-mail.
        assert_eq!(is["users"]["ann@example.com"]["name"], json!("Ann"));
        assert!(was.get("users").is_none());
    }

    #[test]
    fn each_door_has_its_own_word() {
        let doors = [
            Via::Api,
            Via::WebUi,
            Via::Sms,
            Via::PhoneCall,
            Via::OneClickLink(LinkOrigin::Email),
            Via::OneClickLink(LinkOrigin::Push),
            Via::Slack,
            Via::Telegram,
            Via::Mattermost,
            Via::Teams,
            Via::Discord,
        ];
        let mut words: Vec<&str> = doors.into_iter().map(door).collect();
        words.sort_unstable();
        words.dedup();
        assert_eq!(words.len(), doors.len());
    }

    #[test]
    fn values_that_do_not_exist_are_not_recorded() {
        let change = Change::of(None::<u8>, Some("resolved"));
        assert_eq!(change.before, None);
        assert_eq!(change.after, Some(json!("resolved")));
    }
}
