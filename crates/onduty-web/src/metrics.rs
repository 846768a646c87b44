//! `/metrics`: what onduty measures of itself, in Prometheus's text format. Counters and
//! histograms are recorded where things happen, through the `metrics` facade (names in
//! `onduty_store::metrics`); figures kept in the database (incidents by state, the
//! outbox's backlog, whether an engine runs) are read at each scrape.
//!
//! Served on the main address only behind a bearer token (`metrics.token`), or without
//! one on an address of its own (`metrics.listen`), usually kept internal.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use onduty_store::metrics as m;

use crate::SharedState;

/// How often histograms are folded, whether scraped or not (so they never grow).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The process's recorder, installed on first use. `None` if another recorder was
/// installed first (then nothing onduty records is shown).
pub(crate) fn recorder() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = buckets(PrometheusBuilder::new()).build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed: /metrics stays empty");
                return None;
            }
            describe();
            zeroes();
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".to_owned())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_EVERY);
                        upkeep.run_upkeep();
                    }
                })
                .ok()?;
            Some(handle)
        })
        .as_ref()
}

/// Histograms get buckets (quantile summaries could not be summed across instances).
fn buckets(builder: PrometheusBuilder) -> PrometheusBuilder {
    const SECONDS: &[f64] = &[
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ];
    const LATENESS: &[f64] = &[0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0];
    const BATCH: &[f64] = &[
        1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 4096.0,
    ];
    let set = |b: PrometheusBuilder, name: &str, values: &[f64]| {
        b.set_buckets_for_metric(Matcher::Full(name.to_owned()), values)
            .expect("bucket lists are not empty")
    };
    let builder = set(builder, m::INGEST_BATCH_SIZE, BATCH);
    let builder = set(builder, m::INGEST_COMMIT_SECONDS, SECONDS);
    let builder = set(builder, m::HTTP_SECONDS, SECONDS);
    set(builder, m::ESCALATION_LATENESS, LATENESS)
}

fn describe() {
    for (name, help) in m::HELP {
        if m::HISTOGRAMS.contains(name) {
            metrics::describe_histogram!(*name, *help);
        } else if name.ends_with("_total") {
            metrics::describe_counter!(*name, *help);
        } else {
            metrics::describe_gauge!(*name, *help);
        }
    }
}

/// Every counter an alert reads starts at zero: Prometheus's `increase` does not count a
/// series' first sample, so a series born at 1 (the first takeover) would never alert.
fn zeroes() {
    use onduty_core::contact::Channel;
    for channel in Channel::ALL {
        for outcome in ["sent", "retrying", "gave_up", "refused"] {
            metrics::counter!(m::PAGES, "channel" => channel.as_str(), "outcome" => outcome)
                .increment(0);
        }
        for kind in ["transient", "permanent", "blocked", "not_configured"] {
            metrics::counter!(m::PROVIDER_ERRORS, "channel" => channel.as_str(), "kind" => kind)
                .increment(0);
        }
    }
    for source in INGEST_SOURCES {
        for outcome in ["accepted", "unavailable", "error"] {
            count_ingest_by(source, outcome, 0);
        }
    }
    metrics::counter!(m::ENGINE_TAKEOVERS).increment(0);
    metrics::counter!(m::ENGINE_TICK_FAILURES).increment(0);
    for outcome in ["ok", "failed"] {
        metrics::counter!(m::WATCHDOG_PINGS, "outcome" => outcome).increment(0);
    }
}

/// The ingest doors, as `source` names them.
const INGEST_SOURCES: [&str; 7] = [
    "events_v2",
    "alertmanager",
    "grafana",
    "webhook",
    "opsgenie",
    "heartbeat",
    "mail",
];

/// `/metrics` on the main address: behind the token if one is set, else not there.
pub(crate) fn routes() -> Router<SharedState> {
    Router::new().route("/metrics", get(guarded))
}

/// `/metrics` alone, for its own address.
pub fn open_routes(state: SharedState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

async fn guarded(State(state): State<SharedState>, headers: HeaderMap) -> Response {
    let Some(token) = &state.config.metrics_token else {
        return (
            StatusCode::NOT_FOUND,
            "metrics are served here only behind a token: set metrics.token \
             (ONDUTY_METRICS_TOKEN), or metrics.listen for an address of their own\n",
        )
            .into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        given.as_bytes(),
        token.expose().as_bytes(),
    )) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a scrape needs 'Authorization: Bearer <metrics.token>'\n",
        )
            .into_response();
    }
    scrape(State(state)).await
}

