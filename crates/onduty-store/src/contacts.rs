//! Contact methods (with their verification codes, failures and webhook secrets) and
//! notification rules.

use onduty_core::contact::{
    Address, Channel, ContactMethod, NotificationRule, RepeatEvery, RuleUrgency,
};
use onduty_core::{ContactMethodId, RuleId, Timestamp, UserId};
use sqlx::any::AnyRow;

use crate::sql::{col, parse_col};
use crate::{Store, StoreError};

#[derive(Debug, Clone)]
pub struct NewContactMethod {
    pub user_id: UserId,
    pub name: String,
    pub channel: Channel,
    pub address: Address,
    /// Webhooks only.
    pub secret: Option<String>,
}

/// How a verification attempt went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    Verified,
    /// Wrong code; this many attempts remain.
    Wrong {
        attempts_left: u32,
    },
    Expired,
    /// No code was sent (or it was used up): ask for a new one.
    NoCode,
}

/// Wrong codes allowed before a new one must be sent.
pub const MAX_CODE_ATTEMPTS: i64 = 5;

macro_rules! select_methods {
    ($suffix:literal) => {
        concat!(
            "SELECT id, user_id, name, channel, address, verified, failing, created_at FROM contact_methods ",
            $suffix
        )
    };
}

pub(crate) fn method_from_row(row: &AnyRow) -> Result<ContactMethod, StoreError> {
    let channel = parse_col(row, "channel", |t| {
        Channel::parse(t).ok_or("unknown channel")
    })?;
    Ok(ContactMethod {
        id: parse_col(row, "id", str::parse)?,
        user_id: parse_col(row, "user_id", str::parse)?,
        name: col(row, "name")?,
        channel,
        address: parse_col(row, "address", |t| Address::parse(channel, t))?,
        verified: col::<i64>(row, "verified")? != 0,
        failing: col(row, "failing")?,
        created_at: Timestamp::from_millis(col(row, "created_at")?),
    })
}

fn rule_from_row(row: &AnyRow) -> Result<NotificationRule, StoreError> {
    Ok(NotificationRule {
        id: parse_col(row, "id", str::parse)?,
        user_id: parse_col(row, "user_id", str::parse)?,
        contact_method: parse_col(row, "contact_method_id", str::parse)?,
        delay_minutes: u32::try_from(col::<i64>(row, "delay_minutes")?)
            .map_err(StoreError::corrupt)?,
        urgency: parse_col(row, "urgency", |t| {
            RuleUrgency::parse(t).ok_or("unknown urgency")
        })?,
        repeat: col::<Option<i64>>(row, "repeat_seconds")?
            .map(|s| {
                u32::try_from(s)
                    .map_err(|e| e.to_string())
                    .and_then(RepeatEvery::parse)
                    .map_err(StoreError::corrupt)
            })
            .transpose()?,
    })
}

impl Store {
    /// Adds a contact method. Webhooks are usable at once; the others wait for their
    /// owner to enter the code sent to them.
    pub async fn create_contact_method(
        &self,
        new: NewContactMethod,
        now: Timestamp,
    ) -> Result<ContactMethod, StoreError> {
        let method = ContactMethod {
            id: ContactMethodId::new(now),
            user_id: new.user_id,
            name: new.name,
            channel: new.channel,
            address: new.address,
            verified: false,
            failing: None,
            created_at: now,
        };
        let mut conn = self.write_conn().await?;
        insert_method(&mut conn, &method, new.secret).await?;
        Ok(method)
    }

