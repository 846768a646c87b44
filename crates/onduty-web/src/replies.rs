//! What comes back from people and providers, outside the token-authenticated API:
//! Twilio's webhooks (SMS replies, keys pressed in a call, delivery reports), each
//! checked against `X-Twilio-Signature`; and the one-click links in e-mails, checked by
//! their HMAC signature. Who acts is the person the number or link belongs to.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use onduty_app::{Acting, AppError, IncidentCommand};
use onduty_core::account::User;
use onduty_core::contact::Channel;
use onduty_core::lifecycle::{Refused, Via};
use onduty_core::reply::{Keypress, REPLY_HELP, Reply, ReplyAction, parse_keypress, parse_reply};
use onduty_core::signature::{LINK_KEY, LinkAction, verify_link_token, verify_twilio_signature};
use onduty_core::{IncidentNumber, IncidentRef};
use onduty_notify::twilio::{call_twiml, message_twiml, say_twiml};
use onduty_notify::{Content, PageItem};
use onduty_store::StoreError;
use onduty_store::inbound::DeliveryReport;

use crate::{Secret, SharedState};

/// Twilio's webhooks are small forms; links carry no body worth more than this.
const BODY_LIMIT: usize = 64 * 1024;

/// Why a STOP reply turned a number off (START clears it).
const STOPPED: &str = "the person replied STOP; pages resume after START";

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/twilio/sms", post(inbound_sms))
        .route("/twilio/voice", post(voice_keys))
        .route("/twilio/status", post(delivery_status))
        .route(
            "/actions/{token}",
            get(link_page)
                .post(link_act)
                .layer(axum::middleware::map_response(crate::ui::security_headers)),
        )
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
}

/// Why a Twilio webhook is refused.
enum WebhookRefused {
    NotConfigured,
    BadSignature,
    TooLarge,
    Unreadable,
}

impl IntoResponse for WebhookRefused {
    fn into_response(self) -> Response {
        match self {
            WebhookRefused::NotConfigured => (
                StatusCode::NOT_FOUND,
                "Twilio is not configured on this server",
            )
                .into_response(),
            WebhookRefused::BadSignature => {
                (StatusCode::FORBIDDEN, "invalid X-Twilio-Signature").into_response()
            }
            WebhookRefused::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "onduty takes Twilio webhooks of up to {} KB",
                    BODY_LIMIT / 1024
                ),
            )
                .into_response(),
            WebhookRefused::Unreadable => (
                StatusCode::BAD_REQUEST,
                "onduty could not read the webhook's body",
            )
                .into_response(),
        }
    }
}

/// The form Twilio posted, after its signature is checked against the URL it was sent to.
fn signed_form(
    state: &SharedState,
    uri: &OriginalUri,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Vec<(String, String)>, WebhookRefused> {
    let Some(token) = state.config.twilio_auth_token.as_ref().map(Secret::expose) else {
        return Err(WebhookRefused::NotConfigured);
    };
    let body = match body {
        Ok(body) => body,
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(WebhookRefused::TooLarge);
        }
        Err(_) => return Err(WebhookRefused::Unreadable),
    };
    let params: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let url = format!(
        "{}{}",
        state.config.public_url.trim_end_matches('/'),
        uri.0.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    let given = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if given.is_empty() || !verify_twilio_signature(token, &url, &params, given) {
        tracing::warn!(
            url,
            "refused a Twilio webhook with a missing or wrong signature"
        );
        return Err(WebhookRefused::BadSignature);
    }
    Ok(params)
}

fn field<'a>(params: &'a [(String, String)], name: &str) -> &'a str {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

fn twiml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

/// The person a phone number belongs to, through their contact methods of `channel`.
async fn owner(
    state: &SharedState,
    number: &str,
    channel: Channel,
) -> Result<Option<(User, Vec<onduty_core::ContactMethodId>)>, StoreError> {
    let methods: Vec<_> = state
        .store
        .methods_by_number(number)
        .await?
        .into_iter()
        .filter(|m| m.channel == channel)
        .collect();
    let Some(first) = methods.first() else {
        return Ok(None);
    };
    let user = state.store.user(first.user_id).await?;
    let ids = methods
        .iter()
        .filter(|m| m.user_id == user.id)
        .map(|m| m.id)
        .collect();
    Ok(Some((user, ids)))
}

