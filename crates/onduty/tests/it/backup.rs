//! `onduty backup` while events pour in, then `onduty restore` and a fresh start: every
//! event acknowledged before the backup began is there, nothing that was never sent is,
//! and the database replaced is kept. And the ways a backup or restore is refused.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::json;

use crate::process::{Api, Server, database_args, onduty, run_ok};

/// Sends triggers with keys `load-<sender>-<n>` until told to stop; notes when each was
/// acknowledged (`202`).
struct Load {
    sent: Arc<Mutex<BTreeSet<String>>>,
    acknowledged: Arc<Mutex<Vec<(String, Instant)>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(url: &str, routing_key: &str, senders: usize) -> Load {
        let load = Load {
            sent: Arc::default(),
            acknowledged: Arc::default(),
            stop: Arc::default(),
            tasks: Vec::new(),
        };
        let tasks = (0..senders)
            .map(|sender| {
                let (sent, acknowledged, stop) = (
                    load.sent.clone(),
                    load.acknowledged.clone(),
                    load.stop.clone(),
                );
                let (url, routing_key) = (url.to_owned(), routing_key.to_owned());
                tokio::spawn(async move {
                    let http = reqwest::Client::new();
                    let mut n = 0;
                    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                        let key = format!("load-{sender}-{n}");
                        n += 1;
                        sent.lock().unwrap().insert(key.clone());
                        let event = json!({
                            "routing_key": routing_key, "event_action": "trigger",
                            "dedup_key": key,
                            "payload": {"summary": format!("check {key} failed"),
                                        "source": "load", "severity": "error"}});
                        let answer = http
                            .post(format!("{url}/v2/enqueue"))
                            .json(&event)
                            .send()
                            .await;
                        if answer.is_ok_and(|a| a.status() == reqwest::StatusCode::ACCEPTED) {
                            acknowledged.lock().unwrap().push((key, Instant::now()));
                        }
                    }
                })
            })
            .collect();
        Load { tasks, ..load }
    }

    fn acknowledged(&self) -> usize {
        self.acknowledged.lock().unwrap().len()
    }

    async fn stop(self) -> (BTreeSet<String>, Vec<(String, Instant)>) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        for task in self.tasks {
            task.await.unwrap();
        }
        let sent = self.sent.lock().unwrap().clone();
        let acknowledged = self.acknowledged.lock().unwrap().clone();
        (sent, acknowledged)
    }
}

/// Every incident's dedup key, page by page.
async fn dedup_keys(api: &Api) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "/incidents?status=triggered,acknowledged,resolved&limit=100".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = api.get(&path).await;
        for incident in page["incidents"].as_array().unwrap() {
            keys.insert(incident["dedup_key"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return keys,
        }
    }
}

fn onduty_on(data: &Path) -> std::process::Command {
    let mut command = onduty();
    command.args(database_args(data, None));
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_load_restores_every_event_acknowledged_before_it() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let backup = dir.path().join("onduty-backup.db");
    let mut server = Server::start(&database_args(&data, None), &[]);
    let token = server.first_token();
    let api = Api::new(&server, &token);
    api.post("/services", json!({"name": "Checkout"})).await;
    let made = api
        .post("/services/Checkout/integrations", json!({"name": "load"}))
        .await;
    let routing_key = made["integration"]["routing_key"]
        .as_str()
        .unwrap()
        .to_owned();

    let load = Load::start(&api.url, &routing_key, 6);
    while load.acknowledged() < 300 {
        tokio::task::yield_now().await;
    }
    let began = Instant::now();
    let (data_for_backup, backup_path) = (data.clone(), backup.clone());
    let said = tokio::task::spawn_blocking(move || {
        run_ok(onduty_on(&data_for_backup).arg("backup").arg(&backup_path))
    })
    .await
    .unwrap();
    let ended = Instant::now();
    let during = load.acknowledged();
    while load.acknowledged() < during + 100 {
        tokio::task::yield_now().await;
    }
    let (sent, acknowledged) = load.stop().await;
    assert!(said.starts_with("Backed up SQLite at"), "{said}");
    server.signal(libc::SIGTERM);
    let _ = server.child.wait();

    let restored = run_ok(onduty_on(&data).arg("restore").arg(&backup));
    assert!(
        restored.contains("The database it replaced is kept as"),
        "{restored}"
    );
    let kept: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("onduty.db.before-restore-")
        })
        .collect();
    assert_eq!(kept.len(), 1, "the replaced database is kept");

    let server = Server::start(&database_args(&data, None), &[]);
    let api = Api::new(&server, &token);
    let found = dedup_keys(&api).await;
    let before: Vec<&String> = acknowledged
        .iter()
        .filter(|(_, at)| *at < began)
        .map(|(key, _)| key)
        .collect();
    let after: Vec<&String> = acknowledged
        .iter()
        .filter(|(_, at)| *at > ended)
        .map(|(key, _)| key)
        .collect();
    assert!(before.len() >= 300 && after.len() >= 100);
    let missing: Vec<_> = before.iter().filter(|k| !found.contains(**k)).collect();
    assert!(missing.is_empty(), "lost: {missing:?}");
    assert!(
        after.iter().all(|k| !found.contains(*k)),
        "the restore put back the backup, not the later database"
    );
    assert!(found.is_subset(&sent), "nothing that was never sent");
}

#[test]
fn backups_and_restores_that_cannot_be_done_are_refused_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    run_ok(onduty_on(&data).arg("migrate"));
    let backup = dir.path().join("b.db");
    let refused = |command: &mut std::process::Command| {
        let out = command.output().unwrap();
        assert!(!out.status.success(), "{command:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };

    // A read-only place, and a file that is there already.
    let said = refused(onduty_on(&data).args(["backup", "/proc/onduty.db"]));
    assert!(
        said.contains("the backup to /proc/onduty.db failed"),
        "{said}"
    );
    std::fs::write(&backup, "keep me").unwrap();
    let said = refused(onduty_on(&data).arg("backup").arg(&backup));
    assert!(said.contains("already exists"), "{said}");
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), "keep me");

    // A full disk: the file-size limit stands in for it; no half-written file is left.
    let full = dir.path().join("full.db");
    let mut limited = onduty_on(&data);
    limited.arg("backup").arg(&full);
    // SAFETY: setrlimit and signal on the child between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut limited, || {
            let limit = libc::rlimit {
                rlim_cur: 64 * 1024,
                rlim_max: 64 * 1024,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &limit);
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let said = refused(&mut limited);
    assert!(said.contains("the backup to"), "{said}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("full.db"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // Restoring something that is not a backup changes nothing.
    let said = refused(onduty_on(&data).arg("restore").arg(&backup));
    assert!(said.contains("is not an onduty database backup"), "{said}");
    assert!(data.join("onduty.db").is_file());

    // Restoring while onduty runs on the database is refused.
    let good = dir.path().join("good.db");
    run_ok(onduty_on(&data).arg("backup").arg(&good));
    let server = Server::start(&database_args(&data, None), &[]);
    let said = refused(onduty_on(&data).arg("restore").arg(&good));
    assert!(said.contains("another onduty is running"), "{said}");
    assert!(said.contains("stop onduty before restoring"), "{said}");
    drop(server);
    // A backup holds secrets: only its owner reads it.
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&good).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);

    // PostgreSQL has its own tools.
    let said = refused(
        onduty()
            .args([
                "--database-url",
                "postgres://nobody@127.0.0.1:1/x",
                "backup",
            ])
            .arg(&good),
    );
    assert!(said.contains("pg_dump"), "{said}");
}
