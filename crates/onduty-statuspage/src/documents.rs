//! Statuspage's public API documents (`/api/v2/summary.json` and the rest), with its field
//! names and meanings, drawn from a [`Snapshot`]. Statuspage's clients read them as they
//! read Atlassian Statuspage.

use onduty_core::Timestamp;
use onduty_core::status_page::{ComponentStatus, IncidentStatus, Stage};
use onduty_store::status_pages::{AffectedComponent, Component, StatusIncident, StatusPage};
use serde::Serialize;

use crate::snapshot::Snapshot;

/// Statuspage's times: ISO 8601 in UTC, with milliseconds.
fn time(t: Timestamp) -> String {
    t.to_rfc3339()
}

#[derive(Serialize)]
pub struct PageView {
    id: String,
    name: String,
    url: String,
    time_zone: String,
    updated_at: String,
}

#[derive(Serialize)]
pub struct StatusView {
    indicator: &'static str,
    description: &'static str,
}

#[derive(Serialize)]
pub struct ComponentView {
    id: String,
    name: String,
    status: &'static str,
    created_at: String,
    updated_at: String,
    position: i64,
    description: Option<String>,
    showcase: bool,
    start_date: Option<String>,
    group_id: Option<String>,
    page_id: String,
    group: bool,
    only_show_if_degraded: bool,
    /// A group's components (ids); absent for a component.
    #[serde(skip_serializing_if = "Option::is_none")]
    components: Option<Vec<String>>,
}

#[derive(Serialize)]
pub struct UpdateView {
    id: String,
    status: &'static str,
    body: String,
    incident_id: String,
    created_at: String,
    updated_at: String,
    display_at: String,
    affected_components: Vec<AffectedComponent>,
    deliver_notifications: bool,
    custom_tweet: Option<String>,
    tweet_id: Option<String>,
}

#[derive(Serialize)]
pub struct IncidentView {
    id: String,
    name: String,
    status: &'static str,
    created_at: String,
    updated_at: String,
    monitoring_at: Option<String>,
    resolved_at: Option<String>,
    impact: &'static str,
    shortlink: String,
    started_at: String,
    page_id: String,
    incident_updates: Vec<UpdateView>,
    components: Vec<ComponentView>,
    /// A scheduled maintenance's span; absent for an incident.
    #[serde(skip_serializing_if = "Option::is_none")]
    scheduled_for: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scheduled_until: Option<String>,
    /// A published postmortem shown with a resolved incident (then its status reads
    /// `postmortem`, as on Statuspage): Markdown.
    #[serde(skip_serializing_if = "Option::is_none")]
    postmortem_body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    postmortem_published_at: Option<String>,
}

#[derive(Serialize)]
pub struct Summary {
    page: PageView,
    components: Vec<ComponentView>,
    incidents: Vec<IncidentView>,
    scheduled_maintenances: Vec<IncidentView>,
    status: StatusView,
}

#[derive(Serialize)]
pub struct StatusDoc {
    page: PageView,
    status: StatusView,
}

#[derive(Serialize)]
pub struct ComponentsDoc {
    page: PageView,
    components: Vec<ComponentView>,
}

#[derive(Serialize)]
pub struct IncidentsDoc {
    page: PageView,
    incidents: Vec<IncidentView>,
}

#[derive(Serialize)]
pub struct MaintenancesDoc {
    page: PageView,
    scheduled_maintenances: Vec<IncidentView>,
}

/// At most this many incidents (and maintenances) in the lists of past ones.
const LISTED: usize = 50;

impl Snapshot {
    fn page_view(&self, url: &str) -> PageView {
        PageView {
            id: self.page.id.to_string(),
            name: self.page.name.clone(),
            url: url.to_owned(),
            time_zone: self.page.time_zone.clone(),
            updated_at: time(self.page.updated_at),
        }
    }

    fn status_view(&self) -> StatusView {
        StatusView {
            indicator: self.indicator.as_str(),
            description: self.indicator.description(),
        }
    }

