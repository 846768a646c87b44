//! Store contract: users, API tokens, contact methods and notification rules.

use super::*;

pub async fn users_and_tokens(db: &TestDb) {
    let store = db.store().await;
    let alice = user(&store, "Alice", Role::Admin).await;
    assert_eq!(store.count_users().await.unwrap(), 1);
    let dup = store
        .create_user(
            NewUser {
                email: Email::parse("ALICE@example.com").unwrap(),
                name: Name::parse("Other Alice").unwrap(),
                role: Role::Observer,
                time_zone: onduty_core::account::TimeZoneName::utc(),
            },
            T0,
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(m)) if m.contains("alice@example.com")));

    let secret = TokenSecret::from_random([42; 20]);
    store
        .create_token(alice.id, "laptop", &secret, T0)
        .await
        .unwrap();
    let found = store
        .user_by_token(&TokenSecret::from_presented(secret.expose()))
        .await
        .unwrap();
    assert_eq!(found.map(|u| u.id), Some(alice.id));
    let wrong = store
        .user_by_token(&TokenSecret::from_random([43; 20]))
        .await
        .unwrap();
    assert!(wrong.is_none());
    assert_eq!(store.user(alice.id).await.unwrap().role, Role::Admin);
    assert_eq!(
        store
            .user_by_email(&Email::parse("alice@example.com").unwrap())
            .await
            .unwrap()
            .unwrap()
            .id,
        alice.id
    );
    assert_eq!(store.list_users().await.unwrap().len(), 1);

    // An address can change, but not to someone else's.
    let bob = user(&store, "Bob", Role::Responder).await;
    let moved = store
        .update_user(
            alice.id,
            UserPatch {
                email: Some(Email::parse("alice@example.org").unwrap()),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(moved.email.as_str(), "alice@example.org");
    let taken = store
        .update_user(
            alice.id,
            UserPatch {
                email: Some(bob.email.clone()),
                ..UserPatch::default()
            },
        )
        .await;
    assert!(matches!(taken, Err(StoreError::Conflict(m)) if m.contains("bob@example.com")));
    assert_eq!(
        store.user(alice.id).await.unwrap().email.as_str(),
        "alice@example.org"
    );
}

pub async fn contact_methods_verification_and_rules(db: &TestDb) {
    use onduty_core::contact::{Address, Channel, RuleUrgency, hash_code};
    use onduty_store::contacts::{NewContactMethod, Verification};

    let store = db.store().await;
    let alice = user(&store, "Alice", Role::Responder).await;
    let phone = store
        .create_contact_method(
            NewContactMethod {
                user_id: alice.id,
                name: "mobile".into(),
                channel: Channel::Sms,
                address: Address::parse(Channel::Sms, "+44 7700 900123").unwrap(),
                secret: None,
            },
            T0,
        )
        .await
        .unwrap();
    assert!(
        !phone.verified && !phone.can_page(),
        "SMS waits for its code"
    );
    let dup = store
        .create_contact_method(
            NewContactMethod {
                user_id: alice.id,
                name: "again".into(),
                channel: Channel::Sms,
                address: Address::parse(Channel::Sms, "+447700900123").unwrap(),
                secret: None,
            },
            T0,
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))));
    let hook = webhook(&store, alice.id).await;
    assert!(!hook.can_page(), "a webhook waits for its code too");
    assert_eq!(
        store
            .contact_method_secret(hook.id)
            .await
            .unwrap()
            .as_deref(),
        Some("whsec")
    );

    // Verification: no code yet, wrong codes, expiry, then the right code.
    assert_eq!(
        store
            .verify_contact_method(phone.id, &hash_code("1"), T0)
            .await
            .unwrap(),
        Verification::NoCode
    );
    store
        .set_verification_code(phone.id, &hash_code("424242"), at_minute(15))
        .await
        .unwrap();
    assert_eq!(
        store
            .verify_contact_method(phone.id, &hash_code("000000"), at_minute(1))
            .await
            .unwrap(),
        Verification::Wrong { attempts_left: 4 }
    );
    assert_eq!(
        store
            .verify_contact_method(phone.id, &hash_code("424242"), at_minute(16))
            .await
            .unwrap(),
        Verification::Expired
    );
    assert_eq!(
        store
            .verify_contact_method(phone.id, &hash_code("424242"), at_minute(2))
            .await
            .unwrap(),
        Verification::Verified
    );
    assert!(store.contact_method(phone.id).await.unwrap().can_page());
    // Five wrong codes use a code up.
    store
        .set_verification_code(phone.id, &hash_code("111111"), at_minute(30))
        .await
        .unwrap();
    for _ in 0..5 {
        store
            .verify_contact_method(phone.id, &hash_code("999999"), at_minute(3))
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .verify_contact_method(phone.id, &hash_code("111111"), at_minute(3))
            .await
            .unwrap(),
        Verification::NoCode
    );

    // Failing methods do not page until cleared.
    store
        .set_contact_method_failing(phone.id, Some("21211 invalid number"))
        .await
        .unwrap();
    assert!(!store.contact_method(phone.id).await.unwrap().can_page());
    store
        .set_contact_method_failing(phone.id, None)
        .await
        .unwrap();
    assert!(store.contact_method(phone.id).await.unwrap().can_page());

    // Rules, earliest first; they go with their method.
    store
        .create_rule(alice.id, phone.id, 5, RuleUrgency::High, None, T0)
        .await
        .unwrap();
    store
        .create_rule(alice.id, hook.id, 0, RuleUrgency::Both, None, T0)
        .await
        .unwrap();
    let rules = store.rules(alice.id).await.unwrap();
    assert_eq!(
        rules.iter().map(|r| r.delay_minutes).collect::<Vec<_>>(),
        [0, 5]
    );
    let bob = user(&store, "Bob", Role::Responder).await;
    let foreign = store
        .create_rule(bob.id, phone.id, 0, RuleUrgency::Both, None, T0)
        .await;
    assert!(
        matches!(foreign, Err(StoreError::NotFound(_))),
        "rules use the user's own methods"
    );
    store
        .delete_contact_method(alice.id, phone.id)
        .await
        .unwrap();
    assert_eq!(store.rules(alice.id).await.unwrap().len(), 1);
    assert_eq!(store.contact_methods(alice.id).await.unwrap().len(), 1);
    store.delete_rule(alice.id, rules[0].id).await.unwrap();
    assert!(store.rules(alice.id).await.unwrap().is_empty());
}

