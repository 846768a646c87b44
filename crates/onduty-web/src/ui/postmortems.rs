//! Postmortems in the web UI: the list, one postmortem as a printable document with the
//! forms to write it, mark its timeline, add lines and action items and move it on, and
//! "Start a postmortem" on an incident. Through the same use cases as
//! `/api/v1/postmortems`.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use onduty_app::{ActionInput, PostmortemInput, TimelineLineInput};
use onduty_core::postmortem::Document;
use onduty_store::postmortems::Postmortem;

use super::auth::forbidden;
use super::flash::{done, failed};
use super::status_pages::Posted;
use super::{Choice, Viewer, page};
use crate::SharedState;
use crate::error::ApiError;
use crate::markdown::{SafeHtml, to_safe_html};

pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/postmortems", get(list))
        .route("/postmortems/{id}", get(show).post(edit))
        .route("/postmortems/{id}/status", post(move_on))
        .route("/postmortems/{id}/status-page", post(show_on_status_page))
        .route("/postmortems/{id}/action-items", post(add_item))
        .route("/postmortems/{id}/action-items/{item}", post(change_item))
        .route("/incidents/{number}/postmortem", post(start))
}

struct Row {
    id: String,
    title: String,
    status: &'static str,
    created: String,
    final_due: String,
}

#[derive(Template)]
#[template(path = "postmortems.html")]
struct ListPage {
    chrome: super::Chrome,
    rows: Vec<Row>,
}

fn status_label(p: &Postmortem) -> &'static str {
    match p.status.as_str() {
        "draft" => "Draft",
        "in_review" => "In review",
        _ => "Published",
    }
}

async fn list(State(state): State<SharedState>, viewer: Viewer) -> Response {
    let found = match state.app.postmortems().await {
        Ok(found) => found,
        Err(e) => return super::error_page(ApiError::from(e)),
    };
    let tz = viewer.zone();
    let mut chrome = viewer.chrome();
    chrome.section = "postmortems".to_owned();
    page(ListPage {
        chrome,
        rows: found
            .iter()
            .map(|p| Row {
                id: p.id.to_string(),
                title: p.title.clone(),
                status: status_label(p),
                created: super::time::when(p.created_at, &tz),
                final_due: super::time::when(p.final_due, &tz),
            })
            .collect(),
    })
}

struct LineRow {
    at: String,
    at_rfc3339: String,
    text: String,
    marked: bool,
    incident: Option<i64>,
}

struct PublicRow {
    /// The status page's slug and name.
    page: String,
    page_name: String,
    id: String,
    name: String,
    resolved: bool,
    /// Shows this postmortem now.
    shown: bool,
    /// Shows another postmortem now.
    other: bool,
}

struct ItemRow {
    id: String,
    text: String,
    owner: Option<String>,
    owner_email: String,
    due: Option<String>,
    due_rfc3339: String,
    link: Option<String>,
    done: bool,
}

