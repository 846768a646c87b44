//! onduty serving HTTPS itself, as `onduty serve` with a certificate: PagerDuty's own
//! Python client (which refuses plain HTTP) sends through it, a renewed certificate is
//! taken on SIGHUP without dropping open connections, plain HTTP is redirected, and
//! certificate files that cannot be used stop the start with the reason. The Python part
//! is skipped when python3 cannot import `pagerduty`, unless
//! ONDUTY_REQUIRE_PAGERDUTY_CLIENT=1 (CI installs it and sets this).

use std::path::{Path, PathBuf};

use onduty_testkit::wait_for;
use serde_json::{Value, json};

use crate::process::{Api, PATIENCE, Server, database_args, onduty};

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/peers/pagerduty_events.py"
);

/// A self-signed certificate for 127.0.0.1 written to `dir/<name>.pem` and
/// `dir/<name>.key`; returns the certificate's PEM.
fn certificate(dir: &Path, name: &str) -> String {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let pem = made.cert.pem();
    std::fs::write(dir.join(format!("{name}.pem")), &pem).unwrap();
    std::fs::write(
        dir.join(format!("{name}.key")),
        made.key_pair.serialize_pem(),
    )
    .unwrap();
    pem
}

/// An HTTP client that trusts only `pem`.
fn trusting(pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes()).unwrap()])
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn client_installed() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import pagerduty"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Copies `from` over the served certificate and key, as a renewal does.
fn renew(dir: &Path, from: &str) {
    for ext in ["pem", "key"] {
        std::fs::copy(
            dir.join(format!("{from}.{ext}")),
            dir.join(format!("served.{ext}")),
        )
        .unwrap();
    }
}

/// Whether a mail client that trusts only `pem` gets through `STARTTLS` at `address`.
async fn starttls_trusting(address: &str, pem: &str) -> bool {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut smtp = BufReader::new(stream);
    let mut line = String::new();
    // Reads one reply, all its lines ("250-…" go on, "250 …" ends it).
    async fn reply(smtp: &mut BufReader<tokio::net::TcpStream>, line: &mut String) {
        loop {
            line.clear();
            smtp.read_line(line).await.unwrap();
            if line.as_bytes().get(3) != Some(&b'-') {
                return;
            }
        }
    }
    reply(&mut smtp, &mut line).await;
    smtp.get_mut().write_all(b"EHLO test\r\n").await.unwrap();
    reply(&mut smtp, &mut line).await;
    smtp.get_mut().write_all(b"STARTTLS\r\n").await.unwrap();
    reply(&mut smtp, &mut line).await;
    assert!(line.starts_with("220"), "{line}");
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    connector.connect(name, smtp.into_inner()).await.is_ok()
}

