//! Incident templates of a status page: what to publish, ready in advance.

use onduty_core::status_page::{ComponentStatus, IncidentStatus, Title, UpdateBody};
use onduty_core::{ComponentId, StatusPageId, StatusTemplateId, Timestamp};
use sqlx::any::AnyRow;

use crate::sql::{col, json_col, parse_col, to_json};
use crate::{Store, StoreError};

/// A template as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusTemplate {
    pub id: StatusTemplateId,
    pub page: StatusPageId,
    /// What people call it.
    pub name: String,
    /// The public incident's title.
    pub title: String,
    pub status: IncidentStatus,
    pub body: String,
    /// The states it sets.
    pub components: Vec<(ComponentId, ComponentStatus)>,
    pub created_at: Timestamp,
}

/// A template to keep.
#[derive(Debug, Clone)]
pub struct NewStatusTemplate {
    pub name: Title,
    pub title: Title,
    pub status: IncidentStatus,
    pub body: UpdateBody,
    pub components: Vec<(ComponentId, ComponentStatus)>,
}

const COLUMNS: &str =
    "SELECT id, page_id, name, title, status, body, components, created_at FROM status_templates";

fn template_from_row(row: &AnyRow) -> Result<StatusTemplate, StoreError> {
    let components: Vec<(String, String)> = json_col(row, "components")?;
    Ok(StatusTemplate {
        id: parse_col(row, "id", str::parse)?,
        page: parse_col(row, "page_id", str::parse)?,
        name: col(row, "name")?,
        title: col(row, "title")?,
        status: parse_col(row, "status", IncidentStatus::parse)?,
        body: col(row, "body")?,
        components: components
            .iter()
            .map(|(id, state)| {
                Ok((
                    id.parse().map_err(StoreError::corrupt)?,
                    ComponentStatus::parse(state).map_err(StoreError::corrupt)?,
                ))
            })
            .collect::<Result<_, StoreError>>()?,
        created_at: Timestamp::from_millis(col(row, "created_at")?),
    })
}

impl Store {
    /// Keeps a template; a name its page has already is refused.
    pub async fn create_status_template(
        &self,
        page: StatusPageId,
        new: &NewStatusTemplate,
        now: Timestamp,
    ) -> Result<StatusTemplate, StoreError> {
        let id = StatusTemplateId::new(now);
        let components: Vec<(String, &str)> = new
            .components
            .iter()
            .map(|(c, s)| (c.to_string(), s.as_str()))
            .collect();
        let mut conn = self.write_conn().await?;
        let made = sqlx::query(
            "INSERT INTO status_templates (id, page_id, name, title, status, body, components, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (page_id, name) DO NOTHING",
        )
        .bind(id.to_string())
        .bind(page.to_string())
        .bind(new.name.as_str().to_owned())
        .bind(new.title.as_str().to_owned())
        .bind(new.status.as_str())
        .bind(new.body.as_str().to_owned())
        .bind(to_json(&components))
        .bind(now.as_millis())
        .execute(&mut *conn)
        .await?;
        drop(conn);
        if made.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "this page has a template named '{}' already",
                new.name.as_str()
            )));
        }
        self.status_template(id).await
    }

    pub async fn status_template(
        &self,
        id: StatusTemplateId,
    ) -> Result<StatusTemplate, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{COLUMNS} WHERE id = $1")))
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("template {id}")))?;
        template_from_row(&row)
    }

    /// A page's templates, by name.
    pub async fn status_templates(
        &self,
        page: StatusPageId,
    ) -> Result<Vec<StatusTemplate>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{COLUMNS} WHERE page_id = $1 ORDER BY name, id"
        )))
        .bind(page.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(template_from_row).collect()
    }

    pub async fn delete_status_template(&self, id: StatusTemplateId) -> Result<(), StoreError> {
        let mut conn = self.write_conn().await?;
        let gone = sqlx::query("DELETE FROM status_templates WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *conn)
            .await?;
        if gone.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("template {id}")));
        }
        Ok(())
    }
}