#[derive(Template)]
#[template(path = "postmortem.html")]
struct ShowPage {
    chrome: super::Chrome,
    id: String,
    title: String,
    status: &'static str,
    editable: bool,
    version: i64,
    owner: Option<String>,
    owners: Vec<Choice>,
    provisional_due: String,
    final_due: String,
    incidents: Vec<(i64, String)>,
    started: Option<String>,
    acknowledged: Option<String>,
    resolved: Option<String>,
    pages: Vec<(String, String, i64)>,
    /// Page, component, worst state, minutes.
    components: Vec<(String, String, &'static str, i64)>,
    /// Public incidents about these incidents, where a published postmortem can be shown.
    public: Vec<PublicRow>,
    /// The sections' Markdown, and as HTML.
    sections: Vec<(&'static str, &'static str, String, SafeHtml)>,
    timeline: Vec<LineRow>,
    items: Vec<ItemRow>,
    /// The moves that apply: (status, button).
    moves: Vec<(&'static str, &'static str)>,
}

async fn show(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    let found = match state.app.postmortem(&id).await {
        Ok(found) => found,
        Err(e) => return super::error_page(ApiError::from(e)),
    };
    let (document, users, public) = match tokio::try_join!(
        async {
            state
                .app
                .postmortem_document(&found)
                .await
                .map_err(ApiError::from)
        },
        async { state.store.list_users().await.map_err(ApiError::from) },
        async {
            state
                .app
                .public_incidents_of(&found)
                .await
                .map_err(ApiError::from)
        },
    ) {
        Ok(found) => found,
        Err(e) => return super::error_page(e),
    };
    let public = public
        .into_iter()
        .map(|(page, i)| PublicRow {
            page: page.slug.to_string(),
            page_name: page.name.to_string(),
            id: i.id.to_string(),
            name: i.name,
            resolved: i.stage.is_over(),
            shown: i.postmortem == Some(found.id),
            other: i.postmortem.is_some_and(|p| p != found.id),
        })
        .collect();
    render(&viewer, &found, &document, &users, public)
}

fn render(
    viewer: &Viewer,
    found: &Postmortem,
    document: &Document,
    users: &[onduty_core::account::User],
    public: Vec<PublicRow>,
) -> Response {
    let tz = viewer.zone();
    let when = |t| super::time::when(t, &tz);
    let email_of = |id: Option<onduty_core::UserId>| {
        id.and_then(|id| users.iter().find(|u| u.id == id))
            .map(|u| u.email.to_string())
            .unwrap_or_default()
    };
    let mut chrome = viewer.chrome();
    chrome.section = "postmortems".to_owned();
    let sections = [
        ("summary", "Summary", &found.summary),
        (
            "contributing_factors",
            "Contributing factors",
            &found.contributing_factors,
        ),
        ("went_well", "What went well", &found.went_well),
        ("went_badly", "What did not", &found.went_badly),
    ]
    .into_iter()
    .map(|(field, heading, text)| (field, heading, text.clone(), to_safe_html(text)))
    .collect();
    let moves = match found.status.as_str() {
        "draft" => vec![("in_review", "Send for review")],
        "in_review" => vec![("published", "Publish"), ("draft", "Back to draft")],
        _ => Vec::new(),
    };
    let mut by_name: Vec<_> = users.iter().collect();
    by_name.sort_by_key(|u| u.name.to_string().to_lowercase());
    page(ShowPage {
        chrome,
        id: found.id.to_string(),
        title: found.title.clone(),
        status: status_label(found),
        editable: found.status.editable(),
        version: found.version,
        owner: document.owner.clone(),
        owners: Choice::list(
            std::iter::once((String::new(), "Nobody".to_owned())).chain(
                by_name
                    .iter()
                    .map(|u| (u.email.to_string(), u.name.to_string())),
            ),
            Some(email_of(found.owner)),
        ),
        provisional_due: when(found.provisional_due),
        final_due: when(found.final_due),
        incidents: document.incidents.clone(),
        started: document.impact.map(|i| when(i.started_at)),
        acknowledged: document.impact.and_then(|i| {
            Some(format!(
                "{} ({} min)",
                when(i.acknowledged_at?),
                i.minutes_to_acknowledge?
            ))
        }),
        resolved: document.impact.and_then(|i| {
            Some(format!(
                "{} (after {} min)",
                when(i.resolved_at?),
                i.minutes_to_resolve?
            ))
        }),
        pages: document.pages.clone(),
        components: document
            .components
            .iter()
            .map(|c| {
                (
                    c.page.clone(),
                    c.name.clone(),
                    c.outage.worst.label(),
                    c.outage.minutes,
                )
            })
            .collect(),
        public,
        sections,
        timeline: found
            .timeline
            .iter()
            .map(|l| LineRow {
                at: super::time::exact(l.at, &tz),
                at_rfc3339: l.at.to_rfc3339(),
                text: l.text.clone(),
                marked: l.marked,
                incident: l.incident,
            })
            .collect(),
        items: found
            .actions
            .iter()
            .map(|a| ItemRow {
                id: a.id.to_string(),
                text: a.text.clone(),
                owner: a
                    .owner
                    .and_then(|id| users.iter().find(|u| u.id == id))
                    .map(|u| u.name.to_string()),
                owner_email: email_of(a.owner),
                due: a.due_at.map(when),
                due_rfc3339: a.due_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                link: a.link.clone(),
                done: a.done_at.is_some(),
            })
            .collect(),
        moves,
    })
}

/// The whole document as the edit form posts it: each line's hidden fields and mark, and
/// a new line when one is typed.
fn posted_input(posted: &Posted, viewer: &Viewer) -> Result<PostmortemInput, ApiError> {
    let count: usize = posted.field("lines").parse().unwrap_or(0);
    let mut timeline: Vec<TimelineLineInput> = (0..count)
        .map(|i| TimelineLineInput {
            at: posted.field(&format!("line.{i}.at")),
            text: posted.field(&format!("line.{i}.text")),
            marked: posted.field(&format!("line.{i}.marked")) == "1",
            incident: posted.field(&format!("line.{i}.incident")).parse().ok(),
        })
        .collect();
    let new_text = posted.field("new.text");
    if !new_text.trim().is_empty() {
        let at = super::time::from_local_field(
            "The new line's time",
            &posted.field("new.at"),
            &viewer.zone(),
        )?;
        timeline.push(TimelineLineInput {
            at: at.to_rfc3339(),
            text: new_text,
            marked: true,
            incident: None,
        });
    }
    Ok(PostmortemInput {
        title: posted.field("title"),
        owner: posted.field("owner"),
        summary: posted.field("summary"),
        contributing_factors: posted.field("contributing_factors"),
        went_well: posted.field("went_well"),
        went_badly: posted.field("went_badly"),
        timeline,
        version: posted.field("version").parse().unwrap_or(0),
    })
}

async fn edit(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(posted) = Posted::checked(&viewer, &body) else {
        return forbidden();
    };
    let to = format!("/postmortems/{id}");
    let input = match posted_input(&posted, &viewer) {
        Ok(input) => input,
        Err(e) => return failed(&state, &to, e),
    };
    match state
        .app
        .edit_postmortem(&viewer.acting(), &id, &input)
        .await
    {
        Ok(_) => done(&state, &to, "Saved the postmortem."),
        Err(e) => failed(&state, &to, ApiError::from(e)),
    }
}

async fn move_on(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(posted) = Posted::checked(&viewer, &body) else {
        return forbidden();
    };
    let to = format!("/postmortems/{id}");
    match state
        .app
        .move_postmortem(&viewer.acting(), &id, &posted.field("status"))
        .await
    {
        Ok(moved) => done(
            &state,
            &to,
            format!("The postmortem is {}.", status_label(&moved).to_lowercase()),
        ),
        Err(e) => failed(&state, &to, ApiError::from(e)),
    }
}

/// Shows the postmortem with a public incident, or stops showing it.
async fn show_on_status_page(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(posted) = Posted::checked(&viewer, &body) else {
        return forbidden();
    };
    let to = format!("/postmortems/{id}");
    let show = posted.field("show") == "1";
    match state
        .app
        .show_postmortem_on_status_page(
            &viewer.acting(),
            &posted.field("page"),
            &posted.field("incident"),
            show.then_some(id.as_str()),
        )
        .await
    {
        Ok(_) if show => done(&state, &to, "Shown on the status page.".to_owned()),
        Ok(_) => done(
            &state,
            &to,
            "No longer shown on the status page.".to_owned(),
        ),
        Err(e) => failed(&state, &to, ApiError::from(e)),
    }
}

fn item_input(posted: &Posted, viewer: &Viewer) -> Result<ActionInput, ApiError> {
    let due = match posted.field("due").trim() {
        "" => String::new(),
        local if !local.ends_with('Z') => {
            super::time::from_local_field("The due date", local, &viewer.zone())?.to_rfc3339()
        }
        exact => exact.to_owned(),
    };
    Ok(ActionInput {
        text: posted.field("text"),
        owner: posted.field("owner"),
        due,
        link: posted.field("link"),
        done: posted.field("done") == "1",
    })
}

async fn add_item(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(posted) = Posted::checked(&viewer, &body) else {
        return forbidden();
    };
    let to = format!("/postmortems/{id}#action-items");
    let input = match item_input(&posted, &viewer) {
        Ok(input) => input,
        Err(e) => return failed(&state, &to, e),
    };
    match state
        .app
        .add_action_item(&viewer.acting(), &id, &input)
        .await
    {
        Ok(_) => done(&state, &to, "Added the action item."),
        Err(e) => failed(&state, &to, ApiError::from(e)),
    }
}

/// Marks an action item done or not done, or removes it (`action=delete`).
async fn change_item(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path((id, item)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Some(posted) = Posted::checked(&viewer, &body) else {
        return forbidden();
    };
    let to = format!("/postmortems/{id}#action-items");
    if posted.field("action") == "delete" {
        let result = state
            .app
            .delete_action_item(&viewer.acting(), &id, &item)
            .await;
        return super::flash::after(&state, &to, result, "Removed the action item.");
    }
    let input = match item_input(&posted, &viewer) {
        Ok(input) => input,
        Err(e) => return failed(&state, &to, e),
    };
    let result = state
        .app
        .update_action_item(&viewer.acting(), &id, &item, &input)
        .await;
    super::flash::after(&state, &to, result, "Saved the action item.")
}

async fn start(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(number): Path<i64>,
    body: Bytes,
) -> Response {
    if Posted::checked(&viewer, &body).is_none() {
        return forbidden();
    }
    match state
        .app
        .start_postmortem(&viewer.acting(), &[number.to_string()])
        .await
    {
        Ok(made) => done(
            &state,
            &format!("/postmortems/{}", made.id),
            "Started a postmortem.",
        ),
        Err(e) => failed(&state, &format!("/incidents/{number}"), ApiError::from(e)),
    }
}
