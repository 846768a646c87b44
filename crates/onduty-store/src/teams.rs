//! Teams and their members.

use std::collections::HashMap;

use onduty_core::account::{Name, Team};
use onduty_core::{TeamId, Timestamp, UserId};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::sql::{col, parse_col};
use crate::{Store, StoreError};

fn team_from_row(row: &AnyRow) -> Result<Team, StoreError> {
    Ok(Team {
        id: parse_col(row, "id", str::parse)?,
        name: parse_col(row, "name", Name::parse)?,
        members: Vec::new(),
        created_at: Timestamp::from_millis(col(row, "created_at")?),
    })
}

impl Store {
    pub async fn create_team(&self, name: Name, now: Timestamp) -> Result<Team, StoreError> {
        let team = Team {
            id: TeamId::new(now),
            name,
            members: Vec::new(),
            created_at: now,
        };
        insert_team(&mut *self.write_conn().await?, &team).await?;
        Ok(team)
    }

    /// Every team, by name, with its members.
    pub async fn list_teams(&self) -> Result<Vec<Team>, StoreError> {
        let rows = sqlx::query("SELECT id, name, created_at FROM teams ORDER BY name")
            .fetch_all(&self.read)
            .await?;
        let mut teams = rows
            .iter()
            .map(team_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let members = sqlx::query("SELECT team_id, user_id FROM team_members ORDER BY user_id")
            .fetch_all(&self.read)
            .await?;
        let mut by_team: HashMap<TeamId, Vec<UserId>> = HashMap::new();
        for row in &members {
            by_team
                .entry(parse_col(row, "team_id", str::parse)?)
                .or_default()
                .push(parse_col(row, "user_id", str::parse)?);
        }
        for t in &mut teams {
            t.members = by_team.remove(&t.id).unwrap_or_default();
        }
        Ok(teams)
    }

    /// A team by id or by name.
    pub async fn team(&self, id_or_name: &str) -> Result<Team, StoreError> {
        let row = match id_or_name.parse::<TeamId>() {
            Ok(id) => {
                sqlx::query("SELECT id, name, created_at FROM teams WHERE id = $1")
                    .bind(id.to_string())
                    .fetch_optional(&self.read)
                    .await?
            }
            Err(_) => {
                sqlx::query("SELECT id, name, created_at FROM teams WHERE name = $1")
                    .bind(id_or_name.trim().to_owned())
                    .fetch_optional(&self.read)
                    .await?
            }
        };
        let mut team = row
            .as_ref()
            .map(team_from_row)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("team '{id_or_name}'")))?;
        let members =
            sqlx::query("SELECT user_id FROM team_members WHERE team_id = $1 ORDER BY user_id")
                .bind(team.id.to_string())
                .fetch_all(&self.read)
                .await?;
        team.members = members
            .iter()
            .map(|r| parse_col(r, "user_id", str::parse))
            .collect::<Result<_, _>>()?;
        Ok(team)
    }

    /// Adds a member (adding one twice is harmless).
    pub async fn add_team_member(&self, team: TeamId, user: UserId) -> Result<(), StoreError> {
        self.user(user).await?;
        add_member_on(&mut *self.write_conn().await?, team, user).await
    }

    /// Removes a member; false if they were not one.
    pub async fn remove_team_member(&self, team: TeamId, user: UserId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2")
            .bind(team.to_string())
            .bind(user.to_string())
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

/// Adds a team (without members), inside the caller's transaction.
pub(crate) async fn insert_team(conn: &mut AnyConnection, team: &Team) -> Result<(), StoreError> {
    let result = sqlx::query("INSERT INTO teams (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(team.id.to_string())
        .bind(team.name.as_str().to_owned())
        .bind(team.created_at.as_millis())
        .execute(&mut *conn)
        .await
        .map_err(StoreError::from);
    match result {
        Err(e) if e.is_unique_violation() => Err(StoreError::Conflict(format!(
            "a team named '{}' already exists",
            team.name
        ))),
        Err(e) => Err(e),
        Ok(_) => Ok(()),
    }
}

/// Adds a member (adding one twice is harmless), inside the caller's transaction.
pub(crate) async fn add_member_on(
    conn: &mut AnyConnection,
    team: TeamId,
    user: UserId,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(team.to_string())
    .bind(user.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Makes a team's members exactly `members`.
pub(crate) async fn set_members_on(
    conn: &mut AnyConnection,
    team: TeamId,
    members: &[UserId],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM team_members WHERE team_id = $1")
        .bind(team.to_string())
        .execute(&mut *conn)
        .await?;
    for user in members {
        add_member_on(conn, team, *user).await?;
    }
    Ok(())
}

/// Deletes a team: the schedules, policies and services it owned have no team after it;
/// its chat channels go with it.
pub(crate) async fn delete_team_on(
    conn: &mut AnyConnection,
    team: TeamId,
) -> Result<(), StoreError> {
    for sql in [
        "UPDATE schedules SET team_id = NULL WHERE team_id = $1",
        "UPDATE escalation_policies SET team_id = NULL WHERE team_id = $1",
        "UPDATE services SET team_id = NULL WHERE team_id = $1",
        "DELETE FROM team_members WHERE team_id = $1",
    ] {
        sqlx::query(sql)
            .bind(team.to_string())
            .execute(&mut *conn)
            .await?;
    }
    let done = sqlx::query("DELETE FROM teams WHERE id = $1")
        .bind(team.to_string())
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("team {team}")));
    }
    Ok(())
}
