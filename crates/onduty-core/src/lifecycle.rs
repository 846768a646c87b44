//! The incident lifecycle, decided purely: given an incident as stored, a command, who
//! gives it, what the decision may read (the service's settings, the escalation, the
//! people it may page) and `now`, [`decide`] returns the incident afterwards and the
//! [`Effect`]s — timeline lines, paging stopped or started, timers, assignees,
//! notifications planned. The store loads what a decision needs and writes what it
//! returns; every door (API, web page, SMS reply, call, e-mail link, timers, events)
//! goes through here.
//!
//! The rules, one place each:
//! - Resolved is final: every command on a resolved incident is refused, except that a
//!   trigger within the service's flap window re-opens it ([`Command::Reopen`]) unless a
//!   person resolved it.
//! - Acknowledging stops whatever was about to page and starts the acknowledgement
//!   timeout; resolving stops paging and every timer.
//! - Triggered again (by hand, an acknowledgement timeout, a snooze's end) pages again:
//!   through the escalation policy from its first level, or the people it was handed to.
//! - A person who acknowledges an incident nobody has becomes its assignee.

use serde_json::json;

use crate::contact::{NotificationRule, Urgency, plan_notifications};
use crate::event::Severity;
use crate::heartbeat::duration_words;
use crate::ids::{DedupKey, EventId, IncidentId, IncidentNumber, PolicyId, ServiceId, UserId};
use crate::incident::{Actor, DedupMode, IncidentStatus, TimelineKind};
use crate::noise::{AlertResolution, GroupedAlerts};
use crate::paging::{
    Effect, Effects, EscalationState, Line, PlannedNotification, Text, TimerKind, TimerKinds,
    minutes,
};
use crate::service::ServiceUrgency;
use crate::time::Timestamp;

#[cfg(test)]
mod tests;

/// When an incident was acknowledged or resolved, and by whom.
#[derive(Debug, Clone, PartialEq)]
pub struct Stamp {
    pub at: Timestamp,
    pub by: Actor,
}

/// An incident as its lifecycle sees it: the row the store keeps, without the details
/// of the trigger that opened it (which never change).
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentState {
    pub id: IncidentId,
    /// `None` for an incident opened by an ingest batch until the batch is numbered.
    pub number: Option<IncidentNumber>,
    pub service_id: ServiceId,
    pub dedup_key: DedupKey,
    /// True for the one open incident that absorbs triggers with its key.
    pub holds_key: bool,
    pub status: IncidentStatus,
    pub urgency: Urgency,
    pub alert_count: i64,
    pub last_event_at: Timestamp,
    pub last_event_summary: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub acknowledged: Option<Stamp>,
    pub resolved: Option<Stamp>,
    /// The alerts grouped into it (its own key first) once another key joined; empty
    /// otherwise.
    pub alerts: GroupedAlerts,
}

impl IncidentState {
    /// A new incident opened by a trigger for `key` at `at`.
    pub fn opened(
        id: IncidentId,
        service_id: ServiceId,
        key: DedupKey,
        urgency: Urgency,
        summary: &str,
        at: Timestamp,
    ) -> IncidentState {
        IncidentState {
            id,
            number: None,
            service_id,
            dedup_key: key,
            holds_key: true,
            status: IncidentStatus::Triggered,
            urgency,
            alert_count: 1,
            last_event_at: at,
            last_event_summary: summary.to_owned(),
            created_at: at,
            updated_at: at,
            acknowledged: None,
            resolved: None,
            alerts: GroupedAlerts::default(),
        }
    }

    /// Whether a person (not its source, nor onduty) resolved it: that is final, even
    /// within a flap window.
    pub fn resolved_by_a_person(&self) -> bool {
        matches!(
            self.resolved,
            Some(Stamp {
                by: Actor::User { .. },
                ..
            })
        )
    }

    fn label(&self) -> String {
        match self.number {
            Some(n) => format!("incident #{n}"),
            None => "the incident".to_owned(),
        }
    }
}

