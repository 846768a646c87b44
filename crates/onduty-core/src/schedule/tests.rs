//! Schedules across daylight-saving changes in both directions (New York, London, Lord
//! Howe's 30-minute change, Kolkata without one), restrictions, layers, overrides, and
//! properties that hold for any rotation.

use jiff::civil::{DateTime, Time};
use jiff::tz::TimeZone;
use proptest::prelude::*;
use uuid::Uuid;

use super::*;

fn user(n: u8) -> UserId {
    UserId::from_uuid(Uuid::from_bytes([n; 16]))
}

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn dt(text: &str) -> DateTime {
    text.parse().unwrap()
}

fn time(text: &str) -> Time {
    text.parse().unwrap()
}

fn tz(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap()
}

fn layer(start: &str, shift: ShiftLength, people: &[u8]) -> Layer {
    Layer {
        name: "rota".to_owned(),
        participants: people.iter().map(|n| user(*n)).collect(),
        start: dt(start),
        shift,
        restrictions: Vec::new(),
    }
}

fn window(start: &str, end: &str) -> Window {
    Window::new(at(start), at(end)).unwrap()
}

/// The shifts' starts, as RFC 3339 in UTC.
fn starts(shifts: &[Shift]) -> Vec<String> {
    shifts.iter().map(|s| s.start.to_rfc3339()).collect()
}

fn rota(zone: &str, layers: Vec<Layer>, overrides: Vec<Override>) -> Rota {
    Rota {
        time_zone: tz(zone),
        layers,
        overrides,
    }
}

#[test]
fn a_daily_nine_o_clock_handoff_stays_at_nine_across_both_new_york_changes() {
    let l = layer("2026-03-01T09:00", ShiftLength::Days(1), &[1, 2]);
    let ny = tz("America/New_York");
    // Spring forward on Sunday 8 March: 09:00 EST is 14:00Z, 09:00 EDT is 13:00Z.
    let spring = layer_shifts(&l, &ny, window("2026-03-07T00:00Z", "2026-03-10T00:00Z"));
    assert_eq!(
        starts(&spring)[1..],
        [
            "2026-03-07T14:00:00.000Z",
            "2026-03-08T13:00:00.000Z",
            "2026-03-09T13:00:00.000Z"
        ]
    );
    // The shift across the change is 23 hours long.
    assert_eq!(spring[1].end.since(spring[1].start).as_secs(), 23 * 3600);
    // Fall back on Sunday 1 November: the shift across it is 25 hours long.
    let fall = layer_shifts(&l, &ny, window("2026-10-31T12:00Z", "2026-11-03T00:00Z"));
    assert_eq!(
        starts(&fall)[1..],
        [
            "2026-10-31T13:00:00.000Z",
            "2026-11-01T14:00:00.000Z",
            "2026-11-02T14:00:00.000Z"
        ]
    );
    assert_eq!(fall[1].end.since(fall[1].start).as_secs(), 25 * 3600);
    // Turns alternate regardless: 1 March is participant 1's, 2 March participant 2's, …
    assert_eq!(spring[1].user, user(1), "7 March is the 7th turn (index 6)");
    assert_eq!(spring[2].user, user(2));
}

#[test]
fn handoff_times_that_do_not_exist_move_forward_and_doubled_ones_take_the_first() {
    let ny = tz("America/New_York");
    // 02:30 does not exist on 8 March in New York: it becomes 03:30 EDT (07:30Z).
    let gap = layer("2026-03-06T02:30", ShiftLength::Days(1), &[1, 2]);
    let shifts = layer_shifts(&gap, &ny, window("2026-03-07T12:00Z", "2026-03-09T12:00Z"));
    assert_eq!(
        starts(&shifts)[1..],
        ["2026-03-08T07:30:00.000Z", "2026-03-09T06:30:00.000Z"]
    );
    // 01:30 happens twice on 1 November: the first time (EDT, 05:30Z) is the handoff.
    let fold = layer("2026-10-30T01:30", ShiftLength::Days(1), &[1, 2]);
    let shifts = layer_shifts(&fold, &ny, window("2026-10-31T12:00Z", "2026-11-02T12:00Z"));
    assert_eq!(
        starts(&shifts)[1..],
        ["2026-11-01T05:30:00.000Z", "2026-11-02T06:30:00.000Z"]
    );
}

