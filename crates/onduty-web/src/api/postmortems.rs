//! `/api/v1/postmortems`: what was learnt from incidents. Drafted when a high-urgency
//! incident resolves, or started from any incidents; edited while a draft or in review;
//! published read-only except for its action items; `GET …/postmortems/{id}.md` is its
//! Markdown.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use onduty_app::{ActionInput, PostmortemInput, TimelineLineInput};
use onduty_core::Timestamp;
use onduty_core::postmortem::{Document, to_markdown};
use onduty_store::postmortems::{ActionItem, Postmortem};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Caller;
use crate::SharedState;
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};

pub(super) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_postmortems, start_postmortem))
        .routes(routes!(get_postmortem, edit_postmortem))
        .routes(routes!(move_postmortem))
        .routes(routes!(add_action_item))
        .routes(routes!(update_action_item, delete_action_item))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TimelineLineView {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub text: String,
    /// Marked as mattering: the Markdown keeps only these.
    pub marked: bool,
    /// The incident (number) it was drafted from; none for a line a person added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActionItemView {
    pub id: String,
    pub text: String,
    /// The owner's user id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    pub done: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub done_at: Option<Timestamp>,
}

impl From<&ActionItem> for ActionItemView {
    fn from(a: &ActionItem) -> Self {
        ActionItemView {
            id: a.id.to_string(),
            text: a.text.clone(),
            owner_id: a.owner.map(|u| u.to_string()),
            due: a.due_at,
            link: a.link.clone(),
            done: a.done_at.is_some(),
            done_at: a.done_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentRefView {
    pub id: String,
    pub number: i64,
    pub summary: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImpactView {
    /// When the first incident opened (onduty detected it then).
    #[schema(value_type = String, format = DateTime)]
    pub started_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub acknowledged_at: Option<Timestamp>,
    /// When the last incident resolved, once all have.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<Timestamp>,
    pub minutes_to_acknowledge: Option<i64>,
    pub minutes_to_resolve: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PagesView {
    pub person: String,
    /// `sms`, `voice`, `email`, …
    pub channel: String,
    pub pages: i64,
}

/// A status-page component a public incident about these incidents told of.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComponentImpactView {
    /// The status page's name.
    pub page: String,
    pub component: String,
    /// The worst state it was in: `degraded_performance`, `partial_outage`,
    /// `major_outage` or `under_maintenance`.
    pub worst_status: String,
    /// Minutes it was not operational while the public incidents were open (rounded up).
    pub minutes: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostmortemView {
    pub id: String,
    pub title: String,
    /// `draft`, `in_review` or `published`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    pub summary: String,
    pub contributing_factors: String,
    pub went_well: String,
    pub went_badly: String,
    pub timeline: Vec<TimelineLineView>,
    #[schema(value_type = String, format = DateTime)]
    pub provisional_due: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub final_due: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub published_at: Option<Timestamp>,
    /// Send it back with an edit: an edit made from an older version is refused (409).
    pub version: i64,
    pub action_items: Vec<ActionItemView>,
    /// With one postmortem (not in lists): its incidents, impact and who was paged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incidents: Option<Vec<IncidentRefView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact: Option<ImpactView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages: Option<Vec<PagesView>>,
    /// With one postmortem: the status-page components affected, and for how long.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<ComponentImpactView>>,
}

fn view(p: &Postmortem, document: Option<&Document>) -> PostmortemView {
    PostmortemView {
        id: p.id.to_string(),
        title: p.title.clone(),
        status: p.status.as_str().to_owned(),
        owner_id: p.owner.map(|u| u.to_string()),
        summary: p.summary.clone(),
        contributing_factors: p.contributing_factors.clone(),
        went_well: p.went_well.clone(),
        went_badly: p.went_badly.clone(),
        timeline: p
            .timeline
            .iter()
            .map(|l| TimelineLineView {
                at: l.at,
                text: l.text.clone(),
                marked: l.marked,
                incident: l.incident,
            })
            .collect(),
        provisional_due: p.provisional_due,
        final_due: p.final_due,
        created_at: p.created_at,
        updated_at: p.updated_at,
        published_at: p.published_at,
        version: p.version,
        action_items: p.actions.iter().map(ActionItemView::from).collect(),
        incidents: document.map(|d| {
            d.incidents
                .iter()
                .zip(&p.incidents)
                .map(|((number, summary), id)| IncidentRefView {
                    id: id.to_string(),
                    number: *number,
                    summary: summary.clone(),
                })
                .collect()
        }),
        impact: document.and_then(|d| d.impact).map(|i| ImpactView {
            started_at: i.started_at,
            acknowledged_at: i.acknowledged_at,
            resolved_at: i.resolved_at,
            minutes_to_acknowledge: i.minutes_to_acknowledge,
            minutes_to_resolve: i.minutes_to_resolve,
        }),
        pages: document.map(|d| {
            d.pages
                .iter()
                .map(|(person, channel, pages)| PagesView {
                    person: person.clone(),
                    channel: channel.clone(),
                    pages: *pages,
                })
                .collect()
        }),
        components: document.map(|d| {
            d.components
                .iter()
                .map(|c| ComponentImpactView {
                    page: c.page.clone(),
                    component: c.name.clone(),
                    worst_status: c.outage.worst.as_str().to_owned(),
                    minutes: c.outage.minutes,
                })
                .collect()
        }),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostmortemList {
    pub postmortems: Vec<PostmortemView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostmortemEnvelope {
    pub postmortem: PostmortemView,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    /// 1 to 20 incidents (numbers such as "42", or ids), none of them in a postmortem yet.
    pub incidents: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditBody {
    /// 1 to 500 characters.
    pub title: String,
    /// The owner's e-mail or id; empty or absent for nobody.
    #[serde(default)]
    pub owner: String,
    /// Markdown, at most 50,000 characters each.
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub contributing_factors: String,
    #[serde(default)]
    pub went_well: String,
    #[serde(default)]
    pub went_badly: String,
    /// The whole timeline, as it should be: lines kept, marked, changed and added.
    #[serde(default)]
    pub timeline: Vec<TimelineLineBody>,
    /// The version this edit was made from (the `version` read).
    pub version: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimelineLineBody {
    /// RFC 3339.
    pub at: String,
    pub text: String,
    #[serde(default)]
    pub marked: bool,
    #[serde(default)]
    pub incident: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    /// `in_review` (from draft), `draft` (back from review) or `published` (from review).
    pub status: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// 1 to 500 characters.
    pub text: String,
    /// The owner's e-mail or id.
    #[serde(default)]
    pub owner: String,
    /// RFC 3339.
    #[serde(default)]
    pub due: String,
    /// An issue in a tracker (http or https).
    #[serde(default)]
    pub link: String,
    #[serde(default)]
    pub done: bool,
}

impl From<ActionBody> for ActionInput {
    fn from(b: ActionBody) -> Self {
        ActionInput {
            text: b.text,
            owner: b.owner,
            due: b.due,
            link: b.link,
            done: b.done,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActionEnvelope {
    pub action_item: ActionItemView,
}

/// Postmortems, newest first.
#[utoipa::path(
    get, path = "/postmortems", tag = "postmortems",
    responses((status = 200, body = PostmortemList))
)]
async fn list_postmortems(
    State(state): State<SharedState>,
    _caller: Caller,
) -> Result<Json<PostmortemList>, ApiError> {
    let found = state.app.postmortems().await?;
    Ok(Json(PostmortemList {
        postmortems: found.iter().map(|p| view(p, None)).collect(),
    }))
}

/// Start a postmortem of one or more incidents (responders and admins); its timeline is
/// drafted from theirs, and whoever starts it owns it.
#[utoipa::path(
    post, path = "/postmortems", tag = "postmortems",
    request_body = StartBody,
    responses(
        (status = 201, body = PostmortemEnvelope), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)
    )
)]
async fn start_postmortem(
    State(state): State<SharedState>,
    caller: Caller,
    ApiJson(body): ApiJson<StartBody>,
) -> Result<(StatusCode, Json<PostmortemEnvelope>), ApiError> {
    let made = state
        .app
        .start_postmortem(&caller.acting(), &body.incidents)
        .await?;
    let document = state.app.postmortem_document(&made).await?;
    Ok((
        StatusCode::CREATED,
        Json(PostmortemEnvelope {
            postmortem: view(&made, Some(&document)),
        }),
    ))
}

/// One postmortem, with its incidents, impact and who was paged. Ask for `{id}.md` for
/// its Markdown (`text/markdown`).
#[utoipa::path(
    get, path = "/postmortems/{id}", tag = "postmortems",
    params(("id" = String, Path, description = "Postmortem id (add .md for Markdown)")),
    responses((status = 200, body = PostmortemEnvelope), (status = 404, body = ErrorBody))
)]
async fn get_postmortem(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let (id, markdown) = match id.strip_suffix(".md") {
        Some(id) => (id, true),
        None => (id.as_str(), false),
    };
    let found = state.app.postmortem(id).await?;
    let document = state.app.postmortem_document(&found).await?;
    if markdown {
        return Ok((
            [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
            to_markdown(&document),
        )
            .into_response());
    }
    Ok(Json(PostmortemEnvelope {
        postmortem: view(&found, Some(&document)),
    })
    .into_response())
}

/// Write what a postmortem says (responders and admins), all at once; not once published.
#[utoipa::path(
    put, path = "/postmortems/{id}", tag = "postmortems",
    params(("id" = String, Path, description = "Postmortem id")),
    request_body = EditBody,
    responses(
        (status = 200, body = PostmortemEnvelope), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)
    )
)]
async fn edit_postmortem(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<EditBody>,
) -> Result<Json<PostmortemEnvelope>, ApiError> {
    let input = PostmortemInput {
        title: body.title,
        owner: body.owner,
        summary: body.summary,
        contributing_factors: body.contributing_factors,
        went_well: body.went_well,
        went_badly: body.went_badly,
        timeline: body
            .timeline
            .into_iter()
            .map(|l| TimelineLineInput {
                at: l.at,
                text: l.text,
                marked: l.marked,
                incident: l.incident,
            })
            .collect(),
        version: body.version,
    };
    let changed = state
        .app
        .edit_postmortem(&caller.acting(), &id, &input)
        .await?;
    let document = state.app.postmortem_document(&changed).await?;
    Ok(Json(PostmortemEnvelope {
        postmortem: view(&changed, Some(&document)),
    }))
}

/// Move a postmortem on (responders and admins): draft → in review → published, or back
/// from review to draft. Published is final.
#[utoipa::path(
    post, path = "/postmortems/{id}/status", tag = "postmortems",
    params(("id" = String, Path, description = "Postmortem id")),
    request_body = MoveBody,
    responses(
        (status = 200, body = PostmortemEnvelope), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)
    )
)]
async fn move_postmortem(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<MoveBody>,
) -> Result<Json<PostmortemEnvelope>, ApiError> {
    let moved = state
        .app
        .move_postmortem(&caller.acting(), &id, &body.status)
        .await?;
    let document = state.app.postmortem_document(&moved).await?;
    Ok(Json(PostmortemEnvelope {
        postmortem: view(&moved, Some(&document)),
    }))
}

/// Add an action item (responders and admins; published postmortems too).
#[utoipa::path(
    post, path = "/postmortems/{id}/action-items", tag = "postmortems",
    params(("id" = String, Path, description = "Postmortem id")),
    request_body = ActionBody,
    responses(
        (status = 201, body = ActionEnvelope), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)
    )
)]
async fn add_action_item(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ActionBody>,
) -> Result<(StatusCode, Json<ActionEnvelope>), ApiError> {
    let made = state
        .app
        .add_action_item(&caller.acting(), &id, &body.into())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ActionEnvelope {
            action_item: ActionItemView::from(&made),
        }),
    ))
}

/// Change an action item, or mark it done (responders and admins; published too).
#[utoipa::path(
    put, path = "/postmortems/{id}/action-items/{item}", tag = "postmortems",
    params(
        ("id" = String, Path, description = "Postmortem id"),
        ("item" = String, Path, description = "Action item id"),
    ),
    request_body = ActionBody,
    responses(
        (status = 200, body = ActionEnvelope), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)
    )
)]
async fn update_action_item(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath((id, item)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<ActionBody>,
) -> Result<Json<ActionEnvelope>, ApiError> {
    let changed = state
        .app
        .update_action_item(&caller.acting(), &id, &item, &body.into())
        .await?;
    Ok(Json(ActionEnvelope {
        action_item: ActionItemView::from(&changed),
    }))
}

/// Remove an action item (responders and admins).
#[utoipa::path(
    delete, path = "/postmortems/{id}/action-items/{item}", tag = "postmortems",
    params(
        ("id" = String, Path, description = "Postmortem id"),
        ("item" = String, Path, description = "Action item id"),
    ),
    responses((status = 204, description = "Removed"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn delete_action_item(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath((id, item)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .delete_action_item(&caller.acting(), &id, &item)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
