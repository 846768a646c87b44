//! Managing services and their integrations: create (with a first integration, in one
//! transaction), change paging settings, add integrations, set and try a JSON webhook's
//! mapping.

use onduty_core::account::Name;
use onduty_core::alertmanager::GroupBy;
use onduty_core::incident::DedupMode;
use onduty_core::mail::MailRules;
use onduty_core::noise;
use onduty_core::service::{
    Integration, IntegrationKind, IntegrationSettings, PagingSettings, Service, ServiceUrgency,
    parse_description, parse_timeout,
};
use onduty_core::webhook::Mapping;
use onduty_core::{IntegrationId, RoutingKey, ServiceId};
use onduty_store::services::{NewIntegration, NewService, ServicePatch};

use crate::{Acting, App, AppError};

/// A service's fields as a door received them. In a change, a field left out (`None`)
/// stays as it is.
#[derive(Debug, Clone, Default)]
pub struct ServiceInput {
    /// 1 to 100 characters, unique. Required to create.
    pub name: Option<String>,
    pub description: Option<String>,
    /// `open` or `triggered`.
    pub dedup_mode: Option<String>,
    pub paging: PagingInput,
    /// Whether a high-urgency incident resolving drafts a postmortem (default: yes).
    pub draft_postmortems: Option<bool>,
}

/// How a service pages. A field left out (`None`) stays as it is; `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct PagingInput {
    /// A team's id or name.
    pub team: Option<Option<String>>,
    /// An escalation policy's id or name.
    pub escalation_policy: Option<Option<String>>,
    /// `high`, `low` or `severity`.
    pub urgency: Option<String>,
    pub ack_timeout_minutes: Option<Option<u32>>,
    pub auto_resolve_minutes: Option<Option<u32>>,
    pub group_window_minutes: Option<Option<u32>>,
    pub flap_window_minutes: Option<Option<u32>>,
}

/// A new integration as a door received it.
#[derive(Debug, Clone, Default)]
pub struct IntegrationInput {
    /// Default: what the type is called.
    pub name: Option<String>,
    /// `events_v2` (default), `alertmanager`, `grafana`, `opsgenie`, `webhook` or `email`.
    pub kind: Option<String>,
    /// Alertmanager and Grafana: `alert` (default) or `group`.
    pub group_by: Option<String>,
    /// JSON webhooks (required for them).
    pub mapping: Option<Mapping>,
    /// E-mail integrations.
    pub mail: Option<MailRules>,
}

/// What a sample body would make under a mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct MappingTry {
    /// The event, when the sample can be read.
    pub event: Option<serde_json::Value>,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

fn parse_name(text: &str) -> Result<Name, AppError> {
    Name::parse(text).map_err(|e| AppError::Invalid(format!("'name': {e}")))
}

fn parse_mode(text: &str) -> Result<DedupMode, AppError> {
    DedupMode::parse(text).ok_or_else(|| {
        AppError::Invalid(format!(
            "'dedup_mode' must be 'open' or 'triggered', not '{text}'"
        ))
    })
}

/// A fresh routing key from the operating system's randomness.
pub fn new_routing_key() -> RoutingKey {
    RoutingKey::from_random(crate::people::random())
}

/// A JSON webhook's mapping, checked; other kinds have none.
fn checked_mapping(
    kind: IntegrationKind,
    mapping: Option<Mapping>,
) -> Result<Option<Mapping>, AppError> {
    match (kind, mapping) {
        (IntegrationKind::Webhook, None) => Err(AppError::Invalid(
            "a JSON webhook needs a 'mapping': at least {\"summary\": \"/pointer/to/title\"}"
                .to_owned(),
        )),
        (IntegrationKind::Webhook, Some(m)) => {
            m.check().map_err(|e| AppError::Invalid(e.join("; ")))?;
            Ok(Some(m))
        }
        (_, Some(_)) => Err(AppError::Invalid(
            "only JSON webhook integrations take a 'mapping'".to_owned(),
        )),
        (_, None) => Ok(None),
    }
}

impl App {
    /// A service by id or by name.
    pub async fn find_service(&self, text: &str) -> Result<Service, AppError> {
        if let Ok(id) = text.parse::<ServiceId>() {
            return Ok(self.store.service(id).await?);
        }
        self.store
            .service_by_name(text)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no service with id or name '{text}'")))
    }

