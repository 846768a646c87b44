//! Settings for running onduty in production: HTTPS, where `/metrics` is served, and
//! who watches the watchman (the outside dead-man's switch, the integration a takeover of
//! the engine raises its incident through).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use onduty_core::RoutingKey;
use serde::Deserialize;

/// Flags and environment variables of this part.
#[derive(Clone, Default, clap::Args)]
pub struct OperationsOverrides {
    /// Serve /metrics without a token on this address of its own, e.g. 127.0.0.1:9464
    #[arg(long, env = "ONDUTY_METRICS_LISTEN", global = true)]
    pub metrics_listen: Option<String>,
    /// Serve /metrics on the main address to scrapes bearing this token
    #[arg(
        long,
        env = "ONDUTY_METRICS_TOKEN",
        global = true,
        hide_env_values = true
    )]
    pub metrics_token: Option<String>,
    /// A dead-man's switch URL (healthchecks-style) pinged every minute while the engine
    /// is healthy
    #[arg(
        long,
        env = "ONDUTY_WATCHDOG_PING_URL",
        global = true,
        hide_env_values = true
    )]
    pub watchdog_ping_url: Option<String>,
    /// The routing key of an integration that takes the incident raised when an instance
    /// takes the engine over from one that stopped
    #[arg(
        long,
        env = "ONDUTY_WATCHDOG_ROUTING_KEY",
        global = true,
        hide_env_values = true
    )]
    pub watchdog_routing_key: Option<String>,
    /// Serve HTTPS with this PEM certificate chain (reloaded on SIGHUP)
    #[arg(long, env = "ONDUTY_TLS_CERT", global = true)]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert
    #[arg(long, env = "ONDUTY_TLS_KEY", global = true)]
    pub tls_key: Option<PathBuf>,
    /// With HTTPS: answer plain HTTP on this address with a redirect to HTTPS, e.g.
    /// 0.0.0.0:80
    #[arg(long, env = "ONDUTY_TLS_REDIRECT_LISTEN", global = true)]
    pub tls_redirect_listen: Option<String>,
    /// Keep raw events and resolved incidents' timelines this many days (7 to 3650)
    /// [default: forever]
    #[arg(long, env = "ONDUTY_RETENTION_DAYS", global = true)]
    pub retention_days: Option<u32>,
    /// Keep the audit log's entries this many days (7 to 3650) [default: forever]
    #[arg(long, env = "ONDUTY_RETENTION_AUDIT_DAYS", global = true)]
    pub retention_audit_days: Option<u32>,
    /// The client secret of onduty's client at the OpenID provider ([oidc])
    #[arg(
        long,
        env = "ONDUTY_OIDC_CLIENT_SECRET",
        global = true,
        hide_env_values = true
    )]
    pub oidc_client_secret: Option<String>,
}

impl fmt::Debug for OperationsOverrides {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OperationsOverrides")
            .field("metrics_listen", &self.metrics_listen)
            .finish_non_exhaustive()
    }
}

/// `[metrics]` in `onduty.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MetricsFile {
    listen: Option<String>,
    token: Option<String>,
}

/// `[tls]` in `onduty.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TlsFile {
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    redirect_listen: Option<String>,
}

/// Native HTTPS: the certificate chain and key files (read at start and on SIGHUP), and
/// where plain HTTP is redirected from.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub redirect_listen: Option<SocketAddr>,
}

pub(super) fn tls_settings(
    f: TlsFile,
    o: &OperationsOverrides,
) -> anyhow::Result<Option<TlsSettings>> {
    let redirect = o
        .tls_redirect_listen
        .clone()
        .or(f.redirect_listen)
        .filter(|r| !r.trim().is_empty());
    let (cert, key) = match (o.tls_cert.clone().or(f.cert), o.tls_key.clone().or(f.key)) {
        (None, None) if redirect.is_some() => {
            bail!("tls.redirect_listen redirects to HTTPS: set tls.cert and tls.key too")
        }
        (None, None) => return Ok(None),
        (Some(cert), Some(key)) => (cert, key),
        _ => bail!("tls.cert and tls.key go together: set both or neither"),
    };
    let redirect_listen = match redirect {
        None => None,
        Some(text) => Some(text.parse().with_context(|| {
            format!("tls.redirect_listen '{text}' is not host:port (for example 0.0.0.0:80)")
        })?),
    };
    Ok(Some(TlsSettings {
        cert,
        key,
        redirect_listen,
    }))
}

