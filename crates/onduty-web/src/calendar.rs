//! Calendar feeds (RFC 5545): `/calendar/schedules/<secret>.ics` (a schedule's final
//! shifts) and `/calendar/users/<secret>.ics` (a person's shifts in every schedule), for
//! Google Calendar, Outlook or Apple Calendar to subscribe to. The secret in the URL is
//! the only credential; it can be rotated through the API.
//!
//! Each stretch on call is one event whose UID names what the stretch comes from (see
//! [`uids`]), so a calendar that polls again updates a shift (a new end, an override moved)
//! instead of adding a second one.

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use icalendar::{Calendar, Component, Event, Parameter, Property};
use onduty_core::Timestamp;
use onduty_core::schedule::{Schedule, Source, Stretch, Window, final_schedule};

use crate::SharedState;
use crate::error::ApiError;

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/calendar/schedules/{file}", get(schedule_feed))
        .route("/calendar/users/{file}", get(user_feed))
}

/// What a feed covers: the last 30 days and the next 180.
const BEHIND: Duration = Duration::from_secs(30 * 24 * 3600);
const AHEAD: Duration = Duration::from_secs(180 * 24 * 3600);
const DAY_MS: i64 = 24 * 3600 * 1000;

/// The feed's window, from and to UTC midnights: the same all day, so a shift cut at
/// its edge keeps its start (and its UID) from one poll to the next.
fn feed_window(now: Timestamp) -> Window {
    let from = now.as_millis() - BEHIND.as_millis() as i64;
    let until = now.saturating_add(AHEAD).as_millis();
    Window {
        start: Timestamp::from_millis(from.div_euclid(DAY_MS) * DAY_MS),
        end: Timestamp::from_millis((until.div_euclid(DAY_MS) + 1) * DAY_MS),
    }
}

/// `20260601T090000Z` (whole seconds; `None` outside what iCalendar can say).
fn ical_time(t: Timestamp) -> Option<String> {
    let ts = jiff::Timestamp::from_millisecond(t.as_millis()).ok()?;
    let year = ts.to_zoned(jiff::tz::TimeZone::UTC).year();
    (1..=9999)
        .contains(&year)
        .then(|| ts.strftime("%Y%m%dT%H%M%SZ").to_string())
}

/// TEXT as RFC 5545 3.3.11 escapes it, for properties the icalendar crate writes as is.
fn escape_text(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}

fn token_of(file: &str) -> Result<&str, ApiError> {
    file.strip_suffix(".ics")
        .filter(|t| !t.is_empty() && t.len() <= 128)
        .ok_or_else(|| ApiError::NotFound("no such calendar".to_owned()))
}

/// One event: a stretch on call (shifts of one person joined, so a calendar need not
/// show a stretch moving from one layer to an override).
struct Entry<'a> {
    schedule: &'a Schedule,
    user_name: &'a str,
    stretch: Stretch,
    uid: String,
}

/// The UIDs of a schedule's stretches, in order. A stretch is named by what it comes
/// from, which moving an override does not change: the layer's shift it begins with, by
/// that shift's start (`<schedule>-<person>-<start in ms>@onduty`, the name a shift without
/// overrides has always had), or the override it begins with (`<schedule>-<override>@onduty`).
/// Where one source gives several stretches (an override cutting a shift in two), the
/// second is `…-2@onduty`, the third `…-3@onduty`.
fn uids(schedule: &Schedule, stretches: &[Stretch]) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    stretches
        .iter()
        .map(|s| {
            let name = match s.source {
                Source::Layer(_) => {
                    format!("{}-{}-{}", schedule.id, s.user, s.source_start.as_millis())
                }
                Source::Override(id) => format!("{}-{id}", schedule.id),
            };
            let n = seen.entry(name.clone()).or_default();
            *n += 1;
            match *n {
                1 => format!("{name}@onduty"),
                n => format!("{name}-{n}@onduty"),
            }
        })
        .collect()
}

/// One shift as an event; `None` for one that iCalendar cannot show (under a second, or
/// outside years 1 to 9999).
fn event(e: &Entry<'_>, now: Timestamp, base: &str) -> Option<Event> {
    let (stamp, start, end) = (
        ical_time(now)?,
        ical_time(e.stretch.start)?,
        ical_time(e.stretch.end)?,
    );
    if start == end {
        return None;
    }
    Some(
        Event::new()
            .uid(&e.uid)
            .add_property("DTSTAMP", stamp)
            .add_property("DTSTART", start)
            .add_property("DTEND", end)
            .summary(&format!("On call: {} ({})", e.user_name, e.schedule.name))
            .description(&format!(
                "{} is on call in {}.",
                e.user_name, e.schedule.name
            ))
            .url(&format!(
                "{}/api/v1/schedules/{}",
                base.trim_end_matches('/'),
                e.schedule.id
            ))
            .done(),
    )
}

fn ics(calendar: Calendar) -> Response {
    let mut response = calendar.to_string().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/calendar; charset=utf-8"),
    );
    response
}

