//! Drafts for the status pages: an incident opens on a service that stands behind
//! components of a page, and a public incident is drafted for that page, in words that
//! name only the components (nothing of the incident itself), for a person to publish. A
//! page set to publish by itself gets it published at once. Load what is due; plan the
//! drafts; apply.

use onduty_core::Timestamp;
use onduty_core::incident::Actor;
use onduty_core::status_page::{ComponentStatus, IncidentStatus, Stage, Title, UpdateBody};
use onduty_store::status_drafts::DraftDue;
use onduty_store::status_pages::{NewStatusIncident, NewUpdate};

use crate::{Engine, EngineError};

pub(crate) async fn run(engine: &Engine, now: Timestamp) -> Result<usize, EngineError> {
    let due = engine.store.due_status_drafts().await?;
    for (d, draft) in due.iter().zip(plan(&due, now)) {
        engine
            .store
            .create_status_incident(d.page, &draft, now)
            .await?;
    }
    Ok(due.len())
}

/// "API and Website": the components' names as a list.
fn named(components: &[(onduty_core::ComponentId, String)]) -> String {
    let names: Vec<&str> = components.iter().map(|(_, n)| n.as_str()).collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// One draft per incident and page: investigating, its components in partial outage for
/// a high-urgency incident (degraded performance for a low one).
pub(crate) fn plan(due: &[DraftDue], now: Timestamp) -> Vec<NewStatusIncident> {
    due.iter()
        .map(|d| {
            let state = if d.urgency == "low" {
                ComponentStatus::DegradedPerformance
            } else {
                ComponentStatus::PartialOutage
            };
            let names = named(&d.components);
            let title = format!("Problems with {names}");
            let body = format!("We are investigating problems with {names}.");
            NewStatusIncident {
                name: Title::parse(
                    "name",
                    &title.chars().take(Title::MAX_CHARS).collect::<String>(),
                )
                .unwrap_or_else(|_| Title::parse("name", "Problems").expect("a title")),
                impact: state.impact(),
                started_at: now,
                scheduled: None,
                window: None,
                incident: Some(d.incident),
                by: Actor::System,
                draft: !d.auto_publish,
                first: NewUpdate {
                    stage: Stage::Incident(IncidentStatus::Investigating),
                    body: UpdateBody::parse(&body).unwrap_or_else(|_| {
                        UpdateBody::parse("We are investigating.").expect("a body")
                    }),
                    components: d.components.iter().map(|(id, _)| (*id, state)).collect(),
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use onduty_core::status_page::Impact;
    use onduty_core::{ComponentId, IncidentId, IncidentNumber, StatusPageId};

    #[test]
    fn a_draft_names_the_components_and_nothing_of_the_incident() {
        let t = Timestamp::parse("2026-11-23T09:00:00Z").unwrap();
        let (api, web) = (ComponentId::new(t), ComponentId::new(t));
        let due = |urgency: &str, auto_publish, components: Vec<(ComponentId, String)>| DraftDue {
            incident: IncidentId::new(t),
            number: IncidentNumber(7),
            urgency: urgency.to_owned(),
            page: StatusPageId::new(t),
            auto_publish,
            components,
        };
        let drafts = plan(
            &[
                due(
                    "high",
                    false,
                    vec![(api, "API".to_owned()), (web, "Website".to_owned())],
                ),
                due("low", true, vec![(api, "API".to_owned())]),
            ],
            t,
        );
        assert_eq!(drafts[0].name.as_str(), "Problems with API and Website");
        assert_eq!(
            drafts[0].first.body.as_str(),
            "We are investigating problems with API and Website."
        );
        assert_eq!(drafts[0].impact, Impact::Major);
        assert!(drafts[0].draft);
        assert_eq!(
            drafts[0].first.components,
            vec![
                (api, ComponentStatus::PartialOutage),
                (web, ComponentStatus::PartialOutage)
            ]
        );
        assert!(!drafts[1].draft, "the page publishes by itself");
        assert_eq!(drafts[1].impact, Impact::Minor);
        assert_eq!(
            drafts[1].first.components,
            vec![(api, ComponentStatus::DegradedPerformance)]
        );
        assert_eq!(named(&[]), "");
    }
}
