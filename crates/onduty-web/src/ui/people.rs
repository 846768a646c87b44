//! People: everyone and their roles, teams, adding a person with a first password, and
//! each person's page with their contact methods (add, verify with a code, test, remove)
//! and notification rules. People manage their own details; administrators manage
//! anyone's and the roles. Every change goes through the same code as the REST API.

use super::CsrfForm;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use onduty_core::account::{Role, User};
use serde::Deserialize;

use super::auth::forbidden;
use super::flash::{after, done, failed};
use super::{Choice, Viewer, page};
use crate::SharedState;
use crate::api::contacts::{ContactMethodView, RuleView};
use crate::error::ApiError;
use onduty_app::{MethodInput, RuleInput, UserInput};

pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/people", get(list).post(add_person))
        .route("/profile", get(profile))
        .route("/people/{id}", get(show).post(update))
        .route("/people/{id}/password", post(reset_password))
        .route("/people/{id}/methods", post(add_method))
        .route(
            "/people/{id}/methods/{method}/{action}",
            post(method_action),
        )
        .route("/people/{id}/rules", post(add_rule))
        .route("/people/{id}/rules/{rule}/delete", post(remove_rule))
        .route("/teams", post(add_team))
        .route("/teams/{id}/members", post(join_team))
        .route("/teams/{id}/members/{user}/remove", post(leave_team))
}

/// How far ahead a person's page lists their shifts.
const SHIFTS_AHEAD: std::time::Duration = std::time::Duration::from_secs(14 * 24 * 3600);

const ROLES: [(&str, &str); 3] = [
    ("admin", "admin: changes anything"),
    ("responder", "responder: acts on incidents"),
    ("observer", "observer: looks, changes nothing"),
];

struct PersonRow {
    id: String,
    name: String,
    email: String,
    time_zone: String,
    role: &'static str,
    roles: Vec<Choice>,
}

struct TeamRow {
    id: String,
    name: String,
    members: Vec<(String, String)>,
    /// Everyone not in it yet: whom "Add" offers.
    joinable: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "people.html")]
struct PeoplePage {
    chrome: super::Chrome,
    people: Vec<PersonRow>,
    teams: Vec<TeamRow>,
    roles: Vec<Choice>,
    /// Admins: codes and tests sent in the last hour.
    sends: Option<onduty_app::SendUsage>,
    /// Admins: which instance runs the paging engine.
    engine: Option<EngineLine>,
    /// Every time zone's name, for the form's suggestions.
    time_zones: &'static [String],
}

/// Which instance runs the paging engine, as a sentence; `running: false` is shown as an
/// alarm, since nothing is paged then.
struct EngineLine {
    running: bool,
    text: String,
}

impl EngineLine {
    fn of(status: onduty_app::EngineStatus, tz: &jiff::tz::TimeZone) -> EngineLine {
        let clock = |at| {
            super::time::to_jiff(at)
                .to_zoned(tz.clone())
                .strftime("%a %d %b %H:%M:%S")
                .to_string()
        };
        match status {
            onduty_app::EngineStatus::Running { holder, until } => EngineLine {
                running: true,
                text: format!(
                    "The paging engine runs on {holder}; its lease is renewed until {}.",
                    clock(until)
                ),
            },
            onduty_app::EngineStatus::Stopped { last } => EngineLine {
                running: false,
                text: match last {
                    Some((holder, until)) => format!(
                        "No instance runs the paging engine: the lease of {holder} ran out at {}. Nothing is paged until an instance takes it.",
                        clock(until)
                    ),
                    None => "No instance runs the paging engine. Nothing is paged until an instance takes its lease.".to_owned(),
                },
            },
        }
    }
}

fn name_of(users: &[User], id: onduty_core::UserId) -> String {
    users
        .iter()
        .find(|u| u.id == id)
        .map(|u| u.name.to_string())
        .unwrap_or_else(|| "(deleted user)".to_owned())
}