#[test]
fn london_changes_at_one_in_the_morning() {
    let london = tz("Europe/London");
    // 29 March: 01:00 GMT jumps to 02:00 BST; a 01:30 handoff becomes 02:30 BST (01:30Z).
    let l = layer("2026-03-27T01:30", ShiftLength::Days(1), &[1]);
    let shifts = layer_shifts(
        &l,
        &london,
        window("2026-03-28T12:00Z", "2026-03-30T12:00Z"),
    );
    assert_eq!(
        starts(&shifts)[1..],
        ["2026-03-29T01:30:00.000Z", "2026-03-30T00:30:00.000Z"]
    );
    // 25 October: 02:00 BST falls back to 01:00 GMT; 09:00 stays 09:00 (08:00Z → 09:00Z).
    let l = layer("2026-10-20T09:00", ShiftLength::Days(1), &[1, 2]);
    let shifts = layer_shifts(
        &l,
        &london,
        window("2026-10-24T12:00Z", "2026-10-26T12:00Z"),
    );
    assert_eq!(
        starts(&shifts)[1..],
        ["2026-10-25T09:00:00.000Z", "2026-10-26T09:00:00.000Z"]
    );
    assert_eq!(
        shifts[0].end.since(at("2026-10-24T08:00Z")).as_secs(),
        25 * 3600
    );
}

#[test]
fn lord_howe_moves_its_clocks_by_half_an_hour() {
    let lord_howe = tz("Australia/Lord_Howe");
    // 4 October 2026: 02:00 jumps to 02:30 (+10:30 → +11:00). 02:15 becomes 02:45 +11:00.
    let l = layer("2026-10-02T02:15", ShiftLength::Days(1), &[1, 2]);
    let shifts = layer_shifts(
        &l,
        &lord_howe,
        window("2026-10-03T00:00Z", "2026-10-05T00:00Z"),
    );
    assert_eq!(
        starts(&shifts)[1..],
        ["2026-10-03T15:45:00.000Z", "2026-10-04T15:15:00.000Z"]
    );
    // The turn before the change ends at the moved handoff (24 h after 02:15 +10:30); the
    // one that starts then ends at 02:15 +11:00 the next day, 23 h 30 min later.
    assert_eq!(shifts[0].end, at("2026-10-03T15:45Z"));
    assert_eq!(
        shifts[1].end.since(shifts[1].start).as_secs(),
        23 * 3600 + 1800
    );
    // 5 April 2026: 02:00 falls back to 01:30 (+11:00 → +10:30). 01:45 happens twice: the
    // first, at +11:00 (14:45Z), is the handoff.
    let l = layer("2026-04-03T01:45", ShiftLength::Days(1), &[1, 2]);
    let shifts = layer_shifts(
        &l,
        &lord_howe,
        window("2026-04-04T00:00Z", "2026-04-06T00:00Z"),
    );
    assert_eq!(
        starts(&shifts)[1..],
        ["2026-04-04T14:45:00.000Z", "2026-04-05T15:15:00.000Z"]
    );
}

#[test]
fn kolkata_has_no_clock_changes_so_every_day_is_twenty_four_hours() {
    let kolkata = tz("Asia/Kolkata");
    let l = layer("2026-01-01T09:00", ShiftLength::Days(1), &[1, 2, 3]);
    let shifts = layer_shifts(
        &l,
        &kolkata,
        window("2026-01-01T03:30Z", "2026-12-31T03:30Z"),
    );
    assert_eq!(shifts.len(), 364);
    assert!(
        shifts
            .iter()
            .all(|s| s.end.since(s.start).as_secs() == 24 * 3600)
    );
    assert_eq!(shifts[0].start, at("2026-01-01T03:30Z"), "09:00 IST");
}

