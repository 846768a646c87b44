//! Setting a team up from the web UI alone: services and their integrations, escalation
//! policies, schedules and people, as an administrator without JavaScript does it.

use onduty_testkit::{TestApp, trigger_event};
use reqwest::StatusCode;

use crate::browser::{Answer, administrator};

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

#[tokio::test]
async fn ada_sets_up_a_service_and_its_policy_and_the_first_event_pages_grace() {
    let app = TestApp::start().await;
    app.user_token("Grace", "responder").await;
    let mut ada = administrator(&app).await;

    // A policy: Grace first, then Ada after 15 minutes.
    let policies = ada.get("/escalation-policies").await;
    let csrf = policies.csrf();
    let grace = option_value(&policies, "Person: Grace");
    let ada_id = option_value(&policies, "Person: Ada");
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
    policy.shows("If nobody acknowledges: Grace now; Ada after 15 minutes; then all over again once, after 45 minutes from the start.");

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
    assert_eq!(again.location(), "/services");
    let list = ada.get("/services").await;
    list.shows("class=\"error\" role=\"alert\"");
    assert_eq!(
        list.body.matches("<a href=\"/services/").count(),
        1,
        "{}",
        list.body
    );
    app.stop().await;
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
    assert_eq!(refused.location(), "/schedules");
    let shown = ada.get("/schedules").await;
    shown.shows("time_zone");
    assert!(!shown.body.contains("Ops rota"), "{}", shown.body);
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
    let cover = rota.body.find("\" class=\"cover\">").expect("a cover link");
    let href = rota.body[..cover].rfind("href=\"").unwrap() + 6;
    let link = rota.body[href..cover].replace("&amp;", "&");
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
    let delete = rota.body.find("/delete\"").expect("a remove button");
    let action = rota.body[..delete].rfind("action=\"").unwrap() + 8;
    let remove = rota.body[action..delete].to_owned();
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
