//! Moving in: another on-call product's configuration, read through its REST API (every
//! page of every list), written as an onduty configuration document
//! ([`onduty_core::config_doc::ConfigDoc`]) for review and then `onduty apply`, with a
//! [`Report`] of what mapped exactly, approximately (and how) or not at all (and why),
//! the new integration URLs and keys, and whether the rotations keep who is on call.
//!
//! Each product is a module: `pagerduty`, `opsgenie`, `grafana_oncall`. Reading ([`fetch::Api`]) is the only IO; the
//! mapping from the product's answers to a document is pure and unit-tested.

pub mod compare;
pub mod fetch;
pub mod grafana_oncall;
pub mod opsgenie;
pub mod pagerduty;
pub mod report;

pub use fetch::{Api, ImportError};
pub use report::Report;

use onduty_core::config_doc::ConfigDoc;

/// What an importer made: the document and what it says about it.
#[derive(Debug, Clone)]
pub struct Imported {
    pub doc: ConfigDoc,
    pub report: Report,
}

/// The document as onduty's checks see it: each problem left (one the importer could not
/// settle itself) is in the report, to edit before applying.
pub(crate) fn checked(doc: &ConfigDoc, report: &mut Report) {
    let known = onduty_core::config_doc::Known::default();
    for (path, problem) in onduty_core::config_doc::check(doc, &known) {
        report.unmapped(
            format!("the document at {path}"),
            format!("{problem}: edit it before applying"),
        );
    }
}

/// A service with onduty's defaults, paging `policy`.
pub(crate) fn service_doc(
    name: &str,
    description: String,
    team: Option<String>,
    policy: Option<String>,
) -> onduty_core::config_doc::ServiceDoc {
    onduty_core::config_doc::ServiceDoc {
        name: name.to_owned(),
        description,
        team,
        escalation_policy: policy,
        urgency: onduty_core::service::ServiceUrgency::High,
        dedup_mode: onduty_core::incident::DedupMode::default(),
        ack_timeout_minutes: None,
        auto_resolve_minutes: None,
        group_window_minutes: None,
        flap_window_minutes: None,
        draft_postmortems: true,
        integrations: Vec::new(),
        heartbeats: Vec::new(),
        chat_channels: Vec::new(),
    }
}
