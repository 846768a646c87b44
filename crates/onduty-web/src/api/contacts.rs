//! `/api/v1/users/{user}/contact-methods` and `/notification-rules`: how a person is
//! reached, proven by a code, tested on demand, and when each way is used.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use onduty_app::{MethodInput, RuleInput};
use onduty_core::account::User;
use onduty_core::contact::{ContactMethod, NotificationRule};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Caller;
use crate::SharedState;
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};

pub(super) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_methods, create_method))
        .routes(routes!(delete_method))
        .routes(routes!(send_code))
        .routes(routes!(verify))
        .routes(routes!(send_test))
        .routes(routes!(list_rules, create_rule))
        .routes(routes!(delete_rule))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactMethodView {
    pub id: String,
    pub name: String,
    /// `email`, `sms`, `voice`, `webhook`, `ntfy`, `slack` or `telegram`.
    #[schema(format = "channel")]
    pub channel: String,
    /// The e-mail address, E.164 phone number, webhook URL, ntfy topic URL, Slack member
    /// id or Telegram user id.
    pub address: String,
    pub verified: bool,
    /// Why a provider refused this method for good, if it did; it pages again once
    /// verified or tested successfully.
    pub failing: Option<String>,
}

impl From<&ContactMethod> for ContactMethodView {
    fn from(m: &ContactMethod) -> Self {
        ContactMethodView {
            id: m.id.to_string(),
            name: m.name.clone(),
            channel: m.channel.as_str().to_owned(),
            address: m.address.as_str().to_owned(),
            verified: m.verified,
            failing: m.failing.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleView {
    pub id: String,
    pub contact_method_id: String,
    /// Minutes after being paged (0 to 1440).
    pub delay_minutes: u32,
    /// `high`, `low` or `both`.
    pub urgency: String,
    /// Push rules: paged again this many seconds apart until someone acknowledges, the
    /// person's next rule is due, or 30 minutes have passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat_seconds: Option<u32>,
}

impl From<&NotificationRule> for RuleView {
    fn from(r: &NotificationRule) -> Self {
        RuleView {
            id: r.id.to_string(),
            contact_method_id: r.contact_method.to_string(),
            delay_minutes: r.delay_minutes,
            urgency: r.urgency.as_str().to_owned(),
            repeat_seconds: r.repeat.map(|r| r.seconds()),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewMethodBody {
    /// `email`, `sms`, `voice`, `webhook`, `ntfy`, `slack` (a direct message from the
    /// onduty app), `telegram` (a private message from onduty's bot), `mattermost` (a
    /// direct message from onduty's bot, to the linked account) or `web_push` (a
    /// browser's push subscription; the web UI's profile page makes these).
    #[schema(format = "channel")]
    pub channel: String,
    /// An e-mail address, a phone number in E.164 (+442071838750), a webhook's http(s)
    /// URL, an ntfy topic's URL (`https://ntfy.sh/alice-pages-7f3a`), or for Slack a
    /// member id (`U0123ABCD`) or the e-mail address of the Slack account (empty: the
    /// user's own); for Telegram, empty: the Telegram account the user linked; for Web
    /// Push, the subscription's `endpoint`.
    pub address: String,
    #[serde(default)]
    #[schema(format = "name")]
    pub name: Option<String>,
    /// ntfy only: an access token (`tk_…`) for a protected topic. Kept, never shown.
    #[serde(default)]
    pub token: Option<String>,
    /// Web Push only: the subscription's `keys.p256dh` (base64url). Kept, never shown.
    #[serde(default)]
    pub p256dh: Option<String>,
    /// Web Push only: the subscription's `keys.auth` (base64url). Kept, never shown.
    #[serde(default)]
    pub auth: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MethodCreated {
    pub contact_method: ContactMethodView,
    /// `sent` (enter the code with `/verify`), or why it was not
    /// sent (then `/send-code` tries again).
    pub verification: String,
    /// Webhooks only, shown once: the secret to check `X-Onduty-Signature` with.
    pub secret: Option<String>,
    /// The rules created because this is the user's first contact method.
    pub default_rules: Vec<RuleView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MethodList {
    pub contact_methods: Vec<ContactMethodView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MethodEnvelope {
    pub contact_method: ContactMethodView,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CodeBody {
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SentBody {
    pub sent: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewRuleBody {
    /// The id of one of the user's contact methods.
    pub contact_method: String,
    /// Minutes after being paged (0 to 1440).
    #[schema(minimum = 0, maximum = 1440)]
    pub delay_minutes: u32,
    /// `high`, `low` or `both` (default).
    #[serde(default)]
    #[schema(format = "rule-urgency")]
    pub urgency: Option<String>,
    /// Push (ntfy) rules only: page again this many seconds apart (30 to 3600; default
    /// 60; 0 for once) until someone acknowledges, the person's next rule is due, or 30
    /// minutes have passed.
    #[serde(default)]
    #[schema(format = "repeat-seconds")]
    pub repeat_seconds: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleList {
    pub notification_rules: Vec<RuleView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleEnvelope {
    pub notification_rule: RuleView,
}

/// The user named in the path, if the caller may manage their contact details (themselves
/// or an admin).
/// The person whose contact methods and rules the caller manages (themselves, or
/// anyone for admins).
async fn owner(state: &SharedState, caller: &Caller, user: &str) -> Result<User, ApiError> {
    Ok(state.app.contact_owner(&caller.acting(), user).await?)
}

/// A user's contact methods.
#[utoipa::path(
    get, path = "/users/{user}/contact-methods", tag = "users",
    params(("user" = String, Path, description = "User id or e-mail")),
    responses((status = 200, body = MethodList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub(crate) async fn list_methods(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(user): ApiPath<String>,
) -> Result<Json<MethodList>, ApiError> {
    let user = owner(&state, &caller, &user).await?;
    let methods = state.store.contact_methods(user.id).await?;
    Ok(Json(MethodList {
        contact_methods: methods.iter().map(ContactMethodView::from).collect(),
    }))
}

/// Add a contact method. E-mail, SMS and voice get a code to confirm with `/verify`
/// before they page; a webhook works at once and gets a signing secret. A user's first
/// method also gets default rules: at once for any urgency, again after 5 minutes for high.
#[utoipa::path(
    post, path = "/users/{user}/contact-methods", tag = "users",
    params(("user" = String, Path, description = "User id or e-mail")),
    request_body = NewMethodBody,
    responses(
        (status = 201, body = MethodCreated),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, description = "Already one of the user's methods", body = ErrorBody),
    )
)]
pub(crate) async fn create_method(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(user): ApiPath<String>,
    ApiJson(body): ApiJson<NewMethodBody>,
) -> Result<(StatusCode, Json<MethodCreated>), ApiError> {
    let made = state
        .app
        .create_method(
            &caller.acting(),
            &user,
            MethodInput {
                channel: body.channel,
                address: body.address,
                name: body.name,
                token: body.token,
                push_keys: body.p256dh.zip(body.auth),
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(MethodCreated {
            contact_method: ContactMethodView::from(&made.method),
            verification: made.verification,
            secret: made.secret,
            default_rules: made.default_rules.iter().map(RuleView::from).collect(),
        }),
    ))
}

/// Remove a contact method and the rules that use it.
#[utoipa::path(
    delete, path = "/users/{user}/contact-methods/{id}", tag = "users",
    params(("user" = String, Path, description = "User id or e-mail"), ("id" = String, Path, description = "Contact method id")),
    responses((status = 204, description = "Removed"), (status = 404, body = ErrorBody))
)]
pub(crate) async fn delete_method(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath((user, id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .delete_method(&caller.acting(), &user, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Send a new verification code (earlier codes stop working).
#[utoipa::path(
    post, path = "/users/{user}/contact-methods/{id}/send-code", tag = "users",
    params(("user" = String, Path, description = "User id or e-mail"), ("id" = String, Path, description = "Contact method id")),
    responses(
        (status = 200, body = SentBody),
        (status = 400, description = "Webhooks need no code", body = ErrorBody),
        (status = 502, description = "The provider did not take the message", body = ErrorBody),
    )
)]
pub(crate) async fn send_code(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath((user, id)): ApiPath<(String, String)>,
) -> Result<Json<SentBody>, ApiError> {
    state.app.send_code(&caller.acting(), &user, &id).await?;
    Ok(Json(SentBody { sent: true }))
}

/// Confirm a contact method with the code sent to it.
#[utoipa::path(
    post, path = "/users/{user}/contact-methods/{id}/verify", tag = "users",
    params(("user" = String, Path, description = "User id or e-mail"), ("id" = String, Path, description = "Contact method id")),
    request_body = CodeBody,
    responses(
        (status = 200, body = MethodEnvelope),
        (status = 400, description = "Wrong, expired or used-up code", body = ErrorBody),
    )
)]
pub(crate) async fn verify(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath((user, id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<Json<MethodEnvelope>, ApiError> {
    let method = state
        .app
        .verify_method(&caller.acting(), &user, &id, &body.code)
        .await?;
    Ok(Json(MethodEnvelope {
        contact_method: ContactMethodView::from(&method),
    }))
}

/// Send a test message now. Success clears a failure mark.
#[utoipa::path(
    post, path = "/users/{user}/contact-methods/{id}/test", tag = "users",
    params(("user" = String, Path, description = "User id or e-mail"), ("id" = String, Path, description = "Contact method id")),
    responses((status = 200, body = SentBody), (status = 502, description = "The provider did not take the message", body = ErrorBody))
)]
pub(crate) async fn send_test(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath((user, id)): ApiPath<(String, String)>,
) -> Result<Json<SentBody>, ApiError> {
    state.app.send_test(&caller.acting(), &user, &id).await?;
    Ok(Json(SentBody { sent: true }))
}

/// A user's notification rules, earliest first.
#[utoipa::path(
    get, path = "/users/{user}/notification-rules", tag = "users",
    params(("user" = String, Path, description = "User id or e-mail")),
    responses((status = 200, body = RuleList))
)]
pub(crate) async fn list_rules(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(user): ApiPath<String>,
) -> Result<Json<RuleList>, ApiError> {
    let user = owner(&state, &caller, &user).await?;
    let rules = state.store.rules(user.id).await?;
    Ok(Json(RuleList {
        notification_rules: rules.iter().map(RuleView::from).collect(),
    }))
}

/// Add a rule: "`delay_minutes` after I am paged, for these urgencies, use this method".
#[utoipa::path(
    post, path = "/users/{user}/notification-rules", tag = "users",
    params(("user" = String, Path, description = "User id or e-mail")),
    request_body = NewRuleBody,
    responses((status = 201, body = RuleEnvelope), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub(crate) async fn create_rule(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(user): ApiPath<String>,
    ApiJson(body): ApiJson<NewRuleBody>,
) -> Result<(StatusCode, Json<RuleEnvelope>), ApiError> {
    let rule = state
        .app
        .create_rule(
            &caller.acting(),
            &user,
            RuleInput {
                contact_method: body.contact_method,
                delay_minutes: body.delay_minutes,
                urgency: body.urgency,
                repeat_seconds: body.repeat_seconds,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(RuleEnvelope {
            notification_rule: RuleView::from(&rule),
        }),
    ))
}

/// Remove a notification rule.
#[utoipa::path(
    delete, path = "/users/{user}/notification-rules/{id}", tag = "users",
    params(("user" = String, Path, description = "User id or e-mail"), ("id" = String, Path, description = "Rule id")),
    responses((status = 204, description = "Removed"), (status = 404, body = ErrorBody))
)]
pub(crate) async fn delete_rule(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath((user, id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_rule(&caller.acting(), &user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
