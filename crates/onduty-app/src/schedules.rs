//! Managing on-call schedules: layers, overrides (covering for someone), calendar feeds,
//! and whether a person is told about their shifts.

use onduty_core::audit::Change;
use std::time::Duration;

use onduty_core::account::{Name, TimeZoneName, User};
use onduty_core::schedule::{
    self, FinalSchedule, Layer, Override, Restriction, Schedule, ShiftLength, Window, check_layers,
    final_schedule,
};
use onduty_core::service::parse_description;
use onduty_core::{OverrideId, ScheduleId, Timestamp, UserId};

use crate::{Acting, App, AppError};

/// How far ahead a schedule's gaps are looked for (and warned about).
pub const GAP_HORIZON: Duration = Duration::from_secs(14 * 24 * 3600);

/// The longest lead time of a handoff notification, in minutes (a day).
pub const MAX_HANDOFF_LEAD_MINUTES: u32 = 1440;

/// A schedule as a door received it.
#[derive(Debug, Clone)]
pub struct ScheduleInput {
    pub name: String,
    pub description: Option<String>,
    /// An IANA time zone.
    pub time_zone: String,
    /// A team's id or name.
    pub team: Option<String>,
    /// Bottom layer first.
    pub layers: Vec<LayerInput>,
}

#[derive(Debug, Clone)]
pub struct LayerInput {
    pub name: String,
    /// User ids or e-mail addresses, in turn order.
    pub participants: Vec<String>,
    /// The first handoff on the schedule's wall clock.
    pub start: jiff::civil::DateTime,
    pub shift: ShiftLength,
    pub restrictions: Vec<Restriction>,
}

/// An override as a door received it.
#[derive(Debug, Clone)]
pub struct OverrideInput {
    /// Who covers: a user id or e-mail address.
    pub user: String,
    pub start: Timestamp,
    pub end: Timestamp,
}

impl App {
    /// A schedule by id or by name.
    pub async fn find_schedule(&self, text: &str) -> Result<Schedule, AppError> {
        if let Ok(id) = text.parse::<ScheduleId>() {
            return Ok(self.store.schedule(id).await?);
        }
        self.store
            .schedule_by_name(text)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no schedule with id or name '{text}'")))
    }

    /// The final schedule of `window` for a stored schedule, overrides included.
    pub async fn final_schedule(
        &self,
        schedule: &Schedule,
        window: Window,
    ) -> Result<FinalSchedule, AppError> {
        let overrides = self.store.overrides(schedule.id, Some(window)).await?;
        Ok(final_schedule(&schedule.rota(overrides), window))
    }

    /// When the stretch on call at `at` in a stored schedule began, however long before a
    /// window that cuts it (see [`schedule::stretch_began`]); `None` when nobody is on call.
    pub async fn stretch_began(
        &self,
        schedule: &Schedule,
        at: Timestamp,
    ) -> Result<Option<Timestamp>, AppError> {
        let overrides = self
            .store
            .overrides(schedule.id, Some(schedule::look_back(at)))
            .await?;
        Ok(schedule::stretch_began(&schedule.rota(overrides), at))
    }

    /// Creates a schedule (admins).
    pub async fn create_schedule(
        &self,
        acting: &Acting,
        input: ScheduleInput,
    ) -> Result<Schedule, AppError> {
        acting.require_admin()?;
        self.configuring(acting, "schedule.create", input.name.clone(), async {
            let now = self.now();
            let schedule = self.parse_schedule(ScheduleId::new(now), input).await?;
            self.store.create_schedule(&schedule, now).await?;
            self.wake_engine();
            Ok(schedule)
        })
        .await
    }

    /// Replaces a schedule's name, time zone, team and layers (admins). Overrides stay.
    pub async fn replace_schedule(
        &self,
        acting: &Acting,
        schedule: &str,
        input: ScheduleInput,
    ) -> Result<Schedule, AppError> {
        acting.require_admin()?;
        self.configuring(acting, "schedule.replace", schedule, async {
            let existing = self.find_schedule(schedule).await?;
            let schedule = self.parse_schedule(existing.id, input).await?;
            self.store.update_schedule(&schedule, self.now()).await?;
            self.wake_engine();
            Ok(schedule)
        })
        .await
    }

    /// Deletes a schedule no escalation policy pages (admins).
    pub async fn delete_schedule(&self, acting: &Acting, schedule: &str) -> Result<(), AppError> {
        acting.require_admin()?;
        self.configuring(acting, "schedule.delete", schedule, async {
            let schedule = self.find_schedule(schedule).await?;
            Ok(self.store.delete_schedule(schedule.id).await?)
        })
        .await
    }

    /// Someone covers a span of a schedule (responders and admins).
    pub async fn add_override(
        &self,
        acting: &Acting,
        schedule: &str,
        input: OverrideInput,
    ) -> Result<(Override, User), AppError> {
        acting.require_responder()?;
        self.configuring(acting, "override.create", schedule, async {
            let schedule = self.find_schedule(schedule).await?;
            let now = self.now();
            let (mut o, user) = self
                .parse_override(OverrideId::new(now), &input, now)
                .await?;
            o.seq = self.store.add_override(schedule.id, &o).await?;
            self.wake_engine();
            Ok((o, user))
        })
        .await
    }

    /// Changes who covers, or when (responders and admins).
    pub async fn replace_override(
        &self,
        acting: &Acting,
        schedule: &str,
        id: &str,
        input: OverrideInput,
    ) -> Result<(Override, User), AppError> {
        acting.require_responder()?;
        self.configuring(acting, "override.replace", schedule, async {
            let schedule = self.find_schedule(schedule).await?;
            let (o, user) = self
                .parse_override(override_id(id)?, &input, self.now())
                .await?;
            self.store.update_override(schedule.id, &o).await?;
            self.wake_engine();
            Ok((o, user))
        })
        .await
    }

