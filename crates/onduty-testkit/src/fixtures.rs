//! Fixtures: a service with an integration, people, and events built in one line, so a
//! test reads like the incident it tells.

use onduty_core::account::{Email, Name, Role, User};
use onduty_core::batch::{HandedIn, Inbound, Received};
use onduty_core::contact::{Address, Channel, ContactMethod};
use onduty_core::event::{Act, Alert, AlertEvent, ChangeEvent, EventAction, Severity};
use onduty_core::incident::DedupMode;
use onduty_core::service::{Integration, IntegrationKind, Service};
use onduty_core::{DedupKey, EventId, RoutingKey, Timestamp};
use onduty_store::Store;
use onduty_store::contacts::NewContactMethod;
use onduty_store::services::{NewIntegration, NewService};
use onduty_store::users::NewUser;

/// 2026-01-15T03:00:00Z: three in the morning, when pages matter most.
pub const T0: Timestamp = Timestamp::from_millis(1_768_446_000_000);

/// `T0` plus some minutes.
pub fn at_minute(minutes: i64) -> Timestamp {
    Timestamp::from_millis(T0.as_millis() + minutes * 60_000)
}

pub struct ServiceFixture {
    pub service: Service,
    pub integration: Integration,
}

impl ServiceFixture {
    pub fn key(&self) -> &RoutingKey {
        &self.integration.routing_key
    }
}

/// Creates a service named `name` with one Events API v2 integration. The routing key
/// is derived from the name, so tests can rebuild it.
pub async fn service(store: &Store, name: &str, mode: DedupMode) -> ServiceFixture {
    let service = store
        .create_service(
            NewService {
                name: Name::parse(name).unwrap(),
                description: format!("{name}, for tests"),
                dedup_mode: mode,
                settings: Default::default(),
                draft_postmortems: true,
            },
            T0,
        )
        .await
        .expect("create service");
    let integration = store
        .create_integration(
            NewIntegration {
                settings: Default::default(),
                service_id: service.id,
                name: Name::parse("Prometheus").unwrap(),
                kind: IntegrationKind::EventsV2,
                routing_key: routing_key_for(name),
            },
            T0,
        )
        .await
        .expect("create integration");
    ServiceFixture {
        service,
        integration,
    }
}

/// A stable 32-character routing key for a name.
pub fn routing_key_for(name: &str) -> RoutingKey {
    let mut bytes = [0u8; 16];
    for (i, b) in name.bytes().enumerate() {
        bytes[i % 16] = bytes[i % 16].wrapping_mul(31).wrapping_add(b);
    }
    RoutingKey::from_random(bytes)
}

pub async fn user(store: &Store, name: &str, role: Role) -> User {
    let email = format!("{}@example.com", name.to_lowercase().replace(' ', "."));
    store
        .create_user(
            NewUser {
                email: Email::parse(&email).unwrap(),
                name: Name::parse(name).unwrap(),
                role,
                time_zone: onduty_core::account::TimeZoneName::utc(),
            },
            T0,
        )
        .await
        .expect("create user")
}

fn alert_event(key: &RoutingKey, action: EventAction, dedup: &str, summary: &str) -> AlertEvent {
    let dedup_key = DedupKey::parse(dedup).unwrap();
    let act = match action {
        EventAction::Trigger => Act::Trigger {
            alert: Alert {
                summary: summary.to_owned(),
                source: "db01.example.com".to_owned(),
                severity: Severity::Critical,
                timestamp: None,
                component: Some("mysql".to_owned()),
                group: None,
                class: None,
                custom_details: Some(serde_json::json!({"free space": "1%"})),
            },
            dedup_key: Some(dedup_key),
        },
        EventAction::Acknowledge => Act::Acknowledge(dedup_key),
        EventAction::Resolve => Act::Resolve(dedup_key),
    };
    AlertEvent {
        routing_key: Some(key.clone()),
        act,
        client: Some("Prometheus".to_owned()),
        client_url: None,
        links: Vec::new(),
        images: Vec::new(),
    }
}

fn received(event: Inbound, at: Timestamp) -> Received {
    Received {
        id: EventId::new(at),
        received_at: at,
        event,
        warnings: Vec::new(),
        from: HandedIn::BySender,
    }
}

/// A webhook contact method ("pager bridge", secret `whsec`): it pages without a code.
pub async fn webhook(store: &Store, user: onduty_core::UserId) -> ContactMethod {
    store
        .create_contact_method(
            NewContactMethod {
                user_id: user,
                name: "pager bridge".into(),
                channel: Channel::Webhook,
                address: Address::parse(Channel::Webhook, "http://127.0.0.1:9/hook").unwrap(),
                secret: Some("whsec".into()),
            },
            T0,
        )
        .await
        .expect("create a webhook contact method")
}

pub fn trigger(key: &RoutingKey, dedup: &str, summary: &str, at: Timestamp) -> Received {
    received(
        Inbound::Alert(alert_event(key, EventAction::Trigger, dedup, summary)),
        at,
    )
}

pub fn acknowledge(key: &RoutingKey, dedup: &str, at: Timestamp) -> Received {
    received(
        Inbound::Alert(alert_event(key, EventAction::Acknowledge, dedup, "")),
        at,
    )
}

pub fn resolve(key: &RoutingKey, dedup: &str, at: Timestamp) -> Received {
    received(
        Inbound::Alert(alert_event(key, EventAction::Resolve, dedup, "")),
        at,
    )
}

pub fn change(key: &RoutingKey, summary: &str, at: Timestamp) -> Received {
    received(
        Inbound::Change(ChangeEvent {
            routing_key: Some(key.clone()),
            summary: summary.to_owned(),
            source: Some("ci".to_owned()),
            timestamp: None,
            custom_details: None,
            links: Vec::new(),
        }),
        at,
    )
}
