//! onduty's paging engine. [`Engine::tick`] does everything due at `now` — timers,
//! escalations, people's notification rules, sending the outbox — and returns the next
//! deadline. [`Engine::run`] is the trivial loop around it: hold the lease, tick, sleep
//! until the next deadline or until woken.
//!
//! Decisions come from the core (`escalation::enter`/`next`, `contact::plan_notifications`);
//! state lives in the store, one transaction per stage of a tick (all the escalations due,
//! all the notifications due, all the deliveries of a round of sends), so a crash at any
//! moment resumes where it stopped. Messages are sent at least once: a crash between sending and
//! recording sends again, with the same idempotency key.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use onduty_core::IncidentRef;
use onduty_core::contact::{Channel, ContactMethod, NotificationRule, plan_notifications};
use onduty_core::escalation::{self, Policy, Position, Reached, Target};
use onduty_core::heartbeat;
use onduty_core::incident::{IncidentStatus, TimelineKind};
use onduty_core::schedule::{Window, final_schedule, on_call_at};
use onduty_core::signature::{LINK_KEY, LinkAction, LinkGrant, link_token};
use onduty_core::{Clock, ContactMethodId, EventId, PolicyId, ScheduleId, Timestamp, UserId};
use onduty_notify::{Content, Link, NotifyError, Outgoing, PageItem, Providers};
use onduty_store::ingest::{Inbound, Outcome, Received, Via};
use onduty_store::paging::{
    Delivery, DueEscalation, EscalationStep, OutboxItem, PlannedNotification, Release, SendNow,
    SentGroup,
};
use onduty_store::schedules::{HandoffKind, HandoffNotice};
use onduty_store::{Store, StoreError};
use tokio::sync::Notify;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Links in messages point here.
    pub public_url: String,
    /// Who this instance is, in the lease.
    pub holder: String,
    /// How long the lease lasts unless renewed; renewed every third of it.
    pub lease: Duration,
}

/// Attempts at a message before it is given up.
pub const MAX_ATTEMPTS: i64 = 5;
/// No more than one SMS or call to a number per minute; what comes meanwhile is bundled.
pub const PER_NUMBER_GAP: Duration = Duration::from_secs(60);
/// Most rows one step of a tick handles before looking again.
const BATCH: u32 = 500;
/// Messages sent at the same time (each to a different contact method).
const SENDS_AT_ONCE: usize = 16;

/// The stages of a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Heartbeats,
    Timers,
    Escalations,
    Notifications,
    Outbox,
    Handoffs,
    Reminders,
}

/// Which stages failed in this tick, and the first failure.
#[derive(Default)]
struct Stages {
    failed: Vec<Stage>,
    failure: Option<EngineError>,
}

impl Stages {
    fn runs(&self, stage: Stage) -> bool {
        !self.failed.contains(&stage)
    }

    /// What a stage did: how much, or nothing if it failed (logged and remembered).
    fn count(&mut self, stage: Stage, result: Result<usize, EngineError>) -> usize {
        match result {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(?stage, error = %e, "an engine stage failed; the others go on");
                self.failed.push(stage);
                self.failure.get_or_insert(e);
                0
            }
        }
    }
}

/// Wakes the engine early: a new incident or an action may have made something due now.
/// The HTTP side holds the same `Notify` and calls `notify_one` after such writes.
pub type Wake = Arc<Notify>;

pub struct Engine {
    store: Store,
    providers: Providers,
    config: EngineConfig,
    wake: Wake,
    link_key: tokio::sync::OnceCell<Arc<Vec<u8>>>,
    /// When to look for handoff notifications to send next (`None`: at the next tick).
    handoff_scan: std::sync::Mutex<Option<Timestamp>>,
}

impl Engine {
    pub fn new(store: Store, providers: Providers, config: EngineConfig, wake: Wake) -> Engine {
        Engine {
            store,
            providers,
            config,
            wake,
            link_key: tokio::sync::OnceCell::new(),
            handoff_scan: std::sync::Mutex::new(None),
        }
    }

