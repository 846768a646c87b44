//! Passwords (argon2id hashes, checked by the core) and the web UI's browser sessions.

use onduty_core::account::User;
use onduty_core::{Timestamp, UserId};

use crate::sql::col;
use crate::users::{USER_COLUMNS, user_from_row};
use crate::{Store, StoreError};

/// A signed-in browser: who, and the token its forms must carry.
#[derive(Debug, Clone)]
pub struct WebSession {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: Timestamp,
    /// They still have a password someone else chose: they must choose their own first.
    pub password_change_required: bool,
}

/// Whose choice a password is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordBy {
    /// The person's own: nothing more to do.
    Themselves,
    /// An administrator's, for them: they choose their own at their next log-in.
    Administrator,
}

impl Store {
    /// Sets (or replaces) a person's password hash, chosen `by` them or for them.
    pub async fn set_password_hash(
        &self,
        user: UserId,
        hash: &str,
        by: PasswordBy,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE users SET password_hash = $2, password_change_required = $3 WHERE id = $1",
        )
        .bind(user.to_string())
        .bind(hash.to_owned())
        .bind(i64::from(by == PasswordBy::Administrator))
        .execute(&mut *self.write_conn().await?)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user {user}")));
        }
        Ok(())
    }

    /// Sets the first password anyone has; false (and nothing changed) if somebody has
    /// one already, so that two set-ups racing cannot both succeed.
    pub async fn set_first_password_hash(
        &self,
        user: UserId,
        hash: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE users SET password_hash = $2 WHERE id = $1 \
             AND NOT EXISTS (SELECT 1 FROM users AS other WHERE other.password_hash IS NOT NULL)",
        )
        .bind(user.to_string())
        .bind(hash.to_owned())
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A person's password hash: `None` if they have no password yet or are disabled, so
    /// that a disabled person cannot log in.
    pub async fn password_hash(&self, user: UserId) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT CASE WHEN disabled_at IS NULL THEN password_hash END AS password_hash \
             FROM users WHERE id = $1",
        )
        .bind(user.to_string())
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("user {user}")))?;
        col(&row, "password_hash")
    }

    /// Whether anyone can sign in to the web UI yet (first run shows the set-up page
    /// until someone can).
    pub async fn any_password_set(&self) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE password_hash IS NOT NULL")
            .fetch_one(&self.read)
            .await?;
        Ok(col::<i64>(&row, "n")? > 0)
    }

    pub async fn create_session(
        &self,
        token_hash: &str,
        user: UserId,
        csrf_token: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut conn = self.write_conn().await?;
        // Old sessions go when new ones come.
        sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1")
            .bind(now.as_millis())
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "INSERT INTO web_sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash.to_owned())
        .bind(user.to_string())
        .bind(csrf_token.to_owned())
        .bind(now.as_millis())
        .bind(expires_at.as_millis())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// The session with this token hash, if it has not expired.
    pub async fn session(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<WebSession>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS}, web_sessions.csrf_token, web_sessions.expires_at, \
             users.password_change_required \
             FROM web_sessions JOIN users ON users.id = web_sessions.user_id \
             WHERE web_sessions.token_hash = $1 AND web_sessions.expires_at > $2 \
             AND users.disabled_at IS NULL"
        )))
        .bind(token_hash.to_owned())
        .bind(now.as_millis())
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            Ok(WebSession {
                user: user_from_row(&r)?,
                csrf_token: col(&r, "csrf_token")?,
                expires_at: Timestamp::from_millis(col(&r, "expires_at")?),
                password_change_required: col::<i64>(&r, "password_change_required")? != 0,
            })
        })
        .transpose()
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM web_sessions WHERE token_hash = $1")
            .bind(token_hash.to_owned())
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(())
    }

    /// Ends every session of a person but one (after a password change).
    pub async fn delete_other_sessions(
        &self,
        user: UserId,
        keep_token_hash: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM web_sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(user.to_string())
            .bind(keep_token_hash.to_owned())
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(())
    }
}
