//! `/healthz` (the process answers) and `/readyz` (the database answers and the ingest
//! writer runs): for load balancers and orchestrators.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};

use crate::SharedState;

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<SharedState>) -> (StatusCode, Json<Value>) {
    let database = state.store.ping().await;
    if let Err(e) = &database {
        tracing::warn!(error = %e, "readiness check: the database does not answer");
    }
    let writer = state.writer.is_running();
    let ready = database.is_ok() && writer;
    let body = json!({
        "status": if ready { "ready" } else { "not ready" },
        "database": if database.is_ok() { "ok" } else { "unavailable" },
        "backend": state.store.backend().as_str(),
        "ingest_writer": if writer { "running" } else { "stopped" },
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}
