//! The runbook link a page carries: the incident's own runbook link, else the most
//! specific runbook kept for its service ([`onduty_core::runbook::for_incident`]). A
//! runbook that cannot be read is left out of the message, never the message itself.

use onduty_core::incident::Incident;
use onduty_core::runbook::{Chosen, for_incident};
use onduty_core::{IncidentId, IncidentRef};
use onduty_notify::Link;

use crate::Engine;

impl Engine {
    /// [`Engine::runbook_of`] the incident `incident`, read first.
    pub(crate) async fn runbook_link(&self, incident: IncidentId) -> Option<Link> {
        match self.store.incident(IncidentRef::Id(incident)).await {
            Ok(found) => self.runbook_of(&found).await,
            Err(e) => {
                tracing::warn!(error = %e, %incident, "a runbook could not be read; the message goes without it");
                None
            }
        }
    }

    /// Where an incident's runbook is: its own address when kept outside onduty, the
    /// incident's page (where it is shown first) when kept in onduty.
    pub(crate) async fn runbook_of(&self, found: &Incident) -> Option<Link> {
        let number = found.number.0;
        let incident = found.id;
        let read = async {
            let kept = self.store.runbooks(found.service_id).await?;
            Ok::<_, onduty_store::StoreError>(for_incident(found, &kept).map(
                |chosen| match chosen {
                    Chosen::FromEvent(link) => Link {
                        href: link.href.clone(),
                        text: Some(link.text.clone().unwrap_or_else(|| "Runbook".to_owned())),
                    },
                    Chosen::Kept(runbook) => Link {
                        href: runbook.body.url().map(str::to_owned).unwrap_or_else(|| {
                            format!(
                                "{}/incidents/{number}#runbook",
                                self.config.public_url.trim_end_matches('/')
                            )
                        }),
                        text: Some(if runbook.title.is_empty() {
                            "Runbook".to_owned()
                        } else {
                            runbook.title.clone()
                        }),
                    },
                },
            ))
        };
        match read.await {
            Ok(link) => link,
            Err(e) => {
                tracing::warn!(error = %e, %incident, "a runbook could not be read; the message goes without it");
                None
            }
        }
    }
}
