//! On-call schedules, computed: rotations in layers, restrictions, overrides, and the
//! final schedule for a window — a pure function of (schedule, window).
//!
//! A **layer** is a rotation: its participants take turns, one shift each, starting at the
//! layer's start (a local wall-clock date and time in the schedule's time zone). Shifts
//! are counted in local time: shift `k` starts at `start + k × length` on the wall clock,
//! so a daily 09:00 handoff stays at 09:00 across daylight-saving changes (and that day's
//! shift is 23 or 25 hours long). **Restrictions** keep only some hours of each day or
//! spans of each week of a layer; they only ever remove time. Higher layers take
//! precedence over lower ones where they have someone on call; lower layers fill the
//! gaps. **Overrides** replace whoever is on call (or nobody) in their span; where
//! overrides overlap, the one created last wins.
//!
//! **Local times that do not exist or exist twice** follow one rule, everywhere (handoffs,
//! restrictions): a time in a spring-forward gap is moved forward by the length of the
//! gap (02:30 on a day clocks jump from 02:00 to 03:00 becomes 03:30), and a time that
//! occurs twice on a fall-back day is its first occurrence. This is RFC 5545's rule and
//! jiff's `compatible` disambiguation. A shift left empty by a gap (an hourly handoff at
//! 02:00 that lands on 03:00) is dropped.

use std::time::Duration;

use jiff::Span;
use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::account::{Name, TimeZoneName};
use crate::ids::{OverrideId, ScheduleId, TeamId, UserId};
use crate::time::Timestamp;

/// Most layers in a schedule.
pub const MAX_LAYERS: usize = 20;
/// Most participants in a layer.
pub const MAX_PARTICIPANTS: usize = 100;
/// Most restrictions on a layer.
pub const MAX_RESTRICTIONS: usize = 30;
/// Longest window one computation covers (a year and a bit).
pub const MAX_WINDOW: Duration = Duration::from_secs(400 * 24 * 3600);

/// How long each turn of a rotation lasts, on the wall clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "unit", content = "count", rename_all = "snake_case")]
pub enum ShiftLength {
    Hours(u32),
    Days(u32),
    Weeks(u32),
}

impl ShiftLength {
    /// `turns` shifts, or `None` beyond what a calendar can count (tens of thousands of
    /// years).
    fn span(self, turns: i64) -> Option<Span> {
        let (hours, days) = match self {
            ShiftLength::Hours(n) => (i64::from(n).checked_mul(turns)?, 0),
            ShiftLength::Days(n) => (0, i64::from(n).checked_mul(turns)?),
            ShiftLength::Weeks(n) => (0, (7 * i64::from(n)).checked_mul(turns)?),
        };
        Span::new().try_hours(hours).ok()?.try_days(days).ok()
    }

    /// The length in milliseconds on a day without a clock change.
    fn nominal_millis(self) -> i64 {
        let hours = match self {
            ShiftLength::Hours(n) => i64::from(n),
            ShiftLength::Days(n) => 24 * i64::from(n),
            ShiftLength::Weeks(n) => 7 * 24 * i64::from(n),
        };
        hours * 3_600_000
    }

    pub fn check(self) -> Result<(), ScheduleError> {
        let ok = match self {
            ShiftLength::Hours(n) => (1..=24 * 366).contains(&n),
            ShiftLength::Days(n) => (1..=366).contains(&n),
            ShiftLength::Weeks(n) => (1..=52).contains(&n),
        };
        if ok {
            Ok(())
        } else {
            Err(ScheduleError::ShiftLength)
        }
    }
}

/// A day of the week, as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Day {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Day {
    fn weekday(self) -> Weekday {
        match self {
            Day::Monday => Weekday::Monday,
            Day::Tuesday => Weekday::Tuesday,
            Day::Wednesday => Weekday::Wednesday,
            Day::Thursday => Weekday::Thursday,
            Day::Friday => Weekday::Friday,
            Day::Saturday => Weekday::Saturday,
            Day::Sunday => Weekday::Sunday,
        }
    }
}

/// When a layer is in force; outside every restriction of a layer, it has nobody.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Restriction {
    /// Every day from `start` to `end`, local time; through midnight when `end` is not
    /// after `start` (22:00–06:00 is nights). `start == end` is the whole day.
    Daily { start: Time, end: Time },
    /// Every week from `start_day` at `start` to `end_day` at `end`, local time
    /// (Friday 18:00 to Monday 09:00 is weekends). The same day and time is the whole week.
    Weekly {
        start_day: Day,
        start: Time,
        end_day: Day,
        end: Time,
    },
}

/// One rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layer {
    pub name: String,
    /// Who takes turns, in order.
    pub participants: Vec<UserId>,
    /// The first handoff, on the schedule's wall clock; later handoffs keep its time of day.
    pub start: DateTime,
    pub shift: ShiftLength,
    #[serde(default)]
    pub restrictions: Vec<Restriction>,
}

