//! `onduty serve`: open the database, make sure someone can log in, start the HTTP
//! server and the ingest writer, and shut down cleanly on Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use onduty_core::account::{Email, Name, Role, TokenSecret};
use onduty_core::{Clock, SystemClock};
use onduty_engine::{Engine, EngineConfig};
use onduty_notify::Providers;
use onduty_notify::email::{EmailNotifier, SmtpConfig};
use onduty_notify::twilio::{TwilioConfig, TwilioNotifier};
use onduty_store::writer::WriterOptions;
use onduty_store::{Store, StoreError, StoreOptions};
use onduty_web::api::views::curl_example;
use onduty_web::{App, WebConfig};
use tokio::net::TcpListener;

use crate::config::Config;

/// Opens (creating if needed) and migrates the configured database.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    if config.uses_embedded_sqlite() {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                config.data_dir.display()
            )
        })?;
    }
    let options = StoreOptions {
        sqlite_sync: config.sqlite_sync,
        ..StoreOptions::default()
    };
    Store::open(&config.database_url(), &options)
        .await
        .with_context(|| format!("cannot open the database ({})", config.database_display()))
}

/// The URL to show people: the configured public URL, or the listening address.
pub fn public_url(config: &Config, bound: SocketAddr) -> String {
    if let Some(url) = &config.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let host = match bound.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_owned(),
        ip if ip.is_unspecified() => "[::1]".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    format!("{scheme}://{host}:{}", bound.port())
}

pub async fn serve(config: Config, program: &str) -> anyhow::Result<()> {
    let open_files = crate::files::raise_open_file_limit();
    let max_connections = crate::files::connection_limit(config.max_connections, open_files);
    // A certificate that cannot be read stops the start, before anything listens.
    let https = match &config.tls {
        Some(tls) => Some(load_https(tls)?),
        None => None,
    };
    // Listening for SIGHUP before anything is served: its default would end the process.
    let hangups = hangups()?;
    // One onduty per SQLite data directory, for as long as it runs (`onduty restore`
    // takes the same lock).
    let _data_lock = if config.uses_embedded_sqlite() {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                config.data_dir.display()
            )
        })?;
        Some(crate::backup::lock_data_dir(&config.data_dir)?)
    } else {
        None
    };
    let store = open_store(&config).await?;
    let listener = TcpListener::bind(config.listen).await.with_context(|| {
        format!(
            "cannot listen on {} (is another onduty running?)",
            config.listen
        )
    })?;
    let bound = listener.local_addr()?;
    let url = public_url(&config, bound);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut providers = providers(&config, &url)?;
    // Web Push signs with a key made on first start and kept in the database.
    let vapid = store
        .server_key(onduty_notify::webpush::VAPID_KEY)
        .await
        .context("cannot read the Web Push (VAPID) key")?;
    providers.web_push = Some(Arc::new(
        onduty_notify::webpush::WebPushNotifier::new(config.outbound.clone(), &vapid, &url)
            .map_err(anyhow::Error::msg)?,
    ));
    // On PostgreSQL, shared with the other instances: the one running the engine hears
    // of what this one accepted.
    let wake = store.wake();
    let engine = Engine::new(
        store.clone(),
        providers.clone(),
        EngineConfig {
            public_url: url.clone(),
            holder: engine_holder(bound),
            lease: ENGINE_LEASE,
            watchdog: match &config.watchdog.ping_url {
                Some(url) => Some(
                    onduty_notify::watchdog::Pinger::new(&config.outbound, url)
                        .map_err(anyhow::Error::msg)?,
                ),
                None => None,
            },
            takeover_key: config.watchdog.routing_key.clone(),
            retention: config.retention,
            audit_retention: config.audit_retention,
        },
        wake.clone(),
    );
    let app = App::new(
        store.clone(),
        clock.clone(),
        WebConfig {
            public_url: url.clone(),
            rate_limit_per_minute: config.rate_limit_per_minute,
            writer: WriterOptions {
                max_batch: config.max_batch,
                ..WriterOptions::default()
            },
            twilio_auth_token: config
                .twilio
                .as_ref()
                .map(|t| onduty_web::Secret::new(t.auth_token.clone())),
            slack_signing_secret: config
                .slack
                .as_ref()
                .map(|s| onduty_web::Secret::new(s.signing_secret.clone())),
            slack_team_id: config.slack.as_ref().and_then(|s| s.team_id.clone()),
            telegram_webhook_secret: config
                .telegram
                .as_ref()
                .map(|t| onduty_web::Secret::new(t.webhook_secret.clone())),
            mail_domain: config.mail.as_ref().map(|m| mail_domain(m, &url)),
            trusted_proxies: config.trusted_proxies.clone(),
            sso: config.sso.clone(),
            message_limits: config.message_limits,
            metrics_token: config
                .metrics
                .token
                .as_ref()
                .map(|t| onduty_web::Secret::new(t.clone())),
            https: https.clone(),
            limits: onduty_web::server::Limits {
                max_connections,
                ..onduty_web::server::Limits::default()
            },
        },
        providers,
        wake,
    );
    if let Some(key) = &config.watchdog.routing_key
        && store.integration_by_routing_key(key).await?.is_none()
    {
        tracing::warn!(
            "watchdog.routing_key matches no integration yet: a takeover of the engine \
             could not raise its incident until an integration has this key"
        );
    }
    let first = first_start(&store, clock.now()).await?;
    println!(
        "onduty listening on {}://{bound} ({})",
        if https.is_some() { "https" } else { "http" },
        config.database_display()
    );
    if let Some(token) = first {
        print_first_start(&url, &token, program);
    }
    tracing::info!(
        address = %bound,
        database = %config.database_display(),
        open_files = open_files.unwrap_or_default(),
        max_connections,
        "onduty started"
    );
    // What SIGHUP reads again: HTTPS's certificate and the mail listener's.
    let mut reloads = Vec::new();
    if let (Some(tls), Some(https)) = (&config.tls, &https) {
        reloads.push(Reload {
            what: "HTTPS",
            cert: tls.cert.clone(),
            key: tls.key.clone(),
            tls: https.clone(),
        });
    }
    if let Some(mail) = &config.mail {
        let listener = tokio::net::TcpListener::bind(mail.listen)
            .await
            .with_context(|| format!("cannot listen for mail on {}", mail.listen))?;
        let domain = mail_domain(mail, &url);
        let tls = match &mail.tls {
            None => None,
            Some((cert, key)) => {
                let (cert_pem, key_pem) = read_pair(cert, key)?;
                let tls = onduty_web::mail_tls(&cert_pem, &key_pem).with_context(|| {
                    format!(
                        "cannot offer STARTTLS with {} and {}",
                        cert.display(),
                        key.display()
                    )
                })?;
                reloads.push(Reload {
                    what: "STARTTLS",
                    cert: cert.clone(),
                    key: key.clone(),
                    tls: tls.clone(),
                });
                Some(tls)
            }
        };
        println!(
            "onduty takes mail on {} for <integration key>@{domain}{}",
            listener.local_addr()?,
            if tls.is_some() {
                " (STARTTLS offered)"
            } else {
                ""
            }
        );
        drop(app.serve_mail(listener, domain, tls));
    }
    tokio::spawn(reload_on_hangup(hangups, reloads));
    if let Some(address) = config.tls.as_ref().and_then(|t| t.redirect_listen) {
        let listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen for plain HTTP on {address}"))?;
        println!(
            "onduty redirects http://{} to HTTPS",
            listener.local_addr()?
        );
        drop(app.serve_redirect(listener));
    }
    if let Some(address) = config.metrics.listen {
        let listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen for metrics on {address}"))?;
        println!(
            "onduty serves /metrics on http://{}",
            listener.local_addr()?
        );
        drop(app.serve_metrics(listener));
    }
    // One signal stops both: the HTTP side drains, the engine gives its lease up.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let engine_task = tokio::spawn(engine.run(clock.clone(), async move {
        let mut stopped = stopped;
        let _ = stopped.wait_for(|s| *s).await;
    }));
    app.serve(listener, async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    })
    .await?;
    if let Err(e) = engine_task.await {
        tracing::error!(error = %e, "the paging engine ended abnormally");
    }
    store.close().await;
    tracing::info!("onduty stopped");
    Ok(())
}

