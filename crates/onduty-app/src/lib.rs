//! onduty's application layer: one async function per use case, between every door and
//! the store.
//!
//! The REST API, the web pages, Twilio's SMS and call webhooks, e-mail links — and every
//! door to come — are thin adapters: they find out who is acting and through what
//! ([`Acting`]), turn their request into a use case's input, and call it. The use case
//! checks the role and the input once, writes in one transaction (through the store;
//! resetting a password also ends the person's other sessions afterwards), wakes
//! the paging engine when paging may have changed, and returns a result or an
//! [`AppError`], which each door words its own way (JSON, a page, an SMS).
//! No HTTP types here.

mod access;
mod audit;
mod chat;
mod config;
mod incidents;
mod monitoring;
mod people;
mod policies;
mod postmortems;
pub mod reports;
mod runbooks;
mod schedules;
mod sends;
mod services;
mod settings;
mod sso;
mod status_pages;
mod status_templates;
mod subscribers;

use std::net::IpAddr;
use std::sync::Arc;

use onduty_core::account::User;
use onduty_core::incident::Actor;
use onduty_core::lifecycle::{Refused, Via};
use onduty_core::{Clock, Timestamp};
use onduty_notify::Providers;
use onduty_store::{Store, StoreError, Wake};

pub use audit::AuditPage;
pub use chat::ChatChannelInput;
pub use incidents::{ActedOnEach, IncidentCommand, MAX_RESPONDERS, MOST_AT_ONCE, SnoozeFor};
pub use monitoring::{
    EngineStatus, HeartbeatInput, MAX_MAINTENANCE_MINUTES, MaintenanceInput, Until, Vitals,
};
pub use onduty_store::commands::Acted;
pub use people::{
    MethodCreated, MethodInput, RuleInput, SENDS_PER_MINUTE, UserInput, new_token_secret,
    salted_hash,
};
pub use policies::{LevelInput, PolicyInput};
pub use postmortems::{ActionInput, PostmortemInput, TimelineLineInput};
pub use runbooks::{IncidentRunbook, RunbookInput, incident_runbook};
pub use schedules::{
    GAP_HORIZON, LayerInput, MAX_HANDOFF_LEAD_MINUTES, OverrideInput, ScheduleInput,
};
pub use sends::SendUsage;
pub use services::{IntegrationInput, MappingTry, PagingInput, ServiceInput, new_routing_key};
pub use sso::OwnAccount;
pub use status_pages::{ComponentInput, StatusIncidentInput, StatusPageInput, StatusUpdateInput};
pub use status_templates::StatusTemplateInput;
pub use subscribers::NewWebhook;

/// The application: what every door calls. Cheap to clone.
#[derive(Clone)]
pub struct App {
    store: Store,
    clock: Arc<dyn Clock>,
    /// Wakes the paging engine after a change that may have made something due now.
    wake: Wake,
    /// How messages that are not pages reach people: verification codes, tests.
    providers: Providers,
    send_limiter: Arc<people::SendLimiter>,
    /// Hourly limits on codes and tests.
    message_limits: onduty_core::rate_limit::HourlyLimits,
    /// Counts the changes made here to status pages: copies of a page kept to serve it
    /// are stale once it moves.
    status_changes: Arc<std::sync::atomic::AtomicU64>,
}

/// Who acts, and through which door.
#[derive(Debug, Clone)]
pub struct Acting {
    pub user: User,
    pub via: Via,
    /// The client's address, where the door has one (for the audit log).
    pub address: Option<IpAddr>,
    /// The name of the API token they came with.
    pub token: Option<String>,
}

impl Acting {
    pub fn new(user: User, via: Via) -> Acting {
        Acting {
            user,
            via,
            address: None,
            token: None,
        }
    }

    /// The same, coming from `address`.
    pub fn from_address(self, address: Option<IpAddr>) -> Acting {
        Acting { address, ..self }
    }

    /// The same, with the API token named `name`.
    pub fn with_token(self, name: &str) -> Acting {
        Acting {
            token: Some(name.to_owned()),
            ..self
        }
    }

    pub(crate) fn actor(&self) -> Actor {
        Actor::User {
            id: self.user.id,
            name: self.user.name.to_string(),
        }
    }

    /// Acting on incidents (acknowledge, resolve, notes, …) needs a responder or an admin.
    /// A disabled or deleted person acts on nothing, whatever door they come through (a
    /// phone's SMS reply, a link in an old e-mail, a linked chat account).
    pub fn require_responder(&self) -> Result<(), AppError> {
        if !self.user.status.is_active() {
            return Err(AppError::Forbidden(format!(
                "{} is {}: only active people act on incidents",
                self.user.email,
                self.user.status.as_str()
            )));
        }
        if self.user.role.can_respond() {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "{} is an observer: observers can look but not act on incidents",
                self.user.email
            )))
        }
    }

    /// Configuration (services, integrations, people, …) needs an admin.
    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.user.role.can_configure() {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "only admins can do this; {} is a {}",
                self.user.email,
                self.user.role.as_str()
            )))
        }
    }
}

/// Why a use case did nothing. Each door words it its own way (an HTTP status and JSON,
/// a page, an SMS answer).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input is not acceptable; the sentence says why.
    #[error("{0}")]
    Invalid(String),
    /// The person may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// What it names does not exist: "incident #42 not found".
    #[error("{0}")]
    NotFound(String),
    /// It cannot be done in the state things are in (a name already taken).
    #[error("{0}")]
    Conflict(String),
    /// The incident's lifecycle refused the command (already resolved, no such level).
    #[error(transparent)]
    Refused(Refused),
    /// Too many of these just now (codes sent to one phone, say); the sentence says when
    /// to try again.
    #[error("{0}")]
    TooManyRequests(String),
    /// A provider (SMTP, Twilio, a webhook) did not take a message.
    #[error("{0}")]
    ProviderFailed(String),
    /// onduty cannot do it just now (shutting down, too busy); retrying may work.
    #[error("{0}")]
    Unavailable(String),
    /// Something broke; the log says what.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => AppError::NotFound(format!("{what} not found")),
            StoreError::Conflict(m) => AppError::Conflict(m),
            StoreError::Invalid(m) => AppError::Invalid(m),
            StoreError::Refused(r) => AppError::from(r),
            StoreError::WriterStopped => {
                AppError::Unavailable("onduty is shutting down; retry shortly".to_owned())
            }
            StoreError::Contention => {
                AppError::Unavailable("too many concurrent changes; retry".to_owned())
            }
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<Refused> for AppError {
    fn from(r: Refused) -> Self {
        match r {
            Refused::Unknown(what) => AppError::NotFound(format!("no such {what}")),
            other => AppError::Refused(other),
        }
    }
}

impl App {
    pub fn new(store: Store, clock: Arc<dyn Clock>, wake: Wake, providers: Providers) -> App {
        App {
            store,
            clock,
            wake,
            providers,
            send_limiter: Arc::default(),
            message_limits: Default::default(),
            status_changes: Arc::default(),
        }
    }

    /// How many changes this process made to status pages so far.
    pub fn status_changes(&self) -> u64 {
        self.status_changes
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// A status page changed: copies kept to serve it are stale.
    fn status_changed(&self) {
        self.status_changes
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        // Subscribers may have news to be sent.
        self.wake_engine();
    }

    /// The same, with these hourly limits on codes and tests.
    pub fn with_message_limits(self, limits: onduty_core::rate_limit::HourlyLimits) -> App {
        App {
            message_limits: limits,
            ..self
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Paging may have changed: the engine looks now rather than at its next deadline.
    fn wake_engine(&self) {
        self.wake.notify_one();
    }
}
