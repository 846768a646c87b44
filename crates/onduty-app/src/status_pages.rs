//! Managing public status pages: pages and components (admins), public incidents,
//! scheduled maintenance and their updates (responders and admins).

use onduty_core::account::TimeZoneName;
use onduty_core::audit::Change;
use onduty_core::status_page::{
    ComponentStatus, Impact, REMIND_EVERY_MINUTES, Slug, Stage, StatusPageError, Title, UpdateBody,
};
use onduty_core::{ComponentId, ServiceId, StatusIncidentId, Timestamp};
use onduty_store::status_pages::{
    Component, NewComponent, NewStatusIncident, NewStatusPage, NewUpdate, StatusIncident,
    StatusPage,
};

use crate::{Acting, App, AppError};

/// Longest a scheduled maintenance lasts: a week.
const LONGEST_MAINTENANCE_MS: i64 = 7 * 24 * 3_600_000;

/// Components an update may name at once.
const MOST_COMPONENTS: usize = 100;

fn invalid(e: StatusPageError) -> AppError {
    AppError::Invalid(e.to_string())
}

/// A status page as a door received it.
#[derive(Debug, Clone, Default)]
pub struct StatusPageInput {
    pub slug: String,
    pub name: String,
    /// A host name of its own (`status.example.com`).
    pub host: Option<String>,
    /// IANA name; default UTC.
    pub time_zone: Option<String>,
    /// Publish the drafts made when a linked service's incident opens at once, without
    /// waiting for a person.
    pub auto_publish: bool,
    /// How often a public incident left open after its onduty incident is resolved is
    /// reminded of: 5 to 1440 minutes; default 30.
    pub remind_every_minutes: Option<u32>,
}

/// A component (or a group) as a door received it.
#[derive(Debug, Clone, Default)]
pub struct ComponentInput {
    pub name: String,
    pub description: Option<String>,
    /// The group's id or name.
    pub group: Option<String>,
    pub is_group: bool,
    /// Default `operational`.
    pub status: Option<String>,
    pub only_show_if_degraded: bool,
    /// The onduty service it stands for: id or name.
    pub service: Option<String>,
}

/// An update as a door received it: a status word, what is known, and the components'
/// new states (component id or name, state).
#[derive(Debug, Clone, Default)]
pub struct StatusUpdateInput {
    pub status: String,
    pub body: String,
    pub components: Vec<(String, String)>,
    /// A template (id or name) filling in what is left blank.
    pub template: Option<String>,
}

/// A public incident or, with `scheduled`, a maintenance, as a door received it.
#[derive(Debug, Clone, Default)]
pub struct StatusIncidentInput {
    pub name: String,
    /// Default: what its components' states make of it (`none` if it names none), or
    /// `maintenance` for a maintenance.
    pub impact: Option<String>,
    /// From when to when a maintenance is planned.
    pub scheduled: Option<(Timestamp, Timestamp)>,
    /// For a maintenance: the services behind its components page nobody meanwhile
    /// (an onduty maintenance window over the same span).
    pub quiet_paging: bool,
    /// The onduty incident it tells of (number or id): both link to each other, its
    /// timeline records what is published, and once it is resolved while this is not,
    /// reminders follow.
    pub incident: Option<String>,
    pub first: StatusUpdateInput,
}

/// A host name, as a browser sends it.
fn host_name(text: &str) -> Result<String, AppError> {
    onduty_core::status_page::parse_host(text).map_err(AppError::Invalid)
}

pub(crate) fn parse_page(input: &StatusPageInput) -> Result<NewStatusPage, AppError> {
    let time_zone = match input.time_zone.as_deref().map(str::trim) {
        None | Some("") => TimeZoneName::utc(),
        Some(t) => {
            TimeZoneName::parse(t).map_err(|e| AppError::Invalid(format!("'time_zone': {e}")))?
        }
    };
    let remind_every_minutes = input.remind_every_minutes.unwrap_or(30);
    if !REMIND_EVERY_MINUTES.contains(&remind_every_minutes) {
        return Err(AppError::Invalid(format!(
            "'remind_every_minutes' is {} to {}",
            REMIND_EVERY_MINUTES.start(),
            REMIND_EVERY_MINUTES.end()
        )));
    }
    Ok(NewStatusPage {
        slug: Slug::parse(&input.slug).map_err(invalid)?,
        name: Title::parse("name", &input.name).map_err(invalid)?,
        host: input
            .host
            .as_deref()
            .filter(|h| !h.trim().is_empty())
            .map(host_name)
            .transpose()?,
        time_zone: time_zone.as_str().to_owned(),
        auto_publish: input.auto_publish,
        remind_every_minutes,
    })
}