async fn schedule_feed(
    State(state): State<SharedState>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let token = token_of(&file)?;
    let schedule = state
        .store
        .schedule_by_feed_token(token)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such calendar".to_owned()))?;
    let now = state.clock.now();
    let window = feed_window(now);
    let overrides = state.store.overrides(schedule.id, Some(window)).await?;
    let f = final_schedule(&schedule.rota(overrides), window);
    let people = state.store.list_users().await?;
    let mut calendar = calendar(&format!("On call: {}", schedule.name));
    let stretches = f.stretches();
    for (stretch, uid) in stretches.iter().zip(uids(&schedule, &stretches)) {
        let name = people
            .iter()
            .find(|u| u.id == stretch.user)
            .map(|u| u.name.to_string())
            .unwrap_or_else(|| "(deleted user)".to_owned());
        let entry = Entry {
            schedule: &schedule,
            user_name: &name,
            stretch: *stretch,
            uid,
        };
        if let Some(e) = event(&entry, now, &state.config.public_url) {
            calendar.push(e);
        }
    }
    Ok(ics(calendar.done()))
}

async fn user_feed(
    State(state): State<SharedState>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let token = token_of(&file)?;
    let user_id = state
        .store
        .user_by_feed_token(token)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such calendar".to_owned()))?;
    let user = state.store.user(user_id).await?;
    let now = state.clock.now();
    let window = feed_window(now);
    let mut overrides = state.store.all_overrides(window).await?;
    let mut calendar = calendar(&format!("On call: {}", user.name));
    let name = user.name.to_string();
    for schedule in state.store.list_schedules().await? {
        let f = final_schedule(
            &schedule.rota(overrides.remove(&schedule.id).unwrap_or_default()),
            window,
        );
        let stretches = f.stretches();
        let named = stretches.iter().zip(uids(&schedule, &stretches));
        for (stretch, uid) in named.filter(|(s, _)| s.user == user_id) {
            let entry = Entry {
                schedule: &schedule,
                user_name: &name,
                stretch: *stretch,
                uid,
            };
            if let Some(e) = event(&entry, now, &state.config.public_url) {
                calendar.push(e);
            }
        }
    }
    Ok(ics(calendar.done()))
}

/// A calendar named `name` that asks to be polled hourly.
fn calendar(name: &str) -> Calendar {
    let mut c = Calendar::new();
    // NAME (RFC 7986) is written as given, X-WR-CALNAME escaped by the crate.
    c.append_property(Property::new("NAME", escape_text(name)))
        .append_property(Property::new("X-WR-CALNAME", name))
        .append_property(
            Property::new("REFRESH-INTERVAL", "PT1H")
                .append_parameter(Parameter::new("VALUE", "DURATION"))
                .done(),
        )
        .append_property(Property::new("X-PUBLISHED-TTL", "PT1H"));
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_impossible_times_are_left_out() {
        assert_eq!(
            escape_text("Ops, nights; a\\b\nc"),
            "Ops\\, nights\\; a\\\\b\\nc"
        );
        assert_eq!(
            ical_time(Timestamp::parse("2026-06-01T09:00:00.750Z").unwrap()).as_deref(),
            Some("20260601T090000Z")
        );
        assert_eq!(ical_time(Timestamp::from_millis(i64::MIN)), None);
    }

    #[test]
    fn a_stretch_is_named_by_its_source_and_a_second_from_one_source_is_numbered() {
        use onduty_core::account::{Name, TimeZoneName};
        use onduty_core::{OverrideId, ScheduleId, UserId};
        let at = |ms: i64| Timestamp::from_millis(ms);
        let schedule = Schedule {
            id: ScheduleId::new(at(0)),
            name: Name::parse("Ops").unwrap(),
            description: String::new(),
            time_zone: TimeZoneName::utc(),
            team_id: None,
            layers: Vec::new(),
        };
        let (alice, bob) = (UserId::new(at(1)), UserId::new(at(2)));
        let cover = OverrideId::new(at(3));
        let stretch = |user, start, end, source, source_start| Stretch {
            user,
            start: at(start),
            end: at(end),
            source,
            source_start: at(source_start),
        };
        // Bob's override cuts Alice's shift (from 0 to 100) in two.
        let named = uids(
            &schedule,
            &[
                stretch(alice, 0, 40, Source::Layer(0), 0),
                stretch(bob, 40, 60, Source::Override(cover), 40),
                stretch(alice, 60, 100, Source::Layer(0), 0),
            ],
        );
        let s = schedule.id;
        assert_eq!(
            named,
            [
                format!("{s}-{alice}-0@onduty"),
                format!("{s}-{cover}@onduty"),
                format!("{s}-{alice}-0-2@onduty"),
            ]
        );
    }

    #[test]
    fn the_window_runs_from_midnight_to_midnight() {
        let w = feed_window(Timestamp::parse("2026-06-15T13:45:00Z").unwrap());
        assert_eq!(w.start, Timestamp::parse("2026-05-16T00:00:00Z").unwrap());
        assert_eq!(w.end, Timestamp::parse("2026-12-13T00:00:00Z").unwrap());
    }
}