    /// Removes an override (responders and admins).
    pub async fn delete_override(
        &self,
        acting: &Acting,
        schedule: &str,
        id: &str,
    ) -> Result<(), AppError> {
        acting.require_responder()?;
        self.configuring(acting, "override.delete", schedule, async {
            let schedule = self.find_schedule(schedule).await?;
            self.store
                .delete_override(schedule.id, override_id(id)?)
                .await?;
            self.wake_engine();
            Ok(())
        })
        .await
    }

    /// A new secret token for the schedule's calendar feed; the old one stops working
    /// (admins).
    pub async fn rotate_schedule_feed(
        &self,
        acting: &Acting,
        schedule: &str,
    ) -> Result<String, AppError> {
        acting.require_admin()?;
        self.recorded(
            acting,
            "schedule.rotate_feed",
            schedule,
            async {
                let schedule = self.find_schedule(schedule).await?;
                Ok(self.store.rotate_schedule_feed_token(schedule.id).await?)
            },
            |_| Change::none(),
        )
        .await
    }

    /// The person `who` names (`me`, an id or an e-mail) if `acting` may manage their
    /// own things (feeds, handoff notifications): themselves, or anyone for admins.
    pub async fn own_or_admin(&self, acting: &Acting, who: &str) -> Result<UserId, AppError> {
        let user = if who == "me" {
            acting.user.id
        } else {
            self.find_user(who).await?.id
        };
        if user != acting.user.id {
            acting.require_admin()?;
        }
        Ok(user)
    }

    /// A new secret token for a person's calendar feed (themselves, or admins).
    pub async fn rotate_user_feed(&self, acting: &Acting, who: &str) -> Result<String, AppError> {
        let user = self.own_or_admin(acting, who).await?;
        self.recorded(
            acting,
            "user.rotate_feed",
            who,
            async { Ok(self.store.rotate_user_feed_token(user).await?) },
            |_| Change::none(),
        )
        .await
    }

    /// Turns a person's handoff notifications on (with a lead time in minutes) or off
    /// (themselves, or admins).
    pub async fn set_handoff_notifications(
        &self,
        acting: &Acting,
        who: &str,
        lead_minutes: Option<u32>,
    ) -> Result<(), AppError> {
        let user = self.own_or_admin(acting, who).await?;
        self.recorded(
            acting,
            "user.handoff_notifications",
            who,
            async {
                if let Some(m) = lead_minutes.filter(|m| *m > MAX_HANDOFF_LEAD_MINUTES) {
                    return Err(AppError::Invalid(format!(
                        "'lead_minutes' must be 0 to {MAX_HANDOFF_LEAD_MINUTES}, not {m}"
                    )));
                }
                self.store
                    .set_handoff_notice_minutes(user, lead_minutes)
                    .await?;
                self.wake_engine();
                Ok(())
            },
            |_| {
                Change::of(
                    None::<()>,
                    Some(serde_json::json!({"lead_minutes": lead_minutes})),
                )
            },
        )
        .await
    }

    /// A valid schedule from an input, resolving people and the team.
    async fn parse_schedule(
        &self,
        id: ScheduleId,
        input: ScheduleInput,
    ) -> Result<Schedule, AppError> {
        let name =
            Name::parse(&input.name).map_err(|e| AppError::Invalid(format!("'name': {e}")))?;
        let description = parse_description(input.description.as_deref().unwrap_or(""))
            .map_err(AppError::Invalid)?;
        let time_zone = TimeZoneName::parse(&input.time_zone)
            .map_err(|e| AppError::Invalid(format!("'time_zone': {e}")))?;
        let team_id = match input.team.as_deref() {
            None => None,
            Some(t) => Some(self.store.team(t).await?.id),
        };
        let mut layers = Vec::with_capacity(input.layers.len());
        for (i, l) in input.layers.into_iter().enumerate() {
            let mut participants = Vec::with_capacity(l.participants.len());
            for p in &l.participants {
                let user = self.find_user(p).await.map_err(|e| match e {
                    AppError::NotFound(_) => {
                        AppError::NotFound(format!("layer {}: no user '{p}'", i + 1))
                    }
                    other => other,
                })?;
                participants.push(user.id);
            }
            layers.push(Layer {
                name: l.name.trim().to_owned(),
                participants,
                start: l.start,
                shift: l.shift,
                restrictions: l.restrictions,
            });
        }
        check_layers(&layers).map_err(|e| AppError::Invalid(e.to_string()))?;
        Ok(Schedule {
            id,
            name,
            description,
            time_zone,
            team_id,
            layers,
        })
    }

    /// A valid override from an input, resolving the person; its `seq` is 0 until the
    /// store numbers it.
    async fn parse_override(
        &self,
        id: OverrideId,
        input: &OverrideInput,
        created_at: Timestamp,
    ) -> Result<(Override, User), AppError> {
        let user = self.find_user(&input.user).await.map_err(|e| match e {
            AppError::NotFound(m) => AppError::Invalid(m),
            other => other,
        })?;
        Window::new(input.start, input.end).map_err(|_| {
            AppError::Invalid("an override must end after it starts, within 400 days".to_owned())
        })?;
        Ok((
            Override {
                id,
                user: user.id,
                start: input.start,
                end: input.end,
                created_at,
                seq: 0,
            },
            user,
        ))
    }
}

fn override_id(text: &str) -> Result<OverrideId, AppError> {
    text.parse()
        .map_err(|_| AppError::NotFound(format!("no override '{text}'")))
}