/// How long the engine lease lasts without renewal: another instance sharing the database
/// takes over paging at most this long after the holder dies.
pub const ENGINE_LEASE: std::time::Duration = std::time::Duration::from_secs(15);

/// This instance's name in the engine lease: host, process, address, and a random
/// word, so that a container restarted with the same host name and process id is another
/// holder (its predecessor's death is then noticed).
fn engine_holder(bound: SocketAddr) -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "onduty".to_owned());
    let mut word = [0u8; 3];
    let _ = getrandom::fill(&mut word);
    let word: String = word.iter().map(|b| format!("{b:02x}")).collect();
    format!("{host}:{}:{bound}:{word}", std::process::id())
}

/// The message providers the configuration sets up: webhooks always; Twilio and SMTP
/// when configured.
fn providers(config: &Config, public_url: &str) -> anyhow::Result<Providers> {
    // Twilio's address is the operator's own setting; it is trusted as configured, but
    // redirects are not followed either.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let mut providers = Providers::new(config.outbound.clone());
    if let Some(t) = &config.twilio {
        let twilio: Arc<dyn onduty_notify::Notifier> = Arc::new(TwilioNotifier::new(
            http,
            TwilioConfig {
                account_sid: t.account_sid.clone(),
                auth_token: t.auth_token.clone(),
                from: t.from.clone(),
                api_base: t.api_base.clone(),
                public_url: public_url.to_owned(),
            },
        ));
        providers.sms = Some(twilio.clone());
        providers.voice = Some(twilio);
    }
    if let Some(s) = &config.slack {
        providers.slack = Some(Arc::new(onduty_notify::slack::SlackClient::new(
            onduty_notify::BotConfig {
                bot_token: s.bot_token.clone(),
                api_base: s.api_base.clone(),
            },
        )));
    }
    if let Some(t) = &config.telegram {
        providers.telegram = Some(Arc::new(onduty_notify::telegram::TelegramClient::new(
            onduty_notify::BotConfig {
                bot_token: t.bot_token.clone(),
                api_base: t.api_base.clone(),
            },
        )));
    }
    if let Some(m) = &config.mattermost {
        providers.mattermost = Some(Arc::new(onduty_notify::mattermost::MattermostClient::new(
            m.clone(),
        )));
    }
    if let Some(m) = &config.smtp {
        let email = EmailNotifier::new(&SmtpConfig {
            host: m.host.clone(),
            port: m.port,
            security: m.security,
            username: m.username.clone(),
            password: m.password.clone(),
            from: m.from.clone(),
        })
        .map_err(|e| anyhow::anyhow!("SMTP settings: {e}"))?;
        providers.email = Some(Arc::new(email));
    }
    Ok(providers)
}