/// Does `action` for `user` on one incident, through the application layer; returns
/// the sentence to tell them.
pub(crate) async fn act_for(
    state: &SharedState,
    user: &User,
    incident: IncidentRef,
    action: ReplyAction,
    via: Via,
) -> String {
    let label = match incident {
        IncidentRef::Number(n) => format!("#{n}"),
        IncidentRef::Id(_) => "the incident".to_owned(),
    };
    let command = match action {
        ReplyAction::Acknowledge => IncidentCommand::Acknowledge,
        ReplyAction::Resolve => IncidentCommand::Resolve,
        ReplyAction::Escalate => IncidentCommand::Escalate { level: None },
    };
    let acting = Acting::new(user.clone(), via);
    match state.app.act(&acting, incident, command).await {
        Ok(acted) => {
            let label = format!("#{}", acted.incident.number);
            if acted.changed {
                format!("{} {label}", action.done())
            } else {
                format!("{label} was already {}", acted.incident.status.as_str())
            }
        }
        Err(e @ AppError::Forbidden(_)) => format!("{label}: {e}"),
        Err(AppError::Refused(Refused::AlreadyResolved(_))) => {
            format!("{label} is already resolved")
        }
        Err(AppError::NotFound(_)) => format!("{label} does not exist"),
        Err(e @ (AppError::Refused(_) | AppError::Conflict(_) | AppError::Invalid(_))) => {
            format!("{label}: {e}")
        }
        Err(e) => {
            tracing::error!(error = %e, "a reply could not be acted on");
            format!("{label}: onduty could not do that just now; try again")
        }
    }
}

/// An SMS reply: a code for an incident, a bare code for the last page, STOP, START or
/// HELP. Twilio sends our answer back to the person.
async fn inbound_sms(
    State(state): State<SharedState>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let params = match signed_form(&state, &uri, &headers, body) {
        Ok(p) => p,
        Err(refused) => return refused.into_response(),
    };
    let from = field(&params, "From");
    let text = field(&params, "Body");
    let (user, methods) = match owner(&state, from, Channel::Sms).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return twiml(message_twiml(
                "onduty: this number is not one of anyone's contact methods.",
            ));
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot look an SMS sender up");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let answer = match parse_reply(text) {
        Reply::Stop => {
            for m in &methods {
                if let Err(e) = state.store.set_method_failing(*m, Some(STOPPED)).await {
                    tracing::error!(error = %e, "cannot record STOP");
                }
            }
            state
                .app
                .own_account(&user, None, onduty_app::OwnAccount::SmsStopped)
                .await;
            // Twilio answers STOP itself; a second message would not be delivered.
            return twiml("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>".to_owned());
        }
        Reply::Start => {
            for m in &methods {
                if let Err(e) = state.store.set_method_failing(*m, None).await {
                    tracing::error!(error = %e, "cannot record START");
                }
            }
            state
                .app
                .own_account(&user, None, onduty_app::OwnAccount::SmsStarted)
                .await;
            "onduty: pages to this number are on again.".to_owned()
        }
        Reply::Help => REPLY_HELP.to_owned(),
        Reply::Unknown => format!("onduty did not understand that. {REPLY_HELP}"),
        Reply::Act {
            action,
            number: Some(n),
        } => act_for(&state, &user, IncidentRef::Number(IncidentNumber(n)), action, Via::Sms).await,
        Reply::Act {
            action,
            number: None,
        } => match state.store.last_paged(&methods).await {
            Ok(incidents) if incidents.is_empty() => {
                "onduty: nothing was sent to this number yet; reply with the incident number, e.g. 42a.".to_owned()
            }
            Ok(incidents) => {
                let mut lines = Vec::with_capacity(incidents.len());
                for id in incidents {
                    lines.push(act_for(&state, &user, IncidentRef::Id(id), action, Via::Sms).await);
                }
                lines.join("; ")
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot find the last page");
                "onduty could not do that just now; try again".to_owned()
            }
        },
    };
    twiml(message_twiml(&answer))
}

