//! An ingest batch decided: the events the group-commit writer took, applied in order to
//! the incidents they reach.
//!
//! The store loads the integrations of the batch's routing keys, the open incidents with
//! its dedup keys (and, for services with noise control, their recent open incidents and
//! those resolved within the flap window), and which services are in maintenance. For
//! each event [`Batch::apply`] runs the dedup rule ([`crate::incident::decide`]) and noise
//! control ([`crate::noise`]) to pick the incident, and the lifecycle
//! ([`crate::lifecycle::decide`]) to change it. The store then numbers the incidents the
//! batch opened and writes what [`Batch::finish`] returns.

use std::collections::HashMap;

use crate::event::{AlertEvent, ChangeEvent};
use crate::ids::{
    DedupKey, EventId, IncidentId, IncidentNumber, IntegrationId, RoutingKey, ServiceId,
};
use crate::incident::{Actor, Decision, DedupMode, IncidentStatus, OpenIncident, decide};
use crate::lifecycle::{self, Acting, Command, Context, IncidentState, Refused, Settings, Trigger};
use crate::noise::{joins_group, reopens};
use crate::paging::Effects;
use crate::time::Timestamp;

/// One event as accepted at the edge, waiting to be applied.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: EventId,
    pub received_at: Timestamp,
    pub event: Inbound,
    /// What the parser adjusted to accept the event (kept on the timeline).
    pub warnings: Vec<String>,
    /// Who hands it in: a sender from outside, or onduty itself.
    pub from: HandedIn,
}

impl Received {
    /// The dedup key the event acts on: the sender's, or for a trigger without one, a key
    /// made from its event id. None for a change event.
    pub fn dedup_key(&self) -> Option<DedupKey> {
        match &self.event {
            Inbound::Alert(e) => Some(event_key(self.id, e)),
            Inbound::Change(_) => None,
        }
    }
}

fn event_key(id: EventId, event: &AlertEvent) -> DedupKey {
    event
        .dedup_key()
        .cloned()
        .unwrap_or_else(|| DedupKey::of_event(id))
}

/// Who hands an event in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandedIn {
    /// A monitoring tool or script, through one of the ingest endpoints.
    BySender,
    /// onduty itself: a heartbeat's pings and lateness, notes of refused events.
    ByOnduty,
}

#[derive(Debug, Clone)]
pub enum Inbound {
    Alert(AlertEvent),
    Change(ChangeEvent),
}

impl Inbound {
    pub fn routing_key(&self) -> Option<&RoutingKey> {
        match self {
            Inbound::Alert(e) => e.routing_key.as_ref(),
            Inbound::Change(e) => e.routing_key.as_ref(),
        }
    }

    pub fn is_trigger(&self) -> bool {
        matches!(self, Inbound::Alert(e) if e.is_trigger())
    }

    /// The event's kind as stored: `trigger`, `acknowledge`, `resolve` or `change`.
    pub fn kind(&self) -> &'static str {
        match self {
            Inbound::Alert(e) => e.action().as_str(),
            Inbound::Change(_) => "change",
        }
    }
}

/// An incident an event touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Touched {
    pub id: IncidentId,
    pub number: IncidentNumber,
}

/// What an accepted event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Opened(Touched),
    Appended(Touched),
    Acknowledged(Touched),
    AlreadyAcknowledged(Touched),
    Resolved(Vec<Touched>),
    /// A trigger within the service's flap window after its key's incident resolved: that
    /// incident is open again (and pages nobody at once).
    Reopened(Touched),
    /// A trigger with a new key within the service's grouping window: it joined the
    /// newest open incident as an alert.
    Grouped(Touched),
    /// A resolve for one alert of a grouped incident whose other alerts still fire.
    AlertResolved(Touched),
    /// Acknowledge or resolve with no open incident for the key: dropped, as PagerDuty does.
    Ignored,
    /// A trigger while its service is in maintenance: recorded, no incident, nobody paged.
    Maintenance,
    ChangeRecorded,
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Opened(_) => "opened",
            Outcome::Appended(_) => "appended",
            Outcome::Acknowledged(_) => "acknowledged",
            Outcome::AlreadyAcknowledged(_) => "already_acknowledged",
            Outcome::Resolved(_) => "resolved",
            Outcome::Reopened(_) => "reopened",
            Outcome::Grouped(_) => "grouped",
            Outcome::AlertResolved(_) => "alert_resolved",
            Outcome::Ignored => "ignored",
            Outcome::Maintenance => "maintenance",
            Outcome::ChangeRecorded => "recorded",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub event_id: EventId,
    pub dedup_key: Option<DedupKey>,
    pub outcome: Outcome,
}

