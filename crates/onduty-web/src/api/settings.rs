//! `/api/v1/settings`: the installation's settings that admins change while it runs
//! (postmortem due dates, the weekly sleep-hour page budget).

use axum::Json;
use axum::extract::State;
use onduty_core::settings::{OrgSettings, SettingsPatch};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Caller;
use crate::SharedState;
use crate::error::{ApiError, ApiJson, ErrorBody};

pub(super) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new().routes(routes!(get_settings, update_settings))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsView {
    /// A postmortem's provisional version is due this many hours after its incident
    /// resolved.
    #[schema(minimum = 1, maximum = 720)]
    pub postmortem_provisional_hours: u32,
    /// Its final version, this many business days (Monday to Friday) after.
    #[schema(minimum = 1, maximum = 60)]
    pub postmortem_final_business_days: u32,
    /// Sleep-hour pages (22:00–08:00 on their clock) a person may take in a week before
    /// their team's admins are told.
    #[schema(minimum = 0, maximum = 100)]
    pub sleep_page_budget: u32,
}

impl From<OrgSettings> for SettingsView {
    fn from(s: OrgSettings) -> Self {
        SettingsView {
            postmortem_provisional_hours: s.postmortem_provisional_hours,
            postmortem_final_business_days: s.postmortem_final_business_days,
            sleep_page_budget: s.sleep_page_budget,
        }
    }
}

/// A change to some settings; a field left out stays as it is.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    #[schema(minimum = 1, maximum = 720)]
    pub postmortem_provisional_hours: Option<u32>,
    #[schema(minimum = 1, maximum = 60)]
    pub postmortem_final_business_days: Option<u32>,
    #[schema(minimum = 0, maximum = 100)]
    pub sleep_page_budget: Option<u32>,
}

/// The settings.
#[utoipa::path(
    get, path = "/settings", tag = "settings",
    responses((status = 200, body = SettingsView))
)]
async fn get_settings(
    State(state): State<SharedState>,
    _caller: Caller,
) -> Result<Json<SettingsView>, ApiError> {
    Ok(Json(state.app.org_settings().await?.into()))
}

/// Change some settings (admins). A value out of range is refused, and nothing changes.
#[utoipa::path(
    patch, path = "/settings", tag = "settings", request_body = SettingsBody,
    responses(
        (status = 200, body = SettingsView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)
    )
)]
async fn update_settings(
    State(state): State<SharedState>,
    caller: Caller,
    ApiJson(body): ApiJson<SettingsBody>,
) -> Result<Json<SettingsView>, ApiError> {
    let patch = SettingsPatch {
        postmortem_provisional_hours: body.postmortem_provisional_hours,
        postmortem_final_business_days: body.postmortem_final_business_days,
        sleep_page_budget: body.sleep_page_budget,
    };
    let changed = state
        .app
        .update_org_settings(&caller.acting(), patch)
        .await?;
    Ok(Json(changed.into()))
}