/// A service's settings, as far as its incidents' lifecycle reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Settings {
    pub dedup_mode: DedupMode,
    pub urgency: ServiceUrgency,
    /// Who is paged; `None`: incidents are recorded but page nobody.
    pub policy: Option<PolicyId>,
    pub ack_timeout_minutes: Option<u32>,
    pub auto_resolve_minutes: Option<u32>,
    pub group_window_minutes: Option<u32>,
    pub flap_window_minutes: Option<u32>,
}

impl Settings {
    pub fn urgency_of(&self, severity: Severity) -> Urgency {
        self.urgency.of(severity)
    }
}

/// Where a person's command came from: the timeline says "… via SMS".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Via {
    Api,
    WebUi,
    Sms,
    PhoneCall,
    /// A signed one-click link, from an e-mail or a push notification's button.
    OneClickLink(LinkOrigin),
    /// A button or a command in Slack.
    Slack,
    /// A button in Telegram.
    Telegram,
    /// A button in Mattermost.
    Mattermost,
    /// A button on a Microsoft Teams card (a signed link, opened logged in).
    Teams,
    /// A button on a Discord message (a signed link, opened logged in).
    Discord,
}

impl Via {
    pub fn label(self) -> &'static str {
        match self {
            Via::Api => "the API",
            Via::WebUi => "the web UI",
            Via::Sms => "SMS",
            Via::PhoneCall => "a phone call",
            Via::OneClickLink(_) => "a one-click link",
            Via::Slack => "Slack",
            Via::Telegram => "Telegram",
            Via::Mattermost => "Mattermost",
            Via::Teams => "Microsoft Teams",
            Via::Discord => "Discord",
        }
    }

    /// The channel reports count an acknowledgement under.
    pub fn channel(self) -> AckChannel {
        match self {
            Via::Api => AckChannel::Api,
            Via::WebUi => AckChannel::Web,
            Via::Sms => AckChannel::Sms,
            Via::PhoneCall => AckChannel::Voice,
            Via::OneClickLink(LinkOrigin::Email) => AckChannel::Email,
            Via::OneClickLink(LinkOrigin::Push) => AckChannel::Push,
            Via::Slack | Via::Telegram | Via::Mattermost | Via::Teams | Via::Discord => {
                AckChannel::Chat
            }
        }
    }
}

/// What carried a one-click link: an e-mail or a push notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkOrigin {
    Email,
    Push,
}

/// How an incident was acknowledged, as reports group it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AckChannel {
    Web,
    Sms,
    Voice,
    Email,
    Chat,
    Push,
    Api,
    /// An acknowledge event from a monitoring tool.
    Event,
}

impl AckChannel {
    pub const ALL: [AckChannel; 8] = [
        AckChannel::Web,
        AckChannel::Sms,
        AckChannel::Voice,
        AckChannel::Email,
        AckChannel::Chat,
        AckChannel::Push,
        AckChannel::Api,
        AckChannel::Event,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AckChannel::Web => "web",
            AckChannel::Sms => "sms",
            AckChannel::Voice => "voice",
            AckChannel::Email => "email",
            AckChannel::Chat => "chat",
            AckChannel::Push => "push",
            AckChannel::Api => "api",
            AckChannel::Event => "event",
        }
    }

    pub fn parse(text: &str) -> Option<AckChannel> {
        AckChannel::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// Who an incident is handed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignee {
    /// Paged directly through their notification rules; no escalation policy follows.
    User(UserId),
    /// Escalation starts again at this policy's first level.
    Policy(PolicyId),
}