    /// Does everything due at `now` and returns when something is next due.
    pub async fn tick(&self, now: Timestamp) -> Result<Option<Timestamp>, EngineError> {
        // A stage that fails (a database error, a row it cannot read) is logged and
        // skipped for the rest of this tick; the others still run, so that, say, a
        // heartbeat problem never holds up pages. The first failure is returned at the
        // end, and the loop around tries again shortly.
        let mut stages = Stages::default();
        // Each stage can make work for the next one due at once (a timer triggers an
        // incident again, a level pages people whose first rule is immediate, …).
        for _ in 0..8 {
            let mut done = 0;
            if stages.runs(Stage::Heartbeats) {
                done += stages.count(Stage::Heartbeats, self.late_heartbeats(now).await);
            }
            if stages.runs(Stage::Timers) {
                done += stages.count(Stage::Timers, self.fire_timers(now).await);
            }
            if stages.runs(Stage::Escalations) {
                done += stages.count(Stage::Escalations, self.escalate(now).await);
            }
            if stages.runs(Stage::Notifications) {
                done += stages.count(Stage::Notifications, self.release_notifications(now).await);
            }
            if stages.runs(Stage::Outbox) {
                done += stages.count(Stage::Outbox, self.dispatch(now).await);
            }
            if done == 0 {
                break;
            }
        }
        let handoffs = match self.handoffs(now).await {
            Ok(next) => next,
            Err(e) => {
                stages.count(Stage::Handoffs, Err(e));
                None
            }
        };
        let reminded = stages.count(Stage::Reminders, self.maintenance_reminders(now).await);
        if reminded > 0 && stages.runs(Stage::Outbox) {
            stages.count(Stage::Outbox, self.dispatch(now).await);
        }
        if let Some(e) = stages.failure {
            return Err(e);
        }
        let next = [
            self.store.next_paging_deadline().await?,
            handoffs,
            self.store.next_heartbeat_deadline().await?,
            self.store.next_maintenance_deadline().await?,
        ];
        Ok(next.into_iter().flatten().min())
    }

    /// Reminds the creator of each maintenance window ending soon, through the contact
    /// methods of their immediate rules: the window will end by itself, and paging with it.
    async fn maintenance_reminders(&self, now: Timestamp) -> Result<usize, EngineError> {
        let due = self.store.due_maintenance_reminders(now).await?;
        let mut known = Known::default();
        for w in &due {
            let Some(user) = w.created_by else {
                continue;
            };
            let zone = match self.store.user(user).await {
                Ok(u) => {
                    jiff::tz::TimeZone::get(u.time_zone.as_str()).unwrap_or(jiff::tz::TimeZone::UTC)
                }
                Err(_) => jiff::tz::TimeZone::UTC,
            };
            let mut names = Vec::new();
            for s in &w.services {
                if let Ok(service) = self.store.service(*s).await {
                    names.push(service.name.to_string());
                }
            }
            let text = format!(
                "Maintenance of {} ends {} ({}); paging resumes then. Extend it in onduty if the work is not done.",
                names.join(", "),
                wall_clock(w.end, &zone),
                w.reason
            );
            let methods = immediate_methods(self.person(user, &mut known).await?);
            self.store
                .queue_maintenance_reminder(w.id, user, &methods, &text, now)
                .await?;
        }
        Ok(due.len())
    }

    /// Opens an incident for every heartbeat overdue at `now` ("nightly-backup has not
    /// reported for 1 h 10 min"), through its own integration like any event, and marks
    /// it late so it is reported once.
    async fn late_heartbeats(&self, now: Timestamp) -> Result<usize, EngineError> {
        let overdue = self.store.overdue_heartbeats(now).await?;
        for h in &overdue {
            let summary = heartbeat::late_summary(&h.name, h.last_success_at, h.created_at, now);
            let details = serde_json::json!({
                "heartbeat": h.name,
                "last ping": h.last_ping_at.map(|t| t.to_rfc3339()),
                "last ping was": h.last_ping,
                "expected": h.expect,
            });
            let event = heartbeat::trigger_event(h.routing_key.as_str(), &summary, details);
            let received = Received {
                id: EventId::new(now),
                received_at: now,
                event: Inbound::Alert(event),
                warnings: Vec::new(),
                via: Via::Onduty,
            };
            let results = self.store.ingest_batch(&[received]).await?;
            let Some(due) = h.due_at else { continue };
            if matches!(results.first(), Some(Ok(a)) if matches!(a.outcome, Outcome::Maintenance)) {
                // Its service is in maintenance: nothing opened; look again after a while,
                // so a job still silent when maintenance ends is reported then.
                let again = now.saturating_add(HEARTBEAT_RECHECK);
                self.store.postpone_heartbeat(h.id, due, again).await?;
                continue;
            }
            if !self.store.mark_heartbeat_late(h.id, due).await? {
                // It pinged while this was being reported: take the report back.
                let resolve = Received {
                    id: EventId::new(now),
                    received_at: now,
                    event: Inbound::Alert(heartbeat::resolve_event(h.routing_key.as_str())),
                    warnings: Vec::new(),
                    via: Via::Onduty,
                };
                self.store.ingest_batch(&[resolve]).await?;
            }
        }
        Ok(overdue.len())
    }

