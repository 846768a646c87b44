//! Draft postmortems: a high-urgency incident resolves, and a draft postmortem is made
//! for it, owned by whoever acknowledged it first, due by the deadlines in the settings, in their
//! time zone. Each resolution is looked at once, from a mark kept in the database a
//! minute behind the clock (so an incident resolved by a transaction still committing is
//! not passed over). Load what is due; plan the draft (`postmortem::draft`); apply.

use std::time::Duration;

use onduty_core::postmortem::{draft, first_acknowledger};
use onduty_core::{IncidentRef, Timestamp};
use onduty_store::StoreError;
use onduty_store::postmortems::NewPostmortem;

use crate::{Engine, EngineError};

const MARK: &str = "postmortem_drafts";
/// How far behind the clock the mark stays.
const LAG: Duration = Duration::from_secs(60);
/// Most incidents drafted in one tick.
const BATCH: u32 = 50;
/// Most timeline entries drafted from one incident.
const ENTRIES: u32 = 1000;

pub(crate) async fn run(engine: &Engine, now: Timestamp) -> Result<usize, EngineError> {
    let store = &engine.store;
    let upto = now.saturating_sub(LAG);
    let Some(after) = store.engine_mark(MARK).await? else {
        // The first time: from now on (an upgraded server drafts nothing from its past).
        store.set_engine_mark(MARK, upto).await?;
        return Ok(0);
    };
    if upto <= after {
        return Ok(0);
    }
    let due = store.org_settings().await?.postmortem_due();
    let resolved_list = store.resolved_high_since(after, upto, BATCH).await?;
    for resolved in &resolved_list {
        let incident = store.incident(IncidentRef::Id(resolved.incident)).await?;
        let entries = store.timeline(incident.id, None, ENTRIES).await?.entries;
        let numbered: Vec<_> = entries
            .into_iter()
            .map(|e| (incident.number.0, e))
            .collect();
        let owner = first_acknowledger(&[&incident]);
        let zone = match owner {
            Some(id) => match store.user(id).await {
                Ok(user) => onduty_core::account::time_zone(user.time_zone.as_str()),
                Err(StoreError::NotFound(_)) => None,
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        let zone = zone.unwrap_or(jiff::tz::TimeZone::UTC);
        let Some(drafted) = draft(&[&incident], &numbered, due, &zone, now) else {
            continue;
        };
        let made = store
            .create_postmortem(
                &NewPostmortem {
                    title: drafted.title,
                    owner: drafted.first_acknowledger,
                    incidents: vec![incident.id],
                    timeline: drafted.timeline,
                    provisional_due: drafted.deadlines.provisional,
                    final_due: drafted.deadlines.final_due,
                },
                now,
            )
            .await;
        match made {
            // Someone started one meanwhile.
            Ok(_) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let reached = if resolved_list.len() < BATCH as usize {
        upto
    } else {
        resolved_list.last().map_or(upto, |d| d.resolved_at)
    };
    store.set_engine_mark(MARK, reached).await?;
    Ok(resolved_list.len())
}