    /// The changes a paging input asks for, looking names up.
    async fn paging_patch(
        &self,
        input: &PagingInput,
        patch: &mut ServicePatch,
    ) -> Result<(), AppError> {
        if let Some(team) = &input.team {
            patch.team_id = Some(match team {
                None => None,
                Some(t) => Some(self.store.team(t).await?.id),
            });
        }
        if let Some(policy) = &input.escalation_policy {
            patch.policy_id = Some(match policy {
                None => None,
                Some(p) => Some(self.find_policy(p).await?.id),
            });
        }
        if let Some(u) = &input.urgency {
            patch.urgency = Some(ServiceUrgency::parse(u).ok_or_else(|| {
                AppError::Invalid(format!(
                    "'urgency' must be high, low or severity, not '{u}'"
                ))
            })?);
        }
        let minutes = |name: &str, v: &Option<u32>| -> Result<Option<u32>, AppError> {
            v.map(|m| parse_timeout(name, m))
                .transpose()
                .map_err(AppError::Invalid)
        };
        if let Some(v) = &input.ack_timeout_minutes {
            patch.ack_timeout_minutes = Some(minutes("ack_timeout_minutes", v)?);
        }
        if let Some(v) = &input.auto_resolve_minutes {
            patch.auto_resolve_minutes = Some(minutes("auto_resolve_minutes", v)?);
        }
        let window = |name: &str, v: &Option<u32>| -> Result<Option<u32>, AppError> {
            v.map(|m| noise::parse_window(&format!("'{name}'"), m))
                .transpose()
                .map_err(AppError::Invalid)
        };
        if let Some(v) = &input.group_window_minutes {
            patch.group_window_minutes = Some(window("group_window_minutes", v)?);
        }
        if let Some(v) = &input.flap_window_minutes {
            patch.flap_window_minutes = Some(window("flap_window_minutes", v)?);
        }
        Ok(())
    }

    /// Creates a service (admins), with these first integrations, in one transaction.
    pub async fn create_service(
        &self,
        acting: &Acting,
        input: ServiceInput,
        integrations: Vec<IntegrationInput>,
    ) -> Result<(Service, Vec<Integration>), AppError> {
        acting.require_admin()?;
        self.configuring(
            acting,
            "service.create",
            input.name.clone().unwrap_or_default(),
            async {
                let mut paging = ServicePatch::default();
                self.paging_patch(&input.paging, &mut paging).await?;
                let defaults = PagingSettings::default();
                let new = NewService {
                    name: parse_name(input.name.as_deref().unwrap_or_default())?,
                    description: parse_description(input.description.as_deref().unwrap_or(""))
                        .map_err(AppError::Invalid)?,
                    dedup_mode: input
                        .dedup_mode
                        .as_deref()
                        .map(parse_mode)
                        .transpose()?
                        .unwrap_or_default(),
                    settings: PagingSettings {
                        team_id: paging.team_id.unwrap_or(defaults.team_id),
                        policy_id: paging.policy_id.unwrap_or(defaults.policy_id),
                        urgency: paging.urgency.unwrap_or(defaults.urgency),
                        ack_timeout_minutes: paging
                            .ack_timeout_minutes
                            .unwrap_or(defaults.ack_timeout_minutes),
                        auto_resolve_minutes: paging
                            .auto_resolve_minutes
                            .unwrap_or(defaults.auto_resolve_minutes),
                        group_window_minutes: paging
                            .group_window_minutes
                            .unwrap_or(defaults.group_window_minutes),
                        flap_window_minutes: paging
                            .flap_window_minutes
                            .unwrap_or(defaults.flap_window_minutes),
                    },
                    draft_postmortems: input.draft_postmortems.unwrap_or(true),
                };
                let mut drafts = Vec::with_capacity(integrations.len());
                for input in integrations {
                    // The service id is the new service's, set by the store.
                    drafts.push(integration_of(ServiceId::new(self.now()), input)?);
                }
                Ok(self
                    .store
                    .create_service_with(new, drafts, self.now())
                    .await?)
            },
        )
        .await
    }

    /// Changes a service's name, description, dedup mode or paging settings (admins).
    pub async fn update_service(
        &self,
        acting: &Acting,
        service: &str,
        input: ServiceInput,
    ) -> Result<Service, AppError> {
        acting.require_admin()?;
        self.configuring(acting, "service.update", service, async {
            let service = self.find_service(service).await?;
            let mut patch = ServicePatch {
                name: input.name.as_deref().map(parse_name).transpose()?,
                description: input
                    .description
                    .as_deref()
                    .map(parse_description)
                    .transpose()
                    .map_err(AppError::Invalid)?,
                dedup_mode: input.dedup_mode.as_deref().map(parse_mode).transpose()?,
                draft_postmortems: input.draft_postmortems,
                ..ServicePatch::default()
            };
            self.paging_patch(&input.paging, &mut patch).await?;
            Ok(self
                .store
                .update_service(service.id, patch, self.now())
                .await?)
        })
        .await
    }

