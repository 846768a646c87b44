//! `/api/v1/users/{user}/contact-methods` and `/notification-rules`: how a person is
//! reached, proven by a code, tested on demand, and when each way is used.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use onduty_core::account::User;
use onduty_core::contact::{
    Address, Channel, ContactMethod, MAX_RULE_DELAY_MINUTES, NotificationRule, RuleUrgency,
    VERIFICATION_VALID_FOR, default_rules, hash_code, verification_code,
};
use onduty_core::{ContactMethodId, RuleId};
use onduty_notify::{Content, NotifyError, Outgoing};
use onduty_store::contacts::{NewContactMethod, Verification};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Caller;
use super::teams::find_user;
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
    /// `email`, `sms`, `voice` or `webhook`.
    pub channel: String,
    /// The e-mail address, E.164 phone number or URL.
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
}

impl From<&NotificationRule> for RuleView {
    fn from(r: &NotificationRule) -> Self {
        RuleView {
            id: r.id.to_string(),
            contact_method_id: r.contact_method.to_string(),
            delay_minutes: r.delay_minutes,
            urgency: r.urgency.as_str().to_owned(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewMethodBody {
    /// `email`, `sms`, `voice` or `webhook`.
    pub channel: String,
    /// An e-mail address, a phone number in E.164 (+442071838750), or an http(s) URL.
    pub address: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MethodCreated {
    pub contact_method: ContactMethodView,
    /// `sent` (enter the code with `/verify`), `not needed` (webhooks), or why it was not
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
    pub delay_minutes: u32,
    /// `high`, `low` or `both` (default).
    #[serde(default)]
    pub urgency: Option<String>,
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
async fn owner(state: &SharedState, caller: &Caller, user: &str) -> Result<User, ApiError> {
    let user = find_user(state, user).await?;
    if user.id != caller.0.id {
        caller.require_admin()?;
    }
    Ok(user)
}

async fn own_method(state: &SharedState, user: &User, id: &str) -> Result<ContactMethod, ApiError> {
    let id: ContactMethodId = id
        .parse()
        .map_err(|_| ApiError::NotFound(format!("no contact method '{id}'")))?;
    let method = state.store.contact_method(id).await?;
    if method.user_id != user.id {
        return Err(ApiError::NotFound(format!("no contact method '{id}'")));
    }
    Ok(method)
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    bytes
}

/// Sends a message to one contact method now (not a page: pages go through the engine).
async fn send_now(
    state: &SharedState,
    method: &ContactMethod,
    content: Content,
) -> Result<(), NotifyError> {
    let now = state.clock.now();
    let secret = match method.channel {
        Channel::Webhook => state
            .store
            .contact_method_secret(method.id)
            .await
            .ok()
            .flatten(),
        _ => None,
    };
    let message = Outgoing {
        channel: method.channel,
        to: method.address.as_str().to_owned(),
        secret,
        content,
        idempotency_key: format!("{}-{}", method.id, now.as_millis()),
        at: now,
    };
    state.providers.send(&message).await.map(|_| ())
}

/// Makes, keeps (hashed) and sends a new code; says how that went.
/// Codes and tests a contact method may be sent a minute (a burst of this many, then one
/// every 60/N seconds): nobody can use onduty to flood a phone or an inbox.
pub(crate) const SENDS_PER_MINUTE: u32 = 2;

/// Takes one send for `method`, or says to wait.
fn take_send(state: &SharedState, method: &ContactMethod) -> Result<(), ApiError> {
    state
        .contact_send_limiter
        .check(&method.id.to_string(), state.clock.now())
        .map_err(|wait| {
            ApiError::TooManyRequests(format!(
                "too many messages to this contact method; try again in {} seconds",
                wait.as_secs().max(1)
            ))
        })
}

async fn new_code(state: &SharedState, method: &ContactMethod) -> Result<String, ApiError> {
    take_send(state, method)?;
    let code = verification_code(random::<4>());
    let expires = state.clock.now().saturating_add(VERIFICATION_VALID_FOR);
    state
        .store
        .set_verification_code(method.id, &hash_code(&code), expires)
        .await?;
    Ok(
        match send_now(state, method, Content::Verification { code }).await {
            Ok(()) => "sent".to_owned(),
            Err(e) => format!("not sent: {e}"),
        },
    )
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
    let user = owner(&state, &caller, &user).await?;
    let channel = Channel::parse(&body.channel).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "'channel' must be email, sms, voice or webhook, not '{}'",
            body.channel
        ))
    })?;
    let address = Address::parse(channel, &body.address)
        .map_err(|e| ApiError::BadRequest(format!("'address': {e}")))?;
    let name = body
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(channel.label());
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(
            "'name' must be 1 to 100 plain characters".to_owned(),
        ));
    }
    let secret =
        (channel == Channel::Webhook).then(|| format!("whsec_{}", hex_of(&random::<24>())));
    let first = state.store.rules(user.id).await?.is_empty()
        && state.store.contact_methods(user.id).await?.is_empty();
    let now = state.clock.now();
    let method = state
        .store
        .create_contact_method(
            NewContactMethod {
                user_id: user.id,
                name: name.to_owned(),
                channel,
                address,
                secret: secret.clone(),
            },
            now,
        )
        .await?;
    let mut created_rules = Vec::new();
    if first {
        for (delay, urgency) in default_rules() {
            created_rules.push(
                state
                    .store
                    .create_rule(user.id, method.id, delay, urgency, now)
                    .await?,
            );
        }
    }
    let verification = if channel.needs_verification() {
        new_code(&state, &method).await?
    } else {
        "not needed".to_owned()
    };
    Ok((
        StatusCode::CREATED,
        Json(MethodCreated {
            contact_method: ContactMethodView::from(&method),
            verification,
            secret,
            default_rules: created_rules.iter().map(RuleView::from).collect(),
        }),
    ))
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
    let user = owner(&state, &caller, &user).await?;
    let method = own_method(&state, &user, &id).await?;
    state
        .store
        .delete_contact_method(user.id, method.id)
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
    let user = owner(&state, &caller, &user).await?;
    let method = own_method(&state, &user, &id).await?;
    if !method.channel.needs_verification() {
        return Err(ApiError::BadRequest(
            "webhooks need no verification code".to_owned(),
        ));
    }
    match new_code(&state, &method).await?.as_str() {
        "sent" => Ok(Json(SentBody { sent: true })),
        failure => Err(ApiError::BadGateway(failure.to_owned())),
    }
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
    let user = owner(&state, &caller, &user).await?;
    let method = own_method(&state, &user, &id).await?;
    let outcome = state
        .store
        .verify_contact_method(method.id, &hash_code(&body.code), state.clock.now())
        .await?;
    match outcome {
        Verification::Verified => {
            let method = state.store.contact_method(method.id).await?;
            Ok(Json(MethodEnvelope {
                contact_method: ContactMethodView::from(&method),
            }))
        }
        Verification::Wrong { attempts_left } => Err(ApiError::BadRequest(format!(
            "wrong code; {attempts_left} attempts left before a new code is needed"
        ))),
        Verification::Expired => Err(ApiError::BadRequest(
            "the code has expired; ask for a new one".to_owned(),
        )),
        Verification::NoCode => Err(ApiError::BadRequest(
            "no valid code: ask for a new one with send-code".to_owned(),
        )),
    }
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
    let user = owner(&state, &caller, &user).await?;
    let method = own_method(&state, &user, &id).await?;
    // A phone or an inbox gets tests only once it is proven to be its owner's.
    if method.channel.needs_verification() && !method.verified {
        return Err(ApiError::BadRequest(
            "verify this contact method with its code before sending it a test".to_owned(),
        ));
    }
    take_send(&state, &method)?;
    match send_now(&state, &method, Content::Test).await {
        Ok(()) => {
            if method.failing.is_some() {
                state
                    .store
                    .set_contact_method_failing(method.id, None)
                    .await?;
            }
            Ok(Json(SentBody { sent: true }))
        }
        Err(e) => Err(ApiError::BadGateway(e.to_string())),
    }
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
    let user = owner(&state, &caller, &user).await?;
    let method = own_method(&state, &user, &body.contact_method).await?;
    if body.delay_minutes > MAX_RULE_DELAY_MINUTES {
        return Err(ApiError::BadRequest(format!(
            "'delay_minutes' must be 0 to {MAX_RULE_DELAY_MINUTES}, not {}",
            body.delay_minutes
        )));
    }
    let urgency = match body.urgency.as_deref() {
        None => RuleUrgency::Both,
        Some(u) => RuleUrgency::parse(u).ok_or_else(|| {
            ApiError::BadRequest(format!("'urgency' must be high, low or both, not '{u}'"))
        })?,
    };
    let rule = state
        .store
        .create_rule(
            user.id,
            method.id,
            body.delay_minutes,
            urgency,
            state.clock.now(),
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
    let user = owner(&state, &caller, &user).await?;
    let id: RuleId = id
        .parse()
        .map_err(|_| ApiError::NotFound(format!("no notification rule '{id}'")))?;
    state.store.delete_rule(user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
