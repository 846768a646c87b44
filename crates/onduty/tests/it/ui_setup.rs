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
    assert!(
        policy
            .body
            .contains("If nobody acknowledges: Grace now; nobody more after 15 minutes."),
        "{}",
        policy.body
    );
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
    assert!(policy.body.contains("Saved."), "{}", policy.body);
    assert!(
        policy.body.contains(
            "If nobody acknowledges: Grace now; Ada after 15 minutes; then all over again once, after 45 minutes from the start."
        ),
        "{}",
        policy.body
    );

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
    assert!(
        service.body.contains("Created Checkout."),
        "{}",
        service.body
    );
    assert!(service.body.contains("Pages through"), "{}", service.body);
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
    assert!(
        service.body.contains(&format!("API URL: {events_url}")),
        "{}",
        service.body
    );

    // The first event opens an incident that pages Grace.
    let (status, _) = app
        .send_event(trigger_event(&key, "cart", "Carts are empty"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    app.tick().await;
    let incident = ada.get("/incidents/1").await;
    assert!(
        incident.body.contains("Carts are empty"),
        "{}",
        incident.body
    );
    assert!(incident.body.contains("Grace"), "{}", incident.body);

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
    let refused = ada.post_owned(&service_url, &form("soon")).await;
    assert_eq!(refused.location(), service_url);
    let shown = ada.get(&service_url).await;
    assert!(
        shown
            .body
            .contains("The acknowledgement timeout is a whole number of minutes"),
        "{}",
        shown.body
    );
    assert!(
        shown.body.contains("<option value=\"high\" selected>"),
        "{}",
        shown.body
    );
    ada.post_owned(&service_url, &form("45")).await;
    let shown = ada.get(&service_url).await;
    assert!(shown.body.contains("Saved."), "{}", shown.body);
    assert!(
        shown.body.contains("<option value=\"severity\" selected>"),
        "{}",
        shown.body
    );
    assert!(
        shown
            .body
            .contains("name=\"ack_timeout_minutes\" value=\"45\""),
        "{}",
        shown.body
    );

    // A second service with the same name is refused, with the reason.
    let again = ada
        .post("/services", &[("csrf", &csrf), ("name", "Checkout")])
        .await;
    assert_eq!(again.location(), "/services");
    let list = ada.get("/services").await;
    assert!(
        list.body.contains("class=\"error\" role=\"alert\""),
        "{}",
        list.body
    );
    assert_eq!(
        list.body.matches("<a href=\"/services/").count(),
        1,
        "{}",
        list.body
    );
    app.stop().await;
}
