//! Client commands for public status pages: list them, show one, make one and add its
//! components, publish and update public incidents (from templates too), publish drafts,
//! list templates and subscribers.

use anyhow::{Context, bail};
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{Client, encode};
use crate::cli::StatusCommand;
use crate::output::clean;

/// `NAME=STATE` arguments as the API's `components` object.
fn components(given: &[String]) -> anyhow::Result<Value> {
    let mut out = Map::new();
    for item in given {
        let Some((name, state)) = item.rsplit_once('=') else {
            bail!("--component takes NAME=STATE, such as API=partial_outage, not '{item}'");
        };
        out.insert(
            name.trim().to_owned(),
            Value::String(state.trim().to_owned()),
        );
    }
    Ok(Value::Object(out))
}

/// One public incident as a line: id, status, title.
fn incident_line(i: &Value) -> String {
    let status = if i["draft"] == true {
        "draft".to_owned()
    } else {
        clean(i["status"].as_str().unwrap_or(""))
    };
    format!(
        "{}  {status}  {}",
        i["id"].as_str().unwrap_or(""),
        clean(i["name"].as_str().unwrap_or(""))
    )
}

impl Client {
    pub(super) async fn status(&self, command: StatusCommand) -> anyhow::Result<()> {
        match command {
            StatusCommand::Pages => {
                let list = self.call(Method::GET, "/status-pages", None).await?;
                self.output(&list, |l| {
                    let pages = l["status_pages"].as_array().cloned().unwrap_or_default();
                    if pages.is_empty() {
                        println!("No status pages.");
                    }
                    for p in pages {
                        println!(
                            "{}  {}  {}",
                            clean(p["slug"].as_str().unwrap_or("")),
                            clean(p["name"].as_str().unwrap_or("")),
                            p["url"].as_str().unwrap_or("")
                        );
                    }
                });
            }
            StatusCommand::Show { page } => {
                let base = format!("/status-pages/{}", encode(&page));
                let found = self.call(Method::GET, &base, None).await?;
                let parts = self
                    .call(Method::GET, &format!("{base}/components"), None)
                    .await?;
                let incidents = self
                    .call(Method::GET, &format!("{base}/incidents"), None)
                    .await?;
                let open: Vec<Value> = incidents["incidents"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|i| !matches!(i["status"].as_str(), Some("resolved" | "completed")))
                    .collect();
                let all = json!({
                    "status_page": found["status_page"],
                    "components": parts["components"],
                    "incidents": open,
                });
                self.output(&all, |a| {
                    let p = &a["status_page"];
                    println!(
                        "{} ({})",
                        clean(p["name"].as_str().unwrap_or("")),
                        p["url"].as_str().unwrap_or("")
                    );
                    for c in a["components"].as_array().into_iter().flatten() {
                        let state = if c["group"] == true {
                            "group"
                        } else {
                            c["status"].as_str().unwrap_or("")
                        };
                        println!("  {}  {state}", clean(c["name"].as_str().unwrap_or("")));
                    }
                    let open = a["incidents"].as_array().cloned().unwrap_or_default();
                    if open.is_empty() {
                        println!("No public incident in progress.");
                    }
                    for i in open {
                        println!("{}", incident_line(&i));
                    }
                });
            }
            StatusCommand::Create {
                slug,
                name,
                host,
                time_zone,
                auto_publish,
                remind_every,
            } => {
                let request = json!({"slug": slug, "name": name, "host": host,
                    "time_zone": time_zone, "auto_publish": auto_publish,
                    "remind_every_minutes": remind_every});
                let made = self
                    .call(Method::POST, "/status-pages", Some(request))
                    .await?;
                self.output(&made, |m| {
                    let p = &m["status_page"];
                    println!(
                        "Made {} at {}",
                        clean(p["name"].as_str().unwrap_or("")),
                        p["url"].as_str().unwrap_or("")
                    );
                });
            }
            StatusCommand::AddComponent {
                page,
                name,
                description,
                group,
                is_group,
                service,
            } => {
                let request = json!({"name": name, "description": description,
                    "group_id": group, "group": is_group, "service": service});
                let path = format!("/status-pages/{}/components", encode(&page));
                let made = self.call(Method::POST, &path, Some(request)).await?;
                self.output(&made, |m| {
                    let c = &m["component"];
                    println!(
                        "Added {}  {}",
                        c["id"].as_str().unwrap_or(""),
                        clean(c["name"].as_str().unwrap_or(""))
                    );
                });
            }
            StatusCommand::Templates { page } => {
                let path = format!("/status-pages/{}/templates", encode(&page));
                let list = self.call(Method::GET, &path, None).await?;
                self.output(&list, |l| {
                    let all = l["templates"].as_array().cloned().unwrap_or_default();
                    if all.is_empty() {
                        println!("No templates.");
                    }
                    for t in all {
                        println!(
                            "{}  \"{}\"  {}",
                            clean(t["name"].as_str().unwrap_or("")),
                            clean(t["title"].as_str().unwrap_or("")),
                            clean(t["status"].as_str().unwrap_or(""))
                        );
                    }
                });
            }
            StatusCommand::Subscribers { page } => {
                let path = format!("/status-pages/{}/subscribers", encode(&page));
                let list = self.call(Method::GET, &path, None).await?;
                self.output(&list, |l| {
                    let all = l["subscribers"].as_array().cloned().unwrap_or_default();
                    if all.is_empty() {
                        println!("No subscribers.");
                    }
                    for s in all {
                        println!(
                            "{}  {}  {}{}",
                            s["id"].as_str().unwrap_or(""),
                            clean(s["kind"].as_str().unwrap_or("")),
                            clean(s["address"].as_str().unwrap_or("")),
                            if s["confirmed"] == true {
                                ""
                            } else {
                                "  (not confirmed)"
                            }
                        );
                    }
                });
            }
            StatusCommand::Publish {
                page,
                name,
                body,
                components: given,
                incident,
                template,
            } => {
                let request = json!({
                    "name": name.unwrap_or_default(),
                    "body": body.unwrap_or_default(),
                    "components": components(&given)?,
                    "incident": incident,
                    "template": template,
                });
                let made = self
                    .call(
                        Method::POST,
                        &format!("/status-pages/{}/incidents", encode(&page)),
                        Some(request),
                    )
                    .await?;
                self.output(&made, |m| {
                    println!("Published: {}", incident_line(&m["incident"]))
                });
            }
            StatusCommand::Update {
                page,
                id,
                status,
                body,
                components: given,
            } => {
                let request =
                    json!({"status": status, "body": body, "components": components(&given)?});
                let path = format!(
                    "/status-pages/{}/incidents/{}/updates",
                    encode(&page),
                    encode(&id)
                );
                let posted = self.call(Method::POST, &path, Some(request)).await?;
                self.output(&posted, |p| {
                    println!("Posted: {}", incident_line(&p["incident"]))
                });
            }
            StatusCommand::PublishDraft { page, id } => {
                let path = format!(
                    "/status-pages/{}/incidents/{}/publish",
                    encode(&page),
                    encode(&id)
                );
                let published = self
                    .call(Method::POST, &path, None)
                    .await
                    .context("publishing the draft")?;
                self.output(&published, |p| {
                    println!("Published: {}", incident_line(&p["incident"]))
                });
            }
        }
        Ok(())
    }
}
