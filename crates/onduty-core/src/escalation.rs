//! Escalation policies, and the pure decisions that walk an unacknowledged incident
//! through one: which level is reached, whom to page, when to escalate again.
//!
//! A policy is an ordered list of levels. Reaching a level pages its targets (all of
//! them, or the next one in turn for a round-robin level); if nobody acknowledges within
//! the level's delay, the next level is reached. After the last level the policy starts
//! over, `repeat` more times, then stops. A level may hand the incident over to another
//! team's policy, which then continues from its own first level.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::account::Name;
use crate::ids::{PolicyId, ScheduleId, TeamId, UserId};
use crate::time::Timestamp;

/// Most levels in a policy.
pub const MAX_LEVELS: usize = 20;
/// Most targets on a level.
pub const MAX_TARGETS: usize = 50;
/// Most repeats of a whole policy.
pub const MAX_REPEAT: u32 = 9;
/// Shortest and longest delay before the next level, in minutes (PagerDuty's minimum is 1).
pub const DELAY_MINUTES: std::ops::RangeInclusive<u32> = 1..=1440;
/// How many hand-overs to other policies one incident may take (A → B → C → D stops).
pub const MAX_HAND_OVERS: u32 = 3;

/// Who a level pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Target {
    User(UserId),
    /// Whoever is on call in the schedule when the level is reached.
    Schedule(ScheduleId),
    /// Hand the incident over to another policy, which starts from its first level.
    Policy(PolicyId),
}

/// Whether a level pages all its targets at once or one at a time in turn.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum LevelMode {
    #[default]
    All,
    /// Each time the level is reached (by any incident) the next target in turn is paged.
    RoundRobin,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Level {
    pub targets: Vec<Target>,
    /// Minutes without acknowledgement before the next level.
    pub delay_minutes: u32,
    #[serde(default)]
    pub mode: LevelMode,
}

impl Level {
    pub fn delay(&self) -> Duration {
        Duration::from_secs(u64::from(self.delay_minutes) * 60)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("a policy needs at least one level and at most {MAX_LEVELS}")]
    LevelCount,
    #[error("level {0} has no targets (at most {MAX_TARGETS})")]
    TargetCount(usize),
    #[error("level {level}: the delay must be 1 to 1440 minutes, not {minutes}")]
    Delay { level: usize, minutes: u32 },
    #[error("repeat must be 0 to {MAX_REPEAT}, not {0}")]
    Repeat(u32),
    #[error("level {0} hands over to more than one policy")]
    SeveralHandOvers(usize),
    #[error("level {0} is round-robin, so it cannot hand over to a policy")]
    RoundRobinHandOver(usize),
    #[error("level {0} hands over to the policy itself")]
    HandOverToItself(usize),
    #[error("level {0} names the same target twice")]
    DuplicateTarget(usize),
}

/// Levels and repeat count that make a valid policy (parsed once, at the edge).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Steps {
    levels: Vec<Level>,
    repeat: u32,
}

impl Steps {
    /// Checks levels and repeat count for the policy `own` (to refuse a hand-over to itself).
    pub fn parse(own: PolicyId, levels: Vec<Level>, repeat: u32) -> Result<Steps, PolicyError> {
        if levels.is_empty() || levels.len() > MAX_LEVELS {
            return Err(PolicyError::LevelCount);
        }
        if repeat > MAX_REPEAT {
            return Err(PolicyError::Repeat(repeat));
        }
        for (i, level) in levels.iter().enumerate() {
            let n = i + 1;
            if level.targets.is_empty() || level.targets.len() > MAX_TARGETS {
                return Err(PolicyError::TargetCount(n));
            }
            if !DELAY_MINUTES.contains(&level.delay_minutes) {
                return Err(PolicyError::Delay {
                    level: n,
                    minutes: level.delay_minutes,
                });
            }
            let hand_overs: Vec<PolicyId> = level
                .targets
                .iter()
                .filter_map(|t| match t {
                    Target::Policy(p) => Some(*p),
                    _ => None,
                })
                .collect();
            if hand_overs.len() > 1 {
                return Err(PolicyError::SeveralHandOvers(n));
            }
            if !hand_overs.is_empty() && level.mode == LevelMode::RoundRobin {
                return Err(PolicyError::RoundRobinHandOver(n));
            }
            if hand_overs.contains(&own) {
                return Err(PolicyError::HandOverToItself(n));
            }
            let mut seen = level.targets.clone();
            seen.sort_by_key(|t| format!("{t:?}"));
            seen.dedup();
            if seen.len() != level.targets.len() {
                return Err(PolicyError::DuplicateTarget(n));
            }
        }
        Ok(Steps { levels, repeat })
    }

