//! `/api/v1/reports`: incidents, times to acknowledge and resolve, noise and each
//! person's load over a period, as JSON or (`format=csv`, or `/api/v1/reports.csv`) CSV.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use onduty_app::reports::ReportQuery;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Caller;
use crate::SharedState;
use crate::error::{ApiError, ApiQuery, ErrorBody};

pub(super) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(get_report))
        .routes(routes!(get_report_csv))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// Start of the period (RFC 3339). Default: 28 days before `to`.
    #[param(format = DateTime)]
    from: Option<String>,
    /// End of the period, excluded (RFC 3339). Default: now. At most 2 years after `from`.
    #[param(format = DateTime)]
    to: Option<String>,
    /// A team id or name: incidents of its services.
    team: Option<String>,
    /// A service id or name.
    service: Option<String>,
    /// An escalation policy id or name: incidents of the services paging through it.
    policy: Option<String>,
    /// `high` or `low`.
    urgency: Option<String>,
    /// `json` (the default) or `csv`.
    format: Option<String>,
}

impl ReportParams {
    fn query(&self) -> ReportQuery {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        ReportQuery {
            from: text(&self.from),
            to: text(&self.to),
            team: text(&self.team),
            service: text(&self.service),
            policy: text(&self.policy),
            urgency: text(&self.urgency),
        }
    }
}

/// A report over a period: incidents and alerts; time to acknowledge and to resolve
/// (mean, median, 90th percentile); shares escalated and auto-resolved; acknowledgements
/// by channel; the noisiest services and alert keys; heartbeat failures; a weekly trend of
/// each; and per person: pages once per incident, split into business, off and sleep
/// hours in their own time zone, hours on call, incidents acknowledged and resolved.
#[utoipa::path(
    get, path = "/reports", tag = "reports", params(ReportParams),
    responses(
        (status = 200, description = "The report; with format=csv, section,name,week,metric,value rows",
         content((serde_json::Value = "application/json"), (String = "text/csv"))),
        (status = 400, body = ErrorBody)
    )
)]
async fn get_report(
    State(state): State<SharedState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<ReportParams>,
) -> Result<Response, ApiError> {
    let csv = match params.format.as_deref().map(str::trim) {
        None | Some("" | "json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "format must be json or csv, not '{}'",
                other.chars().take(32).collect::<String>()
            )));
        }
    };
    let report = state.app.report(&caller.acting(), &params.query()).await?;
    if csv {
        return Ok(csv_response(&report));
    }
    Ok(Json(report).into_response())
}

/// The report as CSV (`section,name,week,metric,value`), as `format=csv` gives it.
#[utoipa::path(
    get, path = "/reports.csv", tag = "reports", params(ReportParams),
    responses(
        (status = 200, description = "section,name,week,metric,value rows", body = String,
         content_type = "text/csv"),
        (status = 400, body = ErrorBody)
    )
)]
async fn get_report_csv(
    State(state): State<SharedState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<ReportParams>,
) -> Result<Response, ApiError> {
    let report = state.app.report(&caller.acting(), &params.query()).await?;
    Ok(csv_response(&report))
}

pub(crate) fn csv_response(report: &onduty_app::reports::Report) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"onduty-report.csv\"",
            ),
        ],
        crate::report_csv::to_csv(report),
    )
        .into_response()
}
