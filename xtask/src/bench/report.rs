//! Benchmark results: rows with a goal, the merged report table and the JSON written next to it.

use std::fmt::Write as _;

use serde_json::{json, Value};

/// What a row must satisfy; most figures measured here are lower-is-better, rates say otherwise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Goal {
    /// Informational: no target.
    None,
    /// perth / reference must not exceed this ratio.
    RatioAtMost(f64),
    /// perth / reference must reach at least this ratio (rates: more is better).
    RatioAtLeast(f64),
    /// perth must not exceed the reference plus this amount, in the row's unit.
    AtMostReferencePlus(f64),
    /// perth must not exceed this value, in the row's unit (the reference is shown for scale).
    AtMost(f64),
    /// perth must reach at least this value, in the row's unit (rates: more is better).
    AtLeast(f64),
}

impl Goal {
    /// Returns the goal as the report shows it, or `None` for an informational row.
    pub(crate) fn describe(self, unit: &str) -> Option<String> {
        match self {
            Goal::None => None,
            Goal::RatioAtMost(max) => Some(format!("ratio <= {max:.2}")),
            Goal::RatioAtLeast(min) => Some(format!("ratio >= {min:.2}")),
            Goal::AtMostReferencePlus(delta) => {
                Some(format!("<= ref + {} {unit}", trim_number(delta)))
            }
            Goal::AtMost(max) => Some(format!("<= {} {unit}", trim_number(max))),
            Goal::AtLeast(min) => Some(format!(">= {} {unit}", trim_number(min))),
        }
    }
}

/// One measured figure of perth next to the same figure of the reference.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub(crate) name: String,
    pub(crate) perth: f64,
    pub(crate) reference: f64,
    pub(crate) unit: String,
    pub(crate) goal: Goal,
}

impl Row {
    pub(crate) fn new(
        name: impl Into<String>,
        perth: f64,
        reference: f64,
        unit: &str,
        goal: Goal,
    ) -> Row {
        Row {
            name: name.into(),
            perth,
            reference,
            unit: unit.to_owned(),
            goal,
        }
    }

    /// Returns perth / reference, or `None` when the reference is zero.
    pub(crate) fn ratio(&self) -> Option<f64> {
        (self.reference != 0.0).then(|| self.perth / self.reference)
    }

    /// Returns whether the goal is met, or `None` when the row has no goal (or no ratio to judge).
    pub(crate) fn met(&self) -> Option<bool> {
        match self.goal {
            Goal::None => None,
            Goal::RatioAtMost(max) => self.ratio().map(|ratio| ratio <= max),
            Goal::RatioAtLeast(min) => self.ratio().map(|ratio| ratio >= min),
            Goal::AtMostReferencePlus(delta) => Some(self.perth <= self.reference + delta),
            Goal::AtMost(max) => Some(self.perth <= max),
            Goal::AtLeast(min) => Some(self.perth >= min),
        }
    }

    /// Returns the row as `{name, perth, reference, unit, ratio, goal, met}`.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "perth": self.perth,
            "reference": self.reference,
            "unit": self.unit,
            "ratio": self.ratio(),
            "goal": self.goal.describe(&self.unit),
            "met": self.met(),
        })
    }
}

/// The rows one benchmark produced, with the name of what perth was compared against.
#[derive(Debug, Clone)]
pub(crate) struct Section {
    pub(crate) bench: String,
    pub(crate) reference: String,
    pub(crate) rows: Vec<Row>,
}

/// Returns the JSON array of a section's rows.
pub(crate) fn rows_json(rows: &[Row]) -> Value {
    Value::Array(rows.iter().map(Row::to_json).collect())
}

/// Renders all sections as one table; each section starts with a line naming its reference.
pub(crate) fn render_table(sections: &[Section]) -> String {
    let header = ["benchmark", "perth", "reference", "ratio", "goal", "met"];
    let mut lines: Vec<Option<[String; 6]>> = Vec::new();
    let mut titles = Vec::new();
    for section in sections {
        titles.push((
            lines.len(),
            format!("{} (reference: {})", section.bench, section.reference),
        ));
        for row in &section.rows {
            lines.push(Some([
                format!("  {}", row.name),
                format_value(row.perth, &row.unit),
                format_value(row.reference, &row.unit),
                row.ratio()
                    .map_or_else(|| "-".to_owned(), |r| format!("{r:.2}")),
                row.goal
                    .describe(&row.unit)
                    .unwrap_or_else(|| "-".to_owned()),
                match row.met() {
                    Some(true) => "yes".to_owned(),
                    Some(false) => "NO".to_owned(),
                    None => "-".to_owned(),
                },
            ]));
        }
        lines.push(None);
    }

    let mut widths = header.map(str::len);
    for cells in lines.iter().flatten() {
        for (width, cell) in widths.iter_mut().zip(cells) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let render = |cells: &[String]| {
        let mut line = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            // Names and goals read left to right; numbers line up on the right.
            let left = matches!(i, 0 | 4 | 5);
            if i > 0 {
                line.push_str("  ");
            }
            if left {
                let _ = write!(line, "{cell:<width$}");
            } else {
                let _ = write!(line, "{cell:>width$}");
            }
        }
        line.trim_end().to_owned()
    };

    let mut out = render(&header.map(str::to_owned));
    out.push('\n');
    out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
    out.push('\n');
    let mut titles = titles.into_iter().peekable();
    for (index, cells) in lines.iter().enumerate() {
        while let Some((_, title)) = titles.next_if(|(at, _)| *at == index) {
            out.push_str(&title);
            out.push('\n');
        }
        match cells {
            Some(cells) => {
                out.push_str(&render(cells));
                out.push('\n');
            }
            None => out.push('\n'),
        }
    }
    out.trim_end().to_owned() + "\n"
}

