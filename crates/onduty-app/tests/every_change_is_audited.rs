//! Every use case that takes an `Acting` and changes something writes an audit entry: its
//! body calls `configuring`, `recorded` or `record`, or it hands the work to one that does
//! (`act_on_each` calls `act`). Use cases that only read, or only send, are listed here
//! with why; a new use case must be in one group or the other.

use std::path::Path;

/// Use cases that take an `Acting` and change nothing worth an entry.
const NOT_CHANGES: [(&str, &str); 15] = [
    ("tokens", "lists tokens"),
    ("subscribers", "lists subscribers"),
    ("export_config", "reads the configuration"),
    ("plan_config", "a dry run of apply_config"),
    ("report", "reads figures"),
    ("send_usage", "reads counts"),
    ("own_or_admin", "a role check"),
    ("contact_owner", "a role check"),
    ("audit_log", "reads the audit log"),
    (
        "send_code",
        "sends a verification code; verifying is recorded",
    ),
    ("send_test", "sends a test message"),
    (
        "chat_link_code",
        "a one-time code; the link it makes is recorded",
    ),
    ("act_on_each", "calls act for each incident"),
    ("configuring", "the audit wrapper itself"),
    ("recorded", "the audit wrapper itself"),
];

/// Each `pub async fn` that takes `acting: &Acting`, with its body.
fn use_cases(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("pub async fn ") {
        let after = &rest[at + "pub async fn ".len()..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        // The body runs to the next use case (or the end): enough to find the calls.
        let end = after.find("pub async fn ").unwrap_or(after.len());
        let body = &after[..end];
        let signature = &body[..body.find('{').unwrap_or(body.len())];
        if signature.contains("acting: &Acting") {
            found.push((name, body.to_owned()));
        }
        rest = after;
    }
    found
}

#[test]
fn every_use_case_that_changes_something_writes_an_audit_entry() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![];
    for dir in [src.clone(), src.join("config")] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut unaudited = Vec::new();
    let mut audited = 0;
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for (name, body) in use_cases(&text) {
            if NOT_CHANGES.iter().any(|(n, _)| *n == name) {
                continue;
            }
            let writes_entry = ["self.configuring(", "self.recorded(", "self.record("]
                .iter()
                .any(|call| body.contains(call));
            if writes_entry {
                audited += 1;
            } else {
                unaudited.push(format!("{}: {name}", path.display()));
            }
        }
    }
    assert!(unaudited.is_empty(), "no audit entry: {unaudited:#?}");
    // The scan finds the use cases (a broken scan would pass by finding none).
    assert!(audited > 60, "only {audited} audited use cases found");
}
