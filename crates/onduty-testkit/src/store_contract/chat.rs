//! Store contract: chat channels and the message each incident has in each, kept in step
//! with the incident by its own transactions; chat accounts linked to users.

use onduty_core::account::Role;
use onduty_core::chat::{ChatPlatform, ChatScope};
use onduty_core::incident::{DedupMode, IncidentStatus};
use onduty_store::chat::ChatPostResult;

use super::{accepted, one};
use crate::db::TestDb;
use crate::fixtures::{acknowledge, at_minute, service, trigger, user};

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
    assert_eq!((post.message_ref.clone(), post.changes), (None, 1));

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
    assert_eq!(due[0].changes, 2);

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
