//! The checkout outage's postmortem: it tells how long the API component on the status
//! page was out, and once published the public reads it with the resolved public
//! incident — what happened and what is being done, not who was woken.

use onduty_testkit::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::browser::logged_in_as;
use crate::paging::MINUTE;
use crate::status_page::{document, public};
use crate::status_reminders::{acknowledged_outage, publish};

/// The public incident `id` as `incidents.json` gives it.
async fn public_incident(app: &TestApp, id: &str) -> Value {
    let all = document(app, "/status/acme/api/v2/incidents.json").await;
    all["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {all}"))
        .clone()
}

#[tokio::test]
async fn the_postmortem_tells_how_long_the_api_was_out_and_is_shown_with_the_public_incident() {
    let app = TestApp::start().await;
    let alice = acknowledged_outage(&app).await;
    // The API is partly out for 10 minutes, then fully for 15.
    let public_id = publish(&app, &alice).await;
    app.pass(10 * MINUTE).await;
    let updates = format!("/status-pages/acme/incidents/{public_id}/updates");
    let (status, body) = app
        .api_as(
            &alice,
            Method::POST,
            &updates,
            Some(json!({"status": "identified", "body": "A bad deploy.", "components": {"API": "major_outage"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.pass(15 * MINUTE).await;
    let (status, _) = app
        .api_as(
            &alice,
            Method::POST,
            &updates,
            Some(json!({"status": "resolved", "body": "Rolled back.", "components": {"API": "operational"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    crate::postmortems::act(&app, &alice, 1, "resolve").await;

    // The draft made on resolve tells of the component.
    app.pass(2 * MINUTE).await;
    let (_, list) = app.api(Method::GET, "/postmortems", None).await;
    let id = list["postmortems"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/postmortems/{id}");
    let (_, found) = app.api(Method::GET, &path, None).await;
    assert_eq!(
        found["postmortem"]["components"],
        json!([{"page": "Acme", "component": "API", "worst_status": "major_outage", "minutes": 25}]),
        "{found}"
    );
    let markdown = app
        .api_text(&format!("/postmortems/{id}.md"), "text/markdown")
        .await;
    assert!(
        markdown
            .contains("- Status-page components affected: API on Acme (major outage, 25 min)\n"),
        "{markdown}"
    );

    // A draft is not shown to the public.
    let show = format!("/status-pages/acme/incidents/{public_id}/postmortem");
    let (status, body) = app
        .api_as(&alice, Method::PUT, &show, Some(json!({"postmortem": id})))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // Written, with an action item, reviewed and published.
    let version = found["postmortem"]["version"].as_i64().unwrap();
    let (status, body) = app
        .api_as(
            &alice,
            Method::PUT,
            &path,
            Some(json!({
                "title": "Checkout errors after a deploy",
                "owner": "alice@example.com",
                "summary": "A deploy broke payments. <script>alert(1)</script>",
                "contributing_factors": "No canary.",
                "went_badly": "Alice was woken at 3 a.m.",
                "version": version,
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app
        .api_as(
            &alice,
            Method::POST,
            &format!("{path}/action-items"),
            Some(json!({"text": "Canary deploys", "owner": "alice@example.com", "link": "https://issues.example/OPS-7"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    for to in ["in_review", "published"] {
        let (status, body) = app
            .api_as(
                &alice,
                Method::POST,
                &format!("{path}/status"),
                Some(json!({"status": to})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    // An observer may not show it; Alice may.
    let observer = app.user_token("Olive", "observer").await;
    let (status, _) = app
        .api_as(
            &observer,
            Method::PUT,
            &show,
            Some(json!({"postmortem": id})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app
        .api_as(&alice, Method::PUT, &show, Some(json!({"postmortem": id})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["incident"]["postmortem_id"], json!(id));

    // The public reads it, in Statuspage's words, without names, owners or links.
    let told = public_incident(&app, &public_id).await;
    assert_eq!(told["status"], "postmortem", "{told}");
    let text = told["postmortem_body"].as_str().unwrap();
    assert!(
        text.starts_with("## Summary\n\nA deploy broke payments."),
        "{text}"
    );
    assert!(
        text.contains("## Contributing factors\n\nNo canary."),
        "{text}"
    );
    assert!(text.contains("- [ ] Canary deploys"), "{text}");
    for private in ["Alice", "woken", "issues.example"] {
        assert!(!text.contains(private), "{private} in {text}");
    }
    assert!(told["postmortem_published_at"].is_string());
    let (_, _, html) = public(&app, "/status/acme").await;
    assert!(html.contains("<strong>Postmortem</strong>"), "{html}");
    assert!(html.contains("A deploy broke payments."), "{html}");
    assert!(!html.contains("<script>alert(1)"), "sanitized: {html}");

    // An open public incident cannot show it; a wrong postmortem is not found.
    let (status, other) = app
        .api_as(
            &alice,
            Method::POST,
            "/status-pages/acme/incidents",
            Some(json!({"name": "Slow EU", "body": "Looking.", "components": {"EU": "degraded_performance"}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    let open = other["incident"]["id"].as_str().unwrap();
    let (status, body) = app
        .api_as(
            &alice,
            Method::PUT,
            &format!("/status-pages/acme/incidents/{open}/postmortem"),
            Some(json!({"postmortem": id})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = app
        .api_as(
            &alice,
            Method::PUT,
            &show,
            Some(json!({"postmortem": "nope"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Nor does a postmortem of another incident go on this one.
    let (_, other_key) = app.service("Search", "open").await;
    app.send_event(onduty_testkit::trigger_event(
        &other_key,
        "s",
        "Search down",
    ))
    .await;
    app.tick().await;
    let (status, started) = app
        .api_as(
            &alice,
            Method::POST,
            "/postmortems",
            Some(json!({"incidents": ["2"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let unrelated = started["postmortem"]["id"].as_str().unwrap();
    for to in ["in_review", "published"] {
        let (status, _) = app
            .api_as(
                &alice,
                Method::POST,
                &format!("/postmortems/{unrelated}/status"),
                Some(json!({"status": to})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, body) = app
        .api_as(
            &alice,
            Method::PUT,
            &show,
            Some(json!({"postmortem": unrelated})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.to_string().contains("not about"), "{body}");

    // Taken down again; then shown from the postmortem's own page in the web UI.
    let (status, body) = app.api_as(&alice, Method::DELETE, &show, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let told = public_incident(&app, &public_id).await;
    assert_eq!(told["status"], "resolved");
    assert!(told.get("postmortem_body").is_none(), "{told}");
    let mut browser = logged_in_as(&app, "Rita", "responder").await;
    let page = browser.get(&path).await;
    assert!(
        page.body.contains("Checkout errors on Acme"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Show it there"), "{}", page.body);
    let shown = browser
        .post(
            &format!("{path}/status-page"),
            &[
                ("csrf", page.csrf().as_str()),
                ("page", "acme"),
                ("incident", public_id.as_str()),
                ("show", "1"),
            ],
        )
        .await;
    assert_eq!(shown.status, StatusCode::SEE_OTHER);
    assert_eq!(
        public_incident(&app, &public_id).await["status"],
        "postmortem"
    );
    let page = browser.get(&path).await;
    assert!(page.body.contains("Stop showing it"), "{}", page.body);
}
