//! Store contract: schedules, overrides and calendar feeds.

use onduty_core::OverrideId;
use onduty_core::account::TimeZoneName;
use onduty_core::schedule::{Layer, Override, Schedule, ShiftLength, on_call_at};
use onduty_core::{ScheduleId, UserId};
use uuid::Uuid;

use super::*;

/// "Ops rota": the people take weekly turns from 1 June 2026.
fn ops_rota(people: Vec<UserId>) -> Schedule {
    Schedule {
        id: ScheduleId::new(T0),
        name: Name::parse("Ops rota").unwrap(),
        description: String::new(),
        time_zone: TimeZoneName::parse("Europe/London").unwrap(),
        team_id: None,
        layers: vec![Layer {
            name: "Primary".to_owned(),
            participants: people,
            start: "2026-06-01T09:00".parse().unwrap(),
            shift: ShiftLength::Weeks(1),
            restrictions: Vec::new(),
        }],
    }
}

/// `user` covers minutes `from` to `to` after T0; made at T0, with this id.
fn cover(id: u128, user: UserId, from: i64, to: i64) -> Override {
    Override {
        id: OverrideId::from_uuid(Uuid::from_u128(id)),
        user,
        start: at_minute(from),
        end: at_minute(to),
        created_at: T0,
        seq: 0,
    }
}

/// Two overrides made in the same millisecond over the same span: the one added second
/// wins, whichever id is the greater.
pub async fn the_override_added_last_wins_within_a_millisecond(db: &TestDb) {
    let store = db.store().await;
    let alice = user(&store, "Alice", Role::Responder).await;
    let bob = user(&store, "Bob", Role::Responder).await;
    let rota = ops_rota(vec![alice.id]);
    store.create_schedule(&rota, T0).await.unwrap();
    for (first, second, at) in [(u128::MAX, 1, 150), (2, u128::MAX - 1, 350)] {
        for (id, who) in [(first, alice.id), (second, bob.id)] {
            store
                .add_override(rota.id, &cover(id, who, at - 50, at + 50))
                .await
                .unwrap();
        }
        let overrides = store.overrides(rota.id, None).await.unwrap();
        assert_eq!(
            on_call_at(&rota.rota(overrides), at_minute(at)),
            [bob.id],
            "the override added second wins"
        );
    }
}

/// Overrides stored before they were numbered are numbered by when they were made, then
/// by id (the order that decided between them before), and new ones come after them.
pub async fn overrides_stored_before_numbering_keep_their_order(db: &TestDb) {
    let folder = format!(
        "{}/../onduty-store/migrations/{}",
        env!("CARGO_MANIFEST_DIR"),
        db.backend.as_str()
    );
    let migrations = sqlx::migrate::Migrator::new(std::path::Path::new(&folder))
        .await
        .unwrap();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&db.url)
        .await
        .unwrap();
    migrations.run_to(12, &mut conn).await.unwrap();
    let store = Store::connect(&db.url, &Default::default()).await.unwrap();
    // People as that schema holds them (today's store writes columns it lacks).
    let mut people = Vec::new();
    for name in ["Alice", "Bob", "Carol"] {
        let id = UserId::new(T0);
        db.execute(&format!(
            "INSERT INTO users (id, email, name, role, time_zone, created_at) \
             VALUES ('{id}', '{}@example.com', '{name}', 'responder', 'UTC', {})",
            name.to_lowercase(),
            T0.as_millis()
        ))
        .await;
        people.push(id);
    }
    let [alice, bob, carol] = [people[0], people[1], people[2]];
    let rota = ops_rota(vec![alice]);
    store.create_schedule(&rota, T0).await.unwrap();
    // Bob's and Carol's were made in the same millisecond, after Alice's; Carol's id is
    // the greater.
    for (id, who, made) in [
        ("ffffffff-0000-7000-8000-000000000000", alice, 2),
        ("00000000-0000-7000-8000-000000000000", bob, 3),
        ("80000000-0000-7000-8000-000000000000", carol, 3),
    ] {
        db.execute(&format!(
            "INSERT INTO schedule_overrides (id, schedule_id, user_id, start_at, end_at, created_at) \
             VALUES ('{id}', '{}', '{who}', {}, {}, {})",
            rota.id,
            at_minute(100).as_millis(),
            at_minute(200).as_millis(),
            at_minute(made).as_millis(),
        ))
        .await;
    }
    store.migrate().await.unwrap();
    let mut stored = store.overrides(rota.id, None).await.unwrap();
    stored.sort_by_key(|o| o.seq);
    let made: Vec<UserId> = stored.iter().map(|o| o.user).collect();
    assert_eq!(made, [alice, bob, carol]);
    assert_eq!(on_call_at(&rota.rota(stored), at_minute(150)), [carol]);
    // Made with the smallest id and an earlier time, a new override still wins.
    store
        .add_override(rota.id, &cover(0, alice, 120, 180))
        .await
        .unwrap();
    let stored = store.overrides(rota.id, None).await.unwrap();
    assert_eq!(on_call_at(&rota.rota(stored), at_minute(150)), [alice]);
}

