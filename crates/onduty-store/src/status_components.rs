//! A status page's components and groups, and every state each took (its uptime).

use onduty_core::status_page::{ComponentStatus, Title};
use onduty_core::{ComponentId, ServiceId, StatusPageId, Timestamp};
use sqlx::any::AnyRow;

use crate::sql::{col, opt_id, parse_col};
use crate::{Store, StoreError, begin};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub id: ComponentId,
    pub page: StatusPageId,
    /// The group it is shown in.
    pub group: Option<ComponentId>,
    /// A group of components rather than one.
    pub is_group: bool,
    pub name: String,
    pub description: String,
    pub position: i64,
    pub status: ComponentStatus,
    pub only_show_if_degraded: bool,
    /// The onduty service it stands for.
    pub service: Option<ServiceId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewComponent {
    pub name: Title,
    pub description: String,
    pub group: Option<ComponentId>,
    pub is_group: bool,
    pub status: ComponentStatus,
    pub only_show_if_degraded: bool,
    pub service: Option<ServiceId>,
}

fn component_from_row(row: &AnyRow) -> Result<Component, StoreError> {
    Ok(Component {
        id: parse_col(row, "id", str::parse)?,
        page: parse_col(row, "page_id", str::parse)?,
        group: opt_id(row, "group_id")?,
        is_group: col::<i64>(row, "is_group")? != 0,
        name: col(row, "name")?,
        description: col(row, "description")?,
        position: col(row, "position")?,
        status: parse_col(row, "status", ComponentStatus::parse)?,
        only_show_if_degraded: col::<i64>(row, "only_show_if_degraded")? != 0,
        service: opt_id(row, "service_id")?,
        created_at: Timestamp::from_millis(col(row, "created_at")?),
        updated_at: Timestamp::from_millis(col(row, "updated_at")?),
    })
}

pub(crate) const COMPONENT_COLUMNS: &str = "SELECT id, page_id, group_id, is_group, name, description, \
     position, status, only_show_if_degraded, service_id, created_at, updated_at FROM status_components";

impl Store {
    /// Adds a component at the end of its page, its first state recorded.
    pub async fn create_component(
        &self,
        page: StatusPageId,
        new: &NewComponent,
        now: Timestamp,
    ) -> Result<Component, StoreError> {
        if let Some(group) = new.group {
            let g = self.component(group).await?;
            if g.page != page || !g.is_group {
                return Err(StoreError::Invalid(format!(
                    "'group' {group} is not a group of this page"
                )));
            }
        }
        let id = ComponentId::new(now);
        let mut conn = self.write_conn().await?;
        let mut tx = begin(&mut conn, self.backend).await?;
        let last: Option<i64> =
            sqlx::query_scalar("SELECT MAX(position) FROM status_components WHERE page_id = $1")
                .bind(page.to_string())
                .fetch_one(&mut *tx)
                .await?;
        insert_component(&mut tx, id, page, new, last.unwrap_or(0) + 1, now).await?;
        tx.commit().await?;
        drop(conn);
        self.component(id).await
    }

    pub async fn component(&self, id: ComponentId) -> Result<Component, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{COMPONENT_COLUMNS} WHERE id = $1"
        )))
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("component {id}")))?;
        component_from_row(&row)
    }

    /// A page's components and groups, in their order.
    pub async fn components(&self, page: StatusPageId) -> Result<Vec<Component>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{COMPONENT_COLUMNS} WHERE page_id = $1 ORDER BY position, id"
        )))
        .bind(page.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(component_from_row).collect()
    }

    /// The components that stand for an onduty service, on every page.
    pub async fn components_of_service(
        &self,
        service: ServiceId,
    ) -> Result<Vec<Component>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{COMPONENT_COLUMNS} WHERE service_id = $1 ORDER BY page_id, position, id"
        )))
        .bind(service.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(component_from_row).collect()
    }

    /// The states a component took from `since` on, oldest first, with the one it was in
    /// at `since` (if it existed then).
    pub async fn component_changes(
        &self,
        component: ComponentId,
        since: Timestamp,
    ) -> Result<Vec<(Timestamp, ComponentStatus)>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, status FROM status_component_changes WHERE component_id = $1 AND at >= \
             COALESCE((SELECT MAX(at) FROM status_component_changes WHERE component_id = $1 AND at <= $2), $2) \
             ORDER BY at",
        )
        .bind(component.to_string())
        .bind(since.as_millis())
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    Timestamp::from_millis(col(r, "at")?),
                    parse_col(r, "status", ComponentStatus::parse)?,
                ))
            })
            .collect()
    }
}

pub(crate) type Tx<'c> = sqlx::Transaction<'c, sqlx::Any>;

/// Adds a component at `position`, its first state recorded, inside the caller's
/// transaction.
pub(crate) async fn insert_component(
    tx: &mut Tx<'_>,
    id: ComponentId,
    page: StatusPageId,
    new: &NewComponent,
    position: i64,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO status_components (id, page_id, group_id, is_group, name, description, \
         position, status, only_show_if_degraded, service_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
    )
    .bind(id.to_string())
    .bind(page.to_string())
    .bind(new.group.map(|g| g.to_string()))
    .bind(i64::from(new.is_group))
    .bind(new.name.as_str().to_owned())
    .bind(new.description.clone())
    .bind(position)
    .bind(new.status.as_str())
    .bind(i64::from(new.only_show_if_degraded))
    .bind(new.service.map(|s| s.to_string()))
    .bind(now.as_millis())
    .execute(&mut **tx)
    .await?;
    record_change(tx, id, new.status, now).await?;
    touch_page(tx, page, now).await
}

/// Changes how a component is shown (its state is left to incidents), inside the
/// caller's transaction.
pub(crate) async fn write_component(
    tx: &mut Tx<'_>,
    id: ComponentId,
    page: StatusPageId,
    new: &NewComponent,
    position: i64,
    now: Timestamp,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE status_components SET group_id = $2, is_group = $3, name = $4, description = $5, \
         position = $6, only_show_if_degraded = $7, service_id = $8, updated_at = $9 WHERE id = $1",
    )
    .bind(id.to_string())
    .bind(new.group.map(|g| g.to_string()))
    .bind(i64::from(new.is_group))
    .bind(new.name.as_str().to_owned())
    .bind(new.description.clone())
    .bind(position)
    .bind(i64::from(new.only_show_if_degraded))
    .bind(new.service.map(|s| s.to_string()))
    .bind(now.as_millis())
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("component {id}")));
    }
    touch_page(tx, page, now).await
}

pub(crate) async fn record_change(
    tx: &mut Tx<'_>,
    component: ComponentId,
    status: ComponentStatus,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO status_component_changes (component_id, at, status) VALUES ($1, $2, $3)",
    )
    .bind(component.to_string())
    .bind(now.as_millis())
    .bind(status.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The page changed at `now` (its `updated_at`, and its cached copies' age).
pub(crate) async fn touch_page(
    tx: &mut Tx<'_>,
    page: StatusPageId,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE status_pages SET updated_at = $2 WHERE id = $1")
        .bind(page.to_string())
        .bind(now.as_millis())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
