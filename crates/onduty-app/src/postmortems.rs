//! Postmortems (responders and admins write them, everyone reads them): started from one
//! or more incidents, edited while a draft or in review, published read-only except for
//! their action items, and exported as Markdown.

use onduty_core::audit::Change;
use onduty_core::incident::Incident;
use onduty_core::postmortem::{
    self, ActionLine, ComponentLine, Document, IncidentTimes, MOST_INCIDENTS, PostmortemError,
    PostmortemStatus, TimelineLine, components,
};
use onduty_core::{
    ActionItemId, ComponentId, IncidentId, IncidentRef, PostmortemId, Timestamp, UserId,
};
use onduty_store::postmortems::{
    ActionItem, ActionText, NewPostmortem, Postmortem, PostmortemText,
};

use onduty_core::status_page::{IncidentStatus, Stage};
use onduty_store::status_pages::{StatusIncident, StatusPage};

use crate::{Acting, App, AppError};

/// What a person writes in a postmortem, all at once.
#[derive(Debug, Clone, Default)]
pub struct PostmortemInput {
    pub title: String,
    /// E-mail or id; empty for nobody.
    pub owner: String,
    pub summary: String,
    pub contributing_factors: String,
    pub went_well: String,
    pub went_badly: String,
    /// The whole timeline: lines kept, marked, changed and added.
    pub timeline: Vec<TimelineLineInput>,
    /// The version this edit was made from.
    pub version: i64,
}

#[derive(Debug, Clone, Default)]
pub struct TimelineLineInput {
    /// RFC 3339.
    pub at: String,
    pub text: String,
    pub marked: bool,
    /// The incident it came from, kept from the draft.
    pub incident: Option<i64>,
}

/// An action item as a door received it.
#[derive(Debug, Clone, Default)]
pub struct ActionInput {
    pub text: String,
    /// E-mail or id; empty for nobody.
    pub owner: String,
    /// RFC 3339; empty for none.
    pub due: String,
    /// An issue in a tracker (http or https); empty for none.
    pub link: String,
    pub done: bool,
}

fn invalid(e: PostmortemError) -> AppError {
    AppError::Invalid(e.to_string())
}

fn when(field: &str, text: &str) -> Result<Timestamp, AppError> {
    Timestamp::parse(text).map_err(|_| {
        AppError::Invalid(format!(
            "'{field}' must be a time such as 2026-12-07T03:00:00Z"
        ))
    })
}

impl App {
    /// Starts a postmortem of one or more incidents (by number or id), owned by whoever
    /// starts it.
    pub async fn start_postmortem(
        &self,
        acting: &Acting,
        incidents: &[String],
    ) -> Result<Postmortem, AppError> {
        acting.require_responder()?;
        self.recorded(
            acting,
            "postmortem.start",
            incidents.join(", "),
            async {
                if incidents.is_empty() || incidents.len() > MOST_INCIDENTS {
                    return Err(AppError::Invalid(format!(
                        "'incidents' names 1 to {MOST_INCIDENTS} incidents"
                    )));
                }
                let mut found: Vec<Incident> = Vec::new();
                for text in incidents {
                    let r: IncidentRef = text
                        .trim()
                        .parse()
                        .map_err(|e: onduty_core::ids::IdError| AppError::Invalid(e.to_string()))?;
                    let incident = self.store.incident(r).await?;
                    if !found.iter().any(|i| i.id == incident.id) {
                        found.push(incident);
                    }
                }
                let mut entries = Vec::new();
                for incident in &found {
                    let page = self.store.timeline(incident.id, None, 1000).await?;
                    entries.extend(page.entries.into_iter().map(|e| (incident.number.0, e)));
                }
                let zone = onduty_core::account::time_zone(acting.user.time_zone.as_str())
                    .unwrap_or(jiff::tz::TimeZone::UTC);
                let refs: Vec<&Incident> = found.iter().collect();
                let due = self.store.org_settings().await?.postmortem_due();
                let drafted = postmortem::draft(&refs, &entries, due, &zone, self.now())
                    .ok_or_else(|| AppError::Invalid("'incidents' names no incident".to_owned()))?;
                Ok(self
                    .store
                    .create_postmortem(
                        &NewPostmortem {
                            title: drafted.title,
                            owner: Some(acting.user.id),
                            incidents: found.iter().map(|i| i.id).collect(),
                            timeline: drafted.timeline,
                            provisional_due: drafted.deadlines.provisional,
                            final_due: drafted.deadlines.final_due,
                        },
                        self.now(),
                    )
                    .await?)
            },
            |x| Change::of(None::<()>, Some(serde_json::json!({"id": x.id.to_string(), "title": x.title, "status": x.status.as_str()}))),
        )
        .await
    }

