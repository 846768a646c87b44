//! What the importer stories share: a wait that records instead of sleeping, keys that
//! can be read back, and applying an imported document to a fresh onduty to ask it who is
//! on call against the product's own answer.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use onduty_core::config_doc::{self, ConfigDoc, Known};
use onduty_import::fetch::Wait;
use onduty_testkit::{T0, TestApp};
use reqwest::{Method, StatusCode};

/// Waits recorded, never slept.
pub fn recorder() -> (Wait, Arc<Mutex<Vec<Duration>>>) {
    let waits = Arc::new(Mutex::new(Vec::new()));
    let seen = waits.clone();
    let wait: Wait = Arc::new(move |d| {
        seen.lock().unwrap().push(d);
        Box::pin(async {})
    });
    (wait, waits)
}

/// Integration keys 1, 2, 3, … as 32 hex digits.
pub fn keys() -> impl FnMut() -> String {
    let mut n = 0;
    move || {
        n += 1;
        format!("{n:032x}")
    }
}

/// Applies `doc` to a fresh onduty; then, at moments spread over the 30 days after
/// [`T0`], onduty's answer for each schedule is the product's (`source(name, at)`). The
/// onduty is returned for more questions.
pub async fn applied_answers_as(
    doc: &ConfigDoc,
    source: fn(&str, jiff::Timestamp) -> Vec<String>,
) -> TestApp {
    let yaml = config_doc::to_yaml(doc).unwrap();
    config_doc::read(&yaml, &Known::default()).unwrap_or_else(|e| panic!("{e:?}\n{yaml}"));
    let app = TestApp::start().await;
    let answer = app
        .http
        .post(format!("{}/api/v1/config/apply", app.url))
        .bearer_auth(&app.admin_token)
        .header("content-type", "application/yaml")
        .body(yaml)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    assert_eq!(status, StatusCode::OK, "{}", answer.text().await.unwrap());
    let mut compared = 0;
    for hours in [
        1, 30, 40, 77, 150, 200, 300, 437, 453, 470, 500, 560, 600, 610, 700,
    ] {
        let at =
            jiff::Timestamp::from_millisecond(T0.as_millis() + hours * 3_600_000 + 60_000).unwrap();
        let (status, oncall) = app
            .api(Method::GET, &format!("/oncall?at={at}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{oncall}");
        for s in oncall["schedules"].as_array().unwrap() {
            let name = s["name"].as_str().unwrap();
            let onduty: Vec<String> = s["on_call"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["email"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(onduty, source(name, at), "{name} at {at}");
            compared += 1;
        }
    }
    assert_eq!(compared, 45, "three schedules at fifteen moments");
    app
}
