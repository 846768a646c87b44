//! Mail in, sent by a real SMTP client (`swaks`, Debian's): a cron job's failure mail
//! opens an incident and its recovery mail resolves it; multipart, encoded subjects,
//! oversized messages and unknown recipients. Skipped when swaks is not installed, unless
//! ONDUTY_REQUIRE_SWAKS=1 (CI installs it and sets this).

use std::process::Command;

use onduty_testkit::{MAIL_DOMAIN, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;

fn swaks_here() -> bool {
    let found = Command::new("swaks").arg("--version").output().is_ok();
    if !found && std::env::var("ONDUTY_REQUIRE_SWAKS").as_deref() == Ok("1") {
        panic!("ONDUTY_REQUIRE_SWAKS=1 but swaks is not installed");
    }
    found
}

/// Sends with swaks; returns whether it was delivered and what swaks said.
async fn swaks(app: &TestApp, to: &str, args: &[&str]) -> (bool, String) {
    let server = app.smtp.to_string();
    let mut all = vec![
        "--server".to_owned(),
        server,
        "--to".to_owned(),
        to.to_owned(),
        "--from".to_owned(),
        "cron@db01.example.com".to_owned(),
        "--helo".to_owned(),
        "db01.example.com".to_owned(),
        "--timeout".to_owned(),
        "20".to_owned(),
    ];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    let out = tokio::task::spawn_blocking(move || Command::new("swaks").args(&all).output())
        .await
        .unwrap()
        .expect("swaks runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

/// A service with an e-mail integration; returns its address.
async fn address(app: &TestApp) -> String {
    let (service, _) = app.service("Backups", "open").await;
    let (status, made) = app
        .api(
            Method::POST,
            &format!("/services/{service}/integrations"),
            Some(json!({"type": "email"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let address = made["integration"]["email_address"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(address.ends_with(&format!("@{MAIL_DOMAIN}")), "{address}");
    address
}

#[tokio::test]
async fn a_cron_jobs_failure_mail_opens_an_incident_and_its_recovery_mail_resolves_it() {
    if !swaks_here() {
        eprintln!("skipped: swaks is not installed");
        return;
    }
    let app = TestApp::start().await;
    let to = address(&app).await;
    let (ok, said) = swaks(
        &app,
        &to,
        &[
            "--header",
            "Subject: Cron <root@db01> /usr/local/bin/backup failed",
            "--body",
            "rsync: disk full",
        ],
    )
    .await;
    assert!(ok, "{said}");
    // The same subject again folds in.
    swaks(
        &app,
        &to,
        &[
            "--header",
            "Subject: Cron <root@db01> /usr/local/bin/backup failed",
        ],
    )
    .await;
    let list = app.all_incidents().await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(
        list[0]["summary"],
        "Cron <root@db01> /usr/local/bin/backup failed"
    );
    assert_eq!(list[0]["alert_count"], 2);
    assert_eq!(list[0]["custom_details"]["body"], "rsync: disk full");
    assert_eq!(list[0]["source"], "cron@db01.example.com");

    let (ok, said) = swaks(
        &app,
        &to,
        &[
            "--header",
            "Subject: RESOLVED: Cron <root@db01> /usr/local/bin/backup failed",
        ],
    )
    .await;
    assert!(ok, "{said}");
    assert_eq!(app.all_incidents().await[0]["status"], "resolved");
    app.stop().await;
}

#[tokio::test]
async fn multipart_encoded_oversized_and_unknown_mail_is_read_or_refused_clearly() {
    if !swaks_here() {
        eprintln!("skipped: swaks is not installed");
        return;
    }
    let app = TestApp::start().await;
    let to = address(&app).await;

    // A multipart message with an attachment and a Latin-1 encoded subject.
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.pdf");
    std::fs::write(&report, b"%PDF-1.4 not really").unwrap();
    let (ok, said) = swaks(
        &app,
        &to,
        &[
            "--header",
            "Subject: =?ISO-8859-1?Q?Temp=E9rature_haute_salle_4?=",
            "--body",
            "Too hot in rack 4",
            "--attach",
            report.to_str().unwrap(),
        ],
    )
    .await;
    assert!(ok, "{said}");
    let list = app.all_incidents().await;
    assert_eq!(list[0]["summary"], "Température haute salle 4");
    assert_eq!(list[0]["custom_details"]["body"], "Too hot in rack 4");
    assert_eq!(list[0]["custom_details"]["attachments"], 1);

    // Unknown recipients are refused at RCPT.
    let (ok, said) = swaks(
        &app,
        &format!("0123456789abcdef0123456789abcdef@{MAIL_DOMAIN}"),
        &[],
    )
    .await;
    assert!(!ok);
    assert!(said.contains("550 5.1.1"), "{said}");
    let (ok, said) = swaks(&app, &to.replace(MAIL_DOMAIN, "elsewhere.example"), &[]).await;
    assert!(!ok);
    assert!(said.contains("550 5.1.2"), "{said}");

    // Over 1 MB is refused, and nothing is stored.
    let big = dir.path().join("big.txt");
    std::fs::write(&big, "x".repeat(1_200_000)).unwrap();
    let (ok, said) = swaks(
        &app,
        &to,
        &[
            "--header",
            "Subject: too big",
            "--attach",
            big.to_str().unwrap(),
        ],
    )
    .await;
    assert!(!ok);
    assert!(said.contains("552"), "{said}");
    assert_eq!(app.all_incidents().await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_heartbeat_is_pinged_by_mail_at_the_address_it_shows() {
    if !swaks_here() {
        eprintln!("skipped: swaks is not installed");
        return;
    }
    let app = TestApp::start().await;
    let (service, _) = app.service("Backups", "open").await;
    let (status, made) = app
        .api(
            Method::POST,
            &format!("/services/{service}/heartbeats"),
            Some(json!({"name": "nightly-backup", "period_minutes": 60})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let to = made["heartbeat"]["email_address"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(to.ends_with(&format!("@{MAIL_DOMAIN}")), "{to}");
    let (ok, said) = swaks(
        &app,
        &to,
        &["--header", "Subject: backup done", "--body", "12 GB"],
    )
    .await;
    assert!(ok, "{said}");
    let (_, list) = app.api(Method::GET, "/heartbeats", None).await;
    assert_eq!(list["heartbeats"][0]["state"], "up", "{list}");
    assert!(
        list["heartbeats"][0]["last_body"]
            .as_str()
            .unwrap()
            .contains("12 GB")
    );
    app.stop().await;
}