async fn scrape(State(state): State<SharedState>) -> Response {
    let Some(handle) = recorder() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics are not recorded\n",
        )
            .into_response();
    };
    let vitals = state.app.vitals().await;
    let database_up = vitals.is_ok();
    match vitals {
        Ok(vitals) => {
            let incidents = [
                ("triggered", vitals.triggered),
                ("acknowledged", vitals.acknowledged),
                ("resolved", vitals.resolved),
            ];
            for (s, n) in incidents {
                metrics::gauge!(m::INCIDENTS, "state" => s).set(n as f64);
            }
            metrics::gauge!(m::OUTBOX_BACKLOG).set(vitals.outbox_pending as f64);
            metrics::gauge!(m::OUTBOX_OLDEST_SECONDS).set(vitals.outbox_oldest_age.as_secs_f64());
            let running = matches!(vitals.engine, onduty_app::EngineStatus::Running { .. });
            metrics::gauge!(m::ENGINE_RUNNING).set(if running { 1.0 } else { 0.0 });
            metrics::gauge!(m::ENGINE_LEASE_EXPIRED_SECONDS)
                .set(vitals.lease_expired_for(state.clock.now()).as_secs_f64());
        }
        // The counters still tell something. Whether an engine runs cannot be known:
        // it is reported as not running, so that an outage of the database alerts.
        Err(e) => {
            tracing::warn!(error = %e, "metrics: the database's figures could not be read");
            metrics::gauge!(m::ENGINE_RUNNING).set(0.0);
        }
    }
    metrics::gauge!(m::DATABASE_UP).set(if database_up { 1.0 } else { 0.0 });
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

/// The route a request matched, noted by [`note_route`] inside the router for
/// [`count_requests`] outside it (outside the request timeout too, so that a request cut
/// off by it is still counted).
#[derive(Clone, Default)]
pub(crate) struct RouteSlot(Arc<OnceLock<String>>);

/// Notes the matched route's pattern in the request's [`RouteSlot`] (a route layer: it
/// runs only for requests that matched a route).
pub(crate) async fn note_route(request: Request, next: Next) -> Response {
    if let (Some(slot), Some(path)) = (
        request.extensions().get::<RouteSlot>(),
        request.extensions().get::<MatchedPath>(),
    ) {
        let _ = slot.0.set(path.as_str().to_owned());
    }
    next.run(request).await
}

/// Counts every request by its route's pattern (never the path itself: keys and tokens
/// ride in paths; `unmatched` for the rest), and requests to ingest doors by door and
/// outcome.
pub(crate) async fn count_requests(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let slot = RouteSlot::default();
    request.extensions_mut().insert(slot.clone());
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let route = slot
        .0
        .get()
        .cloned()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = response.status();
    metrics::histogram!(m::HTTP_SECONDS, "route" => route.clone())
        .record(started.elapsed().as_secs_f64());
    if let Some(source) = ingest_source(&route, &path) {
        count_ingest(source, ingest_outcome(status));
    }
    metrics::counter!(m::HTTP_REQUESTS, "route" => route, "method" => method,
        "status" => status.as_u16().to_string())
    .increment(1);
    response
}

/// Counts one request to an ingest door.
pub(crate) fn count_ingest(source: &'static str, outcome: &'static str) {
    count_ingest_by(source, outcome, 1);
}

fn count_ingest_by(source: &'static str, outcome: &'static str, n: u64) {
    metrics::counter!(m::INGEST_REQUESTS, "source" => source, "outcome" => outcome).increment(n);
}

/// Which ingest door a route is, if it is one.
fn ingest_source(route: &str, path: &str) -> Option<&'static str> {
    Some(match route {
        "/v2/enqueue" | "/v2/change/enqueue" => "events_v2",
        "/v2/alerts" | "/v2/alerts/{identifier}/{action}" => "opsgenie",
        "/ping/{key}" | "/ping/{key}/{what}" => "heartbeat",
        "/integrations/{key}/{tool}" => match path.rsplit('/').next() {
            Some("alertmanager") => "alertmanager",
            Some("grafana") => "grafana",
            _ => "webhook",
        },
        _ => return None,
    })
}

/// What an ingest door's answer means, in a word.
pub(crate) fn ingest_outcome(status: StatusCode) -> &'static str {
    match status.as_u16() {
        200..=299 => "accepted",
        401 | 403 => "unauthorized",
        413 => "too_large",
        429 => "throttled",
        400..=499 => "invalid",
        503 => "unavailable",
        _ => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ingest_doors_are_named_by_their_route_and_outcomes_by_status() {
        let table = [
            ("/v2/enqueue", "/v2/enqueue", Some("events_v2")),
            (
                "/integrations/{key}/{tool}",
                "/integrations/abc/alertmanager",
                Some("alertmanager"),
            ),
            (
                "/integrations/{key}/{tool}",
                "/integrations/abc/grafana",
                Some("grafana"),
            ),
            (
                "/integrations/{key}/{tool}",
                "/integrations/abc/json",
                Some("webhook"),
            ),
            ("/ping/{key}/{what}", "/ping/abc/fail", Some("heartbeat")),
            ("/v2/alerts", "/v2/alerts", Some("opsgenie")),
            ("/api/v1/incidents", "/api/v1/incidents", None),
        ];
        for (route, path, source) in table {
            assert_eq!(ingest_source(route, path), source, "{path}");
        }
        let outcomes = [
            (202, "accepted"),
            (400, "invalid"),
            (401, "unauthorized"),
            (413, "too_large"),
            (429, "throttled"),
            (503, "unavailable"),
            (500, "error"),
        ];
        for (status, word) in outcomes {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(ingest_outcome(status), word, "{status}");
        }
    }
}
