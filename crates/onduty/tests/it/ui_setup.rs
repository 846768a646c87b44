//! Setting a team up from the web UI alone: services and their integrations, escalation
//! policies, schedules and people, as an administrator without JavaScript does it.

use onduty_notify::Content;
use onduty_testkit::{TestApp, trigger_event};
use reqwest::{Method, StatusCode};

use crate::browser::{Answer, Browser, administrator, logged_in_as};

/// The text between `start` and the next `end` in a page.
fn between<'a>(page: &'a Answer, start: &str, end: &str) -> &'a str {
    let from = page
        .body
        .find(start)
        .unwrap_or_else(|| panic!("no {start:?} in {}", page.body))
        + start.len();
    let to = page.body[from..].find(end).expect("the end") + from;
    &page.body[from..to]
}

/// The value of the `<option>` whose label is `label`.
fn option_value(page: &Answer, label: &str) -> String {
    let at = page
        .body
        .find(&format!(">{label}</option>"))
        .unwrap_or_else(|| panic!("no option {label:?} in {}", page.body));
    let open = page.body[..at].rfind("value=\"").unwrap() + 7;
    let close = page.body[open..].find('"').unwrap() + open;
    page.body[open..close].to_owned()
}

/// The value of the checkbox whose label is `label`.
fn checkbox_value(page: &Answer, label: &str) -> String {
    let at = page
        .body
        .find(&format!("> {label}</label>"))
        .unwrap_or_else(|| panic!("no checkbox {label:?} in {}", page.body));
    let open = page.body[..at].rfind("value=\"").unwrap() + 7;
    let close = page.body[open..].find('"').unwrap() + open;
    page.body[open..close].to_owned()
}

