//! A postmortem as Markdown: what `GET …/postmortems/{id}.md` gives.

use super::components::Outage;
use super::{Impact, PostmortemStatus, TimelineLine};
use crate::time::Timestamp;

/// An action item as a document shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionLine {
    pub text: String,
    pub owner: Option<String>,
    pub due: Option<Timestamp>,
    pub link: Option<String>,
    pub done: bool,
}

/// A status-page component the incidents affected, as a document shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentLine {
    /// The status page's name.
    pub page: String,
    pub name: String,
    pub outage: Outage,
}

/// Everything a postmortem's Markdown says, names looked up.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub title: String,
    pub status: PostmortemStatus,
    pub owner: Option<String>,
    /// Number and summary.
    pub incidents: Vec<(i64, String)>,
    pub impact: Option<Impact>,
    /// Person, channel, pages.
    pub pages: Vec<(String, String, i64)>,
    /// Status-page components told of by public incidents about these incidents.
    pub components: Vec<ComponentLine>,
    pub summary: String,
    pub contributing_factors: String,
    pub went_well: String,
    pub went_badly: String,
    pub timeline: Vec<TimelineLine>,
    pub actions: Vec<ActionLine>,
    pub provisional_due: Timestamp,
    pub final_due: Timestamp,
}

