use super::*;
use crate::time::Timestamp;

/// The clock the plans are made at: before the overrides in [`TEAM`] end.
const NOW: Timestamp = Timestamp::from_millis(1_780_000_000_000);

const TEAM: &str = r#"
version: 1
users:
  - email: alice@example.com
    name: Alice
    role: admin
    time_zone: Europe/Berlin
    contact_methods:
      - name: phone
        type: sms
        address: "+4915112345678"
    notification_rules:
      - contact_method: phone
        delay_minutes: 0
  - email: bob@example.com
    name: Bob
teams:
  - name: Ops
    members: [alice@example.com, bob@example.com]
schedules:
  - name: Primary
    time_zone: Europe/Berlin
    team: Ops
    layers:
      - name: Weekly
        participants: [alice@example.com, bob@example.com]
        start: 2026-01-05T09:00
        shift: {unit: weeks, count: 1}
        restrictions:
          - {type: daily, start: "08:00", end: "20:00"}
    overrides:
      - {user: bob@example.com, start: 2026-12-24T18:00:00Z, end: 2026-12-26T08:00:00Z}
escalation_policies:
  - name: Ops
    repeat: 1
    levels:
      - delay_minutes: 15
        targets:
          - schedule: Primary
      - delay_minutes: 30
        mode: round_robin
        targets:
          - user: alice@example.com
services:
  - name: Checkout
    escalation_policy: Ops
    flap_window_minutes: 10
    integrations:
      - name: Prometheus
        type: alertmanager
    heartbeats:
      - name: nightly backup
        cron: "0 3 * * *"
        time_zone: Europe/Berlin
        grace_minutes: 30
    chat_channels:
      - {platform: slack, channel: C0123ABCD}
      - {platform: teams, channel: "https://acme.webhook.office.com/workflows/abc"}
status_pages:
  - slug: acme
    name: Acme
    host: status.acme.example
    components:
      - {name: Regions, is_group: true}
      - {name: EU, group: Regions, service: Checkout}
maintenance_windows:
  - services: [Checkout]
    start: 2026-12-24T18:00:00Z
    end: 2026-12-27T08:00:00Z
    reason: Christmas freeze
"#;

#[test]
fn a_realistic_document_reads_and_writes_back_the_same() {
    let doc = read(TEAM, &Known::default()).unwrap();
    assert_eq!(doc.users[1].role, Role::Responder, "the default role");
    assert_eq!(doc.users[1].time_zone, "UTC");
    assert!(doc.services[0].draft_postmortems);
    assert_eq!(
        doc.escalation_policies[0].levels[0].targets,
        [TargetDoc::Schedule("Primary".to_owned())]
    );
    let again = read(&to_yaml(&doc).unwrap(), &Known::default()).unwrap();
    assert_eq!(again, doc);
}