    /// Adds an integration to a service (admins): a new key, and how it is reached.
    pub async fn create_integration(
        &self,
        acting: &Acting,
        service: &str,
        input: IntegrationInput,
    ) -> Result<Integration, AppError> {
        acting.require_admin()?;
        self.configuring(acting, "integration.create", service, async {
            let service = self.find_service(service).await?;
            let new = integration_of(service.id, input)?;
            Ok(self.store.create_integration(new, self.now()).await?)
        })
        .await
    }

    /// Replaces a JSON webhook's mapping (admins).
    pub async fn set_mapping(
        &self,
        acting: &Acting,
        integration: IntegrationId,
        mapping: Mapping,
    ) -> Result<Integration, AppError> {
        acting.require_admin()?;
        self.configuring(
            acting,
            "integration.mapping",
            integration.to_string(),
            async {
                let integration = self.store.integration(integration).await?;
                let settings = IntegrationSettings {
                    mapping: checked_mapping(integration.kind, Some(mapping))?,
                    ..integration.settings
                };
                Ok(self
                    .store
                    .set_integration_settings(integration.id, &settings)
                    .await?)
            },
        )
        .await
    }

    /// What `sample` would make under a JSON webhook's mapping (or `mapping`, to try one);
    /// nothing is stored.
    pub async fn try_mapping(
        &self,
        integration: IntegrationId,
        sample: &serde_json::Value,
        mapping: Option<Mapping>,
    ) -> Result<MappingTry, AppError> {
        let integration = self.store.integration(integration).await?;
        let Some(mapping) = mapping.or(integration.settings.mapping) else {
            return Err(AppError::Invalid(
                "this integration has no mapping; send one to try".to_owned(),
            ));
        };
        if let Err(errors) = mapping.check() {
            return Ok(MappingTry {
                event: None,
                errors,
                warnings: Vec::new(),
            });
        }
        Ok(
            match onduty_core::webhook::event(
                sample,
                &mapping,
                integration.routing_key.as_str(),
                "(generated for each event)",
            ) {
                Ok(parsed) => MappingTry {
                    event: serde_json::to_value(&parsed.value).ok(),
                    errors: Vec::new(),
                    warnings: parsed.warnings,
                },
                Err(errors) => MappingTry {
                    event: None,
                    errors,
                    warnings: Vec::new(),
                },
            },
        )
    }
}

/// A new integration of `service`, with its input checked.
fn integration_of(service: ServiceId, input: IntegrationInput) -> Result<NewIntegration, AppError> {
    let kind = match input.kind.as_deref() {
        None => IntegrationKind::EventsV2,
        Some(k) => IntegrationKind::parse(k).ok_or_else(|| {
            AppError::Invalid(format!(
                "unknown integration type '{k}': use events_v2, alertmanager, grafana, opsgenie, webhook or email"
            ))
        })?,
    };
    if kind == IntegrationKind::Heartbeat {
        return Err(AppError::Invalid(
            "a heartbeat's integration comes with it: POST /api/v1/services/{id}/heartbeats"
                .to_owned(),
        ));
    }
    let group_by = match input.group_by.as_deref() {
        None => GroupBy::default(),
        Some(g) => GroupBy::parse(g).ok_or_else(|| {
            AppError::Invalid(format!("'group_by' must be alert or group, not '{g}'"))
        })?,
    };
    let name = parse_name(input.name.as_deref().unwrap_or(kind.label()))?;
    let mail = match (kind, input.mail) {
        (IntegrationKind::Email, rules) => {
            let rules = rules.unwrap_or_default();
            rules.check().map_err(|e| AppError::Invalid(e.join("; ")))?;
            Some(rules)
        }
        (_, Some(_)) => {
            return Err(AppError::Invalid(
                "only e-mail integrations take 'mail' rules".to_owned(),
            ));
        }
        (_, None) => None,
    };
    Ok(NewIntegration {
        settings: IntegrationSettings {
            group_by,
            mapping: checked_mapping(kind, input.mapping)?,
            mail,
        },
        service_id: service,
        name,
        kind,
        routing_key: new_routing_key(),
    })
}
