//! `/api/v1/status-pages/{page}/subscribers`: who a status page tells of its news (admins
//! only: addresses are shown to nobody else). Webhooks are added here; e-mail subscribers
//! confirm by the link they are sent, from the page's form or from here.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use onduty_core::Timestamp;
use onduty_store::status_subscribers::{Subscribed, Subscriber};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Caller;
use crate::SharedState;
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};

pub(super) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_subscribers, add_subscriber))
        .routes(routes!(remove_subscriber))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriberView {
    pub id: String,
    /// `email` or `webhook`.
    pub kind: String,
    /// The e-mail address or the webhook's URL.
    pub address: String,
    /// An e-mail subscriber who has not followed the confirmation link yet gets nothing.
    pub confirmed: bool,
    /// The components chosen (ids); none: the whole page.
    pub components: Vec<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriberList {
    pub subscribers: Vec<SubscriberView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NewSubscriberAnswer {
    /// The webhook subscriber added; absent for an e-mail address, which is sent a
    /// confirmation mail and shows up once it exists.
    pub subscriber: Option<SubscriberView>,
    /// The webhook's signing secret, shown this once: payloads carry
    /// `X-Onduty-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
    pub secret: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubscriberBody {
    /// A webhook's URL: it receives Statuspage's subscriber payloads, signed.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// Or an e-mail address: a mail asking to confirm is sent to it.
    #[serde(default)]
    pub email: Option<String>,
    /// Component ids or names; none: the whole page.
    #[serde(default)]
    pub components: Vec<String>,
}

fn view(s: &Subscriber) -> SubscriberView {
    SubscriberView {
        id: s.id.to_string(),
        kind: s.subscription.kind().to_owned(),
        address: s.subscription.address().to_owned(),
        confirmed: s.confirmed_at.is_some(),
        components: s.components.iter().map(ToString::to_string).collect(),
        created_at: s.created_at,
    }
}

/// A status page's subscribers (admins).
#[utoipa::path(
    get, path = "/status-pages/{page}/subscribers", tag = "status pages",
    params(("page" = String, Path, description = "Status page id or slug")),
    responses((status = 200, body = SubscriberList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn list_subscribers(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(page): ApiPath<String>,
) -> Result<Json<SubscriberList>, ApiError> {
    let found = state.app.subscribers(&caller.acting(), &page).await?;
    Ok(Json(SubscriberList {
        subscribers: found.iter().map(view).collect(),
    }))
}

/// Add a webhook subscriber, or send an e-mail address the confirmation mail (admins).
#[utoipa::path(
    post, path = "/status-pages/{page}/subscribers", tag = "status pages",
    params(("page" = String, Path, description = "Status page id or slug")),
    request_body = NewSubscriberBody,
    responses(
        (status = 201, body = NewSubscriberAnswer, description = "A webhook added"),
        (status = 202, body = NewSubscriberAnswer, description = "A confirmation mail queued"),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)
    )
)]
async fn add_subscriber(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(page): ApiPath<String>,
    ApiJson(body): ApiJson<NewSubscriberBody>,
) -> Result<(StatusCode, Json<NewSubscriberAnswer>), ApiError> {
    let acting = caller.acting();
    match (body.webhook_url, body.email) {
        (Some(url), None) => {
            let added = state
                .app
                .add_webhook_subscriber(&acting, &page, &url, &body.components)
                .await?;
            Ok((
                StatusCode::CREATED,
                Json(NewSubscriberAnswer {
                    subscriber: Some(view(&added.subscriber)),
                    secret: Some(added.secret),
                }),
            ))
        }
        (None, Some(email)) => {
            let said = state
                .app
                .invite_subscriber(&acting, &page, &email, &body.components)
                .await?;
            if said == Subscribed::Already {
                return Err(ApiError::Conflict(
                    "this address is subscribed to the page already".to_owned(),
                ));
            }
            Ok((
                StatusCode::ACCEPTED,
                Json(NewSubscriberAnswer {
                    subscriber: None,
                    secret: None,
                }),
            ))
        }
        _ => Err(ApiError::BadRequest(
            "give either 'webhook_url' or 'email'".to_owned(),
        )),
    }
}

/// Remove a subscriber (admins): nothing more is sent to it.
#[utoipa::path(
    delete, path = "/status-pages/{page}/subscribers/{id}", tag = "status pages",
    params(
        ("page" = String, Path, description = "Status page id or slug"),
        ("id" = String, Path, description = "Subscriber id"),
    ),
    responses((status = 204, description = "Removed"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn remove_subscriber(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath((page, id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .remove_subscriber(&caller.acting(), &page, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