/// Everything that changes an incident.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    // What people do (and onduty's timers do for them).
    Acknowledge,
    Resolve,
    /// Back to triggered, and paging again.
    Unacknowledge,
    /// Page a level now: the one given (from 0) or the one after the current level. An
    /// acknowledged incident is triggered again.
    Escalate {
        level: Option<u32>,
    },
    /// Hand the incident to someone else; it is triggered again if acknowledged.
    Reassign(Assignee),
    /// Page more people now, as well as whoever is paged already; they are paged even if
    /// the incident is acknowledged.
    AddResponders(Vec<UserId>),
    /// Quiet until `until`, then triggered again (and paged). A triggered incident is
    /// acknowledged by the snooze.
    Snooze {
        until: Timestamp,
    },
    /// One of the incident's timers fired.
    Timer(TimerKind),

    // What events do (through the ingest batch, which picks the incident).
    /// A trigger with the incident's key: one more alert, no page.
    Fold(Trigger),
    /// A trigger with a key of its own, within the grouping window: it joins.
    Join(Trigger),
    /// A trigger within the flap window after the incident resolved: open again.
    Reopen(Trigger),
    /// A trigger opened incident `successor` while this one was acknowledged (`triggered`
    /// dedup mode): this one gives its key up.
    GiveUpKey {
        successor: IncidentId,
    },
    /// An acknowledge event.
    AcknowledgeEvent,
    /// A resolve event for `key` (one of a grouped incident's alerts, or its own key).
    ResolveEvent {
        key: DedupKey,
    },
}

/// What a trigger brings to an incident it reaches.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    pub key: DedupKey,
    pub summary: String,
}

/// Who gives a command, and through what.
#[derive(Debug, Clone, PartialEq)]
pub struct Acting {
    pub actor: Actor,
    /// The door a person came through; `None` for onduty's own timers and for events.
    pub via: Option<Via>,
    /// The event behind an event's command, with the warnings about it.
    pub event: Option<(EventId, Vec<String>)>,
}

impl Acting {
    pub fn person(actor: Actor, via: Via) -> Acting {
        Acting {
            actor,
            via: Some(via),
            event: None,
        }
    }

    pub fn onduty() -> Acting {
        Acting {
            actor: Actor::System,
            via: None,
            event: None,
        }
    }

    pub fn event(actor: Actor, event: EventId, warnings: Vec<String>) -> Acting {
        Acting {
            actor,
            via: None,
            event: Some((event, warnings)),
        }
    }

    fn name(&self) -> &str {
        self.actor.name()
    }

    /// "by Alice via SMS"
    fn by(&self) -> String {
        match self.via {
            Some(via) => format!("by {} via {}", self.name(), via.label()),
            None => format!("by {}", self.name()),
        }
    }

    /// "Alice … via SMS" with the words between.
    fn via_suffix(&self) -> String {
        self.via
            .map(|v| format!(" via {}", v.label()))
            .unwrap_or_default()
    }

    fn line(&self, at: Timestamp, kind: TimelineKind, text: String) -> Line {
        let mut line = Line::new(at, kind, &self.actor, text);
        line.via = self.via;
        if let Some((id, warnings)) = &self.event {
            line.event = Some(*id);
            line.data = (!warnings.is_empty()).then(|| json!({ "warnings": warnings }));
        }
        line
    }
}

/// A policy as a decision reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyBrief {
    pub id: PolicyId,
    pub name: String,
    pub levels: u32,
}

/// A person a decision may page: their name and notification rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: UserId,
    pub name: String,
    pub rules: Vec<NotificationRule>,
}

/// What a decision reads besides the incident. Events need only the settings.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub settings: &'a Settings,
    /// The incident's escalation, if it ever had one.
    pub escalation: Option<&'a EscalationState>,
    /// Who has the incident, in the order they got it.
    pub assignees: &'a [UserId],
    /// The policies the command may need: the one escalating it (or the service's), the
    /// one it is reassigned to.
    pub policies: &'a [PolicyBrief],
    /// The people the command may page: its assignees, responders, the person it is
    /// reassigned to.
    pub people: &'a [Person],
}

impl<'a> Context<'a> {
    /// A context with only the service's settings (what events need).
    pub fn of_settings(settings: &'a Settings) -> Context<'a> {
        Context {
            settings,
            escalation: None,
            assignees: &[],
            policies: &[],
            people: &[],
        }
    }

    fn policy(&self, id: PolicyId) -> Result<&'a PolicyBrief, Refused> {
        self.policies
            .iter()
            .find(|p| p.id == id)
            .ok_or(Refused::Unknown("escalation policy"))
    }

