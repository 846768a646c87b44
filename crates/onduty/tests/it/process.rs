//! Running the real `onduty` executable: one-shot commands, and a server whose printed
//! lines the test reads as they come.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The `onduty` executable built for these tests, with no inherited onduty settings.
pub fn onduty() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_onduty"));
    for (name, _) in std::env::vars() {
        if name.starts_with("ONDUTY_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("ONDUTY_LOG", "warn");
    cmd
}

/// Runs a command to completion; panics with its output if it failed.
pub fn run_ok(cmd: &mut Command) -> String {
    let out: Output = cmd.output().expect("run onduty");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Where a server's database is: a data directory (SQLite) or a URL.
pub fn database_args(data_dir: &Path, database_url: Option<&str>) -> Vec<String> {
    match database_url {
        None => vec!["--data-dir".into(), data_dir.display().to_string()],
        Some(url) => vec!["--database-url".into(), url.to_owned()],
    }
}

/// An `onduty serve` process on a port of its choosing; `url` is its `host:port`.
pub struct Server {
    pub child: Child,
    pub url: String,
    lines: mpsc::Receiver<String>,
}

/// How long a test waits for the server to print an expected line.
const PATIENCE: Duration = Duration::from_secs(60);

impl Server {
    pub fn start(database: &[String], envs: &[(&str, &str)]) -> Server {
        let mut child = onduty()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(database)
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start onduty serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
            child,
            url: String::new(),
            lines,
        };
        let listening = server.wait_for_line("onduty listening on ");
        let address = listening
            .trim_start_matches("onduty listening on http://")
            .split_whitespace()
            .next()
            .expect("an address")
            .to_owned();
        server.url = address;
        server
    }

    /// Waits (up to a minute) for a printed line containing `needle`; returns it.
    pub fn wait_for_line(&mut self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(PATIENCE) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => continue,
                Err(e) => panic!("onduty never printed '{needle}': {e}"),
            }
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid.
        let rc = unsafe { libc::kill(self.pid(), signal) };
        assert_eq!(rc, 0, "kill {} {signal}", self.pid());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