impl App {
    /// Makes a public status page (admins).
    pub async fn create_status_page(
        &self,
        acting: &Acting,
        input: StatusPageInput,
    ) -> Result<StatusPage, AppError> {
        acting.require_admin()?;
        self.configuring(acting, "status_page.create", input.slug.clone(), async {
            let page = parse_page(&input)?;
            let made = self.store.create_status_page(&page, self.now()).await?;
            self.status_changed();
            Ok(made)
        })
        .await
    }

    /// Changes a page's settings (admins): all of `input` but its slug, which stays.
    pub async fn update_status_page(
        &self,
        acting: &Acting,
        page: &str,
        input: StatusPageInput,
    ) -> Result<StatusPage, AppError> {
        acting.require_admin()?;
        self.configuring(acting, "status_page.update", page, async {
            let existing = self.find_status_page(page).await?;
            let new = parse_page(&StatusPageInput {
                slug: existing.slug.clone(),
                ..input
            })?;
            let changed = self
                .store
                .update_status_page(existing.id, &new, self.now())
                .await?;
            self.status_changed();
            Ok(changed)
        })
        .await
    }

    /// A status page by id or slug.
    pub async fn find_status_page(&self, text: &str) -> Result<StatusPage, AppError> {
        let found = match text.parse() {
            Ok(id) => self.store.status_page(id).await,
            Err(_) => self.store.status_page_by_slug(text).await,
        };
        Ok(found?)
    }

