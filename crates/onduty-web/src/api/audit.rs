//! `/api/v1/audit-log`: who changed what, when, through which door and from where, with
//! what it was before and after (admins). Read only: no method changes an entry.

use axum::Json;
use axum::extract::State;
use onduty_core::Timestamp;
use onduty_core::audit::AuditEntry;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Caller, decode_cursor, encode_cursor, page_limit};
use crate::SharedState;
use crate::error::{ApiError, ApiQuery, ErrorBody};

pub(super) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new().routes(routes!(audit_log))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// Only what this person did: a user id or an e-mail address.
    user: Option<String>,
    /// Only actions of this kind (`service`) or this action (`service.update`).
    #[param(pattern = "^[a-z_]{1,64}(\\.[a-z_]{1,64})*$", max_length = 64)]
    action: Option<String>,
    /// Page size, 1 to 100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// One entry of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    /// Entries are numbered in the order they were written.
    pub id: i64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// The person's id, and their e-mail address when they acted.
    pub user_id: String,
    pub user_email: String,
    /// How they came: `api`, `web`, `sms`, `phone_call`, `email_link`, `push_link`,
    /// `slack`, `telegram`, `mattermost`, `teams`, `discord`.
    pub door: String,
    /// The name of the API token they used.
    pub token: Option<String>,
    /// The client's address (behind a trusted proxy, the address it forwarded).
    pub address: Option<String>,
    /// `kind.verb`: `service.update`, `incident.acknowledge`, `config.apply`.
    pub action: String,
    /// What it was done to: a name, an e-mail address, `#42`.
    pub target: String,
    /// What changed, before (absent for something created or a change not recorded in
    /// detail). For configuration, the changed items of the configuration document.
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// What changed, after (absent for something deleted).
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditLog {
    /// Newest first.
    pub entries: Vec<AuditEntryView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

pub(crate) fn view(entry: AuditEntry) -> AuditEntryView {
    let r = entry.record;
    AuditEntryView {
        id: entry.id,
        at: r.at,
        user_id: r.user.to_string(),
        user_email: r.who,
        door: r.door,
        token: r.token,
        address: r.address.map(|a| a.to_string()),
        action: r.action,
        target: r.target,
        before: r.change.before,
        after: r.change.after,
    }
}

/// The audit log, newest first (admins).
#[utoipa::path(
    get, path = "/audit-log", tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, body = AuditLog),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    )
)]
async fn audit_log(
    State(state): State<SharedState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<AuditLog>, ApiError> {
    caller.require_admin()?;
    let limit = page_limit(q.limit)?;
    let before = q
        .cursor
        .as_deref()
        .map(|c| decode_cursor('a', c))
        .transpose()?;
    let page = state
        .app
        .audit_log(
            &caller.acting(),
            before,
            q.user.as_deref(),
            q.action.as_deref(),
            limit,
        )
        .await?;
    Ok(Json(AuditLog {
        entries: page.entries.into_iter().map(view).collect(),
        next_cursor: page.next.map(|id| encode_cursor('a', id)),
    }))
}
