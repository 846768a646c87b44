//! Runbooks (responders and admins write them, everyone reads them): kept per service and
//! per alert, every version kept; and the runbook an incident shows.

use onduty_core::audit::Change;
use onduty_core::incident::Incident;
use onduty_core::runbook::{self, Chosen, RunbookBody, RunbookScope};
use onduty_core::{RunbookId, ServiceId};
use onduty_store::runbooks::{Runbook, RunbookRevision, RunbookText};

use crate::{Acting, App, AppError};

/// A runbook as a door received it.
#[derive(Debug, Clone, Default)]
pub struct RunbookInput {
    /// Which incidents: `service` (default), `alertname`, `dedup_key` or `summary`.
    pub matching: String,
    /// The alert name or the pattern (`*`, `?`, `[abc]`); empty for the whole service.
    pub pattern: String,
    pub title: String,
    /// A link to where the runbook is kept, or
    pub url: Option<String>,
    /// the runbook itself, in Markdown.
    pub markdown: Option<String>,
    /// For an edit: the version it was made from, so that an edit made meanwhile is not
    /// overwritten.
    pub version: Option<i64>,
}

/// The runbook an incident shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncidentRunbook {
    /// The event's own link.
    FromEvent { href: String, title: String },
    /// One kept in onduty.
    Kept(Runbook),
}

impl IncidentRunbook {
    /// What its link says.
    pub fn title(&self) -> &str {
        match self {
            IncidentRunbook::FromEvent { title, .. } => title,
            IncidentRunbook::Kept(r) if r.title.is_empty() => "Runbook",
            IncidentRunbook::Kept(r) => &r.title,
        }
    }

    /// Where it is kept, when outside onduty.
    pub fn external_url(&self) -> Option<&str> {
        match self {
            IncidentRunbook::FromEvent { href, .. } => Some(href),
            IncidentRunbook::Kept(r) => r.body.url(),
        }
    }
}

/// The runbook an incident shows, among its service's `kept` runbooks (pure: the engine
/// uses it too, with runbooks it read itself).
pub fn incident_runbook(incident: &Incident, kept: &[Runbook]) -> Option<IncidentRunbook> {
    runbook::for_incident(incident, kept).map(|chosen| match chosen {
        Chosen::FromEvent(link) => IncidentRunbook::FromEvent {
            href: link.href.clone(),
            title: link
                .text
                .clone()
                .filter(|t| !t.trim().is_empty())
                .unwrap_or_else(|| "Runbook".to_owned()),
        },
        Chosen::Kept(r) => IncidentRunbook::Kept(r.clone()),
    })
}

fn invalid(e: runbook::RunbookError) -> AppError {
    AppError::Invalid(e.to_string())
}

fn parse(input: &RunbookInput) -> Result<RunbookText, AppError> {
    Ok(RunbookText {
        scope: RunbookScope::parse(&input.matching, &input.pattern).map_err(invalid)?,
        title: runbook::parse_title(&input.title).map_err(invalid)?,
        body: RunbookBody::parse(input.url.as_deref(), input.markdown.as_deref())
            .map_err(invalid)?,
    })
}

impl App {
    /// Keeps a runbook for a service's incidents (responders and admins).
    pub async fn create_runbook(
        &self,
        acting: &Acting,
        service: &str,
        input: &RunbookInput,
    ) -> Result<Runbook, AppError> {
        acting.require_responder()?;
        self.recorded(
            acting,
            "runbook.create",
            service,
            async {
                let service = self.find_service(service).await?;
                let text = parse(input)?;
                Ok(self
                    .store
                    .create_runbook(service.id, &text, &acting.actor(), self.now())
                    .await?)
            },
            |x| {
                Change::of(
                    None::<()>,
                    Some(serde_json::json!({"id": x.id.to_string(), "title": x.title})),
                )
            },
        )
        .await
    }

    /// Writes a new version of a runbook (responders and admins).
    pub async fn update_runbook(
        &self,
        acting: &Acting,
        service: &str,
        id: &str,
        input: &RunbookInput,
    ) -> Result<Runbook, AppError> {
        acting.require_responder()?;
        self.recorded(
            acting,
            "runbook.update",
            format!("{service}: {id}"),
            async {
                let found = self.runbook_of(service, id).await?;
                let text = parse(input)?;
                Ok(self
                    .store
                    .update_runbook(found.id, &text, input.version, &acting.actor(), self.now())
                    .await?)
            },
            |x| {
                Change::of(
                    None::<()>,
                    Some(serde_json::json!({"title": x.title, "version": x.version})),
                )
            },
        )
        .await
    }

    /// Removes a runbook and its history (responders and admins).
    pub async fn delete_runbook(
        &self,
        acting: &Acting,
        service: &str,
        id: &str,
    ) -> Result<(), AppError> {
        acting.require_responder()?;
        self.recorded(
            acting,
            "runbook.delete",
            format!("{service}: {id}"),
            async {
                let found = self.runbook_of(service, id).await?;
                Ok(self.store.delete_runbook(found.id).await?)
            },
            |_| Change::none(),
        )
        .await
    }

    /// A service's runbooks, oldest first.
    pub async fn runbooks(&self, service: &str) -> Result<Vec<Runbook>, AppError> {
        let service = self.find_service(service).await?;
        Ok(self.store.runbooks(service.id).await?)
    }

    /// A runbook of a service, with every version it had, newest first.
    pub async fn runbook_history(
        &self,
        service: &str,
        id: &str,
    ) -> Result<(Runbook, Vec<RunbookRevision>), AppError> {
        let found = self.runbook_of(service, id).await?;
        let history = self.store.runbook_revisions(found.id).await?;
        Ok((found, history))
    }

    /// The runbook an incident shows, if any.
    pub async fn runbook_for(
        &self,
        incident: &Incident,
    ) -> Result<Option<IncidentRunbook>, AppError> {
        let kept = self.store.runbooks(incident.service_id).await?;
        Ok(incident_runbook(incident, &kept))
    }

    /// The runbook `id` of the service named `service`: one of another service is not
    /// found.
    pub async fn runbook_of(&self, service: &str, id: &str) -> Result<Runbook, AppError> {
        let service: ServiceId = self.find_service(service).await?.id;
        let not_found = || {
            AppError::NotFound(format!(
                "no runbook '{}' on this service",
                id.chars().take(64).collect::<String>()
            ))
        };
        let id: RunbookId = id.trim().parse().map_err(|_| not_found())?;
        let found = self.store.runbook(id).await.map_err(|e| match e {
            onduty_store::StoreError::NotFound(_) => not_found(),
            other => other.into(),
        })?;
        if found.service != service {
            return Err(not_found());
        }
        Ok(found)
    }
}