    /// Adds a component or a group to a page (admins).
    pub async fn create_component(
        &self,
        acting: &Acting,
        page: &str,
        input: ComponentInput,
    ) -> Result<Component, AppError> {
        acting.require_admin()?;
        self.configuring(acting, "status_component.create", page, async {
            let page = self.find_status_page(page).await?;
            let components = self.store.components(page.id).await?;
            let group = match input.group.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(g) => Some(component_named(&components, g)?),
            };
            let service: Option<ServiceId> = match input.service.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(s) => Some(self.find_service(s).await?.id),
            };
            let description = input.description.unwrap_or_default();
            if description.chars().count() > 1_000 {
                return Err(AppError::Invalid(
                    "'description' is 1,000 characters at most".to_owned(),
                ));
            }
            let new = NewComponent {
                name: Title::parse("name", &input.name).map_err(invalid)?,
                description: description.trim().to_owned(),
                group,
                is_group: input.is_group,
                status: match input.status.as_deref() {
                    None | Some("") => ComponentStatus::Operational,
                    Some(s) => ComponentStatus::parse(s).map_err(invalid)?,
                },
                only_show_if_degraded: input.only_show_if_degraded,
                service,
            };
            if new.is_group && new.group.is_some() {
                return Err(AppError::Invalid(
                    "a group cannot be in another group".to_owned(),
                ));
            }
            let made = self
                .store
                .create_component(page.id, &new, self.now())
                .await?;
            self.status_changed();
            Ok(made)
        })
        .await
    }

    /// Opens a public incident, or schedules a maintenance, with its first update
    /// (responders and admins). The components it names take their states at once.
    pub async fn open_status_incident(
        &self,
        acting: &Acting,
        page: &str,
        input: StatusIncidentInput,
    ) -> Result<StatusIncident, AppError> {
        acting.require_responder()?;
        self.recorded(
            acting,
            "status_incident.open",
            page,
            async {
                let page = self.find_status_page(page).await?;
                let components = self.store.components(page.id).await?;
                let mut input = input;
                self.fill_from_template(page.id, Some(&mut input.name), &mut input.first)
                    .await?;
                let maintenance = input.scheduled.is_some();
                let first = if input.first.status.trim().is_empty() && maintenance {
                    StatusUpdateInput {
                        status: "scheduled".to_owned(),
                        ..input.first
                    }
                } else if input.first.status.trim().is_empty() {
                    StatusUpdateInput {
                        status: "investigating".to_owned(),
                        ..input.first
                    }
                } else {
                    input.first
                };
                let first = parse_update(&components, maintenance, &first)?;
                if first.stage.is_over() && !maintenance {
                    return Err(AppError::Invalid(
                        "a new public incident cannot be resolved already".to_owned(),
                    ));
                }
                let now = self.now();
                if let Some((from, until)) = input.scheduled {
                    let span = until.as_millis() - from.as_millis();
                    if span <= 0 || span > LONGEST_MAINTENANCE_MS || until <= now {
                        return Err(AppError::Invalid(
                            "a maintenance ends after it starts, in the future, and lasts a week at most"
                                .to_owned(),
                        ));
                    }
                }
                let impact = match input.impact.as_deref().map(str::trim) {
                    Some(i) if !i.is_empty() => Impact::parse(i).map_err(invalid)?,
                    _ if maintenance => Impact::Maintenance,
                    _ => first
                        .components
                        .iter()
                        .map(|(_, s)| s.impact())
                        .fold(Impact::None, Impact::worst),
                };
                // Everything is checked before paging is quieted.
                let name = Title::parse("name", &input.name).map_err(invalid)?;
                let incident = match input.incident.as_deref().map(str::trim) {
                    None | Some("") => None,
                    Some(text) => {
                        let r: onduty_core::IncidentRef = text.parse().map_err(|_| {
                            AppError::Invalid(format!("'incident' {text} is not an incident number or id"))
                        })?;
                        Some(self.store.incident(r).await?.id)
                    }
                };
                let quiet = match input.scheduled {
                    Some(span) if input.quiet_paging => {
                        let services: Vec<ServiceId> = first
                            .components
                            .iter()
                            .filter_map(|(id, _)| components.iter().find(|c| c.id == *id)?.service)
                            .collect();
                        if services.is_empty() {
                            return Err(AppError::Invalid(
                                "to quiet paging, name a component linked to a service".to_owned(),
                            ));
                        }
                        Some((span, services))
                    }
                    _ => None,
                };
                let window = match quiet {
                    Some(((from, until), services)) => {
                        let reason = format!("Status page maintenance: {}", name.as_str());
                        let reason: String = reason.chars().take(500).collect();
                        let made = self
                            .store
                            .create_maintenance(&services, from, until, &reason, Some(acting.user.id), now)
                            .await?;
                        self.wake_engine();
                        Some(made.id)
                    }
                    None => None,
                };
                let new = NewStatusIncident {
                    name,
                    impact,
                    started_at: input.scheduled.map_or(now, |(from, _)| from),
                    scheduled: input.scheduled,
                    window,
                    incident,
                    by: acting.actor(),
                    draft: false,
                    first,
                };
                let made = match self.store.create_status_incident(page.id, &new, now).await {
                    Ok(made) => made,
                    Err(e) => {
                        // No public maintenance, no quiet paging.
                        if let Some(w) = window {
                            let _ = self.store.end_maintenance(w, now).await;
                            self.wake_engine();
                        }
                        return Err(e.into());
                    }
                };
                self.status_changed();
                Ok(made)
            },
            |x| Change::of(None::<()>, Some(serde_json::json!({"id": x.id.to_string(), "name": x.name, "stage": x.stage.as_str(), "impact": x.impact.as_str()}))),
        )
        .await
    }

    /// Posts an update to a public incident or maintenance of `page` (responders and
    /// admins): it takes the update's status, and the components named their states.
    pub async fn post_status_update(
        &self,
        acting: &Acting,
        page: &str,
        incident: &str,
        input: StatusUpdateInput,
    ) -> Result<StatusIncident, AppError> {
        acting.require_responder()?;
        self.recorded(
            acting,
            "status_incident.update",
            format!("{page}: {incident}"),
            async {
                let existing = self.status_incident_on(page, incident).await?;
                if existing.draft {
                    return Err(AppError::Invalid(
                        "this public incident is a draft: publish it first".to_owned(),
                    ));
                }
                let id = existing.id;
                let components = self.store.components(existing.page).await?;
                let mut input = input;
                self.fill_from_template(existing.page, None, &mut input)
                    .await?;
                let update = parse_update(&components, existing.is_maintenance(), &input)?;
                let posted = self
                    .store
                    .post_status_update(id, &update, &acting.actor(), self.now())
                    .await?;
                self.status_changed();
                Ok(posted)
            },
            |x| Change::of(None::<()>, Some(serde_json::json!({"name": x.name, "stage": x.stage.as_str(), "impact": x.impact.as_str()}))),
        )
        .await
    }

    /// Keeps a public incident open on purpose though its onduty incident is resolved
    /// (responders and admins): the reminders stop.
    pub async fn keep_status_incident_open(
        &self,
        acting: &Acting,
        page: &str,
        incident: &str,
    ) -> Result<StatusIncident, AppError> {
        acting.require_responder()?;
        self.recorded(
            acting,
            "status_incident.keep_open",
            format!("{page}: {incident}"),
            async {
                let existing = self.status_incident_on(page, incident).await?;
                Ok(self.store.keep_status_incident_open(existing.id).await?)
            },
            |x| {
                Change::of(
                    None::<()>,
                    Some(serde_json::json!({"keep_open": x.keep_open})),
                )
            },
        )
        .await
    }

    /// Publishes a draft (responders and admins): shown from now on, its components take
    /// the states it proposed.
    pub async fn publish_status_draft(
        &self,
        acting: &Acting,
        page: &str,
        incident: &str,
    ) -> Result<StatusIncident, AppError> {
        acting.require_responder()?;
        self.recorded(
            acting,
            "status_incident.publish",
            format!("{page}: {incident}"),
            async {
                let draft = self.status_incident_on(page, incident).await?;
                let published = self
                    .store
                    .publish_status_draft(draft.id, &acting.actor(), self.now())
                    .await?;
                self.status_changed();
                Ok(published)
            },
            |x| {
                Change::of(
                    None::<()>,
                    Some(serde_json::json!({"name": x.name, "stage": x.stage.as_str()})),
                )
            },
        )
        .await
    }

    /// A public incident of `page`, by id.
    pub(crate) async fn status_incident_on(
        &self,
        page: &str,
        incident: &str,
    ) -> Result<StatusIncident, AppError> {
        let page = self.find_status_page(page).await?;
        let missing = || {
            AppError::NotFound(format!(
                "public incident '{incident}' not found on this page"
            ))
        };
        let id: StatusIncidentId = incident.parse().map_err(|_| missing())?;
        let existing = self.store.status_incident(id).await?;
        if existing.page != page.id {
            return Err(missing());
        }
        Ok(existing)
    }
}