    pub async fn postmortem(&self, id: &str) -> Result<Postmortem, AppError> {
        let id: PostmortemId = id
            .trim()
            .parse()
            .map_err(|_| AppError::NotFound(format!("no postmortem '{}'", clip(id))))?;
        Ok(self.store.postmortem(id).await?)
    }

    /// Postmortems, newest first.
    pub async fn postmortems(&self) -> Result<Vec<Postmortem>, AppError> {
        Ok(self.store.list_postmortems(500).await?)
    }

    /// Writes what a postmortem says (not once published).
    pub async fn edit_postmortem(
        &self,
        acting: &Acting,
        id: &str,
        input: &PostmortemInput,
    ) -> Result<Postmortem, AppError> {
        acting.require_responder()?;
        self.recorded(
            acting,
            "postmortem.edit",
            id,
            async {
                let found = self.postmortem(id).await?;
                if !found.status.editable() {
                    return Err(AppError::Conflict(PostmortemError::Published.to_string()));
                }
                let timeline = input
                    .timeline
                    .iter()
                    .map(|l| {
                        Ok(TimelineLine {
                            at: when("timeline.at", &l.at)?,
                            text: postmortem::parse_line("timeline.text", &l.text).map_err(invalid)?,
                            marked: l.marked,
                            incident: l.incident,
                            kind: found
                                .timeline
                                .iter()
                                .find(|old| old.incident == l.incident && old.text == l.text.trim())
                                .and_then(|old| old.kind),
                        })
                    })
                    .collect::<Result<Vec<_>, AppError>>()?;
                let mut timeline = timeline;
                timeline.sort_by_key(|l| l.at);
                let text = PostmortemText {
                    title: postmortem::parse_line("title", &input.title).map_err(invalid)?,
                    owner: self.owner(&input.owner).await?,
                    summary: postmortem::parse_text("summary", &input.summary).map_err(invalid)?,
                    contributing_factors: postmortem::parse_text(
                        "contributing_factors",
                        &input.contributing_factors,
                    )
                    .map_err(invalid)?,
                    went_well: postmortem::parse_text("went_well", &input.went_well).map_err(invalid)?,
                    went_badly: postmortem::parse_text("went_badly", &input.went_badly).map_err(invalid)?,
                    timeline,
                };
                Ok(self
                    .store
                    .update_postmortem(found.id, &text, input.version, self.now())
                    .await?)
            },
            |x| Change::of(None::<()>, Some(serde_json::json!({"title": x.title, "summary": x.summary, "contributing_factors": x.contributing_factors, "went_well": x.went_well, "went_badly": x.went_badly, "version": x.version}))),
        )
        .await
    }

    /// Moves a postmortem on: `in_review`, back to `draft`, or `published`.
    pub async fn move_postmortem(
        &self,
        acting: &Acting,
        id: &str,
        status: &str,
    ) -> Result<Postmortem, AppError> {
        acting.require_responder()?;
        self.recorded(
            acting,
            "postmortem.move",
            id,
            async {
                let found = self.postmortem(id).await?;
                let to = PostmortemStatus::parse(status).map_err(invalid)?;
                let to = found
                    .status
                    .move_to(to)
                    .map_err(|e| AppError::Conflict(e.to_string()))?;
                if to == found.status {
                    return Ok(found);
                }
                Ok(self
                    .store
                    .set_postmortem_status(found.id, to, found.version, self.now())
                    .await?)
            },
            |x| {
                Change::of(
                    None::<()>,
                    Some(serde_json::json!({"status": x.status.as_str()})),
                )
            },
        )
        .await
    }

    /// Adds an action item (published postmortems too).
    pub async fn add_action_item(
        &self,
        acting: &Acting,
        id: &str,
        input: &ActionInput,
    ) -> Result<ActionItem, AppError> {
        acting.require_responder()?;
        self.recorded(
            acting,
            "postmortem.add_action_item",
            id,
            async {
                let found = self.postmortem(id).await?;
                let text = self.action_text(input).await?;
                let added = self
                    .store
                    .add_action_item(found.id, &text, self.now())
                    .await?;
                self.public_words_changed(&found);
                Ok(added)
            },
            |x| {
                Change::of(
                    None::<()>,
                    Some(serde_json::json!({"id": x.id.to_string(), "text": x.text})),
                )
            },
        )
        .await
    }