/// Someone covering a span: replaces whoever is on call there (or fills a gap).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    pub id: OverrideId,
    pub user: UserId,
    pub start: Timestamp,
    pub end: Timestamp,
    pub created_at: Timestamp,
    /// The order overrides were made in, given by the store: where overrides overlap, the
    /// one with the highest wins (it was made last, even within the same millisecond).
    pub seq: i64,
}

/// An on-call schedule as stored: its layers, bottom first; overrides are kept apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub id: ScheduleId,
    pub name: Name,
    pub description: String,
    pub time_zone: TimeZoneName,
    pub team_id: Option<TeamId>,
    pub layers: Vec<Layer>,
}

impl Schedule {
    /// The schedule with these overrides, ready to compute.
    pub fn rota(&self, overrides: Vec<Override>) -> Rota {
        Rota {
            time_zone: self.time_zone.zone(),
            layers: self.layers.clone(),
            overrides,
        }
    }
}

/// What a schedule's final shifts are computed from. Layers are listed bottom first: a
/// later layer takes precedence over an earlier one.
#[derive(Debug, Clone)]
pub struct Rota {
    pub time_zone: TimeZone,
    pub layers: Vec<Layer>,
    pub overrides: Vec<Override>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("a schedule has 1 to {MAX_LAYERS} layers")]
    LayerCount,
    #[error("layer {0} needs 1 to {MAX_PARTICIPANTS} participants")]
    Participants(usize),
    #[error("a shift is 1 to 8784 hours, 1 to 366 days or 1 to 52 weeks long")]
    ShiftLength,
    #[error("layer {0} has more than {MAX_RESTRICTIONS} restrictions")]
    Restrictions(usize),
    #[error("layer {0}: the name is 1 to 100 characters")]
    LayerName(usize),
    #[error("an override must end after it starts")]
    OverrideSpan,
    #[error("the window must end after it starts and cover at most 400 days")]
    Window,
}

/// Checks a schedule's layers before they are stored.
pub fn check_layers(layers: &[Layer]) -> Result<(), ScheduleError> {
    if layers.is_empty() || layers.len() > MAX_LAYERS {
        return Err(ScheduleError::LayerCount);
    }
    for (i, layer) in layers.iter().enumerate() {
        let number = i + 1;
        let name = layer.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ScheduleError::LayerName(number));
        }
        if layer.participants.is_empty() || layer.participants.len() > MAX_PARTICIPANTS {
            return Err(ScheduleError::Participants(number));
        }
        layer.shift.check()?;
        if layer.restrictions.len() > MAX_RESTRICTIONS {
            return Err(ScheduleError::Restrictions(number));
        }
    }
    Ok(())
}

/// A span of time `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Window {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Window {
    pub fn new(start: Timestamp, end: Timestamp) -> Result<Window, ScheduleError> {
        if end <= start || end.since(start) > MAX_WINDOW {
            return Err(ScheduleError::Window);
        }
        Ok(Window { start, end })
    }

    fn clip(self, start: Timestamp, end: Timestamp) -> Option<Window> {
        let w = Window {
            start: start.max(self.start),
            end: end.min(self.end),
        };
        (w.start < w.end).then_some(w)
    }
}

/// One person's turn in one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shift {
    pub user: UserId,
    pub start: Timestamp,
    pub end: Timestamp,
}

/// Where a final shift comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Source {
    /// The layer at this index (0 is the bottom layer).
    Layer(usize),
    Override(OverrideId),
}

/// A span of the final schedule with one person on call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FinalShift {
    pub user: UserId,
    pub start: Timestamp,
    pub end: Timestamp,
    pub source: Source,
    /// When what it comes from starts (not before the window): the layer's shift, or the
    /// override. It stays put when an override cuts into the shift; this is what a
    /// calendar names the shift by.
    pub source_start: Timestamp,
}

/// The final schedule of a window: who is on call when, and the spans with nobody.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FinalSchedule {
    /// Sorted, not overlapping, inside the window; adjacent spans of the same person from
    /// the same source are one shift.
    pub shifts: Vec<FinalShift>,
    /// Spans of the window with nobody on call, sorted.
    pub gaps: Vec<Window>,
}

/// A local wall-clock time as an instant, by this module's rule for times that do not
/// exist or exist twice (see the module documentation). Every wall-clock time onduty reads
/// (a handoff, a restriction, a form's date field) goes through here. None only past the
/// range of time zones.
pub fn instant(tz: &TimeZone, local: DateTime) -> Option<Timestamp> {
    let ts = tz.to_ambiguous_timestamp(local).compatible().ok()?;
    Some(Timestamp::from_millis(ts.as_millisecond()))
}