    fn person(&self, id: UserId) -> Result<&'a Person, Refused> {
        self.people
            .iter()
            .find(|p| p.id == id)
            .ok_or(Refused::Unknown("user"))
    }
}

/// Why a command was refused; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("{0} is already resolved; resolved is final (a new event opens a new incident)")]
    AlreadyResolved(String),
    #[error("{0} has no escalation policy to escalate through")]
    NoPolicy(String),
    #[error("escalation policy {policy} has {levels} levels; there is no level {asked}")]
    NoSuchLevel {
        policy: String,
        levels: u32,
        asked: u32,
    },
    #[error("{incident} is at the last level of {policy}; choose a level")]
    AtLastLevel { incident: String, policy: String },
    #[error("a snooze must end in the future")]
    SnoozeInThePast,
    #[error("a snooze lasts at most a week")]
    SnoozeTooLong,
    /// The store did not load what the command names (a programming error or a race with
    /// a deletion): refused rather than guessed.
    #[error("no such {0}")]
    Unknown(&'static str),
    /// The command does not apply to an incident in this state (an event the batch should
    /// not have routed here).
    #[error("this does not apply to {0}")]
    NotApplicable(String),
}

/// The longest snooze: a week.
pub const MAX_SNOOZE: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// The incident after a command, and what else the command does.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    pub incident: IncidentState,
    /// False when the command changed nothing (acknowledging an acknowledged incident):
    /// nothing is written.
    pub changed: bool,
    pub effects: Effects,
}

/// Decides what `command`, given by `acting` at `now`, does to `incident`.
pub fn decide(
    incident: &IncidentState,
    command: &Command,
    acting: &Acting,
    ctx: &Context,
    now: Timestamp,
) -> Result<Decided, Refused> {
    let mut d = Decision {
        before: incident,
        next: incident.clone(),
        acting,
        ctx,
        now,
        effects: Effects::new(),
        changed: true,
    };
    let resolved = incident.status == IncidentStatus::Resolved;
    match command {
        Command::Reopen(trigger) => d.reopen(trigger)?,
        // onduty's own timers on a resolved incident (a race with a resolve) do nothing.
        Command::Timer(_) if resolved => d.changed = false,
        _ if resolved => return Err(Refused::AlreadyResolved(incident.label())),
        Command::Acknowledge => d.acknowledge(),
        Command::Resolve => d.resolve(None),
        Command::Unacknowledge => d.unacknowledge(None)?,
        Command::Escalate { level } => d.escalate(*level)?,
        Command::Reassign(to) => d.reassign(to)?,
        Command::AddResponders(users) => d.add_responders(users)?,
        Command::Snooze { until } => d.snooze(*until)?,
        Command::Timer(kind) => d.timer(*kind)?,
        Command::Fold(trigger) => d.fold(trigger),
        Command::Join(trigger) => d.join(trigger),
        Command::GiveUpKey { successor } => d.give_up_key(*successor),
        Command::AcknowledgeEvent => d.acknowledge(),
        Command::ResolveEvent { key } => d.resolve_event(key),
    }
    if d.changed {
        d.next.updated_at = now;
        d.paging_follows_events(command);
    }
    Ok(Decided {
        incident: d.next,
        changed: d.changed,
        effects: d.effects,
    })
}

/// The effects of opening `incident` (a trigger opened it at its `created_at`): the line
/// on its timeline and its escalation, due at once.
pub fn open(incident: &IncidentState, acting: &Acting, settings: &Settings) -> Effects {
    let mut effects = Effects::new();
    let at = incident.created_at;
    effects.push(
        incident.id,
        Effect::Line(acting.line(
            at,
            TimelineKind::Triggered,
            format!("Triggered by an event from {}", acting.name()),
        )),
    );
    if let Some(policy) = settings.policy {
        effects.push(
            incident.id,
            Effect::Escalation(EscalationState::start(policy, at)),
        );
    }
    if let Some(m) = settings.auto_resolve_minutes {
        effects.push(
            incident.id,
            Effect::SetTimer {
                kind: TimerKind::AutoResolve,
                due: at.saturating_add(minutes(m)),
            },
        );
    }
    effects
}