    pub fn component_view(&self, c: &Component) -> ComponentView {
        ComponentView {
            id: c.id.to_string(),
            name: c.name.clone(),
            status: c.status.as_str(),
            created_at: time(c.created_at),
            updated_at: time(c.updated_at),
            position: c.position,
            description: Some(c.description.clone()).filter(|d| !d.is_empty()),
            showcase: true,
            start_date: None,
            group_id: c.group.map(|g| g.to_string()),
            page_id: c.page.to_string(),
            group: c.is_group,
            only_show_if_degraded: c.only_show_if_degraded,
            components: c.is_group.then(|| {
                self.components
                    .iter()
                    .filter(|m| m.group == Some(c.id))
                    .map(|m| m.id.to_string())
                    .collect()
            }),
        }
    }

    fn components_view(&self) -> Vec<ComponentView> {
        self.components
            .iter()
            .map(|c| self.component_view(c))
            .collect()
    }

    pub fn incident_view(&self, i: &StatusIncident, url: &str) -> IncidentView {
        let postmortem = self
            .postmortems
            .get(&i.id)
            .filter(|_| i.stage == Stage::Incident(IncidentStatus::Resolved));
        IncidentView {
            id: i.id.to_string(),
            name: i.name.clone(),
            status: if postmortem.is_some() {
                "postmortem"
            } else {
                i.stage.as_str()
            },
            created_at: time(i.created_at),
            updated_at: time(i.updated_at),
            monitoring_at: i.monitoring_at.map(time),
            // A maintenance the clock completed ended when it was planned to.
            resolved_at: i
                .resolved_at
                .or(match (i.stage.is_over(), i.scheduled) {
                    (true, Some((_, until))) => Some(until),
                    _ => None,
                })
                .map(time),
            impact: i.impact.as_str(),
            shortlink: format!("{url}#incident-{}", i.id),
            started_at: time(i.started_at),
            page_id: i.page.to_string(),
            incident_updates: i
                .updates
                .iter()
                .map(|u| UpdateView {
                    id: u.id.to_string(),
                    status: u.stage.as_str(),
                    body: u.body.clone(),
                    incident_id: i.id.to_string(),
                    created_at: time(u.created_at),
                    updated_at: time(u.created_at),
                    display_at: time(u.created_at),
                    affected_components: u.affected.clone(),
                    deliver_notifications: true,
                    custom_tweet: None,
                    tweet_id: None,
                })
                .collect(),
            components: i
                .components
                .iter()
                .filter_map(|id| self.component(*id))
                .map(|c| self.component_view(c))
                .collect(),
            scheduled_for: i.scheduled.map(|(from, _)| time(from)),
            scheduled_until: i.scheduled.map(|(_, until)| time(until)),
            postmortem_body: postmortem.map(|p| p.body.clone()),
            postmortem_published_at: postmortem.map(|p| time(p.published_at)),
        }
    }

    fn incidents_view<'a>(
        &self,
        incidents: impl Iterator<Item = &'a StatusIncident>,
        url: &str,
    ) -> Vec<IncidentView> {
        incidents
            .take(LISTED)
            .map(|i| self.incident_view(i, url))
            .collect()
    }

    pub fn summary(&self, url: &str) -> Summary {
        let mut maintenances: Vec<&StatusIncident> = self.active_maintenance().collect();
        maintenances.extend(self.upcoming_maintenance());
        Summary {
            page: self.page_view(url),
            components: self.components_view(),
            incidents: self.incidents_view(self.unresolved(), url),
            scheduled_maintenances: self.incidents_view(maintenances.into_iter(), url),
            status: self.status_view(),
        }
    }

    pub fn status_doc(&self, url: &str) -> StatusDoc {
        StatusDoc {
            page: self.page_view(url),
            status: self.status_view(),
        }
    }

    pub fn components_doc(&self, url: &str) -> ComponentsDoc {
        ComponentsDoc {
            page: self.page_view(url),
            components: self.components_view(),
        }
    }

    pub fn incidents_doc(&self, url: &str, unresolved_only: bool) -> IncidentsDoc {
        let incidents = if unresolved_only {
            self.incidents_view(self.unresolved(), url)
        } else {
            self.incidents_view(self.incidents.iter(), url)
        };
        IncidentsDoc {
            page: self.page_view(url),
            incidents,
        }
    }

    pub fn maintenances_doc(&self, url: &str, which: Which) -> MaintenancesDoc {
        let chosen = match which {
            Which::All => self.incidents_view(self.maintenances.iter(), url),
            Which::Upcoming => self.incidents_view(self.upcoming_maintenance(), url),
            Which::Active => self.incidents_view(self.active_maintenance(), url),
        };
        MaintenancesDoc {
            page: self.page_view(url),
            scheduled_maintenances: chosen,
        }
    }
}

