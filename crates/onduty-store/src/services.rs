//! Services, their integrations, and the change events on their timeline.

use onduty_core::account::Name;
use onduty_core::incident::DedupMode;
use onduty_core::service::{
    ChangeRecord, Integration, IntegrationKind, IntegrationSettings, PagingSettings, Service,
    ServiceUrgency,
};
use onduty_core::{IntegrationId, PolicyId, RoutingKey, ServiceId, TeamId, Timestamp};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::sql::{col, json_col, opt_id, parse_col};
use crate::{Store, StoreError};

#[derive(Debug, Clone)]
pub struct NewService {
    pub name: Name,
    pub description: String,
    pub dedup_mode: DedupMode,
    pub settings: PagingSettings,
    pub draft_postmortems: bool,
}

/// Fields to change on a service; `None` leaves a field as it is, `Some(None)` clears a
/// field that may be empty.
#[derive(Debug, Clone, Default)]
pub struct ServicePatch {
    pub name: Option<Name>,
    pub description: Option<String>,
    pub dedup_mode: Option<DedupMode>,
    pub team_id: Option<Option<TeamId>>,
    pub policy_id: Option<Option<PolicyId>>,
    pub urgency: Option<ServiceUrgency>,
    pub ack_timeout_minutes: Option<Option<u32>>,
    pub auto_resolve_minutes: Option<Option<u32>>,
    pub group_window_minutes: Option<Option<u32>>,
    pub flap_window_minutes: Option<Option<u32>>,
    pub draft_postmortems: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct NewIntegration {
    pub service_id: ServiceId,
    pub name: Name,
    pub kind: IntegrationKind,
    pub settings: IntegrationSettings,
    pub routing_key: RoutingKey,
}

macro_rules! select_services {
    ($suffix:literal) => {
        concat!(
            "SELECT id, name, description, dedup_mode, team_id, policy_id, urgency, ack_timeout_minutes, \
             auto_resolve_minutes, group_window_minutes, flap_window_minutes, draft_postmortems, \
             created_at, updated_at FROM services ",
            $suffix
        )
    };
}

macro_rules! select_integrations {
    ($suffix:literal) => {
        concat!(
            "SELECT id, service_id, name, kind, settings, routing_key, created_at FROM integrations ",
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
        settings: PagingSettings {
            team_id: opt_id(row, "team_id")?,
            policy_id: opt_id(row, "policy_id")?,
            urgency: parse_col(row, "urgency", |t| {
                ServiceUrgency::parse(t).ok_or("unknown urgency")
            })?,
            ack_timeout_minutes: opt_minutes(row, "ack_timeout_minutes")?,
            auto_resolve_minutes: opt_minutes(row, "auto_resolve_minutes")?,
            group_window_minutes: opt_minutes(row, "group_window_minutes")?,
            flap_window_minutes: opt_minutes(row, "flap_window_minutes")?,
        },
        draft_postmortems: col::<i64>(row, "draft_postmortems")? != 0,
        created_at: Timestamp::from_millis(col(row, "created_at")?),
        updated_at: Timestamp::from_millis(col(row, "updated_at")?),
    })
}

fn opt_minutes(row: &AnyRow, name: &str) -> Result<Option<u32>, StoreError> {
    col::<Option<i64>>(row, name)?
        .map(|m| u32::try_from(m).map_err(StoreError::corrupt))
        .transpose()
}

fn integration_from_row(row: &AnyRow) -> Result<Integration, StoreError> {
    Ok(Integration {
        id: parse_col(row, "id", str::parse)?,
        service_id: parse_col(row, "service_id", str::parse)?,
        name: parse_col(row, "name", Name::parse)?,
        kind: parse_col(row, "kind", |t| {
            IntegrationKind::parse(t).ok_or("unknown integration kind")
        })?,
        settings: parse_col(row, "settings", |t| {
            serde_json::from_str::<IntegrationSettings>(t)
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
        Ok(self.create_service_with(new, Vec::new(), now).await?.0)
    }

    /// Creates a service and its first integrations (their `service_id` is the new
    /// service's), in one transaction.
    pub async fn create_service_with(
        &self,
        new: NewService,
        integrations: Vec<NewIntegration>,
        now: Timestamp,
    ) -> Result<(Service, Vec<Integration>), StoreError> {
        let service = Service {
            id: ServiceId::new(now),
            name: new.name,
            description: new.description,
            dedup_mode: new.dedup_mode,
            settings: new.settings,
            draft_postmortems: new.draft_postmortems,
            created_at: now,
            updated_at: now,
        };
        let mut conn = self.write_conn().await?;
        let mut tx = crate::begin(&mut conn, self.backend).await?;
        insert_service(&mut tx, &service).await?;
        let mut made = Vec::with_capacity(integrations.len());
        for new in integrations {
            let integration = NewIntegration {
                service_id: service.id,
                ..new
            };
            made.push(insert_integration(&mut tx, integration, now).await?);
        }
        tx.commit().await?;
        Ok((service, made))
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
        let s = &mut service.settings;
        if let Some(team) = patch.team_id {
            s.team_id = team;
        }
        if let Some(policy) = patch.policy_id {
            s.policy_id = policy;
        }
        if let Some(urgency) = patch.urgency {
            s.urgency = urgency;
        }
        if let Some(minutes) = patch.ack_timeout_minutes {
            s.ack_timeout_minutes = minutes;
        }
        if let Some(minutes) = patch.auto_resolve_minutes {
            s.auto_resolve_minutes = minutes;
        }
        if let Some(minutes) = patch.group_window_minutes {
            s.group_window_minutes = minutes;
        }
        if let Some(minutes) = patch.flap_window_minutes {
            s.flap_window_minutes = minutes;
        }
        if let Some(draft) = patch.draft_postmortems {
            service.draft_postmortems = draft;
        }
        service.updated_at = now;
        write_service(&mut *self.write_conn().await?, &service).await?;
        Ok(service)
    }

    pub async fn create_integration(
        &self,
        new: NewIntegration,
        now: Timestamp,
    ) -> Result<Integration, StoreError> {
        // Fails clearly if the service does not exist.
        self.service(new.service_id).await?;
        let mut conn = self.write_conn().await?;
        insert_integration(&mut conn, new, now).await
    }

    /// Replaces how an integration reads what it receives.
    pub async fn set_integration_settings(
        &self,
        id: IntegrationId,
        settings: &IntegrationSettings,
    ) -> Result<Integration, StoreError> {
        let done = sqlx::query("UPDATE integrations SET settings = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(serde_json::to_string(settings).expect("settings serialize"))
            .execute(&mut *self.write_conn().await?)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("integration {id}")));
        }
        self.integration(id).await
    }

    /// Gives an integration a new routing key: the old one is refused from now on.
    pub async fn set_routing_key(
        &self,
        id: IntegrationId,
        key: &RoutingKey,
    ) -> Result<Integration, StoreError> {
        let done = sqlx::query("UPDATE integrations SET routing_key = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(key.as_str().to_owned())
            .execute(&mut *self.write_conn().await?)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("integration {id}")));
        }
        self.integration(id).await
    }