#[test]
fn an_hourly_rotation_loses_the_hour_that_does_not_exist() {
    let ny = tz("America/New_York");
    let l = layer("2026-03-08T00:00", ShiftLength::Hours(1), &[1, 2, 3]);
    // 00:00, 01:00 EST, then 02:00 (does not exist → 03:00 EDT) and 03:00 EDT coincide.
    let shifts = layer_shifts(&l, &ny, window("2026-03-08T05:00Z", "2026-03-08T09:00Z"));
    assert_eq!(
        starts(&shifts),
        [
            "2026-03-08T05:00:00.000Z",
            "2026-03-08T06:00:00.000Z",
            "2026-03-08T07:00:00.000Z",
            "2026-03-08T08:00:00.000Z"
        ]
    );
    // Turn 2 (02:00) is empty and dropped: 03:00 is turn 3, participant 1 again.
    assert_eq!(shifts[2].user, user(1));
}

#[test]
fn nobody_is_on_call_in_a_layer_before_it_starts() {
    let l = layer("2026-05-10T09:00", ShiftLength::Weeks(1), &[1, 2]);
    let shifts = layer_shifts(
        &l,
        &tz("UTC"),
        window("2026-05-01T00:00Z", "2026-05-20T00:00Z"),
    );
    assert_eq!(
        starts(&shifts),
        ["2026-05-10T09:00:00.000Z", "2026-05-17T09:00:00.000Z"]
    );
    assert_eq!(shifts[1].user, user(2));
}

#[test]
fn restrictions_keep_business_hours_nights_and_weekends() {
    let utc = tz("UTC");
    let mut l = layer("2026-06-01T00:00", ShiftLength::Weeks(1), &[1]);
    // Monday 1 June 2026. Business hours on weekdays:
    l.restrictions = [
        Day::Monday,
        Day::Tuesday,
        Day::Wednesday,
        Day::Thursday,
        Day::Friday,
    ]
    .into_iter()
    .map(|d| Restriction::Weekly {
        start_day: d,
        start: time("09:00"),
        end_day: d,
        end: time("17:00"),
    })
    .collect();
    let shifts = layer_shifts(&l, &utc, window("2026-06-01T00:00Z", "2026-06-08T00:00Z"));
    assert_eq!(shifts.len(), 5);
    assert_eq!(shifts[0].start, at("2026-06-01T09:00Z"));
    assert_eq!(shifts[4].end, at("2026-06-05T17:00Z"));

    // Nights, through midnight.
    l.restrictions = vec![Restriction::Daily {
        start: time("22:00"),
        end: time("06:00"),
    }];
    let shifts = layer_shifts(&l, &utc, window("2026-06-01T00:00Z", "2026-06-03T00:00Z"));
    let spans: Vec<_> = shifts
        .iter()
        .map(|s| (s.start.to_rfc3339(), s.end.to_rfc3339()))
        .collect();
    assert_eq!(
        spans,
        [
            (
                "2026-06-01T00:00:00.000Z".into(),
                "2026-06-01T06:00:00.000Z".into()
            ),
            (
                "2026-06-01T22:00:00.000Z".into(),
                "2026-06-02T06:00:00.000Z".into()
            ),
            (
                "2026-06-02T22:00:00.000Z".into(),
                "2026-06-03T00:00:00.000Z".into()
            ),
        ]
    );

    // Weekends: Friday 18:00 to Monday 09:00.
    l.restrictions = vec![Restriction::Weekly {
        start_day: Day::Friday,
        start: time("18:00"),
        end_day: Day::Monday,
        end: time("09:00"),
    }];
    let shifts = layer_shifts(&l, &utc, window("2026-06-01T00:00Z", "2026-06-15T00:00Z"));
    let spans: Vec<_> = shifts.iter().map(|s| (s.start, s.end)).collect();
    assert_eq!(
        spans,
        [
            (at("2026-06-01T00:00Z"), at("2026-06-01T09:00Z")),
            (at("2026-06-05T18:00Z"), at("2026-06-08T00:00Z")),
            // A new weekly turn starts on Monday 00:00; same person, split at the handoff.
            (at("2026-06-08T00:00Z"), at("2026-06-08T09:00Z")),
            (at("2026-06-12T18:00Z"), at("2026-06-15T00:00Z")),
        ]
    );
}