    pub fn levels(&self) -> &[Level] {
        &self.levels
    }

    /// How many more times the whole policy runs after its first pass.
    pub fn repeat(&self) -> u32 {
        self.repeat
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub id: PolicyId,
    pub name: Name,
    pub description: String,
    pub team_id: Option<TeamId>,
    pub steps: Steps,
}

/// Where an incident stands in its escalation. Levels and rounds count from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub policy: PolicyId,
    pub level: u32,
    /// 0 on the first pass through the policy, 1 on the first repeat, …
    pub round: u32,
    /// Hand-overs to other policies so far.
    pub hand_overs: u32,
}

/// A round-robin level's pointer after it paged someone: store it for the next incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    pub policy: PolicyId,
    pub level: u32,
    pub next: u32,
}

/// What reaching a level means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reached {
    pub position: Position,
    /// Users and schedules to page now.
    pub page: Vec<Target>,
    /// When to escalate further if nobody acknowledges.
    pub escalate_at: Timestamp,
    /// For a round-robin level: the pointer to keep.
    pub rotation: Option<Rotation>,
    /// The level hands the incident over to this policy: the engine continues there with
    /// [`enter`] at its first level (also paging now), if hand-overs remain.
    pub hand_over: Option<PolicyId>,
}

/// Reaches `level` of `policy` in `round` at `now`. `pointer` is the round-robin
/// pointer stored for this level (ignored by levels that page everyone).
pub fn enter(
    policy: &Policy,
    level: u32,
    round: u32,
    hand_overs: u32,
    pointer: u32,
    now: Timestamp,
) -> Reached {
    let levels = policy.steps.levels();
    let index = (level as usize).min(levels.len() - 1);
    let lvl = &levels[index];
    let people: Vec<Target> = lvl
        .targets
        .iter()
        .copied()
        .filter(|t| !matches!(t, Target::Policy(_)))
        .collect();
    let hand_over = lvl.targets.iter().find_map(|t| match t {
        Target::Policy(p) => Some(*p),
        _ => None,
    });
    let (page, rotation) = match lvl.mode {
        LevelMode::All => (people, None),
        LevelMode::RoundRobin => {
            let at = pointer as usize % people.len().max(1);
            let next = ((at + 1) % people.len().max(1)) as u32;
            (
                people.get(at).copied().into_iter().collect(),
                Some(Rotation {
                    policy: policy.id,
                    level: index as u32,
                    next,
                }),
            )
        }
    };
    Reached {
        position: Position {
            policy: policy.id,
            level: index as u32,
            round,
            hand_overs,
        },
        page,
        escalate_at: now.saturating_add(lvl.delay()),
        rotation,
        hand_over: hand_over.filter(|_| hand_overs < MAX_HAND_OVERS),
    }
}

