use super::*;

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

/// (histogram, exact sum in ms) -> (count, mean, median, p90)
type SpreadCase = (&'static [(i64, u64)], i64, (u64, f64, f64, f64));

#[test]
fn a_spread_is_worked_out_from_a_histogram_in_whole_seconds() {
    let table: [SpreadCase; 5] = [
        // One value.
        (&[(60, 1)], 60_000, (1, 60.0, 60.0, 60.0)),
        // Odd count: the middle one; p90 of 5 is rank 5.
        (
            &[(10, 1), (20, 1), (30, 1), (40, 1), (100, 1)],
            200_000,
            (5, 40.0, 30.0, 100.0),
        ),
        // Even count: halfway between the middle two; p90 of 10 is rank 9.
        (
            &[
                (1, 1),
                (2, 1),
                (3, 1),
                (4, 1),
                (5, 1),
                (6, 1),
                (7, 1),
                (8, 1),
                (9, 1),
                (10, 1),
            ],
            55_000,
            (10, 5.5, 5.5, 9.0),
        ),
        // Counts and any order; the mean from milliseconds, not the seconds.
        (&[(300, 2), (60, 3)], 780_900, (5, 156.18, 60.0, 300.0)),
        // p90 of 11 is rank 10 (ceil 9.9).
        (
            &[(1, 9), (2, 1), (3, 1)],
            14_000,
            (11, 14.0 / 11.0, 1.0, 2.0),
        ),
    ];
    for (histogram, sum, (count, mean, median, p90)) in table {
        let s = Spread::of(histogram, sum).unwrap();
        assert_eq!(s.count, count, "{histogram:?}");
        assert!((s.mean_seconds - mean).abs() < 1e-9, "{histogram:?}: {s:?}");
        assert_eq!(
            (s.median_seconds, s.p90_seconds),
            (median, p90),
            "{histogram:?}"
        );
    }
    assert_eq!(Spread::of(&[], 0), None);
    assert_eq!(Spread::of(&[(5, 0)], 0), None);
}

#[test]
fn pages_are_sorted_into_the_hours_of_the_paged_persons_own_day() {
    let utc = TimeZone::UTC;
    let tokyo = TimeZone::get("Asia/Tokyo").unwrap();
    let berlin = TimeZone::get("Europe/Berlin").unwrap();
    let kathmandu = TimeZone::get("Asia/Kathmandu").unwrap();
    let table = [
        // Wednesday 2026-03-04.
        ("2026-03-04T07:59:59Z", &utc, HourClass::Sleep),
        ("2026-03-04T08:00:00Z", &utc, HourClass::Business),
        ("2026-03-04T17:59:59Z", &utc, HourClass::Business),
        ("2026-03-04T18:00:00Z", &utc, HourClass::Off),
        ("2026-03-04T21:59:59Z", &utc, HourClass::Off),
        ("2026-03-04T22:00:00Z", &utc, HourClass::Sleep),
        // Saturday daytime is off hours, Saturday night sleep.
        ("2026-03-07T12:00:00Z", &utc, HourClass::Off),
        ("2026-03-07T23:00:00Z", &utc, HourClass::Sleep),
        // Noon UTC on a Wednesday is 21:00 in Tokyo: off hours there.
        ("2026-03-04T12:00:00Z", &tokyo, HourClass::Off),
        // 23:30 UTC on a Wednesday is 08:30 on Thursday in Tokyo: business.
        ("2026-03-04T23:30:00Z", &tokyo, HourClass::Business),
        // Berlin springs forward on Sunday 2026-03-29 (02:00 → 03:00, UTC+2 after).
        // 05:30 UTC is 07:30 local: still sleep hours on the short night.
        ("2026-03-29T05:30:00Z", &berlin, HourClass::Sleep),
        // 06:00 UTC is 08:00 local (it would be 07:00 without the change): off hours,
        // since it is a Sunday.
        ("2026-03-29T06:00:00Z", &berlin, HourClass::Off),
        // Monday 06:15 UTC is 08:15 local: business.
        ("2026-03-30T06:15:00Z", &berlin, HourClass::Business),
        // The Friday before, 07:15 UTC is 08:15 local (UTC+1): business.
        ("2026-03-27T07:15:00Z", &berlin, HourClass::Business),
        // UTC+5:45: 02:15 UTC is 08:00 local.
        ("2026-03-04T02:14:59Z", &kathmandu, HourClass::Sleep),
        ("2026-03-04T02:15:00Z", &kathmandu, HourClass::Business),
    ];
    for (time, tz, class) in table {
        assert_eq!(HourClass::of(at(time), tz), class, "{time} in {tz:?}");
    }
}

#[test]
fn a_period_runs_forward_and_for_at_most_two_years() {
    let from = at("2026-01-01T00:00:00Z");
    assert_eq!(Period::parse(from, from), Err(PeriodError::Inverted));
    assert_eq!(
        Period::parse(at("2026-02-01T00:00:00Z"), from),
        Err(PeriodError::Inverted)
    );
    assert!(Period::parse(from, at("2027-12-31T00:00:00Z")).is_ok());
    assert_eq!(
        Period::parse(from, at("2028-01-03T00:00:01Z")),
        Err(PeriodError::TooLong)
    );
}

#[test]
fn weeks_start_on_monday_at_midnight_utc() {
    // 2026-03-02 is a Monday.
    let monday = at("2026-03-02T00:00:00Z");
    assert_eq!(week_start(week_of(monday)), monday);
    assert_eq!(week_of(at("2026-03-08T23:59:59Z")), week_of(monday));
    assert_eq!(week_of(at("2026-03-09T00:00:00Z")), week_of(monday) + 1);
    assert_eq!(week_start(week_of(at("2026-03-05T10:00:00Z"))), monday);
    let period = Period::parse(at("2026-03-04T00:00:00Z"), at("2026-03-16T00:00:00Z")).unwrap();
    assert_eq!(
        weeks(period),
        vec![week_of(monday), week_of(monday) + 1],
        "the period ends at midnight: the week starting then is not in it"
    );
}

#[test]
fn durations_read_as_people_say_them() {
    for (seconds, words) in [
        (0.0, "0s"),
        (44.6, "45s"),
        (252.0, "4m 12s"),
        (7500.0, "2h 5m"),
        (273_600.0, "3d 4h"),
    ] {
        assert_eq!(duration_words(seconds), words);
    }
}

#[test]
fn a_persons_week_starts_on_their_own_monday() {
    let tokyo = TimeZone::get("Asia/Tokyo").unwrap();
    let monday = |d: &str| {
        date_of_day(local_week(at(d), &tokyo).unwrap())
            .unwrap()
            .to_string()
    };
    // Sunday 16:00 UTC is already Monday 01:00 in Tokyo: the new week there.
    assert_eq!(monday("2026-03-29T16:00:00Z"), "2026-03-30");
    assert_eq!(monday("2026-03-29T14:00:00Z"), "2026-03-23");
    assert_eq!(
        local_week(at("1970-01-05T00:00:00Z"), &TimeZone::UTC),
        Some(4)
    );
    for class in [HourClass::Business, HourClass::Off, HourClass::Sleep] {
        assert_eq!(HourClass::parse(class.as_str()), Some(class));
    }
}