async fn answers(client: &reqwest::Client, url: &str) -> bool {
    client.get(format!("{url}/healthz")).send().await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagerdutys_client_sends_over_https_and_a_renewed_certificate_is_served_after_sighup() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let first = certificate(dir.path(), "first");
    let second = certificate(dir.path(), "second");
    renew(dir.path(), "first");
    let served = |ext: &str| -> PathBuf { dir.path().join(format!("served.{ext}")) };
    let (cert, key) = (served("pem"), served("key"));
    let mut server = Server::start(
        &database_args(&dir.path().join("data"), None),
        &[
            ("ONDUTY_TLS_CERT", cert.to_str().unwrap()),
            ("ONDUTY_TLS_KEY", key.to_str().unwrap()),
            ("ONDUTY_TLS_REDIRECT_LISTEN", "127.0.0.1:0"),
            // Mail takes STARTTLS with the same files, as with one Let's Encrypt
            // certificate for both.
            ("ONDUTY_MAIL_LISTEN", "127.0.0.1:0"),
            ("ONDUTY_MAIL_TLS_CERT", cert.to_str().unwrap()),
            ("ONDUTY_MAIL_TLS_KEY", key.to_str().unwrap()),
        ],
    );
    let token = server.first_token();
    let mail_line = server.wait_for_line("onduty takes mail on ");
    let mail = mail_line
        .trim_start_matches("onduty takes mail on ")
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let url = format!("https://{}", server.url);
    let api = Api {
        http: trusting(&first),
        url: url.clone(),
        token,
    };
    api.post("/services", json!({"name": "Checkout"})).await;
    let made = api
        .post(
            "/services/Checkout/integrations",
            json!({"name": "monitoring"}),
        )
        .await;
    let routing_key = made["integration"]["routing_key"]
        .as_str()
        .unwrap()
        .to_owned();

    // HSTS on every answer over HTTPS; plain HTTP on the HTTPS port gets nothing.
    let health = api.http.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(
        health.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let plain = reqwest::get(format!("http://{}/healthz", server.url)).await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());

    // Plain HTTP on the redirect address is sent to HTTPS, path and query kept.
    let redirect_line = server.wait_for_line("onduty redirects http://");
    let redirect = redirect_line
        .trim_start_matches("onduty redirects http://")
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let moved = trusting(&first)
        .get(format!("http://{redirect}/incidents?status=open"))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), reqwest::StatusCode::PERMANENT_REDIRECT);
    assert_eq!(
        moved.headers()["location"],
        format!("{url}/incidents?status=open").as_str()
    );

    if client_installed() {
        let out = std::process::Command::new("python3")
            .arg(SCRIPT)
            .env("ONDUTY_URL", &url)
            .env("ONDUTY_CA", dir.path().join("first.pem"))
            .env("ROUTING_KEY", &routing_key)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            seen["plain_http_refused"],
            "API base URL must use scheme https://"
        );
        assert_eq!(seen["dedup_key"], "checkout/latency", "{seen}");
        let incident = api.get("/incidents/1").await;
        assert_eq!(incident["incident"]["status"], "resolved", "{incident}");
        assert_eq!(incident["incident"]["dedup_key"], "checkout/latency");
        let timeline = incident["timeline"].to_string();
        assert!(timeline.contains("cknowledged"), "{timeline}");
    } else {
        assert_ne!(
            std::env::var("ONDUTY_REQUIRE_PAGERDUTY_CLIENT").as_deref(),
            Ok("1"),
            "ONDUTY_REQUIRE_PAGERDUTY_CLIENT=1 but python3 cannot import pagerduty"
        );
        eprintln!(
            "skipped the client's part: python3 cannot import pagerduty (pip install pagerduty)"
        );
    }

    // The certificate is renewed on disk: nothing changes until SIGHUP.
    assert!(
        answers(&api.http, &url).await,
        "a connection is open and kept"
    );
    renew(dir.path(), "second");
    assert!(!answers(&trusting(&second), &url).await);
    server.signal(libc::SIGHUP);
    let renewed = wait_for(
        PATIENCE,
        || async { answers(&trusting(&second), &url).await },
        |ok| *ok,
    )
    .await;
    assert!(renewed, "the renewed certificate is served after SIGHUP");
    assert!(starttls_trusting(&mail, &second).await, "and to mail");
    assert!(!starttls_trusting(&mail, &first).await);
    assert!(
        !answers(&trusting(&first), &url).await,
        "new connections get the new certificate"
    );
    // The connection opened before goes on (whether or not the client's part ran).
    assert!(api.get("/incidents").await["incidents"].is_array());

    // A broken renewal is refused and the served certificate stays.
    std::fs::write(&cert, "not a certificate").unwrap();
    server.signal(libc::SIGHUP);
    for _ in 0..20 {
        assert!(answers(&trusting(&second), &url).await);
    }
}

#[test]
fn certificate_files_that_cannot_be_used_stop_the_start_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    certificate(dir.path(), "a");
    certificate(dir.path(), "b");
    std::fs::write(dir.path().join("garbage.pem"), "-----BEGIN NOTHING-----").unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    let cases = [
        (path("missing.pem"), path("a.key"), "cannot read"),
        (
            path("garbage.pem"),
            path("a.key"),
            "no readable PEM certificate",
        ),
        (path("a.pem"), path("b.key"), "do not go together"),
    ];
    for (cert, key, expected) in cases {
        let out = onduty()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(database_args(&dir.path().join("data"), None))
            .args(["--tls-cert", &cert, "--tls-key", &key])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains(expected), "{expected}: {said}");
        assert!(
            !dir.path().join("data").exists(),
            "nothing was started or created"
        );
    }
}