/// "2026-12-07 04:10 UTC".
fn utc(at: Timestamp) -> String {
    jiff::Timestamp::from_millisecond(at.as_millis())
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// A postmortem as Markdown: what `GET …/postmortems/{id}.md` and `onduty postmortem
/// export` give. Only the timeline lines marked as mattering are kept.
pub fn to_markdown(doc: &Document) -> String {
    let mut out = format!(
        "# {}

",
        doc.title
    );
    let status = match doc.status {
        PostmortemStatus::Draft => "Draft",
        PostmortemStatus::InReview => "In review",
        PostmortemStatus::Published => "Published",
    };
    out.push_str(&format!(
        "- Status: {status}\n- Owner: {}\n- Provisional version due: {}\n- Final version due: {}\n",
        doc.owner.as_deref().unwrap_or("nobody yet"),
        utc(doc.provisional_due),
        utc(doc.final_due)
    ));
    let incidents: Vec<String> = doc
        .incidents
        .iter()
        .map(|(n, summary)| format!("#{n} {summary}"))
        .collect();
    out.push_str(&format!("- Incidents: {}\n", incidents.join("; ")));
    let section = |out: &mut String, heading: &str, text: &str| {
        out.push_str(&format!("\n## {heading}\n\n"));
        if text.trim().is_empty() {
            out.push_str("_Not written yet._\n");
        } else {
            out.push_str(text.trim());
            out.push('\n');
        }
    };
    section(&mut out, "Summary", &doc.summary);
    out.push_str("\n## Impact\n\n");
    if let Some(i) = &doc.impact {
        out.push_str(&format!("- Started (detected): {}\n", utc(i.started_at)));
        match (i.acknowledged_at, i.minutes_to_acknowledge) {
            (Some(at), Some(m)) => {
                out.push_str(&format!("- Acknowledged: {} ({m} min)\n", utc(at)))
            }
            _ => out.push_str("- Acknowledged: not yet\n"),
        }
        match (i.resolved_at, i.minutes_to_resolve) {
            (Some(at), Some(m)) => {
                out.push_str(&format!("- Resolved: {} (lasted {m} min)\n", utc(at)))
            }
            _ => out.push_str("- Resolved: not yet\n"),
        }
    }
    if doc.pages.is_empty() {
        out.push_str("- Paged: nobody\n");
    } else {
        let pages: Vec<String> = doc
            .pages
            .iter()
            .map(|(person, channel, n)| {
                format!(
                    "{person} by {channel} ({n} {})",
                    if *n == 1 { "time" } else { "times" }
                )
            })
            .collect();
        out.push_str(&format!("- Paged: {}\n", pages.join(", ")));
    }
    if doc.components.is_empty() {
        out.push_str("- Status-page components affected: none told of\n");
    } else {
        let affected: Vec<String> = doc
            .components
            .iter()
            .map(|c| {
                format!(
                    "{} on {} ({}, {} min)",
                    c.name,
                    c.page,
                    c.outage.worst.label().to_lowercase(),
                    c.outage.minutes
                )
            })
            .collect();
        out.push_str(&format!(
            "- Status-page components affected: {}\n",
            affected.join(", ")
        ));
    }
    out.push_str("\n## Timeline\n\n");
    let marked: Vec<&TimelineLine> = doc.timeline.iter().filter(|l| l.marked).collect();
    if marked.is_empty() {
        out.push_str("_Nothing marked yet._\n");
    }
    for line in marked {
        out.push_str(&format!("- {} · {}\n", utc(line.at), line.text));
    }
    section(&mut out, "Contributing factors", &doc.contributing_factors);
    section(&mut out, "What went well", &doc.went_well);
    section(&mut out, "What did not", &doc.went_badly);
    out.push_str("\n## Action items\n\n");
    if doc.actions.is_empty() {
        out.push_str("_None yet._\n");
    }
    for a in &doc.actions {
        let mut facts = Vec::new();
        if let Some(owner) = &a.owner {
            facts.push(owner.clone());
        }
        if let Some(due) = a.due {
            facts.push(format!("due {}", utc(due)));
        }
        if let Some(link) = &a.link {
            facts.push(format!("<{link}>"));
        }
        let facts = if facts.is_empty() {
            String::new()
        } else {
            format!(" ({})", facts.join(", "))
        };
        out.push_str(&format!(
            "- [{}] {}{facts}\n",
            if a.done { "x" } else { " " },
            a.text
        ));
    }
    out
}

/// What the public reads of a published postmortem shown with a status-page incident:
/// its summary, its contributing factors and what is being done (the action items'
/// words and whether each is done). Who was paged, the owners, the links to the issue
/// tracker and the internal timeline stay inside. Sections not written are left out.
pub fn public_markdown(
    summary: &str,
    contributing_factors: &str,
    actions: &[(String, bool)],
) -> String {
    let mut out = String::new();
    for (heading, text) in [
        ("Summary", summary),
        ("Contributing factors", contributing_factors),
    ] {
        if !text.trim().is_empty() {
            out.push_str(&format!("## {heading}\n\n{}\n\n", text.trim()));
        }
    }
    if !actions.is_empty() {
        out.push_str("## What we are doing about it\n\n");
        for (text, done) in actions {
            out.push_str(&format!("- [{}] {text}\n", if *done { "x" } else { " " }));
        }
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::super::{IncidentTimes, impact};
    use super::*;
    use PostmortemStatus::InReview;

    #[test]
    fn the_markdown_keeps_marked_lines_and_says_what_is_not_written() {
        let t = |m: i64| {
            Timestamp::parse("2026-12-07T03:00:00Z")
                .unwrap()
                .saturating_add(std::time::Duration::from_secs(m as u64 * 60))
        };
        let doc = Document {
            title: "#1: Disk full on db01".to_owned(),
            status: InReview,
            owner: Some("Alice".to_owned()),
            incidents: vec![(1, "Disk full on db01".to_owned())],
            impact: impact(&[IncidentTimes {
                created_at: t(0),
                acknowledged_at: Some(t(4)),
                resolved_at: Some(t(30)),
            }]),
            pages: vec![("Alice".to_owned(), "sms".to_owned(), 2)],
            components: vec![ComponentLine {
                page: "Acme status".to_owned(),
                name: "API".to_owned(),
                outage: Outage {
                    worst: crate::status_page::ComponentStatus::MajorOutage,
                    minutes: 26,
                },
            }],
            summary: "The disk filled with WAL.".to_owned(),
            contributing_factors: String::new(),
            went_well: "Paged at once.".to_owned(),
            went_badly: String::new(),
            timeline: vec![
                TimelineLine {
                    at: t(0),
                    text: "#1 Triggered".to_owned(),
                    marked: true,
                    incident: Some(1),
                    kind: None,
                },
                TimelineLine {
                    at: t(1),
                    text: "#1 Paged Alice".to_owned(),
                    marked: false,
                    incident: Some(1),
                    kind: None,
                },
            ],
            actions: vec![ActionLine {
                text: "Alert at 80%".to_owned(),
                owner: Some("Bob".to_owned()),
                due: Some(t(60 * 24)),
                link: Some("https://issues.example/42".to_owned()),
                done: false,
            }],
            provisional_due: t(60 * 24),
            final_due: t(60 * 24 * 5),
        };
        let md = to_markdown(&doc);
        for expected in [
            "# #1: Disk full on db01\n",
            "- Status: In review\n- Owner: Alice\n",
            "- Acknowledged: 2026-12-07 03:04 UTC (4 min)\n",
            "- Resolved: 2026-12-07 03:30 UTC (lasted 30 min)\n",
            "- Paged: Alice by sms (2 times)\n",
            "- Status-page components affected: API on Acme status (major outage, 26 min)\n",
            "- 2026-12-07 03:00 UTC · #1 Triggered\n",
            "## Contributing factors\n\n_Not written yet._\n",
            "- [ ] Alert at 80% (Bob, due 2026-12-08 03:00 UTC, <https://issues.example/42>)\n",
        ] {
            assert!(md.contains(expected), "{expected:?} in {md}");
        }
        assert!(!md.contains("Paged Alice"), "unmarked lines stay out: {md}");
    }

    #[test]
    fn the_public_version_keeps_what_happened_and_what_is_done_and_no_names() {
        let public = public_markdown(
            " The disk filled with WAL. ",
            "",
            &[
                ("Alert at 80%".to_owned(), true),
                ("Grow the disk".to_owned(), false),
            ],
        );
        assert_eq!(
            public,
            "## Summary\n\nThe disk filled with WAL.\n\n\
             ## What we are doing about it\n\n- [x] Alert at 80%\n- [ ] Grow the disk"
        );
        assert_eq!(public_markdown("", " ", &[]), "");
    }
}
