//! Printing for people. Text from events and users may hold terminal control sequences:
//! everything shown passes through [`clean`].

use onduty_web::api::views::ServiceView;
use serde_json::Value;

pub fn print_json<T: serde::Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("JSON values serialize")
    );
}

/// Replaces control characters (escape sequences, carriage returns, …) so outside text
/// cannot rewrite the terminal.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if is_unsafe(c) { '\u{FFFD}' } else { c })
        .collect()
}

/// Control characters, and the invisible characters that reorder text (bidirectional
/// overrides and isolates), which could make a line read differently than it is.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `clean`, cut to `max` characters with an ellipsis.
pub fn clip(text: &str, max: usize) -> String {
    let cleaned = clean(text);
    if cleaned.chars().count() <= max {
        cleaned
    } else {
        let mut s: String = cleaned.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// Prints an integration (its JSON view): the routing key and a ready curl command.
pub fn print_integration(i: &Value) {
    let s = |k: &str| clean(i[k].as_str().unwrap_or(""));
    println!("Integration '{}' ({})", s("name"), s("id"));
    println!("  routing key:   {}", s("routing_key"));
    println!("  events URL:    {}", s("events_url"));
    println!("  change events: {}", s("change_events_url"));
    println!("Send a test event:");
    println!("  {}", s("curl_example"));
}

pub fn print_service_table(services: &[ServiceView]) {
    if services.is_empty() {
        println!("No services yet.");
        return;
    }
    println!("{:<36}  {:<10}  NAME", "ID", "DEDUP");
    for s in services {
        println!("{:<36}  {:<10}  {}", s.id, s.dedup_mode, clean(&s.name));
    }
}

fn text<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

pub fn print_incident_table(
    incidents: &[Value],
    service_names: &std::collections::HashMap<String, String>,
) {
    if incidents.is_empty() {
        println!("No incidents.");
        return;
    }
    println!(
        "{:>6}  {:<12}  {:<8}  {:>6}  {:<16}  {:<24}  SUMMARY",
        "#", "STATUS", "SEVERITY", "ALERTS", "SERVICE", "OPENED"
    );
    for i in incidents {
        let service = service_names
            .get(text(i, "service_id"))
            .map(String::as_str)
            .unwrap_or("?");
        println!(
            "{:>6}  {:<12}  {:<8}  {:>6}  {:<16}  {:<24}  {}",
            i.get("number").and_then(Value::as_i64).unwrap_or_default(),
            text(i, "status"),
            text(i, "severity"),
            i.get("alert_count")
                .and_then(Value::as_i64)
                .unwrap_or_default(),
            clip(service, 16),
            text(i, "created_at"),
            clip(text(i, "summary"), 80)
        );
    }
}

pub fn print_incident(detail: &Value, service_name: &str) {
    let i = &detail["incident"];
    println!(
        "#{} {} [{}, {}]",
        i.get("number").and_then(Value::as_i64).unwrap_or_default(),
        clean(text(i, "summary")),
        text(i, "status"),
        text(i, "severity")
    );
    println!("  service:    {}", clean(service_name));
    println!("  dedup key:  {}", clean(text(i, "dedup_key")));
    println!("  source:     {}", clean(text(i, "source")));
    println!(
        "  alerts:     {}",
        i.get("alert_count")
            .and_then(Value::as_i64)
            .unwrap_or_default()
    );
    for alert in i
        .get("grouped_alerts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let state = match alert.get("resolved_at").and_then(Value::as_str) {
            Some(at) => format!("resolved {at}"),
            None => "firing".to_owned(),
        };
        println!(
            "  grouped:    {} ({state})",
            clean(text(alert, "dedup_key"))
        );
    }
    println!("  opened:     {}", text(i, "created_at"));
    println!(
        "  last event: {} ({})",
        text(i, "last_event_at"),
        clip(text(i, "last_event_summary"), 80)
    );
    if let Some(details) = i.get("custom_details").filter(|d| !d.is_null()) {
        println!("  details:    {}", clip(&details.to_string(), 200));
    }
    for link in i
        .get("links")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        println!(
            "  link:       {} {}",
            clean(text(link, "href")),
            clean(text(link, "text"))
        );
    }
    println!("Timeline:");
    for e in detail
        .get("timeline")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let note = e
            .pointer("/data/text")
            .and_then(Value::as_str)
            .map(|t| format!(": {}", clean(t)));
        println!(
            "  {}  {}{}",
            text(e, "at"),
            clean(text(e, "message")),
            note.unwrap_or_default()
        );
    }
    if detail
        .get("timeline_next_cursor")
        .is_some_and(|c| !c.is_null())
    {
        println!(
            "  … more entries: GET /api/v1/incidents/{}/timeline",
            text(i, "id")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_cannot_reach_the_terminal() {
        assert_eq!(
            clean("ok\u{1b}[2Jgone\r\n"),
            "ok\u{FFFD}[2Jgone\u{FFFD}\u{FFFD}"
        );
        assert_eq!(clean("evil\u{202E}txt.exe"), "evil\u{FFFD}txt.exe");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }
}
