//! One spelling for everything a document may spell several ways — e-mail addresses in
//! any case, `europe/berlin`, `9:00`, `Monday`, a phone number with spaces, a time with
//! another offset, a default left out — so that a plan shows only real changes. Values
//! [`check`](super::check) refuses are left as they are.

use jiff::civil::{DateTime, Time};

use super::check::{email_key, name_key};
use super::values::layer_start;
use super::{ConfigDoc, MaintenanceDoc, RestrictionDoc, TargetDoc, integration_settings};
use crate::account::TimeZoneName;
use crate::contact::Address;
use crate::service::IntegrationKind;
use crate::time::Timestamp;

/// The document in onduty's own spelling.
pub fn normalize(doc: &ConfigDoc) -> ConfigDoc {
    let mut doc = doc.clone();
    let zone = |z: &mut String| {
        if let Ok(name) = TimeZoneName::parse(z) {
            *z = name.to_string();
        }
    };
    let trim = |s: &mut String| *s = name_key(s);
    for u in &mut doc.users {
        u.email = email_key(&u.email);
        trim(&mut u.name);
        zone(&mut u.time_zone);
        for c in &mut u.contact_methods {
            trim(&mut c.name);
            if let Some(address) = &mut c.address
                && let Ok(parsed) = Address::parse(c.channel, address)
            {
                *address = parsed.as_str().to_owned();
            }
        }
        for r in &mut u.notification_rules {
            trim(&mut r.contact_method);
        }
        // onduty lists rules by delay (those with the same delay as written).
        u.notification_rules.sort_by_key(|r| r.delay_minutes);
    }
    for t in &mut doc.teams {
        trim(&mut t.name);
        t.members.iter_mut().for_each(|m| *m = email_key(m));
        // A team's members are a set: in one order, whatever the order written.
        t.members.sort();
        t.members.dedup();
    }
    for s in &mut doc.schedules {
        trim(&mut s.name);
        zone(&mut s.time_zone);
        s.team.iter_mut().for_each(trim);
        for l in &mut s.layers {
            trim(&mut l.name);
            l.participants.iter_mut().for_each(|p| *p = email_key(p));
            if let Ok(start) = layer_start(&l.start) {
                l.start = date_time(start);
            }
            for r in &mut l.restrictions {
                match r {
                    RestrictionDoc::Daily { start, end } => {
                        time(start);
                        time(end);
                    }
                    RestrictionDoc::Weekly {
                        start_day,
                        start,
                        end_day,
                        end,
                    } => {
                        *start_day = start_day.trim().to_lowercase();
                        *end_day = end_day.trim().to_lowercase();
                        time(start);
                        time(end);
                    }
                }
            }
        }
        for o in &mut s.overrides {
            o.user = email_key(&o.user);
            instant(&mut o.start);
            instant(&mut o.end);
        }
        // By when they start, as onduty lists them.
        s.overrides
            .sort_by_key(|o| Timestamp::parse(&o.start).map(|t| t.as_millis()).ok());
    }
    for p in &mut doc.escalation_policies {
        trim(&mut p.name);
        p.team.iter_mut().for_each(trim);
        for l in &mut p.levels {
            for t in &mut l.targets {
                match t {
                    TargetDoc::User(u) => *u = email_key(u),
                    TargetDoc::Schedule(s) | TargetDoc::Policy(s) => trim(s),
                }
            }
        }
    }
    for s in &mut doc.services {
        trim(&mut s.name);
        s.team.iter_mut().for_each(trim);
        s.escalation_policy.iter_mut().for_each(trim);
        for i in &mut s.integrations {
            trim(&mut i.name);
            if let Ok(settings) = integration_settings(i) {
                i.group_by = matches!(
                    i.kind,
                    IntegrationKind::Alertmanager | IntegrationKind::Grafana
                )
                .then_some(settings.group_by);
                i.mapping = settings.mapping.and_then(|m| serde_json::to_value(m).ok());
                i.mail = settings
                    .mail
                    .filter(|m| *m != crate::mail::MailRules::default())
                    .and_then(|m| serde_json::to_value(m).ok());
            }
        }
        s.heartbeats
            .sort_by(|a, b| a.name.trim().cmp(b.name.trim()));
        for h in &mut s.heartbeats {
            trim(&mut h.name);
            if h.cron.is_some() {
                let mut z = h.time_zone.clone().unwrap_or_else(|| "UTC".to_owned());
                zone(&mut z);
                h.time_zone = Some(z);
            }
        }
    }
    for page in &mut doc.status_pages {
        trim(&mut page.slug);
        trim(&mut page.name);
        zone(&mut page.time_zone);
        if let Some(host) = &mut page.host
            && let Ok(parsed) = crate::status_page::parse_host(host)
        {
            *host = parsed;
        }
        for c in &mut page.components {
            trim(&mut c.name);
            c.group.iter_mut().for_each(trim);
            c.service.iter_mut().for_each(trim);
        }
    }
    for t in &mut doc.teams {
        chat_channels(&mut t.chat_channels);
    }
    for s in &mut doc.services {
        chat_channels(&mut s.chat_channels);
    }
    for w in &mut doc.maintenance_windows {
        *w = window(w);
    }
    doc
}

/// A maintenance window in onduty's spelling: what its label (how it is matched) is made
/// of.
pub fn window(w: &MaintenanceDoc) -> MaintenanceDoc {
    let mut w = w.clone();
    w.services.iter_mut().for_each(|s| *s = name_key(s));
    // A window's services are a set.
    w.services.sort();
    w.services.dedup();
    instant(&mut w.start);
    instant(&mut w.end);
    w.reason = w.reason.trim().to_owned();
    w
}

/// An instant as onduty writes it (RFC 3339, UTC).
fn instant(t: &mut String) {
    if let Ok(at) = Timestamp::parse(t) {
        *t = at.to_rfc3339();
    }
}

fn chat_channels(list: &mut [super::ChatChannelDoc]) {
    for c in list {
        if let Some(channel) = &mut c.channel
            && let Ok(parsed) = crate::chat::parse_channel(c.platform, channel)
        {
            *channel = parsed;
        }
    }
}

/// A layer's start as onduty writes it: to the minute, or the second when it has one.
pub fn date_time(at: DateTime) -> String {
    if at.second() == 0 && at.subsec_nanosecond() == 0 {
        at.strftime("%Y-%m-%dT%H:%M").to_string()
    } else {
        at.strftime("%Y-%m-%dT%H:%M:%S").to_string()
    }
}

/// A time of day as onduty writes it: 09:00, or 09:00:30.
pub fn time_of_day(at: Time) -> String {
    if at.second() == 0 && at.subsec_nanosecond() == 0 {
        at.strftime("%H:%M").to_string()
    } else {
        at.strftime("%H:%M:%S").to_string()
    }
}

fn time(text: &mut String) {
    if let Ok(at) = text.trim().parse::<Time>() {
        *text = time_of_day(at);
    }
}