#[test]
fn a_restricted_layer_on_top_gives_way_to_the_layer_below_outside_its_hours() {
    let utc = "UTC";
    let base = layer("2026-06-01T09:00", ShiftLength::Weeks(1), &[1, 2]);
    let mut nights = layer("2026-06-01T00:00", ShiftLength::Days(1), &[3, 4]);
    nights.restrictions = vec![Restriction::Daily {
        start: time("20:00"),
        end: time("08:00"),
    }];
    let r = rota(utc, vec![base, nights], Vec::new());
    let f = final_schedule(&r, window("2026-06-01T09:00Z", "2026-06-02T09:00Z"));
    let got: Vec<_> = f
        .shifts
        .iter()
        .map(|s| (s.user, s.start, s.end, s.source))
        .collect();
    assert_eq!(
        got,
        [
            (
                user(1),
                at("2026-06-01T09:00Z"),
                at("2026-06-01T20:00Z"),
                Source::Layer(0)
            ),
            (
                user(3),
                at("2026-06-01T20:00Z"),
                at("2026-06-02T00:00Z"),
                Source::Layer(1)
            ),
            (
                user(4),
                at("2026-06-02T00:00Z"),
                at("2026-06-02T08:00Z"),
                Source::Layer(1)
            ),
            (
                user(1),
                at("2026-06-02T08:00Z"),
                at("2026-06-02T09:00Z"),
                Source::Layer(0)
            ),
        ]
    );
    assert!(f.gaps.is_empty());
}

#[test]
fn bob_covers_alice_from_friday_evening_to_monday_morning() {
    let alice = 1;
    let bob = 2;
    let base = layer("2026-06-01T09:00", ShiftLength::Weeks(1), &[alice, 3]);
    let cover = Override {
        id: OverrideId::from_uuid(Uuid::from_bytes([7; 16])),
        user: user(bob),
        start: at("2026-06-05T18:00Z"),
        end: at("2026-06-08T09:00Z"),
        created_at: at("2026-06-01T00:00Z"),
        seq: 0,
    };
    let r = rota("UTC", vec![base], vec![cover.clone()]);
    let f = final_schedule(&r, window("2026-06-05T00:00Z", "2026-06-10T00:00Z"));
    let got: Vec<_> = f.shifts.iter().map(|s| (s.user, s.start, s.end)).collect();
    assert_eq!(
        got,
        [
            (
                user(alice),
                at("2026-06-05T00:00Z"),
                at("2026-06-05T18:00Z")
            ),
            (user(bob), at("2026-06-05T18:00Z"), at("2026-06-08T09:00Z")),
            // The override covered the handoff; the next person takes over after it.
            (user(3), at("2026-06-08T09:00Z"), at("2026-06-10T00:00Z")),
        ]
    );
    assert_eq!(f.shifts[1].source, Source::Override(cover.id));
    assert_eq!(on_call_at(&r, at("2026-06-06T12:00Z")), [user(bob)]);
    assert_eq!(on_call_at(&r, at("2026-06-05T17:59Z")), [user(alice)]);
}

#[test]
fn a_stretch_joins_a_persons_shifts_across_layers_and_overrides() {
    let base = layer("2026-06-01T00:00", ShiftLength::Days(1), &[1, 1, 2]);
    let cover = Override {
        id: OverrideId::from_uuid(Uuid::from_bytes([7; 16])),
        user: user(1),
        start: at("2026-06-03T00:00Z"),
        end: at("2026-06-03T06:00Z"),
        created_at: at("2026-06-01T00:00Z"),
        seq: 0,
    };
    let r = rota("UTC", vec![base], vec![cover]);
    let f = final_schedule(&r, window("2026-06-01T00:00Z", "2026-06-04T00:00Z"));
    assert_eq!(f.shifts.len(), 3, "layer, override, layer");
    let got: Vec<_> = f
        .stretches()
        .iter()
        .map(|s| (s.user, s.start, s.end))
        .collect();
    assert_eq!(
        got,
        [
            (user(1), at("2026-06-01T00:00Z"), at("2026-06-03T06:00Z")),
            (user(2), at("2026-06-03T06:00Z"), at("2026-06-04T00:00Z")),
        ]
    );
}

