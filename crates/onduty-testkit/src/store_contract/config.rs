//! Configuration applied as one transaction (`onduty apply`).

use onduty_core::account::{AccountStatus, Team, TimeZoneName, User};
use onduty_core::schedule::Schedule;
use onduty_core::{ScheduleId, TeamId, UserId};
use onduty_store::config_writes::ConfigWrite;

use super::*;

/// A document's writes go in whole, or not at all: a refusal halfway through leaves
/// nothing of the writes before it.
pub async fn configuration_is_written_whole_or_not_at_all(db: &TestDb) {
    let store = db.store().await;
    let alice = user(&store, "Alice", Role::Responder).await;
    let ops = store
        .create_team(Name::parse("Ops").unwrap(), T0)
        .await
        .unwrap();
    let carol = User {
        id: UserId::new(T0),
        email: Email::parse("carol@example.com").unwrap(),
        name: Name::parse("Carol").unwrap(),
        role: Role::Responder,
        time_zone: TimeZoneName::utc(),
        created_at: T0,
        status: AccountStatus::Active,
    };
    let night = Team {
        id: TeamId::new(T0),
        name: Name::parse("Night").unwrap(),
        members: vec![carol.id, alice.id],
        created_at: T0,
    };
    let second_ops = Team {
        id: TeamId::new(T0),
        name: Name::parse("Ops").unwrap(),
        members: Vec::new(),
        created_at: T0,
    };
    let refused = store
        .apply_config(
            &[
                ConfigWrite::CreateUser(carol.clone()),
                ConfigWrite::CreateTeam(night.clone()),
                ConfigWrite::CreateTeam(second_ops),
            ],
            T0,
        )
        .await;
    assert!(
        matches!(&refused, Err(StoreError::Conflict(m)) if m.contains("Ops")),
        "{refused:?}"
    );
    let carol_email = carol.email.clone();
    assert!(store.user_by_email(&carol_email).await.unwrap().is_none());
    assert_eq!(store.list_teams().await.unwrap().len(), 1);

    // Whole: the person, the team with its members, a schedule owned by Ops; then Ops
    // deleted, its schedule left without a team, and Alice disabled.
    let primary = Schedule {
        id: ScheduleId::new(T0),
        name: Name::parse("Primary").unwrap(),
        description: String::new(),
        time_zone: TimeZoneName::utc(),
        team_id: Some(ops.id),
        layers: Vec::new(),
    };
    store
        .apply_config(
            &[
                ConfigWrite::CreateUser(carol.clone()),
                ConfigWrite::CreateTeam(night.clone()),
                ConfigWrite::CreateSchedule(primary.clone()),
                ConfigWrite::DeleteTeam(ops.id),
                ConfigWrite::SetDisabled {
                    user: alice.id,
                    disabled: true,
                },
            ],
            at_minute(1),
        )
        .await
        .unwrap();
    let made = store.user_by_email(&carol_email).await.unwrap().unwrap();
    assert_eq!(made.id, carol.id);
    let teams = store.list_teams().await.unwrap();
    assert_eq!(teams.len(), 1, "{teams:?}");
    let mut members = teams[0].members.clone();
    members.sort();
    let mut wanted = vec![carol.id, alice.id];
    wanted.sort();
    assert_eq!((teams[0].name.as_str(), members), ("Night", wanted));
    assert_eq!(store.schedule(primary.id).await.unwrap().team_id, None);
    assert_eq!(
        store.user(alice.id).await.unwrap().status,
        AccountStatus::Disabled
    );
    // Policies deleted together may hand over to each other; one that stays may not.
    use onduty_core::PolicyId;
    use onduty_core::escalation::{Level, LevelMode, Policy, Steps, Target};
    let policy = |name: &str, id: PolicyId, to: PolicyId| Policy {
        id,
        name: Name::parse(name).unwrap(),
        description: String::new(),
        team_id: None,
        steps: Steps::parse(
            id,
            vec![
                Level {
                    targets: vec![Target::User(carol.id)],
                    delay_minutes: 10,
                    mode: LevelMode::All,
                },
                Level {
                    targets: vec![Target::Policy(to)],
                    delay_minutes: 10,
                    mode: LevelMode::All,
                },
            ],
            0,
        )
        .unwrap(),
    };
    let (a, b, c) = (
        PolicyId::nth(T0, 1),
        PolicyId::nth(T0, 2),
        PolicyId::nth(T0, 3),
    );
    for p in [policy("A", a, b), policy("B", b, a), policy("C", c, a)] {
        store.create_policy(&p, T0).await.unwrap();
    }
    let refused = store
        .apply_config(&[ConfigWrite::DeletePolicies(vec![a, b])], at_minute(2))
        .await;
    assert!(
        matches!(&refused, Err(StoreError::Conflict(m)) if m.contains("'C' hands over")),
        "{refused:?}"
    );
    store
        .apply_config(&[ConfigWrite::DeletePolicies(vec![a, b, c])], at_minute(2))
        .await
        .unwrap();
    assert!(store.list_policies().await.unwrap().is_empty());

    // Nothing to write is no transaction at all.
    store.apply_config(&[], at_minute(2)).await.unwrap();
}
