//! Configuration: defaults, then `onduty.toml`, then `ONDUTY_…` environment variables,
//! then command-line flags. The only module that reads files and the environment for
//! settings.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use onduty_store::SqliteSync;
pub use operations::{MetricsSettings, OperationsOverrides, TlsSettings, WatchdogSettings};
use serde::Deserialize;

mod example;
mod operations;
mod sso;

/// Settings that flags and environment variables can give (clap fills them from both,
/// flags first). `None` means "not given here": the file or the default decides.
#[derive(Clone, Default, clap::Args)]
pub struct Overrides {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "ONDUTY_LISTEN", global = true)]
    pub listen: Option<String>,
    /// Directory for the embedded SQLite database [default: ./onduty-data]
    #[arg(long, env = "ONDUTY_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL: postgres://… to use PostgreSQL, sqlite://… for a SQLite file
    /// [default: SQLite in the data directory]
    #[arg(
        long,
        env = "ONDUTY_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// The URL people and tools use to reach onduty (used in examples and links)
    /// [default: http://<listen address>]
    #[arg(long, env = "ONDUTY_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Reverse proxies whose X-Forwarded-For is believed, comma-separated addresses or
    /// networks (e.g. 127.0.0.1,10.0.0.0/8) [default: none]
    #[arg(long, env = "ONDUTY_TRUSTED_PROXIES", global = true)]
    pub trusted_proxies: Option<String>,
    /// Internal networks, addresses or host names that webhooks may be sent to,
    /// comma-separated (e.g. 10.0.0.0/8,alerts.internal) [default: none]
    #[arg(long, env = "ONDUTY_OUTBOUND_ALLOW", global = true)]
    pub outbound_allow: Option<String>,
    /// HTTP connections served at once; past it new ones are answered 503
    /// [default: 10000, and fewer if the open-file limit asks]
    #[arg(long, env = "ONDUTY_MAX_CONNECTIONS", global = true)]
    pub max_connections: Option<usize>,
    /// Log format: text or json [default: text]
    #[arg(long, env = "ONDUTY_LOG_FORMAT", global = true)]
    pub log_format: Option<String>,
    /// Log filter, e.g. info or onduty=debug [default: info]
    #[arg(long, env = "ONDUTY_LOG", global = true)]
    pub log: Option<String>,
    /// Events accepted per routing key per minute; 0 turns the limit off [default: 6000]
    #[arg(long, env = "ONDUTY_INGEST_RATE_LIMIT_PER_MINUTE", global = true)]
    pub rate_limit_per_minute: Option<u32>,
    /// SQLite durability: full (survives power loss) or normal [default: full]
    #[arg(long, env = "ONDUTY_SQLITE_SYNCHRONOUS", global = true)]
    pub sqlite_synchronous: Option<String>,
    /// Twilio account SID (turns SMS and voice on, with the auth token and from-number)
    #[arg(long, env = "ONDUTY_TWILIO_ACCOUNT_SID", global = true)]
    pub twilio_account_sid: Option<String>,
    /// Twilio auth token
    #[arg(
        long,
        env = "ONDUTY_TWILIO_AUTH_TOKEN",
        global = true,
        hide_env_values = true
    )]
    pub twilio_auth_token: Option<String>,
    /// The Twilio number pages come from, E.164
    #[arg(long, env = "ONDUTY_TWILIO_FROM", global = true)]
    pub twilio_from: Option<String>,
    /// Twilio's API base URL [default: https://api.twilio.com]
    #[arg(long, env = "ONDUTY_TWILIO_API_BASE", global = true)]
    pub twilio_api_base: Option<String>,
    /// Slack bot token, xoxb-… (turns Slack on, with the signing secret)
    #[arg(
        long,
        env = "ONDUTY_SLACK_BOT_TOKEN",
        global = true,
        hide_env_values = true
    )]
    pub slack_bot_token: Option<String>,
    /// Slack app's signing secret
    #[arg(
        long,
        env = "ONDUTY_SLACK_SIGNING_SECRET",
        global = true,
        hide_env_values = true
    )]
    pub slack_signing_secret: Option<String>,
    /// The one Slack workspace whose requests are taken (T0123ABCD) [default: any]
    #[arg(long, env = "ONDUTY_SLACK_TEAM_ID", global = true)]
    pub slack_team_id: Option<String>,
    /// Slack's Web API base URL [default: https://slack.com/api]
    #[arg(long, env = "ONDUTY_SLACK_API_BASE", global = true)]
    pub slack_api_base: Option<String>,
    /// Telegram bot token from @BotFather (turns Telegram on, with the webhook secret)
    #[arg(
        long,
        env = "ONDUTY_TELEGRAM_BOT_TOKEN",
        global = true,
        hide_env_values = true
    )]
    pub telegram_bot_token: Option<String>,
    /// The secret_token given to Telegram's setWebhook, checked on every update
    #[arg(
        long,
        env = "ONDUTY_TELEGRAM_WEBHOOK_SECRET",
        global = true,
        hide_env_values = true
    )]
    pub telegram_webhook_secret: Option<String>,
    /// Telegram's Bot API base URL [default: https://api.telegram.org]
    #[arg(long, env = "ONDUTY_TELEGRAM_API_BASE", global = true)]
    pub telegram_api_base: Option<String>,
    /// Mattermost server URL (turns Mattermost on, with the bot token)
    #[arg(long, env = "ONDUTY_MATTERMOST_URL", global = true)]
    pub mattermost_url: Option<String>,
    /// Mattermost bot account's access token
    #[arg(
        long,
        env = "ONDUTY_MATTERMOST_BOT_TOKEN",
        global = true,
        hide_env_values = true
    )]
    pub mattermost_bot_token: Option<String>,
    /// SMTP server host (turns e-mail on, with the from-address)
    #[arg(long, env = "ONDUTY_SMTP_HOST", global = true)]
    pub smtp_host: Option<String>,
    /// SMTP port [default: 587 for starttls, 465 for tls, 25 for plain]
    #[arg(long, env = "ONDUTY_SMTP_PORT", global = true)]
    pub smtp_port: Option<u16>,
    /// SMTP security: starttls, tls or plain [default: starttls]
    #[arg(long, env = "ONDUTY_SMTP_SECURITY", global = true)]
    pub smtp_security: Option<String>,
    /// SMTP user name
    #[arg(long, env = "ONDUTY_SMTP_USERNAME", global = true)]
    pub smtp_username: Option<String>,
    /// SMTP password
    #[arg(
        long,
        env = "ONDUTY_SMTP_PASSWORD",
        global = true,
        hide_env_values = true
    )]
    pub smtp_password: Option<String>,
    /// The From of e-mails, e.g. "onduty <onduty@example.com>"
    #[arg(long, env = "ONDUTY_SMTP_FROM", global = true)]
    pub smtp_from: Option<String>,
    /// Take mail in: the address to listen on for SMTP, e.g. 0.0.0.0:2525 [default: off]
    #[arg(long, env = "ONDUTY_MAIL_LISTEN", global = true)]
    pub mail_listen: Option<String>,
    /// The domain mail is taken for: <integration key>@<domain> [default: the public URL's host]
    #[arg(long, env = "ONDUTY_MAIL_DOMAIN", global = true)]
    pub mail_domain: Option<String>,
    /// Offer STARTTLS on the mail listener with this certificate chain (PEM) [default: no TLS]
    #[arg(long, env = "ONDUTY_MAIL_TLS_CERT", global = true)]
    pub mail_tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --mail-tls-cert
    #[arg(long, env = "ONDUTY_MAIL_TLS_KEY", global = true)]
    pub mail_tls_key: Option<PathBuf>,
    #[command(flatten)]
    pub operations: OperationsOverrides,
}

