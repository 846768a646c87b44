//! onduty's HTTP edge: the PagerDuty-compatible ingest endpoints, the REST API under
//! `/api/v1` with its OpenAPI document, and the health probes.
//!
//! The only crate that knows HTTP. Handlers parse input into core types, ask the clock
//! for `now` once, call the store (or the ingest writer), and turn results and
//! [`ApiError`]s into responses.

pub mod api;
mod calendar;
mod error;
mod health;
pub mod ingest;
mod mail;
mod markdown;
mod mattermost;
pub mod metrics;
pub use sso::SsoSettings;
pub use tls::{Https, MailTls, TlsError, mail_tls};
mod opsgenie;
mod pings;
mod rate_limit;
mod replay;
mod replies;
mod report_csv;
pub mod server;
mod slack;
pub mod sso;
mod status;
mod telegram;
pub mod tls;
mod ui;
mod webhooks;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use onduty_core::Clock;
use onduty_notify::Providers;
use onduty_store::Store;
use onduty_store::writer::{IngestWriter, WriterOptions};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnRequest, DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use error::{ApiError, ErrorBody};

/// A request path as logs show it: the secrets some paths carry (integration keys, ping
/// keys, calendar-feed and e-mail-link tokens) are replaced by `…`. The query is never logged.
fn loggable_path(path: &str) -> String {
    let mut parts: Vec<&str> = path.split('/').collect();
    // parts[0] is the empty string before the first '/'.
    let secret = match parts.get(1).copied() {
        Some("ping" | "integrations" | "actions") => Some(2),
        Some("calendar" | "chat") => Some(3),
        // A status page subscriber's links.
        Some("status") if matches!(parts.get(3), Some(&("subscriptions" | "unsubscribe"))) => {
            Some(4)
        }
        // The same on a page's own host name.
        Some("subscriptions" | "unsubscribe") => Some(2),
        _ => None,
    };
    if let Some(i) = secret
        && let Some(part) = parts.get_mut(i)
        && !part.is_empty()
    {
        *part = "…";
    }
    parts.join("/")
}