    /// Deletes an integration: its key is refused from now on. The events it brought stay
    /// on their incidents' timelines.
    pub async fn delete_integration(&self, id: IntegrationId) -> Result<(), StoreError> {
        delete_integration_on(&mut *self.write_conn().await?, id).await
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

pub(crate) async fn insert_integration(
    conn: &mut AnyConnection,
    new: NewIntegration,
    now: Timestamp,
) -> Result<Integration, StoreError> {
    let integration = Integration {
        id: IntegrationId::new(now),
        service_id: new.service_id,
        name: new.name,
        kind: new.kind,
        settings: new.settings,
        routing_key: new.routing_key,
        created_at: now,
    };
    insert_integration_as(conn, &integration).await?;
    Ok(integration)
}

/// Adds an integration with the id it has.
pub(crate) async fn insert_integration_as(
    conn: &mut AnyConnection,
    integration: &Integration,
) -> Result<(), StoreError> {
    let result = sqlx::query(
        "INSERT INTO integrations (id, service_id, name, kind, settings, routing_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(integration.id.to_string())
    .bind(integration.service_id.to_string())
    .bind(integration.name.as_str().to_owned())
    .bind(integration.kind.as_str())
    .bind(serde_json::to_string(&integration.settings).expect("settings serialize"))
    .bind(integration.routing_key.as_str().to_owned())
    .bind(integration.created_at.as_millis())
    .execute(&mut *conn)
    .await
    .map_err(StoreError::from);
    match result {
        Err(e) if e.is_unique_violation() => Err(StoreError::Conflict(
            "that routing key is already in use".to_owned(),
        )),
        Err(e) => Err(e),
        Ok(_) => Ok(()),
    }
}

pub(crate) async fn insert_service(
    conn: &mut AnyConnection,
    service: &Service,
) -> Result<(), StoreError> {
    let s = &service.settings;
    sqlx::query(
        "INSERT INTO services (id, name, description, dedup_mode, team_id, policy_id, urgency, \
         ack_timeout_minutes, auto_resolve_minutes, group_window_minutes, flap_window_minutes, \
         draft_postmortems, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(service.id.to_string())
    .bind(service.name.as_str().to_owned())
    .bind(service.description.clone())
    .bind(service.dedup_mode.as_str())
    .bind(s.team_id.map(|t| t.to_string()))
    .bind(s.policy_id.map(|p| p.to_string()))
    .bind(s.urgency.as_str())
    .bind(s.ack_timeout_minutes.map(i64::from))
    .bind(s.auto_resolve_minutes.map(i64::from))
    .bind(s.group_window_minutes.map(i64::from))
    .bind(s.flap_window_minutes.map(i64::from))
    .bind(i64::from(service.draft_postmortems))
    .bind(service.created_at.as_millis())
    .bind(service.updated_at.as_millis())
    .execute(&mut *conn)
    .await
    .map_err(|e| name_taken(e.into(), &service.name))?;
    Ok(())
}

/// Writes all of a service's settings.
pub(crate) async fn write_service(
    conn: &mut AnyConnection,
    service: &Service,
) -> Result<(), StoreError> {
    let s = &service.settings;
    let done = sqlx::query(
        "UPDATE services SET name = $2, description = $3, dedup_mode = $4, team_id = $5, policy_id = $6, \
         urgency = $7, ack_timeout_minutes = $8, auto_resolve_minutes = $9, group_window_minutes = $10, \
         flap_window_minutes = $11, draft_postmortems = $12, updated_at = $13 WHERE id = $1",
    )
    .bind(service.id.to_string())
    .bind(service.name.as_str().to_owned())
    .bind(service.description.clone())
    .bind(service.dedup_mode.as_str())
    .bind(s.team_id.map(|t| t.to_string()))
    .bind(s.policy_id.map(|p| p.to_string()))
    .bind(s.urgency.as_str())
    .bind(s.ack_timeout_minutes.map(i64::from))
    .bind(s.auto_resolve_minutes.map(i64::from))
    .bind(s.group_window_minutes.map(i64::from))
    .bind(s.flap_window_minutes.map(i64::from))
    .bind(i64::from(service.draft_postmortems))
    .bind(service.updated_at.as_millis())
    .execute(&mut *conn)
    .await
    .map_err(|e| name_taken(e.into(), &service.name))?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("service {}", service.id)));
    }
    Ok(())
}

/// Changes an integration's kind, settings and key (its name is how it is known).
pub(crate) async fn write_integration(
    conn: &mut AnyConnection,
    integration: &Integration,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE integrations SET kind = $2, settings = $3, routing_key = $4 WHERE id = $1",
    )
    .bind(integration.id.to_string())
    .bind(integration.kind.as_str())
    .bind(serde_json::to_string(&integration.settings).expect("settings serialize"))
    .bind(integration.routing_key.as_str().to_owned())
    .execute(&mut *conn)
    .await
    .map_err(StoreError::from);
    match done {
        Err(e) if e.is_unique_violation() => Err(StoreError::Conflict(
            "that routing key is already in use".to_owned(),
        )),
        Err(e) => Err(e),
        Ok(d) if d.rows_affected() == 0 => Err(StoreError::NotFound(format!(
            "integration {}",
            integration.id
        ))),
        Ok(_) => Ok(()),
    }
}

pub(crate) async fn delete_integration_on(
    conn: &mut AnyConnection,
    id: IntegrationId,
) -> Result<(), StoreError> {
    let done = sqlx::query("DELETE FROM integrations WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("integration {id}")));
    }
    Ok(())
}
