//! The REST API under `/api/v1`: bearer-token authentication, the endpoints, and the
//! OpenAPI document generated from them (`/api/v1/openapi.json`).

pub(crate) mod access;
pub(crate) mod audit;
mod chat;
mod config;
pub(crate) mod contacts;
mod doc;
pub(crate) mod heartbeats;
pub(crate) mod incidents;
pub(crate) mod maintenance;
pub(crate) mod policies;
mod postmortems;
mod reports;
mod runbooks;
pub(crate) mod schedules;
pub(crate) mod services;
mod settings;
pub(crate) mod status_pages;
mod status_postmortems;
mod status_subscribers;
mod status_templates;
pub(crate) mod teams;
pub(crate) mod users;
pub mod views;

pub use onduty_app::{new_routing_key, new_token_secret};
pub(crate) use reports::csv_response as report_csv_response;

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use onduty_app::Acting;
use onduty_core::account::{TokenSecret, User};
use onduty_core::incident::Actor;
use onduty_core::lifecycle::Via;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::{API_BODY_LIMIT, SharedState};

/// Every route with an OpenAPI description: the ingest endpoints (events, webhooks,
/// Opsgenie, pings) and `/api/v1`, plus the document itself.
pub(crate) fn routes() -> Router<SharedState> {
    let v1 = OpenApiRouter::new()
        .merge(incidents::routes())
        .merge(services::routes())
        .merge(policies::routes())
        .merge(runbooks::routes())
        .merge(postmortems::routes())
        .merge(reports::routes())
        .merge(settings::routes())
        .merge(schedules::routes())
        .merge(teams::routes())
        .merge(users::routes())
        .merge(access::routes())
        .merge(audit::routes())
        .merge(contacts::routes())
        .merge(heartbeats::routes())
        .merge(maintenance::routes())
        .merge(status_pages::routes())
        .merge(status_postmortems::routes())
        .merge(status_subscribers::routes())
        .merge(status_templates::routes())
        .merge(chat::routes())
        .merge(config::routes())
        .layer(axum::extract::DefaultBodyLimit::max(API_BODY_LIMIT));
    let (router, doc) = OpenApiRouter::with_openapi(doc::ApiDoc::openapi())
        .merge(crate::ingest::routes())
        .merge(crate::webhooks::routes())
        .merge(crate::opsgenie::routes())
        .merge(crate::pings::routes())
        .nest("/api/v1", v1)
        .split_for_parts();
    let doc = Arc::new(doc::finish(doc));
    router.route(
        "/api/v1/openapi.json",
        get(move || async move { Json(doc.as_ref().clone()) }),
    )
}

/// The user a request's API token belongs to, the token's name and the client's address.
pub struct Caller(pub User, TokenName, Option<std::net::IpAddr>);

/// An API token's name, for the audit log.
struct TokenName(String);

impl FromRequestParts<SharedState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Unauthorized)?;
        let (scheme, token) = header
            .trim()
            .split_once(' ')
            .ok_or(ApiError::Unauthorized)?;
        let token = match scheme.to_ascii_lowercase().as_str() {
            "bearer" => token,
            // PagerDuty's REST API style: `Authorization: Token token=<key>`.
            "token" => token
                .trim()
                .strip_prefix("token=")
                .ok_or(ApiError::Unauthorized)?,
            _ => return Err(ApiError::Unauthorized),
        };
        let (user, name) = state
            .store
            .token_holder(&TokenSecret::from_presented(token))
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let address = crate::ui::auth::client_ip(state, parts);
        Ok(Caller(user, TokenName(name), address))
    }
}

impl Caller {
    /// The caller, acting through the API.
    pub fn acting(&self) -> Acting {
        Acting::new(self.0.clone(), Via::Api)
            .with_token(&self.1.0)
            .from_address(self.2)
    }

    pub fn actor(&self) -> Actor {
        Actor::User {
            id: self.0.id,
            name: self.0.name.to_string(),
        }
    }

    /// Acting on incidents and notes need a responder or an admin.
    pub fn require_responder(&self) -> Result<(), ApiError> {
        Ok(self.acting().require_responder()?)
    }

    /// Configuration (services, integrations, users) needs an admin.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        Ok(self.acting().require_admin()?)
    }
}

/// Opaque page cursors: a letter saying what the number is, then the number.
pub(crate) fn encode_cursor(kind: char, n: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}{n}"))
}

pub(crate) fn decode_cursor(kind: char, cursor: &str) -> Result<i64, ApiError> {
    let bad = || {
        ApiError::BadRequest(
            "invalid cursor: pass back the cursor a previous page returned".to_owned(),
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    text.strip_prefix(kind)
        .and_then(|n| n.parse().ok())
        .ok_or_else(bad)
}

/// Page sizes: 25 by default, at most 100.
pub(crate) fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(25),
        Some(n) if (1..=100).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::BadRequest(format!(
            "limit must be between 1 and 100, not {n}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = encode_cursor('n', 42);
        assert_eq!(decode_cursor('n', &c).unwrap(), 42);
        assert!(decode_cursor('t', &c).is_err());
        assert!(decode_cursor('n', "!!!").is_err());
    }

    #[test]
    fn page_limits() {
        assert_eq!(page_limit(None).unwrap(), 25);
        assert_eq!(page_limit(Some(100)).unwrap(), 100);
        assert!(page_limit(Some(0)).is_err());
        assert!(page_limit(Some(101)).is_err());
    }
}