/// Why an event was not applied (nothing was stored for it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("no integration has this routing key")]
    UnknownRoutingKey,
    /// A heartbeat's key takes pings (`/ping/<key>`, mail), not events from senders.
    #[error("this key belongs to a heartbeat: ping it at /ping/<key> instead of sending events")]
    HeartbeatKey,
    /// The lifecycle refused what the dedup rule routed to an incident. The rule only
    /// routes what the lifecycle takes; the property tests hold it to that.
    #[error("{0}")]
    Refused(Refused),
}

impl Rejected {
    /// A short word for why, for counting.
    pub fn as_str(&self) -> &'static str {
        match self {
            Rejected::UnknownRoutingKey => "unknown_key",
            Rejected::HeartbeatKey => "heartbeat_key",
            Rejected::Refused(_) => "refused",
        }
    }
}

pub type ItemResult = Result<Accepted, Rejected>;

/// What the batch knows about an integration.
#[derive(Debug, Clone)]
pub struct Source {
    pub id: IntegrationId,
    pub name: String,
    pub service_id: ServiceId,
    pub settings: Settings,
    /// A heartbeat's integration: only onduty's own events are taken for it.
    pub heartbeat: bool,
}

impl Source {
    pub fn actor(&self) -> Actor {
        Actor::Integration {
            id: self.id,
            name: self.name.clone(),
        }
    }
}

/// When services are in maintenance: spans `[start, end)` per service.
pub type Quiet = HashMap<ServiceId, Vec<(Timestamp, Timestamp)>>;

/// The trigger that opened an incident, kept as its details.
#[derive(Debug, Clone)]
pub struct Opening {
    pub event: AlertEvent,
}

/// An incident the batch works with: loaded, or opened by it.
#[derive(Debug, Clone)]
pub struct Tracked {
    pub state: IncidentState,
    /// Only for incidents this batch opens: the opening trigger.
    pub opening: Option<Opening>,
    /// Changed by this batch (must be written).
    pub dirty: bool,
    /// Changed beyond counting alerts: status, key, acknowledgement, resolution or
    /// grouped alerts.
    pub state_changed: bool,
}

/// What one event did, in terms of the batch's incidents (indexes into them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Opened(usize),
    Appended(usize),
    Acknowledged(usize),
    AlreadyAcknowledged(usize),
    /// A resolve: these incidents resolved; these others still have grouped alerts firing.
    Resolved {
        resolved: Vec<usize>,
        still_firing: Vec<usize>,
    },
    Reopened(usize),
    Grouped(usize),
    Ignored,
    Maintenance,
    ChangeRecorded,
}

impl Plan {
    /// Whether the event reached an incident (and is kept in its timeline); the others
    /// are kept in the events table.
    pub fn touches_an_incident(&self) -> bool {
        !matches!(
            self,
            Plan::Ignored | Plan::Maintenance | Plan::ChangeRecorded
        )
    }
}

/// The batch under way.
pub struct Batch<'a> {
    sources: &'a HashMap<RoutingKey, Source>,
    quiet: &'a Quiet,
    incidents: Vec<Tracked>,
    /// By service and key: the incidents with that dedup key, and those grouping it.
    by_key: HashMap<(ServiceId, DedupKey), Vec<usize>>,
    effects: Effects,
}