    /// Holds the engine lease and ticks until `shutdown`; only one instance per database
    /// ticks at a time. Gives the lease up on the way out.
    pub async fn run(self, clock: Arc<dyn Clock>, shutdown: impl std::future::Future<Output = ()>) {
        let renew = self.config.lease / 3;
        // When this instance last took or renewed the lease: it holds it for a third of
        // the lease after that without writing (a tick need not cost a commit).
        let mut renewed: Option<Timestamp> = None;
        tokio::pin!(shutdown);
        loop {
            let now = clock.now();
            let mut sleep_for = renew;
            let holding = match renewed {
                Some(at) if now < at.saturating_add(renew) => Ok(true),
                _ => {
                    let taken = self
                        .store
                        .acquire_lease(
                            &self.config.holder,
                            now,
                            now.saturating_add(self.config.lease),
                        )
                        .await;
                    renewed = matches!(taken, Ok(true)).then_some(now);
                    taken
                }
            };
            match holding {
                Ok(true) => match self.tick(now).await {
                    // A deadline already past (a full batch left work) is picked up
                    // after a breath, not in a tight loop.
                    Ok(Some(next)) => {
                        sleep_for = sleep_for
                            .min(next.since(clock.now()))
                            .max(Duration::from_millis(5));
                    }
                    Ok(None) => {}
                    // A stage failed (the others ran): try again soon, so that what the
                    // failing stage holds up is late by a second at most.
                    Err(e) => {
                        tracing::error!(error = %e, "engine step failed; trying again");
                        sleep_for = sleep_for.min(Duration::from_secs(1));
                    }
                },
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "cannot reach the engine lease"),
            }
            if let Some(at) = renewed {
                let renew_in = at.saturating_add(renew).since(clock.now());
                sleep_for = sleep_for.min(renew_in.max(Duration::from_millis(5)));
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(sleep_for) => {}
            }
        }
        if let Err(e) = self.store.release_lease(&self.config.holder).await {
            tracing::warn!(error = %e, "could not give the engine lease up");
        }
    }

    async fn fire_timers(&self, now: Timestamp) -> Result<usize, EngineError> {
        let due = self.store.due_timers(now, BATCH).await?;
        for timer in &due {
            self.store.fire_timer(timer, now).await?;
        }
        Ok(due.len())
    }

    /// Moves every due escalation to its next level, all in one transaction.
    async fn escalate(&self, now: Timestamp) -> Result<usize, EngineError> {
        let due = self.store.due_escalations(now, BATCH).await?;
        let mut known = Known::default();
        let mut steps = Vec::with_capacity(due.len());
        for e in &due {
            steps.push(self.escalation_step(e, &mut known, now).await?);
        }
        self.store.apply_escalations(steps, now).await?;
        Ok(due.len())
    }

    /// What reaching the next level of `e`'s policy means, decided by the core.
    async fn escalation_step(
        &self,
        e: &DueEscalation,
        known: &mut Known,
        now: Timestamp,
    ) -> Result<EscalationStep, EngineError> {
        let mut step = EscalationStep {
            incident: e.incident,
            read_next_at: e.next_at,
            next: None,
            rotation: None,
            notifications: Vec::new(),
            send_now: Vec::new(),
            timeline: Vec::new(),
        };
        if e.status != IncidentStatus::Triggered {
            return Ok(step);
        }
        let Some(policy) = self.policy(e.policy, known).await? else {
            step.timeline.push((
                TimelineKind::Escalated,
                "The escalation policy no longer exists; nobody was paged".to_owned(),
            ));
            return Ok(step);
        };
        let (level, round, hand_overs) = match &e.position {
            None => (0, 0, 0),
            Some(at) => match escalation::next(&policy, at) {
                Some((level, round)) => (level, round, at.hand_overs),
                None => {
                    step.timeline.push((
                        TimelineKind::Escalated,
                        format!(
                            "Escalation policy {} has no more levels; nobody acknowledged",
                            policy.name
                        ),
                    ));
                    return Ok(step);
                }
            },
        };
        let pointer = self.pointer(policy.id, level, known).await?;
        let reached = escalation::enter(&policy, level, round, hand_overs, pointer, now);
        step.rotation = reached.rotation;
        let mut line = describe_level(&policy, &reached);
        let mut page = reached.page.clone();
        let mut position = reached.position;
        let mut escalate_at = reached.escalate_at;
        if let Some(other) = reached.hand_over {
            match self.policy(other, known).await? {
                Some(next_policy) => {
                    let pointer = self.pointer(next_policy.id, 0, known).await?;
                    let handed =
                        escalation::enter(&next_policy, 0, 0, hand_overs + 1, pointer, now);
                    line.push_str(&format!(
                        "; handed over to {}",
                        describe_level(&next_policy, &handed)
                    ));
                    page.extend(handed.page.iter().copied());
                    position = handed.position;
                    escalate_at = handed.escalate_at;
                    if step.rotation.is_none() {
                        step.rotation = handed.rotation;
                    }
                }
                None => line.push_str("; the policy it hands over to no longer exists"),
            }
        }
        // Later steps of this tick see the rotation moved on.
        if let Some(r) = step.rotation {
            known.pointers.insert((r.policy, r.level), r.next);
        }
        let mut users: Vec<UserId> = Vec::new();
        // Who was paged as the one on call in a schedule, and which.
        let mut on_call_in: HashMap<UserId, String> = HashMap::new();
        for target in &page {
            match target {
                Target::User(u) if !users.contains(u) => users.push(*u),
                Target::User(_) => {}
                Target::Schedule(id) => match self.on_call(*id, known, now).await? {
                    None => line.push_str("; a schedule it pages no longer exists"),
                    Some((name, people)) if people.is_empty() => {
                        line.push_str(&format!("; nobody is on call in {name}"));
                    }
                    Some((name, people)) => {
                        for u in people {
                            on_call_in.entry(u).or_insert_with(|| name.clone());
                            if !users.contains(&u) {
                                users.push(u);
                            }
                        }
                    }
                },
                Target::Policy(_) => {}
            }
        }
        let mut names = Vec::with_capacity(users.len());
        let mut unreachable = Vec::new();
        let mut skipped = Vec::new();
        for user in &users {
            let person = self.person(*user, known).await?;
            if person.rules.is_empty() {
                unreachable.push(format!(
                    "; {} has no notification rules, so nothing reaches them",
                    person.name
                ));
            }
            names.push(match on_call_in.get(user) {
                Some(schedule) => format!("{} (on call in {schedule})", person.name),
                None => person.name.clone(),
            });
            for (rule, due_at) in plan_notifications(&person.rules, e.urgency, now) {
                let Some(contact_method) = person
                    .rules
                    .iter()
                    .find(|r| r.id == rule)
                    .map(|r| r.contact_method)
                else {
                    continue;
                };
                if due_at > now {
                    step.notifications.push(PlannedNotification {
                        user: *user,
                        rule,
                        contact_method,
                        due_at,
                    });
                    continue;
                }
                // Due at once: queued in the same transaction rather than planned.
                let method = person.methods.iter().find(|m| m.id == contact_method);
                match may_send(method, &person.name) {
                    Ok(()) => step.send_now.push(SendNow {
                        user: *user,
                        contact_method,
                    }),
                    Err(note) => skipped.push((TimelineKind::Notified, note)),
                }
            }
        }
        if names.is_empty() {
            line.push_str(": nobody to page");
        } else {
            line.push_str(&format!(": paging {}", names.join(", ")));
        }
        line.extend(unreachable);
        step.timeline.push((TimelineKind::Escalated, line));
        step.timeline.extend(skipped);
        step.next = Some((position, Some(escalate_at)));
        Ok(step)
    }

    async fn policy(&self, id: PolicyId, known: &mut Known) -> Result<Option<Policy>, EngineError> {
        if let Some(p) = known.policies.get(&id) {
            return Ok(p.clone());
        }
        let policy = match self.store.policy(id).await {
            Ok(p) => Some(p),
            Err(StoreError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        };
        known.policies.insert(id, policy.clone());
        Ok(policy)
    }

    async fn pointer(
        &self,
        policy: PolicyId,
        level: u32,
        known: &mut Known,
    ) -> Result<u32, EngineError> {
        if let Some(p) = known.pointers.get(&(policy, level)) {
            return Ok(*p);
        }
        let p = self.store.rotation_pointer(policy, level).await?;
        known.pointers.insert((policy, level), p);
        Ok(p)
    }

    /// A schedule's name and who is on call in it at `now` (from its final schedule:
    /// layers, restrictions and overrides); `None` if the schedule is gone.
    async fn on_call(
        &self,
        id: ScheduleId,
        known: &mut Known,
        now: Timestamp,
    ) -> Result<Option<(String, Vec<UserId>)>, EngineError> {
        if let Some(found) = known.on_call.get(&id) {
            return Ok(found.clone());
        }
        let found = match self.store.schedule(id).await {
            Ok(schedule) => {
                let instant = Window {
                    start: now,
                    end: now.saturating_add(Duration::from_millis(1)),
                };
                let overrides = self.store.overrides(id, Some(instant)).await?;
                let people = on_call_at(&schedule.rota(overrides), now);
                Some((schedule.name.to_string(), people))
            }
            Err(StoreError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        };
        known.on_call.insert(id, found.clone());
        Ok(found)
    }

    /// A person's name, notification rules and contact methods.
    async fn person<'k>(
        &self,
        user: UserId,
        known: &'k mut Known,
    ) -> Result<&'k Person, EngineError> {
        if let Entry::Vacant(slot) = known.people.entry(user) {
            let name = match self.store.user(user).await {
                Ok(u) => u.name.to_string(),
                Err(StoreError::NotFound(_)) => String::new(),
                Err(e) => return Err(e.into()),
            };
            slot.insert(Person {
                name,
                rules: self.store.rules(user).await?,
                methods: self.store.contact_methods(user).await?,
            });
        }
        Ok(&known.people[&user])
    }

    /// Queues a message for every due notification that still should page, in one
    /// transaction.
    async fn release_notifications(&self, now: Timestamp) -> Result<usize, EngineError> {
        let due = self.store.due_notifications(now, BATCH).await?;
        let count = due.len();
        let mut releases = Vec::with_capacity(count);
        for n in due {
            let decision = match n.status {
                IncidentStatus::Resolved => Err(None),
                IncidentStatus::Acknowledged if !n.responder => Err(None),
                _ => may_send(n.method.as_ref(), &n.user_name).map_err(Some),
            };
            let (send, note) = match decision {
                Ok(()) => (true, None),
                Err(note) => (false, note),
            };
            releases.push(Release { due: n, send, note });
        }
        self.store.release_notifications(&releases, now).await?;
        Ok(count)
    }

    /// Tells people their on-call shift starts (their lead time ahead) or has ended, once
    /// each, through the contact methods of their immediate rules. Looks at least every 5
    /// minutes, and when the next notification is due; returns when to look again (`None`
    /// while nobody wants handoff notifications).
    async fn handoffs(&self, now: Timestamp) -> Result<Option<Timestamp>, EngineError> {
        let planned = *self.handoff_scan.lock().expect("not poisoned");
        if let Some(at) = planned
            && now < at
        {
            return Ok(Some(at));
        }
        let subscribers = self.store.handoff_subscribers().await?;
        let rescan = now.saturating_add(HANDOFF_RESCAN);
        if subscribers.is_empty() {
            *self.handoff_scan.lock().expect("not poisoned") = Some(rescan);
            return Ok(None);
        }
        let longest = subscribers.iter().map(|(_, lead)| *lead).max().unwrap_or(0);
        let window = Window {
            start: Timestamp::from_millis(now.as_millis() - HANDOFF_GRACE.as_millis() as i64),
            end: now.saturating_add(
                Duration::from_secs(u64::from(longest) * 60) + HANDOFF_RESCAN + HANDOFF_GRACE,
            ),
        };
        let mut overrides = self.store.all_overrides(window).await?;
        let mut known = Known::default();
        let mut notices = Vec::new();
        let mut next = rescan;
        for schedule in self.store.list_schedules().await? {
            let rota = schedule.rota(overrides.remove(&schedule.id).unwrap_or_default());
            let zone = rota.time_zone.clone();
            let stretches = final_schedule(&rota, window).stretches();
            for (user, lead) in &subscribers {
                let lead = Duration::from_secs(u64::from(*lead) * 60);
                for stretch in stretches.iter().filter(|s| s.user == *user) {
                    let (start, end) = (stretch.start, stretch.end);
                    let mut due = Vec::new();
                    if start > window.start {
                        let tell =
                            Timestamp::from_millis(start.as_millis() - lead.as_millis() as i64);
                        due.push((HandoffKind::Start, start, tell));
                    }
                    if end < window.end {
                        due.push((HandoffKind::End, end, end));
                    }
                    for (kind, at, tell) in due {
                        if tell > now {
                            next = next.min(tell);
                            continue;
                        }
                        if now >= at.saturating_add(HANDOFF_GRACE) {
                            continue;
                        }
                        let person = self.person(*user, &mut known).await?;
                        let methods = immediate_methods(person);
                        if methods.is_empty() {
                            continue;
                        }
                        let text = match kind {
                            // The scan sees only so far ahead: an end beyond it is not known.
                            HandoffKind::Start if end < window.end => format!(
                                "Your on-call shift in {} starts {} and ends {} ({}).",
                                schedule.name,
                                wall_clock(start, &zone),
                                wall_clock(end, &zone),
                                schedule.time_zone
                            ),
                            HandoffKind::Start => format!(
                                "Your on-call shift in {} starts {} ({}).",
                                schedule.name,
                                wall_clock(start, &zone),
                                schedule.time_zone
                            ),
                            HandoffKind::End => format!(
                                "Your on-call shift in {} ended {} ({}).",
                                schedule.name,
                                wall_clock(end, &zone),
                                schedule.time_zone
                            ),
                        };
                        notices.push(HandoffNotice {
                            schedule: schedule.id,
                            user: *user,
                            kind,
                            at,
                            methods,
                            text,
                        });
                    }
                }
            }
        }
        self.store.queue_handoff_notices(&notices, now).await?;
        *self.handoff_scan.lock().expect("not poisoned") = Some(next);
        Ok(Some(next))
    }

    /// Sends what is due, one message per contact method (several incidents bundled),
    /// several contact methods at a time, and records how each went in one transaction.
    async fn dispatch(&self, now: Timestamp) -> Result<usize, EngineError> {
        let due = self.store.due_outbox(now, BATCH).await?;
        let count = due.len();
        // Pages to one contact method go as one message; notices as another.
        let mut groups: BTreeMap<(ContactMethodId, bool), Vec<OutboxItem>> = BTreeMap::new();
        for item in due {
            groups
                .entry((item.method.id, item.notice.is_some()))
                .or_default()
                .push(item);
        }
        // At most one SMS or call per number per minute: what comes sooner waits.
        let phones: Vec<ContactMethodId> = groups
            .values()
            .filter(|items| matches!(items[0].method.channel, Channel::Sms | Channel::Voice))
            .map(|items| items[0].method.id)
            .collect();
        let last_sent = self.store.last_sent_to(&phones).await?;
        let mut ready = Vec::with_capacity(groups.len());
        for ((method, _), items) in groups {
            let allowed = last_sent
                .get(&method)
                .map(|last| last.saturating_add(PER_NUMBER_GAP));
            match allowed {
                Some(allowed) if allowed > now => {
                    let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
                    self.store.postpone_outbox(&ids, allowed).await?;
                }
                _ => ready.push(items),
            }
        }
        let sent: Vec<SentGroup> = futures::stream::iter(ready)
            .map(|items| self.send_group(items, now))
            .buffer_unordered(SENDS_AT_ONCE)
            .try_collect()
            .await?;
        self.store.record_deliveries(&sent, now).await?;
        Ok(count)
    }

    /// Sends one message for a group of outbox rows to the same contact method.
    async fn send_group(
        &self,
        mut items: Vec<OutboxItem>,
        now: Timestamp,
    ) -> Result<SentGroup, EngineError> {
        // A bundle reads in incident order.
        items.sort_by_key(|i| i.number);
        let method = items[0].method.clone();
        let content = if items[0].notice.is_some() {
            let lines: Vec<&str> = items.iter().filter_map(|i| i.notice.as_deref()).collect();
            Content::Notice {
                text: lines.join("\n"),
            }
        } else {
            let mut page_items = Vec::with_capacity(items.len());
            for item in &items {
                if let Some(page) = self.page_item(item, method.channel, now).await? {
                    page_items.push(page);
                }
            }
            Content::Page { items: page_items }
        };
        let message = Outgoing {
            channel: method.channel,
            to: method.address.as_str().to_owned(),
            secret: items[0].secret.clone(),
            content,
            idempotency_key: items
                .iter()
                .map(|i| i.id.as_str())
                .collect::<Vec<_>>()
                .join("+"),
            at: now,
        };
        let to = format!(
            "{} to {} {}",
            method.channel.label(),
            items[0].user_name,
            method.address.as_str()
        );
        let attempts = items.iter().map(|i| i.attempts).max().unwrap_or(0) + 1;
        let (delivery, line) = match self.providers.send(&message).await {
            Ok(sent) => (
                Delivery::Sent {
                    provider_ref: sent.provider_ref,
                },
                format!("{to}: sent"),
            ),
            Err(NotifyError::Transient(e)) if attempts < MAX_ATTEMPTS => (
                Delivery::Retry {
                    error: e.clone(),
                    retry_at: Some(now.saturating_add(backoff(attempts))),
                },
                format!("{to}: failed ({e}); trying again"),
            ),
            Err(e @ NotifyError::Transient(_)) | Err(e @ NotifyError::NotConfigured(_)) => (
                Delivery::Retry {
                    error: e.to_string(),
                    retry_at: None,
                },
                format!("{to}: failed ({e}); gave up"),
            ),
            Err(NotifyError::Permanent(e)) => (
                Delivery::Refused { error: e.clone() },
                format!(
                    "{to}: refused ({e}); the contact method is marked failing and the next rule goes now"
                ),
            ),
        };
        Ok(SentGroup {
            items,
            delivery,
            line,
        })
    }
}

