//! Single sign-on against a real OpenID provider (npm's oidc-provider): people sign in
//! through it and are matched by verified e-mail; new people get an account when the
//! policy says so, groups give roles; local passwords can be turned off; and a provider
//! answering with a wrong issuer, an expired token or a bad signature is refused with the
//! reason, signing nobody in.

use std::time::Duration;

use onduty_core::account::Role;
use onduty_core::sso::SsoPolicy;
use onduty_testkit::TestApp;
use onduty_testkit::oidc_provider::{CLIENT_ID, CLIENT_SECRET, Mode, OidcProvider, free_port};
use onduty_web::{Secret, SsoSettings};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::browser::Browser;

fn settings(issuer: &str, create_users: bool, local_passwords: bool) -> SsoSettings {
    SsoSettings {
        issuer: issuer.to_owned(),
        client_id: CLIENT_ID.to_owned(),
        client_secret: Secret::new(CLIENT_SECRET.to_owned()),
        scopes: vec![
            "email".to_owned(),
            "profile".to_owned(),
            "groups".to_owned(),
        ],
        policy: SsoPolicy {
            create_users,
            default_role: Role::Observer,
            group_roles: vec![
                ("oncall-admins".to_owned(), Role::Admin),
                ("responders".to_owned(), Role::Responder),
            ],
        },
        local_passwords,
    }
}

/// onduty with single sign-on through a provider calling itself `issuer` (at `port`)
/// where onduty expects `expected`, and the provider, unless it cannot run here.
async fn set_up(
    mode: Mode,
    provider_issuer: impl Fn(u16) -> String,
    create_users: bool,
    local_passwords: bool,
) -> Option<(TestApp, OidcProvider)> {
    let port = free_port();
    let expected = format!("http://127.0.0.1:{port}");
    let mut redirect = String::new();
    let app = TestApp::start_with(onduty_testkit::Backend::Sqlite, |config| {
        redirect = format!("{}/auth/oidc/callback", config.public_url);
        config.sso = Some(settings(&expected, create_users, local_passwords));
    })
    .await;
    let provider = OidcProvider::start(port, &provider_issuer(port), &redirect, mode).await?;
    Some((app, provider))
}

fn same_address(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// `account` goes through the provider from onduty's log-in button; onduty's answer to
/// the provider's redirect back.
async fn sign_in(
    browser: &mut Browser,
    provider: &OidcProvider,
    account: &str,
) -> crate::browser::Answer {
    let start = browser.get("/auth/oidc/start?next=/incidents").await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
    let back = provider.log_in(start.location(), account).await;
    let path = back
        .strip_prefix(&browser.base)
        .unwrap_or_else(|| panic!("back to onduty, not {back}"))
        .to_owned();
    browser.get(&path).await
}

async fn person(app: &TestApp, email: &str) -> Option<Value> {
    let (_, users) = app.api(Method::GET, "/users", None).await;
    users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == email)
        .cloned()
}