async fn list(State(state): State<SharedState>, viewer: Viewer) -> Response {
    let (mut users, teams) =
        match tokio::try_join!(state.store.list_users(), state.store.list_teams()) {
            Ok(found) => found,
            Err(e) => return super::error_page(e),
        };
    users.sort_by_key(|u| u.name.to_string().to_lowercase());
    let acting = viewer.acting();
    let (sends, engine) = if viewer.chrome().is_admin {
        match tokio::try_join!(state.app.send_usage(&acting), state.app.engine_status()) {
            Ok((usage, engine)) => (Some(usage), Some(EngineLine::of(engine, &viewer.zone()))),
            Err(e) => return super::error_page(e),
        }
    } else {
        (None, None)
    };
    page(PeoplePage {
        sends,
        engine,
        chrome: viewer.chrome(),
        people: users
            .iter()
            .map(|u| PersonRow {
                id: u.id.to_string(),
                name: u.name.to_string(),
                email: u.email.to_string(),
                time_zone: u.time_zone.to_string(),
                role: u.role.as_str(),
                roles: Choice::list(ROLES, Some(u.role.as_str().to_owned())),
            })
            .collect(),
        teams: teams
            .iter()
            .map(|t| TeamRow {
                id: t.id.to_string(),
                name: t.name.to_string(),
                members: t
                    .members
                    .iter()
                    .map(|m| (m.to_string(), name_of(&users, *m)))
                    .collect(),
                joinable: Choice::list(
                    users
                        .iter()
                        .filter(|u| !t.members.contains(&u.id))
                        .map(|u| (u.id, &u.name)),
                    None,
                ),
            })
            .collect(),
        roles: Choice::list(
            ROLES,
            Some(match viewer.kept("role") {
                kept if !kept.is_empty() => kept,
                _ => "responder".to_owned(),
            }),
        ),
        time_zones: super::time::zone_options(),
    })
}

#[derive(Deserialize)]
struct NewPersonForm {
    csrf: String,
    name: String,
    email: String,
    role: String,
    #[serde(default)]
    time_zone: String,
    password: String,
}

/// An administrator adds someone, with a first password to hand over (they change it).
async fn add_person(
    State(state): State<SharedState>,
    viewer: Viewer,
    Form(form): Form<NewPersonForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let input = UserInput {
        email: Some(form.email.trim().to_owned()),
        name: Some(form.name.trim().to_owned()),
        role: Some(form.role.clone()),
        time_zone: Some(form.time_zone.trim().to_owned()).filter(|t| !t.is_empty()),
    };
    match state
        .app
        .create_user(&viewer.acting(), input, Some(&form.password))
        .await
    {
        Ok(user) => done(
            &state,
            &format!("/people/{}", user.id),
            format!(
                "Added {}. They log in as {} with the password you chose, then change it.",
                user.name, user.email
            ),
        ),
        // Back to the form, with what was typed (not the password).
        Err(e) => super::flash::failed_keeping(
            &state,
            "/people#add-person",
            ApiError::from(e),
            &[
                ("name", &form.name),
                ("email", &form.email),
                ("role", &form.role),
                ("time_zone", &form.time_zone),
            ],
        ),
    }
}

async fn profile(viewer: Viewer) -> Response {
    Redirect::to(&format!("/people/{}", viewer.user.id)).into_response()
}

struct MethodRow {
    id: String,
    name: String,
    channel: String,
    address: String,
    verified: bool,
    failing: Option<String>,
}

