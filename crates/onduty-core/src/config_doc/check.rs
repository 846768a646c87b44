//! What a document must be before anything is planned from it: values onduty takes, no
//! name twice in a list, and every reference naming something in the document or
//! already on the server (`Known`). Each problem is a field path and a message.

use std::collections::HashSet;

use super::values::{
    heartbeat_expect, integration_settings, layer_start, restriction, rfc3339, shift,
};
use super::{ConfigDoc, TargetDoc, VERSION, address_problem, email_problem, name_problem};
use crate::contact::{MAX_RULE_DELAY_MINUTES, RepeatEvery};
use crate::escalation::{Level, MAX_LEVELS, MAX_TARGETS, Steps, Target};
use crate::schedule::{MAX_LAYERS, MAX_PARTICIPANTS, MAX_RESTRICTIONS, Window};
use crate::service::parse_description;
use crate::status_page::{REMIND_EVERY_MINUTES, Slug, Title, parse_host};
use crate::time::Timestamp;
use crate::{PolicyId, UserId};

/// What exists outside the document and may be referred to: the server's people (by
/// [`email_key`]), teams, schedules and policies (by [`name_key`]). Empty when
/// what the document does not name is to be deleted (`--prune`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    pub users: HashSet<String>,
    pub teams: HashSet<String>,
    pub schedules: HashSet<String>,
    pub policies: HashSet<String>,
    pub services: HashSet<String>,
}

impl Known {
    /// What a document names, for another document to refer to.
    pub fn of(doc: &ConfigDoc) -> Known {
        Known {
            users: doc.users.iter().map(|u| email_key(&u.email)).collect(),
            teams: doc.teams.iter().map(|t| name_key(&t.name)).collect(),
            schedules: doc.schedules.iter().map(|s| name_key(&s.name)).collect(),
            policies: doc
                .escalation_policies
                .iter()
                .map(|p| name_key(&p.name))
                .collect(),
            services: doc.services.iter().map(|s| name_key(&s.name)).collect(),
        }
    }
}

/// How a person is matched: by e-mail, whatever its case (onduty keeps addresses in
/// lower case).
pub(crate) fn email_key(text: &str) -> String {
    text.trim().to_lowercase()
}

/// How everything else is matched: by name exactly as onduty looks names up, surrounding
/// spaces aside.
pub(crate) fn name_key(text: &str) -> String {
    text.trim().to_owned()
}

/// Names used twice in one list (exactly, as onduty looks names up; e-mail addresses in
/// any case), by the path of the second.
fn duplicates<'a>(
    list: &str,
    names: impl Iterator<Item = &'a str>,
    field: &str,
) -> Vec<(String, String)> {
    let mut seen = HashSet::new();
    let email = field == "email";
    names
        .enumerate()
        .filter(|(_, n)| !seen.insert(if email { email_key(n) } else { name_key(n) }))
        .map(|(i, n)| {
            (
                format!("{list}[{i}].{field}"),
                format!("'{n}' is named twice"),
            )
        })
        .collect()
}

type Problems = Vec<(String, String)>;

/// Every problem in `doc`, by field path.
pub fn check(doc: &ConfigDoc, known: &Known) -> Problems {
    let mut found = Vec::new();
    if doc.version != VERSION {
        found.push((
            "version".to_owned(),
            format!("this onduty reads version {VERSION}"),
        ));
    }
    let names = Names::new(doc, known);
    users(doc, &mut found);
    teams(doc, &names, &mut found);
    schedules(doc, &names, &mut found);
    policies(doc, &names, &mut found);
    services(doc, &names, &mut found);
    status_pages(doc, &names, &mut found);
    maintenance_windows(doc, &names, &mut found);
    found
}

/// A service's or team's chat channels: each platform's own channel ids; a webhook's URL
/// (Teams, Discord) may be left out to keep the one onduty has.
fn chat_channels(list: &[super::ChatChannelDoc], owner: &str, found: &mut Problems) {
    for (j, c) in list.iter().enumerate() {
        let twice = c.channel.is_some() && list[..j].iter().any(|e| e == c);
        if twice {
            found.push((
                format!("{owner}.chat_channels[{j}].channel"),
                "this channel is listed twice".to_owned(),
            ));
        }
    }
    for (j, c) in list.iter().enumerate() {
        let at = format!("{owner}.chat_channels[{j}].channel");
        match &c.channel {
            Some(text) => {
                if let Err(p) = crate::chat::parse_channel(c.platform, text) {
                    found.push((at, p));
                }
            }
            None if c.platform.by_webhook() => {}
            None => found.push((at, "the channel's id is needed".to_owned())),
        }
    }
}

