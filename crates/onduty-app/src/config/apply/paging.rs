//! Schedules (with their overrides) and escalation policies, as writes.

use super::*;

impl Builder<'_> {
    pub(super) fn schedule(&mut self, doc: &ScheduleDoc) {
        let Some(id) = self.ids.schedules.get(&doc.name).copied() else {
            return;
        };
        let at = format!("schedule {}", doc.name);
        let mut layers = Vec::new();
        for l in &doc.layers {
            let participants = l
                .participants
                .iter()
                .filter_map(|p| self.user_id(p))
                .collect();
            if let Some(layer) = self.ok(&at, config_doc::layer(l, participants)) {
                layers.push(layer);
            }
        }
        let (Some(name), Some(time_zone)) = (
            self.ok(&at, Name::parse(&doc.name)),
            self.ok(&at, TimeZoneName::parse(&doc.time_zone)),
        ) else {
            return;
        };
        let schedule = Schedule {
            id,
            name,
            description: doc.description.clone(),
            time_zone,
            team_id: self.team_id(doc.team.as_ref()),
            layers,
        };
        let existing = self.current.schedules.iter().find(|s| s.id == id);
        match existing {
            None => self.out.push(ConfigWrite::CreateSchedule(schedule)),
            Some(s) if *s != schedule => self.out.push(ConfigWrite::UpdateSchedule(schedule)),
            Some(_) => {}
        }
        self.overrides(id, doc, &at);
    }

    /// Overrides are matched by who covers and when.
    pub(super) fn overrides(&mut self, schedule: ScheduleId, doc: &ScheduleDoc, at: &str) {
        let existing = self
            .current
            .overrides
            .get(&schedule)
            .cloned()
            .unwrap_or_default();
        let key = |user: &str, start: Timestamp, end: Timestamp| (user.to_owned(), start, end);
        let mut wanted = Vec::new();
        for o in &doc.overrides {
            let (Some(start), Some(end)) = (
                self.ok(at, Timestamp::parse(&o.start)),
                self.ok(at, Timestamp::parse(&o.end)),
            ) else {
                continue;
            };
            wanted.push(key(&o.user, start, end));
            let there = existing.iter().any(|e| {
                key(&self.current.email(e.user), e.start, e.end) == key(&o.user, start, end)
            });
            if there {
                continue;
            }
            let Some(user) = self.user_id(&o.user) else {
                continue;
            };
            self.out.push(ConfigWrite::AddOverride {
                schedule,
                entry: Override {
                    id: self.fresh.id(OverrideId::nth),
                    user,
                    start,
                    end,
                    created_at: self.now,
                    seq: 0,
                },
            });
        }
        for e in &existing {
            if !wanted.contains(&key(&self.current.email(e.user), e.start, e.end)) {
                self.out
                    .push(ConfigWrite::DeleteOverride { schedule, id: e.id });
            }
        }
    }

    pub(super) fn policy(&mut self, doc: &PolicyDoc) {
        let Some(id) = self.ids.policies.get(&doc.name).copied() else {
            return;
        };
        let at = format!("escalation policy {}", doc.name);
        let mut levels = Vec::new();
        for l in &doc.levels {
            let mut targets = Vec::new();
            for t in &l.targets {
                let target = match t {
                    TargetDoc::User(u) => self.user_id(u).map(Target::User),
                    TargetDoc::Schedule(s) => {
                        self.ids.schedules.get(s).copied().map(Target::Schedule)
                    }
                    TargetDoc::Policy(p) => self.ids.policies.get(p).copied().map(Target::Policy),
                };
                match target {
                    Some(t) => targets.push(t),
                    None => self.problems.push(format!("{at}: no {t:?}")),
                }
            }
            levels.push(Level {
                targets,
                delay_minutes: l.delay_minutes,
                mode: l.mode,
            });
        }
        let (Some(name), Some(steps)) = (
            self.ok(&at, Name::parse(&doc.name)),
            self.ok(&at, Steps::parse(id, levels, doc.repeat)),
        ) else {
            return;
        };
        let policy = Policy {
            id,
            name,
            description: doc.description.clone(),
            team_id: self.team_id(doc.team.as_ref()),
            steps,
        };
        match self.current.policies.iter().find(|p| p.id == id) {
            None => self.out.push(ConfigWrite::CreatePolicy(policy)),
            Some(p) if *p != policy => self.out.push(ConfigWrite::UpdatePolicy(policy)),
            Some(_) => {}
        }
    }
}
