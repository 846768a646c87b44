//! Client commands: talk to a running onduty over its REST API with an API token.

use std::collections::HashMap;

use anyhow::{Context, bail};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::cli::{
    ClientArgs, Command, IntegrationCommand, NewIntegrationArgs, NewServiceArgs, OverrideCommand,
    ScheduleCommand, ServiceCommand,
};
use crate::output::{clean, print_incident, print_incident_table, print_integration, print_json};

mod access;
mod config;
mod postmortems;
mod reports;
mod status;

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
        let text = self.call_text(method, path, body).await?;
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// An API call's answer as text (a Markdown export, say), or why it failed.
    async fn call_text(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<String> {
        let url = format!("{}/api/v1{path}", self.base);
        let mut request = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.answer(request).await
    }

    /// A YAML document sent as it is, and the answer as JSON.
    async fn post_yaml(&self, path: &str, yaml: String) -> anyhow::Result<Value> {
        let url = format!("{}/api/v1{path}", self.base);
        let request = self
            .http
            .post(&url)
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "application/yaml")
            .body(yaml);
        let text = self.answer(request).await?;
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// The answer's body, or why the call failed.
    async fn answer(&self, request: reqwest::RequestBuilder) -> anyhow::Result<String> {
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach onduty at {}", self.base))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            return Ok(text);
        }
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let message = body
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or("no details");
        if status == StatusCode::UNAUTHORIZED {
            bail!("the server refused the API token: {}", clean(message));
        }
        // Line by line: a refused document names one problem per line.
        let message: Vec<String> = message.split('\n').map(clean).collect();
        bail!(
            "{} {}: {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or(""),
            message.join("\n")
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
            Command::Oncall { at } => {
                let path = match at {
                    Some(at) => format!("/oncall?at={}", encode(&at)),
                    None => "/oncall".to_owned(),
                };
                let overview = self.call(Method::GET, &path, None).await?;
                self.output(&overview, print_on_call);
            }
            Command::Schedules => {
                let list = self.call(Method::GET, "/schedules", None).await?;
                self.output(&list, |l| {
                    for s in l["schedules"].as_array().into_iter().flatten() {
                        println!(
                            "{:<30}  {:<24}  {}",
                            clean(s["name"].as_str().unwrap_or("")),
                            clean(s["time_zone"].as_str().unwrap_or("")),
                            names(&s["on_call_now"]).unwrap_or_else(|| "nobody on call".into())
                        );
                    }
                });
            }
            Command::Schedule {
                command: ScheduleCommand::Show { schedule, days },
            } => {
                let zone = self.schedule_zone(&schedule).await?;
                let f = self
                    .call(
                        Method::GET,
                        &format!("/schedules/{}/final?days={days}", encode(&schedule)),
                        None,
                    )
                    .await?;
                self.output(&f, |f| print_final_schedule(f, &zone));
            }
            Command::Override { command } => self.overrides(command).await?,
            Command::Integration {
                command: IntegrationCommand::Create(args),
            } => {
                let created = self.create_integration(&args).await?;
                self.output(&created, |c| print_integration(&c["integration"]));
            }
            Command::Integration { command } => self.integration_access(command).await?,
            Command::Token { command } => self.tokens(command).await?,
            Command::User { command } => self.people(command).await?,
            Command::Status { command } => self.status(command).await?,
            Command::Postmortem { command } => self.postmortems(command).await?,
            Command::Report(args) => self.report(args).await?,
            Command::Export {
                with_secrets,
                output,
                dir,
            } => self.export(with_secrets, output, dir).await?,
            Command::Apply {
                file,
                dry_run,
                prune,
            } => self.apply(&file, dry_run, prune).await?,
            other => bail!("{other:?} is not a client command"),
        }
        Ok(())
    }

    /// A schedule's time zone, to show and read times on its wall clock.
    async fn schedule_zone(&self, schedule: &str) -> anyhow::Result<String> {
        let s = self
            .call(
                Method::GET,
                &format!("/schedules/{}", encode(schedule)),
                None,
            )
            .await?;
        Ok(s["schedule"]["time_zone"]
            .as_str()
            .unwrap_or("UTC")
            .to_owned())
    }

    async fn overrides(&self, command: OverrideCommand) -> anyhow::Result<()> {
        match command {
            OverrideCommand::Add {
                schedule,
                user,
                start,
                end,
            } => {
                let zone = self.schedule_zone(&schedule).await?;
                let body = json!({
                    "user": user,
                    "start": instant_in(&start, &zone)?,
                    "end": instant_in(&end, &zone)?,
                });
                let created = self
                    .call(
                        Method::POST,
                        &format!("/schedules/{}/overrides", encode(&schedule)),
                        Some(body),
                    )
                    .await?;
                self.output(&created, |c| {
                    let o = &c["override"];
                    println!(
                        "{} covers {} from {} to {} (override {})",
                        clean(o["user"]["name"].as_str().unwrap_or("")),
                        clean(&schedule),
                        local(o["start"].as_str().unwrap_or(""), &zone),
                        local(o["end"].as_str().unwrap_or(""), &zone),
                        o["id"].as_str().unwrap_or("")
                    );
                });
            }
            OverrideCommand::List { schedule, days } => {
                let zone = self.schedule_zone(&schedule).await?;
                let list = self
                    .call(
                        Method::GET,
                        &format!("/schedules/{}/overrides?days={days}", encode(&schedule)),
                        None,
                    )
                    .await?;
                self.output(&list, |l| {
                    let items = l["overrides"].as_array().cloned().unwrap_or_default();
                    if items.is_empty() {
                        println!("No overrides.");
                    }
                    for o in items {
                        println!(
                            "{}  {} → {}  {}",
                            o["id"].as_str().unwrap_or(""),
                            local(o["start"].as_str().unwrap_or(""), &zone),
                            local(o["end"].as_str().unwrap_or(""), &zone),
                            clean(o["user"]["name"].as_str().unwrap_or(""))
                        );
                    }
                });
            }
            OverrideCommand::Remove { schedule, id } => {
                self.call(
                    Method::DELETE,
                    &format!("/schedules/{}/overrides/{}", encode(&schedule), encode(&id)),
                    None,
                )
                .await?;
                if !self.json {
                    println!("Override {} removed.", clean(&id));
                }
            }
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

/// "Alice, Bob" from a list of people, or `None` if it is empty.
fn names(people: &Value) -> Option<String> {
    let list: Vec<String> = people
        .as_array()?
        .iter()
        .map(|p| clean(p["name"].as_str().unwrap_or("")))
        .collect();
    (!list.is_empty()).then(|| list.join(", "))
}

/// An RFC 3339 instant shown on `zone`'s wall clock: "Fri 27 Nov 18:00".
fn local(instant: &str, zone: &str) -> String {
    let Ok(ts) = instant.parse::<jiff::Timestamp>() else {
        return clean(instant);
    };
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    ts.to_zoned(tz).strftime("%a %d %b %H:%M").to_string()
}

/// A time from the command line as RFC 3339: as given if it has an offset, else read on
/// `zone`'s wall clock (`2026-11-27T18:00`).
fn instant_in(text: &str, zone: &str) -> anyhow::Result<String> {
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Ok(ts.to_string());
    }
    let civil: jiff::civil::DateTime = text.parse().with_context(|| {
        format!("'{text}' is neither RFC 3339 nor a local date and time like 2026-11-27T18:00")
    })?;
    let tz = jiff::tz::TimeZone::get(zone)?;
    Ok(civil.to_zoned(tz)?.timestamp().to_string())
}

fn print_on_call(overview: &Value) {
    println!("Schedules");
    for s in overview["schedules"].as_array().into_iter().flatten() {
        let who = names(&s["on_call"]).unwrap_or_else(|| "nobody on call".into());
        let until = s["until"]
            .as_str()
            .map(|u| format!(" until {u}"))
            .unwrap_or_default();
        println!(
            "  {:<30}  {who}{until}",
            clean(s["name"].as_str().unwrap_or(""))
        );
    }
    println!("Escalation policies");
    for p in overview["escalation_policies"]
        .as_array()
        .into_iter()
        .flatten()
    {
        println!("  {}", clean(p["name"].as_str().unwrap_or("")));
        for l in p["levels"].as_array().into_iter().flatten() {
            let handed = l["hands_over_to"]
                .as_str()
                .map(|other| format!("hands over to {}: ", clean(other)))
                .unwrap_or_default();
            println!(
                "    level {}: {handed}{}",
                l["level"],
                names(&l["people"]).unwrap_or_else(|| "nobody".into())
            );
        }
    }
}

fn print_final_schedule(f: &Value, zone: &str) {
    println!("{} ({zone})", clean(f["schedule"].as_str().unwrap_or("")));
    let mut rows: Vec<(String, String, String, String)> = Vec::new();
    for s in f["shifts"].as_array().into_iter().flatten() {
        rows.push((
            s["start"].as_str().unwrap_or("").to_owned(),
            s["end"].as_str().unwrap_or("").to_owned(),
            clean(s["user"]["name"].as_str().unwrap_or("")),
            clean(s["from"].as_str().unwrap_or("")),
        ));
    }
    for g in f["gaps"].as_array().into_iter().flatten() {
        rows.push((
            g["start"].as_str().unwrap_or("").to_owned(),
            g["end"].as_str().unwrap_or("").to_owned(),
            "NOBODY ON CALL".to_owned(),
            "gap".to_owned(),
        ));
    }
    // RFC 3339 in UTC sorts by time.
    rows.sort();
    for (start, end, who, from) in rows {
        println!(
            "  {} → {}  {who} ({from})",
            local(&start, zone),
            local(&end, zone)
        );
    }
}
