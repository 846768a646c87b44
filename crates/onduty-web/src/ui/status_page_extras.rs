//! A status page's incident templates (responders keep and remove them) and subscribers
//! (admins add webhooks and remove subscribers), from its page in the web UI, through the
//! same use cases as `/api/v1/status-pages/{page}/templates` and `…/subscribers`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use onduty_app::{StatusTemplateInput, StatusUpdateInput};

use super::Viewer;
use super::auth::forbidden;
use super::flash::{done, failed};
use super::status_pages::Posted;
use crate::SharedState;
use crate::error::ApiError;

pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/status-pages/{slug}/templates", post(keep_template))
        .route(
            "/status-pages/{slug}/templates/{id}/delete",
            post(delete_template),
        )
        .route("/status-pages/{slug}/subscribers", post(add_webhook))
        .route(
            "/status-pages/{slug}/subscribers/{id}/delete",
            post(remove_subscriber),
        )
}

async fn keep_template(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    let Some(posted) = Posted::checked(&viewer, &body) else {
        return forbidden();
    };
    let input = StatusTemplateInput {
        name: posted.field("template_name"),
        title: posted.field("name"),
        update: StatusUpdateInput {
            status: posted.field("status"),
            body: posted.field("body"),
            template: None,
            components: posted.components,
        },
    };
    let to = format!("/status-pages/{slug}#templates");
    match state
        .app
        .create_status_template(&viewer.acting(), &slug, input)
        .await
    {
        Ok(t) => done(&state, &to, format!("Kept the template {}.", t.name)),
        Err(e) => failed(&state, &to, ApiError::from(e)),
    }
}

async fn delete_template(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path((slug, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if Posted::checked(&viewer, &body).is_none() {
        return forbidden();
    }
    let to = format!("/status-pages/{slug}#templates");
    match state
        .app
        .delete_status_template(&viewer.acting(), &slug, &id)
        .await
    {
        Ok(()) => done(&state, &to, "Removed the template."),
        Err(e) => failed(&state, &to, ApiError::from(e)),
    }
}

async fn add_webhook(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    let Some(posted) = Posted::checked(&viewer, &body) else {
        return forbidden();
    };
    let to = format!("/status-pages/{slug}#subscribers");
    match state
        .app
        .add_webhook_subscriber(&viewer.acting(), &slug, &posted.field("url"), &[])
        .await
    {
        Ok(added) => done(
            &state,
            &to,
            format!(
                "Added the webhook. Its signing secret, shown this once: {}",
                added.secret
            ),
        ),
        Err(e) => failed(&state, &to, ApiError::from(e)),
    }
}

async fn remove_subscriber(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path((slug, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if Posted::checked(&viewer, &body).is_none() {
        return forbidden();
    }
    let to = format!("/status-pages/{slug}#subscribers");
    match state
        .app
        .remove_subscriber(&viewer.acting(), &slug, &id)
        .await
    {
        Ok(()) => done(&state, &to, "Removed the subscriber."),
        Err(e) => failed(&state, &to, ApiError::from(e)),
    }
}
