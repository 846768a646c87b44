//! Escalation policies, and the round-robin pointers of their levels.

use onduty_core::account::Name;
use onduty_core::escalation::{Policy, Steps, Target};
use onduty_core::{PolicyId, Timestamp};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::sql::{col, json_col, opt_id, parse_col, to_json};
use crate::{Store, StoreError};

macro_rules! select_policies {
    ($suffix:literal) => {
        concat!(
            "SELECT id, name, description, team_id, steps FROM escalation_policies ",
            $suffix
        )
    };
}

fn policy_from_row(row: &AnyRow) -> Result<Policy, StoreError> {
    Ok(Policy {
        id: parse_col(row, "id", str::parse)?,
        name: parse_col(row, "name", Name::parse)?,
        description: col(row, "description")?,
        team_id: opt_id(row, "team_id")?,
        steps: json_col::<Steps>(row, "steps")?,
    })
}

fn name_taken(e: StoreError, name: &Name) -> StoreError {
    if e.is_unique_violation() {
        StoreError::Conflict(format!(
            "an escalation policy named '{name}' already exists"
        ))
    } else {
        e
    }
}

impl Store {
    pub async fn create_policy(&self, policy: &Policy, now: Timestamp) -> Result<(), StoreError> {
        insert_policy(&mut *self.write_conn().await?, policy, now).await
    }

    /// Replaces a policy's name, description, team and levels. Incidents already
    /// escalating continue from their level in the new levels.
    pub async fn update_policy(&self, policy: &Policy, now: Timestamp) -> Result<(), StoreError> {
        write_policy(&mut *self.write_conn().await?, policy, now).await
    }

    /// Deletes a policy that no service uses and no other policy hands over to.
    pub async fn delete_policy(&self, id: PolicyId) -> Result<(), StoreError> {
        delete_policy_on(&mut *self.write_conn().await?, id).await
    }

    pub async fn list_policies(&self) -> Result<Vec<Policy>, StoreError> {
        let rows = sqlx::query(select_policies!("ORDER BY name"))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(policy_from_row).collect()
    }

    pub async fn policy(&self, id: PolicyId) -> Result<Policy, StoreError> {
        let row = sqlx::query(select_policies!("WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref()
            .map(policy_from_row)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("escalation policy {id}")))
    }

    pub async fn policy_by_name(&self, name: &str) -> Result<Option<Policy>, StoreError> {
        let row = sqlx::query(select_policies!("WHERE name = $1"))
            .bind(name.trim().to_owned())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(policy_from_row).transpose()
    }
}

pub(crate) async fn insert_policy(
    conn: &mut AnyConnection,
    policy: &Policy,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO escalation_policies (id, name, description, team_id, steps, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(policy.id.to_string())
    .bind(policy.name.as_str().to_owned())
    .bind(policy.description.clone())
    .bind(policy.team_id.map(|t| t.to_string()))
    .bind(to_json(&policy.steps))
    .bind(now.as_millis())
    .execute(&mut *conn)
    .await
    .map_err(|e| name_taken(e.into(), &policy.name))?;
    Ok(())
}

/// Replaces a policy's name, description, team and levels.
pub(crate) async fn write_policy(
    conn: &mut AnyConnection,
    policy: &Policy,
    now: Timestamp,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE escalation_policies SET name = $2, description = $3, team_id = $4, steps = $5, updated_at = $6 \
         WHERE id = $1",
    )
    .bind(policy.id.to_string())
    .bind(policy.name.as_str().to_owned())
    .bind(policy.description.clone())
    .bind(policy.team_id.map(|t| t.to_string()))
    .bind(to_json(&policy.steps))
    .bind(now.as_millis())
    .execute(&mut *conn)
    .await
    .map_err(|e| name_taken(e.into(), &policy.name))?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!(
            "escalation policy {}",
            policy.id
        )));
    }
    Ok(())
}

/// Deletes a policy that no service uses and no other policy hands over to, inside the
/// caller's transaction (so what is checked is the transaction's).
pub(crate) async fn delete_policy_on(
    conn: &mut AnyConnection,
    id: PolicyId,
) -> Result<(), StoreError> {
    delete_policies_on(conn, &[id]).await
}

/// Deletes policies together: one may hand over to another of them, but no policy that
/// stays may hand over to one that goes, and no service may use one.
pub(crate) async fn delete_policies_on(
    conn: &mut AnyConnection,
    ids: &[PolicyId],
) -> Result<(), StoreError> {
    let others = sqlx::query(select_policies!("ORDER BY name"))
        .fetch_all(&mut *conn)
        .await?;
    for row in &others {
        let other = policy_from_row(row)?;
        if ids.contains(&other.id) {
            continue;
        }
        let hands_over = other.steps.levels().iter().any(|l| {
            l.targets
                .iter()
                .any(|t| matches!(t, Target::Policy(p) if ids.contains(p)))
        });
        if hands_over {
            return Err(StoreError::Conflict(format!(
                "policy '{}' hands over to this one; change it first",
                other.name
            )));
        }
    }
    for id in ids {
        delete_unused_policy(conn, *id).await?;
    }
    Ok(())
}

/// Deletes a policy no other policy hands over to, unless a service uses it.
async fn delete_unused_policy(conn: &mut AnyConnection, id: PolicyId) -> Result<(), StoreError> {
    let used = sqlx::query("SELECT name FROM services WHERE policy_id = $1 ORDER BY name")
        .bind(id.to_string())
        .fetch_all(&mut *conn)
        .await?;
    if let Some(row) = used.first() {
        let name: String = col(row, "name")?;
        return Err(StoreError::Conflict(format!(
            "the policy is used by service '{name}'; point the service elsewhere first"
        )));
    }
    let done = sqlx::query("DELETE FROM escalation_policies WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await;
    match done.map_err(StoreError::from) {
        Ok(d) if d.rows_affected() == 0 => {
            Err(StoreError::NotFound(format!("escalation policy {id}")))
        }
        Ok(_) => Ok(()),
        Err(StoreError::Database(e))
            if e.as_database_error()
                .is_some_and(|d| d.is_foreign_key_violation()) =>
        {
            Err(StoreError::Conflict(
                "the policy is still in use".to_owned(),
            ))
        }
        Err(e) => Err(e),
    }
}
