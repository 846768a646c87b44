//! A server started with the common soft limit of 1,024 open files keeps taking events
//! while 2,000 idle and half-sent connections are held open against it.

use std::os::unix::process::CommandExt;

use onduty_testkit::trigger_event;
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::process::{Api, Server};

const HELD: usize = 2_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_idle_and_slow_connections_do_not_stop_ingest() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // This process holds the client side of every connection.
    onduty::files::raise_open_file_limit();
    let dir = tempfile::tempdir().unwrap();
    let database = vec!["--data-dir".to_owned(), dir.path().display().to_string()];
    let mut server = Server::start_with(&database, &[], |command| {
        // SAFETY: setrlimit is async-signal-safe; nothing else runs in the child here.
        unsafe {
            command.pre_exec(|| {
                let mut limit = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
                limit.rlim_cur = limit.rlim_max.min(1_024);
                libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
                Ok(())
            });
        }
    });
    let token = server.first_token();
    let api = Api::new(&server, &token);
    let created = api.post("/services", json!({"name": "Web"})).await;
    let service = created["service"]["id"].as_str().unwrap().to_owned();
    let integration = api
        .post(&format!("/services/{service}/integrations"), json!({}))
        .await;
    let key = integration["integration"]["routing_key"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut held = Vec::with_capacity(HELD);
    for n in 0..HELD {
        let mut stream = TcpStream::connect(&server.url).await.unwrap();
        if n % 2 == 1 {
            // Half a request, never finished.
            stream
                .write_all(b"POST /v2/enqueue HTTP/1.1\r\nhost: onduty\r\ncontent-length: 100\r\n")
                .await
                .unwrap();
        }
        held.push(stream);
    }

    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap();
    for n in 0..50 {
        let response = http
            .post(format!("http://{}/v2/enqueue", server.url))
            .header("content-type", "application/json")
            .body(trigger_event(&key, &format!("disk-{n}"), "Disk full").to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("event {n} with {HELD} connections held: {e}"));
        assert_eq!(response.status(), StatusCode::ACCEPTED, "event {n}");
    }
    let list = api.get("/incidents?limit=100").await;
    assert_eq!(list["incidents"].as_array().unwrap().len(), 50);
    drop(held);
}
