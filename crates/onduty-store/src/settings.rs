//! The installation's settings that admins change while it runs.

use onduty_core::settings::OrgSettings;

use crate::sql::col;
use crate::{Store, StoreError, begin};

impl Store {
    /// The settings, a missing or unreadable one at its default.
    pub async fn org_settings(&self) -> Result<OrgSettings, StoreError> {
        let rows = sqlx::query("SELECT name, value FROM org_settings")
            .fetch_all(&self.read)
            .await?;
        let pairs: Vec<(String, String)> = rows
            .iter()
            .map(|r| Ok((col(r, "name")?, col(r, "value")?)))
            .collect::<Result<_, StoreError>>()?;
        Ok(OrgSettings::from_rows(
            pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        ))
    }

    /// Keeps every setting, in one transaction.
    pub async fn set_org_settings(&self, settings: &OrgSettings) -> Result<(), StoreError> {
        let mut conn = self.write_conn().await?;
        let mut tx = begin(&mut conn, self.backend).await?;
        for (name, value) in settings.rows() {
            sqlx::query(
                "INSERT INTO org_settings (name, value) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            )
            .bind(name)
            .bind(value)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
