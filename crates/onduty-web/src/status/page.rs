//! The public status page as HTML: no script, a strict CSP, readable on a phone and in
//! the dark. Everything shown is escaped by askama.

use askama::Template;
use onduty_core::status_page::{ComponentStatus, DayUptime, overall_uptime};
use onduty_store::status_pages::{Component, StatusIncident};

use crate::markdown::{SafeHtml, to_safe_html};
use crate::ui::time::{exact, zone};
use onduty_statuspage::Snapshot;

struct UpdateLine {
    status: &'static str,
    body: String,
    when: String,
}

struct IncidentBox {
    /// Its anchor on the page (`#incident-<id>`), where feeds and shortlinks point.
    id: String,
    name: String,
    impact: &'static str,
    status: &'static str,
    /// A maintenance's span as words.
    scheduled: Option<String>,
    updates: Vec<UpdateLine>,
    /// A published postmortem shown with it: sanitized HTML, and when it was published.
    postmortem: Option<(SafeHtml, String)>,
}

struct Bar {
    /// Where it sits in the SVG.
    x: usize,
    class: &'static str,
    title: String,
}

struct ComponentLine {
    name: String,
    description: String,
    status: &'static str,
    label: &'static str,
    /// "99.98% uptime"; empty for a group or without data.
    uptime: String,
    bars: Vec<Bar>,
    members: Vec<ComponentLine>,
}

struct PastDay {
    day: String,
    incidents: Vec<IncidentBox>,
}

#[derive(Template)]
#[template(path = "status_page.html")]
struct StatusPageHtml {
    name: String,
    indicator: &'static str,
    description: &'static str,
    active: Vec<IncidentBox>,
    maintenance: Vec<IncidentBox>,
    components: Vec<ComponentLine>,
    past: Vec<PastDay>,
    /// Width of the uptime bars' SVG.
    bars_width: usize,
    updated: String,
    /// The page's own path (`/status/<slug>`), before its feeds and API.
    base: String,
    /// Whether people can subscribe by e-mail (the server sends e-mail).
    subscribe: bool,
}

const BAR_STEP: usize = 5;

fn bar_class(day: &DayUptime) -> &'static str {
    match day.worst {
        None => "none",
        Some(ComponentStatus::Operational) => "operational",
        Some(ComponentStatus::UnderMaintenance) => "under_maintenance",
        Some(ComponentStatus::DegradedPerformance) => "degraded_performance",
        Some(ComponentStatus::PartialOutage) => "partial_outage",
        Some(ComponentStatus::MajorOutage) => "major_outage",
    }
}

fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p >= 99.995 {
        "100%".to_owned()
    } else {
        format!("{p:.2}%")
    }
}

fn incident_box(snapshot: &Snapshot, i: &StatusIncident) -> IncidentBox {
    let tz = zone(&snapshot.page.time_zone);
    IncidentBox {
        id: i.id.to_string(),
        name: i.name.clone(),
        impact: i.impact.as_str(),
        status: i.stage.label(),
        scheduled: i
            .scheduled
            .map(|(from, until)| format!("{} to {}", exact(from, &tz), exact(until, &tz))),
        updates: i
            .updates
            .iter()
            .map(|u| UpdateLine {
                status: u.stage.label(),
                body: u.body.clone(),
                when: exact(u.created_at, &tz),
            })
            .collect(),
        postmortem: snapshot
            .postmortems
            .get(&i.id)
            .map(|p| (to_safe_html(&p.body), exact(p.published_at, &tz))),
    }
}

fn component_line(snapshot: &Snapshot, c: &Component) -> ComponentLine {
    let days = snapshot.uptime.get(&c.id).map(Vec::as_slice).unwrap_or(&[]);
    let bars = days
        .iter()
        .zip(&snapshot.days)
        .enumerate()
        .map(|(n, (day, (_, _, label)))| Bar {
            x: n * BAR_STEP,
            class: bar_class(day),
            title: match day.worst {
                None => format!("{label}: no data"),
                Some(worst) => format!(
                    "{label}: {} up, at worst {}",
                    percent(day.up),
                    worst.label()
                ),
            },
        })
        .collect();
    ComponentLine {
        name: c.name.clone(),
        description: c.description.clone(),
        status: c.status.as_str(),
        label: c.status.label(),
        uptime: overall_uptime(days)
            .map(|u| format!("{} uptime over {} days", percent(u), days.len()))
            .unwrap_or_default(),
        bars,
        members: snapshot
            .components
            .iter()
            .filter(|m| m.group == Some(c.id) && snapshot.shows(m))
            .map(|m| component_line(snapshot, m))
            .collect(),
    }
}

pub(super) fn html(snapshot: &Snapshot, subscribe: bool) -> String {
    let tz = zone(&snapshot.page.time_zone);
    let active = snapshot
        .unresolved()
        .map(|i| incident_box(snapshot, i))
        .collect();
    let maintenance = snapshot
        .active_maintenance()
        .chain(snapshot.upcoming_maintenance())
        .map(|m| incident_box(snapshot, m))
        .collect();
    let components = snapshot
        .components
        .iter()
        .filter(|c| c.group.is_none() && snapshot.shows(c))
        .map(|c| component_line(snapshot, c))
        .collect();
    // The history: resolved incidents by the day they started, newest first.
    let mut past: Vec<PastDay> = Vec::new();
    for (start, end, label) in snapshot.days.iter().rev() {
        let on_day: Vec<IncidentBox> = snapshot
            .incidents
            .iter()
            .chain(snapshot.maintenances.iter())
            .filter(|i| i.stage.is_over() && *start <= i.started_at && i.started_at < *end)
            .map(|i| incident_box(snapshot, i))
            .collect();
        if !on_day.is_empty() {
            past.push(PastDay {
                day: label.clone(),
                incidents: on_day,
            });
        }
    }
    StatusPageHtml {
        name: snapshot.page.name.clone(),
        indicator: snapshot.indicator.as_str(),
        description: snapshot.indicator.description(),
        active,
        maintenance,
        components,
        past,
        bars_width: snapshot.days.len() * BAR_STEP,
        updated: exact(snapshot.now, &tz),
        base: format!("/status/{}", snapshot.page.slug),
        subscribe,
    }
    .render()
    .unwrap_or_else(|e| format!("the status page could not be drawn: {e}"))
}
