//! Which blocked tasks the queue looks at again. A blocked task's gate can only change when one
//! of its dependencies changes (done, failed, cancelled, reopened, deleted) or its own
//! dependencies are edited, and every such change is published as `task:updated` (or
//! `task:deleted`) once committed. Publishing notes the tasks it names (`note_events`, a set
//! insert); a queue round then looks up the blocked tasks among them and among their dependents
//! (by id, one read) and re-gates only those. Blocked tasks thus cost nothing while nothing they
//! wait for changes — a round used to read every blocked task, its task row and its
//! dependencies (500 of them halved the queue's throughput) — and a round with no task noted
//! reads nothing at all for gating.
//!
//! A task that ends up done, or a blocked one, also wakes the queue (the others — a failed or
//! cancelled dependency re-words its dependents' reasons — are looked at in the next round,
//! whenever it comes). Everything is looked at at start, after a deleted task (its dependency
//! rows are gone, so its dependents cannot be found from it), and after a round failed to
//! re-gate.

use std::collections::BTreeSet;

use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};

use super::super::error::ServiceResult;
use super::super::Service;
use crate::events::Event;
use crate::model::{ExecutionState, TaskStatus};
use crate::store::entity::{task_dependency, task_execution};

/// The blocked tasks to look at in the next round.
#[derive(Debug)]
pub struct GateMarks {
    all: bool,
    tasks: BTreeSet<String>,
}

impl Default for GateMarks {
    /// At start everything is looked at once.
    fn default() -> Self {
        Self {
            all: true,
            tasks: BTreeSet::new(),
        }
    }
}

/// Beyond this many noted tasks a round looks at every blocked one instead (one query, however
/// many; a list of ids that long would be a statement too long to bind).
const MARKS_KEPT: usize = 500;

/// What a round re-gates.
#[derive(Debug, PartialEq)]
pub(super) enum Marked {
    Nothing,
    All,
    Tasks(Vec<String>),
}

impl GateMarks {
    /// Takes the marks (none are left).
    fn take(&mut self) -> Marked {
        let tasks = std::mem::take(&mut self.tasks);
        if std::mem::take(&mut self.all) || tasks.len() > MARKS_KEPT {
            Marked::All
        } else if tasks.is_empty() {
            Marked::Nothing
        } else {
            Marked::Tasks(tasks.into_iter().collect())
        }
    }
}

/// Whether a change to `task` may start a blocked task: it is done (its dependents may start),
/// or blocked itself (its own dependencies may have been edited). A failed or cancelled one only
/// re-words its dependents' reasons, in the next round, whenever it comes.
fn may_open_gates(task: &crate::model::Task) -> bool {
    matches!(task.status, TaskStatus::Completed | TaskStatus::Blocked)
}

impl Service {
    fn marks(&self) -> std::sync::MutexGuard<'_, GateMarks> {
        self.queue().gates.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The marks for this round, taken.
    pub(super) fn gates_to_check(&self) -> Marked {
        self.marks().take()
    }

    /// Every blocked task is looked at in the next round, whenever that comes (not woken: a
    /// round that failed to re-gate must not run again at once and fail in a loop).
    pub(super) fn mark_all_gates(&self) {
        self.marks().all = true;
    }

    /// Notes what `events` say changed (called as they are published, after their commit).
    pub(in crate::service) fn note_events(&self, events: &[Event]) {
        let mut wake = false;
        {
            let mut marks = self.marks();
            for event in events {
                match event {
                    Event::TaskUpdated(task) => {
                        marks.tasks.insert(task.id.clone());
                        wake |= may_open_gates(task);
                    }
                    Event::TaskDeleted { .. } => {
                        marks.all = true;
                        wake = true;
                    }
                    _ => {}
                }
            }
        }
        if wake {
            self.wake_queue();
        }
    }

    /// The blocked tasks among `ids` and among the tasks that depend on one of them.
    pub(super) async fn blocked_among(&self, ids: Vec<String>) -> ServiceResult<Vec<String>> {
        // Most of the time nothing is blocked: one look at the state's index says so.
        let any_blocked = task_execution::Entity::find()
            .filter(task_execution::Column::State.eq(ExecutionState::Blocked.as_str()))
            .one(&self.reads())
            .await?
            .is_some();
        if !any_blocked {
            return Ok(Vec::new());
        }
        let dependents = Query::select()
            .column(task_dependency::Column::TaskId)
            .from(task_dependency::Entity)
            .and_where(task_dependency::Column::DependsOnId.is_in(ids.iter().cloned()))
            .to_owned();
        // By task id only: with the state in the query too, SQLite walks every blocked row
        // through the state's index instead of looking the few ids up.
        let rows = task_execution::Entity::find()
            .filter(
                Condition::any()
                    .add(task_execution::Column::TaskId.is_in(ids))
                    .add(task_execution::Column::TaskId.in_subquery(dependents)),
            )
            .all(&self.reads())
            .await?;
        Ok(rows
            .into_iter()
            .filter(|row| super::state_of(row) == ExecutionState::Blocked)
            .map(|row| row.task_id)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: &str) -> crate::model::Task {
        serde_json::from_value(serde_json::json!({
            "id": id, "projectId": "p", "title": id, "description": "", "prompt": "",
            "status": "pending", "priority": "medium", "tags": [], "dependsOn": [], "subtasks": [],
            "sessionIds": [], "sessionCount": 0, "createdAt": 0, "updatedAt": 0,
        }))
        .unwrap()
    }

    #[test]
    fn everything_is_looked_at_first_then_only_what_was_marked() {
        let mut marks = GateMarks::default();
        assert_eq!(marks.take(), Marked::All);
        assert_eq!(marks.take(), Marked::Nothing);
        marks.tasks.extend(["b".to_owned(), "a".to_owned()]);
        assert_eq!(marks.take(), Marked::Tasks(vec!["a".into(), "b".into()]));
        assert_eq!(marks.take(), Marked::Nothing);
        marks.tasks.insert("a".into());
        marks.all = true;
        assert_eq!(marks.take(), Marked::All, "all covers the marked ones");
        assert_eq!(marks.take(), Marked::Nothing);
        marks.tasks.extend((0..=MARKS_KEPT).map(|i| i.to_string()));
        assert_eq!(marks.take(), Marked::All, "too many to list");
        assert_eq!(marks.take(), Marked::Nothing);
    }

    #[test]
    fn a_task_done_or_blocked_may_open_gates_at_once() {
        let mut t = task("a");
        assert!(!may_open_gates(&t), "pending");
        for other in [
            TaskStatus::InProgress,
            TaskStatus::Failed,
            TaskStatus::Cancelled,
        ] {
            t.status = other;
            assert!(!may_open_gates(&t), "{other:?}");
        }
        t.status = TaskStatus::Completed;
        assert!(may_open_gates(&t), "done");
        t.status = TaskStatus::Blocked;
        assert!(may_open_gates(&t), "blocked itself");
    }
}