impl fmt::Debug for Overrides {
    // The database URL may carry a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Overrides")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

/// `onduty.toml`. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    public_url: Option<String>,
    trusted_proxies: Option<Vec<String>>,
    max_connections: Option<usize>,
    log_format: Option<String>,
    log: Option<String>,
    #[serde(default)]
    ingest: IngestFile,
    #[serde(default)]
    twilio: TwilioFile,
    #[serde(default)]
    slack: SlackFile,
    #[serde(default)]
    telegram: TelegramFile,
    #[serde(default)]
    mattermost: MattermostFile,
    #[serde(default)]
    smtp: SmtpFile,
    #[serde(default)]
    mail: MailFile,
    #[serde(default)]
    outbound: OutboundFile,
    #[serde(default)]
    messages: MessagesFile,
    #[serde(default)]
    metrics: operations::MetricsFile,
    #[serde(default)]
    watchdog: operations::WatchdogFile,
    #[serde(default)]
    tls: operations::TlsFile,
    #[serde(default)]
    retention: operations::RetentionFile,
    #[serde(default)]
    oidc: sso::OidcFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessagesFile {
    per_person_per_hour: Option<u32>,
    per_hour: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutboundFile {
    allow: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MailFile {
    listen: Option<String>,
    domain: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
}

/// Taking mail in.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub listen: SocketAddr,
    /// `None`: the public URL's host.
    pub domain: Option<String>,
    /// The certificate chain and private key files (PEM) that `STARTTLS` uses; `None`: no
    /// TLS offered.
    pub tls: Option<(PathBuf, PathBuf)>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TwilioFile {
    account_sid: Option<String>,
    auth_token: Option<String>,
    from: Option<String>,
    api_base: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlackFile {
    bot_token: Option<String>,
    signing_secret: Option<String>,
    team_id: Option<String>,
    api_base: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TelegramFile {
    bot_token: Option<String>,
    webhook_secret: Option<String>,
    api_base: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MattermostFile {
    url: Option<String>,
    bot_token: Option<String>,
}

/// Telegram: a bot token to post and edit messages, and the secret token its updates
/// carry.
#[derive(Clone)]
pub struct TelegramSettings {
    pub bot_token: String,
    pub webhook_secret: String,
    pub api_base: String,
}

/// Slack: a bot token to post and update messages, and the signing secret its requests
/// (button clicks, the slash command) are checked with.
#[derive(Clone)]
pub struct SlackSettings {
    pub bot_token: String,
    pub signing_secret: String,
    /// The one workspace whose requests are taken; `None`: any.
    pub team_id: Option<String>,
    pub api_base: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SmtpFile {
    host: Option<String>,
    port: Option<u16>,
    security: Option<String>,
    username: Option<String>,
    password: Option<String>,
    from: Option<String>,
}

/// Twilio, for SMS and voice calls.
#[derive(Clone)]
pub struct TwilioSettings {
    pub account_sid: String,
    pub auth_token: String,
    pub from: String,
    pub api_base: String,
}

/// An SMTP server, for e-mail.
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: onduty_notify::email::SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct IngestFile {
    rate_limit_per_minute: Option<u32>,
    max_batch: Option<usize>,
    sqlite_synchronous: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The settled configuration.
#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Set when the operator chose a database; otherwise SQLite in `data_dir`.
    database_url: Option<String>,
    pub public_url: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub log_format: LogFormat,
    pub log: String,
    pub rate_limit_per_minute: u32,
    pub max_batch: usize,
    pub sqlite_sync: SqliteSync,
    /// Where the file settings came from, if a file was read.
    pub file: Option<PathBuf>,
    /// SMS and voice; `None` when not configured.
    pub twilio: Option<TwilioSettings>,
    /// Slack; `None` when not configured.
    pub slack: Option<SlackSettings>,
    /// Telegram; `None` when not configured.
    pub telegram: Option<TelegramSettings>,
    /// Mattermost: its server's URL and the bot's token; `None` when not configured.
    pub mattermost: Option<onduty_notify::BotConfig>,
    /// E-mail; `None` when not configured.
    pub smtp: Option<SmtpSettings>,
    /// Taking mail in; `None` when off.
    pub mail: Option<MailSettings>,
    /// Where requests to user-given addresses (webhooks) may go.
    pub outbound: onduty_notify::outbound::OutboundPolicy,
    /// Hourly limits on verification codes and test messages.
    pub message_limits: onduty_core::rate_limit::HourlyLimits,
    /// HTTP connections served at once (before the open-file limit is considered).
    pub max_connections: usize,
    /// Where `/metrics` is served.
    pub metrics: MetricsSettings,
    /// The dead-man's switch and the engine takeover's incident.
    pub watchdog: WatchdogSettings,
    /// Native HTTPS; `None`: plain HTTP (behind a proxy that terminates TLS, say).
    pub tls: Option<TlsSettings>,
    /// How long raw events and resolved incidents' timelines are kept; `None`: forever.
    pub retention: Option<onduty_core::retention::Retention>,
    /// How long the audit log is kept; `None`: forever.
    pub audit_retention: Option<onduty_core::retention::Retention>,
    /// Single sign-on; `None`: passwords only.
    pub sso: Option<onduty_web::SsoSettings>,
}

impl fmt::Debug for Config {
    // The database URL may carry a password: show it redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database", &self.database_display())
            .field("public_url", &self.public_url)
            .field("log_format", &self.log_format)
            .field("log", &self.log)
            .field("rate_limit_per_minute", &self.rate_limit_per_minute)
            .field("max_batch", &self.max_batch)
            .field("sqlite_sync", &self.sqlite_sync)
            .field("metrics", &self.metrics)
            .field("watchdog", &self.watchdog)
            .field("tls", &self.tls)
            .field("retention", &self.retention)
            .field("audit_retention", &self.audit_retention)
            .field("sso", &self.sso)
            .field("file", &self.file)
            .field("twilio", &self.twilio.as_ref().map(|t| &t.account_sid))
            .field("slack", &self.slack.as_ref().map(|s| &s.api_base))
            .field(
                "smtp",
                &self.smtp.as_ref().map(|m| format!("{}:{}", m.host, m.port)),
            )
            .finish()
    }
}

impl Config {
    /// Loads the configuration: `file` if given (it must exist), else `./onduty.toml`
    /// if present; then `overrides` (environment and flags) on top.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Config> {
        let (file_config, file) = match file {
            Some(path) => (read_file(path)?, Some(path.to_owned())),
            None if Path::new("onduty.toml").exists() => (
                read_file(Path::new("onduty.toml"))?,
                Some(PathBuf::from("onduty.toml")),
            ),
            None => (FileConfig::default(), None),
        };
        Config::merge(file_config, overrides, file)
    }

    fn merge(f: FileConfig, o: &Overrides, file: Option<PathBuf>) -> anyhow::Result<Config> {
        let listen_text = o
            .listen
            .clone()
            .or(f.listen)
            .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let listen: SocketAddr = listen_text.parse().with_context(|| {
            format!("listen address '{listen_text}' is not host:port (for example 127.0.0.1:8080)")
        })?;
        let log_format = match o.log_format.clone().or(f.log_format).as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => bail!("log format must be text or json, not '{other}'"),
        };
        let sqlite_sync = match o
            .sqlite_synchronous
            .clone()
            .or(f.ingest.sqlite_synchronous)
            .as_deref()
        {
            None | Some("full") | Some("FULL") => SqliteSync::Full,
            Some("normal") | Some("NORMAL") => SqliteSync::Normal,
            Some(other) => bail!("sqlite_synchronous must be full or normal, not '{other}'"),
        };
        let database_url = o
            .database_url
            .clone()
            .or(f.database_url)
            .filter(|u| !u.trim().is_empty());
        if let Some(url) = &database_url {
            onduty_store::Backend::of_url(url)?;
        }
        let public_url = o
            .public_url
            .clone()
            .or(f.public_url)
            .filter(|u| !u.trim().is_empty());
        if let Some(u) = &public_url {
            url::Url::parse(u).with_context(|| format!("public URL '{u}' is not a URL"))?;
        }
        let max_batch = f.ingest.max_batch.unwrap_or(512);
        if !(1..=4096).contains(&max_batch) {
            bail!("ingest.max_batch must be between 1 and 4096, not {max_batch}");
        }
        let twilio = twilio_settings(f.twilio, o)?;
        let slack = slack_settings(f.slack, o)?;
        let telegram = telegram_settings(f.telegram, o)?;
        let mattermost = mattermost_settings(f.mattermost, o)?;
        let smtp = smtp_settings(f.smtp, o)?;
        let mail = match o
            .mail_listen
            .clone()
            .or(f.mail.listen)
            .filter(|l| !l.trim().is_empty())
        {
            None if o.mail_tls_cert.is_some()
                || o.mail_tls_key.is_some()
                || f.mail.tls_cert.is_some()
                || f.mail.tls_key.is_some() =>
            {
                bail!("mail.tls_cert and mail.tls_key are for taking mail in: set mail.listen too")
            }
            None => None,
            Some(text) => Some(MailSettings {
                listen: text.parse().with_context(|| {
                    format!(
                        "mail listen address '{text}' is not host:port (for example 0.0.0.0:2525)"
                    )
                })?,
                domain: o
                    .mail_domain
                    .clone()
                    .or(f.mail.domain)
                    .filter(|d| !d.trim().is_empty()),
                tls: match (
                    o.mail_tls_cert.clone().or(f.mail.tls_cert),
                    o.mail_tls_key.clone().or(f.mail.tls_key),
                ) {
                    (None, None) => None,
                    (Some(cert), Some(key)) => Some((cert, key)),
                    _ => bail!("mail.tls_cert and mail.tls_key go together: set both or neither"),
                },
            }),
        };
        let proxies: Vec<String> = match (&o.trusted_proxies, f.trusted_proxies) {
            (Some(list), _) => list.split(',').map(str::to_owned).collect(),
            (None, Some(list)) => list,
            (None, None) => Vec::new(),
        };
        let trusted_proxies = proxies
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<ipnet::IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "trusted proxy '{p}' is not an address or a network (e.g. 10.0.0.0/8)"
                        )
                    })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let allow: Vec<String> = match (&o.outbound_allow, f.outbound.allow) {
            (Some(list), _) => list.split(',').map(str::to_owned).collect(),
            (None, Some(list)) => list,
            (None, None) => Vec::new(),
        };
        let outbound =
            onduty_notify::outbound::OutboundPolicy::parse(&allow).map_err(anyhow::Error::msg)?;
        let default_limits = onduty_core::rate_limit::HourlyLimits::default();
        let message_limits = onduty_core::rate_limit::HourlyLimits {
            per_person: f
                .messages
                .per_person_per_hour
                .unwrap_or(default_limits.per_person),
            total: f.messages.per_hour.unwrap_or(default_limits.total),
        };
        Ok(Config {
            metrics: operations::metrics_settings(f.metrics, &o.operations)?,
            watchdog: operations::watchdog_settings(f.watchdog, &o.operations)?,
            tls: operations::tls_settings(f.tls, &o.operations)?,
            retention: operations::retention(&f.retention, &o.operations)?,
            audit_retention: operations::audit_retention(&f.retention, &o.operations)?,
            sso: sso::sso_settings(f.oidc, o.operations.oidc_client_secret.as_deref())?,
            outbound,
            message_limits,
            max_connections: o
                .max_connections
                .or(f.max_connections)
                .unwrap_or(onduty_web::server::MAX_CONNECTIONS),
            trusted_proxies,
            twilio,
            slack,
            telegram,
            mattermost,
            smtp,
            mail,
            listen,
            data_dir: o
                .data_dir
                .clone()
                .or(f.data_dir)
                .unwrap_or_else(|| PathBuf::from("onduty-data")),
            database_url,
            public_url,
            log_format,
            log: o.log.clone().or(f.log).unwrap_or_else(|| "info".to_owned()),
            rate_limit_per_minute: o
                .rate_limit_per_minute
                .or(f.ingest.rate_limit_per_minute)
                .unwrap_or(6000),
            max_batch,
            sqlite_sync,
            file,
        })
    }

    /// True when the database is the embedded SQLite file in the data directory.
    pub fn uses_embedded_sqlite(&self) -> bool {
        self.database_url.is_none()
    }

    /// The database URL to connect to.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => onduty_store::sqlite_url_in(&self.data_dir),
        }
    }

    /// The database for people to read, password removed.
    pub fn database_display(&self) -> String {
        match &self.database_url {
            None => format!("SQLite at {}", self.data_dir.join("onduty.db").display()),
            Some(url) => redact_url(url),
        }
    }
}