fn problems(text: &str) -> Vec<String> {
    match read(text, &Known::default()) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn each_problem_names_its_line_and_field() {
    for (change, expected) in [
        // An unknown field.
        (
            ("    repeat: 1", "    repeat: 1\n    colour: red"),
            "line 36: escalation_policies[0].colour: Unknown field `colour`",
        ),
        // A reference to a person nobody knows.
        (
            (
                "          - user: alice@example.com",
                "          - user: carol@example.com",
            ),
            "line 43: escalation_policies[0].levels[1].targets[0]: no person 'carol@example.com'",
        ),
        // A name used twice.
        (
            (
                "  - name: Checkout",
                "  - name: Checkout\n    description: a\n  - name: Checkout",
            ),
            "line 47: services[1].name: 'Checkout' is named twice",
        ),
        // A value onduty refuses.
        (
            (
                "    time_zone: Europe/Berlin\n    team: Ops",
                "    time_zone: Mars/Olympus\n    team: Ops",
            ),
            "line 22: schedules[0].time_zone: 'Mars/Olympus' is not a time zone",
        ),
        (
            (
                "shift: {unit: weeks, count: 1}",
                "shift: {unit: fortnights, count: 1}",
            ),
            "line 28: schedules[0].layers[0].shift.unit",
        ),
        // Not YAML at all.
        (("teams:\n  - name: Ops", "teams:\n  - name: [Ops"), "line"),
        // A heartbeat with a period and a cron expression.
        (
            (
                "        grace_minutes: 30",
                "        grace_minutes: 30\n        period_minutes: 60",
            ),
            "line 52: services[0].heartbeats[0]: give either 'period_minutes' or 'cron'",
        ),
        (
            ("cron: \"0 3 * * *\"", "cron: \"0 3 * *\""),
            "line 53: services[0].heartbeats[0].cron: 'cron' is not a cron expression",
        ),
        // A component in a group that is not one, and for a service nobody knows.
        (
            (
                "{name: EU, group: Regions, service: Checkout}",
                "{name: EU, group: Europe, service: Shop}",
            ),
            "line 65: status_pages[0].components[1].group: no group 'Europe' on this page",
        ),
        (
            (
                "{name: EU, group: Regions, service: Checkout}",
                "{name: EU, service: Shop}",
            ),
            "line 65: status_pages[0].components[1].service: no service 'Shop'",
        ),
        // A rule naming a contact method the person does not have.
        (
            (
                "      - contact_method: phone",
                "      - contact_method: pager",
            ),
            "line 13: users[0].notification_rules[0].contact_method: no contact method 'pager'",
        ),
    ] {
        let (from, to) = change;
        assert!(TEAM.contains(from), "{from}");
        let found = problems(&TEAM.replacen(from, to, 1));
        assert!(
            found.iter().any(|p| p.starts_with(expected)),
            "{expected} in {found:?}"
        );
    }
    assert!(problems(TEAM).is_empty());
}

#[test]
fn references_may_name_what_the_server_has() {
    let text = "version: 1\nteams:\n  - name: Web\n    members: [dana@example.com]\n";
    assert_eq!(
        problems(text),
        ["line 4: teams[0].members[0]: no person 'dana@example.com'"]
    );
    let known = Known {
        users: ["dana@example.com".to_owned()].into(),
        ..Known::default()
    };
    assert!(read(text, &known).is_ok());
}

#[test]
fn the_plan_creates_changes_and_with_prune_deletes_in_order() {
    let desired = read(TEAM, &Known::default()).unwrap();
    let everything = plan(&ConfigDoc::default(), &desired, false, NOW);
    let kinds: Vec<(&str, &str)> = everything
        .changes
        .iter()
        .map(|c| (c.kind, c.name.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("user", "alice@example.com"),
            ("user", "bob@example.com"),
            ("team", "Ops"),
            ("schedule", "Primary"),
            ("escalation_policy", "Ops"),
            ("service", "Checkout"),
            ("status_page", "acme"),
            (
                "maintenance_window",
                "2026-12-24T18:00:00.000Z to 2026-12-27T08:00:00.000Z (Checkout)"
            ),
        ]
    );
    assert!(
        plan(&desired, &desired, true, NOW).is_empty(),
        "applying twice changes nothing"
    );

    let mut current = desired.clone();
    current.services[0].flap_window_minutes = None;
    current.services[0].description = "old".to_owned();
    current.teams.push(TeamDoc {
        name: "Legacy".to_owned(),
        members: Vec::new(),
        chat_channels: Vec::new(),
    });
    // An integration key the document leaves out is kept, not changed.
    current.services[0].integrations[0].key = Some("a".repeat(32));
    let kept = plan(&current, &desired, false, NOW);
    assert_eq!(
        kept.changes,
        [Change {
            kind: "service",
            name: "Checkout".to_owned(),
            action: Action::Update {
                fields: vec!["flap_window_minutes".to_owned(), "description".to_owned()]
            },
        }]
    );
    let pruned = plan(&current, &desired, true, NOW);
    assert_eq!(pruned.changes.len(), 2);
    assert_eq!(pruned.changes[1].action, Action::Delete);
    assert_eq!(pruned.changes[1].name, "Legacy");
    assert_eq!(
        pruned.to_string(),
        "~ change service Checkout (flap_window_minutes, description)\n\
         - delete team Legacy\n\
         0 to create, 1 to change, 1 to delete.\n"
    );
}

#[test]
fn the_schema_describes_the_document() {
    let schema = json_schema();
    assert_eq!(schema["title"], "onduty configuration");
    assert_eq!(schema["required"], serde_json::json!(["version"]));
    let text = schema.to_string();
    for field in [
        "escalation_policies",
        "notification_rules",
        "round_robin",
        "draft_postmortems",
    ] {
        assert!(text.contains(field), "{field}");
    }
}

#[test]
fn the_schema_kept_in_the_repository_is_the_one_served() {
    let kept: serde_json::Value =
        serde_json::from_str(include_str!("../../../../docs/onduty-config.schema.json")).unwrap();
    assert!(
        kept == json_schema(),
        "docs/onduty-config.schema.json is stale: run `onduty config schema > docs/onduty-config.schema.json`"
    );
}

#[test]
fn a_folder_reads_as_one_document_and_problems_name_their_file() {
    let users = "version: 1\nusers:\n- {email: alice@example.com, name: Alice}\n- {email: bob@example.com, name: Bob}\n";
    let teams = "version: 1\nteams:\n- name: Ops\n  members: [alice@example.com]\n- name: Web\n  members: [bob@example.com, carol@example.com]\n";
    let files = |teams: &str| {
        vec![
            ("users.yaml".to_owned(), users.to_owned()),
            ("teams.yaml".to_owned(), teams.to_owned()),
        ]
    };
    let errors = read_files(&files(teams), &Known::default()).unwrap_err();
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        ["teams.yaml: line 6: teams[1].members[1]: no person 'carol@example.com'"]
    );
    let fixed = teams.replace(", carol@example.com", "");
    let doc = read_files(&files(&fixed), &Known::default()).unwrap();
    assert_eq!((doc.users.len(), doc.teams.len()), (2, 2));
    assert_eq!(doc.teams[1].members, ["bob@example.com"]);
    let shape = read_files(&files("version: 2\n"), &Known::default()).unwrap_err();
    assert_eq!(
        shape[0].to_string(),
        "teams.yaml: line 1: version: this onduty reads version 1"
    );
}