/// Formats a figure with its unit, with fewer decimals as it grows.
pub(crate) fn format_value(value: f64, unit: &str) -> String {
    let number = if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    };
    if unit.is_empty() {
        number
    } else {
        format!("{number} {unit}")
    }
}

fn trim_number(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Returns the `p`th percentile (0 to 100) of `samples`, nearest rank, or `None` if empty.
pub(crate) fn percentile(samples: &[f64], p: f64) -> Option<f64> {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len().max(1)) - 1).copied()
}

/// Returns the median of `samples` (the mean of the middle two for an even count), or `None` if empty.
pub(crate) fn median(samples: &[f64]) -> Option<f64> {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_sections() -> Vec<Section> {
        vec![Section {
            bench: "foundation".to_owned(),
            reference: "zellij 0.45.1".to_owned(),
            rows: vec![
                Row::new("launch", 412.3, 398.0, "ms", Goal::RatioAtMost(1.05)),
                Row::new(
                    "throughput (cat 50 MB)",
                    9.81,
                    8.5,
                    "s",
                    Goal::RatioAtMost(1.05),
                ),
                Row::new(
                    "idle server CPU",
                    0.31,
                    0.2,
                    "%",
                    Goal::AtMostReferencePlus(0.5),
                ),
                Row::new("server RSS", 41.0, 0.0, "MiB", Goal::None),
            ],
        }]
    }

    #[test]
    fn ratio_and_goal_judge_each_kind_of_row() {
        let rows = &sample_sections()[0].rows;
        assert_eq!(rows[0].met(), Some(true));
        assert_eq!(rows[1].met(), Some(false));
        assert_eq!(rows[2].met(), Some(true));
        assert_eq!(rows[3].ratio(), None);
        assert_eq!(rows[3].met(), None);
        let over = Row::new("idle", 0.8, 0.2, "%", Goal::AtMostReferencePlus(0.5));
        assert_eq!(over.met(), Some(false));
        let rate = |perth| Row::new("outbox", perth, 9000.0, "events/s", Goal::AtLeast(5000.0));
        assert_eq!(rate(5000.0).met(), Some(true));
        assert_eq!(rate(4999.0).met(), Some(false));
        assert_eq!(
            Goal::AtLeast(5000.0).describe("events/s").as_deref(),
            Some(">= 5000 events/s")
        );
        let speed = |perth| Row::new("cat", perth, 10.0, "MB/s", Goal::RatioAtLeast(0.95));
        assert_eq!(speed(9.5).met(), Some(true));
        assert_eq!(speed(9.4).met(), Some(false));
        assert_eq!(
            Goal::RatioAtLeast(0.95).describe("MB/s").as_deref(),
            Some("ratio >= 0.95")
        );
    }

    #[test]
    fn rows_serialize_with_the_report_fields() {
        let json = rows_json(&sample_sections()[0].rows);
        assert_eq!(
            json[0],
            json!({"name": "launch", "perth": 412.3, "reference": 398.0, "unit": "ms",
                   "ratio": 412.3 / 398.0, "goal": "ratio <= 1.05", "met": true})
        );
        assert_eq!(json[2]["goal"], "<= ref + 0.5 %");
        assert_eq!(json[3]["ratio"], Value::Null);
        assert_eq!(json[3]["goal"], Value::Null);
        assert_eq!(json[3]["met"], Value::Null);
    }

    #[test]
    fn table_lists_sections_with_aligned_columns() {
        insta::assert_snapshot!(render_table(&sample_sections()), @r"
        benchmark                    perth  reference  ratio  goal            met
        -------------------------------------------------------------------------
        foundation (reference: zellij 0.45.1)
          launch                    412 ms     398 ms   1.04  ratio <= 1.05   yes
          throughput (cat 50 MB)    9.81 s     8.50 s   1.15  ratio <= 1.05   NO
          idle server CPU           0.31 %     0.20 %   1.55  <= ref + 0.5 %  yes
          server RSS              41.0 MiB   0.00 MiB      -  -               -
        ");
    }

    #[test]
    fn values_get_fewer_decimals_as_they_grow() {
        assert_eq!(format_value(1234.56, "ms"), "1235 ms");
        assert_eq!(format_value(12.345, "s"), "12.3 s");
        assert_eq!(format_value(0.123, "%"), "0.12 %");
        assert_eq!(format_value(3.0, ""), "3.00");
    }

    #[test]
    fn median_of_odd_even_and_empty_samples() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn percentile_takes_the_nearest_rank() {
        let samples: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&samples, 95.0), Some(19.0));
        assert_eq!(percentile(&samples, 100.0), Some(20.0));
        assert_eq!(percentile(&samples, 0.0), Some(1.0));
        assert_eq!(percentile(&[7.0], 95.0), Some(7.0));
        assert_eq!(percentile(&[], 95.0), None);
    }
}