    /// Changes an action item, or marks it done (published postmortems too).
    pub async fn update_action_item(
        &self,
        acting: &Acting,
        id: &str,
        item: &str,
        input: &ActionInput,
    ) -> Result<ActionItem, AppError> {
        acting.require_responder()?;
        self.recorded(
            acting,
            "postmortem.update_action_item",
            format!("{id}: {item}"),
            async {
                let found = self.postmortem(id).await?;
                let item = action_id(item)?;
                let text = self.action_text(input).await?;
                let changed = self
                    .store
                    .update_action_item(found.id, item, &text, self.now())
                    .await?;
                self.public_words_changed(&found);
                Ok(changed)
            },
            |x| {
                Change::of(
                    None::<()>,
                    Some(serde_json::json!({"text": x.text, "done": x.done_at.is_some()})),
                )
            },
        )
        .await
    }

    pub async fn delete_action_item(
        &self,
        acting: &Acting,
        id: &str,
        item: &str,
    ) -> Result<(), AppError> {
        acting.require_responder()?;
        self.recorded(
            acting,
            "postmortem.delete_action_item",
            format!("{id}: {item}"),
            async {
                let found = self.postmortem(id).await?;
                self.store
                    .delete_action_item(found.id, action_id(item)?)
                    .await?;
                self.public_words_changed(&found);
                Ok(())
            },
            |_| Change::none(),
        )
        .await
    }

    /// A published postmortem's action items changed: a status page showing it shows
    /// them at once.
    fn public_words_changed(&self, found: &Postmortem) {
        if found.status == PostmortemStatus::Published {
            self.status_changed();
        }
    }

    /// Shows a published postmortem with a resolved public incident of status page `page`
    /// (responders and admins), or stops showing one (`postmortem` none). The public then
    /// reads its summary, contributing factors and action items there (see
    /// [`postmortem::public_markdown`]), and the incident's status reads `postmortem`.
    pub async fn show_postmortem_on_status_page(
        &self,
        acting: &Acting,
        page: &str,
        incident: &str,
        postmortem: Option<&str>,
    ) -> Result<StatusIncident, AppError> {
        acting.require_responder()?;
        self.recorded(
            acting,
            "status_incident.show_postmortem",
            format!("{page}: {incident}"),
            async {
                let public = self.status_incident_on(page, incident).await?;
                let shown = match postmortem {
                    None => None,
                    Some(text) => {
                        let found = self.postmortem(text).await?;
                        if found.status != PostmortemStatus::Published {
                            return Err(AppError::Conflict(
                                "only a published postmortem can be shown on a status page".to_owned(),
                            ));
                        }
                        if let Some(about) = public.incident
                            && !found.incidents.contains(&about)
                        {
                            return Err(AppError::Conflict(
                                "this public incident tells of an incident the postmortem is not about"
                                    .to_owned(),
                            ));
                        }
                        if public.is_maintenance()
                            || public.draft
                            || public.stage != Stage::Incident(IncidentStatus::Resolved)
                        {
                            return Err(AppError::Conflict(
                                "a postmortem is shown with a published, resolved public incident"
                                    .to_owned(),
                            ));
                        }
                        if found.summary.is_empty()
                            && found.contributing_factors.is_empty()
                            && found.actions.is_empty()
                        {
                            return Err(AppError::Conflict(
                                "the postmortem says nothing the public would read yet: write its \
                                 summary, contributing factors or action items first"
                                    .to_owned(),
                            ));
                        }
                        Some(found.id)
                    }
                };
                let changed = self
                    .store
                    .set_status_postmortem(public.id, shown, self.now())
                    .await?;
                self.status_changed();
                Ok(changed)
            },
            |_| Change::of(None::<()>, Some(serde_json::json!({"postmortem": postmortem}))),
        )
        .await
    }

    /// The published public incidents about a postmortem's incidents, with their status
    /// pages, oldest first: where it can be shown.
    pub async fn public_incidents_of(
        &self,
        found: &Postmortem,
    ) -> Result<Vec<(StatusPage, StatusIncident)>, AppError> {
        let mut out = Vec::new();
        for incident in &found.incidents {
            for public in self.store.status_incidents_of(*incident).await? {
                if public.draft
                    || out
                        .iter()
                        .any(|(_, p): &(_, StatusIncident)| p.id == public.id)
                {
                    continue;
                }
                out.push((self.store.status_page(public.page).await?, public));
            }
        }
        Ok(out)
    }

