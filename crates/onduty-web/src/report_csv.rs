//! A report as CSV, in long form: one row per figure (`section,name,week,metric,value`),
//! so that any CSV reader, spreadsheet or pivot table takes it whole.

use onduty_app::reports::{ChannelCount, Noise, Report};

/// The report's figures, one per row, under a header row.
pub fn to_csv(report: &Report) -> String {
    let mut rows: Vec<[String; 5]> = Vec::new();
    let mut row = |section: &str, name: &str, week: &str, metric: &str, value: String| {
        rows.push([
            section.to_owned(),
            spreadsheet_safe(name),
            week.to_owned(),
            metric.to_owned(),
            value,
        ]);
    };
    let number = |n: f64| format!("{}", (n * 1000.0).round() / 1000.0);
    row("period", "", "", "from", report.period.from.to_rfc3339());
    row("period", "", "", "to", report.period.to.to_rfc3339());
    let total = [
        ("incidents", report.incidents),
        ("alerts", report.alerts),
        ("acknowledged", report.acknowledged),
        ("resolved", report.resolved),
        ("escalated", report.escalated),
        ("auto_resolved", report.auto_resolved),
        ("flaps", report.flaps),
        ("heartbeat_failures", report.heartbeat_failures),
    ];
    for (metric, n) in total {
        row("summary", "", "", metric, n.to_string());
    }
    row(
        "summary",
        "",
        "",
        "escalated_share",
        number(report.escalated_share),
    );
    row(
        "summary",
        "",
        "",
        "auto_resolved_share",
        number(report.auto_resolved_share),
    );
    for (what, spread) in [
        ("acknowledge", report.time_to_acknowledge),
        ("resolve", report.time_to_resolve),
    ] {
        if let Some(s) = spread {
            row(
                "summary",
                "",
                "",
                &format!("mean_seconds_to_{what}"),
                number(s.mean_seconds),
            );
            row(
                "summary",
                "",
                "",
                &format!("median_seconds_to_{what}"),
                number(s.median_seconds),
            );
            row(
                "summary",
                "",
                "",
                &format!("p90_seconds_to_{what}"),
                number(s.p90_seconds),
            );
        }
    }
    let channels =
        |row: &mut dyn FnMut(&str, &str, &str, &str, String), week: &str, list: &[ChannelCount]| {
            for c in list {
                row(
                    "acknowledgements",
                    c.channel,
                    week,
                    "acknowledgements",
                    c.count.to_string(),
                );
            }
        };
    channels(&mut row, "", &report.acknowledgements_by_channel);
    for w in &report.weeks {
        let week = w.start.to_rfc3339()[..10].to_owned();
        for (metric, n) in [
            ("incidents", w.incidents),
            ("alerts", w.alerts),
            ("acknowledged", w.acknowledged),
            ("resolved", w.resolved),
            ("escalated", w.escalated),
            ("auto_resolved", w.auto_resolved),
            ("flaps", w.flaps),
            ("heartbeat_failures", w.heartbeat_failures),
        ] {
            row("week", "", &week, metric, n.to_string());
        }
        if let Some(s) = w.mean_seconds_to_acknowledge {
            row("week", "", &week, "mean_seconds_to_acknowledge", number(s));
        }
        if let Some(s) = w.mean_seconds_to_resolve {
            row("week", "", &week, "mean_seconds_to_resolve", number(s));
        }
        channels(&mut row, &week, &w.acknowledgements_by_channel);
    }
    let noise = |row: &mut dyn FnMut(&str, &str, &str, &str, String), section: &str, n: &Noise| {
        let name = match &n.dedup_key {
            Some(key) => format!("{} / {key}", n.service),
            None => n.service.clone(),
        };
        for (metric, v) in [
            ("incidents", n.incidents),
            ("alerts", n.alerts),
            ("flaps", n.flaps),
        ] {
            row(section, &name, "", metric, v.to_string());
        }
    };
    for n in &report.noisiest_services {
        noise(&mut row, "noisy_service", n);
    }
    for n in &report.noisiest_alert_keys {
        noise(&mut row, "noisy_alert_key", n);
    }
    for r in &report.responders {
        for (metric, v) in [
            ("pages", r.pages),
            ("business_hours_pages", r.business_hours_pages),
            ("off_hours_pages", r.off_hours_pages),
            ("sleep_hours_pages", r.sleep_hours_pages),
            ("acknowledged", r.acknowledged),
            ("resolved", r.resolved),
            ("weeks_over_sleep_budget", r.weeks_over_budget),
        ] {
            row("responder", &r.name, "", metric, v.to_string());
        }
        row(
            "responder",
            &r.name,
            "",
            "hours_on_call",
            number(r.hours_on_call),
        );
        for w in &r.sleep_pages_by_week {
            row(
                "responder",
                &r.name,
                &w.week_of.to_string(),
                "sleep_hours_pages",
                w.pages.to_string(),
            );
        }
    }
    let mut out = csv::Writer::from_writer(Vec::new());
    // Writing to memory cannot fail; a record is always five fields.
    let _ = out.write_record(["section", "name", "week", "metric", "value"]);
    for r in rows {
        let _ = out.write_record(&r);
    }
    String::from_utf8(out.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Names come from people and monitoring tools: a leading `=`, `+`, `-` or `@` would be
/// a formula to a spreadsheet, so it is quoted with an apostrophe (OWASP's advice).
fn spreadsheet_safe(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}
