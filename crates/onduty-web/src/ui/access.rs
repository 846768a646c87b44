//! Taking access away from the web UI: revoking API tokens (on a person's page: your own,
//! or anyone's for admins), disabling, enabling and deleting people, and deleting
//! integrations or rotating their keys (admins). Every change goes through the same code
//! as the REST API.

use super::CsrfForm;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use axum::{Form, Router};

use super::Viewer;
use super::auth::forbidden;
use super::flash::{after, done, failed};
use crate::SharedState;
use crate::error::ApiError;

pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/people/{id}/tokens/{token}/revoke", post(revoke_token))
        .route("/people/{id}/disable", post(disable))
        .route("/people/{id}/enable", post(enable))
        .route("/people/{id}/delete", post(delete))
        .route(
            "/services/{id}/integrations/{integration}/delete",
            post(delete_integration),
        )
        .route(
            "/services/{id}/integrations/{integration}/rotate-key",
            post(rotate_key),
        )
}

async fn revoke_token(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path((id, token)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let revoked = state.app.revoke_token(&viewer.acting(), &id, &token).await;
    after(
        &state,
        &format!("/people/{id}"),
        revoked,
        "Token revoked: it is refused from now on.",
    )
}

async fn disable(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let disabled = state.app.disable_user(&viewer.acting(), &id).await;
    after(
        &state,
        &format!("/people/{id}"),
        disabled,
        "Disabled: their sessions and tokens have ended, and they are not paged.",
    )
}

async fn enable(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let enabled = state.app.enable_user(&viewer.acting(), &id).await;
    after(
        &state,
        &format!("/people/{id}"),
        enabled,
        "Enabled: they can log in again (tokens revoked before stay revoked).",
    )
}

async fn delete(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    match state.app.delete_user(&viewer.acting(), &id).await {
        Ok(()) => done(
            &state,
            "/people",
            "Deleted. Incidents' histories keep their name.",
        ),
        Err(e) => failed(&state, &format!("/people/{id}"), ApiError::from(e)),
    }
}

async fn delete_integration(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path((id, integration)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let deleted = state
        .app
        .delete_integration(&viewer.acting(), &integration)
        .await;
    after(
        &state,
        &format!("/services/{id}"),
        deleted,
        "Integration deleted: its key is refused from now on.",
    )
}

async fn rotate_key(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path((id, integration)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let rotated = state.app.rotate_key(&viewer.acting(), &integration).await;
    after(
        &state,
        &format!("/services/{id}"),
        rotated,
        "New key made: the old one is refused from now on. Give the new one to every sender.",
    )
}
