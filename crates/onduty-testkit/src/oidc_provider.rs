//! A real OpenID Connect provider for single sign-on stories: the npm package
//! `oidc-provider` (pinned in `e2e/package.json`), run by `e2e/oidc-provider.mjs` on
//! 127.0.0.1 with one client and four accounts (alice: verified, groups oncall-admins and
//! everyone; bob: address not verified; carol: verified, group responders; dave: verified,
//! no groups). It needs node and `npm ci --prefix e2e`; without them a story is skipped,
//! unless `ONDUTY_REQUIRE_OIDC_PROVIDER=1` (CI) makes that a failure.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const CLIENT_ID: &str = "onduty-tests";
pub const CLIENT_SECRET: &str = "a client secret for tests";

/// How the provider misbehaves, if it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// ID tokens live one second, and the token answer comes 2.5 s late.
    Expired,
    /// Its published key is not the one it signs with (same key id).
    BadSignature,
}

/// A running provider; stopped when dropped.
pub struct OidcProvider {
    child: Child,
    /// Where it listens (`http://127.0.0.1:<port>`).
    pub base: String,
}

/// A free port on 127.0.0.1 (to name the issuer before the provider runs).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn e2e_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../e2e")
}

impl OidcProvider {
    /// Starts the provider on `port`, calling itself `issuer` (another name than its
    /// address makes a relying party refuse it), sending people back to `redirect_uri`.
    /// `None` when node or the package is missing (and not required).
    pub async fn start(
        port: u16,
        issuer: &str,
        redirect_uri: &str,
        mode: Mode,
    ) -> Option<OidcProvider> {
        let required = std::env::var("ONDUTY_REQUIRE_OIDC_PROVIDER").as_deref() == Ok("1");
        let installed = e2e_dir()
            .join("node_modules/oidc-provider/package.json")
            .exists();
        let node = std::process::Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !installed || !node {
            assert!(
                !required,
                "ONDUTY_REQUIRE_OIDC_PROVIDER=1 but node or e2e/node_modules/oidc-provider is missing (npm ci --prefix e2e)"
            );
            eprintln!("skipped: node or oidc-provider is missing (npm ci --prefix e2e)");
            return None;
        }
        let mut child = Command::new("node")
            .arg(e2e_dir().join("oidc-provider.mjs"))
            .env("OIDC_PORT", port.to_string())
            .env("OIDC_ISSUER", issuer)
            .env("OIDC_CLIENT_ID", CLIENT_ID)
            .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
            .env("OIDC_REDIRECT_URI", redirect_uri)
            .env(
                "OIDC_MODE",
                match mode {
                    Mode::Normal => "normal",
                    Mode::Expired => "expired",
                    Mode::BadSignature => "bad-signature",
                },
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("node starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let listening = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.starts_with("oidc-provider listening on") {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(listening, Ok(true), "the OpenID provider did not start");
        Some(OidcProvider {
            child,
            base: format!("http://127.0.0.1:{port}"),
        })
    }

    /// Logs `account` in at the provider, from the authorization URL onduty sent the
    /// browser to, through the provider's log-in and consent forms (any password works);
    /// returns where the provider sends the browser back (onduty's callback, with the
    /// code and state).
    pub async fn log_in(&self, authorize: &str, account: &str) -> String {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut jar: HashMap<String, String> = HashMap::new();
        let step = |jar: &mut HashMap<String, String>, response: &reqwest::Response| {
            for c in response.headers().get_all(reqwest::header::SET_COOKIE) {
                let c = c.to_str().unwrap_or_default();
                let pair = c.split(';').next().unwrap_or_default();
                if let Some((k, v)) = pair.split_once('=') {
                    jar.insert(k.to_owned(), v.to_owned());
                }
            }
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .unwrap_or_else(|| panic!("a redirect, not {}", response.status()))
                .to_owned();
            if location.starts_with('/') {
                format!("{}{location}", self.base)
            } else {
                location
            }
        };
        let cookies = |jar: &HashMap<String, String>| {
            jar.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let get = |url: String, jar: &HashMap<String, String>| {
            http.get(url).header("cookie", cookies(jar)).send()
        };
        let response = get(authorize.to_owned(), &jar).await.unwrap();
        let login_form = step(&mut jar, &response);
        let response = http
            .post(&login_form)
            .header("cookie", cookies(&jar))
            .form(&[("prompt", "login"), ("login", account), ("password", "x")])
            .send()
            .await
            .unwrap();
        let resume = step(&mut jar, &response);
        let response = get(resume, &jar).await.unwrap();
        let consent_form = step(&mut jar, &response);
        let response = http
            .post(&consent_form)
            .header("cookie", cookies(&jar))
            .form(&[("prompt", "consent")])
            .send()
            .await
            .unwrap();
        let resume = step(&mut jar, &response);
        let response = get(resume, &jar).await.unwrap();
        step(&mut jar, &response)
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