fn local(tz: &TimeZone, at: Timestamp) -> Option<DateTime> {
    let ts = jiff::Timestamp::from_millisecond(at.as_millis()).ok()?;
    Some(tz.to_datetime(ts))
}

/// When turn `k` of a layer begins.
fn handoff(layer: &Layer, tz: &TimeZone, k: i64) -> Option<Timestamp> {
    instant(tz, layer.start.checked_add(layer.shift.span(k)?).ok()?)
}

/// The layer's turns that overlap `window`, before restrictions.
fn turns(layer: &Layer, tz: &TimeZone, window: Window) -> Vec<Shift> {
    let mut out = Vec::new();
    let (Some(first), false) = (handoff(layer, tz, 0), layer.participants.is_empty()) else {
        return out;
    };
    if first >= window.end {
        return out;
    }
    // The turn holding the window's start: estimated from the nominal length, then
    // corrected (clock changes move handoffs by at most a few hours).
    let nominal = layer.shift.nominal_millis().max(1);
    let mut k = ((window.start.as_millis() - first.as_millis()) / nominal).max(0);
    while k > 0 && handoff(layer, tz, k).is_none_or(|h| h > window.start) {
        k -= 1;
    }
    while handoff(layer, tz, k + 1).is_some_and(|h| h <= window.start) {
        k += 1;
    }
    let people = layer.participants.len() as i64;
    let Some(mut start) = handoff(layer, tz, k) else {
        return out;
    };
    while start < window.end {
        let Some(end) = handoff(layer, tz, k + 1) else {
            break;
        };
        if let Some(w) = window.clip(start, end) {
            out.push(Shift {
                user: layer.participants[(k % people) as usize],
                start: w.start,
                end: w.end,
            });
        }
        start = end;
        k += 1;
    }
    out
}

/// The spans of `window` a restriction allows, sorted (they may touch or overlap).
fn allowed(restriction: &Restriction, tz: &TimeZone, window: Window, out: &mut Vec<Window>) {
    let (Some(from), Some(to)) = (local(tz, window.start), local(tz, window.end)) else {
        return;
    };
    // A weekly span starts at most a week before the window; a daily one a day.
    let mut day: Date = from.date().saturating_sub(Span::new().days(8));
    let last = to.date().saturating_add(Span::new().days(1));
    while day <= last {
        let span = match *restriction {
            Restriction::Daily { start, end } => {
                let days = if end <= start { 1 } else { 0 };
                Some((day.to_datetime(start), days, end))
            }
            Restriction::Weekly {
                start_day,
                start,
                end_day,
                end,
            } if day.weekday() == start_day.weekday() => {
                let mut days = i64::from(end_day.weekday().since(start_day.weekday()));
                if days == 0 && end <= start {
                    days = 7;
                }
                Some((day.to_datetime(start), days, end))
            }
            Restriction::Weekly { .. } => None,
        };
        if let Some((begin, days, end)) = span {
            let finish = day.saturating_add(Span::new().days(days)).to_datetime(end);
            if let (Some(a), Some(b)) = (instant(tz, begin), instant(tz, finish))
                && let Some(w) = window.clip(a, b)
            {
                out.push(w);
            }
        }
        day = day.saturating_add(Span::new().days(1));
    }
}

/// Sorts spans and joins those that overlap or touch.
fn union(mut spans: Vec<Window>) -> Vec<Window> {
    spans.sort();
    let mut out: Vec<Window> = Vec::with_capacity(spans.len());
    for s in spans {
        match out.last_mut() {
            Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
            _ => out.push(s),
        }
    }
    out
}

/// A layer's shifts in `window`, after its restrictions: sorted, not overlapping.
pub fn layer_shifts(layer: &Layer, tz: &TimeZone, window: Window) -> Vec<Shift> {
    let turns = turns(layer, tz, window);
    if layer.restrictions.is_empty() {
        return turns;
    }
    let mut spans = Vec::new();
    for r in &layer.restrictions {
        allowed(r, tz, window, &mut spans);
    }
    let spans = union(spans);
    let mut out = Vec::new();
    let mut i = 0;
    for t in turns {
        while i < spans.len() && spans[i].end <= t.start {
            i += 1;
        }
        let mut j = i;
        while j < spans.len() && spans[j].start < t.end {
            let w = Window {
                start: t.start.max(spans[j].start),
                end: t.end.min(spans[j].end),
            };
            if w.start < w.end {
                out.push(Shift {
                    user: t.user,
                    start: w.start,
                    end: w.end,
                });
            }
            j += 1;
        }
    }
    out
}