/// Maintenance windows: their services and times.
fn maintenance_windows(doc: &ConfigDoc, names: &Names, found: &mut Problems) {
    let labels: Vec<String> = doc
        .maintenance_windows
        .iter()
        .map(|w| super::window(w).label())
        .collect();
    found.extend(duplicates(
        "maintenance_windows",
        labels.iter().map(String::as_str),
        "start",
    ));
    for (i, w) in doc.maintenance_windows.iter().enumerate() {
        let at = format!("maintenance_windows[{i}]");
        if w.services.is_empty() {
            found.push((
                format!("{at}.services"),
                "name at least one service".to_owned(),
            ));
        }
        for (j, s) in w.services.iter().enumerate() {
            names.refer(found, format!("{at}.services[{j}]"), "service", s);
        }
        match (Timestamp::parse(&w.start), Timestamp::parse(&w.end)) {
            (Ok(start), Ok(end))
                if start < end
                    && end.as_millis() - start.as_millis()
                        <= i64::from(crate::service::MAX_MAINTENANCE_MINUTES) * 60_000 => {}
            (Ok(_), Ok(_)) => found.push((
                format!("{at}.end"),
                format!(
                    "must come after start, within {} days",
                    crate::service::MAX_MAINTENANCE_MINUTES / 1440
                ),
            )),
            (Err(_), _) => found.push((format!("{at}.start"), rfc3339(&w.start))),
            (_, Err(_)) => found.push((format!("{at}.end"), rfc3339(&w.end))),
        }
        if w.reason.trim().is_empty() || w.reason.chars().count() > 500 {
            found.push((format!("{at}.reason"), "1 to 500 characters".to_owned()));
        }
    }
}

/// What references may name: the document's own and what the server has.
struct Names {
    users: HashSet<String>,
    teams: HashSet<String>,
    schedules: HashSet<String>,
    policies: HashSet<String>,
    services: HashSet<String>,
}

impl Names {
    fn new(doc: &ConfigDoc, known: &Known) -> Names {
        let mine = Known::of(doc);
        let both = |a: &HashSet<String>, b: &HashSet<String>| a.union(b).cloned().collect();
        Names {
            users: both(&mine.users, &known.users),
            teams: both(&mine.teams, &known.teams),
            schedules: both(&mine.schedules, &known.schedules),
            policies: both(&mine.policies, &known.policies),
            services: both(&mine.services, &known.services),
        }
    }

    /// A problem at `path` unless `name` names a `kind` that exists.
    fn refer(&self, found: &mut Problems, path: String, kind: &str, name: &str) {
        let (set, key) = match kind {
            "person" => (&self.users, email_key(name)),
            "team" => (&self.teams, name_key(name)),
            "schedule" => (&self.schedules, name_key(name)),
            "escalation policy" => (&self.policies, name_key(name)),
            _ => (&self.services, name_key(name)),
        };
        if !set.contains(&key) {
            found.push((path, format!("no {kind} '{name}'")));
        }
    }
}

/// People, their contact methods and rules.
fn users(doc: &ConfigDoc, found: &mut Problems) {
    for (i, u) in doc.users.iter().enumerate() {
        let at = format!("users[{i}]");
        if let Some(p) = email_problem(&u.email) {
            found.push((format!("{at}.email"), p));
        }
        if let Some(p) = name_problem(&u.name) {
            found.push((format!("{at}.name"), p));
        }
        if crate::account::time_zone(&u.time_zone).is_none() {
            found.push((
                format!("{at}.time_zone"),
                format!("'{}' is not a time zone", u.time_zone),
            ));
        }
        found.extend(duplicates(
            &format!("{at}.contact_methods"),
            u.contact_methods.iter().map(|c| c.name.as_str()),
            "name",
        ));
        for (j, c) in u.contact_methods.iter().enumerate() {
            let at = format!("{at}.contact_methods[{j}]");
            if let Some(p) = name_problem(&c.name) {
                found.push((format!("{at}.name"), p));
            }
            if let Some(p) = c
                .address
                .as_deref()
                .and_then(|a| address_problem(c.channel, a))
            {
                found.push((format!("{at}.address"), p));
            }
        }
        for (j, r) in u.notification_rules.iter().enumerate() {
            let at = format!("{at}.notification_rules[{j}]");
            let method = u
                .contact_methods
                .iter()
                .find(|c| c.name == r.contact_method);
            if method.is_none() {
                found.push((
                    format!("{at}.contact_method"),
                    format!("no contact method '{}' of this person", r.contact_method),
                ));
            }
            if r.delay_minutes > MAX_RULE_DELAY_MINUTES {
                found.push((
                    format!("{at}.delay_minutes"),
                    format!("0 to {MAX_RULE_DELAY_MINUTES} minutes"),
                ));
            }
            if let Some(seconds) = r.repeat_every_seconds {
                if let Err(p) = RepeatEvery::parse(seconds) {
                    found.push((format!("{at}.repeat_every_seconds"), p));
                } else if method.is_some_and(|m| !m.channel.repeats()) {
                    found.push((
                        format!("{at}.repeat_every_seconds"),
                        "only ntfy pages repeat".to_owned(),
                    ));
                }
            }
        }
    }
    found.extend(duplicates(
        "users",
        doc.users.iter().map(|u| u.email.as_str()),
        "email",
    ));
}

