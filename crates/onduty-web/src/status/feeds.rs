//! A page's history as feeds (`history.atom`, `history.rss`: one entry per update, newest
//! first, as Statuspage's feeds have) and its status as a badge (`badge.svg`).

use askama::Template;
use onduty_core::Timestamp;
use onduty_core::status_page::Impact;

use onduty_statuspage::Snapshot;

/// Entries in a feed, at most.
const ENTRIES: usize = 50;

struct Entry {
    incident: String,
    update: String,
    title: String,
    status: &'static str,
    body: String,
    at: String,
    at_rfc2822: String,
}

#[derive(Template)]
#[template(path = "status_history.atom.xml")]
struct Atom<'a> {
    name: &'a str,
    url: &'a str,
    updated: String,
    entries: &'a [Entry],
}

#[derive(Template)]
#[template(path = "status_history.rss.xml")]
struct Rss<'a> {
    name: &'a str,
    url: &'a str,
    updated_rfc2822: String,
    entries: &'a [Entry],
}

#[derive(Template)]
#[template(path = "status_badge.svg")]
struct Badge<'a> {
    name: &'a str,
    description: &'a str,
    colour: &'static str,
    left: usize,
    right: usize,
    width: usize,
}

fn rfc2822(t: Timestamp) -> String {
    jiff::Timestamp::from_millisecond(t.as_millis())
        .ok()
        .and_then(|ts| {
            jiff::fmt::rfc2822::DateTimePrinter::new()
                .timestamp_to_string(&ts)
                .ok()
        })
        .unwrap_or_default()
}

fn entries(snapshot: &Snapshot) -> Vec<Entry> {
    let mut all: Vec<Entry> = snapshot
        .incidents
        .iter()
        .chain(&snapshot.maintenances)
        .flat_map(|i| {
            i.updates.iter().map(move |u| Entry {
                incident: i.id.to_string(),
                update: u.id.to_string(),
                title: i.name.clone(),
                status: u.stage.label(),
                body: u.body.clone(),
                at: u.created_at.to_rfc3339(),
                at_rfc2822: rfc2822(u.created_at),
            })
        })
        .collect();
    // RFC 3339 in UTC with milliseconds sorts as time does.
    all.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.update.cmp(&a.update)));
    all.truncate(ENTRIES);
    all
}

pub(super) fn atom(snapshot: &Snapshot, url: &str) -> String {
    Atom {
        name: &snapshot.page.name,
        url,
        updated: snapshot.page.updated_at.to_rfc3339(),
        entries: &entries(snapshot),
    }
    .render()
    .unwrap_or_default()
}

pub(super) fn rss(snapshot: &Snapshot, url: &str) -> String {
    Rss {
        name: &snapshot.page.name,
        url,
        updated_rfc2822: rfc2822(snapshot.page.updated_at),
        entries: &entries(snapshot),
    }
    .render()
    .unwrap_or_default()
}

pub(super) fn badge(snapshot: &Snapshot) -> String {
    let description = snapshot.indicator.description();
    let colour = match snapshot.indicator {
        Impact::None => "#1a7f37",
        Impact::Minor => "#9a6700",
        Impact::Major => "#bc4c00",
        Impact::Critical => "#cf222e",
        Impact::Maintenance => "#0969da",
    };
    // About 7 pixels a character of 11-pixel Verdana, and room on both sides.
    let (left, right) = (50, description.chars().count() * 7 + 12);
    Badge {
        name: &snapshot.page.name,
        description,
        colour,
        left,
        right,
        width: left + right,
    }
    .render()
    .unwrap_or_default()
}
