//! The JSON shapes of the REST API, documented in the OpenAPI document.

use onduty_core::Timestamp;
use onduty_core::account::{Team, User};
use onduty_core::escalation::{LevelMode, Policy, Target};
use onduty_core::event::{Image, Link};
use onduty_core::incident::{Actor, Incident, TimelineEntry};
use onduty_core::service::{ChangeRecord, Integration, IntegrationKind, Service};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub name: String,
    /// `admin`, `responder` or `observer`.
    pub role: String,
    /// IANA time zone, e.g. `Europe/London`.
    pub time_zone: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// `active`, `disabled` (cannot log in or use tokens, not paged) or `deleted`.
    pub status: String,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            id: u.id.to_string(),
            email: u.email.to_string(),
            name: u.name.to_string(),
            role: u.role.as_str().to_owned(),
            time_zone: u.time_zone.to_string(),
            created_at: u.created_at,
            status: u.status.as_str().to_owned(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamView {
    pub id: String,
    pub name: String,
    /// Ids of the members.
    pub members: Vec<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl From<&Team> for TeamView {
    fn from(t: &Team) -> Self {
        TeamView {
            id: t.id.to_string(),
            name: t.name.to_string(),
            members: t.members.iter().map(|m| m.to_string()).collect(),
            created_at: t.created_at,
        }
    }
}

/// Who a level pages.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TargetView {
    /// `user`, `schedule`, or `policy` (hand the incident over to that escalation policy).
    #[serde(rename = "type")]
    #[schema(format = "target-type")]
    pub kind: String,
    /// In requests a user may also be named by e-mail, a policy by name.
    pub id: String,
}

impl From<&Target> for TargetView {
    fn from(t: &Target) -> Self {
        let (kind, id) = match t {
            Target::User(id) => ("user", id.to_string()),
            Target::Schedule(id) => ("schedule", id.to_string()),
            Target::Policy(id) => ("policy", id.to_string()),
        };
        TargetView {
            kind: kind.to_owned(),
            id,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LevelView {
    /// 1 to 50, each named once.
    #[schema(min_items = 1, max_items = 50)]
    pub targets: Vec<TargetView>,
    /// Minutes without acknowledgement before the next level (1 to 1440).
    #[schema(minimum = 1, maximum = 1440)]
    pub delay_minutes: u32,
    /// `all` (default) or `round_robin` (one target in turn, across incidents).
    #[serde(default)]
    #[schema(format = "level-mode")]
    pub mode: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub team_id: Option<String>,
    pub levels: Vec<LevelView>,
    /// How many more times the policy runs after its first pass (0 to 9).
    pub repeat: u32,
}

impl From<&Policy> for PolicyView {
    fn from(p: &Policy) -> Self {
        PolicyView {
            id: p.id.to_string(),
            name: p.name.to_string(),
            description: p.description.clone(),
            team_id: p.team_id.map(|t| t.to_string()),
            levels: p
                .steps
                .levels()
                .iter()
                .map(|l| LevelView {
                    targets: l.targets.iter().map(TargetView::from).collect(),
                    delay_minutes: l.delay_minutes,
                    mode: Some(
                        match l.mode {
                            LevelMode::All => "all",
                            LevelMode::RoundRobin => "round_robin",
                        }
                        .to_owned(),
                    ),
                })
                .collect(),
            repeat: p.steps.repeat(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceView {
    pub id: String,
    pub name: String,
    pub description: String,
    /// `open` (an acknowledged incident still absorbs repeats) or `triggered` (a repeat
    /// after acknowledgement opens a new incident).
    pub dedup_mode: String,
    pub team_id: Option<String>,
    /// The escalation policy that pages for this service; none pages nobody.
    pub escalation_policy_id: Option<String>,
    /// `high`, `low`, or `severity` (critical and error events are high urgency).
    pub urgency: String,
    /// An acknowledged incident unresolved this long (minutes) is triggered again.
    pub ack_timeout_minutes: Option<u32>,
    /// An incident without a new event this long (minutes) is resolved.
    pub auto_resolve_minutes: Option<u32>,
    /// Triggers with other keys arriving this soon (minutes) after an incident opens join it.
    pub group_window_minutes: Option<u32>,
    /// A trigger this soon (minutes) after its key's incident resolved re-opens it.
    pub flap_window_minutes: Option<u32>,
    /// A high-urgency incident resolving drafts a postmortem.
    pub draft_postmortems: bool,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<&Service> for ServiceView {
    fn from(s: &Service) -> Self {
        ServiceView {
            id: s.id.to_string(),
            name: s.name.to_string(),
            description: s.description.clone(),
            dedup_mode: s.dedup_mode.as_str().to_owned(),
            team_id: s.settings.team_id.map(|t| t.to_string()),
            escalation_policy_id: s.settings.policy_id.map(|p| p.to_string()),
            urgency: s.settings.urgency.as_str().to_owned(),
            ack_timeout_minutes: s.settings.ack_timeout_minutes,
            auto_resolve_minutes: s.settings.auto_resolve_minutes,
            group_window_minutes: s.settings.group_window_minutes,
            flap_window_minutes: s.settings.flap_window_minutes,
            draft_postmortems: s.draft_postmortems,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct IntegrationView {
    pub id: String,
    pub service_id: String,
    pub name: String,
    /// `events_v2` (PagerDuty Events API v2), `alertmanager` or `grafana`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Alertmanager and Grafana: `alert` (one incident per alert) or `group` (one per
    /// notification group).
    pub group_by: String,
    /// The 32-character integration key to put in events' `routing_key`. Anyone holding it
    /// can open, acknowledge and resolve incidents, so observers see only its first
    /// characters.
    pub routing_key: String,
    /// Where to send alert events.
    pub events_url: String,
    /// Where to send change events.
    pub change_events_url: String,
    /// Alertmanager and Grafana integrations: the webhook URL (it holds the key).
    pub webhook_url: Option<String>,
    /// A command that sends a test trigger to this integration.
    pub curl_example: String,
    /// A receiver to paste into Alertmanager's configuration: `webhook_configs` for an
    /// Alertmanager integration, `pagerduty_configs` pointed at onduty for Events API v2.
    pub alertmanager_config: Option<String>,
    /// What to fill in on a Grafana contact point: of type Webhook for a Grafana
    /// integration, of type PagerDuty for Events API v2.
    pub grafana_settings: Option<String>,
    /// Opsgenie API integrations: where a tool or script written for Opsgenie sends, and
    /// with what key.
    pub opsgenie_settings: Option<String>,
    /// JSON webhooks: where an event's parts are read from (JSON Pointers).
    #[schema(value_type = Option<Object>)]
    pub mapping: Option<onduty_core::webhook::Mapping>,
    /// E-mail integrations (and heartbeats): the address to send to, when onduty takes
    /// mail (`mail.domain`).
    pub email_address: Option<String>,
    /// E-mail integrations: how mails are read.
    #[schema(value_type = Option<Object>)]
    pub mail_rules: Option<onduty_core::mail::MailRules>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl IntegrationView {
    /// The view of an integration; `reveal_key` is false for people who may not send
    /// events (observers), who see the key's first characters only.
    pub fn new(i: &Integration, public_url: &str, reveal_key: bool) -> Self {
        let base = public_url.trim_end_matches('/');
        let events_url = format!("{base}/v2/enqueue");
        let routing_key = if reveal_key {
            i.routing_key.to_string()
        } else {
            format!("{}…", &i.routing_key.as_str()[..4])
        };
        let key = shown_key(reveal_key, &routing_key);
        let webhook_url = match i.kind {
            IntegrationKind::EventsV2 => None,
            IntegrationKind::Alertmanager => {
                Some(format!("{base}/integrations/{key}/alertmanager"))
            }
            IntegrationKind::Grafana => Some(format!("{base}/integrations/{key}/grafana")),
            IntegrationKind::Heartbeat => Some(format!("{base}/ping/{key}")),
            IntegrationKind::Opsgenie => None,
            IntegrationKind::Webhook => Some(format!("{base}/integrations/{key}/webhook")),
            IntegrationKind::Email => None,
        };
        let opsgenie = (i.kind == IntegrationKind::Opsgenie).then(|| {
            format!(
                "API URL (instead of https://api.opsgenie.com): {base}\n\
                 Create alerts: POST {base}/v2/alerts\n\
                 Header: Authorization: GenieKey {key}\n\
                 Acknowledge or close: POST {base}/v2/alerts/<alias>/acknowledge?identifierType=alias (or /close)\n"
            )
        });
        let (alertmanager, grafana) = match (i.kind, &webhook_url) {
            (IntegrationKind::Alertmanager, Some(url)) => (Some(alertmanager_webhook(url)), None),
            (IntegrationKind::Grafana, Some(url)) => (None, Some(grafana_webhook(url))),
            (IntegrationKind::Opsgenie, _) => (Some(alertmanager_opsgenie(base, key)), None),
            (IntegrationKind::Heartbeat | IntegrationKind::Webhook | IntegrationKind::Email, _) => {
                (None, None)
            }
            _ => (
                Some(alertmanager_config(&events_url, key)),
                Some(grafana_settings(&events_url, key)),
            ),
        };
        IntegrationView {
            id: i.id.to_string(),
            service_id: i.service_id.to_string(),
            name: i.name.to_string(),
            kind: i.kind.as_str().to_owned(),
            group_by: i.settings.group_by.as_str().to_owned(),
            curl_example: curl_example(&events_url, key),
            alertmanager_config: alertmanager,
            grafana_settings: grafana,
            opsgenie_settings: opsgenie,
            mapping: i.settings.mapping.clone(),
            email_address: None,
            mail_rules: (i.kind == IntegrationKind::Email)
                .then(|| i.settings.mail.clone().unwrap_or_default()),
            webhook_url,
            routing_key,
            change_events_url: format!("{base}/v2/change/enqueue"),
            events_url,
            created_at: i.created_at,
        }
    }
}

impl IntegrationView {
    /// Adds the address mail reaches this integration at, if onduty takes mail.
    pub fn with_mail_domain(mut self, domain: Option<&str>, reveal_key: bool) -> Self {
        if let (Some(domain), true, "email" | "heartbeat") =
            (domain, reveal_key, self.kind.as_str())
        {
            self.email_address = Some(format!("{}@{domain}", self.routing_key));
        }
        self
    }
}

impl std::fmt::Debug for IntegrationView {
    // The routing key is a secret: keep it out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntegrationView")
            .field("id", &self.id)
            .field("service_id", &self.service_id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The key as settings show it: itself, or a placeholder for people who may not see it.
fn shown_key(reveal: bool, key: &str) -> &str {
    if reveal { key } else { "<routing key>" }
}

/// An Alertmanager receiver that sends to onduty as it would to PagerDuty.
pub fn alertmanager_config(events_url: &str, routing_key: &str) -> String {
    format!(
        "receivers:\n  - name: onduty\n    pagerduty_configs:\n      - routing_key: {routing_key}\n        \
         url: {events_url}\n        send_resolved: true\n"
    )
}

/// An Alertmanager receiver that sends to onduty as it would to Opsgenie (Alertmanager
/// adds `v2/alerts…` to the API URL).
pub fn alertmanager_opsgenie(base: &str, key: &str) -> String {
    format!(
        "receivers:\n  - name: onduty\n    opsgenie_configs:\n      - api_key: {key}\n        \
         api_url: {base}/\n        send_resolved: true\n"
    )
}

/// An Alertmanager receiver that sends its own webhook to onduty, resolved alerts too.
pub fn alertmanager_webhook(url: &str) -> String {
    format!(
        "receivers:\n  - name: onduty\n    webhook_configs:\n      - url: {url}\n        send_resolved: true\n"
    )
}

/// A Grafana contact point that sends its webhook to onduty.
pub fn grafana_webhook(url: &str) -> String {
    format!("Integration: Webhook\nURL: {url}\nHTTP Method: POST\n")
}

/// A Grafana contact point that sends to onduty as it would to PagerDuty.
pub fn grafana_settings(events_url: &str, routing_key: &str) -> String {
    format!(
        "Integration: PagerDuty\nIntegration Key: {routing_key}\n\
         Optional PagerDuty settings → API URL: {events_url}\n"
    )
}

/// A ready-to-paste command that sends one trigger event.
pub fn curl_example(events_url: &str, routing_key: &str) -> String {
    format!(
        "curl -sS -X POST {events_url} -H 'Content-Type: application/json' -d '{{\"routing_key\":\"{routing_key}\",\
         \"event_action\":\"trigger\",\"dedup_key\":\"disk/db01\",\"payload\":{{\"summary\":\"Disk 95% full on db01\",\
         \"source\":\"db01.example.com\",\"severity\":\"critical\"}}}}'"
    )
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActorView {
    /// `user`, `integration` or `system`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Option<String>,
    pub name: String,
}

impl From<&Actor> for ActorView {
    fn from(a: &Actor) -> Self {
        let (kind, id) = match a {
            Actor::User { id, .. } => ("user", Some(id.to_string())),
            Actor::Integration { id, .. } => ("integration", Some(id.to_string())),
            Actor::System => ("system", None),
        };
        ActorView {
            kind: kind.to_owned(),
            id,
            name: a.name().to_owned(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LinkView {
    pub href: String,
    pub text: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImageView {
    pub src: String,
    pub href: Option<String>,
    pub alt: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentView {
    pub id: String,
    /// The small number people use ("incident 42"); URLs accept it in place of the id.
    pub number: i64,
    pub service_id: String,
    pub dedup_key: String,
    /// `triggered`, `acknowledged` or `resolved`.
    pub status: String,
    pub summary: String,
    /// `critical`, `error`, `warning` or `info`.
    pub severity: String,
    /// `high` or `low`.
    pub urgency: String,
    pub source: Option<String>,
    pub component: Option<String>,
    pub group: Option<String>,
    pub class: Option<String>,
    pub custom_details: Option<Value>,
    pub client: Option<String>,
    pub client_url: Option<String>,
    pub links: Vec<LinkView>,
    pub images: Vec<ImageView>,
    /// Trigger events folded into this incident, the first included.
    pub alert_count: i64,
    /// When other dedup keys joined it (the service's grouping window): each key, its own
    /// first, and whether its source has said it resolved. Empty otherwise.
    pub grouped_alerts: Vec<GroupedAlertView>,
    #[schema(value_type = String, format = DateTime)]
    pub last_event_at: Timestamp,
    pub last_event_summary: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub acknowledged_at: Option<Timestamp>,
    pub acknowledged_by: Option<ActorView>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<Timestamp>,
    pub resolved_by: Option<ActorView>,
    /// Ids of the users the incident is assigned to.
    pub assignees: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupedAlertView {
    pub dedup_key: String,
    /// When a resolve event for this key arrived; `null` while it fires.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<Timestamp>,
}

fn link_view(l: &Link) -> LinkView {
    LinkView {
        href: l.href.clone(),
        text: l.text.clone(),
    }
}

fn image_view(i: &Image) -> ImageView {
    ImageView {
        src: i.src.clone(),
        href: i.href.clone(),
        alt: i.alt.clone(),
    }
}

impl From<&Incident> for IncidentView {
    fn from(i: &Incident) -> Self {
        let alert = i.details.alert();
        IncidentView {
            id: i.id.to_string(),
            number: i.number.0,
            service_id: i.service_id.to_string(),
            dedup_key: i.dedup_key.to_string(),
            status: i.status.as_str().to_owned(),
            summary: i.summary.clone(),
            severity: i.severity.as_str().to_owned(),
            urgency: i.urgency.as_str().to_owned(),
            source: alert.map(|a| a.source.clone()),
            component: alert.and_then(|a| a.component.clone()),
            group: alert.and_then(|a| a.group.clone()),
            class: alert.and_then(|a| a.class.clone()),
            custom_details: alert.and_then(|a| a.custom_details.clone()),
            client: i.details.client.clone(),
            client_url: i.details.client_url.clone(),
            links: i.details.links.iter().map(link_view).collect(),
            images: i.details.images.iter().map(image_view).collect(),
            alert_count: i.alert_count,
            grouped_alerts: i
                .grouped_alerts
                .0
                .iter()
                .map(|a| GroupedAlertView {
                    dedup_key: a.key.clone(),
                    resolved_at: a.resolved_at.map(Timestamp::from_millis),
                })
                .collect(),
            last_event_at: i.last_event_at,
            last_event_summary: i.last_event_summary.clone(),
            created_at: i.created_at,
            updated_at: i.updated_at,
            acknowledged_at: i.acknowledged_at,
            acknowledged_by: i.acknowledged_by.as_ref().map(ActorView::from),
            resolved_at: i.resolved_at,
            resolved_by: i.resolved_by.as_ref().map(ActorView::from),
            assignees: i.assignees.iter().map(|u| u.to_string()).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntryView {
    pub id: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// `triggered`, `alert`, `event`, `acknowledged`, `resolved`, `note`, `superseded`, `assigned`.
    pub kind: String,
    pub actor: ActorView,
    pub message: String,
    /// The event behind this entry, as received (without its routing key).
    pub event_id: Option<String>,
    pub event: Option<Value>,
    /// Extra facts: a note's `text`, `warnings` about an event.
    pub data: Option<Value>,
}

impl From<&TimelineEntry> for TimelineEntryView {
    fn from(e: &TimelineEntry) -> Self {
        TimelineEntryView {
            id: e.id.to_string(),
            at: e.at,
            kind: e.kind.as_str().to_owned(),
            actor: ActorView::from(&e.actor),
            message: e.message.clone(),
            event_id: e.event_id.map(|id| id.to_string()),
            event: e.event.clone(),
            data: e.data.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeView {
    pub id: String,
    pub integration_id: String,
    #[schema(value_type = String, format = DateTime)]
    pub received_at: Timestamp,
    pub summary: String,
    pub source: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub timestamp: Option<Timestamp>,
    pub custom_details: Option<Value>,
    pub links: Vec<LinkView>,
}

impl From<&ChangeRecord> for ChangeView {
    fn from(c: &ChangeRecord) -> Self {
        ChangeView {
            id: c.id.to_string(),
            integration_id: c.integration_id.to_string(),
            received_at: c.received_at,
            summary: c.change.summary.clone(),
            source: c.change.source.clone(),
            timestamp: c.change.timestamp,
            custom_details: c.change.custom_details.clone(),
            links: c.change.links.iter().map(link_view).collect(),
        }
    }
}