/// Teams and their members.
fn teams(doc: &ConfigDoc, names: &Names, found: &mut Problems) {
    for (i, t) in doc.teams.iter().enumerate() {
        if let Some(p) = name_problem(&t.name) {
            found.push((format!("teams[{i}].name"), p));
        }
        for (j, m) in t.members.iter().enumerate() {
            names.refer(found, format!("teams[{i}].members[{j}]"), "person", m);
        }
        chat_channels(&t.chat_channels, &format!("teams[{i}]"), found);
    }
    found.extend(duplicates(
        "teams",
        doc.teams.iter().map(|t| t.name.as_str()),
        "name",
    ));
}

/// Schedules: layers, restrictions, overrides.
fn schedules(doc: &ConfigDoc, names: &Names, found: &mut Problems) {
    for (i, s) in doc.schedules.iter().enumerate() {
        let at = format!("schedules[{i}]");
        if let Some(p) = name_problem(&s.name) {
            found.push((format!("{at}.name"), p));
        }
        if let Err(p) = parse_description(&s.description) {
            found.push((format!("{at}.description"), p));
        }
        if crate::account::time_zone(&s.time_zone).is_none() {
            found.push((
                format!("{at}.time_zone"),
                format!("'{}' is not a time zone", s.time_zone),
            ));
        }
        if let Some(team) = &s.team {
            names.refer(found, format!("{at}.team"), "team", team);
        }
        if s.layers.is_empty() || s.layers.len() > MAX_LAYERS {
            found.push((
                format!("{at}.layers"),
                format!("a schedule has 1 to {MAX_LAYERS} layers"),
            ));
        }
        for (j, l) in s.layers.iter().enumerate() {
            let at = format!("{at}.layers[{j}]");
            if l.name.trim().is_empty() || l.name.chars().count() > 100 {
                found.push((
                    format!("{at}.name"),
                    "a layer's name is 1 to 100 characters".to_owned(),
                ));
            }
            if l.participants.is_empty() || l.participants.len() > MAX_PARTICIPANTS {
                found.push((
                    format!("{at}.participants"),
                    format!("a layer has 1 to {MAX_PARTICIPANTS} participants"),
                ));
            }
            for (k, p) in l.participants.iter().enumerate() {
                names.refer(found, format!("{at}.participants[{k}]"), "person", p);
            }
            if let Err(p) = layer_start(&l.start) {
                found.push((format!("{at}.start"), p));
            }
            if let Err(p) = shift(l.shift) {
                found.push((format!("{at}.shift.count"), p));
            }
            if l.restrictions.len() > MAX_RESTRICTIONS {
                found.push((
                    format!("{at}.restrictions"),
                    format!("at most {MAX_RESTRICTIONS} restrictions"),
                ));
            }
            for (k, r) in l.restrictions.iter().enumerate() {
                if let Err(p) = restriction(r) {
                    found.push((format!("{at}.restrictions[{k}]"), p));
                }
            }
        }
        for (j, o) in s.overrides.iter().enumerate() {
            let at = format!("{at}.overrides[{j}]");
            names.refer(found, format!("{at}.user"), "person", &o.user);
            match (Timestamp::parse(&o.start), Timestamp::parse(&o.end)) {
                (Ok(start), Ok(end)) if Window::new(start, end).is_ok() => {}
                (Ok(_), Ok(_)) => found.push((
                    format!("{at}.end"),
                    "must come after start, within 400 days".to_owned(),
                )),
                (Err(_), _) => found.push((format!("{at}.start"), rfc3339(&o.start))),
                (_, Err(_)) => found.push((format!("{at}.end"), rfc3339(&o.end))),
            }
        }
    }
    found.extend(duplicates(
        "schedules",
        doc.schedules.iter().map(|s| s.name.as_str()),
        "name",
    ));
}