struct RuleRow {
    id: String,
    text: String,
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage {
    chrome: super::Chrome,
    /// Their shifts in the next two weeks.
    shifts: Vec<super::home::ShiftRow>,
    time_zones: &'static [String],
    id: String,
    name: String,
    email: String,
    role: &'static str,
    time_zone: String,
    own: bool,
    /// The viewer may change this person's details (themselves, or an admin).
    manage: bool,
    methods: Vec<MethodRow>,
    method_choices: Vec<Choice>,
    rules: Vec<RuleRow>,
    roles: Vec<Choice>,
    /// `active`, `disabled` or `deleted`.
    status: &'static str,
    /// Their API tokens: id, name, when made.
    tokens: Vec<(String, String, String)>,
    /// The key browsers subscribe to Web Push with, when it is on.
    vapid_key: Option<String>,
}

async fn show(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    let person = match state.app.find_user(&id).await {
        Ok(u) => u,
        Err(e) => return super::error_page(e),
    };
    let own = person.id == viewer.user.id;
    let manage = own || viewer.user.role == Role::Admin;
    let (methods, rules) = if manage {
        let found = tokio::try_join!(
            state.store.contact_methods(person.id),
            state.store.rules(person.id),
        );
        match found {
            Ok((m, r)) => (
                m.iter().map(ContactMethodView::from).collect::<Vec<_>>(),
                r.iter().map(RuleView::from).collect::<Vec<_>>(),
            ),
            Err(e) => return super::error_page(e),
        }
    } else {
        (Vec::new(), Vec::new())
    };
    let tokens = if manage {
        match state.app.tokens(&viewer.acting(), &id).await {
            Ok(t) => t,
            Err(e) => return super::error_page(e),
        }
    } else {
        Vec::new()
    };
    let zone = viewer.zone();
    let now = state.clock.now();
    let shifts =
        match super::home::upcoming_shifts(&state, person.id, &zone, now, SHIFTS_AHEAD).await {
            Ok(s) => s,
            Err(e) => return super::error_page(e),
        };
    let method_label = |mid: &str| {
        methods
            .iter()
            .find(|m| m.id == mid)
            .map(|m| format!("{} {}", m.channel, m.address))
            .unwrap_or_else(|| "a removed contact method".to_owned())
    };
    let rules = rules
        .iter()
        .map(|r| RuleRow {
            id: r.id.clone(),
            text: format!(
                "{} {}, for {} urgency{}",
                method_label(&r.contact_method_id),
                match r.delay_minutes {
                    0 => "at once".to_owned(),
                    m => format!("after {m} minutes"),
                },
                match r.urgency.as_str() {
                    "both" => "any",
                    other => other,
                },
                match r.repeat_seconds {
                    Some(s) => format!(", again every {s} s until acknowledged"),
                    None => String::new(),
                }
            ),
        })
        .collect();
    page(PersonPage {
        shifts,
        time_zones: super::time::zone_options(),
        vapid_key: state.providers.web_push.as_ref().map(|w| w.public_key()),
        chrome: viewer.chrome(),
        id: person.id.to_string(),
        name: person.name.to_string(),
        email: person.email.to_string(),
        role: person.role.as_str(),
        time_zone: person.time_zone.to_string(),
        own,
        manage,
        method_choices: Choice::list(
            methods
                .iter()
                .map(|m| (m.id.clone(), format!("{} {}", m.channel, m.address))),
            None,
        ),
        methods: methods
            .into_iter()
            .map(|m| MethodRow {
                id: m.id,
                name: m.name,
                channel: m.channel,
                address: m.address,
                verified: m.verified,
                failing: m.failing,
            })
            .collect(),
        rules,
        roles: Choice::list(ROLES, Some(person.role.as_str().to_owned())),
        status: person.status.as_str(),
        tokens: tokens
            .into_iter()
            .map(|t| {
                (
                    t.id.to_string(),
                    t.name,
                    super::time::when(t.created_at, &zone),
                )
            })
            .collect(),
    })
}

#[derive(Deserialize)]
struct PersonForm {
    csrf: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default)]
    role: Option<String>,
}

/// Changes a person's e-mail address, name and time zone (themselves or an admin) or
/// role (admins).
async fn update(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<PersonForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let to = if form.role.is_some() && form.name.is_none() {
        "/people".to_owned()
    } else {
        format!("/people/{id}")
    };
    let input = UserInput {
        email: form.email.map(|e| e.trim().to_owned()),
        name: form.name.map(|n| n.trim().to_owned()),
        role: form.role,
        time_zone: form.time_zone.map(|t| t.trim().to_owned()),
    };
    let saved = state.app.update_user(&viewer.acting(), &id, input).await;
    after(&state, &to, saved, "Saved.")
}

#[derive(Deserialize)]
struct PasswordForm {
    csrf: String,
    password: String,
}

/// An administrator sets someone's password (they forgot it): their sessions end.
async fn reset_password(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<PasswordForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let to = format!("/people/{id}");
    let reset = state
        .app
        .reset_password(&viewer.acting(), &id, &form.password)
        .await;
    after(
        &state,
        &to,
        reset,
        "Password set; they are logged out everywhere.",
    )
}

#[derive(Deserialize)]
struct MethodForm {
    csrf: String,
    channel: String,
    address: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    token: String,
    /// Web Push: the browser's subscription keys, sent by `/static/push.js`.
    #[serde(default)]
    p256dh: String,
    #[serde(default)]
    auth: String,
}

