//! The rules that decide things, as plain functions: what a status change does to completion
//! times, which session transitions are allowed, whether new dependencies close a cycle, and
//! which task fields a change touched (for history). No database, no async: unit-tested here.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};

use super::error::{ServiceError, ServiceResult};
use crate::model::{SessionStatus, Task, TaskStatus};

/// The `completedAt` a task has after its status becomes `new`.
///
/// Completing sets it (to `requested` when the client gave one, else `now`); staying completed
/// keeps it; any other status clears it (reopening). A completion time for a task that is not
/// completed is refused.
pub fn task_completed_at(
    old: TaskStatus,
    old_completed_at: Option<i64>,
    new: TaskStatus,
    requested: Option<Option<i64>>,
    now: i64,
) -> ServiceResult<Option<i64>> {
    match (new, requested) {
        (TaskStatus::Completed, Some(Some(at))) => Ok(Some(at)),
        (TaskStatus::Completed, _) if old == TaskStatus::Completed => {
            Ok(old_completed_at.or(Some(now)))
        }
        (TaskStatus::Completed, _) => Ok(Some(now)),
        (_, Some(Some(_))) => Err(ServiceError::invalid(
            "completedAt",
            "can only be set on a completed task",
        )),
        _ => Ok(None),
    }
}

/// Checks a session status change and returns the `completedAt` to record.
///
/// A session that has ended (completed, failed, stopped, interrupted) cannot become active again
/// by an update: that is a restart, a new run. Ending sets `completedAt` (to `requested` or now).
pub fn session_transition(
    old: SessionStatus,
    old_completed_at: Option<i64>,
    new: SessionStatus,
    requested: Option<i64>,
    now: i64,
) -> ServiceResult<Option<i64>> {
    if !old.is_active() && new.is_active() {
        return Err(ServiceError::conflict(
            "invalid_transition",
            format!(
                "session has ended ({}) and cannot become {}; restart it instead",
                old.as_str(),
                new.as_str()
            ),
            json!({ "from": old.as_str(), "to": new.as_str() }),
        ));
    }
    if new.is_active() {
        if requested.is_some() {
            return Err(ServiceError::invalid(
                "completedAt",
                "can only be set when the session ends",
            ));
        }
        return Ok(None);
    }
    Ok(requested.or(if old.is_active() {
        Some(now)
    } else {
        old_completed_at.or(Some(now))
    }))
}

/// Whether making `task` depend on `new_deps` closes a cycle, given the project's other
/// dependency edges (`edges[a]` = what `a` depends on; `task`'s own old edges are ignored).
///
/// Returns the cycle as a path that starts and ends with `task`, e.g. `[a, b, c, a]`.
pub fn find_cycle(
    task: &str,
    new_deps: &[String],
    edges: &HashMap<String, Vec<String>>,
) -> Option<Vec<String>> {
    // Depth-first search from each new dependency for a way back to `task`.
    let mut visited: HashSet<&str> = HashSet::new();
    for dep in new_deps {
        let mut path = vec![task.to_owned()];
        if walk(dep, task, edges, &mut visited, &mut path) {
            return Some(path);
        }
    }
    None
}

fn walk<'a>(
    node: &'a str,
    target: &str,
    edges: &'a HashMap<String, Vec<String>>,
    visited: &mut HashSet<&'a str>,
    path: &mut Vec<String>,
) -> bool {
    path.push(node.to_owned());
    if node == target {
        return true;
    }
    if visited.insert(node) {
        for next in edges.get(node).into_iter().flatten() {
            if walk(next, target, edges, visited, path) {
                return true;
            }
        }
    }
    path.pop();
    false
}

/// One field a task update changed, for the history.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub field: &'static str,
    pub old: Value,
    pub new: Value,
}

