//! Bar charts as SVG made on the server: no script, sized by a `viewBox` so they fit a
//! phone, coloured by CSS classes (`.chart .s0`…) that follow the light or dark theme.
//! Every chart stands beside a table of the same numbers.

/// One series of a chart: its CSS class, its name (the legend) and a value per column.
pub(crate) struct Series {
    pub class: &'static str,
    pub name: &'static str,
    pub values: Vec<f64>,
}

pub(crate) struct Bar {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub class: &'static str,
    /// What a pointer over it shows (`<title>`).
    pub tip: String,
}

pub(crate) struct Tick {
    pub at: f64,
    pub label: String,
}

/// A column chart, its series stacked; what the template draws.
pub(crate) struct BarChart {
    pub title: String,
    pub width: f64,
    pub height: f64,
    pub bars: Vec<Bar>,
    /// Horizontal lines with their values, from zero up.
    pub levels: Vec<Tick>,
    /// Column labels along the bottom (thinned so they do not overlap).
    pub labels: Vec<Tick>,
    pub legend: Vec<(&'static str, &'static str)>,
    pub plot_bottom: f64,
    pub plot_left: f64,
    pub plot_right: f64,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 40.0;

impl BarChart {
    /// Columns named `labels`, each the stack of `series` values there; `unit` follows
    /// each value in the tips ("3 incidents").
    pub(crate) fn columns(
        title: &str,
        labels: &[String],
        series: Vec<Series>,
        unit: &str,
    ) -> BarChart {
        let n = labels.len().max(1);
        let totals: Vec<f64> = (0..labels.len())
            .map(|i| {
                series
                    .iter()
                    .map(|s| s.values.get(i).copied().unwrap_or(0.0))
                    .sum()
            })
            .collect();
        let top = nice_ceiling(totals.iter().copied().fold(0.0, f64::max));
        let plot_height = HEIGHT - TOP - BOTTOM;
        let slot = (WIDTH - LEFT - RIGHT) / n as f64;
        let width = (slot * 0.7).max(1.0);
        let scale = |v: f64| v / top * plot_height;
        let mut bars = Vec::new();
        for (i, label) in labels.iter().enumerate() {
            let mut base = HEIGHT - BOTTOM;
            for s in &series {
                let v = s.values.get(i).copied().unwrap_or(0.0);
                if v <= 0.0 {
                    continue;
                }
                let h = scale(v);
                base -= h;
                bars.push(Bar {
                    x: round(LEFT + slot * i as f64 + (slot - width) / 2.0),
                    y: round(base),
                    width: round(width),
                    height: round(h),
                    class: s.class,
                    tip: format!("{label}: {} {}{unit}", figure(v), s.name.to_lowercase()),
                });
            }
        }
        let levels = (0..=4)
            .map(|k| {
                let v = top * f64::from(k) / 4.0;
                Tick {
                    at: round(HEIGHT - BOTTOM - scale(v)),
                    label: figure(v),
                }
            })
            .collect();
        // At most about 8 labels along the bottom.
        let every = n.div_ceil(8);
        let labels = labels
            .iter()
            .enumerate()
            .filter(|(i, _)| i % every == 0)
            .map(|(i, l)| Tick {
                at: round(LEFT + slot * (i as f64 + 0.5)),
                label: l.clone(),
            })
            .collect();
        BarChart {
            title: title.to_owned(),
            width: WIDTH,
            height: HEIGHT,
            bars,
            levels,
            labels,
            legend: series.iter().map(|s| (s.class, s.name)).collect(),
            plot_bottom: HEIGHT - BOTTOM,
            plot_left: LEFT,
            plot_right: WIDTH - RIGHT,
        }
    }
}

/// The smallest of 1, 2, 5 × 10ⁿ at or above `v` (at least 1): where the scale ends.
fn nice_ceiling(v: f64) -> f64 {
    if v <= 1.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * magnitude)
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// A value as a label: whole numbers bare, others to one decimal.
fn figure(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round())
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_end_on_round_numbers() {
        for (v, top) in [
            (0.0, 1.0),
            (1.0, 1.0),
            (3.0, 5.0),
            (7.0, 10.0),
            (12.0, 20.0),
            (450.0, 500.0),
        ] {
            assert_eq!(nice_ceiling(v), top, "{v}");
        }
    }

    #[test]
    fn stacked_columns_stand_on_the_axis_and_keep_their_proportions() {
        let chart = BarChart::columns(
            "Pages",
            &["Alice".to_owned(), "Bob".to_owned()],
            vec![
                Series {
                    class: "s0",
                    name: "Business",
                    values: vec![2.0, 0.0],
                },
                Series {
                    class: "s2",
                    name: "Sleep",
                    values: vec![3.0, 1.0],
                },
            ],
            "",
        );
        // Alice: two segments, Bob: one (a zero draws nothing).
        assert_eq!(chart.bars.len(), 3);
        let axis = chart.plot_bottom;
        let alice: Vec<&Bar> = chart.bars.iter().take(2).collect();
        assert!(
            (alice[0].y + alice[0].height - axis).abs() < 0.2,
            "the first sits on the axis"
        );
        assert!(
            (alice[1].y + alice[1].height - alice[0].y).abs() < 0.2,
            "the next on it"
        );
        // The scale ends at 5: Alice's 5 pages fill the plot.
        assert!((alice[0].height + alice[1].height - (axis - TOP)).abs() < 0.3);
        assert!((chart.bars[2].height * 3.0 - alice[1].height).abs() < 0.3);
        assert_eq!(chart.bars[1].tip, "Alice: 3 sleep");
        assert_eq!(chart.levels.last().unwrap().label, "5");
    }
}