/// One decision under way.
struct Decision<'a> {
    before: &'a IncidentState,
    next: IncidentState,
    acting: &'a Acting,
    ctx: &'a Context<'a>,
    now: Timestamp,
    effects: Effects,
    changed: bool,
}

impl Decision<'_> {
    fn push(&mut self, effect: Effect) {
        self.effects.push(self.before.id, effect);
    }

    fn line(&mut self, kind: TimelineKind, text: String) {
        let line = self.acting.line(self.now, kind, text);
        self.push(Effect::Line(line));
    }

    fn settings(&self) -> &Settings {
        self.ctx.settings
    }

    fn set_ack_timeout(&mut self) {
        if let Some(m) = self.settings().ack_timeout_minutes {
            let due = self.now.saturating_add(minutes(m));
            self.push(Effect::SetTimer {
                kind: TimerKind::AckTimeout,
                due,
            });
        }
    }

    fn mark_acknowledged(&mut self) {
        self.next.status = IncidentStatus::Acknowledged;
        self.next.acknowledged = Some(Stamp {
            at: self.now,
            by: self.acting.actor.clone(),
        });
    }

    fn mark_triggered(&mut self) {
        self.next.status = IncidentStatus::Triggered;
        self.next.acknowledged = None;
    }

    /// Acknowledge, by a person or an acknowledge event.
    fn acknowledge(&mut self) {
        let from_event = self.acting.event.is_some();
        if self.before.status == IncidentStatus::Acknowledged {
            if from_event {
                // Recorded, and written with a version check so that a concurrent
                // resolve is noticed.
                let text = format!("Acknowledge event from {}; already acknowledged", {
                    self.acting.name()
                });
                self.line(TimelineKind::Event, text);
            } else {
                self.changed = false;
            }
            return;
        }
        self.mark_acknowledged();
        let text = if from_event {
            format!("Acknowledged by {} (acknowledge event)", self.acting.name())
        } else {
            format!("Acknowledged {}", self.acting.by())
        };
        self.line(TimelineKind::Acknowledged, text);
        if let Actor::User { id, name } = &self.acting.actor
            && self.ctx.assignees.is_empty()
        {
            self.push(Effect::Assign(*id));
            self.line(TimelineKind::Assigned, format!("Assigned to {name}"));
        }
        self.push(Effect::StopPaging);
        self.set_ack_timeout();
    }

    /// Resolve; `text` words it when not a person's or an event's.
    fn resolve(&mut self, text: Option<String>) {
        self.next.status = IncidentStatus::Resolved;
        self.next.holds_key = false;
        self.next.resolved = Some(Stamp {
            at: self.now,
            by: self.acting.actor.clone(),
        });
        let text = text.unwrap_or_else(|| match self.acting.event {
            Some(_) => format!("Resolved by {} (resolve event)", self.acting.name()),
            None => format!("Resolved {}", self.acting.by()),
        });
        self.line(TimelineKind::Resolved, text);
        self.push(Effect::StopPaging);
        self.push(Effect::ClearTimers(TimerKinds::ALL));
    }

    /// A resolve event: a grouped incident resolves with its last alert.
    fn resolve_event(&mut self, key: &DedupKey) {
        if !self.next.alerts.0.is_empty()
            && let AlertResolution::Still(firing) = self.next.alerts.resolve(key.as_str(), self.now)
        {
            let text = format!(
                "Alert {key} resolved by {} (resolve event); {firing} grouped alert{} still firing",
                self.acting.name(),
                if firing == 1 { "" } else { "s" }
            );
            self.line(TimelineKind::Event, text);
            return;
        }
        self.resolve(None);
    }

    /// Back to triggered, paging again; `text` words it when not a person's.
    fn unacknowledge(&mut self, text: Option<String>) -> Result<(), Refused> {
        if self.before.status == IncidentStatus::Triggered {
            self.changed = false;
            return Ok(());
        }
        self.mark_triggered();
        let text = text.unwrap_or_else(|| format!("Triggered again {}", self.acting.by()));
        self.line(TimelineKind::Unacknowledged, text);
        self.push(Effect::StopPaging);
        self.push(Effect::ClearTimers(TimerKinds::ALL));
        self.page_again()
    }

    /// Paging again after being triggered again: the escalation's policy from its first
    /// level; or, if the incident was handed to people, those people; or, if it never
    /// escalated, the service's policy.
    fn page_again(&mut self) -> Result<(), Refused> {
        let policy = match self.ctx.escalation {
            Some(EscalationState {
                policy: Some(p), ..
            }) => Some(*p),
            Some(EscalationState { policy: None, .. }) => {
                let assignees = self.ctx.assignees.to_vec();
                return self.page_people(&assignees, false);
            }
            None => self.settings().policy,
        };
        if let Some(policy) = policy {
            self.push(Effect::Escalation(EscalationState::start(policy, self.now)));
        }
        Ok(())
    }

    /// Plans every notification rule of `users`, from now.
    fn page_people(&mut self, users: &[UserId], responder: bool) -> Result<(), Refused> {
        for user in users {
            let person = self.ctx.person(*user)?;
            // A responder added by hand is paged even when the incident is acknowledged, so
            // their rules fire once each: a repeat would ring on past the acknowledgement.
            let rules: Vec<NotificationRule> = person
                .rules
                .iter()
                .map(|r| NotificationRule {
                    repeat: r.repeat.filter(|_| !responder),
                    ..r.clone()
                })
                .collect();
            for (rule, due_at) in plan_notifications(&rules, self.next.urgency, self.now) {
                if let Some(r) = person.rules.iter().find(|r| r.id == rule) {
                    self.push(Effect::PlanNotification(PlannedNotification {
                        user: *user,
                        rule,
                        contact_method: r.contact_method,
                        due_at,
                        responder,
                    }));
                }
            }
        }
        Ok(())
    }

    /// The status a reshaping command leaves, with its line and timers: "Triggered again"
    /// when it un-acknowledges; the acknowledgement timeout and snooze go whenever the
    /// status changes.
    fn reshape_status(&mut self, status: IncidentStatus) {
        match (self.before.status, status) {
            (IncidentStatus::Acknowledged, IncidentStatus::Triggered) => {
                self.mark_triggered();
                let text = format!("Triggered again {}", self.acting.by());
                self.line(TimelineKind::Unacknowledged, text);
            }
            (IncidentStatus::Triggered, IncidentStatus::Acknowledged) => self.mark_acknowledged(),
            _ => {}
        }
        if status != self.before.status {
            self.push(Effect::ClearTimers(TimerKinds::ALL_BUT_AUTO_RESOLVE));
        }
    }

    fn escalate(&mut self, level: Option<u32>) -> Result<(), Refused> {
        let standing = self.ctx.escalation;
        let policy_id = standing
            .and_then(|s| s.policy)
            .or(self.settings().policy)
            .ok_or_else(|| Refused::NoPolicy(self.before.label()))?;
        let policy = self.ctx.policy(policy_id)?;
        let levels = policy.levels;
        let (round, hand_overs, current) = match standing {
            Some(s) if s.policy == Some(policy_id) => (s.round, s.hand_overs, s.level),
            _ => (0, 0, None),
        };
        let target = match (level, current) {
            (Some(l), _) => l,
            (None, Some(c)) => c + 1,
            (None, None) => 1.min(levels.saturating_sub(1)),
        };
        if target >= levels {
            return Err(match level {
                Some(l) => Refused::NoSuchLevel {
                    policy: policy.name.clone(),
                    levels,
                    asked: l + 1,
                },
                None => Refused::AtLastLevel {
                    incident: self.before.label(),
                    policy: policy.name.clone(),
                },
            });
        }
        self.reshape_status(IncidentStatus::Triggered);
        self.push(Effect::StopPaging);
        // The escalation stands just before `target`, due now: the engine pages it.
        let before = target.checked_sub(1);
        self.push(Effect::Escalation(EscalationState {
            policy: Some(policy_id),
            level: before,
            round: if before.is_none() { 0 } else { round },
            hand_overs,
            next_at: Some(self.now),
        }));
        let text = format!(
            "Escalated to level {} of {} {}",
            target + 1,
            policy.name,
            self.acting.by()
        );
        self.line(TimelineKind::Escalated, text);
        Ok(())
    }

    fn reassign(&mut self, to: &Assignee) -> Result<(), Refused> {
        match to {
            Assignee::User(user) => {
                let name = self.ctx.person(*user)?.name.clone();
                self.reshape_status(IncidentStatus::Triggered);
                self.push(Effect::StopPaging);
                self.push(Effect::Escalation(EscalationState::handed_to_people()));
                self.push(Effect::UnassignAll);
                self.push(Effect::Assign(*user));
                self.page_people(&[*user], false)?;
                let text = format!("Reassigned to {name} {}", self.acting.by());
                self.line(TimelineKind::Assigned, text);
            }
            Assignee::Policy(policy) => {
                let name = self.ctx.policy(*policy)?.name.clone();
                self.reshape_status(IncidentStatus::Triggered);
                self.push(Effect::StopPaging);
                self.push(Effect::UnassignAll);
                self.push(Effect::Escalation(EscalationState::start(
                    *policy, self.now,
                )));
                let text = format!(
                    "Reassigned to escalation policy {name} {}",
                    self.acting.by()
                );
                self.line(TimelineKind::Assigned, text);
            }
        }
        Ok(())
    }

    fn add_responders(&mut self, users: &[UserId]) -> Result<(), Refused> {
        let mut names = Vec::with_capacity(users.len());
        for user in users {
            names.push(self.ctx.person(*user)?.name.clone());
            if !self.ctx.assignees.contains(user) {
                self.push(Effect::Assign(*user));
            }
        }
        self.page_people(users, true)?;
        let text = format!(
            "{} added {} as responders{}",
            self.acting.name(),
            names.join(", "),
            self.acting.via_suffix()
        );
        self.line(TimelineKind::Assigned, text);
        Ok(())
    }

    fn snooze(&mut self, until: Timestamp) -> Result<(), Refused> {
        if until <= self.now {
            return Err(Refused::SnoozeInThePast);
        }
        if until > self.now.saturating_add(MAX_SNOOZE) {
            return Err(Refused::SnoozeTooLong);
        }
        let was_triggered = self.before.status == IncidentStatus::Triggered;
        self.reshape_status(IncidentStatus::Acknowledged);
        self.push(Effect::StopPaging);
        self.push(Effect::ClearTimers(TimerKinds::only(TimerKind::AckTimeout)));
        self.push(Effect::SetTimer {
            kind: TimerKind::Snooze,
            due: until,
        });
        if was_triggered {
            let text = format!("Acknowledged {}", self.acting.by());
            self.line(TimelineKind::Acknowledged, text);
        }
        let text = format!("Snoozed until {} {}", until.to_rfc3339(), self.acting.by());
        self.line(TimelineKind::Snoozed, text);
        Ok(())
    }

    fn timer(&mut self, kind: TimerKind) -> Result<(), Refused> {
        match kind {
            TimerKind::AckTimeout => self.unacknowledge(Some(
                "The acknowledgement timed out; triggered again".to_owned(),
            )),
            TimerKind::Snooze => {
                self.unacknowledge(Some("The snooze ended; triggered again".to_owned()))
            }
            TimerKind::AutoResolve => {
                self.resolve(Some(
                    "Resolved automatically: no new event within the service's auto-resolve time"
                        .to_owned(),
                ));
                Ok(())
            }
        }
    }

    fn count_alert(&mut self, trigger: &Trigger) {
        self.next.alert_count += 1;
        self.next.last_event_at = self.now;
        self.next.last_event_summary = trigger.summary.clone();
    }

    fn fold(&mut self, trigger: &Trigger) {
        self.count_alert(trigger);
        // A grouped alert that had resolved fires again.
        if !self.next.alerts.0.is_empty() {
            self.next.alerts.fire(trigger.key.as_str());
        }
        let text = format!(
            "Trigger event from {} (alert {})",
            self.acting.name(),
            self.next.alert_count
        );
        self.line(TimelineKind::Alert, text);
    }

    fn join(&mut self, trigger: &Trigger) {
        self.count_alert(trigger);
        if self.next.alerts.0.is_empty() {
            self.next.alerts = GroupedAlerts::start(self.before.dedup_key.as_str());
        }
        self.next.alerts.fire(trigger.key.as_str());
        let window = self.settings().group_window_minutes.unwrap_or_default();
        let text = format!(
            "Alert {} from {} joined this incident: it arrived within {window} min of it opening (alert {})",
            trigger.key,
            self.acting.name(),
            self.next.alert_count
        );
        self.push(Effect::GroupKey {
            service: self.before.service_id,
            key: trigger.key.clone(),
        });
        self.line(TimelineKind::Alert, text);
    }

    fn give_up_key(&mut self, successor: IncidentId) {
        self.next.holds_key = false;
        let line = Line {
            text: Text::SupersededBy(successor),
            ..self
                .acting
                .line(self.now, TimelineKind::Superseded, String::new())
        };
        self.push(Effect::Line(line));
    }

    /// A flapping incident opens again: acknowledged if it was when it resolved (its
    /// acknowledgement timeout starts again), otherwise triggered, its policy paging
    /// again from the first level only after the flap window, so that nobody is paged per
    /// flap.
    fn reopen(&mut self, trigger: &Trigger) -> Result<(), Refused> {
        let resolved_at = match &self.before.resolved {
            Some(stamp) if self.before.status == IncidentStatus::Resolved => stamp.at,
            _ => return Err(Refused::NotApplicable(self.before.label())),
        };
        if self.before.resolved_by_a_person() {
            return Err(Refused::NotApplicable(self.before.label()));
        }
        let window = self.settings().flap_window_minutes.unwrap_or_default();
        self.next.status = if self.before.acknowledged.is_some() {
            IncidentStatus::Acknowledged
        } else {
            IncidentStatus::Triggered
        };
        self.next.holds_key = true;
        self.next.resolved = None;
        self.count_alert(trigger);
        if !self.next.alerts.0.is_empty() {
            // The others ended with the incident; this one fires again.
            for a in &mut self.next.alerts.0 {
                a.resolved_at.get_or_insert(resolved_at.as_millis());
            }
            self.next.alerts.fire(trigger.key.as_str());
        }
        let after = duration_words(self.now.since(resolved_at));
        let then = if self.next.status == IncidentStatus::Acknowledged {
            self.set_ack_timeout();
            "it stays acknowledged".to_owned()
        } else {
            if let Some(policy) = self.settings().policy {
                let at = self.now.saturating_add(minutes(window));
                self.push(Effect::Escalation(EscalationState::start(policy, at)));
            }
            format!(
                "nobody is paged now; if it is still unacknowledged in {window} min, its escalation policy pages again from the first level"
            )
        };
        let text = format!(
            "Re-opened: a trigger from {} arrived {after} after it resolved (flapping); {then}",
            self.acting.name()
        );
        self.line(TimelineKind::Reopened, text);
        Ok(())
    }

    /// An event that leaves the incident open pushes its auto-resolution back.
    fn paging_follows_events(&mut self, command: &Command) {
        let from_event = matches!(
            command,
            Command::Fold(_)
                | Command::Join(_)
                | Command::Reopen(_)
                | Command::GiveUpKey { .. }
                | Command::AcknowledgeEvent
                | Command::ResolveEvent { .. }
        );
        if from_event
            && self.next.status.is_open()
            && let Some(m) = self.settings().auto_resolve_minutes
        {
            let due = self.next.last_event_at.saturating_add(minutes(m));
            self.push(Effect::SetTimer {
                kind: TimerKind::AutoResolve,
                due,
            });
        }
    }
}