#[test]
fn a_stretch_is_named_by_its_shifts_own_start_or_its_override_wherever_the_override_moves() {
    let base = layer("2026-06-01T00:00", ShiftLength::Days(1), &[1, 2]);
    let id = OverrideId::from_uuid(Uuid::from_bytes([7; 16]));
    let origins = |start: &str, end: &str| -> Vec<(UserId, Source, Timestamp)> {
        let cover = Override {
            id,
            user: user(2),
            start: at(start),
            end: at(end),
            created_at: at("2026-05-01T00:00Z"),
            seq: 1,
        };
        let r = rota("UTC", vec![base.clone()], vec![cover]);
        final_schedule(&r, window("2026-06-01T00:00Z", "2026-06-02T00:00Z"))
            .stretches()
            .iter()
            .map(|s| (s.user, s.source, s.source_start))
            .collect()
    };
    let day = at("2026-06-01T00:00Z");
    let expected = [
        (user(1), Source::Layer(0), day),
        (user(2), Source::Override(id), at("2026-06-01T08:00Z")),
        (user(1), Source::Layer(0), day),
    ];
    assert_eq!(origins("2026-06-01T08:00Z", "2026-06-01T10:00Z"), expected);
    // Moved later and made longer: Alice's second stretch still comes from her shift of
    // the day.
    let moved = origins("2026-06-01T09:00Z", "2026-06-01T12:00Z");
    assert_eq!(moved[2], (user(1), Source::Layer(0), day));
    assert_eq!(moved[1].1, Source::Override(id));
}

#[test]
fn gaps_are_where_nobody_is_on_call_and_an_override_can_fill_one() {
    let mut business = layer("2026-06-01T00:00", ShiftLength::Days(1), &[1]);
    business.restrictions = vec![Restriction::Daily {
        start: time("09:00"),
        end: time("17:00"),
    }];
    let r = rota("UTC", vec![business.clone()], Vec::new());
    let f = final_schedule(&r, window("2026-06-01T00:00Z", "2026-06-02T00:00Z"));
    assert_eq!(
        f.gaps,
        [
            window("2026-06-01T00:00Z", "2026-06-01T09:00Z"),
            window("2026-06-01T17:00Z", "2026-06-02T00:00Z"),
        ]
    );
    let evening = Override {
        id: OverrideId::from_uuid(Uuid::from_bytes([8; 16])),
        user: user(5),
        start: at("2026-06-01T17:00Z"),
        end: at("2026-06-01T20:00Z"),
        created_at: at("2026-05-01T00:00Z"),
        seq: 0,
    };
    let r = rota("UTC", vec![business], vec![evening]);
    let f = final_schedule(&r, window("2026-06-01T00:00Z", "2026-06-02T00:00Z"));
    assert_eq!(f.gaps[1], window("2026-06-01T20:00Z", "2026-06-02T00:00Z"));
    assert!(on_call_at(&r, at("2026-06-01T21:00Z")).is_empty());
}

#[test]
fn the_override_made_last_wins_where_two_overlap_even_within_a_millisecond() {
    let base = layer("2026-06-01T00:00", ShiftLength::Weeks(1), &[1]);
    // Both made in the same millisecond; the store numbered them 1 then 2.
    let make = |n: u8, start: &str, end: &str, seq: i64| Override {
        id: OverrideId::from_uuid(Uuid::from_bytes([n; 16])),
        user: user(n),
        start: at(start),
        end: at(end),
        created_at: at("2026-05-01T00:00Z"),
        seq,
    };
    let r = rota(
        "UTC",
        vec![base],
        vec![
            make(6, "2026-06-03T00:00Z", "2026-06-05T00:00Z", 1),
            make(5, "2026-06-02T00:00Z", "2026-06-04T00:00Z", 2),
        ],
    );
    assert_eq!(on_call_at(&r, at("2026-06-03T12:00Z")), [user(5)]);
    assert_eq!(on_call_at(&r, at("2026-06-04T12:00Z")), [user(6)]);
}

