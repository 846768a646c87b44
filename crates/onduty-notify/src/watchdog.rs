//! The ping to an outside dead-man's switch (healthchecks.io, Uptime Kuma's push monitor,
//! Dead Man's Snitch, Cronitor, …): a `GET` of the URL the operator configured, through
//! the outbound address policy like every other request onduty makes.

use std::time::Duration;

use crate::NotifyError;
use crate::outbound::OutboundPolicy;

/// A ping that takes longer than this has failed (the next one goes a minute later).
pub const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// Pings a dead-man's switch.
#[derive(Clone)]
pub struct Pinger {
    url: reqwest::Url,
    client: reqwest::Client,
}

impl std::fmt::Debug for Pinger {
    // The URL is the switch's secret: anyone holding it can ping for onduty.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pinger")
            .field("host", &self.url.host_str())
            .finish_non_exhaustive()
    }
}

impl Pinger {
    /// A pinger for `url`, refused at once if the policy does not allow its address.
    pub fn new(policy: &OutboundPolicy, url: &str) -> Result<Pinger, String> {
        let url = reqwest::Url::parse(url)
            .map_err(|e| format!("the dead-man's switch URL is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("the dead-man's switch URL must be http:// or https://".to_owned());
        }
        policy
            .check_url(&url)
            .map_err(|e| format!("the dead-man's switch URL: {e}"))?;
        Ok(Pinger {
            url,
            client: policy.client(PING_TIMEOUT),
        })
    }

    /// Sends one ping; any 2xx answer counts.
    pub async fn ping(&self) -> Result<(), NotifyError> {
        let answer = self
            .client
            .get(self.url.clone())
            .header(reqwest::header::USER_AGENT, "onduty watchdog")
            .send()
            .await
            .map_err(|e| match crate::outbound::refusal(&e) {
                Some(refused) => NotifyError::Blocked(refused.to_string()),
                None => NotifyError::Transient(format!("no answer: {}", e.without_url())),
            })?;
        if answer.status().is_success() {
            Ok(())
        } else {
            Err(NotifyError::Transient(format!(
                "answered {}",
                answer.status()
            )))
        }
    }
}
