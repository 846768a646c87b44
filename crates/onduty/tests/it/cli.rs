//! The README's quick start, run for real: first start prints a token, the CLI creates
//! a service, curl sends an event, the CLI lists and acknowledges it.

use onduty_testkit::{WebhookSink, trigger_event};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::process::{PATIENCE, Server, checkout_server, onduty, run_ok};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_five_minute_quick_start_works() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let database = vec!["--data-dir".to_owned(), data.display().to_string()];

    // 1. First start: the admin's token is printed, once.
    let mut server = Server::start(&database, &[]);
    let token_line = server.wait_for_line("export ONDUTY_TOKEN=");
    let token = token_line
        .trim()
        .trim_start_matches("export ONDUTY_TOKEN=")
        .to_owned();
    assert!(token.starts_with("odt_"), "{token_line}");
    server.wait_for_line("ack 1");
    assert!(
        data.join("onduty.db").exists(),
        "the database was created in the data directory"
    );
    let client = |args: &[&str]| {
        run_ok(
            onduty()
                .args(args)
                .env("ONDUTY_URL", format!("http://{}", server.url))
                .env("ONDUTY_TOKEN", &token),
        )
    };

    // 2. A service with an integration, from the CLI.
    let created: Value =
        serde_json::from_str(&client(&["service", "create", "My service", "--json"])).unwrap();
    let key = created["integration"]["routing_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let curl = created["integration"]["curl_example"].as_str().unwrap();
    assert!(curl.contains(&key));

    // 3. An event, as curl would send it.
    let response = reqwest::Client::new()
        .post(format!("http://{}/v2/enqueue", server.url))
        .body(trigger_event(&key, "disk/db01", "Disk 95% full on db01\u{1b}[2J").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    // 4. See it; acknowledge it; read its timeline.
    let list = client(&["incidents"]);
    assert!(list.contains("Disk 95% full on db01"), "{list}");
    assert!(list.contains("My service"), "{list}");
    assert!(
        !list.contains('\u{1b}'),
        "terminal escapes from events never reach the terminal"
    );
    assert_eq!(client(&["ack", "1"]).trim(), "#1 acknowledged");
    client(&["note", "1", "cleaning up old logs"]);
    let shown = client(&["incident", "1"]);
    assert!(
        shown.contains("Acknowledged by Admin via the API"),
        "{shown}"
    );
    assert!(
        shown.contains("Note from Admin: cleaning up old logs"),
        "{shown}"
    );
    assert_eq!(client(&["resolve", "1"]).trim(), "#1 resolved");
    let open = client(&["incidents"]);
    assert_eq!(open.trim(), "No incidents.");

    // Its postmortem, started and exported as Markdown from the CLI.
    let started: Value =
        serde_json::from_str(&client(&["postmortem", "start", "1", "--json"])).unwrap();
    let id = started["postmortem"]["id"].as_str().unwrap().to_owned();
    assert!(client(&["postmortem", "list"]).contains(&id));
    let markdown = client(&["postmortem", "export", &id]);
    assert!(
        markdown.starts_with("# #1: Disk 95% full on db01"),
        "{markdown}"
    );
    assert!(markdown.contains("- Owner: Admin\n"), "{markdown}");
    assert!(!markdown.contains('\u{1b}'), "{markdown}");

    // The last 28 days in a report, as text and as CSV.
    let report = client(&["report"]);
    assert!(report.contains("Incidents 1   alerts 1"), "{report}");
    assert!(report.contains("Acknowledged through   api 1"), "{report}");
    assert!(
        report.contains("My service / disk/db01: 1 incidents"),
        "{report}"
    );
    let csv = client(&[
        "report",
        "--service",
        "My service",
        "--urgency",
        "high",
        "--csv",
    ]);
    assert!(csv.starts_with("section,name,week,metric,value\n"), "{csv}");
    assert!(csv.contains("\nsummary,,,incidents,1\n"), "{csv}");

    // The configuration, exported to a file and applied back: nothing to change; an
    // edit, tried and then applied.
    let file = dir.path().join("onduty.yaml");
    let file = file.display().to_string();
    client(&["export", "-o", &file]);
    let exported = std::fs::read_to_string(&file).unwrap();
    assert!(exported.contains("- name: My service"), "{exported}");
    assert_eq!(
        client(&["apply", "-f", &file, "--dry-run"]),
        "No changes.\n"
    );
    std::fs::write(
        &file,
        exported.replace("draft_postmortems: true", "draft_postmortems: false"),
    )
    .unwrap();
    let change =
        "~ change service My service (draft_postmortems)\n0 to create, 1 to change, 0 to delete.\n";
    assert_eq!(
        client(&["apply", "-f", &file, "--dry-run"]),
        format!("{change}Nothing changed (--dry-run).\n")
    );
    assert_eq!(
        client(&["apply", "-f", &file]),
        format!("{change}Applied.\n")
    );
    assert_eq!(client(&["apply", "-f", &file]), "No changes.\n");

    // The same as a folder, one file per kind.
    let folder = dir.path().join("config");
    let folder = folder.display().to_string();
    client(&["export", "--dir", &folder]);
    let services = std::fs::read_to_string(dir.path().join("config/services.yaml")).unwrap();
    assert!(services.contains("- name: My service"), "{services}");
    assert!(!services.contains("users:"), "{services}");
    assert_eq!(client(&["apply", "-f", &folder]), "No changes.\n");

    // Grouped alerts show on an incident.
    let http = reqwest::Client::new();
    let patched = http
        .patch(format!(
            "http://{}/api/v1/services/My%20service",
            server.url
        ))
        .bearer_auth(&token)
        .json(&serde_json::json!({"group_window_minutes": 10}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    for (dedup, summary) in [
        ("cpu/db01", "CPU 100% on db01"),
        ("mem/db01", "Memory low on db01"),
    ] {
        let sent = http
            .post(format!("http://{}/v2/enqueue", server.url))
            .body(trigger_event(&key, dedup, summary).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status(), StatusCode::ACCEPTED);
    }
    let shown = client(&["incident", "2"]);
    assert!(shown.contains("grouped:    cpu/db01 (firing)"), "{shown}");
    assert!(shown.contains("grouped:    mem/db01 (firing)"), "{shown}");

    // A bad token is refused with a clear message.
    let out = onduty()
        .args(["incidents"])
        .env("ONDUTY_URL", format!("http://{}", server.url))
        .env("ONDUTY_TOKEN", "odt_nope")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused the API token"));

    // 5. A clean stop on SIGTERM; a second start creates no second admin.
    server.signal(libc::SIGTERM);
    assert!(
        server.child.wait().unwrap().success(),
        "SIGTERM stops onduty cleanly"
    );
    drop(server);
    let users: Value = serde_json::from_str(&run_ok(
        onduty()
            .args(["admin", "user", "list", "--json"])
            .args(&database),
    ))
    .unwrap();
    assert_eq!(users["users"].as_array().unwrap().len(), 1);

    // A lost token is replaced from the command line.
    let fresh: Value = serde_json::from_str(&run_ok(
        onduty()
            .args([
                "admin",
                "token",
                "create",
                "--email",
                "admin@localhost",
                "--json",
            ])
            .args(&database),
    ))
    .unwrap();
    let server = Server::start(&database, &[]);
    let response = reqwest::Client::new()
        .get(format!("http://{}/api/v1/me", server.url))
        .bearer_auth(fresh["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// Every incident action from the command line pages whom it should: escalate pages
/// level 2, responders pages the people named, unack starts the policy again, reassign
/// pages the new policy or person, snooze quiets the incident.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_actions_from_the_command_line_page_the_right_people() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let phones = WebhookSink::start().await;
    let (_server, api, key) = checkout_server(dir.path(), &phones).await;
    let token = api.token.clone();
    let client = |args: &[&str]| {
        run_ok(
            onduty()
                .args(args)
                .env("ONDUTY_URL", &api.url)
                .env("ONDUTY_TOKEN", &token),
        )
    };

    api.event(trigger_event(&key, "checkout-down", "Checkout is down"))
        .await;
    phones.wait_for("alice", 1, PATIENCE).await;

    let out = client(&["escalate", "1"]);
    assert!(out.contains("#1 escalated"), "{out}");
    phones.wait_for("bob", 1, PATIENCE).await;

    let out = client(&["responders", "1", "carol@example.com"]);
    assert!(out.contains("#1 has new responders"), "{out}");
    phones.wait_for("carol", 1, PATIENCE).await;

    assert_eq!(client(&["ack", "1"]).trim(), "#1 acknowledged");
    let out = client(&["unack", "1"]);
    assert!(out.contains("#1 triggered again"), "{out}");
    phones.wait_for("alice", 2, PATIENCE).await;

    let out = client(&["reassign", "1", "--policy", "Support"]);
    assert!(out.contains("#1 reassigned"), "{out}");
    phones.wait_for("carol", 2, PATIENCE).await;

    let out = client(&["reassign", "1", "--user", "bob@example.com"]);
    assert!(out.contains("#1 reassigned"), "{out}");
    phones.wait_for("bob", 2, PATIENCE).await;

    let out = client(&["snooze", "1", "60"]);
    assert!(out.contains("#1 snoozed for 60 minutes"), "{out}");
    let detail = api.get("/incidents/1").await;
    assert_eq!(detail["incident"]["status"], "acknowledged", "{detail}");

    // Each page is on the timeline, and nobody was paged more than the actions asked.
    let shown = client(&["incident", "1"]);
    for line in [
        "Escalation policy Ops, level 1: paging Alice",
        "Escalation policy Ops, level 2: paging Bob",
        "Escalation policy Support, level 1: paging Carol",
        "Webhook of Bob",
    ] {
        assert!(shown.contains(line), "no '{line}' in:\n{shown}");
    }
    for name in ["alice", "bob", "carol"] {
        assert_eq!(phones.pages(name).len(), 2, "{name}");
    }
}

/// Schedules from the command line: who is on call, a two-week final schedule, and an
/// override added, listed and removed (times given on the schedule's wall clock).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_and_overrides_from_the_command_line() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let phones = WebhookSink::start().await;
    let (_server, api, _) = checkout_server(dir.path(), &phones).await;
    let token = api.token.clone();
    // Alice and Bob take daily turns in Kolkata time; Alice's turn began an hour ago.
    let started = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1);
    let kolkata = jiff::tz::TimeZone::get("Asia/Kolkata").unwrap();
    let start = started.to_zoned(kolkata).datetime();
    api.post(
        "/schedules",
        json!({"name": "Ops rota", "time_zone": "Asia/Kolkata", "layers": [{
            "name": "Primary",
            "participants": ["alice@example.com", "bob@example.com"],
            "start": start.strftime("%Y-%m-%dT%H:%M").to_string(),
            "shift": {"unit": "days", "count": 1}
        }]}),
    )
    .await;
    let client = |args: &[&str]| {
        run_ok(
            onduty()
                .args(args)
                .env("ONDUTY_URL", &api.url)
                .env("ONDUTY_TOKEN", &token),
        )
    };

    let listed = client(&["schedules"]);
    assert!(
        listed.contains("Ops rota") && listed.contains("Alice"),
        "{listed}"
    );
    let on_call = client(&["oncall"]);
    assert!(on_call.contains("Ops rota"), "{on_call}");
    assert!(on_call.contains("Alice until"), "{on_call}");
    assert!(on_call.contains("level 2: Bob"), "{on_call}");
    let tomorrow = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24)).to_string();
    let later = client(&["oncall", "--at", &tomorrow]);
    assert!(later.contains("Bob until"), "{later}");

    let shown = client(&["schedule", "show", "Ops rota", "--days", "14"]);
    assert!(shown.starts_with("Ops rota (Asia/Kolkata)"), "{shown}");
    let turns: Vec<&str> = shown.lines().skip(1).collect();
    assert_eq!(turns.len(), 15, "{shown}");
    assert!(turns[0].ends_with("Alice (Primary)"), "{shown}");
    assert!(turns[1].ends_with("Bob (Primary)"), "{shown}");
    let handoff = start.strftime("%H:%M").to_string();
    assert!(
        turns[1].contains(&handoff),
        "handoffs at {handoff}: {shown}"
    );

    // Carol covers two hours of Bob's turn tomorrow, given on Kolkata's wall clock.
    let from = start + jiff::Span::new().days(1).hours(2);
    let until = from + jiff::Span::new().hours(2);
    let added = client(&[
        "override",
        "add",
        "Ops rota",
        "--user",
        "carol@example.com",
        "--start",
        &from.strftime("%Y-%m-%dT%H:%M").to_string(),
        "--end",
        &until.strftime("%Y-%m-%dT%H:%M").to_string(),
    ]);
    assert!(added.starts_with("Carol covers Ops rota from"), "{added}");
    assert!(
        added.contains(&from.strftime("%H:%M").to_string()),
        "shown in Kolkata time: {added}"
    );
    let id = added
        .trim()
        .trim_end_matches(')')
        .rsplit(' ')
        .next()
        .unwrap()
        .to_owned();
    let shown = client(&["schedule", "show", "Ops rota", "--days", "3"]);
    assert!(shown.contains("Carol (override)"), "{shown}");
    let listed = client(&["override", "list", "Ops rota"]);
    assert!(listed.contains(&id) && listed.contains("Carol"), "{listed}");
    client(&["override", "remove", "Ops rota", &id]);
    assert_eq!(
        client(&["override", "list", "Ops rota"]).trim(),
        "No overrides."
    );
}

#[test]
fn config_example_and_bad_settings() {
    let example = run_ok(onduty().args(["config", "example"]));
    assert!(example.contains("rate_limit_per_minute"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("onduty.toml");
    std::fs::write(&file, &example).unwrap();
    let shown = run_ok(
        onduty()
            .args(["config", "show", "--config"])
            .arg(&file)
            .env("ONDUTY_LISTEN", "127.0.0.1:9999")
            .env("ONDUTY_DATABASE_URL", "postgres://u:hunter2@db/onduty"),
    );
    assert!(
        shown.contains("127.0.0.1:9999"),
        "the environment beats the file: {shown}"
    );
    assert!(!shown.contains("hunter2"), "secrets are hidden: {shown}");

    let out = onduty()
        .args(["serve", "--listen", "nowhere"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not host:port"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_tells_the_public_and_resolves_on_a_status_page() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let database = vec![
        "--data-dir".to_owned(),
        dir.path().join("data").display().to_string(),
    ];
    let mut server = Server::start(&database, &[]);
    let token = server.first_token();
    let api = crate::process::Api::new(&server, &token);
    let client = |args: &[&str]| {
        onduty()
            .args(args)
            .env("ONDUTY_URL", format!("http://{}", server.url))
            .env("ONDUTY_TOKEN", &token)
            .output()
            .unwrap()
    };
    let ok = |args: &[&str]| {
        let out = client(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let made = ok(&["status", "create", "acme", "--name", "Acme"]);
    assert!(made.starts_with("Made Acme at http://"), "{made}");
    let added = ok(&["status", "add-component", "acme", "--name", "API"]);
    assert!(
        added.starts_with("Added ") && added.trim_end().ends_with("  API"),
        "{added}"
    );
    assert!(ok(&["status", "pages"]).starts_with("acme  Acme  http://"));
    assert_eq!(ok(&["status", "subscribers", "acme"]), "No subscribers.\n");
    let said = ok(&[
        "status",
        "publish",
        "acme",
        "--name",
        "Checkout errors",
        "--body",
        "Some payments fail.",
        "--component",
        "API=major_outage",
    ]);
    assert!(
        said.starts_with("Published: ") && said.contains("investigating  Checkout errors"),
        "{said}"
    );
    let summary: Value = api
        .http
        .get(format!("{}/status/acme/api/v2/summary.json", api.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(summary["status"]["indicator"], "critical");
    let id = summary["incidents"][0]["id"].as_str().unwrap().to_owned();
    let shown = ok(&["status", "show", "acme"]);
    assert!(shown.contains("  API  major_outage"), "{shown}");
    assert!(
        shown.contains(&format!("{id}  investigating  Checkout errors")),
        "{shown}"
    );
    ok(&[
        "status",
        "update",
        "acme",
        &id,
        "--status",
        "resolved",
        "--body",
        "Payments work again.",
        "--component",
        "API=operational",
    ]);
    assert!(ok(&["status", "show", "acme"]).contains("No public incident in progress."));
    // A template kept beforehand: one command at 3 a.m.
    api.post(
        "/status-pages/acme/templates",
        json!({"name": "Slow", "title": "Slow responses", "body": "Some requests are slow."}),
    )
    .await;
    assert_eq!(
        ok(&["status", "templates", "acme"]),
        "Slow  \"Slow responses\"  investigating\n"
    );
    let said = ok(&["status", "publish", "acme", "--template", "Slow"]);
    assert!(said.contains("investigating  Slow responses"), "{said}");
    // Refused input says why.
    for (component, says) in [
        ("API", "--component takes NAME=STATE"),
        ("Web=operational", "no component 'Web'"),
    ] {
        let publish = ["status", "publish", "acme", "--name", "x", "--body", "y"];
        let bad = client(&[&publish[..], &["--component", component]].concat());
        assert!(!bad.status.success());
        let err = String::from_utf8_lossy(&bad.stderr);
        assert!(err.contains(says), "{err}");
    }
}