pub async fn schedules_overrides_and_calendar_secrets(db: &TestDb) {
    use onduty_core::PolicyId;
    use onduty_core::escalation::{Level, LevelMode, Policy, Steps, Target};
    use onduty_core::schedule::Window;

    let store = db.store().await;
    let alice = user(&store, "Alice", Role::Responder).await;
    let bob = user(&store, "Bob", Role::Responder).await;
    let mut rota = ops_rota(vec![alice.id, bob.id]);
    store.create_schedule(&rota, T0).await.unwrap();
    let same_name = Schedule {
        id: ScheduleId::new(at_minute(1)),
        ..rota.clone()
    };
    let taken = store.create_schedule(&same_name, T0).await;
    assert!(matches!(taken, Err(StoreError::Conflict(m)) if m.contains("Ops rota")));
    assert_eq!(store.schedule(rota.id).await.unwrap(), rota);
    assert_eq!(
        store
            .schedule_by_name("Ops rota")
            .await
            .unwrap()
            .unwrap()
            .id,
        rota.id
    );
    assert_eq!(store.list_schedules().await.unwrap(), vec![rota.clone()]);
    // A change made by another instance is seen (listing keeps what it parsed until the
    // schedule's revision moves).
    let other = db.store().await;
    rota.layers[0].shift = ShiftLength::Days(1);
    other.update_schedule(&rota, at_minute(2)).await.unwrap();
    assert_eq!(store.list_schedules().await.unwrap(), vec![rota.clone()]);
    let second = Schedule {
        id: ScheduleId::new(at_minute(3)),
        name: Name::parse("Another rota").unwrap(),
        ..rota.clone()
    };
    other.create_schedule(&second, at_minute(3)).await.unwrap();
    let names: Vec<String> = store
        .list_schedules()
        .await
        .unwrap()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(names, ["Another rota", "Ops rota"]);
    other.delete_schedule(second.id).await.unwrap();
    assert_eq!(store.list_schedules().await.unwrap(), vec![rota.clone()]);

    // Overrides: only those overlapping the window come back.
    let cover = |n: u8, from: i64, to: i64| Override {
        id: OverrideId::new(at_minute(n.into())),
        user: bob.id,
        start: at_minute(from),
        end: at_minute(to),
        created_at: at_minute(n.into()),
        seq: 0,
    };
    let mut early = cover(3, 100, 200);
    let mut late = cover(4, 300, 400);
    early.seq = store.add_override(rota.id, &early).await.unwrap();
    late.seq = store.add_override(rota.id, &late).await.unwrap();
    assert!(late.seq > early.seq, "numbered in the order they were made");
    let window = Window::new(at_minute(150), at_minute(250)).unwrap();
    assert_eq!(
        store.overrides(rota.id, Some(window)).await.unwrap(),
        vec![early.clone()]
    );
    assert_eq!(store.overrides(rota.id, None).await.unwrap().len(), 2);
    let everywhere = store
        .all_overrides(Window::new(at_minute(0), at_minute(1000)).unwrap())
        .await
        .unwrap();
    assert_eq!(everywhere[&rota.id].len(), 2);
    let moved = Override {
        user: alice.id,
        start: at_minute(500),
        end: at_minute(600),
        ..late.clone()
    };
    store.update_override(rota.id, &moved).await.unwrap();
    assert_eq!(
        store.overrides(rota.id, None).await.unwrap()[1].user,
        alice.id
    );
    store.delete_override(rota.id, early.id).await.unwrap();
    assert!(matches!(
        store.delete_override(rota.id, early.id).await,
        Err(StoreError::NotFound(_))
    ));

    // Calendar secrets: found by their secret, replaced on rotation.
    let secret = store.schedule_feed_token(rota.id).await.unwrap();
    assert_eq!(
        store
            .schedule_by_feed_token(&secret)
            .await
            .unwrap()
            .unwrap()
            .id,
        rota.id
    );
    let rotated = store.rotate_schedule_feed_token(rota.id).await.unwrap();
    assert_ne!(rotated, secret);
    assert!(
        store
            .schedule_by_feed_token(&secret)
            .await
            .unwrap()
            .is_none()
    );
    let mine = store.user_feed_token(alice.id).await.unwrap();
    assert_eq!(
        store.user_feed_token(alice.id).await.unwrap(),
        mine,
        "stable"
    );
    assert_eq!(
        store.user_by_feed_token(&mine).await.unwrap(),
        Some(alice.id)
    );
    let fresh = store.rotate_user_feed_token(alice.id).await.unwrap();
    assert_ne!(fresh, mine);
    assert_eq!(store.user_by_feed_token(&mine).await.unwrap(), None);

    // A schedule a policy pages cannot be deleted; otherwise it goes with its overrides.
    let ops = Policy {
        id: PolicyId::new(T0),
        name: Name::parse("Ops").unwrap(),
        description: String::new(),
        team_id: None,
        steps: Steps::parse(
            PolicyId::new(T0),
            vec![Level {
                targets: vec![Target::Schedule(rota.id)],
                delay_minutes: 30,
                mode: LevelMode::All,
            }],
            0,
        )
        .unwrap(),
    };
    store.create_policy(&ops, T0).await.unwrap();
    let refused = store.delete_schedule(rota.id).await;
    assert!(matches!(refused, Err(StoreError::Conflict(m)) if m.contains("Ops")));
    store.delete_policy(ops.id).await.unwrap();
    store.delete_schedule(rota.id).await.unwrap();
    assert!(matches!(
        store.schedule(rota.id).await,
        Err(StoreError::NotFound(_))
    ));
}

/// Time zones stored before names were checked against onduty's own database (as typed,
/// or the machine's `localtime`) are read as that database spells them, or as UTC: lists
/// load whatever a row holds.
pub async fn time_zones_stored_before_checking_are_read_leniently(db: &TestDb) {
    let store = db.store().await;
    let alice = user(&store, "Alice", Role::Responder).await;
    let rota = ops_rota(vec![alice.id]);
    store.create_schedule(&rota, T0).await.unwrap();
    db.execute(&format!(
        "UPDATE users SET time_zone = 'localtime' WHERE id = '{}'",
        alice.id
    ))
    .await;
    db.execute(&format!(
        "UPDATE schedules SET time_zone = 'europe/london', revision = revision + 1 WHERE id = '{}'",
        rota.id
    ))
    .await;
    let people = store.list_users().await.unwrap();
    assert_eq!(people[0].time_zone, TimeZoneName::utc());
    assert_eq!(
        store.user(alice.id).await.unwrap().time_zone,
        TimeZoneName::utc()
    );
    let schedules = store.list_schedules().await.unwrap();
    assert_eq!(schedules[0].time_zone.as_str(), "Europe/London");
}
