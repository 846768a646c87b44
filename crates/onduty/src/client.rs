//! Client commands: talk to a running onduty over its REST API with an API token.

use std::collections::HashMap;

use anyhow::{Context, bail};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::cli::{
    ClientArgs, Command, IntegrationCommand, NewIntegrationArgs, NewServiceArgs, ServiceCommand,
};
use crate::output::{clean, print_incident, print_incident_table, print_integration, print_json};

pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    json: bool,
}

impl Client {
    pub fn new(args: &ClientArgs) -> anyhow::Result<Client> {
        let base = args
            .url
            .clone()
            .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
        let Some(token) = args.token.clone() else {
            bail!(
                "no API token: set ONDUTY_TOKEN or pass --token (onduty prints one on its first start; \
                 `onduty admin token create --email <you>` makes another)"
            );
        };
        Ok(Client {
            http: reqwest::Client::builder()
                .user_agent(concat!("onduty-cli/", env!("CARGO_PKG_VERSION")))
                .build()?,
            base: base.trim_end_matches('/').to_owned(),
            token,
            json: args.json,
        })
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let url = format!("{}/api/v1{path}", self.base);
        let mut request = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach onduty at {}", self.base))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        let message = body
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or("no details");
        if status == StatusCode::UNAUTHORIZED {
            bail!("the server refused the API token: {}", clean(message));
        }
        bail!(
            "{} {}: {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or(""),
            clean(message)
        )
    }

