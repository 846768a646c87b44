//! Client commands that take access away: API tokens listed and revoked, people
//! disabled, enabled and deleted, integrations deleted and their keys rotated.

use reqwest::Method;
use serde_json::Value;

use super::{Client, encode};
use crate::cli::{IntegrationCommand, TokenCommand, UserCommand};
use crate::output::{clean, print_integration};

impl Client {
    /// `/me/tokens`, or a person's tokens for admins.
    fn tokens_path(user: Option<&str>) -> String {
        match user {
            Some(user) => format!("/users/{}/tokens", encode(user)),
            None => "/me/tokens".to_owned(),
        }
    }

    pub(super) async fn tokens(&self, command: TokenCommand) -> anyhow::Result<()> {
        match command {
            TokenCommand::List { user } => {
                let list = self
                    .call(Method::GET, &Self::tokens_path(user.as_deref()), None)
                    .await?;
                self.output(&list, |l| {
                    let tokens = l["tokens"].as_array().cloned().unwrap_or_default();
                    if tokens.is_empty() {
                        println!("No API tokens.");
                    }
                    for t in tokens {
                        println!(
                            "{}  {}  made {}",
                            t["id"].as_str().unwrap_or(""),
                            clean(t["name"].as_str().unwrap_or("")),
                            t["created_at"].as_str().unwrap_or("")
                        );
                    }
                });
            }
            TokenCommand::Revoke { id, user } => {
                let path = format!("{}/{}", Self::tokens_path(user.as_deref()), encode(&id));
                self.call(Method::DELETE, &path, None).await?;
                if !self.json {
                    println!("Token {} revoked: it is refused from now on.", clean(&id));
                }
            }
        }
        Ok(())
    }

    pub(super) async fn people(&self, command: UserCommand) -> anyhow::Result<()> {
        let (method, user, suffix, done) = match &command {
            UserCommand::Disable { user } => (
                Method::POST,
                user,
                "/disable",
                "disabled: their sessions and tokens have ended",
            ),
            UserCommand::Enable { user } => (Method::POST, user, "/enable", "enabled"),
            UserCommand::Delete { user } => (Method::DELETE, user, "", "deleted"),
        };
        let answer = self
            .call(method, &format!("/users/{}{suffix}", encode(user)), None)
            .await?;
        self.output(&answer, |_| println!("{} {done}.", clean(user)));
        Ok(())
    }

    pub(super) async fn integration_access(
        &self,
        command: IntegrationCommand,
    ) -> anyhow::Result<()> {
        match command {
            IntegrationCommand::Create(_) => unreachable!("created by Client::run"),
            IntegrationCommand::Delete { id } => {
                self.call(
                    Method::DELETE,
                    &format!("/integrations/{}", encode(&id)),
                    None,
                )
                .await?;
                if !self.json {
                    println!(
                        "Integration {} deleted: its key is refused from now on.",
                        clean(&id)
                    );
                }
            }
            IntegrationCommand::RotateKey { id } => {
                let rotated = self
                    .call(
                        Method::POST,
                        &format!("/integrations/{}/rotate-key", encode(&id)),
                        None,
                    )
                    .await?;
                self.output(&rotated, |r: &Value| {
                    println!("New key; the old one is refused from now on.");
                    print_integration(&r["integration"]);
                });
            }
        }
        Ok(())
    }
}