/// The final schedule of `window`: layers stacked (later over earlier), overrides on top.
pub fn final_schedule(rota: &Rota, window: Window) -> FinalSchedule {
    let layers: Vec<Vec<Shift>> = rota
        .layers
        .iter()
        .map(|l| layer_shifts(l, &rota.time_zone, window))
        .collect();
    let mut overrides: Vec<&Override> = rota
        .overrides
        .iter()
        .filter(|o| o.start < window.end && o.end > window.start && o.start < o.end)
        .collect();
    // Made last first: the first that covers an instant wins.
    overrides.sort_by(|a, b| b.seq.cmp(&a.seq).then(b.id.cmp(&a.id)));

    let mut points: Vec<Timestamp> = vec![window.start, window.end];
    for shifts in &layers {
        for s in shifts {
            points.push(s.start);
            points.push(s.end);
        }
    }
    for o in &overrides {
        points.push(o.start.max(window.start));
        points.push(o.end.min(window.end));
    }
    points.sort();
    points.dedup();

    let mut cursors = vec![0usize; layers.len()];
    let mut out = FinalSchedule::default();
    for pair in points.windows(2) {
        let (start, end) = (pair[0], pair[1]);
        let mut who: Option<(UserId, Source, Timestamp)> = overrides
            .iter()
            .find(|o| o.start <= start && o.end >= end)
            .map(|o| (o.user, Source::Override(o.id), o.start.max(window.start)));
        for (index, shifts) in layers.iter().enumerate().rev() {
            let c = &mut cursors[index];
            while *c < shifts.len() && shifts[*c].end <= start {
                *c += 1;
            }
            if who.is_none()
                && let Some(s) = shifts.get(*c)
                && s.start <= start
            {
                who = Some((s.user, Source::Layer(index), s.start));
            }
        }
        match who {
            Some((user, source, source_start)) => match out.shifts.last_mut() {
                Some(last) if last.end == start && last.user == user && last.source == source => {
                    last.end = end;
                }
                _ => out.shifts.push(FinalShift {
                    user,
                    start,
                    end,
                    source,
                    source_start,
                }),
            },
            None => match out.gaps.last_mut() {
                Some(last) if last.end == start => last.end = end,
                _ => out.gaps.push(Window { start, end }),
            },
        }
    }
    out
}

/// A run of someone's final shifts joined end to end, whatever layer or override each
/// came from: what a person calls "my shift".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stretch {
    pub user: UserId,
    pub start: Timestamp,
    pub end: Timestamp,
    /// Where its first shift comes from, and when that starts (see
    /// [`FinalShift::source_start`]).
    pub source: Source,
    pub source_start: Timestamp,
}

impl FinalSchedule {
    /// The final shifts with adjacent ones of the same person joined, in order.
    pub fn stretches(&self) -> Vec<Stretch> {
        let mut out: Vec<Stretch> = Vec::with_capacity(self.shifts.len());
        for s in &self.shifts {
            match out.last_mut() {
                Some(last) if last.user == s.user && last.end == s.start => last.end = s.end,
                _ => out.push(Stretch {
                    user: s.user,
                    start: s.start,
                    end: s.end,
                    source: s.source,
                    source_start: s.source_start,
                }),
            }
        }
        out
    }
}

/// The first span looked back over for when a stretch began; each next one is twice as
/// long, up to [`MAX_WINDOW`].
const FIRST_LOOK_BACK: Duration = Duration::from_secs(24 * 3600);

/// The span looked back over for when the stretch on call at `at` began, at the most:
/// [`stretch_began`] needs the overrides that overlap it.
pub fn look_back(at: Timestamp) -> Window {
    let end = at.saturating_add(Duration::from_millis(1));
    Window {
        start: end.saturating_sub(MAX_WINDOW),
        end,
    }
}

/// When the stretch on call at `at` began, though a window that starts later cuts it: the
/// final schedule is computed over a day before `at`, then two, four, … until the stretch
/// holding `at` begins inside it. `rota` holds the overrides of [`look_back`]`(at)`. `None`
/// when nobody is on call at `at`; the start of the look-back when the stretch began even
/// before that.
pub fn stretch_began(rota: &Rota, at: Timestamp) -> Option<Timestamp> {
    let back = look_back(at);
    let mut span = FIRST_LOOK_BACK;
    loop {
        let window = Window {
            start: back.end.saturating_sub(span).max(back.start),
            end: back.end,
        };
        let holding = final_schedule(rota, window)
            .stretches()
            .pop()
            .filter(|s| s.start <= at && at < s.end)?;
        if holding.start > window.start || window.start == back.start {
            return Some(holding.start);
        }
        span = span.saturating_mul(2);
    }
}

/// Who is on call at `at` (nobody, or one person; a list so callers page everyone).
pub fn on_call_at(rota: &Rota, at: Timestamp) -> Vec<UserId> {
    let window = Window {
        start: at,
        end: Timestamp::from_millis(at.as_millis() + 1),
    };
    final_schedule(rota, window)
        .shifts
        .first()
        .map(|s| vec![s.user])
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