/// The fields an update changed between `before` and `after`, in a fixed order.
pub fn task_changes(before: &Task, after: &Task) -> Vec<FieldChange> {
    let pairs: [(&'static str, Value, Value); 7] = [
        ("title", json!(before.title), json!(after.title)),
        (
            "description",
            json!(before.description),
            json!(after.description),
        ),
        ("prompt", json!(before.prompt), json!(after.prompt)),
        ("status", json!(before.status), json!(after.status)),
        ("priority", json!(before.priority), json!(after.priority)),
        ("tags", json!(before.tags), json!(after.tags)),
        (
            "completedAt",
            json!(before.completed_at),
            json!(after.completed_at),
        ),
    ];
    pairs
        .into_iter()
        .filter(|(_, old, new)| old != new)
        .map(|(field, old, new)| FieldChange { field, old, new })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Priority;

    #[test]
    fn completing_a_task_sets_completed_at_and_reopening_clears_it() {
        use TaskStatus::*;
        assert_eq!(
            task_completed_at(Pending, None, Completed, None, 5).unwrap(),
            Some(5)
        );
        assert_eq!(
            task_completed_at(InProgress, None, Completed, Some(Some(3)), 5).unwrap(),
            Some(3)
        );
        // Staying completed keeps the first completion time.
        assert_eq!(
            task_completed_at(Completed, Some(2), Completed, None, 5).unwrap(),
            Some(2)
        );
        // Reopening clears it.
        for reopened in [Pending, Queued, InProgress, Blocked, Failed, Cancelled] {
            assert_eq!(
                task_completed_at(Completed, Some(2), reopened, None, 5).unwrap(),
                None
            );
        }
        // An explicit null with a reopen is fine; a time on an open task is not.
        assert_eq!(
            task_completed_at(Completed, Some(2), Pending, Some(None), 5).unwrap(),
            None
        );
        assert!(task_completed_at(Pending, None, InProgress, Some(Some(1)), 5).is_err());
    }

    #[test]
    fn ended_sessions_cannot_become_active_again() {
        use SessionStatus::*;
        for ended in [Completed, Failed, Stopped, Interrupted] {
            for active in [Starting, Running, Waiting] {
                let err = session_transition(ended, Some(1), active, None, 5).unwrap_err();
                assert!(matches!(
                    err,
                    ServiceError::Conflict {
                        code: "invalid_transition",
                        ..
                    }
                ));
            }
        }
    }

    #[test]
    fn ending_a_session_records_when() {
        use SessionStatus::*;
        assert_eq!(
            session_transition(Running, None, Completed, None, 5).unwrap(),
            Some(5)
        );
        assert_eq!(
            session_transition(Running, None, Failed, Some(4), 5).unwrap(),
            Some(4)
        );
        assert_eq!(
            session_transition(Starting, None, Waiting, None, 5).unwrap(),
            None
        );
        // Re-labelling an ended session keeps its end time.
        assert_eq!(
            session_transition(Interrupted, Some(2), Stopped, None, 5).unwrap(),
            Some(2)
        );
        assert!(session_transition(Running, None, Waiting, Some(4), 5).is_err());
    }

    fn edges(list: &[(&str, &[&str])]) -> HashMap<String, Vec<String>> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_cycle_is_found_with_its_path() {
        let e = edges(&[("b", &["c"]), ("c", &["a"])]);
        assert_eq!(
            find_cycle("a", &ids(&["b"]), &e),
            Some(ids(&["a", "b", "c", "a"]))
        );
    }

    #[test]
    fn depending_on_itself_is_a_cycle() {
        assert_eq!(
            find_cycle("a", &ids(&["a"]), &HashMap::new()),
            Some(ids(&["a", "a"]))
        );
    }

    #[test]
    fn a_diamond_is_not_a_cycle() {
        let e = edges(&[("b", &["d"]), ("c", &["d"]), ("d", &[])]);
        assert_eq!(find_cycle("a", &ids(&["b", "c"]), &e), None);
    }

    #[test]
    fn the_tasks_own_old_edges_do_not_count() {
        // a used to depend on b; now a depends on c, and b depends on a: no cycle through c.
        let e = edges(&[("b", &["a"]), ("c", &[])]);
        assert_eq!(find_cycle("a", &ids(&["c"]), &e), None);
        assert_eq!(
            find_cycle("a", &ids(&["b"]), &e),
            Some(ids(&["a", "b", "a"]))
        );
    }

    fn task() -> Task {
        Task {
            id: "t".into(),
            project_id: "p".into(),
            title: "x".into(),
            description: String::new(),
            prompt: String::new(),
            status: TaskStatus::Pending,
            priority: Priority::Medium,
            tags: vec![],
            depends_on: vec![],
            subtasks: vec![],
            session_ids: vec![],
            session_count: 0,
            execution: None,
            thread_parent: None,
            created_at: 1,
            updated_at: 1,
            completed_at: None,
        }
    }

    #[test]
    fn history_records_each_changed_field_with_old_and_new_values() {
        let before = task();
        let mut after = task();
        after.status = TaskStatus::Completed;
        after.completed_at = Some(9);
        after.tags = vec!["ui".into()];
        after.updated_at = 9;
        let changes = task_changes(&before, &after);
        let fields: Vec<_> = changes.iter().map(|c| c.field).collect();
        assert_eq!(fields, ["status", "tags", "completedAt"]);
        assert_eq!(changes[0].old, json!("pending"));
        assert_eq!(changes[0].new, json!("completed"));
        assert_eq!(changes[2].old, Value::Null);
        assert!(task_changes(&before, &before).is_empty());
    }
}
