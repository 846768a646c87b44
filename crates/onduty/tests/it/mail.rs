//! Mail in, sent by a real SMTP client (`swaks`, Debian's): a cron job's failure mail
//! opens an incident and its recovery mail resolves it; multipart, encoded subjects,
//! oversized messages, unknown recipients and STARTTLS. The swaks stories are skipped when swaks is not installed, unless
//! ONDUTY_REQUIRE_SWAKS=1 (CI installs it and sets this).

use std::process::Command;

use onduty_testkit::{MAIL_DOMAIN, TestApp};
use reqwest::{Method, StatusCode};
use rustls::pki_types::pem::PemObject;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio_rustls::rustls;

fn swaks_here() -> bool {
    let found = Command::new("swaks").arg("--version").output().is_ok();
    if !found && std::env::var("ONDUTY_REQUIRE_SWAKS").as_deref() == Ok("1") {
        panic!("ONDUTY_REQUIRE_SWAKS=1 but swaks is not installed");
    }
    found
}

/// A server for a swaks story, or `None` (the story is skipped) without swaks.
async fn server_for_swaks() -> Option<TestApp> {
    if !swaks_here() {
        eprintln!("skipped: swaks is not installed");
        return None;
    }
    Some(TestApp::start().await)
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
    let Some(app) = server_for_swaks().await else {
        return;
    };
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
    let Some(app) = server_for_swaks().await else {
        return;
    };
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
    let Some(app) = server_for_swaks().await else {
        return;
    };
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
    let kept = list["heartbeats"][0]["last_body"].as_str().unwrap();
    assert!(kept.contains("12 GB"), "{kept}");
    // Whoever reads the heartbeat cannot learn its key from the kept mail.
    let key = to.split('@').next().unwrap();
    assert!(!kept.to_ascii_lowercase().contains(key), "{kept}");
    assert!(kept.contains("(key hidden)@"), "{kept}");

    // It goes quiet, is reported late, and the next mail brings it back.
    app.pass(std::time::Duration::from_secs(80 * 60)).await;
    let open = app.all_incidents().await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["status"], "triggered");
    let (ok, said) = swaks(
        &app,
        &to,
        &["--header", "Subject: backup done", "--body", "13 GB"],
    )
    .await;
    assert!(ok, "{said}");
    let (_, list) = app.api(Method::GET, "/heartbeats", None).await;
    assert_eq!(list["heartbeats"][0]["state"], "up", "{list}");
    assert_eq!(app.all_incidents().await[0]["status"], "resolved");
    app.stop().await;
}

#[tokio::test]
async fn mail_sent_over_starttls_is_taken_like_any_other() {
    let Some(app) = server_for_swaks().await else {
        return;
    };
    let to = address(&app).await;
    let (ok, said) = swaks(
        &app,
        &to,
        &[
            "--tls",
            "--header",
            "Subject: backup failed on db01",
            "--body",
            "exit status 2",
        ],
    )
    .await;
    assert!(ok, "{said}");
    assert!(
        said.contains("STARTTLS") && said.contains("TLS started"),
        "{said}"
    );
    let (_, list) = app.api(Method::GET, "/incidents", None).await;
    assert_eq!(
        list["incidents"][0]["summary"], "backup failed on db01",
        "{list}"
    );
    app.stop().await;
}

/// Reads one SMTP reply (all its lines); returns it whole.
async fn reply<S: AsyncRead + Unpin>(stream: &mut BufReader<S>) -> String {
    let mut all = String::new();
    loop {
        let mut line = String::new();
        let n = stream.read_line(&mut line).await.unwrap();
        assert!(n > 0, "the server closed the connection after {all:?}");
        all.push_str(&line);
        if line.as_bytes().get(3) != Some(&b'-') {
            return all;
        }
    }
}

async fn say<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut BufReader<S>, text: &str) -> String {
    stream.get_mut().write_all(text.as_bytes()).await.unwrap();
    reply(stream).await
}

