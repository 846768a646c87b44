//! Users and their API tokens.

use onduty_core::account::{
    AccountStatus, ApiToken, Email, Name, Role, TimeZoneName, TokenSecret, User,
};
use onduty_core::{Timestamp, TokenId, UserId};
use sqlx::any::AnyRow;

use crate::sql::{col, parse_col};
use crate::{Store, StoreError, begin};

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub name: Name,
    pub role: Role,
    pub time_zone: TimeZoneName,
}

/// Fields to change on a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub email: Option<Email>,
    pub name: Option<Name>,
    pub role: Option<Role>,
    pub time_zone: Option<TimeZoneName>,
}

pub(crate) fn user_from_row(row: &AnyRow) -> Result<User, StoreError> {
    Ok(User {
        id: parse_col(row, "id", str::parse)?,
        email: parse_col(row, "email", Email::parse)?,
        name: parse_col(row, "name", Name::parse)?,
        role: parse_col(row, "role", |t| Role::parse(t).ok_or("unknown role"))?,
        time_zone: TimeZoneName::read(&col::<String>(row, "time_zone")?),
        created_at: Timestamp::from_millis(col(row, "created_at")?),
        status: match (
            col::<Option<i64>>(row, "deleted_at")?,
            col::<Option<i64>>(row, "disabled_at")?,
        ) {
            (Some(_), _) => AccountStatus::Deleted,
            (None, Some(_)) => AccountStatus::Disabled,
            (None, None) => AccountStatus::Active,
        },
    })
}

/// The columns [`user_from_row`] reads, for queries that join users to something else.
pub(crate) const USER_COLUMNS: &str = "users.id, users.email, users.name, users.role, \
     users.time_zone, users.created_at, users.disabled_at, users.deleted_at";

/// The user query with a fixed suffix, as one `&'static str` (so sqlx caches the statement).
macro_rules! select_users {
    ($suffix:literal) => {
        concat!(
            "SELECT users.id, users.email, users.name, users.role, users.time_zone, users.created_at, \
             users.disabled_at, users.deleted_at FROM users ",
            $suffix
        )
    };
}

/// A write's result, with a unique-index violation read as the e-mail address being
/// someone else's.
fn taken_address<T>(result: Result<T, sqlx::Error>, email: &Email) -> Result<T, StoreError> {
    match result.map_err(StoreError::from) {
        Err(e) if e.is_unique_violation() => Err(StoreError::Conflict(format!(
            "a user with e-mail {email} already exists"
        ))),
        other => other,
    }
}

impl Store {
    pub async fn create_user(&self, new: NewUser, now: Timestamp) -> Result<User, StoreError> {
        self.create_user_with_password(new, None, now).await
    }

    /// Adds a person who logs in to the web UI with the password behind `password_hash`
    /// (or cannot, with none yet), in one statement.
    pub async fn create_user_with_password(
        &self,
        new: NewUser,
        password_hash: Option<&str>,
        now: Timestamp,
    ) -> Result<User, StoreError> {
        let user = User {
            id: UserId::new(now),
            email: new.email,
            name: new.name,
            role: new.role,
            time_zone: new.time_zone,
            created_at: now,
            status: AccountStatus::Active,
        };
        let mut conn = self.write_conn().await?;
        insert_user(&mut conn, &user, password_hash).await?;
        Ok(user)
    }

    pub async fn update_user(&self, id: UserId, patch: UserPatch) -> Result<User, StoreError> {
        let mut user = self.user(id).await?;
        if let Some(email) = patch.email {
            user.email = email;
        }
        if let Some(name) = patch.name {
            user.name = name;
        }
        if let Some(role) = patch.role {
            user.role = role;
        }
        if let Some(tz) = patch.time_zone {
            user.time_zone = tz;
        }
        write_user(&mut *self.write_conn().await?, &user).await?;
        Ok(user)
    }

    /// People who have not been deleted.
    pub async fn count_users(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE deleted_at IS NULL")
            .fetch_one(&self.read)
            .await?;
        col(&row, "n")
    }

    /// Everyone but the deleted.
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(select_users!(
            "WHERE users.deleted_at IS NULL ORDER BY users.email"
        ))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    pub async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(select_users!("WHERE users.email = $1"))
            .bind(email.as_str().to_owned())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn user(&self, id: UserId) -> Result<User, StoreError> {
        let row = sqlx::query(select_users!("WHERE users.id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref()
            .map(user_from_row)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("user {id}")))
    }

