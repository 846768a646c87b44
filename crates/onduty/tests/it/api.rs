//! Stories of people using the REST API: list, read, acknowledge, resolve, note; and
//! the API's own guarantees (authentication, roles, errors, the OpenAPI document).

use std::time::Duration;

use onduty_testkit::{TestApp, backends, follow_up_event, trigger_event};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn a_responder_acknowledges_notes_and_resolves_an_incident() {
    for backend in backends() {
        let app = TestApp::start_with(backend, |_| {}).await;
        let (_, key) = app.service("Payments", "open").await;
        let alice = app.user_token("Alice", "responder").await;
        app.send_event(trigger_event(&key, "payments/latency", "p99 latency 4s"))
            .await;
        app.advance(Duration::from_secs(30));
        app.send_event(trigger_event(&key, "payments/latency", "p99 latency 5s"))
            .await;

        // Alice is paged at 03:00 and looks at what is open.
        let (status, list) = app
            .api_as(&alice, Method::GET, "/incidents?status=triggered", None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list["incidents"].as_array().unwrap().len(), 1);
        let id = list["incidents"][0]["id"].as_str().unwrap().to_owned();

        app.advance(Duration::from_secs(90));
        let (status, acked) = app
            .api_as(&alice, Method::POST, "/incidents/1/acknowledge", None)
            .await;
        assert_eq!(status, StatusCode::OK, "{acked}");
        assert_eq!(acked["changed"], true);
        assert_eq!(acked["incident"]["status"], "acknowledged");
        assert_eq!(acked["incident"]["acknowledged_by"]["name"], "Alice");
        assert_eq!(
            acked["incident"]["acknowledged_at"],
            "2026-01-15T03:02:00.000Z"
        );
        let (_, again) = app
            .api_as(&alice, Method::POST, "/incidents/1/acknowledge", None)
            .await;
        assert_eq!(
            again["changed"], false,
            "acknowledging twice changes nothing"
        );

        let (status, mine) = app
            .api_as(&alice, Method::GET, "/incidents?assigned_to=me", None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            mine["incidents"][0]["number"], 1,
            "acknowledging assigned it to Alice"
        );

        let (status, note) = app
            .api_as(
                &alice,
                Method::POST,
                &format!("/incidents/{id}/notes"),
                Some(json!({"text": "failing over to the replica"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{note}");
        let (status, resolved) = app
            .api_as(
                &alice,
                Method::POST,
                &format!("/incidents/{id}/resolve"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(resolved["incident"]["status"], "resolved");

        let (status, late) = app
            .api_as(&alice, Method::POST, "/incidents/1/acknowledge", None)
            .await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(late["error"]["code"], "conflict");

        // The whole story is on the timeline, in order, with who and when.
        let (status, detail) = app.api_as(&alice, Method::GET, "/incidents/1", None).await;
        assert_eq!(status, StatusCode::OK);
        let lines: Vec<(&str, &str)> = detail["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["kind"].as_str().unwrap(), e["message"].as_str().unwrap()))
            .collect();
        assert_eq!(
            lines,
            [
                ("triggered", "Triggered by an event from Prometheus"),
                ("alert", "Trigger event from Prometheus (alert 2)"),
                ("acknowledged", "Acknowledged by Alice via the API"),
                ("assigned", "Assigned to Alice"),
                ("note", "Note from Alice"),
                ("resolved", "Resolved by Alice via the API"),
            ],
            "{backend:?}"
        );
        let timeline = &detail["timeline"];
        assert_eq!(
            timeline[1]["event"]["alert"]["summary"], "p99 latency 5s",
            "events received are on it"
        );
        assert_eq!(timeline[1]["at"], "2026-01-15T03:00:30.000Z");
        assert_eq!(timeline[4]["data"]["text"], "failing over to the replica");
        assert_eq!(timeline[2]["actor"]["type"], "user");
        app.stop().await;
    }
}

#[tokio::test]
async fn the_source_can_acknowledge_and_people_see_who_did() {
    let app = TestApp::start().await;
    let (_, key) = app.service("Batch", "open").await;
    app.send_event(trigger_event(&key, "nightly", "nightly job late"))
        .await;
    app.send_event(follow_up_event(&key, "acknowledge", "nightly"))
        .await;
    let (_, detail) = app.api(Method::GET, "/incidents/1", None).await;
    assert_eq!(
        detail["incident"]["acknowledged_by"],
        json!({"type": "integration", "id": detail["incident"]["acknowledged_by"]["id"], "name": "Prometheus"})
    );
    assert_eq!(
        detail["timeline"][1]["message"],
        "Acknowledged by Prometheus (acknowledge event)"
    );
    app.stop().await;
}

#[tokio::test]
async fn observers_look_but_cannot_act_and_strangers_cannot_look() {
    let app = TestApp::start().await;
    let (_, key) = app.service("Web", "open").await;
    app.send_event(trigger_event(&key, "k", "down")).await;
    let olga = app.user_token("Olga", "observer").await;
    let (status, _) = app.api_as(&olga, Method::GET, "/incidents/1", None).await;
    assert_eq!(status, StatusCode::OK);
    for action in ["acknowledge", "resolve"] {
        let (status, body) = app
            .api_as(&olga, Method::POST, &format!("/incidents/1/{action}"), None)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["error"]["code"], "forbidden");
    }
    let (status, _) = app
        .api_as(
            &olga,
            Method::POST,
            "/services",
            Some(json!({"name": "Mine"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A routing key lets its holder open and resolve incidents: observers see only its start.
    let (status, integrations) = app
        .api_as(&olga, Method::GET, "/services/Web/integrations", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let shown = &integrations["integrations"][0];
    assert_eq!(shown["routing_key"], format!("{}…", &key[..4]));
    assert!(!shown["curl_example"].as_str().unwrap().contains(&key));
    let (_, full) = app
        .api(Method::GET, "/services/Web/integrations", None)
        .await;
    assert_eq!(full["integrations"][0]["routing_key"], key.as_str());

    let (status, body) = app
        .api_as("odt_wrong", Method::GET, "/incidents", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthorized");
    let response = app
        .http
        .get(format!("{}/api/v1/incidents", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    // PagerDuty's REST style of header works too.
    let response = app
        .http
        .get(format!("{}/api/v1/me", app.url))
        .header("authorization", format!("Token token={}", app.admin_token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn lists_filter_by_service_status_and_time_and_page_with_cursors() {
    let app = TestApp::start().await;
    let (a, key_a) = app.service("Alpha", "open").await;
    let (_, key_b) = app.service("Beta", "open").await;
    for i in 0..7 {
        let key = if i % 2 == 0 { &key_a } else { &key_b };
        app.send_event(trigger_event(key, &format!("k{i}"), "x"))
            .await;
        app.advance(Duration::from_secs(60));
    }
    let numbers = |v: &Value| {
        v["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["number"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    let (_, p1) = app.api(Method::GET, "/incidents?limit=3", None).await;
    assert_eq!(numbers(&p1), [7, 6, 5]);
    let cursor = p1["next_cursor"].as_str().unwrap();
    let (_, p2) = app
        .api(
            Method::GET,
            &format!("/incidents?limit=3&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(numbers(&p2), [4, 3, 2]);
    let (_, p3) = app
        .api(
            Method::GET,
            &format!(
                "/incidents?limit=3&cursor={}",
                p2["next_cursor"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(numbers(&p3), [1]);
    assert!(p3["next_cursor"].is_null());

    let (_, by_id) = app
        .api(Method::GET, &format!("/incidents?service={a}"), None)
        .await;
    assert_eq!(numbers(&by_id), [7, 5, 3, 1]);
    let (_, by_name) = app.api(Method::GET, "/incidents?service=Beta", None).await;
    assert_eq!(numbers(&by_name), [6, 4, 2]);
    let (_, window) = app
        .api(
            Method::GET,
            "/incidents?since=2026-01-15T03:02:00Z&until=2026-01-15T03:04:00Z",
            None,
        )
        .await;
    assert_eq!(numbers(&window), [4, 3]);
    app.api(Method::POST, "/incidents/2/resolve", None).await;
    let (_, resolved) = app
        .api(Method::GET, "/incidents?status=resolved", None)
        .await;
    assert_eq!(numbers(&resolved), [2]);
    let (_, open) = app.api(Method::GET, "/incidents?status=open", None).await;
    assert_eq!(open["incidents"].as_array().unwrap().len(), 6);
    let (_, by_uuid) = app
        .api(
            Method::GET,
            &format!("/incidents/{}", p1["incidents"][0]["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        by_uuid["incident"]["number"], 7,
        "ids and numbers both name an incident"
    );
    app.stop().await;
}

#[tokio::test]
async fn bad_requests_are_explained() {
    let app = TestApp::start().await;
    let cases = [
        (
            "/incidents?status=sleeping",
            "unknown status 'sleeping': use triggered, acknowledged, resolved or open",
        ),
        (
            "/incidents?limit=0",
            "limit must be between 1 and 100, not 0",
        ),
        (
            "/incidents?cursor=bogus",
            "invalid cursor: pass back the cursor a previous page returned",
        ),
        (
            "/incidents/not-a-number",
            "'not-a-number' is neither an incident number nor an incident id",
        ),
        (
            "/incidents?assigned_to=bob",
            "'assigned_to' must be 'me' or a user id, not 'bob'",
        ),
    ];
    for (path, message) in cases {
        let (status, body) = app.api(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(body["error"]["message"], message, "{path}");
    }
    let (status, body) = app
        .api(Method::GET, "/incidents?since=yesterday", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("'since': 'yesterday' is not an ISO 8601 timestamp")
    );
    let (status, body) = app.api(Method::GET, "/incidents/42", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["message"], "incident #42 not found");
    let (status, body) = app
        .api(
            Method::POST,
            "/incidents/42/notes",
            Some(json!({"text": "   "})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["message"], "a note must not be empty");

    // Malformed or oversized JSON bodies get the API's error shape.
    let response = app
        .http
        .post(format!("{}/api/v1/services", app.url))
        .bearer_auth(&app.admin_token)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request");
    let (status, body) = app
        .api(
            Method::POST,
            "/services",
            Some(json!({"name": "x", "description": "d".repeat(1024 * 1024)})),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"]["code"], "payload_too_large");
    assert_eq!(
        body["error"]["message"],
        "the request body is larger than this endpoint takes"
    );

    // A body must be an object, and a refusal names the field and the format it wants.
    let (status, _) = app
        .api(Method::POST, "/services", Some(json!({"name": "Web"})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = app
        .api(
            Method::POST,
            "/services/Web/integrations",
            Some(json!([null])),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["error"]["message"],
        "the body must be a JSON object ({…})"
    );
    let (_, list) = app
        .api(Method::GET, "/services/Web/integrations", None)
        .await;
    assert_eq!(list["integrations"], json!([]), "nothing was created");
    // A whole number written as a float (Python's `json` writes `30.0`) is that integer,
    // as JSON Schema counts it; a fraction is still refused.
    let (status, body) = app
        .api(
            Method::PATCH,
            "/services/Web",
            Some(json!({"ack_timeout_minutes": 30.0})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["service"]["ack_timeout_minutes"], 30);
    let (status, body) = app
        .api(
            Method::PATCH,
            "/services/Web",
            Some(json!({"ack_timeout_minutes": 30.5})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let body_cases = [
        (
            "/schedules",
            json!({"name": "Ops", "time_zone": "UTC", "layers": [{"name": "Week",
                "participants": [], "start": "June 1st", "shift": {"unit": "weeks", "count": 1}}]}),
            "'layers[0].start': 'June 1st' is not a wall-clock time such as 2026-06-01T09:00",
        ),
        (
            "/maintenance",
            json!({"services": ["Web"], "start": 1733390000, "minutes": 30}),
            "'start': invalid type: integer `1733390000`, expected an ISO 8601 timestamp with an \
             offset, as a string (for example \"2015-07-17T08:42:58.315+0000\")",
        ),
        (
            "/maintenance",
            json!({"services": ["Web"], "end": "tomorrow"}),
            "'end': 'tomorrow' is not an ISO 8601 timestamp with an offset (for example \
             2015-07-17T08:42:58.315+0000)",
        ),
        (
            "/services",
            json!({"name": 7}),
            "'name': invalid type: integer `7`, expected a string",
        ),
    ];
    for (path, sent, message) in body_cases {
        let (status, body) = app.api(Method::POST, path, Some(sent)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["error"]["message"], message, "{path}");
    }
    let (status, body) = app.api(Method::GET, "/nowhere", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    app.stop().await;
}

#[tokio::test]
async fn services_and_integrations_are_managed_over_the_api() {
    let app = TestApp::start().await;
    let (status, created) = app
        .api(
            Method::POST,
            "/services",
            Some(json!({"name": "Search", "description": "the search box"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        created["service"]["dedup_mode"], "open",
        "open is the default"
    );
    let (status, dup) = app
        .api(Method::POST, "/services", Some(json!({"name": "Search"})))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        dup["error"]["message"],
        "a service named 'Search' already exists"
    );
    let (status, bad) = app
        .api(
            Method::POST,
            "/services",
            Some(json!({"name": "X", "dedup_mode": "never"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad["error"]["message"],
        "'dedup_mode' must be 'open' or 'triggered', not 'never'"
    );

    let (status, patched) = app
        .api(
            Method::PATCH,
            "/services/Search",
            Some(json!({"dedup_mode": "triggered"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(patched["service"]["dedup_mode"], "triggered");

    let (status, integration) = app
        .api(
            Method::POST,
            "/services/Search/integrations",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let i = &integration["integration"];
    let key = i["routing_key"].as_str().unwrap();
    assert_eq!(key.len(), 32);
    assert_eq!(i["type"], "events_v2");
    assert_eq!(i["events_url"], format!("{}/v2/enqueue", app.url));
    let curl = i["curl_example"].as_str().unwrap();
    assert!(curl.contains(key) && curl.contains("/v2/enqueue"), "{curl}");
    let (_, fetched) = app
        .api(
            Method::GET,
            &format!("/integrations/{}", i["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(fetched["integration"]["routing_key"], key);
    let (_, listed) = app
        .api(Method::GET, "/services/Search/integrations", None)
        .await;
    assert_eq!(listed["integrations"].as_array().unwrap().len(), 1);
    let (_, services) = app.api(Method::GET, "/services", None).await;
    assert_eq!(services["services"][0]["name"], "Search");
    app.stop().await;
}

#[tokio::test]
async fn tokens_and_users() {
    let app = TestApp::start().await;
    let (status, me) = app.api(Method::GET, "/me", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user"]["role"], "admin");
    let (status, token) = app
        .api(Method::POST, "/me/tokens", Some(json!({"name": "laptop"})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let secret = token["token"].as_str().unwrap();
    assert!(secret.starts_with("odt_"));
    let (status, _) = app.api_as(secret, Method::GET, "/me", None).await;
    assert_eq!(status, StatusCode::OK, "the new token works");
    let (status, bad) = app
        .api(
            Method::POST,
            "/users",
            Some(json!({"email": "nope", "name": "N"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad["error"]["message"],
        "'email': 'nope' is not an e-mail address"
    );
    let (_, users) = app.api(Method::GET, "/users", None).await;
    assert_eq!(users["users"].as_array().unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn the_openapi_document_describes_the_api() {
    let app = TestApp::start().await;
    let response = app
        .http
        .get(format!("{}/api/v1/openapi.json", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/v2/enqueue",
        "/v2/change/enqueue",
        "/api/v1/incidents",
        "/api/v1/incidents/{id}",
        "/api/v1/incidents/{id}/acknowledge",
        "/api/v1/incidents/{id}/resolve",
        "/api/v1/incidents/{id}/notes",
        "/api/v1/services",
        "/api/v1/services/{id}/integrations",
        "/v2/alerts",
        "/v2/alerts/{identifier}/{action}",
        "/v2/alerts/requests/{request}",
        "/ping/{key}",
        "/ping/{key}/{what}",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} is missing from the OpenAPI document"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"].get("IncidentView").is_some());

    // What OpenAPI requires, and what a client generated from the document relies on.
    let mut ids = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let at = format!("{method} {path}");
            let id = operation["operationId"].as_str().unwrap_or_default();
            assert!(ids.insert(id.to_owned()), "{at}: operationId {id} again");
            for (status, response) in operation["responses"].as_object().unwrap() {
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{at} {status} has no description"
                );
            }
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let name = parameter["name"].as_str().unwrap();
                if parameter["in"] == "path" {
                    assert!(
                        path.contains(&format!("{{{name}}}")),
                        "{at}: {name} is not in the path"
                    );
                }
            }
            if path.starts_with("/api/v1/") && operation.get("security").is_none() {
                assert!(
                    operation["responses"].get("401").is_some(),
                    "{at} does not say it needs a token"
                );
            }
        }
    }
    let days = &doc["paths"]["/api/v1/schedules/{id}/final"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "days")
        .cloned()
        .unwrap();
    assert_eq!(days["in"], "query");
    assert_eq!(days["schema"]["minimum"], 1);
    assert_eq!(days["schema"]["maximum"], 400);
    validate_with_openapi_spec_validator(&doc);
    app.stop().await;
}

/// Checks the document with `openapi-spec-validator` (PyPI) when it is installed; CI
/// installs it and sets ONDUTY_REQUIRE_OPENAPI_VALIDATOR=1.
fn validate_with_openapi_spec_validator(doc: &Value) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_vec(doc).unwrap()).unwrap();
    let run = std::process::Command::new("openapi-spec-validator")
        .args(["--validation-errors", "all"])
        .arg(file.path())
        .output();
    match run {
        Ok(out) => assert!(
            out.status.success(),
            "openapi-spec-validator: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => {
            assert_ne!(
                std::env::var("ONDUTY_REQUIRE_OPENAPI_VALIDATOR").as_deref(),
                Ok("1"),
                "ONDUTY_REQUIRE_OPENAPI_VALIDATOR=1 but openapi-spec-validator cannot run: {e}"
            );
            eprintln!("skipped: openapi-spec-validator is not installed ({e})");
        }
    }
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::start().await;
    let health: Value = app
        .http
        .get(format!("{}/healthz", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let response = app
        .http
        .get(format!("{}/readyz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let ready: Value = response.json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["backend"], "sqlite");
    assert_eq!(
        ready["engine"],
        json!({"state": "stopped"}),
        "nobody took the lease"
    );

    // It names the instance that runs the paging engine, and says when its lease ran out.
    let until = app.now().saturating_add(Duration::from_secs(15));
    assert!(
        app.store
            .acquire_lease("pager-1:8080", app.now(), until)
            .await
            .unwrap()
    );
    let readyz = || async {
        let answer = app.http.get(format!("{}/readyz", app.url)).send().await;
        answer.unwrap().json::<Value>().await.unwrap()
    };
    assert_eq!(
        readyz().await["engine"],
        json!({"state": "running", "holder": "pager-1:8080", "lease_until": until.to_rfc3339()})
    );
    app.advance(Duration::from_secs(16));
    let ready = readyz().await;
    assert_eq!(
        ready["engine"],
        json!({"state": "stopped", "last_holder": "pager-1:8080", "lease_ran_out_at": until.to_rfc3339()})
    );
    assert_eq!(ready["status"], "ready", "any instance takes events");

    // With the database gone, onduty says it is not ready.
    app.store.close().await;
    let response = app
        .http
        .get(format!("{}/readyz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}