/// Escalation policies: levels and their targets.
fn policies(doc: &ConfigDoc, names: &Names, found: &mut Problems) {
    for (i, p) in doc.escalation_policies.iter().enumerate() {
        let at = format!("escalation_policies[{i}]");
        if let Some(problem) = name_problem(&p.name) {
            found.push((format!("{at}.name"), problem));
        }
        if let Some(team) = &p.team {
            names.refer(found, format!("{at}.team"), "team", team);
        }
        if let Err(problem) = parse_description(&p.description) {
            found.push((format!("{at}.description"), problem));
        }
        if p.levels.is_empty() || p.levels.len() > MAX_LEVELS {
            found.push((
                format!("{at}.levels"),
                format!("a policy has 1 to {MAX_LEVELS} levels"),
            ));
        } else {
            // The levels' delays, modes and repeat count as onduty takes them (targets are
            // checked one by one below).
            let levels = p
                .levels
                .iter()
                .map(|l| Level {
                    targets: vec![Target::User(UserId::new(Timestamp::from_millis(0)))],
                    delay_minutes: l.delay_minutes,
                    mode: l.mode,
                })
                .collect();
            let own = PolicyId::new(Timestamp::from_millis(1));
            if let Err(e) = Steps::parse(own, levels, p.repeat) {
                found.push((at.clone(), e.to_string()));
            }
        }
        for (j, level) in p.levels.iter().enumerate() {
            if level.targets.is_empty() || level.targets.len() > MAX_TARGETS {
                found.push((
                    format!("{at}.levels[{j}].targets"),
                    format!("a level has 1 to {MAX_TARGETS} targets"),
                ));
            }
            let key = |t: &TargetDoc| match t {
                TargetDoc::User(u) => ("user", email_key(u)),
                TargetDoc::Schedule(s) => ("schedule", name_key(s)),
                TargetDoc::Policy(p) => ("policy", name_key(p)),
            };
            for (k, t) in level.targets.iter().enumerate() {
                let path = format!("{at}.levels[{j}].targets[{k}]");
                if level.targets[..k].iter().any(|e| key(e) == key(t)) {
                    found.push((path.clone(), "the level names this target twice".to_owned()));
                }
                match t {
                    TargetDoc::User(u) => names.refer(found, path, "person", u),
                    TargetDoc::Schedule(s) => names.refer(found, path, "schedule", s),
                    TargetDoc::Policy(name) if name_key(name) == name_key(&p.name) => found.push((
                        path,
                        "a policy cannot hand incidents over to itself".to_owned(),
                    )),
                    TargetDoc::Policy(name) => names.refer(found, path, "escalation policy", name),
                }
            }
        }
    }
    found.extend(duplicates(
        "escalation_policies",
        doc.escalation_policies.iter().map(|p| p.name.as_str()),
        "name",
    ));
}

