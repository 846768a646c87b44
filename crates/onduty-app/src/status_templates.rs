//! Incident templates of a status page (responders and admins): a title, a status, what
//! the public reads and the components' states, kept ready; publishing or updating with a
//! template fills in whatever was left blank.

use onduty_core::StatusPageId;
use onduty_core::audit::Change;
use onduty_core::status_page::{Stage, Title};
use onduty_store::status_templates::{NewStatusTemplate, StatusTemplate};

use crate::status_pages::parse_update;
use crate::{Acting, App, AppError, StatusUpdateInput};

/// A template as a door received it.
#[derive(Debug, Clone, Default)]
pub struct StatusTemplateInput {
    /// What people call it ("Database degraded").
    pub name: String,
    /// The public incident's title.
    pub title: String,
    /// The first update: status (default `investigating`), body and components' states.
    pub update: StatusUpdateInput,
}

impl App {
    /// Keeps a template on a page (responders and admins).
    pub async fn create_status_template(
        &self,
        acting: &Acting,
        page: &str,
        input: StatusTemplateInput,
    ) -> Result<StatusTemplate, AppError> {
        acting.require_responder()?;
        self.recorded(
            acting,
            "status_template.create",
            page,
            async {
                let page = self.find_status_page(page).await?;
                let components = self.store.components(page.id).await?;
                let mut update = input.update;
                if update.status.trim().is_empty() {
                    update.status = "investigating".to_owned();
                }
                let parsed = parse_update(&components, false, &update)?;
                let Stage::Incident(status) = parsed.stage else {
                    return Err(AppError::Invalid(
                        "a template's 'status' is one of a public incident".to_owned(),
                    ));
                };
                let new = NewStatusTemplate {
                    name: Title::parse("name", &input.name)
                        .map_err(|e| AppError::Invalid(e.to_string()))?,
                    title: Title::parse("title", &input.title)
                        .map_err(|e| AppError::Invalid(e.to_string()))?,
                    status,
                    body: parsed.body,
                    components: parsed.components,
                };
                Ok(self
                    .store
                    .create_status_template(page.id, &new, self.now())
                    .await?)
            },
            |x| Change::of(None::<()>, Some(serde_json::json!({"id": x.id.to_string(), "name": x.name, "title": x.title, "body": x.body}))),
        )
        .await
    }

    /// A page's templates, by name.
    pub async fn status_templates(&self, page: &str) -> Result<Vec<StatusTemplate>, AppError> {
        let page = self.find_status_page(page).await?;
        Ok(self.store.status_templates(page.id).await?)
    }

    /// Removes a template (responders and admins).
    pub async fn delete_status_template(
        &self,
        acting: &Acting,
        page: &str,
        template: &str,
    ) -> Result<(), AppError> {
        acting.require_responder()?;
        self.recorded(
            acting,
            "status_template.delete",
            format!("{page}: {template}"),
            async {
                let page = self.find_status_page(page).await?;
                let found = self.template_of(page.id, template).await?;
                Ok(self.store.delete_status_template(found.id).await?)
            },
            |_| Change::none(),
        )
        .await
    }

    /// The template of `page` whose id or name is `text`.
    pub(crate) async fn template_of(
        &self,
        page: StatusPageId,
        text: &str,
    ) -> Result<StatusTemplate, AppError> {
        let text = text.trim();
        self.store
            .status_templates(page)
            .await?
            .into_iter()
            .find(|t| t.id.to_string() == text || t.name == text)
            .ok_or_else(|| {
                AppError::NotFound(format!(
                    "no template '{}' on this status page",
                    text.chars().take(64).collect::<String>()
                ))
            })
    }

    /// Fills what `update` (and `title`, for a new incident) left blank from the template
    /// it names, if any.
    pub(crate) async fn fill_from_template(
        &self,
        page: StatusPageId,
        title: Option<&mut String>,
        update: &mut StatusUpdateInput,
    ) -> Result<(), AppError> {
        let Some(named) = update.template.take().filter(|t| !t.trim().is_empty()) else {
            return Ok(());
        };
        let template = self.template_of(page, &named).await?;
        if let Some(title) = title
            && title.trim().is_empty()
        {
            *title = template.title.clone();
        }
        if update.status.trim().is_empty() {
            update.status = template.status.as_str().to_owned();
        }
        if update.body.trim().is_empty() {
            update.body = template.body.clone();
        }
        if update.components.is_empty() {
            update.components = template
                .components
                .iter()
                .map(|(c, s)| (c.to_string(), s.as_str().to_owned()))
                .collect();
        }
        Ok(())
    }
}