/// Twilio's settings: all of account SID, auth token and from-number, or none.
fn twilio_settings(f: TwilioFile, o: &Overrides) -> anyhow::Result<Option<TwilioSettings>> {
    let sid = o.twilio_account_sid.clone().or(f.account_sid);
    let token = o.twilio_auth_token.clone().or(f.auth_token);
    let from = o.twilio_from.clone().or(f.from);
    let api_base = o
        .twilio_api_base
        .clone()
        .or(f.api_base)
        .unwrap_or_else(|| onduty_notify::twilio::DEFAULT_API_BASE.to_owned());
    match (sid, token, from) {
        (None, None, None) => Ok(None),
        (Some(account_sid), Some(auth_token), Some(from)) => {
            onduty_core::contact::PhoneNumber::parse(&from).map_err(|e| {
                anyhow::anyhow!("twilio.from '{from}' is not an E.164 phone number: {e}")
            })?;
            url::Url::parse(&api_base)
                .with_context(|| format!("twilio.api_base '{api_base}' is not a URL"))?;
            Ok(Some(TwilioSettings {
                account_sid,
                auth_token,
                from,
                api_base,
            }))
        }
        _ => bail!(
            "Twilio needs all of account_sid, auth_token and from (ONDUTY_TWILIO_ACCOUNT_SID, \
             ONDUTY_TWILIO_AUTH_TOKEN, ONDUTY_TWILIO_FROM)"
        ),
    }
}

