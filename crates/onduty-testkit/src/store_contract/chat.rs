//! Store contract: chat channels and the message each incident has in each, kept in step
//! with the incident by its own transactions; pages sent as direct messages, kept in step
//! the same way; chat accounts linked to users.

use onduty_core::OutboxId;
use onduty_core::account::Role;
use onduty_core::chat::{ChatPlatform, ChatScope};
use onduty_core::contact::{Address, Channel};
use onduty_core::incident::{DedupMode, IncidentStatus};
use onduty_store::chat::{ChatPostResult, PostPlace};
use onduty_store::contacts::NewContactMethod;
use onduty_store::direct_posts::PostedDirect;
use onduty_store::paging::{Delivery, OutboxItem, SentGroup};

use super::{accepted, by_number, number, one};
use crate::db::TestDb;
use crate::fixtures::{acknowledge, at_minute, resolve, service, trigger, user};

pub async fn chat_messages_follow_their_incidents(db: &TestDb) {
    let store = db.store().await;
    let web = service(&store, "Web", DedupMode::Open).await;
    let other = service(&store, "Other", DedupMode::Open).await;
    // An incident opened before the channel is attached is not posted.
    accepted(one(&store, trigger(web.key(), "old", "before", at_minute(0))).await);
    let channel = store
        .add_chat_channel(
            ChatScope::Service(web.service.id),
            ChatPlatform::Slack,
            "C0OPS",
            at_minute(1),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .chat_channels(ChatScope::Service(web.service.id))
            .await
            .unwrap(),
        vec![channel.clone()]
    );
    for (svc, key, summary) in [(&web, "disk", "disk full"), (&other, "cpu", "not ours")] {
        accepted(one(&store, trigger(svc.key(), key, summary, at_minute(2))).await);
    }
    let due = store.due_chat_posts(at_minute(2), 10).await.unwrap();
    assert_eq!(due.len(), 1, "{due:?}");
    let post = &due[0];
    assert_eq!(
        (post.summary.as_str(), post.channel.as_str(), post.status),
        ("disk full", "C0OPS", IncidentStatus::Triggered)
    );
    assert_eq!(post.message_ref, None);
    assert!(
        matches!(post.place, PostPlace::Channel { id, changes: 1 } if id == channel.id),
        "{post:?}"
    );

    // Posted: nothing is due until the incident changes.
    let shown = ChatPostResult::Shown {
        message_ref: Some("1700000000.000001".to_owned()),
    };
    store
        .record_chat_posts(&[(post.clone(), shown, String::new())], at_minute(2))
        .await
        .unwrap();
    assert!(
        store
            .due_chat_posts(at_minute(3), 10)
            .await
            .unwrap()
            .is_empty()
    );
    accepted(one(&store, acknowledge(web.key(), "disk", at_minute(4))).await);
    let due = store.due_chat_posts(at_minute(4), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].status, IncidentStatus::Acknowledged);
    assert_eq!(due[0].message_ref.as_deref(), Some("1700000000.000001"));
    assert!(matches!(
        due[0].place,
        PostPlace::Channel { changes: 2, .. }
    ));

    // A retry waits; a refusal marks the channel failing and stops it.
    let retry = ChatPostResult::Retry {
        error: "503".to_owned(),
        at: at_minute(6),
        counted: true,
    };
    store
        .record_chat_posts(&[(due[0].clone(), retry, "line".to_owned())], at_minute(4))
        .await
        .unwrap();
    assert!(
        store
            .due_chat_posts(at_minute(5), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let due = store.due_chat_posts(at_minute(6), 10).await.unwrap();
    assert_eq!(due[0].attempts, 1);
    let refused = ChatPostResult::Refused {
        error: "not_in_channel".to_owned(),
    };
    store
        .record_chat_posts(
            &[(due[0].clone(), refused, "refused".to_owned())],
            at_minute(6),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .chat_channel(channel.id)
            .await
            .unwrap()
            .failing
            .as_deref(),
        Some("not_in_channel")
    );
    accepted(one(&store, trigger(web.key(), "mem", "memory", at_minute(7))).await);
    assert!(
        store
            .due_chat_posts(at_minute(7), 10)
            .await
            .unwrap()
            .is_empty(),
        "a failing channel gets nothing"
    );
    store.revive_chat_channel(channel.id).await.unwrap();
    assert_eq!(
        store.due_chat_posts(at_minute(7), 10).await.unwrap().len(),
        1
    );
    store.delete_chat_channel(channel.id).await.unwrap();
    assert!(
        store
            .due_chat_posts(at_minute(8), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Chat accounts: linked once, to one user at a time.
    let alice = user(&store, "Alice", Role::Responder).await;
    let bob = user(&store, "Bob", Role::Responder).await;
    assert_eq!(
        store.chat_user(ChatPlatform::Slack, "U1").await.unwrap(),
        None
    );
    store
        .link_chat_user(ChatPlatform::Slack, "U1", alice.id, at_minute(9))
        .await
        .unwrap();
    store
        .link_chat_user(ChatPlatform::Slack, "U1", bob.id, at_minute(9))
        .await
        .unwrap();
    assert_eq!(
        store.chat_user(ChatPlatform::Slack, "U1").await.unwrap(),
        Some(bob.id)
    );

    // One-time link codes: a newer one replaces the older, each works once, in time.
    store
        .add_link_code(ChatPlatform::Telegram, alice.id, "hash-1", at_minute(25))
        .await
        .unwrap();
    store
        .add_link_code(ChatPlatform::Telegram, alice.id, "hash-2", at_minute(25))
        .await
        .unwrap();
    let take = |hash: &'static str, minute| {
        let store = store.clone();
        async move {
            store
                .take_link_code(ChatPlatform::Telegram, hash, at_minute(minute))
                .await
                .unwrap()
        }
    };
    assert_eq!(take("hash-1", 10).await, None, "replaced");
    assert_eq!(take("hash-2", 10).await, Some(alice.id));
    assert_eq!(take("hash-2", 10).await, None, "used up");
    store
        .add_link_code(ChatPlatform::Telegram, bob.id, "hash-3", at_minute(25))
        .await
        .unwrap();
    assert_eq!(take("hash-3", 26).await, None, "expired");
}

pub async fn direct_messages_follow_their_incidents(db: &TestDb) {
    let store = db.store().await;
    let web = service(&store, "Web", DedupMode::Open).await;
    let alice = user(&store, "Alice", Role::Responder).await;
    let slack = store
        .create_contact_method(
            NewContactMethod {
                user_id: alice.id,
                name: "Slack".into(),
                channel: Channel::Slack,
                address: Address::parse(Channel::Slack, "U0ALICE").unwrap(),
                secret: None,
            },
            at_minute(0),
        )
        .await
        .unwrap();
    let opened = accepted(
        one(
            &store,
            trigger(web.key(), "disk", "disk full", at_minute(1)),
        )
        .await,
    );
    let n = number(&opened.outcome);
    let incident = store.incident(by_number(n)).await.unwrap().id;
    let page = OutboxItem {
        id: OutboxId::new(at_minute(1)),
        incident: Some(incident),
        number: Some(n.0),
        summary: "disk full".into(),
        service: "Web".into(),
        severity: "critical".into(),
        urgency: "high".into(),
        incident_status: Some(IncidentStatus::Triggered),
        user: alice.id,
        user_name: "Alice".into(),
        method: slack.clone(),
        secret: None,
        attempts: 0,
        notice: None,
        clears: false,
    };
    let sent = Delivery::Sent {
        provider_ref: None,
        posts: vec![PostedDirect {
            incident,
            channel: "D0ALICE".into(),
            message_ref: "1700000000.000001".into(),
        }],
    };
    let group = SentGroup {
        items: vec![page],
        delivery: sent,
        line: "Slack to Alice: sent".into(),
    };
    store
        .record_deliveries(&[group], at_minute(1))
        .await
        .unwrap();
    // It shows the incident triggered, as it is: nothing is due.
    assert!(
        store
            .due_direct_posts(at_minute(2), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Acknowledged by any door: the message is due, with where it is and whose it is.
    accepted(one(&store, acknowledge(web.key(), "disk", at_minute(3))).await);
    let due = store.due_direct_posts(at_minute(3), 10).await.unwrap();
    assert_eq!(due.len(), 1, "{due:?}");
    let post = &due[0];
    assert_eq!(
        (
            post.platform,
            post.channel.as_str(),
            post.message_ref.as_deref(),
            post.status
        ),
        (
            ChatPlatform::Slack,
            "D0ALICE",
            Some("1700000000.000001"),
            IncidentStatus::Acknowledged
        )
    );
    assert_eq!(
        post.place,
        PostPlace::Direct {
            method: slack.id,
            person: "Alice".into()
        }
    );
    assert_eq!(
        store.next_paging_deadline().await.unwrap(),
        Some(at_minute(1)),
        "the engine is woken for it"
    );

    // A retry waits; once shown, nothing is due until the status changes again.
    let retry = ChatPostResult::Retry {
        error: "503".into(),
        at: at_minute(5),
        counted: true,
    };
    store
        .record_chat_posts(&[(post.clone(), retry, "line".into())], at_minute(3))
        .await
        .unwrap();
    assert!(
        store
            .due_direct_posts(at_minute(4), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let due = store.due_direct_posts(at_minute(5), 10).await.unwrap();
    assert_eq!(due[0].attempts, 1);
    let shown = ChatPostResult::Shown { message_ref: None };
    store
        .record_chat_posts(
            &[(due[0].clone(), shown.clone(), String::new())],
            at_minute(5),
        )
        .await
        .unwrap();
    assert!(
        store
            .due_direct_posts(at_minute(6), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Resolved and shown so: the message is done with.
    accepted(one(&store, resolve(web.key(), "disk", at_minute(7))).await);
    let due = store.due_direct_posts(at_minute(7), 10).await.unwrap();
    assert_eq!(due[0].status, IncidentStatus::Resolved);
    store
        .record_chat_posts(&[(due[0].clone(), shown, String::new())], at_minute(7))
        .await
        .unwrap();
    assert_eq!(store.next_paging_deadline().await.unwrap(), None);
    assert!(
        store
            .due_direct_posts(at_minute(60), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn a_callback_is_seen_once_per_sender(db: &TestDb) {
    use std::time::Duration;
    let store = db.store().await;
    let ten_minutes = Duration::from_secs(600);
    let first = |source: &'static str, key: &'static str, minute: i64| {
        let store = store.clone();
        async move {
            store
                .first_sighting(source, key, at_minute(minute), ten_minutes)
                .await
                .unwrap()
        }
    };
    assert!(first("slack", "v0=abc", 0).await, "first time");
    assert!(!first("slack", "v0=abc", 1).await, "a replay");
    assert!(first("slack", "v0=abd", 1).await, "another request");
    assert!(
        first("telegram", "v0=abc", 1).await,
        "the same key from another sender"
    );
    // A long-lived sender's keys are not forgotten on a short-lived sender's schedule.
    assert!(
        store
            .first_sighting(
                "mattermost",
                "trigger-1",
                at_minute(1),
                Duration::from_secs(86_400)
            )
            .await
            .unwrap()
    );
    assert!(first("slack", "v0=abe", 20).await);
    assert!(
        !store
            .first_sighting(
                "mattermost",
                "trigger-1",
                at_minute(21),
                Duration::from_secs(86_400)
            )
            .await
            .unwrap(),
        "still remembered after a Slack request cleared Slack's old ones"
    );
    // Once it could no longer be replayed, it is forgotten.
    assert!(
        first("slack", "v0=abc", 20).await,
        "forgotten after ten minutes"
    );
}

pub async fn channels_follow_a_group_to_its_new_id(db: &TestDb) {
    let store = db.store().await;
    let web = service(&store, "Web", DedupMode::Open).await;
    let attach = |platform, id: &'static str| {
        let store = store.clone();
        async move {
            store
                .add_chat_channel(
                    ChatScope::Service(web.service.id),
                    platform,
                    id,
                    at_minute(0),
                )
                .await
                .unwrap()
        }
    };
    let group = attach(ChatPlatform::Telegram, "-42").await;
    let slack = attach(ChatPlatform::Slack, "-42").await;
    accepted(
        one(
            &store,
            trigger(web.key(), "disk", "disk full", at_minute(1)),
        )
        .await,
    );
    let due = store.due_chat_posts(at_minute(1), 10).await.unwrap();
    let in_group = due
        .iter()
        .find(|p| p.platform == ChatPlatform::Telegram)
        .unwrap()
        .clone();
    // Refused with the group's new id: both the message and the channel follow.
    let moved = ChatPostResult::Moved {
        to: "-100042".to_owned(),
    };
    store
        .record_chat_posts(&[(in_group, moved, "moved".to_owned())], at_minute(1))
        .await
        .unwrap();
    assert_eq!(
        store.chat_channel(group.id).await.unwrap().channel,
        "-100042"
    );
    assert_eq!(
        store.chat_channel(slack.id).await.unwrap().channel,
        "-42",
        "another platform's"
    );
    let due = store.due_chat_posts(at_minute(1), 10).await.unwrap();
    let again = due
        .iter()
        .find(|p| p.platform == ChatPlatform::Telegram)
        .unwrap();
    assert_eq!(
        (again.channel.as_str(), again.message_ref.as_deref()),
        ("-100042", None)
    );

    // Told so by the platform: every channel attached to the old id follows, none other.
    assert_eq!(
        store
            .move_chat_channels(ChatPlatform::Telegram, "-100042", "-200042", at_minute(2))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .move_chat_channels(ChatPlatform::Telegram, "-7", "-8", at_minute(2))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store.chat_channel(group.id).await.unwrap().channel,
        "-200042"
    );
}
