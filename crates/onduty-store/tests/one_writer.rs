//! Incident rows have one writer: `src/effects.rs`. No other store module inserts or
//! updates `incidents`, so every change of an incident's state is one the core decided.

use std::path::Path;

/// The places in `text` that write the `incidents` table.
fn incident_writes(text: &str) -> Vec<String> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || matches!(c, '"' | '\\' | '('))
        .filter(|w| !w.is_empty())
        .collect();
    words
        .windows(3)
        .filter(|w| match (w[0], w[1], w[2]) {
            ("INSERT", "INTO", table) => is_incidents(table),
            ("UPDATE", table, _) => is_incidents(table),
            _ => false,
        })
        .map(|w| w.join(" "))
        .collect()
}

fn is_incidents(word: &str) -> bool {
    word.trim_end_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_') == "incidents"
}

#[test]
fn only_the_effects_writer_writes_incident_rows() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    let mut in_effects = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let writes = incident_writes(&std::fs::read_to_string(&path).unwrap());
        if path.ends_with("effects.rs") {
            in_effects += writes.len();
        } else {
            found.extend(
                writes
                    .into_iter()
                    .map(|w| format!("{}: {w}", path.display())),
            );
        }
    }
    assert!(
        found.is_empty(),
        "incident rows written outside effects.rs: {found:?}"
    );
    assert!(in_effects > 0, "effects.rs writes incident rows");
}

#[test]
fn the_scan_finds_writes_however_they_are_spelled() {
    assert_eq!(
        incident_writes("\"UPDATE incidents SET status = $1\"").len(),
        1
    );
    assert_eq!(incident_writes("INSERT INTO incidents(id) VALUES").len(), 1);
    assert_eq!(
        incident_writes("\"INSERT INTO incidents \\\n (id)").len(),
        1
    );
    assert!(incident_writes("INSERT INTO incident_alert_keys").is_empty());
    assert!(incident_writes("SELECT * FROM incidents").is_empty());
}