/// Slack's settings: both the bot token and the signing secret, or neither.
fn slack_settings(f: SlackFile, o: &Overrides) -> anyhow::Result<Option<SlackSettings>> {
    let token = o.slack_bot_token.clone().or(f.bot_token);
    let secret = o.slack_signing_secret.clone().or(f.signing_secret);
    let api_base = o
        .slack_api_base
        .clone()
        .or(f.api_base)
        .unwrap_or_else(|| onduty_notify::slack::DEFAULT_API_BASE.to_owned());
    match (token, secret) {
        (None, None) => Ok(None),
        (Some(bot_token), Some(signing_secret)) => {
            url::Url::parse(&api_base)
                .with_context(|| format!("slack.api_base '{api_base}' is not a URL"))?;
            Ok(Some(SlackSettings {
                bot_token,
                signing_secret,
                team_id: o.slack_team_id.clone().or(f.team_id),
                api_base,
            }))
        }
        _ => bail!(
            "Slack needs both bot_token and signing_secret (ONDUTY_SLACK_BOT_TOKEN, \
             ONDUTY_SLACK_SIGNING_SECRET)"
        ),
    }
}

/// Telegram's settings: both the bot token and the webhook secret, or neither.
fn telegram_settings(f: TelegramFile, o: &Overrides) -> anyhow::Result<Option<TelegramSettings>> {
    let token = o.telegram_bot_token.clone().or(f.bot_token);
    let secret = o.telegram_webhook_secret.clone().or(f.webhook_secret);
    let api_base = o
        .telegram_api_base
        .clone()
        .or(f.api_base)
        .unwrap_or_else(|| onduty_notify::telegram::DEFAULT_API_BASE.to_owned());
    match (token, secret) {
        (None, None) => Ok(None),
        (Some(bot_token), Some(webhook_secret)) => {
            let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
            if !(1..=256).contains(&webhook_secret.len()) || !webhook_secret.chars().all(allowed) {
                bail!(
                    "telegram.webhook_secret must be 1 to 256 letters, digits, _ or - (Telegram's rule)"
                );
            }
            url::Url::parse(&api_base)
                .with_context(|| format!("telegram.api_base '{api_base}' is not a URL"))?;
            Ok(Some(TelegramSettings {
                bot_token,
                webhook_secret,
                api_base,
            }))
        }
        _ => bail!(
            "Telegram needs both bot_token and webhook_secret (ONDUTY_TELEGRAM_BOT_TOKEN, \
             ONDUTY_TELEGRAM_WEBHOOK_SECRET)"
        ),
    }
}

