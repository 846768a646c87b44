//! The reminders stage: the creator of each maintenance window ending soon is told, through
//! the contact methods of their immediate rules, that it will end by itself and paging
//! with it. Load the windows due a reminder, their services' names and their creators;
//! plan the texts; apply in one transaction.

use std::collections::HashMap;

use onduty_core::{ServiceId, Timestamp};
use onduty_store::StoreError;
use onduty_store::maintenance::{MaintenanceWindow, Reminder};

use crate::directory::{Directory, Person};
use crate::text::{wall_clock, zone};
use crate::{Engine, EngineError};

pub(crate) async fn run(engine: &Engine, now: Timestamp) -> Result<usize, EngineError> {
    let due = engine.store.due_maintenance_reminders(now).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let mut names = HashMap::new();
    for service in due.iter().flat_map(|w| w.services.iter()) {
        if names.contains_key(service) {
            continue;
        }
        match engine.store.service(*service).await {
            Ok(s) => {
                names.insert(*service, s.name.to_string());
            }
            Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut people = Directory::default();
    let creators: Vec<onduty_core::UserId> = due.iter().filter_map(|w| w.created_by).collect();
    people.load_people(&engine.store, &creators).await?;
    let reminders = plan(&due, &names, &people.people);
    engine
        .store
        .queue_maintenance_reminders(&reminders, now)
        .await?;
    Ok(due.len())
}

/// One reminder per window with a creator, on the creator's clock.
pub(crate) fn plan(
    due: &[MaintenanceWindow],
    services: &HashMap<ServiceId, String>,
    people: &HashMap<onduty_core::UserId, Person>,
) -> Vec<Reminder> {
    due.iter()
        .filter_map(|w| {
            let user = w.created_by?;
            let person = people.get(&user).cloned().unwrap_or_default();
            let names: Vec<&str> = w
                .services
                .iter()
                .filter_map(|s| services.get(s).map(String::as_str))
                .collect();
            let text = format!(
                "Maintenance of {} ends {} ({}); paging resumes then. Extend it in onduty if the work is not done.",
                names.join(", "),
                wall_clock(w.end, &zone(person.time_zone.as_deref())),
                w.reason
            );
            Some(Reminder {
                window: w.id,
                user,
                methods: person.immediate_methods(),
                text,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use onduty_core::contact::{Address, Channel, ContactMethod, NotificationRule, RuleUrgency};
    use onduty_core::{ContactMethodId, MaintenanceId, RuleId, UserId};

    #[test]
    fn the_creator_is_reminded_on_their_clock_through_their_immediate_rules() {
        let t = Timestamp::parse("2026-11-23T09:00:00Z").unwrap();
        let user = UserId::new(t);
        let service = ServiceId::new(t);
        let method = |verified| ContactMethod {
            id: ContactMethodId::new(t),
            user_id: user,
            name: "mail".to_owned(),
            channel: Channel::Email,
            address: Address::parse(Channel::Email, "ada@example.com").unwrap(),
            verified,
            failing: None,
            created_at: t,
        };
        let (usable, unverified) = (method(true), method(false));
        let rule = |m: &ContactMethod, delay| NotificationRule {
            id: RuleId::new(t),
            user_id: user,
            contact_method: m.id,
            delay_minutes: delay,
            urgency: RuleUrgency::Both,
            repeat: None,
        };
        let person = Person {
            name: "Ada".to_owned(),
            rules: vec![rule(&usable, 0), rule(&unverified, 0), rule(&usable, 5)],
            methods: vec![usable.clone(), unverified],
            time_zone: Some("Europe/Berlin".to_owned()),
        };
        let window = |created_by| MaintenanceWindow {
            id: MaintenanceId::new(t),
            services: vec![service],
            start: t,
            end: t.saturating_add(std::time::Duration::from_secs(3600)),
            reason: "database upgrade".to_owned(),
            created_by,
            created_at: t,
            remind_at: Some(t),
        };
        let reminders = plan(
            &[window(Some(user)), window(None)],
            &HashMap::from([(service, "db".to_owned())]),
            &HashMap::from([(user, person)]),
        );
        assert_eq!(reminders.len(), 1, "a window nobody created reminds nobody");
        assert_eq!(reminders[0].methods, vec![usable.id]);
        assert_eq!(
            reminders[0].text,
            "Maintenance of db ends Mon 23 Nov 11:00 (database upgrade); paging resumes then. \
             Extend it in onduty if the work is not done."
        );
    }
}
