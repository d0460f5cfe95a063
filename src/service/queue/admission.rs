//! Which queued tasks start now: a pure decision over the queue's state. Order: priority (high,
//! medium, low), then the time queued, then the id (a stable tie-break). A task starts when the
//! queue and its project are not paused, its backoff or cooldown is over, and a slot is free under
//! both the global limit and its project's limit, and its agent has not reported its usage limit
//! (then it waits for the reset). A task that cannot start for its project's
//! reason does not hold back tasks of other projects behind it.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::Priority;

/// One queued task, as admission sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub task_id: String,
    pub project_id: String,
    pub priority: Priority,
    pub queued_at: i64,
    /// Not before this time (ms).
    pub not_before: Option<i64>,
    /// The agent profile it runs with.
    pub agent_id: Option<String>,
}

/// What is running and what is allowed.
#[derive(Clone, Debug, Default)]
pub struct Limits {
    pub max_concurrent: u32,
    /// Runs the queue keeps alive now, in all projects.
    pub running: u32,
    /// The same, per project.
    pub running_by_project: BTreeMap<String, u32>,
    /// A project's own limit (its `maxConcurrent` setting), if it has one.
    pub project_limits: BTreeMap<String, u32>,
    pub paused: bool,
    pub paused_projects: BTreeSet<String>,
    /// Agent profiles whose usage limit is reached, until when (ms).
    pub limited_agents: BTreeMap<String, i64>,
}

/// The queue in the order it is served.
pub fn order(candidates: &mut [Candidate]) {
    candidates.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then(a.queued_at.cmp(&b.queued_at))
            .then_with(|| a.task_id.cmp(&b.task_id))
    });
}

/// The tasks to start now, in the order to start them, and when to look again if some wait
/// only for their time (the earliest `not_before` in the future).
pub fn admit(candidates: Vec<Candidate>, limits: &Limits, now: i64) -> (Vec<String>, Option<i64>) {
    admit_page(candidates, &mut limits.clone(), now)
}

/// [`admit`] over one page of the queue (pages taken in served order): the tasks it starts are
/// counted into `limits`, so the next page is admitted as if the queue had been read whole.
pub fn admit_page(
    mut candidates: Vec<Candidate>,
    limits: &mut Limits,
    now: i64,
) -> (Vec<String>, Option<i64>) {
    order(&mut candidates);
    let mut started = Vec::new();
    let mut wake: Option<i64> = None;
    if limits.paused {
        return (started, None);
    }
    for c in candidates {
        if limits.running >= limits.max_concurrent {
            break;
        }
        if limits.paused_projects.contains(&c.project_id) {
            continue;
        }
        let limited = c
            .agent_id
            .as_ref()
            .and_then(|a| limits.limited_agents.get(a))
            .copied();
        let until = [c.not_before, limited]
            .into_iter()
            .flatten()
            .filter(|&at| at > now)
            .max();
        if let Some(at) = until {
            wake = Some(wake.map_or(at, |w: i64| w.min(at)));
            continue;
        }
        let in_project = limits
            .running_by_project
            .entry(c.project_id.clone())
            .or_default();
        if let Some(&limit) = limits.project_limits.get(&c.project_id) {
            if *in_project >= limit {
                continue;
            }
        }
        *in_project += 1;
        limits.running += 1;
        started.push(c.task_id);
    }
    (started, wake)
}

impl Limits {
    /// Whether a slot is free under the global limit and the queue runs.
    pub fn may_start_any(&self) -> bool {
        !self.paused && self.running < self.max_concurrent
    }
}

