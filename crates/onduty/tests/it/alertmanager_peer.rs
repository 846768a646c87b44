//! The real Prometheus Alertmanager (Debian's `prometheus-alertmanager`) sending to
//! onduty with only the settings onduty's service page shows: its own webhook
//! (`webhook_configs`), its PagerDuty notifier (`pagerduty_configs` with `url` pointed
//! at `/v2/enqueue`) and its Opsgenie notifier (`opsgenie_configs` with `api_url` pointed at
//! onduty). An alert pushed into Alertmanager opens an incident through each, and
//! resolving it there resolves all three. Skipped when no Alertmanager is installed, unless
//! ONDUTY_REQUIRE_ALERTMANAGER=1 (CI installs it and sets this).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use onduty_testkit::{TestApp, wait_for};
use reqwest::Method;
use serde_json::{Value, json};

/// An Alertmanager process on a free port of 127.0.0.1, stopped when dropped.
struct Alertmanager {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary() -> Option<String> {
    if let Ok(path) = std::env::var("ONDUTY_ALERTMANAGER") {
        return Some(path);
    }
    ["prometheus-alertmanager", "alertmanager"]
        .into_iter()
        .find(|name| {
            Command::new(name)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .map(str::to_owned)
}

async fn start(config: &str) -> Result<Alertmanager, String> {
    let bin = binary().ok_or("no prometheus-alertmanager or alertmanager on PATH")?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let file = dir.path().join("alertmanager.yml");
    std::fs::write(&file, config).map_err(|e| e.to_string())?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let log = std::fs::File::create(dir.path().join("log")).map_err(|e| e.to_string())?;
    let child = Command::new(&bin)
        .arg(format!("--config.file={}", file.display()))
        .arg(format!(
            "--storage.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("{bin}: {e}"))?;
    let peer = Alertmanager {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    };
    let http = reqwest::Client::new();
    let ready_url = format!("{}/-/ready", peer.url);
    let ready = wait_for(
        Duration::from_secs(20),
        || async {
            http.get(&ready_url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        },
        |ready| *ready,
    )
    .await;
    if ready {
        return Ok(peer);
    }
    let log = std::fs::read_to_string(peer._dir.path().join("log")).unwrap_or_default();
    Err(format!("Alertmanager did not become ready: {log}"))
}

/// A service with one integration of `kind`; returns the integration as the API shows it.
async fn integration(app: &TestApp, service: &str, kind: &str) -> (String, Value) {
    let (_, created) = app
        .api(Method::POST, "/services", Some(json!({"name": service})))
        .await;
    let id = created["service"]["id"].as_str().unwrap().to_owned();
    let (_, made) = app
        .api(
            Method::POST,
            &format!("/services/{id}/integrations"),
            Some(json!({"type": kind})),
        )
        .await;
    (id, made["integration"].clone())
}

async fn incidents_of(app: &TestApp, service: &str) -> Vec<Value> {
    let (_, list) = app
        .api(
            Method::GET,
            &format!("/incidents?service={service}&status=triggered,acknowledged,resolved"),
            None,
        )
        .await;
    list["incidents"].as_array().unwrap().clone()
}

#[tokio::test]
async fn the_real_alertmanager_opens_and_resolves_incidents_through_each_of_its_notifiers() {
    let app = TestApp::start().await;
    let (webhook_service, webhook) = integration(&app, "Fleet (webhook)", "alertmanager").await;
    let (pd_service, pagerduty) = integration(&app, "Fleet (PagerDuty)", "events_v2").await;
    let (og_service, opsgenie) = integration(&app, "Fleet (Opsgenie)", "opsgenie").await;

    // The receivers exactly as onduty shows them, renamed apart and routed to both.
    let receiver = |view: &Value, name: &str| {
        view["alertmanager_config"]
            .as_str()
            .unwrap()
            .trim_start_matches("receivers:\n")
            .replace("name: onduty", &format!("name: {name}"))
    };
    let config = format!(
        "route:\n  receiver: webhook\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 1s\n  \
         repeat_interval: 1h\n  routes:\n    - receiver: webhook\n      continue: true\n    - receiver: opsgenie\n      continue: true\n\
         \x20   - receiver: pagerduty\n\
         receivers:\n{}{}{}",
        receiver(&webhook, "webhook"),
        receiver(&pagerduty, "pagerduty"),
        receiver(&opsgenie, "opsgenie"),
    );
    let peer = match start(&config).await {
        Ok(p) => p,
        Err(why) if std::env::var("ONDUTY_REQUIRE_ALERTMANAGER").as_deref() != Ok("1") => {
            eprintln!("skipped: {why}");
            return;
        }
        Err(why) => panic!("ONDUTY_REQUIRE_ALERTMANAGER=1 but {why}\n{config}"),
    };

    // A disk fills up on db01.
    let http = reqwest::Client::new();
    let alert = |ends: Option<String>| {
        let mut a = json!({
            "labels": {"alertname": "DiskFull", "instance": "db01:9100", "severity": "critical"},
            "annotations": {"summary": "Disk 95% full on db01", "runbook_url": "https://runbooks.example/disk"},
            "generatorURL": "http://prometheus:9090/graph"});
        if let Some(end) = ends {
            a["endsAt"] = json!(end);
        }
        json!([a])
    };
    let pushed = http
        .post(format!("{}/api/v2/alerts", peer.url))
        .json(&alert(None))
        .send()
        .await
        .unwrap();
    assert!(pushed.status().is_success(), "{}", pushed.status());

    let patience = Duration::from_secs(30);
    let all = || async {
        (
            incidents_of(&app, &webhook_service).await,
            incidents_of(&app, &pd_service).await,
            incidents_of(&app, &og_service).await,
        )
    };
    let (through_webhook, through_pagerduty, through_opsgenie) =
        wait_for(patience, all, |(w, p, o)| {
            !w.is_empty() && !p.is_empty() && !o.is_empty()
        })
        .await;
    assert_eq!(through_webhook.len(), 1, "{through_webhook:?}");
    let w = &through_webhook[0];
    assert_eq!(w["summary"], "Disk 95% full on db01");
    assert_eq!(w["severity"], "critical");
    assert_eq!(w["client"], "Alertmanager");
    assert_eq!(w["links"][0]["href"], "https://runbooks.example/disk");
    assert!(
        w["dedup_key"].as_str().unwrap().starts_with("fingerprint:"),
        "{w}"
    );
    assert_eq!(through_pagerduty.len(), 1, "{through_pagerduty:?}");
    assert_eq!(through_pagerduty[0]["status"], "triggered");
    assert_eq!(through_opsgenie.len(), 1, "{through_opsgenie:?}");
    assert!(
        through_opsgenie[0]["summary"]
            .as_str()
            .unwrap()
            .contains("DiskFull"),
        "{through_opsgenie:?}"
    );

    // Fixed: Alertmanager hears the alert has ended and tells onduty both ways.
    let ended = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_secs(1))
        .unwrap()
        .to_string();
    let pushed = http
        .post(format!("{}/api/v2/alerts", peer.url))
        .json(&alert(Some(ended)))
        .send()
        .await
        .unwrap();
    assert!(pushed.status().is_success());
    let (w, p, o) = wait_for(patience, all, |(w, p, o)| {
        w[0]["status"] == "resolved" && p[0]["status"] == "resolved" && o[0]["status"] == "resolved"
    })
    .await;
    assert_eq!(w[0]["status"], "resolved", "{w:?}");
    assert_eq!(p[0]["status"], "resolved", "{p:?}");
    assert_eq!(o[0]["status"], "resolved", "{o:?}");
    assert_eq!(
        w.len() + p.len() + o.len(),
        3,
        "no new incidents on the way"
    );
    drop(peer);
    app.stop().await;
}