#[tokio::test]
async fn people_sign_in_through_their_provider_matched_by_verified_address_with_roles_from_groups()
{
    let Some((app, provider)) = set_up(Mode::Normal, same_address, true, true).await else {
        return;
    };
    // Carol has an account already, as an observer; her group makes her a responder.
    let (status, _) = app
        .api(
            Method::POST,
            "/users",
            Some(serde_json::json!({"email": "carol@example.com", "name": "Carol", "role": "observer"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // The log-in page offers single sign-on beside the password form.
    let mut alice = Browser::new(&app);
    let page = alice.get("/login").await;
    page.shows("Log in with single sign-on");
    page.shows("name=\"password\"");

    // Alice is new: an account is made, an admin by her group, and she is in.
    let back = sign_in(&mut alice, &provider, "alice").await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert_eq!(back.location(), "/incidents");
    assert_eq!(alice.get("/incidents").await.status, StatusCode::OK);
    let made = person(&app, "alice@example.com")
        .await
        .expect("Alice's account");
    assert_eq!(made["role"], "admin");
    assert_eq!(made["name"], "Alice Admin");

    let mut carol = Browser::new(&app);
    let back = sign_in(&mut carol, &provider, "carol").await;
    assert_eq!(back.location(), "/incidents");
    assert_eq!(
        person(&app, "carol@example.com").await.unwrap()["role"],
        "responder"
    );

    // Someone who signs in through the provider gives themselves no password beside it.
    let form = carol.get("/account/password").await;
    let csrf = form.csrf();
    let refused = carol
        .post(
            "/account/password",
            &[("new", "a long enough passphrase"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    refused.shows("only an administrator can give you a password");

    // Dave has no groups: the default role.
    let mut dave = Browser::new(&app);
    sign_in(&mut dave, &provider, "dave").await;
    assert_eq!(
        person(&app, "dave@example.com").await.unwrap()["role"],
        "observer"
    );

    // Bob's provider has not verified his address: not matched, no account.
    let mut bob = Browser::new(&app);
    let refused = sign_in(&mut bob, &provider, "bob").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    refused.shows("has not verified bob@example.com");
    assert!(person(&app, "bob@example.com").await.is_none());
    assert_eq!(bob.get("/incidents").await.status, StatusCode::SEE_OTHER);

    // The audit log has each sign-in, the account made and the role given.
    let (_, log) = app
        .api(Method::GET, "/audit-log?action=session", None)
        .await;
    assert_eq!(log["entries"].as_array().unwrap().len(), 3, "{log}");
    assert_eq!(log["entries"][0]["door"], "web");
    let (_, made) = app
        .api(Method::GET, "/audit-log?action=user.create_by_sso", None)
        .await;
    assert_eq!(made["entries"].as_array().unwrap().len(), 2, "{made}");
    let (_, roles) = app
        .api(Method::GET, "/audit-log?action=user.role_from_groups", None)
        .await;
    assert_eq!(roles["entries"][0]["before"]["role"], "observer");
    assert_eq!(roles["entries"][0]["after"]["role"], "responder");
}

#[tokio::test]
async fn an_answer_that_does_not_belong_to_this_browser_is_refused() {
    let Some((app, provider)) = set_up(Mode::Normal, same_address, true, true).await else {
        return;
    };
    // Started in one browser, brought back in another (a forged link, say).
    let mut started = Browser::new(&app);
    let start = started.get("/auth/oidc/start").await;
    let back = provider.log_in(start.location(), "alice").await;
    let path = back.strip_prefix(&app.url).unwrap().to_owned();
    let mut other = Browser::new(&app);
    let refused = other.get(&path).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    refused.shows("not started in this browser");
    // The right browser with another state.
    let tampered = path.replace("state=", "state=x");
    let refused = started.get(&tampered).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    refused.shows("does not belong to the sign-in started in this browser");
    assert!(person(&app, "alice@example.com").await.is_none());
}

#[tokio::test]
async fn with_local_passwords_off_only_single_sign_on_logs_in_and_only_known_people() {
    let Some((app, provider)) = set_up(Mode::Normal, same_address, false, false).await else {
        return;
    };
    let mut browser = Browser::new(&app);
    let page = browser.get("/login").await;
    page.shows("Log in with single sign-on");
    assert!(!page.body.contains("name=\"password\""), "{}", page.body);
    // The form's token, as a script posting to /login would send it.
    let csrf = browser.cookies["onduty_csrf"].clone();
    let refused = browser
        .post(
            "/login",
            &[
                ("email", "admin@example.com"),
                ("password", "whatever it is"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    refused.shows("turned off");
    // Nobody is made: Alice has no account.
    let refused = sign_in(&mut browser, &provider, "alice").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    refused.shows("no onduty account for alice@example.com");
    assert!(person(&app, "alice@example.com").await.is_none());
}

/// A refused sign-in: the log-in page with the reason, and nobody signed in. With
/// `ahead`, onduty's clock reads the provider's time plus that when the answer comes.
async fn refused_with(
    mode: Mode,
    provider_issuer: impl Fn(u16) -> String,
    ahead: Option<Duration>,
    reason: &str,
) {
    let Some((app, provider)) = set_up(mode, provider_issuer, true, true).await else {
        return;
    };
    let mut browser = Browser::new(&app);
    let start = browser.get("/auth/oidc/start").await;
    let answer = if start.status == StatusCode::SEE_OTHER {
        if let Some(ahead) = ahead {
            let real = onduty_core::Clock::now(&onduty_core::SystemClock);
            let behind = u64::try_from(real.as_millis() - app.now().as_millis()).unwrap();
            app.advance(Duration::from_millis(behind) + ahead);
        }
        let back = provider.log_in(start.location(), "alice").await;
        browser.get(back.strip_prefix(&app.url).unwrap()).await
    } else {
        start
    };
    assert_eq!(
        answer.status,
        StatusCode::BAD_GATEWAY,
        "{mode:?}: {}",
        answer.body
    );
    answer.shows(reason);
    assert!(
        person(&app, "alice@example.com").await.is_none(),
        "{mode:?}"
    );
    assert_eq!(
        browser.get("/incidents").await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_provider_calling_itself_by_another_name_is_refused() {
    refused_with(
        Mode::Normal,
        |port| format!("http://localhost:{port}"),
        None,
        "calls itself http://localhost:",
    )
    .await;
}

#[tokio::test]
async fn an_expired_id_token_is_refused() {
    refused_with(
        Mode::Expired,
        same_address,
        Some(Duration::from_secs(60)),
        "has expired",
    )
    .await;
}

#[tokio::test]
async fn an_id_token_is_checked_on_ondutys_own_clock() {
    // The provider's token is good for an hour; onduty's clock reads two hours on.
    refused_with(
        Mode::Normal,
        same_address,
        Some(Duration::from_secs(2 * 3600)),
        "has expired",
    )
    .await;
}

#[tokio::test]
async fn an_id_token_whose_signature_does_not_match_the_providers_keys_is_refused() {
    refused_with(
        Mode::BadSignature,
        same_address,
        None,
        "signature does not match",
    )
    .await;
}
