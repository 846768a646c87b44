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
        let existing = self
            .current
            .services
            .iter()
            .find(|s| s.service.id == id)
            .map(|s| s.chat_channels.clone())
            .unwrap_or_default();
        self.chat_channels(ChatScope::Service(id), &existing, &doc.chat_channels, &at);
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
        // Integrations that go go first: one made in their place may take their key.
        for (name, e) in &existing {
            if !doc.integrations.iter().any(|i| i.name == **name) {
                self.out.push(ConfigWrite::DeleteIntegration(e.id));
            }
        }
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

impl Builder<'_> {
    /// A service's or team's chat channels, matched by platform and channel.
    pub(super) fn chat_channels(
        &mut self,
        scope: ChatScope,
        existing: &[ChatChannel],
        wanted: &[ChatChannelDoc],
        at: &str,
    ) {
        for e in existing {
            let kept = wanted
                .iter()
                .any(|w| w.platform == e.platform && w.channel.as_deref() == Some(&e.channel));
            if !kept {
                self.out.push(ConfigWrite::DeleteChatChannel(e.id));
            }
        }
        for w in wanted {
            let Some(text) = w.channel.as_deref() else {
                self.problems.push(format!(
                    "{at}: a {} channel needs its webhook's URL",
                    w.platform.label()
                ));
                continue;
            };
            let there = existing
                .iter()
                .any(|e| e.platform == w.platform && e.channel == text);
            if there {
                continue;
            }
            let Some(channel) = self.ok(at, onduty_core::chat::parse_channel(w.platform, text))
            else {
                continue;
            };
            if w.platform.by_webhook()
                && let Err(e) = (self.url_ok)(&channel)
            {
                self.problems
                    .push(format!("{at}: {} channel: {e}", w.platform.label()));
                continue;
            }
            self.out.push(ConfigWrite::AddChatChannel(ChatChannel {
                id: self.fresh.id(ChatChannelId::nth),
                platform: w.platform,
                channel,
                scope,
                failing: None,
            }));
        }
    }

    /// A maintenance window the document adds; its maker is reminded before it ends, as
    /// with one made by hand.
    pub(super) fn window(&mut self, doc: &MaintenanceDoc, acting: UserId) {
        let at = format!("maintenance window {}", doc.label());
        let mut services = Vec::new();
        for name in &doc.services {
            match self.ids.services.get(name) {
                Some(id) => services.push(*id),
                None => self.problems.push(format!("{at}: no service {name}")),
            }
        }
        let (Some(start), Some(end)) = (
            self.ok(&at, Timestamp::parse(&doc.start)),
            self.ok(&at, Timestamp::parse(&doc.end)),
        ) else {
            return;
        };
        self.out
            .push(ConfigWrite::AddMaintenance(MaintenanceWindow {
                id: self.fresh.id(MaintenanceId::nth),
                services,
                start,
                end,
                reason: doc.reason.clone(),
                created_by: Some(acting),
                created_at: self.now,
                remind_at: Some(onduty_store::maintenance::remind_at(start, end)),
            }));
    }
}
