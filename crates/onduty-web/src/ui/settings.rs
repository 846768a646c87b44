//! The settings page: the installation's settings (anyone signed in reads them; admins
//! change them), through the same use cases as `/api/v1/settings`.

use askama::Template;
use axum::Router;
use axum::extract::{Form, State};
use axum::response::Response;
use axum::routing::get;
use onduty_core::settings::{OrgSettings, SettingsPatch};
use serde::Deserialize;

use super::auth::forbidden;
use super::flash::{done, failed};
use super::{Viewer, page};
use crate::SharedState;
use crate::error::ApiError;

pub(super) fn routes() -> Router<SharedState> {
    Router::new().route("/settings", get(show).post(change))
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    chrome: super::Chrome,
    settings: OrgSettings,
}

async fn show(State(state): State<SharedState>, viewer: Viewer) -> Response {
    match state.app.org_settings().await {
        Ok(settings) => {
            let mut chrome = viewer.chrome();
            chrome.section = "reports".to_owned();
            page(SettingsPage { chrome, settings })
        }
        Err(e) => super::error_page(ApiError::from(e)),
    }
}

#[derive(Debug, Deserialize)]
struct SettingsForm {
    csrf: String,
    postmortem_provisional_hours: String,
    postmortem_final_business_days: String,
    sleep_page_budget: String,
}

/// A whole number typed in a field, or why not.
fn number(label: &str, text: &str) -> Result<u32, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{label} must be a whole number"))
}

async fn change(
    State(state): State<SharedState>,
    viewer: Viewer,
    Form(form): Form<SettingsForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let patch = (|| {
        Ok::<_, String>(SettingsPatch {
            postmortem_provisional_hours: Some(number(
                "Provisional postmortem due after (hours)",
                &form.postmortem_provisional_hours,
            )?),
            postmortem_final_business_days: Some(number(
                "Final postmortem due after (business days)",
                &form.postmortem_final_business_days,
            )?),
            sleep_page_budget: Some(number(
                "Sleep-hour pages per person per week",
                &form.sleep_page_budget,
            )?),
        })
    })();
    let patch = match patch {
        Ok(p) => p,
        Err(e) => return failed(&state, "/settings", e),
    };
    match state.app.update_org_settings(&viewer.acting(), patch).await {
        Ok(_) => done(&state, "/settings", "Settings saved"),
        Err(e) => failed(&state, "/settings", ApiError::from(e)),
    }
}