/// Services, their integrations and heartbeats.
fn services(doc: &ConfigDoc, names: &Names, found: &mut Problems) {
    for (i, s) in doc.services.iter().enumerate() {
        let at = format!("services[{i}]");
        if let Some(p) = name_problem(&s.name) {
            found.push((format!("{at}.name"), p));
        }
        if let Err(p) = parse_description(&s.description) {
            found.push((format!("{at}.description"), p));
        }
        if let Some(team) = &s.team {
            names.refer(found, format!("{at}.team"), "team", team);
        }
        if let Some(policy) = &s.escalation_policy {
            names.refer(
                found,
                format!("{at}.escalation_policy"),
                "escalation policy",
                policy,
            );
        }
        for (field, value) in [
            ("ack_timeout_minutes", s.ack_timeout_minutes),
            ("auto_resolve_minutes", s.auto_resolve_minutes),
        ] {
            if let Some(Err(p)) = value.map(|m| crate::service::parse_timeout(field, m)) {
                found.push((format!("{at}.{field}"), p));
            }
        }
        for (field, value) in [
            ("group_window_minutes", s.group_window_minutes),
            ("flap_window_minutes", s.flap_window_minutes),
        ] {
            if let Some(Err(p)) = value.map(|m| crate::noise::parse_window(field, m)) {
                found.push((format!("{at}.{field}"), p));
            }
        }
        found.extend(duplicates(
            &format!("{at}.integrations"),
            s.integrations.iter().map(|i| i.name.as_str()),
            "name",
        ));
        for (j, integration) in s.integrations.iter().enumerate() {
            if let Some(p) = name_problem(&integration.name) {
                found.push((format!("{at}.integrations[{j}].name"), p));
            }
            if let Err(p) = integration_settings(integration) {
                found.push((format!("{at}.integrations[{j}]"), p));
            }
            if let Some(key) = &integration.key
                && crate::RoutingKey::parse(key).is_err()
            {
                found.push((
                    format!("{at}.integrations[{j}].key"),
                    "an integration key is 32 letters and digits".to_owned(),
                ));
            }
        }
        // Its heartbeats.
        {
            let at = format!("services[{i}].heartbeats");
            found.extend(duplicates(
                &at,
                s.heartbeats.iter().map(|h| h.name.as_str()),
                "name",
            ));
            for (j, h) in s.heartbeats.iter().enumerate() {
                if let Err(p) = heartbeat_expect(h) {
                    // The field it is about, when the sentence names just one.
                    let named: Vec<&str> = ["period_minutes", "grace_minutes", "cron", "time_zone"]
                        .into_iter()
                        .filter(|f| p.contains(&format!("'{f}'")))
                        .collect();
                    let field = match named[..] {
                        [one] => format!(".{one}"),
                        _ => String::new(),
                    };
                    found.push((format!("{at}[{j}]{field}"), p));
                }
                if let Some(key) = &h.key
                    && crate::RoutingKey::parse(key).is_err()
                {
                    found.push((
                        format!("{at}[{j}].key"),
                        "a ping key is 32 letters and digits".to_owned(),
                    ));
                }
            }
        }
        chat_channels(&s.chat_channels, &at, found);
    }
    found.extend(duplicates(
        "services",
        doc.services.iter().map(|s| s.name.as_str()),
        "name",
    ));
}

/// Status pages and their components.
fn status_pages(doc: &ConfigDoc, names: &Names, found: &mut Problems) {
    for (i, page) in doc.status_pages.iter().enumerate() {
        let at = format!("status_pages[{i}]");
        if let Err(e) = Slug::parse(&page.slug) {
            found.push((format!("{at}.slug"), e.to_string()));
        }
        if let Err(e) = Title::parse("name", &page.name) {
            found.push((format!("{at}.name"), e.to_string()));
        }
        if let Some(Err(p)) = page.host.as_deref().map(parse_host) {
            found.push((format!("{at}.host"), p));
        }
        if crate::account::time_zone(&page.time_zone).is_none() {
            found.push((
                format!("{at}.time_zone"),
                format!("'{}' is not a time zone", page.time_zone),
            ));
        }
        if !REMIND_EVERY_MINUTES.contains(&page.remind_every_minutes) {
            found.push((
                format!("{at}.remind_every_minutes"),
                format!(
                    "{} to {} minutes",
                    REMIND_EVERY_MINUTES.start(),
                    REMIND_EVERY_MINUTES.end()
                ),
            ));
        }
        found.extend(duplicates(
            &format!("{at}.components"),
            page.components.iter().map(|c| c.name.as_str()),
            "name",
        ));
        for (j, c) in page.components.iter().enumerate() {
            let at = format!("{at}.components[{j}]");
            if let Err(e) = Title::parse("name", &c.name) {
                found.push((format!("{at}.name"), e.to_string()));
            }
            if let Some(group) = &c.group {
                let is_group = page
                    .components
                    .iter()
                    .any(|g| g.is_group && name_key(&g.name) == name_key(group));
                if c.is_group || !is_group {
                    found.push((
                        format!("{at}.group"),
                        format!("no group '{group}' on this page to show it in"),
                    ));
                }
            }
            if let Some(service) = &c.service {
                names.refer(found, format!("{at}.service"), "service", service);
            }
        }
    }
    found.extend(duplicates(
        "status_pages",
        doc.status_pages.iter().map(|p| p.slug.as_str()),
        "slug",
    ));
}
