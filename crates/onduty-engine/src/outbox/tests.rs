//! Bundling and the per-number gap, planned without sending.

use onduty_core::contact::{Address, ContactMethod};
use onduty_core::{IncidentId, OutboxId, UserId};

use super::*;

fn t(seconds: i64) -> Timestamp {
    Timestamp::from_millis(1_800_000_000_000 + seconds * 1000)
}

fn method(n: u128, channel: Channel, address: &str) -> ContactMethod {
    ContactMethod {
        id: ContactMethodId::from_uuid(uuid::Uuid::from_u128(n)),
        user_id: UserId::from_uuid(uuid::Uuid::from_u128(1)),
        name: "m".to_owned(),
        channel,
        address: Address::parse(channel, address).unwrap(),
        verified: true,
        failing: None,
        created_at: t(0),
    }
}

fn item(method: &ContactMethod, number: i64, notice: Option<&str>) -> OutboxItem {
    OutboxItem {
        id: OutboxId::new(t(number)),
        incident: Some(IncidentId::new(t(number))),
        number: Some(number),
        summary: format!("incident {number}"),
        service: "db".to_owned(),
        severity: "critical".to_owned(),
        urgency: "high".to_owned(),
        incident_status: None,
        user: method.user_id,
        user_name: "Alice".to_owned(),
        method: method.clone(),
        secret: None,
        attempts: 0,
        notice: notice.map(str::to_owned),
        clears: false,
    }
}

#[test]
fn pages_to_one_method_go_as_one_message_and_notices_apart() {
    let sms = method(1, Channel::Sms, "+15555550100");
    let mail = method(2, Channel::Email, "alice@example.com");
    let due = vec![
        item(&sms, 1, None),
        item(&mail, 2, None),
        item(&sms, 3, None),
        item(&sms, 4, Some("Your shift starts")),
    ];
    let planned = plan(due, &HashMap::new(), t(0));
    let mut bundles: Vec<Vec<Option<i64>>> = planned
        .send
        .iter()
        .map(|b| b.iter().map(|i| i.number).collect())
        .collect();
    bundles.sort();
    assert_eq!(
        bundles,
        vec![vec![Some(1), Some(3)], vec![Some(2)], vec![Some(4)]]
    );
    assert!(planned.wait.is_empty());
}

#[test]
fn taking_back_pushes_is_a_message_of_its_own() {
    let push = method(1, Channel::Ntfy, "https://ntfy.example/alice");
    let take_back = OutboxItem {
        clears: true,
        ..item(&push, 2, None)
    };
    let planned = plan(
        vec![item(&push, 1, None), take_back, item(&push, 3, None)],
        &HashMap::new(),
        t(0),
    );
    let mut bundles: Vec<(bool, Vec<Option<i64>>)> = planned
        .send
        .iter()
        .map(|b| (b[0].clears, b.iter().map(|i| i.number).collect()))
        .collect();
    bundles.sort();
    assert_eq!(
        bundles,
        vec![(false, vec![Some(1), Some(3)]), (true, vec![Some(2)])]
    );
}

#[test]
fn in_chat_each_incident_is_a_message_of_its_own() {
    let slack = method(1, Channel::Slack, "U0ALICE");
    let planned = plan(
        vec![item(&slack, 1, None), item(&slack, 2, None)],
        &HashMap::new(),
        t(0),
    );
    assert_eq!(planned.send.len(), 2);
}

#[test]
fn a_phone_sent_to_within_the_gap_waits_for_it_and_mail_does_not() {
    let sms = method(1, Channel::Sms, "+15555550100");
    let mail = method(2, Channel::Email, "alice@example.com");
    let last_sent = HashMap::from([(sms.id, t(-5)), (mail.id, t(-5))]);
    let planned = plan(
        vec![item(&sms, 1, None), item(&mail, 2, None)],
        &last_sent,
        t(0),
    );
    assert_eq!(planned.send.len(), 1);
    assert_eq!(planned.send[0][0].number, Some(2));
    assert_eq!(planned.wait.len(), 1);
    let hold = &planned.wait[0];
    assert_eq!(hold.until, t(10), "15 s after the last message");
    assert_eq!(hold.incidents.len(), 1);
    assert_eq!(
        hold.reason,
        "SMS to Alice +15555550100: held 10 s, since the number was sent a message 5 s ago; \
         whatever else falls due for it by then goes in the same message"
    );
    // Once the gap has passed, it goes.
    let later = plan(vec![item(&sms, 1, None)], &last_sent, t(10));
    assert_eq!(later.send.len(), 1);
}

#[test]
fn backoff_doubles_from_thirty_seconds() {
    let secs: Vec<u64> = (1..=6).map(|a| backoff(a).as_secs()).collect();
    assert_eq!(secs, [30, 60, 120, 240, 480, 480]);
}
