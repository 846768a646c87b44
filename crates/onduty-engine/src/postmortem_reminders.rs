//! Postmortem reminders: a postmortem's owner is told through their contact methods as its
//! due dates near and pass (`postmortem::reminders`), and an action item's owner once it is
//! overdue; each reminder once. Looked at once a minute. Load what may be due; plan the
//! reminders and their words (pure); apply.

use std::collections::HashMap;
use std::time::Duration;

use onduty_core::postmortem::reminders::{ReminderKind, postmortem_reminders};
use onduty_core::{Timestamp, UserId};
use onduty_store::postmortem_reminders::{OverdueItem, PostmortemReminder, RemindablePostmortem};

use crate::directory::{Directory, Person};
use crate::text::{wall_clock, zone};
use crate::{Engine, EngineError};

const MARK: &str = "postmortem_reminders";
const EVERY: Duration = Duration::from_secs(60);
/// The earliest a reminder comes before a due date (the final version's).
const AHEAD: Duration = Duration::from_secs(24 * 3600);

pub(crate) async fn run(engine: &Engine, now: Timestamp) -> Result<usize, EngineError> {
    let store = &engine.store;
    if let Some(last) = store.engine_mark(MARK).await?
        && now < last.saturating_add(EVERY)
    {
        return Ok(0);
    }
    store.set_engine_mark(MARK, now).await?;
    let postmortems = store
        .remindable_postmortems(now.saturating_add(AHEAD))
        .await?;
    let items = store.overdue_action_items(now).await?;
    if postmortems.is_empty() && items.is_empty() {
        return Ok(0);
    }
    let mut owners: Vec<UserId> = postmortems
        .iter()
        .map(|p| p.owner)
        .chain(items.iter().map(|i| i.owner))
        .collect();
    owners.sort();
    owners.dedup();
    let mut people = Directory::default();
    people.load_people(store, &owners).await?;
    let base = engine.config.public_url.trim_end_matches('/');
    let reminders = plan(&postmortems, &items, &people.people, base, now);
    store.queue_postmortem_reminders(&reminders, now).await?;
    Ok(reminders.len())
}

/// The reminders due at `now`, worded with times on each owner's clock.
fn plan(
    postmortems: &[RemindablePostmortem],
    items: &[OverdueItem],
    people: &HashMap<UserId, Person>,
    base: &str,
    now: Timestamp,
) -> Vec<PostmortemReminder> {
    let person = |u: &UserId| people.get(u).cloned().unwrap_or_default();
    let mut out = Vec::new();
    for p in postmortems {
        let owner = person(&p.owner);
        let when = |at| {
            let z = zone(owner.time_zone.as_deref());
            format!(
                "{} ({})",
                wall_clock(at, &z),
                z.iana_name().unwrap_or("UTC")
            )
        };
        let url = format!("{base}/postmortems/{}", p.id);
        for kind in postmortem_reminders(p.due, &p.sent, now) {
            let text = match kind {
                ReminderKind::ProvisionalSoon => format!(
                    "The provisional postmortem \"{}\" is due {}: {url}",
                    p.title,
                    when(p.due.provisional)
                ),
                ReminderKind::ProvisionalLate => format!(
                    "The provisional postmortem \"{}\" was due {} and is still a draft: {url}",
                    p.title,
                    when(p.due.provisional)
                ),
                ReminderKind::FinalSoon => format!(
                    "The final postmortem \"{}\" is due {}: {url}",
                    p.title,
                    when(p.due.final_due)
                ),
                ReminderKind::FinalLate => format!(
                    "The final postmortem \"{}\" was due {} and is not published: {url}",
                    p.title,
                    when(p.due.final_due)
                ),
                // Only about action items.
                ReminderKind::ItemLate => continue,
            };
            out.push(PostmortemReminder {
                subject: p.id.to_string(),
                kind,
                user: p.owner,
                methods: owner.immediate_methods(),
                text,
            });
        }
    }
    for i in items {
        let owner = person(&i.owner);
        let z = zone(owner.time_zone.as_deref());
        out.push(PostmortemReminder {
            subject: i.id.to_string(),
            kind: ReminderKind::ItemLate,
            user: i.owner,
            methods: owner.immediate_methods(),
            text: format!(
                "Action item \"{}\" of the postmortem \"{}\" was due {} and is not done: {base}/postmortems/{}",
                i.text,
                i.postmortem_title,
                wall_clock(i.due, &z),
                i.postmortem
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use onduty_core::postmortem::PostmortemStatus;
    use onduty_core::postmortem::reminders::Due;
    use onduty_core::{ActionItemId, PostmortemId};

    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn owners_are_reminded_on_their_own_clock_with_a_link() {
        let now = at("2026-03-02T02:00:00Z");
        let alice = UserId::new(now);
        let id = PostmortemId::new(now);
        let people = HashMap::from([(
            alice,
            Person {
                name: "Alice".to_owned(),
                time_zone: Some("Europe/Berlin".to_owned()),
                ..Person::default()
            },
        )]);
        let postmortems = [RemindablePostmortem {
            id,
            title: "#1: Database down".to_owned(),
            owner: alice,
            due: Due {
                status: PostmortemStatus::Draft,
                provisional: at("2026-03-02T03:30:00Z"),
                final_due: at("2026-03-09T03:30:00Z"),
            },
            sent: vec![],
        }];
        let items = [OverdueItem {
            id: ActionItemId::new(now),
            text: "Alert on replica lag".to_owned(),
            owner: alice,
            due: at("2026-03-01T09:00:00Z"),
            postmortem: id,
            postmortem_title: "#1: Database down".to_owned(),
        }];
        let planned = plan(&postmortems, &items, &people, "https://onduty.example", now);
        let texts: Vec<&str> = planned.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                format!(
                    "The provisional postmortem \"#1: Database down\" is due Mon 02 Mar 04:30 \
                     (Europe/Berlin): https://onduty.example/postmortems/{id}"
                ),
                format!(
                    "Action item \"Alert on replica lag\" of the postmortem \"#1: Database down\" \
                     was due Sun 01 Mar 10:00 and is not done: https://onduty.example/postmortems/{id}"
                ),
            ]
        );
        assert_eq!(
            planned.iter().map(|r| r.kind).collect::<Vec<_>>(),
            [ReminderKind::ProvisionalSoon, ReminderKind::ItemLate]
        );
    }
}