/// 1-based places in the queue, by task id.
pub fn positions(mut candidates: Vec<Candidate>) -> BTreeMap<String, u32> {
    order(&mut candidates);
    candidates
        .into_iter()
        .enumerate()
        .map(|(i, c)| (c.task_id, i as u32 + 1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agent_at_its_usage_limit_starts_nothing_until_the_reset() {
        let mut a = c("a", "p", Priority::High, 1);
        a.agent_id = Some("claude".into());
        let mut b = c("b", "p", Priority::Low, 2);
        b.agent_id = Some("codex".into());
        let mut limits = Limits {
            max_concurrent: 4,
            ..Limits::default()
        };
        limits.limited_agents.insert("claude".into(), 5_000);
        assert_eq!(
            admit(vec![a.clone(), b.clone()], &limits, 1_000),
            (vec!["b".to_owned()], Some(5_000))
        );
        assert_eq!(
            admit(vec![a, b], &limits, 5_000),
            (vec!["a".to_owned(), "b".to_owned()], None)
        );
    }

    fn c(id: &str, project: &str, priority: Priority, queued_at: i64) -> Candidate {
        Candidate {
            task_id: id.into(),
            project_id: project.into(),
            priority,
            queued_at,
            not_before: None,
            agent_id: None,
        }
    }

    fn limits(max: u32) -> Limits {
        Limits {
            max_concurrent: max,
            ..Default::default()
        }
    }

    #[test]
    fn priority_first_then_the_time_queued() {
        let queue = vec![
            c("low", "p", Priority::Low, 1),
            c("med-late", "p", Priority::Medium, 5),
            c("high", "p", Priority::High, 9),
            c("med-early", "p", Priority::Medium, 2),
        ];
        assert_eq!(
            admit(queue.clone(), &limits(10), 0).0,
            ["high", "med-early", "med-late", "low"]
        );
        assert_eq!(admit(queue.clone(), &limits(2), 0).0, ["high", "med-early"]);
        assert_eq!(positions(queue)["low"], 4);
    }

    #[test]
    fn the_global_limit_counts_what_already_runs() {
        let queue = vec![
            c("a", "p", Priority::Medium, 1),
            c("b", "p", Priority::Medium, 2),
        ];
        let mut l = limits(3);
        l.running = 2;
        assert_eq!(admit(queue.clone(), &l, 0).0, ["a"]);
        l.running = 3;
        assert!(admit(queue, &l, 0).0.is_empty());
    }

    #[test]
    fn a_project_at_its_limit_does_not_hold_back_other_projects() {
        let queue = vec![
            c("p1", "busy", Priority::High, 1),
            c("p2", "busy", Priority::High, 2),
            c("q1", "free", Priority::Low, 3),
        ];
        let mut l = limits(4);
        l.project_limits.insert("busy".into(), 1);
        assert_eq!(admit(queue.clone(), &l, 0).0, ["p1", "q1"]);
        l.running_by_project.insert("busy".into(), 1);
        l.running = 1;
        assert_eq!(admit(queue, &l, 0).0, ["q1"]);
    }

    #[test]
    fn paused_means_nothing_starts_and_a_paused_project_is_skipped() {
        let queue = vec![
            c("a", "p", Priority::High, 1),
            c("b", "q", Priority::Low, 2),
        ];
        let mut l = limits(4);
        l.paused_projects.insert("p".into());
        assert_eq!(admit(queue.clone(), &l, 0).0, ["b"]);
        l.paused = true;
        assert!(admit(queue, &l, 0).0.is_empty());
    }

    #[test]
    fn a_backoff_holds_a_task_and_says_when_to_look_again() {
        let mut later = c("later", "p", Priority::High, 1);
        later.not_before = Some(500);
        let mut soon = c("soon", "p", Priority::High, 2);
        soon.not_before = Some(300);
        let queue = vec![later, soon, c("now", "p", Priority::Low, 3)];
        assert_eq!(
            admit(queue.clone(), &limits(4), 100),
            (vec!["now".to_owned()], Some(300))
        );
        assert_eq!(admit(queue, &limits(4), 600).0, ["later", "soon", "now"]);
    }

    #[test]
    fn admitting_page_by_page_equals_admitting_the_whole_queue() {
        let mut all = Vec::new();
        for i in 0..40 {
            let priority = [Priority::Low, Priority::Medium, Priority::High][i % 3];
            let mut one = c(
                &format!("t{i:02}"),
                ["a", "b", "c"][i % 3],
                priority,
                (i % 7) as i64,
            );
            if i % 5 == 0 {
                one.not_before = Some(100 + i as i64);
            }
            all.push(one);
        }
        let mut limits = limits(9);
        limits.project_limits.insert("a".into(), 2);
        limits.running_by_project.insert("b".into(), 1);
        limits.running = 1;
        let whole = admit(all.clone(), &limits, 50);
        order(&mut all);
        for size in [1, 3, 7, 40] {
            let mut paged = limits.clone();
            let (mut started, mut wake) = (Vec::new(), None::<i64>);
            for page in all.chunks(size) {
                if !paged.may_start_any() {
                    break;
                }
                let (s, w) = admit_page(page.to_vec(), &mut paged, 50);
                started.extend(s);
                wake = match (wake, w) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            assert_eq!((started, wake), whole, "pages of {size}");
        }
        assert_eq!(whole.0.len(), 8, "the limit of 9 with one running");
    }
}