/// What one tick has already read: policies, people, who is on call in schedules, and
/// round-robin pointers (moved on as the tick's own steps rotate).
#[derive(Default)]
struct Known {
    policies: HashMap<PolicyId, Option<Policy>>,
    people: HashMap<UserId, Person>,
    pointers: HashMap<(PolicyId, u32), u32>,
    on_call: HashMap<ScheduleId, Option<(String, Vec<UserId>)>>,
}

struct Person {
    name: String,
    rules: Vec<NotificationRule>,
    methods: Vec<ContactMethod>,
}

/// How soon a heartbeat that fell due during maintenance is looked at again.
const HEARTBEAT_RECHECK: Duration = Duration::from_secs(5 * 60);

/// How often the engine looks for handoff notifications at least (schedules, overrides
/// and settings change).
const HANDOFF_RESCAN: Duration = Duration::from_secs(5 * 60);
/// A handoff notification later than this after its moment is not sent (the engine was
/// down, say): it would only confuse. Well above `HANDOFF_RESCAN`, so that a change made
/// just before a handoff is still seen in time.
const HANDOFF_GRACE: Duration = Duration::from_secs(30 * 60);

/// The contact methods of a person's immediate rules that can be used.
fn immediate_methods(person: &Person) -> Vec<ContactMethodId> {
    let mut out = Vec::new();
    for rule in person.rules.iter().filter(|r| r.delay_minutes == 0) {
        let usable = person
            .methods
            .iter()
            .any(|m| m.id == rule.contact_method && m.can_page());
        if usable && !out.contains(&rule.contact_method) {
            out.push(rule.contact_method);
        }
    }
    out
}

