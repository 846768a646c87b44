//! The web UI over HTTP, as a browser without JavaScript uses it: first-run set-up, log
//! in and out, sessions and CSRF, changing a password, and incidents shown as text.

use onduty_testkit::{TestApp, trigger_event};
use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;

use crate::browser::{Browser, administrator, logged_in_as};

#[tokio::test]
async fn the_first_visit_sets_up_an_administrator_who_then_logs_in_and_out() {
    let app = TestApp::start().await;
    let mut browser = Browser::new(&app);

    // Nobody can log in yet: every page leads to the set-up page.
    let home = browser.get("/incidents").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.location(), "/login?next=%2Fincidents");
    let login = browser.get("/login").await;
    assert_eq!(login.location(), "/setup");
    let setup = browser.get("/setup").await;
    assert_eq!(setup.status, StatusCode::OK);
    let csrf = setup.csrf();

    // A form without the token is refused; a short password is explained.
    let forged = browser
        .post(
            "/setup",
            &[
                ("token", "x"),
                ("name", "Ada"),
                ("email", "ada@example.com"),
                ("password", "long enough pw"),
                ("csrf", "x"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // Without an administrator's API token (proof of running the server), no set-up.
    let stranger = browser
        .post(
            "/setup",
            &[
                ("token", "odt_guess"),
                ("name", "Mallory"),
                ("email", "mallory@example.com"),
                ("password", "long enough pw"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(stranger.status, StatusCode::BAD_REQUEST);
    assert!(
        stranger.body.contains("not an administrator"),
        "{}",
        stranger.body
    );
    let token = app.admin_token.clone();
    let short = browser
        .post(
            "/setup",
            &[
                ("token", &token),
                ("name", "Ada"),
                ("email", "ada@example.com"),
                ("password", "short"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    assert!(
        short.body.contains("10 to 200 characters"),
        "{}",
        short.body
    );

    let before = app.store.list_users().await.unwrap().len();
    let done = browser.set_up_as_ada(&csrf).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), "/");
    // The token's owner became Ada: there is one administrator, not a second one beside
    // the first start's.
    let (_, me) = app.api(reqwest::Method::GET, "/me", None).await;
    assert_eq!(me["user"]["email"], "ada@example.com", "{me}");
    assert_eq!(me["user"]["name"], "Ada", "{me}");
    assert_eq!(app.store.list_users().await.unwrap().len(), before);
    let cookie = done
        .headers
        .get(SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("onduty_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    let incidents = browser.get("/incidents").await;
    assert_eq!(incidents.status, StatusCode::OK);
    assert!(incidents.body.contains("Ada"), "{}", incidents.body);
    let csp = incidents.headers["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );

    // Set-up is over once someone can log in.
    assert_eq!(browser.get("/setup").await.location(), "/login");

    // Log out (with the session's token), then log in again.
    let csrf = incidents.csrf();
    assert_eq!(
        browser.post("/logout", &[("csrf", "wrong")]).await.status,
        StatusCode::FORBIDDEN
    );
    let out = browser.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.location(), "/login");
    assert_eq!(
        browser.get("/incidents").await.location(),
        "/login?next=%2Fincidents"
    );
    let login = browser.get("/login").await;
    let csrf = login.csrf();
    let wrong = browser.log_in("not the passphrase", &csrf).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("do not match"));
    let right = browser.log_in("a long passphrase", &csrf).await;
    assert_eq!(right.location(), "/");
    assert_eq!(browser.get("/incidents").await.status, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn logging_in_is_rate_limited_per_address_and_per_client() {
    let app = TestApp::start().await;
    administrator(&app).await;
    let mut guesser = Browser::new(&app);
    let csrf = guesser.get("/login").await.csrf();
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let a = guesser.log_in("guess guess guess", &csrf).await;
        statuses.push(a.status);
    }
    assert_eq!(statuses[..5], [StatusCode::UNAUTHORIZED; 5]);
    assert_eq!(statuses[5..], [StatusCode::TOO_MANY_REQUESTS; 2]);
    // Even the right password waits its turn, until time passes.
    let blocked = guesser.log_in("a long passphrase", &csrf).await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    app.advance(std::time::Duration::from_secs(60));
    let through = guesser.log_in("a long passphrase", &csrf).await;
    assert_eq!(through.location(), "/");

    // One client trying many addresses is limited too: 30 a minute.
    app.advance(std::time::Duration::from_secs(60));
    let mut sprayer = Browser::new(&app);
    let mut statuses = Vec::new();
    for n in 0..31 {
        let a = sprayer
            .log_in_as(&format!("user{n}@example.com"), "guess guess guess")
            .await;
        statuses.push(a.status);
    }
    assert_eq!(statuses[..30], [StatusCode::UNAUTHORIZED; 30]);
    assert_eq!(statuses[30], StatusCode::TOO_MANY_REQUESTS);
    app.stop().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_log_in_limit() {
    let app = TestApp::start_with(onduty_testkit::Backend::Sqlite, |c| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    administrator(&app).await;
    let mut sprayer = Browser::new(&app);
    let mut statuses = Vec::new();
    for n in 0..31 {
        let a = sprayer
            .log_in_via_proxy(
                "203.0.113.1",
                &format!("user{n}@example.com"),
                "guess guess guess",
            )
            .await;
        statuses.push(a.status);
    }
    assert_eq!(statuses[..30], [StatusCode::UNAUTHORIZED; 30]);
    assert_eq!(statuses[30], StatusCode::TOO_MANY_REQUESTS);
    // Someone else behind the same proxy is not held up by the sprayer.
    let mut ada = Browser::new(&app);
    let through = ada
        .log_in_via_proxy("198.51.100.7", "ada@example.com", "a long passphrase")
        .await;
    assert_eq!(through.location(), "/");
    // A client that makes up an earlier hop is still counted by the hop the proxy saw.
    let spoofed = sprayer
        .log_in_via_proxy(
            "192.0.2.99, 203.0.113.1",
            "user99@example.com",
            "guess guess guess",
        )
        .await;
    assert_eq!(spoofed.status, StatusCode::TOO_MANY_REQUESTS);
    // Nor by sending a header of its own before the proxy's (as HAProxy adds one).
    let own_header = sprayer
        .log_in_via_proxy(
            "192.0.2.98; 203.0.113.1",
            "user98@example.com",
            "guess guess guess",
        )
        .await;
    assert_eq!(own_header.status, StatusCode::TOO_MANY_REQUESTS);
    app.stop().await;
}

#[tokio::test]
async fn guessing_one_persons_password_from_many_addresses_is_limited_too() {
    let app = TestApp::start_with(onduty_testkit::Backend::Sqlite, |c| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    administrator(&app).await;
    let mut statuses = Vec::new();
    for n in 0..11 {
        let mut guesser = Browser::new(&app);
        let a = guesser
            .log_in_via_proxy(
                &format!("203.0.113.{n}"),
                "ada@example.com",
                "guess guess guess",
            )
            .await;
        statuses.push(a.status);
    }
    assert_eq!(statuses[..10], [StatusCode::UNAUTHORIZED; 10]);
    assert_eq!(statuses[10], StatusCode::TOO_MANY_REQUESTS);
    // Another person is not held up, and Ada gets in once the guessing has paused.
    let mut bob = Browser::new(&app);
    let other = bob
        .log_in_via_proxy("198.51.100.8", "bob@example.com", "guess guess guess")
        .await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED);
    app.advance(std::time::Duration::from_secs(60));
    let mut ada = Browser::new(&app);
    let through = ada
        .log_in_via_proxy("198.51.100.7", "ada@example.com", "a long passphrase")
        .await;
    assert_eq!(through.location(), "/");
    app.stop().await;
}

#[tokio::test]
async fn without_trusted_proxies_a_forwarded_for_header_changes_nothing() {
    let app = TestApp::start().await;
    administrator(&app).await;
    let mut sprayer = Browser::new(&app);
    for n in 0..30 {
        let client = format!("203.0.113.{n}");
        sprayer
            .log_in_via_proxy(
                &client,
                &format!("user{n}@example.com"),
                "guess guess guess",
            )
            .await;
    }
    let blocked = sprayer
        .log_in_via_proxy("198.51.100.7", "ada@example.com", "a long passphrase")
        .await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    app.stop().await;
}

#[tokio::test]
async fn changing_a_password_logs_out_the_other_sessions() {
    let app = TestApp::start().await;
    let mut laptop = administrator(&app).await;
    let mut phone = Browser::new(&app);
    let csrf = phone.get("/login").await.csrf();
    phone.log_in("a long passphrase", &csrf).await;
    assert_eq!(phone.get("/incidents").await.status, StatusCode::OK);

    let form = laptop.get("/account/password").await;
    let csrf = form.csrf();
    let wrong = laptop
        .post(
            "/account/password",
            &[
                ("current", "not it at all"),
                ("new", "another long one"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    let changed = laptop
        .post(
            "/account/password",
            &[
                ("current", "a long passphrase"),
                ("new", "another long one"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK);
    assert!(changed.body.contains("Your password is changed"));
    assert_eq!(laptop.get("/incidents").await.status, StatusCode::OK);
    assert_eq!(
        phone.get("/incidents").await.location(),
        "/login?next=%2Fincidents"
    );
    app.stop().await;
}

#[tokio::test]
async fn html_and_script_in_an_event_show_as_text() {
    let app = TestApp::start().await;
    let (_, key) = app.service("Web <b>shop</b>", "open").await;
    app.send_event(trigger_event(
        &key,
        "xss",
        "<script>alert('x')</script> & <img src=x onerror=alert(1)>",
    ))
    .await;
    let mut browser = Browser::new(&app);
    let csrf = browser.get("/setup").await.csrf();
    browser
        .post(
            "/setup",
            &[
                ("token", &app.admin_token),
                ("name", "Ada <i>"),
                ("email", "ada@example.com"),
                ("password", "a long passphrase"),
                ("csrf", &csrf),
            ],
        )
        .await;
    let page = browser.get("/incidents").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    assert!(!page.body.contains("<img src=x"), "{}", page.body);
    assert!(!page.body.contains("<b>shop"), "{}", page.body);
    assert!(
        page.body.contains("&#60;script&#62;alert") || page.body.contains("&lt;script&gt;alert"),
        "{}",
        page.body
    );
    assert!(page.body.contains("1 triggered"), "{}", page.body);
    app.stop().await;
}

#[tokio::test]
async fn an_incident_is_acknowledged_noted_and_resolved_from_its_page() {
    let app = TestApp::start().await;
    let (_, key) = app.service("Checkout", "open").await;
    let mut event = trigger_event(&key, "checkout", "Checkout is down");
    event["payload"]["custom_details"] =
        serde_json::json!({"error rate": "37%", "html": "<b>x</b>"});
    event["links"] = serde_json::json!([
        {"href": "javascript:alert(1)", "text": "Sneaky"},
        {"href": "https://runbooks.example.com/checkout", "text": "Runbook"}
    ]);
    event["client"] = serde_json::json!("Prometheus");
    event["client_url"] = serde_json::json!("https://prometheus.example.com/graph?g0.expr=up");
    app.send_event(event).await;
    let mut browser = administrator(&app).await;

    let list = browser.get("/incidents").await;
    assert!(list.body.contains("href=\"/incidents/1\""), "{}", list.body);
    let page = browser.get("/incidents/1").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("error rate"), "{}", page.body);
    assert!(!page.body.contains("<b>x</b>"));
    assert!(
        page.body
            .contains("href=\"https://runbooks.example.com/checkout\"")
    );
    assert!(!page.body.contains("href=\"javascript:"), "{}", page.body);
    // The sender's own page, the details as a table, the runbook first, how long so far.
    page.shows(r#"href="https://prometheus.example.com/graph?g0.expr=up" rel="noopener noreferrer">View in Prometheus</a>"#);
    page.shows(r#"<th scope="row">error rate</th><td>37%</td>"#);
    let runbook = page.body.find("Runbook</a>").unwrap();
    assert!(
        runbook < page.body.find("Sneaky").unwrap(),
        "the runbook first"
    );
    page.shows("Open for under a minute");
    page.shows(r#"data-copy="checkout">checkout</code>"#);
    let csrf = page.csrf();

    let forged = browser
        .post(
            "/incidents/1/act",
            &[("csrf", "nope"), ("action", "acknowledge")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let acked = browser
        .post(
            "/incidents/1/act",
            &[("csrf", &csrf), ("action", "acknowledge")],
        )
        .await;
    assert_eq!(acked.location(), "/incidents/1");
    // The page says what happened, once.
    let page = browser.get("/incidents/1").await;
    assert!(page.body.contains("Acknowledged #1</p>"), "{}", page.body);
    let page = browser.get("/incidents/1").await;
    assert!(!page.body.contains("Acknowledged #1</p>"), "{}", page.body);
    let noted = browser
        .post(
            "/incidents/1/note",
            &[("csrf", &csrf), ("text", "rolling back <the> deploy")],
        )
        .await;
    assert_eq!(
        noted.location(),
        "/incidents/1#add-note",
        "back where the note is"
    );
    let resolved = browser
        .post(
            "/incidents/1/act",
            &[("csrf", &csrf), ("action", "resolve")],
        )
        .await;
    assert_eq!(resolved.location(), "/incidents/1");
    let page = browser.get("/incidents/1").await;
    assert!(page.body.contains("status resolved"), "{}", page.body);
    page.shows("Resolved by Ada after under a minute");
    // The timeline's notes alone.
    let notes = browser.get("/incidents/1?show=notes").await;
    assert!(notes.body.contains("rolling back"), "{}", notes.body);
    assert!(!notes.body.contains("Triggered by"), "{}", notes.body);
    notes.shows(r#"?show=notes#timeline" aria-current="true">Notes</a>"#);
    assert!(page.body.contains("Acknowledged by Ada"), "{}", page.body);
    assert!(
        page.body.contains("rolling back &#60;the&#62; deploy")
            || page.body.contains("rolling back &lt;the&gt; deploy"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("name=\"action\" value=\"resolve\""),
        "no buttons once resolved"
    );

    // Acting on a resolved incident explains itself on the page.
    let again = browser
        .post(
            "/incidents/1/act",
            &[("csrf", &csrf), ("action", "acknowledge")],
        )
        .await;
    assert_eq!(again.location(), "/incidents/1");
    let shown = browser.get(again.location()).await;
    assert!(shown.body.contains("already resolved"), "{}", shown.body);
    // The message is shown once: its cookie goes with the page that showed it.
    let later = browser.get("/incidents/1").await;
    assert!(!later.body.contains("already resolved"), "{}", later.body);
    app.stop().await;
}

#[tokio::test]
async fn observers_see_incidents_but_cannot_act() {
    let app = TestApp::start().await;
    let (_, key) = app.service("Checkout", "open").await;
    app.send_event(trigger_event(&key, "checkout", "Checkout is down"))
        .await;
    administrator(&app).await;
    let mut browser = logged_in_as(&app, "Olga", "observer").await;
    let page = browser.get("/incidents/1").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("name=\"action\""), "{}", page.body);
    let csrf = page.csrf();
    let tried = browser
        .post(
            "/incidents/1/act",
            &[("csrf", &csrf), ("action", "acknowledge")],
        )
        .await;
    assert_eq!(tried.status, StatusCode::FORBIDDEN);
    app.stop().await;
}

#[tokio::test]
async fn the_list_filters_by_status_service_and_mine() {
    let app = TestApp::start().await;
    let (_, checkout) = app.service("Checkout", "open").await;
    let (_, search) = app.service("Search", "open").await;
    app.send_event(trigger_event(&checkout, "a", "Checkout is down"))
        .await;
    app.send_event(trigger_event(&search, "b", "Search is slow"))
        .await;
    app.send_event(trigger_event(&search, "c", "Search index stale"))
        .await;
    let mut browser = administrator(&app).await;
    let csrf = browser.get("/incidents").await.csrf();
    browser
        .post(
            "/incidents/3/act",
            &[("csrf", &csrf), ("action", "resolve")],
        )
        .await;
    browser
        .post(
            "/incidents/2/act",
            &[("csrf", &csrf), ("action", "acknowledge")],
        )
        .await;

    let open = browser.get("/incidents").await.body;
    assert!(open.contains("Checkout is down") && open.contains("Search is slow"));
    assert!(!open.contains("Search index stale"), "resolved is not open");
    let all = browser.get("/incidents?status=all").await.body;
    assert!(all.contains("Search index stale"));
    let services: serde_json::Value = app.api(reqwest::Method::GET, "/services", None).await.1;
    let search_id = services["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Search")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let only_search = browser
        .get(&format!("/incidents?status=all&service={search_id}"))
        .await
        .body;
    assert!(!only_search.contains("Checkout is down"));
    assert!(only_search.contains("Search is slow") && only_search.contains("Search index stale"));
    // Ada acknowledged #2, so it is hers.
    let mine = browser.get("/incidents?status=open&mine=1").await.body;
    assert!(mine.contains("Search is slow"), "{mine}");
    assert!(!mine.contains("Checkout is down"), "{mine}");

    // By team: Search belongs to Discovery.
    let (_, team) = app
        .api(
            reqwest::Method::POST,
            "/teams",
            Some(serde_json::json!({"name": "Discovery"})),
        )
        .await;
    let team_id = team["team"]["id"].as_str().unwrap().to_owned();
    app.api(
        reqwest::Method::PATCH,
        &format!("/services/{search_id}"),
        Some(serde_json::json!({"team": team_id})),
    )
    .await;
    let discovery = browser
        .get(&format!("/incidents?status=all&team={team_id}"))
        .await;
    discovery.shows("Search is slow");
    assert!(
        !discovery.body.contains("Checkout is down"),
        "{}",
        discovery.body
    );

    // By when they opened: two days on, none opened in the last day, all in the last week.
    app.advance(std::time::Duration::from_secs(2 * 24 * 3600));
    let today = browser.get("/incidents?status=all&opened=1d").await;
    today.shows("No incidents.");
    let week = browser.get("/incidents?status=all&opened=7d").await;
    week.shows("Checkout is down");
    week.shows("Search index stale");
    app.stop().await;
}

#[tokio::test]
async fn an_incident_is_reassigned_and_gets_a_responder_from_its_page_on_adas_clock() {
    let app = TestApp::start().await;
    let (_, key) = app.service("Checkout", "open").await;
    app.user_token("Grace", "responder").await;
    app.user_token("Alan", "responder").await;
    let mut browser = administrator(&app).await;
    app.api(
        reqwest::Method::PATCH,
        "/users/ada@example.com",
        Some(serde_json::json!({"time_zone": "Asia/Kolkata"})),
    )
    .await;
    app.send_event(trigger_event(&key, "cart", "Carts are empty"))
        .await;

    let page = browser.get("/incidents/1").await;
    // 03:00 UTC is 08:30 in Kolkata.
    page.shows("Thu 15 Jan 08:30");
    page.shows("Assigned to nobody");
    let csrf = page.csrf();
    let grace = page.attribute_before("value", "\">Grace</option>");
    assert!(grace.starts_with("user:"), "{grace}");
    let done = browser
        .post(
            "/incidents/1/act",
            &[("csrf", &csrf), ("action", "reassign"), ("to", &grace)],
        )
        .await;
    assert_eq!(done.location(), "/incidents/1");
    let page = browser.get("/incidents/1").await;
    page.shows("Assigned to Grace");
    let alan = page.attribute_before("value", "\">Alan</option>");
    let alan = alan.trim_start_matches("user:");
    browser
        .post(
            "/incidents/1/act",
            &[("csrf", &csrf), ("action", "responder"), ("to", alan)],
        )
        .await;
    let page = browser.get("/incidents/1").await;
    assert!(
        page.body.contains("Assigned to Grace, Alan")
            || page.body.contains("Assigned to Alan, Grace"),
        "{}",
        page.body
    );
    // Nobody to reassign to is an error on the page, not a change.
    browser
        .post(
            "/incidents/1/act",
            &[
                ("csrf", &csrf),
                ("action", "reassign"),
                ("to", "user:nobody"),
            ],
        )
        .await;
    browser
        .get("/incidents/1")
        .await
        .shows("choose someone or a policy to reassign to");
    app.stop().await;
}

#[tokio::test]
async fn a_new_incident_is_announced_to_live_pages() {
    let app = TestApp::start().await;
    let (_, key) = app.service("Checkout", "open").await;
    let browser = administrator(&app).await;
    let page = {
        let mut b = Browser {
            http: browser.http.clone(),
            base: browser.base.clone(),
            cookies: browser.cookies.clone(),
            admin_token: browser.admin_token.clone(),
        };
        b.get("/incidents").await
    };
    assert!(page.body.contains("data-live=\"incidents\""));
    assert!(
        page.body
            .contains("<script src=\"/static/live.js\" defer></script>")
    );
    assert!(!page.body.contains("<script>"), "no inline scripts");

    let mut stream = browser
        .http
        .get(format!("{}/live/incidents", app.url))
        .header("cookie", browser.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(
        stream.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    app.send_event(trigger_event(&key, "checkout", "Checkout is down"))
        .await;
    let mut seen = String::new();
    let heard = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(chunk) = stream.chunk().await.unwrap() {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("event: changed") {
                return;
            }
        }
    })
    .await;
    assert!(heard.is_ok(), "no change announced: {seen:?}");

    // Not for strangers.
    let stranger = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/live/incidents", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), StatusCode::SEE_OTHER);
    let script = reqwest::get(format!("{}/static/live.js", app.url))
        .await
        .unwrap();
    assert!(
        script.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    // The live stream is still open: stopping must end it rather than wait for it.
    app.stop().await;
    drop(stream);
}

#[tokio::test]
async fn logging_out_ends_the_live_stream() {
    let app = TestApp::start().await;
    let (_, key) = app.service("Checkout", "open").await;
    let mut browser = administrator(&app).await;
    let cookies = browser.cookie_header();
    let mut stream = browser
        .http
        .get(format!("{}/live/incidents", app.url))
        .header("cookie", &cookies)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let page = browser.get("/incidents").await;
    let out = browser.post("/logout", &[("csrf", &page.csrf())]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    app.send_event(trigger_event(&key, "checkout", "Checkout is down"))
        .await;
    let mut seen = String::new();
    let ended = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(chunk) = stream.chunk().await.unwrap() {
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream went on: {seen:?}");
    assert!(!seen.contains("event: changed"), "{seen:?}");
    app.stop().await;
}

#[tokio::test]
async fn the_on_call_page_shows_every_schedule_and_policy() {
    let app = TestApp::start().await;
    let mut browser = administrator(&app).await;
    let empty = browser.get("/oncall").await;
    assert!(empty.body.contains("No schedules yet."), "{}", empty.body);
    weekly_rota_of_ada_and_grace(&app, "Ops <rota>").await;
    let (status, _) = app
        .api(
            reqwest::Method::POST,
            "/escalation-policies",
            Some(serde_json::json!({"name": "Ops", "levels": [
                {"targets": [{"type": "schedule", "id": "Ops <rota>"}], "delay_minutes": 30}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let page = browser.get("/oncall").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("\">Ops &#60;rota&#62;</a></strong>:")
            || page.body.contains("\">Ops &lt;rota&gt;</a></strong>:"),
        "{}",
        page.body
    );
    page.shows("Ada");
    // Ada hands over to Grace at the next Monday 09:00 (T0 is Thursday 15 January 2026),
    // shown on Ada's clock.
    page.shows("until <time datetime=\"2026-01-19T09:00:00.000Z\">Mon 19 Jan 09:00</time>");
    assert!(page.body.contains("<h3>Ops</h3>"), "{}", page.body);
    app.stop().await;
}

#[tokio::test]
async fn the_incident_list_pages_through_older_incidents_with_its_filters() {
    let app = TestApp::start().await;
    let (_, key) = app.service("Batch", "open").await;
    let key = onduty_core::RoutingKey::parse(&key).unwrap();
    let events: Vec<_> = (0..105)
        .map(|n| {
            onduty_testkit::fixtures::trigger(
                &key,
                &format!("job-{n}"),
                &format!("Job {n} failed"),
                onduty_core::Clock::now(app.clock.as_ref()),
            )
        })
        .collect();
    app.store.ingest_batch(&events).await.unwrap();
    let mut browser = administrator(&app).await;

    let first = browser.get("/incidents?status=all").await;
    assert!(
        first.body.contains("href=\"/incidents/105\""),
        "{}",
        first.body
    );
    assert!(first.body.contains("href=\"/incidents/6\""));
    assert!(
        !first.body.contains("href=\"/incidents/5\""),
        "a hundred at a time"
    );
    assert!(!first.body.contains("← Newest"));
    assert!(first.body.contains("before=6\">Older →"), "{}", first.body);

    let second = browser.get("/incidents?status=all&before=6").await;
    assert!(
        second.body.contains("href=\"/incidents/5\""),
        "{}",
        second.body
    );
    assert!(second.body.contains("href=\"/incidents/1\""));
    assert!(!second.body.contains("href=\"/incidents/6\""));
    assert!(!second.body.contains("Older →"), "{}", second.body);
    assert!(second.body.contains("← Newest"));
    app.stop().await;
}

#[tokio::test]
async fn pages_that_do_not_exist_say_so_as_pages_and_the_api_as_json() {
    let app = TestApp::start().await;
    let mut browser = administrator(&app).await;
    let missing = browser.get("/incidents/4242").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing.body.contains("<h1>Not Found</h1>"),
        "{}",
        missing.body
    );
    assert!(
        missing.body.contains("incident #4242 not found"),
        "{}",
        missing.body
    );
    let nowhere = browser.get("/no/such/'page'").await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    assert!(
        nowhere.body.contains("<h1>Not Found</h1>"),
        "{}",
        nowhere.body
    );
    assert!(
        nowhere.body.contains("/no/such/&#39;page&#39;")
            || nowhere.body.contains("/no/such/&#x27;page&#x27;"),
        "escaped: {}",
        nowhere.body
    );
    assert!(
        nowhere.headers.contains_key("content-security-policy"),
        "{:?}",
        nowhere.headers
    );
    let (status, body) = app.api(reqwest::Method::GET, "/no-such-thing", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found", "{body}");
    app.stop().await;
}

#[tokio::test]
async fn logging_in_returns_to_the_page_asked_for_and_only_to_onduty_s_own() {
    let app = TestApp::start().await;
    crate::browser::logged_in_as(&app, "Grace", "responder").await;
    let mut phone = Browser::new(&app);
    let away = phone.get("/people?page=2").await;
    assert_eq!(away.location(), "/login?next=%2Fpeople%3Fpage%3D2");
    let form = phone.get(away.location()).await;
    form.shows(r#"name="next" value="/people?page=2""#);
    let csrf = form.csrf();
    let back = phone
        .post(
            "/login",
            &[
                ("email", "grace@example.com"),
                ("password", "their own password"),
                ("csrf", &csrf),
                ("next", "/people?page=2"),
            ],
        )
        .await;
    assert_eq!(back.location(), "/people?page=2");

    let mut other = Browser::new(&app);
    let csrf = other.get("/login?next=//evil.example/").await.csrf();
    let elsewhere = other
        .post(
            "/login",
            &[
                ("email", "grace@example.com"),
                ("password", "their own password"),
                ("csrf", &csrf),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(elsewhere.location(), "/");
    app.stop().await;
}

#[tokio::test]
async fn incidents_are_acknowledged_and_resolved_in_bulk_from_the_list() {
    let app = TestApp::start().await;
    let (_, key) = app.service("Checkout", "open").await;
    for (dedup, summary) in [
        ("disk/1", "Disk full on db01"),
        ("disk/2", "Disk full on db02"),
        ("cpu/1", "CPU hot on web01"),
        ("cpu/2", "CPU hot on web02"),
    ] {
        app.send_event(trigger_event(&key, dedup, summary)).await;
    }
    let status_of = |n: i64| {
        let app = &app;
        async move {
            let (_, body) = app
                .api(reqwest::Method::GET, &format!("/incidents/{n}"), None)
                .await;
            body["incident"]["status"].as_str().unwrap().to_owned()
        }
    };
    let mut browser = administrator(&app).await;
    // Sorted as asked, the choice kept in the form.
    let oldest = browser.get("/incidents?sort=oldest").await;
    oldest.shows(r#"<option value="oldest" selected>"#);
    let at = |n: &str| {
        oldest
            .body
            .find(&format!(r#"href="/incidents/{n}""#))
            .unwrap()
    };
    assert!(at("1") < at("4"), "oldest first");
    let newest = browser.get("/incidents").await;
    let at = |n: &str| {
        newest
            .body
            .find(&format!(r#"href="/incidents/{n}""#))
            .unwrap()
    };
    assert!(at("4") < at("1"), "newest first");
    let list = browser.get("/incidents?q=disk").await;
    list.shows("All 2 matching this filter");
    list.shows(r#"name="upto" value="2""#);
    list.shows("2 triggered · 0 acknowledged");
    let csrf = list.csrf();

    // Two ticked: both acknowledged, and the list says so.
    let ticked = browser
        .post(
            "/incidents/bulk",
            &[
                ("csrf", &csrf),
                ("action", "acknowledge"),
                ("status", "open"),
                ("n", "1"),
                ("n", "3"),
            ],
        )
        .await;
    assert_eq!(ticked.location(), "/incidents?status=open");
    browser
        .get("/incidents")
        .await
        .shows("Acknowledged 2 incidents");
    assert_eq!(
        [status_of(1).await, status_of(2).await, status_of(3).await],
        ["acknowledged", "triggered", "acknowledged"]
    );

    // All matching a search, as the page showed them (up to #2): only those, one already
    // acknowledged is said so, and one opened since is left alone.
    app.send_event(trigger_event(&key, "disk/3", "Disk full on db03"))
        .await;
    let all = browser
        .post(
            "/incidents/bulk",
            &[
                ("csrf", &csrf),
                ("action", "acknowledge"),
                ("status", "open"),
                ("q", "disk"),
                ("all", "1"),
                ("upto", "2"),
            ],
        )
        .await;
    assert_eq!(all.location(), "/incidents?status=open&q=disk");
    browser
        .get(all.location())
        .await
        .shows("Acknowledged 1 incident; 1 already was");
    assert_eq!(status_of(2).await, "acknowledged");
    assert_eq!(status_of(4).await, "triggered", "not matching the search");
    assert_eq!(status_of(5).await, "triggered", "not on the page");

    // Nothing ticked changes nothing and says why; a forged form is refused.
    let none = browser
        .post(
            "/incidents/bulk",
            &[("csrf", &csrf), ("action", "resolve"), ("status", "open")],
        )
        .await;
    browser
        .get(none.location())
        .await
        .shows("Nothing was selected");
    let forged = browser
        .post(
            "/incidents/bulk",
            &[("csrf", "nope"), ("action", "resolve"), ("all", "1")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(status_of(4).await, "triggered");

    // An observer sees no checkboxes, and cannot post the form.
    let mut observer = logged_in_as(&app, "Olive", "observer").await;
    let list = observer.get("/incidents").await;
    assert!(!list.body.contains("name=\"n\""), "{}", list.body);
    let csrf = list.csrf();
    let refused = observer
        .post(
            "/incidents/bulk",
            &[("csrf", &csrf), ("action", "resolve"), ("n", "4")],
        )
        .await;
    observer.get(refused.location()).await;
    assert_eq!(status_of(4).await, "triggered");
}

#[tokio::test]
async fn home_says_what_is_paging_you_and_when_you_are_on_call() {
    let app = TestApp::start().await;
    let mut browser = administrator(&app).await;
    let quiet = browser.get("/").await;
    quiet.shows("Nothing is paging you");
    quiet.shows("<title>Home · onduty</title>");
    quiet.shows("No shift of yours in the next 30 days.");

    weekly_rota_of_ada_and_grace(&app, "Ops rota").await;
    let (_, key) = app.service("Checkout", "open").await;
    for (dedup, summary) in [
        ("a", "Checkout 500s"),
        ("b", "Slow carts"),
        ("c", "Not Ada's"),
    ] {
        app.send_event(trigger_event(&key, dedup, summary)).await;
    }
    for (number, body) in [
        (1, serde_json::json!({"user": "ada@example.com"})),
        (2, serde_json::json!({"user": "ada@example.com"})),
        (3, serde_json::json!({"user": "grace@example.com"})),
    ] {
        let (status, _) = app
            .api(
                reqwest::Method::POST,
                &format!("/incidents/{number}/reassign"),
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, _) = app
        .api(reqwest::Method::POST, "/incidents/2/acknowledge", None)
        .await;
    assert_eq!(status, StatusCode::OK);

    let home = browser.get("/").await;
    // One still paging her (first), one she acknowledged; Grace's is not hers.
    home.shows("<title>(1) Home · onduty</title>");
    home.shows(r#"href="/static/icon-paging.svg""#);
    home.shows("1 waiting for you");
    let first = home.body.find("#1 Checkout 500s").unwrap();
    assert!(first < home.body.find("#2 Slow carts").unwrap());
    assert!(!home.body.contains("Not Ada"), "{}", home.body);
    // Ada holds the rota until Monday 09:00, then Grace; her next turn is a week later.
    home.shows("On call now</strong> in Ops rota until Mon 19 Jan 09:00.");
    home.shows("Next: Ops rota, Mon 26 Jan 09:00 until Mon 02 Feb 09:00.");
    assert!(
        home.body
            .contains("?start=2026-01-26T09%3A00&amp;end=2026-02-02T09%3A00#cover")
            || home
                .body
                .contains("?start=2026-01-26T09%3A00&#38;end=2026-02-02T09%3A00#cover"),
        "a link to find cover: {}",
        home.body
    );
    // Her page lists her shifts in the next two weeks.
    let profile = browser.get("/profile").await;
    let page = browser.get(profile.location()).await;
    page.shows("Ops rota: <strong>on call now</strong> until Mon 19 Jan 09:00");
    page.shows("Ops rota: Mon 26 Jan 09:00 until Mon 02 Feb 09:00");
    app.stop().await;
}

/// Grace, and a schedule `name` where Ada and Grace take weekly turns from Monday
/// 6 January 2020, 09:00 UTC (Ada first).
async fn weekly_rota_of_ada_and_grace(app: &TestApp, name: &str) {
    app.user_token("Grace", "responder").await;
    let (status, _) = app
        .api(
            reqwest::Method::POST,
            "/schedules",
            Some(
                serde_json::json!({"name": name, "time_zone": "UTC", "layers": [{
                "name": "Primary", "participants": ["ada@example.com", "grace@example.com"],
                "start": "2020-01-06T09:00", "shift": {"unit": "weeks", "count": 1}}]}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_form_that_fails_keeps_what_was_typed_and_says_why_in_plain_words() {
    let app = TestApp::start().await;
    let mut ada = administrator(&app).await;
    let csrf = ada.get("/people").await.csrf();
    let refused = ada
        .post(
            "/people",
            &[
                ("csrf", &csrf),
                ("name", "Grace <Hopper>"),
                ("email", "grace@example.com"),
                ("role", "observer"),
                ("time_zone", "America/New_Yrok"),
                ("password", "first password 1906"),
            ],
        )
        .await;
    assert_eq!(refused.location(), "/people#add-person");
    let page = ada.get("/people").await;
    page.shows("Time zone: ");
    assert!(!page.body.contains("'time_zone'"), "{}", page.body);
    page.shows(r#"value="Grace &#60;Hopper&#62;""#);
    page.shows(r#"value="grace@example.com""#);
    page.shows(r#"value="America/New_Yrok""#);
    page.shows(r#"<option value="observer" selected>"#);
    assert!(
        !page.body.contains("first password 1906"),
        "never the password"
    );
    // The time zone field suggests every zone.
    page.shows(r#"<option value="America/New_York">"#);
    // Shown once: the next visit has an empty form.
    let again = ada.get("/people").await;
    assert!(!again.body.contains("Grace"), "{}", again.body);
    let grace = onduty_core::account::Email::parse("grace@example.com").unwrap();
    assert!(
        app.store.user_by_email(&grace).await.unwrap().is_none(),
        "nobody was added"
    );
}
