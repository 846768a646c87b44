//! Subscribing to a status page by e-mail, without log-in: the form (rate-limited per
//! client), the confirmation link's page, and unsubscribing, by a button or in one click
//! from the mail client (`List-Unsubscribe-Post`, RFC 8058). Links carry the
//! subscriber's token; a page never shows an address.

use std::net::SocketAddr;

use askama::Template;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onduty_app::AppError;
use onduty_store::status_pages::StatusPage;
use onduty_store::status_subscribers::Subscriber;

use crate::SharedState;
use crate::error::ApiError;

/// Largest form accepted.
pub(crate) const BODY_LIMIT: usize = 16 * 1024;
/// Subscriptions asked per minute from one client address.
pub(crate) const SUBSCRIBES_PER_MINUTE_PER_CLIENT: u32 = 5;

#[derive(Template)]
#[template(path = "status_subscription.html")]
struct SubscriptionPage {
    name: String,
    base: String,
    heading: &'static str,
    error: Option<String>,
    lines: Vec<String>,
    form: Option<FormBox>,
}

struct FormBox {
    action: String,
    button: &'static str,
    asks_email: bool,
    email: String,
    choices: Vec<Choice>,
}

struct Choice {
    id: String,
    name: String,
    checked: bool,
}

impl SubscriptionPage {
    fn new(page: &StatusPage, heading: &'static str) -> SubscriptionPage {
        SubscriptionPage {
            name: page.name.clone(),
            base: format!("/status/{}", page.slug),
            heading,
            error: None,
            lines: Vec::new(),
            form: None,
        }
    }

    fn send(self, status: StatusCode) -> Response {
        let body = match self.render() {
            Ok(body) => body,
            Err(e) => return crate::ui::error_page(ApiError::Internal(e.to_string())),
        };
        let mut response = (status, body).into_response();
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                 frame-ancestors 'none'; base-uri 'none'",
            ),
        );
        // A link with a token is nobody else's business: not kept, not passed on.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        response
    }
}

impl FormBox {
    /// A form that is only a button.
    fn button(action: String, button: &'static str) -> FormBox {
        FormBox {
            action,
            button,
            asks_email: false,
            email: String::new(),
            choices: Vec::new(),
        }
    }
}

/// The form's fields: `email`, and `component` as often as ticked.
struct SubscribeForm {
    email: String,
    components: Vec<String>,
}

fn parse_form(body: &[u8]) -> SubscribeForm {
    let mut form = SubscribeForm {
        email: String::new(),
        components: Vec::new(),
    };
    for (key, value) in form_urlencoded::parse(body) {
        match key.as_ref() {
            "email" => form.email = value.chars().take(320).collect(),
            "component" => form.components.push(value.chars().take(100).collect()),
            _ => {}
        }
    }
    form
}

async fn form_box(state: &SharedState, page: &StatusPage, form: &SubscribeForm) -> FormBox {
    let components = state.store.components(page.id).await.unwrap_or_default();
    FormBox {
        action: format!("/status/{}/subscribe", page.slug),
        button: "Subscribe",
        asks_email: true,
        email: form.email.clone(),
        choices: components
            .iter()
            .filter(|c| !c.is_group)
            .map(|c| Choice {
                id: c.id.to_string(),
                name: match c.group.and_then(|g| components.iter().find(|p| p.id == g)) {
                    Some(group) => format!("{} › {}", group.name, c.name),
                    None => c.name.clone(),
                },
                checked: form.components.contains(&c.id.to_string()),
            })
            .collect(),
    }
}

