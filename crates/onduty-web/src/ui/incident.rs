//! One incident's page: what it is, who has it, its details, links and images, its whole
//! timeline (on the viewer's clock), and the buttons (plain forms) to acknowledge,
//! resolve, escalate, reassign, add responders, snooze and add a note.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use onduty_app::{IncidentCommand, SnoozeFor};
use onduty_core::incident::TimelineKind;
use onduty_core::lifecycle::Assignee;
use onduty_core::{IncidentNumber, IncidentRef};
use serde::Deserialize;

use super::auth::forbidden;
use super::{Viewer, page};
use crate::SharedState;
use crate::error::ApiError;

pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/incidents/{number}", get(show))
        .route("/incidents/{number}/act", post(act))
        .route("/incidents/{number}/note", post(note))
        .merge(super::incident_public::routes())
}

/// Characters of a summary the page's heading shows; the rest is a tap away.
const SUMMARY_SHOWN: usize = 140;

/// The beginning of `text` if it is longer than `most` characters, cut at a word
/// when one ends near the cut.
fn shortened(text: &str, most: usize) -> Option<String> {
    let (cut, _) = text.char_indices().nth(most)?;
    let head = &text[..cut];
    let at_word = head
        .rfind(char::is_whitespace)
        .filter(|&i| i > cut * 3 / 4)
        .unwrap_or(cut);
    Some(head[..at_word].trim_end().to_owned())
}

/// Most timeline entries the page shows.
const TIMELINE_SHOWN: u32 = 500;

struct LinkRow {
    href: String,
    text: String,
    /// Only http(s) links are made clickable.
    safe: bool,
}

struct EntryRow {
    at: String,
    at_rfc3339: String,
    message: String,
}

#[derive(Template)]
#[template(path = "incident.html")]
struct IncidentPage {
    chrome: super::Chrome,
    live_since: String,
    can_act: bool,
    number: i64,
    summary: String,
    /// The summary's beginning when it is too long to head a phone's screen.
    summary_short: Option<String>,
    status: &'static str,
    severity: String,
    urgency: String,
    service: String,
    opened: String,
    opened_at: String,
    alert_count: i64,
    /// Keys grouped into it, and when each resolved (on the viewer's clock).
    grouped: Vec<(String, Option<String>)>,
    source: Option<String>,
    assignees: Vec<String>,
    acknowledged_by: Option<String>,
    /// Everyone and every policy it can be handed to (`user:…`, `policy:…`).
    reassign_to: Vec<super::Choice>,
    people: Vec<super::Choice>,
    links: Vec<LinkRow>,
    /// Images are shown as links: loading them would tell their host who is looking.
    images: Vec<LinkRow>,
    /// Custom details as key and value, when they are an object; and as JSON.
    detail_rows: Vec<(String, String)>,
    details: Option<String>,
    /// "View in Prometheus": the sender's own page about it.
    client_link: Option<LinkRow>,
    dedup_key: String,
    /// "Open for 42 min", "Resolved by Alice after 1 h 5 min".
    lasted: String,
    /// Which timeline entries are shown: `all`, `events`, `pages` or `notes`.
    show: &'static str,
    filters: &'static [(&'static str, &'static str)],
    /// No level of its policy reached anyone, and nobody has it.
    nobody_paged: Option<String>,
    /// The timeline shows its newest entries; there are earlier ones.
    earlier: bool,
    timeline: Vec<EntryRow>,
    /// What the status pages say of it, and the form to tell the public.
    public: super::incident_public::PublicPart,
    /// What to do: shown first.
    runbook: Option<super::runbooks::IncidentRunbookPart>,
    /// The postmortem it is in, if any.
    postmortem: Option<String>,
}

fn incident_ref(number: i64) -> IncidentRef {
    IncidentRef::Number(IncidentNumber(number))
}

/// An error page for a failed read, as the API would word it.
fn failed(e: onduty_store::StoreError) -> Response {
    super::error_page(e)
}

/// Which part of the timeline the page shows (`?show=`).
#[derive(Deserialize)]
struct Shown {
    show: Option<String>,
}

