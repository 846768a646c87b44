//! `TestApp`: a whole onduty (store, ingest writer, HTTP server) on port 0 of 127.0.0.1,
//! with a manual clock and an admin token, driven over real HTTP.

use std::sync::Arc;
use std::time::Duration;

use onduty_core::account::{Email, Name, Role, TokenSecret};
use onduty_core::{ManualClock, Timestamp};
use onduty_engine::{Engine, EngineConfig};
use onduty_notify::Providers;
use onduty_notify::fake::FakeNotifier;
use onduty_store::Store;
use onduty_store::users::NewUser;
use onduty_web::{App, WebConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::db::{Backend, TestDb};
use crate::fixtures::T0;

/// The domain a test server takes mail for.
pub const MAIL_DOMAIN: &str = "onduty.test";

/// A self-signed certificate for `localhost` and its key, in PEM, made once per test
/// process: test servers offer `STARTTLS` with it.
pub fn test_certificate() -> &'static (String, String) {
    static CERT: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    CERT.get_or_init(|| {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .expect("a self-signed certificate");
        (made.cert.pem(), made.key_pair.serialize_pem())
    })
}

pub struct TestApp {
    /// `http://127.0.0.1:<port>`
    pub url: String,
    pub clock: Arc<ManualClock>,
    pub store: Store,
    /// An admin's API token.
    pub admin_token: String,
    pub http: reqwest::Client,
    pub db: TestDb,
    /// Every message "sent" to anyone, on every channel.
    pub notifier: Arc<FakeNotifier>,
    /// The paging engine, driven by hand: call [`TestApp::tick`].
    pub engine: Engine,
    /// Where onduty takes mail (SMTP on 127.0.0.1), for `<key>@`[`MAIL_DOMAIN`]; it offers
    /// `STARTTLS` with [`test_certificate`].
    pub smtp: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    /// onduty on a fresh SQLite database, clock at [`T0`], default settings.
    pub async fn start() -> TestApp {
        TestApp::start_with(Backend::Sqlite, |_| {}).await
    }

