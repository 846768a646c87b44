//! Incident templates: the database wobbles at 3 a.m., and the words for the public are
//! ready — one template, one request.

use onduty_testkit::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::status_page::{acme, document};

#[tokio::test]
async fn a_template_publishes_in_one_request_and_fills_only_what_is_left_out() {
    let app = TestApp::start().await;
    app.service("Checkout", "open").await;
    let api = acme(&app).await;
    let (status, made) = app
        .api(
            Method::POST,
            "/status-pages/acme/templates",
            Some(json!({
                "name": "Database degraded",
                "title": "Slow responses",
                "body": "Some requests are slow. We are looking into it.",
                "components": {"API": "degraded_performance"},
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["template"]["status"], "investigating");
    assert_eq!(made["template"]["components"][&api], "degraded_performance");

    // Refused: the same name twice, a component the page lacks, a status that is not one.
    for (body, expected) in [
        (
            json!({"name": "Database degraded", "title": "x", "body": "y"}),
            StatusCode::CONFLICT,
        ),
        (
            json!({"name": "Other", "title": "x", "body": "y", "components": {"Billing": "major_outage"}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"name": "Other", "title": "x", "body": "y", "status": "on_fire"}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, answer) = app
            .api(Method::POST, "/status-pages/acme/templates", Some(body))
            .await;
        assert_eq!(status, expected, "{answer}");
    }

    // At 3 a.m.: the template alone.
    let (status, opened) = app
        .api(
            Method::POST,
            "/status-pages/acme/incidents",
            Some(json!({"template": "Database degraded"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    let summary = document(&app, "/status/acme/api/v2/summary.json").await;
    let incident = &summary["incidents"][0];
    assert_eq!(incident["name"], "Slow responses");
    assert_eq!(incident["status"], "investigating");
    assert_eq!(incident["impact"], "minor");
    assert_eq!(
        incident["incident_updates"][0]["body"],
        "Some requests are slow. We are looking into it."
    );
    assert_eq!(summary["components"][0]["status"], "degraded_performance");

    // What is given wins over the template.
    let id = opened["incident"]["id"].as_str().unwrap();
    let (status, updated) = app
        .api(
            Method::POST,
            &format!("/status-pages/acme/incidents/{id}/updates"),
            Some(json!({"template": "Database degraded", "status": "identified", "body": "A disk is full."})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["incident"]["status"], "identified");
    assert_eq!(updated["incident"]["updates"][0]["body"], "A disk is full.");

    // A template the page does not have.
    let (status, _) = app
        .api(
            Method::POST,
            "/status-pages/acme/incidents",
            Some(json!({"template": "Nope"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Listed, and removed.
    let (_, list) = app
        .api(Method::GET, "/status-pages/acme/templates", None)
        .await;
    assert_eq!(list["templates"].as_array().unwrap().len(), 1);
    let (status, _) = app
        .api(
            Method::DELETE,
            "/status-pages/acme/templates/Database%20degraded",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = app
        .api(Method::GET, "/status-pages/acme/templates", None)
        .await;
    assert_eq!(list["templates"], json!([]));
}

#[tokio::test]
async fn the_status_pages_page_keeps_templates_and_manages_subscribers() {
    let app = TestApp::start().await;
    app.service("Checkout", "open").await;
    let api = acme(&app).await;
    let mut ada = crate::browser::administrator(&app).await;
    let page = ada.get("/status-pages/acme").await;
    let csrf = page.csrf();

    // Ada keeps a template, then uses it: the form comes filled in.
    let component = format!("component.{api}");
    let kept = ada
        .post(
            "/status-pages/acme/templates",
            &[
                ("csrf", csrf.as_str()),
                ("template_name", "Database degraded"),
                ("name", "Slow <responses>"),
                ("status", "investigating"),
                ("body", "Some requests are slow."),
                (component.as_str(), "degraded_performance"),
            ],
        )
        .await;
    assert_eq!(kept.location(), "/status-pages/acme#templates");
    let (_, list) = app
        .api(Method::GET, "/status-pages/acme/templates", None)
        .await;
    let id = list["templates"][0]["id"].as_str().unwrap().to_owned();
    let page = ada.get(&format!("/status-pages/acme?template={id}")).await;
    page.shows("<details class=\"card\" id=\"tell\" open>");
    page.shows("value=\"Slow &#60;responses&#62;\"");
    page.shows(">Some requests are slow.</textarea>");
    page.shows("<option value=\"degraded_performance\" selected>");

    // A webhook added here: its secret shown once; removed again.
    let url = "https://hooks.acme.test/status".to_owned();
    let added = ada
        .post(
            "/status-pages/acme/subscribers",
            &[("csrf", csrf.as_str()), ("url", url.as_str())],
        )
        .await;
    assert_eq!(added.location(), "/status-pages/acme#subscribers");
    let page = ada.get("/status-pages/acme").await;
    page.shows("Its signing secret, shown this once: whsec_");
    page.shows(&format!("{url} <span class=\"muted\">webhook</span>"));
    let (_, subscribers) = app
        .api(Method::GET, "/status-pages/acme/subscribers", None)
        .await;
    let subscriber = subscribers["subscribers"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ada.post(
        &format!("/status-pages/acme/subscribers/{subscriber}/delete"),
        &[("csrf", csrf.as_str())],
    )
    .await;
    assert!(!ada.get("/status-pages/acme").await.body.contains(&url));

    // A responder sees the templates, not the subscribers.
    let mut rita = crate::browser::logged_in_as(&app, "Rita", "responder").await;
    let page = rita.get("/status-pages/acme").await;
    page.shows("Database degraded");
    assert!(!page.body.contains("id=\"subscribers\""));
}