/// Mattermost's settings: both the server's URL and the bot's token, or neither.
fn mattermost_settings(
    f: MattermostFile,
    o: &Overrides,
) -> anyhow::Result<Option<onduty_notify::BotConfig>> {
    let url = o.mattermost_url.clone().or(f.url);
    let token = o.mattermost_bot_token.clone().or(f.bot_token);
    match (url, token) {
        (None, None) => Ok(None),
        (Some(api_base), Some(bot_token)) => {
            let parsed = url::Url::parse(&api_base)
                .with_context(|| format!("mattermost.url '{api_base}' is not a URL"))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                bail!("mattermost.url must start with https:// (or http://)");
            }
            Ok(Some(onduty_notify::BotConfig {
                bot_token,
                api_base,
            }))
        }
        _ => bail!(
            "Mattermost needs both url and bot_token (ONDUTY_MATTERMOST_URL, \
             ONDUTY_MATTERMOST_BOT_TOKEN)"
        ),
    }
}

/// SMTP's settings: host and from-address turn it on.
fn smtp_settings(f: SmtpFile, o: &Overrides) -> anyhow::Result<Option<SmtpSettings>> {
    use onduty_notify::email::SmtpSecurity;
    let host = o.smtp_host.clone().or(f.host);
    let from = o.smtp_from.clone().or(f.from);
    let (host, from) = match (host, from) {
        (None, None) => return Ok(None),
        (Some(h), Some(f)) => (h, f),
        _ => bail!("SMTP needs both host and from (ONDUTY_SMTP_HOST, ONDUTY_SMTP_FROM)"),
    };
    let security_text = o
        .smtp_security
        .clone()
        .or(f.security)
        .unwrap_or_else(|| "starttls".to_owned());
    let security = SmtpSecurity::parse(&security_text).ok_or_else(|| {
        anyhow::anyhow!("smtp.security must be starttls, tls or plain, not '{security_text}'")
    })?;
    let port = o.smtp_port.or(f.port).unwrap_or(match security {
        SmtpSecurity::StartTls => 587,
        SmtpSecurity::Tls => 465,
        SmtpSecurity::Plain => 25,
    });
    if from.parse::<lettre::message::Mailbox>().is_err() {
        bail!("smtp.from '{from}' is not an e-mail address (e.g. \"onduty <onduty@example.com>\")");
    }
    Ok(Some(SmtpSettings {
        host,
        port,
        security,
        username: o.smtp_username.clone().or(f.username),
        password: o.smtp_password.clone().or(f.password),
        from,
    }))
}

