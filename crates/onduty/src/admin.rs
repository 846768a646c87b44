//! `onduty admin …`: administration straight on the database, for the first steps and
//! for when no API token is at hand. Works whether or not a server is running.

use anyhow::{Context, bail};
use onduty_core::account::{Email, Name, Role};
use onduty_core::incident::DedupMode;
use onduty_core::service::{IntegrationKind, Service, parse_description};
use onduty_core::{Clock, ServiceId, SystemClock};
use onduty_store::Store;
use onduty_store::services::{NewIntegration, NewService};
use onduty_store::users::NewUser;
use onduty_web::api::views::{IntegrationView, ServiceView, UserView};
use serde_json::json;

use crate::cli::{
    AdminCommand, AdminIntegrationCommand, AdminServiceCommand, AdminTokenCommand,
    AdminUserCommand, NewIntegrationArgs, NewServiceArgs,
};
use crate::output::{print_integration, print_json, print_service_table};

pub async fn run(
    store: &Store,
    command: AdminCommand,
    public_url: &str,
    json: bool,
) -> anyhow::Result<()> {
    let now = SystemClock.now();
    match command {
        AdminCommand::User { command } => match command {
            AdminUserCommand::Create {
                email,
                name,
                role,
                with_token,
            } => {
                let role = Role::parse(&role).with_context(|| {
                    format!("role must be admin, responder or observer, not '{role}'")
                })?;
                let user = store
                    .create_user(
                        NewUser {
                            email: Email::parse(&email)?,
                            name: Name::parse(&name)?,
                            role,
                            time_zone: onduty_core::account::TimeZoneName::utc(),
                        },
                        now,
                    )
                    .await?;
                let secret = if with_token {
                    let secret = onduty_web::api::new_token_secret();
                    store.create_token(user.id, "cli", &secret, now).await?;
                    Some(secret)
                } else {
                    None
                };
                if json {
                    print_json(
                        &json!({"user": UserView::from(&user), "token": secret.as_ref().map(|s| s.expose())}),
                    );
                } else {
                    println!(
                        "Created {} {} <{}> ({})",
                        user.role.as_str(),
                        user.name,
                        user.email,
                        user.id
                    );
                    if let Some(s) = secret {
                        println!("API token (shown once): {}", s.expose());
                    }
                }
            }
            AdminUserCommand::List => {
                let users = store.list_users().await?;
                if json {
                    print_json(
                        &json!({"users": users.iter().map(UserView::from).collect::<Vec<_>>()}),
                    );
                } else {
                    for u in users {
                        println!(
                            "{:<10} {:<30} {}",
                            u.role.as_str(),
                            u.email.as_str(),
                            crate::output::clean(u.name.as_str())
                        );
                    }
                }
            }
        },
        AdminCommand::Token { command } => match command {
            AdminTokenCommand::Create { email, name } => {
                let email = Email::parse(&email)?;
                let Some(user) = store.user_by_email(&email).await? else {
                    bail!("no user has the e-mail address {email}");
                };
                let secret = onduty_web::api::new_token_secret();
                let name = Name::parse(&name)?;
                store
                    .create_token(user.id, name.as_str(), &secret, now)
                    .await?;
                if json {
                    print_json(&json!({"user": UserView::from(&user), "token": secret.expose()}));
                } else {
                    println!(
                        "API token for {} (shown once): {}",
                        user.email,
                        secret.expose()
                    );
                }
            }
        },
        AdminCommand::Service { command } => match command {
            AdminServiceCommand::Create(args) => {
                create_service(store, args, public_url, json).await?
            }
            AdminServiceCommand::List => {
                let services = store.list_services().await?;
                let views: Vec<ServiceView> = services.iter().map(ServiceView::from).collect();
                if json {
                    print_json(&json!({ "services": views }));
                } else {
                    print_service_table(&views);
                }
            }
        },
        AdminCommand::Integration {
            command: AdminIntegrationCommand::Create(args),
        } => {
            let service = find_service(store, &args.service).await?;
            let view = create_integration(store, &service, &args, public_url).await?;
            if json {
                print_json(&json!({ "integration": view }));
            } else {
                print_integration(&serde_json::to_value(&view)?);
            }
        }
    }
    Ok(())
}

async fn find_service(store: &Store, text: &str) -> anyhow::Result<Service> {
    if let Ok(id) = text.parse::<ServiceId>() {
        return Ok(store.service(id).await?);
    }
    store
        .service_by_name(text)
        .await?
        .with_context(|| format!("no service named '{text}'"))
}

async fn create_integration(
    store: &Store,
    service: &Service,
    args: &NewIntegrationArgs,
    public_url: &str,
) -> anyhow::Result<IntegrationView> {
    let integration = store
        .create_integration(
            NewIntegration {
                settings: Default::default(),
                service_id: service.id,
                name: Name::parse(&args.name)?,
                kind: IntegrationKind::EventsV2,
                routing_key: onduty_web::api::new_routing_key(),
            },
            SystemClock.now(),
        )
        .await?;
    Ok(IntegrationView::new(&integration, public_url, true))
}

async fn create_service(
    store: &Store,
    args: NewServiceArgs,
    public_url: &str,
    json: bool,
) -> anyhow::Result<()> {
    let dedup_mode = DedupMode::parse(&args.dedup_mode).with_context(|| {
        format!(
            "dedup mode must be open or triggered, not '{}'",
            args.dedup_mode
        )
    })?;
    let service = store
        .create_service(
            NewService {
                name: Name::parse(&args.name)?,
                description: parse_description(&args.description).map_err(anyhow::Error::msg)?,
                dedup_mode,
                settings: Default::default(),
                draft_postmortems: true,
            },
            SystemClock.now(),
        )
        .await?;
    let integration = if args.no_integration {
        None
    } else {
        let integration_args = NewIntegrationArgs {
            service: service.id.to_string(),
            name: "Events API v2".to_owned(),
        };
        Some(create_integration(store, &service, &integration_args, public_url).await?)
    };
    if json {
        print_json(&json!({"service": ServiceView::from(&service), "integration": integration}));
    } else {
        println!(
            "Created service '{}' ({})",
            crate::output::clean(service.name.as_str()),
            service.id
        );
        if let Some(i) = &integration {
            print_integration(&serde_json::to_value(i)?);
        }
    }
    Ok(())
}
