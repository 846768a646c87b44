//! What onduty measures of itself, for `/metrics`: the names every crate records under
//! (through the `metrics` facade: nothing is recorded until the web crate installs the
//! Prometheus recorder), their help texts, and the figures read from the database at
//! each scrape ([`Store::vital_signs`]).

use onduty_core::Timestamp;

use crate::sql::col;
use crate::{Store, StoreError};

/// Events handed to the ingest doors, by `source` (the door) and `outcome` (accepted,
/// invalid, unauthorized, throttled, too_large, unavailable, error).
pub const INGEST_REQUESTS: &str = "onduty_ingest_requests_total";
/// Events the ingest writer applied, by `outcome` (opened, appended, grouped, …, or
/// unknown_key and the other refusals).
pub const INGEST_EVENTS: &str = "onduty_ingest_events_total";
/// Events in each group commit.
pub const INGEST_BATCH_SIZE: &str = "onduty_ingest_batch_size";
/// How long each group commit took, in seconds.
pub const INGEST_COMMIT_SECONDS: &str = "onduty_ingest_commit_seconds";
/// Messages to people, by `channel` and `outcome` (sent, retrying, gave_up, refused).
pub const PAGES: &str = "onduty_pages_total";
/// Errors providers answered, by `channel` and `kind` (transient, permanent, blocked,
/// not_configured).
pub const PROVIDER_ERRORS: &str = "onduty_provider_errors_total";
/// How late escalations moved to their next level, due → done, in seconds.
pub const ESCALATION_LATENESS: &str = "onduty_escalation_lateness_seconds";
/// 1 while this instance holds the engine lease, else 0.
pub const ENGINE_THIS_INSTANCE: &str = "onduty_engine_this_instance";
/// Times this instance took the engine over from a holder whose lease ran out.
pub const ENGINE_TAKEOVERS: &str = "onduty_engine_takeovers_total";
/// Engine ticks in which a stage failed.
pub const ENGINE_TICK_FAILURES: &str = "onduty_engine_tick_failures_total";
/// Pings sent to the outside dead-man's switch, by `outcome` (ok, failed).
pub const WATCHDOG_PINGS: &str = "onduty_watchdog_pings_total";
/// HTTP requests answered, by `route` (the route's pattern), `method` and `status`.
pub const HTTP_REQUESTS: &str = "onduty_http_requests_total";
/// How long HTTP requests took to answer, by `route`, in seconds.
pub const HTTP_SECONDS: &str = "onduty_http_request_duration_seconds";
/// Incidents by `state` (triggered, acknowledged, resolved), read at each scrape.
pub const INCIDENTS: &str = "onduty_incidents";
/// Messages waiting in the outbox to be sent (or retried), read at each scrape.
pub const OUTBOX_BACKLOG: &str = "onduty_outbox_backlog";
/// Age in seconds of the oldest message waiting in the outbox (0 when none), read at
/// each scrape.
pub const OUTBOX_OLDEST_SECONDS: &str = "onduty_outbox_oldest_seconds";
/// 1 while some instance holds an engine lease that has not run out, else 0, read at
/// each scrape (which instance: [`ENGINE_THIS_INSTANCE`]).
pub const ENGINE_RUNNING: &str = "onduty_engine_running";
/// 1 when the last scrape could read the database, else 0.
pub const DATABASE_UP: &str = "onduty_database_up";
/// Seconds since the engine lease ran out (0 while it is held), read at each scrape.
pub const ENGINE_LEASE_EXPIRED_SECONDS: &str = "onduty_engine_lease_expired_seconds";

/// The metrics that are histograms (the others are counters, named `…_total`, or gauges).
pub const HISTOGRAMS: &[&str] = &[
    INGEST_BATCH_SIZE,
    INGEST_COMMIT_SECONDS,
    ESCALATION_LATENESS,
    HTTP_SECONDS,
];

/// Every metric with its help text, for the recorder to describe.
pub const HELP: &[(&str, &str)] = &[
    (
        INGEST_REQUESTS,
        "Requests to the ingest doors, by door and outcome.",
    ),
    (
        INGEST_EVENTS,
        "Events applied by the ingest writer, by outcome.",
    ),
    (INGEST_BATCH_SIZE, "Events per group commit."),
    (INGEST_COMMIT_SECONDS, "Duration of each group commit."),
    (PAGES, "Messages to people, by channel and outcome."),
    (
        PROVIDER_ERRORS,
        "Errors answered by message providers, by channel and kind.",
    ),
    (
        ESCALATION_LATENESS,
        "How late escalations moved to their next level (due to done).",
    ),
    (
        ENGINE_THIS_INSTANCE,
        "1 while this instance runs the paging engine.",
    ),
    (
        ENGINE_TAKEOVERS,
        "Times this instance took the engine over from a holder that stopped renewing its lease.",
    ),
    (
        ENGINE_TICK_FAILURES,
        "Engine ticks in which a stage failed.",
    ),
    (
        WATCHDOG_PINGS,
        "Pings to the outside dead-man's switch, by outcome.",
    ),
    (
        HTTP_REQUESTS,
        "HTTP requests, by route pattern, method and status.",
    ),
    (
        HTTP_SECONDS,
        "Time to answer HTTP requests, by route pattern.",
    ),
    (INCIDENTS, "Incidents by state."),
    (OUTBOX_BACKLOG, "Messages waiting in the outbox."),
    (
        OUTBOX_OLDEST_SECONDS,
        "Age of the oldest message waiting in the outbox.",
    ),
    (
        ENGINE_RUNNING,
        "1 while some instance holds an engine lease that has not run out.",
    ),
    (DATABASE_UP, "1 when the scrape could read the database."),
    (
        ENGINE_LEASE_EXPIRED_SECONDS,
        "Seconds since the engine lease ran out (0 while it is held).",
    ),
];

/// What the database says at one scrape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VitalSigns {
    pub triggered: i64,
    pub acknowledged: i64,
    pub resolved: i64,
    /// Messages pending in the outbox, and when the oldest of them was made.
    pub outbox_pending: i64,
    pub outbox_oldest: Option<Timestamp>,
}

impl Store {
    /// Incidents by state and the outbox's backlog. Open incidents are counted through
    /// the status index; resolved ones are every incident numbered less the open ones, so
    /// that a scrape never walks the whole history.
    pub async fn vital_signs(&self) -> Result<VitalSigns, StoreError> {
        let row = sqlx::query(
            "SELECT \
               (SELECT COUNT(*) FROM incidents WHERE status = 'triggered') AS triggered, \
               (SELECT COUNT(*) FROM incidents WHERE status = 'acknowledged') AS acknowledged, \
               (SELECT value FROM counters WHERE name = 'incident_number') AS numbered, \
               (SELECT COUNT(*) FROM outbox WHERE status = 'pending') AS pending, \
               (SELECT MIN(created_at) FROM outbox WHERE status = 'pending') AS oldest",
        )
        .fetch_one(&self.read)
        .await?;
        let triggered: i64 = col(&row, "triggered")?;
        let acknowledged: i64 = col(&row, "acknowledged")?;
        let numbered: Option<i64> = col(&row, "numbered")?;
        Ok(VitalSigns {
            triggered,
            acknowledged,
            resolved: (numbered.unwrap_or(0) - triggered - acknowledged).max(0),
            outbox_pending: col(&row, "pending")?,
            outbox_oldest: col::<Option<i64>>(&row, "oldest")?.map(Timestamp::from_millis),
        })
    }
}