/// A database URL with its password (in the user part or a `password=` parameter) hidden.
fn redact_url(url: &str) -> String {
    let Ok(mut u) = url::Url::parse(url) else {
        return "(unparseable URL)".to_owned();
    };
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    if u.query_pairs()
        .any(|(k, _)| k.eq_ignore_ascii_case("password"))
    {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let v = if k.eq_ignore_ascii_case("password") {
                    "***".to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.to_string()
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text)
        .with_context(|| format!("{} is not a valid onduty configuration", path.display()))
}

pub use example::EXAMPLE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_and_the_watchdog_are_off_unless_set_and_checked_when_set() {
        let none = Config::merge(FileConfig::default(), &Overrides::default(), None).unwrap();
        assert!(none.metrics.listen.is_none() && none.metrics.token.is_none());
        assert!(none.watchdog.ping_url.is_none() && none.watchdog.routing_key.is_none());
        let file: FileConfig = toml::from_str(
            "[metrics]\nlisten = \"127.0.0.1:9464\"\ntoken = \"0123456789abcdef\"\n\
             [watchdog]\nping_url = \"https://hc-ping.com/abc\"\n\
             routing_key = \"0123456789abcdef0123456789abcdef\"\n",
        )
        .unwrap();
        let c = Config::merge(file, &Overrides::default(), None).unwrap();
        assert_eq!(c.metrics.listen.unwrap().to_string(), "127.0.0.1:9464");
        let shown = format!("{c:?}");
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
        assert!(!shown.contains("hc-ping"), "{shown}");
        let refused = |text: &str| {
            let file: FileConfig = toml::from_str(text).unwrap();
            Config::merge(file, &Overrides::default(), None)
                .unwrap_err()
                .to_string()
        };
        assert!(refused("[metrics]\ntoken = \"short\"\n").contains("at least 16"));
        assert!(refused("[metrics]\nlisten = \"9464\"\n").contains("host:port"));
        assert!(refused("[watchdog]\nping_url = \"ftp://x/y\"\n").contains("https://"));
        assert!(refused("[watchdog]\nrouting_key = \"abc\"\n").contains("routing key"));
        assert!(refused("[tls]\ncert = \"a.pem\"\n").contains("go together"));
        assert!(refused("[tls]\nredirect_listen = \"0.0.0.0:80\"\n").contains("set tls.cert"));
        let file: FileConfig = toml::from_str(
            "[tls]\ncert = \"a.pem\"\nkey = \"a.key\"\nredirect_listen = \"0.0.0.0:80\"\n",
        )
        .unwrap();
        let tls = Config::merge(file, &Overrides::default(), None)
            .unwrap()
            .tls
            .unwrap();
        assert_eq!(tls.redirect_listen.unwrap().port(), 80);
        assert!(refused("[retention]\ndays = 3\n").contains("between 7 and 3650"));
        let file: FileConfig = toml::from_str("[retention]\ndays = 400\n").unwrap();
        let kept = Config::merge(file, &Overrides::default(), None).unwrap();
        assert_eq!(kept.retention.map(|r| r.in_days()), Some(400));
        assert_eq!(kept.audit_retention, None);
        assert!(refused("[retention]\naudit_days = 5000\n").contains("retention.audit_days"));
        let file: FileConfig = toml::from_str("[retention]\naudit_days = 730\n").unwrap();
        let kept = Config::merge(file, &Overrides::default(), None).unwrap();
        assert_eq!(kept.audit_retention.map(|r| r.in_days()), Some(730));
        assert_eq!(kept.retention, None);
    }

    #[test]
    fn defaults_then_file_then_overrides() {
        let none = Config::merge(FileConfig::default(), &Overrides::default(), None).unwrap();
        assert_eq!(none.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(none.data_dir, PathBuf::from("onduty-data"));
        assert!(none.uses_embedded_sqlite());
        assert_eq!(none.rate_limit_per_minute, 6000);

        let file: FileConfig = toml::from_str(
            "listen = \"0.0.0.0:9000\"\nlog_format = \"json\"\n[ingest]\nrate_limit_per_minute = 10\n\
             [messages]\nper_hour = 500\n",
        )
        .unwrap();
        let overrides = Overrides {
            listen: Some("127.0.0.1:9100".into()),
            ..Default::default()
        };
        let c = Config::merge(file, &overrides, None).unwrap();
        assert_eq!(
            c.listen.to_string(),
            "127.0.0.1:9100",
            "flags and environment beat the file"
        );
        assert_eq!(c.log_format, LogFormat::Json, "the file beats the defaults");
        assert_eq!(c.rate_limit_per_minute, 10);
        assert_eq!(
            c.message_limits,
            onduty_core::rate_limit::HourlyLimits {
                per_person: 10,
                total: 500
            }
        );
    }

    #[test]
    fn the_example_is_a_valid_configuration() {
        let file: FileConfig = toml::from_str(EXAMPLE).unwrap();
        Config::merge(file, &Overrides::default(), None).unwrap();
    }

    #[test]
    fn bad_values_are_explained() {
        let bad = |o: Overrides| {
            Config::merge(FileConfig::default(), &o, None)
                .unwrap_err()
                .to_string()
        };
        assert!(
            bad(Overrides {
                listen: Some("localhost".into()),
                ..Default::default()
            })
            .contains("host:port")
        );
        assert!(
            bad(Overrides {
                database_url: Some("mysql://x".into()),
                ..Default::default()
            })
            .contains("sqlite: or postgres:")
        );
        assert!(
            bad(Overrides {
                log_format: Some("xml".into()),
                ..Default::default()
            })
            .contains("text or json")
        );
        assert!(
            toml::from_str::<FileConfig>("listn = \"x\"").is_err(),
            "unknown keys are refused"
        );
        assert!(
            bad(Overrides {
                mail_listen: Some("127.0.0.1:2525".into()),
                mail_tls_cert: Some("mail.crt".into()),
                ..Default::default()
            })
            .contains("set both or neither")
        );
        assert!(
            bad(Overrides {
                mail_tls_cert: Some("mail.crt".into()),
                mail_tls_key: Some("mail.key".into()),
                ..Default::default()
            })
            .contains("set mail.listen too")
        );
    }

    #[test]
    fn outbound_allow_opens_networks_and_names() {
        let file: FileConfig =
            toml::from_str("[outbound]\nallow = [\"10.0.0.0/8\", \"alerts.internal\"]\n").unwrap();
        let c = Config::merge(file, &Overrides::default(), None).unwrap();
        let ip = |t: &str| t.parse::<std::net::IpAddr>().unwrap();
        assert!(c.outbound.permits("x", ip("10.1.1.1")));
        assert!(c.outbound.permits("alerts.internal", ip("192.168.0.9")));
        assert!(!c.outbound.permits("x", ip("127.0.0.1")));
        let none = Config::merge(FileConfig::default(), &Overrides::default(), None).unwrap();
        assert!(!none.outbound.permits("x", ip("10.1.1.1")));
        let flags = Overrides {
            outbound_allow: Some("127.0.0.1, ::1".into()),
            ..Default::default()
        };
        let c = Config::merge(FileConfig::default(), &flags, None).unwrap();
        assert!(c.outbound.permits("x", ip("127.0.0.1")));
        let bad = Overrides {
            outbound_allow: Some("not a host!".into()),
            ..Default::default()
        };
        let err = Config::merge(FileConfig::default(), &bad, None).unwrap_err();
        assert!(err.to_string().contains("outbound.allow entry"), "{err}");
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        let file: FileConfig =
            toml::from_str("trusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\", \"::1\"]\n").unwrap();
        let c = Config::merge(file, &Overrides::default(), None).unwrap();
        let shown: Vec<String> = c.trusted_proxies.iter().map(|n| n.to_string()).collect();
        assert_eq!(shown, ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]);
        let flags = Overrides {
            trusted_proxies: Some("192.168.0.0/16, 127.0.0.1".into()),
            ..Default::default()
        };
        let c = Config::merge(FileConfig::default(), &flags, None).unwrap();
        assert_eq!(c.trusted_proxies.len(), 2);
        let bad = Overrides {
            trusted_proxies: Some("proxy.example.com".into()),
            ..Default::default()
        };
        let err = Config::merge(FileConfig::default(), &bad, None).unwrap_err();
        assert!(
            err.to_string().contains("not an address or a network"),
            "{err}"
        );
    }

    #[test]
    fn mail_tls_comes_from_the_file_or_the_flags() {
        let file: FileConfig = toml::from_str(
            "[mail]\nlisten = \"127.0.0.1:2525\"\ntls_cert = \"a.crt\"\ntls_key = \"a.key\"\n",
        )
        .unwrap();
        let overrides = Overrides {
            mail_tls_key: Some("b.key".into()),
            ..Default::default()
        };
        let c = Config::merge(file, &overrides, None).unwrap();
        assert_eq!(
            c.mail.unwrap().tls,
            Some((PathBuf::from("a.crt"), PathBuf::from("b.key")))
        );
    }

    #[test]
    fn database_passwords_never_show() {
        let o = Overrides {
            database_url: Some("postgres://onduty:hunter2@db:5432/onduty".into()),
            ..Default::default()
        };
        let c = Config::merge(FileConfig::default(), &o, None).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(!c.database_display().contains("hunter2"));
        assert!(c.database_url().contains("hunter2"));
        assert!(!format!("{o:?}").contains("hunter2"));
        let in_query = redact_url("postgres://db/onduty?user=u&password=hunter2&sslmode=require");
        assert!(
            !in_query.contains("hunter2") && in_query.contains("sslmode=require"),
            "{in_query}"
        );
    }
}
