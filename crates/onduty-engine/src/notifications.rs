//! The notifications stage: people's notification rules whose time has come. Load the due
//! notifications; plan which become messages (the incident still pages them, the contact
//! method can be used) and which are dropped, with a line saying why; apply in one
//! transaction.

use onduty_core::Timestamp;
use onduty_core::incident::IncidentStatus;
use onduty_store::paging::{DueNotification, Release};

use crate::text::may_send;
use crate::{BATCH, Engine, EngineError};

pub(crate) async fn run(engine: &Engine, now: Timestamp) -> Result<usize, EngineError> {
    let due = engine.store.due_notifications(now, BATCH).await?;
    let count = due.len();
    engine.store.release_notifications(&plan(due), now).await?;
    Ok(count)
}

/// A message for every due notification that still should page; the others dropped (with
/// a line when the person's method is the reason).
pub(crate) fn plan(due: Vec<DueNotification>) -> Vec<Release> {
    due.into_iter()
        .map(|n| {
            let decision = match n.status {
                IncidentStatus::Resolved => Err(None),
                // Acknowledged stops the rules, but not a responder added by hand.
                IncidentStatus::Acknowledged if !n.responder => Err(None),
                _ => may_send(n.method.as_ref(), &n.user_name).map_err(Some),
            };
            let (send, note) = match decision {
                Ok(()) => (true, None),
                Err(note) => (false, note),
            };
            Release { due: n, send, note }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use onduty_core::contact::{Address, Channel, ContactMethod};
    use onduty_core::{ContactMethodId, IncidentId, PlannedNotificationId, UserId};

    fn due(status: IncidentStatus, responder: bool, method: Option<bool>) -> DueNotification {
        let t = Timestamp::from_millis(1_800_000_000_000);
        let user = UserId::new(t);
        DueNotification {
            id: PlannedNotificationId::new(t),
            incident: IncidentId::new(t),
            status,
            user,
            user_name: "Alice".to_owned(),
            method: method.map(|verified| ContactMethod {
                id: ContactMethodId::new(t),
                user_id: user,
                name: "mail".to_owned(),
                channel: Channel::Email,
                address: Address::parse(Channel::Email, "alice@example.com").unwrap(),
                verified,
                failing: None,
                created_at: t,
            }),
            due_at: t,
            responder,
        }
    }

    #[test]
    fn rules_fire_only_while_the_incident_still_pages_the_person() {
        use IncidentStatus::*;
        let table = [
            (Triggered, false, Some(true), true, None),
            (Acknowledged, false, Some(true), false, None),
            (Acknowledged, true, Some(true), true, None),
            (Resolved, true, Some(true), false, None),
            (
                Triggered,
                false,
                None,
                false,
                Some("Alice's contact method was removed; skipped"),
            ),
            (
                Triggered,
                false,
                Some(false),
                false,
                Some("E-mail to Alice alice@example.com skipped: not verified yet"),
            ),
        ];
        for (status, responder, method, send, note) in table {
            let release = plan(vec![due(status, responder, method)]).pop().unwrap();
            assert_eq!(
                release.send, send,
                "{status:?} responder={responder} {method:?}"
            );
            assert_eq!(release.note.as_deref(), note, "{status:?} {method:?}");
        }
    }
}
