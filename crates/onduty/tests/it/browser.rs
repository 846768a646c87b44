//! A browser without JavaScript for the web UI's stories: it keeps cookies, reads CSRF
//! fields out of pages and shows redirects instead of following them.

use std::collections::HashMap;

use onduty_testkit::TestApp;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};

/// A browser: keeps cookies, does not follow redirects (the tests look at them).
pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
    pub cookies: HashMap<String, String>,
    /// The administrator's API token, which the set-up page asks for.
    pub admin_token: String,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The value of the last `attribute` (`href`, `action`) that starts before the first
    /// `marker`, up to the marker: the link or form the marker ends.
    pub fn attribute_before(&self, attribute: &str, marker: &str) -> String {
        let at = self
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("no {marker:?} in {}", self.body));
        let open = format!("{attribute}=\"");
        let start = self.body[..at].rfind(&open).expect("the attribute") + open.len();
        self.body[start..at].to_owned()
    }

    /// Fails the test, showing the page, unless it contains `text`.
    #[track_caller]
    pub fn shows(&self, text: &str) {
        assert!(self.body.contains(text), "no {text:?} in {}", self.body);
    }

    /// The value of a hidden `csrf` field in the page.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a CSRF field")
            + 19;
        self.body[at..at + 64].to_owned()
    }
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: app.url.clone(),
            cookies: HashMap::new(),
            admin_token: app.admin_token.clone(),
        }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn send(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let response = request
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        for c in response.headers().get_all(SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (pair, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() || c.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        Answer {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    /// Ada sets onduty up as its first administrator, with the set-up page's `csrf`.
    pub async fn set_up_as_ada(&mut self, csrf: &str) -> Answer {
        let token = self.admin_token.clone();
        self.post(
            "/setup",
            &[
                ("token", &token),
                ("name", "Ada"),
                ("email", "ada@example.com"),
                ("password", "a long passphrase"),
                ("csrf", csrf),
            ],
        )
        .await
    }

    /// Someone logs in from the log-in page.
    pub async fn log_in_as(&mut self, email: &str, password: &str) -> Answer {
        let csrf = self.get("/login").await.csrf();
        self.post(
            "/login",
            &[("email", email), ("password", password), ("csrf", &csrf)],
        )
        .await
    }

    /// Ada logs in with `password`, with the log-in page's `csrf` token.
    pub async fn log_in(&mut self, password: &str, csrf: &str) -> Answer {
        self.post(
            "/login",
            &[
                ("email", "ada@example.com"),
                ("password", password),
                ("csrf", csrf),
            ],
        )
        .await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        self.post_form(path, form).await
    }

    /// Logs in as `email` through a reverse proxy that says the client is `client` (an
    /// `X-Forwarded-For` value; each comma-free `;`-separated part is a header of its own).
    pub async fn log_in_via_proxy(&mut self, client: &str, email: &str, password: &str) -> Answer {
        let csrf = self.get("/login").await.csrf();
        let mut request = self.http.post(format!("{}/login", self.base));
        for header in client.split(';') {
            request = request.header("x-forwarded-for", header.trim());
        }
        let request = request.form(&[("email", email), ("password", password), ("csrf", &csrf)]);
        self.send(request).await
    }

    /// Posts a form built at run time: any list of name and value pairs.
    pub async fn post_form<F: serde::Serialize + ?Sized>(
        &mut self,
        path: &str,
        form: &F,
    ) -> Answer {
        let request = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send(request).await
    }
}

/// A browser in which Ada set onduty up (she is logged in, as administrator).
pub async fn administrator(app: &TestApp) -> Browser {
    let mut browser = Browser::new(app);
    let csrf = browser.get("/setup").await.csrf();
    let done = browser.set_up_as_ada(&csrf).await;
    assert_eq!(done.location(), "/");
    browser
}

/// A browser in which `name` (a new user with `role`, e-mail `<name>@example.com`) is
/// logged in with a password set straight in the store.
pub async fn logged_in_as(app: &TestApp, name: &str, role: &str) -> Browser {
    app.user_token(name, role).await;
    let email = format!("{}@example.com", name.to_lowercase());
    let user = app
        .store
        .user_by_email(&onduty_core::account::Email::parse(&email).unwrap())
        .await
        .unwrap()
        .unwrap();
    let hash = onduty_core::account::Password::parse("their own password")
        .unwrap()
        .hash([1; 16]);
    app.store
        .set_password_hash(
            user.id,
            &hash,
            onduty_store::sessions::PasswordBy::Themselves,
        )
        .await
        .unwrap();
    let mut browser = Browser::new(app);
    let done = browser.log_in_as(&email, "their own password").await;
    assert_eq!(done.location(), "/");
    browser
}
