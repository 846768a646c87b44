//! Sorting pages into the paged person's hours, for reports: each first page of an
//! incident to a person is marked business, off or sleep hours on that person's clock,
//! with the week it counts in there. Done here, soon after the page, so that a report
//! counts pages already sorted instead of converting every one to a time zone. Load the
//! unsorted; plan (pure); apply.

use onduty_core::report::{HourClass, local_week};
use onduty_store::facts::{PageSort, UnsortedPage};

use crate::{Engine, EngineError};

/// Most pages sorted in one tick; a full batch asks for another tick at once.
pub(crate) const BATCH: u32 = 2000;

pub(crate) async fn run(engine: &Engine) -> Result<usize, EngineError> {
    let pages = engine.store.unsorted_pages(BATCH).await?;
    if pages.is_empty() {
        return Ok(0);
    }
    let sorted = plan(&pages);
    engine.store.sort_pages(&sorted).await?;
    Ok(sorted.len())
}

/// Each page's hours and week in its person's zone (UTC for a zone no longer known).
fn plan(pages: &[UnsortedPage]) -> Vec<PageSort> {
    pages
        .iter()
        .map(|p| {
            let zone =
                onduty_core::account::time_zone(&p.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
            PageSort {
                incident: p.incident,
                user: p.user,
                class: HourClass::of(p.paged_at, &zone),
                week: local_week(p.paged_at, &zone).unwrap_or_default(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use onduty_core::{IncidentId, Timestamp, UserId};

    use super::*;

    #[test]
    fn each_page_is_sorted_on_its_own_persons_clock() {
        let at = Timestamp::parse("2026-03-29T06:40:00Z").unwrap();
        let page = |zone: &str| UnsortedPage {
            incident: IncidentId::new(at),
            user: UserId::new(at),
            paged_at: at,
            time_zone: zone.to_owned(),
        };
        let sorted = plan(&[page("Europe/Berlin"), page("UTC"), page("Nowhere/Gone")]);
        let classes: Vec<HourClass> = sorted.iter().map(|s| s.class).collect();
        // 08:40 on a summer-time Sunday in Berlin; 06:40 in UTC, and for a lost zone.
        assert_eq!(
            classes,
            [HourClass::Off, HourClass::Sleep, HourClass::Sleep]
        );
        // Sunday: its week began on Monday 23 March (20535 days after 1970-01-01).
        assert!(sorted.iter().all(|s| s.week == 20535), "{sorted:?}");
    }
}
