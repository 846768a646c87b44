//! The installation's settings (everyone signed in reads them, admins change them).

use onduty_core::audit::Change;
use onduty_core::settings::{OrgSettings, SettingsPatch};

use crate::{Acting, App, AppError};

impl App {
    pub async fn org_settings(&self) -> Result<OrgSettings, AppError> {
        Ok(self.store.org_settings().await?)
    }

    /// Changes some settings (admins); each value is checked, and nothing is kept if one
    /// is out of range.
    pub async fn update_org_settings(
        &self,
        acting: &Acting,
        patch: SettingsPatch,
    ) -> Result<OrgSettings, AppError> {
        acting.require_admin()?;
        let before = self.store.org_settings().await?;
        let changed = before
            .with(patch)
            .map_err(|e| AppError::Invalid(e.to_string()))?;
        self.store.set_org_settings(&changed).await?;
        let change = Change::of(Some(before), Some(changed));
        self.record(acting, "settings.update", "organization", change)
            .await;
        Ok(changed)
    }
}
