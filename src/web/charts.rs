//! Charts drawn on the server as SVG (no charting library in the browser): grouped vertical
//! bars for series over weeks or sprints, horizontal bars for distributions. Every chart is an
//! image with a title and a description, axis labels, and each bar's value in its `<title>`
//! (shown on hover and read by screen readers). Colours come from CSS classes (`series-1`…),
//! so both themes style them. The same data is the chart's CSV.

use std::fmt::Write;

use super::time::duration;

/// How a chart's values read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    /// Seconds, drawn in hours and shown as durations.
    Seconds,
}

impl Unit {
    fn show(self, value: f64) -> String {
        match self {
            Unit::Count => format!("{value}"),
            Unit::Seconds => duration(value as i64),
        }
    }

    /// A bar's hover text: `W08: 3 completed`; a duration needs no series name (`3 h`).
    fn hover(self, label: &str, value: f64, series: &str) -> String {
        match self {
            Unit::Count => esc(&format!("{label}: {} {series}", self.show(value))),
            Unit::Seconds => esc(&format!("{label}: {}", self.show(value))),
        }
    }

    fn axis(self, value: f64) -> String {
        match self {
            Unit::Count => format!("{value}"),
            Unit::Seconds => format!("{}", (value / 3600.0 * 10.0).round() / 10.0),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One group of vertical bars per label (weeks, sprints, agents).
    Columns,
    /// One horizontal bar per label (distributions), the first series only.
    Rows,
    /// One line per series over the labels (days); a missing value (NaN) ends the line there.
    Lines,
}

/// A chart's data: one value per label for each series.
#[derive(Debug, Clone)]
pub struct Chart {
    /// Names the chart in links and CSV file names (`throughput`).
    pub id: &'static str,
    pub title: &'static str,
    /// The labels' axis (`week`), also the CSV's first column.
    pub label_name: &'static str,
    pub value_name: &'static str,
    pub unit: Unit,
    pub shape: Shape,
    pub labels: Vec<String>,
    /// `(name, values)`; the name heads the series' CSV column.
    pub series: Vec<(&'static str, Vec<f64>)>,
    /// What the card says when there is nothing to draw.
    pub empty: &'static str,
}

/// The usual empty note of a chart over a period.
pub const NO_DATA: &str = "No data in this period.";

const WIDTH: f64 = 640.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 48.0;
const PLOT_HEIGHT: f64 = 180.0;
const ROW: f64 = 30.0;
/// Row charts (distributions) are narrower, so on a phone they fit their card without
/// scrolling and their longest bar's value stays in sight.
const ROWS_WIDTH: f64 = 400.0;
const ROW_LABEL: f64 = 120.0;
/// Room right of the longest bar for its value.
const ROW_VALUE: f64 = 56.0;

fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A round step at or above `max` (1 for none): 1, 2, 2.5 or 5 × 10ⁿ; with `whole` (counts)
/// 1, 2, 3, 4 or 5 × 10ⁿ and never below 1, so every tick is a whole number.
fn nice_ceiling(max: f64, whole: bool) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    let steps: &[f64] = if whole { &[1.0, 2.0, 3.0, 4.0, 5.0, 10.0] } else { &[1.0, 2.0, 2.5, 5.0, 10.0] };
    let nice = steps.iter().map(|m| m * magnitude).find(|v| *v >= max).unwrap_or(10.0 * magnitude);
    if whole { nice.max(1.0).round() } else { nice }
}

impl Chart {
    /// Nothing to draw: no labels, or columns that are all zero (a row of zero, like work
    /// blocked a moment ago, is still shown).
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
            || (self.shape != Shape::Rows && self.series.iter().all(|(_, values)| values.iter().all(|v| *v == 0.0 || v.is_nan())))
    }

    /// Whether a narrow screen should show the chart's right end first: columns over weeks or
    /// sprints, where the latest is the news (not agents, busiest first).
    pub fn starts_at_end(&self) -> bool {
        self.shape == Shape::Columns && matches!(self.label_name, "week" | "sprint")
    }

    /// The legend of a chart with several series: `(css class, name as read)`.
    pub fn legend(&self) -> Vec<(String, String)> {
        if self.series.len() < 2 {
            return Vec::new();
        }
        self.series.iter().enumerate().map(|(i, (name, _))| (format!("series-{}", i + 1), name.replace('_', " "))).collect()
    }

    /// The top of the value axis: four equal steps of a round size (whole numbers for counts,
    /// hours for durations) reaching at least `max`.
    fn axis_top(&self, max: f64) -> f64 {
        match self.unit {
            Unit::Count => 4.0 * nice_ceiling(max / 4.0, true),
            Unit::Seconds => 4.0 * 3600.0 * nice_ceiling(max / 3600.0 / 4.0, false),
        }
    }

    /// What the chart shows, in words (its accessible description).
    fn description(&self) -> String {
        let mut text = format!("{} by {}", self.value_name, self.label_name);
        for (name, values) in &self.series {
            let total: f64 = values.iter().filter(|v| !v.is_nan()).sum();
            // A total means something for counts over time, not for a line of what remains.
            if self.unit == Unit::Count && self.shape != Shape::Lines {
                let _ = write!(text, "; {name}: {total} in all");
            }
        }
        text
    }

    pub fn svg(&self) -> String {
        match self.shape {
            Shape::Columns | Shape::Lines => self.columns(),
            Shape::Rows => self.rows(),
        }
    }

    fn open(&self, width: f64, height: f64) -> String {
        let class = if self.shape == Shape::Rows { "chart rows" } else { "chart" };
        format!(
            "<svg class=\"{class}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" preserveAspectRatio=\"xMinYMin meet\">\
             <title id=\"{id}-title\">{title}</title><desc id=\"{id}-desc\">{desc}</desc>",
            id = self.id,
            title = esc(self.title),
            desc = esc(&self.description()),
        )
    }

    fn columns(&self) -> String {
        let height = TOP + PLOT_HEIGHT + BOTTOM;
        let mut out = self.open(WIDTH, height);
        let max = self.series.iter().flat_map(|(_, v)| v.iter().copied()).filter(|v| !v.is_nan()).fold(0.0, f64::max);
        let top = self.axis_top(max);
        let y = |v: f64| TOP + PLOT_HEIGHT - v / top * PLOT_HEIGHT;
        for tick in 0..=4 {
            let value = top * f64::from(tick) / 4.0;
            let at = y(value);
            let _ = write!(
                out,
                "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{at:.1}\" y2=\"{at:.1}\"/><text class=\"tick\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                WIDTH - RIGHT,
                LEFT - 6.0,
                at + 4.0,
                self.unit.axis(value)
            );
        }
        let slot = (WIDTH - LEFT - RIGHT) / self.labels.len().max(1) as f64;
        let bar = (slot * 0.8 / self.series.len().max(1) as f64).min(28.0);
        // Labels are thinned out so they never overlap (about 8 units a character at 14 px).
        let widest = self.labels.iter().map(|l| short(l).chars().count()).max().unwrap_or(0) as f64 * 8.0 + 10.0;
        let every = ((widest / slot).ceil() as usize).max(1);
        if self.shape == Shape::Lines {
            for (s, (name, values)) in self.series.iter().enumerate() {
                let points: Vec<String> = values
                    .iter()
                    .enumerate()
                    .take_while(|(_, v)| !v.is_nan())
                    .map(|(i, v)| format!("{:.1},{:.1}", LEFT + slot * (i as f64 + 0.5), y(*v)))
                    .collect();
                let _ = write!(out, "<polyline class=\"line series-{}\" points=\"{}\"/>", s + 1, points.join(" "));
                for (i, v) in values.iter().enumerate().take_while(|(_, v)| !v.is_nan()) {
                    let label = self.labels.get(i).map_or("", String::as_str);
                    let _ = write!(
                        out,
                        "<circle class=\"dot series-{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\"><title>{}</title></circle>",
                        s + 1,
                        LEFT + slot * (i as f64 + 0.5),
                        y(*v),
                        self.unit.hover(label, *v, name)
                    );
                }
            }
        }
        for (i, label) in self.labels.iter().enumerate() {
            let x0 = LEFT + slot * i as f64 + (slot - bar * self.series.len() as f64) / 2.0;
            for (s, (name, values)) in self.series.iter().enumerate().filter(|_| self.shape == Shape::Columns) {
                let value = values.get(i).copied().unwrap_or(0.0);
                let top_y = y(value);
                let _ = write!(
                    out,
                    "<rect class=\"bar series-{}\" x=\"{:.1}\" y=\"{top_y:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{}</title></rect>",
                    s + 1,
                    x0 + bar * s as f64,
                    (bar - 1.0).max(1.0),
                    (TOP + PLOT_HEIGHT - top_y).max(0.0),
                    self.unit.hover(label, value, name),
                );
            }
            if i % every == 0 {
                let _ = write!(
                    out,
                    "<text class=\"tick\" x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                    LEFT + slot * (i as f64 + 0.5),
                    TOP + PLOT_HEIGHT + 16.0,
                    esc(&short(label))
                );
            }
        }
        let axis = if self.unit == Unit::Seconds { format!("{} (hours)", self.value_name) } else { self.value_name.to_string() };
        let _ = write!(
            out,
            "<text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text><text class=\"axis\" x=\"12\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 12 {})\">{}</text></svg>",
            LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
            height - 6.0,
            esc(self.label_name),
            TOP + PLOT_HEIGHT / 2.0,
            TOP + PLOT_HEIGHT / 2.0,
            esc(&axis)
        );
        out
    }

    fn rows(&self) -> String {
        let height = TOP + ROW * self.labels.len() as f64 + 8.0;
        let mut out = self.open(ROWS_WIDTH, height);
        let (name, values) = match self.series.first() {
            Some((name, values)) => (*name, values.as_slice()),
            None => ("", &[][..]),
        };
        let max = values.iter().copied().fold(0.0, f64::max);
        let span = ROWS_WIDTH - ROW_LABEL - RIGHT - ROW_VALUE;
        for (i, label) in self.labels.iter().enumerate() {
            let value = values.get(i).copied().unwrap_or(0.0);
            let width = if max > 0.0 { value / max * span } else { 0.0 };
            let y = TOP + ROW * i as f64;
            let _ = write!(
                out,
                "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
                 <rect class=\"bar series-1\" x=\"{ROW_LABEL}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{}</title></rect>\
                 <text class=\"value\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                ROW_LABEL - 8.0,
                y + ROW * 0.6,
                esc(&clip(label, 15)),
                width.max(1.0),
                ROW - 8.0,
                self.unit.hover(label, value, name),
                ROW_LABEL + width.max(1.0) + 6.0,
                y + ROW * 0.6,
                self.unit.show(value),
            );
        }
        out.push_str("</svg>");
        out
    }

    /// The chart's data as CSV: the label column, then one column per series, values as the
    /// API gives them (seconds for durations).
    pub fn csv(&self) -> String {
        let mut out = String::new();
        let header: Vec<String> = std::iter::once(self.label_name).chain(self.series.iter().map(|(n, _)| *n)).map(csv_cell).collect();
        out.push_str(&header.join(","));
        out.push_str("\r\n");
        for (i, label) in self.labels.iter().enumerate() {
            let mut row = vec![csv_cell(label)];
            // A missing value (a day still to come) is an empty cell.
            row.extend(self.series.iter().map(|(_, values)| match values.get(i) {
                Some(v) if v.is_nan() => String::new(),
                Some(v) => format!("{v}"),
                None => String::new(),
            }));
            out.push_str(&row.join(","));
            out.push_str("\r\n");
        }
        out
    }
}

/// A CSV cell: quoted when it holds a comma, quote or line break; a leading `=`, `+`, `-` or
/// `@` is prefixed with `'` so a spreadsheet never runs it as a formula.
fn csv_cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) { format!("'{text}") } else { text.to_string() };
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text }
}