async fn add_method(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<MethodForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let to = format!("/people/{id}");
    let input = MethodInput {
        channel: form.channel,
        address: form.address.trim().to_owned(),
        name: Some(form.name.trim().to_owned()).filter(|n| !n.is_empty()),
        token: Some(form.token.trim().to_owned()).filter(|t| !t.is_empty()),
        push_keys: Some((form.p256dh, form.auth)).filter(|(k, a)| !k.is_empty() || !a.is_empty()),
    };
    match state.app.create_method(&viewer.acting(), &id, input).await {
        Ok(created) => {
            let mut notice = match created.verification.as_str() {
                "sent" => "Added. A code is on its way: enter it below to verify.".to_owned(),
                why => format!("Added, but the code was not sent ({why}); send it again below."),
            };
            if let Some(secret) = created.secret {
                notice.push_str(&format!(" Its signing secret, shown this once: {secret}"));
            }
            done(&state, &to, notice)
        }
        Err(e) => failed(&state, &to, ApiError::from(e)),
    }
}

#[derive(Deserialize)]
struct MethodActionForm {
    csrf: String,
    #[serde(default)]
    code: String,
}

/// Verify (with a code), send the code again, send a test, or remove a contact method.
async fn method_action(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path((id, method, action)): Path<(String, String, String)>,
    Form(form): Form<MethodActionForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let to = format!("/people/{id}");
    let (app, acting) = (&state.app, viewer.acting());
    match action.as_str() {
        "verify" => {
            let code = form.code.trim();
            let verified = app.verify_method(&acting, &id, &method, code).await;
            after(&state, &to, verified, "Verified.")
        }
        "send-code" => {
            let sent = app.send_code(&acting, &id, &method).await;
            after(&state, &to, sent, "A new code is on its way.")
        }
        "test" => {
            let sent = app.send_test(&acting, &id, &method).await;
            after(&state, &to, sent, "Test sent.")
        }
        "delete" => {
            let removed = app.delete_method(&acting, &id, &method).await;
            after(&state, &to, removed, "Removed.")
        }
        other => failed(&state, &to, format!("unknown action '{other}'")),
    }
}

#[derive(Deserialize)]
struct RuleForm {
    csrf: String,
    contact_method: String,
    delay_minutes: String,
    urgency: String,
    #[serde(default)]
    repeat_seconds: String,
}

async fn add_rule(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<RuleForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let to = format!("/people/{id}");
    let Ok(delay_minutes) = form.delay_minutes.trim().parse() else {
        return failed(
            &state,
            &to,
            "The delay is a whole number of minutes (0 for at once)",
        );
    };
    let repeat_seconds = match form.repeat_seconds.trim() {
        "" => None,
        text => match text.parse() {
            Ok(seconds) => Some(seconds),
            Err(_) => {
                return failed(
                    &state,
                    &to,
                    "Repeat is a whole number of seconds (0 for once)",
                );
            }
        },
    };
    let input = RuleInput {
        contact_method: form.contact_method,
        delay_minutes,
        urgency: Some(form.urgency),
        repeat_seconds,
    };
    let created = state.app.create_rule(&viewer.acting(), &id, input).await;
    after(&state, &to, created, "Rule added.")
}

async fn remove_rule(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path((id, rule)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let to = format!("/people/{id}");
    let removed = state.app.delete_rule(&viewer.acting(), &id, &rule).await;
    after(&state, &to, removed, "Rule removed.")
}

#[derive(Deserialize)]
struct TeamForm {
    csrf: String,
    name: String,
}

async fn add_team(
    State(state): State<SharedState>,
    viewer: Viewer,
    Form(form): Form<TeamForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let created = state
        .app
        .create_team(&viewer.acting(), form.name.trim())
        .await;
    after(&state, "/people", created, "Team created.")
}

#[derive(Deserialize)]
struct MemberForm {
    csrf: String,
    user: String,
}

async fn join_team(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<MemberForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let added = state
        .app
        .add_member(&viewer.acting(), &id, &form.user)
        .await;
    after(&state, "/people", added, "Added to the team.")
}

async fn leave_team(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path((id, user)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let removed = state.app.remove_member(&viewer.acting(), &id, &user).await;
    after(&state, "/people", removed, "Removed from the team.")
}