#[test]
fn a_stretch_began_at_its_real_start_however_far_back() {
    let weekly = layer("2026-06-01T09:00", ShiftLength::Weeks(1), &[1, 2]);
    let r = rota("UTC", vec![weekly.clone()], Vec::new());
    // Three days back: the look-back doubles from a day until it holds the handoff.
    assert_eq!(
        stretch_began(&r, at("2026-06-04T12:00Z")),
        Some(at("2026-06-01T09:00Z"))
    );
    assert_eq!(
        stretch_began(&r, at("2026-06-01T09:00Z")),
        Some(at("2026-06-01T09:00Z"))
    );
    // Alice also covered the day before her turn: her stretch began then.
    let cover = Override {
        id: OverrideId::from_uuid(Uuid::from_bytes([7; 16])),
        user: user(1),
        start: at("2026-05-31T06:00Z"),
        end: at("2026-06-01T09:00Z"),
        created_at: at("2026-05-01T00:00Z"),
        seq: 1,
    };
    let covered = rota("UTC", vec![weekly], vec![cover]);
    assert_eq!(
        stretch_began(&covered, at("2026-06-04T12:00Z")),
        Some(at("2026-05-31T06:00Z"))
    );
    // Nobody on call: no stretch.
    let mut days = layer("2026-06-01T00:00", ShiftLength::Days(1), &[1]);
    days.restrictions = vec![Restriction::Daily {
        start: time("09:00"),
        end: time("17:00"),
    }];
    let r = rota("UTC", vec![days], Vec::new());
    assert_eq!(stretch_began(&r, at("2026-06-02T20:00Z")), None);
    assert_eq!(
        stretch_began(&r, at("2026-06-02T16:00Z")),
        Some(at("2026-06-02T09:00Z"))
    );
    // One person on call for years: as far back as the look-back goes.
    let alone = rota(
        "UTC",
        vec![layer("2020-01-01T00:00", ShiftLength::Days(1), &[1])],
        Vec::new(),
    );
    let now = at("2026-06-04T12:00Z");
    assert_eq!(stretch_began(&alone, now), Some(look_back(now).start));
}

#[test]
fn layers_at_the_ends_of_time_give_no_shifts_rather_than_a_panic() {
    let l = layer("-009999-01-01T00:00", ShiftLength::Hours(8784), &[1, 2]);
    let far = window("9999-01-01T00:00Z", "9999-02-01T00:00Z");
    assert!(layer_shifts(&l, &tz("UTC"), far).len() <= 1);
}

#[test]
fn layers_are_checked() {
    let good = layer("2026-06-01T00:00", ShiftLength::Days(1), &[1]);
    assert_eq!(check_layers(std::slice::from_ref(&good)), Ok(()));
    assert_eq!(check_layers(&[]), Err(ScheduleError::LayerCount));
    let mut empty = good.clone();
    empty.participants.clear();
    assert_eq!(
        check_layers(&[good.clone(), empty]),
        Err(ScheduleError::Participants(2))
    );
    let mut zero = good.clone();
    zero.shift = ShiftLength::Hours(0);
    assert_eq!(check_layers(&[zero]), Err(ScheduleError::ShiftLength));
    assert!(Window::new(at("2026-01-02T00:00Z"), at("2026-01-01T00:00Z")).is_err());
}

// Properties, over random rotations in the four zones, around their clock changes.

const ZONES: [&str; 4] = [
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
];