    async fn service_names(&self) -> anyhow::Result<HashMap<String, String>> {
        let list = self.call(Method::GET, "/services", None).await?;
        Ok(list["services"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                (
                    s["id"].as_str().unwrap_or("").to_owned(),
                    s["name"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect())
    }

    /// Service names for text output (JSON output shows ids and needs no extra request).
    async fn service_names_for_text(&self) -> anyhow::Result<HashMap<String, String>> {
        if self.json {
            Ok(HashMap::new())
        } else {
            self.service_names().await
        }
    }

    fn output(&self, value: &Value, text: impl FnOnce(&Value)) {
        if self.json {
            print_json(value);
        } else {
            text(value);
        }
    }

    pub async fn run(&self, command: Command) -> anyhow::Result<()> {
        match command {
            Command::Incidents {
                status,
                service,
                mine,
                limit,
            } => {
                let mut query = vec![format!("limit={limit}")];
                if status != "all" {
                    query.push(format!("status={}", encode(&status)));
                }
                if let Some(s) = service {
                    query.push(format!("service={}", encode(&s)));
                }
                if mine {
                    query.push("assigned_to=me".to_owned());
                }
                let list = self
                    .call(
                        Method::GET,
                        &format!("/incidents?{}", query.join("&")),
                        None,
                    )
                    .await?;
                let names = self.service_names_for_text().await?;
                self.output(&list, |l| {
                    print_incident_table(
                        l["incidents"].as_array().map(Vec::as_slice).unwrap_or(&[]),
                        &names,
                    )
                });
            }
            Command::Incident { incident } => {
                let detail = self
                    .call(
                        Method::GET,
                        &format!("/incidents/{}", encode(&incident)),
                        None,
                    )
                    .await?;
                let names = self.service_names_for_text().await?;
                let service = detail["incident"]["service_id"]
                    .as_str()
                    .and_then(|id| names.get(id))
                    .cloned();
                self.output(&detail, |d| {
                    print_incident(d, service.as_deref().unwrap_or("?"))
                });
            }
            Command::Ack { incidents } => {
                self.act(&incidents, "acknowledge", "acknowledged").await?
            }
            Command::Resolve { incidents } => self.act(&incidents, "resolve", "resolved").await?,
            Command::Unack { incidents } => {
                self.act(&incidents, "unacknowledge", "triggered again")
                    .await?
            }
            Command::Escalate { incident, level } => {
                let body = match level {
                    Some(l) => json!({ "level": l }),
                    None => json!({}),
                };
                self.reshape(&incident, "escalate", body, "escalated")
                    .await?
            }
            Command::Reassign {
                incident,
                user,
                policy,
            } => {
                let body = match (user, policy) {
                    (Some(u), _) => json!({ "user": u }),
                    (None, p) => json!({ "escalation_policy": p }),
                };
                self.reshape(&incident, "reassign", body, "reassigned")
                    .await?
            }
            Command::Responders { incident, users } => {
                self.reshape(
                    &incident,
                    "responders",
                    json!({ "users": users }),
                    "has new responders",
                )
                .await?
            }
            Command::Snooze { incident, minutes } => {
                self.reshape(
                    &incident,
                    "snooze",
                    json!({ "minutes": minutes }),
                    &format!("snoozed for {minutes} minutes"),
                )
                .await?
            }
            Command::Note { incident, text } => {
                let note = self
                    .call(
                        Method::POST,
                        &format!("/incidents/{}/notes", encode(&incident)),
                        Some(json!({ "text": text })),
                    )
                    .await?;
                self.output(&note, |_| {
                    println!("Added a note to incident {}", clean(&incident))
                });
            }
            Command::Services => {
                let list = self.call(Method::GET, "/services", None).await?;
                self.output(&list, |l| {
                    for s in l["services"].as_array().into_iter().flatten() {
                        println!(
                            "{:<36}  {:<10}  {}",
                            s["id"].as_str().unwrap_or(""),
                            s["dedup_mode"].as_str().unwrap_or(""),
                            clean(s["name"].as_str().unwrap_or(""))
                        );
                    }
                });
            }
            Command::Service {
                command: ServiceCommand::Create(args),
            } => self.create_service(args).await?,
            Command::Integration {
                command: IntegrationCommand::Create(args),
            } => {
                let created = self.create_integration(&args).await?;
                self.output(&created, |c| print_integration(&c["integration"]));
            }
            other => bail!("{other:?} is not a client command"),
        }
        Ok(())
    }

    /// An action that reshapes paging, with its body.
    async fn reshape(
        &self,
        incident: &str,
        action: &str,
        body: serde_json::Value,
        done: &str,
    ) -> anyhow::Result<()> {
        let result = self
            .call(
                Method::POST,
                &format!("/incidents/{}/{action}", encode(incident)),
                Some(body),
            )
            .await?;
        self.output(&result, |r| {
            let n = r["incident"]["number"].as_i64().unwrap_or_default();
            let status = r["incident"]["status"].as_str().unwrap_or_default();
            println!("#{n} {done} ({status})");
        });
        Ok(())
    }

    async fn act(&self, incidents: &[String], action: &str, done: &str) -> anyhow::Result<()> {
        let mut failed = 0;
        for incident in incidents {
            match self
                .call(
                    Method::POST,
                    &format!("/incidents/{}/{action}", encode(incident)),
                    None,
                )
                .await
            {
                Ok(result) => self.output(&result, |r| {
                    let n = r["incident"]["number"].as_i64().unwrap_or_default();
                    if r["changed"].as_bool() == Some(true) {
                        println!("#{n} {done}");
                    } else {
                        println!("#{n} was already {done}");
                    }
                }),
                Err(e) => {
                    failed += 1;
                    eprintln!("{}: {e:#}", clean(incident));
                }
            }
        }
        if failed > 0 {
            bail!(
                "{failed} of {} incidents could not be {done}",
                incidents.len()
            );
        }
        Ok(())
    }

    async fn create_integration(&self, args: &NewIntegrationArgs) -> anyhow::Result<Value> {
        self.call(
            Method::POST,
            &format!("/services/{}/integrations", encode(&args.service)),
            Some(json!({ "name": args.name, "type": "events_v2" })),
        )
        .await
    }

    async fn create_service(&self, args: NewServiceArgs) -> anyhow::Result<()> {
        let created = self
            .call(
                Method::POST,
                "/services",
                Some(json!({"name": args.name, "description": args.description, "dedup_mode": args.dedup_mode})),
            )
            .await?;
        let service = &created["service"];
        let integration = if args.no_integration {
            Value::Null
        } else {
            let integration_args = NewIntegrationArgs {
                service: service["id"].as_str().unwrap_or_default().to_owned(),
                name: "Events API v2".to_owned(),
            };
            self.create_integration(&integration_args).await?["integration"].clone()
        };
        let both = json!({"service": service, "integration": integration});
        self.output(&both, |b| {
            println!(
                "Created service '{}' ({})",
                clean(b["service"]["name"].as_str().unwrap_or("")),
                b["service"]["id"].as_str().unwrap_or("")
            );
            if !b["integration"].is_null() {
                print_integration(&b["integration"]);
            }
        });
        Ok(())
    }
}

/// Percent-encodes a path segment or query value.
fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
