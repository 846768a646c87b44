//! A real SMTP server on 127.0.0.1 for tests: aiosmtpd (from PyPI; `.ci/run` installs
//! it), which prints every message it receives. Without it a test is skipped, unless
//! `ONDUTY_REQUIRE_SMTP_PEER=1` (CI sets it).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::sync::mpsc;

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

pub struct SmtpPeer {
    child: Child,
    pub port: u16,
    /// What aiosmtpd prints after the port, line by line.
    lines: mpsc::UnboundedReceiver<String>,
}

impl Drop for SmtpPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpPeer {
    /// Starts aiosmtpd and waits for it to say it listens, or says why it cannot.
    pub fn start() -> Result<SmtpPeer, String> {
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
        let (send, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in output.lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(SmtpPeer { child, port, lines })
    }

    /// The peer; `None` (the test is skipped) when it cannot start here, unless
    /// `ONDUTY_REQUIRE_SMTP_PEER=1`, which makes that a failure.
    pub fn for_test() -> Option<SmtpPeer> {
        match SmtpPeer::start() {
            Ok(peer) => Some(peer),
            Err(why) if std::env::var("ONDUTY_REQUIRE_SMTP_PEER").as_deref() != Ok("1") => {
                eprintln!("skipped: no local SMTP server ({why})");
                None
            }
            Err(why) => panic!("ONDUTY_REQUIRE_SMTP_PEER=1 but {why}"),
        }
    }

    /// The next message received, as aiosmtpd printed it (headers, then the body as sent);
    /// panics if none comes within 30 s.
    pub async fn next_message(&mut self) -> String {
        let mut text = String::new();
        let read = async {
            while let Some(line) = self.lines.recv().await {
                let end = line.contains("END MESSAGE");
                text.push_str(&line);
                text.push('\n');
                if end {
                    return;
                }
            }
        };
        if tokio::time::timeout(Duration::from_secs(30), read)
            .await
            .is_err()
        {
            panic!("no message reached the SMTP server; so far: {text}");
        }
        text
    }
}
