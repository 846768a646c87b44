//! `/healthz` (the process answers) and `/readyz` (the database answers and the ingest
//! writer runs; it also says which instance runs the paging engine): for load balancers,
//! orchestrators and whoever wonders why nothing is paged.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use onduty_app::EngineStatus;
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
    // Whether this instance is ready does not depend on the engine: any instance takes
    // events, and one of them runs the engine.
    let engine = match (&database, state.app.engine_status().await) {
        (Ok(()), Ok(status)) => engine_json(&status),
        _ => json!({"state": "unknown"}),
    };
    let body = json!({
        "status": if ready { "ready" } else { "not ready" },
        "database": if database.is_ok() { "ok" } else { "unavailable" },
        "backend": state.store.backend().as_str(),
        "ingest_writer": if writer { "running" } else { "stopped" },
        "engine": engine,
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

/// The paging engine's lease: who runs it and until when it is renewed, or who ran it
/// last and when its lease ran out.
fn engine_json(status: &EngineStatus) -> Value {
    match status {
        EngineStatus::Running { holder, until } => json!({
            "state": "running",
            "holder": holder,
            "lease_until": until.to_rfc3339(),
        }),
        EngineStatus::Stopped {
            last: Some((holder, until)),
        } => json!({
            "state": "stopped",
            "last_holder": holder,
            "lease_ran_out_at": until.to_rfc3339(),
        }),
        EngineStatus::Stopped { last: None } => json!({"state": "stopped"}),
    }
}