pub async fn a_first_password_is_replaced_by_ones_own(db: &TestDb) {
    use onduty_store::sessions::PasswordBy;
    let store = db.store().await;
    let grace = store
        .create_user_with_password(
            NewUser {
                email: Email::parse("grace@example.com").unwrap(),
                name: Name::parse("Grace").unwrap(),
                role: Role::Responder,
                time_zone: onduty_core::account::TimeZoneName::utc(),
            },
            Some("first-hash"),
            T0,
        )
        .await
        .unwrap();
    let until = at_minute(60);
    store
        .create_session("session", grace.id, "csrf", T0, until)
        .await
        .unwrap();
    let required = |store: onduty_store::Store| async move {
        let session = store.session("session", T0).await.unwrap().unwrap();
        session.password_change_required
    };
    assert!(required(store.clone()).await, "an administrator's choice");
    store
        .set_password_hash(grace.id, "own-hash", PasswordBy::Themselves)
        .await
        .unwrap();
    assert!(!required(store.clone()).await, "her own");
    store
        .set_password_hash(grace.id, "reset-hash", PasswordBy::Administrator)
        .await
        .unwrap();
    assert!(required(store.clone()).await, "reset by an administrator");
    assert_eq!(
        store.password_hash(grace.id).await.unwrap().as_deref(),
        Some("reset-hash")
    );
}
