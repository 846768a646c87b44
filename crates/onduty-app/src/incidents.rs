//! Acting on incidents: acknowledge, resolve, unacknowledge, escalate, reassign, add
//! responders, snooze, and notes. Every door (API, web page, SMS reply, phone call,
//! e-mail link) comes through [`App::act`] and [`App::add_note`].

use std::time::Duration;

use onduty_core::IncidentRef;
use onduty_core::audit::Change;
use onduty_core::incident::{Incident, TimelineEntry, parse_note};
use onduty_core::lifecycle::{Acting as Who, Assignee, Command};
use onduty_core::{Timestamp, UserId};

use crate::{Acted, Acting, App, AppError};

/// Most people one "add responders" pages.
pub const MAX_RESPONDERS: usize = 20;

/// How long a snooze lasts: until a time, or for some minutes from now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnoozeFor {
    Until(Timestamp),
    Minutes(u32),
}

/// What a person asks of an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncidentCommand {
    Acknowledge,
    Resolve,
    Unacknowledge,
    /// Page a level now: the one given (counting from 1) or the next.
    Escalate {
        level: Option<u32>,
    },
    Reassign(Assignee),
    AddResponders(Vec<UserId>),
    Snooze(SnoozeFor),
}

impl IncidentCommand {
    /// The audit log's word for it.
    fn word(&self) -> &'static str {
        match self {
            IncidentCommand::Acknowledge => "incident.acknowledge",
            IncidentCommand::Resolve => "incident.resolve",
            IncidentCommand::Unacknowledge => "incident.unacknowledge",
            IncidentCommand::Escalate { .. } => "incident.escalate",
            IncidentCommand::Reassign(_) => "incident.reassign",
            IncidentCommand::AddResponders(_) => "incident.add_responders",
            IncidentCommand::Snooze(_) => "incident.snooze",
        }
    }

    /// The lifecycle's command, with the input checked.
    fn parse(self, now: Timestamp) -> Result<Command, AppError> {
        Ok(match self {
            IncidentCommand::Acknowledge => Command::Acknowledge,
            IncidentCommand::Resolve => Command::Resolve,
            IncidentCommand::Unacknowledge => Command::Unacknowledge,
            IncidentCommand::Escalate { level: Some(0) } => {
                return Err(AppError::Invalid("'level' counts from 1".to_owned()));
            }
            IncidentCommand::Escalate { level } => Command::Escalate {
                level: level.map(|l| l - 1),
            },
            IncidentCommand::Reassign(to) => Command::Reassign(to),
            IncidentCommand::AddResponders(users) => {
                let mut unique = Vec::with_capacity(users.len());
                for u in users {
                    if !unique.contains(&u) {
                        unique.push(u);
                    }
                }
                if unique.is_empty() || unique.len() > MAX_RESPONDERS {
                    return Err(AppError::Invalid(format!(
                        "'users' needs 1 to {MAX_RESPONDERS} people"
                    )));
                }
                Command::AddResponders(unique)
            }
            IncidentCommand::Snooze(SnoozeFor::Until(until)) => Command::Snooze { until },
            IncidentCommand::Snooze(SnoozeFor::Minutes(minutes)) => {
                let longest = onduty_core::lifecycle::MAX_SNOOZE.as_secs() / 60;
                if minutes == 0 || u64::from(minutes) > longest {
                    return Err(AppError::Invalid(format!(
                        "a snooze lasts 1 to {longest} minutes (a week)"
                    )));
                }
                let until = now.saturating_add(Duration::from_secs(u64::from(minutes) * 60));
                Command::Snooze { until }
            }
        })
    }
}

/// Most incidents acted on by one [`App::act_on_each`].
pub const MOST_AT_ONCE: usize = 500;

/// What acting on several incidents did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActedOnEach {
    /// Changed by it.
    pub changed: usize,
    /// Already as asked.
    pub unchanged: usize,
    /// Refused by their lifecycle (already resolved, say), and why the first was.
    pub refused: usize,
    pub first_refusal: Option<String>,
}

impl App {
    /// Does what `acting` asks of an incident, through the lifecycle, in one transaction.
    /// Responders and admins may act; observers may not.
    pub async fn act(
        &self,
        acting: &Acting,
        incident: IncidentRef,
        command: IncidentCommand,
    ) -> Result<Acted, AppError> {
        acting.require_responder()?;
        let now = self.now();
        let word = command.word();
        let command = command.parse(now)?;
        let who = Who::person(acting.actor(), acting.via);
        // What the audit log shows as before: read outside the change, so a change made
        // between the two by someone else can show in it.
        let before = self.store.incident(incident).await.ok();
        let acted = self
            .store
            .command_incident(incident, &command, &who, now)
            .await?;
        if acted.changed {
            self.wake_engine();
        }
        let change = Change {
            before: before.as_ref().map(audited),
            after: Some(audited(&acted.incident)),
        };
        self.record(
            acting,
            word,
            format!("#{}", acted.incident.number.0),
            change,
        )
        .await;
        Ok(acted)
    }

    /// Does the same to each of several incidents (the list's "Acknowledge selected"),
    /// each in its own transaction, as [`App::act`] would one by one. At most
    /// [`MOST_AT_ONCE`]; one that refuses (already resolved, say) is counted and the rest
    /// go on.
    pub async fn act_on_each(
        &self,
        acting: &Acting,
        incidents: &[IncidentRef],
        command: IncidentCommand,
    ) -> Result<ActedOnEach, AppError> {
        acting.require_responder()?;
        if incidents.is_empty() || incidents.len() > MOST_AT_ONCE {
            return Err(AppError::Invalid(format!(
                "choose 1 to {MOST_AT_ONCE} incidents"
            )));
        }
        let mut done = ActedOnEach::default();
        for incident in incidents {
            match self.act(acting, *incident, command.clone()).await {
                Ok(acted) if acted.changed => done.changed += 1,
                Ok(_) => done.unchanged += 1,
                Err(why @ (AppError::Refused(_) | AppError::NotFound(_))) => {
                    done.refused += 1;
                    done.first_refusal.get_or_insert_with(|| why.to_string());
                }
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    /// Adds a note to an incident's timeline (open or resolved): 1 to 10,000 characters.
    pub async fn add_note(
        &self,
        acting: &Acting,
        incident: IncidentRef,
        text: &str,
    ) -> Result<TimelineEntry, AppError> {
        acting.require_responder()?;
        let text = parse_note(text).map_err(AppError::Invalid)?;
        let entry = self
            .store
            .add_note(incident, &text, &acting.actor(), None, self.now())
            .await?;
        let change = Change::of(None::<()>, Some(serde_json::json!({ "note": text })));
        self.record(acting, "incident.note", named(incident), change)
            .await;
        Ok(entry)
    }
}

/// An incident as the audit log names it.
fn named(incident: IncidentRef) -> String {
    match incident {
        IncidentRef::Number(n) => format!("#{}", n.0),
        IncidentRef::Id(id) => id.to_string(),
    }
}

/// What the audit log keeps of an incident before and after a person acted on it.
fn audited(incident: &Incident) -> serde_json::Value {
    serde_json::json!({
        "status": incident.status,
        "assignees": incident.assignees,
        "urgency": incident.urgency,
    })
}