/// The incidents a call is about, from its gather URL (`?incidents=1,2`), which Twilio's
/// signature covers.
fn call_incidents(uri: &OriginalUri) -> Vec<i64> {
    let query = uri.0.query().unwrap_or_default();
    form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k == "incidents")
        .flat_map(|(_, v)| {
            v.split(',')
                .filter_map(|n| n.trim().parse::<i64>().ok())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A key pressed during a call (TwiML `<Gather>`): 4 acknowledge, 6 resolve, 5 escalate,
/// 1 repeat.
async fn voice_keys(
    State(state): State<SharedState>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let params = match signed_form(&state, &uri, &headers, body) {
        Ok(p) => p,
        Err(refused) => return refused.into_response(),
    };
    let numbers = call_incidents(&uri);
    // onduty placed the call: the person is the one called.
    let user = match owner(&state, field(&params, "To"), Channel::Voice).await {
        Ok(Some((user, _))) => user,
        Ok(None) => return twiml(say_twiml("This number is not known to onduty. Goodbye.")),
        Err(e) => {
            tracing::error!(error = %e, "cannot look a callee up");
            return twiml(say_twiml("onduty cannot do that just now. Goodbye."));
        }
    };
    match parse_keypress(field(&params, "Digits")) {
        Keypress::Act(action) => {
            let mut said = Vec::with_capacity(numbers.len());
            for n in &numbers {
                said.push(
                    act_for(
                        &state,
                        &user,
                        IncidentRef::Number(IncidentNumber(*n)),
                        action,
                        Via::PhoneCall,
                    )
                    .await,
                );
            }
            let text = format!("{}. Goodbye.", said.join(". ")).replace('#', "incident ");
            twiml(say_twiml(&text))
        }
        Keypress::Repeat | Keypress::Unknown => {
            let mut items = Vec::with_capacity(numbers.len());
            for n in &numbers {
                if let Ok(i) = state
                    .store
                    .incident(IncidentRef::Number(IncidentNumber(*n)))
                    .await
                {
                    let service = match state.store.service(i.service_id).await {
                        Ok(service) => service.name.to_string(),
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot read the service of a repeated call");
                            String::new()
                        }
                    };
                    items.push(PageItem {
                        id: i.id.to_string(),
                        number: i.number.0,
                        summary: i.summary.clone(),
                        service,
                        severity: i.severity.as_str().to_owned(),
                        urgency: i.urgency.as_str().to_owned(),
                        url: String::new(),
                        details: None,
                        links: Vec::new(),
                        ack_url: None,
                        resolve_url: None,
                        runbook: None,
                        signed: Vec::new(),
                        server: String::new(),
                    });
                }
            }
            let gather = format!(
                "{}/twilio/voice",
                state.config.public_url.trim_end_matches('/')
            );
            twiml(call_twiml(&Content::Page { items }, &gather))
        }
    }
}

/// Twilio's delivery reports for messages and calls.
async fn delivery_status(
    State(state): State<SharedState>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let params = match signed_form(&state, &uri, &headers, body) {
        Ok(p) => p,
        Err(refused) => return refused.into_response(),
    };
    let (sid, status) = match (field(&params, "MessageSid"), field(&params, "CallSid")) {
        (sid, _) if !sid.is_empty() => (sid, field(&params, "MessageStatus")),
        (_, sid) => (sid, field(&params, "CallStatus")),
    };
    // Only outcomes are worth a line on the timeline, not every step on the way.
    let outcome = [
        "delivered",
        "undelivered",
        "failed",
        "completed",
        "busy",
        "no-answer",
        "canceled",
    ];
    if sid.is_empty() || !outcome.contains(&status) {
        return StatusCode::NO_CONTENT.into_response();
    }
    let error = Some(field(&params, "ErrorCode"))
        .filter(|e| !e.is_empty())
        .map(str::to_owned);
    let report = DeliveryReport {
        provider_ref: sid.to_owned(),
        status: status.to_owned(),
        error,
    };
    match state
        .store
        .record_delivery_report(&report, state.clock.now())
        .await
    {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot record a delivery report");
            // Twilio retries on errors.
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// The page an e-mail link opens (`templates/link.html`).
#[derive(Template, Default)]
#[template(path = "link.html")]
struct LinkPage<'a> {
    title: &'a str,
    /// The incident's summary and status.
    incident: Option<(&'a str, &'a str)>,
    text: &'a str,
    /// The label of the one button, which posts back to the same link.
    button: Option<&'a str>,
}

impl LinkPage<'_> {
    fn answer(&self, status: StatusCode) -> Response {
        match self.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "cannot render a link page");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

/// A page with a title and a sentence.
fn page(status: StatusCode, title: &str, text: &str) -> Response {
    LinkPage {
        title,
        text,
        ..LinkPage::default()
    }
    .answer(status)
}

/// The grant in a link token, or the page saying why it does not work.
async fn check_link(
    state: &SharedState,
    token: &str,
) -> Result<onduty_core::signature::LinkGrant, Response> {
    let key = state.store.server_key(LINK_KEY).await.map_err(|e| {
        tracing::error!(error = %e, "cannot read the link key");
        page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Try again",
            "onduty cannot check this link just now.",
        )
    })?;
    verify_link_token(&key, token, state.clock.now()).map_err(|e| {
        page(
            StatusCode::GONE,
            "This link does not work",
            &format!("{e}. Open onduty to act on the incident."),
        )
    })
}

/// A link from an e-mail shows what it will do and a button; only the button acts, so
/// a mail scanner that opens links does not acknowledge anything.
async fn link_page(State(state): State<SharedState>, Path(token): Path<String>) -> Response {
    let grant = match check_link(&state, &token).await {
        Ok(g) => g,
        Err(page) => return page,
    };
    let incident = match state.store.incident(IncidentRef::Id(grant.incident)).await {
        Ok(i) => i,
        Err(_) => return page(StatusCode::NOT_FOUND, "No such incident", ""),
    };
    let verb = match grant.action {
        LinkAction::Acknowledge => "Acknowledge",
        LinkAction::Resolve => "Resolve",
    };
    LinkPage {
        title: &format!("{verb} incident #{}", incident.number),
        incident: Some((&incident.summary, incident.status.as_str())),
        text: "",
        button: Some(verb),
    }
    .answer(StatusCode::OK)
}

async fn link_act(State(state): State<SharedState>, Path(token): Path<String>) -> Response {
    let grant = match check_link(&state, &token).await {
        Ok(g) => g,
        Err(page) => return page,
    };
    let user = match state.store.user(grant.user).await {
        Ok(u) => u,
        Err(_) => {
            return page(
                StatusCode::GONE,
                "This link does not work",
                "Its user no longer exists.",
            );
        }
    };
    let action = match grant.action {
        LinkAction::Acknowledge => ReplyAction::Acknowledge,
        LinkAction::Resolve => ReplyAction::Resolve,
    };
    let said = act_for(
        &state,
        &user,
        IncidentRef::Id(grant.incident),
        action,
        Via::OneClickLink(grant.from),
    )
    .await;
    page(StatusCode::OK, &said, "You can close this page.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_page_escapes_the_incident_it_shows() {
        let html = LinkPage {
            title: "Acknowledge incident #1",
            incident: Some(("<img src=x onerror=alert(1)>", "triggered")),
            text: "",
            button: Some("Acknowledge"),
        }
        .render()
        .unwrap();
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&#60;img src=x"), "{html}");
        assert!(html.contains("<form method=\"post\">"), "{html}");
    }
}