/// The component of `components` whose id or name is `text`.
pub(crate) fn component_named(
    components: &[Component],
    text: &str,
) -> Result<ComponentId, AppError> {
    components
        .iter()
        .find(|c| c.id.to_string() == text || c.name == text)
        .map(|c| c.id)
        .ok_or_else(|| {
            AppError::Invalid(format!(
                "no component '{}' on this status page",
                text.chars().take(64).collect::<String>()
            ))
        })
}

pub(crate) fn parse_update(
    components: &[Component],
    maintenance: bool,
    input: &StatusUpdateInput,
) -> Result<NewUpdate, AppError> {
    if input.components.len() > MOST_COMPONENTS {
        return Err(AppError::Invalid(format!(
            "an update names {MOST_COMPONENTS} components at most"
        )));
    }
    let mut named = Vec::with_capacity(input.components.len());
    for (component, status) in &input.components {
        let id = component_named(components, component.trim())?;
        if components.iter().any(|c| c.id == id && c.is_group) {
            return Err(AppError::Invalid(format!(
                "'{component}' is a group: name its components"
            )));
        }
        let status = ComponentStatus::parse(status).map_err(invalid)?;
        named.retain(|(other, _)| *other != id);
        named.push((id, status));
    }
    Ok(NewUpdate {
        stage: Stage::parse(maintenance, &input.status).map_err(invalid)?,
        body: UpdateBody::parse(&input.body).map_err(invalid)?,
        components: named,
    })
}

#[cfg(test)]
mod tests {
    use onduty_core::status_page::{IncidentStatus, MaintenanceStatus};

    use super::*;

    #[test]
    fn host_names_are_lower_cased_and_checked() {
        assert_eq!(
            host_name("Status.Example.COM.").unwrap(),
            "status.example.com"
        );
        for bad in [
            "localhost",
            "a..b",
            "-a.b",
            "a b.c",
            "a/b.c",
            "ex ample.com",
            "",
        ] {
            assert!(host_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_update_names_components_by_id_or_name_and_refuses_others() {
        let page = onduty_core::StatusPageId::new(Timestamp::from_millis(0));
        let component = |name: &str, is_group| Component {
            id: ComponentId::new(Timestamp::from_millis(1)),
            page,
            group: None,
            is_group,
            name: name.to_owned(),
            description: String::new(),
            position: 1,
            status: ComponentStatus::Operational,
            only_show_if_degraded: false,
            service: None,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        };
        let components = [component("API", false), component("Regions", true)];
        let input = |status: &str, named: &[(&str, &str)]| StatusUpdateInput {
            status: status.to_owned(),
            body: "Looking.".to_owned(),
            components: named
                .iter()
                .map(|(c, s)| ((*c).to_owned(), (*s).to_owned()))
                .collect(),
            template: None,
        };
        let id = components[0].id.to_string();
        let parsed = parse_update(
            &components,
            false,
            &input(
                "identified",
                &[("API", "partial_outage"), (&id, "major_outage")],
            ),
        )
        .unwrap();
        // Named twice: the last state wins.
        assert_eq!(
            parsed.components,
            vec![(components[0].id, ComponentStatus::MajorOutage)]
        );
        assert_eq!(parsed.stage, Stage::Incident(IncidentStatus::Identified));
        let refused = |i: StatusUpdateInput, maintenance| {
            parse_update(&components, maintenance, &i)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            refused(input("identified", &[("Web", "operational")]), false),
            "no component 'Web' on this status page"
        );
        assert!(
            refused(input("identified", &[("API", "down")]), false)
                .starts_with("'status' must be one of")
        );
        assert!(
            refused(input("identified", &[("Regions", "major_outage")]), false)
                .contains("is a group")
        );
        assert!(
            refused(input("fixed", &[]), false)
                .starts_with("'status' must be one of investigating")
        );
        assert_eq!(
            parse_update(&components, true, &input("verifying", &[]))
                .unwrap()
                .stage,
            Stage::Maintenance(MaintenanceStatus::Verifying)
        );
    }
}
