//! `onduty report`: a report over a period (through `/api/v1/reports`), as text, JSON
//! (`--json`) or CSV (`--csv`).

use reqwest::Method;
use serde_json::Value;

use super::{Client, encode};
use crate::cli::ReportArgs;
use crate::output::clean;

/// A date alone (`2026-03-01`) means its midnight UTC; anything else goes as typed.
fn instant(text: &str) -> String {
    let t = text.trim();
    if t.len() == 10 && t.as_bytes().get(4) == Some(&b'-') {
        format!("{t}T00:00:00Z")
    } else {
        t.to_owned()
    }
}

fn query(args: &ReportArgs) -> String {
    let mut pairs = Vec::new();
    let mut add = |name: &str, value: &Option<String>, as_time: bool| {
        if let Some(v) = value {
            let v = if as_time { instant(v) } else { v.clone() };
            pairs.push(format!("{name}={}", encode(&v)));
        }
    };
    add("from", &args.from, true);
    add("to", &args.to, true);
    add("team", &args.team, false);
    add("service", &args.service, false);
    add("policy", &args.policy, false);
    add("urgency", &args.urgency, false);
    pairs.join("&")
}

/// CSV as the terminal gets it: line ends kept, other control characters made visible.
fn terminal_safe_csv(text: &str) -> String {
    text.split('\n')
        .map(|line| clean(line.trim_end_matches('\r')))
        .collect::<Vec<_>>()
        .join("\n")
}

fn seconds(v: &Value) -> String {
    v.as_f64()
        .map_or("–".to_owned(), onduty_core::report::duration_words)
}

fn percent(v: &Value) -> String {
    format!("{:.0}%", v.as_f64().unwrap_or(0.0) * 100.0)
}

fn text(r: &Value) {
    let s = |v: &Value| clean(v.as_str().unwrap_or(""));
    println!("{} to {}", s(&r["period"]["from"]), s(&r["period"]["to"]));
    println!(
        "Incidents {}   alerts {}   escalated {} ({})   resolved automatically {} of {} ({})   flaps {}   heartbeat failures {}",
        r["incidents"],
        r["alerts"],
        r["escalated"],
        percent(&r["escalated_share"]),
        r["auto_resolved"],
        r["resolved"],
        percent(&r["auto_resolved_share"]),
        r["flaps"],
        r["heartbeat_failures"]
    );
    for (label, key) in [
        ("Time to acknowledge", "time_to_acknowledge"),
        ("Time to resolve    ", "time_to_resolve"),
    ] {
        let t = &r[key];
        println!(
            "{label}   mean {}   median {}   90th percentile {}   ({} incidents)",
            seconds(&t["mean_seconds"]),
            seconds(&t["median_seconds"]),
            seconds(&t["p90_seconds"]),
            t["count"].as_u64().unwrap_or(0)
        );
    }
    let channels: Vec<String> = r["acknowledgements_by_channel"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["count"].as_u64().unwrap_or(0) > 0)
        .map(|c| format!("{} {}", s(&c["channel"]), c["count"]))
        .collect();
    println!("Acknowledged through   {}", channels.join(", "));
    for (label, key) in [
        ("Noisiest services", "noisiest_services"),
        ("Noisiest alert keys", "noisiest_alert_keys"),
    ] {
        println!("{label}");
        for n in r[key].as_array().into_iter().flatten() {
            let name = match n["dedup_key"].as_str() {
                Some(k) => format!("{} / {}", s(&n["service"]), clean(k)),
                None => s(&n["service"]),
            };
            println!(
                "  {name}: {} incidents, {} alerts, {} flaps",
                n["incidents"], n["alerts"], n["flaps"]
            );
        }
    }
    println!("Weeks");
    for w in r["weeks"].as_array().into_iter().flatten() {
        println!(
            "  {}  incidents {}  acknowledged {}  mean to acknowledge {}  resolved {}  mean to resolve {}  escalated {}",
            s(&w["start"]).get(..10).unwrap_or(""),
            w["incidents"],
            w["acknowledged"],
            seconds(&w["mean_seconds_to_acknowledge"]),
            w["resolved"],
            seconds(&w["mean_seconds_to_resolve"]),
            w["escalated"]
        );
    }
    println!(
        "People (pages once per incident; business 08–18 weekdays, sleep 22–08, their own clock)"
    );
    for p in r["responders"].as_array().into_iter().flatten() {
        println!(
            "  {} ({})  pages {}: business {}, off {}, sleep {}; on call {:.1} h; acknowledged {}, resolved {}; weeks over the sleep budget {}",
            s(&p["name"]),
            s(&p["time_zone"]),
            p["pages"],
            p["business_hours_pages"],
            p["off_hours_pages"],
            p["sleep_hours_pages"],
            p["hours_on_call"].as_f64().unwrap_or(0.0),
            p["acknowledged"],
            p["resolved"],
            p["weeks_over_budget"]
        );
    }
}

impl Client {
    pub(super) async fn report(&self, args: ReportArgs) -> anyhow::Result<()> {
        let query = query(&args);
        if args.csv {
            let csv = self
                .call_text(Method::GET, &format!("/reports.csv?{query}"), None)
                .await?;
            print!("{}", terminal_safe_csv(&csv));
            return Ok(());
        }
        let report = self
            .call(Method::GET, &format!("/reports?{query}"), None)
            .await?;
        self.output(&report, text);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_mean_their_midnight_and_filters_are_encoded() {
        let args = ReportArgs {
            from: Some("2026-03-01".to_owned()),
            to: Some("2026-04-01T12:00:00+02:00".to_owned()),
            team: Some("Ops & Infra".to_owned()),
            service: None,
            policy: None,
            urgency: Some("low".to_owned()),
            csv: false,
        };
        assert_eq!(
            query(&args),
            "from=2026-03-01T00%3A00%3A00Z&to=2026-04-01T12%3A00%3A00%2B02%3A00&team=Ops%20%26%20Infra&urgency=low"
        );
    }

    #[test]
    fn csv_keeps_its_lines_but_not_escape_sequences() {
        assert_eq!(
            terminal_safe_csv("a,b\r\nx\u{1b}[31m,1\r\n"),
            "a,b\nx\u{FFFD}[31m,1\n"
        );
    }
}
