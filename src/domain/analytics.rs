//! Analytics figures (decisions.md#work-items), computed from todos, their status history and
//! sprint points. Weeks are ISO weeks in UTC (fixes decisions.md#work-items).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::calendar::{DAY, week_label, week_start};
use super::todos::Todo;
use super::{TodoStatus, velocity};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HistoryRow {
    pub id: i64,
    pub todo_id: String,
    pub new_status: String,
    pub changed_at: i64,
}

/// A sprint with its points, for the velocity trend.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SprintPoints {
    pub sprint_id: String,
    pub sprint_name: String,
    pub total_points: i64,
    pub completed_points: i64,
}

impl SprintPoints {
    pub fn new(sprint_id: String, sprint_name: String, todos: &[velocity::PointsTodo]) -> SprintPoints {
        let (total_points, completed_points) = velocity::points(todos);
        SprintPoints { sprint_id, sprint_name, total_points, completed_points }
    }
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Period {
    pub start: i64,
    pub end: i64,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct WeekCount {
    pub week: String,
    pub completed: i64,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct WeekCreatedCompleted {
    pub week: String,
    pub created: i64,
    pub completed: i64,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct CycleEntry {
    pub todo_id: String,
    pub seconds: i64,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct WeekAverage {
    pub week: String,
    pub average_seconds: i64,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Throughput {
    pub weekly: Vec<WeekCount>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct CreatedVsCompleted {
    pub weekly: Vec<WeekCreatedCompleted>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct CycleTime {
    pub entries: Vec<CycleEntry>,
    pub average_seconds: i64,
    pub median_seconds: i64,
    pub weekly: Vec<WeekAverage>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct LeadTime {
    pub average_seconds: i64,
    pub median_seconds: i64,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Workload {
    pub agent: String,
    pub total: i64,
    pub completed: i64,
    pub in_progress: i64,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Analytics {
    pub period: Period,
    pub throughput: Throughput,
    pub created_vs_completed: CreatedVsCompleted,
    pub cycle_time: CycleTime,
    pub lead_time: LeadTime,
    pub status_distribution: BTreeMap<String, i64>,
    pub priority_distribution: BTreeMap<String, i64>,
    pub agent_workload: Vec<Workload>,
    pub velocity_trend: Vec<SprintPoints>,
}

/// Round half up of the mean of non-negative values; 0 for none.
pub fn average(values: &[i64]) -> i64 {
    if values.is_empty() {
        return 0;
    }
    let n = values.len() as i128;
    let sum: i128 = values.iter().map(|v| i128::from(*v)).sum();
    ((2 * sum + n).div_euclid(2 * n)) as i64
}

/// Middle value; for an even count the rounded mean of the two middle ones; 0 for none.
pub fn median(values: &[i64]) -> i64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    match n {
        0 => 0,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => average(&[sorted[n / 2 - 1], sorted[n / 2]]),
    }
}

/// Every ISO week from the one containing `start` to the one containing `end`.
fn weeks(start: i64, end: i64) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    let mut week = week_start(start);
    while week <= end {
        out.push((week, week_label(week)));
        week += 7 * DAY;
    }
    out
}

/// `todos` are the scoped todos in `created_at` DESC order; `history` their status rows.
pub fn compute(start: i64, end: i64, todos: &[Todo], history: &[HistoryRow], velocity_trend: Vec<SprintPoints>) -> Analytics {
    let in_range = |t: i64| start <= t && t <= end;
    let created: Vec<&Todo> = todos.iter().filter(|t| in_range(t.created_at)).collect();
    let completed: Vec<&Todo> = todos.iter().filter(|t| t.completed_at.is_some_and(in_range)).collect();
    let weeks = weeks(start, end);
    let count_in_week = |times: &mut dyn Iterator<Item = i64>, week: i64| times.filter(|t| week_start(*t) == week).count() as i64;

    let throughput = Throughput {
        weekly: weeks
            .iter()
            .map(|(w, label)| WeekCount {
                week: label.clone(),
                completed: count_in_week(&mut completed.iter().filter_map(|t| t.completed_at), *w),
            })
            .collect(),
    };
    let created_vs_completed = CreatedVsCompleted {
        weekly: weeks
            .iter()
            .map(|(w, label)| WeekCreatedCompleted {
                week: label.clone(),
                created: count_in_week(&mut created.iter().map(|t| t.created_at), *w),
                completed: count_in_week(&mut completed.iter().filter_map(|t| t.completed_at), *w),
            })
            .collect(),
    };

    // Earliest in_progress and completed history rows (in range) per todo, ties by row id.
    let mut firsts: HashMap<(&str, &str), (i64, i64)> = HashMap::new();
    for row in history.iter().filter(|r| in_range(r.changed_at)) {
        let key = (row.todo_id.as_str(), row.new_status.as_str());
        let candidate = (row.changed_at, row.id);
        firsts.entry(key).and_modify(|best| *best = (*best).min(candidate)).or_insert(candidate);
    }
    let mut entries = Vec::new();
    let mut completion_times = Vec::new();
    for todo in &completed {
        let started = firsts.get(&(todo.id.as_str(), TodoStatus::InProgress.as_str()));
        let finished = firsts.get(&(todo.id.as_str(), TodoStatus::Completed.as_str()));
        if let (Some((t_ip, _)), Some((t_c, _))) = (started, finished)
            && t_c >= t_ip
        {
            entries.push(CycleEntry { todo_id: todo.id.clone(), seconds: t_c - t_ip });
            completion_times.push(*t_c);
        }
    }
    let seconds: Vec<i64> = entries.iter().map(|e| e.seconds).collect();
    let cycle_weekly = weeks
        .iter()
        .map(|(w, label)| {
            let in_week: Vec<i64> =
                entries.iter().zip(&completion_times).filter(|(_, t_c)| week_start(**t_c) == *w).map(|(e, _)| e.seconds).collect();
            WeekAverage { week: label.clone(), average_seconds: average(&in_week) }
        })
        .collect();
    let cycle_time = CycleTime { average_seconds: average(&seconds), median_seconds: median(&seconds), weekly: cycle_weekly, entries };

    let leads: Vec<i64> = completed.iter().filter_map(|t| t.completed_at.map(|c| c - t.created_at)).filter(|d| *d > 0).collect();
    let lead_time = LeadTime { average_seconds: average(&leads), median_seconds: median(&leads) };

    let mut status_distribution = BTreeMap::new();
    let mut priority_distribution = BTreeMap::new();
    let mut agent_workload: Vec<Workload> = Vec::new();
    for todo in &created {
        *status_distribution.entry(todo.status.as_str().to_string()).or_insert(0) += 1;
        *priority_distribution.entry(todo.priority.as_str().to_string()).or_insert(0) += 1;
        let agent = todo.agent.as_deref().filter(|a| !a.is_empty()).unwrap_or("unassigned");
        let index = match agent_workload.iter().position(|w| w.agent == agent) {
            Some(i) => i,
            None => {
                agent_workload.push(Workload { agent: agent.to_string(), total: 0, completed: 0, in_progress: 0 });
                agent_workload.len() - 1
            }
        };
        let entry = &mut agent_workload[index];
        entry.total += 1;
        entry.completed += i64::from(todo.status == TodoStatus::Completed);
        entry.in_progress += i64::from(todo.status == TodoStatus::InProgress);
    }
    // Stable sort: ties keep first-seen order.
    agent_workload.sort_by_key(|w| std::cmp::Reverse(w.total));

    Analytics {
        period: Period { start, end },
        throughput,
        created_vs_completed,
        cycle_time,
        lead_time,
        status_distribution,
        priority_distribution,
        agent_workload,
        velocity_trend,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MON: i64 = 1_771_200_000; // 2026-02-16 00:00 UTC, ISO week 2026-W08

    fn todo(id: &str, status: &str, priority: &str, agent: Option<&str>, created: i64, completed: Option<i64>) -> Todo {
        Todo {
            id: id.into(),
            name: None,
            session_id: None,
            content: id.into(),
            status: TodoStatus::parse(status).unwrap(),
            priority: crate::domain::Priority::parse(priority).unwrap(),
            agent: agent.map(String::from),
            project: None,
            parent_id: None,
            completed_at: completed,
            created_at: created,
            updated_at: created,
        }
    }

    fn row(id: i64, todo: &str, status: &str, at: i64) -> HistoryRow {
        HistoryRow { id, todo_id: todo.into(), new_status: status.into(), changed_at: at }
    }

    #[test]
    fn averages_round_half_up_and_medians_take_the_middle() {
        assert_eq!(average(&[]), 0);
        assert_eq!(average(&[1, 2]), 2); // 1.5 -> 2
        assert_eq!(average(&[1, 1, 2]), 1); // 1.33 -> 1
        assert_eq!(median(&[5, 1, 3]), 3);
        assert_eq!(median(&[4, 1, 2, 10]), 3); // (2+4)/2
        assert_eq!(median(&[1, 2]), 2); // 1.5 -> 2
        assert_eq!(median(&[]), 0);
    }

    #[test]
    fn every_figure_matches_a_hand_computed_week() {
        let day = DAY;
        // created_at DESC order, as the scope query returns them
        let todos = vec![
            todo("d", "pending", "low", None, MON + 8 * day, None), // week 9
            todo("c", "completed", "high", Some("bob"), MON + 2 * day, Some(MON + 9 * day)), // completed week 9
            todo("b", "in_progress", "medium", Some("ann"), MON + day, None),
            todo("a", "completed", "high", Some("ann"), MON, Some(MON + 3 * day)), // completed week 8
            todo("old", "completed", "low", Some("ann"), MON - 30 * day, Some(MON + 4 * day)), // created before range
        ];
        let history = vec![
            row(1, "a", "pending", MON),
            row(2, "a", "in_progress", MON + day),
            row(3, "a", "completed", MON + 3 * day),
            row(4, "c", "in_progress", MON + 2 * day + 100),
            row(5, "c", "in_progress", MON + 5 * day), // later in_progress: earliest wins
            row(6, "c", "completed", MON + 9 * day),
            row(7, "old", "completed", MON + 4 * day), // no in_progress row: skipped
        ];
        let a = compute(MON, MON + 13 * day, &todos, &history, vec![]);
        assert_eq!(a.period, Period { start: MON, end: MON + 13 * day });
        let weeks: Vec<&str> = a.throughput.weekly.iter().map(|w| w.week.as_str()).collect();
        assert_eq!(weeks, ["2026-W08", "2026-W09"]);
        assert_eq!(a.throughput.weekly.iter().map(|w| w.completed).collect::<Vec<_>>(), [2, 1]);
        assert_eq!(a.created_vs_completed.weekly.iter().map(|w| (w.created, w.completed)).collect::<Vec<_>>(), [(3, 2), (1, 1)]);
        // cycle: c = 9d - (2d+100) = 604700; a = 2d = 172800; entries follow completed-set order (c, a)
        assert_eq!(
            a.cycle_time.entries,
            vec![CycleEntry { todo_id: "c".into(), seconds: 7 * day - 100 }, CycleEntry { todo_id: "a".into(), seconds: 2 * day }]
        );
        assert_eq!(a.cycle_time.average_seconds, (7 * day - 100 + 2 * day) / 2);
        assert_eq!(a.cycle_time.median_seconds, (7 * day - 100 + 2 * day) / 2);
        assert_eq!(a.cycle_time.weekly.iter().map(|w| w.average_seconds).collect::<Vec<_>>(), [2 * day, 7 * day - 100]);
        // lead: c = 7d, a = 3d, old = 34d
        assert_eq!(a.lead_time.average_seconds, (7 + 3 + 34) * day / 3);
        assert_eq!(a.lead_time.median_seconds, 7 * day);
        assert_eq!(a.status_distribution, BTreeMap::from([("completed".into(), 2), ("in_progress".into(), 1), ("pending".into(), 1)]));
        assert_eq!(a.priority_distribution, BTreeMap::from([("high".into(), 2), ("low".into(), 1), ("medium".into(), 1)]));
        assert_eq!(
            a.agent_workload,
            vec![
                Workload { agent: "ann".into(), total: 2, completed: 1, in_progress: 1 },
                Workload { agent: "unassigned".into(), total: 1, completed: 0, in_progress: 0 },
                Workload { agent: "bob".into(), total: 1, completed: 1, in_progress: 0 },
            ]
        );
    }

    #[test]
    fn cycle_time_skips_completion_before_start() {
        let todos = vec![todo("a", "completed", "low", None, MON, Some(MON + 10))];
        let history = vec![row(1, "a", "completed", MON + 10), row(2, "a", "in_progress", MON + 20)];
        let a = compute(MON, MON + DAY, &todos, &history, vec![]);
        assert!(a.cycle_time.entries.is_empty());
        assert_eq!(a.lead_time.average_seconds, 10);
    }
}