#[tokio::test]
async fn starttls_forgets_what_came_before_it_and_refuses_plain_text_smuggled_after_it() {
    let app = TestApp::start().await;
    let to = address(&app).await;
    let mut plain = BufReader::new(tokio::net::TcpStream::connect(app.smtp).await.unwrap());
    assert!(reply(&mut plain).await.starts_with("220 "));
    let hello = say(&mut plain, "EHLO client.example.com\r\n").await;
    assert!(hello.contains("250-STARTTLS"), "{hello}");
    // A sender before TLS, and a command smuggled after STARTTLS in the same packet: both
    // must be forgotten once TLS starts.
    assert!(
        say(&mut plain, "MAIL FROM:<cron@example.com>\r\n")
            .await
            .starts_with("250")
    );
    let go = say(&mut plain, "STARTTLS\r\nRCPT TO:<nobody@onduty.test>\r\n").await;
    assert!(go.starts_with("220 2.0.0"), "{go}");

    let (cert, _) = onduty_testkit::test_certificate();
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(cert.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = connector
        .connect(name, plain.into_inner())
        .await
        .expect("a TLS handshake with the configured certificate");
    let mut secure = BufReader::new(tls);

    let hello = say(&mut secure, "EHLO client.example.com\r\n").await;
    assert!(hello.starts_with("250-"), "{hello}");
    assert!(!hello.contains("STARTTLS"), "not offered twice: {hello}");
    let early = say(&mut secure, &format!("RCPT TO:<{to}>\r\n")).await;
    assert!(
        early.starts_with("503"),
        "the sender given before TLS is forgotten: {early}"
    );
    assert!(say(&mut secure, "STARTTLS\r\n").await.starts_with("502"));
    assert!(
        say(&mut secure, "MAIL FROM:<cron@example.com>\r\n")
            .await
            .starts_with("250")
    );
    assert!(
        say(&mut secure, &format!("RCPT TO:<{to}>\r\n"))
            .await
            .starts_with("250")
    );
    assert!(say(&mut secure, "DATA\r\n").await.starts_with("354"));
    let stored = say(
        &mut secure,
        "Subject: disk full on db02\r\n\r\nonly 1% left\r\n.\r\n",
    )
    .await;
    assert!(stored.starts_with("250"), "{stored}");
    assert!(say(&mut secure, "QUIT\r\n").await.starts_with("221"));

    let (_, list) = app.api(Method::GET, "/incidents", None).await;
    let incidents = list["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{list}");
    assert_eq!(incidents[0]["summary"], "disk full on db02");
    app.stop().await;
}

#[tokio::test]
async fn serve_offers_starttls_with_the_certificate_files_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = onduty_testkit::test_certificate();
    let cert_file = dir.path().join("mail.crt");
    let key_file = dir.path().join("mail.key");
    std::fs::write(&cert_file, cert).unwrap();
    std::fs::write(&key_file, key).unwrap();
    let database = crate::process::database_args(&dir.path().join("data"), None);
    let mut server = crate::process::Server::start(
        &database,
        &[
            ("ONDUTY_MAIL_LISTEN", "127.0.0.1:0"),
            ("ONDUTY_MAIL_TLS_CERT", cert_file.to_str().unwrap()),
            ("ONDUTY_MAIL_TLS_KEY", key_file.to_str().unwrap()),
        ],
    );
    let line = server.wait_for_line("onduty takes mail on ");
    assert!(line.ends_with("(STARTTLS offered)"), "{line}");
    let address = line
        .trim_start_matches("onduty takes mail on ")
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let mut smtp = BufReader::new(tokio::net::TcpStream::connect(address).await.unwrap());
    assert!(reply(&mut smtp).await.starts_with("220 "));
    let hello = say(&mut smtp, "EHLO client.example.com\r\n").await;
    assert!(hello.contains("250-STARTTLS"), "{hello}");

    // A key file that isn't one stops the start with a clear reason.
    drop(server);
    std::fs::write(&key_file, "not a key").unwrap();
    let out = crate::process::onduty()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--mail-listen",
            "127.0.0.1:0",
        ])
        .args(&database)
        .args(["--mail-tls-cert", cert_file.to_str().unwrap()])
        .args(["--mail-tls-key", key_file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("cannot offer STARTTLS"), "{said}");
}

/// Opens an SMTP connection to `app` from the local address `from`; returns it and its
/// greeting.
async fn greeted_from(app: &TestApp, from: &str) -> (BufReader<tokio::net::TcpStream>, String) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let stream = socket.connect(app.smtp).await.unwrap();
    let mut stream = BufReader::new(stream);
    let greeting = reply(&mut stream).await;
    (stream, greeting)
}

#[tokio::test]
async fn one_client_cannot_take_every_smtp_session() {
    let app = TestApp::start().await;
    let mut held = Vec::new();
    for _ in 0..8 {
        let (stream, greeting) = greeted_from(&app, "127.0.0.1").await;
        assert!(greeting.starts_with("220 "), "{greeting}");
        held.push(stream);
    }
    let (_, greeting) = greeted_from(&app, "127.0.0.1").await;
    assert_eq!(
        greeting,
        "421 4.7.0 Too many connections from your address; try again later\r\n"
    );
    // Another client is still served, and the first gets a session back once one ends.
    let (_, greeting) = greeted_from(&app, "127.0.0.2").await;
    assert!(greeting.starts_with("220 "), "{greeting}");
    let mut first = held.pop().unwrap();
    assert!(say(&mut first, "QUIT\r\n").await.starts_with("221"));
    drop(first);
    let mut greeting = String::new();
    for _ in 0..10_000 {
        greeting = greeted_from(&app, "127.0.0.1").await.1;
        if greeting.starts_with("220 ") {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(greeting.starts_with("220 "), "{greeting}");
    app.stop().await;
}