impl<'a> Batch<'a> {
    /// A batch over `loaded` incidents (those of services the batch does not reach are
    /// left out), with the integrations of its routing keys and the maintenance spans.
    pub fn new(
        sources: &'a HashMap<RoutingKey, Source>,
        loaded: Vec<IncidentState>,
        quiet: &'a Quiet,
    ) -> Batch<'a> {
        let services: std::collections::HashSet<ServiceId> =
            sources.values().map(|s| s.service_id).collect();
        let mut batch = Batch {
            sources,
            quiet,
            incidents: Vec::with_capacity(loaded.len()),
            by_key: HashMap::with_capacity(loaded.len()),
            effects: Effects::new(),
        };
        for state in loaded
            .into_iter()
            .filter(|s| services.contains(&s.service_id))
        {
            batch.track(Tracked {
                state,
                opening: None,
                dirty: false,
                state_changed: false,
            });
        }
        // Oldest first, so a superseded incident precedes the one that took its key.
        let incidents = &batch.incidents;
        for list in batch.by_key.values_mut() {
            list.sort_by_key(|&w| incidents[w].state.id);
        }
        batch
    }

    fn track(&mut self, t: Tracked) -> usize {
        let idx = self.incidents.len();
        let service = t.state.service_id;
        self.by_key
            .entry((service, t.state.dedup_key.clone()))
            .or_default()
            .push(idx);
        for alert in &t.state.alerts.0 {
            if alert.key != t.state.dedup_key.as_str()
                && let Ok(key) = DedupKey::parse(&alert.key)
            {
                self.by_key.entry((service, key)).or_default().push(idx);
            }
        }
        self.incidents.push(t);
        idx
    }

    /// The integration an event belongs to, or why it is refused.
    pub fn source(&self, item: &Received) -> Result<&'a Source, Rejected> {
        let source = item
            .event
            .routing_key()
            .and_then(|k| self.sources.get(k))
            .ok_or(Rejected::UnknownRoutingKey)?;
        if source.heartbeat && item.from == HandedIn::BySender {
            return Err(Rejected::HeartbeatKey);
        }
        Ok(source)
    }

    fn in_maintenance(&self, service: ServiceId, at: Timestamp) -> bool {
        self.quiet
            .get(&service)
            .is_some_and(|spans| spans.iter().any(|(s, e)| *s <= at && at < *e))
    }

    /// Applies one event: the dedup rule and noise control pick the incident, the
    /// lifecycle changes it.
    pub fn apply(&mut self, item: &Received) -> Result<Plan, Rejected> {
        let source = self.source(item)?;
        let Inbound::Alert(event) = &item.event else {
            return Ok(Plan::ChangeRecorded);
        };
        let at = item.received_at;
        if event.is_trigger() && self.in_maintenance(source.service_id, at) {
            return Ok(Plan::Maintenance);
        }
        let key = event_key(item.id, event);
        let candidates: Vec<usize> = self
            .by_key
            .get(&(source.service_id, key.clone()))
            .map(|list| {
                list.iter()
                    .copied()
                    .filter(|&w| self.incidents[w].state.status.is_open())
                    .collect()
            })
            .unwrap_or_default();
        let open: Vec<OpenIncident> = candidates
            .iter()
            .map(|&w| {
                let s = &self.incidents[w].state;
                OpenIncident {
                    id: s.id,
                    status: s.status,
                    holds_key: s.holds_key,
                }
            })
            .collect();
        // A key that joined another incident follows the `open` dedup mode there: its
        // triggers fold in, whoever acknowledged the incident.
        let grouped = candidates
            .iter()
            .any(|&w| self.incidents[w].state.dedup_key != key);
        let mode = if grouped {
            DedupMode::Open
        } else {
            source.settings.dedup_mode
        };
        let decision = decide(mode, event.action(), &open);
        let acting = Acting::event(source.actor(), item.id, item.warnings.clone());
        let trigger = || Trigger {
            key: key.clone(),
            summary: event.alert().map(|a| a.summary.clone()).unwrap_or_default(),
        };
        if decision == (Decision::Open { supersedes: None }) {
            if let Some(w) = self.flapping(source, &key, at) {
                self.command(w, &Command::Reopen(trigger()), &acting, source, at)?;
                return Ok(Plan::Reopened(w));
            }
            if let Some(w) = self.group_target(source, at) {
                self.command(w, &Command::Join(trigger()), &acting, source, at)?;
                let listed = self.by_key.entry((source.service_id, key)).or_default();
                if !listed.contains(&w) {
                    listed.push(w);
                }
                return Ok(Plan::Grouped(w));
            }
        }
        Ok(match decision {
            Decision::Open { supersedes } => {
                let alert = event.alert();
                let summary = alert.map(|a| a.summary.as_str()).unwrap_or_default();
                let urgency = source.settings.urgency_of(
                    alert
                        .map(|a| a.severity)
                        .unwrap_or(crate::event::Severity::Error),
                );
                let state = IncidentState::opened(
                    IncidentId::new(at),
                    source.service_id,
                    key,
                    urgency,
                    summary,
                    at,
                );
                let new_id = state.id;
                self.effects
                    .append(lifecycle::open(&state, &acting, &source.settings));
                let new = self.track(Tracked {
                    state,
                    opening: Some(Opening {
                        event: event.clone(),
                    }),
                    dirty: true,
                    state_changed: true,
                });
                if let Some(old) = supersedes {
                    let old = self.find(&candidates, old)?;
                    let give_up = Command::GiveUpKey { successor: new_id };
                    self.command(old, &give_up, &acting, source, at)?;
                }
                Plan::Opened(new)
            }
            Decision::Append(id) => {
                let w = self.find(&candidates, id)?;
                self.command(w, &Command::Fold(trigger()), &acting, source, at)?;
                Plan::Appended(w)
            }
            Decision::Acknowledge(id) => {
                let w = self.find(&candidates, id)?;
                self.command(w, &Command::AcknowledgeEvent, &acting, source, at)?;
                Plan::Acknowledged(w)
            }
            Decision::AlreadyAcknowledged(id) => {
                let w = self.find(&candidates, id)?;
                self.command(w, &Command::AcknowledgeEvent, &acting, source, at)?;
                Plan::AlreadyAcknowledged(w)
            }
            Decision::Resolve(ids) => {
                let (mut resolved, mut still_firing) = (Vec::new(), Vec::new());
                for id in ids {
                    let w = self.find(&candidates, id)?;
                    let resolve = Command::ResolveEvent { key: key.clone() };
                    self.command(w, &resolve, &acting, source, at)?;
                    if self.incidents[w].state.status == IncidentStatus::Resolved {
                        resolved.push(w);
                    } else {
                        still_firing.push(w);
                    }
                }
                Plan::Resolved {
                    resolved,
                    still_firing,
                }
            }
            Decision::Ignore => Plan::Ignored,
        })
    }

    /// Which of the candidates the dedup rule chose.
    fn find(&self, candidates: &[usize], id: IncidentId) -> Result<usize, Rejected> {
        candidates
            .iter()
            .copied()
            .find(|&w| self.incidents[w].state.id == id)
            .ok_or(Rejected::Refused(Refused::Unknown("incident")))
    }

    /// Runs the lifecycle for one incident and keeps what it decided.
    fn command(
        &mut self,
        w: usize,
        command: &Command,
        acting: &Acting,
        source: &Source,
        at: Timestamp,
    ) -> Result<(), Rejected> {
        let ctx = Context::of_settings(&source.settings);
        let tracked = &mut self.incidents[w];
        let decided = lifecycle::decide(&tracked.state, command, acting, &ctx, at)
            .map_err(Rejected::Refused)?;
        if decided.changed {
            let (before, after) = (&tracked.state, &decided.incident);
            tracked.state_changed |= before.status != after.status
                || before.holds_key != after.holds_key
                || before.acknowledged != after.acknowledged
                || before.resolved != after.resolved
                || before.alerts != after.alerts;
            tracked.dirty = true;
            tracked.state = decided.incident;
            self.effects.append(decided.effects);
        }
        Ok(())
    }

    /// The incident with `key` that resolved within the service's flap window (the
    /// latest), which a trigger re-opens. A person's resolve is final.
    fn flapping(&self, source: &Source, key: &DedupKey, now: Timestamp) -> Option<usize> {
        let minutes = source.settings.flap_window_minutes?;
        self.by_key
            .get(&(source.service_id, key.clone()))?
            .iter()
            .copied()
            .filter(|&w| {
                let s = &self.incidents[w].state;
                s.dedup_key == *key
                    && s.status == IncidentStatus::Resolved
                    && !s.resolved_by_a_person()
                    && s.resolved
                        .as_ref()
                        .is_some_and(|r| reopens(minutes, r.at, now))
            })
            .max_by_key(|&w| self.incidents[w].state.resolved.as_ref().map(|r| r.at))
    }

    /// The service's newest open incident, if it opened within the grouping window.
    fn group_target(&self, source: &Source, now: Timestamp) -> Option<usize> {
        let minutes = source.settings.group_window_minutes?;
        (0..self.incidents.len())
            .filter(|&w| {
                let s = &self.incidents[w].state;
                s.service_id == source.service_id && s.status.is_open()
            })
            .max_by_key(|&w| self.incidents[w].state.created_at)
            .filter(|&w| joins_group(minutes, self.incidents[w].state.created_at, now))
    }

    /// The incidents this batch opened, in the order it opened them: number them with
    /// [`Batch::number_from`].
    pub fn opened(&self) -> usize {
        self.incidents
            .iter()
            .filter(|t| t.state.number.is_none())
            .count()
    }

    /// Numbers the incidents this batch opened, in order, from `first`.
    pub fn number_from(&mut self, first: i64) {
        let new = self
            .incidents
            .iter_mut()
            .filter(|t| t.state.number.is_none());
        for (n, t) in (first..).zip(new) {
            t.state.number = Some(IncidentNumber(n));
        }
    }

    fn touched(&self, w: usize) -> Touched {
        let s = &self.incidents[w].state;
        Touched {
            id: s.id,
            number: s.number.unwrap_or(IncidentNumber(0)),
        }
    }

    /// What an event did, once the batch is numbered.
    pub fn outcome(&self, plan: &Plan) -> Outcome {
        match plan {
            Plan::Opened(w) => Outcome::Opened(self.touched(*w)),
            Plan::Appended(w) => Outcome::Appended(self.touched(*w)),
            Plan::Acknowledged(w) => Outcome::Acknowledged(self.touched(*w)),
            Plan::AlreadyAcknowledged(w) => Outcome::AlreadyAcknowledged(self.touched(*w)),
            Plan::Resolved {
                resolved,
                still_firing,
            } => match (resolved.is_empty(), still_firing.first()) {
                (true, Some(w)) => Outcome::AlertResolved(self.touched(*w)),
                _ => Outcome::Resolved(resolved.iter().map(|w| self.touched(*w)).collect()),
            },
            Plan::Reopened(w) => Outcome::Reopened(self.touched(*w)),
            Plan::Grouped(w) => Outcome::Grouped(self.touched(*w)),
            Plan::Ignored => Outcome::Ignored,
            Plan::Maintenance => Outcome::Maintenance,
            Plan::ChangeRecorded => Outcome::ChangeRecorded,
        }
    }

    /// The batch's incidents (the store writes the dirty ones) and effects.
    pub fn finish(self) -> (Vec<Tracked>, Effects) {
        (self.incidents, self.effects)
    }

    /// The incidents as they stand (for reading between events, in tests).
    pub fn incidents(&self) -> &[Tracked] {
        &self.incidents
    }

    /// The effects decided so far.
    pub fn effects(&self) -> &Effects {
        &self.effects
    }
}
