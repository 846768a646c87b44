//! What an import says about itself: what mapped exactly, approximately (and how), not
//! at all (and why); each integration's new URL and key; and the on-call comparison.
//! Nothing is left out of it silently.

use std::fmt;

use onduty_core::Timestamp;
use onduty_core::config_doc::IntegrationDoc;
use onduty_core::service::IntegrationKind;

#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The product read (`PagerDuty`).
    pub product: &'static str,
    /// What became onduty configuration as it was, by kind and name.
    pub exact: Vec<String>,
    /// What became onduty configuration close to what it was, and how.
    pub approximate: Vec<Note>,
    /// What could not become onduty configuration, and why.
    pub unmapped: Vec<Note>,
    /// Each integration, with what to paste into the tool that sends to it.
    pub integrations: Vec<Repaste>,
    /// Per schedule, the product's own on-call answers against onduty's.
    pub on_call: Vec<Comparison>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub what: String,
    pub how: String,
}

/// An integration whose tool must be told its new address: the old product's key means
/// nothing to onduty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repaste {
    pub service: String,
    pub integration: String,
    pub kind: IntegrationKind,
    /// Its new key (in the document, so that applying it keeps it).
    pub key: String,
}

impl Repaste {
    /// Where the tool sends now, with onduty at `base` (`https://onduty.example.com`).
    pub fn send_to(&self, base: &str) -> String {
        let (base, key) = (base.trim_end_matches('/'), &self.key);
        match self.kind {
            IntegrationKind::EventsV2 => {
                format!("POST {base}/v2/enqueue with routing_key {key}")
            }
            IntegrationKind::Alertmanager => format!("{base}/integrations/{key}/alertmanager"),
            IntegrationKind::Grafana => format!("{base}/integrations/{key}/grafana"),
            IntegrationKind::Webhook => format!("{base}/integrations/{key}/webhook"),
            IntegrationKind::Opsgenie => {
                format!("POST {base}/v2/alerts with Authorization: GenieKey {key}")
            }
            IntegrationKind::Email => format!("mail to {key}@<onduty's mail domain>"),
            IntegrationKind::Heartbeat => format!("{base}/ping/{key}"),
        }
    }
}

/// One schedule's on-call answers compared at `instants` moments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub schedule: String,
    pub instants: usize,
    /// Spans where the answers differ.
    pub differences: Vec<Difference>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub from: Timestamp,
    pub until: Timestamp,
    /// Who the product says is on call (e-mail addresses).
    pub source: Vec<String>,
    /// Who onduty says.
    pub onduty: Vec<String>,
}

impl Report {
    pub(crate) fn exact(&mut self, what: impl Into<String>) {
        self.exact.push(what.into());
    }

    pub(crate) fn approximate(&mut self, what: impl Into<String>, how: impl Into<String>) {
        self.approximate.push(Note {
            what: what.into(),
            how: how.into(),
        });
    }

    pub(crate) fn unmapped(&mut self, what: impl Into<String>, why: impl Into<String>) {
        self.unmapped.push(Note {
            what: what.into(),
            how: why.into(),
        });
    }

    /// An integration of `service` with its new onduty `key`, listed for repasting.
    pub(crate) fn integration(
        &mut self,
        service: &str,
        name: &str,
        kind: IntegrationKind,
        key: String,
    ) -> IntegrationDoc {
        self.integrations.push(Repaste {
            service: service.to_owned(),
            integration: name.to_owned(),
            kind,
            key: key.clone(),
        });
        IntegrationDoc {
            name: name.to_owned(),
            kind,
            group_by: None,
            mapping: None,
            mail: None,
            key: Some(key),
        }
    }

    /// The report as text, with integration addresses for onduty at `base`.
    pub fn text(&self, base: &str) -> String {
        Shown { report: self, base }.to_string()
    }
}

struct Shown<'a> {
    report: &'a Report,
    base: &'a str,
}

fn who(list: &[String]) -> String {
    if list.is_empty() {
        "nobody".to_owned()
    } else {
        list.join(", ")
    }
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.report;
        writeln!(f, "Imported from {}:", r.product)?;
        writeln!(f, "\nMapped exactly ({}):", r.exact.len())?;
        for what in &r.exact {
            writeln!(f, "  = {what}")?;
        }
        writeln!(f, "\nMapped approximately ({}):", r.approximate.len())?;
        for n in &r.approximate {
            writeln!(f, "  ~ {}: {}", n.what, n.how)?;
        }
        writeln!(f, "\nNot mapped ({}):", r.unmapped.len())?;
        for n in &r.unmapped {
            writeln!(f, "  ! {}: {}", n.what, n.how)?;
        }
        writeln!(
            f,
            "\nIntegrations: once applied, point each tool at onduty ({}):",
            r.integrations.len()
        )?;
        for i in &r.integrations {
            writeln!(
                f,
                "  > {} / {}: {}",
                i.service,
                i.integration,
                i.send_to(self.base)
            )?;
        }
        writeln!(
            f,
            "\nWho is on call, {}'s answer against onduty's:",
            r.product
        )?;
        for c in &r.on_call {
            if c.differences.is_empty() {
                writeln!(
                    f,
                    "  = {}: the same at all {} moments compared",
                    c.schedule, c.instants
                )?;
                continue;
            }
            writeln!(
                f,
                "  ! {}: {} span(s) differ of {} moments compared:",
                c.schedule,
                c.differences.len(),
                c.instants
            )?;
            for d in &c.differences {
                writeln!(
                    f,
                    "      {} to {}: {} says {}, onduty {}",
                    d.from,
                    d.until,
                    r.product,
                    who(&d.source),
                    who(&d.onduty)
                )?;
            }
        }
        Ok(())
    }
}
