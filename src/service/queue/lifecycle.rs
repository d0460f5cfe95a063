//! What happens to an executed task: pure decisions, tested as tables.
//!
//! - [`gate`]: may it start, given its dependencies?
//! - [`after_run`]: a run of it ended — is it done, started again (a loop, an attempt left, after a
//!   backoff), failed or cancelled?
//!
//! The task's status follows: queued → in_progress (a run started) → completed / failed /
//! cancelled, or back to queued; blocked while a dependency is not completed.

use crate::model::{EndReason, ExecutionState, LoopSpec, TaskStatus};

/// A dependency as gating sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependency {
    pub id: String,
    pub title: String,
    pub status: TaskStatus,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Every dependency is completed.
    Ready,
    /// Some are not done yet: blocked until they are, then queued by itself.
    Waiting(String),
    /// Some failed or were cancelled: blocked until someone acts (retry them, or change the
    /// dependencies).
    Stuck(String),
}

impl Gate {
    /// Where the task goes: its execution's state, the reason it shows, the task's status.
    pub fn placement(self) -> (ExecutionState, Option<String>, TaskStatus) {
        match self {
            Gate::Ready => (ExecutionState::Queued, None, TaskStatus::Queued),
            Gate::Waiting(why) | Gate::Stuck(why) => {
                (ExecutionState::Blocked, Some(why), TaskStatus::Blocked)
            }
        }
    }
}

fn names(deps: &[&Dependency]) -> String {
    deps.iter()
        .map(|d| format!("'{}' ({})", d.title, d.id))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn gate(deps: &[Dependency]) -> Gate {
    let stuck: Vec<&Dependency> = deps
        .iter()
        .filter(|d| matches!(d.status, TaskStatus::Failed | TaskStatus::Cancelled))
        .collect();
    if !stuck.is_empty() {
        let how = if stuck.iter().all(|d| d.status == TaskStatus::Failed) {
            "failed"
        } else if stuck.iter().all(|d| d.status == TaskStatus::Cancelled) {
            "was cancelled"
        } else {
            "failed or was cancelled"
        };
        return Gate::Stuck(format!("dependency {} {how}", names(&stuck)));
    }
    let open: Vec<&Dependency> = deps
        .iter()
        .filter(|d| d.status != TaskStatus::Completed)
        .collect();
    if open.is_empty() {
        Gate::Ready
    } else {
        Gate::Waiting(format!("waiting for {}", names(&open)))
    }
}

/// What a task's agents used against the cost limit its execution set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Budget {
    pub spent_usd: f64,
    pub limit_usd: f64,
}

impl Budget {
    pub fn reached(&self) -> bool {
        crate::service::signals::budget::reached(self.spent_usd, Some(self.limit_usd))
    }

    pub fn why(&self) -> String {
        use crate::service::signals::budget::usd;
        format!(
            "its cost limit was reached: {} of {}",
            usd(self.spent_usd),
            usd(self.limit_usd)
        )
    }
}

/// How a run of the task ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Ended {
    pub reason: EndReason,
    pub code: Option<i32>,
    pub signal: Option<String>,
    /// The task was marked done (by the agent or the person) before the run ended.
    pub task_done: bool,
    /// The profile says a clean exit means done.
    pub exit_means_done: bool,
    /// Its cost limit and what was spent, when the execution set one.
    pub budget: Option<Budget>,
}

/// The execution's plan so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    pub attempt: u32,
    pub max_attempts: u32,
    /// Runs started in this attempt, this one included.
    pub runs: u32,
    pub loop_spec: Option<LoopSpec>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    Completed,
    /// Queued again: `new_attempt` for a retry after a failure (attempt + 1, runs from 0), not
    /// for a loop's next run.
    Again {
        not_before: i64,
        new_attempt: bool,
    },
    /// Baton went away while it ran: queued again at once, the same attempt.
    Resume,
    Failed(String),
    Cancelled(String),
}

