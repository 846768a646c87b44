//! Services, their integrations, and the change events on their timeline.

use onduty_core::account::Name;
use onduty_core::incident::DedupMode;
use onduty_core::service::{ChangeRecord, Integration, IntegrationKind, Service};
use onduty_core::{IntegrationId, RoutingKey, ServiceId, Timestamp};
use sqlx::any::AnyRow;

use crate::sql::{col, json_col, parse_col};
use crate::{Store, StoreError};

#[derive(Debug, Clone)]
pub struct NewService {
    pub name: Name,
    pub description: String,
    pub dedup_mode: DedupMode,
}

/// Fields to change on a service; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ServicePatch {
    pub name: Option<Name>,
    pub description: Option<String>,
    pub dedup_mode: Option<DedupMode>,
}

#[derive(Debug, Clone)]
pub struct NewIntegration {
    pub service_id: ServiceId,
    pub name: Name,
    pub kind: IntegrationKind,
    pub routing_key: RoutingKey,
}

macro_rules! select_services {
    ($suffix:literal) => {
        concat!(
            "SELECT id, name, description, dedup_mode, created_at, updated_at FROM services ",
            $suffix
        )
    };
}

macro_rules! select_integrations {
    ($suffix:literal) => {
        concat!(
            "SELECT id, service_id, name, kind, routing_key, created_at FROM integrations ",
            $suffix
        )
    };
}

fn service_from_row(row: &AnyRow) -> Result<Service, StoreError> {
    Ok(Service {
        id: parse_col(row, "id", str::parse)?,
        name: parse_col(row, "name", Name::parse)?,
        description: col(row, "description")?,
        dedup_mode: parse_col(row, "dedup_mode", |t| {
            DedupMode::parse(t).ok_or("unknown dedup mode")
        })?,
        created_at: Timestamp::from_millis(col(row, "created_at")?),
        updated_at: Timestamp::from_millis(col(row, "updated_at")?),
    })
}

fn integration_from_row(row: &AnyRow) -> Result<Integration, StoreError> {
    Ok(Integration {
        id: parse_col(row, "id", str::parse)?,
        service_id: parse_col(row, "service_id", str::parse)?,
        name: parse_col(row, "name", Name::parse)?,
        kind: parse_col(row, "kind", |t| {
            IntegrationKind::parse(t).ok_or("unknown integration kind")
        })?,
        routing_key: parse_col(row, "routing_key", RoutingKey::parse)?,
        created_at: Timestamp::from_millis(col(row, "created_at")?),
    })
}

fn name_taken(e: StoreError, name: &Name) -> StoreError {
    if e.is_unique_violation() {
        StoreError::Conflict(format!("a service named '{name}' already exists"))
    } else {
        e
    }
}