    /// Everything a postmortem's document shows, names looked up: for its Markdown and
    /// its printable page.
    pub async fn postmortem_document(&self, found: &Postmortem) -> Result<Document, AppError> {
        let users = self.store.list_users().await?;
        let name = |id: Option<UserId>| {
            id.map(|id| {
                users
                    .iter()
                    .find(|u| u.id == id)
                    .map(|u| u.name.to_string())
                    .unwrap_or_else(|| "(deleted user)".to_owned())
            })
        };
        let mut incidents = Vec::new();
        let mut times = Vec::new();
        for id in &found.incidents {
            let incident = self.store.incident(IncidentRef::Id(*id)).await?;
            times.push(IncidentTimes {
                created_at: incident.created_at,
                acknowledged_at: incident.acknowledged_at,
                resolved_at: incident.resolved_at,
            });
            incidents.push((incident.number.0, incident.summary));
        }
        let pages = self.store.pages_about(&found.incidents).await?;
        let components = self.affected_components(&found.incidents).await?;
        Ok(Document {
            title: found.title.clone(),
            status: found.status,
            owner: name(found.owner),
            incidents,
            impact: postmortem::impact(&times),
            pages: pages
                .into_iter()
                .map(|p| (p.person, p.channel, p.pages))
                .collect(),
            components,
            summary: found.summary.clone(),
            contributing_factors: found.contributing_factors.clone(),
            went_well: found.went_well.clone(),
            went_badly: found.went_badly.clone(),
            timeline: found.timeline.clone(),
            actions: found
                .actions
                .iter()
                .map(|a| ActionLine {
                    text: a.text.clone(),
                    owner: name(a.owner),
                    due: a.due_at,
                    link: a.link.clone(),
                    done: a.done_at.is_some(),
                })
                .collect(),
            provisional_due: found.provisional_due,
            final_due: found.final_due,
        })
    }

    /// The status-page components that published public incidents about `incidents`
    /// told of, and how each fared while they were open (until now for one still open).
    async fn affected_components(
        &self,
        incidents: &[IncidentId],
    ) -> Result<Vec<ComponentLine>, AppError> {
        // Each component's spans: one per published public incident that told of it,
        // until it resolved (until now while it is open, or open again).
        let mut spans: Vec<(ComponentId, Vec<(Timestamp, Timestamp)>)> = Vec::new();
        for incident in incidents {
            for public in self.store.status_incidents_of(*incident).await? {
                if public.draft {
                    continue;
                }
                let until = match public.resolved_at {
                    Some(at) if public.stage.is_over() => at,
                    _ => self.now(),
                };
                for component in &public.components {
                    match spans.iter_mut().find(|(c, _)| c == component) {
                        Some((_, list)) => list.push((public.started_at, until)),
                        None => spans.push((*component, vec![(public.started_at, until)])),
                    }
                }
            }
        }
        let mut lines = Vec::with_capacity(spans.len());
        for (id, list) in spans {
            let from = list
                .iter()
                .map(|(from, _)| *from)
                .min()
                .unwrap_or_else(|| self.now());
            let component = match self.store.component(id).await {
                Ok(c) => c,
                Err(onduty_store::StoreError::NotFound(_)) => continue,
                Err(e) => return Err(e.into()),
            };
            let changes = self.store.component_changes(id, from).await?;
            let Some(outage) = components::outage_over(&changes, &list) else {
                continue;
            };
            let page = self.store.status_page(component.page).await?;
            lines.push(ComponentLine {
                page: page.name,
                name: component.name,
                outage,
            });
        }
        lines.sort_by(|a, b| (&a.page, &a.name).cmp(&(&b.page, &b.name)));
        Ok(lines)
    }

    async fn owner(&self, text: &str) -> Result<Option<UserId>, AppError> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        Ok(Some(self.find_user(text.trim()).await?.id))
    }

    async fn action_text(&self, input: &ActionInput) -> Result<ActionText, AppError> {
        let link = input.link.trim();
        if !link.is_empty()
            && (!onduty_core::event::clickable(link)
                || link.chars().count() > 2048
                || link.chars().any(char::is_whitespace))
        {
            return Err(AppError::Invalid(
                "'link' must be an http:// or https:// address of at most 2048 characters"
                    .to_owned(),
            ));
        }
        Ok(ActionText {
            text: postmortem::parse_line("text", &input.text).map_err(invalid)?,
            owner: self.owner(&input.owner).await?,
            due_at: match input.due.trim() {
                "" => None,
                due => Some(when("due", due)?),
            },
            link: (!link.is_empty()).then(|| link.to_owned()),
            done: input.done,
        })
    }
}

fn action_id(text: &str) -> Result<ActionItemId, AppError> {
    text.trim()
        .parse()
        .map_err(|_| AppError::NotFound(format!("no action item '{}'", clip(text))))
}

fn clip(text: &str) -> String {
    text.chars().take(64).collect()
}