/// The wait before attempt `n + 1` after attempt `n` failed: 1 s, 2 s, 4 s, … at most a minute.
pub fn backoff_ms(attempt: u32) -> i64 {
    1000_i64
        .saturating_mul(1 << attempt.saturating_sub(1).min(6))
        .min(60_000)
}

pub fn after_run(ended: &Ended, plan: Plan, now: i64) -> Next {
    match ended.reason {
        EndReason::Cancelled => return Next::Cancelled("cancelled".into()),
        EndReason::Stopped => return Next::Cancelled("its run was stopped".into()),
        EndReason::Interrupted => return Next::Resume,
        EndReason::Exited | EndReason::FailedToStart => {}
    }
    let clean =
        ended.reason == EndReason::Exited && ended.code == Some(0) && ended.signal.is_none();
    if ended.task_done || (clean && ended.exit_means_done) {
        return Next::Completed;
    }
    // Past its cost limit, no new run starts: neither a loop's next nor a retry.
    if let Some(budget) = ended.budget.filter(Budget::reached) {
        return Next::Failed(budget.why());
    }
    if let Some(spec) = plan.loop_spec {
        if ended.reason == EndReason::Exited && plan.runs < spec.max_runs {
            return Next::Again {
                not_before: now + spec.cooldown_ms as i64,
                new_attempt: false,
            };
        }
        if ended.reason == EndReason::Exited {
            return Next::Failed(format!(
                "ran {} time(s) without being marked done",
                spec.max_runs
            ));
        }
    }
    let why = match (ended.reason, ended.code, &ended.signal) {
        (EndReason::FailedToStart, _, _) => "its agent could not be started".to_owned(),
        (_, _, Some(signal)) => format!("its agent was killed by {signal}"),
        (_, Some(0), None) => "its agent exited without marking the task done".to_owned(),
        (_, Some(code), None) => format!("its agent exited with code {code}"),
        (_, None, None) => "its agent ended".to_owned(),
    };
    if plan.attempt < plan.max_attempts {
        Next::Again {
            not_before: now + backoff_ms(plan.attempt),
            new_attempt: true,
        }
    } else if plan.max_attempts > 1 {
        Next::Failed(format!(
            "{why} (attempt {} of {})",
            plan.attempt, plan.max_attempts
        ))
    } else {
        Next::Failed(why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(id: &str, status: TaskStatus) -> Dependency {
        Dependency {
            id: id.into(),
            title: format!("task {id}"),
            status,
        }
    }

    #[test]
    fn a_task_starts_when_every_dependency_is_completed() {
        assert_eq!(gate(&[]), Gate::Ready);
        assert_eq!(gate(&[dep("a", TaskStatus::Completed)]), Gate::Ready);
        assert_eq!(
            gate(&[
                dep("a", TaskStatus::Completed),
                dep("b", TaskStatus::InProgress)
            ]),
            Gate::Waiting("waiting for 'task b' (b)".into())
        );
    }

    #[test]
    fn a_failed_or_cancelled_dependency_keeps_it_blocked_and_says_so() {
        assert_eq!(
            gate(&[dep("a", TaskStatus::Failed), dep("b", TaskStatus::Pending)]),
            Gate::Stuck("dependency 'task a' (a) failed".into())
        );
        assert_eq!(
            gate(&[dep("a", TaskStatus::Cancelled)]),
            Gate::Stuck("dependency 'task a' (a) was cancelled".into())
        );
        assert_eq!(
            gate(&[
                dep("a", TaskStatus::Cancelled),
                dep("b", TaskStatus::Failed)
            ]),
            Gate::Stuck("dependency 'task a' (a), 'task b' (b) failed or was cancelled".into())
        );
    }

    fn exited(code: i32) -> Ended {
        Ended {
            reason: EndReason::Exited,
            code: Some(code),
            signal: None,
            task_done: false,
            exit_means_done: false,
            budget: None,
        }
    }

    fn plan(attempt: u32, max_attempts: u32) -> Plan {
        Plan {
            attempt,
            max_attempts,
            runs: 1,
            loop_spec: None,
        }
    }

    #[test]
    fn done_is_marked_or_a_clean_exit_of_a_batch_agent() {
        let mut e = exited(0);
        assert_eq!(
            after_run(&e, plan(1, 1), 0),
            Next::Failed("its agent exited without marking the task done".into())
        );
        e.exit_means_done = true;
        assert_eq!(after_run(&e, plan(1, 1), 0), Next::Completed);
        let mut e = exited(1);
        e.task_done = true;
        assert_eq!(
            after_run(&e, plan(1, 1), 0),
            Next::Completed,
            "marked done, then exited 1"
        );
        let mut e = exited(0);
        e.exit_means_done = true;
        e.signal = Some("SIGTERM".into());
        assert_ne!(after_run(&e, plan(1, 1), 0), Next::Completed);
    }

    #[test]
    fn a_failure_with_attempts_left_is_queued_again_after_a_growing_backoff() {
        assert_eq!(
            after_run(&exited(2), plan(1, 3), 100),
            Next::Again {
                not_before: 1100,
                new_attempt: true
            }
        );
        assert_eq!(
            after_run(&exited(2), plan(2, 3), 100),
            Next::Again {
                not_before: 2100,
                new_attempt: true
            }
        );
        assert_eq!(
            after_run(&exited(2), plan(3, 3), 100),
            Next::Failed("its agent exited with code 2 (attempt 3 of 3)".into())
        );
        assert_eq!(backoff_ms(30), 60_000);
    }

    #[test]
    fn a_loop_runs_again_until_done_or_its_limit() {
        let spec = LoopSpec {
            max_runs: 3,
            cooldown_ms: 50,
        };
        let mut p = plan(1, 1);
        p.loop_spec = Some(spec);
        assert_eq!(
            after_run(&exited(0), p, 1000),
            Next::Again {
                not_before: 1050,
                new_attempt: false
            }
        );
        p.runs = 3;
        assert_eq!(
            after_run(&exited(0), p, 1000),
            Next::Failed("ran 3 time(s) without being marked done".into())
        );
        let mut e = exited(0);
        e.task_done = true;
        p.runs = 2;
        assert_eq!(after_run(&e, p, 1000), Next::Completed);
    }

    #[test]
    fn past_its_cost_limit_neither_a_loop_nor_a_retry_starts_again() {
        let mut p = plan(1, 3);
        p.loop_spec = Some(LoopSpec {
            max_runs: 5,
            cooldown_ms: 0,
        });
        let mut e = exited(1);
        e.budget = Some(Budget {
            spent_usd: 0.015,
            limit_usd: 0.01,
        });
        assert_eq!(
            after_run(&e, p, 0),
            Next::Failed("its cost limit was reached: $0.0150 of $0.0100".into())
        );
        // Under the limit the loop goes on; done is done whatever it cost.
        e.budget = Some(Budget {
            spent_usd: 0.005,
            limit_usd: 0.01,
        });
        assert!(matches!(after_run(&e, p, 0), Next::Again { .. }));
        e.budget = Some(Budget {
            spent_usd: 1.0,
            limit_usd: 0.01,
        });
        e.task_done = true;
        assert_eq!(after_run(&e, p, 0), Next::Completed);
    }

    #[test]
    fn stops_cancel_and_baton_going_away_resumes() {
        let mut e = exited(0);
        e.reason = EndReason::Cancelled;
        assert_eq!(
            after_run(&e, plan(1, 3), 0),
            Next::Cancelled("cancelled".into())
        );
        e.reason = EndReason::Stopped;
        assert!(matches!(after_run(&e, plan(1, 3), 0), Next::Cancelled(_)));
        e.reason = EndReason::Interrupted;
        assert_eq!(after_run(&e, plan(1, 1), 0), Next::Resume);
    }

    #[test]
    fn a_start_that_failed_counts_as_a_failed_attempt() {
        let e = Ended {
            reason: EndReason::FailedToStart,
            code: None,
            signal: None,
            task_done: false,
            exit_means_done: true,
            budget: None,
        };
        assert_eq!(
            after_run(&e, plan(1, 1), 0),
            Next::Failed("its agent could not be started".into())
        );
    }
}