/// PagerDuty's limit on an Events API request body.
pub const INGEST_BODY_LIMIT: usize = 512 * 1024;
/// The limit on a REST API request body.
pub const API_BODY_LIMIT: usize = 1024 * 1024;
/// The longest a request may take, reading its body included; then `408`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long shutdown waits for open requests before stopping anyway.
pub const SHUTDOWN_DRAIN: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The URL people and tools reach this server at; used in examples and links.
    pub public_url: String,
    /// Events accepted per routing key per minute (also the largest burst); 0 = no limit.
    pub rate_limit_per_minute: u32,
    pub writer: WriterOptions,
    /// Twilio's auth token, to check the signature of its webhooks; `None` turns the
    /// `/twilio/…` endpoints off.
    pub twilio_auth_token: Option<Secret>,
    /// The Slack app's signing secret, to check its requests; `None` turns `/slack/…` off.
    pub slack_signing_secret: Option<Secret>,
    /// The Slack workspace (`T0123ABCD`) whose requests are taken; `None`: any the app is
    /// installed in.
    pub slack_team_id: Option<String>,
    /// The secret token Telegram sends with each update (`setWebhook`'s `secret_token`);
    /// `None` turns `/telegram/webhook` off.
    pub telegram_webhook_secret: Option<Secret>,
    /// The domain onduty takes mail for (`<integration key>@<domain>`), when it does.
    pub mail_domain: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` is believed: the client's address is then
    /// taken from it (for log-in limits). Empty: the peer's address, whatever headers say.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Connections open at once, and how long a client may take to send headers.
    pub limits: server::Limits,
    /// Hourly limits on verification codes and test messages.
    pub message_limits: onduty_core::rate_limit::HourlyLimits,
    /// The bearer token `/metrics` asks for on this address; `None`: not served here.
    pub metrics_token: Option<Secret>,
    /// Serve HTTPS with this certificate (and send HSTS); `None`: plain HTTP.
    pub https: Option<Https>,
    /// Single sign-on through an OpenID provider; `None`: passwords only.
    pub sso: Option<SsoSettings>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            public_url: "http://127.0.0.1:8080".to_owned(),
            rate_limit_per_minute: 6000,
            writer: WriterOptions::default(),
            twilio_auth_token: None,
            slack_signing_secret: None,
            slack_team_id: None,
            telegram_webhook_secret: None,
            mail_domain: None,
            trusted_proxies: Vec::new(),
            limits: server::Limits::default(),
            message_limits: Default::default(),
            metrics_token: None,
            https: None,
            sso: None,
        }
    }
}

/// What every handler shares.
pub struct AppState {
    /// The application layer: every door's use cases.
    pub app: onduty_app::App,
    pub store: Store,
    pub writer: IngestWriter,
    pub clock: Arc<dyn Clock>,
    pub config: WebConfig,
    /// How messages that are not pages reach people: verification codes, tests.
    pub providers: Providers,
    /// Wakes the paging engine after a write that may have made something due now.
    pub wake: onduty_store::Wake,
    limiter: rate_limit::Limiter,
    /// Log-in attempts per client address and e-mail address.
    login_limiter: rate_limit::Limiter,
    /// Log-in attempts per client address.
    login_client_limiter: rate_limit::Limiter,
    login_account_limiter: rate_limit::Limiter,
    /// Turns true when shutdown begins: long-lived responses (live pages) end then.
    closing: tokio::sync::watch::Sender<bool>,
    /// Where the incidents stand (`ui::live`): one watcher reads the database for every
    /// live page, and only while some page listens.
    incidents_seen: tokio::sync::watch::Sender<Option<(i64, i64)>>,
    /// Public status pages kept ready to serve.
    status_copies: status::Copies,
    /// Subscriptions to status pages asked per client address.
    subscribe_limiter: rate_limit::Limiter,
}

/// A secret from the configuration: usable, never shown by `Debug`.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

pub type SharedState = Arc<AppState>;

/// A ready-to-serve onduty: the router and the ingest writer behind it.
pub struct App {
    pub router: Router,
    pub state: SharedState,
    writer_task: JoinHandle<()>,
    upkeep_task: Option<JoinHandle<()>>,
}

impl App {
    /// Builds the application and starts its ingest writer on the current runtime.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        config: WebConfig,
        providers: Providers,
        wake: onduty_store::Wake,
    ) -> App {
        let config_https = config.https.is_some();
        // Record from the start: counters are the process's own.
        metrics::recorder();
        let (writer, writer_task) = IngestWriter::spawn(store.clone(), config.writer);
        let upkeep_task = onduty_store::upkeep::spawn_checkpoints(
            store.clone(),
            onduty_store::upkeep::CHECKPOINT_EVERY,
        );
        let state = Arc::new(AppState {
            limiter: rate_limit::Limiter::new(config.rate_limit_per_minute),
            login_limiter: rate_limit::Limiter::new(ui::LOGINS_PER_MINUTE),
            login_client_limiter: rate_limit::Limiter::new(ui::LOGINS_PER_MINUTE_PER_CLIENT),
            subscribe_limiter: rate_limit::Limiter::new(status::SUBSCRIBES_PER_MINUTE_PER_CLIENT),
            login_account_limiter: rate_limit::Limiter::new(ui::LOGINS_PER_MINUTE_PER_ACCOUNT),
            closing: tokio::sync::watch::Sender::new(false),
            incidents_seen: tokio::sync::watch::Sender::new(None),
            status_copies: status::Copies::default(),
            app: onduty_app::App::new(
                store.clone(),
                clock.clone(),
                wake.clone(),
                providers.clone(),
            )
            .with_message_limits(config.message_limits),
            store,
            writer,
            clock,
            config,
            providers,
            wake,
        });
        tokio::spawn(ui::watch_incidents(state.clone()));
        let router = Router::new()
            .merge(health::routes())
            .merge(api::routes())
            .merge(replies::routes())
            .merge(slack::routes())
            .merge(telegram::routes())
            .merge(mattermost::routes())
            .merge(calendar::routes())
            .merge(status::routes())
            .merge(ui::routes())
            .merge(metrics::routes())
            .route_layer(axum::middleware::from_fn(metrics::note_route))
            .with_state(state.clone())
            // One span per request at debug level (`ONDUTY_LOG=tower_http=debug` shows
            // them); server errors are logged at error level whatever the filter.
            // A slow client cannot hold a connection (or a shutdown) forever.
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                REQUEST_TIMEOUT,
            ))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|request: &axum::http::Request<_>| {
                        tracing::debug_span!(
                            "request",
                            method = %request.method(),
                            path = %loggable_path(request.uri().path()),
                        )
                    })
                    .on_request(DefaultOnRequest::new().level(Level::DEBUG))
                    .on_response(DefaultOnResponse::new().level(Level::DEBUG)),
            )
            // Outside the timeout: a request cut off by it is counted too.
            .layer(axum::middleware::from_fn(metrics::count_requests));
        // Over HTTPS, browsers are told to come back only over HTTPS.
        let router = match config_https {
            true => router.layer(axum::middleware::from_fn(tls::strict_transport_security)),
            false => router,
        };
        // A status page's own host name is served before routing: its paths are rewritten.
        let router = Router::new().fallback_service(tower::Layer::layer(
            &axum::middleware::from_fn_with_state(state.clone(), status::by_host),
            router,
        ));
        App {
            router,
            state,
            writer_task,
            upkeep_task,
        }
    }

    /// Takes mail for `<integration key>@<domain>` on `listener` until shutdown begins,
    /// offering `STARTTLS` when `tls` is given.
    pub fn serve_mail(
        &self,
        listener: TcpListener,
        domain: String,
        tls: Option<MailTls>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(mail::serve(listener, self.state.clone(), domain, tls))
    }

    /// Serves `/metrics` without a token on `listener`, an address of its own, until
    /// shutdown begins.
    pub fn serve_metrics(&self, listener: TcpListener) -> JoinHandle<()> {
        self.serve_aside(listener, metrics::open_routes(self.state.clone()))
    }

    /// Answers every request on `listener` (plain HTTP) with a redirect to the same path
    /// over HTTPS, until shutdown begins.
    pub fn serve_redirect(&self, listener: TcpListener) -> JoinHandle<()> {
        self.serve_aside(
            listener,
            tls::redirect_router(&self.state.config.public_url),
        )
    }

    /// Serves `router` over plain HTTP on a listener beside the main one, until shutdown
    /// begins.
    fn serve_aside(&self, listener: TcpListener, router: Router) -> JoinHandle<()> {
        let mut closing = self.state.closing.subscribe();
        let limits = self.state.config.limits;
        tokio::spawn(server::serve(listener, router, limits, None, async move {
            let _ = closing.wait_for(|c| *c).await;
        }))
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests and lets the
    /// ingest writer commit everything it was handed before returning.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let App {
            router,
            state,
            writer_task,
            upkeep_task,
        } = self;
        let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
        let closing = state.closing.clone();
        let tls = state.config.https.as_ref().map(|h| h.config.clone());
        let server = server::serve(listener, router, state.config.limits, tls, async move {
            shutdown.await;
            closing.send_replace(true);
            let _ = stopping.send(());
        });
        tokio::select! {
            () = server => {},
            _ = async {
                if stopped.await.is_ok() {
                    tokio::time::sleep(SHUTDOWN_DRAIN).await;
                } else {
                    std::future::pending::<()>().await;
                }
            } => tracing::warn!("connections still open {SHUTDOWN_DRAIN:?} after the shutdown signal; stopping anyway"),
        }
        drop(state);
        if let Err(e) = writer_task.await {
            tracing::error!(error = %e, "ingest writer ended abnormally");
        }
        if let Some(task) = upkeep_task {
            task.abort();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Secret, WebConfig, loggable_path};

    #[test]
    fn the_settings_never_print_their_secrets() {
        let config = WebConfig {
            twilio_auth_token: Some(Secret::new("twilio-s3cret".to_owned())),
            slack_signing_secret: Some(Secret::new("slack-s3cret".to_owned())),
            telegram_webhook_secret: Some(Secret::new("telegram-s3cret".to_owned())),
            ..WebConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("Secret(<redacted>)"), "{shown}");
    }

    #[test]
    fn logged_paths_hide_the_secrets_they_carry() {
        assert_eq!(loggable_path("/ping/k3y/fail"), "/ping/…/fail");
        assert_eq!(
            loggable_path("/integrations/k3y/alertmanager"),
            "/integrations/…/alertmanager"
        );
        assert_eq!(loggable_path("/actions/t0ken"), "/actions/…");
        assert_eq!(
            loggable_path("/calendar/users/s3cret.ics"),
            "/calendar/users/…"
        );
        assert_eq!(loggable_path("/chat/act/t0ken"), "/chat/act/…");
        assert_eq!(loggable_path("/incidents/42"), "/incidents/42");
        assert_eq!(
            loggable_path("/status/acme/subscriptions/ab12"),
            "/status/acme/subscriptions/…"
        );
        assert_eq!(
            loggable_path("/status/acme/unsubscribe/ab12"),
            "/status/acme/unsubscribe/…"
        );
        assert_eq!(loggable_path("/unsubscribe/ab12"), "/unsubscribe/…");
        assert_eq!(
            loggable_path("/status/acme/history.atom"),
            "/status/acme/history.atom"
        );
        assert_eq!(loggable_path("/ping"), "/ping");
    }
}