#[tokio::test]
async fn ada_sets_up_a_service_and_its_policy_and_the_first_event_pages_grace() {
    let app = TestApp::start().await;
    app.user_token("Grace", "responder").await;
    let mut ada = administrator(&app).await;

    // A policy: Grace first, then Ada after 15 minutes.
    let policies = ada.get("/escalation-policies").await;
    let csrf = policies.csrf();
    // Whom to page are checkboxes: no Ctrl-click to pick several.
    let grace = checkbox_value(&policies, "Person: Grace");
    let ada_id = checkbox_value(&policies, "Person: Ada");
    let created = ada
        .post(
            "/escalation-policies",
            &[
                ("csrf", &csrf),
                ("name", "Checkout on-call"),
                ("level1.target", &grace),
                ("level1.delay", "15"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER);
    let policy_url = created.location().to_owned();
    assert!(
        policy_url.starts_with("/escalation-policies/"),
        "{policy_url}"
    );
    let policy = ada.get(&policy_url).await;
    policy.shows("If nobody acknowledges: Grace now; nobody more after 15 minutes.");
    let saved = ada
        .post(
            &policy_url,
            &[
                ("csrf", &csrf),
                ("name", "Checkout on-call"),
                ("description", ""),
                ("level1.target", &grace),
                ("level1.delay", "15"),
                ("level1.mode", "all"),
                ("level2.target", &ada_id),
                ("level2.delay", "30"),
                ("level2.mode", "all"),
                ("repeat", "1"),
            ],
        )
        .await;
    assert_eq!(saved.location(), policy_url);
    let policy = ada.get(&policy_url).await;
    policy.shows("Saved.");
    policy.shows(&format!(
        r#"name="level1.target" value="{grace}" class="check" checked> Person: Grace</label>"#
    ));
    policy.shows("If nobody acknowledges: Grace now; Ada after 15 minutes; then all over again once, after 45 minutes from the start.");

    // Saving keeps what the form does not show (the team), and a form without the page's
    // token is refused before anything in it is read.
    let (_, team) = app
        .api(
            reqwest::Method::POST,
            "/teams",
            Some(serde_json::json!({"name": "Payments"})),
        )
        .await;
    let (status, _) = app
        .api(
            reqwest::Method::PUT,
            &format!("/escalation-policies/{}", policy_url.trim_start_matches("/escalation-policies/")),
            Some(serde_json::json!({"name": "Checkout on-call", "team": "Payments", "repeat": 1, "levels": [
                {"targets": [{"type": "user", "id": "grace@example.com"}], "delay_minutes": 15},
                {"targets": [{"type": "user", "id": "ada@example.com"}], "delay_minutes": 30}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    ada.post(
        &policy_url,
        &[
            ("csrf", &csrf),
            ("name", "Checkout on-call"),
            ("level1.target", &grace),
            ("level1.delay", "20"),
            ("level2.target", &ada_id),
            ("level2.delay", "30"),
            ("repeat", "1"),
        ],
    )
    .await;
    let (_, read) = app
        .api(
            reqwest::Method::GET,
            &format!(
                "/escalation-policies/{}",
                policy_url.trim_start_matches("/escalation-policies/")
            ),
            None,
        )
        .await;
    assert_eq!(
        read["escalation_policy"]["levels"][0]["delay_minutes"], 20,
        "{read}"
    );
    assert_eq!(
        read["escalation_policy"]["team_id"], team["team"]["id"],
        "{read}"
    );
    let forged = ada
        .post(
            &policy_url,
            &[("csrf", "forged"), ("name", "X"), ("level1.delay", "soon")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // A service paged through it, with an integration made for it.
    let services = ada.get("/services").await;
    let policy_id = option_value(&services, "Checkout on-call");
    let created = ada
        .post(
            "/services",
            &[
                ("csrf", &csrf),
                ("name", "Checkout"),
                ("description", "Takes the money"),
                ("escalation_policy", &policy_id),
            ],
        )
        .await;
    let service_url = created.location().to_owned();
    assert!(service_url.starts_with("/services/"), "{service_url}");
    let service = ada.get(&service_url).await;
    service.shows("Created Checkout.");
    service.shows("Pages through");
    let key = between(&service, "<code class=\"key\">", "</code>").to_owned();
    assert_eq!(key.len(), 32, "{key}");
    let events_url = format!("{}/v2/enqueue", app.url);
    assert!(
        service
            .body
            .contains(&format!("routing_key: {key}\n        url: {events_url}")),
        "the Alertmanager receiver: {}",
        service.body
    );
    service.shows(&format!("API URL: {events_url}"));

    // The first event opens an incident that pages Grace.
    let (status, _) = app
        .send_event(trigger_event(&key, "cart", "Carts are empty"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    app.tick().await;
    let incident = ada.get("/incidents/1").await;
    incident.shows("Carts are empty");
    incident.shows("Grace");

    // Settings change through the same form; a bad value changes nothing and says why.
    let form = |ack: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("name", "Checkout".to_owned()),
            ("description", "Takes the money".to_owned()),
            ("escalation_policy", policy_id.clone()),
            ("team", String::new()),
            ("urgency", "severity".to_owned()),
            ("dedup_mode", "open".to_owned()),
            ("ack_timeout_minutes", ack.to_owned()),
            ("auto_resolve_minutes", String::new()),
        ]
    };
    let refused = ada.post_form(&service_url, &form("soon")).await;
    assert_eq!(refused.location(), service_url);
    let shown = ada.get(&service_url).await;
    shown.shows("The acknowledgement timeout is a whole number of minutes");
    shown.shows("<option value=\"high\" selected>");
    ada.post_form(&service_url, &form("45")).await;
    let shown = ada.get(&service_url).await;
    shown.shows("Saved.");
    shown.shows("<option value=\"severity\" selected>");
    shown.shows("name=\"ack_timeout_minutes\" value=\"45\"");

    // A second service with the same name is refused, with the reason.
    let again = ada
        .post("/services", &[("csrf", &csrf), ("name", "Checkout")])
        .await;
    assert_eq!(again.location(), "/services#new-service");
    let list = ada.get("/services").await;
    list.shows("class=\"error\" role=\"alert\"");
    assert_eq!(
        list.body.matches("<a href=\"/services/").count(),
        1,
        "{}",
        list.body
    );

    // An observer sees the service but no forms or key, and cannot post the forms.
    let mut olga = logged_in_as(&app, "Olga", "observer").await;
    let seen = olga.get(&service_url).await;
    seen.shows("Checkout");
    assert!(!seen.body.contains("Add integration"), "{}", seen.body);
    assert!(
        !seen.body.contains(&key),
        "observers see no routing key: {}",
        seen.body
    );
    let o = seen.csrf();
    olga.post("/services", &[("csrf", &o), ("name", "Sneaky")])
        .await;
    olga.get("/services")
        .await
        .shows("class=\"error\" role=\"alert\"");
    olga.post(&policy_url, &[("csrf", &o), ("name", "Renamed")])
        .await;
    let (_, services) = app.api(reqwest::Method::GET, "/services", None).await;
    assert_eq!(
        services["services"].as_array().unwrap().len(),
        1,
        "{services}"
    );
    ada.get(&policy_url).await.shows("Checkout on-call");
    app.stop().await;
}

/// Ada, the administrator, on the page of a new service `name`: her browser, the page's
/// path and its CSRF token.
async fn ada_on_service(app: &TestApp, name: &str) -> (Browser, String, String) {
    let (service, _) = app.service(name, "open").await;
    let mut ada = administrator(app).await;
    let url = format!("/services/{service}");
    let csrf = ada.get(&url).await.csrf();
    (ada, url, csrf)
}

/// The schedule form for the Ops rota on `zone`: Grace and Alan a day at a time from
/// midnight on `today`, plus `more` fields.
fn rota_form(csrf: &str, zone: &str, today: &str, more: &[(&str, &str)]) -> Vec<(String, String)> {
    let start = format!("{today}T00:00");
    let form: Vec<(String, String)> = [
        ("csrf", csrf),
        ("name", "Ops rota"),
        ("description", ""),
        ("time_zone", zone),
        ("layer1.name", "Primary"),
        ("layer1.participants", "grace@example.com, alan@example.com"),
        ("layer1.start", &start),
        ("layer1.count", "1"),
        ("layer1.unit", "days"),
    ]
    .iter()
    .chain(more)
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    form
}

#[tokio::test]
async fn a_rota_is_set_up_and_a_shift_covered_from_its_timeline() {
    let app = TestApp::start().await;
    app.user_token("Grace", "responder").await;
    app.user_token("Alan", "responder").await;
    let mut ada = administrator(&app).await;
    let today = app.now().to_rfc3339()[..10].to_owned();

    // A daily rota on UTC: Grace from midnight today, then Alan.
    let csrf = ada.get("/schedules").await.csrf();
    let refused = ada
        .post_form("/schedules", &rota_form(&csrf, "Mars/Olympus", &today, &[]))
        .await;
    assert_eq!(refused.location(), "/schedules#new-schedule");
    // Said in plain words, with what was typed kept in the form.
    let shown = ada.get("/schedules").await;
    shown.shows("Time zone: ");
    shown.shows(r#"value="Ops rota""#);
    shown.shows(r#"value="Mars/Olympus""#);
    let created = ada
        .post_form("/schedules", &rota_form(&csrf, "UTC", &today, &[]))
        .await;
    let url = created.location().to_owned();
    assert!(url.starts_with("/schedules/"), "{url}");
    let rota = ada.get(&url).await;
    rota.shows("Created Ops rota.");
    rota.shows("On call now: <strong>Grace</strong>");
    rota.shows("Next: Alan from");
    rota.shows("/calendar/schedules/");
    // Fourteen days, each a bar and its lines; Grace and Alan take turns.
    assert_eq!(rota.body.matches("<svg class=\"day\"").count(), 14);
    assert_eq!(
        rota.body
            .matches("<title>00:00–24:00 Grace</title>")
            .count(),
        7,
        "{}",
        rota.body
    );
    assert_eq!(
        rota.body.matches("<title>00:00–24:00 Alan</title>").count(),
        7,
        "{}",
        rota.body
    );

    // Ada covers Grace's shift today, from its "Cover this" link.
    let link = rota
        .attribute_before("href", "\" class=\"cover\">")
        .replace("&amp;", "&");
    let form = ada.get(&link).await;
    let start = between(&form, "name=\"start\" value=\"", "\"").to_owned();
    let end = between(&form, "name=\"end\" value=\"", "\"").to_owned();
    assert_eq!(start, format!("{today}T00:00"));
    assert!(end.ends_with("T00:00") && end != start, "{end}");
    let ada_id = option_value(&form, "Ada");
    let added = ada
        .post(
            &format!("{url}/overrides"),
            &[
                ("csrf", &csrf),
                ("user", &ada_id),
                ("start", &start),
                ("end", &end),
            ],
        )
        .await;
    assert_eq!(added.location(), url);
    let rota = ada.get(&url).await;
    rota.shows("Override added.");
    rota.shows("On call now: <strong>Ada</strong>");
    rota.shows("00:00–24:00 Ada <span class=\"muted\">(override)");
    assert_eq!(
        rota.body
            .matches("<title>00:00–24:00 Grace</title>")
            .count(),
        6,
        "{}",
        rota.body
    );

    // The API agrees: Ada is on call.
    let (_, now) = app.api(reqwest::Method::GET, "/oncall", None).await;
    assert_eq!(now["schedules"][0]["on_call"][0]["name"], "Ada", "{now}");

    // Removing the override gives the shift back to Grace.
    let remove = rota.attribute_before("action", "/delete\"");
    assert!(remove.contains("/overrides/"), "{remove}");
    ada.post(&format!("{remove}/delete"), &[("csrf", &csrf)])
        .await;
    let rota = ada.get(&url).await;
    rota.shows("On call now: <strong>Grace</strong>");

    // A second layer: Alan alone at night, hours at a time.
    let start = format!("{today}T00:00");
    let more = [
        ("layer2.name", "Everything"),
        ("layer2.participants", "alan@example.com"),
        ("layer2.start", start.as_str()),
        ("layer2.count", "12"),
        ("layer2.unit", "hours"),
    ];
    let saved = ada
        .post_form(&url, &rota_form(&csrf, "UTC", &today, &more))
        .await;
    assert_eq!(saved.location(), url);
    let rota = ada.get(&url).await;
    rota.shows("Saved.");
    rota.shows("On call now: <strong>Alan</strong>");
    rota.shows("Layer 2: Alan");
    app.stop().await;
}

#[tokio::test]
async fn ada_adds_grace_who_sets_up_her_phone_and_rules_and_admins_manage_roles() {
    let app = TestApp::start().await;
    let mut ada = administrator(&app).await;

    // Ada adds Grace with a first password.
    let csrf = ada.get("/people").await.csrf();
    let added = ada
        .post(
            "/people",
            &[
                ("csrf", &csrf),
                ("name", "Grace"),
                ("email", "grace@example.com"),
                ("role", "responder"),
                ("time_zone", ""),
                ("password", "grace's first password"),
            ],
        )
        .await;
    let grace_url = added.location().to_owned();
    assert!(grace_url.starts_with("/people/"), "{grace_url}");
    ada.get(&grace_url)
        .await
        .shows("Added Grace. They log in as grace@example.com");

    // Grace logs in, chooses her own password before anything else, and finds her page
    // from her name.
    let mut grace = Browser::new(&app);
    let in_ = grace
        .log_in_as("grace@example.com", "grace's first password")
        .await;
    assert_eq!(in_.location(), "/");
    let home = grace.get("/").await;
    assert_eq!(home.location(), "/account/password?next=%2F");
    let asked = grace.get("/profile").await;
    assert_eq!(asked.location(), "/account/password?next=%2Fprofile");
    let choose = grace.get(asked.location()).await;
    choose.shows("Choose your own password");
    // Not the one Ada gave: Ada knows it.
    let kept = grace
        .post(
            "/account/password",
            &[
                ("csrf", &choose.csrf()),
                ("current", "grace's first password"),
                ("new", "grace's first password"),
                ("next", "/profile"),
            ],
        )
        .await;
    assert_eq!(kept.status, reqwest::StatusCode::BAD_REQUEST);
    kept.shows("Choose a password other than the one you were given.");
    let chosen = grace
        .post(
            "/account/password",
            &[
                ("csrf", &choose.csrf()),
                ("current", "grace's first password"),
                ("new", "grace's own password"),
                ("next", "/profile"),
            ],
        )
        .await;
    assert_eq!(chosen.location(), "/profile");
    let profile = grace.get("/profile").await;
    assert_eq!(profile.location(), grace_url);
    let page = grace.get(&grace_url).await;
    page.shows("No contact methods: you cannot be paged.");
    let g = page.csrf();

    // Her phone: a code is sent; a wrong one is refused, the right one verifies it.
    let sent = grace
        .post(
            &format!("{grace_url}/methods"),
            &[
                ("csrf", &g),
                ("channel", "sms"),
                ("address", "+44 7700 900123"),
                ("name", "mobile"),
            ],
        )
        .await;
    assert_eq!(sent.location(), grace_url);
    let page = grace.get(&grace_url).await;
    page.shows("A code is on its way");
    page.shows("Not verified");
    page.shows("sms +447700900123 at once, for any urgency");
    page.shows("sms +447700900123 after 5 minutes, for high urgency");
    let messages = app.notifier.take();
    let Content::Verification { code } = &messages[0].content else {
        panic!("a code was sent: {messages:?}")
    };
    let verify = &page.attribute_before("action", "/verify\"");
    // No tests to a phone before it is proven hers.
    grace.post(&format!("{verify}/test"), &[("csrf", &g)]).await;
    grace
        .get(&grace_url)
        .await
        .shows("verify this contact method with its code before sending it a test");
    assert!(app.notifier.take().is_empty());
    grace
        .post(
            &format!("{verify}/verify"),
            &[("csrf", &g), ("code", "000000x")],
        )
        .await;
    grace.get(&grace_url).await.shows("wrong code");
    grace
        .post(&format!("{verify}/verify"), &[("csrf", &g), ("code", code)])
        .await;
    let page = grace.get(&grace_url).await;
    page.shows("Verified.");
    assert!(!page.body.contains("Not verified"), "{}", page.body);
    grace.post(&format!("{verify}/test"), &[("csrf", &g)]).await;
    grace.get(&grace_url).await.shows("Test sent.");
    let tests = app.notifier.take();
    assert_eq!(tests.len(), 1, "{tests:?}");
    assert_eq!(tests[0].to, "+447700900123");

    // A rule for low urgency after 10 minutes, added and removed.
    let method_id = verify.rsplit('/').next().unwrap().to_owned();
    grace
        .post(
            &format!("{grace_url}/rules"),
            &[
                ("csrf", &g),
                ("contact_method", &method_id),
                ("delay_minutes", "10"),
                ("urgency", "low"),
            ],
        )
        .await;
    let page = grace.get(&grace_url).await;
    page.shows("sms +447700900123 after 10 minutes, for low urgency");
    assert_eq!(page.body.matches("/delete\" class=\"inline\">").count(), 3);
    let rule = page.attribute_before("action", "/delete\" class=\"inline\">");
    grace.post(&format!("{rule}/delete"), &[("csrf", &g)]).await;
    let page = grace.get(&grace_url).await;
    page.shows("Rule removed.");
    assert_eq!(page.body.matches("/delete\" class=\"inline\">").count(), 2);

    // Her time zone is hers to change; her role is not.
    grace
        .post(
            &grace_url,
            &[
                ("csrf", &g),
                ("name", "Grace H"),
                ("time_zone", "Europe/London"),
            ],
        )
        .await;
    grace.get(&grace_url).await.shows("Grace H");
    grace
        .post(
            &grace_url,
            &[
                ("csrf", &g),
                ("name", "Grace H"),
                ("time_zone", "Europe/London"),
                ("role", "admin"),
            ],
        )
        .await;
    let page = grace.get(&grace_url).await;
    assert!(
        page.body.contains("class=\"error\" role=\"alert\""),
        "{}",
        page.body
    );
    page.shows("responder");
    // She sees Ada's page, but not Ada's contact details, and cannot add to them.
    let people = grace.get("/people").await;
    assert!(!people.body.contains("Add a person"), "{}", people.body);
    assert!(
        !people.body.contains("Codes and test messages"),
        "only admins see who was sent codes"
    );
    assert!(
        !people.body.contains("paging engine"),
        "nor the server's state"
    );
    // Admins see whether an instance runs the paging engine, and which.
    ada.get("/people")
        .await
        .shows("No instance runs the paging engine. Nothing is paged");
    let until = app.now().saturating_add(std::time::Duration::from_secs(15));
    assert!(
        app.store
            .acquire_lease("pager-1:8080", app.now(), until)
            .await
            .unwrap()
    );
    let seen_by_ada = ada.get("/people").await;
    seen_by_ada.shows("The paging engine runs on pager-1:8080");
    seen_by_ada.shows("Codes and test messages");
    assert!(
        seen_by_ada
            .body
            .contains("Grace H</a> <span class=\"muted\">2 of 10</span>"),
        "{}",
        seen_by_ada.body
    );
    let ada_url = people.attribute_before("href", "\">Ada</a>");
    let ada_page = grace.get(&ada_url).await;
    assert!(
        !ada_page.body.contains("Contact methods"),
        "{}",
        ada_page.body
    );
    grace
        .post(
            &format!("{ada_url}/methods"),
            &[
                ("csrf", &g),
                ("channel", "email"),
                ("address", "x@example.com"),
            ],
        )
        .await;
    assert!(app.notifier.take().is_empty());

    // Ada cannot leave the server without an administrator.
    ada.post(&ada_url, &[("csrf", &csrf), ("role", "observer")])
        .await;
    ada.get("/people")
        .await
        .shows("this is the last administrator");

    // Ada makes Grace an observer, puts her in a team, and sets her a new password,
    // which logs her out.
    ada.post(&grace_url, &[("csrf", &csrf), ("role", "observer")])
        .await;
    ada.get("/people").await.shows("Saved.");
    grace.get(&grace_url).await.shows("observer");
    ada.post("/teams", &[("csrf", &csrf), ("name", "Payments")])
        .await;
    let people = ada.get("/people").await;
    people.shows("Team created.");
    let team = between(
        &people,
        "<form method=\"post\" action=\"/teams/",
        "/members\"",
    )
    .to_owned();
    let grace_id = grace_url.trim_start_matches("/people/").to_owned();
    ada.post(
        &format!("/teams/{team}/members"),
        &[("csrf", &csrf), ("user", &grace_id)],
    )
    .await;
    ada.get("/people").await.shows("Added to the team.");
    let (_, teams) = app.api(reqwest::Method::GET, "/teams", None).await;
    assert_eq!(
        teams["teams"][0]["members"].as_array().unwrap().len(),
        1,
        "{teams}"
    );
    ada.post(
        &format!("{grace_url}/password"),
        &[("csrf", &csrf), ("password", "a brand new password")],
    )
    .await;
    ada.get(&grace_url)
        .await
        .shows("they are logged out everywhere");
    assert_eq!(
        grace.get("/incidents").await.location(),
        "/login?next=%2Fincidents"
    );
    // A password an administrator set is theirs to replace too.
    let again = grace
        .log_in_as("grace@example.com", "a brand new password")
        .await;
    assert_eq!(again.location(), "/");
    assert_eq!(
        grace.get("/incidents").await.location(),
        "/account/password?next=%2Fincidents"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_heartbeat_is_added_on_the_service_page_and_shows_its_pings() {
    let app = TestApp::start().await;
    let (mut ada, url, csrf) = ada_on_service(&app, "Backups").await;
    let form = |every: &'static str, period: &'static str, cron: &'static str| {
        [
            ("csrf", csrf.clone()),
            ("name", "nightly-backup".to_owned()),
            ("every", every.to_owned()),
            ("period_minutes", period.to_owned()),
            ("cron", cron.to_owned()),
            ("time_zone", "Europe/London".to_owned()),
            ("grace_minutes", "30".to_owned()),
        ]
    };
    ada.post_form(&format!("{url}/heartbeats"), &form("cron", "", "at dawn"))
        .await;
    ada.get(&url).await.shows("is not a cron expression");
    ada.post_form(&format!("{url}/heartbeats"), &form("cron", "", "0 3 * * *"))
        .await;
    let page = ada.get(&url).await;
    page.shows("Heartbeat added");
    page.shows("nightly-backup <span class=\"status resolved\">new</span>");
    page.shows("Never pinged.");
    page.shows("0 3 * * * /path/to/job &#38;&#38; curl");
    // Its integration is shown with it, not among the service's integrations.
    assert_eq!(
        page.body.matches("class=\"card integration\"").count(),
        1,
        "{}",
        page.body
    );
    let ping_url = between(&page, "Ping URL: <code class=\"key\">", "</code>").to_owned();
    assert!(
        ping_url.starts_with(&format!("{}/ping/", app.url)),
        "{ping_url}"
    );
    let pinged = reqwest::Client::new()
        .post(&ping_url)
        .body("12 GB <b>copied</b>")
        .send()
        .await
        .unwrap();
    assert_eq!(pinged.status(), StatusCode::OK);
    let page = ada.get(&url).await;
    page.shows("nightly-backup <span class=\"status resolved\">up</span>");
    page.shows("Last ping: success at Thu 15 Jan 03:00");
    page.shows("12 GB &#60;b&#62;copied&#60;/b&#62;");
    app.stop().await;
}

#[tokio::test]
async fn grace_puts_a_service_in_maintenance_from_its_page_and_ends_it() {
    let app = TestApp::start().await;
    let (service, key) = app.service("Checkout", "open").await;
    administrator(&app).await;
    let mut grace = logged_in_as(&app, "Grace", "responder").await;
    let url = format!("/services/{service}");
    let csrf = grace.get(&url).await.csrf();
    grace
        .post(
            &format!("{url}/maintenance"),
            &[
                ("csrf", &csrf),
                ("minutes", "60"),
                ("reason", "card <processor> swap"),
            ],
        )
        .await;
    let page = grace.get(&url).await;
    page.shows("In maintenance: its events open no incident");
    page.shows("In maintenance until Thu 15 Jan 04:00</strong>: card &#60;processor&#62; swap.");
    grace.get("/services").await.shows("in maintenance</span>");

    app.send_event(trigger_event(&key, "cards", "Card payments failing"))
        .await;
    assert!(app.all_incidents().await.is_empty());

    let end = page.attribute_before("action", "/end\"");
    grace.post(&format!("{end}/end"), &[("csrf", &csrf)]).await;
    let page = grace.get(&url).await;
    page.shows("Maintenance ended: paging is back.");
    assert!(!page.body.contains("In maintenance until"), "{}", page.body);
    app.send_event(trigger_event(&key, "cards", "Card payments failing"))
        .await;
    assert_eq!(app.all_incidents().await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_json_webhook_is_added_and_its_mapping_tried_on_a_sample_from_the_page() {
    let app = TestApp::start().await;
    let (mut ada, url, csrf) = ada_on_service(&app, "Website").await;
    ada.post(
        &format!("{url}/integrations"),
        &[
            ("csrf", &csrf),
            ("type", "webhook"),
            ("mapping", "{not json"),
        ],
    )
    .await;
    ada.get(&url).await.shows("the mapping is JSON like");
    ada.post(
        &format!("{url}/integrations"),
        &[
            ("csrf", &csrf),
            ("type", "webhook"),
            ("name", "Uptime checker"),
            (
                "mapping",
                r#"{"summary": "/check/name", "dedup_key": "/check/id", "severity": "/level"}"#,
            ),
        ],
    )
    .await;
    let page = ada.get(&url).await;
    page.shows("Integration added.");
    page.shows("/integrations/");
    page.shows("&#34;summary&#34;: &#34;/check/name&#34;");
    let try_url = page.attribute_before("action", "/try\"");
    ada.post(
        &format!("{try_url}/try"),
        &[
            ("csrf", &csrf),
            (
                "sample",
                r#"{"check": {"id": 4411, "name": "Homepage is down"}, "level": "critical"}"#,
            ),
        ],
    )
    .await;
    ada.get(&url).await.shows(
        "The sample would trigger &#39;4411&#39;: Homepage is down (critical, from webhook).",
    );
    ada.post(
        &format!("{try_url}/try"),
        &[("csrf", &csrf), ("sample", r#"{"x": 1}"#)],
    )
    .await;
    ada.get(&url)
        .await
        .shows("The sample cannot be read: no summary");
    assert!(
        app.all_incidents().await.is_empty(),
        "trying stores nothing"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_email_integration_shows_its_address_on_the_service_page() {
    let app = TestApp::start().await;
    let (mut ada, url, csrf) = ada_on_service(&app, "Backups").await;
    ada.post(
        &format!("{url}/integrations"),
        &[("csrf", &csrf), ("type", "email")],
    )
    .await;
    let page = ada.get(&url).await;
    page.shows("Integration added.");
    let address = between(&page, "Send mail to: <code class=\"key\">", "</code>");
    assert!(
        address.ends_with(&format!("@{}", onduty_testkit::MAIL_DOMAIN)),
        "{address}"
    );
    assert_eq!(address.split('@').next().unwrap().len(), 32);
    app.stop().await;
}

#[tokio::test]
async fn a_sender_over_its_rate_limit_is_shown_on_the_service_page() {
    let app = TestApp::start_with(onduty_testkit::Backend::Sqlite, |c| {
        c.rate_limit_per_minute = 2;
    })
    .await;
    let (service, key) = app.service("Noisy", "open").await;
    let mut ada = administrator(&app).await;
    let url = format!("/services/{service}");
    let quiet = ada.get(&url).await;
    assert!(
        !quiet.body.contains("more events than its rate limit"),
        "{}",
        quiet.body
    );
    let mut statuses = Vec::new();
    for n in 0..4 {
        let (status, _) = app
            .send_event(trigger_event(&key, &format!("k{n}"), "Flood"))
            .await;
        statuses.push(status);
    }
    assert_eq!(statuses[2], StatusCode::TOO_MANY_REQUESTS);
    let page = ada.get(&url).await;
    page.shows(
        "is sending more events than its rate limit: 2 refused (429) since Thu 15 Jan 03:00",
    );
    // The first refusal is on the service's timeline once, as a change event from onduty.
    let changes = change_events(&app, &service).await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["source"], "onduty", "{changes:?}");
    assert!(
        changes[0]["summary"].as_str().unwrap().starts_with(
            "onduty is refusing events from this integration (HTTP 429): more than 2 a minute"
        ),
        "{changes:?}"
    );
    let page = ada.get(&url).await;
    page.shows("onduty is refusing events from this integration");
    // Ten quiet minutes later, a new spell of refusals is noted again.
    app.advance(std::time::Duration::from_secs(11 * 60));
    for n in 0..3 {
        app.send_event(trigger_event(&key, &format!("m{n}"), "Flood"))
            .await;
    }
    assert_eq!(change_events(&app, &service).await.len(), 2);
    app.stop().await;
}

/// The service's change events, newest first.
async fn change_events(app: &TestApp, service: &str) -> Vec<serde_json::Value> {
    let (_, body) = app
        .api(Method::GET, &format!("/services/{service}/changes"), None)
        .await;
    body["changes"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn ada_points_a_service_at_a_slack_channel_from_its_page_and_takes_it_back() {
    let app = TestApp::start().await;
    let (mut ada, url, csrf) = ada_on_service(&app, "Checkout").await;
    let form = |channel: &str| {
        [
            ("csrf", csrf.clone()),
            ("platform", "slack".to_owned()),
            ("channel", channel.to_owned()),
        ]
    };
    ada.post_form(&format!("{url}/chat-channels"), &form("#ops"))
        .await;
    ada.get(&url).await.shows("is not a Slack channel id");
    ada.post_form(&format!("{url}/chat-channels"), &form("C0123ABCD"))
        .await;
    let page = ada.get(&url).await;
    page.shows("Channel added");
    page.shows("Slack C0123ABCD");
    let (_, list) = app
        .api(Method::GET, "/services/Checkout/chat-channels", None)
        .await;
    let id = list["chat_channels"][0]["id"].as_str().unwrap().to_owned();
    ada.post_form(
        &format!("{url}/chat-channels/{id}/delete"),
        &[("csrf", csrf.clone())],
    )
    .await;
    ada.get(&url)
        .await
        .shows("No chat channel gets this service");
    let (_, list) = app
        .api(Method::GET, "/services/Checkout/chat-channels", None)
        .await;
    assert_eq!(list["chat_channels"], serde_json::json!([]));

    // A Telegram code, from Ada's own page.
    let me = "/people/ada@example.com";
    let csrf = ada.get(me).await.csrf();
    ada.post_form(&format!("{me}/telegram-code"), &[("csrf", csrf)])
        .await;
    ada.get(me).await.shows("send /start ");
    app.stop().await;
}