#[test]
fn a_value_spelled_another_way_is_no_change() {
    let current = read(TEAM, &Known::default()).unwrap();
    let respelled = TEAM
        .replace(
            "    members: [alice@example.com, bob@example.com]",
            "    members: [Alice@Example.com, bob@example.com]",
        )
        .replace(
            "    time_zone: Europe/Berlin\n    team: Ops",
            "    time_zone: europe/berlin\n    team: Ops",
        )
        .replace("start: \"08:00\"", "start: \"08:00:00\"")
        .replace(
            "address: \"+4915112345678\"",
            "address: \"+49 151 12345678\"",
        )
        .replace(
            "start: 2026-12-24T18:00:00Z",
            "start: 2026-12-24T19:00:00+01:00",
        )
        .replace(
            "        type: alertmanager",
            "        type: alertmanager\n        group_by: alert",
        );
    assert_ne!(respelled, TEAM);
    let desired = read(&respelled, &Known::default()).unwrap();
    assert_eq!(plan(&current, &desired, true, NOW), Plan::default());
    // A real change still shows.
    let moved = respelled.replace("start: \"08:00:00\"", "start: \"09:00\"");
    let desired = read(&moved, &Known::default()).unwrap();
    assert_eq!(plan(&current, &desired, false, NOW).changes.len(), 1);
}

#[test]
fn what_onduty_refuses_is_refused_before_any_plan() {
    for (change, expected) in [
        (
            ("    repeat: 1", "    repeat: 10"),
            "escalation_policies[0]: repeat must be 0 to 9",
        ),
        (
            (
                "        type: alertmanager",
                "        type: events_v2\n        group_by: group",
            ),
            "services[0].integrations[0]: only Alertmanager and Grafana",
        ),
        (
            ("        type: alertmanager", "        type: webhook"),
            "services[0].integrations[0]: a JSON webhook needs its 'mapping'",
        ),
        (
            (
                "shift: {unit: weeks, count: 1}",
                "shift: {unit: weeks, count: 53}",
            ),
            "schedules[0].layers[0].shift.count",
        ),
        (
            (
                "        delay_minutes: 0\n",
                "        delay_minutes: 1441\n",
            ),
            "users[0].notification_rules[0].delay_minutes",
        ),
    ] {
        let (from, to) = change;
        assert!(TEAM.contains(from), "{from}");
        let found = problems(&TEAM.replacen(from, to, 1));
        assert!(
            found.iter().any(|p| p.contains(expected)),
            "{expected} in {found:?}"
        );
    }
}