    /// onduty on a fresh database of `backend`, with `tweak` applied to the settings.
    /// Every channel goes to the fake notifier.
    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut WebConfig)) -> TestApp {
        TestApp::start_with_providers(backend, tweak, |_, fake| Providers::all(fake)).await
    }

    /// As [`TestApp::start_with`], with the providers `make` builds from the server's URL
    /// and the fake notifier (to send SMS through a [`crate::twilio::FakeTwilio`], say).
    pub async fn start_with_providers(
        backend: Backend,
        tweak: impl FnOnce(&mut WebConfig),
        make: impl FnOnce(&str, Arc<FakeNotifier>) -> Providers,
    ) -> TestApp {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let clock = Arc::new(ManualClock::new(T0));
        let admin = store
            .create_user(
                NewUser {
                    email: Email::parse("admin@example.com").unwrap(),
                    name: Name::parse("Ada Admin").unwrap(),
                    role: Role::Admin,
                    time_zone: onduty_core::account::TimeZoneName::utc(),
                },
                T0,
            )
            .await
            .unwrap();
        let secret = TokenSecret::from_random([1; 20]);
        store
            .create_token(admin.id, "tests", &secret, T0)
            .await
            .unwrap();

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let mut config = WebConfig {
            public_url: url.clone(),
            twilio_auth_token: Some(onduty_web::Secret::new(
                crate::twilio::AUTH_TOKEN.to_owned(),
            )),
            mail_domain: Some(MAIL_DOMAIN.to_owned()),
            ..WebConfig::default()
        };
        tweak(&mut config);
        let notifier = Arc::new(FakeNotifier::new());
        let providers = make(&url, notifier.clone());
        let engine = Engine::new(
            store.clone(),
            providers.clone(),
            EngineConfig {
                public_url: url.clone(),
                holder: "test".to_owned(),
                lease: Duration::from_secs(15),
                watchdog: None,
                takeover_key: None,
                retention: None,
                audit_retention: None,
            },
            onduty_store::Wake::default(),
        );
        // As in `onduty serve`: on PostgreSQL, what this app accepts wakes the engine of
        // any instance on the database.
        let wake = store.wake();
        let app = App::new(store.clone(), clock.clone(), config, providers, wake);
        let mail_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let smtp = mail_listener.local_addr().unwrap();
        let (cert, key) = test_certificate();
        let tls = onduty_web::mail_tls(cert.as_bytes(), key.as_bytes()).expect("mail TLS");
        drop(app.serve_mail(mail_listener, MAIL_DOMAIN.to_owned(), Some(tls)));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.serve(listener, async {
            let _ = stopped.await;
        }));
        TestApp {
            url,
            clock,
            store,
            admin_token: secret.expose().to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            db,
            notifier,
            engine,
            smtp,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Runs the engine once at the clock's time; returns the next deadline.
    pub async fn tick(&self) -> Option<Timestamp> {
        self.engine
            .tick(self.now())
            .await
            .expect("the engine step succeeds")
    }

    /// Lets `d` pass as it would in production: the clock stops at every deadline the
    /// engine reports on the way and the engine runs there, then once more at the end.
    pub async fn pass(&self, d: Duration) -> Option<Timestamp> {
        let target = self.now().saturating_add(d);
        while let Some(next) = self.tick().await {
            if next <= self.now() || next > target {
                break;
            }
            self.clock.set(next);
        }
        self.clock.set(target);
        self.tick().await
    }

    /// Moves the clock forward.
    pub fn advance(&self, d: Duration) {
        self.clock.advance(d);
    }

    pub fn now(&self) -> Timestamp {
        onduty_core::Clock::now(self.clock.as_ref())
    }

    /// POSTs raw bytes to a path; returns the status and the JSON body (or `Null`).
    pub async fn post_raw(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request reaches the test server");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body, headers)
    }

    /// Sends a PagerDuty event to `/v2/enqueue`.
    pub async fn send_event(&self, event: Value) -> (StatusCode, Value) {
        let (status, body, _) = self.post_raw("/v2/enqueue", event.to_string()).await;
        (status, body)
    }

    /// Calls the REST API (`path` under `/api/v1`) with `token`.
    pub async fn api_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}/api/v1{path}", self.url))
            .bearer_auth(token);
        if let Some(b) = body {
            request = request.json(&b);
        }
        let response = request
            .send()
            .await
            .expect("request reaches the test server");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// GETs `path` under `/api/v1` as the admin, for an answer that is not JSON (Markdown,
    /// CSV, YAML): it must be 200 with a content type starting `content_type`; its text.
    pub async fn api_text(&self, path: &str, content_type: &str) -> String {
        let response = self
            .http
            .get(format!("{}/api/v1{path}", self.url))
            .bearer_auth(&self.admin_token)
            .send()
            .await
            .expect("request reaches the test server");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let given = response.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap_or_default()
            .to_owned();
        assert!(given.starts_with(content_type), "{path}: {given}");
        response.text().await.expect("a text body")
    }

    /// Calls the REST API as the admin.
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let token = self.admin_token.clone();
        self.api_as(&token, method, path, body).await
    }

    /// Creates a service with an Events API v2 integration over the API; returns the
    /// service id and the routing key.
    pub async fn service(&self, name: &str, dedup_mode: &str) -> (String, String) {
        let (status, created) = self
            .api(
                Method::POST,
                "/services",
                Some(json!({"name": name, "dedup_mode": dedup_mode})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["service"]["id"].as_str().unwrap().to_owned();
        let (status, integration) = self
            .api(
                Method::POST,
                &format!("/services/{id}/integrations"),
                Some(json!({"name": "Prometheus"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{integration}");
        let key = integration["integration"]["routing_key"]
            .as_str()
            .unwrap()
            .to_owned();
        (id, key)
    }

    /// Every incident, whatever its status, newest first (as the API lists them).
    pub async fn all_incidents(&self) -> Vec<Value> {
        let (_, list) = self
            .api(
                Method::GET,
                "/incidents?status=triggered,acknowledged,resolved",
                None,
            )
            .await;
        list["incidents"].as_array().cloned().unwrap_or_default()
    }

    /// Creates a user with a role and returns their API token.
    pub async fn user_token(&self, name: &str, role: &str) -> String {
        let email = format!("{}@example.com", name.to_lowercase());
        let (status, created) = self
            .api(
                Method::POST,
                "/users",
                Some(json!({"email": email, "name": name, "role": role})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let user = self
            .store
            .user_by_email(&Email::parse(&email).unwrap())
            .await
            .unwrap()
            .unwrap();
        // Distinct users get distinct secrets: the name's bytes, padded.
        let mut bytes = [7u8; 20];
        for (slot, byte) in bytes.iter_mut().zip(email.bytes()) {
            *slot = byte;
        }
        let secret = TokenSecret::from_random(bytes);
        self.store
            .create_token(user.id, "tests", &secret, T0)
            .await
            .unwrap();
        secret.expose().to_owned()
    }

    /// POSTs a form to one of onduty's Twilio webhooks, signed as Twilio signs it;
    /// returns the status and the body (TwiML).
    pub async fn twilio_webhook(
        &self,
        path: &str,
        params: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let signature = onduty_core::signature::twilio_signature(
            crate::twilio::AUTH_TOKEN,
            &format!("{}{path}", self.url),
            &params,
        );
        self.twilio_webhook_signed(path, &params, &signature).await
    }

    /// POSTs a form to a Twilio webhook with the given signature header.
    pub async fn twilio_webhook_signed(
        &self,
        path: &str,
        params: &[(String, String)],
        signature: &str,
    ) -> (StatusCode, String) {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .header("x-twilio-signature", signature)
            .form(params)
            .send()
            .await
            .expect("request reaches the test server");
        let status = response.status();
        (status, response.text().await.unwrap_or_default())
    }

    /// Stops the server, letting the ingest writer finish.
    pub async fn stop(mut self) {
        self.shutdown().await;
    }

    async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task")
                .expect("server stopped cleanly");
        }
    }
}

/// A PagerDuty trigger event.
pub fn trigger_event(routing_key: &str, dedup_key: &str, summary: &str) -> Value {
    json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {"summary": summary, "source": "db01.example.com", "severity": "critical"}
    })
}

/// A PagerDuty acknowledge or resolve event.
pub fn follow_up_event(routing_key: &str, action: &str, dedup_key: &str) -> Value {
    json!({"routing_key": routing_key, "event_action": action, "dedup_key": dedup_key})
}
