//! The forgotten public incident: once an onduty incident is resolved while the public
//! incident telling of it on a status page is not, whoever acknowledged it (or, if nobody
//! did, whoever published the public one) is reminded through the contact methods of
//! their immediate rules, and again at the page's pace (every half hour unless it says
//! otherwise), until the public incident is resolved or kept open on purpose; the chat
//! channels of the incident's service and team are told too. Load what is due and who
//! to tell; plan the texts; apply in one transaction, then post to the channels (a
//! channel that misses one hears the next).

use onduty_core::chat::ChatScope;

use std::collections::HashMap;

use onduty_core::incident::Actor;
use onduty_core::{IncidentNumber, IncidentRef, StatusPageId, Timestamp, UserId};
use onduty_store::StoreError;
use onduty_store::status_links::StatusReminder;
use onduty_store::status_pages::StatusIncident;

use crate::directory::{Directory, Person};
use crate::{Engine, EngineError};

/// A public incident due a reminder, with what the plan needs to know.
pub(crate) struct Due {
    pub public: StatusIncident,
    pub number: IncidentNumber,
    /// The chat channels of the onduty incident's service and team: platform, channel.
    pub channels: Vec<(onduty_core::chat::ChatPlatform, String)>,
    /// Who acknowledged the onduty incident, if a person did.
    pub acknowledged_by: Option<UserId>,
    pub page: String,
}

pub(crate) async fn run(engine: &Engine, now: Timestamp) -> Result<usize, EngineError> {
    let found = engine.store.due_status_reminders(now).await?;
    if found.is_empty() {
        return Ok(0);
    }
    let mut pages: HashMap<StatusPageId, String> = HashMap::new();
    let mut due = Vec::with_capacity(found.len());
    for (public, number) in found {
        let (acknowledged_by, channels) =
            match engine.store.incident(IncidentRef::Number(number)).await {
                Ok(incident) => {
                    let by = match incident.acknowledged_by {
                        Some(Actor::User { id, .. }) => Some(id),
                        _ => None,
                    };
                    (by, channels_of(engine, incident.service_id).await?)
                }
                Err(StoreError::NotFound(_)) => (None, Vec::new()),
                Err(e) => return Err(e.into()),
            };
        let page = match pages.get(&public.page) {
            Some(name) => name.clone(),
            None => {
                let name = engine.store.status_page(public.page).await?.name;
                pages.insert(public.page, name.clone());
                name
            }
        };
        due.push(Due {
            page,
            public,
            number,
            acknowledged_by,
            channels,
        });
    }
    let users: Vec<UserId> = due.iter().filter_map(who).collect();
    let mut people = Directory::default();
    people.load_people(&engine.store, &users).await?;
    let reminders = plan(&due, &people.people);
    engine.store.queue_status_reminders(&reminders, now).await?;
    for (d, reminder) in due.iter().zip(&reminders) {
        for (platform, channel) in &d.channels {
            if let Err(e) = engine
                .providers
                .post_chat_text(*platform, channel, &reminder.text)
                .await
            {
                tracing::warn!(incident = d.number.0, platform = platform.label(), error = ?e, "a status page reminder did not reach a chat channel; the next one will try again");
            }
        }
    }
    Ok(due.len())
}

/// The working chat channels of a service and of its team.
async fn channels_of(
    engine: &Engine,
    service: onduty_core::ServiceId,
) -> Result<Vec<(onduty_core::chat::ChatPlatform, String)>, EngineError> {
    let mut scopes = vec![ChatScope::Service(service)];
    match engine.store.service(service).await {
        Ok(s) => scopes.extend(s.settings.team_id.map(ChatScope::Team)),
        Err(StoreError::NotFound(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    }
    let mut out = Vec::new();
    for scope in scopes {
        for c in engine.store.chat_channels(scope).await? {
            if c.failing.is_none() {
                out.push((c.platform, c.channel));
            }
        }
    }
    Ok(out)
}

/// Who is reminded: whoever acknowledged the onduty incident, else whoever published.
fn who(due: &Due) -> Option<UserId> {
    due.acknowledged_by.or(due.public.created_by)
}

/// One reminder per public incident due; one with nobody to remind tells nobody, and
/// is noted all the same (so it is not due again at once).
pub(crate) fn plan(due: &[Due], people: &HashMap<UserId, Person>) -> Vec<StatusReminder> {
    due.iter()
        .map(|d| {
            let user = who(d);
            let person = user
                .and_then(|u| people.get(&u).cloned())
                .unwrap_or_default();
            StatusReminder {
                status_incident: d.public.id,
                user,
                methods: person.immediate_methods(),
                text: format!(
                    "Incident #{} is resolved, but \"{}\" on the status page {} still says {}. \
                     Resolve it there, or keep it open on purpose.",
                    d.number,
                    d.public.name,
                    d.page,
                    d.public.stage.label().to_lowercase()
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use onduty_core::status_page::{Impact, IncidentStatus, Stage};
    use onduty_core::{IncidentId, StatusIncidentId};

    #[test]
    fn the_acknowledger_is_reminded_else_the_publisher_else_nobody() {
        let t = Timestamp::parse("2026-11-23T09:00:00Z").unwrap();
        let (alice, bob) = (UserId::new(t), UserId::new(t));
        let due = |acknowledged_by, created_by| Due {
            public: StatusIncident {
                id: StatusIncidentId::new(t),
                page: StatusPageId::new(t),
                name: "Checkout errors".to_owned(),
                stage: Stage::Incident(IncidentStatus::Monitoring),
                impact: Impact::Major,
                created_at: t,
                updated_at: t,
                started_at: t,
                monitoring_at: Some(t),
                resolved_at: None,
                scheduled: None,
                window: None,
                incident: Some(IncidentId::new(t)),
                created_by,
                keep_open: false,
                draft: false,
                postmortem: None,
                components: Vec::new(),
                updates: Vec::new(),
            },
            number: IncidentNumber(42),
            acknowledged_by,
            channels: Vec::new(),
            page: "Acme".to_owned(),
        };
        let reminders = plan(
            &[
                due(Some(alice), Some(bob)),
                due(None, Some(bob)),
                due(None, None),
            ],
            &HashMap::new(),
        );
        assert_eq!(
            reminders.iter().map(|r| r.user).collect::<Vec<_>>(),
            [Some(alice), Some(bob), None]
        );
        assert_eq!(
            reminders[0].text,
            "Incident #42 is resolved, but \"Checkout errors\" on the status page Acme still says \
             monitoring. Resolve it there, or keep it open on purpose."
        );
        assert!(reminders[0].methods.is_empty(), "nobody known: no methods");
    }
}
