//! What comes back from people and providers: finding who sent an SMS reply, the page it
//! answers, opting a number out and in, delivery reports, and the server's own keys.

use onduty_core::contact::ContactMethod;
use onduty_core::incident::{Actor, TimelineKind};
use onduty_core::{ContactMethodId, IncidentId, Timestamp};

use crate::contacts::method_from_row;
use crate::effects::{timeline_row, timeline_writes};
use crate::sql::{col, execute_writes, parse_col};
use crate::{Store, StoreError, begin};

/// What a provider reported about a message after accepting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    /// The provider's id for the message (Twilio's `MessageSid` or `CallSid`).
    pub provider_ref: String,
    /// `delivered`, `undelivered`, `failed`, `completed`, `no-answer`, `busy`, …
    pub status: String,
    /// The provider's error code, if it gave one.
    pub error: Option<String>,
}

impl Store {
    /// The SMS and voice contact methods with this phone number, of any user.
    pub async fn methods_by_number(&self, number: &str) -> Result<Vec<ContactMethod>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, user_id, name, channel, address, verified, failing, created_at FROM contact_methods \
             WHERE address = $1 AND channel IN ('sms', 'voice') ORDER BY created_at, id",
        )
        .bind(number.to_owned())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(method_from_row).collect()
    }

    /// The incidents of the last page sent through any of `methods` (one, or a bundle).
    pub async fn last_paged(
        &self,
        methods: &[ContactMethodId],
    ) -> Result<Vec<IncidentId>, StoreError> {
        let mut latest: Option<(i64, ContactMethodId)> = None;
        for m in methods {
            let row = sqlx::query(
                "SELECT MAX(sent_at) AS last FROM outbox WHERE contact_method_id = $1 AND status = 'sent' \
                 AND incident_id IS NOT NULL",
            )
            .bind(m.to_string())
            .fetch_one(&self.read)
            .await?;
            if let Some(at) = col::<Option<i64>>(&row, "last")?
                && latest.is_none_or(|(best, _)| at > best)
            {
                latest = Some((at, *m));
            }
        }
        let Some((at, method)) = latest else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(
            "SELECT DISTINCT incident_id FROM outbox WHERE contact_method_id = $1 AND status = 'sent' AND sent_at = $2 \
             AND incident_id IS NOT NULL",
        )
        .bind(method.to_string())
        .bind(at)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| parse_col(r, "incident_id", str::parse))
            .collect()
    }

    /// Marks a contact method as failing (with why), or working again (`None`).
    pub async fn set_method_failing(
        &self,
        method: ContactMethodId,
        failing: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE contact_methods SET failing = $1 WHERE id = $2")
            .bind(failing.map(str::to_owned))
            .bind(method.to_string())
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(())
    }

    /// Records a provider's report on a message, with a timeline line on its incidents.
    /// Returns false if no message has that provider reference.
    pub async fn record_delivery_report(
        &self,
        report: &DeliveryReport,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let d = self.backend;
        let mut conn = self.write_conn().await?;
        let mut tx = begin(&mut conn, d).await?;
        let rows = sqlx::query(
            "SELECT o.incident_id, o.delivery_status, u.name AS user_name, cm.channel, cm.address \
             FROM outbox o JOIN users u ON u.id = o.user_id JOIN contact_methods cm ON cm.id = o.contact_method_id \
             WHERE o.provider_ref = $1",
        )
        .bind(report.provider_ref.clone())
        .fetch_all(&mut *tx)
        .await?;
        let Some(first) = rows.first() else {
            return Ok(false);
        };
        let before: Option<String> = col(first, "delivery_status")?;
        if before.as_deref() == Some(report.status.as_str()) {
            return Ok(true);
        }
        sqlx::query(
            "UPDATE outbox SET delivery_status = $1, delivery_updated_at = $2, \
             last_error = COALESCE($3, last_error) WHERE provider_ref = $4",
        )
        .bind(report.status.clone())
        .bind(now.as_millis())
        .bind(report.error.clone())
        .bind(report.provider_ref.clone())
        .execute(&mut *tx)
        .await?;
        let channel: String = col(first, "channel")?;
        let label = match channel.as_str() {
            "sms" => "SMS",
            "voice" => "Call",
            "email" => "E-mail",
            _ => "Message",
        };
        let line = format!(
            "{label} to {} {}: {}{}",
            col::<String>(first, "user_name")?,
            col::<String>(first, "address")?,
            report.status,
            report
                .error
                .as_deref()
                .map(|e| format!(" (error {e})"))
                .unwrap_or_default()
        );
        let mut timeline = Vec::new();
        for row in &rows {
            if let Some(incident) = col::<Option<String>>(row, "incident_id")? {
                timeline.push(timeline_row(
                    incident.parse().map_err(StoreError::corrupt)?,
                    now,
                    TimelineKind::Notified,
                    &Actor::System,
                    line.clone(),
                    None,
                    None,
                ));
            }
        }
        execute_writes(&mut tx, d, timeline_writes(d, timeline)).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A random key the server made for itself under `name`, made on first use and then
    /// the same for every instance sharing the database.
    pub async fn server_key(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        let mut fresh = [0u8; 32];
        getrandom::fill(&mut fresh)
            .map_err(|e| StoreError::Config(format!("no randomness for a key: {e}")))?;
        sqlx::query(
            "INSERT INTO server_keys (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name.to_owned())
        .bind(hex::encode(fresh))
        .execute(&mut *self.write_conn().await?)
        .await?;
        let row = sqlx::query("SELECT value FROM server_keys WHERE name = $1")
            .bind(name.to_owned())
            .fetch_one(&mut *self.write_conn().await?)
            .await?;
        hex::decode(col::<String>(&row, "value")?).map_err(StoreError::corrupt)
    }
}
