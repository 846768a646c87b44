//! Services with their integrations and heartbeats, as writes.

use super::*;

impl Builder<'_> {
    pub(super) fn service(&mut self, doc: &ServiceDoc) {
        let Some(id) = self.ids.services.get(&doc.name).copied() else {
            return;
        };
        let at = format!("service {}", doc.name);
        let Some(name) = self.ok(&at, Name::parse(&doc.name)) else {
            return;
        };
        let policy_id = match &doc.escalation_policy {
            Some(p) => match self.ids.policies.get(p) {
                Some(id) => Some(*id),
                None => {
                    self.problems
                        .push(format!("{at}: no escalation policy {p}"));
                    return;
                }
            },
            None => None,
        };
        let existing = self.current.services.iter().find(|s| s.service.id == id);
        let service = Service {
            id,
            name,
            description: doc.description.clone(),
            dedup_mode: doc.dedup_mode,
            settings: PagingSettings {
                team_id: self.team_id(doc.team.as_ref()),
                policy_id,
                urgency: doc.urgency,
                ack_timeout_minutes: doc.ack_timeout_minutes,
                auto_resolve_minutes: doc.auto_resolve_minutes,
                group_window_minutes: doc.group_window_minutes,
                flap_window_minutes: doc.flap_window_minutes,
            },
            draft_postmortems: doc.draft_postmortems,
            created_at: existing.map_or(self.now, |s| s.service.created_at),
            updated_at: self.now,
        };
        match existing {
            None => self.out.push(ConfigWrite::CreateService(service)),
            Some(s) => {
                let same = Service {
                    updated_at: s.service.updated_at,
                    ..service.clone()
                };
                if same != s.service {
                    self.out.push(ConfigWrite::UpdateService(service));
                }
            }
        }
        self.integrations(id, doc, &at);
        self.heartbeats(id, doc, &at);
    }

    pub(super) fn key(&mut self, at: &str, text: Option<&String>) -> Option<RoutingKey> {
        match text {
            Some(k) => self.ok(at, RoutingKey::parse(k)),
            None => Some(new_routing_key()),
        }
    }

    pub(super) fn integrations(&mut self, service: ServiceId, doc: &ServiceDoc, at: &str) {
        let now = self
            .current
            .services
            .iter()
            .find(|s| s.service.id == service);
        let existing: Vec<_> = now
            .map(|s| s.integration_names.iter().zip(&s.integrations).collect())
            .unwrap_or_default();
        for i in &doc.integrations {
            let here = format!("{at}: integration {}", i.name);
            let (Some(name), Some(settings), Some(routing_key)) = (
                self.ok(&here, Name::parse(&i.name)),
                self.ok(&here, config_doc::integration_settings(i)),
                self.key(&here, i.key.as_ref()),
            ) else {
                continue;
            };
            match existing.iter().find(|(n, _)| **n == i.name) {
                None => self.out.push(ConfigWrite::CreateIntegration(
                    onduty_core::service::Integration {
                        id: self.fresh.id(IntegrationId::nth),
                        service_id: service,
                        name,
                        kind: i.kind,
                        settings,
                        routing_key,
                        created_at: self.now,
                    },
                )),
                Some((_, e)) => {
                    let changed =
                        e.kind != i.kind || e.settings != settings || e.routing_key != routing_key;
                    if changed {
                        self.out.push(ConfigWrite::UpdateIntegration(
                            onduty_core::service::Integration {
                                kind: i.kind,
                                settings,
                                routing_key,
                                ..(*e).clone()
                            },
                        ));
                    }
                }
            }
        }
        for (name, e) in existing {
            if !doc.integrations.iter().any(|i| i.name == *name) {
                self.out.push(ConfigWrite::DeleteIntegration(e.id));
            }
        }
    }

    pub(super) fn heartbeats(&mut self, service: ServiceId, doc: &ServiceDoc, at: &str) {
        let now = self
            .current
            .services
            .iter()
            .find(|s| s.service.id == service);
        let existing: Vec<_> = now
            .map(|s| s.heartbeat_names.iter().zip(&s.heartbeats).collect())
            .unwrap_or_default();
        for h in &doc.heartbeats {
            let here = format!("{at}: heartbeat {}", h.name);
            let (Some(name), Some(expect), Some(routing_key)) = (
                self.ok(&here, Name::parse(&h.name)),
                self.ok(&here, config_doc::heartbeat_expect(h)),
                self.key(&here, h.key.as_ref()),
            ) else {
                continue;
            };
            match existing.iter().find(|(n, _)| **n == h.name) {
                None => self.out.push(ConfigWrite::CreateHeartbeat(NewHeartbeat {
                    id: self.fresh.id(HeartbeatId::nth),
                    integration: self.fresh.id(IntegrationId::nth),
                    service,
                    name,
                    expect,
                    routing_key,
                })),
                Some((_, e)) if e.expect != expect || e.routing_key != routing_key => {
                    self.out.push(ConfigWrite::UpdateHeartbeat(
                        onduty_store::heartbeats::Heartbeat {
                            expect,
                            routing_key,
                            ..(*e).clone()
                        },
                    ));
                }
                Some(_) => {}
            }
        }
    }
}