#[test]
fn what_a_document_leaves_out_stays_unless_pruned_and_some_things_always_stay() {
    let current = read(TEAM, &Known::default()).unwrap();
    let mut trimmed = current.clone();
    trimmed.users[0].contact_methods.clear();
    trimmed.users[0].notification_rules.clear();
    trimmed.schedules[0].overrides.clear();
    trimmed.services[0].integrations.clear();
    trimmed.services[0].heartbeats.clear();
    trimmed.status_pages[0].components.remove(0);
    trimmed.status_pages[0].components[0].group = None;

    // (prune, what stays of each list, notes)
    let cases: [(bool, [usize; 5], usize); 2] =
        [(false, [1, 1, 1, 1, 2], 0), (true, [0, 0, 0, 1, 2], 2)];
    for (prune, [methods, overrides, integrations, heartbeats, components], notes) in cases {
        let settled = settle(&current, &trimmed, prune, NOW);
        let doc = &settled.doc;
        let kept = [
            doc.users[0].contact_methods.len(),
            doc.schedules[0].overrides.len(),
            doc.services[0].integrations.len(),
            doc.services[0].heartbeats.len(),
            doc.status_pages[0].components.len(),
        ];
        assert_eq!(
            kept,
            [methods, overrides, integrations, heartbeats, components],
            "prune {prune}"
        );
        assert_eq!(settled.notes.len(), notes, "{:?}", settled.notes);
        // A kept component is put back where it stood.
        assert_eq!(doc.status_pages[0].components[0].name, "Regions");
    }
    let pruned = plan(&current, &trimmed, true, NOW);
    assert!(
        pruned.notes[0].starts_with("heartbeat nightly backup of service Checkout"),
        "{:?}",
        pruned.notes
    );

    // Services and status pages are never deleted: a note says each stays.
    let empty = ConfigDoc {
        version: 1,
        users: current.users.clone(),
        ..ConfigDoc::default()
    };
    let text = plan(&current, &empty, true, NOW).to_string();
    assert!(
        text.starts_with(
            "! status page acme is not in the document and stays: onduty does not delete \
             status pages (their public history stays)\n\
             ! service Checkout is not in the document and stays"
        ),
        "{text}"
    );
    assert!(!text.contains("- delete service"), "{text}");
    assert!(text.contains("- delete schedule Primary\n"), "{text}");
}

#[test]
fn a_webhook_left_out_keeps_its_own_and_what_is_over_is_not_made() {
    let current = read(TEAM, &Known::default()).unwrap();
    let mut desired = current.clone();
    desired.services[0].chat_channels[1].channel = None;
    let mut ended = desired.maintenance_windows[0].clone();
    ended.start = "2026-01-01T00:00:00Z".to_owned();
    ended.end = "2026-01-02T00:00:00Z".to_owned();
    desired.maintenance_windows.push(ended);
    let settled = settle(&current, &desired, false, NOW);
    let normal = normalize(&current);
    assert_eq!(
        settled.doc.services[0].chat_channels,
        normal.services[0].chat_channels
    );
    assert_eq!(settled.doc.maintenance_windows, normal.maintenance_windows);
    assert_eq!(
        settled.notes,
        [
            "maintenance window 2026-01-01T00:00:00.000Z to 2026-01-02T00:00:00.000Z (Checkout) is \
          over: it is not made"
        ]
    );
    assert!(plan(&current, &desired, true, NOW).is_empty());

    // A window's times changed make another window; the old one goes with prune.
    let mut moved = current.clone();
    moved.maintenance_windows[0].end = "2026-12-28T08:00:00Z".to_owned();
    let text = plan(&current, &moved, true, NOW).to_string();
    assert_eq!(
        text,
        "+ create maintenance window 2026-12-24T18:00:00.000Z to 2026-12-28T08:00:00.000Z \
         (Checkout)\n\
         - delete maintenance window 2026-12-24T18:00:00.000Z to 2026-12-27T08:00:00.000Z \
         (Checkout)\n\
         1 to create, 0 to change, 1 to delete.\n"
    );
    // The same person twice in a level is refused before anything is applied.
    let mut twice = current.clone();
    let first = twice.escalation_policies[0].levels[1].targets[0].clone();
    twice.escalation_policies[0].levels[1].targets.push(first);
    assert_eq!(
        check(&twice, &Known::default()),
        [(
            "escalation_policies[0].levels[1].targets[1]".to_owned(),
            "the level names this target twice".to_owned()
        )]
    );
    // A Slack channel needs its id; a webhook's URL may be left out.
    let mut broken = current.clone();
    broken.services[0].chat_channels[0].channel = None;
    let problems = check(&broken, &Known::default());
    assert_eq!(
        problems,
        [(
            "services[0].chat_channels[0].channel".to_owned(),
            "the channel's id is needed".to_owned()
        )]
    );
}