/// The timeline's filters: the query's value, and its label.
const TIMELINE_FILTERS: [(&str, &str); 4] = [
    ("all", "Everything"),
    ("events", "Events"),
    ("pages", "Pages"),
    ("notes", "Notes"),
];

/// Whether an entry of `kind` (from an event or not) is shown under `filter`.
fn in_filter(filter: &str, kind: TimelineKind, from_event: bool) -> bool {
    match filter {
        "events" => {
            from_event
                || matches!(
                    kind,
                    TimelineKind::Triggered
                        | TimelineKind::Alert
                        | TimelineKind::Event
                        | TimelineKind::Superseded
                        | TimelineKind::Reopened
                )
        }
        "pages" => matches!(kind, TimelineKind::Escalated | TimelineKind::Notified),
        "notes" => kind == TimelineKind::Note,
        _ => true,
    }
}

/// Custom details as rows, when they are an object: a string as it is, anything else as
/// compact JSON.
fn detail_rows(details: &serde_json::Value) -> Vec<(String, String)> {
    details
        .as_object()
        .map(|fields| {
            fields
                .iter()
                .map(|(key, value)| {
                    let shown = match value {
                        serde_json::Value::String(text) => text.clone(),
                        other => other.to_string(),
                    };
                    (key.clone(), shown)
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn show(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(number): Path<i64>,
    Query(shown): Query<Shown>,
) -> Response {
    let filter = TIMELINE_FILTERS
        .iter()
        .map(|(value, _)| *value)
        .find(|value| Some(*value) == shown.show.as_deref())
        .unwrap_or("all");
    let live_since = super::live::since(&state).await;
    let incident = match state.store.incident(incident_ref(number)).await {
        Ok(i) => i,
        Err(e) => return failed(e),
    };
    let ((timeline, earlier), service, users, policies) = match tokio::try_join!(
        state.store.timeline_tail(incident.id, TIMELINE_SHOWN),
        state.store.service(incident.service_id),
        state.store.list_users(),
        state.store.list_policies(),
    ) {
        Ok(found) => found,
        Err(e) => return failed(e),
    };
    let public = match super::incident_public::load(&state, &incident).await {
        Ok(part) => part,
        Err(e) => return failed(e),
    };
    let runbook = super::runbooks::for_incident(&state, &incident).await;
    let postmortem = match state.store.postmortem_of(incident.id).await {
        Ok(found) => found.map(|id| id.to_string()),
        Err(e) => return failed(e),
    };
    let custom = incident
        .details
        .alert()
        .and_then(|a| a.custom_details.as_ref());
    let details = custom.and_then(|d| serde_json::to_string_pretty(d).ok());
    // The runbook first: it says what to do.
    let mut sorted: Vec<_> = incident.details.links.iter().collect();
    sorted.sort_by_key(|l| !onduty_core::runbook::is_runbook_link(l));
    let links: Vec<LinkRow> = sorted
        .iter()
        .map(|l| link(&l.href, l.text.as_deref()))
        .collect();
    let client_link = incident.details.client_url.as_deref().map(|url| {
        let by = incident.details.client.as_deref().unwrap_or("the sender");
        link(url, Some(&format!("View in {by}")))
    });
    let now = state.clock.now();
    let lasted = match (incident.resolved_at, &incident.resolved_by) {
        (Some(at), by) => {
            let who = by
                .as_ref()
                .map(|a| format!(" by {}", a.name()))
                .unwrap_or_default();
            format!(
                "Resolved{who} after {}",
                super::time::span(incident.created_at, at)
            )
        }
        (None, _) => format!("Open for {}", super::time::span(incident.created_at, now)),
    };
    let images = incident
        .details
        .images
        .iter()
        .map(|i| link(i.href.as_deref().unwrap_or(&i.src), i.alt.as_deref()))
        .collect();
    let tz = viewer.zone();
    let name_of = |id: onduty_core::UserId| {
        users
            .iter()
            .find(|u| u.id == id)
            .map(|u| u.name.to_string())
            .unwrap_or_else(|| "(deleted user)".to_owned())
    };
    let mut by_name: Vec<_> = users.iter().collect();
    by_name.sort_by_key(|u| u.name.to_string().to_lowercase());
    let alert = incident.details.alert();
    let nobody_paged = match crate::api::incidents::nobody_paged(&state, &incident).await {
        Ok(found) => found,
        Err(e) => return failed(e),
    };
    page(IncidentPage {
        public,
        runbook,
        postmortem,
        nobody_paged,
        chrome: viewer.chrome(),
        live_since,
        can_act: viewer.user.role.can_respond(),
        number,
        summary_short: shortened(&incident.summary, SUMMARY_SHOWN),
        summary: incident.summary.clone(),
        status: incident.status.as_str(),
        severity: incident.severity.as_str().to_owned(),
        urgency: incident.urgency.as_str().to_owned(),
        service: service.name.to_string(),
        opened: super::time::when(incident.created_at, &tz),
        opened_at: incident.created_at.to_rfc3339(),
        alert_count: incident.alert_count,
        grouped: incident
            .grouped_alerts
            .0
            .iter()
            .map(|a| {
                let resolved = a
                    .resolved_at
                    .map(|t| super::time::when(onduty_core::Timestamp::from_millis(t), &tz));
                (a.key.clone(), resolved)
            })
            .collect(),
        source: alert.map(|a| match &a.component {
            Some(c) => format!("{} ({c})", a.source),
            None => a.source.clone(),
        }),
        assignees: incident.assignees.iter().map(|u| name_of(*u)).collect(),
        acknowledged_by: incident
            .acknowledged_by
            .as_ref()
            .map(|a| a.name().to_owned()),
        reassign_to: super::Choice::list(
            by_name
                .iter()
                .map(|u| (format!("user:{}", u.id), u.name.to_string()))
                .chain(
                    policies
                        .iter()
                        .map(|p| (format!("policy:{}", p.id), format!("policy {}", p.name))),
                ),
            None,
        ),
        people: super::Choice::list(by_name.iter().map(|u| (u.id, &u.name)), None),
        links,
        images,
        detail_rows: custom.map(detail_rows).unwrap_or_default(),
        details,
        client_link,
        dedup_key: incident.dedup_key.to_string(),
        lasted,
        show: filter,
        filters: &TIMELINE_FILTERS,
        earlier,
        timeline: timeline
            .iter()
            .filter(|e| in_filter(filter, e.kind, e.event_id.is_some()))
            .map(|e| EntryRow {
                at: super::time::when(e.at, &tz),
                at_rfc3339: e.at.to_rfc3339(),
                // A note's words are kept beside its line.
                message: match e.data.as_ref().and_then(|d| d["text"].as_str()) {
                    Some(text) => format!("{}: {text}", e.message),
                    None => e.message.clone(),
                },
            })
            .collect(),
    })
}

#[derive(Deserialize)]
struct ActForm {
    csrf: String,
    action: String,
    minutes: Option<u32>,
    /// For `reassign`: `user:<id>` or `policy:<id>`; for `responder`: a user id.
    to: Option<String>,
}

/// A link as the page shows it: clickable only if it is http(s).
fn link(href: &str, text: Option<&str>) -> LinkRow {
    LinkRow {
        safe: onduty_core::event::clickable(href),
        text: text.unwrap_or(href).to_owned(),
        href: href.to_owned(),
    }
}

/// Whom a reassign form names.
fn assignee(to: Option<&str>) -> Result<Assignee, ApiError> {
    let bad = || ApiError::BadRequest("choose someone or a policy to reassign to".to_owned());
    let (kind, id) = to.and_then(|t| t.split_once(':')).ok_or_else(bad)?;
    match kind {
        "user" => Ok(Assignee::User(id.parse().map_err(|_| bad())?)),
        "policy" => Ok(Assignee::Policy(id.parse().map_err(|_| bad())?)),
        _ => Err(bad()),
    }
}

/// What an action form asks.
fn command(form: &ActForm) -> Result<IncidentCommand, ApiError> {
    Ok(match form.action.as_str() {
        "acknowledge" => IncidentCommand::Acknowledge,
        "resolve" => IncidentCommand::Resolve,
        "unacknowledge" => IncidentCommand::Unacknowledge,
        "escalate" => IncidentCommand::Escalate { level: None },
        "reassign" => IncidentCommand::Reassign(assignee(form.to.as_deref())?),
        "responder" => match form.to.as_deref().and_then(|t| t.parse().ok()) {
            Some(user) => IncidentCommand::AddResponders(vec![user]),
            None => return Err(ApiError::BadRequest("choose someone to add".to_owned())),
        },
        "snooze" => IncidentCommand::Snooze(SnoozeFor::Minutes(form.minutes.unwrap_or(60))),
        other => return Err(ApiError::BadRequest(format!("unknown action '{other}'"))),
    })
}

/// What the page says once an action worked.
fn confirmation(command: &IncidentCommand, number: i64) -> String {
    let done = match command {
        IncidentCommand::Acknowledge => "Acknowledged",
        IncidentCommand::Resolve => "Resolved",
        IncidentCommand::Unacknowledge => "Unacknowledged",
        IncidentCommand::Escalate { .. } => "Escalated",
        IncidentCommand::Reassign(_) => "Reassigned",
        IncidentCommand::AddResponders(_) => "Paged another responder for",
        IncidentCommand::Snooze(_) => "Snoozed",
    };
    format!("{done} #{number}")
}

/// Back to the incident's page at `place`, saying `notice` or the error; a person who
/// may not act is refused outright.
fn back(
    state: &SharedState,
    number: i64,
    place: &str,
    result: Result<String, ApiError>,
) -> Response {
    let to = format!("/incidents/{number}{place}");
    match result {
        Err(e @ ApiError::Forbidden(_)) => super::error_page(e),
        Err(e) => super::flash::failed(state, &to, e),
        Ok(notice) => super::flash::done(state, &to, notice),
    }
}

async fn act(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(number): Path<i64>,
    Form(form): Form<ActForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let done = match command(&form) {
        Ok(command) => {
            let said = confirmation(&command, number);
            state
                .app
                .act(&viewer.acting(), incident_ref(number), command)
                .await
                .map(|_| said)
                .map_err(ApiError::from)
        }
        Err(e) => Err(e),
    };
    back(&state, number, "", done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timeline_filters_split_events_pages_and_notes() {
        use TimelineKind::*;
        let rows = [
            (Triggered, true, "events"),
            (Acknowledged, true, "events"),
            (Acknowledged, false, "all"),
            (Escalated, false, "pages"),
            (Notified, false, "pages"),
            (Note, false, "notes"),
        ];
        for (kind, from_event, only) in rows {
            for (filter, _) in TIMELINE_FILTERS {
                let expected = filter == "all" || filter == only;
                assert_eq!(
                    in_filter(filter, kind, from_event),
                    expected,
                    "{kind:?} (event: {from_event}) under {filter}"
                );
            }
        }
    }

    #[test]
    fn custom_details_become_rows_when_they_are_an_object() {
        let rows = detail_rows(&serde_json::json!({"error rate": "37%", "hosts": ["a", "b"]}));
        assert_eq!(
            rows,
            [
                ("error rate".to_owned(), "37%".to_owned()),
                ("hosts".to_owned(), r#"["a","b"]"#.to_owned())
            ]
        );
        assert!(detail_rows(&serde_json::json!("just text")).is_empty());
    }

    #[test]
    fn long_summaries_are_cut_at_a_word_and_short_ones_kept() {
        assert_eq!(shortened("Disk full on db01", 140), None);
        assert_eq!(shortened(&"x".repeat(140), 140), None);
        let long = format!("{} tail", "word ".repeat(40));
        let cut = shortened(&long, 140).unwrap();
        assert!(cut.len() <= 140 && cut.ends_with("word"), "{cut}");
        assert_eq!(
            shortened(&"é".repeat(200), 140).unwrap().chars().count(),
            140
        );
    }
}

#[derive(Deserialize)]
struct NoteForm {
    csrf: String,
    text: String,
}

async fn note(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(number): Path<i64>,
    Form(form): Form<NoteForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let added = state
        .app
        .add_note(&viewer.acting(), incident_ref(number), &form.text)
        .await
        .map(|_| "Note added".to_owned())
        .map_err(ApiError::from);
    // Back where the note now is, just above the form.
    back(&state, number, "#add-note", added)
}