/// "Mon 23 Nov 09:00" on a time zone's wall clock.
fn wall_clock(at: Timestamp, zone: &jiff::tz::TimeZone) -> String {
    match jiff::Timestamp::from_millisecond(at.as_millis()) {
        Ok(ts) => ts
            .to_zoned(zone.clone())
            .strftime("%a %d %b %H:%M")
            .to_string(),
        Err(_) => at.to_rfc3339(),
    }
}

/// Whether a person's contact method can be paged now, or the timeline line saying why not.
fn may_send(method: Option<&ContactMethod>, user_name: &str) -> Result<(), String> {
    match method {
        None => Err(format!("{user_name}'s contact method was removed; skipped")),
        Some(m) if m.can_page() => Ok(()),
        Some(m) if m.failing.is_some() => Err(format!(
            "{} to {user_name} skipped: it is failing",
            m.describe()
        )),
        Some(m) => Err(format!(
            "{} to {user_name} skipped: not verified yet",
            m.describe()
        )),
    }
}

impl Engine {
    /// One incident as a message shows it. E-mails also get the trigger's details and
    /// links, and one-click links signed for the person paged.
    async fn page_item(
        &self,
        item: &OutboxItem,
        channel: Channel,
        now: Timestamp,
    ) -> Result<Option<PageItem>, EngineError> {
        let (Some(number), Some(incident)) = (item.number, item.incident) else {
            return Ok(None);
        };
        let base = self.config.public_url.trim_end_matches('/');
        let mut page = PageItem {
            number,
            summary: item.summary.clone(),
            service: item.service.clone(),
            severity: item.severity.clone(),
            urgency: item.urgency.clone(),
            url: format!("{base}/api/v1/incidents/{number}"),
            details: None,
            links: Vec::new(),
            ack_url: None,
            resolve_url: None,
        };
        if channel != Channel::Email {
            return Ok(Some(page));
        }
        let full = self.store.incident(IncidentRef::Id(incident)).await?;
        page.details = full
            .details
            .alert
            .as_ref()
            .and_then(|a| a.custom_details.clone());
        page.links = full
            .details
            .links
            .iter()
            .map(|l| Link {
                href: l.href.clone(),
                text: l.text.clone(),
            })
            .collect();
        let key = self.link_key().await?;
        let expires = now.saturating_add(LINK_LIFETIME);
        let url = |action| {
            let token = link_token(
                &key,
                &LinkGrant {
                    incident,
                    user: item.user,
                    action,
                    expires,
                },
            );
            format!("{base}/actions/{token}")
        };
        page.ack_url = Some(url(LinkAction::Acknowledge));
        page.resolve_url = Some(url(LinkAction::Resolve));
        Ok(Some(page))
    }

    async fn link_key(&self) -> Result<Arc<Vec<u8>>, EngineError> {
        let key = self
            .link_key
            .get_or_try_init(|| async { self.store.server_key(LINK_KEY).await.map(Arc::new) })
            .await?;
        Ok(key.clone())
    }
}

/// How long a one-click link in an e-mail works.
pub const LINK_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Waits between attempts at a message: 30 s, 1, 2, 4 minutes.
fn backoff(attempts: i64) -> Duration {
    let exp = u32::try_from(attempts.clamp(1, 5) - 1).unwrap_or(0);
    Duration::from_secs(30 * 2u64.pow(exp))
}

/// "Escalation policy Ops, level 2, repeat 1".
fn describe_level(policy: &Policy, reached: &Reached) -> String {
    let Position { level, round, .. } = reached.position;
    let repeat = if round > 0 {
        format!(", repeat {round}")
    } else {
        String::new()
    };
    format!(
        "Escalation policy {}, level {}{repeat}",
        policy.name,
        level + 1
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_thirty_seconds() {
        let secs: Vec<u64> = (1..=6).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 480]);
    }
}