    pub async fn contact_methods(&self, user: UserId) -> Result<Vec<ContactMethod>, StoreError> {
        let rows = sqlx::query(select_methods!(
            "WHERE user_id = $1 ORDER BY created_at, id"
        ))
        .bind(user.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(method_from_row).collect()
    }

    pub async fn contact_method(&self, id: ContactMethodId) -> Result<ContactMethod, StoreError> {
        let row = sqlx::query(select_methods!("WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref()
            .map(method_from_row)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("contact method {id}")))
    }

    /// A webhook contact method's signing secret.
    pub async fn contact_method_secret(
        &self,
        id: ContactMethodId,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT secret FROM contact_methods WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("contact method {id}")))?;
        col(&row, "secret")
    }

    /// Removes a contact method and the rules that use it.
    pub async fn delete_contact_method(
        &self,
        user: UserId,
        id: ContactMethodId,
    ) -> Result<(), StoreError> {
        delete_method_on(&mut *self.write_conn().await?, user, id).await
    }

    /// Keeps the hash of a freshly sent code, valid until `expires_at`; earlier codes stop
    /// working.
    pub async fn set_verification_code(
        &self,
        id: ContactMethodId,
        code_hash: &str,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE contact_methods SET code_hash = $2, code_expires_at = $3, code_attempts = 0 WHERE id = $1")
            .bind(id.to_string())
            .bind(code_hash.to_owned())
            .bind(expires_at.as_millis())
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(())
    }

    /// Checks a code's hash. A right code verifies the method (and clears a failure); each
    /// wrong one uses up an attempt.
    pub async fn verify_contact_method(
        &self,
        id: ContactMethodId,
        code_hash: &str,
        now: Timestamp,
    ) -> Result<Verification, StoreError> {
        let mut conn = self.write_conn().await?;
        let row = sqlx::query(
            "SELECT code_hash, code_expires_at, code_attempts FROM contact_methods WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("contact method {id}")))?;
        let stored: Option<String> = col(&row, "code_hash")?;
        let expires: Option<i64> = col(&row, "code_expires_at")?;
        let attempts: i64 = col(&row, "code_attempts")?;
        let (Some(stored), Some(expires)) = (stored, expires) else {
            return Ok(Verification::NoCode);
        };
        if attempts >= MAX_CODE_ATTEMPTS {
            return Ok(Verification::NoCode);
        }
        if now.as_millis() > expires {
            return Ok(Verification::Expired);
        }
        if stored == code_hash {
            sqlx::query(
                "UPDATE contact_methods SET verified = 1, failing = NULL, code_hash = NULL, code_expires_at = NULL, \
                 code_attempts = 0 WHERE id = $1",
            )
            .bind(id.to_string())
            .execute(&mut *conn)
            .await?;
            return Ok(Verification::Verified);
        }
        sqlx::query("UPDATE contact_methods SET code_attempts = code_attempts + 1 WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *conn)
            .await?;
        Ok(Verification::Wrong {
            attempts_left: u32::try_from(MAX_CODE_ATTEMPTS - attempts - 1).unwrap_or(0),
        })
    }

    /// Marks a method as failing (a provider refused it for good), or clears the mark.
    pub async fn set_contact_method_failing(
        &self,
        id: ContactMethodId,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE contact_methods SET failing = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(reason.map(str::to_owned))
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(())
    }

    pub async fn create_rule(
        &self,
        user: UserId,
        method: ContactMethodId,
        delay_minutes: u32,
        urgency: RuleUrgency,
        repeat: Option<RepeatEvery>,
        now: Timestamp,
    ) -> Result<NotificationRule, StoreError> {
        let owner = self.contact_method(method).await?.user_id;
        if owner != user {
            return Err(StoreError::NotFound(format!("contact method {method}")));
        }
        let rule = NotificationRule {
            id: RuleId::new(now),
            user_id: user,
            contact_method: method,
            delay_minutes,
            urgency,
            repeat,
        };
        insert_rule(&mut *self.write_conn().await?, &rule, now).await?;
        Ok(rule)
    }

    /// A user's rules, earliest first.
    pub async fn rules(&self, user: UserId) -> Result<Vec<NotificationRule>, StoreError> {
        rules_on(&mut *self.read.acquire().await?, user).await
    }

    pub async fn delete_rule(&self, user: UserId, id: RuleId) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM notification_rules WHERE id = $1 AND user_id = $2")
            .bind(id.to_string())
            .bind(user.to_string())
            .execute(&mut *self.write_conn().await?)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("notification rule {id}")));
        }
        Ok(())
    }
}

/// Adds a contact method, inside the caller's transaction.
pub(crate) async fn insert_method(
    conn: &mut sqlx::AnyConnection,
    method: &ContactMethod,
    secret: Option<String>,
) -> Result<(), StoreError> {
    let result = sqlx::query(
        "INSERT INTO contact_methods (id, user_id, name, channel, address, verified, secret, code_attempts, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8)",
    )
    .bind(method.id.to_string())
    .bind(method.user_id.to_string())
    .bind(method.name.clone())
    .bind(method.channel.as_str())
    .bind(method.address.as_str().to_owned())
    .bind(i64::from(method.verified))
    .bind(secret)
    .bind(method.created_at.as_millis())
    .execute(&mut *conn)
    .await
    .map_err(StoreError::from);
    match result {
        Err(e) if e.is_unique_violation() => Err(StoreError::Conflict(format!(
            "{} {} is already one of this user's contact methods",
            method.channel.label(),
            method.address.as_str()
        ))),
        Err(e) => Err(e),
        Ok(_) => Ok(()),
    }
}

/// Gives a contact method a new address, which its owner verifies again before pages go
/// there; the code sent to the old address stops working.
pub(crate) async fn change_address_on(
    conn: &mut sqlx::AnyConnection,
    id: ContactMethodId,
    address: &Address,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE contact_methods SET address = $2, verified = 0, failing = NULL, code_hash = NULL, \
         code_expires_at = NULL, code_attempts = 0 WHERE id = $1",
    )
    .bind(id.to_string())
    .bind(address.as_str().to_owned())
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("contact method {id}")));
    }
    Ok(())
}

/// Removes a contact method and the rules that use it, inside the caller's transaction.
pub(crate) async fn delete_method_on(
    conn: &mut sqlx::AnyConnection,
    user: UserId,
    id: ContactMethodId,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM notification_rules WHERE contact_method_id = $1 AND user_id = $2")
        .bind(id.to_string())
        .bind(user.to_string())
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query("DELETE FROM contact_methods WHERE id = $1 AND user_id = $2")
        .bind(id.to_string())
        .bind(user.to_string())
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("contact method {id}")));
    }
    Ok(())
}

/// Adds a notification rule, inside the caller's transaction.
pub(crate) async fn insert_rule(
    conn: &mut sqlx::AnyConnection,
    rule: &NotificationRule,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO notification_rules (id, user_id, contact_method_id, delay_minutes, urgency, repeat_seconds, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(rule.id.to_string())
    .bind(rule.user_id.to_string())
    .bind(rule.contact_method.to_string())
    .bind(i64::from(rule.delay_minutes))
    .bind(rule.urgency.as_str())
    .bind(rule.repeat.map(|r| i64::from(r.seconds())))
    .bind(now.as_millis())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A user's rules, earliest first, read on `conn` (inside a caller's transaction).
pub(crate) async fn rules_on(
    conn: &mut sqlx::AnyConnection,
    user: UserId,
) -> Result<Vec<NotificationRule>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, user_id, contact_method_id, delay_minutes, urgency, repeat_seconds FROM notification_rules \
         WHERE user_id = $1 ORDER BY delay_minutes, created_at, id",
    )
    .bind(user.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(rule_from_row).collect()
}