fn any_shift() -> impl Strategy<Value = ShiftLength> {
    prop_oneof![
        (1u32..=48).prop_map(ShiftLength::Hours),
        (1u32..=10).prop_map(ShiftLength::Days),
        (1u32..=3).prop_map(ShiftLength::Weeks),
    ]
}

fn any_time() -> impl Strategy<Value = Time> {
    (
        0i8..24,
        prop_oneof![Just(0i8), Just(15), Just(30), Just(45)],
    )
        .prop_map(|(h, m)| Time::new(h, m, 0, 0).unwrap())
}

fn any_day() -> impl Strategy<Value = Day> {
    prop_oneof![
        Just(Day::Monday),
        Just(Day::Tuesday),
        Just(Day::Wednesday),
        Just(Day::Thursday),
        Just(Day::Friday),
        Just(Day::Saturday),
        Just(Day::Sunday),
    ]
}

fn any_restriction() -> impl Strategy<Value = Restriction> {
    prop_oneof![
        (any_time(), any_time()).prop_map(|(start, end)| Restriction::Daily { start, end }),
        (any_day(), any_time(), any_day(), any_time()).prop_map(
            |(start_day, start, end_day, end)| Restriction::Weekly {
                start_day,
                start,
                end_day,
                end,
            }
        ),
    ]
}

/// A layer starting some day in 2026 at some time (clock changes fall in March, April,
/// October and November).
fn any_layer() -> impl Strategy<Value = Layer> {
    (
        0i64..330,
        any_time(),
        any_shift(),
        1u8..6,
        proptest::collection::vec(any_restriction(), 0..3),
    )
        .prop_map(|(day, t, shift, people, restrictions)| Layer {
            name: "rota".to_owned(),
            participants: (1..=people).map(user).collect(),
            start: jiff::civil::date(2026, 1, 1)
                .saturating_add(jiff::Span::new().days(day))
                .to_datetime(t),
            shift,
            restrictions,
        })
}

/// A window of up to 40 days starting some hour in 2026.
fn any_window() -> impl Strategy<Value = Window> {
    (0i64..340 * 24, 1i64..40 * 24).prop_map(|(from, hours)| {
        let start = at("2026-01-01T00:00Z").as_millis() + from * 3_600_000;
        Window::new(
            Timestamp::from_millis(start),
            Timestamp::from_millis(start + hours * 3_600_000),
        )
        .unwrap()
    })
}