/// The level (and round) that follows `at` when its delay passes unacknowledged, or
/// `None` when the policy and all its repeats are exhausted.
pub fn next(policy: &Policy, at: &Position) -> Option<(u32, u32)> {
    let last = policy.steps.levels().len() as u32 - 1;
    if at.level < last {
        Some((at.level + 1, at.round))
    } else if at.round < policy.steps.repeat() {
        Some((0, at.round + 1))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(min: i64) -> Timestamp {
        Timestamp::from_millis(min * 60_000)
    }

    fn user(n: u8) -> Target {
        Target::User(UserId::from_uuid(uuid::Uuid::from_bytes([n; 16])))
    }

    fn policy(levels: Vec<Level>, repeat: u32) -> Policy {
        let id = PolicyId::from_uuid(uuid::Uuid::from_bytes([200; 16]));
        Policy {
            id,
            name: Name::parse("Ops").unwrap(),
            description: String::new(),
            team_id: None,
            steps: Steps::parse(id, levels, repeat).unwrap(),
        }
    }

    fn level(targets: Vec<Target>, delay_minutes: u32, mode: LevelMode) -> Level {
        Level {
            targets,
            delay_minutes,
            mode,
        }
    }

    #[test]
    fn levels_are_reached_in_order_then_repeated_then_exhausted() {
        let p = policy(
            vec![
                level(vec![user(1)], 30, LevelMode::All),
                level(vec![user(2), user(3)], 15, LevelMode::All),
            ],
            1,
        );
        let first = enter(&p, 0, 0, 0, 0, t(0));
        assert_eq!(first.page, vec![user(1)]);
        assert_eq!(first.escalate_at, t(30));
        assert_eq!(next(&p, &first.position), Some((1, 0)));
        let second = enter(&p, 1, 0, 0, 0, first.escalate_at);
        assert_eq!(second.page, vec![user(2), user(3)]);
        assert_eq!(second.escalate_at, t(45));
        assert_eq!(next(&p, &second.position), Some((0, 1)), "repeat once");
        let again = enter(&p, 0, 1, 0, 0, t(45));
        assert_eq!(next(&p, &again.position), Some((1, 1)));
        let last = enter(&p, 1, 1, 0, 0, t(75));
        assert_eq!(next(&p, &last.position), None, "then stop");
    }

    #[test]
    fn round_robin_pages_one_target_in_turn() {
        let p = policy(
            vec![level(
                vec![user(1), user(2), user(3)],
                10,
                LevelMode::RoundRobin,
            )],
            0,
        );
        let mut pointer = 0;
        let mut paged = Vec::new();
        for _ in 0..4 {
            let r = enter(&p, 0, 0, 0, pointer, t(0));
            paged.push(r.page[0]);
            pointer = r.rotation.unwrap().next;
        }
        assert_eq!(paged, vec![user(1), user(2), user(3), user(1)]);
        // A stale pointer (the level shrank) still lands on a target.
        assert_eq!(enter(&p, 0, 0, 0, 17, t(0)).page, vec![user(3)]);
    }

    #[test]
    fn a_level_can_hand_over_to_another_policy_a_bounded_number_of_times() {
        let other = PolicyId::from_uuid(uuid::Uuid::from_bytes([9; 16]));
        let p = policy(
            vec![level(
                vec![user(1), Target::Policy(other)],
                5,
                LevelMode::All,
            )],
            0,
        );
        let r = enter(&p, 0, 0, 0, 0, t(0));
        assert_eq!(r.page, vec![user(1)], "people on the level are paged too");
        assert_eq!(r.hand_over, Some(other));
        let tired = enter(&p, 0, 0, MAX_HAND_OVERS, 0, t(0));
        assert_eq!(
            tired.hand_over, None,
            "no endless ping-pong between policies"
        );
    }

    #[test]
    fn invalid_policies_are_refused_with_a_reason() {
        let own = PolicyId::from_uuid(uuid::Uuid::from_bytes([200; 16]));
        let other = Target::Policy(PolicyId::from_uuid(uuid::Uuid::from_bytes([9; 16])));
        let cases = [
            (vec![], 0, PolicyError::LevelCount),
            (
                vec![level(vec![], 5, LevelMode::All)],
                0,
                PolicyError::TargetCount(1),
            ),
            (
                vec![level(vec![user(1)], 0, LevelMode::All)],
                0,
                PolicyError::Delay {
                    level: 1,
                    minutes: 0,
                },
            ),
            (
                vec![level(vec![user(1)], 5, LevelMode::All)],
                10,
                PolicyError::Repeat(10),
            ),
            (
                vec![level(vec![user(1), other], 5, LevelMode::RoundRobin)],
                0,
                PolicyError::RoundRobinHandOver(1),
            ),
            (
                vec![level(vec![Target::Policy(own)], 5, LevelMode::All)],
                0,
                PolicyError::HandOverToItself(1),
            ),
            (
                vec![level(vec![user(1), user(1)], 5, LevelMode::All)],
                0,
                PolicyError::DuplicateTarget(1),
            ),
        ];
        for (levels, repeat, expected) in cases {
            assert_eq!(Steps::parse(own, levels, repeat), Err(expected));
        }
    }

    #[test]
    fn targets_serialize_with_their_kind() {
        let json = serde_json::to_string(&user(1)).unwrap();
        assert_eq!(
            json,
            r#"{"type":"user","id":"01010101-0101-0101-0101-010101010101"}"#
        );
    }
}
