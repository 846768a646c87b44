//! Running the real `onduty` executable: one-shot commands, and a server whose printed
//! lines the test reads as they come.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use onduty_testkit::{WebhookSink, wait_for};
use serde_json::{Value, json};

/// The `onduty` executable built for these tests, with no inherited onduty settings.
pub fn onduty() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_onduty"));
    for (name, _) in std::env::vars() {
        if name.starts_with("ONDUTY_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("ONDUTY_LOG", "warn");
    cmd
}

/// Runs a command to completion; panics with its output if it failed.
pub fn run_ok(cmd: &mut Command) -> String {
    let out: Output = cmd.output().expect("run onduty");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Where a server's database is: a data directory (SQLite) or a URL.
pub fn database_args(data_dir: &Path, database_url: Option<&str>) -> Vec<String> {
    match database_url {
        None => vec!["--data-dir".into(), data_dir.display().to_string()],
        Some(url) => vec!["--database-url".into(), url.to_owned()],
    }
}

/// An `onduty serve` process on a port of its choosing; `url` is its `host:port`.
pub struct Server {
    pub child: Child,
    pub url: String,
    lines: mpsc::Receiver<String>,
}

/// How long a test waits for the server to print an expected line, a page or a line in
/// an incident's timeline.
pub const PATIENCE: Duration = Duration::from_secs(60);

impl Server {
    pub fn start(database: &[String], envs: &[(&str, &str)]) -> Server {
        Server::start_with(database, envs, |_| {})
    }

    /// As [`Server::start`], with `adjust` applied to the command first.
    pub fn start_with(
        database: &[String],
        envs: &[(&str, &str)],
        adjust: impl FnOnce(&mut Command),
    ) -> Server {
        let mut command = onduty();
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(database)
            // Webhook receivers in these stories listen on loopback, which has to be opened.
            .env("ONDUTY_OUTBOUND_ALLOW", "127.0.0.1")
            .envs(envs.iter().copied());
        adjust(&mut command);
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start onduty serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
            child,
            url: String::new(),
            lines,
        };
        let listening = server.wait_for_line("onduty listening on ");
        let address = listening
            .trim_start_matches("onduty listening on ")
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .split_whitespace()
            .next()
            .expect("an address")
            .to_owned();
        server.url = address;
        server
    }

    /// Waits (up to a minute) for a printed line containing `needle`; returns it.
    pub fn wait_for_line(&mut self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(PATIENCE) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => continue,
                Err(e) => panic!("onduty never printed '{needle}': {e}"),
            }
        }
    }

    /// The admin token a first start prints.
    pub fn first_token(&mut self) -> String {
        self.wait_for_line("export ONDUTY_TOKEN=")
            .trim()
            .trim_start_matches("export ONDUTY_TOKEN=")
            .to_owned()
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid.
        let rc = unsafe { libc::kill(self.pid(), signal) };
        assert_eq!(rc, 0, "kill {} {signal}", self.pid());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The REST API of a running server, as the admin.
pub struct Api {
    pub http: reqwest::Client,
    /// `http://host:port`.
    pub url: String,
    pub token: String,
}

impl Api {
    pub fn new(server: &Server, token: &str) -> Api {
        Api {
            http: reqwest::Client::new(),
            url: format!("http://{}", server.url),
            token: token.to_owned(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Value {
        let response = request.bearer_auth(&self.token).send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{status}: {body}");
        body
    }

    /// `path` under `/api/v1`.
    pub async fn post(&self, path: &str, body: Value) -> Value {
        let url = format!("{}/api/v1{path}", self.url);
        self.send(self.http.post(url).json(&body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Value {
        let url = format!("{}/api/v1{path}", self.url);
        self.send(self.http.patch(url).json(&body)).await
    }

    pub async fn get(&self, path: &str) -> Value {
        let url = format!("{}/api/v1{path}", self.url);
        self.send(self.http.get(url)).await
    }

    /// Sends an event to `/v2/enqueue`; it must be accepted.
    pub async fn event(&self, event: Value) {
        let response = self
            .http
            .post(format!("{}/v2/enqueue", self.url))
            .body(event.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::ACCEPTED);
    }

    /// Waits until the incident at `path` has a timeline line containing `needle`.
    pub async fn wait_for_line(&self, path: &str, needle: &str) {
        let found = wait_for(
            PATIENCE,
            || self.get(path),
            |detail| {
                detail["timeline"].as_array().is_some_and(|t| {
                    t.iter()
                        .any(|e| e["message"].as_str().is_some_and(|m| m.contains(needle)))
                })
            },
        )
        .await;
        assert!(
            found["timeline"].to_string().contains(needle),
            "no '{needle}' in {found}"
        );
    }
}

/// Alice, Bob and Carol, each paged by webhook at `phones` (`/alice`, …); the policy
/// "Ops" (Alice, then Bob after 30 minutes) and "Support" (Carol); the service
/// "Checkout" on Ops. Returns Checkout's routing key.
pub async fn checkout_on_call(api: &Api, phones: &WebhookSink) -> String {
    for name in ["Alice", "Bob", "Carol"] {
        let lower = name.to_lowercase();
        let email = format!("{lower}@example.com");
        api.post(
            "/users",
            json!({"email": email, "name": name, "role": "responder"}),
        )
        .await;
        let method = api
            .post(
                &format!("/users/{email}/contact-methods"),
                json!({"channel": "webhook", "address": phones.url(&lower)}),
            )
            .await;
        let id = method["contact_method"]["id"].as_str().unwrap();
        api.post(
            &format!("/users/{email}/contact-methods/{id}/verify"),
            json!({"code": phones.code(&lower).expect("the webhook was sent its code")}),
        )
        .await;
    }
    api.post(
        "/escalation-policies",
        json!({"name": "Ops", "levels": [
            {"targets": [{"type": "user", "id": "alice@example.com"}], "delay_minutes": 30},
            {"targets": [{"type": "user", "id": "bob@example.com"}], "delay_minutes": 30}
        ]}),
    )
    .await;
    api.post(
        "/escalation-policies",
        json!({"name": "Support", "levels": [
            {"targets": [{"type": "user", "id": "carol@example.com"}], "delay_minutes": 30}
        ]}),
    )
    .await;
    api.post("/services", json!({"name": "Checkout"})).await;
    api.patch("/services/Checkout", json!({"escalation_policy": "Ops"}))
        .await;
    let integration = api
        .post(
            "/services/Checkout/integrations",
            json!({"name": "monitoring"}),
        )
        .await;
    integration["integration"]["routing_key"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A first start of `onduty serve` on a fresh SQLite directory, with the people and
/// policies of [`checkout_on_call`] paged at `phones`. Returns the server, the admin's
/// API and Checkout's routing key.
pub async fn checkout_server(
    data: &std::path::Path,
    phones: &WebhookSink,
) -> (Server, Api, String) {
    let database = vec!["--data-dir".to_owned(), data.display().to_string()];
    let mut server = Server::start(&database, &[]);
    let token = server.first_token();
    let api = Api::new(&server, &token);
    let key = checkout_on_call(&api, phones).await;
    (server, api, key)
}