/// A week label `2026-W05` as `W05`, a day `2026-02-16` as `02-16`; others cut to 10 characters.
fn short(label: &str) -> String {
    match label.split_once("-W") {
        Some((_, week)) if week.len() <= 2 => format!("W{week}"),
        _ if label.len() == 10 && label.as_bytes()[4] == b'-' && label.as_bytes()[7] == b'-' => label[5..].to_string(),
        _ => clip(label, 10),
    }
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max { text.to_string() } else { text.chars().take(max - 1).chain(['…']).collect() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Chart {
        Chart {
            id: "throughput",
            title: "Weekly throughput",
            label_name: "week",
            value_name: "todos completed",
            unit: Unit::Count,
            shape: Shape::Columns,
            labels: vec!["2026-W01".into(), "2026-W02".into()],
            series: vec![("completed", vec![3.0, 7.0])],
            empty: NO_DATA,
        }
    }

    #[test]
    fn bars_carry_their_values_and_the_axis_is_rounded_up() {
        let svg = sample().svg();
        assert!(svg.contains("<title>2026-W02: 7 completed</title>"), "{svg}");
        assert!(svg.contains(">8</text>") && svg.contains(">2</text>"), "axis 0, 2, 4, 6, 8 for a maximum of 7: {svg}");
        assert!(!svg.contains(">0.25</text>"), "counts have whole steps");
        assert_eq!(sample().axis_top(1.0), 4.0);
        assert_eq!(sample().axis_top(30.0), 40.0);
        assert!(svg.contains("role=\"img\"") && svg.contains("<desc id=\"throughput-desc\">"));
        assert_eq!(nice_ceiling(0.0, true), 1.0);
        assert_eq!(nice_ceiling(11.0, true), 20.0);
        assert_eq!(nice_ceiling(2.2, false), 2.5);
        assert_eq!(nice_ceiling(2.2, true), 3.0);
        assert_eq!(sample().axis_top(9.0), 12.0, "a maximum of 9: four steps of 3");
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let mut chart = sample();
        chart.labels = vec!["=cmd()".into(), "a,b".into()];
        assert_eq!(chart.csv(), "week,completed\r\n'=cmd(),3\r\n\"a,b\",7\r\n");
    }

    #[test]
    fn lines_stop_where_the_values_do() {
        let mut chart = sample();
        chart.shape = Shape::Lines;
        chart.labels = vec!["2026-02-16".into(), "2026-02-17".into(), "2026-02-18".into()];
        chart.series = vec![("remaining", vec![8.0, 5.0, f64::NAN]), ("ideal", vec![8.0, 4.0, 0.0])];
        let svg = chart.svg();
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<circle class=\"dot series-1\"").count(), 2, "no dot for a day to come");
        assert!(svg.contains("<title>2026-02-17: 5 remaining</title>"));
        assert_eq!(chart.csv(), "week,remaining,ideal\r\n2026-02-16,8,8\r\n2026-02-17,5,4\r\n2026-02-18,,0\r\n");
    }

    #[test]
    fn labels_are_escaped() {
        let mut chart = sample();
        chart.shape = Shape::Rows;
        chart.labels = vec!["<script>".into(), "b".into()];
        let svg = chart.svg();
        assert!(!svg.contains("<script>") && svg.contains("&lt;script&gt;"));
    }
}