/// `GET /status/<slug>/subscribe`: the form, with the page's components to choose from.
pub(crate) async fn subscribe_form(
    State(state): State<SharedState>,
    Path(slug): Path<String>,
) -> Response {
    let page = match state.store.status_page_by_slug(&slug).await {
        Ok(p) => p,
        Err(e) => return crate::ui::error_page(AppError::from(e)),
    };
    let mut view = SubscriptionPage::new(&page, "Get updates by e-mail");
    if state.providers.email.is_none() {
        view.lines
            .push("This server sends no e-mail. Follow the Atom or RSS feed instead.".to_owned());
        return view.send(StatusCode::OK);
    }
    view.lines.push(format!(
        "We send a mail when {} posts news. You confirm first, and every mail has a link to stop them.",
        page.name
    ));
    let empty = SubscribeForm {
        email: String::new(),
        components: Vec::new(),
    };
    view.form = Some(form_box(&state, &page, &empty).await);
    view.send(StatusCode::OK)
}

/// `POST /status/<slug>/subscribe`: asks for a subscription. Whatever the address was
/// before, the answer is the same: check your inbox.
pub(crate) async fn subscribe(
    State(state): State<SharedState>,
    Path(slug): Path<String>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let page = match state.store.status_page_by_slug(&slug).await {
        Ok(p) => p,
        Err(e) => return crate::ui::error_page(AppError::from(e)),
    };
    let form = parse_form(&body);
    let client = crate::ui::auth::client_of(&state, peer.map(|p| p.0.0.ip()), &headers);
    if let Err(wait) = state.subscribe_limiter.check(&client, state.clock.now()) {
        let mut view = SubscriptionPage::new(&page, "Get updates by e-mail");
        view.error = Some(format!(
            "Too many subscriptions from your address; try again in {} s.",
            wait.as_secs().max(1)
        ));
        view.form = Some(form_box(&state, &page, &form).await);
        let mut response = view.send(StatusCode::TOO_MANY_REQUESTS);
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(wait.as_secs().max(1)),
        );
        return response;
    }
    match state
        .app
        .subscribe_by_email(&page.slug, &form.email, &form.components)
        .await
    {
        Ok(_) => {
            let mut view = SubscriptionPage::new(&page, "Check your inbox");
            view.lines.push(
                "If the address can get mail, a message asking you to confirm is on its way. \
                 Nothing more is sent until you do."
                    .to_owned(),
            );
            view.send(StatusCode::OK)
        }
        Err(AppError::Invalid(why)) => {
            let mut view = SubscriptionPage::new(&page, "Get updates by e-mail");
            view.error = Some(why);
            view.form = Some(form_box(&state, &page, &form).await);
            view.send(StatusCode::BAD_REQUEST)
        }
        Err(e) => crate::ui::error_page(e),
    }
}

/// The subscriber a link names, if it is one of this page's.
async fn named(
    state: &SharedState,
    slug: &str,
    token: &str,
) -> Result<(StatusPage, Option<Subscriber>), Response> {
    let page = state
        .store
        .status_page_by_slug(slug)
        .await
        .map_err(|e| crate::ui::error_page(AppError::from(e)))?;
    match state.app.subscription(token).await {
        Ok(s) if s.page == page.id => Ok((page, Some(s))),
        Ok(_) | Err(AppError::NotFound(_)) => Ok((page, None)),
        Err(e) => Err(crate::ui::error_page(e)),
    }
}

fn ended(page: &StatusPage) -> Response {
    let mut view = SubscriptionPage::new(page, "No such subscription");
    view.lines.push(
        "This link's subscription has ended, or the link was cut short. Nothing more is sent to it."
            .to_owned(),
    );
    view.send(StatusCode::NOT_FOUND)
}

/// `GET /status/<slug>/subscriptions/<token>`: the confirmation link. Opening it changes
/// nothing (mail scanners open links): the button confirms.
pub(crate) async fn subscription(
    State(state): State<SharedState>,
    Path((slug, token)): Path<(String, String)>,
) -> Response {
    let (page, subscriber) = match named(&state, &slug, &token).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(subscriber) = subscriber else {
        return ended(&page);
    };
    let confirmed = subscriber.confirmed_at.is_some();
    let mut view = SubscriptionPage::new(
        &page,
        if confirmed {
            "You are subscribed"
        } else {
            "Confirm your subscription"
        },
    );
    view.lines
        .push(what_you_hear(&state, &page, &subscriber).await);
    view.form = Some(if confirmed {
        FormBox::button(format!("/status/{slug}/unsubscribe/{token}"), "Unsubscribe")
    } else {
        FormBox::button(format!("/status/{slug}/subscriptions/{token}"), "Confirm")
    });
    view.send(StatusCode::OK)
}