/// On a database without users, creates the first admin and an API token for them.
/// Returns the token (to be shown once), or `None` if users already exist.
async fn first_start(
    store: &Store,
    now: onduty_core::Timestamp,
) -> anyhow::Result<Option<TokenSecret>> {
    if store.count_users().await? > 0 {
        return Ok(None);
    }
    let new = onduty_store::users::NewUser {
        email: Email::parse(FIRST_ADMIN_EMAIL).expect("a valid address"),
        name: Name::parse("Admin").expect("a valid name"),
        role: Role::Admin,
        time_zone: onduty_core::account::TimeZoneName::utc(),
    };
    let admin = match store.create_user(new, now).await {
        Ok(user) => user,
        // Another instance sharing the database got there first.
        Err(StoreError::Conflict(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let secret = onduty_web::api::new_token_secret();
    store
        .create_token(admin.id, "first start", &secret, now)
        .await?;
    Ok(Some(secret))
}

pub const FIRST_ADMIN_EMAIL: &str = "admin@localhost";

fn print_first_start(url: &str, token: &TokenSecret, program: &str) {
    let token = token.expose();
    println!(
        "
First start: created the admin user {FIRST_ADMIN_EMAIL}.
Its API token is shown this once (onduty keeps only a hash). Use it as
'Authorization: Bearer <token>' on {url}/api/v1, or set it for the CLI:

    export ONDUTY_URL={url}
    export ONDUTY_TOKEN={token}

Lost it? `{program} admin token create --email {FIRST_ADMIN_EMAIL}` makes another.

In a browser, {url}/ sets up the web: it asks for this token, and
{FIRST_ADMIN_EMAIL} becomes you (your name, e-mail and password).

Send a first event:
  1. create a service and its integration (prints a routing key and a curl command):
       {program} service create \"My service\"
  2. send an event with that routing key, as PagerDuty's Events API v2:
       {}
  3. see it, and acknowledge it:
       {program} incidents
       {program} ack 1
",
        curl_example(&format!("{url}/v2/enqueue"), "<routing key>")
    );
}

/// Reads the HTTPS certificate and key files.
fn load_https(tls: &crate::config::TlsSettings) -> anyhow::Result<onduty_web::Https> {
    let (cert, key) = read_pair(&tls.cert, &tls.key)?;
    onduty_web::Https::new(&cert, &key).with_context(|| {
        format!(
            "cannot serve HTTPS with {} and {}",
            tls.cert.display(),
            tls.key.display()
        )
    })
}

fn read_pair(cert: &std::path::Path, key: &std::path::Path) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let read = |path: &std::path::Path| {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
    };
    Ok((read(cert)?, read(key)?))
}

/// A certificate SIGHUP reads again, from its files.
struct Reload {
    what: &'static str,
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
    tls: onduty_web::Https,
}

#[cfg(unix)]
type Hangups = tokio::signal::unix::Signal;
#[cfg(not(unix))]
type Hangups = ();

fn hangups() -> anyhow::Result<Hangups> {
    #[cfg(unix)]
    return tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .context("cannot listen for SIGHUP");
    #[cfg(not(unix))]
    Ok(())
}

/// On each SIGHUP, reads each certificate and key again and serves them from the next
/// handshake; one that cannot be read is said why and keeps being served as it was.
/// (Without certificates a SIGHUP does nothing.)
async fn reload_on_hangup(mut hangups: Hangups, reloads: Vec<Reload>) {
    #[cfg(unix)]
    while hangups.recv().await.is_some() {
        for r in &reloads {
            let reloaded = read_pair(&r.cert, &r.key)
                .and_then(|(cert, key)| r.tls.reload(&cert, &key).map_err(anyhow::Error::from));
            match reloaded {
                Ok(()) => {
                    tracing::info!(cert = %r.cert.display(), "{} certificate reloaded", r.what)
                }
                Err(e) => tracing::error!(
                    error = format!("{e:#}"),
                    "{} certificate not reloaded; still serving the previous one",
                    r.what
                ),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (hangups, reloads);
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests and committing queued events");
}

/// The domain mail is taken for: as configured, or the public URL's host.
fn mail_domain(mail: &crate::config::MailSettings, public_url: &str) -> String {
    mail.domain.clone().unwrap_or_else(|| {
        url::Url::parse(public_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "localhost".to_owned())
    })
}