    /// Stores a token for `user`; only the hash of `secret` is kept.
    pub async fn create_token(
        &self,
        user: UserId,
        name: &str,
        secret: &TokenSecret,
        now: Timestamp,
    ) -> Result<ApiToken, StoreError> {
        let token = ApiToken {
            id: TokenId::new(now),
            user_id: user,
            name: name.to_owned(),
            created_at: now,
        };
        sqlx::query("INSERT INTO api_tokens (id, user_id, name, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(token.id.to_string())
            .bind(user.to_string())
            .bind(token.name.clone())
            .bind(secret.hash())
            .bind(now.as_millis())
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(token)
    }

    /// The user a presented token belongs to, if it is a valid token of someone who is
    /// not disabled.
    pub async fn user_by_token(&self, secret: &TokenSecret) -> Result<Option<User>, StoreError> {
        Ok(self.token_holder(secret).await?.map(|(user, _)| user))
    }

    /// The same, with the token's name.
    pub async fn token_holder(
        &self,
        secret: &TokenSecret,
    ) -> Result<Option<(User, String)>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS}, api_tokens.name AS token_name FROM api_tokens \
             JOIN users ON users.id = api_tokens.user_id \
             WHERE api_tokens.secret_hash = $1 AND users.disabled_at IS NULL"
        )))
        .bind(secret.hash())
        .fetch_optional(&self.read)
        .await?;
        row.as_ref()
            .map(|row| Ok((user_from_row(row)?, col(row, "token_name")?)))
            .transpose()
    }

    /// A person's API tokens, oldest first (never their secrets, which are not kept).
    pub async fn tokens(&self, user: UserId) -> Result<Vec<ApiToken>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, user_id, name, created_at FROM api_tokens WHERE user_id = $1 \
             ORDER BY created_at, id",
        )
        .bind(user.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ApiToken {
                    id: parse_col(row, "id", str::parse)?,
                    user_id: parse_col(row, "user_id", str::parse)?,
                    name: col(row, "name")?,
                    created_at: Timestamp::from_millis(col(row, "created_at")?),
                })
            })
            .collect()
    }

    /// Revokes one of a person's tokens: it is refused from now on.
    pub async fn delete_token(&self, user: UserId, token: TokenId) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2")
            .bind(token.to_string())
            .bind(user.to_string())
            .execute(&mut *self.write_conn().await?)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("token {token}")));
        }
        Ok(())
    }

    /// Disables a person (their sessions and tokens end at once) or enables them again.
    /// A deleted person stays deleted.
    pub async fn set_user_disabled(
        &self,
        user: UserId,
        disabled: bool,
        now: Timestamp,
    ) -> Result<User, StoreError> {
        let d = self.backend;
        let mut conn = self.write_conn().await?;
        let mut tx = begin(&mut conn, d).await?;
        set_disabled_on(&mut tx, user, disabled, now).await?;
        tx.commit().await?;
        self.user(user).await
    }

    /// Deletes a person: disabled for good, out of the lists, teams and contact methods,
    /// with their e-mail address freed; incidents' histories keep their name.
    pub async fn delete_user(&self, user: UserId, now: Timestamp) -> Result<(), StoreError> {
        let d = self.backend;
        let mut conn = self.write_conn().await?;
        let mut tx = begin(&mut conn, d).await?;
        delete_user_on(&mut tx, user, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Adds a person, inside the caller's transaction. With a password hash the person must
/// choose their own at first log-in (the first password is the administrator's choice).
pub(crate) async fn insert_user(
    conn: &mut sqlx::AnyConnection,
    user: &User,
    password_hash: Option<&str>,
) -> Result<(), StoreError> {
    let result = sqlx::query(
        "INSERT INTO users (id, email, name, role, time_zone, created_at, password_hash, \
         password_change_required) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(user.id.to_string())
    .bind(user.email.as_str().to_owned())
    .bind(user.name.as_str().to_owned())
    .bind(user.role.as_str())
    .bind(user.time_zone.as_str().to_owned())
    .bind(user.created_at.as_millis())
    .bind(password_hash.map(str::to_owned))
    .bind(i64::from(password_hash.is_some()))
    .execute(&mut *conn)
    .await;
    taken_address(result, &user.email)?;
    Ok(())
}

/// Writes a person's e-mail, name, role and time zone.
pub(crate) async fn write_user(
    conn: &mut sqlx::AnyConnection,
    user: &User,
) -> Result<(), StoreError> {
    let result = sqlx::query(
        "UPDATE users SET name = $2, role = $3, time_zone = $4, email = $5 WHERE id = $1",
    )
    .bind(user.id.to_string())
    .bind(user.name.as_str().to_owned())
    .bind(user.role.as_str())
    .bind(user.time_zone.as_str().to_owned())
    .bind(user.email.as_str().to_owned())
    .execute(&mut *conn)
    .await;
    taken_address(result, &user.email)?;
    Ok(())
}

/// Disables a person (ending their sessions and tokens) or enables them again, inside the
/// caller's transaction.
pub(crate) async fn set_disabled_on(
    conn: &mut sqlx::AnyConnection,
    user: UserId,
    disabled: bool,
    now: Timestamp,
) -> Result<(), StoreError> {
    let done =
        sqlx::query("UPDATE users SET disabled_at = $2 WHERE id = $1 AND deleted_at IS NULL")
            .bind(user.to_string())
            .bind(disabled.then_some(now.as_millis()))
            .execute(&mut *conn)
            .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("user {user}")));
    }
    if disabled {
        end_access(conn, user).await?;
    }
    Ok(())
}

/// Deletes a person, inside the caller's transaction (see [`Store::delete_user`]).
pub(crate) async fn delete_user_on(
    conn: &mut sqlx::AnyConnection,
    user: UserId,
    now: Timestamp,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE users SET deleted_at = $2, disabled_at = COALESCE(disabled_at, $2), \
         email = $3, password_hash = NULL WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(user.to_string())
    .bind(now.as_millis())
    .bind(format!(
        "deleted-{}@deleted.invalid",
        user.as_uuid().simple()
    ))
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("user {user}")));
    }
    end_access(conn, user).await?;
    for sql in [
        "DELETE FROM notification_rules WHERE user_id = $1",
        "DELETE FROM contact_methods WHERE user_id = $1",
        "DELETE FROM team_members WHERE user_id = $1",
    ] {
        sqlx::query(sql)
            .bind(user.to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Ends a person's web sessions and API tokens, inside the caller's transaction.
async fn end_access(conn: &mut sqlx::AnyConnection, user: UserId) -> Result<(), StoreError> {
    for sql in [
        "DELETE FROM web_sessions WHERE user_id = $1",
        "DELETE FROM api_tokens WHERE user_id = $1",
    ] {
        sqlx::query(sql)
            .bind(user.to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