/// `POST /status/<slug>/subscriptions/<token>`: confirms.
pub(crate) async fn confirm(
    State(state): State<SharedState>,
    Path((slug, token)): Path<(String, String)>,
) -> Response {
    let page = match named(&state, &slug, &token).await {
        Ok((page, Some(_))) => page,
        Ok((page, None)) => return ended(&page),
        Err(response) => return response,
    };
    match state.app.confirm_subscription(&token).await {
        Ok(subscriber) => {
            let mut view = SubscriptionPage::new(&page, "You are subscribed");
            view.lines
                .push(what_you_hear(&state, &page, &subscriber).await);
            view.lines
                .push("Every mail has a link to unsubscribe, and so has this page.".to_owned());
            view.form = Some(FormBox::button(
                format!("/status/{slug}/unsubscribe/{token}"),
                "Unsubscribe",
            ));
            view.send(StatusCode::OK)
        }
        Err(AppError::NotFound(_)) => ended(&page),
        Err(e) => crate::ui::error_page(e),
    }
}

/// `GET /status/<slug>/unsubscribe/<token>`: the unsubscribe link's page; the button
/// unsubscribes.
pub(crate) async fn unsubscribe_page(
    State(state): State<SharedState>,
    Path((slug, token)): Path<(String, String)>,
) -> Response {
    let (page, subscriber) = match named(&state, &slug, &token).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if subscriber.is_none() {
        return ended(&page);
    }
    let mut view = SubscriptionPage::new(&page, "Unsubscribe");
    view.lines
        .push(format!("Stop the mails about {}'s status?", page.name));
    view.form = Some(FormBox::button(
        format!("/status/{slug}/unsubscribe/{token}"),
        "Unsubscribe",
    ));
    view.send(StatusCode::OK)
}

/// `POST /status/<slug>/unsubscribe/<token>`: from the button, or in one click from the
/// mail client (`List-Unsubscribe=One-Click`). Ending a subscription that ended already
/// is not an error.
pub(crate) async fn unsubscribe(
    State(state): State<SharedState>,
    Path((slug, token)): Path<(String, String)>,
) -> Response {
    let page = match named(&state, &slug, &token).await {
        Ok((page, Some(_))) => page,
        Ok((page, None)) => {
            let mut view = SubscriptionPage::new(&page, "Unsubscribed");
            view.lines
                .push("Nothing more is sent to this subscription.".to_owned());
            return view.send(StatusCode::OK);
        }
        Err(response) => return response,
    };
    match state.app.unsubscribe(&token).await {
        Ok(_) | Err(AppError::NotFound(_)) => {
            let mut view = SubscriptionPage::new(&page, "Unsubscribed");
            view.lines.push(format!(
                "You will get no more mail about {}'s status.",
                page.name
            ));
            view.send(StatusCode::OK)
        }
        Err(e) => crate::ui::error_page(e),
    }
}

/// "You hear of everything on Acme's page." or "… of API and Website."
async fn what_you_hear(state: &SharedState, page: &StatusPage, s: &Subscriber) -> String {
    if s.components.is_empty() {
        return format!("You hear of everything on {}'s status page.", page.name);
    }
    let components = state.store.components(page.id).await.unwrap_or_default();
    let names: Vec<&str> = components
        .iter()
        .filter(|c| s.components.contains(&c.id))
        .map(|c| c.name.as_str())
        .collect();
    format!(
        "You hear of {} on {}'s status page.",
        names.join(", "),
        page.name
    )
}