impl Store {
    pub async fn create_service(
        &self,
        new: NewService,
        now: Timestamp,
    ) -> Result<Service, StoreError> {
        let service = Service {
            id: ServiceId::new(now),
            name: new.name,
            description: new.description,
            dedup_mode: new.dedup_mode,
            created_at: now,
            updated_at: now,
        };
        sqlx::query(
            "INSERT INTO services (id, name, description, dedup_mode, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(service.id.to_string())
        .bind(service.name.as_str().to_owned())
        .bind(service.description.clone())
        .bind(service.dedup_mode.as_str())
        .bind(now.as_millis())
        .execute(&mut *self.write_conn().await?)
        .await
        .map_err(|e| name_taken(e.into(), &service.name))?;
        Ok(service)
    }

    pub async fn list_services(&self) -> Result<Vec<Service>, StoreError> {
        let rows = sqlx::query(select_services!("ORDER BY name"))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(service_from_row).collect()
    }

    pub async fn service(&self, id: ServiceId) -> Result<Service, StoreError> {
        let row = sqlx::query(select_services!("WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref()
            .map(service_from_row)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("service {id}")))
    }

    pub async fn service_by_name(&self, name: &str) -> Result<Option<Service>, StoreError> {
        let row = sqlx::query(select_services!("WHERE name = $1"))
            .bind(name.trim().to_owned())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(service_from_row).transpose()
    }

    pub async fn update_service(
        &self,
        id: ServiceId,
        patch: ServicePatch,
        now: Timestamp,
    ) -> Result<Service, StoreError> {
        let mut service = self.service(id).await?;
        if let Some(name) = patch.name {
            service.name = name;
        }
        if let Some(description) = patch.description {
            service.description = description;
        }
        if let Some(mode) = patch.dedup_mode {
            service.dedup_mode = mode;
        }
        service.updated_at = now;
        let done = sqlx::query(
            "UPDATE services SET name = $2, description = $3, dedup_mode = $4, updated_at = $5 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(service.name.as_str().to_owned())
        .bind(service.description.clone())
        .bind(service.dedup_mode.as_str())
        .bind(now.as_millis())
        .execute(&mut *self.write_conn().await?)
        .await
        .map_err(|e| name_taken(e.into(), &service.name))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("service {id}")));
        }
        Ok(service)
    }

    pub async fn create_integration(
        &self,
        new: NewIntegration,
        now: Timestamp,
    ) -> Result<Integration, StoreError> {
        // Fails clearly if the service does not exist.
        self.service(new.service_id).await?;
        let integration = Integration {
            id: IntegrationId::new(now),
            service_id: new.service_id,
            name: new.name,
            kind: new.kind,
            routing_key: new.routing_key,
            created_at: now,
        };
        let result = sqlx::query(
            "INSERT INTO integrations (id, service_id, name, kind, routing_key, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(integration.id.to_string())
        .bind(integration.service_id.to_string())
        .bind(integration.name.as_str().to_owned())
        .bind(integration.kind.as_str())
        .bind(integration.routing_key.as_str().to_owned())
        .bind(now.as_millis())
        .execute(&mut *self.write_conn().await?)
        .await
        .map_err(StoreError::from);
        match result {
            Err(e) if e.is_unique_violation() => Err(StoreError::Conflict(
                "that routing key is already in use".to_owned(),
            )),
            Err(e) => Err(e),
            Ok(_) => Ok(integration),
        }
    }

    pub async fn list_integrations(
        &self,
        service: ServiceId,
    ) -> Result<Vec<Integration>, StoreError> {
        let rows = sqlx::query(select_integrations!(
            "WHERE service_id = $1 ORDER BY created_at, id"
        ))
        .bind(service.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(integration_from_row).collect()
    }

    pub async fn integration(&self, id: IntegrationId) -> Result<Integration, StoreError> {
        let row = sqlx::query(select_integrations!("WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref()
            .map(integration_from_row)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("integration {id}")))
    }

    pub async fn integration_by_routing_key(
        &self,
        key: &RoutingKey,
    ) -> Result<Option<Integration>, StoreError> {
        let row = sqlx::query(select_integrations!("WHERE routing_key = $1"))
            .bind(key.as_str().to_owned())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(integration_from_row).transpose()
    }

    /// The service's change events, newest first; `before` is the `seq` cursor of a
    /// previous page.
    pub async fn list_changes(
        &self,
        service: ServiceId,
        before: Option<i64>,
        limit: u32,
    ) -> Result<(Vec<ChangeRecord>, Option<i64>), StoreError> {
        let rows = sqlx::query(
            "SELECT seq, id, service_id, integration_id, received_at, body FROM events \
             WHERE kind = 'change' AND service_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3",
        )
        .bind(service.to_string())
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.read)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut next = None;
        for (i, row) in rows.iter().enumerate() {
            if i == limit as usize {
                next = out.last().map(|(seq, _)| *seq);
                break;
            }
            let record = ChangeRecord {
                id: parse_col(row, "id", str::parse)?,
                service_id: parse_col(row, "service_id", str::parse)?,
                integration_id: parse_col(row, "integration_id", str::parse)?,
                received_at: Timestamp::from_millis(col(row, "received_at")?),
                change: json_col(row, "body")?,
            };
            out.push((col::<i64>(row, "seq")?, record));
        }
        Ok((out.into_iter().map(|(_, r)| r).collect(), next))
    }
}
