//! Sprint velocity and daily burndown, measured by when todos were completed (fixes decisions.md#work-items).

use serde::Serialize;

use super::calendar::{DAY, date_label, day_start};
use super::{Priority, TodoStatus};

/// A todo linked to the sprint, reduced to what velocity needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PointsTodo {
    pub priority: Priority,
    pub status: TodoStatus,
    pub completed_at: Option<i64>,
}

impl PointsTodo {
    fn points(&self) -> i64 {
        self.priority.points()
    }

    fn is_completed(&self) -> bool {
        self.status == TodoStatus::Completed
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayProgress {
    pub date: String,
    pub completed: i64,
    pub remaining: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Velocity {
    pub sprint_id: String,
    pub sprint_name: String,
    pub total_points: i64,
    pub completed_points: i64,
    pub daily_progress: Vec<DayProgress>,
}

/// (total, completed) points of a sprint's todos.
pub fn points(todos: &[PointsTodo]) -> (i64, i64) {
    let total = todos.iter().map(PointsTodo::points).sum();
    let completed = todos.iter().filter(|t| t.is_completed()).map(PointsTodo::points).sum();
    (total, completed)
}

/// The most days a burndown shows: a longer sprint shows its latest year, so no stored date
/// range can make the answer (or its computation) grow without bound.
pub const MAX_BURNDOWN_DAYS: i64 = 366;

pub fn velocity(sprint_id: &str, sprint_name: &str, start_date: i64, end_date: i64, todos: &[PointsTodo], now: i64) -> Velocity {
    let (total_points, completed_points) = points(todos);
    let last_day = day_start(now.min(end_date));
    let first_day = day_start(start_date).max(last_day - (MAX_BURNDOWN_DAYS - 1) * DAY);
    let mut daily_progress = Vec::new();
    let mut day = first_day;
    while day <= last_day {
        let end_of_day = day + DAY - 1;
        let completed: i64 =
            todos.iter().filter(|t| t.is_completed() && t.completed_at.is_some_and(|at| at <= end_of_day)).map(PointsTodo::points).sum();
        daily_progress.push(DayProgress { date: date_label(day), completed, remaining: (total_points - completed).max(0) });
        day += DAY;
    }
    Velocity { sprint_id: sprint_id.to_string(), sprint_name: sprint_name.to_string(), total_points, completed_points, daily_progress }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MON: i64 = 1_771_200_000; // 2026-02-16 00:00 UTC

    fn todo(priority: &str, status: &str, completed_at: Option<i64>) -> PointsTodo {
        PointsTodo { priority: Priority::parse(priority).unwrap(), status: TodoStatus::parse(status).unwrap(), completed_at }
    }

    #[test]
    fn points_are_one_three_five() {
        let todos = [todo("high", "completed", Some(MON)), todo("medium", "completed", Some(MON)), todo("low", "pending", None)];
        assert_eq!(points(&todos), (9, 8));
    }

    #[test]
    fn burndown_counts_each_day_by_completed_at() {
        let todos = [
            todo("high", "completed", Some(MON + 3_600)),          // day 1
            todo("medium", "completed", Some(MON + DAY + 86_399)), // last second of day 2
            todo("low", "in_progress", None),
        ];
        let v = velocity("s", "Sprint", MON + 500, MON + 10 * DAY, &todos, MON + 2 * DAY + 10);
        assert_eq!(v.total_points, 9);
        assert_eq!(v.completed_points, 8);
        assert_eq!(
            v.daily_progress,
            vec![
                DayProgress { date: "2026-02-16".into(), completed: 5, remaining: 4 },
                DayProgress { date: "2026-02-17".into(), completed: 8, remaining: 1 },
                DayProgress { date: "2026-02-18".into(), completed: 8, remaining: 1 },
            ]
        );
    }

    #[test]
    fn a_reopened_todo_no_longer_counts() {
        let todos = [todo("high", "pending", Some(MON))];
        let v = velocity("s", "S", MON, MON, &todos, MON + 5);
        assert_eq!(v.daily_progress[0].completed, 0);
    }

    #[test]
    fn a_sprint_that_has_not_started_has_no_days() {
        let v = velocity("s", "S", MON + 5 * DAY, MON + 9 * DAY, &[], MON);
        assert!(v.daily_progress.is_empty());
        // ends before now: days stop at the end date
        let v = velocity("s", "S", MON, MON + DAY, &[], MON + 30 * DAY);
        assert_eq!(v.daily_progress.len(), 2);
    }

    #[test]
    fn a_very_long_sprint_shows_its_latest_year() {
        let v = velocity("s", "S", 0, 253_402_300_799, &[], MON);
        assert_eq!(v.daily_progress.len(), MAX_BURNDOWN_DAYS as usize);
        assert_eq!(v.daily_progress.last().map(|d| d.date.as_str()), Some("2026-02-16"));
    }
}