/// Which scheduled maintenances a document lists.
#[derive(Clone, Copy)]
pub enum Which {
    All,
    Upcoming,
    Active,
}

/// Where the public reads a page: its own host name, or `/status/<slug>` under onduty's
/// public URL.
pub fn public_address(public_url: &str, page: &StatusPage) -> String {
    match &page.host {
        Some(host) => format!("https://{host}"),
        None => format!("{}/status/{}", public_url.trim_end_matches('/'), page.slug),
    }
}

/// What Statuspage's subscriber webhooks document their payloads with.
const WEBHOOK_DOCUMENTATION: &str = "https://doers.statuspage.io/customer-notifications/webhooks/";

impl Snapshot {
    /// The `meta` and `page` every subscriber webhook payload starts with.
    fn webhook_head(&self, unsubscribe: &str) -> serde_json::Map<String, serde_json::Value> {
        let mut head = serde_json::Map::new();
        head.insert(
            "meta".to_owned(),
            serde_json::json!({
                "unsubscribe": unsubscribe,
                "documentation": WEBHOOK_DOCUMENTATION,
                "generated_at": time(self.now),
            }),
        );
        head.insert(
            "page".to_owned(),
            serde_json::json!({
                "id": self.page.id.to_string(),
                "status_indicator": self.indicator.as_str(),
                "status_description": self.indicator.description(),
            }),
        );
        head
    }

    /// Statuspage's webhook payload for a public incident or maintenance, as it now is.
    pub fn incident_payload(
        &self,
        incident: &StatusIncident,
        url: &str,
        unsubscribe: &str,
    ) -> serde_json::Value {
        let mut payload = self.webhook_head(unsubscribe);
        payload.insert(
            "incident".to_owned(),
            serde_json::to_value(self.incident_view(incident, url)).unwrap_or_default(),
        );
        serde_json::Value::Object(payload)
    }

    /// Statuspage's webhook payload for a component's new state; `None` when the
    /// component is gone from the page.
    pub fn component_payload(
        &self,
        change: &ComponentChange,
        unsubscribe: &str,
    ) -> Option<serde_json::Value> {
        let component = self.components.iter().find(|c| c.id == change.component)?;
        let mut payload = self.webhook_head(unsubscribe);
        payload.insert(
            "component_update".to_owned(),
            serde_json::json!({
                "id": change.id,
                "component_id": component.id.to_string(),
                "created_at": time(change.at),
                "old_status": change.old.as_str(),
                "new_status": change.new.as_str(),
            }),
        );
        let mut view = serde_json::to_value(self.component_view(component)).unwrap_or_default();
        // The component as it was then: later changes have their own payloads.
        if let Some(fields) = view.as_object_mut() {
            fields.insert("status".to_owned(), change.new.as_str().into());
        }
        payload.insert("component".to_owned(), view);
        Some(serde_json::Value::Object(payload))
    }
}

/// A component's change of state, as a webhook tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentChange {
    /// The change's id in the payload.
    pub id: String,
    pub component: onduty_core::ComponentId,
    pub old: ComponentStatus,
    pub new: ComponentStatus,
    pub at: Timestamp,
}