fn covered(shifts: &[Shift]) -> i64 {
    shifts
        .iter()
        .map(|s| s.end.as_millis() - s.start.as_millis())
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// A layer without restrictions covers every instant of the window after its first
    /// handoff exactly once; shifts are sorted, do not overlap and stay in the window.
    #[test]
    fn an_unrestricted_layer_covers_the_window_exactly_once(
        mut l in any_layer(), w in any_window(), zone in 0usize..4
    ) {
        l.restrictions.clear();
        let tz = tz(ZONES[zone]);
        let shifts = layer_shifts(&l, &tz, w);
        let first = handoff(&l, &tz, 0).unwrap();
        let from = w.start.max(first);
        if from < w.end {
            prop_assert!(!shifts.is_empty());
            prop_assert_eq!(shifts[0].start, from);
            prop_assert_eq!(shifts.last().unwrap().end, w.end);
            for pair in shifts.windows(2) {
                prop_assert_eq!(pair[0].end, pair[1].start, "no gap, no overlap");
            }
        } else {
            prop_assert!(shifts.is_empty());
        }
        for s in &shifts {
            prop_assert!(s.start < s.end && s.start >= w.start && s.end <= w.end);
        }
    }

    /// Restrictions only remove time: every restricted shift lies inside an unrestricted
    /// shift of the same person.
    #[test]
    fn restrictions_only_remove_time(l in any_layer(), w in any_window(), zone in 0usize..4) {
        let tz = tz(ZONES[zone]);
        let restricted = layer_shifts(&l, &tz, w);
        let mut free = l.clone();
        free.restrictions.clear();
        let all = layer_shifts(&free, &tz, w);
        prop_assert!(covered(&restricted) <= covered(&all));
        for s in &restricted {
            prop_assert!(
                all.iter().any(|a| a.user == s.user && a.start <= s.start && s.end <= a.end),
                "{:?} is not inside an unrestricted shift", s
            );
        }
        for pair in restricted.windows(2) {
            prop_assert!(pair[0].end <= pair[1].start, "sorted, not overlapping");
        }
    }

    /// An override replaces exactly its span: inside it the override's person is on call,
    /// outside it the final schedule is what it was without the override.
    #[test]
    fn an_override_replaces_exactly_its_span(
        layers in proptest::collection::vec(any_layer(), 1..4),
        w in any_window(),
        zone in 0usize..4,
        from in 0i64..1000,
        length in 1i64..1000,
    ) {
        let span = w.end.as_millis() - w.start.as_millis();
        let start = Timestamp::from_millis(w.start.as_millis() + span * from / 1000);
        let end = Timestamp::from_millis(start.as_millis() + (span * length / 1000).max(1));
        let cover = Override {
            id: OverrideId::from_uuid(Uuid::from_bytes([9; 16])),
            user: user(99),
            start,
            end,
            created_at: w.start,
            seq: 0,
        };
        let without = rota(ZONES[zone], layers.clone(), Vec::new());
        let with = rota(ZONES[zone], layers, vec![cover]);
        let before = final_schedule(&without, w);
        let after = final_schedule(&with, w);
        // Sample the edges of every span of both answers.
        let mut probes: Vec<Timestamp> = vec![w.start, start, end];
        for s in before.shifts.iter().chain(after.shifts.iter()) {
            probes.push(s.start);
            probes.push(Timestamp::from_millis(s.end.as_millis() - 1));
        }
        for p in probes.into_iter().filter(|p| *p >= w.start && *p < w.end) {
            let expected = if p >= start && p < end {
                vec![user(99)]
            } else {
                who(&before, p)
            };
            prop_assert_eq!(who(&after, p), expected, "at {:?}", p);
        }
    }

    /// The final schedule of a window is the same whether computed at once or in two
    /// consecutive pieces.
    #[test]
    fn a_window_in_pieces_gives_the_same_final_schedule(
        layers in proptest::collection::vec(any_layer(), 1..4),
        w in any_window(),
        zone in 0usize..4,
        cut in 1i64..1000,
    ) {
        let r = rota(ZONES[zone], layers, Vec::new());
        let span = w.end.as_millis() - w.start.as_millis();
        let middle = Timestamp::from_millis(w.start.as_millis() + (span * cut / 1000).max(1));
        prop_assume!(middle < w.end);
        let whole = final_schedule(&r, w);
        let first = final_schedule(&r, Window { start: w.start, end: middle });
        let second = final_schedule(&r, Window { start: middle, end: w.end });
        let mut joined = first.shifts.clone();
        for s in second.shifts {
            match joined.last_mut() {
                Some(last) if last.end == s.start && last.user == s.user && last.source == s.source => {
                    last.end = s.end;
                }
                _ => joined.push(s),
            }
        }
        // Where a shift comes from starts no earlier than the window, so only the rest is
        // compared.
        let seen = |shifts: &[FinalShift]| -> Vec<(UserId, Timestamp, Timestamp, Source)> {
            shifts.iter().map(|s| (s.user, s.start, s.end, s.source)).collect()
        };
        prop_assert_eq!(seen(&joined), seen(&whole.shifts));
        for pair in whole.shifts.windows(2) {
            prop_assert!(pair[0].end <= pair[1].start);
        }
        let mut gaps = first.gaps.clone();
        for g in second.gaps {
            match gaps.last_mut() {
                Some(last) if last.end == g.start => last.end = g.end,
                _ => gaps.push(g),
            }
        }
        prop_assert_eq!(gaps, whole.gaps);
    }
}

fn who(f: &FinalSchedule, at: Timestamp) -> Vec<UserId> {
    f.shifts
        .iter()
        .find(|s| s.start <= at && at < s.end)
        .map(|s| vec![s.user])
        .unwrap_or_default()
}
