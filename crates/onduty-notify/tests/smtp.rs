//! The e-mail provider in a real SMTP exchange with a local SMTP server: aiosmtpd (from
//! PyPI; `.ci/run` installs it), which prints every message it receives. Without it the
//! test is skipped, unless ONDUTY_REQUIRE_SMTP_PEER=1 (CI sets it).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use onduty_core::Timestamp;
use onduty_core::contact::Channel;
use onduty_notify::email::{EmailNotifier, SmtpConfig, SmtpSecurity};
use onduty_notify::{Content, Link, Notifier, Outgoing, PageItem};

/// aiosmtpd serving on a port of 127.0.0.1 it chose; it prints the port once listening,
/// then every message it receives.
const PEER: &str = r#"
import asyncio, socket, sys
from aiosmtpd.smtp import SMTP
from aiosmtpd.handlers import Debugging

async def main():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(Debugging(sys.stdout)), sock=sock)
    print(sock.getsockname()[1], flush=True)
    await server.serve_forever()

asyncio.run(main())
"#;

struct Peer {
    child: Child,
    port: u16,
    /// What aiosmtpd prints after the port.
    output: BufReader<std::process::ChildStdout>,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts aiosmtpd and waits for it to say it listens, or says why it cannot.
fn start_peer() -> Result<Peer, String> {
    let mut child = Command::new("python3")
        .args(["-u", "-c", PEER])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("python3 not found: {e}"))?;
    let mut output = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut first = String::new();
    let read = output.read_line(&mut first);
    let Ok(port) = first.trim().parse::<u16>() else {
        let _ = child.kill();
        let mut why = String::new();
        if let Some(mut err) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut err, &mut why);
        }
        let _ = child.wait();
        return Err(format!(
            "aiosmtpd did not start ({read:?}); is it installed? {}",
            why.lines().last().unwrap_or_default()
        ));
    };
    Ok(Peer {
        child,
        port,
        output,
    })
}

fn page() -> Outgoing {
    Outgoing {
        channel: Channel::Email,
        to: "alice@example.com".to_owned(),
        secret: None,
        content: Content::Page {
            items: vec![PageItem {
                id: "incident-id".to_owned(),
                number: 7,
                summary: "Checkout <script>alert(1)</script> errors".to_owned(),
                service: "Web".to_owned(),
                severity: "critical".to_owned(),
                urgency: "high".to_owned(),
                url: "http://onduty.example/api/v1/incidents/7".to_owned(),
                details: Some(serde_json::json!({"error_rate": "12%"})),
                links: vec![Link {
                    href: "https://runbooks.example/checkout".to_owned(),
                    text: Some("Runbook".to_owned()),
                }],
                ack_url: Some("http://onduty.example/actions/ACK-TOKEN".to_owned()),
                resolve_url: Some("http://onduty.example/actions/RESOLVE-TOKEN".to_owned()),
                signed: Vec::new(),
                server: String::new(),
            }],
        },
        idempotency_key: "0198aaaa-bbbb".to_owned(),
        at: Timestamp::from_millis(1_800_000_000_000),
    }
}

#[tokio::test]
async fn a_page_reaches_a_real_smtp_server_with_text_html_and_links() {
    let peer = match start_peer() {
        Ok(p) => p,
        Err(why) if std::env::var("ONDUTY_REQUIRE_SMTP_PEER").as_deref() != Ok("1") => {
            eprintln!("skipped: no local SMTP server ({why})");
            return;
        }
        Err(why) => panic!("ONDUTY_REQUIRE_SMTP_PEER=1 but {why}"),
    };
    let notifier = EmailNotifier::new(&SmtpConfig {
        host: "127.0.0.1".to_owned(),
        port: peer.port,
        security: SmtpSecurity::Plain,
        username: None,
        password: None,
        from: "onduty <onduty@example.com>".to_owned(),
    })
    .unwrap();
    notifier
        .send(&page())
        .await
        .expect("the server accepts the page");

    let mut peer = peer;
    let received = tokio::task::spawn_blocking(move || {
        let mut text = String::new();
        for line in (&mut peer.output).lines() {
            let line = line.unwrap();
            let end = line.contains("END MESSAGE");
            text.push_str(&line);
            text.push('\n');
            if end {
                break;
            }
        }
        text
    })
    .await
    .unwrap();
    assert!(
        received.contains("From: onduty <onduty@example.com>"),
        "{received}"
    );
    assert!(received.contains("To: alice@example.com"), "{received}");
    assert!(received.contains("Subject:"), "{received}");
    assert!(received.contains("multipart/alternative"), "{received}");
    assert!(received.contains("text/plain"), "{received}");
    assert!(received.contains("text/html"), "{received}");
    // Quoted-printable may wrap lines; compare without soft line breaks.
    let flat = received.replace("=\n", "").replace("=3D", "=");
    assert!(
        flat.contains("Acknowledge: http://onduty.example/actions/ACK-TOKEN"),
        "{flat}"
    );
    assert!(
        flat.contains("Runbook: https://runbooks.example/checkout"),
        "{flat}"
    );
    assert!(
        flat.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{flat}"
    );
    let html = &flat[flat.find("text/html").unwrap()..];
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        flat.contains("href=\"http://onduty.example/actions/RESOLVE-TOKEN\""),
        "{flat}"
    );
}

#[tokio::test]
async fn an_unreachable_smtp_server_is_a_transient_failure() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let notifier = EmailNotifier::new(&SmtpConfig {
        host: "127.0.0.1".to_owned(),
        port,
        security: SmtpSecurity::Plain,
        username: None,
        password: None,
        from: "onduty@example.com".to_owned(),
    })
    .unwrap();
    let err = notifier.send(&page()).await.unwrap_err();
    assert!(err.is_transient(), "{err}");
}