/// `[watchdog]` in `onduty.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WatchdogFile {
    ping_url: Option<String>,
    routing_key: Option<String>,
}

/// Where `/metrics` is served: on an address of its own, behind a token on the main
/// address, both, or (neither set) nowhere.
#[derive(Clone, Default)]
pub struct MetricsSettings {
    pub listen: Option<SocketAddr>,
    pub token: Option<String>,
}

impl fmt::Debug for MetricsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsSettings")
            .field("listen", &self.listen)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The shortest metrics token taken: a scrape token is a password.
const MIN_TOKEN: usize = 16;

pub(super) fn metrics_settings(
    f: MetricsFile,
    o: &OperationsOverrides,
) -> anyhow::Result<MetricsSettings> {
    let listen = match o.metrics_listen.clone().or(f.listen) {
        None => None,
        Some(text) if text.trim().is_empty() => None,
        Some(text) => Some(text.parse().with_context(|| {
            format!("metrics.listen '{text}' is not host:port (for example 127.0.0.1:9464)")
        })?),
    };
    let token = o
        .metrics_token
        .clone()
        .or(f.token)
        .filter(|t| !t.is_empty());
    if let Some(token) = &token
        && (token.len() < MIN_TOKEN || !token.bytes().all(|b| b.is_ascii_graphic()))
    {
        bail!("metrics.token must be at least {MIN_TOKEN} visible ASCII characters");
    }
    Ok(MetricsSettings { listen, token })
}

/// Who watches the watchman.
#[derive(Clone, Default)]
pub struct WatchdogSettings {
    /// Pinged every minute while the engine is healthy.
    pub ping_url: Option<String>,
    /// The integration a takeover of the engine raises its incident through.
    pub routing_key: Option<RoutingKey>,
}

impl fmt::Debug for WatchdogSettings {
    // Either one lets whoever reads it speak for onduty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchdogSettings")
            .field("ping_url", &self.ping_url.as_ref().map(|_| "<redacted>"))
            .field(
                "routing_key",
                &self.routing_key.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

pub(super) fn watchdog_settings(
    f: WatchdogFile,
    o: &OperationsOverrides,
) -> anyhow::Result<WatchdogSettings> {
    let ping_url = o
        .watchdog_ping_url
        .clone()
        .or(f.ping_url)
        .filter(|u| !u.trim().is_empty());
    if let Some(u) = &ping_url {
        let parsed = url::Url::parse(u).context("watchdog.ping_url is not a URL")?;
        if !matches!(parsed.scheme(), "http" | "https") {
            bail!("watchdog.ping_url must start with https:// (or http://)");
        }
    }
    let routing_key = match o.watchdog_routing_key.clone().or(f.routing_key) {
        None => None,
        Some(k) if k.trim().is_empty() => None,
        Some(k) => Some(RoutingKey::parse(k.trim()).map_err(|e| {
            anyhow::anyhow!("watchdog.routing_key is not an integration's routing key: {e}")
        })?),
    };
    Ok(WatchdogSettings {
        ping_url,
        routing_key,
    })
}

/// `[retention]` in `onduty.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RetentionFile {
    days: Option<u32>,
    audit_days: Option<u32>,
}

pub(super) fn retention(
    f: &RetentionFile,
    o: &OperationsOverrides,
) -> anyhow::Result<Option<onduty_core::retention::Retention>> {
    days(
        o.retention_days.or(f.days),
        onduty_core::retention::Retention::days,
    )
}

/// How long the audit log is kept (`[retention] audit_days`); `None`: forever.
pub(super) fn audit_retention(
    f: &RetentionFile,
    o: &OperationsOverrides,
) -> anyhow::Result<Option<onduty_core::retention::Retention>> {
    days(
        o.retention_audit_days.or(f.audit_days),
        onduty_core::retention::Retention::audit_days,
    )
}

/// A retention in days, if one is set, checked by `parse`.
fn days(
    set: Option<u32>,
    parse: fn(u32) -> Result<onduty_core::retention::Retention, String>,
) -> anyhow::Result<Option<onduty_core::retention::Retention>> {
    set.map(parse).transpose().map_err(anyhow::Error::msg)
}
